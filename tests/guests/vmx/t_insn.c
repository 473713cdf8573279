/*
 * t_insn.c — VMX operation and the VMX instructions in VMX root operation
 * (SDM Vol.3 chapter 23, 24.11, 30.2-30.3) and the consistency of the
 * capability MSRs (Appendix A).  None of these rows runs L2.
 */
#include "desc.h"
#include "vmx_lib.h"

static unsigned phys_bits(void)
{
    uint32_t a, b, c, d;
    cpuid2(0x80000000, 0, &a, &b, &c, &d);
    if (a < 0x80000008)
        return 36;
    cpuid2(0x80000008, 0, &a, &b, &c, &d);
    return a & 0xff;
}

#define EXPECT_RESULT(expr, want, what)                                                  \
    do {                                                                               \
        int r_ = (expr);                                                               \
        if (r_ != (want))                                                              \
            fail_at(__LINE__, "%s: %s, want %s", (what), vm_result_str(r_),            \
                    (want) == VM_FAIL_INVALID ? "VMfailInvalid"                        \
                    : (want) == VM_FAIL_VALID ? "VMfailValid"                          \
                    : (want) == VM_OK         ? "success"                              \
                                              : "an exception");                       \
    } while (0)
#define EXPECT_VMFAIL_VALID(expr, err, what)                                             \
    do {                                                                               \
        int r_ = (expr);                                                               \
        uint32_t e_ = r_ == VM_FAIL_VALID ? insn_error() : 0;                          \
        if (r_ != VM_FAIL_VALID || e_ != (err))                                        \
            fail_at(__LINE__, "%s: %s, want VMfailValid(%u)", (what), vm_result_str(r_), \
                    (unsigned)(err));                                                  \
    } while (0)
#define EXPECT_EXC(expr, vec, what)                                                      \
    do {                                                                               \
        int r_ = (expr);                                                               \
        if (r_ != VM_EXC + (vec))                                                      \
            fail_at(__LINE__, "%s: %s, want exception %d", (what), vm_result_str(r_), (vec)); \
    } while (0)

/* ---- capability MSRs ---- */

static void t_feature_control(void)
{
    uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);
    CHECK(fc & 1, "IA32_FEATURE_CONTROL %#lx: lock bit clear", fc);
    CHECK(fc & 4, "IA32_FEATURE_CONTROL %#lx: 'enable VMX outside SMX' clear", fc);
}

static void t_caps_basic(void)
{
    uint64_t b = caps.basic;
    uint64_t size = (b >> 32) & 0x1fff;
    CHECK(!(b & (1ull << 31)), "IA32_VMX_BASIC %#lx: bit 31 set", b);
    CHECK(size > 0 && size <= 4096, "VMCS region size %lu not in 1..4096", size);
    CHECK(!(b & (1ull << 48)), "bit 48 set: physical addresses limited to 32 bits on a 64-bit CPU");
    unsigned mt = (b >> 50) & 0xf;
    CHECK(mt == 0 || mt == 6, "VMCS memory type %u is neither UC (0) nor WB (6)", mt);
    CHECK(!(b & (7ull << 45)) && !(b >> 56), "reserved bits set in IA32_VMX_BASIC %#lx", b);
}

struct ctl_msr { const char *name; uint32_t msr, true_msr, default1; };
static const struct ctl_msr ctl_msrs[] = {
    { "pin-based", 0x481, 0x48d, 0x00000016 },
    { "processor-based", 0x482, 0x48e, 0x0401e172 },
    { "VM-exit", 0x483, 0x48f, 0x00036dff },
    { "VM-entry", 0x484, 0x490, 0x000011ff },
};

static void t_caps_controls(void)
{
    for (unsigned i = 0; i < ARRAY_SIZE(ctl_msrs); i++) {
        const struct ctl_msr *c = &ctl_msrs[i];
        uint64_t v = rdmsr(c->msr);
        uint32_t m1 = (uint32_t)v, a1 = v >> 32;
        CHECK(!(m1 & ~a1), "%s: allowed-0 %#x not a subset of allowed-1 %#x", c->name, m1, a1);
        CHECK((m1 & c->default1) == c->default1, "%s: default1 bits %#x not reported as 1 in %#x",
              c->name, c->default1, m1);
        if (caps.true_ctls) {
            uint64_t t = rdmsr(c->true_msr);
            uint32_t tm1 = (uint32_t)t, ta1 = t >> 32;
            CHECK(ta1 == a1, "%s: TRUE allowed-1 %#x differs from %#x", c->name, ta1, a1);
            CHECK(!(tm1 & ~m1), "%s: TRUE allowed-0 %#x not within %#x", c->name, tm1, m1);
            CHECK(!((m1 ^ tm1) & ~c->default1), "%s: TRUE MSR differs outside default1 bits",
                  c->name);
        }
    }
}

