/*
 * seg.c — segment descriptors and segment registers.
 *
 *  - descriptor fetch from the GDT/LDT (implicit supervisor reads through
 *    mem_read_sys) and decoding into struct seg (VMCS access-rights layout);
 *  - seg_load(): MOV/POP Sreg and LDS/LES/LFS/LGS/LSS in real, virtual-8086,
 *    protected and IA-32e mode (SDM Vol.3 3.4.3, 5.4-5.6; Vol.2 MOV, POP, LDS
 *    pseudocode);
 *  - LLDT/LTR loads (SDM Vol.2 LLDT, LTR; Vol.3 7.2.3 busy flag);
 *  - the segment instructions MOV Sreg, PUSH/POP Sreg, LxS, LAR, LSL, VERR,
 *    VERW and ARPL;
 *  - helpers for building a stack frame on another stack and for the TSS
 *    inner stacks, shared with far transfers (ops_far.c) and event delivery
 *    (intr.c).
 *
 * Every check that can fault happens before anything is committed; the
 * accessed bit is written into the descriptor last (SDM Vol.3 3.4.5.1: the
 * processor sets it when it loads the selector).
 */
#include "cpu/seg.h"

#include "cpu/exec.h"
#include "cpu/mem.h"
#include "cpu/ops_seg.h"

/* ---------- descriptors ---------- */

void seg_desc_decode(uint64_t d, struct seg *out)
{
    uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
    uint32_t ar = (uint32_t)(((d >> 40) & 0xff) | ((d >> 40) & 0xf000));
    if (ar & AR_G)
        limit = (limit << 12) | 0xfff;
    out->base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000);
    out->limit = limit;
    out->ar = ar;
}

void seg_desc_decode16(uint64_t lo, uint64_t hi, struct seg *out)
{
    seg_desc_decode(lo, out);
    out->base |= (hi & 0xffffffffull) << 32;
}

bool seg_desc_try_fetch(struct cpu *cpu, uint16_t sel, unsigned size, struct desc *d)
{
    uint64_t base;
    uint32_t limit;
    if (sel & 4) {
        if (cpu->ldtr.ar & AR_UNUSABLE)
            return false;
        base = cpu->ldtr.base;
        limit = cpu->ldtr.limit;
    } else {
        base = cpu->gdtr.base;
        limit = cpu->gdtr.limit;
    }
    uint32_t off = sel & 0xfff8u;
    if ((uint64_t)off + size - 1 > limit)
        return false;
    uint64_t addr = base + off;
    if (!cpu_long_mode(cpu))
        addr = (uint32_t)addr;
    d->addr = addr;
    d->lo = mem_read_sys(cpu, addr, 8);
    d->hi = size == 16 ? mem_read_sys(cpu, addr + 8, 8) : 0;
    return true;
}

void seg_desc_fetch(struct cpu *cpu, uint16_t sel, unsigned size, uint32_t ext, struct desc *d)
{
    if (!seg_desc_try_fetch(cpu, sel, size, d))
        cpu_fault(cpu, EXC_GP, (sel & 0xfffcu) | ext);
}

void seg_desc_set_accessed(struct cpu *cpu, struct desc *d)
{
    if (d->lo & (1ull << 40))
        return;
    d->lo |= 1ull << 40;
    mem_write_sys(cpu, d->addr + 5, 1, (d->lo >> 40) & 0xff);
}

/* ---------- committing segment registers ---------- */

void seg_commit(struct cpu *cpu, int seg, uint16_t sel, const struct seg *s)
{
    /* The decoder's blocks depend on segment bases outside 64-bit mode
     * (cpu.h rule 5). */
    if (!cpu->code64 && cpu->seg[seg].base != s->base)
        cpu_end_block(cpu);
    cpu_set_seg(cpu, seg, sel, s->base, s->limit, s->ar);
}

