/*
 * dt_enc.c — the differential tester's instruction encoder and operand
 * pickers (see dt_gen.c for the overview), plus the random initial state.
 */
#include <stdio.h>
#include <string.h>

#include "dt_gen_priv.h"

uint64_t dt_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

uint64_t dg_rnd(struct g *g)
{
    g->rng = dt_mix(g->rng);
    return g->rng;
}

unsigned dg_rn(struct g *g, unsigned n)
{
    return (unsigned)(dg_rnd(g) % n);
}

/* An "interesting" value of a given size. */
uint64_t dg_rval(struct g *g, unsigned size)
{
    uint64_t m = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1, top = 1ull << (size * 8 - 1);
    switch (dg_rn(g, 8)) {
    case 0: return 0;
    case 1: return m;
    case 2: return top;
    case 3: return top - 1;
    case 4: return dg_rn(g, 256);
    case 5: return (m - dg_rn(g, 256)) & m;
    default: return dg_rnd(g) & m;
    }
}

/* An address in the scratch window with 'margin' bytes free on both sides. */
uint64_t dg_scr_addr(struct g *g, unsigned margin)
{
    return DT_SCR + margin + dg_rn(g, DT_SCR_SIZE - 2 * margin);
}

void dg_desc(struct g *g, const char *fmt, const char *a, unsigned b)
{
    size_t n = strlen(g->s->desc);
    if (n + 64 < sizeof(g->s->desc))
        snprintf(g->s->desc + n, sizeof(g->s->desc) - n, fmt, a, b);
}

/* ---- flags bookkeeping ---- */

void dg_begin(struct g *g)
{
    struct dt_seq *s = g->s;
    if (s->ninsn < DT_MAX_INSN) {
        s->insn_off[s->ninsn] = (uint16_t)s->len;
        s->undef_before[s->ninsn] = g->undef;
    }
    s->ninsn++;
}

/* The instruction just emitted defines 'def' and leaves 'undef' undefined. */
void dg_fl(struct g *g, uint32_t def, uint32_t undef)
{
    g->undef = (g->undef & ~(def | undef)) | undef;
}

/* ---- encoder ---- */




static void byte(struct g *g, uint8_t b)
{
    if (g->s->len < DT_MAX_CODE)
        g->s->code[g->s->len++] = b;
}

static void bytes(struct g *g, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        byte(g, (uint8_t)(v >> (8 * i)));
}

