/*
 * vmx_entry.c — VM entry (SDM Vol.3 chapter 26) after VMLAUNCH/VMRESUME's
 * own checks (vmx_insn.c), in the SDM's order:
 *
 *   26.2    checks on the controls and the host-state area: a failure is
 *           VMfailValid(7) or VMfailValid(8) and the instruction completes;
 *   26.3.1  checks on the guest-state area: a failure is a VM-entry
 *           failure — exit reason 33 with bit 31 set, host state loaded as
 *           on a VM exit (26.8, vmx_exit.c), no VMfail;
 *   26.3.2  load the guest state: control/debug registers, MSRs, segment
 *           registers (the engine keeps AR in the VMCS layout, so
 *           cpu_set_seg() takes them as they are), descriptor tables,
 *           RSP/RIP/RFLAGS, PDPTEs, interruptibility and activity state;
 *   26.4    the VM-entry MSR-load area: a bad entry is a VM-entry failure
 *           with reason 34 and the entry's 1-based index as qualification;
 *   then    VMX non-root operation (cpu->nonroot = 1), timers/windows
 *           armed through EV_VMX, and event injection (26.6) through L2's
 *           IDT with cpu_deliver().
 *
 * Event injection happens last because its delivery may fault or VM-exit
 * (unwinding out of here): everything else is committed by then.
 */
#include <stdatomic.h>

#include "cpu/exec.h"
#include "cpu/mem.h"
#include "cpu/msr.h"
#include "vmx/vmx_check.h"

#define G(f) vmcs_get(c, VMCS_##f)

/* CR0 bits VM entry leaves alone (SDM 26.3.2.1). */
#define CR0_KEPT_ON_ENTRY (CR0_ET | CR0_NW | CR0_CD | 0x1ff80000ull | (1ull << 17) | 0xffc0ull)

/* ---------------- 26.3.2 loading guest state ---------------- */

static void load_guest_segments(struct cpu *cpu, const struct vmcs *c)
{
    for (int s = SEG_ES; s <= SEG_GS; s++) {
        uint64_t base = vmcs_get(c, vmx_gseg_base(s));
        uint32_t ar = (uint32_t)vmcs_get(c, vmx_gseg_ar(s)) & 0x1f0ffu;
        if (s == SEG_CS)
            ar &= ~AR_UNUSABLE; /* CS is never left unusable by the engine */
        else if ((ar & AR_UNUSABLE) && s != SEG_FS && s != SEG_GS)
            base = (uint32_t)base; /* SS/DS/ES: bits 63:32 cleared (26.3.2.2) */
        cpu_set_seg(cpu, s, (uint16_t)vmcs_get(c, vmx_gseg_sel(s)), base,
                    (uint32_t)vmcs_get(c, vmx_gseg_limit(s)), ar);
    }
    uint32_t ldtr_ar = (uint32_t)G(GUEST_LDTR_AR_BYTES) & 0x1f0ffu;
    cpu->ldtr = (struct seg){ .sel = (uint16_t)G(GUEST_LDTR_SELECTOR),
                              .base = (ldtr_ar & AR_UNUSABLE) ? 0 : G(GUEST_LDTR_BASE),
                              .limit = (uint32_t)G(GUEST_LDTR_LIMIT),
                              .ar = ldtr_ar };
    cpu->tr = (struct seg){ .sel = (uint16_t)G(GUEST_TR_SELECTOR),
                            .base = G(GUEST_TR_BASE),
                            .limit = (uint32_t)G(GUEST_TR_LIMIT),
                            .ar = (uint32_t)G(GUEST_TR_AR_BYTES) & 0x1f0ffu };
    cpu->gdtr = (struct dtr){ .base = G(GUEST_GDTR_BASE), .limit = (uint32_t)G(GUEST_GDTR_LIMIT) };
    cpu->idtr = (struct dtr){ .base = G(GUEST_IDTR_BASE), .limit = (uint32_t)G(GUEST_IDTR_LIMIT) };
}

