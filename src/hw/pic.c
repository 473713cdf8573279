/*
 * pic.c — cascaded 8259A programmable interrupt controllers + ELCR.
 *
 * Programming model (Intel 8259A datasheet, "Programming the 8259A"):
 *
 *   A0=0, D4=1        ICW1  D0 IC4, D1 SNGL, D3 LTIM; starts initialisation
 *   A0=1 after ICW1   ICW2  vector base (T7..T3); then ICW3 if !SNGL,
 *                     then ICW4 if IC4 (D1 AEOI, D4 SFNM)
 *   A0=1 otherwise    OCW1  interrupt mask register
 *   A0=0, D4=0, D3=0  OCW2  D7..D5 = R SL EOI, D2..D0 = level
 *   A0=0, D4=0, D3=1  OCW3  D6 ESMM, D5 SMM, D2 poll, D1 RR, D0 RIS
 *
 * Reads: A0=0 returns IRR or ISR (chosen by OCW3), A0=1 returns IMR; the
 * read following a poll command returns the poll word (D7 = request
 * present, D2..D0 = highest-priority level) and acts as INTA.
 *
 * Priority: IR(priority_add) is highest, then upwards modulo 8; rotation
 * commands move priority_add.  A request is serviced when it is unmasked
 * and has higher priority than every bit in ISR (in special mask mode, ISR
 * bits that are masked in IMR do not block; with special fully nested mode
 * the master lets a cascade input through even while it is in service).
 *
 * Triggering: an edge-triggered input latches IRR on a rising edge and keeps
 * it until INTA (devices may pulse the line); a level-triggered input (ICW1
 * LTIM, or its ELCR bit — EISA/PIIX convention) drives IRR directly.  IRQ 0,
 * 1, 2, 8 and 13 are edge-only (ELCR bits reserved as 0).  The master's IR2
 * follows the slave's INT output as a level, which is how a slave with more
 * than one pending request keeps the master asking.
 */
#include "hw/pic.h"

#include <string.h>

#define PIC_MASTER 0
#define PIC_SLAVE 1
#define CASCADE_IR 2

/* Writable ELCR bits: IRQ 0-2 and 8, 13 are edge-only. */
static const uint8_t elcr_mask[2] = { 0xf8, 0xde };

/* ---- per-chip logic --------------------------------------------------- */

/* Priority rank (0 = highest) of the most important bit of mask, 8 if none. */
static int chip_rank(const struct pic_chip *c, uint8_t mask)
{
    for (int i = 0; i < 8; i++)
        if (mask & (1u << ((i + c->priority_add) & 7)))
            return i;
    return 8;
}

static bool chip_is_level(const struct pic_chip *c, int ir)
{
    return c->ltim || (c->elcr & (1u << ir));
}

/* IR number the chip would present to INTA now, or -1. */
static int chip_pending(const struct pic_chip *c, bool master)
{
    int req = chip_rank(c, c->irr & ~c->imr);
    if (req == 8)
        return -1;
    uint8_t in = c->isr;
    if (c->special_mask)
        in &= ~c->imr;
    int cur = chip_rank(c, in);
    int ir = (req + c->priority_add) & 7;
    if (req < cur)
        return ir;
    /* Special fully nested mode: a request on a cascade input of the master
     * is honoured even while that input is in service (ICW4 SFNM). */
    if (master && c->sfnm && !c->single && req == cur && (c->icw3 & (1u << ir)))
        return ir;
    return -1;
}

static void chip_set_input(struct pic_chip *c, int ir, int level)
{
    uint8_t m = (uint8_t)(1u << ir);
    if (level) {
        if (chip_is_level(c, ir) || !(c->lines & m))
            c->irr |= m;
        c->lines |= m;
    } else {
        c->lines &= ~m;
        if (chip_is_level(c, ir))
            c->irr &= ~m;
    }
}

/* INTA (or poll read) for IR ir of this chip. */
static void chip_ack(struct pic_chip *c, int ir)
{
    uint8_t m = (uint8_t)(1u << ir);
    if (c->auto_eoi) {
        if (c->rotate_on_aeoi)
            c->priority_add = (uint8_t)((ir + 1) & 7);
    } else {
        c->isr |= m;
    }
    if (!chip_is_level(c, ir))
        c->irr &= ~m;
}

static void chip_reset(struct pic_chip *c)
{
    uint8_t lines = c->lines, elcr = c->elcr;
    memset(c, 0, sizeof(*c));
    c->lines = lines;
    c->elcr = elcr;
}

/* ICW1: "the edge sense circuit is reset ... the IMR is cleared, IR7 is
 * assigned priority 7, special mask mode is cleared, status read is set to
 * IRR, if IC4 = 0 all ICW4 functions are set to zero" (datasheet). */
