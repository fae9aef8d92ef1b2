# demo/: the README's demonstration.  `make demo` builds and runs it.

DEMO_INPROC := $(B)/demo/inproc
$(DEMO_INPROC): $(B)/host/demo/inproc.o $(B)/host/runtime/image.o \
                $(B)/host/tools/romb.o $(LIBPVLCORE)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^

# It runs kernel-catalog sites linked as calls into its ROMs.
$(B)/host/demo/inproc.o: HOST_CFLAGS += $(KSITE_CFLAGS)
all: $(DEMO_INPROC)
TEST_BINS += $(DEMO_INPROC)
demo-inproc: $(DEMO_INPROC)
	$(Q)$(DEMO_INPROC)

# The README's demonstration: the reference kernel under pvlink-run,
# exits native vs linked for each workload.
demo: $(PVLINK_RUN) $(GUEST_KERNEL)
	$(Q)demo/system.sh $(PVLINK_RUN) $(GUEST_KERNEL)
.PHONY: demo demo-inproc
CHECKS += "tests/check-exit.sh demo-inproc $(DEMO_INPROC)"

