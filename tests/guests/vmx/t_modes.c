/*
 * t_modes.c — L2 outside 64-bit mode under "unrestricted guest" (SDM Vol.3
 * 25.6, 26.3.1): real-address mode (CR0.PE = 0) including real-mode event
 * injection through the IVT, and 32-bit protected mode without paging; and
 * IA32_EFER.LMA being stored into the "IA-32e mode guest" entry control.
 */
#include "desc.h"
#include "vmx_lib.h"

volatile uint32_t pm32_cr0, pm32_data;
extern char rm_blob[], rm_data[], rm_cr0[], rm_vmcall1[], rm_isr[], rm_isr_vmcall[];
extern char pm32_entry[], pm32_vmcall1[], pm32_vmcall2[];
static volatile int stage;

#define RM_OFF(sym) ((uint64_t)((sym) - rm_blob))
#define RM_IVT (RM_BASE + 0x1000)

static bool unrestricted(void)
{
    if (!allowed_proc2(PROC2_EPT | PROC2_UNRESTRICTED)) {
        skip("not advertised: EPT + unrestricted guest");
        return false;
    }
    return want_proc2(PROC2_EPT | PROC2_UNRESTRICTED);
}

static void flat_seg(int s, uint16_t sel, uint64_t base, uint32_t limit, uint32_t ar)
{
    vmwrite(GUEST_SEL(s), sel);
    vmwrite(GUEST_BASE(s), base);
    vmwrite(GUEST_LIMIT(s), limit);
    vmwrite(GUEST_AR(s), ar);
}

/* Common non-64-bit guest state: no IA-32e mode, EFER 0, CR4 = fixed bits. */
static void legacy_guest(uint64_t cr0)
{
    vmwrite(ENTRY_CTLS, vmread(ENTRY_CTLS) & ~(uint64_t)ENTRY_IA32E);
    vmwrite(GUEST_EFER, 0);
    vmwrite(GUEST_CR0, cr0);
    vmwrite(GUEST_CR4, caps.cr4_fixed0);
    vmwrite(GUEST_CR3, 0);
    vmwrite(CR0_SHADOW, cr0);
    vmwrite(CR4_SHADOW, caps.cr4_fixed0);
}

static void real_mode_state(void)
{
    legacy_guest((caps.cr0_fixed0 & ~(CR0_PE | CR0_PG)) | CR0_ET);
    for (int s = SEG_ES; s <= SEG_GS; s++)
        flat_seg(s, RM_BASE >> 4, RM_BASE, 0xffff, s == SEG_CS ? 0x9b : 0x93);
    flat_seg(SEG_TR, 0, 0, 0xffff, 0x8b);
    vmwrite(GUEST_IDTR_BASE, RM_IVT);
    vmwrite(GUEST_IDTR_LIMIT, 0x3ff);
    vmwrite(GUEST_RIP, 0);
    vmwrite(GUEST_RSP, 0xff0);
    vmwrite(GUEST_RFLAGS, 0x2);
    *(volatile uint16_t *)(RM_BASE + RM_OFF(rm_data)) = 0;
    *(volatile uint32_t *)(RM_BASE + RM_OFF(rm_cr0)) = 0xffffffff;
}

/* ---- real mode ---- */
static void rm_init(void)
{
    stage = 0;
    if (!unrestricted() || !want_proc(PROC_HLT))
        return;
    real_mode_state();
}

static int rm_exit(void)
{
    switch (stage++) {
    case 0:
        if (!expect_reason(R_VMCALL))
            return T_DONE;
        CHECK_EQ(ex.rip, RM_OFF(rm_vmcall1), "real-mode IP at VMCALL");
        CHECK_EQ(vmread(GUEST_CS_SEL), RM_BASE >> 4, "CS selector after the far jump");
        CHECK_EQ(vmread(GUEST_CS_BASE), RM_BASE, "CS base = selector << 4");
        CHECK_EQ(g_regs.r[RBX] & 0xffff, 0x1234, "BX (real-mode push/pop)");
        CHECK_EQ(g_regs.r[RCX] & 0xffff, 0xff0, "SP after push/pop");
        CHECK_EQ(*(volatile uint16_t *)(RM_BASE + RM_OFF(rm_data)), 0xbeef,
                 "real-mode store through DS");
        CHECK_EQ(*(volatile uint32_t *)(RM_BASE + RM_OFF(rm_cr0)) & (CR0_PE | CR0_PG), 0,
                 "CR0.PE/PG seen by L2 in real mode");
        CHECK_EQ(vmread(GUEST_CR0) & CR0_PE, 0, "guest CR0.PE saved by the exit");
        CHECK_EQ(ex.len, 3, "VMCALL length in real mode");
        skip_insn();
        return T_RESUME;
    case 1:
        if (!expect_reason(R_HLT))
            return T_DONE;
        CHECK_EQ(ex.rip, RM_OFF(rm_vmcall1) + 3, "IP at HLT");
        return T_DONE;
    default:
        return unexpected_exit();
    }
}

