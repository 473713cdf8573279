#!/usr/bin/env bash
# static.sh — `make static` builds build/nestvm-static (gcc -static), which
# has no program interpreter, runs a guest on the software engine (and on
# KVM when this host's /dev/kvm can), and answers `check --json`: the
# end-to-end nested test copies exactly this binary into an L1 guest.
set -u
source "$(dirname "$0")/common.sh"
if ! make -s static >"$OUT/static-build.log" 2>&1; then
  bad "make static"; tail -20 "$OUT/static-build.log"; finish; exit
fi
ST=build/nestvm-static
if [ -x "$ST" ] && ! readelf -l "$ST" | grep -q INTERP && ! readelf -d "$ST" 2>/dev/null | grep -q NEEDED; then
  ok "make static: $ST has no interpreter and no shared libraries"
else
  bad "$ST is not a static executable"; readelf -l "$ST" | grep -A1 INTERP
fi
mb=$(build_guest tests/guests/mb_hello.S) || { bad "build mb_hello"; finish; exit; }
NESTVM=$ST NV=$ST run_nv static-emu --kernel "$mb" --cmdline hi --accel emu --timeout 60
[ "$RC" -eq 1 ] && grep -aq "cmdline: .* hi" "$OUT/static-emu.out" &&
  ok "static binary runs mb_hello on the software engine" || bad "static emu run (status $RC)"
timeout 60 "$ST" check --json >"$OUT/static-check.json" && python3 -c 'import json,sys; json.load(sys.stdin)' <"$OUT/static-check.json" &&
  ok "static binary: check --json parses" || bad "static check --json"
kvm_facts
if [ "$KVM_USABLE" = yes ]; then
  NV=$ST run_nv static-kvm --kernel "$mb" --cmdline hi --accel kvm --timeout 60
  [ "$RC" -eq 1 ] && cmp -s "$OUT/static-emu.out" "$OUT/static-kvm.out" &&
    ok "static binary runs mb_hello on KVM, same output" || bad "static kvm run (status $RC)"
  NV=$ST RUN_LIMIT=60 run_nv static-spin --kernel "$(build_guest tests/kvm/guests/spin.S)" --accel kvm --timeout 1
  [ "$RC" -eq 125 ] && ok "static binary: the vCPU kick signal works (--timeout on KVM)" || bad "static kick (status $RC)"
else
  skip "static binary on KVM: $KVM_WHY"
fi
finish
