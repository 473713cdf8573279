/*
 * vmx_lib.h — VMX instruction wrappers, VMCS field encodings (written from
 * the SDM Vol.3 Appendix B, independently of nestvm's own list), capability
 * discovery (Appendix A), EPT tables (chapter 28) and the test framework:
 *
 *   struct vmx_test { name, sdm, init, guest, exit_handler, check }
 *
 * init configures the default VMCS (a row with nothing but init is an
 * L1-only test); guest is L2's 64-bit main (default: returns at once); exit_handler sees every VM exit other
 * than L2's final "done" VMCALL and returns T_RESUME or T_DONE; check runs
 * after L2 finished.  The sdm string quotes the sentence the test checks.
 */
#ifndef VMXT_VMX_LIB_H
#define VMXT_VMX_LIB_H

#include "lib.h"

#define VMCALL_DONE 0x444f4e45u       /* "DONE": L2's main returned */
#define VMCALL_L2_EXCEPTION 0x45584350u /* L2 took an exception it did not expect */

/* ---- VMCS field encodings (SDM Vol.3 Appendix B) ---- */
enum vmcs_enc {
    VPID = 0x0000, POSTED_INTR_NV = 0x0002, EPTP_INDEX = 0x0004,
    GUEST_ES_SEL = 0x0800, GUEST_CS_SEL = 0x0802, GUEST_SS_SEL = 0x0804, GUEST_DS_SEL = 0x0806,
    GUEST_FS_SEL = 0x0808, GUEST_GS_SEL = 0x080a, GUEST_LDTR_SEL = 0x080c, GUEST_TR_SEL = 0x080e,
    GUEST_INTR_STATUS = 0x0810,
    HOST_ES_SEL = 0x0c00, HOST_CS_SEL = 0x0c02, HOST_SS_SEL = 0x0c04, HOST_DS_SEL = 0x0c06,
    HOST_FS_SEL = 0x0c08, HOST_GS_SEL = 0x0c0a, HOST_TR_SEL = 0x0c0c,
    IO_BITMAP_A = 0x2000, IO_BITMAP_B = 0x2002, MSR_BITMAP = 0x2004,
    EXIT_MSR_STORE_ADDR = 0x2006, EXIT_MSR_LOAD_ADDR = 0x2008, ENTRY_MSR_LOAD_ADDR = 0x200a,
    TSC_OFFSET = 0x2010, VIRT_APIC_PAGE = 0x2012, APIC_ACCESS_ADDR = 0x2014,
    VMFUNC_CTLS = 0x2018, EPT_POINTER = 0x201a, EPTP_LIST = 0x2024,
    VMREAD_BITMAP = 0x2026, VMWRITE_BITMAP = 0x2028,
    GUEST_PHYS_ADDR = 0x2400,
    VMCS_LINK_PTR = 0x2800, GUEST_DEBUGCTL = 0x2802, GUEST_PAT = 0x2804, GUEST_EFER = 0x2806,
    GUEST_PDPTE0 = 0x280a,
    HOST_PAT = 0x2c00, HOST_EFER = 0x2c02,
    PIN_CTLS = 0x4000, PROC_CTLS = 0x4002, EXC_BITMAP = 0x4004, PFEC_MASK = 0x4006,
    PFEC_MATCH = 0x4008, CR3_TARGET_COUNT = 0x400a, EXIT_CTLS = 0x400c,
    EXIT_MSR_STORE_COUNT = 0x400e, EXIT_MSR_LOAD_COUNT = 0x4010, ENTRY_CTLS = 0x4012,
    ENTRY_MSR_LOAD_COUNT = 0x4014, ENTRY_INTR_INFO = 0x4016, ENTRY_EXC_ERR = 0x4018,
    ENTRY_INSN_LEN = 0x401a, TPR_THRESHOLD = 0x401c, PROC2_CTLS = 0x401e,
    PLE_GAP = 0x4020, PLE_WINDOW = 0x4022,
    VM_INSN_ERROR = 0x4400, EXIT_REASON = 0x4402, EXIT_INTR_INFO = 0x4404,
    EXIT_INTR_ERROR = 0x4406, IDT_VEC_INFO = 0x4408, IDT_VEC_ERROR = 0x440a,
    EXIT_INSN_LEN = 0x440c, EXIT_INSN_INFO = 0x440e,
    GUEST_ES_LIMIT = 0x4800, GUEST_CS_LIMIT = 0x4802, GUEST_SS_LIMIT = 0x4804,
    GUEST_DS_LIMIT = 0x4806, GUEST_FS_LIMIT = 0x4808, GUEST_GS_LIMIT = 0x480a,
    GUEST_LDTR_LIMIT = 0x480c, GUEST_TR_LIMIT = 0x480e, GUEST_GDTR_LIMIT = 0x4810,
    GUEST_IDTR_LIMIT = 0x4812,
    GUEST_ES_AR = 0x4814, GUEST_CS_AR = 0x4816, GUEST_SS_AR = 0x4818, GUEST_DS_AR = 0x481a,
    GUEST_FS_AR = 0x481c, GUEST_GS_AR = 0x481e, GUEST_LDTR_AR = 0x4820, GUEST_TR_AR = 0x4822,
    GUEST_INTERRUPTIBILITY = 0x4824, GUEST_ACTIVITY = 0x4826, GUEST_SMBASE = 0x4828,
    GUEST_SYSENTER_CS = 0x482a, PREEMPT_TIMER_VALUE = 0x482e,
    HOST_SYSENTER_CS = 0x4c00,
    CR0_MASK = 0x6000, CR4_MASK = 0x6002, CR0_SHADOW = 0x6004, CR4_SHADOW = 0x6006,
    CR3_TARGET0 = 0x6008, CR3_TARGET1 = 0x600a, CR3_TARGET2 = 0x600c, CR3_TARGET3 = 0x600e,
    EXIT_QUAL = 0x6400, IO_RCX = 0x6402, GUEST_LINEAR_ADDR = 0x640a,
    GUEST_CR0 = 0x6800, GUEST_CR3 = 0x6802, GUEST_CR4 = 0x6804,
    GUEST_ES_BASE = 0x6806, GUEST_CS_BASE = 0x6808, GUEST_SS_BASE = 0x680a,
    GUEST_DS_BASE = 0x680c, GUEST_FS_BASE = 0x680e, GUEST_GS_BASE = 0x6810,
    GUEST_LDTR_BASE = 0x6812, GUEST_TR_BASE = 0x6814, GUEST_GDTR_BASE = 0x6816,
    GUEST_IDTR_BASE = 0x6818, GUEST_DR7 = 0x681a, GUEST_RSP = 0x681c, GUEST_RIP = 0x681e,
    GUEST_RFLAGS = 0x6820, GUEST_PENDING_DBG = 0x6822, GUEST_SYSENTER_ESP = 0x6824,
    GUEST_SYSENTER_EIP = 0x6826,
    HOST_CR0 = 0x6c00, HOST_CR3 = 0x6c02, HOST_CR4 = 0x6c04, HOST_FS_BASE = 0x6c06,
    HOST_GS_BASE = 0x6c08, HOST_TR_BASE = 0x6c0a, HOST_GDTR_BASE = 0x6c0c,
    HOST_IDTR_BASE = 0x6c0e, HOST_SYSENTER_ESP = 0x6c10, HOST_SYSENTER_EIP = 0x6c12,
    HOST_RSP = 0x6c14, HOST_RIP = 0x6c16,
};
/* Segment-indexed guest fields: ES CS SS DS FS GS LDTR TR */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR };
#define GUEST_SEL(s) (0x0800 + 2 * (s))
#define GUEST_LIMIT(s) (0x4800 + 2 * (s))
#define GUEST_AR(s) (0x4814 + 2 * (s))
#define GUEST_BASE(s) (0x6806 + 2 * (s))
#define AR_UNUSABLE (1u << 16)

