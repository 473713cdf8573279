/*
 * mem.h — guest memory access for instruction handlers.
 *
 * Every access a handler makes goes through here: segmentation (limits,
 * types, canonical checks), then the software TLB fast path, then the page
 * walker (mmu.c) on a miss.  Faults unwind with cpu_fault().
 *
 *   v = mem_read32(cpu, in->seg, insn_ea(cpu, in));
 *   mem_write64(cpu, SEG_SS, rsp - 8, v);
 *   v = op_read_rm(cpu, in, 4);          // ModRM r/m operand, reg or memory
 *
 * Read-modify-write (ALU with memory destination, XCHG, CMPXCHG, XADD):
 *   struct rmw m; uint64_t old = rmw_begin(cpu, in, size, &m);
 *   ... compute new ...
 *   if (in->lock) { if (!rmw_cas(cpu, &m, &old, new)) retry with the new old; }
 *   else rmw_commit(cpu, &m, new);
 * rmw_begin checks write access before reading, so no state changes if it
 * faults, and LOCKed operations are atomic across vCPUs (host atomics on the
 * RAM page; page-crossing or MMIO operands fall back to a global split lock).
 */
#ifndef NESTVM_CPU_MEM_H
#define NESTVM_CPU_MEM_H

#include "cpu/cpu.h"
#include "cpu/insn.h"

/* Access kinds; the low bits match the #PF error code (SDM Vol.3 4.7). */
#define ACC_READ 0u
#define ACC_WRITE (1u << 1)
#define ACC_USER (1u << 2)   /* computed by the walker from CPL */
#define ACC_FETCH (1u << 4)
#define ACC_SUPER (1u << 8)  /* implicit supervisor access (GDT/LDT/IDT/TSS) */
#define ACC_PROBE (1u << 9)  /* do not fault: return false instead */
#define ACC_PTWALK (1u << 10) /* the page walker reading a paging structure (EPT, VMX) */

/* ---- linear-address layer (after segmentation) ---- */

/* Translate a linear address; raises #PF (or returns false with ACC_PROBE). */
bool mmu_translate(struct cpu *cpu, uint64_t lin, unsigned acc, uint64_t *gpa);
/* Host pointer for a guest-physical range inside one page, or NULL (MMIO). */
uint8_t *cpu_gpa_host(struct cpu *cpu, uint64_t gpa, unsigned len, unsigned acc);

uint64_t mem_read_lin_slow(struct cpu *cpu, uint64_t lin, unsigned size, unsigned acc);
void mem_write_lin_slow(struct cpu *cpu, uint64_t lin, unsigned size, uint64_t v, unsigned acc);
uint64_t seg_linear_slow(struct cpu *cpu, int seg, uint64_t off, unsigned size, unsigned acc);

static inline void *tlb_hit(const struct tlb_entry *t, uint64_t lin, unsigned size, uint8_t ctx)
{
    const struct tlb_entry *e = &t[(lin >> 12) & (TLB_SIZE - 1)];
    if (likely(e->tag == (((lin + size - 1) & ~0xfffull) | ctx)))
        return (void *)(uintptr_t)(lin + e->addend);
    return NULL;
}

/* Linear address of seg:off for an access of 'size' bytes (checks included). */
static inline uint64_t seg_linear(struct cpu *cpu, int seg, uint64_t off, unsigned size,
                                  unsigned acc)
{
    if (likely(cpu->code64)) {
        uint64_t lin = off + (seg >= SEG_FS ? cpu->seg[seg].base : 0);
        /* A non-canonical stack reference is #SS(0), not the #GP(0) the
         * slow path raises for the others (SDM Vol.3 3.3.7.1). */
        if (unlikely(seg == SEG_SS) && unlikely((uint64_t)((int64_t)(lin << 16) >> 16) != lin))
            cpu_fault(cpu, EXC_SS, 0);
        return lin;
    }
    return seg_linear_slow(cpu, seg, off, size, acc);
}

static inline __attribute__((always_inline)) uint64_t mem_read_lin(struct cpu *cpu, uint64_t lin, unsigned size)
{
    void *p = tlb_hit(cpu->tlb.r, lin, size, cpu->tlb_ctx);
    if (likely(p != NULL)) {
        uint64_t v = 0;
        memcpy(&v, p, size);
        return v;
    }
    return mem_read_lin_slow(cpu, lin, size, ACC_READ);
}

static inline __attribute__((always_inline)) void mem_write_lin(struct cpu *cpu, uint64_t lin, unsigned size, uint64_t v)
{
    void *p = tlb_hit(cpu->tlb.w, lin, size, cpu->tlb_ctx);
    if (likely(p != NULL)) {
        memcpy(p, &v, size);
        return;
    }
    mem_write_lin_slow(cpu, lin, size, v, ACC_WRITE);
}

/* ---- segmented layer: what handlers call ---- */

static inline uint64_t mem_read(struct cpu *cpu, int seg, uint64_t off, unsigned size)
{
    return mem_read_lin(cpu, seg_linear(cpu, seg, off, size, ACC_READ), size);
}
static inline void mem_write(struct cpu *cpu, int seg, uint64_t off, unsigned size, uint64_t v)
{
    mem_write_lin(cpu, seg_linear(cpu, seg, off, size, ACC_WRITE), size, v);
}
static inline uint8_t mem_read8(struct cpu *cpu, int seg, uint64_t off)
{
    return (uint8_t)mem_read(cpu, seg, off, 1);
}
static inline uint16_t mem_read16(struct cpu *cpu, int seg, uint64_t off)
{
    return (uint16_t)mem_read(cpu, seg, off, 2);
}
static inline uint32_t mem_read32(struct cpu *cpu, int seg, uint64_t off)
{
    return (uint32_t)mem_read(cpu, seg, off, 4);
}
static inline uint64_t mem_read64(struct cpu *cpu, int seg, uint64_t off)
{
    return mem_read(cpu, seg, off, 8);
}
static inline void mem_write8(struct cpu *cpu, int seg, uint64_t off, uint8_t v)
{
    mem_write(cpu, seg, off, 1, v);
}
static inline void mem_write16(struct cpu *cpu, int seg, uint64_t off, uint16_t v)
{
    mem_write(cpu, seg, off, 2, v);
}
static inline void mem_write32(struct cpu *cpu, int seg, uint64_t off, uint32_t v)
{
    mem_write(cpu, seg, off, 4, v);
}
static inline void mem_write64(struct cpu *cpu, int seg, uint64_t off, uint64_t v)
{
    mem_write(cpu, seg, off, 8, v);
}

