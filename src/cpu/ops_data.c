/*
 * ops_data.c — data movement and miscellaneous integer instructions:
 * MOV (all non-segment forms), MOVZX/MOVSX/MOVSXD, LEA, XCHG, CMPXCHG,
 * CMPXCHG8B/16B, XADD, CMOVcc, SETcc, CBW/CWDE/CDQE, CWD/CDQ/CQO,
 * LAHF/SAHF, CMC/CLC/STC/CLD/STD, XLAT, the BCD adjusts, NOPs, PAUSE and
 * the UDn opcodes.
 *
 * Notes (SDM Vol.2 instruction pages):
 *  - XCHG with a memory operand is locked whether or not LOCK is given.
 *  - CMPXCHG writes the destination back on failure (a memory operand is
 *    therefore always checked for writability); for a register destination
 *    we leave it untouched on failure and only load the accumulator.
 *  - CMPXCHG16B needs a 16-byte aligned operand (#GP(0) otherwise).
 *  - CMOVcc with a 32-bit operand zero-extends the destination even when
 *    the condition is false; the source is read (and may fault) either way.
 *  - 90 (without REX.B) is NOP, not XCHG eAX,eAX: it does not clear the
 *    upper half of RAX in 64-bit mode.
 */
#include "cpu/fastpath.h"
#include "cpu/mem.h"
#include "cpu/ops_int.h"

#define H(name) void name(struct cpu *cpu, const struct insn *in)

/* ---- MOV ---- */

H(op_mov_EbGb) { op_write_rm(cpu, in, 1, op_read_reg(cpu, in, 1)); }
H(op_mov_EvGv) { op_write_rm(cpu, in, in->osz, op_read_reg(cpu, in, in->osz)); }
H(op_mov_GbEb) { op_write_reg(cpu, in, 1, op_read_rm(cpu, in, 1)); }
H(op_mov_GvEv) { op_write_reg(cpu, in, in->osz, op_read_rm(cpu, in, in->osz)); }
H(op_mov_EbIb) { op_write_rm(cpu, in, 1, in->imm); }
H(op_mov_EvIz) { op_write_rm(cpu, in, in->osz, in->imm); }
H(op_mov_ZbIb) { reg8_set(cpu, in->rm, in->rex != 0, (uint8_t)in->imm); }
H(op_mov_ZvIv) { reg_set(cpu, in->rm, in->osz, in->imm); }

/* A0-A3: the moffs offset is the immediate, address-size wide. */
static inline uint64_t moffs(const struct insn *in)
{
    return in->imm & size_mask(in->asz);
}
H(op_mov_ALOb) { reg8_set(cpu, R_AX, false, mem_read8(cpu, in->seg, moffs(in))); }
H(op_mov_rAXOv) { reg_set(cpu, R_AX, in->osz, mem_read(cpu, in->seg, moffs(in), in->osz)); }
H(op_mov_ObAL) { mem_write8(cpu, in->seg, moffs(in), (uint8_t)cpu->r[R_AX]); }
H(op_mov_OvrAX) { mem_write(cpu, in->seg, moffs(in), in->osz, cpu->r[R_AX]); }

/* ---- widening moves, LEA ---- */

H(op_movzx_GvEb) { reg_set(cpu, in->reg, in->osz, op_read_rm(cpu, in, 1)); }
H(op_movzx_GvEw) { reg_set(cpu, in->reg, in->osz, op_read_rm(cpu, in, 2)); }
static inline void movsx(struct cpu *cpu, const struct insn *in, unsigned from)
{
    reg_set(cpu, in->reg, in->osz, (uint64_t)sign_extend(op_read_rm(cpu, in, from), from));
}
H(op_movsx_GvEb) { movsx(cpu, in, 1); }
H(op_movsx_GvEw) { movsx(cpu, in, 2); }

/* 63 in 64-bit mode: with REX.W sign-extend a dword; otherwise a plain
 * operand-size move (SDM "MOVSXD": "use without REX.W is discouraged"). */
