/*
 * x87_priv.h — internals shared by the x87 handlers (ops_x87_*.c) and
 * FXSAVE/XSAVE (ops_fxsave.c): status/control word bits, the register stack
 * and tag word, exception bookkeeping and the host-FPU primitives.
 *
 * Register values are kept as host long doubles (the x87 80-bit format:
 * explicit-integer-bit mantissa in bytes 0-7, sign/exponent in bytes 8-9).
 * They are only ever moved with memcpy and handed to the host FPU by
 * address, so every bit pattern (SNaN, pseudo-denormal, unnormal) survives.
 *
 * Arithmetic is done by the host x87 itself: each primitive below loads the
 * guest control word with all exceptions masked (precision and rounding
 * control take effect), clears the host exception flags, runs exactly one
 * x87 instruction and returns the host status word; the caller merges its
 * exception flags and condition codes into the guest FSW and applies the
 * guest's unmasked-exception rules (SDM Vol.1 8.5, 4.9.2).  The host control
 * word is restored afterwards, and all eight host stack registers are
 * declared clobbered, so the host stack is empty around every primitive.
 */
#ifndef NESTVM_CPU_X87_PRIV_H
#define NESTVM_CPU_X87_PRIV_H

#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/mem.h"
#include "cpu/ops_x87.h"

/* FPU status word (SDM Vol.1 8.1.3, Figure 8-4) */
#define FSW_IE 0x0001u
#define FSW_DE 0x0002u
#define FSW_ZE 0x0004u
#define FSW_OE 0x0008u
#define FSW_UE 0x0010u
#define FSW_PE 0x0020u
#define FSW_SF 0x0040u
#define FSW_ES 0x0080u
#define FSW_C0 0x0100u
#define FSW_C1 0x0200u
#define FSW_C2 0x0400u
#define FSW_TOP 0x3800u
#define FSW_C3 0x4000u
#define FSW_B 0x8000u
#define FSW_EXC 0x003fu /* the six maskable exception flags */
#define FSW_CC (FSW_C0 | FSW_C1 | FSW_C2 | FSW_C3)

/* Control word: bit 6 reads as 1, bits 13-15 as 0 (SDM Vol.1 8.1.5). */
#define FCW_INIT 0x037fu
#define FCW_WRITABLE 0x1f3fu
#define FCW_FIXED1 0x0040u

/* Tag values (SDM Vol.1 8.1.7) */
enum { TAG_VALID = 0, TAG_ZERO = 1, TAG_SPECIAL = 2, TAG_EMPTY = 3 };

#define MXCSR_INIT 0x1f80u /* SDM Vol.1 10.2.3 */

/* ---- little-endian image fields (FSAVE/FXSAVE/XSAVE layouts) ---- */

static inline uint16_t get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static inline uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline void put16(uint8_t *p, uint32_t v)
{
    uint16_t x = (uint16_t)v;
    memcpy(p, &x, 2);
}

static inline void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static inline void put64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* ---- 80-bit values ---- */

static inline uint64_t f80_mant(const long double *v)
{
    uint64_t m;
    memcpy(&m, v, 8);
    return m;
}

static inline uint16_t f80_se(const long double *v)
{
    uint16_t se;
    memcpy(&se, (const uint8_t *)v + 8, 2);
    return se;
}

static inline void f80_set(long double *v, uint16_t se, uint64_t mant)
{
    memset(v, 0, sizeof(*v));
    memcpy(v, &mant, 8);
    memcpy((uint8_t *)v + 8, &se, 2);
}

/* dst may equal src (FXCH ST(0), FST ST(0)). */
static inline void f80_copy(long double *dst, const long double *src)
{
    memmove(dst, src, sizeof(*dst));
}

/* The QNaN floating-point indefinite (SDM Vol.1 4.8.3.7, Table 4-3). */
static inline void f80_indefinite(long double *v)
{
    f80_set(v, 0xffff, 0xc000000000000000ull);
}

