/*
 * vmx_exit.c — VM exits (SDM Vol.3 chapter 27) and the VM-entry failures
 * that load host state (26.8).
 *
 * A VM exit, in the SDM's order:
 *   27.2  record the exit-information fields (reason, qualification,
 *         guest-linear/physical address, interruption and IDT-vectoring
 *         information, instruction length and VMX-instruction information);
 *   27.3  save L2's state into the guest-state area;
 *   27.4  store MSRs into the VM-exit MSR-store area;
 *   27.5  load L1's state from the host-state area (CR0/CR3/CR4, DR7,
 *         MSRs, segment registers with the fixed descriptor caches of
 *         27.5.2, GDTR/IDTR, RIP/RSP/RFLAGS, PDPTEs, non-register state);
 *   27.6  load MSRs from the VM-exit MSR-load area; a failure is a VMX
 *         abort (27.7): abort indicator in the VMCS region, shutdown.
 * Then the CPU is in VMX root operation (cpu->nonroot = 0).
 *
 * Entry points: vmx_exit_at_boundary() returns (callers already at an
 * instruction boundary or inside event delivery); vmx_vmexit() unwinds the
 * current instruction with cpu_fault(VEC_VMEXIT) so the loop continues in
 * L1; vmx_exit_insn() adds instruction length and VMX-instruction
 * information for instruction-caused exits.
 *
 * IDT-vectoring information (27.2.4): cpu->in_event tells whether an event
 * delivery was under way; the event itself is the one VM entry injected or
 * the one vmx_event_exit() let through (vmx_note_delivery(), vmx.h).
 */
#include <stdatomic.h>

#include "cpu/exec.h"
#include "cpu/mem.h"
#include "cpu/msr.h"
#include "vmx/vmx_check.h"

#define G(f) vmcs_get(c, VMCS_##f)

/* VMX-abort indicators (SDM 27.7). */
#define VMX_ABORT_SAVE_MSR 1u
#define VMX_ABORT_HOST_PDPTE 2u
#define VMX_ABORT_LOAD_MSR 4u

/* MSRs that no VMX MSR list may load or store (SDM 26.4, 27.4, 27.6). */
#define MSR_IA32_BIOS_UPDT_TRIG 0x79u  /* microcode update: model-specific */
#define MSR_IA32_SMM_MONITOR_CTL 0x9bu /* writable only in SMM */
#define MSR_IA32_SMBASE 0x9eu          /* cannot be stored */

static uint32_t kind_to_type(int kind)
{
    switch (kind) {
    case EV_KIND_EXT: return VMX_INTR_TYPE_EXT;
    case EV_KIND_NMI: return VMX_INTR_TYPE_NMI;
    case EV_KIND_SOFT_INT: return VMX_INTR_TYPE_SOFT_INT;
    case EV_KIND_SOFT_EXC: return VMX_INTR_TYPE_SOFT_EXC;
    case EV_KIND_PRIV_SOFT: return VMX_INTR_TYPE_PRIV_SOFT;
    default: return VMX_INTR_TYPE_HW_EXC;
    }
}

uint32_t vmx_event_info(const struct cpu *cpu, int vector, int kind)
{
    unsigned vec = (unsigned)vector & 0xff;
    uint32_t info = VMX_INTR_VALID | kind_to_type(kind) << 8 | vec;
    if (kind == EV_KIND_EXC && vmx_exc_has_error(vec) && (cpu->cr0 & CR0_PE))
        info |= VMX_INTR_ERR_VALID;
    return info;
}

bool vmx_event_injected(struct cpu *cpu)
{
    struct vmx *v = cpu->vmx;
    if (!v)
        return false;
    bool injected = v->injecting && !cpu->in_event;
    v->injecting = false;
    return injected;
}

void vmx_note_delivery(struct cpu *cpu, int vector, int kind, uint32_t error)
{
    struct vmx *v = cpu->vmx;
    if (!v)
        return;
    bool soft = kind == EV_KIND_SOFT_INT || kind == EV_KIND_SOFT_EXC || kind == EV_KIND_PRIV_SOFT;
    v->vec_info = vmx_event_info(cpu, vector, kind);
    v->vec_error = error == NO_ERR ? 0 : error;
    v->vec_len = soft ? (uint32_t)(cpu->next_rip - cpu->rip) : 0;
}

/* ---------------- 27.2.5 VMX-instruction information ---------------- */

