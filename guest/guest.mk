# guest/: the reference guest kernel (issue 4), a PVH ELF64 whose every
# privileged operation is a pvlink site, and its tests (tests/guest/).
#
#   $(GUEST_KERNEL)        the kernel; boot it with any PVH monitor
#   $(B)/tests/guest-elf   checks the file: PVH note, no multiboot header,
#                          entry, site table (PVL_GUEST_KERNEL names it)
#   $(B)/tests/guest-boot  the start_info parser (guest/boot.c, hosted) on
#                          valid and malformed boot information
#   $(B)/tests/guest-acpi  the ACPI reader (guest/acpi.c, hosted) on valid
#                          and malformed tables
#   $(B)/tests/guest-mkrom writes the test ROM images for the QEMU tests
#   $(B)/fuzz/fuzz_acpi    libFuzzer target for the MADT reader (make fuzz)
#   tests/guest/qemu.sh    boots the kernel under QEMU TCG (and KVM for the
#                          case TCG cannot show)

GUEST_SRCS := guest/entry.S guest/vectors.S guest/trampoline.S guest/lib.c \
              guest/lock.c guest/console.c guest/boot.c guest/acpi.c guest/trap.c \
              guest/mm.c guest/timer.c guest/apic.c guest/smp.c guest/hv.c \
              guest/poke.c guest/link.c guest/selftest.c guest/work.c \
              guest/relink.c guest/hcfuzz.c guest/main.c
GUEST_OBJS := $(call objs,guest,$(GUEST_SRCS))
GUEST_LDS := guest/kernel.ld
GUEST_KERNEL := $(B)/guest/pvlink-kernel

$(GUEST_KERNEL): $(GUEST_OBJS) $(CORE_GUEST_OBJS) $(GUEST_LDS)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(LD) -m elf_x86_64 -nostdlib -static -T $(GUEST_LDS) \
		-z max-page-size=4096 -z noexecstack --build-id=none \
		-o $@ $(GUEST_OBJS) $(CORE_GUEST_OBJS)

GUEST_TEST_ELF := $(B)/tests/guest-elf
GUEST_TEST_BOOT := $(B)/tests/guest-boot
GUEST_MKROM := $(B)/tests/guest-mkrom
GUEST_TEST_ACPI := $(B)/tests/guest-acpi

$(GUEST_TEST_ELF): $(B)/host/tests/guest/test_elf.o $(T_HARNESS) $(LIBPVLCORE)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $(filter %.o %.a,$^) -lZydis

$(GUEST_TEST_BOOT): $(B)/host/tests/guest/test_boot.o $(B)/host/tests/harness.o
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $(filter %.o %.a,$^)

$(GUEST_TEST_ACPI): $(B)/host/tests/guest/test_acpi.o $(B)/host/tests/harness.o
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $(filter %.o %.a,$^)

# The MADT reader under libFuzzer; `make fuzz-run` runs it after the core's.
ACPI_FUZZ := $(B)/fuzz/fuzz_acpi
ACPI_FUZZ_RUNS ?= 100000
$(ACPI_FUZZ): tests/guest/fuzz_acpi.c tests/guest/acpi_env.h guest/acpi.c guest/boot.c \
              guest/kern.h guest/layout.h
	$(quiet) FUZZ $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ tests/guest/fuzz_acpi.c
fuzz: $(ACPI_FUZZ)
fuzz-run: fuzz-acpi-run
fuzz-acpi-run: $(ACPI_FUZZ)
	$(Q)mkdir -p $(B)/fuzz/acpi-corpus
	$(Q)$(ACPI_FUZZ) -runs=$(ACPI_FUZZ_RUNS) -max_len=2048 $(B)/fuzz/acpi-corpus
.PHONY: fuzz-acpi-run

$(GUEST_MKROM): $(B)/host/tests/guest/mkrom.o $(B)/host/tools/romb.o $(LIBPVLCORE)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $(filter %.o %.a,$^)

guest: $(GUEST_KERNEL)
all: guest
.PHONY: guest

TEST_BINS += $(GUEST_KERNEL) $(GUEST_TEST_ELF) $(GUEST_TEST_BOOT) $(GUEST_TEST_ACPI) \
             $(GUEST_MKROM)
CHECKS += "PVL_GUEST_KERNEL=$(GUEST_KERNEL) $(GUEST_TEST_ELF)" $(GUEST_TEST_BOOT) \
          $(GUEST_TEST_ACPI) \
          "tests/guest/qemu.sh $(GUEST_KERNEL) $(GUEST_MKROM) $(ROM_IMAGE)"
