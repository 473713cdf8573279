/*
 * vmx_hooks.c — VMX is not implemented yet: every hook declines, so the
 * engine behaves as a CPU without VT-x.
 */
#include "vmx/vmx_hooks.h"
#include "vmx/vmx.h"

#include "cpu/insn.h"

bool vmx_in_root(const struct cpu *cpu)
{
    return cpu->vmx && cpu->vmx->vmxon && !cpu->nonroot;
}

bool vmx_cr_fixed_violation(const struct cpu *cpu, int cr, uint64_t val)
{
    if (!vmx_in_root(cpu))
        return false; /* non-root: the guest/host masks decide (vmx_intercept.c) */
    uint64_t f0 = cr == 0 ? vmx_cr0_fixed0() : vmx_cr4_fixed0();
    uint64_t f1 = cr == 0 ? vmx_cr0_fixed1() : vmx_cr4_fixed1();
    return (val & f0) != f0 || (val & ~f1) != 0;
}

void vmx_latch_init(struct cpu *cpu)
{
    if (cpu->vmx)
        cpu->vmx->init_latched = true;
}

bool vmx_take_latched_init(struct cpu *cpu)
{
    struct vmx *v = cpu->vmx;
    if (!v || !v->init_latched || vmx_in_root(cpu))
        return false;
    v->init_latched = false;
    return true;
}
