/*
 * boot.c — boot_load() and the helpers the loaders share: reading the kernel
 * and initrd files, the E820 map, finding room in guest RAM, writing the
 * command line.
 *
 * boot_load() reads the whole kernel file into a host buffer and offers it to
 * the loaders in turn (bzImage, Multiboot, ELF64).  Each returns 1 for "not my
 * format", so only the first that recognises the image reports errors.
 * The initrd is read straight into guest RAM once a loader has chosen where.
 */
#include "boot/boot_priv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int boot_err(const struct boot_config *cfg, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "nestvm: kernel %s: %s\n",
            cfg && cfg->kernel_path ? cfg->kernel_path : "(image)", msg);
    return -1;
}

int boot_e820(const struct bus *bus, const struct boot_config *cfg, struct e820_range *out,
              int max)
{
    int n = 0;
    if (cfg && cfg->e820 && cfg->ne820 > 0) {
        for (int i = 0; i < cfg->ne820 && n < max; i++)
            out[n++] = cfg->e820[i];
        return n;
    }
    /* Default PC map: 639 KiB conventional memory, EBDA and BIOS area
     * reserved, extended memory from 1 MiB, the rest above 4 GiB. */
    if (bus->low_ram <= BOOT_HIGH_START) {
        uint64_t top = bus->low_ram < 0x9fc00 ? bus->low_ram : 0x9fc00;
        if (n < max && top)
            out[n++] = (struct e820_range){ 0, top, 1 };
        return n;
    }
    const struct e820_range def[] = {
        { 0, 0x9fc00, 1 },
        { 0x9fc00, 0x400, 2 },
        { 0xf0000, 0x10000, 2 },
        { BOOT_HIGH_START, bus->low_ram - BOOT_HIGH_START, 1 },
        { BOOT_4G, bus->ram_size - bus->low_ram, 1 },
    };
    for (unsigned i = 0; i < sizeof(def) / sizeof(def[0]) && n < max; i++)
        if (def[i].size)
            out[n++] = def[i];
    return n;
}

/* Intersect usable E820 ranges with the two RAM windows of the bus and call
 * fn on each resulting [lo, hi).  Stops when fn returns true. */
static bool for_each_usable(const struct bus *bus, const struct boot_config *cfg,
                            bool (*fn)(void *ctx, uint64_t lo, uint64_t hi), void *ctx)
{
    struct e820_range map[BOOT_MAX_E820];
    int n = boot_e820(bus, cfg, map, BOOT_MAX_E820);
    const uint64_t ram[2][2] = {
        { 0, bus->low_ram },
        { BOOT_4G, BOOT_4G + (bus->ram_size - bus->low_ram) },
    };
    for (int i = 0; i < n; i++) {
        if (map[i].type != 1 || map[i].size == 0)
            continue;
        uint64_t s = map[i].addr;
        uint64_t e = map[i].addr + map[i].size;
        if (e < s)
            e = UINT64_MAX; /* clamp a wrapping entry */
        for (int r = 0; r < 2; r++) {
            uint64_t lo = s > ram[r][0] ? s : ram[r][0];
            uint64_t hi = e < ram[r][1] ? e : ram[r][1];
            if (lo < hi && fn(ctx, lo, hi))
                return true;
        }
    }
    return false;
}

struct range_q {
    uint64_t addr, len;
};

static bool covers(void *ctx, uint64_t lo, uint64_t hi)
{
    const struct range_q *q = ctx;
    return q->addr >= lo && q->addr < hi && q->len <= hi - q->addr;
}

bool boot_range_usable(const struct bus *bus, const struct boot_config *cfg, uint64_t addr,
                       uint64_t len)
{
    struct range_q q = { addr, len ? len : 1 };
    if (!bus_ram_ptr(bus, addr, q.len))
        return false;
    return for_each_usable(bus, cfg, covers, &q);
}

bool boot_overlaps(uint64_t addr, uint64_t len, uint64_t lo, uint64_t hi)
{
    if (len == 0)
        return false;
    uint64_t end = addr + len;
    if (end < addr)
        end = UINT64_MAX;
    return addr < hi && lo < end;
}

bool boot_overlaps_low(uint64_t addr, uint64_t len)
{
    return boot_overlaps(addr, len, BOOT_LOW_START, BOOT_LOW_END);
}

struct place_q {
    uint64_t size, min, limit, align;
    bool high, found;
    uint64_t best;
};

static bool place(void *ctx, uint64_t lo, uint64_t hi)
{
    struct place_q *q = ctx;
    if (lo < q->min)
        lo = q->min;
    if (hi > q->limit)
        hi = q->limit;
    if (lo >= hi || hi - lo < q->size)
        return false;
    uint64_t a;
    if (q->high) {
        a = (hi - q->size) & ~(q->align - 1);
        if (a < lo)
            return false;
        if (!q->found || a > q->best)
            q->best = a;
    } else {
        if (lo > UINT64_MAX - (q->align - 1))
            return false;
        a = (lo + q->align - 1) & ~(q->align - 1);
        if (a >= hi || hi - a < q->size)
            return false;
        if (!q->found || a < q->best)
            q->best = a;
    }
    q->found = true;
    return false; /* keep looking for a better candidate */
}

static bool find(const struct bus *bus, const struct boot_config *cfg, uint64_t size,
                 uint64_t min, uint64_t limit, uint64_t align, bool high, uint64_t *addr)
{
    if (align == 0 || (align & (align - 1)))
        return false;
    struct place_q q = { size ? size : 1, min, limit, align, high, false, 0 };
    for_each_usable(bus, cfg, place, &q);
    if (q.found)
        *addr = q.best;
    return q.found;
}

