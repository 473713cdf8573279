/*
 * t_virt.c — virtualization features beyond plain exits: APIC-access page
 * (SDM Vol.3 29.4), VMCS shadowing (24.10, 25.1.3, 30.3 VMREAD/VMWRITE in
 * non-root operation), VMFUNC EPTP switching (25.5.6.3), NMI exiting
 * (25.2), IDT-vectoring information for an exit during event delivery
 * (27.2.4), triple fault in L2 (25.2), and the debug-control load/save of
 * VM entries and exits (26.3.2.1, 27.3.1, 27.5.1).
 */
#include "desc.h"
#include "vmx_lib.h"

static volatile int stage;
static volatile uint64_t seen[8];
static uint8_t vmread_bitmap[4096] ALIGNED(4096), vmwrite_bitmap[4096] ALIGNED(4096);
static uint64_t eptp_list[512] ALIGNED(4096);
static uint64_t ept2_pml4[512] ALIGNED(4096), ept2_pdpt[512] ALIGNED(4096),
    ept2_pd0[512] ALIGNED(4096), ept2_pt[512] ALIGNED(4096);

/* ---- APIC-access page: accesses cause APIC-access VM exits (29.4) ---- */
extern char s_apic_rd[], s_apic_rd_insn[], s_apic_rd_end[], s_apic_wr[], s_apic_wr_insn[],
    s_apic_wr_end[];
asm(".pushsection .text\n"
    "s_apic_rd:\n\tlea apic_access_page(%rip), %rdx\ns_apic_rd_insn:\n\tmov 0x30(%rdx), %eax\n"
    "s_apic_rd_end:\n\tret\n"
    "s_apic_wr:\n\tlea apic_access_page(%rip), %rdx\ns_apic_wr_insn:\n\tmovl $0x1234, 0x300(%rdx)\n"
    "s_apic_wr_end:\n\tret\n.popsection");

static void apic_init(void)
{
    stage = 0;
    if (!want_proc2(PROC2_APIC_ACCESS))
        return;
    vmwrite(APIC_ACCESS_ADDR, (uint64_t)apic_access_page);
}

static void apic_guest(void)
{
    uint32_t v;
    asm volatile("call s_apic_rd" : "=a"(v) : : "rdx", "memory");
    seen[0] = v;
    asm volatile("call s_apic_wr" : : : "rdx", "memory");
}

static int apic_exit(void)
{
    switch (stage++) {
    case 0:
        if (!expect_reason(R_APIC_ACCESS))
            return T_DONE;
        CHECK_EQ(ex.qual & 0xffff, 0x030 | 0u << 12, "APIC-access qualification (linear read, offset 30H)");
        CHECK_EQ(ex.rip, (uint64_t)s_apic_rd_insn, "guest RIP at the access");
        g_regs.r[RAX] = 0x50014;
        vmwrite(GUEST_RIP, (uint64_t)s_apic_rd_end);
        return T_RESUME;
    case 1:
        if (!expect_reason(R_APIC_ACCESS))
            return T_DONE;
        CHECK_EQ(ex.qual & 0xffff, 0x300 | 1u << 12, "APIC-access qualification (linear write, offset 300H)");
        vmwrite(GUEST_RIP, (uint64_t)s_apic_wr_end);
        return T_RESUME;
    default:
        return unexpected_exit();
    }
}

static void apic_check(void)
{
    CHECK_EQ(seen[0], 0x50014, "value L1 emulated for the read");
    CHECK_EQ(*(volatile uint32_t *)(apic_access_page + 0x300), 0, "write reached the APIC-access page");
}

/* ---- with "use TPR shadow", offset 80H of the APIC-access page is VTPR ---- */
static void apic_tpr_init(void)
{
    if (!want_proc(PROC_TPR_SHADOW) || !want_proc2(PROC2_APIC_ACCESS))
        return;
    vmwrite(APIC_ACCESS_ADDR, (uint64_t)apic_access_page);
    vapic_page[0x80] = 0x40;
}

static void apic_tpr_guest(void)
{
    seen[0] = *(volatile uint32_t *)(apic_access_page + 0x80);
    *(volatile uint32_t *)(apic_access_page + 0x80) = 0x20;
}

static void apic_tpr_check(void)
{
    CHECK_EQ(seen[0], 0x40, "read of APIC-access offset 80H returns VTPR");
    CHECK_EQ(*(volatile uint32_t *)(vapic_page + 0x80), 0x20, "write of offset 80H stored in VTPR");
    CHECK_EQ(*(volatile uint32_t *)(apic_access_page + 0x80), 0, "APIC-access page itself written");
}

