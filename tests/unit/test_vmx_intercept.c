/*
 * test_vmx_intercept.c — "does L1 want it" (SDM Vol.3 chapter 25): the pure
 * decision functions (I/O and MSR bitmaps, CR0/CR4 shadows and masks, LMSW,
 * CR3 targets, exception bitmap with the #PF error-code rule) and L2 code
 * run on the engine in VMX non-root operation: which instructions and
 * events exit, with which qualification and instruction length, which
 * faults come first (25.1.1), and what non-exiting instructions do
 * differently (25.3: CR shadows, TPR shadow, TSC offsetting, RDTSCP).
 */
#include <string.h>

#include "cpu/msr.h"
#include "cpu_harness.h"
#include "test.h"
#include "vmx/vmx.h"
#include "vmx/vmx_hooks.h"
#include "vmx_l2_harness.h"

#define HLT 0xf4
#define BITMAP_A 0x32000ull
#define BITMAP_B 0x33000ull
#define MSR_BITMAP_PA 0x34000ull
#define VAPIC_PA 0x35000ull

static void set_bit(struct th *t, uint64_t base, uint64_t bit)
{
    ((uint8_t *)th_mem(t, base))[bit >> 3] |= (uint8_t)(1u << (bit & 7));
}

/* ---------------- pure decisions ---------------- */

TEST(vmx_ix_io_bitmap_lookup)
{
    struct th t;
    th_init(&t, TH_LONG64);
    struct bus *b = &t.bus;
    set_bit(&t, BITMAP_A, 0x3f8);
    set_bit(&t, BITMAP_B, 0x8001 & 0x7fff);
    CHECK(vmx_io_bitmap_exits(b, BITMAP_A, BITMAP_B, 0x3f8, 1));
    CHECK(vmx_io_bitmap_exits(b, BITMAP_A, BITMAP_B, 0x3f7, 2)); /* covers 3F8H */
    CHECK(vmx_io_bitmap_exits(b, BITMAP_A, BITMAP_B, 0x3f5, 4));
    CHECK(!vmx_io_bitmap_exits(b, BITMAP_A, BITMAP_B, 0x3f9, 4));
    CHECK(!vmx_io_bitmap_exits(b, BITMAP_A, BITMAP_B, 0x3f6, 2));
    CHECK(vmx_io_bitmap_exits(b, BITMAP_A, BITMAP_B, 0x8001, 1)); /* bitmap B */
    CHECK(!vmx_io_bitmap_exits(b, BITMAP_A, BITMAP_B, 0x0001, 1));
    CHECK(vmx_io_bitmap_exits(b, BITMAP_A, BITMAP_B, 0x7fff, 4)); /* spans A and B */
    CHECK(!vmx_io_bitmap_exits(b, BITMAP_A, BITMAP_B, 0xfffc, 4));
    CHECK(vmx_io_bitmap_exits(b, BITMAP_A, BITMAP_B, 0xffff, 2)); /* wraps */
    CHECK(vmx_io_bitmap_exits(b, BITMAP_A, BITMAP_B, 0xfffe, 4));
    CHECK(vmx_io_bitmap_exits(b, 0x80000000ull, BITMAP_B, 0x10, 1)); /* not RAM */
    th_destroy(&t);
}

TEST(vmx_ix_msr_bitmap_lookup)
{
    struct th t;
    th_init(&t, TH_LONG64);
    struct bus *b = &t.bus;
    set_bit(&t, MSR_BITMAP_PA, MSR_IA32_TSC);                        /* read low */
    set_bit(&t, MSR_BITMAP_PA + 0x800 + 0x400, MSR_IA32_EFER & 0x1fff); /* write high */
    set_bit(&t, MSR_BITMAP_PA + 0x400, 0x1fff);                      /* read C0001FFFH */
    CHECK(vmx_msr_bitmap_exits(b, MSR_BITMAP_PA, MSR_IA32_TSC, false));
    CHECK(!vmx_msr_bitmap_exits(b, MSR_BITMAP_PA, MSR_IA32_TSC, true));
    CHECK(!vmx_msr_bitmap_exits(b, MSR_BITMAP_PA, MSR_IA32_EFER, false));
    CHECK(vmx_msr_bitmap_exits(b, MSR_BITMAP_PA, MSR_IA32_EFER, true));
    CHECK(vmx_msr_bitmap_exits(b, MSR_BITMAP_PA, 0xc0001fff, false));
    CHECK(!vmx_msr_bitmap_exits(b, MSR_BITMAP_PA, 0x1fff, false));
    /* outside both ranges: always */
    CHECK(vmx_msr_bitmap_exits(b, MSR_BITMAP_PA, 0x2000, false));
    CHECK(vmx_msr_bitmap_exits(b, MSR_BITMAP_PA, 0x40000000, true));
    CHECK(vmx_msr_bitmap_exits(b, MSR_BITMAP_PA, 0xc0002000, false));
    CHECK(vmx_msr_bitmap_exits(b, 0x80000000ull, MSR_IA32_STAR, false)); /* not RAM */
    th_destroy(&t);
}

