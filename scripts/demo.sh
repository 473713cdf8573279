#!/usr/bin/env bash
# demo.sh — the main demo: a guest that runs a nested guest.
#   L0: nestvm's software engine with NestedVirtualization=enabled (VT-x for guests)
#   L1: the unmodified Debian cloud kernel; its initramfs loads kvm_intel
#   L2: a small guest launched through L1's /dev/kvm (tests/nested/l2launch),
#       which prints a marker from real, protected and long mode; then nestvm
#       itself (static, --accel kvm) inside L1 runs a 64-bit test guest as L2.
# Extra arguments go to `nestvm run` (e.g. --trace-vmx).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
make -j"$(nproc)" build/nestvm build/nestvm-static
tests/nested/build.sh >/dev/null
bash tests/guests/run.sh >/dev/null 2>&1 || true   # builds build/guests/*.elf
k=$(ls -1 /boot/vmlinuz-*-cloud-amd64 | sort -V | tail -1)
EXTRA="build/nested/l2launch:bin/l2launch build/nested/l2guest.bin:bin/l2guest.bin \
build/nestvm-static:bin/nestvm build/guests/lm_hello.elf:bin/guests/lm_hello.elf" \
  scripts/mkinitramfs.sh build/demo-initrd.cpio.gz
exec build/nestvm run --kernel "$k" --initrd build/demo-initrd.cpio.gz --memory 1G \
  --cpu-options NestedVirtualization=enabled --stats \
  --cmdline "console=ttyS0 panic=-1 quiet nestvm.mode=nested" "$@"
