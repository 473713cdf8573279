/*
 * test_cpuid.c — the CPU model's CPUID leaves: vendor, feature bits that
 * follow state (VMX ↔ vmx_allowed, OSXSAVE ↔ CR4, APIC ↔ IA32_APIC_BASE),
 * topology, TSC frequency, the out-of-range rule, and the CPUID instruction.
 */
#include "cpu/cpuid.h"
#include "cpu/msr.h"
#include "cpu_harness.h"
#include "hw/lapic.h"
#include "test.h"

static void q(struct th *t, uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    cpuid_query(&t->cpu, leaf, sub, r);
}

TEST(cpuid_vendor_and_ranges)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint32_t r[4];
    char v[13] = { 0 };
    q(&t, 0, 0, r);
    memcpy(v, &r[1], 4);
    memcpy(v + 4, &r[3], 4);
    memcpy(v + 8, &r[2], 4);
    CHECK(strcmp(v, "GenuineIntel") == 0);
    CHECK(r[0] >= 0x16);
    q(&t, 1, 0, r);
    CHECK_EQ((r[0] >> 8) & 0xf, 6); /* family 6 */
    CHECK_EQ(((r[0] >> 12) & 0xf0) | ((r[0] >> 4) & 0xf), 0x6a);
    q(&t, 0x80000000, 0, r);
    CHECK_EQ(r[0], 0x80000008);
    q(&t, 0x80000008, 0, r);
    CHECK_EQ(r[0] & 0xff, 40);
    CHECK_EQ((r[0] >> 8) & 0xff, 48);

    char brand[49] = { 0 };
    for (uint32_t i = 0; i < 3; i++) {
        q(&t, 0x80000002 + i, 0, r);
        memcpy(brand + 16 * i, r, 16);
    }
    CHECK(strcmp(brand, "nestvm software CPU") == 0);

    q(&t, 0x40000000, 0, r);
    char hv[13] = { 0 };
    memcpy(hv, &r[1], 4);
    memcpy(hv + 4, &r[2], 4);
    memcpy(hv + 8, &r[3], 4);
    CHECK(strcmp(hv, "NestVMNestVM") == 0);
    CHECK_EQ(r[0], 0x40000000);
    th_destroy(&t);
}

TEST(cpuid_feature_bits)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint32_t r[4];
    q(&t, 1, 0, r);
    CHECK(r[3] & (1u << 0));    /* FPU */
    CHECK(r[3] & (1u << 4));    /* TSC */
    CHECK(r[3] & (1u << 26));   /* SSE2 */
    CHECK(!(r[3] & (1u << 1))); /* no VME */
    CHECK(!(r[3] & (1u << 28))); /* no HTT */
    CHECK(r[2] & (1u << 31));   /* hypervisor */
    CHECK(r[2] & CPUID_1_ECX_PCID);
    CHECK(!(r[2] & (1u << 28))); /* no AVX */
    CHECK(!(r[2] & (1u << 25))); /* no AES */
    CHECK(!(r[2] & (1u << 3)));  /* no MONITOR */
    /* the harness has no local APIC: no APIC, x2APIC or TSC-deadline */
    CHECK(!(r[3] & CPUID_1_EDX_APIC));
    CHECK(!(r[2] & CPUID_1_ECX_X2APIC));
    q(&t, 7, 0, r);
    CHECK(r[1] & (1u << 0));  /* FSGSBASE */
    CHECK(r[1] & (1u << 10)); /* INVPCID */
    CHECK(r[3] & (1u << 29)); /* ARCH_CAPABILITIES */
    q(&t, 0x80000001, 0, r);
    CHECK(r[3] & (1u << 29)); /* LM */
    CHECK(r[3] & (1u << 20)); /* NX */
    CHECK(r[3] & (1u << 27)); /* RDTSCP */
    q(&t, 0x80000007, 0, r);
    CHECK(r[3] & (1u << 8)); /* invariant TSC */
    q(&t, 0xd, 0, r);
    CHECK_EQ(r[0], 3);
    CHECK_EQ(r[1], 576);
    q(&t, 0xa, 0, r);
    CHECK_EQ(r[0], 0); /* no architectural PMU */
    th_destroy(&t);
}

TEST(cpuid_vmx_follows_vmx_allowed)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint32_t r[4];
    t.cpu.vmx_allowed = false;
    q(&t, 1, 0, r);
    CHECK(!(r[2] & CPUID_1_ECX_VMX));
    CHECK(!(cpuid_cr4_valid_bits(&t.cpu) & CR4_VMXE));
    t.cpu.vmx_allowed = true;
    q(&t, 1, 0, r);
    CHECK(r[2] & CPUID_1_ECX_VMX);
    CHECK(cpuid_cr4_valid_bits(&t.cpu) & CR4_VMXE);
    th_destroy(&t);
}