static void t_caps_secondary(void)
{
    uint64_t proc = rdmsr(0x482);
    if (!(proc >> 63)) {
        skip("not advertised: secondary controls");
        return;
    }
    uint64_t p2 = rdmsr(0x48b);
    uint32_t a1 = p2 >> 32;
    CHECK(!((uint32_t)p2 & ~a1), "secondary: allowed-0 %#x outside allowed-1 %#x", (uint32_t)p2, a1);
    if (a1 & PROC2_EPT) {
        uint64_t e = rdmsr(0x48c);
        CHECK(e & (1ull << 6), "EPT allowed but page-walk length 4 not supported (%#lx)", e);
        CHECK(e & ((1ull << 8) | (1ull << 14)), "EPT allowed but neither UC nor WB EPT memory type");
    }
    if (a1 & PROC2_UNRESTRICTED) {
        CHECK(a1 & PROC2_EPT, "unrestricted guest allowed without EPT (26.2.1.1 needs both)");
        CHECK(caps.misc & (1u << 5),
              "IA32_VMX_MISC[5] = 0 although unrestricted guest is allowed (A.6)");
    }
}

static void t_caps_fixed(void)
{
    CHECK(!(caps.cr0_fixed0 & ~caps.cr0_fixed1), "CR0 FIXED0 %#lx not within FIXED1 %#lx",
          caps.cr0_fixed0, caps.cr0_fixed1);
    CHECK(!(caps.cr4_fixed0 & ~caps.cr4_fixed1), "CR4 FIXED0 %#lx not within FIXED1 %#lx",
          caps.cr4_fixed0, caps.cr4_fixed1);
    CHECK((caps.cr0_fixed0 & (CR0_PE | CR0_NE | CR0_PG)) == (CR0_PE | CR0_NE | CR0_PG),
          "CR0 FIXED0 %#lx lacks PE/NE/PG", caps.cr0_fixed0);
    CHECK(caps.cr4_fixed0 & CR4_VMXE, "CR4 FIXED0 %#lx lacks VMXE", caps.cr4_fixed0);
    uint64_t cr0 = read_cr0(), cr4 = read_cr4();
    CHECK((cr0 & caps.cr0_fixed0) == caps.cr0_fixed0 && !(cr0 & ~caps.cr0_fixed1),
          "CR0 %#lx in VMX operation violates the fixed bits", cr0);
    CHECK((cr4 & caps.cr4_fixed0) == caps.cr4_fixed0 && !(cr4 & ~caps.cr4_fixed1),
          "CR4 %#lx in VMX operation violates the fixed bits", cr4);
}

static void t_caps_misc(void)
{
    uint64_t m = caps.misc;
    unsigned cr3t = (m >> 16) & 0x1ff;
    CHECK(cr3t <= 256, "CR3-target count %u > 256", cr3t);
    unsigned e = caps.vmcs_enum & 0x3ff;
    CHECK(e && !(e & 1) && !(caps.vmcs_enum >> 10), "IA32_VMX_VMCS_ENUM %#lx malformed", caps.vmcs_enum);
    /* The fields this suite uses have indexes up to 0x17 (GUEST_INTERRUPTIBILITY .. PLE). */
    CHECK((e >> 1) >= 0x12, "IA32_VMX_VMCS_ENUM highest index %u below fields in use", e >> 1);
}

/* ---- VMX operation ---- */

static void t_vmxon_needs_cr4_vmxe(void)
{
    EXPECT_RESULT(vmxoff(), VM_OK, "VMXOFF");
    write_cr4(read_cr4() & ~CR4_VMXE);
    EXPECT_EXC(vmxon((uint64_t)vmxon_region), 6, "VMXON with CR4.VMXE = 0");
    write_cr4(read_cr4() | CR4_VMXE);
    EXPECT_RESULT(vmxon((uint64_t)vmxon_region), VM_OK, "VMXON with CR4.VMXE = 1");
}

