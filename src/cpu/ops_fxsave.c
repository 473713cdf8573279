/*
 * ops_fxsave.c — FPU/SSE state management: FXSAVE/FXRSTOR (0F AE /0 /1),
 * LDMXCSR/STMXCSR (0F AE /2 /3) and XSAVE/XRSTOR (0F AE /4 /5), each with
 * its REX.W form (FXSAVE64, XSAVE64: 64-bit FIP/FDP, no selectors).
 *
 * Legacy region layout: SDM Vol.1 10.5.1 Table 10-2 / Vol.2 FXSAVE Tables
 * 3-43, 3-46, 3-47: FCW 0, FSW 2, abridged FTW 4, FOP 6, FIP 8, FCS 12,
 * FDP 16, FDS 20, MXCSR 24, MXCSR_MASK 28, ST(i) at 32+16i, XMMi at 160+16i
 * (XMM8-15 only in 64-bit mode).  Bytes 416-511 are never written.
 *
 * XSAVE (SDM Vol.1 13.4-13.8): XCR0 may enable x87 (bit 0) and SSE (bit 1)
 * only; standard (non-compacted) format; XSTATE_BV lives at offset 512.
 * XSAVE writes the components in RFBM = XCR0 & EDX:EAX and sets
 * XSTATE_BV[i] = XINUSE[i] for them (XINUSE is computed from the state:
 * component i is "in use" unless it equals its initial configuration).
 * XRSTOR loads components whose XSTATE_BV bit is set and initializes the
 * other RFBM components; MXCSR is loaded whenever RFBM[1] is set.
 * MXCSR_MASK is FPU_MXCSR_MASK (0xffff, DAZ supported); setting a bit
 * outside it with LDMXCSR, FXRSTOR or XRSTOR raises #GP(0).
 *
 * Every instruction reads its whole source, or probes its whole destination,
 * before changing anything, so a #PF/#GP leaves the state untouched.
 */
#include "cpu/x87_priv.h"

#define FX_SIZE 512
#define XSAVE_HDR 512
#define XSAVE_SIZE 576 /* legacy region + header, components 0 and 1 only */
#define XCR0_X87 1ull
#define XCR0_SSE 2ull

/* Linear address of seg:off for the alignment checks (the base is 0 for
 * ES/CS/SS/DS in 64-bit mode). */
static uint64_t lin_addr(const struct cpu *cpu, int seg, uint64_t off)
{
    if (cpu->code64 && seg < SEG_FS)
        return off;
    return cpu->seg[seg].base + off;
}

/* Misaligned FXSAVE/XSAVE areas raise #GP(0) whatever the segment. */
static uint64_t aligned_ea(struct cpu *cpu, const struct insn *in, unsigned align)
{
    uint64_t ea = insn_ea(cpu, in);
    if (lin_addr(cpu, in->seg, ea) & (align - 1))
        cpu_gp0(cpu);
    return ea;
}

static unsigned xmm_count(const struct cpu *cpu)
{
    return cpu->code64 ? 16 : 8;
}

static bool rex_w(const struct insn *in)
{
    return (in->rex & 8) != 0;
}

/* ---- legacy region pieces ---- */

/* x87 part: bytes 0-23 and 32-159. */
static void x87_image_store(struct fpu *f, uint8_t *b, bool w64)
{
    memset(b, 0, 24);
    put16(b + 0, f->fcw);
    put16(b + 2, f->fsw);
    b[4] = x87_abridged_tag(f);
    put16(b + 6, f->fop & 0x7ffu);
    if (w64) {
        put64(b + 8, f->fip);
        put64(b + 16, f->fdp);
    } else {
        put32(b + 8, (uint32_t)f->fip);
        put16(b + 12, f->fcs);
        put32(b + 16, (uint32_t)f->fdp);
        put16(b + 20, f->fds);
    }
    for (unsigned i = 0; i < 8; i++) {
        memset(b + 32 + 16 * i, 0, 16);
        x87_store_reg_bytes(b + 32 + 16 * i, x87_st(f, i));
    }
}

