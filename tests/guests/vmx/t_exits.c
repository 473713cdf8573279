/*
 * t_exits.c — instruction-caused VM exits (SDM Vol.3 25.1.2-25.1.3,
 * 27.2.1 exit qualification, 27.2.5 instruction length/information):
 * a table of "L2 executes one instruction → expected exit" rows, then the
 * exits with their own logic (register round trip, CR access with
 * guest/host masks, CR3 targets, TPR shadow, MOV DR, I/O, MSRs).
 */
#include "desc.h"
#include "vmx_lib.h"

uint8_t l2_scratch[4096] ALIGNED(4096);
static volatile int stage;

/* L2_STUB(name, setup, insn, after): a function that runs 'setup', then
 * the instruction at label name_insn (ending at name_end), then 'after'. */
#define L2_STUB(name, setup, insn, after)                                              \
    extern char name[], name##_insn[], name##_end[];                                   \
    asm(".pushsection .text\n" #name ":\n\t" setup "\n" #name "_insn:\n\t" insn "\n" #name \
        "_end:\n\t" after "\n\tret\n.popsection\n")

L2_STUB(s_cpuid, "push %rbx; xor %eax, %eax; xor %ecx, %ecx", "cpuid", "pop %rbx");
L2_STUB(s_hlt, "", "hlt", "");
L2_STUB(s_invlpg, "movabs $0x7f0000123000, %rax", "invlpg (%rax)", "");
L2_STUB(s_rdpmc, "xor %ecx, %ecx", "rdpmc", "");
L2_STUB(s_rdtsc, "", "rdtsc", "");
L2_STUB(s_rdtscp, "", "rdtscp", "");
L2_STUB(s_invd, "", "invd", "");
L2_STUB(s_wbinvd, "", "wbinvd", "");
L2_STUB(s_pause, "", "pause", "");
L2_STUB(s_rdrand, "", "rdrand %rsi", "");
L2_STUB(s_rdseed, "", "rdseed %rsi", "");
L2_STUB(s_xsetbv, "xor %ecx, %ecx; mov $1, %eax; xor %edx, %edx", "xsetbv", "");
L2_STUB(s_monitor, "lea l2_scratch(%rip), %rax; xor %ecx, %ecx; xor %edx, %edx", "monitor", "");
L2_STUB(s_mwait, "xor %eax, %eax; xor %ecx, %ecx", "mwait", "");
L2_STUB(s_sgdt, "lea l2_scratch(%rip), %rax", "sgdt 0x10(%rax)", "");
L2_STUB(s_sidt, "lea l2_scratch(%rip), %rax", "sidt 0x10(%rax)", "");
L2_STUB(s_lgdt, "lea l2_scratch(%rip), %rax", "lgdt 0x10(%rax)", "");
L2_STUB(s_lidt, "lea l2_scratch(%rip), %rax", "lidt 0x10(%rax)", "");
L2_STUB(s_sldt, "", "sldt %eax", "");
L2_STUB(s_str, "", "str %eax", "");
L2_STUB(s_lldt, "xor %eax, %eax", "lldt %ax", "");
L2_STUB(s_ltr, "mov $0x30, %eax", "ltr %ax", "");
L2_STUB(s_vmxon, "lea l2_scratch(%rip), %rax", "vmxon (%rax)", "");
L2_STUB(s_vmclear, "lea l2_scratch(%rip), %rax", "vmclear 8(%rax)", "");
L2_STUB(s_vmptrld, "lea l2_scratch(%rip), %rax", "vmptrld (%rax)", "");
L2_STUB(s_vmptrst, "lea l2_scratch(%rip), %rax", "vmptrst -8(%rax)", "");
L2_STUB(s_vmread, "mov $0x681e, %edx", "vmread %rdx, %rsi", "");
L2_STUB(s_vmwrite, "mov $0x681e, %edx; xor %esi, %esi", "vmwrite %rsi, %rdx", "");
L2_STUB(s_vmlaunch, "", "vmlaunch", "");
L2_STUB(s_vmresume, "", "vmresume", "");
L2_STUB(s_vmxoff, "", "vmxoff", "");
L2_STUB(s_invept, "lea l2_scratch(%rip), %rax; mov $2, %ecx", "invept (%rax), %rcx", "");
L2_STUB(s_invvpid, "lea l2_scratch(%rip), %rax; mov $2, %ecx", "invvpid (%rax), %rcx", "");

