/*
 * rtc.c — MC146818 RTC / CMOS RAM (Motorola MC146818A datasheet).
 *
 * Register map:
 *   0x00 seconds   0x01 seconds alarm   0x02 minutes   0x03 minutes alarm
 *   0x04 hours     0x05 hours alarm     0x06 day of week (1 = Sunday)
 *   0x07 day of month   0x08 month   0x09 year (00-99)
 *   0x0a A: UIP(ro) DV2-0 RS3-0      0x0b B: SET PIE AIE UIE SQWE DM 24/12 DSE
 *   0x0c C: IRQF PF AF UF (ro, read clears)   0x0d D: VRT (ro)
 *   0x0e-0x7f battery-backed RAM (0x32 = century, IBM AT convention)
 *
 * Time model.  The time is kept as seconds since 1970 (UTC) that tick on
 * virtual time; the time registers are encoded on each read in the current
 * data mode (B.DM: BCD or binary) and hour format (B.24/12).  While SET is
 * 1 or the divider is held in reset (A.DV = 11x) updates stop: the time
 * bytes are then frozen in cmos[] where the guest may rewrite them, and the
 * clock restarts from their value afterwards (the first update comes 500 ms
 * after the divider reset is released, per the datasheet).  A time byte
 * written while the clock runs takes effect at once.  Invalid values are
 * clamped; the day of week is derived from the date; DSE is ignored.
 *
 * Flags (register C) are set whether or not their interrupt is enabled:
 *   UF  at each update cycle (every second while running)
 *   AF  at an update whose new time matches the alarm bytes (a byte with
 *       bits 7..6 = 11 matches anything)
 *   PF  at each period of the rate chosen by A.RS3-0 (32.768 kHz base)
 * IRQF = PF.PIE + AF.AIE + UF.UIE drives the IRQ line as a level; reading
 * register C clears every flag and drops it.
 *
 * UIP is approximated as 1 during the 244 us before each update (the
 * datasheet's t_BUC), the update itself taking no time.
 */
#include "hw/rtc.h"

#include <string.h>
#include <time.h>

#include "hw/clock.h"

#define NS_PER_SEC 1000000000ull
#define UIP_NS 244000ull

#define REG_SEC 0x00
#define REG_SEC_ALARM 0x01
#define REG_MIN 0x02
#define REG_MIN_ALARM 0x03
#define REG_HOUR 0x04
#define REG_HOUR_ALARM 0x05
#define REG_WDAY 0x06
#define REG_MDAY 0x07
#define REG_MON 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_CENTURY 0x32

#define A_UIP 0x80
#define A_DV 0x70
#define A_RS 0x0f
#define B_SET 0x80
#define B_PIE 0x40
#define B_AIE 0x20
#define B_UIE 0x10
#define B_DM_BINARY 0x04
#define B_24H 0x02
#define C_IRQF 0x80
#define C_PF 0x40
#define C_AF 0x20
#define C_UF 0x10
#define D_VRT 0x80

#define SEC_NEVER INT64_MAX

/* ---- calendar (proleptic Gregorian, days since 1970-01-01) ------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                          /* [0, 399] */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* from March 1 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;  /* [0, 146096] */
    return era * 146097 + doe - 719468;
}

struct rtc_tm {
    int sec, min, hour, wday, mday, mon;
    int64_t year;
};

static void civil_from_secs(int64_t t, struct rtc_tm *tm)
{
    int64_t days = floor_div(t, 86400);
    int64_t tod = t - days * 86400;
    tm->hour = (int)(tod / 3600);
    tm->min = (int)(tod / 60 % 60);
    tm->sec = (int)(tod % 60);
    tm->wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    tm->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    tm->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
    tm->year = yoe + era * 400 + (tm->mon <= 2);
}

/* ---- register encoding ------------------------------------------------ */

static bool binary_mode(const struct rtc *r)
{
    return r->cmos[REG_B] & B_DM_BINARY;
}

static uint8_t to_reg(const struct rtc *r, int v)
{
    return binary_mode(r) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | (v % 10));
}

