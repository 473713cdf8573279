/*
 * test_cr.c — MOV to/from CR0/CR3/CR4/CR8 and DRn, CLTS, LMSW, SMSW:
 * the #GP rules of the SDM MOV-CR page, IA-32e activation, PAE PDPTE
 * loading, PCIDE, the TLB flush on CR3 writes and debug-register aliasing.
 */
#include "cpu/cpuid.h"
#include "cpu_harness.h"
#include "hw/lapic.h"
#include "test.h"

static bool gp0(struct th *t, enum th_result r)
{
    return r == TH_EXCEPTION && t->vector == EXC_GP && t->error == 0;
}

static bool ud(struct th *t, enum th_result r)
{
    return r == TH_EXCEPTION && t->vector == EXC_UD;
}

static void wr64(struct th *t, uint64_t gpa, uint64_t v)
{
    memcpy(th_mem(t, gpa), &v, 8);
}

/* Real mode: CS = 1000h (base 10000h = TH_CODE), IP = 0. */
static enum th_result run_real(struct th *t, const void *code, size_t n)
{
    cpu_set_seg(&t->cpu, SEG_CS, 0x1000, TH_CODE, 0xffff, 0x9b);
    memcpy(th_mem(t, TH_CODE), code, n);
    bus_note_dma(&t->bus, TH_CODE, n);
    t->cpu.rip = 0;
    return th_run_steps(t, NULL, 0, 1000);
}

/* mov rax, cr4; bts rax, bit; mov cr4, rax; hlt */
static enum th_result cr4_set_bit(struct th *t, unsigned bit)
{
    uint8_t code[] = { 0x0f, 0x20, 0xe0, 0x48, 0x0f, 0xba, 0xe8, (uint8_t)bit, 0x0f, 0x22, 0xe0,
                       0xf4 };
    return th_run(t, code, sizeof code);
}

TEST(cr0_invalid_combinations)
{
    struct th t;
    th_init(&t, TH_PROT32);
    uint64_t cr0 = t.cpu.cr0;
    /* mov eax, 0x80000010 (PG without PE); mov cr0, eax */
    static const uint8_t pg_no_pe[] = { 0xb8, 0x10, 0x00, 0x00, 0x80, 0x0f, 0x22, 0xc0, 0xf4 };
    CHECK(gp0(&t, th_run(&t, pg_no_pe, sizeof pg_no_pe)));
    CHECK_EQ(t.cpu.rip, TH_CODE + 5);
    CHECK_EQ(t.cpu.cr0, cr0);
    /* mov eax, cr0; or eax, 0x20000000 (NW without CD); mov cr0, eax */
    static const uint8_t nw[] = { 0x0f, 0x20, 0xc0, 0x0d, 0x00, 0x00, 0x00, 0x20, 0x0f, 0x22, 0xc0,
                                  0xf4 };
    CHECK(gp0(&t, th_run(&t, nw, sizeof nw)));
    /* reserved bits of CR0[31:0] are ignored; ET reads as 1 */
    static const uint8_t rsvd[] = { 0xb8, 0x01, 0x04, 0x00, 0x00, 0x0f, 0x22, 0xc0, 0x0f, 0x20,
                                    0xc3, 0xf4 }; /* mov eax,0x401; mov cr0,eax; mov ebx,cr0 */
    t.cpu.r[R_AX] = 0;
    CHECK_EQ(th_run(&t, rsvd, sizeof rsvd), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], CR0_PE | CR0_ET);
    th_destroy(&t);

    th_init(&t, TH_LONG64);
    /* mov rax, cr0; bts rax, 32; mov cr0, rax */
    static const uint8_t hi[] = { 0x0f, 0x20, 0xc0, 0x48, 0x0f, 0xba, 0xe8, 32, 0x0f, 0x22, 0xc0,
                                  0xf4 };
    CHECK(gp0(&t, th_run(&t, hi, sizeof hi)));
    /* mov rax, cr0; btr rax, 31; mov cr0, rax: no leaving IA-32e from 64-bit code */
    static const uint8_t nopg[] = { 0x0f, 0x20, 0xc0, 0x48, 0x0f, 0xba, 0xf0, 31, 0x0f, 0x22, 0xc0,
                                    0xf4 };
    CHECK(gp0(&t, th_run(&t, nopg, sizeof nopg)));
    CHECK(t.cpu.cr0 & CR0_PG);
    th_destroy(&t);
}

TEST(cr4_reserved_and_unsupported_bits)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint64_t cr4 = t.cpu.cr4;
    CHECK(gp0(&t, cr4_set_bit(&t, 12))); /* LA57: not enumerated */
    CHECK(gp0(&t, cr4_set_bit(&t, 25))); /* reserved */
    CHECK(gp0(&t, cr4_set_bit(&t, 0)));  /* VME: not enumerated */
    CHECK(gp0(&t, cr4_set_bit(&t, 6)));  /* MCE: not enumerated */
    CHECK(gp0(&t, cr4_set_bit(&t, 14))); /* SMXE */
    CHECK(gp0(&t, cr4_set_bit(&t, 63)));
    CHECK_EQ(t.cpu.cr4, cr4);
    CHECK_EQ(cr4_set_bit(&t, 16), TH_HALT); /* FSGSBASE */
    CHECK(t.cpu.cr4 & CR4_FSGSBASE);
    CHECK_EQ(cr4_set_bit(&t, 11), TH_HALT); /* UMIP */
    CHECK_EQ(cr4_set_bit(&t, 7), TH_HALT);  /* PGE */
    /* SMEP is accepted and applies at once: the harness's code pages are
     * user pages, so the next fetch at CPL 0 is a #PF (instruction fetch) */
    enum th_result r = cr4_set_bit(&t, 20);
    CHECK(t.cpu.cr4 & CR4_SMEP);
    CHECK_EQ(r, TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_PF);
    CHECK_EQ(t.error & 0x10, 0x10);
    CHECK_EQ(t.cpu.rip, TH_CODE + 11);
    th_destroy(&t);
}

TEST(cr4_vmxe_needs_vmx_allowed)
{
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.vmx_allowed = false;
    CHECK(gp0(&t, cr4_set_bit(&t, 13)));
    CHECK(!(t.cpu.cr4 & CR4_VMXE));
    t.cpu.vmx_allowed = true;
    CHECK_EQ(cr4_set_bit(&t, 13), TH_HALT);
    CHECK(t.cpu.cr4 & CR4_VMXE);
    th_destroy(&t);
}

TEST(cr4_pae_and_pcide_rules)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* mov rax, cr4; and rax, ~0x20; mov cr4, rax: PAE cannot be cleared in IA-32e mode */
    static const uint8_t nopae[] = { 0x0f, 0x20, 0xe0, 0x48, 0x83, 0xe0, 0xdf, 0x0f, 0x22, 0xe0,
                                     0xf4 };
    CHECK(gp0(&t, th_run(&t, nopae, sizeof nopae)));
    CHECK(t.cpu.cr4 & CR4_PAE);
    /* PCIDE needs CR3[11:0] = 0 */
    t.cpu.cr3 = TH_PT | 1;
    CHECK(gp0(&t, cr4_set_bit(&t, 17)));
    t.cpu.cr3 = TH_PT;
    CHECK_EQ(cr4_set_bit(&t, 17), TH_HALT);
    CHECK(t.cpu.cr4 & CR4_PCIDE);
    /* with PCIDE, CR3 bit 63 is the no-flush hint and is not stored; bit 45 is reserved.
     * mov rax, cr3; bts rax, 63; mov cr3, rax; hlt */
    static const uint8_t noflush[] = { 0x0f, 0x20, 0xd8, 0x48, 0x0f, 0xba, 0xe8, 63, 0x0f, 0x22,
                                       0xd8, 0xf4 };
    CHECK_EQ(th_run(&t, noflush, sizeof noflush), TH_HALT);
    CHECK_EQ(t.cpu.cr3, TH_PT);
    static const uint8_t rsvd[] = { 0x0f, 0x20, 0xd8, 0x48, 0x0f, 0xba, 0xe8, 45, 0x0f, 0x22, 0xd8,
                                    0xf4 };
    CHECK(gp0(&t, th_run(&t, rsvd, sizeof rsvd)));
    CHECK_EQ(t.cpu.cr3, TH_PT);
    th_destroy(&t);

    /* outside IA-32e mode PCIDE cannot be set */
    th_init(&t, TH_PROT32);
    static const uint8_t pcide32[] = { 0x0f, 0x20, 0xe0, 0x0d, 0x00, 0x00, 0x02, 0x00, 0x0f, 0x22,
                                       0xe0, 0xf4 }; /* mov eax,cr4; or eax,1<<17; mov cr4,eax */
    CHECK(gp0(&t, th_run(&t, pcide32, sizeof pcide32)));
    th_destroy(&t);
}

