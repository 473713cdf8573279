/*
 * test_msr.c — RDMSR/WRMSR through the instructions: unknown MSRs, EFER
 * rules, canonical bases, PAT/MTRR validation, TSC writes, the locked
 * FEATURE_CONTROL, ARCH_CAPABILITIES, speculation controls, TSC_AUX and the
 * APIC base routed to a real local APIC.
 */
#include "cpu/cpuid.h"
#include "cpu/msr.h"
#include "cpu_harness.h"
#include "hw/lapic.h"
#include "test.h"

static enum th_result wrmsr(struct th *t, uint32_t msr, uint64_t v)
{
    static const uint8_t code[] = { 0x0f, 0x30, 0xf4 };
    t->cpu.r[R_CX] = msr;
    t->cpu.r[R_AX] = (uint32_t)v;
    t->cpu.r[R_DX] = v >> 32;
    return th_run(t, code, sizeof code);
}

static enum th_result rdmsr(struct th *t, uint32_t msr, uint64_t *v)
{
    static const uint8_t code[] = { 0x0f, 0x32, 0xf4 };
    t->cpu.r[R_CX] = msr;
    enum th_result r = th_run(t, code, sizeof code);
    *v = (uint32_t)t->cpu.r[R_AX] | (uint64_t)(uint32_t)t->cpu.r[R_DX] << 32;
    return r;
}

/* Expect #GP(0) from WRMSR / RDMSR. */
static bool wr_gp(struct th *t, uint32_t msr, uint64_t v)
{
    return wrmsr(t, msr, v) == TH_EXCEPTION && t->vector == EXC_GP && t->error == 0;
}

static bool rd_gp(struct th *t, uint32_t msr)
{
    uint64_t v;
    return rdmsr(t, msr, &v) == TH_EXCEPTION && t->vector == EXC_GP && t->error == 0;
}

TEST(msr_unknown_gp)
{
    struct th t;
    th_init(&t, TH_LONG64);
    CHECK(rd_gp(&t, 0x12345));
    CHECK(wr_gp(&t, 0x12345, 0));
    CHECK(rd_gp(&t, 0xce));    /* PLATFORM_INFO: not enumerated */
    CHECK(rd_gp(&t, 0x345));   /* PERF_CAPABILITIES */
    CHECK(rd_gp(&t, 0xda0));   /* IA32_XSS: no XSAVES */
    CHECK(rd_gp(&t, 0x1b));    /* APIC_BASE: the harness has no local APIC */
    CHECK(rd_gp(&t, 0x480));   /* VMX_BASIC without VMX */
    CHECK(rd_gp(&t, 0x49));    /* PRED_CMD is write-only */
    CHECK(wr_gp(&t, 0xfe, 0)); /* MTRRCAP is read-only */
    th_destroy(&t);
}

TEST(msr_efer)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint64_t v;
    CHECK_EQ(rdmsr(&t, MSR_IA32_EFER, &v), TH_HALT);
    CHECK_EQ(v, EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE);
    CHECK_EQ(wrmsr(&t, MSR_IA32_EFER, EFER_LME | EFER_LMA | EFER_NXE), TH_HALT);
    CHECK_EQ(rdmsr(&t, MSR_IA32_EFER, &v), TH_HALT);
    CHECK_EQ(v, EFER_LME | EFER_LMA | EFER_NXE);
    /* LME cannot change while paging is on */
    CHECK(wr_gp(&t, MSR_IA32_EFER, EFER_LMA | EFER_NXE));
    CHECK(wr_gp(&t, MSR_IA32_EFER, EFER_LME | EFER_LMA | (1ull << 1))); /* reserved */
    CHECK_EQ(t.cpu.efer, EFER_LME | EFER_LMA | EFER_NXE);
    th_destroy(&t);

    /* Without paging LME may change; LMA is read-only (kept at 0). */
    th_init(&t, TH_PROT32);
    CHECK_EQ(wrmsr(&t, MSR_IA32_EFER, EFER_LME | EFER_LMA | EFER_SCE), TH_HALT);
    CHECK_EQ(rdmsr(&t, MSR_IA32_EFER, &v), TH_HALT);
    CHECK_EQ(v, EFER_LME | EFER_SCE);
    th_destroy(&t);
}

