/*
 * cpu.h — architectural state of one virtual x86-64 CPU and the small
 * inline helpers every instruction handler uses.
 *
 * The engine's rules (read these before writing a handler):
 *
 *  1. One handler signature: void op_xxx(struct cpu *cpu, const struct insn *in).
 *     Handlers are named after the SDM's operand notation (op_add_EvGv).
 *  2. While a handler runs, cpu->rip is the address of the instruction and
 *     cpu->next_rip the address after it.  Branches assign cpu->next_rip.
 *     The loop copies next_rip into rip after the handler returns.  (The
 *     decode-time specialised handlers of fastpath.h keep rip and icount
 *     lazily between themselves and write both before anything else runs.)
 *  3. Faults unwind: cpu_fault() longjmps back to the instruction loop, which
 *     delivers the exception with RIP still at the faulting instruction.
 *     Therefore a handler commits architectural state (registers, RSP, flags)
 *     only AFTER its last access that can fault.  Memory writes that can fault
 *     are done before register writes.
 *  4. Arithmetic flags are lazy (struct lazy_flags); call flags_*() to set
 *     them and cpu_get_rflags()/cpu_cond() to read them.  Never touch the
 *     arithmetic bits of cpu->rflags directly.
 *  5. A handler that changes state the decoder depends on (mode, CPL, paging,
 *     CR0/CR4/EFER, TF, IF with a shadow, segment bases in non-64-bit mode)
 *     calls cpu_end_block(cpu) so the rest of the decoded block is dropped.
 *  6. No malloc, no locks on this path.
 */
#ifndef NESTVM_CPU_CPU_H
#define NESTVM_CPU_CPU_H

#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hw/bus.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

struct cpu;
struct insn;
struct block_tail;
struct machine;
struct lapic;
struct vmx;

/* General-purpose registers in encoding order. */
enum { R_AX, R_CX, R_DX, R_BX, R_SP, R_BP, R_SI, R_DI,
       R_R8, R_R9, R_R10, R_R11, R_R12, R_R13, R_R14, R_R15 };

/* Segment registers in encoding order (SDM Vol.2 3.1.1.3 "Sreg"). */
enum { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE = 7 };

/* RFLAGS bits (SDM Vol.1 3.4.3). */
#define FL_CF (1u << 0)
#define FL_PF (1u << 2)
#define FL_AF (1u << 4)
#define FL_ZF (1u << 6)
#define FL_SF (1u << 7)
#define FL_TF (1u << 8)
#define FL_IF (1u << 9)
#define FL_DF (1u << 10)
#define FL_OF (1u << 11)
#define FL_IOPL (3u << 12)
#define FL_NT (1u << 14)
#define FL_RF (1u << 16)
#define FL_VM (1u << 17)
#define FL_AC (1u << 18)
#define FL_VIF (1u << 19)
#define FL_VIP (1u << 20)
#define FL_ID (1u << 21)
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

/* Control-register bits (SDM Vol.3 2.5). */
#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define CR4_VME (1ull << 0)
#define CR4_PVI (1ull << 1)
#define CR4_TSD (1ull << 2)
#define CR4_DE (1ull << 3)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_MCE (1ull << 6)
#define CR4_PGE (1ull << 7)
#define CR4_PCE (1ull << 8)
#define CR4_OSFXSR (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_UMIP (1ull << 11)
#define CR4_VMXE (1ull << 13)
#define CR4_FSGSBASE (1ull << 16)
#define CR4_PCIDE (1ull << 17)
#define CR4_OSXSAVE (1ull << 18)
#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define EFER_SCE (1ull << 0)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define EFER_NXE (1ull << 11)

/* Exception vectors (SDM Vol.3 6.3.1). */
enum { EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
       EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12,
       EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
       EXC_VE = 20 };
#define NO_ERR 0xffffffffu /* cpu_fault() error code for vectors without one */

/*
 * A segment register's hidden part.  'ar' is kept in the VMCS access-rights
 * format (SDM Vol.3 24.4.1, Table 24-2) so VM entry/exit copy it verbatim:
 *   bits 3:0 type, 4 S, 6:5 DPL, 7 P, 12 AVL, 13 L, 14 D/B, 15 G, 16 unusable.
 */
struct seg {
    uint64_t base;
    uint32_t limit; /* byte-granular (G already applied) */
    uint32_t ar;
    uint16_t sel;
};
#define AR_TYPE(ar) ((ar) & 0xf)
#define AR_S (1u << 4)
#define AR_DPL(ar) (((ar) >> 5) & 3)
#define AR_P (1u << 7)
#define AR_L (1u << 13)
#define AR_DB (1u << 14)
#define AR_G (1u << 15)
#define AR_UNUSABLE (1u << 16)

