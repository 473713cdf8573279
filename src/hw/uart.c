/*
 * uart.c — 16550A UART.
 *
 * Register map (PC16550D datasheet, "Register Addressing"; DLAB = LCR bit 7):
 *
 *   off  DLAB=0 read   DLAB=0 write   DLAB=1
 *   0    RBR           THR            DLL (divisor low)
 *   1    IER           IER            DLM (divisor high)
 *   2    IIR           FCR            (IIR / FCR regardless of DLAB)
 *   3    LCR   4 MCR   5 LSR   6 MSR   7 SCR
 *
 * Interrupt sources, highest priority first (datasheet "Interrupt Control
 * Functions"; IIR bits 3..1):
 *
 *   011  receiver line status (OE/PE/FE/BI)    cleared by reading LSR
 *   010  received data available (>= trigger)  cleared when FIFO drops below
 *   110  character timeout (FIFO mode)         cleared by reading RBR
 *   001  THR empty                             cleared by reading IIR (if it
 *                                              is the source) or writing THR
 *   000  modem status (MSR deltas)             cleared by reading MSR
 *
 * Modelling choices:
 *  - The serial line is infinitely fast: a THR write is handed to the tx
 *    callback at once, so the transmit FIFO and shift register are always
 *    empty again when the guest next looks (LSR.THRE = LSR.TEMT = 1).  To give
 *    an edge-triggered interrupt controller a fresh edge, the THRE interrupt
 *    is first cleared by the write and then raised again when the byte has
 *    "left", as on real hardware.
 *  - Character timeout: the datasheet raises it when the RX FIFO holds data
 *    below the trigger level and no character has moved for 4 character
 *    times.  Input arrives from the host in bursts, so the timeout is treated
 *    as elapsed as soon as a burst ends (and again after each RBR read).
 *  - With FIFOs disabled (16450 mode) the RX FIFO holds a single byte: a
 *    second byte overwrites it and sets OE, as the RBR does.
 *  - Loopback (MCR bit 4): THR feeds the receiver, the serial input is
 *    disconnected, and MSR's upper nibble reflects MCR (CTS=RTS, DSR=DTR,
 *    RI=OUT1, DCD=OUT2).  The modem outputs, OUT2 included, are forced
 *    inactive, so on a PC (where OUT2 gates the IRQ driver) no interrupt
 *    reaches the interrupt controller while looping back.
 *  - Outside loopback the modem inputs read as a connected null-modem line:
 *    DCD, DSR and CTS asserted, RI off.
 */
#include "hw/uart.h"

#include <string.h>

#define UART_REGS 8

/* IER bits */
#define IER_ERBFI 0x01 /* received data available */
#define IER_ETBEI 0x02 /* THR empty */
#define IER_ELSI 0x04  /* receiver line status */
#define IER_EDSSI 0x08 /* modem status */

/* IIR interrupt identification codes (bits 3..0, bit 0 = no interrupt) */
#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_CTI 0x0c
#define IIR_FIFO 0xc0 /* bits 7..6 set when FCR0 = 1 */

/* FCR bits */
#define FCR_ENABLE 0x01
#define FCR_RX_RESET 0x02
#define FCR_TX_RESET 0x04
#define FCR_DMA 0x08
#define FCR_TRIGGER 0xc0

/* LCR */
#define LCR_DLAB 0x80

/* MCR bits */
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10

/* LSR bits */
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_RXFE 0x80
#define LSR_ERRORS (LSR_OE | LSR_PE | LSR_FE | LSR_BI | LSR_RXFE)

/* MSR bits */
#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
#define MSR_DELTAS 0x0f

/* ---- RX FIFO ---------------------------------------------------------- */

static unsigned rx_capacity(const struct uart *u)
{
    return (u->fcr & FCR_ENABLE) ? UART_FIFO_SIZE : 1;
}

static void fifo_clear(struct uart_fifo *f)
{
    f->head = 0;
    f->count = 0;
}

static void fifo_push(struct uart_fifo *f, uint8_t b)
{
    f->buf[(f->head + f->count) % UART_FIFO_SIZE] = b;
    f->count++;
}

static uint8_t fifo_pop(struct uart_fifo *f)
{
    uint8_t b = f->buf[f->head];
    f->head = (f->head + 1) % UART_FIFO_SIZE;
    f->count--;
    return b;
}

