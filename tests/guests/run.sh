#!/usr/bin/env bash
# run.sh — build the project's bare-metal test guests (GNU as/ld from binutils)
# and run each on nestvm, checking the isa-debug-exit status and the serial
# output the guest promises.
set -u
cd "$(dirname "$0")/../.."
nv=${NESTVM:-build/nestvm}
out=build/guests; mkdir -p "$out"
pass=0; fail=0
build32() { # name
  as --32 -o "$out/$1.o" "tests/guests/$1.S" && ld -m elf_i386 -Ttext 0x100000 -o "$out/$1.elf" "$out/$1.o"
}
build64() { # name: ELF64 test guest entered in long mode
  gcc -c -m64 -ffreestanding -fno-pic -mno-red-zone -nostdlib -O2 -o "$out/$1.o" "tests/guests/$1.S" &&
  ld -m elf_x86_64 -Ttext 0x200000 -o "$out/$1.elf" "$out/$1.o"
}
# check NAME ELF EXPECTED_STATUS PATTERN [nestvm args...]
check() {
  local name=$1 elf=$2 want=$3 pat=$4; shift 4
  timeout 120 "$nv" run --kernel "$elf" --timeout 60 "$@" </dev/null >"$out/$name.out" 2>"$out/$name.err"
  local rc=$?
  if [ $rc -eq "$want" ] && grep -aq -- "$pat" "$out/$name.out"; then
    pass=$((pass+1)); echo "ok   $name"
  else
    fail=$((fail+1)); echo "FAIL $name (status $rc, want $want)"; tail -5 "$out/$name.out" "$out/$name.err"
  fi
}
build32 mb_hello && check multiboot-hello "$out/mb_hello.elf" 1 "cmdline: .*mb_hello.elf hello-arg" --cmdline hello-arg
for s in tests/guests/*.S; do
  n=$(basename "$s" .S)
  case $n in mb_*) continue;; esac
  head -20 "$s" | grep -q 'nestvm-guest: long64' || continue
  want=$(sed -n 's/.*nestvm-guest: expect-status \([0-9]*\).*/\1/p' "$s" | head -1)
  pat=$(sed -n 's/.*nestvm-guest: expect-output \(.*\)$/\1/p' "$s" | head -1)
  args=$(sed -n 's/.*nestvm-guest: args \(.*\)$/\1/p' "$s" | head -1)
  build64 "$n" && check "$n" "$out/$n.elf" "${want:-1}" "${pat:-.}" $args
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
