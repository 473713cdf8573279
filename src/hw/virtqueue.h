/*
 * virtqueue.h — device side of a virtio split virtqueue (virtio 1.x spec,
 * 2.7 "Split Virtqueues"), independent of the transport.
 *
 * The rings live in guest RAM and are reached only through bus_ram_ptr()
 * with length checks.  A malformed ring (index out of range, chain longer
 * than allowed or looping, ring outside RAM) marks the queue broken: every
 * later call fails until virtq_reset(), and the transport then sets
 * DEVICE_NEEDS_RESET.  No call can loop more than VIRTQ_MAX_SEGS steps.
 */
#ifndef NESTVM_HW_VIRTQUEUE_H
#define NESTVM_HW_VIRTQUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/bus.h"

#define VIRTQ_NUM_MAX  256 /* QueueNumMax we offer */
#define VIRTQ_MAX_SEGS 256 /* descriptors per chain, indirect ones included */

/* 2.7.5 descriptor flags, 2.7.6 avail flags */
#define VIRTQ_DESC_F_NEXT          1
#define VIRTQ_DESC_F_WRITE         2
#define VIRTQ_DESC_F_INDIRECT      4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* 6 "Reserved Feature Bits" */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX     29
#define VIRTIO_F_VERSION_1     32

struct virtq {
    uint16_t num;               /* queue size: power of two <= VIRTQ_NUM_MAX */
    bool ready;
    uint64_t desc, avail, used; /* guest-physical ring addresses */
    bool indirect, event_idx;   /* negotiated features */
    uint16_t last_avail;        /* next avail ring slot to consume */
    uint16_t used_idx;          /* next used ring slot to fill */
    uint16_t signalled_used;    /* used_idx at the last interrupt decision */
    bool broken;
};

struct virtq_seg {
    uint64_t addr;
    uint32_t len;
    bool write; /* device-writable */
};

/* One descriptor chain popped from the avail ring. */
struct virtq_chain {
    uint16_t head;
    unsigned nseg;
    uint64_t read_len, write_len; /* bytes in readable / writable segments */
    struct virtq_seg seg[VIRTQ_MAX_SEGS];
};

void virtq_reset(struct virtq *vq);

/* True if the configuration (size, alignment, rings in RAM) is usable;
 * 2.7 "Virtqueue alignment" (desc 16, avail 2, used 4). */
bool virtq_valid(const struct virtq *vq, const struct bus *bus);

/* Take the next available chain: 1 got one, 0 none pending, -1 broken. */
int virtq_pop(struct virtq *vq, struct bus *bus, struct virtq_chain *c);

/* Return a chain to the driver with `len` bytes written: 0, or -1 broken. */
int virtq_push(struct virtq *vq, struct bus *bus, uint16_t head, uint32_t len);

/* After pushes: does the driver want a used-buffer notification?
 * (2.7.7 "Used Buffer Notification Suppression", 2.7.10 event index). */
bool virtq_need_interrupt(struct virtq *vq, struct bus *bus);

/* Copy between a host buffer and the chain's readable (read) or writable
 * (write) bytes starting at byte `off` of that direction.  Returns bytes
 * copied (less than len if the chain is short or a segment is not RAM). */
size_t virtq_chain_read(struct bus *bus, const struct virtq_chain *c, uint64_t off, void *dst,
                        size_t len);
size_t virtq_chain_write(struct bus *bus, const struct virtq_chain *c, uint64_t off,
                         const void *src, size_t len);

#endif
