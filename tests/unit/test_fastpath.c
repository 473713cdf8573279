/*
 * test_fastpath.c — the decode-time specialised handlers (src/cpu/fastpath.h)
 * against the generic handlers of the same rows.
 *
 * Each instruction is decoded once; two identical CPUs (64-bit mode, the
 * harness' page tables) with the same random registers, memory and lazy-flag
 * state run it, one through the row's generic handler and one through the
 * variant insn_specialise() picks.  Registers, RIP after the instruction,
 * RFLAGS, the data and stack memory and any fault must be identical.  Runs
 * with a warm TLB take the variants' fast path; runs with a flushed TLB, or
 * with operands on unmapped pages, take their fallback.  The picker itself is
 * checked too: which forms get a variant and which (16-bit operands, AH..BH,
 * LOCK, 32-bit addressing) keep the generic handler.  Also: lf_cond() against
 * the materialised flags for consistent lazy records of every kind.
 */
#include <setjmp.h>

#include "cpu/fastpath.h"
#include "int_test.h"

#define FP_DATA_LEN 0x2000
#define FP_STACK_LEN 0x200

static uint64_t fp_rng = 0x243f6a8885a308d3ull;
static uint64_t fp_rand(void)
{
    fp_rng ^= fp_rng << 13;
    fp_rng ^= fp_rng >> 7;
    fp_rng ^= fp_rng << 17;
    return fp_rng;
}

static uint64_t fp_value(void)
{
    static const uint64_t special[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
                                        0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ull,
                                        0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull };
    uint64_t r = fp_rand();
    if ((r & 3) == 0)
        return special[(r >> 2) % (sizeof special / sizeof special[0])];
    if ((r & 3) == 1)
        return fp_rand() & 0xff;
    return fp_rand();
}

/* A consistent lazy-flags record (or materialised flags) of any kind. */
static void fp_random_flags(struct cpu *c)
{
    static const unsigned sizes[] = { 1, 2, 4, 8 };
    unsigned op = (unsigned)(fp_rand() % (LF_SZP + 1)), size = sizes[fp_rand() & 3];
    uint64_t m = size_mask(size), d = fp_value() & m, s = fp_value() & m, r;
    bool cf = fp_rand() & 1;
    cpu_set_rflags(c, (c->rflags & ~(uint64_t)FL_ARITH) | (fp_rand() & FL_ARITH));
    switch (op) {
    case LF_NONE: return;
    case LF_ADD: r = d + s; break;
    case LF_ADC: r = d + s + cf; break;
    case LF_SUB: r = d - s; break;
    case LF_SBB: r = d - s - cf; break;
    case LF_LOGIC: r = d & s; break;
    case LF_INC: s = 1; r = d + 1; break;
    case LF_DEC: s = 1; r = d - 1; break;
    default: d = 0; s = fp_rand() & (FL_CF | FL_OF | FL_AF); r = fp_value(); break; /* LF_SZP */
    }
    flags_lazy(c, (enum lf_op)op, size, d, s, r & m);
    c->lf.cf = cf;
}

struct fp_state {
    uint64_t r[16], next_rip, rflags;
    int fault;
    uint32_t error;
    uint8_t data[FP_DATA_LEN], stack[FP_STACK_LEN];
};

/* Run handler 'fn' for 'in' on t (rip = TH_CODE) and record the outcome. */
static void fp_exec(struct th *t, const struct insn *in, op_fn *fn, struct fp_state *out)
{
    struct cpu *c = &t->cpu;
    c->rip = TH_CODE;
    c->next_rip = TH_CODE + in->len;
    c->blk_first = in; /* a block of one instruction: no chaining */
    c->blk_end = c->blk_stop = in + 1;
    c->blk_icount = c->icount;
    c->blk_chain = 0;
    c->end_block = 0;
    out->fault = -1;
    out->error = 0;
    if (setjmp(c->fault_jmp) == 0)
        fn(c, in);
    else {
        out->fault = c->fault_vector;
        out->error = c->fault_error;
    }
    memcpy(out->r, c->r, sizeof out->r);
    out->next_rip = c->next_rip;
    out->rflags = cpu_get_rflags(c);
    memcpy(out->data, th_mem(t, TH_DATA), FP_DATA_LEN);
    memcpy(out->stack, th_mem(t, TH_STACK - FP_STACK_LEN), FP_STACK_LEN);
}