TEST(vmx_ix_cr_shadow_rules)
{
    uint64_t mask = CR0_TS | CR0_PE | CR0_PG, shadow = CR0_PE;
    uint64_t guest = CR0_PE | CR0_TS | CR0_PG | CR0_NE | CR0_ET;
    /* reads: masked bits from the shadow */
    CHECK_EQ(vmx_cr_shadow_read(guest, mask, shadow), CR0_PE | CR0_NE | CR0_ET);
    /* writes exit iff a masked bit differs from the shadow */
    CHECK(!vmx_cr_write_exits(CR0_PE | CR0_MP, mask, shadow));
    CHECK(vmx_cr_write_exits(CR0_PE | CR0_TS, mask, shadow));
    CHECK(vmx_cr_write_exits(0, mask, shadow));
    /* a non-exiting write keeps the masked bits of the current value */
    CHECK_EQ(vmx_cr_write_value(CR0_PE | CR0_MP | CR0_NE, guest, mask),
             CR0_PE | CR0_MP | CR0_NE | CR0_TS | CR0_PG);
    /* LMSW */
    CHECK(vmx_lmsw_exits(CR0_PE, CR0_PE, 0));       /* sets a masked, shadow-clear PE */
    CHECK(!vmx_lmsw_exits(0, CR0_PE, 0));
    CHECK(!vmx_lmsw_exits(CR0_PE, CR0_PE, CR0_PE));
    CHECK(!vmx_lmsw_exits(0, CR0_PE, CR0_PE));      /* LMSW cannot clear PE */
    CHECK(vmx_lmsw_exits(CR0_TS, CR0_TS, 0));
    CHECK(vmx_lmsw_exits(0, CR0_MP, CR0_MP));
    CHECK(!vmx_lmsw_exits(CR0_EM, CR0_TS, 0));      /* unmasked bits never exit */
    CHECK_EQ(vmx_lmsw_value(CR0_EM, CR0_PE | CR0_TS | CR0_PG, CR0_TS),
             CR0_PE | CR0_EM | CR0_TS | CR0_PG);
    CHECK_EQ(vmx_lmsw_value(0, CR0_PE | CR0_MP, 0), CR0_PE); /* PE stays */
    CHECK_EQ(vmx_lmsw_value(CR0_PE, 0, 0), CR0_PE);
    CHECK_EQ(vmx_lmsw_value(CR0_PE, 0, CR0_PE), 0);          /* masked PE unchanged */
}

TEST(vmx_ix_cr3_targets)
{
    static struct vmcs c;
    memset(&c, 0, sizeof(c));
    vmcs_set(&c, VMCS_CR3_TARGET_VALUE0, 0x1000);
    vmcs_set(&c, VMCS_CR3_TARGET_VALUE1, 0x2000);
    vmcs_set(&c, VMCS_CR3_TARGET_VALUE2, 0x3000);
    CHECK(!vmx_cr3_target_match(&c, 0x1000)); /* count 0: none */
    vmcs_set(&c, VMCS_CR3_TARGET_COUNT, 2);
    CHECK(vmx_cr3_target_match(&c, 0x1000));
    CHECK(vmx_cr3_target_match(&c, 0x2000));
    CHECK(!vmx_cr3_target_match(&c, 0x3000)); /* beyond the count */
    CHECK(!vmx_cr3_target_match(&c, 0));
    vmcs_set(&c, VMCS_CR3_TARGET_COUNT, 200); /* clamped to the 4 that exist */
    CHECK(vmx_cr3_target_match(&c, 0x3000));
    CHECK(vmx_cr3_target_match(&c, 0)); /* VALUE3 is 0 */
}

TEST(vmx_ix_exception_bitmap_pfec)
{
    static struct vmcs c;
    memset(&c, 0, sizeof(c));
    vmcs_set(&c, VMCS_EXCEPTION_BITMAP, (1u << EXC_UD) | (1u << EXC_PF));
    CHECK(vmx_exception_exits(&c, EXC_UD, NO_ERR));
    CHECK(!vmx_exception_exits(&c, EXC_GP, 0));
    CHECK(!vmx_exception_exits(&c, 40, NO_ERR));
    /* bit 14 set: exit iff (PFEC & mask) == match */
    vmcs_set(&c, VMCS_PAGE_FAULT_ERROR_CODE_MASK, 1); /* P bit */
    vmcs_set(&c, VMCS_PAGE_FAULT_ERROR_CODE_MATCH, 1);
    CHECK(vmx_exception_exits(&c, EXC_PF, 0x3));
    CHECK(!vmx_exception_exits(&c, EXC_PF, 0x2));
    /* bit 14 clear: exit iff they differ */
    vmcs_set(&c, VMCS_EXCEPTION_BITMAP, 1u << EXC_UD);
    CHECK(!vmx_exception_exits(&c, EXC_PF, 0x3));
    CHECK(vmx_exception_exits(&c, EXC_PF, 0x2));
    /* mask 0 match 0: bit 14 alone decides */
    vmcs_set(&c, VMCS_PAGE_FAULT_ERROR_CODE_MASK, 0);
    vmcs_set(&c, VMCS_PAGE_FAULT_ERROR_CODE_MATCH, 0);
    CHECK(!vmx_exception_exits(&c, EXC_PF, 0x7));
    /* mask 0 match 1: never equal, so bit 14 = 0 means every #PF exits */
    vmcs_set(&c, VMCS_PAGE_FAULT_ERROR_CODE_MATCH, 1);
    CHECK(vmx_exception_exits(&c, EXC_PF, 0x7));
}

