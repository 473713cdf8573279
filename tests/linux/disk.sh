#!/usr/bin/env bash
# disk.sh — a virtio-blk image made here is read and written by the guest and
# verified on the host after power-off; with ,readonly the guest's write fails
# and the image is unchanged.
set -u
source "$(dirname "$0")/common.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
mkimg() { head -c 1048576 /dev/zero > "$1"; printf 'nestvm-disk-sector0-marker' | dd of="$1" conv=notrunc status=none; }
run() { "$NV" run --kernel "$KERNEL" --initrd "$INITRD" --memory 512M --disk "$1" \
          --cmdline "console=ttyS0 panic=-1 nestvm.mode=disk" --timeout "$LINUX_TIMEOUT" </dev/null >"$2" 2>&1; }
mkimg "$tmp/rw.img"
run "$tmp/rw.img" "$tmp/rw.out"; rc=$?
if [ $rc -eq 0 ] && grep -aq "DISK-READ: nestvm-disk-sector0-marker" "$tmp/rw.out" && grep -aq "DISK-WRITE: ok" "$tmp/rw.out" \
   && [ "$(dd if="$tmp/rw.img" bs=512 skip=1 count=1 status=none | head -c 23)" = "written-by-guest-nestvm" ]; then
  ok "guest reads and writes a virtio-blk disk"
else
  bad "read/write disk (rc=$rc)"; tail -20 "$tmp/rw.out"
fi
mkimg "$tmp/ro.img"; sum=$(sha256sum < "$tmp/ro.img")
run "$tmp/ro.img,readonly" "$tmp/ro.out"; rc=$?
if [ $rc -eq 0 ] && grep -aq "DISK-READ: nestvm-disk-sector0-marker" "$tmp/ro.out" && grep -aq "DISK-WRITE: failed" "$tmp/ro.out" \
   && [ "$(sha256sum < "$tmp/ro.img")" = "$sum" ]; then
  ok "readonly disk: guest write fails, image unchanged"
else
  bad "readonly disk (rc=$rc)"; tail -20 "$tmp/ro.out"
fi
finish
