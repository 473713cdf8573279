/*
 * virtio_mmio.h — the virtio-over-MMIO transport, version 2 register layout
 * (virtio 1.x spec, 4.2 "Virtio Over MMIO").
 *
 * One struct virtio_mmio per device; the device behind it (virtio_blk, ...)
 * is described by a struct virtio_dev_ops and an opaque pointer.  The
 * transport owns feature negotiation, the device status, the virtqueues and
 * the interrupt line (level-triggered: high while InterruptStatus != 0).
 *
 *     virtio_blk_open(&blk, "disk.img", false);
 *     virtio_mmio_init(&mmio, bus, 0xd0000000, &irq, 5, &blk.ops, &blk);
 *     virtio_mmio_cmdline(&mmio, buf, sizeof buf);  // virtio_mmio.device=...
 */
#ifndef NESTVM_HW_VIRTIO_MMIO_H
#define NESTVM_HW_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hw/bus.h"
#include "hw/irq.h"
#include "hw/virtqueue.h"

#define VIRTIO_MMIO_SIZE       0x200
#define VIRTIO_MMIO_MAX_QUEUES 4

/* 2.1 "Device Status Field" */
#define VIRTIO_STATUS_ACKNOWLEDGE        1
#define VIRTIO_STATUS_DRIVER             2
#define VIRTIO_STATUS_DRIVER_OK          4
#define VIRTIO_STATUS_FEATURES_OK        8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 0x40
#define VIRTIO_STATUS_FAILED             0x80

/* 4.2.2 register offsets */
#define VIRTIO_MMIO_MAGIC_VALUE        0x000
#define VIRTIO_MMIO_VERSION            0x004
#define VIRTIO_MMIO_DEVICE_ID          0x008
#define VIRTIO_MMIO_VENDOR_ID          0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES    0x010
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES    0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL          0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX      0x034
#define VIRTIO_MMIO_QUEUE_NUM          0x038
#define VIRTIO_MMIO_QUEUE_READY        0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY       0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS   0x060
#define VIRTIO_MMIO_INTERRUPT_ACK      0x064
#define VIRTIO_MMIO_STATUS             0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW     0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH    0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW   0x090
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH  0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW   0x0a0
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH  0x0a4
#define VIRTIO_MMIO_SHM_SEL            0x0ac
#define VIRTIO_MMIO_SHM_LEN_LOW        0x0b0
#define VIRTIO_MMIO_SHM_LEN_HIGH       0x0b4
#define VIRTIO_MMIO_SHM_BASE_LOW       0x0b8
#define VIRTIO_MMIO_SHM_BASE_HIGH      0x0bc
#define VIRTIO_MMIO_QUEUE_RESET        0x0c0
#define VIRTIO_MMIO_CONFIG_GENERATION  0x0fc
#define VIRTIO_MMIO_CONFIG             0x100

#define VIRTIO_MMIO_MAGIC  0x74726976u /* "virt" */
#define VIRTIO_MMIO_VENDOR 0x4d56534eu /* "NSVM" */

#define VIRTIO_MMIO_INT_VRING  1 /* used buffer notification */
#define VIRTIO_MMIO_INT_CONFIG 2 /* configuration change notification */

struct virtio_mmio;

struct virtio_dev_ops {
    uint32_t device_id;  /* 5 "Device Types": 2 = block */
    uint64_t features;   /* device feature bits; the transport adds VERSION_1,
                          * INDIRECT_DESC and EVENT_IDX */
    unsigned num_queues; /* <= VIRTIO_MMIO_MAX_QUEUES */
    /* The driver notified `queue` (ready, DRIVER_OK set). */
    void (*notify)(struct virtio_mmio *t, void *dev, unsigned queue);
    /* Device config space (offset from 0x100); size 1, 2 or 4. */
    uint32_t (*config_read)(void *dev, unsigned off, unsigned size);
    void (*config_write)(void *dev, unsigned off, uint32_t val, unsigned size);
    void (*reset)(void *dev);
};

struct virtio_mmio {
    struct bus *bus;
    uint64_t base;
    struct irq_sink irq;
    unsigned gsi;
    const struct virtio_dev_ops *ops;
    void *dev;

    uint32_t status;
    uint32_t dev_features_sel, drv_features_sel;
    uint64_t drv_features;
    uint32_t queue_sel;
    uint32_t int_status;
    uint32_t config_gen;
    uint32_t shm_sel;
    int line; /* current level of the interrupt line */
    struct virtq vq[VIRTIO_MMIO_MAX_QUEUES];
};

/* Register the transport at [base, base + VIRTIO_MMIO_SIZE).  irq may be
 * NULL (no interrupts).  Returns 0, or -1 if the bus refused the range. */
int virtio_mmio_init(struct virtio_mmio *t, struct bus *bus, uint64_t base,
                     const struct irq_sink *irq, unsigned gsi, const struct virtio_dev_ops *ops,
                     void *dev);

/* Format "virtio_mmio.device=512@0xd0000000:5" (snprintf semantics). */
int virtio_mmio_cmdline(const struct virtio_mmio *t, char *buf, size_t n);

/* The queue `q`, or NULL if the device has no such queue. */
struct virtq *virtio_mmio_queue(struct virtio_mmio *t, unsigned q);

/* Devices call this after pushing used buffers: raises the used-buffer
 * interrupt if the driver has not suppressed it. */
void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned q);

/* A virtqueue is broken: set DEVICE_NEEDS_RESET and, if the driver is
 * running, send a configuration change notification (2.1.2). */
void virtio_mmio_needs_reset(struct virtio_mmio *t);

/* The device configuration changed: bump ConfigGeneration, interrupt. */
void virtio_mmio_config_changed(struct virtio_mmio *t);

#endif