TEST(vmx_ix_io_qualification)
{
    CHECK_EQ(vmx_io_qual(0x80, 1, false, false, false, true), 0x800040);
    CHECK_EQ(vmx_io_qual(0x1234, 4, true, false, false, false), 0x1234000b);
    CHECK_EQ(vmx_io_qual(0x3f8, 2, true, true, true, false), 0x3f80039);
}

/* ---------------- L2 on the engine ---------------- */

TEST(vmx_ix_cpuid_and_hlt)
{
    static const uint8_t cpuid[] = { 0x0f, 0xa2, HLT };
    struct th t;
    vl2_init(&t, 0, 0, 0);
    CHECK_EQ(vl2_run(&t, cpuid, sizeof cpuid), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_CPUID)); /* unconditional */
    CHECK_EQ(vl2_rd(&t, VMCS_VM_EXIT_INSTRUCTION_LEN), 2);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE);
    vl2_destroy(&t);

    static const uint8_t hlt[] = { 0x90, HLT };
    vl2_init(&t, 0, 0, 0);
    CHECK_EQ(vl2_run(&t, hlt, sizeof hlt), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1); /* halted inside L2 */
    vl2_destroy(&t);
    vl2_init(&t, 0, VMX_PROC_HLT, 0);
    CHECK_EQ(vl2_run(&t, hlt, sizeof hlt), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_HLT));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 1);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_ACTIVITY_STATE), 0);
    vl2_destroy(&t);
}

TEST(vmx_ix_io_exits)
{
    struct th t;
    /* I/O bitmaps: port 80H exits, 3F8H does not */
    static const uint8_t out80[] = { 0x66, 0xba, 0xf8, 0x03, 0xee, 0xe6, 0x80, HLT };
    vl2_init(&t, 0, VMX_PROC_IO_BITMAPS | VMX_PROC_UNCOND_IO, 0);
    vl2_wr(&t, VMCS_IO_BITMAP_A, BITMAP_A);
    vl2_wr(&t, VMCS_IO_BITMAP_B, BITMAP_B);
    set_bit(&t, BITMAP_A, 0x80);
    CHECK_EQ(vl2_run(&t, out80, sizeof out80), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_IO_INSTRUCTION));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 5); /* past OUT DX, AL */
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0x800040);
    CHECK_EQ(vl2_rd(&t, VMCS_VM_EXIT_INSTRUCTION_LEN), 2);
    vl2_destroy(&t);

    /* wrapping past FFFFH exits whatever the bitmaps say */
    static const uint8_t wrap[] = { 0x66, 0xba, 0xfe, 0xff, 0xef, HLT }; /* out dx, eax */
    vl2_init(&t, 0, VMX_PROC_IO_BITMAPS, 0);
    vl2_wr(&t, VMCS_IO_BITMAP_A, BITMAP_A);
    vl2_wr(&t, VMCS_IO_BITMAP_B, BITMAP_B);
    CHECK_EQ(vl2_run(&t, wrap, sizeof wrap), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_IO_INSTRUCTION));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0xfffe0003ull);
    vl2_destroy(&t);

    /* unconditional I/O exiting, IN EAX, DX */
    static const uint8_t in_dx[] = { 0x66, 0xba, 0x34, 0x12, 0xed, HLT };
    vl2_init(&t, 0, VMX_PROC_UNCOND_IO, 0);
    CHECK_EQ(vl2_run(&t, in_dx, sizeof in_dx), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_IO_INSTRUCTION));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0x1234000bull);
    vl2_destroy(&t);

    /* REP OUTSB: string, REP, linear address of DS:RSI, instruction info */
    static const uint8_t outs[] = { 0xf3, 0x6e, HLT };
    vl2_init(&t, 0, VMX_PROC_UNCOND_IO, 0);
    t.cpu.r[R_DX] = 0x3f8;
    t.cpu.r[R_SI] = 0x20010;
    t.cpu.r[R_CX] = 4;
    CHECK_EQ(vl2_run(&t, outs, sizeof outs), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_IO_INSTRUCTION));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0x3f80030ull);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_LINEAR_ADDRESS), 0x20010);
    CHECK_EQ(vl2_rd(&t, VMCS_VMX_INSTRUCTION_INFO), (2u << 7) | (SEG_DS << 15));
    CHECK_EQ(vl2_rd(&t, VMCS_VM_EXIT_INSTRUCTION_LEN), 2);
    CHECK_EQ(t.cpu.r[R_CX], 4); /* nothing done yet */
    vl2_destroy(&t);
}