void dg_emit(struct g *g, const struct enc *e)
{
    dg_begin(g);
    /* Prefix noise: ignored segment overrides in 64-bit mode. */
    if (dg_rn(g, 16) == 0) /* (not CS outside 64-bit mode: writes would fault) */
        byte(g, (uint8_t[]){ 0x2e, 0x3e, 0x26, 0x36 }[dg_rn(g, 4) | g->m32]);
    if (e->lock)
        byte(g, 0xf0);
    for (unsigned i = 0; i < e->npfx; i++)
        byte(g, e->pfx[i]);
    if (e->modrm && e->rm.kind != M_NONE && e->rm.a32)
        byte(g, 0x67);
    unsigned rex = 0x40 | (e->w ? 8 : 0) | ((e->regf >> 3) & 1) << 2;
    if (e->modrm) {
        if (e->rm.kind == M_NONE)
            rex |= (e->rm.reg >> 3) & 1;
        else if (e->rm.kind == M_BASE)
            rex |= ((e->rm.index >> 3) & 1) << 1 | ((e->rm.base >> 3) & 1);
    } else if (e->plusr >= 0) {
        rex |= ((unsigned)e->plusr >> 3) & 1;
    }
    if ((rex != 0x40 || e->force_rex) && !g->m32)
        byte(g, (uint8_t)rex);
    if (e->map) {
        byte(g, 0x0f);
        if (e->map > 0xff)
            byte(g, (uint8_t)e->map);
    }
    byte(g, (uint8_t)(e->opc + (e->plusr >= 0 ? (e->plusr & 7) : 0)));
    int rip_patch = -1;
    if (e->modrm) {
        unsigned reg = (e->regf & 7) << 3;
        const struct opnd *o = &e->rm;
        switch (o->kind) {
        case M_NONE: byte(g, (uint8_t)(0xc0 | reg | (o->reg & 7))); break;
        case M_ABS:
            byte(g, (uint8_t)(0x04 | reg));
            byte(g, 0x25);
            bytes(g, o->addr, 4);
            break;
        case M_RSP:
            byte(g, (uint8_t)(0x44 | reg));
            byte(g, 0x24);
            byte(g, (uint8_t)(o->addr - DT_RSP));
            break;
        case M_RIP: /* [disp32]: RIP-relative in 64-bit mode, absolute otherwise */
            byte(g, (uint8_t)(0x05 | reg));
            rip_patch = g->m32 ? -1 : (int)g->s->len;
            bytes(g, g->m32 ? o->addr : 0, 4);
            break;
        default: { /* M_BASE: always SIB, disp8 or disp32 */
            bool d8 = o->disp >= -128 && o->disp < 128;
            byte(g, (uint8_t)((d8 ? 0x44 : 0x84) | reg));
            byte(g, (uint8_t)(o->scale << 6 | (o->index & 7) << 3 | (o->base & 7)));
            bytes(g, (uint64_t)(int64_t)o->disp, d8 ? 1 : 4);
            break;
        }
        }
    }
    bytes(g, e->imm, e->immsz);
    if (rip_patch >= 0 && (unsigned)rip_patch + 4 <= g->s->len) {
        uint32_t d = (uint32_t)(e->rm.addr - (DT_CODE + g->s->len));
        memcpy(&g->s->code[rip_patch], &d, 4);
    }
}

/* MOV r, imm: B8+r imm32 (zero-extends) or REX.W C7 /0 simm32 or REX.W B8+r imm64. */
void dg_mov_imm(struct g *g, unsigned r, uint64_t v)
{
    struct enc e = { .plusr = -1 };
    if (v <= 0xffffffffull || g->m32) {
        e.opc = 0xb8;
        e.plusr = (int)r;
        e.immsz = 4;
    } else if ((uint64_t)(int64_t)(int32_t)v == v) {
        e.w = true;
        e.opc = 0xc7;
        e.modrm = true;
        e.rm.reg = r;
        e.immsz = 4;
    } else {
        e.w = true;
        e.opc = 0xb8;
        e.plusr = (int)r;
        e.immsz = 8;
    }
    e.imm = v;
    dg_emit(g, &e);
}

/* Make every flag in 'mask' defined (CMP r, r sets all six). */
void dg_need(struct g *g, uint32_t mask)
{
    if (!(g->undef & mask))
        return;
    struct enc e = { .plusr = -1, .opc = 0x39, .modrm = true, .w = true };
    e.regf = dg_rn(g, 16);
    e.rm.reg = dg_rn(g, 16);
    dg_emit(g, &e);
    dg_fl(g, ALL, 0);
}

/* ---- operand choice ---- */

/* Registers usable for an instruction: 'legacy' byte mode (no REX; 4-7 are
 * AH..BH) allows 0-7 only. */
unsigned dg_pick_src(struct g *g, bool legacy)
{
    return dg_rn(g, legacy || g->m32 ? 8 : 16);
}

/* Never RSP (or SPL) as a destination. */
unsigned dg_pick_dst(struct g *g, unsigned size, bool legacy)
{
    if (legacy || g->m32)
        return size == 1 ? dg_rn(g, 8) : (unsigned[]){ 0, 1, 2, 3, 5, 6, 7 }[dg_rn(g, 7)];
    unsigned r;
    do
        r = dg_rn(g, 16);
    while (r == 4);
    return r;
}

