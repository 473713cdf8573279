/*
 * vmx.h — nestvm's VT-x (SDM Vol.3 chapters 23-33): per-vCPU VMX state and
 * the interfaces between the VMX modules.
 *
 *   vmcs.[ch]            field encodings (vmcs_fields.def) and storage
 *   vmx_caps.c           IA32_FEATURE_CONTROL rules, IA32_VMX_* capability MSRs
 *   vmx_insn.c           VMXON … VMFUNC, VMfail*, VMCS shadowing for VMREAD/VMWRITE
 *   vmx_check_*.c        VM-entry checks (controls, host state, guest state),
 *                        one small function per SDM condition, via VMX_CC()
 *   vmx_entry.c          VM entry: load guest state, MSR-load list, event injection
 *   vmx_exit.c           VM exit: save guest state, exit-information fields,
 *                        MSR-store/load lists, load host state, VMX abort
 *   vmx_intercept.c      "does L1 want it": instruction exits, CR/DR/I/O/MSR
 *                        accesses, exceptions, interrupts, windows, timer
 *   ept.c                EPT translation inside the engine's page walker
 *   vmx_apic.c           TPR shadow, APIC-access page, x2APIC MSRs, APIC-write emulation
 *   vmx_apicv.c          virtual-APIC state, virtual-interrupt delivery (29.1-29.2)
 *   vmx_posted.c         posted-interrupt processing (29.6)
 *
 * Root vs non-root: cpu->nonroot is 1 while L2 runs.  L1's state while L2
 * runs is *not* kept anywhere but in the VMCS host-state area, exactly as
 * on hardware: a VM exit loads it from there.
 *
 * VM exits from inside an instruction handler or the page walker call
 * vmx_vmexit(), which switches the CPU to L1's host state and unwinds with
 * cpu_fault(cpu, VEC_VMEXIT, 0): the loop then continues in L1.
 */
#ifndef NESTVM_VMX_VMX_H
#define NESTVM_VMX_VMX_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "vmx/vmcs.h"

#define VMX_NO_VMCS (~0ull)

/* Basic exit reasons (SDM Vol.3 Appendix C). */
enum vmx_exit_reason {
    EXIT_REASON_EXCEPTION_NMI = 0,
    EXIT_REASON_EXTERNAL_INTERRUPT = 1,
    EXIT_REASON_TRIPLE_FAULT = 2,
    EXIT_REASON_INIT_SIGNAL = 3,
    EXIT_REASON_SIPI_SIGNAL = 4,
    EXIT_REASON_IO_SMI = 5,
    EXIT_REASON_OTHER_SMI = 6,
    EXIT_REASON_INTERRUPT_WINDOW = 7,
    EXIT_REASON_NMI_WINDOW = 8,
    EXIT_REASON_TASK_SWITCH = 9,
    EXIT_REASON_CPUID = 10,
    EXIT_REASON_GETSEC = 11,
    EXIT_REASON_HLT = 12,
    EXIT_REASON_INVD = 13,
    EXIT_REASON_INVLPG = 14,
    EXIT_REASON_RDPMC = 15,
    EXIT_REASON_RDTSC = 16,
    EXIT_REASON_RSM = 17,
    EXIT_REASON_VMCALL = 18,
    EXIT_REASON_VMCLEAR = 19,
    EXIT_REASON_VMLAUNCH = 20,
    EXIT_REASON_VMPTRLD = 21,
    EXIT_REASON_VMPTRST = 22,
    EXIT_REASON_VMREAD = 23,
    EXIT_REASON_VMRESUME = 24,
    EXIT_REASON_VMWRITE = 25,
    EXIT_REASON_VMOFF = 26,
    EXIT_REASON_VMON = 27,
    EXIT_REASON_CR_ACCESS = 28,
    EXIT_REASON_DR_ACCESS = 29,
    EXIT_REASON_IO_INSTRUCTION = 30,
    EXIT_REASON_MSR_READ = 31,
    EXIT_REASON_MSR_WRITE = 32,
    EXIT_REASON_INVALID_STATE = 33,
    EXIT_REASON_MSR_LOAD_FAIL = 34,
    EXIT_REASON_MWAIT_INSTRUCTION = 36,
    EXIT_REASON_MONITOR_TRAP_FLAG = 37,
    EXIT_REASON_MONITOR_INSTRUCTION = 39,
    EXIT_REASON_PAUSE_INSTRUCTION = 40,
    EXIT_REASON_MCE_DURING_VMENTRY = 41,
    EXIT_REASON_TPR_BELOW_THRESHOLD = 43,
    EXIT_REASON_APIC_ACCESS = 44,
    EXIT_REASON_EOI_INDUCED = 45,
    EXIT_REASON_GDTR_IDTR = 46,
    EXIT_REASON_LDTR_TR = 47,
    EXIT_REASON_EPT_VIOLATION = 48,
    EXIT_REASON_EPT_MISCONFIG = 49,
    EXIT_REASON_INVEPT = 50,
    EXIT_REASON_RDTSCP = 51,
    EXIT_REASON_PREEMPTION_TIMER = 52,
    EXIT_REASON_INVVPID = 53,
    EXIT_REASON_WBINVD = 54,
    EXIT_REASON_XSETBV = 55,
    EXIT_REASON_APIC_WRITE = 56,
    EXIT_REASON_RDRAND = 57,
    EXIT_REASON_INVPCID = 58,
    EXIT_REASON_VMFUNC = 59,
    EXIT_REASON_ENCLS = 60,
    EXIT_REASON_RDSEED = 61,
    EXIT_REASON_PML_FULL = 62,
    EXIT_REASON_XSAVES = 63,
    EXIT_REASON_XRSTORS = 64,
    EXIT_REASON_MAX = 80,
};
#define EXIT_REASON_FAILED_VMENTRY (1u << 31)