static void x87_image_load(struct fpu *f, const uint8_t *b, bool w64)
{
    f->fcw = (uint16_t)((get16(b) & FCW_WRITABLE) | FCW_FIXED1);
    f->fsw = get16(b + 2);
    f->fop = get16(b + 6) & 0x7ff;
    if (w64) {
        f->fip = get64(b + 8);
        f->fdp = get64(b + 16);
        f->fcs = f->fds = 0;
    } else {
        f->fip = get32(b + 8);
        f->fcs = get16(b + 12);
        f->fdp = get32(b + 16);
        f->fds = get16(b + 20);
    }
    for (unsigned i = 0; i < 8; i++)
        x87_load_reg_bytes(x87_st(f, i), b + 32 + 16 * i);
    x87_retag(f, b[4]);
    x87_update_es(f);
}

/* SSE part: MXCSR, MXCSR_MASK (24-31) and XMM0..n-1 (160-). */
static void sse_image_store(const struct cpu *cpu, uint8_t *b)
{
    put32(b + 24, cpu->fpu.mxcsr);
    put32(b + 28, FPU_MXCSR_MASK);
    memcpy(b + 160, cpu->fpu.xmm, 16 * xmm_count(cpu));
}

static void check_mxcsr(struct cpu *cpu, uint32_t v)
{
    if (v & ~FPU_MXCSR_MASK)
        cpu_gp0(cpu);
}

/* ---- FXSAVE / FXRSTOR ---- */

/* 0F AE /0.  #NM on CR0.EM or CR0.TS like any x87 instruction. */
void op_fxsave_M(struct cpu *cpu, const struct insn *in)
{
    uint8_t b[FX_SIZE];
    x87_check(cpu);
    uint64_t ea = aligned_ea(cpu, in, 16);
    x87_image_store(&cpu->fpu, b, rex_w(in));
    sse_image_store(cpu, b);
    mem_write_buf(cpu, in->seg, ea, b, 160 + 16 * xmm_count(cpu));
}

/* 0F AE /1 */
void op_fxrstor_M(struct cpu *cpu, const struct insn *in)
{
    uint8_t b[FX_SIZE];
    x87_check(cpu);
    uint64_t ea = aligned_ea(cpu, in, 16);
    unsigned n = 160 + 16 * xmm_count(cpu);
    mem_read_buf(cpu, in->seg, ea, b, n);
    uint32_t mx = get32(b + 24);
    check_mxcsr(cpu, mx);
    x87_image_load(&cpu->fpu, b, rex_w(in));
    cpu->fpu.mxcsr = mx;
    memcpy(cpu->fpu.xmm, b + 160, 16 * xmm_count(cpu));
}

/* ---- LDMXCSR / STMXCSR ---- */

/* #UD unless CR4.OSFXSR and !CR0.EM, #NM on CR0.TS (SDM Vol.2 LDMXCSR). */
static void sse_check(struct cpu *cpu)
{
    if (!(cpu->cr4 & CR4_OSFXSR) || (cpu->cr0 & CR0_EM))
        cpu_ud(cpu);
    if (cpu->cr0 & CR0_TS)
        cpu_fault(cpu, EXC_NM, NO_ERR);
}

/* 0F AE /2 */
void op_ldmxcsr_Md(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    uint32_t v = mem_read32(cpu, in->seg, insn_ea(cpu, in));
    check_mxcsr(cpu, v);
    cpu->fpu.mxcsr = v;
}

/* 0F AE /3 */
void op_stmxcsr_Md(struct cpu *cpu, const struct insn *in)
{
    sse_check(cpu);
    mem_write32(cpu, in->seg, insn_ea(cpu, in), cpu->fpu.mxcsr);
}

/* ---- XSAVE / XRSTOR ---- */

/* #UD unless CR4.OSXSAVE, #NM on CR0.TS (SDM Vol.1 13.7, 13.8). */
static uint64_t xsave_rfbm(struct cpu *cpu)
{
    if (!(cpu->cr4 & CR4_OSXSAVE))
        cpu_ud(cpu);
    if (cpu->cr0 & CR0_TS)
        cpu_fault(cpu, EXC_NM, NO_ERR);
    uint64_t mask = (cpu->r[R_DX] << 32) | (uint32_t)cpu->r[R_AX];
    return cpu->xcr0 & mask & (XCR0_X87 | XCR0_SSE);
}

