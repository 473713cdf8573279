/*
 * vmx_posted.c — posted-interrupt processing (SDM Vol.3 29.6).
 *
 * With "external-interrupt exiting" and "process posted interrupts" (which
 * VM entry only accepts together with virtual-interrupt delivery and
 * "acknowledge interrupt on exit", 26.2.1.1), an external interrupt that
 * reaches L2's logical processor is acknowledged as usual (vmx_intr_exits()
 * in vmx_intercept.c: for nestvm that is L1's local APIC moving the vector
 * from IRR to ISR).  If the vector is the posted-interrupt notification
 * vector, instead of a VM exit the processor
 *   1. clears the outstanding-notification bit (ON, bit 256) of the
 *      posted-interrupt descriptor, atomically;
 *   2. writes 0 to the EOI register of the local APIC (dismissing the
 *      notification vector);
 *   3. ORs the posted-interrupt requests (PIR, bits 255:0) into VIRR and
 *      clears them, so that no other agent's PIR update falls between the
 *      read and the clear (one atomic exchange per 64-bit word);
 *   4. sets RVI to the highest PIR bit found if that is above RVI;
 *   5. evaluates pending virtual interrupts (29.2.1) — a virtual interrupt
 *      recognized now is delivered at this same boundary if deliverable.
 * Any other vector exits as an ordinary external interrupt.  Nothing is done
 * at VM entry: posted interrupts are processed only on receipt of the
 * notification vector (a hypervisor that posts to itself sends that vector
 * as an IPI, or moves PIR into VIRR/RVI itself before VM entry).
 *
 * The descriptor (64-byte aligned, checked at VM entry) is L1-physical and
 * may be written concurrently by other vCPUs, hence the atomics on the host
 * mapping of guest RAM.  A descriptor outside RAM has no requests and no
 * ON bit to clear.
 */
#include "hw/lapic.h"
#include "cpu/msr.h"
#include "vmx/vmx_apicv.h"
#include "vmx/vmx_intercept.h"

#define PID_ON_BYTE 32 /* bit 256: byte 32, bit 0 */

bool vmx_posted_intr(struct cpu *cpu, int vector)
{
    if (!(ix_pin(cpu) & VMX_PIN_POSTED_INTR) ||
        vector != (int)(ix_field(cpu, VMCS_POSTED_INTR_NV) & 0xff))
        return false;
    uint64_t desc = ix_field(cpu, VMCS_POSTED_INTR_DESC_ADDR) & ~0x3full;
    uint8_t *p = bus_ram_ptr(cpu->bus, desc, 64);
    if (p)
        __atomic_fetch_and(p + PID_ON_BYTE, (uint8_t)~1u, __ATOMIC_SEQ_CST);
    if (cpu->lapic) {
        /* the EOI register of either interface: x2APIC MSR 80BH, else the
         * xAPIC page (each refuses when its mode is not the current one) */
        if (lapic_msr_write(cpu->lapic, 0x800 + (LAPIC_EOI >> 4), 0) < 0)
            lapic_write(cpu->lapic, LAPIC_EOI, 0);
        cpu_lapic_written(cpu);
    }
    int highest = -1;
    for (int w = 0; p && w < 4; w++) {
        uint64_t pir = __atomic_exchange_n((uint64_t *)(void *)(p + 8 * w), 0, __ATOMIC_SEQ_CST);
        apicv_virr_or(cpu, 2u * (unsigned)w, (uint32_t)pir);
        apicv_virr_or(cpu, 2u * (unsigned)w + 1, (uint32_t)(pir >> 32));
        if (pir)
            highest = 64 * w + 63 - __builtin_clzll(pir);
    }
    if (p)
        bus_note_dma(cpu->bus, desc, 64);
    if (highest > (int)apicv_rvi(cpu))
        apicv_set_rvi(cpu, (unsigned)highest);
    vmx_trace(cpu, "posted-interrupt notification %#x: highest request %d", vector, highest);
    apicv_evaluate(cpu);
    /* This is an instruction boundary and virtual-interrupt delivery comes
     * before anything of lower priority than the external interrupt just
     * processed (29.2.2): deliver a recognized interrupt right here. */
    apicv_deliver(cpu);
    return true;
}
