/*
 * t_fuzz.c — hostile-L1 fuzzing of the VMCS, EPT, MSR lists and VMX
 * regions.  From a valid VMCS running a tiny L2 (touch the stack, VMCALL),
 * each attempt (default 2000, fixed seed; "fuzz=N fuzzseed=S" on the guest
 * command line change them) mutates 1-4 random targets:
 *
 *   - any VMCS field of SDM Vol.3 Appendix B (control, guest-state,
 *     host-state and VM-exit information fields, 16/32/64-bit and natural
 *     width, full and "high" accesses, fields nestvm does not implement
 *     too): bit flips, random values, special values.  Every VMWRITE must
 *     succeed (and VMREAD must return the value truncated to the field's
 *     width) or fail with VMfailValid(12) for an unsupported field;
 *   - entries of L2's EPT hierarchy: permission, memory-type, ignore-PAT,
 *     large-page, accessed/dirty and reserved bits, addresses beyond RAM,
 *     entries pointing back at EPT tables (self-reference, loops);
 *   - the VM-entry MSR-load list (any count, address and contents) and the
 *     VM-exit MSR-store / MSR-load lists (counts, addresses);
 *   - every 16th attempt the VMXON region (revision, pointer), every 8th
 *     VMPTRLD/VMCLEAR pointers;
 *
 * then VMLAUNCH (and, after a VM exit, sometimes more mutations and
 * VMRESUME).  An attempt passes when it ends in an architectural outcome:
 * VMfailInvalid, VMfailValid with an error number of SDM 30.4, a VM-entry
 * failure (exit reason 33 or 34 with bit 31), or a VM exit with a defined
 * basic reason — and L1 is back in control with RFLAGS = 2 (27.5.3).  As an
 * oracle the fuzzer also evaluates the host-state checks of SDM 26.2.2-
 * 26.2.4 itself: an invalid host-state area must give VMfailValid(7 or 8),
 * never a VM entry, and a valid one must never give VMfailValid(8).
 *
 * What is protected, and why (otherwise L1 could not regain control —
 * on real hardware just as on nestvm):
 *   1. PIN_BASED_VM_EXEC_CONTROL bit 6 ("activate VMX-preemption timer")
 *      is forced to 1 and VMX_PREEMPTION_TIMER_VALUE to at most WATCHDOG:
 *      the timer ends any runaway L2 (25.5.1).
 *   2. GUEST_ACTIVITY_STATE 3 (wait-for-SIPI) becomes 0: in that state the
 *      timer may be blocked by the activity state (26.7.4) and this
 *      single-CPU L1 has nobody to send the SIPI.
 *   3. HOST_CR3, HOST_CR4, HOST_RIP and HOST_RSP are restored when the
 *      fuzzed host-state area passes the SDM host checks: a VM exit through
 *      them would leave L1 without its page tables, with SMEP/SMAP against
 *      its own pages, or executing/pushing garbage.  When the host state is
 *      invalid they stay fuzzed (the entry must fail).  HOST_RSP is
 *      rewritten by the entry trampoline anyway.  Every other host field
 *      (CR0, selectors, FS/GS/TR/GDTR/IDTR bases, SYSENTER, EFER, PAT) is
 *      fuzzed freely: after each attempt L1 reloads CS/SS/DS/ES/FS/GS,
 *      GDTR/IDTR/TR, CR0/CR4, EFER, PAT and the MSRs the lists may load.
 *   4. Fields naming memory that VM entry, L2 or VM exit *write* (exit
 *      MSR-store area, virtual-APIC page, posted-interrupt descriptor, PML
 *      and #VE-information addresses, EPTP list, VMCS link pointer, EPTP)
 *      only take addresses in the sandbox (TEST_AREA2), beyond RAM (above
 *      4 GiB), beyond MAXPHYADDR or misaligned — never other L1 memory.
 *      Guest CR3 and EPT entries that name tables only point at sandbox
 *      pages whose every entry names a sandbox page (L2's and the EPT's
 *      tables), or beyond RAM: L2's paging maps only the sandbox, and the
 *      EPT only the sandbox, however they are combined.
 *   5. The VM-exit MSR-load and MSR-store lists hold only MSRs that load or
 *      store without error and at most 512 entries when their address is
 *      usable: a failing exit list is a VMX abort (27.7), which shuts the
 *      VM down.  The VM-entry MSR-load list is fully fuzzed (exit 34).
 */
#include "desc.h"
#include "vmx_lib.h"

uint64_t fuzz_iterations = 2000, fuzz_seed = 0x6e657374766d2d31ull; /* main.c */

/* ---- sandbox: TEST_AREA2, identity-mapped in L1; 4 KiB pages ---- */
#define SB TEST_AREA2
#define SBP(n) (SB + (uint64_t)(n) * PAGE_SIZE)
enum {
    P_CODE, P_IDT, P_GDT, P_STACK,      /* mapped in L2's paging */
    P_PML4 = 4, P_PDPT, P_PD, P_PT,     /* L2 paging structures */
    P_EPML4 = 8, P_EPDPT, P_EPD, P_EPT, /* EPT */
    P_ELOAD = 12,                       /* 2 pages: VM-entry MSR-load list */
    P_XLOAD = 14,                       /* VM-exit MSR-load list */
    P_XSTORE = 16,                      /* 2 pages: VM-exit MSR-store list */
    P_VAPIC = 18, P_APICACC, P_PIDESC, P_RDBMP, P_WRBMP, P_EPTPLIST, P_SPARE,
    P_LAST
};
#define L2_RIP SBP(P_CODE)
#define L2_STUBS (SBP(P_CODE) + 0x800) /* 8 bytes per vector: vmcall; jmp . */
#define L2_TSS (SBP(P_GDT) + 0x100)
#define L2_RSP (SBP(P_STACK) + PAGE_SIZE - 64)
#define EPTP_BASE (SBP(P_EPML4) | 6 | 3 << 3)
#define WATCHDOG 0x4000u
#define BEYOND_RAM_MIN 0x100000000ull /* above 4 GiB: no RAM, no MMIO */

/* ---- PRNG (xorshift64*) ---- */
static uint64_t rng;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}
static unsigned rn(unsigned n) { return (unsigned)(rnd() % n); }

static unsigned maxphy;
static uint64_t efer_valid;

