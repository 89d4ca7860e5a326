// blackhole: a sink that discards its rows, counting them; for benchmarks.

#include "connectors/connector.h"

namespace sluice::connectors {

namespace {

class BlackholeSink : public runtime::Operator {
 public:
  Status ProcessBatch(int input, const batch::BatchPtr& batch, runtime::Collector& out) override {
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += batch->num_rows;
    return Status::Ok();
  }
};

class BlackholeSinkFactory : public runtime::OperatorFactory {
 public:
  std::string name() const override { return "blackhole sink"; }
  std::string Describe() const override { return "blackhole sink"; }
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override {
    return std::unique_ptr<runtime::Operator>(std::make_unique<BlackholeSink>());
  }
};

class BlackholeConnector : public Connector {
 public:
  std::string name() const override { return "blackhole"; }
  bool can_source() const override { return false; }
  bool can_sink() const override { return true; }
  std::vector<std::string> option_keys() const override { return {}; }
  // Format options are accepted and ignored: swapping a real sink for a blackhole in a
  // benchmark should not require editing its options.
  Status Validate(TableSpec* spec) const override { return Status::Ok(); }
  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSink(
      const TableSpec& spec) const override {
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<BlackholeSinkFactory>());
  }
};

}  // namespace

std::unique_ptr<Connector> MakeBlackholeConnector() {
  return std::make_unique<BlackholeConnector>();
}

}  // namespace sluice::connectors
