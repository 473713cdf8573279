#!/usr/bin/env bash
# run.sh — `make bench`: nestvm beside QEMU TCG and Bochs on the same Debian
# cloud kernel and busybox initramfs, medians of several runs, as ratios.
#   bench/run.sh     RUNS=N (default 3)   PEERS=0 skips QEMU/Bochs
#   ONLY="a c d"     runs a subset of the items (default: a b c d e f)
#   L2ROUNDS=N       rounds of the (b) and (d) workload (default 150)   DISK_MIB=N (e) size (default 128)
# Items: (a) boot -> /init -> poweroff; (b) CPU-bound workload in the guest;
# (c) nested run: L1 boots, loads kvm_intel (kvm_amd on QEMU +svm), runs the L2
# test guest, powers off; (d) the same workload object in L1 user space and as
# an L2 guest, both timed by L1's clock; (e) virtio-blk sequential write/read
# with O_DIRECT; (f) nestvm's resident memory minus guest RAM.
# Prints one table; nothing here is a test (no assertions on speed).  A run
# whose serial log lacks its success marker shows "failed"; logs stay in
# build/bench/logs/.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
RUNS=${RUNS:-3}
ONLY=${ONLY:-a b c d e f}
PEERS=${PEERS:-1}
L2ROUNDS=${L2ROUNDS:-150}
DISK_MIB=${DISK_MIB:-128}
for v in RUNS L2ROUNDS DISK_MIB; do
  case ${!v} in ''|*[!0-9]*|0) echo "bench: $v must be a positive integer, not '${!v}'" >&2; exit 2;; esac
done
[ "$DISK_MIB" -le 256 ] || { echo "bench: DISK_MIB must be at most 256 (the disk image size)" >&2; exit 2; }
for w in $ONLY; do
  case $w in a|b|c|d|e|f) ;; *) echo "bench: ONLY: unknown item '$w' (items: a b c d e f)" >&2; exit 2;; esac
done
has() { case " $ONLY " in *" $1 "*) return 0;; esac; return 1; }
peers() { [ "$PEERS" != 0 ]; }

scripts/deps.sh
make -j"$(nproc)" build/nestvm >/dev/null || { echo "bench: building build/nestvm failed" >&2; exit 1; }
k=$(ls -1 /boot/vmlinuz-*-cloud-amd64 | sort -V | tail -1)
bench/build.sh || { echo "bench: bench/build.sh failed" >&2; exit 1; }
logs=build/bench/logs
rm -rf "$logs"; mkdir -p "$logs"
# (a)(b)(f): the initramfs with just the workload, as before
ird=build/bench/initrd.cpio.gz
EXTRA="build/bench/cpubench:bin/cpubench" scripts/mkinitramfs.sh "$ird"
# (c)(d)(e): one initramfs for every engine, with the L2 launcher and images
nird=build/bench/initrd-nest.cpio.gz
EXTRA="build/bench/cpubench:bin/cpubench build/nested/l2launch:bin/l2launch \
build/nested/l2guest.bin:bin/l2guest.bin build/bench/l2bench.bin:bin/l2bench.bin" \
  scripts/mkinitramfs.sh "$nird"
disk=build/bench/disk.img
fresh_disk() { rm -f "$disk"; truncate -s 256M "$disk"; }   # sparse, recreated per run

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
med() { printf '%s\n' "$@" | median; }
now() { date +%s.%N; }
calc() { echo "$*" | bc -l; }
notes=()
note() { notes+=("$*"); }

