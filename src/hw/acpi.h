/*
 * acpi.h — ACPI tables for the guest and the fixed-hardware PM registers.
 *
 * acpi_build() writes RSDP (at ACPI_RSDP_ADDR, in the 0xE0000-0xFFFFF area
 * that OSes scan, ACPI 6.x 5.2.5.1) and, at cfg->table_addr (default
 * ACPI_DEFAULT_TABLE_ADDR, right behind the RSDP), FACS, DSDT, FADT, MADT,
 * XSDT and RSDT, all inside [table_addr, table_addr + ACPI_TABLE_AREA).  The
 * machine must mark 0xE0000-0xFFFFF (or its own table area) reserved in
 * the E820 map and give the IOAPIC the ID ACPI_IOAPIC_ID(ncpus).
 *
 * Fixed hardware (FADT): PM1a_EVT 0x600 (status 0x600, enable 0x602),
 * PM1a_CNT 0x604, PM_TMR 0x608 (32-bit, 3.579545 MHz), SCI on GSI 9 (level,
 * active high), reset register 0xCF9 (value 6), no SMI_CMD (ACPI is always
 * enabled: SCI_EN reads 1), fixed power button, no sleep button.
 */
#ifndef NESTVM_HW_ACPI_H
#define NESTVM_HW_ACPI_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/clock.h"
#include "hw/irq.h"

#define ACPI_RSDP_ADDR 0xE0000ull
#define ACPI_DEFAULT_TABLE_ADDR 0xE0040ull
#define ACPI_TABLE_AREA 0x4000u /* bytes the tables may use at table_addr */
#define ACPI_MAX_CPUS 64
#define ACPI_MAX_VIRTIO 8
/* The MADT gives the IOAPIC the ID ncpus (right after the CPUs), truncated to
 * the 4 bits of the 82093AA ID register: pass ncpus to ioapic_init(). */
#define ACPI_IOAPIC_ID(ncpus) ((ncpus) & 0xF)
#define ACPI_SCI_IRQ 9

#define ACPI_PM1_EVT_PORT 0x600
#define ACPI_PM1_CNT_PORT 0x604
#define ACPI_PM_TMR_PORT 0x608
#define ACPI_RESET_PORT 0xCF9
#define ACPI_RESET_VALUE 6
#define ACPI_PM_TMR_HZ 3579545ull
#define ACPI_SLP_TYP_S5 5

/* PM1 status / enable bits (ACPI 6.x 4.8.3.1) */
#define ACPI_PM1_TMR (1u << 0)
#define ACPI_PM1_GBL (1u << 5)
#define ACPI_PM1_PWRBTN (1u << 8)
#define ACPI_PM1_SLPBTN (1u << 9)
#define ACPI_PM1_RTC (1u << 10)
#define ACPI_PM1_WAK (1u << 15)
/* PM1 control bits (4.8.3.2.1) */
#define ACPI_PM1_SCI_EN (1u << 0)
#define ACPI_PM1_SLP_EN (1u << 13)

struct acpi_config {
    unsigned ncpus; /* 1..ACPI_MAX_CPUS; APIC IDs 0..ncpus-1 */
    struct {
        uint64_t base, len; /* must lie below 4 GiB */
        unsigned gsi;       /* IOAPIC pin, < 24; level, active high */
    } virtio_mmio[ACPI_MAX_VIRTIO];
    int nvirtio;
    uint64_t table_addr; /* 0: ACPI_DEFAULT_TABLE_ADDR; else 64-byte aligned RAM below 4 GiB */
};

/* 0 on success with *rsdp_out = ACPI_RSDP_ADDR; -1 on a bad config or if
 * the area is not guest RAM. */
int acpi_build(struct bus *bus, const struct acpi_config *cfg, uint64_t *rsdp_out);

struct acpi_pm {
    struct irq_sink sci;
    void (*poweroff)(void *ctx);
    void (*reset)(void *ctx);
    void *ctx;
    uint64_t (*now_ns)(void *ctx); /* time source for PM_TMR; default clock_host_ns */
    void *now_ctx;

    pthread_mutex_t lock;
    uint16_t sts, en, cnt;
    uint8_t rst_cnt;     /* 0xCF9 */
    bool sci_level;
    uint64_t tmr_epoch;  /* PM timer ticks >> 31 at the last TMR_STS check */
    bool tmr_started;
};

/* Registers ports 0x600-0x60B and 0xCF9.  poweroff/reset are called (without
 * the PM lock, from the vCPU thread doing the I/O) and should only request
 * the action from the machine loop. */
int acpi_pm_init(struct acpi_pm *pm, struct bus *bus, const struct irq_sink *sci,
                 void (*poweroff)(void *ctx), void (*reset)(void *ctx), void *ctx);
void acpi_pm_destroy(struct acpi_pm *pm);
/* Host-side power button press (sets PWRBTN_STS, raises SCI if enabled). */
void acpi_pm_power_button(struct acpi_pm *pm);
uint32_t acpi_pm_timer(struct acpi_pm *pm); /* current PM_TMR value */
/* TMR_STS (counter bit 31 toggles) raises the SCI when TMR_EN is set. */
uint64_t acpi_pm_next_deadline(struct acpi_pm *pm);
void acpi_pm_advance(struct acpi_pm *pm, uint64_t now_ns);

#endif
