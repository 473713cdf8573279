/*
 * ops_stack.c — stack instructions: PUSH/POP r (50+r, 58+r), PUSH imm
 * (68, 6A), PUSH/POP Ev (FF /6, 8F /0), PUSHA/POPA (60, 61), PUSHF/POPF
 * (9C, 9D), ENTER (C8) and LEAVE (C9).
 *
 * Operand size comes from the decoder (F_D64: 64 in 64-bit mode, 16 with a
 * 66 prefix); the stack address size (SP/ESP/RSP) is stack_asz().  Every
 * handler reads and writes memory first and commits registers last, so a
 * fault leaves RSP and the destination unchanged (cpu.h rule 3).
 */
#include "cpu/ops_flow.h"

#include "cpu/cpu.h"
#include "cpu/fastpath.h"
#include "cpu/mem.h"

void op_push_Zv(struct cpu *cpu, const struct insn *in)
{
    cpu_push(cpu, in->osz, cpu->r[in->rm]);
}

void op_pop_Zv(struct cpu *cpu, const struct insn *in)
{
    uint64_t v = cpu_pop(cpu, in->osz);
    /* POP rSP: the popped value replaces the incremented pointer (SDM POP). */
    reg_set(cpu, in->rm, in->osz, v);
}

/* PUSH imm: the immediate is already sign-extended (6A Ib, 68 Iz). */
void op_push_Iz(struct cpu *cpu, const struct insn *in)
{
    cpu_push(cpu, in->osz, in->imm);
}

void op_push_Ib(struct cpu *cpu, const struct insn *in)
{
    cpu_push(cpu, in->osz, in->imm);
}

/* PUSH Ev: a memory operand addressed through rSP uses the value of rSP
 * before the push. */
void op_push_Ev(struct cpu *cpu, const struct insn *in)
{
    cpu_push(cpu, in->osz, op_read_rm(cpu, in, in->osz));
}

/* POP Ev: "If the ESP register is used as a base register for addressing a
 * destination operand in memory, the POP instruction computes the effective
 * address of the operand after it increments the ESP register" (SDM POP). */
void op_pop_Ev(struct cpu *cpu, const struct insn *in)
{
    unsigned osz = in->osz;
    uint64_t v = stack_read(cpu, 0, osz);
    uint64_t old_sp = cpu->r[R_SP];
    stack_set_rsp(cpu, old_sp + osz);
    if (in->mod == 3) {
        reg_set(cpu, in->rm, osz, v);
        return;
    }
    uint64_t new_sp = cpu->r[R_SP];
    uint64_t ea = insn_ea(cpu, in); /* with the incremented rSP */
    cpu->r[R_SP] = old_sp;          /* until the write cannot fault any more */
    mem_write(cpu, in->seg, ea, osz, v);
    cpu->r[R_SP] = new_sp;
}

/* PUSHA/PUSHAD: AX CX DX BX (original SP) BP SI DI. */
void op_pusha(struct cpu *cpu, const struct insn *in)
{
    unsigned osz = in->osz;
    uint64_t smask = size_mask(stack_asz(cpu));
    uint64_t sp = cpu->r[R_SP];
    for (unsigned r = R_AX; r <= R_DI; r++) {
        sp = (sp - osz) & smask;
        mem_write(cpu, SEG_SS, sp, osz, cpu->r[r]);
    }
    stack_set_rsp(cpu, sp);
}

/* POPA/POPAD: DI SI BP (skip SP) BX DX CX AX. */
void op_popa(struct cpu *cpu, const struct insn *in)
{
    unsigned osz = in->osz;
    uint64_t smask = size_mask(stack_asz(cpu));
    uint64_t sp = cpu->r[R_SP] & smask;
    uint64_t v[8];
    for (int r = R_DI; r >= R_AX; r--) {
        if (r != R_SP)
            v[r] = mem_read(cpu, SEG_SS, sp, osz);
        sp = (sp + osz) & smask;
    }
    for (unsigned r = R_AX; r <= R_DI; r++)
        if (r != R_SP)
            reg_set(cpu, r, osz, v[r]);
    stack_set_rsp(cpu, sp);
}

static inline unsigned flags_iopl(uint64_t f)
{
    return (unsigned)(f >> 12) & 3;
}

/*
 * PUSHF (SDM PUSHF/PUSHFD/PUSHFQ): the image has VM and RF cleared.  In
 * virtual-8086 mode with IOPL < 3 it is #GP(0) unless CR4.VME and a 16-bit
 * operand, in which case VIF appears in the IF position and IOPL reads 3.
 */
void op_pushf_Fv(struct cpu *cpu, const struct insn *in)
{
    unsigned osz = in->osz;
    uint64_t f = cpu_get_rflags(cpu);
    if ((f & FL_VM) && flags_iopl(f) < 3) {
        if (osz != 2 || !(cpu->cr4 & CR4_VME))
            cpu_gp0(cpu);
        f = (f & ~(uint64_t)FL_IF) | ((f & FL_VIF) ? FL_IF : 0) | FL_IOPL;
    }
    cpu_push(cpu, osz, osz == 2 ? (f & 0xffff) : (f & 0x00fcffffull));
}

/*
 * POPF (SDM POPF/POPFD/POPFQ, Operation): which bits the popped image may
 * change depends on mode, CPL and IOPL.  VM, VIF and VIP are never changed
 * by the 32/64-bit forms, RF is cleared by them; the 16-bit form only
 * touches bits 15:0.  Virtual-8086 mode with IOPL < 3 is #GP(0) except the
 * CR4.VME 16-bit form, which writes IF to VIF (SDM Vol.3 20.3).
 */
