/*
 * test_vmx_insn.c — the VMX instructions and capability MSRs run as machine
 * code on the engine (SDM Vol.3 chapter 30, Appendix A): CPUID.1:ECX.VMX,
 * VMXON/VMXOFF, VMCLEAR/VMPTRLD/VMPTRST, VMREAD/VMWRITE (widths, high
 * halves, errors 12/13), VMLAUNCH/VMRESUME instruction checks, INVEPT,
 * INVVPID, VMCALL, VMFUNC, and the consistency of IA32_VMX_* MSRs.
 */
#include <string.h>

#include "cpu/cpuid.h"
#include "cpu/msr.h"
#include "cpu_harness.h"
#include "test.h"
#include "vmx/vmx.h"
#include "vmx/vmx_hooks.h"

#define HLT 0xf4
#define VMXON_PA 0x30000ull
#define VMCS_PA 0x31000ull
#define VMCS2_PA 0x32000ull
#define PTR_SLOT TH_DATA          /* 64-bit operand of VMXON/VMPTRLD/... */
#define BUF (TH_DATA + 0x100)     /* VMREAD/VMWRITE memory operand, descriptors */

/* Instruction bytes (64-bit mode; [rax] = ModRM 30 for /6, 38 for /7). */
#define VMXON_RAX 0xf3, 0x0f, 0xc7, 0x30
#define VMPTRLD_RAX 0x0f, 0xc7, 0x30
#define VMCLEAR_RAX 0x66, 0x0f, 0xc7, 0x30
#define VMPTRST_RAX 0x0f, 0xc7, 0x38
#define VMREAD_RBX_RAX 0x0f, 0x78, 0xc3  /* rbx := field[rax] */
#define VMWRITE_RAX_RBX 0x0f, 0x79, 0xc3 /* field[rax] := rbx */
#define VMREAD_MRCX_RAX 0x0f, 0x78, 0x01 /* [rcx] := field[rax] */
#define VMWRITE_RAX_MRCX 0x0f, 0x79, 0x01 /* field[rax] := [rcx] */
#define VMLAUNCH 0x0f, 0x01, 0xc2
#define VMRESUME 0x0f, 0x01, 0xc3
#define VMXOFF 0x0f, 0x01, 0xc4
#define VMCALL 0x0f, 0x01, 0xc1
#define VMFUNC 0x0f, 0x01, 0xd4
#define INVEPT_RAX_MRCX 0x66, 0x0f, 0x38, 0x80, 0x01
#define INVVPID_RAX_MRCX 0x66, 0x0f, 0x38, 0x81, 0x01

static const uint8_t c_vmxon[] = { VMXON_RAX, HLT };
static const uint8_t c_vmptrld[] = { VMPTRLD_RAX, HLT };
static const uint8_t c_vmclear[] = { VMCLEAR_RAX, HLT };
static const uint8_t c_vmptrst[] = { VMPTRST_RAX, HLT };
static const uint8_t c_vmread[] = { VMREAD_RBX_RAX, HLT };
static const uint8_t c_vmwrite[] = { VMWRITE_RAX_RBX, HLT };
static const uint8_t c_vmread_m[] = { VMREAD_MRCX_RAX, HLT };
static const uint8_t c_vmwrite_m[] = { VMWRITE_RAX_MRCX, HLT };
static const uint8_t c_vmlaunch[] = { VMLAUNCH, HLT };
static const uint8_t c_vmresume[] = { VMRESUME, HLT };
static const uint8_t c_vmxoff[] = { VMXOFF, HLT };
static const uint8_t c_vmcall[] = { VMCALL, HLT };
static const uint8_t c_vmfunc[] = { VMFUNC, HLT };
static const uint8_t c_invept[] = { INVEPT_RAX_MRCX, HLT };
static const uint8_t c_invvpid[] = { INVVPID_RAX_MRCX, HLT };
static const uint8_t c_rdmsr[] = { 0x0f, 0x32, HLT };

#define FAIL_INVALID FL_CF
#define FAIL_VALID FL_ZF

static void put64(struct th *t, uint64_t pa, uint64_t v)
{
    memcpy(th_mem(t, pa), &v, 8);
}

static uint64_t get64(struct th *t, uint64_t pa)
{
    uint64_t v;
    memcpy(&v, th_mem(t, pa), 8);
    return v;
}

static void put32(struct th *t, uint64_t pa, uint32_t v)
{
    memcpy(th_mem(t, pa), &v, 4);
}

/* A 64-bit CPL-0 CPU with VMX allowed and CR4.VMXE = 1, regions prepared. */
static void vt_init(struct th *t)
{
    th_init(t, TH_LONG64);
    t->cpu.vmx_allowed = true;
    vmx_cpu_init(&t->cpu);
    t->cpu.cr4 |= CR4_VMXE;
    cpu_update_mode(&t->cpu);
    put32(t, VMXON_PA, VMCS_REVISION_ID);
    put32(t, VMCS_PA, VMCS_REVISION_ID);
    put32(t, VMCS2_PA, VMCS_REVISION_ID);
}

static void vt_done(struct th *t)
{
    vmx_cpu_destroy(&t->cpu);
    th_destroy(t);
}

/* Run one instruction (code ends in HLT) with every arithmetic flag set
 * beforehand, so VMsucceed/VMfail must clear what they clear.  Returns the
 * arithmetic flags afterwards, or ~0 if it did not reach the HLT. */
static uint64_t run_flags(struct th *t, const uint8_t *code, size_t n)
{
    cpu_set_rflags(&t->cpu, 2 | FL_ARITH);
    if (th_run(t, code, n) != TH_HALT)
        return ~0ull;
    return cpu_get_rflags(&t->cpu) & FL_ARITH;
}

/* Instruction with a memory operand at [rax] = PTR_SLOT holding pa. */
static uint64_t run_ptr(struct th *t, const uint8_t *code, size_t n, uint64_t pa)
{
    put64(t, PTR_SLOT, pa);
    t->cpu.r[R_AX] = PTR_SLOT;
    return run_flags(t, code, n);
}