bool boot_find_high(const struct bus *bus, const struct boot_config *cfg, uint64_t size,
                    uint64_t min, uint64_t limit, uint64_t align, uint64_t *addr)
{
    return find(bus, cfg, size, min, limit, align, true, addr);
}

bool boot_find_low(const struct bus *bus, const struct boot_config *cfg, uint64_t size,
                   uint64_t min, uint64_t limit, uint64_t align, uint64_t *addr)
{
    return find(bus, cfg, size, min, limit, align, false, addr);
}

bool boot_copy(struct bus *bus, uint64_t gpa, const void *src, uint64_t len)
{
    if (len == 0)
        return true;
    uint8_t *p = bus_ram_ptr(bus, gpa, len);
    if (!p)
        return false;
    memcpy(p, src, len);
    return true;
}

bool boot_zero(struct bus *bus, uint64_t gpa, uint64_t len)
{
    if (len == 0)
        return true;
    uint8_t *p = bus_ram_ptr(bus, gpa, len);
    if (!p)
        return false;
    memset(p, 0, len);
    return true;
}

size_t boot_write_cmdline(struct bus *bus, const char *prefix, const char *cmdline,
                          size_t max_len)
{
    return boot_write_cmdline_at(bus, BOOT_CMDLINE_ADDR, BOOT_CMDLINE_MAX, prefix, cmdline,
                                 max_len);
}

size_t boot_write_cmdline_at(struct bus *bus, uint64_t gpa, uint64_t cap, const char *prefix,
                             const char *cmdline, size_t max_len)
{
    uint8_t *p = cap ? bus_ram_ptr(bus, gpa, cap) : NULL;
    if (!p)
        return 0;
    if (max_len > cap - 1)
        max_len = cap - 1;
    size_t n = 0;
    const char *parts[2] = { prefix, cmdline };
    for (int i = 0; i < 2; i++) {
        const char *s = parts[i];
        if (!s || !*s)
            continue;
        if (n && n < max_len)
            p[n++] = ' ';
        for (; *s && n < max_len; s++)
            p[n++] = (uint8_t)*s;
    }
    p[n] = 0;
    return n;
}

/* Read exactly len bytes from fd at offset 0 into dst. */
static int read_all(int fd, uint8_t *dst, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, dst + done, len - done, (off_t)done);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0) {
            errno = EIO; /* file shrank under us */
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

int boot_load_initrd(struct bus *bus, const struct boot_config *cfg, uint64_t limit,
                     uint64_t kern_lo, uint64_t kern_hi, uint64_t *addr, uint64_t *size)
{
    *addr = *size = 0;
    if (!cfg->initrd_path)
        return 0;
    const char *path = cfg->initrd_path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        fprintf(stderr, "nestvm: initrd %s: %s\n", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        fprintf(stderr, "nestvm: initrd %s: not a regular file\n", path);
        close(fd);
        return -1;
    }
    uint64_t len = (uint64_t)st.st_size;
    if (len == 0) {
        close(fd);
        return 0;
    }
    /* Highest place first above the kernel, else below it. */
    uint64_t a;
    bool ok = len <= bus->ram_size;
    if (ok && !boot_find_high(bus, cfg, len, kern_hi, limit, 4096, &a))
        ok = boot_find_high(bus, cfg, len, BOOT_HIGH_START, kern_lo < limit ? kern_lo : limit,
                            4096, &a);
    if (!ok) {
        fprintf(stderr,
                "nestvm: initrd %s: %llu bytes do not fit in guest RAM below 0x%llx next to "
                "the kernel\n",
                path, (unsigned long long)len, (unsigned long long)limit);
        close(fd);
        return -1;
    }
    uint8_t *dst = bus_ram_ptr(bus, a, len);
    if (!dst || read_all(fd, dst, len) < 0) {
        fprintf(stderr, "nestvm: initrd %s: %s\n", path, strerror(dst ? errno : EFAULT));
        close(fd);
        return -1;
    }
    close(fd);
    *addr = a;
    *size = len;
    return 0;
}

int boot_load(struct bus *bus, const struct boot_config *cfg, struct boot_entry *out)
{
    memset(out, 0, sizeof(*out));
    if (!cfg->kernel_path)
        return boot_err(cfg, "no kernel given");
    int fd = open(cfg->kernel_path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return boot_err(cfg, "%s", strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return boot_err(cfg, "not a regular file");
    }
    if (st.st_size == 0) {
        close(fd);
        return boot_err(cfg, "empty file");
    }
    if ((uint64_t)st.st_size > bus->ram_size) {
        close(fd);
        return boot_err(cfg, "file (%lld bytes) is larger than guest RAM", (long long)st.st_size);
    }
    size_t len = (size_t)st.st_size;
    uint8_t *img = malloc(len);
    if (!img) {
        close(fd);
        return boot_err(cfg, "out of memory reading the file");
    }
    if (read_all(fd, img, len) < 0) {
        int e = errno;
        free(img);
        close(fd);
        return boot_err(cfg, "%s", strerror(e));
    }
    close(fd);

    int r = boot_linux(bus, cfg, img, len, out);
    if (r == 1)
        r = boot_multiboot(bus, cfg, img, len, out);
    if (r == 1)
        r = boot_elf64(bus, cfg, img, len, out);
    if (r == 1)
        r = boot_err(cfg, "not a bzImage, Multiboot or ELF64 kernel");
    free(img);
    return r;
}
