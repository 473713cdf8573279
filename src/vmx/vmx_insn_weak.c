/* Temporary weak stand-ins until vmx_entry.c / vmx_exit.c land (delete this
 * file then).  The unit-test and nestvm links use --whole-archive, so the
 * real definitions override these. */
#include "vmx/vmx.h"

__attribute__((weak)) void vmx_vmentry(struct cpu *cpu, bool launch)
{
    vmx_fail_valid(cpu, VMXERR_ENTRY_INVALID_CONTROL);
}

__attribute__((weak)) _Noreturn void vmx_exit_insn(struct cpu *cpu, const struct insn *in,
                                                   uint32_t reason, uint64_t qual)
{
    cpu_ud(cpu);
}
