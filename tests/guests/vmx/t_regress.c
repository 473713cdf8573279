/*
 * t_regress.c — regressions found by running kvm-unit-tests' vmx.flat on
 * nestvm (each row names the SDM rule the engine got wrong):
 *
 *   - CR0 reserved bits 15:6, 17, 28:19 are ignored by MOV to CR0 and left
 *     alone by VM entry, so they are not "fixed to 0" in VMX operation
 *     (A.7, 26.3.2.1); VM entry also leaves CR0.CD/NW alone;
 *   - IA32_DEBUGCTL LBR/BTF writes, and "load debug controls" with them;
 *   - pending debug exceptions loaded by VM entry (26.7.3): delivered
 *     before the first instruction, after it with blocking by MOV SS
 *     (merged with its single-step trap), before the VMX-preemption timer;
 *   - an MTF VM exit takes priority over a single-step trap, which is saved
 *     in the pending-debug-exceptions field (25.5.2, 27.3.4);
 *   - IA32_TSC in the VM-exit MSR-store list is not TSC-offset (27.4);
 *   - RDPID needs "enable RDTSCP" in non-root operation (25.3);
 *   - the TPR-threshold/VTPR VM-entry check is skipped with "virtualize
 *     APIC accesses"; the TPR-below-threshold exit follows (26.2.1.1, 26.7.7);
 *   - the guest-physical address of an EPT violation on a fetch is the
 *     fetched address, not the page (27.2.1);
 *   - setting an accessed/dirty flag in a guest paging-structure entry is a
 *     write through EPT (28.2.3.2).
 */
#include "desc.h"
#include "vmx_lib.h"

static volatile int stage;
static volatile uint64_t seen[8];

extern char isr_stubs[];

#define DR6_INIT 0xffff0ff0ul
#define PEND_BS (1u << 14)
#define PEND_EN_BP (1u << 12)

static inline uint64_t read_dr6(void)
{
    uint64_t v;
    asm volatile("mov %%dr6, %0" : "=r"(v));
    return v;
}
static inline void write_dr6(uint64_t v) { asm volatile("mov %0, %%dr6" : : "r"(v)); }

/* WRMSR with recovery: the exception vector, or -1. */
static int try_wrmsr(uint32_t msr, uint64_t v)
{
    asm volatile(TRY_BEGIN "wrmsr" TRY_END
                 : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "r11", "memory");
    return exc_vector;
}

static int try_write_cr0(uint64_t v)
{
    asm volatile(TRY_BEGIN "mov %0, %%cr0" TRY_END : : "r"(v) : "r11", "memory");
    return exc_vector;
}

/* For rows whose exit handler must have seen exactly one VM exit. */
static void one_exit(void) { CHECK_EQ(stage, 1, "VM exits seen by the handler before L2 finished"); }

/* ---- CR0 reserved bits in VMX operation ---- */
#define CR0_BIT6 (1ul << 6)

static void g_store_cr0(void) { seen[0] = read_cr0(); }

static void cr0_rsvd_init(void)
{
    uint64_t cr0 = read_cr0();
    int v = try_write_cr0(cr0 | CR0_BIT6);
    CHECK_EQ(v, -1, "MOV to CR0 setting reserved bit 6 in VMX root operation (exception vector)");
    CHECK_EQ(read_cr0() & CR0_BIT6, 0, "CR0 bit 6 after MOV to CR0 (reserved bits read 0)");
    write_cr0(cr0);
    /* VMXON with the bit written: CR0 does not hold it, so no #GP (23.8) */
    vmxoff();
    write_cr0(cr0 | CR0_BIT6);
    memset(vmxon_region, 0, sizeof vmxon_region);
    *(uint32_t *)vmxon_region = caps.rev;
    int r = vmxon((uint64_t)vmxon_region);
    CHECK_EQ(r, VM_OK, "VMXON after writing CR0 bit 6");
    write_cr0(cr0);
    if (r != VM_OK && !vmx_on_fresh())
        return;
    vmcs_default();
    /* VM entry never modifies CR0 bits 15:6, 17, 28:19, NW and CD (26.3.2.1) */
    vmwrite(GUEST_CR0, cr0 | CR0_BIT6 | CR0_CD);
}

