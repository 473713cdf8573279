/*
 * debugport.c — isa-debug-exit (0xf4) and the 0xe9 debug console.
 *
 * Exit status: the value written, shifted left by one with bit 0 set, so a
 * guest can never make the VMM exit with status 0 by accident (QEMU's
 * isa-debug-exit convention; kvm-unit-tests treats status 1 as "pass").
 * The value is the whole access (outb/outw/outl) whatever the offset; the
 * callback decides what to do (the front end typically stops all vCPUs and
 * exits with status & 0xff).
 */
#include "hw/debugport.h"

#include <string.h>

static void exit_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct debugport *d = opaque;
    /* As QEMU: the written value whatever the offset or width (<= 4 bytes). */
    uint64_t v = val & 0xffffffffu;
    if (d->exit_fn)
        d->exit_fn(d->ctx, (int)((v << 1) | 1));
}

static uint64_t console_read(void *opaque, uint64_t off, unsigned size)
{
    /* Bochs/QEMU: reads return 0xe9; bytes past the port float high. */
    return DEBUGPORT_CONSOLE_PORT | (size > 1 ? ~0ull << 8 : 0);
}

static void console_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct debugport *d = opaque;
    if (d->tx_fn)
        d->tx_fn(d->ctx, (uint8_t)val); /* only the byte at 0xe9 is ours */
}

static const struct io_ops exit_ops = { NULL, exit_write };
static const struct io_ops console_ops = { console_read, console_write };

void debugport_init(struct debugport *d, struct bus *bus, void (*exit_fn)(void *ctx, int status),
                    void (*tx)(void *ctx, uint8_t byte), void *ctx)
{
    memset(d, 0, sizeof(*d));
    d->exit_fn = exit_fn;
    d->tx_fn = tx;
    d->ctx = ctx;
    if (bus) {
        bus_register(bus, BUS_PIO, DEBUGPORT_EXIT_PORT, 4, &exit_ops, d);
        bus_register(bus, BUS_PIO, DEBUGPORT_CONSOLE_PORT, 1, &console_ops, d);
    }
}
