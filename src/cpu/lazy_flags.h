/*
 * lazy_flags.h — inline evaluation of the lazy arithmetic flags (struct
 * lazy_flags in cpu.h), shared by flags.c and by the specialised handlers
 * (fastpath.h) that test a condition code known at decode time, so that a
 * Jcc/SETcc/CMOVcc compiled for one condition evaluates only the flags
 * that condition reads (SDM Vol.1 3.4.3.1, Appendix A; Vol.2 Table B-1):
 *
 *   CF  ADD: res < dst (ADC with carry-in: res <= dst); SUB: dst < src
 *       (SBB with borrow-in: dst <= src); LOGIC: 0; INC/DEC: saved CF
 *   OF  ADD: sign of (dst ^ res) & (src ^ res); SUB: sign of (dst ^ src) & (dst ^ res)
 *   ZF, SF, PF from the result truncated to the operand size.
 *   LF_SZP (shifts, multiplies): CF, OF and AF are the RFLAGS bits in src.
 */
#ifndef NESTVM_CPU_LAZY_FLAGS_H
#define NESTVM_CPU_LAZY_FLAGS_H

#include "cpu/cpu.h"

static inline uint64_t lf_top_bit(unsigned size)
{
    return 1ull << (size * 8 - 1);
}

/* size_mask() of a recorded operand size (1, 2, 4 or 8) by table: these
 * helpers run on every Jcc/SETcc/CMOVcc, where the size is not a constant. */
static inline uint64_t lf_mask(const struct lazy_flags *lf)
{
    static const uint64_t masks[16] = { [1] = 0xff, [2] = 0xffff, [4] = 0xffffffff, [8] = ~0ull };
    return masks[lf->size & 15];
}

static inline bool lf_cf(const struct lazy_flags *lf)
{
    uint64_t m = lf_mask(lf);
    uint64_t d = lf->dst & m, s = lf->src & m, r = lf->res & m;
    switch (lf->op) {
    case LF_ADD: return r < d;
    case LF_ADC: return lf->cf ? r <= d : r < d;
    case LF_SUB: return d < s;
    case LF_SBB: return lf->cf ? d <= s : d < s;
    case LF_INC:
    case LF_DEC: return lf->cf;
    case LF_SZP: return lf->src & FL_CF;
    default: return false;
    }
}

static inline bool lf_of(const struct lazy_flags *lf)
{
    uint64_t m = lf_mask(lf), t = m ^ (m >> 1); /* the sign bit */
    switch (lf->op) {
    case LF_ADD:
    case LF_ADC:
    case LF_INC: return ((lf->dst ^ lf->res) & (lf->src ^ lf->res) & t) != 0;
    case LF_SUB:
    case LF_SBB:
    case LF_DEC: return ((lf->dst ^ lf->src) & (lf->dst ^ lf->res) & t) != 0;
    case LF_SZP: return lf->src & FL_OF;
    default: return false;
    }
}

/* Condition cc (0-15): cc >> 1 selects O, B, Z, BE, S, P, L, LE; cc & 1 negates. */
static inline bool lf_cond_of(bool of, bool cf, bool zf, bool sf, bool pf, unsigned cc)
{
    bool r;
    switch (cc >> 1) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = pf; break;
    case 6: r = sf != of; break;
    default: r = zf || sf != of; break;
    }
    return r ^ (cc & 1);
}

/*
 * Every lazy state has its own path and no condition materialises RFLAGS:
 * after SUB/CMP the unsigned and signed compares come straight from the
 * operands; after logic operations CF = OF = 0; otherwise only the flags
 * the condition reads are derived.
 */
static inline __attribute__((always_inline)) bool lf_cond_rec(const struct lazy_flags *lf,
                                                             uint64_t rflags, unsigned cc)
{
    unsigned op = lf->op, k = cc >> 1;
    if (op == LF_NONE) {
        uint64_t f = rflags;
        return lf_cond_of(f & FL_OF, f & FL_CF, f & FL_ZF, f & FL_SF, f & FL_PF, cc);
    }
    uint64_t m = lf_mask(lf), r = lf->res & m;
    bool zf = r == 0, sf = (r & ~(m >> 1)) != 0; /* the top bit of the size */
    if (op == LF_SUB) {
        uint64_t d = lf->dst & m, s = lf->src & m;
        bool res;
        switch (k) {
        case 1: res = d < s; break;  /* B / AE */
        case 2: res = zf; break;     /* E / NE */
        case 3: res = d <= s; break; /* BE / A */
        case 4: res = sf; break;     /* S / NS */
        /* signed compares: flipping the sign bit maps them to unsigned ones */
        case 6: res = (d ^ (m ^ (m >> 1))) < (s ^ (m ^ (m >> 1))); break;  /* L / GE */
        case 7: res = (d ^ (m ^ (m >> 1))) <= (s ^ (m ^ (m >> 1))); break; /* LE / G */
        default: return lf_cond_of(lf_of(lf), d < s, zf, sf, parity8(r), cc);
        }
        return res ^ (cc & 1);
    }
    if (op == LF_LOGIC)
        return lf_cond_of(false, false, zf, sf, k == 5 && parity8(r), cc);
    bool cf = (k == 1 || k == 3) && lf_cf(lf);
    bool of = (k == 0 || k >= 6) && lf_of(lf);
    return lf_cond_of(of, cf, zf, sf, k == 5 && parity8(r), cc);
}

/* The condition from the CPU's flags (lazy record or RFLAGS). */
static inline bool lf_cond(const struct cpu *cpu, unsigned cc)
{
    return lf_cond_rec(&cpu->lf, cpu->rflags, cc);
}

#endif