static uint64_t vmwrite(struct th *t, uint64_t enc, uint64_t val)
{
    t->cpu.r[R_AX] = enc;
    t->cpu.r[R_BX] = val;
    return run_flags(t, c_vmwrite, sizeof c_vmwrite);
}

static uint64_t vmread(struct th *t, uint64_t enc, uint64_t *val)
{
    t->cpu.r[R_AX] = enc;
    t->cpu.r[R_BX] = 0x5a5a5a5a5a5a5a5aull;
    uint64_t f = run_flags(t, c_vmread, sizeof c_vmread);
    *val = t->cpu.r[R_BX];
    return f;
}

/* VMXON at VMXON_PA, then VMPTRLD VMCS_PA; checks both succeed. */
static void vt_on_and_load(struct th *t)
{
    CHECK_EQ(run_ptr(t, c_vmxon, sizeof c_vmxon, VMXON_PA), 0);
    CHECK_EQ(run_ptr(t, c_vmptrld, sizeof c_vmptrld, VMCS_PA), 0);
}

static bool raised(struct th *t, enum th_result r, int vector)
{
    return r == TH_EXCEPTION && t->vector == vector;
}

TEST(vmx_cpuid_vmx_bit)
{
    struct th t;
    static const uint8_t cpuid[] = { 0x0f, 0xa2, HLT };
    th_init(&t, TH_LONG64);
    t.cpu.r[R_AX] = 1;
    t.cpu.r[R_CX] = 0;
    CHECK_EQ(th_run(&t, cpuid, sizeof cpuid), TH_HALT);
    CHECK_EQ(t.cpu.r[R_CX] & CPUID_1_ECX_VMX, 0);
    t.cpu.vmx_allowed = true;
    t.cpu.r[R_AX] = 1;
    CHECK_EQ(th_run(&t, cpuid, sizeof cpuid), TH_HALT);
    CHECK_EQ(t.cpu.r[R_CX] & CPUID_1_ECX_VMX, CPUID_1_ECX_VMX);
    th_destroy(&t);
}

TEST(vmx_vmxon_ud_gp_rules)
{
    struct th t;
    vt_init(&t);
    /* CR4.VMXE = 0: #UD (before any memory access or CPL check). */
    t.cpu.cr4 &= ~CR4_VMXE;
    put64(&t, PTR_SLOT, VMXON_PA);
    t.cpu.r[R_AX] = PTR_SLOT;
    CHECK(raised(&t, th_run(&t, c_vmxon, sizeof c_vmxon), EXC_UD));
    CHECK_EQ(t.cpu.rip, TH_CODE);
    t.cpu.cr4 |= CR4_VMXE;
    /* The other VMX instructions are #UD outside VMX operation. */
    CHECK(raised(&t, th_run(&t, c_vmptrld, sizeof c_vmptrld), EXC_UD));
    CHECK(raised(&t, th_run(&t, c_vmcall, sizeof c_vmcall), EXC_UD));
    CHECK(raised(&t, th_run(&t, c_vmxoff, sizeof c_vmxoff), EXC_UD));
    CHECK(raised(&t, th_run(&t, c_vmfunc, sizeof c_vmfunc), EXC_UD));
    /* CR0.NE is fixed to 1 in VMX operation: #GP(0). */
    t.cpu.cr0 &= ~CR0_NE;
    CHECK(raised(&t, th_run(&t, c_vmxon, sizeof c_vmxon), EXC_GP));
    CHECK_EQ(t.error, 0);
    t.cpu.cr0 |= CR0_NE;
    /* IA32_FEATURE_CONTROL without "VMX outside SMX": #GP(0). */
    t.cpu.vmx_allowed = false;
    CHECK(raised(&t, th_run(&t, c_vmxon, sizeof c_vmxon), EXC_GP));
    t.cpu.vmx_allowed = true;
    /* CPL 3: #GP(0). */
    cpu_set_seg(&t.cpu, SEG_SS, 0x23, 0, 0xffffffff, 0xc0f3);
    cpu_set_seg(&t.cpu, SEG_CS, 0x2b, 0, 0xffffffff, 0xa0fb);
    CHECK(raised(&t, th_run(&t, c_vmxon, sizeof c_vmxon), EXC_GP));
    CHECK(!t.cpu.vmx->vmxon);
    vt_done(&t);
}

TEST(vmx_vmxon_fail_invalid)
{
    struct th t;
    vt_init(&t);
    put32(&t, VMXON_PA, VMCS_REVISION_ID + 1);
    CHECK_EQ(run_ptr(&t, c_vmxon, sizeof c_vmxon, VMXON_PA), FAIL_INVALID);
    put32(&t, VMXON_PA, VMCS_REVISION_ID | 0x80000000u); /* shadow bit: invalid */
    CHECK_EQ(run_ptr(&t, c_vmxon, sizeof c_vmxon, VMXON_PA), FAIL_INVALID);
    put32(&t, VMXON_PA, VMCS_REVISION_ID);
    CHECK_EQ(run_ptr(&t, c_vmxon, sizeof c_vmxon, VMXON_PA + 8), FAIL_INVALID); /* alignment */
    CHECK_EQ(run_ptr(&t, c_vmxon, sizeof c_vmxon, 1ull << 40), FAIL_INVALID); /* > MAXPHYADDR */
    CHECK_EQ(run_ptr(&t, c_vmxon, sizeof c_vmxon, 0xfee00000ull), FAIL_INVALID); /* not RAM */
    CHECK(!t.cpu.vmx->vmxon);
    /* Still outside VMX operation. */
    CHECK(raised(&t, th_run(&t, c_vmptrld, sizeof c_vmptrld), EXC_UD));
    vt_done(&t);
}

