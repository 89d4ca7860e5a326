// Window aggregation benchmarks: the window operators driven directly with in-memory batches
// (keys already hash-partitioned, as after a keyed edge), one thread. 10 000 distinct keys;
// event time advances 10 µs per row (100 000 rows per second of event time), and a watermark
// follows every batch.

#include <benchmark/benchmark.h>

#include <random>

#include "batch/column_builder.h"
#include "bench_util.h"
#include "exec/session_aggregate.h"
#include "exec/window_aggregate.h"
#include "expr/aggregate.h"

namespace sluice {
namespace {

using bench::Call;
using bench::CountingCollector;

using batch::Batch;
using batch::BatchPtr;
using batch::ColumnBuilder;

constexpr int64_t kRows = 4096;
constexpr int64_t kKeys = 10000;
constexpr int64_t kMicrosPerRow = 10;

// Batches of (key BIGINT, value BIGINT) with increasing event times.
std::vector<BatchPtr> MakeBatches(int count, int64_t micros_per_row = kMicrosPerRow) {
  std::mt19937_64 rng(11);
  std::vector<BatchPtr> out;
  auto schema = std::make_shared<types::Schema>(
      std::vector<types::Field>{{"k", types::Int64(), true}, {"v", types::Int64(), true}});
  int64_t t = 0;
  for (int b = 0; b < count; ++b) {
    ColumnBuilder k(types::Int64()), v(types::Int64()), et(types::Timestamp());
    for (int64_t i = 0; i < kRows; ++i) {
      k.AppendFixed<int64_t>(static_cast<int64_t>(rng() % kKeys));
      v.AppendFixed<int64_t>(static_cast<int64_t>(rng() % 1000));
      et.AppendFixed<int64_t>(t);
      t += micros_per_row;
    }
    auto batch = std::make_shared<Batch>();
    batch->schema = schema;
    batch->columns = {k.Finish(), v.Finish()};
    batch->event_time = et.Finish();
    batch->num_rows = kRows;
    out.push_back(batch);
  }
  return out;
}

void RunWindow(benchmark::State& state, const runtime::OperatorFactory& factory,
               const std::vector<BatchPtr>* input = nullptr) {
  // Enough batches to close many windows: 256 batches = ~10.5 s of event time.
  static const auto default_batches = MakeBatches(256);
  const auto& batches = input ? *input : default_batches;
  int64_t rows = 0;
  int64_t out_rows = 0;
  for (auto _ : state) {
    auto op = factory.Create(0, 1).MoveValue();
    runtime::OperatorContext ctx;
    runtime::OperatorMetrics metrics;
    ctx.metrics = &metrics;
    (void)op->Open(ctx);
    CountingCollector out;
    for (const auto& b : batches) {
      Status st = op->ProcessBatch(0, b, out);
      if (st.ok()) {
        int64_t last = b->event_time->raw<int64_t>()[b->num_rows - 1];
        st = op->ProcessWatermark(Watermark{EventTime{last}}, out);
      }
      if (!st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        return;
      }
      rows += b->num_rows;
    }
    // Steady state: the windows still open at the end are not flushed (a hop of one hour would
    // otherwise emit 3600 windows of every key at once, which no unbounded stream does).
    out_rows += out.rows;
  }
  state.SetItemsProcessed(rows);
  state.counters["out_rows"] =
      static_cast<double>(out_rows) / static_cast<double>(state.iterations());
}

std::vector<exec::AggregateCall> CountSumMax() {
  return {Call("count", {}), Call("sum", {1}), Call("max", {1})};
}

types::SchemaPtr OutSchema(const std::vector<exec::AggregateCall>& calls) {
  std::vector<types::Field> f = {{"window", exec::WindowStructType(), true},
                                 {"k", types::Int64(), true}};
  for (const auto& c : calls) f.push_back({c.display, c.aggregate.return_type, true});
  return std::make_shared<types::Schema>(f);
}

void BM_TumbleCountSumMax(benchmark::State& state) {
  exec::WindowSpec w;
  w.kind = exec::WindowSpec::Kind::kTumble;
  w.width = 60'000'000;  // 1 minute
  auto calls = CountSumMax();
  exec::WindowAggregateFactory f(w, {types::Int64()}, calls, OutSchema(calls));
  RunWindow(state, f);
}
BENCHMARK(BM_TumbleCountSumMax)->Unit(benchmark::kMillisecond);

void BM_Hop(benchmark::State& state) {
  exec::WindowSpec w;
  w.kind = exec::WindowSpec::Kind::kHop;
  w.slide = 1'000'000;  // 1 second
  w.width = state.range(0) * 1'000'000;
  auto calls = CountSumMax();
  exec::WindowAggregateFactory f(w, {types::Int64()}, calls, OutSchema(calls));
  RunWindow(state, f);
}
BENCHMARK(BM_Hop)->Arg(60)->Arg(3600)->Unit(benchmark::kMillisecond);

// Sliding windows over invertible aggregates only: the running window adds and subtracts panes.
void BM_HopCountSum(benchmark::State& state) {
  exec::WindowSpec w;
  w.kind = exec::WindowSpec::Kind::kHop;
  w.slide = 1'000'000;
  w.width = state.range(0) * 1'000'000;
  std::vector<exec::AggregateCall> calls = {Call("count", {}), Call("sum", {1})};
  exec::WindowAggregateFactory f(w, {types::Int64()}, calls, OutSchema(calls));
  RunWindow(state, f);
}
BENCHMARK(BM_HopCountSum)->Arg(60)->Arg(3600)->Unit(benchmark::kMillisecond);

// HOP(1 s, 1 h) in steady state: 2000 rows per second of event time over two hours, so the
// windows that close have all 3600 panes (14.7 M rows, one iteration).
void BM_HopHourCountSum(benchmark::State& state) {
  static const auto batches = MakeBatches(3600, 500);
  exec::WindowSpec w;
  w.kind = exec::WindowSpec::Kind::kHop;
  w.slide = 1'000'000;
  w.width = 3600'000'000;
  std::vector<exec::AggregateCall> calls = {Call("count", {}), Call("sum", {1})};
  exec::WindowAggregateFactory f(w, {types::Int64()}, calls, OutSchema(calls));
  RunWindow(state, f, &batches);
}
BENCHMARK(BM_HopHourCountSum)->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_Session(benchmark::State& state) {
  exec::WindowSpec w;
  w.kind = exec::WindowSpec::Kind::kSession;
  w.gap = 30'000'000;
  auto calls = CountSumMax();
  exec::SessionAggregateFactory f(w, {types::Int64()}, calls, OutSchema(calls));
  RunWindow(state, f);
}
BENCHMARK(BM_Session)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice
