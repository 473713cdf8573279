/*
 * kvm_priv.h — what the files of the KVM engine share: the engine and vCPU
 * structs, host probing (kvm_host.c, also used by `nestvm check`), CPUID
 * policy (kvm_cpuid.c), boot state and guest page walks (kvm_boot.c),
 * interrupt wiring (kvm_irq.c), exit handling (kvm_vcpu.c) and nested VMX
 * (kvm_nested.c).  Only the KVM API (Documentation/virt/kvm/api.rst) and
 * the Intel SDM are the specification here.
 */
#ifndef NESTVM_KVM_KVM_PRIV_H
#define NESTVM_KVM_KVM_PRIV_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"
#include "hw/bus.h"
#include "kvm/kvm_engine.h"
#include "machine/machine.h"

/* The TSS KVM needs for real mode on hosts without unrestricted guest
 * (KVM_SET_TSS_ADDR: three pages in a hole of the guest-physical map). */
#define KVM_TSS_ADDR 0xfffbd000ull

struct kvm_vcpu_stats {
    uint64_t exits, io, io_strings, mmio, hlt, intr, irq_window, other;
};

struct kvm_vcpu {
    struct kvm_engine *k;
    int index; /* vCPU id, also the APIC ID */
    int fd;
    struct kvm_run *run;
    pthread_t thread;
    _Atomic bool started;
    struct kvm_vcpu_stats st;
};

struct kvm_engine {
    struct machine *m;
    int sys_fd, vm_fd;
    size_t run_size;
    unsigned ncpus;
    char flavour[16];
    int nested_state_cap;   /* KVM_CHECK_EXTENSION(KVM_CAP_NESTED_STATE) */
    unsigned vmx_msrs;      /* VMX capability MSRs handed to each vCPU */
    struct kvm_vcpu vcpu[MACHINE_MAX_CPUS];
    /* timer thread (machine_timers_poll) and how vCPUs wake it when a
     * device write may have moved a timer deadline earlier; tcond uses
     * CLOCK_MONOTONIC and is broadcast by kvm_engine_kick too */
    pthread_t timer;
    bool timer_started;
    pthread_mutex_t tlock;
    pthread_cond_t tcond;
    _Atomic uint64_t timer_sleep_until;
    _Atomic uint64_t write_gen;
};

/* ---------- kvm_host.c: facts about the host's KVM ---------- */

struct kvm_host_info {
    char path[256];
    bool present;         /* the device node exists */
    int open_errno;       /* 0: opened read-write */
    int api_version;      /* -1: unknown */
    bool vm_ok;
    int vm_errno;
    bool mod_intel, mod_amd, mod_pvm; /* /sys/module/kvm_{intel,amd,pvm} */
    const char *flavour;  /* "intel", "amd", "pvm", "none" */
    int cap_nested_state, cap_irqchip, cap_user_memory, cap_immediate_exit, cap_ext_cpuid,
        cap_irq_routing, cap_set_tss_addr, max_vcpus;
    bool cpuid_ok;
    int cpuid_errno;
    bool vmx_in_cpuid, svm_in_cpuid;
    int nested_state_errno; /* 0 unless KVM_CAP_NESTED_STATE was probed and failed */
};

/* Open the device read-write; -1 with errno on failure. */
int kvm_open_device(const char *path);
/* Probe everything above for path (no VM is kept). */
void kvm_host_probe(const char *path, struct kvm_host_info *h);
/* The KVM flavour from loaded modules under sysfs_module_dir
 * ("/sys/module"): "intel", "amd", "pvm" or "none". */
const char *kvm_host_flavour(const char *sysfs_module_dir, bool *intel, bool *amd, bool *pvm);
/* Why this host's KVM cannot run a guest with ncpus vCPUs (and nested
 * VMX when nested); NULL when it can.  Writes into buf. */
const char *kvm_host_unusable_reason(const struct kvm_host_info *h, unsigned ncpus, bool nested,
                                     char *buf, size_t n);

/* ---------- kvm_cpuid.c ---------- */

/* KVM_GET_SUPPORTED_CPUID into a malloc'ed struct (growing the buffer on
 * E2BIG); NULL with errno on failure. */
