/* test_lapic.c — local APIC registers, priorities, timer, x2APIC and IPIs. */
#include <pthread.h>
#include <string.h>

#include "hw/clock.h"
#include "hw/lapic.h"
#include "test.h"

struct fake_clock {
    uint64_t t;
};

static uint64_t fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->t;
}

static void kick_count(void *ctx)
{
    (*(int *)ctx)++;
}

struct eoi_log {
    int n, last;
};

static void eoi_rec(void *ctx, int vector)
{
    struct eoi_log *e = ctx;
    e->n++;
    e->last = vector;
}

/* A software-enabled lapic on a private bus with a fake clock. */
static void setup(struct lapic *l, struct apic_bus *b, struct fake_clock *c, uint32_t id)
{
    lapic_init(l, id, id == 0, b);
    apic_bus_add(b, l);
    l->now_ns = fake_now;
    l->now_ctx = c;
    lapic_write(l, LAPIC_SVR, 0x1FF);
}

static bool irr_has(struct lapic *l, int v)
{
    return (lapic_read(l, LAPIC_IRR + 0x10 * (v >> 5)) >> (v & 31)) & 1;
}

static bool isr_has(struct lapic *l, int v)
{
    return (lapic_read(l, LAPIC_ISR + 0x10 * (v >> 5)) >> (v & 31)) & 1;
}

TEST(lapic_reset_state)
{
    struct apic_bus b;
    struct lapic l;
    apic_bus_init(&b);
    lapic_init(&l, 3, true, &b);
    CHECK_EQ(lapic_get_base(&l), 0xFEE00000ull | APIC_BASE_EN | APIC_BASE_BSP);
    CHECK_EQ(lapic_read(&l, LAPIC_VER), 0x50014);
    CHECK_EQ(lapic_read(&l, LAPIC_ID), 3u << 24);
    CHECK_EQ(lapic_read(&l, LAPIC_SVR), 0xFF);
    CHECK_EQ(lapic_read(&l, LAPIC_DFR), 0xFFFFFFFFu);
    CHECK_EQ(lapic_read(&l, LAPIC_LVT_TIMER), 0x10000);
    CHECK_EQ(lapic_read(&l, LAPIC_LVT_LINT0), 0x10000);
    CHECK(lapic_mmio_hit(&l, 0xFEE00300));
    CHECK(!lapic_mmio_hit(&l, 0xFEE01000));
    CHECK(!lapic_has_event(&l));
    /* software-disabled: LVT writes cannot clear the mask bit */
    lapic_write(&l, LAPIC_LVT_LINT0, 0x700);
    CHECK_EQ(lapic_read(&l, LAPIC_LVT_LINT0), 0x10700);
    lapic_write(&l, LAPIC_SVR, 0x1FF);
    lapic_write(&l, LAPIC_LVT_LINT0, 0x700);
    CHECK_EQ(lapic_read(&l, LAPIC_LVT_LINT0), 0x700);
    /* reserved register: ESR "illegal register address" after the ESR write */
    lapic_read(&l, 0x3C0);
    lapic_write(&l, LAPIC_ESR, 0);
    CHECK_EQ(lapic_read(&l, LAPIC_ESR), LAPIC_ESR_ILLEGAL_REG);
    lapic_write(&l, LAPIC_ESR, 0);
    CHECK_EQ(lapic_read(&l, LAPIC_ESR), 0);
}

TEST(lapic_priority_tpr)
{
    struct apic_bus b;
    struct lapic l;
    struct fake_clock c = { 0 };
    apic_bus_init(&b);
    setup(&l, &b, &c, 0);
    lapic_accept(&l, APIC_DM_FIXED, 0x45, false);
    lapic_accept(&l, APIC_DM_FIXED, 0x81, false);
    CHECK(lapic_has_event(&l));
    CHECK(irr_has(&l, 0x45) && irr_has(&l, 0x81));
    CHECK_EQ(lapic_pending_vector(&l), 0x81);
    lapic_write(&l, LAPIC_TPR, 0x90);
    CHECK_EQ(lapic_read(&l, LAPIC_PPR), 0x90);
    CHECK_EQ(lapic_pending_vector(&l), -1);
    CHECK_EQ(lapic_take_events(&l), 0);
    CHECK(!lapic_has_event(&l)); /* the hint went away with the scan */
    lapic_write(&l, LAPIC_TPR, 0x81); /* same class as 0x81: still blocked */
    CHECK_EQ(lapic_pending_vector(&l), -1);
    lapic_write(&l, LAPIC_TPR, 0x70);
    CHECK(lapic_has_event(&l));
    CHECK_EQ(lapic_take_events(&l), LAPIC_EV_INTR);
    CHECK_EQ(lapic_pending_vector(&l), 0x81);
    lapic_write(&l, LAPIC_TPR, 0x50);
    lapic_ack(&l, 0x81);
    /* PPR = ISR class 8 > TPR class 5; 0x45 is masked by the in-service 0x81 */
    CHECK_EQ(lapic_read(&l, LAPIC_PPR), 0x80);
    CHECK_EQ(lapic_pending_vector(&l), -1);
    lapic_write(&l, LAPIC_EOI, 0);
    CHECK_EQ(lapic_read(&l, LAPIC_PPR), 0x50);
    CHECK_EQ(lapic_pending_vector(&l), -1); /* 0x45 class 4 <= TPR class 5 */
    lapic_write(&l, LAPIC_TPR, 0);
    CHECK_EQ(lapic_pending_vector(&l), 0x45);
}

