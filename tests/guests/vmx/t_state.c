/*
 * t_state.c — what VM exits save and load (SDM Vol.3 27.3, 27.5): guest
 * interruptibility (blocking by STI / MOV SS), segment state including
 * unusable segments and bases, descriptor-table registers, the VMX-
 * preemption timer value when the exit has another cause, and the host
 * state L1 finds after an exit (FS/GS bases, GDTR/IDTR limits FFFFH, RFLAGS).
 */
#include "desc.h"
#include "vmx_lib.h"

static volatile int stage;

/* ---- interruptibility saved for an instruction exit right after STI / MOV SS ---- */
extern char s_sti_vmcall[], s_sti_vmcall_insn[], s_movss_vmcall[], s_movss_vmcall_insn[];
asm(".pushsection .text\n"
    "s_sti_vmcall:\n\tsti\ns_sti_vmcall_insn:\n\tvmcall\n\tcli\n\tret\n"
    "s_movss_vmcall:\n\tmov %ss, %eax\n\tmov %eax, %ss\ns_movss_vmcall_insn:\n\tvmcall\n\tret\n"
    ".popsection");

static void intr_guest(void)
{
    ((void (*)(void))s_sti_vmcall)();
    ((void (*)(void))s_movss_vmcall)();
}

static void intr_init(void) { stage = 0; }

static int intr_exit(void)
{
    uint64_t is = vmread(GUEST_INTERRUPTIBILITY);
    switch (stage++) {
    case 0:
        if (!expect_reason(R_VMCALL))
            return T_DONE;
        CHECK_EQ(ex.rip, (uint64_t)s_sti_vmcall_insn, "RIP at the VMCALL after STI");
        CHECK_EQ(is & 3, 1, "interruptibility: blocking by STI saved");
        CHECK(ex.rflags & 0x200, "RFLAGS.IF saved as 0 after STI");
        break;
    case 1:
        if (!expect_reason(R_VMCALL))
            return T_DONE;
        CHECK_EQ(ex.rip, (uint64_t)s_movss_vmcall_insn, "RIP at the VMCALL after MOV SS");
        CHECK_EQ(is & 3, 2, "interruptibility: blocking by MOV SS saved");
        break;
    default:
        return unexpected_exit();
    }
    skip_insn();
    /* resuming past the instruction: the blocking has expired (24.4.2) */
    vmwrite(GUEST_INTERRUPTIBILITY, is & ~3ull);
    return T_RESUME;
}

/* ---- segment and descriptor-table state saved ---- */
static struct dtr l2_gdtr;
static void seg_init(void)
{
    stage = 0;
    want_proc(PROC_MSR_BITMAPS);
    l2_gdtr.limit = 0x3f; /* same table, shorter limit */
    l2_gdtr.base = (uint64_t)gdt;
}

static void seg_guest(void)
{
    wrmsr(MSR_FS_BASE, 0x7f00aa000000ull);
    wrmsr(MSR_GS_BASE, 0x7f00bb000000ull);
    wrmsr(MSR_KERNEL_GS_BASE, 0x7f00cc000000ull);
    asm volatile("swapgs");
    asm volatile("mov %0, %%ds" : : "r"(0) : "memory");
    asm volatile("lgdt %0" : : "m"(l2_gdtr) : "memory");
    l2_vmcall(1, 0);
    asm volatile("lgdt %0" : : "m"(gdt_desc) : "memory");
    asm volatile("mov %0, %%ds" : : "r"(SEL_DATA) : "memory");
    asm volatile("swapgs");
}

static int seg_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_VMCALL))
        return T_DONE;
    CHECK_EQ(vmread(GUEST_FS_BASE), 0x7f00aa000000ull, "guest FS base saved");
    CHECK_EQ(vmread(GUEST_GS_BASE), 0x7f00cc000000ull, "guest GS base saved (after SWAPGS)");
    CHECK(vmread(GUEST_DS_AR) & AR_UNUSABLE, "DS loaded with a null selector not saved unusable "
          "(AR %#lx)", vmread(GUEST_DS_AR));
    CHECK_EQ(vmread(GUEST_DS_SEL), 0, "DS selector");
    CHECK_EQ(vmread(GUEST_GDTR_LIMIT), 0x3f, "guest GDTR limit after L2's LGDT");
    CHECK_EQ(vmread(GUEST_GDTR_BASE), (uint64_t)gdt, "guest GDTR base");
    CHECK_EQ(vmread(GUEST_CS_AR) & 0xf0ff, 0xa09b, "guest CS access rights");
    skip_insn();
    return T_RESUME;
}