/* Tag a non-empty register from its contents (SDM Vol.1 8.1.7). */
static inline unsigned f80_tag(const long double *v)
{
    unsigned exp = f80_se(v) & 0x7fff;
    uint64_t m = f80_mant(v);
    if (exp == 0)
        return m == 0 ? TAG_ZERO : TAG_SPECIAL; /* zero, denormal, pseudo-denormal */
    if (exp == 0x7fff || !(m >> 63))
        return TAG_SPECIAL; /* NaN, infinity, unnormal/pseudo formats */
    return TAG_VALID;
}

/* ---- register stack ---- */

static inline unsigned x87_top(const struct fpu *f)
{
    return (f->fsw >> 11) & 7;
}

static inline void x87_set_top(struct fpu *f, unsigned top)
{
    f->fsw = (uint16_t)((f->fsw & ~FSW_TOP) | ((top & 7) << 11));
}

/* Physical register number of ST(i). */
static inline unsigned x87_phys(const struct fpu *f, unsigned i)
{
    return (x87_top(f) + i) & 7;
}

static inline unsigned x87_ptag(const struct fpu *f, unsigned phys)
{
    return (f->ftw >> (2 * phys)) & 3;
}

static inline void x87_set_ptag(struct fpu *f, unsigned phys, unsigned tag)
{
    f->ftw = (uint16_t)((f->ftw & ~(3u << (2 * phys))) | (tag << (2 * phys)));
}

static inline bool x87_empty(const struct fpu *f, unsigned i)
{
    return x87_ptag(f, x87_phys(f, i)) == TAG_EMPTY;
}

static inline long double *x87_st(struct fpu *f, unsigned i)
{
    return &f->st[x87_phys(f, i)];
}

static inline void x87_write(struct fpu *f, unsigned i, const long double *v)
{
    unsigned p = x87_phys(f, i);
    f80_copy(&f->st[p], v);
    x87_set_ptag(f, p, f80_tag(v));
}

static inline void x87_write_indefinite(struct fpu *f, unsigned i)
{
    long double v;
    f80_indefinite(&v);
    x87_write(f, i, &v);
}

static inline void x87_pop(struct fpu *f)
{
    x87_set_ptag(f, x87_top(f), TAG_EMPTY);
    x87_set_top(f, x87_top(f) + 1);
}

static inline void x87_push(struct fpu *f, const long double *v)
{
    x87_set_top(f, x87_top(f) - 1);
    x87_write(f, 0, v);
}

/* Recompute every non-empty tag from the register contents (after FLDENV,
 * FRSTOR, FXRSTOR load only the empty/non-empty information). */
static inline void x87_retag(struct fpu *f, unsigned nonempty_mask)
{
    uint16_t tw = 0;
    for (unsigned p = 0; p < 8; p++)
        tw |= (uint16_t)((nonempty_mask >> p & 1 ? f80_tag(&f->st[p]) : TAG_EMPTY) << (2 * p));
    f->ftw = tw;
}

/* Abridged tag (FXSAVE): bit p = physical register p is not empty. */
static inline uint8_t x87_abridged_tag(const struct fpu *f)
{
    uint8_t t = 0;
    for (unsigned p = 0; p < 8; p++)
        if (x87_ptag(f, p) != TAG_EMPTY)
            t |= (uint8_t)(1u << p);
    return t;
}

/* ---- exceptions ---- */

/* ES and B follow "an unmasked exception flag is set" (SDM Vol.1 8.1.3.1). */
static inline void x87_update_es(struct fpu *f)
{
    if (f->fsw & ~f->fcw & FSW_EXC)
        f->fsw |= FSW_ES | FSW_B;
    else
        f->fsw &= (uint16_t)~(FSW_ES | FSW_B);
}

static inline void x87_raise(struct fpu *f, unsigned exc)
{
    f->fsw |= (uint16_t)exc;
    x87_update_es(f);
}

