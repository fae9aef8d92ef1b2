# tests/: unit, end-to-end and fuzz tests.  `make check` builds and runs
# them all through tests/run.sh, which ends with "N passed, N failed".

T_HARNESS := $(call objs,host,tests/harness.c tests/fixture.c tests/runprog.c)
ROMB_OBJS := $(call objs,host,tools/romb.c runtime/image.c)

# Unit tests linked against the hosted core: tests/test_NAME.c -> build/tests/NAME
# (elfread: the one ELF reader, runtime/elf.h)
UNIT_TESTS := emit insn effect call verdict plan link rom e2e fixtures elfread
$(B)/tests/elfread: $(call objs,host,$(PVELF_SRCS))
$(B)/tests/insn: LDLIBS_EXTRA := -lZydis
$(B)/tests/effect: LDLIBS_EXTRA = $(LIBPVLCORE) -lZydis
$(B)/tests/effect: $(B)/host/tests/effect_oracle.o

$(B)/tests/%: $(B)/host/tests/test_%.o $(T_HARNESS) $(ROMB_OBJS) $(LIBPVLCORE)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS_EXTRA)

CHECKS += $(addprefix $(B)/tests/,$(UNIT_TESTS))
# They run raw sites (the kernel catalog, tests/tiface.h) linked as calls.
$(addprefix $(B)/host/tests/test_,$(addsuffix .o,$(UNIT_TESTS))) $(T_HARNESS): \
    HOST_CFLAGS += $(KSITE_CFLAGS)
TEST_BINS += $(addprefix $(B)/tests/,$(UNIT_TESTS))

# The freestanding proof: core built with -ffreestanding -nostdinc, linked
# with no libc at all.  It exits 0, or with the line of the failed check.
FS_TEST := $(B)/tests/freestanding
$(FS_TEST): $(B)/fs/tests/freestanding.o $(CORE_FS_OBJS)
	$(quiet) LD-FS $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -static -nostdlib -Wl,--build-id=none -o $@ $^ -lgcc
TEST_BINS += $(FS_TEST)
CHECKS += "tests/check-exit.sh freestanding $(FS_TEST)"

# Fuzzing (clang, libFuzzer): `make fuzz` builds, `make fuzz-run` runs a
# bounded campaign (FUZZ_RUNS inputs per target) from the generated seeds.
FUZZ_RUNS ?= 200000
FUZZ_BIN := $(B)/fuzz/fuzz_link
FUZZ_SEED_DIR := $(B)/fuzz/seed
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -Iinclude \
               -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(FUZZ_BIN): tests/fuzz/fuzz_link.c $(CORE_SRCS) $(wildcard include/pvlink/*.h core/*.h)
	$(quiet) FUZZ $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_link.c $(CORE_SRCS)

$(B)/fuzz/mkseed: $(B)/host/tests/fuzz/mkseed.o $(B)/host/tools/romb.o $(LIBPVLCORE)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^

# The effects model against Zydis, on arbitrary bytes (seeded with the
# ROM and the instructions of the fuzz seed).
FUZZ_EFFECT := $(B)/fuzz/fuzz_effect
$(FUZZ_EFFECT): tests/fuzz/fuzz_effect.c tests/effect_oracle.c $(CORE_SRCS) \
		$(wildcard include/pvlink/*.h core/*.h tests/*.h)
	$(quiet) FUZZ $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/fuzz/fuzz_effect.c tests/effect_oracle.c \
		$(CORE_SRCS) -lZydis

# The one ELF reader (runtime/elf.h) as each of its callers asks, seeded
# with small real files: the pvlink command's fixtures (an executable, a
# stripped shared object) and the monitor's tiny kernel.
FUZZ_ELF := $(B)/fuzz/fuzz_elf
FUZZ_ELF_SEEDS = $(PVT_FIXTURES) $(B)/tests/monitor/tiny
$(FUZZ_ELF): tests/fuzz/fuzz_elf.c $(PVELF_SRCS) runtime/elf.h
	$(quiet) FUZZ $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) $(WARN) -o $@ tests/fuzz/fuzz_elf.c $(PVELF_SRCS)

fuzz: $(FUZZ_BIN) $(FUZZ_EFFECT) $(B)/fuzz/mkseed $(FUZZ_ELF)
fuzz-run: fuzz $(FUZZ_ELF_SEEDS)
	$(Q)mkdir -p $(FUZZ_SEED_DIR) $(B)/fuzz/corpus $(B)/fuzz/effect-corpus
	$(Q)$(B)/fuzz/mkseed $(FUZZ_SEED_DIR)
	$(Q)$(FUZZ_BIN) -runs=$(FUZZ_RUNS) -max_len=4096 $(B)/fuzz/corpus $(FUZZ_SEED_DIR)
	$(Q)$(FUZZ_EFFECT) -runs=$(FUZZ_RUNS) -max_len=64 $(B)/fuzz/effect-corpus $(FUZZ_SEED_DIR)
	$(Q)rm -rf $(B)/fuzz/elf-seed && mkdir -p $(B)/fuzz/elf-seed $(B)/fuzz/elf-corpus
	$(Q)cp $(FUZZ_ELF_SEEDS) $(B)/fuzz/elf-seed/
	$(Q)$(FUZZ_ELF) -runs=$(FUZZ_RUNS) -max_len=16384 $(B)/fuzz/elf-corpus $(B)/fuzz/elf-seed
.PHONY: fuzz fuzz-run
