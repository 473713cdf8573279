/*
 * mmu.c — linear → guest-physical translation (SDM Vol.3 chapter 4) and the
 * software TLB.
 *
 * Paging modes: none (CR0.PG=0), 32-bit (4 KiB and, with CR4.PSE, 4 MiB
 * pages incl. PSE-36), PAE (PDPTE registers, 4 KiB / 2 MiB) and 4-level
 * (4 KiB / 2 MiB / 1 GiB).  Access rights follow SDM 4.6: U/S and R/W are
 * ANDed over all levels; CR0.WP, SMEP, SMAP (with RFLAGS.AC and implicit
 * supervisor accesses) and NX (EFER.NXE).  Reserved bits (above MAXPHYADDR,
 * NX without NXE, PS where not allowed, PAT bits of large pages' low bits)
 * give a #PF with the RSVD bit.  Accessed and dirty flags are set with
 * atomic ORs, as a CPU does with locked updates (SDM 4.8).
 *
 * Paging-structure entry (4-level, 4 KiB leaf):
 *   63 XD | 62:52 ignored | 51:M reserved | M-1:12 address | 8 G | 7 PS/PAT |
 *    6 D | 5 A | 4 PCD | 3 PWT | 2 U/S | 1 R/W | 0 P
 *
 * The walker reads paging structures through cpu_pt_read(), the one point
 * where EPT (VMX non-root) nests inside the walk.
 *
 * TLB tags carry cpu->tlb_ctx (CPL==3, and SMAP-protected supervisor) so an
 * entry filled for one privilege context never serves another.
 */
#include "cpu/debug.h"
#include "cpu/exec.h"
#include "cpu/mem.h"
#include "vmx/vmx_hooks.h"

#define MAXPHYADDR 40
#define ADDR_MASK (((1ull << MAXPHYADDR) - 1) & ~0xfffull)
#define PTE_P (1ull << 0)
#define PTE_W (1ull << 1)
#define PTE_U (1ull << 2)
#define PTE_A (1ull << 5)
#define PTE_D (1ull << 6)
#define PTE_PS (1ull << 7)
#define PTE_G (1ull << 8)
#define PTE_NX (1ull << 63)

#define PFERR_P 1u
#define PFERR_W 2u
#define PFERR_U 4u
#define PFERR_RSVD 8u
#define PFERR_I 16u

/* Host pointer to a paging-structure entry, or NULL (reads as all-ones). */
static uint8_t *pt_entry(struct cpu *cpu, uint64_t gpa, unsigned size)
{
    return cpu_gpa_host(cpu, gpa, size, ACC_READ | ACC_PTWALK);
}

static uint64_t pt_load(uint8_t *p, unsigned size)
{
    if (!p)
        return ~0ull; /* unbacked memory reads as all-ones: P=1 with reserved bits */
    if (size == 4)
        return __atomic_load_n((uint32_t *)p, __ATOMIC_RELAXED);
    return __atomic_load_n((uint64_t *)p, __ATOMIC_RELAXED);
}

static void pt_set_bits(uint8_t *p, unsigned size, uint64_t bits)
{
    if (!p)
        return;
    if (size == 4)
        __atomic_fetch_or((uint32_t *)p, (uint32_t)bits, __ATOMIC_RELAXED);
    else
        __atomic_fetch_or((uint64_t *)p, bits, __ATOMIC_RELAXED);
}

static _Noreturn void page_fault(struct cpu *cpu, uint64_t lin, uint32_t err)
{
    cpu->cr2 = lin;
    cpu_fault(cpu, EXC_PF, err);
}

struct walk {
    uint8_t *ent[5];
    uint64_t ea[5], val[5]; /* guest-physical address and value of each entry */
    unsigned n, size;
    uint64_t and_bits; /* W and U ANDed over levels */
    uint64_t nx;       /* NX ORed over levels */
    uint64_t leaf;
};

