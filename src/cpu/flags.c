/*
 * flags.c — lazy arithmetic flags (SDM Vol.1 3.4.3.1, Appendix A).
 *
 * The last ALU operation is recorded in cpu->lf; each flag is derived on
 * demand:
 *   CF  ADD: res < dst (ADC with carry-in: res <= dst); SUB: dst < src
 *       (SBB with borrow-in: dst <= src); LOGIC: 0; INC/DEC: saved CF
 *   AF  bit 4 of (dst ^ src ^ res)  (LOGIC: 0; LF_SZP: the AF bit of src)
 *   OF  ADD: sign of (dst ^ res) & (src ^ res); SUB: sign of (dst ^ src) & (dst ^ res)
 *   ZF, SF, PF from the result truncated to the operand size.
 * The per-flag rules and the conditions (Jcc/SETcc/CMOVcc) are inline in
 * lazy_flags.h, shared with the specialised handlers.
 */
#include "cpu/cpu.h"
#include "cpu/lazy_flags.h"

static uint64_t lazy_all(const struct lazy_flags *lf)
{
    uint64_t m = size_mask(lf->size), r = lf->res & m;
    uint64_t f = 0;
    if (lf_cf(lf))
        f |= FL_CF;
    if (parity8(r))
        f |= FL_PF;
    if (lf->op == LF_SZP)
        f |= lf->src & FL_AF;
    else if (lf->op != LF_LOGIC && ((lf->dst ^ lf->src ^ lf->res) & 0x10))
        f |= FL_AF;
    if (r == 0)
        f |= FL_ZF;
    if (r & lf_top_bit(lf->size))
        f |= FL_SF;
    if (lf_of(lf))
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

static __attribute__((noinline)) void flags_set_some(struct cpu *cpu, uint64_t mask, uint64_t val)
{
    materialise(cpu);
    cpu->rflags = (cpu->rflags & ~mask) | (val & mask);
}

void flags_set(struct cpu *cpu, uint64_t mask, uint64_t val)
{
    /* Writing all six arithmetic flags makes the lazy record irrelevant. */
    if ((mask & FL_ARITH) != FL_ARITH) {
        flags_set_some(cpu, mask, val);
        return;
    }
    cpu->lf.op = LF_NONE;
    cpu->rflags = (cpu->rflags & ~mask) | (val & mask);
}

uint64_t flags_szp(uint64_t res, unsigned size)
{
    uint64_t r = res & size_mask(size), f = 0;
    if (r == 0)
        f |= FL_ZF;
    if (r & lf_top_bit(size))
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
    return lf_cf(&cpu->lf);
}

bool cpu_zf(struct cpu *cpu)
{
    if (cpu->lf.op == LF_NONE)
        return cpu->rflags & FL_ZF;
    return (cpu->lf.res & size_mask(cpu->lf.size)) == 0;
}

/* SDM Vol.2 Appendix B.1.4.7, Table B-1: condition codes (lazy_flags.h). */
bool cpu_cond(struct cpu *cpu, unsigned cc)
{
    return lf_cond(cpu, cc);
}
