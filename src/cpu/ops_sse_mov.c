/*
 * ops_sse_mov.c — MMX/SSE data movement: register/memory moves (MOVD/MOVQ,
 * MOVAPS/MOVUPS/MOVDQA/MOVDQU/LDDQU, MOVSS/MOVSD, MOVLPS/MOVHPS, the
 * non-temporal stores), duplicates, shuffles (PSHUFW/D/HW/LW, SHUFPS/PD,
 * PALIGNR), inserts/extracts (PINSRx, PEXTRx, INSERTPS, EXTRACTPS),
 * sign/zero extension (PMOVSX/ZX), mask extraction (PMOVMSKB, MOVMSKPS/PD),
 * masked stores (MASKMOVQ/MASKMOVDQU), EMMS, MOVNTI — plus the shared
 * fault and 16-byte memory slow paths of ops_sse_priv.h.
 *
 * Non-temporal hints are ignored (the stores are ordinary stores, which is
 * a valid implementation, SDM Vol.1 10.4.6.2).
 */
#include "cpu/ops_sse_priv.h"

/* ---------- shared slow paths ---------- */

void sse_fault(struct cpu *cpu)
{
    /* SDM Vol.3A 13.1.3/13.1.4, 2.5 (CR0.EM, CR0.TS): EM or !OSFXSR → #UD,
     * then TS → #NM */
    if ((cpu->cr0 & CR0_EM) || !(cpu->cr4 & CR4_OSFXSR))
        cpu_ud(cpu);
    if (cpu->cr0 & CR0_TS)
        cpu_fault(cpu, EXC_NM, NO_ERR);
    cpu->sse_ok = 1; /* the cache was stale */
}

void mmx_fault(struct cpu *cpu)
{
    if (cpu->cr0 & CR0_EM)
        cpu_ud(cpu);
    if (cpu->cr0 & CR0_TS)
        cpu_fault(cpu, EXC_NM, NO_ERR);
    /* pending x87 exception: #MF when CR0.NE (FERR# routing not modelled) */
    if ((cpu->fpu.fsw & FSW_ES_BIT) && (cpu->cr0 & CR0_NE))
        cpu_fault(cpu, EXC_MF, NO_ERR);
}

/* An unmasked SIMD floating-point exception (SDM Vol.1 11.5.1, 11.5.2): the
 * destination is left unchanged; if a pre-computation exception (invalid,
 * denormal, divide-by-zero) is unmasked only those flags are reported,
 * else every flag detected.  #XM with CR4.OSXMMEXCPT, otherwise #UD
 * (SDM Vol.3 6.15 "Interrupt 19"). */
_Noreturn void sse_fp_raise(struct cpu *cpu, unsigned flags, unsigned unmasked)
{
    const unsigned pre = MXCSR_IE | MXCSR_DE | MXCSR_ZE;
    if (unmasked & pre)
        flags &= pre;
    cpu->fpu.mxcsr |= flags;
    if (cpu->cr4 & CR4_OSXMMEXCPT)
        cpu_fault(cpu, EXC_XM, NO_ERR);
    cpu_ud(cpu);
}

/* Page-crossing or TLB-missing 16-byte accesses.  Within one page two
 * 8-byte accesses fill the TLB; the second cannot fault once the first
 * succeeded (same page, same access).  Crossing a page, the buffer
 * routines check both pages before writing anything. */
void sse_read16_slow(struct cpu *cpu, int seg, uint64_t off, xmm_t *v)
{
    uint64_t lin = seg_linear(cpu, seg, off, 16, ACC_READ);
    if ((lin & 0xfff) > 0xff0) {
        mem_read_buf(cpu, seg, off, v, 16);
        return;
    }
    v->q[0] = mem_read_lin(cpu, lin, 8);
    v->q[1] = mem_read_lin(cpu, lin + 8, 8);
}

