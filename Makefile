# The two commands a newcomer needs: `make run` and `make test`. Both install missing Debian
# packages (deploy/install-deps.sh, idempotent) and build first.

MAKEFLAGS += --no-print-directory

BUILD_DIR ?= build/release
JOBS ?= 2
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release -DIDNODE_WERROR=ON
RUN_FLAGS ?=

.PHONY: all deps configure build run test bench bench-compare fuzz format clean

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
	@cd $(BUILD_DIR) && ctest --output-on-failure -j$(JOBS)

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
