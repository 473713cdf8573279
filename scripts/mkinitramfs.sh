#!/usr/bin/env bash
# mkinitramfs.sh OUT.cpio.gz [KVER] — build the busybox initramfs nestvm's
# tests, demo and benchmarks boot.  Everything comes from Debian packages
# (busybox-static, linux-image-cloud-amd64); the kernel modules are copied
# from /lib/modules/KVER (default: the newest *-cloud-amd64).
#
# The guest's /init reads "nestvm.mode=" from the kernel command line:
#   boot   (default) print a marker and /proc/cpuinfo's flags, power off
#   disk   read /dev/vda's first sector, write a pattern to sector 1, power off
#   shell  start an interactive shell on the console (poweroff -f leaves)
#   nested load kvm_intel, report /dev/kvm, run /bin/l2launch /bin/l2guest.bin
#          if present (tests/linux/nested.sh), print dmesg on failure, power off
#   bench  run the CPU-bound workload /bin/cpubench, power off
#   nestbench  (make bench (c)) load kvm_intel or kvm_amd (by the vmx/svm cpuinfo
#          flag), run /bin/l2launch /bin/l2guest.bin, print NESTBENCH-RC, power off
#   l2bench    (make bench (d)) /bin/cpubench ROUNDS in L1, then the same workload
#          as L2: l2launch -T -a ROUNDS /bin/l2bench.bin; print L2BENCH-RC, power off
#   diskbench  (make bench (e)) sequential dd write then read of MIB MiB on
#          /dev/vda with O_DIRECT, bs=1M; print DISKBENCH-WRITE/-READ, power off
# "nestvm.arg=" passes ROUNDS (bench, l2bench: default 40) or MIB (diskbench, default 128).
# The *bench modes print their result markers through the kernel log (/dev/kmsg:
# written to the console synchronously, so a slow UART cannot lose them at poweroff).
# Extra files: set EXTRA="src:dst ..." to copy host files into the image (dst is
# relative to the image's root, e.g. build/nested/l2launch:bin/l2launch).
set -euo pipefail
out=${1:?usage: mkinitramfs.sh OUT.cpio.gz [KVER]}
kver=${2:-}
if [ -z "$kver" ]; then
  k=$(ls -1 /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1)
  [ -n "$k" ] || { echo "mkinitramfs: no /boot/vmlinuz-*-cloud-amd64 (apt-get install linux-image-cloud-amd64)" >&2; exit 1; }
  kver=${k#/boot/vmlinuz-}
fi
bb=/bin/busybox
[ -x "$bb" ] || bb=$(command -v busybox)
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,dev,proc,sys,tmp,etc,lib/modules}
cp "$bb" "$root/bin/busybox"
for a in sh mount umount cat echo grep sed dd od hexdump ls insmod modprobe poweroff sleep \
         mkdir mknod head tail wc cmp tr uname dmesg sync true false test printf ps kill seq; do
  ln -sf busybox "$root/bin/$a"
done
mods=/lib/modules/$kver/kernel
m=$root/lib/modules
for f in drivers/virtio/virtio.ko drivers/virtio/virtio_ring.ko drivers/virtio/virtio_mmio.ko \
         drivers/block/virtio_blk.ko virt/lib/irqbypass.ko arch/x86/kvm/kvm.ko \
         arch/x86/kvm/kvm-intel.ko arch/x86/kvm/kvm-amd.ko \
         drivers/virtio/virtio_pci_legacy_dev.ko drivers/virtio/virtio_pci_modern_dev.ko \
         drivers/virtio/virtio_pci.ko; do
  for ext in "" .xz .zst; do
    if [ -e "$mods/$f$ext" ]; then
      case $ext in
        .xz) xz -dc "$mods/$f$ext" > "$m/$(basename "$f")";;
        .zst) zstd -qdc "$mods/$f$ext" > "$m/$(basename "$f")";;
        *) cp "$mods/$f" "$m/";;
      esac
    fi
  done
done
for pair in ${EXTRA:-}; do
  case $pair in *:?*) ;; *) echo "mkinitramfs: EXTRA entry '$pair' is not SRC:DST" >&2; exit 1;; esac
  [ -f "${pair%%:*}" ] || { echo "mkinitramfs: EXTRA file '${pair%%:*}' missing" >&2; exit 1; }
  mkdir -p "$root/$(dirname "${pair#*:}")"
  cp "${pair%%:*}" "$root/${pair#*:}"
done
cat > "$root/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev 2>/dev/null
mode=boot
arg=
for w in $(cat /proc/cmdline); do
  case $w in
    nestvm.mode=*) mode=${w#nestvm.mode=};;
    nestvm.arg=*) arg=${w#nestvm.arg=};;
  esac
done
echo "NESTVM-INIT-REACHED mode=$mode"
load_virtio() {
  for k in virtio_ring virtio virtio_mmio virtio_blk; do insmod /lib/modules/$k.ko 2>/dev/null; done
}
say() { echo "<5>$*" >/dev/kmsg; }   # *bench result markers: on the console before poweroff
case $mode in
boot)
  echo "CPUS: $(grep -c ^processor /proc/cpuinfo)"
  grep -m1 '^flags' /proc/cpuinfo
  ;;