static void chip_icw1(struct pic_chip *c, uint8_t v)
{
    uint8_t lines = c->lines, elcr = c->elcr, icw3 = c->icw3;
    uint8_t base = c->vector_base;
    bool aeoi = c->auto_eoi, sfnm = c->sfnm;
    memset(c, 0, sizeof(*c));
    c->lines = lines;
    c->elcr = elcr;
    c->icw3 = icw3;
    c->vector_base = base;
    c->icw4_needed = v & 0x01;
    c->single = v & 0x02;
    c->ltim = v & 0x08;
    if (c->icw4_needed) {
        c->auto_eoi = aeoi;
        c->sfnm = sfnm;
    }
    c->init_step = 2;
    /* Level-triggered inputs that are still high request again at once. */
    for (int ir = 0; ir < 8; ir++)
        if (chip_is_level(c, ir) && (lines & (1u << ir)))
            c->irr |= (uint8_t)(1u << ir);
}

static void chip_ocw2(struct pic_chip *c, uint8_t v)
{
    int level = v & 7;
    int top = chip_rank(c, c->isr);
    int top_ir = (top + c->priority_add) & 7;
    switch (v >> 5) {
    case 1: /* non-specific EOI */
        if (top < 8)
            c->isr &= ~(1u << top_ir);
        break;
    case 3: /* specific EOI */
        c->isr &= ~(1u << level);
        break;
    case 5: /* rotate on non-specific EOI */
        if (top < 8) {
            c->isr &= ~(1u << top_ir);
            c->priority_add = (uint8_t)((top_ir + 1) & 7);
        }
        break;
    case 4: /* set rotate in automatic EOI mode */
        c->rotate_on_aeoi = true;
        break;
    case 0: /* clear rotate in automatic EOI mode */
        c->rotate_on_aeoi = false;
        break;
    case 7: /* rotate on specific EOI */
        c->isr &= ~(1u << level);
        c->priority_add = (uint8_t)((level + 1) & 7);
        break;
    case 6: /* set priority: level becomes the lowest */
        c->priority_add = (uint8_t)((level + 1) & 7);
        break;
    case 2: /* no operation */
        break;
    }
}

static void chip_ocw3(struct pic_chip *c, uint8_t v)
{
    if (v & 0x40)
        c->special_mask = v & 0x20;
    if (v & 0x04)
        c->poll = true;
    if (v & 0x02)
        c->read_isr = v & 0x01;
}

static void chip_write(struct pic_chip *c, unsigned a0, uint8_t v)
{
    if (!a0) {
        if (v & 0x10)
            chip_icw1(c, v);
        else if (v & 0x08)
            chip_ocw3(c, v);
        else
            chip_ocw2(c, v);
        return;
    }
    switch (c->init_step) {
    case 2: /* ICW2: T7..T3 of the vector (8086 mode) */
        c->vector_base = v & 0xf8;
        c->init_step = !c->single ? 3 : c->icw4_needed ? 4 : 0;
        break;
    case 3: /* ICW3: master = inputs with slaves, slave = its id */
        c->icw3 = v;
        c->init_step = c->icw4_needed ? 4 : 0;
        break;
    case 4: /* ICW4: D0 uPM (8086 assumed), D1 AEOI, D3..D2 buffering, D4 SFNM */
        c->auto_eoi = v & 0x02;
        c->sfnm = v & 0x10;
        c->init_step = 0;
        break;
    default: /* OCW1 */
        c->imr = v;
        break;
    }
}

/* ---- the pair --------------------------------------------------------- */

/* Propagate the slave's INT to master IR2, then recompute INTR. */
static void pic_update(struct pic *p)
{
    struct pic_chip *m = &p->chip[PIC_MASTER];
    uint8_t cm = 1u << CASCADE_IR;
    if (chip_pending(&p->chip[PIC_SLAVE], false) >= 0) {
        m->irr |= cm;
        m->lines |= cm;
    } else {
        m->irr &= ~cm;
        m->lines &= ~cm;
    }
    int intr = chip_pending(m, true) >= 0;
    if (intr != p->intr) {
        __atomic_store_n(&p->intr, intr, __ATOMIC_RELEASE);
        if (p->notify)
            p->notify(p->notify_ctx, intr);
    }
}

/* True if the master hands the INTA cycle for ir to the slave. */
static bool pic_cascaded(const struct pic *p, int ir)
{
    const struct pic_chip *m = &p->chip[PIC_MASTER];
    return ir == CASCADE_IR && !m->single && (m->icw3 & (1u << CASCADE_IR));
}

static uint8_t pic_poll(struct pic *p, int which)
{
    struct pic_chip *c = &p->chip[which];
    int ir = chip_pending(c, which == PIC_MASTER);
    if (ir < 0)
        return 0;
    chip_ack(c, ir);
    pic_update(p);
    return (uint8_t)(0x80 | ir);
}

static uint8_t pic_read_reg(struct pic *p, int which, unsigned a0)
{
    struct pic_chip *c = &p->chip[which];
    if (c->poll) {
        c->poll = false;
        return pic_poll(p, which);
    }
    if (a0)
        return c->imr;
    return c->read_isr ? c->isr : c->irr;
}