TEST(lapic_ack_eoi_order)
{
    struct apic_bus b;
    struct lapic l;
    struct fake_clock c = { 0 };
    apic_bus_init(&b);
    setup(&l, &b, &c, 0);
    lapic_accept(&l, APIC_DM_FIXED, 0x50, false);
    lapic_accept(&l, APIC_DM_FIXED, 0x60, false);
    CHECK_EQ(lapic_pending_vector(&l), 0x60);
    lapic_ack(&l, 0x60);
    CHECK(isr_has(&l, 0x60) && !irr_has(&l, 0x60));
    CHECK_EQ(lapic_pending_vector(&l), -1);
    lapic_accept(&l, APIC_DM_FIXED, 0x70, false); /* higher class nests */
    CHECK_EQ(lapic_pending_vector(&l), 0x70);
    lapic_ack(&l, 0x70);
    CHECK(isr_has(&l, 0x70) && isr_has(&l, 0x60));
    lapic_write(&l, LAPIC_EOI, 0); /* retires the highest: 0x70 */
    CHECK(!isr_has(&l, 0x70) && isr_has(&l, 0x60));
    CHECK_EQ(lapic_pending_vector(&l), -1);
    lapic_write(&l, LAPIC_EOI, 0);
    CHECK(!isr_has(&l, 0x60));
    CHECK_EQ(lapic_pending_vector(&l), 0x50);
    lapic_ack(&l, 0x50);
    lapic_write(&l, LAPIC_EOI, 0);
    for (int i = 0; i < 8; i++)
        CHECK_EQ(lapic_read(&l, LAPIC_ISR + 0x10 * i), 0);
    lapic_write(&l, LAPIC_EOI, 0); /* spurious EOI is harmless */
    CHECK_EQ(lapic_pending_vector(&l), -1);
}

TEST(lapic_eoi_broadcast_level)
{
    struct apic_bus b;
    struct lapic l;
    struct fake_clock c = { 0 };
    struct eoi_log log = { 0, -1 };
    apic_bus_init(&b);
    setup(&l, &b, &c, 0);
    l.eoi_broadcast = eoi_rec;
    l.eoi_ctx = &log;
    lapic_accept(&l, APIC_DM_FIXED, 0x55, true);
    CHECK((lapic_read(&l, LAPIC_TMR + 0x20) >> (0x55 & 31)) & 1);
    lapic_ack(&l, lapic_pending_vector(&l));
    lapic_write(&l, LAPIC_EOI, 0);
    CHECK_EQ(log.n, 1);
    CHECK_EQ(log.last, 0x55);
    lapic_accept(&l, APIC_DM_FIXED, 0x56, false);
    lapic_ack(&l, lapic_pending_vector(&l));
    lapic_write(&l, LAPIC_EOI, 0);
    CHECK_EQ(log.n, 1); /* edge: no broadcast */
}

