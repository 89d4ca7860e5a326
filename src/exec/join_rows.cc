#include "exec/join_rows.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

#include "expr/evaluator.h"

namespace sluice::exec {

using batch::Batch;
using batch::BatchPtr;
using batch::Column;
using batch::ColumnPtr;

const char* JoinTypeName(JoinType type) {
  switch (type) {
    case JoinType::kInner:
      return "inner";
    case JoinType::kLeft:
      return "left";
    case JoinType::kRight:
      return "right";
    case JoinType::kFull:
      return "full";
    case JoinType::kSemi:
      return "semi";
    case JoinType::kAnti:
      return "anti";
    case JoinType::kMark:
      return "mark";
  }
  return "?";
}

std::string JoinSpec::Describe() const {
  std::string keys;
  for (size_t k = 0; k < left_keys.size(); ++k) {
    if (k) keys += ", ";
    keys += fmt::format("${} = ${}", left_keys[k], right_keys[k]);
  }
  return fmt::format("{} on [{}]{}", JoinTypeName(type), keys,
                     residual ? " and " + residual->ToString() : "");
}

GatheredRows TakeRows(const Batch& batch, const std::vector<int32_t>& indices) {
  GatheredRows out;
  out.num_rows = static_cast<int64_t>(indices.size());
  bool all = out.num_rows == batch.num_rows;
  for (int64_t i = 0; all && i < out.num_rows; ++i) all = indices[static_cast<size_t>(i)] == i;
  if (all) {
    out.columns = batch.columns;
    out.event_time = batch.event_time;
    return out;
  }
  out.columns.reserve(batch.columns.size());
  for (const auto& c : batch.columns) {
    out.columns.push_back(batch::Take(*c, indices.data(), out.num_rows));
  }
  out.event_time = batch::Take(*batch.event_time, indices.data(), out.num_rows);
  return out;
}

GatheredRows NullRows(const types::Schema& schema, int64_t n) {
  GatheredRows out;
  out.num_rows = n;
  for (const auto& f : schema.fields()) out.columns.push_back(Column::MakeNull(f.type, n));
  out.event_time = nullptr;  // the other side's time is used
  return out;
}

GatheredRows SelectRows(const GatheredRows& rows, const std::vector<int32_t>& selected) {
  if (static_cast<int64_t>(selected.size()) == rows.num_rows) return rows;
  GatheredRows out;
  out.num_rows = static_cast<int64_t>(selected.size());
  for (const auto& c : rows.columns) out.columns.push_back(batch::FilterColumn(*c, selected));
  if (rows.event_time) out.event_time = batch::FilterColumn(*rows.event_time, selected);
  return out;
}

namespace {

ColumnPtr LaterTimes(const GatheredRows& left, const GatheredRows& right) {
  if (!left.event_time) return right.event_time;
  if (!right.event_time) return left.event_time;
  auto out = Column::MakeFixed(types::Timestamp(), left.num_rows);
  const int64_t* a = left.event_time->raw<int64_t>();
  const int64_t* b = right.event_time->raw<int64_t>();
  int64_t* o = out->mutable_raw<int64_t>();
  for (int64_t i = 0; i < left.num_rows; ++i) o[i] = std::max(a[i], b[i]);
  return out;
}

}  // namespace

BatchPtr JoinedBatch(const JoinSpec& spec, const GatheredRows& left, const GatheredRows& right,
                     bool updating, batch::ChangeKind kind) {
  auto out = std::make_shared<Batch>();
  out->schema = spec.output_schema;
  out->num_rows = left.num_rows;
  out->columns.reserve(left.columns.size() + right.columns.size());
  out->columns.insert(out->columns.end(), left.columns.begin(), left.columns.end());
  out->columns.insert(out->columns.end(), right.columns.begin(), right.columns.end());
  out->event_time = LaterTimes(left, right);
  if (updating) {
    out->change_kind = Column::MakeConstant(
        types::Value::Int(types::DataType(types::TypeId::kInt8), static_cast<int64_t>(kind)),
        out->num_rows);
  }
  return out;
}

Result<std::vector<int32_t>> SelectPairs(const JoinSpec& spec, const GatheredRows& left,
                                         const GatheredRows& right) {
  if (!spec.residual) {
    std::vector<int32_t> all(static_cast<size_t>(left.num_rows));
    for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int32_t>(i);
    return all;
  }
  // (The residual reads columns by index: the pairs of a semi, anti or mark join carry both
  // sides' columns although their output does not.)
  BatchPtr pairs = JoinedBatch(spec, left, right, false, batch::ChangeKind::kInsert);
  return expr::SelectRows(*spec.residual, *pairs);
}

std::vector<uint8_t> NullKeyRows(const Batch& batch, const std::vector<int>& keys) {
  std::vector<uint8_t> mask(static_cast<size_t>(batch.num_rows), 0);
  for (int k : keys) {
    const Column& c = *batch.columns[static_cast<size_t>(k)];
    if (!c.has_nulls()) continue;
    for (int64_t i = 0; i < batch.num_rows; ++i) mask[static_cast<size_t>(i)] |= c.IsNull(i);
  }
  return mask;
}

std::vector<ColumnPtr> KeyColumns(const Batch& batch, const std::vector<int>& keys) {
  std::vector<ColumnPtr> out;
  out.reserve(keys.size());
  for (int k : keys) out.push_back(batch.columns[static_cast<size_t>(k)]);
  return out;
}

bool RowsEqual(const Batch& a, int64_t i, const Batch& b, int64_t j) {
  for (size_t c = 0; c < a.columns.size(); ++c) {
    const Column& x = *a.columns[c];
    const Column& y = *b.columns[c];
    bool xn = x.IsNull(i);
    bool yn = y.IsNull(j);
    if (xn || yn) {
      if (xn != yn) return false;
      continue;
    }
    int width = x.type.byte_width();
    if (width > 0) {
      if (std::memcmp(x.values->data() + i * width, y.values->data() + j * width,
                      static_cast<size_t>(width)) != 0) {
        return false;
      }
    } else if (x.type.is_string_like()) {
      if (x.GetString(i) != y.GetString(j)) return false;
    } else if (!(x.GetValue(i) == y.GetValue(j))) {
      return false;
    }
  }
  return true;
}

}  // namespace sluice::exec
