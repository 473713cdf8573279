/*
 * test_io.c — IN/OUT (immediate and DX ports, 8/16/32 bits), INS/OUTS with
 * REP against a test device registered on the harness bus, and the I/O
 * permission rules (IOPL, TSS I/O bitmap, virtual-8086 mode).
 */
#include "cpu_harness.h"
#include "cpu/ops_flow.h"
#include "test.h"

#define IO_LOG 64

/* A test device: logs every access; reads return a per-access counter
 * mixed with the offset so values and sizes are checkable. */
struct tdev {
    unsigned n;
    struct {
        uint64_t off, val;
        unsigned size;
        bool write;
    } log[IO_LOG];
    uint32_t next_read;
};

static void tdev_note(struct tdev *d, uint64_t off, uint64_t val, unsigned size, bool write)
{
    if (d->n < IO_LOG) {
        d->log[d->n].off = off;
        d->log[d->n].val = val;
        d->log[d->n].size = size;
        d->log[d->n].write = write;
    }
    d->n++;
}

static uint64_t tdev_read(void *opaque, uint64_t off, unsigned size)
{
    struct tdev *d = opaque;
    uint32_t v = d->next_read++ + 0x01020304u * (uint32_t)(off + 1);
    if (size < 4)
        v &= (1u << (8 * size)) - 1;
    tdev_note(d, off, v, size, false);
    return v;
}

static void tdev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    tdev_note(opaque, off, val, size, true);
}

static const struct io_ops tdev_ops = { tdev_read, tdev_write };

static void io_setup(struct th *t, enum th_mode mode, struct tdev *d)
{
    th_init(t, mode);
    memset(d, 0, sizeof(*d));
    CHECK_EQ(bus_register(&t->bus, BUS_PIO, 0xe0, 8, &tdev_ops, d), 0);
    CHECK_EQ(bus_register(&t->bus, BUS_PIO, 0x300, 8, &tdev_ops, d), 0);
}

TEST(io_out_sizes_and_ports)
{
    static const uint8_t code[] = {
        0xe6, 0xe1,       /* out 0xe1, al */
        0x66, 0xe7, 0xe2, /* out 0xe2, ax */
        0xe7, 0xe4,       /* out 0xe4, eax */
        0xee,             /* out dx, al */
        0x66, 0xef,       /* out dx, ax */
        0xef,             /* out dx, eax */
        0x48, 0xef,       /* REX.W out dx, eax: still 32 bits */
        0xf4,
    };
    struct th t;
    struct tdev d;
    io_setup(&t, TH_LONG64, &d);
    t.cpu.r[R_AX] = 0x1122334455667788ull;
    t.cpu.r[R_DX] = 0xffff0000 | 0x303; /* only DX counts */
    CHECK_EQ(th_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(d.n, 7);
    static const struct { uint64_t off, val; unsigned size; } want[7] = {
        { 1, 0x88, 1 }, { 2, 0x7788, 2 }, { 4, 0x55667788, 4 }, { 3, 0x88, 1 },
        { 3, 0x7788, 2 }, { 3, 0x55667788, 4 }, { 3, 0x55667788, 4 },
    };
    for (unsigned i = 0; i < 7; i++) {
        CHECK(d.log[i].write);
        CHECK_EQ(d.log[i].off, want[i].off);
        CHECK_EQ(d.log[i].val, want[i].val);
        CHECK_EQ(d.log[i].size, want[i].size);
    }
    th_destroy(&t);
}

TEST(io_in_sizes_merge_and_extend)
{
    static const uint8_t in_al[] = { 0xe4, 0xe0, 0xf4 };        /* in al, 0xe0 */
    static const uint8_t in_ax[] = { 0x66, 0xed, 0xf4 };        /* in ax, dx */
    static const uint8_t in_eax[] = { 0xed, 0xf4 };             /* in eax, dx */
    static const uint8_t in_eax_imm[] = { 0xe5, 0xe6, 0xf4 };   /* in eax, 0xe6 */
    struct th t;
    struct tdev d;
    io_setup(&t, TH_LONG64, &d);
    t.cpu.r[R_DX] = 0x305;
    t.cpu.r[R_AX] = 0xaaaaaaaaaaaaaaaaull;
    d.next_read = 0x10;
    CHECK_EQ(th_run(&t, in_al, sizeof in_al), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX], 0xaaaaaaaaaaaaaa00ull | ((0x10 + 0x04) & 0xff));
    CHECK_EQ(d.log[0].size, 1);
    CHECK_EQ(d.log[0].off, 0);

    CHECK_EQ(th_run(&t, in_ax, sizeof in_ax), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX], 0xaaaaaaaaaaaa0000ull | ((0x11 + 0x0304u * 6) & 0xffff));
    CHECK_EQ(d.log[1].size, 2);
    CHECK_EQ(d.log[1].off, 5);

    CHECK_EQ(th_run(&t, in_eax, sizeof in_eax), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX], (uint32_t)(0x12 + 0x01020304u * 6));
    CHECK_EQ(d.log[2].size, 4);

    CHECK_EQ(th_run(&t, in_eax_imm, sizeof in_eax_imm), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX], (uint32_t)(0x13 + 0x01020304u * 7));
    CHECK_EQ(d.log[3].off, 6);
    CHECK_EQ(d.n, 4);
    th_destroy(&t);
}

