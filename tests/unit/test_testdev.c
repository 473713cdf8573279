/* test_testdev.c — the PC test device through a real bus: scratch port byte
 * lanes, flush port, IRQ line ports, I/O RAM. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "hw/bus.h"
#include "hw/testdev.h"

struct td_env {
    struct bus bus;
    struct testdev t;
    struct irq_sink sink;
    int level[32];
    int calls;
};

static void env_irq(void *ctx, unsigned gsi, int level)
{
    struct td_env *e = ctx;
    if (gsi < 32)
        e->level[gsi] = level;
    e->calls++;
}

static struct td_env *env_new(void)
{
    struct td_env *e = calloc(1, sizeof(*e));
    bus_init(&e->bus, 16 << 20);
    e->sink = (struct irq_sink){ env_irq, e };
    testdev_init(&e->t, &e->bus, &e->sink);
    return e;
}

static void env_free(struct td_env *e)
{
    bus_destroy(&e->bus);
    free(e);
}

TEST(testdev_scratch_port_lanes)
{
    struct td_env *e = env_new();
    bus_pio_write(&e->bus, 0xe0, 0x11223344, 4);
    CHECK_EQ(bus_pio_read(&e->bus, 0xe0, 4), 0x11223344);
    bus_pio_write(&e->bus, 0xe1, 0xaa, 1); /* bits 15:8 only */
    CHECK_EQ(bus_pio_read(&e->bus, 0xe0, 4), 0x1122aa44);
    CHECK_EQ(bus_pio_read(&e->bus, 0xe2, 2), 0x1122);
    CHECK_EQ(bus_pio_read(&e->bus, 0xe0, 1), 0x44);
    bus_pio_write(&e->bus, 0xe2, 0xbeef, 2);
    CHECK_EQ(bus_pio_read(&e->bus, 0xe0, 4), 0xbeefaa44);
    /* rep outsb leaves the last byte (kvm-unit-tests "outsb up") */
    for (int i = 0; i < 5; i++)
        bus_pio_write(&e->bus, 0xe0, (uint64_t)'a' + i, 1);
    CHECK_EQ(bus_pio_read(&e->bus, 0xe0, 1), 'e');
    bus_pio_write(&e->bus, 0xe4, 0x1000, 4); /* flush: accepted, no effect */
    CHECK_EQ(bus_pio_read(&e->bus, 0xe0, 1), 'e');
    env_free(e);
}

TEST(testdev_irq_lines)
{
    struct td_env *e = env_new();
    bus_pio_write(&e->bus, 0x2000 + 11, 1, 1);
    CHECK_EQ(e->level[11], 1);
    bus_pio_write(&e->bus, 0x2000 + 11, 0, 1);
    CHECK_EQ(e->level[11], 0);
    bus_pio_write(&e->bus, 0x2000 + 23, 0x80, 1);
    CHECK_EQ(e->level[23], 1);
    int before = e->calls;
    bus_pio_write(&e->bus, 0x2000 + 24, 1, 1); /* past the last line: not ours */
    CHECK_EQ(e->calls, before);
    CHECK_EQ(bus_pio_read(&e->bus, 0x2000, 1), 0);
    env_free(e);
}

TEST(testdev_ioram)
{
    struct td_env *e = env_new();
    bus_mmio_write(&e->bus, 0xff000000, 0x0123456789abcdefull, 8);
    CHECK_EQ(bus_mmio_read(&e->bus, 0xff000000, 8), 0x0123456789abcdefull);
    CHECK_EQ(bus_mmio_read(&e->bus, 0xff000001, 2), 0xabcd);
    bus_mmio_write(&e->bus, 0xff00fffe, 0xffff, 2);
    CHECK_EQ(bus_mmio_read(&e->bus, 0xff00fffe, 2), 0xffff);
    /* an access running off the end is cut short, never out of bounds */
    bus_mmio_write(&e->bus, 0xff00fffc, 0x1122334455667788ull, 8);
    CHECK_EQ(bus_mmio_read(&e->bus, 0xff00fffc, 8), 0x55667788);
    CHECK_EQ(bus_mmio_read(&e->bus, 0xff010000, 4), 0xffffffffu); /* open bus */
    env_free(e);
}
