/*
 * test_vmx_apicv.c — APIC virtualization (SDM Vol.3 chapter 29) on L2 code
 * run by the engine in VMX non-root operation (vmx_l2_harness): virtual-
 * interrupt delivery at VM entry and after TPR/EOI/self-IPI virtualization
 * (29.1-29.2), CR8 with virtual-interrupt delivery (29.3), the APIC-access
 * page with APIC-register virtualization and APIC-write emulation (29.4),
 * the x2APIC MSRs (29.5), posted-interrupt processing through a real local
 * APIC standing in for L1's (29.6), and the VM-entry checks on these
 * controls (26.2.1.1).
 *
 * L2's IDT (at IDT_PA) sends vector v to a stub at HANDLERS + 4 * v that
 * does "mov bl, v; hlt", so a run that ends in TH_HALT in non-root
 * operation with BL = v took virtual interrupt v; the interrupt frame is at
 * the top of the harness stack.
 */
#include <string.h>

#include "cpu_harness.h"
#include "hw/lapic.h"
#include "test.h"
#include "vmx/vmx.h"
#include "vmx/vmx_hooks.h"
#include "vmx_l2_harness.h"

#define HLT 0xf4
#define VAPIC_PA 0x35000ull
#define APIC_PA 0x36000ull
#define IDT_PA 0x37000ull
#define HANDLERS 0x38000ull
#define PID_PA 0x39000ull
#define MSR_BITMAP_PA 0x3a000ull
#define PINV 0xf2

static uint32_t vapic32(struct th *t, unsigned off)
{
    uint32_t v;
    memcpy(&v, th_mem(t, VAPIC_PA + off), 4);
    return v;
}

static void set_vapic32(struct th *t, unsigned off, uint32_t v)
{
    memcpy(th_mem(t, VAPIC_PA + off), &v, 4);
}

/* bit 'vec' of the 256-bit VISR (base 100H) or VIRR (base 200H) */
static bool vbit(struct th *t, unsigned base, unsigned vec)
{
    return (vapic32(t, base | ((vec & 0xe0) >> 1)) >> (vec & 31)) & 1;
}

static void set_vbit(struct th *t, unsigned base, unsigned vec)
{
    unsigned off = base | ((vec & 0xe0) >> 1);
    set_vapic32(t, off, vapic32(t, off) | 1u << (vec & 31));
}

/* Controls with virtual-interrupt delivery (external-interrupt exiting,
 * TPR shadow, "acknowledge interrupt on exit"), plus extra secondary
 * controls; L2's IDT and handler stubs; RFLAGS.IF as given. */
static void av_init(struct th *t, uint32_t proc2, bool if_set)
{
    vl2_init(t, VMX_PIN_EXT_INTR, VMX_PROC_TPR_SHADOW, VMX_PROC2_VINTR_DELIVERY | proc2);
    vl2_wr(t, VMCS_VM_EXIT_CONTROLS, VMX_EXITCTL_HOST_64 | VMX_EXITCTL_ACK_INTR);
    vl2_wr(t, VMCS_VIRTUAL_APIC_PAGE_ADDR, VAPIC_PA);
    vl2_wr(t, VMCS_APIC_ACCESS_ADDR, APIC_PA);
    for (unsigned v = 0; v < 256; v++) {
        uint64_t h = HANDLERS + 4 * v;
        uint8_t stub[4] = { 0xb3, (uint8_t)v, HLT, 0x90 }; /* mov bl, v; hlt */
        memcpy(th_mem(t, h), stub, 4);
        vl2_put64(t, IDT_PA + 16 * v,
                  (h & 0xffff) | 0x08ull << 16 | 0x8eull << 40 | ((h >> 16) & 0xffff) << 48);
        vl2_put64(t, IDT_PA + 16 * v + 8, h >> 32);
    }
    bus_note_dma(&t->bus, HANDLERS, 1024);
    t->cpu.idtr = (struct dtr){ IDT_PA, 256 * 16 - 1 };
    if (if_set)
        t->cpu.rflags |= FL_IF;
    t->cpu.r[R_BX] = 0;
    t->cpu.r[R_DX] = APIC_PA;
}

/* L2 stopped in virtual interrupt handler 'vec' with the interrupted RIP on
 * its stack. */