void sse_write16_slow(struct cpu *cpu, int seg, uint64_t off, const xmm_t *v)
{
    uint64_t lin = seg_linear(cpu, seg, off, 16, ACC_WRITE);
    if ((lin & 0xfff) > 0xff0) {
        mem_write_buf(cpu, seg, off, v, 16);
        return;
    }
    mem_write_lin(cpu, lin, 8, v->q[0]);
    mem_write_lin(cpu, lin + 8, 8, v->q[1]);
}

/* ---------- full-register moves ---------- */

SSE_INLINE void mov_load(struct cpu *cpu, const struct insn *in, bool align)
{
    sse_check(cpu);
    xs(xreg(cpu, in->reg), sse_src(cpu, in, 16, align));
}

SSE_INLINE void mov_store(struct cpu *cpu, const struct insn *in, bool align)
{
    sse_check(cpu);
    __m128i v = xv(xreg(cpu, in->reg));
    if (in->mod == 3)
        xs(xreg(cpu, in->rm), v);
    else
        sse_store_mem(cpu, in, v, 16, align);
}

/* MOVUPS/MOVUPD (0F 10), MOVDQU (F3 0F 6F), LDDQU (F2 0F F0) */
void op_movdqu_VxWx(struct cpu *cpu, const struct insn *in)
{
    mov_load(cpu, in, false);
}

/* MOVAPS/MOVAPD (0F 28), MOVDQA (66 0F 6F), MOVNTDQA (66 0F 38 2A) */
void op_movdqa_VxWx(struct cpu *cpu, const struct insn *in)
{
    mov_load(cpu, in, true);
}

/* MOVUPS/MOVUPD (0F 11), MOVDQU (F3 0F 7F) */
void op_movdqu_WxVx(struct cpu *cpu, const struct insn *in)
{
    mov_store(cpu, in, false);
}

/* MOVAPS/MOVAPD (0F 29), MOVDQA (66 0F 7F), MOVNTPS/PD (0F 2B), MOVNTDQ (66 0F E7) */
void op_movdqa_WxVx(struct cpu *cpu, const struct insn *in)
{
    mov_store(cpu, in, true);
}

/* ---------- scalar and 64-bit moves ---------- */

/* MOVSS (F3 0F 10) / MOVSD (F2 0F 10): register form merges the low
 * element, memory form zero-extends (SDM MOVSS). */
void op_movss_VxWx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned n = sse_fmt(in) == FMT_SS ? 4 : 8;
    xmm_t *d = xreg(cpu, in->reg);
    if (in->mod == 3) {
        memcpy(d, xreg(cpu, in->rm), n);
    } else {
        uint64_t v = mem_read(cpu, in->seg, insn_ea(cpu, in), n);
        d->q[0] = v;
        d->q[1] = 0;
    }
}

/* MOVSS (F3 0F 11) / MOVSD (F2 0F 11) to xmm/mem */
void op_movss_WxVx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned n = sse_fmt(in) == FMT_SS ? 4 : 8;
    const xmm_t *s = xreg(cpu, in->reg);
    if (in->mod == 3)
        memcpy(xreg(cpu, in->rm), s, n);
    else
        mem_write(cpu, in->seg, insn_ea(cpu, in), n, n == 4 ? s->d[0] : s->q[0]);
}

/* MOVQ xmm, xmm/m64 (F3 0F 7E): zero-extends */
void op_movq_VxWq(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    xs(xreg(cpu, in->reg), _mm_move_epi64(sse_src(cpu, in, 8, false)));
}

/* MOVQ xmm/m64, xmm (66 0F D6) */
void op_movq_WqVx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    uint64_t v = xreg(cpu, in->reg)->q[0];
    if (in->mod == 3)
        xs(xreg(cpu, in->rm), q2v(v));
    else
        mem_write64(cpu, in->seg, insn_ea(cpu, in), v);
}

