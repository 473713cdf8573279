/*
 * perfbench.c — engine microbenchmark: runs the freestanding guest
 * workload (workload.c, a flat binary built by run.sh) on the software CPU
 * through the unit-test harness (64-bit mode, CPL 0) and prints the guest
 * instruction count, host time, the rate and the checksum.  With a native
 * checksum given, it also fails when the engine computed something else.
 *
 *   perfbench BLOB ROUNDS [NATIVE_CHECKSUM_HEX]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cpu_harness.h"

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: perfbench BLOB ROUNDS [CHECKSUM]\n");
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 2;
    }
    static uint8_t blob[TH_DATA - TH_CODE + 0x40000];
    size_t n = fread(blob, 1, sizeof blob, f);
    fclose(f);
    if (n == 0 || n >= 0x60000) {
        fprintf(stderr, "perfbench: bad blob size %zu\n", n);
        return 2;
    }
    struct th t;
    th_init(&t, TH_LONG64);
    t.cpu.r[R_DI] = strtoull(argv[2], NULL, 0);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    enum th_result r = th_run_steps(&t, blob, n, 100000000000ull);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    uint64_t insns = t.cpu.icount;
    printf("perfbench: %s, %" PRIu64 " guest instructions, %.3f s, %.1f M insn/s, "
           "checksum %016" PRIx64 "\n",
           r == TH_HALT ? "halted" : r == TH_EXCEPTION ? "EXCEPTION" : "budget", insns, s,
           (double)insns / s / 1e6, t.cpu.r[R_AX]);
    if (r != TH_HALT) {
        printf("perfbench: stopped at rip %016" PRIx64 " vector %d\n", t.cpu.rip, t.vector);
        return 1;
    }
    if (argc > 3 && strtoull(argv[3], NULL, 16) != t.cpu.r[R_AX]) {
        printf("perfbench: CHECKSUM MISMATCH (native %s)\n", argv[3]);
        return 1;
    }
    th_destroy(&t);
    return 0;
}
