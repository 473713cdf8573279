/*
 * lapic.c — local APIC and APIC bus (Intel SDM Vol.3 chapter 10).
 *
 * Implemented: xAPIC MMIO and x2APIC MSR register files with the x2APIC
 * #GP rules (10.12.1.2/10.12.1.3), IA32_APIC_BASE state machine (10.12.5),
 * priorities TPR/PPR/APR and IRR/ISR/TMR handling (10.8), EOI with level
 * EOI broadcast (10.8.5), ESR (10.5.3), LVT with software-disable masking
 * (10.4.7.2), LINT0/LINT1 pins incl. ExtINT virtual wire and the global
 * disable pass-through (10.4.3), the timer in one-shot / periodic /
 * TSC-deadline modes (10.5.4), IPIs through the ICR or the x2APIC SELF IPI
 * register with shorthands and physical / logical flat / logical cluster /
 * x2APIC logical destinations (10.6, 10.12.9), lowest-priority arbitration
 * (simplified: lowest TPR class wins, ties go to the lowest bus index).
 *
 * Not modelled: SMI, CMCI (no LVT CMCI), the thermal/perf sources (their
 * LVTs are plain storage), focus processor checking, EOI-broadcast
 * suppression, remote IRR of level-triggered LINT pins, delivery-status
 * "send pending".
 */
#include "hw/lapic.h"

#include <string.h>

#include "hw/clock.h"

#define LVT_MASKED (1u << 16)
#define LVT_REMOTE_IRR (1u << 14)
#define LVT_LEVEL (1u << 15)
#define LVT_POLARITY_LOW (1u << 13)
#define SVR_ENABLE (1u << 8)

#define EV_ERR (1u << 31) /* internal: an error was logged, fire LVT Error */
#define EV_EDGE (LAPIC_EV_NMI | LAPIC_EV_INIT | LAPIC_EV_SIPI)

enum { TIMER_ONESHOT = 0, TIMER_PERIODIC = 1, TIMER_TSC_DEADLINE = 2 };

/* Writable bits of each LVT (SDM Figure 10-8), indexed like lvt[] */
static const uint32_t lvt_wmask[LAPIC_NLVT] = {
    [LAPIC_LVT_CMCI_I] = 0x107FF,    [LAPIC_LVT_TIMER_I] = 0x700FF,
    [LAPIC_LVT_THERMAL_I] = 0x107FF, [LAPIC_LVT_PERF_I] = 0x107FF,
    [LAPIC_LVT_LINT0_I] = 0x1A7FF,   [LAPIC_LVT_LINT1_I] = 0x1A7FF,
    [LAPIC_LVT_ERROR_I] = 0x100FF,
};

static uint64_t default_now(void *ctx)
{
    return clock_host_ns();
}

static uint64_t now_of(struct lapic *l)
{
    return l->now_ns ? l->now_ns(l->now_ctx) : clock_host_ns();
}

static int lvt_index(uint32_t off)
{
    /* No LVT CMCI: the version register's "max LVT entry" is 5, so offset
     * 2F0H (x2APIC MSR 82FH) is a reserved register (SDM 10.5.1, 10.4.8). */
    switch (off) {
    case LAPIC_LVT_TIMER: return LAPIC_LVT_TIMER_I;
    case LAPIC_LVT_THERMAL: return LAPIC_LVT_THERMAL_I;
    case LAPIC_LVT_PERF: return LAPIC_LVT_PERF_I;
    case LAPIC_LVT_LINT0: return LAPIC_LVT_LINT0_I;
    case LAPIC_LVT_LINT1: return LAPIC_LVT_LINT1_I;
    case LAPIC_LVT_ERROR: return LAPIC_LVT_ERROR_I;
    default: return -1;
    }
}

static inline uint32_t lvt_get(const struct lapic *l, int i)
{
    return __atomic_load_n(&l->lvt[i], __ATOMIC_RELAXED);
}

static inline void lvt_set(struct lapic *l, int i, uint32_t v)
{
    __atomic_store_n(&l->lvt[i], v, __ATOMIC_RELAXED);
}

static inline bool is_x2(const struct lapic *l)
{
    return (l->apic_base & APIC_BASE_EXTD) != 0;
}

static void update_mode(struct lapic *l)
{
    uint32_t m = 0;
    if (l->apic_base & APIC_BASE_EN)
        m |= LAPIC_MODE_HW_EN;
    if (l->apic_base & APIC_BASE_EXTD)
        m |= LAPIC_MODE_X2;
    if (l->svr & SVR_ENABLE)
        m |= LAPIC_MODE_SW_EN;
    if ((atomic_load(&l->dfr) >> 28) == 0)
        m |= LAPIC_MODE_CLUSTER;
    atomic_store(&l->mode, m);
}

/* x2APIC logical ID (SDM 10.12.10.2): cluster = ID[19:4], bit ID[3:0] */
static uint32_t x2_ldr(uint32_t id)
{
    return ((id >> 4) << 16) | (1u << (id & 0xF));
}

