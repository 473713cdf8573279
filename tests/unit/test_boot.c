/*
 * test_boot.c — the kernel loaders (src/boot) on synthetic images: a fake
 * bzImage, a Multiboot ELF32 and a Multiboot a.out-kludge image, an ELF64,
 * and malformed / truncated / mutated variants that must fail cleanly.
 */
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/boot.h"
#include "hw/bus.h"

#define MiB (1024ull * 1024)

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

/* Write a temp file; returns its path in buf. */
static const char *tmpfile_with(char *buf, const void *data, size_t len)
{
    strcpy(buf, "/tmp/nestvm-boot-XXXXXX");
    int fd = mkstemp(buf);
    if (fd < 0)
        return NULL;
    if (len && write(fd, data, len) != (ssize_t)len)
        buf[0] = 0;
    close(fd);
    return buf;
}

/* Redirect stderr into a file while running loaders; collect what they say. */
struct capture {
    int saved;
    char path[64];
    char text[1024];
};

static void capture_begin(struct capture *c)
{
    fflush(stderr);
    c->saved = dup(2);
    strcpy(c->path, "/tmp/nestvm-err-XXXXXX");
    int fd = mkstemp(c->path);
    dup2(fd, 2);
    close(fd);
}

static const char *capture_end(struct capture *c)
{
    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    int fd = open(c->path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, c->text, sizeof(c->text) - 1) : 0;
    c->text[n > 0 ? n : 0] = 0;
    if (fd >= 0)
        close(fd);
    unlink(c->path);
    return c->text;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* Walk 4-level page tables in guest RAM; ~0 if not mapped. */
static uint64_t walk(struct bus *b, uint64_t cr3, uint64_t va)
{
    uint64_t table = cr3 & ~0xfffull;
    for (int level = 3; level >= 0; level--) {
        unsigned idx = (va >> (12 + 9 * level)) & 511;
        uint8_t *p = bus_ram_ptr(b, table + 8 * idx, 8);
        if (!p)
            return ~0ull;
        uint64_t e = get64(p);
        if (!(e & 1))
            return ~0ull;
        uint64_t addr = e & 0x000ffffffffff000ull;
        if (level == 0)
            return addr | (va & 0xfff);
        if ((level == 1 || level == 2) && (e & 0x80)) {
            uint64_t mask = (1ull << (12 + 9 * level)) - 1;
            return (addr & ~mask) | (va & mask);
        }
        table = addr;
    }
    return ~0ull;
}

static const struct e820_range test_e820[4] = {
    { 0, 0x9fc00, 1 },
    { 0x9fc00, 0x400, 2 },
    { 0xf0000, 0x10000, 2 },
    { 0x100000, 64 * MiB - 0x100000, 1 },
};

/* ---- synthetic images ---------------------------------------------------- */

#define BZ_SETUP_SECTS 4
#define BZ_PM_OFF ((BZ_SETUP_SECTS + 1) * 512)
#define BZ_PM_LEN 8192

static uint8_t pm_byte(size_t i) { return (uint8_t)(i * 7 ^ 0x5a); }

/* A fake bzImage, protocol 2.15, relocatable, 64-bit capable. */
static size_t make_bzimage(uint8_t *img, uint8_t relocatable, uint64_t pref, uint32_t init_size)
{
    size_t len = BZ_PM_OFF + BZ_PM_LEN;
    memset(img, 0, len);
    img[0x1f1] = BZ_SETUP_SECTS;
    put16(img + 0x1fe, 0xaa55);
    img[0x200] = 0xeb;
    img[0x201] = 0x6a; /* header ends at 0x26c */
    memcpy(img + 0x202, "HdrS", 4);
    put16(img + 0x206, 0x020f);
    img[0x211] = 0x01;                 /* LOADED_HIGH */
    put32(img + 0x22c, 0x7fffffff);    /* initrd_addr_max */
    put32(img + 0x230, 0x200000);      /* kernel_alignment */
    img[0x234] = relocatable;
    put16(img + 0x236, 0x0003);        /* XLF_KERNEL_64 | CAN_BE_LOADED_ABOVE_4G */
    put32(img + 0x238, 2047);          /* cmdline_size */
    put64(img + 0x250, 0x1234);        /* bogus setup_data: loader must clear */
    put64(img + 0x258, pref);
    put32(img + 0x260, init_size);
    for (size_t i = 0; i < BZ_PM_LEN; i++)
        img[BZ_PM_OFF + i] = pm_byte(i);
    return len;
}

#define MB_SEG_OFF 0x1000
#define MB_SEG_PADDR 0x400000
#define MB_SEG_FILESZ 0x200
#define MB_SEG_MEMSZ 0x3000

/* ELF32 i386 with a Multiboot header without address fields (like the
 * kvm-unit-tests x86 .flat files). */
static size_t make_mb_elf32(uint8_t *img)
{
    size_t len = MB_SEG_OFF + MB_SEG_FILESZ;
    memset(img, 0, len);
    memcpy(img, "\177ELF", 4);
    img[4] = 1; /* ELFCLASS32 */
    img[5] = 1; /* little-endian */
    img[6] = 1;
    put16(img + 16, 2);  /* ET_EXEC */
    put16(img + 18, 3);  /* EM_386 */
    put32(img + 20, 1);
    put32(img + 0x18, MB_SEG_PADDR + 0x10); /* e_entry */
    put32(img + 0x1c, 52);                  /* e_phoff */
    put16(img + 0x28, 52);
    put16(img + 0x2a, 32);                  /* e_phentsize */
    put16(img + 0x2c, 1);                   /* e_phnum */
    uint8_t *ph = img + 52;
    put32(ph, 1); /* PT_LOAD */
    put32(ph + 4, MB_SEG_OFF);
    put32(ph + 8, MB_SEG_PADDR);
    put32(ph + 12, MB_SEG_PADDR);
    put32(ph + 16, MB_SEG_FILESZ);
    put32(ph + 20, MB_SEG_MEMSZ);
    uint8_t *mb = img + 0x100;
    put32(mb, 0x1BADB002);
    put32(mb + 4, 0x3);
    put32(mb + 8, (uint32_t)-(0x1BADB002u + 0x3u));
    for (size_t i = 0; i < MB_SEG_FILESZ; i++)
        img[MB_SEG_OFF + i] = (uint8_t)(0xc0 + i);
    return len;
}

#define E64_OFF 0x1000
#define E64_PADDR 0x1000000ull
#define E64_VADDR 0xffffffff81000000ull

static size_t make_elf64(uint8_t *img)
{
    size_t len = E64_OFF + 0x100;
    memset(img, 0, len);
    memcpy(img, "\177ELF", 4);
    img[4] = 2;
    img[5] = 1;
    img[6] = 1;
    put16(img + 16, 2);
    put16(img + 18, 62);
    put32(img + 20, 1);
    put64(img + 0x18, E64_VADDR + 0x40);
    put64(img + 0x20, 64);
    put16(img + 0x34, 64);
    put16(img + 0x36, 56);
    put16(img + 0x38, 1);
    uint8_t *ph = img + 64;
    put32(ph, 1);
    put32(ph + 4, 7);
    put64(ph + 0x08, E64_OFF);
    put64(ph + 0x10, E64_VADDR);
    put64(ph + 0x18, E64_PADDR);
    put64(ph + 0x20, 0x100);
    put64(ph + 0x28, 0x2000);
    for (size_t i = 0; i < 0x100; i++)
        img[E64_OFF + i] = (uint8_t)(0x30 ^ i);
    return len;
}

/* ---- bzImage ------------------------------------------------------------- */

TEST(boot_linux_bzimage)
{
    struct bus b;
    CHECK_EQ(bus_init(&b, 64 * MiB), 0);
    static uint8_t img[BZ_PM_OFF + BZ_PM_LEN];
    size_t len = make_bzimage(img, 1, 0x1000000, 0x300000);
    char kpath[64], ipath[64];
    tmpfile_with(kpath, img, len);
    static uint8_t initrd[10000];
    for (size_t i = 0; i < sizeof(initrd); i++)
        initrd[i] = (uint8_t)(i * 13 + 1);
    tmpfile_with(ipath, initrd, sizeof(initrd));

    const char *cmdline = "console=ttyS0 root=/dev/vda";
    struct boot_config cfg = { kpath, ipath, cmdline, 0xf5000, test_e820, 4 };
    struct boot_entry e;
    CHECK_EQ(boot_load(&b, &cfg, &e), 0);

    CHECK_EQ(e.mode, BOOT_MODE_LONG64);
    CHECK_EQ(e.rip, 0x1000000 + 0x200);
    CHECK_EQ(e.rsi, 0x7000);
    CHECK_EQ(e.cs_sel, 0x10);
    CHECK_EQ(e.ds_sel, 0x18);
    CHECK(e.gdt_limit >= 0x1f);
    uint8_t *gdt = bus_ram_ptr(&b, e.gdt_base, 32);
    CHECK(gdt != NULL);
    if (gdt) {
        CHECK_EQ(get64(gdt + 0x10), 0x00af9a000000ffffull);
        CHECK_EQ(get64(gdt + 0x18), 0x00cf92000000ffffull);
    }
    /* Kernel bytes at the preferred (aligned) address. */
    uint8_t *k = bus_ram_ptr(&b, 0x1000000, BZ_PM_LEN);
    CHECK(k && memcmp(k, img + BZ_PM_OFF, BZ_PM_LEN) == 0);

    /* Identity map covers everything the kernel needs, and more. */
    CHECK_EQ(walk(&b, e.cr3, 0x12345678), 0x12345678);
    CHECK_EQ(walk(&b, e.cr3, 0x7000), 0x7000);
    CHECK_EQ(walk(&b, e.cr3, 0x1000200), 0x1000200);
    CHECK_EQ(walk(&b, e.cr3, 0xfee00000), 0xfee00000);
    CHECK_EQ(walk(&b, e.cr3, 0xffffffffull), 0xffffffffull);
    CHECK_EQ(walk(&b, e.cr3, 0x100000000ull), ~0ull);

    uint8_t *zp = bus_ram_ptr(&b, e.rsi, 4096);
    CHECK(zp != NULL);
    if (!zp)
        return;
    CHECK(memcmp(zp + 0x202, "HdrS", 4) == 0);
    CHECK_EQ(get16(zp + 0x206), 0x020f);
    CHECK_EQ(zp[0x210], 0xff);                /* type_of_loader */
    CHECK_EQ(zp[0x211] & 0x81, 0x81);         /* LOADED_HIGH | CAN_USE_HEAP */
    CHECK(get16(zp + 0x224) != 0);            /* heap_end_ptr */
    CHECK_EQ(get32(zp + 0x214), 0x1000000);   /* code32_start */
    CHECK_EQ(get64(zp + 0x250), 0);           /* setup_data cleared */
    CHECK_EQ(get64(zp + 0x70), 0xf5000);      /* acpi_rsdp_addr */
    uint32_t cmd = get32(zp + 0x228);
    char *s = (char *)bus_ram_ptr(&b, cmd, strlen(cmdline) + 1);
    CHECK(s && strcmp(s, cmdline) == 0);

    uint32_t rd = get32(zp + 0x218), rdsz = get32(zp + 0x21c);
    CHECK_EQ(rdsz, sizeof(initrd));
    CHECK_EQ(rd & 0xfff, 0);
    CHECK_EQ(rd, (64 * MiB - sizeof(initrd)) & ~0xfffull); /* as high as possible */
    CHECK(rd >= 0x1000000 + 0x300000);                     /* above the kernel's init_size */
    uint8_t *r = bus_ram_ptr(&b, rd, rdsz);
    CHECK(r && memcmp(r, initrd, sizeof(initrd)) == 0);

    CHECK_EQ(zp[0x1e8], 4);
    CHECK_EQ(get64(zp + 0x2d0 + 3 * 20), 0x100000);
    CHECK_EQ(get64(zp + 0x2d0 + 3 * 20 + 8), 64 * MiB - 0x100000);
    CHECK_EQ(get32(zp + 0x2d0 + 3 * 20 + 16), 1);
    CHECK_EQ(get32(zp + 0x2d0 + 1 * 20 + 16), 2);

    unlink(kpath);
    unlink(ipath);
    bus_destroy(&b);
}

TEST(boot_linux_placement_and_cmdline_limit)
{
    struct bus b;
    CHECK_EQ(bus_init(&b, 16 * MiB), 0);
    static uint8_t img[BZ_PM_OFF + BZ_PM_LEN];
    /* pref_address 16 MiB does not fit in 16 MiB of RAM: a relocatable
     * kernel goes to the lowest 2 MiB-aligned address above 1 MiB. */
    size_t len = make_bzimage(img, 1, 0x1000000, 0x300000);
    put32(img + 0x238, 10); /* cmdline_size */
    struct boot_config cfg = { "mem", NULL, "0123456789abcdef", 0, NULL, 0 };
    struct boot_entry e;
    CHECK_EQ(boot_linux(&b, &cfg, img, len, &e), 0);
    CHECK_EQ(e.rip, 0x200000 + 0x200);
    uint8_t *zp = bus_ram_ptr(&b, 0x7000, 4096);
    char *s = (char *)bus_ram_ptr(&b, get32(zp + 0x228), 64);
    CHECK(s && strcmp(s, "0123456789") == 0);
    CHECK_EQ(get32(zp + 0x218), 0); /* no initrd */
    CHECK_EQ(get32(zp + 0x21c), 0);
    CHECK_EQ(get64(zp + 0x70), 0);  /* no RSDP given */
    /* Default E820 when the machine gives none: low RAM, 2 holes, high RAM. */
    CHECK_EQ(zp[0x1e8], 4);
    CHECK_EQ(get64(zp + 0x2d0 + 3 * 20 + 8), 15 * MiB);

    /* A non-relocatable kernel that needs 16 MiB+ fails with one line. */
    make_bzimage(img, 0, 0x1000000, 0x300000);
    struct capture c;
    capture_begin(&c);
    int r = boot_linux(&b, &cfg, img, len, &e);
    const char *msg = capture_end(&c);
    CHECK_EQ(r, -1);
    CHECK(strncmp(msg, "nestvm: kernel mem: ", 20) == 0);
    CHECK_EQ(count_lines(msg), 1);

    /* init_size larger than RAM. */
    make_bzimage(img, 1, 0x1000000, 0x7f000000);
    capture_begin(&c);
    r = boot_linux(&b, &cfg, img, len, &e);
    capture_end(&c);
    CHECK_EQ(r, -1);
    bus_destroy(&b);
}

TEST(boot_linux_rejects_bad_headers)
{
    struct bus b;
    CHECK_EQ(bus_init(&b, 32 * MiB), 0);
    static uint8_t img[BZ_PM_OFF + BZ_PM_LEN];
    struct boot_config cfg = { "k", NULL, NULL, 0, NULL, 0 };
    struct boot_entry e;
    struct capture c;
    size_t len;

    len = make_bzimage(img, 1, 0x1000000, 0x300000);
    put16(img + 0x206, 0x0205); /* protocol too old */
    capture_begin(&c);
    CHECK_EQ(boot_linux(&b, &cfg, img, len, &e), -1);
    CHECK(strstr(capture_end(&c), "2.05") != NULL);

    len = make_bzimage(img, 1, 0x1000000, 0x300000);
    put16(img + 0x236, 0); /* no 64-bit entry */
    capture_begin(&c);
    CHECK_EQ(boot_linux(&b, &cfg, img, len, &e), -1);
    CHECK(strstr(capture_end(&c), "64-bit") != NULL);

    len = make_bzimage(img, 1, 0x1000000, 0x300000);
    img[0x1f1] = 200; /* setup larger than the file */
    capture_begin(&c);
    CHECK_EQ(boot_linux(&b, &cfg, img, len, &e), -1);
    CHECK(strstr(capture_end(&c), "truncated") != NULL);

    len = make_bzimage(img, 1, 0x1000000, 0x300000);
    put32(img + 0x230, 0x300000); /* kernel_alignment not a power of two */
    capture_begin(&c);
    CHECK_EQ(boot_linux(&b, &cfg, img, len, &e), -1);
    capture_end(&c);

    len = make_bzimage(img, 1, 0x1000000, 0x300000);
    img[0x201] = 0; /* header claims to end at 0x202: fields read as zero */
    capture_begin(&c);
    CHECK_EQ(boot_linux(&b, &cfg, img, len, &e), -1);
    capture_end(&c);

    /* Not a bzImage at all. */
    memset(img, 0x90, 4096);
    CHECK_EQ(boot_linux(&b, &cfg, img, 4096, &e), 1);
    CHECK_EQ(boot_linux(&b, &cfg, img, 10, &e), 1);
    bus_destroy(&b);
}

/* ---- Multiboot ----------------------------------------------------------- */

TEST(boot_multiboot_elf32)
{
    struct bus b;
    CHECK_EQ(bus_init(&b, 64 * MiB), 0);
    static uint8_t img[MB_SEG_OFF + MB_SEG_FILESZ];
    size_t len = make_mb_elf32(img);
    char kpath[64], ipath[64];
    tmpfile_with(kpath, img, len);
    uint8_t mod[3000];
    for (size_t i = 0; i < sizeof(mod); i++)
        mod[i] = (uint8_t)(i ^ 0x77);
    tmpfile_with(ipath, mod, sizeof(mod));
    /* bss must be zeroed even if RAM held garbage */
    memset(bus_ram_ptr(&b, MB_SEG_PADDR, MB_SEG_MEMSZ), 0xaa, MB_SEG_MEMSZ);

    struct boot_config cfg = { kpath, ipath, "-smp 1 arg2", 0, test_e820, 4 };
    struct boot_entry e;
    CHECK_EQ(boot_load(&b, &cfg, &e), 0);
    CHECK_EQ(e.mode, BOOT_MODE_PROT32);
    CHECK_EQ(e.rip, MB_SEG_PADDR + 0x10);
    CHECK_EQ(e.rax, 0x2BADB002);
    CHECK_EQ(e.cs_sel, 0x08);
    CHECK_EQ(e.ds_sel, 0x10);
    uint8_t *gdt = bus_ram_ptr(&b, e.gdt_base, 24);
    CHECK(gdt && get64(gdt + 8) == 0x00cf9a000000ffffull && get64(gdt + 16) == 0x00cf92000000ffffull);
    CHECK(e.gdt_limit >= 23);

    uint8_t *seg = bus_ram_ptr(&b, MB_SEG_PADDR, MB_SEG_MEMSZ);
    CHECK(memcmp(seg, img + MB_SEG_OFF, MB_SEG_FILESZ) == 0);
    int bss_zero = 1;
    for (size_t i = MB_SEG_FILESZ; i < MB_SEG_MEMSZ; i++)
        bss_zero &= seg[i] == 0;
    CHECK(bss_zero);

    uint8_t *mbi = bus_ram_ptr(&b, e.rbx, 88);
    CHECK(mbi != NULL);
    if (!mbi)
        return;
    uint32_t flags = get32(mbi);
    CHECK(flags & 1);        /* mem_lower/upper */
    CHECK(flags & (1 << 2)); /* cmdline */
    CHECK(flags & (1 << 3)); /* mods */
    CHECK(flags & (1 << 6)); /* mmap */
    CHECK_EQ(get32(mbi + 4), 639);
    CHECK_EQ(get32(mbi + 8), (64 * MiB - 0x100000) / 1024);

    char want[128];
    snprintf(want, sizeof(want), "%s -smp 1 arg2", kpath);
    char *cl = (char *)bus_ram_ptr(&b, get32(mbi + 16), strlen(want) + 1);
    CHECK(cl && strcmp(cl, want) == 0);

    CHECK_EQ(get32(mbi + 44), 4 * 24);
    uint8_t *mm = bus_ram_ptr(&b, get32(mbi + 48), 4 * 24);
    CHECK(mm != NULL);
    for (int i = 0; mm && i < 4; i++) {
        CHECK_EQ(get32(mm + 24 * i), 20);
        CHECK_EQ(get64(mm + 24 * i + 4), test_e820[i].addr);
        CHECK_EQ(get64(mm + 24 * i + 12), test_e820[i].size);
        CHECK_EQ(get32(mm + 24 * i + 20), test_e820[i].type);
    }

    CHECK_EQ(get32(mbi + 20), 1);
    uint8_t *m = bus_ram_ptr(&b, get32(mbi + 24), 16);
    CHECK(m != NULL);
    if (m) {
        uint32_t ms = get32(m), me = get32(m + 4);
        CHECK_EQ(ms & 0xfff, 0);
        CHECK_EQ(me - ms, sizeof(mod));
        CHECK(ms >= MB_SEG_PADDR + MB_SEG_MEMSZ);
        uint8_t *mp = bus_ram_ptr(&b, ms, sizeof(mod));
        CHECK(mp && memcmp(mp, mod, sizeof(mod)) == 0);
        char *name = (char *)bus_ram_ptr(&b, get32(m + 8), strlen(ipath) + 1);
        CHECK(name && strcmp(name, ipath) == 0);
    }
    unlink(kpath);
    unlink(ipath);
    bus_destroy(&b);
}

TEST(boot_multiboot_aout_kludge)
{
    struct bus b;
    CHECK_EQ(bus_init(&b, 16 * MiB), 0);
    uint8_t img[0x400];
    memset(img, 0, sizeof(img));
    /* Header at file offset 0x40, describing a load of the whole file at
     * 0x200000 with 0x1000 bytes of bss. */
    uint8_t *h = img + 0x40;
    uint32_t flags = 0x10002;
    put32(h, 0x1BADB002);
    put32(h + 4, flags);
    put32(h + 8, (uint32_t)-(0x1BADB002u + flags));
    put32(h + 12, 0x200040); /* header_addr */
    put32(h + 16, 0x200000); /* load_addr */
    put32(h + 20, 0);        /* load_end_addr: whole file */
    put32(h + 24, 0x200000 + sizeof(img) + 0x1000);
    put32(h + 28, 0x200080); /* entry */
    for (size_t i = 0x80; i < sizeof(img); i++)
        img[i] = (uint8_t)i;
    memset(bus_ram_ptr(&b, 0x200000, 0x2000), 0xee, 0x2000);
    struct boot_config cfg = { "aout", NULL, NULL, 0, NULL, 0 };
    struct boot_entry e;
    CHECK_EQ(boot_multiboot(&b, &cfg, img, sizeof(img), &e), 0);
    CHECK_EQ(e.rip, 0x200080);
    CHECK_EQ(e.rbx, 0x92000); /* the loader's data sits at 0x90000-0x9efff */
    CHECK_EQ(e.rsp, 0x91000);
    uint8_t *p = bus_ram_ptr(&b, 0x200000, sizeof(img) + 0x1000);
    CHECK(memcmp(p, img, sizeof(img)) == 0);
    CHECK_EQ(p[sizeof(img)], 0);
    CHECK_EQ(p[sizeof(img) + 0xfff], 0);
    CHECK_EQ(p[sizeof(img) + 0x1000], 0xee); /* nothing past bss_end */
    uint8_t *mbi = bus_ram_ptr(&b, 0x92000, 64);
    char *cl = (char *)bus_ram_ptr(&b, get32(mbi + 16), 8);
    CHECK(cl && strcmp(cl, "aout") == 0); /* just the kernel path */
    CHECK_EQ(get32(mbi) & (1 << 3), 0);   /* no modules */

    struct capture c;
    /* load_end_addr below load_addr */
    put32(h + 20, 0x100000);
    capture_begin(&c);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, sizeof(img), &e), -1);
    capture_end(&c);
    /* load_end_addr past the end of the file */
    put32(h + 20, 0x300000);
    capture_begin(&c);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, sizeof(img), &e), -1);
    CHECK(strstr(capture_end(&c), "truncated") != NULL);
    /* header_addr - load_addr reaches before the file start */
    put32(h + 20, 0);
    put32(h + 16, 0x100000);
    capture_begin(&c);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, sizeof(img), &e), -1);
    capture_end(&c);
    /* load outside RAM */
    put32(h + 12, 0xf0000040);
    put32(h + 16, 0xf0000000);
    put32(h + 24, 0);
    capture_begin(&c);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, sizeof(img), &e), -1);
    CHECK(strstr(capture_end(&c), "outside guest RAM") != NULL);
    /* over the loader's own data */
    put32(h + 12, 0x9ee40);
    put32(h + 16, 0x9ee00);
    capture_begin(&c);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, sizeof(img), &e), -1);
    CHECK(strstr(capture_end(&c), "overlaps") != NULL);
    /* over the IVT page */
    put32(h + 12, 0x40);
    put32(h + 16, 0);
    capture_begin(&c);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, sizeof(img), &e), -1);
    capture_end(&c);
    /* low memory is free for the image (kvm-unit-tests realmode.flat loads
     * at 0x8000), the Linux loader's 0x5000-0x2ffff included */
    put32(h + 12, 0x8040);
    put32(h + 16, 0x8000);
    put32(h + 28, 0x8080);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, sizeof(img), &e), 0);
    CHECK_EQ(e.rip, 0x8080);
    CHECK(memcmp(bus_ram_ptr(&b, 0x8000, sizeof(img)), img, sizeof(img)) == 0);
    mbi = bus_ram_ptr(&b, e.rbx, 64);
    CHECK(get32(mbi + 16) >= 0x90000 && get32(mbi + 16) < 0x9f000);
    CHECK(e.gdt_base >= 0x90000 && e.gdt_base < 0x9f000);
    bus_destroy(&b);
}