H(op_movsxd_GvEd)
{
    if (in->osz == 8)
        reg_set(cpu, in->reg, 8, (uint64_t)sign_extend(op_read_rm(cpu, in, 4), 4));
    else
        reg_set(cpu, in->reg, in->osz, op_read_rm(cpu, in, in->osz));
}

/* The register form has no table row (#UD). */
H(op_lea_GvM) { reg_set(cpu, in->reg, in->osz, insn_ea(cpu, in)); }

/* ---- exchanges ---- */

/* XCHG r/m, reg: a memory operand is always exchanged atomically. */
static inline void xchg_rm(struct cpu *cpu, const struct insn *in, unsigned size)
{
    int_lock_check(cpu, in);
    uint64_t s = op_read_reg(cpu, in, size);
    struct rmw m;
    uint64_t d = int_rmw_begin(cpu, in, size, &m);
    if (m.reg != 0xff)
        int_rmw_commit(cpu, &m, s);
    else
        while (!rmw_cas(cpu, &m, &d, s))
            ;
    op_write_reg(cpu, in, size, d);
}
H(op_xchg_EbGb) { xchg_rm(cpu, in, 1); }
H(op_xchg_EvGv) { xchg_rm(cpu, in, in->osz); }

/* 90+r: XCHG rAX, r; 90 itself (r == 0, no REX.B) is NOP. */
H(op_xchg_ZvrAX)
{
    unsigned r = in->rm;
    if (r == R_AX)
        return;
    uint64_t a = reg_get(cpu, R_AX, in->osz);
    reg_set(cpu, R_AX, in->osz, reg_get(cpu, r, in->osz));
    reg_set(cpu, r, in->osz, a);
}

/* F3 90: a spin-loop hint; nothing to do in the engine (PAUSE exiting is
 * applied by exec.c from the row's exit class).  With REX.B it is XCHG. */
H(op_pause) { op_xchg_ZvrAX(cpu, in); }

/* CMPXCHG r/m, reg (0F B0/B1). */
static inline void cmpxchg_rm(struct cpu *cpu, const struct insn *in, unsigned size)
{
    int_lock_check(cpu, in);
    uint64_t mask = size_mask(size);
    uint64_t acc = cpu->r[R_AX] & mask;
    uint64_t s = op_read_reg(cpu, in, size);
    struct rmw m;
    uint64_t d = int_rmw_begin(cpu, in, size, &m);
    bool eq;
    if (m.reg != 0xff) {
        eq = d == acc;
        if (eq)
            int_rmw_commit(cpu, &m, s);
    } else if (unlikely(in->lock)) {
        uint64_t cur = acc;
        eq = rmw_cas(cpu, &m, &cur, s);
        d = eq ? acc : cur & mask;
    } else {
        eq = d == acc;
        rmw_commit(cpu, &m, eq ? s : d);
    }
    if (!eq) {
        if (size == 1)
            reg8_set(cpu, R_AX, false, (uint8_t)d);
        else
            reg_set(cpu, R_AX, size, d);
    }
    flags_lazy(cpu, LF_SUB, size, acc, d, (acc - d) & mask);
}
H(op_cmpxchg_EbGb) { cmpxchg_rm(cpu, in, 1); }
H(op_cmpxchg_EvGv) { cmpxchg_rm(cpu, in, in->osz); }

/* CMPXCHG8B m64: compare EDX:EAX, store ECX:EBX (always atomic here). */
H(op_cmpxchg8b_Mq)
{
    struct rmw m;
    rmw_begin_mem(cpu, in->seg, insn_ea(cpu, in), 8, &m);
    uint64_t expect = (cpu->r[R_DX] << 32) | (uint32_t)cpu->r[R_AX];
    uint64_t cur = expect;
    bool ok = rmw_cas(cpu, &m, &cur, (cpu->r[R_CX] << 32) | (uint32_t)cpu->r[R_BX]);
    if (!ok) {
        reg_set(cpu, R_AX, 4, cur);
        reg_set(cpu, R_DX, 4, cur >> 32);
    }
    flags_set(cpu, FL_ZF, ok ? FL_ZF : 0);
}

