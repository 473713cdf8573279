/*
 * pit.h — Intel 8254 programmable interval timer at 0x40-0x43 (input clock
 * 1.193182 MHz) plus PC system control port B at 0x61 (channel 2 gate and
 * output, refresh toggle).
 *
 * Channel 0's OUT drives a GSI (IRQ 0) with a pulse on each rising edge;
 * channel 1 exists but drives nothing; channel 2 is gated and read through
 * port 0x61 (PC speaker, TSC calibration).
 *
 * No threads: counts are functions of virtual time.  The machine loop calls
 * pit_next_deadline() / pit_advance(); io callbacks read the time from the
 * clock function (clock_host_ns by default, replaceable for tests).  All
 * calls must hold bus->lock.
 */
#ifndef NESTVM_HW_PIT_H
#define NESTVM_HW_PIT_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/irq.h"

#define PIT_HZ 1193182ull

struct pit_channel {
    /* programming (control word) */
    uint8_t mode;         /* 0-5 (6 and 7 alias 2 and 3) */
    uint8_t mode_bits;    /* M2..M0 as written, for the status byte */
    uint8_t rw;           /* 1 = LSB, 2 = MSB, 3 = LSB then MSB */
    bool bcd;
    uint32_t n;           /* initial count, decoded: 1..65536 or 1..10000 */

    /* counting element, as a function of the tick T (see pit.c) */
    uint8_t state;        /* PIT_IDLE / PIT_WAIT / PIT_RUN / PIT_FROZEN */
    bool fresh;           /* anchor is a load: CE := n on the tick after it */
    uint64_t anchor;      /* tick of the load / trigger / resume */
    int64_t v0;           /* one-shot modes: CE = v0 - (T - anchor); else held value */
    bool out_idle;        /* OUT while nothing counts */
    bool gate;
    bool pend;            /* modes 2/3: new count waits for the next reload */
    uint32_t pend_n;
    uint64_t pend_tick;
    bool null_count;      /* status bit 6, true while T <= null_until */
    uint64_t null_until;

    /* byte access state */
    bool wr_msb;          /* lo/hi write: the MSB comes next */
    uint8_t wr_lsb;
    bool rd_msb;          /* lo/hi live read: the MSB comes next */
    uint8_t latch_left;   /* bytes of the output latch still unread */
    bool latch_msb;
    uint16_t latch;
    bool status_latched;
    uint8_t status;
};

struct pit {
    struct pit_channel ch[3];
    uint8_t port61;       /* writable bits 3..0 of port 0x61 */
    uint64_t last_tick;   /* channel 0 edges up to this tick were delivered */
    const struct irq_sink *irq;
    unsigned gsi;
    uint64_t (*clock)(void *ctx); /* virtual time in ns */
    void *clock_ctx;
};

/* Resets the timer and registers ports 0x40-0x43 and 0x61. */
void pit_init(struct pit *p, struct bus *bus, const struct irq_sink *irq, unsigned gsi);

/* Replaces the time source used inside io callbacks (default clock_host_ns). */
void pit_set_clock(struct pit *p, uint64_t (*clock)(void *ctx), void *ctx);

/* Absolute ns of channel 0's next rising edge of OUT, or CLOCK_NEVER. */
uint64_t pit_next_deadline(struct pit *p);

/* Delivers the IRQ 0 pulse if a rising edge happened up to now_ns.
 * Several missed periods coalesce into one pulse. */
void pit_advance(struct pit *p, uint64_t now_ns);

#endif
