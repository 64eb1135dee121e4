# The README's two Quick start commands are `make run` and `make test`. Both install what is
# missing (Debian packages, scripts/install-deps.sh) before building.
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc)

.PHONY: deps build run test fuzz-smoke bench soak clean

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

# The product on the bundled examples: the short assessment table of the example models, then a
# fresh demo workspace (build/demo-workspace.db) holding them, an example statement of compliance
# and a signed checkpoint, served with its dashboard on 127.0.0.1:$(PORT) until Ctrl-C.
PORT ?= 8080
DEMO := sqlite:build/demo-workspace.db
run: build
	@build/flopline assess examples/models/*.toml --as-of 2026-11-23
	@echo
	@rm -f build/demo-workspace.db build/demo-workspace.db-* build/demo-workspace.db.key
	@build/flopline workspace import --store $(DEMO) --origin example.com/flopline-demo examples/models/*.toml
	@build/flopline ledger append --store $(DEMO) --kind statement-of-compliance \
	  --file examples/evidence/statement-of-compliance.json --model acme-f1 --redact board_minutes=confidential-information >/dev/null
	@build/flopline ledger checkpoint --store $(DEMO) >/dev/null
	@printf 'flopline-demo-password\n' | build/flopline user add --store $(DEMO) --name demo --role developer-admin >/dev/null
	@echo "demo login: demo / flopline-demo-password (developer-admin); Ctrl-C stops the server"
	@exec build/flopline serve --store $(DEMO) --listen 127.0.0.1:$(PORT)

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

# The long soaks, outside `make test` (which runs a short version of each): the ledger's 1,000
# SIGKILL rounds per backend, PostgreSQL server kills, a full disk and a read-only file system
# (scripts/soak-ledger.sh, docs/reliability.md). Optimised build: rounds, not instrumentation.
soak: build
	@scripts/soak-ledger.sh build
	@bash tests/cli/killswitch_chaos_test.sh build/flopline 8

bench: build
	@build/bench/compute_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
	@build/bench/forecast_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
	@build/bench/rules_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
	@FLOPLINE_PG_CONNINFO="$$(scripts/pg-test-server.sh start build/pg-bench 55441)" \
	  build/bench/ledger_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true; \
	  status=$$?; scripts/pg-test-server.sh stop build/pg-bench; exit $$status
	@build/bench/killswitch_bench build/flopline 10,100,1000 20,10,3
	@build/tests/killswitch_fleet build/flopline --agents 1000,9000 --rounds 5 --etcd --controller-threads 1,2

clean:
	rm -rf build build-asan build-debug build-fuzz
