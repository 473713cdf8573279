/*
 * test_sse_fault.c — MMX/SSE exception behaviour on the engine: #UD without
 * CR4.OSFXSR or with CR0.EM, #NM with CR0.TS, 16-byte alignment #GP(0),
 * all-or-nothing page-crossing stores, unmasked SIMD floating-point
 * exceptions (#XM, or #UD without CR4.OSXMMEXCPT), MXCSR rounding modes
 * (checked against the host's own conversions), REX.W conversions, the
 * MMX/x87 register aliasing, LOCK and VEX #UD, and 32-bit mode forms.
 */
#pragma GCC target("sse4.2")
#include <immintrin.h>

#include "cpu/ops_x87.h"
#include "int_test.h"

#define MXCSR_DEFAULT 0x1f80u
#define ZM (1u << 9)
#define IM (1u << 7)
#define PM (1u << 12)

static void set_cr(struct th *t, uint64_t cr0_set, uint64_t cr4_clear)
{
    t->cpu.cr0 |= cr0_set;
    t->cpu.cr4 &= ~cr4_clear;
    cpu_update_mode(&t->cpu);
}

TEST(sse_ud_without_osfxsr_mmx_still_works)
{
    struct th t;
    th_init(&t, TH_LONG64);
    set_cr(&t, 0, CR4_OSFXSR);
    static const uint8_t addps[] = { 0x0f, 0x58, 0xc1, 0xf4 };      /* addps xmm0, xmm1 */
    static const uint8_t pxor[] = { 0x66, 0x0f, 0xef, 0xc1, 0xf4 }; /* pxor xmm0, xmm1 */
    static const uint8_t movdqa[] = { 0x66, 0x0f, 0x6f, 0x06, 0xf4 };
    RUN_FAULT(&t, addps, EXC_UD);
    RUN_FAULT(&t, pxor, EXC_UD);
    RUN_FAULT(&t, movdqa, EXC_UD);
    CHECK_EQ(t.cpu.rip, TH_CODE);
    /* paddb mm0, mm1 needs no OSFXSR */
    static const uint8_t paddb[] = { 0x0f, 0xfc, 0xc1, 0xf4 };
    fpu_mmx_set(&t.cpu, 0, 0x0102030405060708ull);
    fpu_mmx_set(&t.cpu, 1, 0x01010101010101ffull);
    RUN_OK(&t, paddb);
    CHECK_EQ(fpu_mmx_get(&t.cpu, 0), 0x0203040506070807ull);
    th_destroy(&t);
}

