/* test_ioapic.c — 82093AA IOAPIC driven through its MMIO window on a bus. */
#include "hw/bus.h"
#include "hw/irq.h"
#include "hw/ioapic.h"
#include "hw/lapic.h"
#include "test.h"

struct rig {
    struct bus bus;
    struct apic_bus ab;
    struct lapic l0, l1;
    struct ioapic io;
};

static void rig_init(struct rig *r)
{
    CHECK_EQ(bus_init(&r->bus, 16 << 20), 0);
    apic_bus_init(&r->ab);
    lapic_init(&r->l0, 0, true, &r->ab);
    lapic_init(&r->l1, 1, false, &r->ab);
    apic_bus_add(&r->ab, &r->l0);
    apic_bus_add(&r->ab, &r->l1);
    lapic_write(&r->l0, LAPIC_SVR, 0x1FF);
    lapic_write(&r->l1, LAPIC_SVR, 0x1FF);
    CHECK_EQ(ioapic_init(&r->io, &r->bus, &r->ab, 2, IOAPIC_DEFAULT_BASE), 0);
    r->l0.eoi_broadcast = ioapic_eoi_cb;
    r->l0.eoi_ctx = &r->io;
    r->l1.eoi_broadcast = ioapic_eoi_cb;
    r->l1.eoi_ctx = &r->io;
}

static void rig_fini(struct rig *r)
{
    ioapic_destroy(&r->io);
    bus_destroy(&r->bus);
}

static uint32_t io_rd(struct rig *r, uint8_t reg)
{
    bus_mmio_write(&r->bus, IOAPIC_DEFAULT_BASE + IOAPIC_IOREGSEL, reg, 4);
    return (uint32_t)bus_mmio_read(&r->bus, IOAPIC_DEFAULT_BASE + IOAPIC_IOWIN, 4);
}

static void io_wr(struct rig *r, uint8_t reg, uint32_t v)
{
    bus_mmio_write(&r->bus, IOAPIC_DEFAULT_BASE + IOAPIC_IOREGSEL, reg, 4);
    bus_mmio_write(&r->bus, IOAPIC_DEFAULT_BASE + IOAPIC_IOWIN, v, 4);
}

static void rte(struct rig *r, unsigned pin, uint64_t v)
{
    io_wr(r, (uint8_t)(0x10 + 2 * pin), (uint32_t)v | (1u << 16)); /* mask while editing */
    io_wr(r, (uint8_t)(0x11 + 2 * pin), (uint32_t)(v >> 32));
    io_wr(r, (uint8_t)(0x10 + 2 * pin), (uint32_t)v);
}

static bool irr_has(struct lapic *l, int v)
{
    return (lapic_read(l, LAPIC_IRR + 0x10 * (v >> 5)) >> (v & 31)) & 1;
}

/* Take and complete the highest pending interrupt like a CPU would. */
static int service(struct lapic *l)
{
    int v = lapic_pending_vector(l);
    if (v >= 0) {
        lapic_ack(l, v);
        lapic_write(l, LAPIC_EOI, 0);
    }
    return v;
}

