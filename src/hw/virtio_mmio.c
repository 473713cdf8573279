/*
 * virtio_mmio.c — virtio over MMIO, version 2 (virtio 1.x spec, 4.2).
 *
 * Control registers are 32-bit; other access sizes or unaligned offsets read
 * as 0 and are ignored on write (4.2.2.2: the driver MUST use 32-bit aligned
 * accesses).  The device-specific configuration space from 0x100 accepts
 * 8/16/32-bit accesses (64-bit ones are split).
 *
 * Feature negotiation (3.1.1): the driver's features are accepted at
 * FEATURES_OK only if they are a subset of ours and include VERSION_1;
 * otherwise FEATURES_OK does not stick and the driver sees it cleared.
 * Queue registers only change while the selected queue is not ready; setting
 * QueueReady validates the size (power of two <= QueueNumMax, 2.7) and that
 * the rings are aligned and inside RAM.  Writing 0 to Status resets the
 * device (4.2.3.1).  Buffers are consumed only after DRIVER_OK (2.1.2).
 */
#include "hw/virtio_mmio.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static uint64_t offered(const struct virtio_mmio *t)
{
    return t->ops->features | 1ull << VIRTIO_F_VERSION_1 | 1ull << VIRTIO_F_INDIRECT_DESC |
           1ull << VIRTIO_F_EVENT_IDX;
}

static void update_irq(struct virtio_mmio *t)
{
    int level = t->int_status != 0;
    if (level != t->line) {
        t->line = level;
        irq_set(&t->irq, t->gsi, level);
    }
}

static void do_reset(struct virtio_mmio *t)
{
    t->status = 0;
    t->dev_features_sel = t->drv_features_sel = 0;
    t->drv_features = 0;
    t->queue_sel = 0;
    t->shm_sel = 0;
    t->int_status = 0;
    for (unsigned i = 0; i < VIRTIO_MMIO_MAX_QUEUES; i++)
        virtq_reset(&t->vq[i]);
    update_irq(t);
    if (t->ops->reset)
        t->ops->reset(t->dev);
}

struct virtq *virtio_mmio_queue(struct virtio_mmio *t, unsigned q)
{
    return q < t->ops->num_queues && q < VIRTIO_MMIO_MAX_QUEUES ? &t->vq[q] : NULL;
}

void virtio_mmio_signal_used(struct virtio_mmio *t, unsigned q)
{
    struct virtq *vq = virtio_mmio_queue(t, q);
    if (vq && virtq_need_interrupt(vq, t->bus)) {
        t->int_status |= VIRTIO_MMIO_INT_VRING;
        update_irq(t);
    }
}

void virtio_mmio_needs_reset(struct virtio_mmio *t)
{
    t->status |= VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    if (t->status & VIRTIO_STATUS_DRIVER_OK) {
        t->int_status |= VIRTIO_MMIO_INT_CONFIG;
        update_irq(t);
    }
}

void virtio_mmio_config_changed(struct virtio_mmio *t)
{
    t->config_gen++;
    if (t->status & VIRTIO_STATUS_DRIVER_OK) {
        t->int_status |= VIRTIO_MMIO_INT_CONFIG;
        update_irq(t);
    }
}

