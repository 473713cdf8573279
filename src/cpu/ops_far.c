/*
 * ops_far.c — far control transfers and software interrupts:
 * JMP far, CALL far (direct and through call gates, with the inner-stack
 * switch and parameter copy), RETF (to the same or an outer privilege
 * level), IRET/IRETD/IRETQ (real, virtual-8086, protected and IA-32e mode),
 * INT n / INT3 / INTO / INT1, and SYSCALL/SYSRET/SYSENTER/SYSEXIT.
 *
 * The rules follow the pseudocode of the SDM Vol.2 instruction pages (JMP,
 * CALL, RET, IRET, INT n, SYSCALL, SYSRET, SYSENTER, SYSEXIT) and SDM Vol.3
 * 5.8 (privilege checks for control transfers).  As everywhere in the
 * engine, every descriptor check, stack read and stack write happens before
 * anything is committed: a fault leaves CS, SS, RSP and RFLAGS untouched.
 *
 * Hardware task switches (JMP/CALL to a TSS or task gate, IRET with NT=1)
 * are not supported: they are reported once and raise #GP.
 */
#include "cpu/debug.h"
#include "cpu/exec.h"
#include "cpu/mem.h"
#include "cpu/ops_seg.h"
#include "cpu/seg.h"

/* Continue at 'rip' after CS (or the mode) changed. */
static void jump_to(struct cpu *cpu, uint64_t rip)
{
    cpu->next_rip = rip;
    cpu_update_mode(cpu);
}

static _Noreturn void task_switch_unsupported(struct cpu *cpu, uint8_t opc, uint32_t err)
{
    const uint8_t bytes[1] = { opc };
    exec_report_unimplemented(cpu, bytes, 1);
    cpu_fault(cpu, EXC_GP, err);
}

/* Target RIP: canonical for a 64-bit code segment, else within the limit. */
static uint64_t check_target_rip(struct cpu *cpu, const struct seg *cs, uint64_t rip)
{
    if (cpu_long_mode(cpu) && (cs->ar & AR_L)) {
        if (!seg_canonical(rip))
            cpu_gp0(cpu);
    } else if (rip > cs->limit) {
        cpu_gp0(cpu);
    }
    return rip;
}

/* JMP/CALL straight to a code segment (SDM Vol.2 JMP/CALL
 * "CONFORMING-CODE-SEGMENT", "NONCONFORMING-CODE-SEGMENT"). */
static void check_direct_code(struct cpu *cpu, uint16_t sel, const struct seg *cs)
{
    uint32_t err = sel & 0xfffcu;
    unsigned dpl = AR_DPL(cs->ar), cpl = cpu->cpl;
    if (cpu_long_mode(cpu) && (cs->ar & AR_L) && (cs->ar & AR_DB))
        cpu_fault(cpu, EXC_GP, err);
    if (ar_conforming(cs->ar) ? dpl > cpl : ((sel & 3u) > cpl || dpl != cpl))
        cpu_fault(cpu, EXC_GP, err);
    if (!(cs->ar & AR_P))
        cpu_fault(cpu, EXC_NP, err);
}

/* ---------- call gates ---------- */

struct gate {
    struct desc cd; /* descriptor of the target code segment */
    struct seg cs;
    uint16_t cs_sel;
    uint64_t rip;
    unsigned size;   /* push width: 2, 4 or 8 */
    unsigned params; /* dwords/words to copy (legacy gates) */
};

