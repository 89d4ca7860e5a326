#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "connectors/connector.h"
#include "connectors/source_batch.h"

namespace sluice::connectors {
namespace {

using types::DataType;
using types::Schema;
using types::TypeId;

// Stores what a source emits.
class TestCollector : public runtime::Collector {
 public:
  Status Emit(const batch::BatchPtr& batch) override {
    batches.push_back(batch);
    return Status::Ok();
  }
  Status EmitWatermark(Watermark wm) override { return Status::Ok(); }
  int64_t rows() const {
    int64_t n = 0;
    for (const auto& b : batches) n += b->num_rows;
    return n;
  }
  std::vector<batch::BatchPtr> batches;
};

// A fresh directory under the system temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "sluice_conn_XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string ResolveError(std::map<std::string, std::string> options,
                         const Schema& schema = Schema(), bool has_columns = false) {
  auto spec = ResolveTable("t", schema, has_columns, std::move(options));
  EXPECT_FALSE(spec.ok());
  if (spec.ok()) return "ok";
  EXPECT_EQ(spec.status().kind(), ErrorKind::kUser);
  return spec.status().message();
}

TableSpec MustResolve(std::map<std::string, std::string> options, const Schema& schema = Schema(),
                      bool has_columns = false) {
  auto spec = ResolveTable("t", schema, has_columns, std::move(options));
  EXPECT_TRUE(spec.ok()) << spec.status().ToString();
  return spec.ok() ? *spec : TableSpec{};
}

// Runs a source subtask to its end (sources here never wait long).
struct SourceRun {
  TestCollector out;
  runtime::OperatorMetrics metrics;
  runtime::OperatorContext ctx;  // outlives the source that points at it
  Status status;
};

void RunSource(const runtime::OperatorFactory& factory, int subtask, int parallelism,
               SourceRun* run) {
  runtime::OperatorContext& ctx = run->ctx;
  auto source = factory.CreateSource(subtask, parallelism);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  ctx.subtask = subtask;
  ctx.parallelism = parallelism;
  ctx.metrics = &run->metrics;
  run->status = (*source)->Open(ctx);
  if (!run->status.ok()) return;
  for (int polls = 0; polls < 100000; ++polls) {
    auto poll = (*source)->Poll(run->out);
    if (!poll.ok()) {
      run->status = poll.status();
      break;
    }
    if (poll->kind == runtime::SourcePoll::Kind::kFinished) break;
  }
  Status closed = (*source)->Close();
  EXPECT_TRUE(closed.ok());
}

// ---------------------------------------------------------------------------------------------
// Registry and option validation

TEST(RegistryTest, RegistersTheConnectors) {
  const auto& registry = ConnectorRegistry::Get();
  EXPECT_EQ(registry.Names(),
            (std::vector<std::string>{"blackhole", "filesystem", "impulse", "kafka", "mqtt", "nats",
                                      "nexmark", "polling_http", "postgres-cdc", "preview",
                                      "rabbitmq", "rabbitmq_stream", "redis", "single_file", "sse",
                                      "stdout", "webhook", "websocket"}));
  ASSERT_NE(registry.Find("impulse"), nullptr);
  EXPECT_EQ(registry.Find("IMPULSE"), registry.Find("impulse"));
  EXPECT_EQ(registry.Find("kinesis"), nullptr);
}

TEST(RegistryTest, EditDistanceAndClosestMatch) {
  EXPECT_EQ(EditDistance("", ""), 0u);
  EXPECT_EQ(EditDistance("format", "format"), 0u);
  EXPECT_EQ(EditDistance("fromat", "format"), 1u);  // a transposition counts once
  EXPECT_EQ(EditDistance("pth", "path"), 1u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(ClosestMatch("fromat", {"path", "format", "type"}), "format");
  EXPECT_EQ(ClosestMatch("Event_Rat", {"event_rate", "message_count"}), "event_rate");
  EXPECT_EQ(ClosestMatch("xyzzy", {"path", "format", "type"}), "");
  EXPECT_EQ(ClosestMatch("ab", {"type"}), "");
}

TEST(ResolveTableTest, OptionErrors) {
  EXPECT_EQ(ResolveError({{"path", "/tmp/x"}}),
            "table 't': missing option 'connector'; available: blackhole, filesystem, impulse, "
            "kafka, mqtt, nats, nexmark, polling_http, postgres-cdc, preview, rabbitmq, "
            "rabbitmq_stream, redis, single_file, sse, stdout, webhook, websocket");
  EXPECT_EQ(ResolveError({{"connector", "imuplse"}}),
            "table 't': unknown connector 'imuplse'; did you mean 'impulse'?; available: "
            "blackhole, filesystem, impulse, kafka, mqtt, nats, nexmark, polling_http, "
            "postgres-cdc, preview, rabbitmq, rabbitmq_stream, redis, single_file, sse, stdout, "
            "webhook, websocket");
  EXPECT_EQ(
      ResolveError(
          {{"connector", "single_file"}, {"path", "/tmp"}, {"fromat", "json"}, {"type", "sink"}}),
      "table 't': unknown option 'fromat' for connector 'single_file'; did you mean "
      "'format'?");
  EXPECT_EQ(ResolveError({{"connector", "stdout"}, {"colour", "red"}}),
            "table 't': unknown option 'colour' for connector 'stdout'; its options with format "
            "'json' are: format, bad_data, framing, json.timestamp_format, json.unstructured, "
            "connector, type");
  // Another format lists its own options (and the schema registry's), not JSON's.
  EXPECT_EQ(ResolveError({{"connector", "stdout"}, {"format", "avro"}, {"colour", "red"}}),
            "table 't': unknown option 'colour' for connector 'stdout'; its options with format "
            "'avro' are: format, bad_data, framing, avro.schema, avro.raw_datums, "
            "avro.confluent_schema_registry, avro.schema_id, avro.codec, "
            "schema_registry.endpoint, schema_registry.api_key, schema_registry.api_secret, "
            "schema_registry.subject, connector, type");
  EXPECT_EQ(ResolveError({{"connector", "stdout"}, {"bad_data", "ignore"}}),
            "table 't': invalid value 'ignore' for option 'bad_data'; use 'fail' or 'drop'");
  EXPECT_EQ(ResolveError({{"connector", "single_file"}, {"path", "/tmp/x"}, {"format", "json"}}),
            "table 't': option 'type' is required for connector 'single_file': use type = "
            "'source' or 'sink'");
  EXPECT_EQ(ResolveError({{"connector", "single_file"}, {"path", "/tmp/x"}, {"type", "both"}}),
            "table 't': invalid value 'both' for option 'type'; use 'source' or 'sink'");
  EXPECT_EQ(ResolveError({{"connector", "stdout"}, {"type", "source"}}),
            "table 't': connector 'stdout' cannot be a source; it can only be a sink");
  EXPECT_EQ(ResolveError({{"connector", "impulse"}}),
            "table 't': missing option 'event_rate' (rows per second) for connector 'impulse'");
  EXPECT_EQ(ResolveError({{"connector", "impulse"}, {"event_rate", "fast"}}),
            "table 't': invalid value 'fast' for option 'event_rate'; use a positive number of "
            "rows per second");
  EXPECT_EQ(ResolveError({{"connector", "impulse"}, {"event_rate", "0"}}),
            "table 't': invalid value '0' for option 'event_rate'; use a positive number of "
            "rows per second");
  EXPECT_EQ(ResolveError({{"connector", "impulse"}, {"event_rate", "1"}, {"message_count", "-3"}}),
            "table 't': invalid value '-3' for option 'message_count'; use a non-negative "
            "integer");
  EXPECT_EQ(ResolveError({{"connector", "impulse"}, {"event_rate", "1"}, {"format", "json"}}),
            "table 't': connector 'impulse' generates its rows and takes no 'format'");
  EXPECT_EQ(ResolveError({{"connector", "stdout"}, {"event_time_field", "ts"}}),
            "table 't': option 'event_time_field' applies only to source tables");
}

TEST(ResolveTableTest, KeysAreCaseInsensitiveAndSpecIsFilled) {
  TableSpec spec = MustResolve({{"Connector", "IMPULSE"},
                                {"EVENT_RATE", "10"},
                                {"message_count", "5"},
                                {"event_time_field", "timestamp"}});
  EXPECT_EQ(spec.table_name, "t");
  EXPECT_EQ(spec.connector, "impulse");
  EXPECT_EQ(spec.type, TableType::kSource);
  EXPECT_TRUE(spec.finite);
  EXPECT_EQ(spec.schema.ToString(),
            "(timestamp TIMESTAMP, counter BIGINT UNSIGNED, subtask_index BIGINT UNSIGNED)");
  EXPECT_EQ(spec.options.at("event_rate"), "10");
  EXPECT_EQ(spec.options.at("connector"), "IMPULSE");

  TableSpec sink = MustResolve({{"connector", "stdout"}});
  EXPECT_EQ(sink.type, TableType::kSink);
  EXPECT_EQ(sink.format.format, "json");
  EXPECT_FALSE(sink.finite);
}

TEST(ResolveTableTest, ImpulseColumnsMustMatch) {
  Schema declared({{"timestamp", types::Timestamp()},
                   {"counter", types::UInt64()},
                   {"subtask_index", types::UInt64()}});
  MustResolve({{"connector", "impulse"}, {"event_rate", "1"}}, declared, true);
  Schema wrong({{"timestamp", types::Timestamp()}, {"counter", types::Int64()}});
  EXPECT_EQ(ResolveError({{"connector", "impulse"}, {"event_rate", "1"}}, wrong, true),
            "table 't': connector 'impulse' produces the columns (timestamp TIMESTAMP, counter "
            "BIGINT UNSIGNED, subtask_index BIGINT UNSIGNED); declare those or no columns, not "
            "(timestamp TIMESTAMP, counter BIGINT)");
}

TEST(ResolveTableTest, SingleFileChecksPaths) {
  TempDir dir;
  Schema schema({{"a", types::Int64()}});
  std::string missing = dir.File("nope.json");
  EXPECT_EQ(
      ResolveError(
          {{"connector", "single_file"}, {"path", missing}, {"format", "json"}, {"type", "source"}},
          schema, true),
      "table 't': cannot open '" + missing + "': No such file or directory");
  std::string no_dir = dir.File("nodir/out.json");
  EXPECT_EQ(
      ResolveError(
          {{"connector", "single_file"}, {"path", no_dir}, {"format", "json"}, {"type", "sink"}}),
      "table 't': cannot write '" + no_dir + "': directory '" + dir.File("nodir") +
          "' does not exist");
  WriteFile(dir.File("in.json"), "");
  EXPECT_EQ(
      ResolveError(
          {{"connector", "single_file"}, {"path", dir.File("in.json")}, {"type", "source"}}, schema,
          true),
      "table 't': missing option 'format'; use format = 'json', 'debezium_json', 'raw_string', "
      "'raw_bytes', 'avro' or 'protobuf'");
  EXPECT_EQ(ResolveError({{"connector", "single_file"}, {"format", "json"}, {"type", "sink"}}),
            "table 't': missing option 'path' for connector 'single_file'");
  EXPECT_EQ(ResolveError({{"connector", "single_file"},
                          {"path", dir.File("in.json")},
                          {"format", "json"},
                          {"type", "source"}}),
            "table 't': a single_file source with format 'json' needs a column list: CREATE "
            "TABLE t (col TYPE, ...) WITH (...)");
  // raw_string implies its one column.
  TableSpec raw = MustResolve({{"connector", "single_file"},
                               {"path", dir.File("in.json")},
                               {"format", "raw_string"},
                               {"type", "source"}});
  EXPECT_EQ(raw.schema.ToString(), "(value TEXT)");
  EXPECT_TRUE(raw.finite);
}

// ---------------------------------------------------------------------------------------------
// impulse

std::shared_ptr<const runtime::OperatorFactory> ImpulseFactory(
    std::map<std::string, std::string> options) {
  options["connector"] = "impulse";
  TableSpec spec = MustResolve(options);
  auto factory = ConnectorRegistry::Get().Find("impulse")->MakeSource(spec);
  EXPECT_TRUE(factory.ok()) << factory.status().ToString();
  return *factory;
}

void CheckImpulse(int parallelism) {
  auto factory = ImpulseFactory(
      {{"event_rate", "1000000000"}, {"message_count", "10"}, {"event_time_interval", "1000"}});
  EXPECT_TRUE(factory->is_source());
  EXPECT_EQ(factory->name(), "impulse source");
  std::set<uint64_t> counters;
  int64_t total = 0;
  for (int s = 0; s < parallelism; ++s) {
    SourceRun run;
    RunSource(*factory, s, parallelism, &run);
    ASSERT_TRUE(run.status.ok()) << run.status.ToString();
    EXPECT_EQ(run.metrics.rows_out, run.out.rows());
    for (const auto& b : run.out.batches) {
      ASSERT_EQ(b->columns.size(), 3u);
      EXPECT_EQ(b->schema->ToString(),
                "(timestamp TIMESTAMP, counter BIGINT UNSIGNED, subtask_index BIGINT UNSIGNED)");
      for (int64_t i = 0; i < b->num_rows; ++i) {
        uint64_t counter = b->columns[1]->raw<uint64_t>()[i];
        EXPECT_EQ(counter % static_cast<uint64_t>(parallelism), static_cast<uint64_t>(s));
        EXPECT_EQ(b->columns[2]->raw<uint64_t>()[i], static_cast<uint64_t>(s));
        EXPECT_EQ(b->columns[0]->raw<int64_t>()[i], static_cast<int64_t>(counter) * 1000);
        EXPECT_EQ(b->event_time->raw<int64_t>()[i], static_cast<int64_t>(counter) * 1000);
        EXPECT_TRUE(counters.insert(counter).second) << "duplicate counter " << counter;
        ++total;
      }
    }
  }
  EXPECT_EQ(total, 10);
  EXPECT_EQ(counters, (std::set<uint64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(ImpulseTest, MessageCountAtParallelismOne) {
  CheckImpulse(1);
}
TEST(ImpulseTest, MessageCountAtParallelismThree) {
  CheckImpulse(3);
}

TEST(ImpulseTest, BatchesAreBounded) {
  auto factory = ImpulseFactory({{"event_rate", "1e12"}, {"message_count", "10000"}});
  SourceRun run;
  RunSource(*factory, 0, 1, &run);
  ASSERT_TRUE(run.status.ok());
  EXPECT_EQ(run.out.rows(), 10000);
  for (const auto& b : run.out.batches) EXPECT_LE(b->num_rows, kDefaultBatchRows);
  // Without event_time_interval, timestamps are the wall clock.
  int64_t now = Now().value;
  int64_t ts = run.out.batches[0]->columns[0]->raw<int64_t>()[0];
  EXPECT_LE(ts, now);
  EXPECT_GT(ts, now - 60 * 1000000LL);
}

TEST(ImpulseTest, LowRateEmitsPromptlyThenWaits) {
  runtime::OperatorContext ctx;  // outlives the operator that points at it
  auto factory = ImpulseFactory({{"event_rate", "2"}, {"message_count", "3"}});
  auto source = factory->CreateSource(0, 1);
  ASSERT_TRUE(source.ok());
  ASSERT_TRUE((*source)->Open(ctx).ok());
  TestCollector out;
  int64_t before = Now().value;
  auto poll = (*source)->Poll(out);
  ASSERT_TRUE(poll.ok());
  EXPECT_EQ(out.rows(), 1);
  ASSERT_EQ(poll->kind, runtime::SourcePoll::Kind::kWaitUntil);
  // The next row is due half a second after the first.
  EXPECT_GE(poll->wake_at.value, before + 400000);
  EXPECT_LE(poll->wake_at.value, Now().value + 600000);
  poll = (*source)->Poll(out);
  ASSERT_TRUE(poll.ok());
  EXPECT_EQ(out.rows(), 1);
  EXPECT_EQ(poll->kind, runtime::SourcePoll::Kind::kWaitUntil);
}

TEST(ImpulseTest, StopsWhenAsked) {
  runtime::OperatorContext ctx;  // outlives the operator that points at it
  auto factory = ImpulseFactory({{"event_rate", "1000"}});
  auto source = factory->CreateSource(0, 1);
  ASSERT_TRUE(source.ok());
  std::atomic<bool> stop{true};
  ctx.stop_requested = &stop;
  ASSERT_TRUE((*source)->Open(ctx).ok());
  TestCollector out;
  auto poll = (*source)->Poll(out);
  ASSERT_TRUE(poll.ok());
  EXPECT_EQ(poll->kind, runtime::SourcePoll::Kind::kFinished);
  EXPECT_EQ(out.rows(), 0);
}

TEST(ImpulseTest, Describe) {
  auto factory = ImpulseFactory(
      {{"event_rate", "100"}, {"message_count", "1000"}, {"event_time_interval", "1 second"}});
  EXPECT_EQ(factory->Describe(),
            "impulse source event_rate=100 message_count=1000 event_time_interval=1000000");
}

// ---------------------------------------------------------------------------------------------
// single_file

TEST(SingleFileTest, ReadThenWriteRoundTrip) {
  runtime::OperatorContext ctx;  // outlives the operator that points at it
  TempDir dir;
  std::string in = dir.File("in.json");
  std::string out = dir.File("out.json");
  WriteFile(in,
            "{\"id\":1,\"name\":\"a\",\"ts\":\"2023-10-09T17:13:40.200Z\"}\r\n"
            "{\"id\":2,\"ts\":\"2023-09-18T14:00:00Z\",\"extra\":true}\n"
            "\n"
            "{\"name\":\"c \\\"q\\\"\",\"id\":3,\"ts\":null}\n");
  Schema schema({{"id", types::Int64()}, {"name", types::Utf8()}, {"ts", types::Timestamp()}});
  TableSpec source_spec = MustResolve(
      {{"connector", "single_file"}, {"path", in}, {"format", "json"}, {"type", "source"}}, schema,
      true);
  auto source_factory = ConnectorRegistry::Get().Find("single_file")->MakeSource(source_spec);
  ASSERT_TRUE(source_factory.ok()) << source_factory.status().ToString();
  EXPECT_EQ((*source_factory)->name(), "single_file source");
  EXPECT_EQ((*source_factory)->Describe(), "single_file source path=" + in + " format=json");
  EXPECT_EQ((*source_factory)->max_parallelism(), 1);
  EXPECT_TRUE((*source_factory)->is_source());

  int64_t before = Now().value;
  SourceRun run;
  RunSource(**source_factory, 0, 1, &run);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ASSERT_EQ(run.out.rows(), 3);
  EXPECT_EQ(run.metrics.rows_out, 3);
  const auto& b = *run.out.batches[0];
  EXPECT_EQ(b.columns[0]->raw<int64_t>()[2], 3);
  EXPECT_EQ(b.columns[1]->GetString(2), "c \"q\"");
  EXPECT_TRUE(b.columns[1]->IsNull(1));
  EXPECT_TRUE(b.columns[2]->IsNull(2));
  EXPECT_GE(b.event_time->raw<int64_t>()[0], before);  // read time
  EXPECT_LE(b.event_time->raw<int64_t>()[0], Now().value);

  TableSpec sink_spec = MustResolve(
      {{"connector", "single_file"}, {"path", out}, {"format", "json"}, {"type", "sink"}});
  auto sink_factory = ConnectorRegistry::Get().Find("single_file")->MakeSink(sink_spec);
  ASSERT_TRUE(sink_factory.ok()) << sink_factory.status().ToString();
  EXPECT_EQ((*sink_factory)->name(), "single_file sink");
  EXPECT_EQ((*sink_factory)->Describe(), "single_file sink path=" + out + " format=json");
  EXPECT_EQ((*sink_factory)->max_parallelism(), 1);
  auto sink = (*sink_factory)->Create(0, 1);
  ASSERT_TRUE(sink.ok());
  runtime::OperatorMetrics metrics;
  ctx.metrics = &metrics;
  ASSERT_TRUE((*sink)->Open(ctx).ok());
  TestCollector downstream;
  for (const auto& batch : run.out.batches) {
    ASSERT_TRUE((*sink)->ProcessBatch(0, batch, downstream).ok());
  }
  ASSERT_TRUE((*sink)->OnEndOfInput(downstream).ok());
  ASSERT_TRUE((*sink)->Close().ok());
  EXPECT_EQ(metrics.rows_out, 3);
  EXPECT_EQ(ReadFile(out),
            "{\"id\":1,\"name\":\"a\",\"ts\":\"2023-10-09T17:13:40.200\"}\n"
            "{\"id\":2,\"name\":null,\"ts\":\"2023-09-18T14:00:00\"}\n"
            "{\"id\":3,\"name\":\"c \\\"q\\\"\",\"ts\":null}\n");
}

TEST(SingleFileTest, BadDataFailNamesTableAndLine) {
  TempDir dir;
  std::string in = dir.File("in.json");
  WriteFile(in, "{\"price\":1}\n\n{\"price\":\"abc\"}\n");
  Schema schema({{"price", types::Int64()}});
  TableSpec spec = MustResolve(
      {{"connector", "single_file"}, {"path", in}, {"format", "json"}, {"type", "source"}}, schema,
      true);
  auto factory = ConnectorRegistry::Get().Find("single_file")->MakeSource(spec);
  ASSERT_TRUE(factory.ok());
  SourceRun run;
  RunSource(**factory, 0, 1, &run);
  ASSERT_FALSE(run.status.ok());
  EXPECT_EQ(run.status.message(),
            "table 't': bad data at line 3: field 'price': expected BIGINT, found string "
            "\"abc\"");
}

TEST(SingleFileTest, BadDataDropCountsRows) {
  TempDir dir;
  std::string in = dir.File("in.json");
  WriteFile(in, "{\"price\":1}\n{\"price\":\"abc\"}\nnot json\n{\"price\":4}\n");
  Schema schema({{"price", types::Int64()}});
  TableSpec spec = MustResolve({{"connector", "single_file"},
                                {"path", in},
                                {"format", "json"},
                                {"bad_data", "drop"},
                                {"type", "source"}},
                               schema, true);
  auto factory = ConnectorRegistry::Get().Find("single_file")->MakeSource(spec);
  ASSERT_TRUE(factory.ok());
  EXPECT_EQ((*factory)->Describe(), "single_file source path=" + in + " format=json bad_data=drop");
  SourceRun run;
  RunSource(**factory, 0, 1, &run);
  ASSERT_TRUE(run.status.ok()) << run.status.ToString();
  ASSERT_EQ(run.out.rows(), 2);
  EXPECT_EQ(run.out.batches[0]->columns[0]->raw<int64_t>()[0], 1);
  EXPECT_EQ(run.out.batches[0]->columns[0]->raw<int64_t>()[1], 4);
  EXPECT_EQ(run.metrics.bad_rows_dropped, 2);
}

TEST(SingleFileTest, RawStringKeepsInnerEmptyLinesOnly) {
  runtime::OperatorContext ctx;  // outlives the operator that points at it
  TempDir dir;
  std::string in = dir.File("in.txt");
  std::string out = dir.File("out.txt");
  WriteFile(in, "a\n\nb\r\n\n\n");
  TableSpec spec = MustResolve(
      {{"connector", "single_file"}, {"path", in}, {"format", "raw_string"}, {"type", "source"}});
  auto factory = ConnectorRegistry::Get().Find("single_file")->MakeSource(spec);
  ASSERT_TRUE(factory.ok());
  SourceRun run;
  RunSource(**factory, 0, 1, &run);
  ASSERT_TRUE(run.status.ok());
  ASSERT_EQ(run.out.rows(), 3);
  const auto& col = *run.out.batches[0]->columns[0];
  EXPECT_EQ(col.GetString(0), "a");
  EXPECT_EQ(col.GetString(1), "");
  EXPECT_EQ(col.GetString(2), "b");

  TableSpec sink_spec = MustResolve(
      {{"connector", "single_file"}, {"path", out}, {"format", "raw_string"}, {"type", "sink"}},
      spec.schema, true);
  auto sink_factory = ConnectorRegistry::Get().Find("single_file")->MakeSink(sink_spec);
  ASSERT_TRUE(sink_factory.ok());
  auto sink = (*sink_factory)->Create(0, 1);
  ASSERT_TRUE(sink.ok());
  ASSERT_TRUE((*sink)->Open(ctx).ok());
  TestCollector downstream;
  ASSERT_TRUE((*sink)->ProcessBatch(0, run.out.batches[0], downstream).ok());
  ASSERT_TRUE((*sink)->Close().ok());
  EXPECT_EQ(ReadFile(out), "a\n\nb\n");
}

TEST(SingleFileTest, LargeFileIsBatched) {
  TempDir dir;
  std::string in = dir.File("in.json");
  std::string text;
  for (int i = 0; i < 10000; ++i) text += "{\"n\":" + std::to_string(i) + "}\n";
  WriteFile(in, text);
  TableSpec spec = MustResolve(
      {{"connector", "single_file"}, {"path", in}, {"format", "json"}, {"type", "source"}},
      Schema({{"n", types::Int32()}}), true);
  auto factory = ConnectorRegistry::Get().Find("single_file")->MakeSource(spec);
  ASSERT_TRUE(factory.ok());
  SourceRun run;
  RunSource(**factory, 0, 1, &run);
  ASSERT_TRUE(run.status.ok());
  EXPECT_EQ(run.out.rows(), 10000);
  EXPECT_EQ(run.out.batches.size(), 3u);
  int64_t expected = 0;
  for (const auto& b : run.out.batches) {
    EXPECT_LE(b->num_rows, kDefaultBatchRows);
    for (int64_t i = 0; i < b->num_rows; ++i) {
      EXPECT_EQ(b->columns[0]->raw<int32_t>()[i], expected++);
    }
  }
}

TEST(SingleFileTest, SourceOfSinkTableIsRefused) {
  TempDir dir;
  TableSpec spec = MustResolve({{"connector", "single_file"},
                                {"path", dir.File("o.json")},
                                {"format", "json"},
                                {"type", "sink"}});
  auto factory = ConnectorRegistry::Get().Find("single_file")->MakeSource(spec);
  ASSERT_FALSE(factory.ok());
  EXPECT_EQ(factory.status().message(), "table 't' is a sink, not a source");
}

// ---------------------------------------------------------------------------------------------
// stdout, preview, blackhole

batch::BatchPtr SmallBatch() {
  auto b = std::make_shared<batch::Batch>();
  b->schema = std::make_shared<const Schema>(Schema({{"a", types::Int64()}, {"s", types::Utf8()}}));
  b->columns = {batch::Column::MakeConstant(types::Value::Int64(7), 2),
                batch::Column::MakeConstant(types::Value::String("x"), 2)};
  b->event_time = batch::Column::MakeConstant(types::Value::Timestamp(0), 2);
  b->num_rows = 2;
  return b;
}

void CheckPrintsJson(const std::string& connector, const std::string& name) {
  runtime::OperatorContext ctx;  // outlives the operator that points at it
  TableSpec spec = MustResolve({{"connector", connector}});
  auto factory = ConnectorRegistry::Get().Find(connector)->MakeSink(spec);
  ASSERT_TRUE(factory.ok()) << factory.status().ToString();
  EXPECT_EQ((*factory)->name(), name);
  EXPECT_EQ((*factory)->Describe(), name + " format=json");
  EXPECT_EQ((*factory)->max_parallelism(), 0);
  auto sink = (*factory)->Create(0, 2);
  ASSERT_TRUE(sink.ok());
  runtime::OperatorMetrics metrics;
  ctx.metrics = &metrics;
  ASSERT_TRUE((*sink)->Open(ctx).ok());
  TestCollector downstream;
  testing::internal::CaptureStdout();
  Status st = (*sink)->ProcessBatch(0, SmallBatch(), downstream);
  std::string printed = testing::internal::GetCapturedStdout();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(printed, "{\"a\":7,\"s\":\"x\"}\n{\"a\":7,\"s\":\"x\"}\n");
  EXPECT_EQ(metrics.rows_out, 2);
  ASSERT_TRUE((*sink)->Close().ok());
}

TEST(StdoutTest, PrintsJsonLines) {
  CheckPrintsJson("stdout", "stdout sink");
}
TEST(PreviewTest, PrintsJsonLines) {
  CheckPrintsJson("preview", "preview sink");
}

TEST(BlackholeTest, CountsRows) {
  runtime::OperatorContext ctx;  // outlives the operator that points at it
  TableSpec spec = MustResolve({{"connector", "blackhole"}});
  EXPECT_EQ(spec.type, TableType::kSink);
  auto factory = ConnectorRegistry::Get().Find("blackhole")->MakeSink(spec);
  ASSERT_TRUE(factory.ok());
  EXPECT_EQ((*factory)->Describe(), "blackhole sink");
  auto sink = (*factory)->Create(0, 1);
  ASSERT_TRUE(sink.ok());
  runtime::OperatorMetrics metrics;
  ctx.metrics = &metrics;
  ASSERT_TRUE((*sink)->Open(ctx).ok());
  TestCollector downstream;
  ASSERT_TRUE((*sink)->ProcessBatch(0, SmallBatch(), downstream).ok());
  ASSERT_TRUE((*sink)->ProcessBatch(0, SmallBatch(), downstream).ok());
  EXPECT_EQ(metrics.rows_out, 4);
  EXPECT_TRUE(downstream.batches.empty());
}

}  // namespace
}  // namespace sluice::connectors
