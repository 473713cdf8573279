#!/usr/bin/env bash
# run.sh — run the kvm-unit-tests x86 suite on nestvm (LOCAL ONLY: not part of
# `make test`, because kvm-unit-tests cannot be fetched in CI).
#
#   KUT_DIR=/path/to/kvm-unit-tests tests/kut/run.sh [NAME...]
#
# KUT_DIR is a built kvm-unit-tests tree (x86/*.flat, x86/unittests.cfg).  Every
# entry of x86/unittests.cfg runs with its test_args, smp count (--cpus) and
# -m size; NAMEs restrict the run to those entries (exact names or globs).
# The result of one entry comes from the exit status: 1 = PASS (the test wrote
# 0 to isa-debug-exit), 77 = SKIP (it wrote 77 >> 1: everything skipped, the
# suite's own convention), anything else FAIL.
#
# Entries are skipped without running when nestvm cannot offer what they
# need: arch = i386 (the tree is built for x86_64), a missing .flat, the VT-x
# tests unless KUT_VMX=1 (then they run with NestedVirtualization=enabled),
# and the few that test a KVM paravirtual interface or a platform feature
# nestvm does not model (not_offered() below says which and why).
#
# The machine is nestvm's PC plus the test device (--testdev: the pc-testdev
# ports and I/O RAM the suite expects) and an environment module saying
# TEST_DEVICE=0: nestvm is not KVM, so the tests must not use KVM hypercalls
# or KVM-only emulation (they skip those parts, as on bare metal).
#
# Timeouts: the cfg's (or the suite's default 90 s) times KUT_TIMEOUT_SCALE
# (default 3): the values are tuned for KVM, nestvm is a software engine.
#
# Environment: NESTVM (binary, default build/nestvm), KUT_JOBS (parallel
# runs, default 1: the APIC timer tests measure wall-clock intervals and fail
# on an oversubscribed host), KUT_LOGS (log directory, default build/kut),
# KUT_TIMEOUT_SCALE, KUT_VMX=1.
set -u
cd "$(dirname "$0")/../.."
: "${KUT_DIR:?set KUT_DIR to a built kvm-unit-tests tree}"
cfg=$KUT_DIR/x86/unittests.cfg
[ -r "$cfg" ] || { echo "run.sh: no $cfg" >&2; exit 2; }
nv=$(realpath "${NESTVM:-build/nestvm}")
[ -x "$nv" ] || { echo "run.sh: no nestvm binary at $nv (make build/nestvm)" >&2; exit 2; }
logs=${KUT_LOGS:-build/kut}
jobs=${KUT_JOBS:-1}
mkdir -p "$logs"
logs=$(realpath "$logs")
printf 'TEST_DEVICE=0\n' >"$logs/env"
testdev=(--testdev)
"$nv" run --help | grep -q -- --testdev || testdev=() # older builds: no test device

# ---- parse unittests.cfg into one line per entry: name|file|smp|mem|args|arch|groups|timeout
entries=$(awk '
  function flush() {
    if (name != "")
      printf "%s|%s|%s|%s|%s|%s|%s|%s\n", name, file, smp, mem, args, arch, groups, tmo
    file = ""; smp = 1; mem = 256; args = ""; arch = ""; groups = ""; tmo = ""
  }
  function val(line) { sub(/^[^=]*=[ \t]*/, "", line); return line }
  /^\[.*\]/ { flush(); name = substr($0, 2, length($0) - 2); next }
  /^[ \t]*#/ || /^[ \t]*$/ { next }
  /^file[ \t]*=/ { file = val($0); next }
  /^smp[ \t]*=/ { smp = val($0); next }
  /^arch[ \t]*=/ { arch = val($0); next }
  /^groups[ \t]*=/ { groups = val($0); next }
  /^timeout[ \t]*=/ { tmo = val($0); next }
  /^test_args[ \t]*=/ { args = val($0); gsub(/^["\047]|["\047]$/, "", args); next }
  /^(qemu_params|extra_params)[ \t]*=/ {
    p = val($0)
    if (match(p, /-m [0-9]+[gGmM]?/)) {
      m = substr(p, RSTART + 3, RLENGTH - 3)
      if (m ~ /[gG]$/) mem = (m + 0) * 1024; else mem = m + 0
    }
    if (match(p, /-append +\047[^\047]*\047/)) {
      a = substr(p, RSTART, RLENGTH); sub(/^-append +\047/, "", a); sub(/\047$/, "", a); args = a
    }
    next
  }
  END { flush() }' "$cfg")

want=("$@")
# Entries that exercise something nestvm deliberately does not provide.
not_offered() { # name -> reason on stdout, or nothing
  case $1 in
    hypercall|vmexit_vmcall) echo "KVM hypercalls (VMCALL outside VMX is #UD on hardware)";;
    vmware_backdoors) echo "KVM's VMware backdoor ports (enable_vmware_backdoor)";;
    intel_iommu) echo "needs a Q35 machine with an Intel IOMMU and the edu device";;
    s3) echo "ACPI S3: nestvm's DSDT offers only the S5 sleep state";;
  esac
}

