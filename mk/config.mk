# Toolchain, flags and the rules every component uses.

CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif
CLANG ?= clang
empty :=
space := $(empty) $(empty)

ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @printf '  %-8s %s\n'
endif

# B is the build directory; override it (make B=...) to keep separate trees.
ifeq ($(SAN),1)
B ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
            -fno-omit-frame-pointer
else
B ?= build
SANFLAGS :=
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
        -Wpointer-arith -Wwrite-strings -Wundef -Wvla
ifneq ($(WERROR),0)
WARN += -Werror
endif

# Flags not every compiler accepts are probed once per compiler and build
# directory: $(call cc-flag,FLAG) is FLAG if $(CC) accepts it, else empty.
CC_FLAGS_CACHE := $(B)/.flags-$(subst /,_,$(CC))
cc-probe = $(shell $(CC) -Werror $(1) -c -x c /dev/null -o /dev/null 2>/dev/null && echo $(1))
-include $(CC_FLAGS_CACHE)
cc-flag = $(if $(filter $(1),$(CC_FLAGS_OK) $(CC_FLAGS_NO)),$(filter $(1),$(CC_FLAGS_OK)),$(cc-probe-save))
cc-probe-save = $(eval CC_FLAGS_$(if $(call cc-probe,$(1)),OK,NO) += $(1))$(shell mkdir -p $(B) && \
    echo 'CC_FLAGS_$(if $(filter $(1),$(CC_FLAGS_OK)),OK,NO) += $(1)' >>$(CC_FLAGS_CACHE))$(filter $(1),$(CC_FLAGS_OK))

# Hosted code (tests, tools, runtime, monitor): the compiler's defaults, as
# a program using libpvlink would have them (sites of <pvlink/iface.h>
# protect the red zone and align the stack themselves).
HOST_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -gdwarf-4 -fPIC $(WARN) -Iinclude \
               -MMD -MP $(SANFLAGS) $(EXTRA_CFLAGS)
HOST_LDFLAGS := $(SANFLAGS) $(EXTRA_LDFLAGS)
# Hosted code that runs raw sites of <pvlink/site.h> (the kernel catalog's
# wrappers, test interfaces), which may become calls: kernel-style, with
# no red zone and no alignment assumption in what they call.
# (clang has no flag for the incoming alignment alone; its functions here
# are not reached from misaligned sites)
KSITE_CFLAGS := -mno-red-zone $(call cc-flag,-mincoming-stack-boundary=3)

# Freestanding code: no hosted header can be found at all (-nostdinc), only
# the compiler's own <stdint.h> and <stddef.h>.
FS_INC := $(shell $(CC) -print-file-name=include 2>/dev/null)
FS_CFLAGS := -std=c11 -O2 -g -ffreestanding -fno-builtin -nostdinc \
             -isystem $(FS_INC) -fno-stack-protector \
             $(call cc-flag,-fno-tree-loop-distribute-patterns) $(WARN) -Iinclude -MMD -MP

# Guests: baseline x86-64, no SSE, no red zone, static, not PIC.
GUEST_CFLAGS := $(FS_CFLAGS) -mno-sse -mno-sse2 -mno-mmx -mno-avx \
                -mno-red-zone -mgeneral-regs-only -fno-pic -fno-pie \
                -fno-asynchronous-unwind-tables

# $(call objs,DIR,SRCS): object files for SRCS under build dir DIR.
objs = $(patsubst %.c,$(B)/$(1)/%.o,$(patsubst %.S,$(B)/$(1)/%.o,$(2)))

$(B)/host/%.o: %.c
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -c $< -o $@

$(B)/host/%.o: %.S
	$(quiet) AS $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -c $< -o $@

$(B)/fs/%.o: %.c
	$(quiet) CC-FS $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(FS_CFLAGS) -c $< -o $@

$(B)/guest/%.o: %.c
	$(quiet) CC-GST $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@

$(B)/guest/%.o: %.S
	$(quiet) AS-GST $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@
