/*
 * exec.c — the instruction loop, the decoded-block cache and CPU life cycle.
 *
 * The loop:
 *
 *     setjmp(fault_jmp)  ← cpu_fault() longjmps here; the fault is delivered
 *     for (;;) {
 *         events?  → NMI / INIT / SIPI / external interrupt / halt / stop
 *         block = link of the previous block, else lookup(CS:RIP)
 *                                     decode on a miss (may #PF: delivered)
 *         for each insn: next_rip = rip + len; fn(cpu, insn); rip = next_rip
 *     }
 *
 * Speed (fastpath.h): at decode the hottest instruction forms get handlers
 * specialised for their operand form; those run the following instructions
 * of the block themselves (threaded dispatch) and, at the end of a block,
 * its linked successor, so the loop above mostly sees generic handlers,
 * events and cache misses.
 *
 * Commit rule: a handler changes architectural state only after its last
 * access that can fault, so a fault leaves the instruction un-executed and
 * RIP pointing at it (faults are restartable, SDM Vol.3 6.5).
 *
 * Decoded blocks are keyed by the guest-physical address of their first
 * byte and by the decoding context (code size, CPL, VMX non-root, TF).  A
 * block never crosses a 4 KiB page.  Each RAM page that holds decoded code
 * is marked in bus->code_map; writes to such a page take the slow path
 * (the TLB refuses write entries for it), bump bus->page_gen[page] and so
 * invalidate every block decoded from it (self-modifying code, SDM Vol.3
 * 8.1.3).  Instructions that straddle two pages are decoded every time.
 */
#include "cpu/exec.h"

#include <stdio.h>
#include <stdlib.h>

#include "cpu/debug.h"
#include "cpu/fastpath.h"
#include "cpu/mem.h"
#include "cpu/msr.h"
#include "cpu/ops_flow.h"
#include "vmx/vmx_hooks.h"
#include "cpu/jit.h"

#define BLOCK_MAX 32
/* A Linux boot decodes ~0.34 M blocks with these sizes, 0.66 M with 12 bits
 * and 64 Ki instructions, 0.22 M with 15 bits and 256 Ki (5 MiB of pool per
 * vCPU here, touched as it fills). */
#define BCACHE_BITS 14
#define BCACHE_SIZE (1u << BCACHE_BITS)
#define INSN_POOL 131072

struct block {
    uint64_t gpa; /* tag: guest-physical address of the first byte */
    uint32_t key; /* decoding context */
    uint32_t gen; /* page generation at decode time */
    uint32_t first; /* index into pool */
    uint16_t n;
    uint16_t valid;
};

struct block_cache {
    struct block slot[BCACHE_SIZE];
    struct insn pool[INSN_POOL];
    uint32_t used;
    struct insn scratch[1]; /* page-straddling instruction, decoded each time */
    struct jit jit;         /* host code of hot blocks in the pool (jit.c) */
};

/* Pool entries a block's tail (fastpath.h, struct block_link) takes. */
#define TAIL_INSNS ((sizeof(struct block_tail) + sizeof(struct insn) - 1) / sizeof(struct insn))

/* The near branches after which a chain may go on (fastpath.h, struct
 * block_link). */
static bool chain_safe(const struct insn *last)
{
    const struct op_row *row = insn_row(last);
    if (!(row->flags & F_BRANCH))
        return true;
    op_fn *f = row->fn;
    return f == op_jcc_Jb || f == op_jcc_Jz || f == op_jmp_Jb || f == op_jmp_Jz ||
           f == op_jmp_Ev || f == op_call_Jz || f == op_call_Ev || f == op_ret ||
           f == op_ret_Iw || f == op_loop_Jb || f == op_loope_Jb || f == op_loopne_Jb ||
           f == op_jcxz_Jb;
}

/* ---------- faults ---------- */

_Noreturn void cpu_fault(struct cpu *cpu, int vector, uint32_t error)
{
    cpu->fault_vector = vector;
    cpu->fault_error = error;
    longjmp(cpu->fault_jmp, 1);
}

static _Atomic uint8_t unimpl_seen[4 * 256 + 1];

/* One-byte opcodes that are #UD by definition, not by omission: invalid in
 * 64-bit mode (SDM Vol.2 Appendix A.2.5 / Table A-2, "i64"), and D6 (not
 * defined in any mode). */
static bool undefined_opcode(const struct cpu *cpu, uint8_t op)
{
    static const uint8_t i64[] = { 0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37,
                                   0x3f, 0x60, 0x61, 0x62, 0x82, 0x9a, 0xce, 0xd4, 0xd5, 0xea };
    if (op == 0xd6)
        return true;
    if (!cpu->code64)
        return false;
    for (unsigned k = 0; k < sizeof i64; k++)
        if (i64[k] == op)
            return true;
    return false;
}

