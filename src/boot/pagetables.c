/*
 * pagetables.c — the CPU state for entering a kernel in 64-bit mode, shared
 * by the Linux (bzImage) and ELF64 loaders.
 *
 * Linux boot.rst, "64-bit Boot Protocol": the CPU must be in 64-bit mode with
 * paging enabled, an identity mapping covering the kernel, zero page, command
 * line and initrd, a GDT in which __BOOT_CS (0x10) is a flat 64-bit code
 * segment and __BOOT_DS (0x18) a flat data segment, interrupts disabled and
 * rsi holding the zero page address.
 *
 * We identity-map the first 4 GiB with 2 MiB pages (Intel SDM vol. 3A,
 * 4.5 "4-Level Paging": PML4E -> PDPTE -> PDE with PS=1), which covers every
 * place the loaders put anything (everything is kept below 4 GiB):
 *   0x9000 PML4, 0xa000 PDPT, 0xb000-0xefff four page directories.
 */
#include "boot/boot_priv.h"

#define PTE_P  0x001ull
#define PTE_RW 0x002ull
#define PTE_PS 0x080ull

/* GDT descriptors (SDM vol. 3A, 3.4.5 "Segment Descriptors"):
 * 0x00af9a000000ffff: base 0, limit 0xfffff, G=1, L=1, P=1, DPL 0, code r/x
 * 0x00cf92000000ffff: base 0, limit 0xfffff, G=1, D/B=1, P=1, DPL 0, data r/w */
static const uint64_t gdt_long64[4] = {
    0,
    0,
    0x00af9a000000ffffull, /* 0x10 __BOOT_CS */
    0x00cf92000000ffffull, /* 0x18 __BOOT_DS */
};

bool boot_write_gdt(struct bus *bus, const uint64_t *desc, unsigned n, struct boot_entry *out)
{
    return boot_write_gdt_at(bus, BOOT_GDT_ADDR, desc, n, out);
}

bool boot_write_gdt_at(struct bus *bus, uint64_t gpa, const uint64_t *desc, unsigned n,
                       struct boot_entry *out)
{
    uint8_t *p = bus_ram_ptr(bus, gpa, (uint64_t)n * 8);
    if (!p)
        return false;
    for (unsigned i = 0; i < n; i++)
        boot_wr64(p + 8 * i, desc[i]);
    out->gdt_base = gpa;
    out->gdt_limit = (uint16_t)(n * 8 - 1);
    return true;
}

int boot_enter_long64(struct bus *bus, struct boot_entry *out, uint64_t rip, uint64_t rsi)
{
    uint8_t *pt = bus_ram_ptr(bus, BOOT_PGTABLE_ADDR, BOOT_PGTABLE_SIZE);
    if (!pt || !boot_write_gdt(bus, gdt_long64, 4, out))
        return -1;
    uint8_t *pml4 = pt, *pdpt = pt + 0x1000, *pd = pt + 0x2000;
    for (unsigned i = 0; i < BOOT_PGTABLE_SIZE; i++)
        pt[i] = 0;
    boot_wr64(pml4, (BOOT_PGTABLE_ADDR + 0x1000) | PTE_P | PTE_RW);
    for (unsigned g = 0; g < 4; g++) {
        boot_wr64(pdpt + 8 * g, (BOOT_PGTABLE_ADDR + 0x2000 + 0x1000ull * g) | PTE_P | PTE_RW);
        for (unsigned i = 0; i < 512; i++) {
            uint64_t phys = ((uint64_t)g << 30) | ((uint64_t)i << 21);
            boot_wr64(pd + 0x1000 * g + 8 * i, phys | PTE_P | PTE_RW | PTE_PS);
        }
    }
    out->mode = BOOT_MODE_LONG64;
    out->rip = rip;
    out->rsi = rsi;
    out->rsp = BOOT_STACK_TOP;
    out->cr3 = BOOT_PGTABLE_ADDR;
    out->cs_sel = 0x10;
    out->ds_sel = 0x18;
    return 0;
}