void seg_load_null(struct cpu *cpu, int seg, uint16_t sel, unsigned dpl)
{
    /* SDM Vol.3 5.4.1: a null selector can be loaded into DS, ES, FS, GS
     * (and SS in 64-bit mode at CPL < 3); the register becomes unusable.
     * Intel processors also clear the base (so FS/GS bases read 0). */
    struct seg s = { .base = 0, .limit = 0, .ar = AR_UNUSABLE | ((dpl & 3) << 5) };
    seg_commit(cpu, seg, sel, &s);
}

void seg_load_real(struct cpu *cpu, int seg, uint16_t sel)
{
    /* Real mode (SDM Vol.3 20.1.1): base = selector * 16; the limit and
     * attributes stay as they are ("unreal mode").  Virtual-8086 mode (SDM
     * Vol.3 20.2.1): 64 KiB, DPL 3, read/write accessed (VMCS 26.3.1.2). */
    struct seg s = cpu->seg[seg];
    s.base = (uint32_t)sel << 4;
    if (cpu_vm86(cpu)) {
        s.limit = 0xffff;
        s.ar = seg == SEG_CS ? 0xfb : 0xf3;
    } else if (s.ar & AR_UNUSABLE) {
        s.ar = seg == SEG_CS ? 0x9b : 0x93;
    }
    seg_commit(cpu, seg, sel, &s);
}

void seg_load(struct cpu *cpu, int seg, uint16_t sel)
{
    if (cpu_real_mode(cpu) || cpu_vm86(cpu)) {
        seg_load_real(cpu, seg, sel);
        return;
    }
    unsigned rpl = sel & 3, cpl = cpu->cpl;
    if ((sel & 0xfffc) == 0) {
        /* SS: null allowed only in 64-bit mode at CPL < 3 with RPL == CPL
         * (SDM Vol.2 MOV: "#GP(0) if attempt to load SS with NULL"). */
        if (seg == SEG_SS && (!cpu->code64 || cpl == 3 || rpl != cpl))
            cpu_gp0(cpu);
        seg_load_null(cpu, seg, sel, seg == SEG_SS ? cpl : 0);
        return;
    }
    uint32_t err = sel & 0xfffcu;
    struct desc d;
    struct seg s;
    seg_desc_fetch(cpu, sel, 8, 0, &d);
    seg_desc_decode(d.lo, &s);
    unsigned dpl = AR_DPL(s.ar);
    if (seg == SEG_SS) {
        if (rpl != cpl || !ar_writable_data(s.ar) || dpl != cpl)
            cpu_fault(cpu, EXC_GP, err);
        if (!(s.ar & AR_P))
            cpu_fault(cpu, EXC_SS, err);
    } else {
        /* data or readable code; data and non-conforming code need
         * max(CPL, RPL) <= DPL (SDM Vol.3 5.6) */
        if (!ar_readable(s.ar) || (!ar_conforming(s.ar) && (rpl > dpl || cpl > dpl)))
            cpu_fault(cpu, EXC_GP, err);
        if (!(s.ar & AR_P))
            cpu_fault(cpu, EXC_NP, err);
    }
    seg_desc_set_accessed(cpu, &d);
    s.ar |= 1;
    seg_commit(cpu, seg, sel, &s);
}

void seg_null_outer(struct cpu *cpu, unsigned cpl)
{
    static const int regs[4] = { SEG_ES, SEG_DS, SEG_FS, SEG_GS };
    for (int i = 0; i < 4; i++) {
        struct seg s = cpu->seg[regs[i]];
        if (s.ar & AR_UNUSABLE)
            continue;
        if ((ar_data(s.ar) || (ar_code(s.ar) && !ar_conforming(s.ar))) && AR_DPL(s.ar) < cpl) {
            /* The selector becomes null; in 64-bit mode the FS/GS base
             * (possibly set through the MSRs) is left alone. */
            s.ar |= AR_UNUSABLE;
            seg_commit(cpu, regs[i], 0, &s);
        }
    }
}