void op_popf_Fv(struct cpu *cpu, const struct insn *in)
{
    unsigned osz = in->osz;
    uint64_t old = cpu_get_rflags(cpu);
    unsigned iopl = flags_iopl(old);
    uint64_t wide = osz != 2 ? (FL_AC | FL_ID) : 0;
    uint64_t chg;
    bool vme = false;
    if (old & FL_VM) {
        if (iopl == 3) {
            chg = FL_ARITH | FL_TF | FL_IF | FL_DF | FL_NT | wide;
        } else {
            if (osz != 2 || !(cpu->cr4 & CR4_VME))
                cpu_gp0(cpu);
            vme = true;
            chg = FL_ARITH | FL_TF | FL_DF | FL_NT;
        }
    } else if (cpu->cpl == 0 || !(cpu->cr0 & CR0_PE)) {
        chg = FL_ARITH | FL_TF | FL_IF | FL_DF | FL_IOPL | FL_NT | wide;
    } else {
        chg = FL_ARITH | FL_TF | FL_DF | FL_NT | wide | (cpu->cpl <= iopl ? FL_IF : 0);
    }
    uint64_t v = stack_read(cpu, 0, osz);
    uint64_t nf = (old & ~chg) | (v & chg);
    if (vme) {
        if (((old & FL_VIP) && (v & FL_IF)) || (v & FL_TF))
            cpu_gp0(cpu);
        nf = (nf & ~(uint64_t)FL_VIF) | ((v & FL_IF) ? FL_VIF : 0);
    }
    if (osz != 2)
        nf &= ~(uint64_t)FL_RF;
    stack_set_rsp(cpu, cpu->r[R_SP] + osz);
    cpu_set_rflags(cpu, nf | 2);
    if ((nf ^ old) & FL_AC)
        cpu_update_tlb_ctx(cpu);
    /* TF/IF/AC/IOPL feed the decoder context and the interrupt window. */
    cpu_end_block(cpu);
}

/*
 * ENTER imm16, imm8 (SDM ENTER, Operation): push rBP, copy (level - 1)
 * frame pointers from the enclosing frame, push the new frame pointer when
 * level > 0, then allocate imm16 bytes.  The nesting level is imm8 mod 32.
 * All stack addressing (including the walk down the old rBP chain) wraps at
 * the stack address size.
 */
void op_enter_IwIb(struct cpu *cpu, const struct insn *in)
{
    unsigned osz = in->osz;
    uint64_t smask = size_mask(stack_asz(cpu));
    uint64_t alloc = in->imm & 0xffff;
    unsigned level = in->imm2 & 31;
    uint64_t sp = (cpu->r[R_SP] - osz) & smask;
    mem_write(cpu, SEG_SS, sp, osz, cpu->r[R_BP]);
    uint64_t frame = sp;
    if (level > 0) {
        uint64_t bp = cpu->r[R_BP];
        for (unsigned i = 1; i < level; i++) {
            bp = (bp - osz) & smask;
            uint64_t v = mem_read(cpu, SEG_SS, bp, osz);
            sp = (sp - osz) & smask;
            mem_write(cpu, SEG_SS, sp, osz, v);
        }
        sp = (sp - osz) & smask;
        mem_write(cpu, SEG_SS, sp, osz, frame);
    }
    reg_set(cpu, R_BP, osz, frame);
    stack_set_rsp(cpu, sp - alloc);
}

/* LEAVE: rSP <- rBP (stack address size), then pop rBP (operand size). */
void op_leave(struct cpu *cpu, const struct insn *in)
{
    unsigned osz = in->osz;
    uint64_t sp = cpu->r[R_BP] & size_mask(stack_asz(cpu));
    uint64_t v = mem_read(cpu, SEG_SS, sp, osz);
    stack_set_rsp(cpu, sp + osz);
    reg_set(cpu, R_BP, osz, v);
}

/* ---- specialised forms (fastpath.h): 64-bit pushes and pops ----
 * SS has no base or limit in 64-bit mode and RSP is the stack pointer; a
 * TLB miss (or a non-canonical RSP, which never hits) runs the generic
 * handler, which raises the fault before anything changes. */

static inline __attribute__((always_inline)) bool push64(struct cpu *cpu, const struct insn *in,
                                                        uint64_t v)
{
    uint64_t rsp = cpu->r[R_SP] - 8;
    void *p = fp_stack(cpu, rsp, 8, true);
    if (unlikely(!p))
        return fp_generic(cpu, in);
    fp_store(p, 8, v);
    cpu->r[R_SP] = rsp;
    return true;
}

FP_H(push_Zv_64) { return push64(cpu, in, cpu->r[in->rm]); }
FP_H(push_I_64) { return push64(cpu, in, in->imm); }

FP_H(pop_Zv_64)
{
    uint64_t rsp = cpu->r[R_SP];
    void *p = fp_stack(cpu, rsp, 8, false);
    if (unlikely(!p))
        return fp_generic(cpu, in);
    cpu->r[R_SP] = rsp + 8;
    cpu->r[in->rm] = fp_load(p, 8); /* POP RSP: the popped value wins */
    return true;
}

const struct op_special ops_stack_special[] = {
    { op_push_Zv, { push_Zv_64, NULL }, { NULL, NULL }, sp_pick_osz, 0 },
    { op_pop_Zv, { pop_Zv_64, NULL }, { NULL, NULL }, sp_pick_osz, 0 },
    { op_push_Iz, { push_I_64, NULL }, { NULL, NULL }, sp_pick_osz, 0 },
    { op_push_Ib, { push_I_64, NULL }, { NULL, NULL }, sp_pick_osz, 0 },
    { 0 },
};
