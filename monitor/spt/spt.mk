# monitor/spt/: pvlink-spt, the process monitor, with its ROM (rom/spt/)
# built in, and its tests (tests/spt/).
#
# pvlink-spt gives the low 64 TiB of its address space to the guest, where
# ASan keeps its shadow memory, and runs guest code in its own threads'
# signal handlers, which valgrind cannot follow: it is built without
# sanitizers, SAN=1 included, with its own copies of the shared monitor
# code and the core.  The engine (code that runs between two guest
# instructions) is built -mgeneral-regs-only, and the link checks that it
# calls nothing outside pvlink-spt.

PVLINK_SPT := $(B)/bin/pvlink-spt
SPT_ROM := $(B)/rom/spt/spt.rom
SPT_CFLAGS = $(filter-out $(SANFLAGS),$(HOST_CFLAGS))
SPT_ENGINE := $(addprefix monitor/spt/,cpu.c decode.c emu.c mem.c dev.c gate.c trap.c)
SPT_FRONT := $(addprefix monitor/spt/,main.c host.c stats.c) \
             $(addprefix monitor/,elf.c rom.c hcall.c boot.c front.c) $(PVELF_SRCS) $(CORE_SRCS)
SPT_ENGINE_OBJS := $(call objs,spt,$(SPT_ENGINE))
SPT_OBJS := $(SPT_ENGINE_OBJS) $(call objs,spt,$(SPT_FRONT) monitor/spt/entry.S) \
            $(B)/spt/monitor/spt/rom_blob.o

$(B)/spt/%.o: %.c
	$(quiet) CC-SPT $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SPT_CFLAGS) -c $< -o $@
$(B)/spt/%.o: %.S
	$(quiet) AS-SPT $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(SPT_CFLAGS) -c $< -o $@
$(SPT_ENGINE_OBJS): SPT_CFLAGS += -mgeneral-regs-only -fno-builtin

$(B)/spt/monitor/spt/rom_blob.o: monitor/rom_blob.S $(SPT_ROM)
	$(quiet) AS $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -c -DMON_ROM_PATH='"$(SPT_ROM)"' $< -o $@

$(PVLINK_SPT): $(SPT_OBJS)
	$(quiet) LD $@
	$(Q)nm -u $(SPT_ENGINE_OBJS) | awk 'NF == 2 && $$2 !~ /^(spt_|mon_|pvl_|_GLOBAL_OFFSET_TABLE_$$)/ { \
		print "pvlink-spt: engine code calls " $$2 " (see monitor/spt/spt.h)"; bad = 1 } \
		END { exit bad }' >&2
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(filter-out $(SANFLAGS),$(HOST_LDFLAGS)) -o $@ $(SPT_OBJS)

# The ROM: rom/'s tools (ops.inc, rom.inc, rom.ld, pack) and rules, spt's
# table.  Its templates name the shared page by absolute address (a
# constant of sptabi.h, not a relocation), which holds only if the image
# fits in the page before its data area: checked here.
$(B)/rom/spt/head.o: rom/spt/head.S rom/spt/sptabi.h rom/rom.inc $(B)/rom/ops.inc
	$(quiet) AS-ROM $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ROM_CFLAGS) -c $< -o $@
$(B)/rom/spt/rom.elf: $(B)/rom/spt/head.o rom/rom.ld
	$(quiet) LD-ROM $@
	$(Q)$(call rom_pc_relative,$<,debug)
	$(Q)$(LD) -nostdlib -static -T rom/rom.ld -o $@ $<
	$(Q)nm $@ | awk '$$3 == "rom_data" { found = 1; if ($$1 !~ /^0*1000$$/) { \
		print "rom/spt: the image is larger than a page: its data area is at 0x" $$1 \
		", not SPT_DATA_OFF (sptabi.h)"; bad = 1 } } END { exit bad || !found }' >&2
$(SPT_ROM): $(B)/rom/spt/rom.elf $(B)/rom/pack
	$(quiet) PACK $@
	$(Q)objcopy -O binary -j .rom $< $@.flat
	$(Q)$(B)/rom/pack $@.flat $@

spt: $(PVLINK_SPT) $(SPT_ROM)
all: spt
.PHONY: spt

# Tests: hostile guests (one kernel per case of tests/spt/hostile.S) and
# the test program, which also runs the reference kernel and
# tests/monitor's small guests.
SPT_CASES := syscall syscall_lstar sysenter int80 wild_unmapped wild_noncanonical \
             wild_vsyscall pt_not_ram pt_page0 pt_high pt_cr3 pt_cycle storm cli_spin if_store kick \
             gate_op gate_stack gate_preserves
SPT_HOSTILE := $(addprefix $(B)/tests/spt/hostile-,$(SPT_CASES))
$(B)/tests/spt/hostile-%: tests/spt/hostile.S tests/monitor/note.inc tests/monitor/tiny.ld
	$(quiet) GUEST $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -Iinclude -Itests/monitor -DCASE_$* -c $< -o $@.o
	$(Q)$(LD) -m elf_x86_64 --no-warn-rwx-segments -T tests/monitor/tiny.ld $@.o -o $@

SPT_TEST := $(B)/tests/spt/test_spt
$(SPT_TEST): $(B)/host/tests/spt/test_spt.o $(T_HARNESS) $(LIBPVLCORE)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^

# The reference kernel as built from the commit before pvlink-spt's first
# (tests/fixtures/README).
SPT_FIXTURE_KERNEL := tests/fixtures/pvlink-kernel-spt.elf
TEST_BINS += $(SPT_TEST) $(SPT_HOSTILE) $(PVLINK_SPT) $(SPT_ROM) $(GUEST_KERNEL) $(MON_GUESTS) \
             $(ROM_IMAGE)
CHECKS += "mkdir -p $(B)/tmp/spt && SPT_RUN=$(PVLINK_SPT) SPT_KERNEL=$(GUEST_KERNEL) \
	SPT_TINY=$(B)/tests/monitor/tiny SPT_FAULT=$(B)/tests/monitor/fault \
	SPT_HANG=$(B)/tests/monitor/hang SPT_HOSTILE=$(B)/tests/spt SPT_ROM=$(SPT_ROM) \
	MON_ROM=$(ROM_IMAGE) SPT_OLD_KERNEL=tests/fixtures/pvlink-kernel-2.0.elf \
	SPT_FIXTURE=$(SPT_FIXTURE_KERNEL) SPT_TMP=$(B)/tmp/spt $(SPT_TEST)"

# Fuzzing the decoder (clang, libFuzzer): `make fuzz-spt` builds,
# `make fuzz-spt-run` runs FUZZ_SPT_RUNS inputs; `make fuzz-run` runs it too.
FUZZ_SPT_RUNS ?= 200000
FUZZ_SPT_BIN := $(B)/fuzz/fuzz_spt_decode
$(FUZZ_SPT_BIN): tests/spt/fuzz_decode.c monitor/spt/decode.c core/insn.c \
                 monitor/spt/spt.h core/insn.h
	$(quiet) FUZZ $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/spt/fuzz_decode.c monitor/spt/decode.c core/insn.c
fuzz-spt: $(FUZZ_SPT_BIN)
fuzz-spt-run: fuzz-spt
	$(Q)mkdir -p $(B)/fuzz/spt-corpus
	$(Q)$(FUZZ_SPT_BIN) -runs=$(FUZZ_SPT_RUNS) -max_len=16 $(B)/fuzz/spt-corpus
fuzz: fuzz-spt
fuzz-run: fuzz-spt-run
.PHONY: fuzz-spt fuzz-spt-run