void exec_report_unimplemented(struct cpu *cpu, const uint8_t *bytes, int len)
{
    /* Report each opcode once: map (by 0F / 0F38 / 0F3A) and opcode byte. */
    int i = 0, map = 0;
    while (i < len && (bytes[i] == 0x66 || bytes[i] == 0x67 || bytes[i] == 0xf2 ||
                       bytes[i] == 0xf3 || bytes[i] == 0xf0 || bytes[i] == 0x2e ||
                       bytes[i] == 0x36 || bytes[i] == 0x3e || bytes[i] == 0x26 ||
                       bytes[i] == 0x64 || bytes[i] == 0x65 ||
                       (cpu->code64 && (bytes[i] & 0xf0) == 0x40)))
        i++;
    if (i < len && bytes[i] == 0x0f) {
        map = 1;
        i++;
        if (i < len && (bytes[i] == 0x38 || bytes[i] == 0x3a)) {
            map = bytes[i] == 0x38 ? 2 : 3;
            i++;
        }
    }
    unsigned key = i < len ? (unsigned)map * 256 + bytes[i] : 4 * 256;
    if (map == 0 && i < len && undefined_opcode(cpu, bytes[i]))
        return; /* #UD is the architectural answer: nothing is missing */
    if (atomic_exchange(&unimpl_seen[key], 1))
        return;
    char hex[64] = "";
    for (int k = 0; k < len && k < 15; k++)
        snprintf(hex + 3 * k, sizeof(hex) - 3 * (size_t)k, "%02x ", bytes[k]);
    fprintf(stderr, "nestvm: cpu%d: unimplemented instruction at %04x:%016llx: %s(raising #UD)\n",
            cpu->index, cpu->seg[SEG_CS].sel, (unsigned long long)cpu->rip, hex);
}

/* Handler for encodings the table does not list. */
static void op_undefined(struct cpu *cpu, const struct insn *in)
{
    uint8_t bytes[15];
    int n = in->len ? in->len : 15;
    if (n > 15)
        n = 15;
    for (int i = 0; i < n; i++)
        bytes[i] = (uint8_t)mem_read_lin(cpu, seg_linear(cpu, SEG_CS, cpu->rip + i, 1, ACC_READ), 1);
    exec_report_unimplemented(cpu, bytes, n);
    cpu_ud(cpu);
}

static void op_lock_ud(struct cpu *cpu, const struct insn *in)
{
    cpu_ud(cpu);
}

static void op_too_long(struct cpu *cpu, const struct insn *in)
{
    cpu_gp0(cpu);
}

_Noreturn void cpu_unimplemented(struct cpu *cpu, const struct insn *in)
{
    op_undefined(cpu, in);
    cpu_ud(cpu);
}

/* ---------- self-modifying code ---------- */

bool exec_page_has_code(struct cpu *cpu, const uint8_t *host)
{
    struct bus *b = cpu->bus;
    return atomic_load_explicit(&b->code_map[(uint64_t)(host - b->ram) >> 12],
                                memory_order_relaxed);
}

/* 'host' points into guest RAM; [host, host+size) lies inside one page. */
void exec_note_write(struct cpu *cpu, const uint8_t *host, unsigned size)
{
    struct bus *b = cpu->bus;
    uint64_t off = (uint64_t)(host - b->ram);
    uint64_t p0 = off >> 12, p1 = (off + size - 1) >> 12;
    for (uint64_t p = p0; p <= p1; p++) {
        if (atomic_load_explicit(&b->code_map[p], memory_order_relaxed)) {
            atomic_store(&b->code_map[p], 0);
            atomic_fetch_add(&b->page_gen[p], 1);
            cpu_end_block(cpu); /* the running block may be the one written */
        }
    }
}

void exec_flush_blocks(struct cpu *cpu)
{
    struct block_cache *c = cpu->bcache;
    for (unsigned i = 0; i < BCACHE_SIZE; i++)
        c->slot[i].valid = 0;
    c->used = 0;
    jit_reset(&c->jit);
    cpu->bcache_flushes++;
    /* The return-address stack points at tails in the pool. */
    for (unsigned i = 0; i < sizeof cpu->ras / sizeof cpu->ras[0]; i++)
        cpu->ras[i].tail = NULL;
    cpu->ras_fill.tail = NULL;
}

/* ---------- decoding blocks ---------- */

static uint32_t block_key(const struct cpu *cpu)
{
    return (uint32_t)cpu->code_bits | (uint32_t)cpu->cpl << 8 | (uint32_t)cpu->nonroot << 10 |
           (uint32_t)((cpu->rflags & FL_TF) || dbg_armed(cpu)) << 11;
}

