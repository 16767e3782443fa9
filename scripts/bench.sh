#!/usr/bin/env bash
# Side-by-side figures: this project's daemon and Debian's containerd 1.6, each in
# its own temporary root, state and socket, on the same busybox rootfs.
#   - `ctr run --rm ... true` wall time (container start-to-exit through the CLI)
#   - `ctr tasks exec` wall time
#   - per-shim memory (PSS) with N containers running, and the daemon's RSS
# Usage: scripts/bench.sh [RUNS] [CONTAINERS]   (defaults 20 and 10)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-20}
count=${2:-10}
rootfs=$here/out/rootfs
bin=$here/out/bin
[ -x "$bin/containerd" ] && [ -d "$rootfs/bin" ] || { echo "bench: run 'make all rootfs' first" >&2; exit 1; }
if ! command -v containerd-shim-runc-v2 >/dev/null 2>&1; then
  echo "bench: installing Debian's containerd (the reference) ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containerd >/dev/null
fi

work=$(mktemp -d /tmp/ctd-bench.XXXXXX)
pids=()
# containerd-shim-runc-v2 keeps runc's state in /run/containerd/runc/NS whatever
# the daemon's state directory is: the bench's namespace there is the bench's own.
ref_runc_root=/run/containerd/runc/bench
delete_runc_containers() {
  for r in "$@"; do
    [ -d "$r" ] || continue
    for c in "$r"/*; do [ -d "$c" ] && runc --root "$r" delete -f "$(basename "$c")" >/dev/null 2>&1 || true; done
  done
}
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 1
  pkill -9 -f "$work" 2>/dev/null || true
  delete_runc_containers "$work"/*/state/runc/* "$work"/ref/state/io.containerd.runtime.v2.task/* "$ref_runc_root"
  grep -o " $work[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
# Left by an earlier bench that was interrupted: the reference would refuse the same ids.
delete_runc_containers "$ref_runc_root"

# The reference: Debian's containerd with its CRI plugin off and every path private.
mkdir -p "$work/ref"
cat > "$work/ref/config.toml" <<TOML
version = 2
root = "$work/ref/root"
state = "$work/ref/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/ref/c.sock"
[ttrpc]
  address = "$work/ref/c.sock.ttrpc"
[debug]
  address = ""
TOML
containerd --config "$work/ref/config.toml" >"$work/ref/log" 2>&1 &
pids+=($!)
ref_pid=$!

mkdir -p "$work/ours"
"$bin/containerd" --root "$work/ours/root" --state "$work/ours/state" --address "$work/ours/c.sock" --log-level warning >"$work/ours/log" 2>&1 &
pids+=($!)
our_pid=$!

for s in "$work/ref/c.sock" "$work/ours/c.sock"; do
  for _ in $(seq 100); do [ -S "$s" ] && break; sleep 0.1; done
  [ -S "$s" ] || { echo "bench: no socket $s" >&2; cat "$work"/*/log >&2; exit 1; }
done
sleep 0.5

ref_ctr() { /usr/bin/ctr --address "$work/ref/c.sock" --namespace bench "$@"; }
our_ctr() { "$bin/ctr" --address "$work/ours/c.sock" --namespace bench "$@"; }

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# median of the numbers on stdin
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print int((a[NR/2]+a[NR/2+1])/2)}'; }

time_runs() { # $1 = ref|ours
  local side=$1 t0 t1
  for i in $(seq "$runs"); do
    t0=$(now_ms)
    if [ "$side" = ref ]; then ref_ctr run --rm --rootfs "$rootfs" "r$i" /bin/true >/dev/null; else our_ctr run --rm --rootfs "$rootfs" "r$i" /bin/true >/dev/null; fi
    t1=$(now_ms)
    echo $((t1 - t0))
  done | median
}

