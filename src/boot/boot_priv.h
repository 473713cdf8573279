/*
 * boot_priv.h — helpers shared by the loaders in src/boot (not for devices or
 * the machine; the public API is boot.h).
 *
 * Guest-physical layout the loaders use below 1 MiB (all inside the E820
 * "usable" range [0, 0x9fc00) a PC reports; Linux reserves the whole first
 * MiB for itself anyway, and a Multiboot kernel is told where its data is):
 *
 *   0x05000-0x05fff  initial stack (rsp = 0x6000, grows down)
 *   0x06000-0x0603f  boot GDT
 *   0x07000-0x07fff  Linux zero page (boot_params) / Multiboot info + mmap
 *   0x08000-0x08fff  Multiboot module string
 *   0x09000-0x0efff  identity page tables for 64-bit entry (PML4, PDPT, 4 PDs)
 *   0x20000-0x2ffff  kernel command line (NUL-terminated)
 *
 * Kernels and initrds are placed at or above 1 MiB; a kernel image whose
 * segments would overlap [BOOT_LOW_START, BOOT_LOW_END) is rejected.
 *
 * Multiboot kernels may load anywhere from 0x1000 up (kvm-unit-tests'
 * realmode.flat runs at 0x8000), so the Multiboot loader keeps its own data
 * at the top of conventional memory instead, below the EBDA at 0x9fc00:
 *
 *   0x90000-0x90fff  initial stack (esp = 0x91000)
 *   0x91000-0x91017  boot GDT
 *   0x92000-0x92fff  Multiboot information structure + memory map
 *   0x93000-0x93fff  module string
 *   0x94000-0x9efff  command line (NUL-terminated)
 */
#ifndef NESTVM_BOOT_BOOT_PRIV_H
#define NESTVM_BOOT_BOOT_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/boot.h"

#define BOOT_LOW_START    0x5000ull
#define BOOT_STACK_TOP    0x6000ull
#define BOOT_GDT_ADDR     0x6000ull
#define BOOT_INFO_ADDR    0x7000ull /* zero page or Multiboot info */
#define BOOT_MODSTR_ADDR  0x8000ull
#define BOOT_MODSTR_MAX   0x1000ull
#define BOOT_PGTABLE_ADDR 0x9000ull
#define BOOT_PGTABLE_SIZE 0x6000ull
#define BOOT_CMDLINE_ADDR 0x20000ull
#define BOOT_CMDLINE_MAX  0x10000ull /* bytes including the NUL */
#define BOOT_LOW_END      0x30000ull
#define BOOT_HIGH_START   0x100000ull /* 1 MiB */

#define BOOT_MB_START       0x90000ull /* Multiboot loader data (see above) */
#define BOOT_MB_STACK_TOP   0x91000ull
#define BOOT_MB_GDT_ADDR    0x91000ull
#define BOOT_MB_INFO_ADDR   0x92000ull
#define BOOT_MB_MODSTR_ADDR 0x93000ull
#define BOOT_MB_CMDLINE_ADDR 0x94000ull
#define BOOT_MB_END         0x9f000ull
#define BOOT_MB_CMDLINE_MAX (BOOT_MB_END - BOOT_MB_CMDLINE_ADDR) /* bytes including the NUL */
#define BOOT_4G           0x100000000ull

#define BOOT_MAX_E820 128 /* boot_params holds E820_MAX_ENTRIES_ZEROPAGE = 128 */

/* Print "nestvm: kernel PATH: <msg>\n" to stderr; always returns -1. */
int boot_err(const struct boot_config *cfg, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Little-endian field access on an untrusted buffer (caller checked bounds). */
static inline uint16_t boot_rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t boot_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t boot_rd64(const uint8_t *p)
{
    return (uint64_t)boot_rd32(p) | (uint64_t)boot_rd32(p + 4) << 32;
}
static inline void boot_wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void boot_wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}
static inline void boot_wr64(uint8_t *p, uint64_t v)
{
    boot_wr32(p, (uint32_t)v);
    boot_wr32(p + 4, (uint32_t)(v >> 32));
}

