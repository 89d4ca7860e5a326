#include "exec/unnest.h"

#include <fmt/format.h>

namespace sluice::exec {

using batch::Batch;
using batch::BatchPtr;

namespace {

class UnnestOperator : public runtime::Operator {
 public:
  UnnestOperator(int list_column, types::SchemaPtr output_schema)
      : list_column_(list_column), output_schema_(std::move(output_schema)) {}

  Status ProcessBatch(int, const BatchPtr& b, runtime::Collector& out) override {
    const batch::Column& list = *b->columns[static_cast<size_t>(list_column_)];
    const int32_t* offsets = list.offsets();
    rows_.clear();
    elements_.clear();
    for (int64_t i = 0; i < b->num_rows; ++i) {
      if (list.IsNull(i)) continue;
      for (int32_t e = offsets[i]; e < offsets[i + 1]; ++e) {
        rows_.push_back(static_cast<int32_t>(i));
        elements_.push_back(e);
      }
    }
    if (rows_.empty()) return Status::Ok();
    const auto n = static_cast<int64_t>(rows_.size());
    auto result = std::make_shared<Batch>();
    result->schema = output_schema_;
    result->num_rows = n;
    for (const auto& c : b->columns) result->columns.push_back(batch::Take(*c, rows_.data(), n));
    result->columns.push_back(batch::Take(*list.children[0], elements_.data(), n));
    result->event_time = batch::Take(*b->event_time, rows_.data(), n);
    if (b->change_kind) result->change_kind = batch::Take(*b->change_kind, rows_.data(), n);
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += n;
    return out.Emit(result);
  }

 private:
  int list_column_;
  types::SchemaPtr output_schema_;
  std::vector<int32_t> rows_, elements_;
};

}  // namespace

std::string UnnestFactory::Describe() const {
  return fmt::format("unnest ${} {}", list_column_, output_schema_->ToString());
}

Result<std::unique_ptr<runtime::Operator>> UnnestFactory::Create(int, int) const {
  return std::unique_ptr<runtime::Operator>(
      std::make_unique<UnnestOperator>(list_column_, output_schema_));
}

}  // namespace sluice::exec
