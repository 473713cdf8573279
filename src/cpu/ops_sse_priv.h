/*
 * ops_sse_priv.h — internals shared by the MMX/SSE handlers (ops_sse_*.c):
 * the fault checks every handler starts with, operand access (XMM, MMX,
 * 16-byte memory), the host-SSE floating-point environment and the macros
 * that build the many one-line handlers from a kernel expression.
 *
 * Register forms:
 *   XMM registers are cpu->fpu.xmm[in->reg] / xmm[in->rm] (REX.R/B included).
 *   MMX registers alias the x87 mantissas (SDM Vol.1 9.5); REX bits are
 *   ignored for them, so MMi = fpu_mmx_get(cpu, reg & 7).
 * Most packed-integer opcodes exist as an MMX form (no prefix: Pq, Qq) and
 * an SSE2 form (66 prefix: Vx, Wx); one handler serves both and looks at
 * in->pfx66 (the table only routes P_NONE and P_66 rows to it).
 *
 * Computation uses the host's SSE unit (the host must have SSE4.2; the
 * files are compiled with a target pragma).  Integer kernels are plain
 * intrinsics on 128-bit values; MMX forms run the same kernel with the
 * 64-bit operands in the low halves.  Floating-point kernels run between
 * fp_enter()/fp_leave(), which load the guest's MXCSR control bits (with
 * every exception masked, so the host never traps) and collect the host's
 * exception flags; sse_fp_flags() merges them into the guest MXCSR and
 * raises #XM/#UD for an unmasked one (SDM Vol.1 11.5).  Each flag-raising
 * operation is one `asm volatile` host instruction (FPASM): intrinsics
 * would let the compiler swap commutative operands (changing which NaN
 * propagates) or execute a kernel speculatively (raising flags of an
 * operation the guest never asked for).  The FP_FENCE macros tie the
 * inputs and outputs to the MXCSR switches as well.
 */
#ifndef NESTVM_CPU_OPS_SSE_PRIV_H
#define NESTVM_CPU_OPS_SSE_PRIV_H

#pragma GCC target("sse4.2,popcnt")
#include <immintrin.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/mem.h"
#include "cpu/ops_sse.h"
#include "cpu/ops_x87.h"

#define SSE_INLINE static inline __attribute__((always_inline))

/* MXCSR (SDM Vol.1 10.2.3) */
#define MXCSR_IE 0x01u
#define MXCSR_DE 0x02u
#define MXCSR_ZE 0x04u
#define MXCSR_OE 0x08u
#define MXCSR_UE 0x10u
#define MXCSR_PE 0x20u
#define MXCSR_FLAGS 0x3fu
#define MXCSR_DAZ 0x40u
#define MXCSR_MASKS 0x1f80u
#define MXCSR_RC_SHIFT 13
#define MXCSR_RC (3u << MXCSR_RC_SHIFT)

#define FSW_ES_BIT 0x80u /* x87 status word: exception summary */

/* ---------- fault checks ---------- */

/* Slow paths (ops_sse_mov.c): raise the right fault, or return if the
 * cached cpu->sse_ok was merely stale. */
void sse_fault(struct cpu *cpu);
void mmx_fault(struct cpu *cpu);
_Noreturn void sse_fp_raise(struct cpu *cpu, unsigned flags, unsigned unmasked);

/* Every SSE handler first: #UD if CR0.EM=1 or CR4.OSFXSR=0, #NM if CR0.TS=1
 * (SDM Vol.3A 13.1.3-13.1.4; Vol.2A 2.4, the legacy-SSE exception classes). */
SSE_INLINE void sse_check(struct cpu *cpu)
{
    if (unlikely(!cpu->sse_ok))
        sse_fault(cpu);
}

/* Every MMX handler first: #UD if CR0.EM, #NM if CR0.TS, #MF if an x87
 * exception is pending (SDM Vol.1 9.6; Vol.3A 12.x "MMX exceptions"). */
SSE_INLINE void mmx_check(struct cpu *cpu)
{
    if (unlikely((cpu->cr0 & (CR0_EM | CR0_TS)) || (cpu->fpu.fsw & FSW_ES_BIT)))
        mmx_fault(cpu);
}

/* ---------- XMM values ---------- */

SSE_INLINE __m128i xv(const xmm_t *x)
{
    return _mm_loadu_si128((const __m128i *)x);
}

SSE_INLINE void xs(xmm_t *x, __m128i v)
{
    _mm_storeu_si128((__m128i *)x, v);
}

SSE_INLINE xmm_t *xreg(struct cpu *cpu, unsigned r)
{
    return &cpu->fpu.xmm[r & 15];
}

SSE_INLINE __m128i q2v(uint64_t q)
{
    return _mm_cvtsi64_si128((long long)q);
}

SSE_INLINE uint64_t v2q(__m128i v)
{
    return (uint64_t)_mm_cvtsi128_si64(v);
}

