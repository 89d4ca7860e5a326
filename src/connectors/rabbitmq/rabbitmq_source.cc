// The RabbitMQ Streams source (`connector = 'rabbitmq'`, Arroyo's name, or 'rabbitmq_stream'):
// reads one stream through the stream protocol client of stream_client.h and decodes each
// message's application data with the table's format, a chunk at a time, on the source task's
// thread.
//
// Exactly-once into Sluice's state: the source's position is the offset of the next record to
// emit. A checkpoint stores it; a restore subscribes at that offset (OffsetSpecification
// `offset`) and skips the records of the first chunk before it (a subscription starts at the
// beginning of the chunk holding the offset), so the rows after a restore are exactly those
// after the checkpoint. Without a checkpoint the subscription starts at source.offset. The event
// time of a row is when its chunk was written to the stream, so a replay gives the same times.
// A stream is read by one subtask (a super stream's partitions are not read yet).

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>

#include <fmt/format.h>

#include "batch/batch.h"
#include "batch/column_builder.h"
#include "common/duration.h"
#include "common/text.h"
#include "common/time.h"
#include "connectors/connector.h"
#include "connectors/decoded_rows.h"
#include "connectors/rabbitmq/stream_client.h"
#include "formats/format.h"

namespace sluice::connectors {

namespace {

using rabbitmq::Chunk;
using rabbitmq::ConnectOptions;
using rabbitmq::OffsetSpec;
using rabbitmq::StreamConnection;
using runtime::SourcePoll;

constexpr int64_t kIdlePollMicros = 2000;

struct RabbitOptions {
  ConnectOptions connect;
  std::string stream;
  OffsetSpec start;
  uint16_t credit = 16;       // chunks in flight
  std::string consumer_name;  // stores the checkpointed offset under this name (monitoring)
};

const std::vector<OptionSpec>& RabbitOptionSpecs() {
  static const std::vector<OptionSpec> specs = {
      {"host", false, "the RabbitMQ server (default localhost)", false},
      {"port", false, "its stream port (default 5552, the rabbitmq_stream plugin's)", false},
      {"username", false, "user name (default guest)", false},
      {"password", false, "password (default guest; never shown in plans, logs or errors)", true},
      {"virtual_host", false, "virtual host (default /)", false},
      {"stream", true, "the stream to read", false},
      {"source.offset", false,
       "where a pipeline without checkpoint starts: 'first', 'last' (default, as Arroyo: the "
       "last chunk), 'next' (only new messages) or 'timestamp' (source.offset.timestamp)",
       false},
      {"source.offset.timestamp", false,
       "with source.offset = 'timestamp': milliseconds since 1970-01-01 UTC; the first chunk "
       "written at or after it",
       false},
      {"consumer.credit", false, "chunks the server may send ahead (default 16)", false},
      {"consumer.name", false,
       "when set, the offset of the last message each completed checkpoint covers is stored on "
       "the server under this name (StoreOffset), for monitoring; restores use the checkpoint",
       false},
      {"connect.timeout", false, "how long connecting may take (default 10s)", false},
      {"tls_config.enabled", false, "'false' only: TLS is not supported yet", false},
      {"load_balancer_mode", false,
       "accepted for Arroyo compatibility: Sluice always connects to host:port itself", false},
  };
  return specs;
}

std::vector<std::string> RabbitOptionKeys() {
  std::vector<std::string> keys;
  for (const OptionSpec& o : RabbitOptionSpecs()) keys.push_back(o.name);
  return keys;
}

// Metadata columns (`col TYPE METADATA FROM 'key'`): the message's offset, its chunk's time, the
// stream's name.
enum class MetaKind { kOffset, kTimestamp, kStream };
struct MetaColumn {
  std::string column;
  MetaKind kind;
};

Result<std::vector<MetaColumn>> ResolveMetadata(const TableSpec& spec) {
  std::vector<MetaColumn> out;
  for (const auto& [column, key] : spec.metadata) {
    auto index = spec.schema.Find(column);
    if (!index) continue;
    const types::DataType& type = spec.schema.field(*index).type;
    MetaColumn m{column, MetaKind::kOffset};
    types::TypeId want = types::TypeId::kInt64;
    const char* want_name = "BIGINT";
    if (key == "offset_id") {
      m.kind = MetaKind::kOffset;
    } else if (key == "timestamp") {
      m.kind = MetaKind::kTimestamp;
      want = types::TypeId::kTimestamp;
      want_name = "TIMESTAMP";
    } else if (key == "stream") {
      m.kind = MetaKind::kStream;
      want = types::TypeId::kUtf8;
      want_name = "TEXT";
    } else {
      const std::string hint = ClosestMatch(key, {"offset_id", "timestamp", "stream"});
      return Status::User(
          "metadata column \"{}\": unknown metadata key '{}'{}; the {} connector "
          "offers 'offset_id', 'timestamp', 'stream'",
          column, key, hint.empty() ? "" : fmt::format(" (did you mean '{}'?)", hint),
          spec.connector);
    }
    if (type.id() != want) {
      return Status::User("metadata column \"{}\" (METADATA FROM '{}') must be declared {}, not {}",
                          column, key, want_name, type.ToString());
    }
    out.push_back(m);
  }
  return out;
}

types::Schema ValueSchema(const TableSpec& spec) {
  std::vector<types::Field> fields;
  for (const auto& f : spec.schema.fields()) {
    if (!spec.metadata.count(f.name)) fields.push_back(f);
  }
  return types::Schema(fields);
}

const std::string* Find(const TableSpec& spec, const std::string& key) {
  auto it = spec.options.find(key);
  return it == spec.options.end() ? nullptr : &it->second;
}

Result<int64_t> ParseInt(const TableSpec& spec, const std::string& key, int64_t fallback,
                         int64_t min, int64_t max) {
  const std::string* v = Find(spec, key);
  if (v == nullptr) return fallback;
  std::string_view t = TrimAsciiSpace(*v);
  int64_t n = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (t.empty() || ec != std::errc() || end != t.data() + t.size() || n < min || n > max) {
    return Status::User("invalid value '{}' for option '{}': use an integer from {} to {}", *v, key,
                        min, max);
  }
  return n;
}

Result<RabbitOptions> ParseRabbitOptions(const TableSpec& spec) {
  RabbitOptions o;
  if (spec.type != TableType::kSource) {
    return Status::User(
        "connector '{}' is a source only (type = 'source'); RabbitMQ Streams "
        "sinks are not supported",
        spec.connector);
  }
  if (const std::string* v = Find(spec, "host")) {
    o.connect.host = std::string(TrimAsciiSpace(*v));
    if (o.connect.host.empty()) return Status::User("option 'host' is empty");
  }
  SLUICE_ASSIGN_OR_RETURN(int64_t port, ParseInt(spec, "port", 5552, 1, 65535));
  o.connect.port = static_cast<int>(port);
  if (const std::string* v = Find(spec, "username")) o.connect.username = *v;
  if (const std::string* v = Find(spec, "password")) o.connect.password = *v;
  if (const std::string* v = Find(spec, "virtual_host")) o.connect.virtual_host = *v;
  const std::string* stream = Find(spec, "stream");
  if (stream == nullptr || TrimAsciiSpace(*stream).empty()) {
    return Status::User("missing option 'stream' for connector '{}': the RabbitMQ stream to read",
                        spec.connector);
  }
  o.stream = std::string(TrimAsciiSpace(*stream));
  std::string offset = "last";
  if (const std::string* v = Find(spec, "source.offset"))
    offset = AsciiLower(std::string(TrimAsciiSpace(*v)));
  const std::string* ts = Find(spec, "source.offset.timestamp");
  if (offset == "first") {
    o.start.kind = OffsetSpec::kFirst;
  } else if (offset == "last") {
    o.start.kind = OffsetSpec::kLast;
  } else if (offset == "next") {
    o.start.kind = OffsetSpec::kNext;
  } else if (offset == "timestamp") {
    if (ts == nullptr) {
      return Status::User(
          "source.offset = 'timestamp' needs option 'source.offset.timestamp' "
          "(milliseconds since 1970-01-01 UTC)");
    }
    SLUICE_ASSIGN_OR_RETURN(int64_t ms,
                            ParseInt(spec, "source.offset.timestamp", 0, 0, int64_t{1} << 53));
    o.start = {OffsetSpec::kTimestamp, ms};
  } else {
    const std::vector<std::string> kinds = {"first", "last", "next", "timestamp"};
    const std::string close = ClosestMatch(offset, kinds);
    return Status::User(
        "invalid value '{}' for option 'source.offset': use first, last, next or "
        "timestamp{}",
        offset, close.empty() ? "" : fmt::format(" (did you mean '{}'?)", close));
  }
  if (ts != nullptr && offset != "timestamp") {
    return Status::User("option 'source.offset.timestamp' needs source.offset = 'timestamp'");
  }
  if (const std::string* v = Find(spec, "consumer.name")) {
    o.consumer_name = std::string(TrimAsciiSpace(*v));
    if (o.consumer_name.empty() || o.consumer_name.size() > 256) {
      return Status::User("invalid value '{}' for option 'consumer.name': 1 to 256 characters", *v);
    }
  }
  SLUICE_ASSIGN_OR_RETURN(int64_t credit, ParseInt(spec, "consumer.credit", 16, 1, 1000));
  o.credit = static_cast<uint16_t>(credit);
  if (const std::string* v = Find(spec, "connect.timeout")) {
    SLUICE_ASSIGN_OR_RETURN(o.connect.connect_timeout_us,
                            ParseDuration(TrimAsciiSpace(*v), "option 'connect.timeout'"));
    if (o.connect.connect_timeout_us < 100'000) {
      return Status::User("invalid value '{}' for option 'connect.timeout': at least 100ms", *v);
    }
  }
  if (const std::string* v = Find(spec, "tls_config.enabled")) {
    const std::string t = AsciiLower(std::string(TrimAsciiSpace(*v)));
    if (t == "true") {
      return Status::NotSupported(
          "option 'tls_config.enabled' = 'true': the RabbitMQ Streams "
          "source does not support TLS yet; use a plain stream port");
    }
    if (t != "false") return Status::User("invalid value '{}' for option 'tls_config.enabled'", *v);
  }
  if (const std::string* v = Find(spec, "load_balancer_mode")) {
    const std::string t = AsciiLower(std::string(TrimAsciiSpace(*v)));
    if (t != "true" && t != "false") {
      return Status::User("invalid value '{}' for option 'load_balancer_mode': true or false", *v);
    }
  }
  return o;
}

class RabbitSource : public runtime::SourceOperator {
 public:
  RabbitSource(const TableSpec& spec, RabbitOptions options)
      : spec_(spec),
        options_(std::move(options)),
        label_(fmt::format("table '{}'", spec.table_name)) {}

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    schema_ = std::make_shared<const types::Schema>(spec_.schema);
    SLUICE_ASSIGN_OR_RETURN(metadata_, ResolveMetadata(spec_));
    int value_index = 0;
    for (const auto& f : spec_.schema.fields()) {
      auto m = std::find_if(metadata_.begin(), metadata_.end(),
                            [&](const MetaColumn& c) { return c.column == f.name; });
      column_source_.push_back(m == metadata_.end() ? value_index++
                                                    : -1 - static_cast<int>(m - metadata_.begin()));
    }
    for (const MetaColumn& m : metadata_) {
      builders_.emplace_back(spec_.schema.field(*spec_.schema.Find(m.column)).type);
    }
    SLUICE_ASSIGN_OR_RETURN(decoder_,
                            formats::MakeDecoder(spec_.format, ValueSchema(spec_), label_));
    auto conn = StreamConnection::Connect(options_.connect);
    if (!conn.ok()) return Status(conn.status().kind(), label_ + ": " + conn.status().message());
    conn_ = conn.MoveValue();
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, state.Get("position"));
    if (!bytes) return Status::Ok();
    uint64_t next = 0;
    if (bytes->size() != sizeof(next)) {
      return Status::Io("{}: the checkpoint's RabbitMQ stream position is malformed", label_);
    }
    std::memcpy(&next, bytes->data(), sizeof(next));
    next_ = next;
    restored_ = true;
    return Status::Ok();
  }

