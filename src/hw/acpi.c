/*
 * acpi.c — ACPI table generator and fixed-hardware PM registers.
 *
 * Tables (ACPI 6.x chapter 5): RSDP rev 2, XSDT and RSDT, FADT rev 6
 * (full, not HW-reduced), FACS, MADT and a DSDT in hand-assembled AML
 * (aml.c) with \_S5_ for soft-off, one ACPI0007 processor device per CPU,
 * COM1 (PNP0501) and one LNRO0005 device per virtio-mmio transport.
 *
 * PM registers (ACPI 4.8): PM1a status/enable (write-1-to-clear status),
 * PM1a control (SLP_TYP 5 + SLP_EN -> poweroff; SCI_EN reads 1), the
 * 32-bit 3.579545 MHz PM timer and the 0xCF9 reset control register
 * (bit 2 RST_CPU requests a reset, as on Intel ICH chipsets).
 */
#include "hw/acpi.h"

#include <string.h>

#include "hw/aml.h"
#include "hw/clock.h"
#include "hw/ioapic.h"

/* ---------- little-endian field writers ---------- */

static void w8(uint8_t *p, size_t off, uint8_t v)
{
    p[off] = v;
}

static void w16(uint8_t *p, size_t off, uint16_t v)
{
    p[off] = (uint8_t)v;
    p[off + 1] = (uint8_t)(v >> 8);
}

static void w32(uint8_t *p, size_t off, uint32_t v)
{
    w16(p, off, (uint16_t)v);
    w16(p, off + 2, (uint16_t)(v >> 16));
}

static void w64(uint8_t *p, size_t off, uint64_t v)
{
    w32(p, off, (uint32_t)v);
    w32(p, off + 4, (uint32_t)(v >> 32));
}

static uint8_t checksum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = (uint8_t)(s + p[i]);
    return (uint8_t)-s;
}

/* Generic Address Structure (5.2.3.2) */
enum { GAS_IO = 1 };
enum { GAS_BYTE = 1, GAS_WORD = 2, GAS_DWORD = 3 };

static void gas(uint8_t *p, size_t off, uint8_t space, uint8_t width, uint8_t access,
                uint64_t addr)
{
    w8(p, off, space);
    w8(p, off + 1, width);
    w8(p, off + 2, 0);
    w8(p, off + 3, access);
    w64(p, off + 4, addr);
}

/* System Description Table Header (5.2.6); length/checksum set by finish */
#define SDT_HDR 36

static void sdt_header(uint8_t *t, const char *sig, uint8_t rev, const char *table_id)
{
    memcpy(t, sig, 4);
    w8(t, 8, rev);
    memcpy(t + 10, "NESTVM", 6);
    memcpy(t + 16, table_id, 8);
    w32(t, 24, 1); /* OEM revision */
    memcpy(t + 28, "NSTV", 4);
    w32(t, 32, 1); /* creator revision */
}

static void sdt_finish(uint8_t *t, uint32_t len)
{
    w32(t, 4, len);
    t[9] = 0;
    t[9] = checksum(t, len);
}

/* Table area allocator */
struct area {
    uint8_t *p;
    uint64_t gpa;
    size_t cap, off;
    bool err;
};

static uint8_t *area_alloc(struct area *a, size_t len, size_t align, uint64_t *gpa)
{
    size_t off = (a->off + align - 1) & ~(align - 1);
    if (a->err || off > a->cap || len > a->cap - off) {
        a->err = true;
        return NULL;
    }
    a->off = off + len;
    *gpa = a->gpa + off;
    return a->p + off;
}

/* ---------- DSDT ---------- */

