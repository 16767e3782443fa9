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

.PHONY: all deps rootfs demo test clean bench

all: $(BIN)/containerd $(BIN)/containerd-shim $(BIN)/ctr

$(BIN)/containerd-shim: $(COMMON) $(call sources,shim)
	$(PUBLISH) -r $(RID) -o $(BIN) shim/Containerd.Shim.csproj
	@touch $@

$(BIN)/ctr: $(COMMON) $(call sources,daemon/Ctr)
	$(PUBLISH) -r $(RID) -o $(BIN) daemon/Ctr/Ctr.csproj
	@touch $@

# Framework-dependent: the daemon runs on the installed .NET runtime.
$(BIN)/containerd: $(COMMON) $(call sources,daemon/Containerd.Daemon)
	$(PUBLISH) -r $(RID) --self-contained false -o $(BIN) daemon/Containerd.Daemon/Containerd.Daemon.csproj
	@touch $@

deps:
	scripts/install-deps.sh

rootfs: deps
	scripts/build-rootfs.sh $(ROOTFS)

demo: deps all rootfs
	CONTAINERD_BIN=$(BIN) CONTAINERD_ROOTFS=$(ROOTFS) scripts/run-demo.sh

test: deps all rootfs
	scripts/install-deps.sh --test
	CONTAINERD_BIN=$(BIN) CONTAINERD_ROOTFS=$(ROOTFS) \
		$(DOTNET) test test/Containerd.Tests/Containerd.Tests.csproj -c Release --logger "console;verbosity=normal"

clean:
	rm -rf $(OUT)
	find . \( -name bin -o -name obj \) -type d -prune -not -path './out/*' -exec rm -rf {} +

bench: deps all rootfs
	scripts/bench.sh