# nestvm: one run; prints "wall insns rss_kb exit-status"; console in LOG, stderr in LOG.err
nv_run() { # LOG INITRD MODE-AND-MORE-CMDLINE [nestvm options...]
  local log=$1 initrd=$2 mode=$3 t0 t1 rc ins rss; shift 3
  t0=$(now)
  build/nestvm run --kernel "$k" --initrd "$initrd" --memory 512M \
    --cmdline "console=ttyS0 panic=-1 nestvm.mode=$mode" --stats --timeout 900 "$@" \
    </dev/null >"$log" 2>"$log.err"
  rc=$?
  t1=$(now)
  ins=$(sed -n 's/.*instructions \([0-9]*\),.*/\1/p' "$log.err")
  rss=$(sed -n "s/.*nestvm's own ~\([0-9-]*\) KiB.*/\1/p" "$log.err")
  echo "$(calc "$t1 - $t0") ${ins:-0} ${rss:-0} $rc"
}
# peers: one run of bench/peers.sh; prints "wall insns"; serial log in LOGPREFIX.qemu.log
# or LOGPREFIX.bochs.serial.txt
peer_run() { # LOGPREFIX qemu|bochs CMDLINE-TAIL INITRD [qemu-cpu] (env QEMU_ARGS passes through)
  local out
  out=$(CMDLINE="console=ttyS0 panic=-1 nestvm.mode=$3" KEEP_LOGS=$1 \
        bash bench/peers.sh "$k" "$4" "$2" "${5:-qemu64}" 2>"$1.$2.err")
  case $2 in
    qemu) echo "$(echo "$out" | sed -n 's/^qemu-tcg  wall \([0-9.]*\) s/\1/p') 0";;
    bochs) echo "$out" | sed -n 's/^bochs     wall \([0-9.]*\) s  instructions \([0-9?]*\).*/\1 \2/p';;
  esac
}
# (a) succeeded: /init's marker and the kernel's last words (the tail of /init's own
# output can be lost in Bochs' slow UART at poweroff; the kernel's printk cannot)
booted() { grep -aq "NESTVM-INIT-REACHED mode=boot" "$1" 2>/dev/null && grep -aq "reboot: Power down" "$1"; }
peer_log() { case $2 in qemu) echo "$1.qemu.log";; bochs) echo "$1.bochs.serial.txt";; esac; }

# table rows: label, wall-or-time, instructions, M insn/s, note ("failed" passes through)
row() { printf '%-44s %10s %14s %10s   %s\n' "$1" "${2:-}" "${3:-}" "${4:-}" "${5:-}" | sed 's/ *$//'; }
f2() { case $1 in ''|failed|-|n/a) echo "${1:--}";; *) printf '%.2f' "$1";; esac; }
f0() { case $1 in ''|failed|-|n/a) echo "${1:--}";; *) printf '%.0f' "$1";; esac; }
speed() { # PEER-WALL NESTVM-WALL PEERNAME -> "peer/nestvm = N× faster" or "nestvm/peer = N× slower"
  if [ "$(calc "$1 >= $2")" = 1 ]; then printf '%s/nestvm = %.2fx faster' "$3" "$(calc "$1 / $2")"
  else printf 'nestvm/%s = %.2fx slower' "$3" "$(calc "$2 / $1")"; fi
}

rows=()   # the table, printed at the end
addrow() { rows+=("$(row "$@")"); }

