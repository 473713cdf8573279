/*
 * lapic.h — local APIC (Intel SDM Vol.3 chapter 10), one per vCPU, in xAPIC
 * (MMIO page) and x2APIC (MSR 0x800-0x8ff) modes, plus the "APIC bus" that
 * carries IPIs and IOAPIC messages between local APICs.
 *
 * The CPU engine (not the bus) routes the APIC page and the x2APIC MSRs to
 * lapic_read/lapic_write and lapic_msr_read/lapic_msr_write, and
 * IA32_APIC_BASE / IA32_TSC_DEADLINE to lapic_get_base/lapic_set_base and
 * lapic_get_tsc_deadline/lapic_set_tsc_deadline.
 *
 * Threads.  Everything except the calls marked "any thread" belongs to the
 * vCPU that owns the lapic (its thread).  Interrupt acceptance
 * (lapic_accept, apic_bus_deliver, lapic_set_lint0/1) may come from any
 * thread: IRR/TMR and the event word are atomics, so the owner's hot check
 * lapic_has_event() is one relaxed atomic load.  A sender sets IRR first and
 * the event hint second; the owner clears the hint first and rescans second,
 * so no interrupt can be lost between them (both sides are seq_cst).
 *
 * Engine loop, at block boundaries:
 *
 *     if (lapic_has_event(l)) {
 *         uint32_t ev = lapic_take_events(l);
 *         if (ev & LAPIC_EV_INIT) { reset the vCPU; lapic_reset(l, true); }
 *         if (ev & LAPIC_EV_SIPI) { if waiting for SIPI: start at
 *                                   lapic_sipi_vector(l) << 12 }
 *         if (ev & LAPIC_EV_NMI)  deliver NMI;
 *         if (IF=1 and no interrupt shadow) {
 *             if (ev & LAPIC_EV_EXTINT) { lapic_extint_ack(l); v = pic_ack(); }
 *             else if ((v = lapic_pending_vector(l)) >= 0) lapic_ack(l, v);
 *             deliver v;
 *         }
 *     }
 *
 * has_event may be a false positive (a new IRR bit below PPR, a LINT0 line
 * that has already dropped); lapic_take_events() recomputes the hints, so
 * the next check is exact.
 */
#ifndef NESTVM_HW_LAPIC_H
#define NESTVM_HW_LAPIC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/clock.h"

#ifndef MAX_VCPUS
#define MAX_VCPUS 64
#endif

#define LAPIC_DEFAULT_BASE 0xFEE00000ull
#define LAPIC_VERSION 0x00050014u /* version 0x14 (xAPIC), max LVT entry 5 */
#define LAPIC_BUS_HZ 1000000000ull /* timer input clock before the divider */
#define LAPIC_TIMER_MIN_PERIOD_NS 1000 /* periodic interrupts fire at most every 1 us */

/* IA32_APIC_BASE bits (SDM 10.4.4, 10.12.1) */
#define APIC_BASE_BSP (1ull << 8)
#define APIC_BASE_EXTD (1ull << 10)
#define APIC_BASE_EN (1ull << 11)

#define MSR_IA32_APIC_BASE 0x1B
#define MSR_IA32_TSC_DEADLINE 0x6E0

/* Register offsets in the xAPIC page (SDM Table 10-1); x2APIC MSR = 0x800 + off/16 */
enum {
    LAPIC_ID = 0x020,
    LAPIC_VER = 0x030,
    LAPIC_TPR = 0x080,
    LAPIC_APR = 0x090,
    LAPIC_PPR = 0x0A0,
    LAPIC_EOI = 0x0B0,
    LAPIC_RRD = 0x0C0,
    LAPIC_LDR = 0x0D0,
    LAPIC_DFR = 0x0E0,
    LAPIC_SVR = 0x0F0,
    LAPIC_ISR = 0x100, /* 8 registers, 0x10 apart */
    LAPIC_TMR = 0x180,
    LAPIC_IRR = 0x200,
    LAPIC_ESR = 0x280,
    LAPIC_LVT_CMCI = 0x2F0,
    LAPIC_ICR_LO = 0x300,
    LAPIC_ICR_HI = 0x310,
    LAPIC_LVT_TIMER = 0x320,
    LAPIC_LVT_THERMAL = 0x330,
    LAPIC_LVT_PERF = 0x340,
    LAPIC_LVT_LINT0 = 0x350,
    LAPIC_LVT_LINT1 = 0x360,
    LAPIC_LVT_ERROR = 0x370,
    LAPIC_TIMER_ICR = 0x380,
    LAPIC_TIMER_CCR = 0x390,
    LAPIC_TIMER_DCR = 0x3E0,
    LAPIC_SELF_IPI = 0x3F0, /* x2APIC only (MSR 0x83F) */
};

