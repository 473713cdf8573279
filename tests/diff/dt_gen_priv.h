/*
 * dt_gen_priv.h — the generator's shared pieces: generator state, operand
 * and encoding descriptions, the encoder and operand pickers (dt_enc.c)
 * used by the templates (dt_gen.c).
 */
#ifndef NESTVM_DT_GEN_PRIV_H
#define NESTVM_DT_GEN_PRIV_H

#include "dt.h"

#define CF 0x001u
#define PF 0x004u
#define AF 0x010u
#define ZF 0x040u
#define SF 0x080u
#define OF 0x800u
#define ALL (CF | PF | AF | ZF | SF | OF)

struct g {
    struct dt_seq *s;
    uint64_t rng;
    uint32_t undef;
    uint32_t avoid; /* registers pick_mem must not use as base/index */
    bool stop;      /* an instruction that always faults was emitted */
    bool m32;       /* 32-bit (compatibility) mode: no REX, no 64-bit operands */
    const struct dt_features *f;
};

enum { M_NONE, M_ABS, M_RSP, M_RIP, M_BASE };

struct opnd {
    unsigned kind; /* M_NONE: register 'reg' */
    unsigned reg;
    uint64_t addr;
    unsigned base, index, scale; /* M_BASE; index 4 = none */
    int32_t disp;
    bool a32; /* 67 prefix */
};

struct enc {
    uint8_t pfx[4];
    unsigned npfx;
    bool w, force_rex, lock;
    unsigned map; /* 0, 0x0f, 0x0f38, 0x0f3a */
    uint8_t opc;
    bool modrm;
    unsigned regf; /* ModRM.reg (0-15) */
    struct opnd rm;
    int plusr; /* +r register or -1 */
    unsigned immsz;
    uint64_t imm;
};

/* Operand size, the matching prefixes and the REX mode for bytes. */
struct sz {
    unsigned size;
    bool legacy; /* byte operand without REX (AH..BH) */
};

/* random numbers, values and scratch addresses; the sequence description */
uint64_t dg_rnd(struct g *g);
unsigned dg_rn(struct g *g, unsigned n);
uint64_t dg_rval(struct g *g, unsigned size);
uint64_t dg_scr_addr(struct g *g, unsigned margin);
void dg_desc(struct g *g, const char *fmt, const char *a, unsigned b);
/* undefined-flag bookkeeping (dg_begin is called by dg_emit) */
void dg_begin(struct g *g);
void dg_fl(struct g *g, uint32_t def, uint32_t undef);
/* encoding; dg_need emits CMP r,r when a flag to be read is undefined */
void dg_emit(struct g *g, const struct enc *e);
void dg_mov_imm(struct g *g, unsigned r, uint64_t v);
void dg_need(struct g *g, uint32_t mask);
/* operand choice (never RSP/SPL as a destination; memory in the window) */
unsigned dg_pick_src(struct g *g, bool legacy);
unsigned dg_pick_dst(struct g *g, unsigned size, bool legacy);
struct opnd dg_pick_mem(struct g *g, unsigned size, bool legacy, bool align);
struct opnd dg_pick_rm(struct g *g, unsigned size, bool legacy, bool dst, bool mem_ok);
struct sz dg_pick_size(struct g *g, bool bytes_ok);
void dg_size_enc(struct g *g, struct enc *e, struct sz z);
unsigned dg_imm_size(unsigned size);

#endif
