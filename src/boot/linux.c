/*
 * linux.c — the Linux x86 boot protocol loader for bzImage kernels, entered
 * through the 64-bit boot protocol (Documentation/arch/x86/boot.rst).
 *
 * bzImage layout (boot.rst "The Real-Mode Kernel Header"): the real-mode setup
 * is (setup_sects + 1) * 512 bytes (setup_sects 0 means 4); the setup header
 * sits at 0x1f1 and carries "HdrS" at 0x202; the protected-mode kernel follows
 * the setup.  We never run the real-mode code: we copy the protected-mode
 * kernel to its load address, build the zero page (struct boot_params) at
 * 0x7000 with the setup header copied in and the fields a boot loader must
 * fill, and enter at load address + 0x200 in 64-bit mode (boot.rst "64-bit
 * Boot Protocol") with rsi = zero page.
 *
 * Everything read from the image is untrusted and bounds-checked.
 */
#include "boot/boot_priv.h"

#include <string.h>

/* struct boot_params offsets (boot.rst "The zero page" / "Details of header
 * fields"; arch/x86 zero-page.rst lists the non-header part). */
#define ZP_ACPI_RSDP     0x070 /* u64, protocol 2.14+ */
#define ZP_E820_ENTRIES  0x1e8 /* u8 */
#define ZP_HDR           0x1f1 /* start of struct setup_header */
#define ZP_HDR_LIMIT     0x290 /* edd_mbr_sig_buffer follows the header */
#define ZP_E820_TABLE    0x2d0 /* 128 x { u64 addr, u64 size, u32 type } */

/* Setup header fields, as offsets in the file and the zero page. */
#define H_SETUP_SECTS    0x1f1
#define H_BOOT_FLAG      0x1fe
#define H_JUMP           0x200
#define H_MAGIC          0x202
#define H_VERSION        0x206
#define H_TYPE_OF_LOADER 0x210
#define H_LOADFLAGS      0x211
#define H_CODE32_START   0x214
#define H_RAMDISK_IMAGE  0x218
#define H_RAMDISK_SIZE   0x21c
#define H_HEAP_END_PTR   0x224
#define H_CMD_LINE_PTR   0x228
#define H_INITRD_MAX     0x22c
#define H_KERNEL_ALIGN   0x230
#define H_RELOCATABLE    0x234
#define H_XLOADFLAGS     0x236
#define H_CMDLINE_SIZE   0x238
#define H_SETUP_DATA     0x250
#define H_PREF_ADDRESS   0x258
#define H_INIT_SIZE      0x260

#define LOADED_HIGH   0x01
#define CAN_USE_HEAP  0x80
#define XLF_KERNEL_64 0x01

#define HDRS_MAGIC 0x53726448u /* "HdrS" */

void boot_linux_zero_page(struct bus *bus, const struct boot_config *cfg, const uint8_t *hdr,
                          size_t hdr_len, uint64_t initrd_addr, uint64_t initrd_size)
{
    uint8_t *zp = bus_ram_ptr(bus, BOOT_INFO_ADDR, 4096);
    if (!zp)
        return; /* callers checked RAM covers the low area */
    memset(zp, 0, 4096);
    if (hdr_len > ZP_HDR_LIMIT - ZP_HDR)
        hdr_len = ZP_HDR_LIMIT - ZP_HDR;
    memcpy(zp + ZP_HDR, hdr, hdr_len);

    /* boot.rst "Details of Header Fields": fields the loader writes. */
    zp[H_TYPE_OF_LOADER] = 0xff; /* undefined/unregistered loader */
    zp[H_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
    boot_wr16(zp + H_HEAP_END_PTR, 0xfe00);
    boot_wr32(zp + H_CMD_LINE_PTR, (uint32_t)BOOT_CMDLINE_ADDR);
    boot_wr32(zp + H_RAMDISK_IMAGE, (uint32_t)initrd_addr);
    boot_wr32(zp + H_RAMDISK_SIZE, (uint32_t)initrd_size);
    boot_wr64(zp + H_SETUP_DATA, 0); /* no setup_data list */

    struct e820_range map[BOOT_MAX_E820];
    int n = boot_e820(bus, cfg, map, BOOT_MAX_E820);
    zp[ZP_E820_ENTRIES] = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        uint8_t *e = zp + ZP_E820_TABLE + 20 * i;
        boot_wr64(e, map[i].addr);
        boot_wr64(e + 8, map[i].size);
        boot_wr32(e + 16, map[i].type);
    }
    if (cfg->rsdp_addr && boot_rd16(zp + H_VERSION) >= 0x020e)
        boot_wr64(zp + ZP_ACPI_RSDP, cfg->rsdp_addr);
}

/* Where the protected-mode kernel goes (boot.rst: a relocatable kernel may be
 * loaded at any kernel_alignment-aligned address; pref_address is preferred;
 * a non-relocatable one must be at pref_address).  The whole init_size must
 * fit in usable RAM below 4 GiB (our identity map). */
