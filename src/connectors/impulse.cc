// impulse: a generated stream of counters at a given rate, for tests and benchmarks.
//
// Subtask s of P emits the global counters s, s+P, s+2P, ... so the union over subtasks is
// 0..N-1 whatever the parallelism. With event_time_interval the timestamps are
// counter * interval from the epoch, which makes a run's output deterministic.

#include <limits>

#include <fmt/format.h>

#include "batch/serialize.h"
#include "common/text.h"
#include "connectors/connector.h"
#include "connectors/generated_source.h"
#include "connectors/source_batch.h"
#include "expr/cast.h"

namespace sluice::connectors {

namespace {

using types::DataType;
using types::TypeId;

types::Schema ImpulseSchema() {
  return types::Schema({{"timestamp", types::Timestamp(), false},
                        {"counter", types::UInt64(), false},
                        {"subtask_index", types::UInt64(), false}});
}

struct ImpulseOptions {
  double event_rate = 0;                       // rows per second, all subtasks together
  std::optional<uint64_t> message_count;       // rows in total, all subtasks together
  std::optional<int64_t> event_time_interval;  // µs between consecutive counters' timestamps
  int64_t batch_rows = kDefaultBatchRows;
};

Result<ImpulseOptions> ParseOptions(const std::map<std::string, std::string>& options) {
  ImpulseOptions out;
  auto rate = options.find("event_rate");
  if (rate == options.end()) {
    return Status::User("missing option 'event_rate' (rows per second) for connector 'impulse'");
  }
  {
    std::optional<double> v = ParseNumberOption(rate->second);
    if (!v || *v <= 0) {
      return Status::User(
          "invalid value '{}' for option 'event_rate'; use a positive number of rows per second",
          TrimAsciiSpace(rate->second));
    }
    out.event_rate = *v;
  }
  if (auto it = options.find("message_count"); it != options.end()) {
    out.message_count = ParseUnsignedOption(it->second);
    if (!out.message_count) {
      return Status::User(
          "invalid value '{}' for option 'message_count'; use a non-negative integer", it->second);
    }
  }
  if (auto it = options.find("event_time_interval"); it != options.end()) {
    // Microseconds, as in Arroyo; an interval text ('1 second') is accepted too.
    if (auto micros = ParseUnsignedOption(it->second);
        micros && *micros <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      out.event_time_interval = static_cast<int64_t>(*micros);
    } else {
      auto iv = expr::ParseInterval(it->second);
      if (!iv.ok() || iv->months != 0 || iv->days < 0 || iv->micros < 0) {
        return Status::User(
            "invalid value '{}' for option 'event_time_interval'; use a non-negative number of "
            "microseconds",
            it->second);
      }
      out.event_time_interval = iv->days * 86400000000LL + iv->micros;
    }
  }
  return out;
}

class ImpulseSource : public StridedGeneratorSource {
 public:
  ImpulseSource(const ImpulseOptions& options, int subtask, int parallelism)
      : StridedGeneratorSource(subtask, parallelism, options.event_rate, options.message_count,
                               options.batch_rows),
        options_(options),
        schema_(std::make_shared<const types::Schema>(ImpulseSchema())) {}

  // The position is the number of rows this subtask emitted; its counters are
  // subtask + k * parallelism, so a position only means something at the same parallelism.
  Status Snapshot(int64_t checkpoint, runtime::StateWriter& state) override {
    std::string bytes;
    batch::ByteWriter w(&bytes);
    w.Put<uint8_t>(kStateVersion);
    w.Put<uint64_t>(parallelism());
    w.Put<uint64_t>(emitted());
    state.Put("position", bytes);
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    if (static_cast<uint64_t>(state.previous_parallelism()) != parallelism()) {
      return Status::NotSupported(
          "checkpoint {} was taken at parallelism {}; resuming an impulse source at another "
          "parallelism ({}) is not supported yet",
          state.checkpoint(), state.previous_parallelism(), parallelism());
    }
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, state.Get("position"));
    if (!bytes) return Status::Ok();
    batch::ByteReader r(*bytes, "impulse source state");
    uint8_t version = 0;
    uint64_t parallelism = 0, emitted = 0;
    SLUICE_RETURN_NOT_OK(r.Get(&version));
    if (version != kStateVersion) return r.Corrupt("unknown version");
    SLUICE_RETURN_NOT_OK(r.Get(&parallelism));
    SLUICE_RETURN_NOT_OK(r.Get(&emitted));
    if (parallelism != this->parallelism()) return r.Corrupt("parallelism mismatch");
    Resume(emitted);
    return Status::Ok();
  }

