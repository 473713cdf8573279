/*
 * cpuid.c — the CPU model: what CPUID reports (SDM Vol.2 "CPUID").
 *
 * A GenuineIntel family 6 model 6AH (Ice Lake-SP signature 606A6H) that
 * advertises exactly what the engine implements, and nothing it does not:
 * no AVX/AES/FMA/PCLMULQDQ/F16C, no MONITOR/MWAIT, no VME, no MCE/MCA, no
 * performance counters (leaf 0AH is zero), no HTT.  VMX (leaf 1 ECX bit 5)
 * appears iff cpu->vmx_allowed; the APIC, x2APIC and TSC-deadline bits only
 * when a local APIC is attached; OSXSAVE mirrors CR4.OSXSAVE.
 *
 * The engine has no speculative execution, so IA32_ARCH_CAPABILITIES says
 * "not affected" for every speculation issue (msr.c) and leaf 7 EDX lists
 * the control MSRs (SPEC_CTRL, PRED_CMD, FLUSH_CMD) that msr.c implements.
 *
 * Topology: one thread per core, cpu->ncpus cores in one package; leaf 4
 * and leaf 0BH agree with it and with the APIC ID (= cpu->index).
 * Leaves above the maximum return the highest basic leaf (Intel behaviour,
 * SDM CPUID "INPUT EAX = 0"); IA32_MISC_ENABLE.LIMIT_CPUID lowers the basic
 * maximum to 2.  The hypervisor range 40000000H holds the "NestVMNestVM"
 * signature only.
 */
#include "cpu/cpuid.h"

#include "cpu/msr.h"
#include "hw/lapic.h"

#define CPUID_MAX_BASIC 0x16u
#define CPUID_MAX_EXT 0x80000008u
#define CPUID_HV_BASE 0x40000000u
#define CPUID_HV_END 0x4fffffffu

/* Leaf 1 EAX: extended model 6, family 6, model AH, stepping 6. */
#define CPUID_SIGNATURE 0x000606a6u

/* Leaf 1 EDX (SDM Table 3-11) */
#define E_FPU (1u << 0)
#define E_DE (1u << 2)
#define E_PSE (1u << 3)
#define E_TSC (1u << 4)
#define E_MSR (1u << 5)
#define E_PAE (1u << 6)
#define E_MCE (1u << 7)
#define E_CX8 (1u << 8)
#define E_SEP (1u << 11)
#define E_MTRR (1u << 12)
#define E_PGE (1u << 13)
#define E_CMOV (1u << 15)
#define E_PAT (1u << 16)
#define E_PSE36 (1u << 17)
#define E_CLFSH (1u << 19)
#define E_MMX (1u << 23)
#define E_FXSR (1u << 24)
#define E_SSE (1u << 25)
#define E_SSE2 (1u << 26)
#define E_VME (1u << 1)

/* Leaf 1 ECX (SDM Table 3-10) */
#define C_SSE3 (1u << 0)
#define C_SSSE3 (1u << 9)
#define C_CX16 (1u << 13)
#define C_SSE41 (1u << 19)
#define C_SSE42 (1u << 20)
#define C_MOVBE (1u << 22)
#define C_POPCNT (1u << 23)
#define C_RDRAND (1u << 30)
#define C_SMX (1u << 6)

#define LEAF1_EDX                                                                           \
    (E_FPU | E_DE | E_PSE | E_TSC | E_MSR | E_PAE | E_CX8 | E_SEP | E_MTRR | E_PGE |       \
     E_CMOV | E_PAT | E_PSE36 | E_CLFSH | E_MMX | E_FXSR | E_SSE | E_SSE2)
#define LEAF1_ECX                                                                           \
    (C_SSE3 | C_SSSE3 | C_CX16 | CPUID_1_ECX_PCID | C_SSE41 | C_SSE42 | C_MOVBE |          \
     C_POPCNT | CPUID_1_ECX_XSAVE | C_RDRAND | CPUID_1_ECX_HYPERVISOR)

