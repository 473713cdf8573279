/*
 * test_stack.c — PUSH/POP in every operand size, PUSH imm, PUSH/POP Ev with
 * rSP-relative addressing, PUSHF/POPF privilege rules, ENTER/LEAVE with
 * nesting levels, PUSHA/POPA.
 */
#include "cpu_harness.h"
#include "test.h"

#define S TH_STACK

static void stk_run(struct th *t, const void *code, size_t n)
{
    CHECK_EQ(th_run(t, code, n), TH_HALT);
}

static uint64_t stk_rd(struct th *t, uint64_t gpa, unsigned size)
{
    uint64_t v = 0;
    memcpy(&v, th_mem(t, gpa), size);
    return v;
}

static void stk_wr(struct th *t, uint64_t gpa, unsigned size, uint64_t v)
{
    memcpy(th_mem(t, gpa), &v, size);
}

TEST(stack_push_pop_64)
{
    static const uint8_t code[] = {
        0x50,       /* push rax */
        0x5b,       /* pop rbx */
        0x41, 0x50, /* push r8 */
        0x41, 0x59, /* pop r9 */
        0x66, 0x50, /* push ax */
        0x66, 0x5e, /* pop si */
        0xf4,
    };
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.r[R_AX] = 0x1122334455667788ull;
    t.cpu.r[R_R8] = 0x99aabbccddeeff00ull;
    t.cpu.r[R_SI] = 0xaaaaaaaaaaaaaaaaull;
    stk_run(&t, code, sizeof code);
    CHECK_EQ(t.cpu.r[R_BX], 0x1122334455667788ull);
    CHECK_EQ(t.cpu.r[R_R9], 0x99aabbccddeeff00ull);
    CHECK_EQ(t.cpu.r[R_SI], 0xaaaaaaaaaaaa7788ull);
    CHECK_EQ(t.cpu.r[R_SP], S);
    /* r8's slot, its top word then overwritten by "push ax" */
    CHECK_EQ(stk_rd(&t, S - 8, 8), 0x7788bbccddeeff00ull);
    CHECK_EQ(stk_rd(&t, S - 2, 2), 0x7788);

    static const uint8_t push16[] = { 0x66, 0x50, 0xf4 };
    stk_run(&t, push16, sizeof push16);
    CHECK_EQ(t.cpu.r[R_SP], S - 2);
    th_destroy(&t);
}

TEST(stack_push_pop_32_and_16)
{
    static const uint8_t code[] = { 0x50, 0x66, 0x53, 0xf4 }; /* push eax; push bx */
    static const uint8_t pops[] = { 0x66, 0x59, 0x5a, 0xf4 }; /* pop cx; pop edx */
    struct th t;
    th_init(&t, TH_PROT32);
    t.cpu.r[R_AX] = 0x11223344;
    t.cpu.r[R_BX] = 0x5566;
    t.cpu.r[R_CX] = 0xffff0000;
    stk_run(&t, code, sizeof code);
    CHECK_EQ(t.cpu.r[R_SP], S - 6);
    CHECK_EQ(stk_rd(&t, S - 4, 4), 0x11223344);
    CHECK_EQ(stk_rd(&t, S - 6, 2), 0x5566);
    stk_run(&t, pops, sizeof pops);
    CHECK_EQ(t.cpu.r[R_CX], 0xffff5566);
    CHECK_EQ(t.cpu.r[R_DX], 0x11223344);
    CHECK_EQ(t.cpu.r[R_SP], S);
    th_destroy(&t);

    /* Real mode: 16-bit operands, SP wraps at 64 KiB. */
    static const uint8_t rm[] = { 0x50, 0x66, 0x53, 0xf4 }; /* push ax; push ebx */
    th_init(&t, TH_REAL);
    cpu_set_seg(&t.cpu, SEG_CS, 0x1000, 0x10000, 0xffff, 0x9b);
    cpu_set_seg(&t.cpu, SEG_SS, 0, 0, 0xffff, 0x93);
    memcpy(th_mem(&t, 0x10000), rm, sizeof rm);
    bus_note_dma(&t.bus, 0x10000, sizeof rm);
    t.cpu.rip = 0;
    t.cpu.r[R_SP] = 0x0002;
    t.cpu.r[R_AX] = 0xbeef;
    t.cpu.r[R_BX] = 0xcafef00d;
    CHECK_EQ(th_run_steps(&t, NULL, 0, 100), TH_HALT);
    CHECK_EQ(t.cpu.r[R_SP], 0xfffc);
    CHECK_EQ(stk_rd(&t, 0x0000, 2), 0xbeef);
    CHECK_EQ(stk_rd(&t, 0xfffc, 4), 0xcafef00d);
    th_destroy(&t);
}