static uint32_t size_code(unsigned bytes)
{
    return bytes == 2 ? 0 : bytes == 4 ? 1 : 2;
}

/*
 * One encoding serves every instruction format of SDM 27.2.5 (Tables 27-9
 * to 27-15): scaling 1:0, reg1 6:3 (register operand), address size 9:7,
 * mem/reg 10, operand size 12:11, segment 17:15, index 21:18 + invalid 22,
 * base 26:23 + invalid 27, reg2 / instruction identity 31:28 (ModRM.reg,
 * which is also the identity of SGDT..LIDT and SLDT..LTR).  Bits a format
 * leaves undefined carry whatever the common layout puts there.
 */
uint32_t vmx_insn_info(const struct cpu *cpu, const struct insn *in)
{
    uint32_t info = size_code(in->osz) << 11 | (uint32_t)(in->reg & 15) << 28;
    if (in->mod == 3)
        return info | (uint32_t)(in->rm & 15) << 3 | 1u << 10;
    info |= size_code(in->asz) << 7 | (uint32_t)(in->seg & 7) << 15;
    if (in->index == EA_NONE)
        info |= 1u << 22;
    else
        info |= (in->scale & 3u) | (uint32_t)(in->index & 15) << 18;
    if (in->base == EA_NONE || in->base == EA_RIP)
        info |= 1u << 27;
    else
        info |= (uint32_t)(in->base & 15) << 23;
    return info;
}

/* Exits that define VMX_INSTRUCTION_INFO (27.2.5); INS/OUTS report only the
 * address size and segment (IA32_VMX_BASIC bit 54). */
static uint32_t insn_info_for(const struct cpu *cpu, const struct insn *in, uint32_t reason)
{
    switch (reason) {
    case EXIT_REASON_IO_INSTRUCTION:
        if (in->opc >= 0x6c && in->opc <= 0x6f)
            return size_code(in->asz) << 7 | (uint32_t)(in->seg & 7) << 15;
        return 0;
    case EXIT_REASON_VMCLEAR: case EXIT_REASON_VMPTRLD: case EXIT_REASON_VMPTRST:
    case EXIT_REASON_VMREAD: case EXIT_REASON_VMWRITE: case EXIT_REASON_VMON:
    case EXIT_REASON_INVEPT: case EXIT_REASON_INVVPID: case EXIT_REASON_INVPCID:
    case EXIT_REASON_GDTR_IDTR: case EXIT_REASON_LDTR_TR: case EXIT_REASON_RDRAND:
    case EXIT_REASON_RDSEED: case EXIT_REASON_XSAVES: case EXIT_REASON_XRSTORS:
        return vmx_insn_info(cpu, in);
    default:
        return 0;
    }
}

/* ---------------- 27.2 exit-information fields ---------------- */

/* Fault-class exceptions push RF = 1 (SDM 17.3.1.1); the saved RFLAGS.RF
 * of an exit caused by, or during delivery of, such an event is the same
 * (27.3.3). */
static bool fault_class(uint32_t info)
{
    if (!(info & VMX_INTR_VALID) || VMX_INTR_TYPE(info) != VMX_INTR_TYPE_HW_EXC)
        return false;
    switch (VMX_INTR_VECTOR(info)) {
    case EXC_DB: case EXC_NMI: case EXC_BP: case EXC_OF: case EXC_DF: case EXC_MC:
        return false;
    default:
        return true;
    }
}

/* The event whose delivery the exit interrupted (27.2.4), or 0. */
static uint32_t idt_vectoring(struct cpu *cpu, uint32_t *error, uint32_t *len)
{
    struct vmx *v = cpu->vmx;
    *error = 0;
    *len = 0;
    if (!cpu->in_event)
        return 0;
    int kind = cpu->in_event - 1;
    uint32_t info = vmx_event_info(cpu, cpu->pending_vector, kind);
    if ((v->vec_info & VMX_INTR_VALID) &&
        (v->vec_info & 0x7ff) == (info & 0x7ff)) { /* vector and type */
        *error = v->vec_error;
        *len = v->vec_len;
        return v->vec_info;
    }
    return info;
}

