/*
 * test_fxsave.c — FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, XSAVE/XRSTOR and the MMX
 * aliasing helpers on the engine: image layout (FCW 0, FSW 2, abridged tag
 * 4, FOP 6, FIP 8, MXCSR 24, MXCSR_MASK 28, ST0 32, XMM0 160), the 32- and
 * 64-bit (REX.W) formats, round trips, alignment #GP, reserved MXCSR bits,
 * #UD/#NM conditions, XSTATE_BV and the XRSTOR init optimisation.
 */
#include "cpu_harness.h"
#include "cpu/ops_x87.h"
#include "test.h"

static uint8_t *area(struct th *t)
{
    return th_mem(t, TH_DATA);
}

static enum th_result run_at(struct th *t, const uint8_t *code, size_t n, uint64_t off)
{
    t->cpu.r[R_DI] = TH_DATA + off;
    return th_run(t, code, n);
}

#define RUN(t, code) run_at((t), (code), sizeof(code), 0)

static uint16_t rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void set_xmm(struct th *t)
{
    for (int i = 0; i < 16; i++)
        for (int b = 0; b < 16; b++)
            t->cpu.fpu.xmm[i].b[b] = (uint8_t)(i * 16 + b + 1);
}

static const uint8_t one80[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f };

/* fninit; fld1; fldpi; fxsave [rdi]; hlt */
static const uint8_t code_fxsave[] = { 0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xeb, 0x0f, 0xae, 0x07, 0xf4 };

TEST(fxsave_layout)
{
    struct th t;
    th_init(&t, TH_LONG64);
    memset(area(&t), 0xaa, 1024);
    set_xmm(&t);
    t.cpu.fpu.mxcsr = 0x9fc0;
    CHECK_EQ(RUN(&t, code_fxsave), TH_HALT);
    uint8_t *a = area(&t);
    CHECK_EQ(rd16(a + 0), 0x037f);          /* FCW */
    CHECK_EQ(rd16(a + 2), 0x3000);          /* FSW: TOP = 6 */
    CHECK_EQ(a[4], 0xc0);                   /* abridged tag: R6, R7 */
    CHECK_EQ(a[5], 0);
    CHECK_EQ(rd16(a + 6), 0x1eb);           /* FOP of FLDPI (D9 EB) */
    CHECK_EQ(rd32(a + 8), TH_CODE + 4);     /* FIP */
    CHECK_EQ(rd16(a + 12), 0x08);           /* FCS */
    CHECK_EQ(rd32(a + 24), 0x9fc0);         /* MXCSR */
    CHECK_EQ(rd32(a + 28), FPU_MXCSR_MASK); /* MXCSR_MASK */
    CHECK(memcmp(a + 48, one80, 10) == 0);  /* ST1 = 1.0 */
    CHECK_EQ(rd16(a + 32 + 8), 0x4000);     /* ST0 = pi: exponent 1 */
    CHECK_EQ(rd64(a + 32), 0xc90fdaa22168c235ull);
    CHECK_EQ(rd16(a + 32 + 10), 0);         /* reserved bytes written as 0 */
    CHECK(memcmp(a + 160, &t.cpu.fpu.xmm[0], 16) == 0);
    CHECK(memcmp(a + 160 + 15 * 16, &t.cpu.fpu.xmm[15], 16) == 0);
    CHECK_EQ(a[416], 0xaa); /* bytes 416-511 are not written */
    CHECK_EQ(a[511], 0xaa);
    th_destroy(&t);
}