enum { REQ_NONE, REQ_RDTSCP, REQ_RDRAND, REQ_RDSEED, REQ_XSAVE, REQ_MONITOR, REQ_INVEPT,
       REQ_INVVPID };

struct insn_row {
    uint64_t field;    /* control field enabling the exit; 0 = unconditional */
    uint32_t bits;
    uint64_t field2;   /* a second control (RDTSCP needs two) */
    uint32_t bits2;
    void (*stub)(void);
    const char *insn, *end;
    uint32_t reason;
    bool qual_defined;
    uint64_t qual;
    uint32_t info_mask, info;
    int req;
};

static bool cpuid_has(int req)
{
    uint32_t a, b, c, d;
    switch (req) {
    case REQ_RDTSCP: cpuid2(0x80000001, 0, &a, &b, &c, &d); return d & (1u << 27);
    case REQ_RDRAND: cpuid2(1, 0, &a, &b, &c, &d); return c & (1u << 30);
    case REQ_RDSEED: cpuid2(7, 0, &a, &b, &c, &d); return b & (1u << 18);
    case REQ_XSAVE: cpuid2(1, 0, &a, &b, &c, &d); return (c & (1u << 26)) && (caps.cr4_fixed1 & CR4_OSXSAVE);
    case REQ_MONITOR: cpuid2(1, 0, &a, &b, &c, &d); return c & (1u << 3);
    case REQ_INVEPT: return caps.ept_vpid & (1ull << 20);
    case REQ_INVVPID: return caps.ept_vpid & (1ull << 32);
    default: return true;
    }
}

static void insn_row_init(void)
{
    const struct insn_row *r = cur_test->arg;
    stage = 0;
    if (!cpuid_has(r->req)) {
        skip("not advertised: instruction (CPUID/capability) for %s", cur_test->name);
        return;
    }
    if (r->field == PROC_CTLS && !want_proc(r->bits))
        return;
    if (r->field == PROC2_CTLS && !want_proc2(r->bits))
        return;
    if (r->field2 == PROC2_CTLS && !want_proc2(r->bits2))
        return;
    if (r->req == REQ_XSAVE)
        vmwrite(GUEST_CR4, vmread(GUEST_CR4) | CR4_OSXSAVE);
}

static void insn_row_guest(void)
{
    const struct insn_row *r = cur_test->arg;
    r->stub();
}

static int insn_row_exit(void)
{
    const struct insn_row *r = cur_test->arg;
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(r->reason))
        return T_DONE;
    CHECK_EQ(ex.rip, (uint64_t)r->insn, "guest RIP at the exit (the instruction)");
    CHECK_EQ(ex.len, (uint64_t)(r->end - r->insn), "VM-exit instruction length");
    if (r->qual_defined)
        CHECK_EQ(ex.qual, r->qual, "exit qualification");
    if (r->info_mask)
        CHECK_EQ(ex.insn_info & r->info_mask, r->info, "VM-exit instruction information");
    skip_insn();
    return T_RESUME;
}

#define INSN_ROW(nm, s, ...)                                                             \
    { .name = nm, .sdm = s, .init = insn_row_init, .guest = insn_row_guest,              \
      .exit_handler = insn_row_exit, .arg = &(const struct insn_row){ __VA_ARGS__ } }
#define STUB(n) .stub = (void (*)(void))n, .insn = n##_insn, .end = n##_end

