/*
 * vmx_intercept.c — "does L1 want it": which events and instructions of a
 * VMX non-root guest (L2) become VM exits to L1 (SDM Vol.3 chapter 25).
 *
 *   vmx_op_intercept()   the gate of every opcode-table row with an EXIT()
 *                        class (exec.c installs it at decode time while
 *                        non-root): first the faults that have priority over
 *                        VM exits (25.1.1: #UD from mode checks, privilege
 *                        #GP, I/O-permission #GP), then the unconditional
 *                        (25.1.2) and control-dependent (25.1.3) exits, else
 *                        the instruction runs — with the changed behaviour of
 *                        25.3 where it applies (CR shadows, TPR shadow,
 *                        RDTSCP/INVPCID enables).  CR/DR accesses are in
 *                        vmx_intercept_cr.c, I/O and MSRs in
 *                        vmx_intercept_io.c, the APIC pieces in vmx_apic.c.
 *   vmx_event_exit()     exceptions (exception bitmap, #PF error-code
 *                        mask/match), NMIs, triple faults (25.2);
 *   vmx_intr_exits()     external interrupts with "external-interrupt exiting"
 *                        (the posted-interrupt notification vector is
 *                        processed by vmx_posted.c instead, 29.6);
 *   vmx_block_boundary() exits at instruction boundaries: APIC-write
 *                        emulation of the previous instruction (vmx_apic.c,
 *                        29.4.3.2), TPR below threshold,
 *                        MTF, VMX-preemption timer, NMIs held back by L2's
 *                        virtual-NMI blocking, NMI window, external
 *                        interrupts while RFLAGS.IF = 0, interrupt window /
 *                        virtual-interrupt delivery (vmx_apicv.c, 29.2.2).
 *
 * EV_VMX in cpu->events makes the loop call vmx_block_boundary() at every
 * block boundary; vmx_update_events() keeps it set exactly while one of
 * those controls is active.  The loop checks events only between decoded
 * blocks (up to 32 instructions); with the monitor trap flag it runs one
 * instruction per block (vmx_mtf_active()), so MTF exits are exact.  A
 * window that opens in the middle of a block (an instruction that sets IF
 * or unblocks NMIs without ending its block) is seen at the block's end.
 */
#include "cpu/exec.h"
#include "cpu/mem.h"
#include "cpu/msr.h"
#include "cpu/seg.h"
#include "vmx/vmx_apicv.h"
#include "vmx/vmx_hooks.h"
#include "vmx/vmx_intercept.h"

/* ---------- pure decisions ---------- */

bool vmx_exception_exits(const struct vmcs *c, int vector, uint32_t error)
{
    if (vector < 0 || vector > 31)
        return false;
    uint32_t bitmap = (uint32_t)vmcs_get(c, VMCS_EXCEPTION_BITMAP);
    bool bit = (bitmap >> vector) & 1;
    if (vector != EXC_PF)
        return bit;
    /* SDM 25.2: #PF exits iff (PFEC & mask) == match when bit 14 is 1, and
     * iff they differ when bit 14 is 0. */
    uint32_t mask = (uint32_t)vmcs_get(c, VMCS_PAGE_FAULT_ERROR_CODE_MASK);
    uint32_t match = (uint32_t)vmcs_get(c, VMCS_PAGE_FAULT_ERROR_CODE_MATCH);
    bool equal = (error & mask) == match;
    return bit ? equal : !equal;
}

/* ---------- time ---------- */

uint64_t vmx_tsc_offset(const struct cpu *cpu)
{
    if (!cpu->vmx || !(ix_proc(cpu) & VMX_PROC_TSC_OFFSET))
        return 0;
    return ix_field(cpu, VMCS_TSC_OFFSET);
}

uint64_t vmx_l1_tsc(struct cpu *cpu)
{
    uint64_t tsc = cpu_read_tsc(cpu);
    if (cpu->nonroot)
        tsc -= vmx_tsc_offset(cpu);
    return tsc;
}

/* ---------- EV_VMX ---------- */