  Result<SourcePoll> Poll(runtime::Collector& out) override {
    if (ctx_ && ctx_->stop_requested && ctx_->stop_requested->load()) return SourcePoll::Finished();
    if (!subscribed_) {
      OffsetSpec at =
          restored_ ? OffsetSpec{OffsetSpec::kOffset, static_cast<int64_t>(next_)} : options_.start;
      SLUICE_RETURN_NOT_OK(Annotate(conn_->Subscribe(options_.stream, at, options_.credit)));
      subscribed_ = true;
    }
    int64_t taken = 0;
    while (decoder_->pending_rows() < spec_.batch_rows) {
      bool got = false;
      SLUICE_RETURN_NOT_OK(Annotate(conn_->NextChunk(0, &chunk_, &got)));
      if (!got) break;
      SLUICE_RETURN_NOT_OK(Annotate(conn_->Credit(1)));
      SLUICE_ASSIGN_OR_RETURN(int64_t n, DecodeChunk());
      taken += n;
    }
    SLUICE_RETURN_NOT_OK(Emit(out));
    if (taken == 0) return SourcePoll::WaitUntil(ProcessingTime{Now().value + kIdlePollMicros});
    return SourcePoll::More();
  }

  Status Snapshot(int64_t checkpoint, runtime::StateWriter& state) override {
    // Before anything was read the position is only known once a record arrives: a restore
    // then starts at source.offset again (nothing was emitted).
    if (!restored_ && !started_) return Status::Ok();
    uint64_t next = next_;
    state.Put("position", std::string_view(reinterpret_cast<const char*>(&next), sizeof(next)));
    if (!options_.consumer_name.empty() && next > 0) pending_commits_[checkpoint] = next - 1;
    return Status::Ok();
  }

