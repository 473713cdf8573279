/*
 * jit.h — the translation tier (jit.c): host code for the hot prefix of a
 * decoded 64-bit block, installed as its first instruction's handler.
 */
#ifndef NESTVM_CPU_JIT_H
#define NESTVM_CPU_JIT_H

#include <stdbool.h>
#include <stdint.h>

#include "cpu/cpu.h"
#include "cpu/insn.h"

struct jit {
    uint8_t *base; /* executable arena (NULL: the tier is off) */
    uint32_t used, size;
    uint64_t blocks; /* blocks translated since start (tests, stats) */
    uint64_t insns;  /* instructions those blocks' code covers */
    bool log;        /* NESTVM_JIT_LOG set: print where each translation stopped */
};

/* Block starts before translation. */
#define JIT_HOT 64

/* JIT_HOT, or from the environment (for A/B measurements and tests):
 * NESTVM_JIT=0 turns the tier off (0), NESTVM_JIT_HOT=N sets the count. */
unsigned jit_default_hot(void);
bool jit_init(struct jit *j);
void jit_fini(struct jit *j);
/* Drop all code: the block pool it belongs to was flushed. */
void jit_reset(struct jit *j);
/* Translate block ins[0..n) (bit i of 'generic': instruction i runs a
 * generic handler) and install the code in ins[0].fn, if it can. */
void jit_translate(struct cpu *cpu, struct jit *j, struct insn *ins, unsigned n, uint32_t generic);

#endif
