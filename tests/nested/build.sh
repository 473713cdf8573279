#!/usr/bin/env bash
# build.sh — builds the nested-virtualization test's L1 userspace pieces into
# build/nested/: l2launch (static KVM launcher, runs in the L1 guest) and
# l2guest.bin (flat real-mode L2 guest, loaded at 0x1000).
# Debian toolchain only (gcc, binutils, libc6-dev, linux-libc-dev); no network.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
src=tests/nested
out=build/nested
mkdir -p "$out"
[ -e /usr/include/linux/kvm.h ] || { echo "build.sh: /usr/include/linux/kvm.h missing (apt-get install linux-libc-dev)" >&2; exit 1; }
gcc -std=gnu11 -static -O2 -Wall -Wextra -Werror -o "$out/l2launch" "$src/l2launch.c"
# l2guest.S uses the C preprocessor for its constants.
gcc -E -P -x assembler-with-cpp "$src/l2guest.S" -o "$out/l2guest.s"
as --32 -o "$out/l2guest.o" "$out/l2guest.s"
ld -m elf_i386 -N --no-warn-rwx-segments -e _start -Ttext=0x1000 -o "$out/l2guest.elf" "$out/l2guest.o"
objcopy -O binary -j .text "$out/l2guest.elf" "$out/l2guest.bin"
echo "built $out/l2launch $out/l2guest.bin ($(stat -c %s "$out/l2guest.bin") bytes)"
