/*
 * jit.c — the translation tier: hot 64-bit blocks become host code.
 *
 * The threaded interpreter (fastpath.h) runs a specialised handler per
 * instruction: each loads its operands' register numbers, displacement and
 * so on from struct insn and ends in an indirect jump to the next one.  For
 * a block that has run JIT_HOT times (counted where blocks start: exec.c's
 * loop and fastpath.h fp_block_go) this file emits x86-64 code for the
 * longest prefix of the block made of forms it knows, with the operands as
 * constants, and installs it as the handler of the block's first
 * instruction.  The rest of the machinery does not change:
 *
 *  - Semantics are exactly those of the variants the code replaces (same
 *    register writes, same lazy-flags record, same software-TLB hit test on
 *    memory operands).  Guest registers stay in cpu->r[].
 *  - Leaving the translated prefix at instruction j is arriving at j as
 *    fp_next() would: next_rip = end of j, then a tail jump to in[j].fn.
 *    A TLB miss (or page crossing, MMIO, SMC-protected page: whatever the
 *    TLB does not map for the access) leaves at that instruction before it
 *    changed anything, so its variant takes the generic path and faults,
 *    MMIO and SMC detection stay where they are.  Before a generic
 *    handler, the code returns to the loop exactly as fp_next() does at
 *    cpu->blk_stop.
 *  - The code runs only when the block runs whole from its start: on entry
 *    it compares cpu->blk_stop with the value a full run has and otherwise
 *    runs the first instruction's own variant (single-stepping, MTF, ...).
 *  - Blocks are tagged by RAM page and generation; the code hangs off the
 *    block's instructions in the pool, so SMC and flushes drop it with them
 *    (jit_reset() on every pool flush).
 *
 * Host registers: rdi = cpu throughout, r9 = cpu->tlb_ctx, rax/rcx/rdx/
 * rsi/r8/r10 scratch.  The translated forms (64-bit mode; operand size 4 or
 * 8; "mem" = flat 64-bit memory operand, FS/GS base added):
 *   MOV r,r/mem  MOV mem,r  MOV r,imm  MOV r/mem,imm32  LEA  MOVZX  MOVSXD
 *   ADD/OR/AND/SUB/XOR/CMP r,r  r,mem(load)  r,imm   TEST r,r   PUSH r  POP r
 */
#include "cpu/jit.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "cpu/fastpath.h"
#include "cpu/insn.h"
#include "cpu/exec.h"
#include "cpu/jit_emit.h"
#include "cpu/ops_flow.h"

_Static_assert(sizeof(struct tlb_entry) == 24, "jit.c scales TLB indexes by 3 * 8");

#define JIT_ARENA (16u << 20) /* host code per vCPU; full: no more translations until a flush */
#define JIT_MAX_BLOCK 8192    /* bytes of host code one block may take (32 instructions fit) */

#define OFF_R(i) ((int32_t)(offsetof(struct cpu, r) + 8 * (i)))
#define OFF_NEXT_RIP ((int32_t)offsetof(struct cpu, next_rip))
#define OFF_ICOUNT ((int32_t)offsetof(struct cpu, icount))
#define OFF_BLK_ICOUNT ((int32_t)offsetof(struct cpu, blk_icount))
#define OFF_BLK_STOP ((int32_t)offsetof(struct cpu, blk_stop))
#define OFF_CTX ((int32_t)offsetof(struct cpu, tlb_ctx))
#define OFF_RIP ((int32_t)offsetof(struct cpu, rip))
#define OFF_EVENTS ((int32_t)offsetof(struct cpu, events))
#define OFF_STATE ((int32_t)offsetof(struct cpu, state))
#define OFF_BLK_CHAIN ((int32_t)offsetof(struct cpu, blk_chain))
#define OFF_BLK_FIRST ((int32_t)offsetof(struct cpu, blk_first))
#define OFF_BLK_END ((int32_t)offsetof(struct cpu, blk_end))
_Static_assert(sizeof(enum cpu_run_state) == 4 && CPU_RUNNING == 0, "cmp dword [state], 0");
_Static_assert(sizeof(((struct cpu *)0)->blk_chain) == 4, "cmp/sub dword [blk_chain]");
#define OFF_TLB_R ((int32_t)offsetof(struct cpu, tlb.r))
#define OFF_TLB_W ((int32_t)offsetof(struct cpu, tlb.w))
#define OFF_LF_RES ((int32_t)offsetof(struct cpu, lf.res))
#define OFF_LF_DST ((int32_t)offsetof(struct cpu, lf.dst))
#define OFF_LF_SRC ((int32_t)offsetof(struct cpu, lf.src))
#define OFF_LF_OP ((int32_t)offsetof(struct cpu, lf.op))
#define OFF_LF_CF ((int32_t)offsetof(struct cpu, lf.cf))
_Static_assert(offsetof(struct lazy_flags, size) == offsetof(struct lazy_flags, op) + 1,
               "one 16-bit store writes lf.op and lf.size");

static int32_t off_seg_base(unsigned seg)
{
    return (int32_t)(offsetof(struct cpu, seg) + seg * sizeof(struct seg) +
                     offsetof(struct seg, base));
}

unsigned jit_default_hot(void)
{
    const char *e = getenv("NESTVM_JIT");
    if (e && e[0] == '0' && !e[1])
        return 0;
    const char *h = getenv("NESTVM_JIT_HOT");
    if (h && *h) {
        long v = strtol(h, NULL, 10);
        if (v >= 1 && v <= 65535)
            return (unsigned)v;
    }
    return JIT_HOT;
}

bool jit_init(struct jit *j)
{
    void *p = mmap(NULL, JIT_ARENA, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        j->base = NULL;
        return false;
    }
    j->base = p;
    j->log = getenv("NESTVM_JIT_LOG") != NULL;
    j->used = 0;
    j->size = JIT_ARENA;
    return true;
}

void jit_fini(struct jit *j)
{
    if (j->base)
        munmap(j->base, j->size);
    j->base = NULL;
}

void jit_reset(struct jit *j)
{
    j->used = 0;
}

/* ---- what one instruction becomes ---- */

struct tr {
    struct jit_buf b;
    const struct insn *ins;
    unsigned end0;        /* byte offset of the end of instruction 0 */
    unsigned end[64];     /* byte offset of each instruction's end */
    uint8_t *miss[64][2]; /* jne rel32 fields of instruction j's TLB tests */
    /* What the guest's arithmetic flags are at this point of the code:
     * 'live': the host's flags hold them (after a translated ALU operation
     * and only moves since); 'rec': the lazy record (cpu->lf) was last
     * written here by an ADD/SUB/LOGIC of a known size (lf op | size << 8),
     * from which the host's flags can be computed again; 0: unknown. */
    bool live;
    uint16_t rec;
    struct jit_exit *slot; /* the block's two exit slots (below) */
    unsigned nslots;
    unsigned n;            /* instructions in the block */
};

/* What an emitter did. */
enum { EM_NO, EM_OK };

/* rax = the effective address of in's memory operand (fastpath.h fp_ea,
 * plus the FS/GS base). */