TEST(vmx_ix_msr_exits)
{
    struct th t;
    static const uint8_t rd[] = { 0x0f, 0x32, HLT };
    static const uint8_t wr[] = { 0x0f, 0x30, HLT };
    vl2_init(&t, 0, VMX_PROC_MSR_BITMAPS, 0);
    vl2_wr(&t, VMCS_MSR_BITMAP, MSR_BITMAP_PA);
    set_bit(&t, MSR_BITMAP_PA, MSR_IA32_TSC);
    t.cpu.r[R_CX] = MSR_IA32_EFER;
    CHECK_EQ(vl2_run(&t, rd, sizeof rd), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1); /* not in the bitmap: read normally */
    CHECK_EQ(t.cpu.r[R_AX], (uint32_t)t.cpu.efer);
    t.cpu.r[R_CX] = MSR_IA32_TSC;
    CHECK_EQ(vl2_run(&t, rd, sizeof rd), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_MSR_READ));
    vl2_destroy(&t);

    vl2_init(&t, 0, VMX_PROC_MSR_BITMAPS, 0);
    vl2_wr(&t, VMCS_MSR_BITMAP, MSR_BITMAP_PA);
    t.cpu.r[R_CX] = 0x40000000; /* outside both ranges */
    CHECK_EQ(vl2_run(&t, wr, sizeof wr), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_MSR_WRITE));
    vl2_destroy(&t);

    vl2_init(&t, 0, 0, 0); /* no MSR bitmaps: every RDMSR exits */
    t.cpu.r[R_CX] = MSR_IA32_EFER;
    CHECK_EQ(vl2_run(&t, rd, sizeof rd), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_MSR_READ));
    vl2_destroy(&t);
}

TEST(vmx_ix_cr0_mask_and_shadow)
{
    static const uint8_t code[] = {
        0x0f, 0x20, 0xc0,       /* mov rax, cr0: shadowed */
        0x0f, 0x22, 0xc0,       /* mov cr0, rax: masked bits equal the shadow */
        0x48, 0x83, 0xc8, 0x08, /* or rax, 8 (TS) */
        0x0f, 0x22, 0xc0,       /* mov cr0, rax: exits */
        HLT,
    };
    struct th t;
    vl2_init(&t, 0, 0, 0);
    vl2_wr(&t, VMCS_CR0_GUEST_HOST_MASK, CR0_TS | CR0_MP);
    vl2_wr(&t, VMCS_CR0_READ_SHADOW, CR0_MP);
    uint64_t cr0 = t.cpu.cr0 | CR0_TS;
    t.cpu.cr0 = cr0;
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_CR_ACCESS));
    CHECK_EQ(t.cpu.r[R_AX] & (CR0_TS | CR0_MP | CR0_PE), CR0_TS | CR0_MP | CR0_PE);
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0); /* CR0, MOV to CR, RAX */
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 10);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_CR0), cr0); /* TS kept, MP not loaded */
    vl2_destroy(&t);
}

TEST(vmx_ix_clts_lmsw_smsw)
{
    static const uint8_t clts[] = { 0x0f, 0x06, HLT };
    struct th t;
    vl2_init(&t, 0, 0, 0);
    vl2_wr(&t, VMCS_CR0_GUEST_HOST_MASK, CR0_TS);
    t.cpu.cr0 |= CR0_TS;
    CHECK_EQ(vl2_run(&t, clts, sizeof clts), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK(t.cpu.cr0 & CR0_TS); /* masked, shadow clear: unchanged, no exit */
    vl2_wr(&t, VMCS_CR0_READ_SHADOW, CR0_TS);
    CHECK_EQ(vl2_run(&t, clts, sizeof clts), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_CR_ACCESS));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 2 << 4);
    vl2_destroy(&t);

    /* LMSW [mem] setting a masked PE whose shadow is 0 */
    static const uint8_t lmsw[] = { 0x0f, 0x01, 0x34, 0x25, 0x00, 0x00, 0x02, 0x00, HLT };
    vl2_init(&t, 0, 0, 0);
    vl2_wr(&t, VMCS_CR0_GUEST_HOST_MASK, CR0_PE);
    *(uint16_t *)th_mem(&t, TH_DATA) = 0x0b;
    CHECK_EQ(vl2_run(&t, lmsw, sizeof lmsw), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_CR_ACCESS));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), (3 << 4) | (1 << 6) | (0x0bull << 16));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_LINEAR_ADDRESS), TH_DATA);
    CHECK_EQ(vl2_rd(&t, VMCS_VM_EXIT_INSTRUCTION_LEN), 8);
    vl2_destroy(&t);

    /* SMSW reads through the shadow */
    static const uint8_t smsw[] = { 0x48, 0x0f, 0x01, 0xe0, HLT }; /* smsw rax */
    vl2_init(&t, 0, 0, 0);
    vl2_wr(&t, VMCS_CR0_GUEST_HOST_MASK, CR0_MP | CR0_NE);
    vl2_wr(&t, VMCS_CR0_READ_SHADOW, CR0_MP);
    CHECK_EQ(vl2_run(&t, smsw, sizeof smsw), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX], (t.cpu.cr0 & ~CR0_NE) | CR0_MP);
    vl2_destroy(&t);
}