bool mmu_translate(struct cpu *cpu, uint64_t lin, unsigned acc, uint64_t *gpa)
{
    if (unlikely(cpu->nonroot) && cpu->vmx)
        vmx_note_linear(cpu, lin); /* EPT-violation qualification, #PF exits */
    if (!(cpu->cr0 & CR0_PG)) {
        *gpa = cpu->efer & EFER_LMA ? lin : (uint32_t)lin;
        return true;
    }
    bool user = cpu->cpl == 3 && !(acc & ACC_SUPER);
    bool write = acc & ACC_WRITE, fetch = acc & ACC_FETCH;
    uint32_t err = (write ? PFERR_W : 0) | (user ? PFERR_U : 0);
    if (fetch && ((cpu->efer & EFER_NXE) || (cpu->cr4 & CR4_SMEP)))
        err |= PFERR_I;
    bool nxe = cpu->efer & EFER_NXE;
    uint64_t rsvd_hi = ~((1ull << MAXPHYADDR) - 1) & 0x000fffffffffffffull;
    uint64_t nx_rsvd = nxe ? 0 : PTE_NX;

    struct walk w = { .n = 0, .and_bits = PTE_W | PTE_U, .nx = 0 };
    uint64_t page_mask; /* offset bits inside the final page */
    uint64_t e;

    if (!(cpu->cr4 & CR4_PAE)) {
        /* 32-bit paging (SDM 4.3) */
        w.size = 4;
        uint32_t l = (uint32_t)lin;
        uint64_t pde_a = (cpu->cr3 & 0xfffff000u) + ((l >> 22) << 2);
        w.ent[0] = pt_entry(cpu, pde_a, 4);
        e = pt_load(w.ent[0], 4) & 0xffffffffu;
        w.ea[0] = pde_a, w.val[0] = e;
        w.n = 1;
        if (!(e & PTE_P))
            page_fault(cpu, lin, err);
        w.and_bits &= e;
        if ((e & PTE_PS) && (cpu->cr4 & CR4_PSE)) {
            /* 4 MiB page; bits 20:13 give physical bits 39:32 (PSE-36) */
            if (e & (1ull << 21))
                page_fault(cpu, lin, err | PFERR_P | PFERR_RSVD);
            uint64_t pa = (e & 0xffc00000u) | (((e >> 13) & 0xff) << 32);
            if (pa >> MAXPHYADDR)
                page_fault(cpu, lin, err | PFERR_P | PFERR_RSVD);
            w.leaf = pa;
            page_mask = 0x3fffff;
        } else {
            uint64_t pte_a = (e & 0xfffff000u) + (((l >> 12) & 0x3ff) << 2);
            w.ent[1] = pt_entry(cpu, pte_a, 4);
            e = pt_load(w.ent[1], 4) & 0xffffffffu;
            w.ea[1] = pte_a, w.val[1] = e;
            w.n = 2;
            if (!(e & PTE_P))
                page_fault(cpu, lin, err);
            w.and_bits &= e;
            w.leaf = e & 0xfffff000u;
            page_mask = 0xfff;
        }
    } else {
        w.size = 8;
        int level;
        uint64_t table;
        if (cpu->efer & EFER_LMA) {
            level = 4; /* 4-level paging (SDM 4.5) */
            table = cpu->cr3 & ADDR_MASK;
        } else {
            /* PAE (SDM 4.4): the PDPTE registers were loaded with CR3 */
            uint64_t pdpte = cpu->pdpte[(lin >> 30) & 3];
            if (!(pdpte & PTE_P))
                page_fault(cpu, lin, err);
            level = 2;
            table = pdpte & ADDR_MASK;
        }
        for (;;) {
            unsigned shift = 12 + 9 * (level - 1);
            uint64_t a = table + (((lin >> shift) & 0x1ff) << 3);
            uint8_t *p = pt_entry(cpu, a, 8);
            e = pt_load(p, 8);
            w.ea[w.n] = a, w.val[w.n] = e;
            w.ent[w.n++] = p;
            if (!(e & PTE_P))
                page_fault(cpu, lin, err);
            if ((e & rsvd_hi) || (e & nx_rsvd))
                page_fault(cpu, lin, err | PFERR_P | PFERR_RSVD);
            w.and_bits &= e;
            w.nx |= e & PTE_NX;
            if (level == 4 && (e & PTE_PS))
                page_fault(cpu, lin, err | PFERR_P | PFERR_RSVD);
            if (level > 1 && level <= 3 && (e & PTE_PS)) {
                if (level == 3 && !(cpu->efer & EFER_LMA))
                    page_fault(cpu, lin, err | PFERR_P | PFERR_RSVD);
                page_mask = (1ull << shift) - 1;
                /* bits 12..shift-1 of a large-page entry are reserved except PAT (bit 12) */
                if (e & page_mask & ~0x1fffull)
                    page_fault(cpu, lin, err | PFERR_P | PFERR_RSVD);
                w.leaf = e & ADDR_MASK & ~page_mask;
                break;
            }
            if (level == 1) {
                page_mask = 0xfff;
                w.leaf = e & ADDR_MASK;
                break;
            }
            table = e & ADDR_MASK;
            level--;
        }
    }

    /* Access rights (SDM 4.6) */
    bool u_page = w.and_bits & PTE_U, w_page = w.and_bits & PTE_W;
    if (user) {
        if (!u_page || (write && !w_page))
            page_fault(cpu, lin, err | PFERR_P);
    } else {
        if (write && !w_page && (cpu->cr0 & CR0_WP))
            page_fault(cpu, lin, err | PFERR_P);
        if (u_page) {
            if (fetch && (cpu->cr4 & CR4_SMEP))
                page_fault(cpu, lin, err | PFERR_P);
            if (!fetch && (cpu->cr4 & CR4_SMAP) &&
                ((acc & ACC_SUPER) || cpu->cpl == 3 || !(cpu->rflags & FL_AC)))
                page_fault(cpu, lin, err | PFERR_P);
        }
    }
    if (fetch && nxe && w.nx)
        page_fault(cpu, lin, err | PFERR_P);

    /* Accessed flags on every level, dirty on the leaf for writes (SDM 4.8).
     * In VMX non-root operation setting a flag is a write to the paging
     * structure: it goes through EPT again as one, which may VM-exit
     * (SDM 28.2.3.2, 28.2.4.1). */
    for (unsigned i = 0; i < w.n; i++) {
        uint64_t bits = PTE_A | ((write && i == w.n - 1) ? PTE_D : 0);
        uint8_t *p = w.ent[i];
        if (unlikely(cpu->nonroot) && (w.val[i] & bits) != bits)
            p = cpu_gpa_host(cpu, w.ea[i], w.size, ACC_WRITE | ACC_PTWALK);
        pt_set_bits(p, w.size, bits);
    }

    *gpa = w.leaf | (lin & page_mask);
    return true;
}

