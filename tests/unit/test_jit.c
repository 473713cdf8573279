/*
 * test_jit.c — the translation tier (src/cpu/jit.c) must be invisible: code
 * it translates leaves exactly the state the interpreter leaves, faults
 * mid-block report the right instruction with the earlier ones retired,
 * TLB misses inside translated code take the interpreter's slow path, and
 * single-stepping still sees every instruction.  Each case runs the same
 * code twice, with every block translated on its first start
 * (cpu.jit_hot = 1) and with the tier off, and compares the results.
 */
#include <string.h>

#include "cpu_harness.h"
#include "test.h"

#define BIG_DATA 0x200000ull /* 2 MiB: room for page-strided data */

struct run {
    struct th t;
    enum th_result res;
    uint64_t translated, covered;
};

static void run_code(struct run *r, const uint8_t *code, size_t n, unsigned hot, uint64_t steps)
{
    th_init(&r->t, TH_LONG64);
    r->t.cpu.jit_hot = (uint16_t)hot;
    for (unsigned i = 0; i < 16; i++)
        r->t.cpu.r[i] = 0x1111111111111111ull * (i + 1) ^ 0x0123456789abcdefull;
    r->t.cpu.r[R_SP] = TH_STACK;
    r->res = th_run_steps(&r->t, code, n, steps);
    r->translated = exec_jit_blocks(&r->t.cpu);
    r->covered = exec_jit_insns(&r->t.cpu);
}

/* Registers, RIP, arithmetic flags, instruction count and the data pages equal. */
static void check_same(struct run *a, struct run *b)
{
    CHECK_EQ(a->res, b->res);
    for (unsigned i = 0; i < 16; i++)
        CHECK_EQ(a->t.cpu.r[i], b->t.cpu.r[i]);
    CHECK_EQ(a->t.cpu.rip, b->t.cpu.rip);
    CHECK_EQ(cpu_get_rflags(&a->t.cpu), cpu_get_rflags(&b->t.cpu));
    CHECK_EQ(a->t.cpu.icount, b->t.cpu.icount);
    CHECK_EQ(a->t.vector, b->t.vector);
    CHECK(memcmp(th_mem(&a->t, TH_DATA), th_mem(&b->t, TH_DATA), 0x10000) == 0);
    CHECK(memcmp(th_mem(&a->t, BIG_DATA), th_mem(&b->t, BIG_DATA), 0x80000) == 0);
    CHECK(memcmp(th_mem(&a->t, TH_STACK - 0x1000), th_mem(&b->t, TH_STACK - 0x1000), 0x1000) == 0);
}

/* Returns whether the code ran to its HLT with RCX = 0 (the loops' end). */
static bool compare(const uint8_t *code, size_t n, uint64_t steps, bool expect_translation)
{
    struct run on, off;
    run_code(&on, code, n, 1, steps);
    run_code(&off, code, n, 0, steps);
    check_same(&on, &off);
    bool done = on.res == TH_HALT && on.t.cpu.r[R_CX] == 0;
    CHECK_EQ(off.translated, 0);
    if (expect_translation)
        CHECK(on.translated > 0);
    th_destroy(&on.t);
    th_destroy(&off.t);
    return done;
}

/* Every translated form in a loop: moves, ALU with register, memory and
 * immediate operands (byte, 32- and 64-bit), shifts, IMUL, SETcc/CMOVcc
 * after a compare, PUSH/POP, CALL/RET and the loop's fused compare+branch. */
