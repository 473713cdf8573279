/*
 * test_branch.c — near branches on the engine: Jcc for every condition,
 * JMP/CALL/RET in their relative and indirect forms, RET imm16, LOOPcc and
 * JrCXZ with address-size prefixes, target truncation and the CS-limit and
 * canonical-address #GP(0) checks (taken on the branch itself).
 */
#include "cpu_harness.h"
#include "test.h"

static void run_to_hlt(struct th *t, const void *code, size_t n)
{
    CHECK_EQ(th_run(t, code, n), TH_HALT);
}

static uint64_t rd64(struct th *t, uint64_t gpa)
{
    uint64_t v;
    memcpy(&v, th_mem(t, gpa), 8);
    return v;
}

static uint16_t rd16(struct th *t, uint64_t gpa)
{
    uint16_t v;
    memcpy(&v, th_mem(t, gpa), 2);
    return v;
}

/* Reference condition evaluation (SDM Vol.1 Table B-1). */
static bool cc_ref(unsigned cc, uint32_t f)
{
    bool cf = f & FL_CF, pf = f & FL_PF, zf = f & FL_ZF, sf = f & FL_SF, of = f & FL_OF;
    bool r;
    switch (cc >> 1) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = pf; break;
    case 6: r = sf != of; break;
    default: r = zf || sf != of; break;
    }
    return (cc & 1) ? !r : r;
}

/* push imm32 (flags); popf; jcc over "mov eax, 1"; hlt — in both encodings. */
TEST(branch_jcc_every_condition)
{
    static const uint32_t bit[5] = { FL_CF, FL_PF, FL_ZF, FL_SF, FL_OF };
    struct th t;
    th_init(&t, TH_LONG64);
    for (unsigned cc = 0; cc < 16; cc++) {
        for (unsigned m = 0; m < 32; m++) {
            uint32_t f = 2;
            for (unsigned b = 0; b < 5; b++)
                if (m & (1u << b))
                    f |= bit[b];
            uint8_t c8[] = { 0x68, (uint8_t)f, (uint8_t)(f >> 8), 0, 0, 0x9d,
                             (uint8_t)(0x70 + cc), 0x05, 0xb8, 1, 0, 0, 0, 0xf4 };
            uint8_t c32[] = { 0x68, (uint8_t)f, (uint8_t)(f >> 8), 0, 0, 0x9d,
                              0x0f, (uint8_t)(0x80 + cc), 5, 0, 0, 0, 0xb8, 1, 0, 0, 0, 0xf4 };
            uint64_t want = (cc_ref(cc, f) ? 0 : 1) | cc << 8 | m << 16;
            t.cpu.r[R_AX] = 0;
            t.cpu.r[R_SP] = TH_STACK;
            run_to_hlt(&t, c8, sizeof c8);
            CHECK_EQ(t.cpu.r[R_AX] | cc << 8 | m << 16, want);
            t.cpu.r[R_AX] = 0;
            t.cpu.r[R_SP] = TH_STACK;
            run_to_hlt(&t, c32, sizeof c32);
            CHECK_EQ(t.cpu.r[R_AX] | cc << 8 | m << 16, want);
        }
    }
    th_destroy(&t);
}

TEST(branch_jmp_forward_backward)
{
    static const uint8_t code[] = {
        0xeb, 0x05,                   /* 0: jmp 7 */
        0xb8, 0x01, 0x00, 0x00, 0x00, /* 2: mov eax, 1 (skipped) */
        0xe9, 0x05, 0x00, 0x00, 0x00, /* 7: jmp 17 */
        0xbb, 0x01, 0x00, 0x00, 0x00, /* 12: mov ebx, 1 (skipped) */
        0xff, 0xc1,                   /* 17: inc ecx */
        0x83, 0xf9, 0x05,             /* 19: cmp ecx, 5 */
        0x75, 0xf9,                   /* 22: jne 17 */
        0x66, 0xe9, 0x05, 0x00, 0x00, 0x00, /* 24: jmp 35 (66 ignored: rel32) */
        0xba, 0x01, 0x00, 0x00, 0x00, /* 30: mov edx, 1 (skipped) */
        0xf4,                         /* 35: hlt */
    };
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.r[R_DX] = 0;
    run_to_hlt(&t, code, sizeof code);
    CHECK_EQ(t.cpu.r[R_AX], 0);
    CHECK_EQ(t.cpu.r[R_BX], 0);
    CHECK_EQ(t.cpu.r[R_CX], 5);
    CHECK_EQ(t.cpu.r[R_DX], 0);
    CHECK_EQ(t.cpu.rip, TH_CODE + 36);
    th_destroy(&t);
}

