#!/usr/bin/env bash
# demo.sh — the main demo: the Debian cloud kernel boots on nestvm's software
# engine with NestedVirtualization=enabled, loads kvm_intel and (when the
# engine's VT-x is complete) runs an L2 guest under it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
make -j"$(nproc)" build/nestvm
k=$(ls -1 /boot/vmlinuz-*-cloud-amd64 | sort -V | tail -1)
scripts/mkinitramfs.sh build/demo-initrd.cpio.gz
exec build/nestvm run --kernel "$k" --initrd build/demo-initrd.cpio.gz --memory 1G \
  --cpu-options NestedVirtualization=enabled --stats \
  --cmdline "console=ttyS0 panic=-1 nestvm.mode=nested" "$@"
