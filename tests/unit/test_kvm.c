/* test_kvm.c — the KVM engine's host-independent parts: port I/O and MMIO
 * exits through a real bus (incl. string I/O), boot state, guest page
 * walks, CPUID policy, `nestvm check`'s verdict and its JSON writer.
 * Nothing here needs /dev/kvm. */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw/bus.h"
#include "kvm/check.h"
#include "kvm/json.h"
#include "kvm/kvm_priv.h"

/* ---------- a recording device ---------- */

struct rec_dev {
    int nw, nr;
    uint64_t off[16], val[16];
    unsigned size[16];
    uint64_t next_read;
};

static uint64_t rec_read(void *opaque, uint64_t off, unsigned size)
{
    struct rec_dev *d = opaque;
    d->nr++;
    return d->next_read++ | (off << 24);
}

static void rec_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct rec_dev *d = opaque;
    if (d->nw < 16) {
        d->off[d->nw] = off;
        d->val[d->nw] = val;
        d->size[d->nw] = size;
    }
    d->nw++;
}

static const struct io_ops rec_ops = { rec_read, rec_write };

#define RUN_SIZE 4096
static _Alignas(64) uint8_t run_page[RUN_SIZE];

static struct kvm_run *io_run(uint8_t dir, unsigned size, uint16_t port, uint32_t count,
                              uint64_t data_offset)
{
    memset(run_page, 0, sizeof run_page);
    struct kvm_run *r = (struct kvm_run *)run_page;
    r->exit_reason = KVM_EXIT_IO;
    r->io.direction = dir;
    r->io.size = (uint8_t)size;
    r->io.port = port;
    r->io.count = count;
    r->io.data_offset = data_offset;
    return r;
}

TEST(kvm_io_string_out_goes_to_the_device_in_order)
{
    struct bus b;
    struct rec_dev d = { 0 };
    bus_init(&b, 16 << 20);
    bus_register(&b, BUS_PIO, 0x300, 4, &rec_ops, &d);
    struct kvm_run *r = io_run(KVM_EXIT_IO_OUT, 2, 0x302, 3, 1024);
    uint16_t vals[3] = { 0x1111, 0x2222, 0xbeef };
    memcpy(run_page + 1024, vals, sizeof vals);
    CHECK_EQ(kvm_handle_io(&b, r, RUN_SIZE), 0);
    CHECK_EQ(d.nw, 3);
    CHECK_EQ(d.off[0], 2);
    CHECK_EQ(d.size[0], 2);
    CHECK_EQ(d.val[0], 0x1111);
    CHECK_EQ(d.val[1], 0x2222);
    CHECK_EQ(d.val[2], 0xbeef);
    bus_destroy(&b);
}

TEST(kvm_io_string_in_fills_every_item)
{
    struct bus b;
    struct rec_dev d = { .next_read = 0x10 };
    bus_init(&b, 16 << 20);
    bus_register(&b, BUS_PIO, 0x300, 4, &rec_ops, &d);
    struct kvm_run *r = io_run(KVM_EXIT_IO_IN, 1, 0x300, 4, 512);
    memset(run_page + 512, 0xaa, 8);
    CHECK_EQ(kvm_handle_io(&b, r, RUN_SIZE), 0);
    CHECK_EQ(d.nr, 4);
    CHECK_EQ(run_page[512], 0x10);
    CHECK_EQ(run_page[513], 0x11);
    CHECK_EQ(run_page[515], 0x13);
    CHECK_EQ(run_page[516], 0xaa); /* nothing past count * size */
    /* 4-byte IN from an unclaimed port reads all-ones */
    r = io_run(KVM_EXIT_IO_IN, 4, 0x80, 1, 256);
    CHECK_EQ(kvm_handle_io(&b, r, RUN_SIZE), 0);
    uint32_t v;
    memcpy(&v, run_page + 256, 4);
    CHECK_EQ(v, 0xffffffffu);
    bus_destroy(&b);
}