/* ---------- 256-bit register helpers ---------- */

static int highest_atomic(_Atomic uint32_t *v)
{
    for (int i = 7; i >= 0; i--) {
        uint32_t w = atomic_load(&v[i]);
        if (w)
            return i * 32 + 31 - __builtin_clz(w);
    }
    return -1;
}

static int highest_isr(const struct lapic *l)
{
    for (int i = 7; i >= 0; i--)
        if (l->isr[i])
            return i * 32 + 31 - __builtin_clz(l->isr[i]);
    return -1;
}

/* SDM 10.8.3.1 */
static uint32_t compute_ppr(const struct lapic *l)
{
    uint32_t tpr = atomic_load_explicit(&l->tpr, memory_order_relaxed);
    int isrv = highest_isr(l);
    uint32_t isrc = isrv < 0 ? 0 : ((uint32_t)isrv & 0xF0);
    return (tpr & 0xF0) >= isrc ? tpr : isrc;
}

static uint32_t compute_apr(struct lapic *l)
{
    uint32_t tpr = atomic_load_explicit(&l->tpr, memory_order_relaxed);
    int isrv = highest_isr(l), irrv = highest_atomic(l->irr);
    uint32_t isrc = isrv < 0 ? 0 : ((uint32_t)isrv & 0xF0);
    uint32_t irrc = irrv < 0 ? 0 : ((uint32_t)irrv & 0xF0);
    if ((tpr & 0xF0) >= irrc && (tpr & 0xF0) > isrc)
        return tpr;
    uint32_t m = tpr & 0xF0;
    if (isrc > m)
        m = isrc;
    if (irrc > m)
        m = irrc;
    return m;
}

static int compute_pending(struct lapic *l)
{
    if (!(l->apic_base & APIC_BASE_EN))
        return -1;
    int v = highest_atomic(l->irr);
    if (v < 0 || ((uint32_t)v & 0xF0) <= (compute_ppr(l) & 0xF0))
        return -1;
    return v;
}

/* Owner: recompute the INTR hint (clear first, then scan: see lapic.h). */
static int refresh_intr(struct lapic *l)
{
    atomic_fetch_and(&l->ev, ~LAPIC_EV_INTR);
    int v = compute_pending(l);
    if (v >= 0)
        atomic_fetch_or(&l->ev, LAPIC_EV_INTR);
    return v;
}

/* ---------- acceptance ---------- */

static void log_error(struct lapic *l, uint32_t bits, bool raise)
{
    atomic_fetch_or(&l->esr_pending, bits);
    if (raise)
        atomic_fetch_or(&l->ev, EV_ERR);
}

/* NMIs are edges and are counted, so a second one before the CPU took the
 * first is reported (LAPIC_EV_NMI2) instead of merging with it.  The count
 * is raised before the hint and read after the hint is cleared, so every
 * NMI is reported exactly once (lapic_take_events). */
static void post_nmi(struct lapic *l)
{
    atomic_fetch_add(&l->nmi_count, 1);
    atomic_fetch_or(&l->ev, LAPIC_EV_NMI);
}

/* Returns true if something was recorded (worth a kick). */
static bool deliver(struct lapic *l, int dm, int vector, bool level)
{
    uint32_t mode = atomic_load(&l->mode);
    if (!(mode & LAPIC_MODE_HW_EN)) /* globally disabled: no APIC (SDM 10.4.3) */
        return false;
    vector &= 0xFF;
    uint32_t bit = 1u << (vector & 31);
    switch (dm) {
    case APIC_DM_FIXED:
    case APIC_DM_LOWEST:
        if (!(mode & LAPIC_MODE_SW_EN))
            return false; /* software-disabled: fixed interrupts are dropped */
        if (vector < 16) { /* SDM 10.5.3 "Receive Illegal Vector" */
            log_error(l, LAPIC_ESR_RECV_ILLEGAL, true);
            return true;
        }
        if (level)
            atomic_fetch_or(&l->tmr[vector >> 5], bit);
        else
            atomic_fetch_and(&l->tmr[vector >> 5], ~bit);
        atomic_fetch_or(&l->irr[vector >> 5], bit);
        atomic_fetch_or(&l->ev, LAPIC_EV_INTR);
        return true;
    case APIC_DM_NMI:
        post_nmi(l);
        return true;
    case APIC_DM_INIT:
        atomic_fetch_or(&l->ev, LAPIC_EV_INIT);
        return true;
    case APIC_DM_SIPI:
        atomic_store(&l->sipi_vector, (uint32_t)vector);
        atomic_fetch_or(&l->ev, LAPIC_EV_SIPI);
        return true;
    case APIC_DM_EXTINT:
        atomic_store(&l->extint_msg, true);
        atomic_fetch_or(&l->ev, LAPIC_EV_EXTINT);
        return true;
    default: /* SMI (no SMM), reserved modes */
        return false;
    }
}

