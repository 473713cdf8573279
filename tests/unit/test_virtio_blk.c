/*
 * test_virtio_blk.c — virtio-blk behind the virtio-mmio transport, driven
 * through the bus exactly as a guest driver would: status negotiation via
 * the registers, rings built in guest RAM, QueueNotify, interrupt line.
 */
#include "test.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hw/bus.h"
#include "hw/virtio_blk.h"
#include "hw/virtio_mmio.h"

#define BASE 0xd0000000ull
#define RAM  (16ull << 20)
#define NUM  8
#define DESC  0x10000ull
#define AVAIL 0x11000ull
#define USED  0x12000ull
#define IMG_SECTORS 128

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint16_t get16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t get32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }

struct irq_rec {
    int level;
    unsigned gsi;
    int changes;
};

static void irq_rec_set(void *ctx, unsigned gsi, int level)
{
    struct irq_rec *r = ctx;
    r->level = level;
    r->gsi = gsi;
    r->changes++;
}

struct env {
    struct bus bus;
    struct virtio_blk blk;
    struct virtio_mmio mmio;
    struct irq_rec irq;
    struct irq_sink sink;
    char path[64];
    uint16_t avail_idx, used_seen, next_desc;
};

static uint8_t img_byte(uint64_t i) { return (uint8_t)(i * 11 + (i >> 9)); }

static uint32_t rd(struct env *v, uint64_t off) { return (uint32_t)bus_mmio_read(&v->bus, BASE + off, 4); }
static void wr(struct env *v, uint64_t off, uint32_t val) { bus_mmio_write(&v->bus, BASE + off, val, 4); }
static uint8_t *ram(struct env *v, uint64_t gpa, uint64_t len) { return bus_ram_ptr(&v->bus, gpa, len); }

/* Negotiate `feat` (as the driver), set up queue 0 and, if driver_ok, set
 * DRIVER_OK; returns the status register. */
