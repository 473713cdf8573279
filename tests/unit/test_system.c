/*
 * test_system.c — system instructions run as machine code: HLT, CLI/STI
 * with IOPL, SGDT/LGDT/SIDT/LIDT, SLDT/STR/LLDT, UMIP, INVLPG, INVPCID,
 * CLFLUSH, fences, RDTSC and CR4.TSD, SWAPGS, RD/WR FS/GS BASE,
 * XGETBV/XSETBV, RDRAND/RDSEED, CLAC/STAC, RDPMC and the #UD placeholders.
 */
#include "cpu/cpuid.h"
#include "cpu_harness.h"
#include "test.h"

#define UD2 0x0f, 0x0b

static bool fault(struct th *t, enum th_result r, int vector)
{
    return r == TH_EXCEPTION && t->vector == vector;
}

static bool gp0(struct th *t, enum th_result r)
{
    return fault(t, r, EXC_GP) && t->error == 0;
}

/* Drop to CPL 3 in 64-bit mode (flat user code and stack segments). */
static void to_user(struct th *t)
{
    cpu_set_seg(&t->cpu, SEG_SS, 0x23, 0, 0xffffffff, 0xc0f3);
    cpu_set_seg(&t->cpu, SEG_CS, 0x2b, 0, 0xffffffff, 0xa0fb);
}

/* User code ends with UD2: reaching it (vector 6 at its address) means
 * everything before it ran. */
static bool ran_to_ud2(struct th *t, enum th_result r, size_t len)
{
    return fault(t, r, EXC_UD) && t->cpu.rip == TH_CODE + len - 2;
}

static void set_cr4(struct th *t, uint64_t bits)
{
    t->cpu.cr4 |= bits;
    cpu_update_mode(&t->cpu);
}

TEST(sys_hlt)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t code[] = { 0x90, 0xf4, 0x90 };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.rip, TH_CODE + 2); /* resumes after HLT */
    CHECK_EQ(t.cpu.state, CPU_HALTED);
    to_user(&t);
    CHECK(gp0(&t, th_run(&t, code, sizeof code)));
    CHECK_EQ(t.cpu.rip, TH_CODE + 1);
    th_destroy(&t);
}

TEST(sys_cli_sti_iopl)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t cli[] = { 0xfa, UD2 };
    static const uint8_t sti[] = { 0xfb, 0xf4 };
    CHECK_EQ(th_run(&t, sti, sizeof sti), TH_HALT);
    CHECK(t.cpu.rflags & FL_IF);
    to_user(&t);
    CHECK(gp0(&t, th_run(&t, cli, sizeof cli))); /* CPL 3 > IOPL 0 */
    CHECK(t.cpu.rflags & FL_IF);
    t.cpu.rflags |= FL_IOPL;
    CHECK(ran_to_ud2(&t, th_run(&t, cli, sizeof cli), sizeof cli));
    CHECK(!(t.cpu.rflags & FL_IF));
    th_destroy(&t);
}

