/*
 * ops_x87_arith.c — x87 arithmetic (FADD FMUL FSUB FSUBR FDIV FDIVR and the
 * P/I forms), comparisons (FCOM FCOMP FCOMPP FUCOM* FICOM* FCOMI* FUCOMI*),
 * FCMOVcc, and the result/exception commit helpers every x87 file uses.
 *
 * ModRM.reg selects the operation in the D8/DA/DC/DE groups (SDM Vol.2
 * Tables A-7 ff.): 0 add, 1 mul, 2 com, 3 comp, 4 sub, 5 subr, 6 div, 7 divr;
 * in the DC/DE register forms (destination ST(i)) /4-/7 are the reversed
 * operations (DC E0+i is FSUBR ST(i),ST(0)).  The operation itself runs on
 * the host x87 (x87_priv.h), so results, C1 and exception flags are those
 * of real hardware under the guest's precision and rounding control.
 *
 * Exception responses (SDM Vol.1 8.5): stack underflow sets IE|SF with C1=0
 * and, when IE is masked, writes the QNaN indefinite; an unmasked IE, DE or
 * ZE leaves the destination and TOP unchanged; unmasked OE/UE on a register
 * destination store the masked-response value (the 2^24576 exponent bias
 * adjustment of SDM Vol.1 4.9.1.4/4.9.1.5 is not modelled); any unmasked
 * flag sets ES/B and is reported as #MF by the next waiting instruction.
 */
#include "cpu/x87_priv.h"

/* ---- commit helpers (declared in x87_priv.h) ---- */

void x87_commit(struct cpu *cpu, const struct insn *in, unsigned dst, const long double *r,
                unsigned hsw, unsigned ccmask, unsigned npop)
{
    struct fpu *f = &cpu->fpu;
    unsigned exc = hsw & (FSW_EXC | FSW_SF);
    x87_ptrs(cpu, in);
    if (x87_unmasked(f, exc) & (FSW_IE | FSW_DE | FSW_ZE)) {
        x87_raise(f, exc);
        return;
    }
    x87_set_cc(f, ccmask, hsw);
    if (dst < 8)
        x87_write(f, dst, r);
    while (npop--)
        x87_pop(f);
    x87_raise(f, exc);
}

void x87_underflow(struct cpu *cpu, const struct insn *in, unsigned dst, unsigned npop,
                   unsigned ccmask)
{
    long double ind;
    f80_indefinite(&ind);
    x87_commit(cpu, in, dst, &ind, FSW_IE | FSW_SF, ccmask, npop);
}

bool x87_push_check(struct cpu *cpu, const struct insn *in)
{
    struct fpu *f = &cpu->fpu;
    if (likely(x87_empty(f, 7)))
        return false;
    /* Stack overflow (SDM Vol.1 8.5.1.1): C1=1; masked: push the indefinite. */
    x87_ptrs(cpu, in);
    f->fsw |= FSW_C1;
    if (f->fcw & FSW_IE) {
        long double ind;
        f80_indefinite(&ind);
        x87_push(f, &ind);
    }
    x87_raise(f, FSW_IE | FSW_SF);
    return true;
}

void x87_push_result(struct cpu *cpu, const struct insn *in, const long double *r, unsigned hsw)
{
    struct fpu *f = &cpu->fpu;
    unsigned exc = hsw & (FSW_EXC | FSW_SF);
    x87_ptrs(cpu, in);
    if (x87_unmasked(f, exc) & (FSW_IE | FSW_DE)) {
        x87_raise(f, exc);
        return;
    }
    f->fsw &= (uint16_t)~FSW_C1;
    x87_push(f, r);
    x87_raise(f, exc);
}

/* ---- host primitives ---- */

enum { XA_ADD, XA_MUL, XA_COM, XA_COMP, XA_SUB, XA_SUBR, XA_DIV, XA_DIVR };
enum { XM_F32, XM_F64, XM_I32, XM_I16 };

X87H_BIN(fadd, "fadd %%st(1), %%st")
X87H_BIN(fmul, "fmul %%st(1), %%st")
X87H_BIN(fsub, "fsub %%st(1), %%st")
X87H_BIN(fsubr, "fsubr %%st(1), %%st")
X87H_BIN(fdiv, "fdiv %%st(1), %%st")
X87H_BIN(fdivr, "fdivr %%st(1), %%st")

