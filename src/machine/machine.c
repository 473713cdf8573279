/*
 * machine.c — assembles the PC (see machine.h for the memory map), loads
 * the kernel, and wires interrupts:
 *
 *   device ──irq_sink──► machine_irq_set ─┬─► 8259 pair ──INTR──► LAPIC0 LINT0 (ExtINT)
 *                                         └─► IOAPIC ──apic_bus──► LAPICs
 *
 * ISA IRQ 0 (PIT) reaches IOAPIC pin 2, as the MADT's interrupt source
 * override says; every other ISA IRQ maps to the pin of the same number.
 *
 * The engine is chosen after the devices and the kernel are in place
 * (machine_create → machine_setup_engine): the software engine gets struct
 * cpu + our LAPIC models; the KVM engine (src/kvm/) gets the same bus, RAM
 * and boot entry, and takes over the interrupt controllers (irqchip_set).
 */
#include "machine/machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include "boot/boot.h"
#include "cpu/cpuid.h"
#include "cpu/exec.h"
#include "cpu/msr.h"
#include "hw/clock.h"
#include "kvm/kvm_engine.h"
#include "vmx/vmx.h"
#include "vmx/vmx_hooks.h"

static void machine_irq_set(void *ctx, unsigned gsi, int level)
{
    struct machine *m = ctx;
    if (m->irqchip_set) {
        m->irqchip_set(m->irqchip_ctx, gsi, level);
        return;
    }
    if (gsi < 16)
        pic_set_irq(&m->pic, gsi, level);
    ioapic_set_irq(&m->ioapic, gsi == 0 ? 2 : gsi, level);
}

static void pic_intr_changed(void *ctx, bool intr)
{
    struct machine *m = ctx;
    lapic_set_lint0(&m->lapic[0], intr);
}

static void serial_tx(void *ctx, uint8_t byte)
{
    struct machine *m = ctx;
    /* Unbuffered: a script sees each line when the guest prints it. */
    ssize_t r;
    do
        r = write(m->out_fd, &byte, 1);
    while (r < 0 && errno == EINTR);
}

static void on_poweroff(void *ctx)
{
    machine_stop(ctx, EXIT_POWEROFF, "guest powered off");
}

static void on_reset(void *ctx)
{
    /* No firmware to reboot into: a reset ends the VM like QEMU's -no-reboot. */
    machine_stop(ctx, EXIT_POWEROFF, "guest reset (treated as power-off)");
}

static void on_debug_exit(void *ctx, int status)
{
    char why[64];
    snprintf(why, sizeof why, "isa-debug-exit status %d", status);
    machine_stop(ctx, status, why);
}

void machine_stop(struct machine *m, int status, const char *reason)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&m->stopping, &expected, 1)) {
        m->exit_status = status;
        snprintf(m->exit_reason, sizeof m->exit_reason, "%s", reason);
    }
    for (unsigned i = 0; i < m->cfg.ncpus; i++)
        if (m->cpu[i])
            atomic_fetch_or(&m->cpu[i]->events, EV_STOP);
    if (m->kvm)
        kvm_engine_kick(m->kvm);
    pthread_mutex_lock(&m->lock);
    pthread_cond_broadcast(&m->wake);
    pthread_mutex_unlock(&m->lock);
}

static void lapic_kick(void *ctx)
{
    struct cpu *cpu = ctx;
    struct machine *m = cpu->machine;
    atomic_fetch_or(&cpu->events, EV_IRQ);
    pthread_mutex_lock(&m->lock);
    pthread_cond_broadcast(&m->wake);
    pthread_mutex_unlock(&m->lock);
}

static void lapic_eoi(void *ctx, int vector)
{
    struct machine *m = ctx;
    pthread_mutex_lock(&m->bus.lock);
    ioapic_eoi(&m->ioapic, vector);
    pthread_mutex_unlock(&m->bus.lock);
}

/* ---------- vCPU hooks ---------- */

static int hook_intr_vector(struct cpu *cpu, bool ack)
{
    struct machine *m = cpu->machine;
    struct lapic *l = cpu->lapic;
    int v = lapic_pending_vector(l);
    if (v >= 0) {
        if (ack)
            lapic_ack(l, v);
        return v;
    }
    if (lapic_extint_pending(l)) {
        if (!ack)
            return pic_has_intr(&m->pic) ? 0 : -1;
        lapic_extint_ack(l);
        pthread_mutex_lock(&m->bus.lock);
        v = pic_ack(&m->pic);
        pthread_mutex_unlock(&m->bus.lock);
        return v;
    }
    return -1;
}

