// Decoding and encoding of message-queue records, per format, for the same bid-shaped rows
// (10 fields: ints, strings, a timestamp, a bool): JSON against Avro raw datums and Protobuf
// messages, one record at a time through Decoder::AppendPadded as the Kafka source calls it.

#include <benchmark/benchmark.h>

#include <random>

#include "batch/column_builder.h"
#include "formats/format.h"

namespace sluice {
namespace {

constexpr int kRows = 100000;

const char* kBidAvroSchema = R"({"type":"record","name":"Bid","fields":[
  {"name":"auction","type":"long"},{"name":"bidder","type":"long"},
  {"name":"price","type":"long"},{"name":"channel","type":"string"},
  {"name":"url","type":"string"},
  {"name":"date_time","type":{"type":"long","logicalType":"timestamp-millis"}},
  {"name":"extra","type":"string"},{"name":"bid_id","type":"long"},
  {"name":"quantity","type":"int"},{"name":"valid","type":"boolean"}]})";

const char* kBidProto = R"(syntax = "proto3";
import "google/protobuf/timestamp.proto";
message Bid {
  int64 auction = 1; int64 bidder = 2; int64 price = 3; string channel = 4; string url = 5;
  google.protobuf.Timestamp date_time = 6; string extra = 7; int64 bid_id = 8;
  int32 quantity = 9; bool valid = 10;
})";

types::Schema BidSchema() {
  return types::Schema(std::vector<types::Field>{{"auction", types::Int64(), true},
                                                 {"bidder", types::Int64(), true},
                                                 {"price", types::Int64(), true},
                                                 {"channel", types::Utf8(), true},
                                                 {"url", types::Utf8(), true},
                                                 {"date_time", types::Timestamp(), true},
                                                 {"extra", types::Utf8(), true},
                                                 {"bid_id", types::Int64(), true},
                                                 {"quantity", types::Int32(), true},
                                                 {"valid", types::Bool(), true}});
}

// The rows of BM_JsonDecodeBid (kernels_bench.cc), as a batch.
batch::Batch BidBatch(int rows) {
  std::mt19937_64 rng(42);
  types::Schema schema = BidSchema();
  std::vector<batch::ColumnBuilder> b;
  for (const auto& f : schema.fields()) b.emplace_back(f.type);
  for (int i = 0; i < rows; ++i) {
    b[0].AppendFixed<int64_t>(static_cast<int64_t>(1000 + rng() % 1000));
    b[1].AppendFixed<int64_t>(static_cast<int64_t>(2000 + rng() % 5000));
    b[2].AppendFixed<int64_t>(static_cast<int64_t>(rng() % 100000));
    b[3].AppendString("channel-" + std::to_string(rng() % 10000));
    b[4].AppendString("https://www.nexmark.com/abc/def/item.htm?query=1&channel_id=" +
                      std::to_string(rng() % 100000));
    b[5].AppendFixed<int64_t>(1696871620200000);
    b[6].AppendString("xyzxyzxyzxyzxyzxyzxyz");
    b[7].AppendFixed<int64_t>(i);
    b[8].AppendFixed<int32_t>(static_cast<int32_t>(rng() % 10));
    b[9].AppendBool(true);
  }
  batch::Batch out;
  out.schema = std::make_shared<const types::Schema>(schema);
  for (auto& c : b) out.columns.push_back(c.Finish());
  out.num_rows = rows;
  return out;
}

formats::FormatOptions Options(const std::string& format) {
  formats::FormatOptions o;
  o.format = format;
  if (format == "avro") {
    o.avro_schema = kBidAvroSchema;
    o.avro_raw_datums = true;
  } else if (format == "protobuf") {
    o.protobuf_schema = kBidProto;
  }
  return o;
}

// The records of the bid rows in `format`, each followed by kLinePadding bytes as the Kafka
// source hands them to the decoder.
std::vector<std::string> Records(const std::string& format) {
  batch::Batch b = BidBatch(kRows);
  auto encoder = formats::MakeEncoder(Options(format), *b.schema).MoveValue();
  std::string bytes;
  std::vector<std::pair<size_t, size_t>> spans;
  Status st = encoder->EncodeRecords(b, &bytes, &spans);
  if (!st.ok()) std::abort();
  std::vector<std::string> records;
  for (auto [begin, end] : spans) {
    std::string r = bytes.substr(begin, end - begin);
    r.append(formats::kLinePadding, '\0');
    records.push_back(std::move(r));
  }
  return records;
}

void Decode(benchmark::State& state, const std::string& format) {
  auto records = Records(format);
  auto decoder = formats::MakeDecoder(Options(format), BidSchema(), "bench").MoveValue();
  int64_t bytes = 0;
  for (const auto& r : records) bytes += static_cast<int64_t>(r.size() - formats::kLinePadding);
  const std::function<std::string()> position = [] { return std::string("record"); };
  for (auto _ : state) {
    for (const auto& r : records) {
      Status st = decoder->AppendPadded(
          std::string_view(r.data(), r.size() - formats::kLinePadding), position);
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

void Encode(benchmark::State& state, const std::string& format) {
  batch::Batch b = BidBatch(kRows);
  auto encoder = formats::MakeEncoder(Options(format), *b.schema).MoveValue();
  std::string out;
  std::vector<std::pair<size_t, size_t>> spans;
  for (auto _ : state) {
    out.clear();
    spans.clear();
    Status st = encoder->EncodeRecords(b, &out, &spans);
    if (!st.ok()) state.SkipWithError(st.ToString().c_str());
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}

void BM_DecodeBidRecords_Json(benchmark::State& state) {
  Decode(state, "json");
}
void BM_DecodeBidRecords_Avro(benchmark::State& state) {
  Decode(state, "avro");
}
void BM_EncodeBidRecords_Json(benchmark::State& state) {
  Encode(state, "json");
}
void BM_EncodeBidRecords_Avro(benchmark::State& state) {
  Encode(state, "avro");
}
void BM_DecodeBidRecords_Protobuf(benchmark::State& state) {
  Decode(state, "protobuf");
}
void BM_EncodeBidRecords_Protobuf(benchmark::State& state) {
  Encode(state, "protobuf");
}
BENCHMARK(BM_DecodeBidRecords_Json);
BENCHMARK(BM_DecodeBidRecords_Avro);
BENCHMARK(BM_DecodeBidRecords_Protobuf);
BENCHMARK(BM_EncodeBidRecords_Json);
BENCHMARK(BM_EncodeBidRecords_Avro);
BENCHMARK(BM_EncodeBidRecords_Protobuf);

}  // namespace
}  // namespace sluice