static bool took_vintr(struct th *t, unsigned vec, uint64_t rip)
{
    return t->cpu.nonroot && (t->cpu.r[R_BX] & 0xff) == vec &&
           t->cpu.rip == HANDLERS + 4 * vec + 3 && vl2_get64(t, TH_STACK - 40) == rip;
}

/* ---------------- 29.2: delivery at VM entry ---------------- */

TEST(vmx_apicv_delivery_at_entry)
{
    static const uint8_t code[] = { 0x90, 0x90, HLT };
    struct th t;
    /* RVI = 45H, VIRR[45H] = 1, VTPR 0: recognized at entry, delivered
     * before the first instruction (26.3.2.5, 29.2.2) */
    av_init(&t, 0, true);
    set_vbit(&t, 0x200, 0x45);
    vl2_wr(&t, VMCS_GUEST_INTR_STATUS, 0x45);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(took_vintr(&t, 0x45, TH_CODE));
    CHECK(vbit(&t, 0x100, 0x45));                /* VISR[45H] = 1 */
    CHECK(!vbit(&t, 0x200, 0x45));               /* VIRR[45H] = 0 */
    CHECK_EQ(vapic32(&t, 0xa0), 0x40);           /* VPPR = 45H & F0H */
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_INTR_STATUS), 0x4500); /* SVI 45H, RVI 0 */
    CHECK(!(t.cpu.rflags & FL_IF));              /* through an interrupt gate */
    vl2_destroy(&t);

    /* two requests: the higher one first, RVI then names the other */
    av_init(&t, 0, true);
    set_vbit(&t, 0x200, 0x45);
    set_vbit(&t, 0x200, 0x61);
    vl2_wr(&t, VMCS_GUEST_INTR_STATUS, 0x61);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(took_vintr(&t, 0x61, TH_CODE));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_INTR_STATUS), 0x6145);
    vl2_destroy(&t);

    /* RFLAGS.IF = 0: recognized but not delivered; L2 runs */
    av_init(&t, 0, false);
    set_vbit(&t, 0x200, 0x45);
    vl2_wr(&t, VMCS_GUEST_INTR_STATUS, 0x45);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.rip, TH_CODE + 3);
    CHECK_EQ(t.cpu.r[R_BX], 0);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_INTR_STATUS), 0x45);
    CHECK(vbit(&t, 0x200, 0x45));
    vl2_destroy(&t);

    /* RVI[7:4] not above VPPR[7:4] (VTPR 40H): not recognized */
    av_init(&t, 0, true);
    set_vapic32(&t, 0x80, 0x40);
    set_vbit(&t, 0x200, 0x45);
    vl2_wr(&t, VMCS_GUEST_INTR_STATUS, 0x45);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.r[R_BX], 0);
    CHECK_EQ(vapic32(&t, 0xa0), 0x40); /* PPR virtualization at entry */
    vl2_destroy(&t);

    /* interrupt-window exiting = 1: no recognition; the window exit instead */
    av_init(&t, 0, true);
    vl2_wr(&t, VMCS_CPU_BASED_VM_EXEC_CONTROL,
           vl2_rd(&t, VMCS_CPU_BASED_VM_EXEC_CONTROL) | VMX_PROC_INTR_WINDOW);
    set_vbit(&t, 0x200, 0x45);
    vl2_wr(&t, VMCS_GUEST_INTR_STATUS, 0x45);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_INTERRUPT_WINDOW));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_INTR_STATUS), 0x45);
    vl2_destroy(&t);
}

TEST(vmx_apicv_wakes_hlt_and_sti_shadow)
{
    /* sti; hlt — the STI shadow covers the HLT, the interrupt wakes it and
     * the frame's RIP is the instruction after HLT */
    static const uint8_t code[] = { 0xfb, HLT, 0x90, HLT };
    struct th t;
    av_init(&t, 0, false);
    set_vbit(&t, 0x200, 0x51);
    vl2_wr(&t, VMCS_GUEST_INTR_STATUS, 0x51);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(took_vintr(&t, 0x51, TH_CODE + 2));
    vl2_destroy(&t);
}

/* ---------------- 29.3 / 29.1.2: CR8 with virtual-interrupt delivery ---------------- */