TEST(kvm_io_rejects_malformed_exits)
{
    struct bus b;
    struct rec_dev d = { 0 };
    bus_init(&b, 16 << 20);
    bus_register(&b, BUS_PIO, 0x300, 4, &rec_ops, &d);
    CHECK_EQ(kvm_handle_io(&b, io_run(KVM_EXIT_IO_OUT, 3, 0x300, 1, 512), RUN_SIZE), -1);
    CHECK_EQ(kvm_handle_io(&b, io_run(KVM_EXIT_IO_OUT, 4, 0x300, 1, RUN_SIZE), RUN_SIZE), -1);
    CHECK_EQ(kvm_handle_io(&b, io_run(KVM_EXIT_IO_OUT, 4, 0x300, 1, RUN_SIZE - 4), RUN_SIZE), 0);
    CHECK_EQ(kvm_handle_io(&b, io_run(KVM_EXIT_IO_OUT, 4, 0x300, 1000, 512), RUN_SIZE), -1);
    CHECK_EQ(kvm_handle_io(&b, io_run(KVM_EXIT_IO_IN, 2, 0x300, 0xffffffffu, 8), RUN_SIZE), -1);
    CHECK_EQ(kvm_handle_io(&b, io_run(KVM_EXIT_IO_OUT, 1, 0x300, 1, UINT64_MAX), RUN_SIZE),
             -1);
    CHECK_EQ(d.nw, 1); /* only the well-formed one reached the device */
    CHECK_EQ(d.nr, 0);
    bus_destroy(&b);
}

TEST(kvm_mmio_exit_reaches_the_bus)
{
    struct bus b;
    struct rec_dev d = { .next_read = 0x55 };
    bus_init(&b, 16 << 20);
    bus_register(&b, BUS_MMIO, 0xd0000000ull, 0x100, &rec_ops, &d);
    struct kvm_run *r = (struct kvm_run *)run_page;
    memset(run_page, 0, sizeof run_page);
    r->exit_reason = KVM_EXIT_MMIO;
    r->mmio.phys_addr = 0xd0000010ull;
    r->mmio.len = 4;
    r->mmio.is_write = 1;
    uint32_t w = 0xcafe1234;
    memcpy(r->mmio.data, &w, 4);
    CHECK_EQ(kvm_handle_mmio(&b, r), 0);
    CHECK_EQ(d.nw, 1);
    CHECK_EQ(d.off[0], 0x10);
    CHECK_EQ(d.val[0], 0xcafe1234);
    CHECK_EQ(d.size[0], 4);

    r->mmio.is_write = 0;
    r->mmio.len = 8;
    r->mmio.phys_addr = 0xd0000008ull;
    CHECK_EQ(kvm_handle_mmio(&b, r), 0);
    uint64_t v;
    memcpy(&v, r->mmio.data, 8);
    CHECK_EQ(v, 0x55 | (8ull << 24));

    /* an odd length is split into bytes */
    r->mmio.is_write = 1;
    r->mmio.len = 3;
    r->mmio.phys_addr = 0xd0000020ull;
    memcpy(r->mmio.data, "\x01\x02\x03", 3);
    CHECK_EQ(kvm_handle_mmio(&b, r), 0);
    CHECK_EQ(d.nw, 4);
    CHECK_EQ(d.off[3], 0x22);
    CHECK_EQ(d.val[3], 3);
    CHECK_EQ(d.size[3], 1);

    /* unclaimed MMIO reads all-ones */
    r->mmio.is_write = 0;
    r->mmio.len = 4;
    r->mmio.phys_addr = 0xe0000000ull;
    CHECK_EQ(kvm_handle_mmio(&b, r), 0);
    memcpy(&w, r->mmio.data, 4);
    CHECK_EQ(w, 0xffffffffu);

    r->mmio.len = 0;
    CHECK_EQ(kvm_handle_mmio(&b, r), -1);
    r->mmio.len = 9;
    CHECK_EQ(kvm_handle_mmio(&b, r), -1);
    bus_destroy(&b);
}

/* ---------- boot state ---------- */

TEST(kvm_seg_from_vmcs_access_rights)
{
    struct kvm_segment s;
    kvm_seg_from_ar(&s, 0x10, 0, 0xffffffff, 0xa09b);
    CHECK_EQ(s.selector, 0x10);
    CHECK_EQ(s.type, 0xb);
    CHECK_EQ(s.s, 1);
    CHECK_EQ(s.dpl, 0);
    CHECK_EQ(s.present, 1);
    CHECK_EQ(s.l, 1);
    CHECK_EQ(s.db, 0);
    CHECK_EQ(s.g, 1);
    CHECK_EQ(s.unusable, 0);
    kvm_seg_from_ar(&s, 0x2b, 0x1000, 0xffff, 0x100f3);
    CHECK_EQ(s.dpl, 3);
    CHECK_EQ(s.type, 3);
    CHECK_EQ(s.g, 0);
    CHECK_EQ(s.unusable, 1);
    CHECK_EQ(s.base, 0x1000);
}

