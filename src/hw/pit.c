/*
 * pit.c — 8254 programmable interval timer (Intel 8254 datasheet) and PC
 * port 0x61.
 *
 * Time is counted in ticks of the 1.193182 MHz input clock: tick(ns) =
 * floor(ns * f / 1e9), so each CLK rising edge happens at an integer tick.
 * A counter is never stepped; its counting element (CE) and OUT are closed
 * formulas of the current tick T and of an anchor tick A:
 *
 *  - A count written (or a gate trigger) at tick A is loaded into CE on the
 *    next CLK edge, A+1 (datasheet: "the count is loaded on the next CLK
 *    pulse"), and decremented on each edge after that.
 *  - One-shot modes 0, 1, 4, 5: CE(T) = v0 - (T - A) with v0 = n + 1 after
 *    a load, so CE(A+1) = n and CE reaches 0 at T = A + n + 1.  Past 0 the
 *    counter wraps (reads are taken modulo 2^16 or 10^4) and keeps going.
 *  - Periodic modes 2, 3: with d = T - A >= 1 and pos = (d-1) mod n, CE =
 *    n - pos (mode 2) and the reload happens at d = k*n + 1.
 *
 * OUT per mode (datasheet "Mode Definitions"):
 *   0  low after the count is written, high when CE reaches 0 (stays high)
 *   1  low from the trigger until CE reaches 0 (retriggerable one-shot)
 *   2  high, low for the one CLK where CE = 1 (rate generator)
 *   3  high for ceil(n/2) CLKs, low for floor(n/2) (square wave)
 *   4  high, low for one CLK when CE reaches 0 (software strobe)
 *   5  as 4, started by a gate trigger (hardware strobe)
 *
 * Gate: modes 0, 4 suspend counting while low (PIT_FROZEN); 2, 3 stop with
 * OUT high and reload on the rising edge; 1, 5 start on the rising edge.
 * Only channel 2's gate is wired (port 0x61 bit 0); 0 and 1 are tied high.
 *
 * IRQ 0 is pulsed on each rising edge of channel 0's OUT; rising edges are
 * found analytically from the last delivered tick, so late calls coalesce
 * missed periods into one pulse as an edge-triggered PIC input would.
 */
#include "hw/pit.h"

#include <string.h>

#include "hw/clock.h"

enum { PIT_IDLE, PIT_WAIT, PIT_RUN, PIT_FROZEN };

#define TICK_NEVER UINT64_MAX

/* ---- time conversion -------------------------------------------------- */

static uint64_t ns_to_tick(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * PIT_HZ / 1000000000u);
}

/* First ns at which ns_to_tick() reaches t. */
static uint64_t tick_to_ns(uint64_t t)
{
    unsigned __int128 ns = ((unsigned __int128)t * 1000000000u + PIT_HZ - 1) / PIT_HZ;
    return ns >= CLOCK_NEVER ? CLOCK_NEVER - 1 : (uint64_t)ns;
}

static uint64_t default_clock(void *ctx)
{
    return clock_host_ns();
}

static uint64_t since(uint64_t t, uint64_t a)
{
    return t > a ? t - a : 0;
}

/* ---- counting element ------------------------------------------------- */

static uint32_t modulus(const struct pit_channel *c)
{
    return c->bcd ? 10000 : 65536;
}

/* Initial count from the count register (0 means the maximum). */
static uint32_t decode_count(const struct pit_channel *c, uint16_t cr)
{
    uint32_t v = cr;
    if (c->bcd)
        v = ((cr >> 12) & 15) * 1000 + ((cr >> 8) & 15) * 100 + ((cr >> 4) & 15) * 10 + (cr & 15);
    v %= modulus(c); /* invalid BCD digits wrap instead of overflowing */
    return v ? v : modulus(c);
}

static bool periodic(const struct pit_channel *c)
{
    return c->mode == 2 || c->mode == 3;
}

/* Anchor and count in force at tick t (modes 2/3 may have a pending count). */
static void segment(const struct pit_channel *c, uint64_t t, uint64_t *a, uint32_t *n)
{
    if (c->pend && t >= c->pend_tick) {
        *a = c->pend_tick - 1;
        *n = c->pend_n;
    } else {
        *a = c->anchor;
        *n = c->n;
    }
}