TEST(vmx_apicv_cr8_tpr_virtualization)
{
    static const uint8_t code[] = {
        0x90,
        0x44, 0x0f, 0x22, 0xc0, /* mov cr8, rax */
        0x90, HLT,
    };
    struct th t;
    av_init(&t, 0, true);
    set_vapic32(&t, 0x80, 0x50);
    set_vbit(&t, 0x200, 0x45);
    vl2_wr(&t, VMCS_GUEST_INTR_STATUS, 0x45);
    /* with virtual-interrupt delivery the TPR threshold plays no part (no
     * TPR-below-threshold exit at entry, 26.7.7) */
    vl2_wr(&t, VMCS_TPR_THRESHOLD, 0xf);
    t.cpu.r[R_AX] = 2;
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    /* VTPR 20H: PPR virtualization, evaluation, delivery after the MOV */
    CHECK(took_vintr(&t, 0x45, TH_CODE + 5));
    CHECK_EQ(vapic32(&t, 0x80), 0x20);
    CHECK_EQ(vapic32(&t, 0xa0), 0x40);
    vl2_destroy(&t);

    /* raising VTPR above a pending vector keeps it pending */
    static const uint8_t raise[] = { 0x44, 0x0f, 0x22, 0xc0, 0x90, HLT };
    av_init(&t, 0, false);
    set_vbit(&t, 0x200, 0x45);
    vl2_wr(&t, VMCS_GUEST_INTR_STATUS, 0x45);
    t.cpu.r[R_AX] = 7;
    CHECK_EQ(vl2_run(&t, raise, sizeof raise), TH_HALT);
    CHECK_EQ(t.cpu.rip, TH_CODE + 6);
    CHECK_EQ(vapic32(&t, 0xa0), 0x70);
    CHECK(!t.cpu.vmx->ix.vintr);
    vl2_destroy(&t);
}

/* ---------------- 29.1.4: EOI virtualization ---------------- */

TEST(vmx_apicv_eoi_virtualization)
{
    static const uint8_t code[] = {
        0xc7, 0x82, 0xb0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* mov dword [rdx+0xb0], 0 */
        0x90, HLT,
    };
    struct th t;
    /* in service: 45H (SVI) and 31H; EOI retires 45H, SVI becomes 31H */
    av_init(&t, VMX_PROC2_VIRT_APIC_ACCESS, false);
    set_vbit(&t, 0x100, 0x45);
    set_vbit(&t, 0x100, 0x31);
    vl2_wr(&t, VMCS_GUEST_INTR_STATUS, 0x4500);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK_EQ(t.cpu.rip, TH_CODE + 12);
    CHECK(!vbit(&t, 0x100, 0x45));
    CHECK(vbit(&t, 0x100, 0x31));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_INTR_STATUS), 0x3100);
    CHECK_EQ(vapic32(&t, 0xa0), 0x30);
    CHECK_EQ(vapic32(&t, 0xb0), 0);            /* VEOI cleared */
    CHECK_EQ(*(uint32_t *)th_mem(&t, APIC_PA + 0xb0), 0); /* APIC-access page untouched */
    vl2_destroy(&t);

    /* the EOI-exit bitmap bit of 45H: trap-like EOI-induced exit (45) */
    av_init(&t, VMX_PROC2_VIRT_APIC_ACCESS, false);
    set_vbit(&t, 0x100, 0x45);
    vl2_wr(&t, VMCS_GUEST_INTR_STATUS, 0x4500);
    vl2_wr(&t, VMCS_EOI_EXIT_BITMAP1, 1ull << (0x45 - 64));
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_EOI_INDUCED));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0x45);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 10);
    CHECK(!vbit(&t, 0x100, 0x45));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_INTR_STATUS), 0); /* saved by the exit */
    vl2_destroy(&t);

    /* a request held back by the in-service vector is delivered after the EOI */
    av_init(&t, VMX_PROC2_VIRT_APIC_ACCESS, true);
    set_vbit(&t, 0x100, 0x45);
    set_vbit(&t, 0x200, 0x42);
    vl2_wr(&t, VMCS_GUEST_INTR_STATUS, 0x4542);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(took_vintr(&t, 0x42, TH_CODE + 10));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_INTR_STATUS), 0x4200);
    vl2_destroy(&t);

    /* without virtual-interrupt delivery (APIC-register virtualization
     * only) an EOI write is an APIC-write exit (29.4.3.2) */
    vl2_init(&t, 0, VMX_PROC_TPR_SHADOW, VMX_PROC2_VIRT_APIC_ACCESS | VMX_PROC2_APIC_REG_VIRT);
    vl2_wr(&t, VMCS_VIRTUAL_APIC_PAGE_ADDR, VAPIC_PA);
    vl2_wr(&t, VMCS_APIC_ACCESS_ADDR, APIC_PA);
    t.cpu.r[R_DX] = APIC_PA;
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_APIC_WRITE));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0xb0);
    vl2_destroy(&t);
}

