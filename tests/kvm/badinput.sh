#!/usr/bin/env bash
# badinput.sh — --accel kvm without a usable /dev/kvm (simulated with
# NESTVM_KVM_DEV) is one line and exit status 2; an unknown --accel is one
# line; --accel auto says on one stderr line which engine it chose and why;
# NestedVirtualization=enabled on a KVM without nested VMX is refused.
set -u
source "$(dirname "$0")/common.sh"
mb=$(build_guest tests/guests/mb_hello.S) || { bad "build mb_hello"; finish; exit; }

# expect NAME STATUS PATTERN [env ...] -- ARGS : exit STATUS, exactly one
# stderr line matching PATTERN, nothing on stdout
expect() {
  local name=$1 want=$2 pat=$3; shift 3
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
  env "${envs[@]}" timeout -k 5 60 "$NV" "$@" </dev/null >"$OUT/bi.out" 2>"$OUT/bi.err"; local rc=$?
  local lines; lines=$(wc -l <"$OUT/bi.err")
  if [ "$rc" -eq "$want" ] && [ "$lines" -eq 1 ] && grep -q -- "$pat" "$OUT/bi.err" && [ ! -s "$OUT/bi.out" ]; then
    ok "$name: $(cat "$OUT/bi.err")"
  else
    bad "$name (rc=$rc want $want, stderr lines=$lines)"; cat "$OUT/bi.err"; head -3 "$OUT/bi.out"
  fi
}
expect "--accel kvm, /dev/kvm missing" 2 "cannot open /nonexistent: No such file or directory" \
  NESTVM_KVM_DEV=/nonexistent -- run --kernel "$mb" --accel kvm
expect "--accel kvm, device is not KVM" 2 "/dev/null speaks KVM API -1" \
  NESTVM_KVM_DEV=/dev/null -- run --kernel "$mb" --accel kvm
expect "--accel kvm, device is a directory" 2 "cannot open /tmp: Is a directory" \
  NESTVM_KVM_DEV=/tmp -- run --kernel "$mb" --accel kvm
expect "unknown --accel" 2 "--accel: 'tcg' is not an engine (use emu, kvm or auto)" \
  -- run --kernel "$mb" --accel tcg
expect "empty --accel" 2 "--accel: '' is not an engine" -- run --kernel "$mb" --accel ""
expect "--accel without a value" 2 "unknown or incomplete option '--accel'" -- run --kernel "$mb" --accel
expect "bad kernel beats the engine" 2 "No such file" \
  NESTVM_KVM_DEV=/nonexistent -- run --kernel "$OUT/missing.elf" --accel kvm

# auto without KVM: the software engine runs the guest, one line says so
NESTVM_KVM_DEV=/nonexistent timeout 60 "$NV" run --kernel "$mb" --accel auto --cmdline x \
  </dev/null >"$OUT/auto.out" 2>"$OUT/auto.err"; rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l <"$OUT/auto.err")" -eq 1 ] &&
   grep -q "^nestvm: --accel auto: using the software engine (cannot open /nonexistent" "$OUT/auto.err" &&
   grep -aq "mb_hello: multiboot guest running" "$OUT/auto.out"; then
  ok "--accel auto without /dev/kvm: $(cat "$OUT/auto.err")"
else
  bad "--accel auto without /dev/kvm (rc=$rc)"; cat "$OUT/auto.err"
fi

kvm_facts
if [ "$KVM_USABLE" = yes ]; then
  timeout 60 "$NV" run --kernel "$mb" --accel auto --cmdline x </dev/null >"$OUT/auto2.out" 2>"$OUT/auto2.err"; rc=$?
  # kvm_pvm is usable but slower than the software engine: auto never picks it
  if [ "$KVM_FLAVOUR" = pvm ]; then
    want="^nestvm: --accel auto: using the software engine (/dev/kvm is PVM-backed (kvm_pvm)"
  else
    want="^nestvm: --accel auto: using KVM (.*flavour $KVM_FLAVOUR)"
  fi
  if [ $rc -eq 1 ] && [ "$(wc -l <"$OUT/auto2.err")" -eq 1 ] && grep -q "$want" "$OUT/auto2.err" &&
     grep -aq "mb_hello: multiboot guest running" "$OUT/auto2.out"; then
    ok "--accel auto with a usable /dev/kvm ($KVM_FLAVOUR): $(cat "$OUT/auto2.err")"
  else
    bad "--accel auto with /dev/kvm (rc=$rc)"; cat "$OUT/auto2.err"
  fi
  nested=$(json_get "$OUT/check.json" 'd["verdict"]["kvm_engine_nested_vmx"]')
  if [ "$nested" = false ]; then
    expect "--accel kvm + NestedVirtualization=enabled without nested VMX" 2 \
      "NestedVirtualization=enabled needs nested VMX" -- \
      run --kernel "$mb" --accel kvm --cpu-options NestedVirtualization=enabled
    timeout 60 "$NV" run --kernel "$mb" --accel auto --cpu-options NestedVirtualization=enabled \
      </dev/null >"$OUT/auto3.out" 2>"$OUT/auto3.err"; rc=$?
    if [ $rc -eq 1 ] && [ "$(wc -l <"$OUT/auto3.err")" -eq 1 ] &&
       grep -q "^nestvm: --accel auto: using the software engine (.*nested VMX" "$OUT/auto3.err"; then
      ok "--accel auto + nested without nested VMX in KVM: $(cat "$OUT/auto3.err")"
    else
      bad "--accel auto + nested (rc=$rc)"; cat "$OUT/auto3.err"
    fi
  else
    skip "nested refusal: this host's KVM offers nested VMX"
  fi
else
  skip "--accel auto/kvm on this host's KVM: $KVM_WHY"
fi
finish
