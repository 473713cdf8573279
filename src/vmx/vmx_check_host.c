/*
 * vmx_check_host.c — VM-entry checks on the host-state area (SDM Vol.3
 * 26.2.2 host control registers and MSRs, 26.2.3 host segment and
 * descriptor-table registers, 26.2.4 address-space size).  A failure makes
 * VMLAUNCH/VMRESUME fail with VMfailValid(VM entry with invalid host-state
 * field) (vmx_entry.c).  These fields are what a VM exit loads, so they are
 * checked before anything is loaded.
 */
#include "vmx/vmx_check.h"

typedef bool host_check(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k);

#define S_CRS "SDM 26.2.2"
#define S_SEGS "SDM 26.2.3"
#define S_SIZE "SDM 26.2.4"

static bool host64(const struct vmx_ctls *k)
{
    return k->exit & VMX_EXITCTL_HOST_64;
}

/* ---------------- 26.2.2 control registers and MSRs ---------------- */

/* CR0 and CR4 respect IA32_VMX_CR0/CR4_FIXED0/1 (SDM 23.8). */
static bool host_cr0_fixed_bits(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    uint64_t host_cr0 = vmcs_get(c, VMCS_HOST_CR0);
    uint64_t fixed0 = vmx_cr0_fixed0(), fixed1 = vmx_cr0_fixed1();
    return !VMX_CC(cpu, (host_cr0 & fixed0) != fixed0 || (host_cr0 & ~fixed1), S_CRS);
}

static bool host_cr4_fixed_bits(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    uint64_t host_cr4 = vmcs_get(c, VMCS_HOST_CR4);
    uint64_t fixed0 = vmx_cr4_fixed0(), fixed1 = vmx_cr4_fixed1();
    return !VMX_CC(cpu, (host_cr4 & fixed0) != fixed0 || (host_cr4 & ~fixed1), S_CRS);
}

static bool host_cr3_within_maxphyaddr(struct cpu *cpu, const struct vmcs *c,
                                       const struct vmx_ctls *k)
{
    uint64_t host_cr3 = vmcs_get(c, VMCS_HOST_CR3);
    return !VMX_CC(cpu, !vmx_pa_ok(host_cr3), S_CRS);
}

static bool host_sysenter_canonical(struct cpu *cpu, const struct vmcs *c,
                                    const struct vmx_ctls *k)
{
    uint64_t sysenter_esp = vmcs_get(c, VMCS_HOST_IA32_SYSENTER_ESP);
    uint64_t sysenter_eip = vmcs_get(c, VMCS_HOST_IA32_SYSENTER_EIP);
    return !VMX_CC(cpu, !seg_canonical(sysenter_esp) || !seg_canonical(sysenter_eip), S_CRS);
}

/* "load IA32_PAT": a value WRMSR would accept. */
static bool host_pat_valid(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    bool load_pat = k->exit & VMX_EXITCTL_LOAD_PAT;
    uint64_t host_pat = vmcs_get(c, VMCS_HOST_IA32_PAT);
    return !VMX_CC(cpu, load_pat && !vmx_pat_ok(host_pat), S_CRS);
}

/* "load IA32_EFER": no reserved bits; LMA and LME equal the host
 * address-space size control. */
static bool host_efer_reserved_bits(struct cpu *cpu, const struct vmcs *c,
                                    const struct vmx_ctls *k)
{
    bool load_efer = k->exit & VMX_EXITCTL_LOAD_EFER;
    uint64_t host_efer = vmcs_get(c, VMCS_HOST_IA32_EFER);
    return !VMX_CC(cpu, load_efer && (host_efer & ~cpuid_efer_valid_bits(cpu)), S_CRS);
}

static bool host_efer_matches_address_space_size(struct cpu *cpu, const struct vmcs *c,
                                                 const struct vmx_ctls *k)
{
    bool load_efer = k->exit & VMX_EXITCTL_LOAD_EFER;
    uint64_t host_efer = vmcs_get(c, VMCS_HOST_IA32_EFER);
    bool lma = host_efer & EFER_LMA, lme = host_efer & EFER_LME;
    bool host_address_space_size = host64(k);
    return !VMX_CC(cpu,
                   load_efer && (lma != host_address_space_size || lme != host_address_space_size),
                   S_CRS);
}

/* ---------------- 26.2.3 segment and descriptor-table registers ---------------- */

/* RPL and TI are 0 in the CS, SS, DS, ES, FS, GS and TR selectors. */
static bool host_selectors_rpl_ti_zero(struct cpu *cpu, const struct vmcs *c,
                                       const struct vmx_ctls *k)
{
    uint64_t rpl_ti_bits = 0;
    for (enum vmcs_field f = VMCS_HOST_ES_SELECTOR; f <= VMCS_HOST_TR_SELECTOR; f++)
        rpl_ti_bits |= vmcs_get(c, f) & 7;
    return !VMX_CC(cpu, rpl_ti_bits != 0, S_SEGS);
}