TEST(msr_nx_disabled_by_misc_enable)
{
    struct th t;
    th_init(&t, TH_PROT32);
    uint32_t r[4];
    CHECK_EQ(wrmsr(&t, MSR_IA32_MISC_ENABLE, MISC_ENABLE_XD_DISABLE), TH_HALT);
    cpuid_query(&t.cpu, 0x80000001, 0, r);
    CHECK(!(r[3] & (1u << 20)));
    CHECK(wr_gp(&t, MSR_IA32_EFER, EFER_NXE));
    CHECK_EQ(wrmsr(&t, MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING), TH_HALT);
    CHECK_EQ(wrmsr(&t, MSR_IA32_EFER, EFER_NXE), TH_HALT);
    uint64_t v;
    CHECK_EQ(rdmsr(&t, MSR_IA32_MISC_ENABLE, &v), TH_HALT);
    CHECK_EQ(v & MISC_ENABLE_FAST_STRING, MISC_ENABLE_FAST_STRING);
    CHECK(v & MISC_ENABLE_BTS_UNAVAIL);
    CHECK(wr_gp(&t, MSR_IA32_MISC_ENABLE, 1ull << 40)); /* reserved */
    /* the other R/W bits read back (thermal 3, SpeedStep 16, MONITOR FSM 18,
     * xTPR disable 23); read-only 7/11/12 keep their values */
    uint64_t rw = MISC_ENABLE_FAST_STRING | 1ull << 3 | 1ull << 16 | 1ull << 18 | 1ull << 23;
    CHECK_EQ(wrmsr(&t, MSR_IA32_MISC_ENABLE, rw | MISC_ENABLE_BTS_UNAVAIL |
                                                 MISC_ENABLE_PEBS_UNAVAIL), TH_HALT);
    CHECK_EQ(rdmsr(&t, MSR_IA32_MISC_ENABLE, &v), TH_HALT);
    CHECK_EQ(v, rw | MISC_ENABLE_BTS_UNAVAIL | MISC_ENABLE_PEBS_UNAVAIL);
    th_destroy(&t);
}

TEST(msr_canonical_bases)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint64_t v;
    CHECK(wr_gp(&t, MSR_IA32_FS_BASE, 0x0000800000000000ull));
    CHECK(wr_gp(&t, MSR_IA32_KERNEL_GS_BASE, 0x1234567812345678ull));
    CHECK(wr_gp(&t, MSR_IA32_LSTAR, 0x8000000000000000ull));
    CHECK(wr_gp(&t, MSR_IA32_SYSENTER_EIP, 0x0000900000000000ull));
    CHECK(wr_gp(&t, MSR_IA32_CSTAR, 0xaaaaaaaaaaaaaaaaull));
    CHECK_EQ(wrmsr(&t, MSR_IA32_FS_BASE, 0xffff800000001000ull), TH_HALT);
    CHECK_EQ(t.cpu.seg[SEG_FS].base, 0xffff800000001000ull);
    CHECK_EQ(wrmsr(&t, MSR_IA32_GS_BASE, 0x7000), TH_HALT);
    CHECK_EQ(t.cpu.seg[SEG_GS].base, 0x7000);
    CHECK_EQ(rdmsr(&t, MSR_IA32_FS_BASE, &v), TH_HALT);
    CHECK_EQ(v, 0xffff800000001000ull);
    CHECK_EQ(wrmsr(&t, MSR_IA32_LSTAR, 0xffffffff81000000ull), TH_HALT);
    CHECK_EQ(rdmsr(&t, MSR_IA32_LSTAR, &v), TH_HALT);
    CHECK_EQ(v, 0xffffffff81000000ull);
    th_destroy(&t);
}

TEST(msr_pat_and_mtrr)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint64_t v;
    CHECK_EQ(rdmsr(&t, MSR_IA32_PAT, &v), TH_HALT);
    CHECK_EQ(v, 0x0007040600070406ull); /* power-on value */
    CHECK_EQ(wrmsr(&t, MSR_IA32_PAT, 0x0007010600070106ull), TH_HALT);
    CHECK_EQ(t.cpu.pat, 0x0007010600070106ull);
    CHECK(wr_gp(&t, MSR_IA32_PAT, 0x0007040600070402ull)); /* type 2 reserved */
    CHECK(wr_gp(&t, MSR_IA32_PAT, 0x0007040600070486ull)); /* bits 7:3 reserved */
    CHECK_EQ(t.cpu.pat, 0x0007010600070106ull);

    CHECK_EQ(rdmsr(&t, MSR_IA32_MTRRCAP, &v), TH_HALT);
    CHECK_EQ(v & 0xff, 8);
    CHECK(v & (1u << 8));  /* fixed ranges */
    CHECK(v & (1u << 10)); /* WC */
    CHECK_EQ(wrmsr(&t, MSR_IA32_MTRR_DEF_TYPE, 0xc06), TH_HALT);
    CHECK(wr_gp(&t, MSR_IA32_MTRR_DEF_TYPE, 0xc03));   /* type 3 */
    CHECK(wr_gp(&t, MSR_IA32_MTRR_DEF_TYPE, 0x1c06));  /* bit 12 */
    CHECK_EQ(wrmsr(&t, 0x200, 0x80000000ull | 6), TH_HALT);  /* PHYSBASE0 WB */
    CHECK_EQ(wrmsr(&t, 0x201, 0xff80000800ull), TH_HALT);    /* PHYSMASK0 valid */
    CHECK_EQ(rdmsr(&t, 0x201, &v), TH_HALT);
    CHECK_EQ(v, 0xff80000800ull);
    CHECK(wr_gp(&t, 0x202, 1ull << 45));      /* base above MAXPHYADDR */
    CHECK(wr_gp(&t, 0x203, 0x801));           /* mask reserved bit 0 */
    CHECK(wr_gp(&t, 0x210, 0));               /* only 8 variable ranges */
    CHECK_EQ(wrmsr(&t, 0x26f, 0x0505050504040606ull), TH_HALT); /* FIX4K_F8000 */
    CHECK_EQ(rdmsr(&t, 0x26f, &v), TH_HALT);
    CHECK_EQ(v, 0x0505050504040606ull);
    CHECK(wr_gp(&t, 0x258, 0x0707070707070707ull)); /* UC- is PAT-only */
    th_destroy(&t);
}

