/*
 * t_ept.c — EPT (SDM Vol.3 28.2): violations for data read, data write,
 * instruction fetch and paging-structure accesses with the exit
 * qualification of Table 27-7 and the guest-physical / guest-linear
 * addresses (27.2.1), misconfigurations (28.2.3.1, reason 49), accessed
 * and dirty flags (28.2.4), and remapping with INVEPT (28.3.3).
 */
#include "desc.h"
#include "vmx_lib.h"

static volatile int stage;
static volatile uint64_t seen[8];

/* Table 27-7 bits defined without "mode-based execute control" and
 * without advanced EPT-violation information. */
#define EPTQ_R (1u << 0)
#define EPTQ_W (1u << 1)
#define EPTQ_X (1u << 2)
#define EPTQ_CAN_R (1u << 3)
#define EPTQ_CAN_W (1u << 4)
#define EPTQ_CAN_X (1u << 5)
#define EPTQ_GLA_VALID (1u << 7)
#define EPTQ_GLA_XLATE (1u << 8)
#define EPTQ_NMI_UNBLOCK (1u << 12)
#define EPTQ_MASK (0x3fu | EPTQ_GLA_VALID | EPTQ_GLA_XLATE | EPTQ_NMI_UNBLOCK)

static bool need_ept(void)
{
    if (!allowed_proc2(PROC2_EPT)) {
        skip("not advertised: EPT");
        return false;
    }
    return true;
}

static bool expect_ept_violation(uint64_t qual, uint64_t gpa, uint64_t gla)
{
    if (!expect_reason(R_EPT_VIOLATION))
        return false;
    CHECK(((uint32_t)ex.qual & EPTQ_MASK) == qual, "EPT-violation qualification %#lx (masked %#lx), want %#lx",
          ex.qual, ex.qual & EPTQ_MASK, qual);
    CHECK_EQ(ex.gpa, gpa, "guest-physical address");
    CHECK_EQ(ex.gla, gla, "guest-linear address");
    return true;
}

/* ---- data write to a read/execute-only page ---- */
static void ev_write_init(void)
{
    stage = 0;
    if (need_ept())
        ept_set_ta(0, EPT_R | EPT_X | EPT_WB);
}

static void ev_write_guest(void)
{
    *(volatile uint32_t *)(TA_PAGE(0) + 0x18) = 0x5eed;
    seen[0] = *(volatile uint32_t *)(TA_PAGE(0) + 0x18);
}

static int ev_write_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_ept_violation(EPTQ_W | EPTQ_CAN_R | EPTQ_CAN_X | EPTQ_GLA_VALID | EPTQ_GLA_XLATE,
                              TA_PAGE(0) + 0x18, TA_PAGE(0) + 0x18))
        return T_DONE;
    ept_set_ta(0, EPT_RWX | EPT_WB);
    return T_RESUME; /* the write is retried */
}

static void ev_write_check(void)
{
    CHECK_EQ(seen[0], 0x5eed, "value written after the fault was fixed");
    CHECK_EQ(*(volatile uint32_t *)(TA_PAGE(0) + 0x18), 0x5eed, "value in memory");
}

/* ---- data read from a not-present page ---- */
static void ev_read_init(void)
{
    stage = 0;
    *(volatile uint32_t *)(TA_PAGE(1) + 0x20) = 0xabcd1234;
    if (need_ept())
        ept_set_ta(1, 0);
}

static void ev_read_guest(void) { seen[0] = *(volatile uint32_t *)(TA_PAGE(1) + 0x20); }

static int ev_read_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_ept_violation(EPTQ_R | EPTQ_GLA_VALID | EPTQ_GLA_XLATE, TA_PAGE(1) + 0x20,
                              TA_PAGE(1) + 0x20))
        return T_DONE;
    ept_set_ta(1, EPT_RWX | EPT_WB);
    return T_RESUME;
}

static void ev_read_check(void) { CHECK_EQ(seen[0], 0xabcd1234, "value read after the fix"); }

/* ---- instruction fetch from a non-executable page ---- */
static void ev_exec_init(void)
{
    stage = 0;
    *(volatile uint8_t *)TA_PAGE(2) = 0xc3; /* RET */
    if (need_ept())
        ept_set_ta(2, EPT_R | EPT_W | EPT_WB);
}

