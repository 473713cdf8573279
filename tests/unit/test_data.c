/*
 * test_data.c — MOV forms, MOVZX/MOVSX/MOVSXD, LEA, XCHG/NOP/PAUSE,
 * CMPXCHG, CMPXCHG8B/16B, XADD, CMOVcc/SETcc, CBW..CQO, LAHF/SAHF, flag
 * control, XLAT, BCD adjusts, NOP/UD forms on the engine.
 */
#include "int_test.h"

TEST(data_mov_forms)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* movabs rax, 0x1122334455667788; mov ebx, 0xffffffff; mov cx, 0x5566; mov ah, 0x99;
     * mov sil, 0x42; mov r12d, ebx; hlt */
    static const uint8_t code[] = {
        0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0xbb, 0xff, 0xff, 0xff,
        0xff, 0x66, 0xb9, 0x66, 0x55, 0xb4, 0x99, 0x40, 0xb6, 0x42, 0x41, 0x89, 0xdc, 0xf4
    };
    t.cpu.r[R_BX] = ~0ull;
    t.cpu.r[R_CX] = 0xaaaaaaaaaaaaaaaaull;
    t.cpu.r[R_SI] = 0x1000;
    t.cpu.r[R_R12] = ~0ull;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x1122334455669988ull);
    CHECK_EQ(t.cpu.r[R_BX], 0xffffffff);
    CHECK_EQ(t.cpu.r[R_CX], 0xaaaaaaaaaaaa5566ull);
    CHECK_EQ(t.cpu.r[R_SI], 0x1042);
    CHECK_EQ(t.cpu.r[R_R12], 0xffffffff);

    /* mov qword ptr [rdi], -2; mov byte ptr [rdi+8], 0x7f; mov dx, [rdi+7]; mov [rdi+16], edx;
     * hlt */
    static const uint8_t mem[] = {
        0x48, 0xc7, 0x07, 0xfe, 0xff, 0xff, 0xff, 0xc6, 0x47, 0x08, 0x7f, 0x66, 0x8b, 0x57,
        0x07, 0x89, 0x57, 0x10, 0xf4
    };
    uint8_t *m = th_mem(&t, TH_DATA);
    memset(m, 0, 32);
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_DX] = 0x1234567800000000ull;
    RUN_OK(&t, mem);
    CHECK_EQ(*(uint64_t *)m, 0xfffffffffffffffeull);
    CHECK_EQ(t.cpu.r[R_DX], 0x1234567800007fffull);
    CHECK_EQ(*(uint32_t *)(m + 16), 0x7fff);

    /* moffs forms with a 64-bit absolute address */
    /* movabs eax, dword ptr [0x20020]; movabs byte ptr [0x20024], al; hlt */
    static const uint8_t moffs[] = {
        0xa1, 0x20, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa2, 0x24, 0x00, 0x02, 0x00,
        0x00, 0x00, 0x00, 0x00, 0xf4
    };
    memcpy(m + 0x20, "\x01\x02\x03\x04\x00", 5);
    RUN_OK(&t, moffs);
    CHECK_EQ(t.cpu.r[R_AX], 0x04030201);
    CHECK_EQ(m[0x24], 0x01);
    th_destroy(&t);
}