static void dsdt_body(struct aml *a, const struct acpi_config *cfg)
{
    /* \_S5_: Package { SLP_TYPa, SLP_TYPb, reserved, reserved } (7.4.2) */
    aml_name(a, "_S5_");
    size_t pk = aml_package_begin(a, 4);
    aml_integer(a, ACPI_SLP_TYP_S5);
    aml_integer(a, ACPI_SLP_TYP_S5);
    aml_integer(a, 0);
    aml_integer(a, 0);
    aml_end(a, pk);

    size_t sb = aml_scope_begin(a, "\\_SB_");
    for (unsigned i = 0; i < cfg->ncpus; i++) {
        static const char hex[] = "0123456789ABCDEF";
        char name[5] = { 'C', hex[(i >> 8) & 0xF], hex[(i >> 4) & 0xF], hex[i & 0xF], 0 };
        size_t d = aml_device_begin(a, name);
        aml_name(a, "_HID");
        aml_string(a, "ACPI0007");
        aml_name(a, "_UID");
        aml_integer(a, i); /* matches the MADT processor UID */
        aml_end(a, d);
    }

    uint8_t rtbuf[64];
    struct aml rt;

    size_t d = aml_device_begin(a, "COM1");
    aml_name(a, "_HID");
    aml_eisaid(a, "PNP0501");
    aml_name(a, "_UID");
    aml_integer(a, 1);
    aml_init(&rt, rtbuf, sizeof(rtbuf));
    aml_rt_io(&rt, 0x3F8, 0x3F8, 1, 8);
    aml_rt_irq_noflags(&rt, 1u << 4);
    aml_rt_end(&rt);
    a->error |= rt.error;
    aml_name(a, "_CRS");
    aml_buffer(a, rtbuf, rt.len);
    aml_end(a, d);

    for (int i = 0; i < cfg->nvirtio; i++) {
        char name[5] = { 'V', 'R', (char)('0' + i / 10), (char)('0' + i % 10), 0 };
        d = aml_device_begin(a, name);
        aml_name(a, "_HID");
        aml_string(a, "LNRO0005"); /* virtio-mmio */
        aml_name(a, "_UID");
        aml_integer(a, (uint64_t)i);
        aml_init(&rt, rtbuf, sizeof(rtbuf));
        aml_rt_memory32_fixed(&rt, true, (uint32_t)cfg->virtio_mmio[i].base,
                              (uint32_t)cfg->virtio_mmio[i].len);
        aml_rt_interrupt(&rt, false, false, false, cfg->virtio_mmio[i].gsi);
        aml_rt_end(&rt);
        a->error |= rt.error;
        aml_name(a, "_CRS");
        aml_buffer(a, rtbuf, rt.len);
        aml_end(a, d);
    }
    aml_end(a, sb);
}

/* ---------- FADT (5.2.9, revision 6: 276 bytes) ---------- */

#define FADT_LEN 276

static void build_fadt(uint8_t *t, uint64_t facs, uint64_t dsdt)
{
    sdt_header(t, "FACP", 6, "NESTVMFA");
    w32(t, 36, (uint32_t)facs);     /* FIRMWARE_CTRL */
    w32(t, 40, (uint32_t)dsdt);     /* DSDT */
    w8(t, 45, 0);                   /* Preferred_PM_Profile: unspecified */
    w16(t, 46, ACPI_SCI_IRQ);       /* SCI_INT */
    w32(t, 48, 0);                  /* SMI_CMD: none, ACPI always enabled */
    w32(t, 56, ACPI_PM1_EVT_PORT);  /* PM1a_EVT_BLK */
    w32(t, 64, ACPI_PM1_CNT_PORT);  /* PM1a_CNT_BLK */
    w32(t, 76, ACPI_PM_TMR_PORT);   /* PM_TMR_BLK */
    w8(t, 88, 4);                   /* PM1_EVT_LEN */
    w8(t, 89, 2);                   /* PM1_CNT_LEN */
    w8(t, 91, 4);                   /* PM_TMR_LEN */
    w16(t, 96, 101);                /* P_LVL2_LAT > 100: no C2 */
    w16(t, 98, 1001);               /* P_LVL3_LAT > 1000: no C3 */
    /* IAPC_BOOT_ARCH (5.2.9.3): LEGACY_DEVICES (COM1, RTC, PIT, PIC) set,
     * 8042 clear (no keyboard controller), VGA Not Present set. */
    w16(t, 109, (1u << 0) | (1u << 2));
    /* Flags (Table 5.10): WBINVD, PROC_C1, SLP_BUTTON (none), FIX_RTC (no
     * RTC wake status), TMR_VAL_EXT (32-bit PM timer), RESET_REG_SUP,
     * HEADLESS.  PWR_BUTTON clear: the power button is fixed hardware. */
    w32(t, 112, (1u << 0) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 8) | (1u << 10) |
                    (1u << 12));
    gas(t, 116, GAS_IO, 8, GAS_BYTE, ACPI_RESET_PORT); /* RESET_REG */
    w8(t, 128, ACPI_RESET_VALUE);
    w8(t, 131, 0);                                  /* FADT minor version */
    w64(t, 132, facs);                              /* X_FIRMWARE_CTRL */
    w64(t, 140, dsdt);                              /* X_DSDT */
    gas(t, 148, GAS_IO, 32, GAS_WORD, ACPI_PM1_EVT_PORT); /* X_PM1a_EVT_BLK */
    gas(t, 172, GAS_IO, 16, GAS_WORD, ACPI_PM1_CNT_PORT); /* X_PM1a_CNT_BLK */
    gas(t, 208, GAS_IO, 32, GAS_DWORD, ACPI_PM_TMR_PORT); /* X_PM_TMR_BLK */
    memcpy(t + 268, "NESTVM\0\0", 8);               /* Hypervisor Vendor Identity */
    sdt_finish(t, FADT_LEN);
}

