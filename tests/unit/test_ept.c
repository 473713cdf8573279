/*
 * test_ept.c — EPT (SDM Vol.3 28.2): the walker ept_walk() on tables in
 * RAM (4 KiB / 2 MiB / 1 GiB pages, permissions ANDed over the levels,
 * misconfigurations, accessed/dirty flags, tables outside RAM), and L2 code
 * running under EPT on the engine: translation, A/D flags, EPT violations
 * (data, paging-structure access) and misconfigurations as VM exits with
 * their qualification and addresses, and the APIC-access page with a TPR
 * shadow (SDM 29.4).
 */
#include <string.h>

#include "cpu_harness.h"
#include "test.h"
#include "vmx/vmx.h"
#include "vmx/vmx_hooks.h"
#include "vmx_l2_harness.h"

#define PML4 0x300000ull
#define PDPT 0x301000ull
#define PD 0x302000ull
#define PT 0x303000ull
#define EPTP (PML4 | 6 | (3u << 3))
#define WB (6ull << 3)
#define PS (1ull << 7)
#define A_BIT (1ull << 8)
#define D_BIT (1ull << 9)

static struct bus *ept_bus(void)
{
    static struct bus b;
    static bool done;
    if (!done) {
        bus_init(&b, 16u << 20);
        done = true;
    }
    memset(bus_ram_ptr(&b, PML4, 0x4000), 0, 0x4000);
    return &b;
}

static void ent(struct bus *b, uint64_t table, unsigned idx, uint64_t v)
{
    memcpy(bus_ram_ptr(b, table + 8ull * idx, 8), &v, 8);
}

static uint64_t ent_get(struct bus *b, uint64_t table, unsigned idx)
{
    uint64_t v;
    memcpy(&v, bus_ram_ptr(b, table + 8ull * idx, 8), 8);
    return v;
}

/* gpa 0x40201000: PML4[0] → PDPT[1] → PD[1] → PT[1] */
#define GPA4K 0x40201abcull

static struct bus *tables_4k(uint64_t leaf)
{
    struct bus *b = ept_bus();
    ent(b, PML4, 0, PDPT | 7);
    ent(b, PDPT, 1, PD | 7);
    ent(b, PD, 1, PT | 7);
    ent(b, PT, 1, leaf);
    return b;
}

TEST(ept_walk_4k_translation)
{
    struct bus *b = tables_4k(0x5ff000 | WB | 7);
    struct ept_result r;
    CHECK_EQ(ept_walk(b, EPTP, GPA4K, EPT_ACC_READ, &r), EPT_OK);
    CHECK_EQ(r.pa, 0x5ffabc);
    CHECK_EQ(r.perm, 7);
    CHECK_EQ(r.level, 1);
    CHECK_EQ(r.memtype, 6);
    CHECK_EQ(ept_walk(b, EPTP, GPA4K, EPT_ACC_WRITE | EPT_ACC_FETCH, &r), EPT_OK);
    /* a neighbouring PT slot is not present: violation with no permissions */
    CHECK_EQ(ept_walk(b, EPTP, GPA4K + 0x1000, EPT_ACC_READ, &r), EPT_VIOLATION);
    CHECK_EQ(r.perm, 0);
    /* beyond the 48 bits a 4-level walk covers */
    CHECK_EQ(ept_walk(b, EPTP, 1ull << 48, EPT_ACC_READ, &r), EPT_VIOLATION);
}

