// Parquet and JSON file formats: full Nexmark-bid-shaped rows (auction, bidder, price,
// channel, url, date_time, extra) encoded into a file's bytes (kept in memory, so the disk is
// not measured) and decoded back, one thread. Items are rows; bytes are the encoded bytes.
// Parquet through Arrow C++ (formats/parquet), each codec; JSON through the json encoder, for
// comparison in the same run. docs/performance.md has the numbers.

#include <benchmark/benchmark.h>

#include <unistd.h>
#include <cstdio>
#include <random>

#include "batch/column_builder.h"
#include "formats/format.h"
#include "formats/parquet/parquet_reader.h"
#include "formats/parquet/parquet_writer.h"

namespace sluice {
namespace {

using batch::Batch;
using batch::BatchPtr;
using batch::ColumnBuilder;

constexpr int64_t kRows = 4096;
constexpr int kBatches = 64;  // 262144 rows per file

types::SchemaPtr FullBidSchema() {
  return std::make_shared<types::Schema>(
      std::vector<types::Field>{{"auction", types::Int64(), true},
                                {"bidder", types::Int64(), true},
                                {"price", types::Int64(), true},
                                {"channel", types::Utf8(), true},
                                {"url", types::Utf8(), true},
                                {"date_time", types::Timestamp(), true},
                                {"extra", types::Utf8(), true}});
}

std::vector<BatchPtr> MakeFullBids(uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<BatchPtr> out;
  const char* channels[] = {"Google", "Facebook", "Baidu", "Apple"};
  int64_t t = 1436918400000000;
  for (int n = 0; n < kBatches; ++n) {
    ColumnBuilder a(types::Int64()), b(types::Int64()), p(types::Int64()), c(types::Utf8()),
        u(types::Utf8()), ts(types::Timestamp()), x(types::Utf8()), et(types::Timestamp());
    for (int64_t i = 0; i < kRows; ++i) {
      a.AppendFixed<int64_t>(1000 + static_cast<int64_t>(rng() % 1000));
      b.AppendFixed<int64_t>(1000 + static_cast<int64_t>(rng() % 5000));
      p.AppendFixed<int64_t>(static_cast<int64_t>(rng() % 100000));
      int ch = static_cast<int>(rng() % 4);
      c.AppendString(channels[ch]);
      char url[80];
      std::snprintf(url, sizeof(url), "https://www.nexmark.com/%s/item.htm?query=1&channel_id=%d",
                    channels[ch], static_cast<int>(rng() % 10000));
      u.AppendString(url);
      t += 100;
      ts.AppendFixed<int64_t>(t);
      et.AppendFixed<int64_t>(t);
      x.AppendString("");
    }
    auto batch = std::make_shared<Batch>();
    batch->schema = FullBidSchema();
    batch->columns = {a.Finish(), b.Finish(),  p.Finish(), c.Finish(),
                      u.Finish(), ts.Finish(), x.Finish()};
    batch->event_time = et.Finish();
    batch->num_rows = kRows;
    out.push_back(batch);
  }
  return out;
}

class StringSink : public formats::ByteSink {
 public:
  Status Append(std::string_view bytes) override {
    out.append(bytes);
    return Status::Ok();
  }
  std::string out;
};

void BM_ParquetWrite(benchmark::State& state) {
  auto batches = MakeFullBids(1);
  formats::ParquetOptions options;
  options.compression = static_cast<formats::ParquetCompression>(state.range(0));
  int64_t bytes = 0;
  for (auto _ : state) {
    StringSink sink;
    sink.out.reserve(64 << 20);
    auto writer = formats::ParquetWriter::Make(*batches[0]->schema, options, &sink).MoveValue();
    for (const auto& b : batches) {
      if (!writer->Write(*b).ok()) state.SkipWithError("write failed");
    }
    if (!writer->Close().ok()) state.SkipWithError("close failed");
    bytes = static_cast<int64_t>(sink.out.size());
    benchmark::DoNotOptimize(sink.out.data());
  }
  state.SetItemsProcessed(state.iterations() * kRows * kBatches);
  state.counters["file_bytes"] = static_cast<double>(bytes);
  state.SetLabel(formats::ParquetCompressionName(options.compression));
}
BENCHMARK(BM_ParquetWrite)
    ->Arg(static_cast<int>(formats::ParquetCompression::kZstd))
    ->Arg(static_cast<int>(formats::ParquetCompression::kSnappy))
    ->Arg(static_cast<int>(formats::ParquetCompression::kLz4))
    ->Arg(static_cast<int>(formats::ParquetCompression::kGzip))
    ->Arg(static_cast<int>(formats::ParquetCompression::kNone))
    ->Unit(benchmark::kMillisecond);

void BM_JsonWrite(benchmark::State& state) {
  auto batches = MakeFullBids(1);
  formats::FormatOptions options;
  options.format = "json";
  auto encoder = formats::MakeEncoder(options, *batches[0]->schema).MoveValue();
  std::string out;
  for (auto _ : state) {
    out.clear();
    for (const auto& b : batches) {
      if (!encoder->Encode(*b, &out).ok()) state.SkipWithError("encode failed");
    }
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kRows * kBatches);
  state.counters["file_bytes"] = static_cast<double>(out.size());
}
BENCHMARK(BM_JsonWrite)->Unit(benchmark::kMillisecond);

void BM_ParquetRead(benchmark::State& state) {
  auto batches = MakeFullBids(1);
  formats::ParquetOptions options;
  options.compression = static_cast<formats::ParquetCompression>(state.range(0));
  StringSink sink;
  auto writer = formats::ParquetWriter::Make(*batches[0]->schema, options, &sink).MoveValue();
  for (const auto& b : batches) (void)writer->Write(*b);
  (void)writer->Close();
  auto bytes = std::make_shared<const std::string>(std::move(sink.out));
  for (auto _ : state) {
    auto reader =
        formats::ParquetReader::Open("bench.parquet", bytes, *batches[0]->schema, kRows, 0)
            .MoveValue();
    int64_t rows = 0;
    while (true) {
      auto b = reader->Next().MoveValue();
      if (!b) break;
      rows += b->num_rows;
    }
    if (rows != kRows * kBatches) state.SkipWithError("wrong row count");
  }
  state.SetItemsProcessed(state.iterations() * kRows * kBatches);
  state.SetLabel(formats::ParquetCompressionName(options.compression));
}
BENCHMARK(BM_ParquetRead)
    ->Arg(static_cast<int>(formats::ParquetCompression::kZstd))
    ->Arg(static_cast<int>(formats::ParquetCompression::kSnappy))
    ->Arg(static_cast<int>(formats::ParquetCompression::kNone))
    ->Unit(benchmark::kMillisecond);

void BM_JsonRead(benchmark::State& state) {
  auto batches = MakeFullBids(1);
  formats::FormatOptions options;
  options.format = "json";
  auto encoder = formats::MakeEncoder(options, *batches[0]->schema).MoveValue();
  std::string text;
  for (const auto& b : batches) (void)encoder->Encode(*b, &text);
  text.append(formats::kLinePadding, '\0');
  for (auto _ : state) {
    auto decoder = formats::MakeDecoder(options, *batches[0]->schema, "bench").MoveValue();
    size_t pos = 0;
    int64_t rows = 0, line = 0;
    const size_t end = text.size() - formats::kLinePadding;
    while (pos < end) {
      size_t nl = text.find('\n', pos);
      if (!decoder->AppendLine(std::string_view(text).substr(pos, nl - pos), ++line).ok()) {
        state.SkipWithError("decode failed");
      }
      pos = nl + 1;
      if (decoder->pending_rows() == kRows) {
        rows += kRows;
        benchmark::DoNotOptimize(decoder->Flush());
      }
    }
    rows += decoder->pending_rows();
    benchmark::DoNotOptimize(decoder->Flush());
    if (rows != kRows * kBatches) state.SkipWithError("wrong row count");
  }
  state.SetItemsProcessed(state.iterations() * kRows * kBatches);
}
BENCHMARK(BM_JsonRead)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace sluice
