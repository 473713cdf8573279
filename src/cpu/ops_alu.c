/*
 * ops_alu.c — two-operand ALU instructions (ADD OR ADC SBB AND SUB XOR CMP),
 * TEST, NOT, NEG, INC and DEC in all their operand forms.
 *
 * Every form funnels into one of two inline helpers:
 *   alu_rm()  — the r/m operand is the destination (read-modify-write with
 *               LOCK support: rmw_begin, then rmw_commit or an rmw_cas loop);
 *   alu_reg() — a register (ModRM.reg or the accumulator) is the destination.
 * The operation kind is a compile-time constant in each handler, so the
 * switches in alu_calc()/alu_flags() fold away.
 *
 * Flags (SDM Vol.1 Appendix A, Table A-2): ADD/ADC/SUB/SBB/CMP/NEG set all
 * six arithmetic flags; AND/OR/XOR/TEST clear CF and OF and set SF/ZF/PF,
 * AF is undefined (we clear it, as the lazy LF_LOGIC evaluation does);
 * INC/DEC set all but CF, which they preserve; NOT changes no flag.
 * CMP and TEST never write their destination, so a read-only memory
 * operand does not fault on them.
 */
#include "cpu/fastpath.h"
#include "cpu/mem.h"
#include "cpu/ops_flow.h"
#include "cpu/ops_int.h"

enum alu_kind {
    ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP,
    ALU_TEST, ALU_NOT, ALU_NEG, ALU_INC, ALU_DEC
};

static inline bool alu_writes(unsigned k)
{
    return k != ALU_CMP && k != ALU_TEST;
}

static inline bool alu_uses_cf(unsigned k)
{
    return k == ALU_ADC || k == ALU_SBB;
}

/* The result, not yet masked to the operand size. */
static inline uint64_t alu_calc(unsigned k, uint64_t d, uint64_t s, bool cf)
{
    switch (k) {
    case ALU_ADD: return d + s;
    case ALU_OR: return d | s;
    case ALU_ADC: return d + s + cf;
    case ALU_SBB: return d - s - cf;
    case ALU_AND:
    case ALU_TEST: return d & s;
    case ALU_SUB:
    case ALU_CMP: return d - s;
    case ALU_XOR: return d ^ s;
    case ALU_NOT: return ~d;
    case ALU_NEG: return 0 - d;
    case ALU_INC: return d + 1;
    default: return d - 1; /* ALU_DEC */
    }
}

static inline void alu_flags(struct cpu *cpu, unsigned k, unsigned size, uint64_t d, uint64_t s,
                             uint64_t r, bool cf)
{
    switch (k) {
    case ALU_ADD: flags_lazy(cpu, LF_ADD, size, d, s, r); break;
    case ALU_ADC: flags_lazy_carry(cpu, LF_ADC, size, d, s, r, cf); break;
    case ALU_SBB: flags_lazy_carry(cpu, LF_SBB, size, d, s, r, cf); break;
    case ALU_SUB:
    case ALU_CMP: flags_lazy(cpu, LF_SUB, size, d, s, r); break;
    case ALU_NEG: flags_lazy(cpu, LF_SUB, size, 0, d, r); break; /* 0 - d: CF = (d != 0) */
    case ALU_INC: flags_lazy_incdec(cpu, LF_INC, size, d, r); break;
    case ALU_DEC: flags_lazy_incdec(cpu, LF_DEC, size, d, r); break;
    case ALU_NOT: break;
    default: flags_lazy(cpu, LF_LOGIC, size, d, s, r); break;
    }
}

/* Destination is the ModRM r/m operand; 's' is the source (unmasked). */
static inline void alu_rm(struct cpu *cpu, const struct insn *in, unsigned k, unsigned size,
                          uint64_t s)
{
    uint64_t mask = size_mask(size);
    s &= mask;
    if (!alu_writes(k)) {
        uint64_t d = op_read_rm(cpu, in, size);
        alu_flags(cpu, k, size, d, s, alu_calc(k, d, s, false) & mask, false);
        return;
    }
    int_lock_check(cpu, in);
    bool cf = alu_uses_cf(k) && cpu_cf(cpu);
    struct rmw m;
    uint64_t d = int_rmw_begin(cpu, in, size, &m);
    uint64_t r = alu_calc(k, d, s, cf) & mask;
    if (unlikely(in->lock)) {
        while (!rmw_cas(cpu, &m, &d, r))
            r = alu_calc(k, d, s, cf) & mask;
    } else {
        int_rmw_commit(cpu, &m, r);
    }
    alu_flags(cpu, k, size, d, s, r, cf);
}

