/*
 * seg_test.h — helpers for the segmentation / far-transfer / event-delivery
 * tests (test_seg.c, test_far.c, test_intr.c): descriptors, gates, a TSS
 * and ring-3 state in harness RAM.
 *
 * Layout used by these tests (guest-physical = linear, identity mapped):
 *   0x0800  GDT (harness entries 0x08 code64, 0x10 data, 0x18 code32 DPL 0)
 *           plus SG_* below; limit 0xff
 *   0x1000  IDT (16-byte gates in IA-32e mode, 8-byte otherwise)
 *   0x2000  TSS (64-bit or 32-bit layout)
 *   0x3000+ handlers (each test places its own)
 *   0x60000 IST1 stack top, 0x70000 ring-0 stack top (TSS.RSP0/ESP0)
 */
#ifndef NESTVM_TEST_SEG_TEST_H
#define NESTVM_TEST_SEG_TEST_H

#include <string.h>

#include "cpu_harness.h"
#include "test.h"

#define SG_GDT 0x800ull
#define SG_IDT 0x1000ull
#define SG_TSS 0x2000ull
#define SG_IST1 0x60000ull
#define SG_RSP0 0x70000ull

/* GDT selectors beyond the harness's three */
#define SG_UCODE32 0x20 /* DPL 3, 32-bit code (SYSRET compat CS = STAR.base | 3) */
#define SG_UDATA 0x28   /* DPL 3, data */
#define SG_UCODE64 0x30 /* DPL 3, 64-bit code */
#define SG_NPDATA 0x38  /* DPL 0 data, not present */
#define SG_TSSSEL 0x40  /* TSS (16 bytes in IA-32e mode) */
#define SG_GATE 0x50    /* call gate (16 bytes in IA-32e mode) */
#define SG_CODE16 0x60  /* DPL 0, 16-bit code, base 0x10000, limit 0xffff */
#define SG_DATA16 0x68  /* DPL 0, 16-bit data, base 0, limit 0xffff */
#define SG_XOCODE 0x70  /* DPL 0, execute-only 32-bit code */
#define SG_DATA3B 0x78  /* DPL 0, data, base 0x20000 limit 0xfff (byte) */

/* access byte: P | DPL | S | type; flags nibble: G D L AVL */
static inline uint64_t sg_desc(uint32_t base, uint32_t limit, uint8_t access, uint8_t flags)
{
    return (limit & 0xffffull) | ((uint64_t)(base & 0xffffff) << 16) |
           ((uint64_t)access << 40) | ((uint64_t)((limit >> 16) & 0xf) << 48) |
           ((uint64_t)(flags & 0xf) << 52) | ((uint64_t)(base >> 24) << 56);
}

static inline void sg_put(struct th *t, uint64_t gpa, const void *p, size_t n)
{
    memcpy(th_mem(t, gpa), p, n);
    bus_note_dma(&t->bus, gpa, n);
}

static inline void sg_put64(struct th *t, uint64_t gpa, uint64_t v)
{
    memcpy(th_mem(t, gpa), &v, 8);
}

static inline uint64_t sg_get64(struct th *t, uint64_t gpa)
{
    uint64_t v;
    memcpy(&v, th_mem(t, gpa), 8);
    return v;
}

static inline uint32_t sg_get32(struct th *t, uint64_t gpa)
{
    uint32_t v;
    memcpy(&v, th_mem(t, gpa), 4);
    return v;
}

static inline void sg_gdt(struct th *t, unsigned sel, uint64_t d)
{
    sg_put64(t, SG_GDT + (sel & ~7u), d);
}

/* A 16-byte IA-32e system descriptor or gate at 'sel'. */
static inline void sg_gdt16(struct th *t, unsigned sel, uint64_t lo, uint64_t hi)
{
    sg_gdt(t, sel, lo);
    sg_gdt(t, sel + 8, hi);
}

/* Fill the GDT with the harness's entries and the SG_* ones; widen its limit. */
static inline void sg_setup_gdt(struct th *t)
{
    t->cpu.gdtr = (struct dtr){ SG_GDT, 0xff };
    sg_gdt(t, 0x08, sg_desc(0, 0xfffff, 0x9b, 0xa));
    sg_gdt(t, 0x10, sg_desc(0, 0xfffff, 0x93, 0xc));
    sg_gdt(t, 0x18, sg_desc(0, 0xfffff, 0x9b, 0xc));
    sg_gdt(t, SG_UCODE32, sg_desc(0, 0xfffff, 0xfb, 0xc));
    sg_gdt(t, SG_UDATA, sg_desc(0, 0xfffff, 0xf3, 0xc));
    sg_gdt(t, SG_UCODE64, sg_desc(0, 0xfffff, 0xfb, 0xa));
    sg_gdt(t, SG_NPDATA, sg_desc(0, 0xfffff, 0x13, 0xc));
    sg_gdt(t, SG_CODE16, sg_desc(0x10000, 0xffff, 0x9b, 0x0));
    sg_gdt(t, SG_DATA16, sg_desc(0, 0xffff, 0x93, 0x0));
    sg_gdt(t, SG_XOCODE, sg_desc(0, 0xfffff, 0x99, 0xc));
    sg_gdt(t, SG_DATA3B, sg_desc(0x20000, 0xfff, 0x93, 0x4));
}

