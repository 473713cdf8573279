/*
 * t_access.c — VM exits and virtualization of control-register, debug-
 * register, I/O and MSR accesses and of exceptions (SDM Vol.3 25.1.3,
 * 25.2, 25.3, 27.2.1 Tables 27-3/27-4/27-5, 29.3), and the MSR/EFER/PAT
 * save and load of VM entries and exits (26.4, 27.3.1, 27.4, 27.6).
 */
#include "desc.h"
#include "vmx_lib.h"

static volatile int stage;
static volatile uint64_t seen[16];

/* Exit qualification for control-register accesses (Table 27-3). */
#define CRQ(cr, type, reg) ((uint64_t)(cr) | (uint64_t)(type) << 4 | (uint64_t)(reg) << 8)
enum { CR_MOV_TO = 0, CR_MOV_FROM = 1, CR_CLTS = 2, CR_LMSW = 3 };

static bool expect_cr_exit(uint64_t qual)
{
    if (!expect_reason(R_CR))
        return false;
    CHECK(ex.qual == qual, "exit %u: CR-access qualification %#lx, want %#lx", ex.count, ex.qual, qual);
    return true;
}

/* ---- CR0 guest/host mask and read shadow ---- */
static uint64_t cr0_initial, cr0_shadow0;
static uint16_t lmsw_mem;
#define CR0_MASKED (CR0_TS | CR0_MP)

static void cr0_init(void)
{
    stage = 0;
    cr0_initial = (vmread(GUEST_CR0) | CR0_TS | CR0_MP) & ~CR0_AM;
    cr0_shadow0 = (cr0_initial | CR0_TS) & ~CR0_MP; /* L2 believes TS = 1, MP = 0 */
    vmwrite(GUEST_CR0, cr0_initial);
    vmwrite(CR0_MASK, CR0_MASKED);
    vmwrite(CR0_SHADOW, cr0_shadow0);
}

static void cr0_guest(void)
{
    uint64_t v = read_cr0();
    uint16_t msw;
    seen[0] = v;
    asm volatile("smsw %0" : "=r"(msw));
    seen[1] = msw;
    write_cr0(v ^ CR0_AM);                                        /* masked bits = shadow: no exit */
    asm volatile("mov %0, %%cr0" : : "d"(v & ~CR0_TS) : "memory"); /* exit 1 */
    asm volatile("clts" ::: "memory");                            /* exit 2 */
    asm volatile("clts" ::: "memory");                            /* shadow TS now 0: no exit */
    asm volatile("lmsw %0" : : "d"((uint16_t)(v | CR0_MP)) : "memory"); /* exit 3 */
    lmsw_mem = (uint16_t)(v | CR0_MP);
    asm volatile("lmsw %0" : : "m"(lmsw_mem) : "memory");         /* exit 4 */
}

static int cr0_exit(void)
{
    uint16_t src = (uint16_t)((cr0_shadow0 & CR0_MASKED) | (cr0_initial & ~CR0_MASKED) | CR0_MP);
    switch (stage++) {
    case 0:
        if (!expect_cr_exit(CRQ(0, CR_MOV_TO, RDX)))
            return T_DONE;
        CHECK_EQ(g_regs.r[RDX], (cr0_shadow0 & CR0_MASKED & ~CR0_TS) | (cr0_initial & ~CR0_MASKED),
                 "source register of MOV to CR0");
        break;
    case 1:
        if (!expect_cr_exit(CRQ(0, CR_CLTS, 0)))
            return T_DONE;
        vmwrite(CR0_SHADOW, cr0_shadow0 & ~CR0_TS);
        break;
    case 2:
        if (!expect_cr_exit(CRQ(0, CR_LMSW, 0) | (uint64_t)src << 16))
            return T_DONE;
        break;
    case 3:
        if (!expect_cr_exit(CRQ(0, CR_LMSW, 0) | 1u << 6 | (uint64_t)src << 16))
            return T_DONE;
        CHECK_EQ(ex.gla, (uint64_t)&lmsw_mem, "guest-linear address of the LMSW memory operand");
        break;
    default:
        return unexpected_exit();
    }
    skip_insn();
    return T_RESUME;
}

static void cr0_check(void)
{
    uint64_t want = (cr0_initial & ~CR0_MASKED) | (cr0_shadow0 & CR0_MASKED);
    CHECK_EQ(seen[0], want, "MOV from CR0 in L2 (masked bits from the read shadow)");
    CHECK_EQ(seen[1], want & 0xffff, "SMSW in L2");
    uint64_t g = vmread(GUEST_CR0);
    CHECK_EQ(g & CR0_AM, (cr0_initial ^ CR0_AM) & CR0_AM, "unmasked CR0.AM written by L2");
    CHECK_EQ(g & CR0_MASKED, cr0_initial & CR0_MASKED, "masked CR0 bits (TS, MP) kept by L2's writes");
    CHECK_EQ(stage, 4, "number of CR0 exits");
}

/* ---- CR4 guest/host mask and read shadow ---- */
static uint64_t cr4_initial;
static void cr4_init(void)
{
    stage = 0;
    cr4_initial = vmread(GUEST_CR4) & ~(1ul << 2);
    vmwrite(GUEST_CR4, cr4_initial);
    vmwrite(CR4_MASK, CR4_VMXE);
    vmwrite(CR4_SHADOW, cr4_initial & ~CR4_VMXE);
}

