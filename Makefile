# jobkeeper: PGXS build of the extension, plus the project's entry points (test, demo).
EXTENSION   = jobkeeper
EXTVERSION  = $(shell sed -n "s/^default_version *= *'\(.*\)'/\1/p" jobkeeper.control)
MODULE_big  = jobkeeper
SOURCES     = $(sort $(wildcard src/*.cpp src/core/*.cpp src/pg/*.cpp src/functions/*.cpp \
                                src/triggers/*.cpp src/worker/*.cpp))
OBJS        = $(SOURCES:.cpp=.o)
# The install script of the current version is assembled from src/sql/install/ in name order.
# A released version's install script is frozen in src/sql/released/ and never changes: the
# assembled script of a released version must equal it byte for byte (the build stops
# otherwise), so a change to the parts needs a new version and its update script. Update and
# downgrade scripts (jobkeeper--A--B.sql) live in src/sql/ as they are.
# A version not yet frozen there is in development (META.json says "testing"): its update
# script is assembled from src/sql/updates/A--B/ in name order, whose parts shared with the
# install script are links into src/sql/install/, and its downgrade script from
# src/sql/updates/B--A/; both are frozen into src/sql/ with the release.
INSTALL_PARTS = $(sort $(wildcard src/sql/install/*.sql))
UPDATES_built = $(patsubst src/sql/updates/%,jobkeeper--%.sql,$(wildcard src/sql/updates/*--*))
DATA_built  = jobkeeper--$(EXTVERSION).sql $(UPDATES_built)
DATA        = $(sort $(wildcard src/sql/jobkeeper--*--*.sql)) \
              $(filter-out src/sql/released/jobkeeper--$(EXTVERSION).sql, \
                           $(wildcard src/sql/released/jobkeeper--*.sql))

# Every file in sql/ is a regression test and every spec an isolation test: none forgotten.
REGRESS        = $(sort $(basename $(notdir $(wildcard sql/*.sql))))
REGRESS_OPTS   = --inputdir=.
ISOLATION      = $(sort $(basename $(notdir $(wildcard test/isolation/specs/*.spec))))
ISOLATION_OPTS = --inputdir=test/isolation
TAP_TESTS      = 1
PROVE_TESTS    = test/t/*.pl

PG_CONFIG ?= pg_config
PG_INCLUDE_SERVER := $(shell $(PG_CONFIG) --includedir-server)

# -isystem keeps warnings from the server headers (e.g. `register` in PG15) out of ours.
# PG15 leaves PGDLLEXPORT empty on Linux; with hidden visibility it must mark the exports.
PG_CPPFLAGS = -Isrc -isystem $(PG_INCLUDE_SERVER) -DJK_VERSION='"$(EXTVERSION)"' \
              '-DPGDLLEXPORT=__attribute__((visibility("default")))'
PG_CXXFLAGS = -std=c++17 -fvisibility=hidden -fvisibility-inlines-hidden \
              -Wall -Wextra -Wno-register $(if $(JK_WERROR),-Werror)
SHLIB_LINK  = -lstdc++ -lcrypto -Wl,--version-script=$(CURDIR)/src/exports.map
# `make JK_SANITIZE=1` instruments the library with AddressSanitizer and UndefinedBehavior-
# Sanitizer (scripts/sanitize.sh runs the suites against it).
ifdef JK_SANITIZE
PG_CXXFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -g
SHLIB_LINK  += -fsanitize=address,undefined
endif

# No LLVM bitcode: jobkeeper's functions are reached through fmgr calls that the JIT would not
# inline, and compiling C++ with exceptions to bitcode doubles build time for no gain.
override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# PGXS tracks no header dependencies (its autodepend names files by basename, and ours repeat):
# each object records its own, so that a changed header rebuilds what includes it.
%.o: %.cpp
	$(CXX) $(CXXFLAGS) $(CPPFLAGS) -MMD -MP -c -o $@ $<
-include $(OBJS:.o=.d)
# JK_VERSION comes from jobkeeper.control through the command line, which no .d file records.
$(filter %/version.o %/database_worker.o,$(OBJS)): jobkeeper.control

jobkeeper--$(EXTVERSION).sql: $(INSTALL_PARTS) jobkeeper.control
	cat $(INSTALL_PARTS) > $@.tmp
	@frozen=src/sql/released/$@; \
	if [ -f "$$frozen" ] && ! cmp -s $@.tmp "$$frozen"; then \
	  echo "src/sql/install/ no longer assembles the released $$frozen:"; \
	  diff -u "$$frozen" $@.tmp | head -40; rm -f $@.tmp; \
	  echo "a released install script never changes: raise default_version in jobkeeper.control"; \
	  echo "and put the change in src/sql/jobkeeper--$(EXTVERSION)--<new>.sql (see README: Releases)"; \
	  exit 1; \
	fi
	mv $@.tmp $@

.SECONDEXPANSION:
$(UPDATES_built): jobkeeper--%.sql: $$(sort $$(wildcard src/sql/updates/%/*.sql))
	cat $^ > $@

# The same suites as installcheck, one target each, so a runner can count every suite even
# when an earlier one fails.
.PHONY: regresscheck isolationcheck tapcheck test demo demo-stop sqlsmith sanitize deb
regresscheck:
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS)
isolationcheck:
	$(pg_isolation_regress_installcheck) $(ISOLATION_OPTS) $(ISOLATION)
tapcheck:
	$(prove_installcheck)

# The README's two commands.
test:
	bash scripts/test.sh
demo:
	bash scripts/demo.sh
demo-stop:
	bash scripts/demo.sh stop
# The suites against a sanitizer build of the library (make test runs it after TAP).
sanitize:
	bash scripts/sanitize.sh
# The Debian package, built, checked with lintian, installed, tried and removed (make test runs
# it too); JK_DEB_KEEP=dir keeps the .deb files.
deb:
	bash scripts/package.sh

# Long bounded checks, outside make test.
sqlsmith:
	bash scripts/sqlsmith.sh

clean: clean-jobkeeper
clean-jobkeeper:
	rm -rf build/ $(OBJS:.o=.d)

# Relink when the export list changes.
$(shlib): src/exports.map
