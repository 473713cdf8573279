#!/usr/bin/env bash
# run.sh — engine microbenchmark (not a test: no speed assertions).
#   tests/perf/run.sh [ROUNDS]          run on the engine; the checksum must match the host's
#   CALLGRIND=1 tests/perf/run.sh [R]   the same under valgrind --tool=callgrind; prints host
#                                       instructions (Ir) per guest instruction, a figure that
#                                       does not depend on the machine's load
# Builds build/perf/ from build/libnestvm.a (the normal, not the SAN, build).
set -eu
cd "$(dirname "$0")/../.."
out=build/perf; mkdir -p "$out"
rounds=${1:-20}
WFLAGS="-O2 -fno-builtin -fno-tree-loop-distribute-patterns -mgeneral-regs-only"
GFLAGS="$WFLAGS -ffreestanding -fno-pic -fno-stack-protector -fcf-protection=none"
make -s build/libnestvm.a
# The guest: a flat binary loaded at the harness' TH_CODE (64-bit mode, CPL 0).
gcc $GFLAGS -c tests/perf/workload.c -o "$out/workload.o"
gcc -c tests/perf/start.S -o "$out/start.o"
ld -static -nostdlib -e _start -Ttext=0x10000 --build-id=none -o "$out/workload.elf" \
    "$out/start.o" "$out/workload.o"
objcopy -O binary -j .text -j .rodata -j .data "$out/workload.elf" "$out/workload.bin"
gcc -O2 -g -std=gnu11 -Isrc -Itests/unit -pthread -o "$out/perfbench" tests/perf/perfbench.c \
    tests/unit/cpu_harness.c -Wl,--whole-archive build/libnestvm.a -Wl,--no-whole-archive -lm
# The same workload on the host gives the expected checksum.
gcc $WFLAGS -c tests/perf/workload.c -o "$out/workload-native.o"
gcc -O2 -o "$out/native" tests/perf/native.c "$out/workload-native.o"
sum=$("$out/native" "$rounds")
if [ "${CALLGRIND:-0}" = 1 ]; then
  valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
    "$out/perfbench" "$out/workload.bin" "$rounds" "$sum" 2>"$out/callgrind.err" |
    tee "$out/perfbench.txt"
  ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/callgrind.err")
  g=$(sed -n 's/.*, \([0-9]*\) guest instructions.*/\1/p' "$out/perfbench.txt")
  echo "callgrind: $ir host instructions, $g guest instructions," \
       "$(echo "scale=2; $ir / $g" | bc) per guest instruction"
  echo "(callgrind_annotate $out/callgrind.out | head -60)"
else
  "$out/perfbench" "$out/workload.bin" "$rounds" "$sum"
fi