TEST(kvm_boot_state_long_mode_and_multiboot)
{
    struct boot_entry be = {
        .mode = BOOT_MODE_LONG64, .rip = 0x1000000, .rsp = 0x6000, .rsi = 0x7000,
        .cr3 = 0x9000, .gdt_base = 0x6000, .gdt_limit = 0x2f, .cs_sel = 0x10, .ds_sel = 0x18,
    };
    struct kvm_sregs sr;
    struct kvm_regs rg;
    memset(&sr, 0xff, sizeof sr);
    kvm_boot_state(&be, &sr, &rg);
    CHECK_EQ(sr.cr0, 0x80000031ull); /* PG | NE | ET | PE */
    CHECK_EQ(sr.cr4, 0x20);          /* PAE */
    CHECK_EQ(sr.efer, 0x500);        /* LMA | LME */
    CHECK_EQ(sr.cr3, 0x9000);
    CHECK_EQ(sr.cs.selector, 0x10);
    CHECK_EQ(sr.cs.l, 1);
    CHECK_EQ(sr.cs.db, 0);
    CHECK_EQ(sr.ss.selector, 0x18);
    CHECK_EQ(sr.ss.db, 1);
    CHECK_EQ(sr.gs.type, 3);
    CHECK_EQ(sr.tr.type, 0xb);
    CHECK_EQ(sr.tr.present, 1);
    CHECK_EQ(sr.ldt.type, 2);
    CHECK_EQ(sr.gdt.base, 0x6000);
    CHECK_EQ(sr.gdt.limit, 0x2f);
    CHECK_EQ(sr.idt.limit, 0);
    CHECK_EQ(rg.rip, 0x1000000);
    CHECK_EQ(rg.rsp, 0x6000);
    CHECK_EQ(rg.rsi, 0x7000);
    CHECK_EQ(rg.rflags, 2);
    CHECK_EQ(rg.rcx, 0);

    struct boot_entry mb = {
        .mode = BOOT_MODE_PROT32, .rip = 0x100010, .rsp = 0x6000, .rax = 0x2badb002,
        .rbx = 0x7000, .gdt_base = 0x6000, .gdt_limit = 0x17, .cs_sel = 0x8, .ds_sel = 0x10,
    };
    kvm_boot_state(&mb, &sr, &rg);
    CHECK_EQ(sr.cr0, 0x31); /* PE without paging */
    CHECK_EQ(sr.cr4, 0);
    CHECK_EQ(sr.efer, 0);
    CHECK_EQ(sr.cs.l, 0);
    CHECK_EQ(sr.cs.db, 1);
    CHECK_EQ(sr.cs.limit, 0xffffffffu);
    CHECK_EQ(rg.rax, 0x2badb002);
    CHECK_EQ(rg.rbx, 0x7000);
}

/* ---------- guest page walks ---------- */

static void put64(struct bus *b, uint64_t gpa, uint64_t v)
{
    memcpy(bus_ram_ptr(b, gpa, 8), &v, 8);
}

static void put32(struct bus *b, uint64_t gpa, uint32_t v)
{
    memcpy(bus_ram_ptr(b, gpa, 4), &v, 4);
}