/* SDM Vol.2 CALL/JMP "CALL-GATE"; gd holds the first 8 bytes. */
static void resolve_call_gate(struct cpu *cpu, uint16_t sel, struct desc *gd, struct gate *t)
{
    uint32_t err = sel & 0xfffcu;
    unsigned gdpl = (gd->lo >> 45) & 3;
    if (gdpl < cpu->cpl || gdpl < (sel & 3u))
        cpu_fault(cpu, EXC_GP, err);
    if (!(gd->lo & (1ull << 47)))
        cpu_fault(cpu, EXC_NP, err);
    uint64_t off = (gd->lo & 0xffff) | ((gd->lo >> 32) & 0xffff0000);
    t->params = 0;
    if (cpu_long_mode(cpu)) {
        /* 16-byte gate; the upper type field must be 0 (SDM Vol.3 5.8.3.1) */
        seg_desc_fetch(cpu, sel, 16, 0, gd);
        if (((gd->hi >> 40) & 0x1f) != 0)
            cpu_fault(cpu, EXC_GP, err);
        off |= gd->hi << 32;
        t->size = 8;
    } else if (((gd->lo >> 40) & 0xf) == DT_CALL) {
        t->size = 4;
        t->params = (gd->lo >> 32) & 0x1f;
    } else {
        t->size = 2;
        t->params = (gd->lo >> 32) & 0x1f;
        off &= 0xffff;
    }
    t->rip = off;
    t->cs_sel = (uint16_t)(gd->lo >> 16);
    seg_gate_target(cpu, t->cs_sel, 0, &t->cd, &t->cs);
}

/* CALL through a gate to a more privileged non-conforming segment (SDM
 * Vol.2 CALL "MORE-PRIVILEGE"): new stack from the TSS, push the caller's
 * SS:ESP, copy the parameters, push CS:EIP. */
static void call_gate_inner(struct cpu *cpu, struct gate *t, uint16_t old_cs, uint64_t ret)
{
    unsigned dpl = AR_DPL(t->cs.ar), gs = t->size;
    bool lm = cpu_long_mode(cpu);
    uint16_t ss_sel;
    uint64_t sp;
    struct stk k = { .asz = 8 };
    tss_inner_stack(cpu, dpl, 0, 0, &ss_sel, &sp);
    if (!lm) {
        seg_check_inner_ss(cpu, ss_sel, dpl, 0, &k.ss);
        k.asz = (k.ss.ar & AR_DB) ? 4 : 2;
        k.err = ss_sel & 0xfffcu;
    }
    k.sp = k.rsp_base = sp;
    k.acc = ACC_WRITE | (cpu->cpl == 3 ? ACC_SUPER : 0);
    stk_push(cpu, &k, gs, cpu->seg[SEG_SS].sel);
    stk_push(cpu, &k, gs, cpu->r[R_SP]);
    for (int i = (int)t->params - 1; i >= 0; i--)
        stk_push(cpu, &k, gs, stack_read(cpu, (int64_t)i * gs, gs));
    stk_push(cpu, &k, gs, old_cs);
    stk_push(cpu, &k, gs, ret);
    seg_desc_set_accessed(cpu, &t->cd);
    t->cs.ar |= 1;
    /* commit */
    if (lm)
        seg_load_null(cpu, SEG_SS, (uint16_t)dpl, dpl);
    else
        seg_commit(cpu, SEG_SS, ss_sel, &k.ss);
    seg_commit(cpu, SEG_CS, (t->cs_sel & 0xfffc) | dpl, &t->cs);
    stk_commit_rsp(cpu, &k);
}

/* ---------- JMP far / CALL far ---------- */