/* ---- TLB ---- */

/* Entries are tagged with the flush epoch in tlb_ctx bits 7:3 (cpu.h), so
 * moving to the next epoch invalidates them all; the entries themselves are
 * cleared only when the epoch wraps (1 flush in 32: Linux switches CR3
 * often, and the TLB is 72 KiB). */
#define TLB_EPOCH_SHIFT 3
#define TLB_EPOCHS 32u

void tlb_flush_all(struct cpu *cpu)
{
    unsigned epoch = ((unsigned)(cpu->tlb_ctx >> TLB_EPOCH_SHIFT) + 1) % TLB_EPOCHS;
    if (epoch == 0)
        memset(&cpu->tlb, 0xff, sizeof(cpu->tlb));
    cpu->tlb_ctx = (uint8_t)((cpu->tlb_ctx & ((1u << TLB_EPOCH_SHIFT) - 1)) |
                             (epoch << TLB_EPOCH_SHIFT));
}

void tlb_flush_page(struct cpu *cpu, uint64_t lin)
{
    /* A large page may cover many TLB slots; the TLB is small, so scan it. */
    uint64_t page = lin & ~0xfffull;
    (void)page;
    tlb_flush_all(cpu);
}

void cpu_update_tlb_ctx(struct cpu *cpu)
{
    uint8_t ctx = cpu->cpl == 3 ? 1 : 0;
    if (cpu->cpl != 3 && (cpu->cr4 & CR4_SMAP) && !(cpu->rflags & FL_AC))
        ctx |= 2;
    if (cpu->cpl == 3 && (cpu->cr0 & CR0_AM) && (cpu->rflags & FL_AC))
        ctx |= TLB_CTX_AC;
    cpu->tlb_ctx = (uint8_t)(ctx | (cpu->tlb_ctx & ~((1u << TLB_EPOCH_SHIFT) - 1)));
}

void tlb_fill(struct cpu *cpu, uint64_t lin, uint8_t *host_page, unsigned acc)
{
    uint64_t ram = (uint64_t)(host_page - cpu->bus->ram);
    uint64_t page = lin & ~0xfffull;
    unsigned i = (unsigned)(lin >> 12) & (TLB_SIZE - 1);
    struct tlb_entry *e;
    if (acc & ACC_SUPER)
        return; /* implicit supervisor accesses do not use the fast path */
    if ((cpu->tlb_ctx & TLB_CTX_AC) && !(acc & ACC_FETCH))
        return; /* alignment checking: data accesses stay on the slow path */
    if (unlikely(dbg_armed(cpu)) && !(acc & ACC_FETCH) && dbg_page_watched(cpu, page))
        return; /* data breakpoints are checked on the slow path (debug.c) */
    if (acc & ACC_FETCH)
        e = &cpu->tlb.x[i];
    else if (acc & ACC_WRITE) {
        if (exec_page_has_code(cpu, host_page))
            return; /* writes to code pages must see the SMC check */
        e = &cpu->tlb.w[i];
        /* Writable implies readable: fill the read side too. */
        struct tlb_entry *r = &cpu->tlb.r[i];
        r->tag = page | cpu->tlb_ctx;
        r->addend = (uintptr_t)host_page - page;
        r->ram = ram;
    } else
        e = &cpu->tlb.r[i];
    e->tag = page | cpu->tlb_ctx;
    e->addend = (uintptr_t)host_page - page;
    e->ram = ram;
}

/* Drop write entries that map a RAM page (it now holds code). */
void tlb_drop_write_ram(struct cpu *cpu, uint64_t ram_off)
{
    uint64_t page = ram_off & ~0xfffull;
    for (unsigned i = 0; i < TLB_SIZE; i++)
        if (cpu->tlb.w[i].tag != TLB_INVALID && cpu->tlb.w[i].ram == page)
            cpu->tlb.w[i].tag = TLB_INVALID;
}