static void seg_load_flat(struct cpu *cpu, int seg, uint16_t sel, uint32_t ar)
{
    struct seg s = { .base = 0, .limit = 0xffffffffu, .ar = ar };
    seg_commit(cpu, seg, sel, &s);
}

void seg_load_flat_code(struct cpu *cpu, uint16_t sel, unsigned dpl, bool l64)
{
    /* type 11 (execute/read, accessed), S, P, G; L or D (SDM SYSCALL/SYSRET) */
    seg_load_flat(cpu, SEG_CS, sel,
                  0xb | AR_S | (dpl << 5) | AR_P | AR_G | (l64 ? AR_L : AR_DB));
}

void seg_load_flat_stack(struct cpu *cpu, uint16_t sel, unsigned dpl)
{
    /* type 3 (read/write, accessed), S, P, B, G */
    seg_load_flat(cpu, SEG_SS, sel, 0x3 | AR_S | (dpl << 5) | AR_P | AR_DB | AR_G);
}

/* ---------- LDTR and TR ---------- */

/* Fetch a GDT system descriptor for LLDT/LTR: 8 bytes, or 16 in IA-32e mode
 * whose upper type field must be 0 (SDM Vol.3 Figure 7-4, 5-9). */
static void fetch_system_desc(struct cpu *cpu, uint16_t sel, struct desc *d, struct seg *s)
{
    uint32_t err = sel & 0xfffcu;
    if (sel & 4) /* must be in the GDT */
        cpu_fault(cpu, EXC_GP, err);
    if (cpu_long_mode(cpu)) {
        seg_desc_fetch(cpu, sel, 16, 0, d);
        seg_desc_decode16(d->lo, d->hi, s);
        if (((d->hi >> 40) & 0x1f) != 0 || !seg_canonical(s->base))
            cpu_fault(cpu, EXC_GP, err);
    } else {
        seg_desc_fetch(cpu, sel, 8, 0, d);
        seg_desc_decode(d->lo, s);
    }
}

void seg_load_ldtr(struct cpu *cpu, uint16_t sel)
{
    if ((sel & 0xfffc) == 0) {
        /* a null selector marks LDTR invalid (SDM Vol.2 LLDT) */
        cpu->ldtr = (struct seg){ .sel = sel, .ar = AR_UNUSABLE };
        return;
    }
    struct desc d;
    struct seg s;
    fetch_system_desc(cpu, sel, &d, &s);
    if ((s.ar & AR_S) || AR_TYPE(s.ar) != DT_LDT)
        cpu_fault(cpu, EXC_GP, sel & 0xfffcu);
    if (!(s.ar & AR_P))
        cpu_fault(cpu, EXC_NP, sel & 0xfffcu);
    s.sel = sel;
    cpu->ldtr = s;
}

void seg_load_tr(struct cpu *cpu, uint16_t sel)
{
    if ((sel & 0xfffc) == 0)
        cpu_gp0(cpu);
    struct desc d;
    struct seg s;
    fetch_system_desc(cpu, sel, &d, &s);
    unsigned type = AR_TYPE(s.ar);
    /* available TSS: 32/64-bit, or 16-bit outside IA-32e mode */
    bool ok = !(s.ar & AR_S) &&
              (type == DT_TSS_AVAIL || (type == DT_TSS16_AVAIL && !cpu_long_mode(cpu)));
    if (!ok)
        cpu_fault(cpu, EXC_GP, sel & 0xfffcu);
    if (!(s.ar & AR_P))
        cpu_fault(cpu, EXC_NP, sel & 0xfffcu);
    /* mark the TSS busy in the descriptor (SDM Vol.3 7.2.2) */
    d.lo |= 2ull << 40;
    mem_write_sys(cpu, d.addr + 5, 1, (d.lo >> 40) & 0xff);
    s.ar |= 2;
    s.sel = sel;
    cpu->tr = s;
}

/* ---------- limits, other stacks, TSS ---------- */

