/*
 * difftest_sse.c — MMX/SSE templates for the differential tester.
 *
 * The native stub does not load or compare XMM/MMX registers or MXCSR, so
 * every template here is self-contained: it loads its vector inputs from
 * the scratch window (identical on both sides), sets MXCSR from an
 * immediate where the result depends on it, runs one instruction under
 * test and exports the result to what the tester compares: the scratch
 * window (MOVDQU/MOVQ stores, STMXCSR), a general register (MOVD, PMOVMSKB,
 * PEXTRW, CVTTSD2SI, PCMPISTRI's ECX) or the arithmetic flags (PTEST,
 * (U)COMISS/SD, PCMPxSTRI).  MMX templates end with EMMS.
 * Memory operands of the legacy-SSE forms that require 16-byte alignment
 * are picked aligned; unaligned and page-straddling picks exercise MOVDQU.
 */
#include "difftest_sse.h"

/* ---- encoding helpers ---- */

static struct enc sse_enc(unsigned pfx, unsigned map, unsigned opc)
{
    struct enc e = { .plusr = -1, .modrm = true, .map = map, .opc = (uint8_t)opc };
    if (pfx) {
        e.pfx[0] = (uint8_t)pfx;
        e.npfx = 1;
    }
    return e;
}

static unsigned pick_x(struct g *g)
{
    return dg_rn(g, g->m32 ? 8 : 16);
}

static void emit_rr(struct g *g, struct enc e, unsigned reg, unsigned rm)
{
    e.regf = reg;
    e.rm = (struct opnd){ .kind = M_NONE, .reg = rm };
    dg_emit(g, &e);
}

static void emit_rm(struct g *g, struct enc e, unsigned reg, unsigned size, bool align)
{
    struct opnd m = dg_pick_mem(g, size, false, align); /* may emit base setup */
    e.regf = reg;
    e.rm = m;
    dg_emit(g, &e);
}

static void load_x(struct g *g, unsigned x)
{
    emit_rm(g, sse_enc(0xf3, 0x0f, 0x6f), x, 16, false); /* movdqu */
}

static void store_x(struct g *g, unsigned x)
{
    emit_rm(g, sse_enc(0xf3, 0x0f, 0x7f), x, 16, false); /* movdqu */
}

/* MXCSR: masks set, random rounding control, sometimes FTZ/DAZ. */
static void set_mxcsr(struct g *g)
{
    uint32_t v = 0x1f80 | dg_rn(g, 4) << 13;
    if (dg_rn(g, 8) == 0)
        v |= 0x8040;
    struct opnd m = dg_pick_mem(g, 4, false, true);
    struct enc mov = { .plusr = -1, .modrm = true, .opc = 0xc7, .rm = m, .immsz = 4, .imm = v };
    dg_emit(g, &mov);
    struct enc ld = sse_enc(0, 0x0f, 0xae);
    ld.regf = 2; /* LDMXCSR */
    ld.rm = m;
    dg_emit(g, &ld);
}

static void store_mxcsr(struct g *g)
{
    struct enc st = sse_enc(0, 0x0f, 0xae);
    st.regf = 3; /* STMXCSR */
    st.rm = dg_pick_mem(g, 4, false, true);
    dg_emit(g, &st);
}

/* ---- packed integer (66 forms) ---- */

struct vop {
    uint16_t map;
    uint8_t opc, imm; /* imm: 1 = has imm8 */
    const char *name;
};

