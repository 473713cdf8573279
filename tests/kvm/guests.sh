#!/usr/bin/env bash
# guests.sh — the KVM engine runs the project's test guests (tests/guests:
# Multiboot, real mode, 64-bit) and this directory's edge-case guests, and
# must give the same serial output and exit status as the software engine.
# KVM-only cases: an emulation failure ends with one line and status 126,
# --timeout stops a vCPU that never leaves KVM_RUN (status 125), --stats
# reports the exits and the nested-state size.  When /dev/kvm cannot run
# guests at all every case is a SKIP with the reason `nestvm check` gives;
# known kvm_pvm gaps are SKIPs only when the exact failure is seen.
set -u
source "$(dirname "$0")/common.sh"
kvm_facts
if [ "$KVM_USABLE" != yes ]; then
  skip "KVM engine guests: $KVM_WHY (flavour $KVM_FLAVOUR)"
  finish; exit
fi
disk=$OUT/disk.img; rm -f "$disk"; truncate -s 1M "$disk"

# parity NAME WANT_STATUS ELF ARGS... : both engines exit WANT_STATUS with
# byte-identical serial output (and identical stderr for non-zero even
# statuses, where both print the stop reason)
parity() {
  local name=$1 want=$2 elf=$3; shift 3
  run_nv "$name.emu" --kernel "$elf" --timeout 60 --accel emu "$@"; local rce=$RC
  run_nv "$name.kvm" --kernel "$elf" --timeout 60 --accel kvm "$@"; local rck=$RC
  PARITY_EMU_RC=$rce PARITY_KVM_RC=$rck
  if [ "$rce" -eq "$want" ] && [ "$rck" -eq "$want" ] && [ -s "$OUT/$name.emu.out" ] &&
     cmp -s "$OUT/$name.emu.out" "$OUT/$name.kvm.out" &&
     { [ $((want & 1)) -eq 1 ] || cmp -s "$OUT/$name.emu.err" "$OUT/$name.kvm.err"; }; then
    ok "$name: kvm = emu (status $want, $(wc -l <"$OUT/$name.kvm.out") lines of serial output)"
    return 0
  fi
  return 1
}
parity_report() { # NAME WANT
  bad "$1 (emu status $PARITY_EMU_RC, kvm status $PARITY_KVM_RC, want $2)"
  diff "$OUT/$1.emu.out" "$OUT/$1.kvm.out" | head -10
  tail -3 "$OUT/$1.emu.err" "$OUT/$1.kvm.err"
}

# --- the project's test guests ---
mb=$(build_guest tests/guests/mb_hello.S) || { bad "build mb_hello"; finish; exit; }
parity multiboot-hello 1 "$mb" --cmdline hello-arg || parity_report multiboot-hello 1
grep -aq "cmdline: .*mb_hello.elf hello-arg" "$OUT/multiboot-hello.kvm.out" &&
  ok "multiboot-hello: KVM guest saw its command line" || bad "multiboot-hello: command line missing on KVM"
for s in tests/guests/*.S; do
  n=$(basename "$s" .S)
  [ "$n" = mb_hello ] && continue
  want=$(sed -n 's/.*nestvm-guest: expect-status \([0-9]*\).*/\1/p' "$s" | head -1)
  args=$(sed -n 's/.*nestvm-guest: args \(.*\)$/\1/p' "$s" | head -1)
  elf=$(build_guest "$s") || { bad "build $n"; continue; }
  # shellcheck disable=SC2086
  parity "$n" "${want:-1}" "$elf" $args || parity_report "$n" "${want:-1}"
done
rm_out=$OUT/rm_hello.kvm.out
grep -aq "rm_hello: 3 PIT interrupts through the 8259A" "$rm_out" &&
  ok "rm_hello: real mode, IVT, PIT → in-kernel 8259A interrupts on KVM" || bad "rm_hello on KVM: $(tail -1 "$rm_out")"
grep -aq "lm_hello: lapic timer interrupt" "$OUT/lm_hello.kvm.out" &&
  ok "lm_hello: long mode, #UD, string I/O, LAPIC timer on KVM" || bad "lm_hello on KVM"

