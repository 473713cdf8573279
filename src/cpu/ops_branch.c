/*
 * ops_branch.c — near control transfers: JMP (EB, E9, FF /4), Jcc (70-7F,
 * 0F 80-8F), CALL (E8, FF /2), RET (C3, C2 Iw), LOOP/LOOPE/LOOPNE and
 * JCXZ/JECXZ/JRCXZ (E0-E3).
 *
 * Target rules (SDM Vol.2 "JMP", "Jcc", "CALL", "RET", "LOOP/LOOPcc"):
 *  - outside 64-bit mode the target is truncated to the operand size
 *    (16 or 32 bits) and must lie within CS.limit, else #GP(0);
 *  - in 64-bit mode the operand size of near branches is forced to 64 bits
 *    (Intel ignores the 66 prefix; rows are F_F64) and a non-canonical
 *    target raises #GP(0) on the branch instruction itself, before anything
 *    (return address push, RSP update, counter update) is committed.
 *  - LOOP and JCXZ use the ADDRESS size to select CX, ECX or RCX.
 */
#include "cpu/ops_flow.h"

#include "cpu/cpu.h"
#include "cpu/fastpath.h"
#include "cpu/mem.h"

/* Validate a near-branch target and return it (truncated to osz). */
static inline uint64_t near_target(struct cpu *cpu, uint64_t target, unsigned osz)
{
    if (likely(cpu->code64)) {
        /* 48-bit canonical form (SDM Vol.1 3.3.7.1). */
        if (unlikely((uint64_t)((int64_t)(target << 16) >> 16) != target))
            cpu_gp0(cpu);
        return target;
    }
    target &= size_mask(osz);
    if (unlikely(target > cpu->seg[SEG_CS].limit))
        cpu_gp0(cpu);
    return target;
}

static inline void jump_rel(struct cpu *cpu, const struct insn *in)
{
    cpu->next_rip = near_target(cpu, cpu->next_rip + in->imm, in->osz);
}

void op_jmp_Jb(struct cpu *cpu, const struct insn *in)
{
    jump_rel(cpu, in);
}

void op_jmp_Jz(struct cpu *cpu, const struct insn *in)
{
    jump_rel(cpu, in);
}

/* Jcc: the condition is the low nibble of the opcode in both encodings. */
void op_jcc_Jb(struct cpu *cpu, const struct insn *in)
{
    if (cpu_cond(cpu, in->opc & 0xf))
        jump_rel(cpu, in);
}

void op_jcc_Jz(struct cpu *cpu, const struct insn *in)
{
    if (cpu_cond(cpu, in->opc & 0xf))
        jump_rel(cpu, in);
}

void op_jmp_Ev(struct cpu *cpu, const struct insn *in)
{
    cpu->next_rip = near_target(cpu, op_read_rm(cpu, in, in->osz), in->osz);
}

/* CALL: the target is validated before the return address is pushed, and
 * the push commits RSP only after its write succeeded. */
static inline void call_to(struct cpu *cpu, uint64_t target, unsigned osz)
{
    target = near_target(cpu, target, osz);
    cpu_push(cpu, osz, cpu->next_rip);
    cpu->next_rip = target;
}

void op_call_Jz(struct cpu *cpu, const struct insn *in)
{
    call_to(cpu, cpu->next_rip + in->imm, in->osz);
}

void op_call_Ev(struct cpu *cpu, const struct insn *in)
{
    call_to(cpu, op_read_rm(cpu, in, in->osz), in->osz);
}

/* RET near: pop the return address, then release 'extra' more bytes. */
static inline void ret_near(struct cpu *cpu, unsigned osz, uint64_t extra)
{
    uint64_t target = near_target(cpu, stack_read(cpu, 0, osz), osz);
    stack_set_rsp(cpu, cpu->r[R_SP] + osz + extra);
    cpu->next_rip = target;
}

void op_ret(struct cpu *cpu, const struct insn *in)
{
    ret_near(cpu, in->osz, 0);
}

void op_ret_Iw(struct cpu *cpu, const struct insn *in)
{
    ret_near(cpu, in->osz, in->imm & 0xffff);
}

/* LOOPcc: decrement the address-size counter; branch if it is not zero and
 * the extra condition holds.  The counter is committed after the target
 * check so a #GP leaves it unchanged. */
static inline void loop_common(struct cpu *cpu, const struct insn *in, bool cond)
{
    unsigned asz = in->asz;
    uint64_t count = (reg_get(cpu, R_CX, asz) - 1) & size_mask(asz);
    if (count != 0 && cond) {
        uint64_t target = near_target(cpu, cpu->next_rip + in->imm, in->osz);
        cpu->next_rip = target;
    }
    reg_set(cpu, R_CX, asz, count);
}

void op_loop_Jb(struct cpu *cpu, const struct insn *in)
{
    loop_common(cpu, in, true);
}

void op_loope_Jb(struct cpu *cpu, const struct insn *in)
{
    loop_common(cpu, in, cpu_zf(cpu));
}

void op_loopne_Jb(struct cpu *cpu, const struct insn *in)
{
    loop_common(cpu, in, !cpu_zf(cpu));
}

void op_jcxz_Jb(struct cpu *cpu, const struct insn *in)
{
    if (reg_get(cpu, R_CX, in->asz) == 0)
        jump_rel(cpu, in);
}