TEST(vmx_ix_cr3_and_dr)
{
    static const uint8_t code[] = {
        0x0f, 0x22, 0xd8, /* mov cr3, rax: a target value */
        0x0f, 0x22, 0xdb, /* mov cr3, rbx: exits */
        HLT,
    };
    struct th t;
    vl2_init(&t, 0, VMX_PROC_CR3_LOAD, 0);
    vl2_wr(&t, VMCS_CR3_TARGET_COUNT, 1);
    vl2_wr(&t, VMCS_CR3_TARGET_VALUE0, TH_PT);
    t.cpu.r[R_AX] = TH_PT;
    t.cpu.r[R_BX] = TH_PT + 0x10;
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_CR_ACCESS));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 3 | (3 << 8));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 3);
    vl2_destroy(&t);

    static const uint8_t rdcr3[] = { 0x0f, 0x20, 0xd9, HLT }; /* mov rcx, cr3 */
    vl2_init(&t, 0, VMX_PROC_CR3_STORE, 0);
    CHECK_EQ(vl2_run(&t, rdcr3, sizeof rdcr3), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_CR_ACCESS));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 3 | (1 << 4) | (1 << 8));
    vl2_destroy(&t);

    static const uint8_t dr[] = { 0x0f, 0x21, 0xfa, HLT }; /* mov rdx, dr7 */
    vl2_init(&t, 0, VMX_PROC_MOV_DR, 0);
    CHECK_EQ(vl2_run(&t, dr, sizeof dr), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_DR_ACCESS));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 7 | (1 << 4) | (2 << 8));
    vl2_destroy(&t);
}

TEST(vmx_ix_tpr_shadow_cr8)
{
    static const uint8_t code[] = {
        0x44, 0x0f, 0x22, 0xc0, /* mov cr8, rax */
        0x44, 0x0f, 0x20, 0xc3, /* mov rbx, cr8 */
        HLT,
    };
    struct th t;
    vl2_init(&t, 0, VMX_PROC_TPR_SHADOW, 0);
    vl2_wr(&t, VMCS_VIRTUAL_APIC_PAGE_ADDR, VAPIC_PA);
    t.cpu.r[R_AX] = 3;
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK_EQ(t.cpu.r[R_BX], 3);
    CHECK_EQ(*(uint32_t *)th_mem(&t, VAPIC_PA + 0x80), 0x30);
    CHECK_EQ(t.cpu.cr8, 0); /* the real TPR is L1's */
    /* VTPR (3) below the threshold at VM entry: exit before anything (26.7.7) */
    vl2_wr(&t, VMCS_TPR_THRESHOLD, 5);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_TPR_BELOW_THRESHOLD));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE);
    /* MOV to CR8 dropping below it: trap-like exit after the instruction (29.1.2) */
    *(uint32_t *)th_mem(&t, VAPIC_PA + 0x80) = 0x50;
    t.cpu.r[R_AX] = 4;
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_TPR_BELOW_THRESHOLD));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 4);
    CHECK_EQ(*(uint32_t *)th_mem(&t, VAPIC_PA + 0x80), 0x40);
    vl2_destroy(&t);

    /* CR8-load exiting comes first */
    vl2_init(&t, 0, VMX_PROC_TPR_SHADOW | VMX_PROC_CR8_LOAD, 0);
    vl2_wr(&t, VMCS_VIRTUAL_APIC_PAGE_ADDR, VAPIC_PA);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_CR_ACCESS));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 8);
    vl2_destroy(&t);
}

TEST(vmx_ix_x2apic_tpr_msr)
{
    static const uint8_t code[] = {
        0x0f, 0x30, /* wrmsr 808H */
        0x0f, 0x32, /* rdmsr 808H */
        HLT,
    };
    struct th t;
    vl2_init(&t, 0, VMX_PROC_TPR_SHADOW | VMX_PROC_MSR_BITMAPS, VMX_PROC2_VIRT_X2APIC);
    vl2_wr(&t, VMCS_VIRTUAL_APIC_PAGE_ADDR, VAPIC_PA);
    vl2_wr(&t, VMCS_MSR_BITMAP, MSR_BITMAP_PA);
    t.cpu.r[R_CX] = 0x808;
    t.cpu.r[R_AX] = 0x70;
    t.cpu.r[R_DX] = 0;
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK_EQ(*(uint32_t *)th_mem(&t, VAPIC_PA + 0x80), 0x70);
    CHECK_EQ(t.cpu.r[R_AX], 0x70);
    /* bits 63:8 set: #GP */
    t.cpu.r[R_AX] = 0x170;
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    vl2_destroy(&t);
}

/* Exceptions are delivered (or VM-exit) instead of stopping the harness;
 * L2's IDT sends #PF to a HLT at L2_PF_HANDLER. */
#define L2_IDT 0x40000ull
#define L2_PF_HANDLER (TH_CODE + 0x400)

