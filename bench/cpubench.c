/*
 * cpubench.c — the CPU-bound guest workload of `make bench` as a static Linux
 * program (L1 user space): runs bench_work() (bench/work.c: hashing, sorting,
 * branches, memory; the same object is linked into the L2 image
 * bench/l2bench.bin) and prints the hash and its own duration as the guest
 * sees it (CLOCK_MONOTONIC).
 *
 *   cpubench [ROUNDS]      (default 40)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "work.h"

int main(int argc, char **argv)
{
    char *end = NULL;
    long rounds = argc > 1 ? strtol(argv[1], &end, 0) : 40;
    if (argc > 2 || (end && *end) || rounds < 0 || rounds > 1000000) {
        fprintf(stderr, "usage: cpubench [ROUNDS (0-1000000)]\n");
        return 1;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t h = bench_work((uint32_t)rounds);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("CPUBENCH: rounds %ld hash %016llx time %.1f ms\n", rounds, (unsigned long long)h, ms);
    return 0;
}