/* ---- control bits (SDM Vol.3 24.6-24.8) ---- */
#define PIN_EXTINT (1u << 0)
#define PIN_NMI (1u << 3)
#define PIN_VIRT_NMI (1u << 5)
#define PIN_PREEMPT (1u << 6)
#define PIN_POSTED (1u << 7)
#define PROC_INTR_WINDOW (1u << 2)
#define PROC_TSC_OFFSET (1u << 3)
#define PROC_HLT (1u << 7)
#define PROC_INVLPG (1u << 9)
#define PROC_MWAIT (1u << 10)
#define PROC_RDPMC (1u << 11)
#define PROC_RDTSC (1u << 12)
#define PROC_CR3_LOAD (1u << 15)
#define PROC_CR3_STORE (1u << 16)
#define PROC_CR8_LOAD (1u << 19)
#define PROC_CR8_STORE (1u << 20)
#define PROC_TPR_SHADOW (1u << 21)
#define PROC_NMI_WINDOW (1u << 22)
#define PROC_MOV_DR (1u << 23)
#define PROC_UNCOND_IO (1u << 24)
#define PROC_IO_BITMAPS (1u << 25)
#define PROC_MTF (1u << 27)
#define PROC_MSR_BITMAPS (1u << 28)
#define PROC_MONITOR (1u << 29)
#define PROC_PAUSE (1u << 30)
#define PROC_SECONDARY (1u << 31)
#define PROC2_APIC_ACCESS (1u << 0)
#define PROC2_EPT (1u << 1)
#define PROC2_DESC_TABLE (1u << 2)
#define PROC2_RDTSCP (1u << 3)
#define PROC2_X2APIC (1u << 4)
#define PROC2_VPID (1u << 5)
#define PROC2_WBINVD (1u << 6)
#define PROC2_UNRESTRICTED (1u << 7)
#define PROC2_APIC_REG_VIRT (1u << 8)
#define PROC2_VINTR (1u << 9)
#define PROC2_PLE (1u << 10)
#define PROC2_RDRAND (1u << 11)
#define PROC2_INVPCID (1u << 12)
#define PROC2_VMFUNC (1u << 13)
#define PROC2_SHADOW_VMCS (1u << 14)
#define PROC2_RDSEED (1u << 16)
#define EXIT_SAVE_DEBUG (1u << 2)
#define EXIT_HOST_64 (1u << 9)
#define EXIT_LOAD_PERF (1u << 12)
#define EXIT_ACK_INTR (1u << 15)
#define EXIT_SAVE_PAT (1u << 18)
#define EXIT_LOAD_PAT (1u << 19)
#define EXIT_SAVE_EFER (1u << 20)
#define EXIT_LOAD_EFER (1u << 21)
#define EXIT_SAVE_PREEMPT (1u << 22)
#define ENTRY_LOAD_DEBUG (1u << 2)
#define ENTRY_IA32E (1u << 9)
#define ENTRY_SMM (1u << 10)
#define ENTRY_DUAL_MONITOR (1u << 11)
#define ENTRY_LOAD_PERF (1u << 13)
#define ENTRY_LOAD_PAT (1u << 14)
#define ENTRY_LOAD_EFER (1u << 15)

