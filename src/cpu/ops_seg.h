/*
 * ops_seg.h — handlers of the segmentation / far-transfer / event family
 * (rows in optable_seg.def): segment-register moves, far JMP/CALL/RET,
 * IRET, INT n, SYSCALL/SYSRET/SYSENTER/SYSEXIT, LAR/LSL/VERR/VERW/ARPL.
 * Implemented in seg.c (segment registers, descriptor instructions) and
 * ops_far.c (control transfers).
 */
#ifndef NESTVM_CPU_OPS_SEG_H
#define NESTVM_CPU_OPS_SEG_H

#include "cpu/insn.h"

/* seg.c */
op_fn op_mov_SwEw, op_mov_EwSw;
op_fn op_push_ES, op_push_CS, op_push_SS, op_push_DS, op_push_FS, op_push_GS;
op_fn op_pop_ES, op_pop_SS, op_pop_DS, op_pop_FS, op_pop_GS;
op_fn op_les_GzMp, op_lds_GzMp, op_lss_GvMp, op_lfs_GvMp, op_lgs_GvMp;
op_fn op_lar_GvEw, op_lsl_GvEw, op_verr_Ew, op_verw_Ew, op_arpl_EwGw;

/* ops_far.c */
op_fn op_jmp_Ap, op_jmp_Ep, op_call_Ap, op_call_Ep;
op_fn op_retf, op_retf_Iw, op_iret;
op_fn op_int_Ib, op_int3, op_into, op_int1;
op_fn op_syscall, op_sysret, op_sysenter, op_sysexit;

#endif