static uint32_t drv_setup(struct env *v, uint64_t feat, bool driver_ok)
{
    wr(v, VIRTIO_MMIO_STATUS, 0);
    wr(v, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(v, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(v, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)feat);
    wr(v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(v, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(feat >> 32));
    wr(v, VIRTIO_MMIO_STATUS, 1 | 2 | VIRTIO_STATUS_FEATURES_OK);
    if (!(rd(v, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        return rd(v, VIRTIO_MMIO_STATUS);
    memset(ram(v, DESC, 0x3000), 0, 0x3000);
    wr(v, VIRTIO_MMIO_QUEUE_SEL, 0);
    wr(v, VIRTIO_MMIO_QUEUE_NUM, NUM);
    wr(v, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC);
    wr(v, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    wr(v, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL);
    wr(v, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
    wr(v, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED);
    wr(v, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
    wr(v, VIRTIO_MMIO_QUEUE_READY, 1);
    if (driver_ok)
        wr(v, VIRTIO_MMIO_STATUS, 1 | 2 | 8 | VIRTIO_STATUS_DRIVER_OK);
    v->avail_idx = v->used_seen = v->next_desc = 0;
    return rd(v, VIRTIO_MMIO_STATUS);
}

static uint32_t drv_init(struct env *v, uint64_t feat) { return drv_setup(v, feat, true); }

#define F_BASE (1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_BLK_F_FLUSH | 1ull << VIRTIO_BLK_F_BLK_SIZE)

static int env_open(struct env *v, bool readonly)
{
    memset(v, 0, sizeof(*v));
    if (bus_init(&v->bus, RAM) < 0)
        return -1;
    strcpy(v->path, "/tmp/nestvm-vblk-XXXXXX");
    int fd = mkstemp(v->path);
    static uint8_t data[IMG_SECTORS * 512];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = img_byte(i);
    if (fd < 0 || write(fd, data, sizeof(data)) != (ssize_t)sizeof(data))
        return -1;
    close(fd);
    if (virtio_blk_open(&v->blk, v->path, readonly) < 0)
        return -1;
    v->sink = (struct irq_sink){ irq_rec_set, &v->irq };
    return virtio_mmio_init(&v->mmio, &v->bus, BASE, &v->sink, 5, &v->blk.ops, &v->blk);
}

static void env_close(struct env *v)
{
    virtio_blk_close(&v->blk);
    unlink(v->path);
    bus_destroy(&v->bus);
}

struct dseg {
    uint64_t addr;
    uint32_t len;
    uint16_t flags; /* VIRTQ_DESC_F_WRITE / INDIRECT */
};

/* Put a chain in the descriptor table, publish it and notify. Returns head. */
static uint16_t submit(struct env *v, const struct dseg *s, int n)
{
    uint8_t *dt = ram(v, DESC, 16 * NUM);
    uint16_t head = v->next_desc;
    for (int i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % NUM);
        uint8_t *d = dt + 16 * idx;
        put64(d, s[i].addr);
        put32(d + 8, s[i].len);
        put16(d + 12, (uint16_t)(s[i].flags | (i + 1 < n ? VIRTQ_DESC_F_NEXT : 0)));
        put16(d + 14, (uint16_t)((idx + 1) % NUM));
    }
    v->next_desc = (uint16_t)((head + n) % NUM);
    uint8_t *av = ram(v, AVAIL, 6 + 2 * NUM);
    put16(av + 4 + 2 * (v->avail_idx % NUM), head);
    v->avail_idx++;
    put16(av + 2, v->avail_idx);
    wr(v, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    return head;
}

static uint16_t used_idx(struct env *v) { return get16(ram(v, USED + 2, 2)); }
static uint32_t used_id(struct env *v, uint16_t i) { return get32(ram(v, USED + 4 + 8 * (i % NUM), 4)); }
static uint32_t used_len(struct env *v, uint16_t i) { return get32(ram(v, USED + 8 + 8 * (i % NUM), 4)); }

static void put_hdr(struct env *v, uint64_t gpa, uint32_t type, uint64_t sector)
{
    uint8_t *h = ram(v, gpa, 16);
    put32(h, type);
    put32(h + 4, 0);
    put64(h + 8, sector);
}

#define HDR  0x20000ull
#define DATA 0x21000ull
#define STAT 0x23000ull

/* One simple request: header, data (dir given by type), status. */
static uint8_t request(struct env *v, uint32_t type, uint64_t sector, uint64_t data, uint32_t len)
{
    put_hdr(v, HDR, type, sector);
    *ram(v, STAT, 1) = 0xee;
    uint16_t wflag = type == VIRTIO_BLK_T_OUT ? 0 : VIRTQ_DESC_F_WRITE;
    struct dseg s[3] = { { HDR, 16, 0 }, { data, len, wflag }, { STAT, 1, VIRTQ_DESC_F_WRITE } };
    if (len)
        submit(v, s, 3);
    else
        submit(v, (struct dseg[]){ s[0], s[2] }, 2);
    return *ram(v, STAT, 1);
}

static bool file_matches_pattern(const char *path, uint64_t skip_off, uint64_t skip_len)
{
    static uint8_t buf[IMG_SECTORS * 512];
    int fd = open(path, O_RDONLY);
    ssize_t n = read(fd, buf, sizeof(buf));
    close(fd);
    if (n != (ssize_t)sizeof(buf))
        return false;
    for (uint64_t i = 0; i < sizeof(buf); i++)
        if ((i < skip_off || i >= skip_off + skip_len) && buf[i] != img_byte(i))
            return false;
    return true;
}

TEST(virtio_mmio_registers_and_negotiation)
{
    struct env v;
    CHECK_EQ(env_open(&v, false), 0);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_VERSION), 2);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_DEVICE_ID), 2);
    wr(&v, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    uint32_t f0 = rd(&v, VIRTIO_MMIO_DEVICE_FEATURES);
    wr(&v, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    uint32_t f1 = rd(&v, VIRTIO_MMIO_DEVICE_FEATURES);
    CHECK_EQ(f1 & 1, 1);                              /* VERSION_1 */
    CHECK(f0 & (1u << VIRTIO_BLK_F_FLUSH));
    CHECK(f0 & (1u << VIRTIO_BLK_F_BLK_SIZE));
    CHECK(f0 & (1u << VIRTIO_BLK_F_SEG_MAX));
    CHECK(f0 & (1u << VIRTIO_F_INDIRECT_DESC));
    CHECK_EQ(f0 & (1u << VIRTIO_BLK_F_RO), 0);
    wr(&v, VIRTIO_MMIO_QUEUE_SEL, 0);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_QUEUE_NUM_MAX), 256);
    wr(&v, VIRTIO_MMIO_QUEUE_SEL, 1);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_QUEUE_NUM_MAX), 0); /* only one queue */

    /* Config space: capacity (64-bit and as two halves), seg_max, blk_size. */
    CHECK_EQ(bus_mmio_read(&v.bus, BASE + 0x100, 8), IMG_SECTORS);
    CHECK_EQ(rd(&v, 0x100), IMG_SECTORS);
    CHECK_EQ(rd(&v, 0x104), 0);
    CHECK_EQ(rd(&v, 0x10c), 254);
    CHECK_EQ(rd(&v, 0x114), 512);
    CHECK_EQ(bus_mmio_read(&v.bus, BASE + 0x114, 2), 512);
    CHECK_EQ(bus_mmio_read(&v.bus, BASE + 0x1fc, 4), 0);

    /* Non-32-bit register accesses read 0. */
    CHECK_EQ(bus_mmio_read(&v.bus, BASE, 1), 0);
    CHECK_EQ(bus_mmio_read(&v.bus, BASE + 2, 4), 0);

    /* Without VERSION_1, FEATURES_OK does not stick; nor with unknown bits. */
    CHECK_EQ(drv_init(&v, 1ull << VIRTIO_BLK_F_FLUSH) & VIRTIO_STATUS_FEATURES_OK, 0);
    CHECK_EQ(drv_init(&v, F_BASE | 1ull << 40) & VIRTIO_STATUS_FEATURES_OK, 0);
    uint32_t st = drv_init(&v, F_BASE);
    CHECK_EQ(st, 1 | 2 | 4 | 8);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_QUEUE_READY), 1);
    /* Features are frozen after FEATURES_OK; queue regs while ready too. */
    wr(&v, VIRTIO_MMIO_QUEUE_NUM, 4);
    CHECK_EQ(v.mmio.vq[0].num, NUM);

    /* Reset clears everything. */
    wr(&v, VIRTIO_MMIO_STATUS, 0);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_STATUS), 0);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_QUEUE_READY), 0);

    char buf[64];
    virtio_mmio_cmdline(&v.mmio, buf, sizeof(buf));
    CHECK(strcmp(buf, "virtio_mmio.device=512@0xd0000000:5") == 0);
    env_close(&v);
}

