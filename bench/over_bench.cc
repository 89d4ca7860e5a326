// Window functions over rows: the over_window operator driven directly with in-memory batches
// (keys already hash-partitioned, as after a keyed edge), one thread. 10 000 distinct keys;
// event time advances 10 µs per row, and a watermark follows every batch of 4096 rows.

#include <benchmark/benchmark.h>

#include <random>

#include "batch/column_builder.h"
#include "bench_util.h"
#include "exec/over_window.h"

namespace sluice {
namespace {

using batch::Batch;
using batch::BatchPtr;
using batch::ColumnBuilder;

constexpr int64_t kRows = 4096;
constexpr int64_t kKeys = 10000;

// Batches of (key BIGINT, value BIGINT) with increasing event times.
std::vector<BatchPtr> MakeBatches(int count) {
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
      t += 10;
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

exec::OverSpec Spec(std::vector<exec::OverCall> calls) {
  exec::OverSpec spec;
  spec.partition = {0};
  std::vector<types::Field> f = {{"k", types::Int64(), true}, {"v", types::Int64(), true}};
  for (size_t i = 0; i < calls.size(); ++i)
    f.push_back({"r" + std::to_string(i), calls[i].type, true});
  spec.output_schema = std::make_shared<types::Schema>(f);
  spec.calls = std::move(calls);
  return spec;
}

void RunOver(benchmark::State& state, const exec::OverSpec& spec) {
  static const auto batches = MakeBatches(256);  // 1 M rows, ~100 per key
  exec::OverWindowFactory factory(spec);
  int64_t rows = 0, out_rows = 0;
  for (auto _ : state) {
    auto op = factory.Create(0, 1).MoveValue();
    runtime::OperatorContext ctx;
    runtime::OperatorMetrics metrics;
    ctx.metrics = &metrics;
    (void)op->Open(ctx);
    bench::CountingCollector out;
    for (const auto& b : batches) {
      Status st = op->ProcessBatch(0, b, out);
      if (st.ok()) {
        int64_t last = b->event_time->raw<int64_t>()[b->num_rows - 1];
        st = op->ProcessWatermark(Watermark{EventTime{last + 1}}, out);
      }
      if (!st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        return;
      }
      rows += b->num_rows;
    }
    out_rows += out.rows;
  }
  state.SetItemsProcessed(rows);
  state.counters["out_rows"] =
      static_cast<double>(out_rows) / static_cast<double>(state.iterations());
}

exec::OverCall Call(exec::OverFunction f, types::DataType type, exec::OverFrame frame = {}) {
  exec::OverCall c;
  c.function = f;
  c.argument = 1;
  c.type = type;
  c.frame = frame;
  return c;
}

// avg(v) OVER (PARTITION BY k ORDER BY ts ROWS BETWEEN 10 PRECEDING AND CURRENT ROW)
void BM_OverAvgRows10(benchmark::State& state) {
  exec::OverFrame f;
  f.rows = true;
  f.start = -10;
  RunOver(state, Spec({Call(exec::OverFunction::kAvg, types::Float64(), f)}));
}
BENCHMARK(BM_OverAvgRows10)->Unit(benchmark::kMillisecond);

// sum(v), min(v) OVER (... RANGE BETWEEN INTERVAL '1' SECOND PRECEDING AND CURRENT ROW)
void BM_OverSumMinRange1s(benchmark::State& state) {
  exec::OverFrame f;
  f.start = -1'000'000;
  RunOver(state, Spec({Call(exec::OverFunction::kSum, types::Int64(), f),
                       Call(exec::OverFunction::kMin, types::Int64(), f)}));
}
BENCHMARK(BM_OverSumMinRange1s)->Unit(benchmark::kMillisecond);

// count(*), sum(v) OVER (PARTITION BY k ORDER BY ts): running aggregates (UNBOUNDED PRECEDING)
void BM_OverRunningSum(benchmark::State& state) {
  exec::OverFrame f;
  f.unbounded_start = true;
  auto count = Call(exec::OverFunction::kCountStar, types::Int64(), f);
  count.argument = -1;
  RunOver(state, Spec({count, Call(exec::OverFunction::kSum, types::Int64(), f)}));
}
BENCHMARK(BM_OverRunningSum)->Unit(benchmark::kMillisecond);

// lag(v) and lead(v) (the lead waits for the next row of its key)
void BM_OverLagLead(benchmark::State& state) {
  auto lag = Call(exec::OverFunction::kLag, types::Int64());
  lag.default_value = 1;
  auto lead = Call(exec::OverFunction::kLead, types::Int64());
  lead.default_value = 1;
  RunOver(state, Spec({lag, lead}));
}
BENCHMARK(BM_OverLagLead)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice
