/* test_acpi.c — ACPI tables in guest RAM, the AML encoder and the PM registers. */
#define _GNU_SOURCE
#include <string.h>

#include "hw/acpi.h"
#include "hw/aml.h"
#include "hw/bus.h"
#include "test.h"

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
    return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return s;
}

/* A table in guest RAM with a valid header, length and checksum, or NULL. */
static const uint8_t *table(struct bus *b, uint64_t gpa, const char *sig)
{
    const uint8_t *h = bus_ram_ptr(b, gpa, 36);
    if (!h || memcmp(h, sig, 4) != 0)
        return NULL;
    uint32_t len = rd32(h + 4);
    const uint8_t *t = bus_ram_ptr(b, gpa, len);
    if (!t || len < 36 || sum(t, len) != 0)
        return NULL;
    return t;
}

static void cfg_init(struct acpi_config *c, unsigned ncpus)
{
    memset(c, 0, sizeof(*c));
    c->ncpus = ncpus;
    c->nvirtio = 2;
    c->virtio_mmio[0].base = 0xD0000000;
    c->virtio_mmio[0].len = 0x200;
    c->virtio_mmio[0].gsi = 16;
    c->virtio_mmio[1].base = 0xD0000200;
    c->virtio_mmio[1].len = 0x200;
    c->virtio_mmio[1].gsi = 17;
}

struct built {
    struct bus bus;
    const uint8_t *rsdp, *xsdt, *rsdt, *fadt, *madt, *dsdt, *facs;
};

static void build(struct built *t, unsigned ncpus)
{
    struct acpi_config c;
    uint64_t rsdp = 0;
    memset(t, 0, sizeof(*t));
    CHECK_EQ(bus_init(&t->bus, 16 << 20), 0);
    cfg_init(&c, ncpus);
    CHECK_EQ(acpi_build(&t->bus, &c, &rsdp), 0);
    CHECK_EQ(rsdp, ACPI_RSDP_ADDR);
    t->rsdp = bus_ram_ptr(&t->bus, rsdp, 36);
    t->xsdt = table(&t->bus, rd64(t->rsdp + 24), "XSDT");
    t->rsdt = table(&t->bus, rd32(t->rsdp + 16), "RSDT");
    CHECK(t->xsdt && t->rsdt);
    if (!t->xsdt)
        return;
    uint32_t n = (rd32(t->xsdt + 4) - 36) / 8;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t a = rd64(t->xsdt + 36 + 8 * i);
        const uint8_t *h = bus_ram_ptr(&t->bus, a, 4);
        CHECK(h != NULL);
        if (h && !memcmp(h, "FACP", 4))
            t->fadt = table(&t->bus, a, "FACP");
        else if (h && !memcmp(h, "APIC", 4))
            t->madt = table(&t->bus, a, "APIC");
        else
            CHECK(!"unexpected XSDT entry");
    }
    CHECK(t->fadt && t->madt);
    if (t->fadt) {
        t->dsdt = table(&t->bus, rd64(t->fadt + 140), "DSDT");
        CHECK_EQ(rd32(t->fadt + 40), rd64(t->fadt + 140));
        uint64_t f = rd64(t->fadt + 132);
        CHECK_EQ(f & 63, 0);
        t->facs = bus_ram_ptr(&t->bus, f, 64);
    }
}

TEST(acpi_rsdp_valid)
{
    struct built t;
    build(&t, 2);
    CHECK(!memcmp(t.rsdp, "RSD PTR ", 8));
    CHECK_EQ(sum(t.rsdp, 20), 0);
    CHECK_EQ(sum(t.rsdp, 36), 0);
    CHECK_EQ(t.rsdp[15], 2);
    CHECK_EQ(rd32(t.rsdp + 20), 36);
    uint64_t x = rd64(t.rsdp + 24);
    CHECK(x >= ACPI_DEFAULT_TABLE_ADDR && x < ACPI_DEFAULT_TABLE_ADDR + ACPI_TABLE_AREA);
    bus_destroy(&t.bus);
}

