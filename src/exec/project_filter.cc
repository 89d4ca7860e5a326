#include "exec/project_filter.h"

#include <algorithm>

#include "expr/evaluator.h"

namespace sluice::exec {

using batch::Batch;
using batch::BatchPtr;

namespace {

class ProjectFilterOperator : public runtime::Operator {
 public:
  ProjectFilterOperator(expr::BoundExprPtr predicate, std::vector<expr::BoundExprPtr> projections,
                        types::SchemaPtr output_schema)
      : predicate_(std::move(predicate)),
        projections_(std::move(projections)),
        output_schema_(std::move(output_schema)) {
    std::vector<int> cols;
    for (const auto& p : projections_) p->CollectColumns(&cols);
    std::sort(cols.begin(), cols.end());
    cols.erase(std::unique(cols.begin(), cols.end()), cols.end());
    used_columns_ = std::move(cols);
  }

  Status ProcessBatch(int, const BatchPtr& input, runtime::Collector& out) override {
    BatchPtr rows = input;
    if (predicate_) {
      auto selected = expr::SelectRows(*predicate_, *input);
      if (!selected.ok()) return selected.status();
      if (selected->empty()) return Status::Ok();
      if (static_cast<int64_t>(selected->size()) != input->num_rows) {
        // Gather only the columns the projection reads.
        auto filtered = std::make_shared<Batch>();
        filtered->schema = input->schema;
        filtered->num_rows = static_cast<int64_t>(selected->size());
        filtered->columns.resize(input->columns.size());
        const auto& cols = projections_.empty() ? AllColumns(input->columns.size()) : used_columns_;
        for (int c : cols) {
          filtered->columns[static_cast<size_t>(c)] =
              batch::FilterColumn(*input->columns[static_cast<size_t>(c)], *selected);
        }
        filtered->event_time = batch::FilterColumn(*input->event_time, *selected);
        if (input->change_kind) {
          filtered->change_kind = batch::FilterColumn(*input->change_kind, *selected);
        }
        if (input->splits) {
          filtered->splits = std::make_shared<const batch::SourceSplits>(batch::SourceSplits{
              batch::FilterColumn(*input->splits->row_split, *selected), input->splits->live});
        }
        rows = filtered;
      }
    }
    if (projections_.empty()) {
      if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += rows->num_rows;
      return out.Emit(rows);
    }
    auto result = std::make_shared<Batch>();
    result->schema = output_schema_;
    result->num_rows = rows->num_rows;
    result->event_time = rows->event_time;
    result->change_kind = rows->change_kind;
    result->splits = rows->splits;  // between a source and its watermark generator
    result->columns.reserve(projections_.size());
    for (const auto& p : projections_) {
      auto c = expr::Evaluate(*p, *rows);
      if (!c.ok()) return c.status();
      result->columns.push_back(c.MoveValue());
    }
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += result->num_rows;
    return out.Emit(result);
  }

 private:
  const std::vector<int>& AllColumns(size_t n) {
    if (all_columns_.size() != n) {
      all_columns_.resize(n);
      for (size_t i = 0; i < n; ++i) all_columns_[i] = static_cast<int>(i);
    }
    return all_columns_;
  }

  expr::BoundExprPtr predicate_;
  std::vector<expr::BoundExprPtr> projections_;
  types::SchemaPtr output_schema_;
  std::vector<int> used_columns_;
  std::vector<int> all_columns_;
};

}  // namespace

ProjectFilterFactory::ProjectFilterFactory(expr::BoundExprPtr predicate,
                                           std::vector<expr::BoundExprPtr> projections,
                                           types::SchemaPtr output_schema)
    : predicate_(std::move(predicate)),
      projections_(std::move(projections)),
      output_schema_(std::move(output_schema)) {}

std::string ProjectFilterFactory::name() const {
  if (predicate_ && !projections_.empty()) return "filter_project";
  return predicate_ ? "filter" : "project";
}

std::string ProjectFilterFactory::Describe() const {
  std::string s = name();
  if (predicate_) s += " where " + predicate_->ToString();
  if (!projections_.empty()) {
    s += " select ";
    for (size_t i = 0; i < projections_.size(); ++i) {
      if (i) s += ", ";
      s += projections_[i]->ToString() + " AS " + output_schema_->field(i).name;
    }
  }
  return s;
}

Result<std::unique_ptr<runtime::Operator>> ProjectFilterFactory::Create(int, int) const {
  return std::unique_ptr<runtime::Operator>(
      std::make_unique<ProjectFilterOperator>(predicate_, projections_, output_schema_));
}

}  // namespace sluice::exec