TEST(sse_mmx_ud_with_em_nm_with_ts)
{
    static const uint8_t addps[] = { 0x0f, 0x58, 0xc1, 0xf4 };
    static const uint8_t paddb[] = { 0x0f, 0xfc, 0xc1, 0xf4 };
    static const uint8_t emms[] = { 0x0f, 0x77, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    set_cr(&t, CR0_EM, 0);
    RUN_FAULT(&t, addps, EXC_UD);
    RUN_FAULT(&t, paddb, EXC_UD);
    RUN_FAULT(&t, emms, EXC_UD);
    t.cpu.cr0 &= ~CR0_EM;
    set_cr(&t, CR0_TS, 0);
    t.cpu.fpu.xmm[0].q[0] = 0x1234;
    RUN_FAULT(&t, addps, EXC_NM);
    CHECK_EQ(t.cpu.fpu.xmm[0].q[0], 0x1234); /* untouched */
    RUN_FAULT(&t, paddb, EXC_NM);
    RUN_FAULT(&t, emms, EXC_NM);
    /* CLTS-like: clearing TS makes the same code run */
    t.cpu.cr0 &= ~CR0_TS;
    cpu_update_mode(&t.cpu);
    RUN_OK(&t, addps);
    th_destroy(&t);
}

TEST(sse_alignment_gp_for_aligned_forms_only)
{
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.r[R_SI] = TH_DATA + 8; /* 8 mod 16 */
    memset(th_mem(&t, TH_DATA), 0x5a, 64);
    static const uint8_t movaps_l[] = { 0x0f, 0x28, 0x06, 0xf4 };        /* movaps (%rsi),%xmm0 */
    static const uint8_t movdqa_s[] = { 0x66, 0x0f, 0x7f, 0x06, 0xf4 };  /* movdqa %xmm0,(%rsi) */
    static const uint8_t addps_m[] = { 0x0f, 0x58, 0x06, 0xf4 };         /* addps (%rsi),%xmm0 */
    static const uint8_t pxor_m[] = { 0x66, 0x0f, 0xef, 0x06, 0xf4 };    /* pxor (%rsi),%xmm0 */
    static const uint8_t movntdq[] = { 0x66, 0x0f, 0xe7, 0x06, 0xf4 };   /* movntdq %xmm0,(%rsi) */
    RUN_FAULT(&t, movaps_l, EXC_GP);
    CHECK_EQ(t.error, 0);
    t.cpu.fpu.xmm[0].q[0] = 0x1111;
    RUN_FAULT(&t, movdqa_s, EXC_GP);
    CHECK_EQ(*(uint64_t *)th_mem(&t, TH_DATA + 8), 0x5a5a5a5a5a5a5a5aull);
    RUN_FAULT(&t, addps_m, EXC_GP);
    RUN_FAULT(&t, pxor_m, EXC_GP);
    RUN_FAULT(&t, movntdq, EXC_GP);
    /* unaligned-OK forms */
    static const uint8_t movups_l[] = { 0x0f, 0x10, 0x06, 0xf4 };
    static const uint8_t movdqu_s[] = { 0xf3, 0x0f, 0x7f, 0x06, 0xf4 };
    static const uint8_t lddqu[] = { 0xf2, 0x0f, 0xf0, 0x06, 0xf4 };
    static const uint8_t addss_m[] = { 0xf3, 0x0f, 0x58, 0x06, 0xf4 };
    static const uint8_t pcmpistri[] = { 0x66, 0x0f, 0x3a, 0x63, 0x06, 0x00, 0xf4 };
    static const uint8_t paddb_mm[] = { 0x0f, 0xfc, 0x06, 0xf4 };
    RUN_OK(&t, movups_l);
    CHECK_EQ(t.cpu.fpu.xmm[0].q[1], 0x5a5a5a5a5a5a5a5aull);
    t.cpu.fpu.xmm[0].q[0] = 0x0123456789abcdefull;
    RUN_OK(&t, movdqu_s);
    CHECK_EQ(*(uint64_t *)th_mem(&t, TH_DATA + 8), 0x0123456789abcdefull);
    RUN_OK(&t, lddqu);
    RUN_OK(&t, addss_m);
    RUN_OK(&t, pcmpistri);
    RUN_OK(&t, paddb_mm);
    th_destroy(&t);
}

/* The last 2 MiB page below 16 MiB is mapped, the next one is not. */
static void unmap_16m(struct th *t)
{
    uint64_t *pd = th_mem(t, TH_PT + 0x2000);
    pd[8] = 0;
    tlb_flush_all(&t->cpu);
}

TEST(sse_page_crossing_store_is_all_or_nothing)
{
    struct th t;
    th_init(&t, TH_LONG64);
    unmap_16m(&t);
    uint64_t edge = 16ull << 20;
    t.cpu.r[R_SI] = edge - 8;
    memset(th_mem(&t, edge - 8), 0xcc, 8);
    t.cpu.fpu.xmm[0].q[0] = 1;
    t.cpu.fpu.xmm[0].q[1] = 2;
    static const uint8_t movups_s[] = { 0x0f, 0x11, 0x06, 0xf4 }; /* movups %xmm0,(%rsi) */
    RUN_FAULT(&t, movups_s, EXC_PF);
    CHECK_EQ(t.cpu.cr2, edge);
    CHECK_EQ(*(uint64_t *)th_mem(&t, edge - 8), 0xccccccccccccccccull);
    /* a faulting page-crossing load leaves the register alone */
    static const uint8_t movdqu_l[] = { 0xf3, 0x0f, 0x6f, 0x0e, 0xf4 }; /* movdqu (%rsi),%xmm1 */
    t.cpu.fpu.xmm[1].q[0] = 77;
    RUN_FAULT(&t, movdqu_l, EXC_PF);
    CHECK_EQ(t.cpu.fpu.xmm[1].q[0], 77);
    /* MASKMOVDQU selecting bytes on both pages writes nothing */
    static const uint8_t maskmov[] = { 0x66, 0x0f, 0xf7, 0xc1, 0xf4 }; /* xmm0, mask xmm1 */
    t.cpu.r[R_DI] = edge - 8;
    t.cpu.fpu.xmm[1].q[0] = 0x80ull;
    t.cpu.fpu.xmm[1].q[1] = 0x80ull << 56;
    RUN_FAULT(&t, maskmov, EXC_PF);
    CHECK_EQ(*(uint64_t *)th_mem(&t, edge - 8), 0xccccccccccccccccull);
    /* ... but a mask inside the mapped page works */
    t.cpu.fpu.xmm[1].q[1] = 0;
    t.cpu.fpu.xmm[0].q[0] = 0x11;
    RUN_OK(&t, maskmov);
    CHECK_EQ(*(uint64_t *)th_mem(&t, edge - 8), 0xcccccccccccccc11ull);
    /* page-crossing access that succeeds */
    t.cpu.r[R_SI] = TH_DATA + 0xff8;
    memset(th_mem(&t, TH_DATA + 0xff8), 0x42, 16);
    RUN_OK(&t, movdqu_l);
    CHECK_EQ(t.cpu.fpu.xmm[1].q[0], 0x4242424242424242ull);
    CHECK_EQ(t.cpu.fpu.xmm[1].q[1], 0x4242424242424242ull);
    th_destroy(&t);
}

static void put_f32(xmm_t *x, float a, float b, float c, float d)
{
    x->f[0] = a;
    x->f[1] = b;
    x->f[2] = c;
    x->f[3] = d;
}

TEST(sse_unmasked_divide_by_zero_raises_xm)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t divss[] = { 0xf3, 0x0f, 0x5e, 0xc1, 0xf4 }; /* divss xmm1, xmm0 */
    put_f32(&t.cpu.fpu.xmm[0], 1.0f, 5.0f, 6.0f, 7.0f);
    put_f32(&t.cpu.fpu.xmm[1], 0.0f, 1.0f, 1.0f, 1.0f);
    /* masked: +inf and ZE */
    t.cpu.fpu.mxcsr = MXCSR_DEFAULT;
    RUN_OK(&t, divss);
    CHECK_EQ(t.cpu.fpu.xmm[0].d[0], 0x7f800000u);
    CHECK_EQ(t.cpu.fpu.mxcsr, MXCSR_DEFAULT | 4);
    /* unmasked: #XM, destination unchanged, ZE set */
    put_f32(&t.cpu.fpu.xmm[0], 1.0f, 5.0f, 6.0f, 7.0f);
    t.cpu.fpu.mxcsr = MXCSR_DEFAULT & ~ZM;
    RUN_FAULT(&t, divss, EXC_XM);
    CHECK_EQ(t.cpu.rip, TH_CODE);
    CHECK(t.cpu.fpu.xmm[0].f[0] == 1.0f);
    CHECK_EQ(t.cpu.fpu.mxcsr, (MXCSR_DEFAULT & ~ZM) | 4);
    /* without CR4.OSXMMEXCPT the same is #UD */
    t.cpu.cr4 &= ~CR4_OSXMMEXCPT;
    cpu_update_mode(&t.cpu);
    t.cpu.fpu.mxcsr = MXCSR_DEFAULT & ~ZM;
    RUN_FAULT(&t, divss, EXC_UD);
    th_destroy(&t);
}