/* The E820 map to report: cfg->e820 if given (at most `max` entries), else a
 * PC-like default derived from the bus RAM layout.  Returns the count. */
int boot_e820(const struct bus *bus, const struct boot_config *cfg, struct e820_range *out,
              int max);

/* True if [addr, addr+len) is guest RAM and inside one usable E820 range. */
bool boot_range_usable(const struct bus *bus, const struct boot_config *cfg, uint64_t addr,
                       uint64_t len);

/* True if [addr, addr+len) overlaps the loader's low data [LOW_START, LOW_END). */
bool boot_overlaps_low(uint64_t addr, uint64_t len);
/* True if [addr, addr+len) overlaps [lo, hi). */
bool boot_overlaps(uint64_t addr, uint64_t len, uint64_t lo, uint64_t hi);

/* Highest `align`-aligned address a with [a, a+size) usable, a >= min and
 * a+size <= limit.  Returns false if none. */
bool boot_find_high(const struct bus *bus, const struct boot_config *cfg, uint64_t size,
                    uint64_t min, uint64_t limit, uint64_t align, uint64_t *addr);
/* Lowest such address. */
bool boot_find_low(const struct bus *bus, const struct boot_config *cfg, uint64_t size,
                   uint64_t min, uint64_t limit, uint64_t align, uint64_t *addr);

/* Copy / zero guest RAM; false if the range is not entirely RAM. */
bool boot_copy(struct bus *bus, uint64_t gpa, const void *src, uint64_t len);
bool boot_zero(struct bus *bus, uint64_t gpa, uint64_t len);

/* Write "prefix[ ]cmdline" NUL-terminated at BOOT_CMDLINE_ADDR, truncated to
 * at most max_len bytes before the NUL.  prefix may be NULL.  Returns the
 * length written (without the NUL). */
size_t boot_write_cmdline(struct bus *bus, const char *prefix, const char *cmdline,
                          size_t max_len);
/* The same at gpa, inside a buffer of cap bytes (NUL included). */
size_t boot_write_cmdline_at(struct bus *bus, uint64_t gpa, uint64_t cap, const char *prefix,
                             const char *cmdline, size_t max_len);

/* Load cfg->initrd_path (if any) page-aligned as high as possible inside
 * usable RAM within [1 MiB, limit), not overlapping the kernel at
 * [kern_lo, kern_hi).  *addr and *size are 0 when there is no initrd.
 * Returns 0, or -1 after printing "nestvm: initrd PATH: ...". */
int boot_load_initrd(struct bus *bus, const struct boot_config *cfg, uint64_t limit,
                     uint64_t kern_lo, uint64_t kern_hi, uint64_t *addr, uint64_t *size);

/* pagetables.c: write the GDT and the identity map of the first 4 GiB
 * (2 MiB pages) and fill *out for 64-bit entry at rip with rsi. */
int boot_enter_long64(struct bus *bus, struct boot_entry *out, uint64_t rip, uint64_t rsi);
/* Write n GDT descriptors at BOOT_GDT_ADDR; returns false if out of RAM. */
bool boot_write_gdt(struct bus *bus, const uint64_t *desc, unsigned n, struct boot_entry *out);
/* The same at gpa. */
bool boot_write_gdt_at(struct bus *bus, uint64_t gpa, const uint64_t *desc, unsigned n,
                       struct boot_entry *out);

/* linux.c: build the zero page at BOOT_INFO_ADDR.  hdr/hdr_len are the setup
 * header bytes to copy to offset 0x1f1 (from the bzImage, or synthesized);
 * the command line must already be at BOOT_CMDLINE_ADDR. */
void boot_linux_zero_page(struct bus *bus, const struct boot_config *cfg, const uint8_t *hdr,
                          size_t hdr_len, uint64_t initrd_addr, uint64_t initrd_size);

#endif
