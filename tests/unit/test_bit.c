/*
 * test_bit.c — BT/BTS/BTR/BTC (register, immediate and the signed
 * bit-offset addressing of memory operands), BSF/BSR, TZCNT/LZCNT/POPCNT,
 * BSWAP, MOVBE and CRC32 on the engine.
 */
#include "int_test.h"

TEST(bit_bt_register_forms)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* bt eax, 33; hlt */
    static const uint8_t code[] = { 0x0f, 0xba, 0xe0, 0x21, 0xf4 };
    t.cpu.r[R_AX] = 2; /* 33 mod 32 = bit 1 */
    th_set_arith(&t, FL_ZF);
    RUN_OK(&t, code);
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_ZF), FL_CF | FL_ZF); /* ZF untouched */

    /* bts rbx, rcx; btr edx, ecx; btc si, cx; hlt */
    static const uint8_t mod[] = {
        0x48, 0x0f, 0xab, 0xcb, 0x0f, 0xb3, 0xca, 0x66, 0x0f, 0xbb, 0xce, 0xf4
    };
    t.cpu.r[R_BX] = 0;
    t.cpu.r[R_CX] = 0x43; /* 64-bit: bit 3; 32-bit: bit 3; 16-bit: bit 3 */
    t.cpu.r[R_DX] = 0xffffffff0000000full;
    t.cpu.r[R_SI] = 0x10000;
    RUN_OK(&t, mod);
    CHECK_EQ(t.cpu.r[R_BX], 8);
    CHECK_EQ(t.cpu.r[R_DX], 0x7); /* 32-bit write zero-extends */
    CHECK_EQ(t.cpu.r[R_SI], 0x10008);
    CHECK_EQ(th_arith(&t) & FL_CF, 0); /* bit 3 of SI was 0 */
    th_destroy(&t);
}

TEST(bit_bt_memory_offsets)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint8_t *m = th_mem(&t, TH_DATA);
    memset(m, 0, 64);
    /* register offset 75 from [rdi+16]: dword at +16+8, bit 11 */
    /* bts dword ptr [rdi+16], eax; hlt */
    static const uint8_t pos[] = { 0x0f, 0xab, 0x47, 0x10, 0xf4 };
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_AX] = 75;
    RUN_OK(&t, pos);
    CHECK_EQ(m[16 + 9], 0x08);
    CHECK_EQ(th_arith(&t) & FL_CF, 0);
    RUN_OK(&t, pos);
    CHECK_EQ(th_arith(&t) & FL_CF, FL_CF);

    /* negative offset -1: the bit just below the operand (byte -1, bit 7) */
    /* btc qword ptr [rdi+32], rax; hlt */
    static const uint8_t neg[] = { 0x48, 0x0f, 0xbb, 0x47, 0x20, 0xf4 };
    t.cpu.r[R_AX] = ~0ull;
    RUN_OK(&t, neg);
    CHECK_EQ(m[31], 0x80);
    CHECK_EQ(m[32], 0);

    /* 16-bit operand, offset -17: word at -4, bit 15 → byte -3 bit 7 */
    /* bt word ptr [rdi+40], ax; hlt */
    static const uint8_t w[] = { 0x66, 0x0f, 0xa3, 0x47, 0x28, 0xf4 };
    m[37] = 0x80;
    t.cpu.r[R_AX] = 0xffef; /* -17 */
    RUN_OK(&t, w);
    CHECK_EQ(th_arith(&t) & FL_CF, FL_CF);

    /* immediate offsets are taken modulo the operand size */
    /* btr dword ptr [rdi+48], 35; hlt */
    static const uint8_t imm[] = { 0x0f, 0xba, 0x77, 0x30, 0x23, 0xf4 };
    m[48] = 0x0f;
    m[52] = 0xff;
    RUN_OK(&t, imm);
    CHECK_EQ(m[48], 0x07);
    CHECK_EQ(m[52], 0xff);
    CHECK_EQ(th_arith(&t) & FL_CF, FL_CF);
    th_destroy(&t);
}

TEST(bit_bt_lock)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* lock bts qword ptr [rdi], 63; lock btc dword ptr [rdi], ecx; hlt */
    static const uint8_t code[] = {
        0xf0, 0x48, 0x0f, 0xba, 0x2f, 0x3f, 0xf0, 0x0f, 0xbb, 0x0f, 0xf4
    };
    uint64_t *m = th_mem(&t, TH_DATA);
    *m = 1;
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_CX] = 32; /* dword at +4, bit 0 */
    RUN_OK(&t, code);
    CHECK_EQ(*m, 0x8000000100000001ull);
    static const uint8_t reg[] = { 0xf0, 0x0f, 0xab, 0xc8, 0xf4 }; /* lock bts eax, ecx */
    RUN_FAULT(&t, reg, EXC_UD);
    static const uint8_t bt[] = { 0xf0, 0x0f, 0xa3, 0x0f, 0xf4 }; /* lock bt [rdi], ecx */
    RUN_FAULT(&t, bt, EXC_UD);
    th_destroy(&t);
}