TEST(data_movzx_movsx_movsxd)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* movzx eax, bl; movsx rcx, bl; movsx dx, bh; movzx rsi, word ptr [rdi];
     * movsxd r8, dword ptr [rdi]; movsx edi, word ptr [rdi]; hlt */
    static const uint8_t code[] = {
        0x0f, 0xb6, 0xc3, 0x48, 0x0f, 0xbe, 0xcb, 0x66, 0x0f, 0xbe, 0xd7, 0x48, 0x0f, 0xb7,
        0x37, 0x4c, 0x63, 0x07, 0x0f, 0xbf, 0x3f, 0xf4
    };
    *(uint32_t *)th_mem(&t, TH_DATA) = 0x8000fffe;
    t.cpu.r[R_AX] = ~0ull;
    t.cpu.r[R_BX] = 0x7f80;
    t.cpu.r[R_DX] = 0xaaaaaaaa;
    t.cpu.r[R_DI] = TH_DATA;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x80);
    CHECK_EQ(t.cpu.r[R_CX], 0xffffffffffffff80ull);
    CHECK_EQ(t.cpu.r[R_DX], 0xaaaa007f);
    CHECK_EQ(t.cpu.r[R_SI], 0xfffe);
    CHECK_EQ(t.cpu.r[R_R8], 0xffffffff8000fffeull);
    CHECK_EQ(t.cpu.r[R_DI], 0xfffffffe);

    /* 63 without REX.W: a 32-bit move */
    static const uint8_t plain[] = { 0x63, 0xc3, 0xf4 }; /* movsxd eax, ebx */
    t.cpu.r[R_AX] = ~0ull;
    t.cpu.r[R_BX] = 0x80000000;
    RUN_OK(&t, plain);
    CHECK_EQ(t.cpu.r[R_AX], 0x80000000);
    th_destroy(&t);
}

TEST(data_lea)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* lea rax, [rbx+rcx*4+0x10]; lea edx, [rbx-1]; lea si, [rbx+rcx]; lea r9d, [ebx+ecx*8];
     * hlt */
    static const uint8_t code[] = {
        0x48, 0x8d, 0x44, 0x8b, 0x10, 0x8d, 0x53, 0xff, 0x66, 0x8d, 0x34, 0x0b, 0x67, 0x44,
        0x8d, 0x0c, 0xcb, 0xf4
    };
    t.cpu.r[R_BX] = 0x100000000ull;
    t.cpu.r[R_CX] = 0x20;
    t.cpu.r[R_SI] = 0x12345678;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x100000090ull);
    CHECK_EQ(t.cpu.r[R_DX], 0xffffffff);
    CHECK_EQ(t.cpu.r[R_SI], 0x12340020);
    CHECK_EQ(t.cpu.r[R_R9], 0x100); /* 32-bit address size drops bit 32 */
    static const uint8_t reg[] = { 0x8d, 0xc0, 0xf4 }; /* lea eax, eax */
    RUN_FAULT(&t, reg, EXC_UD);
    th_destroy(&t);
}

TEST(data_xchg_nop_pause)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* xchg [rdi], ecx; xchg al, bh; xchg r8, rax; hlt */
    static const uint8_t code[] = { 0x87, 0x0f, 0x86, 0xf8, 0x49, 0x90, 0xf4 };
    *(uint32_t *)th_mem(&t, TH_DATA) = 0x11111111;
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_CX] = 0xffffffff22222222ull;
    t.cpu.r[R_AX] = 0x33;
    t.cpu.r[R_BX] = 0x4400;
    t.cpu.r[R_R8] = 0x5555555555555555ull;
    RUN_OK(&t, code);
    CHECK_EQ(*(uint32_t *)th_mem(&t, TH_DATA), 0x22222222);
    CHECK_EQ(t.cpu.r[R_CX], 0x11111111);
    CHECK_EQ(t.cpu.r[R_BX], 0x3300);
    CHECK_EQ(t.cpu.r[R_R8], 0x44);
    CHECK_EQ(t.cpu.r[R_AX], 0x5555555555555555ull);

    /* 90 is NOP (RAX keeps its upper half); 87 C0 is a real 32-bit XCHG */
    static const uint8_t nop[] = { 0x90, 0xf3, 0x90, 0xf4 }; /* nop; pause */
    t.cpu.r[R_AX] = 0x1234567800000000ull;
    RUN_OK(&t, nop);
    CHECK_EQ(t.cpu.r[R_AX], 0x1234567800000000ull);
    static const uint8_t x[] = { 0x87, 0xc0, 0xf4 };
    RUN_OK(&t, x);
    CHECK_EQ(t.cpu.r[R_AX], 0);
    /* 41 90 is XCHG r8d, eax */
    static const uint8_t r8[] = { 0x41, 0x90, 0xf4 };
    t.cpu.r[R_AX] = 1;
    t.cpu.r[R_R8] = 0xffffffff00000002ull;
    RUN_OK(&t, r8);
    CHECK_EQ(t.cpu.r[R_AX], 2);
    CHECK_EQ(t.cpu.r[R_R8], 1);
    th_destroy(&t);
}

