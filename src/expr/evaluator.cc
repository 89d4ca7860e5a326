#include "expr/evaluator.h"

#include <cstring>

#include "batch/column_builder.h"
#include "common/check.h"
#include "expr/cast.h"
#include "expr/kernel_util.h"

namespace sluice::expr {

using batch::Batch;
using batch::Buffer;
using batch::BufferPtr;
using batch::Column;

namespace {

// Rows of `b` where the bool column is definitely `want` (valid and equal).
std::vector<int32_t> RowsWhere(const Column& c, bool want) {
  std::vector<int32_t> rows;
  rows.reserve(static_cast<size_t>(c.length));
  const uint8_t* v = c.values->data();
  const uint8_t* valid = c.validity ? c.validity->data() : nullptr;
  for (int64_t i = 0; i < c.length; ++i) {
    bool is_valid = valid == nullptr || batch::GetBit(valid, i);
    if (is_valid && batch::GetBit(v, i) == want) rows.push_back(static_cast<int32_t>(i));
  }
  return rows;
}

// Complement of an ascending row list within [0, n).
std::vector<int32_t> Complement(const std::vector<int32_t>& rows, int64_t n) {
  std::vector<int32_t> out;
  out.reserve(static_cast<size_t>(n) - rows.size());
  size_t j = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (j < rows.size() && rows[j] == i) {
      ++j;
    } else {
      out.push_back(static_cast<int32_t>(i));
    }
  }
  return out;
}

// Evaluates `e` on the given subset of rows; the result has one entry per subset row.
Result<ColumnPtr> EvaluateOn(const BoundExpr& e, const Batch& input,
                             const std::vector<int32_t>& rows) {
  if (static_cast<int64_t>(rows.size()) == input.num_rows) return Evaluate(e, input);
  auto subset = input.Select(rows);
  return Evaluate(e, *subset);
}

// Places sub[k] at row rows[k] of a column of n rows; other rows NULL.
ColumnPtr Scatter(const ColumnPtr& sub, const std::vector<int32_t>& rows, int64_t n) {
  if (static_cast<int64_t>(rows.size()) == n) return sub;
  // Append one NULL to `sub`, then gather with "missing" rows pointing at it.
  auto null_row = Column::MakeNull(sub->type, 1);
  ColumnPtr extended = batch::Concat({sub, null_row});
  std::vector<int32_t> idx(static_cast<size_t>(n), static_cast<int32_t>(sub->length));
  for (size_t k = 0; k < rows.size(); ++k)
    idx[static_cast<size_t>(rows[k])] = static_cast<int32_t>(k);
  return batch::Take(*extended, idx.data(), n);
}

Result<ColumnPtr> EvaluateLogical(const BoundExpr& e, const Batch& input) {
  int64_t n = input.num_rows;
  bool is_and = e.kind == BoundKind::kAnd;
  auto left_r = Evaluate(*e.args[0], input);
  if (!left_r.ok()) return left_r.status();
  ColumnPtr left = left_r.MoveValue();
  // Rows decided by the left side alone: FALSE for AND, TRUE for OR.
  std::vector<int32_t> decided = RowsWhere(*left, !is_and);
  std::vector<int32_t> need = Complement(decided, n);
  ColumnPtr right;
  if (!need.empty()) {
    auto r = EvaluateOn(*e.args[1], input, need);
    if (!r.ok()) return r.status();
    right = Scatter(r.MoveValue(), need, n);
  } else {
    right = Column::MakeConstant(Value::Boolean(is_and), n);
  }
  auto out = Column::MakeFixed(types::Bool(), n);
  size_t bytes = batch::BitmapBytes(n);
  const uint8_t* lv = left->values->data();
  const uint8_t* rv = right->values->data();
  uint8_t* ov = out->values->data();
  // Three-valued logic on whole bytes: with "valid" bitmaps lk, rk and value bitmaps lv, rv
  // (value bits of NULL rows are ignored):
  //   AND: known-false = (lk & ~lv) | (rk & ~rv); true = lk & lv & rk & rv
  //   OR:  known-true = (lk & lv) | (rk & rv);    false = lk & ~lv & rk & ~rv
  BufferPtr validity;
  bool any_null = left->validity || right->validity;
  if (any_null) validity = std::make_shared<Buffer>(bytes);
  for (size_t i = 0; i < bytes; ++i) {
    uint8_t lk = left->validity ? left->validity->data()[i] : 0xff;
    uint8_t rk = right->validity ? right->validity->data()[i] : 0xff;
    uint8_t l = lv[i] & lk, r = rv[i] & rk;
    if (is_and) {
      uint8_t known_false = static_cast<uint8_t>((lk & ~lv[i]) | (rk & ~rv[i]));
      uint8_t is_true = static_cast<uint8_t>(l & r);
      ov[i] = is_true;
      if (validity) validity->data()[i] = static_cast<uint8_t>(known_false | is_true);
    } else {
      uint8_t known_true = static_cast<uint8_t>(l | r);
      uint8_t is_false = static_cast<uint8_t>(lk & ~lv[i] & rk & ~rv[i]);
      ov[i] = known_true;
      if (validity) validity->data()[i] = static_cast<uint8_t>(known_true | is_false);
    }
  }
  out->validity = validity;
  return ColumnPtr(out);
}

Result<ColumnPtr> EvaluateCase(const BoundExpr& e, const Batch& input) {
  int64_t n = input.num_rows;
  size_t pairs = (e.args.size() - (e.has_else ? 1 : 0)) / 2;
  std::vector<int32_t> remaining(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) remaining[static_cast<size_t>(i)] = static_cast<int32_t>(i);
  std::vector<ColumnPtr> parts;
  std::vector<std::vector<int32_t>> part_rows;
  for (size_t p = 0; p < pairs && !remaining.empty(); ++p) {
    auto cond = EvaluateOn(*e.args[2 * p], input, remaining);
    if (!cond.ok()) return cond.status();
    std::vector<int32_t> hit_local = RowsWhere(**cond, true);
    if (hit_local.empty()) continue;
    std::vector<int32_t> hit, rest;
    size_t j = 0;
    for (size_t k = 0; k < remaining.size(); ++k) {
      if (j < hit_local.size() && hit_local[j] == static_cast<int32_t>(k)) {
        hit.push_back(remaining[k]);
        ++j;
      } else {
        rest.push_back(remaining[k]);
      }
    }
    auto val = EvaluateOn(*e.args[2 * p + 1], input, hit);
    if (!val.ok()) return val.status();
    parts.push_back(val.MoveValue());
    part_rows.push_back(std::move(hit));
    remaining = std::move(rest);
  }
  if (e.has_else && !remaining.empty()) {
    auto val = EvaluateOn(*e.args.back(), input, remaining);
    if (!val.ok()) return val.status();
    parts.push_back(val.MoveValue());
    part_rows.push_back(std::move(remaining));
    remaining.clear();
  }
  if (parts.size() == 1 && part_rows[0].size() == static_cast<size_t>(n)) return parts[0];
  // Gather: concatenate every branch's values plus one NULL, and index into them.
  parts.push_back(Column::MakeNull(e.type, 1));
  ColumnPtr all = batch::Concat(parts);
  int32_t null_index = static_cast<int32_t>(all->length - 1);
  std::vector<int32_t> idx(static_cast<size_t>(n), null_index);
  int32_t base = 0;
  for (size_t p = 0; p < part_rows.size(); ++p) {
    for (size_t k = 0; k < part_rows[p].size(); ++k) {
      idx[static_cast<size_t>(part_rows[p][k])] = base + static_cast<int32_t>(k);
    }
    base += static_cast<int32_t>(part_rows[p].size());
  }
  return batch::Take(*all, idx.data(), n);
}

Result<ColumnPtr> EvaluateSubscript(const ColumnPtr& list, const ColumnPtr& index, int64_t n) {
  const DataType& elem = list->type.element();
  std::vector<int32_t> idx(static_cast<size_t>(n));
  ColumnPtr values = batch::Concat({list->children[0], Column::MakeNull(elem, 1)});
  int32_t null_index = static_cast<int32_t>(values->length - 1);
  ColumnPtr ix = index;
  if (ix->type.id() != TypeId::kInt64) {
    auto c = CastColumn(index, types::Int64());
    if (!c.ok()) return c.status();
    ix = c.MoveValue();
  }
  const int32_t* off = list->offsets();
  const int64_t* iv = ix->raw<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    int64_t k = iv[i];
    int64_t len = off[i + 1] - off[i];
    if (list->IsNull(i) || ix->IsNull(i) || k < 1 || k > len) {
      idx[static_cast<size_t>(i)] = null_index;
    } else {
      idx[static_cast<size_t>(i)] = off[i] + static_cast<int32_t>(k - 1);
    }
  }
  return batch::Take(*values, idx.data(), n);
}