static void cr4_guest(void)
{
    uint64_t v = read_cr4();
    seen[0] = v;
    write_cr4(v | (1ul << 2));                                         /* TSD, unmasked: no exit */
    asm volatile("mov %0, %%cr4" : : "a"(v | CR4_VMXE) : "memory");    /* exit */
}

static int cr4_exit(void)
{
    if (stage++ == 0) {
        if (!expect_cr_exit(CRQ(4, CR_MOV_TO, RAX)))
            return T_DONE;
        skip_insn();
        return T_RESUME;
    }
    return unexpected_exit();
}

static void cr4_check(void)
{
    CHECK_EQ(seen[0], cr4_initial & ~CR4_VMXE, "MOV from CR4 in L2 (VMXE from the read shadow)");
    uint64_t g = vmread(GUEST_CR4);
    CHECK(g & (1ul << 2), "unmasked CR4.TSD not written by L2 (guest CR4 %#lx)", g);
    CHECK(g & CR4_VMXE, "masked CR4.VMXE changed by L2 (guest CR4 %#lx)", g);
    CHECK_EQ(stage, 1, "number of exits");
}

/* ---- CR3-load/-store exiting and CR3-target values ---- */
static void cr3_init(void)
{
    stage = 0;
    want_proc(PROC_CR3_LOAD | PROC_CR3_STORE);
    vmwrite(CR3_TARGET_COUNT, 0);
}

static void cr3_guest(void)
{
    uint64_t v;
    asm volatile("mov %%cr3, %0" : "=S"(v));                              /* exit: store */
    seen[0] = v;
    asm volatile("mov %0, %%cr3" : : "d"((uint64_t)l2_pml4) : "memory");  /* exit: load */
    l2_vmcall(1, 0);                                                      /* L1: 1 target */
    asm volatile("mov %0, %%cr3" : : "d"((uint64_t)l2_pml4) : "memory");  /* target 0: no exit */
    asm volatile("mov %0, %%cr3" : : "d"((uint64_t)pml4) : "memory");     /* exit */
    l2_vmcall(2, 0);                                                      /* L1: 2 targets */
    asm volatile("mov %0, %%cr3" : : "d"((uint64_t)pml4) : "memory");     /* target 1: no exit */
}

static int cr3_exit(void)
{
    switch (stage++) {
    case 0:
        if (!expect_cr_exit(CRQ(3, CR_MOV_FROM, RSI)))
            return T_DONE;
        g_regs.r[RSI] = 0xabc000;
        break;
    case 1:
        if (!expect_cr_exit(CRQ(3, CR_MOV_TO, RDX)))
            return T_DONE;
        CHECK_EQ(g_regs.r[RDX], (uint64_t)l2_pml4, "MOV to CR3 source");
        break;
    case 2:
        if (!expect_reason(R_VMCALL))
            return T_DONE;
        vmwrite(CR3_TARGET_COUNT, 1);
        vmwrite(CR3_TARGET0, (uint64_t)l2_pml4);
        break;
    case 3:
        if (!expect_cr_exit(CRQ(3, CR_MOV_TO, RDX)))
            return T_DONE;
        CHECK_EQ(g_regs.r[RDX], (uint64_t)pml4, "MOV to CR3 source (not a target)");
        break;
    case 4:
        if (!expect_reason(R_VMCALL))
            return T_DONE;
        vmwrite(CR3_TARGET_COUNT, 2);
        vmwrite(CR3_TARGET1, (uint64_t)pml4);
        break;
    default:
        return unexpected_exit();
    }
    skip_insn();
    return T_RESUME;
}

static void cr3_check(void)
{
    CHECK_EQ(seen[0], 0xabc000, "MOV from CR3 result supplied by L1");
    CHECK_EQ(vmread(GUEST_CR3), (uint64_t)pml4, "guest CR3 after the non-exiting loads");
    CHECK_EQ(stage, 5, "number of exits");
}

/* ---- CR8 exiting ---- */
static void cr8_init(void)
{
    stage = 0;
    want_proc(PROC_CR8_LOAD | PROC_CR8_STORE);
}

static void cr8_guest(void)
{
    uint64_t v;
    asm volatile("mov %0, %%cr8" : : "d"(7ul) : "memory");
    asm volatile("mov %%cr8, %0" : "=S"(v));
    seen[0] = v;
}

static int cr8_exit(void)
{
    switch (stage++) {
    case 0:
        if (!expect_cr_exit(CRQ(8, CR_MOV_TO, RDX)))
            return T_DONE;
        CHECK_EQ(g_regs.r[RDX], 7, "MOV to CR8 source");
        break;
    case 1:
        if (!expect_cr_exit(CRQ(8, CR_MOV_FROM, RSI)))
            return T_DONE;
        g_regs.r[RSI] = 9;
        break;
    default:
        return unexpected_exit();
    }
    skip_insn();
    return T_RESUME;
}

static void cr8_check(void)
{
    CHECK_EQ(seen[0], 9, "MOV from CR8 result supplied by L1");
    CHECK_EQ(lapic_read(0x80), 0, "L1's real TPR touched by L2's MOV to CR8");
}