static int from_reg(const struct rtc *r, uint8_t b)
{
    return binary_mode(r) ? b : (b >> 4) * 10 + (b & 15);
}

static uint8_t hour_to_reg(const struct rtc *r, int h)
{
    if (r->cmos[REG_B] & B_24H)
        return to_reg(r, h);
    int h12 = h % 12 ? h % 12 : 12;
    return (uint8_t)(to_reg(r, h12) | (h >= 12 ? 0x80 : 0));
}

static int hour_from_reg(const struct rtc *r, uint8_t b)
{
    if (r->cmos[REG_B] & B_24H)
        return from_reg(r, b);
    return from_reg(r, b & 0x7f) % 12 + ((b & 0x80) ? 12 : 0);
}

static int clamp(int v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

static bool is_time_reg(unsigned idx)
{
    return idx == REG_SEC || idx == REG_MIN || idx == REG_HOUR || idx == REG_WDAY ||
           idx == REG_MDAY || idx == REG_MON || idx == REG_YEAR || idx == REG_CENTURY;
}

/* Encode time t into the time bytes of cmos[] (alarms are left alone). */
static void time_to_regs(struct rtc *r, int64_t t)
{
    struct rtc_tm tm;
    civil_from_secs(t, &tm);
    int64_t cent = floor_div(tm.year, 100), yy = tm.year - cent * 100;
    r->cmos[REG_SEC] = to_reg(r, tm.sec);
    r->cmos[REG_MIN] = to_reg(r, tm.min);
    r->cmos[REG_HOUR] = hour_to_reg(r, tm.hour);
    r->cmos[REG_WDAY] = to_reg(r, tm.wday + 1);
    r->cmos[REG_MDAY] = to_reg(r, tm.mday);
    r->cmos[REG_MON] = to_reg(r, tm.mon);
    r->cmos[REG_YEAR] = to_reg(r, (int)yy);
    r->cmos[REG_CENTURY] = to_reg(r, (int)(cent < 0 ? 0 : cent > 99 ? 99 : cent));
}

/* Decode the time bytes of cmos[], clamping out-of-range fields. */
static int64_t regs_to_time(const struct rtc *r)
{
    int sec = clamp(from_reg(r, r->cmos[REG_SEC]), 0, 59);
    int min = clamp(from_reg(r, r->cmos[REG_MIN]), 0, 59);
    int hour = clamp(hour_from_reg(r, r->cmos[REG_HOUR]), 0, 23);
    int mday = clamp(from_reg(r, r->cmos[REG_MDAY]), 1, 31);
    int mon = clamp(from_reg(r, r->cmos[REG_MON]), 1, 12);
    int yy = clamp(from_reg(r, r->cmos[REG_YEAR]), 0, 99);
    int cent = clamp(from_reg(r, r->cmos[REG_CENTURY]), 0, 99);
    int64_t days = days_from_civil((int64_t)cent * 100 + yy, mon, mday);
    return days * 86400 + hour * 3600 + min * 60 + sec;
}

/* ---- time base -------------------------------------------------------- */

static uint64_t now_ns(struct rtc *r)
{
    return r->mono_ns(r->clock_ctx);
}

static bool divider_reset(const struct rtc *r)
{
    return (r->cmos[REG_A] & 0x60) == 0x60; /* DV2-0 = 11x */
}

/* Updates that happened up to time t since the last re-basing. */
static uint64_t updates_by(const struct rtc *r, uint64_t t)
{
    return t < r->base_ns ? 0 : (t - r->base_ns) / NS_PER_SEC + 1;
}

static int64_t time_at(const struct rtc *r, uint64_t t)
{
    return r->frozen ? r->base_sec : r->base_sec + (int64_t)updates_by(r, t);
}

/* Time of the first update strictly after t. */
static uint64_t next_update_ns(const struct rtc *r, uint64_t t)
{
    return r->base_ns + updates_by(r, t) * NS_PER_SEC;
}

/* Period of the periodic interrupt in 32.768 kHz cycles, 0 if off.
 * RS = 1, 2 give 3.90625 ms and 7.8125 ms with a 32.768 kHz time base. */
static uint64_t period_cycles(const struct rtc *r)
{
    unsigned rs = r->cmos[REG_A] & A_RS;
    if (rs == 0 || divider_reset(r))
        return 0;
    return 1ull << (rs <= 2 ? rs + 6 : rs - 1);
}

static uint64_t periods_by(const struct rtc *r, uint64_t t, uint64_t p)
{
    if (t <= r->div_ns)
        return 0;
    unsigned __int128 cyc = (unsigned __int128)(t - r->div_ns) * 32768 / NS_PER_SEC;
    return (uint64_t)(cyc / p);
}

static uint64_t period_end_ns(const struct rtc *r, uint64_t j, uint64_t p)
{
    unsigned __int128 ns = ((unsigned __int128)j * p * NS_PER_SEC + 32767) / 32768 + r->div_ns;
    return ns >= CLOCK_NEVER ? CLOCK_NEVER - 1 : (uint64_t)ns;
}

/* ---- alarm ------------------------------------------------------------ */

static bool alarm_field_matches(uint8_t alarm, uint8_t cur)
{
    return (alarm & 0xc0) == 0xc0 || alarm == cur;
}

static bool alarm_possible(const struct rtc *r)
{
    bool s = false, m = false, h = false;
    for (int v = 0; v < 60; v++) {
        s |= alarm_field_matches(r->cmos[REG_SEC_ALARM], to_reg(r, v));
        m |= alarm_field_matches(r->cmos[REG_MIN_ALARM], to_reg(r, v));
    }
    for (int v = 0; v < 24; v++)
        h |= alarm_field_matches(r->cmos[REG_HOUR_ALARM], hour_to_reg(r, v));
    return s && m && h;
}

/* First second after t whose time of day matches the alarm bytes. */
static int64_t next_alarm(const struct rtc *r, int64_t t)
{
    if (!alarm_possible(r))
        return SEC_NEVER;
    int64_t day = floor_div(t + 1, 86400);
    int start = (int)(t + 1 - day * 86400);
    for (int dd = 0; dd < 2; dd++, start = 0) {
        for (int h = start / 3600; h < 24; h++) {
            if (!alarm_field_matches(r->cmos[REG_HOUR_ALARM], hour_to_reg(r, h)))
                continue;
            for (int m = 0; m < 60; m++) {
                int base = h * 3600 + m * 60;
                if (base + 59 < start ||
                    !alarm_field_matches(r->cmos[REG_MIN_ALARM], to_reg(r, m)))
                    continue;
                for (int s = 0; s < 60; s++)
                    if (base + s >= start &&
                        alarm_field_matches(r->cmos[REG_SEC_ALARM], to_reg(r, s)))
                        return (day + dd) * 86400 + base + s;
            }
        }
    }
    return SEC_NEVER;
}

/* ---- flags and interrupt --------------------------------------------- */

static uint8_t irqf(const struct rtc *r)
{
    uint8_t b = r->cmos[REG_B];
    return ((r->regc & C_PF) && (b & B_PIE)) || ((r->regc & C_AF) && (b & B_AIE)) ||
           ((r->regc & C_UF) && (b & B_UIE));
}

static void update_irq(struct rtc *r)
{
    int level = irqf(r);
    if (level != r->irq_level) {
        r->irq_level = level;
        irq_set(r->irq, r->gsi, level);
    }
}

/* Set the flags for events in (last_ns, t]. */
static void sync_to(struct rtc *r, uint64_t t)
{
    if (t <= r->last_ns)
        return;
    uint64_t p = period_cycles(r);
    if (p && periods_by(r, t, p) > periods_by(r, r->last_ns, p))
        r->regc |= C_PF;
    if (!r->frozen && updates_by(r, t) > updates_by(r, r->last_ns)) {
        r->regc |= C_UF;
        if (next_alarm(r, time_at(r, r->last_ns)) <= time_at(r, t))
            r->regc |= C_AF;
    }
    r->last_ns = t;
}

/* ---- freezing (SET, divider reset) ------------------------------------ */

static void freeze(struct rtc *r, uint64_t t)
{
    r->base_sec = time_at(r, t);
    time_to_regs(r, r->base_sec);
    r->frozen = true;
}

/* Restart from the time bytes.  first_update: when the next update is due. */
static void thaw(struct rtc *r, uint64_t first_update)
{
    r->base_sec = regs_to_time(r);
    r->base_ns = first_update;
    r->frozen = false;
}

/* After a write to A or B: apply SET / divider transitions. */
static void apply_mode(struct rtc *r, uint64_t t, bool was_reset)
{
    bool reset = divider_reset(r);
    bool want_frozen = reset || (r->cmos[REG_B] & B_SET);
    if (was_reset && !reset)
        r->div_ns = t; /* divider chain restarts: periodic phase too */
    if (want_frozen && !r->frozen) {
        freeze(r, t);
    } else if (!want_frozen && r->frozen) {
        if (was_reset)
            thaw(r, t + NS_PER_SEC / 2); /* first update 500 ms later */
        else
            thaw(r, next_update_ns(r, t)); /* the divider kept its phase */
    }
}

/* ---- register access -------------------------------------------------- */

static uint8_t rtc_read_reg(struct rtc *r, unsigned idx, uint64_t t)
{
    if (is_time_reg(idx) && !r->frozen) {
        time_to_regs(r, time_at(r, t));
        return r->cmos[idx];
    }
    switch (idx) {
    case REG_A: {
        uint8_t v = r->cmos[REG_A] & ~A_UIP;
        if (!r->frozen && next_update_ns(r, t) - t <= UIP_NS)
            v |= A_UIP;
        return v;
    }
    case REG_C: {
        uint8_t v = r->regc | (irqf(r) ? C_IRQF : 0);
        r->regc = 0;
        update_irq(r);
        return v;
    }
    case REG_D:
        return D_VRT;
    default:
        return r->cmos[idx];
    }
}

static void rtc_write_reg(struct rtc *r, unsigned idx, uint8_t v, uint64_t t)
{
    if (is_time_reg(idx)) {
        if (r->frozen) {
            r->cmos[idx] = v;
        } else {
            /* A single byte changes; the divider phase is kept. */
            time_to_regs(r, time_at(r, t));
            r->cmos[idx] = v;
            r->base_sec = regs_to_time(r);
            r->base_ns = next_update_ns(r, t);
        }
        return;
    }
    switch (idx) {
    case REG_A: {
        bool was_reset = divider_reset(r);
        r->cmos[REG_A] = v & ~A_UIP;
        apply_mode(r, t, was_reset);
        break;
    }
    case REG_B:
        if ((v & B_SET) && !(r->cmos[REG_B] & B_SET))
            v &= ~B_UIE; /* datasheet: UIE is cleared when SET goes to 1 */
        r->cmos[REG_B] = v;
        apply_mode(r, t, divider_reset(r));
        break;
    case REG_C:
    case REG_D:
        break; /* read-only */
    default:
        r->cmos[idx] = v;
        break;
    }
    update_irq(r);
}

static uint64_t rtc_io_read(void *opaque, uint64_t off, unsigned size)
{
    struct rtc *r = opaque;
    uint64_t t = now_ns(r), v = 0;
    sync_to(r, t);
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint64_t b = off + i == 1 ? rtc_read_reg(r, r->index, t) : 0xff; /* 0x70 is write-only */
        v |= b << (8 * i);
    }
    update_irq(r);
    return v;
}

