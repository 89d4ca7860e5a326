// Join and updating-aggregate benchmarks: the operators driven directly with in-memory batches
// (keys already hash-partitioned, as after a keyed edge), one thread.

#include <benchmark/benchmark.h>

#include <fstream>
#include <random>

#include "batch/column_builder.h"
#include "bench_util.h"
#include "exec/join.h"
#include "exec/updating_aggregate.h"
#include "expr/aggregate.h"

namespace sluice {
namespace {

using bench::Call;
using bench::CountingCollector;

using batch::Batch;
using batch::BatchPtr;
using batch::ColumnBuilder;

constexpr int64_t kRows = 4096;

types::SchemaPtr JoinInputSchema() {
  return std::make_shared<types::Schema>(std::vector<types::Field>{
      {"k", types::Int64(), true}, {"v", types::Int64(), true}, {"end", types::Timestamp(), true}});
}

// Batches of (k, v, window end) with event times advancing `micros_per_row`; keys uniform
// over [0, keys).
std::vector<BatchPtr> JoinBatches(int count, int64_t keys, int64_t micros_per_row, int64_t window,
                                  uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<BatchPtr> out;
  int64_t t = 0;
  for (int b = 0; b < count; ++b) {
    ColumnBuilder k(types::Int64()), v(types::Int64()), end(types::Timestamp()),
        et(types::Timestamp());
    for (int64_t i = 0; i < kRows; ++i) {
      k.AppendFixed<int64_t>(static_cast<int64_t>(rng() % static_cast<uint64_t>(keys)));
      v.AppendFixed<int64_t>(static_cast<int64_t>(rng() % 1000));
      end.AppendFixed<int64_t>(window > 0 ? (t / window + 1) * window : 0);
      et.AppendFixed<int64_t>(t);
      t += micros_per_row;
    }
    auto batch = std::make_shared<Batch>();
    batch->schema = JoinInputSchema();
    batch->columns = {k.Finish(), v.Finish(), end.Finish()};
    batch->event_time = et.Finish();
    batch->num_rows = kRows;
    out.push_back(batch);
  }
  return out;
}

exec::JoinSpec Spec(std::vector<int> keys) {
  exec::JoinSpec spec;
  spec.left_schema = spec.right_schema = JoinInputSchema();
  spec.left_keys = spec.right_keys = std::move(keys);
  const auto input = JoinInputSchema();
  std::vector<types::Field> f = input->fields();
  for (const auto& x : input->fields()) f.push_back(x);
  spec.output_schema = std::make_shared<types::Schema>(f);
  return spec;
}

// Drives a two-input operator: a left batch, a right batch, then a watermark.
void RunJoin(benchmark::State& state, const runtime::OperatorFactory& factory,
             const std::vector<BatchPtr>& left, const std::vector<BatchPtr>& right) {
  int64_t rows = 0, out_rows = 0;
  for (auto _ : state) {
    auto op = factory.Create(0, 1).MoveValue();
    runtime::OperatorContext ctx;
    runtime::OperatorMetrics metrics;
    ctx.metrics = &metrics;
    (void)op->Open(ctx);
    CountingCollector out;
    for (size_t i = 0; i < left.size(); ++i) {
      Status st = op->ProcessBatch(0, left[i], out);
      if (st.ok()) st = op->ProcessBatch(1, right[i], out);
      if (st.ok()) {
        int64_t last = left[i]->event_time->raw<int64_t>()[left[i]->num_rows - 1];
        st = op->ProcessWatermark(Watermark{EventTime{last}}, out);
      }
      if (!st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        return;
      }
      rows += left[i]->num_rows + right[i]->num_rows;
    }
    out_rows += out.rows;
  }
  state.SetItemsProcessed(rows);
  state.counters["out_rows"] =
      static_cast<double>(out_rows) / static_cast<double>(state.iterations());
}

// Windowed inner join, TUMBLE(10 s): each side has 100 000 rows per window over 100 000 keys
// (10 µs of event time per row), so a window joins ~100 000 pairs.
void BM_WindowJoinTumble10s(benchmark::State& state) {
  constexpr int64_t kWindow = 10'000'000;
  static const auto left = JoinBatches(245, 100000, 100, kWindow, 1);
  static const auto right = JoinBatches(245, 100000, 100, kWindow, 2);
  exec::WindowJoinFactory f(Spec({0, 2}), 1);
  RunJoin(state, f, left, right);
}
BENCHMARK(BM_WindowJoinTumble10s)->Unit(benchmark::kMillisecond);

int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * 4096;
}

// Updating inner join: 1 M rows per side over 100 000 keys, all kept (updating_ttl longer than
// the run). Reports the resident memory the state takes per kept row and per key.
void BM_UpdatingJoinState(benchmark::State& state) {
  static const auto left = JoinBatches(245, 100000, 10, 0, 3);
  static const auto right = JoinBatches(245, 100000, 10, 0, 4);
  auto f = exec::HashJoinFactory::Updating(Spec({0}), int64_t{24} * 3600 * 1000000);
  double per_row = 0, per_key = 0;
  for (auto _ : state) {
    int64_t before = ResidentBytes();
    auto op = f->Create(0, 1).MoveValue();
    CountingCollector out;
    // Only the left side: state grows without producing output.
    for (const auto& b : left) (void)op->ProcessBatch(0, b, out);
    int64_t grown = ResidentBytes() - before;
    per_row = static_cast<double>(grown) / static_cast<double>(left.size() * kRows);
    per_key = static_cast<double>(grown) / 100000.0;
    benchmark::DoNotOptimize(op);
  }
  state.counters["state_bytes_per_row"] = per_row;
  state.counters["state_bytes_per_key"] = per_key;
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(left.size()) * kRows);
}
BENCHMARK(BM_UpdatingJoinState)->Iterations(1)->Unit(benchmark::kMillisecond);