# ---------------------------------------------------------------- (a) (b) (f)
if has a || has b || has f; then
  declare -a bw=() bi=() ww=() wi=() rs=()
  for i in $(seq "$RUNS"); do
    read -r w n r _ < <(nv_run "$logs/a-nestvm-$i" "$ird" boot); bw+=("$w"); bi+=("$n"); rs+=("$r")
    read -r w n r _ < <(nv_run "$logs/b-nestvm-$i" "$ird" "bench nestvm.arg=$L2ROUNDS"); wi+=("$n")
    # the workload's own time, by the guest clock (nestvm's TSC is the host's clock)
    ww+=("$(sed -n 's/.*CPUBENCH: .* time \([0-9.]*\) ms.*/\1/p' "$logs/b-nestvm-$i" | head -1)")
  done
  boot_w=$(med "${bw[@]}"); boot_i=$(med "${bi[@]}")
  work_ms=$(med "${ww[@]}"); bench_i=$(med "${wi[@]}")
  rss=$(med "${rs[@]}")
  work_w=$(calc "$work_ms / 1000"); work_i=$(calc "$bench_i - $boot_i")
  if has a; then
    addrow "(a) boot -> /init -> poweroff" "$(f2 "$boot_w")" "$boot_i" "$(f0 "$(calc "$boot_i / $boot_w / 1000000")")"
    if peers; then
      declare -a qw=() bo=(); qf=0; bf=0
      for i in $(seq "$RUNS"); do
        p=$logs/a-peers-$i
        out=$(CMDLINE="console=ttyS0 panic=-1 nestvm.mode=boot" KEEP_LOGS=$p bash bench/peers.sh "$k" "$ird" all 2>/dev/null)
        qw+=("$(echo "$out" | sed -n 's/^qemu-tcg  wall \([0-9.]*\) s/\1/p')")
        bo+=("$(echo "$out" | sed -n 's/^bochs     wall \([0-9.]*\) s.*/\1/p')")
        booted "$p.qemu.log" || { qf=1; note "(a) QEMU run $i: no /init marker or no poweroff in $p.qemu.log"; }
        booted "$p.bochs.serial.txt" || { bf=1; note "(a) Bochs run $i: no /init marker or no poweroff in $p.bochs.serial.txt"; }
      done
      q=$(med "${qw[@]}"); b=$(med "${bo[@]}")
      if [ $qf = 0 ]; then addrow "    QEMU TCG boot (same run)" "$(f2 "$q")" "" "" "$(speed "$q" "$boot_w" qemu)"
      else addrow "    QEMU TCG boot (same run)" failed; fi
      if [ $bf = 0 ]; then addrow "    Bochs 2.7 boot (same run)" "$(f2 "$b")" "" "" "bochs/nestvm = $(printf '%.2f' "$(calc "$b / $boot_w")")x faster"
      else addrow "    Bochs 2.7 boot (same run)" failed; fi
    fi
  fi
  has b && addrow "(b) CPU-bound workload x$L2ROUNDS (guest time)" "$(f2 "$work_w")" "$work_i" "$(f0 "$(calc "$work_i / $work_w / 1000000")")"
fi

# ---------------------------------------------------------------- (c) nested run
if has c; then
  declare -a cw=() ci=(); cf=0
  for i in $(seq "$RUNS"); do
    l=$logs/c-nestvm-$i
    read -r w n _ rc < <(nv_run "$l" "$nird" nestbench --cpu-options NestedVirtualization=enabled)
    if [ "$rc" = 0 ] && grep -aq "NESTBENCH-RC: 0" "$l" && grep -aq "L2-GUEST: done" "$l"; then cw+=("$w"); ci+=("$n")
    else cf=1; note "(c) nestvm run $i: exit status $rc, no 'NESTBENCH-RC: 0' or L2 output in $l"; fi
  done
  if [ $cf = 0 ]; then
    c_w=$(med "${cw[@]}"); c_i=$(med "${ci[@]}")
    addrow "(c) nested: L1 boot, kvm_intel, L2, poweroff" "$(f2 "$c_w")" "$c_i" "$(f0 "$(calc "$c_i / $c_w / 1000000")")"
  else
    c_w=; addrow "(c) nested: L1 boot, kvm_intel, L2, poweroff" failed failed failed
  fi
  if peers; then
    for eng in qemu bochs; do
      declare -a pw=() pi=(); pf=0
      for i in $(seq "$RUNS"); do
        p=$logs/c-$eng-$i
        read -r w n < <(peer_run "$p" "$eng" nestbench "$nird" qemu64,+svm)
        if grep -aq "NESTBENCH-RC: 0" "$(peer_log "$p" "$eng")" 2>/dev/null; then pw+=("$w"); pi+=("$n")
        else pf=1; note "(c) $eng run $i: no 'NESTBENCH-RC: 0' in $(peer_log "$p" "$eng")"; fi
      done
      if [ $eng = qemu ]; then lab="    QEMU TCG -cpu qemu64,+svm (kvm_amd in L1)"; pn=qemu
      else lab="    Bochs 2.7 ${BOCHS_CPU:-corei7_skylake_x} (VMX)"; pn=bochs; fi
      if [ $pf = 0 ]; then
        pwm=$(med "${pw[@]}"); ins=; mips=
        if [ $eng = bochs ] && [ "${pi[*]}" = "${pi[*]//\?/}" ]; then
          ins=$(med "${pi[@]}"); mips=$(f0 "$(calc "$ins / $pwm / 1000000")")
        fi
        addrow "$lab" "$(f2 "$pwm")" "$ins" "$mips" "$([ -n "$c_w" ] && speed "$pwm" "$c_w" "$pn")"
      else
        addrow "$lab" failed
      fi
    done
  fi