# --- MMIO exits to our virtio-mmio device, SMP, RAM above the PCI hole ---
lm=$OUT/lm_hello.elf
parity lm_hello-disk 1 "$lm" --disk "$disk" || parity_report lm_hello-disk 1
grep -aq "mmio 0xd0000000 74726976" "$OUT/lm_hello-disk.kvm.out" &&
  ok "lm_hello-disk: KVM_EXIT_MMIO reached virtio-mmio (magic 'virt')" || bad "lm_hello-disk: no virtio magic over MMIO"
parity mb_hello-2cpus 1 "$mb" --cpus 2 --cmdline hello-arg || parity_report mb_hello-2cpus 1
parity mb_hello-4G 1 "$mb" --memory 4G --cmdline hello-arg || parity_report mb_hello-4G 1

# --- faults ---
tr=$(build_guest tests/kvm/guests/triple.S) || bad "build triple"
parity triple 124 "$tr" || parity_report triple 124
t3=$(build_guest tests/kvm/guests/triple_int3.S) || bad "build triple_int3"
if ! parity triple_int3 124 "$t3"; then
  if [ "$KVM_FLAVOUR" = pvm ] && [ "$PARITY_KVM_RC" -eq 126 ] &&
     grep -q "KVM internal error: emulation failure (suberror 1) on vCPU 0 at 0008:[0-9a-f]*, code: cc" "$OUT/triple_int3.kvm.err"; then
    skip "triple_int3: kvm_pvm's instruction emulator fails on INT3 ($(cat "$OUT/triple_int3.kvm.err")) where KVM on VT-x/AMD-V shuts down"
  else
    parity_report triple_int3 124
  fi
fi
em=$(build_guest tests/kvm/guests/exec_mmio.S) || bad "build exec_mmio"
run_nv exec_mmio.kvm --kernel "$em" --timeout 60 --accel kvm
if [ "$RC" -eq 126 ] && [ "$(wc -l <"$OUT/exec_mmio.kvm.err")" -eq 1 ] &&
   grep -q "^nestvm: KVM internal error: .* on vCPU 0 at 0008:00000000d0000000" "$OUT/exec_mmio.kvm.err" &&
   grep -aq "exec_mmio: jumping" "$OUT/exec_mmio.kvm.out"; then
  ok "exec_mmio: code fetch from MMIO → one line, status 126: $(cat "$OUT/exec_mmio.kvm.err")"
else
  bad "exec_mmio (status $RC, want 126)"; cat "$OUT/exec_mmio.kvm.err"
fi

# --- a vCPU that never exits by itself still stops at --timeout ---
sp=$(build_guest tests/kvm/guests/spin.S) || bad "build spin"
for mode in spin halt; do
  t0=$(date +%s)
  RUN_LIMIT=60 run_nv "spin-$mode" --kernel "$sp" --cmdline "$mode" --timeout 2 --accel kvm
  t=$(( $(date +%s) - t0 ))
  if [ "$RC" -eq 125 ] && [ "$t" -lt 30 ] && grep -aq "spin: running forever" "$OUT/spin-$mode.out"; then
    ok "spin ($mode): --timeout 2 kicked the vCPU out of KVM_RUN after ${t}s (status 125)"
  else
    bad "spin ($mode): status $RC after ${t}s (want 125)"; cat "$OUT/spin-$mode.err"
  fi
done

# --- --stats on KVM: exits and nested state ---
run_nv stats --kernel "$mb" --cmdline hello-arg --stats --accel kvm --timeout 60
if [ "$RC" -eq 1 ] && grep -q "stats: KVM engine (flavour $KVM_FLAVOUR).*port I/O [1-9]" "$OUT/stats.err" &&
   grep -q "stats: vCPU 0 nested state" "$OUT/stats.err"; then
  ok "--stats: $(grep 'nested state' "$OUT/stats.err" | sed 's/^nestvm: stats: //')"
else
  bad "--stats on KVM (status $RC)"; cat "$OUT/stats.err"
fi
finish
