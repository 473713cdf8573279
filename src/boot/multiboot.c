/*
 * multiboot.c — Multiboot 1 loader (Multiboot Specification 0.6.96).
 *
 * 3.1 "OS image format": the header (magic 0x1BADB002, flags, checksum with
 * magic + flags + checksum == 0) lies 32-bit aligned in the first 8192 bytes.
 * With flag bit 16 the header's address fields say where to load the file;
 * otherwise the image must be ELF (here ELF32 i386, as kvm-unit-tests'
 * x86/NAME.flat) and its PT_LOAD segments go to their physical addresses.
 *
 * 3.2 "Machine state": 32-bit protected mode, paging off, flat CS/DS, eax =
 * 0x2BADB002, ebx = physical address of the Multiboot information structure.
 * 3.3 "Boot information format": we provide mem_lower/upper, the command line
 * ("KERNEL-PATH ARGS", as GRUB and QEMU pass it; kvm-unit-tests take argv[0]
 * from it), the memory map from the E820 table, the initrd as one module, and
 * the boot loader name.  Video information (flag bit 2) is not provided.
 *
 * The loader's own data (stack, GDT, information structure, module string,
 * command line) lies in [0x90000, 0x9f000) (boot_priv.h), so an image may
 * load anywhere else in RAM, from 0x1000 up (not over the real-mode IVT/BDA
 * page).
 *
 * Every header field is untrusted and bounds-checked against the file and RAM.
 */
#include "boot/boot_priv.h"

#include <string.h>

#define MB_MAGIC        0x1BADB002u
#define MB_BOOT_MAGIC   0x2BADB002u
#define MB_SEARCH       8192
#define MB_F_AOUT_KLUDGE (1u << 16)
#define MB_F_KNOWN_REQ  0x7u /* bits 0-2: page-aligned modules, memory info, video */

/* struct multiboot_info field offsets (3.3) and flags */
#define MBI_FLAGS       0
#define MBI_MEM_LOWER   4
#define MBI_MEM_UPPER   8
#define MBI_CMDLINE     16
#define MBI_MODS_COUNT  20
#define MBI_MODS_ADDR   24
#define MBI_MMAP_LENGTH 44
#define MBI_MMAP_ADDR   48
#define MBI_LOADER_NAME 64
#define MBI_F_MEM       (1u << 0)
#define MBI_F_CMDLINE   (1u << 2)
#define MBI_F_MODS      (1u << 3)
#define MBI_F_MMAP      (1u << 6)
#define MBI_F_LOADER    (1u << 9)

/* Where the pieces of the information structure go inside its page. */
#define MBI_ADDR        BOOT_MB_INFO_ADDR
#define MBI_NAME_OFF    0x80
#define MBI_MODS_OFF    0xc0
#define MBI_MMAP_OFF    0x100

/* ELF32 (System V ABI, "ELF Header" and "Program Header") */
#define EM_386  3
#define PT_LOAD 1

#define MB_LOAD_MIN     0x1000ull /* lowest load address: page 0 is the IVT/BDA */

struct mb_image {
    uint64_t entry;
    uint64_t start; /* lowest loaded byte */
    uint64_t end;   /* highest loaded byte + 1 */
};

/* Check a destination range and copy/zero it. */
static int place_segment(struct bus *bus, const struct boot_config *cfg, uint64_t paddr,
                         const uint8_t *src, uint64_t filesz, uint64_t memsz)
{
    if (!bus_ram_ptr(bus, paddr, memsz ? memsz : 1))
        return boot_err(cfg, "segment at 0x%llx (+0x%llx) is outside guest RAM",
                        (unsigned long long)paddr, (unsigned long long)memsz);
    if (boot_overlaps(paddr, memsz, BOOT_MB_START, BOOT_MB_END))
        return boot_err(cfg, "segment at 0x%llx overlaps the loader's data at 0x%llx-0x%llx",
                        (unsigned long long)paddr, (unsigned long long)BOOT_MB_START,
                        (unsigned long long)BOOT_MB_END - 1);
    if (boot_overlaps(paddr, memsz, 0, MB_LOAD_MIN))
        return boot_err(cfg, "segment at 0x%llx is below 0x%llx", (unsigned long long)paddr,
                        (unsigned long long)MB_LOAD_MIN);
    boot_copy(bus, paddr, src, filesz);
    boot_zero(bus, paddr + filesz, memsz - filesz);
    return 0;
}

