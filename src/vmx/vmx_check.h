/*
 * vmx_check.h — helpers shared by the VM-entry checks (vmx_check_controls.c,
 * vmx_check_host.c, vmx_check_guest.c) and VM entry/exit (vmx_entry.c,
 * vmx_exit.c).  Private to those files.
 *
 * Every check is a small function named after the SDM condition that
 * returns true when the condition holds; the failing expression is wrapped
 * in VMX_CC() so the log names the failed check and its SDM section.  The
 * expressions use descriptively named locals (e.g. "virtual_nmis &&
 * !nmi_exiting") because the expression text is what gets recorded.
 */
#ifndef NESTVM_VMX_VMX_CHECK_H
#define NESTVM_VMX_VMX_CHECK_H

#include "cpu/cpuid.h"
#include "cpu/seg.h"
#include "vmx/vmx.h"

/* The VMX controls as VM entry sees them.  With "activate secondary
 * controls" = 0 the processor behaves as if every secondary control were 0
 * (SDM 26.2.1.1), so proc2 is already 0 then. */
struct vmx_ctls {
    uint32_t pin, proc, proc2, exit, entry;
};

static inline void vmx_ctls_get(const struct vmcs *c, struct vmx_ctls *k)
{
    k->pin = (uint32_t)vmcs_get(c, VMCS_PIN_BASED_VM_EXEC_CONTROL);
    k->proc = (uint32_t)vmcs_get(c, VMCS_CPU_BASED_VM_EXEC_CONTROL);
    k->proc2 = (k->proc & VMX_PROC_SECONDARY)
                   ? (uint32_t)vmcs_get(c, VMCS_SECONDARY_VM_EXEC_CONTROL)
                   : 0;
    k->exit = (uint32_t)vmcs_get(c, VMCS_VM_EXIT_CONTROLS);
    k->entry = (uint32_t)vmcs_get(c, VMCS_VM_ENTRY_CONTROLS);
}

/* No address bit at or above MAXPHYADDR (CPUID 80000008H, cpuid.h). */
static inline bool vmx_pa_ok(uint64_t a)
{
    return (a >> CPUID_MAXPHYADDR) == 0;
}

/* 4-KByte aligned physical address within MAXPHYADDR. */
static inline bool vmx_page_ok(uint64_t a)
{
    return (a & 0xfff) == 0 && vmx_pa_ok(a);
}

/* IA32_PAT value WRMSR accepts: every byte 0, 1, 4, 5, 6 or 7 (SDM 11.12.2). */
static inline bool vmx_pat_ok(uint64_t pat)
{
    for (int i = 0; i < 8; i++) {
        unsigned t = (pat >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

/* PAE PDPTE reserved bits when present: 2:1, 8:5, 63:MAXPHYADDR (SDM 4.4.1). */
#define VMX_PDPTE_RSVD (0x1e6ull | ~((1ull << CPUID_MAXPHYADDR) - 1))
static inline bool vmx_pdpte_ok(uint64_t e)
{
    return !(e & 1) || !(e & VMX_PDPTE_RSVD);
}

/* Hardware exceptions that deliver an error code (SDM 6.3.1 Table 6-1, the
 * list of 26.2.1.3; #CP is not implemented). */
static inline bool vmx_exc_has_error(unsigned vector)
{
    return vector == EXC_DF || (vector >= EXC_TS && vector <= EXC_PF) || vector == EXC_AC;
}

/* The guest-state segment fields are consecutive in vmcs_fields.def in the
 * order ES CS SS DS FS GS LDTR TR, which is the engine's SEG_xx order. */
#define VMX_SEG_LDTR 6
#define VMX_SEG_TR 7
static inline enum vmcs_field vmx_gseg_sel(int s)
{
    return (enum vmcs_field)(VMCS_GUEST_ES_SELECTOR + s);
}
static inline enum vmcs_field vmx_gseg_base(int s)
{
    return (enum vmcs_field)(VMCS_GUEST_ES_BASE + s);
}
static inline enum vmcs_field vmx_gseg_limit(int s)
{
    return (enum vmcs_field)(VMCS_GUEST_ES_LIMIT + s);
}
static inline enum vmcs_field vmx_gseg_ar(int s)
{
    return (enum vmcs_field)(VMCS_GUEST_ES_AR_BYTES + s);
}
_Static_assert(VMCS_GUEST_TR_SELECTOR == VMCS_GUEST_ES_SELECTOR + 7, "selector order");
_Static_assert(VMCS_GUEST_TR_BASE == VMCS_GUEST_ES_BASE + 7, "base order");
_Static_assert(VMCS_GUEST_TR_LIMIT == VMCS_GUEST_ES_LIMIT + 7, "limit order");
_Static_assert(VMCS_GUEST_TR_AR_BYTES == VMCS_GUEST_ES_AR_BYTES + 7, "AR order");
_Static_assert(SEG_ES == 0 && SEG_CS == 1 && SEG_SS == 2 && SEG_DS == 3 && SEG_FS == 4 &&
                   SEG_GS == 5,
               "engine segment order matches the VMCS");

/* Guest physical reads for the checks: L1-physical memory (the VMCS
 * pointers are L1-physical), false when any byte is not RAM. */
static inline bool vmx_read_l1(struct cpu *cpu, uint64_t pa, void *dst, size_t len)
{
    return vmx_pa_ok(pa) && bus_read_phys(cpu->bus, pa, dst, len);
}

/* PDPTEs of a PAE-paging guest without EPT, read from guest CR3 (SDM
 * 26.3.1.6); false if the table is not in RAM. */
static inline bool vmx_read_pdptes(struct cpu *cpu, uint64_t cr3, uint64_t out[4])
{
    return vmx_read_l1(cpu, cr3 & 0xffffffe0u, out, 32);
}

/* Process a VM-entry or VM-exit MSR-load area (SDM 26.4, 27.6): each
 * 16-byte entry is written as WRMSR would; returns 0, or the 1-based index
 * of the entry that failed (reserved bits 63:32, FS/GS base, x2APIC
 * registers, SMM-only or microcode MSRs, a WRMSR #GP, an area not in RAM,
 * more entries than IA32_VMX_MISC allows).  vmx_exit.c. */
uint32_t vmx_msr_load_list(struct cpu *cpu, uint64_t addr, uint64_t count);

/* Does the guest-state area describe PAE paging without IA-32e mode? */
static inline bool vmx_guest_pae_paging(const struct vmcs *c, const struct vmx_ctls *k)
{
    return (vmcs_get(c, VMCS_GUEST_CR0) & CR0_PG) && (vmcs_get(c, VMCS_GUEST_CR4) & CR4_PAE) &&
           !(k->entry & VMX_ENTRYCTL_IA32E_GUEST);
}

#endif
