/*
 * msr.c — RDMSR/WRMSR targets of the CPU model (SDM Vol.4 chapter 2,
 * Table 2-2 "IA-32 Architectural MSRs") and the guest time-stamp counter.
 *
 * Only MSRs that CPUID advertises exist; everything else, and every write
 * of a reserved bit, a read of a write-only MSR or a write of a read-only
 * one, returns -1 so the instruction raises #GP(0) (SDM Vol.2 RDMSR/WRMSR).
 *
 *   TSC 10H            guest TSC = host ns * (CPUID_TSC_HZ / 1e9) + tsc_offset
 *   FEATURE_CONTROL    locked; "VMX outside SMX" iff cpu->vmx_allowed
 *   SPEC_CTRL ...      IBRS/STIBP/SSBD storage, IBPB and L1D flush accepted:
 *                      there is no speculation to control
 *   ARCH_CAPABILITIES  every "not affected" bit the engine honours
 *   MTRRs              storage with reserved-bit and memory-type checks
 *                      (SDM Vol.3 11.11); memory types do not change behaviour
 *   APIC_BASE, x2APIC, TSC_DEADLINE   forwarded to the local APIC
 *   VMX 480H-491H      the VMX code (vmx_msr_read) or #GP without VMX
 */
#include "cpu/msr.h"

#include "cpu/cpuid.h"
#include "cpu/exec.h"
#include "cpu/mem.h"
#include "cpu/seg.h"
#include "hw/clock.h"
#include "hw/lapic.h"
#include "vmx/vmx_hooks.h"

_Static_assert(CPUID_TSC_HZ % 1000000000ull == 0, "TSC rate must be a whole multiple of 1 GHz");
#define TSC_PER_NS (CPUID_TSC_HZ / 1000000000ull)

/* IA32_BIOS_SIGN_ID: the microcode revision reported in bits 63:32. */
#define UCODE_REVISION 0x0d0003e7ull

/* IA32_MTRRCAP: 8 variable ranges, fixed ranges, write-combining (SDM 11.11.1). */
#define MTRRCAP_VALUE (8ull | 1ull << 8 | 1ull << 10)
#define PHYS_RSVD (~((1ull << CPUID_MAXPHYADDR) - 1))

/* IA32_ARCH_CAPABILITIES (SDM Vol.4 Table 2-2). */
#define ARCH_CAP_RDCL_NO (1ull << 0)
#define ARCH_CAP_IBRS_ALL (1ull << 1)
#define ARCH_CAP_SKIP_L1DFL_VMENTRY (1ull << 3)
#define ARCH_CAP_SSB_NO (1ull << 4)
#define ARCH_CAP_MDS_NO (1ull << 5)
#define ARCH_CAP_PSCHANGE_MC_NO (1ull << 6)
#define ARCH_CAP_TAA_NO (1ull << 8)
#define ARCH_CAP_SBDR_SSDP_NO (1ull << 13)
#define ARCH_CAP_FBSDP_NO (1ull << 14)
#define ARCH_CAP_PSDP_NO (1ull << 15)
#define ARCH_CAP_BHI_NO (1ull << 20)
#define ARCH_CAP_PBRSB_NO (1ull << 24)
#define ARCH_CAP_GDS_NO (1ull << 26)
#define ARCH_CAP_RFDS_NO (1ull << 27)
/* Not set by hardware: virtual machine monitors synthesize it to say the
 * guest is not exposed to indirect target selection. */
#define ARCH_CAP_ITS_NO (1ull << 62)
#define ARCH_CAP_VALUE                                                                      \
    (ARCH_CAP_RDCL_NO | ARCH_CAP_IBRS_ALL | ARCH_CAP_SKIP_L1DFL_VMENTRY | ARCH_CAP_SSB_NO |   \
     ARCH_CAP_MDS_NO | ARCH_CAP_PSCHANGE_MC_NO | ARCH_CAP_TAA_NO | ARCH_CAP_SBDR_SSDP_NO |    \
     ARCH_CAP_FBSDP_NO | ARCH_CAP_PSDP_NO | ARCH_CAP_BHI_NO | ARCH_CAP_PBRSB_NO |             \
     ARCH_CAP_GDS_NO | ARCH_CAP_RFDS_NO | ARCH_CAP_ITS_NO)

