/*
 * irq.h — how devices raise interrupt lines without knowing the interrupt
 * controllers or the CPU engine.  The machine routes a GSI to the 8259 pair
 * and the IOAPIC (as a PC chipset does).
 */
#ifndef NESTVM_HW_IRQ_H
#define NESTVM_HW_IRQ_H

struct irq_sink {
    void (*set)(void *ctx, unsigned gsi, int level);
    void *ctx;
};

static inline void irq_set(const struct irq_sink *s, unsigned gsi, int level)
{
    if (s && s->set)
        s->set(s->ctx, gsi, level);
}

/* Edge-triggered sources (PIT, RTC with ISA semantics) pulse the line. */
static inline void irq_pulse(const struct irq_sink *s, unsigned gsi)
{
    irq_set(s, gsi, 1);
    irq_set(s, gsi, 0);
}

#endif