void vmx_update_events(struct cpu *cpu)
{
    struct vmx *v = cpu->vmx;
    bool need = false;
    if (v && cpu->nonroot) {
        uint32_t pin = ix_pin(cpu), proc = ix_proc(cpu);
        /* External interrupts and NMIs raise EV_IRQ / EV_NMI when they
         * arrive, and the loop then asks vmx_block_boundary() too; the
         * preemption timer is polled (vmx_poll_timer); so only these need
         * a look at every block boundary. */
        need = (proc & (VMX_PROC_INTR_WINDOW | VMX_PROC_NMI_WINDOW | VMX_PROC_MTF)) ||
               ((pin & VMX_PIN_PREEMPT_TIMER) &&
                vmx_l1_tsc(cpu) >= cpu->vmx->preempt_deadline_tsc) ||
               v->mtf_pending || v->ix.tpr_below || v->pending_dbg || v->init_latched ||
               v->ix.vintr || v->ix.apic_emul;
    }
    if (need)
        atomic_fetch_or(&cpu->events, EV_VMX);
    else
        atomic_fetch_and(&cpu->events, ~EV_VMX);
}

void vmx_poll_timer(struct cpu *cpu)
{
    struct vmx *v = cpu->vmx;
    if (v && cpu->nonroot && (ix_pin(cpu) & VMX_PIN_PREEMPT_TIMER) &&
        vmx_l1_tsc(cpu) >= v->preempt_deadline_tsc)
        atomic_fetch_or(&cpu->events, EV_VMX);
}

void ix_request_boundary(struct cpu *cpu)
{
    atomic_fetch_or(&cpu->events, EV_VMX);
    cpu_end_block(cpu);
}

/* Does VTPR[7:4] lie below TPR threshold[3:0]?  (29.1.2, 26.7.7) */
static bool tpr_below_threshold(struct cpu *cpu)
{
    if (!(ix_proc(cpu) & VMX_PROC_TPR_SHADOW) || (ix_proc2(cpu) & VMX_PROC2_VINTR_DELIVERY))
        return false;
    const uint8_t *p = ix_vapic(cpu);
    unsigned vtpr = p ? p[0x80] : 0xff;
    return ((vtpr >> 4) & 0xf) < (ix_field(cpu, VMCS_TPR_THRESHOLD) & 0xf);
}

void vmx_intercept_entry(struct cpu *cpu)
{
    struct vmx *v = cpu->vmx;
    /* called inside VMLAUNCH/VMRESUME, which the loop counts when it
     * retires: the MTF exit comes once one more instruction has retired */
    v->ix.mtf_icount = cpu->icount + 1;
    v->ix.linear_valid = false;
    v->ix.timer_skip = 0; /* a timer value of 0 exits before any instruction */
    /* With "use TPR shadow" and no virtual-interrupt delivery, VM entry is
     * followed by a TPR-below-threshold exit if VTPR is below it (26.7.7). */
    v->ix.tpr_below = tpr_below_threshold(cpu);
    apicv_entry(cpu); /* RVI/SVI, PPR virtualization, evaluation (26.3.2.5) */
    /* MTF with an injected vectored event: the MTF exit is pending before
     * the first instruction after the VM entry (25.5.2). */
    uint32_t info = (uint32_t)ix_field(cpu, VMCS_VM_ENTRY_INTR_INFO_FIELD);
    if ((ix_proc(cpu) & VMX_PROC_MTF) && (info & VMX_INTR_VALID) &&
        VMX_INTR_TYPE(info) != VMX_INTR_TYPE_OTHER)
        v->mtf_pending = true;
    vmx_update_events(cpu);
}

/* ---------- the instruction gate ---------- */

/* Exit qualification of instructions with a memory operand: its
 * displacement (SDM 27.2.1). */
static uint64_t disp_qual(const struct insn *in)
{
    return in->mod == 3 ? 0 : (uint64_t)(int64_t)in->disp;
}

/* INVLPG's exit qualification: the linear-address operand (27.2.1). */
static uint64_t invlpg_linear(const struct cpu *cpu, const struct insn *in)
{
    uint64_t ea = insn_ea(cpu, in);
    if (cpu->code64)
        return ea + (in->seg >= SEG_FS ? cpu->seg[in->seg].base : 0);
    return (uint32_t)(cpu->seg[in->seg].base + ea);
}