TEST(ept_walk_large_pages)
{
    struct bus *b = ept_bus();
    struct ept_result r;
    ent(b, PML4, 0, PDPT | 7);
    ent(b, PDPT, 2, 0x40000000 | PS | WB | 7); /* 1 GiB: gpa 2-3 GiB → 1-2 GiB */
    ent(b, PDPT, 0, PD | 7);
    ent(b, PD, 3, 0x200000 | PS | WB | 5);     /* 2 MiB: gpa 6-8 MiB → 2-4 MiB, R-X */
    CHECK_EQ(ept_walk(b, EPTP, 0x80123456, EPT_ACC_WRITE, &r), EPT_OK);
    CHECK_EQ(r.pa, 0x40123456);
    CHECK_EQ(r.level, 3);
    CHECK_EQ(ept_walk(b, EPTP, 0x6abcde, EPT_ACC_FETCH, &r), EPT_OK);
    CHECK_EQ(r.pa, 0x2abcde);
    CHECK_EQ(r.level, 2);
    CHECK_EQ(r.perm, 5);
    CHECK_EQ(ept_walk(b, EPTP, 0x6abcde, EPT_ACC_WRITE, &r), EPT_VIOLATION);
    CHECK_EQ(r.perm, 5);
}

TEST(ept_walk_permissions_and_over_levels)
{
    struct bus *b = tables_4k(0x5ff000 | WB | 7);
    struct ept_result r;
    ent(b, PD, 1, PT | 5); /* the PDE allows read and execute only */
    CHECK_EQ(ept_walk(b, EPTP, GPA4K, EPT_ACC_READ, &r), EPT_OK);
    CHECK_EQ(ept_walk(b, EPTP, GPA4K, EPT_ACC_WRITE, &r), EPT_VIOLATION);
    CHECK_EQ(r.perm, 5);
    ent(b, PD, 1, PT | 7);
    ent(b, PT, 1, 0x5ff000 | WB | 1); /* read-only page */
    CHECK_EQ(ept_walk(b, EPTP, GPA4K, EPT_ACC_FETCH, &r), EPT_VIOLATION);
    CHECK_EQ(r.perm, 1);
    CHECK_EQ(ept_walk(b, EPTP, GPA4K, EPT_ACC_READ, &r), EPT_OK);
}

TEST(ept_walk_misconfigurations)
{
    struct ept_result r;
    static const uint64_t bad_leaf[] = {
        0x5ff000 | WB | 2,               /* write-only */
        0x5ff000 | WB | 6,               /* write + execute without read */
        0x5ff000 | WB | 4,               /* execute-only: not advertised */
        0x5ff000 | (2ull << 3) | 7,      /* memory type 2 */
        0x5ff000 | (3ull << 3) | 7,      /* memory type 3 */
        0x5ff000 | (7ull << 3) | 7,      /* memory type 7 */
        (1ull << 45) | 0x5ff000 | WB | 7 /* address bit above MAXPHYADDR */
    };
    for (unsigned i = 0; i < sizeof(bad_leaf) / sizeof(bad_leaf[0]); i++) {
        struct bus *b = tables_4k(bad_leaf[i]);
        CHECK_EQ(ept_walk(b, EPTP, GPA4K, EPT_ACC_READ, &r), EPT_MISCONFIG);
    }
    /* reserved bits of non-leaf entries and large pages */
    struct bus *b = tables_4k(0x5ff000 | WB | 7);
    ent(b, PD, 1, PT | (1u << 3) | 7);
    CHECK_EQ(ept_walk(b, EPTP, GPA4K, EPT_ACC_READ, &r), EPT_MISCONFIG);
    b = tables_4k(0x5ff000 | WB | 7);
    ent(b, PML4, 0, PDPT | PS | 7); /* no pages at the PML4 level */
    CHECK_EQ(ept_walk(b, EPTP, GPA4K, EPT_ACC_READ, &r), EPT_MISCONFIG);
    b = tables_4k(0x5ff000 | WB | 7);
    ent(b, PD, 1, 0x201000 | PS | WB | 7); /* 2 MiB page, bit 12 set */
    CHECK_EQ(ept_walk(b, EPTP, GPA4K, EPT_ACC_READ, &r), EPT_MISCONFIG);
    b = tables_4k(0x5ff000 | WB | 7);
    ent(b, PDPT, 1, 0x40100000 | PS | WB | 7); /* 1 GiB page, bit 20 set */
    CHECK_EQ(ept_walk(b, EPTP, GPA4K, EPT_ACC_READ, &r), EPT_MISCONFIG);
    /* bit 6 (ignore PAT in a leaf) is reserved in a non-leaf entry */
    b = tables_4k(0x5ff000 | WB | 7);
    ent(b, PDPT, 1, PD | (1u << 6) | 7);
    CHECK_EQ(ept_walk(b, EPTP, GPA4K, EPT_ACC_READ, &r), EPT_MISCONFIG);
    /* a misconfigured entry that is not present is a violation */
    b = tables_4k((1ull << 45) | WB);
    CHECK_EQ(ept_walk(b, EPTP, GPA4K, EPT_ACC_READ, &r), EPT_VIOLATION);
}