/* Exceptions in 'exc' that the guest has unmasked. */
static inline unsigned x87_unmasked(const struct fpu *f, unsigned exc)
{
    return exc & ~f->fcw & FSW_EXC;
}

static inline void x87_set_cc(struct fpu *f, unsigned mask, unsigned val)
{
    f->fsw = (uint16_t)((f->fsw & ~mask) | (val & mask));
}

/* Guest control word as loaded into the host: all exceptions masked. */
static inline uint16_t x87_hcw(const struct fpu *f)
{
    return (uint16_t)(f->fcw | FSW_EXC);
}

/* ---- checks every handler starts with (SDM Vol.3 2.5 CR0.EM/TS/MP/NE) ---- */

/* #NM when CR0.EM or CR0.TS (SDM Vol.3 Table 2-2). */
static inline void x87_check(struct cpu *cpu)
{
    if (unlikely(cpu->cr0 & (CR0_EM | CR0_TS)))
        cpu_fault(cpu, EXC_NM, NO_ERR);
}

/* A pending unmasked exception is signalled by the next waiting x87
 * instruction (SDM Vol.1 8.6): #MF when CR0.NE=1.  With CR0.NE=0 the
 * PC-style FERR#/IGNNE# routing to IRQ13 is not modelled; ES stays set. */
static inline void x87_check_pending(struct cpu *cpu)
{
    if (unlikely(cpu->fpu.fsw & FSW_ES) && (cpu->cr0 & CR0_NE))
        cpu_fault(cpu, EXC_MF, NO_ERR);
}

/* Prologue of every waiting x87 instruction. */
static inline void x87_enter(struct cpu *cpu)
{
    x87_check(cpu);
    x87_check_pending(cpu);
}

/* FOP/FIP/FCS (and FDP/FDS for memory forms) of the last non-control
 * instruction (SDM Vol.1 8.1.8, 8.1.9).  Called at the commit point. */
static inline void x87_ptrs(struct cpu *cpu, const struct insn *in)
{
    struct fpu *f = &cpu->fpu;
    f->fip = cpu->rip;
    f->fcs = cpu->seg[SEG_CS].sel;
    f->fop = (uint16_t)(((in->opc & 7u) << 8) | ((unsigned)in->mod << 6) |
                        ((in->reg & 7u) << 3) | (in->rm & 7u));
    if (in->mod != 3) {
        f->fdp = insn_ea(cpu, in);
        f->fds = cpu->seg[in->seg < 6 ? in->seg : SEG_DS].sel;
    }
}

/* ---- host primitives ---- */

#define X87H_PRE "fnstcw %[hcw]\n\tfldcw %[gcw]\n\t"
#define X87H_POST "\n\tfnstsw %[sw]\n\tfnclex\n\tfldcw %[hcw]\n\t"
#define X87H_CLOBBER "st", "st(1)", "st(2)", "st(3)", "st(4)", "st(5)", "st(6)", "st(7)", "memory"

/*
 * Register-operand primitives take a host environment image (FLDENV 32-bit
 * layout) built from the guest: its control word with exceptions masked,
 * its condition codes, TOP 0, all tags empty.  Most load only the control
 * word from it; the "C" flavours load the whole image, because the
 * instruction may leave condition codes unchanged (FPREM, FSIN ... on NaN
 * operands) and the guest's must show through, not the host's.
 */
struct x87_henv {
    uint32_t cw, sw, tw, ip, cs, dp, ds;
};

static inline void x87_henv_init(const struct fpu *f, struct x87_henv *e)
{
    e->cw = 0xffff0000u | x87_hcw(f);
    e->sw = 0xffff0000u | (f->fsw & FSW_CC);
    e->tw = 0xffffffffu;
    e->ip = e->cs = e->dp = 0;
    e->ds = 0xffff0000u;
}

