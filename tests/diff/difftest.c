/*
 * difftest.c — differential tester: random user-level integer instruction
 * sequences run natively on the host and on the engine; registers, the
 * defined arithmetic flags, DF, the scratch memory and any exception must
 * agree.
 *
 *   build/difftest [--seed N] [--count N] [--first N] [--only NAME]
 *                  [--max-templates N] [--mode 64|32|both] [--verbose] [--list]
 *
 * Prints "difftest: N sequences, M instructions, K mismatches" and exits
 * non-zero on any mismatch.  Each mismatch report ends with the command
 * line that replays just that sequence.
 *
 * Layout (dt.h): the code page, the scratch buffer and a control page are
 * mapped at fixed low addresses on the host (MAP_FIXED_NOREPLACE); the
 * harness puts the same code at TH_CODE and the same scratch bytes at
 * TH_DATA, so absolute, RIP-relative and register-based addresses agree.
 * With --mode both (the default) every fourth sequence is 32-bit code: the
 * host runs it in compatibility mode (far jump to user CS 0x23, back through
 * a far jump to CS 0x33 and a 64-bit trampoline), the engine in the
 * harness's flat TH_PROT32 mode; then only the low 32 bits of EAX..EDI are
 * compared (the upper halves are undefined across the mode switch).
 * A native fault (#DE, #UD, #GP, ...) is caught by a signal handler that
 * records the vector (the kernel's trap number) and resumes at the stub's
 * exit path, so the faulting state is compared with the engine's
 * TH_EXCEPTION state.
 *
 * Build (from the repository root, after `make build/libnestvm.a`):
 *   cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Isrc
 *      -Itests/unit -pthread tests/diff/difftest.c tests/diff/dt_gen.c
 *      tests/diff/dt_enc.c tests/diff/dt_native.S tests/unit/cpu_harness.c
 *      -Wl,--whole-archive build/libnestvm.a -Wl,--no-whole-archive -lm
 *      -o build/difftest
 * (or `make build/difftest`: the Makefile builds every .c and .S file in tests/diff).
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

#include "cpu_harness.h"
#include "dt.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

_Static_assert(DT_CODE == TH_CODE, "code address must match the harness");
_Static_assert(DT_SCR == TH_DATA, "scratch address must match the harness");

/* Native fault record, written by the signal handler (control page). */
struct dt_fault {
    uint64_t happened, trapno, rip, err;
};
#define DT_FAULT (DT_CTL + 0x300)

struct result {
    struct dt_regs regs;
    int vector; /* -1: ran to the end */
    uint64_t fault_rip;
    uint8_t mem[DT_SCR_SIZE];
};

static const char *const reg_names[16] = { "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                           "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15" };

/* ---- native side ---- */

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    if (rip < DT_CODE || rip >= DT_CODE + DT_CODE_SIZE) {
        /* Not ours: die the normal way when the instruction re-executes. */
        signal(sig, SIG_DFL);
        return;
    }
    struct dt_fault *f = (struct dt_fault *)DT_FAULT;
    f->happened = 1;
    f->trapno = (uint64_t)uc->uc_mcontext.gregs[REG_TRAPNO];
    f->rip = rip;
    f->err = (uint64_t)uc->uc_mcontext.gregs[REG_ERR];
    uc->uc_mcontext.gregs[REG_RIP] = (greg_t)(uintptr_t)dt_native_exit;
    /* REG_CSGSFS packs cs | gs << 16 | fs << 32: resume in 64-bit mode. */
    greg_t *csgsfs = &uc->uc_mcontext.gregs[REG_CSGSFS];
    *csgsfs = (*csgsfs & ~(greg_t)0xffff) | DT_USER_CS64;
}