static void l2_exceptions_init(struct th *t, uint32_t bitmap)
{
    vl2_init(t, 0, 0, 0);
    vl2_wr(t, VMCS_EXCEPTION_BITMAP, bitmap);
    t->cpu.trap_exceptions = false;
    t->cpu.idtr = (struct dtr){ L2_IDT, 0xfff };
    uint64_t h = L2_PF_HANDLER;
    uint64_t lo = (h & 0xffff) | (0x08ull << 16) | (0x8eull << 40) | ((h >> 16) & 0xffff) << 48;
    vl2_put64(t, L2_IDT + 16 * EXC_PF, lo);
    vl2_put64(t, L2_IDT + 16 * EXC_PF + 8, h >> 32);
    *(uint8_t *)th_mem(t, L2_PF_HANDLER) = HLT;
}

TEST(vmx_ix_exceptions)
{
    struct th t;
    static const uint8_t ud2[] = { 0x0f, 0x0b, HLT };
    l2_exceptions_init(&t, 1u << EXC_UD);
    vl2_wr(&t, VMCS_EXCEPTION_BITMAP, 1u << EXC_UD);
    CHECK_EQ(vl2_run(&t, ud2, sizeof ud2), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_EXCEPTION_NMI));
    CHECK_EQ(vl2_rd(&t, VMCS_VM_EXIT_INTR_INFO), VMX_INTR_VALID | (3 << 8) | EXC_UD);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE);
    vl2_destroy(&t);

    static const uint8_t int3[] = { 0x90, 0xcc, HLT };
    vl2_init(&t, 0, 0, 0);
    vl2_wr(&t, VMCS_EXCEPTION_BITMAP, 1u << EXC_BP);
    CHECK_EQ(vl2_run(&t, int3, sizeof int3), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_EXCEPTION_NMI));
    CHECK_EQ(vl2_rd(&t, VMCS_VM_EXIT_INTR_INFO), VMX_INTR_VALID | (6 << 8) | EXC_BP);
    CHECK_EQ(vl2_rd(&t, VMCS_VM_EXIT_INSTRUCTION_LEN), 1);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 1);
    vl2_destroy(&t);

    /* #PF: qualification = the address, CR2 untouched, error code */
    static const uint8_t pf[] = { 0xb8, 0x00, 0x00, 0x00, 0x80, /* mov eax, 0x80000000 */
                                  0x8b, 0x00, HLT };               /* mov eax, [rax] */
    l2_exceptions_init(&t, 1u << EXC_PF);
    t.cpu.cr2 = 0x1234;
    CHECK_EQ(vl2_run(&t, pf, sizeof pf), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_EXCEPTION_NMI));
    CHECK_EQ(vl2_rd(&t, VMCS_VM_EXIT_INTR_INFO),
             VMX_INTR_VALID | VMX_INTR_ERR_VALID | (3 << 8) | EXC_PF);
    CHECK_EQ(vl2_rd(&t, VMCS_VM_EXIT_INTR_ERROR_CODE), 0);
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0x80000000ull);
    CHECK_EQ(t.cpu.cr2, 0x1234);
    vl2_destroy(&t);

    /* the same #PF with a PFEC match that fails goes to L2's handler */
    l2_exceptions_init(&t, 1u << EXC_PF);
    vl2_wr(&t, VMCS_PAGE_FAULT_ERROR_CODE_MASK, 1);
    vl2_wr(&t, VMCS_PAGE_FAULT_ERROR_CODE_MATCH, 1);
    CHECK_EQ(vl2_run(&t, pf, sizeof pf), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK_EQ(t.cpu.rip, L2_PF_HANDLER + 1);
    CHECK_EQ(t.cpu.cr2, 0x80000000ull);
    vl2_destroy(&t);
}

/* A #DB that exits leaves DR6 and DR7.GD alone; the qualification has the
 * DR6 bits (SDM 27.1, Table 27-1). */
TEST(vmx_ix_debug_exception_exits)
{
    static const uint8_t tf[] = {
        0x9c,                               /* pushfq */
        0x48, 0x81, 0x0c, 0x24, 0, 1, 0, 0, /* or qword [rsp], 0x100 */
        0x9d,                               /* popfq: TF = 1 */
        0x90,                               /* nop: single-stepped */
        HLT,
    };
    struct th t;
    vl2_init(&t, 0, 0, 0);
    vl2_wr(&t, VMCS_EXCEPTION_BITMAP, 1u << EXC_DB);
    t.cpu.trap_exceptions = false;
    CHECK_EQ(vl2_run(&t, tf, sizeof tf), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_EXCEPTION_NMI));
    CHECK_EQ(vl2_rd(&t, VMCS_VM_EXIT_INTR_INFO), VMX_INTR_VALID | (3 << 8) | EXC_DB);
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 1u << 14); /* BS */
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 11);      /* after the NOP */
    CHECK_EQ(t.cpu.dr[6], 0xffff0ff0ull);
    vl2_destroy(&t);

    static const uint8_t gd[] = { 0x0f, 0x21, 0xc0, HLT }; /* mov rax, dr0 */
    vl2_init(&t, 0, 0, 0);
    vl2_wr(&t, VMCS_EXCEPTION_BITMAP, 1u << EXC_DB);
    t.cpu.trap_exceptions = false;
    t.cpu.dr[7] = 0x400 | (1u << 13); /* GD */
    CHECK_EQ(vl2_run(&t, gd, sizeof gd), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_EXCEPTION_NMI));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 1u << 13); /* BD */
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE);           /* fault-like */
    CHECK_EQ(t.cpu.dr[6], 0xffff0ff0ull);
    vl2_destroy(&t);
}