/* ---- VMCALL round trip: every general register reaches L1 and back ---- */
uint64_t rt_in[16], rt_out[16];
extern char s_vmcall_regs[], s_vmcall_regs_insn[];
/* Loads rax..r15 (not rsp) from rt_in, VMCALL, stores them to rt_out. */
asm(".pushsection .text\n"
    "s_vmcall_regs:\n\t"
    "push %rbx; push %rbp; push %r12; push %r13; push %r14; push %r15\n\t"
    "mov rt_in+8(%rip), %rcx; mov rt_in+16(%rip), %rdx; mov rt_in+24(%rip), %rbx\n\t"
    "mov rt_in+40(%rip), %rbp; mov rt_in+48(%rip), %rsi; mov rt_in+56(%rip), %rdi\n\t"
    "mov rt_in+64(%rip), %r8; mov rt_in+72(%rip), %r9; mov rt_in+80(%rip), %r10\n\t"
    "mov rt_in+88(%rip), %r11; mov rt_in+96(%rip), %r12; mov rt_in+104(%rip), %r13\n\t"
    "mov rt_in+112(%rip), %r14; mov rt_in+120(%rip), %r15; mov rt_in+0(%rip), %rax\n"
    "s_vmcall_regs_insn:\n\t"
    "vmcall\n\t"
    "mov %rax, rt_out+0(%rip); mov %rcx, rt_out+8(%rip); mov %rdx, rt_out+16(%rip)\n\t"
    "mov %rbx, rt_out+24(%rip); mov %rbp, rt_out+40(%rip); mov %rsi, rt_out+48(%rip)\n\t"
    "mov %rdi, rt_out+56(%rip); mov %r8, rt_out+64(%rip); mov %r9, rt_out+72(%rip)\n\t"
    "mov %r10, rt_out+80(%rip); mov %r11, rt_out+88(%rip); mov %r12, rt_out+96(%rip)\n\t"
    "mov %r13, rt_out+104(%rip); mov %r14, rt_out+112(%rip); mov %r15, rt_out+120(%rip)\n\t"
    "pop %r15; pop %r14; pop %r13; pop %r12; pop %rbp; pop %rbx\n\t"
    "ret\n.popsection\n");

static void vmcall_init(void)
{
    stage = 0;
    for (int i = 0; i < 16; i++)
        rt_in[i] = 0x1000000000000000ull * (uint64_t)(i + 1) + 0x11111111u * (uint64_t)i + 5;
}

static void vmcall_guest(void) { ((void (*)(void))s_vmcall_regs)(); }

static int vmcall_exit(void)
{
    if (stage++ != 0)
        return unexpected_exit();
    if (!expect_reason(R_VMCALL))
        return T_DONE;
    CHECK_EQ(ex.rip, (uint64_t)s_vmcall_regs_insn, "guest RIP at VMCALL");
    CHECK_EQ(ex.len, 3, "VMCALL instruction length");
    for (int i = 0; i < 16; i++)
        if (i != RSP)
            CHECK(g_regs.r[i] == rt_in[i], "L2 register %d at the exit: %#lx, want %#lx", i,
                  g_regs.r[i], rt_in[i]);
    CHECK(ex.rsp < (uint64_t)l2_stack + sizeof l2_stack && ex.rsp > (uint64_t)l2_stack,
          "guest RSP %#lx outside L2's stack", ex.rsp);
    for (int i = 0; i < 16; i++)
        g_regs.r[i] = ~rt_in[i];
    skip_insn();
    return T_RESUME;
}

static void vmcall_check(void)
{
    for (int i = 0; i < 16; i++)
        if (i != RSP)
            CHECK(rt_out[i] == ~rt_in[i], "L2 register %d after VMRESUME: %#lx, want %#lx", i,
                  rt_out[i], ~rt_in[i]);
}

/* ---- launch state: VMLAUNCH of a launched VMCS fails; VMCLEAR resets it ---- */
static void launch_state_guest(void) { l2_vmcall(1, 0); }

static int launch_state_exit(void)
{
    if (!expect_reason(R_VMCALL))
        return T_DONE;
    int r = vmx_enter(1);
    CHECK(r == VM_FAIL_VALID && insn_error() == 4,
          "VMLAUNCH of a launched VMCS: %s, want VMfailValid(4)", r ? vm_result_str(r) : "entered L2");
    skip_insn();
    return T_RESUME;
}

static void launch_state_check(void)
{
    /* L2 is parked at its final VMCALL: VMCLEAR, VMPTRLD, VMLAUNCH again. */
    CHECK(vmclear((uint64_t)vmcs_main) == VM_OK, "VMCLEAR");
    CHECK(vmptrld((uint64_t)vmcs_main) == VM_OK, "VMPTRLD");
    int r = vmx_enter(1);
    CHECK(r == 0, "VMLAUNCH after VMCLEAR: %s, want a VM entry", vm_result_str(r));
    if (r == 0)
        CHECK_EQ(vmread(EXIT_REASON), R_VMCALL, "exit reason after the second VMLAUNCH");
    r = vmx_enter(0);
    CHECK(r == 0, "VMRESUME after that: %s, want a VM entry", vm_result_str(r));
}

