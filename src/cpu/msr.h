/*
 * msr.h — model-specific registers of the engine's CPU model (RDMSR/WRMSR)
 * and the guest time-stamp counter.
 *
 * msr_read/msr_write return 0 on success and -1 when the access must raise
 * #GP(0) (unknown MSR, reserved bits, read-only or write-only register).
 * Only the MSRs the CPUID model advertises exist (SDM Vol.4 chapter 2).
 */
#ifndef NESTVM_CPU_MSR_H
#define NESTVM_CPU_MSR_H

#include <stdint.h>

#include "cpu/cpu.h"

/* Architectural MSR numbers (SDM Vol.4 Table 2-2).  IA32_APIC_BASE and
 * IA32_TSC_DEADLINE are in hw/lapic.h. */
#define MSR_IA32_TSC 0x10
#define MSR_IA32_TSC_ADJUST 0x3b
#define MSR_IA32_PLATFORM_ID 0x17
#define MSR_IA32_FEATURE_CONTROL 0x3a
#define MSR_IA32_SPEC_CTRL 0x48
#define MSR_IA32_PRED_CMD 0x49
#define MSR_IA32_UCODE_REV 0x8b
#define MSR_IA32_MTRRCAP 0xfe
#define MSR_IA32_ARCH_CAPABILITIES 0x10a
#define MSR_IA32_FLUSH_CMD 0x10b
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MCG_CAP 0x179
#define MSR_IA32_MCG_STATUS 0x17a
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_IA32_DEBUGCTL 0x1d9
/* IA32_DEBUGCTL bits WRMSR accepts but the engine does not implement
 * (LBR 0, BTF 1): ignored, DEBUGCTL reads 0.  Any other bit is #GP. */
#define DEBUGCTL_ACCEPTED_IGNORED 0x3ull
#define MSR_IA32_MTRR_PHYSBASE0 0x200
#define MSR_IA32_MTRR_FIX64K_00000 0x250
#define MSR_IA32_MTRR_FIX16K_80000 0x258
#define MSR_IA32_MTRR_FIX16K_A0000 0x259
#define MSR_IA32_MTRR_FIX4K_C0000 0x268
#define MSR_IA32_MTRR_FIX4K_F8000 0x26f
#define MSR_IA32_PAT 0x277
#define MSR_IA32_MTRR_DEF_TYPE 0x2ff
#define MSR_IA32_VMX_BASIC 0x480
#define MSR_IA32_VMX_LAST 0x491 /* IA32_VMX_VMFUNC */
#define MSR_X2APIC_FIRST 0x800
#define MSR_X2APIC_LAST 0x8ff
#define MSR_IA32_EFER 0xc0000080
#define MSR_IA32_STAR 0xc0000081
#define MSR_IA32_LSTAR 0xc0000082
#define MSR_IA32_CSTAR 0xc0000083
#define MSR_IA32_FMASK 0xc0000084
#define MSR_IA32_FS_BASE 0xc0000100
#define MSR_IA32_GS_BASE 0xc0000101
#define MSR_IA32_KERNEL_GS_BASE 0xc0000102
#define MSR_IA32_TSC_AUX 0xc0000103

/* IA32_MISC_ENABLE bits (SDM Vol.4 Table 2-2) */
#define MISC_ENABLE_FAST_STRING (1ull << 0)
#define MISC_ENABLE_BTS_UNAVAIL (1ull << 11)
#define MISC_ENABLE_PEBS_UNAVAIL (1ull << 12)
#define MISC_ENABLE_LIMIT_CPUID (1ull << 22)
#define MISC_ENABLE_XD_DISABLE (1ull << 34)

/* IA32_FEATURE_CONTROL bits (SDM Vol.4 Table 2-2) */
#define FEATURE_CONTROL_LOCK (1ull << 0)
#define FEATURE_CONTROL_VMX_OUTSIDE_SMX (1ull << 2)

/* After the CPU wrote its own local APIC (APIC page, x2APIC MSRs, TSC
 * deadline, CR8): make the loop look at what the write raised (a self IPI or
 * self NMI, a deadline already passed, a TPR below a pending vector). */
void cpu_lapic_written(struct cpu *cpu);

/* RDMSR / WRMSR: 0 = done, -1 = #GP(0). */
int msr_read(struct cpu *cpu, uint32_t msr, uint64_t *val);
int msr_write(struct cpu *cpu, uint32_t msr, uint64_t val);

/* Power-on values of the MSRs cpu_reset() does not set itself (MISC_ENABLE
 * fast strings, MTRRs off, SPEC_CTRL 0, TSC_AUX 0 ...).  SDM Vol.3 9.1. */
void msr_reset(struct cpu *cpu);
/* What firmware leaves behind for a direct kernel boot: MTRRs enabled with
 * write-back as the default type (Linux keeps PAT off when MTRRs are off). */
void msr_firmware_setup(struct cpu *cpu);

/* Guest TSC: host CLOCK_MONOTONIC scaled to CPUID_TSC_HZ, plus tsc_offset.
 * VMX TSC offsetting hooks in here. */
uint64_t cpu_read_tsc(struct cpu *cpu);
void cpu_write_tsc(struct cpu *cpu, uint64_t tsc);

#endif