TEST(bit_bsf_bsr)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* bsf rax, rbx; bsr ecx, edx; hlt */
    static const uint8_t code[] = { 0x48, 0x0f, 0xbc, 0xc3, 0x0f, 0xbd, 0xca, 0xf4 };
    t.cpu.r[R_BX] = 0x0100000000000000ull;
    t.cpu.r[R_DX] = 0x00010001;
    t.cpu.r[R_CX] = ~0ull;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 56);
    CHECK_EQ(t.cpu.r[R_CX], 16);
    CHECK_EQ(th_arith(&t) & FL_ZF, 0);

    /* zero source: ZF = 1, destination unchanged */
    t.cpu.r[R_AX] = 0x1234;
    t.cpu.r[R_BX] = 0;
    t.cpu.r[R_DX] = 0xffffffff00000000ull;
    t.cpu.r[R_CX] = 0x5555;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x1234);
    CHECK_EQ(t.cpu.r[R_CX], 0x5555);
    CHECK_EQ(th_arith(&t) & FL_ZF, FL_ZF);

    /* bsr ax, word ptr [rdi]; hlt */
    static const uint8_t w[] = { 0x66, 0x0f, 0xbd, 0x07, 0xf4 };
    *(uint16_t *)th_mem(&t, TH_DATA) = 0x8000;
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_AX] = 0xffff0000;
    RUN_OK(&t, w);
    CHECK_EQ(t.cpu.r[R_AX], 0xffff000f);
    th_destroy(&t);
}

TEST(bit_tzcnt_lzcnt_popcnt)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* tzcnt eax, ebx; lzcnt rcx, rdx; popcnt si, di; hlt */
    static const uint8_t code[] = {
        0xf3, 0x0f, 0xbc, 0xc3, 0xf3, 0x48, 0x0f, 0xbd, 0xca, 0x66, 0xf3, 0x0f, 0xb8, 0xf7,
        0xf4
    };
    t.cpu.r[R_BX] = 0;
    t.cpu.r[R_DX] = 1;
    t.cpu.r[R_DI] = 0x1ffff;
    t.cpu.r[R_SI] = 0xabcd0000;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 32); /* zero source: operand size */
    CHECK_EQ(t.cpu.r[R_CX], 63);
    CHECK_EQ(t.cpu.r[R_SI], 0xabcd0010);
    CHECK_EQ(th_arith(&t), 0); /* POPCNT clears all but ZF */

    /* lzcnt ax, bx; hlt */
    static const uint8_t z[] = { 0x66, 0xf3, 0x0f, 0xbd, 0xc3, 0xf4 };
    t.cpu.r[R_AX] = 0;
    t.cpu.r[R_BX] = 0;
    RUN_OK(&t, z);
    CHECK_EQ(t.cpu.r[R_AX], 16);
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_ZF), FL_CF);

    /* tzcnt rax, qword ptr [rdi]; hlt */
    static const uint8_t tz[] = { 0xf3, 0x48, 0x0f, 0xbc, 0x07, 0xf4 };
    *(uint64_t *)th_mem(&t, TH_DATA) = 0x8000000000000000ull;
    t.cpu.r[R_DI] = TH_DATA;
    RUN_OK(&t, tz);
    CHECK_EQ(t.cpu.r[R_AX], 63);
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_ZF), 0);
    /* tzcnt eax, ebx; hlt */
    static const uint8_t tz0[] = { 0xf3, 0x0f, 0xbc, 0xc3, 0xf4 };
    t.cpu.r[R_BX] = 1;
    RUN_OK(&t, tz0);
    CHECK_EQ(t.cpu.r[R_AX], 0);
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_ZF), FL_ZF);

    /* popcnt rax, rbx; hlt */
    static const uint8_t pz[] = { 0xf3, 0x48, 0x0f, 0xb8, 0xc3, 0xf4 };
    t.cpu.r[R_BX] = 0;
    th_set_arith(&t, FL_CF | FL_OF | FL_SF | FL_PF | FL_AF);
    RUN_OK(&t, pz);
    CHECK_EQ(t.cpu.r[R_AX], 0);
    CHECK_EQ(th_arith(&t), FL_ZF);
    th_destroy(&t);
}