static void hook_service(struct cpu *cpu)
{
    struct lapic *l = cpu->lapic;
    uint32_t ev = 0;
    if (cpu->vmx) {
        /* an INIT held while in VMX root operation, now unblocked (SDM 23.8) */
        atomic_fetch_and(&cpu->events, ~EV_INIT);
        if (vmx_take_latched_init(cpu))
            ev |= LAPIC_EV_INIT;
    }
    if (lapic_has_event(l))
        ev |= lapic_take_events(l);
    if (!ev)
        return;
    if (ev & LAPIC_EV_INIT) {
        /* INIT is blocked in VMX root operation and stays pending (SDM
         * 23.8); in non-root operation it causes a VM exit instead. */
        if (cpu->vmx && vmx_in_root(cpu)) {
            vmx_latch_init(cpu);
        } else if (!cpu->nonroot || !vmx_init_signal_exit(cpu)) {
            cpu_init_signal(cpu);
            lapic_reset(l, true);
            cpu->apic_base = lapic_get_base(l);
            cpu->state = CPU_WAIT_SIPI;
        }
    }
    if ((ev & LAPIC_EV_SIPI) && cpu->state == CPU_WAIT_SIPI) {
        uint32_t v = lapic_sipi_vector(l);
        if (!cpu->nonroot || !vmx_sipi_exit(cpu, v)) {
            cpu_set_seg(cpu, SEG_CS, (uint16_t)(v << 8), (uint64_t)v << 12, 0xffff, 0x9b);
            cpu->rip = 0;
            cpu->state = CPU_RUNNING;
        }
    }
    if (ev & LAPIC_EV_NMI) {
        /* One NMI can wait behind another that is not yet taken; while a
         * handler runs (NMIs blocked) only one stays pending (SDM 6.7.1). */
        uint32_t old = atomic_fetch_or(&cpu->events, EV_NMI);
        if (((ev & LAPIC_EV_NMI2) || (old & EV_NMI)) && !cpu->nmi_blocked)
            cpu->nmi_latched = 1;
    }
    if (ev & (LAPIC_EV_INTR | LAPIC_EV_EXTINT))
        atomic_fetch_or(&cpu->events, EV_IRQ);
}

uint64_t machine_timers_deadline(struct machine *m)
{
    pthread_mutex_lock(&m->bus.lock);
    uint64_t p = pit_next_deadline(&m->pit), r = rtc_next_deadline(&m->rtc);
    pthread_mutex_unlock(&m->bus.lock);
    return p < r ? p : r;
}

void machine_timers_poll(struct machine *m, uint64_t now)
{
    pthread_mutex_lock(&m->bus.lock);
    pit_advance(&m->pit, now);
    rtc_advance(&m->rtc, now);
    pthread_mutex_unlock(&m->bus.lock);
    console_poll(m);
    if (m->cfg.timeout > 0 && now - m->start_ns > (uint64_t)(m->cfg.timeout * 1e9)) {
        char why[80];
        snprintf(why, sizeof why, "timeout after %.1f s", m->cfg.timeout);
        machine_stop(m, EXIT_TIMEOUT, why);
    }
}

static uint64_t next_deadline(struct machine *m, struct cpu *cpu)
{
    uint64_t d = lapic_next_deadline(cpu->lapic);
    if (cpu->index == 0) {
        uint64_t t = machine_timers_deadline(m);
        if (t < d)
            d = t;
    }
    return d;
}

static void hook_poll(struct cpu *cpu)
{
    struct machine *m = cpu->machine;
    uint64_t now = clock_host_ns();
    lapic_advance(cpu->lapic, now);
    if (cpu->index == 0)
        machine_timers_poll(m, now);
    if (lapic_has_event(cpu->lapic))
        atomic_fetch_or(&cpu->events, EV_IRQ);
}

