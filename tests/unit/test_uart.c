/* test_uart.c — 16550A UART driven through its ports on a real bus. */
#include "test.h"

#include <string.h>

#include "hw/bus.h"
#include "hw/uart.h"

#define COM1 0x3f8

struct uart_env {
    struct bus bus;
    struct uart u;
    struct irq_sink sink;
    int level, rises, calls;
    uint8_t out[64];
    int nout;
};

static void env_irq(void *ctx, unsigned gsi, int level)
{
    struct uart_env *e = ctx;
    if (gsi != 4)
        return;
    e->calls++;
    if (level && !e->level)
        e->rises++;
    e->level = level;
}

static void env_tx(void *ctx, uint8_t b)
{
    struct uart_env *e = ctx;
    if (e->nout < (int)sizeof(e->out))
        e->out[e->nout++] = b;
}

static void env_init(struct uart_env *e)
{
    memset(e, 0, sizeof(*e));
    bus_init(&e->bus, 16 << 20);
    e->sink = (struct irq_sink){ env_irq, e };
    uart_init(&e->u, &e->bus, COM1, &e->sink, 4, env_tx, e);
}

static uint8_t in8(struct uart_env *e, unsigned reg)
{
    return (uint8_t)bus_pio_read(&e->bus, (uint16_t)(COM1 + reg), 1);
}

static void out8(struct uart_env *e, unsigned reg, uint8_t v)
{
    bus_pio_write(&e->bus, (uint16_t)(COM1 + reg), v, 1);
}

TEST(uart_reset_state)
{
    struct uart_env e;
    env_init(&e);
    CHECK_EQ(in8(&e, 1), 0x00);        /* IER */
    CHECK_EQ(in8(&e, 2), 0x01);        /* IIR: no interrupt, no FIFO */
    CHECK_EQ(in8(&e, 5), 0x60);        /* LSR: THRE | TEMT */
    CHECK_EQ(in8(&e, 6) & 0xf0, 0xb0); /* DCD DSR CTS asserted */
    CHECK_EQ(e.level, 0);
    bus_destroy(&e.bus);
}

TEST(uart_transmit_goes_to_callback)
{
    struct uart_env e;
    env_init(&e);
    out8(&e, 0, 'h');
    out8(&e, 0, 'i');
    CHECK_EQ(e.nout, 2);
    CHECK_EQ(e.out[0], 'h');
    CHECK_EQ(e.out[1], 'i');
    CHECK_EQ(in8(&e, 5) & 0x60, 0x60);
    bus_destroy(&e.bus);
}

TEST(uart_loopback_round_trip)
{
    struct uart_env e;
    env_init(&e);
    out8(&e, 4, 0x10 | 0x0a); /* LOOP | RTS | OUT2, as the 8250 probe does */
    CHECK_EQ(in8(&e, 6) & 0xf0, 0x90); /* CTS (from RTS) | DCD (from OUT2) */
    out8(&e, 0, 0x5a);
    CHECK_EQ(e.nout, 0);               /* nothing leaves the chip */
    CHECK_EQ(in8(&e, 5) & 0x01, 0x01); /* data ready */
    CHECK_EQ(in8(&e, 0), 0x5a);
    CHECK_EQ(in8(&e, 5) & 0x01, 0x00);
    /* Serial input is disconnected while looping back. */
    const uint8_t b = 1;
    CHECK(!uart_can_receive(&e.u));
    CHECK_EQ(uart_receive(&e.u, &b, 1), 0);
    bus_destroy(&e.bus);
}