/* Returns true when in->fn is a specialised variant (fastpath.h). */
static bool finish_insn(struct cpu *cpu, struct insn *in, int r)
{
    if (r == DEC_UD) {
        if (in->lock && in->fn)
            in->fn = op_lock_ud;
        else
            in->fn = op_undefined;
        if (!in->len)
            in->len = 1;
    } else if (r == DEC_TOOLONG) {
        in->fn = op_too_long;
        in->len = 15;
    } else {
        const struct op_row *row = insn_row(in);
        /* VMX non-root: instructions that can exit go through one gate
         * (src/vmx), which asks "does L1 want it" before running them. */
        if (cpu->nonroot && F_EXIT(row->flags))
            in->fn = vmx_op_intercept;
        else if ((row->flags & F_PRIV) && cpu->cpl != 0)
            in->fn = op_too_long; /* #GP(0), SDM: privileged instruction at CPL > 0 */
        else {
            /* A variant compiled for this operand form (fastpath.h). */
            op_fn *fast = insn_specialise(cpu, in);
            if (fast) {
                in->fn = fast;
                return true;
            }
        }
    }
    return false;
}

/* Fetch the linear code address for RIP (CS base, limit). */
static uint64_t fetch_lin(struct cpu *cpu, uint64_t rip, unsigned *limit_avail)
{
    if (cpu->code64) {
        *limit_avail = 15;
        return rip;
    }
    const struct seg *cs = &cpu->seg[SEG_CS];
    if (rip > cs->limit)
        cpu_gp0(cpu);
    uint64_t left = (uint64_t)cs->limit - rip + 1;
    *limit_avail = left > 15 ? 15 : (unsigned)left;
    return (uint32_t)(cs->base + rip);
}

static const struct insn *decode_straddling(struct cpu *cpu, uint64_t lin, const uint8_t *host,
                                            unsigned in_page, unsigned limit_avail)
{
    uint8_t buf[16];
    unsigned want = limit_avail < 15 ? limit_avail : 15;
    memcpy(buf, host, in_page);
    uint64_t gpa2;
    mmu_translate(cpu, lin + in_page, ACC_FETCH, &gpa2);
    uint8_t *h2 = cpu_gpa_host(cpu, gpa2 & ~0xfffull, 4096, ACC_FETCH);
    if (!h2)
        cpu_fault(cpu, EXC_GP, 0); /* executing from MMIO is not supported */
    memcpy(buf + in_page, h2 + (gpa2 & 0xfff), want - in_page);
    struct insn *in = &cpu->bcache->scratch[0];
    int r = decode_insn(buf, (int)want, cpu->code_bits, in);
    if (r == DEC_MORE) /* ran into the CS limit */
        cpu_gp0(cpu);
    finish_insn(cpu, in, r);
    return in;
}

/* Look up or decode the block at CS:RIP.  Returns the number of insns and
 * a pointer to them, and its cache slot (NULL for a page-straddling
 * instruction). */
static __attribute__((noinline)) const struct insn *block_get(struct cpu *cpu, unsigned *count,
                                                              struct block **slot)
{
    *slot = NULL;
    unsigned limit_avail;
    uint64_t lin = fetch_lin(cpu, cpu->rip, &limit_avail);
    const struct tlb_entry *e = &cpu->tlb.x[(lin >> 12) & (TLB_SIZE - 1)];
    uint8_t *page;
    if (likely(e->tag == ((lin & ~0xfffull) | cpu->tlb_ctx))) {
        page = (uint8_t *)(uintptr_t)((lin & ~0xfffull) + e->addend);
    } else {
        uint64_t gpa;
        if (cpu->code64 && (uint64_t)((int64_t)(lin << 16) >> 16) != lin)
            cpu_gp0(cpu);
        mmu_translate(cpu, lin, ACC_FETCH, &gpa);
        /* translate the fetched address itself, not the page base: an EPT
         * violation reports the exact guest-physical address (SDM 27.2.1) */
        unsigned off = (unsigned)(gpa & 0xfff);
        page = cpu_gpa_host(cpu, gpa, 4096 - off, ACC_FETCH);
        if (!page)
            cpu_gp0(cpu); /* code outside RAM: not supported */
        page -= off;
        tlb_fill(cpu, lin, page, ACC_FETCH);
    }

