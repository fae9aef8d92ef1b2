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

# The shared library exports what the headers declare (mk/libpvlink.map).
$(LIBPVLINK_SO): $(LIBPVLINK_OBJS) mk/libpvlink.map
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -shared -Wl,-soname,$(LIBPVLINK_SONAME) \
		-Wl,--version-script,mk/libpvlink.map $(HOST_LDFLAGS) -o $@ \
		$(LIBPVLINK_OBJS) $(LIBPVLINK_LIBS)

lib: $(LIBPVLINK_A) $(LIBPVLINK_SO)
all: lib

.PHONY: lib