time_execs() {
  local side=$1 t0 t1
  if [ "$side" = ref ]; then ref_ctr run -d --rootfs "$rootfs" ex /bin/sleep 300 >/dev/null; else our_ctr run -d --rootfs "$rootfs" ex /bin/sleep 300 >/dev/null; fi
  sleep 0.3
  for i in $(seq "$runs"); do
    t0=$(now_ms)
    if [ "$side" = ref ]; then ref_ctr tasks exec --exec-id "e$i" ex /bin/true >/dev/null; else our_ctr tasks exec ex /bin/true >/dev/null; fi
    t1=$(now_ms)
    echo $((t1 - t0))
  done | median
  if [ "$side" = ref ]; then ref_ctr tasks kill -s SIGKILL ex >/dev/null; sleep 0.5; ref_ctr tasks delete ex >/dev/null; ref_ctr containers delete ex >/dev/null
  else our_ctr tasks kill --signal SIGKILL ex >/dev/null; sleep 0.5; our_ctr tasks delete ex >/dev/null; our_ctr containers delete ex >/dev/null; fi
}

pss_kb() { awk '/^Pss:/ {s+=$2} END {print s+0}' /proc/"$1"/smaps_rollup 2>/dev/null || echo 0; }
rss_kb() { awk '/^VmRSS:/ {print $2}' /proc/"$1"/status; }

shim_memory() { # prints "avg_pss_kb daemon_rss_kb"
  local side=$1 pattern daemon_pid total=0 n=0
  for i in $(seq "$count"); do
    if [ "$side" = ref ]; then ref_ctr run -d --rootfs "$rootfs" "m$i" /bin/sleep 300 >/dev/null; else our_ctr run -d --rootfs "$rootfs" "m$i" /bin/sleep 300 >/dev/null; fi
  done
  sleep 2
  if [ "$side" = ref ]; then pattern="containerd-shim-runc-v2 .*-namespace bench"; daemon_pid=$ref_pid; else pattern="containerd-shim .*$work/ours"; daemon_pid=$our_pid; fi
  for p in $(pgrep -f "$pattern"); do total=$((total + $(pss_kb "$p"))); n=$((n + 1)); done
  echo "$(( n > 0 ? total / n : 0 )) $(rss_kb "$daemon_pid") $n"
  for i in $(seq "$count"); do
    if [ "$side" = ref ]; then ref_ctr tasks kill -s SIGKILL "m$i" >/dev/null 2>&1 || true; else our_ctr tasks kill --signal SIGKILL "m$i" >/dev/null 2>&1 || true; fi
  done
  sleep 1
  for i in $(seq "$count"); do
    if [ "$side" = ref ]; then ref_ctr tasks delete "m$i" >/dev/null 2>&1 || true; ref_ctr containers delete "m$i" >/dev/null 2>&1 || true
    else our_ctr tasks delete "m$i" >/dev/null 2>&1 || true; our_ctr containers delete "m$i" >/dev/null 2>&1 || true; fi
  done
}

echo "warming up ..." >&2
ref_ctr run --rm --rootfs "$rootfs" warm /bin/true >/dev/null
our_ctr run --rm --rootfs "$rootfs" warm /bin/true >/dev/null

ref_run=$(time_runs ref); our_run=$(time_runs ours)
ref_exec=$(time_execs ref); our_exec=$(time_execs ours)
read -r ref_pss ref_rss ref_n < <(shim_memory ref)
read -r our_pss our_rss our_n < <(shim_memory ours)

printf '\n%-44s %16s %16s\n' "benchmark ($runs runs, $count containers)" "containerd 1.6" "this project"
printf '%-44s %16s %16s\n' "ctr run --rm true, median ms" "$ref_run" "$our_run"
printf '%-44s %16s %16s\n' "ctr tasks exec true, median ms" "$ref_exec" "$our_exec"
printf '%-44s %16s %16s\n' "shim PSS, average kB ($ref_n / $our_n shims)" "$ref_pss" "$our_pss"
printf '%-44s %16s %16s\n' "daemon RSS with $count containers, kB" "$ref_rss" "$our_rss"
