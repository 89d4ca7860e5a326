#include "exec/updating_aggregate.h"

#include <fmt/format.h>

#include "batch/column_builder.h"
#include "exec/group_table.h"

namespace sluice::exec {

using batch::Batch;
using batch::BatchPtr;
using batch::ChangeKind;
using batch::Column;
using batch::ColumnPtr;
using types::Value;

namespace {

class UpdatingAggregateOperator : public runtime::Operator {
 public:
  UpdatingAggregateOperator(const std::vector<types::DataType>& key_types,
                            const std::vector<AggregateCall>& aggregates,
                            types::SchemaPtr output_schema, int64_t flush_interval)
      : key_types_(key_types),
        aggregates_(aggregates),
        output_schema_(std::move(output_schema)),
        flush_interval_(flush_interval),
        groups_(key_types) {
    for (const auto& a : aggregates_) states_.push_back(a.aggregate.function->NewState());
  }

  Status ProcessBatch(int, const BatchPtr& input, runtime::Collector& out) override {
    if (input->change_kind) {
      return Status::NotSupported("aggregating an updating stream is not supported yet");
    }
    int64_t n = input->num_rows;
    std::vector<ColumnPtr> keys(
        input->columns.begin(),
        input->columns.begin() + static_cast<std::ptrdiff_t>(key_types_.size()));
    groups_.FindOrInsert(keys, nullptr, n, &group_ids_);
    for (auto& s : states_) s->Resize(groups_.size());
    if (dirty_.size() < static_cast<size_t>(groups_.size())) {
      dirty_.resize(static_cast<size_t>(groups_.size()), 0);
      emitted_.resize(static_cast<size_t>(groups_.size()));
    }
    for (uint32_t g : group_ids_) {
      if (!dirty_[g]) {
        dirty_[g] = 1;
        dirty_list_.push_back(g);
      }
    }
    std::vector<ColumnPtr> args;
    for (size_t a = 0; a < states_.size(); ++a) {
      const AggregateCall& call = aggregates_[a];
      args.clear();
      for (int c : call.arg_columns) args.push_back(input->columns[static_cast<size_t>(c)]);
      if (call.filter_column < 0) {
        SLUICE_RETURN_NOT_OK(states_[a]->Update(args, group_ids_.data(), n));
        continue;
      }
      const Column& f = *input->columns[static_cast<size_t>(call.filter_column)];
      std::vector<int32_t> keep;
      std::vector<uint32_t> ids;
      for (int64_t i = 0; i < n; ++i) {
        if (f.IsValid(i) && f.GetBool(i)) {
          keep.push_back(static_cast<int32_t>(i));
          ids.push_back(group_ids_[static_cast<size_t>(i)]);
        }
      }
      if (keep.empty()) continue;
      for (auto& arg : args) arg = batch::FilterColumn(*arg, keep);
      SLUICE_RETURN_NOT_OK(states_[a]->Update(args, ids.data(), static_cast<int64_t>(ids.size())));
    }
    const int64_t* et = input->event_time->raw<int64_t>();
    for (int64_t i = 0; i < n; ++i) max_event_time_ = std::max(max_event_time_, et[i]);
    if (Now().value - last_flush_ >= flush_interval_) return Flush(out);
    return Status::Ok();
  }

  Status ProcessWatermark(Watermark wm, runtime::Collector& out) override {
    if (Now().value - last_flush_ >= flush_interval_) SLUICE_RETURN_NOT_OK(Flush(out));
    return out.EmitWatermark(wm);
  }

  Status OnEndOfInput(runtime::Collector& out) override { return Flush(out); }