/* MOVD/MOVQ mm, r/m32/64 (0F 6E) and xmm, r/m32/64 (66 0F 6E) */
void op_movd_VyEy(struct cpu *cpu, const struct insn *in)
{
    unsigned n = sse_gpr_size(in);
    if (in->pfx66) {
        sse_check(cpu);
        xs(xreg(cpu, in->reg), q2v(op_read_rm(cpu, in, n)));
    } else {
        mmx_check(cpu);
        fpu_mmx_set(cpu, in->reg & 7, op_read_rm(cpu, in, n));
    }
}

/* MOVD/MOVQ r/m32/64, mm (0F 7E) and r/m32/64, xmm (66 0F 7E) */
void op_movd_EyVy(struct cpu *cpu, const struct insn *in)
{
    unsigned n = sse_gpr_size(in);
    if (in->pfx66) {
        sse_check(cpu);
        op_write_rm(cpu, in, n, xreg(cpu, in->reg)->q[0] & size_mask(n));
    } else {
        mmx_check(cpu);
        op_write_rm(cpu, in, n, fpu_mmx_get(cpu, in->reg & 7) & size_mask(n));
        fpu_mmx_enter(cpu);
    }
}

/* MOVQ mm, mm/m64 (0F 6F) */
void op_movq_PqQq(struct cpu *cpu, const struct insn *in)
{
    mmx_check(cpu);
    fpu_mmx_set(cpu, in->reg & 7, mmx_src(cpu, in, 8));
}

/* MOVQ mm/m64, mm (0F 7F), MOVNTQ m64, mm (0F E7) */
void op_movq_QqPq(struct cpu *cpu, const struct insn *in)
{
    mmx_check(cpu);
    uint64_t v = fpu_mmx_get(cpu, in->reg & 7);
    if (in->mod == 3) {
        fpu_mmx_set(cpu, in->rm & 7, v);
    } else {
        mem_write64(cpu, in->seg, insn_ea(cpu, in), v);
        fpu_mmx_enter(cpu);
    }
}

/* MOVQ2DQ xmm, mm (F3 0F D6) */
void op_movq2dq_VxNq(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    mmx_check(cpu);
    xs(xreg(cpu, in->reg), q2v(fpu_mmx_get(cpu, in->rm & 7)));
    fpu_mmx_enter(cpu);
}

/* MOVDQ2Q mm, xmm (F2 0F D6) */
void op_movdq2q_PqUx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    mmx_check(cpu);
    fpu_mmx_set(cpu, in->reg & 7, xreg(cpu, in->rm)->q[0]);
}

/* MOVNTI m32/64, r32/64 (0F C3): an ordinary store; not subject to the
 * CR0/CR4 SSE checks (SDM MOVNTI exceptions). */
void op_movnti_MyGy(struct cpu *cpu, const struct insn *in)
{
    unsigned n = sse_gpr_size(in);
    mem_write(cpu, in->seg, insn_ea(cpu, in), n, reg_get(cpu, in->reg, n));
}

/* ---------- half-register moves: opcode bit 2 selects the high half ---------- */

/* MOVLPS/MOVLPD xmm, m64 (0F 12), MOVHPS/MOVHPD xmm, m64 (0F 16) */
void op_movlps_VxMq(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    uint64_t v = mem_read64(cpu, in->seg, insn_ea(cpu, in));
    xreg(cpu, in->reg)->q[(in->opc >> 2) & 1] = v;
}

/* MOVLPS/MOVLPD m64, xmm (0F 13), MOVHPS/MOVHPD m64, xmm (0F 17) */
void op_movlps_MqVx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    mem_write64(cpu, in->seg, insn_ea(cpu, in), xreg(cpu, in->reg)->q[(in->opc >> 2) & 1]);
}

/* MOVHLPS xmm, xmm (0F 12 reg): low ← source high; MOVLHPS (0F 16 reg):
 * high ← source low. */
void op_movhlps_VxUx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned hi = (in->opc >> 2) & 1;
    xreg(cpu, in->reg)->q[hi] = xreg(cpu, in->rm)->q[!hi];
}

