/*
 * sse_native.c — the host half of the native-vs-engine MMX/SSE comparison
 * (see sse_native.h): the assembly entry/exit helpers every host stub
 * uses, the random state generator and the comparison.
 */
#include "sse_native.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu/ops_x87.h"

#define STR_(x) #x
#define STR(x) STR_(x)
#define GPR(n) STR(SSE_ST_GPR + 8 * (n))
#define XMM(n) STR(SSE_ST_XMM + 16 * (n))
#define MM(n) STR(SSE_ST_MM + 8 * (n))

/*
 * sse_native_enter: called first thing by a stub (RDI = state).  Saves the
 * callee-saved registers and the host MXCSR below the stub's return
 * address, then loads the whole state (RDI last) and returns into the
 * stub.  sse_native_leave (jumped to after the instruction) stores the
 * state back, executes EMMS (the host x87 is left empty), restores the
 * host registers and returns to the stub's C caller.
 * Frame after enter: [rsp] state pointer, [rsp+8] host MXCSR, then
 * r15 r14 r13 r12 rbx rbp and the C return address.
 */
__asm__(".pushsection .text\n"
        ".globl sse_native_enter\n.hidden sse_native_enter\n"
        "sse_native_enter:\n"
        "  pop %rax\n"
        "  push %rbp\n  push %rbx\n  push %r12\n  push %r13\n  push %r14\n  push %r15\n"
        "  sub $16, %rsp\n"
        "  stmxcsr 8(%rsp)\n"
        "  mov %rdi, (%rsp)\n"
        "  push %rax\n"
        "  ldmxcsr " STR(SSE_ST_MXCSR) "(%rdi)\n"
        "  movdqu " XMM(0) "(%rdi), %xmm0\n  movdqu " XMM(1) "(%rdi), %xmm1\n"
        "  movdqu " XMM(2) "(%rdi), %xmm2\n  movdqu " XMM(3) "(%rdi), %xmm3\n"
        "  movdqu " XMM(4) "(%rdi), %xmm4\n  movdqu " XMM(5) "(%rdi), %xmm5\n"
        "  movdqu " XMM(6) "(%rdi), %xmm6\n  movdqu " XMM(7) "(%rdi), %xmm7\n"
        "  movdqu " XMM(8) "(%rdi), %xmm8\n  movdqu " XMM(9) "(%rdi), %xmm9\n"
        "  movdqu " XMM(10) "(%rdi), %xmm10\n  movdqu " XMM(11) "(%rdi), %xmm11\n"
        "  movdqu " XMM(12) "(%rdi), %xmm12\n  movdqu " XMM(13) "(%rdi), %xmm13\n"
        "  movdqu " XMM(14) "(%rdi), %xmm14\n  movdqu " XMM(15) "(%rdi), %xmm15\n"
        "  movq " MM(0) "(%rdi), %mm0\n  movq " MM(1) "(%rdi), %mm1\n"
        "  movq " MM(2) "(%rdi), %mm2\n  movq " MM(3) "(%rdi), %mm3\n"
        "  movq " MM(4) "(%rdi), %mm4\n  movq " MM(5) "(%rdi), %mm5\n"
        "  movq " MM(6) "(%rdi), %mm6\n  movq " MM(7) "(%rdi), %mm7\n"
        "  pushq " STR(SSE_ST_FLAGS) "(%rdi)\n  popfq\n"
        "  mov " GPR(0) "(%rdi), %rax\n  mov " GPR(1) "(%rdi), %rcx\n"
        "  mov " GPR(2) "(%rdi), %rdx\n  mov " GPR(3) "(%rdi), %rbx\n"
        "  mov " GPR(5) "(%rdi), %rbp\n  mov " GPR(6) "(%rdi), %rsi\n"
        "  mov " GPR(8) "(%rdi), %r8\n  mov " GPR(9) "(%rdi), %r9\n"
        "  mov " GPR(10) "(%rdi), %r10\n  mov " GPR(11) "(%rdi), %r11\n"
        "  mov " GPR(12) "(%rdi), %r12\n  mov " GPR(13) "(%rdi), %r13\n"
        "  mov " GPR(14) "(%rdi), %r14\n  mov " GPR(15) "(%rdi), %r15\n"
        "  mov " GPR(7) "(%rdi), %rdi\n"
        "  ret\n"
        ".globl sse_native_leave\n.hidden sse_native_leave\n"
        "sse_native_leave:\n"
        "  pushfq\n"
        "  push %rax\n"
        "  mov 16(%rsp), %rax\n"
        "  mov %rcx, " GPR(1) "(%rax)\n  mov %rdx, " GPR(2) "(%rax)\n"
        "  mov %rbx, " GPR(3) "(%rax)\n  mov %rbp, " GPR(5) "(%rax)\n"
        "  mov %rsi, " GPR(6) "(%rax)\n  mov %rdi, " GPR(7) "(%rax)\n"
        "  mov %r8, " GPR(8) "(%rax)\n  mov %r9, " GPR(9) "(%rax)\n"
        "  mov %r10, " GPR(10) "(%rax)\n  mov %r11, " GPR(11) "(%rax)\n"
        "  mov %r12, " GPR(12) "(%rax)\n  mov %r13, " GPR(13) "(%rax)\n"
        "  mov %r14, " GPR(14) "(%rax)\n  mov %r15, " GPR(15) "(%rax)\n"
        "  pop %rcx\n  mov %rcx, " GPR(0) "(%rax)\n"
        "  pop %rcx\n  mov %rcx, " STR(SSE_ST_FLAGS) "(%rax)\n"
        "  movdqu %xmm0, " XMM(0) "(%rax)\n  movdqu %xmm1, " XMM(1) "(%rax)\n"
        "  movdqu %xmm2, " XMM(2) "(%rax)\n  movdqu %xmm3, " XMM(3) "(%rax)\n"
        "  movdqu %xmm4, " XMM(4) "(%rax)\n  movdqu %xmm5, " XMM(5) "(%rax)\n"
        "  movdqu %xmm6, " XMM(6) "(%rax)\n  movdqu %xmm7, " XMM(7) "(%rax)\n"
        "  movdqu %xmm8, " XMM(8) "(%rax)\n  movdqu %xmm9, " XMM(9) "(%rax)\n"
        "  movdqu %xmm10, " XMM(10) "(%rax)\n  movdqu %xmm11, " XMM(11) "(%rax)\n"
        "  movdqu %xmm12, " XMM(12) "(%rax)\n  movdqu %xmm13, " XMM(13) "(%rax)\n"
        "  movdqu %xmm14, " XMM(14) "(%rax)\n  movdqu %xmm15, " XMM(15) "(%rax)\n"
        "  movq %mm0, " MM(0) "(%rax)\n  movq %mm1, " MM(1) "(%rax)\n"
        "  movq %mm2, " MM(2) "(%rax)\n  movq %mm3, " MM(3) "(%rax)\n"
        "  movq %mm4, " MM(4) "(%rax)\n  movq %mm5, " MM(5) "(%rax)\n"
        "  movq %mm6, " MM(6) "(%rax)\n  movq %mm7, " MM(7) "(%rax)\n"
        "  emms\n"
        "  stmxcsr " STR(SSE_ST_MXCSR) "(%rax)\n"
        "  ldmxcsr 8(%rsp)\n"
        "  add $16, %rsp\n"
        "  pop %r15\n  pop %r14\n  pop %r13\n  pop %r12\n  pop %rbx\n  pop %rbp\n"
        "  cld\n"
        "  ret\n"
        ".popsection\n");