/* Formats selected by the mandatory prefix: none PS, 66 PD, F3 SS, F2 SD. */
enum { FMT_PS, FMT_PD, FMT_SS, FMT_SD };
SSE_INLINE unsigned sse_fmt(const struct insn *in)
{
    return in->rep == 0xf3 ? FMT_SS : in->rep == 0xf2 ? FMT_SD : in->pfx66 ? FMT_PD : FMT_PS;
}

/* Memory size of a Wx operand of the given format. */
SSE_INLINE unsigned fmt_msize(unsigned fmt)
{
    return fmt == FMT_SS ? 4 : fmt == FMT_SD ? 8 : 16;
}

/* General-register operand size of MOVD/MOVQ, CVTSI2SS, PEXTRD/Q, ...:
 * REX.W selects 64 bits; a 66 prefix never makes them 16-bit. */
SSE_INLINE unsigned sse_gpr_size(const struct insn *in)
{
    return (in->rex & 8) ? 8 : 4;
}

/* ---------- memory ---------- */

void sse_read16_slow(struct cpu *cpu, int seg, uint64_t off, xmm_t *v);
void sse_write16_slow(struct cpu *cpu, int seg, uint64_t off, const xmm_t *v);

/* Linear-address alignment check of a 16-byte operand: #GP(0) for the
 * legacy-SSE forms that require alignment (SDM Vol.1 11.4.1, 12.x). */
SSE_INLINE void sse_align16(struct cpu *cpu, int seg, uint64_t off)
{
    uint64_t base = (cpu->code64 && seg < SEG_FS) ? 0 : cpu->seg[seg].base;
    if (unlikely((base + off) & 15))
        cpu_gp0(cpu);
}

SSE_INLINE void sse_read16(struct cpu *cpu, int seg, uint64_t off, xmm_t *v)
{
    uint64_t lin = seg_linear(cpu, seg, off, 16, ACC_READ);
    void *p = tlb_hit(cpu->tlb.r, lin, 16, cpu->tlb_ctx);
    if (likely(p != NULL))
        memcpy(v, p, 16);
    else
        sse_read16_slow(cpu, seg, off, v);
}

/* All-or-nothing 16-byte store (faults before any byte is written). */
SSE_INLINE void sse_write16(struct cpu *cpu, int seg, uint64_t off, const xmm_t *v)
{
    uint64_t lin = seg_linear(cpu, seg, off, 16, ACC_WRITE);
    void *p = tlb_hit(cpu->tlb.w, lin, 16, cpu->tlb_ctx);
    if (likely(p != NULL))
        memcpy(p, v, 16);
    else
        sse_write16_slow(cpu, seg, off, v);
}

/* Read the ModRM memory operand: n = 1, 2, 4, 8 or 16 bytes, zero-filled
 * to 16.  align: 16-byte operands must be aligned. */
SSE_INLINE __m128i sse_load_mem(struct cpu *cpu, const struct insn *in, unsigned n, bool align)
{
    uint64_t off = insn_ea(cpu, in);
    if (n == 16) {
        xmm_t t;
        if (align)
            sse_align16(cpu, in->seg, off);
        sse_read16(cpu, in->seg, off, &t);
        return xv(&t);
    }
    return q2v(mem_read(cpu, in->seg, off, n));
}

/* Wx source: the XMM register (all 128 bits) or n bytes of memory. */
SSE_INLINE __m128i sse_src(struct cpu *cpu, const struct insn *in, unsigned n, bool align)
{
    if (in->mod == 3)
        return xv(xreg(cpu, in->rm));
    return sse_load_mem(cpu, in, n, align);
}

/* Write an XMM value to the ModRM memory operand (n = 4, 8 or 16). */
SSE_INLINE void sse_store_mem(struct cpu *cpu, const struct insn *in, __m128i v, unsigned n,
                              bool align)
{
    uint64_t off = insn_ea(cpu, in);
    if (n == 16) {
        xmm_t t;
        if (align)
            sse_align16(cpu, in->seg, off);
        xs(&t, v);
        sse_write16(cpu, in->seg, off, &t);
        return;
    }
    mem_write(cpu, in->seg, off, n, n == 8 ? v2q(v) : (uint32_t)_mm_cvtsi128_si32(v));
}

/* Qq source: MMX register rm, or n (4 or 8) bytes of memory. */
SSE_INLINE uint64_t mmx_src(struct cpu *cpu, const struct insn *in, unsigned n)
{
    if (in->mod == 3)
        return fpu_mmx_get(cpu, in->rm & 7);
    return mem_read(cpu, in->seg, insn_ea(cpu, in), n);
}

/* ---------- host floating-point environment ---------- */

/* Load the guest's control bits (rounding, FTZ, DAZ) with all exceptions
 * masked and flags clear; returns the host MXCSR to restore. */
SSE_INLINE uint32_t fp_enter_mx(uint32_t guest)
{
    uint32_t host, g = (guest & ~MXCSR_FLAGS) | MXCSR_MASKS;
    __asm__ volatile("stmxcsr %0\n\tldmxcsr %1" : "=m"(host) : "m"(g));
    return host;
}

SSE_INLINE uint32_t fp_enter(const struct cpu *cpu)
{
    return fp_enter_mx(cpu->fpu.mxcsr);
}

