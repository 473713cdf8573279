/*
 * testdev.c — the PC test device (see testdev.h for the register map).
 *
 * The interface is the one QEMU's pc-testdev offers and kvm-unit-tests
 * uses; every register is simple storage or a wire:
 *  - the scratch port keeps each byte lane that is written (an outb to 0xe1
 *    changes bits 15:8 only) and returns the addressed lanes on reads;
 *  - the IRQ ports drive ISA lines through the machine's irq_sink, which
 *    routes them to the 8259 pair and the IOAPIC like any device's line;
 *  - I/O RAM accesses are clamped to the 64 KiB window (the bus never
 *    dispatches outside it; an access running off the end is cut short).
 */
#include "hw/testdev.h"

#include <string.h>

static uint64_t scratch_read(void *opaque, uint64_t off, unsigned size)
{
    struct testdev *t = opaque;
    uint64_t v = t->scratch >> (8 * (off & 3));
    return size >= 4 ? v : v & ((1ull << (8 * size)) - 1);
}

static void scratch_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct testdev *t = opaque;
    unsigned shift = 8 * (unsigned)(off & 3);
    uint64_t mask = (size >= 4 ? 0xffffffffull : (1ull << (8 * size)) - 1) << shift;
    t->scratch = (uint32_t)((t->scratch & ~mask) | ((val << shift) & mask));
}

static void flush_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    /* A hypervisor drops its mapping of the page so the next access
     * refaults; the software engine has no such mapping to drop. */
}

static uint64_t irq_read(void *opaque, uint64_t off, unsigned size)
{
    return 0;
}

static void irq_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct testdev *t = opaque;
    /* One line per port; a wider access addresses the line at its port. */
    if (off < TESTDEV_IRQ_LINES)
        irq_set(t->irq, (unsigned)off, (val & 0xff) != 0);
}

static uint64_t ioram_read(void *opaque, uint64_t off, unsigned size)
{
    struct testdev *t = opaque;
    uint64_t v = 0;
    if (off >= TESTDEV_IORAM_SIZE)
        return 0;
    if (size > TESTDEV_IORAM_SIZE - off)
        size = (unsigned)(TESTDEV_IORAM_SIZE - off);
    memcpy(&v, t->ioram + off, size > 8 ? 8 : size);
    return v;
}

static void ioram_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct testdev *t = opaque;
    if (off >= TESTDEV_IORAM_SIZE)
        return;
    if (size > TESTDEV_IORAM_SIZE - off)
        size = (unsigned)(TESTDEV_IORAM_SIZE - off);
    memcpy(t->ioram + off, &val, size > 8 ? 8 : size);
}

static const struct io_ops scratch_ops = { scratch_read, scratch_write };
static const struct io_ops flush_ops = { NULL, flush_write };
static const struct io_ops irq_ops = { irq_read, irq_write };
static const struct io_ops ioram_ops = { ioram_read, ioram_write };

void testdev_init(struct testdev *t, struct bus *bus, const struct irq_sink *irq)
{
    memset(t, 0, sizeof(*t));
    t->irq = irq;
    if (!bus)
        return;
    bus_register(bus, BUS_PIO, TESTDEV_IO_PORT, 4, &scratch_ops, t);
    bus_register(bus, BUS_PIO, TESTDEV_FLUSH_PORT, 4, &flush_ops, t);
    bus_register(bus, BUS_PIO, TESTDEV_IRQ_PORT, TESTDEV_IRQ_LINES, &irq_ops, t);
    bus_register(bus, BUS_MMIO, TESTDEV_IORAM_BASE, TESTDEV_IORAM_SIZE, &ioram_ops, t);
}