/* ---- VMCS shadowing ---- */
static void shadow_init(void)
{
    stage = 0;
    if (!want_proc2(PROC2_SHADOW_VMCS))
        return;
    memset(vmread_bitmap, 0, sizeof vmread_bitmap);
    memset(vmwrite_bitmap, 0, sizeof vmwrite_bitmap);
    vmread_bitmap[GUEST_RFLAGS >> 3] |= 1 << (GUEST_RFLAGS & 7);
    vmwrite_bitmap[GUEST_RSP >> 3] |= 1 << (GUEST_RSP & 7);
    vmwrite(VMREAD_BITMAP, (uint64_t)vmread_bitmap);
    vmwrite(VMWRITE_BITMAP, (uint64_t)vmwrite_bitmap);
    /* the shadow VMCS: revision with bit 31 set, one field written by L1 */
    vmclear((uint64_t)vmcs_alt);
    *(uint32_t *)vmcs_alt = caps.rev | 0x80000000u;
    if (vmptrld((uint64_t)vmcs_alt) != VM_OK) {
        fail_at(__LINE__, "VMPTRLD of the shadow VMCS failed");
        return;
    }
    vmwrite(GUEST_RIP, 0x1234);
    vmclear((uint64_t)vmcs_alt);
    vmptrld((uint64_t)vmcs_main);
    vmwrite(VMCS_LINK_PTR, (uint64_t)vmcs_alt);
}

static void shadow_guest(void)
{
    uint64_t v = 0, fl;
    asm volatile("vmread %2, %0; pushfq; pop %1" : "=r"(v), "=r"(fl) : "r"((uint64_t)GUEST_RIP) : "cc");
    seen[0] = v;
    seen[1] = fl & 0x41;
    asm volatile("vmwrite %1, %2; pushfq; pop %0" : "=r"(fl) : "r"(0x5678ul), "r"((uint64_t)GUEST_RIP) : "cc");
    seen[2] = fl & 0x41;
    asm volatile("vmread %1, %0" : "=r"(v) : "r"((uint64_t)GUEST_RFLAGS) : "cc");  /* exit */
    asm volatile("vmwrite %0, %1" : : "r"(1ul), "r"((uint64_t)GUEST_RSP) : "cc");  /* exit */
}

static int shadow_exit(void)
{
    switch (stage++) {
    case 0:
        if (!expect_reason(R_VMREAD))
            return T_DONE;
        break;
    case 1:
        if (!expect_reason(R_VMWRITE))
            return T_DONE;
        break;
    default:
        return unexpected_exit();
    }
    skip_insn();
    return T_RESUME;
}

static void shadow_check(void)
{
    CHECK_EQ(seen[0], 0x1234, "VMREAD in L2 from the shadow VMCS");
    CHECK_EQ(seen[1], 0, "VMREAD in L2: CF/ZF (VMsucceed)");
    CHECK_EQ(seen[2], 0, "VMWRITE in L2: CF/ZF (VMsucceed)");
    CHECK_EQ(stage, 2, "exits for the fields whose bitmap bits are 1");
    vmclear((uint64_t)vmcs_main);
    if (vmptrld((uint64_t)vmcs_alt) == VM_OK) {
        CHECK_EQ(vmread(GUEST_RIP), 0x5678, "shadow VMCS field written by L2's VMWRITE");
        vmclear((uint64_t)vmcs_alt);
    }
}

/* ---- VMFUNC 0: EPTP switching ---- */
static void vmfunc_init(void)
{
    stage = 0;
    if (!want_proc2(PROC2_EPT | PROC2_VMFUNC))
        return;
    if (!(caps.vmfunc & 1)) {
        skip("not advertised: VM function 0 (EPTP switching)");
        return;
    }
    *(volatile uint32_t *)TA_PAGE(8) = 0x8888;
    *(volatile uint32_t *)TA_PAGE(9) = 0x9999;
    memcpy(ept2_pml4, ept_pml4, sizeof ept2_pml4);
    memcpy(ept2_pdpt, ept_pdpt, sizeof ept2_pdpt);
    memcpy(ept2_pd0, ept_pd[0], sizeof ept2_pd0);
    memcpy(ept2_pt, ept_pt_ta, sizeof ept2_pt);
    ept2_pml4[0] = (uint64_t)ept2_pdpt | EPT_RWX;
    ept2_pdpt[0] = (uint64_t)ept2_pd0 | EPT_RWX;
    ept2_pd0[TEST_AREA >> 21] = (uint64_t)ept2_pt | EPT_RWX;
    ept2_pt[8] = TA_PAGE(9) | EPT_RWX | EPT_WB;
    memset(eptp_list, 0, sizeof eptp_list);
    eptp_list[0] = eptp_default;
    eptp_list[1] = (uint64_t)ept2_pml4 | 6 | 3 << 3;
    vmwrite(VMFUNC_CTLS, 1);
    vmwrite(EPTP_LIST, (uint64_t)eptp_list);
}