/* ---------- MADT (5.2.12) ---------- */

static size_t build_madt(uint8_t *t, unsigned ncpus)
{
    sdt_header(t, "APIC", 4, "NESTVMAP");
    w32(t, 36, (uint32_t)LAPIC_DEFAULT_BASE);
    w32(t, 40, 1); /* PCAT_COMPAT: dual 8259s present */
    size_t o = 44;
    for (unsigned i = 0; i < ncpus; i++) { /* Processor Local APIC (5.2.12.2) */
        w8(t, o, 0);
        w8(t, o + 1, 8);
        w8(t, o + 2, (uint8_t)i); /* ACPI processor UID */
        w8(t, o + 3, (uint8_t)i); /* APIC ID */
        w32(t, o + 4, 1);         /* Enabled */
        o += 8;
    }
    w8(t, o, 1); /* I/O APIC (5.2.12.3) */
    w8(t, o + 1, 12);
    w8(t, o + 2, (uint8_t)ACPI_IOAPIC_ID(ncpus));
    w8(t, o + 3, 0);
    w32(t, o + 4, (uint32_t)IOAPIC_DEFAULT_BASE);
    w32(t, o + 8, 0); /* GSI base */
    o += 12;
    /* Interrupt Source Overrides (5.2.12.5); flags are MPS INTI flags:
     * polarity bits 1:0 (01 active high), trigger bits 3:2 (01 edge, 11 level) */
    static const struct { uint8_t irq; uint32_t gsi; uint16_t flags; } iso[] = {
        { 0, 2, 0x0005 },            /* PIT IRQ0 -> GSI2, edge, active high */
        { ACPI_SCI_IRQ, ACPI_SCI_IRQ, 0x000D }, /* SCI: level, active high */
    };
    for (size_t i = 0; i < sizeof(iso) / sizeof(iso[0]); i++) {
        w8(t, o, 2);
        w8(t, o + 1, 10);
        w8(t, o + 2, 0); /* ISA */
        w8(t, o + 3, iso[i].irq);
        w32(t, o + 4, iso[i].gsi);
        w16(t, o + 8, iso[i].flags);
        o += 10;
    }
    w8(t, o, 4); /* Local APIC NMI (5.2.12.7): all processors, LINT1 */
    w8(t, o + 1, 6);
    w8(t, o + 2, 0xFF);
    w16(t, o + 3, 0x0005);
    w8(t, o + 5, 1);
    o += 6;
    sdt_finish(t, (uint32_t)o);
    return o;
}