    /* Blocks are tagged by RAM offset (host-physical), so one cache serves
     * L1 and L2 code alike. */
    struct bus *bus = cpu->bus;
    uint64_t gpa = (uint64_t)(page - bus->ram) | (lin & 0xfff);
    uint64_t pn = gpa >> 12;
    uint32_t gen = atomic_load_explicit(&bus->page_gen[pn], memory_order_acquire);
    uint32_t key = block_key(cpu);
    struct block_cache *c = cpu->bcache;
    struct block *b = &c->slot[(gpa ^ (gpa >> BCACHE_BITS)) & (BCACHE_SIZE - 1)];
    if (likely(b->valid && b->gpa == gpa && b->key == key && b->gen == gen)) {
        *count = b->n;
        *slot = b;
        return &c->pool[b->first];
    }

    /* Decode a new block. */
    if (!atomic_load_explicit(&bus->code_map[pn], memory_order_relaxed)) {
        atomic_store(&bus->code_map[pn], 1);
        tlb_drop_write_ram(cpu, gpa);
        exec_broadcast_code_page(cpu);
    }
    unsigned off = (unsigned)(lin & 0xfff);
    unsigned page_left = 4096 - off;
    uint64_t cs_left = cpu->code64 ? ~0ull : (uint64_t)cpu->seg[SEG_CS].limit - cpu->rip + 1;
    unsigned avail = cs_left < page_left ? (unsigned)cs_left : page_left;
    if (c->used + BLOCK_MAX + TAIL_INSNS > INSN_POOL)
        exec_flush_blocks(cpu);
    unsigned max = (key & 1u << 11) ? 1 : BLOCK_MAX; /* single-step or breakpoints */
    struct insn *out = &c->pool[c->used];
    unsigned n = 0, pos = 0;
    uint32_t generic = 0; /* instructions that run generic handlers */
    uint8_t *host = page + off;
    while (n < max) {
        struct insn *in = &out[n];
        int r = decode_insn(host + pos, (int)(avail - pos), cpu->code_bits, in);
        if (r == DEC_MORE) {
            if (n > 0)
                break;
            if (avail < page_left) /* CS limit, not the page end */
                cpu_gp0(cpu);
            *count = 1;
            return decode_straddling(cpu, lin, host, page_left, limit_avail);
        }
        if (!finish_insn(cpu, in, r))
            generic |= 1u << n;
        pos += in->len;
        n++;
        if (r < 0 || (insn_row(in)->flags & F_BRANCH) || pos >= avail)
            break;
    }
    if (n >= 2) { /* an ALU instruction and the Jcc ending the block in one handler */
        op_fn *fused = ops_alu_fuse_jcc(&out[n - 2], &out[n - 1]);
        if (fused)
            out[n - 2].fn = fused;
    }
    struct block_tail *tail = block_tail_of(out, n);
    tail->link[0].rip = tail->link[1].rip = tail->ret.rip = ~0ull;
    tail->generic = generic;
    tail->runs = 0;
    tail->chain = cpu->code64 && chain_safe(&out[n - 1]);
    c->used += n + TAIL_INSNS;
    b->gpa = gpa;
    b->key = key;
    b->gen = gen;
    b->first = (uint32_t)(out - c->pool);
    b->n = (uint16_t)n;
    b->valid = 1;
    *count = n;
    *slot = b;
    return out;
}

/* The common case of block_get() inline: 64-bit code, the fetch TLB maps
 * RIP's page and the block is cached. */
static inline const struct insn *block_lookup(struct cpu *cpu, unsigned *count,
                                              struct block **slot)
{
    uint64_t rip = cpu->rip;
    if (likely(cpu->code64)) {
        const struct tlb_entry *e = &cpu->tlb.x[(rip >> 12) & (TLB_SIZE - 1)];
        if (likely(e->tag == ((rip & ~0xfffull) | cpu->tlb_ctx))) {
            uint64_t gpa = e->ram | (rip & 0xfff);
            uint32_t gen = atomic_load_explicit(&cpu->bus->page_gen[gpa >> 12],
                                                memory_order_acquire);
            struct block_cache *c = cpu->bcache;
            const struct block *b = &c->slot[(gpa ^ (gpa >> BCACHE_BITS)) & (BCACHE_SIZE - 1)];
            if (likely(b->gpa == gpa && b->gen == gen && b->key == block_key(cpu) && b->valid)) {
                *count = b->n;
                *slot = (struct block *)b;
                return &c->pool[b->first];
            }
        }
    }
    return block_get(cpu, count, slot);
}

/* The successor of a completed 64-bit block through one of its links (see
 * struct block_link), or NULL. */
static inline const struct insn *block_follow(struct cpu *cpu, const struct block_tail *t,
                                              uint32_t key, unsigned *count,
                                              struct block_tail **next)
{
    const struct block_link *l = block_link_find(cpu, t, cpu->rip, key);
    if (!l)
        return NULL;
    *count = l->n;
    *next = block_tail_of(l->ins, l->n);
    return l->ins;
}