TEST(lapic_disabled_and_illegal_vectors)
{
    struct apic_bus b;
    struct lapic l;
    struct fake_clock c = { 0 };
    apic_bus_init(&b);
    setup(&l, &b, &c, 0);
    lapic_write(&l, LAPIC_SVR, 0xFF); /* software disable */
    lapic_accept(&l, APIC_DM_FIXED, 0x40, false);
    CHECK(!irr_has(&l, 0x40));
    lapic_accept(&l, APIC_DM_NMI, 0, false);
    CHECK_EQ(lapic_take_events(&l), LAPIC_EV_NMI);
    CHECK_EQ(lapic_take_events(&l), 0);
    lapic_write(&l, LAPIC_SVR, 0x1FF);
    lapic_accept(&l, APIC_DM_FIXED, 5, false); /* vectors 0-15 are illegal */
    CHECK(!irr_has(&l, 5));
    lapic_write(&l, LAPIC_LVT_ERROR, 0xE0);
    lapic_take_events(&l); /* the owner fires LVT Error */
    CHECK_EQ(lapic_pending_vector(&l), 0xE0);
    lapic_write(&l, LAPIC_ESR, 0);
    CHECK_EQ(lapic_read(&l, LAPIC_ESR), LAPIC_ESR_RECV_ILLEGAL);
    /* an error LVT with an illegal vector must not loop */
    lapic_write(&l, LAPIC_LVT_ERROR, 0x03);
    lapic_accept(&l, APIC_DM_FIXED, 7, false);
    lapic_take_events(&l);
    lapic_take_events(&l);
    CHECK(!(lapic_take_events(&l) & ~LAPIC_EV_INTR));
}

TEST(lapic_timer_oneshot)
{
    struct apic_bus b;
    struct lapic l;
    struct fake_clock c = { 1000 };
    apic_bus_init(&b);
    setup(&l, &b, &c, 0);
    CHECK_EQ(lapic_timer_hz(&l), 500000000); /* DCR 0 = divide by 2 */
    lapic_write(&l, LAPIC_TIMER_DCR, 0xB);   /* divide by 1 */
    CHECK_EQ(lapic_timer_hz(&l), 1000000000);
    lapic_write(&l, LAPIC_LVT_TIMER, 0x40);
    CHECK_EQ(lapic_next_deadline(&l), CLOCK_NEVER);
    lapic_write(&l, LAPIC_TIMER_ICR, 1000);
    CHECK_EQ(lapic_next_deadline(&l), 2000);
    c.t = 1500;
    CHECK_EQ(lapic_read(&l, LAPIC_TIMER_CCR), 500);
    lapic_advance(&l, 1999);
    CHECK(!irr_has(&l, 0x40));
    lapic_advance(&l, 2000);
    CHECK(irr_has(&l, 0x40));
    CHECK_EQ(lapic_next_deadline(&l), CLOCK_NEVER);
    c.t = 5000;
    CHECK_EQ(lapic_read(&l, LAPIC_TIMER_CCR), 0);
    CHECK_EQ(lapic_read(&l, LAPIC_TIMER_ICR), 1000);
    /* divide by 16: 100 ticks take 1600 ns */
    lapic_write(&l, LAPIC_TIMER_DCR, 0x3);
    lapic_write(&l, LAPIC_TIMER_ICR, 100);
    CHECK_EQ(lapic_next_deadline(&l), 6600);
    /* masked: expiry passes silently, unmasking later does not fire */
    lapic_ack(&l, 0x40);
    lapic_write(&l, LAPIC_EOI, 0);
    lapic_write(&l, LAPIC_LVT_TIMER, 0x10040);
    CHECK_EQ(lapic_next_deadline(&l), CLOCK_NEVER);
    c.t = 7000;
    lapic_write(&l, LAPIC_LVT_TIMER, 0x40);
    lapic_advance(&l, 7000);
    CHECK(!irr_has(&l, 0x40));
    CHECK_EQ(lapic_next_deadline(&l), CLOCK_NEVER);
    /* writing 0 stops the timer */
    lapic_write(&l, LAPIC_TIMER_ICR, 50);
    lapic_write(&l, LAPIC_TIMER_ICR, 0);
    CHECK_EQ(lapic_next_deadline(&l), CLOCK_NEVER);
}

