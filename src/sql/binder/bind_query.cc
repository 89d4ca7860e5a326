// Queries: WITH, set operations, FROM items (tables, views, CTEs, subqueries), and SELECT
// without aggregates (projections, UNNEST, a ranking window function).

#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "expr/aggregate.h"
#include "expr/cast.h"
#include "expr/evaluator.h"
#include "expr/function.h"
#include "sql/binder/binder_internal.h"

namespace sluice::sql {

// ---------------------------------------------------------------- queries

Relation StatementBinder::BindQuery(const Query& q) {
  if (++depth_ > 64) FailUser(q.loc, "queries are nested too deeply");
  if (q.recursive) FailNotSupported(q.loc, "WITH RECURSIVE is not supported in a streaming query");
  ctes_.emplace_back();
  for (const auto& cte : q.with) {
    if (ctes_.back().count(cte.name))
      FailUser(cte.loc, "WITH query \"{}\" is given twice", cte.name);
    BindQuery(*cte.query);  // errors at the CTE itself
    ctes_.back()[cte.name] = &cte;
  }
  const bool ordered = !q.order_by.empty() || q.limit || q.offset;
  Relation rel = ordered ? BindOrderLimit(q) : BindSetExpr(*q.body);
  ctes_.pop_back();
  --depth_;
  return rel;
}

Relation StatementBinder::BindSetExpr(const SetExpr& s) {
  switch (s.kind) {
    case SetExpr::Kind::kSelect:
      return BindSelectCore(*s.select);
    case SetExpr::Kind::kQuery:
      return BindQuery(*s.query);
    case SetExpr::Kind::kSetOp:
      break;
  }
  if (s.set_op != "union" || !s.all) return BindSetOperation(s);
  return BindUnion(s, /*all_only=*/true);
}

// A chain of UNIONs: the operands of `s` and of every UNION below it (only the UNION ALLs when
// `all_only`), bound and unified by position, then unioned.
Relation StatementBinder::BindUnion(const SetExpr& s, bool all_only) {
  std::vector<const SetExpr*> parts;
  std::vector<const SetExpr*> stack = {&s};
  while (!stack.empty()) {
    const SetExpr* cur = stack.back();
    stack.pop_back();
    if (cur->kind == SetExpr::Kind::kSetOp && cur->set_op == "union" && (cur->all || !all_only)) {
      stack.push_back(cur->right.get());
      stack.push_back(cur->left.get());
    } else {
      parts.push_back(cur);
    }
  }
  std::vector<Relation> rels = BindSetOperands(parts, all_only ? "UNION ALL" : "UNION");
  std::vector<PlanPtr> inputs;
  for (const auto& r : rels) inputs.push_back(r.plan);
  Relation out;
  out.plan = MakeUnion(std::move(inputs));
  out.columns = rels[0].columns;
  return out;
}

std::vector<Relation> StatementBinder::BindSetOperands(const std::vector<const SetExpr*>& parts,
                                                       const std::string& what) {
  std::vector<Relation> rels;
  for (const auto* p : parts) rels.push_back(BindSetExpr(*p));
  size_t width = rels[0].columns.size();
  std::vector<DataType> types;
  for (size_t i = 0; i < width; ++i) types.push_back(rels[0].columns[i].type);
  for (size_t r = 1; r < rels.size(); ++r) {
    if (rels[r].columns.size() != width) {
      FailUser(parts[r]->loc, "each {} query must have the same number of columns ({} vs {})", what,
               width, rels[r].columns.size());
    }
    for (size_t i = 0; i < width; ++i) {
      auto common = expr::CommonSuperType(types[i], rels[r].columns[i].type);
      if (!common.ok()) {
        FailUser(parts[r]->loc, "{} column {} (\"{}\"): types {} and {} cannot be matched", what,
                 i + 1, rels[0].columns[i].name, types[i].ToString(),
                 rels[r].columns[i].type.ToString());
      }
      types[i] = *common;
    }
  }
  std::vector<std::string> names;
  for (const auto& c : rels[0].columns) names.push_back(c.name);
  std::vector<ScopeColumn> cols;
  for (size_t i = 0; i < width; ++i) cols.push_back({"", names[i], types[i]});
  for (size_t r = 0; r < rels.size(); ++r) {
    rels[r].plan = CoerceTo(rels[r], types, names, parts[r]->loc, what);
    rels[r].columns = cols;
    rels[r].window.reset();
  }
  return rels;
}

Relation StatementBinder::BindCatalogTable(const CatalogEntry& entry, const std::string& qualifier,
                                           const Location& loc) {
  if (entry.kind == CatalogEntry::Kind::kView) {
    // A view is bound afresh where it is used; CTEs of the user's query do not leak in.
    auto saved = std::move(ctes_);
    ctes_.clear();
    Relation rel = BindQuery(*entry.query);
    ctes_ = std::move(saved);
    for (auto& c : rel.columns) c.qualifier = qualifier;
    return rel;
  }
  if (entry.kind == CatalogEntry::Kind::kMemoryTable) return ReadMemoryTable(entry, qualifier, loc);
  const auto& table = entry.table;
  if (table->type != connectors::TableType::kSource) {
    FailUser(loc, "table \"{}\" is a sink (type = 'sink'); it cannot be read from", entry.name);
  }
  std::vector<int> cols;
  for (size_t i = 0; i < table->schema.size(); ++i) cols.push_back(static_cast<int>(i));
  Relation rel;
  rel.plan = MakeSource(table, cols);
  bool has_generated = false;
  for (const auto& c : entry.columns) has_generated |= c.generated != nullptr;
  if (!has_generated) {
    for (const auto& f : table->schema.fields()) rel.columns.push_back({qualifier, f.name, f.type});
    return AddWatermark(entry, std::move(rel), loc);
  }
  std::vector<ScopeColumn> physical;
  for (const auto& f : table->schema.fields()) physical.push_back({qualifier, f.name, f.type});
  std::vector<BoundExprPtr> exprs;
  for (const auto& c : entry.columns) {
    if (c.generated && c.name == entry.processing_time_column) {
      // Stamped by the processing-time watermark generator just above; a constant placeholder
      // keeps this projection deterministic (so sources are still pruned and reads shared).
      exprs.push_back(expr::MakeLiteral(Value::Null(types::Timestamp())));
    } else if (c.generated) {
      exprs.push_back(Cast(BindExpr(*c.generated, physical), c.type, c.generated->loc, false));
    } else {
      int idx = static_cast<int>(*table->schema.Find(c.name));
      exprs.push_back(expr::MakeColumn(idx, c.type));
    }
    rel.columns.push_back({qualifier, c.name, c.type});
  }
  rel.plan = MakeProject(rel.plan, std::move(exprs), SchemaOf(rel.columns));
  return AddWatermark(entry, std::move(rel), loc);
}

Relation StatementBinder::AddWatermark(const CatalogEntry& entry, Relation rel,
                                       const Location& loc) {
  if (!entry.processing_time_column.empty()) {
    // Processing time: the generator stamps the column with the wall clock and its watermark
    // follows the wall clock (the watermark expression is the column itself, for EXPLAIN).
    int column = -1;
    for (size_t i = 0; i < rel.columns.size(); ++i) {
      if (rel.columns[i].name == entry.processing_time_column) column = static_cast<int>(i);
    }
    rel.columns[static_cast<size_t>(column)].role = TimeRole::kEventTime;
    auto w = std::make_shared<LogicalPlan>(*MakeWatermark(
        rel.plan, column, expr::MakeColumn(column, types::Timestamp()), std::nullopt));
    w->processing_time = true;
    rel.plan = w;
    return rel;
  }
  int event_time = -1;
  for (size_t i = 0; i < rel.columns.size(); ++i) {
    if (rel.columns[i].name == entry.event_time_column) event_time = static_cast<int>(i);
  }
  if (event_time >= 0) rel.columns[static_cast<size_t>(event_time)].role = TimeRole::kEventTime;
  BoundExprPtr watermark;
  if (entry.watermark_expr) {
    watermark = Cast(BindExpr(*entry.watermark_expr, rel.columns), types::Timestamp(),
                     entry.watermark_expr->loc, false);
  } else {
    // By default the watermark trails the largest event time by one second.
    BoundExprPtr time;
    if (event_time >= 0) {
      time = expr::MakeColumn(event_time, types::Timestamp());
    } else {
      auto t = std::make_shared<BoundExpr>();
      t->kind = BoundKind::kEventTime;
      t->type = types::Timestamp();
      time = t;
    }
    watermark = BindCall(
        "-", {time, expr::MakeLiteral(Value::IntervalValue(types::Interval{0, 0, 1000000}))}, loc);
  }
  rel.plan = MakeWatermark(rel.plan, event_time, watermark, entry.idle_micros);
  return rel;
}

// `AS alias(a, b, ...)` renames the first columns of a FROM item (PostgreSQL's column
// aliases); the others keep their names.
Relation StatementBinder::BindTableRef(const TableRef& t) {
  if (t.column_aliases.empty()) return BindFromItem(t);
  Relation rel =
      RenameColumns(BindFromItem(t), t.column_aliases, t.loc, fmt::format("\"{}\"", t.alias));
  for (auto& c : rel.columns) c.qualifier = t.alias;
  return rel;
}

// The first names.size() columns of rel take these names (WITH q(a, b) and FROM ... AS q(a, b)).
Relation StatementBinder::RenameColumns(Relation rel, const std::vector<std::string>& names,
                                        const Location& loc, const std::string& what) {
  if (names.empty()) return rel;
  if (names.size() > rel.columns.size()) {
    FailUser(loc, "{} names {} columns but has {}", what, names.size(), rel.columns.size());
  }
  std::vector<DataType> types;
  std::vector<std::string> all_names;
  for (size_t i = 0; i < rel.columns.size(); ++i) {
    types.push_back(rel.columns[i].type);
    all_names.push_back(i < names.size() ? names[i] : rel.columns[i].name);
  }
  rel.plan = CoerceTo(rel, types, all_names, loc, what);  // a projection that renames
  for (size_t i = 0; i < names.size(); ++i) rel.columns[i].name = names[i];
  return rel;
}

Relation StatementBinder::BindFromItem(const TableRef& t) {
  switch (t.kind) {
    case TableRef::Kind::kNamed: {
      if (t.as_of) {
        FailNotSupported(t.loc,
                         "FOR SYSTEM_TIME AS OF is supported on the right side of a JOIN (a "
                         "lookup join against a bounded table)");
      }
      std::string qualifier = t.alias.empty() ? t.name : t.alias;
      for (auto it = ctes_.rbegin(); it != ctes_.rend(); ++it) {
        auto found = it->find(t.name);
        if (found == it->end()) continue;
        const CommonTableExpr* cte = found->second;
        Relation rel = RenameColumns(BindQuery(*cte->query), cte->column_names, cte->loc,
                                     fmt::format("WITH query \"{}\"", cte->name));
        for (auto& c : rel.columns) c.qualifier = qualifier;
        return rel;
      }
      const CatalogEntry* entry = b_->catalog_.Find(t.name);
      if (entry == nullptr && b_->IsPending(t.name)) throw DeferBinding{t.name};
      if (entry == nullptr) {
        std::vector<std::string> names = b_->catalog_.Names();
        for (const auto& scope : ctes_) {
          for (const auto& [n, c] : scope) names.push_back(n);
        }
        FailUser(t.loc, "table \"{}\" does not exist{}", t.name, Hint(t.name, names));
      }
      return BindCatalogTable(*entry, qualifier, t.loc);
    }
    case TableRef::Kind::kSubquery: {
      Relation rel = BindQuery(*t.subquery);
      for (auto& c : rel.columns) c.qualifier = t.alias;
      return rel;
    }
    case TableRef::Kind::kJoin:
      return BindJoin(t);
    case TableRef::Kind::kFunction: {
      if (t.name == "tumble" || t.name == "hop") return BindWindowTableFunction(t);
      if (t.name == "session") {
        FailNotSupported(t.loc, "SESSION in FROM is not supported; GROUP BY SESSION(gap) instead");
      }
      if (t.name == "unnest") FailNotSupported(t.loc, "UNNEST is not supported yet");
      FailUser(t.loc, "table function \"{}\" does not exist", t.name);
    }
  }
  FailUser(t.loc, "unsupported FROM item");
}

// SET update_flush_interval = INTERVAL '...' (default 1 second).
int64_t StatementBinder::FlushInterval() const {
  return IntervalSetting("update_flush_interval", 1000000);
}

// An interval setting (checked when it was SET), in microseconds.
int64_t StatementBinder::IntervalSetting(const std::string& name, int64_t default_micros) const {
  auto it = b_->settings_.find(name);
  if (it == b_->settings_.end()) return default_micros;
  return ParseIntervalSetting(it->second).value_or(default_micros);
}

std::string StatementBinder::ColumnName(const SelectItem& item, const BoundExprPtr& bound) {
  if (!item.alias.empty()) return item.alias;
  const Expr* e = item.expr.get();
  while (e->kind == ExprKind::kCast) e = e->args[0].get();
  switch (e->kind) {
    case ExprKind::kColumnRef:
      return e->names.back();
    case ExprKind::kFieldAccess:
      return e->text;
    case ExprKind::kFunction:
      return e->names.back();
    case ExprKind::kCase:
      return "case";
    default:
      return "?column?";
  }
}

Relation StatementBinder::BindSelectCore(const SelectCore& core) {
  if (core.distinct) {
    SelectCore all = core;
    all.distinct = false;
    return BindDistinct(BindSelectCore(all), core.loc);
  }
  if (!core.from) {
    FailNotSupported(core.loc,
                     "a streaming query reads FROM a source table; SELECT without FROM "
                     "is not supported");
  }
  // FROM a, b WHERE a.k = b.k: the conditions relating the items join them; conditions with
  // subqueries are planned over the joined rows below.
  SelectCore rest = core;
  Relation rel;
  if (core.where && core.from->kind == TableRef::Kind::kJoin &&
      core.from->join_type == JoinType::kCross) {
    std::vector<ExprPtr> conjuncts, plain, with_subquery;
    SplitAnd(core.where, &conjuncts);
    for (const auto& c : conjuncts) (HasSubquery(*c) ? with_subquery : plain).push_back(c);
    rel = plain.empty() ? BindTableRef(*core.from) : BindCommaJoin(*core.from, *AndOf(plain));
    rest.where = AndOf(with_subquery);
  } else {
    rel = BindTableRef(*core.from);
  }
  const size_t from_columns = rel.columns.size();  // not the subqueries' columns
  std::optional<SelectCore> planned = PlanSubqueries(rest, &rel);
  const SelectCore& s = planned ? *planned : rest;
  if (s.where) {
    BoundExprPtr pred = BindBool(*s.where, rel.columns, "WHERE");
    if (rel.window && rel.window->spec.kind == exec::WindowSpec::Kind::kHop) {
      // A row of HOP(...) in FROM stands for one row per window it belongs to, but the filter
      // runs before the windowed aggregate assigns them: it would see one window only.
      std::vector<int> cols;
      pred->CollectColumns(&cols);
      for (int c : cols) {
        if (c == rel.window->start_column || c == rel.window->end_column) {
          FailNotSupported(s.where->loc,
                           "window_start and window_end of HOP in FROM are not supported in "
                           "WHERE (a row belongs to several windows); filter them in HAVING");
        }
      }
    }
    rel.plan = MakeFilter(rel.plan, pred);
  }
  bool aggregates = !s.group_by.empty() || s.having != nullptr;
  for (const auto& item : s.items) aggregates |= FindAggregate(*item.expr) != nullptr;
  if (aggregates) return BindAggregateSelect(s, std::move(rel));
  if (rel.window && rel.window->spec.kind == exec::WindowSpec::Kind::kHop) {
    FailNotSupported(s.from->loc,
                     "HOP in FROM is supported with GROUP BY window_start, window_end (a row "
                     "belongs to several windows)");
  }

  // UNNEST(array) in the select list: one row per element, read through a column.
  std::vector<SelectItem> items = s.items;
  const size_t visible = from_columns;
  std::string unnest_sql;
  {
    const Expr* unnest = nullptr;
    std::function<void(const Expr&)> find = [&](const Expr& e) {
      if (e.kind == ExprKind::kFunction && !e.names.empty() && e.names.back() == "unnest") {
        if (unnest && e.ToSql() != unnest->ToSql()) {
          FailNotSupported(e.loc, "only one UNNEST per SELECT is supported");
        }
        unnest = &e;
        return;
      }
      for (const auto& a : e.args) {
        if (a) find(*a);
      }
    };
    for (const auto& item : items) find(*item.expr);
    if (unnest) {
      if (planned) FailNotSupported(unnest->loc, "UNNEST beside a subquery is not supported yet");
      if (unnest->args.size() != 1) FailUser(unnest->loc, "UNNEST takes one array");
      BoundExprPtr array = BindExpr(*unnest->args[0], rel.columns);
      if (array->type.id() != TypeId::kList) {
        FailUser(unnest->loc, "UNNEST takes an array, not {}", array->type.ToString());
      }
      std::vector<BoundExprPtr> pre;
      for (size_t i = 0; i < visible; ++i) {
        pre.push_back(expr::MakeColumn(static_cast<int>(i), rel.columns[i].type));
      }
      pre.push_back(array);
      std::vector<ScopeColumn> pre_cols = rel.columns;
      pre_cols.push_back({"", "__array", array->type});
      PlanPtr unnested =
          MakeUnnest(MakeProject(rel.plan, pre, SchemaOf(pre_cols)), static_cast<int>(visible));
      std::vector<BoundExprPtr> keep;
      for (size_t i = 0; i < visible; ++i) {
        keep.push_back(expr::MakeColumn(static_cast<int>(i), rel.columns[i].type));
      }
      keep.push_back(expr::MakeColumn(static_cast<int>(visible + 1), array->type.element()));
      rel.columns.push_back({"", "__unnest", array->type.element()});
      rel.plan = MakeProject(unnested, keep, SchemaOf(rel.columns));
      unnest_sql = unnest->ToSql();
      std::function<ExprPtr(const ExprPtr&)> replace = [&](const ExprPtr& e) -> ExprPtr {
        if (!e) return e;
        if (e->kind == ExprKind::kFunction && e->ToSql() == unnest_sql) {
          return ColumnRefTo("__unnest", {}, e->loc);
        }
        auto copy = std::make_shared<Expr>(*e);
        for (auto& a : copy->args) a = replace(a);
        return copy;
      };
      for (auto& item : items) {
        bool bare = item.expr->ToSql() == unnest_sql;
        item.expr = replace(item.expr);
        if (bare && item.alias.empty()) item.alias = "unnest";
      }
    }
  }

  // Async function calls: each an async operator appending its result column.
  BindAsyncCalls(&items, &rel);

  // Window functions over rows (LAG, running aggregates): columns of a kOver node.
  items = WithNamedWindows(s, std::move(items));
  if (HasRowWindowFunction(items)) BindOverFunctions(&items, &rel);

  // A ranking window function in the select list.
  const SelectItem* ranked = nullptr;
  for (const auto& item : items) {
    if (item.expr->kind != ExprKind::kFunction || !item.expr->over) continue;
    if (ranked) {
      FailNotSupported(item.expr->loc, "only one window function per SELECT is supported");
    }
    ranked = &item;
  }
  PlanPtr input = ranked ? BindRanking(*ranked->expr, rel) : rel.plan;

  std::vector<BoundExprPtr> exprs;
  std::vector<ScopeColumn> out_cols;
  for (const auto& item : items) {
    if (&item == ranked) {
      const DataType rank_type(TypeId::kInt64);
      exprs.push_back(expr::MakeColumn(static_cast<int>(rel.columns.size()), rank_type));
      out_cols.push_back(
          {"", item.alias.empty() ? item.expr->names.back() : item.alias, rank_type});
      continue;
    }
    if (item.expr->kind == ExprKind::kStar) {
      const auto& q = item.expr->names;
      bool any = false;
      for (size_t i = 0; i < visible; ++i) {
        if (!q.empty() && rel.columns[i].qualifier != q.back()) continue;
        exprs.push_back(expr::MakeColumn(static_cast<int>(i), rel.columns[i].type));
        out_cols.push_back(rel.columns[i]);
        out_cols.back().qualifier.clear();
        any = true;
      }
      if (!any && !q.empty()) FailUser(item.expr->loc, "table \"{}\" is not in FROM", q.back());
      continue;
    }
    BoundExprPtr bound = BindExpr(*item.expr, rel.columns);
    if (bound->type.id() == TypeId::kNull) bound = expr::MakeCast(bound, types::Utf8());
    exprs.push_back(bound);
    out_cols.push_back({"", ColumnName(item, bound), bound->type});
    CopyTimeRole(bound, rel.columns, &out_cols.back());
  }
  Relation out;
  out.plan = MakeProject(input, std::move(exprs), SchemaOf(out_cols));
  out.columns = std::move(out_cols);
  return out;
}

void StatementBinder::BindAsyncCalls(std::vector<SelectItem>* items, Relation* rel) {
  std::vector<const Expr*> calls;
  std::vector<std::string> calls_sql;
  std::function<void(const Expr&)> find = [&](const Expr& e) {
    if (e.kind == ExprKind::kFunction && e.names.size() == 1) {
      auto it = b_->functions_.find(e.names.back());
      if (it != b_->functions_.end() && it->second.async) {
        std::string sql = e.ToSql();
        if (std::find(calls_sql.begin(), calls_sql.end(), sql) == calls_sql.end()) {
          calls.push_back(&e);
          calls_sql.push_back(std::move(sql));
        }
        return;  // an async call in its arguments is refused when they are bound
      }
    }
    for (const auto& a : e.args) {
      if (a) find(*a);
    }
  };
  for (const auto& item : *items) find(*item.expr);
  if (calls.empty()) return;
  std::vector<std::string> names;
  for (size_t k = 0; k < calls.size(); ++k) {
    const Expr& call = *calls[k];
    const SqlFunction& fn = b_->functions_.at(call.names.back());
    if (rel->plan->updating()) {
      FailNotSupported(call.loc,
                       "async function {}() over an updating stream (the result of GROUP BY, a "
                       "join or a changelog) is not supported: call it on append-only rows",
                       fn.name);
    }
    std::vector<BoundExprPtr> args = BindUserCallArgs(fn, call, rel->columns);
    const size_t n = rel->columns.size();
    std::vector<BoundExprPtr> pre;
    std::vector<ScopeColumn> pre_cols = rel->columns;
    std::vector<int> arg_columns;
    for (size_t i = 0; i < n; ++i) {
      pre.push_back(expr::MakeColumn(static_cast<int>(i), rel->columns[i].type));
    }
    for (size_t i = 0; i < args.size(); ++i) {
      arg_columns.push_back(static_cast<int>(n + i));
      pre_cols.push_back({"", fmt::format("__async_arg{}", i), args[i]->type});
      pre.push_back(std::move(args[i]));
    }
    PlanPtr called = MakeAsyncUdf(MakeProject(rel->plan, std::move(pre), SchemaOf(pre_cols)),
                                  fn.async, std::move(arg_columns));
    std::vector<BoundExprPtr> keep;
    for (size_t i = 0; i < n; ++i) {
      keep.push_back(expr::MakeColumn(static_cast<int>(i), rel->columns[i].type));
    }
    keep.push_back(expr::MakeColumn(static_cast<int>(pre_cols.size()), fn.return_type));
    names.push_back(fmt::format("__async{}", k + 1));
    rel->columns.push_back({"", names.back(), fn.return_type});
    rel->plan = MakeProject(called, std::move(keep), SchemaOf(rel->columns));
  }
  std::function<ExprPtr(const ExprPtr&)> replace = [&](const ExprPtr& e) -> ExprPtr {
    if (!e) return e;
    if (e->kind == ExprKind::kFunction) {
      auto at = std::find(calls_sql.begin(), calls_sql.end(), e->ToSql());
      if (at != calls_sql.end()) {
        return ColumnRefTo(names[static_cast<size_t>(at - calls_sql.begin())], {}, e->loc);
      }
    }
    auto copy = std::make_shared<Expr>(*e);
    for (auto& a : copy->args) a = replace(a);
    return copy;
  };
  for (auto& item : *items) {
    const bool bare =
        item.expr->kind == ExprKind::kFunction &&
        std::find(calls_sql.begin(), calls_sql.end(), item.expr->ToSql()) != calls_sql.end();
    if (bare && item.alias.empty()) item.alias = item.expr->names.back();
    item.expr = replace(item.expr);
  }
}

}  // namespace sluice::sql
