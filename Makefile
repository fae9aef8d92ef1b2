# pvlink: plain GNU make.  `make` builds everything, `make check` runs every
# test and ends with "N passed, N failed", `make demo` runs the
# demonstration, `make bench` the benchmarks.  Quiet by default; `make V=1`
# shows the commands.  `make SAN=1` builds the hosted code with ASan and
# UBSan into build-san/; `make CC=clang` builds with clang.

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:

include mk/config.mk
include mk/deps.mk

all:
check:
bench:
clean:
	$(Q)rm -rf $(B)
help:
	@echo 'make                 build everything (in $(B)/; B=dir elsewhere)'
	@echo 'make demo            the demonstration: the kernel under pvlink-run, native vs linked'
	@echo 'make check           every test; the last line is "N passed, N failed"'
	@echo 'make SAN=1 check     the hosted code with ASan and UBSan (in build-san/)'
	@echo 'make CC=clang B=build-clang check   the same with clang'
	@echo 'make bench           the benchmarks (bench-smoke: one short pass of each)'
	@echo 'make fuzz-run        libFuzzer over the core and the ELF reader (fuzz-tool: over the pvlink command)'
	@echo 'make install         PREFIX=/usr/local DESTDIR= (uninstall undoes it)'
	@echo 'make deps            look for the tools the build and the tests use'
	@echo 'V=1 shows the commands'
.PHONY: all check bench clean help

# Components, in dependency order: each may use what an earlier one
# defines when it names its prerequisites (make expands them as it reads).
include core/core.mk
include runtime/runtime.mk
include tools/tools.mk
include tests/tests.mk
include guest/guest.mk
include rom/rom.mk
include monitor/monitor.mk
include monitor/spt/spt.mk
include tests/iface/iface.mk
include bench/bench.mk
include demo/demo.mk
include mk/lib.mk
include mk/install.mk
include tests/lib/lib.mk

# Every component adds its test programs to TEST_BINS and the commands that
# run them to CHECKS; the runner prints the final "N passed, N failed".
all: $(TEST_BINS)
check: $(TEST_BINS)
	$(Q)tests/run.sh $(CHECKS)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