struct dtr {
    uint64_t base;
    uint32_t limit;
};

/*
 * Lazy arithmetic flags.  The last flag-setting ALU operation is recorded
 * (kind, operand size, operands, result) and CF/PF/AF/ZF/SF/OF computed only
 * when read.  op == LF_NONE means the arithmetic bits in cpu->rflags are
 * current.  INC/DEC keep the previous CF in 'cf'.  LF_SZP (shifts,
 * multiplies): SF/ZF/PF come from 'res', CF/OF/AF are the RFLAGS bits in 'src'.
 */
enum lf_op { LF_NONE, LF_ADD, LF_ADC, LF_SUB, LF_SBB, LF_LOGIC, LF_INC, LF_DEC, LF_SZP };
struct lazy_flags {
    uint64_t res, dst, src;
    uint8_t op;   /* enum lf_op */
    uint8_t size; /* operand size in bytes */
    uint8_t cf;   /* carry-in for ADC/SBB, saved CF for INC/DEC */
};

/* Software TLB: linear page -> host pointer, separate for read/write/exec.
 * tag = linear page address | cpu->tlb_ctx; a miss or a page that is not
 * plain RAM goes to the slow path (mem.c).  tlb_ctx bits 7:3 are a flush
 * epoch: tlb_flush_all() moves to the next one instead of clearing the
 * whole TLB, which it does only when the epoch wraps (mmu.c). */
#define TLB_BITS 10
#define TLB_SIZE (1u << TLB_BITS)
#define TLB_INVALID (~0ull)
struct tlb_entry {
    uint64_t tag;
    uintptr_t addend; /* host pointer = linear address + addend */
    uint64_t ram;     /* offset of the page in guest RAM (host-physical for
                         nested guests), for SMC tracking */
};
struct tlb {
    struct tlb_entry r[TLB_SIZE], w[TLB_SIZE], x[TLB_SIZE];
};

/* x87/SSE state in FXSAVE layout order where it matters (SDM Vol.1 10.5.1). */
typedef union {
    uint8_t b[16];
    uint16_t w[8];
    uint32_t d[4];
    uint64_t q[2];
    float f[4];
    double fd[2];
} __attribute__((aligned(16))) xmm_t;

struct fpu {
    long double st[8]; /* physical registers R0..R7 (host x87 80-bit) */
    uint16_t fcw, fsw, ftw; /* ftw: full 16-bit tag word, 2 bits per reg */
    uint16_t fop;
    uint64_t fip, fdp;
    uint16_t fcs, fds;
    uint32_t mxcsr;
    xmm_t xmm[16];
    uint64_t mm_shadow; /* unused; MMX registers alias st[] mantissas */
};

/* Pending-event bits in cpu->events (set by other threads/devices). */
#define EV_IRQ (1u << 0)   /* an interrupt controller may have something */
#define EV_NMI (1u << 1)
#define EV_INIT (1u << 2)
#define EV_SIPI (1u << 3)
#define EV_STOP (1u << 4)  /* the machine asks every vCPU to return */
#define EV_TLB (1u << 5)   /* flush the software TLB (cross-CPU code write) */
#define EV_TIMER (1u << 6) /* poll timers */
#define EV_VMX (1u << 7)   /* VMX non-root: window / timer exits to evaluate */

/* cpu_fault() vector meaning "a VM exit already switched to the VMX root
 * (L1 host) state: abandon the instruction, deliver nothing". */
#define VEC_VMEXIT (-2)

enum cpu_run_state { CPU_RUNNING, CPU_HALTED, CPU_WAIT_SIPI, CPU_SHUTDOWN };

/* Why cpu_run() returned. */
enum cpu_exit { CPU_EXIT_STOP, CPU_EXIT_SHUTDOWN, CPU_EXIT_HALT_FOREVER, CPU_EXIT_ERROR,
                CPU_EXIT_BUDGET, CPU_EXIT_EXCEPTION };

#define MAX_MSR_MTRR_VAR 8

/*
 * What the CPU asks of the machine around it (interrupt controllers, timers,
 * sleeping).  All optional; NULL hooks mean "no interrupts, HLT stops".
 */
struct cpu_hooks {
    /* Highest-priority deliverable external interrupt vector, or -1.  With
     * ack, performs the acknowledge cycle (LAPIC IRR→ISR or 8259 INTA). */
    int (*intr_vector)(struct cpu *cpu, bool ack);
    /* VMX non-root: true if an external interrupt must exit to L1 instead of
     * being acknowledged (the VMX code then performs the exit). */
    bool (*intr_exits)(struct cpu *cpu);
    /* INIT/SIPI/NMI and other controller events; may change cpu->state. */
    void (*service)(struct cpu *cpu);
    /* Timers and other polled devices; called every few hundred blocks. */
    void (*poll)(struct cpu *cpu);
    /* Sleep until cpu->events changes or the next timer deadline. */
    void (*wait)(struct cpu *cpu);
};

