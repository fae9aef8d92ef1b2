# bench/: benchmarks, separate programs run by `make bench` (not tests).
# `make` and `make check` build them, so that they cannot rot unseen; `make bench-smoke`
# runs each once, quickly (PVL_BENCH_QUICK=1: one short pass of every
# row), as CI does.

BENCH_DIR := $(B)/bench
BENCH_CFLAGS = $(HOST_CFLAGS) -Ibench
# Indirect branches through retpolines: gcc's flag, or clang's.
RETPOLINE_FLAG = $(or $(call cc-flag,-mindirect-branch=thunk),$(call cc-flag,-mretpoline))

$(BENCH_DIR)/libbench_ifunc.so: bench/bench_ifunc.c
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -shared -o $@ $<

$(BENCH_DIR)/bench_retp.o: bench/bench_retp.c bench/bench_ops.h
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(BENCH_CFLAGS) $(RETPOLINE_FLAG) -c $< -o $@

$(BENCH_DIR)/bench_bare.o: bench/bench_bare.c bench/bench_ops.h
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(BENCH_CFLAGS) -mno-red-zone -c $< -o $@

$(BENCH_DIR)/bench_calls: $(B)/host/bench/bench_calls.o $(BENCH_DIR)/bench_retp.o \
                          $(BENCH_DIR)/bench_bare.o \
                          $(BENCH_DIR)/libbench_ifunc.so $(LIBPVLINK_SO1)
	$(quiet) LD $@
	$(Q)$(CC) $(RT_LDFLAGS) -o $@ $(filter %.o,$^) -L$(BENCH_DIR) -lbench_ifunc \
		-Wl,-rpath,'$$ORIGIN' -L$(B)/lib -Wl,-rpath,'$$ORIGIN/../lib' $(RT_LDLIBS)

$(BENCH_DIR)/bench_link: $(B)/host/bench/bench_link.o $(LIBPVLINK_SO1) $(LIBPVLCORE)
	$(quiet) LD $@
	$(Q)$(CC) $(RT_LDFLAGS) -o $@ $(filter %.o,$^) -L$(B)/lib \
		-Wl,-rpath,'$$ORIGIN/../lib' $(RT_LDLIBS)

$(BENCH_DIR)/bench_server: $(B)/host/bench/bench_server.o $(LIBPVLINK_SO1)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(RT_LDFLAGS) -o $@ $(filter %.o,$^) -L$(B)/lib \
		-Wl,-rpath,'$$ORIGIN/../lib' $(RT_LDLIBS)

$(B)/host/bench/%.o: CFLAGS_EXTRA = -Ibench
$(B)/host/bench/bench_calls.o $(B)/host/bench/bench_link.o \
$(B)/host/bench/bench_server.o: $(B)/host/bench/%.o: bench/%.c
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(BENCH_CFLAGS) -c $< -o $@

# pvlink-spt: the reference kernel trapped vs linked (bench_spt.c).
$(BENCH_DIR)/bench_spt: $(B)/host/bench/bench_spt.o
	$(quiet) LD $@
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^
$(B)/host/bench/bench_spt.o: bench/bench_spt.c bench/bench.h
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(BENCH_CFLAGS) -c $< -o $@
BENCH_SPT_RUN := $(BENCH_DIR)/bench_spt $(PVLINK_SPT) $(GUEST_KERNEL)

BENCH_BINS := $(BENCH_DIR)/bench_calls $(BENCH_DIR)/bench_link $(BENCH_DIR)/bench_server
bench-runtime: $(BENCH_BINS)
	$(Q)bench/run.sh $(BENCH_DIR)
bench-spt: $(BENCH_DIR)/bench_spt $(PVLINK_SPT) $(GUEST_KERNEL)
	$(Q)$(BENCH_SPT_RUN)
bench: bench-runtime bench-spt
bench-smoke: $(BENCH_BINS) $(BENCH_DIR)/bench_spt $(PVLINK_SPT) $(GUEST_KERNEL)
	$(Q){ PVL_BENCH_QUICK=1 bench/run.sh $(BENCH_DIR) && \
		PVL_BENCH_QUICK=1 $(BENCH_SPT_RUN); } >$(BENCH_DIR)/smoke.log 2>&1 || \
		{ tail -n 30 $(BENCH_DIR)/smoke.log; echo "bench-smoke: a benchmark failed"; exit 1; }
	$(Q)echo "bench-smoke: every benchmark ran (quick mode; figures not meaningful)"
TEST_BINS += $(BENCH_BINS) $(BENCH_DIR)/bench_spt
.PHONY: bench-runtime bench-spt bench-smoke
