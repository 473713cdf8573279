/*
 * ops_sse_int.c — packed-integer instructions of MMX, SSE, SSE2, SSSE3,
 * SSE4.1 and SSE4.2: arithmetic, compares, logic, shifts, pack/unpack,
 * horizontal add/sub, PTEST, MPSADBW, PHMINPOSUW (SDM Vol.2 chapters 4-5,
 * Vol.1 chapters 9-12).
 *
 * Each instruction is one kernel expression over 128-bit values (host
 * intrinsics; a = destination, b = source) turned into a handler by the
 * macros in ops_sse_priv.h.  The MMX forms (no prefix) run the same kernel
 * on the 64-bit operands placed in the low halves; the few instructions
 * whose 64-bit semantics differ from "the low half of the 128-bit result"
 * have an MMX kernel of their own:
 *   - pack and horizontal add/sub take their inputs pairwise from both
 *     operands: the MMX kernel packs {a.lo, b.lo} with itself;
 *   - PUNPCKH* interleave the upper halves of the 64-bit operands;
 *   - PSHUFB indexes 8 bytes (index bits 2:0, SDM PSHUFB).
 * PUNPCKL* with an MMX memory operand read only 32 bits (SDM PUNPCKLBW).
 */
#include "cpu/ops_sse_priv.h"

/* ---- add / subtract (PADDx, PSUBx and the saturating forms) ---- */
PINT(paddb, _mm_add_epi8(a, b))
PINT(paddw, _mm_add_epi16(a, b))
PINT(paddd, _mm_add_epi32(a, b))
PINT(paddq, _mm_add_epi64(a, b))
PINT(psubb, _mm_sub_epi8(a, b))
PINT(psubw, _mm_sub_epi16(a, b))
PINT(psubd, _mm_sub_epi32(a, b))
PINT(psubq, _mm_sub_epi64(a, b))
PINT(paddsb, _mm_adds_epi8(a, b))
PINT(paddsw, _mm_adds_epi16(a, b))
PINT(paddusb, _mm_adds_epu8(a, b))
PINT(paddusw, _mm_adds_epu16(a, b))
PINT(psubsb, _mm_subs_epi8(a, b))
PINT(psubsw, _mm_subs_epi16(a, b))
PINT(psubusb, _mm_subs_epu8(a, b))
PINT(psubusw, _mm_subs_epu16(a, b))

/* ---- multiply ---- */
PINT(pmullw, _mm_mullo_epi16(a, b))
PINT(pmulhw, _mm_mulhi_epi16(a, b))
PINT(pmulhuw, _mm_mulhi_epu16(a, b))
PINT(pmuludq, _mm_mul_epu32(a, b))
PINT(pmaddwd, _mm_madd_epi16(a, b))
PINT(pmaddubsw, _mm_maddubs_epi16(a, b))
PINT(pmulhrsw, _mm_mulhrs_epi16(a, b))
XINT(pmuldq, _mm_mul_epi32(a, b))
XINT(pmulld, _mm_mullo_epi32(a, b))

/* ---- logic ---- */
PINT(pand, _mm_and_si128(a, b))
PINT(pandn, _mm_andnot_si128(a, b))
PINT(por, _mm_or_si128(a, b))
PINT(pxor, _mm_xor_si128(a, b))
/* ANDPS/ANDPD, ANDNPS/ANDNPD, ORPS/ORPD, XORPS/XORPD: bitwise, XMM only */
SSE_HANDLER_X(andps, k_pand, true)
SSE_HANDLER_X(andnps, k_pandn, true)
SSE_HANDLER_X(orps, k_por, true)
SSE_HANDLER_X(xorps, k_pxor, true)

/* ---- compare ---- */
PINT(pcmpeqb, _mm_cmpeq_epi8(a, b))
PINT(pcmpeqw, _mm_cmpeq_epi16(a, b))
PINT(pcmpeqd, _mm_cmpeq_epi32(a, b))
PINT(pcmpgtb, _mm_cmpgt_epi8(a, b))
PINT(pcmpgtw, _mm_cmpgt_epi16(a, b))
PINT(pcmpgtd, _mm_cmpgt_epi32(a, b))
XINT(pcmpeqq, _mm_cmpeq_epi64(a, b))
XINT(pcmpgtq, _mm_cmpgt_epi64(a, b))

