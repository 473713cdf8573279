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
    case (opc) << 2 | FMT_PS: return PSI(_mm_##op##_ps(IPS(a), IPS(b)));          \
    case (opc) << 2 | FMT_PD: return PDI(_mm_##op##_pd(IPD(a), IPD(b)));          \
    case (opc) << 2 | FMT_SS: return PSI(_mm_##op##_ss(IPS(a), IPS(b)));          \
    case (opc) << 2 | FMT_SD: return PDI(_mm_##op##_sd(IPD(a), IPD(b)));

#define ARITH_P2(opc, op)                                                          \
    case (opc) << 2 | FMT_PS: return PSI(_mm_##op##_ps(IPS(a), IPS(b)));          \
    case (opc) << 2 | FMT_PD: return PDI(_mm_##op##_pd(IPD(a), IPD(b)));

static __m128i fp_arith(unsigned opc, unsigned fmt, __m128i a, __m128i b)
{
    switch (opc << 2 | fmt) {
        ARITH4(0x58, add)
        ARITH4(0x59, mul)
        ARITH4(0x5c, sub)
        ARITH4(0x5d, min)
        ARITH4(0x5e, div)
        ARITH4(0x5f, max)
        ARITH_P2(0x7c, hadd)
        ARITH_P2(0x7d, hsub)
        ARITH_P2(0xd0, addsub)
    case 0x51 << 2 | FMT_PS: return PSI(_mm_sqrt_ps(IPS(b)));
    case 0x51 << 2 | FMT_PD: return PDI(_mm_sqrt_pd(IPD(b)));
    case 0x51 << 2 | FMT_SS: return PSI(_mm_move_ss(IPS(a), _mm_sqrt_ss(IPS(b))));
    case 0x51 << 2 | FMT_SD: return PDI(_mm_sqrt_sd(IPD(a), IPD(b)));
    case 0x52 << 2 | FMT_PS: return PSI(_mm_rsqrt_ps(IPS(b)));
    case 0x52 << 2 | FMT_SS: return PSI(_mm_move_ss(IPS(a), _mm_rsqrt_ss(IPS(b))));
    case 0x53 << 2 | FMT_PS: return PSI(_mm_rcp_ps(IPS(b)));
    case 0x53 << 2 | FMT_SS: return PSI(_mm_move_ss(IPS(a), _mm_rcp_ss(IPS(b))));
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

#define CMP4(pred, op)                                                             \
    case (pred) << 2 | FMT_PS: return PSI(_mm_##op##_ps(IPS(a), IPS(b)));         \
    case (pred) << 2 | FMT_PD: return PDI(_mm_##op##_pd(IPD(a), IPD(b)));         \
    case (pred) << 2 | FMT_SS: return PSI(_mm_##op##_ss(IPS(a), IPS(b)));         \
    case (pred) << 2 | FMT_SD: return PDI(_mm_##op##_sd(IPD(a), IPD(b)));

/* Predicates 0-7 of the legacy encoding (SDM CMPPS Table 3-1): EQ LT LE
 * UNORD NEQ NLT NLE ORD; imm8[7:3] are ignored. */
static __m128i fp_cmp(unsigned pred, unsigned fmt, __m128i a, __m128i b)
{
    switch ((pred & 7) << 2 | fmt) {
        CMP4(0, cmpeq)
        CMP4(1, cmplt)
        CMP4(2, cmple)
        CMP4(3, cmpunord)
        CMP4(4, cmpneq)
        CMP4(5, cmpnlt)
        CMP4(6, cmpnle)
        CMP4(7, cmpord)
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
    case 0x5a << 2 | FMT_PS: return PDI(_mm_cvtps_pd(IPS(b)));
    case 0x5a << 2 | FMT_PD: return PSI(_mm_cvtpd_ps(IPD(b)));
    case 0x5a << 2 | FMT_SS: return PDI(_mm_cvtss_sd(IPD(a), IPS(b)));
    case 0x5a << 2 | FMT_SD: return PSI(_mm_cvtsd_ss(IPS(a), IPD(b)));
    case 0x5b << 2 | FMT_PS: return PSI(_mm_cvtepi32_ps(b));
    case 0x5b << 2 | FMT_PD: return _mm_cvtps_epi32(IPS(b));
    case 0x5b << 2 | FMT_SS: return _mm_cvttps_epi32(IPS(b));
    case 0xe6 << 2 | FMT_PD: return _mm_cvttpd_epi32(IPD(b));
    case 0xe6 << 2 | FMT_SS: return PDI(_mm_cvtepi32_pd(b));
    case 0xe6 << 2 | FMT_SD: return _mm_cvtpd_epi32(IPD(b));
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
    long long x = (long long)op_read_rm(cpu, in, n);
    xmm_t *d = xreg(cpu, in->reg);
    __m128i a = xv(d), r;
    bool sd = in->rep == 0xf2;
    uint32_t host = fp_enter(cpu);
    FP_FENCE(a);
    FP_FENCE_R(x);
    if (sd)
        r = PDI(n == 8 ? _mm_cvtsi64_sd(IPD(a), x) : _mm_cvtsi32_sd(IPD(a), (int)x));
    else
        r = PSI(n == 8 ? _mm_cvtsi64_ss(IPS(a), x) : _mm_cvtsi32_ss(IPS(a), (int)x));
    FP_FENCE(r);
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
    long long r;
    uint32_t host = fp_enter(cpu);
    FP_FENCE(b);
    switch ((unsigned)sd << 2 | (unsigned)trunc << 1 | (n == 8)) {
    case 0: r = (unsigned)_mm_cvtss_si32(IPS(b)); break;
    case 1: r = _mm_cvtss_si64(IPS(b)); break;
    case 2: r = (unsigned)_mm_cvttss_si32(IPS(b)); break;
    case 3: r = _mm_cvttss_si64(IPS(b)); break;
    case 4: r = (unsigned)_mm_cvtsd_si32(IPD(b)); break;
    case 5: r = _mm_cvtsd_si64(IPD(b)); break;
    case 6: r = (unsigned)_mm_cvttsd_si32(IPD(b)); break;
    default: r = _mm_cvttsd_si64(IPD(b)); break;
    }
    FP_FENCE_R(r);
    sse_fp_flags(cpu, fp_leave(host));
    reg_set(cpu, in->reg, n, (uint64_t)r);
}

/* CVTPI2PS (0F 2A): two int32 from mm/m64 into the low half, high half
 * kept; CVTPI2PD (66 0F 2A): into both doubles (exact).  An MMX register
 * source makes the x87→MMX transition (SDM CVTPI2PS). */
void op_cvtpi2p_VxQq(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    if (in->mod == 3)
        mmx_check(cpu);
    __m128i b = q2v(mmx_src(cpu, in, 8)), r;
    xmm_t *d = xreg(cpu, in->reg);
    __m128i a = xv(d);
    if (in->pfx66)
        FP_COMPUTE(cpu, r, a, b, PDI(_mm_cvtepi32_pd(b)));
    else
        FP_COMPUTE(cpu, r, a, b, PDI(_mm_move_sd(IPD(a), IPD(PSI(_mm_cvtepi32_ps(b))))));
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
    case 0: FP_COMPUTE(cpu, r, a, b, _mm_cvtps_epi32(IPS(b))); break;
    case 1: FP_COMPUTE(cpu, r, a, b, _mm_cvttps_epi32(IPS(b))); break;
    case 2: FP_COMPUTE(cpu, r, a, b, _mm_cvtpd_epi32(IPD(b))); break;
    default: FP_COMPUTE(cpu, r, a, b, _mm_cvttpd_epi32(IPD(b))); break;
    }
    fpu_mmx_set(cpu, in->reg & 7, v2q(r));
}

/* ---------- SSE4.1 rounding, dot products, blends ---------- */

/* ROUNDPS (66 0F 3A 08), ROUNDPD (09), ROUNDSS (0A, m32), ROUNDSD (0B, m64):
 * imm[1:0] rounding mode unless imm[2] (use MXCSR.RC); imm[3] suppresses
 * the precision exception (SDM ROUNDPS). */
void op_round_VxWxIb(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned fmt = in->opc & 3, imm = (uint8_t)in->imm; /* 08-0B: PS PD SS SD */
    __m128i b = sse_src(cpu, in, fmt_msize(fmt), true), r;
    xmm_t *d = xreg(cpu, in->reg);
    __m128i a = xv(d);
    uint32_t mx = cpu->fpu.mxcsr;
    if (!(imm & 4))
        mx = (mx & ~MXCSR_RC) | (imm & 3) << MXCSR_RC_SHIFT;
    uint32_t host = fp_enter_mx(mx);
    FP_FENCE(a);
    FP_FENCE(b);
    switch (fmt) {
    case FMT_PS: r = PSI(_mm_round_ps(IPS(b), _MM_FROUND_CUR_DIRECTION)); break;
    case FMT_PD: r = PDI(_mm_round_pd(IPD(b), _MM_FROUND_CUR_DIRECTION)); break;
    case FMT_SS: r = PSI(_mm_round_ss(IPS(a), IPS(b), _MM_FROUND_CUR_DIRECTION)); break;
    default: r = PDI(_mm_round_sd(IPD(a), IPD(b), _MM_FROUND_CUR_DIRECTION)); break;
    }
    FP_FENCE(r);
    unsigned fl = fp_leave(host);
    if (imm & 8)
        fl &= ~MXCSR_PE;
    sse_fp_flags(cpu, fl);
    xs(d, r);
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
 * imm[7:4] (others +0.0), summed pairwise in the SDM's order, stored in
 * the elements selected by imm[3:0] (others +0.0). */
static __m128i fp_dp(bool pd, __m128i a, __m128i b, __m128i in_mask, __m128i out_mask)
{
    a = _mm_and_si128(a, in_mask);
    b = _mm_and_si128(b, in_mask);
    if (pd) {
        __m128d t = _mm_mul_pd(IPD(a), IPD(b));
        return _mm_and_si128(PDI(_mm_hadd_pd(t, t)), out_mask);
    }
    __m128 t = _mm_mul_ps(IPS(a), IPS(b));
    t = _mm_hadd_ps(t, t); /* t0+t1, t2+t3, ... */
    t = _mm_hadd_ps(t, t); /* (t0+t1)+(t2+t3) */
    return _mm_and_si128(PSI(t), out_mask);
}

void op_dpps_VxWxIb(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    bool pd = in->opc & 1;
    unsigned imm = (uint8_t)in->imm, esz = pd ? 8 : 4;
    __m128i b = sse_src(cpu, in, 16, true), r;
    xmm_t *d = xreg(cpu, in->reg);
    __m128i a = xv(d);
    __m128i im = lane_mask(imm >> 4, esz), om = lane_mask(imm & 15, esz);
    FP_COMPUTE(cpu, r, a, b, fp_dp(pd, a, b, im, om));
    xs(d, r);
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