static int native_setup(void)
{
    static const struct {
        uint64_t addr, size;
        int prot;
    } maps[] = {
        { DT_CODE, DT_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC },
        { DT_SCR, DT_SCR_MAP, PROT_READ | PROT_WRITE },
        { DT_CTL, DT_CTL_SIZE, PROT_READ | PROT_WRITE },
    };
    for (unsigned i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
        void *p = mmap((void *)(uintptr_t)maps[i].addr, maps[i].size, maps[i].prot,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p != (void *)(uintptr_t)maps[i].addr) {
            fprintf(stderr, "difftest: cannot map %#" PRIx64 " (vm.mmap_min_addr?)\n",
                    maps[i].addr);
            return -1;
        }
    }
    stack_t ss = { .ss_size = 1 << 16 };
    ss.ss_sp = mmap(NULL, ss.ss_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ss.ss_sp == MAP_FAILED || sigaltstack(&ss, NULL) != 0)
        return -1;
    struct sigaction sa = { .sa_sigaction = on_fault, .sa_flags = SA_SIGINFO | SA_ONSTACK };
    sigemptyset(&sa.sa_mask);
    static const int sigs[] = { SIGSEGV, SIGILL, SIGFPE, SIGBUS, SIGTRAP };
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
    return 0;
}

static void native_run(const struct dt_seq *s, const struct dt_regs *init, const uint8_t *scr,
                       struct result *out)
{
    uint8_t *code = (uint8_t *)DT_CODE;
    memcpy(code, s->code, s->len);
    /* 64-bit: jmp qword ptr [DT_RET_PTR]; 32-bit: first jmp far 0x33:next */
    uint8_t jret[7] = { 0xff, 0x24, 0x25 };
    uint32_t ret = DT_RET_PTR, tramp = DT_CODE + s->len + 7;
    memcpy(jret + 3, &ret, 4);
    unsigned n = s->len;
    if (s->m32) {
        uint8_t far[7] = { 0xea, 0, 0, 0, 0, DT_USER_CS64, 0 };
        memcpy(far + 1, &tramp, 4);
        memcpy(code + n, far, sizeof far);
        n += sizeof far;
        struct __attribute__((packed)) {
            uint32_t off;
            uint16_t sel;
        } fp = { DT_CODE, DT_USER_CS32 };
        memcpy((void *)DT_FARPTR, &fp, sizeof fp);
    }
    memcpy(code + n, jret, sizeof jret);
    memcpy((void *)DT_SCR, scr, DT_SCR_SIZE);
    memcpy((void *)DT_IN, init, sizeof(*init));
    *(uint64_t *)DT_CODE_PTR = DT_CODE;
    *(uint64_t *)DT_RET_PTR = (uint64_t)(uintptr_t)dt_native_exit;
    struct dt_fault *f = (struct dt_fault *)DT_FAULT;
    f->happened = 0;
    if (s->m32)
        dt_native_enter32();
    else
        dt_native_enter();
    memcpy(&out->regs, (void *)DT_OUT, sizeof(out->regs));
    memcpy(out->mem, (void *)DT_SCR, DT_SCR_SIZE);
    out->vector = f->happened ? (int)f->trapno : -1;
    out->fault_rip = f->happened ? f->rip : 0;
}

/* ---- engine side ---- */

static void engine_run(struct th *t, const struct dt_seq *s, const struct dt_regs *init,
                       const uint8_t *scr, struct result *out)
{
    uint8_t code[DT_MAX_CODE + 1];
    memcpy(code, s->code, s->len);
    code[s->len] = 0xf4; /* HLT */
    memcpy(th_mem(t, TH_DATA), scr, DT_SCR_SIZE);
    memcpy(t->cpu.r, init->r, sizeof(init->r));
    cpu_set_rflags(&t->cpu, (init->rflags & (FL_ARITH | FL_DF)) | 2);
    enum th_result r = th_run_steps(t, code, s->len + 1, 100000);
    memcpy(out->regs.r, t->cpu.r, sizeof(out->regs.r));
    out->regs.rflags = cpu_get_rflags(&t->cpu);
    memcpy(out->mem, th_mem(t, TH_DATA), DT_SCR_SIZE);
    out->vector = r == TH_EXCEPTION ? t->vector : r == TH_BUDGET ? 255 : -1;
    out->fault_rip = r == TH_EXCEPTION ? t->cpu.rip : 0;
}