// Updating inner join on an unbounded stream with a steady key set (100 000 keys):
// updating_ttl of 1 s of event time (100 000 rows per side kept), 10 M rows per side. Resident
// memory after a fifth of the run and at the end: flat when expired rows are reclaimed.
void BM_UpdatingJoinTtlSteadyState(benchmark::State& state) {
  static const auto left = JoinBatches(245, 100000, 10, 0, 5);
  static const auto right = JoinBatches(245, 100000, 10, 0, 6);
  auto f = exec::HashJoinFactory::Updating(Spec({0}), 1'000'000);
  double quarter = 0, end = 0;
  int64_t rows = 0;
  for (auto _ : state) {
    auto op = f->Create(0, 1).MoveValue();
    CountingCollector out;
    const int64_t span = 245 * kRows * 10;  // event time covered by one pass of the batches
    for (int pass = 0; pass < 10; ++pass) {
      for (size_t i = 0; i < left.size(); ++i) {
        // Shift event times pass by pass, so time keeps advancing.
        auto shift = [&](const BatchPtr& b) {
          auto copy = std::make_shared<Batch>(*b);
          ColumnBuilder et(types::Timestamp());
          const int64_t* t = b->event_time->raw<int64_t>();
          for (int64_t r = 0; r < b->num_rows; ++r) et.AppendFixed<int64_t>(t[r] + pass * span);
          copy->event_time = et.Finish();
          return BatchPtr(copy);
        };
        BatchPtr l = shift(left[i]), r = shift(right[i]);
        (void)op->ProcessBatch(0, l, out);
        (void)op->ProcessBatch(1, r, out);
        int64_t last = l->event_time->raw<int64_t>()[l->num_rows - 1];
        (void)op->ProcessWatermark(Watermark{EventTime{last}}, out);
        rows += 2 * kRows;
      }
      if (pass == 1) quarter = static_cast<double>(ResidentBytes());
    }
    end = static_cast<double>(ResidentBytes());
    benchmark::DoNotOptimize(out.rows);
  }
  state.counters["rss_mb_at_20pct"] = quarter / 1e6;
  state.counters["rss_mb_at_end"] = end / 1e6;
  state.SetItemsProcessed(rows);
}
BENCHMARK(BM_UpdatingJoinTtlSteadyState)->Iterations(1)->Unit(benchmark::kMillisecond);

// Updating count(*) and sum(v) by key over 1 M keys (uniform), flushed every second.
void BM_UpdatingCountSum1MKeys(benchmark::State& state) {
  static const auto batches = JoinBatches(1000, 1000000, 10, 0, 7);
  std::vector<exec::AggregateCall> calls = {Call("count", {}), Call("sum", {1})};
  auto schema = std::make_shared<types::Schema>(std::vector<types::Field>{
      {"k", types::Int64(), true}, {"n", types::Int64(), true}, {"s", types::Int64(), true}});
  exec::UpdatingAggregateFactory f({types::Int64()}, calls, schema, 1'000'000,
                                   int64_t{24} * 3600 * 1000000);
  int64_t rows = 0, out_rows = 0;
  for (auto _ : state) {
    auto op = f.Create(0, 1).MoveValue();
    runtime::OperatorContext ctx;
    runtime::OperatorMetrics metrics;
    ctx.metrics = &metrics;
    (void)op->Open(ctx);
    CountingCollector out;
    for (const auto& b : batches) {
      Status st = op->ProcessBatch(0, b, out);
      if (!st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        return;
      }
      rows += b->num_rows;
    }
    (void)op->OnEndOfInput(out);
    out_rows += out.rows;
  }
  state.SetItemsProcessed(rows);
  state.counters["out_rows"] =
      static_cast<double>(out_rows) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_UpdatingCountSum1MKeys)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice
