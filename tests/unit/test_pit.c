/* test_pit.c — 8254 PIT and port 0x61 on a fake clock. */
#include "test.h"

#include <string.h>

#include "hw/bus.h"
#include "hw/clock.h"
#include "hw/pit.h"

struct pit_env {
    struct bus bus;
    struct pit pit;
    struct irq_sink sink;
    uint64_t now;    /* fake virtual time, ns */
    int pulses;      /* rising edges seen on GSI 0 */
    int level;
};

static void env_irq(void *ctx, unsigned gsi, int level)
{
    struct pit_env *e = ctx;
    if (gsi != 0)
        return;
    if (level && !e->level)
        e->pulses++;
    e->level = level;
}

static uint64_t env_clock(void *ctx)
{
    return ((struct pit_env *)ctx)->now;
}

static void env_init(struct pit_env *e)
{
    memset(e, 0, sizeof(*e));
    bus_init(&e->bus, 16 << 20);
    e->sink = (struct irq_sink){ env_irq, e };
    pit_init(&e->pit, &e->bus, &e->sink, 0);
    pit_set_clock(&e->pit, env_clock, e);
}

/* First ns at which the 1.193182 MHz clock has produced t edges. */
static uint64_t tick_ns(uint64_t t)
{
    return (t * 1000000000ull + 1193182 - 1) / 1193182;
}

static void outb(struct pit_env *e, uint16_t port, uint8_t v)
{
    bus_pio_write(&e->bus, port, v, 1);
}

static uint8_t inb(struct pit_env *e, uint16_t port)
{
    return (uint8_t)bus_pio_read(&e->bus, port, 1);
}

static void program(struct pit_env *e, int ch, uint8_t ctrl, uint16_t count)
{
    outb(e, 0x43, ctrl);
    outb(e, (uint16_t)(0x40 + ch), count & 0xff);
    outb(e, (uint16_t)(0x40 + ch), count >> 8);
}

static uint16_t read16(struct pit_env *e, int ch)
{
    uint16_t lo = inb(e, (uint16_t)(0x40 + ch));
    return (uint16_t)(lo | inb(e, (uint16_t)(0x40 + ch)) << 8);
}

static int out2(struct pit_env *e)
{
    return (inb(e, 0x61) >> 5) & 1;
}

TEST(pit_mode2_periodic_pulses)
{
    struct pit_env e;
    env_init(&e);
    CHECK_EQ(pit_next_deadline(&e.pit), CLOCK_NEVER); /* idle until programmed */
    program(&e, 0, 0x34, 1000); /* channel 0, lo/hi, mode 2 */
    /* Loaded at tick 1, OUT low at tick 1000, rising edge at 1001. */
    CHECK_EQ(pit_next_deadline(&e.pit), tick_ns(1001));
    pit_advance(&e.pit, tick_ns(1001) - 1);
    CHECK_EQ(e.pulses, 0);
    pit_advance(&e.pit, tick_ns(1001));
    CHECK_EQ(e.pulses, 1);
    CHECK_EQ(e.level, 0); /* a pulse, not a held line */
    for (uint64_t k = 2; k <= 10; k++) {
        uint64_t d = pit_next_deadline(&e.pit);
        CHECK_EQ(d, tick_ns(k * 1000 + 1));
        pit_advance(&e.pit, d);
    }
    CHECK_EQ(e.pulses, 10);
    /* Five periods late: one coalesced pulse, and the next deadline is in
     * the future. */
    pit_advance(&e.pit, tick_ns(15500));
    CHECK_EQ(e.pulses, 11);
    CHECK_EQ(pit_next_deadline(&e.pit), tick_ns(16001));
    bus_destroy(&e.bus);
}

TEST(pit_mode0_fires_once)
{
    struct pit_env e;
    env_init(&e);
    e.now = 7777;
    uint64_t a = 7777ull * 1193182 / 1000000000; /* tick of the write */
    program(&e, 0, 0x30, 500);
    CHECK_EQ(pit_next_deadline(&e.pit), tick_ns(a + 501));
    pit_advance(&e.pit, tick_ns(a + 501));
    CHECK_EQ(e.pulses, 1);
    CHECK_EQ(pit_next_deadline(&e.pit), CLOCK_NEVER);
    pit_advance(&e.pit, tick_ns(a + 70000)); /* counter wraps, OUT stays high */
    CHECK_EQ(e.pulses, 1);
    bus_destroy(&e.bus);
}

