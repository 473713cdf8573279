/*
 * machine.h — the PC that nestvm emulates: memory map, devices, vCPUs.
 *
 * Guest-physical memory map:
 *   0x00000000-0x0009ffff  RAM (E820 usable; loaders use 0x6000-0x2ffff)
 *   0x000a0000-0x000fffff  reserved (VGA hole, BIOS area: ACPI tables at 0xe0000)
 *   0x00100000-...         RAM up to min(--memory, 3 GiB)
 *   0xd0000000-0xd0007fff  virtio-mmio transports (512 bytes each, GSI 5+)
 *   0xfec00000             IOAPIC          0xfee00000  local APICs
 *   0x100000000-...        RAM above 3 GiB
 * Ports: 0x20/0xa0 PIC, 0x40 PIT, 0x61 system control, 0x70 RTC,
 *   0x3f8 COM1, 0x510 fw_cfg, 0x600 ACPI PM, 0xcf9 reset, 0xe9 debug
 *   console, 0xf4 isa-debug-exit; with --testdev also 0xe0/0xe4/0x2000 and
 *   0xff000000 (the PC test device, hw/testdev.h).
 */
#ifndef NESTVM_MACHINE_MACHINE_H
#define NESTVM_MACHINE_MACHINE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "boot/boot.h"
#include "cpu/cpu.h"
#include "hw/acpi.h"
#include "hw/bus.h"
#include "hw/debugport.h"
#include "hw/fwcfg.h"
#include "hw/ioapic.h"
#include "hw/irq.h"
#include "hw/lapic.h"
#include "hw/pic.h"
#include "hw/pit.h"
#include "hw/rtc.h"
#include "hw/testdev.h"
#include "hw/uart.h"
#include "hw/virtio_blk.h"
#include "hw/virtio_mmio.h"

#define MACHINE_MAX_CPUS 16
#define MACHINE_MAX_DISKS 4
#define VIRTIO_MMIO_BASE 0xd0000000ull
#define VIRTIO_MMIO_SIZE 0x200
#define VIRTIO_MMIO_GSI 5

struct machine_disk {
    const char *path;
    bool readonly;
};

/* Which engine runs the vCPUs (--accel).  AUTO picks KVM when /dev/kvm can
 * run the requested guest (see kvm/kvm_engine.h), else the software engine. */
enum machine_accel { MACHINE_ACCEL_EMU, MACHINE_ACCEL_KVM, MACHINE_ACCEL_AUTO };

struct kvm_engine;

struct machine_config {
    const char *kernel, *initrd, *cmdline;
    uint64_t mem;
    unsigned ncpus;
    struct machine_disk disks[MACHINE_MAX_DISKS];
    int ndisks;
    const char *serial_file; /* NULL: stdio */
    bool nested;             /* NestedVirtualization=enabled */
    double timeout;          /* seconds, 0: none */
    bool stats, trace_vmx;
    bool testdev;            /* add the PC test device (hw/testdev.h) */
    enum machine_accel accel;
};

/* Exit statuses of `nestvm run` (besides 0 and the isa-debug-exit codes). */
enum {
    EXIT_POWEROFF = 0,
    EXIT_USAGE = 2,            /* bad command line or input files */
    EXIT_TRIPLE_FAULT = 124,
    EXIT_TIMEOUT = 125,
    EXIT_INTERNAL = 126,
};

struct machine {
    struct machine_config cfg;
    struct bus bus;
    struct pic pic;
    struct pit pit;
    struct rtc rtc;
    struct uart uart;
    struct ioapic ioapic;
    struct apic_bus apic_bus;
    struct acpi_pm pm;
    struct debugport dbg;
    struct fwcfg fwcfg;
    struct testdev testdev;
    struct irq_sink irq;
    struct lapic lapic[MACHINE_MAX_CPUS];
    struct cpu *cpu[MACHINE_MAX_CPUS];
    pthread_t thread[MACHINE_MAX_CPUS];
    struct virtio_blk blk[MACHINE_MAX_DISKS];
    struct virtio_mmio vmmio[MACHINE_MAX_DISKS];
    struct boot_entry boot;  /* where the loader says vCPU 0 starts */

    /* The KVM engine (NULL: the software engine runs the vCPUs).  With KVM,
     * device interrupts go to irqchip_set instead of our PIC/IOAPIC. */
    struct kvm_engine *kvm;
    void (*irqchip_set)(void *ctx, unsigned gsi, int level);
    void *irqchip_ctx;

    /* serial output */
    int out_fd;

    /* stop */
    _Atomic int stopping;
    int exit_status;
    char exit_reason[256];
    pthread_mutex_t lock;
    pthread_cond_t wake;
    uint64_t start_ns;
};

/* Build the machine, load the kernel; prints one line and returns -1 on
 * bad input. */
int machine_create(struct machine *m, const struct machine_config *cfg);
/* Run every vCPU until the guest powers off, exits or fails; returns the
 * process exit status. */
int machine_run(struct machine *m);
void machine_destroy(struct machine *m);
/* Ask all vCPUs to stop with the given status and reason (any thread). */
void machine_stop(struct machine *m, int status, const char *reason);

/* Machine-level timers (PIT, RTC) for whichever engine runs the vCPUs:
 * the earliest deadline, and "catch up to now" which also feeds console
 * input and enforces --timeout. */
uint64_t machine_timers_deadline(struct machine *m);
void machine_timers_poll(struct machine *m, uint64_t now);

/* Console input (console.c): feeds host stdin to the UART, handles Ctrl-A. */
int console_start(struct machine *m);
void console_poll(struct machine *m);
void console_stop(struct machine *m);

#endif