disk)
  load_virtio
  i=0; while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  echo "DISK-READ: $(dd if=/dev/vda bs=512 count=1 2>/dev/null | head -c 32)"
  if printf 'written-by-guest-%s' nestvm | dd of=/dev/vda bs=512 seek=1 conv=notrunc,fsync 2>/dev/null; then
    sync; echo "DISK-WRITE: ok"
  else
    echo "DISK-WRITE: failed"
  fi
  ;;
shell)
  echo "NESTVM-SHELL-READY"
  setsid sh -c 'exec sh </dev/ttyS0 >/dev/ttyS0 2>&1'
  ;;
nested)
  kvm_diag() { # why kvm_intel / the L2 guest failed: the kernel's own words
    echo "NESTED-DIAG: dmesg (kvm|vmx):"
    dmesg | grep -i -E 'kvm|vmx' | grep -v 'ACPI: ' | tail -40
    echo "NESTED-DIAG: end"
  }
  if grep -qw vmx /proc/cpuinfo; then echo "VMX-FLAG: yes"; else echo "VMX-FLAG: no"; fi
  # "vmx flags" (kernel >= 5.8) lists the VMX features decoded from the capability MSRs
  grep -m1 '^vmx flags' /proc/cpuinfo
  insmod /lib/modules/irqbypass.ko
  insmod /lib/modules/kvm.ko
  # dump_invalid_vmcs: on a failed VM entry kvm_intel prints the whole VMCS
  if insmod /lib/modules/kvm-intel.ko dump_invalid_vmcs=1; then
    echo "KVM-INTEL: loaded"
    l="KVM-INTEL-PARAMS:"
    for n in ept unrestricted_guest vpid flexpriority enable_apicv pml preemption_timer nested; do
      l="$l $n=$(cat /sys/module/kvm_intel/parameters/$n 2>/dev/null || echo '?')"
    done
    echo "$l"
  else
    echo "KVM-INTEL: refused"
    kvm_diag
  fi
  [ -e /dev/kvm ] && echo "DEV-KVM: present" || echo "DEV-KVM: absent"
  if [ -x /bin/l2launch ] && [ -e /dev/kvm ]; then
    /bin/l2launch -t 600 /bin/l2guest.bin
    rc=$?
    echo "L2-LAUNCH-RC: $rc"
    [ $rc -eq 0 ] || kvm_diag
  fi
  # nestvm itself as the L1 hypervisor: its KVM engine on L1's /dev/kvm runs a
  # test guest as L2 (L0 nestvm software engine -> L1 Linux+KVM -> L2).
  if [ -x /bin/nestvm ] && [ -e /dev/kvm ]; then
    for g in /bin/guests/*.elf; do
      [ -e "$g" ] || continue
      /bin/nestvm run --accel kvm --kernel "$g" --memory 64M --timeout 300 --cmdline nested-l2 </dev/null
      echo "L2-NESTVM-RC: $(basename "$g") $?"
    done
  fi
  ;;
bench)
  [ -x /bin/cpubench ] && /bin/cpubench ${arg:-40}
  ;;
nestbench|l2bench)
  # kvm_intel under VT-x (nestvm, Bochs), kvm_amd under AMD-V (QEMU TCG +svm)
  kvm=none
  if grep -qw vmx /proc/cpuinfo; then kvm=kvm-intel; elif grep -qw svm /proc/cpuinfo; then kvm=kvm-amd; fi
  if [ $mode = l2bench ]; then
    rounds=${arg:-40}
    /bin/cpubench "$rounds"
  fi
  insmod /lib/modules/irqbypass.ko
  insmod /lib/modules/kvm.ko
  if [ $kvm != none ] && insmod /lib/modules/$kvm.ko && [ -e /dev/kvm ]; then
    echo "KVM-MODULE: $kvm"
    if [ $mode = nestbench ]; then
      /bin/l2launch -t 1800 /bin/l2guest.bin
      say "NESTBENCH-RC: $?"
    else
      /bin/l2launch -t 1800 -T -a "$rounds" /bin/l2bench.bin
      say "L2BENCH-RC: $?"
    fi
  else
    echo "KVM-MODULE: $kvm failed"
    say "$(echo $mode | tr a-z A-Z)-RC: no-kvm"
  fi
  ;;
diskbench)
  load_virtio
  for k in virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci; do insmod /lib/modules/$k.ko 2>/dev/null; done
  i=0; while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  mib=${arg:-128}
  # Timed by the guest clock (Debian's busybox dd prints no rate line): the shell
  # writes marks to /dev/kmsg (debug level: not echoed on the console), and the
  # kernel log's microsecond timestamps of the marks are the times.
  echo "<7>DISKBENCH-MARK-0" >/dev/kmsg
  dd if=/dev/zero of=/dev/vda bs=1M count=$mib oflag=direct conv=fsync 2>/dev/null; w=$?
  echo "<7>DISKBENCH-MARK-1" >/dev/kmsg
  dd if=/dev/vda of=/dev/null bs=1M count=$mib iflag=direct 2>/dev/null; r=$?
  echo "<7>DISKBENCH-MARK-2" >/dev/kmsg
  t() { dmesg | sed -n "s/^\[ *\([0-9.]*\)\] DISKBENCH-MARK-$1\$/\1/p"; }
  say "DISKBENCH-WRITE: rc $w MiB $mib seconds $(t 0) $(t 1)"
  say "DISKBENCH-READ: rc $r MiB $mib seconds $(t 1) $(t 2)"
  ;;
esac
echo "NESTVM-POWEROFF"
poweroff -f
INIT
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet) | gzip -1 > "$out"
