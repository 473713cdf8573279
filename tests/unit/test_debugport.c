/* test_debugport.c — isa-debug-exit (0xf4) and the 0xe9 console. */
#include "test.h"

#include <string.h>

#include "hw/bus.h"
#include "hw/debugport.h"

struct dbg_env {
    struct bus bus;
    struct debugport d;
    int exits, status;
    char out[16];
    int nout;
};

static void env_exit(void *ctx, int status)
{
    struct dbg_env *e = ctx;
    e->exits++;
    e->status = status;
}

static void env_tx(void *ctx, uint8_t b)
{
    struct dbg_env *e = ctx;
    if (e->nout < (int)sizeof(e->out))
        e->out[e->nout++] = (char)b;
}

static void env_init(struct dbg_env *e)
{
    memset(e, 0, sizeof(*e));
    bus_init(&e->bus, 16 << 20);
    debugport_init(&e->d, &e->bus, env_exit, env_tx, e);
}

TEST(debugport_exit_status)
{
    struct dbg_env e;
    env_init(&e);
    CHECK_EQ(e.exits, 0);
    bus_pio_write(&e.bus, 0xf4, 0, 4); /* kvm-unit-tests: outl(code, 0xf4) */
    CHECK_EQ(e.exits, 1);
    CHECK_EQ(e.status, 1); /* pass */
    bus_pio_write(&e.bus, 0xf4, 0x10, 1);
    CHECK_EQ(e.status, 0x21);
    bus_pio_write(&e.bus, 0xf4, 0x1234, 2);
    CHECK_EQ(e.status, 0x2469);
    CHECK_EQ(e.exits, 3);
    bus_destroy(&e.bus);
}

TEST(debugport_e9_console)
{
    struct dbg_env e;
    env_init(&e);
    CHECK_EQ(bus_pio_read(&e.bus, 0xe9, 1), 0xe9);
    bus_pio_write(&e.bus, 0xe9, 'o', 1);
    bus_pio_write(&e.bus, 0xe9, 'k', 1);
    CHECK_EQ(e.nout, 2);
    CHECK(memcmp(e.out, "ok", 2) == 0);
    CHECK_EQ(e.exits, 0);
    /* NULL callbacks are tolerated. */
    debugport_init(&e.d, NULL, NULL, NULL, NULL);
    bus_pio_write(&e.bus, 0xe9, 'x', 1);
    bus_pio_write(&e.bus, 0xf4, 1, 1);
    CHECK_EQ(e.nout, 2);
    CHECK_EQ(e.exits, 0);
    bus_destroy(&e.bus);
}