/* ---- TPR shadow (29.3): CR8 accesses use VTPR in the virtual-APIC page ---- */
static void tpr_init(void)
{
    stage = 0;
    if (!want_proc(PROC_TPR_SHADOW))
        return;
    vapic_page[0x80] = 0x50;
    vmwrite(VIRT_APIC_PAGE, (uint64_t)vapic_page);
    vmwrite(TPR_THRESHOLD, 0);
}

static void tpr_guest(void)
{
    uint64_t v;
    asm volatile("mov %%cr8, %0" : "=r"(v));
    seen[0] = v;
    asm volatile("mov %0, %%cr8" : : "r"(3ul) : "memory");
    seen[1] = *(volatile uint32_t *)(vapic_page + 0x80);
    asm volatile("mov %%cr8, %0" : "=r"(v));
    seen[2] = v;
}

static void tpr_check(void)
{
    CHECK_EQ(seen[0], 5, "MOV from CR8 = VTPR[7:4]");
    CHECK_EQ(seen[1], 0x30, "VTPR after MOV to CR8 (bits 7:4 = source, rest cleared)");
    CHECK_EQ(seen[2], 3, "MOV from CR8 after the write");
    CHECK_EQ(lapic_read(0x80), 0, "L1's real TPR touched");
}

/* ---- TPR threshold: a VTPR write below it exits after the instruction ---- */
extern char s_tpr_write[], s_tpr_write_end[];
asm(".pushsection .text\ns_tpr_write:\n\tmov $3, %eax\n\tmov %rax, %cr8\ns_tpr_write_end:\n\tret\n.popsection");

static void tpr_thr_init(void)
{
    stage = 0;
    if (!want_proc(PROC_TPR_SHADOW))
        return;
    vapic_page[0x80] = 0x50;
    vmwrite(TPR_THRESHOLD, 4);
}

static void tpr_thr_guest(void) { ((void (*)(void))s_tpr_write)(); }

static int tpr_thr_exit(void)
{
    if (stage++ == 0) {
        if (!expect_reason(R_TPR_BELOW))
            return T_DONE;
        CHECK_EQ(ex.rip, (uint64_t)s_tpr_write_end, "guest RIP after the MOV to CR8 (trap-like)");
        CHECK_EQ(vapic_page[0x80], 0x30, "VTPR at the exit");
        vmwrite(TPR_THRESHOLD, 0);
        return T_RESUME;
    }
    return unexpected_exit();
}

/* ---- MOV DR (Table 27-4) ---- */
static void dr_init(void)
{
    stage = 0;
    want_proc(PROC_MOV_DR);
}

static void dr_guest(void)
{
    uint64_t v;
    asm volatile("mov %%dr7, %0" : "=S"(v));
    seen[0] = v;
    asm volatile("mov %0, %%dr0" : : "d"(0x1234ul) : "memory");
}

static int dr_exit(void)
{
    switch (stage++) {
    case 0:
        if (!expect_reason(R_DR))
            return T_DONE;
        CHECK_EQ(ex.qual, 7 | 1u << 4 | RSI << 8, "MOV from DR7 qualification");
        g_regs.r[RSI] = 0x4711;
        break;
    case 1:
        if (!expect_reason(R_DR))
            return T_DONE;
        CHECK_EQ(ex.qual, 0 | RDX << 8, "MOV to DR0 qualification");
        CHECK_EQ(g_regs.r[RDX], 0x1234, "MOV to DR0 source");
        break;
    default:
        return unexpected_exit();
    }
    skip_insn();
    return T_RESUME;
}

static void dr_check(void) { CHECK_EQ(seen[0], 0x4711, "MOV from DR7 result supplied by L1"); }

/* ---- I/O instructions (Table 27-5) ---- */
#define IOQ(size, in, str, rep, imm, port)                                                  \
    ((uint64_t)((size) - 1) | (uint64_t)(in) << 3 | (uint64_t)(str) << 4 |                 \
     (uint64_t)(rep) << 5 | (uint64_t)(imm) << 6 | (uint64_t)(port) << 16)
static uint8_t io_buf[16];

static void io_uncond_init(void)
{
    stage = 0;
    want_proc(PROC_UNCOND_IO);
}

static void io_uncond_guest(void)
{
    uint32_t v;
    asm volatile("outb %%al, $0x80" : : "a"(0x5a));
    asm volatile("inl %%dx, %%eax" : "=a"(v) : "d"(0x5f0));
    seen[0] = v;
    uint16_t w;
    asm volatile("inw %%dx, %%ax" : "=a"(w) : "d"(0x5f2));
    seen[1] = w;
    asm volatile("outl %%eax, $0xf0" : : "a"(0x11223344));
}

static int io_check_exit(uint64_t qual)
{
    if (!expect_reason(R_IO))
        return T_DONE;
    CHECK(ex.qual == qual, "exit %u: I/O qualification %#lx, want %#lx", ex.count, ex.qual, qual);
    skip_insn();
    return T_RESUME;
}

