/*
 * t_events.c — interrupts, NMIs and timers around non-root operation:
 * interrupt-window and NMI-window exiting (25.2, 26.7.5-6), the VMX-
 * preemption timer (25.5.1), external-interrupt exiting with and without
 * "acknowledge interrupt on exit" (25.2, 27.2.2), event injection
 * (26.6), reflection of an intercepted exception, and the monitor trap
 * flag (25.5.2).
 */
#include "desc.h"
#include "vmx_lib.h"

static volatile int stage;
static volatile uint64_t seen[8];
static volatile int l2_stop;

#define LAPIC_ICR_LO 0x300
#define LAPIC_ISR 0x100
#define LAPIC_IRR 0x200
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_DIV 0x3e0

static bool lapic_bit(unsigned base, unsigned vec)
{
    return (lapic_read(base + 0x10 * (vec / 32)) >> (vec % 32)) & 1;
}

/* ---- interrupt window ---- */
static void iw_now_init(void)
{
    stage = 0;
    if (!want_proc(PROC_INTR_WINDOW))
        return;
    vmwrite(GUEST_RFLAGS, 0x202);
}

static int iw_now_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_INTR_WINDOW))
        return T_DONE;
    CHECK_EQ(ex.rip, (uint64_t)l2_entry64, "guest RIP: before the first instruction");
    clear_ctl(PROC_CTLS, PROC_INTR_WINDOW);
    return T_RESUME;
}

extern char s_sti[], s_sti_after[];
asm(".pushsection .text\ns_sti:\n\tsti\n\tnop\ns_sti_after:\n\tcli\n\tret\n.popsection");

static void iw_sti_init(void)
{
    stage = 0;
    want_proc(PROC_INTR_WINDOW);
}

static void iw_sti_guest(void) { ((void (*)(void))s_sti)(); }

static int iw_sti_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_INTR_WINDOW))
        return T_DONE;
    CHECK_EQ(ex.rip, (uint64_t)s_sti_after, "guest RIP: after the instruction following STI");
    CHECK(ex.rflags & 0x200, "guest RFLAGS.IF = 0 at the interrupt-window exit");
    CHECK_EQ(vmread(GUEST_INTERRUPTIBILITY) & 3, 0, "blocking by STI/MOV SS at the exit");
    clear_ctl(PROC_CTLS, PROC_INTR_WINDOW);
    return T_RESUME;
}

/* ---- NMI window (virtual NMIs) ---- */
extern char s_iret[], s_iret_target[];
asm(".pushsection .text\n.globl s_iret\n"
    "s_iret:\n\t"
    "mov %ss, %eax\n\tpush %rax\n\tlea 8(%rsp), %rax\n\tpush %rax\n\tpushfq\n\t"
    "mov %cs, %eax\n\tpush %rax\n\tlea s_iret_target(%rip), %rax\n\tpush %rax\n\t"
    "iretq\n"
    "s_iret_target:\n\tret\n.popsection");

static void nmiw_init(void)
{
    stage = 0;
    if (!want_pin(PIN_NMI | PIN_VIRT_NMI))
        return;
    want_proc(PROC_NMI_WINDOW);
}

static void nmiw_guest(void) { ((void (*)(void))s_iret)(); }

static int nmiw_exit(void)
{
    switch (stage++) {
    case 0:
        if (!expect_reason(R_NMI_WINDOW))
            return T_DONE;
        CHECK_EQ(ex.rip, (uint64_t)l2_entry64, "NMI-window exit before the first instruction");
        vmwrite(GUEST_INTERRUPTIBILITY, 8); /* virtual-NMI blocking */
        return T_RESUME;
    case 1:
        if (!expect_reason(R_NMI_WINDOW))
            return T_DONE;
        CHECK_EQ(ex.rip, (uint64_t)s_iret_target, "NMI-window exit right after IRET");
        CHECK_EQ(vmread(GUEST_INTERRUPTIBILITY) & 8, 0, "virtual-NMI blocking after IRET");
        clear_ctl(PROC_CTLS, PROC_NMI_WINDOW);
        return T_RESUME;
    default:
        return unexpected_exit();
    }
}

/* ---- VMX-preemption timer ---- */
static void pt_zero_init(void)
{
    stage = 0;
    if (!want_pin(PIN_PREEMPT))
        return;
    vmwrite(PREEMPT_TIMER_VALUE, 0);
}

static int pt_zero_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_PREEMPT))
        return T_DONE;
    CHECK_EQ(ex.rip, (uint64_t)l2_entry64, "timer value 0: exit before the first instruction");
    clear_ctl(PIN_CTLS, PIN_PREEMPT);
    return T_RESUME;
}

#define PT_VALUE 20000u
static uint64_t pt_tsc0;
static volatile uint64_t pt_spins;

static void pt_count_init(void)
{
    stage = 0;
    pt_spins = 0;
    l2_stop = 0;
    if (!want_pin(PIN_PREEMPT) || !want_exit(EXIT_SAVE_PREEMPT))
        return;
    vmwrite(PREEMPT_TIMER_VALUE, PT_VALUE);
    pt_tsc0 = rdtsc();
}

static void spin_guest(void)
{
    uint64_t t0 = rdtsc();
    while (!l2_stop) {
        pt_spins++;
        if (rdtsc() - t0 > 20000000000ull) { /* far beyond any timer used here */
            l2_vmcall(0x7104, 0);
            break;
        }
    }
}

static int pt_count_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_PREEMPT))
        return T_DONE;
    uint64_t elapsed = rdtsc() - pt_tsc0;
    unsigned rate = caps.misc & 0x1f;
    CHECK(pt_spins > 0, "L2 did not run before the timer expired");
    CHECK(elapsed >= ((uint64_t)(PT_VALUE - 1) << rate),
          "timer expired after %lu TSC ticks, before (%u - 1) << %u", elapsed, PT_VALUE, rate);
    CHECK_EQ(vmread(PREEMPT_TIMER_VALUE), 0, "saved VMX-preemption timer value");
    clear_ctl(PIN_CTLS, PIN_PREEMPT);
    clear_ctl(EXIT_CTLS, EXIT_SAVE_PREEMPT);
    l2_stop = 1;
    return T_RESUME;
}

static void pt_hlt_init(void)
{
    stage = 0;
    if (!(caps.misc & (1u << 6))) {
        skip("not advertised: activity state HLT (IA32_VMX_MISC[6])");
        return;
    }
    if (!want_pin(PIN_PREEMPT))
        return;
    vmwrite(PREEMPT_TIMER_VALUE, 1000);
    vmwrite(GUEST_ACTIVITY, 1);
}

static int pt_hlt_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_PREEMPT))
        return T_DONE;
    CHECK_EQ(vmread(GUEST_ACTIVITY), 1, "activity state saved (HLT)");
    CHECK_EQ(ex.rip, (uint64_t)l2_entry64, "guest RIP unchanged while halted");
    clear_ctl(PIN_CTLS, PIN_PREEMPT);
    vmwrite(GUEST_ACTIVITY, 0);
    return T_RESUME;
}

/* ---- external interrupts ---- */
static void self_ipi(unsigned vec) { lapic_write(LAPIC_ICR_LO, vec | 1u << 14 | 1u << 18); }

static unsigned l1_irq_before;
static void extint_ack_init(void)
{
    stage = 0;
    if (!want_pin(PIN_EXTINT) || !want_exit(EXIT_ACK_INTR))
        return;
    l1_irq_before = irq_count[0x40];
    self_ipi(0x40); /* pending: L1 runs with interrupts disabled */
}