  // consumer.name: stores the last offset the newest completed checkpoint covers. Advisory (the
  // checkpoint holds the position): a failure only leaves the stored offset behind.
  Status Commit(int64_t checkpoint) override {
    auto end = pending_commits_.upper_bound(checkpoint);
    if (end == pending_commits_.begin()) return Status::Ok();
    const uint64_t offset = std::prev(end)->second;
    pending_commits_.erase(pending_commits_.begin(), end);
    if (conn_ && offset != stored_) {
      if (conn_->StoreOffset(options_.consumer_name, options_.stream, offset).ok())
        stored_ = offset;
    }
    return Status::Ok();
  }

  Status Close() override {
    if (conn_) conn_->Close();
    conn_.reset();
    return Status::Ok();
  }

 private:
  Status Annotate(Status st) const {
    if (st.ok()) return st;
    return Status(st.kind(), label_ + ": " + st.message());
  }

  // Decodes the records of chunk_ at or after next_; returns how many.
  Result<int64_t> DecodeChunk() {
    const int64_t event_time = chunk_.timestamp_ms * 1000;
    int64_t n = 0;
    const uint64_t first = chunk_.first_offset;
    for (size_t i = 0; i < chunk_.records.size(); ++i) {
      const uint64_t offset = first + i;
      if ((restored_ || started_) && offset < next_) continue;  // before the position
      Result<std::string_view> body = rabbitmq::AmqpBody(chunk_.records[i], &scratch_);
      const int64_t before = decoder_->pending_rows();
      if (body.ok()) {
        const std::string_view b = *body;
        padded_.assign(b.data(), b.size());
        padded_.append(formats::kLinePadding, '\0');
        SLUICE_RETURN_NOT_OK(
            decoder_->AppendPadded(std::string_view(padded_.data(), b.size()), [&] {
              return fmt::format("RabbitMQ stream '{}' offset {}", options_.stream, offset);
            }));
      } else if (spec_.format.bad_data == formats::BadDataPolicy::kFail) {
        return Status::User(
            "{}: RabbitMQ stream '{}' offset {}: {} (bad_data = 'drop' skips such "
            "messages)",
            label_, options_.stream, offset, body.status().message());
      } else if (ctx_ && ctx_->metrics) {
        ctx_->metrics->bad_rows_dropped += 1;  // a malformed AMQP message: dropped
      }
      const int64_t rows = decoder_->pending_rows() - before;
      event_times_.insert(event_times_.end(), static_cast<size_t>(rows), event_time);
      for (int64_t r = 0; r < rows; ++r) AppendMetadata(offset, event_time);
      next_ = offset + 1;
      started_ = true;
      ++n;
    }
    return n;
  }

