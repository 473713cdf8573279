/*
 * ops_sse_fp.c — SSE/SSE2/SSE3/SSE4.1 floating point: arithmetic
 * (ADD/SUB/MUL/DIV/MIN/MAX/SQRT/RCP/RSQRT in PS/PD/SS/SD forms,
 * ADDSUB, HADD, HSUB), compares (CMPccPS/PD/SS/SD, UCOMISS/SD, COMISS/SD),
 * conversions, ROUNDPS/PD/SS/SD, DPPS/DPPD and the blends.
 *
 * The format of most opcodes is chosen by the mandatory prefix (none PS,
 * 66 PD, F3 SS, F2 SD; SDM Vol.2 Table A-3 opcode map) and the operation by
 * the opcode, so one handler serves a whole opcode column.  Every result
 * is computed by the host SSE unit under the guest's MXCSR (FP_COMPUTE in
 * ops_sse_priv.h): rounding, FTZ/DAZ, NaN propagation, approximations
 * (RCP/RSQRT) and the exception flags are the host's own.
 *
 * Memory operands: packed forms read an aligned m128 (#GP(0) otherwise,
 * SDM Vol.1 11.4.1); scalar forms read m32/m64 without alignment.
 */
#include "cpu/ops_sse_priv.h"

#define PSI(x) _mm_castps_si128(x)
#define PDI(x) _mm_castpd_si128(x)
#define IPS(x) _mm_castsi128_ps(x)
#define IPD(x) _mm_castsi128_pd(x)

/* ---------- arithmetic ---------- */