/* Flag bit 16: the "a.out kludge" address fields (3.1.3). */
static int load_aout(struct bus *bus, const struct boot_config *cfg, const uint8_t *img,
                     size_t len, size_t off, struct mb_image *im)
{
    if (len - off < 32)
        return boot_err(cfg, "truncated Multiboot header");
    const uint8_t *h = img + off;
    uint32_t header_addr = boot_rd32(h + 12), load_addr = boot_rd32(h + 16);
    uint32_t load_end = boot_rd32(h + 20), bss_end = boot_rd32(h + 24);
    uint32_t entry = boot_rd32(h + 28);
    if (load_addr > header_addr || header_addr - load_addr > off)
        return boot_err(cfg, "Multiboot load_addr 0x%x is inconsistent with header_addr 0x%x",
                        load_addr, header_addr);
    size_t file_off = off - (header_addr - load_addr);
    uint64_t filesz;
    if (load_end == 0) {
        filesz = len - file_off;
    } else {
        if (load_end < load_addr)
            return boot_err(cfg, "Multiboot load_end_addr 0x%x is below load_addr 0x%x",
                            load_end, load_addr);
        filesz = load_end - load_addr;
        if (filesz > len - file_off)
            return boot_err(cfg, "truncated image (load_end_addr 0x%x is past the end of file)",
                            load_end);
    }
    uint64_t memsz = filesz;
    if (bss_end != 0) {
        if (bss_end < load_addr + filesz)
            return boot_err(cfg, "Multiboot bss_end_addr 0x%x is below the loaded image",
                            bss_end);
        memsz = bss_end - (uint64_t)load_addr;
    }
    if (place_segment(bus, cfg, load_addr, img + file_off, filesz, memsz) < 0)
        return -1;
    im->entry = entry;
    im->start = load_addr;
    im->end = load_addr + memsz;
    return 0;
}

static int load_elf32(struct bus *bus, const struct boot_config *cfg, const uint8_t *img,
                      size_t len, struct mb_image *im)
{
    if (len < 52)
        return boot_err(cfg, "truncated ELF header");
    if (img[5] != 1 || boot_rd16(img + 18) != EM_386)
        return boot_err(cfg, "Multiboot ELF32 image is not little-endian i386");
    uint32_t entry = boot_rd32(img + 0x18), phoff = boot_rd32(img + 0x1c);
    uint16_t phentsize = boot_rd16(img + 0x2a), phnum = boot_rd16(img + 0x2c);
    if (phentsize < 32 || phoff > len || (uint64_t)phnum * phentsize > len - phoff)
        return boot_err(cfg, "ELF program headers lie outside the file");
    int nload = 0;
    uint64_t start = UINT64_MAX, end = 0, pentry = entry;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = img + phoff + (size_t)i * phentsize;
        if (boot_rd32(ph) != PT_LOAD)
            continue;
        uint32_t off = boot_rd32(ph + 4), vaddr = boot_rd32(ph + 8), paddr = boot_rd32(ph + 12);
        uint32_t filesz = boot_rd32(ph + 16), memsz = boot_rd32(ph + 20);
        if (filesz > memsz || off > len || filesz > len - off)
            return boot_err(cfg, "ELF segment %u lies outside the file", i);
        if (place_segment(bus, cfg, paddr, img + off, filesz, memsz) < 0)
            return -1;
        /* The entry point is virtual; translate it like the segment holding it. */
        if (entry >= vaddr && entry - vaddr < memsz)
            pentry = (uint64_t)entry - vaddr + paddr;
        if ((uint64_t)paddr + memsz > end)
            end = (uint64_t)paddr + memsz;
        if (paddr < start)
            start = paddr;
        nload++;
    }
    if (!nload)
        return boot_err(cfg, "ELF image has no loadable segment");
    im->entry = pentry;
    im->start = start;
    im->end = end;
    return 0;
}