  void AppendMetadata(uint64_t offset, int64_t event_time) {
    for (size_t i = 0; i < metadata_.size(); ++i) {
      switch (metadata_[i].kind) {
        case MetaKind::kOffset:
          builders_[i].AppendFixed<int64_t>(static_cast<int64_t>(offset));
          break;
        case MetaKind::kTimestamp:
          builders_[i].AppendFixed<int64_t>(event_time);
          break;
        case MetaKind::kStream:
          builders_[i].AppendString(options_.stream);
          break;
      }
    }
  }

  Status Emit(runtime::Collector& out) {
    auto b = TakeDecodedRows(*decoder_, schema_, &column_source_, &builders_, &event_times_,
                             &dropped_reported_, ctx_);
    if (b == nullptr) return Status::Ok();
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += b->num_rows;
    return out.Emit(b);
  }

  TableSpec spec_;
  RabbitOptions options_;
  std::string label_;
  runtime::OperatorContext* ctx_ = nullptr;
  std::vector<MetaColumn> metadata_;
  std::vector<int> column_source_;  // per column: >= 0 the decoder's, < 0 metadata -1 - value
  std::vector<batch::ColumnBuilder> builders_;  // one per metadata_ entry
  types::SchemaPtr schema_;
  std::unique_ptr<formats::Decoder> decoder_;
  std::unique_ptr<StreamConnection> conn_;
  bool subscribed_ = false;
  bool restored_ = false;
  bool started_ = false;                         // a record was read: next_ is the position
  uint64_t next_ = 0;                            // offset of the next record to emit
  std::map<int64_t, uint64_t> pending_commits_;  // checkpoint -> last offset it covers
  uint64_t stored_ = UINT64_MAX;
  Chunk chunk_;
  std::string scratch_;
  std::string padded_;
  std::vector<int64_t> event_times_;
  int64_t dropped_reported_ = 0;
};