static void kick(struct lapic *l)
{
    if (l->kick)
        l->kick(l->kick_ctx);
}

void lapic_accept(struct lapic *l, int delivery_mode, int vector, bool level_trig)
{
    if (deliver(l, delivery_mode, vector, level_trig))
        kick(l);
}

/* Local sources (timer, LVT Error): fixed, edge, from the owner thread. */
static void fire_lvt_fixed(struct lapic *l, int idx)
{
    uint32_t lvt = lvt_get(l, idx);
    if (lvt & LVT_MASKED)
        return;
    int vec = (int)(lvt & 0xFF);
    if (vec < 16) {
        /* An error raised by the error LVT itself must not loop. */
        log_error(l, LAPIC_ESR_RECV_ILLEGAL, idx != LAPIC_LVT_ERROR_I);
        return;
    }
    deliver(l, APIC_DM_FIXED, vec, false);
}

/* Asserted state of a LINT pin given its LVT polarity (SDM 10.5.1). */
static bool pin_asserted(int level, uint32_t lvt)
{
    return (level != 0) != ((lvt & LVT_POLARITY_LOW) != 0);
}

static void set_lint(struct lapic *l, int pin, int level)
{
    _Atomic int *lp = pin ? &l->lint1 : &l->lint0;
    int old = atomic_exchange(lp, level != 0);
    uint32_t mode = atomic_load(&l->mode);
    if (!(mode & LAPIC_MODE_HW_EN)) {
        /* APIC globally disabled: LINT0 is INTR, LINT1 is NMI (SDM 10.4.3) */
        if (pin == 0 && level) {
            atomic_fetch_or(&l->ev, LAPIC_EV_EXTINT);
            kick(l);
        } else if (pin == 1 && level && !old) {
            post_nmi(l);
            kick(l);
        }
        return;
    }
    uint32_t lvt = lvt_get(l, pin ? LAPIC_LVT_LINT1_I : LAPIC_LVT_LINT0_I);
    if (lvt & LVT_MASKED)
        return;
    bool now = pin_asserted(level, lvt), was = pin_asserted(old, lvt);
    int dm = (int)((lvt >> 8) & 7);
    if (dm == APIC_DM_EXTINT) { /* always level-sensitive (SDM 10.5.1) */
        if (now && pin == 0) {
            atomic_fetch_or(&l->ev, LAPIC_EV_EXTINT);
            kick(l);
        }
        return;
    }
    if (!now || was)
        return; /* act on the rising (asserting) edge */
    bool trig_level = dm == APIC_DM_FIXED && (lvt & LVT_LEVEL) && pin == 0;
    if (dm == APIC_DM_FIXED && (lvt & 0xFF) < 16) {
        log_error(l, LAPIC_ESR_RECV_ILLEGAL, true);
        kick(l);
        return;
    }
    if (dm == APIC_DM_FIXED || dm == APIC_DM_NMI || dm == APIC_DM_INIT)
        lapic_accept(l, dm, (int)(lvt & 0xFF), trig_level);
}

void lapic_set_lint0(struct lapic *l, int level)
{
    set_lint(l, 0, level);
}

void lapic_set_lint1(struct lapic *l, int level)
{
    set_lint(l, 1, level);
}

bool lapic_extint_pending(struct lapic *l)
{
    if (atomic_load(&l->extint_msg))
        return true;
    int level = atomic_load(&l->lint0);
    if (!(l->apic_base & APIC_BASE_EN))
        return level != 0; /* LINT0 acts as the INTR pin */
    uint32_t lvt = lvt_get(l, LAPIC_LVT_LINT0_I);
    return !(lvt & LVT_MASKED) && ((lvt >> 8) & 7) == APIC_DM_EXTINT &&
           pin_asserted(level, lvt);
}

void lapic_extint_ack(struct lapic *l)
{
    atomic_store(&l->extint_msg, false);
}

uint32_t lapic_take_events(struct lapic *l)
{
    uint32_t e = atomic_fetch_and(&l->ev, ~(EV_EDGE | EV_ERR));
    if (e & EV_ERR)
        fire_lvt_fixed(l, LAPIC_LVT_ERROR_I);
    uint32_t out = e & (EV_EDGE & ~LAPIC_EV_NMI);
    if (e & LAPIC_EV_NMI) {
        uint32_t n = atomic_exchange(&l->nmi_count, 0);
        out |= (n >= 1 ? LAPIC_EV_NMI : 0) | (n >= 2 ? LAPIC_EV_NMI2 : 0);
    }
    atomic_fetch_and(&l->ev, ~(LAPIC_EV_INTR | LAPIC_EV_EXTINT));
    if (compute_pending(l) >= 0) {
        atomic_fetch_or(&l->ev, LAPIC_EV_INTR);
        out |= LAPIC_EV_INTR;
    }
    if (lapic_extint_pending(l)) {
        atomic_fetch_or(&l->ev, LAPIC_EV_EXTINT);
        out |= LAPIC_EV_EXTINT;
    }
    return out;
}

