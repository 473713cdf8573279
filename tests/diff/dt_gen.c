/*
 * dt_gen.c — random instruction sequences for the differential tester.
 *
 * A sequence is a list of templates; each template emits one instruction
 * (plus, where needed, MOV-immediate setup instructions that make it safe:
 * a divisor that is not zero, a base register that points into the scratch
 * buffer, a bit offset that stays inside it, a small string count).  The
 * encoder (dt_enc.c) builds 64-bit-mode encodings from parts (legacy prefixes,
 * REX, opcode map, ModRM/SIB/displacement, immediate) with randomised
 * choices: operand sizes, REX forms of byte registers, memory operands as
 * [abs32], [rsp+disp8], [rip+disp32], [base+index*scale+disp] and 32-bit
 * address size.
 *
 * Undefined flags (SDM Vol.1 Appendix A and each instruction page) are
 * tracked per instruction: g->undef holds the flags whose value is
 * architecturally undefined at this point; the tester masks them.  A
 * template that reads flags (ADC, RCL, CMOVcc, SETcc, LAHF, CMC) first
 * emits CMP r,r if any flag it reads is undefined.
 */
#include <string.h>

#include "dt_gen_priv.h"
#include "difftest_sse.h"

/* ---- templates ---- */

/* ADD OR ADC SBB AND SUB XOR CMP in all forms, with LOCK on memory. */
static void t_alu(struct g *g)
{
    unsigned op = dg_rn(g, 8);
    struct sz z = dg_pick_size(g, true);
    if (op == 2 || op == 3)
        dg_need(g, CF);
    struct enc e = { .plusr = -1 };
    dg_size_enc(g, &e, z);
    unsigned form = dg_rn(g, 5);
    bool b = z.size == 1;
    switch (form) {
    case 0: /* Eb,Gb / Ev,Gv */
        e.opc = (uint8_t)(op * 8 + (b ? 0 : 1));
        e.modrm = true;
        e.regf = dg_pick_src(g, z.legacy);
        e.rm = dg_pick_rm(g, z.size, z.legacy, true, true);
        break;
    case 1: /* Gb,Eb / Gv,Ev */
        e.opc = (uint8_t)(op * 8 + (b ? 2 : 3));
        e.modrm = true;
        e.regf = dg_pick_dst(g, z.size, z.legacy);
        e.rm = dg_pick_rm(g, z.size, z.legacy, false, true);
        break;
    case 2: /* AL,Ib / rAX,Iz */
        e.opc = (uint8_t)(op * 8 + (b ? 4 : 5));
        e.immsz = dg_imm_size(z.size);
        e.imm = dg_rval(g, 4);
        break;
    default: /* group 1: 80 / 81 / 83 */
        e.opc = b ? 0x80 : (dg_rn(g, 2) ? 0x81 : 0x83);
        e.modrm = true;
        e.regf = op;
        e.rm = dg_pick_rm(g, z.size, z.legacy, true, true);
        e.immsz = e.opc == 0x81 ? dg_imm_size(z.size) : 1;
        e.imm = dg_rval(g, 4);
        break;
    }
    e.lock = op != 7 && (form == 0 || form >= 3) && e.rm.kind != M_NONE && dg_rn(g, 3) == 0;
    if (!e.lock && dg_rn(g, 16) == 0)
        e.pfx[e.npfx++] = dg_rn(g, 2) ? 0xf2 : 0xf3; /* ignored REP prefixes */
    if (e.lock && e.rm.kind != M_NONE)
        e.rm = dg_pick_mem(g, z.size, z.legacy, true);
    dg_emit(g, &e);
    dg_fl(g, ALL, (op == 1 || op == 4 || op == 6) ? AF : 0);
    static const char *const names[] = { "add", "or", "adc", "sbb", "and", "sub", "xor", "cmp" };
    dg_desc(g, "%s ", names[op], 0);
}