X87H_MEM(fadds, "fadds", uint32_t)
X87H_MEM(fmuls, "fmuls", uint32_t)
X87H_MEM(fsubs, "fsubs", uint32_t)
X87H_MEM(fsubrs, "fsubrs", uint32_t)
X87H_MEM(fdivs, "fdivs", uint32_t)
X87H_MEM(fdivrs, "fdivrs", uint32_t)
X87H_MEM(faddl, "faddl", uint64_t)
X87H_MEM(fmull, "fmull", uint64_t)
X87H_MEM(fsubl, "fsubl", uint64_t)
X87H_MEM(fsubrl, "fsubrl", uint64_t)
X87H_MEM(fdivl, "fdivl", uint64_t)
X87H_MEM(fdivrl, "fdivrl", uint64_t)
X87H_MEM(fiaddl, "fiaddl", uint32_t)
X87H_MEM(fimull, "fimull", uint32_t)
X87H_MEM(fisubl, "fisubl", uint32_t)
X87H_MEM(fisubrl, "fisubrl", uint32_t)
X87H_MEM(fidivl, "fidivl", uint32_t)
X87H_MEM(fidivrl, "fidivrl", uint32_t)
X87H_MEM(fiadds, "fiadds", uint16_t)
X87H_MEM(fimuls, "fimuls", uint16_t)
X87H_MEM(fisubs, "fisubs", uint16_t)
X87H_MEM(fisubrs, "fisubrs", uint16_t)
X87H_MEM(fidivs, "fidivs", uint16_t)
X87H_MEM(fidivrs, "fidivrs", uint16_t)

X87H_TST(ftst, "ftst")
X87H_CMP(fcom, "fcom %%st(1)")
X87H_CMP(fucom, "fucom %%st(1)")
X87H_CMPM(fcoms, "fcoms", uint32_t)
X87H_CMPM(fcoml, "fcoml", uint64_t)
X87H_CMPM(ficoml, "ficoml", uint32_t)
X87H_CMPM(ficoms, "ficoms", uint16_t)

static x87h_bin_fn *const arith_st_fn[8] = {
    [XA_ADD] = x87h_fadd, [XA_MUL] = x87h_fmul, [XA_SUB] = x87h_fsub,
    [XA_SUBR] = x87h_fsubr, [XA_DIV] = x87h_fdiv, [XA_DIVR] = x87h_fdivr,
};

static x87h_mem_fn *const arith_mem_fn[4][8] = {
    [XM_F32] = { [XA_ADD] = x87h_fadds, [XA_MUL] = x87h_fmuls, [XA_SUB] = x87h_fsubs,
                 [XA_SUBR] = x87h_fsubrs, [XA_DIV] = x87h_fdivs, [XA_DIVR] = x87h_fdivrs },
    [XM_F64] = { [XA_ADD] = x87h_faddl, [XA_MUL] = x87h_fmull, [XA_SUB] = x87h_fsubl,
                 [XA_SUBR] = x87h_fsubrl, [XA_DIV] = x87h_fdivl, [XA_DIVR] = x87h_fdivrl },
    [XM_I32] = { [XA_ADD] = x87h_fiaddl, [XA_MUL] = x87h_fimull, [XA_SUB] = x87h_fisubl,
                 [XA_SUBR] = x87h_fisubrl, [XA_DIV] = x87h_fidivl, [XA_DIVR] = x87h_fidivrl },
    [XM_I16] = { [XA_ADD] = x87h_fiadds, [XA_MUL] = x87h_fimuls, [XA_SUB] = x87h_fisubs,
                 [XA_SUBR] = x87h_fisubrs, [XA_DIV] = x87h_fidivs, [XA_DIVR] = x87h_fidivrs },
};

static x87h_cmpm_fn *const cmp_mem_fn[4] = {
    [XM_F32] = x87h_fcoms, [XM_F64] = x87h_fcoml, [XM_I32] = x87h_ficoml, [XM_I16] = x87h_ficoms,
};

