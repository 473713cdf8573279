/*
 * vmx_caps.c — what nestvm's VT-x implements, as the IA32_VMX_* capability
 * MSRs report it (SDM Vol.3 Appendix A).  The VM-entry checks validate the
 * controls against the same numbers (vmx_allowed_*), so what is advertised
 * and what is accepted cannot disagree.
 *
 * IA32_FEATURE_CONTROL (3AH) lives in src/cpu/msr.c: locked, with "enable
 * VMX outside SMX" set iff cpu->vmx_allowed (SDM Vol.3 23.7).
 *
 * The controls offered are those Linux kvm_intel needs for EPT + VPID +
 * unrestricted guest (see docs/briefs); everything else is allowed-0.
 */
#include "vmx/vmx.h"

#include "cpu/cpuid.h"
#include "cpu/msr.h"
#include "vmx/vmx_hooks.h"

/* ---- default1 classes (SDM A.2, A.3.1, A.3.2, A.4, A.5) ---- */
#define PIN_DEFAULT1 0x00000016u   /* bits 1, 2, 4 */
#define PROC_DEFAULT1 0x0401e172u  /* bits 1, 4-6, 8, 13-16, 26 */
#define EXIT_DEFAULT1 0x00036dffu  /* bits 0-8, 10, 11, 13, 14, 16, 17 */
#define ENTRY_DEFAULT1 0x000011ffu /* bits 0-8, 12 */

/* Default1 controls that the TRUE MSRs report as allowed-0, because the
 * implementation honours their 0-setting (SDM A.3.1/A.3.2/A.4/A.5). */
#define PIN_TRUE_CLEARABLE 0u
#define PROC_TRUE_CLEARABLE (VMX_PROC_CR3_LOAD | VMX_PROC_CR3_STORE)
#define EXIT_TRUE_CLEARABLE VMX_EXITCTL_SAVE_DEBUG
#define ENTRY_TRUE_CLEARABLE VMX_ENTRYCTL_LOAD_DEBUG

/* ---- allowed-1 settings: exactly the implemented controls ---- */
#define PIN_MAY1                                                                           \
    (PIN_DEFAULT1 | VMX_PIN_EXT_INTR | VMX_PIN_NMI | VMX_PIN_VIRTUAL_NMI |                 \
     VMX_PIN_PREEMPT_TIMER | VMX_PIN_POSTED_INTR)

#define PROC_MAY1                                                                          \
    (PROC_DEFAULT1 | VMX_PROC_INTR_WINDOW | VMX_PROC_TSC_OFFSET | VMX_PROC_HLT |          \
     VMX_PROC_INVLPG | VMX_PROC_MWAIT | VMX_PROC_RDPMC | VMX_PROC_RDTSC |                  \
     VMX_PROC_CR3_LOAD | VMX_PROC_CR3_STORE | VMX_PROC_CR8_LOAD | VMX_PROC_CR8_STORE |     \
     VMX_PROC_TPR_SHADOW | VMX_PROC_NMI_WINDOW | VMX_PROC_MOV_DR | VMX_PROC_UNCOND_IO |    \
     VMX_PROC_IO_BITMAPS | VMX_PROC_MTF | VMX_PROC_MSR_BITMAPS | VMX_PROC_MONITOR |        \
     VMX_PROC_PAUSE | VMX_PROC_SECONDARY)

/* APIC-register virtualization, virtual-interrupt delivery (and the
 * pin-based "process posted interrupts") are vmx_apic.c / vmx_apicv.c /
 * vmx_posted.c; PAUSE-loop exiting is allowed-0 only (PAUSE exits under the
 * primary control instead); no XSAVES in the engine, no PML, no #VE. */
#define PROC2_MAY1                                                                         \
    (VMX_PROC2_VIRT_APIC_ACCESS | VMX_PROC2_EPT | VMX_PROC2_DESC_TABLE |                  \
     VMX_PROC2_RDTSCP | VMX_PROC2_VIRT_X2APIC | VMX_PROC2_VPID | VMX_PROC2_WBINVD |        \
     VMX_PROC2_UNRESTRICTED | VMX_PROC2_APIC_REG_VIRT | VMX_PROC2_VINTR_DELIVERY |         \
     VMX_PROC2_RDRAND | VMX_PROC2_INVPCID | VMX_PROC2_VMFUNC | VMX_PROC2_SHADOW_VMCS |     \
     VMX_PROC2_RDSEED)

/* IA32_PERF_GLOBAL_CTRL is not modelled (no performance counters). */
#define EXIT_MAY1                                                                          \
    (EXIT_DEFAULT1 | VMX_EXITCTL_HOST_64 | VMX_EXITCTL_ACK_INTR | VMX_EXITCTL_SAVE_PAT |   \
     VMX_EXITCTL_LOAD_PAT | VMX_EXITCTL_SAVE_EFER | VMX_EXITCTL_LOAD_EFER |                \
     VMX_EXITCTL_SAVE_PREEMPT)