static int extint_ack_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_EXTINT))
        return T_DONE;
    CHECK_EQ(ex.intr_info, INTR_VALID | INTR_TYPE_EXT | 0x40, "VM-exit interruption information");
    CHECK_EQ(ex.rip, (uint64_t)l2_entry64, "exit before the first L2 instruction");
    CHECK(lapic_bit(LAPIC_ISR, 0x40), "vector 0x40 not in service: not acknowledged on exit");
    CHECK(!lapic_bit(LAPIC_IRR, 0x40), "vector 0x40 still requested after acknowledge");
    lapic_eoi();
    sti();
    asm volatile("nop");
    cli();
    CHECK_EQ(irq_count[0x40], l1_irq_before, "acknowledged interrupt delivered again to L1");
    return T_RESUME;
}

static void extint_noack_init(void)
{
    stage = 0;
    if (!want_pin(PIN_EXTINT))
        return;
    l1_irq_before = irq_count[0x41];
    self_ipi(0x41);
}

static int extint_noack_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_EXTINT))
        return T_DONE;
    CHECK_EQ(ex.intr_info & INTR_VALID, 0, "interruption information valid without acknowledge");
    CHECK(lapic_bit(LAPIC_IRR, 0x41), "vector 0x41 no longer pending after the exit");
    sti();
    for (int i = 0; i < 1000 && irq_count[0x41] == l1_irq_before; i++)
        asm volatile("nop");
    cli();
    CHECK_EQ(irq_count[0x41], l1_irq_before + 1, "pending interrupt delivered to L1 after STI");
    CHECK(!lapic_bit(LAPIC_IRR, 0x41) && !lapic_bit(LAPIC_ISR, 0x41),
          "vector 0x41 still requested/in service after L1 handled it (IRR %d ISR %d)",
          lapic_bit(LAPIC_IRR, 0x41), lapic_bit(LAPIC_ISR, 0x41));
    return T_RESUME;
}

static void extint_timer_init(void)
{
    stage = 0;
    l2_stop = 0;
    pt_spins = 0;
    if (!want_pin(PIN_EXTINT) || !want_exit(EXIT_ACK_INTR))
        return;
    lapic_write(LAPIC_TIMER_DIV, 0xb);          /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, 0x42);          /* one-shot, vector 0x42 */
    lapic_write(LAPIC_TIMER_INIT, 200000);
}

static int extint_timer_exit(void)
{
    if (ex.reason == R_VMCALL && g_regs.r[RAX] == 0x7104) {
        fail_at(__LINE__, "LAPIC timer interrupt never caused a VM exit");
        return T_DONE;
    }
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_EXTINT))
        return T_DONE;
    CHECK_EQ(ex.intr_info, INTR_VALID | INTR_TYPE_EXT | 0x42, "interruption information (timer)");
    CHECK(pt_spins > 0, "L2 never ran before the timer interrupt");
    lapic_eoi();
    l2_stop = 1;
    return T_RESUME;
}

/* ---- event injection (26.6) ---- */
static bool count_hook(struct frame *f) { return f->vec == 13 || f->vec == 0x80 || f->vec == 0x41 || f->vec == 2 || f->vec == 6; }

static void inject_gp_init(void)
{
    l2_event_hook = count_hook;
    l2_irq_count[13] = 0;
    vmwrite(EXC_BITMAP, 1u << 13); /* injected events ignore the exception bitmap */
    vmwrite(ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE_HW_EXC | INTR_ERR_VALID | 13);
    vmwrite(ENTRY_EXC_ERR, 0x1234);
}

static void inject_gp_check(void)
{
    CHECK_EQ(l2_irq_count[13], 1, "L2 #GP handler invocations");
    CHECK_EQ(l2_last_err[13], 0x1234, "error code pushed for the injected #GP");
    CHECK_EQ(l2_last_rip[13], (uint64_t)l2_entry64, "return RIP of the injected #GP");
    CHECK_EQ(vmread(ENTRY_INTR_INFO) & INTR_VALID, 0,
             "VM exit did not clear the valid bit of the VM-entry interruption information");
}

extern char s_softint_site[], s_softint_after[];
asm(".pushsection .text\ns_softint_site:\n\tint $0x80\ns_softint_after:\n\tjmp l2_entry64\n.popsection");

