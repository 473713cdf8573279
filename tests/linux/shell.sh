#!/usr/bin/env bash
# shell.sh — an interactive session through a terminal (tmux): type a command at
# the busybox shell on the serial console and read its answer.
set -u
source "$(dirname "$0")/common.sh"
command -v tmux >/dev/null || { echo "tmux missing"; exit 1; }
sock=nestvm-test-$$
s="tmux -L $sock"
trap '$s kill-server 2>/dev/null' EXIT
$s new-session -d -x 200 -y 50 "$NV run --kernel $KERNEL --initrd $INITRD --memory 512M --cmdline 'console=ttyS0 panic=-1 nestvm.mode=shell' --timeout $LINUX_TIMEOUT; echo NESTVM-EXITED-\$?; sleep 60"
wait_for() { # pattern seconds
  local i=0
  while [ $i -lt $(( $2 * 10 )) ]; do
    $s capture-pane -p -S -200 2>/dev/null | grep -q "$1" && return 0
    sleep 0.1; i=$((i+1))
  done
  return 1
}
if wait_for NESTVM-SHELL-READY "$LINUX_TIMEOUT"; then
  sleep 1
  $s send-keys 'echo $((6*7))-answer; uname -s' Enter
  if wait_for '^42-answer' 120; then ok "shell answers a typed command"; else bad "no answer from the shell"; $s capture-pane -p | tail -20; fi
  $s send-keys 'poweroff -f' Enter
  if wait_for 'NESTVM-EXITED-0' 120; then ok "poweroff from the shell exits 0"; else bad "poweroff from the shell"; $s capture-pane -p | tail -10; fi
else
  bad "shell never became ready"; $s capture-pane -p | tail -30
fi
finish
