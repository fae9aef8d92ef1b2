# tests/lib/: what a user of the build and the installed library meets:
# dependencies found or named (deps.sh), the library's exports against its
# headers (exports.sh), the manual pages against the options and functions
# they document (man.sh), and `make install` used through pkg-config and
# CMake by each compiler (tests/tool/install.sh), both monitors when their
# console cannot be written (console.sh).
CHECKS += tests/lib/deps.sh "tests/lib/exports.sh $(LIBPVLINK_SO)" \
          "tests/lib/console.sh $(PVLINK_RUN) $(PVLINK_SPT) $(GUEST_KERNEL)" \
          "tests/lib/man.sh $(PVLINK_RUN) $(PVLINK_SPT)" "tests/tool/install.sh --build $(B)"
TEST_BINS += lib $(PVLINK_RUN) $(PVLINK_SPT) $(GUEST_KERNEL)