static void rtc_io_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct rtc *r = opaque;
    uint64_t t = now_ns(r);
    sync_to(r, t);
    for (unsigned i = 0; i < size && i < 8; i++) {
        uint8_t b = (uint8_t)(val >> (8 * i));
        if (off + i == 0) {
            r->index = b & 0x7f; /* bit 7 masks NMI on a PC; not part of the index */
            r->nmi_disabled = b & 0x80;
        } else if (off + i == 1) {
            rtc_write_reg(r, r->index, b, t);
        }
    }
    update_irq(r);
}

static const struct io_ops rtc_ops = { rtc_io_read, rtc_io_write };

/* ---- public API ------------------------------------------------------- */

static uint64_t host_mono(void *ctx)
{
    return clock_host_ns();
}

static int64_t host_wall(void *ctx)
{
    return (int64_t)time(NULL);
}

void rtc_set_clock(struct rtc *r, uint64_t (*mono_ns)(void *ctx), int64_t (*wall_sec)(void *ctx),
                   void *ctx)
{
    r->mono_ns = mono_ns ? mono_ns : host_mono;
    r->wall_sec = wall_sec ? wall_sec : host_wall;
    r->clock_ctx = ctx;
    uint64_t t = now_ns(r);
    r->base_sec = r->wall_sec(ctx);
    r->base_ns = t + NS_PER_SEC;
    r->div_ns = t;
    r->last_ns = t;
    r->frozen = false;
    r->regc = 0;
    update_irq(r);
}

