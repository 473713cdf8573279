/*
 * work.c — the CPU-bound workload of `make bench`, freestanding: integer
 * hashing, a quicksort written here (no libc), branches and memory traffic
 * over a static 256 KiB array.  No libc calls and no other dependencies, so
 * one object file (-O2 -ffreestanding -fno-pie -fno-stack-protector
 * -mno-red-zone) links both into the static Linux program bench/cpubench
 * (L1 user space) and into the flat L2 image bench/l2bench.bin: the two
 * sides of the L2-versus-L1 comparison execute the same machine code.
 *
 *   uint64_t bench_work(uint32_t rounds)
 *     each round fills the array from a xorshift generator, sorts it and
 *     folds it into an FNV-1a style hash; returns the hash, which depends
 *     only on `rounds` (the generator restarts on every call).
 */
#include <stdint.h>

#include "work.h"

#define WORK_N (1u << 16)

static uint32_t work_v[WORK_N];

static inline uint32_t xorshift32(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

static void insertion_sort(uint32_t *a, long n)
{
    for (long i = 1; i < n; i++) {
        uint32_t x = a[i];
        long j = i - 1;
        while (j >= 0 && a[j] > x) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = x;
    }
}

static inline void swap_u32(uint32_t *a, uint32_t *b)
{
    uint32_t t = *a;
    *a = *b;
    *b = t;
}

/* Quicksort: median-of-three pivot, Hoare partition, recursion on the
 * smaller part and iteration on the larger (stack depth <= log2 n),
 * insertion sort below 16 elements. */
static void quicksort(uint32_t *a, long n)
{
    while (n > 16) {
        long mid = n / 2;
        /* order a[0] <= a[mid] <= a[n-1]: sentinels for both scans */
        if (a[mid] < a[0])
            swap_u32(&a[mid], &a[0]);
        if (a[n - 1] < a[0])
            swap_u32(&a[n - 1], &a[0]);
        if (a[n - 1] < a[mid])
            swap_u32(&a[n - 1], &a[mid]);
        uint32_t p = a[mid];
        long i = -1, j = n;
        for (;;) {
            do
                i++;
            while (a[i] < p);
            do
                j--;
            while (a[j] > p);
            if (i >= j)
                break;
            swap_u32(&a[i], &a[j]);
        }
        /* a[0..j] <= p <= a[j+1..n-1], 0 <= j <= n-2 */
        long left = j + 1, right = n - left;
        if (left < right) {
            quicksort(a, left);
            a += left;
            n = right;
        } else {
            quicksort(a + left, right);
            n = left;
        }
    }
    insertion_sort(a, n);
}

uint64_t bench_work(uint32_t rounds)
{
    uint32_t s = 12345;
    uint64_t h = 1469598103934665603ull;
    for (uint32_t r = 0; r < rounds; r++) {
        for (uint32_t i = 0; i < WORK_N; i++)
            work_v[i] = xorshift32(&s);
        quicksort(work_v, WORK_N);
        for (uint32_t i = 0; i < WORK_N; i++) {
            h ^= work_v[i];
            h *= 1099511628211ull;
        }
    }
    return h;
}