/* KiB of usable RAM contiguous from `from` (following adjacent ranges). */
static uint64_t contiguous_kib(const struct e820_range *map, int n, uint64_t from)
{
    uint64_t end = from;
    for (int pass = 0; pass < n; pass++) {
        bool grew = false;
        for (int i = 0; i < n; i++) {
            uint64_t s = map[i].addr, e = map[i].addr + map[i].size;
            if (map[i].type == 1 && e > s && s <= end && end < e) {
                end = e;
                grew = true;
            }
        }
        if (!grew)
            break;
    }
    return (end - from) >> 10;
}

static void write_mbi(struct bus *bus, const struct boot_config *cfg, uint64_t initrd_addr,
                      uint64_t initrd_size)
{
    uint8_t *mbi = bus_ram_ptr(bus, MBI_ADDR, 4096);
    memset(mbi, 0, 4096);
    uint32_t flags = MBI_F_MEM | MBI_F_CMDLINE | MBI_F_MMAP | MBI_F_LOADER;

    struct e820_range map[BOOT_MAX_E820];
    int n = boot_e820(bus, cfg, map, BOOT_MAX_E820);
    uint64_t lower = contiguous_kib(map, n, 0), upper = contiguous_kib(map, n, BOOT_HIGH_START);
    boot_wr32(mbi + MBI_MEM_LOWER, (uint32_t)(lower > 640 ? 640 : lower));
    boot_wr32(mbi + MBI_MEM_UPPER, (uint32_t)(upper > UINT32_MAX ? UINT32_MAX : upper));
    boot_wr32(mbi + MBI_CMDLINE, (uint32_t)BOOT_MB_CMDLINE_ADDR);

    /* 3.3: each mmap entry is { u32 size; u64 base_addr; u64 length; u32 type }
     * where size (20) excludes the size field itself. */
    for (int i = 0; i < n; i++) {
        uint8_t *e = mbi + MBI_MMAP_OFF + 24 * i;
        boot_wr32(e, 20);
        boot_wr64(e + 4, map[i].addr);
        boot_wr64(e + 12, map[i].size);
        boot_wr32(e + 20, map[i].type);
    }
    boot_wr32(mbi + MBI_MMAP_LENGTH, (uint32_t)(24 * n));
    boot_wr32(mbi + MBI_MMAP_ADDR, (uint32_t)(MBI_ADDR + MBI_MMAP_OFF));

    memcpy(mbi + MBI_NAME_OFF, "nestvm", 7);
    boot_wr32(mbi + MBI_LOADER_NAME, (uint32_t)(MBI_ADDR + MBI_NAME_OFF));

    if (initrd_size) {
        /* 3.3: module entry { mod_start, mod_end, string, reserved }. */
        uint8_t *m = mbi + MBI_MODS_OFF;
        boot_wr32(m, (uint32_t)initrd_addr);
        boot_wr32(m + 4, (uint32_t)(initrd_addr + initrd_size));
        boot_wr32(m + 8, (uint32_t)BOOT_MB_MODSTR_ADDR);
        uint8_t *s = bus_ram_ptr(bus, BOOT_MB_MODSTR_ADDR, BOOT_MODSTR_MAX);
        size_t sl = strlen(cfg->initrd_path);
        if (sl > BOOT_MODSTR_MAX - 1)
            sl = BOOT_MODSTR_MAX - 1;
        memcpy(s, cfg->initrd_path, sl);
        s[sl] = 0;
        boot_wr32(mbi + MBI_MODS_COUNT, 1);
        boot_wr32(mbi + MBI_MODS_ADDR, (uint32_t)(MBI_ADDR + MBI_MODS_OFF));
        flags |= MBI_F_MODS;
    }
    boot_wr32(mbi + MBI_FLAGS, flags);
}

