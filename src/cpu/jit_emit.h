/*
 * jit_emit.h — the few x86-64 host instruction encodings the translation
 * tier (jit.c) emits.  Encoding rules: SDM Vol.2 2.1 (instruction format),
 * 2.2.1 (REX prefixes), Table 2-2 (32/64-bit ModR/M), Table 2-3 (SIB).
 *
 * Only general-purpose registers and [base + index*scale + disp] operands;
 * every helper writes into a struct jit_buf and never past its end (a full
 * buffer sets 'full' and the translation is abandoned).
 */
#ifndef NESTVM_CPU_JIT_EMIT_H
#define NESTVM_CPU_JIT_EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum { H_RAX, H_RCX, H_RDX, H_RBX, H_RSP, H_RBP, H_RSI, H_RDI,
       H_R8, H_R9, H_R10, H_R11, H_R12, H_R13, H_R14, H_R15 };
#define H_NONE 0xff

struct jit_buf {
    uint8_t *p, *end;
    bool full;
};

static inline void jb_byte(struct jit_buf *b, uint8_t v)
{
    if (b->p < b->end)
        *b->p++ = v;
    else
        b->full = true;
}

static inline void jb_u32(struct jit_buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        jb_byte(b, (uint8_t)(v >> (8 * i)));
}

static inline void jb_u64(struct jit_buf *b, uint64_t v)
{
    jb_u32(b, (uint32_t)v);
    jb_u32(b, (uint32_t)(v >> 32));
}

/* REX (2.2.1.2): W, R (ModRM.reg), X (SIB.index), B (ModRM.rm / SIB.base);
 * 'force' emits 40h even without bits (byte registers SPL..DIL). */
static inline void jb_rex(struct jit_buf *b, bool w, unsigned reg, unsigned index, unsigned base,
                          bool force)
{
    uint8_t r = (uint8_t)(0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) |
                          (index != H_NONE && (index & 8) ? 2 : 0) |
                          (base != H_NONE && (base & 8) ? 1 : 0));
    if (r != 0x40 || force)
        jb_byte(b, r);
}

/* ModRM (+SIB, displacement) for reg, [base + index << scale + disp]. */
static inline void jb_modrm_mem(struct jit_buf *b, unsigned reg, unsigned base, unsigned index,
                                unsigned scale, int32_t disp)
{
    unsigned r = (reg & 7) << 3;
    if (base == H_NONE) { /* [index << scale + disp32]: mod 00, SIB base 101 */
        jb_byte(b, (uint8_t)(0x04 | r));
        jb_byte(b, (uint8_t)(scale << 6 | ((index == H_NONE ? 4 : index) & 7) << 3 | 5));
        jb_u32(b, (uint32_t)disp);
        return;
    }
    unsigned mod = (disp == 0 && (base & 7) != H_RBP) ? 0 : (disp >= -128 && disp <= 127) ? 1 : 2;
    if (index != H_NONE || (base & 7) == H_RSP) {
        jb_byte(b, (uint8_t)(mod << 6 | r | 4));
        jb_byte(b, (uint8_t)(scale << 6 | ((index == H_NONE ? 4 : index) & 7) << 3 | (base & 7)));
    } else {
        jb_byte(b, (uint8_t)(mod << 6 | r | (base & 7)));
    }
    if (mod == 1)
        jb_byte(b, (uint8_t)disp);
    else if (mod == 2)
        jb_u32(b, (uint32_t)disp);
}

/* op reg, [base + index << scale + disp]  (opcode bytes op0 [op1]). */
static inline void jb_op_mem(struct jit_buf *b, bool w, unsigned n, uint8_t op0, uint8_t op1,
                             unsigned reg, unsigned base, unsigned index, unsigned scale,
                             int32_t disp)
{
    jb_rex(b, w, reg, index, base, false);
    jb_byte(b, op0);
    if (n > 1)
        jb_byte(b, op1);
    jb_modrm_mem(b, reg, base, index, scale, disp);
}

/* op rm, reg (ModRM mod 11). */
static inline void jb_op_rr(struct jit_buf *b, bool w, uint8_t op, unsigned reg, unsigned rm)
{
    jb_rex(b, w, reg, H_NONE, rm, false);
    jb_byte(b, op);
    jb_byte(b, (uint8_t)(0xc0 | (reg & 7) << 3 | (rm & 7)));
}