TEST(acpi_tables_checksums)
{
    struct built t;
    build(&t, 2);
    CHECK(t.dsdt != NULL);
    CHECK(t.facs && !memcmp(t.facs, "FACS", 4) && rd32(t.facs + 4) == 64);
    /* the RSDT lists the same tables */
    if (t.rsdt && t.xsdt) {
        CHECK_EQ(rd32(t.rsdt + 4), 36 + 8);
        CHECK_EQ(rd32(t.rsdt + 36), rd64(t.xsdt + 36));
        CHECK_EQ(rd32(t.rsdt + 40), rd64(t.xsdt + 44));
    }
    if (!t.xsdt)
        return;
    /* a corrupted byte is detected by the checker itself */
    uint8_t *m = bus_ram_ptr(&t.bus, rd64(t.xsdt + 44), 40);
    m[39] ^= 1;
    CHECK(table(&t.bus, rd64(t.xsdt + 44), "APIC") == NULL);
    bus_destroy(&t.bus);
}

TEST(acpi_fadt_fields)
{
    struct built t;
    build(&t, 1);
    const uint8_t *f = t.fadt;
    if (!f)
        return;
    CHECK_EQ(rd32(f + 4), 276);
    CHECK_EQ(f[8], 6);
    CHECK_EQ(rd16(f + 46), 9);     /* SCI_INT */
    CHECK_EQ(rd32(f + 48), 0);     /* SMI_CMD */
    CHECK_EQ(rd32(f + 56), 0x600); /* PM1a_EVT */
    CHECK_EQ(rd32(f + 64), 0x604); /* PM1a_CNT */
    CHECK_EQ(rd32(f + 76), 0x608); /* PM_TMR */
    CHECK_EQ(f[88], 4);
    CHECK_EQ(f[89], 2);
    CHECK_EQ(f[91], 4);
    uint16_t arch = rd16(f + 109);
    CHECK_EQ(arch & 1, 1);         /* legacy devices */
    CHECK_EQ(arch & 2, 0);         /* no 8042 */
    CHECK_EQ(arch & 4, 4);         /* VGA not present */
    uint32_t flags = rd32(f + 112);
    CHECK(flags & (1u << 10));     /* RESET_REG_SUP */
    CHECK(flags & (1u << 8));      /* 32-bit PM timer */
    CHECK(!(flags & (1u << 20)));  /* not HW-reduced */
    CHECK_EQ(f[116], 1);           /* RESET_REG in I/O space */
    CHECK_EQ(rd64(f + 120), 0xCF9);
    CHECK_EQ(f[128], 6);
    CHECK_EQ(f[148], 1);           /* X_PM1a_EVT_BLK */
    CHECK_EQ(rd64(f + 152), 0x600);
    CHECK_EQ(rd64(f + 176), 0x604);
    CHECK_EQ(rd64(f + 212), 0x608);
    bus_destroy(&t.bus);
}

TEST(acpi_madt_cpus)
{
    struct built t;
    build(&t, 4);
    const uint8_t *m = t.madt;
    if (!m)
        return;
    CHECK_EQ(rd32(m + 36), 0xFEE00000);
    CHECK_EQ(rd32(m + 40) & 1, 1); /* PCAT_COMPAT */
    uint32_t len = rd32(m + 4);
    int ncpu = 0, nioapic = 0, niso = 0, nnmi = 0;
    bool irq0 = false, sci = false, seen[4] = { 0 };
    for (uint32_t o = 44; o + 2 <= len;) {
        uint8_t type = m[o], l = m[o + 1];
        CHECK(l >= 2 && o + l <= len);
        if (l < 2 || o + l > len)
            break;
        if (type == 0) {
            ncpu++;
            CHECK(m[o + 3] < 4);
            if (m[o + 3] < 4)
                seen[m[o + 3]] = true;
            CHECK_EQ(rd32(m + o + 4) & 1, 1);
        } else if (type == 1) {
            nioapic++;
            CHECK_EQ(m[o + 2], 4); /* ID ncpus */
            CHECK_EQ(rd32(m + o + 4), 0xFEC00000);
            CHECK_EQ(rd32(m + o + 8), 0);
        } else if (type == 2) {
            niso++;
            if (m[o + 3] == 0 && rd32(m + o + 4) == 2 && ((rd16(m + o + 8) >> 2) & 3) == 1)
                irq0 = true;
            if (m[o + 3] == 9 && rd32(m + o + 4) == 9 && rd16(m + o + 8) == 0xD)
                sci = true;
        } else if (type == 4) {
            nnmi++;
            CHECK_EQ(m[o + 5], 1); /* LINT1 */
        }
        o += l;
    }
    CHECK_EQ(ncpu, 4);
    CHECK(seen[0] && seen[1] && seen[2] && seen[3]);
    CHECK_EQ(nioapic, 1);
    CHECK_EQ(niso, 2);
    CHECK(irq0 && sci);
    CHECK_EQ(nnmi, 1);
    bus_destroy(&t.bus);
}

