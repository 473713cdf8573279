/*
 * mem.c — slow paths of guest memory access: segmentation checks, TLB
 * misses, MMIO, page-crossing accesses, read-modify-write and the stack.
 *
 * Segmentation (SDM Vol.3 5.3, 5.4): outside 64-bit mode every access is
 * checked against the segment's limit (expand-up: off..off+size-1 <= limit;
 * expand-down: off > limit and the top bound 0xffff or 0xffffffff per D/B)
 * and type (no writes to code or read-only data, no reads of execute-only
 * code).  Violations raise #GP(0), or #SS(0) for the stack segment.  In
 * 64-bit mode only FS/GS bases apply and a non-canonical linear address
 * raises #GP(0) / #SS(0) (SDM Vol.3 3.3.7.1).
 */
#include "cpu/mem.h"

#include "cpu/debug.h"
#include "cpu/exec.h"
#include "cpu/msr.h"
#include "hw/lapic.h"
#include "vmx/vmx_hooks.h"

static pthread_mutex_t split_lock = PTHREAD_MUTEX_INITIALIZER;

static inline bool canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static _Noreturn void seg_fault(struct cpu *cpu, int seg)
{
    cpu_fault(cpu, seg == SEG_SS ? EXC_SS : EXC_GP, 0);
}

uint64_t seg_linear_slow(struct cpu *cpu, int seg, uint64_t off, unsigned size, unsigned acc)
{
    const struct seg *s = &cpu->seg[seg];
    if (cpu->code64) /* not reached through seg_linear, but keep it total */
        return off + (seg >= SEG_FS ? s->base : 0);
    if (!(cpu->cr0 & CR0_PE) || (cpu->rflags & FL_VM)) {
        /* Real and virtual-8086 mode: limit checks still apply (SDM 20.1.1) */
        if (off + size - 1 > s->limit)
            seg_fault(cpu, seg);
        return (uint32_t)(s->base + off);
    }
    if (s->ar & AR_UNUSABLE)
        seg_fault(cpu, seg);
    unsigned type = AR_TYPE(s->ar);
    if (acc & ACC_WRITE) {
        if ((type & 8) || !(type & 2)) /* code, or read-only data */
            seg_fault(cpu, seg);
    } else if ((type & 8) && !(type & 2) && !(acc & ACC_FETCH)) {
        seg_fault(cpu, seg); /* execute-only code */
    }
    uint64_t last = off + size - 1;
    if ((type & 0xc) == 0x4) { /* expand-down data */
        uint64_t top = (s->ar & AR_DB) ? 0xffffffffull : 0xffffull;
        if (off <= s->limit || last > top)
            seg_fault(cpu, seg);
    } else if (last > s->limit) {
        seg_fault(cpu, seg);
    }
    return (uint32_t)(s->base + off);
}

/* ---- physical layer ---- */

uint8_t *cpu_gpa_host(struct cpu *cpu, uint64_t gpa, unsigned len, unsigned acc)
{
    /* EPT nests here: every guest-physical access of a VMX non-root guest
     * (paging structures included) is translated by L1's EPT first. */
    if (unlikely(cpu->nonroot) && cpu->vmx)
        return vmx_guest_phys_host(cpu, gpa, len, acc);
    return bus_ram_ptr(cpu->bus, gpa, len);
}

static bool apic_page(const struct cpu *cpu, uint64_t gpa)
{
    return cpu->lapic && (cpu->apic_base & (1ull << 11)) && !(cpu->apic_base & (1ull << 10)) &&
           (gpa & ~0xfffull) == (cpu->apic_base & ~0xfffull);
}

static uint64_t phys_read(struct cpu *cpu, uint64_t gpa, unsigned size)
{
    uint64_t v;
    if (unlikely(cpu->nonroot) && cpu->vmx && vmx_apic_mmio(cpu, gpa, size, &v, false))
        return v; /* virtualised APIC-access page (SDM 29.4) */
    if (apic_page(cpu, gpa))
        return lapic_read(cpu->lapic, (uint32_t)(gpa & 0xff0));
    return bus_mmio_read(cpu->bus, gpa, size);
}

static void phys_write(struct cpu *cpu, uint64_t gpa, unsigned size, uint64_t v)
{
    if (unlikely(cpu->nonroot) && cpu->vmx && vmx_apic_mmio(cpu, gpa, size, &v, true))
        return;
    if (apic_page(cpu, gpa)) {
        lapic_write(cpu->lapic, (uint32_t)(gpa & 0xff0), (uint32_t)v);
        cpu_lapic_written(cpu);
        cpu_end_block(cpu); /* TPR/EOI changes can unmask interrupts */
        return;
    }
    bus_mmio_write(cpu->bus, gpa, v, size);
}

