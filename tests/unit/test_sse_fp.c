/*
 * test_sse_fp.c — SSE/SSE2/SSE3/SSE4.1 floating point run natively and on
 * the engine from random states (sse_native.h): special values (zeros,
 * infinities, QNaN/SNaN, denormals, integer-conversion edges), random
 * MXCSR rounding modes, FTZ and DAZ, and sticky exception flags (all
 * exceptions masked; the unmasked cases are in test_sse_fault.c).
 */
#include "sse_native.h"

/* PS/SS forms (float data) and PD/SD forms (double data) of one opcode */
#define FPS(X, op)                                                                  \
    X(op##ps_rr, #op "ps %xmm1, %xmm0")                                            \
    X(op##ps_rm, #op "ps 16(%rsi), %xmm9")                                         \
    X(op##ss_rr, #op "ss %xmm10, %xmm2")                                           \
    X(op##ss_rm, #op "ss 4(%rsi), %xmm2")
#define FPD(X, op)                                                                  \
    X(op##pd_rr, #op "pd %xmm1, %xmm0")                                            \
    X(op##pd_rm, #op "pd -16(%rsi), %xmm11")                                       \
    X(op##sd_rr, #op "sd %xmm3, %xmm12")                                           \
    X(op##sd_rm, #op "sd 8(%rsi), %xmm2")

#define CMP_S(X, p) X(cmpps_##p, "cmpps $" #p ", %xmm1, %xmm0") X(cmpss_##p, "cmpss $" #p ", 4(%rsi), %xmm5")
#define CMP_D(X, p) X(cmppd_##p, "cmppd $" #p ", (%rsi), %xmm0") X(cmpsd_##p, "cmpsd $" #p ", %xmm8, %xmm5")

#define FLOAT_CASES(X)                                                              \
    FPS(X, add) FPS(X, sub) FPS(X, mul) FPS(X, div) FPS(X, min) FPS(X, max)         \
    FPS(X, sqrt) FPS(X, rsqrt) FPS(X, rcp)                                          \
    CMP_S(X, 0) CMP_S(X, 1) CMP_S(X, 2) CMP_S(X, 3)                                 \
    CMP_S(X, 4) CMP_S(X, 5) CMP_S(X, 6) CMP_S(X, 7)                                 \
    X(ucomiss_rr, "ucomiss %xmm1, %xmm0") X(ucomiss_rm, "ucomiss 4(%rsi), %xmm0")   \
    X(comiss_rr, "comiss %xmm1, %xmm0") X(comiss_rm, "comiss 8(%rsi), %xmm13")      \
    X(haddps, "haddps %xmm1, %xmm0") X(hsubps, "hsubps 16(%rsi), %xmm0")            \
    X(addsubps, "addsubps %xmm1, %xmm0")                                            \
    X(cvtps2pd, "cvtps2pd %xmm1, %xmm0") X(cvtps2pd_m, "cvtps2pd 8(%rsi), %xmm0")   \
    X(cvtss2sd, "cvtss2sd %xmm1, %xmm0") X(cvtss2sd_m, "cvtss2sd 4(%rsi), %xmm0")   \
    X(cvtps2dq, "cvtps2dq %xmm1, %xmm0") X(cvttps2dq, "cvttps2dq (%rsi), %xmm0")    \
    X(cvtss2si, "cvtss2si %xmm1, %eax") X(cvtss2si64, "cvtss2si 4(%rsi), %r9")      \
    X(cvttss2si, "cvttss2si %xmm1, %ecx") X(cvttss2si64, "cvttss2si %xmm1, %r11")   \
    X(cvtps2pi, "cvtps2pi %xmm1, %mm0") X(cvttps2pi, "cvttps2pi 8(%rsi), %mm0")     \
    X(roundps_0, "roundps $0, %xmm1, %xmm0") X(roundps_1, "roundps $1, %xmm1, %xmm0") \
    X(roundps_a, "roundps $10, (%rsi), %xmm0") X(roundps_4, "roundps $4, %xmm1, %xmm0") \
    X(roundss_3, "roundss $3, %xmm1, %xmm0") X(roundss_c, "roundss $12, 4(%rsi), %xmm0") \
    X(dpps_ff, "dpps $0xff, %xmm1, %xmm0") X(dpps_31, "dpps $0x31, %xmm1, %xmm0")   \
    X(dpps_ac, "dpps $0xac, 16(%rsi), %xmm0") X(dpps_0f, "dpps $0x0f, %xmm1, %xmm0") \
    X(blendps, "blendps $5, %xmm1, %xmm0") X(blendvps, "blendvps %xmm1, %xmm7")     \
    X(insertps_f, "insertps $0x5c, %xmm1, %xmm0")

#define DOUBLE_CASES(X)                                                             \
    FPD(X, add) FPD(X, sub) FPD(X, mul) FPD(X, div) FPD(X, min) FPD(X, max)         \
    FPD(X, sqrt)                                                                    \
    CMP_D(X, 0) CMP_D(X, 1) CMP_D(X, 2) CMP_D(X, 3)                                 \
    CMP_D(X, 4) CMP_D(X, 5) CMP_D(X, 6) CMP_D(X, 7)                                 \
    X(ucomisd_rr, "ucomisd %xmm1, %xmm0") X(ucomisd_rm, "ucomisd 8(%rsi), %xmm0")   \
    X(comisd_rr, "comisd %xmm1, %xmm0") X(comisd_rm, "comisd (%rsi), %xmm14")       \
    X(haddpd, "haddpd %xmm1, %xmm0") X(hsubpd, "hsubpd 16(%rsi), %xmm0")            \
    X(addsubpd, "addsubpd %xmm1, %xmm0")                                            \
    X(cvtpd2ps, "cvtpd2ps %xmm1, %xmm0") X(cvtpd2ps_m, "cvtpd2ps 16(%rsi), %xmm0")  \
    X(cvtsd2ss, "cvtsd2ss %xmm1, %xmm0") X(cvtsd2ss_m, "cvtsd2ss 8(%rsi), %xmm0")   \
    X(cvtpd2dq, "cvtpd2dq %xmm1, %xmm0") X(cvttpd2dq, "cvttpd2dq (%rsi), %xmm0")    \
    X(cvtsd2si, "cvtsd2si %xmm1, %eax") X(cvtsd2si64, "cvtsd2si 8(%rsi), %r9")      \
    X(cvttsd2si, "cvttsd2si %xmm1, %ecx") X(cvttsd2si64, "cvttsd2si %xmm1, %r11")   \
    X(cvtpd2pi, "cvtpd2pi %xmm1, %mm0") X(cvttpd2pi, "cvttpd2pi 16(%rsi), %mm0")    \
    X(roundpd_0, "roundpd $0, %xmm1, %xmm0") X(roundpd_2, "roundpd $2, %xmm1, %xmm0") \
    X(roundpd_b, "roundpd $11, (%rsi), %xmm0") X(roundsd_4, "roundsd $4, %xmm1, %xmm0") \
    X(roundsd_9, "roundsd $9, 8(%rsi), %xmm0")                                      \
    X(dppd_33, "dppd $0x33, %xmm1, %xmm0") X(dppd_12, "dppd $0x12, %xmm1, %xmm0")   \
    X(dppd_31, "dppd $0x31, 16(%rsi), %xmm0")                                       \
    X(blendpd, "blendpd $2, %xmm1, %xmm0") X(blendvpd, "blendvpd %xmm1, %xmm7")     \
    X(pblendw, "pblendw $0xa5, 16(%rsi), %xmm0") X(pblendvb, "pblendvb %xmm1, %xmm7")

/* Integer sources (random bits and edges) */
#define INT_SRC_CASES(X)                                                            \
    X(cvtdq2ps, "cvtdq2ps %xmm1, %xmm0") X(cvtdq2ps_m, "cvtdq2ps 16(%rsi), %xmm0")  \
    X(cvtdq2pd, "cvtdq2pd %xmm1, %xmm0") X(cvtdq2pd_m, "cvtdq2pd 8(%rsi), %xmm0")   \
    X(cvtsi2ss, "cvtsi2ss %ecx, %xmm0") X(cvtsi2ssq, "cvtsi2ssq %r8, %xmm0")        \
    X(cvtsi2ss_m, "cvtsi2ssl 4(%rsi), %xmm0") X(cvtsi2sd, "cvtsi2sd %ecx, %xmm0")   \
    X(cvtsi2sdq, "cvtsi2sdq %r8, %xmm9") X(cvtsi2sdq_m, "cvtsi2sdq 8(%rsi), %xmm0") \
    X(cvtpi2ps, "cvtpi2ps %mm1, %xmm0") X(cvtpi2ps_m, "cvtpi2ps 8(%rsi), %xmm0")    \
    X(cvtpi2pd, "cvtpi2pd %mm1, %xmm0") X(cvtpi2pd_m, "cvtpi2pd 8(%rsi), %xmm0")

FLOAT_CASES(SSE_NATIVE_ASM)
DOUBLE_CASES(SSE_NATIVE_ASM)
INT_SRC_CASES(SSE_NATIVE_ASM)

static const struct sse_case float_cases[] = { FLOAT_CASES(SSE_NATIVE_ENTRY) };
static const struct sse_case double_cases[] = { DOUBLE_CASES(SSE_NATIVE_ENTRY) };
static const struct sse_case int_src_cases[] = { INT_SRC_CASES(SSE_NATIVE_ENTRY) };

#define N(a) (unsigned)(sizeof(a) / sizeof((a)[0]))

TEST(sse_native_float)
{
    CHECK_EQ(sse_native_check_all(float_cases, N(float_cases), 48, SSE_GEN_FLOAT), 0);
}

TEST(sse_native_double)
{
    CHECK_EQ(sse_native_check_all(double_cases, N(double_cases), 48, SSE_GEN_DOUBLE), 0);
}

TEST(sse_native_int_to_fp)
{
    CHECK_EQ(sse_native_check_all(int_src_cases, N(int_src_cases), 32, SSE_GEN_MIXED), 0);
}

/* Mixed data through FP instructions: integer bit patterns as floats */
TEST(sse_native_fp_mixed_data)
{
    CHECK_EQ(sse_native_check_all(float_cases, N(float_cases), 8, SSE_GEN_MIXED), 0);
    CHECK_EQ(sse_native_check_all(double_cases, N(double_cases), 8, SSE_GEN_MIXED), 0);
}