static void inject_soft_init(void)
{
    l2_event_hook = count_hook;
    l2_irq_count[0x80] = 0;
    vmwrite(GUEST_RIP, (uint64_t)s_softint_site);
    vmwrite(ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE_SOFT_INT | 0x80);
    vmwrite(ENTRY_INSN_LEN, 2);
}

static void inject_soft_check(void)
{
    CHECK_EQ(l2_irq_count[0x80], 1, "L2 INT 80h handler invocations");
    CHECK_EQ(l2_last_rip[0x80], (uint64_t)s_softint_after,
             "return RIP = guest RIP + VM-entry instruction length");
}

static void inject_ext_init(void)
{
    l2_event_hook = count_hook;
    l2_irq_count[0x41] = 0;
    vmwrite(GUEST_RFLAGS, 0x202);
    vmwrite(ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE_EXT | 0x41);
}

static void inject_ext_check(void)
{
    CHECK_EQ(l2_irq_count[0x41], 1, "L2 vector 0x41 handler invocations");
    CHECK_EQ(l2_last_rip[0x41], (uint64_t)l2_entry64, "return RIP of the injected interrupt");
}

static void inject_nmi_init(void)
{
    l2_event_hook = count_hook;
    l2_irq_count[2] = 0;
    vmwrite(ENTRY_INTR_INFO, INTR_VALID | INTR_TYPE_NMI | 2);
}

static void inject_nmi_check(void) { CHECK_EQ(l2_irq_count[2], 1, "L2 NMI handler invocations"); }

/* An intercepted #UD reflected back into L2 by injection. */
static bool ud_fix_hook(struct frame *f)
{
    if (f->vec != 6)
        return false;
    f->rip += 2;
    return true;
}

static void reflect_init(void)
{
    stage = 0;
    l2_event_hook = ud_fix_hook;
    l2_irq_count[6] = 0;
    vmwrite(EXC_BITMAP, 1u << 6);
}

static void reflect_guest(void) { asm volatile("ud2"); }

static int reflect_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_EXCEPTION))
        return T_DONE;
    CHECK_EQ(ex.intr_info, INTR_VALID | INTR_TYPE_HW_EXC | 6, "#UD interruption info");
    vmwrite(ENTRY_INTR_INFO, ex.intr_info);
    return T_RESUME;
}

static void reflect_check(void) { CHECK_EQ(l2_irq_count[6], 1, "reflected #UD handled by L2"); }

/* ---- monitor trap flag ---- */
extern char s_mtf[], s_mtf2[], s_mtf3[];
asm(".pushsection .text\ns_mtf:\n\tnop\ns_mtf2:\n\txchg %rax, %rax\ns_mtf3:\n\tjmp l2_entry64\n.popsection");

static void mtf_init(void)
{
    stage = 0;
    if (!want_proc(PROC_MTF))
        return;
    vmwrite(GUEST_RIP, (uint64_t)s_mtf);
}

static int mtf_exit(void)
{
    switch (stage++) {
    case 0:
        if (!expect_reason(R_MTF))
            return T_DONE;
        CHECK_EQ(ex.rip, (uint64_t)s_mtf2, "MTF exit after the first instruction");
        return T_RESUME;
    case 1:
        if (!expect_reason(R_MTF))
            return T_DONE;
        CHECK_EQ(ex.rip, (uint64_t)s_mtf3, "MTF exit after the second instruction");
        clear_ctl(PROC_CTLS, PROC_MTF);
        return T_RESUME;
    default:
        return unexpected_exit();
    }
}

