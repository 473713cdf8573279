/*
 * test_shift.c — ROL ROR RCL RCR SHL SHR SAR and SHLD/SHRD on the engine:
 * count masking, counts 0/1/31/32/63/64, RCL/RCR through carry with the
 * modulo-9/17 rule, flag rules, memory operands and the 16/32-bit modes.
 */
#include "int_test.h"

TEST(shift_shl_counts_32)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* shl eax, cl; hlt */
    static const uint8_t code[] = { 0xd3, 0xe0, 0xf4 };

    /* count 1: CF = old MSB, OF = MSB(result) ^ CF */
    t.cpu.r[R_AX] = 0xc0000001;
    t.cpu.r[R_CX] = 1;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x80000002);
    CHECK_EQ(th_arith(&t) & ~FL_AF, FL_CF | FL_SF);

    t.cpu.r[R_AX] = 0x40000000;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x80000000);
    CHECK_EQ(th_arith(&t) & ~FL_AF, FL_OF | FL_SF | FL_PF);

    /* count 31 */
    t.cpu.r[R_AX] = 3;
    t.cpu.r[R_CX] = 31;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x80000000);
    CHECK_EQ(th_arith(&t) & FL_CF, FL_CF);

    /* count 32 masks to 0: value and flags unchanged */
    t.cpu.r[R_AX] = 0x1234;
    t.cpu.r[R_CX] = 32;
    th_set_arith(&t, FL_CF | FL_ZF | FL_OF);
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x1234);
    CHECK_EQ(th_arith(&t), FL_CF | FL_ZF | FL_OF);

    /* count 0 leaves the flags alone */
    t.cpu.r[R_CX] = 0;
    th_set_arith(&t, FL_SF | FL_AF);
    RUN_OK(&t, code);
    CHECK_EQ(th_arith(&t), FL_SF | FL_AF);
    th_destroy(&t);
}

TEST(shift_counts_64)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* shl rax, cl; hlt */
    static const uint8_t code[] = { 0x48, 0xd3, 0xe0, 0xf4 };
    t.cpu.r[R_AX] = 3;
    t.cpu.r[R_CX] = 63;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x8000000000000000ull);
    CHECK_EQ(th_arith(&t) & FL_CF, FL_CF);
    /* 64 masks to 0 with REX.W */
    t.cpu.r[R_AX] = 5;
    t.cpu.r[R_CX] = 64;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 5);
    /* 32 is a real count with REX.W */
    t.cpu.r[R_CX] = 32;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 5ull << 32);

    /* shr rbx, 63; sar rdx, 63; sar rsi, 1; hlt */
    static const uint8_t shr[] = {
        0x48, 0xc1, 0xeb, 0x3f, 0x48, 0xc1, 0xfa, 0x3f, 0x48, 0xd1, 0xfe, 0xf4
    };
    t.cpu.r[R_BX] = 0x8000000000000000ull;
    t.cpu.r[R_DX] = 0x8000000000000000ull;
    t.cpu.r[R_SI] = 0xfffffffffffffffbull; /* -5 */
    RUN_OK(&t, shr);
    CHECK_EQ(t.cpu.r[R_BX], 1);
    CHECK_EQ(t.cpu.r[R_DX], ~0ull);
    CHECK_EQ(t.cpu.r[R_SI], 0xfffffffffffffffdull); /* -3: rounds toward -inf */
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_OF | FL_SF), FL_CF | FL_SF);
    th_destroy(&t);
}

TEST(shift_shr_sar_count1_flags)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* shr al, 1; hlt */
    static const uint8_t shr[] = { 0xd0, 0xe8, 0xf4 };
    t.cpu.r[R_AX] = 0x81;
    RUN_OK(&t, shr);
    CHECK_EQ(t.cpu.r[R_AX], 0x40);
    /* CF = bit 0, OF = old MSB */
    CHECK_EQ(th_arith(&t) & ~FL_AF, FL_CF | FL_OF);

    /* sar al, 1; hlt */
    static const uint8_t sar[] = { 0xd0, 0xf8, 0xf4 };
    t.cpu.r[R_AX] = 0x81;
    RUN_OK(&t, sar);
    CHECK_EQ(t.cpu.r[R_AX], 0xc0);
    CHECK_EQ(th_arith(&t) & ~FL_AF, FL_CF | FL_SF | FL_PF);

    /* 8-bit shifts by counts above 8 (up to 31) shift everything out */
    /* mov cl, 20; shl bl, cl; sar dl, cl; hlt */
    static const uint8_t big[] = { 0xb1, 0x14, 0xd2, 0xe3, 0xd2, 0xfa, 0xf4 };
    t.cpu.r[R_BX] = 0xff;
    t.cpu.r[R_DX] = 0x80;
    RUN_OK(&t, big);
    CHECK_EQ(t.cpu.r[R_BX], 0);
    CHECK_EQ(t.cpu.r[R_DX], 0xff);
    th_destroy(&t);
}