TEST(branch_call_ret_round_trip)
{
    static const uint8_t code[] = {
        0xe8, 0x06, 0x00, 0x00, 0x00, /* 0: call 11 */
        0xbb, 0x07, 0x00, 0x00, 0x00, /* 5: mov ebx, 7 */
        0xf4,                         /* 10: hlt */
        0xb8, 0x2a, 0x00, 0x00, 0x00, /* 11: mov eax, 42 */
        0x48, 0x8b, 0x0c, 0x24,       /* 16: mov rcx, [rsp] */
        0xc3,                         /* 20: ret */
    };
    struct th t;
    th_init(&t, TH_LONG64);
    run_to_hlt(&t, code, sizeof code);
    CHECK_EQ(t.cpu.r[R_AX], 42);
    CHECK_EQ(t.cpu.r[R_BX], 7);
    CHECK_EQ(t.cpu.r[R_CX], TH_CODE + 5);
    CHECK_EQ(t.cpu.r[R_SP], TH_STACK);
    CHECK_EQ(rd64(&t, TH_STACK - 8), TH_CODE + 5);
    th_destroy(&t);
}

TEST(branch_ret_imm16)
{
    static const uint8_t code[] = {
        0xe8, 0x01, 0x00, 0x00, 0x00, /* 0: call 6 */
        0xf4,                         /* 5: hlt */
        0xc2, 0x10, 0x00,             /* 6: ret 0x10 */
    };
    struct th t;
    th_init(&t, TH_LONG64);
    run_to_hlt(&t, code, sizeof code);
    CHECK_EQ(t.cpu.r[R_SP], TH_STACK + 0x10);
    CHECK_EQ(t.cpu.rip, TH_CODE + 6);
    th_destroy(&t);
}

TEST(branch_indirect_call_jmp)
{
    static const uint8_t code[] = {
        0xff, 0xd0,                                     /* 0: call rax */
        0xff, 0x14, 0x25, 0x00, 0x00, 0x02, 0x00,       /* 2: call [TH_DATA] */
        0xff, 0x24, 0x25, 0x08, 0x00, 0x02, 0x00,       /* 9: jmp [TH_DATA+8] */
        0xf4,                                           /* 16: hlt (not reached) */
    };
    static const uint8_t sub1[] = { 0xbb, 0x05, 0x00, 0x00, 0x00, 0xc3 }; /* mov ebx,5; ret */
    static const uint8_t sub2[] = { 0xb9, 0x06, 0x00, 0x00, 0x00, 0xc3 }; /* mov ecx,6; ret */
    struct th t;
    th_init(&t, TH_LONG64);
    uint8_t *c = th_mem(&t, TH_CODE);
    memcpy(c + 0x20, sub1, sizeof sub1);
    memcpy(c + 0x30, sub2, sizeof sub2);
    c[0x40] = 0xf4;
    uint64_t p[2] = { TH_CODE + 0x30, TH_CODE + 0x40 };
    memcpy(th_mem(&t, TH_DATA), p, sizeof p);
    t.cpu.r[R_AX] = TH_CODE + 0x20;
    run_to_hlt(&t, code, sizeof code);
    CHECK_EQ(t.cpu.r[R_BX], 5);
    CHECK_EQ(t.cpu.r[R_CX], 6);
    CHECK_EQ(t.cpu.r[R_SP], TH_STACK);
    CHECK_EQ(t.cpu.rip, TH_CODE + 0x41);
    th_destroy(&t);
}