/* VM-instruction error numbers (SDM Vol.3 30.4). */
enum vmx_insn_error {
    VMXERR_VMCALL_IN_ROOT = 1,
    VMXERR_VMCLEAR_INVALID_ADDR = 2,
    VMXERR_VMCLEAR_VMXON_PTR = 3,
    VMXERR_VMLAUNCH_NONCLEAR = 4,
    VMXERR_VMRESUME_NONLAUNCHED = 5,
    VMXERR_VMRESUME_AFTER_VMXOFF = 6,
    VMXERR_ENTRY_INVALID_CONTROL = 7,
    VMXERR_ENTRY_INVALID_HOST_STATE = 8,
    VMXERR_VMPTRLD_INVALID_ADDR = 9,
    VMXERR_VMPTRLD_VMXON_PTR = 10,
    VMXERR_VMPTRLD_BAD_REVISION = 11,
    VMXERR_UNSUPPORTED_FIELD = 12,
    VMXERR_VMWRITE_READONLY = 13,
    VMXERR_VMXON_IN_ROOT = 15,
    VMXERR_ENTRY_INVALID_EXEC_VMCS = 16,
    VMXERR_ENTRY_NONLAUNCHED_EXEC_VMCS = 17,
    VMXERR_ENTRY_EXEC_VMCS_PTR = 18,
    VMXERR_VMCALL_NONCLEAR = 19,
    VMXERR_VMCALL_INVALID_EXIT_CTLS = 20,
    VMXERR_VMCALL_BAD_MSEG_REVISION = 22,
    VMXERR_VMXOFF_DUAL_MONITOR = 23,
    VMXERR_VMCALL_BAD_SMM_FEATURES = 24,
    VMXERR_ENTRY_BAD_EXEC_CTLS_IN_EXEC_VMCS = 25,
    VMXERR_ENTRY_EVENTS_BLOCKED_MOV_SS = 26,
    VMXERR_INVALID_INVEPT_INVVPID = 28,
};

/* State of the intercept code (vmx_intercept*.c, ept.c, vmx_apic.c), the
 * member 'ix' of struct vmx. */
