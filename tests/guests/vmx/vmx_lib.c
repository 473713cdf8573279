/*
 * vmx_lib.c — VMX instruction wrappers (SDM Vol.3 30.3), capability
 * discovery (Appendix A), the default VMCS (chapter 24, with the VM-entry
 * rules of 26.2-26.3 in mind), the identity EPT (28.2) and the framework
 * that runs one test row: VMXON afresh, default VMCS, init, L2 until it is
 * done, report.
 */
#include "vmx_lib.h"

#include "desc.h"

struct vmx_caps caps;
uint8_t vmxon_region[4096] ALIGNED(4096), vmcs_main[4096] ALIGNED(4096),
    vmcs_alt[4096] ALIGNED(4096), vmcs_spare[4096] ALIGNED(4096);
uint8_t msr_bitmap[4096] ALIGNED(4096), io_bitmap_a[4096] ALIGNED(4096),
    io_bitmap_b[4096] ALIGNED(4096), vapic_page[4096] ALIGNED(4096),
    apic_access_page[4096] ALIGNED(4096);
uint8_t l2_stack[16384] ALIGNED(16);
struct msr_entry msr_list_entry[32] ALIGNED(16), msr_list_store[32] ALIGNED(16),
    msr_list_exit[32] ALIGNED(16);
uint64_t ept_pml4[512] ALIGNED(4096), ept_pdpt[512] ALIGNED(4096), ept_pd[4][512] ALIGNED(4096),
    ept_pt_ta[512] ALIGNED(4096);
uint64_t eptp_default;
struct guest_regs g_regs;
void (*volatile l2_main)(void);
volatile uint64_t host_rflags_at_exit;
struct exit_info ex;
const struct vmx_test *cur_test;
const char *test_filter;
bool verbose;
int total_pass, total_fail, total_skip;

/* ---- instruction wrappers ---- */
static int result(uint64_t fl)
{
    if (exc_vector >= 0)
        return VM_EXC + exc_vector;
    if (fl & 1)
        return VM_FAIL_INVALID;
    if (fl & 0x40)
        return VM_FAIL_VALID;
    return VM_OK;
}

#define VMX_INSN(text, ...)                                                               \
    ({                                                                                    \
        uint64_t fl_;                                                                     \
        asm volatile(TRY_BEGIN text TRY_END "pushfq\n\tpop %[fl]"                         \
                     : [fl] "=&r"(fl_)__VA_ARGS__                                         \
                     : "r11", "cc", "memory");                                            \
        result(fl_);                                                                      \
    })

int vmxon(uint64_t pa) { return VMX_INSN("vmxon %[pa]", : [pa] "m"(pa)); }
int vmxoff(void) { return VMX_INSN("vmxoff", :); }
int vmclear(uint64_t pa) { return VMX_INSN("vmclear %[pa]", : [pa] "m"(pa)); }
int vmptrld(uint64_t pa) { return VMX_INSN("vmptrld %[pa]", : [pa] "m"(pa)); }
int vmptrst(uint64_t *pa)
{
    uint64_t fl;
    asm volatile(TRY_BEGIN "vmptrst %[pa]" TRY_END "pushfq\n\tpop %[fl]"
                 : [fl] "=&r"(fl), [pa] "=m"(*pa) : : "r11", "cc", "memory");
    return result(fl);
}
int vmread_r(uint64_t enc, uint64_t *val)
{
    uint64_t fl, v = 0;
    asm volatile(TRY_BEGIN "vmread %[enc], %[v]" TRY_END "pushfq\n\tpop %[fl]"
                 : [fl] "=&r"(fl), [v] "+r"(v) : [enc] "r"(enc) : "r11", "cc", "memory");
    *val = v;
    return result(fl);
}
int vmwrite_r(uint64_t enc, uint64_t val)
{
    return VMX_INSN("vmwrite %[v], %[enc]", : [v] "r"(val), [enc] "r"(enc));
}
int vmlaunch_r(void) { return VMX_INSN("vmlaunch", :); }
int vmresume_r(void) { return VMX_INSN("vmresume", :); }
int vmcall_r(void) { return VMX_INSN("vmcall", :); }
int invept_r(uint64_t type, uint64_t eptp)
{
    struct { uint64_t eptp, rsvd; } d = { eptp, 0 };
    return VMX_INSN("invept %[d], %[t]", : [d] "m"(d), [t] "r"(type));
}
int invvpid_r(uint64_t type, uint16_t vpid, uint64_t la)
{
    struct { uint64_t vpid, la; } d = { vpid, la };
    return VMX_INSN("invvpid %[d], %[t]", : [d] "m"(d), [t] "r"(type));
}