static struct th fp_ta, fp_tb;

/* Identical random machine state in both CPUs; memory operands point into
 * TH_DATA (or, with 'unmapped', above the 1 GiB identity map). */
static void fp_setup(const struct insn *in, bool unmapped)
{
    struct th *ts[2] = { &fp_ta, &fp_tb };
    uint64_t regs[16];
    for (int i = 0; i < 16; i++)
        regs[i] = fp_value();
    regs[R_SP] = TH_STACK - 0x100 + (fp_rand() & 0x78);
    if (in->mod != 3 && in->base < 16)
        regs[in->base] = (unmapped ? 0x40000000ull : TH_DATA) + 0x800 + (fp_rand() & 0x3ff);
    if (in->mod != 3 && in->index < 16) {
        regs[in->index] = fp_rand() & 0x3f;
        if (in->index == in->base)
            regs[in->index] = TH_DATA + 0x100;
    }
    uint8_t data[FP_DATA_LEN], stack[FP_STACK_LEN];
    for (unsigned i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)fp_rand();
    for (unsigned i = 0; i < sizeof stack; i++)
        stack[i] = (uint8_t)fp_rand();
    uint64_t saved_rng = fp_rng;
    for (int k = 0; k < 2; k++) {
        struct cpu *c = &ts[k]->cpu;
        memcpy(c->r, regs, sizeof regs);
        memcpy(th_mem(ts[k], TH_DATA), data, sizeof data);
        memcpy(th_mem(ts[k], TH_STACK - FP_STACK_LEN), stack, sizeof stack);
        fp_rng = saved_rng;
        fp_random_flags(c);
        /* Warm the TLB for the data and stack pages (read and write). */
        for (uint64_t a = TH_DATA; a < TH_DATA + FP_DATA_LEN; a += 4096)
            mem_write8(c, SEG_DS, a, mem_read8(c, SEG_DS, a));
        mem_write8(c, SEG_SS, TH_STACK - 8, mem_read8(c, SEG_SS, TH_STACK - 8));
    }
}

static int fp_compare(const uint8_t *bytes, int len, const struct fp_state *g,
                      const struct fp_state *f)
{
    bool same = !memcmp(g->r, f->r, sizeof g->r) && g->next_rip == f->next_rip &&
                g->rflags == f->rflags && g->fault == f->fault && g->error == f->error &&
                !memcmp(g->data, f->data, sizeof g->data) &&
                !memcmp(g->stack, f->stack, sizeof g->stack);
    if (same)
        return 0;
    fprintf(stderr, "  fastpath mismatch for");
    for (int i = 0; i < len; i++)
        fprintf(stderr, " %02x", bytes[i]);
    fprintf(stderr, ": fault %d/%d rflags %llx/%llx next_rip %llx/%llx\n", g->fault, f->fault,
            (unsigned long long)g->rflags, (unsigned long long)f->rflags,
            (unsigned long long)g->next_rip, (unsigned long long)f->next_rip);
    for (int i = 0; i < 16; i++)
        if (g->r[i] != f->r[i])
            fprintf(stderr, "    r%d %llx/%llx\n", i, (unsigned long long)g->r[i],
                    (unsigned long long)f->r[i]);
    return 1;
}

/*
 * Decode 'bytes' in 64-bit mode; check whether a variant is picked
 * ('want_fast'), then run both handlers 'rounds' times on random states.
 */
