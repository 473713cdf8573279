/*
 * vmx_apicv.h — APIC virtualization beyond the TPR shadow (SDM Vol.3
 * chapter 29), shared by vmx_apic.c (APIC-access page, x2APIC MSRs, CR8),
 * vmx_apicv.c (virtual-APIC state, virtual-interrupt delivery),
 * vmx_posted.c (posted-interrupt processing) and vmx_intercept.c (VM entry,
 * instruction boundaries, external interrupts).
 *
 * Contract with vmx_intercept.c:
 *   - vmx_intercept_entry() calls apicv_entry() (26.3.2.5: RVI/SVI, PPR
 *     virtualization, evaluation of pending virtual interrupts);
 *   - vmx_block_boundary() first calls apic_write_emulation(), which
 *     finishes a virtualized APIC write of the instruction just retired
 *     (29.4.3.2, 29.5) and may ask for a trap-like VM exit (APIC write 56,
 *     EOI-induced 45; TPR below threshold goes through ix.tpr_below); at the
 *     priority of the interrupt window it calls apicv_deliver() (29.2.2);
 *   - vmx_intr_exits() hands an acknowledged external interrupt to
 *     vmx_posted_intr() before turning it into a VM exit (29.6).
 */
#ifndef NESTVM_VMX_VMX_APICV_H
#define NESTVM_VMX_VMX_APICV_H

#include "vmx/vmx.h"

/* Virtual-APIC page offsets (SDM 29.1.1) */
#define VAPIC_TPR 0x080u
#define VAPIC_PPR 0x0a0u
#define VAPIC_EOI 0x0b0u
#define VAPIC_ISR 0x100u
#define VAPIC_IRR 0x200u
#define VAPIC_ICR_LO 0x300u
#define VAPIC_ICR_HI 0x310u
#define VAPIC_SELF_IPI 0x3f0u /* x2APIC SELF IPI (MSR 83FH) */

/* vmx_apicv.c: 32-bit fields of the virtual-APIC page (L1-physical, outside
 * RAM: reads all-ones, writes ignored); 'off' is taken modulo the page and
 * rounded down to 4 bytes. */
uint32_t apicv_read(struct cpu *cpu, unsigned off);
void apicv_write(struct cpu *cpu, unsigned off, uint32_t val);
/* Mark bytes of the virtual-APIC page written behind the engine's back. */
void apicv_note_write(struct cpu *cpu, unsigned off, unsigned len);
/* Guest interrupt status (24.4.2): RVI bits 7:0, SVI bits 15:8. */
unsigned apicv_rvi(const struct cpu *cpu);
unsigned apicv_svi(const struct cpu *cpu);
void apicv_set_rvi(struct cpu *cpu, unsigned rvi);
/* VIRR bits 32*reg+31 .. 32*reg |= bits (reg 0-7: offset 200H + 10H * reg). */
void apicv_virr_or(struct cpu *cpu, unsigned reg, uint32_t bits);

void apicv_ppr_virtualize(struct cpu *cpu);              /* 29.1.3 */
void apicv_evaluate(struct cpu *cpu);                    /* 29.2.1 */
/* 29.1.4: returns true when the EOI-exit bitmap asks for an EOI-induced VM
 * exit (*vector = the vector whose EOI was virtualized). */
bool apicv_eoi_virtualize(struct cpu *cpu, unsigned *vector);
void apicv_self_ipi(struct cpu *cpu, unsigned vector);   /* 29.1.5 */
void apicv_entry(struct cpu *cpu);                       /* 26.3.2.5 */
/* 29.2.2: deliver a recognized virtual interrupt through L2's IDT if it is
 * deliverable now; true if it was. */
bool apicv_deliver(struct cpu *cpu);

/* vmx_apic.c: APIC-write emulation pending from the instruction just
 * retired (29.4.3.2, 29.5).  Returns true and fills ei when it ends in a
 * VM exit (reason and qualification only). */
bool apic_write_emulation(struct cpu *cpu, struct vmx_exit_info *ei);

/* vmx_posted.c: an external interrupt with this vector was acknowledged in
 * non-root operation; true if it was the posted-interrupt notification
 * vector and was processed as such (29.6) instead of a VM exit. */
bool vmx_posted_intr(struct cpu *cpu, int vector);

#endif
