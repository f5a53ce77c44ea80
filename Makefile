# libcrochet: build, stage, demo, test, bench, install.
#
#   make demo     install what is missing, build, run examples/c/demo.c
#   make test     the whole suite (C ABI, Swift, sanitizers, bindings)
#   make bench    the benchmarks (medians, ratios to a futex baseline and a libuv peer,
#                 the goals of issue 11; summary in build/bench/summary.tsv; ~3 min)
#   make bench-quick  the same with fewer repetitions and shorter paced runs (~20 s)
#   make bench-compare REV=v0.1.0  hot-path figures of REV and of this tree, run
#                 in alternation (a noisy machine compares only within one run)
#   make          build: stage, then the shipped library in build/dist (mk/install.mk)
#   make install  copy what make built: PREFIX=/usr/local LIBDIR INCLUDEDIR DESTDIR
#                 (also install-strip, uninstall; see mk/install.mk)
#   make docs     regenerate docs/api from include/crochet.h (mk/docs.mk)
#   make wheel    the Python wheel that carries the library, in build/wheel (mk/wheel.mk)

SHELL := /bin/bash
export PATH := $(PATH):/opt/swift/usr/bin

VERSION := $(shell sed -n 's/^\#define CROCHET_VERSION_STRING "\(.*\)"/\1/p' include/crochet.h)
MAJOR := $(shell sed -n 's/^\#define CROCHET_VERSION_MAJOR \([0-9]*\)/\1/p' include/crochet.h)
MINOR := $(shell sed -n 's/^\#define CROCHET_VERSION_MINOR \([0-9]*\)/\1/p' include/crochet.h)
# Before 1.0 a minor version may change the ABI: the soname carries MAJOR.MINOR.
SONAME_VERSION := $(if $(filter 0,$(MAJOR)),$(MAJOR).$(MINOR),$(MAJOR))
SONAME := libcrochet.so.$(SONAME_VERSION)
PREFIX ?= /usr/local
CONFIG ?= release
SWIFTPM_BUILD := .build/$(CONFIG)
STAGE := $(CURDIR)/build/stage
CC ?= cc
CFLAGS ?= -O2 -g -Wall -Wextra -Werror
export PKG_CONFIG_PATH := $(STAGE)/lib/pkgconfig$(if $(PKG_CONFIG_PATH),:$(PKG_CONFIG_PATH))

# How C programs in this tree compile against the staged library.
CROCHET_CFLAGS = $$(pkg-config --cflags crochet)
CROCHET_LIBS = $$(pkg-config --libs crochet) -Wl,-rpath,$(STAGE)/lib

.PHONY: all deps lib stage demo test test-c test-swift6 test-valgrind test-abi test-swift test-tsan test-python test-cpp \
        test-examples test-downloader test-diagnose test-asan fuzz test-fuzz soak test-soak bench bench-quick bench-compare clean

all: stage dist

deps:
	@scripts/install-deps.sh

# The self-contained shared library, staged with its header and pkg-config file.
lib stage: deps
	@# -gdwarf-4 for the C shims: clang's default DWARF 5 is unreadable to valgrind 3.19
	@# (the Swift sources are DWARF 4 already).
	swift build -c $(CONFIG) --product crochet --disable-local-rpath -Xcc -gdwarf-4
	@mkdir -p $(STAGE)/lib/pkgconfig $(STAGE)/include
	@# Copy then rename: a process that has the old library mapped keeps it intact.
	@cp $(SWIFTPM_BUILD)/libcrochet.so $(STAGE)/lib/.libcrochet.so.tmp
	@mv -f $(STAGE)/lib/.libcrochet.so.tmp $(STAGE)/lib/libcrochet.so.$(VERSION)
	@ln -sf libcrochet.so.$(VERSION) $(STAGE)/lib/$(SONAME)
	@ln -sf $(SONAME) $(STAGE)/lib/libcrochet.so
	@cp include/crochet.h $(STAGE)/include/crochet.h
	@sed -e 's|@PREFIX@|$(STAGE)|' -e 's|@VERSION@|$(VERSION)|' pkgconfig/crochet.pc.in \
	    > $(STAGE)/lib/pkgconfig/crochet.pc
	@echo "staged libcrochet $(VERSION) in $(STAGE)"

