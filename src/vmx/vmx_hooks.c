/*
 * vmx_hooks.c — VMX is not implemented yet: every hook declines, so the
 * engine behaves as a CPU without VT-x.
 */
#include "vmx/vmx_hooks.h"
#include "vmx/vmx.h"

#include "cpu/insn.h"

bool vmx_event_exit(struct cpu *cpu, int vector, enum event_kind kind, uint32_t error)
{
    return false;
}

bool vmx_cr_access_exit(struct cpu *cpu, const struct insn *in)
{
    return false;
}

bool vmx_intr_exits(struct cpu *cpu)
{
    return false;
}

bool vmx_init_signal_exit(struct cpu *cpu)
{
    return false;
}

bool vmx_sipi_exit(struct cpu *cpu, uint32_t vector)
{
    return false;
}

void vmx_op_intercept(struct cpu *cpu, const struct insn *in)
{
    op_rows[in->row].fn(cpu, in);
}

uint8_t *vmx_guest_phys_host(struct cpu *cpu, uint64_t gpa, unsigned len, unsigned acc)
{
    return bus_ram_ptr(cpu->bus, gpa, len);
}

bool vmx_block_boundary(struct cpu *cpu)
{
    return false;
}

bool vmx_in_root(const struct cpu *cpu)
{
    return cpu->vmx && cpu->vmx->vmxon && !cpu->nonroot;
}