TEST(virtio_blk_read_write_flush_id)
{
    struct env v;
    CHECK_EQ(env_open(&v, false), 0);
    CHECK_EQ(drv_init(&v, F_BASE), 15);

    /* Notifications before DRIVER_OK would be ignored; now it is set. */
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, 3, DATA, 1024), VIRTIO_BLK_S_OK);
    CHECK_EQ(used_idx(&v), 1);
    CHECK_EQ(used_id(&v, 0), 0);
    CHECK_EQ(used_len(&v, 0), 1025);
    uint8_t *d = ram(&v, DATA, 1024);
    int same = 1;
    for (int i = 0; i < 1024; i++)
        same &= d[i] == img_byte(3 * 512 + i);
    CHECK(same);
    /* Level-triggered interrupt until acknowledged. */
    CHECK_EQ(v.irq.level, 1);
    CHECK_EQ(v.irq.gsi, 5);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_INTERRUPT_STATUS), 1);
    wr(&v, VIRTIO_MMIO_INTERRUPT_ACK, 1);
    CHECK_EQ(v.irq.level, 0);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_INTERRUPT_STATUS), 0);

    /* Write sector 5, then read it back from the file. */
    uint8_t *w = ram(&v, DATA, 512);
    for (int i = 0; i < 512; i++)
        w[i] = (uint8_t)(0xa5 ^ i);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_OUT, 5, DATA, 512), VIRTIO_BLK_S_OK);
    CHECK_EQ(used_idx(&v), 2);
    CHECK_EQ(used_id(&v, 1), 3);
    CHECK_EQ(used_len(&v, 1), 1);
    uint8_t back[512];
    int fd = open(v.path, O_RDONLY);
    CHECK_EQ(pread(fd, back, 512, 5 * 512), 512);
    close(fd);
    CHECK(memcmp(back, w, 512) == 0);
    CHECK(file_matches_pattern(v.path, 5 * 512, 512));

    CHECK_EQ(request(&v, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
    CHECK_EQ(used_idx(&v), 3);

    memset(ram(&v, DATA, 20), 0, 20);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_GET_ID, 0, DATA, 20), VIRTIO_BLK_S_OK);
    CHECK(memcmp(ram(&v, DATA, 16), "nestvm-vblk-", 12) == 0);
    CHECK_EQ(used_len(&v, 3), 21);

    CHECK_EQ(request(&v, 99, 0, DATA, 512), VIRTIO_BLK_S_UNSUPP);
    env_close(&v);
}

