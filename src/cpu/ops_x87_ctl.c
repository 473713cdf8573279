/*
 * ops_x87_ctl.c — x87 control instructions: FNINIT, FNCLEX, FLDCW, FNSTCW,
 * FNSTSW (m16 and AX), FLDENV/FNSTENV, FRSTOR/FNSAVE, FWAIT and the 8087/287
 * leftovers FNENI/FNDISI/FNSETPM (no-ops since the 387); plus the MMX
 * aliasing helpers and the reset state.
 *
 * Control instructions do not update FIP/FDP/FOP (SDM Vol.1 8.1.8).  The
 * FN-forms do not check for pending exceptions; FLDCW, FLDENV, FRSTOR and
 * FWAIT do (SDM Vol.1 8.6).  The FPU environment image has four layouts
 * chosen by operand size and by real/virtual-8086 versus protected mode
 * (SDM Vol.1 8.1.10, Figures 8-9 to 8-12); in 64-bit mode the 32-bit
 * protected layout is used (FIP/FDP truncated to 32 bits).
 */
#include "cpu/x87_priv.h"

/* ---- shared state helpers (x87_priv.h) ---- */

void x87_init_state(struct fpu *f)
{
    f->fcw = FCW_INIT;
    f->fsw = 0;
    f->ftw = 0xffff;
    f->fop = 0;
    f->fip = f->fdp = 0;
    f->fcs = f->fds = 0;
}

void x87_load_reg_bytes(long double *dst, const uint8_t *src10)
{
    uint64_t m;
    memcpy(&m, src10, 8);
    f80_set(dst, get16(src10 + 8), m);
}

void x87_store_reg_bytes(uint8_t *dst10, const long double *src)
{
    memcpy(dst10, src, 10);
}

/* ---- public helpers (ops_x87.h) ---- */

void fpu_reset_state(struct fpu *f)
{
    memset(f, 0, sizeof(*f));
    f->fcw = 0x0040;
    f->ftw = 0x5555;
    f->mxcsr = MXCSR_INIT;
}

uint64_t fpu_mmx_get(struct cpu *cpu, int i)
{
    return f80_mant(&cpu->fpu.st[i & 7]);
}

void fpu_mmx_enter(struct cpu *cpu)
{
    x87_set_top(&cpu->fpu, 0);
    cpu->fpu.ftw = 0;
}

void fpu_mmx_set(struct cpu *cpu, int i, uint64_t v)
{
    f80_set(&cpu->fpu.st[i & 7], 0xffff, v);
    fpu_mmx_enter(cpu);
}

void fpu_emms(struct cpu *cpu)
{
    cpu->fpu.ftw = 0xffff;
}

/* ---- simple control instructions ---- */

/* DB E3 */
void op_fninit(struct cpu *cpu, const struct insn *in)
{
    x87_check(cpu);
    x87_init_state(&cpu->fpu);
}

/* DB E2: clear the exception flags, SF, ES and B (SDM Vol.2 FCLEX). */
void op_fnclex(struct cpu *cpu, const struct insn *in)
{
    x87_check(cpu);
    cpu->fpu.fsw &= (uint16_t)~(FSW_EXC | FSW_SF | FSW_ES | FSW_B);
}

/* DB E0 FNENI, DB E1 FNDISI, DB E4 FNSETPM: ignored by the 387 and later. */
void op_fnop_legacy(struct cpu *cpu, const struct insn *in)
{
    x87_check(cpu);
}

/* 9B: #NM only if CR0.MP and CR0.TS (SDM Vol.3 Table 2-2), then the
 * pending-exception check. */