/* A non-canonical target faults on the branch: RIP and RSP unchanged. */
TEST(branch_noncanonical_target_gp)
{
    static const uint8_t jmp[] = { 0xff, 0xe0 };  /* jmp rax */
    static const uint8_t call[] = { 0xff, 0xd0 }; /* call rax */
    static const uint8_t ret[] = { 0xc3 };
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.r[R_AX] = 0x0000800000000000ull;
    CHECK_EQ(th_run(&t, jmp, sizeof jmp), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0);
    CHECK_EQ(t.cpu.rip, TH_CODE);

    uint64_t marker = 0x1111111111111111ull;
    memcpy(th_mem(&t, TH_STACK - 8), &marker, 8);
    CHECK_EQ(th_run(&t, call, sizeof call), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.cpu.rip, TH_CODE);
    CHECK_EQ(t.cpu.r[R_SP], TH_STACK);
    CHECK_EQ(rd64(&t, TH_STACK - 8), marker); /* nothing pushed */

    uint64_t bad = 0xffff7fffffff0000ull;
    t.cpu.r[R_SP] = TH_STACK - 8;
    memcpy(th_mem(&t, TH_STACK - 8), &bad, 8);
    CHECK_EQ(th_run(&t, ret, sizeof ret), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.cpu.r[R_SP], TH_STACK - 8);
    th_destroy(&t);
}

/* 32-bit code: targets beyond CS.limit fault; 66-prefixed branches truncate
 * the target to 16 bits and push a 16-bit return address. */
TEST(branch_prot32_limit_and_truncation)
{
    static const uint8_t jmp_eax[] = { 0xff, 0xe0 };
    static const uint8_t jmp16[] = { 0x66, 0xe9, 0xfc, 0x00 };  /* 0x10004+0xfc → 0x0100 */
    static const uint8_t call16[] = { 0x66, 0xe8, 0xfc, 0x00 }; /* same, pushes 0x0004 */
    struct th t;
    th_init(&t, TH_PROT32);
    struct seg cs = t.cpu.seg[SEG_CS];
    cpu_set_seg(&t.cpu, SEG_CS, cs.sel, 0, 0x1ffff, cs.ar);
    t.cpu.r[R_AX] = 0x20000;
    CHECK_EQ(th_run(&t, jmp_eax, sizeof jmp_eax), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0);
    CHECK_EQ(t.cpu.rip, TH_CODE);
    t.cpu.r[R_AX] = 0x1fff0;
    *(uint8_t *)th_mem(&t, 0x1fff0) = 0xf4;
    run_to_hlt(&t, jmp_eax, sizeof jmp_eax);
    CHECK_EQ(t.cpu.rip, 0x1fff1);

    *(uint8_t *)th_mem(&t, 0x100) = 0xf4;
    run_to_hlt(&t, jmp16, sizeof jmp16);
    CHECK_EQ(t.cpu.rip, 0x101);
    CHECK_EQ(t.cpu.r[R_SP], TH_STACK);
    run_to_hlt(&t, call16, sizeof call16);
    CHECK_EQ(t.cpu.rip, 0x101);
    CHECK_EQ(t.cpu.r[R_SP], TH_STACK - 2);
    CHECK_EQ(rd16(&t, TH_STACK - 2), 0x0004);
    th_destroy(&t);
}

/* Real mode: IP arithmetic wraps at 64 KiB in both directions. */
TEST(branch_real_mode_ip_wrap)
{
    struct th t;
    th_init(&t, TH_REAL);
    cpu_set_seg(&t.cpu, SEG_CS, 0x1000, 0x10000, 0xffff, 0x9b);
    cpu_set_seg(&t.cpu, SEG_SS, 0, 0, 0xffff, 0x93);
    uint8_t *base = th_mem(&t, 0x10000);
    static const uint8_t at0[] = { 0xe9, 0xed, 0xff };    /* jmp → (3 - 0x13) & 0xffff = 0xfff0 */
    static const uint8_t atf0[] = { 0xe8, 0x10, 0x00 };  /* call → (0xfff3 + 0x10) & 0xffff = 3 */
    memcpy(base, at0, sizeof at0);
    base[3] = 0xf4;
    memcpy(base + 0xfff0, atf0, sizeof atf0);
    bus_note_dma(&t.bus, 0x10000, 0x10000);
    t.cpu.rip = 0;
    t.cpu.r[R_SP] = 0x8000;
    CHECK_EQ(th_run_steps(&t, NULL, 0, 100), TH_HALT);
    CHECK_EQ(t.cpu.rip, 4);
    CHECK_EQ(t.cpu.r[R_SP], 0x7ffe);
    CHECK_EQ(rd16(&t, 0x7ffe), 0xfff3);
    th_destroy(&t);
}