static uint64_t pic_io_read(struct pic *p, int which, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t b = off + i < 2 ? pic_read_reg(p, which, (unsigned)(off + i)) : 0xff;
        v |= b << (8 * i);
    }
    return v;
}

static void pic_io_write(struct pic *p, int which, uint64_t off, uint64_t val, unsigned size)
{
    for (unsigned i = 0; i < size && i < 8; i++)
        if (off + i < 2)
            chip_write(&p->chip[which], (unsigned)(off + i), (uint8_t)(val >> (8 * i)));
    pic_update(p);
}

static uint64_t master_read(void *o, uint64_t off, unsigned size)
{
    return pic_io_read(o, PIC_MASTER, off, size);
}

static void master_write(void *o, uint64_t off, uint64_t val, unsigned size)
{
    pic_io_write(o, PIC_MASTER, off, val, size);
}

static uint64_t slave_read(void *o, uint64_t off, unsigned size)
{
    return pic_io_read(o, PIC_SLAVE, off, size);
}

static void slave_write(void *o, uint64_t off, uint64_t val, unsigned size)
{
    pic_io_write(o, PIC_SLAVE, off, val, size);
}

/* ELCR: 0x4d0 controls IRQ 0-7, 0x4d1 IRQ 8-15; 1 = level-triggered. */
static uint64_t elcr_read(void *o, uint64_t off, unsigned size)
{
    struct pic *p = o;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++)
        v |= (uint64_t)(off + i < 2 ? p->chip[off + i].elcr : 0xff) << (8 * i);
    return v;
}

static void elcr_write(void *o, uint64_t off, uint64_t val, unsigned size)
{
    struct pic *p = o;
    for (unsigned i = 0; i < size && i < 8; i++) {
        if (off + i >= 2)
            continue;
        struct pic_chip *c = &p->chip[off + i];
        c->elcr = (uint8_t)(val >> (8 * i)) & elcr_mask[off + i];
        /* Level inputs now mirror their line. */
        for (int ir = 0; ir < 8; ir++) {
            uint8_t m = (uint8_t)(1u << ir);
            if (chip_is_level(c, ir))
                c->irr = (c->lines & m) ? (c->irr | m) : (c->irr & ~m);
        }
    }
    pic_update(p);
}

static const struct io_ops master_ops = { master_read, master_write };
static const struct io_ops slave_ops = { slave_read, slave_write };
static const struct io_ops elcr_ops = { elcr_read, elcr_write };

/* ---- public API ------------------------------------------------------- */

void pic_init(struct pic *p, struct bus *bus)
{
    memset(p, 0, sizeof(*p));
    for (int i = 0; i < 2; i++)
        chip_reset(&p->chip[i]);
    /* Left as a PC BIOS leaves it (there is no BIOS): vectors 0x08 and
     * 0x70, cascade on IR2, everything but the cascade masked. */
    p->chip[PIC_MASTER].vector_base = 0x08;
    p->chip[PIC_MASTER].icw3 = 1u << CASCADE_IR;
    p->chip[PIC_MASTER].imr = 0xff & ~(1u << CASCADE_IR);
    p->chip[PIC_SLAVE].vector_base = 0x70;
    p->chip[PIC_SLAVE].icw3 = CASCADE_IR;
    p->chip[PIC_SLAVE].imr = 0xff;
    if (bus) {
        bus_register(bus, BUS_PIO, 0x20, 2, &master_ops, p);
        bus_register(bus, BUS_PIO, 0xa0, 2, &slave_ops, p);
        bus_register(bus, BUS_PIO, 0x4d0, 2, &elcr_ops, p);
    }
}

void pic_set_notify(struct pic *p, void (*fn)(void *ctx, bool intr), void *ctx)
{
    p->notify = fn;
    p->notify_ctx = ctx;
}

void pic_set_irq(struct pic *p, unsigned irq, int level)
{
    if (irq >= 16 || irq == CASCADE_IR)
        return;
    chip_set_input(&p->chip[irq >> 3], (int)(irq & 7), level != 0);
    pic_update(p);
}

bool pic_has_intr(struct pic *p)
{
    return __atomic_load_n(&p->intr, __ATOMIC_ACQUIRE) != 0;
}

int pic_ack(struct pic *p)
{
    struct pic_chip *m = &p->chip[PIC_MASTER], *s = &p->chip[PIC_SLAVE];
    int vec;
    int ir = chip_pending(m, true);
    if (ir < 0) {
        vec = m->vector_base | 7; /* request gone: spurious IR7, ISR untouched */
    } else {
        chip_ack(m, ir);
        if (pic_cascaded(p, ir)) {
            int sir = chip_pending(s, false);
            if (sir < 0) {
                vec = s->vector_base | 7; /* spurious IRQ15; master ISR2 stays set */
            } else {
                chip_ack(s, sir);
                vec = s->vector_base | sir;
            }
        } else {
            vec = m->vector_base | ir;
        }
    }
    pic_update(p);
    return vec;
}