static void t_ud_outside_vmx(void)
{
    EXPECT_RESULT(vmxoff(), VM_OK, "VMXOFF");
    uint64_t v;
    EXPECT_EXC(vmclear((uint64_t)vmcs_main), 6, "VMCLEAR outside VMX operation");
    EXPECT_EXC(vmptrld((uint64_t)vmcs_main), 6, "VMPTRLD outside VMX operation");
    EXPECT_EXC(vmptrst(&v), 6, "VMPTRST outside VMX operation");
    EXPECT_EXC(vmread_r(GUEST_RIP, &v), 6, "VMREAD outside VMX operation");
    EXPECT_EXC(vmwrite_r(GUEST_RIP, 0), 6, "VMWRITE outside VMX operation");
    EXPECT_EXC(vmlaunch_r(), 6, "VMLAUNCH outside VMX operation");
    EXPECT_EXC(vmresume_r(), 6, "VMRESUME outside VMX operation");
    EXPECT_EXC(vmxoff(), 6, "VMXOFF outside VMX operation");
    EXPECT_EXC(vmcall_r(), 6, "VMCALL outside VMX operation");
    if (caps.ept_vpid & (1ull << 20))
        EXPECT_EXC(invept_r(2, 0), 6, "INVEPT outside VMX operation");
    if (caps.ept_vpid & (1ull << 32))
        EXPECT_EXC(invvpid_r(2, 0, 0), 6, "INVVPID outside VMX operation");
}

static void t_cr_fixed_in_vmx(void)
{
    uint64_t cr4 = read_cr4(), cr0 = read_cr0();
    int r;
    asm volatile(TRY_BEGIN "mov %0, %%cr4" TRY_END : : "r"(cr4 & ~CR4_VMXE) : "r11", "memory");
    r = exc_vector;
    CHECK(r == 13, "clearing CR4.VMXE in VMX operation: vector %d, want #GP", r);
    write_cr4(cr4);
    asm volatile(TRY_BEGIN "mov %0, %%cr0" TRY_END : : "r"(cr0 & ~CR0_NE) : "r11", "memory");
    r = exc_vector;
    CHECK(r == 13, "clearing CR0.NE in VMX operation: vector %d, want #GP", r);
    write_cr0(cr0);
    /* After VMXOFF both are ordinary bits again. */
    EXPECT_RESULT(vmxoff(), VM_OK, "VMXOFF");
    asm volatile(TRY_BEGIN "mov %0, %%cr4" TRY_END : : "r"(cr4 & ~CR4_VMXE) : "r11", "memory");
    CHECK(exc_vector == -1, "clearing CR4.VMXE after VMXOFF: vector %d", exc_vector);
    write_cr4(cr4);
}

static void t_vmxon_cr0_fixed(void)
{
    EXPECT_RESULT(vmxoff(), VM_OK, "VMXOFF");
    uint64_t cr0 = read_cr0();
    write_cr0(cr0 & ~CR0_NE);
    EXPECT_EXC(vmxon((uint64_t)vmxon_region), 13, "VMXON with CR0.NE = 0");
    write_cr0(cr0);
}

static void t_vmxon_bad_region(void)
{
    EXPECT_RESULT(vmxoff(), VM_OK, "VMXOFF");
    uint64_t pa = (uint64_t)vmxon_region;
    EXPECT_RESULT(vmxon(pa + 0x800), VM_FAIL_INVALID, "VMXON, pointer not 4-KiB aligned");
    EXPECT_RESULT(vmxon(pa | 1ull << phys_bits()), VM_FAIL_INVALID,
                  "VMXON, pointer beyond MAXPHYADDR");
    *(uint32_t *)vmxon_region = caps.rev ^ 1;
    EXPECT_RESULT(vmxon(pa), VM_FAIL_INVALID, "VMXON, wrong revision identifier");
    *(uint32_t *)vmxon_region = caps.rev | 0x80000000u;
    EXPECT_RESULT(vmxon(pa), VM_FAIL_INVALID, "VMXON, revision word bit 31 set");
    *(uint32_t *)vmxon_region = caps.rev;
    EXPECT_RESULT(vmxon(pa), VM_OK, "VMXON, valid region");
}