struct vmx_ix {
    uint64_t last_linear; /* linear address mmu_translate() is translating */
    bool linear_valid;    /* ... and the next non-walk guest-physical access is its
                             translation (EPT violation qualification bit 7) */
    uint64_t cr2_before;  /* CR2 before that translation: a #PF that VM-exits
                             leaves CR2 unchanged (SDM 27.1) */
    uint64_t mmio_pa;     /* L1-physical address of the last access that is not RAM */
    uint64_t mtf_icount;  /* cpu->icount when MTF last armed (see vmx_block_boundary) */
    unsigned timer_skip;  /* block boundaries until the preemption timer is read again */
    bool tpr_below;       /* TPR-below-threshold VM exit pending (trap-like, SDM 29.1.2) */
    bool vintr;           /* a virtual interrupt is recognized (SDM 29.2.1; vmx_apicv.c) */
    bool apic_emul;       /* APIC-write emulation pending after the current instruction */
    uint16_t apic_emul_off; /* ... for this virtual-APIC page offset (29.4.3.2, 29.5) */
};

struct vmx_stats {
    uint64_t entries, exits_by_reason[EXIT_REASON_MAX], entry_failures;
    char last_failed_check[160];
};

struct vmx {
    bool vmxon;            /* in VMX operation (root or non-root) */
    uint64_t vmxon_ptr;
    uint64_t current;      /* current-VMCS pointer or VMX_NO_VMCS */
    bool current_launched; /* launch state of the current VMCS */
    bool current_shadow;   /* shadow-VMCS indicator of the current VMCS (bit 31 of
                              its revision word at VMPTRLD; VM entry: VMfailInvalid) */
    struct vmcs vmcs;      /* cache of the current VMCS's fields */
    /* Values of L2 registers the engine keeps elsewhere while non-root */
    bool nmi_window_pending, intr_window_pending;
    bool init_latched;     /* INIT arrived in VMX root operation: blocked, held
                              pending until VM entry (exit 3) or VMXOFF (23.8) */
    uint64_t preempt_deadline_tsc; /* VMX-preemption timer expiry, 0 = off */
    /* vmx_entry.c / vmx_exit.c (see "Event delivery to L2" below) */
    bool injecting;      /* VM entry is delivering its injected event (SDM 26.6) */
    bool mtf_pending;    /* injected "other event" 0: MTF VM exit before the first
                            L2 instruction (SDM 26.6.2); the consumer clears it */
    uint32_t vec_info;   /* event being delivered to L2, IDT-vectoring format (27.2.4) */
    uint32_t vec_error;  /* its error code */
    uint32_t vec_len;    /* its instruction length (software events) */
    uint32_t pending_dbg; /* debug exceptions pending for L2, in the format of the
                             pending-debug-exceptions field (24.4.2: B3-B0, bit 12
                             enabled breakpoint, BS): loaded by VM entry (26.7.3),
                             delivered by vmx_block_boundary() / merged into the
                             next single-step trap, saved by a VM exit (27.3.4) */
    /* Last VM-entry instruction, for VM-exit "entry failure" reporting */
    struct vmx_stats stats;
    bool trace;
    FILE *trace_file;
    struct vmx_ix ix; /* vmx_intercept*.c, ept.c, vmx_apic.c */
};

/* vmx_insn.c */
void vmx_succeed(struct cpu *cpu);
void vmx_fail_invalid(struct cpu *cpu);
void vmx_fail_valid(struct cpu *cpu, enum vmx_insn_error err);
/* Either fail depending on whether a current VMCS exists (SDM 30.2 VMfail). */
void vmx_fail(struct cpu *cpu, enum vmx_insn_error err);
/* Write the current VMCS cache back to its region in guest memory. */
void vmx_vmcs_flush(struct cpu *cpu);
/* #UD conditions shared by the VMX instructions other than VMXON/VMCALL/
 * VMFUNC, checked before the non-root VM exit (SDM 30.3 pseudocode):
 * CR0.PE = 0, RFLAGS.VM = 1, or compatibility mode. */
bool vmx_insn_mode_ud(const struct cpu *cpu);
/* VMREAD/VMWRITE in non-root operation: true if it must VM-exit (VMCS
 * shadowing off, encoding bits 63:15 set, or its VMREAD/VMWRITE-bitmap bit
 * is 1 — SDM 25.1.3, 24.6.15); false: access the shadow VMCS. */