static void record_exit_info(struct cpu *cpu, struct vmcs *c, const struct vmx_exit_info *ei,
                             uint32_t vec_info, uint32_t vec_error, uint32_t vec_len)
{
    vmcs_set(c, VMCS_VM_EXIT_REASON, ei->reason);
    vmcs_set(c, VMCS_EXIT_QUALIFICATION, ei->qual);
    vmcs_set(c, VMCS_GUEST_LINEAR_ADDRESS, ei->guest_linear);
    vmcs_set(c, VMCS_GUEST_PHYSICAL_ADDRESS, ei->guest_phys);
    vmcs_set(c, VMCS_VM_EXIT_INTR_INFO, ei->intr_info);
    vmcs_set(c, VMCS_VM_EXIT_INTR_ERROR_CODE, ei->intr_error);
    vmcs_set(c, VMCS_IDT_VECTORING_INFO_FIELD, vec_info);
    vmcs_set(c, VMCS_IDT_VECTORING_ERROR_CODE, vec_error);
    vmcs_set(c, VMCS_VM_EXIT_INSTRUCTION_LEN, ei->insn_len ? ei->insn_len : vec_len);
    vmcs_set(c, VMCS_VMX_INSTRUCTION_INFO, ei->insn_info);
    /* Every VM exit clears the valid bit of the VM-entry interruption-
     * information field (27.2.3, last paragraph). */
    vmcs_set(c, VMCS_VM_ENTRY_INTR_INFO_FIELD, G(VM_ENTRY_INTR_INFO_FIELD) & ~VMX_INTR_VALID);
}

/* ---------------- 27.3 saving guest state ---------------- */

static void save_seg(struct vmcs *c, int s, const struct seg *x)
{
    vmcs_set(c, vmx_gseg_sel(s), x->sel);
    vmcs_set(c, vmx_gseg_base(s), x->base);
    vmcs_set(c, vmx_gseg_limit(s), x->limit);
    vmcs_set(c, vmx_gseg_ar(s), x->ar & 0x1f0ffu); /* bits 31:17, 11:8 stored as 0 */
}

/* Interruptibility state (24.4.2): the engine's intr_shadow uses the same
 * bits (1 STI, 2 MOV SS) for the instruction at intr_shadow_rip. */
static uint32_t save_interruptibility(struct cpu *cpu, const struct vmx_ctls *k, uint64_t rflags)
{
    uint32_t intr = 0;
    if (cpu->intr_shadow && cpu->intr_shadow_rip == cpu->rip) {
        intr = cpu->intr_shadow & 3;
        if (intr == 3 || ((intr & 1) && !(rflags & FL_IF)))
            intr = 2; /* keep the state re-enterable (26.3.1.5) */
    }
    /* cpu->nmi_blocked is L2's (virtual-)NMI blocking while non-root */
    return intr | (cpu->nmi_blocked ? 8u : 0);
}

static uint32_t save_activity(const struct cpu *cpu)
{
    switch (cpu->state) {
    case CPU_HALTED: return 1;
    case CPU_SHUTDOWN: return 2;
    case CPU_WAIT_SIPI: return 3;
    default: return 0;
    }
}

/* VMX-preemption timer value left (27.3.4): it counts down once every
 * 2^VMX_PREEMPT_TIMER_RATE ticks of L1's TSC (vmx_l1_tsc(), vmx_intercept.c). */
static uint64_t timer_left(struct cpu *cpu, uint32_t reason)
{
    uint64_t deadline = cpu->vmx->preempt_deadline_tsc, now = vmx_l1_tsc(cpu);
    if (reason == EXIT_REASON_PREEMPTION_TIMER || !deadline || deadline <= now)
        return 0;
    return (deadline >> VMX_PREEMPT_TIMER_RATE) - (now >> VMX_PREEMPT_TIMER_RATE);
}