/* A byte arrives at the receiver (from the line or the loopback path). */
static void rx_byte(struct uart *u, uint8_t b)
{
    if (u->rx.count < rx_capacity(u)) {
        fifo_push(&u->rx, b);
        return;
    }
    /* Overrun (datasheet LSR bit 1).  FIFO mode: the FIFO keeps its data
     * and the new character is lost.  16450 mode: the character in RBR is
     * destroyed by the new one. */
    u->lsr |= LSR_OE;
    if (!(u->fcr & FCR_ENABLE) && u->rx.count) {
        fifo_clear(&u->rx);
        fifo_push(&u->rx, b);
    }
}

/* ---- interrupts ------------------------------------------------------- */

static unsigned rx_trigger(const struct uart *u)
{
    static const unsigned levels[4] = { 1, 4, 8, 14 }; /* FCR bits 7..6 */
    return levels[(u->fcr >> 6) & 3];
}

/* Highest-priority pending, enabled interrupt as an IIR code. */
static uint8_t uart_iir_id(const struct uart *u)
{
    if ((u->ier & IER_ELSI) && (u->lsr & (LSR_OE | LSR_PE | LSR_FE | LSR_BI)))
        return IIR_RLSI;
    if ((u->ier & IER_ERBFI) && u->rx.count) {
        if (!(u->fcr & FCR_ENABLE) || u->rx.count >= rx_trigger(u))
            return IIR_RDI;
        return IIR_CTI;
    }
    if ((u->ier & IER_ETBEI) && u->thr_ipending)
        return IIR_THRI;
    if ((u->ier & IER_EDSSI) && (u->msr & MSR_DELTAS))
        return IIR_MSI;
    return IIR_NONE;
}

/* Recompute the INTR pin as seen by the PC interrupt controller. */
static void uart_update_irq(struct uart *u)
{
    int level = uart_iir_id(u) != IIR_NONE && (u->mcr & MCR_OUT2) && !(u->mcr & MCR_LOOP);
    if (level != u->irq_level) {
        u->irq_level = level;
        irq_set(u->irq, u->gsi, level);
    }
}

/* ---- modem status ----------------------------------------------------- */

/* Upper MSR nibble as the modem inputs currently drive it. */
static uint8_t msr_inputs(const struct uart *u)
{
    if (!(u->mcr & MCR_LOOP))
        return MSR_DCD | MSR_DSR | MSR_CTS;
    uint8_t v = 0;
    if (u->mcr & MCR_RTS)
        v |= MSR_CTS;
    if (u->mcr & MCR_DTR)
        v |= MSR_DSR;
    if (u->mcr & MCR_OUT1)
        v |= MSR_RI;
    if (u->mcr & MCR_OUT2)
        v |= MSR_DCD;
    return v;
}

/* Latch the new inputs and their delta bits (datasheet MSR bits 0..3). */
static void msr_refresh(struct uart *u)
{
    uint8_t old = u->msr & 0xf0, now = msr_inputs(u);
    uint8_t changed = old ^ now;
    uint8_t d = 0;
    if (changed & MSR_CTS)
        d |= MSR_DCTS;
    if (changed & MSR_DSR)
        d |= MSR_DDSR;
    if ((old & MSR_RI) && !(now & MSR_RI)) /* trailing edge of RI only */
        d |= MSR_TERI;
    if (changed & MSR_DCD)
        d |= MSR_DDCD;
    u->msr = now | (u->msr & MSR_DELTAS) | d;
}

/* ---- register access -------------------------------------------------- */

static void uart_write_thr(struct uart *u, uint8_t b)
{
    /* Writing THR clears a pending THRE interrupt ... */
    u->thr_ipending = false;
    uart_update_irq(u);
    if (u->mcr & MCR_LOOP)
        rx_byte(u, b);
    else if (u->tx_fn)
        u->tx_fn(u->tx_ctx, b);
    /* ... and the byte leaves at once, so THR is empty again and the
     * "THR empty" condition re-arms. */
    u->thr_ipending = true;
}

static void uart_write_fcr(struct uart *u, uint8_t v)
{
    /* Changing FCR0 clears both FIFOs; other bits are programmed only
     * while FCR0 = 1 (datasheet FCR description). */
    if ((v ^ u->fcr) & FCR_ENABLE)
        fifo_clear(&u->rx);
    if (!(v & FCR_ENABLE)) {
        u->fcr = 0;
        return;
    }
    if (v & FCR_RX_RESET)
        fifo_clear(&u->rx);
    /* FCR_TX_RESET: the transmit FIFO is always empty here. */
    u->fcr = v & (FCR_ENABLE | FCR_DMA | FCR_TRIGGER);
}

