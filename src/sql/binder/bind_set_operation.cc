// SELECT DISTINCT and the set operations UNION, INTERSECT and EXCEPT, rewritten into the
// updating aggregate (already retracting and checkpointed): DISTINCT groups by every selected
// column without aggregates; INTERSECT and EXCEPT tag each row with its side, group by every
// column noting whether it holds rows of each side, and keep the groups that HAVING passes. GROUP
// BY treats NULLs as equal, as set operations do. A row whose group enters or leaves the result is
// an insert or a delete of the changelog, as for any filter over an updating aggregate.

#include <fmt/format.h>

#include "sql/binder/binder_internal.h"

namespace sluice::sql {

namespace {

ExprPtr Binary(const std::string& op, ExprPtr a, ExprPtr b, const Location& loc) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::kBinary;
  e->op = op;
  e->loc = loc;
  e->args = {std::move(a), std::move(b)};
  return e;
}

ExprPtr Not(ExprPtr a, const Location& loc) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::kUnary;
  e->op = "not";
  e->loc = loc;
  e->args = {std::move(a)};
  return e;
}

ExprPtr SumOf(const std::string& column, const Location& loc) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::kFunction;
  e->names = {"sum"};
  e->loc = loc;
  e->args = {ColumnRefTo(column, {}, loc)};
  return e;
}

ExprPtr IntegerLiteral(const std::string& text, const Location& loc) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::kLiteral;
  e->literal_kind = LiteralKind::kInteger;
  e->text = text;
  e->loc = loc;
  return e;
}

// bool_or(column): whether a group holds a row of that side. It changes only when the group
// gains its first row of the side or loses its last one, so other rows change no output row.
ExprPtr AnyOf(const std::string& column, const Location& loc) {
  auto e = std::make_shared<Expr>();
  e->kind = ExprKind::kFunction;
  e->names = {"bool_or"};
  e->loc = loc;
  e->args = {ColumnRefTo(column, {}, loc)};
  return e;
}

// A GROUP BY of every column of `rel` (renamed __d0, __d1, ... so that equal names do not
// clash), selecting them under their names; `having` may read the renamed columns.
SelectCore GroupByAll(Relation* rel, size_t width, const Location& loc) {
  SelectCore core;
  core.loc = loc;
  for (size_t i = 0; i < rel->columns.size(); ++i) {
    auto& c = rel->columns[i];
    std::string name = c.name;
    c.qualifier.clear();
    c.name = fmt::format("__d{}", i);
    if (i >= width) continue;
    SelectItem item;
    item.expr = ColumnRefTo(c.name, {}, loc);
    item.alias = name;
    item.loc = loc;
    core.items.push_back(item);
    core.group_by.push_back(item.expr);
  }
  return core;
}

}  // namespace

// The rows of `rel` without duplicates: an updating result, or an append-only one per window
// when a window is selected (a window struct, or a TUMBLE window's start or end over an
// append-only input), as a GROUP BY of that window and the other columns would be.
Relation StatementBinder::BindDistinct(Relation rel, const Location& loc) {
  const size_t width = rel.columns.size();
  bool has_window_struct = false;
  for (const auto& c : rel.columns) has_window_struct |= c.type == exec::WindowStructType();
  std::optional<TableFunctionWindow> window;
  if (!has_window_struct && !rel.plan->updating()) {
    for (size_t i = 0; i < width; ++i) {
      const auto& c = rel.columns[i];
      if ((c.role != TimeRole::kWindowStart && c.role != TimeRole::kWindowEnd) ||
          c.window.kind != exec::WindowSpec::Kind::kTumble) {
        continue;
      }
      if (!window) {
        window = TableFunctionWindow{};
        window->spec = c.window;
      } else if (window->spec.width != c.window.width) {
        continue;
      }
      int& column = c.role == TimeRole::kWindowStart ? window->start_column : window->end_column;
      if (column < 0) column = static_cast<int>(i);
    }
  }
  rel.window = window;
  SelectCore core = GroupByAll(&rel, width, loc);
  return BindAggregateSelect(core, std::move(rel));
}

