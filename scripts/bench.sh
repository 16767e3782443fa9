#!/usr/bin/env bash
# Side-by-side benchmark: this project vs Debian's containerd 1.6, each with its
# own temporary root, state, socket and runc root, on the same busybox rootfs.
# Prints one table and writes it to out/bench/latest.md.
#
#   ctr run --rm true, ctr tasks exec true      wall time, median (min-max), sides alternated run by run
#   runc run / runc exec (floors)               runc alone on a plain bundle, interleaved with the above
#   per-shim PSS, private memory, threads       averaged over BENCH_CONTAINERS running containers
#   daemon RSS                                  with BENCH_RUNNING containers running
#   restart                                     kill -9 the daemon with BENCH_RUNNING running, start it
#                                               again, time until `ctr tasks list` shows them all RUNNING
#   burst                                       BENCH_BURST `ctr run -d` at once: containers per second
#   exec churn                                  exec+delete cycles into one container (BENCH_CHURN_LOOPS
#                                               concurrent loops): shim RSS, fds and zombies before/after
#   image pull (scripts/bench-pull.sh)          from a local docker-registry, cold each run, BENCH_PULL_RUNS runs:
#                                               pull + unpack, pull without unpack, unpack alone
#
# Usage: scripts/bench.sh [RUNS] [CONTAINERS]
# Environment (defaults): BENCH_RUNS=20 BENCH_CONTAINERS=10 BENCH_RUNNING=20 BENCH_BURST=50
#   BENCH_BURST_ROUNDS=3 BENCH_RESTARTS=5 BENCH_CHURN=10000 BENCH_REF_CHURN=1000 BENCH_CHURN_LOOPS=4
#   BENCH_PULL_RUNS=10; BENCH_ONLY=pull runs the image pull rows alone (BENCH_ONLY=core: all but them)
set -uo pipefail   # no -e: each step checks its commands and fails with their output (die)
export LC_ALL=C
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${BENCH_RUNS:-${1:-20}}
count=${BENCH_CONTAINERS:-${2:-10}}
running=${BENCH_RUNNING:-20}
burst=${BENCH_BURST:-50}
burst_rounds=${BENCH_BURST_ROUNDS:-3}
restarts=${BENCH_RESTARTS:-5}
churn=${BENCH_CHURN:-10000}
ref_churn=${BENCH_REF_CHURN:-1000}
loops=${BENCH_CHURN_LOOPS:-4}
only=${BENCH_ONLY:-}
case "$only" in ''|pull|core) ;; *) echo "bench: BENCH_ONLY is pull or core" >&2; exit 1;; esac
want() { [ -z "$only" ] || [ "$only" = "$1" ]; }
(( running < count )) && running=$count
rootfs=$here/out/rootfs
bin=$here/out/bin
[ -x "$bin/containerd" ] && [ -x "$bin/ctr" ] && [ -d "$rootfs/bin" ] || { echo "bench: run 'make all rootfs' first" >&2; exit 1; }
[ -n "${EPOCHREALTIME:-}" ] || { echo "bench: needs bash 5 (EPOCHREALTIME)" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench: must run as root (runc)" >&2; exit 1; }
if ! command -v containerd-shim-runc-v2 >/dev/null 2>&1; then
  echo "bench: installing Debian's containerd (the reference) ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq containerd >/dev/null || { echo "bench: apt-get install containerd failed" >&2; exit 1; }
fi
if want pull && ! { command -v docker-registry && command -v umoci && command -v skopeo; } >/dev/null 2>&1; then
  echo "bench: installing docker-registry, umoci, skopeo (the pull rows) ..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry umoci skopeo >/dev/null || { echo "bench: apt-get install docker-registry umoci skopeo failed" >&2; exit 1; }
fi

# One bench at a time: the reference's runc root below is fixed and cleaned at start.
exec 9>/tmp/ctd-bench.lock
flock -n 9 || { echo "bench: waiting for another bench to finish ..." >&2; flock -w 1800 9 || { echo "bench: lock timeout" >&2; exit 1; }; }

start_us=${EPOCHREALTIME/./}
work=$(mktemp -d /tmp/ctd-bench.XXXXXX)
step=setup
ref_pid='' our_pid=''
# containerd-shim-runc-v2 keeps runc's state in /run/containerd/runc/NS whatever
# the daemon's state directory is: the bench's namespace there is the bench's own.
ref_runc_root=/run/containerd/runc/bench
our_runc_root=$work/ours/state/runc/bench
floor_root=$work/runc

log() { printf '[%5ds] %s\n' $(( (${EPOCHREALTIME/./} - start_us) / 1000000 )) "$*" >&2; }
die() {
  echo "bench: step '$step' failed: $*" >&2
  [ -s "$work/out" ] && { echo "--- output:" >&2; tail -n 40 "$work/out" >&2; }
  for f in "$work"/ref/log "$work"/ours/log; do [ -s "$f" ] && { echo "--- $f (tail):" >&2; tail -n 15 "$f" >&2; }; done
  exit 1
}
must() { "$@" >"$work/out" 2>&1 || die "$*"; }

delete_runc_containers() { # runc roots
  local r c
  for r in "$@"; do
    [ -d "$r" ] || continue
    for c in "$r"/*; do [ -d "$c" ] && runc --root "$r" delete -f "${c##*/}" >/dev/null 2>&1; done
  done
}
pids_under_work() { # processes whose command line names the bench's directory: daemons, shims
  local f
  for f in /proc/[0-9]*/cmdline; do
    grep -qaF "$work/" "$f" 2>/dev/null && { f=${f#/proc/}; f=${f%/cmdline}; [ "$f" != $$ ] && echo "$f"; }
  done
}
# shellcheck source=scripts/bench-pull.sh
. "$here/scripts/bench-pull.sh"

cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  set +e
  [ $rc -ne 0 ] && log "cleaning up after a failure ..."
  stop_registry
  for p in $(jobs -p); do kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; done   # churn loops, burst ctrs, daemons
  delete_runc_containers "$our_runc_root" "$ref_runc_root" "$floor_root"
  for p in $(pids_under_work); do kill -KILL "$p" 2>/dev/null; done
  wait 2>/dev/null
  sleep 0.2
  delete_runc_containers "$our_runc_root" "$ref_runc_root" "$floor_root"
  # a reference shim killed here leaves its socket in /run/containerd/s: its bundle names it
  for p in "$work"/ref/state/io.containerd.runtime.v2.task/*/*/address; do
    [ -f "$p" ] || continue
    p=$(<"$p"); p=${p#unix://}
    case "$p" in /run/containerd/s/*) rm -f "$p";; esac
  done
  grep -o " $work[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$work"
  rmdir "$ref_runc_root" /sys/fs/cgroup/*/bench 2>/dev/null   # the cgroup parents only if nothing else uses them
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Left by an earlier bench that was interrupted: the reference would refuse the same ids.
delete_runc_containers "$ref_runc_root"

# ---------------------------------------------------------------- the two daemons
mkdir -p "$work/ref/fifo" "$work/ours" "$work/floor"
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

start_daemon() { # ref|ours; the same config / flags every time
  if [ "$1" = ref ]; then
    containerd --config "$work/ref/config.toml" >>"$work/ref/log" 2>&1 9>&- &
    ref_pid=$!
  else
    "$bin/containerd" --root "$work/ours/root" --state "$work/ours/state" --address "$work/ours/c.sock" --log-level warning >>"$work/ours/log" 2>&1 9>&- &
    our_pid=$!
  fi
}
daemon_pid() { if [ "$1" = ref ]; then echo "$ref_pid"; else echo "$our_pid"; fi; }

ctr_ref=(/usr/bin/ctr --address "$work/ref/c.sock" --namespace bench)
ctr_ours=("$bin/ctr" --address "$work/ours/c.sock" --namespace bench)
xctr() { local side=$1; shift; if [ "$side" = ref ]; then "${ctr_ref[@]}" "$@"; else "${ctr_ours[@]}" "$@"; fi; }
# ctr run -d / --rm and ctr tasks exec; the reference keeps its FIFOs in the bench's directory.
ctr_run() { # side run-flag id args...
  local side=$1 flag=$2 id=$3; shift 3
  if [ "$side" = ref ]; then "${ctr_ref[@]}" run "$flag" --fifo-dir "$work/ref/fifo" --rootfs "$rootfs" "$id" "$@"
  else "${ctr_ours[@]}" run "$flag" --rootfs "$rootfs" "$id" "$@"; fi
}
ctr_exec() { # side id exec-id args...   (our ctr makes its own exec id)
  local side=$1 id=$2 eid=$3; shift 3
  if [ "$side" = ref ]; then "${ctr_ref[@]}" tasks exec --fifo-dir "$work/ref/fifo" --exec-id "$eid" "$id" "$@"
  else "${ctr_ours[@]}" tasks exec "$id" "$@"; fi
}
running_count() { xctr "$1" tasks list 2>/dev/null | awk '$3 == "RUNNING" {n++} END {print n+0}'; }
task_pid() { xctr "$1" tasks list 2>/dev/null | awk -v id="$2" '$1 == id {print $2}'; }
shim_pid() { # the shim is the container's init's parent (it is the subreaper of its container)
  local p; p=$(task_pid "$1" "$2")
  [ -n "$p" ] && awk '/^PPid:/ {print $2}' "/proc/$p/status" 2>/dev/null
}

wait_ready() { # side
  local i
  for i in $(seq 200); do xctr "$1" tasks list >/dev/null 2>&1 && return 0; sleep 0.05; done
  die "daemon '$1' does not answer on its socket"
}

# Kill -9 then delete the tasks and containers given.
remove_containers() { # side ids...
  local side=$1 i; shift
  local -a c; if [ "$side" = ref ]; then c=("${ctr_ref[@]}"); else c=("${ctr_ours[@]}"); fi
  printf '%s\n' "$@" | xargs -P 8 -n 1 "${c[@]}" tasks kill -s SIGKILL >/dev/null 2>&1
  for i in $(seq 400); do [ "$(running_count "$side")" = 0 ] && break; sleep 0.05; done
  printf '%s\n' "$@" | xargs -P 8 -n 1 "${c[@]}" tasks delete >"$work/out" 2>&1 || die "tasks delete ($side)"
  printf '%s\n' "$@" | xargs -n 25 "${c[@]}" containers delete >"$work/out" 2>&1 || die "containers delete ($side)"
}

# ---------------------------------------------------------------- figures
declare -A R   # results by key
timed() { # array-name command...   appends the wall time in µs; fails the step on error
  local -n __acc=$1; shift
  local t0=${EPOCHREALTIME/./} t1
  "$@" >"$work/out" 2>&1 </dev/null || die "$*"
  t1=${EPOCHREALTIME/./}
  __acc+=($((t1 - t0)))
}
# "median min max" of the integers given
stats() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {m = NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; printf "%d %d %d\n", m, a[1], a[NR]}'; }
fmt_ms() { # "median min max" in µs -> "12.3 ms (11.0–15.2)"
  awk -v m="$1" -v lo="$2" -v hi="$3" 'BEGIN {printf "%.1f ms (%.1f–%.1f)", m/1000, lo/1000, hi/1000}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b == 0) print "—"; else printf "%.2f\n", a/b}'; }
time_row() { # key label ref-array ours-array
  local -n __r=$3 __o=$4
  local rs os; rs=$(stats "${__r[@]}"); os=$(stats "${__o[@]}")
  # shellcheck disable=SC2086
  R[$1]="| $2 | $(fmt_ms $rs) | $(fmt_ms $os) | $(ratio "${os%% *}" "${rs%% *}") |"
}

status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status"; }
smaps_kb() { awk -v k="$2" '$1 == k":" {s+=$2} END {print s+0}' "/proc/$1/smaps_rollup"; }
fd_count() { local f n=0; for f in /proc/"$1"/fd/*; do n=$((n+1)); done; echo $n; }
zombies_of() { # children of $1 in state Z
  local parent=$1 f s n=0
  for f in /proc/[0-9]*/stat; do
    read -r s < "$f" 2>/dev/null || continue
    s=${s##*) }
    # shellcheck disable=SC2086
    set -- $s
    [ "$1" = Z ] && [ "$2" = "$parent" ] && n=$((n+1))
  done
  echo $n
}

# ---------------------------------------------------------------- go
log "work directory $work; runs=$runs containers=$count running=$running burst=$burst×$burst_rounds restarts=$restarts churn=$churn/$ref_churn loops=$loops pull_runs=$pull_runs${only:+ only=$only}"
loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
step="start daemons"
start_daemon ref; start_daemon ours
wait_ready ref; wait_ready ours

want pull && pull_rows

if want core; then   # ---------------- every row but the pull rows, down to the report
step="floor bundles"
# runc alone, on a plain bundle: `runc spec`, no terminal, the rootfs by absolute path.
make_bundle() { # dir args-json
  mkdir -p "$1"
  runc spec --bundle "$1" || return 1
  sed -i -e 's/"terminal": true/"terminal": false/' -e "s|\"path\": \"rootfs\"|\"path\": \"$rootfs\"|" \
    -e "s|^\(\s*\)\"sh\"\$|\1$2|" "$1/config.json"
  grep -qF "$rootfs" "$1/config.json"
}
must make_bundle "$work/floor/true" '"/bin/true"'
must make_bundle "$work/floor/sleep" '"/bin/sleep", "3600"'

step=warm-up
must ctr_run ref --rm warm /bin/true
must ctr_run ours --rm warm /bin/true
must runc --root "$floor_root" run --bundle "$work/floor/true" warm

step="ctr run --rm"
log "$step × $runs (ref, ours, runc alternated)"
t_ref=() t_ours=() t_floor=()
for i in $(seq "$runs"); do
  timed t_ref ctr_run ref --rm "r$i" /bin/true
  timed t_ours ctr_run ours --rm "r$i" /bin/true
  timed t_floor runc --root "$floor_root" run --bundle "$work/floor/true" "fl$i"
done
time_row run "\`ctr run --rm ID /bin/true\`" t_ref t_ours
read -r m lo hi < <(stats "${t_floor[@]}")
R[floor_run]="| floor: \`runc run\` /bin/true (runc alone) | $(fmt_ms "$m" "$lo" "$hi") | — | — |"

step="ctr tasks exec"
log "$step × $runs"
must ctr_run ref -d ex /bin/sleep 3600
must ctr_run ours -d ex /bin/sleep 3600
runc --root "$floor_root" run -d --bundle "$work/floor/sleep" fx </dev/null >"$work/out" 2>&1 9>&- || die "runc run -d"
t_ref=() t_ours=() t_floor=()
for i in $(seq "$runs"); do
  timed t_ref ctr_exec ref ex "e$i" /bin/true
  timed t_ours ctr_exec ours ex "e$i" /bin/true
  timed t_floor runc --root "$floor_root" exec fx /bin/true
done
time_row exec "\`ctr tasks exec ID /bin/true\`" t_ref t_ours
read -r m lo hi < <(stats "${t_floor[@]}")
R[floor_exec]="| floor: \`runc exec\` /bin/true (runc alone) | $(fmt_ms "$m" "$lo" "$hi") | — | — |"
remove_containers ref ex; remove_containers ours ex
runc --root "$floor_root" delete -f fx >/dev/null 2>&1

step="shim memory"
log "$step: $count containers each"
for i in $(seq "$count"); do
  must ctr_run ref -d "m$i" /bin/sleep 3600
  must ctr_run ours -d "m$i" /bin/sleep 3600
done
sleep 2
for side in ref ours; do
  pss=0 priv=0 thr=0 n=0 seen=' '
  for i in $(seq "$count"); do
    p=$(shim_pid "$side" "m$i")
    [ -n "$p" ] && [ -r "/proc/$p/smaps_rollup" ] || die "no shim found for $side m$i"
    case "$seen" in *" $p "*) continue;; esac   # one shim serving several containers counts once
    seen+="$p "
    pss=$((pss + $(smaps_kb "$p" Pss)))
    priv=$((priv + $(smaps_kb "$p" Private_Clean) + $(smaps_kb "$p" Private_Dirty)))
    thr=$((thr + $(status_kb "$p" Threads)))
    n=$((n + 1))
  done
  R[pss_$side]=$((pss / n)) R[priv_$side]=$((priv / n)) R[n_$side]=$n
  R[thr_$side]=$(awk -v t=$thr -v n=$n 'BEGIN {printf "%.1f", t/n}')
done

step="daemon RSS"
log "$step with $running containers"
for i in $(seq $((count + 1)) "$running"); do
  must ctr_run ref -d "m$i" /bin/sleep 3600
  must ctr_run ours -d "m$i" /bin/sleep 3600
done
sleep 1
for side in ref ours; do
  [ "$(running_count "$side")" = "$running" ] || die "$side: $(running_count "$side") of $running running"
  R[rss_$side]=$(status_kb "$(daemon_pid "$side")" VmRSS)
done

step=restart
log "$step × $restarts with $running running (kill -9, start, poll tasks list)"
restart_once() { # side array-name
  local side=$1 pid t0 t1 n
  local -n __acc=$2
  pid=$(daemon_pid "$side")
  kill -KILL "$pid"; wait "$pid" 2>/dev/null
  t0=${EPOCHREALTIME/./}
  start_daemon "$side"
  while :; do
    n=$(running_count "$side")
    [ "$n" -ge "$running" ] && break
    (( ${EPOCHREALTIME/./} - t0 > 60000000 )) && { : >"$work/out"; die "$side: $n of $running RUNNING 60 s after the restart"; }
    sleep 0.005
  done
  t1=${EPOCHREALTIME/./}
  __acc+=($((t1 - t0)))
}
t_ref=() t_ours=()
for i in $(seq "$restarts"); do restart_once ref t_ref; restart_once ours t_ours; done
time_row restart "restart (kill -9) until $running tasks RUNNING" t_ref t_ours
ids=(); for i in $(seq "$running"); do ids+=("m$i"); done
remove_containers ref "${ids[@]}"; remove_containers ours "${ids[@]}"

step=burst
log "$step: $burst × ctr run -d at once, × $burst_rounds"
burst_once() { # side round array-name
  local side=$1 r=$2 i p t0 t1 fails=0
  local -n __acc=$3
  local -a bp=() ids=()
  for i in $(seq "$burst"); do ids+=("b${r}_$i"); done
  t0=${EPOCHREALTIME/./}
  for i in "${ids[@]}"; do
    ctr_run "$side" -d "$i" /bin/sleep 3600 >"$work/burst.$i" 2>&1 </dev/null 9>&- &
    bp+=($!)
  done
  for p in "${bp[@]}"; do wait "$p" || fails=$((fails + 1)); done
  t1=${EPOCHREALTIME/./}
  [ $fails = 0 ] || { cat "$work"/burst.* >"$work/out"; die "$side: $fails of $burst ctr run -d failed"; }
  [ "$(running_count "$side")" = "$burst" ] || { : >"$work/out"; die "$side: $(running_count "$side") of $burst running"; }
  __acc+=($((t1 - t0)))
  rm -f "$work"/burst.*
  remove_containers "$side" "${ids[@]}"
}
t_ref=() t_ours=()
for i in $(seq "$burst_rounds"); do burst_once ref "$i" t_ref; burst_once ours "$i" t_ours; done
rate_cell() { # "median min max" of wall µs -> "N/s (lo–hi)"
  awk -v n="$burst" -v m="$1" -v lo="$2" -v hi="$3" 'BEGIN {printf "%.1f /s (%.1f–%.1f)", n*1e6/m, n*1e6/hi, n*1e6/lo}'; }
rs=$(stats "${t_ref[@]}"); os=$(stats "${t_ours[@]}")
# shellcheck disable=SC2086
R[burst]="| $burst \`ctr run -d\` at once: containers per second | $(rate_cell $rs) | $(rate_cell $os) | $(ratio "${rs%% *}" "${os%% *}") |"

step="exec churn"
churn_loops() { # side prefix cycles-per-loop: $loops concurrent loops of exec+delete; fails when one did
  local side=$1 prefix=$2 per=$3 l p
  local -a lp=()
  rm -f "$work"/churn.*
  for l in $(seq "$loops"); do
    (
      for i in $(seq "$per"); do
        ctr_exec "$side" ch "${prefix}${l}_$i" /bin/true >/dev/null 2>"$work/churn.$l.err" </dev/null || { echo "$i" >"$work/churn.$l.failed"; exit 1; }
      done
    ) 9>&- &
    lp+=($!)
  done
  for p in "${lp[@]}"; do wait "$p"; done
  ! ls "$work"/churn.*.failed >/dev/null 2>&1
}
churn_side() { # side cycles
  local side=$1 total=$2 per t0 t1 rss0 rssw rss1 fd0 fd1 z shim
  must ctr_run "$side" -d ch /bin/sleep 3600
  sleep 0.5
  shim=$(shim_pid "$side" ch); [ -n "$shim" ] || die "no shim for $side ch"
  must ctr_exec "$side" ch w0 /bin/true   # first exec: lazy initialisation is not growth
  sleep 0.5
  rss0=$(status_kb "$shim" VmRSS) fd0=$(fd_count "$shim")
  # A first concurrent burst sizes the shim's thread pool and GC heap for
  # $loops concurrent calls: warm-up, reported apart from the growth after it.
  churn_loops "$side" w 50 || die "$side: an exec failed in the warm-up"
  sleep 1
  rssw=$(status_kb "$shim" VmRSS)
  per=$(( (total + loops - 1) / loops ))
  log "$step: $side, $((per * loops)) cycles in $loops loops into one container"
  t0=${EPOCHREALTIME/./}
  churn_loops "$side" c "$per" || { cat "$work"/churn.*.err >"$work/out"; die "$side: an exec failed (cycle $(cat "$work"/churn.*.failed | head -1))"; }
  t1=${EPOCHREALTIME/./}
  sleep 1
  rss1=$(status_kb "$shim" VmRSS) fd1=$(fd_count "$shim") z=$(zombies_of "$shim")
  R[ch_n_$side]=$((per * loops)) R[ch_us_$side]=$((t1 - t0))
  R[ch_rss0_$side]=$rss0 R[ch_rssw_$side]=$rssw R[ch_rss1_$side]=$rss1 R[ch_fd0_$side]=$fd0 R[ch_fd1_$side]=$fd1 R[ch_z_$side]=$z
  remove_containers "$side" ch
}
churn_side ref "$ref_churn"
churn_side ours "$churn"
fi   # want core

step=report
end_us=${EPOCHREALTIME/./}
want core && for side in ref ours; do
  R[ch_rate_$side]=$(awk -v n="${R[ch_n_$side]}" -v us="${R[ch_us_$side]}" 'BEGIN {printf "%.1f", n*1e6/us}')
  R[ch_per1k_$side]=$(awk -v a="${R[ch_rssw_$side]}" -v b="${R[ch_rss1_$side]}" -v n="${R[ch_n_$side]}" 'BEGIN {printf "%.0f", (b-a)*1000/n}')
done
cell_churn() { awk -v n="${R[ch_n_$1]}" -v us="${R[ch_us_$1]}" -v r="${R[ch_rate_$1]}" 'BEGIN {printf "%d in %.1f s (%s /s)", n, us/1e6, r}'; }
cell_rss() { printf '%s → %s → %s (%+d after warm-up)' "${R[ch_rss0_$1]}" "${R[ch_rssw_$1]}" "${R[ch_rss1_$1]}" $(( R[ch_rss1_$1] - R[ch_rssw_$1] )); }
cell_fd() { printf '%s → %s' "${R[ch_fd0_$1]}" "${R[ch_fd1_$1]}"; }

cpu=$(awk -F': *' '/^model name/ {print $2; exit}' /proc/cpuinfo)
runc_v=$(runc --version | awk 'NR == 1 {print $3}')
ref_v=$(containerd --version | awk '{print $3}')
total_s=$(( (end_us - start_us) / 1000000 ))
mkdir -p "$here/out/bench"
md=$here/out/bench/latest.md
{
  echo "## make bench"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), Linux $(uname -r), $(nproc) CPUs ($cpu), runc $runc_v, reference containerd $ref_v; load average at start $loadavg; bench took ${total_s} s."
  want core && echo "Timings: median (min–max) of $runs runs, sides alternated run by run; restart: $restarts restarts; burst: $burst_rounds rounds."
  want pull && echo "Pull rows: median (min–max) of $pull_runs cold runs per side, alternated, from a local docker-registry; image: 3 layers (busybox, 8 MiB of random data, a config file and a whiteout), ${R[image_desc]}."
  echo
  echo "| measure | containerd 1.6 | this project | ratio (ours/theirs) |"
  echo "|---|---|---|---|"
  if want core; then
  echo "${R[run]}"
  echo "${R[exec]}"
  echo "${R[floor_run]}"
  echo "${R[floor_exec]}"
  echo "| per-shim PSS, kB (average of ${R[n_ref]} / ${R[n_ours]} shims) | ${R[pss_ref]} | ${R[pss_ours]} | $(ratio "${R[pss_ours]}" "${R[pss_ref]}") |"
  echo "| per-shim private memory (Private_Clean+Private_Dirty), kB | ${R[priv_ref]} | ${R[priv_ours]} | $(ratio "${R[priv_ours]}" "${R[priv_ref]}") |"
  echo "| shim threads | ${R[thr_ref]} | ${R[thr_ours]} | $(ratio "${R[thr_ours]}" "${R[thr_ref]}") |"
  echo "| daemon RSS with $running containers running, kB | ${R[rss_ref]} | ${R[rss_ours]} | $(ratio "${R[rss_ours]}" "${R[rss_ref]}") |"
  echo "${R[burst]}"
  echo "${R[restart]}"
  echo "| exec churn: exec+delete cycles, $loops loops | $(cell_churn ref) | $(cell_churn ours) | $(ratio "${R[ch_rate_ours]}" "${R[ch_rate_ref]}") |"
  echo "| exec churn: shim RSS idle → after warm-up ($((loops * 50)) cycles) → after, kB | $(cell_rss ref) | $(cell_rss ours) | — |"
  echo "| exec churn: shim RSS growth per 1000 cycles after warm-up, kB | ${R[ch_per1k_ref]} | ${R[ch_per1k_ours]} | $(ratio "${R[ch_per1k_ours]}" "${R[ch_per1k_ref]}") |"
  echo "| exec churn: shim fds before → after | $(cell_fd ref) | $(cell_fd ours) | — |"
  echo "| exec churn: zombie children of the shim after | ${R[ch_z_ref]} | ${R[ch_z_ours]} | — |"
  fi
  if want pull; then
  echo "${R[pull]}"
  echo "${R[fetch]}"
  echo "${R[unpack]}"
  fi
  echo
  echo "Ratios are ours/theirs of the row's figure (medians for timings): below 1 is better for times and memory, above 1 is better for the rates (per second). Floors are runc alone, without any daemon or shim: the lowest any runtime can go."
} >"$md"
echo
cat "$md"
echo
log "written to ${md#"$here"/}"
