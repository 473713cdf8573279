/*
 * test_sse.c — MMX/SSE2/SSSE3/SSE4.1/SSE4.2 integer instructions and data
 * movement, each run natively on the host and on the engine from random
 * states (sse_native.h) in every operand form: MMX register and m64, XMM
 * register (including REX registers) and m128, and the special shapes
 * (m32 unpacks, immediates, general-register operands, stores).
 */
#include "sse_native.h"

/* both forms of an MMX/SSE2 opcode: xmm,xmm / xmm,m128 / mm,mm / mm,m64 */
#define MX(X, op)                                                                   \
    X(op##_xx, #op " %xmm1, %xmm0")                                                \
    X(op##_xm, #op " 16(%rsi), %xmm9")                                             \
    X(op##_mm, #op " %mm1, %mm0")                                                  \
    X(op##_mq, #op " 8(%rsi), %mm3")
/* XMM-only: register and aligned memory */
#define XO(X, op)                                                                   \
    X(op##_xx, #op " %xmm12, %xmm3")                                               \
    X(op##_xm, #op " -32(%rsi), %xmm4")

#define ARITH_CASES(X)                                                              \
    MX(X, paddb) MX(X, paddw) MX(X, paddd) MX(X, paddq)                             \
    MX(X, psubb) MX(X, psubw) MX(X, psubd) MX(X, psubq)                             \
    MX(X, paddsb) MX(X, paddsw) MX(X, paddusb) MX(X, paddusw)                       \
    MX(X, psubsb) MX(X, psubsw) MX(X, psubusb) MX(X, psubusw)                       \
    MX(X, pmullw) MX(X, pmulhw) MX(X, pmulhuw) MX(X, pmuludq) MX(X, pmaddwd)        \
    MX(X, pmaddubsw) MX(X, pmulhrsw)                                                \
    MX(X, pand) MX(X, pandn) MX(X, por) MX(X, pxor)                                 \
    MX(X, pcmpeqb) MX(X, pcmpeqw) MX(X, pcmpeqd)                                    \
    MX(X, pcmpgtb) MX(X, pcmpgtw) MX(X, pcmpgtd)                                    \
    MX(X, pminub) MX(X, pmaxub) MX(X, pminsw) MX(X, pmaxsw)                         \
    MX(X, pavgb) MX(X, pavgw) MX(X, psadbw)                                         \
    MX(X, pabsb) MX(X, pabsw) MX(X, pabsd) MX(X, psignb) MX(X, psignw) MX(X, psignd) \
    XO(X, pmuldq) XO(X, pmulld) XO(X, pcmpeqq) XO(X, pcmpgtq)                       \
    XO(X, pminsb) XO(X, pmaxsb) XO(X, pminuw) XO(X, pmaxuw)                         \
    XO(X, pminsd) XO(X, pmaxsd) XO(X, pminud) XO(X, pmaxud) XO(X, phminposuw)       \
    XO(X, andps) XO(X, andnps) XO(X, orps) XO(X, xorps)                             \
    XO(X, andpd) XO(X, andnpd) XO(X, orpd) XO(X, xorpd)                             \
    XO(X, ptest)                                                                    \
    X(mpsadbw_0, "mpsadbw $0, %xmm1, %xmm0")                                        \
    X(mpsadbw_7, "mpsadbw $7, 16(%rsi), %xmm0")                                     \
    X(mpsadbw_5, "mpsadbw $0xfd, %xmm15, %xmm8")

#define PACK_CASES(X)                                                               \
    MX(X, packsswb) MX(X, packssdw) MX(X, packuswb)                                 \
    MX(X, punpcklbw) MX(X, punpcklwd) MX(X, punpckldq)                              \
    MX(X, punpckhbw) MX(X, punpckhwd) MX(X, punpckhdq)                              \
    MX(X, phaddw) MX(X, phaddd) MX(X, phaddsw) MX(X, phsubw) MX(X, phsubd)          \
    MX(X, phsubsw) MX(X, pshufb)                                                    \
    XO(X, punpcklqdq) XO(X, punpckhqdq) XO(X, packusdw)                             \
    XO(X, unpcklps) XO(X, unpckhps) XO(X, unpcklpd) XO(X, unpckhpd)                 \
    X(punpcklbw_m32, "punpcklbw 188(%rsi), %mm2") /* m32: the last 4 window bytes */

/* Shifts: register counts made small by an AND first, and immediates. */
#define SHIFT_R(X, op)                                                              \
    X(op##_x, "and $0x1f, %ecx; movd %ecx, %xmm1; " #op " %xmm1, %xmm0")          \
    X(op##_m, "and $0x1f, %ecx; movd %ecx, %mm1; " #op " %mm1, %mm0")              \
    X(op##_big, #op " %xmm5, %xmm6")
#define SHIFT_I(X, op, a, b)                                                        \
    X(op##_ix##a, #op " $" #a ", %xmm7")                                           \
    X(op##_im##b, #op " $" #b ", %mm7")                                            \
    X(op##_ix##b, #op " $" #b ", %xmm10")
#define SHIFT_CASES(X)                                                              \
    SHIFT_R(X, psllw) SHIFT_R(X, pslld) SHIFT_R(X, psllq)                           \
    SHIFT_R(X, psrlw) SHIFT_R(X, psrld) SHIFT_R(X, psrlq)                           \
    SHIFT_R(X, psraw) SHIFT_R(X, psrad)                                             \
    SHIFT_I(X, psllw, 3, 16) SHIFT_I(X, pslld, 31, 200) SHIFT_I(X, psllq, 1, 63)    \
    SHIFT_I(X, psrlw, 15, 5) SHIFT_I(X, psrld, 9, 33) SHIFT_I(X, psrlq, 64, 40)     \
    SHIFT_I(X, psraw, 7, 99) SHIFT_I(X, psrad, 30, 32)                              \
    X(pslldq_5, "pslldq $5, %xmm2") X(pslldq_16, "pslldq $16, %xmm2")               \
    X(psrldq_9, "psrldq $9, %xmm11") X(psrldq_0, "psrldq $0, %xmm11")

#define MOVE_CASES(X)                                                               \
    X(movdqa_l, "movdqa 16(%rsi), %xmm0") X(movdqa_s, "movdqa %xmm13, -16(%rsi)")   \
    X(movdqa_r, "movdqa %xmm13, %xmm2") X(movdqu_l, "movdqu 3(%rsi), %xmm8")        \
    X(movdqu_s, "movdqu %xmm1, 5(%rsi)") X(movdqu_r, "movdqu %xmm1, %xmm14")        \
    X(movaps_l, "movaps (%rsi), %xmm3") X(movaps_s, "movaps %xmm3, 32(%rsi)")       \
    X(movapd_l, "movapd (%rsi), %xmm3") X(movapd_s, "movapd %xmm9, 48(%rsi)")       \
    X(movups_l, "movups 1(%rsi), %xmm3") X(movups_s, "movups %xmm3, 7(%rsi)")       \
    X(movupd_l, "movupd 9(%rsi), %xmm3") X(movupd_s, "movupd %xmm3, 11(%rsi)")      \
    X(movaps_r, "movaps %xmm1, %xmm0") X(movups_r, "movups %xmm9, %xmm0")           \
    X(lddqu, "lddqu 13(%rsi), %xmm5") X(movntdqa, "movntdqa 32(%rsi), %xmm5")       \
    X(movntdq, "movntdq %xmm5, 16(%rsi)") X(movntps, "movntps %xmm5, -64(%rsi)")    \
    X(movntpd, "movntpd %xmm15, 64(%rsi)") X(movntq, "movntq %mm5, 3(%rsi)")        \
    X(movnti32, "movnti %ecx, 5(%rsi)") X(movnti64, "movnti %r9, 8(%rsi)")          \
    X(movss_rr, "movss %xmm1, %xmm0") X(movss_l, "movss 4(%rsi), %xmm0")            \
    X(movss_s, "movss %xmm2, 6(%rsi)") X(movsd_rr, "movsd %xmm1, %xmm10")           \
    X(movsd_l, "movsd 12(%rsi), %xmm0") X(movsd_s, "movsd %xmm12, 6(%rsi)")         \
    X(movss_rr2, "movss %xmm4, %xmm15")                                             \
    X(movq_xl, "movq 8(%rsi), %xmm1") X(movq_xx, "movq %xmm9, %xmm1")               \
    X(movq_xs, "movq %xmm1, 24(%rsi)") X(movq_d6, ".byte 0x66,0x0f,0xd6,0xca")      \
    X(movd_xr, "movd %ecx, %xmm3") X(movq_xr, "movq %r10, %xmm11")                  \
    X(movd_rx, "movd %xmm3, %ebx") X(movq_rx, "movq %xmm11, %r12")                  \
    X(movd_xm, "movd 4(%rsi), %xmm3") X(movd_mx, "movd %xmm3, 4(%rsi)")             \
    X(movd_mr, "movd %edx, %mm3") X(movq_mr, "movq %r8, %mm7")                      \
    X(movd_rm, "movd %mm3, %eax") X(movq_rm, "movq %mm7, %r13")                     \
    X(movd_mmm, "movd 20(%rsi), %mm1") X(movd_mms, "movd %mm1, 20(%rsi)")           \
    X(movq_mm, "movq %mm1, %mm6") X(movq_ml, "movq 2(%rsi), %mm1")                  \
    X(movq_ms, "movq %mm1, 30(%rsi)") X(movq_7f, ".byte 0x0f,0x7f,0xd9")            \
    X(movq2dq, "movq2dq %mm3, %xmm9") X(movdq2q, "movdq2q %xmm9, %mm3")             \
    X(movlps_l, "movlps 8(%rsi), %xmm2") X(movhps_l, "movhps 8(%rsi), %xmm2")       \
    X(movlpd_l, "movlpd 8(%rsi), %xmm2") X(movhpd_l, "movhpd 8(%rsi), %xmm2")       \
    X(movlps_s, "movlps %xmm2, 40(%rsi)") X(movhps_s, "movhps %xmm2, 40(%rsi)")     \
    X(movlpd_s, "movlpd %xmm2, 40(%rsi)") X(movhpd_s, "movhpd %xmm2, 40(%rsi)")     \
    X(movhlps, "movhlps %xmm7, %xmm2") X(movlhps, "movlhps %xmm7, %xmm2")           \
    X(movsldup, "movsldup %xmm7, %xmm2") X(movshdup, "movshdup 16(%rsi), %xmm2")    \
    X(movddup_r, "movddup %xmm7, %xmm2") X(movddup_m, "movddup 8(%rsi), %xmm2")

#define SHUF_CASES(X)                                                               \
    X(pshufw, "pshufw $0x1b, %mm2, %mm5") X(pshufw_m, "pshufw $0xc6, 8(%rsi), %mm5") \
    X(pshufd, "pshufd $0x1b, %xmm2, %xmm5") X(pshufd_m, "pshufd $0x4e, (%rsi), %xmm13") \
    X(pshufhw, "pshufhw $0x93, %xmm2, %xmm5") X(pshuflw, "pshuflw $0x39, %xmm2, %xmm5") \
    X(shufps, "shufps $0x72, %xmm8, %xmm1") X(shufps_m, "shufps $0xd8, 16(%rsi), %xmm1") \
    X(shufpd, "shufpd $1, %xmm8, %xmm1") X(shufpd2, "shufpd $2, %xmm8, %xmm1")      \
    X(palignr_x3, "palignr $3, %xmm1, %xmm0") X(palignr_x17, "palignr $17, %xmm1, %xmm0") \
    X(palignr_x40, "palignr $40, %xmm1, %xmm0") X(palignr_m5, "palignr $5, %mm1, %mm0") \
    X(palignr_m12, "palignr $12, 8(%rsi), %mm0") X(palignr_m16, "palignr $16, %mm1, %mm0") \
    X(pinsrw_x, "pinsrw $5, %ecx, %xmm3") X(pinsrw_m, "pinsrw $2, %ecx, %mm3")      \
    X(pinsrw_xm, "pinsrw $7, 6(%rsi), %xmm3") X(pinsrb, "pinsrb $13, %edx, %xmm3")  \
    X(pinsrb_m, "pinsrb $1, 7(%rsi), %xmm3") X(pinsrd, "pinsrd $2, %r11d, %xmm12")  \
    X(pinsrq, "pinsrq $1, %r11, %xmm12") X(pinsrq_m, "pinsrq $0, 8(%rsi), %xmm12")  \
    X(pextrw_x, "pextrw $6, %xmm3, %ecx") X(pextrw_m, "pextrw $3, %mm3, %r9d")      \
    X(pextrw_41, "pextrw $4, %xmm3, 6(%rsi)") X(pextrb, "pextrb $9, %xmm3, %eax")   \
    X(pextrb_m, "pextrb $15, %xmm3, 3(%rsi)") X(pextrd, "pextrd $3, %xmm14, %ebx")  \
    X(pextrq, "pextrq $1, %xmm14, %r15") X(pextrq_m, "pextrq $0, %xmm14, 8(%rsi)")  \
    X(extractps, "extractps $2, %xmm6, %edx") X(extractps_m, "extractps $1, %xmm6, 4(%rsi)") \
    X(insertps, "insertps $0x9a, %xmm6, %xmm1") X(insertps_m, "insertps $0x31, 4(%rsi), %xmm1") \
    X(insertps_z, "insertps $0xcf, %xmm6, %xmm1")                                   \
    X(pmovsxbw, "pmovsxbw %xmm1, %xmm2") X(pmovsxbd, "pmovsxbd 4(%rsi), %xmm2")     \
    X(pmovsxbq, "pmovsxbq 2(%rsi), %xmm2") X(pmovsxwd, "pmovsxwd 8(%rsi), %xmm2")   \
    X(pmovsxwq, "pmovsxwq %xmm1, %xmm2") X(pmovsxdq, "pmovsxdq %xmm1, %xmm2")       \
    X(pmovzxbw, "pmovzxbw 3(%rsi), %xmm2") X(pmovzxbd, "pmovzxbd %xmm1, %xmm2")     \
    X(pmovzxbq, "pmovzxbq %xmm1, %xmm2") X(pmovzxwd, "pmovzxwd %xmm1, %xmm2")       \
    X(pmovzxwq, "pmovzxwq 4(%rsi), %xmm2") X(pmovzxdq, "pmovzxdq 8(%rsi), %xmm2")   \
    X(pmovmskb_x, "pmovmskb %xmm4, %ecx") X(pmovmskb_m, "pmovmskb %mm4, %r8d")      \
    X(movmskps, "movmskps %xmm4, %eax") X(movmskpd, "movmskpd %xmm14, %r10d")       \
    X(maskmovq, "maskmovq %mm2, %mm1") X(maskmovdqu, "maskmovdqu %xmm2, %xmm1")     \
    X(emms, "emms")

ARITH_CASES(SSE_NATIVE_ASM)
PACK_CASES(SSE_NATIVE_ASM)
SHIFT_CASES(SSE_NATIVE_ASM)
MOVE_CASES(SSE_NATIVE_ASM)
SHUF_CASES(SSE_NATIVE_ASM)

static const struct sse_case arith_cases[] = { ARITH_CASES(SSE_NATIVE_ENTRY) };
static const struct sse_case pack_cases[] = { PACK_CASES(SSE_NATIVE_ENTRY) };
static const struct sse_case shift_cases[] = { SHIFT_CASES(SSE_NATIVE_ENTRY) };
static const struct sse_case move_cases[] = { MOVE_CASES(SSE_NATIVE_ENTRY) };
static const struct sse_case shuf_cases[] = { SHUF_CASES(SSE_NATIVE_ENTRY) };

#define N(a) (unsigned)(sizeof(a) / sizeof((a)[0]))

TEST(sse_native_int_arith)
{
    CHECK_EQ(sse_native_check_all(arith_cases, N(arith_cases), 24, SSE_GEN_MIXED), 0);
}

TEST(sse_native_pack_unpack_hadd)
{
    CHECK_EQ(sse_native_check_all(pack_cases, N(pack_cases), 24, SSE_GEN_MIXED), 0);
}

TEST(sse_native_shifts)
{
    CHECK_EQ(sse_native_check_all(shift_cases, N(shift_cases), 24, SSE_GEN_MIXED), 0);
}

TEST(sse_native_moves)
{
    CHECK_EQ(sse_native_check_all(move_cases, N(move_cases), 12, SSE_GEN_MIXED), 0);
}

TEST(sse_native_shuffle_insert_extract)
{
    CHECK_EQ(sse_native_check_all(shuf_cases, N(shuf_cases), 16, SSE_GEN_MIXED), 0);
}