static void t_vmxon_in_root(void)
{
    /* vmcs_default made vmcs_main current: VMfail → VMfailValid */
    EXPECT_VMFAIL_VALID(vmxon((uint64_t)vmxon_region), 15, "VMXON in VMX root operation");
    vmclear((uint64_t)vmcs_main);
    EXPECT_RESULT(vmxon((uint64_t)vmxon_region), VM_FAIL_INVALID,
                  "VMXON in VMX root operation, no current VMCS");
}

static void t_vmclear_errors(void)
{
    uint64_t pa = (uint64_t)vmcs_alt;
    EXPECT_VMFAIL_VALID(vmclear(pa + 8), 2, "VMCLEAR, unaligned");
    EXPECT_VMFAIL_VALID(vmclear(pa | 1ull << phys_bits()), 2, "VMCLEAR, beyond MAXPHYADDR");
    EXPECT_VMFAIL_VALID(vmclear((uint64_t)vmxon_region), 3, "VMCLEAR of the VMXON pointer");
    EXPECT_RESULT(vmclear(pa), VM_OK, "VMCLEAR of another region");
    EXPECT_RESULT(vmclear((uint64_t)vmcs_main), VM_OK, "VMCLEAR of the current VMCS");
    EXPECT_RESULT(vmclear(pa + 8), VM_FAIL_INVALID, "VMCLEAR, unaligned, no current VMCS");
}

static void t_vmptrld_errors(void)
{
    uint64_t pa = (uint64_t)vmcs_alt;
    EXPECT_VMFAIL_VALID(vmptrld(pa + 8), 9, "VMPTRLD, unaligned");
    EXPECT_VMFAIL_VALID(vmptrld(pa | 1ull << phys_bits()), 9, "VMPTRLD, beyond MAXPHYADDR");
    EXPECT_VMFAIL_VALID(vmptrld((uint64_t)vmxon_region), 10, "VMPTRLD of the VMXON pointer");
    vmclear(pa);
    *(uint32_t *)vmcs_alt = caps.rev ^ 2;
    EXPECT_VMFAIL_VALID(vmptrld(pa), 11, "VMPTRLD, wrong revision identifier");
    if (!allowed_proc2(PROC2_SHADOW_VMCS)) {
        *(uint32_t *)vmcs_alt = caps.rev | 0x80000000u;
        EXPECT_VMFAIL_VALID(vmptrld(pa), 11, "VMPTRLD of a shadow VMCS without VMCS shadowing");
    }
    uint64_t cur_ptr = 0;
    EXPECT_RESULT(vmptrst(&cur_ptr), VM_OK, "VMPTRST");
    CHECK_EQ(cur_ptr, (uint64_t)vmcs_main, "current-VMCS pointer after failed VMPTRLDs");
}

static void t_vmptrst(void)
{
    uint64_t p = 0;
    EXPECT_RESULT(vmptrst(&p), VM_OK, "VMPTRST");
    CHECK_EQ(p, (uint64_t)vmcs_main, "VMPTRST after VMPTRLD");
    vmclear((uint64_t)vmcs_alt);
    *(uint32_t *)vmcs_alt = caps.rev;
    EXPECT_RESULT(vmptrld((uint64_t)vmcs_alt), VM_OK, "VMPTRLD of a second VMCS");
    EXPECT_RESULT(vmptrst(&p), VM_OK, "VMPTRST");
    CHECK_EQ(p, (uint64_t)vmcs_alt, "VMPTRST after the second VMPTRLD");
    EXPECT_RESULT(vmclear((uint64_t)vmcs_alt), VM_OK, "VMCLEAR of the current VMCS");
    EXPECT_RESULT(vmptrst(&p), VM_OK, "VMPTRST");
    CHECK_EQ(p, ~0ull, "VMPTRST after VMCLEAR of the current VMCS");
    uint64_t v;
    EXPECT_RESULT(vmread_r(GUEST_RIP, &v), VM_FAIL_INVALID, "VMREAD without a current VMCS");
    EXPECT_RESULT(vmwrite_r(GUEST_RIP, 0), VM_FAIL_INVALID, "VMWRITE without a current VMCS");
    EXPECT_RESULT(vmlaunch_r(), VM_FAIL_INVALID, "VMLAUNCH without a current VMCS");
    EXPECT_RESULT(vmresume_r(), VM_FAIL_INVALID, "VMRESUME without a current VMCS");
}