TEST(lapic_timer_periodic)
{
    struct apic_bus b;
    struct lapic l;
    struct fake_clock c = { 0 };
    apic_bus_init(&b);
    setup(&l, &b, &c, 0);
    lapic_write(&l, LAPIC_TIMER_DCR, 0xB);
    lapic_write(&l, LAPIC_LVT_TIMER, (1u << 17) | 0x41);
    lapic_write(&l, LAPIC_TIMER_ICR, 10000);
    CHECK_EQ(lapic_next_deadline(&l), 10000);
    lapic_advance(&l, 10000);
    CHECK(irr_has(&l, 0x41));
    CHECK_EQ(lapic_next_deadline(&l), 20000);
    lapic_ack(&l, lapic_pending_vector(&l));
    lapic_write(&l, LAPIC_EOI, 0);
    lapic_advance(&l, 35000); /* two periods late: one (coalesced) interrupt */
    CHECK(irr_has(&l, 0x41));
    CHECK_EQ(lapic_next_deadline(&l), 40000);
    c.t = 35000;
    CHECK_EQ(lapic_read(&l, LAPIC_TIMER_CCR), 5000);
    /* switch to one-shot mid-period: the count keeps running to 0, then stops */
    lapic_write(&l, LAPIC_LVT_TIMER, 0x41);
    CHECK_EQ(lapic_next_deadline(&l), 40000);
    lapic_ack(&l, 0x41);
    lapic_write(&l, LAPIC_EOI, 0);
    lapic_advance(&l, 40000);
    CHECK(irr_has(&l, 0x41));
    CHECK_EQ(lapic_next_deadline(&l), CLOCK_NEVER);
    c.t = 45000;
    CHECK_EQ(lapic_read(&l, LAPIC_TIMER_CCR), 0);
    /* an expired one-shot switched to periodic stays stopped at 0 */
    lapic_write(&l, LAPIC_LVT_TIMER, (1u << 17) | 0x41);
    CHECK_EQ(lapic_read(&l, LAPIC_TIMER_CCR), 0);
    CHECK_EQ(lapic_next_deadline(&l), CLOCK_NEVER);
    /* tiny periods are clamped for firing */
    lapic_write(&l, LAPIC_LVT_TIMER, (1u << 17) | 0x41);
    c.t = 100000;
    lapic_write(&l, LAPIC_TIMER_ICR, 1);
    lapic_advance(&l, 100001);
    CHECK_EQ(lapic_next_deadline(&l), 100001 + LAPIC_TIMER_MIN_PERIOD_NS);
}

TEST(lapic_timer_tsc_deadline)
{
    struct apic_bus b;
    struct lapic l;
    struct fake_clock c = { 1000 };
    apic_bus_init(&b);
    setup(&l, &b, &c, 0);
    l.tsc_hz = 2000000000ull; /* 2 ticks per ns */
    lapic_set_tsc_deadline(&l, 9999); /* ignored: not in TSC-deadline mode */
    CHECK_EQ(lapic_get_tsc_deadline(&l), 0);
    lapic_write(&l, LAPIC_LVT_TIMER, (2u << 17) | 0x42);
    lapic_write(&l, LAPIC_TIMER_ICR, 5); /* ignored in TSC-deadline mode */
    CHECK_EQ(lapic_read(&l, LAPIC_TIMER_ICR), 0);
    lapic_set_tsc_deadline(&l, 8000);
    CHECK_EQ(lapic_get_tsc_deadline(&l), 8000);
    CHECK_EQ(lapic_next_deadline(&l), 4000);
    lapic_advance(&l, 3999);
    CHECK(!irr_has(&l, 0x42));
    lapic_advance(&l, 4000);
    CHECK(irr_has(&l, 0x42));
    CHECK_EQ(lapic_get_tsc_deadline(&l), 0);
    CHECK_EQ(lapic_next_deadline(&l), CLOCK_NEVER);
    /* a deadline in the past fires at once; 0 disarms */
    lapic_ack(&l, 0x42);
    lapic_write(&l, LAPIC_EOI, 0);
    c.t = 10000;
    lapic_set_tsc_deadline(&l, 100);
    CHECK(irr_has(&l, 0x42));
    lapic_set_tsc_deadline(&l, 1000000);
    lapic_set_tsc_deadline(&l, 0);
    CHECK_EQ(lapic_next_deadline(&l), CLOCK_NEVER);
    /* leaving TSC-deadline mode disarms */
    lapic_set_tsc_deadline(&l, 1000000);
    lapic_write(&l, LAPIC_LVT_TIMER, 0x42);
    CHECK_EQ(lapic_next_deadline(&l), CLOCK_NEVER);
    lapic_write(&l, LAPIC_LVT_TIMER, (2u << 17) | 0x42);
    CHECK_EQ(lapic_get_tsc_deadline(&l), 0);
}