TEST(fxsave64_format)
{
    /* fninit; fld1; fldpi; fxsave64 [rdi]; hlt */
    static const uint8_t code[] = { 0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xeb, 0x48, 0x0f, 0xae, 0x07, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    memset(area(&t), 0xaa, 1024);
    CHECK_EQ(RUN(&t, code), TH_HALT);
    CHECK_EQ(rd64(area(&t) + 8), TH_CODE + 4); /* 64-bit FIP, no FCS */
    th_destroy(&t);
}

TEST(fxsave_32bit_mode_xmm0_7)
{
    static const uint8_t code[] = { 0x0f, 0xae, 0x07, 0xf4 }; /* fxsave [edi]; hlt */
    struct th t;
    th_init(&t, TH_PROT32);
    memset(area(&t), 0xaa, 1024);
    set_xmm(&t);
    CHECK_EQ(RUN(&t, code), TH_HALT);
    CHECK(memcmp(area(&t) + 160 + 7 * 16, &t.cpu.fpu.xmm[7], 16) == 0);
    CHECK_EQ(area(&t)[288], 0xaa); /* XMM8-15 only in 64-bit mode */
    th_destroy(&t);
}

TEST(fxrstor_roundtrip)
{
    /* fxsave [rdi]; fninit; fldz; fldz; fxrstor [rdi]; fxsave [rdi+512]; hlt */
    static const uint8_t code[] = { 0x0f, 0xae, 0x07, 0xdb, 0xe3, 0xd9, 0xee, 0xd9, 0xee, 0x0f,
                                    0xae, 0x0f, 0x0f, 0xae, 0x87, 0x00, 0x02, 0x00, 0x00, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    CHECK_EQ(RUN(&t, code_fxsave), TH_HALT);
    set_xmm(&t);
    t.cpu.fpu.mxcsr = 0x1f00;
    struct fpu before = t.cpu.fpu;
    CHECK_EQ(RUN(&t, code), TH_HALT);
    CHECK(memcmp(area(&t), area(&t) + 512, 416) == 0);
    CHECK_EQ(t.cpu.fpu.fsw, before.fsw);
    CHECK_EQ(t.cpu.fpu.ftw, before.ftw);
    CHECK_EQ(t.cpu.fpu.fip, before.fip);
    CHECK_EQ(t.cpu.fpu.fop, before.fop);
    CHECK_EQ(t.cpu.fpu.mxcsr, 0x1f00);
    CHECK(memcmp(t.cpu.fpu.xmm, before.xmm, sizeof(before.xmm)) == 0);
    for (int i = 0; i < 8; i++)
        CHECK(memcmp(&t.cpu.fpu.st[i], &before.st[i], 10) == 0);
    th_destroy(&t);
}

TEST(fxrstor_tags_from_abridged)
{
    static const uint8_t code[] = { 0x0f, 0xae, 0x0f, 0xf4 }; /* fxrstor [rdi]; hlt */
    struct th t;
    th_init(&t, TH_LONG64);
    uint8_t *a = area(&t);
    memset(a, 0, 512);
    a[0] = 0x7f;
    a[1] = 0x03;
    a[3] = 0x28;   /* TOP = 5 */
    a[4] = 0xe0;   /* R5, R6, R7 in use */
    a[24] = 0x80;  /* MXCSR 0x1f80 */
    a[25] = 0x1f;
    /* ST0 = R5 = 1.0 (valid), ST1 = R6 = +0 (zero), ST2 = R7 = inf (special) */
    memcpy(a + 32, one80, 10);
    a[64 + 7] = 0x80;
    a[64 + 8] = 0xff;
    a[64 + 9] = 0x7f;
    CHECK_EQ(RUN(&t, code), TH_HALT);
    CHECK_EQ(t.cpu.fpu.ftw, 0x93ff); /* R7 10, R6 01, R5 00, R0-R4 11 */
    CHECK_EQ(t.cpu.fpu.mxcsr, 0x1f80);
    th_destroy(&t);
}

TEST(fxsave_misaligned_gp)
{
    static const uint8_t fxsave[] = { 0x0f, 0xae, 0x07, 0xf4 };
    static const uint8_t fxrstor[] = { 0x0f, 0xae, 0x0f, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    memset(area(&t), 0xaa, 1024);
    CHECK_EQ(run_at(&t, fxsave, sizeof(fxsave), 8), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0);
    CHECK_EQ(area(&t)[8], 0xaa); /* nothing written */
    CHECK_EQ(run_at(&t, fxrstor, sizeof(fxrstor), 4), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    th_destroy(&t);
}

TEST(fxrstor_reserved_mxcsr_gp)
{
    static const uint8_t code[] = { 0x0f, 0xae, 0x0f, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    uint8_t *a = area(&t);
    memset(a, 0, 512);
    a[0] = 0x7f;
    a[1] = 0x0f;
    uint32_t mx = 0x11f80;
    memcpy(a + 24, &mx, 4);
    uint16_t fcw = t.cpu.fpu.fcw;
    CHECK_EQ(RUN(&t, code), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.cpu.fpu.fcw, fcw); /* nothing loaded */
    CHECK_EQ(t.cpu.fpu.mxcsr, 0x1f80);
    th_destroy(&t);
}

TEST(fxsave_nm_with_ts)
{
    static const uint8_t code[] = { 0x0f, 0xae, 0x07, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.cr0 |= CR0_TS;
    cpu_update_mode(&t.cpu);
    CHECK_EQ(RUN(&t, code), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_NM);
    th_destroy(&t);
}

TEST(fxsave_ldmxcsr_stmxcsr)
{
    /* ldmxcsr [rdi]; stmxcsr [rdi+4]; hlt */
    static const uint8_t code[] = { 0x0f, 0xae, 0x17, 0x0f, 0xae, 0x5f, 0x04, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    uint32_t v = 0xffc0;
    memcpy(area(&t), &v, 4);
    CHECK_EQ(RUN(&t, code), TH_HALT);
    CHECK_EQ(t.cpu.fpu.mxcsr, 0xffc0);
    CHECK_EQ(rd32(area(&t) + 4), 0xffc0);

    v = 0x10000; /* reserved bit: #GP(0), MXCSR unchanged */
    memcpy(area(&t), &v, 4);
    CHECK_EQ(RUN(&t, code), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0);
    CHECK_EQ(t.cpu.fpu.mxcsr, 0xffc0);

    t.cpu.cr0 |= CR0_TS;
    cpu_update_mode(&t.cpu);
    CHECK_EQ(RUN(&t, code), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_NM);

    t.cpu.cr0 &= ~CR0_TS;
    t.cpu.cr4 &= ~CR4_OSFXSR;
    cpu_update_mode(&t.cpu);
    CHECK_EQ(RUN(&t, code), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_UD);
    th_destroy(&t);
}

static void xsave_setup(struct th *t)
{
    t->cpu.cr4 |= CR4_OSXSAVE;
    t->cpu.xcr0 = 3;
    cpu_update_mode(&t->cpu);
    t->cpu.r[R_AX] = 0xffffffff;
    t->cpu.r[R_DX] = 0xffffffff;
}

TEST(xsave_xrstor_roundtrip)
{
    /* xsave [rdi]; fninit; fldz; xrstor [rdi]; xsave64 [rdi+1024]; hlt */
    static const uint8_t code[] = { 0x0f, 0xae, 0x27, 0xdb, 0xe3, 0xd9, 0xee, 0x0f, 0xae, 0x2f,
                                    0x48, 0x0f, 0xae, 0xa7, 0x00, 0x04, 0x00, 0x00, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    CHECK_EQ(RUN(&t, code_fxsave), TH_HALT);
    xsave_setup(&t);
    set_xmm(&t);
    memset(area(&t), 0xaa, 2048);
    memset(area(&t) + 512, 0, 64);
    memset(area(&t) + 1024 + 512, 0, 64);
    struct fpu before = t.cpu.fpu;
    CHECK_EQ(RUN(&t, code), TH_HALT);
    uint8_t *a = area(&t);
    CHECK_EQ(rd64(a + 512), 3); /* XSTATE_BV: x87 and SSE in use */
    CHECK_EQ(rd16(a + 0), 0x037f);
    CHECK_EQ(rd32(a + 24), 0x1f80);
    CHECK(memcmp(a + 160, &before.xmm[0], 16) == 0);
    CHECK_EQ(a[416], 0xaa);
    CHECK_EQ(t.cpu.fpu.ftw, before.ftw);
    CHECK_EQ(t.cpu.fpu.fsw, before.fsw);
    CHECK(memcmp(t.cpu.fpu.xmm, before.xmm, sizeof(before.xmm)) == 0);
    for (int i = 0; i < 8; i++)
        CHECK(memcmp(&t.cpu.fpu.st[i], &before.st[i], 10) == 0);
    CHECK(memcmp(a + 32, a + 1024 + 32, 416 - 32) == 0);
    CHECK_EQ(rd64(a + 1024 + 8), before.fip); /* XSAVE64: 64-bit FIP */
    th_destroy(&t);
}

TEST(xsave_partial_rfbm_and_init_state)
{
    static const uint8_t xsave[] = { 0x0f, 0xae, 0x27, 0xf4 };
    static const uint8_t xrstor[] = { 0x0f, 0xae, 0x2f, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    xsave_setup(&t);
    /* Initial configuration: FNINIT state, zero registers, zero XMM,
     * MXCSR 1F80 → XSTATE_BV bits are 0 (XINUSE). */
    t.cpu.fpu.fcw = 0x37f;
    t.cpu.fpu.fsw = 0;
    t.cpu.fpu.ftw = 0xffff;
    memset(t.cpu.fpu.st, 0, sizeof(t.cpu.fpu.st));
    memset(area(&t), 0xaa, 1024);
    memset(area(&t) + 512, 0xff, 8);
    CHECK_EQ(RUN(&t, xsave), TH_HALT);
    CHECK_EQ(rd64(area(&t) + 512), ~3ull);

    /* RFBM = x87 only: the SSE area and MXCSR are not written */
    memset(area(&t), 0xaa, 1024);
    memset(area(&t) + 512, 0, 64);
    set_xmm(&t);
    t.cpu.r[R_AX] = 1;
    CHECK_EQ(RUN(&t, xsave), TH_HALT);
    CHECK_EQ(rd16(area(&t)), 0x37f);
    CHECK_EQ(area(&t)[24], 0xaa);
    CHECK_EQ(area(&t)[160], 0xaa);
    CHECK_EQ(rd64(area(&t) + 512), 0);

    /* XRSTOR with XSTATE_BV = 0: both components initialised; MXCSR is
     * still loaded from memory (standard form, RFBM[1] = 1). */
    t.cpu.r[R_AX] = 3;
    t.cpu.fpu.fcw = 0x0c7f;
    t.cpu.fpu.ftw = 0;
    uint32_t mx = 0x1fc0;
    memcpy(area(&t) + 24, &mx, 4);
    CHECK_EQ(RUN(&t, xrstor), TH_HALT);
    CHECK_EQ(t.cpu.fpu.fcw, 0x37f);
    CHECK_EQ(t.cpu.fpu.ftw, 0xffff);
    CHECK_EQ(t.cpu.fpu.mxcsr, 0x1fc0);
    static const xmm_t zero;
    CHECK(memcmp(&t.cpu.fpu.xmm[15], &zero, 16) == 0);
    th_destroy(&t);
}

TEST(xsave_faults)
{
    static const uint8_t xsave[] = { 0x0f, 0xae, 0x27, 0xf4 };
    static const uint8_t xrstor[] = { 0x0f, 0xae, 0x2f, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    CHECK_EQ(RUN(&t, xsave), TH_EXCEPTION); /* CR4.OSXSAVE = 0 */
    CHECK_EQ(t.vector, EXC_UD);
    xsave_setup(&t);
    memset(area(&t), 0, 1024);
    CHECK_EQ(run_at(&t, xsave, sizeof(xsave), 32), TH_EXCEPTION); /* 64-byte alignment */
    CHECK_EQ(t.vector, EXC_GP);
    area(&t)[0] = 0x7f;
    area(&t)[1] = 0x03;
    area(&t)[25] = 0x1f;
    area(&t)[512] = 4; /* XSTATE_BV bit not in XCR0 */
    t.cpu.fpu.fcw = 0x0c7f;
    CHECK_EQ(RUN(&t, xrstor), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    area(&t)[512] = 1;
    area(&t)[512 + 15] = 0x80; /* XCOMP_BV[63]: compacted form unsupported */
    CHECK_EQ(RUN(&t, xrstor), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    area(&t)[512 + 15] = 0;
    area(&t)[26] = 1; /* MXCSR reserved bit */
    CHECK_EQ(RUN(&t, xrstor), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.cpu.fpu.fcw, 0x0c7f); /* nothing restored */
    area(&t)[26] = 0;
    CHECK_EQ(RUN(&t, xrstor), TH_HALT);
    CHECK_EQ(t.cpu.fpu.fcw, 0x37f);
    t.cpu.cr0 |= CR0_TS;
    cpu_update_mode(&t.cpu);
    CHECK_EQ(RUN(&t, xsave), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_NM);
    th_destroy(&t);
}

TEST(fxsave_mmx_aliasing)
{
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.fpu.fsw = 5u << 11;
    t.cpu.fpu.ftw = 0xffff;
    fpu_mmx_set(&t.cpu, 3, 0x0123456789abcdefull);
    CHECK_EQ(fpu_mmx_get(&t.cpu, 3), 0x0123456789abcdefull);
    CHECK_EQ((t.cpu.fpu.fsw >> 11) & 7, 0); /* TOP = 0 */
    CHECK_EQ(t.cpu.fpu.ftw, 0);              /* all tags valid */
    uint16_t se;
    memcpy(&se, (const uint8_t *)&t.cpu.fpu.st[3] + 8, 2);
    CHECK_EQ(se, 0xffff);
    /* FXSAVE shows MM3 in the ST3 slot (TOP = 0), abridged tag 0xff */
    CHECK_EQ(run_at(&t, (const uint8_t[]){ 0x0f, 0xae, 0x07, 0xf4 }, 4, 0), TH_HALT);
    CHECK_EQ(rd64(area(&t) + 32 + 3 * 16), 0x0123456789abcdefull);
    CHECK_EQ(rd16(area(&t) + 32 + 3 * 16 + 8), 0xffff);
    CHECK_EQ(area(&t)[4], 0xff);
    fpu_emms(&t.cpu);
    CHECK_EQ(t.cpu.fpu.ftw, 0xffff);
    th_destroy(&t);
}