static void cr0_rsvd_check(void)
{
    CHECK_EQ(seen[0] & (CR0_BIT6 | CR0_CD | CR0_NW), read_cr0() & (CR0_CD | CR0_NW),
             "L2's CR0 bit 6 / CD / NW (the guest CR0 field's are ignored)");
    CHECK_EQ(vmread(GUEST_CR0) & CR0_BIT6, 0, "guest CR0 field saved by the VM exit, bit 6");
}

/* ---- IA32_DEBUGCTL ---- */
static void debugctl_init(void)
{
    CHECK_EQ(try_wrmsr(0x1d9, 3), -1, "WRMSR IA32_DEBUGCTL = LBR | BTF (exception vector)");
    CHECK_EQ(try_wrmsr(0x1d9, 0), -1, "WRMSR IA32_DEBUGCTL = 0");
    if (!want_entry(ENTRY_LOAD_DEBUG))
        return;
    vmwrite(GUEST_DEBUGCTL, 2); /* BTF: not a reserved bit (26.3.1.1) */
}

/* ---- pending debug exceptions at VM entry ---- */
static void g_nothing(void) {}

static void pdbg_exit_init(void)
{
    stage = 0;
    write_dr6(DR6_INIT);
    vmwrite(EXC_BITMAP, 1u << 1);
    vmwrite(GUEST_PENDING_DBG, PEND_BS | PEND_EN_BP | 1);
}

static int pdbg_exit_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_EXCEPTION))
        return T_DONE;
    CHECK_EQ(ex.intr_info, INTR_VALID | INTR_TYPE_HW_EXC | 1, "interruption information (#DB)");
    CHECK_EQ(ex.qual, 0x4001, "exit qualification (BS | B0 from the pending field)");
    CHECK_EQ(ex.rip, (uint64_t)l2_entry64, "guest RIP: before the first instruction");
    CHECK_EQ(vmread(GUEST_PENDING_DBG), 0, "pending debug exceptions after the #DB exit");
    CHECK_EQ(read_dr6(), DR6_INIT, "DR6 (a #DB that exits does not update it, 27.1)");
    vmwrite(EXC_BITMAP, 0);
    return T_RESUME;
}

static void pdbg_movss_init(void)
{
    stage = 0;
    write_dr6(DR6_INIT);
    vmwrite(EXC_BITMAP, 1u << 1);
    vmwrite(GUEST_RFLAGS, 0x102); /* TF */
    vmwrite(GUEST_INTERRUPTIBILITY, 2); /* blocking by MOV SS */
    vmwrite(GUEST_PENDING_DBG, PEND_BS | PEND_EN_BP | 2); /* BS = TF (26.3.1.5), B1 */
}

static int pdbg_movss_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_EXCEPTION))
        return T_DONE;
    CHECK_EQ(ex.intr_info, INTR_VALID | INTR_TYPE_HW_EXC | 1, "interruption information (#DB)");
    CHECK_EQ(ex.qual, 0x4002, "exit qualification: BS of the step merged with B1 held by MOV SS");
    CHECK_EQ(ex.rip, (uint64_t)g_nothing, "guest RIP: after the one instruction in the shadow");
    CHECK_EQ(vmread(GUEST_PENDING_DBG), 0, "pending debug exceptions after the #DB exit");
    CHECK_EQ(read_dr6(), DR6_INIT, "DR6 unchanged");
    vmwrite(GUEST_RFLAGS, ex.rflags & ~0x100ul);
    vmwrite(EXC_BITMAP, 0);
    return T_RESUME;
}

static bool pdbg_hook(struct frame *f)
{
    if (f->vec != 1)
        return false;
    seen[0] = f->rip;
    seen[1] = read_dr6();
    seen[2]++;
    return true;
}

static void pdbg_deliver_init(void)
{
    seen[0] = seen[1] = seen[2] = 0;
    write_dr6(DR6_INIT);
    l2_event_hook = pdbg_hook;
    vmwrite(GUEST_PENDING_DBG, PEND_BS | PEND_EN_BP | 4);
}

static void pdbg_deliver_check(void)
{
    CHECK_EQ(seen[2], 1, "#DB deliveries to L2");
    CHECK_EQ(seen[0], (uint64_t)l2_entry64, "#DB delivered before the first instruction");
    CHECK_EQ(seen[1] & 0x600f, 0x4004, "L2's DR6 (BS | B2 from the pending field)");
    write_dr6(DR6_INIT);
}

