/*
 * ops_shift.c — shifts and rotates: ROL ROR RCL RCR SHL/SAL SHR SAR in the
 * group-2 forms (C0/C1 by imm8, D0/D1 by 1, D2/D3 by CL) and the double
 * shifts SHLD/SHRD (0F A4/A5/AC/AD).
 *
 * Rules (SDM Vol.2 "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR", "SHLD", "SHRD"):
 *  - the count is masked to 5 bits, 6 bits with a 64-bit operand;
 *  - RCL/RCR of 8/16-bit operands rotate by count MOD 9 / MOD 17;
 *  - a masked count of 0 changes no flag (the operand is still written
 *    back, so a 32-bit register is zero-extended as for any 32-bit write);
 *  - rotates change only CF and OF; shifts set CF/OF/SF/ZF/PF, AF is
 *    undefined (we clear it).
 * Undefined cases and the choice made here (the differential tester masks
 * them):
 *  - OF for counts other than 1: the count-1 formula is applied to any
 *    count (the usual hardware behaviour; not architectural): SHL/ROL/RCL
 *    OF = MSB(result) XOR CF; SHR/ROR/RCR OF = XOR of the two top bits of
 *    the result; SAR 0.
 *  - SHL/SHR CF when count >= operand width (8/16-bit only): the SDM loop
 *    gives the last bit shifted out, i.e. 0 for SHL and SHR.
 *  - SHLD/SHRD of 16-bit operands with counts 17..31: the destination is
 *    shifted through dest:src:dest (a 48-bit pattern).  OF uses the "sign
 *    changed" rule of count 1 for every count.
 */
#include "cpu/fastpath.h"
#include "cpu/mem.h"
#include "cpu/ops_int.h"

