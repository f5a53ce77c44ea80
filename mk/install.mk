# Packaging, for the top Makefile:  include mk/install.mk
#
#   make                 builds and stages (stage), then `dist`: the library as
#                        shipped, in build/dist/lib (stripped, no RUNPATH, its
#                        debug info split off into $(SONAME).debug)
#   make install         copies what `make` built; never builds, never runs a
#                        package manager ("run make first" when nothing is built)
#   make install-strip   the same without the separate debug info
#   make uninstall       removes exactly what install put there
#
# Directories (GNU names, overridable on the command line):
#   PREFIX=/usr/local  LIBDIR=$(PREFIX)/lib  INCLUDEDIR=$(PREFIX)/include
#   DATAROOTDIR=$(PREFIX)/share  DOCDIR=$(DATAROOTDIR)/doc/libcrochet
#   PKGCONFIGDIR=$(LIBDIR)/pkgconfig  CMAKEDIR=$(LIBDIR)/cmake/crochet
#   DEBUGDIR=$(LIBDIR)/.debug  (gdb, valgrind and elfutils look there for the
#     .gnu_debuglink file whatever the prefix; a distribution may prefer
#     DEBUGDIR=/usr/lib/debug$(LIBDIR))
#   DESTDIR (staged installs: packages, chroots)
# e.g. make install DESTDIR=/tmp/x PREFIX=/usr LIBDIR=/usr/lib/x86_64-linux-gnu

.PHONY: dist install install-strip install-files install-debug uninstall test-install

LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATAROOTDIR ?= $(PREFIX)/share
DOCDIR ?= $(DATAROOTDIR)/doc/libcrochet
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR ?= $(LIBDIR)/cmake/crochet
DEBUGDIR ?= $(LIBDIR)/.debug
INSTALL ?= install

