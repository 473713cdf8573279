/*
 * ops_bit.c — bit test/modify (BT BTS BTR BTC), bit scan (BSF BSR), bit
 * counts (TZCNT LZCNT POPCNT), byte swaps (BSWAP, MOVBE) and CRC32.
 *
 * BT* with a register bit offset and a memory operand (SDM Vol.2 "BT",
 * Table 3-2 and the text below it): the offset is a signed operand-size
 * integer that may address any bit relative to the operand's address; the
 * processor accesses the operand-size word at
 *     EA + size * (offset DIV bits)      (arithmetic, i.e. floor, division)
 * and tests bit (offset MOD bits) of it.  With a register operand or an
 * immediate offset the offset is taken modulo the operand width.
 * Flags: CF = the selected bit; ZF unchanged; OF/SF/AF/PF undefined (left
 * unchanged here).
 *
 * BSF/BSR: ZF = (source == 0); the destination is left unchanged for a zero
 * source, all 64 bits (AMD documents this, Intel calls it undefined), the other
 * flags are undefined (unchanged here).  TZCNT/LZCNT: CF = (source == 0),
 * ZF = (result == 0), OF/SF/AF/PF undefined (unchanged).  POPCNT: ZF =
 * (source == 0), CF/OF/SF/AF/PF cleared.
 * BSWAP of a 16-bit register is undefined; hardware writes zero to the low
 * word (checked on the differential-test host), and so do we.
 * CRC32 uses the CRC-32C polynomial (0x1EDC6F41, bit-reflected 0x82F63B78)
 * with no pre/post inversion (SDM "CRC32").
 */
#include "cpu/mem.h"
#include "cpu/ops_int.h"

enum bt_kind { BT_TEST, BT_SET, BT_RESET, BT_COMP };

static inline uint64_t bt_apply(unsigned k, uint64_t v, uint64_t bit)
{
    switch (k) {
    case BT_SET: return v | bit;
    case BT_RESET: return v & ~bit;
    case BT_COMP: return v ^ bit;
    default: return v;
    }
}

/* 'off' is the bit offset; 'reg_off' says it came from a register (signed,
 * may select another memory word) rather than an imm8. */
static inline void bt_common(struct cpu *cpu, const struct insn *in, unsigned k, uint64_t off,
                             bool reg_off)
{
    unsigned size = in->osz, bits = size * 8;
    unsigned shift = size == 2 ? 4 : size == 4 ? 5 : 6;
    uint64_t ea = 0;
    if (in->mod != 3) {
        ea = insn_ea(cpu, in);
        if (reg_off) {
            int64_t so = sign_extend(off, size);
            ea = (ea + (uint64_t)((so >> shift) * (int64_t)size)) & size_mask(in->asz);
        }
    }
    uint64_t bit = 1ull << (off & (bits - 1));
    uint64_t v;
    if (k == BT_TEST) {
        v = in->mod == 3 ? reg_get(cpu, in->rm, size) : mem_read(cpu, in->seg, ea, size);
    } else {
        int_lock_check(cpu, in);
        struct rmw m;
        if (in->mod == 3)
            v = int_rmw_begin(cpu, in, size, &m);
        else
            v = rmw_begin_mem(cpu, in->seg, ea, size, &m);
        if (unlikely(in->lock)) {
            while (!rmw_cas(cpu, &m, &v, bt_apply(k, v, bit)))
                ;
        } else {
            int_rmw_commit(cpu, &m, bt_apply(k, v, bit));
        }
    }
    flags_set(cpu, FL_CF, (v & bit) ? FL_CF : 0);
}

#define H(name) void name(struct cpu *cpu, const struct insn *in)