/* CE at tick t as a signed number (may be <= 0 after terminal count). */
static int64_t ce_value(const struct pit_channel *c, uint64_t t)
{
    if (c->state != PIT_RUN)
        return c->v0;
    if (!periodic(c)) {
        if (c->fresh && t <= c->anchor)
            return c->n;
        return c->v0 - (int64_t)since(t, c->anchor);
    }
    uint64_t a;
    uint32_t n;
    segment(c, t, &a, &n);
    uint64_t d = since(t, a);
    if (d == 0)
        return n;
    uint64_t pos = (d - 1) % n;
    if (c->mode == 2)
        return (int64_t)(n - pos);
    /* Mode 3 decrements by two in each half (odd counts start from n-1). */
    uint64_t half = (n + 1) / 2;
    uint64_t q = pos < half ? pos : pos - half;
    int64_t v = (int64_t)(n & ~1u) - 2 * (int64_t)q;
    return v > 0 ? v : 0;
}

/* The value a read sees: CE modulo the counter width, BCD-encoded if so. */
static uint16_t read_value(const struct pit_channel *c, uint64_t t)
{
    int64_t m = modulus(c);
    int64_t v = ce_value(c, t) % m;
    if (v < 0)
        v += m;
    if (!c->bcd)
        return (uint16_t)v;
    return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | (v % 10));
}

static bool out_level(const struct pit_channel *c, uint64_t t)
{
    if (c->state != PIT_RUN) {
        if (c->state == PIT_FROZEN) {
            if (c->mode == 0)
                return c->v0 <= 0;
            return true; /* 2/3 forced high by the gate; 4 idles high */
        }
        return c->out_idle;
    }
    switch (c->mode) {
    case 0:
    case 1:
        return ce_value(c, t) <= 0 && !(c->fresh && t <= c->anchor);
    case 4:
    case 5:
        return ce_value(c, t) != 0 || (c->fresh && t <= c->anchor);
    default: {
        uint64_t a;
        uint32_t n;
        segment(c, t, &a, &n);
        uint64_t d = since(t, a);
        if (d == 0 || n < 2)
            return true;
        uint64_t pos = (d - 1) % n;
        if (c->mode == 2)
            return pos != n - 1;
        return pos < (n + 1) / 2;
    }
    }
}

/* Smallest tick > after at which OUT rises, or TICK_NEVER. */
static uint64_t next_rise(const struct pit_channel *c, uint64_t after)
{
    if (c->state != PIT_RUN)
        return TICK_NEVER;
    if (!periodic(c)) {
        if (c->v0 <= 0)
            return TICK_NEVER; /* terminal count already passed */
        uint64_t t = c->anchor + (uint64_t)c->v0; /* CE reaches 0 */
        if (c->mode == 4 || c->mode == 5)
            t++; /* OUT comes back after the one-CLK strobe */
        return t > after ? t : TICK_NEVER;
    }
    /* The reload tick where a pending count takes over is itself an edge of
     * the old period, and no old edge lies between the write and it. */
    if (c->pend && after < c->pend_tick)
        return c->pend_tick;
    uint64_t a;
    uint32_t n;
    segment(c, after + 1, &a, &n);
    if (n < 2)
        return TICK_NEVER; /* count 1 is illegal in modes 2/3: no edges */
    /* Rising edges at a + k*n + 1, k >= 1. */
    uint64_t k = after < a + n + 1 ? 1 : (after - a - 1) / n + 1;
    return a + k * n + 1;
}

/* Promote a pending mode 2/3 count whose reload tick has passed. */
static void settle(struct pit_channel *c, uint64_t t)
{
    if (c->pend && t >= c->pend_tick) {
        c->anchor = c->pend_tick - 1;
        c->n = c->pend_n;
        c->fresh = true;
        c->pend = false;
    }
}

/* Stop counting and hold the current CE value. */
static void hold(struct pit_channel *c, uint64_t t, uint8_t state)
{
    int64_t v = ce_value(c, t);
    if (c->state == PIT_RUN && !periodic(c) && c->fresh && t <= c->anchor)
        v = c->n; /* the load still happens on the next CLK */
    c->v0 = v;
    if (c->pend) { /* the waiting count is what the next reload uses */
        c->n = c->pend_n;
        c->pend = false;
    }
    c->state = state;
}

static void start(struct pit_channel *c, uint64_t t)
{
    c->state = PIT_RUN;
    c->anchor = t;
    c->fresh = true;
    c->v0 = (int64_t)c->n + 1;
    c->pend = false;
    c->null_until = t;
}

/* ---- programming ------------------------------------------------------ */