static void save_guest_state(struct cpu *cpu, struct vmcs *c, const struct vmx_ctls *k,
                             const struct vmx_exit_info *ei, uint32_t vec_info)
{
    vmcs_set(c, VMCS_GUEST_CR0, cpu->cr0);
    vmcs_set(c, VMCS_GUEST_CR3, cpu->cr3);
    vmcs_set(c, VMCS_GUEST_CR4, cpu->cr4);
    if (k->exit & VMX_EXITCTL_SAVE_DEBUG) {
        vmcs_set(c, VMCS_GUEST_DR7, cpu->dr[7]);
        vmcs_set(c, VMCS_GUEST_IA32_DEBUGCTL, cpu->debugctl);
    }
    vmcs_set(c, VMCS_GUEST_SYSENTER_CS, cpu->sysenter_cs);
    vmcs_set(c, VMCS_GUEST_SYSENTER_ESP, cpu->sysenter_esp);
    vmcs_set(c, VMCS_GUEST_SYSENTER_EIP, cpu->sysenter_eip);
    if (k->exit & VMX_EXITCTL_SAVE_PAT)
        vmcs_set(c, VMCS_GUEST_IA32_PAT, cpu->pat);
    if (k->exit & VMX_EXITCTL_SAVE_EFER)
        vmcs_set(c, VMCS_GUEST_IA32_EFER, cpu->efer);
    /* "IA-32e mode guest" receives IA32_EFER.LMA (27.3.1; IA32_VMX_MISC bit 5). */
    uint64_t entry = (k->entry & ~VMX_ENTRYCTL_IA32E_GUEST) |
                     ((cpu->efer & EFER_LMA) ? VMX_ENTRYCTL_IA32E_GUEST : 0);
    vmcs_set(c, VMCS_VM_ENTRY_CONTROLS, entry);

    for (int s = SEG_ES; s <= SEG_GS; s++)
        save_seg(c, s, &cpu->seg[s]);
    save_seg(c, VMX_SEG_LDTR, &cpu->ldtr);
    save_seg(c, VMX_SEG_TR, &cpu->tr);
    vmcs_set(c, VMCS_GUEST_GDTR_BASE, cpu->gdtr.base);
    vmcs_set(c, VMCS_GUEST_GDTR_LIMIT, cpu->gdtr.limit);
    vmcs_set(c, VMCS_GUEST_IDTR_BASE, cpu->idtr.base);
    vmcs_set(c, VMCS_GUEST_IDTR_LIMIT, cpu->idtr.limit);

    uint64_t rflags = cpu_get_rflags(cpu);
    if (fault_class(ei->intr_info) || fault_class(vec_info))
        rflags |= FL_RF;
    vmcs_set(c, VMCS_GUEST_RSP, cpu->r[R_SP]);
    vmcs_set(c, VMCS_GUEST_RIP, cpu->rip);
    vmcs_set(c, VMCS_GUEST_RFLAGS, rflags);

    uint32_t intr = save_interruptibility(cpu, k, rflags);
    uint32_t activity = save_activity(cpu);
    vmcs_set(c, VMCS_GUEST_INTERRUPTIBILITY_INFO, intr);
    vmcs_set(c, VMCS_GUEST_ACTIVITY_STATE, activity);
    /* Pending debug exceptions (27.3.4): those VM entry loaded and not yet
     * delivered (MOV-SS blocking), or a single-step trap an MTF / TPR-below-
     * threshold exit took priority over (vmx_debug_exception()); BS is also
     * reported where 26.3.1.5 requires it so the state can be re-entered. */
    bool bs = ((intr & 3) || activity == 1) && (rflags & FL_TF) && !(cpu->debugctl & 2);
    vmcs_set(c, VMCS_GUEST_PENDING_DBG_EXCEPTIONS,
             cpu->vmx->pending_dbg | (bs ? 1ull << 14 : 0));
    if (k->exit & VMX_EXITCTL_SAVE_PREEMPT)
        vmcs_set(c, VMCS_VMX_PREEMPTION_TIMER_VALUE, timer_left(cpu, ei->reason));
    /* PDPTEs with EPT and PAE paging (27.3.4). */
    if ((k->proc2 & VMX_PROC2_EPT) && (cpu->cr0 & CR0_PG) && (cpu->cr4 & CR4_PAE) &&
        !(cpu->efer & EFER_LMA))
        for (int i = 0; i < 4; i++)
            vmcs_set(c, (enum vmcs_field)(VMCS_GUEST_PDPTE0 + i), cpu->pdpte[i]);
}

/* ---------------- MSR lists (26.4, 27.4, 27.6) ---------------- */

static uint64_t msr_list_max(void)
{
    return 512ull * (((vmx_misc_caps() >> 25) & 7) + 1); /* IA32_VMX_MISC 27:25 */
}

static bool msr_never_in_lists(uint32_t idx)
{
    return (idx >> 8) == 0x8 /* x2APIC registers */ || idx == MSR_IA32_BIOS_UPDT_TRIG ||
           idx == MSR_IA32_UCODE_REV;
}

