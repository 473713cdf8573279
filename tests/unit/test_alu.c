/*
 * test_alu.c — ADD OR ADC SBB AND SUB XOR CMP, TEST, NOT, NEG, INC, DEC on
 * the engine: results, all arithmetic flags, operand forms, LOCK rules and
 * 8-bit register naming, in 64-, 32- and 16-bit modes.
 */
#include "int_test.h"

#define F_ALL FL_ARITH

TEST(alu_add_overflow_flags_64)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* add rax, rbx; hlt */
    static const uint8_t code[] = { 0x48, 0x01, 0xd8, 0xf4 };
    t.cpu.r[R_AX] = 0x7fffffffffffffffull;
    t.cpu.r[R_BX] = 1;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x8000000000000000ull);
    /* 0x...ff + 1: AF (carry out of bit 3), SF, OF; low byte 0 → PF */
    CHECK_EQ(th_arith(&t), FL_OF | FL_SF | FL_AF | FL_PF);
    th_destroy(&t);
}

TEST(alu_add_carry_zero_32_zero_extends)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* add eax, ebx; hlt */
    static const uint8_t code[] = { 0x01, 0xd8, 0xf4 };
    t.cpu.r[R_AX] = 0x12345678ffffffffull;
    t.cpu.r[R_BX] = 1;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0);
    CHECK_EQ(th_arith(&t), FL_CF | FL_ZF | FL_AF | FL_PF);
    th_destroy(&t);
}

TEST(alu_adc_carry_in_and_overflow)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* stc; adc eax, ebx; hlt */
    static const uint8_t code[] = { 0xf9, 0x11, 0xd8, 0xf4 };
    t.cpu.r[R_AX] = 0x7fffffff;
    t.cpu.r[R_BX] = 0;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x80000000);
    CHECK_EQ(th_arith(&t), FL_OF | FL_SF | FL_AF | FL_PF);

    /* 0xff + 0xff + 1 = 0x1ff: CF, AF; result 0xff */
    /* stc; adc al, bl; hlt */
    static const uint8_t code8[] = { 0xf9, 0x10, 0xd8, 0xf4 };
    t.cpu.r[R_AX] = 0xff;
    t.cpu.r[R_BX] = 0xff;
    RUN_OK(&t, code8);
    CHECK_EQ(t.cpu.r[R_AX], 0xff);
    CHECK_EQ(th_arith(&t), FL_CF | FL_AF | FL_SF | FL_PF);

    /* carry-in makes the sum wrap to exactly 0 */
    /* stc; adc rax, rbx; hlt */
    static const uint8_t code64[] = { 0xf9, 0x48, 0x11, 0xd8, 0xf4 };
    t.cpu.r[R_AX] = ~0ull;
    t.cpu.r[R_BX] = 0;
    RUN_OK(&t, code64);
    CHECK_EQ(t.cpu.r[R_AX], 0);
    CHECK_EQ(th_arith(&t), FL_CF | FL_ZF | FL_AF | FL_PF);
    th_destroy(&t);
}

TEST(alu_sub_sbb_borrow)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* sub ecx, edx; hlt */
    static const uint8_t code[] = { 0x29, 0xd1, 0xf4 };
    t.cpu.r[R_CX] = 1;
    t.cpu.r[R_DX] = 2;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_CX], 0xffffffff);
    CHECK_EQ(th_arith(&t), FL_CF | FL_SF | FL_AF | FL_PF);

    /* SBB with borrow-in: 0 - 0 - 1 */
    /* stc; sbb al, 0; hlt */
    static const uint8_t sbb[] = { 0xf9, 0x1c, 0x00, 0xf4 };
    t.cpu.r[R_AX] = 0x1200;
    RUN_OK(&t, sbb);
    CHECK_EQ(t.cpu.r[R_AX], 0x12ff);
    CHECK_EQ(th_arith(&t), FL_CF | FL_SF | FL_AF | FL_PF);

    /* signed overflow: 0x80000000 - 1 */
    /* sub eax, 1; hlt */
    static const uint8_t ovf[] = { 0x83, 0xe8, 0x01, 0xf4 };
    t.cpu.r[R_AX] = 0x80000000;
    RUN_OK(&t, ovf);
    CHECK_EQ(t.cpu.r[R_AX], 0x7fffffff);
    CHECK_EQ(th_arith(&t), FL_OF | FL_AF | FL_PF);

    /* SBB a - b - 1 where a == b: borrow */
    /* stc; sbb rbx, rbx; hlt */
    static const uint8_t sbb2[] = { 0xf9, 0x48, 0x19, 0xdb, 0xf4 };
    t.cpu.r[R_BX] = 5;
    RUN_OK(&t, sbb2);
    CHECK_EQ(t.cpu.r[R_BX], ~0ull);
    CHECK(th_arith(&t) & FL_CF);
    th_destroy(&t);
}

