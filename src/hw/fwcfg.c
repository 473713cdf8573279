/*
 * fwcfg.c — QEMU fw_cfg, legacy port interface (QEMU docs/specs/fw_cfg.rst).
 *
 * Items are small and fixed, so they live inline in struct fwcfg.  Integer
 * items are little-endian, except the file directory whose 32-bit count is
 * big-endian (it is 0 here: no named files).
 */
#include "hw/fwcfg.h"

#include <string.h>

static void add_item(struct fwcfg *f, uint16_t key, const void *data, uint8_t len)
{
    if (f->nitems >= FWCFG_MAX_ITEMS || len > FWCFG_ITEM_MAX)
        return;
    struct fwcfg_item *it = &f->items[f->nitems++];
    it->key = key;
    it->len = len;
    memcpy(it->data, data, len);
}

static void add_le(struct fwcfg *f, uint16_t key, uint64_t v, uint8_t len)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    add_item(f, key, b, len);
}

static void select_key(struct fwcfg *f, uint16_t key)
{
    f->selector = key;
    f->offset = 0;
    f->cur = NULL;
    for (int i = 0; i < f->nitems; i++)
        if (f->items[i].key == key)
            f->cur = &f->items[i];
}

static uint8_t data_byte(struct fwcfg *f)
{
    if (!f->cur || f->offset >= f->cur->len)
        return 0;
    return f->cur->data[f->offset++];
}

/* off 0: selector (reads as 0); off 1: data.  A data read of several bytes
 * returns as many consecutive bytes of the item, lowest first. */
static uint64_t fwcfg_read(void *opaque, uint64_t off, unsigned size)
{
    struct fwcfg *f = opaque;
    if (off != 1)
        return 0;
    uint64_t v = 0;
    for (unsigned i = 0; i < size && i < 8; i++)
        v |= (uint64_t)data_byte(f) << (8 * i);
    return v;
}

static void fwcfg_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct fwcfg *f = opaque;
    if (off == 0)
        select_key(f, (uint16_t)val);
    /* Writes to the data port are not supported (deprecated in QEMU). */
}

static const struct io_ops fwcfg_ops = { fwcfg_read, fwcfg_write };

void fwcfg_init(struct fwcfg *f, struct bus *bus, uint64_t ram_size, unsigned ncpus)
{
    memset(f, 0, sizeof(*f));
    if (ncpus > 0xffff)
        ncpus = 0xffff;
    add_item(f, FW_CFG_SIGNATURE, "QEMU", 4);
    add_le(f, FW_CFG_ID, 1, 4); /* bit 0: traditional interface; no DMA */
    add_le(f, FW_CFG_RAM_SIZE, ram_size, 8);
    add_le(f, FW_CFG_NB_CPUS, ncpus, 2);
    add_le(f, FW_CFG_MAX_CPUS, ncpus, 2);
    add_le(f, FW_CFG_FILE_DIR, 0, 4); /* big-endian count 0 */
    select_key(f, FW_CFG_SIGNATURE);
    if (bus)
        bus_register(bus, BUS_PIO, FWCFG_PORT, 2, &fwcfg_ops, f);
}
