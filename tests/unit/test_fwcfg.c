/* test_fwcfg.c — QEMU fw_cfg legacy port interface, read as kvm-unit-tests does. */
#include "test.h"

#include <string.h>

#include "hw/bus.h"
#include "hw/fwcfg.h"

/* kvm-unit-tests fwcfg_get_u(): outw(key, 0x510), then inb(0x511) per byte. */
static uint64_t fw_get(struct bus *b, uint16_t key, int bytes)
{
    bus_pio_write(b, 0x510, key, 2);
    uint64_t r = 0;
    for (int i = 0; i < bytes; i++)
        r |= bus_pio_read(b, 0x511, 1) << (8 * i);
    return r;
}

TEST(fwcfg_signature_and_id)
{
    struct bus b;
    struct fwcfg f;
    bus_init(&b, 16 << 20);
    fwcfg_init(&f, &b, 256ull << 20, 4);
    char sig[5] = { 0 };
    bus_pio_write(&b, 0x510, FW_CFG_SIGNATURE, 2);
    for (int i = 0; i < 4; i++)
        sig[i] = (char)bus_pio_read(&b, 0x511, 1);
    CHECK(strcmp(sig, "QEMU") == 0);
    CHECK_EQ(bus_pio_read(&b, 0x511, 1), 0); /* past the end */
    CHECK_EQ(fw_get(&b, FW_CFG_ID, 4), 1);   /* traditional interface, no DMA */
    bus_destroy(&b);
}

TEST(fwcfg_ram_size_and_cpus)
{
    struct bus b;
    struct fwcfg f;
    bus_init(&b, 16 << 20);
    fwcfg_init(&f, &b, 0x123456789ull, 3);
    CHECK_EQ(fw_get(&b, FW_CFG_RAM_SIZE, 8), 0x123456789ull);
    CHECK_EQ(fw_get(&b, FW_CFG_NB_CPUS, 2), 3);
    CHECK_EQ(fw_get(&b, FW_CFG_MAX_CPUS, 2), 3);
    CHECK_EQ(fw_get(&b, FW_CFG_FILE_DIR, 4), 0); /* no files */
    /* Reselecting rewinds; reading past the end gives zeros. */
    CHECK_EQ(fw_get(&b, FW_CFG_NB_CPUS, 8), 3);
    CHECK_EQ(fw_get(&b, 0x4242, 8), 0); /* unknown key */
    CHECK_EQ(fw_get(&b, 0xffff, 4), 0);
    /* A 16-bit data read returns two consecutive bytes. */
    bus_pio_write(&b, 0x510, FW_CFG_SIGNATURE, 2);
    CHECK_EQ(bus_pio_read(&b, 0x511, 2), 0x4551); /* "QE" */
    bus_pio_write(&b, 0x511, 0xff, 1); /* data writes are ignored */
    CHECK_EQ(bus_pio_read(&b, 0x511, 2), 0x554d); /* "MU" */
    bus_destroy(&b);
}