TEST(alu_cmp_does_not_write)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* cmp qword ptr [rdi], 5; cmp rax, [rdi]; hlt */
    static const uint8_t code[] = { 0x48, 0x83, 0x3f, 0x05, 0x48, 0x3b, 0x07, 0xf4 };
    uint64_t *m = th_mem(&t, TH_DATA);
    *m = 3;
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_AX] = 3;
    RUN_OK(&t, code);
    CHECK_EQ(*m, 3);
    CHECK_EQ(t.cpu.r[R_AX], 3);
    CHECK_EQ(th_arith(&t), FL_ZF | FL_PF);
    th_destroy(&t);
}

TEST(alu_logic_clears_cf_of)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* stc; and eax, ebx; hlt */
    static const uint8_t code[] = { 0xf9, 0x21, 0xd8, 0xf4 };
    t.cpu.r[R_AX] = 0xffffffff80000001ull;
    t.cpu.r[R_BX] = 0x80000000;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x80000000);
    CHECK_EQ(th_arith(&t) & ~FL_AF, FL_SF | FL_PF);

    /* xor eax, eax; hlt */
    static const uint8_t x[] = { 0x31, 0xc0, 0xf4 };
    t.cpu.r[R_AX] = ~0ull;
    RUN_OK(&t, x);
    CHECK_EQ(t.cpu.r[R_AX], 0);
    CHECK_EQ(th_arith(&t) & ~FL_AF, FL_ZF | FL_PF);

    /* or byte ptr [rdi], 0x81; hlt */
    static const uint8_t o[] = { 0x80, 0x0f, 0x81, 0xf4 };
    uint8_t *m = th_mem(&t, TH_DATA);
    *m = 0x02;
    t.cpu.r[R_DI] = TH_DATA;
    RUN_OK(&t, o);
    CHECK_EQ(*m, 0x83);
    CHECK_EQ(th_arith(&t) & ~FL_AF, FL_SF);
    th_destroy(&t);
}

TEST(alu_test_forms)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* test al, 0x80; hlt */
    static const uint8_t code[] = { 0xa8, 0x80, 0xf4 };
    t.cpu.r[R_AX] = 0x80;
    th_set_arith(&t, FL_CF | FL_OF);
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x80);
    CHECK_EQ(th_arith(&t) & ~FL_AF, FL_SF);

    /* test dword ptr [rdi], 0x100; hlt */
    static const uint8_t m[] = { 0xf7, 0x07, 0x00, 0x01, 0x00, 0x00, 0xf4 };
    *(uint32_t *)th_mem(&t, TH_DATA) = 0xff;
    t.cpu.r[R_DI] = TH_DATA;
    RUN_OK(&t, m);
    CHECK_EQ(th_arith(&t) & ~FL_AF, FL_ZF | FL_PF);

    /* F6 /1 is an alias of F6 /0 */
    static const uint8_t alias[] = { 0xf6, 0xc8, 0x01, 0xf4 }; /* test al, 1 (/1) */
    t.cpu.r[R_AX] = 1;
    RUN_OK(&t, alias);
    CHECK_EQ(th_arith(&t) & ~FL_AF, 0);
    th_destroy(&t);
}

