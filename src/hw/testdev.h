/*
 * testdev.h — the PC test device that test suites written for QEMU expect
 * ("pc-testdev"; kvm-unit-tests' emulator, ioapic and realmode tests drive
 * it).  Optional: the machine adds it only with `nestvm run --testdev`.
 *
 *   port 0xe0-0xe3        a 32-bit scratch register: each byte lane written
 *                         is stored and reads back (rep outs/ins targets)
 *   port 0xe4-0xe7        "flush page": a write names a guest page a
 *                         hypervisor should refault; nothing to do here
 *   port 0x2000-0x2017    ISA interrupt lines 0-23: writing v sets line n's
 *                         level to (v != 0), routed like any device's line
 *   MMIO 0xff000000+64K   "I/O RAM": memory that is not RAM, so every access
 *                         takes the CPU's MMIO path; reads return what was
 *                         written
 */
#ifndef NESTVM_HW_TESTDEV_H
#define NESTVM_HW_TESTDEV_H

#include <stdint.h>

#include "hw/bus.h"
#include "hw/irq.h"

#define TESTDEV_IO_PORT 0xe0
#define TESTDEV_FLUSH_PORT 0xe4
#define TESTDEV_IRQ_PORT 0x2000
#define TESTDEV_IRQ_LINES 24
#define TESTDEV_IORAM_BASE 0xff000000ull
#define TESTDEV_IORAM_SIZE 0x10000u

struct testdev {
    uint32_t scratch;
    const struct irq_sink *irq;
    uint8_t ioram[TESTDEV_IORAM_SIZE];
};

/* Registers the ports and the I/O RAM; interrupt lines go to irq. */
void testdev_init(struct testdev *t, struct bus *bus, const struct irq_sink *irq);

#endif