/* MOVSLDUP (F3 0F 12), MOVSHDUP (F3 0F 16), MOVDDUP xmm, xmm/m64 (F2 0F 12) */
void op_movdup_VxWx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    __m128i r;
    if (in->rep == 0xf2) {
        __m128i s = sse_src(cpu, in, 8, false);
        r = _mm_unpacklo_epi64(s, s);
    } else {
        __m128i s = sse_src(cpu, in, 16, true);
        r = in->opc == 0x12 ? _mm_shuffle_epi32(s, 0xa0) : _mm_shuffle_epi32(s, 0xf5);
    }
    xs(xreg(cpu, in->reg), r);
}

/* ---------- shuffles ---------- */

/* Four elements of r, starting at element 'first' (words or dwords), chosen
 * from the same four positions of s by the 2-bit fields of imm. */
static void shuffle4(xmm_t *r, const xmm_t *s, bool words, unsigned first, unsigned imm)
{
    for (unsigned i = 0; i < 4; i++) {
        unsigned sel = first + ((imm >> (2 * i)) & 3);
        if (words)
            r->w[first + i] = s->w[sel];
        else
            r->d[i] = s->d[sel];
    }
}

/* 0F 70: PSHUFW mm (none), PSHUFD (66), PSHUFHW (F3), PSHUFLW (F2) */
void op_pshufd_VxWxIb(struct cpu *cpu, const struct insn *in)
{
    unsigned imm = (uint8_t)in->imm;
    xmm_t s, r;
    if (!in->pfx66 && !in->rep) {
        mmx_check(cpu);
        s.q[0] = mmx_src(cpu, in, 8);
        shuffle4(&r, &s, true, 0, imm);
        fpu_mmx_set(cpu, in->reg & 7, r.q[0]);
        return;
    }
    sse_check(cpu);
    xs(&s, sse_src(cpu, in, 16, true));
    r = s;
    if (in->rep == 0xf3)
        shuffle4(&r, &s, true, 4, imm);
    else if (in->rep == 0xf2)
        shuffle4(&r, &s, true, 0, imm);
    else
        shuffle4(&r, &s, false, 0, imm);
    *xreg(cpu, in->reg) = r;
}

/* SHUFPS (0F C6) / SHUFPD (66 0F C6): low half from dst, high from src */
void op_shufps_VxWxIb(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned imm = (uint8_t)in->imm;
    xmm_t s, r, *d = xreg(cpu, in->reg);
    xs(&s, sse_src(cpu, in, 16, true));
    if (in->pfx66) {
        r.q[0] = d->q[imm & 1];
        r.q[1] = s.q[(imm >> 1) & 1];
    } else {
        r.d[0] = d->d[imm & 3];
        r.d[1] = d->d[(imm >> 2) & 3];
        r.d[2] = s.d[(imm >> 4) & 3];
        r.d[3] = s.d[(imm >> 6) & 3];
    }
    *d = r;
}

/* PALIGNR (0F 3A 0F): (dst:src) >> imm bytes, low 8 (MMX) or 16 bytes */
void op_palignr_VxWxIb(struct cpu *cpu, const struct insn *in)
{
    uint8_t buf[48] = { 0 };
    unsigned n = in->pfx66 ? 16 : 8, imm = (uint8_t)in->imm;
    if (imm > 2 * n)
        imm = 2 * n;
    if (in->pfx66) {
        sse_check(cpu);
        xmm_t *d = xreg(cpu, in->reg);
        _mm_storeu_si128((__m128i *)buf, sse_src(cpu, in, 16, true));
        memcpy(buf + 16, d, 16);
        memcpy(d, buf + imm, 16);
    } else {
        mmx_check(cpu);
        uint64_t s = mmx_src(cpu, in, 8), d = fpu_mmx_get(cpu, in->reg & 7), r;
        memcpy(buf, &s, 8);
        memcpy(buf + 8, &d, 8);
        memcpy(&r, buf + imm, 8);
        fpu_mmx_set(cpu, in->reg & 7, r);
    }
}

