# libpvlink: the hosted library a program links with, static and shared.
# Components add their objects to LIBPVLINK_OBJS (core adds the linker, the
# runtime adds itself); this file is included after all of them.

LIBPVLINK_A := $(B)/lib/libpvlink.a
LIBPVLINK_SO := $(B)/lib/libpvlink.so
LIBPVLINK_SONAME := libpvlink.so.1

$(LIBPVLINK_A): $(LIBPVLINK_OBJS)
	$(quiet) AR $@
	$(Q)mkdir -p $(@D)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(LIBPVLINK_SO): $(LIBPVLINK_OBJS)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -shared -Wl,-soname,$(LIBPVLINK_SONAME) $(HOST_LDFLAGS) -o $@ \
		$^ $(LIBPVLINK_LIBS)

lib: $(LIBPVLINK_A) $(LIBPVLINK_SO)
all: lib
.PHONY: lib
