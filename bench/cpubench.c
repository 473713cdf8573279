/*
 * cpubench.c — the CPU-bound guest workload of `make bench`: integer work
 * typical of ordinary programs (hashing, sorting, branches, memory), built
 * statically into the benchmark initramfs.  Prints its own duration as the
 * guest sees it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static uint32_t rng = 12345;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

static int cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 40;
    enum { N = 1 << 16 };
    static uint32_t v[N];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    uint64_t h = 1469598103934665603ull;
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < N; i++)
            v[i] = next();
        qsort(v, N, sizeof v[0], cmp);
        for (int i = 0; i < N; i++) {
            h ^= v[i];
            h *= 1099511628211ull;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
    printf("CPUBENCH: rounds %d hash %016llx time %.1f ms\n", rounds, (unsigned long long)h, ms);
    return 0;
}
