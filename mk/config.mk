# Toolchain, flags and the rules every component uses.

CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif
CLANG ?= clang

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

# Hosted code (tests, tools, runtime, monitor).  Sites in hosted code may
# become calls, so no red zone; functions reached from sites may find the
# stack only 8-byte aligned.
HOST_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -g -fPIC -mno-red-zone \
               -mincoming-stack-boundary=3 $(WARN) -Iinclude -MMD -MP \
               $(SANFLAGS) $(EXTRA_CFLAGS)
HOST_LDFLAGS := $(SANFLAGS) $(EXTRA_LDFLAGS)

# Freestanding code: no hosted header can be found at all (-nostdinc), only
# the compiler's own <stdint.h> and <stddef.h>.
FS_INC := $(shell $(CC) -print-file-name=include)
FS_CFLAGS := -std=c11 -O2 -g -ffreestanding -fno-builtin -nostdinc \
             -isystem $(FS_INC) -fno-stack-protector \
             -fno-tree-loop-distribute-patterns $(WARN) -Iinclude -MMD -MP

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
