/* test_pic.c — 8259A pair programmed through its ports as Linux does. */
#include "test.h"

#include <string.h>

#include "hw/bus.h"
#include "hw/pic.h"

struct pic_env {
    struct bus bus;
    struct pic pic;
    int notified, intr_seen;
};

static void env_notify(void *ctx, bool intr)
{
    struct pic_env *e = ctx;
    e->notified++;
    e->intr_seen = intr;
}

static void outb(struct pic_env *e, uint16_t port, uint8_t v)
{
    bus_pio_write(&e->bus, port, v, 1);
}

static uint8_t inb(struct pic_env *e, uint16_t port)
{
    return (uint8_t)bus_pio_read(&e->bus, port, 1);
}

/* Linux init_8259A(): ICW1 0x11, ICW2 0x20/0x28, ICW3 4/2, ICW4 0x01. */
static void env_init(struct pic_env *e, uint8_t icw4)
{
    memset(e, 0, sizeof(*e));
    bus_init(&e->bus, 16 << 20);
    pic_init(&e->pic, &e->bus);
    pic_set_notify(&e->pic, env_notify, e);
    outb(e, 0x21, 0xff);
    outb(e, 0xa1, 0xff);
    outb(e, 0x20, 0x11);
    outb(e, 0x21, 0x20);
    outb(e, 0x21, 0x04);
    outb(e, 0x21, icw4);
    outb(e, 0xa0, 0x11);
    outb(e, 0xa1, 0x28);
    outb(e, 0xa1, 0x02);
    outb(e, 0xa1, icw4);
    outb(e, 0x21, 0x00); /* unmask all */
    outb(e, 0xa1, 0x00);
}

static uint8_t read_isr(struct pic_env *e, uint16_t base)
{
    outb(e, base, 0x0b); /* OCW3: read ISR */
    return inb(e, base);
}

static uint8_t read_irr(struct pic_env *e, uint16_t base)
{
    outb(e, base, 0x0a); /* OCW3: read IRR */
    return inb(e, base);
}

TEST(pic_linux_init_and_master_irq)
{
    struct pic_env e;
    env_init(&e, 0x01);
    CHECK(!pic_has_intr(&e.pic));
    CHECK_EQ(inb(&e, 0x21), 0x00); /* IMR reads back */
    pic_set_irq(&e.pic, 1, 1);
    CHECK(pic_has_intr(&e.pic));
    CHECK_EQ(e.intr_seen, 1);
    CHECK_EQ(read_irr(&e, 0x20), 0x02);
    CHECK_EQ(pic_ack(&e.pic), 0x21);
    CHECK(!pic_has_intr(&e.pic));
    CHECK_EQ(read_isr(&e, 0x20), 0x02);
    CHECK_EQ(read_irr(&e, 0x20), 0x00); /* edge: IRR cleared by INTA */
    pic_set_irq(&e.pic, 1, 0);
    outb(&e, 0x20, 0x20); /* non-specific EOI */
    CHECK_EQ(read_isr(&e, 0x20), 0x00);
    CHECK(!pic_has_intr(&e.pic));
    bus_destroy(&e.bus);
}

TEST(pic_masked_irq_does_not_assert_intr)
{
    struct pic_env e;
    env_init(&e, 0x01);
    outb(&e, 0x21, 0x08); /* mask IRQ 3 */
    pic_set_irq(&e.pic, 3, 1);
    CHECK(!pic_has_intr(&e.pic));
    CHECK_EQ(read_irr(&e, 0x20), 0x08); /* still requested */
    outb(&e, 0x21, 0x00);
    CHECK(pic_has_intr(&e.pic));
    CHECK_EQ(pic_ack(&e.pic), 0x23);
    /* A masked slave input stays off INTR too. */
    outb(&e, 0xa1, 0x01);
    pic_set_irq(&e.pic, 8, 1);
    outb(&e, 0x20, 0x20);
    CHECK(!pic_has_intr(&e.pic));
    bus_destroy(&e.bus);
}