/* Status word of a compare with an empty operand: IE|SF and, for the
 * masked response, "unordered" (SDM Vol.1 Table 8-6 note). */
#define CMP_UNDERFLOW (FSW_C0 | FSW_C2 | FSW_C3 | FSW_IE | FSW_SF)

/* ---- comparisons ---- */

/*
 * Commit a comparison: C3/C2/C0 (C1 = 0), or for FCOMI/FUCOMI the ZF/PF/CF
 * flags with OF/SF/AF cleared and C1 = 0 (SDM Vol.2 FCOMI, Table 3-31).  An
 * unmasked IE or DE leaves codes, flags and TOP unchanged.
 */
static void compare_commit(struct cpu *cpu, const struct insn *in, unsigned hsw,
                           unsigned npop, bool eflags)
{
    struct fpu *f = &cpu->fpu;
    unsigned exc = hsw & (FSW_EXC | FSW_SF);
    x87_ptrs(cpu, in);
    if (x87_unmasked(f, exc) & (FSW_IE | FSW_DE)) {
        x87_raise(f, exc);
        return;
    }
    if (eflags) {
        uint64_t fl = ((hsw & FSW_C3) ? FL_ZF : 0) | ((hsw & FSW_C2) ? FL_PF : 0) |
                      ((hsw & FSW_C0) ? FL_CF : 0);
        flags_set(cpu, FL_ZF | FL_PF | FL_CF | FL_OF | FL_SF | FL_AF, fl);
        x87_set_cc(f, FSW_C1, 0);
    } else {
        x87_set_cc(f, FSW_CC, hsw & (FSW_C0 | FSW_C2 | FSW_C3));
    }
    while (npop--)
        x87_pop(f);
    x87_raise(f, exc);
}

/* Compare ST(0) with ST(i). */
static void compare_st(struct cpu *cpu, const struct insn *in, unsigned i, bool unordered,
                       unsigned npop, bool eflags)
{
    struct fpu *f = &cpu->fpu;
    unsigned sw = CMP_UNDERFLOW;
    if (!x87_empty(f, 0) && !x87_empty(f, i))
        sw = (unordered ? x87h_fucom : x87h_fcom)(x87_hcw(f), x87_st(f, 0), x87_st(f, i));
    compare_commit(cpu, in, sw, npop, eflags);
}

/* ---- arithmetic ---- */

/* ST(dst) = ST(dst) op ST(src), then pop npop times. */
static void arith_st(struct cpu *cpu, const struct insn *in, unsigned dst, unsigned src,
                     unsigned op, unsigned npop)
{
    struct fpu *f = &cpu->fpu;
    if (x87_empty(f, dst) || x87_empty(f, src)) {
        x87_underflow(cpu, in, dst, npop, FSW_C1);
        return;
    }
    long double r;
    struct x87_henv e;
    x87_henv_init(f, &e);
    unsigned sw = arith_st_fn[op](&e, x87_st(f, dst), x87_st(f, src), &r);
    x87_commit(cpu, in, dst, &r, sw, FSW_C1, npop);
}

/* ST(0) = ST(0) op m, or compare ST(0) with m; 'm' already read. */
static void arith_mem(struct cpu *cpu, const struct insn *in, unsigned kind, const void *m)
{
    struct fpu *f = &cpu->fpu;
    unsigned op = in->reg & 7;
    if (op == XA_COM || op == XA_COMP) {
        unsigned sw = CMP_UNDERFLOW;
        if (!x87_empty(f, 0))
            sw = cmp_mem_fn[kind](x87_hcw(f), x87_st(f, 0), m);
        compare_commit(cpu, in, sw, op == XA_COMP, false);
        return;
    }
    if (x87_empty(f, 0)) {
        x87_underflow(cpu, in, 0, 0, FSW_C1);
        return;
    }
    long double r;
    unsigned sw = arith_mem_fn[kind][op](x87_hcw(f), x87_st(f, 0), m, &r);
    x87_commit(cpu, in, 0, &r, sw, FSW_C1, 0);
}

