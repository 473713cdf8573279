/* test_rtc.c — MC146818 RTC / CMOS on fake monotonic and wall clocks. */
#include "test.h"

#include <string.h>

#include "hw/bus.h"
#include "hw/clock.h"
#include "hw/rtc.h"

#define SEC 1000000000ull
#define T0 1709214356 /* 2024-02-29 13:45:56 UTC, a Thursday */

struct rtc_env {
    struct bus bus;
    struct rtc rtc;
    struct irq_sink sink;
    uint64_t now;
    int64_t wall;
    int level, rises;
};

static void env_irq(void *ctx, unsigned gsi, int level)
{
    struct rtc_env *e = ctx;
    if (gsi != 8)
        return;
    if (level && !e->level)
        e->rises++;
    e->level = level;
}

static uint64_t env_mono(void *ctx)
{
    return ((struct rtc_env *)ctx)->now;
}

static int64_t env_wall(void *ctx)
{
    return ((struct rtc_env *)ctx)->wall;
}

static void env_init(struct rtc_env *e, int64_t wall)
{
    memset(e, 0, sizeof(*e));
    bus_init(&e->bus, 16 << 20);
    e->sink = (struct irq_sink){ env_irq, e };
    e->now = 1000;
    e->wall = wall;
    rtc_init(&e->rtc, &e->bus, &e->sink, 8);
    rtc_set_clock(&e->rtc, env_mono, env_wall, e);
}

static uint8_t cmos_read(struct rtc_env *e, uint8_t idx)
{
    bus_pio_write(&e->bus, 0x70, idx, 1);
    return (uint8_t)bus_pio_read(&e->bus, 0x71, 1);
}

static void cmos_write(struct rtc_env *e, uint8_t idx, uint8_t v)
{
    bus_pio_write(&e->bus, 0x70, idx, 1);
    bus_pio_write(&e->bus, 0x71, v, 1);
}

/* The first update cycle comes 1 s after the clock was set (now = 1000). */
#define FIRST_UPDATE (1000 + SEC)

TEST(rtc_time_registers_bcd_match_wall_clock)
{
    struct rtc_env e;
    env_init(&e, T0);
    CHECK_EQ(cmos_read(&e, 0x00), 0x56);
    CHECK_EQ(cmos_read(&e, 0x02), 0x45);
    CHECK_EQ(cmos_read(&e, 0x04), 0x13);
    CHECK_EQ(cmos_read(&e, 0x06), 0x05); /* Thursday (Sunday = 1) */
    CHECK_EQ(cmos_read(&e, 0x07), 0x29);
    CHECK_EQ(cmos_read(&e, 0x08), 0x02);
    CHECK_EQ(cmos_read(&e, 0x09), 0x24);
    CHECK_EQ(cmos_read(&e, 0x32), 0x20);
    CHECK_EQ(cmos_read(&e, 0x0d), 0x80); /* valid RAM and time */
    e.now = FIRST_UPDATE - 1;
    CHECK_EQ(cmos_read(&e, 0x00), 0x56);
    e.now = FIRST_UPDATE;
    CHECK_EQ(cmos_read(&e, 0x00), 0x57);
    e.now = FIRST_UPDATE + 4 * SEC; /* 13:46:01 */
    CHECK_EQ(cmos_read(&e, 0x00), 0x01);
    CHECK_EQ(cmos_read(&e, 0x02), 0x46);
    bus_destroy(&e.bus);
}

TEST(rtc_century_rollover)
{
    struct rtc_env e;
    env_init(&e, 4102444799); /* 2099-12-31 23:59:59 */
    CHECK_EQ(cmos_read(&e, 0x09), 0x99);
    e.now = FIRST_UPDATE;
    CHECK_EQ(cmos_read(&e, 0x00), 0x00);
    CHECK_EQ(cmos_read(&e, 0x04), 0x00);
    CHECK_EQ(cmos_read(&e, 0x07), 0x01);
    CHECK_EQ(cmos_read(&e, 0x08), 0x01);
    CHECK_EQ(cmos_read(&e, 0x09), 0x00);
    CHECK_EQ(cmos_read(&e, 0x32), 0x21);
    CHECK_EQ(cmos_read(&e, 0x06), 0x06); /* 2100-01-01 is a Friday */
    bus_destroy(&e.bus);
}

TEST(rtc_binary_and_12_hour_modes)
{
    struct rtc_env e;
    env_init(&e, T0);
    cmos_write(&e, 0x0b, 0x06); /* binary, 24 h */
    CHECK_EQ(cmos_read(&e, 0x00), 56);
    CHECK_EQ(cmos_read(&e, 0x04), 13);
    CHECK_EQ(cmos_read(&e, 0x09), 24);
    cmos_write(&e, 0x0b, 0x04); /* binary, 12 h */
    CHECK_EQ(cmos_read(&e, 0x04), 0x81); /* 1 PM */
    cmos_write(&e, 0x0b, 0x00); /* BCD, 12 h */
    CHECK_EQ(cmos_read(&e, 0x04), 0x81);
    bus_destroy(&e.bus);
    env_init(&e, T0 - 13 * 3600 - 15 * 60); /* 00:30:56 */
    cmos_write(&e, 0x0b, 0x00);
    CHECK_EQ(cmos_read(&e, 0x04), 0x12); /* 12 AM */
    bus_destroy(&e.bus);
}

