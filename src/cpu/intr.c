/*
 * intr.c — event delivery: cpu_deliver() (exec.h).
 *
 * One entry for every event: hardware exceptions, external interrupts, NMI,
 * INT n / INT3 / INTO / INT1.  Three mechanisms:
 *   real mode      the IVT at IDTR.base: push FLAGS, CS, IP; clear IF, TF,
 *                  AC (SDM Vol.3 20.1.4; Vol.2 INT n "REAL-ADDRESS-MODE");
 *   protected mode 8-byte IDT gates: 16/32-bit interrupt and trap gates,
 *                  stack switch from the TSS for an inner ring, error code;
 *                  interrupts from virtual-8086 mode also push GS/FS/DS/ES
 *                  (SDM Vol.3 6.10-6.13, Vol.2 INT n pseudocode);
 *   IA-32e mode    16-byte gates, IST, RSP aligned to 16, SS:RSP always
 *                  pushed, SS = null selector with RPL = new CPL on a
 *                  privilege change (SDM Vol.3 6.14).
 * Task gates (hardware task switches) are not supported: reported once and
 * turned into #GP(vector*8+2+EXT).
 *
 * Delivery protocol with the instruction loop (exec.c):
 *   - cpu_deliver() is called by the loop for faults (cpu_fault() longjmps
 *     to the loop, which calls cpu_deliver(fault_vector, EV_KIND_EXC, ...)),
 *     for NMIs / external interrupts / the single-step trap, and by the INT
 *     instructions from inside their handlers.
 *   - While a delivery is under way cpu->in_event = 1 + kind of the event
 *     and cpu->pending_vector = its vector.  Both are set after the
 *     double-fault check and cleared (in_event = 0) when delivery completes.
 *   - Anything that faults during delivery (IDT/GDT/TSS reads, checks, stack
 *     pushes) longjmps to the loop like any fault; nothing was committed.
 *     The loop calls cpu_deliver() again for the new exception, which finds
 *     in_event != 0 and applies SDM Vol.3 Table 6-5:
 *       benign first               → deliver the second one serially;
 *       contributory + contributory → #DF(0);
 *       #PF + (contributory or #PF) → #DF(0);
 *       any exception during #DF    → triple fault: shutdown.
 *     Shutdown sets cpu->state = CPU_SHUTDOWN and returns; the loop checks
 *     cpu->state after cpu_deliver() and leaves with CPU_EXIT_SHUTDOWN.
 *   - Code that abandons a delivery (trap_exceptions, VM exit, INIT) must
 *     clear cpu->in_event, or a later fault is judged as nested.
 *   - In VMX non-root operation vmx_event_exit() (src/vmx/vmx_hooks.h) is
 *     asked first, after the #DF rules and before in_event is updated, so it
 *     still sees the interrupted event for the IDT-vectoring information;
 *     vector -1 asks it about a triple fault.
 *
 * Return address: cpu->rip for faults, external interrupts and NMIs (the
 * loop sets rip to the next instruction for traps), cpu->next_rip for INT
 * n / INT3 / INTO / INT1.  The pushed RFLAGS has RF set for faults (SDM Vol.3
 * 17.3.1.1), so the handler's IRET does not re-trigger an instruction
 * breakpoint.  EXT (bit 0 of selector error codes) is set unless the event
 * is INT n, INT3 or INTO (SDM Vol.3 6.13).  On success: TF, NT, RF, VM are
 * cleared, IF too for interrupt gates, a halted CPU runs again (the pushed
 * RIP is after the HLT), NMIs are blocked after an NMI, cpu->rip and
 * cpu->next_rip point at the handler and cpu_update_mode() runs.
 */
#include "cpu/debug.h"
#include "cpu/exec.h"
#include "cpu/mem.h"
#include "cpu/seg.h"
#include "vmx/vmx_hooks.h"

/* Exception classes for the double-fault rules (SDM Vol.3 Table 6-4). */
enum { XC_BENIGN, XC_CONTRIB, XC_PF, XC_DF };

static int exc_class(int vector, int kind)
{
    if (kind != EV_KIND_EXC)
        return XC_BENIGN; /* interrupts, NMI and software events */
    switch (vector) {
    case EXC_DE: case EXC_TS: case EXC_NP: case EXC_SS: case EXC_GP: return XC_CONTRIB;
    case EXC_PF: case EXC_VE: return XC_PF;
    case EXC_DF: return XC_DF;
    default: return XC_BENIGN;
    }
}

