/*
 * ops_string.c — string instructions MOVS, CMPS, STOS, LODS, SCAS (A4-A7,
 * AA-AF) and INS/OUTS (6C-6F), with and without REP/REPE/REPNE.
 *
 * Rules (SDM Vol.1 7.3.9, Vol.2 "MOVS", "CMPS", "REP/REPE/REPZ/REPNE/REPNZ"):
 *  - the source is seg:rSI where seg is DS or the segment override; the
 *    destination is always ES:rDI (no override);
 *  - rSI, rDI and the REP counter rCX are address-size wide (SI/ESI/RSI,
 *    writes of the 32-bit forms zero-extend like any 32-bit register write);
 *  - RFLAGS.DF=1 walks downwards;
 *  - REP with rCX = 0 executes no iteration; REPE/REPNE stop CMPS/SCAS when
 *    ZF becomes 0 / 1; for the other instructions F2 and F3 both mean REP.
 *
 * Interruptible REP: each execution performs a bounded amount of work
 * (STR_BUDGET element iterations; a whole-chunk fast copy counts
 * STR_FAST_COST), then leaves cpu->next_rip = cpu->rip so the instruction
 * restarts after the loop has had a chance to deliver interrupts.  RSI, RDI
 * and RCX are committed after every element (or chunk), so a fault in the
 * middle leaves a state from which the instruction resumes correctly.
 *
 * Fast path: REP MOVS and REP STOS with DF=0 copy/fill up to a page at a time
 * through host pointers from the software TLB.  A chunk never crosses a page
 * (linear), the segment limit or the address-size wrap, so it cannot fault
 * part-way; when the TLB misses, one element goes through the normal access
 * path (which faults exactly as the hardware would, or fills the TLB), and
 * the next chunk tries again.  Pages holding decoded code never get a write
 * TLB entry, so self-modifying-code tracking stays intact.
 */
#include "cpu/ops_flow.h"

#include "cpu/cpu.h"
#include "cpu/mem.h"

#define STR_BUDGET 4096u
#define STR_FAST_COST 64u

enum str_kind { SK_MOVS, SK_CMPS, SK_STOS, SK_LODS, SK_SCAS, SK_INS, SK_OUTS };

#define STR_INLINE static inline __attribute__((always_inline))

static inline int str_src_seg(const struct insn *in)
{
    return in->segovr != SEG_NONE ? in->segovr : SEG_DS;
}

/* Advance an address-size-wide index register by one element. */
static inline void str_adv(struct cpu *cpu, unsigned r, unsigned asz, uint64_t cur, int64_t step)
{
    reg_set(cpu, r, asz, cur + (uint64_t)step);
}

/* Record CMPS/SCAS flags (a - b) and return ZF. */
static inline bool str_compare(struct cpu *cpu, unsigned size, uint64_t a, uint64_t b)
{
    uint64_t m = size_mask(size);
    a &= m;
    b &= m;
    uint64_t res = (a - b) & m;
    flags_lazy(cpu, LF_SUB, size, a, b, res);
    return res == 0;
}

/*
 * One element of any string instruction, through the ordinary access path.
 * Returns ZF for CMPS/SCAS (false otherwise).  Registers are committed only
 * after the element's memory accesses succeeded.
 */
STR_INLINE bool str_one(struct cpu *cpu, enum str_kind k, unsigned size, unsigned asz, int src,
                        int64_t step)
{
    uint64_t si = reg_get(cpu, R_SI, asz), di = reg_get(cpu, R_DI, asz);
    uint16_t port = (uint16_t)cpu->r[R_DX];
    uint64_t v;
    bool zf = false;
    switch (k) {
    case SK_MOVS:
        v = mem_read(cpu, src, si, size);
        mem_write(cpu, SEG_ES, di, size, v);
        str_adv(cpu, R_SI, asz, si, step);
        str_adv(cpu, R_DI, asz, di, step);
        break;
    case SK_CMPS:
        v = mem_read(cpu, src, si, size);
        zf = str_compare(cpu, size, v, mem_read(cpu, SEG_ES, di, size));
        str_adv(cpu, R_SI, asz, si, step);
        str_adv(cpu, R_DI, asz, di, step);
        break;
    case SK_STOS:
        mem_write(cpu, SEG_ES, di, size, cpu->r[R_AX]);
        str_adv(cpu, R_DI, asz, di, step);
        break;
    case SK_LODS:
        v = mem_read(cpu, src, si, size);
        if (size == 1)
            reg8_set(cpu, R_AX, false, (uint8_t)v);
        else
            reg_set(cpu, R_AX, size, v);
        str_adv(cpu, R_SI, asz, si, step);
        break;
    case SK_SCAS:
        zf = str_compare(cpu, size, cpu->r[R_AX], mem_read(cpu, SEG_ES, di, size));
        str_adv(cpu, R_DI, asz, di, step);
        break;
    case SK_INS:
        /* Check the destination before the port read has side effects. */
        mem_probe_write(cpu, SEG_ES, di, size);
        v = bus_pio_read(cpu->bus, port, size);
        mem_write(cpu, SEG_ES, di, size, v);
        str_adv(cpu, R_DI, asz, di, step);
        break;
    case SK_OUTS:
        v = mem_read(cpu, src, si, size);
        bus_pio_write(cpu->bus, port, v & size_mask(size), size);
        str_adv(cpu, R_SI, asz, si, step);
        break;
    }
    return zf;
}