TEST(shift_rotates)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* rol al, 1; hlt */
    static const uint8_t rol[] = { 0xd0, 0xc0, 0xf4 };
    t.cpu.r[R_AX] = 0x81;
    th_set_arith(&t, FL_ZF | FL_SF);
    RUN_OK(&t, rol);
    CHECK_EQ(t.cpu.r[R_AX], 0x03);
    /* CF = LSB of result, OF = MSB ^ CF; ZF/SF untouched */
    CHECK_EQ(th_arith(&t), FL_CF | FL_OF | FL_ZF | FL_SF);

    /* ror eax, 4; hlt */
    static const uint8_t ror[] = { 0xc1, 0xc8, 0x04, 0xf4 };
    t.cpu.r[R_AX] = 0xffffffff0000001full;
    RUN_OK(&t, ror);
    CHECK_EQ(t.cpu.r[R_AX], 0xf0000001);
    CHECK_EQ(th_arith(&t) & FL_CF, FL_CF);

    /* an 8-bit rotate by 8: value unchanged, CF = MSB (count is nonzero) */
    /* ror bl, 8; hlt */
    static const uint8_t ror8[] = { 0xc0, 0xcb, 0x08, 0xf4 };
    t.cpu.r[R_BX] = 0x80;
    th_set_arith(&t, 0);
    RUN_OK(&t, ror8);
    CHECK_EQ(t.cpu.r[R_BX], 0x80);
    CHECK_EQ(th_arith(&t) & FL_CF, FL_CF);

    /* rol rdx, 12; hlt */
    static const uint8_t rol64[] = { 0x48, 0xc1, 0xc2, 0x0c, 0xf4 };
    t.cpu.r[R_DX] = 0x123456789abcdef0ull;
    RUN_OK(&t, rol64);
    CHECK_EQ(t.cpu.r[R_DX], 0x456789abcdef0123ull);
    CHECK_EQ(th_arith(&t) & FL_CF, FL_CF);
    th_destroy(&t);
}

TEST(shift_rcl_rcr_through_carry)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* stc; rcl al, 1; hlt */
    static const uint8_t rcl[] = { 0xf9, 0xd0, 0xd0, 0xf4 };
    t.cpu.r[R_AX] = 0x80;
    RUN_OK(&t, rcl);
    CHECK_EQ(t.cpu.r[R_AX], 0x01);
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_OF), FL_CF | FL_OF);

    /* 9-bit rotation: RCL AL by 9 is the identity on CF:AL */
    /* stc; mov cl, 9; rcl al, cl; hlt */
    static const uint8_t rcl9[] = { 0xf9, 0xb1, 0x09, 0xd2, 0xd0, 0xf4 };
    t.cpu.r[R_AX] = 0x5a;
    RUN_OK(&t, rcl9);
    CHECK_EQ(t.cpu.r[R_AX] & 0xff, 0x5a);
    CHECK_EQ(th_arith(&t) & FL_CF, FL_CF);

    /* RCL AL by 8 with CF=1: CF:AL = 1:01011010 → AL = 1 then 0101101, CF = 0 */
    /* stc; rcl al, 8; hlt */
    static const uint8_t rcl8[] = { 0xf9, 0xc0, 0xd0, 0x08, 0xf4 };
    t.cpu.r[R_AX] = 0x5a;
    RUN_OK(&t, rcl8);
    CHECK_EQ(t.cpu.r[R_AX], 0xad);
    CHECK_EQ(th_arith(&t) & FL_CF, 0);

    /* RCR of a word by 17 is the identity; by 1 pulls CF into the MSB */
    /* clc; rcr bx, 17; stc; rcr dx, 1; hlt */
    static const uint8_t rcr[] = { 0xf8, 0x66, 0xc1, 0xdb, 0x11, 0xf9, 0x66, 0xd1, 0xda, 0xf4 };
    t.cpu.r[R_BX] = 0x1234;
    t.cpu.r[R_DX] = 0x0001;
    RUN_OK(&t, rcr);
    CHECK_EQ(t.cpu.r[R_BX], 0x1234);
    CHECK_EQ(t.cpu.r[R_DX], 0x8000);
    /* OF = MSB(old) ^ CF(old) = 0 ^ 1 */
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_OF), FL_CF | FL_OF);

    /* 64-bit RCR by 63 */
    /* clc; rcr rsi, 63; hlt */
    static const uint8_t rcr64[] = { 0xf8, 0x48, 0xc1, 0xde, 0x3f, 0xf4 };
    t.cpu.r[R_SI] = 0x8000000000000003ull;
    RUN_OK(&t, rcr64);
    /* 65-bit rotate right by 63 == rotate left by 2 of 0:8000..0003 */
    CHECK_EQ(t.cpu.r[R_SI], 0x000000000000000dull);
    CHECK_EQ(th_arith(&t) & FL_CF, 0);
    th_destroy(&t);
}