static void hook_wait(struct cpu *cpu)
{
    struct machine *m = cpu->machine;
    uint64_t d = next_deadline(m, cpu);
    uint64_t now = clock_host_ns();
    /* Wake at least every 10 ms for the console and the timeout. */
    uint64_t limit = now + 10000000ull;
    if (d > limit)
        d = limit;
    if (d <= now)
        return;
    pthread_mutex_lock(&m->lock);
    if (!(atomic_load(&cpu->events) & (EV_STOP | EV_IRQ | EV_NMI)) && !lapic_has_event(cpu->lapic)) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        uint64_t wait = d - now;
        ts.tv_sec += (time_t)(wait / 1000000000ull);
        ts.tv_nsec += (long)(wait % 1000000000ull);
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&m->wake, &m->lock, &ts);
    }
    pthread_mutex_unlock(&m->lock);
    cpu->halted_ns += clock_host_ns() - now;
}

static const struct cpu_hooks machine_hooks = {
    .intr_vector = hook_intr_vector,
    .intr_exits = vmx_intr_exits,
    .service = hook_service,
    .poll = hook_poll,
    .wait = hook_wait,
};

/* ---------- creation ---------- */

static int build_e820(const struct machine *m, struct e820_range *e)
{
    int n = 0;
    uint64_t low = m->bus.low_ram;
    e[n++] = (struct e820_range){ 0, 0x9fc00, 1 };
    e[n++] = (struct e820_range){ 0x9fc00, 0x400, 2 };
    e[n++] = (struct e820_range){ 0xe0000, 0x20000, 2 };
    e[n++] = (struct e820_range){ 0x100000, low - 0x100000, 1 };
    if (m->bus.ram_size > low)
        e[n++] = (struct e820_range){ BUS_HIGH_RAM_BASE, m->bus.ram_size - low, 1 };
    e[n++] = (struct e820_range){ 0xfec00000, 0x1000, 2 };
    e[n++] = (struct e820_range){ 0xfee00000, 0x1000, 2 };
    return n;
}

static int machine_setup_engine(struct machine *m);

int machine_create(struct machine *m, const struct machine_config *cfg)
{
    memset(m, 0, sizeof(*m));
    m->cfg = *cfg;
    pthread_mutex_init(&m->lock, NULL);
    /* hook_wait computes CLOCK_MONOTONIC deadlines: the condition variable
     * must use that clock, or every wait would already be in the past. */
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&m->wake, &ca);
    pthread_condattr_destroy(&ca);
    if (cfg->mem < (16ull << 20)) {
        fprintf(stderr, "nestvm: --memory %llu MiB is too small (minimum 16 MiB)\n",
                (unsigned long long)(cfg->mem >> 20));
        return -1;
    }
    if (bus_init(&m->bus, cfg->mem) != 0) {
        fprintf(stderr, "nestvm: cannot allocate %llu MiB of guest memory\n",
                (unsigned long long)(cfg->mem >> 20));
        return -1;
    }
    m->out_fd = STDOUT_FILENO;
    if (cfg->serial_file) {
        FILE *f = fopen(cfg->serial_file, "w");
        if (!f) {
            fprintf(stderr, "nestvm: --serial file:%s: %s\n", cfg->serial_file, strerror(errno));
            return -1;
        }
        m->out_fd = dup(fileno(f));
        fclose(f);
    }

    /* Disks first: a bad path is a command-line error, reported before any
     * guest code runs. */
    for (int i = 0; i < cfg->ndisks; i++)
        if (virtio_blk_open(&m->blk[i], cfg->disks[i].path, cfg->disks[i].readonly) != 0)
            return -1;

    m->irq = (struct irq_sink){ machine_irq_set, m };
    pic_init(&m->pic, &m->bus);
    pic_set_notify(&m->pic, pic_intr_changed, m);
    pit_init(&m->pit, &m->bus, &m->irq, 0);
    rtc_init(&m->rtc, &m->bus, &m->irq, 8);
    rtc_set_memory(&m->rtc, m->bus.low_ram, m->bus.ram_size - m->bus.low_ram);
    uart_init(&m->uart, &m->bus, 0x3f8, &m->irq, 4, serial_tx, m);
    apic_bus_init(&m->apic_bus);
    ioapic_init(&m->ioapic, &m->bus, &m->apic_bus, cfg->ncpus, 0xfec00000ull);
    acpi_pm_init(&m->pm, &m->bus, &m->irq, on_poweroff, on_reset, m);
    debugport_init(&m->dbg, &m->bus, on_debug_exit, serial_tx, m);
    if (cfg->testdev)
        testdev_init(&m->testdev, &m->bus, &m->irq);
    fwcfg_init(&m->fwcfg, &m->bus, cfg->mem, cfg->ncpus);

    struct acpi_config ac = { .ncpus = cfg->ncpus };
    char cmdline[4096];
    snprintf(cmdline, sizeof cmdline, "%s", cfg->cmdline ? cfg->cmdline : "console=ttyS0");
    for (int i = 0; i < cfg->ndisks; i++) {
        uint64_t base = VIRTIO_MMIO_BASE + (uint64_t)i * VIRTIO_MMIO_SIZE;
        unsigned gsi = VIRTIO_MMIO_GSI + (unsigned)i;
        if (virtio_mmio_init(&m->vmmio[i], &m->bus, base, &m->irq, gsi, &m->blk[i].ops,
                             &m->blk[i]) != 0) {
            fprintf(stderr, "nestvm: cannot attach disk %s\n", cfg->disks[i].path);
            return -1;
        }
        ac.virtio_mmio[i].base = base;
        ac.virtio_mmio[i].len = VIRTIO_MMIO_SIZE;
        ac.virtio_mmio[i].gsi = gsi;
        ac.nvirtio++;
    }
    uint64_t rsdp = 0;
    if (acpi_build(&m->bus, &ac, &rsdp) != 0) {
        fprintf(stderr, "nestvm: cannot build ACPI tables\n");
        return -1;
    }

    struct e820_range e820[8];
    struct boot_config bc = {
        .kernel_path = cfg->kernel,
        .initrd_path = cfg->initrd,
        .cmdline = cmdline,
        .rsdp_addr = rsdp,
        .e820 = e820,
        .ne820 = build_e820(m, e820),
    };
    if (boot_load(&m->bus, &bc, &m->boot) != 0)
        return -1;
    return machine_setup_engine(m);
}