bool vmx_vmrw_exits(struct cpu *cpu, uint64_t enc, bool write);
/* vmx_caps.c: EPTP value acceptable for VM entry, INVEPT and EPTP switching
 * (SDM 26.2.1.1, 24.6.11, with the IA32_VMX_EPT_VPID_CAP settings). */
bool vmx_eptp_valid(uint64_t eptp);

/* vmx_check_*.c: return true if all checks pass; on failure fill *err (for
 * VMfailValid) or the exit qualification and record the failing check's
 * name and SDM section in cpu->vmx->stats.last_failed_check. */
bool vmx_check_controls(struct cpu *cpu);      /* SDM 26.2.1 → VMfailValid(7) */
bool vmx_check_host_state(struct cpu *cpu);    /* SDM 26.2.2-26.2.4 → VMfailValid(8) */
bool vmx_check_guest_state(struct cpu *cpu, uint64_t *qual); /* SDM 26.3.1 → exit 33 */

/* vmx_entry.c: VMLAUNCH/VMRESUME after the instruction's own checks. */
void vmx_vmentry(struct cpu *cpu, bool launch);

/* vmx_exit.c: perform a VM exit with the given basic reason, qualification
 * and optional interruption info; switches to L1 host state and does NOT
 * return (unwinds with VEC_VMEXIT), unless 'noreturn' is false (used from
 * places that are already at an instruction boundary: then it returns). */
struct vmx_exit_info {
    uint32_t reason;        /* basic reason, plus bit 31 for entry failures */
    uint64_t qual;          /* exit qualification */
    uint64_t guest_linear;  /* GUEST_LINEAR_ADDRESS, when valid */
    uint64_t guest_phys;    /* GUEST_PHYSICAL_ADDRESS, when valid */
    uint32_t intr_info;     /* VM_EXIT_INTR_INFO */
    uint32_t intr_error;    /* VM_EXIT_INTR_ERROR_CODE */
    uint32_t insn_len;      /* VM_EXIT_INSTRUCTION_LEN */
    uint32_t insn_info;     /* VMX_INSTRUCTION_INFO */
};
void vmx_exit_at_boundary(struct cpu *cpu, const struct vmx_exit_info *ei);
_Noreturn void vmx_vmexit(struct cpu *cpu, const struct vmx_exit_info *ei);
/* Instruction-caused exit helper: fills length and instruction info from 'in'. */
_Noreturn void vmx_exit_insn(struct cpu *cpu, const struct insn *in, uint32_t reason,
                             uint64_t qual);
/* VMX_INSTRUCTION_INFO for instructions with a memory/register operand (SDM 27.2.5). */
uint32_t vmx_insn_info(const struct cpu *cpu, const struct insn *in);

/* VM-entry failure after the guest-state checks (SDM 26.8): basic reason 33
 * (invalid guest state) or 34 (MSR loading) with bit 31 set, the given
 * qualification, host state loaded as on a VM exit; no guest state saved. */
void vmx_exit_entry_failure(struct cpu *cpu, uint32_t basic_reason, uint64_t qual);

/* Interruption-information format shared by VM_ENTRY_INTR_INFO_FIELD,
 * VM_EXIT_INTR_INFO and IDT_VECTORING_INFO_FIELD (SDM 24.8.3, 24.9.2). */
#define VMX_INTR_VALID (1u << 31)
#define VMX_INTR_ERR_VALID (1u << 11)
#define VMX_INTR_NMI_UNBLOCK (1u << 12) /* exit info: NMI unblocking due to IRET */
#define VMX_INTR_TYPE(info) (((info) >> 8) & 7)
#define VMX_INTR_VECTOR(info) ((info) & 0xff)
enum {
    VMX_INTR_TYPE_EXT = 0,       /* external interrupt */
    VMX_INTR_TYPE_NMI = 2,
    VMX_INTR_TYPE_HW_EXC = 3,    /* hardware exception */
    VMX_INTR_TYPE_SOFT_INT = 4,  /* INT n */
    VMX_INTR_TYPE_PRIV_SOFT = 5, /* INT1 */
    VMX_INTR_TYPE_SOFT_EXC = 6,  /* INT3, INTO */
    VMX_INTR_TYPE_OTHER = 7,     /* vector 0: pending MTF VM exit */
};
/* Interruption information (valid bit set) of an engine event (kind is an
 * enum event_kind of cpu/exec.h); the error-code bit follows the vector and
 * CR0.PE as event delivery pushes it. */