/* ---------------- 29.1.5 / 29.4.3.2: self-IPIs through ICR low ---------------- */

TEST(vmx_apicv_self_ipi_and_apic_write_exit)
{
    static const uint8_t code[] = {
        0xc7, 0x82, 0x00, 0x03, 0x00, 0x00, 0x45, 0x00, 0x04, 0x00, /* mov [rdx+300H], 40045H */
        0x90, HLT,
    };
    struct th t;
    av_init(&t, VMX_PROC2_VIRT_APIC_ACCESS, true);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(took_vintr(&t, 0x45, TH_CODE + 10));
    CHECK_EQ(vapic32(&t, 0x300), 0x40045);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_INTR_STATUS), 0x4500);
    vl2_destroy(&t);

    /* not a self-IPI (no shorthand: destination in ICR high): APIC-write
     * exit after the instruction, offset 300H, value on the virtual page */
    av_init(&t, VMX_PROC2_VIRT_APIC_ACCESS, true);
    uint8_t other[sizeof code];
    memcpy(other, code, sizeof code);
    other[8] = 0x00; /* ICR 45H */
    CHECK_EQ(vl2_run(&t, other, sizeof other), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_APIC_WRITE));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0x300);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 10);
    CHECK_EQ(vapic32(&t, 0x300), 0x45);
    vl2_destroy(&t);

    /* a self-IPI with a vector below 16 is not virtualized either */
    av_init(&t, VMX_PROC2_VIRT_APIC_ACCESS, true);
    memcpy(other, code, sizeof code);
    other[6] = 0x0e;
    CHECK_EQ(vl2_run(&t, other, sizeof other), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_APIC_WRITE));
    vl2_destroy(&t);
}

/* ---------------- 29.4: APIC-register virtualization ---------------- */

TEST(vmx_apicv_register_virtualization)
{
    static const uint8_t rd_ver[] = { 0x8b, 0x82, 0x30, 0x00, 0x00, 0x00, HLT }; /* mov eax,[rdx+30H] */
    static const uint8_t rd_ppr[] = { 0x8b, 0x82, 0xa0, 0x00, 0x00, 0x00, HLT };
    static const uint8_t rd_tpr64[] = { 0x48, 0x8b, 0x82, 0x80, 0x00, 0x00, 0x00, HLT };
    static const uint8_t rd_tpr_b1[] = { 0x8a, 0x82, 0x81, 0x00, 0x00, 0x00, HLT }; /* mov al,[rdx+81H] */
    static const uint8_t wr_lvt[] = { 0xc7, 0x82, 0x20, 0x03, 0x00, 0x00, 0x31, 0x00, 0x02, 0x00,
                                      HLT }; /* mov [rdx+320H], 20031H */
    static const uint8_t wr_icrhi[] = { 0xc7, 0x82, 0x10, 0x03, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11,
                                        HLT };
    uint32_t arv = VMX_PROC2_VIRT_APIC_ACCESS | VMX_PROC2_APIC_REG_VIRT;
    struct th t;

    av_init(&t, arv, false);
    set_vapic32(&t, 0x30, 0x50014);
    CHECK_EQ(vl2_run(&t, rd_ver, sizeof rd_ver), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK_EQ(t.cpu.r[R_AX], 0x50014); /* from the virtual-APIC page */
    /* PPR is not in the list of 29.4.2: APIC-access exit, linear read */
    CHECK_EQ(vl2_run(&t, rd_ppr, sizeof rd_ppr), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_APIC_ACCESS));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0xa0);
    vl2_destroy(&t);

    /* more than 32 bits: exit; a byte within TPR: virtualized */
    av_init(&t, arv, false);
    CHECK_EQ(vl2_run(&t, rd_tpr64, sizeof rd_tpr64), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_APIC_ACCESS));
    vl2_destroy(&t);
    av_init(&t, arv, false);
    set_vapic32(&t, 0x80, 0x1234);
    CHECK_EQ(vl2_run(&t, rd_tpr_b1, sizeof rd_tpr_b1), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK_EQ(t.cpu.r[R_AX] & 0xff, 0x12);
    vl2_destroy(&t);

    /* LVT timer write: stored, then a trap-like APIC-write exit (56) */
    av_init(&t, arv, false);
    CHECK_EQ(vl2_run(&t, wr_lvt, sizeof wr_lvt), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_APIC_WRITE));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0x320);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 10);
    CHECK_EQ(vapic32(&t, 0x320), 0x20031);
    CHECK_EQ(*(uint32_t *)th_mem(&t, APIC_PA + 0x320), 0);
    vl2_destroy(&t);

    /* ICR high: bytes 2:0 cleared, no exit */
    av_init(&t, arv, false);
    CHECK_EQ(vl2_run(&t, wr_icrhi, sizeof wr_icrhi), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK_EQ(vapic32(&t, 0x310), 0x11000000);
    vl2_destroy(&t);

    /* virtual-interrupt delivery alone: only TPR reads, only TPR/EOI/ICR-low
     * writes are virtualized */
    av_init(&t, VMX_PROC2_VIRT_APIC_ACCESS, false);
    CHECK_EQ(vl2_run(&t, rd_ver, sizeof rd_ver), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_APIC_ACCESS));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0x30);
    vl2_destroy(&t);
    av_init(&t, VMX_PROC2_VIRT_APIC_ACCESS, false);
    CHECK_EQ(vl2_run(&t, wr_lvt, sizeof wr_lvt), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_APIC_ACCESS));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0x320 | 1u << 12);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE); /* fault-like */
    vl2_destroy(&t);
}