TEST(kvm_translate_four_level_paging)
{
    struct bus b;
    bus_init(&b, 16 << 20);
    struct kvm_sregs sr;
    memset(&sr, 0, sizeof sr);
    sr.cr0 = 0x80000011;
    sr.cr4 = 0x20;
    sr.efer = 0x500;
    sr.cr3 = 0x10000;
    /* lin 0xffffffff80201234 → PML4[511] PDPT[510] PD[1] PT[1] */
    put64(&b, 0x10000 + 511 * 8, 0x11000 | 3);
    put64(&b, 0x11000 + 510 * 8, 0x12000 | 3);
    put64(&b, 0x12000 + 1 * 8, 0x13000 | 3);
    put64(&b, 0x13000 + 1 * 8, 0x345000 | 3);
    uint64_t gpa = 0;
    CHECK(kvm_guest_translate(&b, &sr, 0xffffffff80201234ull, &gpa));
    CHECK_EQ(gpa, 0x345234);
    /* 2 MiB page at PD[2] */
    put64(&b, 0x12000 + 2 * 8, 0x600000 | 0x83);
    CHECK(kvm_guest_translate(&b, &sr, 0xffffffff80412345ull, &gpa));
    CHECK_EQ(gpa, 0x612345);
    /* 1 GiB page at PML4[0] PDPT[1] */
    put64(&b, 0x10000, 0x14000 | 3);
    put64(&b, 0x14000 + 8, 0x40000000 | 0x83);
    CHECK(kvm_guest_translate(&b, &sr, 0x40abcdefull, &gpa));
    CHECK_EQ(gpa, 0x40abcdef);
    /* not present */
    CHECK(!kvm_guest_translate(&b, &sr, 0xffffffff80601000ull, &gpa));
    /* a table outside RAM */
    put64(&b, 0x12000 + 4 * 8, 0x7ff000000ull | 3);
    CHECK(!kvm_guest_translate(&b, &sr, 0xffffffff80800000ull, &gpa));
    /* code bytes through the walk */
    memcpy(bus_ram_ptr(&b, 0x345234, 3), "\x0f\x0b\x90", 3);
    sr.cs.l = 1;
    uint8_t code[15];
    CHECK_EQ(kvm_guest_code_bytes(&b, &sr, 0xffffffff80201234ull, code, 3), 3);
    CHECK_EQ(code[0], 0x0f);
    CHECK_EQ(code[1], 0x0b);
    /* stops at the first unmapped byte */
    CHECK_EQ(kvm_guest_code_bytes(&b, &sr, 0xffffffff80201ffeull, code, 15), 2);
    bus_destroy(&b);
}

TEST(kvm_translate_legacy_modes)
{
    struct bus b;
    bus_init(&b, 16 << 20);
    struct kvm_sregs sr;
    memset(&sr, 0, sizeof sr);
    uint64_t gpa;
    /* real mode: cs.base + 16-bit IP, no paging */
    sr.cs.base = 0x10000;
    memcpy(bus_ram_ptr(&b, 0x1fffe, 4), "\xaa\xbb\xcc\xdd", 4);
    memcpy(bus_ram_ptr(&b, 0x10000, 1), "\xee", 1);
    uint8_t code[4];
    CHECK_EQ(kvm_guest_code_bytes(&b, &sr, 0xfffe, code, 3), 3);
    CHECK_EQ(code[0], 0xaa);
    CHECK_EQ(code[2], 0xee); /* IP wraps at 64 KiB */
    /* 32-bit paging: 4 KiB page and a 4 MiB PSE page */
    sr.cr0 = 0x80000011;
    sr.cr3 = 0x20000;
    put32(&b, 0x20000 + 1 * 4, 0x21000 | 3);
    put32(&b, 0x21000 + 2 * 4, 0x456000 | 3);
    CHECK(kvm_guest_translate(&b, &sr, 0x00402abcull, &gpa));
    CHECK_EQ(gpa, 0x456abc);
    put32(&b, 0x20000 + 3 * 4, 0x00800000 | 0x83);
    CHECK(!kvm_guest_translate(&b, &sr, 0x00c01234ull, &gpa)); /* PS ignored without PSE */
    sr.cr4 = 0x10;
    CHECK(kvm_guest_translate(&b, &sr, 0x00c01234ull, &gpa));
    CHECK_EQ(gpa, 0x801234);
    /* PAE: PDPTE → PD → PT */
    sr.cr4 = 0x20;
    sr.cr3 = 0x30000;
    put64(&b, 0x30000 + 2 * 8, 0x31000 | 1);
    put64(&b, 0x31000 + 3 * 8, 0x32000 | 3);
    put64(&b, 0x32000 + 4 * 8, 0x789000 | 3);
    CHECK(kvm_guest_translate(&b, &sr, 0x80604321ull, &gpa));
    CHECK_EQ(gpa, 0x789321);
    CHECK(!kvm_guest_translate(&b, &sr, 0xc0000000ull, &gpa));
    bus_destroy(&b);
}

/* ---------- CPUID policy ---------- */

