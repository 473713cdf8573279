/*
 * t_prio.c — priorities and saved state: exceptions that take priority over
 * instruction VM exits at CPL 3 (SDM Vol.3 25.1.1), instructions that exit
 * regardless of CPL (25.1.2, 30.3 "ELSIF in VMX non-root operation THEN VM
 * exit" before the CPL check), a single-step #DB intercepted by the
 * exception bitmap (27.1: DR6 not updated; 27.2.1 Table 27-1 BS bit), and
 * the HLT activity state saved when an interrupt ends a HLT in L2 (27.3.4).
 */
#include "desc.h"
#include "vmx_lib.h"

static volatile int stage;
static volatile int l2_stop;

/* ---- L2 at CPL 3 ---- */
extern char s_user[], s_user_vmread[], s_user_rdmsr[], s_user_out[];
asm(".pushsection .text\n"
    "s_user:\n\txor %eax, %eax\n\txor %ecx, %ecx\n\tcpuid\n"
    "s_user_vmread:\n\tvmread %rax, %rbx\n"
    "s_user_rdmsr:\n\tmov $0x10, %ecx\n\trdmsr\n"
    "s_user_out:\n\tout %al, $0x80\n"
    "1:\n\tjmp 1b\n.popsection");

static void user_init(void)
{
    stage = 0;
    vmwrite(EXC_BITMAP, 1u << 13);
    if (!want_proc(PROC_UNCOND_IO))
        return;
    vmwrite(GUEST_CR4, vmread(GUEST_CR4) & ~(3ul << 20)); /* no SMEP/SMAP */
    l2_pml4[0] |= PTE_U;
    l2_pdpt[0] |= PTE_U;
    for (int i = 0; i < 8; i++)
        l2_pd0[i] |= PTE_U;
}

static void user_guest(void)
{
    uint64_t sp = (uint64_t)l2_stack + 8192;
    asm volatile("pushq %0\n\tpushq %1\n\tpushq $2\n\tpushq %2\n\tpushq %3\n\tiretq"
                 : : "i"(SEL_DATA_U), "r"(sp), "i"(SEL_CODE64_U), "r"((uint64_t)s_user) : "memory");
}

static int user_exit(void)
{
    switch (stage++) {
    case 0:
        if (!expect_reason(R_CPUID))
            return T_DONE;
        CHECK_EQ(vmread(GUEST_CS_SEL), SEL_CODE64_U, "guest CS (CPL 3)");
        CHECK_EQ((vmread(GUEST_SS_AR) >> 5) & 3, 3, "guest SS.DPL (CPL) saved");
        skip_insn();
        return T_RESUME;
    case 1:
        if (!expect_reason(R_VMREAD))
            return T_DONE;
        CHECK_EQ(ex.rip, (uint64_t)s_user_vmread, "VMREAD at CPL 3 exits (no #GP)");
        skip_insn();
        return T_RESUME;
    case 2:
        if (!expect_reason(R_EXCEPTION))
            return T_DONE;
        CHECK_EQ(ex.intr_info, INTR_VALID | INTR_ERR_VALID | INTR_TYPE_HW_EXC | 13,
                 "RDMSR at CPL 3: #GP before the RDMSR exit");
        CHECK_EQ(ex.rip, (uint64_t)s_user_rdmsr + 5, "guest RIP at RDMSR");
        vmwrite(GUEST_RIP, ex.rip + 2);
        return T_RESUME;
    case 3:
        if (!expect_reason(R_EXCEPTION))
            return T_DONE;
        CHECK_EQ(ex.intr_info, INTR_VALID | INTR_ERR_VALID | INTR_TYPE_HW_EXC | 13,
                 "OUT at CPL 3 with IOPL 0: #GP before the I/O exit");
        CHECK_EQ(ex.rip, (uint64_t)s_user_out, "guest RIP at OUT");
        return T_DONE;
    default:
        return unexpected_exit();
    }
}

/* ---- single-step #DB intercepted ---- */
extern char s_tf[], s_tf_after[];
asm(".pushsection .text\n"
    "s_tf:\n\tpushfq\n\torq $0x100, (%rsp)\n\tpopfq\n\tnop\ns_tf_after:\n\tpushfq\n"
    "\tandq $~0x100, (%rsp)\n\tpopfq\n\tret\n.popsection");

static inline uint64_t read_dr6(void)
{
    uint64_t v;
    asm volatile("mov %%dr6, %0" : "=r"(v));
    return v;
}

static void tf_init(void)
{
    stage = 0;
    vmwrite(EXC_BITMAP, 1u << 1);
    asm volatile("mov %0, %%dr6" : : "r"(0xffff0ff0ul));
}

static void tf_guest(void) { ((void (*)(void))s_tf)(); }

static int tf_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_EXCEPTION))
        return T_DONE;
    /* POPF sets TF; the trap comes after the following instruction (NOP) */
    CHECK_EQ(ex.intr_info, INTR_VALID | INTR_TYPE_HW_EXC | 1, "#DB interruption information");
    CHECK_EQ(ex.qual, 1u << 14, "exit qualification: BS (single step)");
    CHECK_EQ(ex.rip, (uint64_t)s_tf_after, "guest RIP after the single-stepped NOP");
    CHECK_EQ(read_dr6(), 0xffff0ff0ul, "DR6 updated by a #DB that caused a VM exit");
    vmwrite(GUEST_RFLAGS, ex.rflags & ~0x100ul);
    return T_RESUME;
}

/* ---- HLT state saved when an external interrupt exits ---- */
extern char s_hlt_sti[], s_hlt_after[];
asm(".pushsection .text\ns_hlt_sti:\n\tsti\n\thlt\ns_hlt_after:\n\tcli\n\tret\n.popsection");

static void hltst_init(void)
{
    stage = 0;
    if (!want_pin(PIN_EXTINT) || !want_exit(EXIT_ACK_INTR))
        return;
    lapic_write(0x3e0, 0xb);
    lapic_write(0x320, 0x43);
    lapic_write(0x380, 300000);
}

static void hltst_guest(void) { ((void (*)(void))s_hlt_sti)(); }

static int hltst_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_EXTINT))
        return T_DONE;
    CHECK_EQ(ex.intr_info, INTR_VALID | INTR_TYPE_EXT | 0x43, "interruption information");
    CHECK_EQ(vmread(GUEST_ACTIVITY), 1, "activity state saved: HLT");
    CHECK_EQ(ex.rip, (uint64_t)s_hlt_after, "guest RIP after HLT");
    lapic_eoi();
    vmwrite(GUEST_ACTIVITY, 0);
    return T_RESUME;
}

const struct vmx_test prio_tests[] = {
    { .name = "l2_cpl3_priorities",
      .sdm = "25.1.1: faults based on privilege level and #GP from I/O permission checks have "
             "priority over instruction VM exits; 25.1.2: CPUID and VMREAD exit at any CPL",
      .init = user_init, .guest = user_guest, .exit_handler = user_exit },
    { .name = "single_step_db_exit",
      .sdm = "27.1: a #DB that causes a VM exit does not update DR6; 27.2.1 Table 27-1: bit 14 BS "
             "in the exit qualification",
      .init = tf_init, .guest = tf_guest, .exit_handler = tf_exit },
    { .name = "hlt_state_saved_on_interrupt",
      .sdm = "27.3.4: the activity state saved is HLT if the processor was in the HLT state when "
             "the VM exit (external interrupt) occurred; RIP references the instruction after HLT",
      .init = hltst_init, .guest = hltst_guest, .exit_handler = hltst_exit },
};
const size_t n_prio_tests = ARRAY_SIZE(prio_tests);
