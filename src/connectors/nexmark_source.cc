// nexmark: the source operator and connector of the Nexmark event stream (the generator is in
// nexmark.cc; see nexmark.h and docs/connectors.md).

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "batch/serialize.h"
#include "connectors/connector.h"
#include "connectors/generated_source.h"
#include "connectors/nexmark.h"
#include "connectors/source_batch.h"

namespace sluice::connectors {

namespace {

struct NexmarkOptions {
  double event_rate = 0;                // emission pace, events/s over all subtasks; 0 = max
  std::optional<uint64_t> events;       // total events (after `runtime` is applied)
  std::optional<double> runtime;        // seconds of event time
  nexmark::GeneratorOptions generator;  // nominal rate (timestamps) and seed
  int64_t batch_rows = kDefaultBatchRows;
};

Result<NexmarkOptions> ParseOptions(const std::map<std::string, std::string>& options) {
  NexmarkOptions out;
  if (auto it = options.find("event_rate"); it != options.end()) {
    auto v = ParseNumberOption(it->second);
    if (!v || *v < 0) {
      return Status::User(
          "invalid value '{}' for option 'event_rate'; use a non-negative number of events per "
          "second (0: as fast as possible)",
          it->second);
    }
    out.event_rate = *v;
  }
  out.generator.nominal_rate = out.event_rate > 0 ? out.event_rate : nexmark::kDefaultNominalRate;
  if (auto it = options.find("first_event_rate"); it != options.end()) {
    auto v = ParseNumberOption(it->second);
    if (!v || *v <= 0) {
      return Status::User(
          "invalid value '{}' for option 'first_event_rate'; use a positive number of events "
          "per second",
          it->second);
    }
    out.generator.nominal_rate = *v;
  }
  if (auto it = options.find("events"); it != options.end()) {
    out.events = ParseUnsignedOption(it->second);
    if (!out.events) {
      return Status::User("invalid value '{}' for option 'events'; use a non-negative integer",
                          it->second);
    }
  }
  if (auto it = options.find("runtime"); it != options.end()) {
    auto v = ParseNumberOption(it->second);
    if (!v || *v < 0) {
      return Status::User("invalid value '{}' for option 'runtime'; use a number of seconds",
                          it->second);
    }
    out.runtime = *v;
    // The events whose timestamps fall within the first `runtime` seconds (as Arroyo:
    // rate × runtime events).
    auto n = static_cast<uint64_t>(std::floor(out.generator.nominal_rate * *v));
    out.events = out.events ? std::min(*out.events, n) : n;
  }
  if (auto it = options.find("seed"); it != options.end()) {
    auto v = ParseUnsignedOption(it->second);
    if (!v) {
      return Status::User("invalid value '{}' for option 'seed'; use a non-negative integer",
                          it->second);
    }
    out.generator.seed = *v;
  }
  return out;
}

class NexmarkSource : public StridedGeneratorSource {
 public:
  NexmarkSource(const NexmarkOptions& options,
                std::shared_ptr<const nexmark::BatchGenerator> generator, int subtask,
                int parallelism)
      : StridedGeneratorSource(subtask, parallelism, options.event_rate, options.events,
                               options.batch_rows),
        generator_(std::move(generator)) {}

  // The position is the number of events this subtask generated: its event ids are
  // subtask + k * parallelism, so a position means something only at the same parallelism.
  Status Snapshot(int64_t checkpoint, runtime::StateWriter& state) override {
    std::string bytes;
    batch::ByteWriter w(&bytes);
    w.Put<uint8_t>(kStateVersion);
    w.Put<uint64_t>(parallelism());
    w.Put<uint64_t>(subtask());
    w.Put<uint64_t>(emitted());
    state.Put("position", bytes);
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    if (static_cast<uint64_t>(state.previous_parallelism()) != parallelism()) {
      return Status::NotSupported(
          "checkpoint {} was taken at parallelism {}; resuming a nexmark source at another "
          "parallelism ({}) is not supported yet: resume at --parallelism {}",
          state.checkpoint(), state.previous_parallelism(), parallelism(),
          state.previous_parallelism());
    }
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, state.Get("position"));
    if (!bytes) return Status::Ok();
    batch::ByteReader r(*bytes, "nexmark source state");
    uint8_t version = 0;
    uint64_t parallelism = 0, subtask = 0, emitted = 0;
    SLUICE_RETURN_NOT_OK(r.Get(&version));
    if (version != kStateVersion) return r.Corrupt("unknown version");
    SLUICE_RETURN_NOT_OK(r.Get(&parallelism));
    SLUICE_RETURN_NOT_OK(r.Get(&subtask));
    SLUICE_RETURN_NOT_OK(r.Get(&emitted));
    if (!r.empty()) return r.Corrupt("trailing bytes");
    if (parallelism != this->parallelism() || subtask != this->subtask()) {
      return r.Corrupt("written by another subtask");
    }
    if (emitted > total()) {
      return r.Corrupt(
          fmt::format("position {} is past the {} events of this subtask", emitted, total()));
    }
    Resume(emitted);
    return Status::Ok();
  }