uint32_t vmx_event_info(const struct cpu *cpu, int vector, int kind);

/*
 * Event delivery to L2 — contract between cpu_deliver()'s hook
 * vmx_event_exit() (vmx_intercept.c) and vmx_entry.c / vmx_exit.c:
 *   - first thing: if (vmx_event_injected(cpu)) return false;  the event
 *     is the one VM entry injects, delivered without consulting the
 *     exception bitmap or the NMI/interrupt exiting controls (SDM 26.6.1);
 *   - when it lets any other event through to L2's IDT it calls
 *     vmx_note_delivery(cpu, vector, kind, error), so that a VM exit during
 *     that delivery (nested fault, EPT violation, ...) reports the event in
 *     the IDT-vectoring fields (SDM 27.2.4).  A VM exit uses the note only
 *     while cpu->in_event says a delivery is under way.
 */
bool vmx_event_injected(struct cpu *cpu);
void vmx_note_delivery(struct cpu *cpu, int vector, int kind, uint32_t error);

/* ept.c */
/* Translate an L2 guest-physical address through L1's EPT; VM-exits on a
 * violation or misconfiguration.  Returns the L1-physical address. */
uint64_t ept_translate(struct cpu *cpu, uint64_t gpa, unsigned acc);
/* The EPT walk itself, a pure function of RAM contents (SDM 28.2): 'acc' is
 * an OR of EPT_ACC_* (the access kinds of the EPT-violation qualification,
 * SDM Table 27-7 bits 0-2).  On EPT_OK r->pa is the L1-physical address;
 * r->perm is the AND of bits 2:0 over the entries used (0 when an entry was
 * not present).  Accessed/dirty flags are set (atomically) only when EPTP
 * bit 6 enables them and the translation succeeds.  Tables outside RAM read
 * as all-ones, which is a misconfiguration. */
#define EPT_ACC_READ 1u
#define EPT_ACC_WRITE 2u
#define EPT_ACC_FETCH 4u
enum { EPT_OK, EPT_VIOLATION, EPT_MISCONFIG };
struct ept_result {
    uint64_t pa;      /* L1-physical address */
    uint64_t leaf;    /* the leaf entry (as read, before A/D updates) */
    unsigned perm;    /* AND of R/W/X over the levels */
    unsigned level;   /* level of the leaf: 1 (4 KiB), 2 (2 MiB), 3 (1 GiB) */
    unsigned memtype; /* EPT memory type of the leaf (bits 5:3) */
};
int ept_walk(const struct bus *bus, uint64_t eptp, uint64_t gpa, unsigned acc,
             struct ept_result *r);

/* vmx_intercept.c — contract with vmx_entry.c / vmx_exit.c:
 *   - vmx_intercept_entry(cpu): call at the end of every successful VM
 *     entry (guest state loaded, nonroot = 1, injection done), from inside
 *     VMLAUNCH/VMRESUME (the MTF exit waits for the next instruction after
 *     the one being executed to retire); arms MTF,
 *     checks the TPR threshold (SDM 26.7.7) and sets EV_VMX as needed.
 *     EV_VMX stays set while "external-interrupt exiting" is 1: such an
 *     interrupt must exit even while L2 has RFLAGS.IF = 0 (SDM 25.3), and
 *     the loop only asks intr_exits() when IF = 1, so vmx_block_boundary()
 *     checks for it.
 *   - vmx_update_events(cpu): sets or clears EV_VMX in cpu->events from the
 *     current controls; call it after a VM exit switched to root (it then
 *     clears EV_VMX, keeping L1's loop fast).
 *   - preempt_deadline_tsc is compared with vmx_l1_tsc(), the TSC as L1
 *     sees it (cpu_read_tsc() without L2's TSC offset): at entry set it to
 *     vmx_l1_tsc(cpu) + (timer value << VMX_PREEMPT_TIMER_RATE); the exit's
 *     "save VMX-preemption timer value" is (deadline - vmx_l1_tsc()) >> rate,
 *     0 once passed.
 *   - While non-root, cpu->nmi_blocked is the guest's "blocking by NMI"
 *     (virtual-NMI blocking when "virtual NMIs" = 1, cleared by L2's IRET);
 *     NMI-window exiting looks at it. */
