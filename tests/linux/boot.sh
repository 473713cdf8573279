#!/usr/bin/env bash
# boot.sh — the Debian cloud kernel boots on the software engine to /init with
# 1 and 2 vCPUs, prints /proc/cpuinfo's flags, and powers off with status 0.
set -u
source "$(dirname "$0")/common.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for n in 1 2; do
  "$NV" run --kernel "$KERNEL" --initrd "$INITRD" --cpus $n --memory 512M \
     --cmdline "console=ttyS0 panic=-1 nestvm.mode=boot" --timeout "$LINUX_TIMEOUT" --stats \
     </dev/null >"$tmp/out$n" 2>"$tmp/err$n"
  rc=$?
  grep -a "stats:" "$tmp/err$n"
  if [ $rc -eq 0 ] && grep -aq "NESTVM-INIT-REACHED" "$tmp/out$n" && grep -aq "CPUS: $n" "$tmp/out$n" \
     && grep -aq "^flags.*fpu" "$tmp/out$n" && grep -aq "NESTVM-POWEROFF" "$tmp/out$n"; then
    ok "boot --cpus $n: $(grep -a '^flags' "$tmp/out$n" | head -1 | cut -c1-60)..."
  else
    bad "boot --cpus $n (rc=$rc)"; tail -30 "$tmp/out$n"; tail -5 "$tmp/err$n"
  fi
done
finish