TEST(ept_walk_tables_outside_ram)
{
    struct bus *b = tables_4k(0x5ff000 | WB | 7);
    struct ept_result r;
    /* a PT pointer into the hole below 4 GiB reads as all-ones: reserved
     * bits, misconfiguration — and nothing is written there */
    ent(b, PD, 1, 0x80000000ull | 7);
    CHECK_EQ(ept_walk(b, EPTP | (1u << 6), GPA4K, EPT_ACC_WRITE, &r), EPT_MISCONFIG);
    /* so does an EPTP pointing outside RAM */
    CHECK_EQ(ept_walk(b, 0xfff000000ull | 6 | (3u << 3), GPA4K, EPT_ACC_READ, &r),
             EPT_MISCONFIG);
    /* a self-referencing table terminates after four levels */
    b = ept_bus();
    ent(b, PML4, 0, PML4 | 7);
    CHECK_EQ(ept_walk(b, EPTP, 0, EPT_ACC_READ, &r), EPT_OK);
    CHECK_EQ(r.pa, PML4);
}

TEST(ept_walk_accessed_dirty_flags)
{
    struct bus *b = tables_4k(0x5ff000 | WB | 7);
    struct ept_result r;
    /* without EPTP bit 6 nothing is written */
    CHECK_EQ(ept_walk(b, EPTP, GPA4K, EPT_ACC_WRITE, &r), EPT_OK);
    CHECK_EQ(ent_get(b, PT, 1) & (A_BIT | D_BIT), 0);
    CHECK_EQ(ent_get(b, PML4, 0) & A_BIT, 0);
    /* reads set A on every level, not D */
    CHECK_EQ(ept_walk(b, EPTP | (1u << 6), GPA4K, EPT_ACC_READ, &r), EPT_OK);
    CHECK_EQ(ent_get(b, PML4, 0) & (A_BIT | D_BIT), A_BIT);
    CHECK_EQ(ent_get(b, PDPT, 1) & (A_BIT | D_BIT), A_BIT);
    CHECK_EQ(ent_get(b, PD, 1) & (A_BIT | D_BIT), A_BIT);
    CHECK_EQ(ent_get(b, PT, 1) & (A_BIT | D_BIT), A_BIT);
    /* writes set D on the leaf only */
    CHECK_EQ(ept_walk(b, EPTP | (1u << 6), GPA4K, EPT_ACC_WRITE, &r), EPT_OK);
    CHECK_EQ(ent_get(b, PT, 1) & (A_BIT | D_BIT), A_BIT | D_BIT);
    CHECK_EQ(ent_get(b, PD, 1) & D_BIT, 0);
    /* a 2 MiB leaf gets D */
    ent(b, PD, 1, 0x400000 | PS | WB | 7);
    CHECK_EQ(ept_walk(b, EPTP | (1u << 6), GPA4K, EPT_ACC_WRITE, &r), EPT_OK);
    CHECK_EQ(ent_get(b, PD, 1) & (A_BIT | D_BIT), A_BIT | D_BIT);
    /* a failing walk sets nothing */
    ent(b, PD, 1, PT | 7);
    ent(b, PT, 1, 0x5ff000 | WB | 1);
    CHECK_EQ(ept_walk(b, EPTP | (1u << 6), GPA4K, EPT_ACC_WRITE, &r), EPT_VIOLATION);
    CHECK_EQ(ent_get(b, PT, 1) & (A_BIT | D_BIT), 0);
}

/* ---------------- L2 under EPT on the engine ---------------- */

