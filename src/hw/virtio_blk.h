/*
 * virtio_blk.h — virtio block device (virtio 1.x spec, 5.2) backed by a raw
 * image file, for use behind a transport such as virtio_mmio:
 *
 *     struct virtio_blk blk;
 *     if (virtio_blk_open(&blk, path, readonly) < 0) exit(1);
 *     virtio_mmio_init(&mmio, bus, base, &irq, gsi, &blk.ops, &blk);
 *
 * Requests are served synchronously (pread/pwrite) when the driver notifies.
 */
#ifndef NESTVM_HW_VIRTIO_BLK_H
#define NESTVM_HW_VIRTIO_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "hw/virtio_mmio.h"
#include "hw/virtqueue.h"

#define VIRTIO_ID_BLOCK 2

/* 5.2.3 feature bits */
#define VIRTIO_BLK_F_SEG_MAX  2
#define VIRTIO_BLK_F_RO       5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH    9

/* 5.2.6 request types and status values */
#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_SEG_MAX  (VIRTQ_MAX_SEGS - 2) /* header and status take two */

struct virtio_blk {
    int fd;
    bool readonly;
    uint64_t capacity; /* in 512-byte sectors */
    char id[VIRTIO_BLK_ID_BYTES];
    struct virtio_dev_ops ops;   /* pass &blk.ops to the transport */
    struct virtq_chain chain;    /* the request being served */
};

/* Open the image (O_RDONLY when readonly).  Returns 0, or -1 after printing
 * "nestvm: disk PATH: <reason>" to stderr. */
int virtio_blk_open(struct virtio_blk *blk, const char *path, bool readonly);
void virtio_blk_close(struct virtio_blk *blk);

#endif
