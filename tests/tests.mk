# tests/: unit, end-to-end and fuzz tests.  `make check` builds and runs
# them all through tests/run.sh, which ends with "N passed, N failed".

T_HARNESS := $(call objs,host,tests/harness.c tests/fixture.c)
ROMB_OBJS := $(call objs,host,tools/romb.c runtime/image.c)

# Unit tests linked against the hosted core: tests/test_NAME.c -> build/tests/NAME
UNIT_TESTS := emit insn plan link rom e2e
$(B)/tests/insn: LDLIBS_EXTRA := -lZydis

$(B)/tests/%: $(B)/host/tests/test_%.o $(T_HARNESS) $(ROMB_OBJS) $(LIBPVLCORE)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS_EXTRA)

CHECKS += $(addprefix $(B)/tests/,$(UNIT_TESTS))
TEST_BINS += $(addprefix $(B)/tests/,$(UNIT_TESTS))