static void emit_ea(struct tr *t, const struct insn *in, unsigned j)
{
    struct jit_buf *b = &t->b;
    int32_t disp = in->disp;
    bool have = false;
    if (in->base < 16) {
        jb_load(b, true, H_RAX, H_RDI, OFF_R(in->base));
        have = true;
    } else if (in->base == EA_RIP) {
        /* cpu->next_rip holds the end of instruction 0 while the code runs */
        jb_load(b, true, H_RAX, H_RDI, OFF_NEXT_RIP);
        disp += (int32_t)(t->end[j] - t->end0);
        have = true;
    }
    if (in->index != EA_NONE) {
        jb_load(b, true, H_RCX, H_RDI, OFF_R(in->index));
        /* lea rax, [rax + rcx << scale + disp] or [rcx << scale + disp] */
        jb_op_mem(b, true, 1, 0x8d, 0, H_RAX, have ? H_RAX : H_NONE, H_RCX, in->scale, disp);
    } else if (have) {
        if (disp)
            jb_op_mem(b, true, 1, 0x8d, 0, H_RAX, H_RAX, H_NONE, 0, disp);
    } else {
        jb_mov_imm(b, H_RAX, (uint64_t)(int64_t)disp);
    }
    if (in->seg >= SEG_FS) {
        jb_op_mem(b, true, 1, 0x03, 0, H_RAX, H_RDI, H_NONE, 0, off_seg_base(in->seg));
        t->live = false;
    }
}

/* rax (linear) -> rax (host pointer) if the TLB array at 'tlb' maps 'size'
 * bytes there (mem.h tlb_hit), else leave at instruction j.  Keeps r10 = the
 * linear address. */
static void emit_tlb(struct tr *t, unsigned j, unsigned k, int32_t tlb, unsigned size)
{
    struct jit_buf *b = &t->b;
    jb_op_rr(b, true, 0x89, H_RAX, H_R10);                       /* mov r10, rax */
    jb_op_rr(b, true, 0x89, H_RAX, H_RDX);                       /* mov rdx, rax */
    jb_shr_imm(b, H_RDX, 12);                                    /* shr rdx, 12 */
    jb_grp1_imm(b, false, 4, H_RDX, TLB_SIZE - 1);               /* and edx, mask */
    jb_op_mem(b, true, 1, 0x8d, 0, H_RDX, H_RDX, H_RDX, 1, 0);   /* lea rdx, [rdx+rdx*2] */
    jb_op_mem(b, true, 1, 0x8d, 0, H_RCX, H_RDI, H_RDX, 3, tlb); /* lea rcx, [rdi+rdx*8+tlb] */
    jb_op_mem(b, true, 1, 0x8d, 0, H_RDX, H_RAX, H_NONE, 0, (int32_t)size - 1);
    jb_grp1_imm(b, true, 4, H_RDX, -4096);                       /* and rdx, ~0xfff */
    jb_op_rr(b, true, 0x09, H_R9, H_RDX);                        /* or rdx, r9 */
    jb_op_mem(b, true, 1, 0x3b, 0, H_RDX, H_RCX, H_NONE, 0, 0);  /* cmp rdx, [rcx] */
    t->miss[j][k] = jb_jcc32(b, CC_NE);
    jb_op_mem(b, true, 1, 0x03, 0, H_RAX, H_RCX, H_NONE, 0, 8);  /* add rax, [rcx+8] */
    t->live = false;
}

/* host = [base + disp] of 'size' bytes (a byte or dword load leaves the rest
 * of the register as the CPU does: movzx / zero-extension). */
static void emit_get_sized_mem(struct tr *t, unsigned host, unsigned base, int32_t disp,
                               unsigned size)
{
    if (size == 1)
        jb_op_mem(&t->b, false, 2, 0x0f, 0xb6, host, base, H_NONE, 0, disp);
    else
        jb_load(&t->b, size == 8, host, base, disp);
}

/* The lazy-flags record (cpu.h flags_lazy): res, dst, src in host registers. */
static void emit_flags_regs(struct tr *t, unsigned op, unsigned size, unsigned res, unsigned dst,
                            unsigned src)
{
    struct jit_buf *b = &t->b;
    jb_store(b, true, res, H_RDI, OFF_LF_RES);
    jb_store(b, true, dst, H_RDI, OFF_LF_DST);
    jb_store(b, true, src, H_RDI, OFF_LF_SRC);
    jb_store16_imm(b, H_RDI, OFF_LF_OP, (uint16_t)(op | size << 8));
    t->rec = (op == LF_ADD || op == LF_SUB || op == LF_LOGIC) ? (uint16_t)(op | size << 8) : 0;
}

/* Make the host's flags the guest's again (t->live), from the lazy record
 * when its operation is known: recompute dst + src, dst - src or test res
 * at the recorded size.  False if neither is possible.  Uses r11. */
/* r8 = the guest's CF (0/1) from the lazy state, by calling cpu_cf()
 * (flags.c): for INC/DEC/ADC/SBB when the flags' origin is not known here.
 * Keeps rdi and rsi; clobbers the other scratch registers and the host's
 * flags, and reloads r9 (the TLB context).  The stack is 16-byte aligned
 * at the call: the code is entered with RSP = 8 mod 16, as any function. */
static void emit_call_cf(struct tr *t)
{
    struct jit_buf *b = &t->b;
    jb_byte(b, 0x57);                                   /* push rdi */
    jb_byte(b, 0x56);                                   /* push rsi */
    jb_grp1_imm(b, true, 5, H_RSP, 8);                  /* sub rsp, 8 */
    jb_mov_imm(b, H_RAX, (uint64_t)(uintptr_t)cpu_cf);
    jb_byte(b, 0xff);                                   /* call rax */
    jb_byte(b, 0xd0);
    jb_grp1_imm(b, true, 0, H_RSP, 8);                  /* add rsp, 8 */
    jb_byte(b, 0x5e);                                   /* pop rsi */
    jb_byte(b, 0x5f);                                   /* pop rdi */
    jb_byte(b, 0x44);                                   /* movzx r8d, al */
    jb_byte(b, 0x0f);
    jb_byte(b, 0xb6);
    jb_byte(b, 0xc0);
    jb_op_mem(b, false, 2, 0x0f, 0xb6, H_R9, H_RDI, H_NONE, 0, OFF_CTX); /* movzx r9d, ctx */
    t->live = false;
}

static bool emit_need_flags(struct tr *t)
{
    struct jit_buf *b = &t->b;
    if (t->live)
        return true;
    if (!t->rec)
        return false;
    unsigned op = t->rec & 0xff, size = t->rec >> 8;
    bool w = size == 8;
    uint8_t byte = size == 1;
    if (op == LF_LOGIC) {
        emit_get_sized_mem(t, H_R11, H_RDI, OFF_LF_RES, size);
        jb_op_rr(b, w, (uint8_t)(0x85 - byte), H_R11, H_R11);      /* test r11, r11 */
    } else {
        emit_get_sized_mem(t, H_R11, H_RDI, OFF_LF_DST, size);
        /* add / cmp r11, [lf.src] (03 / 3B; byte forms 02 / 3A) */
        jb_op_mem(b, w, 1, (uint8_t)((op == LF_ADD ? 0x03 : 0x3b) - byte), 0, H_R11, H_RDI,
                  H_NONE, 0, OFF_LF_SRC);
    }
    t->live = true;
    return true;
}

/* ---- guest registers of any size ---- */

