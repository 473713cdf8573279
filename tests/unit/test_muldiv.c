/*
 * test_muldiv.c — MUL, IMUL (1/2/3 operands), DIV, IDIV on the engine:
 * double-width results, CF/OF, #DE on a zero divisor and on quotient
 * overflow (incl. INT_MIN / -1) with nothing committed, signs of quotient
 * and remainder, and the 32/16-bit modes.
 */
#include "int_test.h"

TEST(muldiv_mul_widths)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* mul bl; hlt */
    static const uint8_t m8[] = { 0xf6, 0xe3, 0xf4 };
    t.cpu.r[R_AX] = 0xffff80;
    t.cpu.r[R_BX] = 2;
    RUN_OK(&t, m8);
    CHECK_EQ(t.cpu.r[R_AX], 0xff0100);
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_OF), FL_CF | FL_OF);

    /* mul ecx; hlt */
    static const uint8_t m32[] = { 0xf7, 0xe1, 0xf4 };
    t.cpu.r[R_AX] = 0xaaaaaaaa00000010ull;
    t.cpu.r[R_CX] = 0x10;
    t.cpu.r[R_DX] = 0x5555555555555555ull;
    RUN_OK(&t, m32);
    CHECK_EQ(t.cpu.r[R_AX], 0x100);
    CHECK_EQ(t.cpu.r[R_DX], 0); /* EDX written, upper half cleared */
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_OF), 0);

    /* mul qword ptr [rdi]; hlt */
    static const uint8_t m64[] = { 0x48, 0xf7, 0x27, 0xf4 };
    *(uint64_t *)th_mem(&t, TH_DATA) = 0x100000000ull;
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_AX] = 0x123456789ull;
    RUN_OK(&t, m64);
    CHECK_EQ(t.cpu.r[R_AX], 0x2345678900000000ull);
    CHECK_EQ(t.cpu.r[R_DX], 0x1);
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_OF), FL_CF | FL_OF);

    /* mul si; hlt */
    static const uint8_t m16[] = { 0x66, 0xf7, 0xe6, 0xf4 };
    t.cpu.r[R_AX] = 0x1111ffff;
    t.cpu.r[R_DX] = 0x22220000;
    t.cpu.r[R_SI] = 0xffff;
    RUN_OK(&t, m16);
    CHECK_EQ(t.cpu.r[R_AX], 0x11110001);
    CHECK_EQ(t.cpu.r[R_DX], 0x2222fffe);
    th_destroy(&t);
}

TEST(muldiv_imul_forms)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* imul ebx; hlt */
    static const uint8_t one[] = { 0xf7, 0xeb, 0xf4 };
    t.cpu.r[R_AX] = 0xfffffffe; /* -2 */
    t.cpu.r[R_BX] = 3;
    RUN_OK(&t, one);
    CHECK_EQ(t.cpu.r[R_AX], 0xfffffffa);
    CHECK_EQ(t.cpu.r[R_DX], 0xffffffff);
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_OF), 0); /* fits in 32 bits */

    /* imul cl; hlt */
    static const uint8_t b[] = { 0xf6, 0xe9, 0xf4 };
    t.cpu.r[R_AX] = 0x40;
    t.cpu.r[R_CX] = 0x02;
    RUN_OK(&t, b);
    CHECK_EQ(t.cpu.r[R_AX] & 0xffff, 0x0080);
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_OF), FL_CF | FL_OF);

    /* imul rsi, rdi; imul edx, ecx, -3; imul r8w, r9w, 0x1000; hlt */
    static const uint8_t two[] = {
        0x48, 0x0f, 0xaf, 0xf7, 0x6b, 0xd1, 0xfd, 0x66, 0x45, 0x69, 0xc1, 0x00, 0x10, 0xf4
    };
    t.cpu.r[R_SI] = 0x4000000000000000ull;
    t.cpu.r[R_DI] = 2;
    t.cpu.r[R_CX] = 5;
    t.cpu.r[R_DX] = 0xdeadbeefdeadbeefull;
    t.cpu.r[R_R8] = 0xaaaaaaaaaaaaaaaaull;
    t.cpu.r[R_R9] = 0x10;
    RUN_OK(&t, two);
    CHECK_EQ(t.cpu.r[R_SI], 0x8000000000000000ull);
    CHECK_EQ(t.cpu.r[R_DX], 0xfffffff1);
    CHECK_EQ(t.cpu.r[R_R8], 0xaaaaaaaaaaaa0000ull);
    /* 0x10 * 0x1000 = 0x10000 does not fit 16 bits */
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_OF), FL_CF | FL_OF);

    /* imul eax, dword ptr [rdi], 100; hlt */
    static const uint8_t ok[] = { 0x6b, 0x07, 0x64, 0xf4 };
    *(int32_t *)th_mem(&t, TH_DATA) = -7;
    t.cpu.r[R_DI] = TH_DATA;
    RUN_OK(&t, ok);
    CHECK_EQ(t.cpu.r[R_AX], (uint32_t)-700);
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_OF), 0);
    th_destroy(&t);
}