/* The first #DB only; TF is cleared in the interrupted context. */
static bool pdbg_first_hook(struct frame *f)
{
    if (f->vec != 1)
        return false;
    if (!seen[2]++) {
        seen[0] = f->rip;
        seen[1] = read_dr6();
    }
    f->rflags &= ~0x100ul;
    return true;
}

static void pdbg_movss_l2_init(void)
{
    seen[0] = seen[1] = seen[2] = 0;
    write_dr6(DR6_INIT);
    l2_event_hook = pdbg_first_hook;
    vmwrite(GUEST_RFLAGS, 0x102);       /* TF */
    vmwrite(GUEST_INTERRUPTIBILITY, 2); /* blocking by MOV SS */
    vmwrite(GUEST_PENDING_DBG, PEND_BS | PEND_EN_BP | 2);
}

static void pdbg_movss_l2_check(void)
{
    CHECK_EQ(seen[2], 1, "#DB deliveries to L2");
    CHECK_EQ(seen[0], (uint64_t)g_nothing, "#DB after the instruction in the shadow");
    CHECK_EQ(seen[1] & 0x600f, 0x4002, "L2's DR6: BS of the step and B1 held by MOV SS");
    write_dr6(DR6_INIT);
}

static void pdbg_timer_init(void)
{
    stage = 0;
    seen[2] = 0;
    l2_event_hook = pdbg_hook;
    if (!want_pin(PIN_PREEMPT))
        return;
    vmwrite(PREEMPT_TIMER_VALUE, 0);
    vmwrite(GUEST_PENDING_DBG, PEND_BS | PEND_EN_BP);
}

static int pdbg_timer_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_PREEMPT))
        return T_DONE;
    CHECK_EQ(ex.rip, (uint64_t)isr_stubs + 16, "timer exit at L2's #DB handler (after delivery)");
    clear_ctl(PIN_CTLS, PIN_PREEMPT);
    return T_RESUME;
}

static void pdbg_timer_check(void)
{
    one_exit();
    CHECK_EQ(seen[2], 1, "#DB deliveries to L2");
    write_dr6(DR6_INIT);
}

/* ---- MTF over a single-step trap ---- */
static void mtf_tf_init(void)
{
    stage = 0;
    if (!want_proc(PROC_MTF))
        return;
    vmwrite(GUEST_RFLAGS, 0x102);
}

static int mtf_tf_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_MTF))
        return T_DONE;
    CHECK_EQ(ex.rip, (uint64_t)g_nothing, "MTF exit after the first instruction");
    CHECK_EQ(vmread(GUEST_PENDING_DBG), PEND_BS, "pending debug exceptions: the single-step trap");
    clear_ctl(PROC_CTLS, PROC_MTF);
    vmwrite(GUEST_RFLAGS, ex.rflags & ~0x100ul);
    vmwrite(GUEST_PENDING_DBG, 0);
    return T_RESUME;
}

/* ---- IA32_TSC in the VM-exit MSR-store list ---- */
#define TSC_OFF (1ul << 40)

static void g_rdtsc(void) { seen[0] = rdtsc(); }

static void tsc_store_init(void)
{
    if (!want_proc(PROC_TSC_OFFSET))
        return;
    vmwrite(TSC_OFFSET, TSC_OFF);
    msr_list_store[0] = (struct msr_entry){ .index = 0x10 };
    vmwrite(EXIT_MSR_STORE_COUNT, 1);
    seen[1] = rdtsc();
}

static void tsc_store_check(void)
{
    uint64_t t1 = rdtsc(), t0 = seen[1], stored = msr_list_store[0].value;
    CHECK(t0 <= stored && stored <= t1, "IA32_TSC stored by the VM exit %#lx, not within L1's "
          "[%#lx, %#lx] (TSC offsetting does not apply to the MSR-store list)", stored, t0, t1);
    CHECK(seen[0] >= t0 + TSC_OFF && seen[0] <= t1 + TSC_OFF, "L2's RDTSC %#lx is not offset",
          seen[0]);
}

/* ---- VMX-preemption timer: L2 never reads a TSC at or past the expiry ---- */
#define PT_TICKS 200000ul