TEST(uart_thre_interrupt_raise_and_clear)
{
    struct uart_env e;
    env_init(&e);
    out8(&e, 4, 0x08); /* OUT2: connect the IRQ */
    out8(&e, 1, 0x02); /* ETBEI with THR empty raises THRE */
    CHECK_EQ(e.level, 1);
    CHECK_EQ(in8(&e, 2), 0x02);  /* reading IIR reports ... */
    CHECK_EQ(e.level, 0);        /* ... and clears it */
    CHECK_EQ(in8(&e, 2), 0x01);
    int rises = e.rises;
    out8(&e, 0, 'x'); /* THR write: clear, byte leaves, THR empty again */
    CHECK_EQ(e.level, 1);
    CHECK_EQ(e.rises, rises + 1); /* a fresh edge for an edge-triggered PIC */
    /* Writing THR while THRE is still pending gives a new edge too. */
    rises = e.rises;
    out8(&e, 1, 0x00);
    out8(&e, 1, 0x02);
    CHECK_EQ(e.level, 1);
    out8(&e, 0, 'y');
    CHECK_EQ(e.rises, rises + 2);
    CHECK_EQ(in8(&e, 2), 0x02);
    /* Re-enabling ETBEI re-raises it (the 8250 THRE self-test). */
    out8(&e, 1, 0x00);
    out8(&e, 1, 0x02);
    CHECK_EQ(in8(&e, 2), 0x02);
    out8(&e, 1, 0x00);
    CHECK_EQ(e.level, 0);
    bus_destroy(&e.bus);
}

TEST(uart_out2_gates_irq)
{
    struct uart_env e;
    env_init(&e);
    out8(&e, 1, 0x02);
    CHECK_EQ(in8(&e, 2) & 0x0f, 0x02); /* pending internally ... */
    out8(&e, 1, 0x00);
    out8(&e, 1, 0x02);
    CHECK_EQ(e.level, 0); /* ... but OUT2 = 0 keeps the line low */
    out8(&e, 4, 0x0b);    /* DTR RTS OUT2 */
    CHECK_EQ(e.level, 1);
    out8(&e, 4, 0x03);
    CHECK_EQ(e.level, 0);
    bus_destroy(&e.bus);
}

TEST(uart_fifo_trigger_level)
{
    struct uart_env e;
    env_init(&e);
    out8(&e, 2, 0x87); /* enable + reset FIFOs, trigger level 8 */
    out8(&e, 4, 0x08);
    out8(&e, 1, 0x01); /* ERBFI */
    CHECK_EQ(in8(&e, 2), 0xc1);
    uint8_t data[20];
    for (int i = 0; i < 20; i++)
        data[i] = (uint8_t)(0x40 + i);
    CHECK_EQ(uart_receive(&e.u, data, 7), 7);
    CHECK_EQ(in8(&e, 2), 0xcc); /* below trigger: character timeout */
    CHECK_EQ(uart_receive(&e.u, data + 7, 1), 1);
    CHECK_EQ(in8(&e, 2), 0xc4); /* trigger reached: data available */
    CHECK_EQ(e.level, 1);
    /* Only 16 bytes fit. */
    CHECK_EQ(uart_receive(&e.u, data + 8, 12), 8);
    CHECK(!uart_can_receive(&e.u));
    for (int i = 0; i < 16; i++)
        CHECK_EQ(in8(&e, 0), 0x40 + i);
    CHECK_EQ(in8(&e, 5) & 0x01, 0);
    CHECK_EQ(in8(&e, 2), 0xc1);
    CHECK_EQ(e.level, 0);
    CHECK(uart_can_receive(&e.u));
    bus_destroy(&e.bus);
}

TEST(uart_fifo_reset_and_disable)
{
    struct uart_env e;
    env_init(&e);
    out8(&e, 2, 0x01);
    const uint8_t d[3] = { 1, 2, 3 };
    CHECK_EQ(uart_receive(&e.u, d, 3), 3);
    out8(&e, 2, 0x03); /* RX FIFO reset */
    CHECK_EQ(in8(&e, 5) & 0x01, 0);
    CHECK_EQ(uart_receive(&e.u, d, 3), 3);
    out8(&e, 2, 0x00); /* disabling clears too; 16450 mode holds one byte */
    CHECK_EQ(in8(&e, 5) & 0x01, 0);
    CHECK_EQ(uart_receive(&e.u, d, 3), 1);
    CHECK_EQ(in8(&e, 0), 1);
    bus_destroy(&e.bus);
}