fi

# ---------------------------------------------------------------- (d) L2 vs L1
# parse_d LOG -> "l1_ms l2_ms" when both hashes equal the host's, else "failed REASON"
want_hash=$(build/bench/cpubench "$L2ROUNDS" | sed -n 's/.* hash \([0-9a-f]*\) .*/\1/p')
parse_d() {
  local log=$1 h1 h2 t1 t2
  h1=$(sed -n 's/^CPUBENCH: rounds [0-9]* hash \([0-9a-f]*\) time.*/\1/p' "$log" 2>/dev/null | tr -d '\r')
  t1=$(sed -n 's/^CPUBENCH: .* time \([0-9.]*\) ms.*/\1/p' "$log" 2>/dev/null)
  h2=$(sed -n 's/^L2BENCH: rounds [0-9]* hash \([0-9a-f]*\).*/\1/p' "$log" 2>/dev/null | tr -d '\r')
  t2=$(sed -n 's/^L2-TIME: \([0-9.]*\) ms.*/\1/p' "$log" 2>/dev/null)
  if ! grep -aq "L2BENCH-RC: 0" "$log" 2>/dev/null; then echo "failed no 'L2BENCH-RC: 0'"
  elif [ "$h1" != "$want_hash" ] || [ "$h2" != "$want_hash" ]; then echo "failed hash L1 '$h1' L2 '$h2', host '$want_hash'"
  elif [ -z "$t1" ] || [ -z "$t2" ]; then echo "failed no CPUBENCH or L2-TIME line"
  else echo "$t1 $t2"; fi
}
if has d; then
  d_row() { # L1-LABEL L2-LABEL; values in globals d1 d2 (ms), failure flag df
    if [ "$df" = 0 ]; then
      local m1 m2; m1=$(med "${d1[@]}"); m2=$(med "${d2[@]}")
      addrow "$1" "$(f2 "$(calc "$m1 / 1000")")"
      addrow "$2" "$(f2 "$(calc "$m2 / 1000")")" "" "" \
        "L2 speed = L1time/L2time = $(printf '%.2f' "$(calc "$m1 / $m2")") (target >= 0.9)"
    else
      addrow "$1" failed; addrow "$2" failed
    fi
  }
  declare -a d1=() d2=(); df=0
  for i in $(seq "$RUNS"); do
    l=$logs/d-nestvm-$i
    read -r _ _ _ rc < <(nv_run "$l" "$nird" "l2bench nestvm.arg=$L2ROUNDS" --cpu-options NestedVirtualization=enabled)
    read -r a b < <(parse_d "$l")
    if [ "$a" != failed ] && [ "$rc" = 0 ]; then d1+=("$a"); d2+=("$b")
    else df=1; note "(d) nestvm run $i: exit status $rc, $a $b ($l)"; fi
  done
  d_row "(d) workload x$L2ROUNDS, L1 user space" "(d) same object code as an L2 guest"
  if peers; then
    declare -a d1=() d2=(); df=0
    for i in $(seq "$RUNS"); do
      p=$logs/d-qemu-$i
      peer_run "$p" qemu "l2bench nestvm.arg=$L2ROUNDS" "$nird" qemu64,+svm >/dev/null
      read -r a b < <(parse_d "$p.qemu.log")
      if [ "$a" != failed ]; then d1+=("$a"); d2+=("$b")
      else df=1; note "(d) QEMU run $i: $a $b ($p.qemu.log)"; fi
    done
    d_row "    QEMU TCG +svm: L1 user space" "    QEMU TCG +svm: L2 guest (kvm_amd)"
    addrow "    Bochs 2.7" "" "" "" "not run (minutes at Bochs' speed; its guest clock is virtual)"
  fi