TEST(msr_tsc)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint64_t v;
    CHECK_EQ(wrmsr(&t, MSR_IA32_TSC, 1000000ull), TH_HALT);
    CHECK_EQ(rdmsr(&t, MSR_IA32_TSC, &v), TH_HALT);
    CHECK(v >= 1000000ull);
    CHECK(v < 1000000ull + 2000000000ull * 60); /* well under a minute later */
    /* RDTSC sees the same counter */
    static const uint8_t code[] = { 0x0f, 0x31, 0xf4 };
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    uint64_t tsc = (uint32_t)t.cpu.r[R_AX] | (uint64_t)(uint32_t)t.cpu.r[R_DX] << 32;
    CHECK(tsc >= v);
    CHECK(tsc < v + 2000000000ull * 60);
    th_destroy(&t);
}

TEST(msr_feature_control_and_arch_caps)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint64_t v;
    CHECK_EQ(rdmsr(&t, MSR_IA32_FEATURE_CONTROL, &v), TH_HALT);
    CHECK_EQ(v, FEATURE_CONTROL_LOCK);
    t.cpu.vmx_allowed = true;
    CHECK_EQ(rdmsr(&t, MSR_IA32_FEATURE_CONTROL, &v), TH_HALT);
    CHECK_EQ(v, FEATURE_CONTROL_LOCK | FEATURE_CONTROL_VMX_OUTSIDE_SMX);
    CHECK(wr_gp(&t, MSR_IA32_FEATURE_CONTROL, v)); /* locked */

    CHECK_EQ(rdmsr(&t, MSR_IA32_ARCH_CAPABILITIES, &v), TH_HALT);
    CHECK(v & (1u << 0)); /* RDCL_NO */
    CHECK(v & (1u << 5)); /* MDS_NO */
    CHECK(v & (1u << 6)); /* PSCHANGE_MC_NO */
    CHECK(!(v & (1u << 2))); /* not RSBA */
    CHECK(wr_gp(&t, MSR_IA32_ARCH_CAPABILITIES, v));
    th_destroy(&t);
}

TEST(msr_speculation_controls)
{
    struct th t;
    th_init(&t, TH_LONG64);
    uint64_t v;
    CHECK_EQ(wrmsr(&t, MSR_IA32_SPEC_CTRL, 5), TH_HALT);
    CHECK_EQ(rdmsr(&t, MSR_IA32_SPEC_CTRL, &v), TH_HALT);
    CHECK_EQ(v, 5);
    CHECK(wr_gp(&t, MSR_IA32_SPEC_CTRL, 1u << 7));
    CHECK_EQ(wrmsr(&t, MSR_IA32_PRED_CMD, 1), TH_HALT);
    CHECK(wr_gp(&t, MSR_IA32_PRED_CMD, 2));
    CHECK_EQ(wrmsr(&t, MSR_IA32_FLUSH_CMD, 1), TH_HALT);
    CHECK(rd_gp(&t, MSR_IA32_FLUSH_CMD));
    /* LBR and BTF are accepted and ignored (reads 0); other bits #GP */
    CHECK_EQ(wrmsr(&t, MSR_IA32_DEBUGCTL, 3), TH_HALT);
    CHECK_EQ(rdmsr(&t, MSR_IA32_DEBUGCTL, &v), TH_HALT);
    CHECK_EQ(v, 0);
    CHECK(wr_gp(&t, MSR_IA32_DEBUGCTL, 1u << 2));
    CHECK_EQ(wrmsr(&t, MSR_IA32_DEBUGCTL, 0), TH_HALT);
    CHECK_EQ(wrmsr(&t, MSR_IA32_UCODE_REV, 0), TH_HALT);
    CHECK_EQ(rdmsr(&t, MSR_IA32_UCODE_REV, &v), TH_HALT);
    CHECK((v >> 32) != 0 && (uint32_t)v == 0);
    th_destroy(&t);
}