static int io_uncond_exit(void)
{
    switch (stage++) {
    case 0:
        CHECK_EQ(g_regs.r[RAX] & 0xff, 0x5a, "OUT data in AL");
        CHECK_EQ(ex.len, 2, "OUT imm8 instruction length");
        return io_check_exit(IOQ(1, 0, 0, 0, 1, 0x80));
    case 1:
        g_regs.r[RAX] = 0x87654321;
        CHECK_EQ(ex.len, 1, "IN eax, dx instruction length");
        return io_check_exit(IOQ(4, 1, 0, 0, 0, 0x5f0));
    case 2:
        g_regs.r[RAX] = (g_regs.r[RAX] & ~0xfffful) | 0xbeef;
        CHECK_EQ(ex.len, 2, "IN ax, dx instruction length");
        return io_check_exit(IOQ(2, 1, 0, 0, 0, 0x5f2));
    case 3:
        CHECK_EQ(g_regs.r[RAX] & 0xffffffff, 0x11223344, "OUT data in EAX");
        return io_check_exit(IOQ(4, 0, 0, 0, 1, 0xf0));
    default:
        return unexpected_exit();
    }
}

static void io_uncond_check(void)
{
    CHECK_EQ(seen[0], 0x87654321, "IN result supplied by L1");
    CHECK_EQ(seen[1], 0xbeef, "16-bit IN result supplied by L1");
}

/* string I/O: REP OUTSB / REP INSW; guest-linear address and INS/OUTS info */
static void io_string_guest(void)
{
    void *p = io_buf;
    uint64_t n = 3;
    asm volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(0x5f1) : "memory");
    p = io_buf + 4;
    n = 2;
    asm volatile("rep insw" : "+D"(p), "+c"(n) : "d"(0x5f2) : "memory");
    asm volatile("fs outsb" : "+S"(p) : "d"(0x5f3) : "memory");
}

static int io_string_exit(void)
{
    bool info = caps.basic & (1ull << 54);
    switch (stage++) {
    case 0:
        CHECK_EQ(ex.gla, (uint64_t)io_buf, "guest-linear address of OUTS (DS:RSI)");
        CHECK_EQ(g_regs.r[RCX], 3, "RCX at the REP OUTSB exit");
        if (info)
            CHECK_EQ(ex.insn_info & (II_ASIZE_MASK | II_SEG_MASK), II_ASIZE64 | (3u << 15),
                     "INS/OUTS instruction information (64-bit address, DS)");
        return io_check_exit(IOQ(1, 0, 1, 1, 0, 0x5f1));
    case 1:
        CHECK_EQ(ex.gla, (uint64_t)io_buf + 4, "guest-linear address of INS (ES:RDI)");
        if (info)
            CHECK_EQ(ex.insn_info & II_ASIZE_MASK, II_ASIZE64, "INS address size");
        return io_check_exit(IOQ(2, 1, 1, 1, 0, 0x5f2));
    case 2:
        if (info)
            CHECK_EQ(ex.insn_info & (II_ASIZE_MASK | II_SEG_MASK), II_ASIZE64 | (4u << 15),
                     "OUTS with FS override: segment 4");
        return io_check_exit(IOQ(1, 0, 1, 0, 0, 0x5f3));
    default:
        return unexpected_exit();
    }
}

/* I/O bitmaps (25.1.3): A covers 0000-7FFF, B covers 8000-FFFF */
static void io_bitmap_init(void)
{
    stage = 0;
    if (!want_proc(PROC_IO_BITMAPS | PROC_UNCOND_IO))
        return;
    io_bitmap_a[0x5f0 / 8] |= 1 << (0x5f0 % 8);
    io_bitmap_b[(0x8004 - 0x8000) / 8] |= 1 << (0x8004 % 8);
}

static void io_bitmap_guest(void)
{
    uint8_t b;
    asm volatile("inb %%dx, %%al" : "=a"(b) : "d"(0x5f1));            /* bit clear: no exit */
    asm volatile("outb %%al, %%dx" : : "a"(1), "d"(0x5f0));          /* exit 0 */
    asm volatile("outw %%ax, %%dx" : : "a"(1), "d"(0x5ef));          /* 5ef-5f0: exit 1 */
    asm volatile("inb %%dx, %%al" : "=a"(b) : "d"(0x8005));           /* no exit */
    asm volatile("inb %%dx, %%al" : "=a"(b) : "d"(0x8004));           /* exit 2 */
    uint16_t w;
    asm volatile("inw %%dx, %%ax" : "=a"(w) : "d"(0xffff));           /* wraps: exit 3 */
}

static int io_bitmap_exit(void)
{
    switch (stage++) {
    case 0: return io_check_exit(IOQ(1, 0, 0, 0, 0, 0x5f0));
    case 1: return io_check_exit(IOQ(2, 0, 0, 0, 0, 0x5ef));
    case 2: return io_check_exit(IOQ(1, 1, 0, 0, 0, 0x8004));
    case 3: return io_check_exit(IOQ(2, 1, 0, 0, 0, 0xffff));
    default:
        return unexpected_exit();
    }
}

/* ---- RDMSR/WRMSR ---- */
static void msr_nobitmap_init(void) { stage = 0; }

static void msr_nobitmap_guest(void)
{
    seen[0] = rdmsr(MSR_SYSENTER_CS);
    wrmsr(MSR_KERNEL_GS_BASE, 0x123456789abcull);
}