struct cpu {
    /* ---- hot state first ---- */
    uint64_t r[16];
    uint64_t rip, next_rip;
    uint64_t rflags; /* arithmetic bits valid only when lf.op == LF_NONE */
    struct lazy_flags lf;
    struct seg seg[6];
    uint8_t cpl;
    uint8_t code64;    /* CS.L && EFER.LMA: 64-bit mode (not compatibility) */
    uint8_t code_bits; /* 16, 32 or 64: default operand/address size of CS */
    uint8_t stack32;   /* SS.B */
    uint8_t end_block; /* set by cpu_end_block() */
    uint8_t tlb_ctx;   /* privilege context (bits 2:0) and flush epoch (7:3) in TLB tags */
    uint8_t sse_ok;    /* CR4.OSFXSR && !CR0.EM && !CR0.TS */
    uint8_t nonroot;   /* VMX non-root operation */
    _Atomic uint32_t events;
    uint64_t icount; /* instructions retired */
    /* The decoded block being run (exec.c): its first instruction, its
     * end, cpu->icount when it started and its decoding context.
     * Specialised handlers continue to the next instruction themselves
     * until blk_stop, and from a block's end to the next block up to
     * blk_chain times (fastpath.h fp_next, fp_block_next). */
    const struct insn *blk_first, *blk_end, *blk_stop;
    uint64_t blk_icount;
    uint32_t blk_key, blk_chain;
    uint16_t jit_hot; /* block starts before translation (jit.c); 0: never */
    /* Return-address stack: where each CALL returns to and the tail of its
     * block, so RET chains to the block after the CALL (fastpath.h). */
    struct cpu_ras {
        uint64_t rip;
        struct block_tail *tail;
    } ras[16];
    unsigned ras_top;
    struct cpu_ras ras_fill; /* a RET the loop is to link (tail NULL: none) */
    uint64_t halted_ns; /* time spent waiting in HLT / wait-for-SIPI (stats) */
    struct tlb tlb;

    /* ---- system state ---- */
    struct seg ldtr, tr;
    struct dtr gdtr, idtr;
    uint64_t cr0, cr2, cr3, cr4, cr8, efer, xcr0;
    uint64_t pdpte[4]; /* PAE PDPTE registers (SDM Vol.3 4.4.1) */
    uint64_t dr[8];
    uint64_t tsc_offset; /* guest TSC = host-derived TSC + tsc_offset */
    uint64_t tsc_adjust; /* IA32_TSC_ADJUST (SDM 17.17.3) */
    uint64_t star, lstar, cstar, sfmask, kernel_gs_base, tsc_aux;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t pat, apic_base, misc_enable, spec_ctrl, feature_control;
    uint64_t mtrr_def_type, mtrr_fixed[11], mtrr_var[MAX_MSR_MTRR_VAR * 2];
    uint64_t xss, debugctl;
    struct fpu fpu;

    /* ---- interrupt and run state ---- */
    enum cpu_run_state state;
    uint64_t intr_shadow_rip; /* STI / MOV SS shadow: no interrupt before this rip retires */
    uint8_t intr_shadow;
    uint8_t nmi_blocked;
    uint8_t nmi_latched;    /* a second NMI waits behind the one EV_NMI signals */
    uint64_t db_trap;       /* DR6 bits of trap-class #DBs pending for the current
                               instruction (cpu/debug.h) */
    uint8_t in_event;       /* exception nesting depth during delivery */
    uint8_t pending_vector; /* exception being delivered (for #DF rules) */
    uint32_t sipi_vector;

    /* ---- fault unwinding ---- */
    jmp_buf fault_jmp;
    int fault_vector;
    uint32_t fault_error;
    /* Tests: return CPU_EXIT_EXCEPTION instead of delivering through the IDT. */
    bool trap_exceptions;

    /* ---- world ---- */
    int index; /* vCPU number, also the APIC ID */
    struct machine *machine;
    const struct cpu_hooks *hooks;
    unsigned ncpus; /* vCPUs in the machine (CPUID topology) */
    struct bus *bus;
    struct lapic *lapic;
    struct vmx *vmx; /* NULL unless nested virtualization is enabled */
    bool vmx_allowed;

    /* decoded-block cache (exec.c) */
    struct block_cache *bcache;
    uint64_t bcache_flushes;