static struct kvm_cpuid2 *cpuid_table(void)
{
    struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 5 * sizeof(struct kvm_cpuid_entry2));
    c->nent = 5;
    c->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .ebx = 0x00010800,
                                               .ecx = 0x80202021, .edx = 0x078bfbff };
    c->entries[1] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 0,
                                               .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
                                               .eax = 1, .edx = 0 };
    c->entries[2] = (struct kvm_cpuid_entry2){ .function = 0xb, .index = 1,
                                               .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX,
                                               .eax = 4, .edx = 0 };
    c->entries[3] = (struct kvm_cpuid_entry2){ .function = 0x80000001, .ecx = 0x00000007 };
    c->entries[4] = (struct kvm_cpuid_entry2){ .function = 0x40000000, .ebx = 0x4b4d564b };
    return c;
}

TEST(kvm_cpuid_nested_disabled_clears_vmx)
{
    struct kvm_cpuid2 *c = cpuid_table();
    CHECK(kvm_cpuid_has_vmx(c));
    CHECK(kvm_cpuid_has_svm(c));
    kvm_cpuid_for_vcpu(c, 3, 4, false);
    CHECK(!kvm_cpuid_has_vmx(c));
    CHECK(!kvm_cpuid_has_svm(c));
    struct kvm_cpuid_entry2 *e = kvm_cpuid_find(c, 1, 0);
    CHECK_EQ(e->ebx >> 24, 3);          /* initial APIC ID */
    CHECK_EQ((e->ebx >> 16) & 0xff, 4); /* logical processors */
    CHECK_EQ(e->ebx & 0xffff, 0x0800);  /* CLFLUSH size etc. kept */
    CHECK(e->edx & (1u << 28));         /* HTT */
    CHECK_EQ(e->ecx, 0x80202001);       /* only VMX went */
    CHECK_EQ(kvm_cpuid_find(c, 0xb, 1)->edx, 3);
    CHECK_EQ(kvm_cpuid_find(c, 0xb, 1)->eax, 4);
    CHECK_EQ(kvm_cpuid_find(c, 0xb, 0)->edx, 3);
    CHECK_EQ(kvm_cpuid_find(c, 0x80000001, 0)->ecx, 3);
    CHECK(kvm_cpuid_find(c, 0xb, 2) == NULL);
    CHECK(kvm_cpuid_find(c, 7, 0) == NULL);
    free(c);
}

TEST(kvm_cpuid_nested_enabled_keeps_vmx)
{
    struct kvm_cpuid2 *c = cpuid_table();
    kvm_cpuid_for_vcpu(c, 0, 1, true);
    CHECK(kvm_cpuid_has_vmx(c));
    CHECK(!kvm_cpuid_has_svm(c));
    struct kvm_cpuid_entry2 *e = kvm_cpuid_find(c, 1, 0);
    CHECK_EQ(e->ebx >> 24, 0);
    CHECK_EQ((e->ebx >> 16) & 0xff, 1);
    CHECK(e->ecx & (1u << 13)); /* CX16 */
    kvm_cpuid_pvm_quirks(c);
    CHECK(!(e->ecx & (1u << 13)));
    CHECK(e->ecx & (1u << 21)); /* x2APIC stays */
    CHECK(kvm_cpuid_has_vmx(c));
    free(c);
}

/* ---------- host facts and verdicts ---------- */

static void good_host(struct kvm_host_info *h)
{
    memset(h, 0, sizeof(*h));
    strcpy(h->path, "/dev/kvm");
    h->present = true;
    h->api_version = 12;
    h->vm_ok = true;
    h->flavour = "intel";
    h->mod_intel = true;
    h->cap_nested_state = 8192;
    h->cap_irqchip = h->cap_user_memory = h->cap_immediate_exit = h->cap_ext_cpuid = 1;
    h->cap_irq_routing = 4096;
    h->cap_set_tss_addr = 1;
    h->max_vcpus = 1024;
    h->cpuid_ok = true;
    h->vmx_in_cpuid = true;
}

