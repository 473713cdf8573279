/*
 * ioapic.h — 82093AA-style I/O APIC: 24 redirection entries behind the
 * IOREGSEL/IOWIN window at 0xFEC00000, delivering to the local APICs over
 * the shared struct apic_bus.
 *
 *     ioapic_init(&io, bus, &apic_bus, ACPI_IOAPIC_ID(ncpus), IOAPIC_DEFAULT_BASE);
 *     for each lapic: l->eoi_broadcast = ioapic_eoi_cb; l->eoi_ctx = &io;
 *     device lines:   ioapic_set_irq(&io, gsi, level)   (any thread)
 *
 * All entry points take the IOAPIC's own mutex; delivery into a lapic is
 * lock-free, so a lapic EOI (vCPU thread) may call ioapic_eoi() directly.
 */
#ifndef NESTVM_HW_IOAPIC_H
#define NESTVM_HW_IOAPIC_H

#include <pthread.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/lapic.h"

#define IOAPIC_DEFAULT_BASE 0xFEC00000ull
#define IOAPIC_MMIO_SIZE 0x1000
#define IOAPIC_NPINS 24
#define IOAPIC_VERSION 0x00170011u /* max redirection entry 0x17, version 0x11 */

/* MMIO offsets (82093AA datasheet 3.0) */
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10

/* Indirect registers (datasheet 3.2) */
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_REDTBL 0x10 /* entry n: low dword 0x10+2n, high 0x11+2n */

/* Redirection entry bits (datasheet 3.2.4) */
#define IOAPIC_RTE_DELIVS (1ull << 12)
#define IOAPIC_RTE_POLARITY_LOW (1ull << 13)
#define IOAPIC_RTE_REMOTE_IRR (1ull << 14)
#define IOAPIC_RTE_LEVEL (1ull << 15)
#define IOAPIC_RTE_MASKED (1ull << 16)

struct ioapic {
    struct apic_bus *apic_bus;
    pthread_mutex_t lock;
    uint32_t id;     /* bits 27:24 of the ID register */
    uint8_t regsel;  /* IOREGSEL */
    uint64_t rte[IOAPIC_NPINS];
    uint8_t pin[IOAPIC_NPINS]; /* input pin level as driven by the device */
};

/* Registers the MMIO window; 0 ok, -1 if bus_register failed. */
int ioapic_init(struct ioapic *io, struct bus *bus, struct apic_bus *apic_bus, uint32_t id,
                uint64_t base);
void ioapic_destroy(struct ioapic *io);
void ioapic_reset(struct ioapic *io);

/* Drive input pin gsi (0..23) to level (0/1, electrical; polarity applies). */
void ioapic_set_irq(struct ioapic *io, unsigned gsi, int level);
/* irq_sink-compatible form of ioapic_set_irq (ctx = struct ioapic *). */
void ioapic_irq_set(void *ctx, unsigned gsi, int level);
/* EOI broadcast from a local APIC: clears Remote IRR of level entries with
 * this vector, and redelivers if the line is still asserted. */
void ioapic_eoi(struct ioapic *io, int vector);
void ioapic_eoi_cb(void *ctx, int vector); /* for lapic.eoi_broadcast */

#endif
