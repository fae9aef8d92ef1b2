# monitor/: pvlink-run, the KVM monitor, with the ROM from rom/ built in.

PVLINK_RUN := $(B)/bin/pvlink-run
MON_SRCS := monitor/main.c monitor/vm.c monitor/elf.c monitor/run.c monitor/acpi.c \
            monitor/hcall.c monitor/rom.c monitor/stats.c monitor/boot.c monitor/front.c \
            $(PVELF_SRCS)
MON_OBJS := $(call objs,host,$(MON_SRCS)) $(B)/host/monitor/rom_blob.o

$(B)/host/monitor/rom_blob.o: monitor/rom_blob.S $(ROM_IMAGE)
	$(quiet) AS $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -c -DMON_ROM_PATH='"$(ROM_IMAGE)"' $< -o $@

$(PVLINK_RUN): $(MON_OBJS) $(LIBPVLCORE)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ -pthread

monitor: $(PVLINK_RUN)
all: monitor
.PHONY: monitor

# Test guests of the monitor's own, and its test program.
MON_GUESTS := $(B)/tests/monitor/tiny $(B)/tests/monitor/fault $(B)/tests/monitor/hang
$(B)/tests/monitor/%: tests/monitor/%.S tests/monitor/note.inc tests/monitor/tiny.ld
	$(quiet) GUEST $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -Iinclude -Itests/monitor -c $< -o $@.o
	$(Q)$(LD) -m elf_x86_64 --no-warn-rwx-segments -T tests/monitor/tiny.ld $@.o -o $@

MON_TEST := $(B)/tests/monitor/test_monitor
$(MON_TEST): $(B)/host/tests/monitor/test_monitor.o $(T_HARNESS) $(LIBPVLCORE)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^

# A ROM whose probe declines, from the guest tests' ROM builder.
$(B)/tests/monitor/decline.rom: $(GUEST_MKROM)
	$(quiet) GEN $@
	$(Q)mkdir -p $(@D)
	$(Q)$(GUEST_MKROM) decline $@

TEST_BINS += $(MON_TEST) $(MON_GUESTS) $(PVLINK_RUN) $(GUEST_KERNEL) $(ROM_B_IMAGE) \
             $(B)/tests/monitor/decline.rom $(B)/rom/spt/spt.rom
CHECKS += "mkdir -p $(B)/tmp/monitor && MON_RUN=$(PVLINK_RUN) MON_TINY=$(B)/tests/monitor/tiny \
	MON_FAULT=$(B)/tests/monitor/fault MON_HANG=$(B)/tests/monitor/hang MON_ROM=$(ROM_IMAGE) \
	MON_ROM_B=$(ROM_B_IMAGE) MON_ROM_DECLINE=$(B)/tests/monitor/decline.rom \
	MON_ROM_SPT=$(B)/rom/spt/spt.rom \
	MON_TMP=$(B)/tmp/monitor MON_KERNEL=$(GUEST_KERNEL) $(MON_TEST)"