static inline void vmfunc0(uint32_t index) { asm volatile("vmfunc" : : "a"(0), "c"(index) : "memory"); }

static void vmfunc_guest(void)
{
    seen[0] = *(volatile uint32_t *)TA_PAGE(8);
    vmfunc0(1);
    seen[1] = *(volatile uint32_t *)TA_PAGE(8);
    vmfunc0(600); /* index >= 512: VM exit 59 */
    vmfunc0(0);
    seen[2] = *(volatile uint32_t *)TA_PAGE(8);
}

static int vmfunc_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_VMFUNC))
        return T_DONE;
    CHECK_EQ(vmread(EPT_POINTER), eptp_list[1], "EPTP field after VMFUNC switched to entry 1");
    CHECK_EQ(g_regs.r[RCX] & 0xffffffff, 600, "ECX at the VMFUNC exit");
    skip_insn();
    return T_RESUME;
}

static void vmfunc_check(void)
{
    CHECK_EQ(seen[0], 0x8888, "read through EPTP 0");
    CHECK_EQ(seen[1], 0x9999, "read after VMFUNC switched to EPTP 1");
    CHECK_EQ(seen[2], 0x8888, "read after switching back to EPTP 0");
    CHECK_EQ(vmread(EPT_POINTER), eptp_default, "EPTP field at the end");
}

/* ---- NMI exiting: an NMI L2 sends itself through the local APIC ---- */
extern char s_iret[];
static void nmi_init(void)
{
    stage = 0;
    want_pin(PIN_NMI);
}

static void nmi_guest(void)
{
    lapic_write(0x310, lapic_read(0x20) & 0xff000000u);   /* destination: own APIC ID */
    lapic_write(0x300, 4u << 8 | 1u << 14);               /* delivery mode NMI, assert */
    for (int i = 0; i < 100000 && !stage; i++)
        asm volatile("pause");
}

static int nmi_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_EXCEPTION))
        return T_DONE;
    CHECK_EQ(ex.intr_info, INTR_VALID | INTR_TYPE_NMI | 2, "interruption information (NMI)");
    ((void (*)(void))s_iret)(); /* IRET in L1: the exit left NMIs blocked */
    return T_RESUME;
}

/* ---- IDT-vectoring information: an EPT violation while delivering an event ---- */
static bool vec41_hook(struct frame *f) { return f->vec == 0x41; }

static void idtv_init(void)
{
    stage = 0;
    l2_event_hook = vec41_hook;
    l2_irq_count[0x41] = 0;
    if (!want_proc2(PROC2_EPT))
        return;
    ept_set_ta(10, EPT_R | EPT_X | EPT_WB);
    vmwrite(GUEST_RSP, TA_PAGE(10) + 0x800);
    vmwrite(GUEST_RFLAGS, 0x202);
    vmwrite(ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE_EXT | 0x41);
}

static int idtv_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_EPT_VIOLATION))
        return T_DONE;
    CHECK_EQ(ex.idt_info, INTR_VALID | INTR_TYPE_EXT | 0x41, "IDT-vectoring information");
    CHECK(ex.qual & 2, "EPT-violation qualification %#lx: not a write", ex.qual);
    CHECK(ex.gpa >= TA_PAGE(10) + 0x7d0 && ex.gpa < TA_PAGE(10) + 0x800,
          "guest-physical address %#lx not in the interrupt frame", ex.gpa);
    CHECK_EQ(ex.rip, (uint64_t)l2_entry64, "guest RIP: the interrupted instruction");
    ept_set_ta(10, EPT_RWX | EPT_WB);
    vmwrite(ENTRY_INTR_INFO, ex.idt_info); /* re-inject the event that was lost */
    return T_RESUME;
}

