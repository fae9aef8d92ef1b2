# runtime/: the user-space runtime (libpvlink): objects, providers, live
# linking.  Its tests live in tests/runtime/, built here too.

# The one reader of untrusted ELF files (runtime/elf.h): in the library
# (not exported), and compiled into the pvlink command and the monitors.
PVELF_SRCS := runtime/elf.c

RUNTIME_SRCS := runtime/image.c runtime/error.c runtime/registry.c \
                runtime/veneer.c runtime/sys.c runtime/provider.c \
                runtime/link.c runtime/patch.c runtime/trap.c \
                runtime/threads.c runtime/code.c runtime/shape.c $(PVELF_SRCS)
RUNTIME_OBJS := $(call objs,host,$(RUNTIME_SRCS))

LIBPVLINK_OBJS += $(RUNTIME_OBJS)
LIBPVLINK_LIBS += -ldl -lpthread

# The soname the loader looks for, next to the library (mk/lib.mk, which
# names both, is included after this file).
LIBPVLINK_SO1 := $(B)/lib/libpvlink.so.1
$(LIBPVLINK_SO1): $(B)/lib/libpvlink.so
	$(quiet) LN $@
	$(Q)ln -sf $(notdir $<) $@
lib: $(LIBPVLINK_SO1)

# Programs and shared objects using the runtime link the shared library
# (one registry per process) and find it next to themselves.
RT_LDFLAGS = $(HOST_LDFLAGS) -L$(B)/lib -Wl,-rpath,'$$ORIGIN/../../lib'
RT_LDLIBS := -lpvlink -ldl -lpthread

-include tests/runtime/rt.mk
-include examples/examples.mk
