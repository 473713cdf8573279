# common.sh — shared by the Debian-kernel tests: finds the kernel, builds the
# initramfs once per run into build/test-initrd.cpio.gz.
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
NV=${NESTVM:-build/nestvm}
KERNEL=$(ls -1 /boot/vmlinuz-*-cloud-amd64 2>/dev/null | sort -V | tail -1)
if [ -z "$KERNEL" ]; then
  echo "no /boot/vmlinuz-*-cloud-amd64: install linux-image-cloud-amd64" >&2
  exit 1
fi
INITRD=build/test-initrd.cpio.gz
if [ ! -e "$INITRD" ] || [ scripts/mkinitramfs.sh -nt "$INITRD" ]; then
  scripts/mkinitramfs.sh "$INITRD" >&2 || exit 1
fi
LINUX_TIMEOUT=${LINUX_TIMEOUT:-900}
pass=0; fail=0
ok() { pass=$((pass+1)); echo "ok   $*"; }
bad() { fail=$((fail+1)); echo "FAIL $*"; }
finish() { echo "$pass passed, $fail failed"; [ "$fail" -eq 0 ]; }