TEST(cpuid_osxsave_follows_cr4)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint32_t r[4];
    q(&t, 1, 0, r);
    CHECK(r[2] & CPUID_1_ECX_XSAVE);
    CHECK(!(r[2] & CPUID_1_ECX_OSXSAVE));
    /* mov rax, cr4; bts rax, 18; mov cr4, rax; mov eax, 1; cpuid; hlt */
    static const uint8_t code[] = { 0x0f, 0x20, 0xe0, 0x48, 0x0f, 0xba, 0xe8, 18, 0x0f, 0x22,
                                    0xe0, 0xb8, 1,    0,    0,    0,    0x0f, 0xa2, 0xf4 };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK(t.cpu.r[R_CX] & CPUID_1_ECX_OSXSAVE);
    th_destroy(&t);
}

TEST(cpuid_out_of_range_returns_highest_basic)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint32_t top[4], r[4], max[4];
    q(&t, 0, 0, max);
    q(&t, max[0], 0, top);
    q(&t, max[0] + 1, 0, r);
    CHECK(memcmp(r, top, sizeof r) == 0);
    q(&t, 0x80000009, 0, r);
    CHECK(memcmp(r, top, sizeof r) == 0);
    q(&t, 0x7fffffff, 0, r);
    CHECK(memcmp(r, top, sizeof r) == 0);
    th_destroy(&t);
}

TEST(cpuid_limit_via_misc_enable)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint32_t r[4], l2[4];
    CHECK_EQ(msr_write(&t.cpu, MSR_IA32_MISC_ENABLE, MISC_ENABLE_LIMIT_CPUID), 0);
    q(&t, 0, 0, r);
    CHECK_EQ(r[0], 2);
    q(&t, 2, 0, l2);
    q(&t, 7, 0, r);
    CHECK(memcmp(r, l2, sizeof r) == 0);
    q(&t, 0x80000000, 0, r); /* extended range unaffected */
    CHECK_EQ(r[0], 0x80000008);
    CHECK_EQ(msr_write(&t.cpu, MSR_IA32_MISC_ENABLE, 0), 0);
    q(&t, 0, 0, r);
    CHECK(r[0] > 2);
    th_destroy(&t);
}

TEST(cpuid_topology)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint32_t r[4];
    t.cpu.ncpus = 6;
    t.cpu.index = 5;
    q(&t, 1, 0, r);
    CHECK_EQ(r[1] >> 24, 5);          /* initial APIC ID */
    CHECK_EQ((r[1] >> 8) & 0xff, 8);  /* 64-byte CLFLUSH line */
    q(&t, 0xb, 0, r);
    CHECK_EQ((r[2] >> 8) & 0xff, 1); /* SMT level */
    CHECK_EQ(r[1], 1);
    CHECK_EQ(r[3], 5);
    q(&t, 0xb, 1, r);
    CHECK_EQ((r[2] >> 8) & 0xff, 2); /* core level */
    CHECK_EQ(r[1], 6);
    CHECK_EQ(r[0], 3); /* 6 cores need 3 bits of APIC ID */
    q(&t, 0xb, 2, r);
    CHECK_EQ(r[1], 0);
    CHECK_EQ((r[2] >> 8) & 0xff, 0); /* invalid level ends the list */
    q(&t, 4, 3, r);                  /* L3: shared by the package */
    CHECK_EQ(r[0] & 0x1f, 3);
    CHECK_EQ((r[0] >> 14) & 0xfff, 7);
    CHECK_EQ(r[0] >> 26, 7);
    q(&t, 4, 0, r); /* L1D: one thread */
    CHECK_EQ(r[0] & 0x1f, 1);
    CHECK_EQ((r[0] >> 14) & 0xfff, 0);
    uint32_t size = ((r[1] >> 22) + 1) * (((r[1] >> 12) & 0x3ff) + 1) * ((r[1] & 0xfff) + 1) *
                    (r[2] + 1);
    CHECK_EQ(size, 48 * 1024);
    q(&t, 4, 4, r);
    CHECK_EQ(r[0] & 0x1f, 0); /* no more caches */
    th_destroy(&t);
}

TEST(cpuid_tsc_frequency)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint32_t r[4];
    q(&t, 0x15, 0, r);
    CHECK(r[0] != 0 && r[1] != 0 && r[2] != 0);
    CHECK_EQ((uint64_t)r[2] * r[1] / r[0], 2000000000ull);
    CHECK_EQ(r[2], LAPIC_BUS_HZ); /* the APIC timer runs on the crystal */
    q(&t, 0x16, 0, r);
    CHECK_EQ(r[0], 2000);
    th_destroy(&t);
}

TEST(cpuid_instruction)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t code[] = { 0x0f, 0xa2, 0xf4 };
    t.cpu.r[R_AX] = 0xffffffff00000000ull; /* leaf 0: upper half ignored */
    t.cpu.r[R_BX] = ~0ull;
    t.cpu.r[R_CX] = ~0ull;
    t.cpu.r[R_DX] = ~0ull;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX], 0x16);
    CHECK_EQ(t.cpu.r[R_BX], 0x756e6547); /* "Genu", upper half cleared */
    CHECK_EQ(t.cpu.r[R_DX], 0x49656e69); /* "ineI" */
    CHECK_EQ(t.cpu.r[R_CX], 0x6c65746e); /* "ntel" */
    th_destroy(&t);
}