static bool host_cs_selector_nonzero(struct cpu *cpu, const struct vmcs *c,
                                     const struct vmx_ctls *k)
{
    uint64_t host_cs = vmcs_get(c, VMCS_HOST_CS_SELECTOR);
    return !VMX_CC(cpu, host_cs == 0, S_SEGS);
}

static bool host_tr_selector_nonzero(struct cpu *cpu, const struct vmcs *c,
                                     const struct vmx_ctls *k)
{
    uint64_t host_tr = vmcs_get(c, VMCS_HOST_TR_SELECTOR);
    return !VMX_CC(cpu, host_tr == 0, S_SEGS);
}

/* SS may be 0 only when the VM exit is to 64-bit mode. */
static bool host_ss_selector_nonzero(struct cpu *cpu, const struct vmcs *c,
                                     const struct vmx_ctls *k)
{
    uint64_t host_ss = vmcs_get(c, VMCS_HOST_SS_SELECTOR);
    bool host_address_space_size = host64(k);
    return !VMX_CC(cpu, host_ss == 0 && !host_address_space_size, S_SEGS);
}

/* FS, GS, GDTR, IDTR and TR base addresses are canonical. */
static bool host_bases_canonical(struct cpu *cpu, const struct vmcs *c,
                                 const struct vmx_ctls *k)
{
    static const enum vmcs_field bases[] = { VMCS_HOST_FS_BASE, VMCS_HOST_GS_BASE,
                                             VMCS_HOST_GDTR_BASE, VMCS_HOST_IDTR_BASE,
                                             VMCS_HOST_TR_BASE };
    bool all_canonical = true;
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++)
        all_canonical &= seg_canonical(vmcs_get(c, bases[i]));
    return !VMX_CC(cpu, !all_canonical, S_SEGS);
}

/* ---------------- 26.2.4 address-space size ---------------- */

/* Outside IA-32e mode (IA32_EFER.LMA = 0 now): no IA-32e guest, no 64-bit host. */
static bool ia32e_guest_needs_ia32e_mode(struct cpu *cpu, const struct vmcs *c,
                                         const struct vmx_ctls *k)
{
    bool lma = cpu->efer & EFER_LMA;
    bool ia32e_mode_guest = k->entry & VMX_ENTRYCTL_IA32E_GUEST;
    return !VMX_CC(cpu, !lma && ia32e_mode_guest, S_SIZE);
}

static bool host_address_space_size_matches_lma(struct cpu *cpu, const struct vmcs *c,
                                                const struct vmx_ctls *k)
{
    bool lma = cpu->efer & EFER_LMA;
    bool host_address_space_size = host64(k);
    return !VMX_CC(cpu, lma != host_address_space_size, S_SIZE);
}

/* 32-bit host: CR4.PCIDE = 0 and RIP bits 63:32 = 0. */
static bool host32_pcide_and_rip(struct cpu *cpu, const struct vmcs *c,
                                 const struct vmx_ctls *k)
{
    bool host_address_space_size = host64(k);
    bool pcide = vmcs_get(c, VMCS_HOST_CR4) & CR4_PCIDE;
    uint64_t host_rip = vmcs_get(c, VMCS_HOST_RIP);
    return !VMX_CC(cpu, !host_address_space_size && (pcide || (host_rip >> 32)), S_SIZE);
}

/* 64-bit host: CR4.PAE = 1 and RIP canonical. */
static bool host64_pae_and_rip(struct cpu *cpu, const struct vmcs *c, const struct vmx_ctls *k)
{
    bool host_address_space_size = host64(k);
    bool pae = vmcs_get(c, VMCS_HOST_CR4) & CR4_PAE;
    uint64_t host_rip = vmcs_get(c, VMCS_HOST_RIP);
    return !VMX_CC(cpu, host_address_space_size && (!pae || !seg_canonical(host_rip)), S_SIZE);
}

static host_check *const host_checks[] = {
    host_cr0_fixed_bits,
    host_cr4_fixed_bits,
    host_cr3_within_maxphyaddr,
    host_sysenter_canonical,
    host_pat_valid,
    host_efer_reserved_bits,
    host_efer_matches_address_space_size,
    host_selectors_rpl_ti_zero,
    host_cs_selector_nonzero,
    host_tr_selector_nonzero,
    host_ss_selector_nonzero,
    host_bases_canonical,
    ia32e_guest_needs_ia32e_mode,
    host_address_space_size_matches_lma,
    host32_pcide_and_rip,
    host64_pae_and_rip,
};

bool vmx_check_host_state(struct cpu *cpu)
{
    const struct vmcs *c = &cpu->vmx->vmcs;
    struct vmx_ctls k;
    vmx_ctls_get(c, &k);
    for (size_t i = 0; i < sizeof(host_checks) / sizeof(host_checks[0]); i++)
        if (!host_checks[i](cpu, c, &k))
            return false;
    return true;
}
