/*
 * seg.h — segmentation helpers shared by seg.c (segment-register loads,
 * LLDT/LTR, LAR/LSL/VERR/VERW/ARPL), ops_far.c (far JMP/CALL/RET, IRET,
 * SYSCALL/SYSENTER) and intr.c (event delivery).
 *
 * Descriptor layout (SDM Vol.3 3.4.5, Figure 3-8), as one 64-bit word d:
 *   15:0 limit 15:0 | 39:16 base 23:0 | 43:40 type | 44 S | 46:45 DPL | 47 P |
 *   51:48 limit 19:16 | 52 AVL | 53 L | 54 D/B | 55 G | 63:56 base 31:24
 * System descriptors in IA-32e mode (LDT, TSS, call gates) are 16 bytes: the
 * second word holds base/offset 63:32 and must have type 0 in bits 12:8
 * (SDM Vol.3 Figure 5-9).
 *
 * Decoded descriptors use struct seg from cpu.h, whose 'ar' has the VMCS
 * access-rights layout: bits 7:0 are descriptor bits 47:40 and bits 15:12
 * are descriptor bits 55:52, so  ar = (d >> 40 & 0xff) | (d >> 40 & 0xf000).
 *
 * Gate layout (SDM Vol.3 Figures 5-8, 6-2, 6-8): offset 15:0 in bits 15:0,
 * selector in 31:16, parameter count (call gate, 4:0) / IST (64-bit
 * interrupt gate, 2:0) in 36:32, type/DPL/P as above, offset 31:16 in 63:48,
 * offset 63:32 in the second word (IA-32e).
 */
#ifndef NESTVM_CPU_SEG_H
#define NESTVM_CPU_SEG_H

#include "cpu/cpu.h"
#include "cpu/insn.h"

/* System-descriptor and gate types (SDM Vol.3 Table 3-2). */
enum {
    DT_TSS16_AVAIL = 1, DT_LDT = 2, DT_TSS16_BUSY = 3, DT_CALL16 = 4, DT_TASK = 5,
    DT_INT16 = 6, DT_TRAP16 = 7, DT_TSS_AVAIL = 9, DT_TSS_BUSY = 11, DT_CALL = 12,
    DT_INT = 14, DT_TRAP = 15,
};

/* A descriptor as read from the GDT/LDT. */
struct desc {
    uint64_t lo, hi; /* hi: second word of a 16-byte system descriptor, else 0 */
    uint64_t addr;   /* linear address of the descriptor */
};

static inline bool seg_canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

/* ---- access-rights predicates (ar in VMCS layout) ---- */
static inline bool ar_code(uint32_t ar) { return (ar & AR_S) && (ar & 8); }
static inline bool ar_data(uint32_t ar) { return (ar & AR_S) && !(ar & 8); }
static inline bool ar_conforming(uint32_t ar) { return ar_code(ar) && (ar & 4); }
static inline bool ar_writable_data(uint32_t ar) { return ar_data(ar) && (ar & 2); }
static inline bool ar_readable(uint32_t ar) { return ar_data(ar) || (ar_code(ar) && (ar & 2)); }

/* ---- mode predicates ---- */
static inline bool cpu_real_mode(const struct cpu *cpu) { return !(cpu->cr0 & CR0_PE); }
static inline bool cpu_vm86(const struct cpu *cpu)
{
    return (cpu->cr0 & CR0_PE) && (cpu->rflags & FL_VM);
}
static inline bool cpu_long_mode(const struct cpu *cpu) { return cpu->efer & EFER_LMA; }
static inline unsigned cpu_iopl(const struct cpu *cpu) { return (cpu->rflags >> 12) & 3; }

/* ---- descriptors ---- */

/* Decode an 8-byte code/data/system descriptor (base 31:0, G applied). */
void seg_desc_decode(uint64_t d, struct seg *out);
/* Same for a 16-byte IA-32e system descriptor (base 63:0). */
void seg_desc_decode16(uint64_t lo, uint64_t hi, struct seg *out);

/* Locate the descriptor of 'sel' (8 or 16 bytes, 'size') in the GDT or LDT
 * and read it.  Returns false (nothing read) when the selector is outside the
 * table or names an unusable LDT.  Faults only on paging (#PF). */
