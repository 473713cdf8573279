/*
 * virtqueue.c — split virtqueue processing (virtio 1.x spec, 2.7).
 *
 * Layout (2.7 "Split Virtqueues", sizes from its table):
 *   descriptor table  16 * num   { le64 addr; le32 len; le16 flags; le16 next; }
 *   available ring     6 + 2*num { le16 flags; le16 idx; le16 ring[num]; le16 used_event; }
 *   used ring          6 + 8*num { le16 flags; le16 idx; {le32 id; le32 len} ring[num];
 *                                  le16 avail_event; }
 *
 * The guest may rewrite the rings while we read them (another vCPU), so each
 * descriptor is copied once into a local before it is validated and used.
 * Indices published by the driver are read with acquire ordering and ours are
 * written with release ordering (2.7.13 / 2.7.8 memory barriers).
 */
#include "hw/virtqueue.h"

#include <string.h>

static uint16_t rd16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v; /* host is little-endian x86-64, like virtio 1.x rings */
}

static uint32_t rd32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t rd64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void wr32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

static uint64_t desc_size(unsigned num) { return 16ull * num; }
static uint64_t avail_size(unsigned num) { return 6 + 2ull * num; }
static uint64_t used_size(unsigned num) { return 6 + 8ull * num; }

void virtq_reset(struct virtq *vq)
{
    memset(vq, 0, sizeof(*vq));
}

bool virtq_valid(const struct virtq *vq, const struct bus *bus)
{
    unsigned n = vq->num;
    if (n == 0 || n > VIRTQ_NUM_MAX || (n & (n - 1)))
        return false;
    if ((vq->desc & 15) || (vq->avail & 1) || (vq->used & 3))
        return false;
    return bus_ram_ptr(bus, vq->desc, desc_size(n)) && bus_ram_ptr(bus, vq->avail, avail_size(n)) &&
           bus_ram_ptr(bus, vq->used, used_size(n));
}

static int broken(struct virtq *vq)
{
    vq->broken = true;
    return -1;
}

int virtq_pop(struct virtq *vq, struct bus *bus, struct virtq_chain *c)
{
    if (vq->broken)
        return -1;
    if (!vq->ready)
        return 0;
    if (!virtq_valid(vq, bus))
        return broken(vq);
    unsigned num = vq->num;
    uint8_t *avail = bus_ram_ptr(bus, vq->avail, avail_size(num));
    uint8_t *dtab = bus_ram_ptr(bus, vq->desc, desc_size(num));

    uint16_t idx = __atomic_load_n((uint16_t *)(avail + 2), __ATOMIC_ACQUIRE);
    uint16_t pending = (uint16_t)(idx - vq->last_avail);
    if (pending == 0)
        return 0;
    if (pending > num) /* the driver cannot have more than num in flight */
        return broken(vq);
    uint16_t head = rd16(avail + 4 + 2 * (vq->last_avail & (num - 1)));
    if (head >= num)
        return broken(vq);

    /* Walk the chain (2.7.5), following one level of indirection (2.7.5.3).
     * `steps` bounds the walk in each table, VIRTQ_MAX_SEGS the whole chain. */
    const uint8_t *table = dtab;
    uint64_t tsize = num, steps = 0;
    bool in_indirect = false;
    uint64_t i = head;
    c->head = head;
    c->nseg = 0;
    c->read_len = c->write_len = 0;
    for (;;) {
        if (i >= tsize || ++steps > tsize)
            return broken(vq); /* index out of range, or a loop */
        const uint8_t *d = table + 16 * i;
        uint64_t addr = rd64(d);
        uint32_t len = rd32(d + 8);
        uint16_t flags = rd16(d + 12), next = rd16(d + 14);
        if (flags & VIRTQ_DESC_F_INDIRECT) {
            /* 2.7.5.3.1: only with the feature, not inside an indirect
             * table, not combined with NEXT, a whole number of entries. */
            if (!vq->indirect || in_indirect || (flags & VIRTQ_DESC_F_NEXT) || len == 0 ||
                len % 16)
                return broken(vq);
            table = bus_ram_ptr(bus, addr, len);
            if (!table)
                return broken(vq);
            tsize = len / 16;
            steps = 0;
            i = 0;
            in_indirect = true;
            continue;
        }
        if (c->nseg >= VIRTQ_MAX_SEGS)
            return broken(vq);
        bool w = flags & VIRTQ_DESC_F_WRITE;
        c->seg[c->nseg++] = (struct virtq_seg){ addr, len, w };
        if (w)
            c->write_len += len;
        else
            c->read_len += len;
        if (!(flags & VIRTQ_DESC_F_NEXT))
            break;
        i = next;
    }
    vq->last_avail++;
    if (vq->event_idx) {
        /* 2.7.10: tell the driver to notify us once it publishes past here. */
        uint8_t *used = bus_ram_ptr(bus, vq->used, used_size(num));
        __atomic_store_n((uint16_t *)(used + 4 + 8 * num), vq->last_avail, __ATOMIC_RELEASE);
    }
    return 1;
}