uint32_t vmx_msr_load_list(struct cpu *cpu, uint64_t addr, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++) {
        uint64_t e[2];
        if (i >= msr_list_max() || !vmx_read_l1(cpu, addr + 16 * i, e, sizeof(e)))
            return (uint32_t)(i + 1);
        uint32_t idx = (uint32_t)e[0];
        if ((e[0] >> 32) || idx == MSR_IA32_FS_BASE || idx == MSR_IA32_GS_BASE ||
            idx == MSR_IA32_SMM_MONITOR_CTL || msr_never_in_lists(idx) ||
            msr_write(cpu, idx, e[1]) != 0)
            return (uint32_t)(i + 1);
    }
    return 0;
}

static bool msr_store_list(struct cpu *cpu, uint64_t addr, uint64_t count)
{
    for (uint64_t i = 0; i < count; i++) {
        uint64_t e0, val;
        if (i >= msr_list_max() || !vmx_read_l1(cpu, addr + 16 * i, &e0, 8))
            return false;
        uint32_t idx = (uint32_t)e0;
        if ((e0 >> 32) || idx == MSR_IA32_SMBASE || msr_never_in_lists(idx) ||
            msr_read(cpu, idx, &val) != 0)
            return false;
        if (idx == MSR_IA32_TSC) /* not subject to TSC offsetting (27.4) */
            val = vmx_l1_tsc(cpu);
        if (!bus_write_phys(cpu->bus, addr + 16 * i + 8, &val, 8))
            return false;
    }
    return true;
}

/* ---------------- 27.7 VMX abort ---------------- */

static void vmx_abort(struct cpu *cpu, uint32_t indicator)
{
    struct vmx *v = cpu->vmx;
    uint8_t *p = v->current != VMX_NO_VMCS && vmx_pa_ok(v->current)
                     ? bus_ram_ptr(cpu->bus, v->current + 4, 4)
                     : NULL;
    if (p) {
        memcpy(p, &indicator, 4);
        bus_note_dma(cpu->bus, v->current + 4, 4);
    }
    vmx_trace(cpu, "VMX abort %u: shutdown", indicator);
    cpu->state = CPU_SHUTDOWN;
    cpu_end_block(cpu);
}

/* ---------------- 27.5 loading host state ---------------- */

/* CR0 bits a VM exit leaves alone (27.5.1): ET, CD, NW, 63:32, 28:19, 17, 15:6. */
#define CR0_KEPT_ON_EXIT                                                                   \
    (CR0_ET | CR0_CD | CR0_NW | 0xffffffff00000000ull | 0x1ff80000ull | (1ull << 17) |    \
     0xffc0ull)
#define AR_HOST_DATA (0x93u | AR_DB | AR_G) /* type 3, S, DPL 0, P, D/B, G */
#define AR_HOST_TR 0x8bu                    /* busy 32-bit TSS, P */

static void load_host_segments(struct cpu *cpu, const struct vmcs *c, bool host64)
{
    /* CS: type 11, S, DPL 0, P, L = host size, D = !L, G, base 0 (27.5.2) */
    uint32_t cs_ar = 0x9bu | AR_G | (host64 ? AR_L : AR_DB);
    cpu_set_seg(cpu, SEG_CS, (uint16_t)G(HOST_CS_SELECTOR), 0, 0xffffffffu, cs_ar);
    static const int data[] = { SEG_SS, SEG_DS, SEG_ES, SEG_FS, SEG_GS };
    for (size_t i = 0; i < sizeof(data) / sizeof(data[0]); i++) {
        int s = data[i];
        uint16_t sel = (uint16_t)vmcs_get(c, (enum vmcs_field)(VMCS_HOST_ES_SELECTOR + s));
        uint64_t base = s == SEG_FS ? G(HOST_FS_BASE) : s == SEG_GS ? G(HOST_GS_BASE) : 0;
        if (sel == 0) /* null selector: unusable (DPL 0 for SS) */
            cpu_set_seg(cpu, s, 0, base, 0, AR_UNUSABLE);
        else
            cpu_set_seg(cpu, s, sel, base, 0xffffffffu, AR_HOST_DATA);
    }
    cpu->tr = (struct seg){ .sel = (uint16_t)G(HOST_TR_SELECTOR), .base = G(HOST_TR_BASE),
                            .limit = 0x67, .ar = AR_HOST_TR };
    cpu->ldtr = (struct seg){ .sel = 0, .base = 0, .limit = 0, .ar = AR_UNUSABLE };
    cpu->gdtr = (struct dtr){ .base = G(HOST_GDTR_BASE), .limit = 0xffff };
    cpu->idtr = (struct dtr){ .base = G(HOST_IDTR_BASE), .limit = 0xffff };
}
_Static_assert(VMCS_HOST_GS_SELECTOR == VMCS_HOST_ES_SELECTOR + SEG_GS, "host selector order");

