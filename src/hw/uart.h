/*
 * uart.h — 16550A UART (PC COM port), e.g. COM1 at 0x3f8 on GSI 4.
 *
 * The device registers its 8 ports on the bus.  Transmitted bytes go to a
 * callback at once (the virtual line is infinitely fast, so THR/TSR are
 * always empty again after a write); received bytes are pushed by the front
 * end with uart_receive(), which accepts only what fits in the RX FIFO so
 * that nothing is ever dropped on the host side.
 *
 * Locking: like the io callbacks, uart_receive() and uart_can_receive() must
 * be called with bus->lock held (they may raise the interrupt line).
 */
#ifndef NESTVM_HW_UART_H
#define NESTVM_HW_UART_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/irq.h"

#define UART_FIFO_SIZE 16

struct uart_fifo {
    uint8_t buf[UART_FIFO_SIZE];
    unsigned head, count;
};

struct uart {
    /* Registers (16550A datasheet, table "Summary of Registers"). */
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr;
    uint16_t divisor;
    uint8_t rbr;          /* last byte read from RBR (re-read when RX is empty) */
    bool thr_ipending;    /* THRE interrupt latched, cleared by IIR read/THR write */
    struct uart_fifo rx;  /* receive FIFO; holds 1 byte (the RBR) when FCR0 = 0 */
    int irq_level;        /* last level given to irq_set */

    const struct irq_sink *irq;
    unsigned gsi;
    void (*tx_fn)(void *ctx, uint8_t byte);
    void *tx_ctx;
};

/* Registers the device at [base, base+8) and resets it. */
void uart_init(struct uart *u, struct bus *bus, uint16_t base, const struct irq_sink *irq,
               unsigned gsi, void (*tx)(void *ctx, uint8_t byte), void *tx_ctx);

/* Power-on reset of all registers (datasheet "Reset" table). */
void uart_reset(struct uart *u);

/* Feeds bytes from the serial line; returns how many were accepted. */
int uart_receive(struct uart *u, const uint8_t *buf, int n);

/* True if at least one byte would be accepted now. */
bool uart_can_receive(const struct uart *u);

#endif