const struct vmx_test event_tests[] = {
    { .name = "intr_window_immediate",
      .sdm = "25.2: with 'interrupt-window exiting', a VM exit occurs before any instruction if "
             "RFLAGS.IF = 1 and there is no blocking of interrupts",
      .init = iw_now_init, .exit_handler = iw_now_exit },
    { .name = "intr_window_after_sti",
      .sdm = "25.2/24.4.2: blocking by STI lasts until the instruction after STI completes; the "
             "interrupt-window exit follows it",
      .init = iw_sti_init, .guest = iw_sti_guest, .exit_handler = iw_sti_exit },
    { .name = "nmi_window",
      .sdm = "25.2: with 'NMI-window exiting', a VM exit occurs before any instruction if there "
             "is no virtual-NMI blocking; 25.3: IRET removes virtual-NMI blocking",
      .init = nmiw_init, .guest = nmiw_guest, .exit_handler = nmiw_exit },
    { .name = "preemption_timer_zero",
      .sdm = "25.5.1: if the VMX-preemption timer value is 0 at VM entry, a VM exit occurs "
             "before any instruction is executed (reason 52)",
      .init = pt_zero_init, .exit_handler = pt_zero_exit },
    { .name = "preemption_timer_countdown",
      .sdm = "25.5.1: the timer counts down by 1 each time bit X of the TSC changes (X = "
             "IA32_VMX_MISC[4:0]); 27.3.2: 'save VMX-preemption timer value' saves 0 on a "
             "timer exit",
      .init = pt_count_init, .guest = spin_guest, .exit_handler = pt_count_exit },
    { .name = "preemption_timer_in_hlt",
      .sdm = "25.5.1/27.3.4: the timer runs in the HLT activity state; the exit saves activity "
             "state HLT",
      .init = pt_hlt_init, .exit_handler = pt_hlt_exit },
    { .name = "extint_exit_ack",
      .sdm = "25.2: with 'external-interrupt exiting' an external interrupt causes a VM exit "
             "regardless of RFLAGS.IF; 27.2.2: with 'acknowledge interrupt on exit' the "
             "interrupt is acknowledged and its vector saved (type 0)",
      .init = extint_ack_init, .exit_handler = extint_ack_exit },
    { .name = "extint_exit_noack",
      .sdm = "27.1: without 'acknowledge interrupt on exit' the interrupt controller is not "
             "acknowledged and the interrupt remains pending; the interruption info is invalid",
      .init = extint_noack_init, .exit_handler = extint_noack_exit },
    { .name = "extint_lapic_timer",
      .sdm = "25.2: an external interrupt (LAPIC timer) arriving while L2 runs causes a VM exit",
      .init = extint_timer_init, .guest = spin_guest, .exit_handler = extint_timer_exit },
    { .name = "inject_gp_errcode",
      .sdm = "26.6.1: VM entry injects the event in the VM-entry interruption-information field "
             "through the guest IDT, with the error code, regardless of the exception bitmap; "
             "27.2: VM exits clear the valid bit",
      .init = inject_gp_init, .check = inject_gp_check },
    { .name = "inject_soft_int",
      .sdm = "26.6.1.1: for a software interrupt the RIP pushed is guest RIP + VM-entry "
             "instruction length",
      .init = inject_soft_init, .check = inject_soft_check },
    { .name = "inject_ext_int",
      .sdm = "26.6: injection of an external interrupt (type 0) delivers it through the guest "
             "IDT with RFLAGS.IF = 1",
      .init = inject_ext_init, .check = inject_ext_check },
    { .name = "inject_nmi",
      .sdm = "26.6: injection of an NMI (type 2, vector 2) delivers it through guest IDT vector 2",
      .init = inject_nmi_init, .check = inject_nmi_check },
    { .name = "reflect_exception",
      .sdm = "25.2 + 26.6: an exception intercepted by the exception bitmap and re-injected with "
             "the exit's interruption information reaches L2's handler",
      .init = reflect_init, .guest = reflect_guest, .exit_handler = reflect_exit,
      .check = reflect_check },
    { .name = "monitor_trap_flag",
      .sdm = "25.5.2: with 'monitor trap flag', a VM exit (reason 37) occurs after each "
             "instruction; RIP references the next instruction",
      .init = mtf_init, .exit_handler = mtf_exit },
};
const size_t n_event_tests = ARRAY_SIZE(event_tests);