TEST(cr3_write_flushes_tlb)
{
    struct th t;
    th_init(&t, TH_LONG64);
    wr64(&t, 0xc00000, 0x1111);
    wr64(&t, 0xe00000, 0x2222);
    static const uint8_t code[] = {
        0x48, 0xc7, 0xc6, 0x00, 0x00, 0xc0, 0x00, /* mov rsi, 0xc00000 */
        0x48, 0x8b, 0x06,                         /* mov rax, [rsi] (fills the TLB) */
        0x48, 0xc7, 0xc7, 0x30, 0x20, 0x10, 0x00, /* mov rdi, PD entry 6 (0x102030) */
        0x48, 0xc7, 0xc2, 0x87, 0x00, 0xe0, 0x00, /* mov rdx, 0xe00087 */
        0x48, 0x89, 0x17,                         /* mov [rdi], rdx: remap 0xc00000 */
        0x48, 0x8b, 0x1e,                         /* mov rbx, [rsi] (stale allowed) */
        0x0f, 0x20, 0xd9,                         /* mov rcx, cr3 */
        0x0f, 0x22, 0xd9,                         /* mov cr3, rcx */
        0x48, 0x8b, 0x16,                         /* mov rdx, [rsi] */
        0xf4,
    };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX], 0x1111);
    CHECK_EQ(t.cpu.r[R_DX], 0x2222);
    th_destroy(&t);
}

/* PAE paging from 32-bit protected mode: PDPT at 0x30000, PD at 0x31000
 * mapping the first 2 MiB. */
static const uint8_t pae_on[] = {
    0x0f, 0x20, 0xe0,                   /* mov eax, cr4 */
    0x83, 0xc8, 0x20,                   /* or eax, PAE */
    0x0f, 0x22, 0xe0,                   /* mov cr4, eax */
    0xb8, 0x00, 0x00, 0x03, 0x00,       /* mov eax, 0x30000 */
    0x0f, 0x22, 0xd8,                   /* mov cr3, eax */
    0x0f, 0x20, 0xc0,                   /* mov eax, cr0 */
    0x0d, 0x00, 0x00, 0x00, 0x80,       /* or eax, PG */
    0x0f, 0x22, 0xc0,                   /* mov cr0, eax */
    0x8b, 0x05, 0x00, 0x00, 0x02, 0x00, /* mov eax, [0x20000] */
    0xf4,
};

TEST(cr_pae_pdpte_load)
{
    struct th t;
    th_init(&t, TH_PROT32);
    wr64(&t, 0x30000, 0x31000 | 1);
    wr64(&t, 0x31000, 0x83); /* 2 MiB page at 0, P RW PS */
    wr64(&t, 0x20000, 0xabcdef);
    CHECK_EQ(th_run(&t, pae_on, sizeof pae_on), TH_HALT);
    CHECK(t.cpu.cr0 & CR0_PG);
    CHECK(!(t.cpu.efer & EFER_LMA));
    CHECK_EQ(t.cpu.pdpte[0], 0x31001);
    CHECK_EQ(t.cpu.pdpte[1], 0);
    CHECK_EQ(t.cpu.r[R_AX], 0xabcdef);

    /* MOV to CR3 reloads the PDPTEs and checks them: bit 5 is reserved */
    wr64(&t, 0x40000, 0x31000 | 1);
    wr64(&t, 0x40008, 0x32000 | 1 | 0x20);
    static const uint8_t cr3[] = { 0xb8, 0x00, 0x00, 0x04, 0x00, 0x0f, 0x22, 0xd8, 0xf4 };
    CHECK(gp0(&t, th_run(&t, cr3, sizeof cr3)));
    CHECK_EQ(t.cpu.cr3, 0x30000);
    wr64(&t, 0x40008, 0x32000 | 1);
    CHECK_EQ(th_run(&t, cr3, sizeof cr3), TH_HALT);
    CHECK_EQ(t.cpu.cr3, 0x40000);
    CHECK_EQ(t.cpu.pdpte[1], 0x32001);
    th_destroy(&t);
}

TEST(cr_pae_pdpte_reserved_gp)
{
    struct th t;
    th_init(&t, TH_PROT32);
    wr64(&t, 0x30000, 0x31000 | 1);
    wr64(&t, 0x30008, 0x32000 | 1 | (1ull << 63)); /* XD is reserved in a PDPTE */
    wr64(&t, 0x31000, 0x83);
    CHECK(gp0(&t, th_run(&t, pae_on, sizeof pae_on)));
    CHECK(!(t.cpu.cr0 & CR0_PG));
    CHECK_EQ(t.cpu.pdpte[0], 0);
    /* a non-present entry may hold anything */
    wr64(&t, 0x30008, 0xfffffffffffffffeull);
    CHECK_EQ(th_run(&t, pae_on, sizeof pae_on), TH_HALT);
    CHECK(t.cpu.cr0 & CR0_PG);
    th_destroy(&t);
}