/* Where the byte register 'r' lives: without REX, 4-7 are AH, CH, DH, BH. */
static int32_t byte_reg_off(unsigned r, bool rex)
{
    return (!rex && r >= 4 && r < 8) ? OFF_R(r - 4) + 1 : OFF_R(r);
}

/* host = guest register r of 'size' bytes, zero-extended. */
static void emit_get(struct tr *t, unsigned host, unsigned r, unsigned size, bool rex)
{
    if (size == 1)
        jb_op_mem(&t->b, false, 2, 0x0f, 0xb6, host, H_RDI, H_NONE, 0, byte_reg_off(r, rex));
    else
        jb_load(&t->b, size == 8, host, H_RDI, OFF_R(r));
}

/* guest register r = host (already zero-extended for size 4; a byte
 * register keeps its other bits).  host must be rax, rcx, rdx or rbx. */
static void emit_set(struct tr *t, unsigned host, unsigned r, unsigned size, bool rex)
{
    if (size == 1)
        jb_op_mem(&t->b, false, 1, 0x88, 0, host, H_RDI, H_NONE, 0, byte_reg_off(r, rex));
    else
        jb_store(&t->b, true, host, H_RDI, OFF_R(r));
}

/* host = [rax] of 'size' bytes, zero-extended. */
static void emit_load_mem(struct tr *t, unsigned host, unsigned size)
{
    if (size == 1)
        jb_op_mem(&t->b, false, 2, 0x0f, 0xb6, host, H_RAX, H_NONE, 0, 0);
    else if (size == 2)
        jb_op_mem(&t->b, false, 2, 0x0f, 0xb7, host, H_RAX, H_NONE, 0, 0);
    else
        jb_load(&t->b, size == 8, host, H_RAX, 0);
}

/* ---- ALU operations (ops_alu.c alu_calc/alu_flags): ADD OR AND SUB XOR
 * CMP TEST; ADC/SBB need the carry and stay with the variants ---- */

enum { K_ADD, K_OR, K_ADC, K_SBB, K_AND, K_SUB, K_XOR, K_CMP, K_TEST };

/* rdx = rax op rcx at 'size' (the host's flags are then the guest's), the
 * lazy record; the result is written by the caller. */
static void emit_alu_op(struct tr *t, unsigned k, unsigned size)
{
    static const uint8_t host[9] = { 0x01, 0x09, 0, 0, 0x21, 0x29, 0x31, 0x29, 0x21 };
    static const uint8_t cls[9] = { LF_ADD, LF_LOGIC, 0, 0, LF_LOGIC, LF_SUB, LF_LOGIC, LF_SUB,
                                    LF_LOGIC };
    struct jit_buf *b = &t->b;
    jb_op_rr(b, true, 0x89, H_RAX, H_RDX);                         /* mov rdx, rax */
    jb_op_rr(b, size == 8, (uint8_t)(host[k] - (size == 1)), H_RCX, H_RDX); /* op dl/edx/rdx, cl/ecx/rcx */
    emit_flags_regs(t, cls[k], size, H_RDX, H_RAX, H_RCX);
    t->live = true;
}

/* ADC / SBB (k) and INC / DEC (inc: 1 / dec: 2 in k_incdec, k ignored):
 * rdx = rax op rcx with the guest's CF, which the host's flags must hold
 * (emit_need_flags first); the record keeps the carry-in / the old CF
 * (flags.c flags_lazy_carry, flags_lazy_incdec). */
static void emit_carry_op(struct tr *t, unsigned k, unsigned k_incdec, unsigned size,
                          bool cf_in_r8)
{
    struct jit_buf *b = &t->b;
    bool w = size == 8;
    uint8_t byte = size == 1;
    if (!cf_in_r8) {
        jb_byte(b, 0x41); /* setc r8b: the carry-in / the CF INC and DEC keep */
        jb_byte(b, 0x0f);
        jb_byte(b, 0x92);
        jb_byte(b, 0xc0);
    } else if (!k_incdec) {
        jb_byte(b, 0x41); /* add r8b, 0xff: CF = r8 (0 or 1) for ADC/SBB */
        jb_byte(b, 0x80);
        jb_byte(b, 0xc0);
        jb_byte(b, 0xff);
        jb_byte(b, 0x41); /* setc r8b: back to 0/1 */
        jb_byte(b, 0x0f);
        jb_byte(b, 0x92);
        jb_byte(b, 0xc0);
    }
    jb_op_rr(b, true, 0x89, H_RAX, H_RDX); /* mov rdx, rax */
    unsigned op;
    if (k_incdec) {
        jb_rex(b, w, 0, H_NONE, H_RDX, false); /* inc/dec edx (FF /0, /1; byte FE) */
        jb_byte(b, (uint8_t)(0xff - byte));
        jb_byte(b, (uint8_t)(0xc2 | (k_incdec - 1) << 3));
        op = k_incdec == 1 ? LF_INC : LF_DEC;
        jb_mov_imm(b, H_RCX, 1); /* the record's src */
    } else {
        jb_op_rr(b, w, (uint8_t)((k == K_ADC ? 0x11 : 0x19) - byte), H_RCX, H_RDX);
        op = k == K_ADC ? LF_ADC : LF_SBB;
    }
    emit_flags_regs(t, op, size, H_RDX, H_RAX, H_RCX);
    jb_op_mem(b, false, 1, 0x88, 0, H_R8, H_RDI, H_NONE, 0, OFF_LF_CF); /* mov [lf.cf], r8b */
    /* INC/DEC after a cpu_cf() call left the host's CF unrelated */
    t->live = !(cf_in_r8 && k_incdec);
}

enum { OPD_REG, OPD_MEM, OPD_IMM };

/* One ALU instruction: destination (register or memory) and source
 * (register, memory or immediate).  A memory destination that is written
 * takes the write TLB (code pages are never in it: SMC stays with the
 * interpreter); ADC/SBB need the guest's CF in the host's flags. */
static int emit_alu(struct tr *t, unsigned j, unsigned k, unsigned size, int dk, unsigned dr,
                    int sk, unsigned sr)
{
    const struct insn *in = &t->ins[j];
    struct jit_buf *b = &t->b;
    bool writes = k != K_CMP && k != K_TEST, carry = k == K_ADC || k == K_SBB;
    uint64_t imm = in->imm & size_mask(size);
    if (dk == OPD_MEM || sk == OPD_MEM) {
        emit_ea(t, in, j);
        emit_tlb(t, j, 0, dk == OPD_MEM && writes ? OFF_TLB_W : OFF_TLB_R, size);
        jb_op_rr(b, true, 0x89, H_RAX, H_RSI); /* rsi = the host pointer */
    }
    bool cf_r8 = false;
    if (carry && !emit_need_flags(t)) {
        emit_call_cf(t);
        cf_r8 = true;
    }
    /* loads only from here on: the host's flags stay */
    if (sk == OPD_MEM) {
        emit_get_sized_mem(t, H_RCX, H_RSI, 0, size);
    } else if (sk == OPD_REG) {
        emit_get(t, H_RCX, sr, size, in->rex);
    } else {
        /* mov ecx, imm / mov rcx, simm32 leave the flags alone */
        jb_mov_imm(b, H_RCX, imm);
    }
    if (dk == OPD_MEM)
        emit_get_sized_mem(t, H_RAX, H_RSI, 0, size);
    else
        emit_get(t, H_RAX, dr, size, in->rex);
    if (carry)
        emit_carry_op(t, k, 0, size, cf_r8);
    else
        emit_alu_op(t, k, size);
    if (writes) {
        if (dk == OPD_MEM) {
            if (size == 1)
                jb_op_mem(b, false, 1, 0x88, 0, H_RDX, H_RSI, H_NONE, 0, 0);
            else
                jb_store(b, size == 8, H_RDX, H_RSI, 0);
        } else {
            emit_set(t, H_RDX, dr, size, in->rex);
        }
    }
    return EM_OK;
}