/* 64-bit gate (type 14 interrupt, 15 trap, 12 call). */
static inline void sg_gate64(uint64_t *lo, uint64_t *hi, uint16_t sel, uint64_t off, unsigned type,
                             unsigned dpl, unsigned ist_or_params)
{
    *lo = (off & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)(ist_or_params & 0x1f) << 32) |
          ((uint64_t)(0x80 | (dpl << 5) | type) << 40) | (((off >> 16) & 0xffff) << 48);
    *hi = off >> 32;
}

static inline void sg_idt64(struct th *t, unsigned vec, uint16_t sel, uint64_t off, unsigned type,
                            unsigned dpl, unsigned ist)
{
    uint64_t lo, hi;
    sg_gate64(&lo, &hi, sel, off, type, dpl, ist);
    sg_put64(t, SG_IDT + vec * 16, lo);
    sg_put64(t, SG_IDT + vec * 16 + 8, hi);
}

/* Legacy 8-byte gate (type 6/7 16-bit, 14/15 32-bit, 4/12 call, 5 task). */
static inline void sg_idt32(struct th *t, unsigned vec, uint16_t sel, uint32_t off, unsigned type,
                            unsigned dpl)
{
    uint64_t lo, hi;
    sg_gate64(&lo, &hi, sel, off, type, dpl, 0);
    sg_put64(t, SG_IDT + vec * 8, lo);
}

/* IA-32e: IDT at SG_IDT, 64-bit TSS with RSP0/IST1 loaded into TR. */
static inline void sg_setup_long(struct th *t)
{
    sg_setup_gdt(t);
    memset(th_mem(t, SG_IDT), 0, 4096);
    memset(th_mem(t, SG_TSS), 0, 0x68);
    sg_put64(t, SG_TSS + 4, SG_RSP0);
    sg_put64(t, SG_TSS + 0x24, SG_IST1);
    sg_gdt16(t, SG_TSSSEL, sg_desc((uint32_t)SG_TSS, 0x67, 0x8b, 0), 0);
    t->cpu.idtr = (struct dtr){ SG_IDT, 0xfff };
    t->cpu.tr = (struct seg){ .base = SG_TSS, .limit = 0x67, .ar = 0x8b, .sel = SG_TSSSEL };
    t->cpu.trap_exceptions = false;
}

/* Legacy protected mode: IDT at SG_IDT, 32-bit TSS with SS0:ESP0. */
static inline void sg_setup_prot(struct th *t)
{
    sg_setup_gdt(t);
    memset(th_mem(t, SG_IDT), 0, 2048);
    memset(th_mem(t, SG_TSS), 0, 0x68);
    uint32_t esp0 = (uint32_t)SG_RSP0, ss0 = 0x10;
    memcpy(th_mem(t, SG_TSS + 4), &esp0, 4);
    memcpy(th_mem(t, SG_TSS + 8), &ss0, 4);
    sg_gdt(t, SG_TSSSEL, sg_desc((uint32_t)SG_TSS, 0x67, 0x8b, 0));
    t->cpu.idtr = (struct dtr){ SG_IDT, 0x7ff };
    t->cpu.tr = (struct seg){ .base = SG_TSS, .limit = 0x67, .ar = 0x8b, .sel = SG_TSSSEL };
    t->cpu.trap_exceptions = false;
}

/* Switch the harness CPU to ring 3 (flat user segments). */
static inline void sg_enter_ring3(struct th *t, bool code64)
{
    for (int s = 0; s < 6; s++)
        if (s != SEG_CS)
            cpu_set_seg(&t->cpu, s, SG_UDATA | 3, 0, 0xffffffff, 0xc0f3);
    cpu_set_seg(&t->cpu, SEG_CS, (code64 ? SG_UCODE64 : SG_UCODE32) | 3, 0, 0xffffffff,
                code64 ? 0xa0fb : 0xc0fb);
    cpu_update_mode(&t->cpu);
}

#endif