/* The software engine: one struct cpu and one LAPIC model per vCPU. */
static int machine_create_emu_cpus(struct machine *m)
{
    const struct machine_config *cfg = &m->cfg;
    for (unsigned i = 0; i < cfg->ncpus; i++) {
        struct cpu *c = calloc(1, sizeof(struct cpu));
        if (!c || cpu_init(c, &m->bus, (int)i) != 0) {
            fprintf(stderr, "nestvm: out of memory for vCPU %u\n", i);
            free(c);
            return -1;
        }
        m->cpu[i] = c;
        c->machine = m;
        c->hooks = &machine_hooks;
        c->ncpus = cfg->ncpus;
        c->vmx_allowed = cfg->nested;
        struct lapic *l = &m->lapic[i];
        lapic_init(l, i, i == 0, &m->apic_bus);
        l->maxphyaddr = CPUID_MAXPHYADDR; /* IA32_APIC_BASE reserved bits follow CPUID */
        l->kick = lapic_kick;
        l->kick_ctx = c;
        l->eoi_broadcast = lapic_eoi;
        l->eoi_ctx = m;
        apic_bus_add(&m->apic_bus, l);
        c->lapic = l;
        c->apic_base = lapic_get_base(l);
        if (cfg->nested) {
            if (vmx_cpu_init(c) != 0) {
                fprintf(stderr, "nestvm: cannot initialise VMX for vCPU %u\n", i);
                return -1;
            }
            c->vmx->trace = cfg->trace_vmx;
        }
        msr_firmware_setup(c); /* MTRRs/PAT as firmware leaves them, same on every CPU */
        if (i > 0)
            c->state = CPU_WAIT_SIPI;
    }
    /* The boot CPU starts where the loader says (no firmware). */
    lapic_firmware_setup(&m->lapic[0]);
    for (unsigned i = 1; i < cfg->ncpus; i++)
        lapic_firmware_setup(&m->lapic[i]);
    cpu_apply_boot_entry(m->cpu[0], &m->boot);
    return 0;
}

/* Choose the engine once the devices and the kernel are in place. */
static int machine_setup_engine(struct machine *m)
{
    enum machine_accel accel = m->cfg.accel;
    if (accel == MACHINE_ACCEL_AUTO) {
        char why[256];
        if (kvm_engine_probe(&m->cfg, why, sizeof why) == 0) {
            fprintf(stderr, "nestvm: --accel auto: using KVM (%s)\n", why);
            accel = MACHINE_ACCEL_KVM;
        } else {
            fprintf(stderr, "nestvm: --accel auto: using the software engine (%s)\n", why);
            accel = MACHINE_ACCEL_EMU;
        }
    }
    if (accel == MACHINE_ACCEL_KVM)
        return kvm_engine_create(m);
    return machine_create_emu_cpus(m);
}