int virtq_push(struct virtq *vq, struct bus *bus, uint16_t head, uint32_t len)
{
    if (vq->broken)
        return -1;
    if (!vq->ready || !virtq_valid(vq, bus))
        return broken(vq);
    unsigned num = vq->num;
    uint8_t *used = bus_ram_ptr(bus, vq->used, used_size(num));
    uint8_t *e = used + 4 + 8 * (vq->used_idx & (num - 1));
    wr32(e, head);
    wr32(e + 4, len);
    vq->used_idx++;
    __atomic_store_n((uint16_t *)(used + 2), vq->used_idx, __ATOMIC_RELEASE);
    return 0;
}

bool virtq_need_interrupt(struct virtq *vq, struct bus *bus)
{
    uint16_t old = vq->signalled_used, now = vq->used_idx;
    vq->signalled_used = now;
    if (old == now || vq->broken || !vq->ready || !virtq_valid(vq, bus))
        return false;
    /* Our used->idx store must be visible before we read the driver's
     * suppression fields (2.7.7.2). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    uint8_t *avail = bus_ram_ptr(bus, vq->avail, avail_size(vq->num));
    if (!vq->event_idx)
        return !(rd16(avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    /* 2.7.10: notify iff used_event lies in [old, now). */
    uint16_t used_event = rd16(avail + 4 + 2 * vq->num);
    return (uint16_t)(now - used_event - 1) < (uint16_t)(now - old);
}

static size_t chain_copy(struct bus *bus, const struct virtq_chain *c, bool writable, uint64_t off,
                         uint8_t *host, size_t len, bool to_guest)
{
    size_t done = 0;
    for (unsigned s = 0; s < c->nseg && done < len; s++) {
        const struct virtq_seg *g = &c->seg[s];
        if (g->write != writable)
            continue;
        if (off >= g->len) {
            off -= g->len;
            continue;
        }
        uint64_t n = g->len - off;
        if (n > len - done)
            n = len - done;
        if (g->addr + off < g->addr)
            break; /* wraps around the address space */
        uint8_t *p = bus_ram_ptr(bus, g->addr + off, n);
        if (!p)
            break;
        if (to_guest)
            memcpy(p, host + done, n);
        else
            memcpy(host + done, p, n);
        done += n;
        off = 0;
    }
    return done;
}

size_t virtq_chain_read(struct bus *bus, const struct virtq_chain *c, uint64_t off, void *dst,
                        size_t len)
{
    return chain_copy(bus, c, false, off, dst, len, false);
}

size_t virtq_chain_write(struct bus *bus, const struct virtq_chain *c, uint64_t off,
                         const void *src, size_t len)
{
    return chain_copy(bus, c, true, off, (uint8_t *)src, len, true);
}