TEST(sse_unmasked_invalid_and_precision)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t sqrtps[] = { 0x0f, 0x51, 0xc1, 0xf4 }; /* sqrtps xmm1, xmm0 */
    put_f32(&t.cpu.fpu.xmm[1], -1.0f, 2.0f, 4.0f, 9.0f);
    put_f32(&t.cpu.fpu.xmm[0], 0, 0, 0, 0);
    t.cpu.fpu.mxcsr = MXCSR_DEFAULT & ~IM;
    RUN_FAULT(&t, sqrtps, EXC_XM);
    CHECK(t.cpu.fpu.mxcsr & 1); /* IE */
    CHECK(!(t.cpu.fpu.mxcsr & 0x20)); /* post-computation PE not reported */
    CHECK_EQ(t.cpu.fpu.xmm[0].q[0], 0);
    /* precision unmasked: sqrt(2) is inexact */
    put_f32(&t.cpu.fpu.xmm[1], 1.0f, 2.0f, 4.0f, 9.0f);
    t.cpu.fpu.mxcsr = MXCSR_DEFAULT & ~PM;
    RUN_FAULT(&t, sqrtps, EXC_XM);
    CHECK_EQ(t.cpu.fpu.mxcsr & 0x3f, 0x20);
    /* all exact: no exception even with everything unmasked */
    put_f32(&t.cpu.fpu.xmm[1], 1.0f, 16.0f, 4.0f, 9.0f);
    t.cpu.fpu.mxcsr = 0;
    RUN_OK(&t, sqrtps);
    CHECK(t.cpu.fpu.xmm[0].f[1] == 4.0f);
    th_destroy(&t);
}