static int msr_nobitmap_exit(void)
{
    switch (stage++) {
    case 0:
        if (!expect_reason(R_RDMSR))
            return T_DONE;
        CHECK_EQ(g_regs.r[RCX] & 0xffffffff, MSR_SYSENTER_CS, "ECX at the RDMSR exit");
        g_regs.r[RAX] = 0x55667788;
        g_regs.r[RDX] = 0x11223344;
        break;
    case 1:
        if (!expect_reason(R_WRMSR))
            return T_DONE;
        CHECK_EQ(g_regs.r[RCX] & 0xffffffff, MSR_KERNEL_GS_BASE, "ECX at the WRMSR exit");
        CHECK_EQ(g_regs.r[RAX] & 0xffffffff, 0x56789abc, "EAX at the WRMSR exit");
        CHECK_EQ(g_regs.r[RDX] & 0xffffffff, 0x1234, "EDX at the WRMSR exit");
        break;
    default:
        return unexpected_exit();
    }
    CHECK_EQ(ex.len, 2, "RDMSR/WRMSR instruction length");
    skip_insn();
    return T_RESUME;
}

static void msr_nobitmap_check(void)
{
    CHECK_EQ(seen[0], 0x1122334455667788ull, "RDMSR result supplied by L1");
    CHECK(rdmsr(MSR_KERNEL_GS_BASE) != 0x123456789abcull, "L2's WRMSR reached the real MSR");
}

static void msr_bit(int base, uint32_t msr)
{
    uint32_t i = msr & 0x1fff;
    msr_bitmap[base + i / 8] |= (uint8_t)(1 << (i % 8));
}

static void msr_bitmap_init(void)
{
    stage = 0;
    if (!want_proc(PROC_MSR_BITMAPS))
        return;
    msr_bit(0x000, 0x10);                /* read low: TSC */
    msr_bit(0x400, MSR_LSTAR);           /* read high */
    msr_bit(0x800, MSR_SYSENTER_EIP);    /* write low */
    msr_bit(0xc00, MSR_KERNEL_GS_BASE);  /* write high */
    vmwrite(GUEST_SYSENTER_CS, 0x5a);
}

static void msr_bitmap_guest(void)
{
    seen[0] = rdmsr(MSR_SYSENTER_CS);         /* no exit: guest value */
    seen[1] = rdmsr(0x10);                    /* exit 0 */
    seen[2] = rdmsr(MSR_EFER);                /* no exit */
    seen[3] = rdmsr(MSR_LSTAR);               /* exit 1 */
    wrmsr(MSR_SYSENTER_CS, 0x77);             /* no exit */
    wrmsr(MSR_SYSENTER_EIP, 0x1234);          /* exit 2 */
    wrmsr(MSR_KERNEL_GS_BASE, 0x5678);        /* exit 3 */
    seen[4] = rdmsr(0x40000000);              /* outside the ranges: exit 4 */
    seen[5] = rdmsr(0xc0002000);              /* exit 5 */
}

static int msr_bitmap_exit(void)
{
    static const struct { uint32_t reason, msr; } want[] = {
        { R_RDMSR, 0x10 }, { R_RDMSR, MSR_LSTAR }, { R_WRMSR, MSR_SYSENTER_EIP },
        { R_WRMSR, MSR_KERNEL_GS_BASE }, { R_RDMSR, 0x40000000 }, { R_RDMSR, 0xc0002000 },
    };
    int s = stage++;
    if (s >= (int)ARRAY_SIZE(want)) {
        return unexpected_exit();
    }
    if (!expect_reason(want[s].reason))
        return T_DONE;
    CHECK_EQ(g_regs.r[RCX] & 0xffffffff, want[s].msr, "ECX at the MSR exit");
    if (want[s].reason == R_RDMSR) {
        g_regs.r[RAX] = 0x1000 + s;
        g_regs.r[RDX] = 0;
    }
    skip_insn();
    return T_RESUME;
}

static void msr_bitmap_check(void)
{
    CHECK_EQ(seen[0], 0x5a, "RDMSR IA32_SYSENTER_CS without exit (guest-state value)");
    CHECK_EQ(seen[1], 0x1000, "RDMSR TSC emulated by L1");
    CHECK_EQ(seen[2], vmread(GUEST_EFER), "RDMSR IA32_EFER without exit");
    CHECK_EQ(seen[3], 0x1001, "RDMSR LSTAR emulated by L1");
    CHECK_EQ(seen[4], 0x1004, "RDMSR 40000000H emulated by L1");
    CHECK_EQ(seen[5], 0x1005, "RDMSR C0002000H emulated by L1");
    CHECK_EQ(vmread(GUEST_SYSENTER_CS), 0x77, "guest IA32_SYSENTER_CS saved at VM exit");
    CHECK_EQ(stage, 6, "number of exits");
}

/* ---- exception bitmap (25.2) ---- */
extern char s_ud2[], s_ud2_insn[], s_int3[], s_int3_insn[], s_int3_end[], s_badsel[], s_badsel_insn[];
asm(".pushsection .text\n"
    "s_ud2:\ns_ud2_insn:\n\tud2\n\tret\n"
    "s_int3:\ns_int3_insn:\n\tint3\ns_int3_end:\n\tret\n"
    "s_badsel:\n\tmov $0x1238, %eax\ns_badsel_insn:\n\tmov %eax, %ds\n\tret\n"
    ".popsection");

static void exc_init(void)
{
    stage = 0;
    vmwrite(EXC_BITMAP, 1u << 6 | 1u << 3 | 1u << 13);
}