/* Linear address of seg:off without checks (only used to size chunks). */
static inline uint64_t str_lin_guess(const struct cpu *cpu, int seg, uint64_t off)
{
    if (cpu->code64)
        return off + (seg >= SEG_FS ? cpu->seg[seg].base : 0);
    return (uint32_t)(cpu->seg[seg].base + off);
}

/* Limit n (elements) so seg:off.. stays inside one linear page and does not
 * wrap the address-size offset. */
static inline uint64_t str_room(const struct cpu *cpu, int seg, uint64_t off, unsigned size,
                                unsigned asz, uint64_t n)
{
    uint64_t lin = str_lin_guess(cpu, seg, off);
    uint64_t room = (4096 - (lin & 0xfff)) / size;
    if (asz < 8) {
        uint64_t wrap = (size_mask(asz) - off + 1) / size;
        if (wrap < room)
            room = wrap;
    }
    return n < room ? n : room;
}

/*
 * Host pointer for the whole range seg:off..off+n-1 (inside one page), or
 * NULL when the range is not plain RAM already in the TLB, or when the
 * segment limit falls inside it (then the slow path faults at the right
 * element).  A fault raised here (segment type, non-canonical address) is
 * the one the first element would raise, with nothing committed yet.
 */
static uint8_t *str_host(struct cpu *cpu, int seg, uint64_t off, unsigned n, bool write)
{
    if (!cpu->code64) {
        const struct seg *s = &cpu->seg[seg];
        bool prot = (cpu->cr0 & CR0_PE) && !(cpu->rflags & FL_VM);
        if (prot && (AR_TYPE(s->ar) & 0xc) == 0x4)
            return NULL; /* expand-down data segment */
        if (off + n - 1 > s->limit)
            return NULL;
    }
    uint64_t lin = seg_linear(cpu, seg, off, n, write ? ACC_WRITE : ACC_READ);
    return tlb_hit(write ? cpu->tlb.w : cpu->tlb.r, lin, n, cpu->tlb_ctx);
}

/* Fill n elements of 'size' bytes with the low bytes of v. */
static void str_fill(uint8_t *d, uint64_t v, unsigned size, uint64_t n)
{
    switch (size) {
    case 1:
        memset(d, (uint8_t)v, n);
        break;
    case 2:
        for (uint64_t i = 0; i < n; i++)
            memcpy(d + 2 * i, &v, 2);
        break;
    case 4:
        for (uint64_t i = 0; i < n; i++)
            memcpy(d + 4 * i, &v, 4);
        break;
    default:
        for (uint64_t i = 0; i < n; i++)
            memcpy(d + 8 * i, &v, 8);
        break;
    }
}

/* Element-by-element forward copy: the architectural result when the
 * destination starts inside the source (a repeating pattern). */
static void str_copy_overlap(uint8_t *d, const uint8_t *s, unsigned size, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        uint64_t t;
        memcpy(&t, s + i * size, size);
        memcpy(d + i * size, &t, size);
    }
}

/*
 * Fast chunk of REP MOVS / REP STOS with DF=0.  Returns the number of
 * elements done (RSI/RDI already updated), 0 if the slow path must do the
 * next element.
 */
STR_INLINE uint64_t str_fast(struct cpu *cpu, enum str_kind k, unsigned size, unsigned asz,
                             int src, uint64_t count)
{
    uint64_t di = reg_get(cpu, R_DI, asz);
    uint64_t si = 0;
    uint64_t n = str_room(cpu, SEG_ES, di, size, asz, count);
    if (k == SK_MOVS) {
        si = reg_get(cpu, R_SI, asz);
        n = str_room(cpu, src, si, size, asz, n);
    }
    if (n == 0)
        return 0;
    unsigned bytes = (unsigned)(n * size);
    const uint8_t *s = NULL;
    if (k == SK_MOVS) {
        s = str_host(cpu, src, si, bytes, false);
        if (!s)
            return 0;
    }
    uint8_t *d = str_host(cpu, SEG_ES, di, bytes, true);
    if (!d)
        return 0;
    if (k == SK_MOVS) {
        if (d > s && d < s + bytes)
            str_copy_overlap(d, s, size, n);
        else
            memmove(d, s, bytes);
        reg_set(cpu, R_SI, asz, si + bytes);
    } else {
        str_fill(d, cpu->r[R_AX], size, n);
    }
    reg_set(cpu, R_DI, asz, di + bytes);
    return n;
}