/* 26.3.2.4 / 26.7.1: interruptibility, NMI blocking and activity state. */
static void load_guest_nonregister_state(struct cpu *cpu, const struct vmcs *c,
                                         const struct vmx_ctls *k)
{
    uint32_t intr = (uint32_t)G(GUEST_INTERRUPTIBILITY_INFO);
    cpu->intr_shadow = (uint8_t)(intr & 3); /* 1 STI, 2 MOV SS: the engine's format */
    cpu->intr_shadow_rip = cpu->rip;
    /* Bit 3 is blocking by NMI, or virtual-NMI blocking with "virtual
     * NMIs" (26.7.1).  While non-root cpu->nmi_blocked holds either kind,
     * so L2's IRET clears it (contract with vmx_intercept.c, vmx.h). */
    cpu->nmi_blocked = (intr & 8) != 0;
    switch (G(GUEST_ACTIVITY_STATE)) {
    case 1: cpu->state = CPU_HALTED; break;
    case 3: cpu->state = CPU_WAIT_SIPI; break;
    default: cpu->state = CPU_RUNNING; break;
    }
    cpu->in_event = 0;
}

static void load_guest_state(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    bool ia32e = k->entry & VMX_ENTRYCTL_IA32E_GUEST;
    /* CR0 from the guest field except ET, NW, CD and the reserved bits
     * 28:19, 17, 15:6, which VM entry never modifies (26.3.2.1); the
     * guest/host masks and read shadows only matter for later accesses. */
    cpu->cr0 = (G(GUEST_CR0) & ~CR0_KEPT_ON_ENTRY) | (cpu->cr0 & CR0_KEPT_ON_ENTRY) | CR0_ET;
    cpu->cr3 = G(GUEST_CR3);
    cpu->cr4 = G(GUEST_CR4);
    if (k->entry & VMX_ENTRYCTL_LOAD_DEBUG) {
        cpu->dr[7] = G(GUEST_DR7) | 0x400;
        cpu->debugctl = G(GUEST_IA32_DEBUGCTL) & ~DEBUGCTL_ACCEPTED_IGNORED; /* as WRMSR */
    }
    cpu->sysenter_cs = G(GUEST_SYSENTER_CS);
    cpu->sysenter_esp = G(GUEST_SYSENTER_ESP);
    cpu->sysenter_eip = G(GUEST_SYSENTER_EIP);
    if (k->entry & VMX_ENTRYCTL_LOAD_EFER)
        cpu->efer = G(GUEST_IA32_EFER);
    else /* LMA and LME follow "IA-32e mode guest" (26.3.2.1) */
        cpu->efer = (cpu->efer & ~(EFER_LMA | EFER_LME)) | (ia32e ? EFER_LMA | EFER_LME : 0);
    if (k->entry & VMX_ENTRYCTL_LOAD_PAT)
        cpu->pat = G(GUEST_IA32_PAT);
    /* SMBASE is not loaded outside SMM; PERF_GLOBAL_CTRL is not modelled. */

    load_guest_segments(cpu, c);
    cpu->r[R_SP] = G(GUEST_RSP);
    cpu->rip = cpu->next_rip = G(GUEST_RIP);
    cpu_set_rflags(cpu, G(GUEST_RFLAGS));

    /* PDPTEs for PAE paging: from the VMCS with EPT, else from guest CR3
     * (the guest-state checks read and validated them, 26.3.1.6). */
    if (vmx_guest_pae_paging(c, k)) {
        if (k->proc2 & VMX_PROC2_EPT) {
            for (int i = 0; i < 4; i++)
                cpu->pdpte[i] = vmcs_get(c, (enum vmcs_field)(VMCS_GUEST_PDPTE0 + i));
        } else if (!vmx_read_pdptes(cpu, cpu->cr3, cpu->pdpte)) {
            memset(cpu->pdpte, 0, sizeof(cpu->pdpte));
        }
    }
    load_guest_nonregister_state(cpu, c, k);
}

/* ---------------- timers, windows, MTF: EV_VMX ---------------- */

