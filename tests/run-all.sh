#!/usr/bin/env bash
# run-all.sh — every tier of nestvm's tests (the README's test command runs this
# through `make test`).  Each tier prints its own summary; the last line is the
# total "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
JOBS=$(nproc 2>/dev/null || echo 2)
pass=0; fail=0
tier() { # tier NAME COMMAND...
  local name=$1; shift
  echo "=== $name"
  if "$@"; then pass=$((pass+1)); echo "=== $name: ok"; else fail=$((fail+1)); echo "=== $name: FAILED"; fi
}
tier "build" make -j"$JOBS" build/nestvm build/unit-tests build/difftest
tier "unit tests" build/unit-tests
# the same with the translation tier (src/cpu/jit.c) taking every block on its first run
tier "unit tests, every block translated" env NESTVM_JIT_HOT=1 build/unit-tests
tier "sanitizer build (ASan+UBSan)" make -j"$JOBS" SAN=1 build-san/nestvm build-san/unit-tests build-san/difftest
tier "unit tests under ASan+UBSan" env ASAN_OPTIONS=detect_leaks=0 build-san/unit-tests
tier "unit tests under ASan+UBSan, every block translated" env ASAN_OPTIONS=detect_leaks=0 NESTVM_JIT_HOT=1 build-san/unit-tests
tier "differential test vs host CPU" build/difftest --count ${DIFF_COUNT:-200000}
tier "differential test, every block translated" env NESTVM_JIT_HOT=1 build/difftest --count 100000 --seed 2
tier "differential test under ASan+UBSan, every block translated" env ASAN_OPTIONS=detect_leaks=0 NESTVM_JIT_HOT=1 build-san/difftest --count 20000
for t in tests/cli/*.sh tests/guests/run.sh tests/linux/*.sh tests/guests/vmx/run.sh tests/kvm/*.sh; do
  [ -x "$t" ] || continue
  tier "$t" bash "$t"
done
echo "test tiers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
