/*
 * kvm_irq.c — interrupts of a KVM VM: the in-kernel irqchip (8259 pair,
 * IOAPIC, LAPICs; see kvm_engine.h for why not our own models), routed as
 * the machine's ACPI MADT describes it, and the machine's irq_sink turned
 * into KVM_IRQ_LINE.
 *
 * GSI routing (api.rst 4.52 KVM_SET_GSI_ROUTING, KVM_IRQ_ROUTING_IRQCHIP):
 * the number a device raises (its "gsi" in struct irq_sink) is the KVM
 * GSI.  ISA IRQ 0..15 reach the 8259 pair (master pins 0-7, slave 8-15;
 * IRQ 2 is the cascade) and the IOAPIC pin of the same number except IRQ
 * 0, which the MADT's interrupt source override puts on pin 2; GSIs 16-23
 * reach only the IOAPIC.  This is machine_irq_set's wiring for our models.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "hw/acpi.h"
#include "kvm/kvm_priv.h"

#define IOAPIC_PINS 24

/* Local APIC register offsets (Intel SDM Vol. 3A, table 11-1). */
#define APIC_SVR 0xf0
#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_DM_NMI (4u << 8)
#define APIC_DM_EXTINT (7u << 8)
#define APIC_LVT_MASKED (1u << 16)

int kvm_irq_setup(struct kvm_engine *k)
{
    if (ioctl(k->vm_fd, KVM_CREATE_IRQCHIP, 0) != 0) {
        fprintf(stderr, "nestvm: --accel kvm: KVM_CREATE_IRQCHIP failed: %s\n", strerror(errno));
        return -1;
    }
    struct {
        struct kvm_irq_routing r;
        struct kvm_irq_routing_entry e[2 * IOAPIC_PINS];
    } rt;
    memset(&rt, 0, sizeof rt);
    unsigned n = 0;
    for (unsigned gsi = 0; gsi < IOAPIC_PINS; gsi++) {
        if (gsi == 2)
            continue; /* the cascade: no device raises it */
        if (gsi < 16) {
            rt.e[n].gsi = gsi;
            rt.e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
            rt.e[n].u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
            rt.e[n].u.irqchip.pin = gsi & 7;
            n++;
        }
        rt.e[n].gsi = gsi;
        rt.e[n].type = KVM_IRQ_ROUTING_IRQCHIP;
        rt.e[n].u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
        rt.e[n].u.irqchip.pin = gsi == 0 ? 2 : gsi;
        n++;
    }
    rt.r.nr = n;
    if (ioctl(k->vm_fd, KVM_SET_GSI_ROUTING, &rt) != 0) {
        fprintf(stderr, "nestvm: --accel kvm: KVM_SET_GSI_ROUTING failed: %s\n", strerror(errno));
        return -1;
    }
    /* The MADT gives the IOAPIC ID ACPI_IOAPIC_ID(ncpus); make the
     * in-kernel IOAPIC's ID register agree (82093AA datasheet 3.2.1). */
    struct kvm_irqchip chip;
    memset(&chip, 0, sizeof chip);
    chip.chip_id = KVM_IRQCHIP_IOAPIC;
    if (ioctl(k->vm_fd, KVM_GET_IRQCHIP, &chip) == 0) {
        chip.chip.ioapic.id = ACPI_IOAPIC_ID(k->ncpus);
        if (ioctl(k->vm_fd, KVM_SET_IRQCHIP, &chip) != 0) {
            fprintf(stderr, "nestvm: --accel kvm: KVM_SET_IRQCHIP (IOAPIC) failed: %s\n",
                    strerror(errno));
            return -1;
        }
    }
    return 0;
}

static uint32_t apic_reg(const struct kvm_lapic_state *s, unsigned off)
{
    uint32_t v;
    memcpy(&v, s->regs + off, 4);
    return v;
}

static void apic_set(struct kvm_lapic_state *s, unsigned off, uint32_t v)
{
    memcpy(s->regs + off, &v, 4);
}

int kvm_irq_setup_lapic(struct kvm_engine *k, struct kvm_vcpu *v)
{
    struct kvm_lapic_state s;
    if (ioctl(v->fd, KVM_GET_LAPIC, &s) != 0) {
        fprintf(stderr, "nestvm: --accel kvm: KVM_GET_LAPIC on vCPU %d failed: %s\n", v->index,
                strerror(errno));
        return -1;
    }
    /* As firmware leaves it (and lapic_firmware_setup for our model):
     * software-enabled with spurious vector 0xff; LINT0 ExtINT (the 8259's
     * INTR) unmasked on the BSP only; LINT1 NMI. */
    apic_set(&s, APIC_SVR, (apic_reg(&s, APIC_SVR) & ~0x3ffu) | 0x1ff);
    apic_set(&s, APIC_LVT_LINT0, APIC_DM_EXTINT | (v->index == 0 ? 0 : APIC_LVT_MASKED));
    apic_set(&s, APIC_LVT_LINT1, APIC_DM_NMI);
    if (ioctl(v->fd, KVM_SET_LAPIC, &s) != 0) {
        fprintf(stderr, "nestvm: --accel kvm: KVM_SET_LAPIC on vCPU %d failed: %s\n", v->index,
                strerror(errno));
        return -1;
    }
    return 0;
}

void kvm_irq_set(void *ctx, unsigned gsi, int level)
{
    struct kvm_engine *k = ctx;
    if (gsi >= IOAPIC_PINS)
        return;
    struct kvm_irq_level l = { .irq = gsi, .level = level ? 1 : 0 };
    /* Fails only for an unrouted GSI (the cascade): nothing to deliver. */
    (void)ioctl(k->vm_fd, KVM_IRQ_LINE, &l);
}
