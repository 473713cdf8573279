#!/usr/bin/env bash
# run.sh — `make bench`: nestvm beside QEMU TCG and Bochs on the same Debian
# cloud kernel and busybox initramfs, medians of several runs, as ratios.
#   RUNS=N (default 3)   PEERS=0 to skip QEMU/Bochs
# Prints one table; nothing here is a test (no assertions on speed).
set -uo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
scripts/deps.sh
make -j"$(nproc)" build/nestvm >/dev/null
k=$(ls -1 /boot/vmlinuz-*-cloud-amd64 | sort -V | tail -1)
mkdir -p build/bench
gcc -O2 -static -o build/bench/cpubench bench/cpubench.c
EXTRA="build/bench/cpubench:bin/cpubench" scripts/mkinitramfs.sh build/bench/initrd.cpio.gz
ird=build/bench/initrd.cpio.gz
median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
now() { date +%s.%N; }
# nestvm: wall time, instructions (from --stats)
nv_run() { # mode -> prints "wall insns rss_kb"
  local t0 t1 out
  t0=$(now)
  out=$(build/nestvm run --kernel "$k" --initrd "$ird" --memory 512M \
          --cmdline "console=ttyS0 panic=-1 nestvm.mode=$1" --stats --timeout 900 2>&1 >/dev/null)
  t1=$(now)
  local ins=$(echo "$out" | sed -n 's/.*instructions \([0-9]*\),.*/\1/p')
  local rss=$(echo "$out" | sed -n "s/.*nestvm's own ~\([0-9-]*\) KiB.*/\1/p")
  echo "$(echo "$t1 - $t0" | bc) $ins $rss"
}
declare -a bw bi fw fi rs
for i in $(seq "$RUNS"); do
  read -r w n r < <(nv_run boot); bw+=("$w"); bi+=("$n"); rs+=("$r")
  read -r w n r < <(nv_run bench); fw+=("$w"); fi+=("$n")
done
boot_w=$(printf '%s\n' "${bw[@]}" | median); boot_i=$(printf '%s\n' "${bi[@]}" | median)
bench_w=$(printf '%s\n' "${fw[@]}" | median); bench_i=$(printf '%s\n' "${fi[@]}" | median)
rss=$(printf '%s\n' "${rs[@]}" | median)
work_w=$(echo "$bench_w - $boot_w" | bc); work_i=$(echo "$bench_i - $boot_i" | bc)
echo
echo "nestvm benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
printf '%-40s %10s %14s %10s\n' "workload" "wall s" "instructions" "M insn/s"
printf '%-40s %10.2f %14s %10.0f\n' "(a) boot -> /init -> poweroff" "$boot_w" "$boot_i" "$(echo "$boot_i / $boot_w / 1000000" | bc -l)"
printf '%-40s %10.2f %14s %10.0f\n' "(b) CPU-bound workload (minus boot)" "$work_w" "$work_i" "$(echo "$work_i / $work_w / 1000000" | bc -l)"
printf '%-40s %10s\n' "(f) nestvm RSS minus resident guest RAM" "$(( rss / 1024 )) MiB"
if [ "${PEERS:-1}" != 0 ] && [ -x ../shared/bench/peers.sh ] || [ -f ../shared/bench/peers.sh ]; then
  declare -a qw bo
  for i in $(seq "$RUNS"); do
    out=$(CMDLINE="console=ttyS0 panic=-1 nestvm.mode=boot" bash ../shared/bench/peers.sh "$k" "$ird" all 2>/dev/null)
    qw+=("$(echo "$out" | sed -n 's/^qemu-tcg  wall \([0-9.]*\) s/\1/p')")
    bo+=("$(echo "$out" | sed -n 's/^bochs     wall \([0-9.]*\) s.*/\1/p')")
  done
  q=$(printf '%s\n' "${qw[@]}" | median); b=$(printf '%s\n' "${bo[@]}" | median)
  printf '%-40s %10.2f   nestvm/qemu = %.2fx slower\n' "QEMU TCG boot (same run)" "$q" "$(echo "$boot_w / $q" | bc -l)"
  printf '%-40s %10.2f   bochs/nestvm = %.2fx faster\n' "Bochs 2.7 boot (same run)" "$b" "$(echo "$b / $boot_w" | bc -l)"
fi
