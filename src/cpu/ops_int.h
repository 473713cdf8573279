/*
 * ops_int.h — handlers of the general-purpose integer instructions
 * (optable_int.def) and the few inline helpers their source files share.
 *
 * Files: ops_alu.c (ADD..CMP, TEST, NOT, NEG, INC, DEC), ops_shift.c
 * (ROL..SAR, SHLD, SHRD), ops_muldiv.c (MUL, IMUL, DIV, IDIV), ops_bit.c
 * (BT*, BSF/BSR, TZCNT/LZCNT/POPCNT, BSWAP, MOVBE, CRC32) and ops_data.c
 * (MOV*, XCHG, CMPXCHG*, XADD, CMOVcc, SETcc, conversions, flag control,
 * XLAT, BCD, NOPs, UDn).
 */
#ifndef NESTVM_CPU_OPS_INT_H
#define NESTVM_CPU_OPS_INT_H

#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/mem.h"

#define OPS_INT_FN(name) void name(struct cpu *cpu, const struct insn *in);
/* ops_alu.c — ALU, TEST, NOT/NEG, INC/DEC */
OPS_INT_FN(op_add_EbGb)
OPS_INT_FN(op_add_EvGv)
OPS_INT_FN(op_add_GbEb)
OPS_INT_FN(op_add_GvEv)
OPS_INT_FN(op_add_ALIb)
OPS_INT_FN(op_add_rAXIz)
OPS_INT_FN(op_or_EbGb)
OPS_INT_FN(op_or_EvGv)
OPS_INT_FN(op_or_GbEb)
OPS_INT_FN(op_or_GvEv)
OPS_INT_FN(op_or_ALIb)
OPS_INT_FN(op_or_rAXIz)
OPS_INT_FN(op_adc_EbGb)
OPS_INT_FN(op_adc_EvGv)
OPS_INT_FN(op_adc_GbEb)
OPS_INT_FN(op_adc_GvEv)
OPS_INT_FN(op_adc_ALIb)
OPS_INT_FN(op_adc_rAXIz)
OPS_INT_FN(op_sbb_EbGb)
OPS_INT_FN(op_sbb_EvGv)
OPS_INT_FN(op_sbb_GbEb)
OPS_INT_FN(op_sbb_GvEv)
OPS_INT_FN(op_sbb_ALIb)
OPS_INT_FN(op_sbb_rAXIz)
OPS_INT_FN(op_and_EbGb)
OPS_INT_FN(op_and_EvGv)
OPS_INT_FN(op_and_GbEb)
OPS_INT_FN(op_and_GvEv)
OPS_INT_FN(op_and_ALIb)
OPS_INT_FN(op_and_rAXIz)
OPS_INT_FN(op_sub_EbGb)
OPS_INT_FN(op_sub_EvGv)
OPS_INT_FN(op_sub_GbEb)
OPS_INT_FN(op_sub_GvEv)
OPS_INT_FN(op_sub_ALIb)
OPS_INT_FN(op_sub_rAXIz)
OPS_INT_FN(op_xor_EbGb)
OPS_INT_FN(op_xor_EvGv)
OPS_INT_FN(op_xor_GbEb)
OPS_INT_FN(op_xor_GvEv)
OPS_INT_FN(op_xor_ALIb)
OPS_INT_FN(op_xor_rAXIz)
OPS_INT_FN(op_cmp_EbGb)
OPS_INT_FN(op_cmp_EvGv)
OPS_INT_FN(op_cmp_GbEb)
OPS_INT_FN(op_cmp_GvEv)
OPS_INT_FN(op_cmp_ALIb)
OPS_INT_FN(op_cmp_rAXIz)
OPS_INT_FN(op_add_EbIb)
OPS_INT_FN(op_or_EbIb)
OPS_INT_FN(op_adc_EbIb)
OPS_INT_FN(op_sbb_EbIb)
OPS_INT_FN(op_and_EbIb)
OPS_INT_FN(op_sub_EbIb)
OPS_INT_FN(op_xor_EbIb)
OPS_INT_FN(op_cmp_EbIb)
OPS_INT_FN(op_add_EvIz)
OPS_INT_FN(op_or_EvIz)
OPS_INT_FN(op_adc_EvIz)
OPS_INT_FN(op_sbb_EvIz)
OPS_INT_FN(op_and_EvIz)
OPS_INT_FN(op_sub_EvIz)
OPS_INT_FN(op_xor_EvIz)
OPS_INT_FN(op_cmp_EvIz)
OPS_INT_FN(op_add_EvIb)
OPS_INT_FN(op_or_EvIb)
OPS_INT_FN(op_adc_EvIb)
OPS_INT_FN(op_sbb_EvIb)
OPS_INT_FN(op_and_EvIb)
OPS_INT_FN(op_sub_EvIb)
OPS_INT_FN(op_xor_EvIb)
OPS_INT_FN(op_cmp_EvIb)
OPS_INT_FN(op_test_EbGb)
OPS_INT_FN(op_test_EvGv)
OPS_INT_FN(op_test_ALIb)
OPS_INT_FN(op_test_rAXIz)
OPS_INT_FN(op_test_EbIb)
OPS_INT_FN(op_not_Eb)
OPS_INT_FN(op_neg_Eb)
OPS_INT_FN(op_test_EvIz)
OPS_INT_FN(op_not_Ev)
OPS_INT_FN(op_neg_Ev)
OPS_INT_FN(op_inc_Eb)
OPS_INT_FN(op_dec_Eb)
OPS_INT_FN(op_inc_Ev)
OPS_INT_FN(op_dec_Ev)
OPS_INT_FN(op_inc_Zv)
OPS_INT_FN(op_dec_Zv)
/* ops_shift.c — shifts, rotates, SHLD/SHRD */
OPS_INT_FN(op_rol_EbIb)
OPS_INT_FN(op_ror_EbIb)
OPS_INT_FN(op_rcl_EbIb)
OPS_INT_FN(op_rcr_EbIb)
OPS_INT_FN(op_shl_EbIb)
OPS_INT_FN(op_shr_EbIb)
OPS_INT_FN(op_sar_EbIb)
OPS_INT_FN(op_rol_EvIb)
OPS_INT_FN(op_ror_EvIb)
OPS_INT_FN(op_rcl_EvIb)
OPS_INT_FN(op_rcr_EvIb)
OPS_INT_FN(op_shl_EvIb)
OPS_INT_FN(op_shr_EvIb)
OPS_INT_FN(op_sar_EvIb)
OPS_INT_FN(op_rol_Eb1)
OPS_INT_FN(op_ror_Eb1)
OPS_INT_FN(op_rcl_Eb1)
OPS_INT_FN(op_rcr_Eb1)
OPS_INT_FN(op_shl_Eb1)
OPS_INT_FN(op_shr_Eb1)
OPS_INT_FN(op_sar_Eb1)
OPS_INT_FN(op_rol_Ev1)
OPS_INT_FN(op_ror_Ev1)
OPS_INT_FN(op_rcl_Ev1)
OPS_INT_FN(op_rcr_Ev1)
OPS_INT_FN(op_shl_Ev1)
OPS_INT_FN(op_shr_Ev1)
OPS_INT_FN(op_sar_Ev1)
OPS_INT_FN(op_rol_EbCL)
OPS_INT_FN(op_ror_EbCL)
OPS_INT_FN(op_rcl_EbCL)
OPS_INT_FN(op_rcr_EbCL)
OPS_INT_FN(op_shl_EbCL)
OPS_INT_FN(op_shr_EbCL)
OPS_INT_FN(op_sar_EbCL)
OPS_INT_FN(op_rol_EvCL)
OPS_INT_FN(op_ror_EvCL)
OPS_INT_FN(op_rcl_EvCL)
OPS_INT_FN(op_rcr_EvCL)
OPS_INT_FN(op_shl_EvCL)
OPS_INT_FN(op_shr_EvCL)
OPS_INT_FN(op_sar_EvCL)
OPS_INT_FN(op_shld_EvGvIb)
OPS_INT_FN(op_shld_EvGvCL)
OPS_INT_FN(op_shrd_EvGvIb)
OPS_INT_FN(op_shrd_EvGvCL)
/* ops_muldiv.c — MUL, IMUL, DIV, IDIV */
OPS_INT_FN(op_mul_Eb)
OPS_INT_FN(op_imul_Eb)
OPS_INT_FN(op_div_Eb)
OPS_INT_FN(op_idiv_Eb)
OPS_INT_FN(op_mul_Ev)
OPS_INT_FN(op_imul_Ev)
OPS_INT_FN(op_div_Ev)
OPS_INT_FN(op_idiv_Ev)
OPS_INT_FN(op_imul_GvEv)
OPS_INT_FN(op_imul_GvEvIz)
OPS_INT_FN(op_imul_GvEvIb)
/* ops_bit.c — bit test/scan/count, BSWAP, MOVBE, CRC32 */
OPS_INT_FN(op_bt_EvGv)
OPS_INT_FN(op_bts_EvGv)
OPS_INT_FN(op_btr_EvGv)
OPS_INT_FN(op_btc_EvGv)
OPS_INT_FN(op_bt_EvIb)
OPS_INT_FN(op_bts_EvIb)
OPS_INT_FN(op_btr_EvIb)
OPS_INT_FN(op_btc_EvIb)
OPS_INT_FN(op_popcnt_GvEv)
OPS_INT_FN(op_tzcnt_GvEv)
OPS_INT_FN(op_lzcnt_GvEv)
OPS_INT_FN(op_bsf_GvEv)
OPS_INT_FN(op_bsr_GvEv)
OPS_INT_FN(op_bswap_Zv)
OPS_INT_FN(op_crc32_GyEb)
OPS_INT_FN(op_crc32_GyEv)
OPS_INT_FN(op_movbe_GvMv)
OPS_INT_FN(op_movbe_MvGv)
/* ops_data.c — moves, exchanges, conversions, flag control, BCD, NOP/UD */
OPS_INT_FN(op_mov_EbGb)
OPS_INT_FN(op_mov_EvGv)
OPS_INT_FN(op_mov_GbEb)
OPS_INT_FN(op_mov_GvEv)
OPS_INT_FN(op_mov_EbIb)
OPS_INT_FN(op_mov_EvIz)
OPS_INT_FN(op_mov_ZbIb)
OPS_INT_FN(op_mov_ZvIv)
OPS_INT_FN(op_mov_ALOb)
OPS_INT_FN(op_mov_rAXOv)
OPS_INT_FN(op_mov_ObAL)
OPS_INT_FN(op_mov_OvrAX)
OPS_INT_FN(op_movzx_GvEb)
OPS_INT_FN(op_movzx_GvEw)
OPS_INT_FN(op_movsx_GvEb)
OPS_INT_FN(op_movsx_GvEw)
OPS_INT_FN(op_movsxd_GvEd)
OPS_INT_FN(op_lea_GvM)
OPS_INT_FN(op_xchg_EbGb)
OPS_INT_FN(op_xchg_EvGv)
OPS_INT_FN(op_pause)
OPS_INT_FN(op_xchg_ZvrAX)
OPS_INT_FN(op_cmpxchg_EbGb)
OPS_INT_FN(op_cmpxchg_EvGv)
OPS_INT_FN(op_cmpxchg16b_Mdq)
OPS_INT_FN(op_cmpxchg8b_Mq)
OPS_INT_FN(op_xadd_EbGb)
OPS_INT_FN(op_xadd_EvGv)
OPS_INT_FN(op_cmovcc_GvEv)
OPS_INT_FN(op_setcc_Eb)
OPS_INT_FN(op_cbw)
OPS_INT_FN(op_cwd)
OPS_INT_FN(op_lahf)
OPS_INT_FN(op_sahf)
OPS_INT_FN(op_cmc)
OPS_INT_FN(op_clc)
OPS_INT_FN(op_stc)
OPS_INT_FN(op_cld)
OPS_INT_FN(op_std)
OPS_INT_FN(op_xlat)
OPS_INT_FN(op_daa)
OPS_INT_FN(op_das)
OPS_INT_FN(op_aaa)
OPS_INT_FN(op_aas)
OPS_INT_FN(op_aam_Ib)
OPS_INT_FN(op_aad_Ib)
OPS_INT_FN(op_salc)
OPS_INT_FN(op_nop_Ev)
OPS_INT_FN(op_ud)
#undef OPS_INT_FN