DIST := $(CURDIR)/build/dist
LIBFILE := libcrochet.so.$(VERSION)
DEBUGFILE := $(SONAME).debug
DOC_FILES := LICENSE README.md CHANGELOG.md SECURITY.md CONTRIBUTING.md
DOC_PAGES := $(wildcard docs/*.md)
API_PAGES := $(wildcard docs/api/*.md)
BINDING_DOCS := bindings/cpp/README.md bindings/python/README.md

# The shipped library, made from the staged one: RUNPATH removed (SwiftPM
# links $ORIGIN in; an installed library must use the system's search path),
# debug info split off with a .gnu_debuglink to it, everything else that the
# dynamic linker does not need stripped. Built in a temporary directory and
# renamed, so a half-made dist never exists.
dist: stage
	@test -f $(STAGE)/lib/$(LIBFILE) || { echo "dist: no $(STAGE)/lib/$(LIBFILE)" >&2; exit 1; }
	@rm -rf $(DIST).tmp && mkdir -p $(DIST).tmp/lib
	@cp $(STAGE)/lib/$(LIBFILE) $(DIST).tmp/lib/$(LIBFILE)
	@if readelf -d $(DIST).tmp/lib/$(LIBFILE) | grep -qE '\((RUNPATH|RPATH)\)'; then \
	    command -v patchelf >/dev/null || { echo "dist: the library has a RUNPATH and patchelf is missing (scripts/install-deps.sh)" >&2; exit 1; }; \
	    patchelf --remove-rpath $(DIST).tmp/lib/$(LIBFILE); \
	fi
	@cd $(DIST).tmp/lib && objcopy --only-keep-debug --compress-debug-sections=zlib $(LIBFILE) $(DEBUGFILE) \
	    && chmod 644 $(DEBUGFILE) \
	    && objcopy --strip-unneeded --remove-section=.comment --remove-section=.gnu_debuglink $(LIBFILE) \
	    && objcopy --add-gnu-debuglink=$(DEBUGFILE) $(LIBFILE) \
	    && ln -s $(LIBFILE) $(SONAME) && ln -s $(SONAME) libcrochet.so
	@rm -rf $(DIST) && mv $(DIST).tmp $(DIST)
	@echo "dist: $(DIST)/lib/$(LIBFILE) $$(stat -c %s $(DIST)/lib/$(LIBFILE)) bytes (debug info: $(DEBUGFILE), $$(stat -c %s $(DIST)/lib/$(DEBUGFILE)) bytes)"

# Nothing below builds anything: a missing build is an error, not a rebuild.
define crochet_require_built
	@test -f $(DIST)/lib/$(LIBFILE) -a -f $(DIST)/lib/$(DEBUGFILE) -a -f $(STAGE)/include/crochet.h || { \
	    echo "make install: libcrochet $(VERSION) is not built ($(DIST)/lib/$(LIBFILE) is missing): run make first; install only copies what make built" >&2; \
	    exit 1; }
endef

# pkg-config and CMake paths: under the prefix they are written relative to it.
pc_dir = $(if $(filter $(PREFIX)/%,$(1)),$${prefix}/$(patsubst $(PREFIX)/%,%,$(1)),$(1))

install: install-files install-debug

install-strip: install-files

install-files:
	$(crochet_require_built)
	$(INSTALL) -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
	    $(DESTDIR)$(CMAKEDIR) $(DESTDIR)$(DOCDIR)/docs/api $(DESTDIR)$(DOCDIR)/bindings/cpp \
	    $(DESTDIR)$(DOCDIR)/bindings/python
	$(INSTALL) -m 644 $(DIST)/lib/$(LIBFILE) $(DESTDIR)$(LIBDIR)/$(LIBFILE)
	ln -sfn $(LIBFILE) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sfn $(SONAME) $(DESTDIR)$(LIBDIR)/libcrochet.so
	$(INSTALL) -m 644 $(STAGE)/include/crochet.h bindings/cpp/crochet.hpp $(DESTDIR)$(INCLUDEDIR)/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|^libdir=.*|libdir=$(call pc_dir,$(LIBDIR))|' \
	    -e 's|^includedir=.*|includedir=$(call pc_dir,$(INCLUDEDIR))|' \
	    pkgconfig/crochet.pc.in > $(DESTDIR)$(PKGCONFIGDIR)/crochet.pc
	rel() { realpath -m --relative-to="$(CMAKEDIR)" "$$1"; }; \
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@SONAME_VERSION@|$(SONAME_VERSION)|g' \
	    -e "s|@CMAKEDIR_TO_LIBDIR@|$$(rel $(LIBDIR))|g" \
	    -e "s|@CMAKEDIR_TO_INCLUDEDIR@|$$(rel $(INCLUDEDIR))|g" \
	    cmake/crochetConfig.cmake.in > $(DESTDIR)$(CMAKEDIR)/crochetConfig.cmake
	sed -e 's|@VERSION@|$(VERSION)|g' -e 's|@MAJOR@|$(MAJOR)|g' -e 's|@MINOR@|$(MINOR)|g' \
	    -e 's|@SIZEOF_VOID_P@|8|g' \
	    cmake/crochetConfigVersion.cmake.in > $(DESTDIR)$(CMAKEDIR)/crochetConfigVersion.cmake
	chmod 644 $(DESTDIR)$(PKGCONFIGDIR)/crochet.pc $(DESTDIR)$(CMAKEDIR)/crochetConfig.cmake \
	    $(DESTDIR)$(CMAKEDIR)/crochetConfigVersion.cmake
	@# The docs keep the repository's layout, so their relative links work.
	$(INSTALL) -m 644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/
	$(INSTALL) -m 644 $(DOC_PAGES) $(DESTDIR)$(DOCDIR)/docs/
	$(INSTALL) -m 644 $(API_PAGES) $(DESTDIR)$(DOCDIR)/docs/api/
	$(INSTALL) -m 644 bindings/cpp/README.md $(DESTDIR)$(DOCDIR)/bindings/cpp/
	$(INSTALL) -m 644 bindings/python/README.md $(DESTDIR)$(DOCDIR)/bindings/python/

install-debug: install-files
	$(INSTALL) -d $(DESTDIR)$(DEBUGDIR)
	$(INSTALL) -m 644 $(DIST)/lib/$(DEBUGFILE) $(DESTDIR)$(DEBUGDIR)/$(DEBUGFILE)

# Removes the files install made (by name: nothing else in those directories),
# then the directories that only libcrochet uses, if empty.
uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/$(LIBFILE) $(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libcrochet.so \
	    $(DESTDIR)$(DEBUGDIR)/$(DEBUGFILE) \
	    $(DESTDIR)$(INCLUDEDIR)/crochet.h $(DESTDIR)$(INCLUDEDIR)/crochet.hpp \
	    $(DESTDIR)$(PKGCONFIGDIR)/crochet.pc \
	    $(DESTDIR)$(CMAKEDIR)/crochetConfig.cmake $(DESTDIR)$(CMAKEDIR)/crochetConfigVersion.cmake \
	    $(addprefix $(DESTDIR)$(DOCDIR)/,$(DOC_FILES) $(DOC_PAGES) $(API_PAGES) $(BINDING_DOCS))
	@for d in $(DESTDIR)$(DOCDIR)/docs/api $(DESTDIR)$(DOCDIR)/docs $(DESTDIR)$(DOCDIR)/bindings/cpp \
	        $(DESTDIR)$(DOCDIR)/bindings/python $(DESTDIR)$(DOCDIR)/bindings $(DESTDIR)$(DOCDIR) \
	        $(DESTDIR)$(CMAKEDIR) $(DESTDIR)$(DEBUGDIR); do \
	    if [ -d "$$d" ]; then rmdir "$$d" 2>/dev/null || echo "uninstall: kept $$d (not empty)"; fi; \
	done

# Installs into a temporary DESTDIR from what is built, then builds and runs
# CMake, Meson, pkg-config and C++ programs against it; uninstalls.
test-install: dist
	Tests/install/run.sh
