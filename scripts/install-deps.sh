#!/usr/bin/env bash
# Installs what running containers needs from Debian's packages, only when
# missing: runc and a static busybox for the test rootfs.
set -euo pipefail
need=()
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static || need+=(busybox-static)
command -v file >/dev/null 2>&1 || need+=(file)
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