/* ---------------- 29.5: x2APIC MSRs ---------------- */

TEST(vmx_apicv_x2apic_msrs)
{
    static const uint8_t wrmsr[] = { 0x0f, 0x30, 0x90, HLT };
    static const uint8_t rdmsr[] = { 0x0f, 0x32, HLT };
    uint32_t x2 = VMX_PROC2_VIRT_X2APIC | VMX_PROC2_APIC_REG_VIRT;
    struct th t;
#define X2_INIT(proc2, if_set)                                                       \
    do {                                                                             \
        av_init(&t, (proc2), (if_set));                                              \
        vl2_wr(&t, VMCS_CPU_BASED_VM_EXEC_CONTROL,                                   \
               vl2_rd(&t, VMCS_CPU_BASED_VM_EXEC_CONTROL) | VMX_PROC_MSR_BITMAPS);    \
        vl2_wr(&t, VMCS_MSR_BITMAP, MSR_BITMAP_PA);                                  \
    } while (0)

    /* APIC-register virtualization: RDMSR 80AH (PPR) reads 8 bytes at A0H */
    X2_INIT(x2, false);
    set_vapic32(&t, 0x80, 0x30); /* VPPR = 30H after PPR virtualization at entry */
    set_vapic32(&t, 0xa4, 0x77);
    t.cpu.r[R_CX] = 0x80a;
    CHECK_EQ(vl2_run(&t, rdmsr, sizeof rdmsr), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK_EQ(t.cpu.r[R_AX], 0x30);
    CHECK_EQ(t.cpu.r[R_DX], 0x77);
    vl2_destroy(&t);

    /* WRMSR 808H: VTPR, PPR virtualization, then the pending 45H is delivered */
    X2_INIT(x2, true);
    set_vapic32(&t, 0x80, 0x60);
    set_vbit(&t, 0x200, 0x45);
    vl2_wr(&t, VMCS_GUEST_INTR_STATUS, 0x45);
    t.cpu.r[R_CX] = 0x808;
    t.cpu.r[R_AX] = 0x10;
    t.cpu.r[R_DX] = 0;
    CHECK_EQ(vl2_run(&t, wrmsr, sizeof wrmsr), TH_HALT);
    CHECK(took_vintr(&t, 0x45, TH_CODE + 2));
    CHECK_EQ(vapic32(&t, 0x80), 0x10);
    vl2_destroy(&t);

    /* WRMSR 80BH (EOI): non-zero value #GP; zero: EOI virtualization */
    X2_INIT(x2, false);
    set_vbit(&t, 0x100, 0x45);
    vl2_wr(&t, VMCS_GUEST_INTR_STATUS, 0x4500);
    t.cpu.r[R_CX] = 0x80b;
    t.cpu.r[R_AX] = 1;
    t.cpu.r[R_DX] = 0;
    CHECK_EQ(vl2_run(&t, wrmsr, sizeof wrmsr), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    t.cpu.r[R_AX] = 0;
    CHECK_EQ(vl2_run(&t, wrmsr, sizeof wrmsr), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK(!vbit(&t, 0x100, 0x45));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_INTR_STATUS), 0);
    vl2_destroy(&t);

    /* WRMSR 83FH (SELF IPI): vector 51H delivered; vector 0EH: APIC-write
     * exit with qualification 3F0H */
    X2_INIT(x2, true);
    t.cpu.r[R_CX] = 0x83f;
    t.cpu.r[R_AX] = 0x51;
    t.cpu.r[R_DX] = 0;
    CHECK_EQ(vl2_run(&t, wrmsr, sizeof wrmsr), TH_HALT);
    CHECK(took_vintr(&t, 0x51, TH_CODE + 2));
    vl2_destroy(&t);
    X2_INIT(x2, true);
    t.cpu.r[R_CX] = 0x83f;
    t.cpu.r[R_AX] = 0x0e;
    t.cpu.r[R_DX] = 0;
    CHECK_EQ(vl2_run(&t, wrmsr, sizeof wrmsr), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_APIC_WRITE));
    CHECK_EQ(vl2_rd(&t, VMCS_EXIT_QUALIFICATION), 0x3f0);
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_RIP), TH_CODE + 2);
    vl2_destroy(&t);

    /* without APIC-register virtualization RDMSR 80AH operates normally:
     * no x2APIC behind L2 here, so #GP; 808H is still virtualized */
    X2_INIT(VMX_PROC2_VIRT_X2APIC, false);
    t.cpu.r[R_CX] = 0x80a;
    CHECK_EQ(vl2_run(&t, rdmsr, sizeof rdmsr), TH_EXCEPTION);
    CHECK_EQ(t.vector, EXC_GP);
    set_vapic32(&t, 0x80, 0x20);
    t.cpu.r[R_CX] = 0x808;
    CHECK_EQ(vl2_run(&t, rdmsr, sizeof rdmsr), TH_HALT);
    CHECK_EQ(t.cpu.r[R_AX], 0x20);
    vl2_destroy(&t);