#define BT_FORMS(name, K)                                                               \
    H(op_##name##_EvGv) { bt_common(cpu, in, K, reg_get(cpu, in->reg, in->osz), true); } \
    H(op_##name##_EvIb) { bt_common(cpu, in, K, in->imm & 0xff, false); }

BT_FORMS(bt, BT_TEST)
BT_FORMS(bts, BT_SET)
BT_FORMS(btr, BT_RESET)
BT_FORMS(btc, BT_COMP)

/* ---- scans and counts ---- */

H(op_bsf_GvEv)
{
    uint64_t s = op_read_rm(cpu, in, in->osz);
    if (s == 0) {
        flags_set(cpu, FL_ZF, FL_ZF);
        return;
    }
    reg_set(cpu, in->reg, in->osz, (uint64_t)__builtin_ctzll(s));
    flags_set(cpu, FL_ZF, 0);
}

H(op_bsr_GvEv)
{
    uint64_t s = op_read_rm(cpu, in, in->osz);
    if (s == 0) {
        flags_set(cpu, FL_ZF, FL_ZF);
        return;
    }
    reg_set(cpu, in->reg, in->osz, (uint64_t)(63 - __builtin_clzll(s)));
    flags_set(cpu, FL_ZF, 0);
}

static inline void count_store(struct cpu *cpu, const struct insn *in, uint64_t s, uint64_t r)
{
    reg_set(cpu, in->reg, in->osz, r);
    flags_set(cpu, FL_CF | FL_ZF, (s == 0 ? FL_CF : 0) | (r == 0 ? FL_ZF : 0));
}

H(op_tzcnt_GvEv)
{
    uint64_t s = op_read_rm(cpu, in, in->osz);
    count_store(cpu, in, s, s ? (uint64_t)__builtin_ctzll(s) : in->osz * 8u);
}

H(op_lzcnt_GvEv)
{
    uint64_t s = op_read_rm(cpu, in, in->osz);
    unsigned bits = in->osz * 8u;
    count_store(cpu, in, s, s ? (uint64_t)(__builtin_clzll(s) - (64 - bits)) : bits);
}

H(op_popcnt_GvEv)
{
    uint64_t s = op_read_rm(cpu, in, in->osz);
    reg_set(cpu, in->reg, in->osz, (uint64_t)__builtin_popcountll(s));
    flags_set(cpu, FL_ARITH, s == 0 ? FL_ZF : 0);
}

/* ---- byte swaps ---- */

static inline uint64_t bswap_size(uint64_t v, unsigned size)
{
    switch (size) {
    case 2: return __builtin_bswap16((uint16_t)v);
    case 4: return __builtin_bswap32((uint32_t)v);
    default: return __builtin_bswap64(v);
    }
}

H(op_bswap_Zv)
{
    /* 16-bit BSWAP is undefined: the low word becomes 0 (see top). */
    uint64_t v = in->osz == 2 ? 0 : bswap_size(cpu->r[in->rm], in->osz);
    reg_set(cpu, in->rm, in->osz, v);
}

H(op_movbe_GvMv)
{
    uint64_t v = mem_read(cpu, in->seg, insn_ea(cpu, in), in->osz);
    reg_set(cpu, in->reg, in->osz, bswap_size(v, in->osz));
}

H(op_movbe_MvGv)
{
    uint64_t v = reg_get(cpu, in->reg, in->osz);
    mem_write(cpu, in->seg, insn_ea(cpu, in), in->osz, bswap_size(v, in->osz));
}

/* ---- CRC32 (SSE4.2) ---- */

/* CRC-32C of each nibble value: four steps of the bitwise reflected CRC
 * (crc = crc >> 1 ^ (crc & 1 ? 0x82F63B78 : 0)) applied to 0..15. */
static const uint32_t crc32c_nibble[16] = {
    0x00000000, 0x105ec76f, 0x20bd8ede, 0x30e349b1, 0x417b1dbc, 0x5125dad3, 0x61c69362, 0x7198540d,
    0x82f63b78, 0x92a8fc17, 0xa24bb5a6, 0xb21572c9, 0xc38d26c4, 0xd3d3e1ab, 0xe330a81a, 0xf36e6f75,
};

static inline uint32_t crc32c_bytes(uint32_t crc, uint64_t data, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        crc ^= (uint8_t)(data >> (8 * i));
        crc = (crc >> 4) ^ crc32c_nibble[crc & 15];
        crc = (crc >> 4) ^ crc32c_nibble[crc & 15];
    }
    return crc;
}

/* The destination is 32 bits wide (a 64-bit destination, REX.W, receives the
 * zero-extended 32-bit CRC, which reg_set(…, 4, …) produces as well). */
H(op_crc32_GyEb)
{
    uint64_t s = op_read_rm(cpu, in, 1);
    reg_set(cpu, in->reg, 4, crc32c_bytes((uint32_t)cpu->r[in->reg], s, 1));
}

H(op_crc32_GyEv)
{
    uint64_t s = op_read_rm(cpu, in, in->osz);
    reg_set(cpu, in->reg, 4, crc32c_bytes((uint32_t)cpu->r[in->reg], s, in->osz));
}