TEST(jit_loop_matches_interpreter)
{
    static const uint8_t code[] = {
        0xb9, 0x64, 0x00, 0x00, 0x00,             /* mov ecx, 100 */
        0x31, 0xc0,                               /* xor eax, eax */
        0x48, 0xc7, 0xc6, 0x00, 0x00, 0x02, 0x00, /* mov rsi, TH_DATA */
        /* loop: */
        0x89, 0x06,                               /* mov [rsi], eax */
        0x03, 0x06,                               /* add eax, [rsi] */
        0x48, 0xc1, 0xe0, 0x03,                   /* shl rax, 3 */
        0x48, 0xd1, 0xe8,                         /* shr rax, 1 */
        0x48, 0xc1, 0xf8, 0x02,                   /* sar rax, 2 */
        0x48, 0x0f, 0xaf, 0xc1,                   /* imul rax, rcx */
        0x6b, 0xd0, 0x07,                         /* imul edx, eax, 7 */
        0x50,                                     /* push rax */
        0x5a,                                     /* pop rdx */
        0x0f, 0xb6, 0x1e,                         /* movzx ebx, byte [rsi] */
        0x83, 0xfb, 0x07,                         /* cmp ebx, 7 */
        0x0f, 0x92, 0xc3,                         /* setb bl */
        0x48, 0x0f, 0x4c, 0xd1,                   /* cmovl rdx, rcx */
        0x88, 0x7e, 0x05,                         /* mov [rsi+5], bh */
        0x80, 0x76, 0x06, 0x5a,                   /* xor byte [rsi+6], 0x5a (interpreted) */
        0x3a, 0x46, 0x05,                         /* cmp al, [rsi+5] */
        0x48, 0x85, 0xd2,                         /* test rdx, rdx */
        0x48, 0x8d, 0x74, 0x8e, 0x04,             /* lea rsi, [rsi+rcx*4+4] */
        0x48, 0x81, 0xe6, 0xff, 0xff, 0x02, 0x00, /* and rsi, 0x2ffff */
        0x48, 0x81, 0xce, 0x00, 0x00, 0x02, 0x00, /* or rsi, TH_DATA */
        0xe8, 0x06, 0x00, 0x00, 0x00,             /* call f */
        0x83, 0xe9, 0x01,                         /* sub ecx, 1 */
        0x75, 0xb1,                               /* jne loop */
        0xf4,                                     /* hlt */
        /* f: */
        0x48, 0x31, 0xc2,                         /* xor rdx, rax */
        0x48, 0x63, 0xfa,                         /* movsxd rdi, edx */
        0xc3,                                     /* ret */
    };
    CHECK(compare(code, sizeof code, 100000, true));
}

/* Loads and stores that touch a new page every iteration: the software TLB
 * misses inside translated code and the interpreter fills it. */
TEST(jit_tlb_misses_inside_translated_code)
{
    static const uint8_t code[] = {
        0xb9, 0x40, 0x00, 0x00, 0x00,             /* mov ecx, 64 */
        0x48, 0xc7, 0xc6, 0x00, 0x00, 0x20, 0x00, /* mov rsi, BIG_DATA */
        /* loop: */
        0x48, 0x89, 0x0e,                         /* mov [rsi], rcx */
        0x48, 0x03, 0x06,                         /* add rax, [rsi] */
        0x48, 0x89, 0x46, 0x08,                   /* mov [rsi+8], rax */
        0x48, 0x81, 0xc6, 0x08, 0x10, 0x00, 0x00, /* add rsi, 0x1008 */
        0xff, 0xc9,                               /* dec ecx (interpreted) */
        0x75, 0xeb,                               /* jne loop */
        0xf4,                                     /* hlt */
    };
    CHECK(compare(code, sizeof code, 100000, true));
}

/* A fault in the middle of a translated block: the instructions before it
 * retired, RIP and the error are the faulting instruction's. */
TEST(jit_fault_mid_block)
{
    static const uint8_t code[] = {
        0xb8, 0x05, 0x00, 0x00, 0x00,             /* mov eax, 5 */
        0x48, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0x80,    /* mov rbx, 0x8000000000000000 */
        0x89, 0x03,                               /* mov [rbx], eax: #GP (non-canonical) */
        0xb8, 0x07, 0x00, 0x00, 0x00,             /* mov eax, 7 */
        0xf4,                                     /* hlt */
    };
    struct run on;
    run_code(&on, code, sizeof code, 1, 1000);
    CHECK_EQ(on.res, TH_EXCEPTION);
    CHECK_EQ(on.t.vector, 13);
    CHECK_EQ(on.t.cpu.rip, TH_CODE + 15);
    CHECK_EQ(on.t.cpu.r[R_AX], 5);
    CHECK(on.translated > 0);
    th_destroy(&on.t);
    compare(code, sizeof code, 1000, true);
}