/* XINUSE (SDM Vol.1 13.6): 0 only when the component is in its initial
 * configuration. */
static uint64_t xinuse(const struct cpu *cpu)
{
    static const uint8_t zero[16];
    const struct fpu *f = &cpu->fpu;
    uint64_t in_use = 0;
    bool x87_init = f->fcw == FCW_INIT && f->fsw == 0 && f->ftw == 0xffff && f->fop == 0 &&
                    f->fip == 0 && f->fdp == 0 && f->fcs == 0 && f->fds == 0;
    for (unsigned p = 0; p < 8 && x87_init; p++)
        x87_init = memcmp(&f->st[p], zero, 10) == 0;
    if (!x87_init)
        in_use |= XCR0_X87;
    bool sse_init = f->mxcsr == MXCSR_INIT;
    for (unsigned i = 0; i < 16 && sse_init; i++)
        sse_init = memcmp(&f->xmm[i], zero, 16) == 0;
    if (!sse_init)
        in_use |= XCR0_SSE;
    return in_use;
}

/* 0F AE /4 */
void op_xsave_M(struct cpu *cpu, const struct insn *in)
{
    uint8_t b[XSAVE_SIZE];
    uint64_t rfbm = xsave_rfbm(cpu);
    uint64_t ea = aligned_ea(cpu, in, 64);
    uint64_t bv = mem_read64(cpu, in->seg, ea + XSAVE_HDR);
    mem_probe_write(cpu, in->seg, ea, XSAVE_HDR + 8);
    if (rfbm & XCR0_X87) {
        x87_image_store(&cpu->fpu, b, rex_w(in));
        mem_write_buf(cpu, in->seg, ea, b, 24);
        mem_write_buf(cpu, in->seg, ea + 32, b + 32, 128);
    }
    if (rfbm & XCR0_SSE) {
        sse_image_store(cpu, b);
        mem_write_buf(cpu, in->seg, ea + 24, b + 24, 8);
        mem_write_buf(cpu, in->seg, ea + 160, b + 160, 16 * xmm_count(cpu));
    }
    bv = (bv & ~rfbm) | (xinuse(cpu) & rfbm);
    mem_write64(cpu, in->seg, ea + XSAVE_HDR, bv);
}

/* 0F AE /5 (standard form only: compaction is not supported). */
void op_xrstor_M(struct cpu *cpu, const struct insn *in)
{
    uint8_t b[XSAVE_SIZE];
    struct fpu *f = &cpu->fpu;
    uint64_t rfbm = xsave_rfbm(cpu);
    uint64_t ea = aligned_ea(cpu, in, 64);
    mem_read_buf(cpu, in->seg, ea, b, XSAVE_SIZE);
    uint64_t bv = get64(b + XSAVE_HDR);
    /* SDM Vol.1 13.8.1: XSTATE_BV beyond XCR0, or header bytes 23:8 (XCOMP_BV
     * and the next 8 bytes) not zero, raise #GP(0). */
    if ((bv & ~cpu->xcr0) || get64(b + XSAVE_HDR + 8) || get64(b + XSAVE_HDR + 16))
        cpu_gp0(cpu);
    uint32_t mx = get32(b + 24);
    if (rfbm & XCR0_SSE)
        check_mxcsr(cpu, mx);
    if (rfbm & XCR0_X87) {
        if (bv & XCR0_X87) {
            x87_image_load(f, b, rex_w(in));
        } else {
            x87_init_state(f);
            memset(f->st, 0, sizeof(f->st));
        }
    }
    if (rfbm & XCR0_SSE) {
        f->mxcsr = mx;
        if (bv & XCR0_SSE)
            memcpy(f->xmm, b + 160, 16 * xmm_count(cpu));
        else
            memset(f->xmm, 0, 16 * xmm_count(cpu));
    }
}