/* A complete count was written to the count register at tick t. */
static void load_count(struct pit_channel *c, uint16_t cr, uint64_t t)
{
    uint32_t n = decode_count(c, cr);
    c->null_count = true;
    switch (c->mode) {
    case 0:
    case 4:
        c->n = n;
        c->out_idle = c->mode != 0;
        if (c->gate) {
            start(c, t);
        } else {
            c->state = PIT_FROZEN; /* loaded on the next CLK, then waits */
            c->v0 = n;
            c->null_until = t;
        }
        break;
    case 1:
    case 5:
        c->n = n; /* used by the next trigger */
        if (c->state == PIT_IDLE)
            c->state = PIT_WAIT;
        c->null_until = TICK_NEVER;
        break;
    default: /* 2, 3 */
        if (c->state == PIT_RUN) {
            /* "A new count written during counting is loaded at the end of
             * the current counting cycle." */
            uint64_t k = t < c->anchor + c->n + 1 ? 1 : (t - c->anchor - 1) / c->n + 1;
            c->pend = true;
            c->pend_n = n;
            c->pend_tick = c->anchor + k * c->n + 1;
            c->null_until = c->pend_tick - 1;
        } else {
            c->n = n;
            if (c->gate) {
                start(c, t);
            } else {
                c->state = PIT_FROZEN; /* reloaded when the gate rises */
                c->v0 = n;
                c->null_until = TICK_NEVER;
            }
        }
        break;
    }
}

static void set_gate(struct pit_channel *c, bool level, uint64_t t)
{
    if (level == c->gate)
        return;
    c->gate = level;
    if (level) {
        switch (c->mode) {
        case 0:
        case 4:
            if (c->state == PIT_FROZEN) { /* resume from the held value */
                c->state = PIT_RUN;
                c->anchor = t;
                c->fresh = false;
            }
            break;
        case 1:
        case 5:
            if (c->state != PIT_IDLE)
                start(c, t); /* trigger (re)starts the one-shot */
            break;
        default:
            if (c->state == PIT_FROZEN)
                start(c, t); /* reload on the rising edge */
            break;
        }
    } else if (c->state == PIT_RUN && c->mode != 1 && c->mode != 5) {
        hold(c, t, PIT_FROZEN);
    }
}

static void control_word(struct pit_channel *c, uint8_t v, uint64_t t)
{
    if (c->state == PIT_RUN)
        hold(c, t, PIT_IDLE); /* CE keeps its last value */
    c->state = PIT_IDLE;
    c->mode_bits = (v >> 1) & 7;
    c->mode = c->mode_bits >= 6 ? c->mode_bits - 4 : c->mode_bits;
    c->rw = (v >> 4) & 3;
    c->bcd = v & 1;
    c->out_idle = c->mode != 0; /* mode 0: OUT low; all others: high */
    c->pend = false;
    c->wr_msb = false;
    c->rd_msb = false;
    c->latch_left = 0;
    c->status_latched = false;
    c->null_count = true;
    c->null_until = TICK_NEVER;
}

static void latch_count(struct pit_channel *c, uint64_t t)
{
    if (c->latch_left)
        return; /* "multiple latch commands without reading: only the first counts" */
    c->latch = read_value(c, t);
    c->latch_left = c->rw == 3 ? 2 : 1;
    c->latch_msb = c->rw == 2;
}

static uint8_t status_byte(const struct pit_channel *c, uint64_t t)
{
    bool null = c->null_count && t <= c->null_until;
    return (uint8_t)(out_level(c, t) << 7 | null << 6 | c->rw << 4 | c->mode_bits << 1 | c->bcd);
}

static void write_control(struct pit *p, uint8_t v, uint64_t t)
{
    unsigned sc = v >> 6;
    if (sc == 3) { /* read-back: bit 5 = !COUNT, bit 4 = !STATUS, bits 3..1 = CNT2..0 */
        for (int i = 0; i < 3; i++) {
            struct pit_channel *c = &p->ch[i];
            if (!(v & (2u << i)))
                continue;
            if (!(v & 0x20))
                latch_count(c, t);
            if (!(v & 0x10) && !c->status_latched) {
                c->status = status_byte(c, t);
                c->status_latched = true;
            }
        }
        return;
    }
    if (((v >> 4) & 3) == 0)
        latch_count(&p->ch[sc], t);
    else
        control_word(&p->ch[sc], v, t);
}

static void write_counter(struct pit_channel *c, uint8_t v, uint64_t t)
{
    switch (c->rw) {
    case 1:
        load_count(c, v, t);
        break;
    case 2:
        load_count(c, (uint16_t)(v << 8), t);
        break;
    default:
        if (!c->wr_msb) {
            c->wr_lsb = v;
            c->wr_msb = true;
            /* Mode 0: writing the first byte stops the count, OUT low. */
            if (c->mode == 0 && c->state != PIT_IDLE) {
                hold(c, t, PIT_IDLE);
                c->out_idle = false;
            }
        } else {
            c->wr_msb = false;
            load_count(c, (uint16_t)(c->wr_lsb | v << 8), t);
        }
        break;
    }
}