TEST(data_cmpxchg)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* lock cmpxchg [rdi], ecx; hlt */
    static const uint8_t code[] = { 0xf0, 0x0f, 0xb1, 0x0f, 0xf4 };
    uint32_t *m = th_mem(&t, TH_DATA);
    *m = 5;
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_AX] = 5;
    t.cpu.r[R_CX] = 9;
    RUN_OK(&t, code);
    CHECK_EQ(*m, 9);
    CHECK_EQ(th_arith(&t) & FL_ZF, FL_ZF);
    CHECK_EQ(t.cpu.r[R_AX], 5);
    /* failure: accumulator loaded with the memory value, memory kept */
    t.cpu.r[R_AX] = 0xffffffff00000005ull;
    RUN_OK(&t, code);
    CHECK_EQ(*m, 9);
    CHECK_EQ(t.cpu.r[R_AX], 9);
    CHECK_EQ(th_arith(&t) & (FL_ZF | FL_CF), FL_CF); /* flags of CMP 5, 9 */

    /* cmpxchg bl, dl; cmpxchg r10, r11; hlt */
    static const uint8_t reg[] = { 0x0f, 0xb0, 0xd3, 0x4d, 0x0f, 0xb1, 0xda, 0xf4 };
    t.cpu.r[R_AX] = 0x77;
    t.cpu.r[R_BX] = 0x177;
    t.cpu.r[R_DX] = 0x88;
    t.cpu.r[R_R10] = 1;
    t.cpu.r[R_R11] = 2;
    RUN_OK(&t, reg);
    CHECK_EQ(t.cpu.r[R_BX], 0x188); /* success (AL == BL) */
    CHECK_EQ(t.cpu.r[R_AX], 1);     /* failure (RAX != R10) */
    CHECK_EQ(t.cpu.r[R_R10], 1);
    CHECK_EQ(th_arith(&t) & FL_ZF, 0);
    th_destroy(&t);
}

TEST(data_cmpxchg8b_16b)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* cmpxchg8b qword ptr [rdi]; hlt */
    static const uint8_t c8[] = { 0x0f, 0xc7, 0x0f, 0xf4 };
    uint64_t *m = th_mem(&t, TH_DATA);
    m[0] = 0x1111111122222222ull;
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_DX] = 0x11111111;
    t.cpu.r[R_AX] = 0x22222222;
    t.cpu.r[R_CX] = 0x33333333;
    t.cpu.r[R_BX] = 0x44444444;
    RUN_OK(&t, c8);
    CHECK_EQ(m[0], 0x3333333344444444ull);
    CHECK_EQ(th_arith(&t) & FL_ZF, FL_ZF);
    t.cpu.r[R_AX] = 0xaaaaaaaa00000000ull;
    RUN_OK(&t, c8);
    CHECK_EQ(t.cpu.r[R_AX], 0x44444444);
    CHECK_EQ(t.cpu.r[R_DX], 0x33333333);
    CHECK_EQ(th_arith(&t) & FL_ZF, 0);

    /* lock cmpxchg16b xmmword ptr [rdi]; hlt */
    static const uint8_t c16[] = { 0xf0, 0x48, 0x0f, 0xc7, 0x0f, 0xf4 };
    m[2] = 1;
    m[3] = 2;
    t.cpu.r[R_DI] = TH_DATA + 16;
    t.cpu.r[R_AX] = 1;
    t.cpu.r[R_DX] = 2;
    t.cpu.r[R_BX] = 3;
    t.cpu.r[R_CX] = 4;
    RUN_OK(&t, c16);
    CHECK_EQ(m[2], 3);
    CHECK_EQ(m[3], 4);
    CHECK_EQ(th_arith(&t) & FL_ZF, FL_ZF);
    RUN_OK(&t, c16);
    CHECK_EQ(t.cpu.r[R_AX], 3);
    CHECK_EQ(t.cpu.r[R_DX], 4);
    CHECK_EQ(th_arith(&t) & FL_ZF, 0);

    /* misaligned operand: #GP(0) */
    t.cpu.r[R_DI] = TH_DATA + 8;
    RUN_FAULT(&t, c16, EXC_GP);
    CHECK_EQ(t.error, 0);
    /* register operand: no row, #UD */
    static const uint8_t reg[] = { 0x0f, 0xc7, 0xc8, 0xf4 };
    RUN_FAULT(&t, reg, EXC_UD);
    th_destroy(&t);
}