#define REMAP_PA 0x500000ull

TEST(ept_l2_translation_and_ad_flags)
{
    struct th t;
    vl2_init(&t, 0, 0, 0);
    vl2_ept(&t, true);
    *vl2_ept_pte(&t, 0) = REMAP_PA | VL2_EPT_WB | 7; /* gpa 0x200000 → 0x500000 */
    vl2_put64(&t, REMAP_PA, 0x1122334455667788ull);
    vl2_put64(&t, VL2_PT_BASE, 0xdeadull);
    static const uint8_t code[] = {
        0x48, 0x8b, 0x04, 0x25, 0x00, 0x00, 0x20, 0x00, /* mov rax, [0x200000] */
        0x48, 0x89, 0x1c, 0x25, 0x08, 0x00, 0x20, 0x00, /* mov [0x200008], rbx */
        0xf4,                                           /* hlt */
    };
    t.cpu.r[R_BX] = 0xabcdef;
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK_EQ(t.cpu.r[R_AX], 0x1122334455667788ull);
    CHECK_EQ(vl2_get64(&t, REMAP_PA + 8), 0xabcdef);
    CHECK_EQ(vl2_get64(&t, VL2_PT_BASE + 8), 0); /* the identity page is untouched */
    CHECK_EQ(*vl2_ept_pte(&t, 0) & (A_BIT | D_BIT), A_BIT | D_BIT);
    CHECK_EQ(*vl2_ept_pte(&t, 1) & A_BIT, 0);
    /* code page: accessed; with A/D on, L2's own page-table reads (in the
     * same 2 MiB page) count as writes, so it is dirty too (28.2.4) */
    CHECK_EQ(vl2_get64(&t, VL2_EPT_PD) & (A_BIT | D_BIT), A_BIT | D_BIT);
    vl2_destroy(&t);
}

TEST(ept_l2_violation_exit)
{
    struct th t;
    vl2_init(&t, 0, 0, 0);
    vl2_ept(&t, false);
    *vl2_ept_pte(&t, 1) = (VL2_PT_BASE + 0x1000) | VL2_EPT_WB | 1; /* read-only */
    static const uint8_t code[] = {
        0x48, 0x8b, 0x04, 0x25, 0x10, 0x10, 0x20, 0x00, /* mov rax, [0x201010]: fine */
        0x48, 0x89, 0x1c, 0x25, 0x10, 0x10, 0x20, 0x00, /* mov [0x201010], rbx */
        0xf4,
    };
    t.cpu.r[R_BX] = 0x77;
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_EPT_VIOLATION));
    /* write access; readable only; linear address valid, the access was its
     * translation (Table 27-7) */
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 2 | (1 << 3) | (1 << 7) | (1 << 8));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_PHYSICAL_ADDRESS), 0x201010);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_LINEAR_ADDRESS), 0x201010);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 8); /* fault-like */
    CHECK_EQ(vl2_get64(&t, 0x201010), 0);              /* nothing written */
    vl2_destroy(&t);
}

TEST(ept_l2_paging_structure_violation)
{
    struct th t;
    vl2_init(&t, 0, 0, 0);
    vl2_ept(&t, true);
    /* L2's PDPT[1] points at a page directory in gpa 0x203000, which the
     * EPT does not map: the walk for linear 1 GiB violates. */
    vl2_put64(&t, TH_PT + 0x1000 + 8, 0x203000 | 7);
    *vl2_ept_pte(&t, 3) = 0;
    static const uint8_t code[] = {
        0xb8, 0x00, 0x00, 0x00, 0x40, /* mov eax, 0x40000000 */
        0x8b, 0x18,                   /* mov ebx, [rax] */
        0xf4,
    };
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_EPT_VIOLATION));
    /* a paging-structure access with A/D on counts as read + write; no
     * permissions; linear address valid, bit 8 clear */
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 3 | (1 << 7));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_PHYSICAL_ADDRESS), 0x203000);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_LINEAR_ADDRESS), 0x40000000);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 5);
    vl2_destroy(&t);
}

