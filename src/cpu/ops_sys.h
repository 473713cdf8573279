/*
 * ops_sys.h — handlers of the system instructions (optable_sys.def):
 * ops_cr.c (MOV CR/DR, CLTS, LMSW, SMSW) and ops_system.c (everything else:
 * HLT, CLI/STI, descriptor-table registers, TLB and cache control, MSRs,
 * CPUID, XCR0, FS/GS base, random numbers, time stamps, the VMX placeholders).
 */
#ifndef NESTVM_OPS_sys_H
#define NESTVM_OPS_sys_H
#include "cpu/cpu.h"
#include "cpu/insn.h"

#define OPS_SYS_FN(name) void name(struct cpu *cpu, const struct insn *in);

/* ops_cr.c */
OPS_SYS_FN(op_mov_RdCd)
OPS_SYS_FN(op_mov_CdRd)
OPS_SYS_FN(op_mov_RdDd)
OPS_SYS_FN(op_mov_DdRd)
OPS_SYS_FN(op_clts)
OPS_SYS_FN(op_lmsw_Ew)
OPS_SYS_FN(op_smsw_Ew)

/* ops_system.c */
OPS_SYS_FN(op_hlt)
OPS_SYS_FN(op_cli)
OPS_SYS_FN(op_sti)
OPS_SYS_FN(op_sldt_Ew)
OPS_SYS_FN(op_str_Ew)
OPS_SYS_FN(op_lldt_Ew)
OPS_SYS_FN(op_ltr_Ew)
OPS_SYS_FN(op_sgdt_Ms)
OPS_SYS_FN(op_sidt_Ms)
OPS_SYS_FN(op_lgdt_Ms)
OPS_SYS_FN(op_lidt_Ms)
OPS_SYS_FN(op_invlpg_Mb)
OPS_SYS_FN(op_invpcid_GyMdq)
OPS_SYS_FN(op_invd)
OPS_SYS_FN(op_wbinvd)
OPS_SYS_FN(op_clflush_Mb)
OPS_SYS_FN(op_lfence)
OPS_SYS_FN(op_mfence)
OPS_SYS_FN(op_sfence)
OPS_SYS_FN(op_swapgs)
OPS_SYS_FN(op_rdtsc)
OPS_SYS_FN(op_rdtscp)
OPS_SYS_FN(op_rdpid_Ry)
OPS_SYS_FN(op_rdpmc)
OPS_SYS_FN(op_rdmsr)
OPS_SYS_FN(op_wrmsr)
OPS_SYS_FN(op_cpuid)
OPS_SYS_FN(op_xgetbv)
OPS_SYS_FN(op_xsetbv)
OPS_SYS_FN(op_rdfsbase_Ry)
OPS_SYS_FN(op_rdgsbase_Ry)
OPS_SYS_FN(op_wrfsbase_Ry)
OPS_SYS_FN(op_wrgsbase_Ry)
OPS_SYS_FN(op_rdrand_Rv)
OPS_SYS_FN(op_rdseed_Rv)
OPS_SYS_FN(op_clac)
OPS_SYS_FN(op_stac)
OPS_SYS_FN(op_getsec)
/* VMX instructions: src/vmx/vmx_insn.c */
OPS_SYS_FN(op_vmcall)
OPS_SYS_FN(op_vmlaunch)
OPS_SYS_FN(op_vmresume)
OPS_SYS_FN(op_vmxoff)
OPS_SYS_FN(op_vmfunc)
OPS_SYS_FN(op_vmptrld_Mq)
OPS_SYS_FN(op_vmclear_Mq)
OPS_SYS_FN(op_vmxon_Mq)
OPS_SYS_FN(op_vmptrst_Mq)
OPS_SYS_FN(op_vmread_EyGy)
OPS_SYS_FN(op_vmwrite_GyEy)
OPS_SYS_FN(op_invept_GyMdq)
OPS_SYS_FN(op_invvpid_GyMdq)

#undef OPS_SYS_FN

/* ops_cr.c: MOV to CR0 / CR4 with all their checks, for VMX non-root
 * emulation of guest/host-masked writes (src/vmx/vmx_intercept_cr.c). */
void cpu_write_cr0(struct cpu *cpu, uint64_t val);
void cpu_write_cr4(struct cpu *cpu, uint64_t val);
#endif