TEST(data_xadd)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* lock xadd [rdi], rax; xadd cl, dl; xadd ebx, ebx; hlt */
    static const uint8_t code[] = {
        0xf0, 0x48, 0x0f, 0xc1, 0x07, 0x0f, 0xc0, 0xd1, 0x0f, 0xc1, 0xdb, 0xf4
    };
    uint64_t *m = th_mem(&t, TH_DATA);
    *m = 10;
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_AX] = 5;
    t.cpu.r[R_CX] = 0xff;
    t.cpu.r[R_DX] = 0x01;
    t.cpu.r[R_BX] = 0x80000000;
    RUN_OK(&t, code);
    CHECK_EQ(*m, 15);
    CHECK_EQ(t.cpu.r[R_AX], 10);
    CHECK_EQ(t.cpu.r[R_CX], 0x00);
    CHECK_EQ(t.cpu.r[R_DX], 0xff);
    CHECK_EQ(t.cpu.r[R_BX], 0); /* destination (the sum) is written last */
    CHECK_EQ(th_arith(&t), FL_CF | FL_OF | FL_ZF | FL_PF);
    th_destroy(&t);
}

TEST(data_cmov_setcc)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* cmp eax, ebx; cmovl rcx, rdx; cmovg esi, edx; setb r8b; setge ah; hlt */
    static const uint8_t code[] = {
        0x39, 0xd8, 0x48, 0x0f, 0x4c, 0xca, 0x0f, 0x4f, 0xf2, 0x41, 0x0f, 0x92, 0xc0, 0x0f,
        0x9d, 0xc4, 0xf4
    };
    t.cpu.r[R_AX] = 0xffffffff; /* -1 */
    t.cpu.r[R_BX] = 1;
    t.cpu.r[R_CX] = 0;
    t.cpu.r[R_DX] = 0x1234567890ull;
    t.cpu.r[R_SI] = 0xffffffff00000007ull;
    t.cpu.r[R_R8] = 0xff00;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_CX], 0x1234567890ull);
    /* false 32-bit CMOV still zero-extends */
    CHECK_EQ(t.cpu.r[R_SI], 7);
    CHECK_EQ(t.cpu.r[R_R8], 0xff00); /* -1 below 1 unsigned? no */
    CHECK_EQ((t.cpu.r[R_AX] >> 8) & 0xff, 0);

    /* stc; setc byte ptr [rdi]; clc; setnc byte ptr [rdi+1]; setz byte ptr [rdi+2]; hlt */
    static const uint8_t mem[] = {
        0xf9, 0x0f, 0x92, 0x07, 0xf8, 0x0f, 0x93, 0x47, 0x01, 0x0f, 0x94, 0x47, 0x02, 0xf4
    };
    uint8_t *m = th_mem(&t, TH_DATA);
    memset(m, 0xcc, 3);
    t.cpu.r[R_DI] = TH_DATA;
    th_set_arith(&t, 0);
    RUN_OK(&t, mem);
    CHECK_EQ(m[0], 1);
    CHECK_EQ(m[1], 1);
    CHECK_EQ(m[2], 0);

    /* every condition against a fixed flag set: OF=1 SF=0 ZF=1 CF=0 PF=1 */
    uint8_t prog[16 * 4 + 1];
    for (int cc = 0; cc < 16; cc++) {
        prog[cc * 4] = 0x0f;
        prog[cc * 4 + 1] = (uint8_t)(0x90 + cc);
        prog[cc * 4 + 2] = 0x47; /* [rdi+cc] */
        prog[cc * 4 + 3] = (uint8_t)cc;
    }
    prog[64] = 0xf4;
    th_set_arith(&t, FL_OF | FL_ZF | FL_PF);
    RUN_OK(&t, prog);
    static const uint8_t expect[16] = { 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1, 0 };
    for (int cc = 0; cc < 16; cc++)
        CHECK_EQ(m[cc], expect[cc]);
    th_destroy(&t);
}

