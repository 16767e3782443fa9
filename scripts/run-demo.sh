#!/usr/bin/env bash
# Starts a private containerd (socket, root and state in a temp dir), runs
# one container that prints "hello", then stops the daemon and cleans up.
# Usage: scripts/run-demo.sh   (env CONTAINERD_BIN, CONTAINERD_ROOTFS override out/bin, out/rootfs)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
bin=${CONTAINERD_BIN:-$here/out/bin}
rootfs=${CONTAINERD_ROOTFS:-$here/out/rootfs}
for tool in containerd containerd-shim ctr; do
  [ -x "$bin/$tool" ] || { echo "demo: $bin/$tool is missing (run: make all)" >&2; exit 1; }
done
[ -d "$rootfs/bin" ] || { echo "demo: no rootfs at $rootfs (run: make rootfs)" >&2; exit 1; }

work=$(mktemp -d /tmp/containerd-demo.XXXXXX)
sock=$work/containerd.sock
log=$work/containerd.log
daemon_pid=

stop_daemon() {
  [ -n "$daemon_pid" ] || return 0
  if kill -0 "$daemon_pid" 2>/dev/null; then
    kill -TERM "$daemon_pid" 2>/dev/null || true
    for _ in $(seq 100); do
      kill -0 "$daemon_pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$daemon_pid" 2>/dev/null; then
      echo "demo: containerd did not stop on SIGTERM; killing it" >&2
      kill -KILL "$daemon_pid" 2>/dev/null || true
    fi
  fi
  wait "$daemon_pid" 2>/dev/null || true
  daemon_pid=
}

cleanup() {
  local status=$?
  stop_daemon
  # A bind mount left under the temp dir would let rm delete the rootfs
  # through it: unmount everything below it first (deepest first).
  awk -v dir="$work/" 'index($5, dir) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r mnt; do
    umount -l "$mnt" 2>/dev/null || true
  done
  if awk -v dir="$work/" 'index($5, dir) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    echo "demo: mounts remain under $work; not removing it" >&2
  else
    rm -rf "$work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

"$bin/containerd" --address "$sock" --root "$work/root" --state "$work/state" >"$log" 2>&1 &
daemon_pid=$!
for _ in $(seq 200); do
  [ -S "$sock" ] && break
  if ! kill -0 "$daemon_pid" 2>/dev/null; then
    echo "demo: containerd exited during startup; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.05
done
if [ ! -S "$sock" ]; then
  echo "demo: containerd did not create $sock within 10 s; its log:" >&2
  cat "$log" >&2
  exit 1
fi

if ! "$bin/ctr" --address "$sock" run --rm --rootfs "$rootfs" demo-hello echo hello; then
  echo "demo: ctr run failed; containerd's log:" >&2
  cat "$log" >&2
  exit 1
fi
stop_daemon
