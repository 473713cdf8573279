/*
 * fastpath.h — decode-time specialisation of the hottest instruction forms.
 *
 * A row's generic handler serves every operand form: it tests ModRM.mod,
 * the operand size, the mode and the segment on each execution.  When a
 * block is decoded, exec.c asks insn_specialise() (fastpath.c) whether the
 * row has a variant compiled for the form this instruction actually has,
 * and stores that in insn->fn instead.  The variants are listed next to
 * their generic handler, in the family's source file, as a small table of
 * struct op_special; the opcode table itself stays the single source of
 * truth (mnemonic, flags, exit class) and is not duplicated.
 *
 * The forms:
 *   reg[0]/reg[1]  ModRM.mod == 3, operand size 8 / 4
 *   mem[0]/mem[1]  a memory operand in 64-bit mode with 64-bit addressing
 *                  and no LOCK prefix ("flat": only FS/GS have a base)
 *   pick()         a row-specific choice (Jcc by condition, PUSH/POP in
 *                  64-bit mode, ...)
 * A variant is semantically identical to the generic handler for that
 * form.  Memory variants only take the software-TLB hit path; on a miss
 * (or anything unusual: page crossing, MMIO, #AC checking, SMC-protected
 * code pages) they call the generic handler before changing any state, so
 * faults, SMC detection and MMIO stay in one place.
 *
 * Specialisation happens only when insn->fn is still the row's handler,
 * i.e. not replaced by the VMX non-root exit gate or the CPL check (rules
 * in exec.c finish_insn), and never for LOCKed instructions.
 */
#ifndef NESTVM_CPU_FASTPATH_H
#define NESTVM_CPU_FASTPATH_H

#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/lazy_flags.h"
#include "cpu/mem.h"

struct op_special {
    op_fn *generic;
    op_fn *reg[2]; /* register operand: [0] operand size 8, [1] operand size 4 */
    op_fn *mem[2]; /* flat 64-bit memory operand: same sizes */
    /* A row-specific choice among the slots (or any handler), or NULL. */
    op_fn *(*pick)(const struct op_special *s, const struct cpu *cpu, const struct insn *in);
    unsigned flags;
};
/* flags */
#define SP_ANYSZ 1u /* byte rows and size-independent forms: [0] serves every operand size */
#define SP_RM8 2u   /* the register-form ModRM.rm operand is a byte register */
#define SP_REG8 4u  /* ModRM.reg names a byte register */

/* The tables, one per family source file, each ended by an all-zero entry. */
extern const struct op_special ops_alu_special[];
extern const struct op_special ops_data_special[];
extern const struct op_special ops_shift_special[];
extern const struct op_special ops_muldiv_special[];
extern const struct op_special ops_branch_special[];
extern const struct op_special ops_stack_special[];

/* The variant of in's row for this instruction's form, or NULL. */
op_fn *insn_specialise(const struct cpu *cpu, const struct insn *in);

/* A handler doing the ALU instruction 'alu' and the Jcc 'jcc' right after
 * it (ops_alu.c), or NULL when the pair is not one of the fused forms. */
op_fn *ops_alu_fuse_jcc(const struct insn *alu, const struct insn *jcc);

/* Pickers for rows without ModRM: by operand size (reg[0] for 8, reg[1]
 * for 4; operand size 8 implies 64-bit mode), and "reg[0] in 64-bit mode". */
op_fn *sp_pick_osz(const struct op_special *s, const struct cpu *cpu, const struct insn *in);
op_fn *sp_pick_code64(const struct op_special *s, const struct cpu *cpu, const struct insn *in);

/* ---- block chaining (exec.c) ---- */

/* A block started cpu->jit_hot times: the translation tier (jit.c) takes it. */
void exec_jit_hot(struct cpu *cpu, const struct insn *in, unsigned n, uint32_t generic);

/*
 * The pool entries right after a block's instructions hold the last two
 * blocks that followed it in 64-bit code (its "tail").  When a block
 * completes, the successor is taken from those links instead of the cache
 * lookup; a link is taken only if RIP, the decoding context, the fetch TLB's
 * mapping of RIP's page and that page's generation (self-modifying code,
 * DMA) all still match, so it names exactly what the lookup would find.
 * Links live in the pool, so a flush (which reuses the pool) drops them with
 * the blocks.
 *
 * 'chain' is set when the block is 64-bit code whose last instruction is
 * not a branch or is a near branch (Jcc, JMP, CALL, RET, LOOP, JCXZ): then a
 * run of it to its end (no cpu_end_block()) leaves everything the loop
 * checks between blocks as it was (mode, CPL, TF/RF, breakpoints, interrupt
 * shadow, VMX non-root: rule 5 of cpu.h), and the next block can follow
 * without those checks, even from inside the branch handler
 * (fp_block_next).  Far transfers, IRET, INT and the like end chains.
 */