class RabbitFactory : public runtime::OperatorFactory {
 public:
  RabbitFactory(const TableSpec& spec, RabbitOptions options)
      : spec_(spec), options_(std::move(options)) {}
  std::string name() const override { return "rabbitmq source"; }
  // No credentials: plans are shown to users and written to logs.
  std::string Describe() const override {
    return fmt::format("rabbitmq source {}:{} vhost={} stream={}", options_.connect.host,
                       options_.connect.port, options_.connect.virtual_host, options_.stream);
  }
  bool is_source() const override { return true; }
  bool checkpointable() const override { return true; }
  int max_parallelism() const override { return 1; }  // one stream: one reader
  Result<std::unique_ptr<runtime::SourceOperator>> CreateSource(int, int) const override {
    return std::unique_ptr<runtime::SourceOperator>(
        std::make_unique<RabbitSource>(spec_, options_));
  }

 private:
  TableSpec spec_;
  RabbitOptions options_;
};

class RabbitConnector : public Connector {
 public:
  explicit RabbitConnector(std::string name) : name_(std::move(name)) {}
  std::string name() const override { return name_; }
  bool can_source() const override { return true; }
  bool can_sink() const override { return false; }
  std::vector<std::string> option_keys() const override { return RabbitOptionKeys(); }
  std::string description() const override {
    return "RabbitMQ Streams source through the stream protocol (port 5552): exactly-once, the "
           "stream offset in checkpoints";
  }
  std::vector<OptionSpec> option_specs() const override { return RabbitOptionSpecs(); }
  bool provides_metadata() const override { return true; }
  Status Validate(TableSpec* spec) const override {
    SLUICE_RETURN_NOT_OK(ParseRabbitOptions(*spec).status());
    if (spec->metadata.empty()) return ValidateMessageFormat(spec);
    SLUICE_RETURN_NOT_OK(ResolveMetadata(*spec).status());
    SLUICE_RETURN_NOT_OK(ValidateByteSourceFormat(spec));
    const types::Schema values = ValueSchema(*spec);
    if (values.size() == 0) {
      return Status::User(
          "{} source '{}' has only metadata columns; declare the columns of the "
          "message too",
          spec->connector, spec->table_name);
    }
    return formats::MakeDecoder(spec->format, values, fmt::format("table '{}'", spec->table_name))
        .status();
  }
  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSource(
      const TableSpec& spec) const override {
    SLUICE_ASSIGN_OR_RETURN(RabbitOptions options, ParseRabbitOptions(spec));
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<RabbitFactory>(spec, std::move(options)));
  }

 private:
  std::string name_;
};

}  // namespace

std::unique_ptr<Connector> MakeRabbitmqConnector() {
  return std::make_unique<RabbitConnector>("rabbitmq");
}
std::unique_ptr<Connector> MakeRabbitmqStreamConnector() {
  return std::make_unique<RabbitConnector>("rabbitmq_stream");
}

}  // namespace sluice::connectors
