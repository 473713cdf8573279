/*
 * test_x87.c — the x87 FPU on the engine.
 *
 * Directed tests: FLD/FADD/FSTP of doubles against the host computation,
 * FIST/FISTTP under every rounding mode, FCOMI flags, stack underflow and
 * overflow responses (IE|SF, C1, QNaN indefinite), FNSTSW AX, the FNINIT
 * state, FSAVE/FRSTOR and FSTENV layouts in 64-bit, 32-bit and real mode,
 * FIP/FDP/FOP, #NM (CR0.EM/TS/MP), and unmasked exceptions (no state change,
 * ES, #MF at the next waiting instruction only when CR0.NE=1).
 *
 * Differential tests: instruction sequences built at run time are executed
 * both on the engine and natively on the host (in an executable page), and
 * the resulting memory — every stored result, every FSW snapshot and the
 * final FNSAVE image (tags, TOP, registers) — must match byte for byte.
 */
#include <math.h>
#include <sys/mman.h>

#include "cpu_harness.h"
#include "test.h"

static const uint8_t HLT = 0xf4;

static enum th_result run(struct th *t, const uint8_t *code, size_t n)
{
    t->cpu.r[R_DI] = TH_DATA;
    return th_run(t, code, n);
}

#define RUN(t, code) run((t), (code), sizeof(code))

