# Builds the daemon, the shim and ctr into out/bin, a busybox rootfs into
# out/rootfs, and runs the demo and the tests. GNU make, run as root on a
# Debian machine that has the .NET SDK.
SHELL := /bin/bash
.DEFAULT_GOAL := all
# The three publishes build the same api/ and shared/ projects; in parallel they would fight over obj/.
.NOTPARALLEL:

DOTNET ?= dotnet
RID ?= linux-$(if $(filter aarch64 arm64,$(shell uname -m)),arm64,x64)
OUT := $(CURDIR)/out
BIN := $(OUT)/bin
ROOTFS := $(OUT)/rootfs
PUBLISH := $(DOTNET) publish --nologo -v quiet -c Release -p:SatelliteResourceLanguages=en

# Sources a binary depends on (bin/ and obj/ excluded), so an unchanged tree rebuilds nothing.
sources = $(shell find $(1) \( -name bin -o -name obj \) -prune -o -type f \( -name '*.cs' -o -name '*.csproj' -o -name '*.proto' -o -name '*.json' \) -print)
COMMON := Directory.Build.props Directory.Packages.props $(call sources,api shared)

# `make install` layout. Every name differs from Debian's containerd package
# (/usr/bin/containerd, /usr/bin/ctr, containerd.service), so nothing shadows
# or replaces it. DESTDIR stages the install elsewhere (packaging, tests).
PREFIX ?= /usr/local
DESTDIR ?=
LIBDIR := $(PREFIX)/lib/containerd-cs
BINDIR := $(PREFIX)/bin
DOCDIR := $(PREFIX)/share/doc/containerd-cs
UNITDIR ?= /etc/systemd/system
CONFDIR ?= /etc/containerd-cs
UNIT := containerd-cs.service
# systemctl only for a real install on a host that runs systemd.
SYSTEMCTL := $(if $(DESTDIR),:,$(if $(wildcard /run/systemd/system),systemctl,:))

.PHONY: all deps rootfs demo test clean bench install uninstall

all: $(BIN)/containerd $(BIN)/containerd-shim $(BIN)/ctr

$(BIN)/containerd-shim: $(COMMON) $(call sources,shim) $(call sources,grpc)
	$(PUBLISH) -r $(RID) -o $(BIN) shim/Containerd.Shim.csproj
	@touch $@

$(BIN)/ctr: $(COMMON) $(call sources,daemon/Ctr)
	$(PUBLISH) -r $(RID) -o $(BIN) daemon/Ctr/Ctr.csproj
	@touch $@

# Native AOT like the shim and ctr (libe_sqlite3.so is published beside it).
$(BIN)/containerd: $(COMMON) $(call sources,daemon/Containerd.Daemon) $(call sources,daemon/Containerd.Http2)
	$(PUBLISH) -r $(RID) -o $(BIN) daemon/Containerd.Daemon/Containerd.Daemon.csproj
	@touch $@

deps:
	scripts/install-deps.sh

rootfs: deps
	scripts/build-rootfs.sh $(ROOTFS)

demo: deps all rootfs
	CONTAINERD_BIN=$(BIN) CONTAINERD_ROOTFS=$(ROOTFS) scripts/run-demo.sh

# Unit tests first (seconds, no runc), then the integration tests on real containers.
test: deps all rootfs
	scripts/install-deps.sh --test
	$(DOTNET) test test/Containerd.UnitTests/Containerd.UnitTests.csproj -c Release --logger "console;verbosity=normal"
	CONTAINERD_BIN=$(BIN) CONTAINERD_ROOTFS=$(ROOTFS) \
		$(DOTNET) test test/Containerd.Tests/Containerd.Tests.csproj -c Release --logger "console;verbosity=normal"

clean:
	rm -rf $(OUT)
	find . \( -name bin -o -name obj \) -type d -prune -not -path './out/*' -exec rm -rf {} +

bench: deps all rootfs
	scripts/bench.sh

# Installs what `make all` built (it does not build: run it as root after the
# build). The daemon is framework-dependent, so it keeps its dlls beside it in
# LIBDIR, with the shim it starts; BINDIR gets two symlinks.
install:
	@for f in containerd containerd-shim ctr; do \
		[ -x $(BIN)/$$f ] || { echo "install: $(BIN)/$$f is missing; run 'make all' first" >&2; exit 1; }; done
	rm -rf $(DESTDIR)$(LIBDIR)
	install -d -m 0755 $(DESTDIR)$(LIBDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR)
	find $(BIN) -maxdepth 1 -type f ! -name '*.dbg' ! -name '*.staticwebassets.endpoints.json' \
		-exec cp -p -t $(DESTDIR)$(LIBDIR) {} +
	ln -sfn $(LIBDIR)/containerd $(DESTDIR)$(BINDIR)/containerd-cs
	ln -sfn $(LIBDIR)/ctr $(DESTDIR)$(BINDIR)/ctr-cs
	sed -e 's#/usr/local/#$(PREFIX)/#g' scripts/$(UNIT) > $(DESTDIR)$(UNITDIR)/$(UNIT)
	chmod 0644 $(DESTDIR)$(UNITDIR)/$(UNIT)
	install -m 0644 README.md $(DESTDIR)$(DOCDIR)/README.md
	@# The default configuration only where there is none: an operator's file is never replaced.
	install -d -m 0755 $(DESTDIR)$(CONFDIR)
	[ -e $(DESTDIR)$(CONFDIR)/config.toml ] || \
		{ $(BIN)/containerd config default > $(DESTDIR)$(CONFDIR)/config.toml && chmod 0644 $(DESTDIR)$(CONFDIR)/config.toml; }
	$(SYSTEMCTL) daemon-reload

# Removes exactly what install put there; running containers are not touched.
uninstall:
	-$(SYSTEMCTL) disable --now $(UNIT)
	rm -f $(DESTDIR)$(UNITDIR)/$(UNIT)
	@# The configuration goes only while it is still the unedited default install wrote.
	if [ -f $(DESTDIR)$(CONFDIR)/config.toml ] && [ -x $(DESTDIR)$(LIBDIR)/containerd ] && \
		$(DESTDIR)$(LIBDIR)/containerd config default | cmp -s - $(DESTDIR)$(CONFDIR)/config.toml; then \
		rm -f $(DESTDIR)$(CONFDIR)/config.toml; rmdir $(DESTDIR)$(CONFDIR) 2>/dev/null || true; fi
	for link in containerd-cs ctr-cs; do \
		[ ! -L $(DESTDIR)$(BINDIR)/$$link ] || rm -f $(DESTDIR)$(BINDIR)/$$link; done
	rm -rf $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DOCDIR)
	$(SYSTEMCTL) daemon-reload
