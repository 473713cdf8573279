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
