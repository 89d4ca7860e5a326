#include "exec/aggregate_pane.h"

#include <fmt/format.h>

#include "batch/column_builder.h"
#include "exec/aggregate_state_io.h"

namespace sluice::exec {

using batch::Batch;
using batch::Column;
using batch::ColumnPtr;

AggregatePane::AggregatePane(int64_t start, int64_t end,
                             const std::vector<types::DataType>& key_types,
                             const std::vector<AggregateCall>& aggregates)
    : start_(start), end_(end), aggregates_(&aggregates), groups_(key_types) {
  for (const auto& a : aggregates) states_.push_back(a.aggregate.function->NewState());
}

Status AggregatePane::Add(const Batch& input, const std::vector<int32_t>* rows) {
  size_t num_keys = static_cast<size_t>(groups_.key_count());
  std::vector<ColumnPtr> keys(input.columns.begin(),
                              input.columns.begin() + static_cast<std::ptrdiff_t>(num_keys));
  int64_t n = rows ? static_cast<int64_t>(rows->size()) : input.num_rows;
  groups_.FindOrInsert(keys, rows, n, &group_ids_);
  for (auto& s : states_) s->Resize(groups_.size());
  rows_.resize(static_cast<size_t>(groups_.size()), 0);
  for (int64_t i = 0; i < n; ++i) ++rows_[group_ids_[static_cast<size_t>(i)]];
  live_rows_ += n;
  std::vector<ColumnPtr> args;
  std::vector<uint32_t> filtered_ids;
  std::vector<int32_t> filtered_rows;
  for (size_t a = 0; a < states_.size(); ++a) {
    const AggregateCall& call = (*aggregates_)[a];
    args.clear();
    for (int c : call.arg_columns) {
      const ColumnPtr& col = input.columns[static_cast<size_t>(c)];
      args.push_back(rows ? batch::FilterColumn(*col, *rows) : col);
    }
    if (call.filter_column < 0) {
      SLUICE_RETURN_NOT_OK(states_[a]->Update(args, group_ids_.data(), n));
      continue;
    }
    // FILTER (WHERE ...): only rows where the condition is TRUE.
    const Column& f = *input.columns[static_cast<size_t>(call.filter_column)];
    filtered_ids.clear();
    filtered_rows.clear();
    for (int64_t i = 0; i < n; ++i) {
      int64_t row = rows ? (*rows)[static_cast<size_t>(i)] : i;
      if (f.IsValid(row) && f.GetBool(row)) {
        filtered_ids.push_back(group_ids_[static_cast<size_t>(i)]);
        filtered_rows.push_back(static_cast<int32_t>(i));
      }
    }
    if (filtered_rows.empty()) continue;
    for (auto& arg : args) arg = batch::FilterColumn(*arg, filtered_rows);
    SLUICE_RETURN_NOT_OK(
        states_[a]->Update(args, filtered_ids.data(), static_cast<int64_t>(filtered_ids.size())));
  }
  return Status::Ok();
}

void AggregatePane::MergeFrom(const AggregatePane& other) {
  for (uint32_t g = 0; g < static_cast<uint32_t>(other.groups_.size()); ++g) {
    if (other.rows_[g] == 0) continue;
    uint32_t mine = groups_.FindOrInsertFrom(other.groups_, g);
    rows_.resize(static_cast<size_t>(groups_.size()), 0);
    rows_[mine] += other.rows_[g];
    for (size_t a = 0; a < states_.size(); ++a) {
      states_[a]->Resize(groups_.size());
      states_[a]->Merge(*other.states_[a], g, mine);
    }
  }
  live_rows_ += other.live_rows_;
}

void AggregatePane::SubtractFrom(const AggregatePane& other) {
  for (uint32_t g = 0; g < static_cast<uint32_t>(other.groups_.size()); ++g) {
    if (other.rows_[g] == 0) continue;
    uint32_t mine = groups_.FindOrInsertFrom(other.groups_, g);
    rows_.resize(static_cast<size_t>(groups_.size()), 0);
    rows_[mine] -= other.rows_[g];
    for (size_t a = 0; a < states_.size(); ++a) {
      states_[a]->Resize(groups_.size());
      if (rows_[mine] == 0) {
        states_[a]->Clear(mine);  // exact zero, even for floating-point sums
      } else {
        states_[a]->Subtract(*other.states_[a], g, mine);
      }
    }
  }
  live_rows_ -= other.live_rows_;
}

bool AggregatePane::invertible() const {
  for (const auto& s : states_) {
    if (!s->invertible()) return false;
  }
  return true;
}

ColumnPtr MakeWindowColumn(int64_t start, int64_t end, int64_t n) {
  auto c = std::make_shared<Column>();
  c->type = WindowStructType();
  c->length = n;
  c->children.push_back(Column::MakeConstant(types::Value::Timestamp(start), n));
  c->children.push_back(Column::MakeConstant(types::Value::Timestamp(end), n));
  return c;
}

Result<batch::BatchPtr> AggregatePane::Finish(int64_t start, int64_t end,
                                              types::SchemaPtr schema) const {
  std::vector<uint32_t> live;
  std::vector<int32_t> live_rows;
  for (uint32_t g = 0; g < static_cast<uint32_t>(groups_.size()); ++g) {
    if (rows_[g] > 0) {
      live.push_back(g);
      live_rows.push_back(static_cast<int32_t>(g));
    }
  }
  int64_t n = static_cast<int64_t>(live.size());
  auto out = std::make_shared<Batch>();
  out->schema = std::move(schema);
  out->num_rows = n;
  out->columns.push_back(MakeWindowColumn(start, end, n));
  bool all = n == groups_.size();
  for (const auto& k : groups_.KeyColumns()) {
    out->columns.push_back(all ? k : batch::FilterColumn(*k, live_rows));
  }
  for (const auto& s : states_) {
    auto c = s->Finalize(live.data(), n);
    if (!c.ok()) return c.status();
    out->columns.push_back(c.MoveValue());
  }
  out->event_time = Column::MakeConstant(types::Value::Timestamp(end - 1), n);
  return batch::BatchPtr(out);
}

bool AggregatePane::serializable() const {
  for (const auto& s : states_) {
    if (!s->serializable()) return false;
  }
  return true;
}

Result<batch::BatchPtr> AggregatePane::SnapshotGroups() const {
  std::vector<int32_t> live;
  for (uint32_t g = 0; g < static_cast<uint32_t>(groups_.size()); ++g) {
    if (rows_[g] != 0) live.push_back(static_cast<int32_t>(g));
  }
  if (live.empty()) return batch::BatchPtr(nullptr);
  const auto n = static_cast<int64_t>(live.size());
  auto out = std::make_shared<Batch>();
  out->num_rows = n;
  std::vector<types::Field> fields;
  for (const auto& k : groups_.KeyColumns()) {
    fields.push_back({fmt::format("$key{}", out->columns.size()), k->type, true});
    out->columns.push_back(batch::FilterColumn(*k, live));
  }
  batch::ColumnBuilder rows(types::Int64());
  for (int32_t g : live) rows.AppendFixed<int64_t>(rows_[static_cast<size_t>(g)]);
  fields.push_back({"$rows", types::Int64(), false});
  out->columns.push_back(rows.Finish());
  std::vector<uint32_t> live_groups(live.begin(), live.end());
  for (size_t a = 0; a < states_.size(); ++a) {
    SLUICE_ASSIGN_OR_RETURN(ColumnPtr c,
                            SerializeAggregateStates(*states_[a], live_groups.data(), n,
                                                     (*aggregates_)[a].aggregate.name));
    fields.push_back({fmt::format("$state{}", a), types::DataType(types::TypeId::kBinary), false});
    out->columns.push_back(std::move(c));
  }
  out->schema = std::make_shared<types::Schema>(std::move(fields));
  out->event_time = Column::MakeConstant(types::Value::Timestamp(end_ - 1), n);
  return batch::BatchPtr(out);
}

Status AggregatePane::RestoreGroups(const batch::Batch& b, const std::vector<int32_t>& rows) {
  const auto num_keys = static_cast<size_t>(groups_.key_count());
  if (b.columns.size() != num_keys + 1 + states_.size()) {
    return Status::Io("aggregate state: {} columns, expected {}", b.columns.size(),
                      num_keys + 1 + states_.size());
  }
  std::vector<ColumnPtr> keys(b.columns.begin(),
                              b.columns.begin() + static_cast<std::ptrdiff_t>(num_keys));
  const auto n = static_cast<int64_t>(rows.size());
  groups_.FindOrInsert(keys, &rows, n, &group_ids_);
  for (auto& s : states_) s->Resize(groups_.size());
  rows_.resize(static_cast<size_t>(groups_.size()), 0);
  const int64_t* counts = b.columns[num_keys]->raw<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t c = counts[rows[static_cast<size_t>(i)]];
    rows_[group_ids_[static_cast<size_t>(i)]] += c;
    live_rows_ += c;
  }
  for (size_t a = 0; a < states_.size(); ++a) {
    SLUICE_RETURN_NOT_OK(DeserializeAggregateStates(*states_[a], *b.columns[num_keys + 1 + a],
                                                    rows.data(), group_ids_.data(), n));
  }
  return Status::Ok();
}

int64_t AggregatePane::MemoryBytes() const {
  int64_t bytes = groups_.MemoryBytes();
  for (const auto& s : states_) bytes += s->MemoryBytes();
  return bytes;
}

}  // namespace sluice::exec