TEST(pit_mode4_strobe_oneshot)
{
    struct pit_env e;
    env_init(&e);
    program(&e, 0, 0x38, 100); /* Linux's one-shot clockevent mode */
    CHECK_EQ(pit_next_deadline(&e.pit), tick_ns(102)); /* low at 101, high at 102 */
    pit_advance(&e.pit, tick_ns(102));
    CHECK_EQ(e.pulses, 1);
    CHECK_EQ(pit_next_deadline(&e.pit), CLOCK_NEVER);
    /* A new count re-arms it without a control word. */
    e.now = tick_ns(200);
    outb(&e, 0x40, 50);
    outb(&e, 0x40, 0);
    CHECK_EQ(pit_next_deadline(&e.pit), tick_ns(252));
    bus_destroy(&e.bus);
}

TEST(pit_channel2_tsc_calibration_via_port61)
{
    struct pit_env e;
    env_init(&e);
    e.now = 5000;
    uint64_t a = 5; /* floor(5000 ns * 1.193182 MHz) */
    /* Linux pit_calibrate_tsc(): gate on, speaker off, mode 0, count. */
    outb(&e, 0x61, (uint8_t)((inb(&e, 0x61) & ~0x02) | 0x01));
    CHECK_EQ(inb(&e, 0x61) & 0x03, 0x01);
    program(&e, 2, 0xb0, 11932);
    CHECK_EQ(out2(&e), 0);
    e.now = tick_ns(a + 11932) ; /* CE = 1 */
    CHECK_EQ(out2(&e), 0);
    e.now = tick_ns(a + 11933) - 1;
    CHECK_EQ(out2(&e), 0);
    e.now = tick_ns(a + 11933); /* CE reaches 0 */
    CHECK_EQ(out2(&e), 1);
    e.now += 1000000;
    CHECK_EQ(out2(&e), 1);
    CHECK_EQ(e.pulses, 0); /* channel 2 drives no IRQ */
    bus_destroy(&e.bus);
}

TEST(pit_channel2_gate_controls_counting)
{
    struct pit_env e;
    env_init(&e);
    outb(&e, 0x61, 0x00); /* gate low */
    program(&e, 2, 0xb0, 100); /* mode 0 */
    e.now = tick_ns(1000);
    CHECK_EQ(out2(&e), 0); /* never counted */
    CHECK_EQ(read16(&e, 2), 100);
    outb(&e, 0x61, 0x01); /* gate rises at tick 1000 */
    e.now = tick_ns(1060);
    CHECK_EQ(read16(&e, 2), 40);
    outb(&e, 0x61, 0x00); /* suspend */
    e.now = tick_ns(5000);
    CHECK_EQ(read16(&e, 2), 40);
    CHECK_EQ(out2(&e), 0);
    outb(&e, 0x61, 0x01);
    e.now = tick_ns(5040);
    CHECK_EQ(out2(&e), 1);
    /* Mode 2: gate low forces OUT high and the rising edge reloads. */
    program(&e, 2, 0xb4, 10);
    e.now = tick_ns(5045);
    CHECK_EQ(read16(&e, 2), 6);
    outb(&e, 0x61, 0x00);
    CHECK_EQ(out2(&e), 1);
    e.now = tick_ns(6000);
    outb(&e, 0x61, 0x01);
    e.now = tick_ns(6001);
    CHECK_EQ(read16(&e, 2), 10);
    bus_destroy(&e.bus);
}

TEST(pit_counter_latch_and_live_read)
{
    struct pit_env e;
    env_init(&e);
    program(&e, 0, 0x34, 1000);
    e.now = tick_ns(101);
    outb(&e, 0x43, 0x00); /* latch channel 0 */
    e.now = tick_ns(500);
    outb(&e, 0x43, 0x00); /* ignored: latch not read yet */
    CHECK_EQ(read16(&e, 0), 900);
    CHECK_EQ(read16(&e, 0), 1000 - 499); /* live again */
    /* LSB-only access mode. */
    outb(&e, 0x43, 0x54); /* channel 1, LSB only, mode 2 */
    outb(&e, 0x41, 200);
    e.now = tick_ns(550);
    CHECK_EQ(inb(&e, 0x41), 200 - 49);
    CHECK_EQ(inb(&e, 0x41), 200 - 49);
    bus_destroy(&e.bus);
}