void machine_destroy(struct machine *m)
{
    if (m->kvm) {
        kvm_engine_destroy(m->kvm);
        m->kvm = NULL;
    }
    for (unsigned i = 0; i < MACHINE_MAX_CPUS; i++) {
        if (m->cpu[i]) {
            vmx_cpu_destroy(m->cpu[i]);
            cpu_destroy(m->cpu[i]);
            free(m->cpu[i]);
            m->cpu[i] = NULL;
        }
    }
    for (int i = 0; i < m->cfg.ndisks; i++)
        virtio_blk_close(&m->blk[i]);
    ioapic_destroy(&m->ioapic);
    if (m->out_fd != STDOUT_FILENO)
        close(m->out_fd);
    bus_destroy(&m->bus);
}

/* ---------- running ---------- */

static void *vcpu_thread(void *arg)
{
    struct cpu *cpu = arg;
    struct machine *m = cpu->machine;
    for (;;) {
        enum cpu_exit e = cpu_run(cpu, 0);
        if (atomic_load(&m->stopping))
            break;
        if (e == CPU_EXIT_SHUTDOWN) {
            char why[160];
            snprintf(why, sizeof why, "triple fault on vCPU %d at %04x:%016llx", cpu->index,
                     cpu->seg[SEG_CS].sel, (unsigned long long)cpu->rip);
            machine_stop(m, EXIT_TRIPLE_FAULT, why);
            break;
        }
        if (e == CPU_EXIT_HALT_FOREVER || e == CPU_EXIT_ERROR) {
            machine_stop(m, EXIT_INTERNAL, "vCPU stopped unexpectedly");
            break;
        }
    }
    return NULL;
}

/* Resident pages of the guest-RAM mapping (mincore), to tell nestvm's own
 * memory apart from the guest's. */
static uint64_t guest_resident_kib(const struct bus *b)
{
    size_t pages = (b->ram_size + 4095) / 4096, n = 0;
    unsigned char *vec = malloc(pages);
    if (!vec || mincore(b->ram, b->ram_size, vec) != 0) {
        free(vec);
        return 0;
    }
    for (size_t i = 0; i < pages; i++)
        n += vec[i] & 1;
    free(vec);
    return (uint64_t)n * 4;
}

int machine_run(struct machine *m)
{
    m->start_ns = clock_host_ns();
    console_start(m);
    if (m->kvm) {
        kvm_engine_run(m->kvm);
    } else {
        for (unsigned i = 0; i < m->cfg.ncpus; i++)
            pthread_create(&m->thread[i], NULL, vcpu_thread, m->cpu[i]);
        for (unsigned i = 0; i < m->cfg.ncpus; i++)
            pthread_join(m->thread[i], NULL);
    }
    console_stop(m);
    uint64_t ns = clock_host_ns() - m->start_ns;
    if (m->exit_status != 0 && m->exit_status != 1 && (m->exit_status & 1) == 0)
        fprintf(stderr, "nestvm: %s\n", m->exit_reason);
    if (m->cfg.stats) {
        double s = (double)ns / 1e9;
        fprintf(stderr, "nestvm: stats: %s\n", m->exit_reason);
        if (m->kvm) {
            kvm_engine_print_stats(m->kvm, stderr, s);
        } else {
            uint64_t insns = 0;
            for (unsigned i = 0; i < m->cfg.ncpus; i++)
                insns += m->cpu[i]->icount;
            uint64_t halted = 0;
            for (unsigned i = 0; i < m->cfg.ncpus; i++)
                halted += m->cpu[i]->halted_ns;
            fprintf(stderr, "nestvm: stats: instructions %llu, wall %.3f s, %.1f M instructions/s, "
                            "vCPUs halted %.3f s\n",
                    (unsigned long long)insns, s, s > 0 ? (double)insns / s / 1e6 : 0.0,
                    (double)halted / 1e9);
        }
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        uint64_t guest_kib = guest_resident_kib(&m->bus);
        fprintf(stderr, "nestvm: stats: max RSS %ld KiB, guest RAM resident %llu KiB, "
                        "nestvm's own ~%lld KiB\n",
                ru.ru_maxrss, (unsigned long long)guest_kib,
                (long long)ru.ru_maxrss - (long long)guest_kib);
        for (unsigned i = 0; i < m->cfg.ncpus && !m->kvm; i++)
            vmx_print_stats(m->cpu[i], stderr);
    }
    return m->exit_status;
}
