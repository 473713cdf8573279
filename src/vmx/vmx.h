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
 *   vmx_apic.c           TPR shadow, APIC-access page, virtual interrupts
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

struct vmx_stats {
    uint64_t entries, exits_by_reason[EXIT_REASON_MAX], entry_failures;
    char last_failed_check[160];
};

struct vmx {
    bool vmxon;            /* in VMX operation (root or non-root) */
    uint64_t vmxon_ptr;
    uint64_t current;      /* current-VMCS pointer or VMX_NO_VMCS */
    bool current_launched; /* launch state of the current VMCS */
    struct vmcs vmcs;      /* cache of the current VMCS's fields */
    /* Values of L2 registers the engine keeps elsewhere while non-root */
    bool nmi_window_pending, intr_window_pending;
    uint64_t preempt_deadline_tsc; /* VMX-preemption timer expiry, 0 = off */
    /* Last VM-entry instruction, for VM-exit "entry failure" reporting */
    struct vmx_stats stats;
    bool trace;
    FILE *trace_file;
};

/* vmx_insn.c */
void vmx_succeed(struct cpu *cpu);
void vmx_fail_invalid(struct cpu *cpu);
void vmx_fail_valid(struct cpu *cpu, enum vmx_insn_error err);
/* Either fail depending on whether a current VMCS exists (SDM 30.2 VMfail). */
void vmx_fail(struct cpu *cpu, enum vmx_insn_error err);
/* Write the current VMCS cache back to its region in guest memory. */
void vmx_vmcs_flush(struct cpu *cpu);

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

/* ept.c */
/* Translate an L2 guest-physical address through L1's EPT; VM-exits on a
 * violation or misconfiguration.  Returns the L1-physical address. */
uint64_t ept_translate(struct cpu *cpu, uint64_t gpa, unsigned acc);

/* vmx_caps.c */
int vmx_caps_msr(struct cpu *cpu, uint32_t msr, uint64_t *val);
uint64_t vmx_cr0_fixed0(void), vmx_cr0_fixed1(void), vmx_cr4_fixed0(void), vmx_cr4_fixed1(void);

/* Trace/stats */
void vmx_trace(struct cpu *cpu, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Failing-check logging: VMX_CC(cpu, cond, "SDM 26.2.1.1") evaluates cond;
 * if it is true (the failure condition) the expression text and SDM
 * section are recorded and printed with --trace-vmx / --stats. */
void vmx_record_failed_check(struct cpu *cpu, const char *expr, const char *sdm);
#define VMX_CC(cpu, cond, sdm)                                                   \
    ((cond) ? (vmx_record_failed_check((cpu), #cond, (sdm)), true) : false)

#endif