/* ---- every VMCS field encoding of SDM Vol.3 Appendix B ---- */
enum kind {
    K_ANY, K_ADDR_W, K_GCR3, K_EPTP, K_HOST_PROT, K_TIMER, K_PIN, K_ACT, K_XSTORE, K_XLOAD,
    K_ELOAD,
};
static const struct { uint16_t enc; uint8_t kind; } fields[] = {
    /* 16-bit control, guest, host (B.1) */
    { 0x0000, K_ANY }, { 0x0002, K_ANY }, { 0x0004, K_ANY }, { 0x0006, K_ANY },
    { 0x0800, K_ANY }, { 0x0802, K_ANY }, { 0x0804, K_ANY }, { 0x0806, K_ANY },
    { 0x0808, K_ANY }, { 0x080a, K_ANY }, { 0x080c, K_ANY }, { 0x080e, K_ANY },
    { 0x0810, K_ANY }, { 0x0812, K_ANY }, { 0x0814, K_ANY },
    { 0x0c00, K_ANY }, { 0x0c02, K_ANY }, { 0x0c04, K_ANY }, { 0x0c06, K_ANY },
    { 0x0c08, K_ANY }, { 0x0c0a, K_ANY }, { 0x0c0c, K_ANY },
    /* 64-bit control (B.2.1) */
    { 0x2000, K_ANY }, { 0x2002, K_ANY }, { 0x2004, K_ANY }, { 0x2006, K_XSTORE },
    { 0x2008, K_XLOAD }, { 0x200a, K_ELOAD }, { 0x200c, K_ANY }, { 0x200e, K_ADDR_W },
    { 0x2010, K_ANY }, { 0x2012, K_ADDR_W }, { 0x2014, K_ANY }, { 0x2016, K_ADDR_W },
    { 0x2018, K_ANY }, { 0x201a, K_EPTP }, { 0x201c, K_ANY }, { 0x201e, K_ANY },
    { 0x2020, K_ANY }, { 0x2022, K_ANY }, { 0x2024, K_ADDR_W }, { 0x2026, K_ANY },
    { 0x2028, K_ANY }, { 0x202a, K_ADDR_W }, { 0x202c, K_ANY }, { 0x202e, K_ANY },
    { 0x2030, K_ADDR_W }, { 0x2032, K_ANY }, { 0x2034, K_ANY }, { 0x2036, K_ANY },
    /* 64-bit read-only, guest, host (B.2.2-B.2.4) */
    { 0x2400, K_ANY },
    { 0x2800, K_ADDR_W }, { 0x2802, K_ANY }, { 0x2804, K_ANY }, { 0x2806, K_ANY },
    { 0x2808, K_ANY }, { 0x280a, K_ANY }, { 0x280c, K_ANY }, { 0x280e, K_ANY },
    { 0x2810, K_ANY }, { 0x2812, K_ANY }, { 0x2814, K_ANY }, { 0x2816, K_ANY },
    { 0x2818, K_ANY },
    { 0x2c00, K_ANY }, { 0x2c02, K_ANY }, { 0x2c04, K_ANY }, { 0x2c06, K_ANY },
    /* 32-bit control (B.3.1) */
    { 0x4000, K_PIN }, { 0x4002, K_ANY }, { 0x4004, K_ANY }, { 0x4006, K_ANY },
    { 0x4008, K_ANY }, { 0x400a, K_ANY }, { 0x400c, K_ANY }, { 0x400e, K_XSTORE },
    { 0x4010, K_XLOAD }, { 0x4012, K_ANY }, { 0x4014, K_ELOAD }, { 0x4016, K_ANY },
    { 0x4018, K_ANY }, { 0x401a, K_ANY }, { 0x401c, K_ANY }, { 0x401e, K_ANY },
    { 0x4020, K_ANY }, { 0x4022, K_ANY }, { 0x4024, K_ANY },
    /* 32-bit read-only (B.3.2) */
    { 0x4400, K_ANY }, { 0x4402, K_ANY }, { 0x4404, K_ANY }, { 0x4406, K_ANY },
    { 0x4408, K_ANY }, { 0x440a, K_ANY }, { 0x440c, K_ANY }, { 0x440e, K_ANY },
    /* 32-bit guest, host (B.3.3, B.3.4) */
    { 0x4800, K_ANY }, { 0x4802, K_ANY }, { 0x4804, K_ANY }, { 0x4806, K_ANY },
    { 0x4808, K_ANY }, { 0x480a, K_ANY }, { 0x480c, K_ANY }, { 0x480e, K_ANY },
    { 0x4810, K_ANY }, { 0x4812, K_ANY }, { 0x4814, K_ANY }, { 0x4816, K_ANY },
    { 0x4818, K_ANY }, { 0x481a, K_ANY }, { 0x481c, K_ANY }, { 0x481e, K_ANY },
    { 0x4820, K_ANY }, { 0x4822, K_ANY }, { 0x4824, K_ANY }, { 0x4826, K_ACT },
    { 0x4828, K_ANY }, { 0x482a, K_ANY }, { 0x482e, K_TIMER },
    { 0x4c00, K_ANY },
    /* natural-width control, read-only, guest, host (B.4) */
    { 0x6000, K_ANY }, { 0x6002, K_ANY }, { 0x6004, K_ANY }, { 0x6006, K_ANY },
    { 0x6008, K_ANY }, { 0x600a, K_ANY }, { 0x600c, K_ANY }, { 0x600e, K_ANY },
    { 0x6400, K_ANY }, { 0x6402, K_ANY }, { 0x6404, K_ANY }, { 0x6406, K_ANY },
    { 0x6408, K_ANY }, { 0x640a, K_ANY },
    { 0x6800, K_ANY }, { 0x6802, K_GCR3 }, { 0x6804, K_ANY }, { 0x6806, K_ANY },
    { 0x6808, K_ANY }, { 0x680a, K_ANY }, { 0x680c, K_ANY }, { 0x680e, K_ANY },
    { 0x6810, K_ANY }, { 0x6812, K_ANY }, { 0x6814, K_ANY }, { 0x6816, K_ANY },
    { 0x6818, K_ANY }, { 0x681a, K_ANY }, { 0x681c, K_ANY }, { 0x681e, K_ANY },
    { 0x6820, K_ANY }, { 0x6822, K_ANY }, { 0x6824, K_ANY }, { 0x6826, K_ANY },
    { 0x6828, K_ANY }, { 0x682a, K_ANY }, { 0x682c, K_ANY },
    { 0x6c00, K_ANY }, { 0x6c02, K_HOST_PROT }, { 0x6c04, K_HOST_PROT }, { 0x6c06, K_ANY },
    { 0x6c08, K_ANY }, { 0x6c0a, K_ANY }, { 0x6c0c, K_ANY }, { 0x6c0e, K_ANY },
    { 0x6c10, K_ANY }, { 0x6c12, K_ANY }, { 0x6c14, K_HOST_PROT }, { 0x6c16, K_HOST_PROT },
    { 0x6c18, K_ANY }, { 0x6c1a, K_ANY }, { 0x6c1c, K_ANY },
};
#define NFIELDS ARRAY_SIZE(fields)