static void ev_exec_guest(void)
{
    ((void (*)(void))TA_PAGE(2))();
    seen[0] = 1;
}

static int ev_exec_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_ept_violation(EPTQ_X | EPTQ_CAN_R | EPTQ_CAN_W | EPTQ_GLA_VALID | EPTQ_GLA_XLATE,
                              TA_PAGE(2), TA_PAGE(2)))
        return T_DONE;
    CHECK_EQ(ex.rip, TA_PAGE(2), "guest RIP at the faulting fetch");
    ept_set_ta(2, EPT_RWX | EPT_WB);
    return T_RESUME;
}

static void ev_exec_check(void) { CHECK_EQ(seen[0], 1, "code ran after X was granted"); }

/* ---- L2 page-walk access to a page table that EPT does not map ---- */
static void ev_walk_init(void)
{
    stage = 0;
    if (need_ept())
        ept_set_ta(5, 0); /* TA page 5 holds L2's page table for TEST_AREA2 */
}

static void ev_walk_guest(void) { seen[0] = *(volatile uint64_t *)(TEST_AREA2 + 0x3008); }

static int ev_walk_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    /* The PTE for TEST_AREA2 + 0x3000 is entry 3 of the table in TA page 5. */
    if (!expect_ept_violation(EPTQ_R | EPTQ_GLA_VALID, TA_PAGE(5) + 3 * 8, TEST_AREA2 + 0x3008))
        return T_DONE;
    ept_set_ta(5, EPT_RWX | EPT_WB);
    return T_RESUME;
}

static void ev_walk_check(void) { CHECK_EQ(seen[0], 0x77aa55, "value read after the fix"); }

static void ev_walk_init2(void)
{
    *(volatile uint64_t *)(TEST_AREA2 + 0x3008) = 0x77aa55;
    ev_walk_init();
}

/* ---- misconfigurations (28.2.3.1): write without read; reserved memory type ---- */
static void emc_init(void)
{
    stage = 0;
    if (!need_ept())
        return;
    ept_pt_ta[3] = TA_PAGE(3) | EPT_W | EPT_WB;          /* W without R */
    ept_pt_ta[4] = TA_PAGE(4) | EPT_RWX | (2ul << 3);    /* memory type 2: reserved */
    ept_flush();
}

static void emc_guest(void)
{
    seen[0] = *(volatile uint32_t *)(TA_PAGE(3) + 0x40);
    seen[1] = *(volatile uint32_t *)(TA_PAGE(4) + 0x80);
}

static int emc_exit(void)
{
    switch (stage++) {
    case 0:
        if (!expect_reason(R_EPT_MISCONFIG))
            return T_DONE;
        CHECK_EQ(ex.gpa, TA_PAGE(3) + 0x40, "guest-physical address (W without R)");
        ept_set_ta(3, EPT_RWX | EPT_WB);
        return T_RESUME;
    case 1:
        if (!expect_reason(R_EPT_MISCONFIG))
            return T_DONE;
        CHECK_EQ(ex.gpa, TA_PAGE(4) + 0x80, "guest-physical address (memory type 2)");
        ept_set_ta(4, EPT_RWX | EPT_WB);
        return T_RESUME;
    default:
        return unexpected_exit();
    }
}

/* ---- accessed and dirty flags (28.2.4) ---- */
#define EPT_A (1ul << 8)
#define EPT_D (1ul << 9)
static void ead_init(void)
{
    stage = 0;
    if (!need_ept())
        return;
    if (!(caps.ept_vpid & (1ull << 21))) {
        skip("not advertised: EPT accessed/dirty flags");
        return;
    }
    vmwrite(EPT_POINTER, eptp_default | 1u << 6);
    ept_pt_ta[6] &= ~(EPT_A | EPT_D);
    ept_pt_ta[7] &= ~(EPT_A | EPT_D);
    ept_pd[0][TEST_AREA >> 21] &= ~EPT_A;
    ept_flush();
}

static void ead_guest(void)
{
    seen[0] = *(volatile uint32_t *)TA_PAGE(6);
    *(volatile uint32_t *)TA_PAGE(7) = 7;
}