/* Make l name block b, found at 'rip' (64-bit code). */
static void block_link_set(struct cpu *cpu, struct block_link *l, uint64_t rip,
                           const struct block *b)
{
    const struct insn *ins = &cpu->bcache->pool[b->first];
    *l = (struct block_link){ .rip = rip,
                              .ins = ins,
                              .tlb = &cpu->tlb.x[(rip >> 12) & (TLB_SIZE - 1)],
                              .page = (uint32_t)(b->gpa >> 12),
                              .gen = b->gen,
                              .generic = block_tail_of(ins, b->n)->generic,
                              .key = (uint16_t)b->key,
                              .n = (uint8_t)b->n };
}

/* Remember that block b (at 'rip') followed the block whose tail is t. */
static void block_link(struct cpu *cpu, struct block_tail *t, uint64_t rip, const struct block *b)
{
    if (t->link[0].rip != rip && t->link[1].rip != rip)
        t->link[1] = t->link[0];
    block_link_set(cpu, &t->link[0], rip, b);
}

/* ---------- mode state ---------- */

void cpu_update_mode(struct cpu *cpu)
{
    const struct seg *cs = &cpu->seg[SEG_CS];
    if (!(cpu->cr0 & CR0_PE))
        cpu->cpl = 0;
    else if (cpu->rflags & FL_VM)
        cpu->cpl = 3;
    else
        cpu->cpl = cs->sel & 3;
    cpu->code64 = (cpu->cr0 & CR0_PE) && (cpu->efer & EFER_LMA) && (cs->ar & AR_L);
    if (cpu->code64)
        cpu->code_bits = 64;
    else if (cpu->rflags & FL_VM)
        cpu->code_bits = 16;
    else /* protected mode, and real mode with a cached D bit ("big real") */
        cpu->code_bits = (cs->ar & AR_DB) ? 32 : 16;
    cpu->stack32 = (cpu->seg[SEG_SS].ar & AR_DB) != 0;
    cpu->sse_ok = (cpu->cr4 & CR4_OSFXSR) && !(cpu->cr0 & (CR0_EM | CR0_TS));
    cpu_update_tlb_ctx(cpu);
    cpu_end_block(cpu);
}

void cpu_set_seg(struct cpu *cpu, int seg, uint16_t sel, uint64_t base, uint32_t limit,
                 uint32_t ar)
{
    struct seg *s = &cpu->seg[seg];
    s->sel = sel;
    s->base = base;
    s->limit = limit;
    s->ar = ar;
    if (seg == SEG_CS || seg == SEG_SS)
        cpu_update_mode(cpu);
}

/* ---------- life cycle ---------- */

static struct cpu *all_cpus[64];

void exec_broadcast_code_page(struct cpu *self)
{
    for (int i = 0; i < 64; i++) {
        struct cpu *o = all_cpus[i];
        if (o && o != self && o->bus == self->bus)
            atomic_fetch_or(&o->events, EV_TLB);
    }
}

int cpu_init(struct cpu *cpu, struct bus *bus, int index)
{
    memset(cpu, 0, sizeof(*cpu));
    decode_init();
    cpu->bus = bus;
    cpu->index = index;
    cpu->bcache = calloc(1, sizeof(struct block_cache));
    if (!cpu->bcache)
        return -1;
    cpu->jit_hot = jit_default_hot();
    if (cpu->jit_hot && !jit_init(&cpu->bcache->jit))
        cpu->jit_hot = 0; /* without an executable arena: interpreter only */
    if (index >= 0 && index < 64)
        all_cpus[index] = cpu;
    cpu_reset(cpu);
    return 0;
}

void cpu_destroy(struct cpu *cpu)
{
    if (cpu->index >= 0 && cpu->index < 64 && all_cpus[cpu->index] == cpu)
        all_cpus[cpu->index] = NULL;
    if (cpu->bcache)
        jit_fini(&cpu->bcache->jit);
    free(cpu->bcache);
    cpu->bcache = NULL;
}