static const struct vop int_ops[] = {
    { 0x0f, 0xfc, 0, "paddb" },     { 0x0f, 0xfe, 0, "paddd" },     { 0x0f, 0xd4, 0, "paddq" },
    { 0x0f, 0xf8, 0, "psubb" },     { 0x0f, 0xd8, 0, "psubusb" },   { 0x0f, 0xed, 0, "paddsw" },
    { 0x0f, 0x74, 0, "pcmpeqb" },   { 0x0f, 0x76, 0, "pcmpeqd" },   { 0x0f, 0x64, 0, "pcmpgtb" },
    { 0x0f, 0xda, 0, "pminub" },    { 0x0f, 0xee, 0, "pmaxsw" },    { 0x0f, 0xdb, 0, "pand" },
    { 0x0f, 0xdf, 0, "pandn" },     { 0x0f, 0xeb, 0, "por" },       { 0x0f, 0xef, 0, "pxor" },
    { 0x0f, 0xf6, 0, "psadbw" },    { 0x0f, 0xf5, 0, "pmaddwd" },   { 0x0f, 0xe4, 0, "pmulhuw" },
    { 0x0f, 0xf4, 0, "pmuludq" },   { 0x0f, 0xe0, 0, "pavgb" },     { 0x0f, 0x63, 0, "packsswb" },
    { 0x0f, 0x67, 0, "packuswb" },  { 0x0f, 0x60, 0, "punpcklbw" }, { 0x0f, 0x69, 0, "punpckhwd" },
    { 0x0f, 0x6c, 0, "punpcklqdq" }, { 0x0f, 0xd1, 0, "psrlw" },    { 0x0f, 0xe2, 0, "psrad" },
    { 0x0f, 0x70, 1, "pshufd" },    { 0x0f, 0xc6, 1, "shufpd" },    { 0x0f, 0x14, 0, "unpcklpd" },
    { 0x0f38, 0x00, 0, "pshufb" },  { 0x0f38, 0x04, 0, "pmaddubsw" }, { 0x0f38, 0x01, 0, "phaddw" },
    { 0x0f38, 0x1e, 0, "pabsd" },   { 0x0f38, 0x08, 0, "psignb" },  { 0x0f38, 0x29, 0, "pcmpeqq" },
    { 0x0f38, 0x37, 0, "pcmpgtq" }, { 0x0f38, 0x3b, 0, "pminud" },  { 0x0f38, 0x40, 0, "pmulld" },
    { 0x0f38, 0x2b, 0, "packusdw" }, { 0x0f38, 0x20, 0, "pmovsxbw" }, { 0x0f38, 0x35, 0, "pmovzxdq" },
    { 0x0f38, 0x10, 0, "pblendvb" }, { 0x0f38, 0x41, 0, "phminposuw" },
    { 0x0f3a, 0x0f, 1, "palignr" }, { 0x0f3a, 0x0e, 1, "pblendw" }, { 0x0f3a, 0x42, 1, "mpsadbw" },
};

static void t_sse_int(struct g *g)
{
    const struct vop *op = &int_ops[dg_rn(g, sizeof int_ops / sizeof int_ops[0])];
    unsigned a = pick_x(g), b = pick_x(g);
    load_x(g, a);
    load_x(g, b);
    if (op->opc == 0x10 && op->map == 0x0f38)
        load_x(g, 0); /* PBLENDVB's implicit XMM0 mask */
    struct enc e = sse_enc(0x66, op->map, op->opc);
    if (op->imm) {
        e.immsz = 1;
        e.imm = dg_rn(g, 256);
    }
    /* PMOVSX/ZX read less than 16 bytes: no alignment needed */
    bool small = op->map == 0x0f38 && (op->opc & 0xf0) >= 0x20 && (op->opc & 0xf0) <= 0x30 &&
                 (op->opc & 0xf) <= 5 && op->opc != 0x29 && op->opc != 0x2b;
    if (dg_rn(g, 2))
        emit_rr(g, e, a, b);
    else
        emit_rm(g, e, a, small ? 8 : 16, !small);
    store_x(g, a);
    dg_desc(g, "%s ", op->name, 0);
}