struct block_link {
    uint64_t rip;                /* linear RIP of the successor; ~0: none */
    const struct insn *ins;      /* its instructions in the pool */
    const struct tlb_entry *tlb; /* the fetch TLB entry of RIP's page */
    uint32_t page;               /* its RAM page */
    uint32_t gen;                /* that page's generation when it was decoded */
    uint32_t generic;            /* its block_tail.generic */
    uint16_t key;                /* decoding context */
    uint8_t n;
};
struct block_tail {
    uint32_t generic; /* bit i: instruction i runs a generic handler (not a variant) */
    uint8_t chain;    /* the block may be followed without checks (above) */
    uint16_t runs;    /* starts counted towards translation (cpu->jit_hot) */
    struct block_link link[2];
    struct block_link ret; /* a CALL block: the block its callee returns to */
};

static inline struct block_tail *block_tail_of(const struct insn *in, unsigned n)
{
    return (struct block_tail *)(void *)(in + n);
}

/* Link l if it names the block at 'rip' and is still exact. */
static inline __attribute__((always_inline)) bool block_link_ok(const struct cpu *cpu,
                                                               const struct block_link *l,
                                                               uint64_t rip, uint32_t key)
{
    const struct tlb_entry *e = l->tlb;
    if (l->rip != rip)
        return false;
    if (unlikely(e->tag != ((rip & ~0xfffull) | cpu->tlb_ctx) || (e->ram >> 12) != l->page ||
                 l->key != key))
        return false;
    return atomic_load_explicit(&cpu->bus->page_gen[l->page], memory_order_acquire) == l->gen;
}

/* blk_stop of a run of the linked block from its start: its first
 * instruction with a generic handler after the first, or its end. */
static inline const struct insn *block_link_stop(const struct block_link *l)
{
    uint32_t g = l->generic & ~1u;
    return g ? l->ins + __builtin_ctz(g) : l->ins + l->n;
}

/* The link of tail t to the block at 'rip' if it is still exact, or NULL. */
static inline __attribute__((always_inline)) const struct block_link *
block_link_find(const struct cpu *cpu, const struct block_tail *t, uint64_t rip, uint32_t key)
{
    const struct block_link *l = &t->link[0];
    if (l->rip != rip)
        l = &t->link[1];
    return block_link_ok(cpu, l, rip, key) ? l : NULL;
}

/*
 * While specialised handlers run one after another, only cpu->next_rip is
 * kept up to date; cpu->rip and cpu->icount of the instruction 'in' running
 * are derived when something else may look at them: before a generic
 * handler runs (fp_generic), before a fault, and when control returns to
 * the loop (which retires 'in', finding it from cpu->icount).  Generic
 * handlers are never reached that way: a run of variants stops before the
 * next instruction that has none (cpu->blk_stop, from block_tail.generic),
 * and the loop or fp_block_next starts it with both values current.
 */
static inline __attribute__((always_inline)) uint64_t fp_icount(const struct cpu *cpu,
                                                               const struct insn *in)
{
    return cpu->blk_icount + (uint64_t)(in - cpu->blk_first);
}

/* cpu->rip and cpu->icount for 'in', whose next_rip is still rip + len. */
static inline __attribute__((always_inline)) void fp_sync(struct cpu *cpu, const struct insn *in)
{
    cpu->rip = cpu->next_rip - in->len;
    cpu->icount = fp_icount(cpu, in);
}

/*
 * At the end of a block, from the handler of its last instruction (next_rip
 * set): start the linked successor directly while the loop allows it
 * (cpu->blk_chain blocks more) and nothing needs the loop (events, run
 * state); otherwise return, and the loop in exec.c takes over at
 * cpu->blk_end.
 */
static inline __attribute__((always_inline)) bool fp_block_may_chain(const struct cpu *cpu)
{
    const struct block_tail *t = (const struct block_tail *)(const void *)cpu->blk_end;
    return cpu->blk_chain && t->chain &&
           !unlikely(atomic_load_explicit(&cpu->events, memory_order_relaxed) ||
                     cpu->state != CPU_RUNNING);
}