/* Blocks of up to 4096 bytes (SSE operands, FXSAVE, XSAVE, descriptor reads).
 * mem_write_buf checks that every byte is writable before writing any. */
void mem_read_buf(struct cpu *cpu, int seg, uint64_t off, void *dst, unsigned n);
void mem_write_buf(struct cpu *cpu, int seg, uint64_t off, const void *src, unsigned n);

/* Check that seg:off..off+n-1 is writable (segmentation and paging) without
 * writing, so a handler can fault before committing anything. */
void mem_probe_write(struct cpu *cpu, int seg, uint64_t off, unsigned n);

/* Implicit supervisor accesses by linear address (descriptor tables, TSS,
 * IDT): paging applies with supervisor privilege whatever the CPL. */
uint64_t mem_read_sys(struct cpu *cpu, uint64_t lin, unsigned size);
void mem_write_sys(struct cpu *cpu, uint64_t lin, unsigned size, uint64_t v);

/* ---- operands ---- */

/* ModRM r/m operand of 'size' bytes (1, 2, 4, 8): register or memory. */
static inline __attribute__((always_inline)) uint64_t op_read_rm(struct cpu *cpu, const struct insn *in, unsigned size)
{
    if (in->mod == 3)
        return size == 1 ? reg8_get(cpu, in->rm, in->rex) : reg_get(cpu, in->rm, size);
    return mem_read(cpu, in->seg, insn_ea(cpu, in), size);
}

static inline __attribute__((always_inline)) void op_write_rm(struct cpu *cpu, const struct insn *in, unsigned size, uint64_t v)
{
    if (in->mod == 3) {
        if (size == 1)
            reg8_set(cpu, in->rm, in->rex, (uint8_t)v);
        else
            reg_set(cpu, in->rm, size, v);
        return;
    }
    mem_write(cpu, in->seg, insn_ea(cpu, in), size, v);
}

/* ModRM reg operand. */
static inline uint64_t op_read_reg(const struct cpu *cpu, const struct insn *in, unsigned size)
{
    return size == 1 ? reg8_get(cpu, in->reg, in->rex) : reg_get(cpu, in->reg, size);
}

static inline void op_write_reg(struct cpu *cpu, const struct insn *in, unsigned size, uint64_t v)
{
    if (size == 1)
        reg8_set(cpu, in->reg, in->rex, (uint8_t)v);
    else
        reg_set(cpu, in->reg, size, v);
}

struct rmw {
    uint8_t *host; /* NULL: register operand (reg != 0xff) or slow memory */
    uint64_t lin;
    unsigned size;
    uint8_t reg; /* register number for mod == 3, else 0xff */
    bool rex;
};
uint64_t rmw_begin(struct cpu *cpu, const struct insn *in, unsigned size, struct rmw *m);
/* Same for an explicit memory location (CMPXCHG8B, string ops). */
uint64_t rmw_begin_mem(struct cpu *cpu, int seg, uint64_t off, unsigned size, struct rmw *m);
void rmw_commit(struct cpu *cpu, struct rmw *m, uint64_t v);
/* Atomically replace *old by v; on failure *old receives the current value. */
bool rmw_cas(struct cpu *cpu, struct rmw *m, uint64_t *old, uint64_t v);
/* 16-byte compare-exchange for CMPXCHG16B (lock held for the slow path). */
bool rmw_cas128(struct cpu *cpu, struct rmw *m, uint64_t old[2], const uint64_t v[2]);

/* ---- stack ---- */

/* Address size of stack accesses: 8 in 64-bit mode, else SS.B ? 4 : 2. */
static inline unsigned stack_asz(const struct cpu *cpu)
{
    return cpu->code64 ? 8 : (cpu->stack32 ? 4 : 2);
}
/* Push/pop 'size' bytes; RSP is committed only after the access succeeded. */
void cpu_push(struct cpu *cpu, unsigned size, uint64_t v);
uint64_t cpu_pop(struct cpu *cpu, unsigned size);
/* Read/write relative to the current RSP without changing it. */
uint64_t stack_read(struct cpu *cpu, int64_t delta, unsigned size);
void stack_write(struct cpu *cpu, int64_t delta, unsigned size, uint64_t v);
void stack_set_rsp(struct cpu *cpu, uint64_t rsp); /* honours stack_asz */

/* ---- TLB maintenance (mmu.c) ---- */
void tlb_flush_all(struct cpu *cpu);
void tlb_flush_page(struct cpu *cpu, uint64_t lin);
void cpu_update_tlb_ctx(struct cpu *cpu); /* after CPL, CR4.SMAP or RFLAGS.AC change */
/* tlb_ctx bit: alignment checking is on (CPL 3, CR0.AM, RFLAGS.AC; SDM Vol.3
 * 6.15 "#AC"): no data TLB entries are filled, so every data access takes
 * the slow path, which raises #AC(0) for a misaligned 2/4/8-byte access. */
#define TLB_CTX_AC 4u

#endif