const char *vm_result_str(int r)
{
    static char buf[4][24];
    static int k;
    char *b = buf[k++ & 3];
    switch (r) {
    case VM_OK: return "success";
    case VM_FAIL_INVALID: return "VMfailInvalid";
    case VM_FAIL_VALID: snprintf(b, 24, "VMfailValid(%u)", insn_error()); return b;
    default: snprintf(b, 24, "exception %d", r - VM_EXC); return b;
    }
}

uint64_t vmread(uint64_t enc)
{
    uint64_t v;
    int r = vmread_r(enc, &v);
    if (r)
        fail_at(0, "VMREAD %#lx: %s", enc, vm_result_str(r));
    return v;
}

void vmwrite(uint64_t enc, uint64_t val)
{
    int r = vmwrite_r(enc, val);
    if (r)
        fail_at(0, "VMWRITE %#lx <- %#lx: %s", enc, val, vm_result_str(r));
}

uint32_t insn_error(void)
{
    uint64_t v = 0;
    if (vmread_r(VM_INSN_ERROR, &v))
        return 0xffffffff;
    return (uint32_t)v;
}

/* ---- capabilities (SDM Vol.3 A.1-A.11) ---- */
void caps_read(void)
{
    caps.basic = rdmsr(0x480);
    caps.rev = caps.basic & 0x7fffffff;
    caps.true_ctls = (caps.basic >> 55) & 1;
    uint64_t pin = rdmsr(caps.true_ctls ? 0x48d : 0x481);
    uint64_t proc = rdmsr(caps.true_ctls ? 0x48e : 0x482);
    uint64_t exit = rdmsr(caps.true_ctls ? 0x48f : 0x483);
    uint64_t entry = rdmsr(caps.true_ctls ? 0x490 : 0x484);
    caps.pin_m1 = (uint32_t)pin, caps.pin_a1 = pin >> 32;
    caps.proc_m1 = (uint32_t)proc, caps.proc_a1 = proc >> 32;
    caps.exit_m1 = (uint32_t)exit, caps.exit_a1 = exit >> 32;
    caps.entry_m1 = (uint32_t)entry, caps.entry_a1 = entry >> 32;
    caps.misc = rdmsr(0x485);
    caps.cr0_fixed0 = rdmsr(0x486);
    caps.cr0_fixed1 = rdmsr(0x487);
    caps.cr4_fixed0 = rdmsr(0x488);
    caps.cr4_fixed1 = rdmsr(0x489);
    caps.vmcs_enum = rdmsr(0x48a);
    caps.proc2_a1 = (caps.proc_a1 & PROC_SECONDARY) ? rdmsr(0x48b) >> 32 : 0;
    caps.ept_vpid = (caps.proc2_a1 & (PROC2_EPT | PROC2_VPID)) ? rdmsr(0x48c) : 0;
    caps.vmfunc = (caps.proc2_a1 & PROC2_VMFUNC) ? rdmsr(0x491) : 0;
}