static void exc_guest(void)
{
    ((void (*)(void))s_ud2)();
    ((void (*)(void))s_int3)();
    ((void (*)(void))s_badsel)();
}

static int exc_exit(void)
{
    switch (stage++) {
    case 0:
        if (!expect_reason(R_EXCEPTION))
            return T_DONE;
        CHECK_EQ(ex.intr_info, INTR_VALID | INTR_TYPE_HW_EXC | 6, "#UD interruption information");
        CHECK_EQ(ex.rip, (uint64_t)s_ud2_insn, "guest RIP at UD2");
        vmwrite(GUEST_RIP, ex.rip + 2);
        return T_RESUME;
    case 1:
        if (!expect_reason(R_EXCEPTION))
            return T_DONE;
        CHECK_EQ(ex.intr_info, INTR_VALID | INTR_TYPE_SOFT_EXC | 3, "INT3 interruption information");
        CHECK_EQ(ex.rip, (uint64_t)s_int3_insn, "guest RIP at INT3");
        CHECK_EQ(ex.len, (uint64_t)(s_int3_end - s_int3_insn), "INT3 VM-exit instruction length");
        vmwrite(GUEST_RIP, ex.rip + 1);
        return T_RESUME;
    case 2:
        if (!expect_reason(R_EXCEPTION))
            return T_DONE;
        CHECK_EQ(ex.intr_info, INTR_VALID | INTR_ERR_VALID | INTR_TYPE_HW_EXC | 13,
                 "#GP interruption information");
        CHECK_EQ(ex.intr_err, 0x1238, "#GP error code (selector)");
        CHECK_EQ(ex.rip, (uint64_t)s_badsel_insn, "guest RIP at the faulting MOV DS");
        vmwrite(GUEST_RIP, ex.rip + 2);
        return T_RESUME;
    default:
        return unexpected_exit();
    }
}

/* #PF with PFEC_MASK / PFEC_MATCH: four cases, each a write to a page that
 * is not present in L2's page table (error code 2: W, not P). */
static const struct { uint32_t bit14, mask, match; bool exits; } pf_cases[] = {
    { 1, 0, 0, true },     /* (2 & 0) == 0 → exit */
    { 1, 2, 0, false },    /* (2 & 2) != 0 → delivered to L2 */
    { 0, 2, 2, false },    /* bit 14 clear: exit iff != ; equal → delivered */
    { 0, 2, 0, true },     /* != → exit */
};
static volatile int pf_case, pf_in_l2, pf_exits;

static bool pf_hook(struct frame *f)
{
    if (f->vec != 14)
        return false;
    pf_in_l2++;
    seen[8] = f->err;
    seen[9] = read_cr2();
    l2_pt_ta[2] |= PTE_P;
    invlpg(TA_PAGE(2));
    return true;
}

static void pf_init(void)
{
    stage = 0;
    pf_case = pf_in_l2 = pf_exits = 0;
    l2_event_hook = pf_hook;
}

static void pf_guest(void)
{
    for (unsigned i = 0; i < ARRAY_SIZE(pf_cases); i++) {
        l2_vmcall(1, i); /* L1 programs the case */
        l2_pt_ta[2] &= ~PTE_P;
        invlpg(TA_PAGE(2));
        write_cr2(0xc2c2000 + i);
        int before_l2 = pf_in_l2;
        *(volatile uint32_t *)(TA_PAGE(2) + 0x10) = 0xf00 + i;
        seen[i] = pf_in_l2 - before_l2; /* 1: delivered to L2 */
    }
}

static int pf_exit(void)
{
    if (ex.reason == R_VMCALL && g_regs.r[RAX] == 1) {
        unsigned i = (unsigned)g_regs.r[RDI];
        pf_case = (int)i;
        vmwrite(EXC_BITMAP, pf_cases[i].bit14 << 14);
        vmwrite(PFEC_MASK, pf_cases[i].mask);
        vmwrite(PFEC_MATCH, pf_cases[i].match);
        skip_insn();
        return T_RESUME;
    }
    if (!expect_reason(R_EXCEPTION))
        return T_DONE;
    pf_exits++;
    CHECK(pf_cases[pf_case].exits, "case %d: #PF caused a VM exit, should go to L2", pf_case);
    CHECK_EQ(ex.intr_info, INTR_VALID | INTR_ERR_VALID | INTR_TYPE_HW_EXC | 14, "#PF interruption info");
    CHECK_EQ(ex.intr_err, 2, "#PF error code (write, not present)");
    CHECK_EQ(ex.qual, TA_PAGE(2) + 0x10, "exit qualification = faulting linear address");
    CHECK_EQ(read_cr2(), 0xc2c2000 + pf_case, "CR2 changed by a #PF that caused a VM exit");
    l2_pt_ta[2] |= PTE_P; /* fix and retry the write */
    return T_RESUME;
}

static void pf_check(void)
{
    for (unsigned i = 0; i < ARRAY_SIZE(pf_cases); i++)
        CHECK(seen[i] == (pf_cases[i].exits ? 0u : 1u), "case %u (bit14 %u mask %u match %u): "
              "%s", i, pf_cases[i].bit14, pf_cases[i].mask, pf_cases[i].match,
              pf_cases[i].exits ? "delivered to L2 instead of a VM exit" : "no #PF in L2");
    CHECK_EQ(seen[8], 2, "#PF error code seen by L2");
    CHECK_EQ(seen[9], TA_PAGE(2) + 0x10, "CR2 seen by L2's #PF handler");
    CHECK_EQ(pf_exits, 2, "number of #PF VM exits");
}