 private:
  static constexpr uint8_t kStateVersion = 1;

  Result<batch::BatchPtr> MakeBatch(uint64_t first, int64_t n, ProcessingTime now) override {
    auto timestamps = batch::Column::MakeFixed(types::Timestamp(), n);
    auto counters = batch::Column::MakeFixed(types::UInt64(), n);
    auto subtasks = batch::Column::MakeFixed(types::UInt64(), n);
    auto* ts = timestamps->mutable_raw<int64_t>();
    auto* cs = counters->mutable_raw<uint64_t>();
    auto* ss = subtasks->mutable_raw<uint64_t>();
    const uint64_t stride = parallelism();
    for (int64_t i = 0; i < n; ++i) {
      uint64_t counter = first + static_cast<uint64_t>(i) * stride;
      cs[i] = counter;
      ss[i] = subtask();
      ts[i] = options_.event_time_interval
                  ? static_cast<int64_t>(counter) * *options_.event_time_interval
                  : now.value;
    }
    auto b = std::make_shared<batch::Batch>();
    b->schema = schema_;
    b->columns = {timestamps, counters, subtasks};
    b->event_time = timestamps;
    b->num_rows = n;
    return batch::BatchPtr(std::move(b));
  }

  ImpulseOptions options_;
  types::SchemaPtr schema_;
};

class ImpulseSourceFactory : public runtime::OperatorFactory {
 public:
  explicit ImpulseSourceFactory(ImpulseOptions options) : options_(options) {}
  std::string name() const override { return "impulse source"; }
  std::string Describe() const override {
    std::string s = fmt::format("impulse source event_rate={}", options_.event_rate);
    if (options_.message_count) s += fmt::format(" message_count={}", *options_.message_count);
    if (options_.event_time_interval) {
      s += fmt::format(" event_time_interval={}", *options_.event_time_interval);
    }
    return s;
  }
  bool is_source() const override { return true; }
  bool checkpointable() const override { return true; }  // its position: rows emitted
  Result<std::unique_ptr<runtime::SourceOperator>> CreateSource(int subtask,
                                                                int parallelism) const override {
    return std::unique_ptr<runtime::SourceOperator>(
        std::make_unique<ImpulseSource>(options_, subtask, parallelism));
  }

 private:
  ImpulseOptions options_;
};

class ImpulseConnector : public Connector {
 public:
  std::string name() const override { return "impulse"; }
  bool can_source() const override { return true; }
  bool can_sink() const override { return false; }
  std::optional<types::Schema> fixed_schema() const override { return ImpulseSchema(); }
  std::vector<std::string> option_keys() const override {
    return {"event_rate", "message_count", "event_time_interval"};
  }

  Status Validate(TableSpec* spec) const override {
    SLUICE_RETURN_NOT_OK(ValidateGeneratedColumns("impulse", ImpulseSchema(), spec));
    SLUICE_ASSIGN_OR_RETURN(ImpulseOptions options, ParseOptions(spec->options));
    spec->finite = options.message_count.has_value();
    return Status::Ok();
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSource(
      const TableSpec& spec) const override {
    SLUICE_ASSIGN_OR_RETURN(ImpulseOptions options, ParseOptions(spec.options));
    options.batch_rows = spec.batch_rows;
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<ImpulseSourceFactory>(options));
  }
};

}  // namespace

std::unique_ptr<Connector> MakeImpulseConnector() {
  return std::make_unique<ImpulseConnector>();
}

}  // namespace sluice::connectors
