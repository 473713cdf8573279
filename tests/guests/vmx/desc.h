/*
 * desc.h — descriptor tables, paging and exception dispatch of the test
 * guest (desc.c).
 */
#ifndef VMXT_DESC_H
#define VMXT_DESC_H

#include "lib.h"

struct frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8, rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vec, err, rip, cs, rflags, rsp, ss;
};

struct dtr { uint16_t limit; uint64_t base; } __attribute__((packed));

extern uint64_t gdt[16];
extern uint8_t tss[104];
extern uint64_t idt[512];
extern struct dtr gdt_desc, idt_desc;

/* Page tables.  L1: pml4 -> pdpt -> pd[0..3] (2 MiB pages, 4 GiB identity)
 * with pd[0][8] -> pt_ta (TEST_AREA in 4 KiB pages).  L2 has its own tree
 * sharing pd[1..3]: l2_pd0[8] -> l2_pt_ta, l2_pd0[9] -> TA page 5. */
extern uint64_t pml4[512], pdpt[512], pd[4][512], pt_ta[512];
extern uint64_t l2_pml4[512], l2_pdpt[512], l2_pd0[512], l2_pt_ta[512];
#define PTE_P 1ul
#define PTE_W 2ul
#define PTE_U 4ul
#define PTE_A 0x20ul
#define PTE_D 0x40ul
#define PTE_PS 0x80ul
#define L2_PT_TA2 ((uint64_t *)TA_PAGE(5))

void desc_init(void);
void paging_init(void);
void l2_paging_reset(void);

/* Interrupt handlers for vectors >= 32 in L1 (NULL: count only). */
extern volatile unsigned irq_count[256];
/* L2 side: when cur_in_l2 is set, exceptions and interrupts are L2's. */
extern volatile int cur_in_l2;
extern volatile unsigned l2_irq_count[256];
extern volatile uint64_t l2_last_err[256], l2_last_rip[256];
/* Optional per-test hook for L2 events; returns true if it handled it. */
extern bool (*volatile l2_event_hook)(struct frame *f);
/* Abort context of the running test: an unexpected L1 exception records a
 * failure and jumps here. */
extern struct jmpctx *volatile abort_ctx;

void lapic_eoi(void);
uint32_t lapic_read(unsigned reg);
void lapic_write(unsigned reg, uint32_t v);

#endif