TEST(muldiv_div_results)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* div ecx; hlt */
    static const uint8_t d32[] = { 0xf7, 0xf1, 0xf4 };
    t.cpu.r[R_DX] = 0xffffffff00000001ull;
    t.cpu.r[R_AX] = 0xffffffff00000005ull;
    t.cpu.r[R_CX] = 0x10;
    RUN_OK(&t, d32);
    /* 0x1_00000005 / 0x10 */
    CHECK_EQ(t.cpu.r[R_AX], 0x10000000);
    CHECK_EQ(t.cpu.r[R_DX], 5);

    /* div bl; hlt */
    static const uint8_t d8[] = { 0xf6, 0xf3, 0xf4 };
    t.cpu.r[R_AX] = 0x12340107; /* AX = 263 */
    t.cpu.r[R_BX] = 10;
    RUN_OK(&t, d8);
    CHECK_EQ(t.cpu.r[R_AX], 0x1234031a); /* AH = 3, AL = 26 */

    /* div r10; hlt */
    static const uint8_t d64[] = { 0x49, 0xf7, 0xf2, 0xf4 };
    t.cpu.r[R_DX] = 1;
    t.cpu.r[R_AX] = 0;
    t.cpu.r[R_R10] = 2;
    RUN_OK(&t, d64);
    CHECK_EQ(t.cpu.r[R_AX], 0x8000000000000000ull);
    CHECK_EQ(t.cpu.r[R_DX], 0);
    th_destroy(&t);
}

TEST(muldiv_div_faults)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* nop; div rcx; hlt */
    static const uint8_t z[] = { 0x90, 0x48, 0xf7, 0xf1, 0xf4 };
    t.cpu.r[R_AX] = 7;
    t.cpu.r[R_DX] = 0;
    t.cpu.r[R_CX] = 0;
    RUN_FAULT(&t, z, EXC_DE);
    CHECK_EQ(t.cpu.rip, TH_CODE + 1);
    CHECK_EQ(t.cpu.r[R_AX], 7);

    /* quotient overflow: EDX >= divisor */
    /* div ecx; hlt */
    static const uint8_t o[] = { 0xf7, 0xf1, 0xf4 };
    t.cpu.r[R_AX] = 0;
    t.cpu.r[R_DX] = 3;
    t.cpu.r[R_CX] = 3;
    RUN_FAULT(&t, o, EXC_DE);
    CHECK_EQ(t.cpu.r[R_DX], 3);

    /* div byte ptr [rdi]; hlt */
    static const uint8_t o8[] = { 0xf6, 0x37, 0xf4 };
    *(uint8_t *)th_mem(&t, TH_DATA) = 1;
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_AX] = 0x100;
    RUN_FAULT(&t, o8, EXC_DE);
    CHECK_EQ(t.cpu.r[R_AX], 0x100);

    /* INT_MIN / -1 */
    /* idiv ebx; hlt */
    static const uint8_t i32[] = { 0xf7, 0xfb, 0xf4 };
    t.cpu.r[R_AX] = 0x80000000;
    t.cpu.r[R_DX] = 0xffffffff;
    t.cpu.r[R_BX] = 0xffffffff;
    RUN_FAULT(&t, i32, EXC_DE);
    CHECK_EQ(t.cpu.r[R_AX], 0x80000000);

    /* idiv rbx; hlt */
    static const uint8_t i64[] = { 0x48, 0xf7, 0xfb, 0xf4 };
    t.cpu.r[R_AX] = 0x8000000000000000ull;
    t.cpu.r[R_DX] = ~0ull;
    t.cpu.r[R_BX] = ~0ull;
    RUN_FAULT(&t, i64, EXC_DE);

    /* positive quotient one too large for a signed byte: 128 / 1 */
    /* idiv cl; hlt */
    static const uint8_t i8[] = { 0xf6, 0xf9, 0xf4 };
    t.cpu.r[R_AX] = 128;
    t.cpu.r[R_CX] = 1;
    RUN_FAULT(&t, i8, EXC_DE);
    /* but -128 / 1 fits */
    t.cpu.r[R_AX] = 0xff80;
    RUN_OK(&t, i8);
    CHECK_EQ(t.cpu.r[R_AX] & 0xffff, 0x0080);
    th_destroy(&t);
}