 private:
  // Emits the changed keys: an insert for a key seen for the first time, an update (old row,
  // new row) for one whose result changed; nothing for one whose result is unchanged.
  Status Flush(runtime::Collector& out) {
    last_flush_ = Now().value;
    if (dirty_list_.empty()) return Status::Ok();
    int64_t n = static_cast<int64_t>(dirty_list_.size());
    std::vector<ColumnPtr> finals;
    for (const auto& s : states_) {
      auto c = s->Finalize(dirty_list_.data(), n);
      if (!c.ok()) return c.status();
      finals.push_back(c.MoveValue());
    }
    const auto& key_columns = groups_.KeyColumns();
    size_t width = key_types_.size() + states_.size();
    std::vector<batch::ColumnBuilder> builders;
    for (const auto& f : output_schema_->fields()) builders.emplace_back(f.type);
    batch::ColumnBuilder kinds(types::DataType(types::TypeId::kInt8));
    int64_t rows = 0;
    std::vector<Value> row(width);
    for (int64_t i = 0; i < n; ++i) {
      uint32_t g = dirty_list_[static_cast<size_t>(i)];
      dirty_[g] = 0;
      for (size_t k = 0; k < key_types_.size(); ++k) row[k] = key_columns[k]->GetValue(g);
      for (size_t a = 0; a < states_.size(); ++a)
        row[key_types_.size() + a] = finals[a]->GetValue(i);
      std::vector<Value>& old = emitted_[g];
      if (!old.empty() && old == row) continue;  // changed and changed back
      if (!old.empty()) {
        for (size_t c = 0; c < width; ++c) builders[c].AppendValue(old[c]);
        kinds.AppendFixed<int8_t>(static_cast<int8_t>(ChangeKind::kUpdateBefore));
        ++rows;
      }
      for (size_t c = 0; c < width; ++c) builders[c].AppendValue(row[c]);
      kinds.AppendFixed<int8_t>(
          static_cast<int8_t>(old.empty() ? ChangeKind::kInsert : ChangeKind::kUpdateAfter));
      ++rows;
      old = row;
    }
    dirty_list_.clear();
    if (rows == 0) return Status::Ok();
    auto batch = std::make_shared<Batch>();
    batch->schema = output_schema_;
    batch->num_rows = rows;
    for (auto& b : builders) batch->columns.push_back(b.Finish());
    batch->change_kind = kinds.Finish();
    batch->event_time = Column::MakeConstant(Value::Timestamp(max_event_time_), rows);
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += rows;
    return out.Emit(batch);
  }

  std::vector<types::DataType> key_types_;
  std::vector<AggregateCall> aggregates_;
  types::SchemaPtr output_schema_;
  int64_t flush_interval_;
  GroupTable groups_;
  std::vector<std::unique_ptr<expr::AggregateState>> states_;
  std::vector<uint32_t> group_ids_;
  std::vector<uint8_t> dirty_;
  std::vector<uint32_t> dirty_list_;
  std::vector<std::vector<Value>> emitted_;  // the last row emitted per group
  int64_t last_flush_ = Now().value;
  int64_t max_event_time_ = 0;
};

}  // namespace

UpdatingAggregateFactory::UpdatingAggregateFactory(std::vector<types::DataType> key_types,
                                                   std::vector<AggregateCall> aggregates,
                                                   types::SchemaPtr output_schema,
                                                   int64_t flush_interval_micros)
    : key_types_(std::move(key_types)),
      aggregates_(std::move(aggregates)),
      output_schema_(std::move(output_schema)),
      flush_interval_micros_(flush_interval_micros) {}

std::string UpdatingAggregateFactory::Describe() const {
  return fmt::format("updating_aggregate keys {} aggregates [{}] flush every {}us",
                     key_types_.size(), DescribeAggregates(aggregates_), flush_interval_micros_);
}

Result<std::unique_ptr<runtime::Operator>> UpdatingAggregateFactory::Create(int, int) const {
  return std::unique_ptr<runtime::Operator>(std::make_unique<UpdatingAggregateOperator>(
      key_types_, aggregates_, output_schema_, flush_interval_micros_));
}

}  // namespace sluice::exec