/* INC / DEC r/m (FE/FF /0 /1): CF is kept, so the guest's must be known. */
static int emit_incdec(struct tr *t, unsigned j, unsigned size, unsigned k_incdec)
{
    const struct insn *in = &t->ins[j];
    struct jit_buf *b = &t->b;
    bool mem = in->mod != 3;
    if (mem) {
        emit_ea(t, in, j);
        emit_tlb(t, j, 0, OFF_TLB_W, size);
        jb_op_rr(b, true, 0x89, H_RAX, H_RSI);
    }
    bool cf_r8 = false;
    if (!emit_need_flags(t)) {
        emit_call_cf(t);
        cf_r8 = true;
    }
    if (mem)
        emit_get_sized_mem(t, H_RAX, H_RSI, 0, size);
    else
        emit_get(t, H_RAX, in->rm, size, in->rex);
    emit_carry_op(t, 0, k_incdec, size, cf_r8);
    if (!mem)
        emit_set(t, H_RDX, in->rm, size, in->rex);
    else if (size == 1)
        jb_op_mem(b, false, 1, 0x88, 0, H_RDX, H_RSI, H_NONE, 0, 0);
    else
        jb_store(b, size == 8, H_RDX, H_RSI, 0);
    return EM_OK;
}

/* NOT r (F6/F7 /2, register): no flags. */
static int emit_not(struct tr *t, unsigned j, unsigned size)
{
    const struct insn *in = &t->ins[j];
    struct jit_buf *b = &t->b;
    if (in->mod != 3)
        return EM_NO;
    emit_get(t, H_RAX, in->rm, size, in->rex);
    jb_rex(b, size == 8, 0, H_NONE, H_RAX, false); /* not eax / rax (F7 /2) */
    jb_byte(b, 0xf7);
    jb_byte(b, 0xd0);
    if (size == 4)
        jb_op_rr(b, false, 0x89, H_RAX, H_RAX); /* (32-bit already zero-extends) */
    emit_set(t, H_RAX, in->rm, size, in->rex);
    return EM_OK;
}

/* ---- shifts by a constant (ops_shift.c shift_calc, LF_SZP record) ---- */
static int emit_shift(struct tr *t, unsigned j, unsigned k, unsigned size, unsigned count)
{
    const struct insn *in = &t->ins[j];
    struct jit_buf *b = &t->b;
    unsigned bits = size * 8;
    if ((k != 4 && k != 5 && k != 7) || size < 4) /* SHL SHR SAR; rotates set flags eagerly */
        return EM_NO;
    count &= size == 8 ? 63 : 31;
    emit_get(t, H_RDX, in->rm, size, in->rex);
    if (count == 0) { /* no flags change; a 32-bit register is zero-extended */
        emit_set(t, H_RDX, in->rm, size, in->rex);
        return EM_OK;
    }
    jb_shift_imm(b, size == 8, k, H_RDX, (uint8_t)count);
    jb_byte(b, 0x0f); /* setc cl: the last bit shifted out */
    jb_byte(b, 0x92);
    jb_byte(b, 0xc1);
    jb_byte(b, 0x0f); /* movzx ecx, cl */
    jb_byte(b, 0xb6);
    jb_byte(b, 0xc9);
    if (k != 7) {
        /* OF: SHL: msb(r) ^ CF; SHR: msb(r) ^ bit bits-2 of r (shift_calc) */
        jb_op_rr(b, true, 0x89, H_RDX, H_RAX); /* mov rax, rdx */
        jb_shift_imm(b, true, 5, H_RAX, (uint8_t)(k == 4 ? bits - 1 : bits - 2));
        if (k == 4) {
            jb_op_rr(b, false, 0x31, H_RCX, H_RAX); /* xor eax, ecx */
        } else {
            jb_op_rr(b, true, 0x89, H_RAX, H_R8);   /* mov r8, rax */
            jb_shift_imm(b, true, 5, H_R8, 1);      /* shr r8, 1 */
            jb_op_rr(b, false, 0x31, H_R8, H_RAX);  /* xor eax, r8d */
        }
        jb_grp1_imm(b, false, 4, H_RAX, 1);         /* and eax, 1 */
        jb_shift_imm(b, false, 4, H_RAX, 11);       /* shl eax, 11: FL_OF */
        jb_op_rr(b, false, 0x09, H_RAX, H_RCX);     /* or ecx, eax */
    }
    emit_set(t, H_RDX, in->rm, size, in->rex);
    jb_mov_imm(b, H_RAX, 0);
    emit_flags_regs(t, LF_SZP, size, H_RDX, H_RAX, H_RCX);
    t->live = false;
    return EM_OK;
}

/* ---- IMUL with a truncated product (ops_muldiv.c imul_trunc) ---- */
static int emit_imul(struct tr *t, unsigned j, unsigned size, bool with_imm)
{
    const struct insn *in = &t->ins[j];
    struct jit_buf *b = &t->b;
    if (in->mod != 3)
        return EM_NO;
    if (with_imm) {
        jb_load(b, size == 8, H_RAX, H_RDI, OFF_R(in->rm));
        jb_mov_imm(b, H_RCX, in->imm & size_mask(size));
    } else {
        jb_load(b, size == 8, H_RAX, H_RDI, OFF_R(in->reg));
        jb_load(b, size == 8, H_RCX, H_RDI, OFF_R(in->rm));
    }
    jb_rex(b, size == 8, H_RAX, H_NONE, H_RCX, false); /* imul rax, rcx */
    jb_byte(b, 0x0f);
    jb_byte(b, 0xaf);
    jb_byte(b, 0xc1);
    jb_byte(b, 0x0f); /* seto dl */
    jb_byte(b, 0x90);
    jb_byte(b, 0xc2);
    jb_byte(b, 0x0f); /* movzx edx, dl */
    jb_byte(b, 0xb6);
    jb_byte(b, 0xd2);
    jb_byte(b, 0x69); /* imul edx, edx, FL_CF | FL_OF */
    jb_byte(b, 0xd2);
    jb_u32(b, FL_CF | FL_OF);
    jb_store(b, true, H_RAX, H_RDI, OFF_R(in->reg));
    jb_mov_imm(b, H_RCX, 0);
    emit_flags_regs(t, LF_SZP, size, H_RAX, H_RCX, H_RDX);
    t->live = false;
    return EM_OK;
}

/* ---- SETcc / CMOVcc right after a translated ALU operation: the host's
 * flags are the guest's, and x86 condition codes are the same ---- */