TEST(acpi_dsdt_contents)
{
    struct built t;
    build(&t, 2);
    const uint8_t *d = t.dsdt;
    if (!d)
        return;
    size_t len = rd32(d + 4);
    /* Name(_S5_, Package(4) {5, 5, 0, 0}) */
    static const uint8_t s5[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04,
                                  0x0A, 0x05, 0x0A, 0x05, 0x00, 0x00 };
    CHECK(memmem(d + 36, len - 36, s5, sizeof(s5)) != NULL);
    CHECK(memmem(d, len, "_SB_", 4) != NULL);
    /* _HID EISAID("PNP0501") and the COM1 resources */
    static const uint8_t com1[] = { 0x0C, 0x41, 0xD0, 0x05, 0x01 };
    CHECK(memmem(d, len, com1, sizeof(com1)) != NULL);
    static const uint8_t io[] = { 0x47, 0x01, 0xF8, 0x03, 0xF8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00 };
    CHECK(memmem(d, len, io, sizeof(io)) != NULL);
    /* both virtio-mmio devices with base and GSI */
    int n = 0;
    for (const uint8_t *p = d; (p = memmem(p, len - (size_t)(p - d), "LNRO0005", 8)); p += 8)
        n++;
    CHECK_EQ(n, 2);
    static const uint8_t mem1[] = { 0x86, 0x09, 0x00, 0x01, 0x00, 0x02, 0x00, 0xD0,
                                    0x00, 0x02, 0x00, 0x00 };
    CHECK(memmem(d, len, mem1, sizeof(mem1)) != NULL);
    static const uint8_t irq17[] = { 0x89, 0x06, 0x00, 0x01, 0x01, 17, 0, 0, 0 };
    CHECK(memmem(d, len, irq17, sizeof(irq17)) != NULL);
    CHECK(memmem(d, len, "ACPI0007", 8) != NULL);
    bus_destroy(&t.bus);
}

TEST(acpi_bad_config)
{
    struct bus b;
    struct acpi_config c;
    uint64_t r = 0;
    CHECK_EQ(bus_init(&b, 16 << 20), 0);
    cfg_init(&c, 0);
    CHECK_EQ(acpi_build(&b, &c, &r), -1);
    cfg_init(&c, ACPI_MAX_CPUS + 1);
    CHECK_EQ(acpi_build(&b, &c, &r), -1);
    cfg_init(&c, ACPI_MAX_CPUS); /* the largest config fits */
    c.nvirtio = ACPI_MAX_VIRTIO;
    for (int i = 0; i < ACPI_MAX_VIRTIO; i++) {
        c.virtio_mmio[i].base = 0xD0000000 + 0x200 * (uint64_t)i;
        c.virtio_mmio[i].len = 0x200;
        c.virtio_mmio[i].gsi = 16 + (unsigned)i % 8;
    }
    CHECK_EQ(acpi_build(&b, &c, &r), 0);
    c.nvirtio = ACPI_MAX_VIRTIO + 1;
    CHECK_EQ(acpi_build(&b, &c, &r), -1);
    cfg_init(&c, 1);
    c.virtio_mmio[1].base = 0x100000000ull;
    CHECK_EQ(acpi_build(&b, &c, &r), -1);
    cfg_init(&c, 1);
    c.virtio_mmio[0].gsi = 24;
    CHECK_EQ(acpi_build(&b, &c, &r), -1);
    cfg_init(&c, 1);
    c.table_addr = 0xE0000; /* overlaps the RSDP */
    CHECK_EQ(acpi_build(&b, &c, &r), -1);
    c.table_addr = 0x100020; /* not 64-byte aligned */
    CHECK_EQ(acpi_build(&b, &c, &r), -1);
    c.table_addr = (16 << 20) - 0x1000; /* runs past the end of RAM */
    CHECK_EQ(acpi_build(&b, &c, &r), -1);
    c.table_addr = 0x100000; /* elsewhere in RAM is fine */
    CHECK_EQ(acpi_build(&b, &c, &r), 0);
    CHECK_EQ(rd64(bus_ram_ptr(&b, r, 36) + 24) >> 20, 1);
    bus_destroy(&b);
    CHECK_EQ(bus_init(&b, 512 << 10), 0); /* no RAM at 0xE0000 */
    cfg_init(&c, 1);
    CHECK_EQ(acpi_build(&b, &c, &r), -1);
    bus_destroy(&b);
}