TEST(data_conversions)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* cbw; cwde; cdqe; cqo; hlt */
    static const uint8_t code[] = { 0x66, 0x98, 0x98, 0x48, 0x98, 0x48, 0x99, 0xf4 };
    t.cpu.r[R_AX] = 0x1234567800000080ull;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], ~0ull - 0x7f);
    CHECK_EQ(t.cpu.r[R_DX], ~0ull);

    /* cwd; cdq; hlt */
    static const uint8_t small[] = { 0x66, 0x99, 0x99, 0xf4 };
    t.cpu.r[R_AX] = 0x00008000;
    t.cpu.r[R_DX] = 0xaaaaaaaaaaaaaaaaull;
    RUN_OK(&t, small);
    CHECK_EQ(t.cpu.r[R_DX], 0); /* cwd: 0xffff, then cdq: EAX positive → 0 */
    th_destroy(&t);
}

TEST(data_flag_control)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* stc; cmc; lahf; mov bl, ah; mov ah, 0xd5; sahf; std; hlt */
    static const uint8_t code[] = { 0xf9, 0xf5, 0x9f, 0x88, 0xe3, 0xb4, 0xd5, 0x9e, 0xfd, 0xf4 };
    th_set_arith(&t, FL_ZF | FL_OF);
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_BX] & 0xff, 0x42); /* ZF, bit 1 */
    CHECK_EQ(th_arith(&t), FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF | FL_OF);
    CHECK(cpu_get_rflags(&t.cpu) & FL_DF);
    /* cld; clc; hlt */
    static const uint8_t cld[] = { 0xfc, 0xf8, 0xf4 };
    RUN_OK(&t, cld);
    CHECK(!(cpu_get_rflags(&t.cpu) & FL_DF));
    CHECK_EQ(th_arith(&t) & FL_CF, 0);
    th_destroy(&t);
}

TEST(data_xlat)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* xlatb; hlt */
    static const uint8_t code[] = { 0xd7, 0xf4 };
    uint8_t *m = th_mem(&t, TH_DATA);
    for (int i = 0; i < 256; i++)
        m[i] = (uint8_t)(255 - i);
    t.cpu.r[R_BX] = TH_DATA;
    t.cpu.r[R_AX] = 0x1203;
    RUN_OK(&t, code);
    CHECK_EQ(t.cpu.r[R_AX], 0x12fc);
    th_destroy(&t);

    th_init(&t, TH_REAL);
    /* xlatb; hlt */
    static const uint8_t real[] = { 0xd7, 0xf4 };
    *(uint8_t *)th_mem(&t, TH_DATA + 0x1005) = 0x42; /* DS base is TH_DATA */
    t.cpu.r[R_BX] = 0x10000 + 0x1000; /* only BX counts with 16-bit addresses */
    t.cpu.r[R_AX] = 5;
    RUN_OK(&t, real);
    CHECK_EQ(t.cpu.r[R_AX], 0x42);
    th_destroy(&t);
}