TEST(pic_slave_cascade_vector)
{
    struct pic_env e;
    env_init(&e, 0x01);
    pic_set_irq(&e.pic, 12, 1);
    CHECK(pic_has_intr(&e.pic));
    CHECK_EQ(read_irr(&e, 0x20), 0x04); /* the slave asks on master IR2 */
    CHECK_EQ(pic_ack(&e.pic), 0x2c);
    CHECK_EQ(read_isr(&e, 0x20), 0x04);
    CHECK_EQ(read_isr(&e, 0xa0), 0x10);
    /* Linux EOIs the slave with a specific EOI, then the master. */
    outb(&e, 0xa0, 0x60 | 4);
    outb(&e, 0x20, 0x60 | 2);
    CHECK_EQ(read_isr(&e, 0xa0), 0x00);
    CHECK_EQ(read_isr(&e, 0x20), 0x00);
    CHECK(!pic_has_intr(&e.pic));
    bus_destroy(&e.bus);
}

TEST(pic_priority_and_nesting)
{
    struct pic_env e;
    env_init(&e, 0x01);
    pic_set_irq(&e.pic, 3, 1);
    pic_set_irq(&e.pic, 1, 1);
    CHECK_EQ(pic_ack(&e.pic), 0x21); /* IR1 beats IR3 */
    CHECK(!pic_has_intr(&e.pic));    /* IR3 waits for IR1's EOI */
    pic_set_irq(&e.pic, 0, 1);
    CHECK(pic_has_intr(&e.pic));     /* IR0 nests above IR1 */
    CHECK_EQ(pic_ack(&e.pic), 0x20);
    CHECK_EQ(read_isr(&e, 0x20), 0x03);
    outb(&e, 0x20, 0x20); /* clears IR0, the highest in service */
    CHECK_EQ(read_isr(&e, 0x20), 0x02);
    CHECK(!pic_has_intr(&e.pic));
    outb(&e, 0x20, 0x20);
    CHECK(pic_has_intr(&e.pic));
    CHECK_EQ(pic_ack(&e.pic), 0x23);
    /* A slave IRQ ranks as IR2: above IR3, below IR1. */
    outb(&e, 0x20, 0x20);
    pic_set_irq(&e.pic, 1, 0);
    pic_set_irq(&e.pic, 1, 1);
    pic_set_irq(&e.pic, 9, 1);
    CHECK_EQ(pic_ack(&e.pic), 0x21);
    outb(&e, 0x20, 0x20);
    CHECK_EQ(pic_ack(&e.pic), 0x29);
    bus_destroy(&e.bus);
}

TEST(pic_spurious_irq7)
{
    struct pic_env e;
    env_init(&e, 0x01);
    outb(&e, 0x4d0, 0x20); /* IRQ 5 level-triggered */
    pic_set_irq(&e.pic, 5, 1);
    CHECK(pic_has_intr(&e.pic));
    pic_set_irq(&e.pic, 5, 0); /* request goes away before INTA */
    CHECK_EQ(pic_ack(&e.pic), 0x27);
    CHECK_EQ(read_isr(&e, 0x20), 0x00); /* spurious: ISR untouched */
    /* A level line that drops is no longer requested at all. */
    CHECK(!pic_has_intr(&e.pic));
    CHECK_EQ(read_irr(&e, 0x20), 0x00);
    /* Same on the slave: with no request left anywhere, the master answers
     * with its own IR7. */
    outb(&e, 0x4d1, 0x08); /* IRQ 11 level */
    pic_set_irq(&e.pic, 11, 1);
    CHECK(pic_has_intr(&e.pic));
    pic_set_irq(&e.pic, 11, 0);
    CHECK(!pic_has_intr(&e.pic));
    CHECK_EQ(pic_ack(&e.pic), 0x27);
    CHECK_EQ(read_isr(&e, 0xa0), 0x00);
    bus_destroy(&e.bus);
}

TEST(pic_level_triggered_reasserts_after_eoi)
{
    struct pic_env e;
    env_init(&e, 0x01);
    outb(&e, 0x4d1, 0x04); /* IRQ 10 level */
    pic_set_irq(&e.pic, 10, 1);
    CHECK_EQ(pic_ack(&e.pic), 0x2a);
    CHECK(!pic_has_intr(&e.pic));
    outb(&e, 0xa0, 0x20);
    outb(&e, 0x20, 0x20);
    CHECK(pic_has_intr(&e.pic)); /* line still high: asks again */
    pic_set_irq(&e.pic, 10, 0);
    CHECK(!pic_has_intr(&e.pic));
    /* Edge-triggered inputs latch a pulse. */
    pic_set_irq(&e.pic, 4, 1);
    pic_set_irq(&e.pic, 4, 0);
    CHECK(pic_has_intr(&e.pic));
    CHECK_EQ(pic_ack(&e.pic), 0x24);
    /* ... but a line held high does not request twice. */
    outb(&e, 0x20, 0x20);
    pic_set_irq(&e.pic, 6, 1);
    CHECK_EQ(pic_ack(&e.pic), 0x26);
    outb(&e, 0x20, 0x20);
    pic_set_irq(&e.pic, 6, 1);
    CHECK(!pic_has_intr(&e.pic));
    /* ELCR reserved bits (IRQ 0-2, 8, 13) stay edge. */
    outb(&e, 0x4d0, 0xff);
    outb(&e, 0x4d1, 0xff);
    CHECK_EQ(inb(&e, 0x4d0), 0xf8);
    CHECK_EQ(inb(&e, 0x4d1), 0xde);
    bus_destroy(&e.bus);
}