/* Start the block link l names (exact, chaining allowed), 'in' retired. */
static inline __attribute__((always_inline)) void fp_block_go(struct cpu *cpu,
                                                             const struct insn *in,
                                                             const struct block_link *l)
{
    uint64_t rip = l->rip;
    const struct insn *nx = l->ins;
    cpu->blk_chain--;
    cpu->rip = rip;
    cpu->icount = fp_icount(cpu, in) + 1; /* 'in' retired */
    cpu->blk_first = nx;
    cpu->blk_icount = cpu->icount;
    cpu->blk_end = nx + l->n;
    cpu->blk_stop = block_link_stop(l);
    cpu->next_rip = rip + nx->len;
    struct block_tail *bt = block_tail_of((struct insn *)(uintptr_t)nx, l->n);
    if (unlikely(++bt->runs == cpu->jit_hot))
        exec_jit_hot(cpu, nx, l->n, bt->generic);
    nx->fn(cpu, nx);
}

/* The link to the block at next_rip if the run may go on there, else NULL
 * with 'in' handed to the loop (which retires it). */
static inline __attribute__((always_inline)) const struct block_link *
fp_block_link(struct cpu *cpu, const struct insn *in)
{
    const struct block_link *l;
    if (!fp_block_may_chain(cpu) ||
        !(l = block_link_find(cpu, (const struct block_tail *)(const void *)cpu->blk_end,
                              cpu->next_rip, cpu->blk_key))) {
        cpu->icount = fp_icount(cpu, in);
        return NULL;
    }
    return l;
}

static inline __attribute__((always_inline)) void fp_block_next(struct cpu *cpu,
                                                               const struct insn *in)
{
    const struct block_link *l = fp_block_link(cpu, in);
    if (l)
        fp_block_go(cpu, in, l);
}

/* CALL (next_rip = the target, 'ret' the return address): remember where it
 * returns to and, when its block has one, the tail of its block. */
static inline __attribute__((always_inline)) void fp_ras_push(struct cpu *cpu, uint64_t ret)
{
    struct cpu_ras *e = &cpu->ras[++cpu->ras_top & 15];
    e->rip = ret;
    e->tail = cpu->blk_chain ? (struct block_tail *)(void *)cpu->blk_end : NULL;
}

/*
 * RET (next_rip = the return address): the block after the matching CALL,
 * else as any branch.  A match without a valid link asks the loop to record
 * one (cpu->ras_fill).  The stack is only a hint: CALLs and RETs that run
 * generic handlers are not recorded, so a RET also accepts the entry below
 * the top (one CALL's RET was missed) and leaves the stack alone when
 * neither matches (a CALL was missed).
 */
static inline __attribute__((always_inline)) void fp_ret_next(struct cpu *cpu,
                                                             const struct insn *in)
{
    uint64_t rip = cpu->next_rip;
    unsigned top = cpu->ras_top;
    const struct cpu_ras *e = &cpu->ras[top & 15];
    if (likely(e->rip == rip)) {
        cpu->ras_top = top - 1;
    } else if (cpu->ras[(top - 1) & 15].rip == rip) {
        e = &cpu->ras[(top - 1) & 15];
        cpu->ras_top = top - 2;
    } else {
        e = NULL;
    }
    if (e && e->tail) {
        if (fp_block_may_chain(cpu) && block_link_ok(cpu, &e->tail->ret, rip, cpu->blk_key)) {
            fp_block_go(cpu, in, &e->tail->ret);
            return;
        }
        cpu->ras_fill = *e;
    }
    fp_block_next(cpu, in);
}

/* Where a run of variants starting at 'in' must stop: the next instruction
 * of the block with a generic handler, or the block's end.  Blocks of one
 * instruction (including partial runs, exec.c) have no tail to look at. */
static inline const struct insn *fp_block_stop(const struct cpu *cpu, const struct insn *in)
{
    const struct insn *end = cpu->blk_end;
    if (in + 1 >= end)
        return end;
    unsigned k = (unsigned)(in - cpu->blk_first);
    uint32_t g = ((const struct block_tail *)(const void *)end)->generic >> (k + 1);
    return g ? in + 1 + __builtin_ctz(g) : end;
}

/* ---- helpers for the variants ---- */

/*
 * Threaded dispatch: after its work, a variant moves on to the next
 * instruction of the block itself (a tail call), so each variant has its own
 * indirect branch for the host's predictor to learn.  At the block's end it
 * returns to the loop in exec.c (branches first try fp_block_next), which
 * retires the last instruction.  A variant's fast path never calls
 * cpu_end_block(); a variant that falls back to the generic handler returns
 * to the loop right after it (a tail call too), and the loop goes on as for
 * any generic handler.
 */
