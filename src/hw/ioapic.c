/*
 * ioapic.c — 82093AA I/O APIC (Intel 82093AA datasheet, 290566).
 *
 * Software selects a register by writing its index to IOREGSEL (offset 0x00)
 * and reads/writes it through IOWIN (offset 0x10), 32 bits at a time
 * (datasheet 3.1).  Each of the 24 pins has a 64-bit redirection entry.
 *
 * Edge-triggered pins deliver on the deasserted->asserted transition while
 * unmasked; edges on a masked pin are lost (datasheet 3.2.4, Interrupt
 * Mask).  Level-triggered pins deliver while asserted, unmasked and Remote
 * IRR clear, and set Remote IRR; an EOI message with the entry's vector
 * clears Remote IRR and, if the pin is still asserted, delivers again.
 * Delivery is instantaneous, so Delivery Status always reads idle.
 * Writing the trigger mode to edge clears Remote IRR (what OSes rely on to
 * recover a stuck level entry on IOAPICs without an EOI register).
 */
#include "hw/ioapic.h"

#include <string.h>

#define RTE_LO_WMASK 0x1AFFFull /* vector, delmod, destmod, polarity, trigger, mask */
#define RTE_HI_WMASK 0xFF000000ull /* destination field, bits 63:56 */

static bool asserted(const struct ioapic *io, unsigned i)
{
    bool low = (io->rte[i] & IOAPIC_RTE_POLARITY_LOW) != 0;
    return (io->pin[i] != 0) != low;
}

static void send(struct ioapic *io, unsigned i)
{
    uint64_t e = io->rte[i];
    int dm = (int)((e >> 8) & 7);
    bool logical = (e >> 11) & 1;
    bool level = (e & IOAPIC_RTE_LEVEL) != 0;
    uint32_t dest = (uint32_t)(e >> 56);
    switch (dm) {
    case APIC_DM_FIXED: case APIC_DM_LOWEST: case APIC_DM_NMI: case APIC_DM_INIT:
    case APIC_DM_EXTINT:
        break;
    default: /* SMI (no SMM) and the reserved encodings */
        return;
    }
    if (!logical && dest == 0xFF)
        dest = APIC_DEST_BROADCAST;
    /* NMI, INIT and ExtINT are edge messages whatever the trigger bit says */
    if (dm != APIC_DM_FIXED && dm != APIC_DM_LOWEST)
        level = false;
    apic_bus_deliver(io->apic_bus, dest, logical, dm, (int)(e & 0xFF), level, APIC_SH_NONE,
                     NULL);
}

/* Level semantics (Remote IRR handshake) only make sense for fixed and
 * lowest-priority entries, the only ones that receive an EOI. */
static bool level_entry(uint64_t e)
{
    int dm = (int)((e >> 8) & 7);
    return (e & IOAPIC_RTE_LEVEL) && (dm == APIC_DM_FIXED || dm == APIC_DM_LOWEST);
}

/* Level entries: deliver if the condition holds (called after any change). */
static void service_level(struct ioapic *io, unsigned i)
{
    uint64_t e = io->rte[i];
    if (!level_entry(e) || (e & IOAPIC_RTE_MASKED) || (e & IOAPIC_RTE_REMOTE_IRR) ||
        !asserted(io, i))
        return;
    io->rte[i] |= IOAPIC_RTE_REMOTE_IRR;
    send(io, i);
}

static uint32_t reg_read(struct ioapic *io)
{
    unsigned r = io->regsel;
    switch (r) {
    case IOAPIC_REG_ID: return (io->id & 0xF) << 24;
    case IOAPIC_REG_VER: return IOAPIC_VERSION;
    case IOAPIC_REG_ARB: return (io->id & 0xF) << 24;
    }
    if (r >= IOAPIC_REG_REDTBL && r < IOAPIC_REG_REDTBL + 2 * IOAPIC_NPINS) {
        unsigned i = (r - IOAPIC_REG_REDTBL) / 2;
        return (r & 1) ? (uint32_t)(io->rte[i] >> 32) : (uint32_t)io->rte[i];
    }
    return 0; /* reserved registers read as zero */
}