/* ---- min / max / average / absolute / sign / sum of differences ---- */
PINT(pminub, _mm_min_epu8(a, b))
PINT(pmaxub, _mm_max_epu8(a, b))
PINT(pminsw, _mm_min_epi16(a, b))
PINT(pmaxsw, _mm_max_epi16(a, b))
XINT(pminsb, _mm_min_epi8(a, b))
XINT(pmaxsb, _mm_max_epi8(a, b))
XINT(pminuw, _mm_min_epu16(a, b))
XINT(pmaxuw, _mm_max_epu16(a, b))
XINT(pminsd, _mm_min_epi32(a, b))
XINT(pmaxsd, _mm_max_epi32(a, b))
XINT(pminud, _mm_min_epu32(a, b))
XINT(pmaxud, _mm_max_epu32(a, b))
PINT(pavgb, _mm_avg_epu8(a, b))
PINT(pavgw, _mm_avg_epu16(a, b))
PINT(psadbw, _mm_sad_epu8(a, b))
PINT(pabsb, _mm_abs_epi8(b))
PINT(pabsw, _mm_abs_epi16(b))
PINT(pabsd, _mm_abs_epi32(b))
PINT(psignb, _mm_sign_epi8(a, b))
PINT(psignw, _mm_sign_epi16(a, b))
PINT(psignd, _mm_sign_epi32(a, b))
XINT(phminposuw, _mm_minpos_epu16(b))

/* ---- shifts by an MMX/XMM register count (64-bit count, SDM PSLLW) ---- */
PINT(psllw, _mm_sll_epi16(a, b))
PINT(pslld, _mm_sll_epi32(a, b))
PINT(psllq, _mm_sll_epi64(a, b))
PINT(psrlw, _mm_srl_epi16(a, b))
PINT(psrld, _mm_srl_epi32(a, b))
PINT(psrlq, _mm_srl_epi64(a, b))
PINT(psraw, _mm_sra_epi16(a, b))
PINT(psrad, _mm_sra_epi32(a, b))