TEST(vmx_vmxon_success_and_again)
{
    struct th t;
    vt_init(&t);
    CHECK_EQ(run_ptr(&t, c_vmxon, sizeof c_vmxon, VMXON_PA), 0);
    CHECK(t.cpu.vmx->vmxon);
    CHECK_EQ(t.cpu.rip, TH_CODE + 5); /* after VMXON, at the HLT's successor */
    /* In VMX root without a current VMCS: VMfailInvalid. */
    CHECK_EQ(run_ptr(&t, c_vmxon, sizeof c_vmxon, VMXON_PA), FAIL_INVALID);
    CHECK_EQ(run_ptr(&t, c_vmptrld, sizeof c_vmptrld, VMCS_PA), 0);
    /* With one: VMfailValid(15), read back through VMREAD 4400H. */
    CHECK_EQ(run_ptr(&t, c_vmxon, sizeof c_vmxon, VMXON_PA), FAIL_VALID);
    uint64_t err = 0;
    CHECK_EQ(vmread(&t, 0x4400, &err), 0);
    CHECK_EQ(err, VMXERR_VMXON_IN_ROOT);
    vt_done(&t);
}

TEST(vmx_vmread_vmwrite_roundtrip)
{
    struct th t;
    vt_init(&t);
    vt_on_and_load(&t);
    uint64_t v = 0;
    /* 64-bit field (TSC offset 2010H) and its high half (2011H). */
    CHECK_EQ(vmwrite(&t, 0x2010, 0x1122334455667788ull), 0);
    CHECK_EQ(vmread(&t, 0x2010, &v), 0);
    CHECK_EQ(v, 0x1122334455667788ull);
    CHECK_EQ(vmread(&t, 0x2011, &v), 0);
    CHECK_EQ(v, 0x11223344);
    CHECK_EQ(vmwrite(&t, 0x2011, 0xaabbccddull), 0);
    CHECK_EQ(vmread(&t, 0x2010, &v), 0);
    CHECK_EQ(v, 0xaabbccdd55667788ull);
    /* 16-bit field truncates (guest ES selector 0800H). */
    CHECK_EQ(vmwrite(&t, 0x0800, 0x12345), 0);
    CHECK_EQ(vmread(&t, 0x0800, &v), 0);
    CHECK_EQ(v, 0x2345);
    /* 32-bit field (exception bitmap 4004H). */
    CHECK_EQ(vmwrite(&t, 0x4004, 0xffffffff12345678ull), 0);
    CHECK_EQ(vmread(&t, 0x4004, &v), 0);
    CHECK_EQ(v, 0x12345678);
    /* Natural width (guest RIP 681EH). */
    CHECK_EQ(vmwrite(&t, 0x681e, 0xffff800012345678ull), 0);
    CHECK_EQ(vmread(&t, 0x681e, &v), 0);
    CHECK_EQ(v, 0xffff800012345678ull);
    /* Memory operands. */
    put64(&t, BUF, 0x0123456789abcdefull);
    t.cpu.r[R_AX] = 0x6c16; /* host RIP */
    t.cpu.r[R_CX] = BUF;
    CHECK_EQ(run_flags(&t, c_vmwrite_m, sizeof c_vmwrite_m), 0);
    put64(&t, BUF + 8, 0);
    t.cpu.r[R_AX] = 0x6c16;
    t.cpu.r[R_CX] = BUF + 8;
    CHECK_EQ(run_flags(&t, c_vmread_m, sizeof c_vmread_m), 0);
    CHECK_EQ(get64(&t, BUF + 8), 0x0123456789abcdefull);
    vt_done(&t);
}

TEST(vmx_vmread_vmwrite_errors)
{
    struct th t;
    vt_init(&t);
    CHECK_EQ(run_ptr(&t, c_vmxon, sizeof c_vmxon, VMXON_PA), 0);
    uint64_t v = 0;
    /* No current VMCS: VMfailInvalid, destination untouched. */
    CHECK_EQ(vmread(&t, 0x2010, &v), FAIL_INVALID);
    CHECK_EQ(v, 0x5a5a5a5a5a5a5a5aull);
    CHECK_EQ(vmwrite(&t, 0x2010, 1), FAIL_INVALID);
    CHECK_EQ(run_ptr(&t, c_vmptrld, sizeof c_vmptrld, VMCS_PA), 0);
    /* Unsupported encodings: error 12. */
    static const uint64_t bad[] = { 0x0006, 0x4001 /* high of a 32-bit field */, 0x6c18,
                                    0x8000, 0x100002010ull };
    for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_EQ(vmread(&t, bad[i], &v), FAIL_VALID);
        CHECK_EQ(vmwrite(&t, bad[i], 1), FAIL_VALID);
        CHECK_EQ(vmread(&t, 0x4400, &v), 0);
        CHECK_EQ(v, VMXERR_UNSUPPORTED_FIELD);
    }
    /* VM-exit information fields: writable, IA32_VMX_MISC[29] = 1 (30.3 VMWRITE). */
    CHECK_EQ(vmwrite(&t, 0x4402, 5), 0);
    CHECK_EQ(vmread(&t, 0x4402, &v), 0);
    CHECK_EQ(v, 5);
    CHECK_EQ(vmwrite(&t, 0x2401, 5), 0); /* high half of guest-physical address */
    CHECK_EQ(vmread(&t, 0x2400, &v), 0);
    CHECK_EQ(v, 5ull << 32);
    CHECK_EQ(vmwrite(&t, 0x6400, 0x1234567890ull), 0); /* exit qualification */
    CHECK_EQ(vmread(&t, 0x6400, &v), 0);
    CHECK_EQ(v, 0x1234567890ull);
    /* CPL 3: #GP(0). */
    cpu_set_seg(&t.cpu, SEG_SS, 0x23, 0, 0xffffffff, 0xc0f3);
    cpu_set_seg(&t.cpu, SEG_CS, 0x2b, 0, 0xffffffff, 0xa0fb);
    t.cpu.r[R_AX] = 0x2010;
    CHECK(raised(&t, th_run(&t, c_vmread, sizeof c_vmread), EXC_GP));
    /* Compatibility mode: #UD. */
    cpu_set_seg(&t.cpu, SEG_SS, 0x10, 0, 0xffffffff, 0xc093);
    cpu_set_seg(&t.cpu, SEG_CS, 0x18, 0, 0xffffffff, 0xc09b);
    CHECK(raised(&t, th_run(&t, c_vmread, sizeof c_vmread), EXC_UD));
    vt_done(&t);
}