static void ead_check(void)
{
    CHECK((ept_pt_ta[6] & (EPT_A | EPT_D)) == EPT_A, "EPT PTE of the page read: %#lx, want A=1 D=0",
          ept_pt_ta[6]);
    CHECK((ept_pt_ta[7] & (EPT_A | EPT_D)) == (EPT_A | EPT_D),
          "EPT PTE of the page written: %#lx, want A=1 D=1", ept_pt_ta[7]);
    CHECK(ept_pd[0][TEST_AREA >> 21] & EPT_A, "EPT PDE used by the walk: accessed flag not set");
}

/* ---- remapping: gpa != hpa, made visible by INVEPT ---- */
static void remap_init(void)
{
    stage = 0;
    *(volatile uint32_t *)TA_PAGE(8) = 0x8888;
    *(volatile uint32_t *)TA_PAGE(9) = 0x9999;
    need_ept();
}

static void remap_guest(void)
{
    seen[0] = *(volatile uint32_t *)TA_PAGE(8);
    l2_vmcall(1, 0);
    seen[1] = *(volatile uint32_t *)TA_PAGE(8);
    *(volatile uint32_t *)(TA_PAGE(8) + 4) = 0x4444;
}

static int remap_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_VMCALL))
        return T_DONE;
    ept_pt_ta[8] = TA_PAGE(9) | EPT_RWX | EPT_WB; /* guest page 8 -> host page 9 */
    ept_flush();
    skip_insn();
    return T_RESUME;
}

static void remap_check(void)
{
    CHECK_EQ(seen[0], 0x8888, "identity-mapped read");
    CHECK_EQ(seen[1], 0x9999, "read through the new EPT mapping");
    CHECK_EQ(*(volatile uint32_t *)(TA_PAGE(9) + 4), 0x4444, "write landed in host page 9");
    CHECK(*(volatile uint32_t *)(TA_PAGE(8) + 4) != 0x4444, "write landed in host page 8");
}

const struct vmx_test ept_tests[] = {
    { .name = "ept_violation_write",
      .sdm = "28.2.3.2: a write to a page whose EPT entry has bit 1 clear causes an EPT violation; "
             "Table 27-7: bit 1 data write, bits 5:3 the R/W/X permissions, bit 7 linear address "
             "valid, bit 8 access to the translated address",
      .init = ev_write_init, .guest = ev_write_guest, .exit_handler = ev_write_exit,
      .check = ev_write_check },
    { .name = "ept_violation_read",
      .sdm = "28.2.3.2: a read from a not-present guest-physical address causes an EPT violation "
             "(bit 0); 27.2.1: the guest-physical and guest-linear address fields are saved",
      .init = ev_read_init, .guest = ev_read_guest, .exit_handler = ev_read_exit,
      .check = ev_read_check },
    { .name = "ept_violation_fetch",
      .sdm = "28.2.3.2: an instruction fetch from a page with bit 2 (execute) clear causes an EPT "
             "violation (Table 27-7 bit 2)",
      .init = ev_exec_init, .guest = ev_exec_guest, .exit_handler = ev_exec_exit,
      .check = ev_exec_check },
    { .name = "ept_violation_paging_structure",
      .sdm = "Table 27-7: bit 8 is 0 if the access was to a paging-structure entry of the guest's "
             "walk; the guest-physical address is that of the entry",
      .init = ev_walk_init2, .guest = ev_walk_guest, .exit_handler = ev_walk_exit,
      .check = ev_walk_check },
    { .name = "ept_misconfig",
      .sdm = "28.2.3.1: an EPT entry with bit 0 clear and bit 1 set, or a reserved memory type "
             "(2, 3, 7), is misconfigured: VM exit 49 with the guest-physical address",
      .init = emc_init, .guest = emc_guest, .exit_handler = emc_exit },
    { .name = "ept_accessed_dirty",
      .sdm = "28.2.4: with EPTP bit 6, the processor sets the accessed flag of every EPT entry "
             "used and the dirty flag of the leaf on a write",
      .init = ead_init, .guest = ead_guest, .check = ead_check },
    { .name = "ept_remap_invept",
      .sdm = "28.2: guest-physical addresses are translated through the EPT paging structures; "
             "28.3.3.1: INVEPT invalidates mappings derived from the EPTP",
      .init = remap_init, .guest = remap_guest, .exit_handler = remap_exit,
      .check = remap_check },
};
const size_t n_ept_tests = ARRAY_SIZE(ept_tests);
