/*
 * ops_muldiv.c — MUL, IMUL (one-, two- and three-operand forms), DIV, IDIV.
 *
 * SDM Vol.2 "MUL", "IMUL", "DIV", "IDIV":
 *  - one-operand MUL/IMUL write AX, DX:AX, EDX:EAX or RDX:RAX; CF = OF = 1
 *    when the upper half is significant (MUL: nonzero; IMUL: not the sign
 *    extension of the lower half);
 *  - two/three-operand IMUL keep the truncated product, CF = OF = 1 when
 *    truncation changed the signed value;
 *  - SF, ZF, AF, PF are undefined after MUL/IMUL.  Our choice: SF/ZF/PF
 *    from the low half of the product, AF cleared (hardware differs between
 *    vendors and generations here); the differential tester masks them;
 *  - DIV/IDIV raise #DE on a zero divisor or a quotient that does not fit
 *    the destination (incl. INT_MIN / -1); quotient truncates toward zero,
 *    the remainder has the sign of the dividend.  All six arithmetic flags
 *    are undefined; we leave them unchanged.
 * Products and dividends are computed in 128-bit arithmetic.
 */
#include "cpu/fastpath.h"
#include "cpu/mem.h"
#include "cpu/ops_int.h"

typedef unsigned __int128 u128;
typedef __int128 s128;

static inline void mul_flags(struct cpu *cpu, uint64_t lo, unsigned size, bool overflow)
{
    /* SF/ZF/PF from the low half, evaluated lazily; CF = OF = overflow, AF 0. */
    flags_lazy(cpu, LF_SZP, size, 0, overflow ? FL_CF | FL_OF : 0, lo & size_mask(size));
}

/* Write a double-width result: AX for bytes, else rDX:rAX. */
static inline void muldiv_store(struct cpu *cpu, unsigned size, uint64_t lo, uint64_t hi)
{
    if (size == 1) {
        cpu->r[R_AX] = (cpu->r[R_AX] & ~0xffffull) | (lo & 0xff) | ((hi & 0xff) << 8);
    } else {
        reg_set(cpu, R_AX, size, lo);
        reg_set(cpu, R_DX, size, hi);
    }
}

/* One-operand MUL/IMUL: rAX (AL) times r/m. */
static inline void mul1(struct cpu *cpu, const struct insn *in, unsigned size, bool sign)
{
    unsigned bits = size * 8;
    uint64_t mask = size_mask(size);
    uint64_t s = op_read_rm(cpu, in, size);
    uint64_t a = cpu->r[R_AX] & mask;
    uint64_t lo, hi;
    bool ovf;
    if (sign) {
        s128 p = (s128)sign_extend(a, size) * sign_extend(s, size);
        lo = (uint64_t)p & mask;
        hi = (uint64_t)(p >> bits) & mask;
        ovf = p != (s128)sign_extend(lo, size);
    } else {
        u128 p = (u128)a * s;
        lo = (uint64_t)p & mask;
        hi = (uint64_t)(p >> bits) & mask;
        ovf = hi != 0;
    }
    muldiv_store(cpu, size, lo, hi);
    mul_flags(cpu, lo, size, ovf);
}

/* Two/three-operand IMUL: Gv = a * b truncated. */
static inline void imul_trunc(struct cpu *cpu, const struct insn *in, unsigned size, uint64_t a,
                              uint64_t b)
{
    s128 p = (s128)sign_extend(a, size) * sign_extend(b, size);
    uint64_t lo = (uint64_t)p & size_mask(size);
    reg_set(cpu, in->reg, size, lo);
    mul_flags(cpu, lo, size, p != (s128)sign_extend(lo, size));
}