TEST(data_bcd)
{
    struct th t;
    th_init(&t, TH_PROT32);
    /* 0x38 + 0x45 = 0x7d → DAA → 0x83 */
    /* add al, bl; daa; hlt */
    static const uint8_t daa[] = { 0x00, 0xd8, 0x27, 0xf4 };
    t.cpu.r[R_AX] = 0x38;
    t.cpu.r[R_BX] = 0x45;
    RUN_OK(&t, daa);
    CHECK_EQ(t.cpu.r[R_AX], 0x83);
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_AF), FL_AF);
    /* 0x99 + 0x01 = 0x9a → 0x00 with CF */
    t.cpu.r[R_AX] = 0x99;
    t.cpu.r[R_BX] = 0x01;
    RUN_OK(&t, daa);
    CHECK_EQ(t.cpu.r[R_AX], 0x00);
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_ZF), FL_CF | FL_ZF);

    /* 0x42 - 0x15 = 0x2d → DAS → 0x27 */
    /* sub al, bl; das; hlt */
    static const uint8_t das[] = { 0x28, 0xd8, 0x2f, 0xf4 };
    t.cpu.r[R_AX] = 0x42;
    t.cpu.r[R_BX] = 0x15;
    RUN_OK(&t, das);
    CHECK_EQ(t.cpu.r[R_AX], 0x27);
    CHECK_EQ(th_arith(&t) & FL_CF, 0);

    /* unpacked: 9 + 5 = 14 → AAA → AH+1, AL = 4 */
    /* add al, bl; aaa; hlt */
    static const uint8_t aaa[] = { 0x00, 0xd8, 0x37, 0xf4 };
    t.cpu.r[R_AX] = 0x0009;
    t.cpu.r[R_BX] = 5;
    RUN_OK(&t, aaa);
    CHECK_EQ(t.cpu.r[R_AX], 0x0104);
    CHECK_EQ(th_arith(&t) & (FL_CF | FL_AF), FL_CF | FL_AF);

    /* 0x0103 - 5 → AAS → 0x0008 */
    /* sub al, bl; aas; hlt */
    static const uint8_t aas[] = { 0x28, 0xd8, 0x3f, 0xf4 };
    t.cpu.r[R_AX] = 0x0103;
    t.cpu.r[R_BX] = 5;
    RUN_OK(&t, aas);
    CHECK_EQ(t.cpu.r[R_AX], 0x0008);
    CHECK_EQ(th_arith(&t) & FL_CF, FL_CF);

    /* aam; aad 16; hlt */
    static const uint8_t aam[] = { 0xd4, 0x0a, 0xd5, 0x10, 0xf4 };
    t.cpu.r[R_AX] = 63; /* AAM: AH = 6, AL = 3; AAD 16: 6*16 + 3 = 99 */
    RUN_OK(&t, aam);
    CHECK_EQ(t.cpu.r[R_AX], 99);

    /* aam 0; hlt */
    static const uint8_t aam0[] = { 0xd4, 0x00, 0xf4 };
    RUN_FAULT(&t, aam0, EXC_DE);
    CHECK_EQ(t.cpu.r[R_AX], 99);

    /* salc (D6, outside 64-bit mode): AL = CF ? FF : 00, flags kept */
    static const uint8_t salc[] = { 0xf8, 0xd6, 0x88, 0xc3, 0xf9, 0xd6, 0xf4 }; /* clc; salc; mov bl, al; stc; salc */
    t.cpu.r[R_AX] = 0x12345678;
    RUN_OK(&t, salc);
    CHECK_EQ(t.cpu.r[R_BX] & 0xff, 0);
    CHECK_EQ(t.cpu.r[R_AX], 0x123456ff);
    CHECK(cpu_cf(&t.cpu));
    th_destroy(&t);

    /* all six are invalid in 64-bit mode */
    th_init(&t, TH_LONG64);
    static const uint8_t ops[] = { 0x27, 0x2f, 0x37, 0x3f, 0xd4, 0xd5 };
    for (unsigned i = 0; i < sizeof ops; i++) {
        uint8_t c[] = { ops[i], 0x0a, 0xf4 };
        RUN_FAULT(&t, c, EXC_UD);
    }
    th_destroy(&t);
}