/* A budget that ends inside a hot block, repeatedly: the interpreter's
 * partial runs and the translated full runs interleave. */
TEST(jit_budget_boundaries)
{
    static const uint8_t code[] = {
        0xb9, 0xe8, 0x03, 0x00, 0x00, /* mov ecx, 1000 */
        /* loop: */
        0x48, 0x01, 0xc8,             /* add rax, rcx */
        0x48, 0x31, 0xc3,             /* xor rbx, rax */
        0x48, 0xc1, 0xe3, 0x05,       /* shl rbx, 5 */
        0x48, 0x29, 0xda,             /* sub rdx, rbx */
        0x83, 0xe9, 0x01,             /* sub ecx, 1 */
        0x75, 0xee,                   /* jne loop */
        0xf4,                         /* hlt */
    };
    for (uint64_t steps = 1; steps < 40; steps += 3)
        compare(code, sizeof code, steps, false);
    CHECK(compare(code, sizeof code, 7003, true));
}

/* A loop linked to itself directly (jit.c, direct links) whose code is
 * then rewritten on its own page: the page's generation changed, so the
 * link is not taken and the new instruction runs (SDM Vol.3 8.1.3). */
TEST(jit_direct_link_sees_self_modifying_code)
{
    static const uint8_t code[] = {
        0x31, 0xc0,                         /* xor eax, eax */
        0x31, 0xdb,                         /* xor ebx, ebx */
        0xb9, 0x0a, 0x00, 0x00, 0x00,       /* mov ecx, 10 */
        /* loop: */
        0x83, 0xc0, 0x01,                   /* add eax, 1   (the 1 is rewritten to 5) */
        0x83, 0xe9, 0x01,                   /* sub ecx, 1 */
        0x75, 0xf8,                         /* jne loop */
        0x85, 0xdb,                         /* test ebx, ebx */
        0x75, 0x13,                         /* jne done */
        0xbb, 0x01, 0x00, 0x00, 0x00,       /* mov ebx, 1 */
        0xc6, 0x05, 0xea, 0xff, 0xff, 0xff, 0x05, /* mov byte [rip-22], 5: add's immediate */
        0xb9, 0x0a, 0x00, 0x00, 0x00,       /* mov ecx, 10 */
        0xeb, 0xe1,                         /* jmp loop */
        0xf4,                               /* done: hlt */
    };
    struct run on;
    run_code(&on, code, sizeof code, 1, 10000);
    CHECK_EQ(on.res, TH_HALT);
    CHECK_EQ(on.t.cpu.r[R_AX], 10 * 1 + 10 * 5);
    CHECK(on.translated > 0);
    th_destroy(&on.t);
    CHECK(compare(code, sizeof code, 10000, true));
}

/* The carry and INC/DEC family with the guest's flags known (recomputed
 * from the lazy record, or still in the host's flags) and unknown (after a
 * shift: the code asks cpu_cf()), read-modify-write memory operands of
 * every size, NOT, SETcc after TEST and NOPs, all in one translated loop
 * (assembled with GNU as from the listing in the comments). */
