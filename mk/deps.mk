# Before building anything, make sure the tools exist (mk/deps.sh: installs
# what is missing as root on Debian, otherwise names it).  Done while
# reading the makefile, so that it also holds for parallel builds; the
# result is remembered in the build directory, so that a rebuild probes
# nothing.  `make deps` probes again.
DEPS_STAMP := $(B)/.deps-$(subst /,_,$(CC))
ifeq ($(filter clean deps help,$(MAKECMDGOALS)),)
ifeq ($(wildcard $(DEPS_STAMP)),)
ifneq ($(shell CC='$(CC)' mk/deps.sh >&2 && mkdir -p $(B) && touch $(DEPS_STAMP) && echo ok),ok)
$(error pvlink: cannot build, see above)
endif
endif
endif
deps:
	$(Q)CC='$(CC)' mk/deps.sh && mkdir -p $(B) && touch $(DEPS_STAMP)
.PHONY: deps
