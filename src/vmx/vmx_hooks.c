/*
 * vmx_hooks.c — VMX is not implemented yet: every hook declines, so the
 * engine behaves as a CPU without VT-x.
 */
#include "vmx/vmx_hooks.h"

bool vmx_event_exit(struct cpu *cpu, int vector, enum event_kind kind, uint32_t error)
{
    return false;
}

bool vmx_cr_access_exit(struct cpu *cpu, const struct insn *in)
{
    return false;
}

int vmx_msr_read(struct cpu *cpu, uint32_t msr, uint64_t *val)
{
    return -1;
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

int vmx_cpu_init(struct cpu *cpu)
{
    return 0;
}

void vmx_cpu_destroy(struct cpu *cpu)
{
}

void vmx_print_stats(struct cpu *cpu, FILE *f)
{
}
