# rom/: the ROM the pvlink monitor publishes.  Freestanding and
# position-independent: compiled -fPIC with hidden visibility, linked flat
# at 0 by rom.ld, checked for absolute relocations, sealed by rom/pack.

ROM_IMAGE := $(B)/rom/pvlink.rom
ROM_CFLAGS := $(GUEST_CFLAGS) -fPIC -fvisibility=hidden -fno-jump-tables \
              -ffunction-sections $(call cc-flag,-fno-reorder-blocks-and-partition) \
              -I$(B)/rom -Irom
ROM_OBJS := $(B)/rom/head.o $(B)/rom/console.o $(B)/rom/clock.o $(B)/rom/probe.o

$(B)/rom/genops: $(B)/host/rom/genops.o
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^
$(B)/rom/ops.inc: $(B)/rom/genops
	$(quiet) GEN $@
	$(Q)$< > $@
$(B)/rom/head.o: rom/head.S $(B)/rom/ops.inc
	$(quiet) AS-ROM $@
	$(Q)$(CC) $(ROM_CFLAGS) -c $< -o $@
$(B)/rom/%.o: rom/%.c
	$(quiet) CC-ROM $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ROM_CFLAGS) -c $< -o $@

# Only PC-relative relocations may reach the image: an absolute one would
# hold the link address (0), not the run-time address.
# $(call rom_pc_relative,OBJECTS,SECTIONS): refuse the others, outside the
# sections the regular expression SECTIONS matches.
rom_pc_relative = readelf -rW $(1) | awk '/^Relocation section/ { sec = $$3 } \
	sec !~ /$(2)/ && / R_X86_64_(64|32|32S|16|8) / { print sec ": " $$0; bad = 1 } \
	END { if (bad) { print "rom: absolute relocation in the ROM"; exit 1 } }' >&2
$(B)/rom/rom.elf: $(ROM_OBJS) rom/rom.ld
	$(quiet) LD-ROM $@
	$(Q)$(call rom_pc_relative,$(ROM_OBJS),debug)
	$(Q)$(LD) -nostdlib -static -T rom/rom.ld -o $@ $(ROM_OBJS)

$(B)/rom/pack: $(B)/host/rom/pack.o $(LIBPVLCORE)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^

$(ROM_IMAGE): $(B)/rom/rom.elf $(B)/rom/pack
	$(quiet) PACK $@
	$(Q)objcopy -O binary -j .rom $< $@.flat
	$(Q)$(B)/rom/pack $@.flat $@

rom: $(ROM_IMAGE)
all: rom
.PHONY: rom

# ROM B, published by `pvlink-run --rom-switch`: ROM A's objects plus B's
# entries (rom/switch.S, rom/console_b.c, rom/clock_b.c); its table is A's with the
# choices of switch.S's .rom_variant section applied by rom/variant, each
# call entry's length taken from its symbol's size (nm -S).  Only that
# section, which is not part of the image, may hold absolute relocations
# (entry offsets: the image is linked at 0).
ROM_B_IMAGE := $(B)/rom/pvlink-b.rom
ROM_B_OBJS := $(ROM_OBJS) $(B)/rom/switch.o $(B)/rom/console_b.o $(B)/rom/clock_b.o

$(B)/rom/switch.o: rom/switch.S $(B)/rom/ops.inc
	$(quiet) AS-ROM $@
	$(Q)$(CC) $(ROM_CFLAGS) -c $< -o $@

$(B)/rom/rom-b.elf: $(ROM_B_OBJS) rom/rom.ld
	$(quiet) LD-ROM $@
	$(Q)$(call rom_pc_relative,$(ROM_B_OBJS),debug|rom_variant)
	$(Q)$(LD) -nostdlib -static -T rom/rom.ld -o $@ $(ROM_B_OBJS)

$(B)/rom/variant: $(B)/host/rom/variant.o $(LIBPVLCORE)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^

$(ROM_B_IMAGE): $(B)/rom/rom-b.elf $(B)/rom/variant
	$(quiet) VARIANT $@
	$(Q)objcopy -O binary -j .rom $< $@.flat
	$(Q)objcopy -O binary -j .rom_variant $< $@.choices
	$(Q)nm -S --defined-only $< > $@.syms
	$(Q)$(B)/rom/variant $@.flat $@.choices $@.syms $@

rom: $(ROM_B_IMAGE)
all: $(ROM_B_IMAGE)