TEST(boot_multiboot_bad_headers)
{
    struct bus b;
    CHECK_EQ(bus_init(&b, 16 * MiB), 0);
    static uint8_t img[MB_SEG_OFF + MB_SEG_FILESZ];
    struct boot_config cfg = { "mb", NULL, NULL, 0, NULL, 0 };
    struct boot_entry e;
    struct capture c;
    size_t len;

    len = make_mb_elf32(img);
    put32(img + 0x108, 0); /* bad checksum: not recognised */
    CHECK_EQ(boot_multiboot(&b, &cfg, img, len, &e), 1);

    len = make_mb_elf32(img);
    memmove(img + 0x102, img + 0x100, 12); /* not 4-byte aligned */
    memset(img + 0x100, 0, 2);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, len, &e), 1);

    len = make_mb_elf32(img);
    put32(img + 0x104, 0x8);               /* unknown required flag bit 3 */
    put32(img + 0x108, (uint32_t)-(0x1BADB002u + 0x8u));
    capture_begin(&c);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, len, &e), -1);
    CHECK(strstr(capture_end(&c), "unsupported") != NULL);

    len = make_mb_elf32(img);
    put32(img + 0x1c, 0xfffffff0); /* e_phoff far outside */
    capture_begin(&c);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, len, &e), -1);
    capture_end(&c);

    len = make_mb_elf32(img);
    put16(img + 0x2c, 0xffff); /* e_phnum too large */
    capture_begin(&c);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, len, &e), -1);
    capture_end(&c);

    len = make_mb_elf32(img);
    put32(img + 52 + 16, 0x10000); /* p_filesz past EOF */
    put32(img + 52 + 20, 0x10000);
    capture_begin(&c);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, len, &e), -1);
    capture_end(&c);

    len = make_mb_elf32(img);
    put32(img + 52 + 12, 0xfffff000); /* p_paddr outside RAM, wraps */
    capture_begin(&c);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, len, &e), -1);
    capture_end(&c);

    len = make_mb_elf32(img);
    put32(img + 52 + 16, MB_SEG_MEMSZ + 1); /* filesz > memsz */
    capture_begin(&c);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, len, &e), -1);
    capture_end(&c);

    /* Truncated ELF header behind a valid Multiboot header */
    len = make_mb_elf32(img);
    capture_begin(&c);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, 0x10c, &e), -1);
    capture_end(&c);

    /* Multiboot header but neither ELF nor address fields */
    len = make_mb_elf32(img);
    img[0] = 0;
    capture_begin(&c);
    CHECK_EQ(boot_multiboot(&b, &cfg, img, len, &e), -1);
    capture_end(&c);
    bus_destroy(&b);
}

