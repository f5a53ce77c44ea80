# The C++ binding's targets, for the top Makefile:  include bindings/cpp/cpp.mk
#   make test-cpp            g++ and clang++ tests, compile-fail checks, the demo
#   make test-cpp-valgrind   the same, plus the g++ binary under valgrind memcheck
.PHONY: test-cpp test-cpp-valgrind

test-cpp: stage
	bindings/cpp/run-tests.sh

test-cpp-valgrind: stage
	VALGRIND=1 bindings/cpp/run-tests.sh