static void t_vmread_vmwrite(void)
{
    uint64_t v;
    vmwrite(GUEST_ES_SEL, 0xffff1234);
    CHECK_EQ(vmread(GUEST_ES_SEL), 0x1234, "16-bit field keeps bits 15:0");
    vmwrite(EXC_BITMAP, 0x1ffffffffull);
    CHECK_EQ(vmread(EXC_BITMAP), 0xffffffff, "32-bit field keeps bits 31:0");
    vmwrite(CR0_SHADOW, 0x8765432112345678ull);
    CHECK_EQ(vmread(CR0_SHADOW), 0x8765432112345678ull, "natural-width field");
    vmwrite(TSC_OFFSET, 0x1122334455667788ull);
    CHECK_EQ(vmread(TSC_OFFSET), 0x1122334455667788ull, "64-bit field, full access");
    CHECK(vmread_r(TSC_OFFSET | 1, &v) == VM_OK && v == 0x11223344,
          "64-bit field, high access read: %#lx", v);
    CHECK(vmwrite_r(TSC_OFFSET | 1, 0xaabbccdd) == VM_OK, "VMWRITE high access");
    CHECK_EQ(vmread(TSC_OFFSET), 0xaabbccdd55667788ull, "high access writes bits 63:32 only");
    /* a value written to VMCS A stays there while VMCS B is current */
    vmwrite(GUEST_RSP, 0xabcdef);
    vmclear((uint64_t)vmcs_alt);
    *(uint32_t *)vmcs_alt = caps.rev;
    vmptrld((uint64_t)vmcs_alt);
    vmwrite(GUEST_RSP, 0x1111);
    vmptrld((uint64_t)vmcs_main);
    CHECK_EQ(vmread(GUEST_RSP), 0xabcdef, "field of VMCS A after using VMCS B");
    vmptrld((uint64_t)vmcs_alt);
    CHECK_EQ(vmread(GUEST_RSP), 0x1111, "field of VMCS B");
    /* VMCLEAR writes the data back: it survives VMCLEAR + VMPTRLD */
    vmclear((uint64_t)vmcs_alt);
    vmptrld((uint64_t)vmcs_alt);
    CHECK_EQ(vmread(GUEST_RSP), 0x1111, "field after VMCLEAR and VMPTRLD");
    vmptrld((uint64_t)vmcs_main);
}

static void t_vmwrite_readonly(void)
{
    if (caps.misc & (1ull << 29)) {
        /* IA32_VMX_MISC[29]: VMWRITE may write exit-information fields */
        CHECK(vmwrite_r(EXIT_QUAL, 0x1234) == VM_OK && vmread(EXIT_QUAL) == 0x1234,
              "VMWRITE to the exit qualification with IA32_VMX_MISC[29] = 1");
        CHECK(vmwrite_r(EXIT_REASON, 7) == VM_OK && vmread(EXIT_REASON) == 7,
              "VMWRITE to the exit-reason field with IA32_VMX_MISC[29] = 1");
        return;
    }
    EXPECT_VMFAIL_VALID(vmwrite_r(EXIT_REASON, 1), 13, "VMWRITE to the exit-reason field");
    EXPECT_VMFAIL_VALID(vmwrite_r(EXIT_QUAL, 1), 13, "VMWRITE to the exit qualification");
    EXPECT_VMFAIL_VALID(vmwrite_r(VM_INSN_ERROR, 1), 13, "VMWRITE to the VM-instruction error");
}

static void t_vmread_unsupported(void)
{
    uint64_t v;
    EXPECT_VMFAIL_VALID(vmread_r(0x6c40, &v), 12, "VMREAD of an unknown natural-width host field");
    EXPECT_VMFAIL_VALID(vmread_r(0x4401, &v), 12, "VMREAD, high access to a 32-bit field");
    EXPECT_VMFAIL_VALID(vmread_r(0x100004402ull, &v), 12, "VMREAD, encoding bits 63:32 set");
    EXPECT_VMFAIL_VALID(vmwrite_r(0x6c40, 0), 12, "VMWRITE to an unknown field");
    EXPECT_VMFAIL_VALID(vmwrite_r(0x0001, 0), 12, "VMWRITE, high access to a 16-bit field");
}

static void t_vmresume_clear(void)
{
    int r = vmx_enter(0);
    CHECK(r == VM_FAIL_VALID && insn_error() == 5,
          "VMRESUME of a clear VMCS: %s, want VMfailValid(5)", r ? vm_result_str(r) : "VM entry");
}