TEST(vmx_vmclear_writes_region)
{
    struct th t;
    vt_init(&t);
    vt_on_and_load(&t);
    CHECK_EQ(vmwrite(&t, 0x2010, 0xfeedfacecafebeefull), 0);
    CHECK_EQ(vmwrite(&t, 0x0800, 0x1234), 0);
    t.cpu.vmx->current_launched = true; /* as after a successful VMLAUNCH */
    put64(&t, VMCS_PA + 8, 0x77);       /* stale memory content */
    CHECK_EQ(run_ptr(&t, c_vmclear, sizeof c_vmclear, VMCS_PA), 0);
    /* Layout (vmcs.h): revision, abort, launch state at 8, fields at 10H. */
    CHECK_EQ(get64(&t, VMCS_PA) & 0xffffffff, VMCS_REVISION_ID);
    CHECK_EQ(get64(&t, VMCS_PA + 8), 0);
    CHECK_EQ(get64(&t, VMCS_PA + VMCS_REGION_DATA + 8 * VMCS_TSC_OFFSET), 0xfeedfacecafebeefull);
    CHECK_EQ(get64(&t, VMCS_PA + VMCS_REGION_DATA + 8 * VMCS_GUEST_ES_SELECTOR), 0x1234);
    /* No current VMCS any more. */
    uint64_t v;
    CHECK_EQ(vmread(&t, 0x2010, &v), FAIL_INVALID);
    put64(&t, BUF, 0);
    t.cpu.r[R_AX] = BUF;
    CHECK_EQ(run_flags(&t, c_vmptrst, sizeof c_vmptrst), 0);
    CHECK_EQ(get64(&t, BUF), ~0ull);
    /* VMPTRLD brings the fields back, launch state clear. */
    CHECK_EQ(run_ptr(&t, c_vmptrld, sizeof c_vmptrld, VMCS_PA), 0);
    CHECK(!t.cpu.vmx->current_launched);
    CHECK_EQ(vmread(&t, 0x2010, &v), 0);
    CHECK_EQ(v, 0xfeedfacecafebeefull);
    /* VMCLEAR errors: alignment (2), the VMXON pointer (3). */
    CHECK_EQ(run_ptr(&t, c_vmclear, sizeof c_vmclear, VMCS_PA + 0x10), FAIL_VALID);
    CHECK_EQ(vmread(&t, 0x4400, &v), 0);
    CHECK_EQ(v, VMXERR_VMCLEAR_INVALID_ADDR);
    CHECK_EQ(run_ptr(&t, c_vmclear, sizeof c_vmclear, VMXON_PA), FAIL_VALID);
    CHECK_EQ(vmread(&t, 0x4400, &v), 0);
    CHECK_EQ(v, VMXERR_VMCLEAR_VMXON_PTR);
    /* VMCLEAR of a non-current VMCS only clears its launch state. */
    put64(&t, VMCS2_PA + 8, 1);
    CHECK_EQ(run_ptr(&t, c_vmclear, sizeof c_vmclear, VMCS2_PA), 0);
    CHECK_EQ(get64(&t, VMCS2_PA + 8), 0);
    CHECK_EQ(t.cpu.vmx->current, VMCS_PA);
    vt_done(&t);
}

TEST(vmx_vmptrld_switch_and_errors)
{
    struct th t;
    vt_init(&t);
    vt_on_and_load(&t);
    uint64_t v;
    CHECK_EQ(vmwrite(&t, 0x4004, 0x11), 0);
    t.cpu.vmx->current_launched = true;
    /* Switching to another VMCS writes the first back (launch state kept). */
    CHECK_EQ(run_ptr(&t, c_vmptrld, sizeof c_vmptrld, VMCS2_PA), 0);
    CHECK_EQ(get64(&t, VMCS_PA + VMCS_REGION_DATA + 8 * VMCS_EXCEPTION_BITMAP), 0x11);
    CHECK_EQ(get64(&t, VMCS_PA + 8), 1);
    CHECK_EQ(vmread(&t, 0x4004, &v), 0);
    CHECK_EQ(v, 0);
    CHECK_EQ(run_ptr(&t, c_vmptrld, sizeof c_vmptrld, VMCS_PA), 0);
    CHECK(t.cpu.vmx->current_launched);
    CHECK_EQ(vmread(&t, 0x4004, &v), 0);
    CHECK_EQ(v, 0x11);
    /* VMPTRST stores the current-VMCS pointer. */
    t.cpu.r[R_AX] = BUF;
    CHECK_EQ(run_flags(&t, c_vmptrst, sizeof c_vmptrst), 0);
    CHECK_EQ(get64(&t, BUF), VMCS_PA);
    /* Errors 9 (address), 10 (VMXON pointer), 11 (revision). */
    CHECK_EQ(run_ptr(&t, c_vmptrld, sizeof c_vmptrld, VMCS2_PA | 0x800), FAIL_VALID);
    CHECK_EQ(vmread(&t, 0x4400, &v), 0);
    CHECK_EQ(v, VMXERR_VMPTRLD_INVALID_ADDR);
    CHECK_EQ(run_ptr(&t, c_vmptrld, sizeof c_vmptrld, VMXON_PA), FAIL_VALID);
    CHECK_EQ(vmread(&t, 0x4400, &v), 0);
    CHECK_EQ(v, VMXERR_VMPTRLD_VMXON_PTR);
    put32(&t, VMCS2_PA, 0x1234);
    CHECK_EQ(run_ptr(&t, c_vmptrld, sizeof c_vmptrld, VMCS2_PA), FAIL_VALID);
    CHECK_EQ(vmread(&t, 0x4400, &v), 0);
    CHECK_EQ(v, VMXERR_VMPTRLD_BAD_REVISION);
    CHECK_EQ(t.cpu.vmx->current, VMCS_PA);
    /* A shadow VMCS (bit 31) can be made current, but not launched. */
    put32(&t, VMCS2_PA, VMCS_REVISION_ID | 0x80000000u);
    CHECK_EQ(run_ptr(&t, c_vmptrld, sizeof c_vmptrld, VMCS2_PA), 0);
    CHECK_EQ(run_flags(&t, c_vmlaunch, sizeof c_vmlaunch), FAIL_INVALID);
    vt_done(&t);
}

