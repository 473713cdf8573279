/*
 * ops_x87_func.c — x87 one- and two-register functions: FCHS FABS FXAM FNOP
 * FINCSTP FDECSTP, FSQRT FRNDINT FSCALE FXTRACT FPREM FPREM1, and the
 * transcendentals F2XM1 FYL2X FYL2XP1 FPTAN FPATAN FSIN FCOS FSINCOS.
 *
 * Results, condition codes (C1 round-up, C2 "incomplete"/out of range,
 * FPREM's quotient bits) and exception flags come from the host x87 running
 * the same instruction under the guest control word (x87_priv.h), so they
 * match the hardware the VM runs on bit for bit.  FPTAN and FSINCOS leave
 * ST(0) unchanged and push nothing when the operand is out of range
 * (|x| >= 2^63, C2 = 1; SDM Vol.2 FPTAN, FSINCOS).
 */
#include "cpu/x87_priv.h"

X87H_UN(fsqrt, "fsqrt")
X87H_UN(frndint, "frndint")
X87H_UN(f2xm1, "f2xm1")
X87H_UNC(fsin, "fsin")
X87H_UNC(fcos, "fcos")
X87H_BINC(fprem, "fprem")
X87H_BINC(fprem1, "fprem1")
X87H_BIN(fscale, "fscale")
X87H_BINP(fyl2x, "fyl2x")
X87H_BINP(fyl2xp1, "fyl2xp1")
X87H_BINP(fpatan, "fpatan")
X87H_UN2(fxtract, "fxtract", 0)
X87H_UN2(fptan, "fptan", 1)
X87H_UN2(fsincos, "fsincos", 1)
X87H_TST(fxam, "fxam")

/* ST(0) = fn(ST(0)) */
static void unary(struct cpu *cpu, const struct insn *in, x87h_un_fn *fn, unsigned ccmask)
{
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    if (x87_empty(f, 0)) {
        x87_underflow(cpu, in, 0, 0, ccmask & (FSW_C1 | FSW_C2));
        return;
    }
    long double r;
    struct x87_henv e;
    x87_henv_init(f, &e);
    unsigned sw = fn(&e, x87_st(f, 0), &r);
    x87_commit(cpu, in, 0, &r, sw, ccmask, 0);
}

/* ST(0) = fn(ST(0), ST(1)) */
static void binary(struct cpu *cpu, const struct insn *in, x87h_bin_fn *fn, unsigned ccmask)
{
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    if (x87_empty(f, 0) || x87_empty(f, 1)) {
        x87_underflow(cpu, in, 0, 0, ccmask & (FSW_C1 | FSW_C2));
        return;
    }
    long double r;
    struct x87_henv e;
    x87_henv_init(f, &e);
    unsigned sw = fn(&e, x87_st(f, 0), x87_st(f, 1), &r);
    x87_commit(cpu, in, 0, &r, sw, ccmask, 0);
}

/* ST(1) = fn(ST(0), ST(1)), then pop */
static void binary_pop(struct cpu *cpu, const struct insn *in, x87h_bin_fn *fn)
{
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    if (x87_empty(f, 0) || x87_empty(f, 1)) {
        x87_underflow(cpu, in, 1, 1, FSW_C1);
        return;
    }
    long double r;
    struct x87_henv e;
    x87_henv_init(f, &e);
    unsigned sw = fn(&e, x87_st(f, 0), x87_st(f, 1), &r);
    x87_commit(cpu, in, 1, &r, sw, FSW_C1, 1);
}

/*
 * ST(0) is replaced by r1 and r0 pushed (FXTRACT: exponent/significand,
 * FPTAN: tan/1.0, FSINCOS: sin/cos).  With 'cond', C2 = 1 means the host
 * left the operand alone: nothing changes but C2.  A stack fault (ST(0)
 * empty, or ST(7) in use for the push) sets IE|SF with C1 = overflow; the
 * masked response fills both results with the indefinite.
 */
static void unary2(struct cpu *cpu, const struct insn *in, x87h_un2_fn *fn, bool cond)
{
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    bool under = x87_empty(f, 0), over = !x87_empty(f, 7);
    if (under || over) {
        x87_ptrs(cpu, in);
        x87_set_cc(f, cond ? FSW_C1 | FSW_C2 : FSW_C1, under ? 0 : FSW_C1);
        if (f->fcw & FSW_IE) {
            long double ind;
            f80_indefinite(&ind);
            x87_write(f, 0, &ind);
            x87_push(f, &ind);
        }
        x87_raise(f, FSW_IE | FSW_SF);
        return;
    }
    long double r0, r1;
    memset(&r1, 0, sizeof(r1));
    struct x87_henv e;
    x87_henv_init(f, &e);
    unsigned sw = fn(&e, x87_st(f, 0), &r0, &r1);
    unsigned exc = sw & FSW_EXC;
    x87_ptrs(cpu, in);
    if (x87_unmasked(f, exc) & (FSW_IE | FSW_DE | FSW_ZE)) {
        x87_raise(f, exc);
        return;
    }
    x87_set_cc(f, cond ? FSW_C1 | FSW_C2 : FSW_C1, sw);
    if (!(cond && (sw & FSW_C2))) {
        x87_write(f, 0, &r1);
        x87_push(f, &r0);
    }
    x87_raise(f, exc);
}