TEST(jit_carry_incdec_rmw_match_interpreter)
{
    static const uint8_t code[] = {
        0xbf, 0x00, 0x00, 0x02, 0x00,       /* mov edi, TH_DATA */
        0xb9, 0x32, 0x00, 0x00, 0x00,       /* mov ecx, 50 */
        /* loop: */
        0x48, 0x01, 0xd8,                   /* add rax, rbx */
        0x48, 0x11, 0xf2,                   /* adc rdx, rsi */
        0x49, 0x89, 0xd0,                   /* mov r8, rdx */
        0x4d, 0x19, 0xc1,                   /* sbb r9, r8 */
        0x48, 0xd1, 0xe3,                   /* shl rbx, 1 */
        0x49, 0x83, 0xd2, 0x07,             /* adc r10, 7 */
        0x49, 0xff, 0xc3,                   /* inc r11 */
        0xff, 0x0f,                         /* dec dword [rdi] */
        0x49, 0xf7, 0xd4,                   /* not r12 */
        0x4c, 0x01, 0x5f, 0x08,             /* add [rdi+8], r11 */
        0x80, 0x4f, 0x10, 0x5a,             /* or byte [rdi+16], 0x5a */
        0x48, 0x83, 0x6f, 0x18, 0x03,       /* sub qword [rdi+24], 3 */
        0x80, 0x57, 0x20, 0x01,             /* adc byte [rdi+32], 1 */
        0x4d, 0x85, 0xe4,                   /* test r12, r12 */
        0x41, 0x0f, 0x94, 0xc5,             /* sete r13b */
        0x41, 0xff, 0xc6,                   /* inc r14d */
        0x0f, 0x1f, 0x00,                   /* nop dword [rax] */
        0x90,                               /* nop */
        0x66, 0x41, 0xff, 0xcf,             /* dec r15w (interpreted) */
        0x83, 0xe9, 0x01,                   /* sub ecx, 1 */
        0x75, 0xbd,                         /* jne loop */
        0xf4,                               /* hlt */
    };
    struct run on;
    run_code(&on, code, sizeof code, 1, 100000);
    CHECK_EQ(on.res, TH_HALT);
    CHECK_EQ(on.covered, 20 + 18); /* both blocks (entry, loop) up to DEC r15w */
    th_destroy(&on.t);
    CHECK(compare(code, sizeof code, 100000, true));
}

/* A block started more than 65536 times (its start counter wraps) whose
 * first instruction misses the TLB on every run: it is translated once, and
 * the miss path leads to the interpreter's handler, not to older copies of
 * the code (kvm-unit-tests' sieve ran 10x slower before this was so). */
TEST(jit_hot_block_translated_once)
{
    static const uint8_t code[] = {
        0xb9, 0xe0, 0x22, 0x02, 0x00,             /* mov ecx, 140000 */
        0xbe, 0x00, 0x00, 0x80, 0x00,             /* mov esi, 0x800000 */
        /* loop: */
        0x89, 0x0e,                               /* mov [rsi], ecx: 2048 pages, TLB misses */
        0x48, 0x81, 0xc6, 0x00, 0x10, 0x00, 0x00, /* add rsi, 0x1000 */
        0x48, 0x81, 0xe6, 0xff, 0xff, 0x7f, 0x00, /* and rsi, 0x7fffff */
        0x48, 0x81, 0xce, 0x00, 0x00, 0x80, 0x00, /* or rsi, 0x800000 */
        0x83, 0xe9, 0x01,                         /* sub ecx, 1 */
        0x75, 0xe4,                               /* jne loop */
        0xf4,                                     /* hlt */
    };
    struct run on;
    th_init(&on.t, TH_LONG64);
    on.t.cpu.jit_hot = 64;
    CHECK_EQ(th_run_steps(&on.t, code, sizeof code, 2000000), TH_HALT);
    CHECK_EQ(on.t.cpu.r[R_CX], 0);
    /* the entry block and the loop, each once */
    CHECK(exec_jit_blocks(&on.t.cpu) >= 1 && exec_jit_blocks(&on.t.cpu) <= 2);
    CHECK_EQ(*(uint32_t *)th_mem(&on.t, 0x800000 + 0x1000 * ((140000 - 1) % 2048)), 1);
    th_destroy(&on.t);
}