#define X87H_LDCW "fnstcw %[hcw]\n\tfldcw %[env]\n\t"
#define X87H_LDENV "fnstcw %[hcw]\n\tfldenv %[env]\n\t"

typedef uint16_t x87h_bin_fn(const struct x87_henv *e, const long double *a,
                             const long double *b, long double *r);
typedef uint16_t x87h_un_fn(const struct x87_henv *e, const long double *a, long double *r);
typedef uint16_t x87h_un2_fn(const struct x87_henv *e, const long double *a, long double *r0,
                             long double *r1);
typedef uint16_t x87h_mem_fn(uint16_t cw, const long double *a, const void *m, long double *r);
typedef uint16_t x87h_cmp_fn(uint16_t cw, const long double *a, const long double *b);
typedef uint16_t x87h_cmpm_fn(uint16_t cw, const long double *a, const void *m);
typedef uint16_t x87h_ld_fn(uint16_t cw, const void *m, long double *r);
typedef uint16_t x87h_st_fn(uint16_t cw, const long double *a, void *m);
typedef uint16_t x87h_const_fn(uint16_t cw, long double *r);

/* r = a OP b with a in ST(0), b in ST(1); b is kept (FADD, FPREM, FSCALE, ...).
 * With 'pop' the instruction pops (FYL2X, FYL2XP1, FPATAN). */
#define X87H_BIN_(name, insn, pre, pop)                                               \
    static inline uint16_t x87h_##name(const struct x87_henv *e, const long double *a, \
                                       const long double *b, long double *r)          \
    {                                                                                 \
        uint16_t sw, hcw;                                                             \
        __asm__ volatile(pre "fldt %[b]\n\tfldt %[a]\n\tfnclex\n\t" insn X87H_POST      \
                         "fstpt %[r]" pop                                             \
                         : [r] "=m"(*r), [sw] "=m"(sw), [hcw] "=m"(hcw)               \
                         : [a] "m"(*a), [b] "m"(*b), [env] "m"(*e)                    \
                         : X87H_CLOBBER);                                             \
        return sw;                                                                    \
    }
#define X87H_BIN(name, insn) X87H_BIN_(name, insn, X87H_LDCW, "\n\tfstp %%st(0)")
#define X87H_BINC(name, insn) X87H_BIN_(name, insn, X87H_LDENV, "\n\tfstp %%st(0)")
#define X87H_BINP(name, insn) X87H_BIN_(name, insn, X87H_LDCW, "")

/* r = OP a (FSQRT, FSIN, ...). */
#define X87H_UN_(name, insn, pre)                                                       \
    static inline uint16_t x87h_##name(const struct x87_henv *e, const long double *a,  \
                                       long double *r)                                  \
    {                                                                                   \
        uint16_t sw, hcw;                                                               \
        __asm__ volatile(pre "fldt %[a]\n\tfnclex\n\t" insn X87H_POST "fstpt %[r]"      \
                         : [r] "=m"(*r), [sw] "=m"(sw), [hcw] "=m"(hcw)                 \
                         : [a] "m"(*a), [env] "m"(*e)                                   \
                         : X87H_CLOBBER);                                               \
        return sw;                                                                      \
    }
#define X87H_UN(name, insn) X87H_UN_(name, insn, X87H_LDCW)
#define X87H_UNC(name, insn) X87H_UN_(name, insn, X87H_LDENV)

/* Two results: r0 = new ST(0), r1 = new ST(1).  With 'cond', the
 * instruction pushes nothing when it sets C2 (FPTAN, FSINCOS out of range):
 * then only r0 (the unchanged operand) is stored. */