static void t_vmcall_in_root(void)
{
    EXPECT_VMFAIL_VALID(vmcall_r(), 1, "VMCALL in VMX root operation");
}

static void t_invept_invvpid(void)
{
    bool did = false;
    if (caps.ept_vpid & (1ull << 20)) {
        did = true;
        EXPECT_VMFAIL_VALID(invept_r(3, 0), 28, "INVEPT type 3");
        EXPECT_VMFAIL_VALID(invept_r(0, 0), 28, "INVEPT type 0");
        if (caps.ept_vpid & (1ull << 25)) {
            EXPECT_RESULT(invept_r(1, eptp_default), VM_OK, "INVEPT single-context");
            EXPECT_VMFAIL_VALID(invept_r(1, (uint64_t)ept_pml4 | 6 | (1 << 3)), 28,
                                "INVEPT single-context, EPTP with page-walk length 2");
        }
        if (caps.ept_vpid & (1ull << 26))
            EXPECT_RESULT(invept_r(2, 0), VM_OK, "INVEPT all-context");
    }
    if (caps.ept_vpid & (1ull << 32)) {
        did = true;
        EXPECT_VMFAIL_VALID(invvpid_r(4, 1, 0), 28, "INVVPID type 4");
        if (caps.ept_vpid & (1ull << 40)) {
            EXPECT_VMFAIL_VALID(invvpid_r(0, 0, 0), 28, "INVVPID individual-address, VPID 0");
            EXPECT_VMFAIL_VALID(invvpid_r(0, 1, 0x8000000000000000ull), 28,
                                "INVVPID individual-address, non-canonical address");
            EXPECT_RESULT(invvpid_r(0, 1, 0x1000), VM_OK, "INVVPID individual-address");
        }
        if (caps.ept_vpid & (1ull << 41)) {
            EXPECT_VMFAIL_VALID(invvpid_r(1, 0, 0), 28, "INVVPID single-context, VPID 0");
            EXPECT_RESULT(invvpid_r(1, 5, 0), VM_OK, "INVVPID single-context");
        }
        if (caps.ept_vpid & (1ull << 42))
            EXPECT_RESULT(invvpid_r(2, 0, 0), VM_OK, "INVVPID all-context");
    }
    if (!did)
        skip("not advertised: INVEPT / INVVPID");
}

static void t_shadow_vmcs_launch(void)
{
    if (!allowed_proc2(PROC2_SHADOW_VMCS)) {
        skip("not advertised: VMCS shadowing");
        return;
    }
    vmclear((uint64_t)vmcs_alt);
    *(uint32_t *)vmcs_alt = caps.rev | 0x80000000u;
    EXPECT_RESULT(vmptrld((uint64_t)vmcs_alt), VM_OK, "VMPTRLD of a shadow VMCS");
    EXPECT_RESULT(vmlaunch_r(), VM_FAIL_INVALID, "VMLAUNCH with a shadow VMCS current");
    vmclear((uint64_t)vmcs_alt);
}