TEST(stack_push_imm)
{
    static const uint8_t code[] = {
        0x6a, 0xff,                   /* push -1 */
        0x68, 0x78, 0x56, 0x34, 0x12, /* push 0x12345678 */
        0x68, 0x00, 0x00, 0x00, 0x80, /* push 0xffffffff80000000 */
        0x66, 0x6a, 0x80,             /* push word 0xff80 */
        0x66, 0x68, 0x34, 0x12,       /* push word 0x1234 */
        0xf4,
    };
    struct th t;
    th_init(&t, TH_LONG64);
    stk_run(&t, code, sizeof code);
    CHECK_EQ(t.cpu.r[R_SP], S - 28);
    CHECK_EQ(stk_rd(&t, S - 8, 8), ~0ull);
    CHECK_EQ(stk_rd(&t, S - 16, 8), 0x12345678);
    CHECK_EQ(stk_rd(&t, S - 24, 8), 0xffffffff80000000ull);
    CHECK_EQ(stk_rd(&t, S - 26, 2), 0xff80);
    CHECK_EQ(stk_rd(&t, S - 28, 2), 0x1234);
    th_destroy(&t);
}

/* POP [rsp+8] addresses with the incremented RSP; PUSH [rsp] reads with the
 * old one; POP RSP loads the popped value; PUSH RSP stores the old value. */
TEST(stack_rsp_relative_operands)
{
    static const uint8_t popm[] = { 0x8f, 0x44, 0x24, 0x08, 0xf4 }; /* pop qword [rsp+8] */
    static const uint8_t pushm[] = { 0xff, 0x34, 0x24, 0xf4 };      /* push qword [rsp] */
    static const uint8_t poprsp[] = { 0x5c, 0xf4 };                 /* pop rsp */
    static const uint8_t pushrsp[] = { 0x54, 0xf4 };                /* push rsp */
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.r[R_SP] = S - 24;
    stk_wr(&t, S - 24, 8, 0xabcdef0123456789ull);
    stk_wr(&t, S - 16, 8, 0);
    stk_wr(&t, S - 8, 8, 0);
    stk_run(&t, popm, sizeof popm);
    CHECK_EQ(t.cpu.r[R_SP], S - 16);
    CHECK_EQ(stk_rd(&t, S - 8, 8), 0xabcdef0123456789ull);
    CHECK_EQ(stk_rd(&t, S - 16, 8), 0);

    stk_wr(&t, S - 16, 8, 0x5555);
    stk_run(&t, pushm, sizeof pushm);
    CHECK_EQ(t.cpu.r[R_SP], S - 24);
    CHECK_EQ(stk_rd(&t, S - 24, 8), 0x5555);

    t.cpu.r[R_SP] = S - 8;
    stk_wr(&t, S - 8, 8, 0x40000);
    stk_run(&t, poprsp, sizeof poprsp);
    CHECK_EQ(t.cpu.r[R_SP], 0x40000);

    t.cpu.r[R_SP] = S;
    stk_run(&t, pushrsp, sizeof pushrsp);
    CHECK_EQ(stk_rd(&t, S - 8, 8), S);
    CHECK_EQ(t.cpu.r[R_SP], S - 8);

    /* POP to a register */
    static const uint8_t popr[] = { 0x8f, 0xc1, 0xf4 }; /* pop rcx (8F /0, mod=3) */
    stk_run(&t, popr, sizeof popr);
    CHECK_EQ(t.cpu.r[R_CX], S);
    CHECK_EQ(t.cpu.r[R_SP], S);
    th_destroy(&t);
}

/* 64-bit mode: a non-canonical address is #SS(0) for SS references (RSP/RBP
 * base, PUSH with a bad RSP) and #GP(0) for the others (SDM Vol.3 3.3.7.1). */