static void fp_check(const uint8_t *bytes, int len, bool want_fast, int rounds)
{
    struct insn in;
    int r = decode_insn(bytes, len, 64, &in);
    CHECK_EQ(r, len);
    if (r != len)
        return;
    op_fn *fast = insn_specialise(&fp_ta.cpu, &in);
    if ((fast != NULL) != want_fast) {
        fprintf(stderr, "  specialisation %s for", fast ? "unexpected" : "missing");
        for (int i = 0; i < len; i++)
            fprintf(stderr, " %02x", bytes[i]);
        fprintf(stderr, "\n");
        test_failed_checks++;
    }
    if (!fast)
        return;
    op_fn *generic = insn_row(&in)->fn;
    static struct fp_state g, f;
    int bad = 0;
    for (int i = 0; i < rounds && bad < 3; i++) {
        bool unmapped = in.mod != 3 && (i % 8) == 7;
        fp_setup(&in, unmapped);
        if ((i % 4) == 3)
            tlb_flush_all(&fp_tb.cpu); /* the variant's fallback */
        fp_exec(&fp_ta, &in, generic, &g);
        fp_exec(&fp_tb, &in, fast, &f);
        bad += fp_compare(bytes, len, &g, &f);
    }
    CHECK_EQ(bad, 0);
}

#define FP(want, ...)                                                                  \
    do {                                                                               \
        const uint8_t b_[] = { __VA_ARGS__ };                                          \
        fp_check(b_, (int)sizeof b_, (want), 64);                                      \
    } while (0)

static void fp_begin(void)
{
    th_init(&fp_ta, TH_LONG64);
    th_init(&fp_tb, TH_LONG64);
}

static void fp_end(void)
{
    th_destroy(&fp_ta);
    th_destroy(&fp_tb);
}

TEST(fastpath_alu_forms)
{
    fp_begin();
    for (uint8_t op = 0x00; op <= 0x38; op += 8) { /* ADD OR ADC SBB AND SUB XOR CMP */
        FP(true, 0x48, op + 1, 0xd8);             /* Ev,Gv r64 */
        FP(true, op + 1, 0xd8);                   /* Ev,Gv r32 */
        FP(false, 0x66, op + 1, 0xd8);            /* 16-bit: generic */
        FP(true, 0x48, op + 1, 0x03);             /* [rbx], rax */
        FP(true, op + 1, 0x44, 0xb3, 0x08);       /* [rbx+rsi*4+8], eax */
        FP(false, 0x67, op + 1, 0x03);            /* 32-bit addressing: generic */
        FP(true, 0x48, op + 3, 0x04, 0xb3);       /* Gv,Ev m64 */
        FP(true, op + 3, 0xc3);                   /* Gv,Ev r32 */
        FP(true, op + 0, 0xd8);                   /* Eb,Gb al, bl */
        FP(false, op + 0, 0xfc);                  /* ah, bh: generic */
        FP(true, 0x40, op + 0, 0xfc);             /* spl, dil */
        FP(true, op + 0, 0x03);                   /* [rbx], al */
        FP(true, op + 2, 0x03);                   /* al, [rbx] */
        FP(true, 0x48, op + 5, 0x78, 0x56, 0x34, 0x92); /* rAX, Iz */
        FP(true, op + 5, 0x78, 0x56, 0x34, 0x92);
        FP(true, op + 4, 0x85);                   /* AL, Ib */
        FP(true, 0x48, 0x83, 0xc0 | (op >> 3 << 3) | 3, 0xf0); /* Ev, Ib */
        FP(true, 0x81, 0x00 | op | 3, 0x00, 0x00, 0x00, 0x80); /* [rbx], Iz */
        FP(true, 0x48, 0x83, 0x43 | op, 0x10, 0x7f);         /* [rbx+16], Ib */
        FP(true, 0x80, 0xc3 | op, 0x81);          /* bl, Ib */
        FP(true, 0x80, 0x03 | op, 0x01);          /* [rbx], Ib */
        if (op != 0x38)
            FP(false, 0xf0, 0x48, op + 1, 0x03);  /* LOCK: generic */
    }
    FP(true, 0x31, 0xc0);                         /* xor eax, eax */
    FP(true, 0x48, 0x31, 0xdb);                   /* xor rbx, rbx */
    FP(true, 0x48, 0x85, 0xd8);                   /* test rax, rbx */
    FP(true, 0x85, 0x03);                         /* test [rbx], eax */
    FP(true, 0xf6, 0xc3, 0x81);                   /* test bl, 81h */
    FP(true, 0x48, 0xf7, 0xc3, 0x01, 0x00, 0x00, 0x80);
    FP(true, 0xa8, 0x01);
    FP(true, 0x48, 0xa9, 0xff, 0xff, 0xff, 0xff);
    for (uint8_t r = 2; r <= 3; r++) {            /* NOT, NEG */
        FP(true, 0x48, 0xf7, 0xc0 | r << 3);
        FP(true, 0xf7, 0x03 | r << 3);
        FP(true, 0xf6, 0xc1 | r << 3);
    }
    for (uint8_t r = 0; r <= 1; r++) {            /* INC, DEC */
        FP(true, 0x48, 0xff, 0xc0 | r << 3);
        FP(true, 0xff, 0xc1 | r << 3);
        FP(true, 0x48, 0xff, 0x03 | r << 3);
        FP(true, 0xfe, 0xc2 | r << 3);
        FP(true, 0xfe, 0x03 | r << 3);
    }
    fp_end();
}