void op_farith_m32fp(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    uint32_t m = mem_read32(cpu, in->seg, insn_ea(cpu, in));
    arith_mem(cpu, in, XM_F32, &m);
}

void op_farith_m64fp(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    uint64_t m = mem_read64(cpu, in->seg, insn_ea(cpu, in));
    arith_mem(cpu, in, XM_F64, &m);
}

void op_fiarith_m32int(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    uint32_t m = mem_read32(cpu, in->seg, insn_ea(cpu, in));
    arith_mem(cpu, in, XM_I32, &m);
}

void op_fiarith_m16int(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    uint16_t m = mem_read16(cpu, in->seg, insn_ea(cpu, in));
    arith_mem(cpu, in, XM_I16, &m);
}

/* D8 C0-FF: ST(0) = ST(0) op ST(i); FCOM/FCOMP ST(i). */
void op_farith_ST0STi(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    unsigned op = in->reg & 7, i = in->rm & 7;
    if (op == XA_COM || op == XA_COMP)
        compare_st(cpu, in, i, false, op == XA_COMP, false);
    else
        arith_st(cpu, in, 0, i, op, 0);
}

/* Reversed operation for the ST(i),ST(0) forms (/4 is FSUBR there). */
static unsigned op_sti_st0(unsigned op)
{
    return op >= XA_SUB ? op ^ 1 : op;
}

/* DC C0-FF: ST(i) = ST(i) op ST(0); DC D0/D8 are FCOM/FCOMP aliases. */
void op_farith_STiST0(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    unsigned op = in->reg & 7, i = in->rm & 7;
    if (op == XA_COM || op == XA_COMP)
        compare_st(cpu, in, i, false, op == XA_COMP, false);
    else
        arith_st(cpu, in, i, 0, op_sti_st0(op), 0);
}

/* DE C0-FF (except D9): ST(i) = ST(i) op ST(0) and pop; DE D0 = FCOMP. */
void op_farithp_STiST0(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    unsigned op = in->reg & 7, i = in->rm & 7;
    if (op == XA_COM || op == XA_COMP)
        compare_st(cpu, in, i, false, 1, false);
    else
        arith_st(cpu, in, i, 0, op_sti_st0(op), 1);
}

/* DE D9 */
void op_fcompp(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    compare_st(cpu, in, 1, false, 2, false);
}

/* DD E0+i FUCOM, DD E8+i FUCOMP */
void op_fucom_STi(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    compare_st(cpu, in, in->rm & 7, true, (in->reg & 7) == 5, false);
}

/* DA E9 */
void op_fucompp(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    compare_st(cpu, in, 1, true, 2, false);
}

/* D9 E4: compare ST(0) with 0.0 */
void op_ftst(struct cpu *cpu, const struct insn *in)
{
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    unsigned sw = CMP_UNDERFLOW;
    if (!x87_empty(f, 0))
        sw = x87h_ftst(x87_hcw(f), x87_st(f, 0));
    compare_commit(cpu, in, sw, 0, false);
}

/* DB E8+i FUCOMI, DB F0+i FCOMI, DF E8+i FUCOMIP, DF F0+i FCOMIP */
void op_fcomi_STi(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    compare_st(cpu, in, in->rm & 7, (in->reg & 7) == 5, in->opc == 0xdf, true);
}

/*
 * DA/DB C0-DF: FCMOVcc ST(0), ST(i) (SDM Vol.2 FCMOVcc): B E BE U on DA,
 * NB NE NBE NU on DB — the Jcc condition numbers 2 4 6 10 and their odd
 * negations.  An empty operand is a stack underflow whatever the condition.
 */
void op_fcmov_STi(struct cpu *cpu, const struct insn *in)
{
    static const uint8_t cc[4] = { 2, 4, 6, 10 };
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    unsigned i = in->rm & 7;
    if (x87_empty(f, 0) || x87_empty(f, i)) {
        x87_underflow(cpu, in, 0, 0, FSW_C1);
        return;
    }
    x87_ptrs(cpu, in);
    if (cpu_cond(cpu, cc[in->reg & 3] + (in->opc == 0xdb)))
        x87_write(f, 0, x87_st(f, i));
    f->fsw &= (uint16_t)~FSW_C1;
}