/* ---- pack and horizontal add/subtract: pairwise over both operands ---- */
#define PINT_PAIRWISE(name, fn)                                                    \
    SSE_KERNEL(name, fn(a, b))                                                     \
    SSE_KERNEL(name##_mmx, fn(_mm_unpacklo_epi64(a, b), _mm_unpacklo_epi64(a, b)))  \
    SSE_HANDLER_MX(name, k_##name, k_##name##_mmx, 8)

PINT_PAIRWISE(packsswb, _mm_packs_epi16)
PINT_PAIRWISE(packssdw, _mm_packs_epi32)
PINT_PAIRWISE(packuswb, _mm_packus_epi16)
PINT_PAIRWISE(phaddw, _mm_hadd_epi16)
PINT_PAIRWISE(phaddd, _mm_hadd_epi32)
PINT_PAIRWISE(phaddsw, _mm_hadds_epi16)
PINT_PAIRWISE(phsubw, _mm_hsub_epi16)
PINT_PAIRWISE(phsubd, _mm_hsub_epi32)
PINT_PAIRWISE(phsubsw, _mm_hsubs_epi16)
XINT(packusdw, _mm_packus_epi32(a, b))

/* ---- unpack (interleave) ---- */
#define PINT_UNPACK(lname, hname, lo, hi)                                          \
    SSE_KERNEL(lname, lo(a, b))                                                    \
    SSE_KERNEL(hname, hi(a, b))                                                    \
    SSE_KERNEL(hname##_mmx, _mm_srli_si128(lo(a, b), 8))                           \
    SSE_HANDLER_MX(lname, k_##lname, k_##lname, 4)                                 \
    SSE_HANDLER_MX(hname, k_##hname, k_##hname##_mmx, 8)

PINT_UNPACK(punpcklbw, punpckhbw, _mm_unpacklo_epi8, _mm_unpackhi_epi8)
PINT_UNPACK(punpcklwd, punpckhwd, _mm_unpacklo_epi16, _mm_unpackhi_epi16)
PINT_UNPACK(punpckldq, punpckhdq, _mm_unpacklo_epi32, _mm_unpackhi_epi32)
XINT(punpcklqdq, _mm_unpacklo_epi64(a, b))
XINT(punpckhqdq, _mm_unpackhi_epi64(a, b))
/* UNPCKLPS/UNPCKHPS and UNPCKLPD/UNPCKHPD are the same bit moves */
SSE_HANDLER_X(unpcklps, k_punpckldq, true)
SSE_HANDLER_X(unpckhps, k_punpckhdq, true)
SSE_HANDLER_X(unpcklpd, k_punpcklqdq, true)
SSE_HANDLER_X(unpckhpd, k_punpckhqdq, true)

/* ---- PSHUFB: index bits 3:0 (XMM) or 2:0 (MMX), bit 7 zeroes ---- */
SSE_KERNEL(pshufb, _mm_shuffle_epi8(a, b))
SSE_KERNEL(pshufb_mmx, _mm_shuffle_epi8(a, _mm_and_si128(b, _mm_set1_epi8((char)0x87))))
SSE_HANDLER_MX(pshufb, k_pshufb, k_pshufb_mmx, 8)

/* ---- shifts by an immediate: groups 12, 13, 14 (0F 71/72/73 /r ib) ----
 * opc 71: words, 72: dwords, 73: qwords; reg 2 SRL, 4 SRA, 6 SLL;
 * 73 /3 PSRLDQ and /7 PSLLDQ shift the whole XMM register by bytes. */
static __m128i shift_imm(unsigned opc, unsigned op, __m128i v, unsigned imm)
{
    __m128i c = _mm_cvtsi32_si128((int)imm);
    switch ((opc & 3) << 3 | op) {
    case 1 << 3 | 2: return _mm_srl_epi16(v, c);
    case 1 << 3 | 4: return _mm_sra_epi16(v, c);
    case 1 << 3 | 6: return _mm_sll_epi16(v, c);
    case 2 << 3 | 2: return _mm_srl_epi32(v, c);
    case 2 << 3 | 4: return _mm_sra_epi32(v, c);
    case 2 << 3 | 6: return _mm_sll_epi32(v, c);
    case 3 << 3 | 2: return _mm_srl_epi64(v, c);
    case 3 << 3 | 6: return _mm_sll_epi64(v, c);
    default: break;
    }
    /* PSRLDQ / PSLLDQ: counts above 15 clear the register */
    uint8_t buf[48] = { 0 };
    imm = imm > 16 ? 16 : imm;
    _mm_storeu_si128((__m128i *)(buf + 16), v);
    return _mm_loadu_si128((const __m128i *)(buf + (op == 3 ? 16 + imm : 16 - imm)));
}

void op_pshift_UxIb(struct cpu *cpu, const struct insn *in)
{
    unsigned op = in->reg & 7, imm = (uint8_t)in->imm;
    if (in->pfx66) {
        sse_check(cpu);
        xmm_t *x = xreg(cpu, in->rm);
        xs(x, shift_imm(in->opc, op, xv(x), imm));
    } else {
        mmx_check(cpu);
        unsigned r = in->rm & 7;
        fpu_mmx_set(cpu, r, v2q(shift_imm(in->opc, op, q2v(fpu_mmx_get(cpu, r)), imm)));
    }
}

/* ---- PTEST (66 0F 38 17): ZF = !(a & b), CF = !(~a & b), others 0 ---- */
void op_ptest_VxWx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    __m128i b = sse_src(cpu, in, 16, true);
    __m128i a = xv(xreg(cpu, in->reg));
    uint64_t f = 0;
    if (_mm_testz_si128(a, b))
        f |= FL_ZF;
    if (_mm_testc_si128(a, b))
        f |= FL_CF;
    flags_set(cpu, FL_ARITH, f);
}

/* ---- MPSADBW (66 0F 3A 42 /r ib): eight 4-byte sums of absolute
 * differences; imm[2] selects the dst block (bytes 0 or 4 onwards), imm[1:0]
 * the 4-byte src block (SDM MPSADBW). */
void op_mpsadbw_VxWxIb(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    xmm_t s, *d = xreg(cpu, in->reg), r;
    xs(&s, sse_src(cpu, in, 16, true));
    unsigned ao = ((unsigned)in->imm & 4), bo = ((unsigned)in->imm & 3) * 4;
    for (unsigned i = 0; i < 8; i++) {
        unsigned sum = 0;
        for (unsigned k = 0; k < 4; k++) {
            int diff = (int)d->b[ao + i + k] - (int)s.b[bo + k];
            sum += (unsigned)(diff < 0 ? -diff : diff);
        }
        r.w[i] = (uint16_t)sum;
    }
    *d = r;
}