/* PkgLength: decode what aml_end produced for bodies of various sizes. */
TEST(aml_pkglength)
{
    static uint8_t buf[70000], data[66000];
    static const size_t sizes[] = { 0, 10, 60, 61, 62, 100, 4000, 4093, 4094, 65000 };
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        struct aml a;
        aml_init(&a, buf, sizeof(buf));
        aml_buffer(&a, data, sizes[k]);
        CHECK(!a.error);
        CHECK_EQ(buf[0], 0x11);
        unsigned n = (buf[1] >> 6) + 1;
        size_t pl = n == 1 ? (buf[1] & 0x3F) : (buf[1] & 0xF);
        for (unsigned i = 1; i < n; i++)
            pl |= (size_t)buf[1 + i] << (4 + 8 * (i - 1));
        CHECK_EQ(pl, a.len - 1); /* counts itself and everything after it */
        size_t total = a.len - 1;
        unsigned want = total <= 0x3F ? 1 : total <= 0xFFF ? 2 : total <= 0xFFFFF ? 3 : 4;
        CHECK_EQ(n, want); /* the shortest encoding */
    }
    struct aml a;
    uint8_t small[8];
    aml_init(&a, small, sizeof(small));
    aml_string(&a, "too long for the buffer");
    CHECK(a.error);
    aml_init(&a, small, sizeof(small));
    aml_namestring(&a, "\\_SB_.BADNAME");
    CHECK(a.error);
    aml_init(&a, buf, sizeof(buf));
    aml_namestring(&a, "\\_SB.PCI0.ISA");
    static const uint8_t multi[] = { 0x5C, 0x2F, 3, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
                                     'I', 'S', 'A', '_' };
    CHECK(!a.error && a.len == sizeof(multi) && !memcmp(buf, multi, sizeof(multi)));
}

/* ---- PM registers ---- */

struct pm_rig {
    struct bus bus;
    struct acpi_pm pm;
    uint64_t t;
    int poweroffs, resets, sci, sci_changes;
};

static uint64_t rig_now(void *ctx)
{
    return ((struct pm_rig *)ctx)->t;
}

static void rig_poweroff(void *ctx)
{
    ((struct pm_rig *)ctx)->poweroffs++;
}

static void rig_reset(void *ctx)
{
    ((struct pm_rig *)ctx)->resets++;
}

static void rig_sci(void *ctx, unsigned gsi, int level)
{
    struct pm_rig *r = ctx;
    CHECK_EQ(gsi, 9);
    r->sci = level;
    r->sci_changes++;
}

static void pm_rig_init(struct pm_rig *r)
{
    memset(r, 0, sizeof(*r));
    CHECK_EQ(bus_init(&r->bus, 16 << 20), 0);
    struct irq_sink s = { rig_sci, r };
    CHECK_EQ(acpi_pm_init(&r->pm, &r->bus, &s, rig_poweroff, rig_reset, r), 0);
    r->pm.now_ns = rig_now;
    r->pm.now_ctx = r;
}

static void pm_rig_fini(struct pm_rig *r)
{
    acpi_pm_destroy(&r->pm);
    bus_destroy(&r->bus);
}

TEST(acpi_pm_poweroff)
{
    struct pm_rig r;
    pm_rig_init(&r);
    CHECK_EQ(bus_pio_read(&r.bus, 0x604, 2) & 1, 1); /* SCI_EN */
    bus_pio_write(&r.bus, 0x604, 5u << 10, 2);     /* SLP_TYP alone */
    CHECK_EQ(r.poweroffs, 0);
    CHECK_EQ(bus_pio_read(&r.bus, 0x604, 2), (5u << 10) | 1);
    bus_pio_write(&r.bus, 0x604, (1u << 10) | (1u << 13), 2); /* S1: not supported */
    CHECK_EQ(r.poweroffs, 0);
    bus_pio_write(&r.bus, 0x604, (5u << 10) | (1u << 13), 2);
    CHECK_EQ(r.poweroffs, 1);
    CHECK_EQ(bus_pio_read(&r.bus, 0x604, 2) & (1u << 13), 0); /* SLP_EN is write-only */
    /* byte-wise: high byte carries SLP_TYP and SLP_EN */
    bus_pio_write(&r.bus, 0x605, ((5u << 10) | (1u << 13)) >> 8, 1);
    CHECK_EQ(r.poweroffs, 2);
    CHECK_EQ(r.resets, 0);
    pm_rig_fini(&r);
}

