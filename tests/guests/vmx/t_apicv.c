/*
 * t_apicv.c — APIC virtualization (SDM Vol.3 chapter 29): virtual-interrupt
 * delivery from RVI at VM entry (26.3.2.5, 29.2), TPR virtualization by
 * MOV to CR8 (29.3), EOI virtualization with and without the EOI-exit
 * bitmap (29.1.4), self-IPI virtualization through ICR low (29.1.5),
 * APIC-register virtualization with an APIC-write VM exit (29.4), the
 * x2APIC TPR/PPR MSRs (29.5), and a posted interrupt: L2 sends the
 * notification vector through L1's local APIC and the posted vector lands
 * in L2's handler without a VM exit (29.6).
 *
 * L2 shares L1's IDT; vectors >= 32 are counted in l2_irq_count[] and
 * return without an EOI unless a test's l2_event_hook does one.
 */
#include "desc.h"
#include "vmx_lib.h"

/* fields and exit reasons the shared header does not name (Appendix B, C) */
#define POSTED_INTR_DESC 0x2016
#define EOI_EXIT_BITMAP(n) (0x201c + 2 * (n))
#define R_EOI_INDUCED 45
#define R_APIC_WRITE 56
#define PINV 0xf2

static volatile int stage;
static volatile uint64_t seen[4];
static volatile uint64_t pi_desc[8] ALIGNED(64);

static uint32_t vapic32(unsigned off) { return *(volatile uint32_t *)(vapic_page + off); }
static void set_vapic32(unsigned off, uint32_t v) { *(volatile uint32_t *)(vapic_page + off) = v; }
/* bit of the 256-bit VISR (100H) / VIRR (200H) */
static bool vbit(unsigned base, unsigned vec)
{
    return (vapic32(base | ((vec & 0xe0) >> 1)) >> (vec & 31)) & 1;
}
static void set_vbit(unsigned base, unsigned vec)
{
    unsigned off = base | ((vec & 0xe0) >> 1);
    set_vapic32(off, vapic32(off) | 1u << (vec & 31));
}

/* Virtual-interrupt delivery (needs external-interrupt exiting and the TPR
 * shadow, 26.2.1.1) with a clean guest interrupt status and EOI-exit
 * bitmap; L2 runs with RFLAGS.IF = 1. */
static bool vid_setup(uint32_t proc2)
{
    stage = 0;
    for (int i = 0; i < 4; i++)
        seen[i] = 0;
    l2_event_hook = 0;
    if (!want_pin(PIN_EXTINT) || !want_proc(PROC_TPR_SHADOW) || !want_proc2(PROC2_VINTR | proc2))
        return false;
    vmwrite(GUEST_INTR_STATUS, 0);
    for (int i = 0; i < 4; i++)
        vmwrite(EOI_EXIT_BITMAP(i), 0);
    vmwrite(TPR_THRESHOLD, 0);
    if (proc2 & PROC2_APIC_ACCESS)
        vmwrite(APIC_ACCESS_ADDR, (uint64_t)apic_access_page);
    vmwrite(GUEST_RFLAGS, 0x202);
    return true;
}

/* ---- 29.2: a virtual interrupt from RVI, delivered right after VM entry ---- */
static void entry_init(void)
{
    l2_irq_count[0x45] = 0;
    if (!vid_setup(0))
        return;
    set_vbit(0x200, 0x45);
    vmwrite(GUEST_INTR_STATUS, 0x45);
}

static void entry_guest(void) { seen[0] = l2_irq_count[0x45]; }

static void entry_check(void)
{
    CHECK_EQ(seen[0], 1, "vector 45H delivered before L2's first instruction");
    CHECK_EQ(l2_irq_count[0x45], 1, "L2 handler invocations");
    CHECK_EQ(vmread(GUEST_INTR_STATUS), 0x4500, "guest interrupt status (SVI 45H, RVI 0)");
    CHECK(vbit(0x100, 0x45), "VISR[45H] set by the delivery");
    CHECK(!vbit(0x200, 0x45), "VIRR[45H] cleared by the delivery");
    CHECK_EQ(vapic32(0xa0), 0x40, "VPPR = vector & F0H");
}