TEST(virtio_blk_split_buffers_and_errors)
{
    struct env v;
    CHECK_EQ(env_open(&v, false), 0);
    CHECK_EQ(drv_init(&v, F_BASE), 15);

    /* Header split in two, data in three odd-sized pieces. */
    put_hdr(&v, HDR, VIRTIO_BLK_T_IN, 10);
    memset(ram(&v, DATA, 0x2000), 0, 0x2000);
    struct dseg s[6] = {
        { HDR, 5, 0 }, { HDR + 5, 11, 0 },
        { DATA, 100, VIRTQ_DESC_F_WRITE }, { DATA + 0x400, 412, VIRTQ_DESC_F_WRITE },
        { DATA + 0x800, 512, VIRTQ_DESC_F_WRITE }, { STAT, 1, VIRTQ_DESC_F_WRITE },
    };
    submit(&v, s, 6);
    CHECK_EQ(*ram(&v, STAT, 1), VIRTIO_BLK_S_OK);
    int same = 1;
    for (int i = 0; i < 1024; i++) {
        uint64_t g = i < 100 ? DATA + i : i < 512 ? DATA + 0x400 + (i - 100) : DATA + 0x800 + (i - 512);
        same &= *ram(&v, g, 1) == img_byte(10 * 512 + i);
    }
    CHECK(same);

    /* Out of range, not a multiple of 512, buffer outside RAM. */
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, IMG_SECTORS - 1, DATA, 1024), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, 1ull << 62, DATA, 512), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_OUT, ~0ull, DATA, 512), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, 0, DATA, 100), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, 0, 0xfffff000ull, 512), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_OUT, 0, RAM - 256, 512), VIRTIO_BLK_S_IOERR);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, 0, 0xfffffffffffffe00ull, 0x400), VIRTIO_BLK_S_IOERR);
    CHECK(file_matches_pattern(v.path, 0, 0));
    /* Header too short: IOERR in the status byte. */
    *ram(&v, STAT, 1) = 0xee;
    submit(&v, (struct dseg[]){ { HDR, 8, 0 }, { STAT, 1, VIRTQ_DESC_F_WRITE } }, 2);
    CHECK_EQ(*ram(&v, STAT, 1), VIRTIO_BLK_S_IOERR);
    /* No writable byte at all: returned with length 0, device keeps going. */
    uint16_t u = used_idx(&v);
    submit(&v, (struct dseg[]){ { HDR, 16, 0 } }, 1);
    CHECK_EQ(used_idx(&v), (uint16_t)(u + 1));
    CHECK_EQ(used_len(&v, u), 0);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, 0, DATA, 512), VIRTIO_BLK_S_OK);
    env_close(&v);
}

TEST(virtio_blk_waits_for_driver_ok)
{
    struct env v;
    CHECK_EQ(env_open(&v, false), 0);
    CHECK_EQ(drv_setup(&v, F_BASE, false), 1 | 2 | 8);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, 0, DATA, 512), 0xee);
    CHECK_EQ(used_idx(&v), 0);
    CHECK_EQ(v.irq.level, 0);
    wr(&v, VIRTIO_MMIO_STATUS, 15);
    wr(&v, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK_EQ(*ram(&v, STAT, 1), VIRTIO_BLK_S_OK);
    CHECK_EQ(used_idx(&v), 1);
    env_close(&v);
}