int lapic_pending_vector(struct lapic *l)
{
    return refresh_intr(l);
}

void lapic_ack(struct lapic *l, int vector)
{
    if (vector < 0 || vector > 255)
        return;
    uint32_t bit = 1u << (vector & 31);
    atomic_fetch_and(&l->irr[vector >> 5], ~bit);
    l->isr[vector >> 5] |= bit;
    refresh_intr(l);
}

/* SDM 10.8.5: EOI retires the highest-priority in-service interrupt. */
static void do_eoi(struct lapic *l)
{
    int v = highest_isr(l);
    if (v < 0)
        return;
    uint32_t bit = 1u << (v & 31);
    l->isr[v >> 5] &= ~bit;
    if ((atomic_load(&l->tmr[v >> 5]) & bit) && l->eoi_broadcast)
        l->eoi_broadcast(l->eoi_ctx, v);
    refresh_intr(l);
}

/* ---------- destinations and the APIC bus ---------- */

void apic_bus_init(struct apic_bus *b)
{
    memset(b, 0, sizeof(*b));
}

int apic_bus_add(struct apic_bus *b, struct lapic *l)
{
    if (b->n < 0 || b->n >= MAX_VCPUS)
        return -1;
    b->cpu[b->n++] = l;
    l->bus = b;
    return 0;
}

/* SDM 10.6.2.1 / 10.6.2.2 / 10.12.9 */
static bool dest_match(struct lapic *t, uint32_t dest, bool logical)
{
    uint32_t mode = atomic_load(&t->mode);
    uint32_t id = atomic_load_explicit(&t->id, memory_order_relaxed);
    if (dest == APIC_DEST_BROADCAST)
        return true;
    if (mode & LAPIC_MODE_X2) {
        if (!logical)
            return id == dest;
        uint32_t ldr = x2_ldr(id);
        return (dest >> 16) == (ldr >> 16) && (dest & ldr & 0xFFFF) != 0;
    }
    if (!logical)
        return dest == (id & 0xFF);
    uint32_t d = dest & 0xFF;
    if (d == 0xFF)
        return true;
    uint32_t ldr = atomic_load_explicit(&t->ldr, memory_order_relaxed) >> 24;
    if (mode & LAPIC_MODE_CLUSTER)
        return (ldr >> 4) == (d >> 4) && (ldr & d & 0xF) != 0;
    return (ldr & d) != 0; /* flat model */
}

void apic_bus_deliver(struct apic_bus *b, uint32_t dest, bool logical, int delivery_mode,
                      int vector, bool level, int shorthand, struct lapic *self)
{
    if (!b)
        return;
    int n = b->n < 0 ? 0 : (b->n > MAX_VCPUS ? MAX_VCPUS : b->n);
    struct lapic *best = NULL;
    uint32_t best_pri = 0;
    for (int i = 0; i < n; i++) {
        struct lapic *t = b->cpu[i];
        if (!t)
            continue;
        bool hit;
        switch (shorthand & 3) {
        case APIC_SH_SELF: hit = t == self; break;
        case APIC_SH_ALL: hit = true; break;
        case APIC_SH_OTHERS: hit = t != self; break;
        default: hit = dest_match(t, dest, logical); break;
        }
        if (!hit)
            continue;
        if (delivery_mode == APIC_DM_LOWEST) {
            uint32_t m = atomic_load(&t->mode);
            if ((m & (LAPIC_MODE_HW_EN | LAPIC_MODE_SW_EN)) !=
                (LAPIC_MODE_HW_EN | LAPIC_MODE_SW_EN))
                continue;
            uint32_t pri = atomic_load_explicit(&t->tpr, memory_order_relaxed) & 0xF0;
            if (!best || pri < best_pri) {
                best = t;
                best_pri = pri;
            }
            continue;
        }
        if (deliver(t, delivery_mode, vector, level) && t != self)
            kick(t);
    }
    if (best && deliver(best, APIC_DM_FIXED, vector, level) && best != self)
        kick(best);
}

/* ICR write (SDM 10.6.1, Table 10-3 valid combinations for the xAPIC). */
static void send_ipi(struct lapic *l, uint32_t lo, uint32_t dest)
{
    int dm = (int)((lo >> 8) & 7);
    int vec = (int)(lo & 0xFF);
    bool logical = (lo >> 11) & 1;
    bool assert_ = (lo >> 14) & 1;
    bool trig_level = (lo >> 15) & 1;
    int sh = (int)((lo >> 18) & 3);
    if (dm == APIC_DM_INIT && trig_level && !assert_)
        return; /* INIT level de-assert: not supported, ignored */
    if (dm == 3 || dm == APIC_DM_EXTINT || dm == APIC_DM_SMI)
        return;
    if ((sh == APIC_SH_SELF || sh == APIC_SH_ALL) && dm != APIC_DM_FIXED)
        return; /* invalid combinations */
    if ((dm == APIC_DM_FIXED || dm == APIC_DM_LOWEST) && vec < 16) {
        log_error(l, LAPIC_ESR_SEND_ILLEGAL, true);
        return;
    }
    if (!is_x2(l) && !logical && dest == 0xFF)
        dest = APIC_DEST_BROADCAST;
    /* The xAPIC always issues IPIs edge-triggered (Table 10-3 note 2). */
    if (sh == APIC_SH_SELF) {
        deliver(l, APIC_DM_FIXED, vec, false);
        return;
    }
    apic_bus_deliver(l->bus, dest, logical, dm, vec, false, sh, l);
}