static int emit_cond(struct tr *t, unsigned j)
{
    const struct insn *in = &t->ins[j];
    struct jit_buf *b = &t->b;
    unsigned cc = in->opc & 15, opc = in->opc;
    if (in->mod != 3 || !emit_need_flags(t))
        return EM_NO;
    if (opc >= 0x90 && opc <= 0x9f) { /* SETcc r/m8 */
        jb_byte(b, 0x0f);
        jb_byte(b, (uint8_t)(0x90 | cc));
        jb_byte(b, 0xc0); /* setcc al */
        emit_set(t, H_RAX, in->rm, 1, in->rex);
        return EM_OK; /* moves do not change the host's flags: t->live stays */
    }
    /* CMOVcc Gv,Ev: a 32-bit destination is written (zero-extended) either way */
    unsigned size = in->osz;
    jb_load(b, size == 8, H_RAX, H_RDI, OFF_R(in->reg));
    jb_load(b, size == 8, H_RCX, H_RDI, OFF_R(in->rm));
    jb_rex(b, size == 8, H_RAX, H_NONE, H_RCX, false);
    jb_byte(b, 0x0f);
    jb_byte(b, (uint8_t)(0x40 | cc));
    jb_byte(b, 0xc1); /* cmovcc eax/rax, ecx/rcx */
    jb_store(b, true, H_RAX, H_RDI, OFF_R(in->reg));
    return EM_OK;
}

/* Emit instruction j; EM_NO if its form is not one this tier translates.
 * t->live and t->rec follow what the code does to the flags. */
static int emit_insn(struct tr *t, unsigned j)
{
    const struct insn *in = &t->ins[j];
    const struct op_row *row = insn_row(in);
    struct jit_buf *b = &t->b;
    unsigned osz = in->osz, opc = row->opc;
    bool w = osz == 8, reg_form = in->mod == 3;
    int rm_kind = reg_form ? OPD_REG : OPD_MEM;
    if (in->lock || in->rep)
        return EM_NO;
    /* NOPs (their variant: ops_data.c nop_v): nothing */
    if ((row->map == M1 && opc == 0x90 && in->rm == R_AX) ||
        (row->map == M0F && opc >= 0x18 && opc <= 0x1f))
        return EM_OK;
    if (!reg_form && in->asz != 8)
        return EM_NO;
    if (row->map == M1) {
        /* the eight classic ALU operations: Eb,Gb Ev,Gv Gb,Eb Gv,Ev AL,Ib eAX,Iz */
        if (opc < 0x40 && (opc & 7) < 6) {
            unsigned k = opc >> 3, size = (opc & 1) ? osz : 1;
            if (size == 2)
                return EM_NO;
            switch (opc & 7) {
            case 0: case 1: return emit_alu(t, j, k, size, rm_kind, in->rm, OPD_REG, in->reg);
            case 2: case 3: return emit_alu(t, j, k, size, OPD_REG, in->reg, rm_kind, in->rm);
            default: return emit_alu(t, j, k, size, OPD_REG, R_AX, OPD_IMM, 0);
            }
        }
        unsigned bsize = (opc & 1) ? osz : 1; /* byte/full-size pairs */
        if (bsize == 2)
            return EM_NO;
        switch (opc) {
        case 0x80: case 0x81: case 0x83: /* group 1 */
            return emit_alu(t, j, in->reg & 7, opc == 0x80 ? 1 : osz, rm_kind, in->rm, OPD_IMM, 0);
        case 0x84: case 0x85: /* TEST r/m, reg */
            return emit_alu(t, j, K_TEST, bsize, rm_kind, in->rm, OPD_REG, in->reg);
        case 0xa8: case 0xa9: /* TEST AL/eAX, imm */
            return emit_alu(t, j, K_TEST, bsize, OPD_REG, R_AX, OPD_IMM, 0);
        case 0xf6: case 0xf7: /* group 3: /0 TEST r/m, imm; /2 NOT */
            if ((in->reg & 7) == 2)
                return emit_not(t, j, bsize);
            if ((in->reg & 7) != 0)
                return EM_NO;
            return emit_alu(t, j, K_TEST, bsize, rm_kind, in->rm, OPD_IMM, 0);
        case 0xfe: case 0xff: /* group 4/5: /0 INC, /1 DEC */
            if ((in->reg & 7) > 1)
                return EM_NO;
            return emit_incdec(t, j, bsize, (in->reg & 7) + 1);
        case 0xc1: case 0xd1: /* group 2 by imm8 / by 1, register operand */
            if (!reg_form)
                return EM_NO;
            return emit_shift(t, j, in->reg & 7, osz, opc == 0xd1 ? 1 : (unsigned)in->imm);
        case 0x69: case 0x6b:
            return emit_imul(t, j, osz, true);
        case 0x88: case 0x89: /* MOV r/m, reg */
            if (reg_form) {
                emit_get(t, H_RAX, in->reg, bsize, in->rex);
                emit_set(t, H_RAX, in->rm, bsize, in->rex);
            } else {
                emit_ea(t, in, j);
                emit_tlb(t, j, 0, OFF_TLB_W, bsize);
                emit_get(t, H_RDX, in->reg, bsize, in->rex);
                if (bsize == 1)
                    jb_op_mem(b, false, 1, 0x88, 0, H_RDX, H_RAX, H_NONE, 0, 0);
                else
                    jb_store(b, w, H_RDX, H_RAX, 0);
            }
            return EM_OK;
        case 0x8a: case 0x8b: /* MOV reg, r/m */
            if (reg_form) {
                emit_get(t, H_RAX, in->rm, bsize, in->rex);
            } else {
                emit_ea(t, in, j);
                emit_tlb(t, j, 0, OFF_TLB_R, bsize);
                emit_load_mem(t, H_RAX, bsize);
            }
            emit_set(t, H_RAX, in->reg, bsize, in->rex);
            return EM_OK;
        case 0x8d: /* LEA: the offset only (emit_ea would add an FS/GS base) */
            if (reg_form || in->seg >= SEG_FS)
                return EM_NO;
            emit_ea(t, in, j);
            if (!w)
                jb_op_rr(b, false, 0x89, H_RAX, H_RAX); /* mov eax, eax */
            jb_store(b, true, H_RAX, H_RDI, OFF_R(in->reg));
            return EM_OK;
        case 0x63: /* MOVSXD reg, r/m32 */
            if (!w)
                return EM_NO;
            if (reg_form) {
                jb_op_mem(b, true, 1, 0x63, 0, H_RAX, H_RDI, H_NONE, 0, OFF_R(in->rm));
            } else {
                emit_ea(t, in, j);
                emit_tlb(t, j, 0, OFF_TLB_R, 4);
                jb_op_mem(b, true, 1, 0x63, 0, H_RAX, H_RAX, H_NONE, 0, 0);
            }
            jb_store(b, true, H_RAX, H_RDI, OFF_R(in->reg));
            return EM_OK;
        case 0xc6: case 0xc7: /* MOV r/m, imm */
            if ((in->reg & 7) != 0)
                return EM_NO;
            if (reg_form) {
                jb_mov_imm(b, H_RAX, in->imm & size_mask(bsize));
                emit_set(t, H_RAX, in->rm, bsize, in->rex);
            } else {
                emit_ea(t, in, j);
                emit_tlb(t, j, 0, OFF_TLB_W, bsize);
                jb_mov_imm(b, H_RDX, in->imm & size_mask(bsize));
                if (bsize == 1)
                    jb_op_mem(b, false, 1, 0x88, 0, H_RDX, H_RAX, H_NONE, 0, 0);
                else
                    jb_store(b, w, H_RDX, H_RAX, 0);
            }
            return EM_OK;
        case 0x50: case 0x51: case 0x52: case 0x53:
        case 0x54: case 0x55: case 0x56: case 0x57: /* PUSH r64 */
            if (!w)
                return EM_NO;
            jb_load(b, true, H_RAX, H_RDI, OFF_R(R_SP));
            jb_op_mem(b, true, 1, 0x8d, 0, H_RAX, H_RAX, H_NONE, 0, -8);
            emit_tlb(t, j, 0, OFF_TLB_W, 8);
            jb_load(b, true, H_RDX, H_RDI, OFF_R(in->rm));
            jb_store(b, true, H_RDX, H_RAX, 0);
            jb_store(b, true, H_R10, H_RDI, OFF_R(R_SP));
            return EM_OK;
        case 0x58: case 0x59: case 0x5a: case 0x5b:
        case 0x5c: case 0x5d: case 0x5e: case 0x5f: /* POP r64: the popped value wins for RSP */
            if (!w)
                return EM_NO;
            jb_load(b, true, H_RAX, H_RDI, OFF_R(R_SP));
            emit_tlb(t, j, 0, OFF_TLB_R, 8);
            jb_load(b, true, H_RDX, H_RAX, 0);
            jb_op_mem(b, true, 1, 0x8d, 0, H_R10, H_R10, H_NONE, 0, 8);
            jb_store(b, true, H_R10, H_RDI, OFF_R(R_SP));
            jb_store(b, true, H_RDX, H_RDI, OFF_R(in->rm));
            return EM_OK;
        case 0xb8: case 0xb9: case 0xba: case 0xbb:
        case 0xbc: case 0xbd: case 0xbe: case 0xbf: /* MOV r, imm */
            if (osz == 2)
                return EM_NO;
            jb_mov_imm(b, H_RAX, w ? in->imm : (uint32_t)in->imm);
            jb_store(b, true, H_RAX, H_RDI, OFF_R(in->rm));
            return EM_OK;
        }
        return EM_NO;
    }
    if (row->map != M0F)
        return EM_NO;
    if (opc == 0xb6 || opc == 0xb7) { /* MOVZX reg, r/m8 / r/m16 */
        if (osz == 2)
            return EM_NO;
        unsigned from = opc == 0xb6 ? 1 : 2;
        if (reg_form) {
            if (from == 1)
                emit_get(t, H_RAX, in->rm, 1, in->rex);
            else
                jb_op_mem(b, false, 2, 0x0f, 0xb7, H_RAX, H_RDI, H_NONE, 0, OFF_R(in->rm));
        } else {
            emit_ea(t, in, j);
            emit_tlb(t, j, 0, OFF_TLB_R, from);
            emit_load_mem(t, H_RAX, from);
        }
        jb_store(b, true, H_RAX, H_RDI, OFF_R(in->reg));
        return EM_OK;
    }
    if (osz == 2)
        return EM_NO;
    if (opc == 0xaf)
        return emit_imul(t, j, osz, false);
    if ((opc >= 0x90 && opc <= 0x9f) || (opc >= 0x40 && opc <= 0x4f))
        return emit_cond(t, j);
    return EM_NO;
}