bool seg_limit_ok(const struct seg *s, uint64_t off, unsigned size)
{
    uint64_t last = off + size - 1;
    if ((s->ar & (AR_S | 0xc)) == (AR_S | 0x4)) { /* expand-down data (SDM 3.4.5.1) */
        uint64_t top = (s->ar & AR_DB) ? 0xffffffffull : 0xffffull;
        return off > s->limit && last <= top;
    }
    return last <= s->limit;
}

void stk_push(struct cpu *cpu, struct stk *k, unsigned size, uint64_t v)
{
    uint64_t off = (k->sp - size) & size_mask(k->asz);
    uint64_t lin;
    if (k->asz == 8) {
        lin = off;
        if (!seg_canonical(lin) || !seg_canonical(lin + size - 1))
            cpu_fault(cpu, EXC_SS, k->err);
    } else {
        if (!seg_limit_ok(&k->ss, off, size))
            cpu_fault(cpu, EXC_SS, k->err);
        lin = (uint32_t)(k->ss.base + off);
    }
    mem_write_lin_slow(cpu, lin, size, v & size_mask(size), k->acc);
    k->sp = off;
}

void stk_commit_rsp(struct cpu *cpu, const struct stk *k)
{
    switch (k->asz) {
    case 2: cpu->r[R_SP] = (k->rsp_base & ~0xffffull) | (k->sp & 0xffff); break;
    case 4: cpu->r[R_SP] = (uint32_t)k->sp; break;
    default: cpu->r[R_SP] = k->sp; break;
    }
}

void stk_init_current(struct cpu *cpu, struct stk *k, uint32_t err)
{
    k->ss = cpu->seg[SEG_SS];
    k->sp = k->rsp_base = cpu->r[R_SP];
    k->asz = stack_asz(cpu);
    k->acc = ACC_WRITE;
    k->err = err;
}

void tss_inner_stack(struct cpu *cpu, unsigned dpl, unsigned ist, uint32_t ext, uint16_t *ss,
                     uint64_t *sp)
{
    const struct seg *tr = &cpu->tr;
    uint32_t err = (tr->sel & 0xfffcu) | ext;
    if (tr->ar & AR_UNUSABLE)
        cpu_fault(cpu, EXC_TS, err);
    unsigned type = AR_TYPE(tr->ar);
    if (cpu_long_mode(cpu)) {
        /* 64-bit TSS (SDM Vol.3 Figure 7-11): RSPn at 4 + 8n, ISTn at 0x24 + 8(n-1) */
        uint32_t off = ist ? 0x24 + (ist - 1) * 8 : 4 + dpl * 8;
        if (off + 7 > tr->limit)
            cpu_fault(cpu, EXC_TS, err);
        *sp = mem_read_sys(cpu, tr->base + off, 8);
        *ss = (uint16_t)dpl; /* null selector with RPL = new CPL */
    } else if (type == DT_TSS16_AVAIL || type == DT_TSS16_BUSY) {
        /* 16-bit TSS (SDM Vol.3 Figure 7-16): SPn at 2 + 4n, SSn at 4 + 4n */
        uint32_t off = 2 + dpl * 4;
        if (off + 3 > tr->limit)
            cpu_fault(cpu, EXC_TS, err);
        *sp = mem_read_sys(cpu, (uint32_t)(tr->base + off), 2);
        *ss = (uint16_t)mem_read_sys(cpu, (uint32_t)(tr->base + off + 2), 2);
    } else {
        /* 32-bit TSS (SDM Vol.3 Figure 7-2): ESPn at 4 + 8n, SSn at 8 + 8n */
        uint32_t off = 4 + dpl * 8;
        if (off + 5 > tr->limit)
            cpu_fault(cpu, EXC_TS, err);
        *sp = mem_read_sys(cpu, (uint32_t)(tr->base + off), 4);
        *ss = (uint16_t)mem_read_sys(cpu, (uint32_t)(tr->base + off + 4), 2);
    }
}