TEST(uart_divisor_latch)
{
    struct uart_env e;
    env_init(&e);
    out8(&e, 1, 0x05);
    out8(&e, 3, 0x83); /* DLAB */
    out8(&e, 0, 0x01);
    out8(&e, 1, 0x02);
    CHECK_EQ(in8(&e, 0), 0x01);
    CHECK_EQ(in8(&e, 1), 0x02);
    CHECK_EQ(e.u.divisor, 0x0201);
    CHECK_EQ(e.nout, 0); /* DLL write is not a THR write */
    out8(&e, 3, 0x03);
    CHECK_EQ(in8(&e, 1), 0x05); /* IER kept its value */
    out8(&e, 0, 'z');
    CHECK_EQ(e.nout, 1);
    CHECK_EQ(in8(&e, 3), 0x03);
    bus_destroy(&e.bus);
}

TEST(uart_line_status_outranks_rx)
{
    struct uart_env e;
    env_init(&e);
    out8(&e, 4, 0x10); /* loopback, 16450 mode */
    out8(&e, 1, 0x05); /* ELSI | ERBFI */
    out8(&e, 0, 'a');
    CHECK_EQ(in8(&e, 2), 0x04);
    out8(&e, 0, 'b'); /* overrun: 'a' is destroyed */
    CHECK_EQ(in8(&e, 2), 0x06);
    CHECK_EQ(in8(&e, 5) & 0x03, 0x03); /* OE | DR, OE clears on read */
    CHECK_EQ(in8(&e, 5) & 0x02, 0x00);
    CHECK_EQ(in8(&e, 2), 0x04);
    CHECK_EQ(in8(&e, 0), 'b');
    CHECK_EQ(in8(&e, 2), 0x01);
    CHECK_EQ(e.level, 0); /* loopback forces OUT2 inactive */
    bus_destroy(&e.bus);
}

TEST(uart_modem_status_interrupt)
{
    struct uart_env e;
    env_init(&e);
    out8(&e, 1, 0x08); /* EDSSI */
    out8(&e, 4, 0x10); /* loopback: inputs now follow MCR (all low) */
    CHECK_EQ(in8(&e, 2), 0x00); /* modem status */
    uint8_t msr = in8(&e, 6);
    CHECK_EQ(msr & 0x0f, 0x0b); /* DCTS DDSR DDCD */
    CHECK_EQ(in8(&e, 2), 0x01);
    out8(&e, 4, 0x14); /* OUT1 -> RI */
    out8(&e, 4, 0x10); /* RI falls: TERI */
    CHECK_EQ(in8(&e, 6), 0x04);
    bus_destroy(&e.bus);
}

TEST(uart_wide_and_hostile_accesses)
{
    struct uart_env e;
    env_init(&e);
    for (unsigned reg = 0; reg < 8; reg++)
        for (unsigned v = 0; v < 256; v += 17)
            out8(&e, reg, (uint8_t)v);
    for (unsigned sz = 1; sz <= 4; sz *= 2)
        for (unsigned reg = 0; reg < 8; reg++) {
            bus_pio_write(&e.bus, (uint16_t)(COM1 + reg), 0xffffffff, sz);
            (void)bus_pio_read(&e.bus, (uint16_t)(COM1 + reg), sz);
        }
    /* Port 0x3ff + 1 is outside the device: that byte floats high. */
    CHECK_EQ(bus_pio_read(&e.bus, COM1 + 7, 2) >> 8, 0xff);
    uint8_t junk[100] = { 0 };
    out8(&e, 4, 0);
    CHECK(uart_receive(&e.u, junk, 100) <= 16);
    bus_destroy(&e.bus);
}