/* TEST 84/85/A8/A9/F6 /0/F7 /0; NOT NEG (F6/F7 /2 /3); INC DEC (FE/FF). */
static void t_unary(struct g *g)
{
    struct sz z = dg_pick_size(g, true);
    struct enc e = { .plusr = -1, .modrm = true };
    dg_size_enc(g, &e, z);
    unsigned k = dg_rn(g, 6);
    bool b = z.size == 1;
    switch (k) {
    case 0: /* TEST r/m, reg or acc/imm */
        if (dg_rn(g, 2)) {
            e.opc = b ? 0x84 : 0x85;
            e.regf = dg_pick_src(g, z.legacy);
            e.rm = dg_pick_rm(g, z.size, z.legacy, false, true);
        } else if (dg_rn(g, 2)) {
            e.opc = b ? 0xf6 : 0xf7;
            e.regf = 0;
            e.rm = dg_pick_rm(g, z.size, z.legacy, false, true);
            e.immsz = dg_imm_size(z.size);
            e.imm = dg_rval(g, 4);
        } else {
            e.modrm = false;
            e.opc = b ? 0xa8 : 0xa9;
            e.immsz = dg_imm_size(z.size);
            e.imm = dg_rval(g, 4);
        }
        break;
    case 1:
    case 2: /* NOT, NEG */
        e.opc = b ? 0xf6 : 0xf7;
        e.regf = k + 1;
        e.rm = dg_pick_rm(g, z.size, z.legacy, true, true);
        break;
    default: /* INC, DEC */
        e.opc = b ? 0xfe : 0xff;
        e.regf = k & 1;
        e.rm = dg_pick_rm(g, z.size, z.legacy, true, true);
        break;
    }
    if (k != 0 && e.rm.kind != M_NONE && dg_rn(g, 3) == 0) {
        e.lock = true;
        e.rm = dg_pick_mem(g, z.size, z.legacy, true);
    }
    dg_emit(g, &e);
    if (k == 0)
        dg_fl(g, ALL, AF);
    else if (k == 2)
        dg_fl(g, ALL, 0);
    else if (k >= 3)
        dg_fl(g, ALL & ~CF, 0);
    dg_desc(g, "%s ", (const char *[]){ "test", "not", "neg", "dec", "inc", "dec" }[k], 0);
}

/* Group 2 shifts/rotates by 1, imm8 and CL (CL set just before). */
static void t_shift(struct g *g)
{
    unsigned op = dg_rn(g, 8);
    struct sz z = dg_pick_size(g, true);
    unsigned form = dg_rn(g, 3), count;
    g->avoid = 1u << 1;
    if (form == 2) {
        count = dg_rn(g, 256);
        struct enc m = { .plusr = 1, .opc = 0xb0, .immsz = 1, .imm = count }; /* mov cl, imm8 */
        dg_emit(g, &m);
    } else {
        count = form == 0 ? 1 : dg_rn(g, 4) ? dg_rn(g, 70) : dg_rn(g, 256);
    }
    unsigned bits = z.size * 8, c = count & (z.size == 8 ? 63 : 31);
    bool rot = op < 4, rc = op == 2 || op == 3;
    if (rc && c)
        dg_need(g, CF);
    struct enc e = { .plusr = -1, .modrm = true };
    dg_size_enc(g, &e, z);
    bool b = z.size == 1;
    e.opc = form == 0 ? (b ? 0xd0 : 0xd1) : form == 1 ? (b ? 0xc0 : 0xc1) : (b ? 0xd2 : 0xd3);
    if (form == 1) {
        e.immsz = 1;
        e.imm = count;
    }
    e.regf = op;
    e.rm = dg_pick_rm(g, z.size, z.legacy, true, true);
    g->avoid = 0;
    dg_emit(g, &e);
    if (c) {
        uint32_t of = c == 1 ? 0 : OF;
        if (rot)
            dg_fl(g, CF | OF, of);
        else
            dg_fl(g, ALL, AF | of | ((op == 4 || op == 5 || op == 6) && c >= bits ? CF : 0));
    }
    static const char *const names[] = { "rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar" };
    dg_desc(g, "%s(%u) ", names[op], c);
}

/* SHLD/SHRD by imm8 or CL; 16-bit counts kept <= 16 (larger is undefined). */
static void t_dshift(struct g *g)
{
    struct sz z = dg_pick_size(g, false);
    bool cl = dg_rn(g, 2);
    unsigned count = dg_rn(g, 256);
    g->avoid = 1u << 1;
    if (z.size == 2)
        count = (count & ~31u) | dg_rn(g, 17);
    if (cl) {
        struct enc m = { .plusr = 1, .opc = 0xb0, .immsz = 1, .imm = count };
        dg_emit(g, &m);
    }
    unsigned c = count & (z.size == 8 ? 63 : 31);
    struct enc e = { .plusr = -1, .modrm = true, .map = 0x0f };
    dg_size_enc(g, &e, z);
    bool left = dg_rn(g, 2);
    e.opc = (uint8_t)((left ? 0xa4 : 0xac) + (cl ? 1 : 0));
    if (!cl) {
        e.immsz = 1;
        e.imm = count;
    }
    e.regf = dg_pick_src(g, false);
    e.rm = dg_pick_rm(g, z.size, false, true, true);
    g->avoid = 0;
    dg_emit(g, &e);
    if (c)
        dg_fl(g, ALL, AF | (c == 1 ? 0 : OF));
    dg_desc(g, "%s(%u) ", left ? "shld" : "shrd", c);
}