build/demo: examples/c/demo.c include/crochet.h | stage
	$(CC) $(CFLAGS) -rdynamic examples/c/demo.c -o $@ $(CROCHET_CFLAGS) $(CROCHET_LIBS)

demo: stage build/demo
	./build/demo

test: stage check-docs test-abi test-install test-c test-valgrind test-asan test-swift test-tsan test-examples test-downloader test-cpp \
      test-python test-python-example test-diagnose test-swift6 test-fuzz test-soak
	@echo "make test: all suites passed"

test-c: stage
	Tests/c/compile-fail/run.sh
	Tests/c/run-tests.sh

# The C tests again under valgrind's memcheck, leak check on: any error or
# definite leak fails the test (Tests/c/valgrind.supp lists what is kept for
# the process's lifetime on purpose).
test-valgrind: stage
	VALGRIND=1 Tests/c/run-tests.sh

# The C tests with the library (an optimised build with --sanitize=address in
# .build-asan, staged in build/stage-asan) and the tests built with ASan and
# LeakSanitizer; test-fork's fork_under_load forks 300 times under load there.
test-asan: deps
	Tests/c/tools/build-variant.sh .build-asan build/stage-asan --sanitize=address
	ASAN=1 FORK_STRESS_ROUNDS=300 Tests/c/run-tests.sh

# The API-sequence fuzzer (libFuzzer, ASan, coverage of the library too):
# make fuzz FUZZ_SECONDS=600; make test runs a 30 s pass.
FUZZ_SECONDS ?= 600
fuzz: deps
	Tests/fuzz/run.sh $(FUZZ_SECONDS)

test-fuzz: deps
	Tests/fuzz/run.sh 30

# The soak run against the staged library: make soak SECONDS=600; make test
# runs a 20 s pass.
soak: stage
	Tests/soak/run.sh $(or $(SECONDS),600)

test-soak: stage
	Tests/soak/run.sh 20

test-abi: stage
	Tests/abi/check-abi.sh $(STAGE)

# libcurl's multi-socket API driven by the reactor, against a local HTTP server.
test-downloader: stage
	Tests/c/downloader/run.sh

# The last lines, and every issue a failing test recorded (with its context).
test-swift: deps
	@mkdir -p build
	swift test --parallel > build/swift-test.log 2>&1; s=$$?; tail -n 40 build/swift-test.log; \
	    grep -A6 "recorded an issue" build/swift-test.log | head -n 80; exit $$s

test-tsan: deps
	@mkdir -p build
	swift test --sanitize=thread --scratch-path .build-tsan > build/tsan-test.log 2>&1; s=$$?; \
	    tail -n 40 build/tsan-test.log; grep -A6 -E "recorded an issue|WARNING: ThreadSanitizer" build/tsan-test.log | head -n 80; exit $$s

# examples/c/diagnose.c and examples/python/diagnose.py (a call blocking the
# reactor, a deferred that never fires), their output asserted: the stall
# warning and the timeout diagnoses (issue 12).
test-diagnose: stage
	Tests/c/diagnose/run.sh

# A fresh Swift 6 package using the Crochet product as a versioned dependency.
test-swift6: deps
	Tests/swift6-consumer/run.sh

test-examples: stage build/demo
	./build/demo > /dev/null
	swift build --product SwiftDemo
	timeout 60 .build/debug/SwiftDemo

include bindings/cpp/cpp.mk
include bindings/python/python.mk

# Benchmarks/bench.c beside Benchmarks/uv-peer.c (docs/benchmarks.md).
bench: stage
	Benchmarks/run-bench.sh

bench-quick: stage
	Benchmarks/run-bench.sh --quick

# The hot path (round trip, pipelined, 4 threads) of an older revision and of
# the staged library, run in alternation: make bench-compare REV=v0.1.0
REV ?= v0.1.0
bench-compare: stage
	Benchmarks/compare-revisions.sh $(REV)

include mk/install.mk
include mk/docs.mk
include mk/wheel.mk

# The wheel installed in a fresh venv, imported with env -i (mk/wheel.mk).
test: test-wheel

clean:
	rm -rf build .build .build-tsan .build-asan .build-fuzz