/* Shifts by immediate (groups 12-14, register operand) incl. PSLLDQ/PSRLDQ. */
static void t_sse_shift(struct g *g)
{
    static const uint8_t grp[][2] = { { 0x71, 2 }, { 0x71, 4 }, { 0x71, 6 }, { 0x72, 2 },
                                      { 0x72, 4 }, { 0x72, 6 }, { 0x73, 2 }, { 0x73, 3 },
                                      { 0x73, 6 }, { 0x73, 7 } };
    unsigned k = dg_rn(g, 10), x = pick_x(g);
    load_x(g, x);
    struct enc e = sse_enc(0x66, 0x0f, grp[k][0]);
    e.immsz = 1;
    e.imm = dg_rn(g, 3) ? dg_rn(g, 20) : dg_rn(g, 256);
    emit_rr(g, e, grp[k][1], x);
    store_x(g, x);
    dg_desc(g, "pshift%s%u ", "", k);
}

/* ---- floating point ---- */

static void t_sse_fp(struct g *g)
{
    static const uint8_t ops[] = { 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f, 0x51, 0xc2, 0x5a };
    static const uint8_t pfx[] = { 0, 0x66, 0xf3, 0xf2 };
    unsigned opc = ops[dg_rn(g, sizeof ops)], f = dg_rn(g, 4);
    unsigned a = pick_x(g), b = pick_x(g);
    set_mxcsr(g);
    load_x(g, a);
    load_x(g, b);
    struct enc e = sse_enc(pfx[f], 0x0f, opc);
    if (opc == 0xc2) {
        e.immsz = 1;
        e.imm = dg_rn(g, 8);
    }
    unsigned msize = f == 2 ? 4 : f == 3 ? 8 : opc == 0x5a && f == 0 ? 8 : 16;
    if (dg_rn(g, 2))
        emit_rr(g, e, a, b);
    else
        emit_rm(g, e, a, msize, true);
    store_x(g, a);
    store_mxcsr(g);
    dg_desc(g, "fp%s%u ", (const char *[]){ "ps", "pd", "ss", "sd" }[f], opc);
}

/* SSE4.1/SSE3 FP with imm or special shape: ROUNDxx, DPPS/DPPD, HADD, ADDSUB. */
static void t_sse_fp2(struct g *g)
{
    static const struct vop ops[] = {
        { 0x0f3a, 0x08, 1, "roundps" }, { 0x0f3a, 0x0b, 1, "roundsd" }, { 0x0f3a, 0x40, 1, "dpps" },
        { 0x0f3a, 0x41, 1, "dppd" },    { 0x0f, 0x7c, 0, "haddpd" },    { 0x0f, 0xd0, 0, "addsubpd" },
        { 0x0f, 0x5b, 0, "cvtps2dq" },  { 0x0f, 0xe6, 0, "cvttpd2dq" },
    };
    const struct vop *op = &ops[dg_rn(g, sizeof ops / sizeof ops[0])];
    unsigned a = pick_x(g), b = pick_x(g);
    set_mxcsr(g);
    load_x(g, a);
    load_x(g, b);
    struct enc e = sse_enc(0x66, op->map, op->opc);
    if (op->imm) {
        e.immsz = 1;
        e.imm = dg_rn(g, 256);
    }
    if (dg_rn(g, 2) || op->opc == 0x0b)
        emit_rr(g, e, a, b);
    else
        emit_rm(g, e, a, 16, true);
    store_x(g, a);
    store_mxcsr(g);
    dg_desc(g, "%s ", op->name, 0);
}

/* ---- results into general registers and flags ---- */