/* MUL/IMUL one operand; IMUL 0F AF, 69, 6B. */
static void t_mul(struct g *g)
{
    unsigned k = dg_rn(g, 4);
    struct sz z = dg_pick_size(g, k < 2);
    struct enc e = { .plusr = -1, .modrm = true };
    dg_size_enc(g, &e, z);
    if (k < 2) {
        e.opc = z.size == 1 ? 0xf6 : 0xf7;
        e.regf = 4 + k;
        e.rm = dg_pick_rm(g, z.size, z.legacy, false, true);
    } else {
        e.regf = dg_pick_dst(g, z.size, false);
        e.rm = dg_pick_rm(g, z.size, false, false, true);
        if (k == 2) {
            e.map = 0x0f;
            e.opc = 0xaf;
        } else {
            e.opc = dg_rn(g, 2) ? 0x69 : 0x6b;
            e.immsz = e.opc == 0x6b ? 1 : dg_imm_size(z.size);
            e.imm = dg_rval(g, 4);
        }
    }
    dg_emit(g, &e);
    dg_fl(g, CF | OF, SF | ZF | AF | PF);
    dg_desc(g, "%s ", (const char *[]){ "mul", "imul1", "imul2", "imul3" }[k], 0);
}

/* DIV/IDIV with a divisor set up to be safe (sometimes deliberately not). */
static void t_div(struct g *g)
{
    bool sign = dg_rn(g, 2), risky = dg_rn(g, 16) == 0;
    struct sz z = dg_pick_size(g, true);
    z.legacy = z.size == 1; /* keep AH addressable */
    unsigned bits = z.size * 8;
    uint64_t m = z.size == 8 ? ~0ull : (1ull << bits) - 1;
    uint64_t d = dg_rval(g, z.size) | 1;
    if (sign && ((d & m) == m) && !risky)
        d = 3;
    struct opnd rm;
    bool mem = dg_rn(g, 2);
    if (mem) {
        g->avoid = 1u << 0 | 1u << 2;
        rm = dg_pick_mem(g, z.size, z.legacy, false);
        g->avoid = 0;
        /* store the divisor: MOV r/m, imm (C6/C7 /0); 64-bit via simm32 */
        if (z.size == 8)
            d = (uint64_t)(int64_t)(int32_t)d;
        struct enc s = { .plusr = -1, .modrm = true, .rm = rm };
        dg_size_enc(g, &s, z);
        s.force_rex = false;
        s.opc = z.size == 1 ? 0xc6 : 0xc7;
        s.immsz = dg_imm_size(z.size);
        s.imm = d;
        dg_emit(g, &s);
    } else {
        rm.kind = M_NONE;
        do
            rm.reg = dg_pick_dst(g, z.size, z.legacy);
        while (rm.reg == 0 || rm.reg == 2 || (z.size == 1 && rm.reg == 4));
        if (z.size == 1) { /* MOV r8, imm8 without REX: AH..BH numbering */
            struct enc b = { .plusr = (int)rm.reg, .opc = 0xb0, .immsz = 1, .imm = d & 0xff };
            dg_emit(g, &b);
        } else {
            dg_mov_imm(g, rm.reg, d & m);
        }
    }
    if (!risky) {
        if (sign) {
            static const uint8_t conv[] = { 0x98, 0x99 };
            struct enc c = { .plusr = -1, .opc = conv[z.size != 1] };
            dg_size_enc(g, &c, (struct sz){ z.size == 1 ? 2 : z.size, false });
            c.force_rex = false;
            dg_emit(g, &c); /* CBW for bytes, else CWD/CDQ/CQO */
        } else if (z.size == 1) {
            /* AH < divisor: mov ah, imm8 */
            struct enc c = { .plusr = 4, .opc = 0xb0, .immsz = 1 };
            c.imm = dg_rn(g, (unsigned)(d & 0xff));
            dg_emit(g, &c);
        } else {
            dg_mov_imm(g, 2, (dg_rnd(g) % (d & m)) & m);
        }
    }
    struct enc e = { .plusr = -1, .modrm = true, .rm = rm };
    dg_size_enc(g, &e, z);
    e.force_rex = false;
    e.opc = z.size == 1 ? 0xf6 : 0xf7;
    e.regf = sign ? 7 : 6;
    dg_emit(g, &e);
    dg_fl(g, 0, ALL);
    dg_desc(g, "%s ", sign ? "idiv" : "div", 0);
}