bool seg_desc_try_fetch(struct cpu *cpu, uint16_t sel, unsigned size, struct desc *d);
/* Same but #GP((sel & 0xfffc) | ext) when outside the table. */
void seg_desc_fetch(struct cpu *cpu, uint16_t sel, unsigned size, uint32_t ext, struct desc *d);
/* Set the accessed bit of a code/data descriptor in memory if clear. */
void seg_desc_set_accessed(struct cpu *cpu, struct desc *d);

/* ---- segment registers ---- */

/* MOV/POP Sreg and LDS/LES/LFS/LGS/LSS (never CS): real, VM86, protected
 * and IA-32e rules, SDM Vol.3 5.4-5.6 and the MOV pseudocode (Vol.2). */
void seg_load(struct cpu *cpu, int seg, uint16_t sel);
/* Load a null selector into a data segment register (unusable; the base is
 * cleared as on Intel processors); dpl is kept in ar for SS. */
void seg_load_null(struct cpu *cpu, int seg, uint16_t sel, unsigned dpl);
/* Commit a protected-mode descriptor into a segment register. */
void seg_commit(struct cpu *cpu, int seg, uint16_t sel, const struct seg *s);
/* Real mode / VM86 load: base = sel << 4 (VM86 also fixes limit and ar). */
void seg_load_real(struct cpu *cpu, int seg, uint16_t sel);
/* After a return to an outer privilege level: make ES, DS, FS, GS null when
 * they hold data or non-conforming code with DPL < cpl (RET/IRET pseudocode). */
void seg_null_outer(struct cpu *cpu, unsigned cpl);
/* Flat 4 GiB segment caches used by SYSCALL/SYSRET/SYSENTER/SYSEXIT. */
void seg_load_flat_code(struct cpu *cpu, uint16_t sel, unsigned dpl, bool l64);
void seg_load_flat_stack(struct cpu *cpu, uint16_t sel, unsigned dpl);

/* LLDT / LTR (SDM Vol.2 LLDT, LTR; 16-byte descriptors in IA-32e mode). */
void seg_load_ldtr(struct cpu *cpu, uint16_t sel);
void seg_load_tr(struct cpu *cpu, uint16_t sel);

/* Segment-limit check of off..off+size-1 (expand-up or expand-down). */
bool seg_limit_ok(const struct seg *s, uint64_t off, unsigned size);

/* ---- stacks other than the current one (privilege changes) ---- */

/* A stack being built: the new SS (cache), the stack pointer, its width and
 * the access kind for the writes.  In IA-32e delivery asz = 8 (flat). */
struct stk {
    struct seg ss;
    uint64_t sp;
    uint64_t rsp_base; /* RSP bits kept above a 16-bit stack pointer */
    unsigned asz;   /* 2, 4 or 8 */
    unsigned acc;   /* ACC_WRITE, | ACC_SUPER when writing for an inner ring */
    uint32_t err;   /* #SS error code on a limit / canonical violation */
};
void stk_push(struct cpu *cpu, struct stk *k, unsigned size, uint64_t v);
/* Start from the current SS:RSP (same-privilege frames). */
void stk_init_current(struct cpu *cpu, struct stk *k, uint32_t err);
/* Commit k->sp into RSP respecting the stack width (SP only for 16-bit). */
void stk_commit_rsp(struct cpu *cpu, const struct stk *k);

/* TSS inner stack for privilege level 'dpl' (SDM Vol.3 7.2.1, 7.7):
 * legacy TSS → *ss and *sp; 64-bit TSS → *sp from RSPn or ISTn (ist 1-7).
 * #TS(TR.sel | ext) if the fields are outside the TSS limit. */
void tss_inner_stack(struct cpu *cpu, unsigned dpl, unsigned ist, uint32_t ext, uint16_t *ss,
                     uint64_t *sp);
/* Checks of a new inner SS for a privilege change (legacy): #TS / #SS with
 * the selector and ext; fills *out and sets the accessed bit. */
void seg_check_inner_ss(struct cpu *cpu, uint16_t ss_sel, unsigned dpl, uint32_t ext,
                        struct seg *out);

/* Code segment named by a call/interrupt gate: not null, code, DPL <= CPL,
 * 64-bit in IA-32e mode, present; #GP/#NP((sel & 0xfffc) | ext). */
void seg_gate_target(struct cpu *cpu, uint16_t sel, uint32_t ext, struct desc *d,
                     struct seg *cs);

/* ---- RFLAGS ---- */
/* Write the bits of 'mask' from 'v' (bit 1 forced), keep the others. */
void cpu_rflags_merge(struct cpu *cpu, uint64_t v, uint64_t mask);

#endif
