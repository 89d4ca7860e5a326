// impulse: a generated stream of counters at a given rate, for tests and benchmarks.
//
// Subtask s of P emits the global counters s, s+P, s+2P, ... so the union over subtasks is
// 0..N-1 whatever the parallelism. With event_time_interval the timestamps are
// counter * interval from the epoch, which makes a run's output deterministic.

#include <cctype>
#include <charconv>
#include <cmath>
#include <limits>
#include "common/text.h"

#include <fmt/format.h>

#include "batch/serialize.h"
#include "connectors/connector.h"
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

std::optional<uint64_t> ParseCount(const std::string& raw) {
  std::string text = std::string(TrimAsciiSpace(raw));
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

Result<ImpulseOptions> ParseOptions(const std::map<std::string, std::string>& options) {
  ImpulseOptions out;
  auto rate = options.find("event_rate");
  if (rate == options.end()) {
    return Status::User("missing option 'event_rate' (rows per second) for connector 'impulse'");
  }
  {
    const std::string text = std::string(TrimAsciiSpace(rate->second));
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || end != text.c_str() + text.size() || !std::isfinite(v) || v <= 0) {
      return Status::User(
          "invalid value '{}' for option 'event_rate'; use a positive number of rows per second",
          text);
    }
    out.event_rate = v;
  }
  if (auto it = options.find("message_count"); it != options.end()) {
    out.message_count = ParseCount(it->second);
    if (!out.message_count) {
      return Status::User(
          "invalid value '{}' for option 'message_count'; use a non-negative integer", it->second);
    }
  }
  if (auto it = options.find("event_time_interval"); it != options.end()) {
    // Microseconds, as in Arroyo; an interval text ('1 second') is accepted too.
    if (auto micros = ParseCount(it->second);
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

class ImpulseSource : public runtime::SourceOperator {
 public:
  ImpulseSource(const ImpulseOptions& options, int subtask, int parallelism)
      : options_(options),
        schema_(std::make_shared<const types::Schema>(ImpulseSchema())),
        subtask_(static_cast<uint64_t>(subtask)),
        parallelism_(static_cast<uint64_t>(std::max(parallelism, 1))),
        rate_(options.event_rate / static_cast<double>(parallelism_)) {
    if (options.message_count) {
      uint64_t n = *options.message_count;
      total_ = n > subtask_ ? (n - subtask_ + parallelism_ - 1) / parallelism_ : 0;
    }
  }

  Result<runtime::SourcePoll> Poll(runtime::Collector& out) override {
    if (ctx_ && ctx_->stop_requested && ctx_->stop_requested->load()) {
      return runtime::SourcePoll::Finished();
    }
    if (emitted_ >= total_) return runtime::SourcePoll::Finished();
    const ProcessingTime now = Now();
    if (!started_) {
      start_ = now;
      started_ = true;
    }
    // Rows due by now: one at the start, then one every 1/rate seconds (counted from the
    // position a resumed run restored).
    double elapsed = static_cast<double>(now.value - start_.value) / 1e6;
    double due_f = std::floor(rate_ * elapsed) + 1 + static_cast<double>(resumed_at_);
    uint64_t due = due_f >= static_cast<double>(total_) ? total_ : static_cast<uint64_t>(due_f);
    if (due <= emitted_) return runtime::SourcePoll::WaitUntil(NextDue());

    auto n = static_cast<int64_t>(
        std::min<uint64_t>(due - emitted_, static_cast<uint64_t>(options_.batch_rows)));
    SLUICE_RETURN_NOT_OK(out.Emit(MakeBatch(n, now)));
    emitted_ += static_cast<uint64_t>(n);
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += n;
    if (emitted_ >= total_) return runtime::SourcePoll::Finished();
    if (due > emitted_) return runtime::SourcePoll::More();
    return runtime::SourcePoll::WaitUntil(NextDue());
  }

  // The position is the number of rows this subtask emitted; its counters are
  // subtask + k * parallelism, so a position only means something at the same parallelism.
  Status Snapshot(int64_t checkpoint, runtime::StateWriter& state) override {
    std::string bytes;
    batch::ByteWriter w(&bytes);
    w.Put<uint8_t>(kStateVersion);
    w.Put<uint64_t>(parallelism_);
    w.Put<uint64_t>(emitted_);
    state.Put("position", bytes);
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    if (static_cast<uint64_t>(state.previous_parallelism()) != parallelism_) {
      return Status::NotSupported(
          "checkpoint {} was taken at parallelism {}; resuming an impulse source at another "
          "parallelism ({}) is not supported yet",
          state.checkpoint(), state.previous_parallelism(), parallelism_);
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
    if (parallelism != parallelism_) return r.Corrupt("parallelism mismatch");
    emitted_ = std::min(emitted, total_);
    resumed_at_ = emitted_;
    return Status::Ok();
  }

 private:
  static constexpr uint8_t kStateVersion = 1;

  // When row number `emitted_` of this subtask falls due; one microsecond late rather than
  // early, so the poll then finds it due despite rounding.
  ProcessingTime NextDue() const {
    double offset = std::ceil(static_cast<double>(emitted_ - resumed_at_) * 1e6 / rate_) + 1;
    if (offset > 1e17) offset = 1e17;
    return ProcessingTime{start_.value + static_cast<int64_t>(offset)};
  }

  batch::BatchPtr MakeBatch(int64_t n, ProcessingTime now) const {
    auto timestamps = batch::Column::MakeFixed(types::Timestamp(), n);
    auto counters = batch::Column::MakeFixed(types::UInt64(), n);
    auto subtasks = batch::Column::MakeFixed(types::UInt64(), n);
    auto* ts = timestamps->mutable_raw<int64_t>();
    auto* cs = counters->mutable_raw<uint64_t>();
    auto* ss = subtasks->mutable_raw<uint64_t>();
    for (int64_t i = 0; i < n; ++i) {
      uint64_t counter = subtask_ + (emitted_ + static_cast<uint64_t>(i)) * parallelism_;
      cs[i] = counter;
      ss[i] = subtask_;
      ts[i] = options_.event_time_interval
                  ? static_cast<int64_t>(counter) * *options_.event_time_interval
                  : now.value;
    }
    auto b = std::make_shared<batch::Batch>();
    b->schema = schema_;
    b->columns = {timestamps, counters, subtasks};
    b->event_time = timestamps;
    b->num_rows = n;
    return b;
  }

  ImpulseOptions options_;
  types::SchemaPtr schema_;
  uint64_t subtask_;
  uint64_t parallelism_;
  double rate_;  // rows per second of this subtask
  uint64_t total_ = std::numeric_limits<uint64_t>::max();
  uint64_t emitted_ = 0;
  uint64_t resumed_at_ = 0;  // emitted_ restored from a checkpoint
  bool started_ = false;
  ProcessingTime start_;
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