/* Destination is register 'reg' (8-bit numbering per 'rex' when size 1). */
static inline void alu_reg(struct cpu *cpu, unsigned k, unsigned size, unsigned reg, bool rex,
                           uint64_t s)
{
    uint64_t mask = size_mask(size);
    s &= mask;
    uint64_t d = size == 1 ? reg8_get(cpu, reg, rex) : reg_get(cpu, reg, size);
    bool cf = alu_uses_cf(k) && cpu_cf(cpu);
    uint64_t r = alu_calc(k, d, s, cf) & mask;
    if (alu_writes(k)) {
        if (size == 1)
            reg8_set(cpu, reg, rex, (uint8_t)r);
        else
            reg_set(cpu, reg, size, r);
    }
    alu_flags(cpu, k, size, d, s, r, cf);
}

#define H(name) void name(struct cpu *cpu, const struct insn *in)

/* The nine operand forms of one of the eight classic ALU operations
 * (opcodes 00-3D and group 1, SDM Vol.2 Table ). */
#define ALU_FORMS(name, K)                                                           \
    H(op_##name##_EbGb) { alu_rm(cpu, in, K, 1, op_read_reg(cpu, in, 1)); }          \
    H(op_##name##_EvGv) { alu_rm(cpu, in, K, in->osz, op_read_reg(cpu, in, in->osz)); } \
    H(op_##name##_GbEb) { alu_reg(cpu, K, 1, in->reg, in->rex, op_read_rm(cpu, in, 1)); } \
    H(op_##name##_GvEv)                                                              \
    {                                                                                \
        alu_reg(cpu, K, in->osz, in->reg, false, op_read_rm(cpu, in, in->osz));      \
    }                                                                                \
    H(op_##name##_ALIb) { alu_reg(cpu, K, 1, R_AX, false, in->imm); }                \
    H(op_##name##_rAXIz) { alu_reg(cpu, K, in->osz, R_AX, false, in->imm); }         \
    H(op_##name##_EbIb) { alu_rm(cpu, in, K, 1, in->imm); }                          \
    H(op_##name##_EvIz) { alu_rm(cpu, in, K, in->osz, in->imm); }                    \
    H(op_##name##_EvIb) { alu_rm(cpu, in, K, in->osz, in->imm); }

ALU_FORMS(add, ALU_ADD)
ALU_FORMS(or, ALU_OR)
ALU_FORMS(adc, ALU_ADC)
ALU_FORMS(sbb, ALU_SBB)
ALU_FORMS(and, ALU_AND)
ALU_FORMS(sub, ALU_SUB)
ALU_FORMS(xor, ALU_XOR)
ALU_FORMS(cmp, ALU_CMP)

/* TEST: 84, 85, A8, A9, F6 /0 /1, F7 /0 /1 */
H(op_test_EbGb) { alu_rm(cpu, in, ALU_TEST, 1, op_read_reg(cpu, in, 1)); }
H(op_test_EvGv) { alu_rm(cpu, in, ALU_TEST, in->osz, op_read_reg(cpu, in, in->osz)); }
H(op_test_ALIb) { alu_reg(cpu, ALU_TEST, 1, R_AX, false, in->imm); }
H(op_test_rAXIz) { alu_reg(cpu, ALU_TEST, in->osz, R_AX, false, in->imm); }
H(op_test_EbIb) { alu_rm(cpu, in, ALU_TEST, 1, in->imm); }
H(op_test_EvIz) { alu_rm(cpu, in, ALU_TEST, in->osz, in->imm); }

/* Group 3 NOT/NEG, group 4/5 INC/DEC */
H(op_not_Eb) { alu_rm(cpu, in, ALU_NOT, 1, 0); }
H(op_not_Ev) { alu_rm(cpu, in, ALU_NOT, in->osz, 0); }
H(op_neg_Eb) { alu_rm(cpu, in, ALU_NEG, 1, 0); }
H(op_neg_Ev) { alu_rm(cpu, in, ALU_NEG, in->osz, 0); }
H(op_inc_Eb) { alu_rm(cpu, in, ALU_INC, 1, 0); }
H(op_inc_Ev) { alu_rm(cpu, in, ALU_INC, in->osz, 0); }
H(op_dec_Eb) { alu_rm(cpu, in, ALU_DEC, 1, 0); }
H(op_dec_Ev) { alu_rm(cpu, in, ALU_DEC, in->osz, 0); }

/* 40+r / 48+r (outside 64-bit mode only; the register is in in->rm) */
H(op_inc_Zv) { alu_reg(cpu, ALU_INC, in->osz, in->rm & 7, false, 0); }
H(op_dec_Zv) { alu_reg(cpu, ALU_DEC, in->osz, in->rm & 7, false, 0); }

/* ---- specialised forms (fastpath.h) ----
 * The same alu_calc()/alu_flags() with the operand size and the operand
 * kind fixed at decode time: a register, or a flat 64-bit memory operand
 * the TLB maps (else the generic handler runs). */

/* Destination is r/m. */
static inline __attribute__((always_inline)) bool alu_fast_rm(struct cpu *cpu,
                                                             const struct insn *in, unsigned k,
                                                             unsigned size, bool mem, uint64_t s)
{
    uint64_t mask = size_mask(size), d;
    void *p = NULL;
    s &= mask;
    if (mem) {
        p = fp_host(cpu, in, size, alu_writes(k));
        if (unlikely(!p))
            return fp_generic(cpu, in);
        d = fp_load(p, size);
    } else {
        d = fp_reg(cpu, in->rm, size);
    }
    bool cf = alu_uses_cf(k) && cpu_cf(cpu);
    uint64_t r = alu_calc(k, d, s, cf) & mask;
    if (alu_writes(k)) {
        if (mem)
            fp_store(p, size, r);
        else
            fp_set_reg(cpu, in->rm, size, r);
    }
    alu_flags(cpu, k, size, d, s, r, cf);
    return true;
}

/* Destination is ModRM.reg, the source r/m. */
static inline __attribute__((always_inline)) bool alu_fast_reg(struct cpu *cpu,
                                                              const struct insn *in, unsigned k,
                                                              unsigned size, bool mem)
{
    uint64_t mask = size_mask(size), s;
    if (mem) {
        void *p = fp_host(cpu, in, size, false);
        if (unlikely(!p))
            return fp_generic(cpu, in);
        s = fp_load(p, size);
    } else {
        s = fp_reg(cpu, in->rm, size);
    }
    alu_reg(cpu, k, size, in->reg, true, s & mask);
    return true;
}

#define ALU_FAST_RM(name, K)                                                        \
    FP_H(name##_EvGv_r64) { return alu_fast_rm(cpu, in, K, 8, false, cpu->r[in->reg]); } \
    FP_H(name##_EvGv_r32) { return alu_fast_rm(cpu, in, K, 4, false, cpu->r[in->reg]); } \
    FP_H(name##_EvGv_m64) { return alu_fast_rm(cpu, in, K, 8, true, cpu->r[in->reg]); }  \
    FP_H(name##_EvGv_m32) { return alu_fast_rm(cpu, in, K, 4, true, cpu->r[in->reg]); }  \
    FP_H(name##_EvI_r64) { return alu_fast_rm(cpu, in, K, 8, false, in->imm); }          \
    FP_H(name##_EvI_r32) { return alu_fast_rm(cpu, in, K, 4, false, in->imm); }          \
    FP_H(name##_EvI_m64) { return alu_fast_rm(cpu, in, K, 8, true, in->imm); }           \
    FP_H(name##_EvI_m32) { return alu_fast_rm(cpu, in, K, 4, true, in->imm); }           \
    FP_H(name##_EbGb_r) { return alu_fast_rm(cpu, in, K, 1, false, cpu->r[in->reg]); }   \
    FP_H(name##_EbGb_m) { return alu_fast_rm(cpu, in, K, 1, true, cpu->r[in->reg]); }    \
    FP_H(name##_EbIb_r) { return alu_fast_rm(cpu, in, K, 1, false, in->imm); }           \
    FP_H(name##_EbIb_m) { return alu_fast_rm(cpu, in, K, 1, true, in->imm); }            \
    FP_H(name##_rAXIz_64)                                                               \
    {                                                                                   \
        alu_reg(cpu, K, 8, R_AX, false, in->imm);                                       \
        return true;                                                                    \
    }                                                                                   \
    FP_H(name##_rAXIz_32)                                                               \
    {                                                                                   \
        alu_reg(cpu, K, 4, R_AX, false, in->imm & 0xffffffffu);                         \
        return true;                                                                    \
    }                                                                                   \
    FP_H(name##_ALIb_any)                                                               \
    {                                                                                   \
        alu_reg(cpu, K, 1, R_AX, false, in->imm & 0xff);                                \
        return true;                                                                    \
    }

/* The eight classic operations also have the reg-destination forms. */
#define ALU_FAST_G(name, K)                                                         \
    ALU_FAST_RM(name, K)                                                            \
    FP_H(name##_GvEv_r64) { return alu_fast_reg(cpu, in, K, 8, false); }            \
    FP_H(name##_GvEv_r32) { return alu_fast_reg(cpu, in, K, 4, false); }            \
    FP_H(name##_GvEv_m64) { return alu_fast_reg(cpu, in, K, 8, true); }             \
    FP_H(name##_GvEv_m32) { return alu_fast_reg(cpu, in, K, 4, true); }             \
    FP_H(name##_GbEb_r) { return alu_fast_reg(cpu, in, K, 1, false); }              \
    FP_H(name##_GbEb_m) { return alu_fast_reg(cpu, in, K, 1, true); }

/* NOT, NEG, INC, DEC */
#define ALU_FAST_UNARY(name, K)                                                     \
    FP_H(name##_Ev_r64) { return alu_fast_rm(cpu, in, K, 8, false, 0); }            \
    FP_H(name##_Ev_r32) { return alu_fast_rm(cpu, in, K, 4, false, 0); }            \
    FP_H(name##_Ev_m64) { return alu_fast_rm(cpu, in, K, 8, true, 0); }             \
    FP_H(name##_Ev_m32) { return alu_fast_rm(cpu, in, K, 4, true, 0); }             \
    FP_H(name##_Eb_r) { return alu_fast_rm(cpu, in, K, 1, false, 0); }              \
    FP_H(name##_Eb_m) { return alu_fast_rm(cpu, in, K, 1, true, 0); }

ALU_FAST_G(add, ALU_ADD)
ALU_FAST_G(or, ALU_OR)
ALU_FAST_G(adc, ALU_ADC)
ALU_FAST_G(sbb, ALU_SBB)
ALU_FAST_G(and, ALU_AND)
ALU_FAST_G(sub, ALU_SUB)
ALU_FAST_G(xor, ALU_XOR)
ALU_FAST_G(cmp, ALU_CMP)
ALU_FAST_RM(test, ALU_TEST)
ALU_FAST_UNARY(not, ALU_NOT)
ALU_FAST_UNARY(neg, ALU_NEG)
ALU_FAST_UNARY(inc, ALU_INC)
ALU_FAST_UNARY(dec, ALU_DEC)

/* XOR/SUB of a register with itself (the zeroing idiom): the result is 0
 * whatever the register holds. */
FP_H(xor_zero_r)
{
    cpu->r[in->rm] = 0;
    flags_lazy(cpu, LF_LOGIC, in->osz, 0, 0, 0);
    return true;
}

static op_fn *pick_xor_self(const struct op_special *s, const struct cpu *cpu,
                            const struct insn *in)
{
    if (in->mod == 3 && in->reg == in->rm && in->osz >= 4)
        return xor_zero_r;
    if (in->mod == 3)
        return in->osz == 8 ? s->reg[0] : in->osz == 4 ? s->reg[1] : NULL;
    if (!cpu->code64 || in->asz != 8)
        return NULL;
    return in->osz == 8 ? s->mem[0] : in->osz == 4 ? s->mem[1] : NULL;
}

#define SP_EV(g, f) { g, { f##_r64, f##_r32 }, { f##_m64, f##_m32 }, NULL, 0 }
#define SP_EB(g, f, fl) { g, { f##_r, NULL }, { f##_m, NULL }, NULL, SP_ANYSZ | (fl) }
#define SP_ACC(name)                                                                   \
    { op_##name##_rAXIz, { name##_rAXIz_64, name##_rAXIz_32 }, { NULL, NULL }, sp_pick_osz, 0 }, \
    { op_##name##_ALIb, { name##_ALIb_any, name##_ALIb_any }, { NULL, NULL }, sp_pick_osz, 0 }
#define SP_ALU(name)                                                                   \
    SP_EV(op_##name##_EvGv, name##_EvGv), SP_EV(op_##name##_GvEv, name##_GvEv),        \
    SP_EV(op_##name##_EvIz, name##_EvI), SP_EV(op_##name##_EvIb, name##_EvI),          \
    SP_EB(op_##name##_EbGb, name##_EbGb, SP_RM8 | SP_REG8),                            \
    SP_EB(op_##name##_GbEb, name##_GbEb, SP_RM8 | SP_REG8),                            \
    SP_EB(op_##name##_EbIb, name##_EbIb, SP_RM8), SP_ACC(name)

const struct op_special ops_alu_special[] = {
    { op_xor_EvGv, { xor_EvGv_r64, xor_EvGv_r32 }, { xor_EvGv_m64, xor_EvGv_m32 }, pick_xor_self,
      0 },
    SP_ALU(add), SP_ALU(or), SP_ALU(adc), SP_ALU(sbb), SP_ALU(and), SP_ALU(sub), SP_ALU(xor),
    SP_ALU(cmp),
    SP_EV(op_test_EvGv, test_EvGv), SP_EV(op_test_EvIz, test_EvI),
    SP_EB(op_test_EbGb, test_EbGb, SP_RM8 | SP_REG8), SP_EB(op_test_EbIb, test_EbIb, SP_RM8),
    SP_ACC(test),
    SP_EV(op_not_Ev, not_Ev), SP_EV(op_neg_Ev, neg_Ev), SP_EV(op_inc_Ev, inc_Ev),
    SP_EV(op_dec_Ev, dec_Ev),
    SP_EB(op_not_Eb, not_Eb, SP_RM8), SP_EB(op_neg_Eb, neg_Eb, SP_RM8),
    SP_EB(op_inc_Eb, inc_Eb, SP_RM8), SP_EB(op_dec_Eb, dec_Eb, SP_RM8),
    { 0 },
};

/* ---- CMP/TEST/ADD/SUB fused with the Jcc that follows (fastpath.h) ----
 * At decode, a register-form CMP, TEST, ADD or SUB directly followed by a
 * 64-bit Jcc (the block's last instruction) gets a handler that does both:
 * the ALU operation as its variant would (flags recorded as usual: they
 * stay visible after the branch), then the branch, with the condition taken
 * from the values in host registers.  The Jcc keeps its own handler, which
 * runs instead when the block was cut after the ALU instruction. */
static inline __attribute__((always_inline)) void alu_jcc(struct cpu *cpu, const struct insn *in,
                                                         unsigned k, unsigned size, uint64_t s,
                                                         unsigned cc)
{
    uint64_t mask = size_mask(size);
    s &= mask;
    uint64_t d = fp_reg(cpu, in->rm, size), r = alu_calc(k, d, s, false) & mask;
    if (alu_writes(k))
        fp_set_reg(cpu, in->rm, size, r);
    alu_flags(cpu, k, size, d, s, r, false);
    const struct insn *j = in + 1;
    if (unlikely(j == cpu->blk_stop)) {
        cpu->icount = fp_icount(cpu, in); /* for the loop, as fp_next */
        return;
    }
    uint64_t next = cpu->next_rip + j->len;
    cpu->next_rip = next;
    if (lf_cond_rec(&cpu->lf, 0, cc))
        fp_jump64(cpu, j, next + j->imm);
    fp_block_next(cpu, j);
}

#define ALU_JCC(name, K, size, src)                                                        \
    FP_LAST(name##_jo) { alu_jcc(cpu, in, K, size, src, 0); }                              \
    FP_LAST(name##_jno) { alu_jcc(cpu, in, K, size, src, 1); }                             \
    FP_LAST(name##_jb) { alu_jcc(cpu, in, K, size, src, 2); }                              \
    FP_LAST(name##_jae) { alu_jcc(cpu, in, K, size, src, 3); }                             \
    FP_LAST(name##_je) { alu_jcc(cpu, in, K, size, src, 4); }                              \
    FP_LAST(name##_jne) { alu_jcc(cpu, in, K, size, src, 5); }                             \
    FP_LAST(name##_jbe) { alu_jcc(cpu, in, K, size, src, 6); }                             \
    FP_LAST(name##_ja) { alu_jcc(cpu, in, K, size, src, 7); }                              \
    FP_LAST(name##_js) { alu_jcc(cpu, in, K, size, src, 8); }                              \
    FP_LAST(name##_jns) { alu_jcc(cpu, in, K, size, src, 9); }                             \
    FP_LAST(name##_jp) { alu_jcc(cpu, in, K, size, src, 10); }                             \
    FP_LAST(name##_jnp) { alu_jcc(cpu, in, K, size, src, 11); }                            \
    FP_LAST(name##_jl) { alu_jcc(cpu, in, K, size, src, 12); }                             \
    FP_LAST(name##_jge) { alu_jcc(cpu, in, K, size, src, 13); }                            \
    FP_LAST(name##_jle) { alu_jcc(cpu, in, K, size, src, 14); }                            \
    FP_LAST(name##_jg) { alu_jcc(cpu, in, K, size, src, 15); }                             \
    static op_fn *const name##_jcc[16] = {                                                 \
        name##_jo, name##_jno, name##_jb, name##_jae, name##_je, name##_jne,               \
        name##_jbe, name##_ja, name##_js, name##_jns, name##_jp, name##_jnp,               \
        name##_jl, name##_jge, name##_jle, name##_jg,                                      \
    };

ALU_JCC(cmp_EvGv_r64, ALU_CMP, 8, cpu->r[in->reg])
ALU_JCC(cmp_EvGv_r32, ALU_CMP, 4, cpu->r[in->reg])
ALU_JCC(cmp_EvI_r64, ALU_CMP, 8, in->imm)
ALU_JCC(cmp_EvI_r32, ALU_CMP, 4, in->imm)
ALU_JCC(test_EvGv_r64, ALU_TEST, 8, cpu->r[in->reg])
ALU_JCC(test_EvGv_r32, ALU_TEST, 4, cpu->r[in->reg])
ALU_JCC(test_EbGb_r, ALU_TEST, 1, cpu->r[in->reg])
ALU_JCC(add_EvI_r64, ALU_ADD, 8, in->imm)
ALU_JCC(add_EvI_r32, ALU_ADD, 4, in->imm)
ALU_JCC(sub_EvI_r64, ALU_SUB, 8, in->imm)
ALU_JCC(sub_EvI_r32, ALU_SUB, 4, in->imm)

op_fn *ops_alu_fuse_jcc(const struct insn *alu, const struct insn *jcc)
{
    static const struct {
        op_fn *alone;
        op_fn *const *with_jcc;
    } fusable[] = {
        { cmp_EvGv_r64, cmp_EvGv_r64_jcc }, { cmp_EvGv_r32, cmp_EvGv_r32_jcc },
        { cmp_EvI_r64, cmp_EvI_r64_jcc },   { cmp_EvI_r32, cmp_EvI_r32_jcc },
        { test_EvGv_r64, test_EvGv_r64_jcc }, { test_EvGv_r32, test_EvGv_r32_jcc },
        { test_EbGb_r, test_EbGb_r_jcc },   { add_EvI_r64, add_EvI_r64_jcc },
        { add_EvI_r32, add_EvI_r32_jcc },   { sub_EvI_r64, sub_EvI_r64_jcc },
        { sub_EvI_r32, sub_EvI_r32_jcc },
    };
    const struct op_row *row = insn_row(jcc);
    if ((row->fn != op_jcc_Jb && row->fn != op_jcc_Jz) || jcc->fn == row->fn)
        return NULL; /* not a Jcc with its 64-bit variant */
    for (unsigned i = 0; i < sizeof fusable / sizeof fusable[0]; i++)
        if (alu->fn == fusable[i].alone)
            return fusable[i].with_jcc[jcc->opc & 15];
    return NULL;
}