static void far_transfer(struct cpu *cpu, uint16_t sel, uint64_t off, unsigned osz, bool call,
                         uint8_t opc)
{
    uint64_t ret = cpu->next_rip;
    uint16_t old_cs = cpu->seg[SEG_CS].sel;
    struct stk k;
    off &= size_mask(osz);

    if (cpu_real_mode(cpu) || cpu_vm86(cpu)) {
        if (off > cpu->seg[SEG_CS].limit)
            cpu_gp0(cpu);
        stk_init_current(cpu, &k, 0);
        if (call) {
            stk_push(cpu, &k, osz, old_cs);
            stk_push(cpu, &k, osz, ret);
        }
        seg_load_real(cpu, SEG_CS, sel);
        stk_commit_rsp(cpu, &k);
        jump_to(cpu, off);
        return;
    }

    if ((sel & 0xfffc) == 0)
        cpu_gp0(cpu);
    uint32_t err = sel & 0xfffcu;
    struct desc d;
    struct seg s;
    seg_desc_fetch(cpu, sel, 8, 0, &d);
    seg_desc_decode(d.lo, &s);
    bool lm = cpu_long_mode(cpu);

    if (ar_code(s.ar)) {
        check_direct_code(cpu, sel, &s);
        uint64_t rip = check_target_rip(cpu, &s, off);
        stk_init_current(cpu, &k, 0);
        if (call) {
            stk_push(cpu, &k, osz, old_cs);
            stk_push(cpu, &k, osz, ret);
        }
        seg_desc_set_accessed(cpu, &d);
        s.ar |= 1;
        seg_commit(cpu, SEG_CS, (sel & 0xfffc) | cpu->cpl, &s);
        stk_commit_rsp(cpu, &k);
        jump_to(cpu, rip);
        return;
    }

    unsigned type = AR_TYPE(s.ar);
    if ((s.ar & AR_S) || !(type == DT_CALL || (type == DT_CALL16 && !lm))) {
        if (!(s.ar & AR_S) && !lm &&
            (type == DT_TASK || type == DT_TSS16_AVAIL || type == DT_TSS_AVAIL))
            task_switch_unsupported(cpu, opc, err);
        cpu_fault(cpu, EXC_GP, err);
    }

    struct gate t;
    resolve_call_gate(cpu, sel, &d, &t);
    unsigned dpl = AR_DPL(t.cs.ar), cpl = cpu->cpl;
    if (!call && !ar_conforming(t.cs.ar) && dpl != cpl)
        cpu_fault(cpu, EXC_GP, t.cs_sel & 0xfffcu);
    uint64_t rip = check_target_rip(cpu, &t.cs, t.rip);
    if (call && !ar_conforming(t.cs.ar) && dpl < cpl) {
        call_gate_inner(cpu, &t, old_cs, ret);
        jump_to(cpu, rip);
        return;
    }
    stk_init_current(cpu, &k, 0);
    if (call) {
        if (t.size == 8)
            k.asz = 8; /* 64-bit gates push on the 64-bit stack */
        stk_push(cpu, &k, t.size, old_cs);
        stk_push(cpu, &k, t.size, ret);
    }
    seg_desc_set_accessed(cpu, &t.cd);
    t.cs.ar |= 1;
    seg_commit(cpu, SEG_CS, (t.cs_sel & 0xfffc) | cpl, &t.cs);
    stk_commit_rsp(cpu, &k);
    jump_to(cpu, rip);
}

/* ptr16:16 / ptr16:32 immediate (EA, 9A; invalid in 64-bit mode) */
void op_jmp_Ap(struct cpu *cpu, const struct insn *in)
{
    far_transfer(cpu, in->imm2, in->imm, in->osz, false, 0xea);
}

void op_call_Ap(struct cpu *cpu, const struct insn *in)
{
    far_transfer(cpu, in->imm2, in->imm, in->osz, true, 0x9a);
}

/* m16:16 / m16:32 / m16:64 memory operand (FF /5, FF /3) */
static void far_indirect(struct cpu *cpu, const struct insn *in, bool call)
{
    uint64_t ea = insn_ea(cpu, in);
    uint64_t off = mem_read(cpu, in->seg, ea, in->osz);
    uint16_t sel = mem_read16(cpu, in->seg, (ea + in->osz) & size_mask(in->asz));
    far_transfer(cpu, sel, off, in->osz, call, 0xff);
}

void op_jmp_Ep(struct cpu *cpu, const struct insn *in) { far_indirect(cpu, in, false); }
void op_call_Ep(struct cpu *cpu, const struct insn *in) { far_indirect(cpu, in, true); }

/* ---------- returns ---------- */