/* CVTSD2SI under each MXCSR rounding mode vs the host's _mm_cvtsd_si32. */
TEST(sse_mxcsr_rounding_modes_match_host)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t cvt[] = { 0xf2, 0x0f, 0x2d, 0xc1, 0xf4 };  /* cvtsd2si xmm1, eax */
    static const uint8_t cvtt[] = { 0xf2, 0x0f, 0x2c, 0xc1, 0xf4 }; /* cvttsd2si xmm1, eax */
    static const uint8_t addss[] = { 0xf3, 0x0f, 0x58, 0xc1, 0xf4 };
    static const double vals[] = { 2.5, -2.5, 3.5, -0.5, 1e10, 7.0, -1.75 };
    static const int expect_rn[] = { 2, -2, 4, 0 };
    unsigned host_mx = _mm_getcsr();
    for (unsigned rc = 0; rc < 4; rc++) {
        for (unsigned i = 0; i < sizeof vals / sizeof vals[0]; i++) {
            uint32_t mx = MXCSR_DEFAULT | rc << 13;
            _mm_setcsr(mx);
            int want = _mm_cvtsd_si32(_mm_set_sd(vals[i]));
            unsigned want_mx = _mm_getcsr();
            _mm_setcsr(host_mx);
            t.cpu.fpu.mxcsr = mx;
            t.cpu.fpu.xmm[1].fd[0] = vals[i];
            RUN_OK(&t, cvt);
            CHECK_EQ((uint32_t)t.cpu.r[R_AX], (uint32_t)want);
            CHECK_EQ(t.cpu.fpu.mxcsr, want_mx);
            if (rc == 0 && i < 4)
                CHECK_EQ((int32_t)t.cpu.r[R_AX], expect_rn[i]);
            RUN_OK(&t, cvtt); /* truncation ignores RC */
            int32_t trunc = vals[i] > -2147483648.0 && vals[i] < 2147483648.0
                                ? (int32_t)vals[i] : INT32_MIN;
            CHECK_EQ((int32_t)t.cpu.r[R_AX], trunc);
        }
        /* 1 + 2^-24 rounds to 1 (nearest/down/zero) or up to 1 + 2^-23 */
        t.cpu.fpu.mxcsr = MXCSR_DEFAULT | rc << 13;
        put_f32(&t.cpu.fpu.xmm[0], 1.0f, 0, 0, 0);
        put_f32(&t.cpu.fpu.xmm[1], 0x1p-24f, 0, 0, 0);
        RUN_OK(&t, addss);
        CHECK(t.cpu.fpu.xmm[0].f[0] == (rc == 2 ? 1.0f + 0x1p-23f : 1.0f));
    }
    th_destroy(&t);
}

TEST(sse_rexw_conversions)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t cvttsd2si_q[] = { 0xf2, 0x48, 0x0f, 0x2c, 0xc1, 0xf4 }; /* rax */
    static const uint8_t cvtsi2sd_q[] = { 0xf2, 0x48, 0x0f, 0x2a, 0xc3, 0xf4 };  /* xmm0, rbx */
    static const uint8_t cvtsi2sd_d[] = { 0xf2, 0x0f, 0x2a, 0xc3, 0xf4 };        /* xmm0, ebx */
    t.cpu.fpu.mxcsr = MXCSR_DEFAULT;
    t.cpu.fpu.xmm[1].fd[0] = 0x1p63;
    RUN_OK(&t, cvttsd2si_q);
    CHECK_EQ(t.cpu.r[R_AX], 0x8000000000000000ull);
    CHECK_EQ(t.cpu.fpu.mxcsr, MXCSR_DEFAULT | 1); /* IE */
    t.cpu.fpu.xmm[1].fd[0] = -12345678901.9;
    RUN_OK(&t, cvttsd2si_q);
    CHECK_EQ(t.cpu.r[R_AX], (uint64_t)-12345678901ll);
    t.cpu.fpu.mxcsr = MXCSR_DEFAULT;
    t.cpu.r[R_BX] = 0x7fffffffffffffffull;
    t.cpu.fpu.xmm[0].q[1] = 0xabcdull;
    RUN_OK(&t, cvtsi2sd_q);
    CHECK_EQ(t.cpu.fpu.xmm[0].q[0], 0x43e0000000000000ull); /* 2^63 */
    CHECK_EQ(t.cpu.fpu.xmm[0].q[1], 0xabcdull);             /* upper kept */
    CHECK_EQ(t.cpu.fpu.mxcsr, MXCSR_DEFAULT | 0x20);        /* PE */
    RUN_OK(&t, cvtsi2sd_d); /* 32-bit source: -1 */
    CHECK(t.cpu.fpu.xmm[0].fd[0] == -1.0);
    th_destroy(&t);
}

