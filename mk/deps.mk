# Before building anything, make sure the tools exist (mk/deps.sh: installs
# what is missing as root on Debian, otherwise names it).  Done while
# reading the makefile, so that it also holds for parallel builds; the
# result is remembered in the build directory, so that a rebuild probes
# nothing.  `make deps` probes again.
#
# A build directory holds one compiler's objects: the first build records
# CC there, and a build with another CC is refused rather than mixed.
DEPS_STAMP := $(B)/.deps-$(subst /,_,$(CC))
BUILT_WITH := $(shell cat $(B)/.compiler 2>/dev/null)
ifeq ($(filter clean deps help,$(MAKECMDGOALS)),)
ifeq ($(BUILT_WITH),)
BUILT_WITH := $(shell mkdir -p $(B) && echo '$(CC)' >$(B)/.compiler && echo '$(CC)')
endif
ifneq ($(BUILT_WITH),$(CC))
$(error pvlink: $(B)/ holds objects built with CC=$(BUILT_WITH); build with CC=$(CC) \
  elsewhere (make CC=$(CC) B=build-$(notdir $(firstword $(CC))) ...) or make clean first)
endif
ifeq ($(wildcard $(DEPS_STAMP)),)
ifneq ($(shell CC='$(CC)' mk/deps.sh >&2 && mkdir -p $(B) && touch $(DEPS_STAMP) && echo ok),ok)
$(error pvlink: cannot build, see above)
endif
endif
endif
deps:
	$(Q)CC='$(CC)' mk/deps.sh && mkdir -p $(B) && touch $(DEPS_STAMP)
.PHONY: deps
