# examples/: the README's minimal example, built and run by `make check`.

$(B)/examples/minimal: examples/minimal.c $(LIBPVLINK_SO1)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) $(HOST_LDFLAGS) -o $@ $< -L$(B)/lib \
		-Wl,-rpath,'$$ORIGIN/../lib' -lpvlink

TEST_BINS += $(B)/examples/minimal
CHECKS += "tests/runtime/example.sh $(B)/examples/minimal examples/minimal.expected"