/* Pending debug exceptions after VM entry (26.7.3).  They are ignored when
 * the entry injects a vectored event (the software-interrupt/-exception
 * after MOV SS refinement is not modelled: they are dropped then too) or
 * the activity state is shutdown or wait-for-SIPI; they are valid only if
 * BS (bit 14) or "enabled breakpoint" (bit 12) is set.  Valid ones are
 * delivered before the first L2 instruction, or with blocking by MOV SS
 * after it (merged with its own debug traps) — vmx_intercept.c. */
#define PEND_DBG_ENABLED_BP (1u << 12)
#define PEND_DBG_BS (1u << 14)

static uint32_t entry_pending_dbg(struct cpu *cpu, const struct vmcs *c, uint32_t info)
{
    uint32_t pend = (uint32_t)G(GUEST_PENDING_DBG_EXCEPTIONS) & (0xfu | PEND_DBG_ENABLED_BP |
                                                                 PEND_DBG_BS);
    bool vectoring = (info & VMX_INTR_VALID) && VMX_INTR_TYPE(info) != VMX_INTR_TYPE_OTHER;
    if (vectoring || (cpu->state != CPU_RUNNING && cpu->state != CPU_HALTED))
        return 0;
    return (pend & (PEND_DBG_ENABLED_BP | PEND_DBG_BS)) ? pend : 0;
}

/* The VMX-preemption timer counts down from its VMCS value once every
 * 2^VMX_PREEMPT_TIMER_RATE ticks of L1's TSC (26.7.4, IA32_VMX_MISC 4:0);
 * the deadline is in vmx_l1_tsc() units (contract with vmx_intercept.c).
 * An injected "other event" 0 makes an MTF exit pending (26.6.2).  Then
 * vmx_intercept_entry() sets EV_VMX for whatever must be watched at block
 * boundaries. */
static void arm_vmx_events(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    struct vmx *v = cpu->vmx;
    v->preempt_deadline_tsc = 0;
    if (k->pin & VMX_PIN_PREEMPT_TIMER) {
        /* it counts down each time TSC bit VMX_PREEMPT_TIMER_RATE changes
         * (25.5.1): the first decrement is at the next multiple of 2^rate */
        uint64_t deadline = ((vmx_l1_tsc(cpu) >> VMX_PREEMPT_TIMER_RATE) +
                             G(VMX_PREEMPTION_TIMER_VALUE)) << VMX_PREEMPT_TIMER_RATE;
        v->preempt_deadline_tsc = deadline ? deadline : 1;
    }
    uint32_t info = (uint32_t)G(VM_ENTRY_INTR_INFO_FIELD);
    v->mtf_pending = (info & VMX_INTR_VALID) && VMX_INTR_TYPE(info) == VMX_INTR_TYPE_OTHER;
    v->pending_dbg = entry_pending_dbg(cpu, c, info);
    vmx_intercept_entry(cpu);
}

/* ---------------- 26.6 event injection ---------------- */

static int type_to_kind(unsigned type)
{
    switch (type) {
    case VMX_INTR_TYPE_EXT: return EV_KIND_EXT;
    case VMX_INTR_TYPE_NMI: return EV_KIND_NMI;
    case VMX_INTR_TYPE_SOFT_INT: return EV_KIND_SOFT_INT;
    case VMX_INTR_TYPE_PRIV_SOFT: return EV_KIND_PRIV_SOFT;
    case VMX_INTR_TYPE_SOFT_EXC: return EV_KIND_SOFT_EXC;
    default: return EV_KIND_EXC;
    }
}

/* Deliver the event of the VM-entry interruption-information field through
 * L2's IDT in L2's context (26.6.1).  Software events return to RIP + the
 * VM-entry instruction length.  The delivery may fault (handled by the loop
 * in non-root operation, where the exception bitmap applies and the event
 * appears as IDT-vectoring information) or VM-exit. */