/* ---------- random state ---------- */

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = (*s += 0x9e3779b97f4a7c15ull);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint32_t rnd_f32(uint64_t *s)
{
    static const uint32_t special[] = {
        0x00000000, 0x80000000, 0x3f800000, 0xbf800000, 0x3fc00000, 0x40490fdb,
        0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x7f800001, 0x00000001,
        0x807fffff, 0x7f7fffff, 0x4effffff, 0xcf000000, 0x4f000000, 0x3effffff,
        0x40200000, 0xc0200000, 0x00800000, 0x5f000000, 0xdf000001, 0x3f000000,
    };
    uint64_t r = rnd(s);
    if (r % 3 == 0)
        return special[(r >> 8) % (sizeof special / sizeof special[0])];
    if (r % 3 == 1) /* ordinary values of moderate exponent */
        return (uint32_t)((r >> 16) & 0x83ffffff) | 0x3c000000;
    return (uint32_t)(r >> 24);
}

static uint64_t rnd_f64(uint64_t *s)
{
    static const uint64_t special[] = {
        0x0000000000000000ull, 0x8000000000000000ull, 0x3ff0000000000000ull,
        0xbff0000000000000ull, 0x3ff8000000000000ull, 0x400921fb54442d18ull,
        0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull,
        0xfff8000000000001ull, 0x7ff0000000000001ull, 0x0000000000000001ull,
        0x800fffffffffffffull, 0x7fefffffffffffffull, 0x43dfffffffffffffull,
        0xc3e0000000000000ull, 0x41dfffffffc00000ull, 0x41e0000000000000ull,
        0x4004000000000000ull, 0xc004000000000000ull, 0x0010000000000000ull,
        0x3fe0000000000000ull, 0x47efffffe0000000ull, 0x36a0000000000000ull,
    };
    uint64_t r = rnd(s);
    if (r % 3 == 0)
        return special[(r >> 8) % (sizeof special / sizeof special[0])];
    if (r % 3 == 1)
        return (rnd(s) & 0x807fffffffffffffull) | 0x3f80000000000000ull;
    return rnd(s);
}