enum shift_kind { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

typedef unsigned __int128 u128;

static inline unsigned shift_count_mask(unsigned size)
{
    return size == 8 ? 63 : 31;
}

/*
 * Compute the result of shift/rotate 'k' of d (masked to size) by a nonzero
 * masked count; return the result and put the new CF/OF bits in *fl and the
 * flags the operation defines in *fmask (rotates: CF|OF; shifts: all six,
 * SF/ZF/PF from the result, AF cleared — see shift_flags()).
 */
static inline uint64_t shift_calc(unsigned k, unsigned size, uint64_t d, unsigned count, bool cf_in,
                                  uint64_t *fl, uint64_t *fmask)
{
    unsigned bits = size * 8;
    uint64_t mask = size_mask(size);
    uint64_t r, cf, of;
    switch (k) {
    case SH_ROL:
    case SH_ROR: {
        unsigned c = count & (bits - 1);
        if (k == SH_ROL) {
            r = c ? ((d << c) | (d >> (bits - c))) & mask : d;
            cf = r & 1;
            of = (r >> (bits - 1)) ^ cf;
        } else {
            r = c ? ((d >> c) | (d << (bits - c))) & mask : d;
            cf = r >> (bits - 1);
            of = cf ^ ((r >> (bits - 2)) & 1);
        }
        *fmask = FL_CF | FL_OF;
        break;
    }
    case SH_RCL:
    case SH_RCR: {
        /* Rotate the (bits+1)-bit quantity CF:dest. */
        unsigned c = count % (bits + 1);
        u128 wmask = ((u128)1 << (bits + 1)) - 1;
        u128 v = ((u128)cf_in << bits) | d;
        if (c) {
            if (k == SH_RCL)
                v = ((v << c) | (v >> (bits + 1 - c))) & wmask;
            else
                v = ((v >> c) | (v << (bits + 1 - c))) & wmask;
        }
        r = (uint64_t)v & mask;
        cf = (uint64_t)(v >> bits) & 1;
        if (k == SH_RCL)
            of = (r >> (bits - 1)) ^ cf;
        else
            of = ((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1;
        *fmask = FL_CF | FL_OF;
        break;
    }
    case SH_SHL:
    case SH_SAL:
        r = (d << count) & mask;
        cf = count <= bits ? (d >> (bits - count)) & 1 : 0;
        of = (r >> (bits - 1)) ^ cf;
        *fmask = FL_ARITH;
        break;
    case SH_SHR:
        r = d >> count;
        cf = (d >> (count - 1)) & 1;
        of = ((r >> (bits - 1)) ^ (r >> (bits - 2))) & 1;
        *fmask = FL_ARITH;
        break;
    default: { /* SH_SAR */
        int64_t sd = sign_extend(d, size);
        r = (uint64_t)(sd >> count) & mask;
        cf = (uint64_t)(sd >> (count - 1)) & 1;
        of = 0;
        *fmask = FL_ARITH;
        break;
    }
    }
    *fl = (cf ? FL_CF : 0) | (of ? FL_OF : 0);
    return r;
}

/* Rotates write CF and OF; shifts write all six flags lazily (LF_SZP). */
static inline void shift_flags(struct cpu *cpu, unsigned size, uint64_t r, uint64_t fl,
                               uint64_t fmask)
{
    if (fmask == FL_ARITH)
        flags_lazy(cpu, LF_SZP, size, 0, fl, r);
    else
        flags_set(cpu, fmask, fl);
}

/* One helper for every group-2 form. */
static inline void shift_rm(struct cpu *cpu, const struct insn *in, unsigned k, unsigned size,
                            unsigned count)
{
    count &= shift_count_mask(size);
    struct rmw m;
    uint64_t d = int_rmw_begin(cpu, in, size, &m);
    if (count == 0) {
        if (m.reg != 0xff)
            int_rmw_commit(cpu, &m, d); /* 32-bit register: zero-extends */
        return;
    }
    bool cf_in = (k == SH_RCL || k == SH_RCR) && cpu_cf(cpu);
    uint64_t fl, fmask;
    uint64_t r = shift_calc(k, size, d, count, cf_in, &fl, &fmask);
    int_rmw_commit(cpu, &m, r);
    shift_flags(cpu, size, r, fl, fmask);
}

#define H(name) void name(struct cpu *cpu, const struct insn *in)

#define SHIFT_FORMS(name, K)                                                  \
    H(op_##name##_EbIb) { shift_rm(cpu, in, K, 1, (unsigned)in->imm); }       \
    H(op_##name##_EvIb) { shift_rm(cpu, in, K, in->osz, (unsigned)in->imm); } \
    H(op_##name##_Eb1) { shift_rm(cpu, in, K, 1, 1); }                        \
    H(op_##name##_Ev1) { shift_rm(cpu, in, K, in->osz, 1); }                  \
    H(op_##name##_EbCL) { shift_rm(cpu, in, K, 1, (uint8_t)cpu->r[R_CX]); }   \
    H(op_##name##_EvCL) { shift_rm(cpu, in, K, in->osz, (uint8_t)cpu->r[R_CX]); }

SHIFT_FORMS(rol, SH_ROL)
SHIFT_FORMS(ror, SH_ROR)
SHIFT_FORMS(rcl, SH_RCL)
SHIFT_FORMS(rcr, SH_RCR)
SHIFT_FORMS(shl, SH_SHL)
SHIFT_FORMS(shr, SH_SHR)
SHIFT_FORMS(sar, SH_SAR)

/*
 * SHLD/SHRD: shift the destination, filling from the source register.
 * 16-bit counts above 16 shift through dest:src:dest (see the top comment).
 */
static inline void dshift_rm(struct cpu *cpu, const struct insn *in, bool left, unsigned count)
{
    unsigned size = in->osz, bits = size * 8;
    uint64_t mask = size_mask(size);
    count &= shift_count_mask(size);
    uint64_t s = op_read_reg(cpu, in, size);
    struct rmw m;
    uint64_t d = int_rmw_begin(cpu, in, size, &m);
    if (count == 0) {
        if (m.reg != 0xff)
            int_rmw_commit(cpu, &m, d);
        return;
    }
    uint64_t r, cf;
    if (size == 2) {
        uint64_t v = (d << 32) | (s << 16) | d;
        if (left) {
            r = (v >> (32 - count)) & mask;
            cf = (v >> (48 - count)) & 1;
        } else {
            r = (v >> count) & mask;
            cf = (v >> (count - 1)) & 1;
        }
    } else if (left) {
        u128 v = ((u128)d << bits) | s;
        r = (uint64_t)((v << count) >> bits) & mask;
        cf = (uint64_t)(v >> (2 * bits - count)) & 1;
    } else {
        u128 v = ((u128)s << bits) | d;
        r = (uint64_t)(v >> count) & mask;
        cf = (uint64_t)(v >> (count - 1)) & 1;
    }
    int_rmw_commit(cpu, &m, r);
    uint64_t of = ((r ^ d) >> (bits - 1)) & 1;
    flags_lazy(cpu, LF_SZP, size, 0, (cf ? FL_CF : 0) | (of ? FL_OF : 0), r);
}

H(op_shld_EvGvIb) { dshift_rm(cpu, in, true, (unsigned)in->imm); }
H(op_shld_EvGvCL) { dshift_rm(cpu, in, true, (uint8_t)cpu->r[R_CX]); }
H(op_shrd_EvGvIb) { dshift_rm(cpu, in, false, (unsigned)in->imm); }
H(op_shrd_EvGvCL) { dshift_rm(cpu, in, false, (uint8_t)cpu->r[R_CX]); }

/* ---- specialised forms (fastpath.h): register operands of size 8 / 4 ---- */

static inline __attribute__((always_inline)) bool shift_fast_reg(struct cpu *cpu,
                                                                const struct insn *in,
                                                                unsigned k, unsigned size,
                                                                unsigned count)
{
    count &= shift_count_mask(size);
    uint64_t d = fp_reg(cpu, in->rm, size);
    if (count == 0) {
        fp_set_reg(cpu, in->rm, size, d); /* 32-bit register: zero-extends */
        return true;
    }
    bool cf_in = (k == SH_RCL || k == SH_RCR) && cpu_cf(cpu);
    uint64_t fl, fmask;
    uint64_t r = shift_calc(k, size, d, count, cf_in, &fl, &fmask);
    fp_set_reg(cpu, in->rm, size, r);
    shift_flags(cpu, size, r, fl, fmask);
    return true;
}

#define SHIFT_FAST(name, K)                                                                \
    FP_H(name##_EvIb_r64) { return shift_fast_reg(cpu, in, K, 8, (unsigned)in->imm); }     \
    FP_H(name##_EvIb_r32) { return shift_fast_reg(cpu, in, K, 4, (unsigned)in->imm); }     \
    FP_H(name##_Ev1_r64) { return shift_fast_reg(cpu, in, K, 8, 1); }                      \
    FP_H(name##_Ev1_r32) { return shift_fast_reg(cpu, in, K, 4, 1); }                      \
    FP_H(name##_EvCL_r64) { return shift_fast_reg(cpu, in, K, 8, (uint8_t)cpu->r[R_CX]); } \
    FP_H(name##_EvCL_r32) { return shift_fast_reg(cpu, in, K, 4, (uint8_t)cpu->r[R_CX]); }

SHIFT_FAST(rol, SH_ROL)
SHIFT_FAST(ror, SH_ROR)
SHIFT_FAST(rcl, SH_RCL)
SHIFT_FAST(rcr, SH_RCR)
SHIFT_FAST(shl, SH_SHL)
SHIFT_FAST(shr, SH_SHR)
SHIFT_FAST(sar, SH_SAR)

#define SP_SHIFT_FORM(name, form)                                                       \
    { op_##name##_##form, { name##_##form##_r64, name##_##form##_r32 }, { NULL, NULL }, NULL, 0 }
#define SP_SHIFT(name)                                                                  \
    SP_SHIFT_FORM(name, EvIb), SP_SHIFT_FORM(name, Ev1), SP_SHIFT_FORM(name, EvCL)

const struct op_special ops_shift_special[] = {
    SP_SHIFT(rol), SP_SHIFT(ror), SP_SHIFT(rcl), SP_SHIFT(rcr),
    SP_SHIFT(shl), SP_SHIFT(shr), SP_SHIFT(sar),
    { 0 },
};