/* ---- real-mode event injection: the IVT is used (SDM Vol.3 20.1.4) ---- */
static void rm_inject_init(void)
{
    stage = 0;
    if (!unrestricted())
        return;
    real_mode_state();
    volatile uint32_t *ivt = (volatile uint32_t *)RM_IVT;
    for (int i = 0; i < 256; i++)
        ivt[i] = 0;
    ivt[0x30] = (uint32_t)RM_OFF(rm_isr) | (uint32_t)(RM_BASE >> 4) << 16;
    vmwrite(GUEST_RFLAGS, 0x202);
    vmwrite(ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE_EXT | 0x30);
}

static int rm_inject_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_VMCALL))
        return T_DONE;
    CHECK_EQ(ex.rip, RM_OFF(rm_isr_vmcall), "IP in the real-mode handler");
    CHECK_EQ(g_regs.r[RSI] & 0xffff, 0xff0 - 6, "SP in the handler (FLAGS, CS, IP pushed)");
    CHECK_EQ(g_regs.r[RDI] & 0xffff, 0x5a5a, "handler ran");
    volatile uint16_t *frame = (volatile uint16_t *)(RM_BASE + 0xff0 - 6);
    CHECK_EQ(frame[0], 0, "pushed IP (the interrupted guest RIP)");
    CHECK_EQ(frame[1], RM_BASE >> 4, "pushed CS");
    CHECK(frame[2] & 0x200, "pushed FLAGS %#x without IF", frame[2]);
    CHECK_EQ(ex.rflags & 0x200, 0, "IF cleared by the interrupt");
    return T_DONE;
}

/* ---- 32-bit protected mode, paging off ---- */
static void pm32_init(void)
{
    stage = 0;
    if (!unrestricted())
        return;
    legacy_guest((caps.cr0_fixed0 & ~CR0_PG) | CR0_PE | CR0_ET);
    for (int s = SEG_ES; s <= SEG_GS; s++)
        flat_seg(s, s == SEG_CS ? SEL_CODE32 : SEL_DATA, 0, 0xffffffff, s == SEG_CS ? 0xc09b : 0xc093);
    vmwrite(GUEST_RIP, (uint64_t)pm32_entry);
    vmwrite(GUEST_RSP, (uint64_t)l2_stack + sizeof l2_stack);
    pm32_cr0 = 0;
    pm32_data = 0;
}

static int pm32_exit(void)
{
    switch (stage++) {
    case 0:
        if (!expect_reason(R_VMCALL))
            return T_DONE;
        CHECK_EQ(ex.rip, (uint64_t)pm32_vmcall1, "EIP at the first VMCALL");
        CHECK_EQ(g_regs.r[RBX] & 0xffffffff, 0x32323232, "EBX");
        CHECK_EQ(g_regs.r[RDX] & 0xffffffff, 0x12345678, "EDX (push/pop)");
        CHECK_EQ(g_regs.r[RCX] & 0xffffffff, (uint64_t)l2_stack + sizeof l2_stack, "ESP");
        CHECK_EQ(pm32_cr0 & (CR0_PE | CR0_PG), CR0_PE, "CR0.PE/PG seen by L2");
        CHECK_EQ(pm32_data, 0xcafe0032, "32-bit store");
        CHECK_EQ(vmread(GUEST_CS_SEL), SEL_CODE32, "CS after the far jump");
        CHECK_EQ(vmread(GUEST_CS_AR) & 0xe0ff, 0xc09b, "CS access rights from the GDT");
        CHECK_EQ(vmread(GUEST_EFER) & EFER_LMA, 0, "guest EFER.LMA");
        if (caps.misc & (1u << 5))
            CHECK_EQ(vmread(ENTRY_CTLS) & ENTRY_IA32E, 0, "'IA-32e mode guest' after the exit");
        pm32_data = 0x77;
        skip_insn();
        return T_RESUME;
    case 1:
        if (!expect_reason(R_VMCALL))
            return T_DONE;
        CHECK_EQ(ex.rip, (uint64_t)pm32_vmcall2, "EIP at the second VMCALL");
        CHECK_EQ(g_regs.r[RSI] & 0xffffffff, 0x77, "value L1 stored during the exit");
        return T_DONE;
    default:
        return unexpected_exit();
    }
}