/* ---- ELF64 --------------------------------------------------------------- */

TEST(boot_elf64)
{
    struct bus b;
    CHECK_EQ(bus_init(&b, 32 * MiB), 0);
    static uint8_t img[E64_OFF + 0x100];
    size_t len = make_elf64(img);
    char kpath[64];
    tmpfile_with(kpath, img, len);
    memset(bus_ram_ptr(&b, E64_PADDR, 0x2000), 0xcc, 0x2000);
    struct boot_config cfg = { kpath, NULL, "hello=1", 0, NULL, 0 };
    struct boot_entry e;
    CHECK_EQ(boot_load(&b, &cfg, &e), 0);
    CHECK_EQ(e.mode, BOOT_MODE_LONG64);
    CHECK_EQ(e.rip, E64_PADDR + 0x40); /* virtual entry translated */
    CHECK_EQ(e.rsi, 0x7000);
    CHECK_EQ(e.cs_sel, 0x10);
    CHECK_EQ(walk(&b, e.cr3, 0x12345678), 0x12345678);
    CHECK_EQ(walk(&b, e.cr3, e.rip), e.rip);
    uint8_t *p = bus_ram_ptr(&b, E64_PADDR, 0x2000);
    CHECK(memcmp(p, img + E64_OFF, 0x100) == 0);
    CHECK_EQ(p[0x100], 0);
    CHECK_EQ(p[0x1fff], 0);
    uint8_t *zp = bus_ram_ptr(&b, 0x7000, 4096);
    CHECK(memcmp(zp + 0x202, "HdrS", 4) == 0);
    char *cl = (char *)bus_ram_ptr(&b, get32(zp + 0x228), 8);
    CHECK(cl && strcmp(cl, "hello=1") == 0);
    CHECK_EQ(zp[0x1e8], 4);
    unlink(kpath);
    bus_destroy(&b);
}

