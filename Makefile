# The two commands a newcomer needs: `make run` and `make test`. Both install missing Debian
# packages (deploy/install-deps.sh, idempotent) and build first.

MAKEFLAGS += --no-print-directory

BUILD_DIR ?= build/release
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release -DIDNODE_WERROR=ON
RUN_FLAGS ?=

# The sanitizer builds `make test` runs after the Release suite, each in its own directory:
# AddressSanitizer + UndefinedBehaviorSanitizer over the whole suite, and ThreadSanitizer over the
# tests of the threaded components (CTest label `threaded`), built with clang so that
# -Wthread-safety -Werror also checks every lock annotation. tests/sanitizers/ holds the
# suppressions, each explained. SANITIZERS=0 skips both (a quicker local loop).
SANITIZERS ?= 1
SANITIZER_CMAKE_FLAGS = -DCMAKE_BUILD_TYPE=Release -DIDNODE_WERROR=ON -DIDNODE_LIBFUZZER=OFF
ASAN_DIR ?= build/asan
TSAN_DIR ?= build/tsan
SUPPRESSIONS = $(CURDIR)/tests/sanitizers
ASAN_ENV = ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1 \
  LSAN_OPTIONS=suppressions=$(SUPPRESSIONS)/lsan.supp:print_suppressions=0 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:suppressions=$(SUPPRESSIONS)/ubsan.supp
TSAN_ENV = TSAN_OPTIONS=suppressions=$(SUPPRESSIONS)/tsan.supp:halt_on_error=1:second_deadlock_stack=1
# What the ThreadSanitizer run builds: the threaded components' tests (and the programs they run).
TSAN_TARGETS = writer_test stats_test recursion_test node_test upload_test http_server_test \
  federation_client_test round_loop_test

.PHONY: all deps configure build run test test-asan test-tsan bench bench-compare fuzz format clean

all: build

deps:
	@./deploy/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS) > /dev/null

build: configure
	@cmake --build $(BUILD_DIR) -j$(JOBS)

# Starts one node on 127.0.0.1 with its data in ./var; prints how to register and resolve.
run: build
	@$(BUILD_DIR)/tools/idnode --data-dir ./var $(RUN_FLAGS)

test: build
	@cd $(BUILD_DIR) && ctest --output-on-failure --timeout 300 -j$(JOBS)
ifneq ($(SANITIZERS),0)
	@$(MAKE) test-asan test-tsan
endif

test-asan: deps
	@cmake -S . -B $(ASAN_DIR) $(SANITIZER_CMAKE_FLAGS) -DIDNODE_SANITIZE=address,undefined > /dev/null
	@cmake --build $(ASAN_DIR) -j$(JOBS)
	@cd $(ASAN_DIR) && $(ASAN_ENV) ctest --output-on-failure --timeout 300 -j$(JOBS)

test-tsan: deps
	@cmake -S . -B $(TSAN_DIR) $(SANITIZER_CMAKE_FLAGS) -DIDNODE_SANITIZE=thread \
	  -DCMAKE_CXX_COMPILER=clang++ > /dev/null
	@cmake --build $(TSAN_DIR) -j$(JOBS) --target $(TSAN_TARGETS)
	@cd $(TSAN_DIR) && $(TSAN_ENV) ctest --output-on-failure --timeout 300 -j$(JOBS) -L threaded

bench: build
	@./tools/bench/registration.sh $(BUILD_DIR)
	@./tools/bench/resolution.sh $(BUILD_DIR)
	@./tools/bench/stats_overhead.sh $(BUILD_DIR)

# idnode, Knot DNS and NSD (Debian's knot and nsd, when installed) under the same idbench load.
bench-compare: build
	@./tools/bench/dns_compare.sh $(BUILD_DIR)

# Longer coverage-guided runs of every libFuzzer target (built with clang by `make build`); new
# inputs go to $(BUILD_DIR)/tests/fuzz/libfuzzer-corpus, crashes to the working directory.
FUZZ_SECONDS ?= 60
fuzz: build
	@for t in fuzz_resolution_request fuzz_site_info fuzz_reply fuzz_query; do \
	  $(BUILD_DIR)/tests/fuzz/libfuzzer/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    $(BUILD_DIR)/tests/fuzz/libfuzzer-corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

format:
	@git ls-files '*.cc' '*.h' | xargs clang-format -i

clean:
	@rm -rf build