TEST(stack_noncanonical_ss_vs_gp)
{
    static const uint8_t or_rsp[] = { 0x48, 0x83, 0x0c, 0x0c, 0x00, 0xf4 }; /* or qword [rsp+rcx], 0 */
    static const uint8_t or_rbp[] = { 0x48, 0x83, 0x4c, 0x0d, 0x00, 0x00, 0xf4 }; /* [rbp+rcx] */
    static const uint8_t or_rax[] = { 0x48, 0x83, 0x0c, 0x08, 0x00, 0xf4 }; /* [rax+rcx] */
    static const uint8_t push[] = { 0x50, 0xf4 };                            /* push rax */
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.r[R_CX] = 0x8000000000000000ull;
    t.cpu.r[R_BP] = 0x1000;
    t.cpu.r[R_AX] = 0x1000;
    CHECK_EQ(th_run(&t, or_rsp, sizeof or_rsp), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_SS);
    CHECK_EQ(t.error, 0);
    CHECK_EQ(th_run(&t, or_rbp, sizeof or_rbp), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_SS);
    CHECK_EQ(th_run(&t, or_rax, sizeof or_rax), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    t.cpu.r[R_SP] = 0x0000800000000008ull;
    CHECK_EQ(th_run(&t, push, sizeof push), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_SS);
    CHECK_EQ(t.cpu.r[R_SP], 0x0000800000000008ull);
    th_destroy(&t);
}

#define POPF_CHANGEABLE (FL_ARITH | FL_IF | FL_DF | FL_IOPL | FL_NT | FL_AC | FL_ID)

TEST(stack_pushf_popf_ring0)
{
    static const uint8_t code[] = {
        0x68, 0xff, 0xfe, 0xff, 0xff, /* push 0xfffffffffffffeff (all but TF) */
        0x9d,                         /* popf */
        0x9c,                         /* pushf */
        0x58,                         /* pop rax */
        0x66, 0x68, 0x00, 0x00,       /* push word 0 */
        0x66, 0x9d,                   /* popf (16-bit) */
        0x9c, 0x5b,                   /* pushf; pop rbx */
        0x6a, 0x00, 0x9d,             /* push 0; popf */
        0x9c, 0x59,                   /* pushf; pop rcx */
        0xf4,
    };
    struct th t;
    th_init(&t, TH_LONG64);
    stk_run(&t, code, sizeof code);
    CHECK_EQ(t.cpu.r[R_AX], POPF_CHANGEABLE | 2);
    /* 16-bit POPF: only bits 15:0; AC and ID stay set */
    CHECK_EQ(t.cpu.r[R_BX], FL_AC | FL_ID | 2);
    CHECK_EQ(t.cpu.r[R_CX], 2);
    CHECK_EQ(cpu_get_rflags(&t.cpu), 2);
    CHECK_EQ(t.cpu.r[R_SP], S);
    th_destroy(&t);
}

/* CPL 3: IF changes only when CPL <= IOPL, IOPL never. */
TEST(stack_popf_ring3)
{
    static const uint8_t code[] = {
        0x68, 0xd5, 0x3e, 0x00, 0x00, /* push IOPL=3|IF|DF|OF|arith */
        0x9d, 0x9c, 0x58, 0xf4,       /* popf; pushf; pop rax; hlt */
    };
    static const uint8_t clear[] = { 0x6a, 0x00, 0x9d, 0x9c, 0x58, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    cpu_set_seg(&t.cpu, SEG_SS, 0x23, 0, 0xffffffff, 0xc0f3);
    cpu_set_seg(&t.cpu, SEG_CS, 0x2b, 0, 0xffffffff, 0xa0fb);
    CHECK_EQ(t.cpu.cpl, 3);
    /* th_run stops at HLT only at CPL 0; at CPL 3 HLT raises #GP(0). */
    enum th_result r = th_run(&t, code, sizeof code);
    CHECK(r == TH_EXCEPTION && t.vector == EXC_GP);
    CHECK_EQ(t.cpu.r[R_AX], FL_ARITH | FL_DF | 2);

    t.cpu.r[R_SP] = S;
    t.cpu.rflags |= FL_IOPL | FL_IF; /* now CPL <= IOPL: IF may change */
    r = th_run(&t, clear, sizeof clear);
    CHECK(r == TH_EXCEPTION && t.vector == EXC_GP);
    CHECK_EQ(t.cpu.r[R_AX], FL_IOPL | 2);
    th_destroy(&t);
}

/* 64-bit ENTER with nesting levels 0, 1, 3 and 33 (= 1 mod 32), then LEAVE. */
TEST(stack_enter_leave_64)
{
    static const uint8_t enter0[] = { 0xc8, 0x20, 0x00, 0x00, 0xf4 };
    static const uint8_t enter1[] = { 0xc8, 0x20, 0x00, 0x01, 0xf4 };
    static const uint8_t enter3[] = { 0xc8, 0x20, 0x00, 0x03, 0xf4 };
    static const uint8_t enter33[] = { 0xc8, 0x20, 0x00, 0x21, 0xf4 };
    static const uint8_t leave[] = { 0xc9, 0xf4 };
    const uint64_t b0 = S - 0x100; /* enclosing frame */
    struct th t;
    th_init(&t, TH_LONG64);
    stk_wr(&t, b0 - 8, 8, 0x1111);
    stk_wr(&t, b0 - 16, 8, 0x2222);

    t.cpu.r[R_BP] = b0;
    stk_run(&t, enter0, sizeof enter0);
    CHECK_EQ(t.cpu.r[R_BP], S - 8);
    CHECK_EQ(t.cpu.r[R_SP], S - 8 - 0x20);
    CHECK_EQ(stk_rd(&t, S - 8, 8), b0);
    stk_run(&t, leave, sizeof leave);
    CHECK_EQ(t.cpu.r[R_SP], S);
    CHECK_EQ(t.cpu.r[R_BP], b0);

    stk_run(&t, enter1, sizeof enter1);
    CHECK_EQ(t.cpu.r[R_BP], S - 8);
    CHECK_EQ(t.cpu.r[R_SP], S - 16 - 0x20);
    CHECK_EQ(stk_rd(&t, S - 16, 8), S - 8);
    stk_run(&t, leave, sizeof leave);
    CHECK_EQ(t.cpu.r[R_SP], S);
    CHECK_EQ(t.cpu.r[R_BP], b0);

    stk_run(&t, enter3, sizeof enter3);
    CHECK_EQ(t.cpu.r[R_BP], S - 8);
    CHECK_EQ(t.cpu.r[R_SP], S - 32 - 0x20);
    CHECK_EQ(stk_rd(&t, S - 8, 8), b0);
    CHECK_EQ(stk_rd(&t, S - 16, 8), 0x1111);
    CHECK_EQ(stk_rd(&t, S - 24, 8), 0x2222);
    CHECK_EQ(stk_rd(&t, S - 32, 8), S - 8);
    stk_run(&t, leave, sizeof leave);
    CHECK_EQ(t.cpu.r[R_SP], S);
    CHECK_EQ(t.cpu.r[R_BP], b0);

    stk_run(&t, enter33, sizeof enter33);
    CHECK_EQ(t.cpu.r[R_SP], S - 16 - 0x20);
    th_destroy(&t);
}

/* 32-bit ENTER level 2 with 16-bit operands (66): words on the stack. */
TEST(stack_enter_prot32_word)
{
    static const uint8_t code[] = { 0x66, 0xc8, 0x10, 0x00, 0x02, 0xf4 };
    struct th t;
    th_init(&t, TH_PROT32);
    t.cpu.r[R_BP] = 0x7000;
    stk_wr(&t, 0x7000 - 2, 2, 0x4444);
    stk_run(&t, code, sizeof code);
    CHECK_EQ(stk_rd(&t, S - 2, 2), 0x7000);
    CHECK_EQ(stk_rd(&t, S - 4, 2), 0x4444);
    CHECK_EQ(stk_rd(&t, S - 6, 2), (S - 2) & 0xffff);
    CHECK_EQ(t.cpu.r[R_BP], (S - 2) & 0xffff); /* BP written, upper EBP bits were 0 */
    CHECK_EQ(t.cpu.r[R_SP], S - 6 - 0x10);
    th_destroy(&t);
}

TEST(stack_pusha_popa)
{
    static const uint8_t pusha[] = { 0x60, 0xf4 };
    static const uint8_t popa[] = { 0x61, 0xf4 };
    struct th t;
    th_init(&t, TH_PROT32);
    for (unsigned r = 0; r < 8; r++)
        if (r != R_SP)
            t.cpu.r[r] = 0x1000 * (r + 1) + r;
    stk_run(&t, pusha, sizeof pusha);
    CHECK_EQ(t.cpu.r[R_SP], S - 32);
    for (unsigned r = 0; r < 8; r++)
        CHECK_EQ(stk_rd(&t, S - 4 * (r + 1), 4), r == R_SP ? S : 0x1000 * (r + 1) + r);
    for (unsigned r = 0; r < 8; r++)
        if (r != R_SP)
            t.cpu.r[r] = 0;
    stk_wr(&t, S - 20, 4, 0xdead); /* the saved ESP slot is skipped */
    stk_run(&t, popa, sizeof popa);
    CHECK_EQ(t.cpu.r[R_SP], S);
    for (unsigned r = 0; r < 8; r++)
        if (r != R_SP)
            CHECK_EQ(t.cpu.r[r], 0x1000 * (r + 1) + r);

    static const uint8_t pushaw[] = { 0x66, 0x60, 0xf4 };
    stk_run(&t, pushaw, sizeof pushaw);
    CHECK_EQ(t.cpu.r[R_SP], S - 16);
    CHECK_EQ(stk_rd(&t, S - 2, 2), 0x1000);
    CHECK_EQ(stk_rd(&t, S - 16, 2), 0x8007);
    th_destroy(&t);

    th_init(&t, TH_LONG64);
    CHECK_EQ(th_run(&t, pusha, sizeof pusha), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_UD);
    th_destroy(&t);
}

/* Virtual-8086 mode (SDM Vol.3 20.2.7, 20.3): PUSHF/POPF are IOPL-sensitive;
 * with CR4.VME the 16-bit forms work on VIF instead of IF. */
static void v86_enter(struct th *t, uint64_t extra_flags)
{
    th_init(t, TH_PROT32);
    for (int s = 0; s < 6; s++)
        cpu_set_seg(&t->cpu, s, s == SEG_CS ? 0x1000 : 0, s == SEG_CS ? 0x10000 : 0, 0xffff,
                    0xf3);
    t->cpu.rflags = 2 | FL_VM | extra_flags;
    cpu_update_mode(&t->cpu);
    t->cpu.r[R_SP] = 0x8000;
}

static enum th_result v86_run(struct th *t, const uint8_t *code, size_t n)
{
    memcpy(th_mem(t, 0x10000), code, n);
    bus_note_dma(&t->bus, 0x10000, n);
    t->cpu.rip = 0;
    return th_run_steps(t, NULL, 0, 100);
}

TEST(stack_pushf_popf_v86)
{
    static const uint8_t pushf[] = { 0x9c, 0xf4 };
    static const uint8_t popf[] = { 0x9d, 0xf4 };
    static const uint8_t popfd[] = { 0x66, 0x9d, 0xf4 };
    struct th t;

    /* IOPL 0, no VME: #GP(0) on the PUSHF itself (HLT would be at rip 1) */
    v86_enter(&t, 0);
    CHECK_EQ(t.cpu.cpl, 3);
    CHECK_EQ(v86_run(&t, pushf, sizeof pushf), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.cpu.rip, 0);
    CHECK_EQ(t.cpu.r[R_SP], 0x8000);
    th_destroy(&t);

    /* VME: PUSHF shows VIF as IF and IOPL as 3 */
    v86_enter(&t, FL_VIF | FL_CF);
    t.cpu.cr4 |= CR4_VME;
    CHECK_EQ(v86_run(&t, pushf, sizeof pushf), TH_EXCEPTION); /* HLT at CPL 3 */
    CHECK_EQ(t.cpu.rip, 1);
    CHECK_EQ(t.cpu.r[R_SP], 0x7ffe);
    CHECK_EQ(stk_rd(&t, 0x7ffe, 2), FL_IOPL | FL_IF | FL_CF | 2);

    /* VME POPF: IF image goes to VIF, IF itself and IOPL unchanged */
    stk_wr(&t, 0x7ffe, 2, 0x3000 | FL_DF); /* IF=0, IOPL=3 in the image */
    CHECK_EQ(v86_run(&t, popf, sizeof popf), TH_EXCEPTION);
    CHECK_EQ(t.cpu.rip, 1);
    uint64_t f = cpu_get_rflags(&t.cpu);
    CHECK_EQ(f & (FL_VIF | FL_IF | FL_IOPL | FL_DF | FL_CF | FL_VM), FL_DF | FL_VM);
    /* TF in the image: #GP(0), nothing changed */
    t.cpu.r[R_SP] = 0x7ffe;
    stk_wr(&t, 0x7ffe, 2, FL_TF);
    CHECK_EQ(v86_run(&t, popf, sizeof popf), TH_EXCEPTION);
    CHECK_EQ(t.cpu.rip, 0);
    CHECK_EQ(t.cpu.r[R_SP], 0x7ffe);
    /* 32-bit POPF is #GP(0) even with VME */
    stk_wr(&t, 0x7ffe, 4, 0);
    CHECK_EQ(v86_run(&t, popfd, sizeof popfd), TH_EXCEPTION);
    CHECK_EQ(t.cpu.rip, 0);
    th_destroy(&t);

    /* IOPL 3: POPF changes IF but never IOPL or VM */
    v86_enter(&t, FL_IOPL);
    stk_wr(&t, 0x8000, 4, FL_IF | FL_ZF | FL_RF | FL_AC); /* IOPL 0 in the image */
    CHECK_EQ(v86_run(&t, popfd, sizeof popfd), TH_EXCEPTION);
    CHECK_EQ(t.cpu.rip, 2);
    f = cpu_get_rflags(&t.cpu);
    CHECK_EQ(f & ~(uint64_t)FL_RF, FL_IOPL | FL_VM | FL_IF | FL_ZF | FL_AC | 2);
    CHECK_EQ(t.cpu.r[R_SP], 0x8004);
    th_destroy(&t);
}