/* Base values of the valid VMCS, and which encodings VMREAD accepts. */
static uint64_t base_val[NFIELDS];
static bool supported[NFIELDS];

static unsigned enc_width(uint32_t enc) { return (enc >> 13) & 3; } /* 0:16 1:64 2:32 3:nat */
static uint64_t width_mask(uint32_t enc)
{
    unsigned w = enc_width(enc);
    return w == 0 ? 0xffff : w == 2 ? 0xffffffff : ~0ull;
}

/* ---- outcome statistics and failure log ---- */
static struct {
    unsigned attempts, resumes, ok_exits, fail_invalid, fail_valid[32], entry_fail33,
        entry_fail34, exits[80], vmwrite_ok, vmwrite_unsupported, vmxon_fuzz, ptr_fuzz,
        host_invalid, ept_mut, list_mut;
} st;
static char mlog[8][96];
static unsigned mlog_n;
static unsigned cur_iter;

static void logm(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logm(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(mlog[mlog_n++ & 7], sizeof mlog[0], fmt, ap);
    va_end(ap);
}

static void fuzz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fuzz_fail(const char *fmt, ...)
{
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    printf("fuzz: attempt %u (seed %#lx): %s\n", cur_iter, fuzz_seed, buf);
    unsigned first = mlog_n > 8 ? mlog_n - 8 : 0;
    for (unsigned i = first; i < mlog_n; i++)
        printf("fuzz:   mutation %s\n", mlog[i & 7]);
    fail_at(0, "attempt %u: %s", cur_iter, buf);
}

/* ---- sandbox contents ---- */
/* L2 (copied to the sandbox, position independent): touch the stack page,
 * run the instruction RAX & 15 selects — each may VM-exit or fault under
 * the fuzzed controls — then VMCALL. */
extern char fz_l2[], fz_l2_end[];
asm(".pushsection .rodata\nfz_l2:\n\t"
    "mov $0x1203000, %rbx\n\tmov (%rbx), %rdx\n\tadd $1, %rdx\n\tmov %rdx, (%rbx)\n\t"
    "and $15, %eax\n\tlea 9f(%rip), %rdx\n\tmovslq (%rdx,%rax,4), %rax\n\t"
    "add %rdx, %rax\n\tjmp *%rax\n"
    "9:\t.long 20f-9b, 21f-9b, 22f-9b, 23f-9b, 24f-9b, 25f-9b, 26f-9b, 27f-9b\n\t"
    ".long 28f-9b, 29f-9b, 30f-9b, 31f-9b, 32f-9b, 33f-9b, 34f-9b, 35f-9b\n"
    "21:\tcpuid\n\tjmp 20f\n"
    "22:\thlt\n\tjmp 20f\n"
    "23:\trdtsc\n\tjmp 20f\n"
    "24:\tin $0x80, %al\n\tjmp 20f\n"
    "25:\tmov $0x10, %ecx\n\trdmsr\n\tjmp 20f\n"
    "26:\tint3\n\tjmp 20f\n"
    "27:\tud2\n"
    "28:\tmov %cr3, %rcx\n\tmov %rcx, %cr3\n\tjmp 20f\n"
    "29:\tmov %cr8, %rcx\n\tmov %rcx, %cr8\n\tjmp 20f\n"
    "30:\tinvlpg (%rbx)\n\tjmp 20f\n"
    "31:\tpause\n\tjmp 20f\n"
    "32:\trdtscp\n\tjmp 20f\n"
    "33:\tmov %dr7, %rcx\n\tjmp 20f\n"
    "34:\twbinvd\n\tjmp 20f\n"
    "35:\tsgdt (%rbx)\n"
    "20:\tvmcall\n\tjmp fz_l2\n"
    "fz_l2_end:\n.popsection");
_Static_assert(SBP(P_STACK) == 0x1203000, "fz_l2 hard-codes the stack page");

static uint64_t *sbq(unsigned page) { return (uint64_t *)SBP(page); }

static void qset(uint64_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = v;
}

static void sandbox_init(void)
{
    uint8_t *code = (uint8_t *)SBP(P_CODE);
    qset(sbq(P_CODE), 0, 512);
    memcpy(code, fz_l2, (size_t)(fz_l2_end - fz_l2));
    for (unsigned v = 0; v < 256; v++) {
        uint8_t *s = code + 0x800 + 8 * v;
        s[0] = 0x0f, s[1] = 0x01, s[2] = 0xc1; /* vmcall */
        s[3] = 0xeb, s[4] = 0xfe;              /* jmp . */
        uint64_t h = L2_STUBS + 8 * v;
        sbq(P_IDT)[2 * v] = (h & 0xffff) | 0x08ull << 16 | 0x8eull << 40 | ((h >> 16) & 0xffff) << 48;
        sbq(P_IDT)[2 * v + 1] = h >> 32;
    }
    qset(sbq(P_GDT), 0, 64);
    sbq(P_GDT)[1] = 0x00af9b000000ffffull; /* 0x08: 64-bit code */
    sbq(P_GDT)[2] = 0x00cf93000000ffffull; /* 0x10: data */
    uint64_t tb = L2_TSS;                  /* 0x18: busy 64-bit TSS */
    sbq(P_GDT)[3] = 0x67 | (tb & 0xffffff) << 16 | 0x8bull << 40 | ((tb >> 24) & 0xff) << 56;
    sbq(P_GDT)[4] = tb >> 32;
    *(uint64_t *)(L2_TSS + 4) = L2_RSP; /* RSP0 */
    /* L2 paging: pages P_CODE..P_STACK only */
    qset(sbq(P_PML4), 0, 512 * 4);
    sbq(P_PML4)[0] = SBP(P_PDPT) | 0x23;
    sbq(P_PDPT)[0] = SBP(P_PD) | 0x23;
    sbq(P_PD)[SB >> 21] = SBP(P_PT) | 0x23;
    for (unsigned i = 0; i <= P_STACK; i++)
        sbq(P_PT)[i] = SBP(i) | 0x63;
    /* EPT: the sandbox only, identity, 4 KiB pages */
    qset(sbq(P_EPML4), 0, 512 * 3);
    sbq(P_EPML4)[0] = SBP(P_EPDPT) | EPT_RWX;
    sbq(P_EPDPT)[0] = SBP(P_EPD) | EPT_RWX;
    sbq(P_EPD)[SB >> 21] = SBP(P_EPT) | EPT_RWX;
    for (unsigned i = 0; i < 512; i++)
        sbq(P_EPT)[i] = (SB + (uint64_t)i * PAGE_SIZE) | EPT_RWX | EPT_WB;
    qset(sbq(P_VAPIC), 0, 512 * (P_LAST - P_VAPIC));
    *(uint32_t *)SBP(P_SPARE) = caps.rev; /* a region with the right revision */
    for (unsigned i = 0; i < 512; i++)
        sbq(P_EPTPLIST)[i] = EPTP_BASE;
}

/* ---- the valid base VMCS ---- */
static void base_vmcs(void)
{
    vmcs_default();
    uint32_t proc2 = (caps.proc_a1 & PROC_SECONDARY) ? (uint32_t)vmread(PROC2_CTLS) : 0;
    vmwrite(GUEST_CR3, SBP(P_PML4));
    vmwrite(GUEST_RIP, L2_RIP);
    vmwrite(GUEST_RSP, L2_RSP);
    vmwrite(GUEST_GDTR_BASE, SBP(P_GDT));
    vmwrite(GUEST_GDTR_LIMIT, 0x2f);
    vmwrite(GUEST_IDTR_BASE, SBP(P_IDT));
    vmwrite(GUEST_IDTR_LIMIT, 0xfff);
    vmwrite(GUEST_TR_SEL, 0x18);
    vmwrite(GUEST_TR_BASE, L2_TSS);
    vmwrite(GUEST_TR_LIMIT, 0x67);
    if (proc2 & PROC2_EPT)
        vmwrite(EPT_POINTER, EPTP_BASE);
    if (caps.proc_a1 & PROC_TPR_SHADOW)
        vmwrite(VIRT_APIC_PAGE, SBP(P_VAPIC));
    vmwrite(EXIT_MSR_STORE_ADDR, SBP(P_XSTORE));
    vmwrite(EXIT_MSR_LOAD_ADDR, SBP(P_XLOAD));
    vmwrite(ENTRY_MSR_LOAD_ADDR, SBP(P_ELOAD));
    vmwrite(APIC_ACCESS_ADDR, SBP(P_APICACC));
    vmwrite(VMREAD_BITMAP, SBP(P_RDBMP));
    vmwrite(VMWRITE_BITMAP, SBP(P_WRBMP));
    vmwrite(EPTP_LIST, SBP(P_EPTPLIST));
    vmwrite(PIN_CTLS, vmread(PIN_CTLS) | PIN_PREEMPT);
    vmwrite(PREEMPT_TIMER_VALUE, WATCHDOG);
}

static void snapshot_base(void)
{
    for (unsigned i = 0; i < NFIELDS; i++) {
        uint64_t v = 0;
        supported[i] = vmread_r(fields[i].enc, &v) == VM_OK;
        base_val[i] = v;
    }
}

/* Fresh, clear VMCS with the base values. */
static bool restore_base(void)
{
    if (vmclear((uint64_t)vmcs_main) || vmptrld((uint64_t)vmcs_main)) {
        fuzz_fail("VMCLEAR/VMPTRLD of the fuzzing VMCS failed");
        return false;
    }
    for (unsigned i = 0; i < NFIELDS; i++)
        if (supported[i] && ((fields[i].enc >> 10) & 3) != 1) /* not exit information */
            vmwrite(fields[i].enc, base_val[i]);
    return true;
}

/* ---- value generators ---- */
static uint64_t special(void)
{
    static const uint64_t sp[] = { 0, ~0ull, 1, 0x80000000ull, 0xffff, 0xffffffffull,
                                   0x8000000000000000ull, 0x0000800000000000ull,
                                   0xffff800000000000ull, 0x7fffffffffffull, 0x1000, 0xfff };
    return rn(3) ? sp[rn(ARRAY_SIZE(sp))] : 1ull << rn(64);
}

static uint64_t mutate_any(uint64_t cur)
{
    switch (rn(6)) {
    case 0: return cur ^ (1ull << rn(64));
    case 1: return cur ^ (1ull << rn(32)) ^ (1ull << rn(32)) ^ (1ull << rn(16));
    case 2: return rnd();
    case 3: return special();
    case 4: return cur | (1ull << rn(32));
    default: return cur & ~(1ull << rn(32));
    }
}

/* Addresses for memory the VMM writes: sandbox, beyond RAM, beyond
 * MAXPHYADDR, misaligned (rule 4 of the header). */
static uint64_t addr_w(void)
{
    switch (rn(6)) {
    case 0: return SBP(rn(P_LAST));
    case 1: return SBP(P_SPARE) + (rn(4096) & ~7u);
    case 2: return BEYOND_RAM_MIN + ((rnd() % ((1ull << maxphy) - BEYOND_RAM_MIN)) & ~0xfffull);
    case 3: return SBP(rn(P_LAST)) | 1ull << (maxphy + rn(64 - maxphy));
    case 4: return SBP(rn(P_LAST)) + 1 + rn(4095);
    default: return ~0ull;
    }
}

/* Guest CR3: only pages whose every entry names a sandbox page (L2's and
 * the EPT's tables), so that without EPT L2 still reaches nothing else. */
static uint64_t table_page(void)
{
    static const uint8_t t[] = { P_PML4, P_PDPT, P_PD, P_PT, P_EPML4, P_EPDPT, P_EPD, P_EPT };
    return SBP(t[rn(ARRAY_SIZE(t))]);
}

static uint64_t gen_gcr3(void)
{
    switch (rn(5)) {
    case 0: return SBP(P_PML4) | (rnd() & 0xfff); /* PCID / PWT / PCD bits */
    case 1: return table_page() | (rnd() & 0x18);
    case 2: return BEYOND_RAM_MIN + ((rnd() % ((1ull << maxphy) - BEYOND_RAM_MIN)) & ~0xfffull);
    case 3: return SBP(P_PML4) | 1ull << (maxphy + rn(64 - maxphy));
    default: return SBP(P_PML4);
    }
}

static uint64_t gen_eptp(void)
{
    switch (rn(4)) {
    case 0: return EPTP_BASE ^ (1ull << rn(12)); /* type, walk length, A/D, reserved */
    case 1: return SBP(P_EPML4) | (rnd() & 0xfff);
    case 2: /* another table (rule 4), or no RAM */
        return (rn(2) ? table_page()
                      : BEYOND_RAM_MIN + ((rnd() % ((1ull << maxphy) - BEYOND_RAM_MIN)) & ~0xfffull)) |
               (EPTP_BASE & 0xfff);
    default: return EPTP_BASE | (1ull << 6);      /* A/D flags on */
    }
}

/* ---- EPT entry mutations (rule 4: never other L1 memory) ---- */
static struct { uint64_t *p, old; } ept_undo[8];
static unsigned ept_nundo;

static void mutate_ept(void)
{
    static const unsigned tables[] = { P_EPML4, P_EPDPT, P_EPD, P_EPT };
    unsigned t = rn(4), idx;
    switch (t) { /* mostly the entries the walk of the sandbox uses */
    case 0: case 1: idx = rn(4) ? 0 : rn(512); break;
    case 2: idx = rn(4) ? (unsigned)(SB >> 21) : rn(512); break;
    default: idx = rn(3) ? rn(P_LAST) : rn(512); break;
    }
    uint64_t *p = &sbq(tables[t])[idx], e = *p;
    if (ept_nundo < ARRAY_SIZE(ept_undo))
        ept_undo[ept_nundo++] = (typeof(ept_undo[0])){ p, e };
    uint64_t addr_bits = ((1ull << maxphy) - 1) & ~0xfffull;
    switch (rn(8)) {
    case 0: e = (e & ~7ull) | rn(8); break;                        /* R/W/X */
    case 1: e = (e & ~0x38ull) | (uint64_t)rn(8) << 3; break;       /* memory type */
    case 2: e ^= 1ull << (6 + rn(6)); break;                        /* ignore PAT, PS, A, D, 10, 11 */
    case 3: e |= 1ull << (maxphy + rn(52 - maxphy)); break;         /* reserved address bits */
    case 4: e ^= 1ull << (52 + rn(12)); break;                      /* ignored bits, suppress #VE */
    case 5: e = (e & ~addr_bits) | ((BEYOND_RAM_MIN + (rnd() & addr_bits)) & addr_bits); break;
    case 6: e = (e & ~addr_bits) | SBP(tables[rn(4)]); break;       /* self-reference / loop */
    default: /* another page: any sandbox page for a PTE (data), else an
              * EPT table, whose entries all name sandbox pages */
        e = (e & ~addr_bits) | (t == 3 ? SBP(rn(P_LAST)) : SBP(tables[rn(4)]));
        break;
    }
    *p = e;
    st.ept_mut++;
    logm("EPT table %u[%u] = %#lx", t, idx, e);
}

static void undo_ept(void)
{
    while (ept_nundo) {
        ept_nundo--;
        *ept_undo[ept_nundo].p = ept_undo[ept_nundo].old;
    }
}

/* ---- MSR lists ---- */
static const uint32_t msr_pool[] = {
    0x10, 0x3a, 0x48, 0x79, 0x8b, 0x9b, 0x9e, 0x174, 0x175, 0x176, 0x1a0, 0x1d9, 0x277, 0x2ff,
    0x800, 0x808, 0x80b, 0xc0000080, 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,
    0xc0000100, 0xc0000101, 0xc0000102, 0xc0000103,
};
/* MSRs an exit list may load/store without failing, with valid values. */
static const uint32_t msr_safe[] = { 0x174, 0x175, 0x176, 0xc0000102, 0xc0000103, 0x277 };

static uint64_t safe_value(uint32_t msr)
{
    switch (msr) {
    case 0x277: return 0x0007040600070406ull;
    case 0xc0000103: return rnd() & 0xffffffff;
    case 0x174: return rnd() & 0xffff;
    default: return rnd() & 0x00007ffffffffff0ull; /* canonical */
    }
}

static void vmw(uint32_t enc, uint64_t v);

static void mutate_entry_list(void)
{
    struct msr_entry *e = (struct msr_entry *)SBP(P_ELOAD);
    unsigned n = rn(4) ? rn(8) : rn(3) ? rn(600) : (unsigned)rnd();
    for (unsigned i = 0; i < n && i < 512; i++) {
        e[i].index = rn(8) ? msr_pool[rn(ARRAY_SIZE(msr_pool))] : (uint32_t)rnd();
        e[i].reserved = rn(16) ? 0 : (uint32_t)rnd();
        e[i].value = rn(2) ? rnd() : special();
    }
    uint64_t addr = rn(4) ? SBP(P_ELOAD) : rn(2) ? addr_w() : rnd();
    logm("entry MSR-load list: %u entries at %#lx", n, addr);
    vmw(ENTRY_MSR_LOAD_COUNT, n);
    vmw(ENTRY_MSR_LOAD_ADDR, addr);
    st.list_mut++;
}

/* Exit lists (rule 5): usable address → at most 512 good entries; else an
 * address or count that fails the VM-entry checks (26.2.1.2). */
static void mutate_exit_list(bool store)
{
    unsigned page = store ? P_XSTORE : P_XLOAD;
    struct msr_entry *e = (struct msr_entry *)SBP(page);
    uint64_t n, addr;
    switch (rn(4)) {
    case 0: case 1:
        n = rn(4) ? rn(8) : rn(store ? 513 : 16);
        addr = SBP(page);
        for (unsigned i = 0; i < n; i++) {
            uint32_t m = msr_safe[rn(ARRAY_SIZE(msr_safe))];
            e[i] = (struct msr_entry){ .index = m, .value = safe_value(m) };
        }
        break;
    case 2: /* misaligned or beyond MAXPHYADDR: VMfailValid(7) */
        n = 1 + (rn(2) ? rn(600) : (uint32_t)rnd());
        addr = rn(2) ? SBP(page) + 8 : SBP(page) | 1ull << (maxphy + rn(64 - maxphy));
        break;
    default: /* no entries: the address does not matter */
        n = 0;
        addr = rnd();
        break;
    }
    logm("exit MSR-%s list: %lu entries at %#lx", store ? "store" : "load", n, addr);
    vmw(store ? EXIT_MSR_STORE_COUNT : EXIT_MSR_LOAD_COUNT, n);
    vmw(store ? EXIT_MSR_STORE_ADDR : EXIT_MSR_LOAD_ADDR, addr);
    st.list_mut++;
}

/* ---- VMWRITE with its own checks ---- */
static void vmw(uint32_t enc, uint64_t v)
{
    int r = vmwrite_r(enc, v);
    if (r == VM_FAIL_VALID) {
        uint32_t e = insn_error();
        bool ro = ((enc >> 10) & 3) == 1 && !(caps.misc & (1ull << 29));
        if (e == 12 || (e == 13 && ro)) { /* unsupported field; read-only (30.3) */
            st.vmwrite_unsupported++;
            return;
        }
    }
    if (r != VM_OK) {
        fuzz_fail("VMWRITE %#x <- %#lx: %s (want success or VMfailValid(12))", enc, v,
                  vm_result_str(r));
        return;
    }
    st.vmwrite_ok++;
    uint64_t back = 0, want = (enc & 1) ? (uint32_t)v : v & width_mask(enc);
    if (vmread_r(enc, &back) != VM_OK || back != want)
        fuzz_fail("VMREAD %#x after VMWRITE of %#lx: %#lx, want %#lx", enc, v, back, want);
}

static void mutate_field(void)
{
    unsigned i = rn(NFIELDS);
    uint32_t enc = fields[i].enc;
    uint64_t cur = 0;
    vmread_r(enc, &cur);
    uint64_t v;
    switch (fields[i].kind) {
    case K_XSTORE: mutate_exit_list(true); return;
    case K_XLOAD: mutate_exit_list(false); return;
    case K_ELOAD: mutate_entry_list(); return;
    case K_ADDR_W: v = addr_w(); break;
    case K_GCR3: v = gen_gcr3(); break;
    case K_EPTP: v = gen_eptp(); break;
    default:
        v = mutate_any(cur);
        if (enc_width(enc) == 1 && !rn(5)) { /* the "high" access of a 64-bit field */
            enc |= 1;
            v &= 0xffffffff;
        }
        break;
    }
    logm("field %#x = %#lx", enc, v);
    vmw(enc, v);
}

/* Allowed control settings (A.3-A.5) with random optional bits: entries
 * that pass the control checks and run L2 under many exiting controls. */
static void mutate_controls(void)
{
    uint32_t enc, m1, a1;
    switch (rn(6)) {
    case 0: enc = PIN_CTLS, m1 = caps.pin_m1, a1 = caps.pin_a1; break;
    case 1: enc = PROC_CTLS, m1 = caps.proc_m1, a1 = caps.proc_a1; break;
    case 2: enc = PROC2_CTLS, m1 = 0, a1 = caps.proc2_a1; break;
    case 3: enc = EXIT_CTLS, m1 = caps.exit_m1 | EXIT_HOST_64, a1 = caps.exit_a1; break;
    case 4: enc = ENTRY_CTLS, m1 = caps.entry_m1, a1 = caps.entry_a1; break;
    default: enc = EXC_BITMAP, m1 = 0, a1 = ~0u; break;
    }
    uint64_t v = m1 | ((uint32_t)rnd() & (uint32_t)rnd() & a1);
    if (enc == PROC_CTLS && (caps.proc_a1 & PROC_SECONDARY))
        v |= PROC_SECONDARY;
    if (enc == ENTRY_CTLS)
        v = (v & ~(uint64_t)ENTRY_IA32E) | (vmread(ENTRY_CTLS) & ENTRY_IA32E);
    logm("controls %#x = %#lx", enc, v);
    vmw(enc, v);
}

/* Event injection (24.8.3, 26.6): mostly well-formed interruption
 * information, delivered through L2's IDT (nested faults, IDT-vectoring). */
static void mutate_injection(void)
{
    static const uint8_t has_err[32] = { [8] = 1, [10] = 1, [11] = 1, [12] = 1, [13] = 1,
                                         [14] = 1, [17] = 1 };
    unsigned type = rn(8), vec = rn(256);
    if (type == 2)
        vec = 2;
    else if (type == 3 || type == 5 || type == 6)
        vec = rn(32);
    else if (type == 7)
        vec = 0;
    uint32_t info = INTR_VALID | type << 8 | vec;
    if (type == 3 && vec < 32 && has_err[vec])
        info |= INTR_ERR_VALID;
    if (!rn(8))
        info ^= 1u << rn(31); /* occasionally malformed */
    logm("inject %#x", info);
    vmw(ENTRY_INTR_INFO, info);
    vmw(ENTRY_EXC_ERR, rn(4) ? rn(0x10000) : rnd());
    vmw(ENTRY_INSN_LEN, rn(4) ? 1 + rn(15) : rn(32));
    if (type == 7 && rn(2))
        vmw(PROC_CTLS, vmread(PROC_CTLS) | (caps.proc_a1 & PROC_MTF));
}

/* ---- protections 1-3 of the header ---- */
static bool canonical(uint64_t a) { return (uint64_t)((int64_t)(a << 16) >> 16) == a; }

static bool pat_ok(uint64_t pat)
{
    for (int i = 0; i < 8; i++) {
        unsigned t = (pat >> (8 * i)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

/* SDM 26.2.2-26.2.4 for this 64-bit L1. */
static bool host_state_ok(void)
{
    uint64_t exitc = vmread(EXIT_CTLS), entryc = vmread(ENTRY_CTLS);
    bool h64 = exitc & EXIT_HOST_64;
    uint64_t cr0 = vmread(HOST_CR0), cr4 = vmread(HOST_CR4), efer = vmread(HOST_EFER);
    if ((cr0 & caps.cr0_fixed0) != caps.cr0_fixed0 || (cr0 & ~caps.cr0_fixed1))
        return false;
    if ((cr4 & caps.cr4_fixed0) != caps.cr4_fixed0 || (cr4 & ~caps.cr4_fixed1))
        return false;
    if (vmread(HOST_CR3) >> maxphy)
        return false;
    if (!canonical(vmread(HOST_SYSENTER_ESP)) || !canonical(vmread(HOST_SYSENTER_EIP)))
        return false;
    if ((exitc & EXIT_LOAD_PAT) && !pat_ok(vmread(HOST_PAT)))
        return false;
    if ((exitc & EXIT_LOAD_EFER) && ((efer & ~efer_valid) || !!(efer & EFER_LMA) != h64 ||
                                     !!(efer & EFER_LME) != h64))
        return false;
    for (uint32_t f = HOST_ES_SEL; f <= HOST_TR_SEL; f += 2)
        if (vmread(f) & 7)
            return false;
    if (!vmread(HOST_CS_SEL) || !vmread(HOST_TR_SEL) || (!vmread(HOST_SS_SEL) && !h64))
        return false;
    static const uint32_t bases[] = { HOST_FS_BASE, HOST_GS_BASE, HOST_GDTR_BASE,
                                      HOST_IDTR_BASE, HOST_TR_BASE };
    for (unsigned i = 0; i < ARRAY_SIZE(bases); i++)
        if (!canonical(vmread(bases[i])))
            return false;
    (void)entryc; /* L1 is in IA-32e mode: an IA-32e guest is allowed */
    if (!h64) /* 26.2.4: in IA-32e mode the host size must be 1 */
        return false;
    return (cr4 & CR4_PAE) && canonical(vmread(HOST_RIP));
}

static uint64_t base_of(uint32_t enc)
{
    for (unsigned i = 0; i < NFIELDS; i++)
        if (fields[i].enc == enc)
            return base_val[i];
    return 0;
}

/* Returns whether the host state is valid (after restoring rule 3's fields). */
static bool protect(void)
{
    uint64_t pin = 0;
    if (vmread_r(PIN_CTLS, &pin) == VM_OK && !(pin & PIN_PREEMPT))
        vmwrite(PIN_CTLS, pin | PIN_PREEMPT);
    if (vmread(PREEMPT_TIMER_VALUE) > WATCHDOG)
        vmwrite(PREEMPT_TIMER_VALUE, WATCHDOG);
    if (vmread(GUEST_ACTIVITY) == 3)
        vmwrite(GUEST_ACTIVITY, 0);
    if (!host_state_ok())
        return false;
    static const uint32_t prot[] = { HOST_CR3, HOST_CR4, HOST_RIP, HOST_RSP };
    for (unsigned i = 0; i < ARRAY_SIZE(prot); i++)
        vmwrite(prot[i], base_of(prot[i]));
    return true;
}

/* ---- L1 resynchronisation after each attempt ---- */
static uint64_t saved_msr[8];
static const uint32_t resync_msrs[8] = { 0x174, 0x175, 0x176, 0xc0000081, 0xc0000082,
                                         0xc0000083, 0xc0000084, 0xc0000102 };
extern uint64_t l1_cr0, l1_cr4, l1_efer, l1_pat;
static uint64_t saved_tsc_aux, saved_misc_enable, saved_mtrr_def;

static void l1_resync(void)
{
    asm volatile("lgdt %0\n\t"
                 "lidt %1\n\t"
                 "pushq %2\n\t"
                 "lea 1f(%%rip), %%rax\n\t"
                 "pushq %%rax\n\t"
                 "lretq\n"
                 "1:\n\t"
                 "mov %3, %%eax\n\t"
                 "mov %%eax, %%ds\n\t"
                 "mov %%eax, %%es\n\t"
                 "mov %%eax, %%ss\n\t"
                 "mov %%eax, %%fs\n\t"
                 "mov %%eax, %%gs\n\t"
                 :
                 : "m"(gdt_desc), "m"(idt_desc), "i"(SEL_CODE64), "i"(SEL_DATA)
                 : "rax", "memory");
    gdt[SEL_TSS >> 3] &= ~(2ull << 40); /* available again, then LTR */
    asm volatile("ltr %w0" : : "r"(SEL_TSS) : "memory");
    write_cr0(l1_cr0);
    write_cr4(l1_cr4);
    wrmsr(MSR_EFER, l1_efer);
    wrmsr(MSR_PAT, l1_pat);
    wrmsr(0x1d9, 0);
    wrmsr(MSR_FS_BASE, 0);
    wrmsr(MSR_GS_BASE, 0);
    for (unsigned i = 0; i < ARRAY_SIZE(resync_msrs); i++)
        wrmsr(resync_msrs[i], saved_msr[i]);
    wrmsr(MSR_TSC_AUX, saved_tsc_aux);
    wrmsr(0x1a0, saved_misc_enable);
    wrmsr(0x2ff, saved_mtrr_def);
    wrmsr(0x48, 0); /* IA32_SPEC_CTRL */
    write_cr8(0);
}

/* ---- one attempt ---- */
static bool valid_error(uint32_t e)
{
    return (e >= 1 && e <= 13) || (e >= 15 && e <= 20) || (e >= 22 && e <= 26) || e == 28;
}

static bool defined_reason(uint32_t b)
{
    return b <= 69 && b != 35 && b != 38 && b != 42;
}

static int forced_op = -1;

/* Enter and classify; returns true if L2 ran and exited normally. */
static bool enter_once(bool launch, bool host_ok)
{
    cur_in_l2 = 0;
    if (launch) {
        memset(&g_regs, 0, sizeof g_regs);
        g_regs.r[RAX] = forced_op >= 0 ? (unsigned)forced_op : rn(16); /* L2's instruction */
    }
    int r = vmx_enter(launch);
    l1_resync();
    if (launch)
        st.attempts++;
    else
        st.resumes++;
    if (r == VM_FAIL_INVALID) {
        st.fail_invalid++;
        return false;
    }
    if (r == VM_FAIL_VALID) {
        uint32_t e = insn_error();
        st.fail_valid[e & 31]++;
        if (!valid_error(e))
            fuzz_fail("VM%s: VMfailValid with error %u, not an SDM 30.4 error number",
                      launch ? "LAUNCH" : "RESUME", e);
        else if (!host_ok && e != 7 && e != 8)
            fuzz_fail("invalid host-state area, but VMfailValid(%u) instead of 7 or 8", e);
        else if (host_ok && e == 8)
            fuzz_fail("valid host-state area (SDM 26.2.2-26.2.4) rejected with VMfailValid(8)");
        return false;
    }
    if (r != 0) {
        fuzz_fail("VM%s fell through reporting success", launch ? "LAUNCH" : "RESUME");
        return false;
    }
    uint32_t reason = (uint32_t)vmread(EXIT_REASON);
    if (!host_ok)
        fuzz_fail("invalid host-state area, but VM entry went ahead (exit reason %#x)", reason);
    if (host_rflags_at_exit != 2)
        fuzz_fail("RFLAGS after the VM exit %#lx, want 2 (27.5.3)", host_rflags_at_exit);
    if (reason & R_ENTRY_FAIL) {
        uint32_t b = reason & 0xffff;
        if (b == 33)
            st.entry_fail33++;
        else if (b == 34)
            st.entry_fail34++;
        else
            fuzz_fail("VM-entry failure with basic reason %u (want 33 or 34)", b);
        if (reason & 0x7fff0000u)
            fuzz_fail("exit reason %#x: reserved bits set", reason);
        return false;
    }
    if ((reason & 0xffff) >= ARRAY_SIZE(st.exits) || !defined_reason(reason & 0xffff) ||
        (reason & 0x7fff0000u)) {
        fuzz_fail("VM exit with undefined reason %#x", reason);
        return false;
    }
    st.exits[reason & 0xffff]++;
    st.ok_exits++;
    return true;
}

/* ---- VMXON region and VMCS pointers ---- */
static void fuzz_vmxon(void)
{
    st.vmxon_fuzz++;
    vmxoff();
    uint64_t p;
    switch (rn(6)) {
    case 0: p = (uint64_t)vmxon_region + 1 + rn(4095); break;
    case 1: p = (uint64_t)vmxon_region | 1ull << (maxphy + rn(64 - maxphy)); break;
    case 2: p = addr_w() & ~0xfffull; break;
    case 3: /* the right page with a wrong or shadow-flagged revision */
        *(uint32_t *)vmxon_region = rn(2) ? (uint32_t)rnd() : caps.rev | 0x80000000u;
        p = (uint64_t)vmxon_region;
        break;
    case 4: p = SBP(P_SPARE); break;
    default: p = SBP(rn(P_LAST)); break;
    }
    logm("VMXON %#lx (revision word %#x)", p, *(uint32_t *)vmxon_region);
    int r = vmxon(p);
    if (r != VM_OK && r != VM_FAIL_INVALID)
        fuzz_fail("VMXON %#lx: %s (want success or VMfailInvalid)", p, vm_result_str(r));
    if (r == VM_OK)
        vmxoff();
    vmx_on_fresh();
}

static void fuzz_vmptr(void)
{
    st.ptr_fuzz++;
    uint64_t p = rn(3) ? addr_w() : rn(2) ? (uint64_t)vmxon_region : SBP(P_SPARE);
    bool clear = rn(2);
    int r = clear ? vmclear(p) : vmptrld(p);
    uint32_t e = r == VM_FAIL_VALID ? insn_error() : 0;
    bool ok = r == VM_OK || r == VM_FAIL_INVALID ||
              (r == VM_FAIL_VALID && (clear ? e == 2 || e == 3 : e == 9 || e == 10 || e == 11));
    logm("%s %#lx: %s", clear ? "VMCLEAR" : "VMPTRLD", p, vm_result_str(r));
    if (!ok)
        fuzz_fail("%s %#lx: %s", clear ? "VMCLEAR" : "VMPTRLD", p, vm_result_str(r));
}

static void fuzz_init(void)
{
    if (!(caps.pin_a1 & PIN_PREEMPT)) {
        skip("not advertised: VMX-preemption timer (the fuzzer's watchdog)");
        return;
    }
    uint32_t a, b, c, d;
    cpuid2(0x80000008, 0, &a, &b, &c, &d);
    maxphy = a & 0xff;
    cpuid2(0x80000001, 0, &a, &b, &c, &d);
    efer_valid = ((d >> 11) & 1 ? EFER_SCE : 0) | ((d >> 29) & 1 ? EFER_LME | EFER_LMA : 0) |
                 ((d >> 20) & 1 ? EFER_NXE : 0);
    for (unsigned i = 0; i < ARRAY_SIZE(resync_msrs); i++)
        saved_msr[i] = rdmsr(resync_msrs[i]);
    saved_tsc_aux = rdmsr(MSR_TSC_AUX);
    saved_misc_enable = rdmsr(0x1a0);
    saved_mtrr_def = rdmsr(0x2ff);
    memset(&st, 0, sizeof st);
    rng = fuzz_seed ? fuzz_seed : 1;

    sandbox_init();
    base_vmcs();
    snapshot_base();
    /* the base VMCS itself must run L2 to its VMCALL */
    if (!restore_base())
        return;
    bool h = protect();
    forced_op = 0; /* straight to the VMCALL */
    bool ran = enter_once(true, h);
    forced_op = -1;
    if (!ran || vmread(EXIT_REASON) != R_VMCALL) {
        fail_at(0, "the unmutated base VMCS does not run L2 to its VMCALL (exit reason %#lx)",
                vmread(EXIT_REASON));
        return;
    }
    memset(&st, 0, sizeof st);

    for (cur_iter = 0; cur_iter < fuzz_iterations && !cur.fails; cur_iter++) {
        mlog_n = 0;
        if (cur_iter % 16 == 15)
            fuzz_vmxon();
        sandbox_init();
        if (!restore_base())
            return;
        if (cur_iter % 8 == 7)
            fuzz_vmptr();
        vmptrld((uint64_t)vmcs_main);
        unsigned n = 1 + rn(4);
        for (unsigned k = 0; k < n; k++) {
            unsigned t = rn(20);
            if (t < 12)
                mutate_field();
            else if (t < 14)
                mutate_controls();
            else if (t < 15)
                mutate_injection();
            else if (t < 18)
                mutate_ept();
            else
                mutate_entry_list();
        }
        bool host_ok = protect();
        if (!host_ok)
            st.host_invalid++;
        bool ran = enter_once(true, host_ok);
        if (ran && rn(2) && !cur.fails) { /* mutate the launched VMCS, VMRESUME */
            unsigned m = 1 + rn(2);
            for (unsigned k = 0; k < m; k++)
                rn(4) ? mutate_field() : mutate_ept();
            host_ok = protect();
            enter_once(false, host_ok);
        }
        undo_ept();
    }
    unsigned exits = 0, top = 0;
    for (unsigned r = 0; r < ARRAY_SIZE(st.exits); r++) {
        exits += st.exits[r];
        if (st.exits[r] > st.exits[top])
            top = r;
    }
    printf("fuzz: seed %#lx, %u attempts + %u VMRESUMEs: %u VM exits (most: reason %u x%u), "
           "VMfailValid(7) %u, (8) %u, VMfailInvalid %u, entry failures 33: %u, 34: %u; "
           "%u VMWRITEs ok, %u refused (unsupported/read-only); %u EPT and %u MSR-list mutations; %u VMXON, "
           "%u VMCS-pointer probes\n",
           fuzz_seed, st.attempts, st.resumes, exits, top, st.exits[top], st.fail_valid[7],
           st.fail_valid[8], st.fail_invalid, st.entry_fail33, st.entry_fail34, st.vmwrite_ok,
           st.vmwrite_unsupported, st.ept_mut, st.list_mut, st.vmxon_fuzz, st.ptr_fuzz);
    if (verbose) {
        printf("fuzz: exits by reason:");
        for (unsigned r = 0; r < ARRAY_SIZE(st.exits); r++)
            if (st.exits[r])
                printf(" %u:%u", r, st.exits[r]);
        printf("\nfuzz: VMfailValid by error:");
        for (unsigned e = 0; e < ARRAY_SIZE(st.fail_valid); e++)
            if (st.fail_valid[e])
                printf(" %u:%u", e, st.fail_valid[e]);
        printf("\n");
    }
}

const struct vmx_test fuzz_tests[] = {
    { .name = "fuzz_vmcs_ept_msr_lists",
      .sdm = "26.2-26.8, 27, 28.2, 30.3: any VMCS / EPT / MSR-list / VMXON-region content ends "
             "in VMfailInvalid, VMfailValid(SDM 30.4 error), a VM-entry failure (33/34) or a VM "
             "exit, and L1 regains control",
      .init = fuzz_init },
};
const size_t n_fuzz_tests = ARRAY_SIZE(fuzz_tests);