TEST(ioapic_registers)
{
    struct rig r;
    rig_init(&r);
    CHECK_EQ(io_rd(&r, IOAPIC_REG_VER), 0x170011);
    CHECK_EQ(io_rd(&r, IOAPIC_REG_ID), 2u << 24);
    io_wr(&r, IOAPIC_REG_ID, 0x0F000000);
    CHECK_EQ(io_rd(&r, IOAPIC_REG_ID), 0x0F000000);
    CHECK_EQ(io_rd(&r, IOAPIC_REG_ARB), 0x0F000000);
    io_wr(&r, IOAPIC_REG_VER, 0); /* read-only */
    CHECK_EQ(io_rd(&r, IOAPIC_REG_VER), 0x170011);
    for (unsigned i = 0; i < IOAPIC_NPINS; i++) {
        CHECK_EQ(io_rd(&r, (uint8_t)(0x10 + 2 * i)), 0x10000); /* masked after reset */
        CHECK_EQ(io_rd(&r, (uint8_t)(0x11 + 2 * i)), 0);
    }
    /* writable fields only: delivery status and remote IRR stay 0 */
    io_wr(&r, 0x10, 0xFFFFFFFF);
    CHECK_EQ(io_rd(&r, 0x10), 0x1AFFF);
    io_wr(&r, 0x11, 0xFFFFFFFF);
    CHECK_EQ(io_rd(&r, 0x11), 0xFF000000);
    /* IOREGSEL reads back; reserved registers read 0 */
    bus_mmio_write(&r.bus, IOAPIC_DEFAULT_BASE, 0x7F, 4);
    CHECK_EQ(bus_mmio_read(&r.bus, IOAPIC_DEFAULT_BASE, 4), 0x7F);
    CHECK_EQ(bus_mmio_read(&r.bus, IOAPIC_DEFAULT_BASE + 0x10, 4), 0);
    bus_mmio_write(&r.bus, IOAPIC_DEFAULT_BASE + 0x10, 0x1234, 4); /* ignored */
    CHECK_EQ(bus_mmio_read(&r.bus, IOAPIC_DEFAULT_BASE + 0x20, 4), 0);
    ioapic_set_irq(&r.io, 24, 1); /* out of range: ignored */
    ioapic_set_irq(&r.io, 0xFFFFFFFFu, 1);
    rig_fini(&r);
}

TEST(ioapic_edge)
{
    struct rig r;
    rig_init(&r);
    rte(&r, 4, (1ull << 56) | 0x34); /* edge, high, fixed, physical dest 1 */
    ioapic_set_irq(&r.io, 4, 1);
    CHECK(irr_has(&r.l1, 0x34));
    CHECK(!irr_has(&r.l0, 0x34));
    CHECK_EQ(service(&r.l1), 0x34);
    CHECK_EQ(io_rd(&r, 0x10 + 8) & IOAPIC_RTE_REMOTE_IRR, 0);
    ioapic_set_irq(&r.io, 4, 1); /* no new edge */
    CHECK_EQ(lapic_pending_vector(&r.l1), -1);
    ioapic_set_irq(&r.io, 4, 0);
    ioapic_set_irq(&r.io, 4, 1);
    CHECK_EQ(service(&r.l1), 0x34);
    /* physical broadcast */
    rte(&r, 4, (0xFFull << 56) | 0x35);
    ioapic_set_irq(&r.io, 4, 0);
    ioapic_set_irq(&r.io, 4, 1);
    CHECK(irr_has(&r.l0, 0x35) && irr_has(&r.l1, 0x35));
    rig_fini(&r);
}

TEST(ioapic_level_remote_irr)
{
    struct rig r;
    rig_init(&r);
    rte(&r, 10, IOAPIC_RTE_LEVEL | 0x3A); /* level, dest 0 */
    ioapic_set_irq(&r.io, 10, 1);
    CHECK(irr_has(&r.l0, 0x3A));
    CHECK(io_rd(&r, 0x10 + 20) & IOAPIC_RTE_REMOTE_IRR);
    CHECK((lapic_read(&r.l0, LAPIC_TMR + 0x10) >> (0x3A - 32)) & 1);
    /* while Remote IRR is set nothing more is sent */
    lapic_ack(&r.l0, 0x3A);
    ioapic_set_irq(&r.io, 10, 1);
    CHECK(!irr_has(&r.l0, 0x3A));
    /* EOI with the line still asserted: Remote IRR clears, redelivered */
    lapic_write(&r.l0, LAPIC_EOI, 0);
    CHECK(irr_has(&r.l0, 0x3A));
    CHECK(io_rd(&r, 0x10 + 20) & IOAPIC_RTE_REMOTE_IRR);
    /* the device deasserts; the next EOI leaves everything idle */
    ioapic_set_irq(&r.io, 10, 0);
    CHECK_EQ(service(&r.l0), 0x3A);
    CHECK_EQ(io_rd(&r, 0x10 + 20) & IOAPIC_RTE_REMOTE_IRR, 0);
    CHECK_EQ(lapic_pending_vector(&r.l0), -1);
    /* an EOI for another vector leaves Remote IRR alone */
    ioapic_set_irq(&r.io, 10, 1);
    ioapic_eoi(&r.io, 0x99);
    CHECK(io_rd(&r, 0x10 + 20) & IOAPIC_RTE_REMOTE_IRR);
    /* switching the entry to edge clears a stuck Remote IRR */
    io_wr(&r, 0x10 + 20, 0x1003A);
    CHECK_EQ(io_rd(&r, 0x10 + 20) & IOAPIC_RTE_REMOTE_IRR, 0);
    rig_fini(&r);
}

