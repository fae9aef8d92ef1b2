# tests/runtime/: the runtime's tests.  Programs link libpvlink.so and the
# test library librt_sites.so; provider shared objects are built from
# rt_prov.c, one per variant.

RT_DIR := $(B)/tests/runtime
RT_COMMON := $(call objs,host,tests/runtime/rt_common.c tests/harness.c)
RT_TESTS := rt_link rt_prov rt_fault rt_trap rt_stress rt_quiet rt_masks rt_nopie rt_wx \
            rt_set
RT_SOS := $(RT_DIR)/librt_sites.so $(RT_DIR)/librt_late.so \
          $(addprefix $(RT_DIR)/prov_,good.so iface.so version.so long.so clobbers.so \
                                      nosym.so unres.so cold.so)

$(RT_DIR)/librt_sites.so $(RT_DIR)/librt_late.so: tests/runtime/rt_lib.c tests/runtime/rt_iface.h
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -shared -Wl,-soname,$(notdir $@) -o $@ $<

# A library that links itself from its constructor (dlopen'ed by rt_set).
$(RT_DIR)/librt_ctor.so: tests/runtime/rt_ctor.c $(LIBPVLINK_SO1)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) -shared -o $@ $< $(RT_LDFLAGS) $(RT_LDLIBS)
$(RT_DIR)/rt_set: $(RT_DIR)/librt_ctor.so

# variant name -> interface, major, minor, table[, one more -D]
PROV_good := '"pvlink.rt"' 1 4 good
PROV_iface := '"pvlink.other"' 1 0 good
PROV_version := '"pvlink.rt"' 2 0 good
PROV_long := '"pvlink.rt"' 1 2 too_long
PROV_clobbers := '"pvlink.rt"' 1 2 wide
PROV_nosym := '"pvlink.rt"' 1 4 good pvr_provider_v1=pvr_provider_v0
PROV_unres := '"pvlink.rt"' 1 4 good PROV_UNRESOLVED
PROV_cold := '"pvlink.rt"' 1 4 cold
prov_def = -DPROV_IFACE=$(word 1,$(PROV_$1)) -DPROV_MAJOR=$(word 2,$(PROV_$1)) \
           -DPROV_MINOR=$(word 3,$(PROV_$1)) -DPROV_TABLE=$(word 4,$(PROV_$1)) \
           $(addprefix -D,$(word 5,$(PROV_$1)))

$(RT_DIR)/prov_%.so: tests/runtime/rt_prov.c tests/runtime/rt_iface.h
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(HOST_CFLAGS) $(call prov_def,$*) -shared -o $@ $<

# The cold provider is what it says when gcc builds it: add_cold has a
# .cold part, below it (clang does not split functions by default).
CHECKS += "tests/runtime/cold.sh $(RT_DIR)/prov_cold.so $(CC)"

$(RT_DIR)/%: $(B)/host/tests/runtime/test_%.o $(RT_COMMON) $(RT_SOS) $(LIBPVLINK_SO1)
	$(quiet) LD $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(RT_LDFLAGS) -o $@ $(filter %.o,$^) -L$(RT_DIR) -lrt_sites \
		-Wl,-rpath,'$$ORIGIN' $(RT_LDLIBS)

# Anywhere in the address space: this one is a non-PIE executable (0x400000)
# and calls the runtime's placement helpers (image.c) directly.
$(RT_DIR)/rt_nopie: RT_LDFLAGS += -no-pie
$(RT_DIR)/rt_nopie: $(call objs,host,runtime/image.c)

TEST_BINS += $(addprefix $(RT_DIR)/,$(RT_TESTS))
CHECKS += $(addprefix $(RT_DIR)/,$(RT_TESTS))
# The live stress under valgrind, without --smc-check (skipped in ASan builds).
CHECKS += "tests/runtime/valgrind.sh --build $(B)"