static uint8_t uart_read_reg(struct uart *u, unsigned off)
{
    uint8_t v = 0xff;
    switch (off) {
    case 0:
        if (u->lcr & LCR_DLAB)
            return u->divisor & 0xff;
        if (u->rx.count)
            u->rbr = fifo_pop(&u->rx);
        v = u->rbr;
        break;
    case 1:
        if (u->lcr & LCR_DLAB)
            return u->divisor >> 8;
        return u->ier;
    case 2: {
        uint8_t id = uart_iir_id(u);
        if (id == IIR_THRI)
            u->thr_ipending = false; /* reading IIR clears THRE when it's the source */
        v = id | ((u->fcr & FCR_ENABLE) ? IIR_FIFO : 0);
        break;
    }
    case 3:
        return u->lcr;
    case 4:
        return u->mcr;
    case 5:
        v = (u->lsr & ~LSR_DR) | (u->rx.count ? LSR_DR : 0) | LSR_THRE | LSR_TEMT;
        u->lsr &= ~LSR_ERRORS; /* error bits clear on read */
        break;
    case 6:
        msr_refresh(u);
        v = u->msr;
        u->msr &= ~MSR_DELTAS;
        break;
    case 7:
        return u->scr;
    }
    uart_update_irq(u);
    return v;
}

static void uart_write_reg(struct uart *u, unsigned off, uint8_t v)
{
    switch (off) {
    case 0:
        if (u->lcr & LCR_DLAB)
            u->divisor = (u->divisor & 0xff00) | v;
        else
            uart_write_thr(u, v);
        break;
    case 1:
        if (u->lcr & LCR_DLAB) {
            u->divisor = (uint16_t)((u->divisor & 0x00ff) | (v << 8));
        } else {
            uint8_t old = u->ier;
            u->ier = v & 0x0f; /* bits 7..4 are always 0 on a 16550A */
            /* Enabling ETBEI while THR is empty raises the THRE interrupt
             * (the 8250 driver's THRE self-test relies on this). */
            if ((u->ier & IER_ETBEI) && !(old & IER_ETBEI))
                u->thr_ipending = true;
        }
        break;
    case 2:
        uart_write_fcr(u, v);
        break;
    case 3:
        u->lcr = v;
        break;
    case 4:
        u->mcr = v & 0x1f;
        msr_refresh(u);
        break;
    case 5: /* LSR: factory test only; ignored */
    case 6: /* MSR: read-only */
        break;
    case 7:
        u->scr = v;
        break;
    }
    uart_update_irq(u);
}

/* Wider accesses are split into byte cycles on consecutive ports, as the
 * ISA bus does for an 8-bit device; bytes beyond the device read as 0xff. */
static uint64_t uart_io_read(void *opaque, uint64_t off, unsigned size)
{
    struct uart *u = opaque;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t b = off + i < UART_REGS ? uart_read_reg(u, (unsigned)(off + i)) : 0xff;
        v |= b << (8 * i);
    }
    return v;
}

static void uart_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct uart *u = opaque;
    for (unsigned i = 0; i < size && i < 8; i++)
        if (off + i < UART_REGS)
            uart_write_reg(u, (unsigned)(off + i), (uint8_t)(val >> (8 * i)));
}

static const struct io_ops uart_ops = { uart_io_read, uart_io_write };

/* ---- public API ------------------------------------------------------- */

void uart_reset(struct uart *u)
{
    u->ier = 0;
    u->lcr = 0;
    u->mcr = 0;
    u->fcr = 0;
    u->lsr = LSR_THRE | LSR_TEMT;
    u->scr = 0;
    u->divisor = 12; /* 9600 bps; the datasheet leaves it undefined */
    u->rbr = 0;
    u->thr_ipending = false;
    fifo_clear(&u->rx);
    u->msr = msr_inputs(u); /* no deltas after reset */
    uart_update_irq(u);
}

void uart_init(struct uart *u, struct bus *bus, uint16_t base, const struct irq_sink *irq,
               unsigned gsi, void (*tx)(void *ctx, uint8_t byte), void *tx_ctx)
{
    memset(u, 0, sizeof(*u));
    u->irq = irq;
    u->gsi = gsi;
    u->tx_fn = tx;
    u->tx_ctx = tx_ctx;
    uart_reset(u);
    if (bus)
        bus_register(bus, BUS_PIO, base, UART_REGS, &uart_ops, u);
}

bool uart_can_receive(const struct uart *u)
{
    return !(u->mcr & MCR_LOOP) && u->rx.count < rx_capacity(u);
}

int uart_receive(struct uart *u, const uint8_t *buf, int n)
{
    int taken = 0;
    while (taken < n && uart_can_receive(u))
        fifo_push(&u->rx, buf[taken++]);
    if (taken)
        uart_update_irq(u);
    return taken;
}