static void inject_event(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    struct vmx *v = cpu->vmx;
    uint32_t info = (uint32_t)G(VM_ENTRY_INTR_INFO_FIELD);
    unsigned type = VMX_INTR_TYPE(info);
    if (!(info & VMX_INTR_VALID) || type == VMX_INTR_TYPE_OTHER)
        return; /* "other event" 0 is the pending MTF exit armed above */
    int kind = type_to_kind(type);
    bool soft = kind == EV_KIND_SOFT_INT || kind == EV_KIND_SOFT_EXC || kind == EV_KIND_PRIV_SOFT;
    uint32_t len = soft ? (uint32_t)G(VM_ENTRY_INSTRUCTION_LEN) : 0;
    uint32_t error = (info & VMX_INTR_ERR_VALID) ? (uint32_t)G(VM_ENTRY_EXCEPTION_ERROR_CODE)
                                                 : NO_ERR;
    cpu->next_rip = cpu->rip + len;
    v->vec_info = info & (VMX_INTR_VALID | VMX_INTR_ERR_VALID | 0x7ffu);
    v->vec_error = error == NO_ERR ? 0 : error;
    v->vec_len = len;
    v->injecting = true;
    cpu->in_event = 0;
    vmx_trace(cpu, "inject type=%u vector=%u error=%#x len=%u", type, VMX_INTR_VECTOR(info),
              (unsigned)v->vec_error, (unsigned)len);
    cpu_deliver(cpu, VMX_INTR_VECTOR(info), (enum event_kind)kind, error);
    v->injecting = false;
    if (!cpu->nonroot)
        return; /* the delivery ended in a VM exit */
    v->vec_info = 0;
    /* An injected NMI blocks NMIs, or virtual NMIs with "virtual NMIs"
     * (26.6.1.2): cpu_deliver() has set cpu->nmi_blocked. */
    vmx_intercept_entry(cpu); /* after the injection, as vmx_intercept.c asks */
}

/* ---------------- VM entry ---------------- */

void vmx_vmentry(struct cpu *cpu, bool launch)
{
    struct vmx *v = cpu->vmx;
    const struct vmcs *c = &v->vmcs;
    if (!vmx_check_controls(cpu)) {
        v->stats.entry_failures++;
        vmx_trace(cpu, "vmentry: invalid control field: %s", v->stats.last_failed_check);
        vmx_fail_valid(cpu, VMXERR_ENTRY_INVALID_CONTROL);
        return;
    }
    if (!vmx_check_host_state(cpu)) {
        v->stats.entry_failures++;
        vmx_trace(cpu, "vmentry: invalid host-state field: %s", v->stats.last_failed_check);
        vmx_fail_valid(cpu, VMXERR_ENTRY_INVALID_HOST_STATE);
        return;
    }
    uint64_t qual = 0;
    if (!vmx_check_guest_state(cpu, &qual)) {
        vmx_exit_entry_failure(cpu, EXIT_REASON_INVALID_STATE, qual);
        return;
    }

    struct vmx_ctls k;
    vmx_ctls_get(c, &k);
    uint8_t l1_nmi_blocked = cpu->nmi_blocked;
    load_guest_state(cpu, c, &k);
    uint32_t bad = vmx_msr_load_list(cpu, G(VM_ENTRY_MSR_LOAD_ADDR), G(VM_ENTRY_MSR_LOAD_COUNT));
    if (bad) {
        /* 26.8 step 3: NMI blocking is what it was before the VM entry */
        cpu->nmi_blocked = l1_nmi_blocked;
        vmx_exit_entry_failure(cpu, EXIT_REASON_MSR_LOAD_FAIL, bad);
        return;
    }

    if (launch)
        v->current_launched = true;
    cpu->nonroot = 1;
    cpu_update_mode(cpu);
    tlb_flush_all(cpu);
    /* Armed before the injection too: its delivery may unwind (fault or
     * VM exit) and L2 must not run unwatched then. */
    arm_vmx_events(cpu, c, &k);
    v->stats.entries++;
    vmx_trace(cpu, "vmentry %s rip=%#llx rsp=%#llx cr0=%#llx cr3=%#llx efer=%#llx",
              launch ? "launch" : "resume", (unsigned long long)cpu->rip,
              (unsigned long long)cpu->r[R_SP], (unsigned long long)cpu->cr0,
              (unsigned long long)cpu->cr3, (unsigned long long)cpu->efer);
    inject_event(cpu, c, &k);
}