TEST(io_rep_outs_ins)
{
    static const uint8_t outsb[] = { 0xf3, 0x6e, 0xf4 };
    static const uint8_t insw[] = { 0xf3, 0x66, 0x6d, 0xf4 };
    static const uint8_t outsd[] = { 0x6f, 0xf4 };
    struct th t;
    struct tdev d;
    io_setup(&t, TH_LONG64, &d);
    memcpy(th_mem(&t, TH_DATA), "PORTDATA", 8);
    t.cpu.r[R_DX] = 0x300;
    t.cpu.r[R_SI] = TH_DATA;
    t.cpu.r[R_CX] = 8;
    CHECK_EQ(th_run(&t, outsb, sizeof outsb), TH_HALT);
    CHECK_EQ(d.n, 8);
    for (unsigned i = 0; i < 8; i++) {
        CHECK(d.log[i].write);
        CHECK_EQ(d.log[i].size, 1);
        CHECK_EQ(d.log[i].val, (uint8_t)"PORTDATA"[i]);
    }
    CHECK_EQ(t.cpu.r[R_SI], TH_DATA + 8);
    CHECK_EQ(t.cpu.r[R_CX], 0);

    d.n = 0;
    d.next_read = 0x100;
    memset(th_mem(&t, TH_DATA + 0x100), 0xee, 16);
    t.cpu.r[R_DX] = 0x301;
    t.cpu.r[R_DI] = TH_DATA + 0x100;
    t.cpu.r[R_CX] = 5;
    CHECK_EQ(th_run(&t, insw, sizeof insw), TH_HALT);
    CHECK_EQ(d.n, 5);
    for (unsigned i = 0; i < 5; i++) {
        uint16_t v;
        memcpy(&v, (uint8_t *)th_mem(&t, TH_DATA + 0x100) + 2 * i, 2);
        CHECK_EQ(v, (uint16_t)(0x100 + i + 0x0304u * 2));
        CHECK_EQ(d.log[i].size, 2);
        CHECK(!d.log[i].write);
    }
    CHECK_EQ(*(uint8_t *)th_mem(&t, TH_DATA + 0x10a), 0xee);
    CHECK_EQ(t.cpu.r[R_DI], TH_DATA + 0x10a);

    /* OUTSD without REP: one dword, RCX untouched */
    d.n = 0;
    t.cpu.r[R_SI] = TH_DATA;
    t.cpu.r[R_CX] = 3;
    CHECK_EQ(th_run(&t, outsd, sizeof outsd), TH_HALT);
    CHECK_EQ(d.n, 1);
    CHECK_EQ(d.log[0].size, 4);
    CHECK_EQ(d.log[0].val, 0x54524f50); /* "PORT" */
    CHECK_EQ(t.cpu.r[R_CX], 3);
    CHECK_EQ(t.cpu.r[R_SI], TH_DATA + 4);
    th_destroy(&t);
}

/* A 32-bit TSS at 0x4000 with an I/O bitmap at offset 0x68. */
static void io_tss(struct th *t, uint32_t limit)
{
    uint8_t *tss = th_mem(t, 0x4000);
    memset(tss, 0, 0x68 + 0x2000 + 1);
    tss[0x66] = 0x68;
    tss[0x67] = 0;
    t->cpu.tr = (struct seg){ .base = 0x4000, .limit = limit, .ar = 0x8b, .sel = 0x28 };
}

