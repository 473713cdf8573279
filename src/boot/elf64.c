/*
 * elf64.c — loader for plain x86-64 ELF executables (a vmlinux, or a test
 * kernel linked for 64-bit).
 *
 * PT_LOAD segments (System V gABI, "Program Header") are copied to their
 * physical addresses (p_paddr) and the rest of p_memsz is zeroed; the entry
 * point e_entry is translated to physical through the segment that contains
 * it.  The kernel is entered in 64-bit mode exactly like a bzImage (shared
 * page tables and GDT, pagetables.c) with rsi pointing to a Linux zero page
 * at 0x7000 that carries the command line (0x20000), the initrd and the E820
 * map, so a vmlinux's startup_64 and small test kernels find them alike.
 *
 * Every field is untrusted: offsets and sizes are checked against the file,
 * destinations against guest RAM and the identity-mapped first 4 GiB.
 */
#include "boot/boot_priv.h"

#include <string.h>

#define EM_X86_64 62
#define PT_LOAD   1

int boot_elf64(struct bus *bus, const struct boot_config *cfg, const uint8_t *img, size_t len,
               struct boot_entry *out)
{
    if (len < 5 || memcmp(img, "\177ELF", 4) != 0 || img[4] != 2)
        return 1;
    if (len < 64)
        return boot_err(cfg, "truncated ELF64 header");
    if (img[5] != 1 || boot_rd16(img + 18) != EM_X86_64)
        return boot_err(cfg, "ELF64 image is not little-endian x86-64");
    uint64_t entry = boot_rd64(img + 0x18), phoff = boot_rd64(img + 0x20);
    uint16_t phentsize = boot_rd16(img + 0x36), phnum = boot_rd16(img + 0x38);
    if (phentsize < 56 || phoff > len || (uint64_t)phnum * phentsize > len - phoff)
        return boot_err(cfg, "ELF program headers lie outside the file");
    if (!bus_ram_ptr(bus, BOOT_LOW_START, BOOT_LOW_END - BOOT_LOW_START))
        return boot_err(cfg, "guest RAM too small for the boot data below 0x%llx",
                        (unsigned long long)BOOT_LOW_END);

    int nload = 0;
    uint64_t lo = UINT64_MAX, hi = 0, pentry = entry;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + (size_t)i * phentsize;
        if (boot_rd32(ph) != PT_LOAD)
            continue;
        uint64_t off = boot_rd64(ph + 0x08), vaddr = boot_rd64(ph + 0x10);
        uint64_t paddr = boot_rd64(ph + 0x18), filesz = boot_rd64(ph + 0x20);
        uint64_t memsz = boot_rd64(ph + 0x28);
        if (filesz > memsz || off > len || filesz > len - off)
            return boot_err(cfg, "ELF segment %u lies outside the file", i);
        if (paddr >= BOOT_4G || memsz > BOOT_4G - paddr || !bus_ram_ptr(bus, paddr, memsz ? memsz : 1))
            return boot_err(cfg, "segment at 0x%llx (+0x%llx) is outside guest RAM below 4 GiB",
                            (unsigned long long)paddr, (unsigned long long)memsz);
        if (boot_overlaps_low(paddr, memsz))
            return boot_err(cfg, "segment at 0x%llx overlaps the loader's data at 0x%llx-0x%llx",
                            (unsigned long long)paddr, (unsigned long long)BOOT_LOW_START,
                            (unsigned long long)BOOT_LOW_END - 1);
        boot_copy(bus, paddr, img + off, filesz);
        boot_zero(bus, paddr + filesz, memsz - filesz);
        if (entry >= vaddr && entry - vaddr < memsz)
            pentry = entry - vaddr + paddr;
        if (paddr < lo)
            lo = paddr;
        if (paddr + memsz > hi)
            hi = paddr + memsz;
        nload++;
    }
    if (!nload)
        return boot_err(cfg, "ELF image has no loadable segment");
    if (pentry >= BOOT_4G)
        return boot_err(cfg, "entry point 0x%llx is outside the identity-mapped first 4 GiB",
                        (unsigned long long)pentry);

    uint64_t initrd_addr, initrd_size;
    if (boot_load_initrd(bus, cfg, BOOT_4G, lo, hi, &initrd_addr, &initrd_size) < 0)
        return -1;
    boot_write_cmdline(bus, NULL, cfg->cmdline, BOOT_CMDLINE_MAX - 1);

    /* A setup header as a bzImage of protocol 2.15 would carry (boot.rst),
     * indexed from 0x1f1. */
    uint8_t hdr[0x268 - 0x1f1];
    memset(hdr, 0, sizeof(hdr));
#define HDR(off) (hdr + (off) - 0x1f1)
    boot_wr16(HDR(0x1fe), 0xaa55);                /* boot_flag */
    *HDR(0x201) = 0x268 - 0x202;                  /* header length */
    memcpy(HDR(0x202), "HdrS", 4);
    boot_wr16(HDR(0x206), 0x020f);                /* version */
    boot_wr16(HDR(0x1fa), 0xffff);                /* vid_mode: normal */
    boot_wr32(HDR(0x214), (uint32_t)lo);          /* code32_start */
    boot_wr32(HDR(0x22c), 0xffffffff);            /* initrd_addr_max */
    boot_wr32(HDR(0x230), 0x200000);              /* kernel_alignment */
    boot_wr16(HDR(0x236), 1);                     /* xloadflags: XLF_KERNEL_64 */
    boot_wr32(HDR(0x238), BOOT_CMDLINE_MAX - 1);  /* cmdline_size */
    boot_wr64(HDR(0x258), lo);                    /* pref_address */
    boot_wr32(HDR(0x260), (uint32_t)(hi - lo));   /* init_size */
#undef HDR
    boot_linux_zero_page(bus, cfg, hdr, sizeof(hdr), initrd_addr, initrd_size);

    if (boot_enter_long64(bus, out, pentry, BOOT_INFO_ADDR) < 0)
        return boot_err(cfg, "guest RAM too small for the boot page tables");
    return 0;
}
