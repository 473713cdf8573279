#!/usr/bin/env bash
# nested.sh — nested virtualization end to end: the Debian cloud kernel boots on
# nestvm's software engine, loads kvm_intel and runs a tiny L2 guest through
# /dev/kvm (tests/nested: l2launch + l2guest.bin, real mode -> protected mode ->
# long mode, output through port I/O exits).
#   (a) NestedVirtualization=enabled:  VMX-FLAG: yes, KVM-INTEL: loaded,
#       DEV-KVM: present, the L2 guest's lines, L2-LAUNCH-RC: 0, exit status 0;
#       and nestvm itself (build/nestvm-static --accel kvm) inside L1 runs the
#       project's test guests as L2 with the same output and status as at L0.
#   (b) NestedVirtualization=disabled (the default): VMX-FLAG: no,
#       KVM-INTEL: refused, exit status 0.
# NESTED_PARTS="a b" selects the parts; NESTVM_ARGS adds nestvm options (e.g.
# --trace-vmx); on failure the console's tail (with the guest's own dmesg
# excerpt, NESTED-DIAG) is printed, and NESTED_KEEP=DIR keeps the full logs.
set -u
source "$(dirname "$0")/common.sh"
if [ -n "${NESTED_KEEP:-}" ]; then tmp=$NESTED_KEEP; mkdir -p "$tmp"
else tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT; fi

tests/nested/build.sh >&2 || { bad "tests/nested/build.sh"; finish; exit; }
# nestvm itself (static, KVM engine) also runs inside L1 as the L1 hypervisor.
make -s build/nestvm-static >&2 && NESTVM= bash tests/guests/run.sh >/dev/null 2>&1
for f in build/nestvm-static build/guests/mb_hello.elf build/guests/lm_hello.elf; do
  [ -e "$f" ] || { bad "missing $f"; finish; exit; }
done
NINITRD=build/nested-initrd.cpio.gz
EXTRA="build/nested/l2launch:bin/l2launch build/nested/l2guest.bin:bin/l2guest.bin \
build/nestvm-static:bin/nestvm build/guests/mb_hello.elf:bin/guests/mb_hello.elf \
build/guests/lm_hello.elf:bin/guests/lm_hello.elf" \
  scripts/mkinitramfs.sh "$NINITRD" >&2 || { bad "mkinitramfs (nested)"; finish; exit; }

run_nested() { # run_nested enabled|disabled OUTFILE -> exit status
  "$NV" run --kernel "$KERNEL" --initrd "$NINITRD" --memory 1G \
     --cpu-options NestedVirtualization="$1" \
     --cmdline "console=ttyS0 panic=-1 nestvm.mode=nested" --timeout "$LINUX_TIMEOUT" --stats \
     ${NESTVM_ARGS:-} \
     </dev/null >"$2" 2>"$2.err"
}

expect() { # expect OUT LABEL PATTERN... : every (fixed-string) line present
  local out=$1 label=$2; shift 2
  local p missing=
  for p in "$@"; do grep -aqF -- "$p" "$out" || missing="$missing [$p]"; done
  if [ -z "$missing" ]; then ok "$label"; return 0; fi
  bad "$label: missing$missing"; return 1
}

show() { # show OUT : the interesting part of the console for the report
  echo "---- console (nestvm.mode=nested lines, diagnostics, tail) ----"
  grep -a -E 'NESTVM-|VMX|KVM|DEV-KVM|L2-|NESTED-DIAG|kvm|vmx' "$1" | head -80
  echo "---- last 15 lines ----"; tail -15 "$1"
  echo "---- stderr ----"; tail -5 "$1.err"
}

parts=${NESTED_PARTS:-a b}

case " $parts " in *" a "*)
  out=$tmp/enabled
  run_nested enabled "$out"; rc=$?
  grep -a "stats:" "$out.err"
  f=0
  expect "$out" "(a) enabled: L1 sees VMX" "NESTVM-INIT-REACHED mode=nested" "VMX-FLAG: yes" || f=1
  expect "$out" "(a) enabled: kvm_intel loads, /dev/kvm appears" "KVM-INTEL: loaded" "DEV-KVM: present" || f=1
  expect "$out" "(a) enabled: L2 runs real mode" "L2-LAUNCHER: starting" "L2-GUEST-MARKER: hello from L2" || f=1
  expect "$out" "(a) enabled: L2 reaches protected and long mode" \
    "L2-GUEST: protected mode ok" "L2-GUEST: long mode ok" "L2-GUEST: done" "L2-LAUNCH-RC: 0" || f=1
  expect "$out" "(a) enabled: nestvm --accel kvm inside L1 runs L2 test guests" \
    "lm_hello: lapic timer interrupt" "lm_hello: done" "L2-NESTVM-RC: lm_hello.elf 1" \
    "mb_hello: multiboot guest running, cmdline: /bin/guests/mb_hello.elf nested-l2" \
    "L2-NESTVM-RC: mb_hello.elf 1" || f=1
  if [ $rc -eq 0 ] && grep -aqF "NESTVM-POWEROFF" "$out"; then ok "(a) enabled: powers off, exit status 0"
  else bad "(a) enabled: exit status $rc (0 expected; 125 = timeout, 124 = triple fault, 126 = internal error)"; f=1; fi
  [ $f -eq 0 ] || show "$out"
  ;;
esac

case " $parts " in *" b "*)
  out=$tmp/disabled
  run_nested disabled "$out"; rc=$?
  grep -a "stats:" "$out.err"
  f=0
  expect "$out" "(b) disabled: no VMX, kvm_intel refuses" \
    "NESTVM-INIT-REACHED mode=nested" "VMX-FLAG: no" "KVM-INTEL: refused" "DEV-KVM: absent" || f=1
  if grep -aqF "L2-LAUNCHER" "$out"; then bad "(b) disabled: the L2 launcher ran without /dev/kvm"; f=1; fi
  if [ $rc -eq 0 ] && grep -aqF "NESTVM-POWEROFF" "$out"; then ok "(b) disabled: powers off, exit status 0"
  else bad "(b) disabled: exit status $rc"; f=1; fi
  [ $f -eq 0 ] || show "$out"
  ;;
esac
finish