/* ---- comparison ---- */

static uint64_t flag_mask(const struct dt_seq *s, const struct result *n)
{
    uint32_t undef = s->undef_end;
    if (n->vector >= 0) {
        for (unsigned i = 0; i < s->ninsn; i++)
            if ((uint64_t)DT_CODE + s->insn_off[i] == n->fault_rip)
                undef = s->undef_before[i];
    }
    return (FL_ARITH & ~(uint64_t)undef) | FL_DF;
}

/* Bits of register i that are compared. */
static uint64_t reg_mask(const struct dt_seq *s, int i)
{
    return !s->m32 ? ~0ull : i < 8 ? 0xffffffffull : 0;
}

static void hexdump(const char *what, const uint8_t *p, unsigned n)
{
    fprintf(stderr, "  %s (%u bytes):", what, n);
    for (unsigned i = 0; i < n; i++)
        fprintf(stderr, "%s%02x", i % 32 ? " " : "\n    ", p[i]);
    fprintf(stderr, "\n");
}

static void report(uint64_t seed, uint64_t idx, unsigned maxt, const char *mode,
                   const struct dt_seq *s,
                   const struct dt_regs *init, const struct result *n, const struct result *e,
                   uint64_t fmask)
{
    fprintf(stderr, "MISMATCH in sequence %" PRIu64 " (%s-bit): %s\n", idx, s->m32 ? "32" : "64",
            s->desc);
    hexdump("code", s->code, s->len);
    fprintf(stderr, "  initial:");
    for (int i = 0; i < 16; i++)
        fprintf(stderr, "%s%s=%016" PRIx64, i % 4 ? " " : "\n    ", reg_names[i], init->r[i]);
    fprintf(stderr, "\n    rflags=%#" PRIx64 "\n", init->rflags);
    if (n->vector != e->vector || n->fault_rip != e->fault_rip)
        fprintf(stderr, "  exception: native %d at %#" PRIx64 ", engine %d at %#" PRIx64 "\n",
                n->vector, n->fault_rip, e->vector, e->fault_rip);
    for (int i = 0; i < 16; i++)
        if ((n->regs.r[i] ^ e->regs.r[i]) & reg_mask(s, i))
            fprintf(stderr, "  %-3s native %016" PRIx64 " engine %016" PRIx64 "\n", reg_names[i],
                    n->regs.r[i], e->regs.r[i]);
    if ((n->regs.rflags ^ e->regs.rflags) & fmask)
        fprintf(stderr, "  rflags native %#" PRIx64 " engine %#" PRIx64 " (compared bits %#" PRIx64
                        ")\n",
                n->regs.rflags & 0xfff, e->regs.rflags & 0xfff, fmask);
    unsigned shown = 0;
    for (unsigned i = 0; i < DT_SCR_SIZE && shown < 16; i++)
        if (n->mem[i] != e->mem[i]) {
            fprintf(stderr, "  mem[%#x] native %02x engine %02x\n", DT_SCR + i, n->mem[i],
                    e->mem[i]);
            shown++;
        }
    fprintf(stderr, "  replay: difftest --seed %" PRIu64 " --first %" PRIu64
                    " --count 1 --max-templates %u --mode %s\n",
            seed, idx, maxt, mode);
}

static bool compare(const struct dt_seq *s, const struct result *n, const struct result *e,
                    uint64_t *fmask)
{
    *fmask = flag_mask(s, n);
    if (n->vector != e->vector || n->fault_rip != e->fault_rip)
        return false;
    for (int i = 0; i < 16; i++)
        if ((n->regs.r[i] ^ e->regs.r[i]) & reg_mask(s, i))
            return false;
    if ((n->regs.rflags ^ e->regs.rflags) & *fmask)
        return false;
    return memcmp(n->mem, e->mem, DT_SCR_SIZE) == 0;
}