/* BT BTS BTR BTC: register offset (memory: in-window signed offset) or imm8. */
static void t_bt(struct g *g)
{
    unsigned k = dg_rn(g, 4);
    struct sz z = dg_pick_size(g, false);
    bool imm = dg_rn(g, 2);
    struct enc e = { .plusr = -1, .modrm = true, .map = 0x0f };
    dg_size_enc(g, &e, z);
    if (imm) {
        e.opc = 0xba;
        e.regf = 4 + k;
        e.immsz = 1;
        e.imm = dg_rn(g, 256);
        e.rm = dg_pick_rm(g, z.size, false, true, true);
    } else {
        e.opc = (uint8_t[]){ 0xa3, 0xab, 0xb3, 0xbb }[k];
        e.rm = dg_pick_rm(g, z.size, false, true, true);
        if (e.rm.kind != M_NONE) {
            /* keep EA + size * (offset DIV bits) inside the window; no
             * base register (the offset register is set afterwards) */
            e.rm = (struct opnd){ .kind = (unsigned[]){ M_ABS, M_RSP, M_RIP }[dg_rn(g, 3)] };
            e.rm.addr = e.rm.kind == M_RSP ? DT_RSP - 128 + dg_rn(g, 240) : dg_scr_addr(g, 1024);
            e.rm.addr &= ~(uint64_t)(z.size - 1);
            int64_t off = (int64_t)dg_rn(g, 8 * 600) - 8 * 300;
            do
                e.regf = dg_pick_dst(g, 8, false);
            while (e.regf == 4);
            dg_mov_imm(g, e.regf, (uint64_t)off);
        } else {
            e.regf = dg_pick_src(g, false);
        }
    }
    if (k && e.rm.kind != M_NONE && dg_rn(g, 3) == 0) {
        e.lock = true;
        if (imm)
            e.rm = dg_pick_mem(g, z.size, false, true);
    }
    dg_emit(g, &e);
    dg_fl(g, CF, OF | SF | AF | PF);
    dg_desc(g, "%s ", (const char *[]){ "bt", "bts", "btr", "btc" }[k], 0);
}

/* BSF BSR, TZCNT LZCNT POPCNT (if the host has them), BSWAP, MOVBE, CRC32. */
static void t_bitmisc(struct g *g)
{
    unsigned k = dg_rn(g, 8);
    struct sz z = dg_pick_size(g, false);
    struct enc e = { .plusr = -1, .modrm = true, .map = 0x0f };
    if ((k == 2 && !g->f->bmi1) || (k == 3 && !g->f->lzcnt) || (k == 4 && !g->f->popcnt) ||
        ((k == 6) && !g->f->movbe) || (k == 7 && !g->f->sse42))
        k = dg_rn(g, 2);
    if (k == 5 || k == 7) /* BSWAP 16 is undefined; CRC32 decides its own sizes */
        while (z.size == 2)
            z = dg_pick_size(g, false);
    dg_size_enc(g, &e, z);
    e.regf = dg_pick_dst(g, z.size, false);
    e.rm = dg_pick_rm(g, z.size, false, false, k != 5);
    if (dg_rn(g, 4) == 0 && e.rm.kind == M_NONE && e.rm.reg != 4 && k < 5)
        dg_mov_imm(g, e.rm.reg, 0); /* zero sources */
    uint32_t def = 0, undef = 0;
    switch (k) {
    case 0:
    case 1:
        e.opc = k == 0 ? 0xbc : 0xbd;
        def = ZF;
        undef = CF | OF | SF | AF | PF;
        break;
    case 2:
    case 3:
        e.pfx[e.npfx++] = 0xf3;
        e.opc = k == 2 ? 0xbc : 0xbd;
        def = CF | ZF;
        undef = OF | SF | AF | PF;
        break;
    case 4:
        e.pfx[e.npfx++] = 0xf3;
        e.opc = 0xb8;
        def = ALL;
        break;
    case 5:
        e.modrm = false;
        e.opc = 0xc8;
        e.plusr = (int)e.regf;
        e.regf = 0;
        break;
    case 6:
        e.map = 0x0f38;
        e.opc = dg_rn(g, 2) ? 0xf0 : 0xf1;
        e.rm = dg_pick_mem(g, z.size, false, false);
        break;
    default:
        e.map = 0x0f38;
        if (dg_rn(g, 3) == 0) {
            e.npfx = 0;
            e.pfx[e.npfx++] = 0xf2;
            e.opc = 0xf0;
            e.w = dg_rn(g, 2);
            e.rm = dg_pick_rm(g, 1, false, false, true);
            e.force_rex = true;
        } else {
            e.pfx[e.npfx++] = 0xf2;
            e.opc = 0xf1;
        }
        break;
    }
    dg_emit(g, &e);
    dg_fl(g, def, undef);
    static const char *const names[] = { "bsf",    "bsr",   "tzcnt", "lzcnt",
                                         "popcnt", "bswap", "movbe", "crc32" };
    dg_desc(g, "%s ", names[k], 0);
}