static bool config_ok(const struct acpi_config *cfg, uint64_t base)
{
    if (cfg->ncpus < 1 || cfg->ncpus > ACPI_MAX_CPUS)
        return false;
    if (cfg->nvirtio < 0 || cfg->nvirtio > ACPI_MAX_VIRTIO)
        return false;
    for (int i = 0; i < cfg->nvirtio; i++) {
        uint64_t b = cfg->virtio_mmio[i].base, l = cfg->virtio_mmio[i].len;
        if (l == 0 || b >= 0x100000000ull || l > 0x100000000ull - b ||
            cfg->virtio_mmio[i].gsi >= IOAPIC_NPINS)
            return false;
    }
    if ((base & 63) || base >= 0x100000000ull || ACPI_TABLE_AREA > 0x100000000ull - base)
        return false;
    /* the table area must not overlap the RSDP */
    return base >= ACPI_RSDP_ADDR + 36 || base + ACPI_TABLE_AREA <= ACPI_RSDP_ADDR;
}

int acpi_build(struct bus *bus, const struct acpi_config *cfg, uint64_t *rsdp_out)
{
    uint64_t base = cfg->table_addr ? cfg->table_addr : ACPI_DEFAULT_TABLE_ADDR;
    if (!config_ok(cfg, base))
        return -1;
    uint8_t *rsdp = bus_ram_ptr(bus, ACPI_RSDP_ADDR, 36);
    uint8_t *p = bus_ram_ptr(bus, base, ACPI_TABLE_AREA);
    if (!rsdp || !p)
        return -1;
    memset(p, 0, ACPI_TABLE_AREA);
    struct area ar = { p, base, ACPI_TABLE_AREA, 0, false };
    uint64_t facs_a, dsdt_a, fadt_a, madt_a, xsdt_a, rsdt_a;

    /* FACS (5.2.10): 64-byte aligned, no checksum */
    uint8_t *facs = area_alloc(&ar, 64, 64, &facs_a);
    if (!facs)
        return -1;
    memcpy(facs, "FACS", 4);
    w32(facs, 4, 64);
    w8(facs, 32, 2); /* version */

    /* DSDT: assemble the AML in the free space after the header */
    size_t doff = (ar.off + 15) & ~(size_t)15;
    if (doff + SDT_HDR > ar.cap)
        return -1;
    struct aml a;
    aml_init(&a, p + doff + SDT_HDR, ar.cap - doff - SDT_HDR);
    dsdt_body(&a, cfg);
    if (a.error)
        return -1;
    uint8_t *dsdt = area_alloc(&ar, SDT_HDR + a.len, 16, &dsdt_a);
    if (!dsdt)
        return -1;
    sdt_header(dsdt, "DSDT", 2, "NESTVMDS"); /* revision 2: 64-bit integers */
    sdt_finish(dsdt, (uint32_t)(SDT_HDR + a.len));

    uint8_t *fadt = area_alloc(&ar, FADT_LEN, 16, &fadt_a);
    if (!fadt)
        return -1;
    build_fadt(fadt, facs_a, dsdt_a);

    size_t madt_len = 44 + 8 * (size_t)cfg->ncpus + 12 + 2 * 10 + 6;
    uint8_t *madt = area_alloc(&ar, madt_len, 16, &madt_a);
    if (!madt)
        return -1;
    build_madt(madt, cfg->ncpus);

    uint8_t *xsdt = area_alloc(&ar, SDT_HDR + 16, 16, &xsdt_a);
    uint8_t *rsdt = area_alloc(&ar, SDT_HDR + 8, 16, &rsdt_a);
    if (!xsdt || !rsdt)
        return -1;
    sdt_header(xsdt, "XSDT", 1, "NESTVMXS");
    w64(xsdt, 36, fadt_a);
    w64(xsdt, 44, madt_a);
    sdt_finish(xsdt, SDT_HDR + 16);
    sdt_header(rsdt, "RSDT", 1, "NESTVMRS");
    w32(rsdt, 36, (uint32_t)fadt_a);
    w32(rsdt, 40, (uint32_t)madt_a);
    sdt_finish(rsdt, SDT_HDR + 8);

    /* RSDP (5.2.5.3) */
    memset(rsdp, 0, 36);
    memcpy(rsdp, "RSD PTR ", 8);
    memcpy(rsdp + 9, "NESTVM", 6);
    w8(rsdp, 15, 2);
    w32(rsdp, 16, (uint32_t)rsdt_a);
    w32(rsdp, 20, 36);
    w64(rsdp, 24, xsdt_a);
    rsdp[8] = checksum(rsdp, 20);
    rsdp[32] = checksum(rsdp, 36);
    if (rsdp_out)
        *rsdp_out = ACPI_RSDP_ADDR;
    return 0;
}