/* ---- 29.3: a request masked by VTPR, delivered after MOV to CR8 ---- */
static void cr8_init(void)
{
    l2_irq_count[0x45] = 0;
    if (!vid_setup(0))
        return;
    set_vapic32(0x80, 0x50);
    set_vbit(0x200, 0x45);
    vmwrite(GUEST_INTR_STATUS, 0x45);
}

static void cr8_guest(void)
{
    seen[0] = l2_irq_count[0x45];
    asm volatile("mov %0, %%cr8" : : "r"(0ul) : "memory");
    seen[1] = l2_irq_count[0x45];
}

static void cr8_check(void)
{
    CHECK_EQ(seen[0], 0, "45H held back while VTPR = 50H");
    CHECK_EQ(seen[1], 1, "45H delivered after MOV to CR8 lowered VTPR (TPR virtualization)");
    CHECK_EQ(vapic32(0x80), 0, "VTPR");
}

/* ---- 29.1.4: EOI virtualization through the APIC-access page ---- */
extern char s_veoi[], s_veoi_end[];
asm(".pushsection .text\n"
    "s_veoi:\n\tlea apic_access_page(%rip), %rdx\n\tmovl $0, 0xb0(%rdx)\n"
    "s_veoi_end:\n\tret\n.popsection");

static void eoi_init(void)
{
    if (!vid_setup(PROC2_APIC_ACCESS))
        return;
    set_vbit(0x100, 0x45);
    set_vbit(0x100, 0x31);
    vmwrite(GUEST_INTR_STATUS, 0x4500);
}

static void eoi_guest(void) { asm volatile("call s_veoi" : : : "rdx", "memory"); }

static void eoi_check(void)
{
    CHECK(!vbit(0x100, 0x45), "VISR[45H] cleared by the EOI");
    CHECK(vbit(0x100, 0x31), "VISR[31H] still set");
    CHECK_EQ(vmread(GUEST_INTR_STATUS), 0x3100, "SVI = next highest in-service vector");
    CHECK_EQ(vapic32(0xa0), 0x30, "VPPR after PPR virtualization");
    CHECK_EQ(*(volatile uint32_t *)(apic_access_page + 0xb0), 0, "APIC-access page written");
}

static void eoi_exit_init(void)
{
    eoi_init();
    vmwrite(EOI_EXIT_BITMAP(1), 1ull << (0x45 - 64));
}

static int eoi_exit_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_EOI_INDUCED))
        return T_DONE;
    CHECK_EQ(ex.qual, 0x45, "EOI-induced exit qualification: the vector");
    CHECK_EQ(ex.rip, (uint64_t)s_veoi_end, "guest RIP after the write (trap-like)");
    CHECK(!vbit(0x100, 0x45), "VISR[45H] cleared before the exit");
    CHECK_EQ(vmread(GUEST_INTR_STATUS), 0x3100, "SVI saved by the exit");
    return T_RESUME;
}

static void eoi_exit_check(void) { CHECK_EQ(stage, 1, "EOI-induced VM exits"); }

/* ---- 29.1.5: self-IPI through ICR low; the handler EOIs virtually ---- */
static bool veoi_hook(struct frame *f)
{
    if (f->vec != 0x47)
        return false;
    *(volatile uint32_t *)(apic_access_page + 0xb0) = 0;
    return true;
}

static void selfipi_init(void)
{
    l2_irq_count[0x47] = 0;
    if (!vid_setup(PROC2_APIC_ACCESS))
        return;
    l2_event_hook = veoi_hook;
}

static void selfipi_guest(void)
{
    *(volatile uint32_t *)(apic_access_page + 0x300) = 1u << 18 | 0x47; /* self, fixed */
    seen[0] = l2_irq_count[0x47];
}