TEST(vmx_vmlaunch_vmresume_checks)
{
    struct th t;
    vt_init(&t);
    CHECK_EQ(run_ptr(&t, c_vmxon, sizeof c_vmxon, VMXON_PA), 0);
    CHECK_EQ(run_flags(&t, c_vmlaunch, sizeof c_vmlaunch), FAIL_INVALID);
    CHECK_EQ(run_flags(&t, c_vmresume, sizeof c_vmresume), FAIL_INVALID);
    CHECK_EQ(run_ptr(&t, c_vmptrld, sizeof c_vmptrld, VMCS_PA), 0);
    uint64_t v;
    /* VMRESUME of a clear VMCS: error 5; VMLAUNCH of a launched one: 4. */
    CHECK_EQ(run_flags(&t, c_vmresume, sizeof c_vmresume), FAIL_VALID);
    CHECK_EQ(vmread(&t, 0x4400, &v), 0);
    CHECK_EQ(v, VMXERR_VMRESUME_NONLAUNCHED);
    t.cpu.vmx->current_launched = true;
    CHECK_EQ(run_flags(&t, c_vmlaunch, sizeof c_vmlaunch), FAIL_VALID);
    CHECK_EQ(vmread(&t, 0x4400, &v), 0);
    CHECK_EQ(v, VMXERR_VMLAUNCH_NONCLEAR);
    /* Right after MOV SS: error 26 (before the launch-state check). */
    static const uint8_t movss_launch[] = { 0x8e, 0xd0, VMLAUNCH, HLT }; /* mov ss, ax */
    cpu_set_rflags(&t.cpu, 2);
    t.cpu.r[R_AX] = 0x10;
    CHECK_EQ(th_run(&t, movss_launch, sizeof movss_launch), TH_HALT);
    CHECK_EQ(cpu_get_rflags(&t.cpu) & FL_ARITH, FAIL_VALID);
    CHECK_EQ(vmread(&t, 0x4400, &v), 0);
    CHECK_EQ(v, VMXERR_ENTRY_EVENTS_BLOCKED_MOV_SS);
    /* One instruction later the blocking is gone. */
    static const uint8_t movss_nop_launch[] = { 0x8e, 0xd0, 0x90, VMLAUNCH, HLT };
    t.cpu.r[R_AX] = 0x10;
    CHECK_EQ(th_run(&t, movss_nop_launch, sizeof movss_nop_launch), TH_HALT);
    CHECK_EQ(vmread(&t, 0x4400, &v), 0);
    CHECK_EQ(v, VMXERR_VMLAUNCH_NONCLEAR);
    vt_done(&t);
}

TEST(vmx_vmxoff_and_vmcall)
{
    struct th t;
    vt_init(&t);
    CHECK_EQ(run_ptr(&t, c_vmxon, sizeof c_vmxon, VMXON_PA), 0);
    /* VMCALL in VMX root: VMfailInvalid without a current VMCS, else error 1. */
    CHECK_EQ(run_flags(&t, c_vmcall, sizeof c_vmcall), FAIL_INVALID);
    CHECK_EQ(run_ptr(&t, c_vmptrld, sizeof c_vmptrld, VMCS_PA), 0);
    CHECK_EQ(run_flags(&t, c_vmcall, sizeof c_vmcall), FAIL_VALID);
    uint64_t v;
    CHECK_EQ(vmread(&t, 0x4400, &v), 0);
    CHECK_EQ(v, VMXERR_VMCALL_IN_ROOT);
    /* VMFUNC is #UD in VMX root operation. */
    CHECK(raised(&t, th_run(&t, c_vmfunc, sizeof c_vmfunc), EXC_UD));
    CHECK_EQ(run_flags(&t, c_vmxoff, sizeof c_vmxoff), 0);
    CHECK(!t.cpu.vmx->vmxon);
    CHECK(raised(&t, th_run(&t, c_vmread, sizeof c_vmread), EXC_UD));
    CHECK(raised(&t, th_run(&t, c_vmxoff, sizeof c_vmxoff), EXC_UD));
    /* VMXON again starts without a current VMCS. */
    CHECK_EQ(run_ptr(&t, c_vmxon, sizeof c_vmxon, VMXON_PA), 0);
    CHECK_EQ(vmread(&t, 0x4400, &v), FAIL_INVALID);
    vt_done(&t);
}