TEST(branch_loop_counter_is_address_size)
{
    static const uint8_t loop64[] = { 0xff, 0xc0, 0xe2, 0xfc, 0xf4 };       /* inc eax; loop */
    static const uint8_t loop32[] = { 0xff, 0xc0, 0x67, 0xe2, 0xfb, 0xf4 }; /* 67: ECX */
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.r[R_CX] = 5;
    run_to_hlt(&t, loop64, sizeof loop64);
    CHECK_EQ(t.cpu.r[R_AX], 5);
    CHECK_EQ(t.cpu.r[R_CX], 0);

    t.cpu.r[R_AX] = 0;
    t.cpu.r[R_CX] = 0x100000003ull;
    run_to_hlt(&t, loop32, sizeof loop32);
    CHECK_EQ(t.cpu.r[R_AX], 3);
    CHECK_EQ(t.cpu.r[R_CX], 0); /* ECX written: upper half zeroed */

    /* 32-bit code, 67 → CX: the upper half of ECX is kept */
    struct th t2;
    th_init(&t2, TH_PROT32);
    t2.cpu.r[R_CX] = 0x10003;
    run_to_hlt(&t2, loop32, sizeof loop32);
    CHECK_EQ(t2.cpu.r[R_AX], 3);
    CHECK_EQ(t2.cpu.r[R_CX], 0x10000);
    th_destroy(&t2);
    th_destroy(&t);
}

TEST(branch_jrcxz_jecxz)
{
    static const uint8_t code[] = {
        0xe3, 0x05,                   /* 0: jrcxz 7 (RCX != 0: not taken) */
        0xb8, 0x01, 0x00, 0x00, 0x00, /* 2: mov eax, 1 */
        0x67, 0xe3, 0x05,             /* 7: jecxz 15 (ECX == 0: taken) */
        0xbb, 0x01, 0x00, 0x00, 0x00, /* 10: mov ebx, 1 (skipped) */
        0xf4,                         /* 15: hlt */
    };
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.r[R_CX] = 0x100000000ull;
    run_to_hlt(&t, code, sizeof code);
    CHECK_EQ(t.cpu.r[R_AX], 1);
    CHECK_EQ(t.cpu.r[R_BX], 0);
    CHECK_EQ(t.cpu.r[R_CX], 0x100000000ull); /* JrCXZ does not decrement */
    th_destroy(&t);
}

TEST(branch_loope_loopne)
{
    /* inc eax; cmp eax, 3; loopcc 0; hlt */
    static const uint8_t loope[] = { 0xff, 0xc0, 0x83, 0xf8, 0x03, 0xe1, 0xf9, 0xf4 };
    static const uint8_t loopne[] = { 0xff, 0xc0, 0x83, 0xf8, 0x03, 0xe0, 0xf9, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.r[R_CX] = 10;
    run_to_hlt(&t, loope, sizeof loope); /* ZF=0 after the first compare */
    CHECK_EQ(t.cpu.r[R_AX], 1);
    CHECK_EQ(t.cpu.r[R_CX], 9);
    t.cpu.r[R_AX] = 0;
    t.cpu.r[R_CX] = 10;
    run_to_hlt(&t, loopne, sizeof loopne); /* runs until eax == 3 */
    CHECK_EQ(t.cpu.r[R_AX], 3);
    CHECK_EQ(t.cpu.r[R_CX], 7);
    t.cpu.r[R_AX] = 0;
    t.cpu.r[R_CX] = 2;
    run_to_hlt(&t, loopne, sizeof loopne); /* the counter runs out first */
    CHECK_EQ(t.cpu.r[R_AX], 2);
    CHECK_EQ(t.cpu.r[R_CX], 0);
    th_destroy(&t);
}
