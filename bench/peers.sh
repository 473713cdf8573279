#!/usr/bin/env bash
# peers.sh — boot the same Debian kernel + initramfs on the software peers of nestvm
# (QEMU TCG and Bochs) and print wall times, so nestvm can be measured beside them.
# bench/run.sh's copy of ../shared/bench/peers.sh, with a few additions.
#
#   peers.sh KERNEL INITRD [qemu|bochs|all] [qemu-cpu]
#
#   CMDLINE=...      kernel command line (default: console=ttyS0 panic=-1)
#   KEEP_LOGS=PREFIX keep the serial logs as PREFIX.qemu.log / PREFIX.bochs.serial.txt
#   QEMU_ARGS=...    extra QEMU arguments (word-split), e.g. a virtio disk:
#                    "-drive file=disk.img,format=raw,if=virtio"
#   BOCHS_CPU=MODEL  Bochs CPU model (default corei7_skylake_x, which has VMX)
# Needs Debian packages: qemu-system-x86 bochs bochs-term bochsbios vgabios syslinux
# syslinux-common mtools dosfstools (apt-get install -y --no-install-recommends ...).
# The initramfs must power the guest off at the end (busybox: poweroff -f).
# Bochs has no direct kernel boot: the kernel and initramfs go on a FAT image booted by
# SYSLINUX through Bochs' BIOS, which is how a Bochs user boots Linux.
# Bochs prints its instruction count at exit ("t=" of its last log lines) in WORK/bochs.log.
set -euo pipefail
kernel=${1:?kernel}; initrd=${2:?initrd}; which=${3:-all}; qcpu=${4:-qemu64}
cmdline=${CMDLINE:-console=ttyS0 panic=-1}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }

if [ "$which" = qemu ] || [ "$which" = all ]; then
  t0=$(now)
  # shellcheck disable=SC2086  # QEMU_ARGS is a list of words
  timeout 900 qemu-system-x86_64 -accel tcg -cpu "$qcpu" -m 512 -nographic -no-reboot \
    -kernel "$kernel" -initrd "$initrd" -append "$cmdline" ${QEMU_ARGS:-} </dev/null >"$work/qemu.log" 2>&1 || true
  t1=$(now)
  printf 'qemu-tcg  wall %.2f s\n' "$(echo "$t1 - $t0" | bc)"
  [ -n "${KEEP_LOGS:-}" ] && cp "$work/qemu.log" "$KEEP_LOGS.qemu.log"
fi

if [ "$which" = bochs ] || [ "$which" = all ]; then
  img=$work/boot.img
  dd if=/dev/zero of="$img" bs=1M count=64 status=none
  mkfs.fat -F 16 "$img" >/dev/null
  printf 'DEFAULT linux\nPROMPT 0\nTIMEOUT 0\nLABEL linux\n  KERNEL vmlinuz\n  INITRD initrd.gz\n  APPEND %s\n' "$cmdline" >"$work/syslinux.cfg"
  mcopy -i "$img" "$kernel" ::vmlinuz
  mcopy -i "$img" "$initrd" ::initrd.gz
  mcopy -i "$img" "$work/syslinux.cfg" ::syslinux.cfg
  syslinux --install "$img"
  cat >"$work/bochsrc" <<RC
megs: 512
cpu: model=${BOCHS_CPU:-corei7_skylake_x}, count=1, ips=100000000, reset_on_triple_fault=0
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=disk, path=$img, mode=flat, cylinders=130, heads=16, spt=63
boot: disk
com1: enabled=1, mode=file, dev=$work/serial.txt
display_library: term
log: $work/bochs.log
clock: sync=none
RC
  echo c >"$work/rc"
  t0=$(now)
  # Debian's bochs is built with its debugger: -rc feeds it "c" (continue); term display needs a tty.
  TERM=${TERM:-xterm} timeout 900 script -qec "bochs-bin -q -f $work/bochsrc -rc $work/rc" /dev/null >/dev/null 2>&1 </dev/null || true
  t1=$(now)
  insns=$(grep -a -o '^[0-9]\{11\}' "$work/bochs.log" | tail -1 | sed 's/^0*//')
  wall=$(echo "$t1 - $t0" | bc)
  printf 'bochs     wall %.2f s  instructions %s  MIPS %.0f\n' "$wall" "${insns:-?}" "$(echo "${insns:-0} / $wall / 1000000" | bc -l)"
  [ -n "${KEEP_LOGS:-}" ] && cp "$work/serial.txt" "$KEEP_LOGS.bochs.serial.txt"
fi
exit 0
