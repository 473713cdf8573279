/*
 * cpu_harness.h — run short instruction sequences on a real engine CPU.
 *
 *   struct th t; th_init(&t, TH_LONG64);
 *   static const uint8_t code[] = { 0x48, 0x01, 0xd8, 0xf4 }; // add rax,rbx; hlt
 *   t.cpu.r[R_AX] = 1; t.cpu.r[R_BX] = 2;
 *   th_run(&t, code, sizeof code);
 *   CHECK_EQ(t.cpu.r[R_AX], 3);
 *
 * Memory: 16 MiB of RAM.  Code is loaded at TH_CODE, the stack pointer starts
 * at TH_STACK, TH_DATA is a free 64 KiB scratch area.  TH_LONG64 runs at CPL 0
 * in 64-bit mode with an identity map of the first 1 GiB (2 MiB pages,
 * U/S=1, R/W=1) built at TH_PT; TH_PROT32 is flat 32-bit protected mode
 * without paging; TH_REAL is real mode with CS = TH_CODE >> 4 (IP starts at
 * 0), DS = ES = FS = GS = TH_DATA >> 4 (offset 0 is TH_DATA) and
 * SS:SP = 0x7000:0xfffe.
 * th_run() stops at HLT (returns TH_HALT), at an exception (returns
 * TH_EXCEPTION with t.vector / t.error set and RIP at the faulting
 * instruction; nothing is delivered through the IDT), or after max
 * instructions (TH_BUDGET).  th_run_steps() lets a test choose the budget.
 */
#ifndef NESTVM_CPU_HARNESS_H
#define NESTVM_CPU_HARNESS_H

#include "cpu/cpu.h"
#include "cpu/exec.h"
#include "cpu/mem.h"
#include "hw/bus.h"

#define TH_CODE 0x10000ull
#define TH_DATA 0x20000ull
#define TH_STACK 0x80000ull
#define TH_PT 0x100000ull

enum th_mode { TH_REAL, TH_PROT32, TH_LONG64 };
enum th_result { TH_HALT, TH_EXCEPTION, TH_BUDGET };

struct th {
    struct bus bus;
    struct cpu cpu;
    int vector;
    uint32_t error;
    enum th_mode mode;
};

void th_init(struct th *t, enum th_mode mode);
void th_destroy(struct th *t);
enum th_result th_run(struct th *t, const void *code, size_t n);
enum th_result th_run_steps(struct th *t, const void *code, size_t n, uint64_t max);
/* Guest-physical RAM access for setting up and checking data. */
void *th_mem(struct th *t, uint64_t gpa);

#endif