/* CMPXCHG16B m128 (REX.W): RDX:RAX vs memory, store RCX:RBX. */
H(op_cmpxchg16b_Mdq)
{
    uint64_t ea = insn_ea(cpu, in);
    if (seg_linear(cpu, in->seg, ea, 16, ACC_WRITE) & 15)
        cpu_gp0(cpu);
    /* Probe both halves for writing; the 16-byte aligned operand lies in
     * one page, so the host pointer of the low half covers all of it. */
    struct rmw m;
    rmw_begin_mem(cpu, in->seg, ea + 8, 8, &m);
    rmw_begin_mem(cpu, in->seg, ea, 8, &m);
    uint64_t old[2] = { cpu->r[R_AX], cpu->r[R_DX] };
    const uint64_t nv[2] = { cpu->r[R_BX], cpu->r[R_CX] };
    bool ok = rmw_cas128(cpu, &m, old, nv);
    if (!ok) {
        cpu->r[R_AX] = old[0];
        cpu->r[R_DX] = old[1];
    }
    flags_set(cpu, FL_ZF, ok ? FL_ZF : 0);
}

/* XADD r/m, reg: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP. */
static inline void xadd_rm(struct cpu *cpu, const struct insn *in, unsigned size)
{
    int_lock_check(cpu, in);
    uint64_t mask = size_mask(size);
    uint64_t s = op_read_reg(cpu, in, size);
    struct rmw m;
    uint64_t d = int_rmw_begin(cpu, in, size, &m);
    uint64_t r = (d + s) & mask;
    if (m.reg != 0xff) {
        op_write_reg(cpu, in, size, d); /* the destination is written last */
        int_rmw_commit(cpu, &m, r);
    } else {
        if (unlikely(in->lock)) {
            while (!rmw_cas(cpu, &m, &d, r))
                r = (d + s) & mask;
        } else {
            rmw_commit(cpu, &m, r);
        }
        op_write_reg(cpu, in, size, d);
    }
    flags_lazy(cpu, LF_ADD, size, d, s, r);
}
H(op_xadd_EbGb) { xadd_rm(cpu, in, 1); }
H(op_xadd_EvGv) { xadd_rm(cpu, in, in->osz); }

/* ---- conditional moves and sets ---- */

H(op_cmovcc_GvEv)
{
    uint64_t s = op_read_rm(cpu, in, in->osz);
    if (cpu_cond(cpu, in->opc & 15))
        reg_set(cpu, in->reg, in->osz, s);
    else if (in->osz == 4)
        cpu->r[in->reg] = (uint32_t)cpu->r[in->reg];
}

H(op_setcc_Eb) { op_write_rm(cpu, in, 1, cpu_cond(cpu, in->opc & 15)); }

/* ---- accumulator conversions ---- */

H(op_cbw)
{
    unsigned half = in->osz / 2;
    reg_set(cpu, R_AX, in->osz, (uint64_t)sign_extend(cpu->r[R_AX], half));
}

H(op_cwd)
{
    bool neg = (cpu->r[R_AX] >> (in->osz * 8 - 1)) & 1;
    reg_set(cpu, R_DX, in->osz, neg ? ~0ull : 0);
}

/* ---- flag transfer and control ---- */

#define FL_LAHF (FL_SF | FL_ZF | FL_AF | FL_PF | FL_CF)

H(op_lahf)
{
    uint8_t ah = (uint8_t)((cpu_get_rflags(cpu) & FL_LAHF) | 2);
    reg8_set(cpu, 4, false, ah); /* AH */
}

H(op_sahf) { flags_set(cpu, FL_LAHF, (cpu->r[R_AX] >> 8) & FL_LAHF); }
H(op_cmc) { flags_set(cpu, FL_CF, cpu_cf(cpu) ? 0 : FL_CF); }
H(op_clc) { flags_set(cpu, FL_CF, 0); }
H(op_stc) { flags_set(cpu, FL_CF, FL_CF); }
H(op_cld) { cpu->rflags &= ~(uint64_t)FL_DF; }
H(op_std) { cpu->rflags |= FL_DF; }