TEST(lapic_apic_base_transitions)
{
    struct apic_bus b;
    struct lapic l;
    apic_bus_init(&b);
    lapic_init(&l, 1, false, &b);
    uint64_t base = 0xFEE00000ull;
    CHECK_EQ(lapic_set_base(&l, base | APIC_BASE_EXTD), -1);            /* invalid state */
    CHECK_EQ(lapic_set_base(&l, base | APIC_BASE_EN | (1 << 9)), -1);   /* reserved bit */
    CHECK_EQ(lapic_set_base(&l, base | APIC_BASE_EN | (1ull << 50)), -1); /* > MAXPHYADDR */
    CHECK_EQ(lapic_set_base(&l, base | APIC_BASE_EN | APIC_BASE_EXTD), 0); /* xAPIC -> x2 */
    CHECK_EQ(lapic_set_base(&l, base | APIC_BASE_EN), -1);              /* x2 -> xAPIC */
    CHECK_EQ(lapic_set_base(&l, base), 0);                              /* x2 -> disabled */
    CHECK_EQ(lapic_set_base(&l, base | APIC_BASE_EN | APIC_BASE_EXTD), -1); /* disabled -> x2 */
    CHECK_EQ(lapic_set_base(&l, base | APIC_BASE_EN | APIC_BASE_BSP), 0); /* -> xAPIC */
    CHECK_EQ(lapic_get_base(&l), base | APIC_BASE_EN);                  /* BSP read-only */
    CHECK_EQ(lapic_set_base(&l, 0xFED00000ull | APIC_BASE_EN), 0);      /* relocate */
    CHECK(lapic_mmio_hit(&l, 0xFED00020));
    CHECK(!lapic_mmio_hit(&l, 0xFEE00020));
    /* disabling drops the register state */
    lapic_write(&l, LAPIC_TPR, 0x20);
    CHECK_EQ(lapic_set_base(&l, 0xFED00000ull), 0);
    CHECK_EQ(lapic_set_base(&l, 0xFED00000ull | APIC_BASE_EN), 0);
    CHECK_EQ(lapic_read(&l, LAPIC_TPR), 0);
}

TEST(lapic_x2apic_msrs)
{
    struct apic_bus b;
    struct lapic l;
    struct fake_clock c = { 0 };
    uint64_t v = 0;
    apic_bus_init(&b);
    setup(&l, &b, &c, 0x13);
    CHECK_EQ(lapic_msr_read(&l, 0x802, &v), -1); /* x2APIC not enabled */
    CHECK_EQ(lapic_set_base(&l, lapic_get_base(&l) | APIC_BASE_EXTD), 0);
    CHECK_EQ(lapic_read(&l, LAPIC_ID), 0); /* MMIO page is gone */
    CHECK_EQ(lapic_msr_read(&l, 0x802, &v), 0);
    CHECK_EQ(v, 0x13);
    CHECK_EQ(lapic_msr_read(&l, 0x803, &v), 0);
    CHECK_EQ(v, 0x50014);
    CHECK_EQ(lapic_msr_read(&l, 0x80D, &v), 0);
    CHECK_EQ(v, (1u << 16) | (1u << 3)); /* cluster 1, bit 3 */
    CHECK_EQ(lapic_msr_read(&l, 0x80F, &v), 0);
    CHECK_EQ(v, 0x1FF); /* SVR survives the xAPIC -> x2APIC transition */
    /* read-only, write-only and missing registers */
    CHECK_EQ(lapic_msr_write(&l, 0x802, 0), -1);
    CHECK_EQ(lapic_msr_write(&l, 0x803, 0), -1);
    CHECK_EQ(lapic_msr_write(&l, 0x80D, 0), -1);
    CHECK_EQ(lapic_msr_write(&l, 0x820, 0), -1);
    CHECK_EQ(lapic_msr_read(&l, 0x80B, &v), -1);
    CHECK_EQ(lapic_msr_read(&l, 0x83F, &v), -1);
    CHECK_EQ(lapic_msr_read(&l, 0x80E, &v), -1);
    CHECK_EQ(lapic_msr_read(&l, 0x809, &v), -1);
    CHECK_EQ(lapic_msr_read(&l, 0x831, &v), -1);
    CHECK_EQ(lapic_msr_write(&l, 0x831, 0), -1);
    CHECK_EQ(lapic_msr_read(&l, 0x8FF, &v), -1);
    CHECK_EQ(lapic_msr_read(&l, 0x82F, &v), -1); /* no LVT CMCI: max LVT is 5 */
    CHECK_EQ(lapic_msr_write(&l, 0x82F, 0), -1);
    CHECK_EQ(lapic_msr_read(&l, 0x900, &v), -1);
    /* reserved bits */
    CHECK_EQ(lapic_msr_write(&l, 0x808, 0x100), -1);
    CHECK_EQ(lapic_msr_write(&l, 0x808, 1ull << 32), -1);
    CHECK_EQ(lapic_msr_write(&l, 0x80B, 1), -1);
    CHECK_EQ(lapic_msr_write(&l, 0x828, 1), -1);
    CHECK_EQ(lapic_msr_write(&l, 0x83F, 0x100), -1);
    CHECK_EQ(lapic_msr_write(&l, 0x830, 1u << 13), -1);
    CHECK_EQ(lapic_msr_write(&l, 0x83E, 0x4), -1);
    /* legal writes */
    CHECK_EQ(lapic_msr_write(&l, 0x808, 0x20), 0);
    CHECK_EQ(lapic_msr_read(&l, 0x808, &v), 0);
    CHECK_EQ(v, 0x20);
    CHECK_EQ(lapic_msr_write(&l, 0x828, 0), 0);
    CHECK_EQ(lapic_msr_write(&l, 0x80B, 0), 0);
    CHECK_EQ(lapic_msr_write(&l, 0x835, 0x700), 0);
    CHECK_EQ(lapic_msr_read(&l, 0x835, &v), 0);
    CHECK_EQ(v, 0x700);
    /* ICR is one 64-bit register */
    CHECK_EQ(lapic_msr_write(&l, 0x830, (0x13ull << 32) | 0x4031), 0);
    CHECK_EQ(lapic_msr_read(&l, 0x830, &v), 0);
    CHECK_EQ(v, (0x13ull << 32) | 0x4031);
    CHECK(irr_has(&l, 0x31) == false); /* MMIO read is dead in x2APIC mode... */
    CHECK_EQ(lapic_msr_read(&l, 0x821, &v), 0); /* ...IRR 32-63 via MSR */
    CHECK((v >> (0x31 - 32)) & 1);
}