/* ---- IA32_EFER / IA32_PAT load and save ---- */
#define PAT_GUEST 0x0606060606060606ull
#define PAT_GUEST2 0x0007040600070406ull
#define PAT_HOST 0x0007010600070106ull
static uint64_t efer_guest0, efer_host;

static void efer_pat_init(void)
{
    stage = 0;
    if (!want_entry(ENTRY_LOAD_EFER | ENTRY_LOAD_PAT) ||
        !want_exit(EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT) ||
        !want_proc(PROC_MSR_BITMAPS))
        return;
    efer_guest0 = rdmsr(MSR_EFER) ^ EFER_SCE;
    efer_host = rdmsr(MSR_EFER) ^ EFER_SCE; /* host value differs from L1's current one */
    vmwrite(GUEST_EFER, efer_guest0);
    vmwrite(HOST_EFER, efer_host);
    vmwrite(GUEST_PAT, PAT_GUEST);
    vmwrite(HOST_PAT, PAT_HOST);
}

static void efer_pat_guest(void)
{
    seen[0] = rdmsr(MSR_EFER);
    seen[1] = rdmsr(MSR_PAT);
    wrmsr(MSR_EFER, seen[0] ^ EFER_SCE);
    wrmsr(MSR_PAT, PAT_GUEST2);
}

static void efer_pat_check(void)
{
    CHECK_EQ(seen[0], efer_guest0, "IA32_EFER in L2 (loaded by VM entry)");
    CHECK_EQ(seen[1], PAT_GUEST, "IA32_PAT in L2 (loaded by VM entry)");
    CHECK_EQ(vmread(GUEST_EFER), efer_guest0 ^ EFER_SCE, "guest IA32_EFER saved by VM exit");
    CHECK_EQ(vmread(GUEST_PAT), PAT_GUEST2, "guest IA32_PAT saved by VM exit");
    CHECK_EQ(rdmsr(MSR_EFER), efer_host, "L1's IA32_EFER loaded from the host-state area");
    CHECK_EQ(rdmsr(MSR_PAT), PAT_HOST, "L1's IA32_PAT loaded from the host-state area");
}

/* ---- VM-entry MSR-load, VM-exit MSR-store and MSR-load lists ---- */
static void msr_lists_init(void)
{
    if (!want_proc(PROC_MSR_BITMAPS))
        return;
    memset(msr_list_entry, 0, sizeof msr_list_entry);
    msr_list_entry[0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, 0x1111000 };
    msr_list_entry[1] = (struct msr_entry){ MSR_STAR, 0, 0x0023001000000000ull };
    msr_list_store[0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, 0 };
    msr_list_store[1] = (struct msr_entry){ MSR_STAR, 0, 0 };
    msr_list_exit[0] = (struct msr_entry){ MSR_KERNEL_GS_BASE, 0, 0x3333000 };
    vmwrite(ENTRY_MSR_LOAD_COUNT, 2);
    vmwrite(EXIT_MSR_STORE_COUNT, 2);
    vmwrite(EXIT_MSR_LOAD_COUNT, 1);
    wrmsr(MSR_KERNEL_GS_BASE, 0x9999000);
}

static void msr_lists_guest(void)
{
    seen[0] = rdmsr(MSR_KERNEL_GS_BASE);
    seen[1] = rdmsr(MSR_STAR);
    wrmsr(MSR_KERNEL_GS_BASE, 0x2222000);
}

static void msr_lists_check(void)
{
    CHECK_EQ(seen[0], 0x1111000, "IA32_KERNEL_GS_BASE in L2 (VM-entry MSR-load list)");
    CHECK_EQ(seen[1], 0x0023001000000000ull, "IA32_STAR in L2 (VM-entry MSR-load list)");
    CHECK_EQ(msr_list_store[0].value, 0x2222000, "VM-exit MSR-store list entry 0");
    CHECK_EQ(msr_list_store[1].value, 0x0023001000000000ull, "VM-exit MSR-store list entry 1");
    CHECK_EQ(rdmsr(MSR_KERNEL_GS_BASE), 0x3333000, "L1's MSR after the VM-exit MSR-load list");
    wrmsr(MSR_STAR, 0);
}