match_name() {
  [ ${#want[@]} -eq 0 ] && return 0
  local w
  for w in "${want[@]}"; do
    # shellcheck disable=SC2053
    [[ $1 == $w ]] && return 0
  done
  return 1
}

# ---- run one entry; writes "name|RESULT|detail|seconds" to $logs/name.result
run_one() {
  local name=$1 file=$2 smp=$3 mem=$4 args=$5 arch=$6 groups=$7 tmo=$8
  local res=$logs/$name.result log=$logs/$name.log
  local flat=$KUT_DIR/x86/$file
  if [ "$arch" = i386 ]; then echo "$name|skip|arch i386 (tree built for x86_64)|0" >"$res"; return; fi
  if [ ! -f "$flat" ]; then echo "$name|skip|$file not built|0" >"$res"; return; fi
  local why
  why=$(not_offered "$name")
  if [ -n "$why" ]; then echo "$name|skip|$why|0" >"$res"; return; fi
  local extra=()
  case " $groups " in
    *" vmx "*)
      if [ "${KUT_VMX:-0}" != 1 ]; then echo "$name|skip|VT-x tests: set KUT_VMX=1|0" >"$res"; return; fi
      extra+=(--cpu-options NestedVirtualization=enabled);;
  esac
  [[ $smp =~ ^[0-9]+$ ]] || smp=2
  [ "$smp" -gt 16 ] && smp=16
  [ "$mem" -gt 3072 ] && mem=3072
  tmo=${tmo:-90}
  tmo=${tmo%s}
  tmo=$((tmo * ${KUT_TIMEOUT_SCALE:-3}))
  local t0; t0=$(date +%s)
  timeout $((tmo + 30)) "$nv" run --accel emu --kernel "$flat" --memory "${mem}M" --cpus "$smp" \
    "${testdev[@]}" --initrd "$logs/env" --timeout "$tmo" --cmdline "$args" "${extra[@]}" \
    </dev/null >"$log" 2>&1
  local rc=$? dt=$(($(date +%s) - t0))
  local summary
  summary=$(grep -a '^SUMMARY' "$log" | tail -1 | cut -c1-70)
  local r detail
  case $rc in
    1) r=PASS; detail=$summary;;
    77) r=skip; detail=${summary:-all skipped};;
    124) r=FAIL; detail="triple fault; $summary";;
    125) r=FAIL; detail="timeout ${tmo}s; $summary";;
    *) if [ $((rc & 1)) -eq 1 ]; then r=FAIL; detail="exit $((rc >> 1)); $summary"
       else r=FAIL; detail="status $rc; $summary"; fi;;
  esac
  if [ $r = FAIL ] && [ -z "$summary" ]; then
    detail="$detail$(grep -a -m1 -E 'Unhandled exception|FAIL' "$log" | cut -c1-60)"
  fi
  echo "$name|$r|$detail|$dt" >"$res"
}

names=()
while IFS='|' read -r name file smp mem args arch groups tmo; do
  match_name "$name" || continue
  names+=("$name")
  rm -f "$logs/$name.result"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  run_one "$name" "$file" "$smp" "$mem" "$args" "$arch" "$groups" "$tmo" &
done <<<"$entries"
wait

pass=0; fail=0; skip=0
printf '%-36s %-5s %5s  %s\n' TEST RESULT SECS DETAIL
for name in "${names[@]}"; do
  IFS='|' read -r n r detail dt <"$logs/$name.result"
  printf '%-36s %-5s %5s  %s\n' "$n" "$r" "$dt" "$detail"
  case $r in PASS) pass=$((pass+1));; FAIL) fail=$((fail+1));; *) skip=$((skip+1));; esac
done
echo "kvm-unit-tests x86 on nestvm: $pass passed, $fail failed, $skip skipped (${#names[@]} entries; logs in $logs)"
[ "$fail" -eq 0 ]