/* IA32_SPEC_CTRL: IBRS, STIBP, SSBD (the ones CPUID leaf 7 EDX enumerates). */
#define SPEC_CTRL_VALID 0x7ull

/* IA32_MISC_ENABLE: bits software may change, and the read-only ones that
 * always read as set (no BTS, no PEBS: CPUID.1.EDX.DS = 0).  The R/W bits
 * automatic thermal control (3), Enhanced SpeedStep (16), MONITOR FSM (18)
 * and xTPR message disable (23) are stored and read back but change nothing:
 * there is no thermal control, P-state, MONITOR or xTPR message to switch. */
#define MISC_ENABLE_WRITABLE                                                                \
    (MISC_ENABLE_FAST_STRING | 1ull << 3 | 1ull << 16 | 1ull << 18 | MISC_ENABLE_LIMIT_CPUID | \
     1ull << 23 | MISC_ENABLE_XD_DISABLE)
#define MISC_ENABLE_FIXED (MISC_ENABLE_BTS_UNAVAIL | MISC_ENABLE_PEBS_UNAVAIL)
/* Bits with an architectural meaning; writing any other bit is #GP. */
#define MISC_ENABLE_KNOWN                                                                   \
    (MISC_ENABLE_WRITABLE | MISC_ENABLE_FIXED | 1ull << 3 | 1ull << 7 | 1ull << 16 |          \
     1ull << 18 | 1ull << 23 | 1ull << 38)

/* ---------- TSC ---------- */

uint64_t cpu_read_tsc(struct cpu *cpu)
{
    uint64_t tsc = clock_host_ns() * TSC_PER_NS + cpu->tsc_offset;
    if (unlikely(cpu->nonroot) && cpu->vmx)
        tsc += vmx_tsc_offset(cpu); /* VMX TSC offsetting (SDM 25.3) */
    return tsc;
}

/* The local APIC converts TSC-deadline values with the same rate and offset. */
static void tsc_sync_lapic(struct cpu *cpu)
{
    if (cpu->lapic) {
        cpu->lapic->tsc_hz = CPUID_TSC_HZ;
        cpu->lapic->tsc_offset = cpu->tsc_offset;
    }
}

/* SDM 17.17.3: a write to IA32_TIME_STAMP_COUNTER adds the same change to
 * IA32_TSC_ADJUST, and a write to IA32_TSC_ADJUST moves the TSC by the
 * difference, so the two stay consistent. */
void cpu_write_tsc(struct cpu *cpu, uint64_t tsc)
{
    uint64_t now = clock_host_ns() * TSC_PER_NS;
    cpu->tsc_adjust += tsc - (now + cpu->tsc_offset);
    cpu->tsc_offset = tsc - now;
    tsc_sync_lapic(cpu);
}

static void write_tsc_adjust(struct cpu *cpu, uint64_t v)
{
    cpu->tsc_offset += v - cpu->tsc_adjust;
    cpu->tsc_adjust = v;
    tsc_sync_lapic(cpu);
}

void cpu_lapic_written(struct cpu *cpu)
{
    if (cpu->lapic && lapic_has_event(cpu->lapic))
        atomic_fetch_or(&cpu->events, EV_IRQ);
}

/* ---------- helpers ---------- */

/* Memory types valid in PAT entries and MTRRs (SDM 11.12.3, 11.11.2.1):
 * UC 0, WC 1, WT 4, WP 5, WB 6; PAT also has UC- 7. */
static bool mem_type_ok(uint64_t t, bool pat)
{
    return t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || (pat && t == 7);
}

/* Every byte of a PAT or fixed-range MTRR value holds a valid type. */
static bool mem_types8_ok(uint64_t v, bool pat)
{
    for (int i = 0; i < 8; i++)
        if (!mem_type_ok((v >> (8 * i)) & 0xff, pat))
            return false;
    return true;
}