const struct vmx_test access_tests[] = {
    { .name = "cr0_shadow",
      .sdm = "25.3: MOV from CR0/SMSW return the read shadow for bits set in the guest/host "
             "mask; 25.1.3: MOV to CR0 exits if a masked bit differs from the shadow, CLTS if TS "
             "is 1 in mask and shadow, LMSW per Table 27-3 (type 3, source in bits 31:16)",
      .init = cr0_init, .guest = cr0_guest, .exit_handler = cr0_exit, .check = cr0_check },
    { .name = "cr4_shadow",
      .sdm = "25.3: MOV from CR4 returns the shadow in masked bits; 25.1.3: MOV to CR4 exits if "
             "a masked bit differs from the shadow; unmasked bits are written",
      .init = cr4_init, .guest = cr4_guest, .exit_handler = cr4_exit, .check = cr4_check },
    { .name = "cr3_load_store_targets",
      .sdm = "25.1.3: MOV to CR3 exits if 'CR3-load exiting' is 1 unless the source equals one "
             "of the first n CR3-target values; MOV from CR3 exits if 'CR3-store exiting' is 1",
      .init = cr3_init, .guest = cr3_guest, .exit_handler = cr3_exit, .check = cr3_check },
    { .name = "cr8_exits",
      .sdm = "25.1.3: MOV to/from CR8 exit if 'CR8-load exiting' / 'CR8-store exiting' is 1 "
             "(Table 27-3: CR number 8)",
      .init = cr8_init, .guest = cr8_guest, .exit_handler = cr8_exit, .check = cr8_check },
    { .name = "tpr_shadow_cr8",
      .sdm = "29.3: with 'use TPR shadow', MOV from CR8 loads VTPR[7:4]; MOV to CR8 stores "
             "source[3:0] in VTPR[7:4] and clears VTPR[3:0] and bytes 3:1",
      .init = tpr_init, .guest = tpr_guest, .check = tpr_check },
    { .name = "tpr_below_threshold",
      .sdm = "29.1.2: after a MOV to CR8 that reduces VTPR[7:4] below TPR threshold[3:0], a "
             "trap-like VM exit with reason 43 occurs",
      .init = tpr_thr_init, .guest = tpr_thr_guest, .exit_handler = tpr_thr_exit },
    { .name = "mov_dr_exit",
      .sdm = "25.1.3: MOV DR exits if 'MOV-DR exiting' is 1; Table 27-4: DR number 2:0, "
             "direction bit 4 (1 = from DR), register 11:8",
      .init = dr_init, .guest = dr_guest, .exit_handler = dr_exit, .check = dr_check },
    { .name = "io_unconditional",
      .sdm = "25.1.3: IN/OUT exit if 'unconditional I/O exiting' is 1; Table 27-5: size-1 in "
             "2:0, direction bit 3, operand encoding bit 6, port 31:16",
      .init = io_uncond_init, .guest = io_uncond_guest, .exit_handler = io_uncond_exit,
      .check = io_uncond_check },
    { .name = "io_string_rep",
      .sdm = "Table 27-5: bit 4 string, bit 5 REP; 27.2.1: guest-linear address = DS:RSI (OUTS) "
             "or ES:RDI (INS); Table 27-8: address size 9:7, segment 17:15",
      .init = io_uncond_init, .guest = io_string_guest, .exit_handler = io_string_exit },
    { .name = "io_bitmaps",
      .sdm = "25.1.3: with 'use I/O bitmaps', an I/O instruction exits if any bit for the ports "
             "it accesses is 1 (A: 0-7FFF, B: 8000-FFFF) or if the access wraps around; "
             "'unconditional I/O exiting' is then ignored",
      .init = io_bitmap_init, .guest = io_bitmap_guest, .exit_handler = io_bitmap_exit },
    { .name = "msr_exits_no_bitmap",
      .sdm = "25.1.3: if 'use MSR bitmaps' is 0, every RDMSR (31) and WRMSR (32) causes a VM exit",
      .init = msr_nobitmap_init, .guest = msr_nobitmap_guest, .exit_handler = msr_nobitmap_exit,
      .check = msr_nobitmap_check },
    { .name = "msr_bitmaps",
      .sdm = "24.6.9/25.1.3: read bitmaps for low (0-1FFF) / high (C0000000-C0001FFF) MSRs at "
             "offsets 0/1024, write bitmaps at 2048/3072; ECX outside both ranges always exits",
      .init = msr_bitmap_init, .guest = msr_bitmap_guest, .exit_handler = msr_bitmap_exit,
      .check = msr_bitmap_check },
    { .name = "exception_bitmap",
      .sdm = "25.2: an exception whose bit is 1 in the exception bitmap causes a VM exit; 27.2.2: "
             "interruption info type 3 (hardware) / 6 (software: INT3) and error code",
      .init = exc_init, .guest = exc_guest, .exit_handler = exc_exit },
    { .name = "pf_mask_match",
      .sdm = "25.2: if bit 14 is 1, a #PF exits iff (PFEC & PFEC_MASK) = PFEC_MATCH; if 0, iff "
             "they differ; 27.1: CR2 is not loaded by a #PF that causes a VM exit, the exit "
             "qualification holds the linear address",
      .init = pf_init, .guest = pf_guest, .exit_handler = pf_exit, .check = pf_check },
    { .name = "efer_pat_load_save",
      .sdm = "26.3.2.1: 'load IA32_EFER/PAT' load the guest fields; 27.3.1: 'save IA32_EFER/"
             "PAT' save them; 27.5.1: 'load IA32_EFER/PAT' load the host fields",
      .init = efer_pat_init, .guest = efer_pat_guest, .check = efer_pat_check },
    { .name = "msr_load_store_lists",
      .sdm = "26.4: VM entry loads MSRs from the VM-entry MSR-load area; 27.4: VM exit stores "
             "MSRs to the VM-exit MSR-store area; 27.6: and loads the VM-exit MSR-load area",
      .init = msr_lists_init, .guest = msr_lists_guest, .check = msr_lists_check },
};
const size_t n_access_tests = ARRAY_SIZE(access_tests);