TEST(sse_mmx_aliases_x87)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* movq %rax,%mm2 ; emms ; hlt */
    static const uint8_t code[] = { 0x48, 0x0f, 0x6e, 0xd0, 0xf4 };
    static const uint8_t emms[] = { 0x0f, 0x77, 0xf4 };
    t.cpu.r[R_AX] = 0x1122334455667788ull;
    t.cpu.fpu.fsw = 3u << 11; /* TOP = 3 */
    RUN_OK(&t, code);
    CHECK_EQ(fpu_mmx_get(&t.cpu, 2), 0x1122334455667788ull);
    uint16_t se;
    memcpy(&se, (uint8_t *)&t.cpu.fpu.st[2] + 8, 2);
    CHECK_EQ(se, 0xffff);                          /* exponent/sign all ones */
    CHECK_EQ((t.cpu.fpu.fsw >> 11) & 7, 0);        /* TOP = 0 */
    CHECK_EQ(t.cpu.fpu.ftw, 0);                    /* all valid */
    RUN_OK(&t, emms);
    CHECK_EQ(t.cpu.fpu.ftw, 0xffff);               /* all empty */
    th_destroy(&t);
}

TEST(sse_lock_and_vex_are_ud)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t lock_addps[] = { 0xf0, 0x0f, 0x58, 0x06, 0xf4 };
    static const uint8_t vaddps[] = { 0xc5, 0xf8, 0x58, 0xc1, 0xf4 };
    static const uint8_t vpxor[] = { 0xc4, 0xe1, 0x79, 0xef, 0xc1, 0xf4 };
    static const uint8_t f3_paddb[] = { 0xf3, 0x0f, 0xfc, 0xc1, 0xf4 }; /* no F3 form */
    t.cpu.r[R_SI] = TH_DATA;
    RUN_FAULT(&t, lock_addps, EXC_UD);
    RUN_FAULT(&t, vaddps, EXC_UD);
    RUN_FAULT(&t, vpxor, EXC_UD);
    RUN_FAULT(&t, f3_paddb, EXC_UD);
    th_destroy(&t);
}

TEST(sse_protected32_forms)
{
    struct th t;
    th_init(&t, TH_PROT32);
    static const uint8_t code[] = {
        0xf3, 0x0f, 0x6f, 0x06,       /* movdqu (%esi), %xmm0 */
        0x66, 0x0f, 0xfe, 0xc8,       /* paddd %xmm0, %xmm1 */
        0x66, 0x0f, 0x7e, 0xc8,       /* movd %xmm1, %eax */
        0x66, 0x0f, 0xc5, 0xd9, 0x05, /* pextrw $5, %xmm1, %ebx */
        0x66, 0x0f, 0x6e, 0xd2,       /* movd %edx, %xmm2 (66 is mandatory, not 16-bit) */
        0x66, 0x0f, 0x29, 0x56, 0x10, /* movapd %xmm2, 16(%esi) */
        0xf4,
    };
    uint32_t *d = th_mem(&t, TH_DATA);
    for (int i = 0; i < 4; i++)
        d[i] = 0x10000 * (uint32_t)(i + 1) + 1;
    t.cpu.fpu.xmm[1].q[0] = 0x0000000200000001ull;
    t.cpu.fpu.xmm[1].q[1] = 0x0000000400000003ull;
    t.cpu.r[R_SI] = TH_DATA;
    t.cpu.r[R_DX] = 0xdeadbeef;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x10002);
    CHECK_EQ(t.cpu.r[R_BX], 0x3); /* word 5 = high half of dword 2 (0x00030004) */
    CHECK_EQ(d[4], 0xdeadbeef);
    CHECK_EQ(d[5], 0);
    th_destroy(&t);
}