TEST(fastpath_moves)
{
    fp_begin();
    FP(true, 0x48, 0x89, 0xd8);
    FP(true, 0x89, 0xd8);
    FP(true, 0x48, 0x89, 0x03);
    FP(true, 0x89, 0x43, 0xfc);
    FP(true, 0x88, 0xd8);
    FP(false, 0x88, 0xe3);                        /* mov bl, ah */
    FP(true, 0x88, 0x03);
    FP(true, 0x48, 0x8b, 0x03);
    FP(true, 0x8b, 0x04, 0x73);
    FP(true, 0x8a, 0x03);
    FP(true, 0x48, 0x8b, 0xc3);
    FP(true, 0x8b, 0xc3);
    FP(true, 0x64, 0x48, 0x8b, 0x03);             /* FS: base 0 here, still the variant */
    FP(true, 0x48, 0xc7, 0xc0, 0x00, 0x00, 0x00, 0x80);
    FP(true, 0xc7, 0x03, 0x78, 0x56, 0x34, 0x12);
    FP(true, 0x48, 0xc7, 0x03, 0xff, 0xff, 0xff, 0xff);
    FP(true, 0xc6, 0x03, 0x12);
    FP(true, 0xc6, 0xc1, 0x12);
    FP(true, 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 0x88);
    FP(true, 0xb9, 1, 2, 3, 0x84);
    FP(false, 0x66, 0xb9, 1, 2);
    FP(true, 0x0f, 0xb6, 0xc3);
    FP(true, 0x48, 0x0f, 0xb6, 0x03);
    FP(false, 0x0f, 0xb6, 0xc7);                  /* movzx eax, bh */
    FP(true, 0x0f, 0xb7, 0xc3);
    FP(true, 0x0f, 0xb7, 0x03);
    FP(true, 0x48, 0x0f, 0xbe, 0xc3);
    FP(true, 0x0f, 0xbe, 0x03);
    FP(true, 0x48, 0x0f, 0xbf, 0x03);
    FP(true, 0x0f, 0xbf, 0xc3);
    FP(true, 0x48, 0x63, 0xc3);
    FP(true, 0x48, 0x63, 0x03);
    FP(true, 0x48, 0x8d, 0x04, 0xb3);
    FP(true, 0x8d, 0x44, 0x33, 0x08);
    FP(true, 0x48, 0x8d, 0x05, 0x10, 0x00, 0x00, 0x00); /* RIP-relative */
    FP(false, 0x67, 0x48, 0x8d, 0x03);
    for (uint8_t cc = 0; cc < 16; cc++) {
        FP(true, 0x48, 0x0f, 0x40 + cc, 0xc3);
        FP(true, 0x0f, 0x40 + cc, 0xc3);
        FP(true, 0x0f, 0x40 + cc, 0x03);
        FP(true, 0x0f, 0x90 + cc, 0xc0);
        FP(true, 0x0f, 0x90 + cc, 0x03);
    }
    FP(false, 0x0f, 0x94, 0xc4);                  /* sete ah */
    FP(true, 0x40, 0x0f, 0x94, 0xc4);             /* sete spl */
    FP(false, 0x66, 0x0f, 0x44, 0xc3);            /* cmove ax, bx */
    fp_end();
}

