# tests/iface/: <pvlink/iface.h> from C at -O0, -O2 and -O3, built with
# the compiler's default flags only, and from C++ (tests/iface/cxx.mk);
# every public header compiled as C11, C17, C++17 and C++20 with
# -Wpedantic (tests/iface/headers.sh).

IFT_DIR := $(B)/tests/iface
IFT_OPTS := O0 O2 O3
IFT_CFLAGS = $(filter-out -O2,$(HOST_CFLAGS)) -Wpedantic

$(IFT_DIR)/natives.o: tests/iface/natives.c
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(IFT_CFLAGS) -O2 -c $< -o $@

$(IFT_DIR)/test_iface-%.o: tests/iface/test_iface.c
	$(quiet) CC $@
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(IFT_CFLAGS) -$* -c $< -o $@

$(IFT_DIR)/iface-%: $(IFT_DIR)/test_iface-%.o $(IFT_DIR)/natives.o \
                    $(B)/host/tests/harness.o $(LIBPVLINK_SO1)
	$(quiet) LD $@
	$(Q)$(CC) $(RT_LDFLAGS) -o $@ $(filter %.o,$^) $(RT_LDLIBS)

IFT_BINS := $(addprefix $(IFT_DIR)/iface-,$(IFT_OPTS))
TEST_BINS += $(IFT_BINS)
CHECKS += $(IFT_BINS) "tests/iface/headers.sh $(CC)"

-include $(IFT_DIR)/*.d

# C++: the test program and its C++ provider, with each C++ compiler
# installed (g++, clang++); natives.c stays C.
IFT_CXXFLAGS = -std=c++17 -O2 -g -gdwarf-4 -fPIC -Wall -Wextra -Wpedantic -Werror \
               -Iinclude -MMD -MP $(SANFLAGS)
# (one sanitizer runtime per process: with SAN=1, only the C compiler's own)
IFT_CXXS := $(foreach c,g++ clang++,$(if $(shell command -v $(c)),$(c)))
ifeq ($(SAN),1)
IFT_CXXS := $(if $(findstring clang,$(CC)),clang++,g++)
endif
ift_cxx_id = $(subst +,x,$(1))

define IFT_CXX_RULES
$(IFT_DIR)/cxx-$(call ift_cxx_id,$(1)): tests/iface/cxx.cc $(IFT_DIR)/natives.o $(LIBPVLINK_SO1)
	$$(quiet) CXX $$@
	$$(Q)mkdir -p $$(@D)
	$$(Q)$(1) $$(IFT_CXXFLAGS) -o $$@ $$< $(IFT_DIR)/natives.o $$(RT_LDFLAGS) $$(RT_LDLIBS)
$(IFT_DIR)/cxx_prov-$(call ift_cxx_id,$(1)).so: tests/iface/cxx_prov.cc
	$$(quiet) CXX $$@
	$$(Q)mkdir -p $$(@D)
	$$(Q)$(1) $$(IFT_CXXFLAGS) -shared -o $$@ $$<
TEST_BINS += $(IFT_DIR)/cxx-$(call ift_cxx_id,$(1)) $(IFT_DIR)/cxx_prov-$(call ift_cxx_id,$(1)).so
CHECKS += "$(IFT_DIR)/cxx-$(call ift_cxx_id,$(1)) $(IFT_DIR)/cxx_prov-$(call ift_cxx_id,$(1)).so"
endef
$(foreach c,$(IFT_CXXS),$(eval $(call IFT_CXX_RULES,$(c))))