TEST(lapic_self_ipi)
{
    struct apic_bus b;
    struct lapic l;
    struct fake_clock c = { 0 };
    uint64_t v = 0;
    int kicks = 0;
    apic_bus_init(&b);
    setup(&l, &b, &c, 0);
    l.kick = kick_count;
    l.kick_ctx = &kicks;
    lapic_write(&l, LAPIC_ICR_LO, (APIC_SH_SELF << 18) | 0x40);
    CHECK(irr_has(&l, 0x40));
    CHECK_EQ(kicks, 0); /* the sender is running: no wakeup needed */
    CHECK_EQ(lapic_read(&l, LAPIC_ICR_LO) & (1u << 12), 0); /* delivery status idle */
    /* self shorthand with NMI is invalid */
    lapic_write(&l, LAPIC_ICR_LO, (APIC_SH_SELF << 18) | (APIC_DM_NMI << 8));
    CHECK_EQ(lapic_take_events(&l) & LAPIC_EV_NMI, 0);
    /* illegal vector: send error */
    lapic_write(&l, LAPIC_ICR_LO, (APIC_SH_SELF << 18) | 0x0F);
    lapic_write(&l, LAPIC_ESR, 0);
    CHECK_EQ(lapic_read(&l, LAPIC_ESR), LAPIC_ESR_SEND_ILLEGAL);
    CHECK_EQ(lapic_set_base(&l, lapic_get_base(&l) | APIC_BASE_EXTD), 0);
    CHECK_EQ(lapic_msr_write(&l, 0x83F, 0x41), 0);
    CHECK_EQ(lapic_msr_read(&l, 0x822, &v), 0); /* IRR 64-95 */
    CHECK((v >> (0x41 - 64)) & 1);
    CHECK_EQ(lapic_pending_vector(&l), 0x41);
}