TEST(fastpath_shift_mul)
{
    fp_begin();
    for (uint8_t k = 0; k < 8; k++) {             /* ROL ROR RCL RCR SHL SHR SAL SAR */
        static const uint8_t counts[] = { 0, 1, 7, 31, 33, 63 };
        for (unsigned i = 0; i < sizeof counts; i++) {
            FP(true, 0x48, 0xc1, 0xc0 | k << 3, counts[i]);
            FP(true, 0xc1, 0xc3 | k << 3, counts[i]);
        }
        FP(true, 0x48, 0xd1, 0xc0 | k << 3);
        FP(true, 0xd1, 0xc3 | k << 3);
        FP(true, 0x48, 0xd3, 0xc0 | k << 3);
        FP(true, 0xd3, 0xc3 | k << 3);
        FP(false, 0x66, 0xd3, 0xc3 | k << 3);
    }
    FP(true, 0x48, 0x0f, 0xaf, 0xc3);
    FP(true, 0x0f, 0xaf, 0xc3);
    FP(true, 0x48, 0x6b, 0xc3, 0x85);
    FP(true, 0x69, 0xc3, 0x01, 0x00, 0x00, 0x80);
    FP(true, 0x48, 0xf7, 0xe3);                   /* mul rbx */
    FP(true, 0xf7, 0xeb);                         /* imul ebx */
    fp_end();
}

TEST(fastpath_branches_stack)
{
    fp_begin();
    for (uint8_t cc = 0; cc < 16; cc++) {
        FP(true, 0x70 + cc, 0x10);
        FP(true, 0x70 + cc, 0x80);
        FP(true, 0x0f, 0x80 + cc, 0x00, 0x10, 0x00, 0x00);
    }
    FP(true, 0xeb, 0xfe);
    FP(true, 0xe9, 0x00, 0x00, 0x00, 0x80);
    FP(true, 0xff, 0xe0);                         /* jmp rax (may be non-canonical) */
    FP(true, 0xe8, 0x10, 0x00, 0x00, 0x00);
    FP(true, 0xff, 0xd3);                         /* call rbx */
    FP(true, 0xff, 0x23);                         /* jmp [rbx] */
    FP(true, 0xff, 0x54, 0xb3, 0x08);             /* call [rbx+rsi*4+8] */
    FP(false, 0x67, 0xff, 0x23);                  /* jmp [ebx]: generic */
    FP(true, 0xc3);
    for (uint8_t r = 0; r < 8; r++) {
        FP(true, 0x50 + r);
        FP(true, 0x41, 0x50 + r);
        FP(true, 0x58 + r);
        FP(true, 0x41, 0x58 + r);
    }
    FP(false, 0x66, 0x50);
    FP(true, 0x6a, 0x80);
    FP(true, 0x68, 0x00, 0x00, 0x00, 0x80);
    fp_end();
}

/* lf_cond() (the conditions of Jcc/SETcc/CMOVcc) against the flags that
 * cpu_get_rflags() materialises from the same lazy record. */
TEST(fastpath_lazy_conditions)
{
    struct th t;
    th_init(&t, TH_LONG64);
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        fp_random_flags(&t.cpu);
        struct lazy_flags lf = t.cpu.lf;
        uint64_t rflags = t.cpu.rflags;
        uint64_t f = cpu_get_rflags(&t.cpu);
        bool of = f & FL_OF, cf = f & FL_CF, zf = f & FL_ZF, sf = f & FL_SF, pf = f & FL_PF;
        bool want[8] = { of, cf, zf, cf || zf, sf, pf, sf != of, zf || sf != of };
        for (unsigned cc = 0; cc < 16; cc++) {
            t.cpu.lf = lf;
            t.cpu.rflags = rflags;
            if (lf_cond(&t.cpu, cc) != (want[cc >> 1] ^ (cc & 1)) && bad++ < 5)
                fprintf(stderr, "  lf_cond op %u size %u cc %u wrong\n", lf.op, lf.size, cc);
        }
    }
    CHECK_EQ(bad, 0);
    th_destroy(&t);
}

/* A device rewrites (by DMA, during an MMIO write that does not end the
 * block) a function that a chained block links to: the link must not run
 * the stale code (exec.c block_follow checks the page's generation). */