TEST(vmx_invept_invvpid)
{
    struct th t;
    vt_init(&t);
    vt_on_and_load(&t);
    uint64_t v;
    t.cpu.r[R_CX] = BUF;
    put64(&t, BUF, 0);
    put64(&t, BUF + 8, 0);
    /* INVEPT: type 3 unsupported, type 2 all-context fine, type 1 needs a
     * valid EPTP (WB, 4-level). */
    t.cpu.r[R_AX] = 3;
    CHECK_EQ(run_flags(&t, c_invept, sizeof c_invept), FAIL_VALID);
    CHECK_EQ(vmread(&t, 0x4400, &v), 0);
    CHECK_EQ(v, VMXERR_INVALID_INVEPT_INVVPID);
    t.cpu.r[R_AX] = 2;
    t.cpu.r[R_CX] = BUF;
    CHECK_EQ(run_flags(&t, c_invept, sizeof c_invept), 0);
    t.cpu.r[R_AX] = 1;
    CHECK_EQ(run_flags(&t, c_invept, sizeof c_invept), FAIL_VALID); /* EPTP 0 */
    put64(&t, BUF, 0x40000 | 0x1e);
    t.cpu.r[R_AX] = 1;
    CHECK_EQ(run_flags(&t, c_invept, sizeof c_invept), 0);
    /* INVVPID: VPID 0 is invalid for types 0, 1, 3; bits 63:16 reserved;
     * type 0 needs a canonical address. */
    put64(&t, BUF, 0);
    for (uint64_t type = 0; type < 4; type++) {
        t.cpu.r[R_AX] = type;
        CHECK_EQ(run_flags(&t, c_invvpid, sizeof c_invvpid), type == 2 ? 0 : FAIL_VALID);
    }
    put64(&t, BUF, 5);
    put64(&t, BUF + 8, 0x0000800000000000ull);
    t.cpu.r[R_AX] = 0;
    CHECK_EQ(run_flags(&t, c_invvpid, sizeof c_invvpid), FAIL_VALID);
    put64(&t, BUF + 8, 0xffff800000000000ull);
    t.cpu.r[R_AX] = 0;
    CHECK_EQ(run_flags(&t, c_invvpid, sizeof c_invvpid), 0);
    t.cpu.r[R_AX] = 1;
    CHECK_EQ(run_flags(&t, c_invvpid, sizeof c_invvpid), 0);
    put64(&t, BUF, 5 | 1ull << 16);
    t.cpu.r[R_AX] = 2;
    CHECK_EQ(run_flags(&t, c_invvpid, sizeof c_invvpid), FAIL_VALID);
    t.cpu.r[R_AX] = 4;
    CHECK_EQ(run_flags(&t, c_invvpid, sizeof c_invvpid), FAIL_VALID);
    vt_done(&t);
}

static uint64_t rdmsr(struct th *t, uint32_t msr, bool *gp)
{
    t->cpu.r[R_CX] = msr;
    enum th_result r = th_run(t, c_rdmsr, sizeof c_rdmsr);
    *gp = raised(t, r, EXC_GP);
    return (t->cpu.r[R_DX] & 0xffffffff) << 32 | (t->cpu.r[R_AX] & 0xffffffff);
}

static void check_ctl_pair(uint64_t plain, uint64_t tru)
{
    uint32_t p0 = (uint32_t)plain, p1 = (uint32_t)(plain >> 32);
    uint32_t t0 = (uint32_t)tru, t1 = (uint32_t)(tru >> 32);
    CHECK_EQ(p0 & ~p1, 0);  /* every must-be-1 bit may be 1 */
    CHECK_EQ(t0 & ~t1, 0);
    CHECK_EQ(t1, p1);       /* same allowed-1 settings (SDM A.3) */
    CHECK_EQ(t0 & ~p0, 0);  /* TRUE only relaxes must-be-1 bits */
}