TEST(boot_elf64_bad)
{
    struct bus b;
    CHECK_EQ(bus_init(&b, 32 * MiB), 0);
    static uint8_t img[E64_OFF + 0x100];
    struct boot_config cfg = { "e64", NULL, NULL, 0, NULL, 0 };
    struct boot_entry e;
    struct capture c;
    size_t len;

    len = make_elf64(img);
    put64(img + 0x20, 0xffffffffffffff00ull); /* e_phoff */
    capture_begin(&c);
    CHECK_EQ(boot_elf64(&b, &cfg, img, len, &e), -1);
    capture_end(&c);

    len = make_elf64(img);
    put64(img + 64 + 0x08, 0xfffffffffffff000ull); /* p_offset */
    capture_begin(&c);
    CHECK_EQ(boot_elf64(&b, &cfg, img, len, &e), -1);
    capture_end(&c);

    len = make_elf64(img);
    put64(img + 64 + 0x18, 0xfffffffffffff000ull); /* p_paddr: wraps */
    capture_begin(&c);
    CHECK_EQ(boot_elf64(&b, &cfg, img, len, &e), -1);
    capture_end(&c);

    len = make_elf64(img);
    put64(img + 64 + 0x28, ~0ull); /* p_memsz huge */
    capture_begin(&c);
    CHECK_EQ(boot_elf64(&b, &cfg, img, len, &e), -1);
    capture_end(&c);

    len = make_elf64(img);
    put16(img + 18, 3); /* wrong machine */
    capture_begin(&c);
    CHECK_EQ(boot_elf64(&b, &cfg, img, len, &e), -1);
    capture_end(&c);

    len = make_elf64(img);
    put32(img + 64, 4); /* no PT_LOAD */
    capture_begin(&c);
    CHECK_EQ(boot_elf64(&b, &cfg, img, len, &e), -1);
    CHECK(strstr(capture_end(&c), "no loadable") != NULL);

    len = make_elf64(img);
    capture_begin(&c);
    CHECK_EQ(boot_elf64(&b, &cfg, img, 40, &e), -1); /* truncated header */
    capture_end(&c);
    CHECK_EQ(boot_elf64(&b, &cfg, img, 3, &e), 1);
    bus_destroy(&b);
}