#define FP_F (TH_CODE + 0x1000)  /* the function, on its own page */
#define FP_MMIO 0x10000000ull    /* mapped by the harness, not RAM */

static void fp_dma_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct th *t = opaque;
    uint8_t *f = th_mem(t, FP_F);
    f[1] = (uint8_t)(f[1] + 0x10); /* mov eax, 1 -> mov eax, 0x11 -> ... */
    bus_note_dma(&t->bus, FP_F, 5);
}

TEST(fastpath_chain_sees_dma_rewrite)
{
    static const struct io_ops ops = { .write = fp_dma_write };
    struct th t;
    th_init(&t, TH_LONG64);
    bus_register(&t.bus, BUS_MMIO, FP_MMIO, 0x1000, &ops, &t);
    static const uint8_t code[0x1006] = {
        0xb9, 0x03, 0x00, 0x00, 0x00,             /* mov ecx, 3 */
        0xe8, 0xf6, 0x0f, 0x00, 0x00,             /* loop: call f */
        0x01, 0xc3,                               /* add ebx, eax */
        0x88, 0x04, 0x25, 0x00, 0x00, 0x00, 0x10, /* mov [FP_MMIO], al: f is rewritten */
        0xff, 0xc9,                               /* dec ecx */
        0x75, 0xee,                               /* jnz loop */
        0xf4,                                     /* hlt */
        [0x1000] = 0xb8, 0x01, 0x00, 0x00, 0x00,  /* f: mov eax, 1 */
        0xc3,                                     /* ret */
    };
    t.cpu.r[R_BX] = 0;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 0x01 + 0x11 + 0x21);
    th_destroy(&t);
}

/* The fused ALU+Jcc handlers (ops_alu.c) against the two generic handlers
 * run one after the other; and with the block cut after the ALU
 * instruction (TF, interrupt shadow: fastpath.h blk_stop), against the ALU
 * instruction alone. */
static void fp_check_fused(const uint8_t *alu, int alen, const uint8_t *jcc, int jlen)
{
    uint8_t bytes[32];
    memcpy(bytes, alu, (size_t)alen);
    memcpy(bytes + alen, jcc, (size_t)jlen);
    struct insn ins[2];
    CHECK_EQ(decode_insn(bytes, alen, 64, &ins[0]), alen);
    CHECK_EQ(decode_insn(bytes + alen, jlen, 64, &ins[1]), jlen);
    op_fn *alu_fast = insn_specialise(&fp_ta.cpu, &ins[0]);
    op_fn *jcc_fast = insn_specialise(&fp_ta.cpu, &ins[1]);
    CHECK(alu_fast && jcc_fast);
    if (!alu_fast || !jcc_fast)
        return;
    ins[0].fn = alu_fast;
    ins[1].fn = jcc_fast;
    op_fn *fused = ops_alu_fuse_jcc(&ins[0], &ins[1]);
    CHECK(fused != NULL);
    if (!fused)
        return;
    int bad = 0;
    for (int i = 0; i < 64 && bad < 3; i++) {
        bool cut = (i % 4) == 3;
        fp_setup(&ins[0], false);
        struct cpu *a = &fp_ta.cpu, *b = &fp_tb.cpu;
        /* generic: the two rows' handlers, as the loop would run them */
        a->rip = TH_CODE;
        a->next_rip = TH_CODE + ins[0].len;
        insn_row(&ins[0])->fn(a, &ins[0]);
        if (!cut) {
            a->rip = a->next_rip;
            a->next_rip = a->rip + ins[1].len;
            insn_row(&ins[1])->fn(a, &ins[1]);
        }
        /* fused, as the first instruction of a block the loop started */
        b->rip = TH_CODE;
        b->next_rip = TH_CODE + ins[0].len;
        b->blk_first = &ins[0];
        b->blk_end = &ins[2];
        b->blk_stop = cut ? &ins[1] : &ins[2];
        b->blk_icount = b->icount;
        b->blk_chain = 0;
        uint64_t icount = b->icount;
        fused(b, &ins[0]);
        bool same = !memcmp(a->r, b->r, sizeof a->r) && a->next_rip == b->next_rip &&
                    cpu_get_rflags(a) == cpu_get_rflags(b) && b->icount == icount + !cut;
        if (!same) {
            bad++;
            fprintf(stderr, "  fused mismatch:");
            for (int k = 0; k < alen + jlen; k++)
                fprintf(stderr, " %02x", bytes[k]);
            fprintf(stderr, " cut %d next_rip %llx/%llx\n", cut, (unsigned long long)a->next_rip,
                    (unsigned long long)b->next_rip);
        }
    }
    CHECK_EQ(bad, 0);
}