/* Vectors that push an error code (SDM Vol.3 Table 6-1); #CP = 21. */
static bool has_error_code(int vector)
{
    return vector == EXC_DF || (vector >= EXC_TS && vector <= EXC_PF) || vector == EXC_AC ||
           vector == 21;
}

/* Faults (as opposed to traps and aborts) get RF set in the pushed image. */
static bool is_fault(int vector)
{
    switch (vector) {
    case EXC_DE: case EXC_BR: case EXC_UD: case EXC_NM: case EXC_TS: case EXC_NP:
    case EXC_SS: case EXC_GP: case EXC_PF: case EXC_MF: case EXC_AC: case EXC_XM:
    case EXC_VE: case 21:
        return true;
    default:
        return false;
    }
}

static void report_task_gate(struct cpu *cpu)
{
    /* Reported once (exec_report_unimplemented keys on the bytes): the
     * marker "int <vector>" stands for "delivery through a task gate". */
    static const uint8_t marker[2] = { 0xcd, 0x00 };
    exec_report_unimplemented(cpu, marker, 2);
}

/* What one delivery needs, computed once in cpu_deliver(). */
struct ev {
    int vector;
    int kind;
    uint32_t ext;       /* EXT bit for selector error codes */
    uint32_t idt_err;   /* vector * 8 + 2 + EXT */
    bool soft;          /* INT n / INT3 / INTO: gate DPL check */
    bool push_err;
    uint32_t error;
    uint64_t ret_rip;
    uint64_t rflags;    /* image to push */
};

static void set_handler(struct cpu *cpu, uint64_t rip)
{
    cpu->rip = rip;
    cpu->next_rip = rip;
}

/* ---------- real mode (SDM Vol.3 20.1.4) ---------- */

static void deliver_real(struct cpu *cpu, const struct ev *e)
{
    uint32_t off = (uint32_t)e->vector * 4;
    if (off + 3 > cpu->idtr.limit)
        cpu_gp0(cpu);
    uint32_t ent = (uint32_t)mem_read_sys(cpu, (uint32_t)(cpu->idtr.base + off), 4);
    stack_write(cpu, -2, 2, e->rflags);
    stack_write(cpu, -4, 2, cpu->seg[SEG_CS].sel);
    stack_write(cpu, -6, 2, e->ret_rip);
    seg_load_real(cpu, SEG_CS, (uint16_t)(ent >> 16));
    stack_set_rsp(cpu, cpu->r[R_SP] - 6);
    cpu->rflags &= ~(uint64_t)(FL_IF | FL_TF | FL_AC);
    set_handler(cpu, ent & 0xffff);
}

/* ---------- gates ---------- */

/* Read and check the IDT gate; returns the low word (and *hi in IA-32e). */
static uint64_t read_gate(struct cpu *cpu, const struct ev *e, uint64_t *hi)
{
    bool lm = cpu_long_mode(cpu);
    unsigned gsz = lm ? 16 : 8;
    uint64_t off = (uint64_t)e->vector * gsz;
    if (off + gsz - 1 > cpu->idtr.limit)
        cpu_fault(cpu, EXC_GP, e->idt_err);
    uint64_t addr = cpu->idtr.base + off;
    if (!lm)
        addr = (uint32_t)addr;
    uint64_t g = mem_read_sys(cpu, addr, 8);
    *hi = lm ? mem_read_sys(cpu, addr + 8, 8) : 0;
    unsigned type = (g >> 40) & 0x1f; /* S bit included: must be 0 */
    bool ok = lm ? (type == DT_INT || type == DT_TRAP)
                 : (type == DT_TASK || type == DT_INT16 || type == DT_TRAP16 ||
                    type == DT_INT || type == DT_TRAP);
    if (!ok)
        cpu_fault(cpu, EXC_GP, e->idt_err);
    /* software interrupts: gate DPL >= CPL (SDM Vol.3 6.12.1.1) */
    if (e->soft && ((g >> 45) & 3) < cpu->cpl)
        cpu_fault(cpu, EXC_GP, e->idt_err);
    if (!(g & (1ull << 47)))
        cpu_fault(cpu, EXC_NP, e->idt_err);
    if (type == DT_TASK) {
        report_task_gate(cpu);
        cpu_fault(cpu, EXC_GP, e->idt_err);
    }
    return g;
}

