/*
 * exec.h — the instruction loop, decoded-block cache and CPU life cycle.
 */
#ifndef NESTVM_CPU_EXEC_H
#define NESTVM_CPU_EXEC_H

#include "cpu/cpu.h"
#include "cpu/insn.h"

/* CPU life cycle */
struct boot_entry;
void cpu_apply_boot_entry(struct cpu *cpu, const struct boot_entry *be);
int cpu_init(struct cpu *cpu, struct bus *bus, int index);
void cpu_destroy(struct cpu *cpu);
void cpu_reset(struct cpu *cpu);      /* power-on/RESET state (SDM Vol.3 9.1.1) */
void cpu_init_signal(struct cpu *cpu); /* INIT: like reset but keeps some MSRs */

/* Run until an event stops the CPU (machine request, shutdown, ...).
 * 'budget' is a cap on instructions (0: no cap), mainly for tests. */
enum cpu_exit cpu_run(struct cpu *cpu, uint64_t budget);

/* Recompute derived mode state (code64, code_bits, stack32, cpl, tlb_ctx,
 * sse_ok) after CR0/CR4/EFER, CS or SS changes; ends the current block. */
void cpu_update_mode(struct cpu *cpu);

/* Set a segment register's visible and hidden parts directly (VM entry,
 * loaders, tests).  Updates derived state. */
void cpu_set_seg(struct cpu *cpu, int seg, uint16_t sel, uint64_t base, uint32_t limit,
                 uint32_t ar);

/* TLB (mmu.c) */
void tlb_fill(struct cpu *cpu, uint64_t lin, uint8_t *host_page, unsigned acc);
void tlb_drop_write_ram(struct cpu *cpu, uint64_t ram_off);

/* Self-modifying code: called for every slow-path write to RAM. */
void exec_note_write(struct cpu *cpu, const uint8_t *host, unsigned size);
bool exec_page_has_code(struct cpu *cpu, const uint8_t *host);
/* Forget every decoded block (mode-independent flush). */
void exec_flush_blocks(struct cpu *cpu);
/* Blocks the translation tier (jit.c) has translated on this vCPU. */
uint64_t exec_jit_blocks(const struct cpu *cpu);
uint64_t exec_jit_insns(const struct cpu *cpu); /* instructions their code covers */
/* p is host code of the translation tier (a translated block's handler). */
bool exec_jit_code(const struct cpu *cpu, const void *p);
/* Tell the other vCPUs to drop write TLB entries (a page now holds code). */
void exec_broadcast_code_page(struct cpu *self);

/* Event delivery hooks (intr.c) */
enum event_kind {
    EV_KIND_EXT,      /* external interrupt (vector from a controller) */
    EV_KIND_NMI,
    EV_KIND_EXC,      /* hardware exception (fault/trap/abort) */
    EV_KIND_SOFT_INT, /* INT n */
    EV_KIND_SOFT_EXC, /* INT3, INTO */
    EV_KIND_PRIV_SOFT /* INT1 (ICEBP) */
};
/* Deliver an event through the IDT in the current mode; may itself fault
 * (double fault rules) and longjmp.  'error' is NO_ERR when there is none.
 * For software events, cpu->next_rip is the return address. */
void cpu_deliver(struct cpu *cpu, int vector, enum event_kind kind, uint32_t error);

/* Per-instruction counters for unimplemented reports. */
void exec_report_unimplemented(struct cpu *cpu, const uint8_t *bytes, int len);

#endif
