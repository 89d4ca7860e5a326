#include "batch/batch.h"

#include "common/check.h"

namespace sluice::batch {

std::shared_ptr<Batch> Batch::Select(const std::vector<int32_t>& selected) const {
  auto out = std::make_shared<Batch>();
  out->schema = schema;
  out->num_rows = static_cast<int64_t>(selected.size());
  out->columns.reserve(columns.size());
  // A column left out (null) by an operator that reads only some columns stays out.
  for (const auto& c : columns) out->columns.push_back(c ? FilterColumn(*c, selected) : nullptr);
  out->event_time = FilterColumn(*event_time, selected);
  if (change_kind) out->change_kind = FilterColumn(*change_kind, selected);
  if (splits) {
    out->splits = std::make_shared<const SourceSplits>(
        SourceSplits{FilterColumn(*splits->row_split, selected), splits->live});
  }
  return out;
}

std::string Batch::ToString() const {
  std::string s;
  for (int64_t r = 0; r < num_rows; ++r) {
    for (size_t c = 0; c < columns.size(); ++c) {
      if (c) s += ", ";
      s += columns[c]->GetValue(r).ToString();
    }
    s += "\n";
  }
  return s;
}

BatchPtr ConcatBatches(const std::vector<BatchPtr>& batches) {
  SLUICE_CHECK(!batches.empty(), "ConcatBatches of nothing");
  if (batches.size() == 1) return batches[0];
  auto out = std::make_shared<Batch>();
  out->schema = batches[0]->schema;
  for (size_t c = 0; c < batches[0]->columns.size(); ++c) {
    std::vector<ColumnPtr> parts;
    for (const auto& b : batches) parts.push_back(b->columns[c]);
    out->columns.push_back(Concat(parts));
  }
  std::vector<ColumnPtr> times;
  for (const auto& b : batches) {
    times.push_back(b->event_time);
    out->num_rows += b->num_rows;
  }
  out->event_time = Concat(times);
  // Append-only parts (a UNION of a change stream and a plain one) are inserts.
  bool any_kinds = false;
  for (const auto& b : batches) any_kinds |= b->change_kind != nullptr;
  if (any_kinds) {
    std::vector<ColumnPtr> kinds;
    for (const auto& b : batches) {
      kinds.push_back(
          b->change_kind
              ? b->change_kind
              : Column::MakeConstant(types::Value::Int(types::DataType(types::TypeId::kInt8), 0),
                                     b->num_rows));
    }
    out->change_kind = Concat(kinds);
  }
  return out;
}

}  // namespace sluice::batch