static uint64_t rnd_chars(uint64_t *s)
{
    uint64_t v = 0, r = rnd(s);
    for (int i = 0; i < 8; i++) {
        unsigned k = (unsigned)(rnd(s) % 16), c;
        c = k == 0 ? 0 : k < 12 ? 'a' + k % 4 : (unsigned)(rnd(s) & 0xff);
        if ((r & 7) == 0 && i > 4)
            c = 0;
        v |= (uint64_t)c << (8 * i);
    }
    return v;
}

static uint64_t rnd_q(uint64_t *s, enum sse_gen gen)
{
    uint64_t r = rnd(s);
    if (gen == SSE_GEN_MIXED)
        gen = (enum sse_gen)(r % 5);
    switch (gen) {
    case SSE_GEN_FLOAT: return rnd_f32(s) | (uint64_t)rnd_f32(s) << 32;
    case SSE_GEN_DOUBLE: return rnd_f64(s);
    case SSE_GEN_STRING: return rnd_chars(s);
    case SSE_GEN_MIXED: return rnd(s);
    default: /* small signed elements / saturation edges */
        return (r & 0x8000) ? (rnd(s) & 0x00ff00ff80017fffull) : ~(rnd(s) & 0x0003000300070007ull);
    }
}

static void gen_state(struct sse_state *st, uint8_t *win, uint64_t *seed, enum sse_gen gen)
{
    memset(st, 0, sizeof(*st));
    for (int i = 0; i < 16; i++) {
        st->x[i].q[0] = rnd_q(seed, gen);
        st->x[i].q[1] = rnd_q(seed, gen);
    }
    for (int i = 0; i < 8; i++)
        st->mm[i] = rnd_q(seed, gen);
    for (int i = 0; i < 16; i++)
        st->r[i] = rnd(seed);
    /* explicit string lengths and shift counts are often small */
    if (rnd(seed) & 1) {
        st->r[R_AX] = (uint64_t)(int64_t)((int)(rnd(seed) % 41) - 20);
        st->r[R_DX] = (uint64_t)(int64_t)((int)(rnd(seed) % 41) - 20);
    }
    st->rflags = 2 | (rnd(seed) & FL_ARITH);
    uint64_t m = rnd(seed);
    st->mxcsr = 0x1f80 | (uint32_t)(m & 0x3f) | (uint32_t)((m >> 8) & 3) << 13;
    if ((m >> 16) % 8 == 0)
        st->mxcsr |= 0x8000; /* FTZ */
    if ((m >> 20) % 8 == 0)
        st->mxcsr |= 0x40; /* DAZ */
    for (int i = 0; i < SSE_WINDOW; i += 8) {
        uint64_t q = rnd_q(seed, gen);
        memcpy(win + i, &q, 8);
    }
}

/* ---------- the two runs ---------- */

static uint8_t host_win[SSE_WINDOW] __attribute__((aligned(64)));

static void run_host(const struct sse_case *c, struct sse_state *st, const uint8_t *win)
{
    memcpy(host_win, win, SSE_WINDOW);
    st->r[R_SI] = st->r[R_DI] = (uint64_t)(uintptr_t)(host_win + 64);
    c->host(st);
    st->r[R_SI] -= (uint64_t)(uintptr_t)host_win;
    st->r[R_DI] -= (uint64_t)(uintptr_t)host_win;
}

