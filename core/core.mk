# core/: the freestanding inline linker, built three ways: hosted (PIC, for
# tools, tests and the runtime), freestanding (proof that it needs nothing
# hosted) and for guests (no SSE, kernel code model).

CORE_SRCS := core/emit.c core/insn.c core/effect.c core/check.c core/rom.c core/catalog.c \
             core/result.c core/link.c
CORE_HOST_OBJS := $(call objs,host,$(CORE_SRCS))
CORE_FS_OBJS := $(call objs,fs,$(CORE_SRCS))
CORE_GUEST_OBJS := $(call objs,guest,$(CORE_SRCS))
LIBPVLCORE := $(B)/lib/libpvlcore.a

$(LIBPVLCORE): $(CORE_HOST_OBJS)
	$(quiet) AR $@
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

core: $(LIBPVLCORE) $(CORE_FS_OBJS)
all: core
.PHONY: core

LIBPVLINK_OBJS += $(CORE_HOST_OBJS)