#define ROW(n, fn, s) { .name = n, .sdm = s, .init = fn }
const struct vmx_test insn_tests[] = {
    ROW("feature_control", t_feature_control,
        "23.7: VMXON is also controlled by IA32_FEATURE_CONTROL; bit 0 is the lock bit, bit 2 "
        "enables VMXON outside SMX operation"),
    ROW("caps_basic", t_caps_basic,
        "A.1: Bits 30:0 contain the 31-bit VMCS revision identifier; bit 31 is always 0; bits "
        "44:32 report the number of bytes for the VMXON region and any VMCS region (at most 4096)"),
    ROW("caps_controls", t_caps_controls,
        "A.3: VM entry allows control X to be 1 iff bit 32+X of the MSR is 1; A.2: the TRUE "
        "MSRs differ only in the default1 controls"),
    ROW("caps_secondary", t_caps_secondary,
        "A.3.3/A.6/A.10: secondary controls exist iff bit 63 of IA32_VMX_PROCBASED_CTLS; "
        "MISC[5] is 1 on processors that support unrestricted guest"),
    ROW("caps_cr_fixed", t_caps_fixed,
        "A.7/A.8: if bit X is 1 in FIXED0 it is fixed to 1 in VMX operation; if 0 in FIXED1, "
        "fixed to 0 (PE, NE, PG, VMXE are fixed to 1)"),
    ROW("caps_misc", t_caps_misc,
        "A.6/A.9: IA32_VMX_MISC CR3-target count; IA32_VMX_VMCS_ENUM bits 9:1 = highest index"),
    ROW("vmxon_needs_cr4_vmxe", t_vmxon_needs_cr4_vmxe,
        "30.3 VMXON: IF (register operand) or (CR0.PE = 0) or (CR4.VMXE = 0) ... THEN #UD"),
    ROW("ud_outside_vmx", t_ud_outside_vmx,
        "30.3: IF (not in VMX operation) ... THEN #UD (VMCLEAR, VMPTRLD, VMPTRST, VMREAD, "
        "VMWRITE, VMLAUNCH, VMRESUME, VMXOFF, VMCALL, INVEPT, INVVPID)"),
    ROW("cr_fixed_in_vmx", t_cr_fixed_in_vmx,
        "23.8: in VMX operation, attempts to clear a bit that is fixed to 1 in CR0 or CR4 "
        "(e.g. CR0.NE, CR4.VMXE) with MOV to CR cause #GP"),
    ROW("vmxon_cr0_fixed", t_vmxon_cr0_fixed,
        "30.3 VMXON: ELSIF (CR0 or CR4 not in the ranges allowed by the FIXED MSRs) THEN #GP(0)"),
    ROW("vmxon_bad_region", t_vmxon_bad_region,
        "30.3 VMXON: IF addr is not 4KB-aligned or sets bits beyond the physical-address width "
        "THEN VMfailInvalid; IF revision id wrong or bit 31 set THEN VMfailInvalid"),
    ROW("vmxon_in_root", t_vmxon_in_root,
        "30.3 VMXON: ELSIF in VMX root operation THEN VMfail(VMXON executed in VMX root "
        "operation) — error 15"),
    ROW("vmclear_errors", t_vmclear_errors,
        "30.3 VMCLEAR: invalid physical address → VMfail(2); addr = VMXON pointer → VMfail(3)"),
    ROW("vmptrld_errors", t_vmptrld_errors,
        "30.3 VMPTRLD: invalid address → VMfail(9); VMXON pointer → VMfail(10); revision "
        "mismatch → VMfail(11)"),
    ROW("vmptrst_vmclear_current", t_vmptrst,
        "30.3 VMCLEAR: IF operand addr = current-VMCS pointer THEN current-VMCS pointer ← "
        "FFFFFFFF_FFFFFFFFH; VMREAD/VMWRITE/VMLAUNCH then VMfailInvalid"),
    ROW("vmread_vmwrite_widths", t_vmread_vmwrite,
        "24.11.2/30.3 VMWRITE: a field narrower than the operand takes its low bits; access "
        "type 1 (high) reads/writes bits 63:32 of a 64-bit field"),
    ROW("vmwrite_readonly", t_vmwrite_readonly,
        "30.3 VMWRITE: ELSIF VMCS field is read-only (and IA32_VMX_MISC[29] = 0) THEN "
        "VMfailValid(13); with IA32_VMX_MISC[29] = 1 the exit-information fields are "
        "written (A.6)"),
    ROW("vmread_unsupported", t_vmread_unsupported,
        "30.3 VMREAD/VMWRITE: IF the operand does not correspond to any VMCS field THEN "
        "VMfailValid(12)"),
    ROW("vmresume_clear", t_vmresume_clear,
        "30.3 VMRESUME: ELSIF VMRESUME and launch state of current VMCS is not launched THEN "
        "VMfailValid(5)"),
    ROW("vmcall_in_root", t_vmcall_in_root,
        "30.3 VMCALL: ELSIF dual-monitor treatment is not active THEN VMfail(VMCALL executed "
        "in VMX root operation) — error 1"),
    ROW("invept_invvpid", t_invept_invvpid,
        "30.3 INVEPT/INVVPID: IF the type is not supported THEN VMfail(28); VPID 0 or a "
        "non-canonical address → VMfail(28)"),
    ROW("shadow_vmcs_launch", t_shadow_vmcs_launch,
        "24.10: VM entry with a shadow VMCS (revision bit 31 = 1) as current VMCS fails with "
        "VMfailInvalid"),
};
const size_t n_insn_tests = ARRAY_SIZE(insn_tests);
