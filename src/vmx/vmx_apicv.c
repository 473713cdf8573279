/*
 * vmx_apicv.c — virtual-interrupt delivery (SDM Vol.3 29.1-29.2): the
 * virtual-APIC state kept on the virtual-APIC page (29.1.1: VTPR 80H, VPPR
 * A0H, VEOI B0H, VISR 100H-170H, VIRR 200H-270H, VICR 300H/310H) and in the
 * guest interrupt status (24.4.2: RVI bits 7:0, SVI bits 15:8), and the
 * operations defined on them:
 *
 *   PPR virtualization (29.1.3)      VPPR <- VTPR if VTPR[7:4] >= SVI[7:4],
 *                                    else SVI & F0H;
 *   EOI virtualization (29.1.4)      VISR[SVI] <- 0, SVI <- highest VISR bit,
 *                                    PPR virtualization, then an EOI-induced
 *                                    VM exit if the vector's EOI-exit-bitmap
 *                                    bit is 1, else evaluation;
 *   self-IPI virtualization (29.1.5) VIRR[V] <- 1, RVI <- max(RVI, V),
 *                                    evaluation;
 *   evaluation (29.2.1)              a virtual interrupt is recognized iff
 *                                    "interrupt-window exiting" is 0 and
 *                                    RVI[7:4] > VPPR[7:4];
 *   delivery (29.2.2)                at an instruction boundary with RFLAGS.IF
 *                                    = 1, no blocking by STI or MOV SS and no
 *                                    interrupt-window exiting: VISR[V] <- 1,
 *                                    SVI <- V, VPPR <- V & F0H, VIRR[V] <- 0,
 *                                    RVI <- highest VIRR bit (or 0), then V
 *                                    through L2's IDT as an external
 *                                    interrupt — no VM exit.
 *
 * RVI and SVI live in the cached VMCS field itself while L2 runs, so VM
 * entry "loads" them and a VM exit "saves" them (26.3.2.5, 27.3.4) with no
 * copying.  Recognition (ix.vintr) is processor state: only an evaluation
 * sets or clears it (VM entry, TPR/EOI/self-IPI virtualization,
 * posted-interrupt processing — no other change of RVI or VPPR counts), and
 * delivery clears it.
 *
 * The virtual-APIC page is L1-physical (never translated by EPT); outside
 * RAM it reads as all-ones and ignores writes, so a hostile L1 gets odd
 * virtual-APIC behaviour and nothing else.
 */
#include "cpu/exec.h"
#include "vmx/vmx_apicv.h"
#include "vmx/vmx_intercept.h"

uint32_t apicv_read(struct cpu *cpu, unsigned off)
{
    const uint8_t *p = ix_vapic(cpu);
    uint32_t v = ~0u;
    if (p)
        memcpy(&v, p + (off & 0xffc), 4);
    return v;
}

void apicv_note_write(struct cpu *cpu, unsigned off, unsigned len)
{
    bus_note_dma(cpu->bus, (ix_field(cpu, VMCS_VIRTUAL_APIC_PAGE_ADDR) & IX_PA_MASK) + off, len);
}

void apicv_write(struct cpu *cpu, unsigned off, uint32_t val)
{
    uint8_t *p = ix_vapic(cpu);
    if (!p)
        return;
    off &= 0xffc;
    memcpy(p + off, &val, 4);
    apicv_note_write(cpu, off, 4);
}

/* ---- guest interrupt status (24.4.2) ---- */

unsigned apicv_rvi(const struct cpu *cpu)
{
    return (unsigned)ix_field(cpu, VMCS_GUEST_INTR_STATUS) & 0xff;
}

unsigned apicv_svi(const struct cpu *cpu)
{
    return (unsigned)(ix_field(cpu, VMCS_GUEST_INTR_STATUS) >> 8) & 0xff;
}

static void set_status(struct cpu *cpu, unsigned rvi, unsigned svi)
{
    vmcs_set(&cpu->vmx->vmcs, VMCS_GUEST_INTR_STATUS, (rvi & 0xff) | (svi & 0xff) << 8);
}

void apicv_set_rvi(struct cpu *cpu, unsigned rvi)
{
    set_status(cpu, rvi, apicv_svi(cpu));
}

/* ---- the 256-bit registers: bit x at (x & 1FH) of offset base | ((x & E0H) >> 1) ---- */

static void vec_update(struct cpu *cpu, unsigned base, unsigned vec, bool set)
{
    unsigned off = base | ((vec & 0xe0) >> 1);
    uint32_t r = apicv_read(cpu, off), bit = 1u << (vec & 31);
    apicv_write(cpu, off, set ? r | bit : r & ~bit);
}