TEST(ept_l2_misconfig_exit)
{
    struct th t;
    vl2_init(&t, 0, 0, 0);
    vl2_ept(&t, false);
    *vl2_ept_pte(&t, 2) = (VL2_PT_BASE + 0x2000) | VL2_EPT_WB | 2; /* write-only */
    static const uint8_t code[] = {
        0x8b, 0x04, 0x25, 0x08, 0x20, 0x20, 0x00, /* mov eax, [0x202008] */
        0xf4,
    };
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_EPT_MISCONFIG));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_PHYSICAL_ADDRESS), 0x202008);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE);
    vl2_destroy(&t);
}

TEST(ept_l2_fetch_violation)
{
    struct th t;
    vl2_init(&t, 0, 0, 0);
    vl2_ept(&t, false);
    *vl2_ept_pte(&t, 4) = (VL2_PT_BASE + 0x4000) | VL2_EPT_WB | 3; /* not executable */
    *(uint8_t *)th_mem(&t, 0x204000) = 0xf4;
    static const uint8_t code[] = {
        0xb8, 0x00, 0x40, 0x20, 0x00, /* mov eax, 0x204000 */
        0xff, 0xe0,                   /* jmp rax */
    };
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_EPT_VIOLATION));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 4 | (3 << 3) | (1 << 7) | (1 << 8));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), 0x204000);
    vl2_destroy(&t);
}

/* ---------------- APIC-access page (SDM 29.4) ---------------- */

#define APIC_ACCESS_PA 0x600000ull
#define VAPIC_PA 0x610000ull

TEST(ept_l2_apic_access_page_tpr_shadow)
{
    struct th t;
    vl2_init(&t, 0, VMX_PROC_TPR_SHADOW, VMX_PROC2_VIRT_APIC_ACCESS);
    vl2_ept(&t, false);
    vl2_wr(&t, VMCS_APIC_ACCESS_ADDR, APIC_ACCESS_PA);
    vl2_wr(&t, VMCS_VIRTUAL_APIC_PAGE_ADDR, VAPIC_PA);
    *(uint32_t *)th_mem(&t, VAPIC_PA + 0x80) = 0x50;
    static const uint8_t code[] = {
        0x8b, 0x04, 0x25, 0x80, 0x00, 0x60, 0x00,                   /* mov eax, [0x600080] */
        0xc7, 0x04, 0x25, 0x80, 0x00, 0x60, 0x00, 0x20, 0, 0, 0,   /* mov dword [0x600080], 0x20 */
        0x8b, 0x1c, 0x25, 0x00, 0x03, 0x60, 0x00,                   /* mov ebx, [0x600300] */
        0xf4,
    };
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX], 0x50);                            /* VTPR read */
    CHECK_EQ(*(uint32_t *)th_mem(&t, VAPIC_PA + 0x80), 0x20); /* VTPR written */
    CHECK_EQ(*(uint32_t *)th_mem(&t, APIC_ACCESS_PA + 0x80), 0);
    CHECK(vl2_exited(&t, EXIT_REASON_APIC_ACCESS));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0x300); /* linear read, offset 300H */
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 18);
    vl2_destroy(&t);
}

TEST(ept_l2_apic_access_without_tpr_shadow_exits)
{
    struct th t;
    vl2_init(&t, 0, 0, VMX_PROC2_VIRT_APIC_ACCESS);
    vl2_wr(&t, VMCS_APIC_ACCESS_ADDR, APIC_ACCESS_PA); /* no EPT: gpa = L1-physical */
    static const uint8_t code[] = {
        0xc7, 0x04, 0x25, 0x80, 0x00, 0x60, 0x00, 0x20, 0, 0, 0, /* mov dword [0x600080], 0x20 */
        0xf4,
    };
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_APIC_ACCESS));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), (1 << 12) | 0x80); /* linear write */
    CHECK_EQ(*(uint32_t *)th_mem(&t, APIC_ACCESS_PA + 0x80), 0);
    vl2_destroy(&t);
}
