# tools/: the pvlink command (issue 6), its man page, its tests
# (tests/tool/) and its fuzz target.  `make install` is in mk/install.mk.
#
#   $(PVLINK_BIN)      the command: pvlink sites|rom|plan|check
#   make fuzz-tool     builds the libFuzzer target over the ELF reader, the
#                      site table and the ROM reader, and runs it for
#                      TOOL_FUZZ_RUNS inputs from the test fixtures and
#                      tests/tool/fuzz-seeds/ (inputs it once found)

PVT_SRCS := tools/args.c tools/util.c tools/elf.c tools/sites.c tools/catalog.c \
            tools/rom.c tools/dis.c tools/table.c tools/json.c tools/check.c \
            tools/cmd_sites.c tools/cmd_rom.c tools/cmd_plan.c \
            tools/cmd_check.c $(PVELF_SRCS)
PVLINK_BIN := $(B)/bin/pvlink

$(PVLINK_BIN): $(call objs,host,tools/main.c $(PVT_SRCS)) $(LIBPVLCORE)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ -lZydis

tools: $(PVLINK_BIN)
all: tools
.PHONY: tools

# ------------------------------------------------------------------------
# Test fixtures (tests/tool/): small binaries with sites at fixed
# addresses, so that the tool's output can be compared byte for byte.
PVT_T := $(B)/tests/tool
PVT_LDFLAGS := -nostdlib -Wl,--build-id=none -Wl,-z,noexecstack
# The fixtures are assembled by GNU as whatever the compiler (clang's own
# assembler pads sites differently), so that the golden outputs hold.
PVT_LDFLAGS += $(call cc-flag,-fno-integrated-as)
PVT_FIXTURES := $(PVT_T)/fixture $(PVT_T)/fixture-stripped.so $(PVT_T)/bad \
                $(PVT_T)/alias

$(PVT_T)/fixture: tests/tool/fixture.S tests/tool/site.inc
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -static $(PVT_LDFLAGS) -o $@ $<

$(PVT_T)/fixture-stripped.so: tests/tool/fixture.S tests/tool/site.inc
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -shared -fPIC $(PVT_LDFLAGS) -Wl,-s -o $@ $<

$(PVT_T)/bad $(PVT_T)/alias: $(PVT_T)/%: tests/tool/%.S tests/tool/site.inc
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -static $(PVT_LDFLAGS) -o $@ $<

$(PVT_T)/mkrom: $(call objs,host,tests/tool/mkrom.c tools/romb.c) $(LIBPVLCORE)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^

$(PVT_T)/elfpatch: $(call objs,host,tests/tool/elfpatch.c)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^

PVT_TEST_BINS := $(PVLINK_BIN) $(PVT_FIXTURES) $(PVT_T)/mkrom $(PVT_T)/elfpatch

# The library, the e2e binary and the guest kernel (when the guest
# component defines GUEST_KERNEL) are tested too.  These references are
# expanded when `check` runs, after every component's makefile is read.
TEST_BINS += $(PVT_TEST_BINS) lib $(GUEST_KERNEL)
CHECKS += "tests/tool/test.sh --build $(B) --lib $(LIBPVLINK_SO) \
           $(if $(GUEST_KERNEL),--guest $(GUEST_KERNEL))" \
          "tests/tool/valgrind.sh --build $(B)" "tests/tool/man.sh"

# Rewrite the golden files from the current output (review the diff!).
tool-golden: $(PVT_TEST_BINS) lib
	$(Q)tests/tool/test.sh --build $(B) --lib $(LIBPVLINK_SO) --update \
		$(if $(GUEST_KERNEL),--guest $(GUEST_KERNEL))
.PHONY: tool-golden

# ------------------------------------------------------------------------
# Fuzzing the readers of untrusted files (clang, libFuzzer, ASan, UBSan).
TOOL_FUZZ_RUNS ?= 20000
PVT_FUZZ := $(B)/fuzz/pvlink_tool
PVT_FUZZ_SRCS := tools/fuzz.c $(PVT_SRCS) tools/romb.c $(CORE_SRCS)
PVT_FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -O1 -g -Iinclude $(WARN) \
                   -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all

$(PVT_FUZZ): $(PVT_FUZZ_SRCS) $(wildcard tools/*.h core/*.h include/pvlink/*.h runtime/elf.h)
	$(quiet) FUZZ $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(PVT_FUZZ_CFLAGS) -o $@ $(PVT_FUZZ_SRCS) -lZydis

fuzz-tool: $(PVT_FUZZ) $(PVT_FIXTURES) $(PVT_T)/mkrom
	$(Q)rm -rf $(B)/fuzz/tool-seed && mkdir -p $(B)/fuzz/tool-seed $(B)/fuzz/tool-corpus
	$(Q)cp $(PVT_FIXTURES) tests/tool/fuzz-seeds/* $(B)/fuzz/tool-seed/
	$(Q)$(PVT_T)/mkrom kernel $(B)/fuzz/tool-seed/kernel.rom
	$(Q)$(PVT_T)/mkrom unknown $(B)/fuzz/tool-seed/unknown.rom
	$(Q)$(PVT_FUZZ) -runs=$(TOOL_FUZZ_RUNS) -max_len=65536 \
		$(B)/fuzz/tool-corpus $(B)/fuzz/tool-seed
.PHONY: fuzz-tool
