/*
 * ops_x87_ldst.c — x87 data transfer: FLD/FST/FSTP (m32fp, m64fp, m80fp,
 * ST(i)), FILD/FIST/FISTP/FISTTP (m16int, m32int, m64int), FBLD/FBSTP,
 * FXCH, FFREE/FFREEP and the constant loads FLD1 ... FLDZ.
 *
 * Conversions run on the host x87 under the guest control word, so rounding
 * (RC, and PC for nothing here since loads are exact), the integer and BCD
 * indefinite on overflow, SNaN quieting and the IE/DE/OE/UE/PE flags are
 * exactly the hardware's (SDM Vol.2 FLD, FST, FIST, FISTTP, FBSTP).
 *
 * Stores follow the unmasked-exception rule of SDM Vol.1 8.5.1-8.5.5: an
 * unmasked IE, OE or UE on a memory destination stores nothing and leaves
 * the stack alone; otherwise the memory write happens first (it may fault
 * with nothing committed), then C1, the pop and the flags.
 */
#include "cpu/x87_priv.h"

X87H_LD(flds, "flds", uint32_t)
X87H_LD(fldl, "fldl", uint64_t)
X87H_LD(filds, "filds", uint16_t)
X87H_LD(fildl, "fildl", uint32_t)
X87H_LD(fildll, "fildll", uint64_t)
X87H_LD(fldt, "fldt", struct x87_m80)
X87H_LD(fbld, "fbld", struct x87_m80)

X87H_ST(fstps, "fstps", uint32_t)
X87H_ST(fstpl, "fstpl", uint64_t)
X87H_ST(fstpt, "fstpt", struct x87_m80)
X87H_ST(fistps, "fistps", uint16_t)
X87H_ST(fistpl, "fistpl", uint32_t)
X87H_ST(fistpll, "fistpll", uint64_t)
X87H_ST(fisttps, "fisttps", uint16_t)
X87H_ST(fisttpl, "fisttpl", uint32_t)
X87H_ST(fisttpll, "fisttpll", uint64_t)
X87H_ST(fbstp, "fbstp", struct x87_m80)

X87H_CONST(fld1, "fld1")
X87H_CONST(fldl2t, "fldl2t")
X87H_CONST(fldl2e, "fldl2e")
X87H_CONST(fldpi, "fldpi")
X87H_CONST(fldlg2, "fldlg2")
X87H_CONST(fldln2, "fldln2")
X87H_CONST(fldz, "fldz")

/* Memory operand image: up to 10 bytes, aligned for the host accesses. */
union x87_mbuf {
    uint8_t b[10];
    uint16_t w;
    uint32_t d;
    uint64_t q;
    struct x87_m80 t;
};

/* ---- loads ---- */

/* Push the value the host loads from 'm' (SDM Vol.2 FLD/FILD/FBLD). */
static void load_mem(struct cpu *cpu, const struct insn *in, x87h_ld_fn *fn, const void *m)
{
    if (x87_push_check(cpu, in))
        return;
    long double r;
    unsigned sw = fn(x87_hcw(&cpu->fpu), m, &r);
    x87_push_result(cpu, in, &r, sw);
}

/* Read 'size' bytes of the memory operand into 'buf'. */
static void read_operand(struct cpu *cpu, const struct insn *in, union x87_mbuf *buf,
                         unsigned size)
{
    uint64_t ea = insn_ea(cpu, in);
    memset(buf, 0, sizeof(*buf));
    if (size <= 8)
        buf->q = mem_read(cpu, in->seg, ea, size);
    else
        mem_read_buf(cpu, in->seg, ea, buf->b, size);
}

#define LOAD_HANDLER(name, fn, size)                        \
    void name(struct cpu *cpu, const struct insn *in)       \
    {                                                       \
        union x87_mbuf m;                                   \
        x87_enter(cpu);                                     \
        read_operand(cpu, in, &m, size);                    \
        load_mem(cpu, in, fn, &m);                          \
    }

LOAD_HANDLER(op_fld_m32fp, x87h_flds, 4)
LOAD_HANDLER(op_fld_m64fp, x87h_fldl, 8)
LOAD_HANDLER(op_fld_m80fp, x87h_fldt, 10)
LOAD_HANDLER(op_fild_m16int, x87h_filds, 2)
LOAD_HANDLER(op_fild_m32int, x87h_fildl, 4)
LOAD_HANDLER(op_fild_m64int, x87h_fildll, 8)
LOAD_HANDLER(op_fbld_m80bcd, x87h_fbld, 10)

/* D9 C0+i: push a copy of ST(i) (no exception for any bit pattern). */
void op_fld_STi(struct cpu *cpu, const struct insn *in)
{
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    unsigned i = in->rm & 7;
    long double v;
    unsigned sw = 0;
    if (x87_empty(f, i)) {
        f80_indefinite(&v);
        sw = FSW_IE | FSW_SF;
    } else {
        f80_copy(&v, x87_st(f, i));
    }
    if (x87_push_check(cpu, in))
        return;
    x87_push_result(cpu, in, &v, sw);
}

/* D9 E8-EE: FLD1 FLDL2T FLDL2E FLDPI FLDLG2 FLDLN2 FLDZ */
void op_fldconst(struct cpu *cpu, const struct insn *in)
{
    static x87h_const_fn *const fn[7] = { x87h_fld1,   x87h_fldl2t, x87h_fldl2e, x87h_fldpi,
                                          x87h_fldlg2, x87h_fldln2, x87h_fldz };
    x87_enter(cpu);
    unsigned k = in->rm & 7;
    if (k >= 7)
        cpu_ud(cpu);
    if (x87_push_check(cpu, in))
        return;
    long double r;
    unsigned sw = fn[k](x87_hcw(&cpu->fpu), &r);
    x87_push_result(cpu, in, &r, sw);
}