void vmx_intercept_entry(struct cpu *cpu);
void vmx_update_events(struct cpu *cpu);
uint64_t vmx_l1_tsc(struct cpu *cpu);

/* Pure decision functions (unit-tested), SDM 25.1.3 / 25.2 / 25.3: */
/* I/O bitmaps A (ports 0-7FFFH) and B (8000H-FFFFH) at L1-physical addresses;
 * true if any port of [port, port+size) has its bit set, if the access wraps
 * past FFFFH, or if a bitmap byte is not in RAM. */
bool vmx_io_bitmap_exits(const struct bus *bus, uint64_t bitmap_a, uint64_t bitmap_b,
                         uint16_t port, unsigned size);
/* MSR bitmap (SDM 24.6.9): read-low 0, read-high 400H, write-low 800H,
 * write-high C00H; MSRs outside 0-1FFFH and C0000000H-C0001FFFH always exit. */
bool vmx_msr_bitmap_exits(const struct bus *bus, uint64_t bitmap, uint32_t msr, bool write);
/* Exit qualification of I/O instructions (SDM Table 27-5). */
uint64_t vmx_io_qual(uint16_t port, unsigned size, bool in, bool string, bool rep, bool imm);
/* CR0/CR4 with guest/host mask and read shadow (SDM 25.3): what MOV from CR
 * and SMSW return, whether MOV to CR exits, and the value a non-exiting
 * MOV to CR loads (masked bits keep the current value). */
static inline uint64_t vmx_cr_shadow_read(uint64_t guest, uint64_t mask, uint64_t shadow)
{
    return (guest & ~mask) | (shadow & mask);
}
static inline bool vmx_cr_write_exits(uint64_t src, uint64_t mask, uint64_t shadow)
{
    return ((src ^ shadow) & mask) != 0;
}
static inline uint64_t vmx_cr_write_value(uint64_t src, uint64_t guest, uint64_t mask)
{
    return (src & ~mask) | (guest & mask);
}
/* LMSW (SDM 25.1.3): exits if PE is masked, its shadow is 0 and the source
 * sets it, or if a masked bit among MP/EM/TS differs from its shadow. */
bool vmx_lmsw_exits(uint16_t src, uint64_t mask, uint64_t shadow);
/* CR0 after a non-exiting LMSW: masked bits of CR0[3:0] unchanged, PE never cleared. */
uint64_t vmx_lmsw_value(uint16_t src, uint64_t cr0, uint64_t mask);
/* MOV to CR3 with CR3-load exiting: no exit if the value equals one of the
 * first CR3_TARGET_COUNT target values (SDM 25.1.3). */
bool vmx_cr3_target_match(const struct vmcs *c, uint64_t val);
/* Exception bitmap incl. the #PF error-code mask/match rule (SDM 25.2). */
bool vmx_exception_exits(const struct vmcs *c, int vector, uint32_t error);

/* vmx_caps.c */
int vmx_caps_msr(struct cpu *cpu, uint32_t msr, uint64_t *val);
uint64_t vmx_cr0_fixed0(void), vmx_cr0_fixed1(void), vmx_cr4_fixed0(void), vmx_cr4_fixed1(void);

/* VM-execution / exit / entry control bits (SDM Vol.3 24.6-24.8). */
#define VMX_PIN_EXT_INTR (1u << 0)
#define VMX_PIN_NMI (1u << 3)
#define VMX_PIN_VIRTUAL_NMI (1u << 5)
#define VMX_PIN_PREEMPT_TIMER (1u << 6)
#define VMX_PIN_POSTED_INTR (1u << 7)