/* EFER.LME then CR0.PG from 32-bit code: IA-32e (compatibility) mode. */
TEST(cr_long_mode_activation)
{
    static const uint8_t code[] = {
        0x0f, 0x20, 0xe0,             /* mov eax, cr4 */
        0x0b, 0xc6,                   /* or eax, esi (PAE or nothing) */
        0x0f, 0x22, 0xe0,             /* mov cr4, eax */
        0xb9, 0x80, 0x00, 0x00, 0xc0, /* mov ecx, EFER */
        0x0f, 0x32,                   /* rdmsr */
        0x0d, 0x00, 0x01, 0x00, 0x00, /* or eax, LME */
        0x0f, 0x30,                   /* wrmsr */
        0xb8, 0x00, 0x00, 0x03, 0x00, /* mov eax, 0x30000 */
        0x0f, 0x22, 0xd8,             /* mov cr3, eax */
        0x0f, 0x20, 0xc0,             /* mov eax, cr0 */
        0x0d, 0x00, 0x00, 0x00, 0x80, /* or eax, PG */
        0x0f, 0x22, 0xc0,             /* mov cr0, eax */
        0xf4,
    };
    struct th t;
    th_init(&t, TH_PROT32);
    wr64(&t, 0x30000, 0x31000 | 3);
    wr64(&t, 0x31000, 0x32000 | 3);
    wr64(&t, 0x32000, 0x83);
    t.cpu.r[R_SI] = 0; /* without PAE: #GP */
    CHECK(gp0(&t, th_run(&t, code, sizeof code)));
    CHECK(!(t.cpu.cr0 & CR0_PG));
    CHECK(!(t.cpu.efer & EFER_LMA));
    t.cpu.r[R_SI] = CR4_PAE;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK(t.cpu.cr0 & CR0_PG);
    CHECK(t.cpu.efer & EFER_LMA);
    CHECK_EQ(t.cpu.code64, 0); /* CS.L = 0: compatibility mode */
    CHECK_EQ(t.cpu.code_bits, 32);
    /* leaving again from compatibility mode clears LMA */
    static const uint8_t off[] = { 0x0f, 0x20, 0xc0, 0x25, 0xff, 0xff, 0xff, 0x7f, 0x0f, 0x22,
                                   0xc0, 0xf4 };
    CHECK_EQ(th_run(&t, off, sizeof off), TH_HALT);
    CHECK(!(t.cpu.cr0 & CR0_PG));
    CHECK(!(t.cpu.efer & EFER_LMA));
    CHECK(t.cpu.efer & EFER_LME);
    th_destroy(&t);
}

TEST(cr8_and_invalid_crs)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* mov cr8, rax; mov rbx, cr8; hlt */
    static const uint8_t code[] = { 0x44, 0x0f, 0x22, 0xc0, 0x44, 0x0f, 0x20, 0xc3, 0xf4 };
    t.cpu.r[R_AX] = 5;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 5);
    t.cpu.r[R_AX] = 16;
    CHECK(gp0(&t, th_run(&t, code, sizeof code)));
    static const uint8_t cr1[] = { 0x0f, 0x20, 0xc8, 0xf4 };
    CHECK(ud(&t, th_run(&t, cr1, sizeof cr1)));
    static const uint8_t cr5[] = { 0x0f, 0x22, 0xe8, 0xf4 };
    CHECK(ud(&t, th_run(&t, cr5, sizeof cr5)));
    static const uint8_t cr9[] = { 0x44, 0x0f, 0x20, 0xc8, 0xf4 };
    CHECK(ud(&t, th_run(&t, cr9, sizeof cr9)));
    /* 32-bit operands outside 64-bit mode */
    th_destroy(&t);
    th_init(&t, TH_PROT32);
    static const uint8_t rd[] = { 0x0f, 0x20, 0xc3, 0xf4 }; /* mov ebx, cr0 */
    CHECK_EQ(th_run(&t, rd, sizeof rd), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], t.cpu.cr0);
    th_destroy(&t);
}

/* CR8 is the local APIC's TPR[7:4], in xAPIC and x2APIC mode and also while
 * the APIC is globally disabled (SDM 10.8.6.1). */
