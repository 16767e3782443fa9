#!/usr/bin/env bash
# Builds a minimal busybox root filesystem for containers: Debian's static
# busybox with its applets linked in /bin, plus the directories runc expects.
# Usage: scripts/build-rootfs.sh [DIR]   (default: out/rootfs)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$here/out/rootfs}
busybox=$(command -v busybox || true)
if [ -z "$busybox" ] || ! file -L "$busybox" 2>/dev/null | grep -q static; then
  busybox=/bin/busybox
fi
[ -x "$busybox" ] || { echo "build-rootfs: busybox-static is not installed (scripts/install-deps.sh)" >&2; exit 1; }
if [ -x "$dest/bin/busybox" ] && cmp -s "$busybox" "$dest/bin/busybox"; then
  exit 0
fi
tmp=$(mktemp -d "$(dirname "$dest")/.rootfs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,var,run}
chmod 1777 "$tmp/tmp"
cp "$busybox" "$tmp/bin/busybox"
for applet in $("$tmp/bin/busybox" --list); do
  [ "$applet" = busybox ] || ln -sf busybox "$tmp/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$tmp/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' > "$tmp/etc/group"
echo container > "$tmp/etc/hostname"
rm -rf "$dest"
mv "$tmp" "$dest"
trap - EXIT
echo "rootfs ready: $dest"