/* ---- the block's last instruction: near branches ----
 * The code leaves through these (tail jumps, like the variants' own), which
 * do what the variants do after the branch: block chaining, the
 * return-address stack (fastpath.h). */

/*
 * Direct links.  A relative JMP/Jcc whose target lies on the block's own
 * page (loops, mostly) gets an exit slot: once the slow path has chained to
 * a translated block there, the code jumps straight to it when the slot
 * still describes it — same RIP, the page's generation unchanged (no write
 * to the page's code since, SMC) and the loop's conditions for chaining
 * (cpu->blk_chain left, no event, running: fp_block_may_chain).  The same
 * page means the same mapping: the running block's fetch was checked at its
 * start and nothing since could change it.  Everything else goes through
 * fp_block_next() as the variants do.
 */
struct jit_exit {
    const struct insn *ins;        /* 0: the successor's instructions; NULL: not linked */
    uint64_t rip;                  /* 8: its RIP */
    const struct insn *end;        /* 16: its blk_end */
    const struct insn *stop;       /* 24: its blk_stop for a full run */
    uint64_t len0;                 /* 32: its first instruction's length */
    const _Atomic uint32_t *genp;  /* 40: its page's generation counter */
    uint32_t gen;                  /* 48: the value it had */
};
#define JIT_SLOT_BYTES 64
_Static_assert(sizeof(struct jit_exit) <= JIT_SLOT_BYTES, "exit slot size");

/* fp_block_next(), and fill slot x when the successor qualifies. */
static void jit_next(struct cpu *cpu, const struct insn *in, struct jit_exit *x)
{
    const struct block_link *l = fp_block_link(cpu, in);
    if (!l)
        return;
    if (x && ((l->rip ^ cpu->rip) >> 12) == 0 && exec_jit_code(cpu, (const void *)l->ins[0].fn)) {
        x->rip = l->rip;
        x->end = l->ins + l->n;
        x->stop = block_link_stop(l);
        x->len0 = l->ins[0].len;
        x->genp = &cpu->bus->page_gen[l->page];
        x->gen = l->gen;
        x->ins = l->ins;
    }
    fp_block_go(cpu, in, l);
}

static void jit_jump(struct cpu *cpu, const struct insn *in, uint64_t target, struct jit_exit *x)
{
    fp_jump64(cpu, in, target); /* #GP on the branch for a non-canonical target */
    jit_next(cpu, in, x);
}

static void jit_fall(struct cpu *cpu, const struct insn *in, uint64_t target, struct jit_exit *x)
{
    (void)target; /* cpu->next_rip is set */
    jit_next(cpu, in, x);
}

static void jit_call(struct cpu *cpu, const struct insn *in, uint64_t ret)
{
    fp_ras_push(cpu, ret);
    fp_block_next(cpu, in);
}

static void jit_ret(struct cpu *cpu, const struct insn *in)
{
    fp_ret_next(cpu, in);
}

/* jne to instruction j's exit unless 'reg' is canonical (fastpath.h fp_canonical). */
static void emit_canonical(struct tr *t, unsigned j, unsigned reg)
{
    struct jit_buf *b = &t->b;
    jb_op_rr(b, true, 0x89, reg, H_RAX);       /* mov rax, reg */
    jb_shift_imm(b, true, 4, H_RAX, 16);       /* shl rax, 16 */
    jb_shift_imm(b, true, 7, H_RAX, 16);       /* sar rax, 16 */
    jb_op_rr(b, true, 0x39, reg, H_RAX);       /* cmp rax, reg */
    t->miss[j][1] = jb_jcc32(b, CC_NE);
}

/* cpu->next_rip = the end of instruction j (it holds the end of instruction 0). */
static void emit_next_rip_end(struct tr *t, unsigned j)
{
    if (t->end[j] != t->end0)
        jb_add_mem_imm(&t->b, H_RDI, OFF_NEXT_RIP, (int32_t)(t->end[j] - t->end0));
}