 private:
  static constexpr uint8_t kStateVersion = 1;

  Result<batch::BatchPtr> MakeBatch(uint64_t first, int64_t n, ProcessingTime) override {
    return generator_->Generate(first, parallelism(), n);
  }

  std::shared_ptr<const nexmark::BatchGenerator> generator_;
};

class NexmarkSourceFactory : public runtime::OperatorFactory {
 public:
  NexmarkSourceFactory(NexmarkOptions options,
                       std::shared_ptr<const nexmark::BatchGenerator> generator)
      : options_(options), generator_(std::move(generator)) {}
  std::string name() const override { return "nexmark source"; }
  std::string Describe() const override {
    std::string s = fmt::format("nexmark source event_rate={} first_event_rate={}",
                                options_.event_rate, options_.generator.nominal_rate);
    if (options_.events) s += fmt::format(" events={}", *options_.events);
    if (options_.generator.seed != 0) s += fmt::format(" seed={}", options_.generator.seed);
    return s;
  }
  bool is_source() const override { return true; }
  bool checkpointable() const override { return true; }  // its position: events generated
  Result<std::unique_ptr<runtime::SourceOperator>> CreateSource(int subtask,
                                                                int parallelism) const override {
    return std::unique_ptr<runtime::SourceOperator>(
        std::make_unique<NexmarkSource>(options_, generator_, subtask, parallelism));
  }

 private:
  NexmarkOptions options_;
  std::shared_ptr<const nexmark::BatchGenerator> generator_;
};

class NexmarkConnector : public Connector {
 public:
  std::string name() const override { return "nexmark"; }
  bool can_source() const override { return true; }
  bool can_sink() const override { return false; }
  std::optional<types::Schema> fixed_schema() const override { return nexmark::NexmarkSchema(); }
  // The generator produces any subset of columns and struct fields.
  bool reads_narrowed_schema(const TableSpec&) const override { return true; }
  std::vector<std::string> option_keys() const override {
    return {"event_rate", "first_event_rate", "events", "runtime", "seed"};
  }

  Status Validate(TableSpec* spec) const override {
    SLUICE_RETURN_NOT_OK(ValidateGeneratedColumns("nexmark", nexmark::NexmarkSchema(), spec));
    SLUICE_ASSIGN_OR_RETURN(NexmarkOptions options, ParseOptions(spec->options));
    spec->finite = options.events.has_value();
    return Status::Ok();
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSource(
      const TableSpec& spec) const override {
    SLUICE_ASSIGN_OR_RETURN(NexmarkOptions options, ParseOptions(spec.options));
    options.batch_rows = spec.batch_rows;
    // The columns (and struct fields) to produce: the table's, or fewer when the planner has
    // narrowed the source to what the query reads.
    auto schema = std::make_shared<const types::Schema>(
        spec.schema.size() == 0 ? nexmark::NexmarkSchema() : spec.schema);
    SLUICE_ASSIGN_OR_RETURN(nexmark::BatchGenerator generator,
                            nexmark::BatchGenerator::Make(schema, options.generator));
    return std::shared_ptr<const runtime::OperatorFactory>(std::make_shared<NexmarkSourceFactory>(
        options, std::make_shared<const nexmark::BatchGenerator>(std::move(generator))));
  }
};

}  // namespace

std::unique_ptr<Connector> MakeNexmarkConnector() {
  return std::make_unique<NexmarkConnector>();
}

}  // namespace sluice::connectors