int boot_multiboot(struct bus *bus, const struct boot_config *cfg, const uint8_t *img,
                   size_t len, struct boot_entry *out)
{
    size_t off, lim = len < MB_SEARCH ? len : MB_SEARCH;
    bool found = false;
    for (off = 0; off + 12 <= lim; off += 4) {
        uint32_t magic = boot_rd32(img + off), flags = boot_rd32(img + off + 4);
        if (magic == MB_MAGIC && (uint32_t)(magic + flags + boot_rd32(img + off + 8)) == 0) {
            found = true;
            break;
        }
    }
    if (!found)
        return 1;
    uint32_t flags = boot_rd32(img + off + 4);
    bool is_elf = len >= 6 && memcmp(img, "\177ELF", 4) == 0;
    /* Without the address fields, an ELF64 file is left to the ELF64 loader. */
    if (!(flags & MB_F_AOUT_KLUDGE) && is_elf && img[4] == 2)
        return 1;
    /* 3.1.2: bits 0-15 are requirements; refuse ones we do not know. */
    if (flags & 0xffffu & ~MB_F_KNOWN_REQ)
        return boot_err(cfg, "Multiboot header requires unsupported features (flags 0x%x)",
                        flags);
    if (!bus_ram_ptr(bus, BOOT_MB_START, BOOT_MB_END - BOOT_MB_START))
        return boot_err(cfg, "guest RAM too small for the boot data below 0x%llx",
                        (unsigned long long)BOOT_MB_END);

    struct mb_image im = { 0, 0, 0 };
    int r;
    if (flags & MB_F_AOUT_KLUDGE)
        r = load_aout(bus, cfg, img, len, off, &im);
    else if (is_elf && img[4] == 1)
        r = load_elf32(bus, cfg, img, len, &im);
    else
        r = boot_err(cfg, "Multiboot header has no address fields and the image is not ELF32");
    if (r < 0)
        return -1;

    /* The initrd goes above 1 MiB, clear of the image and of the data above. */
    uint64_t initrd_addr, initrd_size;
    uint64_t kern_lo = im.start > BOOT_HIGH_START ? im.start : BOOT_HIGH_START;
    uint64_t kern_hi = im.end > BOOT_HIGH_START ? im.end : BOOT_HIGH_START;
    if (boot_load_initrd(bus, cfg, BOOT_4G, kern_lo, kern_hi, &initrd_addr, &initrd_size) < 0)
        return -1;
    boot_write_cmdline_at(bus, BOOT_MB_CMDLINE_ADDR, BOOT_MB_CMDLINE_MAX, cfg->kernel_path,
                          cfg->cmdline, BOOT_MB_CMDLINE_MAX - 1);
    write_mbi(bus, cfg, initrd_addr, initrd_size);

    /* 3.2: flat 32-bit code (0x08) and data (0x10) segments, base 0, 4 GiB. */
    static const uint64_t gdt[3] = { 0, 0x00cf9a000000ffffull, 0x00cf92000000ffffull };
    if (!boot_write_gdt_at(bus, BOOT_MB_GDT_ADDR, gdt, 3, out))
        return boot_err(cfg, "guest RAM too small for the boot GDT");
    out->mode = BOOT_MODE_PROT32;
    out->rip = im.entry;
    out->rax = MB_BOOT_MAGIC;
    out->rbx = MBI_ADDR;
    out->rsp = BOOT_MB_STACK_TOP;
    out->cs_sel = 0x08;
    out->ds_sel = 0x10;
    out->cr3 = 0;
    return 0;
}