/* DIV/IDIV of the double-width rDX:rAX (AX for bytes) by r/m. */
static inline void div1(struct cpu *cpu, const struct insn *in, unsigned size, bool sign)
{
    unsigned bits = size * 8;
    uint64_t mask = size_mask(size);
    uint64_t s = op_read_rm(cpu, in, size);
    if (s == 0)
        cpu_fault(cpu, EXC_DE, NO_ERR);
    uint64_t lo, hi;
    if (size == 1) {
        lo = cpu->r[R_AX] & 0xff;
        hi = (cpu->r[R_AX] >> 8) & 0xff;
    } else {
        lo = cpu->r[R_AX] & mask;
        hi = cpu->r[R_DX] & mask;
    }
    u128 n = ((u128)hi << bits) | lo;
    uint64_t q, r;
    if (!sign) {
        if (hi >= s) /* quotient would not fit in 'bits' bits */
            cpu_fault(cpu, EXC_DE, NO_ERR);
        q = (uint64_t)(n / s);
        r = (uint64_t)(n % s);
    } else {
        /* Sign-extend the 2*bits-wide dividend to 128 bits. */
        s128 sn = (s128)(n << (128 - 2 * bits)) >> (128 - 2 * bits);
        s128 sd = sign_extend(s, size);
        s128 sq, sr;
        if (sd == -1) {
            /* -dividend; the only value whose negation overflows s128
             * cannot be a valid quotient anyway. */
            if (sn == (s128)((u128)1 << 127))
                cpu_fault(cpu, EXC_DE, NO_ERR);
            sq = -sn;
            sr = 0;
        } else {
            sq = sn / sd;
            sr = sn % sd;
        }
        s128 lim = (s128)1 << (bits - 1);
        if (sq >= lim || sq < -lim)
            cpu_fault(cpu, EXC_DE, NO_ERR);
        q = (uint64_t)sq & mask;
        r = (uint64_t)sr & mask;
    }
    muldiv_store(cpu, size, q, r);
}

#define H(name) void name(struct cpu *cpu, const struct insn *in)

H(op_mul_Eb) { mul1(cpu, in, 1, false); }
H(op_mul_Ev) { mul1(cpu, in, in->osz, false); }
H(op_imul_Eb) { mul1(cpu, in, 1, true); }
H(op_imul_Ev) { mul1(cpu, in, in->osz, true); }
H(op_div_Eb) { div1(cpu, in, 1, false); }
H(op_div_Ev) { div1(cpu, in, in->osz, false); }
H(op_idiv_Eb) { div1(cpu, in, 1, true); }
H(op_idiv_Ev) { div1(cpu, in, in->osz, true); }

H(op_imul_GvEv)
{
    uint64_t b = op_read_rm(cpu, in, in->osz);
    imul_trunc(cpu, in, in->osz, reg_get(cpu, in->reg, in->osz), b);
}
H(op_imul_GvEvIz) { imul_trunc(cpu, in, in->osz, op_read_rm(cpu, in, in->osz), in->imm); }
H(op_imul_GvEvIb) { imul_trunc(cpu, in, in->osz, op_read_rm(cpu, in, in->osz), in->imm); }

/* ---- specialised forms (fastpath.h): register operands of size 8 / 4 ---- */

FP_H(imul_GvEv_r64) { imul_trunc(cpu, in, 8, cpu->r[in->reg], cpu->r[in->rm]); return true; }
FP_H(imul_GvEv_r32)
{
    imul_trunc(cpu, in, 4, (uint32_t)cpu->r[in->reg], (uint32_t)cpu->r[in->rm]);
    return true;
}
FP_H(imul_GvEvI_r64) { imul_trunc(cpu, in, 8, cpu->r[in->rm], in->imm); return true; }
FP_H(imul_GvEvI_r32) { imul_trunc(cpu, in, 4, (uint32_t)cpu->r[in->rm], in->imm); return true; }
FP_H(mul_Ev_r64) { mul1(cpu, in, 8, false); return true; }
FP_H(mul_Ev_r32) { mul1(cpu, in, 4, false); return true; }
FP_H(imul_Ev_r64) { mul1(cpu, in, 8, true); return true; }
FP_H(imul_Ev_r32) { mul1(cpu, in, 4, true); return true; }

#define SP_MUL(g, f) { g, { f##_r64, f##_r32 }, { NULL, NULL }, NULL, 0 }

const struct op_special ops_muldiv_special[] = {
    SP_MUL(op_imul_GvEv, imul_GvEv), SP_MUL(op_imul_GvEvIz, imul_GvEvI),
    SP_MUL(op_imul_GvEvIb, imul_GvEvI), SP_MUL(op_mul_Ev, mul_Ev), SP_MUL(op_imul_Ev, imul_Ev),
    { 0 },
};