TEST(kvm_host_unusable_reasons)
{
    struct kvm_host_info h;
    char buf[256];
    good_host(&h);
    CHECK(kvm_host_unusable_reason(&h, 16, true, buf, sizeof buf) == NULL);
    h.max_vcpus = 2;
    CHECK(kvm_host_unusable_reason(&h, 4, false, buf, sizeof buf) != NULL);
    CHECK(strstr(buf, "4 requested") != NULL);
    good_host(&h);
    h.vmx_in_cpuid = false;
    h.flavour = "pvm";
    CHECK(kvm_host_unusable_reason(&h, 1, false, buf, sizeof buf) == NULL);
    CHECK(kvm_host_unusable_reason(&h, 1, true, buf, sizeof buf) != NULL);
    CHECK(strstr(buf, "VMX") && strstr(buf, "pvm"));
    good_host(&h);
    h.cap_nested_state = 0;
    CHECK(kvm_host_unusable_reason(&h, 1, true, buf, sizeof buf) != NULL);
    CHECK(strstr(buf, "KVM_CAP_NESTED_STATE") != NULL);
    good_host(&h);
    h.cap_immediate_exit = 0;
    CHECK(kvm_host_unusable_reason(&h, 1, false, buf, sizeof buf) != NULL);
    CHECK(strstr(buf, "KVM_CAP_IMMEDIATE_EXIT") != NULL);
    good_host(&h);
    h.open_errno = ENOENT;
    strcpy(h.path, "/nonexistent");
    CHECK(kvm_host_unusable_reason(&h, 1, false, buf, sizeof buf) != NULL);
    CHECK(strstr(buf, "cannot open /nonexistent") != NULL);
}

TEST(kvm_host_flavour_from_sysfs_modules)
{
    char dir[] = "/tmp/nestvm-test-mod-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    bool i, a, p;
    CHECK(strcmp(kvm_host_flavour(dir, &i, &a, &p), "none") == 0);
    char sub[128];
    snprintf(sub, sizeof sub, "%s/kvm_intel", dir);
    mkdir(sub, 0700);
    CHECK(strcmp(kvm_host_flavour(dir, &i, &a, &p), "intel") == 0);
    CHECK(i && !a && !p);
    snprintf(sub, sizeof sub, "%s/kvm_pvm", dir);
    mkdir(sub, 0700);
    CHECK(strcmp(kvm_host_flavour(dir, &i, &a, &p), "pvm") == 0);
    CHECK(i && p);
    rmdir(sub);
    snprintf(sub, sizeof sub, "%s/kvm_intel", dir);
    rmdir(sub);
    rmdir(dir);
}

static void facts_for(struct check_facts *f)
{
    memset(f, 0, sizeof(*f));
    strcpy(f->cpu_vendor, "GenuineIntel");
    good_host(&f->kvm);
    f->nintel = 1;
    f->intel[0].name = "nested";
    f->intel[0].present = true;
    strcpy(f->intel[0].value, "Y");
}

TEST(check_verdicts)
{
    struct check_facts f;
    char why[768];
    enum check_fix fix;
    facts_for(&f);
    CHECK(check_kvm_nested(&f, why, sizeof why, &fix));
    CHECK_EQ(fix, CHECK_FIX_NONE);

    /* kvm_intel with nested=N: the commands to enable it */
    strcpy(f.intel[0].value, "N");
    f.kvm.vmx_in_cpuid = false;
    CHECK(!check_kvm_nested(&f, why, sizeof why, &fix));
    CHECK_EQ(fix, CHECK_FIX_RELOAD);
    CHECK(strstr(why, "modprobe -r kvm_intel && modprobe kvm_intel nested=1") != NULL);
    CHECK(strstr(why, "echo 'options kvm_intel nested=1' > /etc/modprobe.d/kvm-nested.conf"));

    /* PVM: nothing to fix */
    facts_for(&f);
    f.kvm.mod_intel = false;
    f.kvm.mod_pvm = true;
    f.kvm.flavour = "pvm";
    f.kvm.vmx_in_cpuid = false;
    f.kvm.cap_nested_state = 0;
    CHECK(!check_kvm_nested(&f, why, sizeof why, &fix));
    CHECK_EQ(fix, CHECK_FIX_NONE);
    CHECK(strstr(why, "PVM") != NULL);

    /* AMD */
    facts_for(&f);
    f.kvm.mod_intel = false;
    f.kvm.mod_amd = true;
    f.kvm.vmx_in_cpuid = false;
    f.kvm.svm_in_cpuid = true;
    CHECK(!check_kvm_nested(&f, why, sizeof why, &fix));
    CHECK(strstr(why, "SVM") != NULL);

    /* no /dev/kvm on a VT-x CPU: load the module */
    facts_for(&f);
    f.cpuinfo_vmx = true;
    f.kvm.present = false;
    f.kvm.open_errno = ENOENT;
    CHECK(!check_kvm_nested(&f, why, sizeof why, &fix));
    CHECK_EQ(fix, CHECK_FIX_LOAD);
    CHECK(strstr(why, "modprobe kvm_intel nested=1") != NULL);
    f.cpuinfo_vmx = false;
    CHECK(!check_kvm_nested(&f, why, sizeof why, &fix));
    CHECK_EQ(fix, CHECK_FIX_NONE);

    /* permission problem */
    facts_for(&f);
    f.kvm.open_errno = EACCES;
    CHECK(!check_kvm_nested(&f, why, sizeof why, &fix));
    CHECK(strstr(why, "kvm group") != NULL);

    /* nested state missing */
    facts_for(&f);
    f.kvm.cap_nested_state = 0;
    CHECK(!check_kvm_nested(&f, why, sizeof why, &fix));
    CHECK(strstr(why, "KVM_CAP_NESTED_STATE") != NULL);
}

