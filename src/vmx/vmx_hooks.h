/*
 * vmx_hooks.h — the points where VMX non-root operation hooks into the CPU
 * engine and the machine.  Each returns false / -1 when VMX does not take
 * the event, so the engine goes on as on a CPU without VMX.  The engine
 * calls them only when cpu->nonroot (or, for the MSRs, when asked).
 */
#ifndef NESTVM_VMX_HOOKS_H
#define NESTVM_VMX_HOOKS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cpu/cpu.h"
#include "cpu/exec.h"

/* Event delivery (intr.c): true if the event became a VM exit. */
bool vmx_event_exit(struct cpu *cpu, int vector, enum event_kind kind, uint32_t error);
/* MOV CR / MOV DR / CLTS / LMSW (ops_cr.c): true if the access exited. */
bool vmx_cr_access_exit(struct cpu *cpu, const struct insn *in);
/* IA32_VMX_* capability MSRs (msr.c): 0 and *val, or -1 for #GP. */
int vmx_msr_read(struct cpu *cpu, uint32_t msr, uint64_t *val);
/* External interrupt while non-root: true if it must exit instead. */
bool vmx_intr_exits(struct cpu *cpu);
/* INIT / SIPI arriving in non-root operation: true if they exited. */
bool vmx_init_signal_exit(struct cpu *cpu);
bool vmx_sipi_exit(struct cpu *cpu, uint32_t vector);
/* Gate for instructions with an EXIT() class in non-root operation: exits
 * to L1 if its controls say so, else runs the instruction's own handler. */
void vmx_op_intercept(struct cpu *cpu, const struct insn *in);
/* Guest-physical → host pointer for a non-root guest (EPT, APIC-access page);
 * may VM-exit (EPT violation/misconfiguration) by unwinding with VEC_VMEXIT.
 * NULL means MMIO (the bus handles it). */
uint8_t *vmx_guest_phys_host(struct cpu *cpu, uint64_t gpa, unsigned len, unsigned acc);
/* Block boundary with EV_VMX, EV_IRQ or EV_NMI pending: interrupt/NMI
 * windows, external interrupts and NMIs that exit, preemption timer, MTF.
 * True if a VM exit happened. */
bool vmx_block_boundary(struct cpu *cpu);
/* Called where the loop polls its timers (every few hundred blocks, and
 * after waiting in HLT): sets EV_VMX once the VMX-preemption timer has
 * expired (SDM 25.5.1), so that vmx_block_boundary() takes the exit. */
void vmx_poll_timer(struct cpu *cpu);
/* Non-root memory plumbing (mmu.c, mem.c; cpu->vmx != NULL):
 *   vmx_note_linear   mmu_translate() is translating this linear address
 *                     (EPT-violation qualification, CR2 on #PF exits);
 *   vmx_mmio_pa       the L1-physical address of the last access for which
 *                     vmx_guest_phys_host() returned NULL (MMIO goes there);
 *   vmx_apic_mmio     an MMIO access at that address: true if it was a
 *                     virtualised APIC-access-page access (done, *val read). */
void vmx_note_linear(struct cpu *cpu, uint64_t lin);
uint64_t vmx_mmio_pa(struct cpu *cpu);
bool vmx_apic_mmio(struct cpu *cpu, uint64_t pa, unsigned size, uint64_t *val, bool write);
/* The loop runs one instruction per block while this is true (non-root
 * with the "monitor trap flag" control, SDM 25.5.2). */
bool vmx_mtf_active(const struct cpu *cpu);
/* A debug exception with these DR6 bits is about to be raised in non-root
 * operation: if the exception bitmap intercepts #DB this VM-exits (with the
 * bits as qualification) before DR6/DR7 change, as SDM 27.1 requires, and
 * an MTF / TPR-below-threshold exit pending on this boundary takes priority
 * over a single-step trap (25.5.2); otherwise it returns the DR6 bits to
 * report — dr6_bits plus debug exceptions VM entry left pending (26.7.3) —
 * and the engine updates DR6 and delivers. */
uint64_t vmx_debug_exception(struct cpu *cpu, uint64_t dr6_bits);
/* TSC offset L2 sees (msr.c cpu_read_tsc): TSC_OFFSET with "use TSC
 * offsetting", else 0 (SDM 25.3). */
uint64_t vmx_tsc_offset(const struct cpu *cpu);

/* MOV to CR0/CR4 in VMX root operation: true if 'val' violates the fixed
 * bits of IA32_VMX_CR0/CR4_FIXED0/1 (SDM 23.8), which raises #GP(0). */
bool vmx_cr_fixed_violation(const struct cpu *cpu, int cr, uint64_t val);

/* In VMX root operation (VMXON executed, not running a guest). */
bool vmx_in_root(const struct cpu *cpu);

/* INIT signals are blocked in VMX root operation and stay pending (SDM
 * 23.8): the machine calls vmx_latch_init() instead of resetting the vCPU,
 * and vmx_take_latched_init() each time it services the local APIC; it
 * returns true (once) when a held INIT is no longer blocked — after VM
 * entry (it then causes an INIT VM exit) or VMXOFF.  VMXOFF sets EV_INIT
 * in cpu->events so that the machine services the vCPU and clears it. */
void vmx_latch_init(struct cpu *cpu);
bool vmx_take_latched_init(struct cpu *cpu);

/* Per-vCPU VMX state (NestedVirtualization=enabled). */
int vmx_cpu_init(struct cpu *cpu);
void vmx_cpu_destroy(struct cpu *cpu);
void vmx_print_stats(struct cpu *cpu, FILE *f);

#endif