TEST(muldiv_idiv_signs)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* -7 / 2 = -3 rem -1 (truncation toward zero) */
    /* cqo; idiv rbx; hlt */
    static const uint8_t code[] = { 0x48, 0x99, 0x48, 0xf7, 0xfb, 0xf4 };
    t.cpu.r[R_AX] = (uint64_t)-7;
    t.cpu.r[R_BX] = 2;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], (uint64_t)-3);
    CHECK_EQ(t.cpu.r[R_DX], (uint64_t)-1);

    /* 7 / -2 = -3 rem 1 */
    t.cpu.r[R_AX] = 7;
    t.cpu.r[R_BX] = (uint64_t)-2;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], (uint64_t)-3);
    CHECK_EQ(t.cpu.r[R_DX], 1);

    /* idiv bl; hlt */
    static const uint8_t b[] = { 0xf6, 0xfb, 0xf4 };
    t.cpu.r[R_AX] = 0xfff9; /* -7 */
    t.cpu.r[R_BX] = 2;
    RUN_OK(&t, b);
    CHECK_EQ(t.cpu.r[R_AX] & 0xffff, 0xfffd); /* AH = -1, AL = -3 */

    /* idiv cx; hlt */
    static const uint8_t w[] = { 0x66, 0xf7, 0xf9, 0xf4 };
    t.cpu.r[R_DX] = 0xffff;
    t.cpu.r[R_AX] = 0x8000; /* DX:AX = -32768 */
    t.cpu.r[R_CX] = 0xffff; /* -1 → 32768 does not fit */
    RUN_FAULT(&t, w, EXC_DE);
    th_destroy(&t);
}

TEST(muldiv_modes_32_16)
{
    struct th t;
    th_init(&t, TH_PROT32);
    /* mul ebx; div ecx; hlt */
    static const uint8_t code[] = { 0xf7, 0xe3, 0xf7, 0xf1, 0xf4 };
    t.cpu.r[R_AX] = 0x80000000;
    t.cpu.r[R_BX] = 4;
    t.cpu.r[R_CX] = 8;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x40000000);
    CHECK_EQ(t.cpu.r[R_DX], 0);
    th_destroy(&t);

    th_init(&t, TH_REAL);
    /* mul bx; idiv cx; hlt */
    static const uint8_t real[] = { 0xf7, 0xe3, 0xf7, 0xf9, 0xf4 };
    t.cpu.r[R_AX] = 0x1000;
    t.cpu.r[R_BX] = 0x0010;
    t.cpu.r[R_CX] = 0xfffd; /* -3 */
    t.cpu.r[R_DX] = 0;
    RUN_OK(&t, real);
    /* DX:AX = 0x10000 = 65536; / -3 = -21845 rem 1 */
    CHECK_EQ(t.cpu.r[R_AX], 0xaaab);
    CHECK_EQ(t.cpu.r[R_DX], 1);
    th_destroy(&t);

    th_init(&t, TH_REAL);
    /* div bl; hlt */
    static const uint8_t z[] = { 0xf6, 0xf3, 0xf4 };
    t.cpu.r[R_AX] = 5;
    t.cpu.r[R_BX] = 0;
    RUN_FAULT(&t, z, EXC_DE);
    th_destroy(&t);
}