/*
 * LOCK is only legal with a memory destination (SDM Vol.2 "LOCK": #UD if the
 * destination is not a memory operand).  The table marks the instructions
 * that accept LOCK (F_LOCK); the handlers check the operand.
 */
static inline void int_lock_check(struct cpu *cpu, const struct insn *in)
{
    if (unlikely(in->lock) && in->mod == 3)
        cpu_ud(cpu);
}

/*
 * rmw_begin()/rmw_commit() with the register case inlined: most
 * read-modify-write instructions have a register destination, and those
 * should not pay for two calls into mem.c.
 */
static inline uint64_t int_rmw_begin(struct cpu *cpu, const struct insn *in, unsigned size,
                                     struct rmw *m)
{
    if (in->mod == 3) {
        m->host = NULL;
        m->reg = in->rm;
        m->rex = in->rex != 0;
        m->size = size;
        return size == 1 ? reg8_get(cpu, in->rm, m->rex) : reg_get(cpu, in->rm, size);
    }
    return rmw_begin(cpu, in, size, m);
}

static inline void int_rmw_commit(struct cpu *cpu, struct rmw *m, uint64_t v)
{
    if (m->reg == 0xff)
        rmw_commit(cpu, m, v);
    else if (m->size == 1)
        reg8_set(cpu, m->reg, m->rex, (uint8_t)v);
    else
        reg_set(cpu, m->reg, m->size, v);
}

/* SF, ZF and PF of a result of 'size' bytes as RFLAGS bits. */
static inline uint64_t int_szp(uint64_t res, unsigned size)
{
    uint64_t f = parity8(res) ? FL_PF : 0;
    res &= size_mask(size);
    if (res == 0)
        f |= FL_ZF;
    if (res >> (size * 8 - 1))
        f |= FL_SF;
    return f;
}

#endif