TEST(alu_inc_dec_preserve_cf)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* stc; inc eax; hlt */
    static const uint8_t code[] = { 0xf9, 0xff, 0xc0, 0xf4 };
    t.cpu.r[R_AX] = 0xffffffff;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0);
    CHECK_EQ(th_arith(&t), FL_CF | FL_ZF | FL_AF | FL_PF);

    /* clc; dec byte ptr [rdi]; hlt */
    static const uint8_t dec[] = { 0xf8, 0xfe, 0x0f, 0xf4 };
    uint8_t *m = th_mem(&t, TH_DATA);
    *m = 0x80;
    t.cpu.r[R_DI] = TH_DATA;
    RUN_OK(&t, dec);
    CHECK_EQ(*m, 0x7f);
    CHECK_EQ(th_arith(&t), FL_OF | FL_AF);

    /* stc; inc rbx; hlt */
    static const uint8_t inc64[] = { 0xf9, 0x48, 0xff, 0xc3, 0xf4 };
    t.cpu.r[R_BX] = 0x7fffffffffffffffull;
    RUN_OK(&t, inc64);
    CHECK_EQ(t.cpu.r[R_BX], 0x8000000000000000ull);
    CHECK_EQ(th_arith(&t), FL_CF | FL_OF | FL_SF | FL_AF | FL_PF);
    th_destroy(&t);
}

TEST(alu_neg_not)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* neg eax; hlt */
    static const uint8_t code[] = { 0xf7, 0xd8, 0xf4 };
    t.cpu.r[R_AX] = 0;
    th_set_arith(&t, FL_CF);
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0);
    CHECK_EQ(th_arith(&t), FL_ZF | FL_PF);
    t.cpu.r[R_AX] = 5;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0xfffffffb);
    CHECK_EQ(th_arith(&t), FL_CF | FL_SF | FL_AF);
    t.cpu.r[R_AX] = 0x80000000;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x80000000);
    CHECK_EQ(th_arith(&t), FL_CF | FL_OF | FL_SF | FL_PF);

    /* not word ptr [rdi]; not bl; hlt */
    static const uint8_t n[] = { 0x66, 0xf7, 0x17, 0xf6, 0xd3, 0xf4 };
    uint16_t *m = th_mem(&t, TH_DATA);
    *m = 0x00f0;
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_BX] = 0x1234;
    th_set_arith(&t, FL_OF | FL_ZF);
    RUN_OK(&t, n);
    CHECK_EQ(*m, 0xff0f);
    CHECK_EQ(t.cpu.r[R_BX], 0x12cb);
    CHECK_EQ(th_arith(&t), FL_OF | FL_ZF); /* NOT changes no flag */
    th_destroy(&t);
}

TEST(alu_immediate_forms)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* 83 /0 with imm8 -1 sign-extended to 64 bits; 81 /5 imm32 */
    /* add rax, -1; sub rbx, 0x12345678; hlt */
    static const uint8_t code[] = {
        0x48, 0x83, 0xc0, 0xff, 0x48, 0x81, 0xeb, 0x78, 0x56, 0x34, 0x12, 0xf4
    };
    t.cpu.r[R_AX] = 1;
    t.cpu.r[R_BX] = 0x100000000ull;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0);
    CHECK_EQ(t.cpu.r[R_BX], 0x100000000ull - 0x12345678);

    /* 05 rAX, imm32 sign-extended; 0C AL, imm8 */
    /* add rax, -2; or al, 0x10; hlt */
    static const uint8_t acc[] = { 0x48, 0x83, 0xc0, 0xfe, 0x0c, 0x10, 0xf4 };
    t.cpu.r[R_AX] = 0x100;
    RUN_OK(&t, acc);
    CHECK_EQ(t.cpu.r[R_AX], 0xfe);

    /* 80 /7 with memory and 66 81 /4 */
    /* cmp byte ptr [rdi+1], 0x7f; and word ptr [rdi+2], 0x0ff0; hlt */
    static const uint8_t m[] = { 0x80, 0x7f, 0x01, 0x7f, 0x66, 0x81, 0x67, 0x02, 0xf0, 0x0f, 0xf4 };
    uint8_t *p = th_mem(&t, TH_DATA);
    p[1] = 0x80;
    p[2] = 0x34;
    p[3] = 0x12;
    t.cpu.r[R_DI] = TH_DATA;
    RUN_OK(&t, m);
    CHECK_EQ(p[2] | p[3] << 8, 0x0230);
    CHECK_EQ(p[1], 0x80);
    th_destroy(&t);
}