/* Leaf 7 subleaf 0 (SDM Table 3-8) */
#define S7B_FSGSBASE (1u << 0)
#define S7B_TSC_ADJUST (1u << 1) /* IA32_TSC_ADJUST: lets Linux trust the TSC without a watchdog */
#define S7B_SMEP (1u << 7)
#define S7B_ERMS (1u << 9)
#define S7B_INVPCID (1u << 10)
#define S7B_RDSEED (1u << 18)
#define S7B_SMAP (1u << 20)
#define S7B_CLFLUSHOPT (1u << 23)
#define S7C_UMIP (1u << 2)
#define S7C_PKU (1u << 3)
#define S7C_LA57 (1u << 16)
#define S7C_RDPID (1u << 22)
#define S7D_IBRS_IBPB (1u << 26)
#define S7D_STIBP (1u << 27)
#define S7D_L1D_FLUSH (1u << 28)
#define S7D_ARCH_CAP (1u << 29)
#define S7D_SSBD (1u << 31)

#define LEAF7_EBX                                                                           \
    (S7B_FSGSBASE | S7B_TSC_ADJUST | S7B_SMEP | S7B_ERMS | S7B_INVPCID | S7B_RDSEED |       \
     S7B_SMAP | S7B_CLFLUSHOPT)
#define LEAF7_ECX (S7C_UMIP | S7C_RDPID)
#define LEAF7_EDX (S7D_IBRS_IBPB | S7D_STIBP | S7D_L1D_FLUSH | S7D_ARCH_CAP | S7D_SSBD)

/* Leaf 80000001H */
#define X_LAHF_LM (1u << 0)
#define X_ABM (1u << 5)
#define X_PREFETCHW (1u << 8)
#define X_SYSCALL (1u << 11)
#define X_NX (1u << 20)
#define X_PAGE1GB (1u << 26)
#define X_RDTSCP (1u << 27)
#define X_LM (1u << 29)

/* Leaf 0DH: the XSAVE area for x87|SSE is the 512-byte legacy region plus
 * the 64-byte header (SDM Vol.1 13.4). */
#define XSAVE_AREA_SIZE 576u

static const char brand[48] = "nestvm software CPU";

static void set4(uint32_t out[4], uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    out[0] = a;
    out[1] = b;
    out[2] = c;
    out[3] = d;
}

static uint32_t str4(const char *s)
{
    return (uint32_t)(uint8_t)s[0] | (uint32_t)(uint8_t)s[1] << 8 |
           (uint32_t)(uint8_t)s[2] << 16 | (uint32_t)(uint8_t)s[3] << 24;
}

static unsigned topo_ncpus(const struct cpu *cpu)
{
    unsigned n = cpu->ncpus ? cpu->ncpus : 1;
    if (cpu->index >= 0 && (unsigned)cpu->index >= n)
        n = (unsigned)cpu->index + 1; /* keep the APIC ID inside the package */
    return n > MAX_VCPUS ? MAX_VCPUS : n;
}

/* Bits of the APIC ID that number cores in the package (SDM 8.9.1). */
static unsigned topo_core_shift(const struct cpu *cpu)
{
    unsigned n = topo_ncpus(cpu), s = 0;
    while ((1u << s) < n)
        s++;
    return s;
}

static bool has_lapic(const struct cpu *cpu)
{
    return cpu->lapic != NULL;
}

/* Leaf 4: deterministic cache parameters (SDM Table 3-8, leaf 04H).
 * L1D 48 KiB 12-way, L1I 32 KiB 8-way, L2 1 MiB 16-way per core, L3 16 MiB
 * 16-way shared by the package; 64-byte lines. */
static void leaf4(struct cpu *cpu, uint32_t sub, uint32_t out[4])
{
    static const struct {
        uint8_t type, level, shared;
        uint16_t ways;
        uint32_t sets;
    } cache[4] = {
        { 1, 1, 0, 12, 64 },   /* data */
        { 2, 1, 0, 8, 64 },    /* instruction */
        { 3, 2, 0, 16, 1024 }, /* unified L2 */
        { 3, 3, 1, 16, 16384 } /* unified L3 */
    };
    if (sub >= 4) {
        set4(out, 0, 0, 0, 0);
        return;
    }
    unsigned shift = topo_core_shift(cpu);
    uint32_t cores_m1 = (1u << shift) - 1;
    if (cores_m1 > 63)
        cores_m1 = 63;
    uint32_t sharing_m1 = cache[sub].shared ? (1u << shift) - 1 : 0;
    uint32_t eax = cache[sub].type | (uint32_t)cache[sub].level << 5 | 1u << 8 /* self-init */ |
                   sharing_m1 << 14 | cores_m1 << 26;
    uint32_t ebx = 63u /* line - 1 */ | 0u << 12 /* partitions - 1 */ |
                   (uint32_t)(cache[sub].ways - 1) << 22;
    uint32_t edx = cache[sub].level == 3 ? 2u /* inclusive */ : 0u;
    set4(out, eax, ebx, cache[sub].sets - 1, edx);
}

