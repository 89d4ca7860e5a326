// stdout: encoded lines on the process's standard output.

#include <cstdio>
#include <mutex>

#include <fmt/format.h>

#include "connectors/connector.h"
#include "connectors/stdout_sink.h"

namespace sluice::connectors {

namespace {

// Subtasks of every stdout-like sink share the stream; a batch is written under this lock so
// lines of different subtasks never interleave.
std::mutex& StdoutMutex() {
  static std::mutex mutex;
  return mutex;
}

class StdoutSink : public runtime::Operator {
 public:
  StdoutSink(const TableSpec& spec, std::shared_ptr<LineSink> target, std::string name, int subtask)
      : spec_(spec), target_(std::move(target)), name_(std::move(name)), subtask_(subtask) {}

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    if (spec_.schema.size() > 0) {
      SLUICE_ASSIGN_OR_RETURN(encoder_, formats::MakeEncoder(spec_.format, spec_.schema));
    }
    return Status::Ok();
  }

  Status ProcessBatch(int input, const batch::BatchPtr& batch, runtime::Collector& out) override {
    if (batch->num_rows == 0) return Status::Ok();
    if (encoder_ == nullptr) {
      SLUICE_ASSIGN_OR_RETURN(encoder_, formats::MakeEncoder(spec_.format, *batch->schema));
    }
    buffer_.clear();
    SLUICE_RETURN_NOT_OK(encoder_->Encode(*batch, &buffer_));
    if (target_ != nullptr) {
      target_->Write(name_, subtask_, buffer_, batch->num_rows);
    } else {
      std::lock_guard<std::mutex> lock(StdoutMutex());
      size_t written = std::fwrite(buffer_.data(), 1, buffer_.size(), stdout);
      // Flushed per batch: a reader of a pipe sees rows as they are produced.
      if (written != buffer_.size() || std::fflush(stdout) != 0) {
        return Status::Io("cannot write to standard output");
      }
    }
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += batch->num_rows;
    return Status::Ok();
  }

 private:
  TableSpec spec_;
  std::shared_ptr<LineSink> target_;  // null: standard output
  std::string name_;
  int subtask_;
  std::unique_ptr<formats::Encoder> encoder_;
  std::string buffer_;
};

class StdoutSinkFactory : public runtime::OperatorFactory {
 public:
  StdoutSinkFactory(const TableSpec& spec, std::string connector_name,
                    std::shared_ptr<LineSink> target = nullptr)
      : spec_(spec), connector_name_(std::move(connector_name)), target_(std::move(target)) {}
  std::string name() const override { return connector_name_ + " sink"; }
  std::string Describe() const override {
    return fmt::format("{} format={}", name(), spec_.format.format);
  }
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override {
    return std::unique_ptr<runtime::Operator>(
        std::make_unique<StdoutSink>(spec_, target_, spec_.table_name, subtask));
  }
  std::shared_ptr<const runtime::OperatorFactory> RedirectedTo(
      std::shared_ptr<LineSink> target) const {
    return std::make_shared<StdoutSinkFactory>(spec_, connector_name_, std::move(target));
  }

 private:
  TableSpec spec_;
  std::string connector_name_;
  std::shared_ptr<LineSink> target_;
};

class StdoutConnector : public Connector {
 public:
  std::string name() const override { return "stdout"; }
  bool can_source() const override { return false; }
  bool can_sink() const override { return true; }
  std::vector<std::string> option_keys() const override { return {}; }

  Status Validate(TableSpec* spec) const override {
    if (spec->format.format.empty()) spec->format.format = "json";
    if (spec->schema.size() > 0) {
      SLUICE_RETURN_NOT_OK(formats::MakeEncoder(spec->format, spec->schema).status());
    }
    return Status::Ok();
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSink(
      const TableSpec& spec) const override {
    TableSpec copy = spec;
    if (copy.format.format.empty()) copy.format.format = "json";
    if (copy.schema.size() > 0) {
      SLUICE_RETURN_NOT_OK(formats::MakeEncoder(copy.format, copy.schema).status());
    }
    return MakeStdoutSinkFactory(copy, name());
  }
};

}  // namespace

std::shared_ptr<const runtime::OperatorFactory> MakeStdoutSinkFactory(
    const TableSpec& spec, const std::string& connector_name) {
  return std::make_shared<StdoutSinkFactory>(spec, connector_name);
}

int RedirectStdoutSinks(runtime::DataflowGraph* graph, std::shared_ptr<LineSink> target) {
  int replaced = 0;
  for (auto& node : graph->nodes) {
    for (auto& factory : node.chain) {
      if (const auto* sink = dynamic_cast<const StdoutSinkFactory*>(factory.get())) {
        factory = sink->RedirectedTo(target);
        ++replaced;
      }
    }
  }
  return replaced;
}

std::unique_ptr<Connector> MakeStdoutConnector() {
  return std::make_unique<StdoutConnector>();
}

}  // namespace sluice::connectors