TEST(fastpath_fused_alu_jcc)
{
    fp_begin();
    static const uint8_t alus[][8] = {
        { 3, 0x48, 0x39, 0xd8 },             /* cmp rax, rbx */
        { 2, 0x39, 0xd8 },                   /* cmp eax, ebx */
        { 4, 0x48, 0x83, 0xf8, 0x80 },       /* cmp rax, -128 */
        { 3, 0x83, 0xf9, 0x05 },             /* cmp ecx, 5 */
        { 3, 0x48, 0x85, 0xc0 },             /* test rax, rax */
        { 2, 0x85, 0xd8 },                   /* test eax, ebx */
        { 2, 0x84, 0xc3 },                   /* test bl, al */
        { 4, 0x48, 0x83, 0xc0, 0x01 },       /* add rax, 1 */
        { 3, 0x83, 0xc1, 0xff },             /* add ecx, -1 */
        { 4, 0x48, 0x83, 0xe8, 0x01 },       /* sub rax, 1 */
        { 6, 0x81, 0xe9, 0x00, 0x00, 0x00, 0x80 }, /* sub ecx, 0x80000000 */
    };
    for (unsigned a = 0; a < sizeof alus / sizeof alus[0]; a++)
        for (uint8_t cc = 0; cc < 16; cc++) {
            const uint8_t jb[2] = { (uint8_t)(0x70 + cc), 0x10 };
            const uint8_t jz[6] = { 0x0f, (uint8_t)(0x80 + cc), 0x00, 0x00, 0x00, 0x80 };
            fp_check_fused(&alus[a][1], alus[a][0], jb, 2);
            fp_check_fused(&alus[a][1], alus[a][0], jz, 6);
        }
    fp_end();
}

/* Calls and returns through the return-address stack (fastpath.h
 * fp_ras_push/fp_ret_next): recursion deeper than the stack, and one
 * function returning to several call sites. */
TEST(fastpath_ras_calls_and_returns)
{
    struct th t;
    th_init(&t, TH_LONG64);
    static const uint8_t code[] = {
        0x31, 0xdb,                   /* xor ebx, ebx */
        0xb9, 0x28, 0x00, 0x00, 0x00, /* mov ecx, 40 */
        0xe8, 0x1d, 0x00, 0x00, 0x00, /* call rec (0x29) */
        0xe8, 0x14, 0x00, 0x00, 0x00, /* call inc (0x25) */
        0x48, 0x01, 0xc3,             /* add rbx, rax */
        0xe8, 0x0c, 0x00, 0x00, 0x00, /* call inc */
        0x48, 0x01, 0xc3,             /* add rbx, rax */
        0xe8, 0x04, 0x00, 0x00, 0x00, /* call inc */
        0x48, 0x01, 0xc3,             /* add rbx, rax */
        0xf4,                         /* hlt */
        /* 0x25 inc: */ 0x48, 0xff, 0xc0, /* inc rax */
        0xc3,                         /* ret */
        /* 0x29 rec: */ 0x48, 0x01, 0xcb, /* add rbx, rcx */
        0xff, 0xc9,                   /* dec ecx */
        0x74, 0x05,                   /* jz done */
        0xe8, 0xf4, 0xff, 0xff, 0xff, /* call rec */
        /* done: */ 0xc3,             /* ret */
    };
    t.cpu.r[R_AX] = 0;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    /* rec adds 40 + 39 + ... + 1 = 820; then rax = 1, 2, 3 is added */
    CHECK_EQ(t.cpu.r[R_BX], 820 + 1 + 2 + 3);
    CHECK_EQ(t.cpu.r[R_SP], TH_STACK);
    th_destroy(&t);
}