/* ---- sign operations: bit-exact, no exceptions but underflow; C1 = 0 ---- */

static void sign_op(struct cpu *cpu, const struct insn *in, uint16_t and_mask, uint16_t xor_mask)
{
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    if (x87_empty(f, 0)) {
        x87_underflow(cpu, in, 0, 0, FSW_C1);
        return;
    }
    long double v;
    const long double *s = x87_st(f, 0);
    f80_set(&v, (uint16_t)((f80_se(s) & and_mask) ^ xor_mask), f80_mant(s));
    x87_commit(cpu, in, 0, &v, 0, FSW_C1, 0);
}

void op_fchs(struct cpu *cpu, const struct insn *in)
{
    sign_op(cpu, in, 0xffff, 0x8000);
}

void op_fabs(struct cpu *cpu, const struct insn *in)
{
    sign_op(cpu, in, 0x7fff, 0);
}

/* D9 E5: class of ST(0) in C3/C2/C0, sign in C1; an empty register is
 * C3=1 C2=0 C0=1 (SDM Vol.2 FXAM, "FXAM Results" table).  No exceptions. */
void op_fxam(struct cpu *cpu, const struct insn *in)
{
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    unsigned sw;
    if (x87_empty(f, 0))
        sw = FSW_C3 | FSW_C0 | ((f80_se(x87_st(f, 0)) & 0x8000) ? FSW_C1 : 0);
    else
        sw = x87h_fxam(x87_hcw(f), x87_st(f, 0));
    x87_ptrs(cpu, in);
    x87_set_cc(f, FSW_CC, sw);
}

void op_fnop(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    x87_ptrs(cpu, in);
}

/* FINCSTP/FDECSTP rotate TOP; tags and contents are untouched. */
void op_fincstp(struct cpu *cpu, const struct insn *in)
{
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    x87_ptrs(cpu, in);
    x87_set_top(f, x87_top(f) + 1);
    f->fsw &= (uint16_t)~FSW_C1;
}

void op_fdecstp(struct cpu *cpu, const struct insn *in)
{
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    x87_ptrs(cpu, in);
    x87_set_top(f, x87_top(f) - 1);
    f->fsw &= (uint16_t)~FSW_C1;
}

/* ---- arithmetic functions ---- */

void op_fsqrt(struct cpu *cpu, const struct insn *in)
{
    unary(cpu, in, x87h_fsqrt, FSW_C1);
}

void op_frndint(struct cpu *cpu, const struct insn *in)
{
    unary(cpu, in, x87h_frndint, FSW_C1);
}

void op_f2xm1(struct cpu *cpu, const struct insn *in)
{
    unary(cpu, in, x87h_f2xm1, FSW_C1);
}

void op_fsin(struct cpu *cpu, const struct insn *in)
{
    unary(cpu, in, x87h_fsin, FSW_C1 | FSW_C2);
}

void op_fcos(struct cpu *cpu, const struct insn *in)
{
    unary(cpu, in, x87h_fcos, FSW_C1 | FSW_C2);
}

/* FPREM/FPREM1: C2 = incomplete, C0/C3/C1 = quotient bits Q2/Q1/Q0. */
void op_fprem(struct cpu *cpu, const struct insn *in)
{
    binary(cpu, in, x87h_fprem, FSW_CC);
}

void op_fprem1(struct cpu *cpu, const struct insn *in)
{
    binary(cpu, in, x87h_fprem1, FSW_CC);
}

void op_fscale(struct cpu *cpu, const struct insn *in)
{
    binary(cpu, in, x87h_fscale, FSW_C1);
}

void op_fyl2x(struct cpu *cpu, const struct insn *in)
{
    binary_pop(cpu, in, x87h_fyl2x);
}

void op_fyl2xp1(struct cpu *cpu, const struct insn *in)
{
    binary_pop(cpu, in, x87h_fyl2xp1);
}

void op_fpatan(struct cpu *cpu, const struct insn *in)
{
    binary_pop(cpu, in, x87h_fpatan);
}

void op_fxtract(struct cpu *cpu, const struct insn *in)
{
    unary2(cpu, in, x87h_fxtract, false);
}

void op_fptan(struct cpu *cpu, const struct insn *in)
{
    unary2(cpu, in, x87h_fptan, true);
}

void op_fsincos(struct cpu *cpu, const struct insn *in)
{
    unary2(cpu, in, x87h_fsincos, true);
}