TEST(data_nops_and_ud)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* multi-byte NOP, hint NOPs, PREFETCHW (no memory access: address unmapped) */
    static const uint8_t nops[] = { 0x0f, 0x1f, 0x44, 0x00, 0x00, 0x66, 0x0f, 0x1f, 0x84, 0x00,
                                    0x00, 0x00, 0x00, 0x00, 0x0f, 0x18, 0x07, 0x0f, 0x0d, 0x0f,
                                    0xf3, 0x0f, 0x1e, 0xfa, 0xf4 };
    t.cpu.r[R_AX] = 0x7000000000000000ull;
    t.cpu.r[R_DI] = 0x7000000000000000ull;
    RUN_OK(&t, nops);
    CHECK_EQ(t.cpu.rip, TH_CODE + sizeof nops);

    static const uint8_t ud2[] = { 0x0f, 0x0b, 0xf4 };
    RUN_FAULT(&t, ud2, EXC_UD);
    CHECK_EQ(t.cpu.rip, TH_CODE);
    static const uint8_t ud1[] = { 0x0f, 0xb9, 0xc0, 0xf4 };
    RUN_FAULT(&t, ud1, EXC_UD);
    static const uint8_t ud0[] = { 0x0f, 0xff, 0xc0, 0xf4 };
    RUN_FAULT(&t, ud0, EXC_UD);
    static const uint8_t salc[] = { 0xd6, 0xf4 };
    RUN_FAULT(&t, salc, EXC_UD);
    th_destroy(&t);
}

TEST(data_modes_32_16)
{
    struct th t;
    th_init(&t, TH_PROT32);
    /* mov eax, [0x20000]; xchg eax, ebx; cmpxchg8b qword ptr [edi]; hlt */
    static const uint8_t code[] = { 0xa1, 0x00, 0x00, 0x02, 0x00, 0x93, 0x0f, 0xc7, 0x0f, 0xf4 };
    uint32_t *m = th_mem(&t, TH_DATA);
    m[0] = 0xabcd;
    m[1] = 0;
    t.cpu.r[R_DI] = TH_DATA;
    t.cpu.r[R_BX] = 0xabcd; /* after XCHG: EAX = 0xabcd, EBX = 0xabcd */
    t.cpu.r[R_DX] = 0;
    t.cpu.r[R_CX] = 7;
    RUN_OK(&t, code);
    CHECK_EQ(m[0], 0xabcd);
    CHECK_EQ(m[1], 7);
    th_destroy(&t);

    th_init(&t, TH_REAL);
    /* mov ax, [bx+si]; movzx ecx, byte ptr [bx+di+1]; lea dx, [bp+si-2]; hlt */
    static const uint8_t real[] = {
        0x8b, 0x00, 0x66, 0x0f, 0xb6, 0x49, 0x01, 0x8d, 0x52, 0xfe, 0xf4
    };
    uint8_t *p = th_mem(&t, TH_DATA + 0x3000);
    p[0] = 0x34;
    p[1] = 0x12;
    p[5] = 0x99;
    t.cpu.r[R_BX] = 0x3000;
    t.cpu.r[R_SI] = 0;
    t.cpu.r[R_DI] = 4;
    t.cpu.r[R_BP] = 0x100;
    t.cpu.r[R_DX] = 0;
    RUN_OK(&t, real);
    CHECK_EQ(t.cpu.r[R_AX], 0x1234);
    CHECK_EQ(t.cpu.r[R_CX], 0x99);
    CHECK_EQ(t.cpu.r[R_DX], 0xfe);
    th_destroy(&t);
}