static void write_status(struct virtio_mmio *t, uint32_t val)
{
    if (val == 0) {
        do_reset(t);
        return;
    }
    uint32_t old = t->status;
    /* DEVICE_NEEDS_RESET belongs to the device; the driver cannot clear it. */
    uint32_t s = (val & 0xff & ~VIRTIO_STATUS_DEVICE_NEEDS_RESET) |
                 (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
    if ((s & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        bool ok = !(t->drv_features & ~offered(t)) &&
                  (t->drv_features & 1ull << VIRTIO_F_VERSION_1);
        if (!ok)
            s &= ~VIRTIO_STATUS_FEATURES_OK;
    }
    t->status = s;
}

static void queue_ready(struct virtio_mmio *t, struct virtq *vq, uint32_t val)
{
    if (!(val & 1)) {
        vq->ready = false;
        return;
    }
    if (vq->ready)
        return;
    if (!virtq_valid(vq, t->bus)) {
        virtio_mmio_needs_reset(t);
        return;
    }
    vq->indirect = t->drv_features >> VIRTIO_F_INDIRECT_DESC & 1;
    vq->event_idx = t->drv_features >> VIRTIO_F_EVENT_IDX & 1;
    vq->last_avail = vq->used_idx = vq->signalled_used = 0;
    vq->broken = false;
    vq->ready = true;
}

static void set_half(uint64_t *a, uint32_t val, bool high)
{
    if (high)
        *a = (*a & 0xffffffffull) | (uint64_t)val << 32;
    else
        *a = (*a & ~0xffffffffull) | val;
}

static uint32_t config_read(struct virtio_mmio *t, unsigned off, unsigned size)
{
    return t->ops->config_read ? t->ops->config_read(t->dev, off, size) : 0;
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    struct virtio_mmio *t = opaque;
    if (off >= VIRTIO_MMIO_CONFIG) {
        unsigned c = (unsigned)(off - VIRTIO_MMIO_CONFIG);
        if (size == 8)
            return config_read(t, c, 4) | (uint64_t)config_read(t, c + 4, 4) << 32;
        return config_read(t, c, size);
    }
    if (size != 4 || (off & 3))
        return 0;
    struct virtq *vq = virtio_mmio_queue(t, t->queue_sel);
    uint64_t feat = offered(t);
    switch (off) {
    case VIRTIO_MMIO_MAGIC_VALUE:
        return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION:
        return 2;
    case VIRTIO_MMIO_DEVICE_ID:
        return t->ops->device_id;
    case VIRTIO_MMIO_VENDOR_ID:
        return VIRTIO_MMIO_VENDOR;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        return t->dev_features_sel == 0 ? (uint32_t)feat
             : t->dev_features_sel == 1 ? (uint32_t)(feat >> 32) : 0;
    case VIRTIO_MMIO_QUEUE_NUM_MAX:
        return vq ? VIRTQ_NUM_MAX : 0;
    case VIRTIO_MMIO_QUEUE_READY:
        return vq ? vq->ready : 0;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        return t->int_status;
    case VIRTIO_MMIO_STATUS:
        return t->status;
    case VIRTIO_MMIO_SHM_LEN_LOW:
    case VIRTIO_MMIO_SHM_LEN_HIGH:
    case VIRTIO_MMIO_SHM_BASE_LOW:
    case VIRTIO_MMIO_SHM_BASE_HIGH:
        return 0xffffffffu; /* 4.2.2: no shared memory region */
    case VIRTIO_MMIO_CONFIG_GENERATION:
        return t->config_gen;
    default:
        return 0; /* write-only or reserved registers */
    }
}

static void mmio_write(void *opaque, uint64_t off, uint64_t val64, unsigned size)
{
    struct virtio_mmio *t = opaque;
    if (off >= VIRTIO_MMIO_CONFIG) {
        unsigned c = (unsigned)(off - VIRTIO_MMIO_CONFIG);
        if (!t->ops->config_write)
            return;
        if (size == 8) {
            t->ops->config_write(t->dev, c, (uint32_t)val64, 4);
            t->ops->config_write(t->dev, c + 4, (uint32_t)(val64 >> 32), 4);
        } else {
            t->ops->config_write(t->dev, c, (uint32_t)val64, size);
        }
        return;
    }
    if (size != 4 || (off & 3))
        return;
    uint32_t val = (uint32_t)val64;
    struct virtq *vq = virtio_mmio_queue(t, t->queue_sel);
    bool vq_setup = vq && !vq->ready;
    switch (off) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        t->dev_features_sel = val;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        if (!(t->status & VIRTIO_STATUS_FEATURES_OK) && t->drv_features_sel < 2)
            set_half(&t->drv_features, val, t->drv_features_sel == 1);
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        t->drv_features_sel = val;
        break;
    case VIRTIO_MMIO_QUEUE_SEL:
        t->queue_sel = val;
        break;
    case VIRTIO_MMIO_QUEUE_NUM:
        if (vq_setup)
            vq->num = val <= VIRTQ_NUM_MAX ? (uint16_t)val : 0; /* 0: invalid */
        break;
    case VIRTIO_MMIO_QUEUE_READY:
        if (vq)
            queue_ready(t, vq, val);
        break;
    case VIRTIO_MMIO_QUEUE_NOTIFY: {
        unsigned q = val & 0xffff; /* no VIRTIO_F_NOTIFICATION_DATA */
        struct virtq *nq = virtio_mmio_queue(t, q);
        if (nq && nq->ready && (t->status & VIRTIO_STATUS_DRIVER_OK) &&
            !(t->status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) && t->ops->notify)
            t->ops->notify(t, t->dev, q);
        break;
    }
    case VIRTIO_MMIO_INTERRUPT_ACK:
        t->int_status &= ~val;
        update_irq(t);
        break;
    case VIRTIO_MMIO_STATUS:
        write_status(t, val);
        break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        if (vq_setup)
            set_half(&vq->desc, val, off == VIRTIO_MMIO_QUEUE_DESC_HIGH);
        break;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        if (vq_setup)
            set_half(&vq->avail, val, off == VIRTIO_MMIO_QUEUE_DRIVER_HIGH);
        break;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        if (vq_setup)
            set_half(&vq->used, val, off == VIRTIO_MMIO_QUEUE_DEVICE_HIGH);
        break;
    case VIRTIO_MMIO_SHM_SEL:
        t->shm_sel = val;
        break;
    default:
        break; /* read-only or reserved: ignored */
    }
}

static const struct io_ops virtio_mmio_io = { mmio_read, mmio_write };

int virtio_mmio_init(struct virtio_mmio *t, struct bus *bus, uint64_t base,
                     const struct irq_sink *irq, unsigned gsi, const struct virtio_dev_ops *ops,
                     void *dev)
{
    memset(t, 0, sizeof(*t));
    t->bus = bus;
    t->base = base;
    if (irq)
        t->irq = *irq;
    t->gsi = gsi;
    t->ops = ops;
    t->dev = dev;
    return bus_register(bus, BUS_MMIO, base, VIRTIO_MMIO_SIZE, &virtio_mmio_io, t);
}

int virtio_mmio_cmdline(const struct virtio_mmio *t, char *buf, size_t n)
{
    /* Linux drivers/virtio/virtio_mmio.c parameter: <size>@<base>:<irq> */
    return snprintf(buf, n, "virtio_mmio.device=%u@0x%" PRIx64 ":%u", VIRTIO_MMIO_SIZE,
                    t->base, t->gsi);
}
