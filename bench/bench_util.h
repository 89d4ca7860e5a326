#pragma once
// Helpers shared by the operator benchmarks: a collector that counts what it receives, and a
// BIGINT aggregate call bound by name.

#include <string>
#include <vector>

#include "exec/window_spec.h"
#include "expr/aggregate.h"
#include "runtime/operator.h"

namespace sluice::bench {

class CountingCollector : public runtime::Collector {
 public:
  Status Emit(const batch::BatchPtr& b) override {
    rows += b->num_rows;
    return Status::Ok();
  }
  Status EmitWatermark(Watermark) override { return Status::Ok(); }
  int64_t rows = 0;
};

// `name`(columns `args`) over BIGINT arguments; no arguments means `name(*)`.
inline exec::AggregateCall Call(const std::string& name, std::vector<int> args) {
  expr::AggregateBindInput in;
  for (size_t i = 0; i < args.size(); ++i) {
    in.types.push_back(types::Int64());
    in.constants.push_back(std::nullopt);
  }
  in.star = args.empty();
  exec::AggregateCall c;
  c.aggregate = expr::AggregateRegistry::Get().Bind(name, in).MoveValue();
  c.arg_columns = std::move(args);
  c.display = name;
  return c;
}

}  // namespace sluice::bench
