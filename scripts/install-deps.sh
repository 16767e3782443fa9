#!/usr/bin/env bash
# Installs what running containers and the tests need from Debian's packages,
# only when missing: runc and a static busybox for the rootfs; with --test also
# Go and grpc-go, systemd-analyze, tmux, and a registry with skopeo, umoci,
# htpasswd and openssl for the pull tests, and the CNI reference plugins with iproute2
# for the pod network tests.
set -euo pipefail
need=()
command -v runc >/dev/null 2>&1 || need+=(runc)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static || need+=(busybox-static)
command -v file >/dev/null 2>&1 || need+=(file)
# The shim's gRPC server speaks HTTP/2 through libnghttp2 (the runtime library; no -dev needed).
compgen -G '/usr/lib/*/libnghttp2.so.14' >/dev/null || compgen -G '/lib/*/libnghttp2.so.14' >/dev/null || need+=(libnghttp2-14)
if [ "${1:-}" = --test ]; then
  # The tests build a real grpc-go client offline (GOPATH mode) from Debian's packages.
  command -v go >/dev/null 2>&1 || need+=(golang-go)
  [ -d /usr/share/gocode/src/google.golang.org/grpc ] || need+=(golang-google-grpc-dev)
  # The unit file is checked with systemd-analyze verify (PID 1 need not be systemd).
  command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)
  # The interactive tests (ctr run -t, tasks attach) type into a real terminal: a tmux pane.
  command -v tmux >/dev/null 2>&1 || need+=(tmux)
  # The pull tests run a real registry (plain, basic auth, self-signed TLS) on 127.0.0.1 and
  # build and push their images offline: bcrypt htpasswd files, a certificate, umoci layouts.
  command -v docker-registry >/dev/null 2>&1 || need+=(docker-registry)
  command -v skopeo >/dev/null 2>&1 || need+=(skopeo)
  command -v umoci >/dev/null 2>&1 || need+=(umoci)
  command -v htpasswd >/dev/null 2>&1 || need+=(apache2-utils)
  command -v openssl >/dev/null 2>&1 || need+=(openssl)
  # The CRI network tests attach namespaces with the reference plugins (bridge, host-local,
  # portmap, loopback; Debian puts them in /usr/lib/cni, portmap's iptables comes along)
  # and look inside with ip (nsenter is util-linux's, always there).
  [ -x /usr/lib/cni/bridge ] || need+=(containernetworking-plugins)
  command -v ip >/dev/null 2>&1 || need+=(iproute2)
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "install-deps: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