#define ENTRY_MAY1                                                                         \
    (ENTRY_DEFAULT1 | VMX_ENTRYCTL_IA32E_GUEST | VMX_ENTRYCTL_LOAD_PAT |                  \
     VMX_ENTRYCTL_LOAD_EFER)

/* ---- IA32_VMX_BASIC (SDM A.1) ---- */
#define BASIC_MEMTYPE_WB 6ull
#define BASIC_INSOUTS_INFO (1ull << 54)
#define BASIC_TRUE_CTLS (1ull << 55)

/* ---- IA32_VMX_MISC (SDM A.6) ---- */
#define MISC_VALUE                                                                         \
    ((uint64_t)VMX_PREEMPT_TIMER_RATE | VMX_MISC_EFER_LMA_SAVED | VMX_MISC_ACT_HLT |       \
     VMX_MISC_ACT_WAIT_SIPI | (uint64_t)VMX_CR3_TARGETS << 16 |                            \
     (uint64_t)(VMX_MSR_LIST_MAX / 512 - 1) << 25 | VMX_MISC_VMWRITE_ANY)

/* ---- IA32_VMX_EPT_VPID_CAP (SDM A.10).  Execute-only translations are not
 * advertised (ept.c may add VMX_EPT_EXEC_ONLY once it implements them). ---- */
#define EPT_VPID_VALUE                                                                     \
    (VMX_EPT_PWL4 | VMX_EPT_MT_WB | VMX_EPT_2MB | VMX_EPT_1GB | VMX_EPT_INVEPT |          \
     VMX_EPT_AD | VMX_EPT_INVEPT_SINGLE | VMX_EPT_INVEPT_ALL | VMX_VPID_INVVPID |          \
     VMX_VPID_INDIV_ADDR | VMX_VPID_SINGLE | VMX_VPID_ALL | VMX_VPID_SINGLE_NONGLOBAL)

/* ---- CR0/CR4 fixed bits in VMX operation (SDM A.7, A.8, 23.8) ---- */
/* CR0: bits 31:0 are all allowed-1, as on hardware (IA32_VMX_CR0_FIXED1 =
 * FFFFFFFFH).  The reserved bits 28:19, 17 and 15:6 are not "fixed to 0":
 * MOV to CR0 ignores them (they always read 0) and VM entry/exit never
 * modify them (SDM 26.3.2.1, 27.5.1), so a 1 there never reaches CR0 and
 * VMXON must not #GP for it.  Bits 63:32 are fixed to 0. */
#define CR0_FIXED1_VALUE 0xffffffffull
/* CR4 bits the engine supports (cpuid_cr4_valid_bits() for a CPU with VMX;
 * a unit test keeps the two in step). */
#define CR4_IMPLEMENTED                                                                    \
    (CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCE | CR4_OSFXSR |               \
     CR4_OSXMMEXCPT | CR4_UMIP | CR4_VMXE | CR4_FSGSBASE | CR4_PCIDE | CR4_OSXSAVE |       \
     CR4_SMEP | CR4_SMAP)

uint64_t vmx_cr0_fixed0(void)
{
    return CR0_PE | CR0_NE | CR0_PG;
}

uint64_t vmx_cr0_fixed1(void)
{
    return CR0_FIXED1_VALUE;
}

uint64_t vmx_cr4_fixed0(void)
{
    return CR4_VMXE;
}

uint64_t vmx_cr4_fixed1(void)
{
    return CR4_IMPLEMENTED;
}

static void allowed(bool true_ctls, uint32_t default1, uint32_t clearable, uint32_t may1,
                    uint32_t *must_be_1, uint32_t *may_be_1)
{
    *must_be_1 = true_ctls ? default1 & ~clearable : default1;
    *may_be_1 = may1;
}

void vmx_allowed_pin(bool true_ctls, uint32_t *must_be_1, uint32_t *may_be_1)
{
    allowed(true_ctls, PIN_DEFAULT1, PIN_TRUE_CLEARABLE, PIN_MAY1, must_be_1, may_be_1);
}

void vmx_allowed_proc(bool true_ctls, uint32_t *must_be_1, uint32_t *may_be_1)
{
    allowed(true_ctls, PROC_DEFAULT1, PROC_TRUE_CLEARABLE, PROC_MAY1, must_be_1, may_be_1);
}

void vmx_allowed_proc2(uint32_t *must_be_1, uint32_t *may_be_1)
{
    *must_be_1 = 0;
    *may_be_1 = PROC2_MAY1;
}