/* Index into cpu->mtrr_fixed[] for a fixed-range MTRR, or -1. */
static int mtrr_fixed_index(uint32_t msr)
{
    if (msr == MSR_IA32_MTRR_FIX64K_00000)
        return 0;
    if (msr == MSR_IA32_MTRR_FIX16K_80000 || msr == MSR_IA32_MTRR_FIX16K_A0000)
        return 1 + (int)(msr - MSR_IA32_MTRR_FIX16K_80000);
    if (msr >= MSR_IA32_MTRR_FIX4K_C0000 && msr <= MSR_IA32_MTRR_FIX4K_F8000)
        return 3 + (int)(msr - MSR_IA32_MTRR_FIX4K_C0000);
    return -1;
}

static bool mtrr_var_msr(uint32_t msr)
{
    return msr >= MSR_IA32_MTRR_PHYSBASE0 && msr < MSR_IA32_MTRR_PHYSBASE0 + 2 * MAX_MSR_MTRR_VAR;
}

/* IA32_MTRR_PHYSBASEn: type 7:0, base 12..MAXPHYADDR-1;
 * IA32_MTRR_PHYSMASKn: valid bit 11, mask 12..MAXPHYADDR-1 (SDM 11.11.2.3). */
static int mtrr_var_write(struct cpu *cpu, uint32_t msr, uint64_t v)
{
    unsigned i = msr - MSR_IA32_MTRR_PHYSBASE0;
    if (i % 2 == 0) {
        if ((v & (PHYS_RSVD | 0xf00)) || !mem_type_ok(v & 0xff, false))
            return -1;
    } else if (v & (PHYS_RSVD | 0x7ff)) {
        return -1;
    }
    cpu->mtrr_var[i] = v;
    return 0;
}

/* IA32_MTRR_DEF_TYPE: type 7:0, FE bit 10, E bit 11 (SDM 11.11.2.1). */
static int mtrr_def_write(struct cpu *cpu, uint64_t v)
{
    if ((v & ~0xcffull) || !mem_type_ok(v & 0xff, false))
        return -1;
    cpu->mtrr_def_type = v;
    return 0;
}

/* IA32_EFER (SDM Vol.3 2.2.1, 9.8.5): LMA is read-only (kept), LME cannot
 * change while paging is enabled, NXE only when XD is enumerated. */
static int efer_write(struct cpu *cpu, uint64_t v)
{
    uint64_t old = cpu->efer;
    if (v & ~cpuid_efer_valid_bits(cpu))
        return -1;
    if ((cpu->cr0 & CR0_PG) && ((v ^ old) & EFER_LME))
        return -1;
    v = (v & ~EFER_LMA) | (old & EFER_LMA);
    cpu->efer = v;
    if ((v ^ old) & EFER_NXE)
        tlb_flush_all(cpu); /* XD bits change meaning in cached translations */
    cpu_update_mode(cpu);
    return 0;
}

/* IA32_APIC_BASE (SDM 10.4.4): the local APIC owns the state machine;
 * cpu->apic_base mirrors it for the memory path (mem.c). */
static int apic_base_write(struct cpu *cpu, uint64_t v)
{
    if (!cpu->lapic)
        return -1;
    if (lapic_set_base(cpu->lapic, v) < 0)
        return -1;
    cpu->apic_base = lapic_get_base(cpu->lapic);
    tlb_flush_all(cpu); /* the APIC page may have moved over cached RAM */
    return 0;
}

static int canonical_store(uint64_t *dst, uint64_t v)
{
    if (!seg_canonical(v))
        return -1; /* SDM WRMSR: #GP for a non-canonical address in these MSRs */
    *dst = v;
    return 0;
}

/* ---------- RDMSR ---------- */

