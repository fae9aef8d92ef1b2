# make install / make uninstall: PREFIX (default /usr/local), DESTDIR, and
# BINDIR, LIBDIR, INCLUDEDIR, MANDIR, PKGCONFIGDIR, CMAKEDIR below it.
#   bin/         pvlink, pvlink-run, pvlink-spt
#   lib/         libpvlink.a, libpvlink.so.1 and its link, pkgconfig/pvlink.pc,
#                cmake/pvlink/ (find_package(pvlink): pvlink::pvlink)
#   include/     pvlink/*.h
#   share/man/   pvlink(1), pvlink-run(1), pvlink-spt(1), pvlink(3) and a
#                page name for each function it documents
# The .pc file is written here, so that it carries this invocation's
# PREFIX; libdir and includedir are expressed through ${prefix} when they
# lie below it, so that `pkg-config --define-prefix` can relocate an
# installation (DESTDIR).  The CMake package finds its prefix from its own
# place.  Installing into the system itself (no DESTDIR) as root refreshes
# the loader's cache.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR ?= $(LIBDIR)/cmake/pvlink
PVT_VERSION := $(shell sed -n 's/^\#define PVT_VERSION "\(.*\)"/\1/p' tools/version.h)

# Library directories the loader searches without being told: no rpath.
SYSTEM_LIBDIRS := /lib /lib64 /usr/lib /usr/lib64 \
    $(addprefix /lib/,$(shell $(CC) -print-multiarch 2>/dev/null)) \
    $(addprefix /usr/lib/,$(shell $(CC) -print-multiarch 2>/dev/null))
PC_RPATH := $(if $(filter $(LIBDIR),$(SYSTEM_LIBDIRS)),,-Wl,-rpath,$${libdir} )
pc_dir = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
rel_to = $(shell realpath -m --relative-to=$(1) $(2))

INSTALL_BINS := $(PVLINK_BIN) $(PVLINK_RUN) $(PVLINK_SPT)
INSTALL_MAN1 := man/pvlink.1 man/pvlink-run.1 man/pvlink-spt.1
INSTALL_MAN3 := man/pvlink.3
# The functions and macros pvlink(3) documents, each a page name of its own.
MAN3_ALIASES := $(shell sed -n 's/^    \(pv[lr]_[a-z_0-9]*\);$$/\1/p' mk/libpvlink.map) \
                libpvlink PVL_IFACE PVL_IFACE_DEFAULTS PVR_PROVIDER_DESC PVR_CALL PVR_INLINE

install: lib $(INSTALL_BINS)
	$(quiet) INSTALL $(DESTDIR)$(PREFIX)
	$(Q)install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(CMAKEDIR) $(DESTDIR)$(INCLUDEDIR)/pvlink \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3
	$(Q)install -m 755 $(INSTALL_BINS) $(DESTDIR)$(BINDIR)/
	$(Q)install -m 644 $(LIBPVLINK_A) $(DESTDIR)$(LIBDIR)/libpvlink.a
	$(Q)install -m 755 $(LIBPVLINK_SO) $(DESTDIR)$(LIBDIR)/$(LIBPVLINK_SONAME)
	$(Q)ln -sf $(LIBPVLINK_SONAME) $(DESTDIR)$(LIBDIR)/libpvlink.so
	$(Q)install -m 644 $(sort $(wildcard include/pvlink/*.h)) $(DESTDIR)$(INCLUDEDIR)/pvlink/
	$(Q)install -m 644 $(INSTALL_MAN1) $(DESTDIR)$(MANDIR)/man1/
	$(Q)install -m 644 $(INSTALL_MAN3) $(DESTDIR)$(MANDIR)/man3/
	$(Q)for f in $(MAN3_ALIASES); do \
		echo '.so man3/pvlink.3' >$(DESTDIR)$(MANDIR)/man3/$$f.3; done
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|' \
		-e 's|@LIBDIR@|$(call pc_dir,$(LIBDIR))|' \
		-e 's|@INCLUDEDIR@|$(call pc_dir,$(INCLUDEDIR))|' \
		-e 's|@VERSION@|$(PVT_VERSION)|' \
		-e 's|@RPATH@|$(PC_RPATH)|' \
		-e 's|@LIBS_PRIVATE@|$(strip $(LIBPVLINK_LIBS))|' \
		mk/pvlink.pc.in >$(DESTDIR)$(PKGCONFIGDIR)/pvlink.pc
	$(Q)sed -e 's|@CMAKE_TO_PREFIX@|$(call rel_to,$(CMAKEDIR),$(PREFIX))|' \
		-e 's|@LIBDIR_REL@|$(call rel_to,$(PREFIX),$(LIBDIR))|' \
		-e 's|@INCLUDEDIR_REL@|$(call rel_to,$(PREFIX),$(INCLUDEDIR))|' \
		-e 's|@LIBS_PRIVATE_CMAKE@|$(subst $(space),;,$(strip $(LIBPVLINK_LIBS)))|' \
		mk/cmake/pvlinkConfig.cmake.in >$(DESTDIR)$(CMAKEDIR)/pvlinkConfig.cmake
	$(Q)sed -e 's|@VERSION@|$(PVT_VERSION)|' mk/cmake/pvlinkConfigVersion.cmake.in \
		>$(DESTDIR)$(CMAKEDIR)/pvlinkConfigVersion.cmake
	$(Q)if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" -eq 0 ] && command -v ldconfig >/dev/null; then \
		ldconfig; fi

uninstall:
	$(quiet) UNINST $(DESTDIR)$(PREFIX)
	$(Q)rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(INSTALL_BINS))) \
		$(addprefix $(DESTDIR)$(LIBDIR)/,libpvlink.a $(LIBPVLINK_SONAME) libpvlink.so) \
		$(DESTDIR)$(PKGCONFIGDIR)/pvlink.pc \
		$(DESTDIR)$(CMAKEDIR)/pvlinkConfig.cmake $(DESTDIR)$(CMAKEDIR)/pvlinkConfigVersion.cmake \
		$(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(INSTALL_MAN1))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man3/,$(notdir $(INSTALL_MAN3)) \
			$(addsuffix .3,$(MAN3_ALIASES))) \
		$(addprefix $(DESTDIR)$(INCLUDEDIR)/pvlink/,$(notdir $(wildcard include/pvlink/*.h)))
	$(Q)rmdir $(DESTDIR)$(INCLUDEDIR)/pvlink $(DESTDIR)$(CMAKEDIR) 2>/dev/null || true
.PHONY: install uninstall