/* Return code segment checks shared by RET far and IRET (SDM Vol.2 RET
 * "PROTECTED-MODE", IRET "PROTECTED-MODE-RETURN"). */
static void check_return_cs(struct cpu *cpu, uint16_t sel, struct desc *d, struct seg *cs)
{
    uint32_t err = sel & 0xfffcu;
    if (!err)
        cpu_gp0(cpu);
    seg_desc_fetch(cpu, sel, 8, 0, d);
    seg_desc_decode(d->lo, cs);
    unsigned rpl = sel & 3, dpl = AR_DPL(cs->ar);
    if (!ar_code(cs->ar) || rpl < cpu->cpl)
        cpu_fault(cpu, EXC_GP, err);
    if (cpu_long_mode(cpu) && (cs->ar & AR_L) && (cs->ar & AR_DB))
        cpu_fault(cpu, EXC_GP, err);
    if (ar_conforming(cs->ar) ? dpl > rpl : dpl != rpl)
        cpu_fault(cpu, EXC_GP, err);
    if (!(cs->ar & AR_P))
        cpu_fault(cpu, EXC_NP, err);
}

/* Stack segment popped by a return to ring 'rpl'.  A null selector is
 * allowed only when returning to 64-bit code at CPL < 3.  Returns true for
 * a null SS (*out then describes it). */
static bool check_return_ss(struct cpu *cpu, uint16_t sel, unsigned rpl, bool target64,
                            struct desc *d, struct seg *out)
{
    if ((sel & 0xfffc) == 0) {
        if (!target64 || rpl == 3)
            cpu_gp0(cpu);
        *out = (struct seg){ .ar = AR_UNUSABLE | (rpl << 5) };
        return true;
    }
    uint32_t err = sel & 0xfffcu;
    seg_desc_fetch(cpu, sel, 8, 0, d);
    seg_desc_decode(d->lo, out);
    if ((sel & 3u) != rpl || !ar_writable_data(out->ar) || AR_DPL(out->ar) != rpl)
        cpu_fault(cpu, EXC_GP, err);
    if (!(out->ar & AR_P))
        cpu_fault(cpu, EXC_SS, err);
    return false;
}

/* Load SS popped by a return (after all checks). */
static void commit_return_ss(struct cpu *cpu, uint16_t sel, bool null, struct desc *d,
                             struct seg *s, unsigned rpl)
{
    if (null) {
        seg_load_null(cpu, SEG_SS, sel, rpl);
        return;
    }
    seg_desc_set_accessed(cpu, d);
    s->ar |= 1;
    seg_commit(cpu, SEG_SS, sel, s);
}

static void far_return(struct cpu *cpu, unsigned osz, unsigned imm)
{
    uint64_t ip = stack_read(cpu, 0, osz);
    uint16_t sel = (uint16_t)stack_read(cpu, osz, osz);
    unsigned a = stack_asz(cpu);
    uint64_t rsp = cpu->r[R_SP];

    if (cpu_real_mode(cpu) || cpu_vm86(cpu)) {
        if (ip > cpu->seg[SEG_CS].limit)
            cpu_gp0(cpu);
        seg_load_real(cpu, SEG_CS, sel);
        reg_set(cpu, R_SP, a, rsp + 2 * osz + imm);
        jump_to(cpu, ip);
        return;
    }

    struct desc d;
    struct seg cs;
    check_return_cs(cpu, sel, &d, &cs);
    unsigned rpl = sel & 3;
    if (rpl > cpu->cpl) {
        /* RETURN-TO-OUTER-PRIVILEGE-LEVEL: SS:ESP above the parameters */
        uint64_t nsp = stack_read(cpu, 2 * osz + imm, osz);
        uint16_t ss = (uint16_t)stack_read(cpu, 3 * osz + imm, osz);
        bool target64 = cpu_long_mode(cpu) && (cs.ar & AR_L);
        struct desc sd;
        struct seg ssd;
        bool null = check_return_ss(cpu, ss, rpl, target64, &sd, &ssd);
        uint64_t rip = check_target_rip(cpu, &cs, ip);
        seg_desc_set_accessed(cpu, &d);
        cs.ar |= 1;
        seg_commit(cpu, SEG_CS, sel, &cs);
        commit_return_ss(cpu, ss, null, &sd, &ssd, rpl);
        stack_set_rsp(cpu, nsp + imm);
        seg_null_outer(cpu, rpl);
        jump_to(cpu, rip);
        return;
    }
    uint64_t rip = check_target_rip(cpu, &cs, ip);
    seg_desc_set_accessed(cpu, &d);
    cs.ar |= 1;
    seg_commit(cpu, SEG_CS, sel, &cs);
    reg_set(cpu, R_SP, a, rsp + 2 * osz + imm);
    jump_to(cpu, rip);
}