#define X87H_UN2(name, insn, cond)                                                      \
    static inline uint16_t x87h_##name(const struct x87_henv *e, const long double *a,  \
                                       long double *r0, long double *r1)                \
    {                                                                                   \
        uint16_t sw, hcw;                                                               \
        __asm__ volatile(X87H_LDENV "fldt %[a]\n\tfnclex\n\t" insn X87H_POST            \
                         "fstpt %[r0]\n\t"                                              \
                         "testw %[c2], %[sw]\n\t"                                       \
                         "jnz 1f\n\t"                                                   \
                         "fstpt %[r1]\n"                                                \
                         "1:"                                                           \
                         : [r0] "=m"(*r0), [r1] "+m"(*r1), [sw] "=m"(sw), [hcw] "=m"(hcw) \
                         : [a] "m"(*a), [env] "m"(*e), [c2] "i"((cond) ? 0x400 : 0)      \
                         : X87H_CLOBBER, "cc");                                         \
        return sw;                                                                      \
    }

/* r = a OP m for a memory operand of type T (FADD m32fp, FIMUL m16int, ...). */
#define X87H_MEM(name, insn, T)                                                        \
    static inline uint16_t x87h_##name(uint16_t cw, const long double *a, const void *m, \
                                       long double *r)                                 \
    {                                                                                  \
        uint16_t sw, hcw;                                                              \
        __asm__ volatile(X87H_PRE "fldt %[a]\n\tfnclex\n\t" insn " %[m]" X87H_POST     \
                         "fstpt %[r]"                                                  \
                         : [r] "=m"(*r), [sw] "=m"(sw), [hcw] "=m"(hcw)                \
                         : [a] "m"(*a), [m] "m"(*(const T *)m), [gcw] "m"(cw)          \
                         : X87H_CLOBBER);                                              \
        return sw;                                                                     \
    }

/* Compare ST(0)=a with ST(1)=b; only the status word matters. */
#define X87H_CMP(name, insn)                                                          \
    static inline uint16_t x87h_##name(uint16_t cw, const long double *a,             \
                                       const long double *b)                          \
    {                                                                                 \
        uint16_t sw, hcw;                                                             \
        __asm__ volatile(X87H_PRE "fldt %[b]\n\tfldt %[a]\n\tfnclex\n\t" insn X87H_POST \
                         "fstp %%st(0)\n\tfstp %%st(0)"                               \
                         : [sw] "=m"(sw), [hcw] "=m"(hcw)                             \
                         : [a] "m"(*a), [b] "m"(*b), [gcw] "m"(cw)                    \
                         : X87H_CLOBBER);                                             \
        return sw;                                                                    \
    }

/* Compare ST(0)=a with a memory operand of type T. */
#define X87H_CMPM(name, insn, T)                                                       \
    static inline uint16_t x87h_##name(uint16_t cw, const long double *a, const void *m) \
    {                                                                                  \
        uint16_t sw, hcw;                                                              \
        __asm__ volatile(X87H_PRE "fldt %[a]\n\tfnclex\n\t" insn " %[m]" X87H_POST     \
                         "fstp %%st(0)"                                                \
                         : [sw] "=m"(sw), [hcw] "=m"(hcw)                              \
                         : [a] "m"(*a), [m] "m"(*(const T *)m), [gcw] "m"(cw)          \
                         : X87H_CLOBBER);                                              \
        return sw;                                                                     \
    }

/* Examine ST(0)=a (FTST, FXAM). */
#define X87H_TST(name, insn)                                                         \
    static inline uint16_t x87h_##name(uint16_t cw, const long double *a)            \
    {                                                                                \
        uint16_t sw, hcw;                                                            \
        __asm__ volatile(X87H_PRE "fldt %[a]\n\tfnclex\n\t" insn X87H_POST           \
                         "fstp %%st(0)"                                              \
                         : [sw] "=m"(sw), [hcw] "=m"(hcw)                            \
                         : [a] "m"(*a), [gcw] "m"(cw)                                \
                         : X87H_CLOBBER);                                            \
        return sw;                                                                   \
    }