/* ---- boot_load errors and robustness ------------------------------------- */

TEST(boot_load_errors)
{
    struct bus b;
    CHECK_EQ(bus_init(&b, 16 * MiB), 0);
    struct boot_entry e;
    struct capture c;

    struct boot_config cfg = { "/nonexistent/nestvm-kernel", NULL, NULL, 0, NULL, 0 };
    capture_begin(&c);
    CHECK_EQ(boot_load(&b, &cfg, &e), -1);
    const char *msg = capture_end(&c);
    CHECK(strcmp(msg, "nestvm: kernel /nonexistent/nestvm-kernel: No such file or directory\n") == 0);

    char kpath[64];
    uint8_t junk[5000];
    for (size_t i = 0; i < sizeof(junk); i++)
        junk[i] = (uint8_t)(i * 31 + 7);
    tmpfile_with(kpath, junk, sizeof(junk));
    cfg.kernel_path = kpath;
    capture_begin(&c);
    CHECK_EQ(boot_load(&b, &cfg, &e), -1);
    msg = capture_end(&c);
    CHECK(strstr(msg, "not a bzImage, Multiboot or ELF64") != NULL);
    CHECK_EQ(count_lines(msg), 1);
    unlink(kpath);

    tmpfile_with(kpath, junk, 0); /* empty file */
    capture_begin(&c);
    CHECK_EQ(boot_load(&b, &cfg, &e), -1);
    CHECK(strstr(capture_end(&c), "empty") != NULL);
    unlink(kpath);

    /* A missing initrd is reported with its own path. */
    static uint8_t img[BZ_PM_OFF + BZ_PM_LEN];
    size_t len = make_bzimage(img, 1, 0x1000000, 0x300000);
    cfg.initrd_path = "/nonexistent/initrd";
    capture_begin(&c);
    CHECK_EQ(boot_linux(&b, &cfg, img, len, &e), -1);
    CHECK(strcmp(capture_end(&c), "nestvm: initrd /nonexistent/initrd: No such file or directory\n") == 0);
    bus_destroy(&b);
}