void op_retf(struct cpu *cpu, const struct insn *in) { far_return(cpu, in->osz, 0); }
void op_retf_Iw(struct cpu *cpu, const struct insn *in)
{
    far_return(cpu, in->osz, (unsigned)(in->imm & 0xffff));
}

/* ---------- IRET ---------- */

/* RFLAGS bits IRET may change (SDM Vol.2 IRET, RETURN-TO-SAME/OUTER-
 * PRIVILEGE-LEVEL), judged at the CPL before the return. */
static uint64_t iret_flag_mask(const struct cpu *cpu, unsigned osz)
{
    uint64_t m = FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_TF | FL_DF | FL_OF | FL_NT;
    if (osz >= 4)
        m |= FL_RF | FL_AC | FL_ID;
    if (cpu->cpl <= cpu_iopl(cpu))
        m |= FL_IF;
    if (cpu->cpl == 0) {
        m |= FL_IOPL;
        if (osz >= 4)
            m |= FL_VIF | FL_VIP;
    }
    return m;
}

/* Real mode and virtual-8086 mode with IOPL 3: pop IP, CS, FLAGS. */
static void iret_real(struct cpu *cpu, unsigned osz, uint64_t mask)
{
    uint64_t ip = stack_read(cpu, 0, osz);
    uint16_t sel = (uint16_t)stack_read(cpu, osz, osz);
    uint64_t fl = stack_read(cpu, 2 * osz, osz);
    if (ip > cpu->seg[SEG_CS].limit)
        cpu_gp0(cpu);
    unsigned a = stack_asz(cpu);
    uint64_t rsp = cpu->r[R_SP];
    cpu_rflags_merge(cpu, fl, mask);
    seg_load_real(cpu, SEG_CS, sel);
    reg_set(cpu, R_SP, a, rsp + 3 * osz);
    jump_to(cpu, ip);
}

/* IRETD at CPL 0 with VM=1 in the popped EFLAGS (SDM Vol.2 IRET
 * "RETURN-TO-VIRTUAL-8086-MODE"): EIP, CS, EFLAGS, ESP, SS, ES, DS, FS, GS. */
static void iret_to_vm86(struct cpu *cpu, uint64_t ip, uint16_t cs, uint64_t fl)
{
    static const int order[5] = { SEG_SS, SEG_ES, SEG_DS, SEG_FS, SEG_GS };
    uint16_t sel[5];
    uint32_t esp = (uint32_t)stack_read(cpu, 12, 4);
    for (int i = 0; i < 5; i++)
        sel[i] = (uint16_t)stack_read(cpu, 16 + 4 * i, 4);
    if (ip > 0xffff)
        cpu_gp0(cpu);
    cpu_rflags_merge(cpu, fl, 0x3f7fd5); /* everything incl. VM, VIF, VIP */
    seg_load_real(cpu, SEG_CS, cs);
    for (int i = 0; i < 5; i++)
        seg_load_real(cpu, order[i], sel[i]);
    cpu->r[R_SP] = esp;
    jump_to(cpu, ip);
}