TEST(ioapic_masking)
{
    struct rig r;
    rig_init(&r);
    /* masked edge: the edge is lost, unmasking does not deliver it */
    rte(&r, 3, IOAPIC_RTE_MASKED | 0x33);
    ioapic_set_irq(&r.io, 3, 1);
    CHECK(!irr_has(&r.l0, 0x33));
    io_wr(&r, 0x10 + 6, 0x33);
    CHECK(!irr_has(&r.l0, 0x33));
    /* masked level: delivered once unmasked while still asserted */
    rte(&r, 5, IOAPIC_RTE_MASKED | IOAPIC_RTE_LEVEL | 0x45);
    ioapic_set_irq(&r.io, 5, 1);
    CHECK(!irr_has(&r.l0, 0x45));
    CHECK_EQ(io_rd(&r, 0x10 + 10) & IOAPIC_RTE_REMOTE_IRR, 0);
    io_wr(&r, 0x10 + 10, IOAPIC_RTE_LEVEL | 0x45);
    CHECK(irr_has(&r.l0, 0x45));
    /* active-low level input: asserted when the pin is low */
    rte(&r, 6, IOAPIC_RTE_LEVEL | IOAPIC_RTE_POLARITY_LOW | 0x46);
    CHECK(irr_has(&r.l0, 0x46)); /* pin idles at 0 = asserted */
    rig_fini(&r);
}

TEST(ioapic_logical_and_special_modes)
{
    struct rig r;
    rig_init(&r);
    lapic_write(&r.l0, LAPIC_LDR, 0x01u << 24);
    lapic_write(&r.l1, LAPIC_LDR, 0x02u << 24);
    rte(&r, 7, (0x02ull << 56) | (1u << 11) | 0x47); /* logical flat -> l1 */
    ioapic_set_irq(&r.io, 7, 1);
    CHECK(irr_has(&r.l1, 0x47) && !irr_has(&r.l0, 0x47));
    /* NMI entry */
    rte(&r, 8, (APIC_DM_NMI << 8));
    ioapic_set_irq(&r.io, 8, 1);
    CHECK_EQ(lapic_take_events(&r.l0) & LAPIC_EV_NMI, LAPIC_EV_NMI);
    /* ExtINT entry (through-8259 mode) */
    rte(&r, 0, (APIC_DM_EXTINT << 8));
    ioapic_set_irq(&r.io, 0, 1);
    CHECK(lapic_extint_pending(&r.l0));
    /* SMI and reserved delivery modes are dropped */
    rte(&r, 9, (APIC_DM_SMI << 8) | 0x49);
    rte(&r, 11, (3u << 8) | 0x4B);
    ioapic_set_irq(&r.io, 9, 1);
    ioapic_set_irq(&r.io, 11, 1);
    CHECK(!irr_has(&r.l0, 0x49) && !irr_has(&r.l0, 0x4B));
    /* through the irq_sink form */
    struct irq_sink s = { ioapic_irq_set, &r.io };
    rte(&r, 12, 0x4C);
    irq_pulse(&s, 12);
    CHECK(irr_has(&r.l0, 0x4C));
    rig_fini(&r);
}