TEST(bit_bswap_movbe)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* bswap eax; bswap r9; hlt */
    static const uint8_t code[] = { 0x0f, 0xc8, 0x49, 0x0f, 0xc9, 0xf4 };
    t.cpu.r[R_AX] = 0xffffffff11223344ull;
    t.cpu.r[R_R9] = 0x0102030405060708ull;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x44332211);
    CHECK_EQ(t.cpu.r[R_R9], 0x0807060504030201ull);

    /* movbe ecx, dword ptr [rdi]; movbe qword ptr [rdi+8], rdx; movbe word ptr [rdi+16], dx;
     * hlt */
    static const uint8_t mb[] = {
        0x0f, 0x38, 0xf0, 0x0f, 0x48, 0x0f, 0x38, 0xf1, 0x57, 0x08, 0x66, 0x0f, 0x38, 0xf1,
        0x57, 0x10, 0xf4
    };
    uint8_t *m = th_mem(&t, TH_DATA);
    memcpy(m, "\x12\x34\x56\x78", 4);
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_DX] = 0x1122334455667788ull;
    RUN_OK(&t, mb);
    CHECK_EQ(t.cpu.r[R_CX], 0x12345678);
    CHECK(memcmp(m + 8, "\x11\x22\x33\x44\x55\x66\x77\x88", 8) == 0);
    CHECK(memcmp(m + 16, "\x77\x88", 2) == 0);

    /* MOVBE has no register form */
    static const uint8_t reg[] = { 0x0f, 0x38, 0xf0, 0xc8, 0xf4 };
    RUN_FAULT(&t, reg, EXC_UD);
    th_destroy(&t);
}

TEST(bit_crc32c)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* CRC-32C("123456789") = 0xE3069283 (init ~0, final ~) */
    /* mov eax, -1; crc32 rax, qword ptr [rdi]; crc32 eax, byte ptr [rdi+8]; not eax; hlt */
    static const uint8_t code[] = {
        0xb8, 0xff, 0xff, 0xff, 0xff, 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0x07, 0xf2, 0x0f, 0x38,
        0xf0, 0x47, 0x08, 0xf7, 0xd0, 0xf4
    };
    memcpy(th_mem(&t, TH_DATA), "123456789", 9);
    t.cpu.r[R_DI] = TH_DATA;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0xe3069283);

    /* the same bytes through the 16- and 32-bit source forms */
    /* mov ebx, -1; crc32 ebx, word ptr [rdi]; crc32 ebx, dword ptr [rdi+2];
     * crc32 ebx, word ptr [rdi+6]; crc32 ebx, byte ptr [rdi+8]; not ebx; hlt */
    static const uint8_t mix[] = {
        0xbb, 0xff, 0xff, 0xff, 0xff, 0x66, 0xf2, 0x0f, 0x38, 0xf1, 0x1f, 0xf2, 0x0f, 0x38,
        0xf1, 0x5f, 0x02, 0x66, 0xf2, 0x0f, 0x38, 0xf1, 0x5f, 0x06, 0xf2, 0x0f, 0x38, 0xf0,
        0x5f, 0x08, 0xf7, 0xd3, 0xf4
    };
    RUN_OK(&t, mix);
    CHECK_EQ(t.cpu.r[R_BX], 0xe3069283);
    th_destroy(&t);
}

TEST(bit_modes_32_16)
{
    struct th t;
    th_init(&t, TH_PROT32);
    /* bts dword ptr [edi], ecx; bsf eax, [edi]; hlt */
    static const uint8_t code[] = { 0x0f, 0xab, 0x0f, 0x0f, 0xbc, 0x07, 0xf4 };
    uint32_t *m = th_mem(&t, TH_DATA);
    m[0] = 0;
    m[1] = 0;
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_CX] = 40;
    RUN_OK(&t, code);
    CHECK_EQ(m[1], 0x100);
    CHECK_EQ(th_arith(&t) & FL_ZF, FL_ZF); /* [edi] itself is still 0 */
    th_destroy(&t);

    th_init(&t, TH_REAL);
    /* bt ax, 15; bswap ebx; hlt */
    static const uint8_t real[] = { 0x0f, 0xba, 0xe0, 0x0f, 0x66, 0x0f, 0xcb, 0xf4 };
    t.cpu.r[R_AX] = 0x8000;
    t.cpu.r[R_BX] = 0x11223344;
    RUN_OK(&t, real);
    CHECK_EQ(th_arith(&t) & FL_CF, FL_CF);
    CHECK_EQ(t.cpu.r[R_BX], 0x44332211);
    th_destroy(&t);
}
