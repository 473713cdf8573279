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

static int elem(const xmm_t *x, unsigned i, unsigned fmt)
{
    switch (fmt) {
    case 0: return x->b[i];
    case 1: return x->w[i];
    case 2: return (int8_t)x->b[i];
    default: return (int16_t)x->w[i];
    }
}

static unsigned implicit_len(const xmm_t *x, unsigned n, unsigned fmt)
{
    unsigned i = 0;
    while (i < n && elem(x, i, fmt) != 0)
        i++;
    return i;
}

static unsigned explicit_len(const struct cpu *cpu, const struct insn *in, int r, unsigned n)
{
    int64_t v = (in->rex & 8) ? (int64_t)cpu->r[r] : (int64_t)(int32_t)cpu->r[r];
    uint64_t a = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    return a > n ? n : (unsigned)a;
}

/* IntRes2 of the compare (bit i for element i of operand 2). */
static unsigned str_compare(const xmm_t *s1, const xmm_t *s2, unsigned l1, unsigned l2,
                            unsigned imm)
{
    unsigned fmt = imm & 3, n = (imm & 1) ? 8 : 16, agg = (imm >> 2) & 3;
    unsigned res = 0;
    for (unsigned j = 0; j < n; j++) {
        bool v2 = j < l2, bit = false;
        int e2 = elem(s2, j, fmt);
        switch (agg) {
        case AGG_EQ_ANY:
            for (unsigned i = 0; i < l1 && v2 && !bit; i++)
                bit = elem(s1, i, fmt) == e2;
            break;
        case AGG_RANGES:
            /* pairs (lower, upper); a pair with an invalid bound is false */
            for (unsigned i = 0; i + 1 < l1 && v2 && !bit; i += 2)
                bit = e2 >= elem(s1, i, fmt) && e2 <= elem(s1, i + 1, fmt);
            break;
        case AGG_EQ_EACH: {
            bool v1 = j < l1;
            bit = (v1 && v2) ? elem(s1, j, fmt) == e2 : (!v1 && !v2);
            break;
        }
        default: /* equal ordered: does operand 1 occur at position j? */
            bit = true;
            for (unsigned k = 0; k < n - j && bit; k++) {
                if (k >= l1)
                    break; /* needle ended: match */
                if (j + k >= l2)
                    bit = false; /* haystack ended first */
                else
                    bit = elem(s1, k, fmt) == elem(s2, j + k, fmt);
            }
            break;
        }
        res |= (unsigned)bit << j;
    }
    unsigned all = (1u << n) - 1;
    switch ((imm >> 4) & 3) {
    case 1: res ^= all; break;
    case 3: res ^= (1u << l2) - 1; break;
    default: break;
    }
    return res & all;
}

/* 66 0F 3A 60 PCMPESTRM, 61 PCMPESTRI, 62 PCMPISTRM, 63 PCMPISTRI */
void op_pcmpstr_VxWxIb(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned imm = (uint8_t)in->imm, n = (imm & 1) ? 8 : 16, fmt = imm & 3;
    xmm_t s1 = *xreg(cpu, in->reg), s2;
    xs(&s2, sse_src(cpu, in, 16, false));
    unsigned l1, l2;
    if (in->opc & 2) {
        l1 = implicit_len(&s1, n, fmt);
        l2 = implicit_len(&s2, n, fmt);
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