#undef X2_INIT
}

/* ---------------- 29.6: posted-interrupt processing ---------------- */

/* L1's local APIC as the interrupt controller. */
static int lapic_vector(struct cpu *cpu, bool ack)
{
    int v = lapic_pending_vector(cpu->lapic);
    if (v >= 0 && ack)
        lapic_ack(cpu->lapic, v);
    return v;
}
static const struct cpu_hooks lapic_hooks = { .intr_vector = lapic_vector,
                                              .intr_exits = vmx_intr_exits };

static void pi_init(struct th *t, struct lapic *l, struct apic_bus *ab, bool if_set)
{
    av_init(t, 0, if_set);
    vl2_wr(t, VMCS_PIN_BASED_VM_EXEC_CONTROL, VMX_PIN_EXT_INTR | VMX_PIN_POSTED_INTR);
    vl2_wr(t, VMCS_POSTED_INTR_NV, PINV);
    vl2_wr(t, VMCS_POSTED_INTR_DESC_ADDR, PID_PA);
    apic_bus_init(ab);
    lapic_init(l, 0, true, ab);
    apic_bus_add(ab, l);
    lapic_write(l, LAPIC_SVR, 0x1ff);
    t->cpu.lapic = l;
    t->cpu.hooks = &lapic_hooks;
    /* descriptor: PIR bits 45H and 61H, ON */
    vl2_put64(t, PID_PA + 8, 1ull << (0x45 - 64) | 1ull << (0x61 - 64));
    vl2_put64(t, PID_PA + 32, 1);
}

static void pi_notify(struct th *t, struct lapic *l, int vector)
{
    lapic_accept(l, APIC_DM_FIXED, vector, false);
    atomic_fetch_or(&t->cpu.events, EV_IRQ);
}

