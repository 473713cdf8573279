/*
 * virtio_blk.c — virtio block device over a raw image file (virtio 1.x spec,
 * 5.2 "Block Device").
 *
 * A request (5.2.6) is one descriptor chain: a 16-byte device-readable header
 * { le32 type; le32 reserved; le64 sector; }, the data (readable for OUT,
 * writable for IN / GET_ID), and a final device-writable status byte.  We
 * treat the readable and writable bytes as two streams, so header, data and
 * status may be split across descriptors in any way.  Each notify drains the
 * queue synchronously with pread/pwrite.
 *
 * Offered features: SEG_MAX, BLK_SIZE (512), FLUSH, and RO for read-only
 * images (then OUT fails with IOERR and the file, opened O_RDONLY, is never
 * written).  Requests outside the capacity, with data not a multiple of 512
 * bytes, or whose buffers are not guest RAM fail with IOERR; unknown types
 * get UNSUPP.
 */
#include "hw/virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define SECTOR 512u
#define HDR_LEN 16u

/* 5.2.4 struct virtio_blk_config offsets */
#define CFG_CAPACITY 0x00
#define CFG_SEG_MAX  0x0c
#define CFG_BLK_SIZE 0x14
#define CFG_SIZE     0x24

/* Linux's UIO_MAXIOV (IOV_MAX); a chain has at most VIRTQ_MAX_SEGS anyway */
#define VIRTIO_BLK_IOV_MAX 1024

/* Move len bytes between the image at file_off and the chain's data bytes
 * (writable stream for reads from the image, readable stream for writes),
 * starting `skip` bytes into that stream.  The segments are gathered into
 * one preadv/pwritev (a 1 MiB request is up to 254 guest pages: one system
 * call instead of one each).  Returns bytes moved, or -1. */