TEST(sys_descriptor_tables_roundtrip)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t code[] = {
        0x48, 0xc7, 0xc3, 0x00, 0x00, 0x02, 0x00, /* mov rbx, TH_DATA */
        0x0f, 0x01, 0x13,                         /* lgdt [rbx] */
        0x0f, 0x01, 0x43, 0x10,                   /* sgdt [rbx+16] */
        0x0f, 0x01, 0x5b, 0x20,                   /* lidt [rbx+32] */
        0x0f, 0x01, 0x4b, 0x30,                   /* sidt [rbx+48] */
        0xf4,
    };
    uint8_t *d = th_mem(&t, TH_DATA);
    static const uint8_t gdt[10] = { 0x34, 0x12, 0x78, 0x56, 0x34, 0x12, 0x80, 0x88, 0xff, 0xff };
    static const uint8_t idt[10] = { 0xff, 0x0f, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
    memcpy(d, gdt, 10);
    memcpy(d + 32, idt, 10);
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.gdtr.base, 0xffff888012345678ull);
    CHECK_EQ(t.cpu.gdtr.limit, 0x1234);
    CHECK_EQ(t.cpu.idtr.base, 0x1000);
    CHECK_EQ(t.cpu.idtr.limit, 0xfff);
    CHECK(memcmp(d + 16, gdt, 10) == 0);
    CHECK(memcmp(d + 48, idt, 10) == 0);

    /* a non-canonical base is refused */
    d[7] = 0x80;
    d[8] = d[9] = 0;
    CHECK(gp0(&t, th_run(&t, code, sizeof code)));
    CHECK_EQ(t.cpu.gdtr.base, 0xffff888012345678ull);
    th_destroy(&t);

    /* 32-bit mode: a 16-bit operand size loads a 24-bit base; SGDT stores 32 bits */
    th_init(&t, TH_PROT32);
    static const uint8_t code32[] = {
        0xbb, 0x00, 0x00, 0x02, 0x00, /* mov ebx, TH_DATA */
        0x66, 0x0f, 0x01, 0x13,       /* lgdt [ebx] (o16) */
        0x0f, 0x01, 0x43, 0x10,       /* sgdt [ebx+16] */
        0xf4,
    };
    d = th_mem(&t, TH_DATA);
    static const uint8_t g32[6] = { 0xff, 0x00, 0x44, 0x33, 0x22, 0x11 };
    memcpy(d, g32, 6);
    memset(d + 16, 0xee, 10);
    CHECK_EQ(th_run(&t, code32, sizeof code32), TH_HALT);
    CHECK_EQ(t.cpu.gdtr.base, 0x223344);
    CHECK_EQ(t.cpu.gdtr.limit, 0xff);
    static const uint8_t stored[8] = { 0xff, 0x00, 0x44, 0x33, 0x22, 0x00, 0xee, 0xee };
    CHECK(memcmp(d + 16, stored, 8) == 0);
    th_destroy(&t);
}

TEST(sys_umip_and_selectors)
{
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.ldtr.sel = 0x28;
    t.cpu.tr.sel = 0x30;
    /* sldt eax; str ebx; hlt */
    static const uint8_t sel[] = { 0x0f, 0x00, 0xc0, 0x0f, 0x00, 0xcb, 0xf4 };
    t.cpu.r[R_AX] = t.cpu.r[R_BX] = ~0ull;
    CHECK_EQ(th_run(&t, sel, sizeof sel), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX], 0x28);
    CHECK_EQ(t.cpu.r[R_BX], 0x30);

    static const uint8_t sgdt[] = { 0x48, 0xc7, 0xc3, 0x00, 0x00, 0x02, 0x00, 0x0f, 0x01, 0x03,
                                    UD2 }; /* mov rbx, TH_DATA; sgdt [rbx] */
    static const uint8_t smsw[] = { 0x0f, 0x01, 0xe0, UD2 };
    static const uint8_t sldt[] = { 0x0f, 0x00, 0xc0, UD2 };
    to_user(&t);
    CHECK(ran_to_ud2(&t, th_run(&t, sgdt, sizeof sgdt), sizeof sgdt));
    CHECK(ran_to_ud2(&t, th_run(&t, smsw, sizeof smsw), sizeof smsw));
    t.cpu.cr4 |= CR4_UMIP;
    CHECK(gp0(&t, th_run(&t, sgdt, sizeof sgdt)));
    CHECK(gp0(&t, th_run(&t, smsw, sizeof smsw)));
    CHECK(gp0(&t, th_run(&t, sldt, sizeof sldt)));
    /* LLDT/LTR are CPL-0 only */
    static const uint8_t lldt[] = { 0x0f, 0x00, 0xd0, UD2 };
    CHECK(gp0(&t, th_run(&t, lldt, sizeof lldt)));
    th_destroy(&t);
}

TEST(sys_group6_ud_in_real_mode)
{
    struct th t;
    th_init(&t, TH_REAL);
    cpu_set_seg(&t.cpu, SEG_CS, 0x1000, TH_CODE, 0xffff, 0x9b);
    static const uint8_t sldt[] = { 0x0f, 0x00, 0xc0, 0xf4 };
    static const uint8_t lldt[] = { 0x0f, 0x00, 0xd0, 0xf4 };
    memcpy(th_mem(&t, TH_CODE), sldt, sizeof sldt);
    bus_note_dma(&t.bus, TH_CODE, sizeof sldt);
    t.cpu.rip = 0;
    CHECK(fault(&t, th_run_steps(&t, NULL, 0, 10), EXC_UD));
    memcpy(th_mem(&t, TH_CODE), lldt, sizeof lldt);
    bus_note_dma(&t.bus, TH_CODE, sizeof lldt);
    t.cpu.rip = 0;
    CHECK(fault(&t, th_run_steps(&t, NULL, 0, 10), EXC_UD));
    th_destroy(&t);
}

