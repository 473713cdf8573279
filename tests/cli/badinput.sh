#!/usr/bin/env bash
# badinput.sh — every bad input gets one clear line on stderr and a non-zero
# exit before any guest code runs.
set -u
cd "$(dirname "$0")/../.."
nv=${NESTVM:-build/nestvm}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
pass=0; fail=0
printf 'not a kernel at all\n' > "$tmp/junk"
head -c 100 /dev/zero > "$tmp/zeros"
k=$(ls -1 /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1)
# expect NAME PATTERN ARGS... : exit non-zero, exactly one stderr line matching PATTERN
expect() {
  local name=$1 pat=$2; shift 2
  "$nv" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"; local rc=$?
  local lines; lines=$(wc -l < "$tmp/err")
  if [ "$rc" -ne 0 ] && [ "$lines" -eq 1 ] && grep -q -- "$pat" "$tmp/err" && [ ! -s "$tmp/out" ]; then
    pass=$((pass+1)); echo "ok   $name"
  else
    fail=$((fail+1)); echo "FAIL $name (rc=$rc, stderr lines=$lines)"; cat "$tmp/err"
  fi
}
expect "unknown command" "unknown command 'frobnicate'" frobnicate
expect "run without kernel" "kernel PATH is required" run
expect "missing kernel" "No such file" run --kernel "$tmp/missing"
expect "kernel is a directory" "$tmp" run --kernel "$tmp"
expect "not a kernel" "not a" run --kernel "$tmp/junk"
expect "empty-ish kernel" "kernel" run --kernel "$tmp/zeros"
expect "unknown option" "unknown or incomplete option '--frob'" run --frob --kernel x
expect "malformed memory" "--memory: '12Q'" run --kernel "$tmp/junk" --memory 12Q
expect "negative memory" "--memory" run --kernel "$tmp/junk" --memory -5M
expect "memory too small" "too small" run --kernel "$tmp/junk" --memory 1M
expect "bad cpus" "--cpus: '0'" run --kernel "$tmp/junk" --cpus 0
expect "bad cpu option key" "unknown option 'Frob'" run --kernel "$tmp/junk" --cpu-options Frob=1
expect "bad cpu option value" "enabled or disabled" run --kernel "$tmp/junk" --cpu-options NestedVirtualization=maybe
expect "bad accel" "--accel" run --kernel "$tmp/junk" --accel tcg
expect "bad serial" "--serial" run --kernel "$tmp/junk" --serial tcp:1
expect "bad timeout" "--timeout" run --kernel "$tmp/junk" --timeout soon
expect "missing disk" "disk" run --kernel "$tmp/junk" --disk "$tmp/nodisk.img"
expect "bad disk option" "unknown disk option" run --kernel "$tmp/junk" --disk "$tmp/x,rw"
if [ -n "$k" ]; then
  expect "missing initrd" "initrd" run --kernel "$k" --initrd "$tmp/missing.gz"
  expect "memory too small for kernel+initrd" "memory\|RAM\|fit" run --kernel "$k" --initrd /boot/initrd.img-${k#/boot/vmlinuz-} --memory 16M
fi
"$nv" --version | grep -q '^nestvm ' && { pass=$((pass+1)); echo "ok   --version"; } || { fail=$((fail+1)); echo "FAIL --version"; }
"$nv" run --help | grep -q -- '--cpu-options' && { pass=$((pass+1)); echo "ok   run --help"; } || { fail=$((fail+1)); echo "FAIL run --help"; }
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