static void io_allow_port(struct th *t, unsigned port, bool deny)
{
    uint8_t *map = (uint8_t *)th_mem(t, 0x4000) + 0x68;
    if (deny)
        map[port >> 3] |= (uint8_t)(1u << (port & 7));
    else
        map[port >> 3] &= (uint8_t)~(1u << (port & 7));
}

TEST(io_permission_bitmap)
{
    struct th t;
    struct tdev d;
    io_setup(&t, TH_PROT32, &d);
    io_tss(&t, 0x68 + 0x2000);
    /* CPL 0, IOPL 0: always allowed */
    CHECK(io_allowed(&t.cpu, 0x300, 4));
    /* CPL 3 (hand-set, as the engine derives it from CS.RPL) */
    t.cpu.cpl = 3;
    CHECK(io_allowed(&t.cpu, 0x300, 4)); /* bitmap all clear */
    io_allow_port(&t, 0x302, true);
    CHECK(io_allowed(&t.cpu, 0x300, 2));
    CHECK(!io_allowed(&t.cpu, 0x300, 4)); /* covers 0x302 */
    CHECK(!io_allowed(&t.cpu, 0x302, 1));
    CHECK(io_allowed(&t.cpu, 0x303, 1));
    /* A dword spanning two bitmap bytes */
    io_allow_port(&t, 0x308, true);
    CHECK(!io_allowed(&t.cpu, 0x306, 4));
    CHECK(io_allowed(&t.cpu, 0x304, 4));
    /* IOPL 3 bypasses the bitmap outside virtual-8086 mode */
    t.cpu.rflags |= FL_IOPL;
    CHECK(io_allowed(&t.cpu, 0x302, 1));
    /* ... but not in virtual-8086 mode */
    t.cpu.rflags |= FL_VM;
    CHECK(!io_allowed(&t.cpu, 0x302, 1));
    CHECK(io_allowed(&t.cpu, 0x303, 1));
    t.cpu.rflags &= ~(uint64_t)(FL_VM | FL_IOPL);
    /* Ports whose bitmap bytes lie beyond the TSS limit are denied */
    io_tss(&t, 0x68 + 0x20); /* bytes 0..0x20 of the map: ports 0..0xff */
    CHECK(io_allowed(&t.cpu, 0xe0, 1));
    CHECK(io_allowed(&t.cpu, 0xff, 1));   /* reads map bytes 0x1f-0x20: inside */
    CHECK(!io_allowed(&t.cpu, 0x100, 1)); /* map byte 0x21 is beyond the limit */
    CHECK(!io_allowed(&t.cpu, 0x300, 1));
    /* a 16-bit TSS has no bitmap */
    io_tss(&t, 0x68 + 0x2000);
    t.cpu.tr.ar = 0x83;
    CHECK(!io_allowed(&t.cpu, 0x300, 1));
    /* real mode: no checks */
    t.cpu.cr0 &= ~CR0_PE;
    CHECK(io_allowed(&t.cpu, 0x300, 1));
    th_destroy(&t);
}

/* End to end: IN at CPL 3 with IOPL 0 faults when the bitmap denies it. */
TEST(io_cpl3_gp_from_bitmap)
{
    static const uint8_t code[] = { 0x66, 0xed, 0xee, 0xf4 }; /* in ax, dx; out dx, al */
    struct th t;
    struct tdev d;
    io_setup(&t, TH_PROT32, &d);
    io_tss(&t, 0x68 + 0x2000);
    io_allow_port(&t, 0x301, true);
    cpu_set_seg(&t.cpu, SEG_SS, 0x23, 0, 0xffffffff, 0xc0f3);
    cpu_set_seg(&t.cpu, SEG_CS, 0x1b, 0, 0xffffffff, 0xc0fb);
    CHECK_EQ(t.cpu.cpl, 3);
    t.cpu.r[R_DX] = 0x300; /* AX covers 0x300-0x301: denied */
    t.cpu.r[R_AX] = 0x1234;
    CHECK_EQ(th_run(&t, code, sizeof code), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    CHECK_EQ(t.error, 0);
    CHECK_EQ(t.cpu.rip, TH_CODE);
    CHECK_EQ(t.cpu.r[R_AX], 0x1234);
    CHECK_EQ(d.n, 0);

    t.cpu.r[R_DX] = 0x302; /* allowed: both accesses happen, then HLT #GPs */
    CHECK_EQ(th_run(&t, code, sizeof code), TH_EXCEPTION);
    CHECK_EQ(d.n, 2);
    CHECK_EQ(t.cpu.rip, TH_CODE + 3);
    th_destroy(&t);
}
