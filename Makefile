# The README's two Quick start commands are `make run` and `make test`. Both install what is
# missing (Debian packages, scripts/install-deps.sh) before building.
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc)

.PHONY: deps build run test fuzz-smoke bench clean

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

# The main job on the bundled examples: judge the example models under every regime (the summary
# table, then one model's clause-by-clause trace, for the reading-dependent case), record them
# and an example statement of compliance in a fresh evidence log (build/example-evidence.db),
# sign a checkpoint and verify it, then estimate the example training runs.
run: build
	@build/flopline assess examples/models/*.toml --as-of 2026-11-23 --explain=acme-f1-chat
	@echo
	@rm -f build/example-evidence.db*
	@build/flopline ledger init --store sqlite:build/example-evidence.db --origin example.com/flopline-demo
	@build/flopline import examples/models/*.toml --store sqlite:build/example-evidence.db
	@build/flopline ledger append --store sqlite:build/example-evidence.db --kind statement-of-compliance \
	  --file examples/evidence/statement-of-compliance.json --model acme-f1 --redact board_minutes=confidential-information
	@build/flopline ledger checkpoint --store sqlite:build/example-evidence.db
	@build/flopline ledger verify --store sqlite:build/example-evidence.db
	@echo
	@build/flopline flops --runs examples/runs.toml
	@echo
	@build/flopline flops --config examples/configs/llama-2-7b-chat.json --tokens 2e12 \
	  --accelerator A100-SXM4-80GB --count 1 --hours 184320 --start 2023-01-01

# Every test, under AddressSanitizer + UBSan, then a short libFuzzer run of every parser.
test: deps
	@cmake --preset asan >/dev/null
	@cmake --build --preset asan -j $(JOBS)
	@ctest --preset asan -j $(JOBS)
	@$(MAKE) --no-print-directory fuzz-smoke

fuzz-smoke:
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz -j $(JOBS)
	@scripts/fuzz-smoke.sh build-fuzz

bench: build
	@build/bench/compute_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
	@build/bench/forecast_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
	@build/bench/rules_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
	@FLOPLINE_PG_CONNINFO="$$(scripts/pg-test-server.sh start build/pg-bench 55441)" \
	  build/bench/ledger_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true; \
	  status=$$?; scripts/pg-test-server.sh stop build/pg-bench; exit $$status
	@build/bench/killswitch_bench build/flopline 10,100,1000 20,10,3

clean:
	rm -rf build build-asan build-debug build-fuzz