/* Delivery modes (ICR / LVT / IOAPIC redirection bits 10:8) */
enum {
    APIC_DM_FIXED = 0,
    APIC_DM_LOWEST = 1,
    APIC_DM_SMI = 2,
    APIC_DM_NMI = 4,
    APIC_DM_INIT = 5,
    APIC_DM_SIPI = 6,
    APIC_DM_EXTINT = 7,
};

/* ICR destination shorthands (bits 19:18) */
enum {
    APIC_SH_NONE = 0,
    APIC_SH_SELF = 1,
    APIC_SH_ALL = 2,
    APIC_SH_OTHERS = 3,
};

/* Destination value meaning "everybody" (physical); 8-bit senders pass 0xFF */
#define APIC_DEST_BROADCAST 0xFFFFFFFFu

/* lapic_take_events() bits */
#define LAPIC_EV_NMI (1u << 0)
#define LAPIC_EV_INIT (1u << 1)
#define LAPIC_EV_SIPI (1u << 2)
#define LAPIC_EV_EXTINT (1u << 3) /* level: ExtINT pending, do an INTA cycle (pic_ack) */
#define LAPIC_EV_INTR (1u << 4)   /* level: lapic_pending_vector() >= 0 */
#define LAPIC_EV_NMI2 (1u << 5)   /* with LAPIC_EV_NMI: a second NMI arrived before
                                     the first was taken (the CPU may latch it) */

/* ESR bits (SDM 10.5.3) */
#define LAPIC_ESR_SEND_ILLEGAL (1u << 5)
#define LAPIC_ESR_RECV_ILLEGAL (1u << 6)
#define LAPIC_ESR_ILLEGAL_REG (1u << 7)

enum { LAPIC_LVT_CMCI_I, LAPIC_LVT_TIMER_I, LAPIC_LVT_THERMAL_I, LAPIC_LVT_PERF_I,
       LAPIC_LVT_LINT0_I, LAPIC_LVT_LINT1_I, LAPIC_LVT_ERROR_I, LAPIC_NLVT };

struct lapic;

/* Every local APIC and the IOAPIC share one of these. */
struct apic_bus {
    struct lapic *cpu[MAX_VCPUS];
    int n;
};

struct lapic {
    /* ---- set by the machine (after lapic_init) ---- */
    void (*kick)(void *ctx); /* wake the owner; any thread, must not block */
    void *kick_ctx;
    void (*eoi_broadcast)(void *ctx, int vector); /* level EOI -> ioapic_eoi */
    void *eoi_ctx;
    uint64_t (*now_ns)(void *ctx); /* machine time; default clock_host_ns */
    void *now_ctx;
    uint64_t tsc_hz;     /* TSC frequency for TSC-deadline mode */
    uint64_t tsc_offset; /* guest TSC = now_ns * tsc_hz / 1e9 + tsc_offset */
    unsigned maxphyaddr; /* IA32_APIC_BASE reserved-bit check; default 48 */
    struct apic_bus *bus;

    /* ---- shared with sender threads (atomics) ---- */
    _Atomic uint32_t irr[8];
    _Atomic uint32_t tmr[8];
    _Atomic uint32_t ev;          /* LAPIC_EV_* (edge bits + level hints) */
    _Atomic uint32_t nmi_count;   /* NMIs accepted and not yet taken */
    _Atomic uint32_t sipi_vector;
    _Atomic uint32_t esr_pending; /* errors not yet latched into ESR */
    _Atomic uint32_t id;          /* x2APIC ID (xAPIC ID = low 8 bits) */
    _Atomic uint32_t ldr, dfr, tpr;
    _Atomic uint32_t mode;        /* LAPIC_MODE_* (derived from apic_base + SVR) */
    _Atomic int lint0, lint1;     /* input pin levels */
    _Atomic bool extint_msg;      /* ExtINT message latched, not yet acknowledged */

    /* ---- owner-only ---- */
    uint64_t apic_base;
    uint32_t initial_id;
    bool bsp;
    uint32_t isr[8];
    uint32_t svr, esr, icr_lo, icr_hi;
    uint32_t lvt[LAPIC_NLVT];
    /* timer (SDM 10.5.4) */
    uint32_t timer_icr, timer_dcr;
    uint64_t timer_start;    /* ns when the current count was (re)loaded */
    uint64_t timer_deadline; /* next expiry, CLOCK_NEVER if none */
    uint64_t tsc_deadline;   /* IA32_TSC_DEADLINE */
};