/* ---- stores ---- */

/* Store ST(0) through host primitive 'fn' into the 'size'-byte memory
 * operand, then pop if 'pop'.  An empty ST(0) is a stack underflow whose
 * masked response stores the indefinite of the destination format. */
static void store_mem(struct cpu *cpu, const struct insn *in, x87h_st_fn *fn, unsigned size,
                      bool pop)
{
    struct fpu *f = &cpu->fpu;
    long double ind;
    const long double *src = x87_st(f, 0);
    unsigned extra = 0;
    if (x87_empty(f, 0)) {
        f80_indefinite(&ind);
        src = &ind;
        extra = FSW_IE | FSW_SF;
    }
    union x87_mbuf m;
    memset(&m, 0, sizeof(m));
    unsigned sw = fn(x87_hcw(f), src, &m) | extra;
    unsigned exc = sw & (FSW_EXC | FSW_SF);
    if (!(x87_unmasked(f, exc) & (FSW_IE | FSW_DE | FSW_OE | FSW_UE))) {
        uint64_t ea = insn_ea(cpu, in);
        if (size <= 8)
            mem_write(cpu, in->seg, ea, size, m.q);
        else
            mem_write_buf(cpu, in->seg, ea, m.b, size);
        x87_set_cc(f, FSW_C1, extra ? 0 : sw);
        if (pop)
            x87_pop(f);
    }
    x87_ptrs(cpu, in);
    x87_raise(f, exc);
}

/* D9 /2 FST m32fp, D9 /3 FSTP m32fp */
void op_fst_m32fp(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    store_mem(cpu, in, x87h_fstps, 4, (in->reg & 7) == 3);
}

/* DD /2 FST m64fp, DD /3 FSTP m64fp */
void op_fst_m64fp(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    store_mem(cpu, in, x87h_fstpl, 8, (in->reg & 7) == 3);
}

/* DB /7: bit-exact, no exception but underflow */
void op_fstp_m80fp(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    store_mem(cpu, in, x87h_fstpt, 10, true);
}

/* DF /1 FISTTP, /2 FIST, /3 FISTP m16int */
void op_fist_m16int(struct cpu *cpu, const struct insn *in)
{
    unsigned r = in->reg & 7;
    x87_enter(cpu);
    store_mem(cpu, in, r == 1 ? x87h_fisttps : x87h_fistps, 2, r != 2);
}

/* DB /1 FISTTP, /2 FIST, /3 FISTP m32int */
void op_fist_m32int(struct cpu *cpu, const struct insn *in)
{
    unsigned r = in->reg & 7;
    x87_enter(cpu);
    store_mem(cpu, in, r == 1 ? x87h_fisttpl : x87h_fistpl, 4, r != 2);
}

/* DF /7 */
void op_fistp_m64int(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    store_mem(cpu, in, x87h_fistpll, 8, true);
}

/* DD /1 */
void op_fisttp_m64int(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    store_mem(cpu, in, x87h_fisttpll, 8, true);
}

/* DF /6 */
void op_fbstp_m80bcd(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    store_mem(cpu, in, x87h_fbstp, 10, true);
}

/* ST(i) = ST(0), then pop if 'pop' (C1 = 0). */
static void store_st(struct cpu *cpu, const struct insn *in, unsigned npop)
{
    struct fpu *f = &cpu->fpu;
    unsigned i = in->rm & 7;
    if (x87_empty(f, 0))
        x87_underflow(cpu, in, i, npop, FSW_C1);
    else
        x87_commit(cpu, in, i, x87_st(f, 0), 0, FSW_C1, npop);
}

/* DD D0+i */
void op_fst_STi(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    store_st(cpu, in, 0);
}

/* DD D8+i and the aliases D9 D8+i, DF D0+i, DF D8+i */
void op_fstp_STi(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    store_st(cpu, in, 1);
}

/* ---- register management ---- */

/* D9 C8+i (and aliases DD C8+i, DF C8+i).  An empty operand is replaced
 * by the indefinite when IE is masked (SDM Vol.2 FXCH). */
void op_fxch_STi(struct cpu *cpu, const struct insn *in)
{
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    unsigned i = in->rm & 7, exc = 0;
    x87_ptrs(cpu, in);
    f->fsw &= (uint16_t)~FSW_C1;
    if (x87_empty(f, 0) || x87_empty(f, i)) {
        exc = FSW_IE | FSW_SF;
        if (!(f->fcw & FSW_IE)) {
            x87_raise(f, exc);
            return;
        }
        if (x87_empty(f, 0))
            x87_write_indefinite(f, 0);
        if (x87_empty(f, i))
            x87_write_indefinite(f, i);
    }
    long double t;
    f80_copy(&t, x87_st(f, 0));
    x87_write(f, 0, x87_st(f, i));
    x87_write(f, i, &t);
    x87_raise(f, exc);
}

/* DD C0+i */
void op_ffree_STi(struct cpu *cpu, const struct insn *in)
{
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    x87_ptrs(cpu, in);
    x87_set_ptag(f, x87_phys(f, in->rm & 7), TAG_EMPTY);
}

/* DF C0+i: FFREE ST(i) then pop (undocumented in SDM tables, but used by
 * compilers and executed by every x87 since the 387). */
void op_ffreep_STi(struct cpu *cpu, const struct insn *in)
{
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    x87_ptrs(cpu, in);
    x87_set_ptag(f, x87_phys(f, in->rm & 7), TAG_EMPTY);
    x87_pop(f);
}