static void g_pt_loop(void)
{
    l2_vmcall(0, 0);   /* L1 arms the timer for the VMRESUME */
    seen[1] = rdtsc(); /* the timer already runs */
    for (;;) {
        /* long straight-line blocks: an implementation that looks at the
         * timer only between blocks lets L2 read many TSC values late */
        uint32_t lo, hi;
        asm volatile(".rept 24\n\trdtsc\n\t.endr" : "=a"(lo), "=d"(hi));
        seen[2] = (uint64_t)hi << 32 | lo;
    }
}

static void pt_tsc_init(void)
{
    stage = 0;
    seen[1] = seen[2] = 0;
    if (!(caps.pin_a1 & PIN_PREEMPT))
        skip("not advertised: VMX-preemption timer");
}

static int pt_tsc_exit(void)
{
    if (stage++ == 0) {
        if (!expect_reason(R_VMCALL))
            return T_DONE;
        skip_insn();
        want_pin(PIN_PREEMPT);
        vmwrite(PREEMPT_TIMER_VALUE, PT_TICKS >> (caps.misc & 0x1f));
        return T_RESUME;
    }
    if (!expect_reason(R_PREEMPT))
        return T_DONE;
    /* 25.5.1: the timer counts down each time TSC bit X changes (X =
     * IA32_VMX_MISC[4:0]); from the first TSC L2 read, the expiry is at
     * most this late */
    unsigned x = caps.misc & 0x1f;
    uint64_t deadline = ((seen[1] >> x) << x) + ((PT_TICKS >> x) << x);
    if (verbose)
        printf("pt: start %#lx last %#lx deadline %#lx margin %ld\n", seen[1], seen[2], deadline,
               (long)(deadline - seen[2]));
    CHECK(seen[2] < deadline, "L2 stored TSC %#lx at or past the timer's expiry %#lx", seen[2],
          deadline);
    return T_DONE;
}

/* ---- RDPID and "enable RDTSCP" ---- */
extern char s_rdpid[];
asm(".pushsection .text\ns_rdpid:\n\t.byte 0xf3, 0x0f, 0xc7, 0xf8\n\tret\n.popsection"); /* rdpid %rax */

static void g_rdpid(void)
{
    uint64_t v;
    asm volatile("call s_rdpid" : "=a"(v) : : "memory");
    seen[0] = v;
}

static bool have_rdpid(void)
{
    uint32_t a, b, c, d;
    cpuid2(7, 0, &a, &b, &c, &d);
    if (!(c & (1u << 22))) {
        skip("CPUID.7.0:ECX.RDPID = 0");
        return false;
    }
    return true;
}

static void rdpid_ud_init(void)
{
    stage = 0;
    if (!have_rdpid())
        return;
    vmwrite(EXC_BITMAP, 1u << 6);
    if (caps.proc_a1 & PROC_SECONDARY)
        clear_ctl(PROC2_CTLS, PROC2_RDTSCP);
}

static int rdpid_ud_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_EXCEPTION))
        return T_DONE;
    CHECK_EQ(ex.intr_info, INTR_VALID | INTR_TYPE_HW_EXC | 6, "RDPID without 'enable RDTSCP': #UD");
    CHECK_EQ(ex.rip, (uint64_t)s_rdpid, "guest RIP at RDPID");
    return T_DONE;
}

static void rdpid_ok_init(void)
{
    seen[0] = 0;
    if (!have_rdpid() || !want_proc2(PROC2_RDTSCP))
        return;
    wrmsr(MSR_TSC_AUX, 0x4321);
}

static void rdpid_ok_check(void)
{
    CHECK_EQ(seen[0], 0x4321, "RDPID with 'enable RDTSCP' reads IA32_TSC_AUX");
    wrmsr(MSR_TSC_AUX, 0);
}

/* ---- TPR threshold above VTPR with "virtualize APIC accesses" ---- */
static void tpr_vaa_init(void)
{
    stage = 0;
    if (!want_proc(PROC_TPR_SHADOW) || !want_proc2(PROC2_APIC_ACCESS))
        return;
    vmwrite(APIC_ACCESS_ADDR, (uint64_t)apic_access_page);
    vapic_page[0x80] = 0x20; /* VTPR class 2 */
    vmwrite(TPR_THRESHOLD, 5);
}

static int tpr_vaa_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_TPR_BELOW))
        return T_DONE;
    CHECK_EQ(ex.rip, (uint64_t)l2_entry64, "TPR-below-threshold exit right after VM entry");
    vmwrite(TPR_THRESHOLD, 0);
    return T_RESUME;
}