fi

# ---------------------------------------------------------------- (e) virtio-blk
# parse_e LOG -> "write_MiB/s read_MiB/s" or "failed REASON"
parse_e() {
  local log=$1 wrc wmib w0 w1 rrc rmib r0 r1
  # "DISKBENCH-WRITE: rc 0 MiB 128 seconds T0 T1", the same for READ
  # (through the kernel log: the console line starts with a "[ time ]" stamp)
  read -r _ _ wrc _ wmib _ w0 w1 < <(grep -a -o 'DISKBENCH-WRITE: .*' "$log" 2>/dev/null | tr -d '\r')
  read -r _ _ rrc _ rmib _ r0 r1 < <(grep -a -o 'DISKBENCH-READ: .*' "$log" 2>/dev/null | tr -d '\r')
  if [ "$wrc" != 0 ] || [ "$rrc" != 0 ] || [ -z "$w1" ] || [ -z "$r1" ]; then
    echo "failed no successful DISKBENCH lines"
  else
    echo "$(calc "$wmib / ($w1 - $w0)") $(calc "$rmib / ($r1 - $r0)")"
  fi
}
if has e; then
  e_rows() { # LABEL (values in ew er, failure flag ef)
    if [ "$ef" = 0 ]; then
      addrow "$1 write" "" "" "" "$(f0 "$(med "${ew[@]}")") MiB/s"
      addrow "$1 read" "" "" "" "$(f0 "$(med "${er[@]}")") MiB/s"
    else addrow "$1 write" failed; addrow "$1 read" failed; fi
  }
  declare -a ew=() er=(); ef=0
  for i in $(seq "$RUNS"); do
    l=$logs/e-nestvm-$i
    fresh_disk
    read -r _ _ _ rc < <(nv_run "$l" "$nird" "diskbench nestvm.arg=$DISK_MIB" --disk "$disk")
    read -r a b < <(parse_e "$l")
    if [ "$a" != failed ] && [ "$rc" = 0 ]; then ew+=("$a"); er+=("$b")
    else ef=1; note "(e) nestvm run $i: exit status $rc, $a $b ($l)"; fi
  done
  e_rows "(e) virtio-blk $DISK_MIB MiB O_DIRECT seq"
  if peers; then
    declare -a ew=() er=(); ef=0
    for i in $(seq "$RUNS"); do
      p=$logs/e-qemu-$i
      fresh_disk
      QEMU_ARGS="-drive file=$disk,format=raw,if=virtio" \
        peer_run "$p" qemu "diskbench nestvm.arg=$DISK_MIB" "$nird" >/dev/null
      read -r a b < <(parse_e "$p.qemu.log")
      if [ "$a" != failed ]; then ew+=("$a"); er+=("$b")
      else ef=1; note "(e) QEMU run $i: $a $b ($p.qemu.log)"; fi
    done
    e_rows "    QEMU TCG virtio-blk-pci, seq"
  fi
  rm -f "$disk"
fi

has f && addrow "(f) nestvm RSS minus resident guest RAM" "$(( rss / 1024 )) MiB"

echo
echo "nestvm benchmark, $(date -u +%Y-%m-%d), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "medians of $RUNS run(s); (d) is in guest-clock seconds (L1's clock), (e) uses the guest clock too"
row "workload" "wall s" "instructions" "M insn/s"
printf '%s\n' "${rows[@]}"
if peers && has c; then
  echo "(Bochs' instruction count is its tick counter t=, which includes BIOS, SYSLINUX and idle time)"
fi
if [ ${#notes[@]} -gt 0 ]; then
  echo
  echo "failures:"
  printf '  %s\n' "${notes[@]}"
fi
exit 0
