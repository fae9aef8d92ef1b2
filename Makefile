# pvlink: plain GNU make.  `make` builds everything, `make check` runs every
# test and ends with "N passed, N failed", `make bench` runs the benchmarks.
# Quiet by default; `make V=1` shows the commands.  `make SAN=1` builds the
# hosted code with ASan and UBSan into build-san/.

.DEFAULT_GOAL := all
.SUFFIXES:
.DELETE_ON_ERROR:
.SECONDARY:

include mk/config.mk

all:
check:
bench:
demo:
clean:
	$(Q)rm -rf $(B)
# Before building anything, install missing Debian packages (as root) or
# say which are missing.  Done while reading the makefile so that it also
# holds for parallel builds.
ifeq ($(filter clean deps,$(MAKECMDGOALS)),)
ifneq ($(shell mk/deps.sh >&2 && echo ok),ok)
$(error pvlink: missing packages, see above)
endif
endif
deps:
	$(Q)mk/deps.sh
.PHONY: all check bench clean deps demo

include core/core.mk
include tools/tools.mk
include tests/tests.mk
include demo/demo.mk
-include $(wildcard runtime/runtime.mk guest/guest.mk rom/rom.mk monitor/monitor.mk bench/bench.mk)
include mk/lib.mk

# Every component adds its test programs to TEST_BINS and the commands that
# run them to CHECKS; the runner prints the final "N passed, N failed".
all: $(TEST_BINS)
check: $(TEST_BINS)
	$(Q)tests/run.sh $(CHECKS)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