struct kvm_cpuid2 *kvm_cpuid_supported(int sys_fd);
struct kvm_cpuid_entry2 *kvm_cpuid_find(struct kvm_cpuid2 *c, uint32_t fn, uint32_t index);
bool kvm_cpuid_has_vmx(struct kvm_cpuid2 *c);
bool kvm_cpuid_has_svm(struct kvm_cpuid2 *c);
/* Tailor the supported table for one vCPU: APIC ID (leaf 1 EBX[31:24],
 * leaves 0xB/0x1F EDX), logical processor count, VMX kept (nested) or
 * cleared; SVM always cleared (nestvm's nested virtualization is VT-x). */
void kvm_cpuid_for_vcpu(struct kvm_cpuid2 *c, unsigned apic_id, unsigned ncpus, bool nested);
/* Hide what kvm_pvm's instruction emulator cannot do (CMPXCHG16B). */
void kvm_cpuid_pvm_quirks(struct kvm_cpuid2 *c);

/* ---------- kvm_boot.c ---------- */

/* Flat segment with VMCS-layout access rights (as struct boot_entry and
 * cpu_apply_boot_entry use) → kvm_segment. */
void kvm_seg_from_ar(struct kvm_segment *s, uint16_t sel, uint64_t base, uint32_t limit,
                     uint32_t ar);
/* The state struct boot_entry describes, over sregs as KVM_GET_SREGS
 * returned them (long mode with the loader's page tables, or 32-bit flat
 * protected mode for Multiboot). */
void kvm_boot_state(const struct boot_entry *be, struct kvm_sregs *sr, struct kvm_regs *rg);
/* Guest linear → physical through the guest's own paging (none, 32-bit,
 * PAE, 4- or 5-level), reading page tables from bus RAM.  false if not
 * mapped or a table is outside RAM. */
bool kvm_guest_translate(const struct bus *b, const struct kvm_sregs *sr, uint64_t lin,
                         uint64_t *gpa);
/* Up to n bytes of guest code at cs:rip (stops at unmapped / non-RAM
 * bytes); returns how many were read. */
size_t kvm_guest_code_bytes(const struct bus *b, const struct kvm_sregs *sr, uint64_t rip,
                            uint8_t *out, size_t n);

/* ---------- kvm_irq.c ---------- */

/* KVM_CREATE_IRQCHIP, GSI routing as the MADT describes (ISA IRQ 0 →
 * IOAPIC pin 2), the IOAPIC ID the MADT gives.  One line + -1 on failure. */
int kvm_irq_setup(struct kvm_engine *k);
/* LINT0 ExtINT on the BSP, LINT1 NMI, APIC software-enabled: what
 * firmware leaves (lapic_firmware_setup does the same for our model). */
int kvm_irq_setup_lapic(struct kvm_engine *k, struct kvm_vcpu *v);
/* irqchip_set for the machine: KVM_IRQ_LINE. */
void kvm_irq_set(void *ctx, unsigned gsi, int level);

/* ---------- kvm_vcpu.c ---------- */

/* Port I/O exit (string I/O: count > 1) through the bus; -1 on a
 * malformed exit (size or data outside the run page). */
int kvm_handle_io(struct bus *b, struct kvm_run *run, size_t run_size);
/* MMIO exit through the bus; -1 on a malformed exit. */
int kvm_handle_mmio(struct bus *b, struct kvm_run *run);
void *kvm_vcpu_thread(void *arg);
/* Wake the timer thread (and a vCPU waiting after a HLT exit). */
void kvm_engine_wake(struct kvm_engine *k);
/* Wait on tcond (caller holds tlock) until the CLOCK_MONOTONIC time
 * deadline_ns or a wake-up. */
void kvm_engine_wait_until(struct kvm_engine *k, uint64_t deadline_ns);
/* Name of a KVM_EXIT_INTERNAL_ERROR suberror. */
const char *kvm_internal_error_name(uint32_t suberror);

/* ---------- kvm_nested.c ---------- */

/* VMX capability MSRs KVM offers (KVM_GET_MSR_FEATURE_INDEX_LIST +
 * KVM_GET_MSRS on the system fd) → KVM_SET_MSRS on the vCPU.  Returns how
 * many were set, -1 on failure (one line printed). */
int kvm_nested_set_vmx_msrs(struct kvm_engine *k, struct kvm_vcpu *v);
/* KVM_GET_NESTED_STATE: size in bytes of the vCPU's nested state, or -1
 * (errno set; ENOTSUP when KVM has no KVM_CAP_NESTED_STATE). */
long kvm_nested_state_size(struct kvm_engine *k, struct kvm_vcpu *v);

#endif