/* ---------- inserts and extracts ---------- */

/* PINSRW (0F C4, MMX and 66), PINSRB (66 0F 3A 20), PINSRD/Q (66 0F 3A 22):
 * element from r32/r64 (low bits) or memory into the slot imm selects. */
void op_pinsr_VxEyIb(struct cpu *cpu, const struct insn *in)
{
    unsigned esz = in->opc == 0xc4 ? 2 : in->opc == 0x20 ? 1 : sse_gpr_size(in);
    unsigned n = in->pfx66 ? 16 : 8;
    unsigned slot = ((unsigned)in->imm & (n / esz - 1)) * esz;
    if (in->pfx66)
        sse_check(cpu);
    else
        mmx_check(cpu);
    uint64_t v = in->mod == 3 ? cpu->r[in->rm] : mem_read(cpu, in->seg, insn_ea(cpu, in), esz);
    if (in->pfx66) {
        memcpy(xreg(cpu, in->reg)->b + slot, &v, esz);
    } else {
        uint64_t m = fpu_mmx_get(cpu, in->reg & 7);
        memcpy((uint8_t *)&m + slot, &v, esz);
        fpu_mmx_set(cpu, in->reg & 7, m);
    }
}

/* PEXTRW r32, mm/xmm, imm (0F C5, register source only) */
void op_pextrw_GdUxIb(struct cpu *cpu, const struct insn *in)
{
    unsigned imm = (unsigned)in->imm;
    if (in->pfx66) {
        sse_check(cpu);
        reg_set(cpu, in->reg, 4, xreg(cpu, in->rm)->w[imm & 7]);
    } else {
        mmx_check(cpu);
        reg_set(cpu, in->reg, 4, (uint16_t)(fpu_mmx_get(cpu, in->rm & 7) >> (16 * (imm & 3))));
        fpu_mmx_enter(cpu);
    }
}

/* PEXTRB (66 0F 3A 14), PEXTRW (15), PEXTRD/Q (16), EXTRACTPS (17):
 * r/m ← element of the XMM register in ModRM.reg.  A register destination
 * is zero-extended. */
void op_pextr_EyVxIb(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned esz = in->opc == 0x14 ? 1 : in->opc == 0x15 ? 2 : in->opc == 0x17 ? 4 : sse_gpr_size(in);
    unsigned slot = ((unsigned)in->imm & (16 / esz - 1)) * esz;
    uint64_t v = 0;
    memcpy(&v, xreg(cpu, in->reg)->b + slot, esz);
    if (in->mod == 3)
        reg_set(cpu, in->rm, esz == 8 ? 8 : 4, v);
    else
        mem_write(cpu, in->seg, insn_ea(cpu, in), esz, v);
}

/* INSERTPS (66 0F 3A 21): imm[7:6] source dword (register form), imm[5:4]
 * destination dword, imm[3:0] zero mask (SDM INSERTPS). */
void op_insertps_VxWxIb(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    unsigned imm = (uint8_t)in->imm;
    uint32_t v;
    if (in->mod == 3)
        v = xreg(cpu, in->rm)->d[imm >> 6];
    else
        v = mem_read32(cpu, in->seg, insn_ea(cpu, in));
    xmm_t *d = xreg(cpu, in->reg);
    d->d[(imm >> 4) & 3] = v;
    for (unsigned i = 0; i < 4; i++)
        if (imm & (1u << i))
            d->d[i] = 0;
}

/* PMOVSX/PMOVZX (66 0F 38 20-25 / 30-35): widen the low elements.  Low
 * opcode nibble: BW, BD, BQ, WD, WQ, DQ; memory operand 8, 4, 2, 8, 4, 8
 * bytes (no alignment requirement). */