/* ---- exit reasons (Appendix C) ---- */
enum {
    R_EXCEPTION = 0, R_EXTINT = 1, R_TRIPLE_FAULT = 2, R_INIT = 3, R_INTR_WINDOW = 7,
    R_NMI_WINDOW = 8, R_TASK_SWITCH = 9, R_CPUID = 10, R_GETSEC = 11, R_HLT = 12, R_INVD = 13,
    R_INVLPG = 14, R_RDPMC = 15, R_RDTSC = 16, R_VMCALL = 18, R_VMCLEAR = 19,
    R_VMLAUNCH = 20, R_VMPTRLD = 21, R_VMPTRST = 22, R_VMREAD = 23, R_VMRESUME = 24,
    R_VMWRITE = 25, R_VMXOFF = 26, R_VMXON = 27, R_CR = 28, R_DR = 29, R_IO = 30,
    R_RDMSR = 31, R_WRMSR = 32, R_INVALID_GUEST = 33, R_MSR_LOAD = 34, R_MWAIT = 36,
    R_MTF = 37, R_MONITOR = 39, R_PAUSE = 40, R_TPR_BELOW = 43, R_APIC_ACCESS = 44,
    R_GDTR_IDTR = 46, R_LDTR_TR = 47, R_EPT_VIOLATION = 48, R_EPT_MISCONFIG = 49,
    R_INVEPT = 50, R_RDTSCP = 51, R_PREEMPT = 52, R_INVVPID = 53, R_WBINVD = 54,
    R_XSETBV = 55, R_RDRAND = 57, R_INVPCID = 58, R_VMFUNC = 59, R_RDSEED = 61,
};
#define R_ENTRY_FAIL (1u << 31)