static void selfipi_check(void)
{
    CHECK_EQ(seen[0], 1, "self-IPI 47H taken right after the ICR write");
    CHECK_EQ(vmread(GUEST_INTR_STATUS), 0, "RVI and SVI after the handler's EOI");
    CHECK(!vbit(0x100, 0x47) && !vbit(0x200, 0x47), "VISR/VIRR[47H] clear");
    CHECK_EQ(vapic32(0x300), 1u << 18 | 0x47, "VICR_LO");
}

/* ---- 29.4: APIC-register virtualization; an APIC-write VM exit ---- */
extern char s_lvt_wr[], s_lvt_wr_end[];
asm(".pushsection .text\n"
    "s_lvt_wr:\n\tlea apic_access_page(%rip), %rdx\n\tmovl $0x10031, 0x320(%rdx)\n"
    "s_lvt_wr_end:\n\tret\n.popsection");

static void regvirt_init(void)
{
    if (!vid_setup(PROC2_APIC_ACCESS | PROC2_APIC_REG_VIRT))
        return;
    set_vapic32(0x30, 0x50014);
}

static void regvirt_guest(void)
{
    seen[0] = *(volatile uint32_t *)(apic_access_page + 0x30);
    asm volatile("call s_lvt_wr" : : : "rdx", "memory");
}

static int regvirt_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_APIC_WRITE))
        return T_DONE;
    CHECK_EQ(ex.qual, 0x320, "APIC-write exit qualification: page offset");
    CHECK_EQ(ex.rip, (uint64_t)s_lvt_wr_end, "guest RIP after the write (trap-like)");
    CHECK_EQ(vapic32(0x320), 0x10031, "value written to the virtual-APIC page");
    return T_RESUME;
}

static void regvirt_check(void)
{
    CHECK_EQ(seen[0], 0x50014, "read of offset 30H from the virtual-APIC page");
    CHECK_EQ(stage, 1, "APIC-write VM exits");
    CHECK_EQ(*(volatile uint32_t *)(apic_access_page + 0x320), 0, "APIC-access page written");
}

/* ---- 29.5: x2APIC TPR and PPR MSRs, no VM exit, L1's APIC untouched ---- */
static void x2_init(void)
{
    if (!vid_setup(PROC2_X2APIC | PROC2_APIC_REG_VIRT) || !want_proc(PROC_MSR_BITMAPS))
        return;
    vmwrite(MSR_BITMAP, (uint64_t)msr_bitmap);
    set_vapic32(0x80, 0x50);
}

static void x2_guest(void)
{
    seen[0] = rdmsr(0x808);
    wrmsr(0x808, 0x20);
    seen[1] = rdmsr(0x808);
    seen[2] = rdmsr(0x80a);
}

static void x2_check(void)
{
    CHECK_EQ(seen[0], 0x50, "RDMSR 808H = bytes 87H:80H of the virtual-APIC page");
    CHECK_EQ(seen[1], 0x20, "RDMSR 808H after WRMSR 808H");
    CHECK_EQ(seen[2], 0x20, "RDMSR 80AH: VPPR after TPR virtualization");
    CHECK_EQ(vapic32(0x80), 0x20, "VTPR");
    CHECK_EQ(lapic_read(0x80), 0, "L1's real TPR");
}

/* ---- 29.6: posted interrupt via the notification vector from L1's APIC ---- */
static void posted_init(void)
{
    l2_irq_count[0x52] = 0;
    if (!vid_setup(0) || !want_pin(PIN_POSTED) || !want_exit(EXIT_ACK_INTR))
        return;
    for (int i = 0; i < 8; i++)
        pi_desc[i] = 0;
    pi_desc[1] = 1ull << (0x52 - 64); /* PIR bit 52H */
    pi_desc[4] = 1;                    /* ON */
    vmwrite(POSTED_INTR_NV, PINV);
    vmwrite(POSTED_INTR_DESC, (uint64_t)pi_desc);
}

static void posted_guest(void)
{
    /* a fixed IPI with the notification vector to L1's own local APIC */
    lapic_write(0x310, lapic_read(0x20) & 0xff000000u);
    lapic_write(0x300, PINV);
    for (int i = 0; i < 100000 && !l2_irq_count[0x52]; i++)
        asm volatile("pause");
    seen[0] = l2_irq_count[0x52];
}

