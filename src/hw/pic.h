/*
 * pic.h — the PC's cascaded 8259A pair (master 0x20/0x21, slave 0xa0/0xa1,
 * slave INT wired to master IR2) plus the EISA edge/level control registers
 * (ELCR, 0x4d0/0x4d1).
 *
 * The machine feeds ISA IRQ lines 0-15 with pic_set_irq(), watches the INTR
 * output with pic_has_intr(), and runs the interrupt-acknowledge cycle with
 * pic_ack() when the CPU takes the interrupt.
 *
 * Locking: everything except pic_has_intr() must run under bus->lock (the io
 * callbacks already do).  pic_has_intr() reads a precomputed flag with an
 * atomic load, so vCPU threads may poll it without the lock.
 */
#ifndef NESTVM_HW_PIC_H
#define NESTVM_HW_PIC_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/bus.h"

struct pic_chip {
    uint8_t irr, isr, imr;
    uint8_t lines;        /* current input levels (for edge detection) */
    uint8_t elcr;         /* level-triggered inputs (ELCR) */
    uint8_t vector_base;  /* ICW2 & 0xf8 */
    uint8_t icw3;         /* master: inputs with a slave; slave: its id */
    uint8_t priority_add; /* IR number that currently has the highest priority */
    uint8_t init_step;    /* 0 = operational, else the ICW expected next (2..4) */
    bool icw4_needed, single, ltim;
    bool auto_eoi, rotate_on_aeoi, sfnm;
    bool read_isr;        /* OCW3 RR/RIS: A0=0 reads return ISR (else IRR) */
    bool poll;            /* OCW3 P: the next read is a poll command */
    bool special_mask;    /* OCW3 SMM */
};

struct pic {
    struct pic_chip chip[2]; /* [0] master, [1] slave */
    int intr;                /* INTR output; read atomically by pic_has_intr */
    void (*notify)(void *ctx, bool intr); /* optional: INTR changed */
    void *notify_ctx;
};

/* Resets both chips and registers 0x20-0x21, 0xa0-0xa1 and 0x4d0-0x4d1. */
void pic_init(struct pic *p, struct bus *bus);

/* Optional callback run (under the bus lock) whenever INTR changes, e.g. to
 * wake a halted vCPU. */
void pic_set_notify(struct pic *p, void (*fn)(void *ctx, bool intr), void *ctx);

/* Drives ISA IRQ line irq (0-15) to level.  IRQ 2 is the cascade input and
 * has no external line; it and out-of-range numbers are ignored. */
void pic_set_irq(struct pic *p, unsigned irq, int level);

/* INTR output of the master.  Lock-free. */
bool pic_has_intr(struct pic *p);

/* INTA cycle: returns the vector and moves the request to in-service.  If
 * the request vanished, returns the spurious IR7 vector of the chip that
 * was asked (IRQ 7 or IRQ 15) without setting ISR (8259A datasheet,
 * "Interrupt Sequence"). */
int pic_ack(struct pic *p);

#endif
