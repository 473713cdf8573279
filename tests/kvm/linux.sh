#!/usr/bin/env bash
# linux.sh — the Debian cloud kernel on the KVM engine.  Where KVM runs
# guest code in hardware (kvm_intel, kvm_amd) it must boot to /init with 1
# and 2 vCPUs and power off with status 0, as tests/linux/boot.sh checks on
# the software engine.  On kvm_pvm guest kernel code is emulated (about
# 1 M instructions/s) and the emulator fails on instructions Linux runs
# early (INT3 in the alternatives self-test; XRSTOR unless noxsave): there
# the test checks that the kernel starts (its banner reaches our UART
# through KVM_EXIT_IO) and that the engine stops with one line naming the
# failing instruction, then reports the full boot as a SKIP with that line.
# Any other outcome on kvm_pvm is a failure.
set -u
source "$(dirname "$0")/common.sh"
kvm_facts
if [ "$KVM_USABLE" != yes ]; then
  skip "Debian kernel on KVM: $KVM_WHY (flavour $KVM_FLAVOUR)"; finish; exit
fi
KERNEL=$(ls -1 /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1)
if [ -z "$KERNEL" ]; then
  bad "no /boot/vmlinuz-*-cloud-amd64: install linux-image-cloud-amd64"; finish; exit
fi
INITRD=build/test-initrd.cpio.gz
if [ ! -e "$INITRD" ] || [ scripts/mkinitramfs.sh -nt "$INITRD" ]; then
  scripts/mkinitramfs.sh "$INITRD" >&2 || { bad "mkinitramfs"; finish; exit; }
fi

if [ "$KVM_FLAVOUR" = pvm ]; then
  # kvm_pvm shows the host's XSAVE bit whatever KVM_SET_CPUID2 says and its
  # emulator fails on XRSTOR, hence noxsave; it also fails on INT3, which
  # Linux executes in its alternatives self-test: the boot ends there.
  RUN_LIMIT=$(( ${KVM_PVM_LINUX_SECONDS:-1200} + 60 )) run_nv linux-pvm --kernel "$KERNEL" \
    --initrd "$INITRD" --memory 512M --accel kvm --timeout "${KVM_PVM_LINUX_SECONDS:-1200}" \
    --cmdline "console=ttyS0 panic=-1 nestvm.mode=boot noxsave" --stats
  o=$OUT/linux-pvm.out e=$OUT/linux-pvm.err
  last=$(grep -a '^\[' "$o" | tail -1 | cut -c1-70)
  if grep -aq "Linux version" "$o"; then
    ok "Debian kernel starts on KVM (pvm): banner on COM1, last line: $last"
  else
    bad "Debian kernel on KVM (pvm): no banner (status $RC)"; tail -3 "$e"
  fi
  fails=$(grep -c "^nestvm: KVM internal error" "$e")
  if [ "$RC" -eq 0 ] && grep -aq "NESTVM-INIT-REACHED" "$o"; then
    ok "Debian kernel boots to /init on KVM (pvm)"
  elif [ "$RC" -eq 126 ] && [ "$fails" -eq 1 ] &&
       grep -q "^nestvm: KVM internal error: emulation failure (suberror 1) on vCPU 0 at 0010:ffffffff[0-9a-f]*, code: \(cc\|48 0f ae\|f0 48 0f c7\)" "$e"; then
    skip "Debian kernel full boot on kvm_pvm: its instruction emulator gives up ($(grep -m1 '^nestvm: KVM internal error' "$e" | sed 's/^nestvm: //')) after: $last"
  else
    bad "Debian kernel on KVM (pvm): status $RC"; tail -5 "$o"; cat "$e"
  fi
  finish; exit
fi

for n in 1 2; do
  RUN_LIMIT=$(( ${LINUX_TIMEOUT:-900} + 60 )) run_nv "linux-kvm-$n" --kernel "$KERNEL" --initrd "$INITRD" --cpus $n --memory 512M --accel kvm \
    --cmdline "console=ttyS0 panic=-1 nestvm.mode=boot" --timeout "${LINUX_TIMEOUT:-900}" --stats
  o=$OUT/linux-kvm-$n.out
  if [ "$RC" -eq 0 ] && grep -aq "NESTVM-INIT-REACHED" "$o" && grep -aq "CPUS: $n" "$o" &&
     grep -aq "NESTVM-POWEROFF" "$o"; then
    ok "Debian kernel on KVM ($KVM_FLAVOUR) --cpus $n: $(grep 'stats: KVM engine' "$OUT/linux-kvm-$n.err" | sed 's/^nestvm: stats: //' | cut -c1-80)"
  else
    bad "Debian kernel on KVM --cpus $n (status $RC)"; tail -20 "$o"; tail -5 "$OUT/linux-kvm-$n.err"
  fi
done
finish