/* CR4.TSD / CR4.PCE / CR4.UMIP: privilege-based #GP(0), checked before the
 * VM exit (25.1.1). */
static void cr4_priv_check(struct cpu *cpu, uint64_t cr4_bit, bool set_means_fault)
{
    bool set = (cpu->cr4 & cr4_bit) != 0;
    if (cpu->cpl > 0 && set == set_means_fault)
        cpu_gp0(cpu);
}

/* Invalid-opcode cases that come before everything else, the CPL check
 * included (25.1.1, 25.3). */
static void ud_checks(struct cpu *cpu, unsigned cls)
{
    switch (cls) {
    case IX_XSETBV:
        if (!(cpu->cr4 & CR4_OSXSAVE))
            cpu_ud(cpu);
        break;
    case IX_INVPCID: /* 25.3: #UD unless "enable INVPCID" */
        if (!(ix_proc2(cpu) & VMX_PROC2_INVPCID))
            cpu_ud(cpu);
        break;
    case IX_RDTSCP: /* 25.3: #UD unless "enable RDTSCP" (RDPID too) */
    case IX_RDPID:
        if (!(ix_proc2(cpu) & VMX_PROC2_RDTSCP))
            cpu_ud(cpu);
        break;
    case IX_LDTR_TR: /* not recognised in real-address or virtual-8086 mode */
        if (cpu_real_mode(cpu) || cpu_vm86(cpu))
            cpu_ud(cpu);
        break;
    default:
        break;
    }
}

/*
 * Decide one instruction.  Returns true if it was fully handled here
 * (emulated with the non-root behaviour), false to run its own handler;
 * a VM exit does not return.
 */