TEST(virtio_blk_readonly)
{
    struct env v;
    CHECK_EQ(env_open(&v, true), 0);
    wr(&v, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    CHECK(rd(&v, VIRTIO_MMIO_DEVICE_FEATURES) & (1u << VIRTIO_BLK_F_RO));
    CHECK_EQ(drv_init(&v, F_BASE | 1ull << VIRTIO_BLK_F_RO), 15);
    memset(ram(&v, DATA, 512), 0x11, 512);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_OUT, 0, DATA, 512), VIRTIO_BLK_S_IOERR);
    CHECK(file_matches_pattern(v.path, 0, 0));
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, 1, DATA, 512), VIRTIO_BLK_S_OK);
    CHECK_EQ(*ram(&v, DATA, 1), img_byte(512));
    CHECK_EQ(request(&v, VIRTIO_BLK_T_FLUSH, 0, 0, 0), VIRTIO_BLK_S_OK);
    env_close(&v);

    struct virtio_blk b;
    fflush(stderr);
    int saved = dup(2), null = open("/dev/null", O_WRONLY);
    dup2(null, 2);
    int r = virtio_blk_open(&b, "/nonexistent/disk.img", true);
    dup2(saved, 2);
    close(saved);
    close(null);
    CHECK_EQ(r, -1);
}

