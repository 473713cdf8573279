/*
 * test_smc.c — self-modifying code: the decoded-block cache must never run
 * stale instructions (SDM Vol.3 8.1.3: a write to code takes effect for
 * instructions fetched after it; a jump suffices to serialise in practice).
 */
#include "cpu_harness.h"
#include "test.h"

/* Patch the very next instruction in the same block. */
TEST(smc_patch_next_instruction)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t code[] = {
        0x48, 0x8d, 0x05, 0x04, 0x00, 0x00, 0x00, /* lea rax, [rip+4] -> target */
        0xc6, 0x40, 0x01, 0x2a,                   /* mov byte [rax+1], 0x2a */
        0xbb, 0x11, 0x00, 0x00, 0x00,             /* target: mov ebx, 0x11 */
        0xf4,                                     /* hlt */
    };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 0x2a);
    th_destroy(&t);
}

/* A cached function is rewritten between two calls. */
TEST(smc_rewrite_cached_function)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t code[] = {
        0xe8, 0x13, 0x00, 0x00, 0x00,             /* call f */
        0x89, 0xc3,                               /* mov ebx, eax */
        0x48, 0x8d, 0x0d, 0x0a, 0x00, 0x00, 0x00, /* lea rcx, [rip+10] -> f */
        0xc6, 0x41, 0x01, 0x07,                   /* mov byte [rcx+1], 7 */
        0xe8, 0x01, 0x00, 0x00, 0x00,             /* call f */
        0xf4,                                     /* hlt */
        0xb8, 0x05, 0x00, 0x00, 0x00,             /* f: mov eax, 5 */
        0xc3,                                     /* ret */
    };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 5);
    CHECK_EQ(t.cpu.r[R_AX], 7);
    th_destroy(&t);
}

/* Code written by a REP MOVSB (the string fast path) is picked up too. */
TEST(smc_code_copied_by_rep_movs)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* Run 'mov eax, 1; ret' at TH_DATA, then copy 'mov eax, 9; ret' over it. */
    uint8_t *d = th_mem(&t, TH_DATA);
    static const uint8_t f1[] = { 0xb8, 1, 0, 0, 0, 0xc3 }, f2[] = { 0xb8, 9, 0, 0, 0, 0xc3 };
    memcpy(d, f1, sizeof f1);
    memcpy(d + 0x100, f2, sizeof f2);
    static const uint8_t code[] = {
        0xbf, 0x00, 0x00, 0x02, 0x00,       /* mov edi, TH_DATA */
        0xff, 0xd7,                         /* call rdi */
        0x89, 0xc3,                         /* mov ebx, eax */
        0xbe, 0x00, 0x01, 0x02, 0x00,       /* mov esi, TH_DATA + 0x100 */
        0xb9, 0x06, 0x00, 0x00, 0x00,       /* mov ecx, 6 */
        0x57,                               /* push rdi */
        0xf3, 0xa4,                         /* rep movsb */
        0x5f,                               /* pop rdi */
        0xff, 0xd7,                         /* call rdi */
        0xf4,                               /* hlt */
    };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 1);
    CHECK_EQ(t.cpu.r[R_AX], 9);
    th_destroy(&t);
}
