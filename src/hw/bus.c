/*
 * bus.c — guest RAM mapping and the port/MMIO dispatch tables (see bus.h).
 */
#include "hw/bus.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

int bus_init(struct bus *b, uint64_t ram_size)
{
    memset(b, 0, sizeof(*b));
    void *p = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    b->ram = p;
    b->ram_size = ram_size;
    b->low_ram = ram_size < BUS_LOW_RAM_END ? ram_size : BUS_LOW_RAM_END;
    pthread_mutex_init(&b->lock, NULL);
    uint64_t pages = (ram_size + 4095) >> 12;
    b->code_map = calloc(pages, 1);
    b->page_gen = calloc(pages, sizeof(uint32_t));
    if (!b->code_map || !b->page_gen)
        return -1;
    return 0;
}

void bus_destroy(struct bus *b)
{
    if (b->ram)
        munmap(b->ram, b->ram_size);
    b->ram = NULL;
    free((void *)b->code_map);
    free((void *)b->page_gen);
    b->code_map = NULL;
    b->page_gen = NULL;
    pthread_mutex_destroy(&b->lock);
}

int bus_register(struct bus *b, enum bus_space sp, uint64_t base, uint64_t len,
                 const struct io_ops *ops, void *opaque)
{
    struct bus_region *tab = sp == BUS_PIO ? b->pio : b->mmio;
    int *n = sp == BUS_PIO ? &b->npio : &b->nmmio;
    if (*n >= BUS_MAX_REGIONS || len == 0)
        return -1;
    for (int i = 0; i < *n; i++)
        if (base < tab[i].base + tab[i].len && tab[i].base < base + len)
            return -1; /* overlap */
    tab[*n] = (struct bus_region){ base, len, ops, opaque };
    (*n)++;
    return 0;
}

static const struct bus_region *find(const struct bus_region *tab, int n, uint64_t a)
{
    for (int i = 0; i < n; i++)
        if (a - tab[i].base < tab[i].len)
            return &tab[i];
    return NULL;
}

static uint64_t ones(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static uint64_t dispatch_read(struct bus *b, const struct bus_region *r, uint64_t a, unsigned size)
{
    if (!r || !r->ops->read)
        return ones(size);
    pthread_mutex_lock(&b->lock);
    uint64_t v = r->ops->read(r->opaque, a - r->base, size);
    pthread_mutex_unlock(&b->lock);
    return v & ones(size);
}

static void dispatch_write(struct bus *b, const struct bus_region *r, uint64_t a, uint64_t v,
                           unsigned size)
{
    if (!r || !r->ops->write)
        return;
    pthread_mutex_lock(&b->lock);
    r->ops->write(r->opaque, a - r->base, v & ones(size), size);
    pthread_mutex_unlock(&b->lock);
}

uint64_t bus_pio_read(struct bus *b, uint16_t port, unsigned size)
{
    return dispatch_read(b, find(b->pio, b->npio, port), port, size);
}

void bus_pio_write(struct bus *b, uint16_t port, uint64_t val, unsigned size)
{
    dispatch_write(b, find(b->pio, b->npio, port), port, val, size);
}

uint64_t bus_mmio_read(struct bus *b, uint64_t gpa, unsigned size)
{
    uint8_t *p = bus_ram_ptr(b, gpa, size);
    if (p) {
        uint64_t v = 0;
        memcpy(&v, p, size);
        return v;
    }
    return dispatch_read(b, find(b->mmio, b->nmmio, gpa), gpa, size);
}

void bus_mmio_write(struct bus *b, uint64_t gpa, uint64_t val, unsigned size)
{
    uint8_t *p = bus_ram_ptr(b, gpa, size);
    if (p) {
        memcpy(p, &val, size);
        return;
    }
    dispatch_write(b, find(b->mmio, b->nmmio, gpa), gpa, val, size);
}

void bus_note_dma(struct bus *b, uint64_t gpa, uint64_t len)
{
    if (!len || !bus_ram_ptr(b, gpa, 1))
        return;
    uint64_t first = bus_ram_page(b, gpa), last = bus_ram_page(b, gpa + len - 1);
    uint64_t pages = (b->ram_size + 4095) >> 12;
    for (uint64_t p = first; p <= last && p < pages; p++)
        if (atomic_load_explicit(&b->code_map[p], memory_order_relaxed)) {
            atomic_store(&b->code_map[p], 0);
            atomic_fetch_add(&b->page_gen[p], 1);
        }
}

bool bus_read_phys(struct bus *b, uint64_t gpa, void *dst, size_t len)
{
    uint8_t *p = bus_ram_ptr(b, gpa, len);
    if (!p)
        return false;
    memcpy(dst, p, len);
    return true;
}

bool bus_write_phys(struct bus *b, uint64_t gpa, const void *src, size_t len)
{
    uint8_t *p = bus_ram_ptr(b, gpa, len);
    if (!p)
        return false;
    memcpy(p, src, len);
    bus_note_dma(b, gpa, len);
    return true;
}