/* ---- preemption timer value saved by an exit that has another cause ---- */
#define PTV 0x40000000u
static void ptsave_init(void)
{
    stage = 0;
    if (!want_pin(PIN_PREEMPT) || !want_exit(EXIT_SAVE_PREEMPT))
        return;
    vmwrite(PREEMPT_TIMER_VALUE, PTV);
}

static void ptsave_guest(void)
{
    for (volatile int i = 0; i < 20000; i++)
        ;
    l2_vmcall(1, 0);
}

static uint32_t pt_saved;
static int ptsave_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_VMCALL))
        return T_DONE;
    pt_saved = (uint32_t)vmread(PREEMPT_TIMER_VALUE);
    CHECK(pt_saved < PTV && pt_saved > 0, "saved timer value %#x not below the initial %#x",
          pt_saved, PTV);
    skip_insn();
    return T_RESUME;
}

static void ptsave_check(void)
{
    uint32_t v = (uint32_t)vmread(PREEMPT_TIMER_VALUE);
    CHECK(v <= pt_saved, "timer value went up across VM entry/exit: %#x after %#x", v, pt_saved);
}

/* ---- host state after a VM exit ---- */
static struct dtr host_gdtr, host_idtr;
static uint64_t host_fs, host_gs;
static void host_init(void)
{
    vmwrite(HOST_FS_BASE, 0x12345000);
    vmwrite(HOST_GS_BASE, 0x23456000);
}

static void host_check(void)
{
    asm volatile("sgdt %0; sidt %1" : "=m"(host_gdtr), "=m"(host_idtr));
    host_fs = rdmsr(MSR_FS_BASE);
    host_gs = rdmsr(MSR_GS_BASE);
    wrmsr(MSR_FS_BASE, 0);
    wrmsr(MSR_GS_BASE, 0);
    uint16_t ds, ss, tr;
    asm volatile("mov %%ds, %0; mov %%ss, %1; str %2" : "=r"(ds), "=r"(ss), "=r"(tr));
    CHECK_EQ(host_fs, 0x12345000, "FS base loaded from the host-state area");
    CHECK_EQ(host_gs, 0x23456000, "GS base loaded from the host-state area");
    CHECK_EQ(host_gdtr.limit, 0xffff, "GDTR limit after a VM exit (27.5.2: FFFFH)");
    CHECK_EQ(host_idtr.limit, 0xffff, "IDTR limit after a VM exit (27.5.2: FFFFH)");
    CHECK_EQ(host_gdtr.base, (uint64_t)gdt, "GDTR base from the host-state area");
    CHECK_EQ(ds, SEL_DATA, "DS selector from the host-state area");
    CHECK_EQ(ss, SEL_DATA, "SS selector from the host-state area");
    CHECK_EQ(tr, SEL_TSS, "TR selector from the host-state area");
    CHECK_EQ(host_rflags_at_exit, 0x2, "RFLAGS after a VM exit");
}

const struct vmx_test state_tests[] = {
    { .name = "interruptibility_saved",
      .sdm = "27.3.4: the interruptibility state saved reflects blocking by STI or by MOV SS in "
             "effect for the instruction that caused the VM exit",
      .init = intr_init, .guest = intr_guest, .exit_handler = intr_exit },
    { .name = "guest_segments_saved",
      .sdm = "27.3.2: VM exits save selector, base, limit and access rights of each segment "
             "(bit 16 = unusable for a null selector) and the GDTR/IDTR base and limit",
      .init = seg_init, .guest = seg_guest, .exit_handler = seg_exit },
    { .name = "preemption_timer_saved_value",
      .sdm = "27.3.4: with 'save VMX-preemption timer value', a VM exit stores the timer's "
             "current (decremented) value",
      .init = ptsave_init, .guest = ptsave_guest, .exit_handler = ptsave_exit,
      .check = ptsave_check },
    { .name = "host_state_loaded",
      .sdm = "27.5.2: VM exits load the host selectors and FS/GS/GDTR/IDTR bases; the GDTR and "
             "IDTR limits are set to FFFFH; 27.5.3: RFLAGS is cleared except bit 1",
      .init = host_init, .check = host_check },
};
const size_t n_state_tests = ARRAY_SIZE(state_tests);