static int choose_load_addr(struct bus *bus, const struct boot_config *cfg, const uint8_t *h,
                            uint16_t version, uint64_t need, uint64_t *load)
{
    uint64_t pref = version >= 0x020a ? boot_rd64(h + H_PREF_ADDRESS) : BOOT_HIGH_START;
    uint32_t align = boot_rd32(h + H_KERNEL_ALIGN);
    if (!h[H_RELOCATABLE]) {
        if (pref < BOOT_HIGH_START || pref >= BOOT_4G || need > BOOT_4G - pref ||
            !boot_range_usable(bus, cfg, pref, need))
            return boot_err(cfg, "non-relocatable kernel needs %llu KiB at 0x%llx, "
                                 "which is not in guest RAM",
                            (unsigned long long)(need >> 10), (unsigned long long)pref);
        *load = pref;
        return 0;
    }
    if (align == 0 || (align & (align - 1)) || align > 0x40000000u)
        return boot_err(cfg, "bad kernel_alignment 0x%x in the setup header", align);
    if (align < 4096)
        align = 4096;
    if (pref >= BOOT_HIGH_START && pref % align == 0 && pref < BOOT_4G &&
        need <= BOOT_4G - pref && boot_range_usable(bus, cfg, pref, need)) {
        *load = pref;
        return 0;
    }
    if (!boot_find_low(bus, cfg, need, BOOT_HIGH_START, BOOT_4G, align, load))
        return boot_err(cfg, "kernel needs %llu KiB (init_size) at a 0x%x-aligned address; "
                             "it does not fit in guest RAM",
                        (unsigned long long)(need >> 10), align);
    return 0;
}

int boot_linux(struct bus *bus, const struct boot_config *cfg, const uint8_t *img, size_t len,
               struct boot_entry *out)
{
    if (len < H_MAGIC + 4 || boot_rd32(img + H_MAGIC) != HDRS_MAGIC)
        return 1;

    /* The header ends at 0x202 + the byte at 0x201 (boot.rst); fields past
     * its end or past the file read as zero. */
    uint8_t h[ZP_HDR_LIMIT];
    memset(h, 0, sizeof(h));
    size_t hdr_end = 0x202 + (size_t)img[0x201];
    if (hdr_end > ZP_HDR_LIMIT)
        hdr_end = ZP_HDR_LIMIT;
    if (hdr_end > len)
        hdr_end = len;
    memcpy(h + ZP_HDR, img + ZP_HDR, hdr_end - ZP_HDR);

    uint16_t version = boot_rd16(h + H_VERSION);
    if (version < 0x0206)
        return boot_err(cfg, "Linux boot protocol %u.%02u is too old (2.06 or later needed)",
                        version >> 8, version & 0xff);
    uint16_t xl = version >= 0x020c ? boot_rd16(h + H_XLOADFLAGS) : 0;
    if (!(xl & XLF_KERNEL_64))
        return boot_err(cfg, "kernel has no 64-bit entry point (XLF_KERNEL_64 not set)");
    if (!(h[H_LOADFLAGS] & LOADED_HIGH))
        return boot_err(cfg, "zImage kernels (not LOADED_HIGH) are not supported");

    unsigned setup_sects = h[H_SETUP_SECTS] ? h[H_SETUP_SECTS] : 4;
    size_t setup_size = ((size_t)setup_sects + 1) * 512;
    if (setup_size >= len)
        return boot_err(cfg, "truncated bzImage (setup is %zu bytes, file %zu)", setup_size, len);
    const uint8_t *pm = img + setup_size;
    uint64_t pm_len = len - setup_size;
    if (pm_len < 0x200 + 1)
        return boot_err(cfg, "truncated bzImage (no 64-bit entry point in the %llu-byte kernel)",
                        (unsigned long long)pm_len);

    uint64_t need = version >= 0x020a ? boot_rd32(h + H_INIT_SIZE) : 0;
    if (need < pm_len)
        need = pm_len;
    need = (need + 4095) & ~4095ull;

    if (!bus_ram_ptr(bus, BOOT_LOW_START, BOOT_LOW_END - BOOT_LOW_START))
        return boot_err(cfg, "guest RAM too small for the boot data below 0x%llx",
                        (unsigned long long)BOOT_LOW_END);
    uint64_t load;
    if (choose_load_addr(bus, cfg, h, version, need, &load) < 0)
        return -1;
    if (!boot_copy(bus, load, pm, pm_len))
        return boot_err(cfg, "kernel does not fit in guest RAM at 0x%llx",
                        (unsigned long long)load);

    /* initrd_addr_max: highest address the initrd may occupy (2.03+). */
    uint64_t initrd_max = boot_rd32(h + H_INITRD_MAX);
    if (initrd_max == 0)
        initrd_max = 0x37ffffff;
    uint64_t initrd_addr, initrd_size;
    if (boot_load_initrd(bus, cfg, initrd_max + 1, load, load + need, &initrd_addr,
                         &initrd_size) < 0)
        return -1;

    /* cmdline_size (2.06+): maximum length without the terminating NUL. */
    uint32_t cmdline_size = boot_rd32(h + H_CMDLINE_SIZE);
    boot_write_cmdline(bus, NULL, cfg->cmdline, cmdline_size);

    boot_linux_zero_page(bus, cfg, h + ZP_HDR, hdr_end - ZP_HDR, initrd_addr, initrd_size);
    uint8_t *zp = bus_ram_ptr(bus, BOOT_INFO_ADDR, 4096);
    boot_wr32(zp + H_CODE32_START, (uint32_t)load); /* where we put the kernel */

    if (boot_enter_long64(bus, out, load + 0x200, BOOT_INFO_ADDR) < 0)
        return boot_err(cfg, "guest RAM too small for the boot page tables");
    return 0;
}