static void finish_flags(struct cpu *cpu, uint64_t gate)
{
    /* SDM Vol.3 6.12.1.3: TF, VM, RF, NT cleared; IF for interrupt gates */
    uint64_t clr = FL_TF | FL_NT | FL_RF | FL_VM;
    if (!((gate >> 40) & 1))
        clr |= FL_IF;
    cpu->rflags &= ~clr;
}

/* ---------- protected mode ---------- */

static void deliver_prot(struct cpu *cpu, const struct ev *e)
{
    uint64_t hi;
    uint64_t g = read_gate(cpu, e, &hi);
    bool gate32 = (g >> 43) & 1;
    unsigned sz = gate32 ? 4 : 2;
    uint16_t cs_sel = (uint16_t)(g >> 16);
    uint64_t target = (g & 0xffff) | (gate32 ? ((g >> 32) & 0xffff0000) : 0);
    struct desc cd;
    struct seg cs;
    seg_gate_target(cpu, cs_sel, e->ext, &cd, &cs);
    unsigned dpl = AR_DPL(cs.ar), cpl = cpu->cpl;
    bool inner = !ar_conforming(cs.ar) && dpl < cpl;
    bool vm = cpu_vm86(cpu);
    /* from virtual-8086 mode only to a ring-0 non-conforming segment
     * through a 32-bit gate (SDM Vol.2 INT n, "INTERRUPT-FROM-VIRTUAL-8086-MODE") */
    if (vm && (!inner || dpl != 0 || !gate32))
        cpu_fault(cpu, EXC_GP, (cs_sel & 0xfffcu) | e->ext);
    if (target > cs.limit)
        cpu_fault(cpu, EXC_GP, e->ext);

    struct stk k;
    uint16_t new_ss = 0;
    if (inner) {
        uint64_t sp;
        tss_inner_stack(cpu, dpl, 0, e->ext, &new_ss, &sp);
        seg_check_inner_ss(cpu, new_ss, dpl, e->ext, &k.ss);
        k.sp = k.rsp_base = sp;
        k.asz = (k.ss.ar & AR_DB) ? 4 : 2;
        k.acc = ACC_WRITE | (cpl == 3 ? ACC_SUPER : 0);
        k.err = (new_ss & 0xfffcu) | e->ext;
        if (vm) {
            stk_push(cpu, &k, 4, cpu->seg[SEG_GS].sel);
            stk_push(cpu, &k, 4, cpu->seg[SEG_FS].sel);
            stk_push(cpu, &k, 4, cpu->seg[SEG_DS].sel);
            stk_push(cpu, &k, 4, cpu->seg[SEG_ES].sel);
        }
        stk_push(cpu, &k, sz, cpu->seg[SEG_SS].sel);
        stk_push(cpu, &k, sz, cpu->r[R_SP]);
    } else {
        stk_init_current(cpu, &k, e->ext);
    }
    stk_push(cpu, &k, sz, e->rflags);
    stk_push(cpu, &k, sz, cpu->seg[SEG_CS].sel);
    stk_push(cpu, &k, sz, e->ret_rip);
    if (e->push_err)
        stk_push(cpu, &k, sz, e->error);
    seg_desc_set_accessed(cpu, &cd);

    /* commit */
    unsigned new_cpl = inner ? dpl : cpl;
    finish_flags(cpu, g);
    if (vm) {
        for (int s = SEG_ES; s <= SEG_GS; s++)
            if (s != SEG_CS && s != SEG_SS)
                seg_load_null(cpu, s, 0, 0);
    }
    if (inner)
        seg_commit(cpu, SEG_SS, new_ss, &k.ss);
    cs.ar |= 1;
    seg_commit(cpu, SEG_CS, (cs_sel & 0xfffc) | new_cpl, &cs);
    stk_commit_rsp(cpu, &k);
    set_handler(cpu, target);
}

/* ---------- IA-32e mode (SDM Vol.3 6.14) ---------- */

