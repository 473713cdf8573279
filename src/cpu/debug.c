/*
 * debug.c — breakpoints, single-step and DR6 reporting (SDM Vol.3 chapter 17;
 * the overview is in debug.h).
 *
 * DR7 (17.2.4): L/G enable pairs in bits 0-7; for breakpoint n, R/W in bits
 * 16+4n (00 execute, 01 write, 10 I/O with CR4.DE, 11 read or write) and LEN
 * in bits 18+4n (00 1 byte, 01 2, 10 8, 11 4).  A data breakpoint watches
 * the LEN-aligned range that holds DRn; an instruction breakpoint matches
 * the linear address of an instruction's first byte (17.2.5).
 *
 * DR6 (17.2.3): B0-B3 are rewritten with the breakpoints that matched on
 * every #DB the engine reports; BD, BS (and BT) are set by their condition
 * and never cleared by the processor.
 *
 * Timing rules (17.3.1, 6.8.3):
 *  - an instruction breakpoint is a fault taken before the instruction,
 *    unless RFLAGS.RF = 1 or the instruction follows a MOV SS / POP SS (as
 *    Intel processors do); RF is cleared when the next instruction retires;
 *    the image pushed for this #DB keeps RF = 0 (the handler sets it);
 *  - single-step traps after an instruction that started with TF = 1, but
 *    not after INT n / INT3 / INTO / INT1 (the handler is entered with TF
 *    clear, intr.c) and not after MOV SS / POP SS;
 *  - data and I/O breakpoints trap after the instruction; those of a MOV SS
 *    / POP SS wait until the instruction after it retired (ICEBP reports
 *    them with its own #DB);
 *  - HLT with TF = 1 takes the single-step trap at once (the #DB ends the
 *    halt, with the return address after the HLT).
 */
#include "cpu/debug.h"

#include "cpu/exec.h"
#include "cpu/mem.h"
#include "vmx/vmx_hooks.h"

enum { BP_EXEC = 0, BP_WRITE = 1, BP_IO = 2, BP_RW = 3 };

static inline bool bp_enabled(const struct cpu *cpu, unsigned n)
{
    return (cpu->dr[7] >> (2 * n)) & 3;
}

static inline unsigned bp_type(const struct cpu *cpu, unsigned n)
{
    return (unsigned)(cpu->dr[7] >> (16 + 4 * n)) & 3;
}

static inline uint64_t bp_len(const struct cpu *cpu, unsigned n)
{
    static const uint8_t len[4] = { 1, 2, 8, 4 };
    return len[(cpu->dr[7] >> (18 + 4 * n)) & 3];
}

/* Linear addresses are 32 bits wide outside 64-bit mode. */
static inline uint64_t lin_mask(const struct cpu *cpu)
{
    return cpu->code64 ? ~0ull : 0xffffffffull;
}

/* The LEN-aligned first byte a breakpoint watches. */
static inline uint64_t bp_base(const struct cpu *cpu, unsigned n)
{
    return cpu->dr[n] & lin_mask(cpu) & ~(bp_len(cpu, n) - 1);
}

static void deliver_db(struct cpu *cpu, uint64_t bits)
{
    if (unlikely(cpu->nonroot))
        bits = vmx_debug_exception(cpu, bits); /* may VM-exit (DR6 untouched) or add
                                                  debug exceptions VM entry left pending */
    cpu->dr[6] = (cpu->dr[6] & ~DR6_B0_B3) | bits;
    cpu->next_rip = cpu->rip;
    cpu_deliver(cpu, EXC_DB, EV_KIND_EXC, NO_ERR);
}

bool dbg_before_insn(struct cpu *cpu)
{
    /* RF, and MOV SS / POP SS blocking on Intel, inhibit instruction
     * breakpoints on this instruction (17.3.1.1, 6.8.3). */
    if (dbg_armed(cpu) && !(cpu->rflags & FL_RF) && !(cpu->intr_shadow & 2)) {
        uint64_t lin = cpu->code64 ? cpu->rip : (uint32_t)(cpu->seg[SEG_CS].base + cpu->rip);
        uint64_t hits = 0;
        for (unsigned n = 0; n < 4; n++)
            if (bp_enabled(cpu, n) && bp_type(cpu, n) == BP_EXEC &&
                (cpu->dr[n] & lin_mask(cpu)) == lin)
                hits |= 1ull << n;
        if (hits) {
            cpu->db_trap = 0;
            deliver_db(cpu, hits); /* a fault: RIP stays at the instruction */
            return true;
        }
    }
    if (cpu->rflags & FL_TF)
        cpu->db_trap |= DR6_BS;
    return false;
}

void dbg_after_insn(struct cpu *cpu, uint64_t start, bool movss)
{
    if (start & FL_RF)
        cpu->rflags &= ~(uint64_t)FL_RF;
    if (movss) {
        /* single-step is suppressed, breakpoint traps wait one instruction */
        cpu->db_trap &= ~DR6_BS;
        return;
    }
    uint64_t bits = cpu->db_trap;
    if (!bits)
        return;
    cpu->db_trap = 0;
    if (cpu->state == CPU_WAIT_SIPI || cpu->state == CPU_SHUTDOWN)
        return;
    deliver_db(cpu, bits);
}

void dbg_data_access(struct cpu *cpu, uint64_t lin, unsigned size, bool write)
{
    uint64_t hits = 0;
    lin &= lin_mask(cpu);
    for (unsigned n = 0; n < 4; n++) {
        unsigned t = bp_type(cpu, n);
        if (!bp_enabled(cpu, n) || !(t == BP_RW || (t == BP_WRITE && write)))
            continue;
        uint64_t base = bp_base(cpu, n);
        if (lin < base + bp_len(cpu, n) && base < lin + size)
            hits |= 1ull << n;
    }
    if (hits) {
        cpu->db_trap |= hits;
        cpu_end_block(cpu);
    }
}

void dbg_io_access(struct cpu *cpu, uint16_t port, unsigned size)
{
    if (!(cpu->cr4 & CR4_DE))
        return; /* R/W = 10 is undefined without debug extensions */
    uint64_t hits = 0;
    for (unsigned n = 0; n < 4; n++) {
        if (!bp_enabled(cpu, n) || bp_type(cpu, n) != BP_IO)
            continue;
        uint64_t base = (cpu->dr[n] & 0xffff) & ~(bp_len(cpu, n) - 1);
        if (port < base + bp_len(cpu, n) && base < (uint64_t)port + size)
            hits |= 1ull << n;
    }
    if (hits) {
        cpu->db_trap |= hits;
        cpu_end_block(cpu);
    }
}

bool dbg_page_watched(const struct cpu *cpu, uint64_t page)
{
    for (unsigned n = 0; n < 4; n++) {
        unsigned t = bp_type(cpu, n);
        if (!bp_enabled(cpu, n) || (t != BP_WRITE && t != BP_RW))
            continue;
        uint64_t base = bp_base(cpu, n), last = base + bp_len(cpu, n) - 1;
        if ((base & ~0xfffull) == page || (last & ~0xfffull) == page)
            return true;
    }
    return false;
}

void dbg_icebp(struct cpu *cpu)
{
    uint64_t bits = cpu->db_trap & DR6_B0_B3;
    cpu->db_trap = 0;
    if (bits)
        cpu->dr[6] = (cpu->dr[6] & ~DR6_B0_B3) | bits;
}

void dbg_regs_changed(struct cpu *cpu)
{
    tlb_flush_all(cpu);
    cpu_end_block(cpu);
}
