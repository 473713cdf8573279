/*
 * kvm_boot.c — a KVM vCPU's start state from the loader's struct
 * boot_entry (what cpu_apply_boot_entry does for the software engine), and
 * reading guest code through the guest's own page tables (for the one
 * line an emulation failure prints).
 *
 * Segment access rights arrive in VMCS layout (Intel SDM Vol. 3C 24.4.1,
 * table 24-2: type[3:0], S[4], DPL[6:5], P[7], AVL[12], L[13], D/B[14],
 * G[15], unusable[16]); struct kvm_segment has one field per bit and a
 * byte-granular limit (api.rst 4.13 KVM_GET_SREGS).
 * Paging: SDM Vol. 3A 4.3 (32-bit), 4.4 (PAE), 4.5 (4- and 5-level).
 */
#include <string.h>

#include "kvm/kvm_priv.h"

#define CR0_PE (1ull << 0)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_PG (1ull << 31)
#define CR4_PSE (1ull << 4)
#define CR4_PAE (1ull << 5)
#define CR4_LA57 (1ull << 12)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)
#define PTE_P 1ull
#define PTE_PS (1ull << 7)
#define PTE_ADDR 0x000ffffffffff000ull /* bits 51:12 */

void kvm_seg_from_ar(struct kvm_segment *s, uint16_t sel, uint64_t base, uint32_t limit,
                     uint32_t ar)
{
    memset(s, 0, sizeof(*s));
    s->base = base;
    s->limit = limit;
    s->selector = sel;
    s->type = ar & 0xf;
    s->s = (ar >> 4) & 1;
    s->dpl = (ar >> 5) & 3;
    s->present = (ar >> 7) & 1;
    s->avl = (ar >> 12) & 1;
    s->l = (ar >> 13) & 1;
    s->db = (ar >> 14) & 1;
    s->g = (ar >> 15) & 1;
    s->unusable = (ar >> 16) & 1;
}

void kvm_boot_state(const struct boot_entry *be, struct kvm_sregs *sr, struct kvm_regs *rg)
{
    /* The same flat segments cpu_apply_boot_entry gives the software CPU. */
    const uint32_t data = 0xc093, code32 = 0xc09b, code64 = 0xa09b;
    bool lm = be->mode == BOOT_MODE_LONG64;
    kvm_seg_from_ar(&sr->cs, be->cs_sel, 0, 0xffffffff, lm ? code64 : code32);
    kvm_seg_from_ar(&sr->ds, be->ds_sel, 0, 0xffffffff, data);
    sr->es = sr->fs = sr->gs = sr->ss = sr->ds;
    kvm_seg_from_ar(&sr->tr, 0, 0, 0xffff, 0x8b);
    kvm_seg_from_ar(&sr->ldt, 0, 0, 0xffff, 0x82);
    sr->gdt.base = be->gdt_base;
    sr->gdt.limit = be->gdt_limit;
    sr->idt.base = 0;
    sr->idt.limit = 0;
    sr->cr0 = CR0_PE | CR0_ET | CR0_NE;
    sr->cr4 = 0;
    sr->efer = 0;
    if (lm) {
        sr->cr3 = be->cr3;
        sr->cr4 = CR4_PAE;
        sr->efer = EFER_LME | EFER_LMA;
        sr->cr0 |= CR0_PG;
    }
    memset(rg, 0, sizeof(*rg));
    rg->rip = be->rip;
    rg->rsp = be->rsp;
    rg->rax = be->rax;
    rg->rbx = be->rbx;
    rg->rsi = be->rsi;
    rg->rflags = 2; /* bit 1 is always 1 */
}

static bool rd64(const struct bus *b, uint64_t gpa, uint64_t *v)
{
    const uint8_t *p = bus_ram_ptr(b, gpa, 8);
    if (!p)
        return false;
    memcpy(v, p, 8);
    return true;
}

static bool rd32(const struct bus *b, uint64_t gpa, uint32_t *v)
{
    const uint8_t *p = bus_ram_ptr(b, gpa, 4);
    if (!p)
        return false;
    memcpy(v, p, 4);
    return true;
}

/* Walk 'levels' levels of 512-entry tables (64-bit entries) from 'table'.
 * Large pages: PS in a level-2 (2 MiB) or level-3 (1 GiB) entry. */
static bool walk64(const struct bus *b, uint64_t table, uint64_t lin, int levels, uint64_t *gpa)
{
    for (int level = levels; level >= 1; level--) {
        unsigned shift = 12 + 9 * (unsigned)(level - 1);
        uint64_t e;
        if (!rd64(b, (table & PTE_ADDR) + ((lin >> shift) & 0x1ff) * 8, &e) || !(e & PTE_P))
            return false;
        if (level == 1 || ((level == 2 || level == 3) && (e & PTE_PS))) {
            uint64_t mask = (1ull << shift) - 1;
            *gpa = ((e & PTE_ADDR) & ~mask) | (lin & mask);
            return true;
        }
        table = e;
    }
    return false;
}

bool kvm_guest_translate(const struct bus *b, const struct kvm_sregs *sr, uint64_t lin,
                         uint64_t *gpa)
{
    if (!(sr->cr0 & CR0_PG)) {
        *gpa = (sr->efer & EFER_LMA) ? lin : (lin & 0xffffffffull);
        return true;
    }
    if (sr->efer & EFER_LMA)
        return walk64(b, sr->cr3, lin, (sr->cr4 & CR4_LA57) ? 5 : 4, gpa);
    lin &= 0xffffffffull;
    if (sr->cr4 & CR4_PAE) {
        /* four PDPTEs at CR3[31:5], then a 2-level walk */
        uint64_t pdpte;
        if (!rd64(b, (sr->cr3 & 0xffffffe0ull) + ((lin >> 30) & 3) * 8, &pdpte) ||
            !(pdpte & PTE_P))
            return false;
        return walk64(b, pdpte, lin, 2, gpa);
    }
    uint32_t pde, pte;
    if (!rd32(b, (sr->cr3 & 0xfffff000ull) + ((lin >> 22) & 0x3ff) * 4, &pde) || !(pde & PTE_P))
        return false;
    if ((pde & PTE_PS) && (sr->cr4 & CR4_PSE)) {
        /* 4 MiB page; PDE[20:13] are physical-address bits 39:32 (PSE-36) */
        *gpa = (pde & 0xffc00000ull) | ((uint64_t)((pde >> 13) & 0xff) << 32) |
               (lin & 0x3fffffull);
        return true;
    }
    if (!rd32(b, (pde & 0xfffff000ull) + ((lin >> 12) & 0x3ff) * 4, &pte) || !(pte & PTE_P))
        return false;
    *gpa = (pte & 0xfffff000ull) | (lin & 0xfffull);
    return true;
}

size_t kvm_guest_code_bytes(const struct bus *b, const struct kvm_sregs *sr, uint64_t rip,
                            uint8_t *out, size_t n)
{
    bool code64 = (sr->efer & EFER_LMA) && sr->cs.l;
    size_t got = 0;
    for (; got < n; got++) {
        uint64_t lin;
        if (code64)
            lin = rip + got;
        else if (!(sr->cr0 & CR0_PE))
            lin = sr->cs.base + ((rip + got) & 0xffff); /* real mode: 16-bit IP */
        else
            lin = (sr->cs.base + rip + got) & 0xffffffffull;
        uint64_t gpa;
        const uint8_t *p;
        if (!kvm_guest_translate(b, sr, lin, &gpa) || !(p = bus_ram_ptr(b, gpa, 1)))
            break;
        out[got] = *p;
    }
    return got;
}