TEST(vmx_capability_msrs)
{
    struct th t;
    vt_init(&t);
    bool gp = false;
    uint64_t basic = rdmsr(&t, 0x480, &gp);
    CHECK(!gp);
    CHECK_EQ(basic & 0x7fffffff, VMCS_REVISION_ID);
    CHECK_EQ((basic >> 32) & 0x1fff, 4096);
    CHECK_EQ((basic >> 50) & 0xf, 6);
    CHECK(basic & (1ull << 54));
    CHECK(basic & (1ull << 55));
    CHECK(!(basic & (1ull << 48)));
    uint64_t pin = rdmsr(&t, 0x481, &gp), proc = rdmsr(&t, 0x482, &gp);
    uint64_t exit = rdmsr(&t, 0x483, &gp), entry = rdmsr(&t, 0x484, &gp);
    check_ctl_pair(pin, rdmsr(&t, 0x48d, &gp));
    check_ctl_pair(proc, rdmsr(&t, 0x48e, &gp));
    check_ctl_pair(exit, rdmsr(&t, 0x48f, &gp));
    check_ctl_pair(entry, rdmsr(&t, 0x490, &gp));
    /* Default1 classes in the non-TRUE MSRs (SDM A.3.1, A.3.2, A.4, A.5). */
    CHECK_EQ((uint32_t)pin & 0x16, 0x16);
    CHECK_EQ((uint32_t)proc & 0x0401e172, 0x0401e172);
    CHECK_EQ((uint32_t)exit & 0x00036dff, 0x00036dff);
    CHECK_EQ((uint32_t)entry & 0x000011ff, 0x000011ff);
    /* What kvm_intel needs: secondary controls, EPT, VPID, unrestricted guest. */
    CHECK(proc >> 32 & VMX_PROC_SECONDARY);
    uint64_t proc2 = rdmsr(&t, 0x48b, &gp);
    CHECK(!gp);
    CHECK_EQ((uint32_t)proc2, 0);
    uint32_t want2 = VMX_PROC2_EPT | VMX_PROC2_VPID | VMX_PROC2_UNRESTRICTED;
    CHECK_EQ((proc2 >> 32) & want2, want2);
    CHECK(!((proc2 >> 32) & VMX_PROC2_PAUSE_LOOP));
    /* The exported masks are the MSR values. */
    uint32_t m1, a1;
    vmx_allowed_pin(true, &m1, &a1);
    CHECK_EQ(((uint64_t)a1 << 32 | m1), rdmsr(&t, 0x48d, &gp));
    vmx_allowed_proc2(&m1, &a1);
    CHECK_EQ(((uint64_t)a1 << 32 | m1), proc2);
    CHECK(vmx_ctl_ok(m1 | VMX_PROC2_EPT, m1, a1));
    CHECK(!vmx_ctl_ok(VMX_PROC2_PAUSE_LOOP, m1, a1));
    /* MISC: HLT + wait-for-SIPI, 4 CR3 targets, 512-entry MSR lists. */
    uint64_t misc = rdmsr(&t, 0x485, &gp);
    CHECK_EQ(misc & 0x1c0, 0x140);
    CHECK_EQ((misc >> 16) & 0x1ff, 4);
    CHECK_EQ((misc >> 25) & 7, 0);
    CHECK(misc & VMX_MISC_VMWRITE_ANY); /* VMWRITE to exit-information fields works */
    /* Fixed CR0/CR4 bits. */
    uint64_t cr0f0 = rdmsr(&t, 0x486, &gp), cr0f1 = rdmsr(&t, 0x487, &gp);
    uint64_t cr4f0 = rdmsr(&t, 0x488, &gp), cr4f1 = rdmsr(&t, 0x489, &gp);
    CHECK_EQ(cr0f0, CR0_PE | CR0_NE | CR0_PG);
    CHECK_EQ(cr0f0 & ~cr0f1, 0);
    CHECK_EQ(cr4f0, CR4_VMXE);
    CHECK_EQ(cr4f0 & ~cr4f1, 0);
    CHECK_EQ(cr4f1, cpuid_cr4_valid_bits(&t.cpu));
    /* VMCS_ENUM: highest field index in vmcs_fields.def. */
    unsigned hi = 0;
    for (int i = 0; i < VMCS_NFIELDS; i++) {
        unsigned idx = (vmcs_field_encoding((enum vmcs_field)i) >> 1) & 0x1ff;
        hi = idx > hi ? idx : hi;
    }
    CHECK_EQ(rdmsr(&t, 0x48a, &gp), hi << 1);
    /* EPT/VPID: 4-level walks, WB, 2M/1G pages, INVEPT/INVVPID types. */
    uint64_t ept = rdmsr(&t, 0x48c, &gp);
    uint64_t want = VMX_EPT_PWL4 | VMX_EPT_MT_WB | VMX_EPT_2MB | VMX_EPT_1GB |
                    VMX_EPT_INVEPT | VMX_EPT_INVEPT_SINGLE | VMX_EPT_INVEPT_ALL |
                    VMX_VPID_INVVPID | VMX_VPID_SINGLE | VMX_VPID_ALL;
    CHECK_EQ(ept & want, want);
    CHECK_EQ(rdmsr(&t, 0x491, &gp), 1);
    CHECK(!gp);
    /* Outside the range: #GP. */
    rdmsr(&t, 0x492, &gp);
    CHECK(gp);
    /* IA32_FEATURE_CONTROL: locked, VMX outside SMX. */
    CHECK_EQ(rdmsr(&t, 0x3a, &gp) & 5, 5);
    /* Without VMX in the machine: #GP, and feature control says so. */
    t.cpu.vmx_allowed = false;
    rdmsr(&t, 0x480, &gp);
    CHECK(gp);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(rdmsr(&t, 0x3a, &gp) & 5, 1);
    vt_done(&t);
}

TEST(vmx_msr_read_hook)
{
    struct cpu c;
    memset(&c, 0, sizeof(c));
    uint64_t v = 0;
    CHECK_EQ(vmx_msr_read(&c, 0x480, &v), -1); /* no VMX: #GP */
    c.vmx_allowed = true;
    CHECK_EQ(vmx_msr_read(&c, 0x480, &v), 0);
    CHECK_EQ(v & 0x7fffffff, VMCS_REVISION_ID);
    CHECK_EQ(vmx_msr_read(&c, 0x47f, &v), -1);
    CHECK(vmx_eptp_valid(0x1234000 | 0x5e));  /* WB, 4 levels, A/D */
    CHECK(!vmx_eptp_valid(0x1234000 | 0x18)); /* UC not advertised */
    CHECK(!vmx_eptp_valid(0x1234000 | 0x16)); /* 3-level walk */
    CHECK(!vmx_eptp_valid(0x1234000 | 0x11e)); /* reserved bit 8 */
    CHECK(!vmx_eptp_valid(1ull << 40 | 0x1e));
}

/* Non-root operation as VM entry leaves it, for the paths the intercept
 * gate passes to the instruction (VMCS shadowing, VMFUNC).  No EPT. */
static void vt_fake_nonroot(struct th *t, uint32_t proc2)
{
    struct vmcs *c = &t->cpu.vmx->vmcs;
    vmcs_set(c, VMCS_CPU_BASED_VM_EXEC_CONTROL, 0x0401e172u | VMX_PROC_SECONDARY);
    vmcs_set(c, VMCS_SECONDARY_VM_EXEC_CONTROL, proc2);
    t->cpu.nonroot = 1;
    tlb_flush_all(&t->cpu);
}

#define BITMAP_R 0x33000ull
#define BITMAP_W 0x34000ull