void seg_check_inner_ss(struct cpu *cpu, uint16_t ss_sel, unsigned dpl, uint32_t ext,
                        struct seg *out)
{
    /* SDM Vol.2 CALL (MORE-PRIVILEGE) and INT n (INTER-PRIVILEGE-LEVEL) */
    uint32_t err = (ss_sel & 0xfffcu) | ext;
    struct desc d;
    if ((ss_sel & 0xfffc) == 0)
        cpu_fault(cpu, EXC_TS, ext);
    if (!seg_desc_try_fetch(cpu, ss_sel, 8, &d))
        cpu_fault(cpu, EXC_TS, err);
    seg_desc_decode(d.lo, out);
    if ((ss_sel & 3) != dpl || AR_DPL(out->ar) != dpl || !ar_writable_data(out->ar))
        cpu_fault(cpu, EXC_TS, err);
    if (!(out->ar & AR_P))
        cpu_fault(cpu, EXC_SS, err);
    seg_desc_set_accessed(cpu, &d);
    out->ar |= 1;
    out->sel = ss_sel;
}

void seg_gate_target(struct cpu *cpu, uint16_t sel, uint32_t ext, struct desc *d,
                     struct seg *cs)
{
    /* Code segment named by a call or interrupt gate (SDM Vol.2 CALL
     * "CALL-GATE", INT n "PROTECTED-MODE"): not null, a code segment with
     * DPL <= CPL, a 64-bit one in IA-32e mode, present. */
    uint32_t err = (sel & 0xfffcu) | ext;
    if ((sel & 0xfffc) == 0)
        cpu_fault(cpu, EXC_GP, ext);
    seg_desc_fetch(cpu, sel, 8, ext, d);
    seg_desc_decode(d->lo, cs);
    if (!ar_code(cs->ar) || AR_DPL(cs->ar) > cpu->cpl)
        cpu_fault(cpu, EXC_GP, err);
    if (cpu_long_mode(cpu) && (!(cs->ar & AR_L) || (cs->ar & AR_DB)))
        cpu_fault(cpu, EXC_GP, err);
    if (!(cs->ar & AR_P))
        cpu_fault(cpu, EXC_NP, err);
}

void cpu_rflags_merge(struct cpu *cpu, uint64_t v, uint64_t mask)
{
    uint64_t f = cpu_get_rflags(cpu);
    f = (f & ~mask) | (v & mask) | 2;
    cpu_set_rflags(cpu, f);
}

/* ---------- MOV / PUSH / POP Sreg, LxS ---------- */

static void set_ss_shadow(struct cpu *cpu)
{
    /* MOV SS / POP SS inhibit interrupts and debug traps until the next
     * instruction completes (SDM Vol.3 6.8.3).  Value 2 = "blocking by
     * MOV SS" in the VMCS interruptibility-state format (SDM 24.4.2; STI
     * uses 1), which VMLAUNCH/VMRESUME and VM exits need to tell apart. */
    cpu->intr_shadow = 2;
    cpu->intr_shadow_rip = cpu->next_rip;
    cpu_end_block(cpu);
}

void op_mov_SwEw(struct cpu *cpu, const struct insn *in)
{
    unsigned sr = in->reg & 7;
    if (sr == SEG_CS || sr > SEG_GS)
        cpu_ud(cpu);
    uint16_t sel = (uint16_t)op_read_rm(cpu, in, 2);
    seg_load(cpu, (int)sr, sel);
    if (sr == SEG_SS)
        set_ss_shadow(cpu);
}

void op_mov_EwSw(struct cpu *cpu, const struct insn *in)
{
    unsigned sr = in->reg & 7;
    if (sr > SEG_GS)
        cpu_ud(cpu);
    uint16_t v = cpu->seg[sr].sel;
    if (in->mod == 3)
        reg_set(cpu, in->rm, in->osz, v); /* 32/64-bit destinations zero-extend */
    else
        mem_write16(cpu, in->seg, insn_ea(cpu, in), v);
}

