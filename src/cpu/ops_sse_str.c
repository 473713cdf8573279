/*
 * ops_sse_str.c — SSE4.2 packed string compares PCMPESTRI, PCMPESTRM,
 * PCMPISTRI, PCMPISTRM (66 0F 3A 60-63), implemented from the SDM's
 * description (Vol.2 4.1 "Imm8 Control Byte Operation for PCMPESTRI /
 * PCMPESTRM / PCMPISTRI / PCMPISTRM" and the instruction pages):
 *
 *   imm[1:0]  element format: 00 unsigned bytes, 01 unsigned words,
 *             10 signed bytes, 11 signed words (n = 16 or 8 elements)
 *   imm[3:2]  aggregation: equal any, ranges, equal each, equal ordered
 *   imm[5:4]  polarity: +, negate, +, masked negate
 *   imm[6]    index: least/most significant bit; mask: bits/expanded
 *
 * Operand 1 is the XMM register (ModRM.reg), operand 2 the XMM register or
 * unaligned m128 (ModRM.rm).  Lengths: explicit forms take |EAX| / |EDX|
 * (|RAX| / |RDX| with REX.W) saturated to n; implicit forms stop at the
 * first zero element.  Results: ECX (index forms) or XMM0 (mask forms) and
 * CF = IntRes2 != 0, ZF = len2 < n, SF = len1 < n, OF = IntRes2[0],
 * AF = PF = 0.
 */
#include "cpu/ops_sse_priv.h"

enum { AGG_EQ_ANY, AGG_RANGES, AGG_EQ_EACH, AGG_EQ_ORDERED };

/* One bit per element from a compare result (bytes or words). */
static unsigned elem_bits(__m128i m, bool words)
{
    if (words)
        m = _mm_packs_epi16(m, _mm_setzero_si128());
    return (unsigned)_mm_movemask_epi8(m);
}

/* Bit j set where operand-2 element j == c (all lanes of c hold one element). */
static unsigned eq_mask(__m128i s2, __m128i c, bool words)
{
    return elem_bits(words ? _mm_cmpeq_epi16(s2, c) : _mm_cmpeq_epi8(s2, c), words);
}

/* Bit j set where operand-2 element j >= c (signed or unsigned). */
static unsigned ge_mask(__m128i s2, __m128i c, unsigned fmt)
{
    __m128i m;
    switch (fmt) {
    case 0: m = _mm_cmpeq_epi8(_mm_max_epu8(s2, c), s2); break;
    case 1: m = _mm_cmpeq_epi16(_mm_max_epu16(s2, c), s2); break;
    case 2: m = _mm_cmpeq_epi8(_mm_max_epi8(s2, c), s2); break;
    default: m = _mm_cmpeq_epi16(_mm_max_epi16(s2, c), s2); break;
    }
    return elem_bits(m, fmt & 1);
}

static __m128i splat(const xmm_t *x, unsigned i, bool words)
{
    return words ? _mm_set1_epi16((short)x->w[i]) : _mm_set1_epi8((char)x->b[i]);
}

static unsigned implicit_len(const xmm_t *x, unsigned n, bool words)
{
    unsigned z = eq_mask(xv(x), _mm_setzero_si128(), words);
    return z ? (unsigned)__builtin_ctz(z) : n;
}

static unsigned explicit_len(const struct cpu *cpu, const struct insn *in, int r, unsigned n)
{
    int64_t v = (in->rex & 8) ? (int64_t)cpu->r[r] : (int64_t)(int32_t)cpu->r[r];
    uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    return a > n ? n : (unsigned)a;
}

/* IntRes2: bit j for element j of operand 2 (SDM Vol.2 4.1.4-4.1.6, with
 * the invalid-element overrides of Table 4-7). */
static unsigned str_compare(const xmm_t *s1, const xmm_t *s2, unsigned l1, unsigned l2,
                            unsigned imm)
{
    unsigned fmt = imm & 3, n = (imm & 1) ? 8 : 16;
    bool words = imm & 1;
    unsigned all = (1u << n) - 1, v2 = (1u << l2) - 1, v1 = (1u << l1) - 1, res = 0;
    __m128i b = xv(s2);
    switch ((imm >> 2) & 3) {
    case AGG_EQ_ANY: /* element j of op2 equals any valid element of op1 */
        for (unsigned i = 0; i < l1; i++)
            res |= eq_mask(b, splat(s1, i, words), words);
        res &= v2;
        break;
    case AGG_RANGES: /* op1 holds (low, high) pairs; an incomplete pair is false */
        for (unsigned i = 0; i + 1 < l1; i += 2) {
            unsigned ge = ge_mask(b, splat(s1, i, words), fmt);
            unsigned le = ~ge_mask(b, splat(s1, i + 1, words), fmt) |
                          eq_mask(b, splat(s1, i + 1, words), words);
            res |= ge & le;
        }
        res &= v2;
        break;
    case AGG_EQ_EACH: { /* both invalid: true; one invalid: false */
        unsigned eq = elem_bits(words ? _mm_cmpeq_epi16(xv(s1), b) : _mm_cmpeq_epi8(xv(s1), b), words);
        res = (eq & v1 & v2) | (~v1 & ~v2);
        break;
    }
    default: /* equal ordered: op1 (needle) occurs at position j of op2 */
        res = all;
        for (unsigned k = 0; k < l1 && k < n; k++) {
            /* haystack position j + k: past the vector end → true,
             * invalid → false, else the comparison */
            unsigned m = (eq_mask(b, splat(s1, k, words), words) & v2) >> k;
            res &= m | (all & ~(all >> k));
        }
        break;
    }
    switch ((imm >> 4) & 3) {
    case 1: res = ~res; break;
    case 3: res ^= v2; break;
    default: break;
    }
    return res & all;
}

/* 66 0F 3A 60 PCMPESTRM, 61 PCMPESTRI, 62 PCMPISTRM, 63 PCMPISTRI */
void op_pcmpstr_VxWxIb(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned imm = (uint8_t)in->imm, n = (imm & 1) ? 8 : 16;
    xmm_t s1 = *xreg(cpu, in->reg), s2;
    xs(&s2, sse_src(cpu, in, 16, false));
    unsigned l1, l2;
    if (in->opc & 2) {
        l1 = implicit_len(&s1, n, imm & 1);
        l2 = implicit_len(&s2, n, imm & 1);
    } else {
        l1 = explicit_len(cpu, in, R_AX, n);
        l2 = explicit_len(cpu, in, R_DX, n);
    }
    unsigned res = str_compare(&s1, &s2, l1, l2, imm);

    if (in->opc & 1) { /* index into ECX */
        unsigned idx = n;
        if (res)
            idx = (imm & 0x40) ? 31 - (unsigned)__builtin_clz(res) : (unsigned)__builtin_ctz(res);
        reg_set(cpu, R_CX, 4, idx);
    } else { /* mask into XMM0 */
        xmm_t m = { .q = { 0, 0 } };
        if (imm & 0x40) {
            for (unsigned i = 0; i < n; i++)
                if (res & (1u << i))
                    memset(m.b + i * (16 / n), 0xff, 16 / n);
        } else {
            m.w[0] = (uint16_t)res;
        }
        *xreg(cpu, 0) = m;
    }
    flags_set(cpu, FL_ARITH,
              (res ? FL_CF : 0) | (l2 < n ? FL_ZF : 0) | (l1 < n ? FL_SF : 0) |
                  ((res & 1) ? FL_OF : 0));
}