void op_iret(struct cpu *cpu, const struct insn *in)
{
    unsigned osz = in->osz;
    /* IRET ends NMI blocking, even when it faults (SDM Vol.3 6.7.1, 27.2.3) */
    cpu->nmi_blocked = 0;
    if (cpu_real_mode(cpu)) {
        iret_real(cpu, osz, osz == 2 ? 0x7fd5 : 0x257fd5);
        return;
    }
    if (cpu_vm86(cpu)) {
        if (cpu_iopl(cpu) < 3) /* no CR4.VME support */
            cpu_gp0(cpu);
        iret_real(cpu, osz, (osz == 2 ? 0x7fd5 : 0x257fd5) & ~(uint64_t)FL_IOPL);
        return;
    }
    bool lm = cpu_long_mode(cpu);
    if (cpu->rflags & FL_NT) {
        if (lm) /* IA-32e mode: #GP(0), no task return */
            cpu_gp0(cpu);
        task_switch_unsupported(cpu, 0xcf, 0);
    }
    uint64_t ip = stack_read(cpu, 0, osz);
    uint16_t sel = (uint16_t)stack_read(cpu, osz, osz);
    uint64_t fl = stack_read(cpu, 2 * osz, osz);
    if (!lm && (fl & FL_VM) && cpu->cpl == 0 && osz == 4) {
        iret_to_vm86(cpu, ip, sel, fl);
        return;
    }
    struct desc d;
    struct seg cs;
    check_return_cs(cpu, sel, &d, &cs);
    unsigned rpl = sel & 3, cpl = cpu->cpl;
    /* 64-bit mode always pops SS:RSP (SDM Vol.3 6.14.3) */
    bool pop_ss = rpl > cpl || cpu->code64;
    uint64_t mask = iret_flag_mask(cpu, osz);
    uint64_t nsp = 0;
    uint16_t ss = 0;
    struct desc sd;
    struct seg ssd;
    bool ss_null = false;
    if (pop_ss) {
        nsp = stack_read(cpu, 3 * osz, osz);
        ss = (uint16_t)stack_read(cpu, 4 * osz, osz);
        ss_null = check_return_ss(cpu, ss, rpl, lm && (cs.ar & AR_L), &sd, &ssd);
    }
    uint64_t rip = check_target_rip(cpu, &cs, ip);
    seg_desc_set_accessed(cpu, &d);
    cs.ar |= 1;

    /* commit */
    unsigned a = stack_asz(cpu);
    uint64_t rsp = cpu->r[R_SP];
    cpu_rflags_merge(cpu, fl, mask);
    seg_commit(cpu, SEG_CS, sel, &cs);
    if (pop_ss) {
        commit_return_ss(cpu, ss, ss_null, &sd, &ssd, rpl);
        stack_set_rsp(cpu, nsp);
    } else {
        reg_set(cpu, R_SP, a, rsp + 3 * osz);
    }
    if (rpl > cpl)
        seg_null_outer(cpu, rpl);
    jump_to(cpu, rip);
}

/* ---------- INT n, INT3, INTO, INT1 ---------- */

void op_int_Ib(struct cpu *cpu, const struct insn *in)
{
    /* IOPL-sensitive in virtual-8086 mode (no CR4.VME redirection) */
    if (cpu_vm86(cpu) && cpu_iopl(cpu) < 3)
        cpu_gp0(cpu);
    cpu_deliver(cpu, (int)(in->imm & 0xff), EV_KIND_SOFT_INT, NO_ERR);
}

void op_int3(struct cpu *cpu, const struct insn *in)
{
    cpu_deliver(cpu, EXC_BP, EV_KIND_SOFT_EXC, NO_ERR);
}

void op_into(struct cpu *cpu, const struct insn *in)
{
    if (cpu_cond(cpu, 0)) /* OF */
        cpu_deliver(cpu, EXC_OF, EV_KIND_SOFT_EXC, NO_ERR);
}