static void push_sreg(struct cpu *cpu, const struct insn *in, int sr)
{
    uint16_t v = cpu->seg[sr].sel;
    if (in->osz == 4) {
        /* SDM Vol.2 PUSH: recent processors write only the 16-bit selector
         * and leave the upper half of the 32-bit slot unmodified. */
        stack_write(cpu, -4, 2, v);
        stack_set_rsp(cpu, cpu->r[R_SP] - 4);
    } else {
        cpu_push(cpu, in->osz, v); /* 16-bit, or zero-extended to 64 */
    }
}

static void pop_sreg(struct cpu *cpu, const struct insn *in, int sr)
{
    unsigned a = stack_asz(cpu);
    uint64_t rsp = cpu->r[R_SP];
    uint16_t v = (uint16_t)stack_read(cpu, 0, in->osz);
    seg_load(cpu, sr, v);
    /* the increment uses the stack width in effect before the load */
    reg_set(cpu, R_SP, a, rsp + in->osz);
    if (sr == SEG_SS)
        set_ss_shadow(cpu);
}

void op_push_ES(struct cpu *cpu, const struct insn *in) { push_sreg(cpu, in, SEG_ES); }
void op_push_CS(struct cpu *cpu, const struct insn *in) { push_sreg(cpu, in, SEG_CS); }
void op_push_SS(struct cpu *cpu, const struct insn *in) { push_sreg(cpu, in, SEG_SS); }
void op_push_DS(struct cpu *cpu, const struct insn *in) { push_sreg(cpu, in, SEG_DS); }
void op_push_FS(struct cpu *cpu, const struct insn *in) { push_sreg(cpu, in, SEG_FS); }
void op_push_GS(struct cpu *cpu, const struct insn *in) { push_sreg(cpu, in, SEG_GS); }
void op_pop_ES(struct cpu *cpu, const struct insn *in) { pop_sreg(cpu, in, SEG_ES); }
void op_pop_SS(struct cpu *cpu, const struct insn *in) { pop_sreg(cpu, in, SEG_SS); }
void op_pop_DS(struct cpu *cpu, const struct insn *in) { pop_sreg(cpu, in, SEG_DS); }
void op_pop_FS(struct cpu *cpu, const struct insn *in) { pop_sreg(cpu, in, SEG_FS); }
void op_pop_GS(struct cpu *cpu, const struct insn *in) { pop_sreg(cpu, in, SEG_GS); }

/* LDS/LES/LFS/LGS/LSS r, m16:16/32/64: offset first, selector after it. */
static void load_far_pointer(struct cpu *cpu, const struct insn *in, int sr)
{
    uint64_t ea = insn_ea(cpu, in);
    uint64_t off = mem_read(cpu, in->seg, ea, in->osz);
    uint16_t sel = mem_read16(cpu, in->seg, (ea + in->osz) & size_mask(in->asz));
    seg_load(cpu, sr, sel);
    reg_set(cpu, in->reg, in->osz, off);
}

void op_les_GzMp(struct cpu *cpu, const struct insn *in) { load_far_pointer(cpu, in, SEG_ES); }
void op_lds_GzMp(struct cpu *cpu, const struct insn *in) { load_far_pointer(cpu, in, SEG_DS); }
void op_lss_GvMp(struct cpu *cpu, const struct insn *in) { load_far_pointer(cpu, in, SEG_SS); }
void op_lfs_GvMp(struct cpu *cpu, const struct insn *in) { load_far_pointer(cpu, in, SEG_FS); }
void op_lgs_GvMp(struct cpu *cpu, const struct insn *in) { load_far_pointer(cpu, in, SEG_GS); }

/* ---------- LAR, LSL, VERR, VERW, ARPL ---------- */