void apicv_virr_or(struct cpu *cpu, unsigned reg, uint32_t bits)
{
    unsigned off = VAPIC_IRR + 16u * (reg & 7);
    if (bits)
        apicv_write(cpu, off, apicv_read(cpu, off) | bits);
}

/* Highest vector whose bit is set, 0 if none ("... ELSE RVI <- 0", 29.2.2). */
static unsigned vec_highest(struct cpu *cpu, unsigned base)
{
    for (int i = 7; i >= 0; i--) {
        uint32_t r = apicv_read(cpu, base + 16u * (unsigned)i);
        if (r)
            return 32u * (unsigned)i + 31u - (unsigned)__builtin_clz(r);
    }
    return 0;
}

/* ---- the operations ---- */

void apicv_ppr_virtualize(struct cpu *cpu)
{
    unsigned vtpr = apicv_read(cpu, VAPIC_TPR) & 0xff, svi = apicv_svi(cpu);
    apicv_write(cpu, VAPIC_PPR, (vtpr >> 4) >= (svi >> 4) ? vtpr : svi & 0xf0);
}

void apicv_evaluate(struct cpu *cpu)
{
    unsigned vppr = apicv_read(cpu, VAPIC_PPR) & 0xff;
    bool recognized =
        !(ix_proc(cpu) & VMX_PROC_INTR_WINDOW) && (apicv_rvi(cpu) >> 4) > (vppr >> 4);
    cpu->vmx->ix.vintr = recognized;
    if (recognized)
        ix_request_boundary(cpu); /* delivered at the next boundary (29.2.2) */
}

bool apicv_eoi_virtualize(struct cpu *cpu, unsigned *vector)
{
    static const enum vmcs_field eoi_exit_bitmap[4] = {
        VMCS_EOI_EXIT_BITMAP0, VMCS_EOI_EXIT_BITMAP1, VMCS_EOI_EXIT_BITMAP2,
        VMCS_EOI_EXIT_BITMAP3,
    };
    unsigned vec = apicv_svi(cpu);
    vec_update(cpu, VAPIC_ISR, vec, false);
    set_status(cpu, apicv_rvi(cpu), vec_highest(cpu, VAPIC_ISR));
    apicv_ppr_virtualize(cpu);
    if ((ix_field(cpu, eoi_exit_bitmap[vec >> 6]) >> (vec & 63)) & 1) {
        *vector = vec;
        return true;
    }
    apicv_evaluate(cpu);
    return false;
}

void apicv_self_ipi(struct cpu *cpu, unsigned vector)
{
    vector &= 0xff;
    vec_update(cpu, VAPIC_IRR, vector, true);
    if (vector > apicv_rvi(cpu))
        apicv_set_rvi(cpu, vector);
    apicv_evaluate(cpu);
}

void apicv_entry(struct cpu *cpu)
{
    struct vmx_ix *x = &cpu->vmx->ix;
    x->vintr = false;
    x->apic_emul = false;
    /* 26.3.2.5: with virtual-interrupt delivery, RVI and SVI come from the
     * guest interrupt status (already in the cache); then PPR
     * virtualization and an evaluation.  A virtual interrupt recognized
     * here is delivered right after the entry, after any injected event. */
    if (ix_proc2(cpu) & VMX_PROC2_VINTR_DELIVERY) {
        apicv_ppr_virtualize(cpu);
        apicv_evaluate(cpu);
    }
}

bool apicv_deliver(struct cpu *cpu)
{
    struct vmx_ix *x = &cpu->vmx->ix;
    if (!x->vintr || !(cpu->rflags & FL_IF) || cpu->intr_shadow ||
        (ix_proc(cpu) & VMX_PROC_INTR_WINDOW) || !(ix_proc2(cpu) & VMX_PROC2_VINTR_DELIVERY))
        return false;
    /* NMIs take priority (29.2.2): the loop delivers (or exits for) a
     * deliverable one first; the virtual interrupt waits for the next
     * boundary. */
    if ((atomic_load(&cpu->events) & EV_NMI) && !cpu->nmi_blocked)
        return false;
    unsigned vec = apicv_rvi(cpu);
    vec_update(cpu, VAPIC_ISR, vec, true);
    apicv_write(cpu, VAPIC_PPR, vec & 0xf0);
    vec_update(cpu, VAPIC_IRR, vec, false);
    set_status(cpu, vec_highest(cpu, VAPIC_IRR), vec);
    x->vintr = false;
    vmx_trace(cpu, "virtual interrupt %#x delivered", vec);
    /* wakes L2 from HLT like an external interrupt would (29.2.2) */
    cpu->state = CPU_RUNNING;
    cpu->next_rip = cpu->rip;
    cpu_deliver(cpu, (int)vec, EV_KIND_EXT, NO_ERR);
    return true;
}
