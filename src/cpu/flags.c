/*
 * flags.c — lazy arithmetic flags (SDM Vol.1 3.4.3.1, Appendix A).
 *
 * The last ALU operation is recorded in cpu->lf; each flag is derived on
 * demand:
 *   CF  ADD: res < dst (ADC with carry-in: res <= dst); SUB: dst < src
 *       (SBB with borrow-in: dst <= src); LOGIC: 0; INC/DEC: saved CF
 *   AF  bit 4 of (dst ^ src ^ res)  (LOGIC: 0)
 *   OF  ADD: sign of (dst ^ res) & (src ^ res); SUB: sign of (dst ^ src) & (dst ^ res)
 *   ZF, SF, PF from the result truncated to the operand size.
 * Conditions (Jcc/SETcc/CMOVcc) take fast paths for the common cases.
 */
#include "cpu/cpu.h"

static inline uint64_t top_bit(unsigned size)
{
    return 1ull << (size * 8 - 1);
}

static bool lazy_cf(const struct lazy_flags *lf)
{
    uint64_t m = size_mask(lf->size);
    uint64_t d = lf->dst & m, s = lf->src & m, r = lf->res & m;
    switch (lf->op) {
    case LF_ADD: return r < d;
    case LF_ADC: return lf->cf ? r <= d : r < d;
    case LF_SUB: return d < s;
    case LF_SBB: return lf->cf ? d <= s : d < s;
    case LF_INC:
    case LF_DEC: return lf->cf;
    default: return false;
    }
}

static bool lazy_of(const struct lazy_flags *lf)
{
    uint64_t t = top_bit(lf->size);
    switch (lf->op) {
    case LF_ADD:
    case LF_ADC:
    case LF_INC: return ((lf->dst ^ lf->res) & (lf->src ^ lf->res) & t) != 0;
    case LF_SUB:
    case LF_SBB:
    case LF_DEC: return ((lf->dst ^ lf->src) & (lf->dst ^ lf->res) & t) != 0;
    default: return false;
    }
}

static uint64_t lazy_all(const struct lazy_flags *lf)
{
    uint64_t m = size_mask(lf->size), r = lf->res & m;
    uint64_t f = 0;
    if (lazy_cf(lf))
        f |= FL_CF;
    if (parity8(r))
        f |= FL_PF;
    if (lf->op != LF_LOGIC && ((lf->dst ^ lf->src ^ lf->res) & 0x10))
        f |= FL_AF;
    if (r == 0)
        f |= FL_ZF;
    if (r & top_bit(lf->size))
        f |= FL_SF;
    if (lazy_of(lf))
        f |= FL_OF;
    return f;
}

static void materialise(struct cpu *cpu)
{
    if (cpu->lf.op != LF_NONE) {
        cpu->rflags = (cpu->rflags & ~(uint64_t)FL_ARITH) | lazy_all(&cpu->lf);
        cpu->lf.op = LF_NONE;
    }
}

uint64_t cpu_get_rflags(struct cpu *cpu)
{
    materialise(cpu);
    return cpu->rflags | 2; /* bit 1 always reads as 1 */
}

void cpu_set_rflags(struct cpu *cpu, uint64_t value)
{
    cpu->lf.op = LF_NONE;
    cpu->rflags = value | 2;
}

void flags_set(struct cpu *cpu, uint64_t mask, uint64_t val)
{
    materialise(cpu);
    cpu->rflags = (cpu->rflags & ~mask) | (val & mask);
}

uint64_t flags_szp(uint64_t res, unsigned size)
{
    uint64_t r = res & size_mask(size), f = 0;
    if (r == 0)
        f |= FL_ZF;
    if (r & top_bit(size))
        f |= FL_SF;
    if (parity8(r))
        f |= FL_PF;
    return f;
}

void flags_lazy_carry(struct cpu *cpu, enum lf_op op, unsigned size, uint64_t dst, uint64_t src,
                      uint64_t res, bool carry_in)
{
    flags_lazy(cpu, op, size, dst, src, res);
    cpu->lf.cf = carry_in;
}

void flags_lazy_incdec(struct cpu *cpu, enum lf_op op, unsigned size, uint64_t dst, uint64_t res)
{
    bool cf = cpu_cf(cpu);
    flags_lazy(cpu, op, size, dst, 1, res);
    cpu->lf.cf = cf;
}

bool cpu_cf(struct cpu *cpu)
{
    if (cpu->lf.op == LF_NONE)
        return cpu->rflags & FL_CF;
    return lazy_cf(&cpu->lf);
}

bool cpu_zf(struct cpu *cpu)
{
    if (cpu->lf.op == LF_NONE)
        return cpu->rflags & FL_ZF;
    return (cpu->lf.res & size_mask(cpu->lf.size)) == 0;
}

static bool cpu_sf(struct cpu *cpu)
{
    if (cpu->lf.op == LF_NONE)
        return cpu->rflags & FL_SF;
    return (cpu->lf.res & top_bit(cpu->lf.size)) != 0;
}

static bool cpu_of(struct cpu *cpu)
{
    if (cpu->lf.op == LF_NONE)
        return cpu->rflags & FL_OF;
    return lazy_of(&cpu->lf);
}

/* SDM Vol.2 Appendix B.1.4.7, Table B-1: condition codes. */
bool cpu_cond(struct cpu *cpu, unsigned cc)
{
    /* Fast path: after SUB/CMP, signed and unsigned compares come straight
     * from the operands. */
    if (cpu->lf.op == LF_SUB) {
        uint64_t m = size_mask(cpu->lf.size);
        uint64_t d = cpu->lf.dst & m, s = cpu->lf.src & m;
        int64_t sd = sign_extend(d, cpu->lf.size), ss = sign_extend(s, cpu->lf.size);
        bool r;
        switch (cc >> 1) {
        case 1: r = d < s; break;    /* B / AE */
        case 2: r = d == s; break;   /* E / NE */
        case 3: r = d <= s; break;   /* BE / A */
        case 6: r = sd < ss; break;  /* L / GE */
        case 7: r = sd <= ss; break; /* LE / G */
        default: goto slow;
        }
        return r ^ (cc & 1);
    }
slow:;
    bool r;
    switch (cc >> 1) {
    case 0: r = cpu_of(cpu); break;
    case 1: r = cpu_cf(cpu); break;
    case 2: r = cpu_zf(cpu); break;
    case 3: r = cpu_cf(cpu) || cpu_zf(cpu); break;
    case 4: r = cpu_sf(cpu); break;
    case 5: r = (cpu_get_rflags(cpu) & FL_PF) != 0; break;
    case 6: r = cpu_sf(cpu) != cpu_of(cpu); break;
    default: r = cpu_zf(cpu) || (cpu_sf(cpu) != cpu_of(cpu)); break;
    }
    return r ^ (cc & 1);
}