/* Power-up state, SDM Vol.3 Table 9-1. */
void cpu_reset(struct cpu *cpu)
{
    memset(cpu->r, 0, sizeof(cpu->r));
    cpu->r[R_DX] = 0x000806ec; /* family/model/stepping signature */
    cpu->rip = 0xfff0;
    cpu->lf.op = LF_NONE;
    cpu->rflags = 2;
    for (int i = 0; i < 6; i++)
        cpu->seg[i] = (struct seg){ .base = 0, .limit = 0xffff, .ar = 0x93, .sel = 0 };
    cpu->seg[SEG_CS] = (struct seg){ .base = 0xffff0000, .limit = 0xffff, .ar = 0x9b, .sel = 0xf000 };
    cpu->ldtr = (struct seg){ .limit = 0xffff, .ar = 0x82 };
    cpu->tr = (struct seg){ .limit = 0xffff, .ar = 0x8b };
    cpu->gdtr = (struct dtr){ 0, 0xffff };
    cpu->idtr = (struct dtr){ 0, 0xffff };
    cpu->cr0 = CR0_ET | CR0_CD | CR0_NW;
    cpu->cr2 = cpu->cr3 = cpu->cr4 = cpu->cr8 = 0;
    cpu->efer = 0;
    cpu->xcr0 = 1;
    memset(cpu->dr, 0, sizeof(cpu->dr));
    cpu->dr[6] = 0xffff0ff0;
    cpu->dr[7] = 0x400;
    cpu->pat = 0x0007040600070406ull;
    cpu->apic_base = 0xfee00000ull | (1ull << 11) | (cpu->index == 0 ? (1ull << 8) : 0);
    memset(&cpu->fpu, 0, sizeof(cpu->fpu));
    cpu->fpu.fcw = 0x40;
    cpu->fpu.ftw = 0x5555; /* SDM: FINIT-like except control word 0x40 */
    cpu->fpu.mxcsr = 0x1f80;
    cpu->state = CPU_RUNNING;
    cpu->intr_shadow = 0;
    cpu->nmi_blocked = 0;
    cpu->nmi_latched = 0;
    cpu->db_trap = 0;
    cpu->in_event = 0;
    cpu->pending_vector = 0xff;
    msr_reset(cpu);
    tlb_flush_all(cpu);
    cpu_update_mode(cpu);
}

void cpu_init_signal(struct cpu *cpu)
{
    /* INIT keeps x87/SSE state, MTRRs, EFER? no: EFER is cleared (SDM 9.1.1). */
    uint64_t apic = cpu->apic_base, fc = cpu->feature_control;
    struct fpu f = cpu->fpu;
    cpu_reset(cpu);
    cpu->apic_base = apic;
    cpu->feature_control = fc;
    cpu->fpu = f;
}

/* ---------- events ---------- */

static bool interrupts_open(struct cpu *cpu)
{
    return (cpu->rflags & FL_IF) && !cpu->intr_shadow;
}

/* Returns -1 to keep running, else a cpu_exit reason. */
/* The periodic look at the clock: the machine's timers and devices, and
 * the VMX-preemption timer of a non-root guest. */
static void exec_poll(struct cpu *cpu)
{
    if (cpu->hooks && cpu->hooks->poll)
        cpu->hooks->poll(cpu);
    if (cpu->nonroot)
        vmx_poll_timer(cpu);
}

static int handle_events(struct cpu *cpu)
{
    bool rescanned = false;
    for (;;) {
        uint32_t ev = atomic_load(&cpu->events);
        if (ev & EV_STOP) {
            atomic_fetch_and(&cpu->events, ~EV_STOP);
            return CPU_EXIT_STOP;
        }
        if (ev & EV_TLB) {
            atomic_fetch_and(&cpu->events, ~EV_TLB);
            tlb_flush_all(cpu);
        }
        if ((ev & (EV_VMX | EV_IRQ | EV_NMI)) && cpu->nonroot && vmx_block_boundary(cpu))
            return -1; /* a VM exit happened: L1 runs from its host state */
        if (cpu->hooks && cpu->hooks->service)
            cpu->hooks->service(cpu); /* INIT/SIPI/NMI from the local APIC */
        if (cpu->state == CPU_SHUTDOWN)
            return CPU_EXIT_SHUTDOWN;
        if (cpu->state == CPU_WAIT_SIPI) {
            if (!cpu->hooks || !cpu->hooks->wait)
                return CPU_EXIT_HALT_FOREVER;
            cpu->hooks->wait(cpu);
            continue;
        }
        /* The STI and MOV SS shadows block NMIs too (SDM Vol.3 6.8.3, 24.4.2).
         * One more NMI may be latched behind the one delivered now; it
         * stays pending until the handler's IRET unblocks NMIs (6.7.1). */
        if ((atomic_load(&cpu->events) & EV_NMI) && !cpu->nmi_blocked && !cpu->intr_shadow) {
            if (cpu->nmi_latched)
                cpu->nmi_latched = 0;
            else
                atomic_fetch_and(&cpu->events, ~EV_NMI);
            cpu->state = CPU_RUNNING;
            cpu->next_rip = cpu->rip;
            cpu_deliver(cpu, EXC_NMI, EV_KIND_NMI, NO_ERR);
            return -1;
        }
        if ((atomic_load(&cpu->events) & EV_IRQ) && interrupts_open(cpu) && cpu->hooks &&
            cpu->hooks->intr_vector) {
            int v = cpu->hooks->intr_vector(cpu, false);
            if (v < 0) {
                atomic_fetch_and(&cpu->events, ~EV_IRQ);
                v = cpu->hooks->intr_vector(cpu, false); /* close the race with a sender */
                if (v >= 0)
                    atomic_fetch_or(&cpu->events, EV_IRQ);
                else if (cpu->hooks->service && !rescanned) {
                    rescanned = true; /* the kick just cleared may have been for an NMI,
                                         INIT or SIPI posted after service() looked */
                    continue;
                }
            }
            if (v >= 0) {
                /* VMX non-root: "external-interrupt exiting" turns it into a
                 * VM exit to L1 (done by the hook) instead of delivery. */
                if (cpu->nonroot && cpu->hooks->intr_exits && cpu->hooks->intr_exits(cpu))
                    return -1;
                v = cpu->hooks->intr_vector(cpu, true);
                if (v >= 0) {
                    cpu->state = CPU_RUNNING;
                    cpu->next_rip = cpu->rip;
                    cpu_deliver(cpu, v, EV_KIND_EXT, NO_ERR);
                    return -1;
                }
            }
        }
        if (ev & EV_TIMER) {
            atomic_fetch_and(&cpu->events, ~EV_TIMER);
            exec_poll(cpu);
            continue;
        }
        if (cpu->state == CPU_HALTED) {
            if (!cpu->hooks || !cpu->hooks->wait)
                return CPU_EXIT_HALT_FOREVER;
            cpu->hooks->wait(cpu);
            exec_poll(cpu);
            continue;
        }
        return -1;
    }
}

