# common.sh — shared by tests/kvm/*.sh (sourced, not run): the binary,
# counters, and what this host's KVM can do according to `nestvm check
# --json` (so a test can SKIP with the precise reason instead of failing).
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
NV=${NESTVM:-build/nestvm}
OUT=build/kvm-tests; mkdir -p "$OUT"
pass=0; fail=0; skip=0
ok()   { pass=$((pass+1)); echo "ok   $*"; }
bad()  { fail=$((fail+1)); echo "FAIL $*"; }
skip() { skip=$((skip+1)); echo "SKIP $*"; }
finish() { echo "$pass passed, $fail failed, $skip skipped"; [ "$fail" -eq 0 ]; }

# jq-less JSON field access: json_get FILE 'expr on d' (python3)
json_get() {
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); v=eval(sys.argv[2]); print("" if v is None else (str(v).lower() if isinstance(v,bool) else v))' "$1" "$2"
}

# kvm_facts: fills KVM_USABLE (yes/no), KVM_WHY, KVM_FLAVOUR from the
# check command (with the NESTVM_KVM_DEV of the caller's environment).
kvm_facts() {
  KVM_USABLE=no; KVM_WHY="nestvm check --json failed"; KVM_FLAVOUR=unknown
  timeout 60 "$NV" check --json >"$OUT/check.json" 2>"$OUT/check.err" || return 0
  KVM_FLAVOUR=$(json_get "$OUT/check.json" 'd["kvm"]["flavour"]')
  KVM_USABLE=$(json_get "$OUT/check.json" 'd["verdict"]["kvm_engine_usable"]' | sed 's/true/yes/;s/false/no/')
  KVM_WHY=$(json_get "$OUT/check.json" 'd["verdict"]["kvm_engine_unusable_reason"]')
}

# build_guest SRC → prints the ELF path: ELF64 when the source says
# "nestvm-guest: long64", else a 32-bit Multiboot kernel.
build_guest() {
  local src=$1 n; n=$(basename "$src" .S)
  if head -20 "$src" | grep -q 'nestvm-guest: long64'; then
    gcc -c -m64 -ffreestanding -fno-pic -mno-red-zone -nostdlib -O2 -o "$OUT/$n.o" "$src" &&
      ld -m elf_x86_64 -Ttext 0x200000 -o "$OUT/$n.elf" "$OUT/$n.o" || return 1
  else
    as --32 -I "$(dirname "$src")" -o "$OUT/$n.o" "$src" && ld -m elf_i386 -Ttext 0x100000 -o "$OUT/$n.elf" "$OUT/$n.o" || return 1
  fi
  echo "$OUT/$n.elf"
}

# run_nv NAME ARGS... : nestvm run with a hard wall-clock limit; sets RC and
# leaves $OUT/NAME.out / .err
run_nv() {
  local name=$1; shift
  timeout -k 5 ${RUN_LIMIT:-120} "$NV" run "$@" </dev/null >"$OUT/$name.out" 2>"$OUT/$name.err"
  RC=$?
}
