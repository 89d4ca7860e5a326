# Front end for the CMake build. `make run` and `make test` set up what they need.
BUILD ?= build
JOBS ?= $(shell nproc)
PARALLELISM ?= 2

.PHONY: all deps release debug sanitize run run-cli test test-unit test-sql test-sanitize fuzz-sql bench \
	test-kafka-crash test-dist-soak \
	bench-nexmark bench-nexmark-kafka bench-kafka bench-service bench-deps format tidy clean

all: release

deps: .deps-stamp
.deps-stamp: scripts/install-deps scripts/install-python-deps scripts/install-arrow
	bash scripts/install-deps
	@touch $@

$(BUILD)/release/build.ninja: | deps
	cmake -S . -B $(BUILD)/release -G Ninja -DCMAKE_BUILD_TYPE=Release

$(BUILD)/debug/build.ninja: | deps
	cmake -S . -B $(BUILD)/debug -G Ninja -DCMAKE_BUILD_TYPE=Debug

$(BUILD)/sanitize/build.ninja: | deps
	cmake -S . -B $(BUILD)/sanitize -G Ninja -DCMAKE_BUILD_TYPE=Sanitize -DSLUICE_BUILD_BENCH=OFF

release: $(BUILD)/release/build.ninja
	cmake --build $(BUILD)/release -j $(JOBS)

debug: $(BUILD)/debug/build.ninja
	cmake --build $(BUILD)/debug -j $(JOBS)

sanitize: $(BUILD)/sanitize/build.ninja
	cmake --build $(BUILD)/sanitize -j $(JOBS)

# The demo: an impulse generator through projections and filters to the terminal. Ctrl-C stops.
# `sluice serve` (the web console and the REST API on 127.0.0.1:5115) with the demo pipeline
# running; it prints the console's URL and a curl line that reads the demo's live rows. Ctrl-C
# stops it cleanly (the demo resumes at the next `make run`). `make run-cli` streams the same
# query to the terminal with `sluice run`.
SERVE_LISTEN ?= 127.0.0.1:5115
run: release
	$(BUILD)/release/sluice serve --listen $(SERVE_LISTEN) --data-dir $(BUILD)/sluice-data \
	  --parallelism $(PARALLELISM) --demo examples/demo.sql

run-cli: release
	$(BUILD)/release/sluice run examples/demo.sql --parallelism $(PARALLELISM)

# ctest runs two entries at a time: most suites wait on servers and processes, and the shared
# fixtures (one Kafka broker, one PostgreSQL, ...) order themselves; entries that restart a
# shared server are RUN_SERIAL. TEST_JOBS=1 runs them one by one.
TEST_JOBS ?= 2
test: release
	cd $(BUILD)/release && ctest --output-on-failure -j$(TEST_JOBS)

test-unit: release
	cd $(BUILD)/release && ctest --output-on-failure -R unit_

test-sql: release
	$(BUILD)/release/sqllogictest tests/sql

# LeakSanitizer skips only the third-party runtimes listed in tests/lsan.supp.
test-sanitize: sanitize
	cd $(BUILD)/sanitize && \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	  ctest --output-on-failure

# Kafka crash soak: 20 crashes per pipeline kind (windowed, updating) of Kafka -> Kafka
# exactly_once pipelines (tests/kafka/crash_test.py; ctest's kafka_crash runs 5), against a broker
# of its own. KAFKA_CRASHES=N for more.
KAFKA_CRASHES ?= 20
# Distributed exactly once under repeated worker loss (tests/dist/kill_rounds.sh): DIST_KILLS kill -9s
# of a random worker per pipeline kind, each replaced; output must equal `sluice run`'s.
DIST_KILLS ?= 20
test-dist-soak: release
	bash tests/dist/kill_rounds.sh $(BUILD)/release/sluice $(DIST_KILLS)

test-kafka-crash: release
	bash -c 'dir=$$(mktemp -d) && trap "scripts/kafka-test-broker stop $$dir; rm -rf $$dir" EXIT && \
	  scripts/kafka-test-broker start $$dir --owner $$$$ >/dev/null && \
	  python3 tests/kafka/crash_test.py $(BUILD)/release/sluice $$dir $(KAFKA_CRASHES)'

# Random SQL queries compared with DuckDB (tests/differential/random_queries_vs_duckdb.py; the
# ctest entry differential_random runs a few hundred with a fixed seed). The seed comes from
# SLUICE_FUZZ_SEED, else the time, and is printed; e.g.
# `make fuzz-sql FUZZ_QUERIES=10000 FUZZ_ARGS="--features +distinct --keep"`.
FUZZ_QUERIES ?= 3000
FUZZ_ARGS ?=
fuzz-sql: release
	$(BUILD)/venv/bin/python tests/differential/random_queries_vs_duckdb.py \
	  $(BUILD)/release/sluice --queries $(FUZZ_QUERIES) $(FUZZ_ARGS)

# Nexmark side by side with Apache Flink (bench/nexmark/run). Small defaults; override with
# e.g. `make bench-nexmark NEXMARK_EVENTS=10000000 NEXMARK_CORES=4`.
NEXMARK_EVENTS ?= 2000000
NEXMARK_CORES ?= 2
NEXMARK_ENGINES ?= sluice,flink
NEXMARK_QUERIES ?= q0,q1,q2,q3,q4,q5,q7,q8,q9,q10,q11,q14,q15,q16,q17,q18,q19,q20,q21,q22
NEXMARK_OUT ?= $(BUILD)/nexmark-results.json

bench: release bench-deps
	$(BUILD)/release/bench/sluice_bench
	bench/nexmark/run --engines $(NEXMARK_ENGINES) --queries $(NEXMARK_QUERIES) \
	  --events $(NEXMARK_EVENTS) --cores $(NEXMARK_CORES) --out $(NEXMARK_OUT)

# The service's API and live-output path (bench/service/api_bench.py; docs/performance.md).
bench-service: release
	python3 bench/service/api_bench.py $(BUILD)/release/sluice

# Apache Flink in build/bench-venv for the Nexmark comparison (large download; not used by CI).
bench-deps:
	bash scripts/install-bench-deps

bench-nexmark: release bench-deps
	bench/nexmark/run --engines $(NEXMARK_ENGINES) --queries $(NEXMARK_QUERIES) \
	  --events $(NEXMARK_EVENTS) --cores $(NEXMARK_CORES) --out $(NEXMARK_OUT)

# Nexmark over a 4-partition Kafka topic, Sluice's Kafka source against Flink's Kafka SQL
# connector (a broker of its own; docs/performance.md "Nexmark over Kafka").
NEXMARK_KAFKA_QUERIES ?= q0,q1,q2,q5,q7,q8
NEXMARK_KAFKA_OUT ?= $(BUILD)/nexmark-kafka-results.json

bench-nexmark-kafka: release bench-deps
	bench/nexmark/run --source kafka --queries $(NEXMARK_KAFKA_QUERIES) \
	  --events $(NEXMARK_EVENTS) --cores $(NEXMARK_CORES) --out $(NEXMARK_KAFKA_OUT)

# The Kafka connector alone: source decoding, sink at_least_once against exactly_once.
bench-kafka: release
	bench/kafka/run

format:
	find src tests bench -name '*.h' -o -name '*.cc' | xargs clang-format -i

tidy: $(BUILD)/release/build.ninja
	find src -name '*.cc' | xargs clang-tidy -p $(BUILD)/release --quiet

clean:
	rm -rf $(BUILD) .deps-stamp