/* ---------- timer (SDM 10.5.4) ---------- */

static unsigned dcr_shift(uint32_t dcr)
{
    static const uint8_t shift[8] = { 1, 2, 3, 4, 5, 6, 7, 0 };
    return shift[(dcr & 3) | ((dcr >> 1) & 4)];
}

static int timer_mode(const struct lapic *l)
{
    int m = (int)((lvt_get(l, LAPIC_LVT_TIMER_I) >> 17) & 3);
    return m == 3 ? TIMER_ONESHOT : m; /* 11b is reserved */
}

static uint64_t tsc_to_ns(const struct lapic *l, uint64_t tsc)
{
    uint64_t hz = l->tsc_hz ? l->tsc_hz : 1000000000ull;
    if (tsc <= l->tsc_offset)
        return 0;
    unsigned __int128 ns = ((unsigned __int128)(tsc - l->tsc_offset) * 1000000000ull + hz - 1) / hz;
    return ns >= CLOCK_NEVER ? CLOCK_NEVER - 1 : (uint64_t)ns;
}

static uint32_t timer_ccr(struct lapic *l, uint64_t now)
{
    /* A stopped timer reads 0: one-shot expired, or a periodic timer that
     * was switched from an expired one-shot (it is not re-armed). */
    if (!l->timer_icr || timer_mode(l) == TIMER_TSC_DEADLINE || l->timer_deadline == CLOCK_NEVER)
        return 0;
    if (now < l->timer_start)
        return l->timer_icr;
    uint64_t ticks = (now - l->timer_start) >> dcr_shift(l->timer_dcr);
    if (timer_mode(l) == TIMER_PERIODIC)
        return l->timer_icr - (uint32_t)(ticks % l->timer_icr);
    return ticks >= l->timer_icr ? 0 : l->timer_icr - (uint32_t)ticks;
}

/* Process every expiry up to now with the current LVT (fires if unmasked). */
static void timer_sync(struct lapic *l, uint64_t now)
{
    if (l->timer_deadline > now)
        return;
    int mode = timer_mode(l);
    if (mode == TIMER_PERIODIC && l->timer_icr) {
        uint64_t p = (uint64_t)l->timer_icr << dcr_shift(l->timer_dcr);
        if (p < LAPIC_TIMER_MIN_PERIOD_NS)
            p = LAPIC_TIMER_MIN_PERIOD_NS;
        uint64_t n = (now - l->timer_deadline) / p + 1;
        uint64_t next = l->timer_deadline + n * p;
        l->timer_deadline = next < l->timer_deadline ? CLOCK_NEVER : next;
    } else {
        l->timer_deadline = CLOCK_NEVER;
        if (mode == TIMER_TSC_DEADLINE)
            l->tsc_deadline = 0;
    }
    fire_lvt_fixed(l, LAPIC_LVT_TIMER_I);
}

/* Keep the current count continuous across a divide or mode change. */
static void timer_rebase(struct lapic *l, uint64_t now, uint32_t cur)
{
    if (!l->timer_icr || !cur || l->timer_deadline == CLOCK_NEVER) {
        l->timer_deadline = CLOCK_NEVER;
        return;
    }
    unsigned s = dcr_shift(l->timer_dcr);
    uint64_t done = (uint64_t)(l->timer_icr - cur) << s;
    l->timer_start = done <= now ? now - done : 0;
    l->timer_deadline = now + ((uint64_t)cur << s);
}

static void timer_write_icr(struct lapic *l, uint32_t v)
{
    uint64_t now = now_of(l);
    timer_sync(l, now);
    if (timer_mode(l) == TIMER_TSC_DEADLINE)
        return; /* ignored in TSC-deadline mode (SDM 10.5.4.1) */
    l->timer_icr = v;
    l->timer_start = now;
    l->timer_deadline = v ? now + ((uint64_t)v << dcr_shift(l->timer_dcr)) : CLOCK_NEVER;
}

static void timer_write_dcr(struct lapic *l, uint32_t v)
{
    uint64_t now = now_of(l);
    timer_sync(l, now);
    uint32_t cur = timer_ccr(l, now);
    l->timer_dcr = v & 0xB;
    if (timer_mode(l) != TIMER_TSC_DEADLINE)
        timer_rebase(l, now, cur);
}