TEST(acpi_pm_reset_register)
{
    struct pm_rig r;
    pm_rig_init(&r);
    bus_pio_write(&r.bus, 0xCF9, 0x02, 1);
    CHECK_EQ(r.resets, 0);
    CHECK_EQ(bus_pio_read(&r.bus, 0xCF9, 1), 0x02);
    bus_pio_write(&r.bus, 0xCF9, 0x06, 1);
    CHECK_EQ(r.resets, 1);
    bus_pio_write(&r.bus, 0xCF9, 0x0E, 1);
    CHECK_EQ(r.resets, 2);
    pm_rig_fini(&r);
}

TEST(acpi_pm_timer_counts)
{
    struct pm_rig r;
    pm_rig_init(&r);
    r.t = 0;
    CHECK_EQ(bus_pio_read(&r.bus, 0x608, 4), 0);
    r.t = 1000000; /* 1 ms */
    CHECK_EQ(bus_pio_read(&r.bus, 0x608, 4), 3579);
    r.t = 1000000000; /* 1 s */
    CHECK_EQ(bus_pio_read(&r.bus, 0x608, 4), 3579545);
    CHECK_EQ(bus_pio_read(&r.bus, 0x60A, 2), 3579545 >> 16);
    CHECK_EQ(acpi_pm_timer(&r.pm), 3579545);
    bus_pio_write(&r.bus, 0x608, 0, 4); /* read-only */
    CHECK_EQ(bus_pio_read(&r.bus, 0x608, 4), 3579545);
    /* 32-bit wrap after 2^32 ticks (~1200 s) */
    r.t = 1200000000000ull + 1000000000ull;
    uint64_t ticks = r.t * 3579545ull / 1000000000ull;
    CHECK_EQ(bus_pio_read(&r.bus, 0x608, 4), ticks & 0xFFFFFFFF);
    pm_rig_fini(&r);
}

TEST(acpi_pm_status_and_sci)
{
    struct pm_rig r;
    pm_rig_init(&r);
    acpi_pm_power_button(&r.pm);
    CHECK_EQ(bus_pio_read(&r.bus, 0x600, 2) & ACPI_PM1_PWRBTN, ACPI_PM1_PWRBTN);
    CHECK_EQ(r.sci, 0); /* not enabled */
    bus_pio_write(&r.bus, 0x602, ACPI_PM1_PWRBTN, 2);
    CHECK_EQ(bus_pio_read(&r.bus, 0x602, 2), ACPI_PM1_PWRBTN);
    CHECK_EQ(r.sci, 1);
    bus_pio_write(&r.bus, 0x600, 0, 2); /* writing 0 clears nothing */
    CHECK_EQ(r.sci, 1);
    bus_pio_write(&r.bus, 0x600, ACPI_PM1_PWRBTN, 2); /* write-1-to-clear */
    CHECK_EQ(bus_pio_read(&r.bus, 0x600, 2) & ACPI_PM1_PWRBTN, 0);
    CHECK_EQ(r.sci, 0);
    /* TMR_STS: bit 31 of the counter toggles every 2^31 ticks */
    r.t = 1000;
    bus_pio_read(&r.bus, 0x600, 2);
    CHECK_EQ(acpi_pm_next_deadline(&r.pm), CLOCK_NEVER); /* TMR_EN clear */
    bus_pio_write(&r.bus, 0x602, ACPI_PM1_TMR | ACPI_PM1_PWRBTN, 2);
    uint64_t d = acpi_pm_next_deadline(&r.pm);
    CHECK(d > 599000000000ull && d < 601000000000ull);
    acpi_pm_advance(&r.pm, d - 1);
    CHECK_EQ(r.sci, 0);
    acpi_pm_advance(&r.pm, d);
    CHECK_EQ(r.sci, 1);
    r.t = d;
    CHECK_EQ(bus_pio_read(&r.bus, 0x600, 2) & ACPI_PM1_TMR, ACPI_PM1_TMR);
    CHECK_EQ(acpi_pm_next_deadline(&r.pm), CLOCK_NEVER); /* until acknowledged */
    bus_pio_write(&r.bus, 0x600, ACPI_PM1_TMR, 2);
    CHECK_EQ(r.sci, 0);
    CHECK(acpi_pm_next_deadline(&r.pm) > d);
    pm_rig_fini(&r);
}
