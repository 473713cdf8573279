/*
 * decode.c — x86-64 instruction decoder driven by the one opcode table.
 *
 * Instruction format (SDM Vol.2 chapter 2):
 *   [legacy prefixes] [REX] opcode (1-3 bytes) [ModRM [SIB] [disp]] [imm]
 * at most 15 bytes.  The decoder reads prefixes, the opcode map and ModRM,
 * then takes the FIRST table row of that (map, opcode) whose selector
 * matches (ModRM.reg/rm/mod, mandatory prefix, REX.W, mode), and finally
 * the immediate that row names.  It is a pure function of the bytes and the
 * code size, so it is fuzzed and checked against an independent length
 * decoder in the tests.  Results are cached per block by exec.c, so this is
 * not on the hot path.
 */
#include <pthread.h>
#include <stdio.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"
#include "cpu/ops_flow.h"
#include "cpu/ops_int.h"
#include "cpu/ops_seg.h"
#include "cpu/ops_sse.h"
#include "cpu/ops_sys.h"
#include "cpu/ops_x87.h"

#define OP(map, opc, sel, name, fn, flags) { map, opc, sel, name, fn, flags },
const struct op_row op_rows[] = {
#include "cpu/optable_int.def"
#include "cpu/optable_flow.def"
#include "cpu/optable_seg.def"
#include "cpu/optable_sys.def"
#include "cpu/optable_x87.def"
#include "cpu/optable_sse.def"
};
#undef OP
const unsigned op_nrows = sizeof(op_rows) / sizeof(op_rows[0]);

/* first[map][opcode] → first row index + 1 (0: none); next[row] chains rows. */
static uint16_t first_row[4][256];
static uint16_t next_row[sizeof(op_rows) / sizeof(op_rows[0])];
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void build_index(void)
{
    uint16_t *tail[4][256];
    for (int m = 0; m < 4; m++)
        for (int o = 0; o < 256; o++)
            tail[m][o] = &first_row[m][o];
    for (unsigned i = 0; i < op_nrows; i++) {
        const struct op_row *r = &op_rows[i];
        *tail[r->map][r->opc] = (uint16_t)(i + 1);
        tail[r->map][r->opc] = &next_row[i];
    }
}

void decode_init(void)
{
    pthread_once(&init_once, build_index);
}

const struct op_row *insn_row(const struct insn *in)
{
    return &op_rows[in->row];
}

static bool row_matches(const struct op_row *r, unsigned mod, unsigned reg, unsigned rm,
                        unsigned pfx, bool rexw, int code_bits)
{
    uint32_t s = r->sel;
    if ((s & O64) && code_bits != 64)
        return false;
    if ((s & I64) && code_bits == 64)
        return false;
    if (!(r->flags & F_MODRM))
        return SEL_PFX(s) == 0 || SEL_PFX(s) == pfx;
    if (SEL_REG(s) && SEL_REG(s) - 1 != reg)
        return false;
    if (SEL_MOD(s) == 1 && mod == 3)
        return false;
    if (SEL_MOD(s) == 2 && mod != 3)
        return false;
    if (SEL_RM(s) && SEL_RM(s) - 1 != rm)
        return false;
    if (SEL_PFX(s) && SEL_PFX(s) != pfx)
        return false;
    if (SEL_W(s) == 1 && rexw)
        return false;
    if (SEL_W(s) == 2 && !rexw)
        return false;
    return true;
}

