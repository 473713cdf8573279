#!/usr/bin/env bash
# run.sh — build the VT-x acceptance guest (tests/guests/vmx/*.c, *.S) into
# build/guests/vmx/vmxtests.elf and run it on nestvm with nested
# virtualization enabled.  Passes when the guest reports through
# isa-debug-exit that every test passed (nestvm exit status 1) and prints
# "vmx tests: N passed, 0 failed".
#   BUILD_ONLY=1 tests/guests/vmx/run.sh      just build
#   VMXTESTS_ARGS="-v only=vmcall" ...        guest command line (test filter)
set -u
cd "$(dirname "$0")/../../.."
nv=${NESTVM:-build/nestvm}
src=tests/guests/vmx
out=build/guests/vmx
mkdir -p "$out"
CFLAGS="-m64 -ffreestanding -fno-pic -fno-pie -mno-red-zone -mgeneral-regs-only -nostdlib
        -fno-stack-protector -fno-asynchronous-unwind-tables -fno-builtin -O2 -g
        -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter"
objs=()
for f in "$src"/*.c "$src"/*.S; do
  o="$out/$(basename "${f%.*}").o"
  gcc $CFLAGS -c -o "$o" "$f" || { echo "vmx guest: build failed ($f)"; exit 1; }
  objs+=("$o")
done
ld -m elf_x86_64 -nostdlib -static --no-warn-rwx-segments -T "$src/vmxtests.ld" -o "$out/vmxtests.elf" "${objs[@]}" ||
  { echo "vmx guest: link failed"; exit 1; }
[ "${BUILD_ONLY:-0}" = 1 ] && exit 0
[ -x "$nv" ] || make -s "$nv" || exit 1
timeout 300 "$nv" run --kernel "$out/vmxtests.elf" --memory 256M \
  --cpu-options NestedVirtualization=enabled --timeout 120 \
  ${VMXTESTS_ARGS:+--cmdline "$VMXTESTS_ARGS"} </dev/null >"$out/vmxtests.out" 2>"$out/vmxtests.err"
rc=$?
cat "$out/vmxtests.out"
summary=$(grep -a "^vmx tests: [0-9]* passed" "$out/vmxtests.out" | tail -1)
if [ $rc -eq 1 ] && echo "$summary" | grep -q " 0 failed"; then
  echo "vmx guest: ok ($summary)"
  exit 0
fi
echo "vmx guest: FAILED (nestvm status $rc${summary:+, $summary})"
tail -5 "$out/vmxtests.err"
exit 1
