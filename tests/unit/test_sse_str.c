/*
 * test_sse_str.c — SSE4.2 PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM against
 * the host for every imm8 control combination that matters (format,
 * aggregation, polarity, index/mask selection), with string-like data
 * (small alphabet, embedded zeros) and random explicit lengths, plus
 * hand-checked glibc-style uses.
 */
#include "sse_native.h"

/* all four aggregations x four polarities for one format and output bit */
#define STR4(X, ins, fmt, out)                                                      \
    X(ins##_##fmt##0##out, #ins " $0x" #out "0 + 0x" #fmt ", %xmm1, %xmm0")         \
    X(ins##_##fmt##4##out, #ins " $0x" #out "4 + 0x" #fmt ", %xmm1, %xmm0")         \
    X(ins##_##fmt##8##out, #ins " $0x" #out "8 + 0x" #fmt ", 16(%rsi), %xmm0")      \
    X(ins##_##fmt##c##out, #ins " $0x" #out "c + 0x" #fmt ", 3(%rsi), %xmm0")       \
    X(ins##_##fmt##p1##out, #ins " $0x" #out "c + 0x1" #fmt ", %xmm1, %xmm0")       \
    X(ins##_##fmt##p2##out, #ins " $0x" #out "0 + 0x2" #fmt ", %xmm1, %xmm0")       \
    X(ins##_##fmt##p3##out, #ins " $0x" #out "8 + 0x3" #fmt ", %xmm1, %xmm0")       \
    X(ins##_##fmt##p3r##out, #ins " $0x" #out "4 + 0x3" #fmt ", %xmm1, %xmm0")
#define STR_FMTS(X, ins, out) STR4(X, ins, 0, out) STR4(X, ins, 1, out) STR4(X, ins, 2, out) STR4(X, ins, 3, out)

#define STR_CASES(X)                                                                \
    STR_FMTS(X, pcmpistri, 0) STR_FMTS(X, pcmpistri, 4)                             \
    STR_FMTS(X, pcmpestri, 0) STR_FMTS(X, pcmpestri, 4)                             \
    STR_FMTS(X, pcmpistrm, 0) STR_FMTS(X, pcmpistrm, 4)                             \
    STR_FMTS(X, pcmpestrm, 0) STR_FMTS(X, pcmpestrm, 4)                             \
    X(pcmpestri_q, "pcmpestriq $0x0c, %xmm1, %xmm0")                               \
    X(pcmpestrm_q, "pcmpestrmq $0x44, %xmm9, %xmm8")

STR_CASES(SSE_NATIVE_ASM)
static const struct sse_case str_cases[] = { STR_CASES(SSE_NATIVE_ENTRY) };

TEST(sse_native_pcmpstr)
{
    unsigned n = (unsigned)(sizeof(str_cases) / sizeof(str_cases[0]));
    CHECK_EQ(sse_native_check_all(str_cases, n, 40, SSE_GEN_STRING), 0);
    CHECK_EQ(sse_native_check_all(str_cases, n, 6, SSE_GEN_MIXED), 0);
}

/* strlen-style: PCMPISTRI $0x08 (ub, equal each, +, lsb) of a string with
 * itself finds nothing but reports the terminator through ZF and ECX = 16;
 * with imm 0x3a (ub, equal each, masked -, lsb) ECX is the first position
 * that differs or the string end. */
TEST(sse_pcmpistri_strcmp_by_hand)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* pcmpistri $0x1a, (%rsi), %xmm0 ; hlt */
    static const uint8_t code[] = { 0x66, 0x0f, 0x3a, 0x63, 0x06, 0x1a, 0xf4 };
    memcpy(&t.cpu.fpu.xmm[0], "hello, world\0zzz", 16);
    memcpy(th_mem(&t, TH_DATA), "hello, wOrld\0yyy", 16);
    t.cpu.r[R_SI] = TH_DATA;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_CX], 8); /* first difference */
    uint64_t f = cpu_get_rflags(&t.cpu);
    CHECK(f & FL_CF);
    CHECK(f & FL_ZF); /* the memory operand has a terminator */
    CHECK(f & FL_SF); /* and so has xmm0 */
    CHECK(!(f & FL_OF));
    th_destroy(&t);
}