int msr_read(struct cpu *cpu, uint32_t msr, uint64_t *val)
{
    uint64_t v;
    switch (msr) {
    case MSR_IA32_TSC: v = cpu_read_tsc(cpu); break;
    case MSR_IA32_TSC_ADJUST: v = cpu->tsc_adjust; break;
    case MSR_IA32_PLATFORM_ID: v = 0; break;
    case MSR_IA32_APIC_BASE:
        if (!cpu->lapic)
            return -1;
        v = lapic_get_base(cpu->lapic);
        break;
    case MSR_IA32_FEATURE_CONTROL:
        v = FEATURE_CONTROL_LOCK | (cpu->vmx_allowed ? FEATURE_CONTROL_VMX_OUTSIDE_SMX : 0);
        break;
    case MSR_IA32_SPEC_CTRL: v = cpu->spec_ctrl; break;
    case MSR_IA32_UCODE_REV: v = UCODE_REVISION << 32; break;
    case MSR_IA32_MTRRCAP: v = MTRRCAP_VALUE; break;
    case MSR_IA32_ARCH_CAPABILITIES: v = ARCH_CAP_VALUE; break;
    case MSR_IA32_SYSENTER_CS: v = cpu->sysenter_cs; break;
    case MSR_IA32_SYSENTER_ESP: v = cpu->sysenter_esp; break;
    case MSR_IA32_SYSENTER_EIP: v = cpu->sysenter_eip; break;
    case MSR_IA32_MCG_CAP: v = 0; break; /* no banks, no MCG_CTL */
    case MSR_IA32_MCG_STATUS: v = 0; break;
    case MSR_IA32_MISC_ENABLE:
        v = (cpu->misc_enable & MISC_ENABLE_WRITABLE) | MISC_ENABLE_FIXED;
        break;
    case MSR_IA32_DEBUGCTL: v = cpu->debugctl; break;
    case MSR_IA32_PAT: v = cpu->pat; break;
    case MSR_IA32_MTRR_DEF_TYPE: v = cpu->mtrr_def_type; break;
    case MSR_IA32_TSC_DEADLINE:
        if (!cpu->lapic)
            return -1;
        v = lapic_get_tsc_deadline(cpu->lapic);
        break;
    case MSR_IA32_EFER: v = cpu->efer; break;
    case MSR_IA32_STAR: v = cpu->star; break;
    case MSR_IA32_LSTAR: v = cpu->lstar; break;
    case MSR_IA32_CSTAR: v = cpu->cstar; break;
    case MSR_IA32_FMASK: v = cpu->sfmask; break;
    case MSR_IA32_FS_BASE: v = cpu->seg[SEG_FS].base; break;
    case MSR_IA32_GS_BASE: v = cpu->seg[SEG_GS].base; break;
    case MSR_IA32_KERNEL_GS_BASE: v = cpu->kernel_gs_base; break;
    case MSR_IA32_TSC_AUX: v = cpu->tsc_aux; break;
    default: {
        int fi = mtrr_fixed_index(msr);
        if (fi >= 0) {
            v = cpu->mtrr_fixed[fi];
            break;
        }
        if (mtrr_var_msr(msr)) {
            v = cpu->mtrr_var[msr - MSR_IA32_MTRR_PHYSBASE0];
            break;
        }
        if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST)
            return cpu->lapic ? lapic_msr_read(cpu->lapic, msr, val) : -1;
        if (msr >= MSR_IA32_VMX_BASIC && msr <= MSR_IA32_VMX_LAST)
            return cpu->vmx_allowed ? vmx_msr_read(cpu, msr, val) : -1;
        /* PRED_CMD, FLUSH_CMD (write-only), PLATFORM_INFO, PERF_CAPABILITIES,
         * XSS and anything else not enumerated */
        return -1;
    }
    }
    *val = v;
    return 0;
}

/* ---------- WRMSR ---------- */