static inline __attribute__((always_inline)) void fp_next(struct cpu *cpu, const struct insn *in)
{
    const struct insn *nx = in + 1;
    if (unlikely(nx == cpu->blk_stop)) {
        cpu->icount = fp_icount(cpu, in);
        return;
    }
    cpu->next_rip += nx->len;
    nx->fn(cpu, nx);
}

/* The row's generic handler: what a variant falls back to (false: do not
 * continue to the next instruction).  A variant is only installed while
 * insn->fn would otherwise be the row's handler. */
static inline __attribute__((always_inline)) bool fp_generic(struct cpu *cpu,
                                                            const struct insn *in)
{
    fp_sync(cpu, in);
    op_rows[in->row].fn(cpu, in);
    return false;
}

/* A variant that continues to the next instruction:
 *     FP_H(name) { ...; return true; }   (or return fp_generic(cpu, in))
 * and one that ends its block (branches): FP_LAST(name) { ... } */
#define FP_H(name)                                                                      \
    static inline __attribute__((always_inline)) bool name##_op(struct cpu *cpu,        \
                                                                const struct insn *in); \
    static void name(struct cpu *cpu, const struct insn *in)                            \
    {                                                                                   \
        if (name##_op(cpu, in))                                                         \
            fp_next(cpu, in);                                                           \
    }                                                                                   \
    static inline __attribute__((always_inline)) bool name##_op(struct cpu *cpu,        \
                                                                const struct insn *in)
#define FP_LAST(name) static void name(struct cpu *cpu, const struct insn *in)

/* Effective address with 64-bit addressing (asz == 8 is guaranteed). */
static inline __attribute__((always_inline)) uint64_t fp_ea(const struct cpu *cpu,
                                                           const struct insn *in)
{
    uint64_t a = (uint64_t)(int64_t)in->disp;
    if (likely(in->base < 16))
        a += cpu->r[in->base];
    else if (in->base == EA_RIP)
        a += cpu->next_rip;
    if (in->index != EA_NONE)
        a += cpu->r[in->index] << in->scale;
    return a;
}

/* Host pointer of the memory operand if the TLB maps it (64-bit mode: only
 * FS and GS add a base, SDM Vol.1 3.3.7.1), else NULL.  A non-canonical
 * address never hits, so the generic path raises #GP/#SS for it. */
static inline __attribute__((always_inline)) void *fp_host(struct cpu *cpu, const struct insn *in,
                                                          unsigned size, bool write)
{
    uint64_t lin = fp_ea(cpu, in);
    if (unlikely(in->seg >= SEG_FS))
        lin += cpu->seg[in->seg].base;
    return tlb_hit(write ? cpu->tlb.w : cpu->tlb.r, lin, size, cpu->tlb_ctx);
}

/* The stack slot at RSP + delta in 64-bit mode, if the TLB maps it. */
static inline __attribute__((always_inline)) void *fp_stack(struct cpu *cpu, uint64_t rsp,
                                                           unsigned size, bool write)
{
    return tlb_hit(write ? cpu->tlb.w : cpu->tlb.r, rsp, size, cpu->tlb_ctx);
}

static inline __attribute__((always_inline)) uint64_t fp_load(const void *p, unsigned size)
{
    uint64_t v = 0;
    memcpy(&v, p, size);
    return v;
}

static inline __attribute__((always_inline)) void fp_store(void *p, unsigned size, uint64_t v)
{
    memcpy(p, &v, size);
}

/* Register operands of a variant: size 1 means the low byte (the picker
 * has excluded AH..BH), 4 zero-extends, 2 merges. */
static inline __attribute__((always_inline)) uint64_t fp_reg(const struct cpu *cpu, unsigned r,
                                                            unsigned size)
{
    return cpu->r[r] & size_mask(size);
}

static inline __attribute__((always_inline)) void fp_set_reg(struct cpu *cpu, unsigned r,
                                                            unsigned size, uint64_t v)
{
    if (size == 1)
        reg_merge(cpu, r, ~0xffull, v & 0xff); /* cpu.h: no narrow store */
    else
        reg_set(cpu, r, size, v);
}

/* A 64-bit mode near branch target must be canonical (SDM Vol.1 3.3.7.1). */
static inline bool fp_canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* Near branch of 'in' in 64-bit mode: #GP(0) on the branch itself for a
 * non-canonical target, before anything is committed. */
static inline __attribute__((always_inline)) void fp_jump64(struct cpu *cpu,
                                                           const struct insn *in,
                                                           uint64_t target)
{
    if (unlikely(!fp_canonical(target))) {
        fp_sync(cpu, in); /* the fault reports this instruction */
        cpu_gp0(cpu);
    }
    cpu->next_rip = target;
}

#endif
