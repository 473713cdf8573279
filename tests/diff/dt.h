/*
 * dt.h — the differential tester's shared layout and interfaces.
 *
 * The same code bytes run natively on the host and on the engine (through
 * tests/unit/cpu_harness.c) with the same initial registers, flags and
 * scratch memory at the same addresses:
 *
 *   DT_CODE  0x10000  code (host: RWX page; engine: TH_CODE)
 *   DT_SCR   0x20000  scratch memory (host: RW mapping; engine: TH_DATA)
 *   DT_CTL   0x30000  host only: register state in/out for the native stub
 *
 * RSP points into the scratch buffer (DT_RSP) so [rsp+disp8] operands are
 * valid; generated code never writes RSP.  This header is also included by
 * dt_native.S, so it holds only preprocessor definitions outside the
 * __ASSEMBLER__ guard.
 */
#ifndef NESTVM_DT_H
#define NESTVM_DT_H

#define DT_CODE 0x10000
#define DT_CODE_SIZE 0x1000
#define DT_SCR 0x20000
#define DT_SCR_SIZE 0x2000 /* the window templates use and the tester compares:
                              two pages, so accesses may straddle a page */
#define DT_SCR_MAP 0x10000
#define DT_RSP (DT_SCR + 0x1000)
#define DT_CTL 0x30000
#define DT_CTL_SIZE 0x1000

/* Control page: 16 GPRs then RFLAGS, in and out. */
#define DT_IN (DT_CTL + 0x000)
#define DT_IN_FLAGS (DT_IN + 16 * 8)
#define DT_OUT (DT_CTL + 0x100)
#define DT_OUT_FLAGS (DT_OUT + 16 * 8)
#define DT_HOST_RSP (DT_CTL + 0x200)
#define DT_CODE_PTR (DT_CTL + 0x208)
#define DT_RET_PTR (DT_CTL + 0x210)
#define DT_FARPTR (DT_CTL + 0x218) /* m16:32 far pointer to DT_CODE, CS 0x23 */
#define DT_USER_CS32 0x23
#define DT_USER_CS64 0x33
#define DT_USER_DS 0x2b

#ifndef __ASSEMBLER__
#include <stdbool.h>
#include <stdint.h>

#define DT_MAX_CODE 1024
#define DT_MAX_INSN 256

struct dt_regs {
    uint64_t r[16];
    uint64_t rflags;
};

/* A generated sequence and what the comparison needs to know about it. */
struct dt_seq {
    uint8_t code[DT_MAX_CODE];
    unsigned len;
    unsigned ninsn;
    bool m32;                           /* 32-bit compatibility-mode code */
    uint16_t insn_off[DT_MAX_INSN];    /* start offset of each instruction */
    uint32_t undef_before[DT_MAX_INSN]; /* flags undefined before it */
    uint32_t undef_end;                 /* flags undefined after the last one */
    char desc[2048];                    /* template trace, for reports */
};

struct dt_features {
    bool popcnt, lzcnt, bmi1, movbe, sse42, cx16;
};

/* Template names (for --only and --list). */
extern const char *const dt_template_names[];
extern const unsigned dt_ntemplates;

/* Generate a sequence of 'ntemplates' templates from 'seed' for 64-bit or
 * (m32) 32-bit code; 'only' (or NULL) restricts the templates to those whose
 * name contains it. */
void dt_gen_seq(struct dt_seq *s, uint64_t seed, unsigned ntemplates,
                const struct dt_features *f, const char *only, bool m32);
/* Random initial registers/flags and scratch contents. */
void dt_gen_state(struct dt_regs *regs, uint8_t *scratch, uint64_t seed);
uint64_t dt_mix(uint64_t x);

/* dt_native.S: run the code at DT_CODE with the registers at DT_IN. */
void dt_native_enter(void);
void dt_native_enter32(void);
void dt_native_exit(void);
#endif

#endif