/* MOV forms, MOVZX/MOVSX/MOVSXD, LEA, CMOVcc, SETcc, CBW/CWD, flag ops, XLAT. */
static void t_data(struct g *g)
{
    unsigned k = dg_rn(g, 12);
    struct sz z = dg_pick_size(g, k <= 2);
    struct enc e = { .plusr = -1, .modrm = true };
    dg_size_enc(g, &e, z);
    bool b = z.size == 1;
    switch (k) {
    case 0: /* 88/89/8A/8B */
        e.opc = (uint8_t)(0x88 + (b ? 0 : 1) + (dg_rn(g, 2) ? 2 : 0));
        e.regf = e.opc & 2 ? dg_pick_dst(g, z.size, z.legacy) : dg_pick_src(g, z.legacy);
        e.rm = dg_pick_rm(g, z.size, z.legacy, !(e.opc & 2), true);
        break;
    case 1: /* C6/C7 /0, B0+r / B8+r (imm64 with REX.W) */
        if (dg_rn(g, 2)) {
            e.opc = b ? 0xc6 : 0xc7;
            e.rm = dg_pick_rm(g, z.size, z.legacy, true, true);
            e.immsz = dg_imm_size(z.size);
        } else {
            e.modrm = false;
            e.opc = b ? 0xb0 : 0xb8;
            e.plusr = (int)dg_pick_dst(g, z.size, z.legacy);
            e.immsz = z.size;
        }
        e.imm = dg_rval(g, 8);
        break;
    case 2: /* A0-A3 moffs64 */
        e.modrm = false;
        e.opc = (uint8_t)(0xa0 + (b ? 0 : 1) + (dg_rn(g, 2) ? 2 : 0));
        e.immsz = g->m32 ? 4 : 8;
        e.imm = dg_scr_addr(g, 64);
        e.force_rex = false;
        break;
    case 3: { /* MOVZX/MOVSX (0F B6 B7 BE BF), MOVSXD (63) */
        unsigned v = dg_rn(g, g->m32 ? 4 : 5); /* no MOVSXD (ARPL) outside 64-bit mode */
        while (z.size == 2 && (v == 1 || v == 3 || v == 4))
            v = 0;
        unsigned src = v == 4 ? 4 : (v & 1) ? 2 : 1;
        bool legacy = src == 1 && dg_rn(g, 2) && !e.w;
        if (v == 4) {
            e.opc = 0x63;
            e.w = true;
        } else {
            e.map = 0x0f;
            e.opc = (uint8_t[]){ 0xb6, 0xb7, 0xbe, 0xbf }[v];
        }
        e.force_rex = src == 1 && !legacy;
        e.regf = dg_pick_dst(g, z.size, legacy);
        e.rm = dg_pick_rm(g, src, legacy, false, true);
        break;
    }
    case 4: { /* LEA: any registers, no memory access */
        e.opc = 0x8d;
        e.regf = dg_pick_dst(g, z.size, false);
        struct opnd o = { .kind = M_BASE };
        unsigned nr = g->m32 ? 8 : 16;
        o.base = dg_rn(g, nr);
        do
            o.index = dg_rn(g, nr);
        while (o.index == 4 && dg_rn(g, 2));
        o.scale = dg_rn(g, 4);
        o.disp = (int32_t)dg_rnd(g);
        if (dg_rn(g, 2))
            o.disp = (int8_t)o.disp;
        o.a32 = dg_rn(g, 3) == 0 && !g->m32;
        if (dg_rn(g, 6) == 0) {
            o.kind = M_RIP;
            o.addr = DT_CODE + dg_rn(g, 0x100000);
        }
        e.rm = o;
        break;
    }
    case 5: /* CMOVcc */
    case 6: { /* SETcc */
        unsigned cc = dg_rn(g, 16);
        static const uint32_t reads[8] = { OF, CF, ZF, CF | ZF, SF, PF, SF | OF, ZF | SF | OF };
        dg_need(g, reads[cc >> 1]);
        e.map = 0x0f;
        if (k == 5) {
            e.opc = (uint8_t)(0x40 + cc);
            e.regf = dg_pick_dst(g, z.size, false);
            e.rm = dg_pick_rm(g, z.size, false, false, true);
        } else {
            e.npfx = 0;
            e.w = false;
            e.opc = (uint8_t)(0x90 + cc);
            e.regf = dg_rn(g, 8);
            e.force_rex = dg_rn(g, 2);
            e.rm = dg_pick_rm(g, 1, !e.force_rex, true, true);
        }
        break;
    }
    case 7: /* CBW/CWDE/CDQE, CWD/CDQ/CQO */
        e.modrm = false;
        e.opc = dg_rn(g, 2) ? 0x98 : 0x99;
        break;
    case 8: { /* LAHF SAHF CMC CLC STC CLD STD */
        static const uint8_t ops[] = { 0x9f, 0x9e, 0xf5, 0xf8, 0xf9, 0xfc, 0xfd };
        unsigned i = dg_rn(g, 7);
        struct enc f = { .plusr = -1, .opc = ops[i] };
        if (i == 0)
            dg_need(g, SF | ZF | AF | PF | CF);
        if (i == 2)
            dg_need(g, CF);
        dg_emit(g, &f);
        if (i == 1)
            dg_fl(g, SF | ZF | AF | PF | CF, 0);
        else if (i >= 2 && i <= 4)
            dg_fl(g, CF, 0);
        dg_desc(g, "%s ", (const char *[]){ "lahf", "sahf", "cmc", "clc", "stc", "cld", "std" }[i], 0);
        return;
    }
    case 9: { /* XLAT with RBX in the window */
        dg_mov_imm(g, 3, dg_scr_addr(g, 512));
        struct enc x = { .plusr = -1, .opc = 0xd7 };
        dg_emit(g, &x);
        dg_desc(g, "%s ", "xlat", 0);
        return;
    }
    default: { /* NOP forms: 90, 66 90, 0F 1F /0, 0F 18-1E hints, PAUSE */
        unsigned n = dg_rn(g, 4);
        struct enc x = { .plusr = -1 };
        if (n == 0) {
            x.opc = 0x90;
        } else if (n == 1) {
            x.pfx[x.npfx++] = 0xf3;
            x.opc = 0x90;
        } else {
            x.map = 0x0f;
            x.opc = n == 2 ? 0x1f : (uint8_t)(0x19 + dg_rn(g, 5));
            x.modrm = true;
            x.regf = n == 2 ? 0 : dg_rn(g, 8);
            x.rm = dg_pick_rm(g, 4, false, false, true);
        }
        dg_emit(g, &x);
        dg_desc(g, "%s ", "nop", 0);
        return;
    }
    }
    dg_emit(g, &e);
    static const char *const names[] = { "mov", "movimm", "moffs", "movx",
                                         "lea", "cmov",   "setcc", "cbw" };
    dg_desc(g, "%s ", names[k], 0);
}