TEST(msr_tsc_aux_rdtscp_rdpid)
{
    struct th t;
    th_init(&t, TH_LONG64);
    CHECK(wr_gp(&t, MSR_IA32_TSC_AUX, 1ull << 32));
    CHECK_EQ(wrmsr(&t, MSR_IA32_TSC_AUX, 0x1234), TH_HALT);
    /* rdtscp; rdpid r8; hlt */
    static const uint8_t code[] = { 0x0f, 0x01, 0xf9, 0xf3, 0x41, 0x0f, 0xc7, 0xf8, 0xf4 };
    t.cpu.r[R_CX] = ~0ull;
    t.cpu.r[R_R8] = ~0ull;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_CX], 0x1234);
    CHECK_EQ(t.cpu.r[R_R8], 0x1234);
    th_destroy(&t);
}

TEST(msr_apic_base_with_lapic)
{
    struct th t;
    struct apic_bus ab;
    struct lapic l;
    th_init(&t, TH_LONG64);
    apic_bus_init(&ab);
    lapic_init(&l, 0, true, &ab);
    t.cpu.lapic = &l;
    t.cpu.apic_base = lapic_get_base(&l);
    uint64_t v;
    uint32_t r[4];
    CHECK_EQ(rdmsr(&t, MSR_IA32_APIC_BASE, &v), TH_HALT);
    CHECK_EQ(v, LAPIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_BSP);
    cpuid_query(&t.cpu, 1, 0, r);
    CHECK(r[3] & CPUID_1_EDX_APIC);
    CHECK(r[2] & CPUID_1_ECX_X2APIC);
    CHECK(r[2] & CPUID_1_ECX_TSC_DEADLINE);
    /* x2APIC registers exist only in x2APIC mode */
    CHECK(rd_gp(&t, 0x802));
    CHECK_EQ(wrmsr(&t, MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_EXTD),
             TH_HALT);
    CHECK_EQ(t.cpu.apic_base & APIC_BASE_EXTD, APIC_BASE_EXTD);
    CHECK_EQ(rdmsr(&t, 0x802, &v), TH_HALT); /* x2APIC ID */
    CHECK_EQ(v, 0);
    CHECK(wr_gp(&t, MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE | APIC_BASE_EN)); /* x2 -> x illegal */
    CHECK_EQ(wrmsr(&t, MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE), TH_HALT);     /* disable */
    CHECK_EQ(t.cpu.apic_base & APIC_BASE_EN, 0);
    cpuid_query(&t.cpu, 1, 0, r);
    CHECK(!(r[3] & CPUID_1_EDX_APIC));
    CHECK(wr_gp(&t, MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE | (1ull << 50)));
    th_destroy(&t);
}

/* Writes that make the local APIC raise something for its own CPU (self IPI,
 * a TSC deadline already passed) post EV_IRQ so the loop notices at the
 * next instruction boundary. */
TEST(msr_lapic_writes_post_events)
{
    struct th t;
    struct apic_bus ab;
    struct lapic l;
    th_init(&t, TH_LONG64);
    apic_bus_init(&ab);
    lapic_init(&l, 0, true, &ab);
    t.cpu.lapic = &l;
    t.cpu.apic_base = lapic_get_base(&l);
    CHECK_EQ(wrmsr(&t, MSR_IA32_APIC_BASE, LAPIC_DEFAULT_BASE | APIC_BASE_EN | APIC_BASE_EXTD),
             TH_HALT);
    CHECK_EQ(wrmsr(&t, 0x80f, 0x1ff), TH_HALT); /* SVR: software-enable */
    atomic_store(&t.cpu.events, 0);
    CHECK_EQ(wrmsr(&t, 0x83f, 0x40), TH_HALT);  /* SELF IPI */
    CHECK(atomic_load(&t.cpu.events) & EV_IRQ);
    CHECK_EQ(lapic_pending_vector(&l), 0x40);
    lapic_ack(&l, 0x40);
    CHECK_EQ(wrmsr(&t, 0x80b, 0), TH_HALT); /* EOI */
    CHECK_EQ(wrmsr(&t, 0x832, 2u << 17 | 0x41), TH_HALT); /* LVT timer: TSC-deadline */
    atomic_store(&t.cpu.events, 0);
    CHECK_EQ(wrmsr(&t, MSR_IA32_TSC_DEADLINE, 1), TH_HALT); /* long past */
    CHECK(atomic_load(&t.cpu.events) & EV_IRQ);
    CHECK_EQ(lapic_pending_vector(&l), 0x41);
    th_destroy(&t);
}