void rtc_init(struct rtc *r, struct bus *bus, const struct irq_sink *irq, unsigned gsi)
{
    memset(r, 0, sizeof(*r));
    r->irq = irq;
    r->gsi = gsi;
    r->cmos[REG_A] = 0x26; /* 32.768 kHz time base, 1024 Hz periodic rate */
    r->cmos[REG_B] = B_24H; /* BCD, 24-hour, no interrupts */
    r->cmos[REG_CENTURY] = 0x20;
    rtc_set_clock(r, NULL, NULL, NULL);
    if (bus)
        bus_register(bus, BUS_PIO, 0x70, 2, &rtc_ops, r);
}

static void put16(struct rtc *r, unsigned idx, uint64_t v)
{
    if (v > 0xffff)
        v = 0xffff;
    r->cmos[idx] = (uint8_t)v;
    r->cmos[idx + 1] = (uint8_t)(v >> 8);
}

void rtc_set_memory(struct rtc *r, uint64_t below_4g, uint64_t above_4g)
{
    const uint64_t mib = 1024 * 1024;
    put16(r, 0x15, 640);
    uint64_t ext_kb = below_4g > mib ? (below_4g - mib) / 1024 : 0;
    put16(r, 0x17, ext_kb);
    put16(r, 0x30, ext_kb);
    put16(r, 0x34, below_4g > 16 * mib ? (below_4g - 16 * mib) >> 16 : 0);
    uint64_t high = above_4g >> 16;
    if (high > 0xffffff)
        high = 0xffffff;
    r->cmos[0x5b] = (uint8_t)high;
    r->cmos[0x5c] = (uint8_t)(high >> 8);
    r->cmos[0x5d] = (uint8_t)(high >> 16);
    /* IBM AT checksum of bytes 0x10-0x2d, big-endian at 0x2e/0x2f. */
    unsigned sum = 0;
    for (unsigned i = 0x10; i <= 0x2d; i++)
        sum += r->cmos[i];
    r->cmos[0x2e] = (uint8_t)(sum >> 8);
    r->cmos[0x2f] = (uint8_t)sum;
}

uint64_t rtc_next_deadline(struct rtc *r)
{
    uint64_t best = CLOCK_NEVER, t = r->last_ns;
    uint8_t b = r->cmos[REG_B];
    uint64_t p = period_cycles(r);
    if ((b & B_PIE) && !(r->regc & C_PF) && p) {
        uint64_t d = period_end_ns(r, periods_by(r, t, p) + 1, p);
        best = d < best ? d : best;
    }
    if (!r->frozen && (b & B_UIE) && !(r->regc & C_UF)) {
        uint64_t d = next_update_ns(r, t);
        best = d < best ? d : best;
    }
    if (!r->frozen && (b & B_AIE) && !(r->regc & C_AF)) {
        int64_t s = next_alarm(r, time_at(r, t));
        if (s != SEC_NEVER) {
            /* The update making the time s is number s - base_sec (1-based). */
            uint64_t k = (uint64_t)(s - r->base_sec) - 1;
            unsigned __int128 d = (unsigned __int128)k * NS_PER_SEC + r->base_ns;
            if (d < best)
                best = (uint64_t)d;
        }
    }
    return best;
}

void rtc_advance(struct rtc *r, uint64_t now)
{
    sync_to(r, now);
    update_irq(r);
}