static void t_sse_gpr(struct g *g)
{
    unsigned k = dg_rn(g, 8), x = pick_x(g), y = pick_x(g);
    unsigned r = dg_pick_dst(g, 4, false);
    bool w = !g->m32 && dg_rn(g, 2);
    load_x(g, x);
    load_x(g, y);
    struct enc e;
    switch (k) {
    case 0: /* PMOVMSKB r32, xmm */
        emit_rr(g, sse_enc(0x66, 0x0f, 0xd7), r, x);
        break;
    case 1: /* MOVD/MOVQ r/m, xmm */
        e = sse_enc(0x66, 0x0f, 0x7e);
        e.w = w;
        emit_rr(g, e, x, r);
        break;
    case 2: /* PEXTRW r32, xmm, imm */
        e = sse_enc(0x66, 0x0f, 0xc5);
        e.immsz = 1;
        e.imm = dg_rn(g, 256);
        emit_rr(g, e, r, x);
        break;
    case 3: /* PTEST */
        emit_rr(g, sse_enc(0x66, 0x0f38, 0x17), x, y);
        dg_fl(g, ALL, 0);
        break;
    case 4: /* UCOMISS / COMISD */
        set_mxcsr(g);
        emit_rr(g, sse_enc(dg_rn(g, 2) ? 0x66 : 0, 0x0f, 0x2e + dg_rn(g, 2)), x, y);
        dg_fl(g, ALL, 0);
        store_mxcsr(g);
        break;
    case 5: /* PCMPISTRI / PCMPESTRI (lengths in EAX/EDX) */
        if (!g->f->sse42)
            return;
        dg_mov_imm(g, 0, (uint64_t)(int64_t)((int)dg_rn(g, 41) - 20));
        dg_mov_imm(g, 2, (uint64_t)(int64_t)((int)dg_rn(g, 41) - 20));
        e = sse_enc(0x66, 0x0f3a, dg_rn(g, 2) ? 0x63 : 0x61);
        e.immsz = 1;
        e.imm = dg_rn(g, 128);
        emit_rr(g, e, x, y);
        dg_fl(g, ALL, 0);
        break;
    case 6: /* CVTTSD2SI / CVTSD2SI r, xmm */
        set_mxcsr(g);
        e = sse_enc(0xf2, 0x0f, 0x2c + dg_rn(g, 2));
        e.w = w;
        emit_rr(g, e, r, x);
        store_mxcsr(g);
        break;
    default: /* CVTSI2SD xmm, r then store */
        set_mxcsr(g);
        e = sse_enc(0xf2, 0x0f, 0x2a);
        e.w = w;
        emit_rr(g, e, x, r);
        store_x(g, x);
        store_mxcsr(g);
        break;
    }
    dg_desc(g, "ssegpr%s%u ", "", k);
}

/* ---- MMX ---- */

static void t_mmx(struct g *g)
{
    static const uint8_t ops[] = { 0xfc, 0xfd, 0xfe, 0xd4, 0xf8, 0xe9, 0xdc, 0xd5, 0xe5, 0xf5,
                                   0x74, 0x65, 0xdb, 0xef, 0x63, 0x67, 0x60, 0x6a, 0xe0, 0xf6,
                                   0xd1, 0xf2, 0xe2, 0xda, 0xee };
    unsigned a = dg_rn(g, 8), b = dg_rn(g, 8);
    emit_rm(g, sse_enc(0, 0x0f, 0x6f), a, 8, false); /* movq mm, m64 */
    emit_rm(g, sse_enc(0, 0x0f, 0x6f), b, 8, false);
    struct enc e = sse_enc(0, 0x0f, ops[dg_rn(g, sizeof ops)]);
    if (dg_rn(g, 2))
        emit_rr(g, e, a, b);
    else
        emit_rm(g, e, a, 8, false);
    emit_rm(g, sse_enc(0, 0x0f, 0x7f), a, 8, false); /* movq m64, mm */
    struct enc emms = { .plusr = -1, .map = 0x0f, .opc = 0x77 };
    dg_emit(g, &emms);
    dg_desc(g, "mmx%s%u ", "", e.opc);
}

const struct dt_sse_template dt_sse_templates[] = {
    { "sse_int", t_sse_int }, { "sse_shift", t_sse_shift }, { "sse_fp", t_sse_fp },
    { "sse_fp2", t_sse_fp2 }, { "sse_gpr", t_sse_gpr },     { "mmx", t_mmx },
};
const unsigned dt_sse_ntemplates = sizeof(dt_sse_templates) / sizeof(dt_sse_templates[0]);