static uint32_t rng_next(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Truncations and random mutations of valid images never crash (the copy
 * has exactly the image's size so ASan catches any over-read). */
TEST(boot_fuzz_headers)
{
    struct bus b;
    CHECK_EQ(bus_init(&b, 32 * MiB), 0);
    static uint8_t bz[BZ_PM_OFF + BZ_PM_LEN], mb[MB_SEG_OFF + MB_SEG_FILESZ], e64[E64_OFF + 0x100];
    const struct {
        uint8_t *img;
        size_t len;
    } imgs[3] = {
        { bz, make_bzimage(bz, 1, 0x1000000, 0x300000) },
        { mb, make_mb_elf32(mb) },
        { e64, make_elf64(e64) },
    };
    struct boot_config cfg = { "fuzz", NULL, "x", 0, NULL, 0 };
    struct boot_entry e;
    struct capture c;
    uint32_t seed = 12345;
    int bad = 0, ok = 0;
    capture_begin(&c);
    for (int k = 0; k < 3; k++) {
        for (size_t n = 0; n < imgs[k].len; n += (n < 0x400 ? 1 : 61)) {
            uint8_t *copy = malloc(n ? n : 1);
            memcpy(copy, imgs[k].img, n);
            int r1 = boot_linux(&b, &cfg, copy, n, &e);
            int r2 = boot_multiboot(&b, &cfg, copy, n, &e);
            int r3 = boot_elf64(&b, &cfg, copy, n, &e);
            bad += r1 < -1 || r1 > 1 || r2 < -1 || r2 > 1 || r3 < -1 || r3 > 1;
            free(copy);
        }
        for (int it = 0; it < 3000; it++) {
            size_t n = imgs[k].len;
            uint8_t *copy = malloc(n);
            memcpy(copy, imgs[k].img, n);
            int muts = 1 + (int)(rng_next(&seed) % 8);
            for (int m = 0; m < muts; m++) {
                size_t pos = rng_next(&seed) % (rng_next(&seed) & 1 ? 0x300 : n);
                uint32_t v = rng_next(&seed);
                copy[pos] = (uint8_t)(v & 0x100 ? 0xff : v & 0x200 ? 0 : v);
            }
            int r = k == 0 ? boot_linux(&b, &cfg, copy, n, &e)
                  : k == 1 ? boot_multiboot(&b, &cfg, copy, n, &e)
                           : boot_elf64(&b, &cfg, copy, n, &e);
            bad += r < -1 || r > 1;
            ok += r == 0;
            if (r == 0) /* whatever was accepted has a sane entry state */
                bad += e.gdt_base != (k == 1 ? 0x91000 : 0x6000) ||
                       (e.mode == BOOT_MODE_LONG64 && e.cr3 != 0x9000);
            free(copy);
        }
    }
    capture_end(&c);
    CHECK_EQ(bad, 0);
    CHECK(ok > 0); /* mutations of padding still load */
    bus_destroy(&b);
}