static uint64_t d2u(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static uint8_t *data(struct th *t)
{
    return th_mem(t, TH_DATA);
}

/* fninit; fld qword [rdi]; fadd qword [rdi+8]; fstp qword [rdi+16];
 * fld qword [rdi]; fmul qword [rdi+8]; fstp qword [rdi+24];
 * fld qword [rdi]; fld qword [rdi+8]; fdivp st(1),st; fstp qword [rdi+32];
 * fld qword [rdi]; fld qword [rdi+8]; fsubrp st(1),st; fstp qword [rdi+40];
 * fnstsw ax; hlt */
static const uint8_t code_arith[] = {
    0xdb, 0xe3, 0xdd, 0x07, 0xdc, 0x47, 0x08, 0xdd, 0x5f, 0x10, 0xdd, 0x07, 0xdc, 0x4f,
    0x08, 0xdd, 0x5f, 0x18, 0xdd, 0x07, 0xdd, 0x47, 0x08, 0xde, 0xf9, 0xdd, 0x5f, 0x20,
    0xdd, 0x07, 0xdd, 0x47, 0x08, 0xde, 0xe1, 0xdd, 0x5f, 0x28, 0xdf, 0xe0, 0xf4,
};

TEST(x87_fld_fadd_fstp_double)
{
    static const double vals[][2] = { { 0.1, 0.2 }, { 1e308, 10.0 }, { -3.5, 1e-310 },
                                      { 1.0 / 3.0, 3.0 }, { 123456789.125, -0.001 } };
    for (unsigned k = 0; k < sizeof(vals) / sizeof(vals[0]); k++) {
        struct th t;
        th_init(&t, TH_LONG64);
        double a = vals[k][0], b = vals[k][1];
        memcpy(data(&t), &a, 8);
        memcpy(data(&t) + 8, &b, 8);
        CHECK_EQ(RUN(&t, code_arith), TH_HALT);
        /* The host computes in the same 64-bit precision, round to nearest
         * (FNINIT control word), then rounds to double. */
        volatile long double la = a, lb = b;
        double sum = (double)(la + lb), prod = (double)(la * lb);
        double quo = (double)(la / lb), dif = (double)(lb - la);
        uint64_t *r = (uint64_t *)(data(&t) + 16);
        CHECK_EQ(r[0], d2u(sum));
        CHECK_EQ(r[1], d2u(prod));
        CHECK_EQ(r[2], d2u(quo));
        CHECK_EQ(r[3], d2u(dif));
        uint16_t sw = (uint16_t)t.cpu.r[R_AX];
        CHECK_EQ(sw & 0x3800, 0); /* TOP back at 0 */
        CHECK_EQ(sw & 0x80, 0);   /* masked: no ES */
        if (k == 1)
            CHECK_EQ(sw & 0x28, 0x28); /* 1e308*10 overflows the double: OE|PE */
        th_destroy(&t);
    }
}

/* fninit; fldcw [rdi+8]; fld qword [rdi]; fist dword [rdi+16]; fistp word [rdi+20];
 * fld qword [rdi]; fisttp qword [rdi+24]; fnstsw ax; hlt */
static const uint8_t code_round[] = {
    0xdb, 0xe3, 0xd9, 0x6f, 0x08, 0xdd, 0x07, 0xdb, 0x57, 0x10, 0xdf, 0x5f,
    0x14, 0xdd, 0x07, 0xdd, 0x4f, 0x18, 0xdf, 0xe0, 0xf4,
};

TEST(x87_fist_rounding_modes)
{
    static const double in[] = { 2.5, -2.5, 3.7, -0.5, 40000.0 };
    /* expected per RC: nearest-even, down, up, toward zero */
    static const int32_t want[][4] = {
        { 2, 2, 3, 2 }, { -2, -3, -2, -2 }, { 4, 3, 4, 3 }, { 0, -1, 0, 0 },
        { 40000, 40000, 40000, 40000 },
    };
    for (unsigned v = 0; v < 5; v++) {
        for (unsigned rc = 0; rc < 4; rc++) {
            struct th t;
            th_init(&t, TH_LONG64);
            uint8_t *d = data(&t);
            memcpy(d, &in[v], 8);
            uint16_t cw = (uint16_t)(0x037f | rc << 10);
            memcpy(d + 8, &cw, 2);
            CHECK_EQ(RUN(&t, code_round), TH_HALT);
            int32_t i32;
            int16_t i16;
            int64_t i64;
            memcpy(&i32, d + 16, 4);
            memcpy(&i16, d + 20, 2);
            memcpy(&i64, d + 24, 8);
            CHECK_EQ(i32, want[v][rc]);
            CHECK_EQ(i64, (int64_t)in[v]); /* FISTTP truncates */
            uint16_t sw = (uint16_t)t.cpu.r[R_AX];
            if (v == 4) {
                CHECK_EQ((uint16_t)i16, 0x8000); /* integer indefinite */
                CHECK(sw & 0x01);                /* IE */
            } else {
                CHECK_EQ(i16, want[v][rc]);
                CHECK_EQ(sw & 0x01, 0);
                CHECK(sw & 0x20); /* inexact */
            }
            th_destroy(&t);
        }
    }
}

TEST(x87_fild_sum)
{
    /* fninit; fild word [rdi]; fild dword [rdi+4]; fild qword [rdi+8];
     * faddp; faddp; fistp qword [rdi+16]; hlt */
    static const uint8_t code[] = { 0xdb, 0xe3, 0xdf, 0x07, 0xdb, 0x47, 0x04, 0xdf, 0x6f,
                                    0x08, 0xde, 0xc1, 0xde, 0xc1, 0xdf, 0x7f, 0x10, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    uint8_t *d = data(&t);
    int16_t a = -300;
    int32_t b = 100000;
    int64_t c = 0x123456789abcll, r;
    memcpy(d, &a, 2);
    memcpy(d + 4, &b, 4);
    memcpy(d + 8, &c, 8);
    CHECK_EQ(RUN(&t, code), TH_HALT);
    memcpy(&r, d + 16, 8);
    CHECK_EQ(r, c + b + a);
    th_destroy(&t);
}

TEST(x87_fcomi_flags)
{
    /* fninit; fld qword [rdi+8]; fld qword [rdi]; fcomi st,st(1); hlt */
    static const uint8_t fcomi[] = { 0xdb, 0xe3, 0xdd, 0x47, 0x08, 0xdd, 0x07, 0xdb, 0xf1, 0xf4 };
    /* ... fucomip st,st(1); fnstsw ax; hlt */
    static const uint8_t fucomip[] = { 0xdb, 0xe3, 0xdd, 0x47, 0x08, 0xdd, 0x07,
                                       0xdf, 0xe9, 0xdf, 0xe0, 0xf4 };
    const uint64_t mask = FL_ZF | FL_PF | FL_CF | FL_OF | FL_SF | FL_AF;
    static const double v[][2] = { { 1, 2 }, { 2, 1 }, { 5, 5 }, { NAN, 1 } };
    static const uint64_t want[] = { FL_CF, 0, FL_ZF, FL_ZF | FL_PF | FL_CF };
    for (unsigned k = 0; k < 4; k++) {
        struct th t;
        th_init(&t, TH_LONG64);
        memcpy(data(&t), &v[k][0], 8);
        memcpy(data(&t) + 8, &v[k][1], 8);
        cpu_set_rflags(&t.cpu, cpu_get_rflags(&t.cpu) | FL_OF | FL_SF | FL_AF);
        CHECK_EQ(RUN(&t, fcomi), TH_HALT);
        CHECK_EQ(cpu_get_rflags(&t.cpu) & mask, want[k]);
        CHECK_EQ(t.cpu.fpu.fsw & 0x3800, 6u << 11); /* no pop */
        CHECK_EQ(t.cpu.fpu.fsw & 1, k == 3);         /* FCOMI: IE on QNaN */

        CHECK_EQ(RUN(&t, fucomip), TH_HALT);
        CHECK_EQ(cpu_get_rflags(&t.cpu) & mask, want[k]);
        CHECK_EQ(t.cpu.r[R_AX] & 0x3801, 7u << 11); /* popped once, FUCOMI: no IE */
        th_destroy(&t);
    }
}

TEST(x87_stack_underflow_indefinite)
{
    /* fninit; fadd st,st(1); fnstsw ax; fstp qword [rdi]; hlt */
    static const uint8_t code[] = { 0xdb, 0xe3, 0xd8, 0xc1, 0xdf, 0xe0, 0xdd, 0x1f, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    CHECK_EQ(RUN(&t, code), TH_HALT);
    uint16_t sw = (uint16_t)t.cpu.r[R_AX];
    CHECK_EQ(sw & 0x41, 0x41); /* IE | SF */
    CHECK_EQ(sw & 0x200, 0);   /* C1 = 0: underflow */
    uint64_t r;
    memcpy(&r, data(&t), 8);
    CHECK_EQ(r, 0xfff8000000000000ull); /* double QNaN indefinite */
    CHECK_EQ(t.cpu.fpu.ftw, 0xffff);
    th_destroy(&t);
}

TEST(x87_stack_overflow)
{
    /* fninit; fld1 x8; fldz; fnstsw ax; hlt */
    static const uint8_t code[] = { 0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8,
                                    0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xee,
                                    0xdf, 0xe0, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    CHECK_EQ(RUN(&t, code), TH_HALT);
    uint16_t sw = (uint16_t)t.cpu.r[R_AX];
    CHECK_EQ(sw & 0x241, 0x241); /* IE | SF | C1 (overflow) */
    CHECK_EQ((sw >> 11) & 7, 7);  /* masked response pushed the indefinite */
    const long double *st0 = &t.cpu.fpu.st[7];
    uint64_t m;
    uint16_t se;
    memcpy(&m, st0, 8);
    memcpy(&se, (const uint8_t *)st0 + 8, 2);
    CHECK_EQ(m, 0xc000000000000000ull);
    CHECK_EQ(se, 0xffff);
    th_destroy(&t);
}

TEST(x87_fnstsw_ax_and_m16)
{
    /* fninit; fld1; fldpi; fnstsw ax; fnstsw [rdi]; hlt */
    static const uint8_t code[] = { 0xdb, 0xe3, 0xd9, 0xe8, 0xd9, 0xeb, 0xdf, 0xe0, 0xdd, 0x3f, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.r[R_AX] = 0x1111222233334444ull;
    CHECK_EQ(RUN(&t, code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX], 0x1111222233333000ull); /* TOP=6, only AX written */
    uint16_t m;
    memcpy(&m, data(&t), 2);
    CHECK_EQ(m, 0x3000);
    th_destroy(&t);
}

TEST(x87_fninit_defaults)
{
    /* fninit; fnstcw [rdi]; fnstsw [rdi+2]; fnstenv [rdi+16]; hlt */
    static const uint8_t code[] = { 0xdb, 0xe3, 0xd9, 0x3f, 0xdd, 0x7f, 0x02, 0xd9, 0x77, 0x10, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.fpu.fcw = 0x0c40;
    t.cpu.fpu.fsw = 0xb8ff;
    t.cpu.fpu.ftw = 0x1234;
    t.cpu.fpu.fip = 0x1234;
    CHECK_EQ(RUN(&t, code), TH_HALT);
    uint8_t *d = data(&t);
    uint16_t cw, sw, tw;
    memcpy(&cw, d, 2);
    memcpy(&sw, d + 2, 2);
    memcpy(&tw, d + 16 + 8, 2);
    CHECK_EQ(cw, 0x37f);
    CHECK_EQ(sw, 0);
    CHECK_EQ(tw, 0xffff);
    uint32_t fip;
    memcpy(&fip, d + 16 + 12, 4);
    CHECK_EQ(fip, 0);
    CHECK_EQ(t.cpu.fpu.fcw, 0x37f); /* no exceptions pending: still all masked */
    th_destroy(&t);
}

TEST(x87_fsave_frstor_roundtrip)
{
    /* fninit; fld qword [rdi]; fldpi; fld1; fnsave [rdi+64]; fnstsw ax;
     * fnstcw [rdi+8]; frstor [rdi+64]; fstp tbyte [rdi+192];
     * fstp tbyte [rdi+208]; fstp qword [rdi+224]; hlt */
    static const uint8_t code[] = {
        0xdb, 0xe3, 0xdd, 0x07, 0xd9, 0xeb, 0xd9, 0xe8, 0xdd, 0x77, 0x40, 0xdf, 0xe0,
        0xd9, 0x7f, 0x08, 0xdd, 0x67, 0x40, 0xdb, 0xbf, 0xc0, 0x00, 0x00, 0x00, 0xdb,
        0xbf, 0xd0, 0x00, 0x00, 0x00, 0xdd, 0x9f, 0xe0, 0x00, 0x00, 0x00, 0xf4,
    };
    struct th t;
    th_init(&t, TH_LONG64);
    uint8_t *d = data(&t);
    double x = -42.25;
    memcpy(d, &x, 8);
    CHECK_EQ(RUN(&t, code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX] & 0xffff, 0); /* FNSAVE re-initialised: FSW 0 */
    uint16_t cw, img_sw, img_tw;
    memcpy(&cw, d + 8, 2);
    CHECK_EQ(cw, 0x37f);
    memcpy(&img_sw, d + 64 + 4, 2);
    memcpy(&img_tw, d + 64 + 8, 2);
    CHECK_EQ((img_sw >> 11) & 7, 5);
    CHECK_EQ(img_tw, 0x03ff); /* R5 R6 R7 valid, others empty */
    /* image registers: ST0 = 1.0 at 28, ST1 = pi at 38 */
    static const uint8_t one[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f };
    CHECK(memcmp(d + 64 + 28, one, 10) == 0);
    CHECK(memcmp(d + 192, one, 10) == 0);
    long double pi;
    memset(&pi, 0, sizeof(pi));
    memcpy(&pi, d + 208, 10);
    CHECK(pi > 3.14159L && pi < 3.1416L);
    CHECK(memcmp(d + 64 + 38, d + 208, 10) == 0);
    double y;
    memcpy(&y, d + 224, 8);
    CHECK_EQ(d2u(y), d2u(x));
    CHECK_EQ(t.cpu.fpu.ftw, 0xffff);
    th_destroy(&t);
}

TEST(x87_fip_fdp_fop)
{
    /* fninit; fld qword [rdi]; fnstenv [rdi+16]; hlt */
    static const uint8_t code[] = { 0xdb, 0xe3, 0xdd, 0x07, 0xd9, 0x77, 0x10, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    CHECK_EQ(RUN(&t, code), TH_HALT);
    CHECK_EQ(t.cpu.fpu.fip, TH_CODE + 2);
    CHECK_EQ(t.cpu.fpu.fdp, TH_DATA);
    CHECK_EQ(t.cpu.fpu.fop, 0x507); /* DD 07 → (5 << 8) | 07 */
    uint8_t *e = data(&t) + 16;
    uint32_t ip, csop, dp;
    memcpy(&ip, e + 12, 4);
    memcpy(&csop, e + 16, 4);
    memcpy(&dp, e + 20, 4);
    CHECK_EQ(ip, TH_CODE + 2);
    CHECK_EQ(csop, 0x08u | 0x507u << 16);
    CHECK_EQ(dp, TH_DATA);
    CHECK_EQ(t.cpu.fpu.fcw, 0x37f); /* FNSTENV masked all (already masked) */
    th_destroy(&t);
}

TEST(x87_env_layouts_32bit_and_real)
{
    /* 32-bit protected: fninit; fld1; fadd dword [edi+4]; fnstenv [edi+16]; hlt */
    static const uint8_t p32[] = { 0xdb, 0xe3, 0xd9, 0xe8, 0xd8, 0x47, 0x04, 0xd9, 0x77, 0x10, 0xf4 };
    struct th t;
    th_init(&t, TH_PROT32);
    CHECK_EQ(RUN(&t, p32), TH_HALT);
    uint8_t *e = data(&t) + 16;
    uint32_t v[7];
    memcpy(v, e, 28);
    CHECK_EQ(v[0], 0xffff037f);
    CHECK_EQ(v[1], 0xffff3800);
    CHECK_EQ(v[2], 0xffff3fff); /* R7 valid */
    CHECK_EQ(v[3], TH_CODE + 4);
    CHECK_EQ(v[4], 0x18u | 0x047u << 16); /* CS 0x18, FOP D8 47 */
    CHECK_EQ(v[5], TH_DATA + 4);
    CHECK_EQ(v[6], 0xffff0010);
    th_destroy(&t);

    /* real mode (harness: CS = 0x1000, IP = 0, DS = 0x2000), 16-bit:
     * fninit; fld1; fadd dword [di+4]; fnstenv [di+16]; fnsave [di+64]; hlt.
     * FIP/FDP are stored as 20-bit linear addresses (SDM Vol.1 Figure 8-12). */
    static const uint8_t r16[] = { 0xdb, 0xe3, 0xd9, 0xe8, 0xd8, 0x45, 0x04,
                                   0xd9, 0x75, 0x10, 0xdd, 0x75, 0x40, 0xf4 };
    th_init(&t, TH_REAL);
    t.cpu.r[R_DI] = 0x1000;
    CHECK_EQ(th_run(&t, r16, sizeof(r16)), TH_HALT);
    uint16_t w[7];
    memcpy(w, th_mem(&t, TH_DATA + 0x1010), 14);
    CHECK_EQ(w[0], 0x037f);
    CHECK_EQ(w[1], 0x3800);
    CHECK_EQ(w[2], 0x3fff);
    CHECK_EQ(w[3], 0x0004);         /* 0x10004 & 0xffff */
    CHECK_EQ(w[4], 0x1000 | 0x045); /* FIP 19:16, FOP */
    CHECK_EQ(w[5], 0x1004);         /* 0x21004 & 0xffff */
    CHECK_EQ(w[6], 0x2000);         /* FDP 19:16 */
    /* FNSAVE 16-bit: 14-byte environment then ST0 = 1.0 at 14 */
    static const uint8_t one[10] = { 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f };
    CHECK(memcmp(th_mem(&t, TH_DATA + 0x1040 + 14), one, 10) == 0);
    th_destroy(&t);
}

TEST(x87_fldcw_reserved_bits)
{
    /* fldcw [rdi]; fnstcw [rdi+2]; hlt */
    static const uint8_t code[] = { 0xd9, 0x2f, 0xd9, 0x7f, 0x02, 0xf4 };
    static const uint16_t in[] = { 0x0000, 0xffff, 0x037f };
    static const uint16_t out[] = { 0x0040, 0x1f7f, 0x037f };
    for (unsigned k = 0; k < 3; k++) {
        struct th t;
        th_init(&t, TH_LONG64);
        memcpy(data(&t), &in[k], 2);
        CHECK_EQ(RUN(&t, code), TH_HALT);
        uint16_t cw;
        memcpy(&cw, data(&t) + 2, 2);
        CHECK_EQ(cw, out[k]);
        th_destroy(&t);
    }
}

TEST(x87_nm_em_ts_mp)
{
    static const uint8_t fld1[] = { 0xd9, 0xe8, 0xf4 };
    static const uint8_t fwait[] = { 0x9b, 0xf4 };
    static const uint8_t fninit[] = { 0xdb, 0xe3, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.cr0 |= CR0_TS;
    cpu_update_mode(&t.cpu);
    CHECK_EQ(RUN(&t, fld1), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_NM);
    CHECK_EQ(t.cpu.rip, TH_CODE);
    CHECK_EQ(RUN(&t, fninit), TH_EXCEPTION); /* also the no-wait forms */
    CHECK_EQ(t.vector, EXC_NM);
    CHECK_EQ(RUN(&t, fwait), TH_HALT); /* FWAIT: TS without MP is fine */
    t.cpu.cr0 |= CR0_MP;
    CHECK_EQ(RUN(&t, fwait), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_NM);
    t.cpu.cr0 &= ~(CR0_TS | CR0_MP);
    t.cpu.cr0 |= CR0_EM;
    cpu_update_mode(&t.cpu);
    CHECK_EQ(RUN(&t, fld1), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_NM);
    CHECK_EQ(RUN(&t, fwait), TH_HALT); /* FWAIT ignores EM */
    t.cpu.cr0 &= ~CR0_EM;
    cpu_update_mode(&t.cpu);
    CHECK_EQ(RUN(&t, fld1), TH_HALT);
    th_destroy(&t);
}

/* fninit; fldcw [rdi]; fld1; fldz; fdivp st(1),st; fnstsw ax; fwait; hlt */
static const uint8_t code_zdiv[] = { 0xdb, 0xe3, 0xd9, 0x2f, 0xd9, 0xe8, 0xd9, 0xee,
                                     0xde, 0xf9, 0xdf, 0xe0, 0x9b, 0xf4 };

TEST(x87_unmasked_exception_mf)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint16_t cw = 0x037b; /* ZE unmasked */
    memcpy(data(&t), &cw, 2);
    CHECK_EQ(RUN(&t, code_zdiv), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_MF);
    CHECK_EQ(t.cpu.rip, TH_CODE + 12); /* at the FWAIT */
    uint16_t sw = (uint16_t)t.cpu.r[R_AX];
    CHECK_EQ(sw & 0x8084, 0x8084);     /* B | ES | ZE */
    CHECK_EQ((sw >> 11) & 7, 6);       /* no pop: the stack is unchanged */
    CHECK_EQ(t.cpu.fpu.fop, 0x6f9);    /* FOP/FIP name the faulting FDIVP */
    CHECK_EQ(t.cpu.fpu.fip, TH_CODE + 8);
    th_destroy(&t);

    /* CR0.NE = 0: FERR# is not modelled; ES stays set, no #MF */
    th_init(&t, TH_LONG64);
    t.cpu.cr0 &= ~CR0_NE;
    memcpy(data(&t), &cw, 2);
    CHECK_EQ(RUN(&t, code_zdiv), TH_HALT);
    CHECK(t.cpu.fpu.fsw & 0x80);
    th_destroy(&t);
}

TEST(x87_unmasked_invalid_keeps_operand)
{
    /* fninit; fldcw [rdi] (IE unmasked); fld1; fldz; fsqrt; fld qword [rdi+8];
     * fsqrt (of -1: unmasked IE); fnstsw ax (no-wait: no #MF); hlt */
    static const uint8_t code[] = { 0xdb, 0xe3, 0xd9, 0x2f, 0xd9, 0xe8, 0xd9, 0xee, 0xd9,
                                    0xfa, 0xdd, 0x47, 0x08, 0xd9, 0xfa, 0xdf, 0xe0, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    uint16_t cw = 0x037e; /* IE unmasked */
    double m1 = -1.0;
    memcpy(data(&t), &cw, 2);
    memcpy(data(&t) + 8, &m1, 8);
    CHECK_EQ(RUN(&t, code), TH_HALT); /* FNSTSW does not wait */
    uint16_t sw = (uint16_t)t.cpu.r[R_AX];
    CHECK_EQ(sw & 0x8081, 0x8081);
    CHECK_EQ((sw >> 11) & 7, 5);
    double st0;
    long double v;
    memcpy(&v, &t.cpu.fpu.st[5], sizeof(v));
    st0 = (double)v;
    CHECK_EQ(d2u(st0), d2u(-1.0)); /* destination unchanged */
    th_destroy(&t);
}

/* ---------------- differential tests against the host x87 ---------------- */

#define DIFF_SIZE 0x8000u
#define DIFF_SAVE 0x7f00u /* final FNSAVE image */
#define DIFF_RES 0x200u   /* results start here */
#define DIFF_CODE_MAX 0xf000u

struct cb {
    uint8_t b[DIFF_CODE_MAX];
    size_t n;
    uint32_t res;
};

/* Operand offsets inside the data area. */
#define OD(i) (0x000u + 8u * (i))    /* double[16] */
#define OCW(i) (0x080u + 2u * (i))   /* control words[8] */
#define OI16(i) (0x0a0u + 2u * (i))  /* int16[8] */
#define OI32(i) (0x0b0u + 4u * (i))  /* int32[8] */
#define OI64(i) (0x0d0u + 8u * (i))  /* int64[4] */
#define OF32(i) (0x100u + 4u * (i))  /* float[16] */
#define OT80(i) (0x140u + 10u * (i)) /* tbyte[8] */

static void e1(struct cb *c, uint8_t a)
{
    if (c->n < DIFF_CODE_MAX)
        c->b[c->n++] = a;
}

static void e2(struct cb *c, uint8_t a, uint8_t b)
{
    e1(c, a);
    e1(c, b);
}

/* opc /reg with [rdi + disp32] */
static void em(struct cb *c, uint8_t opc, unsigned reg, uint32_t disp)
{
    e2(c, opc, (uint8_t)(0x87 | reg << 3));
    for (int i = 0; i < 4; i++)
        e1(c, (uint8_t)(disp >> (8 * i)));
}

static uint32_t res(struct cb *c, unsigned size)
{
    uint32_t a = c->res;
    c->res += size;
    return a < DIFF_SAVE - 16 ? a : DIFF_SAVE - 16;
}

/* fstp tbyte [res] */
static void st80(struct cb *c)
{
    em(c, 0xdb, 7, res(c, 10));
}

/* fnstsw [res]; fnclex */
static void snap(struct cb *c)
{
    em(c, 0xdd, 7, res(c, 2));
    e2(c, 0xdb, 0xe2);
}

/* fninit; fldz x8; fninit: empty stack, and every physical register holds
 * +0.0 (FNSAVE and FXAM of empty registers expose stale contents). */
static void cb_init(struct cb *c)
{
    c->n = 0;
    c->res = DIFF_RES;
    e2(c, 0xdb, 0xe3);
    for (int i = 0; i < 8; i++)
        e2(c, 0xd9, 0xee);
    e2(c, 0xdb, 0xe3);
}

static void diff_data(uint8_t *b)
{
    static const uint64_t d[16] = {
        0x3ff199999999999aull, 0x400199999999999aull, 0x8000000000000000ull,
        0x7ff0000000000000ull, 0x7ff8000000000123ull, 0x0000000000000001ull,
        0x7fe1ccf385ebc8a0ull, 0x4008000000000000ull, 0x43e158e460913d00ull,
        0xc004000000000000ull, 0x3fe0000000000000ull, 0x01a56e1fc2f8f359ull,
        0x40fe240c9fbe76c9ull, 0x7ff0000000000001ull, 0x401c000000000000ull,
        0xfe3d06ccc15fa5b6ull,
    };
    static const uint16_t cw[8] = { 0x037f, 0x007f, 0x027f, 0x0f7f, 0x077f, 0x0b7f, 0x0000, 0xffff };
    static const int16_t i16[8] = { 0, 1, -1, 32767, -32768, 12345, 7, -300 };
    static const int32_t i32[8] = { 0, 3, -7, 0x7fffffff, INT32_MIN, 1000000, 2, -1 };
    static const int64_t i64[4] = { INT64_MAX, INT64_MIN, 123456789012345ll, -5 };
    static const uint32_t f[16] = { 0x3fc00000, 0x80000000, 0x7f800000, 0x7fc00001,
                                    0x7f800001, 0x00000001, 0x7f7fffff, 0x000116c2,
                                    0x3dcccccd, 0xc0000000, 0x501502f9, 0x40e00000,
                                    0x3eaaa64c, 0xff800000, 0x40200000, 0x477fe000 };
    static const uint8_t t[8][10] = {
        { 0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f },       /* 1.0 */
        { 0, 0, 0, 0, 0, 0, 0, 0x40, 0x00, 0x40 },       /* unnormal */
        { 1, 0, 0, 0, 0, 0, 0, 0x80, 0x00, 0x00 },       /* pseudo-denormal */
        { 1, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x7f },       /* SNaN */
        { 0x90, 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0, 0 }, /* BCD 1234567890 */
        { 0x99, 0, 0, 0, 0, 0, 0, 0, 0, 0x80 },          /* BCD -99 */
        { 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0x99, 0 },
        { 0xab, 0xcd, 0xef, 0, 0, 0, 0, 0, 0, 0 },       /* invalid digits */
    };
    memset(b, 0x5a, DIFF_SIZE);
    memcpy(b + OD(0), d, sizeof(d));
    memcpy(b + OCW(0), cw, sizeof(cw));
    memcpy(b + OI16(0), i16, sizeof(i16));
    memcpy(b + OI32(0), i32, sizeof(i32));
    memcpy(b + OI64(0), i64, sizeof(i64));
    memcpy(b + OF32(0), f, sizeof(f));
    memcpy(b + OT80(0), t, sizeof(t));
}

typedef void native_fn(void *);

/* Run c (plus FNSAVE) on the engine and natively; compare memory except the
 * pointer fields of the final image and the ranges in 'skip'. */
static void diff_run(const char *name, struct cb *c, const uint32_t (*skip)[2], unsigned nskip)
{
    em(c, 0xdd, 6, DIFF_SAVE); /* fnsave [rdi+DIFF_SAVE] */
    CHECK(c->n + 1 < DIFF_CODE_MAX);
    CHECK(c->res <= DIFF_SAVE - 16);
    size_t n = c->n;

    static uint8_t native[DIFF_SIZE] __attribute__((aligned(64)));
    diff_data(native);
    size_t pg = (n + 1 + 4095) & ~(size_t)4095;
    uint8_t *x = mmap(NULL, pg, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    if (x == MAP_FAILED) {
        fprintf(stderr, "  %s: no executable memory, differential part skipped\n", name);
        return;
    }
    memcpy(x, c->b, n);
    x[n] = 0xc3; /* ret */
    native_fn *fn;
    memcpy(&fn, &x, sizeof(fn));
    fn(native);
    munmap(x, pg);

    struct th t;
    th_init(&t, TH_LONG64);
    uint8_t *g = th_mem(&t, TH_DATA);
    diff_data(g);
    c->b[n] = HLT;
    t.cpu.r[R_DI] = TH_DATA;
    CHECK_EQ(th_run_steps(&t, c->b, n + 1, 10000000), TH_HALT);

    /* FIP/FCS/FOP/FDP/FDS of the final image differ by nature */
    memset(native + DIFF_SAVE + 12, 0, 16);
    memset(g + DIFF_SAVE + 12, 0, 16);
    for (unsigned k = 0; k < nskip; k++) {
        memset(native + skip[k][0], 0, skip[k][1]);
        memset(g + skip[k][0], 0, skip[k][1]);
    }
    int bad = 0;
    for (uint32_t i = 0; i < DIFF_SIZE && bad < 4; i++) {
        if (native[i] != g[i]) {
            fprintf(stderr, "  %s: byte %#x engine %02x host %02x\n", name, i, g[i], native[i]);
            bad++;
        }
    }
    CHECK(bad == 0);
    th_destroy(&t);
}

static struct cb diff_cb;

/* FADD..FDIVR with m64fp, m32fp, m16int, m32int and ST(i) operands. */
TEST(x87_diff_arith)
{
    static const uint8_t pairs[][2] = { { 0, 1 }, { 6, 6 }, { 0, 2 }, { 3, 3 },   { 4, 0 },
                                        { 5, 7 }, { 11, 11 }, { 13, 0 }, { 12, 9 }, { 0, 10 },
                                        { 15, 6 }, { 2, 2 }, { 3, 2 }, { 7, 14 } };
    static const unsigned ops[] = { 0, 1, 4, 5, 6, 7 };
    char name[32];
    for (unsigned k = 0; k < 6; k++) {
        struct cb *c = &diff_cb;
        cb_init(c);
        em(c, 0xd9, 5, OCW(k)); /* fldcw */
        for (unsigned o = 0; o < 6; o++) {
            for (unsigned p = 0; p < 14; p++) {
                em(c, 0xdd, 0, OD(pairs[p][0]));
                em(c, 0xdc, ops[o], OD(pairs[p][1])); /* op m64fp */
                st80(c);
                snap(c);
                em(c, 0xdd, 0, OD(pairs[p][0]));
                em(c, 0xd8, ops[o], OF32(p)); /* op m32fp */
                em(c, 0xda, ops[o], OI32(p & 7));
                em(c, 0xde, ops[o], OI16(p & 7));
                st80(c);
                snap(c);
                em(c, 0xdd, 0, OD(pairs[p][1]));
                em(c, 0xdd, 0, OD(pairs[p][0]));
                e2(c, 0xd8, (uint8_t)(0xc1 | ops[o] << 3)); /* op st(0), st(1) */
                e2(c, 0xdc, (uint8_t)(0xc1 | ops[o] << 3)); /* op st(1), st(0) */
                e2(c, 0xde, (uint8_t)(0xc1 | ops[o] << 3)); /* opp st(1), st(0) */
                st80(c);
                snap(c);
            }
        }
        snprintf(name, sizeof(name), "arith cw%u", k);
        diff_run(name, c, NULL, 0);
    }
}

/* FCOM/FCOMP/FUCOM/FUCOMP/FCOMPP/FUCOMPP/FICOM/FTST/FXAM and FCOMI family
 * with EFLAGS, then FCMOVcc. */
TEST(x87_diff_compare)
{
    static const uint8_t vals[] = { 0, 1, 2, 3, 4, 5, 13, 10, 9 };
    struct cb *c = &diff_cb;
    cb_init(c);
    for (unsigned a = 0; a < sizeof(vals); a++) {
        for (unsigned b = 0; b < sizeof(vals); b++) {
            em(c, 0xdd, 0, OD(vals[b]));
            em(c, 0xdd, 0, OD(vals[a]));
            e2(c, 0xd8, 0xd1); /* fcom st(1) */
            snap(c);
            e2(c, 0xdd, 0xe1); /* fucom st(1) */
            snap(c);
            em(c, 0xdc, 2, OD(vals[b])); /* fcom m64 */
            snap(c);
            static const uint8_t fc[] = { 0xdb, 0xf1, 0xdb, 0xe9, 0xdf, 0xf1, 0xdf, 0xe9 };
            for (unsigned k = 0; k < 8; k += 2) { /* fcomi, fucomi, fcomip, fucomip */
                e2(c, fc[k], fc[k + 1]);
                e1(c, 0x9c);                /* pushfq */
                e1(c, 0x58);                /* pop rax */
                e1(c, 0x25);                /* and eax, 0x8d5 */
                e2(c, 0xd5, 0x08);
                e2(c, 0, 0);
                e2(c, 0x48, 0x89); /* mov [rdi+res], rax */
                e1(c, 0x87);
                uint32_t r = res(c, 8);
                for (int i = 0; i < 4; i++)
                    e1(c, (uint8_t)(r >> (8 * i)));
                snap(c);
                if (k >= 4)
                    em(c, 0xdd, 0, OD(vals[a])); /* re-push after the pop */
            }
            static const uint8_t cm[] = { 0xda, 0xdb };
            for (unsigned k = 0; k < 8; k++) { /* fcmovcc st, st(1) */
                e2(c, cm[k >> 2], (uint8_t)(0xc1 | (k & 3) << 3));
                st80(c);
                em(c, 0xdd, 0, OD(vals[a]));
            }
            e2(c, 0xdd, 0xe9); /* fucomp st(1) */
            snap(c);
            e2(c, 0xdd, 0xd8); /* fstp st(0) */
        }
        em(c, 0xdd, 0, OD(vals[a]));
        em(c, 0xd8, 2, OF32(vals[a]));   /* fcom m32 */
        em(c, 0xde, 2, OI16(vals[a] & 7)); /* ficom m16 */
        em(c, 0xda, 3, OI32(vals[a] & 7)); /* ficomp m32 (pops) */
        snap(c);
        em(c, 0xdd, 0, OD(vals[a]));
        e2(c, 0xd9, 0xe4); /* ftst */
        snap(c);
        e2(c, 0xd9, 0xe5); /* fxam */
        snap(c);
        em(c, 0xdd, 0, OD(1));
        e2(c, 0xde, 0xd9); /* fcompp */
        snap(c);
        em(c, 0xdd, 0, OD(vals[a]));
        em(c, 0xdd, 0, OD(4));
        e2(c, 0xda, 0xe9); /* fucompp */
        snap(c);
    }
    diff_run("compare", c, NULL, 0);
}

/* FST/FIST/FISTTP/FBSTP of every test value under every control word. */
TEST(x87_diff_store)
{
    char name[32];
    for (unsigned k = 0; k < 6; k++) {
        struct cb *c = &diff_cb;
        cb_init(c);
        em(c, 0xd9, 5, OCW(k));
        for (unsigned i = 0; i < 20; i++) {
            if (i < 16)
                em(c, 0xdd, 0, OD(i));
            else
                em(c, 0xdb, 5, OT80(i - 16));
            em(c, 0xd9, 2, res(c, 4)); /* fst m32 */
            em(c, 0xdd, 2, res(c, 8)); /* fst m64 */
            em(c, 0xdf, 2, res(c, 2)); /* fist m16 */
            em(c, 0xdb, 2, res(c, 4)); /* fist m32 */
            snap(c);
            static const uint8_t st[][2] = { { 0xdf, 7 }, { 0xdf, 1 }, { 0xdb, 1 }, { 0xdd, 1 },
                                             { 0xdf, 3 }, { 0xdb, 3 }, { 0xdf, 6 } };
            for (unsigned s = 0; s < 7; s++) {
                e2(c, 0xd9, 0xc0); /* fld st(0) */
                em(c, st[s][0], st[s][1], res(c, 10));
                snap(c);
            }
            st80(c);
        }
        snprintf(name, sizeof(name), "store cw%u", k);
        diff_run(name, c, NULL, 0);
    }
}

/* FLD m32/m80, FILD, FBLD, the constants under every control word. */
TEST(x87_diff_load)
{
    struct cb *c = &diff_cb;
    cb_init(c);
    for (unsigned i = 0; i < 16; i++) {
        em(c, 0xd9, 0, OF32(i));
        st80(c);
        snap(c);
    }
    for (unsigned i = 0; i < 8; i++) {
        em(c, 0xdf, 0, OI16(i));
        em(c, 0xdb, 0, OI32(i));
        em(c, 0xdf, 5, OI64(i & 3));
        em(c, 0xdb, 5, OT80(i));
        st80(c);
        st80(c);
        st80(c);
        st80(c);
        snap(c);
        em(c, 0xdf, 4, OT80(i)); /* fbld */
        st80(c);
        snap(c);
    }
    for (unsigned k = 0; k < 8; k++) {
        em(c, 0xd9, 5, OCW(k != 6 ? k : 0));
        for (unsigned j = 0; j < 7; j++) {
            e2(c, 0xd9, (uint8_t)(0xe8 + j)); /* fld1 .. fldz */
            st80(c);
            snap(c);
        }
    }
    diff_run("load", c, NULL, 0);
}

/* One- and two-operand functions and transcendentals. */
TEST(x87_diff_functions)
{
    static const uint8_t un[] = { 0xfa, 0xfc, 0xf0, 0xfe, 0xff, 0xe0, 0xe1 };
    static const uint8_t bin[] = { 0xfd, 0xf8, 0xf5 };  /* fscale fprem fprem1 */
    static const uint8_t binp[] = { 0xf1, 0xf9, 0xf3 }; /* fyl2x fyl2xp1 fpatan */
    static const uint8_t two[] = { 0xfb, 0xf2, 0xf4 };  /* fsincos fptan fxtract */
    static const unsigned cws[] = { 0, 3, 5, 1 };
    char name[32];
    for (unsigned k = 0; k < 4; k++) {
        struct cb *c = &diff_cb;
        cb_init(c);
        em(c, 0xd9, 5, OCW(cws[k]));
        for (unsigned i = 0; i < 16; i++) {
            for (unsigned f = 0; f < sizeof(un); f++) {
                em(c, 0xdd, 0, OD(i));
                e2(c, 0xd9, un[f]);
                st80(c);
                snap(c);
            }
            for (unsigned f = 0; f < sizeof(two); f++) {
                em(c, 0xdd, 0, OD(i));
                e2(c, 0xd9, two[f]);
                st80(c);
                st80(c);
                snap(c);
            }
            for (unsigned j = 0; j < 16; j += 3) {
                for (unsigned f = 0; f < sizeof(bin); f++) {
                    em(c, 0xdd, 0, OD(j));
                    em(c, 0xdd, 0, OD(i));
                    e2(c, 0xd9, bin[f]);
                    st80(c);
                    st80(c);
                    snap(c);
                }
                for (unsigned f = 0; f < sizeof(binp); f++) {
                    em(c, 0xdd, 0, OD(j));
                    em(c, 0xdd, 0, OD(i));
                    e2(c, 0xd9, binp[f]);
                    st80(c);
                    snap(c);
                }
            }
        }
        snprintf(name, sizeof(name), "functions cw%u", cws[k]);
        diff_run(name, c, NULL, 0);
    }
}

/* Stack faults and register management, as raw byte sequences. */
TEST(x87_diff_stack)
{
    static const uint8_t seqs[][28] = {
        { 0xd8, 0xc1, 0xd9, 0xe5, 0xd9, 0xc9, 0xd9, 0xcb, 0xdd, 0xd3 },
        { 0xd9, 0xe8, 0xd9, 0xcb, 0xdd, 0xd2, 0xd9, 0xe0, 0xd9, 0xe1, 0xdd, 0xc1, 0xdf, 0xc2 },
        { 0xd9, 0xeb, 0xd9, 0xeb, 0xd9, 0xeb, 0xd9, 0xeb, 0xd9, 0xeb, 0xd9, 0xeb, 0xd9, 0xeb,
          0xd9, 0xeb, 0xd9, 0xeb, 0xd9, 0xe8, 0xd9, 0xf2, 0xd9, 0xfb, 0xd9, 0xf4 },
        { 0xd9, 0xe8, 0xd9, 0xf6, 0xd9, 0xf6, 0xd9, 0xf7, 0xd9, 0xe5, 0xd9, 0xc3, 0xdd, 0xdc },
        { 0xd9, 0xe8, 0xdd, 0xd8, 0xd9, 0xf2, 0xd9, 0xfb, 0xd9, 0xf4, 0xd9, 0xf1, 0xd9, 0xf3,
          0xd9, 0xfd, 0xd9, 0xf8, 0xde, 0xd9, 0xda, 0xe9, 0xdb, 0xf1, 0xdf, 0xe9 },
        { 0xd9, 0xee, 0xd9, 0xe8, 0xdb, 0xc2, 0xda, 0xc3, 0xdd, 0xe3, 0xd9, 0xd0, 0xdc, 0xd2,
          0xdc, 0xda, 0xde, 0xd3, 0xdd, 0xca, 0xdf, 0xca, 0xd9, 0xda, 0xdf, 0xd2, 0xdf, 0xda },
        { 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xf7, 0xd9, 0xf7, 0xd9, 0xf7, 0xdd, 0xc0, 0xd9, 0xe5,
          0xd9, 0xf6, 0xd9, 0xf6, 0xd9, 0xf6, 0xd9, 0xe5, 0xdf, 0xc0, 0xd9, 0xe5 },
        /* full stack of 1.0, then FPTAN / FSINCOS / FXTRACT / FLD ST(3) overflow */
        { 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8,
          0xd9, 0xeb, 0xd9, 0xf2 },
        { 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8,
          0xd9, 0xeb, 0xd9, 0xfb },
        { 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8, 0xd9, 0xe8,
          0xd9, 0xeb, 0xd9, 0xf4, 0xd9, 0xc3 },
    };
    struct cb *c = &diff_cb;
    cb_init(c);
    for (unsigned s = 0; s < sizeof(seqs) / sizeof(seqs[0]); s++) {
        for (unsigned i = 0; i < sizeof(seqs[s]) && seqs[s][i]; i += 2) {
            e2(c, seqs[s][i], seqs[s][i + 1]);
            snap(c);
        }
        /* dump and clear the whole stack (FNSAVE re-initialises) */
        em(c, 0xdd, 6, res(c, 108));
    }
    /* pointer fields of each intermediate image */
    uint32_t skip[16][2];
    unsigned ns = 0;
    uint32_t off = DIFF_RES;
    for (unsigned s = 0; s < sizeof(seqs) / sizeof(seqs[0]) && ns < 16; s++) {
        unsigned k = 0;
        for (unsigned i = 0; i < sizeof(seqs[s]) && seqs[s][i]; i += 2)
            k++;
        off += 2 * k;
        skip[ns][0] = off + 12;
        skip[ns][1] = 16;
        ns++;
        off += 108;
    }
    /* Condition codes after a stack fault: set C3/C2/C0 (compare with a
     * NaN), empty the stack, run one instruction on it. */
    static const uint8_t faulting[][2] = {
        { 0xd9, 0xf2 }, { 0xd9, 0xfb }, { 0xd9, 0xf4 }, { 0xd9, 0xfe }, { 0xd9, 0xff },
        { 0xd9, 0xf8 }, { 0xd9, 0xf5 }, { 0xd9, 0xfd }, { 0xd9, 0xf1 }, { 0xd9, 0xf3 },
        { 0xd9, 0xf9 }, { 0xd9, 0xfa }, { 0xd9, 0xfc }, { 0xd9, 0xf0 }, { 0xd9, 0xe0 },
        { 0xd9, 0xe1 }, { 0xd9, 0xe4 }, { 0xd9, 0xe5 }, { 0xd8, 0xc1 }, { 0xd8, 0xd1 },
        { 0xde, 0xd9 }, { 0xdb, 0xf1 }, { 0xd9, 0xc9 }, { 0xdd, 0xd1 }, { 0xdd, 0xd9 },
        { 0xd9, 0xc1 }, { 0xda, 0xc1 }, { 0xdb, 0xc1 }, { 0xde, 0xc1 }, { 0xdc, 0xf9 },
    };
    for (unsigned k = 0; k < sizeof(faulting) / sizeof(faulting[0]); k++) {
        em(c, 0xdd, 0, OD(4));
        e2(c, 0xd8, 0xd0); /* fcom st(0): unordered */
        e2(c, 0xdd, 0xd8); /* fstp st(0) */
        e2(c, faulting[k][0], faulting[k][1]);
        snap(c);
        em(c, 0xdd, 0, OD(7));
        e2(c, faulting[k][0], faulting[k][1]); /* one operand present */
        snap(c);
        e2(c, 0xdb, 0xe3);
    }
    diff_run("stack", c, skip, ns);
}

/* FNSTENV/FLDENV/FNSAVE/FRSTOR (32- and 16-bit), FNSTCW/FLDCW. */
TEST(x87_diff_env)
{
    struct cb *c = &diff_cb;
    cb_init(c);
    em(c, 0xdd, 0, OD(0));
    e2(c, 0xd9, 0xeb);
    em(c, 0xdd, 0, OD(4));
    em(c, 0xdd, 0, OD(5));
    em(c, 0xd9, 5, OCW(3));
    e2(c, 0xd8, 0xf3); /* fdiv st, st(3) */
    uint32_t env = res(c, 28), sv = res(c, 108), e16 = res(c, 14), s16 = res(c, 94);
    em(c, 0xd9, 6, env); /* fnstenv */
    em(c, 0xd9, 7, res(c, 2));
    em(c, 0xd9, 4, env); /* fldenv */
    snap(c);
    em(c, 0xd9, 7, res(c, 2));
    em(c, 0xdd, 6, sv); /* fnsave */
    em(c, 0xd9, 7, res(c, 2));
    em(c, 0xdd, 7, res(c, 2));
    em(c, 0xdd, 4, sv); /* frstor */
    st80(c);
    st80(c);
    e1(c, 0x66);
    em(c, 0xd9, 6, e16); /* data16 fnstenv */
    e2(c, 0xdb, 0xe2);
    e1(c, 0x66);
    em(c, 0xd9, 4, e16); /* data16 fldenv */
    e1(c, 0x66);
    em(c, 0xdd, 6, s16); /* data16 fnsave */
    e1(c, 0x66);
    em(c, 0xdd, 4, s16); /* data16 frstor */
    st80(c);
    em(c, 0xd9, 5, OCW(6));
    em(c, 0xd9, 7, res(c, 2));
    em(c, 0xd9, 5, OCW(7));
    em(c, 0xd9, 7, res(c, 2));
    e2(c, 0xdb, 0xe3);
    const uint32_t skip[][2] = { { env + 12, 16 }, { sv + 12, 16 }, { e16 + 6, 8 }, { s16 + 6, 8 } };
    diff_run("env", c, skip, 4);
}