/* ---------- the translation tier ---------- */

/* A block started JIT_HOT times: translate it (fastpath.h, exec loop). */
__attribute__((noinline, cold)) void exec_jit_hot(struct cpu *cpu, const struct insn *in,
                                                  unsigned n, uint32_t generic)
{
    struct block_cache *c = cpu->bcache;
    if (!cpu->code64)
        return; /* the tier knows 64-bit code only */
    /* The start counter wraps every 65536 starts: a block translated
     * already keeps its code (its first handler is that code). */
    if (exec_jit_code(cpu, (const void *)in->fn))
        return;
    /* pool instructions are the cache's own memory */
    jit_translate(cpu, &c->jit, &c->pool[in - c->pool], n, generic);
}

bool exec_jit_code(const struct cpu *cpu, const void *p)
{
    const struct jit *j = &cpu->bcache->jit;
    const uint8_t *q = p;
    return j->base && q >= j->base && q < j->base + j->used;
}

uint64_t exec_jit_blocks(const struct cpu *cpu)
{
    return cpu->bcache ? cpu->bcache->jit.blocks : 0;
}

uint64_t exec_jit_insns(const struct cpu *cpu)
{
    return cpu->bcache ? cpu->bcache->jit.insns : 0;
}

/* ---------- the loop ---------- */

#define POLL_EVERY 256 /* blocks between timer polls */