#define INTR_VALID (1u << 31)
#define INTR_ERR_VALID (1u << 11)
#define INTR_TYPE_EXT (0u << 8)
#define INTR_TYPE_NMI (2u << 8)
#define INTR_TYPE_HW_EXC (3u << 8)
#define INTR_TYPE_SOFT_INT (4u << 8)
#define INTR_TYPE_SOFT_EXC (6u << 8)
#define INTR_TYPE_OTHER (7u << 8)

/* VMX-instruction-information layouts (27.2.5, Tables 27-8..27-14) */
#define II_SCALE(x) ((uint32_t)(x) << 0)
#define II_REG1(x) ((uint32_t)(x) << 3)
#define II_ASIZE(x) ((uint32_t)(x) << 7)
#define II_REG (1u << 10)
#define II_OSIZE(x) ((uint32_t)(x) << 11)
#define II_SEG(x) ((uint32_t)(x) << 15)
#define II_INDEX_INVALID (1u << 22)
#define II_BASE(x) ((uint32_t)(x) << 23)
#define II_BASE_INVALID (1u << 27)
#define II_IDENT(x) ((uint32_t)(x) << 28)
#define II_REG2(x) ((uint32_t)(x) << 28)
/* memory operand (%rax)-based, DS, 64-bit addressing, no index */
#define II_MEM_MASK (II_ASIZE(7) | II_REG | II_SEG(7) | II_INDEX_INVALID | II_BASE(15) | II_BASE_INVALID)
#define II_MEM_RAX (II_ASIZE(2) | II_SEG(3) | II_INDEX_INVALID | II_BASE(0))

#define II_ASIZE_MASK II_ASIZE(7)
#define II_ASIZE64 II_ASIZE(2)
#define II_SEG_MASK II_SEG(7)

/* ---- instruction wrappers.  Result: 0 success, 1 VMfailInvalid,
 * 2 VMfailValid, 0x100 + vector if the instruction raised an exception. ---- */
enum { VM_OK = 0, VM_FAIL_INVALID = 1, VM_FAIL_VALID = 2, VM_EXC = 0x100 };
int vmxon(uint64_t pa);
int vmxoff(void);
int vmclear(uint64_t pa);
int vmptrld(uint64_t pa);
int vmptrst(uint64_t *pa);
int vmread_r(uint64_t enc, uint64_t *val);
int vmwrite_r(uint64_t enc, uint64_t val);
int vmlaunch_r(void);  /* only for failing cases: no host state is prepared */
int vmresume_r(void);
int vmcall_r(void);
int invept_r(uint64_t type, uint64_t eptp);
int invvpid_r(uint64_t type, uint16_t vpid, uint64_t la);
uint64_t vmread(uint64_t enc);     /* fails the test on error */
void vmwrite(uint64_t enc, uint64_t val);
uint32_t insn_error(void);         /* VM-instruction error field */
const char *vm_result_str(int r);

/* ---- capabilities (Appendix A) ---- */
struct vmx_caps {
    uint64_t basic, misc, cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1, vmcs_enum, ept_vpid,
        vmfunc;
    uint32_t rev;
    bool true_ctls;
    /* allowed settings (TRUE MSRs when IA32_VMX_BASIC[55] = 1) */
    uint32_t pin_m1, pin_a1, proc_m1, proc_a1, proc2_a1, exit_m1, exit_a1, entry_m1, entry_a1;
};
extern struct vmx_caps caps;
void caps_read(void);

/* ---- memory ---- */
extern uint8_t vmxon_region[4096], vmcs_main[4096], vmcs_alt[4096], vmcs_spare[4096];
extern uint8_t msr_bitmap[4096], io_bitmap_a[4096], io_bitmap_b[4096], vapic_page[4096];
extern uint8_t apic_access_page[4096];
extern uint8_t l2_stack[16384];
struct msr_entry { uint32_t index, reserved; uint64_t value; };
extern struct msr_entry msr_list_entry[32], msr_list_store[32], msr_list_exit[32];
extern uint64_t ept_pml4[512], ept_pdpt[512], ept_pd[4][512], ept_pt_ta[512];
#define EPT_R 1ul
#define EPT_W 2ul
#define EPT_X 4ul
#define EPT_RWX 7ul
#define EPT_WB (6ul << 3)
#define EPT_LARGE (1ul << 7)
extern uint64_t eptp_default;
void ept_init(void);
void ept_set_ta(unsigned page, uint64_t flags);   /* TEST_AREA page -> identity | flags */
void ept_flush(void);                              /* INVEPT (single or all context) */