/* XCHG, XADD, CMPXCHG, CMPXCHG8B/16B (with LOCK on memory). */
static void t_atomic(struct g *g)
{
    unsigned k = dg_rn(g, 5);
    struct sz z = dg_pick_size(g, k < 3);
    struct enc e = { .plusr = -1, .modrm = true };
    dg_size_enc(g, &e, z);
    bool b = z.size == 1;
    if (k == 4) { /* CMPXCHG8B / 16B: memory only, sometimes misaligned 16B */
        bool w16 = g->f->cx16 && dg_rn(g, 2) && !g->m32;
        e.npfx = 0;
        e.w = w16;
        e.force_rex = false;
        e.map = 0x0f;
        e.opc = 0xc7;
        e.regf = 1;
        g->avoid = 1u << 0 | 1u << 2;
        e.rm = dg_pick_mem(g, w16 ? 16 : 8, false, !w16 || dg_rn(g, 8) != 0);
        g->avoid = 0;
        e.lock = dg_rn(g, 2);
        if (dg_rn(g, 2)) { /* make success likely: load rDX:rAX from memory first */
            struct enc l = { .plusr = -1, .modrm = true, .w = true, .opc = 0x8b, .rm = e.rm };
            l.rm.kind = M_ABS;
            dg_emit(g, &l);
            l.regf = 2;
            l.rm.addr += w16 ? 8 : 4;
            if (!w16)
                l.w = false;
            dg_emit(g, &l);
            if (!w16) {
                struct enc m = { .plusr = -1, .modrm = true, .opc = 0x8b, .rm = e.rm };
                m.rm.kind = M_ABS;
                dg_emit(g, &m); /* eax = low dword */
            }
        }
        dg_emit(g, &e);
        dg_fl(g, ZF, 0);
        dg_desc(g, "%s ", w16 ? "cmpxchg16b" : "cmpxchg8b", 0);
        return;
    }
    if (k == 3) { /* 90+r */
        e.modrm = false;
        e.opc = 0x90;
        e.plusr = (int)dg_pick_dst(g, z.size == 1 ? 4 : z.size, false);
        if (z.size == 1) {
            e.force_rex = false;
            e.w = false;
        }
        dg_emit(g, &e);
        dg_desc(g, "%s ", "xchg90", 0);
        return;
    }
    if (k == 0) {
        e.opc = b ? 0x86 : 0x87;
    } else {
        e.map = 0x0f;
        e.opc = (uint8_t)((k == 1 ? 0xc0 : 0xb0) + (b ? 0 : 1));
    }
    e.regf = dg_pick_dst(g, z.size, z.legacy);
    e.rm = dg_pick_rm(g, z.size, z.legacy, true, true);
    if (e.rm.kind != M_NONE) {
        g->avoid = 1u << 0;
        e.rm = dg_pick_mem(g, z.size, z.legacy, true);
        g->avoid = 0;
        e.lock = dg_rn(g, 2);
        if (k == 2 && dg_rn(g, 2)) { /* make CMPXCHG succeed sometimes */
            struct enc l = { .plusr = -1, .modrm = true, .opc = b ? 0x8a : 0x8b, .rm = e.rm };
            dg_size_enc(g, &l, (struct sz){ z.size, true });
            l.rm.kind = M_ABS;
            dg_emit(g, &l);
        }
    }
    dg_emit(g, &e);
    if (k != 0)
        dg_fl(g, ALL, 0);
    dg_desc(g, "%s ", (const char *[]){ "xchg", "xadd", "cmpxchg" }[k], 0);
}