/* A memory operand of 'size' bytes inside the scratch window. */
struct opnd dg_pick_mem(struct g *g, unsigned size, bool legacy, bool align)
{
    struct opnd o = { .kind = M_ABS };
    uint64_t off = 64 + dg_rn(g, DT_SCR_SIZE - 128 - size);
    if (size > 1 && dg_rn(g, 8) == 0) /* straddle the page boundary in the middle */
        off = 0x1000 - 1 - dg_rn(g, size - 1);
    if (align || dg_rn(g, 2))
        off &= ~(uint64_t)(size - 1);
    o.addr = DT_SCR + off;
    switch (dg_rn(g, 5)) {
    case 0: o.kind = M_ABS; break;
    case 1:
        o.kind = M_RSP;
        o.addr = DT_RSP - 128 + dg_rn(g, 256 - size);
        if (align)
            o.addr &= ~(uint64_t)(size - 1);
        break;
    case 2: o.kind = M_RIP; break;
    default: {
        o.kind = M_BASE;
        do
            o.base = dg_pick_dst(g, 8, legacy);
        while (g->avoid >> o.base & 1);
        o.scale = dg_rn(g, 4);
        o.disp = dg_rn(g, 2) ? (int32_t)dg_rn(g, 256) - 128 : (int32_t)dg_rn(g, 0x2000) - 0x1000;
        uint64_t idx = 0;
        do
            o.index = dg_rn(g, legacy || g->m32 ? 8 : 16);
        while (o.index == o.base || (o.index != 4 && (g->avoid >> o.index & 1)));
        if (o.index == 4) {
            /* no index */
        } else {
            idx = dg_rn(g, 64);
            dg_mov_imm(g, o.index, idx);
        }
        dg_mov_imm(g, o.base, o.addr - o.disp - (idx << o.scale));
        break;
    }
    }
    o.a32 = dg_rn(g, 8) == 0 && !g->m32; /* (16-bit addresses cannot reach DT_SCR) */
    return o;
}

/* Register or memory r/m operand. */
struct opnd dg_pick_rm(struct g *g, unsigned size, bool legacy, bool dst, bool mem_ok)
{
    if (mem_ok && dg_rn(g, 2))
        return dg_pick_mem(g, size, legacy, false);
    struct opnd o = { .kind = M_NONE };
    o.reg = dst ? dg_pick_dst(g, size, legacy) : dg_pick_src(g, legacy);
    return o;
}


struct sz dg_pick_size(struct g *g, bool bytes_ok)
{
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    struct sz z;
    do
        z.size = sizes[dg_rn(g, 4)];
    while ((z.size == 1 && !bytes_ok) || (z.size == 8 && g->m32));
    z.legacy = z.size == 1 && (dg_rn(g, 2) || g->m32);
    return z;
}

void dg_size_enc(struct g *g, struct enc *e, struct sz z)
{
    if (z.size == 2)
        e->pfx[e->npfx++] = 0x66;
    if (z.size == 8)
        e->w = true;
    if (z.size == 1 && !z.legacy) {
        e->force_rex = true;
        e->w = dg_rn(g, 8) == 0; /* REX.W is ignored by byte operations */
    }
    if (z.size == 1 && dg_rn(g, 16) == 0)
        e->pfx[e->npfx++] = 0x66; /* so is an operand-size prefix */
    if (z.size != 1 && dg_rn(g, 16) == 0)
        e->force_rex = true; /* a REX with no bits set */
}

unsigned dg_imm_size(unsigned size)
{
    return size == 1 ? 1 : size == 2 ? 2 : 4;
}

void dt_gen_state(struct dt_regs *regs, uint8_t *scratch, uint64_t seed)
{
    struct g g = { .rng = seed };
    for (int i = 0; i < 16; i++)
        regs->r[i] = dg_rval(&g, 8);
    regs->r[4] = DT_RSP;
    regs->rflags = (dg_rnd(&g) & ALL) | (dg_rn(&g, 4) == 0 ? 0x400 : 0) | 2;
    for (unsigned i = 0; i < DT_SCR_SIZE; i += 8) {
        uint64_t v = dg_rn(&g, 4) == 0 ? dg_rval(&g, 8) : dg_rnd(&g);
        memcpy(scratch + i, &v, 8);
    }
}