TEST(vmx_shadow_vmcs_nonroot)
{
    struct th t;
    vt_init(&t);
    vt_on_and_load(&t);
    put32(&t, VMCS2_PA, VMCS_REVISION_ID | 0x80000000u); /* shadow VMCS */
    CHECK_EQ(vmwrite(&t, 0x2800, VMCS2_PA), 0);            /* VMCS link pointer */
    CHECK_EQ(vmwrite(&t, 0x2026, BITMAP_R), 0);
    CHECK_EQ(vmwrite(&t, 0x2028, BITMAP_W), 0);
    CHECK_EQ(vmwrite(&t, 0x4004, 0x99), 0); /* exception bitmap of the current VMCS */
    memset(th_mem(&t, BITMAP_R), 0, 4096);
    memset(th_mem(&t, BITMAP_W), 0, 4096);
    vt_fake_nonroot(&t, VMX_PROC2_SHADOW_VMCS);
    CHECK(!vmx_vmrw_exits(&t.cpu, 0x4004, false));
    CHECK(vmx_vmrw_exits(&t.cpu, 0x8000, false)); /* bits 63:15 set */
    /* VMWRITE/VMREAD go to the shadow VMCS region, not the current VMCS. */
    uint64_t v;
    CHECK_EQ(vmwrite(&t, 0x4004, 0x1234), 0);
    CHECK_EQ(get64(&t, VMCS2_PA + VMCS_REGION_DATA + 8 * VMCS_EXCEPTION_BITMAP), 0x1234);
    CHECK_EQ(vmcs_get(&t.cpu.vmx->vmcs, VMCS_EXCEPTION_BITMAP), 0x99);
    CHECK_EQ(vmread(&t, 0x4004, &v), 0);
    CHECK_EQ(v, 0x1234);
    put64(&t, VMCS2_PA + VMCS_REGION_DATA + 8 * VMCS_TSC_OFFSET, 0x8877665544332211ull);
    CHECK_EQ(vmread(&t, 0x2011, &v), 0);
    CHECK_EQ(v, 0x88776655);
    CHECK_EQ(vmwrite(&t, 0x0800, 0xabcdef), 0); /* 16-bit field truncates */
    CHECK_EQ(get64(&t, VMCS2_PA + VMCS_REGION_DATA + 8 * VMCS_GUEST_ES_SELECTOR), 0xcdef);
    /* Exit-information fields are writable in the shadow VMCS too (MISC[29]);
     * errors go into the current VMCS: unsupported field 12. */
    CHECK_EQ(vmwrite(&t, 0x4402, 1), 0);
    CHECK_EQ(get64(&t, VMCS2_PA + VMCS_REGION_DATA + 8 * VMCS_VM_EXIT_REASON), 1);
    CHECK_EQ(vmwrite(&t, 0x6c40, 1), FAIL_VALID);
    CHECK_EQ(vmcs_get(&t.cpu.vmx->vmcs, VMCS_VM_INSTRUCTION_ERROR), VMXERR_UNSUPPORTED_FIELD);
    /* Bitmap bit set: the access exits to L1 instead. */
    ((uint8_t *)th_mem(&t, BITMAP_W))[0x4004 >> 3] |= 1u << (0x4004 & 7);
    CHECK(vmx_vmrw_exits(&t.cpu, 0x4004, true));
    CHECK(!vmx_vmrw_exits(&t.cpu, 0x4004, false));
    /* Shadowing off: every VMREAD/VMWRITE exits. */
    vmcs_set(&t.cpu.vmx->vmcs, VMCS_SECONDARY_VM_EXEC_CONTROL, 0);
    CHECK(vmx_vmrw_exits(&t.cpu, 0x4004, false));
    t.cpu.nonroot = 0;
    vt_done(&t);
}

#define EPTP_LIST 0x35000ull

TEST(vmx_vmfunc_eptp_switching)
{
    struct th t;
    vt_init(&t);
    vt_on_and_load(&t);
    CHECK_EQ(vmwrite(&t, 0x2018, 1), 0); /* VM-function controls: EPTP switching */
    CHECK_EQ(vmwrite(&t, 0x2024, EPTP_LIST), 0);
    memset(th_mem(&t, EPTP_LIST), 0, 4096);
    put64(&t, EPTP_LIST + 8 * 3, 0x600000 | 0x5e);
    vt_fake_nonroot(&t, VMX_PROC2_VMFUNC);
    t.cpu.r[R_AX] = 0;
    t.cpu.r[R_CX] = 3;
    CHECK_EQ(th_run(&t, c_vmfunc, sizeof c_vmfunc), TH_HALT);
    CHECK_EQ(vmcs_get(&t.cpu.vmx->vmcs, VMCS_EPT_POINTER), 0x600000 | 0x5e);
    /* "enable VM functions" = 0: #UD. */
    vmcs_set(&t.cpu.vmx->vmcs, VMCS_SECONDARY_VM_EXEC_CONTROL, 0);
    tlb_flush_all(&t.cpu);
    CHECK(raised(&t, th_run(&t, c_vmfunc, sizeof c_vmfunc), EXC_UD));
    t.cpu.nonroot = 0;
    vt_done(&t);
}

TEST(vmx_trace_and_stats)
{
    struct th t;
    vt_init(&t);
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f) {
        vt_done(&t);
        return;
    }
    CHECK_EQ(run_ptr(&t, c_vmxon, sizeof c_vmxon, VMXON_PA), 0); /* not traced: off */
    t.cpu.vmx->trace_file = f;
    t.cpu.vmx->trace = true;
    CHECK_EQ(run_ptr(&t, c_vmptrld, sizeof c_vmptrld, VMCS_PA), 0);
    CHECK(VMX_CC(&t.cpu, 1 + 1 == 2, "SDM 26.2.1.1"));
    CHECK(!VMX_CC(&t.cpu, 1 + 1 == 3, "26.2.1.2"));
    t.cpu.vmx->stats.entries = 7;
    t.cpu.vmx->stats.exits_by_reason[EXIT_REASON_CPUID] = 3;
    vmx_print_stats(&t.cpu, f);
    char buf[1024] = { 0 };
    rewind(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    CHECK(strstr(buf, "VMXON") == NULL);
    CHECK(strstr(buf, "VMPTRLD 0x31000") != NULL);
    CHECK(strstr(buf, "1 + 1 == 2 (SDM 26.2.1.1)") != NULL);
    CHECK(strstr(buf, "1 + 1 == 3") == NULL);
    CHECK(strstr(buf, "7 VM entries") != NULL);
    CHECK(strstr(buf, "reason 10: 3") != NULL);
    CHECK_EQ(strcmp(t.cpu.vmx->stats.last_failed_check, "1 + 1 == 2 (SDM 26.2.1.1)"), 0);
    t.cpu.vmx->trace_file = NULL;
    t.cpu.vmx->trace = false;
    vt_done(&t);
}