/* Load a memory operand of type T (FLD m32fp, FILD, FBLD). */
#define X87H_LD(name, insn, T)                                                          \
    static inline uint16_t x87h_##name(uint16_t cw, const void *m, long double *r)      \
    {                                                                                   \
        uint16_t sw, hcw;                                                               \
        __asm__ volatile(X87H_PRE "fnclex\n\t" insn " %[m]" X87H_POST "fstpt %[r]"      \
                         : [r] "=m"(*r), [sw] "=m"(sw), [hcw] "=m"(hcw)                 \
                         : [m] "m"(*(const T *)m), [gcw] "m"(cw)                        \
                         : X87H_CLOBBER);                                               \
        return sw;                                                                      \
    }

/* Store ST(0)=a to a memory operand of type T with a popping form
 * (FSTP m32fp, FISTP, FISTTP, FBSTP). */
#define X87H_ST(name, insn, T)                                                        \
    static inline uint16_t x87h_##name(uint16_t cw, const long double *a, void *m)    \
    {                                                                                 \
        uint16_t sw, hcw;                                                             \
        __asm__ volatile(X87H_PRE "fldt %[a]\n\tfnclex\n\t" insn " %[m]" X87H_POST    \
                         : [m] "=m"(*(T *)m), [sw] "=m"(sw), [hcw] "=m"(hcw)          \
                         : [a] "m"(*a), [gcw] "m"(cw)                                 \
                         : X87H_CLOBBER);                                             \
        return sw;                                                                    \
    }

/* Push a constant (FLD1, FLDPI, ...): the rounding control applies. */
#define X87H_CONST(name, insn)                                                         \
    static inline uint16_t x87h_##name(uint16_t cw, long double *r)                    \
    {                                                                                  \
        uint16_t sw, hcw;                                                              \
        __asm__ volatile(X87H_PRE "fnclex\n\t" insn X87H_POST "fstpt %[r]"             \
                         : [r] "=m"(*r), [sw] "=m"(sw), [hcw] "=m"(hcw)                \
                         : [gcw] "m"(cw)                                               \
                         : X87H_CLOBBER);                                              \
        return sw;                                                                     \
    }

/* 10-byte memory operands (m80fp, m80bcd) */
struct x87_m80 {
    uint8_t b[10];
};

/* ---- shared by the handler files (ops_x87_*.c) ---- */

/* Commit a computed result to ST(dst) (dst >= 8: nothing to write) and pop
 * 'npop' times, or apply the unmasked-exception response (SDM Vol.1 8.5):
 * with an unmasked invalid-operation, denormal or divide-by-zero exception
 * the destination and the stack are left unchanged.  'ccmask' selects the
 * condition codes the instruction defines, taken from 'hsw' (the host
 * status word, or a synthetic one: stack faults pass IE|SF). */
void x87_commit(struct cpu *cpu, const struct insn *in, unsigned dst, const long double *r,
                unsigned hsw, unsigned ccmask, unsigned npop);
/* Stack underflow (SDM Vol.1 8.5.1.1): IE|SF; the condition codes in
 * 'ccmask' (those the instruction defines, C1 included) are cleared, as
 * hardware does; masked response writes the indefinite into ST(dst)
 * (dst < 8) and pops 'npop'. */
void x87_underflow(struct cpu *cpu, const struct insn *in, unsigned dst, unsigned npop,
                   unsigned ccmask);
/* Stack overflow on a push: IE|SF, C1=1; masked response pushes the
 * indefinite.  Returns true when it happened (the caller stops). */
bool x87_push_check(struct cpu *cpu, const struct insn *in);
/* Push a host-computed value (loads, constants). */
void x87_push_result(struct cpu *cpu, const struct insn *in, const long double *r, unsigned hsw);
/* Reset the x87 part to its FNINIT state (SDM Vol.3 Table 9-1). */
void x87_init_state(struct fpu *f);
/* Load / store of an x87 register image in FSAVE/FXSAVE order. */
void x87_load_reg_bytes(long double *dst, const uint8_t *src10);
void x87_store_reg_bytes(uint8_t *dst10, const long double *src);

#endif