TEST(vmx_apicv_posted_interrupt)
{
    static const uint8_t code[] = { 0x90, 0x90, 0x90, HLT };
    struct th t;
    struct lapic l;
    struct apic_bus ab;

    /* the notification vector: no VM exit; ON and PIR cleared, PIR in VIRR,
     * RVI = 61H, L1's APIC EOI'd, and 61H delivered to L2 */
    pi_init(&t, &l, &ab, true);
    pi_notify(&t, &l, PINV);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(took_vintr(&t, 0x61, TH_CODE));
    CHECK_EQ(vl2_get64(&t, PID_PA + 32) & 1, 0);
    CHECK_EQ(vl2_get64(&t, PID_PA + 8), 0);
    CHECK(vbit(&t, 0x200, 0x45));
    CHECK(!vbit(&t, 0x200, 0x61));
    CHECK(vbit(&t, 0x100, 0x61));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_INTR_STATUS), 0x6145);
    CHECK_EQ(l.isr[PINV >> 5], 0); /* dismissed by the EOI */
    CHECK_EQ(atomic_load(&l.irr[PINV >> 5]), 0);
    vl2_destroy(&t);

    /* L1's APIC in x2APIC mode: the EOI still reaches it, so the next
     * notification is not blocked behind the first one's ISR bit */
    pi_init(&t, &l, &ab, true);
    CHECK_EQ(lapic_set_base(&l, LAPIC_DEFAULT_BASE | APIC_BASE_BSP | APIC_BASE_EN |
                                    APIC_BASE_EXTD), 0);
    pi_notify(&t, &l, PINV);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(took_vintr(&t, 0x61, TH_CODE));
    CHECK_EQ(l.isr[PINV >> 5], 0);
    vl2_destroy(&t);

    /* RFLAGS.IF = 0 does not hold the processing back (external-interrupt
     * exiting), only the delivery */
    pi_init(&t, &l, &ab, false);
    pi_notify(&t, &l, PINV);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.nonroot, 1);
    CHECK_EQ(t.cpu.rip, TH_CODE + 4);
    CHECK(vbit(&t, 0x200, 0x45) && vbit(&t, 0x200, 0x61));
    CHECK_EQ(vl2_rd(&t, VMCS_GUEST_INTR_STATUS), 0x61);
    CHECK_EQ(vl2_get64(&t, PID_PA + 32) & 1, 0);
    vl2_destroy(&t);

    /* any other vector is an ordinary external-interrupt exit; the
     * descriptor is left alone */
    pi_init(&t, &l, &ab, true);
    pi_notify(&t, &l, 0x31);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK(vl2_exited(&t, EXIT_REASON_EXTERNAL_INTERRUPT));
    CHECK_EQ(vl2_rd(&t, VMCS_VM_EXIT_INTR_INFO), VMX_INTR_VALID | 0x31);
    CHECK_EQ(vl2_get64(&t, PID_PA + 32) & 1, 1);
    CHECK_EQ(l.isr[0x31 >> 5], 1u << (0x31 & 31)); /* acknowledged for L1 */
    vl2_destroy(&t);

    /* nothing at VM entry: ON set but no notification, nothing delivered */
    pi_init(&t, &l, &ab, true);
    CHECK_EQ(vl2_run(&t, code, sizeof code), TH_HALT);
    CHECK_EQ(t.cpu.rip, TH_CODE + 4);
    CHECK_EQ(vl2_get64(&t, PID_PA + 32) & 1, 1);
    vl2_destroy(&t);
}

/* ---------------- 26.2.1.1: the entry checks on these controls ---------------- */

/* Controls valid except for what a test changes: the default1 bits the
 * TRUE capability MSRs report as must-be-1. */
