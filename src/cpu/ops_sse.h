/*
 * ops_sse.h — handlers of the MMX/SSE family (optable_sse.def): MMX, SSE,
 * SSE2, SSE3, SSSE3, SSE4.1 and SSE4.2 (no VEX/AVX encodings).
 *
 *   ops_sse_mov.c  moves, shuffles, inserts/extracts, masks, EMMS
 *   ops_sse_int.c  packed integer arithmetic/compare/logic/shift/pack/unpack
 *   ops_sse_fp.c   floating point arithmetic, compares, conversions,
 *                  rounding, dot products, blends
 *   ops_sse_str.c  PCMPESTRI/PCMPESTRM/PCMPISTRI/PCMPISTRM
 *
 * Handlers named ..._VxWx that also have an MMX form (no 66 prefix) use
 * the MMX registers (Pq, Qq) for that form.  Internals: ops_sse_priv.h.
 */
#ifndef NESTVM_CPU_OPS_SSE_H
#define NESTVM_CPU_OPS_SSE_H

#include "cpu/cpu.h"
#include "cpu/insn.h"

/* ---- ops_sse_int.c ---- */
op_fn op_paddb_VxWx, op_paddw_VxWx, op_paddd_VxWx, op_paddq_VxWx;
op_fn op_psubb_VxWx, op_psubw_VxWx, op_psubd_VxWx, op_psubq_VxWx;
op_fn op_paddsb_VxWx, op_paddsw_VxWx, op_paddusb_VxWx, op_paddusw_VxWx;
op_fn op_psubsb_VxWx, op_psubsw_VxWx, op_psubusb_VxWx, op_psubusw_VxWx;
op_fn op_pmullw_VxWx, op_pmulhw_VxWx, op_pmulhuw_VxWx, op_pmuludq_VxWx, op_pmaddwd_VxWx;
op_fn op_pmaddubsw_VxWx, op_pmulhrsw_VxWx, op_pmuldq_VxWx, op_pmulld_VxWx;
op_fn op_pand_VxWx, op_pandn_VxWx, op_por_VxWx, op_pxor_VxWx;
op_fn op_andps_VxWx, op_andnps_VxWx, op_orps_VxWx, op_xorps_VxWx;
op_fn op_pcmpeqb_VxWx, op_pcmpeqw_VxWx, op_pcmpeqd_VxWx, op_pcmpeqq_VxWx;
op_fn op_pcmpgtb_VxWx, op_pcmpgtw_VxWx, op_pcmpgtd_VxWx, op_pcmpgtq_VxWx;
op_fn op_pminub_VxWx, op_pmaxub_VxWx, op_pminsw_VxWx, op_pmaxsw_VxWx;
op_fn op_pminsb_VxWx, op_pmaxsb_VxWx, op_pminuw_VxWx, op_pmaxuw_VxWx;
op_fn op_pminsd_VxWx, op_pmaxsd_VxWx, op_pminud_VxWx, op_pmaxud_VxWx;
op_fn op_pavgb_VxWx, op_pavgw_VxWx, op_psadbw_VxWx;
op_fn op_pabsb_VxWx, op_pabsw_VxWx, op_pabsd_VxWx;
op_fn op_psignb_VxWx, op_psignw_VxWx, op_psignd_VxWx, op_phminposuw_VxWx;
op_fn op_psllw_VxWx, op_pslld_VxWx, op_psllq_VxWx, op_psrlw_VxWx, op_psrld_VxWx;
op_fn op_psrlq_VxWx, op_psraw_VxWx, op_psrad_VxWx;
op_fn op_packsswb_VxWx, op_packssdw_VxWx, op_packuswb_VxWx, op_packusdw_VxWx;
op_fn op_phaddw_VxWx, op_phaddd_VxWx, op_phaddsw_VxWx;
op_fn op_phsubw_VxWx, op_phsubd_VxWx, op_phsubsw_VxWx;
op_fn op_punpcklbw_VxWx, op_punpcklwd_VxWx, op_punpckldq_VxWx, op_punpcklqdq_VxWx;
op_fn op_punpckhbw_VxWx, op_punpckhwd_VxWx, op_punpckhdq_VxWx, op_punpckhqdq_VxWx;
op_fn op_unpcklps_VxWx, op_unpckhps_VxWx, op_unpcklpd_VxWx, op_unpckhpd_VxWx;
op_fn op_pshufb_VxWx;
op_fn op_pshift_UxIb; /* groups 12-14: 0F 71/72/73 /2 /3 /4 /6 /7 ib */
op_fn op_ptest_VxWx, op_mpsadbw_VxWxIb;

/* ---- ops_sse_mov.c ---- */
op_fn op_movdqu_VxWx, op_movdqa_VxWx, op_movdqu_WxVx, op_movdqa_WxVx;
op_fn op_movss_VxWx, op_movss_WxVx, op_movq_VxWq, op_movq_WqVx;
op_fn op_movd_VyEy, op_movd_EyVy, op_movq_PqQq, op_movq_QqPq;
op_fn op_movq2dq_VxNq, op_movdq2q_PqUx, op_movnti_MyGy;
op_fn op_movlps_VxMq, op_movlps_MqVx, op_movhlps_VxUx, op_movdup_VxWx;
op_fn op_pshufd_VxWxIb, op_shufps_VxWxIb, op_palignr_VxWxIb;
op_fn op_pinsr_VxEyIb, op_pextrw_GdUxIb, op_pextr_EyVxIb, op_insertps_VxWxIb;
op_fn op_pmovx_VxWx, op_pmovmskb_GdUx, op_movmskps_GdUx, op_maskmovq_PqNq;
op_fn op_emms;

/* ---- ops_sse_fp.c ---- */
op_fn op_fparith_VxWx, op_fpcmp_VxWxIb, op_ucomis_VxWx;
op_fn op_cvt_VxWx, op_cvtsi2s_VxEy, op_cvts2si_GyWx, op_cvtpi2p_VxQq, op_cvtp2pi_PqWx;
op_fn op_round_VxWxIb, op_dpps_VxWxIb, op_blend_VxWxIb, op_blendv_VxWx;

/* ---- ops_sse_str.c ---- */
op_fn op_pcmpstr_VxWxIb;

#endif