/* Leaf 0BH: x2APIC topology, SMT level then core level (SDM 8.9.2). */
static void leaf0b(struct cpu *cpu, uint32_t sub, uint32_t out[4])
{
    uint32_t x2id = (uint32_t)cpu->index;
    switch (sub) {
    case 0: set4(out, 0, 1, 1u << 8 | 0, x2id); break; /* SMT: 1 thread per core */
    case 1: set4(out, topo_core_shift(cpu), topo_ncpus(cpu), 2u << 8 | 1, x2id); break;
    default: set4(out, 0, 0, sub & 0xff, x2id); break; /* invalid level */
    }
}

static void leaf_basic(struct cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t max_basic,
                       uint32_t out[4])
{
    switch (leaf) {
    case 0:
        set4(out, max_basic, str4("Genu"), str4("ntel"), str4("ineI"));
        break;
    case 1: {
        uint32_t ebx = 8u << 8 /* CLFLUSH line 8*8 bytes */ |
                       (1u << topo_core_shift(cpu)) << 16 /* addressable IDs */ |
                       (uint32_t)(cpu->index & 0xff) << 24; /* initial APIC ID */
        uint32_t ecx = LEAF1_ECX;
        uint32_t edx = LEAF1_EDX;
        if (cpu->vmx_allowed)
            ecx |= CPUID_1_ECX_VMX;
        if (cpu->cr4 & CR4_OSXSAVE)
            ecx |= CPUID_1_ECX_OSXSAVE;
        if (has_lapic(cpu)) {
            ecx |= CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE;
            /* the APIC flag follows IA32_APIC_BASE.EN (SDM 10.4.3) */
            if (lapic_get_base(cpu->lapic) & APIC_BASE_EN)
                edx |= CPUID_1_EDX_APIC;
        }
        set4(out, CPUID_SIGNATURE, ebx, ecx, edx);
        break;
    }
    case 2:
        /* one round; descriptor FFH: "use leaf 4" (SDM Table 3-12) */
        set4(out, 0x00ff0001u, 0, 0, 0);
        break;
    case 4: leaf4(cpu, sub, out); break;
    case 6: set4(out, 1u << 2 /* ARAT: APIC timer always running */, 0, 0, 0); break;
    case 7:
        if (sub == 0)
            set4(out, 0 /* max subleaf */, LEAF7_EBX, LEAF7_ECX, LEAF7_EDX);
        else
            set4(out, 0, 0, 0, 0);
        break;
    case 0xb: leaf0b(cpu, sub, out); break;
    case 0xd:
        if (sub == 0)
            set4(out, CPUID_XCR0_SUPPORTED, XSAVE_AREA_SIZE, XSAVE_AREA_SIZE, 0);
        else
            set4(out, 0, 0, 0, 0); /* no XSAVEOPT/XSAVEC/XSAVES, no extended components */
        break;
    case 0x15:
        /* TSC = crystal * EBX / EAX (SDM CPUID leaf 15H) */
        set4(out, 1, (uint32_t)(CPUID_TSC_HZ / CPUID_CRYSTAL_HZ), CPUID_CRYSTAL_HZ, 0);
        break;
    case 0x16:
        /* base / maximum / bus (reference) frequency in MHz */
        set4(out, (uint32_t)(CPUID_TSC_HZ / 1000000), (uint32_t)(CPUID_TSC_HZ / 1000000),
             CPUID_CRYSTAL_HZ / 1000000, 0);
        break;
    default:
        /* 3, 5 (no MONITOR), 8, 9, 0AH (no PMU), 0CH, 0EH-14H: reserved / absent */
        set4(out, 0, 0, 0, 0);
        break;
    }
}