TEST(cr8_is_the_lapic_tpr_in_every_apic_mode)
{
    struct th t;
    struct apic_bus ab;
    struct lapic l;
    th_init(&t, TH_LONG64);
    apic_bus_init(&ab);
    lapic_init(&l, 0, true, &ab);
    t.cpu.lapic = &l;
    /* mov cr8, rax; mov rbx, cr8; hlt */
    static const uint8_t code[] = { 0x44, 0x0f, 0x22, 0xc0, 0x44, 0x0f, 0x20, 0xc3, 0xf4 };
    t.cpu.r[R_AX] = 9;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 9);
    CHECK_EQ(lapic_read(&l, LAPIC_TPR), 0x90);
    CHECK_EQ(lapic_set_base(&l, LAPIC_DEFAULT_BASE | APIC_BASE_BSP), 0); /* disabled */
    t.cpu.r[R_AX] = 0xf;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 0xf);
    CHECK_EQ(lapic_set_base(&l, LAPIC_DEFAULT_BASE | APIC_BASE_BSP | APIC_BASE_EN), 0);
    CHECK_EQ(lapic_set_base(&l, LAPIC_DEFAULT_BASE | APIC_BASE_BSP | APIC_BASE_EN |
                                    APIC_BASE_EXTD), 0);
    t.cpu.r[R_AX] = 3;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 3);
    uint64_t v = 0;
    CHECK_EQ(lapic_msr_read(&l, 0x808, &v), 0);
    CHECK_EQ(v, 0x30);
    th_destroy(&t);
}

TEST(cr_clts_lmsw_smsw)
{
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.cr0 |= CR0_TS;
    cpu_update_mode(&t.cpu);
    /* clts; smsw eax; hlt */
    static const uint8_t code[] = { 0x0f, 0x06, 0x0f, 0x01, 0xe0, 0xf4 };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK(!(t.cpu.cr0 & CR0_TS));
    CHECK_EQ(t.cpu.r[R_AX], (uint32_t)t.cpu.cr0);
    CHECK(t.cpu.sse_ok);
    th_destroy(&t);

    /* LMSW in real mode sets PE; a later LMSW cannot clear it */
    th_init(&t, TH_REAL);
    static const uint8_t lmsw[] = { 0xb8, 0x09, 0x00, 0x0f, 0x01, 0xf0, 0xf4 }; /* mov ax,9; lmsw ax */
    CHECK_EQ(run_real(&t, lmsw, sizeof lmsw), TH_HALT);
    CHECK(t.cpu.cr0 & CR0_PE);
    CHECK(t.cpu.cr0 & CR0_TS);
    static const uint8_t lmsw0[] = { 0x31, 0xc0, 0x0f, 0x01, 0xf0, 0xf4 }; /* xor ax,ax; lmsw ax */
    CHECK_EQ(run_real(&t, lmsw0, sizeof lmsw0), TH_HALT);
    CHECK(t.cpu.cr0 & CR0_PE);
    CHECK(!(t.cpu.cr0 & CR0_TS));
    th_destroy(&t);
}

TEST(dr_access_rules)
{
    struct th t;
    th_init(&t, TH_LONG64);
    /* mov dr7, rax; mov rbx, dr7; mov dr4, rcx (= DR6); mov rdx, dr6; hlt */
    static const uint8_t code[] = { 0x0f, 0x23, 0xf8, 0x0f, 0x21, 0xfb, 0x0f, 0x23,
                                    0xe1, 0x0f, 0x21, 0xf2, 0xf4 };
    t.cpu.r[R_AX] = 0x1ff | (1u << 12); /* bit 12 is reserved: reads 0 */
    t.cpu.r[R_CX] = 0x0f;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 0x5ff);
    CHECK_EQ(t.cpu.r[R_DX], 0xffff0fff);
    /* DR7 bits 63:32 */
    t.cpu.r[R_AX] = 1ull << 32;
    CHECK(gp0(&t, th_run(&t, code, sizeof code)));
    /* DR0 takes 64 bits */
    static const uint8_t dr0[] = { 0x0f, 0x23, 0xc0, 0xf4 };
    t.cpu.r[R_AX] = 0xffff800012345678ull;
    CHECK_EQ(th_run(&t, dr0, sizeof dr0), TH_HALT);
    CHECK_EQ(t.cpu.dr[0], 0xffff800012345678ull);
    /* CR4.DE: DR4/DR5 are #UD */
    t.cpu.cr4 |= CR4_DE;
    static const uint8_t dr4[] = { 0x0f, 0x21, 0xe0, 0xf4 };
    CHECK(ud(&t, th_run(&t, dr4, sizeof dr4)));
    /* DR7.GD: #DB with DR6.BD, GD cleared */
    t.cpu.dr[7] |= 1u << 13;
    CHECK_EQ(th_run(&t, dr0, sizeof dr0), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_DB);
    CHECK(t.cpu.dr[6] & (1u << 13));
    CHECK(!(t.cpu.dr[7] & (1u << 13)));
    th_destroy(&t);
}