static bool insn_intercept(struct cpu *cpu, const struct insn *in, unsigned cls)
{
    uint32_t proc = ix_proc(cpu), proc2 = ix_proc2(cpu);
    switch (cls) {
    /* 25.1.2: unconditional */
    case IX_CPUID:
        vmx_exit_insn(cpu, in, EXIT_REASON_CPUID, 0);
    case IX_INVD:
        vmx_exit_insn(cpu, in, EXIT_REASON_INVD, 0);
    case IX_XSETBV:
        vmx_exit_insn(cpu, in, EXIT_REASON_XSETBV, 0);
    case IX_GETSEC: /* CR4.SMXE cannot be set: the handler's #UD comes first */
    case IX_RSM:    /* #UD outside SMM */
        return false;
    /* The VMX instructions take their non-root exits themselves, in the
     * order of their SDM pseudocode (vmx_insn.c: #UD checks, then the VM
     * exit; VMREAD/VMWRITE via the VMCS-shadowing bitmaps; VMFUNC: #UD
     * without "enable VM functions", exit 59 for a disabled function). */
    case IX_VMCALL: case IX_VMCLEAR: case IX_VMLAUNCH: case IX_VMPTRLD: case IX_VMPTRST:
    case IX_VMREAD: case IX_VMRESUME: case IX_VMWRITE: case IX_VMXOFF: case IX_VMXON:
    case IX_INVEPT: case IX_INVVPID: case IX_VMFUNC:
        return false;

    /* 25.1.3: by control */
    case IX_HLT:
        if (proc & VMX_PROC_HLT)
            vmx_exit_insn(cpu, in, EXIT_REASON_HLT, 0);
        return false;
    case IX_INVLPG:
        if (proc & VMX_PROC_INVLPG)
            vmx_exit_insn(cpu, in, EXIT_REASON_INVLPG, invlpg_linear(cpu, in));
        return false;
    case IX_INVPCID:
        if (proc & VMX_PROC_INVLPG)
            vmx_exit_insn(cpu, in, EXIT_REASON_INVPCID, disp_qual(in));
        return false;
    case IX_RDPMC:
        cr4_priv_check(cpu, CR4_PCE, false);
        if (proc & VMX_PROC_RDPMC)
            vmx_exit_insn(cpu, in, EXIT_REASON_RDPMC, 0);
        return false;
    case IX_RDTSC:
        cr4_priv_check(cpu, CR4_TSD, true);
        if (proc & VMX_PROC_RDTSC)
            vmx_exit_insn(cpu, in, EXIT_REASON_RDTSC, 0);
        return false; /* TSC offsetting applies in cpu_read_tsc() */
    case IX_RDTSCP:
        cr4_priv_check(cpu, CR4_TSD, true);
        if (proc & VMX_PROC_RDTSC)
            vmx_exit_insn(cpu, in, EXIT_REASON_RDTSCP, 0);
        return false;
    case IX_MWAIT:
        if (proc & VMX_PROC_MWAIT)
            vmx_exit_insn(cpu, in, EXIT_REASON_MWAIT_INSTRUCTION, 0); /* monitor not armed */
        return false;
    case IX_MONITOR:
        if (proc & VMX_PROC_MONITOR)
            vmx_exit_insn(cpu, in, EXIT_REASON_MONITOR_INSTRUCTION, 0);
        return false;
    case IX_PAUSE: /* PAUSE-loop exiting is not offered */
        if (proc & VMX_PROC_PAUSE)
            vmx_exit_insn(cpu, in, EXIT_REASON_PAUSE_INSTRUCTION, 0);
        return false;
    case IX_WBINVD:
        if (proc2 & VMX_PROC2_WBINVD)
            vmx_exit_insn(cpu, in, EXIT_REASON_WBINVD, 0);
        return false;
    case IX_RDRAND:
        if (proc2 & VMX_PROC2_RDRAND)
            vmx_exit_insn(cpu, in, EXIT_REASON_RDRAND, 0);
        return false;
    case IX_RDSEED:
        if (proc2 & VMX_PROC2_RDSEED)
            vmx_exit_insn(cpu, in, EXIT_REASON_RDSEED, 0);
        return false;
    case IX_GDTR_IDTR: /* /0 SGDT, /1 SIDT, /2 LGDT, /3 LIDT */
        if (in->reg <= 1)
            cr4_priv_check(cpu, CR4_UMIP, true);
        if (proc2 & VMX_PROC2_DESC_TABLE)
            vmx_exit_insn(cpu, in, EXIT_REASON_GDTR_IDTR, disp_qual(in));
        return false;
    case IX_LDTR_TR: /* /0 SLDT, /1 STR, /2 LLDT, /3 LTR */
        if (in->reg <= 1)
            cr4_priv_check(cpu, CR4_UMIP, true);
        if (proc2 & VMX_PROC2_DESC_TABLE)
            vmx_exit_insn(cpu, in, EXIT_REASON_LDTR_TR, disp_qual(in));
        return false;
    case IX_RDPID: /* never exits; #UD without "enable RDTSCP" (ud_checks) */
        return false;
    case IX_MOV_CR: case IX_CLTS: case IX_LMSW:
        return false; /* the handlers call vmx_cr_access_exit() */
    case IX_MOV_DR:
        return false; /* decided in vmx_op_intercept (before the CPL check) */
    case IX_SMSW:
        ix_smsw(cpu, in);
        return true;
    case IX_IO:
        ix_io(cpu, in);
        return false;
    case IX_RDMSR:
        return ix_msr(cpu, in, false);
    case IX_WRMSR:
        return ix_msr(cpu, in, true);
    default: /* IX_XSAVES / IX_XRSTORS: no such rows in the engine */
        return false;
    }
}

/* RDTSC/RDTSCP while the VMX-preemption timer runs: the TSC is read once;
 * if it has passed the timer's deadline the timer exit belongs to this
 * instruction boundary (25.5.1: L2 never observes a TSC value at or after
 * the expiry), else the instruction completes with that same value, so no
 * later TSC can slip in between the decision and the read.  Returns true if
 * the instruction was handled. */
static bool rdtsc_with_timer(struct cpu *cpu, const struct insn *in, unsigned cls)
{
    uint64_t tsc = cpu_read_tsc(cpu);
    if (tsc - vmx_tsc_offset(cpu) >= cpu->vmx->preempt_deadline_tsc)
        ix_exit(cpu, EXIT_REASON_PREEMPTION_TIMER, 0);
    ud_checks(cpu, cls);                 /* RDTSCP without "enable RDTSCP" */
    if (insn_intercept(cpu, in, cls))    /* CR4.TSD #GP, RDTSC exiting */
        return true;
    reg_set(cpu, R_AX, 4, (uint32_t)tsc);
    reg_set(cpu, R_DX, 4, tsc >> 32);
    if (cls == IX_RDTSCP)
        reg_set(cpu, R_CX, 4, (uint32_t)cpu->tsc_aux);
    return true;
}

