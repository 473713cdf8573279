/*
 * fwcfg.h — QEMU's firmware configuration device, legacy I/O interface:
 * a 16-bit selector at 0x510 and an 8-bit data port at 0x511.
 *
 * Enough for kvm-unit-tests: the "QEMU" signature, the interface ID (no
 * DMA), RAM size, CPU counts and an empty file directory.  Selecting a key
 * rewinds its data; each read of the data port returns the next byte, and
 * reads past the end of an item (or of an unknown key) return 0.
 */
#ifndef NESTVM_HW_FWCFG_H
#define NESTVM_HW_FWCFG_H

#include <stdint.h>

#include "hw/bus.h"

#define FWCFG_PORT 0x510

#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_ID 0x0001
#define FW_CFG_RAM_SIZE 0x0003
#define FW_CFG_NB_CPUS 0x0005
#define FW_CFG_MAX_CPUS 0x000f
#define FW_CFG_FILE_DIR 0x0019

#define FWCFG_MAX_ITEMS 8
#define FWCFG_ITEM_MAX 8

struct fwcfg_item {
    uint16_t key;
    uint8_t len;
    uint8_t data[FWCFG_ITEM_MAX];
};

struct fwcfg {
    uint16_t selector;
    uint32_t offset;          /* next byte of the selected item */
    const struct fwcfg_item *cur; /* NULL if the key has no data */
    struct fwcfg_item items[FWCFG_MAX_ITEMS];
    int nitems;
};

/* Fills the items and registers ports 0x510-0x511. */
void fwcfg_init(struct fwcfg *f, struct bus *bus, uint64_t ram_size, unsigned ncpus);

#endif
