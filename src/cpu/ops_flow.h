/*
 * ops_flow.h — handlers of the "flow" family (optable_flow.def): near
 * control transfers (ops_branch.c), stack instructions (ops_stack.c),
 * string instructions (ops_string.c) and port I/O (ops_io.c).
 */
#ifndef NESTVM_CPU_OPS_FLOW_H
#define NESTVM_CPU_OPS_FLOW_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/insn.h"

struct cpu;

/* ---- ops_branch.c: near branches ---- */
op_fn op_jcc_Jb, op_jcc_Jz;
op_fn op_jmp_Jb, op_jmp_Jz, op_jmp_Ev;
op_fn op_call_Jz, op_call_Ev;
op_fn op_ret, op_ret_Iw;
op_fn op_loop_Jb, op_loope_Jb, op_loopne_Jb, op_jcxz_Jb;

/* ---- ops_stack.c ---- */
op_fn op_push_Zv, op_pop_Zv; /* 50+r / 58+r */
op_fn op_push_Iz, op_push_Ib;
op_fn op_push_Ev, op_pop_Ev;
op_fn op_pusha, op_popa;
op_fn op_pushf_Fv, op_popf_Fv;
op_fn op_enter_IwIb, op_leave;

/* ---- ops_string.c ---- */
op_fn op_movs_YbXb, op_movs_YvXv;
op_fn op_cmps_XbYb, op_cmps_XvYv;
op_fn op_stos_YbAL, op_stos_YvrAX;
op_fn op_lods_ALXb, op_lods_rAXXv;
op_fn op_scas_ALYb, op_scas_rAXYv;
op_fn op_ins_YbDX, op_ins_YzDX;
op_fn op_outs_DXXb, op_outs_DXXz;

/* ---- ops_io.c ---- */
op_fn op_in_ALIb, op_in_eAXIb, op_out_IbAL, op_out_IbeAX;
op_fn op_in_ALDX, op_in_eAXDX, op_out_DXAL, op_out_DXeAX;

/* May the current context access ports port..port+size-1?  True when
 * CR0.PE=0, or CPL <= IOPL outside virtual-8086 mode; otherwise the TSS I/O
 * permission bitmap decides (SDM Vol.1 19.5).  The caller raises #GP(0). */
bool io_allowed(struct cpu *cpu, uint16_t port, unsigned size);

#endif
