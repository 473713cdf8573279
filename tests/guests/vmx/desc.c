/*
 * desc.c — GDT with a 64-bit TSS and an LDT descriptor, IDT for all 256
 * vectors, 4-level page tables (4 KiB granularity for the test areas), the
 * xAPIC helpers, and exception/interrupt dispatch for L1 and for 64-bit L2
 * (both use this IDT; cur_in_l2 tells them apart).
 */
#include "desc.h"

#include "vmx_lib.h"

uint64_t gdt[16] ALIGNED(16);
uint8_t tss[104] ALIGNED(16);
uint64_t ldt[4] ALIGNED(16);
uint64_t idt[512] ALIGNED(16);
struct dtr gdt_desc, idt_desc;
extern char isr_stubs[];

uint64_t pml4[512] ALIGNED(4096), pdpt[512] ALIGNED(4096), pd[4][512] ALIGNED(4096),
    pt_ta[512] ALIGNED(4096);
uint64_t l2_pml4[512] ALIGNED(4096), l2_pdpt[512] ALIGNED(4096), l2_pd0[512] ALIGNED(4096),
    l2_pt_ta[512] ALIGNED(4096);

volatile unsigned irq_count[256];
volatile int cur_in_l2;
volatile unsigned l2_irq_count[256];
volatile uint64_t l2_last_err[256], l2_last_rip[256];
bool (*volatile l2_event_hook)(struct frame *f);
struct jmpctx *volatile abort_ctx;
volatile uint64_t exc_fixup;
volatile int exc_vector = -1;
volatile uint64_t exc_error;

