/*
 * clock.h — the machine's time base.
 *
 * Virtual time is host CLOCK_MONOTONIC nanoseconds since the machine started.
 * Timer devices (PIT, LAPIC timer, RTC periodic) never run threads; they
 * expose "next deadline" and "catch up to now" calls that the vCPU loop
 * makes at block boundaries and when a vCPU halts.
 */
#ifndef NESTVM_HW_CLOCK_H
#define NESTVM_HW_CLOCK_H

#include <stdint.h>
#include <time.h>

#define CLOCK_NEVER UINT64_MAX

static inline uint64_t clock_host_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