static void idtv_check(void) { CHECK_EQ(l2_irq_count[0x41], 1, "re-injected interrupt reached L2"); }

/* ---- triple fault in L2 ---- */
static void tf_init(void) { vmwrite(GUEST_IDTR_LIMIT, 0); }
static void tf_guest(void) { asm volatile("ud2"); }
static int tf_exit(void)
{
    expect_reason(R_TRIPLE_FAULT);
    return T_DONE;
}

/* ---- load/save debug controls ---- */
static inline uint64_t read_dr7(void)
{
    uint64_t v;
    asm volatile("mov %%dr7, %0" : "=r"(v));
    return v;
}
static inline void write_dr7(uint64_t v) { asm volatile("mov %0, %%dr7" : : "r"(v)); }

static void dbg_init(void)
{
    if (!want_entry(ENTRY_LOAD_DEBUG) || !want_exit(EXIT_SAVE_DEBUG))
        return;
    vmwrite(GUEST_DR7, 0x700);
    write_dr7(0x401); /* L1's value: a VM exit sets DR7 to 400H */
}

static void dbg_guest(void)
{
    seen[0] = read_dr7();
    write_dr7(0x500);
}

static void dbg_check(void)
{
    uint64_t l1 = read_dr7();
    write_dr7(0x400);
    CHECK_EQ(seen[0], 0x700, "DR7 in L2 (loaded by VM entry)");
    CHECK_EQ(vmread(GUEST_DR7), 0x500, "guest DR7 saved by the exit");
    CHECK_EQ(l1, 0x400, "L1's DR7 after the VM exit");
}

const struct vmx_test virt_tests[] = {
    { .name = "apic_access_exit",
      .sdm = "29.4: with 'virtualize APIC accesses' (no TPR shadow), an access to the APIC-access "
             "page causes an APIC-access VM exit (44); Table 27-6: offset in bits 11:0, access "
             "type in 15:12 (0 linear read, 1 linear write)",
      .init = apic_init, .guest = apic_guest, .exit_handler = apic_exit, .check = apic_check },
    { .name = "apic_access_tpr_virtualized",
      .sdm = "29.4.2/29.4.3: with 'use TPR shadow', a read of offset 80H of the APIC-access page "
             "returns VTPR and a write of offset 80H is virtualized into the virtual-APIC page",
      .init = apic_tpr_init, .guest = apic_tpr_guest, .check = apic_tpr_check },
    { .name = "vmcs_shadowing",
      .sdm = "25.1.3/30.3: with 'VMCS shadowing', VMREAD/VMWRITE in L2 access the shadow VMCS "
             "(VMCS link pointer) unless the field's bit in the VMREAD/VMWRITE bitmap is 1",
      .init = shadow_init, .guest = shadow_guest, .exit_handler = shadow_exit,
      .check = shadow_check },
    { .name = "vmfunc_eptp_switching",
      .sdm = "25.5.6.3: VMFUNC leaf 0 loads EPTP from entry ECX of the EPTP list without a VM "
             "exit; ECX >= 512 causes a VM exit (59)",
      .init = vmfunc_init, .guest = vmfunc_guest, .exit_handler = vmfunc_exit,
      .check = vmfunc_check },
    { .name = "nmi_exiting",
      .sdm = "25.2: with 'NMI exiting', an NMI causes a VM exit (reason 0) with interruption "
             "type 2, vector 2; 27.1: NMIs are then blocked in L1 until IRET",
      .init = nmi_init, .guest = nmi_guest, .exit_handler = nmi_exit },
    { .name = "idt_vectoring_info",
      .sdm = "27.2.4: a VM exit during event delivery (here an EPT violation pushing the frame "
             "of an injected interrupt) saves the event in the IDT-vectoring information field",
      .init = idtv_init, .exit_handler = idtv_exit, .check = idtv_check },
    { .name = "triple_fault_exit",
      .sdm = "25.2: a triple fault in VMX non-root operation causes a VM exit (reason 2)",
      .init = tf_init, .guest = tf_guest, .exit_handler = tf_exit },
    { .name = "debug_controls_load_save",
      .sdm = "26.3.2.1: 'load debug controls' loads DR7 from the guest field; 27.3.1: 'save debug "
             "controls' saves it; 27.5.1: VM exits load DR7 with 400H",
      .init = dbg_init, .guest = dbg_guest, .check = dbg_check },
};
const size_t n_virt_tests = ARRAY_SIZE(virt_tests);