/*
 * Translate one page-local piece and maybe fill the TLB.  Returns a host
 * pointer for RAM, or NULL with *gpa set for MMIO.
 */
static uint8_t *xlate(struct cpu *cpu, uint64_t lin, unsigned size, unsigned acc, uint64_t *gpa)
{
    if (cpu->code64 && !canonical(lin))
        cpu_fault(cpu, EXC_GP, 0);
    uint64_t pa;
    mmu_translate(cpu, lin, acc, &pa);
    *gpa = pa;
    uint8_t *host;
    if (unlikely(cpu->nonroot) && cpu->vmx) {
        /* VMX non-root: EPT and the APIC-access page come first; MMIO then
         * goes to the L1-physical address (src/vmx/ept.c). */
        host = vmx_guest_phys_host(cpu, pa, size, acc);
        if (!host)
            *gpa = vmx_mmio_pa(cpu);
    } else {
        if (apic_page(cpu, pa))
            return NULL;
        host = cpu_gpa_host(cpu, pa, size, acc);
    }
    if (!host)
        return NULL;
    if (acc & ACC_WRITE)
        exec_note_write(cpu, host, size);
    return host;
}

/* Alignment check (SDM Vol.3 6.15): with TLB_CTX_AC, a data access of 2, 4
 * or 8 bytes that is not naturally aligned raises #AC(0).  Implicit
 * supervisor accesses are never checked. */
static inline void align_check(struct cpu *cpu, uint64_t lin, unsigned size, unsigned acc)
{
    if (unlikely(cpu->tlb_ctx & TLB_CTX_AC) && !(acc & (ACC_SUPER | ACC_FETCH)) &&
        (size == 2 || size == 4 || size == 8) && (lin & (size - 1)))
        cpu_fault(cpu, EXC_AC, 0);
}

uint64_t mem_read_lin_slow(struct cpu *cpu, uint64_t lin, unsigned size, unsigned acc)
{
    align_check(cpu, lin, size, acc);
    if (unlikely(dbg_armed(cpu)) && !(acc & ACC_SUPER))
        dbg_data_access(cpu, lin, size, false);
    uint64_t v = 0;
    unsigned first = 4096 - (unsigned)(lin & 0xfff);
    if (first >= size) {
        uint64_t gpa;
        uint8_t *p = xlate(cpu, lin, size, acc, &gpa);
        if (p) {
            memcpy(&v, p, size);
            tlb_fill(cpu, lin, p - (lin & 0xfff), acc);
        } else {
            v = phys_read(cpu, gpa, size);
        }
        return v;
    }
    /* Page-crossing: translate both pages before touching either. */
    uint64_t ga, gb;
    uint8_t *pa = xlate(cpu, lin, first, acc, &ga);
    uint8_t *pb = xlate(cpu, lin + first, size - first, acc, &gb);
    uint8_t buf[8];
    for (unsigned i = 0; i < first; i++)
        buf[i] = pa ? pa[i] : (uint8_t)phys_read(cpu, ga + i, 1);
    for (unsigned i = 0; i < size - first; i++)
        buf[first + i] = pb ? pb[i] : (uint8_t)phys_read(cpu, gb + i, 1);
    memcpy(&v, buf, size);
    return v;
}

void mem_write_lin_slow(struct cpu *cpu, uint64_t lin, unsigned size, uint64_t v, unsigned acc)
{
    align_check(cpu, lin, size, acc);
    if (unlikely(dbg_armed(cpu)) && !(acc & ACC_SUPER))
        dbg_data_access(cpu, lin, size, true);
    unsigned first = 4096 - (unsigned)(lin & 0xfff);
    if (first >= size) {
        uint64_t gpa;
        uint8_t *p = xlate(cpu, lin, size, acc, &gpa);
        if (p) {
            memcpy(p, &v, size);
            tlb_fill(cpu, lin, p - (lin & 0xfff), acc);
        } else {
            phys_write(cpu, gpa, size, v);
        }
        return;
    }
    uint64_t ga, gb;
    uint8_t *pa = xlate(cpu, lin, first, acc, &ga);
    uint8_t *pb = xlate(cpu, lin + first, size - first, acc, &gb);
    uint8_t buf[8];
    memcpy(buf, &v, size);
    for (unsigned i = 0; i < first; i++) {
        if (pa)
            pa[i] = buf[i];
        else
            phys_write(cpu, ga + i, 1, buf[i]);
    }
    for (unsigned i = 0; i < size - first; i++) {
        if (pb)
            pb[i] = buf[first + i];
        else
            phys_write(cpu, gb + i, 1, buf[first + i]);
    }
}

/* ---- buffers ---- */