static void reg_write(struct ioapic *io, uint32_t v)
{
    unsigned r = io->regsel;
    if (r == IOAPIC_REG_ID) {
        io->id = (v >> 24) & 0xF;
        return;
    }
    if (r < IOAPIC_REG_REDTBL || r >= IOAPIC_REG_REDTBL + 2 * IOAPIC_NPINS)
        return; /* version, arbitration and reserved registers are read-only */
    unsigned i = (r - IOAPIC_REG_REDTBL) / 2;
    uint64_t e = io->rte[i];
    if (r & 1) {
        e = (e & 0xFFFFFFFFull) | (((uint64_t)v << 32) & (RTE_HI_WMASK << 32));
    } else {
        uint64_t ro = e & IOAPIC_RTE_REMOTE_IRR;
        e = (e & 0xFFFFFFFF00000000ull) | ((uint64_t)v & RTE_LO_WMASK) | ro;
        if (!(e & IOAPIC_RTE_LEVEL))
            e &= ~IOAPIC_RTE_REMOTE_IRR;
    }
    io->rte[i] = e;
    service_level(io, i); /* unmasking an asserted level pin delivers it */
}

static uint64_t ioapic_mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct ioapic *io = opaque;
    uint64_t v = 0;
    pthread_mutex_lock(&io->lock);
    if (off < 4) {
        v = (uint64_t)io->regsel >> (8 * off);
    } else if (off >= IOAPIC_IOWIN && off < IOAPIC_IOWIN + 4) {
        v = (uint64_t)reg_read(io) >> (8 * (off - IOAPIC_IOWIN));
    }
    pthread_mutex_unlock(&io->lock);
    return v;
}

static void ioapic_mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct ioapic *io = opaque;
    pthread_mutex_lock(&io->lock);
    if (off == IOAPIC_IOREGSEL) {
        io->regsel = (uint8_t)val;
    } else if (off == IOAPIC_IOWIN && size >= 4) {
        /* IOWIN is a dword register; narrower writes are ignored */
        reg_write(io, (uint32_t)val);
    }
    pthread_mutex_unlock(&io->lock);
}

static const struct io_ops ioapic_ops = {
    .read = ioapic_mmio_read,
    .write = ioapic_mmio_write,
};

void ioapic_reset(struct ioapic *io)
{
    pthread_mutex_lock(&io->lock);
    io->regsel = 0;
    for (unsigned i = 0; i < IOAPIC_NPINS; i++)
        io->rte[i] = IOAPIC_RTE_MASKED; /* datasheet: masked after reset */
    pthread_mutex_unlock(&io->lock);
}

int ioapic_init(struct ioapic *io, struct bus *bus, struct apic_bus *apic_bus, uint32_t id,
                uint64_t base)
{
    memset(io, 0, sizeof(*io));
    pthread_mutex_init(&io->lock, NULL);
    io->apic_bus = apic_bus;
    io->id = id & 0xF;
    ioapic_reset(io);
    if (bus && bus_register(bus, BUS_MMIO, base, IOAPIC_MMIO_SIZE, &ioapic_ops, io) < 0)
        return -1;
    return 0;
}

void ioapic_destroy(struct ioapic *io)
{
    pthread_mutex_destroy(&io->lock);
}

void ioapic_set_irq(struct ioapic *io, unsigned gsi, int level)
{
    if (gsi >= IOAPIC_NPINS)
        return;
    pthread_mutex_lock(&io->lock);
    bool was = asserted(io, gsi);
    io->pin[gsi] = level != 0;
    bool now = asserted(io, gsi);
    uint64_t e = io->rte[gsi];
    if (level_entry(e))
        service_level(io, gsi);
    else if (now && !was && !(e & IOAPIC_RTE_MASKED))
        send(io, gsi);
    pthread_mutex_unlock(&io->lock);
}

void ioapic_irq_set(void *ctx, unsigned gsi, int level)
{
    ioapic_set_irq(ctx, gsi, level);
}

void ioapic_eoi(struct ioapic *io, int vector)
{
    pthread_mutex_lock(&io->lock);
    for (unsigned i = 0; i < IOAPIC_NPINS; i++) {
        uint64_t e = io->rte[i];
        if ((e & IOAPIC_RTE_LEVEL) && (e & IOAPIC_RTE_REMOTE_IRR) &&
            (int)(e & 0xFF) == vector) {
            io->rte[i] = e & ~IOAPIC_RTE_REMOTE_IRR;
            service_level(io, i);
        }
    }
    pthread_mutex_unlock(&io->lock);
}

void ioapic_eoi_cb(void *ctx, int vector)
{
    ioapic_eoi(ctx, vector);
}