TEST(rtc_update_interrupt_and_register_c)
{
    struct rtc_env e;
    env_init(&e, T0);
    CHECK_EQ(rtc_next_deadline(&e.rtc), CLOCK_NEVER); /* nothing enabled */
    cmos_write(&e, 0x0a, 0x20); /* no periodic rate, so PF stays clear */
    cmos_write(&e, 0x0b, 0x12); /* UIE, 24 h */
    CHECK_EQ(rtc_next_deadline(&e.rtc), FIRST_UPDATE);
    rtc_advance(&e.rtc, FIRST_UPDATE - 1);
    CHECK_EQ(e.level, 0);
    rtc_advance(&e.rtc, FIRST_UPDATE);
    CHECK_EQ(e.level, 1);
    e.now = FIRST_UPDATE + 10;
    CHECK_EQ(cmos_read(&e, 0x0c), 0x90); /* IRQF | UF */
    CHECK_EQ(e.level, 0);                /* reading C drops the line */
    CHECK_EQ(cmos_read(&e, 0x0c), 0x00);
    CHECK_EQ(rtc_next_deadline(&e.rtc), FIRST_UPDATE + SEC);
    /* Flags are set even with the interrupt disabled. */
    cmos_write(&e, 0x0b, 0x02);
    e.now = FIRST_UPDATE + SEC;
    CHECK_EQ(cmos_read(&e, 0x0c), 0x10);
    CHECK_EQ(e.level, 0);
    bus_destroy(&e.bus);
}

TEST(rtc_periodic_interrupt)
{
    struct rtc_env e;
    env_init(&e, T0);
    cmos_write(&e, 0x0a, 0x26); /* 1024 Hz: 976562.5 ns */
    cmos_write(&e, 0x0b, 0x42); /* PIE */
    e.now = 1000 + 976562;
    CHECK_EQ(cmos_read(&e, 0x0c), 0x00);
    CHECK_EQ(rtc_next_deadline(&e.rtc), 1000 + 976563);
    rtc_advance(&e.rtc, 1000 + 976562);
    CHECK_EQ(e.level, 0);
    rtc_advance(&e.rtc, 1000 + 976563);
    CHECK_EQ(e.level, 1);
    CHECK_EQ(cmos_read(&e, 0x0c) & 0xc0, 0xc0);
    CHECK_EQ(rtc_next_deadline(&e.rtc), 1000 + 1953125);
    cmos_write(&e, 0x0a, 0x2f); /* 2 Hz */
    CHECK_EQ(rtc_next_deadline(&e.rtc), 1000 + SEC / 2);
    cmos_write(&e, 0x0a, 0x20); /* rate 0: off */
    CHECK_EQ(rtc_next_deadline(&e.rtc), CLOCK_NEVER);
    bus_destroy(&e.bus);
}

TEST(rtc_alarm_interrupt)
{
    struct rtc_env e;
    env_init(&e, T0);
    cmos_write(&e, 0x0a, 0x20); /* no periodic rate */
    cmos_write(&e, 0x01, 0x00); /* 13:46:00 */
    cmos_write(&e, 0x03, 0x46);
    cmos_write(&e, 0x05, 0x13);
    cmos_write(&e, 0x0b, 0x22); /* AIE */
    /* 13:45:56 -> 13:46:00 is the 4th update. */
    CHECK_EQ(rtc_next_deadline(&e.rtc), FIRST_UPDATE + 3 * SEC);
    rtc_advance(&e.rtc, FIRST_UPDATE + 2 * SEC);
    CHECK_EQ(e.level, 0);
    rtc_advance(&e.rtc, FIRST_UPDATE + 3 * SEC);
    CHECK_EQ(e.level, 1);
    e.now = FIRST_UPDATE + 3 * SEC;
    CHECK_EQ(cmos_read(&e, 0x0c), 0xb0); /* IRQF | AF | UF */
    /* "Don't care" bytes: every minute at :30. */
    cmos_write(&e, 0x01, 0x30);
    cmos_write(&e, 0x03, 0xc0);
    cmos_write(&e, 0x05, 0xff);
    CHECK_EQ(rtc_next_deadline(&e.rtc), FIRST_UPDATE + 33 * SEC);
    /* An impossible alarm never fires. */
    cmos_write(&e, 0x01, 0x75);
    CHECK_EQ(rtc_next_deadline(&e.rtc), CLOCK_NEVER);
    bus_destroy(&e.bus);
}