/* ---------- PM fixed hardware ---------- */

#define PM1_STS_MASK 0xC731u /* TMR, BM, GBL, PWRBTN, SLPBTN, RTC, PCIEXP_WAKE, WAK */
#define PM1_EN_MASK 0x4721u  /* TMR, GBL, PWRBTN, SLPBTN, RTC, PCIEXP_WAKE_DIS */
#define PM1_CNT_KEEP 0x1C02u /* BM_RLD, SLP_TYP (SCI_EN forced; GBL_RLS, SLP_EN write-only) */
#define PM1_SCI_SOURCES (ACPI_PM1_TMR | ACPI_PM1_GBL | ACPI_PM1_PWRBTN | ACPI_PM1_SLPBTN | ACPI_PM1_RTC)

static uint64_t default_now(void *ctx)
{
    return clock_host_ns();
}

static uint64_t pm_now(struct acpi_pm *pm)
{
    return pm->now_ns ? pm->now_ns(pm->now_ctx) : clock_host_ns();
}

static uint64_t pm_ticks(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * ACPI_PM_TMR_HZ / 1000000000ull);
}

/* TMR_STS is set whenever bit 31 of the counter changes (4.8.3.3). */
static void pm_check_timer(struct acpi_pm *pm, uint64_t now)
{
    uint64_t epoch = pm_ticks(now) >> 31;
    if (!pm->tmr_started) { /* first look: establish the reference */
        pm->tmr_started = true;
        pm->tmr_epoch = epoch;
    } else if (epoch != pm->tmr_epoch) {
        pm->tmr_epoch = epoch;
        pm->sts |= ACPI_PM1_TMR;
    }
}

static void pm_update_sci(struct acpi_pm *pm)
{
    bool level = (pm->sts & pm->en & PM1_SCI_SOURCES) != 0;
    if (level != pm->sci_level) {
        pm->sci_level = level;
        irq_set(&pm->sci, ACPI_SCI_IRQ, level);
    }
}

static uint16_t pm_cnt_read(const struct acpi_pm *pm)
{
    return (uint16_t)((pm->cnt & PM1_CNT_KEEP) | ACPI_PM1_SCI_EN);
}

static uint64_t pm_read(void *opaque, uint64_t off, unsigned size)
{
    struct acpi_pm *pm = opaque;
    pthread_mutex_lock(&pm->lock);
    uint64_t now = pm_now(pm);
    pm_check_timer(pm, now);
    pm_update_sci(pm);
    uint32_t tmr = (uint32_t)pm_ticks(now);
    uint8_t regs[12];
    w16(regs, 0, pm->sts);
    w16(regs, 2, pm->en);
    w16(regs, 4, pm_cnt_read(pm));
    w16(regs, 6, 0);
    w32(regs, 8, tmr);
    pthread_mutex_unlock(&pm->lock);
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++)
        if (off + i < sizeof(regs))
            v |= (uint64_t)regs[off + i] << (8 * i);
    return v;
}