void vmx_op_intercept(struct cpu *cpu, const struct insn *in)
{
    const struct op_row *row = &op_rows[in->row];
    unsigned cls = F_EXIT(row->flags);
    /* exec.c installs this gate instead of its F_PRIV check */
    bool priv_fault = (row->flags & F_PRIV) && cpu->cpl != 0;
    if (unlikely(!cpu->vmx)) {
        if (priv_fault)
            cpu_gp0(cpu);
        row->fn(cpu, in);
        return;
    }
    /* MOV DR exits take priority over the CPL check and the CR4.DE #UD
     * (SDM 25.1.3); every other privilege fault comes first (25.1.1). */
    cpu->vmx->ix.linear_valid = false; /* no stale linear address in EPT exits */
    if (unlikely(cls == IX_RDTSC || cls == IX_RDTSCP) && (ix_pin(cpu) & VMX_PIN_PREEMPT_TIMER) &&
        rdtsc_with_timer(cpu, in, cls))
        return;
    ud_checks(cpu, cls);
    if (cls == IX_MOV_DR)
        ix_mov_dr(cpu, in);
    if (priv_fault)
        cpu_gp0(cpu);
    if (!insn_intercept(cpu, in, cls))
        row->fn(cpu, in);
}

bool vmx_mtf_active(const struct cpu *cpu)
{
    return cpu->vmx && (ix_proc(cpu) & VMX_PROC_MTF);
}

/* ---------- events (SDM 25.2) ---------- */

/* A #DB that VM-exits reports in the qualification what it would have put
 * in DR6 — B0-B3, BD, BS (27.2.1) — and leaves DR6 and DR7.GD alone (27.1).
 * The engine's two sources of #DB (single-step trap, general detect) ask
 * vmx_debug_exception() before touching DR6; any other path falls back on
 * reporting the DR6 bits already set. */
#define DR6_EXIT_BITS 0x600full
#define DR6_BS (1u << 14)
#define PEND_DBG_ENABLED_BP (1u << 12)

/* An MTF VM exit is pending on this instruction boundary (25.5.2): an
 * injected or post-delivery one, or MTF = 1 and an L2 instruction retired
 * since VM entry. */
static bool mtf_exit_pending(const struct cpu *cpu)
{
    const struct vmx *v = cpu->vmx;
    return v->mtf_pending || ((ix_proc(cpu) & VMX_PROC_MTF) && cpu->icount != v->ix.mtf_icount);
}

/* Deliver a debug trap with these DR6 bits to L2 now, at an instruction
 * boundary: a VM exit if the exception bitmap says so (DR6 untouched, the
 * bits in the qualification, 27.1), else DR6 is updated and #DB delivered
 * through L2's IDT.  Used for pending debug exceptions (26.7.3). */
static void deliver_debug_trap(struct cpu *cpu, uint32_t bits)
{
    if (vmx_exception_exits(&cpu->vmx->vmcs, EXC_DB, NO_ERR)) {
        struct vmx_exit_info ei = {
            .reason = EXIT_REASON_EXCEPTION_NMI,
            .qual = bits & DR6_EXIT_BITS,
            .intr_info = vmx_event_info(cpu, EXC_DB, EV_KIND_EXC),
        };
        vmx_exit_at_boundary(cpu, &ei);
        return;
    }
    cpu->dr[6] |= bits & DR6_EXIT_BITS;
    cpu->state = CPU_RUNNING;
    cpu->next_rip = cpu->rip;
    cpu_deliver(cpu, EXC_DB, EV_KIND_EXC, NO_ERR);
}

