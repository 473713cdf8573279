/*
 * kvm_vcpu.c — one KVM vCPU thread: KVM_RUN, then handle the exit
 * (api.rst 5. "The kvm_run structure"):
 *
 *   KVM_EXIT_IO             port I/O through bus_pio_read/write; string I/O
 *                           (INS/OUTS with REP) arrives as count > 1 items
 *                           packed at data_offset in the run page
 *   KVM_EXIT_MMIO           bus_mmio_read/write
 *   KVM_EXIT_HLT            only without an in-kernel LAPIC: wait briefly
 *   KVM_EXIT_SHUTDOWN       triple fault: exit status 124 as on the
 *                           software engine
 *   KVM_EXIT_FAIL_ENTRY,
 *   KVM_EXIT_INTERNAL_ERROR the guest cannot continue: one line with the
 *                           guest's cs:rip and code bytes, status 126
 *   KVM_EXIT_SYSTEM_EVENT   shutdown/reset: power-off; crash: 126
 *   KVM_EXIT_INTR           a signal (machine_stop's kick): check stopping
 *
 * The vCPU never blocks anywhere but in KVM_RUN (and the bus lock), and
 * every unexpected exit stops the machine, so nothing can hang.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "hw/clock.h"
#include "kvm/kvm_priv.h"

int kvm_handle_io(struct bus *b, struct kvm_run *run, size_t run_size)
{
    unsigned size = run->io.size;
    uint64_t off = run->io.data_offset, count = run->io.count;
    if (size != 1 && size != 2 && size != 4)
        return -1;
    if (off > run_size || count > (run_size - off) / size)
        return -1;
    uint8_t *d = (uint8_t *)run + off;
    for (uint64_t i = 0; i < count; i++, d += size) {
        if (run->io.direction == KVM_EXIT_IO_OUT) {
            uint32_t v = 0;
            memcpy(&v, d, size); /* x86 hosts are little-endian */
            bus_pio_write(b, run->io.port, v, size);
        } else {
            uint32_t v = (uint32_t)bus_pio_read(b, run->io.port, size);
            memcpy(d, &v, size);
        }
    }
    return 0;
}

int kvm_handle_mmio(struct bus *b, struct kvm_run *run)
{
    unsigned len = run->mmio.len;
    uint64_t gpa = run->mmio.phys_addr;
    if (len == 0 || len > 8)
        return -1;
    if (len == 1 || len == 2 || len == 4 || len == 8) {
        if (run->mmio.is_write) {
            uint64_t v = 0;
            memcpy(&v, run->mmio.data, len);
            bus_mmio_write(b, gpa, v, len);
        } else {
            uint64_t v = bus_mmio_read(b, gpa, len);
            memcpy(run->mmio.data, &v, len);
        }
        return 0;
    }
    /* Odd sizes (an access split at a page boundary): byte by byte. */
    for (unsigned i = 0; i < len; i++) {
        if (run->mmio.is_write) {
            bus_mmio_write(b, gpa + i, run->mmio.data[i], 1);
        } else {
            run->mmio.data[i] = (uint8_t)bus_mmio_read(b, gpa + i, 1);
        }
    }
    return 0;
}

const char *kvm_internal_error_name(uint32_t suberror)
{
    switch (suberror) {
    case KVM_INTERNAL_ERROR_EMULATION: return "emulation failure";
    case KVM_INTERNAL_ERROR_SIMUL_EX: return "exception while delivering an exception";
    case KVM_INTERNAL_ERROR_DELIVERY_EV: return "exit while delivering an event";
    case KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON: return "unexpected hardware exit reason";
    default: return "unknown suberror";
    }
}

/* "at CS:RIP, code: 0f 0b ..." for the vCPU's current state. */
static void describe_rip(struct kvm_vcpu *v, char *buf, size_t n)
{
    struct kvm_regs rg;
    struct kvm_sregs sr;
    if (ioctl(v->fd, KVM_GET_REGS, &rg) != 0 || ioctl(v->fd, KVM_GET_SREGS, &sr) != 0) {
        snprintf(buf, n, "(registers unavailable: %s)", strerror(errno));
        return;
    }
    uint8_t code[15];
    size_t got = kvm_guest_code_bytes(&v->k->m->bus, &sr, rg.rip, code, sizeof code);
    int w = snprintf(buf, n, "at %04x:%016llx, code:", sr.cs.selector,
                     (unsigned long long)rg.rip);
    for (size_t i = 0; i < got && w > 0 && (size_t)w < n; i++)
        w += snprintf(buf + w, n - (size_t)w, " %02x", code[i]);
    if (got == 0 && w > 0 && (size_t)w < n)
        snprintf(buf + w, n - (size_t)w, " not in guest RAM");
}

static void vcpu_fail(struct kvm_vcpu *v, int status, const char *what)
{
    char where[160], why[256];
    describe_rip(v, where, sizeof where);
    snprintf(why, sizeof why, "%.90s on vCPU %d %.150s", what, v->index, where);
    machine_stop(v->k->m, status, why);
}