TEST(lapic_ipi_fixed_destinations)
{
    struct apic_bus b;
    struct lapic l0, l1;
    struct fake_clock c = { 0 };
    int k0 = 0, k1 = 0;
    apic_bus_init(&b);
    setup(&l0, &b, &c, 0);
    setup(&l1, &b, &c, 1);
    l0.kick = kick_count;
    l0.kick_ctx = &k0;
    l1.kick = kick_count;
    l1.kick_ctx = &k1;
    /* physical */
    lapic_write(&l0, LAPIC_ICR_HI, 1u << 24);
    lapic_write(&l0, LAPIC_ICR_LO, 0x4030);
    CHECK(irr_has(&l1, 0x30) && !irr_has(&l0, 0x30));
    CHECK_EQ(k1, 1);
    CHECK_EQ(k0, 0);
    CHECK_EQ(lapic_take_events(&l1), LAPIC_EV_INTR);
    CHECK_EQ(lapic_pending_vector(&l1), 0x30);
    /* physical broadcast 0xFF reaches both */
    lapic_write(&l0, LAPIC_ICR_HI, 0xFFu << 24);
    lapic_write(&l0, LAPIC_ICR_LO, 0x4032);
    CHECK(irr_has(&l1, 0x32) && irr_has(&l0, 0x32));
    /* logical flat */
    lapic_write(&l0, LAPIC_LDR, 0x01u << 24);
    lapic_write(&l1, LAPIC_LDR, 0x02u << 24);
    lapic_write(&l1, LAPIC_ICR_HI, 0x03u << 24);
    lapic_write(&l1, LAPIC_ICR_LO, (1u << 11) | 0x4033);
    CHECK(irr_has(&l0, 0x33) && irr_has(&l1, 0x33));
    lapic_write(&l1, LAPIC_ICR_HI, 0x01u << 24);
    lapic_write(&l1, LAPIC_ICR_LO, (1u << 11) | 0x4034);
    CHECK(irr_has(&l0, 0x34) && !irr_has(&l1, 0x34));
    /* logical cluster */
    lapic_write(&l0, LAPIC_DFR, 0x0FFFFFFF);
    lapic_write(&l1, LAPIC_DFR, 0x0FFFFFFF);
    CHECK_EQ(lapic_read(&l0, LAPIC_DFR), 0x0FFFFFFF);
    lapic_write(&l0, LAPIC_LDR, 0x11u << 24);
    lapic_write(&l1, LAPIC_LDR, 0x21u << 24);
    lapic_write(&l0, LAPIC_ICR_HI, 0x21u << 24);
    lapic_write(&l0, LAPIC_ICR_LO, (1u << 11) | 0x4035);
    CHECK(irr_has(&l1, 0x35) && !irr_has(&l0, 0x35));
    /* shorthands */
    lapic_write(&l0, LAPIC_ICR_LO, (APIC_SH_OTHERS << 18) | 0x4036);
    CHECK(irr_has(&l1, 0x36) && !irr_has(&l0, 0x36));
    lapic_write(&l0, LAPIC_ICR_LO, (APIC_SH_ALL << 18) | 0x4037);
    CHECK(irr_has(&l1, 0x37) && irr_has(&l0, 0x37));
    /* lowest priority: the lower TPR wins */
    lapic_write(&l0, LAPIC_TPR, 0x20);
    apic_bus_deliver(&b, APIC_DEST_BROADCAST, false, APIC_DM_LOWEST, 0x38, false, 0, NULL);
    CHECK(irr_has(&l1, 0x38) && !irr_has(&l0, 0x38));
    /* a target in x2APIC mode is addressed by its 32-bit ID */
    CHECK_EQ(lapic_set_base(&l1, lapic_get_base(&l1) | APIC_BASE_EXTD), 0);
    apic_bus_deliver(&b, 1, false, APIC_DM_FIXED, 0x39, false, 0, NULL);
    CHECK(!irr_has(&l0, 0x39));
    uint64_t v;
    CHECK_EQ(lapic_msr_read(&l1, 0x821, &v), 0);
    CHECK((v >> (0x39 - 32)) & 1);
}

TEST(lapic_ipi_init_sipi)
{
    struct apic_bus b;
    struct lapic l0, l1;
    struct fake_clock c = { 0 };
    int k1 = 0;
    apic_bus_init(&b);
    setup(&l0, &b, &c, 0);
    lapic_init(&l1, 1, false, &b); /* an AP straight out of reset */
    apic_bus_add(&b, &l1);
    l1.kick = kick_count;
    l1.kick_ctx = &k1;
    /* INIT level de-assert is ignored */
    lapic_write(&l0, LAPIC_ICR_HI, 1u << 24);
    lapic_write(&l0, LAPIC_ICR_LO, (1u << 15) | (APIC_DM_INIT << 8));
    CHECK(!lapic_has_event(&l1));
    CHECK_EQ(k1, 0);
    /* INIT assert, then SIPI to all-excluding-self */
    lapic_write(&l0, LAPIC_ICR_LO, (1u << 14) | (APIC_DM_INIT << 8));
    CHECK(lapic_has_event(&l1));
    CHECK_EQ(lapic_take_events(&l1), LAPIC_EV_INIT);
    lapic_reset(&l1, true);
    lapic_write(&l0, LAPIC_ICR_LO, (APIC_SH_OTHERS << 18) | (1u << 14) | (APIC_DM_SIPI << 8) | 0x9A);
    CHECK_EQ(lapic_take_events(&l1), LAPIC_EV_SIPI);
    CHECK_EQ(lapic_sipi_vector(&l1), 0x9A);
    CHECK_EQ(lapic_take_events(&l0), 0);
    CHECK_EQ(k1, 2);
    /* SIPI to "all including self" is not a valid combination */
    lapic_write(&l0, LAPIC_ICR_LO, (APIC_SH_ALL << 18) | (APIC_DM_SIPI << 8) | 0x9B);
    CHECK_EQ(lapic_take_events(&l1), 0);
    /* NMI IPI */
    lapic_write(&l0, LAPIC_ICR_LO, (1u << 14) | (APIC_DM_NMI << 8));
    CHECK_EQ(lapic_take_events(&l1), LAPIC_EV_NMI);
    /* two NMIs before the CPU looked: the second one is not merged */
    lapic_write(&l0, LAPIC_ICR_LO, (1u << 14) | (APIC_DM_NMI << 8));
    lapic_write(&l0, LAPIC_ICR_LO, (1u << 14) | (APIC_DM_NMI << 8));
    CHECK_EQ(lapic_take_events(&l1), LAPIC_EV_NMI | LAPIC_EV_NMI2);
    CHECK_EQ(lapic_take_events(&l1), 0);
}