TEST(sys_invlpg_and_clflush)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* invlpg [rax] with an unmapped and a non-canonical address: no fault */
    static const uint8_t inv[] = { 0x0f, 0x01, 0x38, 0x0f, 0x01, 0x3b, 0xf4 };
    t.cpu.r[R_AX] = 0x40000000; /* beyond the harness's 1 GiB map */
    t.cpu.r[R_BX] = 0x8000000000000000ull;
    CHECK_EQ(th_run(&t, inv, sizeof inv), TH_HALT);
    /* clflush [rsi]; clflushopt [rsi]; mfence; lfence; sfence; hlt */
    static const uint8_t cl[] = { 0x0f, 0xae, 0x3e, 0x66, 0x0f, 0xae, 0x3e, 0x0f, 0xae,
                                  0xf0, 0x0f, 0xae, 0xe8, 0x0f, 0xae, 0xf8, 0xf4 };
    t.cpu.r[R_SI] = TH_DATA;
    CHECK_EQ(th_run(&t, cl, sizeof cl), TH_HALT);
    t.cpu.r[R_SI] = 0x40000000; /* CLFLUSH is checked like a read: #PF */
    CHECK(fault(&t, th_run(&t, cl, sizeof cl), EXC_PF));
    CHECK_EQ(t.cpu.cr2, 0x40000000);
    t.cpu.r[R_SI] = 0x8000000000000000ull;
    CHECK(gp0(&t, th_run(&t, cl, sizeof cl)));
    th_destroy(&t);
}

TEST(sys_invpcid)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint64_t *desc = th_mem(&t, TH_DATA);
    /* invpcid rax, [rsi]; hlt */
    static const uint8_t code[] = { 0x66, 0x0f, 0x38, 0x82, 0x06, 0xf4 };
    t.cpu.r[R_SI] = TH_DATA;
    desc[0] = 0;
    desc[1] = 0x1000;
    for (uint64_t type = 0; type < 4; type++) {
        t.cpu.r[R_AX] = type;
        CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    }
    t.cpu.r[R_AX] = 4;
    CHECK(gp0(&t, th_run(&t, code, sizeof code)));
    t.cpu.r[R_AX] = 1ull << 40; /* the whole 64-bit register is the type */
    CHECK(gp0(&t, th_run(&t, code, sizeof code)));
    t.cpu.r[R_AX] = 0;
    desc[1] = 0x8000000000000000ull; /* type 0 needs a canonical address */
    CHECK(gp0(&t, th_run(&t, code, sizeof code)));
    desc[1] = 0;
    desc[0] = 1; /* PCID 1 without CR4.PCIDE */
    CHECK(gp0(&t, th_run(&t, code, sizeof code)));
    desc[0] = 1ull << 12; /* reserved descriptor bits */
    t.cpu.r[R_AX] = 2;
    CHECK(gp0(&t, th_run(&t, code, sizeof code)));
    th_destroy(&t);
}

TEST(sys_rdtsc_and_tsd)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t code[] = {
        0x0f, 0x31, 0x48, 0xc1, 0xe2, 0x20, 0x48, 0x09, 0xd0, /* rdtsc; shl rdx,32; or rax,rdx */
        0x48, 0x89, 0xc6,                                     /* mov rsi, rax */
        0x0f, 0x31, 0x48, 0xc1, 0xe2, 0x20, 0x48, 0x09, 0xd0, 0xf4,
    };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK(t.cpu.r[R_SI] != 0);
    CHECK(t.cpu.r[R_AX] >= t.cpu.r[R_SI]);
    static const uint8_t user[] = { 0x0f, 0x31, UD2 };
    static const uint8_t user_p[] = { 0x0f, 0x01, 0xf9, UD2 }; /* rdtscp */
    to_user(&t);
    CHECK(ran_to_ud2(&t, th_run(&t, user, sizeof user), sizeof user));
    t.cpu.cr4 |= CR4_TSD;
    CHECK(gp0(&t, th_run(&t, user, sizeof user)));
    CHECK_EQ(t.cpu.rip, TH_CODE);
    CHECK(gp0(&t, th_run(&t, user_p, sizeof user_p)));
    static const uint8_t pmc[] = { 0x0f, 0x33, UD2 };
    CHECK(gp0(&t, th_run(&t, pmc, sizeof pmc)));
    th_destroy(&t);
}

