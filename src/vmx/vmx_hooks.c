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
