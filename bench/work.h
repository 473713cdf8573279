/*
 * work.h — the freestanding CPU-bound benchmark workload (bench/work.c),
 * shared by bench/cpubench.c (L1 user space) and bench/l2main.c (L2 image).
 */
#ifndef NESTVM_BENCH_WORK_H
#define NESTVM_BENCH_WORK_H
#include <stdint.h>

/* Run `rounds` rounds of fill + sort + hash; the result depends only on rounds. */
uint64_t bench_work(uint32_t rounds);

#endif