#define ARITH4(opc, op)                                                            \
    case (opc) << 2 | FMT_PS: return FPASM(#op "ps", a, b);                       \
    case (opc) << 2 | FMT_PD: return FPASM(#op "pd", a, b);                       \
    case (opc) << 2 | FMT_SS: return FPASM(#op "ss", a, b);                       \
    case (opc) << 2 | FMT_SD: return FPASM(#op "sd", a, b);

#define ARITH_P2(opc, op)                                                          \
    case (opc) << 2 | FMT_PS: return FPASM(#op "ps", a, b);                       \
    case (opc) << 2 | FMT_PD: return FPASM(#op "pd", a, b);

/* The scalar forms of SQRT/RSQRT/RCP merge into a like the hardware does. */
static __m128i fp_arith(unsigned opc, unsigned fmt, __m128i a, __m128i b)
{
    switch (opc << 2 | fmt) {
        ARITH4(0x51, sqrt)
        ARITH4(0x58, add)
        ARITH4(0x59, mul)
        ARITH4(0x5c, sub)
        ARITH4(0x5d, min)
        ARITH4(0x5e, div)
        ARITH4(0x5f, max)
        ARITH_P2(0x7c, hadd)
        ARITH_P2(0x7d, hsub)
        ARITH_P2(0xd0, addsub)
    case 0x52 << 2 | FMT_PS: return FPASM("rsqrtps", a, b);
    case 0x52 << 2 | FMT_SS: return FPASM("rsqrtss", a, b);
    case 0x53 << 2 | FMT_PS: return FPASM("rcpps", a, b);
    case 0x53 << 2 | FMT_SS: return FPASM("rcpss", a, b);
    default: return a; /* not routed by the table */
    }
}

/* 0F 51-53, 58-5F (PS/PD/SS/SD by prefix); 0F 7C/7D HADD/HSUB and 0F D0
 * ADDSUB (66 PD, F2 PS). */
void op_fparith_VxWx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned fmt = sse_fmt(in);
    if (fmt == FMT_SD && (in->opc == 0x7c || in->opc == 0x7d || in->opc == 0xd0))
        fmt = FMT_PS;
    __m128i b = sse_src(cpu, in, fmt_msize(fmt), true), r;
    xmm_t *d = xreg(cpu, in->reg);
    __m128i a = xv(d);
    FP_COMPUTE(cpu, r, a, b, fp_arith(in->opc, fmt, a, b));
    xs(d, r);
}

/* ---------- compares ---------- */

#define CMP4(pred)                                                                 \
    case (pred) << 2 | FMT_PS: return FPASM_I("cmpps", pred, a, b);               \
    case (pred) << 2 | FMT_PD: return FPASM_I("cmppd", pred, a, b);               \
    case (pred) << 2 | FMT_SS: return FPASM_I("cmpss", pred, a, b);               \
    case (pred) << 2 | FMT_SD: return FPASM_I("cmpsd", pred, a, b);

/* Predicates 0-7 of the legacy encoding (SDM CMPPS Table 3-1): EQ LT LE
 * UNORD NEQ NLT NLE ORD; imm8[7:3] are ignored. */
static __m128i fp_cmp(unsigned pred, unsigned fmt, __m128i a, __m128i b)
{
    switch ((pred & 7) << 2 | fmt) {
        CMP4(0) CMP4(1) CMP4(2) CMP4(3) CMP4(4) CMP4(5) CMP4(6) CMP4(7)
    default: return a;
    }
}

/* CMPPS/CMPPD/CMPSS/CMPSD (0F C2 /r ib) */
void op_fpcmp_VxWxIb(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned fmt = sse_fmt(in);
    __m128i b = sse_src(cpu, in, fmt_msize(fmt), true), r;
    xmm_t *d = xreg(cpu, in->reg);
    __m128i a = xv(d);
    FP_COMPUTE(cpu, r, a, b, fp_cmp((unsigned)in->imm, fmt, a, b));
    xs(d, r);
}

/* UCOMISS (0F 2E), COMISS (0F 2F), UCOMISD/COMISD (66): ZF, PF, CF from
 * the comparison, OF/SF/AF cleared (SDM COMISS). */
void op_ucomis_VxWx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    bool dbl = in->pfx66;
    __m128i b = sse_src(cpu, in, dbl ? 8 : 4, false);
    __m128i a = xv(xreg(cpu, in->reg));
    uint8_t z, p, c;
    uint32_t host = fp_enter(cpu);
    FP_FENCE(a);
    FP_FENCE(b);
#define COMI(insn)                                                                 \
    __asm__ volatile(insn " %[b], %[a]\n\tsetz %[z]\n\tsetp %[p]\n\tsetc %[c]"    \
                     : [z] "=q"(z), [p] "=q"(p), [c] "=q"(c)                       \
                     : [a] "x"(a), [b] "x"(b)                                      \
                     : "cc")
    switch ((in->opc & 1) << 1 | dbl) {
    case 0: COMI("ucomiss"); break;
    case 1: COMI("ucomisd"); break;
    case 2: COMI("comiss"); break;
    default: COMI("comisd"); break;
    }
#undef COMI
    sse_fp_flags(cpu, fp_leave(host));
    flags_set(cpu, FL_ARITH, (z ? FL_ZF : 0) | (p ? FL_PF : 0) | (c ? FL_CF : 0));
}

/* ---------- conversions ---------- */

/* 0F 5A: CVTPS2PD (m64) CVTPD2PS (66) CVTSS2SD (F3, m32) CVTSD2SS (F2, m64)
 * 0F 5B: CVTDQ2PS CVTPS2DQ (66) CVTTPS2DQ (F3)
 * 0F E6: CVTTPD2DQ (66) CVTDQ2PD (F3, m64) CVTPD2DQ (F2) */
static unsigned cvt_msize(unsigned opc, unsigned fmt)
{
    if (opc == 0x5a)
        return fmt == FMT_PD ? 16 : fmt == FMT_SS ? 4 : 8;
    if (opc == 0xe6 && fmt == FMT_SS)
        return 8;
    return 16;
}

static __m128i fp_cvt(unsigned opc, unsigned fmt, __m128i a, __m128i b)
{
    switch (opc << 2 | fmt) {
    case 0x5a << 2 | FMT_PS: return FPASM("cvtps2pd", a, b);
    case 0x5a << 2 | FMT_PD: return FPASM("cvtpd2ps", a, b);
    case 0x5a << 2 | FMT_SS: return FPASM("cvtss2sd", a, b);
    case 0x5a << 2 | FMT_SD: return FPASM("cvtsd2ss", a, b);
    case 0x5b << 2 | FMT_PS: return FPASM("cvtdq2ps", a, b);
    case 0x5b << 2 | FMT_PD: return FPASM("cvtps2dq", a, b);
    case 0x5b << 2 | FMT_SS: return FPASM("cvttps2dq", a, b);
    case 0xe6 << 2 | FMT_PD: return FPASM("cvttpd2dq", a, b);
    case 0xe6 << 2 | FMT_SS: return FPASM("cvtdq2pd", a, b);
    case 0xe6 << 2 | FMT_SD: return FPASM("cvtpd2dq", a, b);
    default: return a;
    }
}

void op_cvt_VxWx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned fmt = sse_fmt(in);
    __m128i b = sse_src(cpu, in, cvt_msize(in->opc, fmt), true), r;
    xmm_t *d = xreg(cpu, in->reg);
    __m128i a = xv(d);
    FP_COMPUTE(cpu, r, a, b, fp_cvt(in->opc, fmt, a, b));
    xs(d, r);
}

/* CVTSI2SS (F3 0F 2A) / CVTSI2SD (F2 0F 2A) xmm, r/m32/64 (REX.W) */
void op_cvtsi2s_VxEy(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned n = sse_gpr_size(in);
    uint64_t x = op_read_rm(cpu, in, n);
    xmm_t *d = xreg(cpu, in->reg);
    __m128i r = xv(d);
    uint32_t x32 = (uint32_t)x;
    uint32_t host = fp_enter(cpu);
    FP_FENCE(r);
    switch ((in->rep == 0xf2) << 1 | (n == 8)) {
    case 0: __asm__ volatile("cvtsi2ssl %1, %0" : "+x"(r) : "r"(x32)); break;
    case 1: __asm__ volatile("cvtsi2ssq %1, %0" : "+x"(r) : "r"(x)); break;
    case 2: __asm__ volatile("cvtsi2sdl %1, %0" : "+x"(r) : "r"(x32)); break;
    default: __asm__ volatile("cvtsi2sdq %1, %0" : "+x"(r) : "r"(x)); break;
    }
    sse_fp_flags(cpu, fp_leave(host));
    xs(d, r);
}

/* CVT(T)SS2SI (F3 0F 2D/2C), CVT(T)SD2SI (F2 0F 2D/2C) r32/64, xmm/m32/64.
 * Out-of-range values give the integer indefinite and #I (host behaviour). */
void op_cvts2si_GyWx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned n = sse_gpr_size(in);
    bool sd = in->rep == 0xf2, trunc = in->opc == 0x2c;
    __m128i b = sse_src(cpu, in, sd ? 8 : 4, false);
    uint64_t r = 0;
    uint32_t r32 = 0;
    uint32_t host = fp_enter(cpu);
    FP_FENCE(b);
#define CVT2SI(insn, out) __asm__ volatile(insn " %1, %0" : "=r"(out) : "x"(b))
    switch ((unsigned)sd << 2 | (unsigned)trunc << 1 | (n == 8)) {
    case 0: CVT2SI("cvtss2si", r32); break;
    case 1: CVT2SI("cvtss2si", r); break;
    case 2: CVT2SI("cvttss2si", r32); break;
    case 3: CVT2SI("cvttss2si", r); break;
    case 4: CVT2SI("cvtsd2si", r32); break;
    case 5: CVT2SI("cvtsd2si", r); break;
    case 6: CVT2SI("cvttsd2si", r32); break;
    default: CVT2SI("cvttsd2si", r); break;
    }
#undef CVT2SI
    sse_fp_flags(cpu, fp_leave(host));
    reg_set(cpu, in->reg, n, n == 8 ? r : r32);
}

/* CVTPI2PS (0F 2A): two int32 from mm/m64 into the low half, high half
 * kept; CVTPI2PD (66 0F 2A): into both doubles (exact).  An MMX register
 * source makes the x87→MMX transition (SDM CVTPI2PS).  The host's
 * CVTDQ2PS/PD on the value zero-extended to 128 bits does the work (the
 * zero upper elements convert exactly). */
void op_cvtpi2p_VxQq(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    if (in->mod == 3)
        mmx_check(cpu);
    __m128i b = q2v(mmx_src(cpu, in, 8)), r;
    xmm_t *d = xreg(cpu, in->reg);
    __m128i a = xv(d);
    if (in->pfx66) {
        FP_COMPUTE(cpu, r, a, b, FPASM("cvtdq2pd", a, b));
    } else {
        FP_COMPUTE(cpu, r, a, b, FPASM("cvtdq2ps", a, b));
        r = _mm_unpacklo_epi64(r, _mm_unpackhi_epi64(a, a));
    }
    xs(d, r);
    if (in->mod == 3)
        fpu_mmx_enter(cpu);
}

/* CVT(T)PS2PI mm, xmm/m64 (0F 2D/2C), CVT(T)PD2PI mm, xmm/m128 (66) */
void op_cvtp2pi_PqWx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    mmx_check(cpu);
    bool pd = in->pfx66, trunc = in->opc == 0x2c;
    __m128i b = sse_src(cpu, in, pd ? 16 : 8, true), a = b, r;
    if (!pd)
        b = _mm_move_epi64(b); /* only the two low floats may raise exceptions */
    switch ((unsigned)pd << 1 | trunc) {
    case 0: FP_COMPUTE(cpu, r, a, b, FPASM("cvtps2dq", a, b)); break;
    case 1: FP_COMPUTE(cpu, r, a, b, FPASM("cvttps2dq", a, b)); break;
    case 2: FP_COMPUTE(cpu, r, a, b, FPASM("cvtpd2dq", a, b)); break;
    default: FP_COMPUTE(cpu, r, a, b, FPASM("cvttpd2dq", a, b)); break;
    }
    fpu_mmx_set(cpu, in->reg & 7, v2q(r));
}

/* ---------- SSE4.1 rounding, dot products, blends ---------- */

/* ROUNDPS (66 0F 3A 08), ROUNDPD (09), ROUNDSS (0A, m32), ROUNDSD (0B, m64):
 * imm[1:0] rounding mode unless imm[2] (use MXCSR.RC); imm[3] suppresses
 * the precision exception (SDM ROUNDPS).  The host rounds with imm 4 (use
 * MXCSR) under a MXCSR whose RC is the one the guest selected. */
void op_round_VxWxIb(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned fmt = in->opc & 3, imm = (uint8_t)in->imm; /* 08-0B: PS PD SS SD */
    __m128i b = sse_src(cpu, in, fmt_msize(fmt), true), r = xv(xreg(cpu, in->reg));
    uint32_t mx = cpu->fpu.mxcsr;
    if (!(imm & 4))
        mx = (mx & ~MXCSR_RC) | (imm & 3) << MXCSR_RC_SHIFT;
    uint32_t host = fp_enter_mx(mx);
    FP_FENCE(b);
    FP_FENCE(r);
    switch (fmt) {
    case FMT_PS: r = FPASM_I("roundps", 4, r, b); break;
    case FMT_PD: r = FPASM_I("roundpd", 4, r, b); break;
    case FMT_SS: r = FPASM_I("roundss", 4, r, b); break;
    default: r = FPASM_I("roundsd", 4, r, b); break;
    }
    unsigned fl = fp_leave(host);
    if (imm & 8)
        fl &= ~MXCSR_PE;
    sse_fp_flags(cpu, fl);
    xs(xreg(cpu, in->reg), r);
}

/* All-ones in each 'esz'-byte element whose bit is set in 'bits'. */
static __m128i lane_mask(unsigned bits, unsigned esz)
{
    xmm_t m;
    for (unsigned i = 0; i < 16; i++)
        m.b[i] = (bits >> (i / esz)) & 1 ? 0xff : 0;
    return xv(&m);
}

/* DPPS (66 0F 3A 40) / DPPD (41): products of the elements selected by
 * imm[7:4], summed, stored in the elements selected by imm[3:0] (others
 * +0.0).  Which NaN a sum of several NaN products returns is not specified
 * by the SDM's pseudocode order, so the host instruction itself runs, with
 * the product mask as a constant immediate (16 / 4 variants) and every
 * output element; the output mask is applied afterwards (bitwise). */
#define DPPS_CASE(i) case i: r = FPASM_I("dpps", (i) << 4 | 15, a, b); break;
#define DPPD_CASE(i) case i: r = FPASM_I("dppd", (i) << 4 | 3, a, b); break;
static __m128i fp_dp(bool pd, unsigned sel, __m128i a, __m128i b)
{
    __m128i r = a;
    if (pd) {
        switch (sel & 3) {
            DPPD_CASE(0) DPPD_CASE(1) DPPD_CASE(2) DPPD_CASE(3)
        }
        return r;
    }
    switch (sel & 15) {
        DPPS_CASE(0) DPPS_CASE(1) DPPS_CASE(2) DPPS_CASE(3)
        DPPS_CASE(4) DPPS_CASE(5) DPPS_CASE(6) DPPS_CASE(7)
        DPPS_CASE(8) DPPS_CASE(9) DPPS_CASE(10) DPPS_CASE(11)
        DPPS_CASE(12) DPPS_CASE(13) DPPS_CASE(14) DPPS_CASE(15)
    }
    return r;
}

void op_dpps_VxWxIb(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    bool pd = in->opc & 1;
    unsigned imm = (uint8_t)in->imm;
    __m128i b = sse_src(cpu, in, 16, true), r;
    xmm_t *d = xreg(cpu, in->reg);
    __m128i a = xv(d);
    FP_COMPUTE(cpu, r, a, b, fp_dp(pd, imm >> 4, a, b));
    xs(d, _mm_and_si128(r, lane_mask(imm & 15, pd ? 8 : 4)));
}

/* BLENDPS (66 0F 3A 0C), BLENDPD (0D), PBLENDW (0E): imm bit i set takes
 * element i from the source. */
void op_blend_VxWxIb(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned esz = in->opc == 0x0c ? 4 : in->opc == 0x0d ? 8 : 2;
    __m128i b = sse_src(cpu, in, 16, true);
    xmm_t *d = xreg(cpu, in->reg);
    xs(d, _mm_blendv_epi8(xv(d), b, lane_mask((uint8_t)in->imm, esz)));
}

/* PBLENDVB (66 0F 38 10), BLENDVPS (14), BLENDVPD (15): the sign bit of
 * each element of XMM0 selects the source element. */
void op_blendv_VxWx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    __m128i b = sse_src(cpu, in, 16, true), m = xv(xreg(cpu, 0));
    xmm_t *d = xreg(cpu, in->reg);
    __m128i a = xv(d), r;
    if (in->opc == 0x14)
        r = PSI(_mm_blendv_ps(IPS(a), IPS(b), IPS(m)));
    else if (in->opc == 0x15)
        r = PDI(_mm_blendv_pd(IPD(a), IPD(b), IPD(m)));
    else
        r = _mm_blendv_epi8(a, b, m);
    xs(d, r);
}