void op_pmovx_VxWx(struct cpu *cpu, const struct insn *in)
{
    static const uint8_t msize[6] = { 8, 4, 2, 8, 4, 8 };
    sse_check(cpu);
    unsigned k = in->opc & 0xf;
    __m128i s = sse_src(cpu, in, msize[k], false), r;
    bool zx = in->opc & 0x10;
    switch (k) {
    case 0: r = zx ? _mm_cvtepu8_epi16(s) : _mm_cvtepi8_epi16(s); break;
    case 1: r = zx ? _mm_cvtepu8_epi32(s) : _mm_cvtepi8_epi32(s); break;
    case 2: r = zx ? _mm_cvtepu8_epi64(s) : _mm_cvtepi8_epi64(s); break;
    case 3: r = zx ? _mm_cvtepu16_epi32(s) : _mm_cvtepi16_epi32(s); break;
    case 4: r = zx ? _mm_cvtepu16_epi64(s) : _mm_cvtepi16_epi64(s); break;
    default: r = zx ? _mm_cvtepu32_epi64(s) : _mm_cvtepi32_epi64(s); break;
    }
    xs(xreg(cpu, in->reg), r);
}

/* ---------- masks ---------- */

/* PMOVMSKB r32, mm/xmm (0F D7, register source) */
void op_pmovmskb_GdUx(struct cpu *cpu, const struct insn *in)
{
    if (in->pfx66) {
        sse_check(cpu);
        reg_set(cpu, in->reg, 4, (uint32_t)_mm_movemask_epi8(xv(xreg(cpu, in->rm))));
    } else {
        mmx_check(cpu);
        reg_set(cpu, in->reg, 4, (uint32_t)_mm_movemask_epi8(q2v(fpu_mmx_get(cpu, in->rm & 7))) & 0xff);
        fpu_mmx_enter(cpu);
    }
}

/* MOVMSKPS (0F 50) / MOVMSKPD (66 0F 50), register source */
void op_movmskps_GdUx(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    __m128i s = xv(xreg(cpu, in->rm));
    int m = in->pfx66 ? _mm_movemask_pd(_mm_castsi128_pd(s)) : _mm_movemask_ps(_mm_castsi128_ps(s));
    reg_set(cpu, in->reg, 4, (uint32_t)m);
}

/* MASKMOVQ (0F F7) / MASKMOVDQU (66 0F F7): store the bytes of ModRM.reg
 * whose mask byte (ModRM.rm) has bit 7 set to DS:rDI (segment override
 * allowed).  The span from the first to the last selected byte is checked
 * for writability first so a fault leaves memory untouched; an all-zero
 * mask accesses nothing. */
void op_maskmovq_PqNq(struct cpu *cpu, const struct insn *in)
{
    xmm_t data, mask;
    unsigned n = in->pfx66 ? 16 : 8;
    if (in->pfx66) {
        sse_check(cpu);
        data = *xreg(cpu, in->reg);
        mask = *xreg(cpu, in->rm);
    } else {
        mmx_check(cpu);
        data.q[0] = fpu_mmx_get(cpu, in->reg & 7);
        mask.q[0] = fpu_mmx_get(cpu, in->rm & 7);
        mask.q[1] = 0;
    }
    unsigned bits = (unsigned)_mm_movemask_epi8(xv(&mask)) & ((1u << n) - 1);
    if (bits) {
        uint64_t amask = size_mask(in->asz), base = cpu->r[R_DI] & amask;
        unsigned first = (unsigned)__builtin_ctz(bits), last = 31 - (unsigned)__builtin_clz(bits);
        mem_probe_write(cpu, in->seg, (base + first) & amask, last - first + 1);
        for (unsigned i = first; i <= last; i++)
            if (bits & (1u << i))
                mem_write8(cpu, in->seg, (base + i) & amask, data.b[i]);
    }
    if (!in->pfx66)
        fpu_mmx_enter(cpu);
}

/* EMMS (0F 77): every x87 tag empty */
void op_emms(struct cpu *cpu, const struct insn *in)
{
    mmx_check(cpu);
    fpu_emms(cpu);
}