/* ---- EPT: identity map of 4 GiB, 2 MiB pages, TEST_AREA in 4 KiB pages ---- */
void ept_init(void)
{
    memset(ept_pml4, 0, sizeof ept_pml4);
    memset(ept_pdpt, 0, sizeof ept_pdpt);
    ept_pml4[0] = (uint64_t)ept_pdpt | EPT_RWX;
    for (int g = 0; g < 4; g++) {
        ept_pdpt[g] = (uint64_t)ept_pd[g] | EPT_RWX;
        for (int i = 0; i < 512; i++)
            ept_pd[g][i] = ((uint64_t)g << 30) + ((uint64_t)i << 21) + (EPT_RWX | EPT_WB | EPT_LARGE);
    }
    ept_pd[0][TEST_AREA >> 21] = (uint64_t)ept_pt_ta | EPT_RWX;
    for (int i = 0; i < 512; i++)
        ept_pt_ta[i] = TA_PAGE(i) | EPT_RWX | EPT_WB;
    /* EPTP (SDM 24.6.11): memory type WB (6), page-walk length 4 - 1 in bits 5:3 */
    eptp_default = (uint64_t)ept_pml4 | 6 | (3 << 3);
}

void ept_set_ta(unsigned page, uint64_t flags)
{
    ept_pt_ta[page] = TA_PAGE(page) | flags;
    ept_flush();
}

void ept_flush(void)
{
    if (!(caps.ept_vpid & (1ull << 20)))
        return;
    if (caps.ept_vpid & (1ull << 25))
        invept_r(1, eptp_default);
    else
        invept_r(2, 0);
}

/* ---- default VMCS ---- */
static uint32_t ar_of(uint64_t desc) { return (uint32_t)((desc >> 40) & 0xf0ff); }

static void l2_nop(void) {}