TEST(rtc_uip_before_update)
{
    struct rtc_env e;
    env_init(&e, T0);
    e.now = FIRST_UPDATE - 300000;
    CHECK_EQ(cmos_read(&e, 0x0a), 0x26);
    e.now = FIRST_UPDATE - 200000;
    CHECK_EQ(cmos_read(&e, 0x0a), 0xa6);
    e.now = FIRST_UPDATE;
    CHECK_EQ(cmos_read(&e, 0x0a), 0x26);
    bus_destroy(&e.bus);
}

TEST(rtc_set_time_with_set_bit)
{
    struct rtc_env e;
    env_init(&e, T0);
    e.now = 300 * 1000000ull; /* 0.3 s into the second */
    cmos_write(&e, 0x0b, 0x92); /* SET (+ UIE, which SET clears) */
    CHECK_EQ(cmos_read(&e, 0x0b), 0x82);
    static const uint8_t t[][2] = {
        { 0x00, 0x00 }, { 0x02, 0x00 }, { 0x04, 0x00 }, { 0x07, 0x01 },
        { 0x08, 0x01 }, { 0x09, 0x00 }, { 0x32, 0x20 },
    };
    for (unsigned i = 0; i < sizeof t / sizeof t[0]; i++)
        cmos_write(&e, t[i][0], t[i][1]);
    e.now = 5 * SEC; /* no updates while SET */
    CHECK_EQ(cmos_read(&e, 0x00), 0x00);
    CHECK_EQ(cmos_read(&e, 0x08), 0x01);
    cmos_write(&e, 0x0b, 0x02);
    CHECK_EQ(cmos_read(&e, 0x09), 0x00);
    CHECK_EQ(cmos_read(&e, 0x06), 0x07); /* 2000-01-01 was a Saturday */
    /* The divider kept running: the next update is on the old grid. */
    e.now = 5 * SEC + 1000 - 1;
    CHECK_EQ(cmos_read(&e, 0x00), 0x00);
    e.now = 5 * SEC + 1000;
    CHECK_EQ(cmos_read(&e, 0x00), 0x01);
    /* Divider reset: stopped; released, the first update is 500 ms later. */
    cmos_write(&e, 0x0a, 0x70);
    e.now = 20 * SEC;
    CHECK_EQ(cmos_read(&e, 0x00), 0x01);
    cmos_write(&e, 0x0a, 0x26);
    e.now = 20 * SEC + SEC / 2 - 1;
    CHECK_EQ(cmos_read(&e, 0x00), 0x01);
    e.now = 20 * SEC + SEC / 2;
    CHECK_EQ(cmos_read(&e, 0x00), 0x02);
    /* Writing a single byte while running takes effect at once. */
    cmos_write(&e, 0x02, 0x59);
    CHECK_EQ(cmos_read(&e, 0x02), 0x59);
    CHECK_EQ(cmos_read(&e, 0x00), 0x02);
    bus_destroy(&e.bus);
}

TEST(rtc_nvram_and_index_port)
{
    struct rtc_env e;
    env_init(&e, T0);
    cmos_write(&e, 0x40, 0xab);
    cmos_write(&e, 0x7f, 0xcd);
    bus_pio_write(&e.bus, 0x70, 0x80 | 0x40, 1); /* NMI-mask bit is not index */
    CHECK_EQ(bus_pio_read(&e.bus, 0x71, 1), 0xab);
    CHECK_EQ(cmos_read(&e, 0x7f), 0xcd);
    cmos_write(&e, 0x0d, 0x00); /* read-only */
    CHECK_EQ(cmos_read(&e, 0x0d), 0x80);
    rtc_set_memory(&e.rtc, 64ull << 20, 1ull << 30);
    CHECK_EQ(cmos_read(&e, 0x34), 0x00);
    CHECK_EQ(cmos_read(&e, 0x35), 0x03); /* 48 MiB / 64 KiB = 0x300 */
    CHECK_EQ(cmos_read(&e, 0x5b), 0x00);
    CHECK_EQ(cmos_read(&e, 0x5c), 0x40); /* 1 GiB / 64 KiB = 0x4000 */
    CHECK_EQ(cmos_read(&e, 0x5d), 0x00);
    CHECK_EQ(cmos_read(&e, 0x15) | cmos_read(&e, 0x16) << 8, 640);
    bus_destroy(&e.bus);
}

TEST(rtc_hostile_writes)
{
    struct rtc_env e;
    env_init(&e, T0);
    uint32_t x = 777;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        e.now += (x >> 12) % 50000000;
        cmos_write(&e, (uint8_t)(x >> 24), (uint8_t)(x >> 16));
        (void)cmos_read(&e, (uint8_t)(x >> 8));
        rtc_advance(&e.rtc, e.now);
        uint64_t d = rtc_next_deadline(&e.rtc);
        CHECK(d == CLOCK_NEVER || d > e.now);
    }
    bus_destroy(&e.bus);
}
