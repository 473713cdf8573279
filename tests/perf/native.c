/* native.c — runs workload.c on the host to get the reference checksum. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

uint64_t perf_main(uint64_t rounds);

int main(int argc, char **argv)
{
    printf("%016" PRIx64 "\n", perf_main(argc > 1 ? strtoull(argv[1], NULL, 0) : 1));
    return 0;
}