TEST(sys_swapgs)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t code[] = { 0x0f, 0x01, 0xf8, 0xf4 };
    t.cpu.seg[SEG_GS].base = 0x1000;
    t.cpu.kernel_gs_base = 0xffff888000002000ull;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.seg[SEG_GS].base, 0xffff888000002000ull);
    CHECK_EQ(t.cpu.kernel_gs_base, 0x1000);
    to_user(&t);
    CHECK(gp0(&t, th_run(&t, code, sizeof code)));
    th_destroy(&t);
    th_init(&t, TH_PROT32);
    CHECK(fault(&t, th_run(&t, code, sizeof code), EXC_UD)); /* 64-bit mode only */
    th_destroy(&t);
}

TEST(sys_fsgsbase)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* wrfsbase rax; rdfsbase rbx; rdgsbase ecx; wrgsbase edx; hlt */
    static const uint8_t code[] = { 0xf3, 0x48, 0x0f, 0xae, 0xd0, 0xf3, 0x48, 0x0f, 0xae,
                                    0xc3, 0xf3, 0x0f, 0xae, 0xc9, 0xf3, 0x0f, 0xae, 0xda, 0xf4 };
    CHECK(fault(&t, th_run(&t, code, sizeof code), EXC_UD)); /* CR4.FSGSBASE = 0 */
    set_cr4(&t, CR4_FSGSBASE);
    t.cpu.r[R_AX] = 0xffff800000123000ull;
    t.cpu.seg[SEG_GS].base = 0x123456789ull;
    t.cpu.r[R_CX] = ~0ull;
    t.cpu.r[R_DX] = 0xffffffff87654321ull;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.seg[SEG_FS].base, 0xffff800000123000ull);
    CHECK_EQ(t.cpu.r[R_BX], 0xffff800000123000ull);
    CHECK_EQ(t.cpu.r[R_CX], 0x23456789); /* 32-bit form zero-extends */
    CHECK_EQ(t.cpu.seg[SEG_GS].base, 0x87654321);
    t.cpu.r[R_AX] = 0x0000800000000000ull;
    CHECK(gp0(&t, th_run(&t, code, sizeof code)));
    CHECK_EQ(t.cpu.seg[SEG_FS].base, 0xffff800000123000ull);
    th_destroy(&t);
}

TEST(sys_xgetbv_xsetbv)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t set[] = { 0x0f, 0x01, 0xd1, 0xf4 };
    static const uint8_t get[] = { 0x0f, 0x01, 0xd0, 0xf4 };
    t.cpu.r[R_CX] = 0;
    t.cpu.r[R_DX] = 0;
    t.cpu.r[R_AX] = 3;
    CHECK(fault(&t, th_run(&t, set, sizeof set), EXC_UD)); /* CR4.OSXSAVE = 0 */
    CHECK(fault(&t, th_run(&t, get, sizeof get), EXC_UD));
    set_cr4(&t, CR4_OSXSAVE);
    t.cpu.r[R_AX] = 2; /* x87 must stay set */
    CHECK(gp0(&t, th_run(&t, set, sizeof set)));
    t.cpu.r[R_AX] = 7; /* AVX is not supported */
    CHECK(gp0(&t, th_run(&t, set, sizeof set)));
    t.cpu.r[R_AX] = 3;
    t.cpu.r[R_DX] = 1; /* bit 32 */
    CHECK(gp0(&t, th_run(&t, set, sizeof set)));
    t.cpu.r[R_DX] = 0;
    t.cpu.r[R_CX] = 1; /* only XCR0 exists */
    CHECK(gp0(&t, th_run(&t, set, sizeof set)));
    CHECK(gp0(&t, th_run(&t, get, sizeof get)));
    t.cpu.r[R_CX] = 0;
    CHECK_EQ(th_run(&t, set, sizeof set), TH_HALT);
    CHECK_EQ(t.cpu.xcr0, 3);
    t.cpu.r[R_AX] = t.cpu.r[R_DX] = ~0ull;
    CHECK_EQ(th_run(&t, get, sizeof get), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX], 3);
    CHECK_EQ(t.cpu.r[R_DX], 0);
    to_user(&t);
    static const uint8_t uget[] = { 0x0f, 0x01, 0xd0, UD2 };
    CHECK(ran_to_ud2(&t, th_run(&t, uget, sizeof uget), sizeof uget));
    CHECK(gp0(&t, th_run(&t, set, sizeof set)));
    th_destroy(&t);
}