/* mov reg, [base + disp] (64 or 32 bits, the latter zero-extending). */
static inline void jb_load(struct jit_buf *b, bool w, unsigned reg, unsigned base, int32_t disp)
{
    jb_op_mem(b, w, 1, 0x8b, 0, reg, base, H_NONE, 0, disp);
}

/* mov [base + disp], reg */
static inline void jb_store(struct jit_buf *b, bool w, unsigned reg, unsigned base, int32_t disp)
{
    jb_op_mem(b, w, 1, 0x89, 0, reg, base, H_NONE, 0, disp);
}

/* mov reg, imm64 (B8+r with REX.W), or mov reg32, imm32 when it fits. */
static inline void jb_mov_imm(struct jit_buf *b, unsigned reg, uint64_t v)
{
    if (v <= 0xffffffffull) {
        jb_rex(b, false, 0, H_NONE, reg, false);
        jb_byte(b, (uint8_t)(0xb8 | (reg & 7)));
        jb_u32(b, (uint32_t)v);
    } else if ((int64_t)v >= INT32_MIN && (int64_t)v <= INT32_MAX) {
        jb_rex(b, true, 0, H_NONE, reg, false); /* C7 /0: sign-extended imm32 */
        jb_byte(b, 0xc7);
        jb_byte(b, (uint8_t)(0xc0 | (reg & 7)));
        jb_u32(b, (uint32_t)v);
    } else {
        jb_rex(b, true, 0, H_NONE, reg, false);
        jb_byte(b, (uint8_t)(0xb8 | (reg & 7)));
        jb_u64(b, v);
    }
}

/* Group 1 (81 /k id) with a register: k = 0 add, 1 or, 4 and, 5 sub, 7 cmp. */
static inline void jb_grp1_imm(struct jit_buf *b, bool w, unsigned k, unsigned reg, int32_t v)
{
    jb_rex(b, w, 0, H_NONE, reg, false);
    jb_byte(b, 0x81);
    jb_byte(b, (uint8_t)(0xc0 | k << 3 | (reg & 7)));
    jb_u32(b, (uint32_t)v);
}

/* add qword [base + disp], imm32 */
static inline void jb_add_mem_imm(struct jit_buf *b, unsigned base, int32_t disp, int32_t v)
{
    jb_op_mem(b, true, 1, 0x81, 0, 0, base, H_NONE, 0, disp);
    jb_u32(b, (uint32_t)v);
}

/* Group 2 by an immediate (C1 /ext): 4 shl, 5 shr, 7 sar. */
static inline void jb_shift_imm(struct jit_buf *b, bool w, unsigned ext, unsigned reg, uint8_t n)
{
    jb_rex(b, w, 0, H_NONE, reg, false);
    jb_byte(b, 0xc1);
    jb_byte(b, (uint8_t)(0xc0 | ext << 3 | (reg & 7)));
    jb_byte(b, n);
}

static inline void jb_shr_imm(struct jit_buf *b, unsigned reg, uint8_t n)
{
    jb_shift_imm(b, true, 5, reg, n);
}

/* jmp to an absolute address through rax */
static inline void jb_jmp_abs(struct jit_buf *b, const void *target)
{
    uint64_t v = (uint64_t)(uintptr_t)target;
    jb_rex(b, true, 0, H_NONE, 0, false);
    jb_byte(b, 0xb8); /* mov rax, imm64 */
    jb_u64(b, v);
    jb_byte(b, 0xff); /* jmp rax */
    jb_byte(b, 0xe0);
}

/* mov word [base + disp], imm16 */
static inline void jb_store16_imm(struct jit_buf *b, unsigned base, int32_t disp, uint16_t v)
{
    jb_byte(b, 0x66);
    jb_op_mem(b, false, 1, 0xc7, 0, 0, base, H_NONE, 0, disp);
    jb_byte(b, (uint8_t)v);
    jb_byte(b, (uint8_t)(v >> 8));
}

/* jcc rel32 to be patched: returns the offset of the rel32 field. */
static inline uint8_t *jb_jcc32(struct jit_buf *b, uint8_t cc)
{
    jb_byte(b, 0x0f);
    jb_byte(b, (uint8_t)(0x80 | cc));
    uint8_t *at = b->p;
    jb_u32(b, 0);
    return at;
}

static inline void jb_patch32(uint8_t *at, const uint8_t *target)
{
    int32_t rel = (int32_t)(target - (at + 4));
    memcpy(at, &rel, 4);
}

#define CC_NE 0x5

#endif
