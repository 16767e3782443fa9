# Sourced by scripts/bench.sh (uses its work, step, die, must, timed, time_row,
# xctr, ctr_ref, ctr_ours, log, rootfs, R): the image pull rows.
#
#   A local docker-registry (127.0.0.1, a free port, storage under the bench's
#   directory) serves one image built offline with umoci from out/rootfs:
#   3 layers (busybox; 64 files of incompressible data, 8 MiB; a config file
#   and a whiteout) pushed with skopeo. Every run is cold on both sides: the
#   image is removed with its content and snapshots first (containerd:
#   `ctr images rm --sync`, a synchronous GC; ours: `ctr images remove`), and
#   checked gone. Per run and side:
#     pull + unpack        containerd `ctr images pull --plain-http`, ours the same
#     pull, no unpack      containerd `ctr content fetch --plain-http` (1.6's pull
#                          has no skip-unpack option), ours `ctr images pull --no-unpack`
#     unpack alone         `ctr images pull --plain-http` again with all content
#                          present: resolve against the registry, then unpack only
# Sides alternated run by run; BENCH_PULL_RUNS runs.

pull_runs=${BENCH_PULL_RUNS:-10}
reg_pid=''
image_ref=''

free_port() { # a port nothing listens on, from the ephemeral range's lower neighbour
  local p
  for p in $(shuf -i 20000-32000 -n 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
  done
  return 1
}

start_registry() {
  local port i
  port=$(free_port) || die "no free port found"
  mkdir -p "$work/registry/data"
  cat > "$work/registry/config.yml" <<YAML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $work/registry/data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YAML
  docker-registry serve "$work/registry/config.yml" >>"$work/registry/log" 2>&1 </dev/null 9>&- &
  reg_pid=$!
  for i in $(seq 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v2/")" = 200 ] && { echo "$port" >"$work/registry/port"; return 0; }
    kill -0 "$reg_pid" 2>/dev/null || break
    sleep 0.1
  done
  cp "$work/registry/log" "$work/out"
  die "docker-registry did not answer on 127.0.0.1:$port"
}

stop_registry() { # also called by the cleanup trap
  [ -n "$reg_pid" ] || return 0
  kill -TERM "$reg_pid" 2>/dev/null
  wait "$reg_pid" 2>/dev/null
  reg_pid=''
}

build_image() { # port: builds the 3-layer image with umoci, pushes it with skopeo
  local port=$1 l=$work/image/layout b=$work/image/bundle i
  mkdir -p "$work/image"
  must umoci init --layout "$l"
  must umoci new --image "$l:bench"
  must umoci unpack --rootless --image "$l:bench" "$b"
  # layer 1: the busybox rootfs
  must cp -a "$rootfs/." "$b/rootfs/"
  must umoci repack --refresh-bundle --image "$l:bench" "$b"
  # layer 2: 8 MiB that gzip cannot shrink, in 64 files, and some text
  mkdir -p "$b/rootfs/opt/data"
  for i in $(seq 64); do head -c 131072 /dev/urandom >"$b/rootfs/opt/data/blob$i"; done
  seq 100000 >"$b/rootfs/opt/data/numbers.txt"
  must umoci repack --refresh-bundle --image "$l:bench" "$b"
  # layer 3: a config file and a whiteout
  rm -f "$b/rootfs/opt/data/blob1"
  printf 'bench=1\n' >"$b/rootfs/etc/bench.conf"
  must umoci repack --refresh-bundle --image "$l:bench" "$b"
  must umoci config --image "$l:bench" --config.cmd /bin/sh --config.env PATH=/bin:/usr/bin
  image_ref=127.0.0.1:$port/bench/busybox:3layers
  must skopeo copy --quiet --dest-tls-verify=false "oci:$l:bench" "docker://$image_ref"
  R[image_desc]=$(du -sk "$work/image/layout/blobs" | awk '{printf "%.1f MiB compressed", $1/1024}')
}

# Remove the image with its content and snapshots; fail if anything is left.
pull_reset() { # side
  local side=$1 n
  if [ "$side" = ref ]; then
    xctr ref images list -q 2>/dev/null | grep -qxF "$image_ref" && { must "${ctr_ref[@]}" images rm --sync "$image_ref"; }
    n=$( { "${ctr_ref[@]}" content ls -q; "${ctr_ref[@]}" snapshots ls | tail -n +2; } 2>/dev/null | grep -c .)
  else
    xctr ours images list -q 2>/dev/null | grep -qxF "$image_ref" && { must "${ctr_ours[@]}" images remove "$image_ref"; }
    n=$( { "${ctr_ours[@]}" content list -q 2>/dev/null; ls -A "$work/ours/root/snapshots/overlayfs/snapshots" 2>/dev/null; } | grep -c .)
  fi
  [ "$n" = 0 ] || { { xctr "$side" content ls 2>&1; xctr "$side" snapshots ls 2>&1; } >"$work/out"; die "$side: $n blobs/snapshots left after removing the image"; }
}
pull_unpack() { xctr "$1" images pull --plain-http "$image_ref"; }
pull_only() { # side
  if [ "$1" = ref ]; then "${ctr_ref[@]}" content fetch --plain-http "$image_ref"
  else "${ctr_ours[@]}" images pull --plain-http --no-unpack "$image_ref"; fi
}
pull_check_unpacked() { # side: a container from the image runs and sees layer 3 and the whiteout
  must ctr_image_run "$1" pcheck
  grep -qx 'bench=1 0' "$work/out" || die "$1: the unpacked image is not what was pushed: $(head -c 300 "$work/out")"
}
ctr_image_run() { # side id: runs the pulled image itself (not --rootfs)
  local cmd='cat /etc/bench.conf | tr -d "\n"; echo " $(ls /opt/data | grep -c ^blob1$)"'
  if [ "$1" = ref ]; then "${ctr_ref[@]}" run --rm --fifo-dir "$work/ref/fifo" "$image_ref" "$2" /bin/sh -c "$cmd"
  else "${ctr_ours[@]}" run --rm "$image_ref" "$2" /bin/sh -c "$cmd"; fi
}

pull_rows() {
  local i side
  step=registry
  log "$step: docker-registry, image built with umoci, pushed with skopeo"
  start_registry
  build_image "$(cat "$work/registry/port")"
  log "image $image_ref (${R[image_desc]})"

  step="pull warm-up"
  for side in ref ours; do
    pull_reset "$side"; must pull_unpack "$side"; pull_check_unpacked "$side"
    # the leftover checks of pull_reset look in the right places: they see this pull
    [ "$(xctr "$side" content ls -q 2>/dev/null | grep -c .)" -ge 5 ] || { xctr "$side" content ls >"$work/out" 2>&1; die "$side: content ls does not show the pulled blobs"; }
    if [ "$side" = ref ]; then [ "$("${ctr_ref[@]}" snapshots ls 2>/dev/null | tail -n +2 | grep -c .)" -ge 3 ]
    else [ "$(ls -A "$work/ours/root/snapshots/overlayfs/snapshots" 2>/dev/null | grep -c .)" -ge 3 ]; fi || die "$side: no snapshots seen after the pull"
    pull_reset "$side"
  done

  step="image pull"
  log "$step × $pull_runs (pull + unpack, pull without unpack, unpack alone; ref and ours alternated, cold each time)"
  p_ref=() p_ours=() f_ref=() f_ours=() u_ref=() u_ours=()
  for i in $(seq "$pull_runs"); do
    for side in ref ours; do
      pull_reset "$side"
      if [ "$side" = ref ]; then timed p_ref pull_unpack ref; else timed p_ours pull_unpack ours; fi
      pull_reset "$side"
      if [ "$side" = ref ]; then timed f_ref pull_only ref; timed u_ref pull_unpack ref
      else timed f_ours pull_only ours; timed u_ours pull_unpack ours; fi
    done
  done
  pull_check_unpacked ref; pull_check_unpacked ours
  pull_reset ref; pull_reset ours
  time_row pull "\`ctr images pull --plain-http\` (pull + unpack), cold" p_ref p_ours
  time_row fetch "pull without unpack, cold (theirs \`ctr content fetch\`, ours \`pull --no-unpack\`)" f_ref f_ours
  time_row unpack "unpack alone (\`ctr images pull\` again, all content present)" u_ref u_ours
  stop_registry
}