static void timer_write_lvt(struct lapic *l, uint32_t v)
{
    uint64_t now = now_of(l);
    timer_sync(l, now); /* expiries before the write use the old LVT */
    int old = timer_mode(l);
    uint32_t cur = timer_ccr(l, now);
    lvt_set(l, LAPIC_LVT_TIMER_I, v);
    int new = timer_mode(l);
    if (old == new)
        return;
    if (old == TIMER_TSC_DEADLINE || new == TIMER_TSC_DEADLINE) {
        /* switching to/from TSC-deadline disarms the timer (SDM 10.5.4.1) */
        l->timer_icr = 0;
        l->tsc_deadline = 0;
        l->timer_deadline = CLOCK_NEVER;
    } else {
        timer_rebase(l, now, cur);
    }
}

uint64_t lapic_get_tsc_deadline(struct lapic *l)
{
    timer_sync(l, now_of(l));
    return timer_mode(l) == TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
}

void lapic_set_tsc_deadline(struct lapic *l, uint64_t tsc)
{
    uint64_t now = now_of(l);
    timer_sync(l, now);
    if (timer_mode(l) != TIMER_TSC_DEADLINE)
        return; /* writes ignored outside TSC-deadline mode */
    l->tsc_deadline = tsc;
    l->timer_deadline = tsc ? tsc_to_ns(l, tsc) : CLOCK_NEVER;
    timer_sync(l, now); /* a deadline already in the past fires at once */
}

uint64_t lapic_next_deadline(struct lapic *l)
{
    if (lvt_get(l, LAPIC_LVT_TIMER_I) & LVT_MASKED)
        return CLOCK_NEVER; /* expiry is caught up lazily, no interrupt */
    return l->timer_deadline;
}

void lapic_advance(struct lapic *l, uint64_t now_ns)
{
    timer_sync(l, now_ns);
}

/* ---------- registers ---------- */

static void write_svr(struct lapic *l, uint32_t v)
{
    l->svr = v & 0x3FF; /* vector, APIC enable, focus checking (ignored) */
    if (!(l->svr & SVR_ENABLE)) /* software disable masks every LVT (SDM 10.4.7.2) */
        for (int i = 0; i < LAPIC_NLVT; i++)
            lvt_set(l, i, lvt_get(l, i) | LVT_MASKED);
    update_mode(l);
    refresh_intr(l);
}

static void write_lvt(struct lapic *l, int idx, uint32_t v)
{
    v &= lvt_wmask[idx];
    if (!(l->svr & SVR_ENABLE))
        v |= LVT_MASKED;
    if (idx == LAPIC_LVT_TIMER_I)
        timer_write_lvt(l, v);
    else
        lvt_set(l, idx, v);
}

void lapic_set_tpr(struct lapic *l, uint32_t tpr)
{
    atomic_store(&l->tpr, tpr & 0xFF);
    refresh_intr(l);
}

/* Reads shared by both modes; false for a reserved offset. */
static bool reg_read(struct lapic *l, uint32_t off, uint32_t *out)
{
    uint32_t v;
    int li = lvt_index(off);
    if (li >= 0) {
        *out = lvt_get(l, li);
        return true;
    }
    if (off >= LAPIC_ISR && off < LAPIC_ISR + 0x80) {
        *out = l->isr[(off - LAPIC_ISR) >> 4];
        return true;
    }
    if (off >= LAPIC_TMR && off < LAPIC_TMR + 0x80) {
        *out = atomic_load(&l->tmr[(off - LAPIC_TMR) >> 4]);
        return true;
    }
    if (off >= LAPIC_IRR && off < LAPIC_IRR + 0x80) {
        *out = atomic_load(&l->irr[(off - LAPIC_IRR) >> 4]);
        return true;
    }
    switch (off) {
    case LAPIC_ID:
        v = atomic_load(&l->id);
        v = is_x2(l) ? v : v << 24;
        break;
    case LAPIC_VER: v = LAPIC_VERSION; break;
    case LAPIC_TPR: v = atomic_load(&l->tpr); break;
    case LAPIC_APR: v = compute_apr(l); break;
    case LAPIC_PPR: v = compute_ppr(l); break;
    case LAPIC_EOI: case LAPIC_RRD: v = 0; break;
    case LAPIC_LDR: v = is_x2(l) ? x2_ldr(atomic_load(&l->id)) : atomic_load(&l->ldr); break;
    case LAPIC_DFR: v = atomic_load(&l->dfr); break;
    case LAPIC_SVR: v = l->svr; break;
    case LAPIC_ESR: v = l->esr; break;
    case LAPIC_ICR_LO: v = l->icr_lo; break;
    case LAPIC_ICR_HI: v = l->icr_hi; break;
    case LAPIC_TIMER_ICR: v = l->timer_icr; break;
    case LAPIC_TIMER_CCR: v = timer_ccr(l, now_of(l)); break;
    case LAPIC_TIMER_DCR: v = l->timer_dcr; break;
    default: return false;
    }
    *out = v;
    return true;
}