/* XLAT: AL = [seg:rBX + AL] (address-size wrap). */
H(op_xlat)
{
    uint64_t off = (cpu->r[R_BX] + (uint8_t)cpu->r[R_AX]) & size_mask(in->asz);
    reg8_set(cpu, R_AX, false, mem_read8(cpu, in->seg, off));
}

/* ---- BCD adjusts (legacy and compatibility modes; SDM pseudocode) ---- */

static inline void bcd_set(struct cpu *cpu, uint64_t mask, uint8_t al, bool af, bool cf)
{
    reg8_set(cpu, R_AX, false, al);
    flags_set(cpu, mask, int_szp(al, 1) | (af ? FL_AF : 0) | (cf ? FL_CF : 0));
}

/* DAA/DAS: OF is undefined (left unchanged). */
static inline void daa_das(struct cpu *cpu, bool sub)
{
    uint8_t al = (uint8_t)cpu->r[R_AX], old_al = al;
    bool old_cf = cpu_cf(cpu), af = (cpu_get_rflags(cpu) & FL_AF) != 0, cf = false;
    if ((al & 0xf) > 9 || af) {
        cf = old_cf || (sub ? al < 6 : al > 0xf9);
        al = (uint8_t)(sub ? al - 6 : al + 6);
        af = true;
    } else {
        af = false;
    }
    if (old_al > 0x99 || old_cf) {
        al = (uint8_t)(sub ? al - 0x60 : al + 0x60);
        cf = true;
    } else if (!sub) {
        cf = false;
    }
    bcd_set(cpu, FL_SF | FL_ZF | FL_PF | FL_AF | FL_CF, al, af, cf);
}
H(op_daa) { daa_das(cpu, false); }
H(op_das) { daa_das(cpu, true); }

/* AAA/AAS: only AF and CF are defined; OF/SF/ZF/PF left unchanged. */
static inline void aaa_aas(struct cpu *cpu, bool sub)
{
    uint16_t ax = (uint16_t)cpu->r[R_AX];
    bool adj = (ax & 0xf) > 9 || (cpu_get_rflags(cpu) & FL_AF);
    if (adj) {
        if (sub) {
            ax = (uint16_t)(ax - 6);
            ax = (uint16_t)(ax - 0x100);
        } else {
            ax = (uint16_t)(ax + 0x106);
        }
    }
    ax &= 0xff0f;
    reg_set(cpu, R_AX, 2, ax);
    flags_set(cpu, FL_AF | FL_CF, adj ? FL_AF | FL_CF : 0);
}
H(op_aaa) { aaa_aas(cpu, false); }
H(op_aas) { aaa_aas(cpu, true); }

/* AAM/AAD imm8: SF/ZF/PF from AL; OF/AF/CF undefined (cleared). */
H(op_aam_Ib)
{
    uint8_t base = (uint8_t)in->imm, al = (uint8_t)cpu->r[R_AX];
    if (base == 0)
        cpu_fault(cpu, EXC_DE, NO_ERR);
    uint8_t q = al / base, r = al % base;
    reg_set(cpu, R_AX, 2, (uint16_t)(q << 8 | r));
    flags_set(cpu, FL_ARITH, int_szp(r, 1));
}

H(op_aad_Ib)
{
    uint8_t base = (uint8_t)in->imm;
    uint8_t al = (uint8_t)(cpu->r[R_AX] + ((cpu->r[R_AX] >> 8) & 0xff) * base);
    reg_set(cpu, R_AX, 2, al);
    flags_set(cpu, FL_ARITH, int_szp(al, 1));
}

/* SALC (D6): undocumented in the SDM's opcode map but executed by Intel and
 * AMD processors outside 64-bit mode: AL = CF ? FFH : 00H, flags unchanged. */