/* rdx = cpu->next_rip (the end of instruction j) + in->imm: a relative target. */
static void emit_rel_target(struct tr *t, const struct insn *in, unsigned reg)
{
    struct jit_buf *b = &t->b;
    jb_load(b, true, reg, H_RDI, OFF_NEXT_RIP);
    jb_mov_imm(b, H_RAX, in->imm);
    jb_op_rr(b, true, 0x01, H_RAX, reg); /* add reg, rax */
}

/* Leave through a direct link if its slot allows, else through 'slow'
 * (jit_jump / jit_fall); rdx = the target, instruction j the branch. */
static void emit_chain(struct tr *t, unsigned j, const void *slow)
{
    struct jit_buf *b = &t->b;
    struct jit_exit *x = t->nslots < 2 ? &t->slot[t->nslots++] : NULL;
    uint8_t *miss[7];
    unsigned nm = 0;
    if (x) {
        jb_mov_imm(b, H_RSI, (uint64_t)(uintptr_t)x);
        jb_load(b, true, H_RAX, H_RSI, 0);                       /* rax = x->ins */
        jb_op_rr(b, true, 0x85, H_RAX, H_RAX);                   /* test rax, rax */
        miss[nm++] = jb_jcc32(b, 0x4);                           /* jz */
        jb_op_mem(b, true, 1, 0x3b, 0, H_RDX, H_RSI, H_NONE, 0, 8); /* cmp rdx, x->rip */
        miss[nm++] = jb_jcc32(b, CC_NE);
        static const int32_t zero_fields[2] = { OFF_EVENTS, OFF_STATE };
        for (unsigned k = 0; k < 2; k++) {                       /* cmp dword [rdi+f], 0 */
            jb_op_mem(b, false, 1, 0x83, 0, 7, H_RDI, H_NONE, 0, zero_fields[k]);
            jb_byte(b, 0);
            miss[nm++] = jb_jcc32(b, CC_NE);
        }
        jb_op_mem(b, false, 1, 0x83, 0, 7, H_RDI, H_NONE, 0, OFF_BLK_CHAIN);
        jb_byte(b, 0);
        miss[nm++] = jb_jcc32(b, 0x4);                           /* no chaining left */
        jb_load(b, true, H_RCX, H_RSI, 40);                      /* the page's generation */
        jb_load(b, false, H_RCX, H_RCX, 0);
        jb_op_mem(b, false, 1, 0x3b, 0, H_RCX, H_RSI, H_NONE, 0, 48);
        miss[nm++] = jb_jcc32(b, CC_NE);
        /* fp_block_go(): instruction j retired, the successor starts */
        jb_op_mem(b, false, 1, 0x83, 0, 5, H_RDI, H_NONE, 0, OFF_BLK_CHAIN); /* sub dword, 1 */
        jb_byte(b, 1);
        jb_store(b, true, H_RDX, H_RDI, OFF_RIP);
        jb_load(b, true, H_RCX, H_RDI, OFF_BLK_ICOUNT);
        jb_op_mem(b, true, 1, 0x8d, 0, H_RCX, H_RCX, H_NONE, 0, (int32_t)j + 1);
        jb_store(b, true, H_RCX, H_RDI, OFF_ICOUNT);
        jb_store(b, true, H_RCX, H_RDI, OFF_BLK_ICOUNT);
        jb_store(b, true, H_RAX, H_RDI, OFF_BLK_FIRST);
        jb_load(b, true, H_RCX, H_RSI, 16);
        jb_store(b, true, H_RCX, H_RDI, OFF_BLK_END);
        jb_load(b, true, H_RCX, H_RSI, 24);
        jb_store(b, true, H_RCX, H_RDI, OFF_BLK_STOP);
        jb_load(b, true, H_RCX, H_RSI, 32);
        jb_op_rr(b, true, 0x01, H_RDX, H_RCX);                   /* add rcx, rdx */
        jb_store(b, true, H_RCX, H_RDI, OFF_NEXT_RIP);
        jb_op_rr(b, true, 0x89, H_RAX, H_RSI);                   /* mov rsi, rax */
        jb_byte(b, 0xff);                                        /* jmp [rax]: its handler */
        jb_byte(b, 0x20);
        if (b->full)
            return;
        for (unsigned k = 0; k < nm; k++)
            jb_patch32(miss[k], b->p);
    }
    jb_mov_imm(b, H_RCX, (uint64_t)(uintptr_t)x);
    jb_mov_imm(b, H_RSI, (uint64_t)(uintptr_t)&t->ins[j]);
    jb_jmp_abs(b, slow);
}

static bool is_variant(const struct insn *in, op_fn *row_fn)
{
    return insn_row(in)->fn == row_fn && in->fn != row_fn;
}

/* Instruction j, the block's last, a near branch with its 64-bit variant.
 * A Jcc tests the host's flags directly when they are the guest's
 * (emit_need_flags). */
static bool emit_branch(struct tr *t, unsigned j)
{
    const struct insn *in = &t->ins[j];
    struct jit_buf *b = &t->b;
    if ((is_variant(in, op_jcc_Jb) || is_variant(in, op_jcc_Jz)) && emit_need_flags(t)) {
        uint8_t *taken = jb_jcc32(b, (uint8_t)(in->opc & 15)); /* the same condition codes */
        emit_next_rip_end(t, j); /* not taken */
        jb_load(b, true, H_RDX, H_RDI, OFF_NEXT_RIP);
        emit_chain(t, j, (const void *)jit_fall);
        if (b->full)
            return false;
        jb_patch32(taken, b->p);
        emit_next_rip_end(t, j);
        emit_rel_target(t, in, H_RDX);
        emit_chain(t, j, (const void *)jit_jump);
        return true;
    }
    if (is_variant(in, op_jmp_Jb) || is_variant(in, op_jmp_Jz)) {
        emit_next_rip_end(t, j);
        emit_rel_target(t, in, H_RDX);
        emit_chain(t, j, (const void *)jit_jump);
        return true;
    }
    bool call_rel = is_variant(in, op_call_Jz);
    if (call_rel || (is_variant(in, op_call_Ev) && in->mod == 3)) {
        /* call64(): target canonical and [RSP-8] writable, else the variant */
        if (call_rel) {
            jb_load(b, true, H_R8, H_RDI, OFF_NEXT_RIP);
            jb_mov_imm(b, H_RAX, (uint64_t)(t->end[j] - t->end0) + in->imm);
            jb_op_rr(b, true, 0x01, H_RAX, H_R8); /* add r8, rax */
        } else {
            jb_load(b, true, H_R8, H_RDI, OFF_R(in->rm));
        }
        emit_canonical(t, j, H_R8);
        jb_load(b, true, H_RAX, H_RDI, OFF_R(R_SP));
        jb_op_mem(b, true, 1, 0x8d, 0, H_RAX, H_RAX, H_NONE, 0, -8);
        emit_tlb(t, j, 0, OFF_TLB_W, 8);
        jb_load(b, true, H_RDX, H_RDI, OFF_NEXT_RIP); /* the return address */
        jb_op_mem(b, true, 1, 0x8d, 0, H_RDX, H_RDX, H_NONE, 0, (int32_t)(t->end[j] - t->end0));
        jb_store(b, true, H_RDX, H_RAX, 0);
        jb_store(b, true, H_R10, H_RDI, OFF_R(R_SP));
        jb_store(b, true, H_R8, H_RDI, OFF_NEXT_RIP);
        jb_mov_imm(b, H_RSI, (uint64_t)(uintptr_t)in);
        jb_jmp_abs(b, (const void *)jit_call);
        return true;
    }
    if (is_variant(in, op_ret) && in->osz == 8) {
        jb_load(b, true, H_RAX, H_RDI, OFF_R(R_SP));
        emit_tlb(t, j, 0, OFF_TLB_R, 8);
        jb_load(b, true, H_R8, H_RAX, 0);
        emit_canonical(t, j, H_R8);
        jb_op_mem(b, true, 1, 0x8d, 0, H_R10, H_R10, H_NONE, 0, 8);
        jb_store(b, true, H_R10, H_RDI, OFF_R(R_SP));
        jb_store(b, true, H_R8, H_RDI, OFF_NEXT_RIP);
        jb_mov_imm(b, H_RSI, (uint64_t)(uintptr_t)in);
        jb_jmp_abs(b, (const void *)jit_ret);
        return true;
    }
    return false;
}