/* ---- EPT: exact guest-physical address of a fetch violation ---- */
#define FETCH_OFF 0x123ul

static bool need_ept(void)
{
    if (!allowed_proc2(PROC2_EPT)) {
        skip("not advertised: EPT");
        return false;
    }
    return true;
}

static void g_fetch(void) { ((void (*)(void))(TA_PAGE(7) + FETCH_OFF))(); }

static void ept_fetch_init(void)
{
    stage = 0;
    *(volatile uint8_t *)(TA_PAGE(7) + FETCH_OFF) = 0xc3; /* RET */
    if (need_ept())
        ept_set_ta(7, EPT_R | EPT_W | EPT_WB);
}

static int ept_fetch_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_EPT_VIOLATION))
        return T_DONE;
    CHECK_EQ(ex.qual & 7, 4, "access type: instruction fetch");
    CHECK_EQ(ex.gpa, TA_PAGE(7) + FETCH_OFF, "guest-physical address: the fetched byte");
    CHECK_EQ(ex.gla, TA_PAGE(7) + FETCH_OFF, "guest-linear address");
    ept_set_ta(7, EPT_RWX | EPT_WB);
    return T_RESUME;
}

/* ---- EPT: A/D updates in a guest PTE on a read-only page ---- */
#define PTE_IDX 3
#define TA2_PAGE (TEST_AREA2 + PTE_IDX * PAGE_SIZE)
#define EPTQ_AD_WRITE (1u | 2u | 8u | 0x80u) /* R, W, readable, linear valid, bit 8 clear */

static void g_read_ta2(void) { seen[0] = *(volatile uint64_t *)TA2_PAGE; }
static void g_write_ta2(void)
{
    seen[0] = *(volatile uint64_t *)TA2_PAGE;
    *(volatile uint64_t *)TA2_PAGE = 0x5555;
}

static void ept_ad_init(uint64_t pte_flags_clear)
{
    stage = 0;
    if (!need_ept())
        return;
    L2_PT_TA2[PTE_IDX] &= ~pte_flags_clear;
    ept_set_ta(5, EPT_R | EPT_WB); /* TA page 5 holds L2's PTEs for TEST_AREA2 */
}

static void ept_a_init(void) { ept_ad_init(PTE_A | PTE_D); }
static void ept_d_init(void) { ept_ad_init(PTE_D); }

static int ept_ad_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_EPT_VIOLATION))
        return T_DONE;
    CHECK_EQ(ex.qual & 0x1bf, EPTQ_AD_WRITE, "qualification of the A/D-flag update");
    CHECK_EQ(ex.gpa, TA_PAGE(5) + 8 * PTE_IDX, "guest-physical address: the guest PTE");
    CHECK_EQ(ex.gla, TA2_PAGE, "guest-linear address being translated");
    ept_set_ta(5, EPT_RWX | EPT_WB);
    return T_RESUME;
}

static void ept_ad_check(void)
{
    one_exit();
    CHECK(L2_PT_TA2[PTE_IDX] & PTE_A, "guest PTE accessed flag set after the retry");
}

static void ept_d_check(void)
{
    one_exit();
    CHECK(L2_PT_TA2[PTE_IDX] & PTE_D, "guest PTE dirty flag set after the retry");
}