TEST(vmx_ix_fault_priority)
{
    struct th t;
    /* XSETBV: #UD (CR4.OSXSAVE = 0) before its unconditional exit */
    static const uint8_t xsetbv[] = { 0x0f, 0x01, 0xd1, HLT };
    vl2_init(&t, 0, 0, 0);
    CHECK_EQ(vl2_run(&t, xsetbv, sizeof xsetbv), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_UD);
    vl2_destroy(&t);

    /* RDTSCP without "enable RDTSCP": #UD; with it and RDTSC exiting: exit 51 */
    static const uint8_t rdtscp[] = { 0x0f, 0x01, 0xf9, HLT };
    vl2_init(&t, 0, VMX_PROC_RDTSC, 0);
    CHECK_EQ(vl2_run(&t, rdtscp, sizeof rdtscp), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_UD);
    vl2_destroy(&t);
    vl2_init(&t, 0, VMX_PROC_RDTSC, VMX_PROC2_RDTSCP);
    CHECK_EQ(vl2_run(&t, rdtscp, sizeof rdtscp), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_RDTSCP));
    vl2_destroy(&t);

    /* CPL 3: HLT's #GP comes before HLT exiting; MOV DR exits before its
     * CPL check (25.1.3) */
    static const uint8_t hlt[] = { HLT };
    static const uint8_t dr[] = { 0x0f, 0x21, 0xf8, HLT };
    for (int i = 0; i < 2; i++) {
        vl2_init(&t, 0, VMX_PROC_HLT | VMX_PROC_MOV_DR, 0);
        cpu_set_seg(&t.cpu, SEG_SS, 0x23, 0, 0xffffffff, 0xc0f3);
        cpu_set_seg(&t.cpu, SEG_CS, 0x2b, 0, 0xffffffff, 0xa0fb);
        CHECK_EQ(t.cpu.cpl, 3);
        if (i == 0) {
            CHECK_EQ(vl2_run(&t, hlt, sizeof hlt), TH_EXCEPTION);
            CHECK_EQ(t.vector, EXC_GP);
        } else {
            CHECK_EQ(vl2_run(&t, dr, sizeof dr), TH_HALT);
            CHECK(vl2_exited(&t, EXIT_REASON_DR_ACCESS));
        }
        vl2_destroy(&t);
    }
}

TEST(vmx_ix_descriptor_tables_invlpg)
{
    struct th t;
    static const uint8_t sgdt[] = { 0x0f, 0x01, 0x04, 0x25, 0x00, 0x00, 0x02, 0x00, HLT };
    vl2_init(&t, 0, 0, VMX_PROC2_DESC_TABLE);
    CHECK_EQ(vl2_run(&t, sgdt, sizeof sgdt), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_GDTR_IDTR));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), TH_DATA); /* the displacement */
    CHECK_EQ(vl2_rd(&t, VMCS_VM_EXIT_INSTRUCTION_LEN), 8);
    CHECK_EQ(vl2_rd(&t, VMCS_VMX_INSTRUCTION_INFO) >> 28, 0); /* SGDT */
    vl2_destroy(&t);

    static const uint8_t invlpg[] = { 0x0f, 0x01, 0x38, HLT }; /* invlpg [rax] */
    vl2_init(&t, 0, VMX_PROC_INVLPG, 0);
    t.cpu.r[R_AX] = 0x123456;
    CHECK_EQ(vl2_run(&t, invlpg, sizeof invlpg), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_INVLPG));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0x123456);
    vl2_destroy(&t);
}

TEST(vmx_ix_tsc_offsetting)
{
    static const uint8_t rdtsc[] = { 0x0f, 0x31, HLT };
    struct th t;
    vl2_init(&t, 0, VMX_PROC_TSC_OFFSET, 0);
    vl2_wr(&t, VMCS_TSC_OFFSET, 1ull << 60);
    uint64_t before = cpu_read_tsc(&t.cpu);
    CHECK_EQ(vl2_run(&t, rdtsc, sizeof rdtsc), TH_HALT);
    uint64_t l2 = (uint32_t)t.cpu.r[R_AX] | t.cpu.r[R_DX] << 32;
    CHECK(l2 >= before + (1ull << 60));
    CHECK(vmx_l1_tsc(&t.cpu) < (1ull << 60)); /* L1's view has no offset */
    uint64_t msr = 0;
    CHECK_EQ(msr_read(&t.cpu, MSR_IA32_TSC, &msr), 0);
    CHECK(msr >= l2);
    vl2_destroy(&t);
}