static int run_engine(struct th *t, const struct sse_case *c, struct sse_state *st,
                      const uint8_t *win)
{
    struct cpu *cpu = &t->cpu;
    for (int i = 0; i < 16; i++) {
        cpu->fpu.xmm[i] = st->x[i];
        if (i != R_SP)
            cpu->r[i] = st->r[i];
    }
    for (int i = 0; i < 8; i++)
        fpu_mmx_set(cpu, i, st->mm[i]);
    cpu->r[R_SI] = cpu->r[R_DI] = TH_DATA + 64;
    cpu->r[R_SP] = TH_STACK;
    cpu_set_rflags(cpu, st->rflags);
    cpu->fpu.mxcsr = st->mxcsr;
    memcpy(th_mem(t, TH_DATA), win, SSE_WINDOW);
    enum th_result r = th_run(t, c->code, (size_t)(c->code_end - c->code));
    for (int i = 0; i < 16; i++) {
        st->x[i] = cpu->fpu.xmm[i];
        st->r[i] = cpu->r[i];
    }
    for (int i = 0; i < 8; i++)
        st->mm[i] = fpu_mmx_get(cpu, i);
    st->r[R_SI] -= TH_DATA;
    st->r[R_DI] -= TH_DATA;
    st->rflags = cpu_get_rflags(cpu);
    st->mxcsr = cpu->fpu.mxcsr;
    return r == TH_HALT ? -1 : t->vector;
}

static void report(const struct sse_case *c, unsigned iter, const char *what, unsigned idx,
                   const void *host, const void *eng, unsigned n)
{
    const uint8_t *h = host, *e = eng;
    fprintf(stderr, "  sse %s (iteration %u): %s%u host ", c->name, iter, what, idx);
    for (unsigned i = n; i-- > 0;)
        fprintf(stderr, "%02x", h[i]);
    fprintf(stderr, " engine ");
    for (unsigned i = n; i-- > 0;)
        fprintf(stderr, "%02x", e[i]);
    fprintf(stderr, "\n");
}

int sse_native_check(const struct sse_case *c, unsigned iters, uint64_t seed, enum sse_gen gen)
{
    struct th *t = calloc(1, sizeof(*t));
    th_init(t, TH_LONG64);
    int bad = 0;
    for (unsigned it = 0; it < iters; it++) {
        struct sse_state in, h, e;
        uint8_t win[SSE_WINDOW], ewin[SSE_WINDOW];
        gen_state(&in, win, &seed, gen);
        h = in;
        e = in;
        run_host(c, &h, win);
        int vec = run_engine(t, c, &e, win);
        memcpy(ewin, th_mem(t, TH_DATA), SSE_WINDOW);
        bool diff = false;
        if (vec >= 0) {
            fprintf(stderr, "  sse %s (iteration %u): engine raised vector %d\n", c->name, it,
                    vec);
            diff = true;
        }
        for (unsigned i = 0; i < 16 && !diff; i++)
            if (memcmp(&h.x[i], &e.x[i], 16)) {
                report(c, it, "xmm", i, &h.x[i], &e.x[i], 16);
                diff = true;
            }
        for (unsigned i = 0; i < 8 && !diff; i++)
            if (h.mm[i] != e.mm[i]) {
                report(c, it, "mm", i, &h.mm[i], &e.mm[i], 8);
                diff = true;
            }
        for (unsigned i = 0; i < 16 && !diff; i++)
            if (i != R_SP && h.r[i] != e.r[i]) {
                report(c, it, "gpr", i, &h.r[i], &e.r[i], 8);
                diff = true;
            }
        if (!diff && (h.rflags & FL_ARITH) != (e.rflags & FL_ARITH)) {
            uint64_t hf = h.rflags & FL_ARITH, ef = e.rflags & FL_ARITH;
            report(c, it, "rflags", 0, &hf, &ef, 2);
            diff = true;
        }
        if (!diff && h.mxcsr != e.mxcsr) {
            report(c, it, "mxcsr (input ", in.mxcsr, &h.mxcsr, &e.mxcsr, 4);
            diff = true;
        }
        for (unsigned i = 0; i < SSE_WINDOW && !diff; i += 8)
            if (memcmp(host_win + i, ewin + i, 8)) {
                report(c, it, "memory +", i, host_win + i, ewin + i, 8);
                diff = true;
            }
        if (diff) {
            fprintf(stderr, "    input mxcsr %08x xmm0 %016llx%016llx xmm1 %016llx%016llx\n",
                    in.mxcsr, (unsigned long long)in.x[0].q[1], (unsigned long long)in.x[0].q[0],
                    (unsigned long long)in.x[1].q[1], (unsigned long long)in.x[1].q[0]);
            if (++bad >= 3)
                break;
        }
    }
    th_destroy(t);
    free(t);
    return bad;
}

int sse_native_check_all(const struct sse_case *cases, unsigned n, unsigned iters,
                         enum sse_gen gen)
{
    int bad = 0;
    for (unsigned i = 0; i < n; i++)
        bad += sse_native_check(&cases[i], iters, 0x5eed0000u + i * 7919u, gen);
    return bad;
}