TEST(alu_high_byte_registers)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* without REX, reg 4-7 are AH CH DH BH */
    static const uint8_t legacy[] = { 0x00, 0xfc, 0xf4 }; /* add ah, bh */
    t.cpu.r[R_AX] = 0x0100;
    t.cpu.r[R_BX] = 0x0200;
    t.cpu.r[R_SP] = 0x1000;
    t.cpu.r[R_DI] = 0x2000;
    RUN_OK(&t, legacy);
    CHECK_EQ(t.cpu.r[R_AX], 0x0300);
    CHECK_EQ(t.cpu.r[R_SP], 0x1000);
    /* with REX, they are SPL BPL SIL DIL */
    static const uint8_t rex[] = { 0x40, 0x00, 0xfc, 0xf4 }; /* add spl, dil */
    t.cpu.r[R_SP] = 0x10f0;
    t.cpu.r[R_DI] = 0x2020;
    RUN_OK(&t, rex);
    CHECK_EQ(t.cpu.r[R_SP], 0x1010);
    CHECK_EQ(t.cpu.r[R_AX], 0x0300);
    CHECK_EQ(th_arith(&t) & FL_CF, FL_CF);
    /* GbEb with REX.R/REX.B: add r9b, r10b */
    /* add r9b, r10b; hlt */
    static const uint8_t ext[] = { 0x45, 0x00, 0xd1, 0xf4 };
    t.cpu.r[R_R9] = 0xaaff;
    t.cpu.r[R_R10] = 0x02;
    RUN_OK(&t, ext);
    CHECK_EQ(t.cpu.r[R_R9], 0xaa01);
    th_destroy(&t);
}

TEST(alu_operand_size_16_in_64)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* add ax, bx; hlt */
    static const uint8_t code[] = { 0x66, 0x01, 0xd8, 0xf4 };
    t.cpu.r[R_AX] = 0x1111222233338000ull;
    t.cpu.r[R_BX] = 0x8000;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x1111222233330000ull);
    CHECK_EQ(th_arith(&t), FL_CF | FL_OF | FL_ZF | FL_PF);
    th_destroy(&t);
}

TEST(alu_lock_rules)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* lock add dword ptr [rdi], eax; lock inc qword ptr [rdi+8]; lock neg byte ptr [rdi+16];
     * hlt */
    static const uint8_t ok[] = {
        0xf0, 0x01, 0x07, 0xf0, 0x48, 0xff, 0x47, 0x08, 0xf0, 0xf6, 0x5f, 0x10, 0xf4
    };
    uint32_t *m = th_mem(&t, TH_DATA);
    m[0] = 40;
    m[2] = 0xffffffff;
    m[3] = 0;
    m[4] = 1;
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_AX] = 2;
    RUN_OK(&t, ok);
    CHECK_EQ(m[0], 42);
    CHECK_EQ(m[2], 0);
    CHECK_EQ(m[3], 1);
    CHECK_EQ(m[4], 0xff);

    /* LOCK with a register destination: #UD, nothing changed */
    static const uint8_t reg[] = { 0xf0, 0x01, 0xd8, 0xf4 }; /* lock add eax, ebx */
    t.cpu.r[R_AX] = 1;
    t.cpu.r[R_BX] = 1;
    RUN_FAULT(&t, reg, EXC_UD);
    CHECK_EQ(t.cpu.r[R_AX], 1);
    CHECK_EQ(t.cpu.rip, TH_CODE);
    /* LOCK CMP and LOCK MOV: #UD */
    static const uint8_t cmp[] = { 0xf0, 0x39, 0x07, 0xf4 }; /* lock cmp [rdi], eax */
    RUN_FAULT(&t, cmp, EXC_UD);
    static const uint8_t mov[] = { 0xf0, 0x89, 0x07, 0xf4 }; /* lock mov [rdi], eax */
    RUN_FAULT(&t, mov, EXC_UD);
    CHECK_EQ(m[0], 42);
    th_destroy(&t);
}