static struct dt_features host_features(void)
{
    unsigned a, b, c, d;
    struct dt_features f = { 0 };
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        f.popcnt = c >> 23 & 1;
        f.movbe = c >> 22 & 1;
        f.sse42 = c >> 20 & 1;
        f.cx16 = c >> 13 & 1;
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d))
        f.lzcnt = c >> 5 & 1;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d))
        f.bmi1 = b >> 3 & 1;
    return f;
}

static uint64_t arg_u64(int argc, char **argv, int *i)
{
    if (*i + 1 >= argc) {
        fprintf(stderr, "difftest: %s needs a value\n", argv[*i]);
        exit(2);
    }
    return strtoull(argv[++*i], NULL, 0);
}

int main(int argc, char **argv)
{
    uint64_t seed = 1, count = 200000, first = 0;
    unsigned maxt = 8;
    const char *only = NULL, *mode = "both";
    bool verbose = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--seed"))
            seed = arg_u64(argc, argv, &i);
        else if (!strcmp(argv[i], "--count"))
            count = arg_u64(argc, argv, &i);
        else if (!strcmp(argv[i], "--first"))
            first = arg_u64(argc, argv, &i);
        else if (!strcmp(argv[i], "--max-templates"))
            maxt = (unsigned)arg_u64(argc, argv, &i);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--mode") && i + 1 < argc)
            mode = argv[++i];
        else if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v"))
            verbose = true;
        else if (!strcmp(argv[i], "--list")) {
            for (unsigned k = 0; k < dt_ntemplates; k++)
                printf("%s\n", dt_template_names[k]);
            return 0;
        } else {
            fprintf(stderr, "usage: difftest [--seed N] [--count N] [--first N] [--only NAME] "
                            "[--max-templates N] [--mode 64|32|both] [--verbose] [--list]\n");
            return 2;
        }
    }
    if (maxt == 0)
        maxt = 1;
    if (native_setup() != 0)
        return 2;
    struct dt_features feat = host_features();
    struct th *t = calloc(1, sizeof(*t)), *t32 = calloc(1, sizeof(*t32));
    struct dt_seq *s = calloc(1, sizeof(*s));
    struct result *rn = calloc(1, sizeof(*rn)), *re = calloc(1, sizeof(*re));
    uint8_t *scr = malloc(DT_SCR_SIZE);
    if (!t || !t32 || !s || !rn || !re || !scr)
        return 2;
    th_init(t, TH_LONG64);
    th_init(t32, TH_PROT32);
    int m32_every = !strcmp(mode, "32") ? 1 : !strcmp(mode, "64") ? 0 : 4;

    uint64_t ninsn = 0, bad = 0, faults[33] = { 0 };
    for (uint64_t i = first; i < first + count; i++) {
        uint64_t sseed = dt_mix(seed ^ dt_mix(i));
        struct dt_regs init;
        bool m32 = m32_every && i % (uint64_t)m32_every == (uint64_t)m32_every - 1;
        dt_gen_seq(s, sseed, 1 + (unsigned)(dt_mix(sseed ^ 7) % maxt), &feat, only, m32);
        dt_gen_state(&init, scr, dt_mix(sseed + 1));
        if (verbose)
            printf("%" PRIu64 ": %s\n", i, s->desc);
        native_run(s, &init, scr, rn);
        engine_run(m32 ? t32 : t, s, &init, scr, re);
        ninsn += s->ninsn;
        faults[rn->vector >= 0 && rn->vector < 32 ? rn->vector : 32]++;
        uint64_t fmask;
        if (!compare(s, rn, re, &fmask)) {
            if (bad < 20)
                report(seed, i, maxt, mode, s, &init, rn, re, fmask);
            bad++;
        }
    }
    if (verbose)
        for (int v = 0; v < 32; v++)
            if (faults[v])
                printf("  %" PRIu64 " sequences ended in exception %d\n", faults[v], v);
    printf("difftest: %" PRIu64 " sequences, %" PRIu64 " instructions, %" PRIu64 " mismatches\n",
           count, ninsn, bad);
    th_destroy(t);
    th_destroy(t32);
    free(t);
    free(t32);
    free(s);
    free(rn);
    free(re);
    free(scr);
    return bad ? 1 : 0;
}