uint64_t vmx_debug_exception(struct cpu *cpu, uint64_t dr6_bits)
{
    struct vmx *v = cpu->vmx;
    if (!v)
        return dr6_bits;
    if (dr6_bits & DR6_BS) {
        /* A single-step trap after an instruction: debug exceptions still
         * pending from VM entry (MOV-SS blocking) join it (26.7.3).  The
         * trap-like TPR-below-threshold exit and an MTF exit take priority
         * over debug traps (26.7.7, 25.5.2); the trap is then saved in the
         * pending-debug-exceptions field instead (27.3.4). */
        uint32_t bits = (uint32_t)dr6_bits | (v->pending_dbg & (0xfu | DR6_BS));
        v->pending_dbg = 0;
        if (v->ix.tpr_below || mtf_exit_pending(cpu)) {
            struct vmx_exit_info ei = { .reason = v->ix.tpr_below
                                                      ? EXIT_REASON_TPR_BELOW_THRESHOLD
                                                      : EXIT_REASON_MONITOR_TRAP_FLAG };
            v->ix.tpr_below = false;
            v->pending_dbg = (bits & (0xfu | DR6_BS)) | ((bits & 0xf) ? PEND_DBG_ENABLED_BP : 0);
            vmx_vmexit(cpu, &ei);
        }
        dr6_bits = bits;
    }
    if (!vmx_exception_exits(&v->vmcs, EXC_DB, NO_ERR))
        return dr6_bits;
    struct vmx_exit_info ei = {
        .reason = EXIT_REASON_EXCEPTION_NMI,
        .qual = dr6_bits & DR6_EXIT_BITS,
        .intr_info = vmx_event_info(cpu, EXC_DB, EV_KIND_EXC),
    };
    vmx_vmexit(cpu, &ei);
}

bool vmx_event_exit(struct cpu *cpu, int vector, enum event_kind kind, uint32_t error)
{
    struct vmx *v = cpu->vmx;
    if (!v)
        return false;
    if (vector < 0) /* triple fault: always a VM exit */
        ix_exit(cpu, EXIT_REASON_TRIPLE_FAULT, 0);
    if (vmx_event_injected(cpu))
        return false; /* VM entry's own injection (26.6.1) */
    v->pending_dbg = 0; /* debug traps pending across MOV SS are lost on an event */
    bool exits = false;
    switch (kind) {
    case EV_KIND_NMI:
        exits = ix_pin(cpu) & VMX_PIN_NMI;
        break;
    case EV_KIND_EXC:       /* hardware exceptions, incl. #DF */
    case EV_KIND_SOFT_EXC:  /* INT3, INTO */
    case EV_KIND_PRIV_SOFT: /* INT1 */
        exits = vmx_exception_exits(&v->vmcs, vector, error);
        break;
    default: /* INT n never exits; external interrupts: vmx_intr_exits() */
        break;
    }
    if (!exits) {
        vmx_note_delivery(cpu, vector, kind, error);
        if (kind == EV_KIND_EXC && (ix_proc(cpu) & VMX_PROC_MTF)) {
            /* MTF exit after the delivery of a fault (25.5.2) */
            v->mtf_pending = true;
            atomic_fetch_or(&cpu->events, EV_VMX);
        }
        return false;
    }
    struct vmx_exit_info ei = { .reason = EXIT_REASON_EXCEPTION_NMI };
    ei.intr_info = vmx_event_info(cpu, vector, kind);
    if (ei.intr_info & VMX_INTR_ERR_VALID)
        ei.intr_error = error == NO_ERR ? 0 : error;
    if (kind == EV_KIND_SOFT_EXC || kind == EV_KIND_PRIV_SOFT)
        ei.insn_len = (uint32_t)(cpu->next_rip - cpu->rip);
    if (kind == EV_KIND_EXC && vector == EXC_PF) {
        /* the faulting linear address; CR2 is not written (27.1) */
        ei.qual = cpu->cr2;
        cpu->cr2 = v->ix.cr2_before;
    } else if (kind == EV_KIND_EXC && vector == EXC_DB) {
        ei.qual = cpu->dr[6] & DR6_EXIT_BITS;
    }
    vmx_trace(cpu, "exception/NMI exit: vector %d kind %d error %#x", vector, (int)kind, error);
    vmx_vmexit(cpu, &ei);
}