static void posted_check(void)
{
    CHECK_EQ(seen[0], 1, "posted vector 52H taken by L2's handler");
    CHECK_EQ(pi_desc[4] & 1, 0, "outstanding-notification bit cleared");
    CHECK_EQ(pi_desc[1], 0, "PIR cleared");
    CHECK_EQ(vmread(GUEST_INTR_STATUS), 0x5200, "guest interrupt status (SVI 52H)");
    CHECK_EQ(lapic_read(0x100 + (PINV >> 5) * 0x10) & (1u << (PINV & 31)), 0,
             "notification vector not left in service in L1's APIC (EOI)");
    CHECK_EQ(irq_count[PINV], 0, "notification vector delivered to L1");
}

const struct vmx_test apicv_tests[] = {
    { .name = "apicv_vintr_at_entry",
      .sdm = "26.3.2.5/29.2: with virtual-interrupt delivery, VM entry evaluates pending virtual "
             "interrupts; RVI[7:4] > VPPR[7:4] with RFLAGS.IF = 1 delivers vector RVI through "
             "the guest IDT: VISR[V] <- 1, SVI <- V, VPPR <- V & F0H, VIRR[V] <- 0, RVI <- 0",
      .init = entry_init, .guest = entry_guest, .check = entry_check },
    { .name = "apicv_cr8_tpr_virtualization",
      .sdm = "29.3/29.1.2: MOV to CR8 writes VTPR and, with virtual-interrupt delivery, "
             "performs PPR virtualization and evaluates pending virtual interrupts",
      .init = cr8_init, .guest = cr8_guest, .check = cr8_check },
    { .name = "apicv_eoi_virtualization",
      .sdm = "29.1.4: a write to offset B0H of the APIC-access page clears VISR[SVI], sets SVI "
             "to the highest remaining VISR bit and performs PPR virtualization, no VM exit "
             "when the EOI-exit bitmap bit is 0",
      .init = eoi_init, .guest = eoi_guest, .check = eoi_check },
    { .name = "apicv_eoi_exit_bitmap",
      .sdm = "29.1.4: with the vector's EOI-exit-bitmap bit set, EOI virtualization ends in a "
             "trap-like EOI-induced VM exit (45) with the vector as exit qualification",
      .init = eoi_exit_init, .guest = eoi_guest, .exit_handler = eoi_exit_exit,
      .check = eoi_exit_check },
    { .name = "apicv_self_ipi",
      .sdm = "29.4.3.2/29.1.5: a fixed edge self-IPI written to ICR low is virtualized: VIRR[V] "
             "<- 1, RVI <- max(RVI, V), evaluation and delivery without a VM exit",
      .init = selfipi_init, .guest = selfipi_guest, .check = selfipi_check },
    { .name = "apicv_apic_write_exit",
      .sdm = "29.4.2/29.4.3: with APIC-register virtualization reads of listed offsets come from "
             "the virtual-APIC page; a write to LVT timer (320H) is stored there and then "
             "causes a trap-like APIC-write VM exit (56) with the offset as qualification",
      .init = regvirt_init, .guest = regvirt_guest, .exit_handler = regvirt_exit,
      .check = regvirt_check },
    { .name = "apicv_x2apic_tpr_msr",
      .sdm = "29.5: with 'virtualize x2APIC mode', RDMSR/WRMSR 808H access bytes 87H:80H of the "
             "virtual-APIC page (TPR virtualization after the write); with APIC-register "
             "virtualization RDMSR 80AH reads VPPR — no VM exit, no #GP in xAPIC mode",
      .init = x2_init, .guest = x2_guest, .check = x2_check },
    { .name = "apicv_posted_interrupt",
      .sdm = "29.6: an external interrupt with the posted-interrupt notification vector is "
             "acknowledged and EOI'd, ON is cleared, PIR is ORed into VIRR and cleared, RVI "
             "updated and the virtual interrupt delivered — no VM exit",
      .init = posted_init, .guest = posted_guest, .check = posted_check },
};
const size_t n_apicv_tests = ARRAY_SIZE(apicv_tests);