static void set_sys_desc(int idx, uint64_t base, uint32_t limit, unsigned type)
{
    gdt[idx] = (limit & 0xffff) | (base & 0xffffff) << 16 | (uint64_t)type << 40 | 1ull << 47 |
               (uint64_t)((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    gdt[idx + 1] = base >> 32;
}

void desc_init(void)
{
    gdt[0] = 0;
    gdt[SEL_CODE64 >> 3] = 0x00af9b000000ffffull;  /* 64-bit code, DPL 0 */
    gdt[SEL_DATA >> 3] = 0x00cf93000000ffffull;    /* flat data, DPL 0 */
    gdt[SEL_CODE32 >> 3] = 0x00cf9b000000ffffull;  /* flat 32-bit code */
    gdt[SEL_CODE16 >> 3] = 0x00009b000000ffffull;  /* 16-bit code, 64 KiB */
    gdt[SEL_DATA16 >> 3] = 0x000093000000ffffull;
    /* I/O map base beyond the TSS limit: no I/O permission bitmap, so CPL > IOPL
     * I/O raises #GP (SDM Vol.1 19.5.2) */
    tss[0x66] = sizeof tss;
    set_sys_desc(SEL_TSS >> 3, (uint64_t)tss, sizeof tss - 1, 9); /* available 64-bit TSS */
    set_sys_desc(SEL_LDT >> 3, (uint64_t)ldt, sizeof ldt - 1, 2);
    gdt[SEL_CODE64_U >> 3] = 0x00affb000000ffffull;
    gdt[SEL_DATA_U >> 3] = 0x00cff3000000ffffull;
    gdt_desc.limit = sizeof gdt - 1;
    gdt_desc.base = (uint64_t)gdt;
    for (int v = 0; v < 256; v++) {
        uint64_t h = (uint64_t)isr_stubs + 16 * (uint64_t)v;
        idt[2 * v] = (h & 0xffff) | (uint64_t)SEL_CODE64 << 16 | 0x8eull << 40 |
                     ((h >> 16) & 0xffff) << 48;
        idt[2 * v + 1] = h >> 32;
    }
    idt_desc.limit = sizeof idt - 1;
    idt_desc.base = (uint64_t)idt;
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
                 "mov %4, %%eax\n\t"
                 "ltr %%ax\n\t"
                 :
                 : "m"(gdt_desc), "m"(idt_desc), "i"(SEL_CODE64), "i"(SEL_DATA), "i"(SEL_TSS)
                 : "rax", "memory");
}

void paging_init(void)
{
    for (int i = 0; i < 512; i++)
        pml4[i] = pdpt[i] = 0;
    pml4[0] = (uint64_t)pdpt | PTE_P | PTE_W | PTE_A;
    for (int g = 0; g < 4; g++) {
        pdpt[g] = (uint64_t)pd[g] | PTE_P | PTE_W | PTE_A;
        for (int i = 0; i < 512; i++)
            pd[g][i] = ((uint64_t)g << 30) + ((uint64_t)i << 21) + (PTE_P | PTE_W | PTE_PS | PTE_A | PTE_D);
    }
    for (int i = 0; i < 512; i++)
        pt_ta[i] = TA_PAGE(i) | PTE_P | PTE_W | PTE_A | PTE_D;
    pd[0][TEST_AREA >> 21] = (uint64_t)pt_ta | PTE_P | PTE_W | PTE_A;
    write_cr3((uint64_t)pml4);
    l2_paging_reset();
}

/* L2's own tree: identical translations, separate tables for the test
 * areas so tests can change L2's view without touching L1's. */
void l2_paging_reset(void)
{
    for (int i = 0; i < 512; i++) {
        l2_pml4[i] = 0;
        l2_pdpt[i] = pdpt[i];
        l2_pd0[i] = pd[0][i];
        l2_pt_ta[i] = TA_PAGE(i) | PTE_P | PTE_W | PTE_A | PTE_D;
        L2_PT_TA2[i] = (TEST_AREA2 + (uint64_t)i * PAGE_SIZE) | PTE_P | PTE_W | PTE_A | PTE_D;
    }
    l2_pml4[0] = (uint64_t)l2_pdpt | PTE_P | PTE_W | PTE_A;
    l2_pdpt[0] = (uint64_t)l2_pd0 | PTE_P | PTE_W | PTE_A;
    l2_pd0[TEST_AREA >> 21] = (uint64_t)l2_pt_ta | PTE_P | PTE_W | PTE_A;
    l2_pd0[TEST_AREA2 >> 21] = (uint64_t)L2_PT_TA2 | PTE_P | PTE_W | PTE_A;
}

/* ---- xAPIC (SDM Vol.3 10.4.1: registers at 0xfee00000, 16-byte aligned) ---- */
#define LAPIC_BASE 0xfee00000ul
uint32_t lapic_read(unsigned reg) { return *(volatile uint32_t *)(LAPIC_BASE + reg); }
void lapic_write(unsigned reg, uint32_t v) { *(volatile uint32_t *)(LAPIC_BASE + reg) = v; }
void lapic_eoi(void) { lapic_write(0xb0, 0); }

static const char *const exc_names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP", "#SS",
    "#GP", "#PF", "15", "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

static void l2_dispatch(struct frame *f)
{
    l2_irq_count[f->vec & 0xff]++;
    l2_last_err[f->vec & 0xff] = f->err;
    l2_last_rip[f->vec & 0xff] = f->rip;
    if (l2_event_hook && l2_event_hook(f))
        return;
    if (exc_fixup) {
        exc_vector = (int)f->vec;
        exc_error = f->err;
        f->rip = exc_fixup;
        exc_fixup = 0;
        return;
    }
    if (f->vec >= 32)
        return; /* counted interrupt */
    /* Unexpected exception in L2: report it to L1, which fails the test. */
    asm volatile("vmcall" : : "a"(VMCALL_L2_EXCEPTION), "D"(f->vec), "S"(f->rip), "d"(f->err)
                 : "memory");
    for (;;)
        asm volatile("hlt");
}

void exc_dispatch(struct frame *f)
{
    if (cur_in_l2) {
        l2_dispatch(f);
        return;
    }
    if (f->vec >= 32) {
        irq_count[f->vec]++;
        if (f->vec != 0xff) /* not the spurious vector (SDM 10.9) */
            lapic_eoi();
        return;
    }
    if (exc_fixup) {
        exc_vector = (int)f->vec;
        exc_error = f->err;
        f->rip = exc_fixup;
        exc_fixup = 0;
        return;
    }
    fail_at(0, "unexpected %s (vector %lu) in L1 at rip %#lx, error %#lx, cr2 %#lx",
            f->vec < 32 && exc_names[f->vec] ? exc_names[f->vec] : "?", f->vec, f->rip, f->err,
            read_cr2());
    if (abort_ctx)
        ctx_restore(abort_ctx, 1);
    printf("FATAL: %s\n", cur.why);
    debug_exit(0xff);
}