void mem_read_buf(struct cpu *cpu, int seg, uint64_t off, void *dst, unsigned n)
{
    uint8_t *d = dst;
    uint64_t lin = seg_linear(cpu, seg, off, n, ACC_READ);
    if (unlikely(dbg_armed(cpu)))
        dbg_data_access(cpu, lin, n, false);
    while (n) {
        unsigned chunk = 4096 - (unsigned)(lin & 0xfff);
        if (chunk > n)
            chunk = n;
        uint64_t gpa;
        uint8_t *p = xlate(cpu, lin, chunk, ACC_READ, &gpa);
        for (unsigned i = 0; i < chunk; i++)
            d[i] = p ? p[i] : (uint8_t)phys_read(cpu, gpa + i, 1);
        d += chunk;
        lin += chunk;
        if (!cpu->code64)
            lin = (uint32_t)lin;
        n -= chunk;
    }
}

void mem_probe_write(struct cpu *cpu, int seg, uint64_t off, unsigned n)
{
    uint64_t lin = seg_linear(cpu, seg, off, n, ACC_WRITE);
    uint64_t end = lin + n;
    for (uint64_t a = lin; a < end; a = (a & ~0xfffull) + 4096) {
        uint64_t gpa;
        if (cpu->code64 && !canonical(a))
            cpu_fault(cpu, seg == SEG_SS ? EXC_SS : EXC_GP, 0);
        mmu_translate(cpu, cpu->code64 ? a : (uint32_t)a, ACC_WRITE, &gpa);
        if (unlikely(cpu->nonroot) && cpu->vmx)
            cpu_gpa_host(cpu, gpa, 1, ACC_WRITE); /* EPT write permission too */
    }
}

void mem_write_buf(struct cpu *cpu, int seg, uint64_t off, const void *src, unsigned n)
{
    mem_probe_write(cpu, seg, off, n);
    const uint8_t *s = src;
    uint64_t lin = seg_linear(cpu, seg, off, n, ACC_WRITE);
    if (unlikely(dbg_armed(cpu)))
        dbg_data_access(cpu, lin, n, true);
    while (n) {
        unsigned chunk = 4096 - (unsigned)(lin & 0xfff);
        if (chunk > n)
            chunk = n;
        uint64_t gpa;
        uint8_t *p = xlate(cpu, lin, chunk, ACC_WRITE, &gpa);
        for (unsigned i = 0; i < chunk; i++) {
            if (p)
                p[i] = s[i];
            else
                phys_write(cpu, gpa + i, 1, s[i]);
        }
        s += chunk;
        lin += chunk;
        if (!cpu->code64)
            lin = (uint32_t)lin;
        n -= chunk;
    }
}

uint64_t mem_read_sys(struct cpu *cpu, uint64_t lin, unsigned size)
{
    return mem_read_lin_slow(cpu, lin, size, ACC_READ | ACC_SUPER);
}

void mem_write_sys(struct cpu *cpu, uint64_t lin, unsigned size, uint64_t v)
{
    mem_write_lin_slow(cpu, lin, size, v, ACC_WRITE | ACC_SUPER);
}

/* ---- read-modify-write ---- */

static uint64_t rmw_load(struct cpu *cpu, struct rmw *m)
{
    uint64_t v = 0;
    if (m->host)
        memcpy(&v, m->host, m->size);
    else
        v = mem_read_lin_slow(cpu, m->lin, m->size, ACC_READ);
    return v;
}

uint64_t rmw_begin_mem(struct cpu *cpu, int seg, uint64_t off, unsigned size, struct rmw *m)
{
    m->reg = 0xff;
    m->rex = false;
    m->size = size;
    m->lin = seg_linear(cpu, seg, off, size, ACC_WRITE);
    if (unlikely(dbg_armed(cpu)))
        dbg_data_access(cpu, m->lin, size, true);
    m->host = tlb_hit(cpu->tlb.w, m->lin, size, cpu->tlb_ctx);
    if (!m->host) {
        align_check(cpu, m->lin, size, ACC_WRITE);
        /* A write probe first: a fault leaves nothing changed. */
        unsigned first = 4096 - (unsigned)(m->lin & 0xfff);
        uint64_t gpa;
        uint8_t *p = xlate(cpu, m->lin, first < size ? first : size, ACC_WRITE, &gpa);
        if (first >= size && p) {
            tlb_fill(cpu, m->lin, p - (m->lin & 0xfff), ACC_WRITE);
            m->host = p;
        } else if (first < size) {
            xlate(cpu, m->lin + first, size - first, ACC_WRITE, &gpa);
        }
    }
    return rmw_load(cpu, m);
}

uint64_t rmw_begin(struct cpu *cpu, const struct insn *in, unsigned size, struct rmw *m)
{
    if (in->mod == 3) {
        m->host = NULL;
        m->reg = in->rm;
        m->rex = in->rex != 0;
        m->size = size;
        return size == 1 ? reg8_get(cpu, in->rm, m->rex) : reg_get(cpu, in->rm, size);
    }
    return rmw_begin_mem(cpu, in->seg, insn_ea(cpu, in), size, m);
}