/* Returns false if the host PDPTEs are invalid (VMX abort 2). */
static bool load_host_state(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k,
                            bool entry_failure, bool nmi_exit)
{
    bool host64 = k->exit & VMX_EXITCTL_HOST_64;
    uint64_t cr0 = (G(HOST_CR0) & ~CR0_KEPT_ON_EXIT) | (cpu->cr0 & CR0_KEPT_ON_EXIT);
    cpu->cr0 = (cr0 | vmx_cr0_fixed0()) & vmx_cr0_fixed1();
    cpu->cr3 = G(HOST_CR3);
    cpu->cr4 = (G(HOST_CR4) | vmx_cr4_fixed0()) & vmx_cr4_fixed1();
    cpu->dr[7] = 0x400;
    cpu->debugctl = 0;
    cpu->sysenter_cs = G(HOST_IA32_SYSENTER_CS);
    cpu->sysenter_esp = G(HOST_IA32_SYSENTER_ESP);
    cpu->sysenter_eip = G(HOST_IA32_SYSENTER_EIP);
    if (k->exit & VMX_EXITCTL_LOAD_EFER)
        cpu->efer = G(HOST_IA32_EFER);
    else
        cpu->efer = (cpu->efer & ~(EFER_LMA | EFER_LME)) | (host64 ? EFER_LMA | EFER_LME : 0);
    if (k->exit & VMX_EXITCTL_LOAD_PAT)
        cpu->pat = G(HOST_IA32_PAT);

    cpu_set_rflags(cpu, 2); /* RFLAGS: all clear except bit 1 (27.5.3) */
    load_host_segments(cpu, c, host64);
    cpu->r[R_SP] = G(HOST_RSP);
    cpu->rip = cpu->next_rip = G(HOST_RIP);

    /* 27.5.5: active, no STI/MOV-SS blocking; an exit caused by an NMI
     * blocks NMIs, other exits leave NMI blocking alone.  With "virtual
     * NMIs" cpu->nmi_blocked held L2's virtual-NMI blocking, and real NMIs
     * were not blocked in L2 (26.7.1).  A VM-entry failure keeps the NMI
     * blocking L1 had (26.8 step 3). */
    cpu->state = CPU_RUNNING;
    cpu->intr_shadow = 0;
    cpu->in_event = 0;
    if ((k->pin & VMX_PIN_VIRTUAL_NMI) && !entry_failure)
        cpu->nmi_blocked = 0;
    if (nmi_exit)
        cpu->nmi_blocked = 1;
    cpu->nonroot = 0;

    /* 27.5.4: PAE paging without IA-32e mode loads the PDPTEs from CR3. */
    if ((cpu->cr0 & CR0_PG) && (cpu->cr4 & CR4_PAE) && !(cpu->efer & EFER_LMA)) {
        uint64_t pdpte[4];
        if (!vmx_read_pdptes(cpu, cpu->cr3, pdpte))
            return false;
        for (int i = 0; i < 4; i++)
            if (!vmx_pdpte_ok(pdpte[i]))
                return false;
        memcpy(cpu->pdpte, pdpte, sizeof(pdpte));
    }
    return true;
}

/* ---------------- the exit ---------------- */

/* Host-state load, VM-exit MSR-load list, root-mode bookkeeping: common to
 * VM exits and VM-entry failures (26.8 steps 2-4). */
