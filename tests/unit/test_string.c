/*
 * test_string.c — MOVS/CMPS/STOS/LODS/SCAS with and without REP: direction
 * flag, overlapping copies, page-crossing fills, REPE/REPNE termination and
 * flags, address-size prefixes, segment overrides, RCX=0, restart of long
 * REP loops after the per-execution budget, and faults in the middle of a
 * string (segment limit, not-present page) with a correct resumable state.
 */
#include "cpu_harness.h"
#include "test.h"

#define D TH_DATA

static void str_run(struct th *t, const void *code, size_t n)
{
    CHECK_EQ(th_run(t, code, n), TH_HALT);
}

static uint8_t *ram(struct th *t, uint64_t gpa)
{
    return th_mem(t, gpa);
}

static void regs3(struct th *t, uint64_t si, uint64_t di, uint64_t cx)
{
    t->cpu.r[R_SI] = si;
    t->cpu.r[R_DI] = di;
    t->cpu.r[R_CX] = cx;
}

TEST(string_movsb_single_and_rep)
{
    static const uint8_t one[] = { 0xa4, 0xf4 };
    static const uint8_t rep[] = { 0xf3, 0xa4, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    for (int i = 0; i < 200; i++)
        ram(&t, D)[i] = (uint8_t)(i * 7 + 1);
    regs3(&t, D, D + 0x1000, 77);
    str_run(&t, one, sizeof one);
    CHECK_EQ(ram(&t, D + 0x1000)[0], 1);
    CHECK_EQ(t.cpu.r[R_SI], D + 1);
    CHECK_EQ(t.cpu.r[R_DI], D + 0x1001);
    CHECK_EQ(t.cpu.r[R_CX], 77); /* no REP: RCX untouched */

    regs3(&t, D, D + 0x1000, 200);
    str_run(&t, rep, sizeof rep);
    CHECK(memcmp(ram(&t, D), ram(&t, D + 0x1000), 200) == 0);
    CHECK_EQ(t.cpu.r[R_CX], 0);
    CHECK_EQ(t.cpu.r[R_SI], D + 200);
    CHECK_EQ(t.cpu.r[R_DI], D + 0x1000 + 200);
    th_destroy(&t);
}

/* Reference: element-by-element forward copy inside one buffer. */
static void ref_movs(uint8_t *buf, size_t src, size_t dst, unsigned size, size_t n)
{
    for (size_t i = 0; i < n; i++)
        memmove(buf + dst + i * size, buf + src + i * size, size); /* load, then store */
}

TEST(string_movs_overlapping_forward)
{
    static const uint8_t movsb[] = { 0xf3, 0xa4, 0xf4 };
    static const uint8_t movsd[] = { 0xf3, 0xa5, 0xf4 };
    static const uint8_t movsq[] = { 0xf3, 0x48, 0xa5, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    uint8_t ref[256];
    for (int k = 0; k < 3; k++) {
        const uint8_t *code = k == 0 ? movsb : k == 1 ? movsd : movsq;
        size_t len = k == 2 ? sizeof movsq : sizeof movsb;
        unsigned size = k == 0 ? 1 : k == 1 ? 4 : 8;
        unsigned dist = k == 0 ? 1 : k == 1 ? 2 : 3;
        for (int i = 0; i < 256; i++)
            ref[i] = ram(&t, D)[i] = (uint8_t)(i ^ 0x5a);
        ref_movs(ref, 0, dist, size, 20);
        regs3(&t, D, D + dist, 20);
        str_run(&t, code, len);
        CHECK(memcmp(ram(&t, D), ref, 256) == 0);
        CHECK_EQ(t.cpu.r[R_DI], D + dist + 20 * size);
    }
    th_destroy(&t);
}

TEST(string_movsb_backward_df1)
{
    /* push 0x402 (DF); popf; rep movsb; hlt */
    static const uint8_t code[] = { 0x68, 0x02, 0x04, 0x00, 0x00, 0x9d, 0xf3, 0xa4, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    uint8_t ref[64];
    for (int i = 0; i < 64; i++)
        ref[i] = ram(&t, D)[i] = (uint8_t)(i + 0x30);
    /* Overlapping backward copy: dst above src, walking down (memmove-like). */
    memmove(ref + 4, ref, 32);
    regs3(&t, D + 31, D + 35, 32);
    str_run(&t, code, sizeof code);
    CHECK(memcmp(ram(&t, D), ref, 64) == 0);
    CHECK_EQ(t.cpu.r[R_SI], D - 1);
    CHECK_EQ(t.cpu.r[R_DI], D + 3);
    CHECK_EQ(t.cpu.r[R_CX], 0);
    th_destroy(&t);
}

TEST(string_stosq_across_pages)
{
    static const uint8_t code[] = { 0xf3, 0x48, 0xab, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    memset(ram(&t, D), 0xee, 0x3000);
    t.cpu.r[R_AX] = 0x0123456789abcdefull;
    regs3(&t, 0, D + 0xf80, 32); /* 256 bytes over the 0x21000 boundary */
    str_run(&t, code, sizeof code);
    for (int i = 0; i < 32; i++) {
        uint64_t v;
        memcpy(&v, ram(&t, D + 0xf80 + 8 * i), 8);
        CHECK_EQ(v, 0x0123456789abcdefull);
    }
    CHECK_EQ(ram(&t, D + 0xf7f)[0], 0xee);
    CHECK_EQ(ram(&t, D + 0x1080)[0], 0xee);
    CHECK_EQ(t.cpu.r[R_DI], D + 0x1080);
    CHECK_EQ(t.cpu.r[R_CX], 0);

    /* Elements straddling the page boundary (misaligned). */
    regs3(&t, 0, D + 0x1ffc, 3);
    str_run(&t, code, sizeof code);
    uint64_t v;
    memcpy(&v, ram(&t, D + 0x1ffc + 8), 8);
    CHECK_EQ(v, 0x0123456789abcdefull);
    CHECK_EQ(ram(&t, D + 0x1ffc + 24)[0], 0xee);
    CHECK_EQ(t.cpu.r[R_DI], D + 0x1ffc + 24);
    th_destroy(&t);
}

TEST(string_stos_word_dword_and_a32)
{
    static const uint8_t stosw[] = { 0xf3, 0x66, 0xab, 0xf4 };
    static const uint8_t stosd_a32[] = { 0x67, 0xf3, 0xab, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    memset(ram(&t, D), 0, 64);
    t.cpu.r[R_AX] = 0xffffffff8899aabbull;
    regs3(&t, 0, D, 5);
    str_run(&t, stosw, sizeof stosw);
    CHECK_EQ(ram(&t, D)[8], 0xbb);
    CHECK_EQ(ram(&t, D)[9], 0xaa);
    CHECK_EQ(ram(&t, D)[10], 0);
    CHECK_EQ(t.cpu.r[R_DI], D + 10);

    /* 67: EDI/ECX are used and written (upper halves zeroed). */
    regs3(&t, 0, 0xffffffff00000000ull | (D + 0x100), 0xffffffff00000002ull);
    str_run(&t, stosd_a32, sizeof stosd_a32);
    CHECK_EQ(ram(&t, D + 0x104)[0], 0xbb);
    CHECK_EQ(ram(&t, D + 0x107)[0], 0x88);
    CHECK_EQ(t.cpu.r[R_DI], D + 0x108);
    CHECK_EQ(t.cpu.r[R_CX], 0);
    th_destroy(&t);
}

TEST(string_repe_cmpsb_stops_at_mismatch)
{
    static const uint8_t code[] = { 0xf3, 0xa6, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    memcpy(ram(&t, D), "hello world", 11);
    memcpy(ram(&t, D + 0x100), "hello_world", 11);
    regs3(&t, D, D + 0x100, 11);
    str_run(&t, code, sizeof code);
    CHECK_EQ(t.cpu.r[R_CX], 5);
    CHECK_EQ(t.cpu.r[R_SI], D + 6);
    CHECK_EQ(t.cpu.r[R_DI], D + 0x106);
    /* ' ' - '_' = 0x20 - 0x5f: borrow, negative, no overflow */
    uint64_t f = cpu_get_rflags(&t.cpu);
    CHECK_EQ(f & (FL_ZF | FL_CF | FL_SF | FL_OF), FL_CF | FL_SF);

    /* All equal: RCX runs out, ZF=1 */
    regs3(&t, D, D + 0x100, 5);
    str_run(&t, code, sizeof code);
    CHECK_EQ(t.cpu.r[R_CX], 0);
    CHECK_EQ(t.cpu.r[R_SI], D + 5);
    CHECK(cpu_get_rflags(&t.cpu) & FL_ZF);

    /* REPNE CMPSB stops at the first equal byte */
    static const uint8_t repne[] = { 0xf2, 0xa6, 0xf4 };
    memcpy(ram(&t, D), "abcdef", 6);
    memcpy(ram(&t, D + 0x100), "xyzdef", 6);
    regs3(&t, D, D + 0x100, 6);
    str_run(&t, repne, sizeof repne);
    CHECK_EQ(t.cpu.r[R_CX], 2);
    CHECK(cpu_get_rflags(&t.cpu) & FL_ZF);
    th_destroy(&t);
}

TEST(string_cmpsq_flags_single)
{
    static const uint8_t code[] = { 0x48, 0xa7, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    uint64_t a = 0x8000000000000000ull, b = 1;
    memcpy(ram(&t, D), &a, 8);
    memcpy(ram(&t, D + 8), &b, 8);
    regs3(&t, D, D + 8, 9);
    str_run(&t, code, sizeof code);
    uint64_t f = cpu_get_rflags(&t.cpu);
    /* 0x8000000000000000 - 1: signed overflow, positive result, no borrow */
    CHECK_EQ(f & (FL_ZF | FL_CF | FL_SF | FL_OF), FL_OF);
    CHECK_EQ(t.cpu.r[R_SI], D + 8);
    CHECK_EQ(t.cpu.r[R_DI], D + 16);
    CHECK_EQ(t.cpu.r[R_CX], 9);
    th_destroy(&t);
}

TEST(string_scas_and_lods)
{
    static const uint8_t repne_scasb[] = { 0xf2, 0xae, 0xf4 };
    static const uint8_t scasb[] = { 0xae, 0xf4 };
    static const uint8_t lods[] = { 0xac, 0x66, 0xad, 0xad, 0x48, 0xad, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    memcpy(ram(&t, D), "abcxdefx", 8);
    t.cpu.r[R_AX] = 'x';
    regs3(&t, 0, D, 8);
    str_run(&t, repne_scasb, sizeof repne_scasb);
    CHECK_EQ(t.cpu.r[R_CX], 4);
    CHECK_EQ(t.cpu.r[R_DI], D + 4);
    CHECK(cpu_get_rflags(&t.cpu) & FL_ZF);

    /* not found: runs out with ZF=0 */
    t.cpu.r[R_AX] = 'q';
    regs3(&t, 0, D, 8);
    str_run(&t, repne_scasb, sizeof repne_scasb);
    CHECK_EQ(t.cpu.r[R_CX], 0);
    CHECK(!(cpu_get_rflags(&t.cpu) & FL_ZF));

    t.cpu.r[R_AX] = 'b';
    regs3(&t, 0, D, 0);
    str_run(&t, scasb, sizeof scasb); /* 'b' - 'a' */
    CHECK_EQ(cpu_get_rflags(&t.cpu) & (FL_ZF | FL_CF | FL_SF), 0);
    CHECK_EQ(t.cpu.r[R_DI], D + 1);

    static const uint8_t src[15] = { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
                                     0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
    memcpy(ram(&t, D + 0x200), src, sizeof src);
    t.cpu.r[R_AX] = 0xffffffffffffffffull;
    regs3(&t, D + 0x200, 0, 0);
    str_run(&t, lods, sizeof lods);
    /* lodsb (AL=0x11); lodsw (AX=0x3322); lodsd (EAX, zero-extended); lodsq */
    CHECK_EQ(t.cpu.r[R_AX], 0xffeeddccbbaa9988ull);
    CHECK_EQ(t.cpu.r[R_SI], D + 0x200 + 15);
    static const uint8_t lodsd[] = { 0xad, 0xf4 };
    t.cpu.r[R_AX] = ~0ull;
    regs3(&t, D + 0x203, 0, 0);
    str_run(&t, lodsd, sizeof lodsd);
    CHECK_EQ(t.cpu.r[R_AX], 0x77665544);
    th_destroy(&t);
}

/* The source segment can be overridden; the destination is always ES. */
TEST(string_segment_override)
{
    static const uint8_t movs_fs[] = { 0x64, 0xf3, 0xa4, 0xf4 };
    static const uint8_t stos_fs[] = { 0x64, 0xaa, 0xf4 };
    struct th t;
    th_init(&t, TH_PROT32);
    struct seg ds = t.cpu.seg[SEG_DS];
    cpu_set_seg(&t.cpu, SEG_FS, ds.sel, 0x3000, 0xffffffff, ds.ar);
    memcpy(ram(&t, 0x3000 + D), "FSDATA", 6);
    memcpy(ram(&t, D), "dsdata", 6);
    regs3(&t, D, D + 0x100, 6);
    str_run(&t, movs_fs, sizeof movs_fs);
    CHECK(memcmp(ram(&t, D + 0x100), "FSDATA", 6) == 0);

    ram(&t, D + 0x3000 + 0x200)[0] = 0;
    t.cpu.r[R_AX] = 'Z';
    t.cpu.r[R_DI] = D + 0x200;
    str_run(&t, stos_fs, sizeof stos_fs);
    CHECK_EQ(ram(&t, D + 0x200)[0], 'Z');
    CHECK_EQ(ram(&t, D + 0x3000 + 0x200)[0], 0);
    th_destroy(&t);

    /* 64-bit mode: FS base applies to the source */
    th_init(&t, TH_LONG64);
    t.cpu.seg[SEG_FS].base = 0x5000;
    memcpy(ram(&t, 0x5000 + D), "long64", 6);
    regs3(&t, D, D + 0x100, 6);
    str_run(&t, movs_fs, sizeof movs_fs);
    CHECK(memcmp(ram(&t, D + 0x100), "long64", 6) == 0);
    th_destroy(&t);
}

TEST(string_rep_rcx_zero)
{
    static const uint8_t code[] = { 0xf3, 0xa4, 0xf3, 0xaa, 0xf3, 0xa6, 0xf4 };
    struct th t;
    th_init(&t, TH_LONG64);
    ram(&t, D)[0] = 1;
    ram(&t, D + 0x100)[0] = 2;
    t.cpu.r[R_AX] = 9;
    regs3(&t, D, D + 0x100, 0);
    str_run(&t, code, sizeof code);
    CHECK_EQ(ram(&t, D + 0x100)[0], 2);
    CHECK_EQ(t.cpu.r[R_SI], D);
    CHECK_EQ(t.cpu.r[R_DI], D + 0x100);
    CHECK_EQ(t.cpu.r[R_CX], 0);
    th_destroy(&t);
}

/* Long REP loops are split into bounded executions that restart the
 * instruction; the final result is the same. */
TEST(string_rep_restart_large_counts)
{
    static const uint8_t movsb[] = { 0xf3, 0xa4, 0xf4 };
    static const uint8_t stosb[] = { 0xf3, 0xaa, 0xf4 };
    const uint64_t src = 0x200000, dst = 0x400000, n = 300000;
    struct th t;
    th_init(&t, TH_LONG64);
    for (uint64_t i = 0; i < n; i++)
        ram(&t, src)[i] = (uint8_t)(i * 13 + (i >> 9));
    regs3(&t, src, dst, n);
    str_run(&t, movsb, sizeof movsb);
    CHECK(memcmp(ram(&t, src), ram(&t, dst), n) == 0);
    CHECK_EQ(t.cpu.r[R_CX], 0);
    CHECK_EQ(t.cpu.r[R_SI], src + n);
    CHECK_EQ(t.cpu.r[R_DI], dst + n);

    /* DF=1 takes the element-by-element path: one execution does at most
     * 4096 elements and leaves RIP on the instruction. */
    t.cpu.rflags |= FL_DF;
    t.cpu.r[R_AX] = 0x5c;
    regs3(&t, 0, dst + 9999, 10000);
    CHECK_EQ(th_run_steps(&t, stosb, sizeof stosb, 1), TH_BUDGET);
    CHECK_EQ(t.cpu.rip, TH_CODE);
    CHECK_EQ(t.cpu.r[R_CX], 10000 - 4096);
    CHECK_EQ(t.cpu.r[R_DI], dst + 9999 - 4096);
    CHECK_EQ(th_run_steps(&t, NULL, 0, 1000), TH_HALT);
    CHECK_EQ(t.cpu.r[R_CX], 0);
    CHECK_EQ(t.cpu.r[R_DI], dst - 1);
    for (uint64_t i = 0; i < 10000; i++)
        if (ram(&t, dst)[i] != 0x5c) {
            CHECK_EQ(i, 10000);
            break;
        }
    CHECK_EQ(ram(&t, dst)[10000], ram(&t, src)[10000]);
    th_destroy(&t);
}

/* 32-bit: the source runs into the DS limit in the middle of the string.
 * #GP(0) on the first element beyond it; the elements before are done and
 * ESI/EDI/ECX describe exactly the remaining work. */
TEST(string_fault_mid_string_segment_limit)
{
    static const uint8_t code[] = { 0xf3, 0xa4, 0xf4 };
    struct th t;
    th_init(&t, TH_PROT32);
    struct seg ds = t.cpu.seg[SEG_DS];
    cpu_set_seg(&t.cpu, SEG_DS, ds.sel, 0, D + 9, ds.ar);
    for (int i = 0; i < 20; i++)
        ram(&t, D)[i] = (uint8_t)(0x40 + i);
    memset(ram(&t, D + 0x100), 0, 20);
    regs3(&t, D, D + 0x100, 20);
    CHECK_EQ(th_run(&t, code, sizeof code), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.cpu.rip, TH_CODE);
    CHECK_EQ(t.cpu.r[R_CX], 10);
    CHECK_EQ(t.cpu.r[R_SI], D + 10);
    CHECK_EQ(t.cpu.r[R_DI], D + 0x10a);
    CHECK(memcmp(ram(&t, D), ram(&t, D + 0x100), 10) == 0);
    CHECK_EQ(ram(&t, D + 0x10a)[0], 0);
    th_destroy(&t);
}

/* 64-bit: a not-present 2 MiB page under the source.  #PF at the page
 * boundary, then after mapping it the instruction resumes and finishes. */
TEST(string_fault_mid_string_page_fault_resume)
{
    static const uint8_t code[] = { 0xf3, 0x48, 0xa5, 0xf4 }; /* rep movsq */
    struct th t;
    th_init(&t, TH_LONG64);
    uint64_t *pd = th_mem(&t, TH_PT + 0x2000);
    const uint64_t hole = 0x600000; /* pd[3] */
    pd[3] = 0;
    tlb_flush_all(&t.cpu);
    for (int i = 0; i < 64; i++)
        ram(&t, hole - 0x100)[i] = (uint8_t)(i + 1), ram(&t, hole)[i] = (uint8_t)(0x80 + i);
    memset(ram(&t, 0x300000), 0, 0x200);
    regs3(&t, hole - 0x100, 0x300000, 0x30);
    CHECK_EQ(th_run(&t, code, sizeof code), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_PF);
    CHECK_EQ(t.error, 0); /* supervisor read of a not-present page */
    CHECK_EQ(t.cpu.cr2, hole);
    CHECK_EQ(t.cpu.rip, TH_CODE);
    CHECK_EQ(t.cpu.r[R_CX], 0x30 - 0x20);
    CHECK_EQ(t.cpu.r[R_SI], hole);
    CHECK_EQ(t.cpu.r[R_DI], 0x300100);
    CHECK(memcmp(ram(&t, hole - 0x100), ram(&t, 0x300000), 0x100) == 0);

    pd[3] = hole | 0x87;
    tlb_flush_all(&t.cpu);
    CHECK_EQ(th_run_steps(&t, NULL, 0, 1000), TH_HALT);
    CHECK_EQ(t.cpu.r[R_CX], 0);
    CHECK(memcmp(ram(&t, hole), ram(&t, 0x300100), 0x80) == 0);
    th_destroy(&t);
}