int msr_write(struct cpu *cpu, uint32_t msr, uint64_t v)
{
    switch (msr) {
    case MSR_IA32_TSC: cpu_write_tsc(cpu, v); return 0;
    case MSR_IA32_TSC_ADJUST: write_tsc_adjust(cpu, v); return 0;
    case MSR_IA32_APIC_BASE: return apic_base_write(cpu, v);
    case MSR_IA32_SPEC_CTRL:
        if (v & ~SPEC_CTRL_VALID)
            return -1;
        cpu->spec_ctrl = v;
        return 0;
    case MSR_IA32_PRED_CMD:  /* IBPB: nothing is predicted */
    case MSR_IA32_FLUSH_CMD: /* L1D_FLUSH: there is no L1D to flush */
        return v & ~1ull ? -1 : 0;
    case MSR_IA32_UCODE_REV: return 0; /* software writes 0 before CPUID (SDM 9.11.7.1) */
    case MSR_IA32_SYSENTER_CS: cpu->sysenter_cs = v; return 0;
    case MSR_IA32_SYSENTER_ESP: return canonical_store(&cpu->sysenter_esp, v);
    case MSR_IA32_SYSENTER_EIP: return canonical_store(&cpu->sysenter_eip, v);
    case MSR_IA32_MCG_STATUS: return v ? -1 : 0;
    case MSR_IA32_MISC_ENABLE:
        if (v & ~MISC_ENABLE_KNOWN)
            return -1;
        cpu->misc_enable = v & MISC_ENABLE_WRITABLE;
        return 0;
    case MSR_IA32_DEBUGCTL:
        /* no LBR, BTF, BTS or freeze features are implemented; LBR and BTF
         * (architectural since the P6) are accepted and ignored so that
         * software enabling them keeps running; other bits #GP */
        if (v & ~DEBUGCTL_ACCEPTED_IGNORED)
            return -1;
        cpu->debugctl = 0;
        return 0;
    case MSR_IA32_PAT:
        if (!mem_types8_ok(v, true))
            return -1;
        cpu->pat = v;
        return 0;
    case MSR_IA32_MTRR_DEF_TYPE: return mtrr_def_write(cpu, v);
    case MSR_IA32_TSC_DEADLINE:
        if (!cpu->lapic)
            return -1;
        tsc_sync_lapic(cpu);
        lapic_set_tsc_deadline(cpu->lapic, v);
        cpu_lapic_written(cpu); /* a deadline in the past fires at once */
        return 0;
    case MSR_IA32_EFER: return efer_write(cpu, v);
    case MSR_IA32_STAR: cpu->star = v; return 0;
    case MSR_IA32_LSTAR: return canonical_store(&cpu->lstar, v);
    case MSR_IA32_CSTAR: return canonical_store(&cpu->cstar, v);
    case MSR_IA32_FMASK: cpu->sfmask = v; return 0;
    case MSR_IA32_FS_BASE: return canonical_store(&cpu->seg[SEG_FS].base, v);
    case MSR_IA32_GS_BASE: return canonical_store(&cpu->seg[SEG_GS].base, v);
    case MSR_IA32_KERNEL_GS_BASE: return canonical_store(&cpu->kernel_gs_base, v);
    case MSR_IA32_TSC_AUX:
        if (v >> 32)
            return -1; /* bits 63:32 reserved */
        cpu->tsc_aux = v;
        return 0;
    default: {
        int fi = mtrr_fixed_index(msr);
        if (fi >= 0) {
            if (!mem_types8_ok(v, false))
                return -1;
            cpu->mtrr_fixed[fi] = v;
            return 0;
        }
        if (mtrr_var_msr(msr))
            return mtrr_var_write(cpu, msr, v);
        if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST) {
            if (!cpu->lapic || lapic_msr_write(cpu->lapic, msr, v) < 0)
                return -1;
            cpu_lapic_written(cpu);
            return 0;
        }
        /* read-only: PLATFORM_ID, FEATURE_CONTROL (locked), MTRRCAP,
         * ARCH_CAPABILITIES, MCG_CAP, the VMX capabilities; or absent */
        return -1;
    }
    }
}

/* ---------- reset ---------- */

void msr_reset(struct cpu *cpu)
{
    cpu->misc_enable = MISC_ENABLE_FAST_STRING;
    cpu->spec_ctrl = 0;
    cpu->debugctl = 0;
    cpu->mtrr_def_type = 0;
    memset(cpu->mtrr_fixed, 0, sizeof(cpu->mtrr_fixed));
    memset(cpu->mtrr_var, 0, sizeof(cpu->mtrr_var));
    cpu->feature_control =
        FEATURE_CONTROL_LOCK | (cpu->vmx_allowed ? FEATURE_CONTROL_VMX_OUTSIDE_SMX : 0);
}

void msr_firmware_setup(struct cpu *cpu)
{
    cpu->mtrr_def_type = 1ull << 11 | 6; /* E=1, default type WB */
}