void vmcs_default(void)
{
    vmclear((uint64_t)vmcs_main);
    *(uint32_t *)vmcs_main = caps.rev;
    int r = vmptrld((uint64_t)vmcs_main);
    if (r) {
        fail_at(0, "VMPTRLD of a fresh VMCS: %s", vm_result_str(r));
        return;
    }
    /* controls */
    uint32_t proc = caps.proc_m1;
    uint32_t proc2 = 0;
    if (caps.proc_a1 & PROC_SECONDARY) {
        proc |= PROC_SECONDARY;
        if (caps.proc2_a1 & PROC2_EPT)
            proc2 |= PROC2_EPT;
    }
    vmwrite(PIN_CTLS, caps.pin_m1);
    vmwrite(PROC_CTLS, proc);
    if (caps.proc_a1 & PROC_SECONDARY)
        vmwrite(PROC2_CTLS, proc2);
    vmwrite(EXC_BITMAP, 0);
    vmwrite(PFEC_MASK, 0);
    vmwrite(PFEC_MATCH, 0);
    vmwrite(CR3_TARGET_COUNT, 0);
    vmwrite(IO_BITMAP_A, (uint64_t)io_bitmap_a);
    vmwrite(IO_BITMAP_B, (uint64_t)io_bitmap_b);
    vmwrite(MSR_BITMAP, (uint64_t)msr_bitmap);
    vmwrite(TSC_OFFSET, 0);
    vmwrite(CR0_MASK, 0);
    vmwrite(CR4_MASK, 0);
    vmwrite(CR0_SHADOW, read_cr0());
    vmwrite(CR4_SHADOW, read_cr4());
    if (caps.proc_a1 & PROC_TPR_SHADOW) {
        vmwrite(VIRT_APIC_PAGE, (uint64_t)vapic_page);
        vmwrite(TPR_THRESHOLD, 0);
    }
    if (proc2 & PROC2_EPT)
        vmwrite(EPT_POINTER, eptp_default);
    uint32_t exitc = caps.exit_m1 | EXIT_HOST_64;
    uint32_t entryc = caps.entry_m1 | ENTRY_IA32E;
    if ((caps.exit_a1 & (EXIT_SAVE_EFER | EXIT_LOAD_EFER)) == (EXIT_SAVE_EFER | EXIT_LOAD_EFER))
        exitc |= EXIT_SAVE_EFER | EXIT_LOAD_EFER;
    if (caps.entry_a1 & ENTRY_LOAD_EFER)
        entryc |= ENTRY_LOAD_EFER;
    vmwrite(EXIT_CTLS, exitc);
    vmwrite(ENTRY_CTLS, entryc);
    vmwrite(EXIT_MSR_STORE_COUNT, 0);
    vmwrite(EXIT_MSR_LOAD_COUNT, 0);
    vmwrite(ENTRY_MSR_LOAD_COUNT, 0);
    vmwrite(EXIT_MSR_STORE_ADDR, (uint64_t)msr_list_store);
    vmwrite(EXIT_MSR_LOAD_ADDR, (uint64_t)msr_list_exit);
    vmwrite(ENTRY_MSR_LOAD_ADDR, (uint64_t)msr_list_entry);
    vmwrite(ENTRY_INTR_INFO, 0);
    vmwrite(ENTRY_EXC_ERR, 0);
    vmwrite(ENTRY_INSN_LEN, 0);

    /* host state (SDM 24.5) */
    vmwrite(HOST_CR0, read_cr0());
    vmwrite(HOST_CR3, read_cr3());
    vmwrite(HOST_CR4, read_cr4());
    vmwrite(HOST_CS_SEL, SEL_CODE64);
    vmwrite(HOST_SS_SEL, SEL_DATA);
    vmwrite(HOST_DS_SEL, SEL_DATA);
    vmwrite(HOST_ES_SEL, SEL_DATA);
    vmwrite(HOST_FS_SEL, SEL_DATA);
    vmwrite(HOST_GS_SEL, SEL_DATA);
    vmwrite(HOST_TR_SEL, SEL_TSS);
    vmwrite(HOST_FS_BASE, 0);
    vmwrite(HOST_GS_BASE, 0);
    vmwrite(HOST_TR_BASE, (uint64_t)tss);
    vmwrite(HOST_GDTR_BASE, (uint64_t)gdt);
    vmwrite(HOST_IDTR_BASE, (uint64_t)idt);
    vmwrite(HOST_SYSENTER_CS, 0);
    vmwrite(HOST_SYSENTER_ESP, 0);
    vmwrite(HOST_SYSENTER_EIP, 0);
    vmwrite(HOST_EFER, rdmsr(MSR_EFER));
    vmwrite(HOST_PAT, rdmsr(MSR_PAT));
    vmwrite(HOST_RIP, (uint64_t)vmx_exit_host);
    vmwrite(HOST_RSP, 0); /* vmx_enter writes the real value */

    /* guest state (SDM 24.4): 64-bit, CPL 0, flat, same GDT/IDT/TSS */
    for (int s = SEG_ES; s <= SEG_GS; s++) {
        int sel = s == SEG_CS ? SEL_CODE64 : SEL_DATA;
        vmwrite(GUEST_SEL(s), sel);
        vmwrite(GUEST_BASE(s), 0);
        vmwrite(GUEST_LIMIT(s), 0xffffffff);
        vmwrite(GUEST_AR(s), ar_of(gdt[sel >> 3]) | 1); /* accessed */
    }
    vmwrite(GUEST_LDTR_SEL, 0);
    vmwrite(GUEST_LDTR_BASE, 0);
    vmwrite(GUEST_LDTR_LIMIT, 0);
    vmwrite(GUEST_LDTR_AR, AR_UNUSABLE);
    vmwrite(GUEST_TR_SEL, SEL_TSS);
    vmwrite(GUEST_TR_BASE, (uint64_t)tss);
    vmwrite(GUEST_TR_LIMIT, sizeof tss - 1);
    vmwrite(GUEST_TR_AR, 0x8b); /* busy 64-bit TSS, present */
    vmwrite(GUEST_GDTR_BASE, (uint64_t)gdt);
    vmwrite(GUEST_GDTR_LIMIT, sizeof gdt - 1);
    vmwrite(GUEST_IDTR_BASE, (uint64_t)idt);
    vmwrite(GUEST_IDTR_LIMIT, sizeof idt - 1);
    vmwrite(GUEST_CR0, read_cr0());
    vmwrite(GUEST_CR3, (uint64_t)l2_pml4);
    vmwrite(GUEST_CR4, read_cr4());
    vmwrite(GUEST_DR7, 0x400);
    vmwrite(GUEST_RSP, (uint64_t)l2_stack + sizeof l2_stack);
    vmwrite(GUEST_RIP, (uint64_t)l2_entry64);
    vmwrite(GUEST_RFLAGS, 0x2);
    vmwrite(GUEST_PENDING_DBG, 0);
    vmwrite(GUEST_INTERRUPTIBILITY, 0);
    vmwrite(GUEST_ACTIVITY, 0);
    vmwrite(GUEST_SYSENTER_CS, 0);
    vmwrite(GUEST_SYSENTER_ESP, 0);
    vmwrite(GUEST_SYSENTER_EIP, 0);
    vmwrite(GUEST_DEBUGCTL, 0);
    vmwrite(GUEST_EFER, rdmsr(MSR_EFER));
    vmwrite(GUEST_PAT, rdmsr(MSR_PAT));
    vmwrite(VMCS_LINK_PTR, ~0ull);
    if (caps.pin_a1 & PIN_PREEMPT)
        vmwrite(PREEMPT_TIMER_VALUE, 0);

    memset(&g_regs, 0, sizeof g_regs);
    memset(msr_bitmap, 0, sizeof msr_bitmap);
    memset(io_bitmap_a, 0, sizeof io_bitmap_a);
    memset(io_bitmap_b, 0, sizeof io_bitmap_b);
    memset(vapic_page, 0, sizeof vapic_page);
    l2_paging_reset();
    ept_init();
    ept_flush();
    l2_main = l2_nop;
}