static uint8_t read_counter(struct pit_channel *c, uint64_t t)
{
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    uint16_t v;
    bool msb;
    if (c->latch_left) {
        v = c->latch;
        msb = c->latch_msb;
        c->latch_msb = !c->latch_msb;
        c->latch_left--;
    } else {
        v = read_value(c, t);
        msb = c->rw == 2 || (c->rw == 3 && c->rd_msb);
        if (c->rw == 3)
            c->rd_msb = !c->rd_msb;
    }
    return msb ? v >> 8 : v & 0xff;
}

/* ---- time and interrupt ------------------------------------------------ */

/* Deliver channel 0's rising edges up to tick t; promote pending counts. */
static void catch_up(struct pit *p, uint64_t t)
{
    if (t > p->last_tick) {
        if (next_rise(&p->ch[0], p->last_tick) <= t)
            irq_pulse(p->irq, p->gsi);
        p->last_tick = t;
    }
    for (int i = 0; i < 3; i++)
        settle(&p->ch[i], p->last_tick);
}

/* Current tick for an io access: never behind what advance has seen. */
static uint64_t io_tick(struct pit *p)
{
    uint64_t t = ns_to_tick(p->clock(p->clock_ctx));
    if (t < p->last_tick)
        t = p->last_tick;
    catch_up(p, t);
    return t;
}

uint64_t pit_next_deadline(struct pit *p)
{
    uint64_t t = next_rise(&p->ch[0], p->last_tick);
    return t == TICK_NEVER ? CLOCK_NEVER : tick_to_ns(t);
}

void pit_advance(struct pit *p, uint64_t now_ns)
{
    catch_up(p, ns_to_tick(now_ns));
}

/* ---- io ---------------------------------------------------------------- */

static uint8_t pit_read_reg(struct pit *p, unsigned off, uint64_t t)
{
    if (off < 3)
        return read_counter(&p->ch[off], t);
    return 0xff; /* the control word register cannot be read */
}

static uint64_t pit_io_read(void *opaque, uint64_t off, unsigned size)
{
    struct pit *p = opaque;
    uint64_t t = io_tick(p), v = 0;
    for (unsigned i = 0; i < size && i < 8; i++)
        v |= (uint64_t)(off + i < 4 ? pit_read_reg(p, (unsigned)(off + i), t) : 0xff) << (8 * i);
    return v;
}

static void pit_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pit *p = opaque;
    uint64_t t = io_tick(p);
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint8_t b = (uint8_t)(val >> (8 * i));
        if (off + i < 3)
            write_counter(&p->ch[off + i], b, t);
        else if (off + i == 3)
            write_control(p, b, t);
    }
}

/*
 * Port 0x61, system control port B (PC/AT convention):
 *   bit 0  timer 2 gate (rw)         bit 4  refresh request toggle (ro),
 *   bit 1  speaker data enable (rw)         flips every 15.085 us
 *   bits 2-3 parity/IOCHK enables    bit 5  timer 2 OUT (ro)
 *   bits 6-7 IOCHK / SERR status (ro, always 0 here)
 */
static uint64_t port61_read(void *opaque, uint64_t off, unsigned size)
{
    struct pit *p = opaque;
    uint64_t ns = p->clock(p->clock_ctx);
    uint64_t t = io_tick(p);
    uint8_t v = p->port61 & 0x0f;
    if ((ns / 15085) & 1)
        v |= 0x10;
    if (out_level(&p->ch[2], t))
        v |= 0x20;
    /* Wider reads: the following ports are not ours. */
    return v | (size > 1 ? ~0ull << 8 : 0);
}

static void port61_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct pit *p = opaque;
    uint64_t t = io_tick(p);
    p->port61 = val & 0x0f;
    set_gate(&p->ch[2], val & 1, t);
}

static const struct io_ops pit_ops = { pit_io_read, pit_io_write };
static const struct io_ops port61_ops = { port61_read, port61_write };

/* ---- public API ------------------------------------------------------- */

void pit_init(struct pit *p, struct bus *bus, const struct irq_sink *irq, unsigned gsi)
{
    memset(p, 0, sizeof(*p));
    p->irq = irq;
    p->gsi = gsi;
    p->clock = default_clock;
    for (int i = 0; i < 3; i++) {
        struct pit_channel *c = &p->ch[i];
        /* Power-on state is undefined; start idle as mode 3, lo/hi. */
        control_word(c, 0x36, 0);
        c->n = 65536;
        c->null_count = false;
        c->gate = i != 2; /* channel 2's gate follows port 0x61 bit 0 */
    }
    if (bus) {
        bus_register(bus, BUS_PIO, 0x40, 4, &pit_ops, p);
        bus_register(bus, BUS_PIO, 0x61, 1, &port61_ops, p);
    }
}

void pit_set_clock(struct pit *p, uint64_t (*clock)(void *ctx), void *ctx)
{
    p->clock = clock ? clock : default_clock;
    p->clock_ctx = ctx;
}