H(op_salc) { reg8_set(cpu, R_AX, false, cpu_cf(cpu) ? 0xff : 0); }

/* ---- NOPs and undefined opcodes ---- */

/* 0F 18-1F (hint NOPs, multi-byte NOP) and PREFETCHW: no memory access. */
H(op_nop_Ev) {}

/* UD2, UD1, UD0: always #UD. */
H(op_ud) { cpu_ud(cpu); }

/* ---- specialised forms (fastpath.h) ----
 * Register forms and flat 64-bit memory forms of the moves, with the
 * operand size fixed at decode time; a TLB miss runs the generic handler. */

/* Read the r/m operand; false if the generic handler ran instead. */
static inline __attribute__((always_inline)) bool mov_fast_src(struct cpu *cpu,
                                                              const struct insn *in,
                                                              unsigned size, uint64_t *v)
{
    void *p = fp_host(cpu, in, size, false);
    if (unlikely(!p))
        return fp_generic(cpu, in);
    *v = fp_load(p, size);
    return true;
}

static inline __attribute__((always_inline)) bool mov_fast_store(struct cpu *cpu,
                                                                const struct insn *in,
                                                                unsigned size, uint64_t v)
{
    void *p = fp_host(cpu, in, size, true);
    if (unlikely(!p))
        return fp_generic(cpu, in);
    fp_store(p, size, v);
    return true;
}

/* MOV Ev,Gv / Eb,Gb / Ev,Iz / Eb,Ib */
FP_H(mov_EvGv_r64) { cpu->r[in->rm] = cpu->r[in->reg]; return true; }
FP_H(mov_EvGv_r32) { cpu->r[in->rm] = (uint32_t)cpu->r[in->reg]; return true; }
FP_H(mov_EvGv_m64) { return mov_fast_store(cpu, in, 8, cpu->r[in->reg]); }
FP_H(mov_EvGv_m32) { return mov_fast_store(cpu, in, 4, cpu->r[in->reg]); }
FP_H(mov_EbGb_r) { fp_set_reg(cpu, in->rm, 1, cpu->r[in->reg]); return true; }
FP_H(mov_EbGb_m) { return mov_fast_store(cpu, in, 1, cpu->r[in->reg]); }
FP_H(mov_EvIz_r64) { cpu->r[in->rm] = in->imm; return true; }
FP_H(mov_EvIz_r32) { cpu->r[in->rm] = (uint32_t)in->imm; return true; }
FP_H(mov_EvIz_m64) { return mov_fast_store(cpu, in, 8, in->imm); }
FP_H(mov_EvIz_m32) { return mov_fast_store(cpu, in, 4, in->imm); }
FP_H(mov_EbIb_r) { fp_set_reg(cpu, in->rm, 1, in->imm); return true; }
FP_H(mov_EbIb_m) { return mov_fast_store(cpu, in, 1, in->imm); }
FP_H(mov_ZvIv_64) { cpu->r[in->rm] = in->imm; return true; }
FP_H(mov_ZvIv_32) { cpu->r[in->rm] = (uint32_t)in->imm; return true; }

/* Loads into ModRM.reg: 'conv' turns the source into the 64-bit register
 * value (operand size 4 zero-extends; byte destinations merge). */
