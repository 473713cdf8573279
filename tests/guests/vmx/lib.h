/*
 * lib.h — freestanding support for the VT-x acceptance guest: port and MSR
 * access, control registers, COM1 output with a small printf, string
 * helpers, exception recovery (TRY) and the per-test report state.
 *
 * The guest runs at CPL 0 in 64-bit mode on nestvm (or any x86-64 machine
 * with VT-x and an isa-debug-exit device at port 0xf4).
 */
#ifndef VMXT_LIB_H
#define VMXT_LIB_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PAGE_SIZE 4096ul
#define ALIGNED(n) __attribute__((aligned(n)))
#define NOINLINE __attribute__((noinline))

/* ---- GDT layout (desc.c) ---- */
#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_CODE32 0x18
#define SEL_CODE16 0x20
#define SEL_DATA16 0x28
#define SEL_TSS 0x30   /* 16-byte system descriptor */
#define SEL_LDT 0x40   /* 16-byte system descriptor */
#define SEL_CODE64_U 0x53 /* DPL 3, RPL 3 */
#define SEL_DATA_U 0x5b

/* ---- physical memory used by the tests (identity-mapped) ---- */
#define TEST_AREA 0x1000000ul   /* 2 MiB mapped with 4 KiB pages in L1, L2 and EPT */
#define TEST_AREA2 0x1200000ul  /* 2 MiB whose L2 page table lives in TEST_AREA page 5 */
#define TA_PAGE(n) (TEST_AREA + (uint64_t)(n) * PAGE_SIZE)
#define RM_BASE 0x40000ul       /* real-mode L2 code is copied here (CS = 0x4000) */

/* ---- ports, MSRs, control registers ---- */
static inline void outb(uint16_t port, uint8_t v) { asm volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline void outl(uint16_t port, uint32_t v) { asm volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port)
{
    uint8_t v;
    asm volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    asm volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    asm volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}
static inline void cpuid2(uint32_t leaf, uint32_t sub, uint32_t *a, uint32_t *b, uint32_t *c, uint32_t *d)
{
    asm volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(sub));
}
#define DEF_CR(n)                                                                   \
    static inline uint64_t read_cr##n(void)                                          \
    {                                                                                \
        uint64_t v;                                                                  \
        asm volatile("mov %%cr" #n ", %0" : "=r"(v));                               \
        return v;                                                                    \
    }                                                                                \
    static inline void write_cr##n(uint64_t v) { asm volatile("mov %0, %%cr" #n : : "r"(v) : "memory"); }
DEF_CR(0)
DEF_CR(2)
DEF_CR(3)
DEF_CR(4)
DEF_CR(8)
static inline uint64_t read_rflags(void)
{
    uint64_t v;
    asm volatile("pushfq; pop %0" : "=r"(v));
    return v;
}
static inline void cli(void) { asm volatile("cli" ::: "memory"); }
static inline void sti(void) { asm volatile("sti" ::: "memory"); }
static inline void invlpg(uint64_t va) { asm volatile("invlpg (%0)" : : "r"(va) : "memory"); }

#define CR0_PE (1ul << 0)
#define CR0_MP (1ul << 1)
#define CR0_EM (1ul << 2)
#define CR0_TS (1ul << 3)
#define CR0_ET (1ul << 4)
#define CR0_NE (1ul << 5)
#define CR0_WP (1ul << 16)
#define CR0_AM (1ul << 18)
#define CR0_NW (1ul << 29)
#define CR0_CD (1ul << 30)
#define CR0_PG (1ul << 31)
#define CR4_DE (1ul << 3)
#define CR4_PSE (1ul << 4)
#define CR4_PAE (1ul << 5)
#define CR4_PGE (1ul << 7)
#define CR4_PCE (1ul << 8)
#define CR4_OSFXSR (1ul << 9)
#define CR4_VMXE (1ul << 13)
#define CR4_OSXSAVE (1ul << 18)
#define EFER_SCE (1ul << 0)
#define EFER_LME (1ul << 8)
#define EFER_LMA (1ul << 10)
#define EFER_NXE (1ul << 11)
#define MSR_FEATURE_CONTROL 0x3a
#define MSR_APIC_BASE 0x1b
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_PAT 0x277
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103

/* ---- console and formatting (lib.c) ---- */
void putc_serial(char c);
void puts_serial(const char *s);
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strncmp(const char *a, const char *b, size_t n);
const char *strstr(const char *h, const char *n);
_Noreturn void debug_exit(uint32_t code);

/* ---- exception recovery ----
 * TRY_ASM(insn) runs one instruction (string) with recovery: if it raises
 * an exception, the handler records the vector and resumes after it.
 * exc_vector is -1 when no exception occurred. */
extern volatile uint64_t exc_fixup;
extern volatile int exc_vector;
extern volatile uint64_t exc_error;
#define TRY_BEGIN                                                          \
    "movl $-1, exc_vector(%%rip)\n\t"                                       \
    "lea 8765f(%%rip), %%r11\n\t"                                          \
    "mov %%r11, exc_fixup(%%rip)\n\t"
#define TRY_END "\n8765:\n\tmovq $0, exc_fixup(%%rip)\n\t"

/* setjmp-like context for aborting a test from an unexpected exception. */
struct jmpctx { uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip; };
int ctx_save(struct jmpctx *c) __attribute__((returns_twice));
_Noreturn void ctx_restore(struct jmpctx *c, int val);

/* ---- per-test report ---- */
struct report {
    const char *name;
    int fails;
    bool skipped;
    char why[200];
    char notes[4][160];
};
extern struct report cur;
/* Records a failure; the first one becomes the FAIL line's reason. Safe in L2
 * (no I/O: messages are formatted into memory and printed by L1). */
void fail_at(int line, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define CHECK(cond, ...)                       \
    do {                                       \
        if (!(cond))                           \
            fail_at(__LINE__, __VA_ARGS__);    \
    } while (0)
#define CHECK_EQ(a, b, what)                                                             \
    do {                                                                                 \
        uint64_t a_ = (uint64_t)(a), b_ = (uint64_t)(b);                                 \
        if (a_ != b_)                                                                    \
            fail_at(__LINE__, "%s: got %#lx, want %#lx", (what), a_, b_);                \
    } while (0)
void skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
