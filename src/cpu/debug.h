/*
 * debug.h — the debug-register machinery of the engine (SDM Vol.3 chapter
 * 17): instruction, data and I/O breakpoints from DR0-DR3/DR7, single-step
 * traps (RFLAGS.TF), the resume flag (RFLAGS.RF) and how DR6 reports them.
 *
 * Two classes of #DB (SDM 17.3):
 *   fault  instruction breakpoints (before the instruction; RIP points at
 *          it; suppressed for one instruction while RF = 1) and general
 *          detect (MOV DR with DR7.GD, ops_cr.c);
 *   trap   data and I/O breakpoints and single-step, raised after the
 *          instruction completed.  Their DR6 bits collect in cpu->db_trap
 *          while the instruction runs and are delivered together, as one
 *          #DB, when it retires (dbg_after_insn).
 *
 * Everything is off the hot path while DR7 enables nothing and TF/RF are
 * clear: the loop tests those bits once per block, the TLB refuses pages
 * that hold a watched address (so every access to them takes the slow path,
 * which checks the data breakpoints), and decoded blocks shrink to one
 * instruction while a breakpoint is armed or TF is set.
 */
#ifndef NESTVM_CPU_DEBUG_H
#define NESTVM_CPU_DEBUG_H

#include "cpu/cpu.h"

#define DR6_B0_B3 0xfull
#define DR6_BD (1ull << 13)
#define DR6_BS (1ull << 14)
#define DR7_ENABLES 0xffull /* L0 G0 ... L3 G3 */

/* Any breakpoint enabled in DR7 (the loop's cheap test). */
static inline bool dbg_armed(const struct cpu *cpu)
{
    return (cpu->dr[7] & DR7_ENABLES) != 0;
}

/* Before the instruction at CS:RIP, with RF = 0 and a breakpoint armed:
 * raise the instruction-breakpoint #DB (fault) if one matches.  Returns
 * true when a #DB was delivered (the instruction did not run). */
bool dbg_before_insn(struct cpu *cpu);

/* After one instruction retired.  'start' holds the RFLAGS TF/RF bits at its
 * start; 'movss' is true if it set the MOV SS / POP SS shadow.  Clears RF,
 * adds the single-step bit and delivers the pending trap-class #DB. */
void dbg_after_insn(struct cpu *cpu, uint64_t start, bool movss);

/* A data access by an instruction (slow path, breakpoints armed): record
 * the matching data breakpoints (R/W = 01 for writes, 11 for both). */
void dbg_data_access(struct cpu *cpu, uint64_t lin, unsigned size, bool write);

/* IN/OUT/INS/OUTS: record matching I/O breakpoints (R/W = 10, CR4.DE). */
void dbg_io_access(struct cpu *cpu, uint16_t port, unsigned size);

/* True if the linear page holds an address a data breakpoint watches: the
 * TLB must not cache it (mmu.c tlb_fill). */
bool dbg_page_watched(const struct cpu *cpu, uint64_t page);

/* ICEBP (INT1, F1): the pending breakpoint bits go into DR6 and are reported
 * by its own #DB (one delivery); call before delivering it. */
void dbg_icebp(struct cpu *cpu);

/* The DR0-DR3/DR7 values changed: drop translations cached while other
 * addresses were (not) watched. */
void dbg_regs_changed(struct cpu *cpu);

#endif
