// ORDER BY ... LIMIT n [OFFSET m] of a query over a stream: the first n rows (after m) by the
// ORDER BY so far, an updating result; without ORDER BY, the first n rows to arrive. It is written
// as the whole-stream top-N that ROW_NUMBER() OVER (ORDER BY ...) with an outer `rank <= m + n`
// filter becomes (updating_top_n, already retracting and checkpointed), with `rank > m` for OFFSET,
// and the rank dropped.

#include <fmt/format.h>

#include "sql/binder/binder_internal.h"

namespace sluice::sql {

namespace {

// LIMIT/OFFSET take an integer constant.
int64_t CountOf(const Expr& e, const char* what, int64_t min) {
  int64_t v = -1;
  if (e.kind == ExprKind::kLiteral && e.literal_kind == LiteralKind::kInteger) {
    try {
      v = std::stoll(e.text);
    } catch (const std::exception&) {
      v = -1;
    }
  }
  if (v < min) {
    FailNotSupported(e.loc, "{} must be an integer constant of at least {}, not {}", what, min,
                     e.ToSql());
  }
  return v;
}

}  // namespace

Relation StatementBinder::BindOrderLimit(const Query& q) {
  if (!q.limit) {
    if (!q.order_by.empty()) {
      FailNotSupported(q.loc,
                       "ORDER BY is not supported in a streaming query: an unbounded stream has "
                       "no last row to sort up to; ORDER BY ... LIMIT n keeps the first n rows "
                       "(an updating result)");
    }
    FailNotSupported(q.offset->loc,
                     "OFFSET without LIMIT is not supported in a streaming query; use ORDER BY "
                     "... LIMIT n OFFSET m");
  }
  const int64_t limit = CountOf(*q.limit, "LIMIT", 1);
  const int64_t offset = q.offset ? CountOf(*q.offset, "OFFSET", 0) : 0;

  if (q.order_by.empty()) {
    // LIMIT without ORDER BY: every row ties, and a tie keeps the earlier arrival, so the
    // first rows to arrive stay; over an append-only input they only ever enter (the plan is
    // append-only then, see LogicalPlan::updating).
    Relation out = BindSetExpr(*q.body);
    exec::TopNSpec spec;
    spec.function = exec::RankFunction::kRowNumber;
    spec.window_end = -1;
    return LimitRanks(MakeTopN(out.plan, spec), out.columns, limit, offset, q);
  }

  // ORDER BY names output columns (by name or position); other expressions read the input of
  // a plain SELECT (as hidden columns of its select list), else the output columns.
  Relation out = BindSetExpr(*q.body);
  const size_t n = out.columns.size();
  std::vector<int> target(q.order_by.size(), -1);
  std::vector<const Expr*> other;
  for (size_t k = 0; k < q.order_by.size(); ++k) {
    const Expr& e = *q.order_by[k].expr;
    if (e.kind == ExprKind::kLiteral && e.literal_kind == LiteralKind::kInteger) {
      size_t p = 0;
      try {
        p = std::stoul(e.text);
      } catch (const std::exception&) {
        p = 0;
      }
      if (p < 1 || p > n) FailUser(e.loc, "ORDER BY position {} is not in select list", e.text);
      target[k] = static_cast<int>(p - 1);
      continue;
    }
    if (e.kind == ExprKind::kColumnRef && e.names.size() == 1) {
      int count = 0;
      for (size_t i = 0; i < n; ++i) {
        if (out.columns[i].name != e.names[0]) continue;
        target[k] = static_cast<int>(i);
        ++count;
      }
      if (count > 1) FailUser(e.loc, "ORDER BY \"{}\" is ambiguous", e.names[0]);
      if (count == 1) continue;
    }
    other.push_back(&e);
  }
  std::vector<BoundExprPtr> exprs;
  for (size_t i = 0; i < n; ++i) {
    exprs.push_back(expr::MakeColumn(static_cast<int>(i), out.columns[i].type));
  }
  const bool plain_select = q.body->kind == SetExpr::Kind::kSelect && !q.body->select->distinct;
  if (!other.empty() && plain_select) {
    SelectCore with_hidden = *q.body->select;
    for (size_t j = 0; j < other.size(); ++j) {
      SelectItem item;
      item.expr = std::make_shared<Expr>(*other[j]);
      item.alias = fmt::format("__order{}", j);
      item.loc = other[j]->loc;
      with_hidden.items.push_back(item);
    }
    out = BindSelectCore(with_hidden);
    for (size_t j = 0; j < other.size(); ++j) {
      exprs.push_back(expr::MakeColumn(static_cast<int>(n + j), out.columns[n + j].type));
    }
  } else {
    for (const Expr* e : other) exprs.push_back(BindExpr(*e, out.columns));
  }
  // The ranking's input: the output columns, then one column per ORDER BY item.
  std::vector<ScopeColumn> cols;
  for (size_t i = 0; i < n; ++i) cols.push_back({"", fmt::format("__c{}", i), out.columns[i].type});
  auto over = std::make_shared<WindowSpec>();
  size_t next_other = 0;
  for (size_t k = 0; k < q.order_by.size(); ++k) {
    BoundExprPtr key =
        target[k] >= 0 ? exprs[static_cast<size_t>(target[k])] : exprs[n + next_other++];
    std::string name = fmt::format("__o{}", k);
    exprs.push_back(key);
    cols.push_back({"", name, key->type});
    WindowSpec::OrderItem item = q.order_by[k];
    item.expr = ColumnRefTo(name, {}, q.order_by[k].expr->loc);
    over->order_by.push_back(item);
  }
  // Drop the hidden columns between the outputs and the keys.
  std::vector<BoundExprPtr> pre(exprs.begin(), exprs.begin() + static_cast<std::ptrdiff_t>(n));
  pre.insert(pre.end(), exprs.end() - static_cast<std::ptrdiff_t>(q.order_by.size()), exprs.end());
  Relation keyed;
  keyed.plan = MakeProject(out.plan, std::move(pre), SchemaOf(cols));
  keyed.columns = cols;
  Expr call;
  call.kind = ExprKind::kFunction;
  call.names = {"row_number"};
  call.loc = q.order_by[0].expr->loc;
  call.over = over;
  out.columns.resize(n);  // without the hidden ORDER BY columns
  return LimitRanks(BindRanking(call, keyed), out.columns, limit, offset, q);
}

// The ranks offset+1 .. offset+limit of `ranked` (its columns, then the rank after `columns`
// and the ORDER BY keys), with `columns` kept.
Relation StatementBinder::LimitRanks(const PlanPtr& ranked, const std::vector<ScopeColumn>& columns,
                                     int64_t limit, int64_t offset, const Query& q) {
  const int rank = static_cast<int>(ranked->schema->size()) - 1;
  const DataType rank_type(TypeId::kInt64);
  BoundExprPtr pred = BindCall(
      "<=", {expr::MakeColumn(rank, rank_type), expr::MakeLiteral(Value::Int64(offset + limit))},
      q.limit->loc);
  if (offset > 0) {
    pred = expr::MakeLogical(
        expr::BoundKind::kAnd,
        {pred,
         BindCall(">", {expr::MakeColumn(rank, rank_type), expr::MakeLiteral(Value::Int64(offset))},
                  q.offset->loc)});
  }
  Relation rel;
  std::vector<BoundExprPtr> visible;
  for (size_t i = 0; i < columns.size(); ++i) {
    visible.push_back(expr::MakeColumn(static_cast<int>(i), columns[i].type));
    rel.columns.push_back({"", columns[i].name, columns[i].type});
  }
  rel.plan = MakeProject(MakeFilter(ranked, pred), std::move(visible), SchemaOf(rel.columns));
  return rel;
}

}  // namespace sluice::sql