const struct vmx_test regress_tests[] = {
    { .name = "cr0_reserved_bits_vmx",
      .sdm = "A.7/26.3.2.1: CR0 bits 15:6, 17, 28:19 are ignored by MOV to CR0 (not fixed to 0 "
             "in VMX operation: no #GP, VMXON succeeds); VM entry never modifies them, ET, NW, CD",
      .init = cr0_rsvd_init, .guest = g_store_cr0, .check = cr0_rsvd_check },
    { .name = "debugctl_lbr_btf",
      .sdm = "Vol.4 Table 2-2: IA32_DEBUGCTL bits 0 (LBR) and 1 (BTF) are not reserved; 26.3.1.1 "
             "'load debug controls' accepts them",
      .init = debugctl_init },
    { .name = "pending_dbg_at_entry_exits",
      .sdm = "26.7.3: valid pending debug exceptions without MOV-SS blocking are delivered "
             "after VM entry; with #DB in the exception bitmap that is a VM exit with the bits "
             "in the qualification and DR6 unchanged (27.1)",
      .init = pdbg_exit_init, .exit_handler = pdbg_exit_exit,
      .check = one_exit },
    { .name = "pending_dbg_after_mov_ss",
      .sdm = "26.7.3: with blocking by MOV SS the pending debug exceptions are held for one "
             "instruction and join its single-step trap (qualification BS | B1)",
      .init = pdbg_movss_init, .guest = g_nothing, .exit_handler = pdbg_movss_exit,
      .check = one_exit },
    { .name = "pending_dbg_delivered_to_l2",
      .sdm = "26.7.3: a pending debug exception that does not exit updates DR6 normally and is "
             "delivered through L2's IDT before its first instruction",
      .init = pdbg_deliver_init, .check = pdbg_deliver_check },
    { .name = "pending_dbg_mov_ss_to_l2",
      .sdm = "26.7.3: debug exceptions held by MOV SS join the next single-step trap; not "
             "intercepted, the #DB reports both in L2's DR6 (BS | B1)",
      .init = pdbg_movss_l2_init, .guest = g_nothing, .check = pdbg_movss_l2_check },
    { .name = "pending_dbg_before_timer_zero",
      .sdm = "26.7.4: a VMX-preemption timer of 0 exits after any pending debug exceptions "
             "established by VM entry were delivered",
      .init = pdbg_timer_init, .exit_handler = pdbg_timer_exit, .check = pdbg_timer_check },
    { .name = "mtf_over_single_step",
      .sdm = "25.5.2: MTF VM exits take priority over debug-trap exceptions; 27.3.4: the "
             "single-step trap is saved in the pending-debug-exceptions field (BS)",
      .init = mtf_tf_init, .guest = g_nothing, .exit_handler = mtf_tf_exit,
      .check = one_exit },
    { .name = "msr_store_tsc_not_offset",
      .sdm = "27.4: IA32_TSC stored in the VM-exit MSR-store area is not adjusted by TSC "
             "offsetting",
      .init = tsc_store_init, .guest = g_rdtsc, .check = tsc_store_check },
    { .name = "preempt_timer_no_tsc_past_expiry",
      .sdm = "25.5.1: the VM exit occurs when the timer counts down to zero, so L2 cannot read "
             "a TSC value after that point",
      .init = pt_tsc_init, .guest = g_pt_loop, .exit_handler = pt_tsc_exit },
    { .name = "rdpid_needs_enable_rdtscp",
      .sdm = "25.3: if 'enable RDTSCP' is 0, RDPID causes #UD in VMX non-root operation",
      .init = rdpid_ud_init, .guest = g_rdpid, .exit_handler = rdpid_ud_exit,
      .check = one_exit },
    { .name = "rdpid_with_enable_rdtscp",
      .sdm = "25.3: with 'enable RDTSCP' = 1 RDPID operates normally",
      .init = rdpid_ok_init, .guest = g_rdpid, .check = rdpid_ok_check },
    { .name = "tpr_threshold_with_apic_access",
      .sdm = "26.2.1.1: the TPR threshold / VTPR check applies only without 'virtualize APIC "
             "accesses'; 26.7.7: then a TPR-below-threshold VM exit follows the entry",
      .init = tpr_vaa_init, .exit_handler = tpr_vaa_exit,
      .check = one_exit },
    { .name = "ept_fetch_violation_gpa",
      .sdm = "27.2.1: an EPT violation stores the guest-physical address of the access that "
             "caused it (for a fetch: the fetched byte, not the page)",
      .init = ept_fetch_init, .guest = g_fetch, .exit_handler = ept_fetch_exit,
      .check = one_exit },
    { .name = "ept_guest_pte_accessed_write",
      .sdm = "28.2.3.2/Table 27-7: setting the accessed flag of a guest paging-structure entry "
             "is a write; on a read-only EPT page it is an EPT violation (R|W, bit 8 clear)",
      .init = ept_a_init, .guest = g_read_ta2, .exit_handler = ept_ad_exit,
      .check = ept_ad_check },
    { .name = "ept_guest_pte_dirty_write",
      .sdm = "28.2.3.2: a write that must set the dirty flag of a guest PTE on a read-only EPT "
             "page is an EPT violation; a read with A already set is not",
      .init = ept_d_init, .guest = g_write_ta2, .exit_handler = ept_ad_exit,
      .check = ept_d_check },
};
const size_t n_regress_tests = ARRAY_SIZE(regress_tests);
