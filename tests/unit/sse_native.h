/*
 * sse_native.h — run one MMX/SSE instruction both natively on the host CPU
 * and on the engine, from the same random register/memory state, and
 * compare everything it can change (XMM0-15, MM0-7, GPRs, arithmetic
 * flags, MXCSR, a 256-byte memory window).
 *
 * A case is declared with an X-macro list of (name, "AT&T instruction"):
 *
 *   #define CASES(X) X(addps_rr, "addps %xmm1, %xmm0") X(addps_rm, "addps (%rsi), %xmm2")
 *   CASES(SSE_NATIVE_ASM)
 *   static const struct sse_case cases[] = { CASES(SSE_NATIVE_ENTRY) };
 *
 * SSE_NATIVE_ASM assembles the instruction twice with the host assembler:
 * once into a host stub (load state, instruction, save state) and once,
 * followed by HLT, into read-only data used as the guest's code.  So the
 * guest runs exactly the bytes the host ran.  RSI and RDI point at the
 * memory window (host buffer / guest TH_DATA + 64); all MXCSR exceptions
 * are masked so the host never traps.  Instructions under test must not
 * write RSP, RSI or RDI.
 */
#ifndef NESTVM_TEST_SSE_NATIVE_H
#define NESTVM_TEST_SSE_NATIVE_H

#include <stdint.h>

#include "cpu_harness.h"
#include "test.h"

/* Offsets used by the assembly helpers in sse_native.c. */
#define SSE_ST_XMM 0
#define SSE_ST_MM 256
#define SSE_ST_GPR 320
#define SSE_ST_FLAGS 448
#define SSE_ST_MXCSR 456

struct sse_state {
    xmm_t x[16];
    uint64_t mm[8];
    uint64_t r[16];
    uint64_t rflags;
    uint32_t mxcsr;
    uint32_t pad;
};

#define SSE_WINDOW 256 /* compared bytes; RSI/RDI = window + 64 */

struct sse_case {
    const char *name;
    void (*host)(struct sse_state *s);
    const uint8_t *code, *code_end;
};

#define SSE_NATIVE_ASM(name, insn)                                                  \
    __asm__(".pushsection .text\n"                                                 \
            ".globl sse_host_" #name "\n"                                          \
            ".hidden sse_host_" #name "\n"                                         \
            "sse_host_" #name ":\n"                                                \
            "  call sse_native_enter\n"                                            \
            "  " insn "\n"                                                         \
            "  jmp sse_native_leave\n"                                             \
            ".popsection\n"                                                        \
            ".pushsection .rodata\n"                                               \
            ".globl sse_code_" #name "\n"                                          \
            ".hidden sse_code_" #name "\n"                                         \
            "sse_code_" #name ":\n"                                                \
            "  " insn "\n"                                                         \
            "  hlt\n"                                                              \
            ".globl sse_code_" #name "_end\n"                                      \
            ".hidden sse_code_" #name "_end\n"                                     \
            "sse_code_" #name "_end:\n"                                            \
            ".popsection\n");                                                      \
    void sse_host_##name(struct sse_state *s);                                     \
    extern const uint8_t sse_code_##name[], sse_code_##name##_end[];

#define SSE_NATIVE_ENTRY(name, insn) { #name, sse_host_##name, sse_code_##name, sse_code_##name##_end },

/* Value flavours for the random state. */
enum sse_gen { SSE_GEN_MIXED, SSE_GEN_FLOAT, SSE_GEN_DOUBLE, SSE_GEN_STRING };

/* Run 'iters' random states through host and engine; returns the number
 * of mismatching runs (the first ones are printed with the case name). */
int sse_native_check(const struct sse_case *c, unsigned iters, uint64_t seed, enum sse_gen gen);

/* Check every case of a table; returns the total number of mismatches. */
int sse_native_check_all(const struct sse_case *cases, unsigned n, unsigned iters,
                         enum sse_gen gen);

#endif
