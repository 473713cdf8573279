#!/usr/bin/env bash
# build.sh — builds the guest-side inputs of `make bench` into build/bench/:
#   work.o        the freestanding CPU-bound workload (bench/work.c), compiled once
#   cpubench      static Linux program: work.o + bench/cpubench.c (L1 user space)
#   l2bench.bin   flat L2 image: bench/l2entry.S + bench/l2main.c + the same work.o,
#                 linked at 0x1000 for tests/nested/l2launch (real mode entry)
# and, through tests/nested/build.sh, build/nested/{l2launch,l2guest.bin}.
#   bench/build.sh            (called by bench/run.sh; Debian gcc/binutils only)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
out=build/bench
mkdir -p "$out"
tests/nested/build.sh >/dev/null
free=(-std=gnu11 -O2 -Wall -Wextra -Werror -ffreestanding -fno-pie -fno-stack-protector
      -mno-red-zone -fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns)
gcc "${free[@]}" -c -o "$out/work.o" bench/work.c
gcc -std=gnu11 -O2 -Wall -Wextra -Werror -static -no-pie -Ibench -o "$out/cpubench" \
    bench/cpubench.c "$out/work.o"
gcc "${free[@]}" -Ibench -c -o "$out/l2main.o" bench/l2main.c
gcc -c -o "$out/l2entry.o" bench/l2entry.S
ld -m elf_x86_64 -nostdlib -static --no-warn-rwx-segments -T bench/l2bench.ld \
   -o "$out/l2bench.elf" "$out/l2entry.o" "$out/l2main.o" "$out/work.o"
objcopy -O binary "$out/l2bench.elf" "$out/l2bench.bin"