bool vmx_intr_exits(struct cpu *cpu)
{
    if (!cpu->vmx || !cpu->nonroot || !(ix_pin(cpu) & VMX_PIN_EXT_INTR))
        return false;
    struct vmx_exit_info ei = { .reason = EXIT_REASON_EXTERNAL_INTERRUPT };
    if (ix_field(cpu, VMCS_VM_EXIT_CONTROLS) & VMX_EXITCTL_ACK_INTR) {
        /* "acknowledge interrupt on exit": the vector goes to L1 (27.2.2) */
        int vec = cpu->hooks && cpu->hooks->intr_vector ? cpu->hooks->intr_vector(cpu, true) : -1;
        if (vec < 0)
            return false; /* it went away: nothing to exit for */
        if (vmx_posted_intr(cpu, vec))
            return true; /* posted-interrupt processing instead of the exit (29.6) */
        ei.intr_info = VMX_INTR_VALID | (VMX_INTR_TYPE_EXT << 8) | (uint32_t)(vec & 0xff);
    }
    vmx_exit_at_boundary(cpu, &ei);
    return true;
}

bool vmx_init_signal_exit(struct cpu *cpu)
{
    if (!cpu->vmx)
        return false;
    struct vmx_exit_info ei = { .reason = EXIT_REASON_INIT_SIGNAL };
    vmx_exit_at_boundary(cpu, &ei);
    return true;
}

bool vmx_sipi_exit(struct cpu *cpu, uint32_t vector)
{
    if (!cpu->vmx)
        return false;
    if (cpu->state != CPU_WAIT_SIPI)
        return true; /* a SIPI outside wait-for-SIPI is ignored (25.2) */
    struct vmx_exit_info ei = { .reason = EXIT_REASON_SIPI_SIGNAL, .qual = vector & 0xff };
    vmx_exit_at_boundary(cpu, &ei);
    return true;
}

/* ---------- instruction boundaries ---------- */

/* Blocking by STI or MOV SS for the next instruction (24.4.2). */
static bool shadowed(const struct cpu *cpu)
{
    return cpu->intr_shadow != 0;
}

/* A pending external interrupt that must exit although L2 has RFLAGS.IF = 0
 * (with "external-interrupt exiting", IF does not block it, 25.3); the loop
 * itself asks vmx_intr_exits() only when IF = 1. */
static bool ext_intr_pending(struct cpu *cpu)
{
    return (atomic_load(&cpu->events) & EV_IRQ) && !shadowed(cpu) && cpu->hooks &&
           cpu->hooks->intr_vector && cpu->hooks->intr_vector(cpu, false) >= 0;
}

/* The VMX-preemption timer has counted down to 0 (25.5.1).  Reading the
 * clock costs more than a short block, so a running L2 looks only every
 * TIMER_POLL boundaries (a few hundred instructions at most: far below the
 * timer's granularity of 2^VMX_PREEMPT_TIMER_RATE TSC ticks times the
 * values L1 programs); a halted L2 looks every time it wakes. */
#define TIMER_POLL 16u

static bool timer_expired(struct cpu *cpu)
{
    struct vmx_ix *x = &cpu->vmx->ix;
    if (cpu->state == CPU_RUNNING && x->timer_skip) {
        x->timer_skip--;
        return false;
    }
    x->timer_skip = TIMER_POLL - 1;
    return vmx_l1_tsc(cpu) >= cpu->vmx->preempt_deadline_tsc;
}

/* Priority among these (SDM 25.2, 25.5.2, 26.6.5, 6.9): the trap-like
 * TPR-below-threshold exit of the previous instruction, MTF, the
 * VMX-preemption timer, an NMI, the NMI window, the interrupt window (which
 * comes before external interrupts), an external interrupt.  Exclusive
 * conditions (IF = 0 / IF = 1) keep the last two in that order although
 * the interrupt test with IF = 1 is the loop's own, after this. */