/* Little-endian reads; callers checked the length. */
static uint64_t rd(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* ModRM.rm → base/index for 16-bit addressing (SDM Vol.2 Table 2-1). */
static const uint8_t rm16_base[8] = { R_BX, R_BX, R_BP, R_BP, R_SI, R_DI, R_BP, R_BX };
static const uint8_t rm16_index[8] = { R_SI, R_DI, R_SI, R_DI, EA_NONE, EA_NONE, EA_NONE, EA_NONE };

int decode_insn(const uint8_t *b, int avail, int code_bits, struct insn *out)
{
    int n = avail < 15 ? avail : 15;
    int i = 0;
    unsigned rex = 0, rep = 0, segovr = SEG_NONE;
    bool p66 = false, p67 = false, lock = false;
    unsigned last_f2f3 = 0;

    decode_init();
    memset(out, 0, sizeof(*out));

    /* Legacy prefixes, then REX (64-bit mode; must immediately precede the opcode). */
    for (;; i++) {
        if (i >= n)
            return avail < 15 ? DEC_MORE : DEC_TOOLONG;
        uint8_t c = b[i];
        switch (c) {
        case 0xf0: lock = true; rex = 0; continue;
        case 0xf2:
        case 0xf3: rep = c; last_f2f3 = c; rex = 0; continue;
        case 0x26: segovr = SEG_ES; rex = 0; continue;
        case 0x2e: segovr = SEG_CS; rex = 0; continue;
        case 0x36: segovr = SEG_SS; rex = 0; continue;
        case 0x3e: segovr = SEG_DS; rex = 0; continue;
        case 0x64: segovr = SEG_FS; rex = 0; continue;
        case 0x65: segovr = SEG_GS; rex = 0; continue;
        case 0x66: p66 = true; rex = 0; continue;
        case 0x67: p67 = true; rex = 0; continue;
        default: break;
        }
        if (code_bits == 64 && (c & 0xf0) == 0x40) {
            rex = c;
            continue;
        }
        break;
    }
    /* In 64-bit mode ES/CS/SS/DS overrides are ignored (SDM Vol.1 3.3.7.1). */
    if (code_bits == 64 && segovr < SEG_FS)
        segovr = SEG_NONE;

    unsigned map = M1;
    uint8_t opc = b[i++];
    if (opc == 0x0f) {
        if (i >= n)
            return avail < 15 ? DEC_MORE : DEC_TOOLONG;
        opc = b[i++];
        map = M0F;
        if (opc == 0x38 || opc == 0x3a) {
            if (i >= n)
                return avail < 15 ? DEC_MORE : DEC_TOOLONG;
            map = opc == 0x38 ? M0F38 : M0F3A;
            opc = b[i++];
        }
    }

    bool rexw = rex & 8;
    unsigned pfx = last_f2f3 == 0xf3 ? 3 : last_f2f3 == 0xf2 ? 4 : p66 ? 2 : 1;
    uint16_t ri = first_row[map][opc];
    bool has_modrm = ri && (op_rows[ri - 1].flags & F_MODRM);

    unsigned mod = 0, reg = 0, rmf = 0;
    uint8_t modrm = 0;
    if (has_modrm) {
        if (i >= n)
            return avail < 15 ? DEC_MORE : DEC_TOOLONG;
        modrm = b[i++];
        mod = modrm >> 6;
        reg = (modrm >> 3) & 7;
        rmf = modrm & 7;
    }

    const struct op_row *row = NULL;
    for (; ri; ri = next_row[ri - 1]) {
        const struct op_row *r = &op_rows[ri - 1];
        if (row_matches(r, mod, reg, rmf, pfx, rexw, code_bits)) {
            row = r;
            break;
        }
    }

    out->opc = opc;
    out->rex = (uint8_t)rex;
    out->rep = (uint8_t)rep;
    out->lock = lock;
    out->pfx66 = p66;
    out->segovr = (uint8_t)segovr;
    out->mod = (uint8_t)mod;
    out->reg = (uint8_t)(reg | ((rex & 4) << 1));
    out->rm = (uint8_t)(rmf | ((rex & 1) << 3));
    if (!has_modrm)
        out->rm = (uint8_t)((opc & 7) | ((rex & 1) << 3));
    out->base = EA_NONE;
    out->index = EA_NONE;

    uint32_t flags = row ? row->flags : 0;

    /* Operand size (SDM Vol.1 3.6, Vol.2 2.2.1.2) */
    if (code_bits == 64) {
        if ((flags & F_F64) || ((flags & F_D64) && !p66) || rexw)
            out->osz = 8;
        else
            out->osz = p66 ? 2 : 4;
    } else if (code_bits == 32) {
        out->osz = p66 ? 2 : 4;
    } else {
        out->osz = p66 ? 4 : 2;
    }
    /* Address size */
    if (code_bits == 64)
        out->asz = p67 ? 4 : 8;
    else if (code_bits == 32)
        out->asz = p67 ? 2 : 4;
    else
        out->asz = p67 ? 4 : 2;

    if (flags & F_REGONLY) {
        mod = 3;
        out->mod = 3;
    }
    /* Memory operand */
    unsigned defseg = SEG_DS;
    if (has_modrm && mod != 3) {
        if (out->asz == 2) {
            out->base = rm16_base[rmf];
            out->index = rm16_index[rmf];
            if (mod == 0 && rmf == 6) {
                out->base = EA_NONE;
                if (i + 2 > n)
                    return avail < 15 ? DEC_MORE : DEC_TOOLONG;
                out->disp = (int16_t)rd(b + i, 2);
                i += 2;
            } else if (rmf == 2 || rmf == 3 || rmf == 6) {
                defseg = SEG_SS;
            }
            if (mod == 1) {
                if (i + 1 > n)
                    return avail < 15 ? DEC_MORE : DEC_TOOLONG;
                out->disp = (int8_t)b[i++];
            } else if (mod == 2) {
                if (i + 2 > n)
                    return avail < 15 ? DEC_MORE : DEC_TOOLONG;
                out->disp = (int16_t)rd(b + i, 2);
                i += 2;
            }
        } else {
            unsigned base = rmf | ((rex & 1) << 3);
            if (rmf == 4) {
                if (i >= n)
                    return avail < 15 ? DEC_MORE : DEC_TOOLONG;
                uint8_t sib = b[i++];
                unsigned idx = ((sib >> 3) & 7) | ((rex & 2) << 2);
                out->scale = sib >> 6;
                out->index = idx == 4 ? EA_NONE : (uint8_t)idx;
                base = (sib & 7) | ((rex & 1) << 3);
                if ((sib & 7) == 5 && mod == 0) {
                    out->base = EA_NONE;
                    if (i + 4 > n)
                        return avail < 15 ? DEC_MORE : DEC_TOOLONG;
                    out->disp = (int32_t)rd(b + i, 4);
                    i += 4;
                } else {
                    out->base = (uint8_t)base;
                }
            } else if (rmf == 5 && mod == 0) {
                out->base = code_bits == 64 ? EA_RIP : EA_NONE;
                if (i + 4 > n)
                    return avail < 15 ? DEC_MORE : DEC_TOOLONG;
                out->disp = (int32_t)rd(b + i, 4);
                i += 4;
            } else {
                out->base = (uint8_t)base;
            }
            if (out->base == R_SP || out->base == R_BP)
                defseg = SEG_SS;
            if (mod == 1) {
                if (i >= n)
                    return avail < 15 ? DEC_MORE : DEC_TOOLONG;
                out->disp = (int8_t)b[i++];
            } else if (mod == 2) {
                if (i + 4 > n)
                    return avail < 15 ? DEC_MORE : DEC_TOOLONG;
                out->disp = (int32_t)rd(b + i, 4);
                i += 4;
            }
        }
    }
    out->seg = (uint8_t)(segovr != SEG_NONE ? segovr : defseg);

    /* Immediate */
    unsigned isz = 0;
    switch (flags & F_IMM_MASK) {
    case F_IB: isz = 1; break;
    case F_IW: isz = 2; break;
    case F_IZ: isz = out->osz == 2 ? 2 : 4; break;
    case F_IV: isz = out->osz; break;
    case F_IWB: isz = 3; break;
    case F_AP: isz = (out->osz == 2 ? 2 : 4) + 2; break;
    case F_MOFFS: isz = out->asz; break;
    default: break;
    }
    if (i + (int)isz > 15)
        return DEC_TOOLONG;
    if (i + (int)isz > avail)
        return DEC_MORE;
    switch (flags & F_IMM_MASK) {
    case F_IB: out->imm = (uint64_t)(int64_t)(int8_t)b[i]; break;
    case F_IW: out->imm = (uint64_t)(int64_t)(int16_t)rd(b + i, 2); break;
    case F_IZ:
        out->imm = isz == 2 ? (uint64_t)(int64_t)(int16_t)rd(b + i, 2)
                            : (uint64_t)(int64_t)(int32_t)rd(b + i, 4);
        break;
    case F_IV: out->imm = (uint64_t)sign_extend(rd(b + i, isz), isz); break;
    case F_IWB:
        out->imm = rd(b + i, 2);
        out->imm2 = b[i + 2];
        break;
    case F_AP:
        out->imm = rd(b + i, isz - 2);
        out->imm2 = (uint16_t)rd(b + i + isz - 2, 2);
        break;
    case F_MOFFS: out->imm = rd(b + i, isz); break;
    default: break;
    }
    i += (int)isz;
    out->len = (uint8_t)i;

    if (!row)
        return DEC_UD;
    out->row = (uint16_t)(row - op_rows);
    out->fn = row->fn;
    /* LOCK only on the listed read-modify-write forms with a memory
     * destination (SDM Vol.2 LOCK: otherwise #UD). */
    if (lock && (!(flags & F_LOCK) || mod == 3))
        return DEC_UD;
    return i;
}

/* Effective address (SDM Vol.1 3.7.5); masked to the address size. */
uint64_t insn_ea(const struct cpu *cpu, const struct insn *in)
{
    uint64_t a = (uint64_t)(int64_t)in->disp;
    if (in->base == EA_RIP)
        a += cpu->next_rip;
    else if (in->base != EA_NONE)
        a += cpu->r[in->base];
    if (in->index != EA_NONE)
        a += cpu->r[in->index] << in->scale;
    return a & size_mask(in->asz);
}