Relation StatementBinder::BindSetOperation(const SetExpr& s) {
  if (s.set_op == "union") {
    // A UNION removes duplicates from all its operands: flatten UNION and UNION ALL below it.
    return BindDistinct(BindUnion(s, /*all_only=*/false), s.loc);
  }
  const bool intersect = s.set_op == "intersect";
  const char* what = intersect ? "INTERSECT" : "EXCEPT";
  std::vector<const SetExpr*> parts = {s.left.get(), s.right.get()};
  std::vector<Relation> rels = BindSetOperands(parts, what);
  const size_t width = rels[0].columns.size();
  // Each row carries (true, false) from the left and (false, true) from the right; for the
  // ALL forms, which count rows, (1, 0) and (0, 1).
  const DataType side_type(s.all ? TypeId::kInt64 : TypeId::kBool);
  std::vector<PlanPtr> inputs;
  for (size_t side = 0; side < 2; ++side) {
    std::vector<BoundExprPtr> exprs;
    std::vector<ScopeColumn> cols = rels[side].columns;
    for (size_t i = 0; i < width; ++i) {
      exprs.push_back(expr::MakeColumn(static_cast<int>(i), cols[i].type));
    }
    for (size_t tag = 0; tag < 2; ++tag) {
      exprs.push_back(expr::MakeLiteral(s.all ? Value::Int64(tag == side ? 1 : 0)
                                              : Value::Boolean(tag == side)));
      cols.push_back({"", tag == 0 ? "__left" : "__right", side_type});
    }
    inputs.push_back(MakeProject(rels[side].plan, std::move(exprs), SchemaOf(cols)));
    if (side == 0) rels[0].columns = std::move(cols);
  }
  Relation tagged;
  tagged.plan = MakeUnion(std::move(inputs));
  tagged.columns = std::move(rels[0].columns);
  SelectCore core = GroupByAll(&tagged, width, s.loc);
  const std::string left = fmt::format("__d{}", width);
  const std::string right = fmt::format("__d{}", width + 1);
  if (!s.all) {
    // INTERSECT: rows on both sides; EXCEPT: rows on the left and not on the right.
    ExprPtr in_right = AnyOf(right, s.loc);
    core.having =
        Binary("and", AnyOf(left, s.loc), intersect ? in_right : Not(in_right, s.loc), s.loc);
    return BindAggregateSelect(core, std::move(tagged));
  }
  // INTERSECT ALL repeats a row min(left, right) times, EXCEPT ALL left - right times (when
  // positive): each group's row carries that count, and UNNEST(array_fill(true, ARRAY[count]))
  // repeats it (an update of the count retracts the old copies and adds the new ones).
  ExprPtr copies;
  if (intersect) {
    auto least = std::make_shared<Expr>();
    least->kind = ExprKind::kFunction;
    least->names = {"least"};
    least->loc = s.loc;
    least->args = {SumOf(left, s.loc), SumOf(right, s.loc)};
    copies = least;
  } else {
    copies = Binary("-", SumOf(left, s.loc), SumOf(right, s.loc), s.loc);
  }
  core.having = Binary(">", copies, IntegerLiteral("0", s.loc), s.loc);
  SelectItem count;
  count.expr = copies;
  count.alias = "__copies";
  count.loc = s.loc;
  core.items.push_back(count);
  Relation grouped = BindAggregateSelect(core, std::move(tagged));
  std::vector<BoundExprPtr> exprs;
  std::vector<ScopeColumn> cols;
  for (size_t i = 0; i < width; ++i) {
    exprs.push_back(expr::MakeColumn(static_cast<int>(i), grouped.columns[i].type));
    cols.push_back({"", grouped.columns[i].name, grouped.columns[i].type});
  }
  BoundExprPtr n = expr::MakeColumn(static_cast<int>(width), grouped.columns[width].type);
  exprs.push_back(BindCall(
      "array_fill", {expr::MakeLiteral(Value::Boolean(true)), BindCall("make_array", {n}, s.loc)},
      s.loc));
  std::vector<ScopeColumn> with_array = cols;
  with_array.push_back({"", "__copies", exprs.back()->type});
  PlanPtr repeated = MakeUnnest(MakeProject(grouped.plan, std::move(exprs), SchemaOf(with_array)),
                                static_cast<int>(width));
  std::vector<BoundExprPtr> keep;
  for (size_t i = 0; i < width; ++i)
    keep.push_back(expr::MakeColumn(static_cast<int>(i), cols[i].type));
  Relation out;
  out.plan = MakeProject(repeated, std::move(keep), SchemaOf(cols));
  out.columns = std::move(cols);
  return out;
}

}  // namespace sluice::sql