static bool want(uint64_t field, uint32_t bits, uint32_t a1, const char *what)
{
    if (bits & ~a1) {
        skip("not advertised: %s control bits %#x", what, bits & ~a1);
        return false;
    }
    vmwrite(field, vmread(field) | bits);
    return true;
}

bool want_pin(uint32_t bits) { return want(PIN_CTLS, bits, caps.pin_a1, "pin-based"); }
bool want_proc(uint32_t bits) { return want(PROC_CTLS, bits, caps.proc_a1, "processor-based"); }
bool want_proc2(uint32_t bits)
{
    if (!(caps.proc_a1 & PROC_SECONDARY)) {
        skip("not advertised: secondary processor-based controls");
        return false;
    }
    vmwrite(PROC_CTLS, vmread(PROC_CTLS) | PROC_SECONDARY);
    return want(PROC2_CTLS, bits, caps.proc2_a1, "secondary");
}
bool want_exit(uint32_t bits) { return want(EXIT_CTLS, bits, caps.exit_a1, "VM-exit"); }
bool want_entry(uint32_t bits) { return want(ENTRY_CTLS, bits, caps.entry_a1, "VM-entry"); }
bool allowed_proc2(uint32_t bits) { return (caps.proc2_a1 & bits) == bits; }
void clear_ctl(uint64_t field, uint32_t bits) { vmwrite(field, vmread(field) & ~(uint64_t)bits); }

void skip_insn(void) { vmwrite(GUEST_RIP, vmread(GUEST_RIP) + vmread(EXIT_INSN_LEN)); }

static const char *const reason_names[] = {
    [0] = "exception/NMI", [1] = "external interrupt", [2] = "triple fault", [3] = "INIT",
    [4] = "SIPI", [7] = "interrupt window", [8] = "NMI window", [9] = "task switch",
    [10] = "CPUID", [11] = "GETSEC", [12] = "HLT", [13] = "INVD", [14] = "INVLPG",
    [15] = "RDPMC", [16] = "RDTSC", [18] = "VMCALL", [19] = "VMCLEAR", [20] = "VMLAUNCH",
    [21] = "VMPTRLD", [22] = "VMPTRST", [23] = "VMREAD", [24] = "VMRESUME", [25] = "VMWRITE",
    [26] = "VMXOFF", [27] = "VMXON", [28] = "CR access", [29] = "MOV DR", [30] = "I/O",
    [31] = "RDMSR", [32] = "WRMSR", [33] = "invalid guest state", [34] = "MSR loading",
    [36] = "MWAIT", [37] = "MTF", [39] = "MONITOR", [40] = "PAUSE", [41] = "machine check",
    [43] = "TPR below threshold", [44] = "APIC access", [45] = "EOI", [46] = "GDTR/IDTR",
    [47] = "LDTR/TR", [48] = "EPT violation", [49] = "EPT misconfig", [50] = "INVEPT",
    [51] = "RDTSCP", [52] = "preemption timer", [53] = "INVVPID", [54] = "WBINVD",
    [55] = "XSETBV", [56] = "APIC write", [57] = "RDRAND", [58] = "INVPCID", [59] = "VMFUNC",
    [61] = "RDSEED", [63] = "XSAVES", [64] = "XRSTORS",
};

