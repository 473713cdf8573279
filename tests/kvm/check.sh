#!/usr/bin/env bash
# check.sh — `nestvm check` reports this host's facts consistently with
# /proc and /sys, its JSON parses, and on a kvm_pvm host it says PVM, no
# hardware nested VMX, and the software engine as the way to nested
# virtualization.  `--fix` is never run here.
set -u
source "$(dirname "$0")/common.sh"

timeout 60 "$NV" check >"$OUT/check.txt" 2>"$OUT/check-text.err"; rc=$?
[ $rc -eq 0 ] && ok "check exits 0" || bad "check exit status $rc"
grep -q "software engine: VMX available to guests" "$OUT/check.txt" &&
  ok "check: software engine offers VMX" || bad "check: no software-engine verdict"
grep -q "KVM engine: nested VMX \(available\|unavailable because .\)" "$OUT/check.txt" &&
  ok "check: KVM nested-VMX verdict present" || bad "check: no KVM nested verdict"

timeout 60 "$NV" check --json >"$OUT/check.json" 2>"$OUT/check-json.err"; rc=$?
if [ $rc -eq 0 ] && python3 -c 'import json,sys; json.load(sys.stdin)' <"$OUT/check.json"; then
  ok "check --json parses"
else
  bad "check --json (rc=$rc) does not parse"; head -20 "$OUT/check.json"
fi
j() { json_get "$OUT/check.json" "$1"; }

# facts agree with the host
for mod in kvm_intel kvm_amd kvm_pvm; do
  want=false; [ -d /sys/module/$mod ] && want=true
  [ "$(j "d['kvm']['modules']['$mod']")" = $want ] && ok "json: $mod loaded = $want" || bad "json: $mod"
done
want=false; grep -qw vmx /proc/cpuinfo && want=true
[ "$(j "d['cpu']['cpuinfo_vmx']")" = $want ] && ok "json: cpuinfo vmx = $want" || bad "json: cpuinfo vmx"
want=false; grep -qw hypervisor /proc/cpuinfo && want=true
[ "$(j "d['hypervisor']['present']")" = $want ] && ok "json: hypervisor = $want" || bad "json: hypervisor"
[ "$(j "d['cpu']['vendor']")" = "$(grep -m1 vendor_id /proc/cpuinfo | sed 's/.*: //')" ] &&
  ok "json: CPU vendor $(j "d['cpu']['vendor']")" || bad "json: CPU vendor"
if [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
  [ "$(j "d['kvm']['open']")" = true ] && [ "$(j "d['kvm']['api_version']")" = 12 ] &&
    ok "json: /dev/kvm opens, API 12" || bad "json: /dev/kvm"
fi
[ "$(j "d['verdict']['software_engine_vmx']")" = true ] && ok "json: software engine VMX" || bad "json: software_engine_vmx"

if [ -d /sys/module/kvm_pvm ]; then
  [ "$(j "d['kvm']['flavour']")" = pvm ] && ok "json: flavour pvm" || bad "json: flavour $(j "d['kvm']['flavour']")"
  [ "$(j "d['verdict']['kvm_engine_nested_vmx']")" = false ] && ok "json: no nested VMX on PVM" || bad "json: nested VMX on PVM?"
  [ "$(j "d['verdict']['nested_virtualization_engine']")" = emu ] && ok "json: nested virtualization via the software engine" || bad "json: engine"
  [ "$(j "d['kvm']['vmx_in_supported_cpuid']")" = false ] && ok "json: no VMX in KVM_GET_SUPPORTED_CPUID" || bad "json: VMX in supported CPUID on PVM?"
  grep -q "flavour pvm" "$OUT/check.txt" && ok "text: flavour pvm" || bad "text: flavour"
  grep -q "KVM engine: nested VMX unavailable because this host's KVM is PVM (kvm_pvm)" "$OUT/check.txt" &&
    ok "text: nested VMX unavailable because PVM" || bad "text: PVM reason"
  grep -q "nested virtualization on this host: use the software engine" "$OUT/check.txt" &&
    ok "text: use the software engine" || bad "text: recommendation"
else
  skip "PVM-specific verdicts: kvm_pvm is not loaded on this host"
fi

# a missing device: reported, still exit 0 (the software engine can)
NESTVM_KVM_DEV=/nonexistent timeout 60 "$NV" check --json >"$OUT/check-missing.json"; rc=$?
m() { json_get "$OUT/check-missing.json" "$1"; }
if [ $rc -eq 0 ] && [ "$(m "d['kvm']['present']")" = false ] && [ "$(m "d['kvm']['open']")" = false ] &&
   [ "$(m "d['kvm']['open_error']")" = "No such file or directory" ] &&
   [ "$(m "d['verdict']['kvm_engine_usable']")" = false ] &&
   [ "$(m "d['verdict']['software_engine_vmx']")" = true ]; then
  ok "check with NESTVM_KVM_DEV=/nonexistent: $(m "d['verdict']['kvm_engine_nested_vmx_reason']" | cut -c1-90)..."
else
  bad "check with a missing device (rc=$rc)"; cat "$OUT/check-missing.json"
fi
NESTVM_KVM_DEV=/nonexistent timeout 60 "$NV" check >"$OUT/check-missing.txt"
grep -q "KVM engine: cannot run guests because cannot open /nonexistent" "$OUT/check-missing.txt" &&
  ok "text: missing device named" || bad "text: missing device"
NESTVM_KVM_DEV=/dev/null timeout 60 "$NV" check --json >"$OUT/check-null.json"; rc=$?
[ $rc -eq 0 ] && [ "$(json_get "$OUT/check-null.json" 'd["kvm"]["api_version"]')" = "" ] &&
  [ "$(json_get "$OUT/check-null.json" 'd["verdict"]["kvm_engine_usable"]')" = false ] &&
  ok "check on a non-KVM device (/dev/null): not usable, API unknown" || bad "check on /dev/null"

# usage
timeout 10 "$NV" check --bogus >/dev/null 2>"$OUT/check-bogus.err"; rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$OUT/check-bogus.err")" -eq 1 ] && ok "check --bogus: $(cat "$OUT/check-bogus.err")" || bad "check --bogus (rc=$rc)"
timeout 10 "$NV" check --help | grep -q -- "--fix" && ok "check --help" || bad "check --help"
finish