TEST(check_json_output_is_complete)
{
    struct check_facts f;
    facts_for(&f);
    strcpy(f.dmi_vendor, "Quote\"Vendor");
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    check_print_json(m, &f);
    fclose(m);
    CHECK(buf && buf[0] == '{');
    CHECK(len > 2 && buf[len - 2] == '}' && buf[len - 1] == '\n');
    CHECK(strstr(buf, "\"dmi_sys_vendor\": \"Quote\\\"Vendor\"") != NULL);
    CHECK(strstr(buf, "\"flavour\": \"intel\"") != NULL);
    CHECK(strstr(buf, "\"kvm_engine_nested_vmx\": true") != NULL);
    CHECK(strstr(buf, "\"software_engine_vmx\": true") != NULL);
    CHECK(strstr(buf, "\"fix_commands\": []") != NULL);
    CHECK(strstr(buf, "\"dmi_product_name\": null") != NULL);
    free(buf);
}

/* ---------- JSON writer ---------- */

static char *json_of(void (*fn)(struct json_out *))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    struct json_out j;
    json_init(&j, m);
    fn(&j);
    fclose(m);
    return buf;
}

static void doc_small(struct json_out *j)
{
    json_begin_object(j);
    json_key(j, "a");
    json_int(j, -5);
    json_key(j, "b");
    json_begin_array(j);
    json_bool(j, true);
    json_null(j);
    json_string(j, "x");
    json_end_array(j);
    json_key(j, "c");
    json_begin_object(j);
    json_end_object(j);
    json_key(j, "d");
    json_string(j, NULL);
    json_end_object(j);
}

TEST(json_structure)
{
    char *s = json_of(doc_small);
    CHECK(strcmp(s, "{\n  \"a\": -5,\n  \"b\": [\n    true,\n    null,\n    \"x\"\n  ],\n"
                    "  \"c\": {},\n  \"d\": null\n}\n") == 0);
    free(s);
}

static void doc_escapes(struct json_out *j)
{
    json_string(j, "q\" b\\ nl\n tab\t cr\r bs\b ff\f c1\x01 del\x7f "
                   "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 bad\xff\xc3 over\xc0\xaf "
                   "sur\xed\xa0\x80 end");
}

TEST(json_string_escaping)
{
    char *s = json_of(doc_escapes);
    CHECK(strcmp(s, "\"q\\\" b\\\\ nl\\n tab\\t cr\\r bs\\b ff\\f c1\\u0001 del\\u007f "
                    "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 bad\\ufffd\\ufffd "
                    "over\\ufffd\\ufffd sur\\ufffd\\ufffd\\ufffd end\"") == 0);
    free(s);
}

TEST(kvm_internal_error_names)
{
    CHECK(strcmp(kvm_internal_error_name(KVM_INTERNAL_ERROR_EMULATION), "emulation failure") == 0);
    CHECK(strstr(kvm_internal_error_name(KVM_INTERNAL_ERROR_DELIVERY_EV), "delivering") != NULL);
    CHECK(strcmp(kvm_internal_error_name(999), "unknown suberror") == 0);
}