#define VMX_PROC_INTR_WINDOW (1u << 2)
#define VMX_PROC_TSC_OFFSET (1u << 3)
#define VMX_PROC_HLT (1u << 7)
#define VMX_PROC_INVLPG (1u << 9)
#define VMX_PROC_MWAIT (1u << 10)
#define VMX_PROC_RDPMC (1u << 11)
#define VMX_PROC_RDTSC (1u << 12)
#define VMX_PROC_CR3_LOAD (1u << 15)
#define VMX_PROC_CR3_STORE (1u << 16)
#define VMX_PROC_TERTIARY (1u << 17)
#define VMX_PROC_CR8_LOAD (1u << 19)
#define VMX_PROC_CR8_STORE (1u << 20)
#define VMX_PROC_TPR_SHADOW (1u << 21)
#define VMX_PROC_NMI_WINDOW (1u << 22)
#define VMX_PROC_MOV_DR (1u << 23)
#define VMX_PROC_UNCOND_IO (1u << 24)
#define VMX_PROC_IO_BITMAPS (1u << 25)
#define VMX_PROC_MTF (1u << 27)
#define VMX_PROC_MSR_BITMAPS (1u << 28)
#define VMX_PROC_MONITOR (1u << 29)
#define VMX_PROC_PAUSE (1u << 30)
#define VMX_PROC_SECONDARY (1u << 31)

#define VMX_PROC2_VIRT_APIC_ACCESS (1u << 0)
#define VMX_PROC2_EPT (1u << 1)
#define VMX_PROC2_DESC_TABLE (1u << 2)
#define VMX_PROC2_RDTSCP (1u << 3)
#define VMX_PROC2_VIRT_X2APIC (1u << 4)
#define VMX_PROC2_VPID (1u << 5)
#define VMX_PROC2_WBINVD (1u << 6)
#define VMX_PROC2_UNRESTRICTED (1u << 7)
#define VMX_PROC2_APIC_REG_VIRT (1u << 8)
#define VMX_PROC2_VINTR_DELIVERY (1u << 9)
#define VMX_PROC2_PAUSE_LOOP (1u << 10)
#define VMX_PROC2_RDRAND (1u << 11)
#define VMX_PROC2_INVPCID (1u << 12)
#define VMX_PROC2_VMFUNC (1u << 13)
#define VMX_PROC2_SHADOW_VMCS (1u << 14)
#define VMX_PROC2_ENCLS (1u << 15)
#define VMX_PROC2_RDSEED (1u << 16)
#define VMX_PROC2_PML (1u << 17)
#define VMX_PROC2_EPT_VE (1u << 18)
#define VMX_PROC2_XSAVES (1u << 20)
#define VMX_PROC2_TSC_SCALING (1u << 25)

#define VMX_EXITCTL_SAVE_DEBUG (1u << 2)
#define VMX_EXITCTL_HOST_64 (1u << 9)
#define VMX_EXITCTL_LOAD_PERF_GLOBAL (1u << 12)
#define VMX_EXITCTL_ACK_INTR (1u << 15)
#define VMX_EXITCTL_SAVE_PAT (1u << 18)
#define VMX_EXITCTL_LOAD_PAT (1u << 19)
#define VMX_EXITCTL_SAVE_EFER (1u << 20)
#define VMX_EXITCTL_LOAD_EFER (1u << 21)
#define VMX_EXITCTL_SAVE_PREEMPT (1u << 22)

#define VMX_ENTRYCTL_LOAD_DEBUG (1u << 2)
#define VMX_ENTRYCTL_IA32E_GUEST (1u << 9)
#define VMX_ENTRYCTL_SMM (1u << 10)
#define VMX_ENTRYCTL_DUAL_MONITOR (1u << 11)
#define VMX_ENTRYCTL_LOAD_PERF_GLOBAL (1u << 13)
#define VMX_ENTRYCTL_LOAD_PAT (1u << 14)
#define VMX_ENTRYCTL_LOAD_EFER (1u << 15)