static void deliver_long(struct cpu *cpu, const struct ev *e)
{
    uint64_t hi;
    uint64_t g = read_gate(cpu, e, &hi);
    uint16_t cs_sel = (uint16_t)(g >> 16);
    uint64_t target = (g & 0xffff) | ((g >> 32) & 0xffff0000) | (hi << 32);
    unsigned ist = (g >> 32) & 7;
    struct desc cd;
    struct seg cs;
    seg_gate_target(cpu, cs_sel, e->ext, &cd, &cs);
    if (!seg_canonical(target))
        cpu_fault(cpu, EXC_GP, e->ext);
    unsigned dpl = AR_DPL(cs.ar), cpl = cpu->cpl;
    bool inner = !ar_conforming(cs.ar) && dpl < cpl;
    unsigned new_cpl = inner ? dpl : cpl;

    struct stk k = { .asz = 8, .err = e->ext };
    uint64_t sp = cpu->r[R_SP];
    if (inner || ist) {
        uint16_t unused;
        tss_inner_stack(cpu, dpl, ist, e->ext, &unused, &sp);
    }
    k.sp = k.rsp_base = sp & ~0xfull;
    k.acc = ACC_WRITE | (cpl == 3 && new_cpl < 3 ? ACC_SUPER : 0);
    stk_push(cpu, &k, 8, cpu->seg[SEG_SS].sel);
    stk_push(cpu, &k, 8, cpu->r[R_SP]);
    stk_push(cpu, &k, 8, e->rflags);
    stk_push(cpu, &k, 8, cpu->seg[SEG_CS].sel);
    stk_push(cpu, &k, 8, e->ret_rip);
    if (e->push_err)
        stk_push(cpu, &k, 8, e->error);
    seg_desc_set_accessed(cpu, &cd);

    /* commit */
    finish_flags(cpu, g);
    if (inner)
        seg_load_null(cpu, SEG_SS, (uint16_t)new_cpl, new_cpl);
    cs.ar |= 1;
    seg_commit(cpu, SEG_CS, (cs_sel & 0xfffc) | new_cpl, &cs);
    cpu->r[R_SP] = k.sp;
    set_handler(cpu, target);
}

/* ---------- entry ---------- */

static void triple_fault(struct cpu *cpu)
{
    cpu->in_event = 0;
    if (unlikely(cpu->nonroot) && vmx_event_exit(cpu, -1, EV_KIND_EXC, NO_ERR))
        return;
    /* SDM Vol.3 6.15 (interrupt 8): the processor enters shutdown */
    cpu->state = CPU_SHUTDOWN;
    cpu_end_block(cpu);
}

void cpu_deliver(struct cpu *cpu, int vector, enum event_kind kind, uint32_t error)
{
    vector &= 0xff;
    if (cpu->in_event) {
        /* A fault while delivering pending_vector (SDM Vol.3 Table 6-5). */
        int first = exc_class(cpu->pending_vector, cpu->in_event - 1);
        int second = exc_class(vector, kind);
        if (first == XC_DF) {
            triple_fault(cpu);
            return;
        }
        if ((first == XC_CONTRIB && second == XC_CONTRIB) ||
            (first == XC_PF && (second == XC_CONTRIB || second == XC_PF))) {
            vector = EXC_DF;
            kind = EV_KIND_EXC;
            error = 0;
        }
    }
    if (unlikely(cpu->nonroot) && vmx_event_exit(cpu, vector, kind, error)) {
        cpu->in_event = 0;
        return;
    }
    cpu->in_event = (uint8_t)(1 + kind);
    cpu->pending_vector = (uint8_t)vector;

    struct ev e;
    e.vector = vector;
    e.kind = kind;
    e.soft = kind == EV_KIND_SOFT_INT || kind == EV_KIND_SOFT_EXC;
    e.ext = e.soft ? 0 : 1;
    e.idt_err = (uint32_t)vector * 8 + 2 + e.ext;
    e.push_err = kind == EV_KIND_EXC && has_error_code(vector);
    e.error = error == NO_ERR ? 0 : error;
    bool sw = e.soft || kind == EV_KIND_PRIV_SOFT;
    e.ret_rip = sw ? cpu->next_rip : cpu->rip;
    if (sw) /* no single-step trap after INT n / INT3 / INTO / INT1 (SDM 17.3.1.4) */
        cpu->db_trap &= ~DR6_BS;
    e.rflags = cpu_get_rflags(cpu);
    if (kind == EV_KIND_EXC && is_fault(vector))
        e.rflags |= FL_RF;

    if (cpu_real_mode(cpu))
        deliver_real(cpu, &e);
    else if (cpu_long_mode(cpu))
        deliver_long(cpu, &e);
    else
        deliver_prot(cpu, &e);

    /* delivered */
    if (kind == EV_KIND_NMI)
        cpu->nmi_blocked = 1;
    if (cpu->state == CPU_HALTED)
        cpu->state = CPU_RUNNING;
    cpu->intr_shadow = 0;
    cpu->in_event = 0;
    cpu_update_mode(cpu);
}
