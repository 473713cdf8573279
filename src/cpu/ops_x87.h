/*
 * ops_x87.h — handlers of the x87 family (optable_x87.def): the x87 FPU
 * (ops_x87_arith.c, ops_x87_ldst.c, ops_x87_func.c, ops_x87_ctl.c) and the
 * FPU/SSE state-management instructions (ops_fxsave.c), plus the helpers
 * the MMX instructions use to reach the registers they share with the x87.
 */
#ifndef NESTVM_CPU_OPS_X87_H
#define NESTVM_CPU_OPS_X87_H

#include <stdint.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"

/* ---- ops_x87_arith.c: arithmetic (ModRM.reg selects the operation) ---- */
op_fn op_farith_m32fp, op_farith_m64fp;      /* D8 / DC memory forms */
op_fn op_fiarith_m32int, op_fiarith_m16int;  /* DA / DE memory forms */
op_fn op_farith_ST0STi, op_farith_STiST0;    /* D8 / DC register forms */
op_fn op_farithp_STiST0;                     /* DE register forms */
op_fn op_fcompp, op_fucom_STi, op_fucompp, op_fcomi_STi;
op_fn op_fcmov_STi;

/* ---- ops_x87_ldst.c ---- */
op_fn op_fld_m32fp, op_fld_m64fp, op_fld_m80fp, op_fld_STi;
op_fn op_fst_m32fp, op_fst_m64fp, op_fstp_m80fp, op_fst_STi, op_fstp_STi;
op_fn op_fild_m16int, op_fild_m32int, op_fild_m64int;
op_fn op_fist_m16int, op_fist_m32int, op_fistp_m64int, op_fisttp_m64int;
op_fn op_fbld_m80bcd, op_fbstp_m80bcd;
op_fn op_fxch_STi, op_fldconst, op_ffree_STi, op_ffreep_STi;

/* ---- ops_x87_func.c ---- */
op_fn op_fchs, op_fabs, op_ftst, op_fxam, op_fnop;
op_fn op_f2xm1, op_fyl2x, op_fptan, op_fpatan, op_fxtract, op_fprem1;
op_fn op_fdecstp, op_fincstp, op_fprem, op_fyl2xp1, op_fsqrt, op_fsincos;
op_fn op_frndint, op_fscale, op_fsin, op_fcos;

/* ---- ops_x87_ctl.c ---- */
op_fn op_fninit, op_fnclex, op_fnop_legacy, op_fwait;
op_fn op_fldcw_Mw, op_fnstcw_Mw, op_fnstsw_Mw, op_fnstsw_AX;
op_fn op_fldenv_M, op_fnstenv_M, op_frstor_M, op_fnsave_M;

/* ---- ops_fxsave.c ---- */
op_fn op_fxsave_M, op_fxrstor_M, op_ldmxcsr_Md, op_stmxcsr_Md, op_xsave_M, op_xrstor_M;

/* ---- MMX aliasing (SDM Vol.1 9.5) ----
 * MMi is the 64-bit mantissa of physical x87 register Ri.
 *   fpu_mmx_get: read MMi (no side effect);
 *   fpu_mmx_set: write MMi; bits 79:64 become all ones, TOP = 0 and every
 *                tag is set to valid (00b);
 *   fpu_mmx_enter: the x87→MMX transition every MMX instruction except
 *                EMMS makes (TOP = 0, all tags valid); call it at the commit
 *                point of MMX instructions that write no MMX register;
 *   fpu_emms:    EMMS — every tag empty. */
uint64_t fpu_mmx_get(struct cpu *cpu, int i);
void fpu_mmx_set(struct cpu *cpu, int i, uint64_t v);
void fpu_mmx_enter(struct cpu *cpu);
void fpu_emms(struct cpu *cpu);

/* Power-on/RESET x87+SSE state (SDM Vol.3 Table 9-1): FCW 0040h, FSW 0,
 * FTW 5555h, pointers 0, R0-R7 +0.0, MXCSR 1F80h, XMM 0. */
void fpu_reset_state(struct fpu *f);

/* MXCSR_MASK reported by FXSAVE/XSAVE: bits 15:0 writable (DAZ supported);
 * LDMXCSR/FXRSTOR/XRSTOR raise #GP(0) when any other bit is set. */
#define FPU_MXCSR_MASK 0x0000ffffu

#endif