void rmw_commit(struct cpu *cpu, struct rmw *m, uint64_t v)
{
    if (m->reg != 0xff) {
        if (m->size == 1)
            reg8_set(cpu, m->reg, m->rex, (uint8_t)v);
        else
            reg_set(cpu, m->reg, m->size, v);
    } else if (m->host) {
        memcpy(m->host, &v, m->size);
    } else {
        mem_write_lin_slow(cpu, m->lin, m->size, v, ACC_WRITE);
    }
}

bool rmw_cas(struct cpu *cpu, struct rmw *m, uint64_t *old, uint64_t v)
{
    if (m->reg != 0xff || !m->host) {
        /* Registers are private; slow memory (MMIO, page-crossing) takes the
         * split lock so LOCKed operations stay atomic among vCPUs. */
        if (m->reg != 0xff) {
            rmw_commit(cpu, m, v);
            return true;
        }
        pthread_mutex_lock(&split_lock);
        uint64_t cur = rmw_load(cpu, m);
        bool ok = cur == (*old & size_mask(m->size));
        if (ok)
            rmw_commit(cpu, m, v);
        else
            *old = cur;
        pthread_mutex_unlock(&split_lock);
        return ok;
    }
    bool ok;
    switch (m->size) {
    case 1: {
        uint8_t e = (uint8_t)*old;
        ok = __atomic_compare_exchange_n(m->host, &e, (uint8_t)v, false, __ATOMIC_SEQ_CST,
                                         __ATOMIC_SEQ_CST);
        *old = e;
        break;
    }
    case 2: {
        uint16_t e = (uint16_t)*old;
        ok = __atomic_compare_exchange_n((uint16_t *)m->host, &e, (uint16_t)v, false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        *old = e;
        break;
    }
    case 4: {
        uint32_t e = (uint32_t)*old;
        ok = __atomic_compare_exchange_n((uint32_t *)m->host, &e, (uint32_t)v, false,
                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
        *old = e;
        break;
    }
    default: {
        uint64_t e = *old;
        ok = __atomic_compare_exchange_n((uint64_t *)m->host, &e, v, false, __ATOMIC_SEQ_CST,
                                         __ATOMIC_SEQ_CST);
        *old = e;
        break;
    }
    }
    return ok;
}

bool rmw_cas128(struct cpu *cpu, struct rmw *m, uint64_t old[2], const uint64_t v[2])
{
    /* Both halves under the split lock: simple and rare (CMPXCHG16B). */
    pthread_mutex_lock(&split_lock);
    uint64_t cur[2];
    if (m->host) {
        memcpy(cur, m->host, 16);
    } else {
        cur[0] = mem_read_lin_slow(cpu, m->lin, 8, ACC_READ);
        cur[1] = mem_read_lin_slow(cpu, m->lin + 8, 8, ACC_READ);
    }
    bool ok = cur[0] == old[0] && cur[1] == old[1];
    if (ok) {
        if (m->host) {
            memcpy(m->host, v, 16);
        } else {
            mem_write_lin_slow(cpu, m->lin, 8, v[0], ACC_WRITE);
            mem_write_lin_slow(cpu, m->lin + 8, 8, v[1], ACC_WRITE);
        }
    } else {
        /* SDM: the destination is written back with its own value even on failure. */
        old[0] = cur[0];
        old[1] = cur[1];
    }
    pthread_mutex_unlock(&split_lock);
    return ok;
}

/* ---- stack ---- */

void stack_set_rsp(struct cpu *cpu, uint64_t rsp)
{
    unsigned a = stack_asz(cpu);
    reg_set(cpu, R_SP, a, rsp);
}

static uint64_t stack_off(const struct cpu *cpu, int64_t delta)
{
    return (cpu->r[R_SP] + (uint64_t)delta) & size_mask(stack_asz(cpu));
}

uint64_t stack_read(struct cpu *cpu, int64_t delta, unsigned size)
{
    return mem_read(cpu, SEG_SS, stack_off(cpu, delta), size);
}

void stack_write(struct cpu *cpu, int64_t delta, unsigned size, uint64_t v)
{
    mem_write(cpu, SEG_SS, stack_off(cpu, delta), size, v);
}

void cpu_push(struct cpu *cpu, unsigned size, uint64_t v)
{
    uint64_t off = stack_off(cpu, -(int64_t)size);
    mem_write(cpu, SEG_SS, off, size, v);
    stack_set_rsp(cpu, off);
}

uint64_t cpu_pop(struct cpu *cpu, unsigned size)
{
    uint64_t v = mem_read(cpu, SEG_SS, stack_off(cpu, 0), size);
    stack_set_rsp(cpu, stack_off(cpu, size));
    return v;
}