TEST(pic_auto_eoi_and_poll)
{
    struct pic_env e;
    env_init(&e, 0x03); /* AEOI */
    pic_set_irq(&e.pic, 3, 1);
    CHECK_EQ(pic_ack(&e.pic), 0x23);
    CHECK_EQ(read_isr(&e, 0x20), 0x00);
    /* Poll command: the next read is the poll word and acts as INTA. */
    bus_destroy(&e.bus);
    env_init(&e, 0x01);
    pic_set_irq(&e.pic, 5, 1);
    outb(&e, 0x20, 0x0c);
    CHECK_EQ(inb(&e, 0x20), 0x85);
    CHECK_EQ(read_isr(&e, 0x20), 0x20);
    outb(&e, 0x20, 0x0c);
    CHECK_EQ(inb(&e, 0x20), 0x00); /* nothing requested */
    CHECK_EQ(inb(&e, 0x21), 0x00); /* poll consumed: normal reads again */
    bus_destroy(&e.bus);
}

TEST(pic_rotation_commands)
{
    struct pic_env e;
    env_init(&e, 0x01);
    outb(&e, 0x20, 0xc0 | 4); /* set priority: IR4 lowest, IR5 highest */
    pic_set_irq(&e.pic, 3, 1);
    pic_set_irq(&e.pic, 6, 1);
    CHECK_EQ(pic_ack(&e.pic), 0x26);
    outb(&e, 0x20, 0xa0); /* rotate on non-specific EOI: IR6 becomes lowest */
    CHECK_EQ(pic_ack(&e.pic), 0x23);
    outb(&e, 0x20, 0xe0 | 3); /* rotate on specific EOI of IR3 */
    CHECK_EQ(read_isr(&e, 0x20), 0x00);
    pic_set_irq(&e.pic, 3, 0);
    pic_set_irq(&e.pic, 3, 1);
    pic_set_irq(&e.pic, 4, 1);
    CHECK_EQ(pic_ack(&e.pic), 0x24); /* IR4 is highest now */
    bus_destroy(&e.bus);
}

TEST(pic_special_mask_mode)
{
    struct pic_env e;
    env_init(&e, 0x01);
    pic_set_irq(&e.pic, 2 + 1, 1);
    CHECK_EQ(pic_ack(&e.pic), 0x23); /* IR3 in service */
    pic_set_irq(&e.pic, 5, 1);
    CHECK(!pic_has_intr(&e.pic)); /* lower priority: blocked */
    outb(&e, 0x21, 0x08);         /* mask IR3 ... */
    outb(&e, 0x20, 0x68);         /* ... and enter special mask mode */
    CHECK(pic_has_intr(&e.pic));
    CHECK_EQ(pic_ack(&e.pic), 0x25);
    outb(&e, 0x20, 0x48); /* leave SMM */
    bus_destroy(&e.bus);
}

TEST(pic_hostile_writes)
{
    struct pic_env e;
    env_init(&e, 0x01);
    static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1 };
    for (unsigned i = 0; i < 6; i++)
        for (unsigned v = 0; v < 256; v++) {
            outb(&e, ports[i], (uint8_t)v);
            pic_set_irq(&e.pic, v & 31, (int)(v & 1));
            (void)inb(&e, ports[i]);
            bus_pio_write(&e.bus, ports[i], v * 0x01010101u, 4);
            (void)bus_pio_read(&e.bus, ports[i], 4);
            int vec = pic_ack(&e.pic);
            CHECK(vec >= 0 && vec <= 0xff);
        }
    bus_destroy(&e.bus);
}