TEST(pit_readback_status_and_count)
{
    struct pit_env e;
    env_init(&e);
    e.now = tick_ns(10);
    program(&e, 0, 0x34, 1000);
    /* Same tick as the write: not loaded yet, null count set. */
    outb(&e, 0x43, 0xe2); /* read-back status only, channel 0 */
    CHECK_EQ(inb(&e, 0x40), 0xc0 | 0x34);
    e.now = tick_ns(20);
    outb(&e, 0x43, 0xc2); /* status and count */
    e.now = tick_ns(30);
    CHECK_EQ(inb(&e, 0x40), 0x80 | 0x34); /* OUT high, loaded, lo/hi, mode 2 */
    CHECK_EQ(read16(&e, 0), 1000 - 9);
    /* Mode 0 status: OUT low while counting. */
    program(&e, 2, 0xb0, 50);
    outb(&e, 0x61, 0x01);
    e.now = tick_ns(40);
    outb(&e, 0x43, 0xe8);
    CHECK_EQ(inb(&e, 0x42), 0x30);
    bus_destroy(&e.bus);
}

TEST(pit_mode3_square_wave)
{
    struct pit_env e;
    env_init(&e);
    outb(&e, 0x61, 0x01);
    program(&e, 2, 0xb6, 10); /* channel 2, mode 3 */
    int seen[25];
    for (int t = 1; t <= 24; t++) {
        e.now = tick_ns((uint64_t)t);
        seen[t] = out2(&e);
    }
    for (int t = 1; t <= 24; t++)
        CHECK_EQ(seen[t], ((t - 1) % 10) < 5);
    /* Channel 0 in mode 3 pulses once per period (written at tick 24). */
    program(&e, 0, 0x36, 10);
    pit_advance(&e.pit, tick_ns(24 + 11) - 1);
    CHECK_EQ(e.pulses, 0);
    pit_advance(&e.pit, tick_ns(24 + 11));
    pit_advance(&e.pit, tick_ns(24 + 21));
    pit_advance(&e.pit, tick_ns(24 + 30));
    CHECK_EQ(e.pulses, 2);
    bus_destroy(&e.bus);
}

TEST(pit_bcd_counting)
{
    struct pit_env e;
    env_init(&e);
    program(&e, 0, 0x35, 0x1000); /* mode 2, BCD, 1000 decimal */
    e.now = tick_ns(101);
    CHECK_EQ(read16(&e, 0), 0x0900);
    CHECK_EQ(pit_next_deadline(&e.pit), tick_ns(1001));
    program(&e, 0, 0x35, 0x0000); /* 0 = 10000 in BCD */
    CHECK_EQ(pit_next_deadline(&e.pit), tick_ns(101 + 10001));
    bus_destroy(&e.bus);
}

TEST(pit_new_count_waits_for_reload)
{
    struct pit_env e;
    env_init(&e);
    program(&e, 0, 0x34, 100);
    e.now = tick_ns(50);
    outb(&e, 0x40, 20); /* rewrite count without a control word */
    outb(&e, 0x40, 0);
    CHECK_EQ(pit_next_deadline(&e.pit), tick_ns(101)); /* current period ends */
    pit_advance(&e.pit, tick_ns(101));
    CHECK_EQ(pit_next_deadline(&e.pit), tick_ns(121)); /* new period: 20 */
    CHECK_EQ(e.pulses, 1);
    bus_destroy(&e.bus);
}

TEST(pit_port61_refresh_toggle)
{
    struct pit_env e;
    env_init(&e);
    e.now = 0;
    int a = inb(&e, 0x61) & 0x10;
    e.now = 15085;
    int b = inb(&e, 0x61) & 0x10;
    e.now = 2 * 15085;
    int c = inb(&e, 0x61) & 0x10;
    CHECK(a != b);
    CHECK_EQ(a, c);
    CHECK_EQ(inb(&e, 0x61) & 0xc0, 0); /* no NMI sources */
    bus_destroy(&e.bus);
}

TEST(pit_hostile_programming)
{
    struct pit_env e;
    env_init(&e);
    uint32_t x = 12345;
    for (int i = 0; i < 20000; i++) {
        x = x * 1103515245u + 12345u;
        uint16_t port = (uint16_t)(0x40 + (x >> 8) % 4);
        if ((x >> 20) % 7 == 0)
            port = 0x61;
        e.now += (x >> 16) % 5000;
        if (x & 1)
            outb(&e, port, (uint8_t)(x >> 24));
        else
            (void)inb(&e, port);
        pit_advance(&e.pit, e.now);
        /* Everything due has been delivered: the next edge lies ahead. */
        uint64_t d = pit_next_deadline(&e.pit);
        CHECK(d == CLOCK_NEVER || d > e.now);
    }
    /* Count 1 in mode 2 is illegal: no interrupt storm. */
    program(&e, 0, 0x34, 1);
    CHECK_EQ(pit_next_deadline(&e.pit), CLOCK_NEVER);
    bus_destroy(&e.bus);
}
