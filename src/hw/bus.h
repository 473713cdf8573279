/*
 * bus.h — the machine's physical address space and I/O port space.
 *
 * Devices know nothing about who runs the CPU (software engine, later KVM).
 * A device registers an address range once, with one call that covers both
 * port I/O and MMIO (as kvmtool's kvm__register_iotrap):
 *
 *     bus_register(bus, BUS_PIO,  0x3f8, 8,      &uart_ops, uart);
 *     bus_register(bus, BUS_MMIO, 0xfec00000, 0x1000, &ioapic_ops, io);
 *
 * Callbacks receive the offset inside the registered range.  Accesses that
 * hit no device read as all-ones and ignore writes (open bus), like a PC.
 *
 * Guest RAM is one host mapping; RAM below 4 GiB stops at the PCI hole
 * (BUS_LOW_RAM_END) and the rest continues at 4 GiB.  bus_ram_ptr() is the
 * only way code turns a guest-physical address into a host pointer, and it
 * never returns a pointer outside the mapping.
 */
#ifndef NESTVM_HW_BUS_H
#define NESTVM_HW_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>
#include <stdatomic.h>

enum bus_space { BUS_PIO, BUS_MMIO };

struct io_ops {
    /* size is 1, 2, 4 or 8; off is relative to the registered base */
    uint64_t (*read)(void *opaque, uint64_t off, unsigned size);
    void (*write)(void *opaque, uint64_t off, uint64_t val, unsigned size);
};

struct bus_region {
    uint64_t base, len;
    const struct io_ops *ops;
    void *opaque;
};

#define BUS_MAX_REGIONS 64
#define BUS_LOW_RAM_END 0xC0000000ull /* PCI/MMIO hole from 3 GiB to 4 GiB */
#define BUS_HIGH_RAM_BASE 0x100000000ull

struct bus {
    uint8_t *ram;          /* host mapping of all guest RAM */
    uint64_t ram_size;     /* bytes of RAM */
    uint64_t low_ram;      /* bytes of RAM mapped at guest-physical 0 */
    struct bus_region pio[BUS_MAX_REGIONS];
    int npio;
    struct bus_region mmio[BUS_MAX_REGIONS];
    int nmmio;
    /* Serialises device callbacks between vCPU threads (devices are not on
     * the hot path: RAM accesses never take it). */
    pthread_mutex_t lock;
    /* Self-modifying-code tracking (owned by the CPU engine, cpu/exec.c):
     * per RAM page, whether decoded code may exist and a generation number
     * bumped whenever such a page is written. */
    _Atomic uint8_t *code_map;
    _Atomic uint32_t *page_gen;
};

/* RAM page number of a guest-physical address that is RAM. */
static inline uint64_t bus_ram_page(const struct bus *b, uint64_t gpa)
{
    return gpa < b->low_ram ? gpa >> 12 : (gpa - BUS_HIGH_RAM_BASE + b->low_ram) >> 12;
}

/* Devices that write guest RAM directly (DMA) call this afterwards so code
 * decoded from those pages is dropped. */
void bus_note_dma(struct bus *b, uint64_t gpa, uint64_t len);

int bus_init(struct bus *b, uint64_t ram_size);
void bus_destroy(struct bus *b);
int bus_register(struct bus *b, enum bus_space sp, uint64_t base, uint64_t len,
                 const struct io_ops *ops, void *opaque);

/* Host pointer for [gpa, gpa+len) if the whole range is RAM, else NULL. */
static inline uint8_t *bus_ram_ptr(const struct bus *b, uint64_t gpa, uint64_t len)
{
    if (gpa < b->low_ram) {
        if (len > b->low_ram - gpa)
            return NULL;
        return b->ram + gpa;
    }
    if (gpa >= BUS_HIGH_RAM_BASE) {
        uint64_t off = gpa - BUS_HIGH_RAM_BASE + b->low_ram;
        if (off >= b->ram_size || len > b->ram_size - off)
            return NULL;
        return b->ram + off;
    }
    return NULL;
}

/* Port and MMIO dispatch; unclaimed reads return all-ones. */
uint64_t bus_pio_read(struct bus *b, uint16_t port, unsigned size);
void bus_pio_write(struct bus *b, uint16_t port, uint64_t val, unsigned size);
uint64_t bus_mmio_read(struct bus *b, uint64_t gpa, unsigned size);
void bus_mmio_write(struct bus *b, uint64_t gpa, uint64_t val, unsigned size);

/* Generic physical access (RAM or MMIO), for DMA by devices and loaders.
 * Returns false if any byte is outside RAM (MMIO is not a DMA target). */
bool bus_read_phys(struct bus *b, uint64_t gpa, void *dst, size_t len);
bool bus_write_phys(struct bus *b, uint64_t gpa, const void *src, size_t len);

#endif