/* ---- CPUID: L1 emulates it ---- */
static volatile uint32_t cpuid_out[4];
static void cpuid_guest(void)
{
    uint32_t a, b, c, d;
    cpuid2(0x4e565400, 7, &a, &b, &c, &d);
    cpuid_out[0] = a, cpuid_out[1] = b, cpuid_out[2] = c, cpuid_out[3] = d;
}

static int cpuid_exit(void)
{
    if (!expect_reason(R_CPUID))
        return T_DONE;
    CHECK_EQ(g_regs.r[RAX] & 0xffffffff, 0x4e565400, "leaf in EAX");
    CHECK_EQ(g_regs.r[RCX] & 0xffffffff, 7, "subleaf in ECX");
    g_regs.r[RAX] = 0xaaaa0001, g_regs.r[RBX] = 0xbbbb0002;
    g_regs.r[RCX] = 0xcccc0003, g_regs.r[RDX] = 0xdddd0004;
    skip_insn();
    return T_RESUME;
}

static void cpuid_check(void)
{
    CHECK(cpuid_out[0] == 0xaaaa0001 && cpuid_out[1] == 0xbbbb0002 && cpuid_out[2] == 0xcccc0003 &&
              cpuid_out[3] == 0xdddd0004,
          "L2 saw CPUID %x %x %x %x, not L1's values", cpuid_out[0], cpuid_out[1], cpuid_out[2],
          cpuid_out[3]);
}

/* ---- TSC offsetting ---- */
static volatile uint64_t tsc_l2[2];
static uint64_t tsc_l1[2];
static void tsc_guest(void)
{
    tsc_l2[0] = rdtsc();
    l2_vmcall(1, 0);
    tsc_l2[1] = rdtsc();
}

#define TSC_OFF1 (1ul << 44)
#define TSC_OFF2 ((uint64_t) - (int64_t)(1ul << 20))
static void tsc_init(void)
{
    stage = 0;
    if (!want_proc(PROC_TSC_OFFSET))
        return;
    vmwrite(TSC_OFFSET, TSC_OFF1);
    tsc_l1[0] = rdtsc();
}

static int tsc_exit(void)
{
    if (!expect_reason(R_VMCALL))
        return T_DONE;
    tsc_l1[1] = rdtsc();
    CHECK(tsc_l2[0] >= tsc_l1[0] + TSC_OFF1 && tsc_l2[0] <= tsc_l1[1] + TSC_OFF1,
          "RDTSC in L2 %#lx outside [%#lx, %#lx] + offset %#lx", tsc_l2[0], tsc_l1[0], tsc_l1[1],
          TSC_OFF1);
    vmwrite(TSC_OFFSET, TSC_OFF2);
    skip_insn();
    tsc_l1[0] = rdtsc();
    return T_RESUME;
}

static void tsc_check(void)
{
    tsc_l1[1] = rdtsc();
    CHECK(tsc_l2[1] >= tsc_l1[0] + TSC_OFF2 && tsc_l2[1] <= tsc_l1[1] + TSC_OFF2,
          "RDTSC with a negative offset %#lx outside [%#lx, %#lx] + offset", tsc_l2[1], tsc_l1[0],
          tsc_l1[1]);
}

/* ---- RDTSCP without "enable RDTSCP" raises #UD in L2 ---- */
static void rdtscp_ud_init(void)
{
    if (!cpuid_has(REQ_RDTSCP)) {
        skip("not advertised: RDTSCP");
        return;
    }
    vmwrite(EXC_BITMAP, 1u << 6);
}

static void rdtscp_ud_guest(void) { ((void (*)(void))s_rdtscp)(); }

static int rdtscp_ud_exit(void)
{
    if (!expect_reason(R_EXCEPTION))
        return T_DONE;
    CHECK_EQ(ex.intr_info, INTR_VALID | INTR_TYPE_HW_EXC | 6, "interruption info (#UD)");
    CHECK_EQ(ex.rip, (uint64_t)s_rdtscp_insn, "guest RIP at RDTSCP");
    return T_DONE;
}