/* ---- general registers of L2 (hardware numbering; slot 4 unused: RSP is
 * GUEST_RSP) ---- */
struct guest_regs { uint64_t r[16]; };
extern struct guest_regs g_regs;
enum { RAX, RCX, RDX, RBX, RSP, RBP, RSI, RDI, R8, R9, R10, R11, R12, R13, R14, R15 };
extern void (*volatile l2_main)(void);
extern volatile uint64_t host_rflags_at_exit;
extern char l2_entry64[], vmx_exit_host[];
int vmx_enter(int launch);

/* ---- the last VM exit ---- */
struct exit_info {
    int vmfail;         /* VM entry failed as an instruction: VM_FAIL_* */
    uint32_t insn_err;  /* VM-instruction error for VM_FAIL_VALID */
    uint32_t reason, intr_info, intr_err, idt_info, idt_err, len, insn_info;
    uint64_t qual, rip, rsp, rflags, gla, gpa;
    unsigned count;     /* exits so far in this test */
};
extern struct exit_info ex;
const char *reason_name(uint32_t reason);

/* ---- tests ---- */
enum { T_RESUME, T_DONE };
struct vmx_test {
    const char *name;
    const char *sdm;
    void (*init)(void);
    void (*guest)(void);
    int (*exit_handler)(void);
    void (*check)(void);
    const void *arg;    /* row data for table-driven tests (cur_test->arg) */
};
extern const struct vmx_test *cur_test;

/* Fresh VMCS: VMCLEAR + VMPTRLD of vmcs_main with 64-bit L2 at l2_entry64
 * under EPT (if available), no optional exits. */
void vmcs_default(void);
/* Add control bits; skip() and return false if the CPU does not allow them. */
bool want_pin(uint32_t bits);
bool want_proc(uint32_t bits);
bool want_proc2(uint32_t bits);
bool want_exit(uint32_t bits);
bool want_entry(uint32_t bits);
void clear_ctl(uint64_t field, uint32_t bits);
bool allowed_proc2(uint32_t bits);
/* The guest RIP following the instruction that caused the exit. */
void skip_insn(void);
/* Convenience checks on the last exit. */
bool expect_reason(uint32_t reason);
/* Records "unexpected VM exit ..." and returns T_DONE. */
int unexpected_exit(void);
/* Run L2 from the current VMCS (launch first) through test->exit_handler. */
void run_l2(const struct vmx_test *t);
/* L2: VMCALL with RAX = nr, RDI = arg; returns RAX after the exit. */
static inline uint64_t l2_vmcall(uint64_t nr, uint64_t arg)
{
    uint64_t r = nr;
    asm volatile("vmcall" : "+a"(r) : "D"(arg) : "memory");
    return r;
}
bool vmx_on_fresh(void);   /* ensure VMXON state (after tests that left it) */
void run_tests(const struct vmx_test *tests, size_t n);
extern const char *test_filter;
extern bool verbose;
extern int total_pass, total_fail, total_skip;
void finish_test(void);
void begin_test(const char *name);
bool test_selected(const char *name);

/* test tables (t_*.c) */
extern const struct vmx_test insn_tests[], exit_tests[], access_tests[], virt_tests[], robust_tests[], prio_tests[], state_tests[], event_tests[], ept_tests[],
    mode_tests[], entry_tests[];
extern const size_t n_insn_tests, n_exit_tests, n_access_tests, n_virt_tests, n_robust_tests, n_prio_tests, n_state_tests, n_event_tests, n_ept_tests, n_mode_tests,
    n_entry_tests;
extern const struct vmx_test apicv_tests[];
extern const size_t n_apicv_tests;
extern const struct vmx_test regress_tests[];
extern const size_t n_regress_tests;
extern const struct vmx_test fuzz_tests[];
extern const size_t n_fuzz_tests;
extern uint64_t fuzz_iterations, fuzz_seed; /* t_fuzz.c; guest command line fuzz=, fuzzseed= */

#endif