static int64_t chain_file_io(struct virtio_blk *blk, struct bus *bus, bool to_guest,
                             uint64_t skip, uint64_t len, uint64_t file_off)
{
    const struct virtq_chain *c = &blk->chain;
    struct iovec iov[VIRTQ_MAX_SEGS];
    uint64_t gpa[VIRTQ_MAX_SEGS], glen[VIRTQ_MAX_SEGS];
    unsigned niov = 0;
    uint64_t total = 0;
    for (unsigned s = 0; s < c->nseg && total < len; s++) {
        const struct virtq_seg *g = &c->seg[s];
        if (g->write != to_guest)
            continue;
        if (skip >= g->len) {
            skip -= g->len;
            continue;
        }
        uint64_t n = g->len - skip;
        if (n > len - total)
            n = len - total;
        if (g->addr + skip < g->addr)
            return -1;
        uint8_t *p = bus_ram_ptr(bus, g->addr + skip, n);
        if (!p)
            return -1;
        iov[niov] = (struct iovec){ .iov_base = p, .iov_len = n };
        gpa[niov] = g->addr + skip;
        glen[niov++] = n;
        total += n;
        skip = 0;
    }
    if (total != len)
        return -1;
    /* partial transfers: go on from where the kernel stopped */
    struct iovec *v = iov;
    unsigned left = niov;
    uint64_t done = 0;
    while (left) {
        int cnt = left > VIRTIO_BLK_IOV_MAX ? VIRTIO_BLK_IOV_MAX : (int)left;
        ssize_t r = to_guest ? preadv(blk->fd, v, cnt, (off_t)(file_off + done))
                             : pwritev(blk->fd, v, cnt, (off_t)(file_off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1; /* error, or the image shrank under us */
        done += (uint64_t)r;
        while (left && (size_t)r >= v->iov_len) {
            r -= (ssize_t)v->iov_len;
            v++;
            left--;
        }
        if (left && r > 0) {
            v->iov_base = (uint8_t *)v->iov_base + r;
            v->iov_len -= (size_t)r;
        }
    }
    if (to_guest)
        for (unsigned i = 0; i < niov; i++)
            bus_note_dma(bus, gpa[i], glen[i]); /* drop code decoded from these pages */
    return (int64_t)done;
}

static bool in_range(const struct virtio_blk *blk, uint64_t sector, uint64_t bytes)
{
    if (bytes % SECTOR)
        return false;
    uint64_t n = bytes / SECTOR;
    return sector <= blk->capacity && n <= blk->capacity - sector;
}

/* Serve the request in blk->chain; returns the bytes written to the guest. */
static uint32_t serve(struct virtio_blk *blk, struct bus *bus)
{
    const struct virtq_chain *c = &blk->chain;
    if (c->write_len == 0)
        return 0; /* nowhere to put a status: malformed, just return it */
    uint64_t status_off = c->write_len - 1;
    uint8_t status = VIRTIO_BLK_S_IOERR;
    uint64_t written = 0;

    uint8_t hdr[HDR_LEN];
    if (c->read_len >= HDR_LEN && virtq_chain_read(bus, c, 0, hdr, HDR_LEN) == HDR_LEN) {
        uint32_t type;
        uint64_t sector;
        memcpy(&type, hdr, 4);
        memcpy(&sector, hdr + 8, 8);
        uint64_t in_len = c->write_len - 1, out_len = c->read_len - HDR_LEN;
        switch (type) {
        case VIRTIO_BLK_T_IN:
            if (in_range(blk, sector, in_len) &&
                chain_file_io(blk, bus, true, 0, in_len, sector * SECTOR) >= 0) {
                status = VIRTIO_BLK_S_OK;
                written = in_len;
            }
            break;
        case VIRTIO_BLK_T_OUT:
            if (!blk->readonly && in_range(blk, sector, out_len) &&
                chain_file_io(blk, bus, false, HDR_LEN, out_len, sector * SECTOR) >= 0)
                status = VIRTIO_BLK_S_OK;
            break;
        case VIRTIO_BLK_T_FLUSH:
            if (blk->readonly || fdatasync(blk->fd) == 0)
                status = VIRTIO_BLK_S_OK;
            break;
        case VIRTIO_BLK_T_GET_ID: {
            /* 5.2.6: up to 20 bytes, not NUL-terminated if all are used. */
            uint64_t n = in_len < VIRTIO_BLK_ID_BYTES ? in_len : VIRTIO_BLK_ID_BYTES;
            if (virtq_chain_write(bus, c, 0, blk->id, n) == n) {
                status = VIRTIO_BLK_S_OK;
                written = n;
            }
            break;
        }
        default:
            status = VIRTIO_BLK_S_UNSUPP;
            break;
        }
    }
    if (virtq_chain_write(bus, c, status_off, &status, 1) == 1)
        written++;
    return written > UINT32_MAX ? UINT32_MAX : (uint32_t)written;
}

static void blk_notify(struct virtio_mmio *t, void *dev, unsigned queue)
{
    struct virtio_blk *blk = dev;
    struct virtq *vq = virtio_mmio_queue(t, queue);
    if (!vq)
        return;
    /* Drain the queue.  Another vCPU may keep adding requests while we work
     * (and with EVENT_IDX it will not notify again for those), so do not
     * stop at num; the bound only keeps a hostile driver from pinning us. */
    for (unsigned n = 0; n < 65536; n++) {
        int r = virtq_pop(vq, t->bus, &blk->chain);
        if (r == 0)
            break;
        if (r < 0 || virtq_push(vq, t->bus, blk->chain.head, serve(blk, t->bus)) < 0) {
            virtio_mmio_needs_reset(t);
            break;
        }
    }
    virtio_mmio_signal_used(t, queue);
}

static uint32_t blk_config_read(void *dev, unsigned off, unsigned size)
{
    struct virtio_blk *blk = dev;
    uint8_t cfg[CFG_SIZE];
    memset(cfg, 0, sizeof(cfg));
    uint64_t cap = blk->capacity;
    uint32_t seg_max = VIRTIO_BLK_SEG_MAX, blk_size = SECTOR;
    memcpy(cfg + CFG_CAPACITY, &cap, 8);
    memcpy(cfg + CFG_SEG_MAX, &seg_max, 4);
    memcpy(cfg + CFG_BLK_SIZE, &blk_size, 4);
    uint32_t v = 0;
    for (unsigned i = 0; i < size && i < 4; i++)
        if (off + i < CFG_SIZE)
            v |= (uint32_t)cfg[off + i] << (8 * i);
    return v;
}

static void blk_reset(void *dev)
{
    (void)dev; /* no state outside the transport's queues */
}

int virtio_blk_open(struct virtio_blk *blk, const char *path, bool readonly)
{
    memset(blk, 0, sizeof(*blk));
    blk->fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (blk->fd < 0) {
        fprintf(stderr, "nestvm: disk %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat st;
    off_t size = fstat(blk->fd, &st) == 0 && S_ISREG(st.st_mode) ? st.st_size
                                                                 : lseek(blk->fd, 0, SEEK_END);
    if (size < 0) {
        fprintf(stderr, "nestvm: disk %s: %s\n", path, strerror(errno));
        close(blk->fd);
        blk->fd = -1;
        return -1;
    }
    blk->readonly = readonly;
    blk->capacity = (uint64_t)size / SECTOR;

    /* GET_ID serial: the image's base name, truncated. */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t idlen = strlen(base);
    memcpy(blk->id, base, idlen < VIRTIO_BLK_ID_BYTES ? idlen : VIRTIO_BLK_ID_BYTES);

    blk->ops = (struct virtio_dev_ops){
        .device_id = VIRTIO_ID_BLOCK,
        .features = 1ull << VIRTIO_BLK_F_SEG_MAX | 1ull << VIRTIO_BLK_F_BLK_SIZE |
                    1ull << VIRTIO_BLK_F_FLUSH | (readonly ? 1ull << VIRTIO_BLK_F_RO : 0),
        .num_queues = 1,
        .notify = blk_notify,
        .config_read = blk_config_read,
        .config_write = NULL, /* nothing writable without CONFIG_WCE */
        .reset = blk_reset,
    };
    return 0;
}

void virtio_blk_close(struct virtio_blk *blk)
{
    if (blk->fd >= 0)
        close(blk->fd);
    blk->fd = -1;
}