TEST(virtio_blk_broken_rings)
{
    struct env v;
    CHECK_EQ(env_open(&v, false), 0);
    CHECK_EQ(drv_init(&v, F_BASE), 15);
    wr(&v, VIRTIO_MMIO_INTERRUPT_ACK, 3);

    /* A chain looping 0 -> 1 -> 0: device stops, asks for a reset. */
    uint8_t *dt = ram(&v, DESC, 16 * NUM);
    put_hdr(&v, HDR, VIRTIO_BLK_T_IN, 0);
    put64(dt, HDR);
    put32(dt + 8, 16);
    put16(dt + 12, VIRTQ_DESC_F_NEXT);
    put16(dt + 14, 1);
    put64(dt + 16, DATA);
    put32(dt + 24, 512);
    put16(dt + 28, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE);
    put16(dt + 30, 0);
    uint8_t *av = ram(&v, AVAIL, 6 + 2 * NUM);
    put16(av + 4, 0);
    put16(av + 2, 1);
    wr(&v, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK(rd(&v, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CHECK(rd(&v, VIRTIO_MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    CHECK_EQ(v.irq.level, 1);
    CHECK_EQ(used_idx(&v), 0);
    /* The driver cannot clear NEEDS_RESET except by resetting. */
    wr(&v, VIRTIO_MMIO_STATUS, 15);
    CHECK(rd(&v, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    wr(&v, VIRTIO_MMIO_STATUS, 0);
    CHECK_EQ(v.irq.level, 0);
    CHECK_EQ(drv_init(&v, F_BASE), 15);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, 0, DATA, 512), VIRTIO_BLK_S_OK);

    /* Head index out of range. */
    av = ram(&v, AVAIL, 6 + 2 * NUM);
    put16(av + 4 + 2 * (v.avail_idx % NUM), NUM + 3);
    put16(av + 2, ++v.avail_idx);
    wr(&v, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK(rd(&v, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);

    /* avail->idx runs more than num ahead. */
    CHECK_EQ(drv_init(&v, F_BASE), 15);
    put16(ram(&v, AVAIL + 2, 2), 1000);
    wr(&v, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    CHECK(rd(&v, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CHECK_EQ(used_idx(&v), 0);

    /* Rings outside RAM: QueueReady does not stick. */
    wr(&v, VIRTIO_MMIO_STATUS, 0);
    wr(&v, VIRTIO_MMIO_STATUS, 1 | 2);
    wr(&v, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(&v, VIRTIO_MMIO_DRIVER_FEATURES, 1);
    wr(&v, VIRTIO_MMIO_STATUS, 1 | 2 | 8);
    wr(&v, VIRTIO_MMIO_QUEUE_NUM, NUM);
    wr(&v, VIRTIO_MMIO_QUEUE_DESC_LOW, 0xfffff000);
    wr(&v, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0xffffffff);
    wr(&v, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)AVAIL);
    wr(&v, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)USED);
    wr(&v, VIRTIO_MMIO_QUEUE_READY, 1);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_QUEUE_READY), 0);
    /* Queue size not a power of two, or above the maximum. */
    wr(&v, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)DESC);
    wr(&v, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    wr(&v, VIRTIO_MMIO_QUEUE_NUM, 6);
    wr(&v, VIRTIO_MMIO_QUEUE_READY, 1);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_QUEUE_READY), 0);
    wr(&v, VIRTIO_MMIO_QUEUE_NUM, 512);
    wr(&v, VIRTIO_MMIO_QUEUE_READY, 1);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_QUEUE_READY), 0);
    /* Notify on a queue that is not ready / does not exist: nothing. */
    wr(&v, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    wr(&v, VIRTIO_MMIO_QUEUE_NOTIFY, 3);
    env_close(&v);
}

TEST(virtio_blk_indirect)
{
    struct env v;
    CHECK_EQ(env_open(&v, false), 0);
    uint64_t f = F_BASE | 1ull << VIRTIO_F_INDIRECT_DESC;
    CHECK_EQ(drv_init(&v, f), 15);
    const uint64_t ind = 0x30000;
    uint8_t *t = ram(&v, ind, 16 * 3);
    put_hdr(&v, HDR, VIRTIO_BLK_T_IN, 7);
    struct dseg in[3] = { { HDR, 16, 0 }, { DATA, 512, VIRTQ_DESC_F_WRITE }, { STAT, 1, VIRTQ_DESC_F_WRITE } };
    for (int i = 0; i < 3; i++) {
        put64(t + 16 * i, in[i].addr);
        put32(t + 16 * i + 8, in[i].len);
        put16(t + 16 * i + 12, (uint16_t)(in[i].flags | (i < 2 ? VIRTQ_DESC_F_NEXT : 0)));
        put16(t + 16 * i + 14, (uint16_t)(i + 1));
    }
    *ram(&v, STAT, 1) = 0xee;
    submit(&v, (struct dseg[]){ { ind, 48, VIRTQ_DESC_F_INDIRECT } }, 1);
    CHECK_EQ(*ram(&v, STAT, 1), VIRTIO_BLK_S_OK);
    CHECK_EQ(*ram(&v, DATA + 9, 1), img_byte(7 * 512 + 9));
    CHECK_EQ(used_len(&v, 0), 513);

    /* A loop inside the indirect table. */
    put16(t + 16 * 2 + 12, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT);
    put16(t + 16 * 2 + 14, 0);
    submit(&v, (struct dseg[]){ { ind, 48, VIRTQ_DESC_F_INDIRECT } }, 1);
    CHECK(rd(&v, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);

    /* Nested indirect, and indirect table outside RAM. */
    CHECK_EQ(drv_init(&v, f), 15);
    put64(t, ind);
    put32(t + 8, 48);
    put16(t + 12, VIRTQ_DESC_F_INDIRECT);
    submit(&v, (struct dseg[]){ { ind, 48, VIRTQ_DESC_F_INDIRECT } }, 1);
    CHECK(rd(&v, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    CHECK_EQ(drv_init(&v, f), 15);
    submit(&v, (struct dseg[]){ { 0xfffffff0ull, 48, VIRTQ_DESC_F_INDIRECT } }, 1);
    CHECK(rd(&v, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);

    /* Indirect descriptors without the feature. */
    CHECK_EQ(drv_init(&v, F_BASE), 15);
    submit(&v, (struct dseg[]){ { ind, 48, VIRTQ_DESC_F_INDIRECT } }, 1);
    CHECK(rd(&v, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    env_close(&v);
}

TEST(virtio_blk_interrupt_suppression)
{
    struct env v;
    CHECK_EQ(env_open(&v, false), 0);
    /* VIRTQ_AVAIL_F_NO_INTERRUPT without EVENT_IDX. */
    CHECK_EQ(drv_init(&v, F_BASE), 15);
    put16(ram(&v, AVAIL, 2), VIRTQ_AVAIL_F_NO_INTERRUPT);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, 0, DATA, 512), VIRTIO_BLK_S_OK);
    CHECK_EQ(v.irq.level, 0);
    put16(ram(&v, AVAIL, 2), 0);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, 0, DATA, 512), VIRTIO_BLK_S_OK);
    CHECK_EQ(v.irq.level, 1);

    /* EVENT_IDX: interrupt only when used idx passes used_event. */
    CHECK_EQ(drv_init(&v, F_BASE | 1ull << VIRTIO_F_EVENT_IDX), 15);
    CHECK_EQ(v.irq.level, 0);
    put16(ram(&v, AVAIL + 4 + 2 * NUM, 2), 1); /* used_event = 1 */
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, 0, DATA, 512), VIRTIO_BLK_S_OK);
    CHECK_EQ(used_idx(&v), 1);
    CHECK_EQ(v.irq.level, 0);
    CHECK_EQ(get16(ram(&v, USED + 4 + 8 * NUM, 2)), 1); /* avail_event */
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, 0, DATA, 512), VIRTIO_BLK_S_OK);
    CHECK_EQ(v.irq.level, 1);
    env_close(&v);
}

TEST(virtio_mmio_register_fuzz)
{
    struct env v;
    CHECK_EQ(env_open(&v, true), 0); /* read-only: random OUTs cannot land */
    uint32_t s = 99;
    int processed = 0, broken = 0;
    static const unsigned sizes[4] = { 1, 2, 4, 8 };
    for (int i = 0; i < 200000; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        uint64_t off = (s >> 4) % VIRTIO_MMIO_SIZE;
        if (s & 1)
            off &= ~3ull;
        unsigned size = (s & 6) ? 4 : sizes[(s >> 20) & 3];
        uint64_t val = (uint64_t)s * 0x9e3779b97f4a7c15ull;
        if ((s >> 12) % 3 == 0)
            val &= 0xff;
        if ((s >> 14) % 5 == 0 && off == VIRTIO_MMIO_QUEUE_NUM)
            val = 1u << ((s >> 24) % 10);
        if ((s >> 9) & 1)
            bus_mmio_write(&v.bus, BASE + off, val, size);
        else
            (void)bus_mmio_read(&v.bus, BASE + off, size);
        /* Regularly bring the device up, scribble over the rings like a
         * hostile driver and notify. */
        if ((i & 255) == 0) {
            uint64_t f = F_BASE | (uint64_t)(s & 3) << VIRTIO_F_INDIRECT_DESC;
            drv_init(&v, f);
            uint8_t *r = ram(&v, DESC, 0x3000);
            for (int k = 0; k < 0x3000; k++) {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                /* mostly small values so indices and addresses are plausible */
                r[k] = (uint8_t)((s & 0x300) ? s % 9 : s);
            }
            for (int k = 0; k < NUM; k++) { /* some plausible descriptors */
                if ((s >> k) & 1)
                    put64(r + 16 * k, DATA + 0x200 * k);
                if ((s >> (k + 8)) & 1)
                    put16(r + AVAIL - DESC + 4 + 2 * k, (uint16_t)((s >> k) % NUM));
            }
            if (s & 0x10000)
                put16(r + AVAIL - DESC + 2, (uint16_t)(1 + (s >> 17) % NUM));
            wr(&v, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
            processed += v.mmio.vq[0].used_idx != 0;
            broken += (rd(&v, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_DEVICE_NEEDS_RESET) != 0;
        }
    }
    CHECK(processed > 0);
    CHECK(broken > 0);
    CHECK_EQ(rd(&v, VIRTIO_MMIO_MAGIC_VALUE), 0x74726976);
    /* Still usable after a reset. */
    CHECK_EQ(drv_init(&v, F_BASE), 15);
    CHECK_EQ(request(&v, VIRTIO_BLK_T_IN, 2, DATA, 512), VIRTIO_BLK_S_OK);
    CHECK_EQ(*ram(&v, DATA, 1), img_byte(1024));
    CHECK(file_matches_pattern(v.path, 0, 0));
    env_close(&v);
}