void vmx_allowed_exit(bool true_ctls, uint32_t *must_be_1, uint32_t *may_be_1)
{
    allowed(true_ctls, EXIT_DEFAULT1, EXIT_TRUE_CLEARABLE, EXIT_MAY1, must_be_1, may_be_1);
}

void vmx_allowed_entry(bool true_ctls, uint32_t *must_be_1, uint32_t *may_be_1)
{
    allowed(true_ctls, ENTRY_DEFAULT1, ENTRY_TRUE_CLEARABLE, ENTRY_MAY1, must_be_1, may_be_1);
}

uint64_t vmx_misc_caps(void)
{
    return MISC_VALUE;
}

uint64_t vmx_ept_vpid_caps(void)
{
    return EPT_VPID_VALUE;
}

uint64_t vmx_vmfunc_caps(void)
{
    return 1; /* function 0: EPTP switching (SDM A.11, 25.5.6.3) */
}

/* Highest index (encoding bits 9:1) among the supported fields (SDM A.9). */
static uint64_t vmcs_enum_value(void)
{
    unsigned hi = 0;
    for (int i = 0; i < VMCS_NFIELDS; i++) {
        unsigned idx = (vmcs_field_encoding((enum vmcs_field)i) >> 1) & 0x1ff;
        if (idx > hi)
            hi = idx;
    }
    return (uint64_t)hi << 1;
}

/* Allowed-0 settings in bits 31:0, allowed-1 in 63:32 (SDM A.3). */
typedef void ctl_fn(bool, uint32_t *, uint32_t *);
static uint64_t ctl_msr(ctl_fn *fn, bool true_ctls)
{
    uint32_t m1, a1;
    fn(true_ctls, &m1, &a1);
    return (uint64_t)a1 << 32 | m1;
}

int vmx_caps_msr(struct cpu *cpu, uint32_t msr, uint64_t *val)
{
    uint32_t m1, a1;
    switch (msr) {
    case 0x480: /* IA32_VMX_BASIC (A.1) */
        *val = VMCS_REVISION_ID | (uint64_t)VMCS_REGION_SIZE << 32 | BASIC_MEMTYPE_WB << 50 |
               BASIC_INSOUTS_INFO | BASIC_TRUE_CTLS;
        return 0;
    case 0x481: *val = ctl_msr(vmx_allowed_pin, false); return 0;
    case 0x482: *val = ctl_msr(vmx_allowed_proc, false); return 0;
    case 0x483: *val = ctl_msr(vmx_allowed_exit, false); return 0;
    case 0x484: *val = ctl_msr(vmx_allowed_entry, false); return 0;
    case 0x485: *val = vmx_misc_caps(); return 0;
    case 0x486: *val = vmx_cr0_fixed0(); return 0;
    case 0x487: *val = vmx_cr0_fixed1(); return 0;
    case 0x488: *val = vmx_cr4_fixed0(); return 0;
    case 0x489: *val = vmx_cr4_fixed1(); return 0;
    case 0x48a: *val = vmcs_enum_value(); return 0;
    case 0x48b: /* exists because PROCBASED_CTLS bit 63 is 1 (A.3.3) */
        vmx_allowed_proc2(&m1, &a1);
        *val = (uint64_t)a1 << 32 | m1;
        return 0;
    case 0x48c: *val = vmx_ept_vpid_caps(); return 0; /* EPT or VPID allowed-1 (A.10) */
    case 0x48d: *val = ctl_msr(vmx_allowed_pin, true); return 0;
    case 0x48e: *val = ctl_msr(vmx_allowed_proc, true); return 0;
    case 0x48f: *val = ctl_msr(vmx_allowed_exit, true); return 0;
    case 0x490: *val = ctl_msr(vmx_allowed_entry, true); return 0;
    case 0x491: *val = vmx_vmfunc_caps(); return 0; /* VMFUNC allowed-1 (A.11) */
    default: return -1;
    }
}

/* RDMSR of 480H-491H (msr.c); #GP when the machine has no VMX (SDM A.1). */
int vmx_msr_read(struct cpu *cpu, uint32_t msr, uint64_t *val)
{
    if (!cpu->vmx_allowed)
        return -1;
    return vmx_caps_msr(cpu, msr, val);
}

/* EPTP format (SDM 24.6.11) checked as VM entry does (26.2.1.1): memory
 * type WB (UC is not advertised), page-walk length 4, A/D enable allowed
 * (VMX_EPT_AD), bits 11:7 reserved (no supervisor shadow stacks), no
 * address bits at or above MAXPHYADDR. */
bool vmx_eptp_valid(uint64_t eptp)
{
    if ((eptp & 7) != 6)
        return false;
    if (((eptp >> 3) & 7) != 3)
        return false;
    if (eptp & 0xf80)
        return false;
    return (eptp >> CPUID_MAXPHYADDR) == 0;
}