static void pm_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct acpi_pm *pm = opaque;
    bool poweroff = false;
    pthread_mutex_lock(&pm->lock);
    uint16_t sts_clear = 0, en = pm->en, cnt = pm->cnt;
    bool cnt_hi_written = false;
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t o = off + i;
        uint16_t b = (uint8_t)(val >> (8 * i));
        unsigned sh = (unsigned)(o & 1) * 8;
        if (o < 2)
            sts_clear |= (uint16_t)(b << sh);
        else if (o < 4)
            en = (uint16_t)((en & ~(0xFF << sh)) | (b << sh));
        else if (o < 6) {
            cnt = (uint16_t)((cnt & ~(0xFF << sh)) | (b << sh));
            if (o == 5)
                cnt_hi_written = true;
        }
        /* 6-7 unused, 8-11 PM_TMR is read-only */
    }
    pm->sts &= (uint16_t)~(sts_clear & PM1_STS_MASK);
    pm->en = en & PM1_EN_MASK;
    pm->cnt = cnt & PM1_CNT_KEEP;
    /* SLP_EN with SLP_TYP = \_S5_ value enters soft-off (4.8.3.2.1, 7.4.2) */
    if (cnt_hi_written && (cnt & ACPI_PM1_SLP_EN) && ((cnt >> 10) & 7) == ACPI_SLP_TYP_S5)
        poweroff = true;
    pm_update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
    if (poweroff && pm->poweroff)
        pm->poweroff(pm->ctx);
}

static uint64_t rst_read(void *opaque, uint64_t off, unsigned size)
{
    struct acpi_pm *pm = opaque;
    pthread_mutex_lock(&pm->lock);
    uint64_t v = pm->rst_cnt & 0x0E;
    pthread_mutex_unlock(&pm->lock);
    return v;
}

static void rst_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct acpi_pm *pm = opaque;
    pthread_mutex_lock(&pm->lock);
    pm->rst_cnt = (uint8_t)(val & 0x0A); /* SYS_RST, FULL_RST are kept */
    pthread_mutex_unlock(&pm->lock);
    if ((val & 0x04) && pm->reset) /* RST_CPU */
        pm->reset(pm->ctx);
}

static const struct io_ops pm_ops = { .read = pm_read, .write = pm_write };
static const struct io_ops rst_ops = { .read = rst_read, .write = rst_write };

int acpi_pm_init(struct acpi_pm *pm, struct bus *bus, const struct irq_sink *sci,
                 void (*poweroff)(void *ctx), void (*reset)(void *ctx), void *ctx)
{
    memset(pm, 0, sizeof(*pm));
    pthread_mutex_init(&pm->lock, NULL);
    if (sci)
        pm->sci = *sci;
    pm->poweroff = poweroff;
    pm->reset = reset;
    pm->ctx = ctx;
    pm->now_ns = default_now;
    if (bus_register(bus, BUS_PIO, ACPI_PM1_EVT_PORT, 12, &pm_ops, pm) < 0 ||
        bus_register(bus, BUS_PIO, ACPI_RESET_PORT, 1, &rst_ops, pm) < 0)
        return -1;
    return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
    pthread_mutex_destroy(&pm->lock);
}

void acpi_pm_power_button(struct acpi_pm *pm)
{
    pthread_mutex_lock(&pm->lock);
    pm->sts |= ACPI_PM1_PWRBTN;
    pm_update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
}

uint32_t acpi_pm_timer(struct acpi_pm *pm)
{
    return (uint32_t)pm_ticks(pm_now(pm));
}

uint64_t acpi_pm_next_deadline(struct acpi_pm *pm)
{
    pthread_mutex_lock(&pm->lock);
    uint64_t d = CLOCK_NEVER;
    if (!pm->tmr_started)
        pm_check_timer(pm, pm_now(pm));
    if ((pm->en & ACPI_PM1_TMR) && !(pm->sts & ACPI_PM1_TMR)) {
        /* first ns at which ticks reach (epoch + 1) << 31 */
        unsigned __int128 t = (unsigned __int128)(pm->tmr_epoch + 1) << 31;
        unsigned __int128 ns = (t * 1000000000ull + ACPI_PM_TMR_HZ - 1) / ACPI_PM_TMR_HZ;
        d = ns >= CLOCK_NEVER ? CLOCK_NEVER : (uint64_t)ns;
    }
    pthread_mutex_unlock(&pm->lock);
    return d;
}

void acpi_pm_advance(struct acpi_pm *pm, uint64_t now_ns)
{
    pthread_mutex_lock(&pm->lock);
    pm_check_timer(pm, now_ns);
    pm_update_sci(pm);
    pthread_mutex_unlock(&pm->lock);
}