/* The body shared by every string handler. */
STR_INLINE void str_exec(struct cpu *cpu, const struct insn *in, enum str_kind k, unsigned size)
{
    unsigned asz = in->asz;
    int src = str_src_seg(in);
    int64_t step = (cpu->rflags & FL_DF) ? -(int64_t)size : (int64_t)size;
    bool io = k == SK_INS || k == SK_OUTS;

    if (!in->rep) {
        if (io && !io_allowed(cpu, (uint16_t)cpu->r[R_DX], size))
            cpu_gp0(cpu);
        str_one(cpu, k, size, asz, src, step);
        return;
    }
    uint64_t count = reg_get(cpu, R_CX, asz);
    if (count == 0)
        return;
    if (io && !io_allowed(cpu, (uint16_t)cpu->r[R_DX], size))
        cpu_gp0(cpu);
    bool fast = (k == SK_MOVS || k == SK_STOS) && step > 0;
    bool repe = in->rep == 0xf3;
    unsigned work = 0;
    do {
        if (fast) {
            uint64_t n = str_fast(cpu, k, size, asz, src, count);
            if (n) {
                count -= n;
                reg_set(cpu, R_CX, asz, count);
                work += STR_FAST_COST;
                continue;
            }
        }
        bool zf = str_one(cpu, k, size, asz, src, step);
        count--;
        reg_set(cpu, R_CX, asz, count);
        work++;
        if ((k == SK_CMPS || k == SK_SCAS) && zf != repe)
            return; /* REPE: ZF=0 stops, REPNE: ZF=1 stops */
    } while (count != 0 && work < STR_BUDGET);
    if (count != 0) {
        /* Not finished: run this instruction again after the loop has
         * looked at pending events. */
        cpu->next_rip = cpu->rip;
        cpu_end_block(cpu);
    }
}

/* Operand size of the v forms; Yz/Xz (INS/OUTS) cap it at 4. */
static inline unsigned str_vsize(const struct insn *in)
{
    return in->osz;
}

static inline unsigned str_zsize(const struct insn *in)
{
    return in->osz == 2 ? 2 : 4;
}

void op_movs_YbXb(struct cpu *cpu, const struct insn *in)
{
    str_exec(cpu, in, SK_MOVS, 1);
}

void op_movs_YvXv(struct cpu *cpu, const struct insn *in)
{
    str_exec(cpu, in, SK_MOVS, str_vsize(in));
}

void op_cmps_XbYb(struct cpu *cpu, const struct insn *in)
{
    str_exec(cpu, in, SK_CMPS, 1);
}

void op_cmps_XvYv(struct cpu *cpu, const struct insn *in)
{
    str_exec(cpu, in, SK_CMPS, str_vsize(in));
}

void op_stos_YbAL(struct cpu *cpu, const struct insn *in)
{
    str_exec(cpu, in, SK_STOS, 1);
}

void op_stos_YvrAX(struct cpu *cpu, const struct insn *in)
{
    str_exec(cpu, in, SK_STOS, str_vsize(in));
}

void op_lods_ALXb(struct cpu *cpu, const struct insn *in)
{
    str_exec(cpu, in, SK_LODS, 1);
}

void op_lods_rAXXv(struct cpu *cpu, const struct insn *in)
{
    str_exec(cpu, in, SK_LODS, str_vsize(in));
}

void op_scas_ALYb(struct cpu *cpu, const struct insn *in)
{
    str_exec(cpu, in, SK_SCAS, 1);
}

void op_scas_rAXYv(struct cpu *cpu, const struct insn *in)
{
    str_exec(cpu, in, SK_SCAS, str_vsize(in));
}

void op_ins_YbDX(struct cpu *cpu, const struct insn *in)
{
    str_exec(cpu, in, SK_INS, 1);
}

void op_ins_YzDX(struct cpu *cpu, const struct insn *in)
{
    str_exec(cpu, in, SK_INS, str_zsize(in));
}

/* OUTS: a device may have raised an interrupt, so end the block. */
void op_outs_DXXb(struct cpu *cpu, const struct insn *in)
{
    str_exec(cpu, in, SK_OUTS, 1);
    cpu_end_block(cpu);
}

void op_outs_DXXz(struct cpu *cpu, const struct insn *in)
{
    str_exec(cpu, in, SK_OUTS, str_zsize(in));
    cpu_end_block(cpu);
}