/* String instructions with small counts over the scratch window. */
static void t_string(struct g *g)
{
    static const uint8_t ops[] = { 0xa4, 0xa6, 0xaa, 0xac, 0xae }; /* movs cmps stos lods scas */
    unsigned k = dg_rn(g, 5);
    struct sz z = dg_pick_size(g, true);
    unsigned rep = dg_rn(g, 3); /* 0 none, 1 F3, 2 F2 (F2 only with CMPS/SCAS) */
    if (rep == 2 && k != 1 && k != 4)
        rep = 1;
    unsigned n = dg_rn(g, 17);
    dg_mov_imm(g, 6, dg_scr_addr(g, 512));
    dg_mov_imm(g, 7, dg_scr_addr(g, 512));
    if (rep)
        dg_mov_imm(g, 1, n);
    struct enc d = { .plusr = -1, .opc = dg_rn(g, 2) ? 0xfc : 0xfd };
    dg_emit(g, &d);
    struct enc e = { .plusr = -1, .opc = (uint8_t)(ops[k] + (z.size == 1 ? 0 : 1)) };
    if (rep)
        e.pfx[e.npfx++] = rep == 1 ? 0xf3 : 0xf2;
    if (z.size == 2)
        e.pfx[e.npfx++] = 0x66;
    e.w = z.size == 8;
    dg_emit(g, &e);
    if ((k == 1 || k == 4) && (!rep || n))
        dg_fl(g, ALL, 0);
    dg_desc(g, "%s(%u) ", (const char *[]){ "movs", "cmps", "stos", "lods", "scas" }[k], rep ? n : 1);
}

/* Encodings that must raise #UD: LOCK misuse, LEA/MOVBE/CMPXCHG8B with a
 * register operand, UD0/UD1/UD2, opcodes invalid in 64-bit mode. */
static void t_invalid(struct g *g)
{
    static const uint8_t i64[] = { 0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f,
                                   0x37, 0x3f, 0x60, 0x61, 0xd4, 0xd5, 0xd6 };
    struct enc e = { .plusr = -1, .modrm = true };
    unsigned k = dg_rn(g, g->m32 ? 7 : 9);
    e.regf = dg_rn(g, 8);
    e.rm.reg = dg_rn(g, 8);
    switch (k) {
    case 0: /* LOCK with a register destination */
        e.lock = true;
        e.opc = (uint8_t)(dg_rn(g, 7) * 8 + dg_rn(g, 2));
        break;
    case 1: /* LOCK MOV / LOCK CMP / LOCK TEST with memory */
        e.lock = true;
        e.opc = (uint8_t[]){ 0x88, 0x89, 0x38, 0x39, 0x84, 0x85 }[dg_rn(g, 6)];
        e.rm = dg_pick_mem(g, 8, true, true);
        break;
    case 2: e.opc = 0x8d; break; /* LEA r, r */
    case 3:
        e.map = 0x0f38;
        e.opc = (uint8_t)(0xf0 + dg_rn(g, 2)); /* MOVBE r, r */
        break;
    case 4:
        e.map = 0x0f;
        e.opc = 0xc7;
        e.regf = 1; /* CMPXCHG8B r */
        break;
    case 5:
        e.map = 0x0f;
        e.opc = (uint8_t[]){ 0x0b, 0xb9, 0xff }[dg_rn(g, 3)];
        e.modrm = e.opc != 0x0b;
        break;
    case 6: /* LOCK BT m, r */
        e.lock = true;
        e.map = 0x0f;
        e.opc = 0xa3;
        e.rm = dg_pick_mem(g, 8, false, true);
        break;
    case 7: /* 82 /r is invalid in 64-bit mode */
        e.opc = 0x82;
        e.immsz = 1;
        break;
    default:
        e.modrm = false;
        e.opc = i64[dg_rn(g, sizeof(i64))];
        break;
    }
    dg_emit(g, &e);
    g->stop = true;
    dg_desc(g, "%s ", "invalid", 0);
}

