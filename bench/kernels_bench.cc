// Kernel benchmarks: filter + projection over in-memory batches, hash partitioning, JSON
// decoding. Throughput is reported as items (rows) per second of one thread.

#include <benchmark/benchmark.h>

#include <random>

#include "batch/column_builder.h"
#include "exec/hash_partitioner.h"
#include "exec/project_filter.h"
#include "expr/bound_expr.h"
#include "expr/function.h"
#include "formats/format.h"

namespace sluice {
namespace {

using batch::Batch;
using batch::BatchPtr;
using batch::ColumnBuilder;
using expr::BoundExprPtr;

constexpr int64_t kRows = 4096;

// Bid-shaped rows: auction, bidder, price BIGINT; channel TEXT; date_time TIMESTAMP.
types::SchemaPtr BidSchema() {
  return std::make_shared<types::Schema>(
      std::vector<types::Field>{{"auction", types::Int64(), true},
                                {"bidder", types::Int64(), true},
                                {"price", types::Int64(), true},
                                {"channel", types::Utf8(), true},
                                {"date_time", types::Timestamp(), true}});
}

BatchPtr MakeBids(int64_t rows, uint32_t seed) {
  std::mt19937_64 rng(seed);
  ColumnBuilder a(types::Int64()), b(types::Int64()), p(types::Int64()), c(types::Utf8()),
      t(types::Timestamp()), et(types::Timestamp());
  const char* channels[] = {"apple", "google", "facebook", "baidu"};
  for (int64_t i = 0; i < rows; ++i) {
    a.AppendFixed<int64_t>(1000 + static_cast<int64_t>(rng() % 1000));
    b.AppendFixed<int64_t>(2000 + static_cast<int64_t>(rng() % 5000));
    p.AppendFixed<int64_t>(static_cast<int64_t>(rng() % 10000));
    c.AppendString(channels[rng() % 4]);
    t.AppendFixed<int64_t>(1700000000000000 + i * 1000);
    et.AppendFixed<int64_t>(1700000000000000 + i * 1000);
  }
  auto batch = std::make_shared<Batch>();
  batch->schema = BidSchema();
  batch->columns = {a.Finish(), b.Finish(), p.Finish(), c.Finish(), t.Finish()};
  batch->event_time = et.Finish();
  batch->num_rows = rows;
  return batch;
}

BoundExprPtr Call(const std::string& name, std::vector<BoundExprPtr> args) {
  expr::BindInput in;
  for (const auto& a : args) {
    in.types.push_back(a->type);
    in.constants.push_back(a->IsConstant() ? std::optional<types::Value>(a->literal)
                                           : std::nullopt);
  }
  auto fn = expr::FunctionRegistry::Get().Bind(name, in);
  if (!fn.ok()) std::abort();
  for (size_t i = 0; i < args.size(); ++i) args[i] = expr::MakeCast(args[i], fn->arg_types[i]);
  return expr::MakeCall(std::make_shared<expr::BoundFunction>(fn.MoveValue()), std::move(args));
}

class DiscardCollector : public runtime::Collector {
 public:
  Status Emit(const BatchPtr& b) override {
    rows += b->num_rows;
    return Status::Ok();
  }
  Status EmitWatermark(Watermark) override { return Status::Ok(); }
  int64_t rows = 0;
};

// WHERE price > 5000 (half the rows) SELECT auction, price * 100, channel.
void BM_FilterProject(benchmark::State& state) {
  BatchPtr input = MakeBids(kRows, 42);
  auto price = expr::MakeColumn(2, types::Int64());
  auto pred = Call(">", {price, expr::MakeLiteral(types::Value::Int64(5000))});
  std::vector<BoundExprPtr> proj = {expr::MakeColumn(0, types::Int64()),
                                    Call("*", {price, expr::MakeLiteral(types::Value::Int64(100))}),
                                    expr::MakeColumn(3, types::Utf8())};
  auto out_schema =
      std::make_shared<types::Schema>(std::vector<types::Field>{{"auction", types::Int64(), true},
                                                                {"cents", types::Int64(), true},
                                                                {"channel", types::Utf8(), true}});
  exec::ProjectFilterFactory factory(pred, proj, out_schema);
  auto op = factory.Create(0, 1).MoveValue();
  runtime::OperatorContext ctx;
  (void)op->Open(ctx);
  DiscardCollector out;
  for (auto _ : state) {
    Status st = op->ProcessBatch(0, input, out);
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_FilterProject);

void BM_HashPartition(benchmark::State& state) {
  BatchPtr input = MakeBids(kRows, 7);
  auto partitioner = exec::MakeHashPartitioner({0});
  for (auto _ : state) {
    auto parts = partitioner(input, static_cast<int>(state.range(0)));
    benchmark::DoNotOptimize(parts);
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}
BENCHMARK(BM_HashPartition)->Arg(4)->Arg(16);

// ~200-byte JSON lines shaped like a Nexmark bid (10 fields).
std::vector<std::string> BidLines(int n) {
  std::mt19937_64 rng(3);
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) {
    lines.push_back(
        "{\"auction\":" + std::to_string(1000 + rng() % 1000) + ",\"bidder\":" +
        std::to_string(2000 + rng() % 5000) + ",\"price\":" + std::to_string(rng() % 100000) +
        ",\"channel\":\"channel-" + std::to_string(rng() % 10000) +
        "\",\"url\":\"https://www.nexmark.com/abc/def/item.htm?query=1&channel_id=" +
        std::to_string(rng() % 100000) +
        "\",\"date_time\":\"2023-10-09T17:13:40.200\",\"extra\":\"xyzxyzxyzxyzxyzxyzxyz\","
        "\"bid_id\":" +
        std::to_string(i) + ",\"quantity\":" + std::to_string(rng() % 10) + ",\"valid\":true}");
  }
  return lines;
}

void BM_JsonDecodeBid(benchmark::State& state) {
  auto lines = BidLines(kRows);
  auto schema = types::Schema(std::vector<types::Field>{{"auction", types::Int64(), true},
                                                        {"bidder", types::Int64(), true},
                                                        {"price", types::Int64(), true},
                                                        {"channel", types::Utf8(), true},
                                                        {"url", types::Utf8(), true},
                                                        {"date_time", types::Timestamp(), true},
                                                        {"extra", types::Utf8(), true},
                                                        {"bid_id", types::Int64(), true},
                                                        {"quantity", types::Int32(), true},
                                                        {"valid", types::Bool(), true}});
  formats::FormatOptions options;
  options.format = "json";
  auto decoder = formats::MakeDecoder(options, schema, "bench").MoveValue();
  int64_t bytes = 0;
  for (const auto& l : lines) bytes += static_cast<int64_t>(l.size());
  const std::string position = "line";
  for (auto _ : state) {
    for (const auto& l : lines) {
      Status st = decoder->Append(l, position);
      if (!st.ok()) {
        state.SkipWithError(st.ToString().c_str());
        break;
      }
    }
    benchmark::DoNotOptimize(decoder->Flush());
  }
  state.SetItemsProcessed(state.iterations() * kRows);
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK(BM_JsonDecodeBid);

}  // namespace
}  // namespace sluice

BENCHMARK_MAIN();