static void require_protected(struct cpu *cpu)
{
    if (cpu_real_mode(cpu) || cpu_vm86(cpu))
        cpu_ud(cpu);
}

/* Descriptor named by 'sel' if it exists and is visible at CPL/RPL (the
 * common part of the LAR/LSL/VERR/VERW checks; conforming code skips the
 * privilege test). */
static bool probe_desc(struct cpu *cpu, uint16_t sel, struct desc *d, struct seg *s)
{
    if ((sel & 0xfffc) == 0 || !seg_desc_try_fetch(cpu, sel, 8, d))
        return false;
    seg_desc_decode(d->lo, s);
    unsigned dpl = AR_DPL(s->ar);
    return ar_conforming(s->ar) || (cpu->cpl <= dpl && (sel & 3u) <= dpl);
}

/* System types LAR/LSL accept (SDM Vol.2 LAR Table 3-56, LSL Table 3-59). */
#define LAR_SYS_LEGACY 0x1a3eu /* 1,2,3,4,5,9,B,C */
#define LAR_SYS_LONG 0x1a04u   /* 2,9,B,C */
#define LSL_SYS_LEGACY 0x0a0eu /* 1,2,3,9,B */
#define LSL_SYS_LONG 0x0a04u   /* 2,9,B */

static bool probe_typed(struct cpu *cpu, const struct insn *in, uint16_t types_legacy,
                        uint16_t types_long, struct desc *d, struct seg *s)
{
    require_protected(cpu);
    uint16_t sel = (uint16_t)op_read_rm(cpu, in, 2);
    bool ok = probe_desc(cpu, sel, d, s);
    if (ok && !(s->ar & AR_S)) {
        uint16_t types = cpu_long_mode(cpu) ? types_long : types_legacy;
        ok = (types >> AR_TYPE(s->ar)) & 1;
    }
    flags_set(cpu, FL_ZF, ok ? FL_ZF : 0);
    return ok;
}

void op_lar_GvEw(struct cpu *cpu, const struct insn *in)
{
    struct desc d;
    struct seg s;
    if (!probe_typed(cpu, in, LAR_SYS_LEGACY, LAR_SYS_LONG, &d, &s))
        return;
    uint32_t mask = in->osz == 2 ? 0xff00u : 0x00f0ff00u;
    reg_set(cpu, in->reg, in->osz, (d.lo >> 32) & mask);
}

void op_lsl_GvEw(struct cpu *cpu, const struct insn *in)
{
    struct desc d;
    struct seg s;
    if (!probe_typed(cpu, in, LSL_SYS_LEGACY, LSL_SYS_LONG, &d, &s))
        return;
    reg_set(cpu, in->reg, in->osz, s.limit);
}

static void verify(struct cpu *cpu, const struct insn *in, bool write)
{
    require_protected(cpu);
    struct desc d;
    struct seg s;
    uint16_t sel = (uint16_t)op_read_rm(cpu, in, 2);
    bool ok = probe_desc(cpu, sel, &d, &s) &&
              (write ? ar_writable_data(s.ar) : ar_readable(s.ar));
    flags_set(cpu, FL_ZF, ok ? FL_ZF : 0);
}

void op_verr_Ew(struct cpu *cpu, const struct insn *in) { verify(cpu, in, false); }
void op_verw_Ew(struct cpu *cpu, const struct insn *in) { verify(cpu, in, true); }

void op_arpl_EwGw(struct cpu *cpu, const struct insn *in)
{
    require_protected(cpu);
    struct rmw m;
    uint16_t dst = (uint16_t)rmw_begin(cpu, in, 2, &m);
    uint16_t src = (uint16_t)reg_get(cpu, in->reg, 2);
    if ((dst & 3) < (src & 3)) {
        rmw_commit(cpu, &m, (dst & ~3u) | (src & 3u));
        flags_set(cpu, FL_ZF, FL_ZF);
    } else {
        flags_set(cpu, FL_ZF, 0);
    }
}