/* Writes shared by both modes (values already checked/masked by the caller
 * in x2APIC mode).  Read-only registers ignore writes; false = reserved. */
static bool reg_write(struct lapic *l, uint32_t off, uint32_t v)
{
    int li = lvt_index(off);
    if (li >= 0) {
        write_lvt(l, li, v);
        return true;
    }
    if (off >= LAPIC_ISR && off < LAPIC_IRR + 0x80)
        return true; /* ISR/TMR/IRR are read-only */
    switch (off) {
    case LAPIC_ID:
        if (!is_x2(l))
            atomic_store(&l->id, v >> 24);
        return true;
    case LAPIC_TPR: lapic_set_tpr(l, v); return true;
    case LAPIC_EOI: do_eoi(l); return true;
    case LAPIC_LDR:
        if (!is_x2(l))
            atomic_store(&l->ldr, v & 0xFF000000u);
        return true;
    case LAPIC_DFR:
        if (!is_x2(l)) {
            atomic_store(&l->dfr, v | 0x0FFFFFFFu);
            update_mode(l);
        }
        return true;
    case LAPIC_SVR: write_svr(l, v); return true;
    case LAPIC_ESR: /* latch errors since the last write (SDM 10.5.3) */
        l->esr = atomic_exchange(&l->esr_pending, 0);
        return true;
    case LAPIC_ICR_LO:
        l->icr_lo = v & 0x000CCFFFu; /* delivery status always reads idle */
        send_ipi(l, l->icr_lo, is_x2(l) ? l->icr_hi : l->icr_hi >> 24);
        return true;
    case LAPIC_ICR_HI: l->icr_hi = is_x2(l) ? v : v & 0xFF000000u; return true;
    case LAPIC_TIMER_ICR: timer_write_icr(l, v); return true;
    case LAPIC_TIMER_DCR: timer_write_dcr(l, v); return true;
    case LAPIC_VER: case LAPIC_APR: case LAPIC_PPR: case LAPIC_RRD: case LAPIC_TIMER_CCR:
        return true;
    default: return false;
    }
}

static bool xapic_active(const struct lapic *l)
{
    return (l->apic_base & (APIC_BASE_EN | APIC_BASE_EXTD)) == APIC_BASE_EN;
}

bool lapic_mmio_hit(struct lapic *l, uint64_t gpa)
{
    return xapic_active(l) && (gpa & ~0xFFFull) == (l->apic_base & ~0xFFFull);
}

uint32_t lapic_read(struct lapic *l, uint32_t offset)
{
    uint32_t v = 0;
    if (!xapic_active(l) || (offset & 0xF))
        return 0;
    if (!reg_read(l, offset & 0xFF0, &v)) {
        log_error(l, LAPIC_ESR_ILLEGAL_REG, true);
        return 0;
    }
    return v;
}

void lapic_write(struct lapic *l, uint32_t offset, uint32_t val)
{
    if (!xapic_active(l) || (offset & 0xF))
        return;
    if (!reg_write(l, offset & 0xFF0, val))
        log_error(l, LAPIC_ESR_ILLEGAL_REG, true);
}

/* ---------- x2APIC MSRs (SDM 10.12.1.2, Table 10-6) ---------- */

int lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *val)
{
    if (!is_x2(l) || !(l->apic_base & APIC_BASE_EN) || msr < 0x800 || msr > 0x8FF)
        return -1;
    uint32_t off = (msr - 0x800) << 4, v;
    switch (off) {
    case LAPIC_ICR_LO:
        *val = ((uint64_t)l->icr_hi << 32) | l->icr_lo;
        return 0;
    case LAPIC_APR: case LAPIC_EOI: case LAPIC_RRD: case LAPIC_DFR: case LAPIC_ICR_HI:
    case LAPIC_SELF_IPI:
        return -1; /* write-only or not present in x2APIC mode */
    }
    if (!reg_read(l, off, &v))
        return -1;
    *val = v;
    return 0;
}

int lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t val)
{
    if (!is_x2(l) || !(l->apic_base & APIC_BASE_EN) || msr < 0x800 || msr > 0x8FF)
        return -1;
    uint32_t off = (msr - 0x800) << 4;
    if (off == LAPIC_ICR_LO) {
        if ((uint32_t)val & ~0x000CCFFFu) /* reserved bits 12,13,16,17,20-31 */
            return -1;
        l->icr_hi = (uint32_t)(val >> 32);
        reg_write(l, LAPIC_ICR_LO, (uint32_t)val);
        return 0;
    }
    if (val >> 32)
        return -1; /* upper halves are reserved (RsvdZ: #GP on non-zero) */
    uint32_t v = (uint32_t)val, allowed;
    int li = lvt_index(off);
    if (li >= 0) {
        /* delivery status / remote IRR are read-only, tolerate read-back */
        allowed = lvt_wmask[li] | (1u << 12) |
                  (li == LAPIC_LVT_LINT0_I || li == LAPIC_LVT_LINT1_I ? LVT_REMOTE_IRR : 0);
    } else {
        switch (off) {
        case LAPIC_TPR: allowed = 0xFF; break;
        case LAPIC_EOI: case LAPIC_ESR: allowed = 0; break; /* only 0 may be written */
        case LAPIC_SVR: allowed = 0x3FF; break; /* no EOI-broadcast suppression */
        case LAPIC_TIMER_ICR: allowed = 0xFFFFFFFFu; break;
        case LAPIC_TIMER_DCR: allowed = 0xB; break;
        case LAPIC_SELF_IPI:
            if (v & ~0xFFu)
                return -1;
            deliver(l, APIC_DM_FIXED, (int)v, false); /* self: no kick needed */
            return 0;
        default: return -1; /* read-only or reserved */
        }
    }
    if (v & ~allowed)
        return -1;
    reg_write(l, off, v);
    return 0;
}

/* ---------- IA32_APIC_BASE (SDM 10.4.4, 10.12.5) ---------- */

uint64_t lapic_get_base(struct lapic *l)
{
    return l->apic_base;
}

static void reset_regs(struct lapic *l)
{
    atomic_store(&l->tpr, 0);
    for (int i = 0; i < 8; i++) {
        atomic_store(&l->irr[i], 0);
        atomic_store(&l->tmr[i], 0);
        l->isr[i] = 0;
    }
    l->esr = 0;
    atomic_store(&l->esr_pending, 0);
    l->icr_lo = l->icr_hi = 0;
    atomic_store(&l->ldr, 0);
    atomic_store(&l->dfr, 0xFFFFFFFFu);
    l->svr = 0xFF;
    for (int i = 0; i < LAPIC_NLVT; i++)
        lvt_set(l, i, LVT_MASKED);
    l->timer_icr = l->timer_dcr = 0;
    l->timer_start = 0;
    l->timer_deadline = CLOCK_NEVER;
    l->tsc_deadline = 0;
    atomic_store(&l->extint_msg, false);
    atomic_fetch_and(&l->ev, ~(EV_ERR | LAPIC_EV_INTR | LAPIC_EV_EXTINT));
    update_mode(l);
}

int lapic_set_base(struct lapic *l, uint64_t val)
{
    unsigned pa = l->maxphyaddr >= 32 && l->maxphyaddr <= 52 ? l->maxphyaddr : 48;
    uint64_t reserved = 0x2FFull | ~((1ull << pa) - 1);
    if (val & reserved)
        return -1;
    bool old_en = l->apic_base & APIC_BASE_EN, old_x2 = is_x2(l);
    bool en = val & APIC_BASE_EN, x2 = val & APIC_BASE_EXTD;
    if (!en && x2)
        return -1; /* the invalid state */
    if (old_x2 && en && !x2)
        return -1; /* x2APIC -> xAPIC must go through disabled */
    if (!old_en && en && x2)
        return -1; /* disabled -> x2APIC is illegal */
    val = (val & ~APIC_BASE_BSP) | (l->bsp ? APIC_BASE_BSP : 0); /* BSP is read-only */
    l->apic_base = val;
    if (old_en && !en) {
        reset_regs(l); /* SDM 10.4.3: prior initialization may be lost */
    } else if (!old_x2 && x2) {
        atomic_store(&l->id, l->initial_id); /* physical x2APIC ID preserved */
    }
    update_mode(l);
    refresh_intr(l);
    return 0;
}

/* ---------- lifecycle ---------- */

void lapic_reset(struct lapic *l, bool init)
{
    if (!init) {
        l->apic_base = LAPIC_DEFAULT_BASE | APIC_BASE_EN | (l->bsp ? APIC_BASE_BSP : 0);
        atomic_store(&l->id, l->initial_id);
        atomic_store(&l->ev, 0);
        atomic_store(&l->nmi_count, 0);
        atomic_store(&l->sipi_vector, 0);
    }
    reset_regs(l);
}

void lapic_init(struct lapic *l, uint32_t apic_id, bool bsp, struct apic_bus *bus)
{
    memset(l, 0, sizeof(*l));
    l->now_ns = default_now;
    l->tsc_hz = 1000000000ull;
    l->maxphyaddr = 48;
    l->bus = bus;
    l->initial_id = apic_id;
    l->bsp = bsp;
    lapic_reset(l, false);
}

void lapic_firmware_setup(struct lapic *l)
{
    write_svr(l, 0x1FF);
    write_lvt(l, LAPIC_LVT_LINT0_I, (APIC_DM_EXTINT << 8) | (l->bsp ? 0 : LVT_MASKED));
    write_lvt(l, LAPIC_LVT_LINT1_I, APIC_DM_NMI << 8);
}