/* 32-bit mode only: INC/DEC 40-4F, the BCD adjusts, the 82 group. */
static void t_legacy32(struct g *g)
{
    unsigned k = dg_rn(g, 5);
    struct enc e = { .plusr = -1 };
    static const char *const names[] = { "incdec4x", "daa/das", "aaa/aas", "aam/aad", "grp82" };
    switch (k) {
    case 0:
        if (dg_rn(g, 2))
            e.pfx[e.npfx++] = 0x66;
        e.opc = dg_rn(g, 2) ? 0x40 : 0x48;
        e.plusr = (int)dg_pick_dst(g, 4, true);
        dg_emit(g, &e);
        dg_fl(g, ALL & ~CF, 0);
        break;
    case 1:
        dg_need(g, CF | AF);
        e.opc = dg_rn(g, 2) ? 0x27 : 0x2f;
        dg_emit(g, &e);
        dg_fl(g, SF | ZF | PF | AF | CF, OF);
        break;
    case 2:
        dg_need(g, AF);
        e.opc = dg_rn(g, 2) ? 0x37 : 0x3f;
        dg_emit(g, &e);
        dg_fl(g, AF | CF, OF | SF | ZF | PF);
        break;
    case 3:
        e.opc = dg_rn(g, 2) ? 0xd4 : 0xd5;
        e.immsz = 1;
        e.imm = dg_rn(g, 3) ? 10 : dg_rn(g, 16) ? dg_rn(g, 256) : 0;
        dg_emit(g, &e);
        dg_fl(g, SF | ZF | PF, OF | AF | CF);
        break;
    default: {
        unsigned op = dg_rn(g, 8);
        if (op == 2 || op == 3)
            dg_need(g, CF);
        e.opc = 0x82;
        e.modrm = true;
        e.regf = op;
        e.rm = dg_pick_rm(g, 1, true, true, true);
        e.immsz = 1;
        e.imm = dg_rnd(g);
        dg_emit(g, &e);
        dg_fl(g, ALL, (op == 1 || op == 4 || op == 6) ? AF : 0);
        break;
    }
    }
    dg_desc(g, "%s ", names[k], 0);
}

typedef void tmpl_fn(struct g *g);
static tmpl_fn *const templates[] = { t_alu, t_unary, t_shift, t_dshift, t_mul, t_div,
                                      t_bt, t_bitmisc, t_data, t_atomic, t_string,
                                      t_alu, t_unary, t_data, t_atomic, t_invalid,
                                      t_legacy32 };
const char *const dt_template_names[] = { "alu", "unary", "shift", "dshift", "mul", "div",
                                          "bt", "bitmisc", "data", "atomic", "string",
                                          "alu", "unary", "data", "atomic", "invalid",
                                          "legacy32" };
const unsigned dt_ntemplates = sizeof(templates) / sizeof(templates[0]);

void dt_gen_seq(struct dt_seq *s, uint64_t seed, unsigned ntemplates,
                const struct dt_features *f, const char *only, bool m32)
{
    struct g g = { .s = s, .rng = seed, .undef = 0, .f = f, .m32 = m32 };
    s->m32 = m32;
    s->len = 0;
    s->ninsn = 0;
    s->desc[0] = 0;
    unsigned allowed[64], na = 0;
    for (unsigned i = 0; i < dt_ntemplates + dt_sse_ntemplates && na < 64; i++) {
        const char *name = i < dt_ntemplates ? dt_template_names[i]
                                             : dt_sse_templates[i - dt_ntemplates].name;
        if ((!only || strstr(name, only)) && (i >= dt_ntemplates || templates[i] != t_legacy32 || m32))
            allowed[na++] = i;
    }
    if (!na)
        return;
    for (unsigned i = 0; i < ntemplates && !g.stop && s->len + 96 < DT_MAX_CODE &&
                         s->ninsn + 8 < DT_MAX_INSN;
         i++) {
        unsigned k = allowed[dg_rn(&g, na)];
        if (k < dt_ntemplates && templates[k] == t_invalid && dg_rn(&g, 4))
            k = allowed[dg_rn(&g, na)]; /* keep invalid encodings rarer */
        if (k >= dt_ntemplates)
            dt_sse_templates[k - dt_ntemplates].fn(&g);
        else
            templates[k](&g);
    }
    s->undef_end = g.undef;
    if (s->ninsn > DT_MAX_INSN)
        s->ninsn = DT_MAX_INSN;
}
