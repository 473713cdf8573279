/* vmx_l2_harness.c — see vmx_l2_harness.h. */
#include "vmx_l2_harness.h"

#include <string.h>

#include "vmx/vmx_hooks.h"

void vl2_put64(struct th *t, uint64_t pa, uint64_t v)
{
    memcpy(th_mem(t, pa), &v, 8);
}

uint64_t vl2_get64(struct th *t, uint64_t pa)
{
    uint64_t v;
    memcpy(&v, th_mem(t, pa), 8);
    return v;
}

uint64_t vl2_rd(struct th *t, enum vmcs_field f)
{
    return vmcs_get(&t->cpu.vmx->vmcs, f);
}

void vl2_wr(struct th *t, enum vmcs_field f, uint64_t v)
{
    vmcs_set(&t->cpu.vmx->vmcs, f, v);
}

void vl2_host_state(struct th *t)
{
    struct cpu *cpu = &t->cpu;
    vl2_wr(t, VMCS_HOST_CR0, cpu->cr0);
    vl2_wr(t, VMCS_HOST_CR3, cpu->cr3);
    vl2_wr(t, VMCS_HOST_CR4, cpu->cr4);
    vl2_wr(t, VMCS_HOST_CS_SELECTOR, 0x08);
    vl2_wr(t, VMCS_HOST_SS_SELECTOR, 0x10);
    vl2_wr(t, VMCS_HOST_DS_SELECTOR, 0x10);
    vl2_wr(t, VMCS_HOST_ES_SELECTOR, 0x10);
    vl2_wr(t, VMCS_HOST_FS_SELECTOR, 0);
    vl2_wr(t, VMCS_HOST_GS_SELECTOR, 0x10);
    vl2_wr(t, VMCS_HOST_TR_SELECTOR, 0x28);
}

void vl2_init(struct th *t, uint32_t pin, uint32_t proc, uint32_t proc2)
{
    th_init(t, TH_LONG64);
    struct cpu *cpu = &t->cpu;
    cpu->vmx_allowed = true;
    vmx_cpu_init(cpu);
    cpu->cr4 |= CR4_VMXE;
    struct vmx *v = cpu->vmx;
    v->vmxon = true;
    v->vmxon_ptr = 0x30000;
    v->current = VL2_VMCS;
    v->current_launched = true;
    vl2_wr(t, VMCS_PIN_BASED_VM_EXEC_CONTROL, pin);
    vl2_wr(t, VMCS_CPU_BASED_VM_EXEC_CONTROL, proc | (proc2 ? VMX_PROC_SECONDARY : 0));
    vl2_wr(t, VMCS_SECONDARY_VM_EXEC_CONTROL, proc2);
    vl2_wr(t, VMCS_VM_EXIT_CONTROLS, VMX_EXITCTL_HOST_64);
    vl2_wr(t, VMCS_VM_ENTRY_CONTROLS, VMX_ENTRYCTL_IA32E_GUEST);
    vl2_wr(t, VMCS_VMCS_LINK_POINTER, VMX_NO_VMCS);
    /* L1 = the harness state */
    vl2_host_state(t);
    vl2_wr(t, VMCS_HOST_RSP, TH_STACK - 0x1000);
    vl2_wr(t, VMCS_HOST_RIP, VL2_HOST_RIP);
    *(uint8_t *)th_mem(t, VL2_HOST_RIP) = 0xf4; /* L1: hlt */
}

void vl2_destroy(struct th *t)
{
    vmx_cpu_destroy(&t->cpu);
    th_destroy(t);
}

void vl2_ept(struct th *t, bool ad)
{
    vl2_put64(t, VL2_EPT_PML4, VL2_EPT_PDPT | 7);
    vl2_put64(t, VL2_EPT_PDPT, VL2_EPT_PD | 7);
    for (uint64_t i = 0; i < 512; i++)
        vl2_put64(t, VL2_EPT_PD + 8 * i, (i << 21) | (1u << 7) | VL2_EPT_WB | 7);
    vl2_put64(t, VL2_EPT_PD + 8 * (VL2_PT_BASE >> 21), VL2_EPT_PT | 7);
    for (uint64_t i = 0; i < 512; i++)
        vl2_put64(t, VL2_EPT_PT + 8 * i, (VL2_PT_BASE + (i << 12)) | VL2_EPT_WB | 7);
    vl2_wr(t, VMCS_EPT_POINTER, VL2_EPT_PML4 | 6 | (3u << 3) | (ad ? VL2_EPTP_AD : 0));
    vl2_wr(t, VMCS_CPU_BASED_VM_EXEC_CONTROL,
           vl2_rd(t, VMCS_CPU_BASED_VM_EXEC_CONTROL) | VMX_PROC_SECONDARY);
    vl2_wr(t, VMCS_SECONDARY_VM_EXEC_CONTROL,
           vl2_rd(t, VMCS_SECONDARY_VM_EXEC_CONTROL) | VMX_PROC2_EPT);
}

uint64_t *vl2_ept_pte(struct th *t, unsigned n)
{
    return th_mem(t, VL2_EPT_PT + 8ull * (n & 511));
}

enum th_result vl2_run(struct th *t, const void *code, size_t n)
{
    struct cpu *cpu = &t->cpu;
    memcpy(th_mem(t, TH_CODE), code, n);
    bus_note_dma(&t->bus, TH_CODE, n);
    cpu->rip = TH_CODE;
    cpu->nonroot = 1;
    cpu_update_mode(cpu);
    tlb_flush_all(cpu);
    vmx_intercept_entry(cpu);
    cpu->vmx->ix.mtf_icount = cpu->icount; /* entered at a boundary, not by VMLAUNCH */
    return th_run_steps(t, NULL, 0, 100000);
}

bool vl2_exited(struct th *t, uint32_t reason)
{
    return !t->cpu.nonroot && t->cpu.rip == VL2_HOST_RIP + 1 &&
           vl2_rd(t, VMCS_VM_EXIT_REASON) == reason;
}