TEST(sys_rdrand_rdseed)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* rdrand rax; mov rbx, rax; rdrand rax; rdseed ecx; rdrand dx; hlt */
    static const uint8_t code[] = { 0x48, 0x0f, 0xc7, 0xf0, 0x48, 0x89, 0xc3, 0x48, 0x0f, 0xc7,
                                    0xf0, 0x0f, 0xc7, 0xf9, 0x66, 0x0f, 0xc7, 0xf2, 0xf4 };
    t.cpu.r[R_CX] = ~0ull;
    t.cpu.r[R_DX] = 0x1234567800000000ull;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK(cpu_get_rflags(&t.cpu) & FL_CF);
    CHECK(!(cpu_get_rflags(&t.cpu) & (FL_ZF | FL_OF | FL_SF)));
    CHECK(t.cpu.r[R_AX] != t.cpu.r[R_BX]); /* equal with probability 2^-64 */
    CHECK_EQ(t.cpu.r[R_CX] >> 32, 0);
    CHECK_EQ(t.cpu.r[R_DX] >> 16, 0x123456780000ull); /* 16-bit form merges */
    th_destroy(&t);
}

TEST(sys_clac_stac)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t stac[] = { 0x0f, 0x01, 0xcb, 0xf4 };
    static const uint8_t clac[] = { 0x0f, 0x01, 0xca, 0xf4 };
    set_cr4(&t, CR4_SMAP);
    CHECK_EQ(t.cpu.tlb_ctx & 2, 2); /* SMAP-protected supervisor context */
    CHECK_EQ(th_run(&t, stac, sizeof stac), TH_HALT);
    CHECK(t.cpu.rflags & FL_AC);
    CHECK_EQ(t.cpu.tlb_ctx & 2, 0);
    CHECK_EQ(th_run(&t, clac, sizeof clac), TH_HALT);
    CHECK(!(t.cpu.rflags & FL_AC));
    CHECK_EQ(t.cpu.tlb_ctx & 2, 2);
    to_user(&t);
    CHECK(fault(&t, th_run(&t, stac, sizeof stac), EXC_UD)); /* CPL > 0: #UD */
    th_destroy(&t);
}

TEST(sys_privileged_and_absent)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t cache[] = { 0x0f, 0x08, 0x0f, 0x09, 0xf4 }; /* invd; wbinvd */
    CHECK_EQ(th_run(&t, cache, sizeof cache), TH_HALT);
    static const uint8_t vmcall[] = { 0x0f, 0x01, 0xc1, 0xf4 };
    CHECK(fault(&t, th_run(&t, vmcall, sizeof vmcall), EXC_UD));
    static const uint8_t vmxon[] = { 0xf3, 0x0f, 0xc7, 0x36, 0xf4 };
    t.cpu.r[R_SI] = TH_DATA;
    CHECK(fault(&t, th_run(&t, vmxon, sizeof vmxon), EXC_UD));
    static const uint8_t mwait[] = { 0x0f, 0x01, 0xc9, 0xf4 }; /* not enumerated */
    CHECK(fault(&t, th_run(&t, mwait, sizeof mwait), EXC_UD));
    static const uint8_t getsec[] = { 0x0f, 0x37, 0xf4 };
    CHECK(fault(&t, th_run(&t, getsec, sizeof getsec), EXC_UD));
    to_user(&t);
    CHECK(gp0(&t, th_run(&t, cache, sizeof cache)));
    static const uint8_t rdmsr[] = { 0x0f, 0x32, UD2 };
    CHECK(gp0(&t, th_run(&t, rdmsr, sizeof rdmsr)));
    static const uint8_t movcr[] = { 0x0f, 0x20, 0xc0, UD2 };
    CHECK(gp0(&t, th_run(&t, movcr, sizeof movcr)));
    th_destroy(&t);
}