/* IA32_VMX_MISC (SDM A.6): preemption timer counts down once every
 * 2^VMX_PREEMPT_TIMER_RATE TSC ticks; up to VMX_CR3_TARGETS CR3 targets;
 * MSR lists of up to VMX_MSR_LIST_MAX entries (512 * (N + 1), N = 0). */
#define VMX_PREEMPT_TIMER_RATE 5
#define VMX_CR3_TARGETS 4
#define VMX_MSR_LIST_MAX 512
#define VMX_MISC_EFER_LMA_SAVED (1ull << 5) /* exits store EFER.LMA in entry ctl bit 9 */
#define VMX_MISC_ACT_HLT (1ull << 6)
#define VMX_MISC_ACT_SHUTDOWN (1ull << 7)
#define VMX_MISC_ACT_WAIT_SIPI (1ull << 8)
#define VMX_MISC_VMWRITE_ANY (1ull << 29)     /* VMWRITE may write VM-exit information fields */
#define VMX_MISC_INJECT_LEN0 (1ull << 30)     /* not advertised */

/* IA32_VMX_EPT_VPID_CAP bits (SDM A.10). */
#define VMX_EPT_EXEC_ONLY (1ull << 0)
#define VMX_EPT_PWL4 (1ull << 6)
#define VMX_EPT_MT_UC (1ull << 8)
#define VMX_EPT_MT_WB (1ull << 14)
#define VMX_EPT_2MB (1ull << 16)
#define VMX_EPT_1GB (1ull << 17)
#define VMX_EPT_INVEPT (1ull << 20)
#define VMX_EPT_AD (1ull << 21)
#define VMX_EPT_INVEPT_SINGLE (1ull << 25)
#define VMX_EPT_INVEPT_ALL (1ull << 26)
#define VMX_VPID_INVVPID (1ull << 32)
#define VMX_VPID_INDIV_ADDR (1ull << 40)
#define VMX_VPID_SINGLE (1ull << 41)
#define VMX_VPID_ALL (1ull << 42)
#define VMX_VPID_SINGLE_NONGLOBAL (1ull << 43)

/* Allowed settings of the VMX controls, the same numbers the capability
 * MSRs report (SDM A.3-A.5): a control value v is valid iff
 *   (v & must_be_1) == must_be_1 && (v & ~may_be_1) == 0.
 * IA32_VMX_BASIC bit 55 is 1, so VM entry checks against the TRUE MSRs
 * (true_ctls = true); the non-TRUE values only differ for the default1
 * classes (SDM A.2). */
void vmx_allowed_pin(bool true_ctls, uint32_t *must_be_1, uint32_t *may_be_1);
void vmx_allowed_proc(bool true_ctls, uint32_t *must_be_1, uint32_t *may_be_1);
void vmx_allowed_proc2(uint32_t *must_be_1, uint32_t *may_be_1);
void vmx_allowed_exit(bool true_ctls, uint32_t *must_be_1, uint32_t *may_be_1);
void vmx_allowed_entry(bool true_ctls, uint32_t *must_be_1, uint32_t *may_be_1);
/* Convenience: true iff v is an allowed setting per the pair above. */
static inline bool vmx_ctl_ok(uint32_t v, uint32_t must_be_1, uint32_t may_be_1)
{
    return (v & must_be_1) == must_be_1 && (v & ~may_be_1) == 0;
}
uint64_t vmx_misc_caps(void);      /* IA32_VMX_MISC */
uint64_t vmx_ept_vpid_caps(void);  /* IA32_VMX_EPT_VPID_CAP */
uint64_t vmx_vmfunc_caps(void);    /* IA32_VMX_VMFUNC: bit 0 EPTP switching */

/* Trace/stats */
void vmx_trace(struct cpu *cpu, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Failing-check logging: VMX_CC(cpu, cond, "SDM 26.2.1.1") evaluates cond;
 * if it is true (the failure condition) the expression text and SDM
 * section are recorded and printed with --trace-vmx / --stats. */
void vmx_record_failed_check(struct cpu *cpu, const char *expr, const char *sdm);
#define VMX_CC(cpu, cond, sdm)                                                   \
    ((cond) ? (vmx_record_failed_check((cpu), #cond, (sdm)), true) : false)

#endif