ColumnPtr ApplyValidity(const ColumnPtr& c, const BufferPtr& extra) {
  if (!extra) return c;
  auto out = std::make_shared<Column>(*c);
  if (!out->validity) {
    out->validity = extra;
  } else {
    auto merged = std::make_shared<Buffer>(extra->size());
    for (size_t i = 0; i < extra->size(); ++i) {
      merged->data()[i] = out->validity->data()[i] & extra->data()[i];
    }
    out->validity = merged;
  }
  return out;
}

}  // namespace

Result<ColumnPtr> Evaluate(const BoundExpr& e, const Batch& input) {
  int64_t n = input.num_rows;
  switch (e.kind) {
    case BoundKind::kColumn:
      return input.columns[static_cast<size_t>(e.column_index)];
    case BoundKind::kEventTime:
      return input.event_time;
    case BoundKind::kLiteral:
      return Column::MakeConstant(e.literal, n);
    case BoundKind::kCast: {
      auto arg = Evaluate(*e.args[0], input);
      if (!arg.ok()) return arg.status();
      return CastColumn(*arg, e.type, e.try_cast);
    }
    case BoundKind::kCall: {
      std::vector<ColumnPtr> args;
      args.reserve(e.args.size());
      for (const auto& a : e.args) {
        auto c = Evaluate(*a, input);
        if (!c.ok()) return c.status();
        args.push_back(c.MoveValue());
      }
      ColumnPtr out;
      Status st = e.function->kernel(*e.function, args, n, &out);
      if (!st.ok()) return st;
      SLUICE_DCHECK(out && out->length == n, "kernel returned a column of the wrong length");
      if (out->type.with_time_zone() != e.function->return_type.with_time_zone() &&
          out->type.id() == TypeId::kTimestamp) {
        // A timestamp kernel serving TIMESTAMPTZ (BindOverloads) labels its result TIMESTAMP.
        auto relabeled = std::make_shared<Column>(*out);
        relabeled->type = e.function->return_type;
        out = relabeled;
      }
      if (e.function->null_propagating) out = ApplyValidity(out, CombineValidity(args, n));
      return out;
    }
    case BoundKind::kAnd:
    case BoundKind::kOr:
      return EvaluateLogical(e, input);
    case BoundKind::kNot: {
      auto arg = Evaluate(*e.args[0], input);
      if (!arg.ok()) return arg.status();
      auto out = Column::MakeFixed(types::Bool(), n);
      const uint8_t* v = (*arg)->values->data();
      for (size_t i = 0; i < out->values->size(); ++i) {
        out->values->data()[i] = static_cast<uint8_t>(~v[i]);
      }
      out->validity = (*arg)->validity;
      return ColumnPtr(out);
    }
    case BoundKind::kIsNull: {
      auto arg = Evaluate(*e.args[0], input);
      if (!arg.ok()) return arg.status();
      auto out = Column::MakeFixed(types::Bool(), n);
      uint8_t* o = out->values->data();
      const auto& validity = (*arg)->validity;
      for (size_t i = 0; i < out->values->size(); ++i) {
        uint8_t valid = validity ? validity->data()[i] : 0xff;
        o[i] = e.negated ? valid : static_cast<uint8_t>(~valid);
      }
      return ColumnPtr(out);
    }
    case BoundKind::kCase:
      return EvaluateCase(e, input);
    case BoundKind::kFieldAccess: {
      auto arg = Evaluate(*e.args[0], input);
      if (!arg.ok()) return arg.status();
      ColumnPtr field = (*arg)->children[static_cast<size_t>(e.field_index)];
      return ApplyValidity(field, (*arg)->validity);
    }
    case BoundKind::kSubscript: {
      auto base = Evaluate(*e.args[0], input);
      if (!base.ok()) return base.status();
      auto index = Evaluate(*e.args[1], input);
      if (!index.ok()) return index.status();
      return EvaluateSubscript(*base, *index, n);
    }
  }
  return Status::Internal("unknown expression kind");
}

Result<std::vector<int32_t>> SelectRows(const BoundExpr& predicate, const Batch& input) {
  auto c = Evaluate(predicate, input);
  if (!c.ok()) return c.status();
  return RowsWhere(**c, true);
}

Result<Value> EvaluateConstant(const BoundExpr& e) {
  Batch one;
  one.num_rows = 1;
  one.event_time = Column::MakeConstant(Value::Timestamp(0), 1);
  auto c = Evaluate(e, one);
  if (!c.ok()) return c.status();
  return (*c)->GetValue(0);
}

}  // namespace sluice::expr