const char *reason_name(uint32_t reason)
{
    uint32_t b = reason & 0xffff;
    if (b < ARRAY_SIZE(reason_names) && reason_names[b])
        return reason_names[b];
    return "?";
}

bool expect_reason(uint32_t reason)
{
    if (ex.reason == reason)
        return true;
    fail_at(0, "exit %u: reason %#x (%s), want %u (%s); qual %#lx rip %#lx", ex.count, ex.reason,
            reason_name(ex.reason), reason, reason_name(reason), ex.qual, ex.rip);
    return false;
}

int unexpected_exit(void)
{
    fail_at(0, "unexpected VM exit %u: reason %#x (%s), qual %#lx, rip %#lx", ex.count, ex.reason,
            reason_name(ex.reason), ex.qual, ex.rip);
    return T_DONE;
}

static void read_exit_info(void)
{
    ex.vmfail = 0;
    ex.insn_err = 0;
    ex.reason = (uint32_t)vmread(EXIT_REASON);
    ex.qual = vmread(EXIT_QUAL);
    ex.intr_info = (uint32_t)vmread(EXIT_INTR_INFO);
    ex.intr_err = (uint32_t)vmread(EXIT_INTR_ERROR);
    ex.idt_info = (uint32_t)vmread(IDT_VEC_INFO);
    ex.idt_err = (uint32_t)vmread(IDT_VEC_ERROR);
    ex.len = (uint32_t)vmread(EXIT_INSN_LEN);
    ex.insn_info = (uint32_t)vmread(EXIT_INSN_INFO);
    ex.rip = vmread(GUEST_RIP);
    ex.rsp = vmread(GUEST_RSP);
    ex.rflags = vmread(GUEST_RFLAGS);
    ex.gla = vmread(GUEST_LINEAR_ADDR);
    ex.gpa = (caps.proc2_a1 & PROC2_EPT) ? vmread(GUEST_PHYS_ADDR) : 0;
    ex.count++;
}

void run_l2(const struct vmx_test *t)
{
    bool launched = false;
    ex.count = 0;
    for (;;) {
        int r = vmx_enter(!launched);
        if (r) {
            ex.vmfail = r;
            ex.insn_err = r == VM_FAIL_VALID ? insn_error() : 0;
            fail_at(0, "VM%s failed: %s (error %u)", launched ? "RESUME" : "LAUNCH",
                    r == VM_FAIL_VALID ? "VMfailValid" : r == 1 ? "VMfailInvalid" : "fell through",
                    ex.insn_err);
            return;
        }
        read_exit_info();
        if (!(ex.reason & R_ENTRY_FAIL))
            launched = true;
        if (ex.reason == R_VMCALL && g_regs.r[RAX] == VMCALL_DONE) {
            if (t->check)
                t->check();
            return;
        }
        if (ex.reason == R_VMCALL && g_regs.r[RAX] == VMCALL_L2_EXCEPTION) {
            fail_at(0, "L2 took unexpected exception %lu at rip %#lx (error %#lx)", g_regs.r[RDI],
                    g_regs.r[RSI], g_regs.r[RDX]);
            return;
        }
        if (!t->exit_handler) {
            fail_at(0, "unexpected VM exit %#x (%s), qual %#lx, rip %#lx", ex.reason,
                    reason_name(ex.reason), ex.qual, ex.rip);
            return;
        }
        if (t->exit_handler() == T_DONE) {
            if (t->check)
                t->check();
            return;
        }
        if (ex.count > 20000) {
            fail_at(0, "more than 20000 VM exits (last %#x %s at rip %#lx)", ex.reason,
                    reason_name(ex.reason), ex.rip);
            return;
        }
    }
}