static void finish_exit(struct cpu *cpu, struct vmcs *c, const struct vmx_ctls *k,
                        bool entry_failure, bool nmi_exit)
{
    struct vmx *v = cpu->vmx;
    bool ok = load_host_state(cpu, c, k, entry_failure, nmi_exit);
    v->preempt_deadline_tsc = 0;
    v->mtf_pending = false;
    v->pending_dbg = 0;
    v->injecting = false;
    v->vec_info = 0;
    vmx_update_events(cpu); /* in root operation: clears EV_VMX */
    cpu_update_mode(cpu);
    tlb_flush_all(cpu);
    if (!ok) {
        vmx_abort(cpu, VMX_ABORT_HOST_PDPTE);
        return;
    }
    if (vmx_msr_load_list(cpu, G(VM_EXIT_MSR_LOAD_ADDR), G(VM_EXIT_MSR_LOAD_COUNT))) {
        vmx_abort(cpu, VMX_ABORT_LOAD_MSR);
        return;
    }
    cpu_update_mode(cpu); /* the MSR-load area may have changed EFER */
    tlb_flush_all(cpu);
}

static void count_exit(struct vmx *v, uint32_t reason)
{
    uint32_t basic = reason & 0xffff;
    if (basic < EXIT_REASON_MAX)
        v->stats.exits_by_reason[basic]++;
}

void vmx_exit_at_boundary(struct cpu *cpu, const struct vmx_exit_info *ei)
{
    struct vmx *v = cpu->vmx;
    if (!v || !cpu->nonroot)
        return;
    struct vmcs *c = &v->vmcs;
    struct vmx_ctls k;
    vmx_ctls_get(c, &k);

    uint32_t vec_error, vec_len;
    uint32_t vec_info = idt_vectoring(cpu, &vec_error, &vec_len);
    record_exit_info(cpu, c, ei, vec_info, vec_error, vec_len);
    save_guest_state(cpu, c, &k, ei, vec_info);
    count_exit(v, ei->reason);
    vmx_trace(cpu, "vmexit reason=%u qual=%#llx rip=%#llx intr=%#x idt=%#x",
              (unsigned)ei->reason, (unsigned long long)ei->qual, (unsigned long long)cpu->rip,
              (unsigned)ei->intr_info, (unsigned)vec_info);

    bool msrs_stored = msr_store_list(cpu, G(VM_EXIT_MSR_STORE_ADDR), G(VM_EXIT_MSR_STORE_COUNT));
    bool nmi_exit = (ei->reason & 0xffff) == EXIT_REASON_EXCEPTION_NMI &&
                    (ei->intr_info & VMX_INTR_VALID) &&
                    VMX_INTR_TYPE(ei->intr_info) == VMX_INTR_TYPE_NMI;
    if (!msrs_stored) {
        /* 27.7: the abort comes before any host state is loaded */
        cpu->nonroot = 0;
        vmx_update_events(cpu);
        vmx_abort(cpu, VMX_ABORT_SAVE_MSR);
        return;
    }
    finish_exit(cpu, c, &k, false, nmi_exit);
}

_Noreturn void vmx_vmexit(struct cpu *cpu, const struct vmx_exit_info *ei)
{
    vmx_exit_at_boundary(cpu, ei);
    cpu_fault(cpu, VEC_VMEXIT, 0);
}

_Noreturn void vmx_exit_insn(struct cpu *cpu, const struct insn *in, uint32_t reason,
                             uint64_t qual)
{
    struct vmx_exit_info ei = {
        .reason = reason,
        .qual = qual,
        .insn_len = in->len,
        .insn_info = insn_info_for(cpu, in, reason),
    };
    vmx_vmexit(cpu, &ei);
}

/* 26.8: only the exit reason and qualification are written; no guest
 * state or MSRs are saved; the VM-entry interruption information keeps
 * its valid bit. */
void vmx_exit_entry_failure(struct cpu *cpu, uint32_t basic_reason, uint64_t qual)
{
    struct vmx *v = cpu->vmx;
    struct vmcs *c = &v->vmcs;
    struct vmx_ctls k;
    vmx_ctls_get(c, &k);
    uint32_t reason = EXIT_REASON_FAILED_VMENTRY | (basic_reason & 0xffff);
    vmcs_set(c, VMCS_VM_EXIT_REASON, reason);
    vmcs_set(c, VMCS_EXIT_QUALIFICATION, qual);
    v->stats.entry_failures++;
    count_exit(v, reason);
    vmx_trace(cpu, "vmentry failed: reason=%u qual=%llu%s%s", (unsigned)basic_reason,
              (unsigned long long)qual, basic_reason == EXIT_REASON_INVALID_STATE ? " " : "",
              basic_reason == EXIT_REASON_INVALID_STATE ? v->stats.last_failed_check : "");
    finish_exit(cpu, c, &k, true, false);
}