enum cpu_exit cpu_run(struct cpu *cpu, uint64_t budget)
{
    uint64_t stop_at = budget ? cpu->icount + budget : UINT64_MAX;
    if (setjmp(cpu->fault_jmp)) {
        cpu->end_block = 0;
        cpu->db_trap = 0; /* the instruction did not retire: no trap-class #DB */
        if (cpu->fault_vector == VEC_VMEXIT) {
            cpu->in_event = 0; /* any delivery in progress was abandoned */
            cpu->pending_vector = 0xff;
            goto resume; /* state already switched to L1 */
        }
        if (cpu->trap_exceptions) {
            cpu->in_event = 0;
            cpu->pending_vector = 0xff;
            return CPU_EXIT_EXCEPTION;
        }
        cpu->next_rip = cpu->rip;
        cpu_deliver(cpu, cpu->fault_vector, EV_KIND_EXC, cpu->fault_error);
        if (cpu->state == CPU_SHUTDOWN)
            return CPU_EXIT_SHUTDOWN;
    }
resume:;
    unsigned poll = POLL_EVERY;
    struct block_tail *tail = NULL; /* links of the block that just completed, if any */
    uint32_t key = 0;               /* and its decoding context */
    for (;;) {
        if (unlikely(atomic_load_explicit(&cpu->events, memory_order_relaxed) ||
                     cpu->state != CPU_RUNNING)) {
            tail = NULL;
            int r = handle_events(cpu);
            if (r >= 0)
                return (enum cpu_exit)r;
        }
        if (unlikely(--poll == 0)) {
            poll = POLL_EVERY;
            exec_poll(cpu);
            if (cpu->icount >= stop_at)
                return CPU_EXIT_BUDGET;
        }
        if (unlikely(budget) && cpu->icount >= stop_at)
            return CPU_EXIT_BUDGET;

        unsigned n;
        const struct insn *in = NULL;
        struct block_tail *next_tail = NULL;
        if (tail)
            in = block_follow(cpu, tail, key, &n, &next_tail);
        if (!in) {
            struct block *b;
            uint64_t flushes = cpu->bcache_flushes;
            in = block_lookup(cpu, &n, &b);
            if (b) {
                next_tail = block_tail_of(&cpu->bcache->pool[b->first], b->n);
                key = b->key;
                bool same = cpu->bcache_flushes == flushes && cpu->code64;
                if (tail && same)
                    block_link(cpu, tail, cpu->rip, b);
                if (cpu->ras_fill.tail && same && cpu->ras_fill.rip == cpu->rip)
                    block_link_set(cpu, &cpu->ras_fill.tail->ret, cpu->rip, b);
            }
            cpu->ras_fill.tail = NULL;
        }
        /* Debugging (TF, RF, a breakpoint armed): one instruction at a time,
         * instruction breakpoints before it, trap-class #DBs after it. */
        uint64_t dbg = (cpu->rflags & (FL_TF | FL_RF)) | (cpu->dr[7] & DR7_ENABLES);
        uint8_t shadow = cpu->intr_shadow;
        /* VMX monitor trap flag: a VM exit after every instruction */
        bool mtf = cpu->nonroot && vmx_mtf_active(cpu);
        if (unlikely(dbg | shadow | mtf)) {
            next_tail = NULL; /* no chaining from partial blocks */
            if (mtf)
                n = 1;
            if (shadow)
                n = 1; /* the STI / MOV SS shadow covers one instruction only (SDM Vol.3 6.8.3) */
            if (dbg) {
                n = 1;
                if (dbg_before_insn(cpu)) {
                    tail = NULL;
                    continue; /* instruction-breakpoint #DB delivered */
                }
            }
        }
        for (;;) {
            /* Specialised handlers run the following instructions themselves
             * (fastpath.h fp_next), retiring each, and may go on to linked
             * blocks (fp_block_next) up to 'chain' times: fewer than the
             * polls left, and never past the budget.  The instruction a call
             * returns from is the first one of cpu's block not retired yet. */
            unsigned chain = 0;
            if (next_tail) {
                chain = poll - 1;
                if (unlikely(budget)) {
                    /* each block runs at most BLOCK_MAX instructions, so the
                     * handlers never start a block at or past stop_at */
                    uint64_t left =
                        cpu->icount < stop_at ? (stop_at - cpu->icount - 1) / BLOCK_MAX : 0;
                    if (left < chain)
                        chain = (unsigned)left;
                }
            }
            if (next_tail && unlikely(++next_tail->runs == cpu->jit_hot))
                exec_jit_hot(cpu, in, n, next_tail->generic);
            cpu->end_block = 0;
            cpu->blk_first = in;
            cpu->blk_end = in + n;
            cpu->blk_icount = cpu->icount;
            cpu->blk_key = key;
            cpu->blk_chain = chain;
            uint64_t rip = cpu->rip;
            for (;;) {
                cpu->next_rip = rip + in->len;
                cpu->blk_stop = fp_block_stop(cpu, in);
                in->fn(cpu, in);
                in = cpu->blk_first + (cpu->icount - cpu->blk_icount);
                rip = cpu->next_rip;
                cpu->rip = rip;
                cpu->icount++;
                if (unlikely(cpu->end_block) || ++in == cpu->blk_end)
                    break;
            }
            poll -= chain - cpu->blk_chain; /* blocks the handlers went on to */
            /* A chain goes straight on to the linked successor (struct
             * block_link); anything else takes the full path above. */
            if (next_tail)
                next_tail = (struct block_tail *)(void *)cpu->blk_end;
            tail = !cpu->end_block && next_tail && next_tail->chain ? next_tail : NULL;
            if (!tail || atomic_load_explicit(&cpu->events, memory_order_relaxed) ||
                cpu->state != CPU_RUNNING || poll <= 1 ||
                (unlikely(budget) && cpu->icount >= stop_at))
                break;
            poll--;
            in = block_follow(cpu, tail, key, &n, &next_tail);
            if (!in)
                break;
        }
        if (shadow)
            cpu->intr_shadow = 0;
        if (unlikely(dbg | cpu->db_trap))
            dbg_after_insn(cpu, dbg, cpu->intr_shadow == 2);
    }
}