#define MOV_LOAD(name, size, conv)                                                 \
    FP_H(name##_r)                                                                 \
    {                                                                              \
        uint64_t v = fp_reg(cpu, in->rm, size);                                    \
        conv;                                                                      \
        return true;                                                               \
    }                                                                              \
    FP_H(name##_m)                                                                 \
    {                                                                              \
        uint64_t v;                                                                \
        if (!mov_fast_src(cpu, in, size, &v))                                      \
            return false;                                                          \
        conv;                                                                      \
        return true;                                                               \
    }

MOV_LOAD(mov_GvEv64, 8, cpu->r[in->reg] = v)
MOV_LOAD(mov_GvEv32, 4, cpu->r[in->reg] = v)
MOV_LOAD(mov_GbEb, 1, fp_set_reg(cpu, in->reg, 1, v))
MOV_LOAD(movzx_GvEb, 1, cpu->r[in->reg] = v)
MOV_LOAD(movzx_GvEw, 2, cpu->r[in->reg] = v)
MOV_LOAD(movsx_GvEb64, 1, cpu->r[in->reg] = (uint64_t)(int64_t)(int8_t)v)
MOV_LOAD(movsx_GvEb32, 1, cpu->r[in->reg] = (uint32_t)(int32_t)(int8_t)v)
MOV_LOAD(movsx_GvEw64, 2, cpu->r[in->reg] = (uint64_t)(int64_t)(int16_t)v)
MOV_LOAD(movsx_GvEw32, 2, cpu->r[in->reg] = (uint32_t)(int32_t)(int16_t)v)
MOV_LOAD(movsxd_GvEd64, 4, cpu->r[in->reg] = (uint64_t)(int64_t)(int32_t)v)

/* LEA with 64-bit addressing */
FP_H(lea_GvM_64) { cpu->r[in->reg] = fp_ea(cpu, in); return true; }
FP_H(lea_GvM_32) { cpu->r[in->reg] = (uint32_t)fp_ea(cpu, in); return true; }

/* CMOVcc Gv,Ev and SETcc Eb, compiled once per condition so that only the
 * flags the condition reads are evaluated (lazy_flags.h).  CMOVcc with a
 * 32-bit operand writes (zero-extends) the destination either way. */
#define CC_FORMS(cc, name)                                                          \
    MOV_LOAD(cmov##name##64, 8, if (lf_cond(cpu, cc)) cpu->r[in->reg] = v)          \
    MOV_LOAD(cmov##name##32, 4,                                                     \
             cpu->r[in->reg] = lf_cond(cpu, cc) ? v : (uint32_t)cpu->r[in->reg])    \
    FP_H(set##name##_r)                                                             \
    {                                                                               \
        fp_set_reg(cpu, in->rm, 1, lf_cond(cpu, cc));                               \
        return true;                                                                \
    }                                                                               \
    FP_H(set##name##_m) { return mov_fast_store(cpu, in, 1, lf_cond(cpu, cc)); }
CC_FORMS(0, o)
CC_FORMS(1, no)
CC_FORMS(2, b)
CC_FORMS(3, ae)
CC_FORMS(4, e)
CC_FORMS(5, ne)
CC_FORMS(6, be)
CC_FORMS(7, a)
CC_FORMS(8, s)
CC_FORMS(9, ns)
CC_FORMS(10, p)
CC_FORMS(11, np)
CC_FORMS(12, l)
CC_FORMS(13, ge)
CC_FORMS(14, le)
CC_FORMS(15, g)

#define CC_TABLE(form)                                                               \
    {                                                                                \
        form(o), form(no), form(b), form(ae), form(e), form(ne), form(be), form(a),  \
        form(s), form(ns), form(p), form(np), form(l), form(ge), form(le), form(g)   \
    }
#define CMOV_R64(n) cmov##n##64_r
#define CMOV_R32(n) cmov##n##32_r
#define CMOV_M64(n) cmov##n##64_m
#define CMOV_M32(n) cmov##n##32_m
#define SET_R(n) set##n##_r
#define SET_M(n) set##n##_m
static op_fn *const cmov_fast[4][16] = { CC_TABLE(CMOV_R64), CC_TABLE(CMOV_R32),
                                         CC_TABLE(CMOV_M64), CC_TABLE(CMOV_M32) };
static op_fn *const set_fast[2][16] = { CC_TABLE(SET_R), CC_TABLE(SET_M) };

/* The generic picker's form rules (fastpath.c), with the condition from the
 * opcode's low nibble. */
static op_fn *pick_cmov(const struct op_special *s, const struct cpu *cpu, const struct insn *in)
{
    if (in->osz != 8 && in->osz != 4)
        return NULL;
    unsigned sz = in->osz == 8 ? 0 : 1;
    if (in->mod == 3)
        return cmov_fast[sz][in->opc & 15];
    if (!cpu->code64 || in->asz != 8)
        return NULL;
    return cmov_fast[2 + sz][in->opc & 15];
}

static op_fn *pick_setcc(const struct op_special *s, const struct cpu *cpu, const struct insn *in)
{
    if (in->mod == 3)
        return in->rex || in->rm < 4 ? set_fast[0][in->opc & 15] : NULL;
    if (!cpu->code64 || in->asz != 8)
        return NULL;
    return set_fast[1][in->opc & 15];
}

#define SP_MOV(g, r64, r32, m64, m32, fl) { g, { r64, r32 }, { m64, m32 }, NULL, fl }

/* NOPs (90 without REX.B, i.e. XCHG eAX with itself; 0F 18-1F, no memory
 * access): nothing to do, but as variants they let runs of specialised
 * handlers and translated code (jit.c) go on past them. */
FP_H(nop_v) { return true; }

static op_fn *pick_nop(const struct op_special *s, const struct cpu *cpu, const struct insn *in)
{
    if (insn_row(in)->map == M1 && in->rm != R_AX)
        return NULL; /* 91-97, or 90 with REX.B: a real XCHG */
    return s->reg[0];
}

const struct op_special ops_data_special[] = {
    { op_xchg_ZvrAX, { nop_v, NULL }, { NULL, NULL }, pick_nop, 0 },
    { op_nop_Ev, { nop_v, NULL }, { NULL, NULL }, pick_nop, 0 },
    SP_MOV(op_mov_EvGv, mov_EvGv_r64, mov_EvGv_r32, mov_EvGv_m64, mov_EvGv_m32, 0),
    SP_MOV(op_mov_GvEv, mov_GvEv64_r, mov_GvEv32_r, mov_GvEv64_m, mov_GvEv32_m, 0),
    SP_MOV(op_mov_EbGb, mov_EbGb_r, NULL, mov_EbGb_m, NULL, SP_ANYSZ | SP_RM8 | SP_REG8),
    SP_MOV(op_mov_GbEb, mov_GbEb_r, NULL, mov_GbEb_m, NULL, SP_ANYSZ | SP_RM8 | SP_REG8),
    SP_MOV(op_mov_EvIz, mov_EvIz_r64, mov_EvIz_r32, mov_EvIz_m64, mov_EvIz_m32, 0),
    SP_MOV(op_mov_EbIb, mov_EbIb_r, NULL, mov_EbIb_m, NULL, SP_ANYSZ | SP_RM8),
    { op_mov_ZvIv, { mov_ZvIv_64, mov_ZvIv_32 }, { NULL, NULL }, sp_pick_osz, 0 },
    SP_MOV(op_movzx_GvEb, movzx_GvEb_r, movzx_GvEb_r, movzx_GvEb_m, movzx_GvEb_m, SP_RM8),
    SP_MOV(op_movzx_GvEw, movzx_GvEw_r, movzx_GvEw_r, movzx_GvEw_m, movzx_GvEw_m, 0),
    SP_MOV(op_movsx_GvEb, movsx_GvEb64_r, movsx_GvEb32_r, movsx_GvEb64_m, movsx_GvEb32_m, SP_RM8),
    SP_MOV(op_movsx_GvEw, movsx_GvEw64_r, movsx_GvEw32_r, movsx_GvEw64_m, movsx_GvEw32_m, 0),
    SP_MOV(op_movsxd_GvEd, movsxd_GvEd64_r, NULL, movsxd_GvEd64_m, NULL, 0),
    { op_cmovcc_GvEv, { NULL, NULL }, { NULL, NULL }, pick_cmov, 0 },
    SP_MOV(op_lea_GvM, NULL, NULL, lea_GvM_64, lea_GvM_32, 0),
    { op_setcc_Eb, { NULL, NULL }, { NULL, NULL }, pick_setcc, 0 },
    { 0 },
};