/* Leave at instruction j to its own handler, as fp_next() arrives there. */
static void emit_exit_to(struct tr *t, unsigned j, op_fn *fn)
{
    struct jit_buf *b = &t->b;
    if (t->end[j] != t->end0)
        jb_add_mem_imm(b, H_RDI, OFF_NEXT_RIP, (int32_t)(t->end[j] - t->end0));
    jb_mov_imm(b, H_RSI, (uint64_t)(uintptr_t)&t->ins[j]);
    jb_mov_imm(b, H_RAX, (uint64_t)(uintptr_t)fn);
    jb_byte(b, 0xff); /* jmp rax */
    jb_byte(b, 0xe0);
}

void jit_translate(struct cpu *cpu, struct jit *jt, struct insn *ins, unsigned n, uint32_t generic)
{
    if (!jt->base || n < 2 || n > 64 || (generic & 1u) || jt->used + JIT_MAX_BLOCK + 64 > jt->size)
        return;
    struct tr tl, *t = &tl;
    /* the exit slots, then the code */
    t->slot = (struct jit_exit *)(void *)(jt->base + jt->used);
    memset(t->slot, 0, 2 * JIT_SLOT_BYTES);
    t->nslots = 0;
    t->n = n;
    uint8_t *code = jt->base + jt->used + 2 * JIT_SLOT_BYTES;
    t->b = (struct jit_buf){ code, code + JIT_MAX_BLOCK - 2 * JIT_SLOT_BYTES, false };
    t->ins = ins;
    unsigned pos = 0;
    for (unsigned j = 0; j < n && j < 64; j++) {
        pos += ins[j].len;
        t->end[j] = pos;
        t->miss[j][0] = t->miss[j][1] = NULL;
    }
    t->end0 = t->end[0];
    op_fn *orig0 = ins[0].fn;
    /* The run a full execution from instruction 0 has (fastpath.h
     * fp_block_stop): up to the first generic handler after it. */
    uint32_t g = generic >> 1;
    const struct insn *stop = g ? &ins[1 + __builtin_ctz(g)] : &ins[n];
    unsigned limit = (unsigned)(stop - ins);
    if (limit > 64)
        limit = 64;

    struct jit_buf *b = &t->b;
    uint8_t *entry = b->p;
    /* Entry: only a run from the block's start to 'stop' */
    jb_mov_imm(b, H_RAX, (uint64_t)(uintptr_t)stop);
    jb_op_mem(b, true, 1, 0x3b, 0, H_RAX, H_RDI, H_NONE, 0, OFF_BLK_STOP);
    uint8_t *not_full = jb_jcc32(b, CC_NE);
    jb_op_mem(b, false, 2, 0x0f, 0xb6, H_R9, H_RDI, H_NONE, 0, OFF_CTX); /* movzx r9d, ctx */
    unsigned j = 0;
    bool ended = false; /* the block's branch was translated */
    t->live = false;
    t->rec = 0; /* the flags' origin is not known at the block's start */
    while (j < limit) {
        uint8_t *mark = b->p;
        bool live = t->live;
        uint16_t rec = t->rec;
        if (j == n - 1 && j > 0) { /* the last instruction: a branch? */
            if (emit_branch(t, j)) {
                j = n;
                ended = true;
                break;
            }
            b->p = mark;
            t->live = live;
            t->rec = rec;
            t->miss[j][0] = t->miss[j][1] = NULL;
        }
        if (emit_insn(t, j) == EM_NO) {
            b->p = mark;
            t->live = live;
            t->rec = rec;
            t->miss[j][0] = t->miss[j][1] = NULL;
            break;
        }
        j++;
    }
    if (jt->log && !ended) { /* NESTVM_JIT_LOG=1: why translation stopped where it did */
        const struct insn *x = &ins[j < n ? j : n - 1];
        fprintf(stderr, "JITSTOP %s %d:%02x/%d mod%d osz%d gen%d\n", insn_row(x)->name, insn_row(x)->map, x->opc, x->reg & 7, x->mod == 3 ? 3 : 0, x->osz, j == (unsigned)(stop - ins));
    }
    if (j == 0)
        return; /* nothing this tier knows at the block's start */
    unsigned covered = j;
    if (b->full)
        return;
    /* After the prefix: continue in the interpreter. */
    if (ended) {
        /* the branch left the block already */
    } else if (covered == (unsigned)(stop - ins)) {
        /* fp_next() at instruction covered-1 reaching blk_stop: the loop
         * retires it and goes on with the generic handler (or the next block). */
        if (covered >= 2)
            jb_add_mem_imm(b, H_RDI, OFF_NEXT_RIP, (int32_t)(t->end[covered - 1] - t->end0));
        jb_load(b, true, H_RAX, H_RDI, OFF_BLK_ICOUNT);
        jb_op_mem(b, true, 1, 0x8d, 0, H_RAX, H_RAX, H_NONE, 0, (int32_t)covered - 1);
        jb_store(b, true, H_RAX, H_RDI, OFF_ICOUNT);
        jb_byte(b, 0xc3); /* ret */
    } else {
        emit_exit_to(t, covered, ins[covered].fn);
    }
    /* TLB misses: leave at that instruction, nothing of it done yet. */
    for (unsigned k = 0; k < covered && k < n; k++) {
        if ((!t->miss[k][0] && !t->miss[k][1]) || b->full)
            continue;
        uint8_t *here = b->p;
        for (unsigned m = 0; m < 2; m++)
            if (t->miss[k][m])
                jb_patch32(t->miss[k][m], here);
        emit_exit_to(t, k, k == 0 ? orig0 : ins[k].fn);
    }
    if (b->full)
        return;
    /* Not a full run: instruction 0's own variant does everything. */
    jb_patch32(not_full, b->p);
    jb_mov_imm(b, H_RAX, (uint64_t)(uintptr_t)orig0);
    jb_byte(b, 0xff);
    jb_byte(b, 0xe0);
    if (b->full)
        return;
    jt->used = (uint32_t)(b->p - jt->base + 15) & ~15u;
    jt->blocks++;
    jt->insns += covered;
    ins[0].fn = (op_fn *)(void *)entry;
    (void)cpu;
}