void op_fwait(struct cpu *cpu, const struct insn *in)
{
    if ((cpu->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
        cpu_fault(cpu, EXC_NM, NO_ERR);
    x87_check_pending(cpu);
}

/* D9 /5.  Unmasking a set flag makes it pending (ES). */
void op_fldcw_Mw(struct cpu *cpu, const struct insn *in)
{
    x87_enter(cpu);
    uint16_t v = mem_read16(cpu, in->seg, insn_ea(cpu, in));
    cpu->fpu.fcw = (uint16_t)((v & FCW_WRITABLE) | FCW_FIXED1);
    x87_update_es(&cpu->fpu);
}

/* D9 /7 */
void op_fnstcw_Mw(struct cpu *cpu, const struct insn *in)
{
    x87_check(cpu);
    mem_write16(cpu, in->seg, insn_ea(cpu, in), cpu->fpu.fcw);
}

/* DD /7 */
void op_fnstsw_Mw(struct cpu *cpu, const struct insn *in)
{
    x87_check(cpu);
    mem_write16(cpu, in->seg, insn_ea(cpu, in), cpu->fpu.fsw);
}

/* DF E0 */
void op_fnstsw_AX(struct cpu *cpu, const struct insn *in)
{
    x87_check(cpu);
    reg_set(cpu, R_AX, 2, cpu->fpu.fsw);
}

/* ---- environment ---- */

static bool env_real_mode(const struct cpu *cpu)
{
    return !(cpu->cr0 & CR0_PE) || (cpu->rflags & FL_VM);
}

/* 20-bit (in a 32-bit field) real-mode pointer: selector * 16 + offset. */
static uint32_t real_ptr(uint16_t sel, uint64_t off)
{
    return (uint32_t)(((uint32_t)sel << 4) + (uint32_t)off);
}

/* Full tag word computed from the contents (SDM Vol.1 8.1.7). */
static uint16_t full_tag_word(const struct fpu *f)
{
    uint16_t tw = 0;
    for (unsigned p = 0; p < 8; p++) {
        unsigned t = x87_ptag(f, p) == TAG_EMPTY ? TAG_EMPTY : f80_tag(&f->st[p]);
        tw |= (uint16_t)(t << (2 * p));
    }
    return tw;
}

/* Write the environment image into b[]; returns its size (14 or 28).
 * Reserved halves are written as ones, as hardware does. */
static unsigned env_store(struct cpu *cpu, const struct insn *in, uint8_t *b)
{
    const struct fpu *f = &cpu->fpu;
    uint16_t tw = full_tag_word(f);
    bool real = env_real_mode(cpu);
    uint32_t ip = real ? real_ptr(f->fcs, f->fip) : (uint32_t)f->fip;
    uint32_t dp = real ? real_ptr(f->fds, f->fdp) : (uint32_t)f->fdp;
    unsigned fop = f->fop & 0x7ffu;
    if (in->osz == 2) {
        put16(b + 0, f->fcw);
        put16(b + 2, f->fsw);
        put16(b + 4, tw);
        put16(b + 6, ip);
        put16(b + 8, real ? ((ip >> 16) & 0xf) << 12 | fop : f->fcs);
        put16(b + 10, dp);
        put16(b + 12, real ? ((dp >> 16) & 0xf) << 12 : f->fds);
        return 14;
    }
    put32(b + 0, 0xffff0000u | f->fcw);
    put32(b + 4, 0xffff0000u | f->fsw);
    put32(b + 8, 0xffff0000u | tw);
    if (real) {
        put32(b + 12, 0xffff0000u | (ip & 0xffff));
        put32(b + 16, (ip >> 16) << 12 | fop);
        put32(b + 20, 0xffff0000u | (dp & 0xffff));
        put32(b + 24, (dp >> 16) << 12);
    } else {
        put32(b + 12, ip);
        put32(b + 16, f->fcs | fop << 16);
        put32(b + 20, dp);
        put32(b + 24, 0xffff0000u | f->fds);
    }
    return 28;
}

/* Load the environment image; returns the non-empty mask of the loaded tag
 * word (the caller retags after loading registers). */
static unsigned env_load(struct cpu *cpu, const struct insn *in, const uint8_t *b)
{
    struct fpu *f = &cpu->fpu;
    bool real = env_real_mode(cpu);
    uint16_t cw, tw;
    if (in->osz == 2) {
        cw = get16(b);
        f->fsw = get16(b + 2);
        tw = get16(b + 4);
        if (real) {
            f->fip = get16(b + 6) | (uint32_t)(get16(b + 8) >> 12) << 16;
            f->fop = get16(b + 8) & 0x7ff;
            f->fdp = get16(b + 10) | (uint32_t)(get16(b + 12) >> 12) << 16;
            f->fcs = f->fds = 0;
        } else {
            f->fip = get16(b + 6);
            f->fcs = get16(b + 8);
            f->fdp = get16(b + 10);
            f->fds = get16(b + 12);
            f->fop = 0;
        }
    } else {
        cw = get16(b);
        f->fsw = get16(b + 4);
        tw = get16(b + 8);
        if (real) {
            f->fip = (get32(b + 12) & 0xffff) | ((get32(b + 16) >> 12) & 0xffff) << 16;
            f->fop = get32(b + 16) & 0x7ff;
            f->fdp = (get32(b + 20) & 0xffff) | ((get32(b + 24) >> 12) & 0xffff) << 16;
            f->fcs = f->fds = 0;
        } else {
            f->fip = get32(b + 12);
            f->fcs = get16(b + 16);
            f->fop = (get32(b + 16) >> 16) & 0x7ff;
            f->fdp = get32(b + 20);
            f->fds = get16(b + 24);
        }
    }
    f->fcw = (uint16_t)((cw & FCW_WRITABLE) | FCW_FIXED1);
    unsigned nonempty = 0;
    for (unsigned p = 0; p < 8; p++)
        if (((tw >> (2 * p)) & 3) != TAG_EMPTY)
            nonempty |= 1u << p;
    return nonempty;
}

/* D9 /6: store the environment, then mask all exceptions. */
void op_fnstenv_M(struct cpu *cpu, const struct insn *in)
{
    uint8_t b[28];
    x87_check(cpu);
    unsigned n = env_store(cpu, in, b);
    mem_write_buf(cpu, in->seg, insn_ea(cpu, in), b, n);
    cpu->fpu.fcw |= FSW_EXC;
    x87_update_es(&cpu->fpu);
}

/* D9 /4 */
void op_fldenv_M(struct cpu *cpu, const struct insn *in)
{
    uint8_t b[28];
    x87_enter(cpu);
    unsigned n = in->osz == 2 ? 14 : 28;
    mem_read_buf(cpu, in->seg, insn_ea(cpu, in), b, n);
    unsigned nonempty = env_load(cpu, in, b);
    x87_retag(&cpu->fpu, nonempty);
    x87_update_es(&cpu->fpu);
}

/* DD /6: environment + ST(0)..ST(7) (10 bytes each), then FNINIT. */
void op_fnsave_M(struct cpu *cpu, const struct insn *in)
{
    uint8_t b[28 + 80];
    struct fpu *f = &cpu->fpu;
    x87_check(cpu);
    unsigned n = env_store(cpu, in, b);
    for (unsigned i = 0; i < 8; i++)
        x87_store_reg_bytes(b + n + 10 * i, x87_st(f, i));
    mem_write_buf(cpu, in->seg, insn_ea(cpu, in), b, n + 80);
    x87_init_state(f);
}

/* DD /4 */
void op_frstor_M(struct cpu *cpu, const struct insn *in)
{
    uint8_t b[28 + 80];
    struct fpu *f = &cpu->fpu;
    x87_enter(cpu);
    unsigned n = in->osz == 2 ? 14 : 28;
    mem_read_buf(cpu, in->seg, insn_ea(cpu, in), b, n + 80);
    unsigned nonempty = env_load(cpu, in, b);
    for (unsigned i = 0; i < 8; i++)
        x87_load_reg_bytes(x87_st(f, i), b + n + 10 * i);
    x87_retag(f, nonempty);
    x87_update_es(f);
}