const struct vmx_test exit_tests[] = {
    { .name = "vmcall_roundtrip",
      .sdm = "25.1.2: VMCALL causes a VM exit unconditionally; 27.5/26.3.2: general registers "
             "other than RSP are not changed by VM entry or VM exit",
      .init = vmcall_init, .guest = vmcall_guest, .exit_handler = vmcall_exit, .check = vmcall_check },
    { .name = "vmlaunch_launched",
      .sdm = "30.3 VMLAUNCH: ELSIF VMLAUNCH and launch state of current VMCS is not clear THEN "
             "VMfailValid(4); VMCLEAR makes the launch state clear",
      .guest = launch_state_guest, .exit_handler = launch_state_exit, .check = launch_state_check },
    { .name = "cpuid_emulated",
      .sdm = "25.1.2: CPUID causes VM exits unconditionally; L1 supplies EAX, EBX, ECX, EDX",
      .guest = cpuid_guest, .exit_handler = cpuid_exit, .check = cpuid_check },
    { .name = "tsc_offset",
      .sdm = "25.3: if 'RDTSC exiting' is 0 and 'use TSC offsetting' is 1, RDTSC returns the sum "
             "of the IA32_TIME_STAMP_COUNTER MSR and the TSC offset",
      .init = tsc_init, .guest = tsc_guest, .exit_handler = tsc_exit, .check = tsc_check },
    { .name = "rdtscp_disabled_ud",
      .sdm = "25.3: if the 'enable RDTSCP' VM-execution control is 0, RDTSCP causes an "
             "invalid-opcode exception (#UD)",
      .init = rdtscp_ud_init, .guest = rdtscp_ud_guest, .exit_handler = rdtscp_ud_exit },
    INSN_ROW("cpuid_exit", "25.1.2: CPUID causes VM exits unconditionally",
             STUB(s_cpuid), .reason = R_CPUID),
    INSN_ROW("hlt_exit", "25.1.3: HLT causes a VM exit if the 'HLT exiting' control is 1",
             .field = PROC_CTLS, .bits = PROC_HLT, STUB(s_hlt), .reason = R_HLT),
    INSN_ROW("invlpg_exit",
             "25.1.3: INVLPG exits if 'INVLPG exiting' is 1; 27.2.1: the exit qualification "
             "contains the linear-address operand",
             .field = PROC_CTLS, .bits = PROC_INVLPG, STUB(s_invlpg), .reason = R_INVLPG,
             .qual_defined = true, .qual = 0x7f0000123000ull),
    INSN_ROW("rdpmc_exit", "25.1.3: RDPMC causes a VM exit if 'RDPMC exiting' is 1",
             .field = PROC_CTLS, .bits = PROC_RDPMC, STUB(s_rdpmc), .reason = R_RDPMC),
    INSN_ROW("rdtsc_exit", "25.1.3: RDTSC causes a VM exit if 'RDTSC exiting' is 1",
             .field = PROC_CTLS, .bits = PROC_RDTSC, STUB(s_rdtsc), .reason = R_RDTSC),
    INSN_ROW("rdtscp_exit",
             "25.1.3: RDTSCP causes a VM exit if 'RDTSC exiting' and 'enable RDTSCP' are both 1",
             .field = PROC_CTLS, .bits = PROC_RDTSC, .field2 = PROC2_CTLS, .bits2 = PROC2_RDTSCP,
             STUB(s_rdtscp), .reason = R_RDTSCP, .req = REQ_RDTSCP),
    INSN_ROW("invd_exit", "25.1.2: INVD causes VM exits unconditionally", STUB(s_invd),
             .reason = R_INVD),
    INSN_ROW("wbinvd_exit", "25.1.3: WBINVD causes a VM exit if 'WBINVD exiting' is 1",
             .field = PROC2_CTLS, .bits = PROC2_WBINVD, STUB(s_wbinvd), .reason = R_WBINVD),
    INSN_ROW("pause_exit", "25.1.3: PAUSE causes a VM exit if 'PAUSE exiting' is 1",
             .field = PROC_CTLS, .bits = PROC_PAUSE, STUB(s_pause), .reason = R_PAUSE),
    INSN_ROW("rdrand_exit",
             "25.1.3: RDRAND causes a VM exit if 'RDRAND exiting' is 1; Table 27-12: "
             "destination register in bits 6:3, operand size in bits 12:11",
             .field = PROC2_CTLS, .bits = PROC2_RDRAND, STUB(s_rdrand), .reason = R_RDRAND,
             .info_mask = II_REG1(15) | II_OSIZE(3), .info = II_REG1(RSI) | II_OSIZE(2),
             .req = REQ_RDRAND),
    INSN_ROW("rdseed_exit", "25.1.3: RDSEED causes a VM exit if 'RDSEED exiting' is 1",
             .field = PROC2_CTLS, .bits = PROC2_RDSEED, STUB(s_rdseed), .reason = R_RDSEED,
             .info_mask = II_REG1(15) | II_OSIZE(3), .info = II_REG1(RSI) | II_OSIZE(2),
             .req = REQ_RDSEED),
    INSN_ROW("xsetbv_exit", "25.1.2: XSETBV causes VM exits unconditionally", STUB(s_xsetbv),
             .reason = R_XSETBV, .req = REQ_XSAVE),
    INSN_ROW("monitor_exit", "25.1.3: MONITOR causes a VM exit if 'MONITOR exiting' is 1",
             .field = PROC_CTLS, .bits = PROC_MONITOR, STUB(s_monitor), .reason = R_MONITOR,
             .req = REQ_MONITOR),
    INSN_ROW("mwait_exit",
             "25.1.3: MWAIT exits if 'MWAIT exiting' is 1; 27.2.1: qualification 0 if "
             "address-range monitoring hardware is not armed",
             .field = PROC_CTLS, .bits = PROC_MWAIT, STUB(s_mwait), .reason = R_MWAIT,
             .qual_defined = true, .qual = 0, .req = REQ_MONITOR),
    INSN_ROW("sgdt_exit",
             "25.1.3: SGDT exits if 'descriptor-table exiting' is 1; 27.2.1: qualification = "
             "displacement; Table 27-10: identity 0 = SGDT",
             .field = PROC2_CTLS, .bits = PROC2_DESC_TABLE, STUB(s_sgdt), .reason = R_GDTR_IDTR,
             .qual_defined = true, .qual = 0x10, .info_mask = II_MEM_MASK | II_IDENT(3),
             .info = II_MEM_RAX | II_IDENT(0)),
    INSN_ROW("sidt_exit", "Table 27-10: instruction identity 1 = SIDT", .field = PROC2_CTLS,
             .bits = PROC2_DESC_TABLE, STUB(s_sidt), .reason = R_GDTR_IDTR, .qual_defined = true,
             .qual = 0x10, .info_mask = II_MEM_MASK | II_IDENT(3), .info = II_MEM_RAX | II_IDENT(1)),
    INSN_ROW("lgdt_exit", "Table 27-10: instruction identity 2 = LGDT", .field = PROC2_CTLS,
             .bits = PROC2_DESC_TABLE, STUB(s_lgdt), .reason = R_GDTR_IDTR, .qual_defined = true,
             .qual = 0x10, .info_mask = II_MEM_MASK | II_IDENT(3), .info = II_MEM_RAX | II_IDENT(2)),
    INSN_ROW("lidt_exit", "Table 27-10: instruction identity 3 = LIDT", .field = PROC2_CTLS,
             .bits = PROC2_DESC_TABLE, STUB(s_lidt), .reason = R_GDTR_IDTR, .qual_defined = true,
             .qual = 0x10, .info_mask = II_MEM_MASK | II_IDENT(3), .info = II_MEM_RAX | II_IDENT(3)),
    INSN_ROW("sldt_exit",
             "25.1.3: SLDT exits if 'descriptor-table exiting' is 1; Table 27-11: register "
             "operand (bit 10), identity 0 = SLDT",
             .field = PROC2_CTLS, .bits = PROC2_DESC_TABLE, STUB(s_sldt), .reason = R_LDTR_TR,
             .qual_defined = true, .qual = 0, .info_mask = II_REG | II_REG1(15) | II_IDENT(3),
             .info = II_REG | II_REG1(RAX) | II_IDENT(0)),
    INSN_ROW("str_exit", "Table 27-11: identity 1 = STR", .field = PROC2_CTLS,
             .bits = PROC2_DESC_TABLE, STUB(s_str), .reason = R_LDTR_TR, .qual_defined = true,
             .qual = 0, .info_mask = II_REG | II_REG1(15) | II_IDENT(3),
             .info = II_REG | II_REG1(RAX) | II_IDENT(1)),
    INSN_ROW("lldt_exit", "Table 27-11: identity 2 = LLDT", .field = PROC2_CTLS,
             .bits = PROC2_DESC_TABLE, STUB(s_lldt), .reason = R_LDTR_TR, .qual_defined = true,
             .qual = 0, .info_mask = II_REG | II_REG1(15) | II_IDENT(3),
             .info = II_REG | II_REG1(RAX) | II_IDENT(2)),
    INSN_ROW("ltr_exit", "Table 27-11: identity 3 = LTR", .field = PROC2_CTLS,
             .bits = PROC2_DESC_TABLE, STUB(s_ltr), .reason = R_LDTR_TR, .qual_defined = true,
             .qual = 0, .info_mask = II_REG | II_REG1(15) | II_IDENT(3),
             .info = II_REG | II_REG1(RAX) | II_IDENT(3)),
    INSN_ROW("vmxon_in_l2",
             "25.1.2: VMXON in VMX non-root operation causes a VM exit; Table 27-13 memory "
             "operand information",
             STUB(s_vmxon), .reason = R_VMXON, .qual_defined = true, .qual = 0,
             .info_mask = II_MEM_MASK, .info = II_MEM_RAX),
    INSN_ROW("vmclear_in_l2", "25.1.2: VMCLEAR exits; 27.2.1: qualification = displacement (8)",
             STUB(s_vmclear), .reason = R_VMCLEAR, .qual_defined = true, .qual = 8,
             .info_mask = II_MEM_MASK, .info = II_MEM_RAX),
    INSN_ROW("vmptrld_in_l2", "25.1.2: VMPTRLD causes a VM exit unconditionally",
             STUB(s_vmptrld), .reason = R_VMPTRLD, .qual_defined = true, .qual = 0,
             .info_mask = II_MEM_MASK, .info = II_MEM_RAX),
    INSN_ROW("vmptrst_in_l2", "25.1.2: VMPTRST exits; qualification = sign-extended displacement",
             STUB(s_vmptrst), .reason = R_VMPTRST, .qual_defined = true, .qual = (uint64_t)-8,
             .info_mask = II_MEM_MASK, .info = II_MEM_RAX),
    INSN_ROW("vmread_in_l2",
             "25.1.3: VMREAD exits if 'VMCS shadowing' is 0; Table 27-14: reg1 = destination "
             "(bits 6:3), bit 10 register, reg2 = field encoding register (bits 31:28)",
             STUB(s_vmread), .reason = R_VMREAD, .qual_defined = true, .qual = 0,
             .info_mask = II_REG1(15) | II_REG | II_REG2(15),
             .info = II_REG1(RSI) | II_REG | II_REG2(RDX)),
    INSN_ROW("vmwrite_in_l2", "25.1.3: VMWRITE exits if 'VMCS shadowing' is 0; Table 27-14",
             STUB(s_vmwrite), .reason = R_VMWRITE, .qual_defined = true, .qual = 0,
             .info_mask = II_REG1(15) | II_REG | II_REG2(15),
             .info = II_REG1(RSI) | II_REG | II_REG2(RDX)),
    INSN_ROW("vmlaunch_in_l2", "25.1.2: VMLAUNCH causes a VM exit unconditionally",
             STUB(s_vmlaunch), .reason = R_VMLAUNCH),
    INSN_ROW("vmresume_in_l2", "25.1.2: VMRESUME causes a VM exit unconditionally",
             STUB(s_vmresume), .reason = R_VMRESUME),
    INSN_ROW("vmxoff_in_l2", "25.1.2: VMXOFF causes a VM exit unconditionally", STUB(s_vmxoff),
             .reason = R_VMXOFF),
    INSN_ROW("invept_in_l2",
             "25.1.2: INVEPT causes a VM exit unconditionally; Table 27-9: reg2 (bits 31:28) = "
             "type register",
             STUB(s_invept), .reason = R_INVEPT, .qual_defined = true, .qual = 0,
             .info_mask = II_MEM_MASK | II_REG2(15), .info = II_MEM_RAX | II_REG2(RCX),
             .req = REQ_INVEPT),
    INSN_ROW("invvpid_in_l2", "25.1.2: INVVPID causes a VM exit unconditionally; Table 27-9",
             STUB(s_invvpid), .reason = R_INVVPID, .qual_defined = true, .qual = 0,
             .info_mask = II_MEM_MASK | II_REG2(15), .info = II_MEM_RAX | II_REG2(RCX),
             .req = REQ_INVVPID),
};
const size_t n_exit_tests = ARRAY_SIZE(exit_tests);