bool vmx_block_boundary(struct cpu *cpu)
{
    struct vmx *v = cpu->vmx;
    if (!v || !cpu->nonroot) {
        atomic_fetch_and(&cpu->events, ~EV_VMX);
        return false;
    }
    if (cpu->hooks && cpu->hooks->service) {
        /* Let the interrupt controller post what arrived (EV_IRQ / EV_NMI)
         * before deciding, so that an interrupt pending at VM entry exits
         * before the first L2 instruction; INIT and SIPI exit right there. */
        cpu->hooks->service(cpu);
        if (!cpu->nonroot)
            return true;
    }
    uint32_t pin = ix_pin(cpu), proc = ix_proc(cpu);
    /* wait-for-SIPI blocks everything but the timer (24.4.2, 25.2) */
    bool active = cpu->state == CPU_RUNNING || cpu->state == CPU_HALTED;
    struct vmx_exit_info ei = { .reason = EXIT_REASON_MAX };
    if (apic_write_emulation(cpu, &ei)) {
        /* trap-like APIC-write / EOI-induced exit after the previous
         * instruction; APIC-write emulation is not blocked by IF, STI or
         * MOV SS and comes before everything below (29.4.3.2) */
    } else if (v->ix.tpr_below) {
        v->ix.tpr_below = false;
        ei.reason = EXIT_REASON_TPR_BELOW_THRESHOLD;
    } else if (active && mtf_exit_pending(cpu)) {
        /* mtf_pending: VM entry injected the pending-MTF "other event"
         * (26.6.2), or a fault was delivered with MTF = 1 (25.5.2) */
        v->mtf_pending = false;
        ei.reason = EXIT_REASON_MONITOR_TRAP_FLAG;
    } else if (active && v->pending_dbg && !(cpu->intr_shadow & 2)) {
        /* pending debug exceptions from VM entry: priority of traps on the
         * previous instruction, below MTF, above the timer (26.7.3) */
        uint32_t bits = v->pending_dbg & (0xfu | DR6_BS);
        v->pending_dbg = 0;
        vmx_trace(cpu, "pending debug exceptions %#x delivered", bits);
        deliver_debug_trap(cpu, bits);
        /* delivered (or exited): the next boundary is before the handler's
         * first instruction, where lower-priority exits (timer, MTF after
         * the delivery, windows) are due — decide them now */
        if (cpu->nonroot)
            vmx_block_boundary(cpu);
        return true;
    } else if ((pin & VMX_PIN_PREEMPT_TIMER) && timer_expired(cpu)) {
        ei.reason = EXIT_REASON_PREEMPTION_TIMER;
    } else if (!active) {
        /* nothing else leaves wait-for-SIPI / shutdown */
    } else if ((pin & VMX_PIN_VIRTUAL_NMI) && cpu->nmi_blocked && !(cpu->intr_shadow & 2) &&
               (atomic_load(&cpu->events) & EV_NMI)) {
        /* With "virtual NMIs", cpu->nmi_blocked is L2's virtual-NMI
         * blocking, which does not hold back real NMIs: they exit (the
         * loop only delivers NMIs while nmi_blocked is clear). */
        atomic_fetch_and(&cpu->events, ~EV_NMI);
        ei.reason = EXIT_REASON_EXCEPTION_NMI;
        ei.intr_info = VMX_INTR_VALID | (VMX_INTR_TYPE_NMI << 8) | EXC_NMI;
    } else if ((proc & VMX_PROC_NMI_WINDOW) && !cpu->nmi_blocked && !(cpu->intr_shadow & 2)) {
        ei.reason = EXIT_REASON_NMI_WINDOW;
    } else if ((pin & VMX_PIN_EXT_INTR) && !(cpu->rflags & FL_IF) && ext_intr_pending(cpu)) {
        if (vmx_intr_exits(cpu))
            return true;
    } else if ((proc & VMX_PROC_INTR_WINDOW) && (cpu->rflags & FL_IF) && !shadowed(cpu)) {
        ei.reason = EXIT_REASON_INTERRUPT_WINDOW;
    } else if (v->ix.vintr && apicv_deliver(cpu)) {
        /* virtual-interrupt delivery, at the interrupt window's priority
         * (29.2.2): through L2's IDT, no VM exit */
        return true;
    }
    if (ei.reason == EXIT_REASON_MAX) {
        vmx_update_events(cpu);
        return false;
    }
    vmx_trace(cpu, "boundary exit %u", ei.reason);
    vmx_exit_at_boundary(cpu, &ei);
    return true;
}