TEST(lapic_lint0_extint)
{
    struct apic_bus b;
    struct lapic l;
    apic_bus_init(&b);
    lapic_init(&l, 0, true, &b);
    /* reset state: LINT0 masked, nothing gets through */
    lapic_set_lint0(&l, 1);
    CHECK(!lapic_extint_pending(&l));
    lapic_set_lint0(&l, 0);
    lapic_firmware_setup(&l); /* virtual wire: LINT0 = ExtINT */
    lapic_take_events(&l);
    CHECK(!lapic_has_event(&l));
    lapic_set_lint0(&l, 1);
    CHECK(lapic_has_event(&l));
    CHECK(lapic_extint_pending(&l));
    CHECK_EQ(lapic_take_events(&l), LAPIC_EV_EXTINT);
    lapic_set_lint0(&l, 0); /* the 8259 drops INTR after its INTA */
    CHECK_EQ(lapic_take_events(&l), 0);
    CHECK(!lapic_has_event(&l));
    /* APIC globally disabled: LINT0 is the INTR pin */
    CHECK_EQ(lapic_set_base(&l, LAPIC_DEFAULT_BASE), 0);
    lapic_set_lint0(&l, 1);
    CHECK(lapic_extint_pending(&l));
    CHECK_EQ(lapic_take_events(&l), LAPIC_EV_EXTINT);
    lapic_set_lint0(&l, 0);
    CHECK(!lapic_extint_pending(&l));
    lapic_set_lint1(&l, 1); /* and LINT1 is NMI */
    CHECK_EQ(lapic_take_events(&l), LAPIC_EV_NMI);
    /* ExtINT message (IOAPIC) latches until acknowledged */
    CHECK_EQ(lapic_set_base(&l, LAPIC_DEFAULT_BASE | APIC_BASE_EN), 0);
    lapic_accept(&l, APIC_DM_EXTINT, 0, false);
    CHECK_EQ(lapic_take_events(&l), LAPIC_EV_EXTINT);
    lapic_extint_ack(&l);
    CHECK_EQ(lapic_take_events(&l), 0);
}

/* A sender thread and the owner: every interrupt must be seen exactly once
 * through the has_event() hint (a lost hint would stall the owner). */
struct race {
    struct lapic *l;
    _Atomic int done;
    int n;
};

static void *race_sender(void *p)
{
    struct race *r = p;
    for (int i = 0; i < r->n; i++) {
        int d;
        while ((d = atomic_load(&r->done)) != i)
            if (d >= r->n)
                return NULL;
        lapic_accept(r->l, APIC_DM_FIXED, 0x20 + (i % 0xD0), false);
    }
    return NULL;
}

TEST(lapic_cross_thread_delivery)
{
    struct apic_bus b;
    struct lapic l;
    struct fake_clock c = { 0 };
    struct race r = { &l, 0, 20000 };
    apic_bus_init(&b);
    setup(&l, &b, &c, 0);
    pthread_t th;
    pthread_create(&th, NULL, race_sender, &r);
    uint64_t start = clock_host_ns();
    bool stalled = false;
    int wrong = 0;
    while (atomic_load(&r.done) < r.n) {
        if (!lapic_has_event(&l)) {
            if (clock_host_ns() - start > 20000000000ull) {
                stalled = true;
                break;
            }
            continue;
        }
        if (lapic_take_events(&l) & LAPIC_EV_INTR) {
            int v = lapic_pending_vector(&l);
            if (v < 0)
                continue;
            if (v != 0x20 + (atomic_load(&r.done) % 0xD0))
                wrong++;
            lapic_ack(&l, v);
            lapic_write(&l, LAPIC_EOI, 0);
            atomic_fetch_add(&r.done, 1);
        }
    }
    if (stalled)
        atomic_store(&r.done, r.n); /* let the sender finish */
    pthread_join(th, NULL);
    CHECK(!stalled);
    CHECK_EQ(wrong, 0);
}