TEST(alu_modes_32_and_16)
{
    struct th t;
    th_init(&t, TH_PROT32);
    /* 40+r / 48+r are INC/DEC outside 64-bit mode; 82 aliases 80 */
    /* stc; inc eax; dec ecx; .byte 0x82, 0xc2, 0x05; hlt */
    static const uint8_t code[] = { 0xf9, 0x40, 0x49, 0x82, 0xc2, 0x05, 0xf4 };
    t.cpu.r[R_AX] = 0x7fffffff;
    t.cpu.r[R_CX] = 0;
    t.cpu.r[R_DX] = 1;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x80000000);
    CHECK_EQ(t.cpu.r[R_CX], 0xffffffff);
    CHECK_EQ(t.cpu.r[R_DX], 6);
    /* add ax, 1; inc cx; hlt */
    static const uint8_t w[] = { 0x66, 0x83, 0xc0, 0x01, 0x66, 0x41, 0xf4 };
    t.cpu.r[R_AX] = 0xffff;
    t.cpu.r[R_CX] = 0x1234ffff;
    RUN_OK(&t, w);
    CHECK_EQ(t.cpu.r[R_AX], 0);
    CHECK_EQ(t.cpu.r[R_CX], 0x12340000);
    th_destroy(&t);

    th_init(&t, TH_REAL);
    /* add ax, bx; sub cl, 3; add eax, 0x10000; hlt */
    static const uint8_t real[] = {
        0x01, 0xd8, 0x80, 0xe9, 0x03, 0x66, 0x05, 0x00, 0x00, 0x01, 0x00, 0xf4
    };
    t.cpu.r[R_AX] = 0xfffe;
    t.cpu.r[R_BX] = 3;
    t.cpu.r[R_CX] = 2;
    RUN_OK(&t, real);
    CHECK_EQ(t.cpu.r[R_AX], 0x10001);
    CHECK_EQ(t.cpu.r[R_CX] & 0xff, 0xff);
    th_destroy(&t);

    /* in 64-bit mode 82 is invalid */
    th_init(&t, TH_LONG64);
    static const uint8_t inv[] = { 0x82, 0xc2, 0x05, 0xf4 };
    RUN_FAULT(&t, inv, EXC_UD);
    th_destroy(&t);
}

TEST(alu_memory_forms_16bit_addressing)
{
    struct th t;
    th_init(&t, TH_REAL);
    /* add [bx+si+2], al; adc word ptr [bx], 0x100; hlt */
    static const uint8_t code[] = { 0x00, 0x40, 0x02, 0x81, 0x17, 0x00, 0x01, 0xf4 };
    uint8_t *m = th_mem(&t, TH_DATA + 0x2000); /* DS base is TH_DATA */
    m[0] = 0xff;
    m[1] = 0x00;
    m[6] = 0x10;
    t.cpu.r[R_BX] = 0x2000;
    t.cpu.r[R_SI] = 4;
    t.cpu.r[R_AX] = 0xf5;
    RUN_OK(&t, code);
    CHECK_EQ(m[6], 0x05);
    CHECK_EQ(m[0] | m[1] << 8, 0x0200); /* 0x00ff + 0x100 + CF */
    th_destroy(&t);
}
