/*
 * kvm_engine.c — builds and runs a KVM VM for a machine whose devices and
 * kernel are already in place (see kvm_engine.h for the design):
 *
 *   /dev/kvm ─KVM_CREATE_VM─► VM: KVM_SET_TSS_ADDR, guest RAM as one or two
 *     memory slots (below the PCI hole at 0, the rest at 4 GiB: the same
 *     host mapping as bus->ram), in-kernel irqchip, then per vCPU:
 *     KVM_CREATE_VCPU, mmap of struct kvm_run, KVM_SET_CPUID2, MSRs (MTRR
 *     default type as firmware leaves it; VMX capability MSRs when nested),
 *     LAPIC LINT0/LINT1; vCPU 0 gets the loader's boot state.
 *
 * Threads: one per vCPU (kvm_vcpu.c) plus one timer thread that makes the
 * PIT/RTC/console/timeout poll calls (machine_timers_poll) at the devices'
 * deadlines.  machine_stop() kicks the vCPUs out of KVM_RUN with
 * kvm_run.immediate_exit plus a signal (api.rst 5, immediate_exit: closes
 * the race of a signal arriving just before KVM_RUN).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hw/clock.h"
#include "kvm/kvm_priv.h"

#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_FEATURE_CONTROL 0x3a
#define FEATURE_CONTROL_LOCK (1ull << 0)
#define FEATURE_CONTROL_VMX (1ull << 2)
#define TIMER_MAX_SLEEP_NS 10000000ull /* console input and --timeout granularity */

static int kick_signal(void)
{
    return SIGRTMIN + 1;
}

static void kick_handler(int sig)
{
    (void)sig; /* only interrupts KVM_RUN (EINTR) */
}

static int install_kick_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = kick_handler;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: KVM_RUN must return */
    return sigaction(kick_signal(), &sa, NULL);
}

static int fail(const char *what)
{
    fprintf(stderr, "nestvm: --accel kvm: %s failed: %s\n", what, strerror(errno));
    return -1;
}

static int set_memory(struct kvm_engine *k)
{
    const struct bus *b = &k->m->bus;
    struct kvm_userspace_memory_region r = {
        .slot = 0,
        .guest_phys_addr = 0,
        .memory_size = b->low_ram,
        .userspace_addr = (uint64_t)(uintptr_t)b->ram,
    };
    if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) != 0)
        return fail("KVM_SET_USER_MEMORY_REGION (RAM below 3 GiB)");
    if (b->ram_size > b->low_ram) {
        r.slot = 1;
        r.guest_phys_addr = BUS_HIGH_RAM_BASE;
        r.memory_size = b->ram_size - b->low_ram;
        r.userspace_addr = (uint64_t)(uintptr_t)(b->ram + b->low_ram);
        if (ioctl(k->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) != 0)
            return fail("KVM_SET_USER_MEMORY_REGION (RAM above 4 GiB)");
    }
    return 0;
}

static int set_msr(struct kvm_vcpu *v, uint32_t index, uint64_t value)
{
    struct {
        struct kvm_msrs h;
        struct kvm_msr_entry e[1];
    } msrs;
    memset(&msrs, 0, sizeof msrs);
    msrs.h.nmsrs = 1;
    msrs.e[0].index = index;
    msrs.e[0].data = value;
    return ioctl(v->fd, KVM_SET_MSRS, &msrs) == 1 ? 0 : -1;
}

