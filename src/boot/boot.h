/*
 * boot.h — loaders put a kernel into guest RAM and describe the CPU state the
 * kernel expects at its entry point.  They know nothing about the CPU engine:
 * the machine applies struct boot_entry to vCPU 0 (cpu_apply_boot_entry).
 *
 * Guest memory the loaders write below 1 MiB (keep ACPI tables, the MP table
 * etc. out of it): 0x5000-0x5fff initial stack, 0x6000 GDT, 0x7000 Linux zero
 * page or Multiboot info, 0x8000 Multiboot module name, 0x9000-0xefff page
 * tables (identity map of 0-4 GiB, 2 MiB pages), 0x20000-0x2ffff command
 * line.  Kernels go at or above 1 MiB, the initrd as high as possible below
 * 4 GiB in usable E820 RAM.  With ne820 == 0 a PC-like E820 map is derived
 * from the bus (see boot_priv.h).  Linux, Multiboot and ELF64 entries leave
 * rsp = 0x6000.  ELF64 kernels also get a Linux zero page in rsi.
 */
#ifndef NESTVM_BOOT_BOOT_H
#define NESTVM_BOOT_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "hw/bus.h"

enum boot_mode {
    BOOT_MODE_LONG64, /* 64-bit mode, paging on with the loader's page tables */
    BOOT_MODE_PROT32, /* 32-bit flat protected mode, paging off (Multiboot, PVH) */
};

struct boot_entry {
    enum boot_mode mode;
    uint64_t rip, rsp, rax, rbx, rsi;
    uint64_t cr3;       /* LONG64: PML4 the loader built (identity map) */
    uint64_t gdt_base;  /* GDT the loader wrote into guest RAM */
    uint16_t gdt_limit;
    uint16_t cs_sel, ds_sel; /* flat code/data selectors inside that GDT */
};

/* A range of the E820 map. */
struct e820_range {
    uint64_t addr, size;
    uint32_t type; /* 1 RAM, 2 reserved, 3 ACPI */
};

struct boot_config {
    const char *kernel_path;
    const char *initrd_path; /* may be NULL */
    const char *cmdline;     /* may be NULL */
    uint64_t rsdp_addr;      /* where ACPI tables put the RSDP (0: none) */
    const struct e820_range *e820;
    int ne820;
};

/* Each loader returns 0 on success, or -1 after printing one line naming
 * the problem ("nestvm: kernel FOO: not a bzImage, ELF64 or Multiboot ...")
 * to stderr.  boot_load() tries Linux bzImage, then Multiboot, then ELF64. */
int boot_load(struct bus *bus, const struct boot_config *cfg, struct boot_entry *out);
int boot_linux(struct bus *bus, const struct boot_config *cfg, const uint8_t *img, size_t len,
               struct boot_entry *out);
int boot_multiboot(struct bus *bus, const struct boot_config *cfg, const uint8_t *img,
                   size_t len, struct boot_entry *out);
int boot_elf64(struct bus *bus, const struct boot_config *cfg, const uint8_t *img, size_t len,
               struct boot_entry *out);

/* The loaders return 1 when the image is not of their format (so the next
 * may try), 0 on success, -1 on an error already reported. */

#endif
