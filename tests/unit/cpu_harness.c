/* cpu_harness.c — see cpu_harness.h. */
#include "cpu_harness.h"

#include <stdio.h>
#include <stdlib.h>

#define TH_RAM (16ull << 20)

static uint32_t ar_code64 = 0xa09b; /* P, S, type 0xb, L, G */
static uint32_t ar_code32 = 0xc09b; /* P, S, type 0xb, D, G */
static uint32_t ar_data32 = 0xc093;

void th_init(struct th *t, enum th_mode mode)
{
    memset(t, 0, sizeof(*t));
    if (bus_init(&t->bus, TH_RAM) != 0) {
        fprintf(stderr, "th_init: no memory\n");
        abort();
    }
    cpu_init(&t->cpu, &t->bus, 0);
    struct cpu *c = &t->cpu;
    c->trap_exceptions = true;
    c->apic_base = 0; /* no local APIC in the harness */
    c->cr0 = CR0_ET | CR0_NE;
    c->cr4 = CR4_OSFXSR | CR4_OSXMMEXCPT;
    t->mode = mode;
    if (mode == TH_REAL) {
        /* Real mode: CS = TH_CODE >> 4 (code at IP 0), DS = ES = TH_DATA >> 4,
         * SS:SP = 0x7000:0xfffe (stack just below TH_STACK). */
        for (int s = 0; s < 6; s++)
            cpu_set_seg(c, s, TH_DATA >> 4, TH_DATA, 0xffff, 0x93);
        cpu_set_seg(c, SEG_SS, 0x7000, 0x70000, 0xffff, 0x93);
        cpu_set_seg(c, SEG_CS, TH_CODE >> 4, TH_CODE, 0xffff, 0x9b);
    } else {
        c->cr0 |= CR0_PE;
        c->gdtr = (struct dtr){ 0x800, 0x3f };
        uint64_t *gdt = th_mem(t, 0x800);
        gdt[1] = 0x00af9b000000ffffull; /* 0x08: 64-bit code */
        gdt[2] = 0x00cf93000000ffffull; /* 0x10: data */
        gdt[3] = 0x00cf9b000000ffffull; /* 0x18: 32-bit code */
        if (mode == TH_LONG64) {
            uint64_t *pml4 = th_mem(t, TH_PT), *pdpt = th_mem(t, TH_PT + 0x1000);
            uint64_t *pd = th_mem(t, TH_PT + 0x2000);
            pml4[0] = (TH_PT + 0x1000) | 7;
            pdpt[0] = (TH_PT + 0x2000) | 7;
            for (int i = 0; i < 512; i++)
                pd[i] = ((uint64_t)i << 21) | 0x87; /* 2 MiB, P RW US PS */
            c->cr3 = TH_PT;
            c->cr4 |= CR4_PAE;
            c->efer = EFER_LME | EFER_LMA | EFER_NXE | EFER_SCE;
            c->cr0 |= CR0_PG | CR0_WP;
            for (int s = 0; s < 6; s++)
                cpu_set_seg(c, s, 0x10, 0, 0xffffffff, ar_data32);
            cpu_set_seg(c, SEG_CS, 0x08, 0, 0xffffffff, ar_code64);
        } else {
            for (int s = 0; s < 6; s++)
                cpu_set_seg(c, s, 0x10, 0, 0xffffffff, ar_data32);
            cpu_set_seg(c, SEG_CS, 0x18, 0, 0xffffffff, ar_code32);
        }
        c->tr = (struct seg){ .base = 0, .limit = 0x67, .ar = 0x8b, .sel = 0 };
    }
    c->r[R_SP] = mode == TH_REAL ? 0xfffe : TH_STACK;
    cpu_update_mode(c);
    tlb_flush_all(c);
}

void th_destroy(struct th *t)
{
    cpu_destroy(&t->cpu);
    bus_destroy(&t->bus);
}

void *th_mem(struct th *t, uint64_t gpa)
{
    return bus_ram_ptr(&t->bus, gpa, 1);
}

enum th_result th_run_steps(struct th *t, const void *code, size_t n, uint64_t max)
{
    if (code) {
        memcpy(th_mem(t, TH_CODE), code, n);
        bus_note_dma(&t->bus, TH_CODE, n);
        t->cpu.rip = t->mode == TH_REAL ? 0 : TH_CODE;
    }
    t->cpu.state = CPU_RUNNING;
    enum cpu_exit e = cpu_run(&t->cpu, max);
    if (e == CPU_EXIT_EXCEPTION) {
        t->vector = t->cpu.fault_vector;
        t->error = t->cpu.fault_error;
        return TH_EXCEPTION;
    }
    if (e == CPU_EXIT_BUDGET)
        return TH_BUDGET;
    return TH_HALT;
}

enum th_result th_run(struct th *t, const void *code, size_t n)
{
    return th_run_steps(t, code, n, 1000000);
}