/* Restore the host MXCSR; returns the exception flags raised meanwhile. */
SSE_INLINE unsigned fp_leave(uint32_t host)
{
    uint32_t m;
    __asm__ volatile("stmxcsr %0\n\tldmxcsr %1" : "=m"(m) : "m"(host));
    return m & MXCSR_FLAGS;
}

#define FP_FENCE(v) __asm__ volatile("" : "+x"(v))
#define FP_FENCE_R(v) __asm__ volatile("" : "+r"(v))

/* Merge exception flags into the guest MXCSR; an unmasked one faults
 * before the destination is written (SDM Vol.1 11.5.1). */
SSE_INLINE void sse_fp_flags(struct cpu *cpu, unsigned flags)
{
    unsigned unmasked = flags & ~(cpu->fpu.mxcsr >> 7) & MXCSR_FLAGS;
    if (unlikely(unmasked))
        sse_fp_raise(cpu, flags, unmasked);
    cpu->fpu.mxcsr |= flags;
}

/* r = "insn b, a" (the two-operand SSE form, a is the destination), and the
 * same with an imm8 that must be a compile-time constant. */
#define FPASM(insn, a, b)                                                          \
    ({                                                                             \
        __m128i r_ = (a);                                                          \
        __asm__ volatile(insn " %1, %0" : "+x"(r_) : "x"(b));                      \
        r_;                                                                        \
    })
#define FPASM_I(insn, imm, a, b)                                                   \
    ({                                                                             \
        __m128i r_ = (a);                                                          \
        __asm__ volatile(insn " %2, %1, %0" : "+x"(r_) : "x"(b), "i"(imm));        \
        r_;                                                                        \
    })

/* r = expr computed under the guest MXCSR 'mx' from inputs a and b (any
 * vector types); flags merged, unmasked exceptions raised before the
 * caller writes r anywhere. */
#define FP_COMPUTE_MX(cpu, mx, r, a, b, expr)                                      \
    do {                                                                           \
        uint32_t host_ = fp_enter_mx(mx);                                          \
        FP_FENCE(a);                                                               \
        FP_FENCE(b);                                                               \
        r = (expr);                                                                \
        FP_FENCE(r);                                                               \
        sse_fp_flags((cpu), fp_leave(host_));                                      \
    } while (0)
#define FP_COMPUTE(cpu, r, a, b, expr) FP_COMPUTE_MX(cpu, (cpu)->fpu.mxcsr, r, a, b, expr)

/* ---------- handler builders ---------- */

typedef __m128i vop2(__m128i a, __m128i b);

/* dst(xmm reg) = f(dst, src(xmm/m128)), alignment per 'align'. */
SSE_INLINE void sse_op2_xmm(struct cpu *cpu, const struct insn *in, vop2 *f, bool align)
{
    sse_check(cpu);
    __m128i s = sse_src(cpu, in, 16, align);
    xmm_t *d = xreg(cpu, in->reg);
    xs(d, f(xv(d), s));
}

/* dst(mm reg) = f(dst, src(mm/m64 or m32)) with the values in the low halves. */
SSE_INLINE void sse_op2_mmx(struct cpu *cpu, const struct insn *in, vop2 *f, unsigned msize)
{
    mmx_check(cpu);
    uint64_t s = mmx_src(cpu, in, msize);
    unsigned r = in->reg & 7;
    fpu_mmx_set(cpu, r, v2q(f(q2v(fpu_mmx_get(cpu, r)), q2v(s))));
}

/* A kernel: k_<name>(a, b) = expr, a = destination, b = source. */
#define SSE_KERNEL(name, expr)                                                      \
    static inline __m128i k_##name(__m128i a, __m128i b)                           \
    {                                                                              \
        (void)a;                                                                   \
        (void)b;                                                                   \
        return (expr);                                                             \
    }

/* Handler for an opcode with an MMX form (no prefix, kernel kmmx, memory
 * operand msize bytes) and an SSE2 form (66, kernel kxmm, aligned m128). */
#define SSE_HANDLER_MX(name, kxmm, kmmx, msize)                                    \
    void op_##name##_VxWx(struct cpu *cpu, const struct insn *in)                  \
    {                                                                              \
        if (in->pfx66)                                                             \
            sse_op2_xmm(cpu, in, kxmm, true);                                      \
        else                                                                       \
            sse_op2_mmx(cpu, in, kmmx, msize);                                     \
    }

/* Handler for an XMM-only opcode (any mandatory prefix the table routes). */
#define SSE_HANDLER_X(name, kxmm, align)                                           \
    void op_##name##_VxWx(struct cpu *cpu, const struct insn *in)                  \
    {                                                                              \
        sse_op2_xmm(cpu, in, kxmm, align);                                         \
    }

/* The common cases: one expression for both widths / XMM only. */
#define PINT(name, expr) SSE_KERNEL(name, expr) SSE_HANDLER_MX(name, k_##name, k_##name, 8)
#define XINT(name, expr) SSE_KERNEL(name, expr) SSE_HANDLER_X(name, k_##name, true)

#endif