/* ---- specialised forms (fastpath.h): 64-bit mode ----
 * Jcc is compiled once per condition so only the flags it reads are
 * derived; CALL/RET/JMP take the TLB fast path for the stack or fall back
 * to the generic handler (which raises any fault) before changing state. */

#define JCC64(cc, name)                                                                 \
    FP_LAST(jcc64_##name)                                                               \
    {                                                                                   \
        if (lf_cond(cpu, cc))                                                           \
            fp_jump64(cpu, in, cpu->next_rip + in->imm);                                \
        fp_block_next(cpu, in);                                                         \
    }
JCC64(0, o)
JCC64(1, no)
JCC64(2, b)
JCC64(3, ae)
JCC64(4, e)
JCC64(5, ne)
JCC64(6, be)
JCC64(7, a)
JCC64(8, s)
JCC64(9, ns)
JCC64(10, p)
JCC64(11, np)
JCC64(12, l)
JCC64(13, ge)
JCC64(14, le)
JCC64(15, g)

static op_fn *const jcc64[16] = {
    jcc64_o, jcc64_no, jcc64_b, jcc64_ae, jcc64_e, jcc64_ne, jcc64_be, jcc64_a,
    jcc64_s, jcc64_ns, jcc64_p, jcc64_np, jcc64_l, jcc64_ge, jcc64_le, jcc64_g,
};

static op_fn *pick_jcc(const struct op_special *s, const struct cpu *cpu, const struct insn *in)
{
    return cpu->code64 ? jcc64[in->opc & 15] : NULL;
}

FP_LAST(jmp_J_64)
{
    fp_jump64(cpu, in, cpu->next_rip + in->imm);
    fp_block_next(cpu, in);
}

FP_LAST(jmp_Ev_r64)
{
    fp_jump64(cpu, in, cpu->r[in->rm]);
    fp_block_next(cpu, in);
}

/* JMP m64 (jump tables, PLT-style indirections) */
FP_LAST(jmp_Ev_m64)
{
    const void *p = fp_host(cpu, in, 8, false);
    if (unlikely(!p)) {
        fp_generic(cpu, in);
        return;
    }
    fp_jump64(cpu, in, fp_load(p, 8));
    fp_block_next(cpu, in);
}

static inline __attribute__((always_inline)) void call64(struct cpu *cpu, const struct insn *in,
                                                        uint64_t target)
{
    uint64_t rsp = cpu->r[R_SP] - 8;
    void *p = fp_stack(cpu, rsp, 8, true);
    if (unlikely(!p || !fp_canonical(target))) {
        fp_generic(cpu, in);
        return;
    }
    uint64_t ret = cpu->next_rip;
    fp_store(p, 8, ret);
    cpu->r[R_SP] = rsp;
    cpu->next_rip = target;
    fp_ras_push(cpu, ret);
    fp_block_next(cpu, in);
}

FP_LAST(call_Jz_64) { call64(cpu, in, cpu->next_rip + in->imm); }
FP_LAST(call_Ev_r64) { call64(cpu, in, cpu->r[in->rm]); }

FP_LAST(call_Ev_m64)
{
    const void *p = fp_host(cpu, in, 8, false);
    if (unlikely(!p)) {
        fp_generic(cpu, in);
        return;
    }
    call64(cpu, in, fp_load(p, 8));
}

FP_LAST(ret_64)
{
    uint64_t rsp = cpu->r[R_SP];
    void *p = fp_stack(cpu, rsp, 8, false);
    uint64_t target = p ? fp_load(p, 8) : 0;
    if (unlikely(!p || !fp_canonical(target))) {
        fp_generic(cpu, in);
        return;
    }
    cpu->r[R_SP] = rsp + 8;
    cpu->next_rip = target;
    fp_ret_next(cpu, in);
}

/* JMP/CALL Ev in 64-bit mode: a register, or memory with 64-bit addressing. */
static op_fn *pick_ev64(const struct op_special *s, const struct cpu *cpu, const struct insn *in)
{
    if (!cpu->code64 || in->osz != 8)
        return NULL;
    if (in->mod == 3)
        return s->reg[0];
    return in->asz == 8 ? s->mem[0] : NULL;
}

const struct op_special ops_branch_special[] = {
    { op_jcc_Jb, { NULL, NULL }, { NULL, NULL }, pick_jcc, 0 },
    { op_jcc_Jz, { NULL, NULL }, { NULL, NULL }, pick_jcc, 0 },
    { op_jmp_Jb, { jmp_J_64, NULL }, { NULL, NULL }, sp_pick_code64, 0 },
    { op_jmp_Jz, { jmp_J_64, NULL }, { NULL, NULL }, sp_pick_code64, 0 },
    { op_call_Jz, { call_Jz_64, NULL }, { NULL, NULL }, sp_pick_code64, 0 },
    { op_ret, { ret_64, NULL }, { NULL, NULL }, sp_pick_code64, 0 },
    { op_jmp_Ev, { jmp_Ev_r64, NULL }, { jmp_Ev_m64, NULL }, pick_ev64, 0 },
    { op_call_Ev, { call_Ev_r64, NULL }, { call_Ev_m64, NULL }, pick_ev64, 0 },
    { 0 },
};