static void leaf_ext(struct cpu *cpu, uint32_t leaf, uint32_t out[4])
{
    switch (leaf) {
    case 0x80000000: set4(out, CPUID_MAX_EXT, 0, 0, 0); break;
    case 0x80000001: {
        uint32_t edx = X_SYSCALL | X_PAGE1GB | X_RDTSCP | X_LM;
        if (!(cpu->misc_enable & MISC_ENABLE_XD_DISABLE))
            edx |= X_NX;
        set4(out, 0, 0, X_LAHF_LM | X_ABM | X_PREFETCHW, edx);
        break;
    }
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
        const char *p = brand + (leaf - 0x80000002) * 16;
        set4(out, str4(p), str4(p + 4), str4(p + 8), str4(p + 12));
        break;
    }
    case 0x80000006:
        /* L2: 1024 KiB, 16-way (encoding 8), 64-byte lines */
        set4(out, 0, 0, 1024u << 16 | 8u << 12 | 64u, 0);
        break;
    case 0x80000007: set4(out, 0, 0, 0, 1u << 8 /* invariant TSC */); break;
    case 0x80000008: set4(out, CPUID_MAXPHYADDR | CPUID_MAXLINADDR << 8, 0, 0, 0); break;
    default: set4(out, 0, 0, 0, 0); break; /* 80000005H: reserved on Intel */
    }
}

void cpuid_query(struct cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
    uint32_t max_basic = (cpu->misc_enable & MISC_ENABLE_LIMIT_CPUID) ? 2 : CPUID_MAX_BASIC;
    if (leaf >= CPUID_HV_BASE && leaf <= CPUID_HV_END) {
        if (leaf == CPUID_HV_BASE)
            set4(out, CPUID_HV_BASE, str4("Nest"), str4("VMNe"), str4("stVM"));
        else
            set4(out, 0, 0, 0, 0);
        return;
    }
    if (leaf >= 0x80000000u && leaf <= CPUID_MAX_EXT) {
        leaf_ext(cpu, leaf, out);
        return;
    }
    if (leaf > max_basic) /* above a maximum: the highest basic leaf */
        leaf = max_basic;
    leaf_basic(cpu, leaf, subleaf, max_basic, out);
}

/* CR4 bits and the feature flag that makes each exist (SDM Vol.3 2.5):
 * leaf 1 or 7, register index (EAX=0 .. EDX=3), mask. */
static const struct {
    uint8_t leaf, reg;
    uint32_t flag;
    uint64_t cr4;
} cr4_features[] = {
    { 1, 3, E_VME, CR4_VME | CR4_PVI },
    { 1, 3, E_TSC, CR4_TSD },
    { 1, 3, E_DE, CR4_DE },
    { 1, 3, E_PSE, CR4_PSE },
    { 1, 3, E_PAE, CR4_PAE },
    { 1, 3, E_MCE, CR4_MCE },
    { 1, 3, E_PGE, CR4_PGE },
    { 1, 3, E_FXSR, CR4_OSFXSR },
    { 1, 3, E_SSE, CR4_OSXMMEXCPT },
    { 1, 2, CPUID_1_ECX_VMX, CR4_VMXE },
    { 1, 2, C_SMX, 1ull << 14 /* SMXE */ },
    { 1, 2, CPUID_1_ECX_PCID, CR4_PCIDE },
    { 1, 2, CPUID_1_ECX_XSAVE, CR4_OSXSAVE },
    { 7, 1, S7B_FSGSBASE, CR4_FSGSBASE },
    { 7, 1, S7B_SMEP, CR4_SMEP },
    { 7, 1, S7B_SMAP, CR4_SMAP },
    { 7, 2, S7C_UMIP, CR4_UMIP },
    { 7, 2, S7C_PKU, 1ull << 22 /* PKE */ },
    { 7, 2, S7C_LA57, 1ull << 12 /* LA57 */ },
};

uint64_t cpuid_cr4_valid_bits(struct cpu *cpu)
{
    uint32_t l1[4], l7[4];
    cpuid_query(cpu, 1, 0, l1);
    cpuid_query(cpu, 7, 0, l7);
    uint64_t m = CR4_PCE; /* architectural since the Pentium Pro */
    for (unsigned i = 0; i < sizeof(cr4_features) / sizeof(cr4_features[0]); i++) {
        const uint32_t *r = cr4_features[i].leaf == 1 ? l1 : l7;
        if (r[cr4_features[i].reg] & cr4_features[i].flag)
            m |= cr4_features[i].cr4;
    }
    return m;
}

uint64_t cpuid_efer_valid_bits(struct cpu *cpu)
{
    uint32_t x[4];
    cpuid_query(cpu, 0x80000001u, 0, x);
    uint64_t m = 0;
    if (x[3] & X_SYSCALL)
        m |= EFER_SCE;
    if (x[3] & X_LM)
        m |= EFER_LME | EFER_LMA;
    if (x[3] & X_NX)
        m |= EFER_NXE;
    return m;
}