/* atomic mode word */
#define LAPIC_MODE_HW_EN (1u << 0)  /* IA32_APIC_BASE.EN */
#define LAPIC_MODE_X2 (1u << 1)     /* IA32_APIC_BASE.EXTD */
#define LAPIC_MODE_SW_EN (1u << 2)  /* SVR bit 8 */
#define LAPIC_MODE_CLUSTER (1u << 3) /* DFR model = cluster (xAPIC) */

/* ---- setup ---- */
void apic_bus_init(struct apic_bus *b);
int apic_bus_add(struct apic_bus *b, struct lapic *l); /* -1 when full */

/* Power-on state: xAPIC mode, enabled, base 0xFEE00000, software-disabled,
 * all LVTs masked (SDM 10.4.7.1).  The machine then sets the callbacks. */
void lapic_init(struct lapic *l, uint32_t apic_id, bool bsp, struct apic_bus *bus);
/* RESET (init=false) or INIT (init=true, SDM 10.4.7.3 / 10.12.5.1: keeps
 * ID, IA32_APIC_BASE and the x2APIC mode). Owner thread. */
void lapic_reset(struct lapic *l, bool init);
/* What a PC BIOS leaves behind (MP spec 3.6.2.2 virtual wire): SVR enabled
 * with vector 0xFF, LINT0 = ExtINT on the BSP (masked on APs), LINT1 = NMI.
 * For firmware-less boot where the kernel expects firmware setup. */
void lapic_firmware_setup(struct lapic *l);

/* ---- register access (owner thread) ---- */
uint32_t lapic_read(struct lapic *l, uint32_t offset);
void lapic_write(struct lapic *l, uint32_t offset, uint32_t val);
/* x2APIC MSRs 0x800-0x8ff. 0 = ok, -1 = raise #GP(0). */
int lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *val);
int lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t val);
uint64_t lapic_get_base(struct lapic *l);
int lapic_set_base(struct lapic *l, uint64_t val); /* -1 = #GP */
uint64_t lapic_get_tsc_deadline(struct lapic *l);
void lapic_set_tsc_deadline(struct lapic *l, uint64_t tsc);
/* MOV to CR8 (SDM 10.8.6.1): TPR = tpr & 0xff whatever the APIC mode; CR8
 * keeps working while the APIC is disabled. */
void lapic_set_tpr(struct lapic *l, uint32_t tpr);
/* True if gpa falls in this lapic's xAPIC MMIO page (xAPIC mode, enabled). */
bool lapic_mmio_hit(struct lapic *l, uint64_t gpa);

/* ---- interrupt acceptance (any thread) ---- */
void lapic_accept(struct lapic *l, int delivery_mode, int vector, bool level_trig);
void lapic_set_lint0(struct lapic *l, int level); /* 8259 INTR output */
void lapic_set_lint1(struct lapic *l, int level);
void apic_bus_deliver(struct apic_bus *b, uint32_t dest, bool logical, int delivery_mode,
                      int vector, bool level, int shorthand, struct lapic *self);

/* ---- owner side of interrupt delivery ---- */
static inline bool lapic_has_event(struct lapic *l)
{
    return atomic_load_explicit(&l->ev, memory_order_relaxed) != 0;
}
uint32_t lapic_take_events(struct lapic *l);
static inline uint32_t lapic_sipi_vector(struct lapic *l)
{
    return atomic_load(&l->sipi_vector);
}
int lapic_pending_vector(struct lapic *l); /* highest deliverable IRR vector or -1 */
void lapic_ack(struct lapic *l, int vector); /* IRR -> ISR */
bool lapic_extint_pending(struct lapic *l);
void lapic_extint_ack(struct lapic *l); /* consumes a latched ExtINT message */

/* ---- timer (owner thread) ---- */
static inline uint64_t lapic_timer_hz(const struct lapic *l)
{
    static const uint8_t shift[8] = { 1, 2, 3, 4, 5, 6, 7, 0 }; /* SDM Figure 10-10 */
    unsigned v = (l->timer_dcr & 3) | ((l->timer_dcr >> 1) & 4);
    return LAPIC_BUS_HZ >> shift[v];
}
uint64_t lapic_next_deadline(struct lapic *l); /* absolute ns or CLOCK_NEVER */
void lapic_advance(struct lapic *l, uint64_t now_ns);

#endif
