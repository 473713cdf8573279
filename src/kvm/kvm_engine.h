/*
 * kvm_engine.h — the KVM engine: runs the machine's vCPUs with /dev/kvm
 * instead of the software engine.  The devices, the bus, guest RAM and the
 * boot loaders are the machine's (src/machine/machine.c); this engine only
 * replaces the CPU and the interrupt controllers.
 *
 * Interrupt controllers: the in-kernel irqchip (KVM_CREATE_IRQCHIP: 8259
 * pair, IOAPIC and one LAPIC per vCPU in the host kernel).  Device
 * interrupts go from the machine's irq_sink to KVM_IRQ_LINE; our own PIC,
 * IOAPIC and LAPIC models are not used for a KVM VM.  Why (rather than our
 * models + KVM_INTERRUPT with interrupt-window exits):
 *   - every LAPIC access (EOI after each interrupt, timer programming, IPIs)
 *     would be an MMIO exit to user space; on PVM-backed KVM every exit is
 *     expensive, and a booting Linux makes tens of thousands of them;
 *   - HLT, the LAPIC timer, TSC deadline, x2APIC MSRs and INIT/SIPI for the
 *     application processors are then handled by KVM itself, so SMP needs
 *     no user-space state machine (KVM_MP_STATE does it);
 *   - KVM_INTERRUPT can inject only ExtINT-style vectors into one vCPU and
 *     needs an interrupt-window round trip for every injection.
 * The PIT and RTC stay ours (they are ordinary devices on the bus); a small
 * timer thread makes the poll calls the software engine makes from its
 * instruction loop (machine_timers_poll).
 */
#ifndef NESTVM_KVM_KVM_ENGINE_H
#define NESTVM_KVM_KVM_ENGINE_H

#include <stddef.h>
#include <stdio.h>

#include "machine/machine.h"

/* The KVM device: $NESTVM_KVM_DEV if set (tests simulate a missing
 * device with it), else /dev/kvm. */
const char *kvm_device_path(void);

/* Should --accel auto run the guest cfg describes on this host's KVM
 * (usable, enough vCPUs, nested VMX when cfg->nested, and not kvm_pvm,
 * which is slower than the software engine)?  0 = yes (why: a short
 * description of the KVM), -1 = no (why: the reason).  Creates and drops
 * a throw-away VM. */
int kvm_engine_probe(const struct machine_config *cfg, char *why, size_t n);

/* Build the KVM VM for a machine whose devices and kernel are in place
 * (m->bus, m->boot): memory slots, irqchip, vCPUs, boot state.  Sets
 * m->kvm.  On failure prints one line and returns -1. */
int kvm_engine_create(struct machine *m);
/* Run every vCPU until machine_stop(); returns when all have stopped. */
void kvm_engine_run(struct kvm_engine *k);
/* Make every vCPU leave KVM_RUN soon (any thread; machine_stop calls it). */
void kvm_engine_kick(struct kvm_engine *k);
/* --stats lines: exits by kind, nested state size. */
void kvm_engine_print_stats(struct kvm_engine *k, FILE *f, double wall_s);
void kvm_engine_destroy(struct kvm_engine *k);

#endif