/* ---- L2 boots itself: real mode -> protected mode -> long mode ---- */
extern char rm_switch[], lm_switch_vmcall[];
static void switch_init(void)
{
    stage = 0;
    if (!unrestricted() || !want_proc(PROC_MSR_BITMAPS))
        return;
    real_mode_state();
    vmwrite(GUEST_RIP, RM_OFF(rm_switch));
}

static int switch_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_VMCALL))
        return T_DONE;
    CHECK_EQ(ex.rip, (uint64_t)lm_switch_vmcall, "RIP at the VMCALL in 64-bit mode");
    CHECK_EQ(g_regs.r[RBX], 0x64646464, "EBX");
    CHECK_EQ(vmread(GUEST_CS_SEL), SEL_CODE64, "CS selector");
    CHECK(vmread(GUEST_CS_AR) & (1u << 13), "CS.L not set in the saved access rights (%#lx)",
          vmread(GUEST_CS_AR));
    uint64_t cr0 = vmread(GUEST_CR0), cr4 = vmread(GUEST_CR4);
    CHECK((cr0 & (CR0_PE | CR0_PG)) == (CR0_PE | CR0_PG), "guest CR0 %#lx: PE/PG", cr0);
    CHECK(cr4 & CR4_PAE, "guest CR4 %#lx: PAE", cr4);
    CHECK_EQ(vmread(GUEST_CR3), (uint64_t)l2_pml4, "guest CR3");
    if (vmread(EXIT_CTLS) & EXIT_SAVE_EFER)
        CHECK((vmread(GUEST_EFER) & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA),
              "guest EFER %#lx: LME/LMA", vmread(GUEST_EFER));
    if (caps.misc & (1u << 5))
        CHECK(vmread(ENTRY_CTLS) & ENTRY_IA32E, "'IA-32e mode guest' not set by the exit");
    return T_DONE;
}

/* ---- 64-bit: exits store EFER.LMA into "IA-32e mode guest" (27.2, A.6 bit 5) ---- */
static void lma_init(void)
{
    if (!(caps.misc & (1u << 5)))
        skip("IA32_VMX_MISC[5] = 0");
}

static void lma_check(void)
{
    CHECK(vmread(ENTRY_CTLS) & ENTRY_IA32E, "'IA-32e mode guest' cleared by an exit from 64-bit L2");
    CHECK(vmread(GUEST_EFER) & EFER_LMA, "guest IA32_EFER.LMA saved as 0");
}

const struct vmx_test mode_tests[] = {
    { .name = "unrestricted_real_mode",
      .sdm = "26.3.1.1: with 'unrestricted guest', CR0.PE and CR0.PG may be 0; L2 runs in "
             "real-address mode under EPT (segment base = selector << 4 on far jumps)",
      .init = rm_init, .exit_handler = rm_exit },
    { .name = "real_mode_event_injection",
      .sdm = "26.6.1: an injected event is delivered as in the guest's mode: in real mode through "
             "the IVT at IDTR.base, pushing FLAGS, CS, IP",
      .init = rm_inject_init, .exit_handler = rm_inject_exit },
    { .name = "unrestricted_pm32",
      .sdm = "26.3.1.1: with 'unrestricted guest', CR0.PG may be 0 with CR0.PE = 1: L2 runs in "
             "32-bit protected mode without paging under EPT",
      .init = pm32_init, .exit_handler = pm32_exit },
    { .name = "l2_boots_real_to_long_mode",
      .sdm = "25.6/26.3.1.1 with 'unrestricted guest' L2 may run in any mode and switch itself "
             "real -> protected -> IA-32e mode (SDM Vol.3 9.9, 10.8.5); 27.2: the exit stores "
             "EFER.LMA into 'IA-32e mode guest'",
      .init = switch_init, .exit_handler = switch_exit },
    { .name = "exit_saves_lma",
      .sdm = "27.2: if IA32_VMX_MISC[5] = 1, VM exits store IA32_EFER.LMA into the 'IA-32e mode "
             "guest' VM-entry control",
      .init = lma_init, .check = lma_check },
};
const size_t n_mode_tests = ARRAY_SIZE(mode_tests);