/* Without an in-kernel LAPIC a HLT comes to us: sleep until something
 * happens (at most 10 ms; interrupts are KVM's, so just re-enter). */
static void vcpu_halt_wait(struct kvm_engine *k)
{
    pthread_mutex_lock(&k->tlock);
    if (!atomic_load(&k->m->stopping))
        kvm_engine_wait_until(k, clock_host_ns() + 10000000ull);
    pthread_mutex_unlock(&k->tlock);
}

/* A device write may have moved a PIT/RTC deadline earlier than the timer
 * thread's sleep: wake it (see kvm_timer_thread for the protocol). */
static void vcpu_note_device_write(struct kvm_engine *k)
{
    atomic_fetch_add(&k->write_gen, 1);
    if (machine_timers_deadline(k->m) < atomic_load(&k->timer_sleep_until))
        kvm_engine_wake(k);
}

/* 0: keep running; 1: the vCPU stops. */
static int vcpu_handle_exit(struct kvm_vcpu *v)
{
    struct kvm_run *run = v->run;
    struct machine *m = v->k->m;
    char what[200];
    v->st.exits++;
    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        v->st.io++;
        if (run->io.count > 1)
            v->st.io_strings++;
        if (kvm_handle_io(&m->bus, run, v->k->run_size) != 0) {
            snprintf(what, sizeof what, "malformed KVM_EXIT_IO (port 0x%x size %u count %u)",
                     run->io.port, run->io.size, run->io.count);
            vcpu_fail(v, EXIT_INTERNAL, what);
            return 1;
        }
        if (run->io.direction == KVM_EXIT_IO_OUT)
            vcpu_note_device_write(v->k);
        return 0;
    case KVM_EXIT_MMIO:
        v->st.mmio++;
        if (kvm_handle_mmio(&m->bus, run) != 0) {
            snprintf(what, sizeof what, "malformed KVM_EXIT_MMIO (0x%llx len %u)",
                     (unsigned long long)run->mmio.phys_addr, run->mmio.len);
            vcpu_fail(v, EXIT_INTERNAL, what);
            return 1;
        }
        if (run->mmio.is_write)
            vcpu_note_device_write(v->k);
        return 0;
    case KVM_EXIT_HLT:
        v->st.hlt++;
        vcpu_halt_wait(v->k);
        return 0;
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        v->st.irq_window++;
        return 0;
    case KVM_EXIT_INTR:
        v->st.intr++;
        return 0;
    case KVM_EXIT_SHUTDOWN: {
        /* The same words as the software engine's triple-fault reason. */
        struct kvm_regs rg;
        struct kvm_sregs sr;
        char why[160];
        if (ioctl(v->fd, KVM_GET_REGS, &rg) == 0 && ioctl(v->fd, KVM_GET_SREGS, &sr) == 0)
            snprintf(why, sizeof why, "triple fault on vCPU %d at %04x:%016llx", v->index,
                     sr.cs.selector, (unsigned long long)rg.rip);
        else
            snprintf(why, sizeof why, "triple fault on vCPU %d", v->index);
        machine_stop(m, EXIT_TRIPLE_FAULT, why);
        return 1;
    }
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(what, sizeof what, "KVM entry failed (hardware reason 0x%llx)",
                 (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        vcpu_fail(v, EXIT_INTERNAL, what);
        return 1;
    case KVM_EXIT_INTERNAL_ERROR:
        snprintf(what, sizeof what, "KVM internal error: %s (suberror %u)",
                 kvm_internal_error_name(run->internal.suberror), run->internal.suberror);
        vcpu_fail(v, EXIT_INTERNAL, what);
        return 1;
    case KVM_EXIT_SYSTEM_EVENT:
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN:
            machine_stop(m, EXIT_POWEROFF, "guest powered off (KVM system event)");
            return 1;
        case KVM_SYSTEM_EVENT_RESET:
            machine_stop(m, EXIT_POWEROFF, "guest reset (treated as power-off)");
            return 1;
        default:
            snprintf(what, sizeof what, "KVM system event %u (guest crash)",
                     run->system_event.type);
            vcpu_fail(v, EXIT_INTERNAL, what);
            return 1;
        }
    default:
        v->st.other++;
        snprintf(what, sizeof what, "unexpected KVM exit reason %u", run->exit_reason);
        vcpu_fail(v, EXIT_INTERNAL, what);
        return 1;
    }
}

void *kvm_vcpu_thread(void *arg)
{
    struct kvm_vcpu *v = arg;
    struct machine *m = v->k->m;
    while (!atomic_load(&m->stopping)) {
        if (ioctl(v->fd, KVM_RUN, 0) != 0) {
            if (errno == EINTR || errno == EAGAIN) {
                v->st.intr++;
                continue;
            }
            char what[120];
            snprintf(what, sizeof what, "KVM_RUN failed (%s)", strerror(errno));
            vcpu_fail(v, EXIT_INTERNAL, what);
            break;
        }
        if (vcpu_handle_exit(v))
            break;
    }
    return NULL;
}
