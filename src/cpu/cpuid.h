/*
 * cpuid.h — the CPU model the engine presents (CPUID leaves) and the
 * feature-derived masks other system code checks against, so that what is
 * advertised and what is accepted never disagree.
 */
#ifndef NESTVM_CPU_CPUID_H
#define NESTVM_CPU_CPUID_H

#include <stdint.h>

#include "cpu/cpu.h"

/* Physical / linear address widths (CPUID 80000008H; mmu.c walks with the same). */
#define CPUID_MAXPHYADDR 40
#define CPUID_MAXLINADDR 48

/* Fixed TSC frequency and the crystal it is derived from (leaf 15H/16H).  The
 * crystal equals the local APIC timer input clock (LAPIC_BUS_HZ), because
 * Linux takes the APIC timer rate from leaf 15H's crystal. */
#define CPUID_TSC_HZ 2000000000ull
#define CPUID_CRYSTAL_HZ 1000000000u

/* XCR0 bits XSETBV accepts: x87 and SSE state (leaf 0DH EAX). */
#define CPUID_XCR0_SUPPORTED 0x3u

/* Leaf 1 ECX / EDX bits used outside cpuid.c (SDM Vol.2 CPUID, Tables 3-10/3-11). */
#define CPUID_1_ECX_VMX (1u << 5)
#define CPUID_1_ECX_PCID (1u << 17)
#define CPUID_1_ECX_X2APIC (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_XSAVE (1u << 26)
#define CPUID_1_ECX_OSXSAVE (1u << 27)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_APIC (1u << 9)

/* Fill out[0..3] = EAX, EBX, ECX, EDX for CPUID.(EAX=leaf, ECX=subleaf). */
void cpuid_query(struct cpu *cpu, uint32_t leaf, uint32_t subleaf, uint32_t out[4]);

/* CR4 bits that may be set given the advertised features (MOV to CR4 #GPs
 * on any other bit, SDM Vol.3 2.5). */
uint64_t cpuid_cr4_valid_bits(struct cpu *cpu);
/* IA32_EFER bits that WRMSR accepts (SCE/LME/LMA/NXE per CPUID 80000001H). */
uint64_t cpuid_efer_valid_bits(struct cpu *cpu);

#endif