void op_int1(struct cpu *cpu, const struct insn *in)
{
    dbg_icebp(cpu); /* pending breakpoint traps go with this #DB */
    cpu_deliver(cpu, EXC_DB, EV_KIND_PRIV_SOFT, NO_ERR);
}

/* ---------- SYSCALL / SYSRET / SYSENTER / SYSEXIT ---------- */

void op_syscall(struct cpu *cpu, const struct insn *in)
{
    /* Intel: 64-bit mode only, EFER.SCE */
    if (!cpu->code64 || !(cpu->efer & EFER_SCE))
        cpu_ud(cpu);
    uint64_t fl = cpu_get_rflags(cpu);
    uint16_t sel = (uint16_t)(cpu->star >> 32) & 0xfffc;
    cpu->r[R_CX] = cpu->next_rip;
    cpu->r[R_R11] = fl & ~(uint64_t)FL_RF;
    cpu_rflags_merge(cpu, 0, cpu->sfmask | FL_RF | FL_VM);
    seg_load_flat_code(cpu, sel, 0, true);
    seg_load_flat_stack(cpu, (uint16_t)(sel + 8), 0);
    jump_to(cpu, cpu->lstar);
}

void op_sysret(struct cpu *cpu, const struct insn *in)
{
    if (!cpu->code64 || !(cpu->efer & EFER_SCE))
        cpu_ud(cpu);
    if (cpu->cpl != 0)
        cpu_gp0(cpu);
    bool to64 = in->osz == 8;
    uint64_t rip = to64 ? cpu->r[R_CX] : (uint32_t)cpu->r[R_CX];
    if (!seg_canonical(rip)) /* Intel: #GP(0) at CPL 0 */
        cpu_gp0(cpu);
    uint16_t base = (uint16_t)(cpu->star >> 48);
    cpu_set_rflags(cpu, (cpu->r[R_R11] & 0x3c7fd7) | 2);
    seg_load_flat_code(cpu, (uint16_t)((to64 ? base + 16 : base) | 3), 3, to64);
    seg_load_flat_stack(cpu, (uint16_t)((base + 8) | 3), 3);
    jump_to(cpu, rip);
}

void op_sysenter(struct cpu *cpu, const struct insn *in)
{
    if (cpu_real_mode(cpu) || (cpu->sysenter_cs & 0xfffc) == 0)
        cpu_gp0(cpu);
    bool lm = cpu_long_mode(cpu);
    uint16_t sel = (uint16_t)cpu->sysenter_cs & 0xfffc;
    cpu->rflags &= ~(uint64_t)(FL_VM | FL_IF | FL_RF);
    seg_load_flat_code(cpu, sel, 0, lm);
    seg_load_flat_stack(cpu, (uint16_t)(sel + 8), 0);
    cpu->r[R_SP] = lm ? cpu->sysenter_esp : (uint32_t)cpu->sysenter_esp;
    jump_to(cpu, lm ? cpu->sysenter_eip : (uint32_t)cpu->sysenter_eip);
}

void op_sysexit(struct cpu *cpu, const struct insn *in)
{
    if (cpu_real_mode(cpu) || (cpu->sysenter_cs & 0xfffc) == 0 || cpu->cpl != 0)
        cpu_gp0(cpu);
    bool to64 = in->osz == 8;
    uint64_t rip = to64 ? cpu->r[R_DX] : (uint32_t)cpu->r[R_DX];
    if (!seg_canonical(rip))
        cpu_gp0(cpu);
    uint16_t cs = (uint16_t)((cpu->sysenter_cs + (to64 ? 32 : 16)) | 3);
    seg_load_flat_code(cpu, cs, 3, to64);
    seg_load_flat_stack(cpu, (uint16_t)(cs + 8), 3);
    cpu->r[R_SP] = to64 ? cpu->r[R_CX] : (uint32_t)cpu->r[R_CX];
    jump_to(cpu, rip);
}