/* Leave VMX operation if in it, then VMXON afresh (SDM 23.7). */
bool vmx_on_fresh(void)
{
    vmxoff(); /* #UD when not in VMX operation: ignored */
    write_cr4(read_cr4() | CR4_VMXE);
    memset(vmxon_region, 0, sizeof vmxon_region);
    *(uint32_t *)vmxon_region = caps.rev;
    int r = vmxon((uint64_t)vmxon_region);
    if (r) {
        fail_at(0, "VMXON: %s", vm_result_str(r));
        return false;
    }
    return true;
}

bool test_selected(const char *name)
{
    if (!test_filter || !*test_filter)
        return true;
    const char *p = test_filter;
    while (*p) {
        const char *e = p;
        while (*e && *e != ',' && *e != ' ')
            e++;
        size_t l = (size_t)(e - p);
        for (const char *n = name; *n; n++)
            if (l && !strncmp(n, p, l))
                return true;
        if (*e != ',')
            break;
        p = e + 1;
    }
    return false;
}

void begin_test(const char *name)
{
    memset(&cur, 0, sizeof cur);
    cur.name = name;
    if (verbose)
        printf("RUN  %s\n", name);
}

void finish_test(void)
{
    if (cur.fails) {
        printf("FAIL %s: %s%s\n", cur.name, cur.why, cur.fails > 1 ? " [more below]" : "");
        for (int i = 0; i < cur.fails - 1 && i < (int)ARRAY_SIZE(cur.notes); i++)
            printf("     also: %s\n", cur.notes[i]);
        if (cur_test && cur_test->sdm)
            printf("     SDM %s\n", cur_test->sdm);
        total_fail++;
    } else if (cur.skipped) {
        printf("SKIP %s (%s)\n", cur.name, cur.why);
        total_skip++;
    } else {
        printf("PASS %s\n", cur.name);
        total_pass++;
    }
}

extern uint64_t l1_cr0, l1_cr4, l1_efer, l1_pat;

/* Undo whatever a test changed in L1 (also after an abort). */
static void l1_restore(void)
{
    cur_in_l2 = 0;
    exc_fixup = 0;
    l2_event_hook = NULL;
    asm volatile("lgdt %0; lidt %1" : : "m"(gdt_desc), "m"(idt_desc));
    write_cr0(l1_cr0);
    write_cr4(read_cr4() | CR4_VMXE);
    write_cr3((uint64_t)pml4);
    wrmsr(MSR_EFER, l1_efer);
    wrmsr(MSR_PAT, l1_pat);
    lapic_write(0x380, 0);       /* LAPIC timer initial count: stop */
    lapic_write(0x320, 1 << 16); /* LVT timer masked */
    cli();
}

static NOINLINE void run_one(const struct vmx_test *t)
{
    struct jmpctx jc;
    abort_ctx = &jc;
    if (ctx_save(&jc) == 0) {
        if (vmx_on_fresh()) {
            vmcs_default();
            if (t->guest)
                l2_main = t->guest;
            if (!cur.fails && t->init)
                t->init();
            /* rows with only an init are L1-only; the others run L2 */
            if (!cur.fails && !cur.skipped && (t->guest || t->exit_handler || t->check))
                run_l2(t);
        }
    }
    abort_ctx = NULL;
}

void run_tests(const struct vmx_test *tests, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const struct vmx_test *t = &tests[i];
        if (!test_selected(t->name))
            continue;
        begin_test(t->name);
        cur_test = t;
        run_one(t);
        l1_restore();
        finish_test();
    }
}
