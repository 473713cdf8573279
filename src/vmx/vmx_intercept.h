/*
 * vmx_intercept.h — helpers private to the "does L1 want it" files
 * (vmx_intercept.c, vmx_intercept_io.c, vmx_intercept_cr.c, ept.c,
 * vmx_apic.c): reading the controls of the current VMCS and raising VM exits
 * from inside an instruction.
 */
#ifndef NESTVM_VMX_VMX_INTERCEPT_H
#define NESTVM_VMX_VMX_INTERCEPT_H

#include "cpu/cpuid.h"
#include "vmx/vmx.h"

/* No L1-physical address bit at or above MAXPHYADDR. */
#define IX_PA_MASK (((1ull << CPUID_MAXPHYADDR) - 1) & ~0xfffull)

static inline uint32_t ix_pin(const struct cpu *cpu)
{
    return (uint32_t)vmcs_get(&cpu->vmx->vmcs, VMCS_PIN_BASED_VM_EXEC_CONTROL);
}

static inline uint32_t ix_proc(const struct cpu *cpu)
{
    return (uint32_t)vmcs_get(&cpu->vmx->vmcs, VMCS_CPU_BASED_VM_EXEC_CONTROL);
}

/* With "activate secondary controls" = 0 every secondary control acts as 0
 * (SDM 24.6.2). */
static inline uint32_t ix_proc2(const struct cpu *cpu)
{
    if (!(ix_proc(cpu) & VMX_PROC_SECONDARY))
        return 0;
    return (uint32_t)vmcs_get(&cpu->vmx->vmcs, VMCS_SECONDARY_VM_EXEC_CONTROL);
}

static inline uint64_t ix_field(const struct cpu *cpu, enum vmcs_field f)
{
    return vmcs_get(&cpu->vmx->vmcs, f);
}

/* Fault-like VM exit from inside an instruction or the page walker, with
 * nothing but a reason and a qualification; does not return. */
static inline _Noreturn void ix_exit(struct cpu *cpu, uint32_t reason, uint64_t qual)
{
    struct vmx_exit_info ei = { .reason = reason, .qual = qual };
    vmx_vmexit(cpu, &ei);
}

/* Operand size of MOV CR/DR: 64 bits in 64-bit mode, else 32 (SDM MOV CR). */
static inline unsigned ix_crdr_size(const struct cpu *cpu)
{
    return cpu->code64 ? 8 : 4;
}

/* vmx_intercept_cr.c */
void ix_smsw(struct cpu *cpu, const struct insn *in);
void ix_mov_dr(struct cpu *cpu, const struct insn *in);
/* vmx_intercept_io.c: the I/O and RDMSR/WRMSR rows; return true when the
 * instruction was fully handled (virtualised), false to run its handler. */
void ix_io(struct cpu *cpu, const struct insn *in);
bool ix_msr(struct cpu *cpu, const struct insn *in, bool write);
/* vmx_apic.c */
uint8_t *ix_vapic(struct cpu *cpu);  /* virtual-APIC page, NULL off RAM */
uint64_t ix_cr8_read(struct cpu *cpu);              /* TPR shadow: VTPR[7:4] */
void ix_cr8_write(struct cpu *cpu, uint64_t val);   /* TPR shadow: VTPR and TPR virtualisation */
bool ix_x2apic_msr(struct cpu *cpu, uint32_t msr, bool write); /* virtualize x2APIC mode */
/* APIC-access page at L1-physical pa: returns if the access is virtualised
 * (then the caller's MMIO path reaches vmx_apic_mmio()), else VM exit 44. */
void ix_apic_access(struct cpu *cpu, uint64_t pa, unsigned len, unsigned acc, bool linear);
/* vmx_intercept.c */
void ix_request_boundary(struct cpu *cpu); /* set EV_VMX and end the block */

#endif