TEST(shift_memory_operand)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* shl dword ptr [rdi], 4; sar word ptr [rdi+4], cl; rol byte ptr [rdi+6], 1; hlt */
    static const uint8_t code[] = {
        0xc1, 0x27, 0x04, 0x66, 0xd3, 0x7f, 0x04, 0xd0, 0x47, 0x06, 0xf4
    };
    uint8_t *m = th_mem(&t, TH_DATA);
    memcpy(m, "\x21\x43\x65\x87\x00\x80\x81", 7);
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_CX] = 4;
    RUN_OK(&t, code);
    uint32_t d;
    memcpy(&d, m, 4);
    CHECK_EQ(d, 0x76543210);
    CHECK_EQ(m[4] | m[5] << 8, 0xf800);
    CHECK_EQ(m[6], 0x03);
    th_destroy(&t);
}

TEST(shift_shld_shrd)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* shld eax, ebx, 8; shrd rcx, rdx, cl; hlt */
    static const uint8_t code[] = { 0x0f, 0xa4, 0xd8, 0x08, 0x48, 0x0f, 0xad, 0xd1, 0xf4 };
    t.cpu.r[R_AX] = 0x11223344;
    t.cpu.r[R_BX] = 0xaabbccdd;
    t.cpu.r[R_CX] = 0x0000000000000010ull;
    t.cpu.r[R_DX] = 0x0123456789abcdefull;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x223344aa);
    CHECK_EQ(t.cpu.r[R_CX], 0xcdef000000000000ull);
    /* last bit out of rcx was bit 15 = 0; result negative */
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_SF | FL_ZF), FL_SF);

    /* shld word ptr [rdi], si, 1; hlt */
    static const uint8_t w[] = { 0x66, 0x0f, 0xa4, 0x37, 0x01, 0xf4 };
    uint16_t *m = th_mem(&t, TH_DATA);
    *m = 0x8001;
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_SI] = 0x8000;
    RUN_OK(&t, w);
    CHECK_EQ(*m, 0x0003);
    /* CF = old MSB = 1; OF: sign changed 1 → 0 */
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_OF), FL_CF | FL_OF);

    /* count 0: nothing changes */
    /* shrd eax, ebx, 0; hlt */
    static const uint8_t z[] = { 0x0f, 0xac, 0xd8, 0x00, 0xf4 };
    t.cpu.r[R_AX] = 0x5;
    th_set_arith(&t, FL_ZF);
    RUN_OK(&t, z);
    CHECK_EQ(t.cpu.r[R_AX], 5);
    CHECK_EQ(th_arith(&t), FL_ZF);
    th_destroy(&t);
}

TEST(shift_modes_32_16)
{
    struct th t;
    th_init(&t, TH_PROT32);
    /* shl eax, 31; rcr cx, 1; hlt */
    static const uint8_t code[] = { 0xc1, 0xe0, 0x1f, 0x66, 0xd1, 0xd9, 0xf4 };
    t.cpu.r[R_AX] = 3;
    t.cpu.r[R_CX] = 0x00010002;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x80000000);
    /* CF was set by the SHL (bit 1 shifted out last) and enters bit 15 */
    CHECK_EQ(t.cpu.r[R_CX], 0x00018001);
    th_destroy(&t);

    th_init(&t, TH_REAL);
    /* mov cl, 3; shr ax, cl; sar bl, 1; hlt */
    static const uint8_t real[] = { 0xb1, 0x03, 0xd3, 0xe8, 0xd0, 0xfb, 0xf4 };
    t.cpu.r[R_AX] = 0x8008;
    t.cpu.r[R_BX] = 0x80;
    RUN_OK(&t, real);
    CHECK_EQ(t.cpu.r[R_AX], 0x1001);
    CHECK_EQ(t.cpu.r[R_BX], 0xc0);
    th_destroy(&t);
}