static void ctl_init(struct th *t, uint32_t pin, uint32_t proc2, uint32_t exit_extra)
{
    uint32_t m1, a1;
    vl2_init(t, 0, 0, 0);
    vmx_allowed_pin(true, &m1, &a1);
    vl2_wr(t, VMCS_PIN_BASED_VM_EXEC_CONTROL, m1 | pin);
    vmx_allowed_proc(true, &m1, &a1);
    vl2_wr(t, VMCS_CPU_BASED_VM_EXEC_CONTROL,
           m1 | VMX_PROC_TPR_SHADOW | VMX_PROC_SECONDARY);
    vl2_wr(t, VMCS_SECONDARY_VM_EXEC_CONTROL, proc2);
    vmx_allowed_exit(true, &m1, &a1);
    vl2_wr(t, VMCS_VM_EXIT_CONTROLS, m1 | VMX_EXITCTL_HOST_64 | exit_extra);
    vmx_allowed_entry(true, &m1, &a1);
    vl2_wr(t, VMCS_VM_ENTRY_CONTROLS, m1 | VMX_ENTRYCTL_IA32E_GUEST);
    vl2_wr(t, VMCS_VIRTUAL_APIC_PAGE_ADDR, VAPIC_PA);
    vl2_wr(t, VMCS_APIC_ACCESS_ADDR, APIC_PA);
    vl2_wr(t, VMCS_POSTED_INTR_NV, PINV);
    vl2_wr(t, VMCS_POSTED_INTR_DESC_ADDR, PID_PA);
}

static bool controls_fail(struct th *t, const char *what)
{
    bool ok = vmx_check_controls(&t->cpu);
    bool named = strstr(t->cpu.vmx->stats.last_failed_check, what) != NULL;
    vl2_destroy(t);
    return !ok && named;
}

TEST(vmx_apicv_entry_checks)
{
    struct th t;
    uint32_t pi = VMX_PIN_EXT_INTR | VMX_PIN_POSTED_INTR;
    uint32_t vid = VMX_PROC2_VINTR_DELIVERY | VMX_PROC2_APIC_REG_VIRT;

    /* advertised (A.3.1, A.3.3) */
    uint64_t v;
    CHECK_EQ(vmx_caps_msr(NULL, 0x48d, &v), 0);
    CHECK(v >> 32 & VMX_PIN_POSTED_INTR);
    CHECK_EQ(vmx_caps_msr(NULL, 0x48b, &v), 0);
    CHECK((v >> 32 & vid) == vid);

    ctl_init(&t, pi, vid | VMX_PROC2_VIRT_APIC_ACCESS, VMX_EXITCTL_ACK_INTR);
    CHECK(vmx_check_controls(&t.cpu));
    vl2_destroy(&t);

    /* virtual-interrupt delivery needs external-interrupt exiting */
    ctl_init(&t, 0, vid, 0);
    CHECK(controls_fail(&t, "external_interrupt_exiting"));
    /* posted interrupts need virtual-interrupt delivery ... */
    ctl_init(&t, pi, VMX_PROC2_APIC_REG_VIRT, VMX_EXITCTL_ACK_INTR);
    CHECK(controls_fail(&t, "posted_interrupts"));
    /* ... and "acknowledge interrupt on exit" */
    ctl_init(&t, pi, vid, 0);
    CHECK(controls_fail(&t, "posted_interrupts"));
    /* notification vector bits 15:8 */
    ctl_init(&t, pi, vid, VMX_EXITCTL_ACK_INTR);
    vl2_wr(&t, VMCS_POSTED_INTR_NV, 0x1f2);
    CHECK(controls_fail(&t, "notification_vector"));
    /* descriptor 64-byte aligned and within MAXPHYADDR */
    ctl_init(&t, pi, vid, VMX_EXITCTL_ACK_INTR);
    vl2_wr(&t, VMCS_POSTED_INTR_DESC_ADDR, PID_PA + 0x20);
    CHECK(controls_fail(&t, "descriptor"));
    ctl_init(&t, pi, vid, VMX_EXITCTL_ACK_INTR);
    vl2_wr(&t, VMCS_POSTED_INTR_DESC_ADDR, 1ull << 52);
    CHECK(controls_fail(&t, "descriptor"));
    /* all of them need "use TPR shadow" */
    ctl_init(&t, pi, vid, VMX_EXITCTL_ACK_INTR);
    vl2_wr(&t, VMCS_CPU_BASED_VM_EXEC_CONTROL,
           vl2_rd(&t, VMCS_CPU_BASED_VM_EXEC_CONTROL) & ~VMX_PROC_TPR_SHADOW);
    CHECK(controls_fail(&t, "use_tpr_shadow"));
    /* "virtualize x2APIC mode" excludes "virtualize APIC accesses" */
    ctl_init(&t, 0, VMX_PROC2_VIRT_X2APIC | VMX_PROC2_VIRT_APIC_ACCESS, 0);
    CHECK(controls_fail(&t, "virtualize_x2apic && virtualize_apic_accesses"));
}