    /* diagnostics */
    uint64_t exits_by_vector[32];
};

/* ---------- registers ---------- */

/* 8-bit register r (0-15): without REX, 4-7 are AH, CH, DH, BH. */
static inline uint8_t reg8_get(const struct cpu *cpu, unsigned r, bool rex)
{
    if (!rex && r >= 4 && r < 8)
        return (uint8_t)(cpu->r[r - 4] >> 8);
    return (uint8_t)cpu->r[r];
}

/* Partial writes merge in a host register and store all 64 bits: a narrow
 * store would stall the next full read of the register on x86 hosts (store
 * forwarding), and the barrier keeps the compiler from making one. */
static inline void reg_merge(struct cpu *cpu, unsigned r, uint64_t keep, uint64_t bits)
{
    uint64_t x = (cpu->r[r] & keep) | bits;
    __asm__("" : "+r"(x));
    cpu->r[r] = x;
}

static inline void reg8_set(struct cpu *cpu, unsigned r, bool rex, uint8_t v)
{
    if (!rex && r >= 4 && r < 8)
        reg_merge(cpu, r - 4, ~0xff00ull, (uint64_t)v << 8);
    else
        reg_merge(cpu, r, ~0xffull, v);
}

/* size in bytes: 2, 4 or 8 (use reg8_* for bytes). */
static inline uint64_t reg_get(const struct cpu *cpu, unsigned r, unsigned size)
{
    switch (size) {
    case 2: return (uint16_t)cpu->r[r];
    case 4: return (uint32_t)cpu->r[r];
    default: return cpu->r[r];
    }
}

/* 32-bit writes zero-extend to 64 bits; 16-bit writes merge (SDM Vol.1 3.4.1.1). */
static inline void reg_set(struct cpu *cpu, unsigned r, unsigned size, uint64_t v)
{
    switch (size) {
    case 2: reg_merge(cpu, r, ~0xffffull, (uint16_t)v); break;
    case 4: cpu->r[r] = (uint32_t)v; break;
    default: cpu->r[r] = v; break;
    }
}

static inline uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static inline int64_t sign_extend(uint64_t v, unsigned size)
{
    switch (size) {
    case 1: return (int8_t)v;
    case 2: return (int16_t)v;
    case 4: return (int32_t)v;
    default: return (int64_t)v;
    }
}

static inline void cpu_end_block(struct cpu *cpu)
{
    cpu->end_block = 1;
}

/* ---------- flags (flags.c) ---------- */

uint64_t cpu_get_rflags(struct cpu *cpu);            /* materialises lazy bits */
void cpu_set_rflags(struct cpu *cpu, uint64_t value); /* raw write of all bits */
bool cpu_cond(struct cpu *cpu, unsigned cc);          /* Jcc/SETcc/CMOVcc cc 0-15 */
bool cpu_cf(struct cpu *cpu);
bool cpu_zf(struct cpu *cpu);
/* Record an ALU result for lazy evaluation. */
static inline void flags_lazy(struct cpu *cpu, enum lf_op op, unsigned size, uint64_t dst,
                              uint64_t src, uint64_t res)
{
    cpu->lf.op = (uint8_t)op;
    cpu->lf.size = (uint8_t)size;
    cpu->lf.dst = dst;
    cpu->lf.src = src;
    cpu->lf.res = res;
}
void flags_lazy_carry(struct cpu *cpu, enum lf_op op, unsigned size, uint64_t dst,
                      uint64_t src, uint64_t res, bool carry_in); /* ADC/SBB */
void flags_lazy_incdec(struct cpu *cpu, enum lf_op op, unsigned size, uint64_t dst,
                       uint64_t res); /* INC/DEC keep CF */
/* Set arithmetic flags eagerly: bits in 'mask' take the values in 'val'. */
void flags_set(struct cpu *cpu, uint64_t mask, uint64_t val);
/* Parity flag of the low byte (PF = 1 when even number of set bits). */
static inline bool parity8(uint64_t v)
{
    return !__builtin_parity((unsigned)(v & 0xff));
}
/* Eagerly set SF/ZF/PF from a result and clear or set the others as given. */
uint64_t flags_szp(uint64_t res, unsigned size);

/* ---------- faults (exec.c) ---------- */

_Noreturn void cpu_fault(struct cpu *cpu, int vector, uint32_t error);
#define cpu_ud(cpu) cpu_fault((cpu), EXC_UD, NO_ERR)
#define cpu_gp0(cpu) cpu_fault((cpu), EXC_GP, 0)

/* Report an unimplemented instruction once (bytes + address) and raise #UD. */
_Noreturn void cpu_unimplemented(struct cpu *cpu, const struct insn *in);

#endif
