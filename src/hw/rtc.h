/*
 * rtc.h — MC146818 real-time clock and CMOS RAM at ports 0x70 (index) /
 * 0x71 (data), interrupting on a GSI (IRQ 8).
 *
 * The clock starts from the host's wall-clock time (UTC) and runs on
 * virtual time.  Interrupt flags are evaluated lazily from time; the machine
 * loop calls rtc_next_deadline() / rtc_advance() so that enabled interrupts
 * are raised on time.  All calls must hold bus->lock.
 */
#ifndef NESTVM_HW_RTC_H
#define NESTVM_HW_RTC_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/irq.h"

struct rtc {
    uint8_t index;        /* selected register (port 0x70 bits 6..0) */
    bool nmi_disabled;    /* port 0x70 bit 7: stored, no NMI source here */
    uint8_t cmos[128];    /* registers A, B, NVRAM; time bytes while frozen */
    uint8_t regc;         /* PF / AF / UF flags (register C bits 6..4) */
    int irq_level;

    /* Time keeping: the time reads base_sec until base_ns, then one second
     * more at base_ns and at every 1e9 ns after it (the update cycles). */
    int64_t base_sec;     /* seconds since 1970-01-01 UTC */
    uint64_t base_ns;     /* next update after the last re-basing */
    uint64_t div_ns;      /* divider chain start: phase of periodic interrupts */
    uint64_t last_ns;     /* flags are evaluated up to this time */
    bool frozen;          /* SET or divider reset: updates stopped */

    const struct irq_sink *irq;
    unsigned gsi;
    uint64_t (*mono_ns)(void *ctx);  /* virtual time */
    int64_t (*wall_sec)(void *ctx);  /* host wall clock, UTC seconds */
    void *clock_ctx;
};

/* Resets the chip, sets the time from the host and registers 0x70-0x71. */
void rtc_init(struct rtc *r, struct bus *bus, const struct irq_sink *irq, unsigned gsi);

/* Replaces both time sources (NULL = host) and re-reads the wall clock. */
void rtc_set_clock(struct rtc *r, uint64_t (*mono_ns)(void *ctx), int64_t (*wall_sec)(void *ctx),
                   void *ctx);

/* Records the RAM size in the CMOS bytes PC firmware conventionally uses:
 * 0x15/0x16 base KiB, 0x17/0x18 and 0x30/0x31 KiB above 1 MiB, 0x34/0x35
 * 64 KiB units above 16 MiB, 0x5b-0x5d 64 KiB units above 4 GiB. */
void rtc_set_memory(struct rtc *r, uint64_t below_4g, uint64_t above_4g);

/* Absolute ns when an enabled interrupt will next be raised, or CLOCK_NEVER. */
uint64_t rtc_next_deadline(struct rtc *r);

/* Sets the flags whose events happened up to now_ns and updates IRQ 8. */
void rtc_advance(struct rtc *r, uint64_t now_ns);

#endif