TEST(vmx_ix_boundary_exits)
{
    static const uint8_t nops[] = { 0x90, 0x90, HLT };
    struct th t;
    /* the preemption timer at 0 exits before the first instruction */
    vl2_init(&t, VMX_PIN_PREEMPT_TIMER, 0, 0);
    t.cpu.vmx->preempt_deadline_tsc = 1;
    CHECK_EQ(vl2_run(&t, nops, sizeof nops), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_PREEMPTION_TIMER));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE);
    vl2_destroy(&t);

    /* interrupt window open */
    vl2_init(&t, 0, VMX_PROC_INTR_WINDOW, 0);
    t.cpu.rflags |= FL_IF;
    CHECK_EQ(vl2_run(&t, nops, sizeof nops), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_INTERRUPT_WINDOW));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE);
    vl2_destroy(&t);

    /* ... and opened by STI: the shadow covers one instruction */
    static const uint8_t sti_hlt[] = { 0xfb, HLT };
    vl2_init(&t, 0, VMX_PROC_INTR_WINDOW, 0);
    CHECK_EQ(vl2_run(&t, sti_hlt, sizeof sti_hlt), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_INTERRUPT_WINDOW));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 2);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_ACTIVITY_STATE), 1); /* woken from HLT */
    vl2_destroy(&t);

    /* NMI window: only without (virtual-)NMI blocking */
    vl2_init(&t, VMX_PIN_NMI | VMX_PIN_VIRTUAL_NMI, VMX_PROC_NMI_WINDOW, 0);
    t.cpu.nmi_blocked = 1;
    CHECK_EQ(vl2_run(&t, nops, sizeof nops), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1);
    t.cpu.nmi_blocked = 0;
    CHECK_EQ(vl2_run(&t, nops, sizeof nops), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_NMI_WINDOW));
    vl2_destroy(&t);

    /* a real NMI while L2 has virtual-NMI blocking still exits */
    vl2_init(&t, VMX_PIN_NMI | VMX_PIN_VIRTUAL_NMI, 0, 0);
    t.cpu.nmi_blocked = 1;
    atomic_fetch_or(&t.cpu.events, EV_NMI);
    CHECK_EQ(vl2_run(&t, nops, sizeof nops), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_EXCEPTION_NMI));
    CHECK_EQ(vl2_rd(&t, VMCS_VM_EXIT_INTR_INFO), VMX_INTR_VALID | (2 << 8) | EXC_NMI);
    CHECK_EQ(atomic_load(&t.cpu.events) & EV_NMI, 0);
    vl2_destroy(&t);

    /* MTF: an exit after every instruction (25.5.2) */
    static const uint8_t pause[] = { 0xf3, 0x90, 0x90, HLT };
    vl2_init(&t, 0, VMX_PROC_MTF, 0);
    CHECK_EQ(vl2_run(&t, pause, sizeof pause), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_MONITOR_TRAP_FLAG));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 2);
    vl2_destroy(&t);
    vl2_init(&t, 0, VMX_PROC_MTF, 0);
    CHECK_EQ(vl2_run(&t, nops, sizeof nops), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_MONITOR_TRAP_FLAG));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 1);
    vl2_destroy(&t);

    /* no controls: EV_VMX is not left set */
    vl2_init(&t, 0, 0, 0);
    CHECK_EQ(vl2_run(&t, nops, sizeof nops), TH_HALT);
    CHECK_EQ(atomic_load(&t.cpu.events) & EV_VMX, 0);
    vl2_destroy(&t);
}

/* A one-interrupt controller for the external-interrupt tests. */
static int fake_acks;
static int fake_vector(struct cpu *cpu, bool ack)
{
    if (fake_acks)
        return -1;
    if (ack)
        fake_acks++;
    return 0x31;
}
static const struct cpu_hooks fake_hooks = { .intr_vector = fake_vector,
                                             .intr_exits = vmx_intr_exits };

TEST(vmx_ix_external_interrupt_exits)
{
    static const uint8_t nops[] = { 0x90, 0x90, HLT };
    struct th t;
    for (int if_set = 0; if_set < 2; if_set++) {
        vl2_init(&t, VMX_PIN_EXT_INTR, 0, 0);
        vl2_wr(&t, VMCS_VM_EXIT_CONTROLS, VMX_EXITCTL_HOST_64 | VMX_EXITCTL_ACK_INTR);
        t.cpu.hooks = &fake_hooks;
        fake_acks = 0;
        if (if_set)
            t.cpu.rflags |= FL_IF;
        atomic_fetch_or(&t.cpu.events, EV_IRQ);
        CHECK_EQ(vl2_run(&t, nops, sizeof nops), TH_HALT);
        /* RFLAGS.IF does not block it (25.3) */
        CHECK(vl2_exited(&t, EXIT_REASON_EXTERNAL_INTERRUPT));
        CHECK_EQ(vl2_rd(&t, VMCS_VM_EXIT_INTR_INFO), VMX_INTR_VALID | 0x31);
        CHECK_EQ(fake_acks, 1);
        CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE);
        vl2_destroy(&t);
    }
}