static int create_vcpu(struct kvm_engine *k, unsigned i, const struct kvm_cpuid2 *supported)
{
    struct kvm_vcpu *v = &k->vcpu[i];
    char what[64];
    v->k = k;
    v->index = (int)i;
    v->fd = ioctl(k->vm_fd, KVM_CREATE_VCPU, (unsigned long)i);
    if (v->fd < 0) {
        snprintf(what, sizeof what, "KVM_CREATE_VCPU %u", i);
        return fail(what);
    }
    void *run = mmap(NULL, k->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
    if (run == MAP_FAILED)
        return fail("mmap of the vCPU's kvm_run");
    v->run = run;

    size_t csize = sizeof(struct kvm_cpuid2) + supported->nent * sizeof(struct kvm_cpuid_entry2);
    struct kvm_cpuid2 *c = malloc(csize);
    if (!c)
        return fail("allocating the CPUID table");
    memcpy(c, supported, csize);
    kvm_cpuid_for_vcpu(c, i, k->ncpus, k->m->cfg.nested);
    if (!strcmp(k->flavour, "pvm"))
        kvm_cpuid_pvm_quirks(c);
    int r = ioctl(v->fd, KVM_SET_CPUID2, c);
    free(c);
    if (r != 0) {
        snprintf(what, sizeof what, "KVM_SET_CPUID2 on vCPU %u", i);
        return fail(what);
    }
    /* MTRRs enabled, default type write-back: what firmware leaves and
     * what msr_firmware_setup gives the software CPU. */
    if (set_msr(v, MSR_MTRR_DEF_TYPE, 1ull << 11 | 6) != 0) {
        snprintf(what, sizeof what, "KVM_SET_MSRS (IA32_MTRR_DEF_TYPE) on vCPU %u", i);
        return fail(what);
    }
    if (k->m->cfg.nested) {
        int n = kvm_nested_set_vmx_msrs(k, v);
        if (n < 0)
            return -1;
        k->vmx_msrs = (unsigned)n;
        /* IA32_FEATURE_CONTROL as firmware leaves it for a hypervisor
         * guest (and as the software engine reports it): locked, VMX
         * outside SMX enabled (SDM Vol. 3C 23.7). */
        if (set_msr(v, MSR_FEATURE_CONTROL, FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX) != 0) {
            snprintf(what, sizeof what, "KVM_SET_MSRS (IA32_FEATURE_CONTROL) on vCPU %u", i);
            return fail(what);
        }
    }
    return kvm_irq_setup_lapic(k, v);
}

static int set_boot_state(struct kvm_engine *k)
{
    struct kvm_vcpu *v = &k->vcpu[0];
    struct kvm_sregs sr;
    struct kvm_regs rg;
    if (ioctl(v->fd, KVM_GET_SREGS, &sr) != 0)
        return fail("KVM_GET_SREGS");
    kvm_boot_state(&k->m->boot, &sr, &rg);
    if (ioctl(v->fd, KVM_SET_SREGS, &sr) != 0)
        return fail("KVM_SET_SREGS (boot state)");
    if (ioctl(v->fd, KVM_SET_REGS, &rg) != 0)
        return fail("KVM_SET_REGS (boot state)");
    return 0;
}

int kvm_engine_create(struct machine *m)
{
    const char *path = kvm_device_path();
    struct kvm_host_info h;
    char why[256];
    kvm_host_probe(path, &h);
    if (kvm_host_unusable_reason(&h, m->cfg.ncpus, m->cfg.nested, why, sizeof why)) {
        fprintf(stderr, "nestvm: --accel kvm: %s\n", why);
        return -1;
    }
    struct kvm_engine *k = calloc(1, sizeof(*k));
    if (!k)
        return fail("allocating the engine");
    k->m = m;
    k->ncpus = m->cfg.ncpus;
    k->sys_fd = k->vm_fd = -1;
    pthread_mutex_init(&k->tlock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* clock_host_ns() deadlines */
    pthread_cond_init(&k->tcond, &ca);
    pthread_condattr_destroy(&ca);
    for (unsigned i = 0; i < MACHINE_MAX_CPUS; i++)
        k->vcpu[i].fd = -1;
    snprintf(k->flavour, sizeof k->flavour, "%s", h.flavour);
    m->kvm = k; /* from here on machine_destroy cleans up */

    if ((k->sys_fd = kvm_open_device(path)) < 0)
        return fail(path);
    k->nested_state_cap = ioctl(k->sys_fd, KVM_CHECK_EXTENSION, KVM_CAP_NESTED_STATE);
    int rs = ioctl(k->sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (rs < (int)sizeof(struct kvm_run))
        return fail("KVM_GET_VCPU_MMAP_SIZE");
    k->run_size = (size_t)rs;
    do
        k->vm_fd = ioctl(k->sys_fd, KVM_CREATE_VM, 0);
    while (k->vm_fd < 0 && errno == EINTR);
    if (k->vm_fd < 0)
        return fail("KVM_CREATE_VM");
    if (ioctl(k->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)KVM_TSS_ADDR) != 0)
        return fail("KVM_SET_TSS_ADDR");
    if (set_memory(k) != 0 || kvm_irq_setup(k) != 0)
        return -1;
    struct kvm_cpuid2 *supported = kvm_cpuid_supported(k->sys_fd);
    if (!supported)
        return fail("KVM_GET_SUPPORTED_CPUID");
    for (unsigned i = 0; i < k->ncpus; i++) {
        if (create_vcpu(k, i, supported) != 0) {
            free(supported);
            return -1;
        }
    }
    free(supported);
    if (set_boot_state(k) != 0)
        return -1;
    if (install_kick_handler() != 0)
        return fail("sigaction (vCPU kick signal)");
    m->irqchip_ctx = k;
    m->irqchip_set = kvm_irq_set;
    return 0;
}

void kvm_engine_wake(struct kvm_engine *k)
{
    pthread_mutex_lock(&k->tlock);
    pthread_cond_broadcast(&k->tcond);
    pthread_mutex_unlock(&k->tlock);
}

void kvm_engine_wait_until(struct kvm_engine *k, uint64_t deadline_ns)
{
    struct timespec ts = {
        .tv_sec = (time_t)(deadline_ns / 1000000000ull),
        .tv_nsec = (long)(deadline_ns % 1000000000ull),
    };
    pthread_cond_timedwait(&k->tcond, &k->tlock, &ts);
}

/* PIT, RTC, console input and --timeout, as the software engine's poll
 * hook does them.  A vCPU that writes a device bumps write_gen and wakes
 * us if the new deadline is before timer_sleep_until; checking write_gen
 * under tlock before sleeping closes the window between computing the
 * deadline and waiting (the vCPU's wake-up needs the same lock). */
static void *kvm_timer_thread(void *arg)
{
    struct kvm_engine *k = arg;
    struct machine *m = k->m;
    while (!atomic_load(&m->stopping)) {
        uint64_t gen = atomic_load(&k->write_gen);
        uint64_t now = clock_host_ns();
        machine_timers_poll(m, now);
        uint64_t d = machine_timers_deadline(m);
        if (d > now + TIMER_MAX_SLEEP_NS)
            d = now + TIMER_MAX_SLEEP_NS;
        pthread_mutex_lock(&k->tlock);
        atomic_store(&k->timer_sleep_until, d);
        if (!atomic_load(&m->stopping) && atomic_load(&k->write_gen) == gen &&
            d > clock_host_ns())
            kvm_engine_wait_until(k, d);
        atomic_store(&k->timer_sleep_until, 0);
        pthread_mutex_unlock(&k->tlock);
    }
    return NULL;
}

void kvm_engine_run(struct kvm_engine *k)
{
    struct machine *m = k->m;
    k->timer_started = pthread_create(&k->timer, NULL, kvm_timer_thread, k) == 0;
    if (!k->timer_started)
        machine_stop(m, EXIT_INTERNAL, "cannot start the KVM timer thread");
    unsigned started = 0;
    for (; started < k->ncpus && !atomic_load(&m->stopping); started++) {
        struct kvm_vcpu *v = &k->vcpu[started];
        if (pthread_create(&v->thread, NULL, kvm_vcpu_thread, v) != 0) {
            machine_stop(m, EXIT_INTERNAL, "cannot start a vCPU thread");
            break;
        }
        atomic_store(&v->started, true);
    }
    for (unsigned i = 0; i < started; i++)
        pthread_join(k->vcpu[i].thread, NULL);
    /* Every vCPU stops only through machine_stop, which also wakes the
     * timer thread; make sure of it anyway. */
    machine_stop(m, EXIT_INTERNAL, "all vCPUs stopped");
    if (k->timer_started)
        pthread_join(k->timer, NULL);
    k->timer_started = false;
    for (unsigned i = 0; i < k->ncpus; i++)
        atomic_store(&k->vcpu[i].started, false);
}

void kvm_engine_kick(struct kvm_engine *k)
{
    for (unsigned i = 0; i < k->ncpus; i++) {
        struct kvm_vcpu *v = &k->vcpu[i];
        if (v->run)
            __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        if (atomic_load(&v->started))
            pthread_kill(v->thread, kick_signal());
    }
    kvm_engine_wake(k);
}

void kvm_engine_print_stats(struct kvm_engine *k, FILE *f, double wall_s)
{
    struct kvm_vcpu_stats t = { 0 };
    for (unsigned i = 0; i < k->ncpus; i++) {
        const struct kvm_vcpu_stats *s = &k->vcpu[i].st;
        t.exits += s->exits;
        t.io += s->io;
        t.io_strings += s->io_strings;
        t.mmio += s->mmio;
        t.hlt += s->hlt;
        t.intr += s->intr;
        t.other += s->other;
    }
    fprintf(f, "nestvm: stats: KVM engine (flavour %s), wall %.3f s, exits %llu: port I/O %llu "
               "(string %llu), MMIO %llu, HLT %llu, other %llu; signals %llu\n",
            k->flavour, wall_s, (unsigned long long)t.exits, (unsigned long long)t.io,
            (unsigned long long)t.io_strings, (unsigned long long)t.mmio,
            (unsigned long long)t.hlt, (unsigned long long)t.other, (unsigned long long)t.intr);
    if (k->m->cfg.nested)
        fprintf(f, "nestvm: stats: VMX capability MSRs from KVM per vCPU: %u\n", k->vmx_msrs);
    /* Nested state is what a snapshot would save: exercise the path. */
    for (unsigned i = 0; i < k->ncpus; i++) {
        long n = kvm_nested_state_size(k, &k->vcpu[i]);
        if (n >= 0)
            fprintf(f, "nestvm: stats: vCPU %u nested state (KVM_GET_NESTED_STATE): %ld bytes\n",
                    i, n);
        else if (errno == ENOTSUP)
            fprintf(f, "nestvm: stats: vCPU %u nested state: not saved, this KVM has no "
                       "KVM_CAP_NESTED_STATE\n", i);
        else
            fprintf(f, "nestvm: stats: vCPU %u nested state: KVM_GET_NESTED_STATE failed: %s\n",
                    i, strerror(errno));
    }
}

void kvm_engine_destroy(struct kvm_engine *k)
{
    if (!k)
        return;
    if (k->m && k->m->irqchip_ctx == k) {
        k->m->irqchip_set = NULL;
        k->m->irqchip_ctx = NULL;
    }
    for (unsigned i = 0; i < MACHINE_MAX_CPUS; i++) {
        struct kvm_vcpu *v = &k->vcpu[i];
        if (v->run)
            munmap(v->run, k->run_size);
        if (v->fd >= 0)
            close(v->fd);
    }
    if (k->vm_fd >= 0)
        close(k->vm_fd);
    if (k->sys_fd >= 0)
        close(k->sys_fd);
    pthread_cond_destroy(&k->tcond);
    pthread_mutex_destroy(&k->tlock);
    free(k);
}
