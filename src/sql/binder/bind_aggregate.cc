// Aggregation and windows: GROUP BY with or without a window, TUMBLE/HOP/SESSION, the window
// table functions in FROM, and ranking (ROW_NUMBER, RANK, DENSE_RANK) over windows or streams.

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

PlanPtr StatementBinder::BindRanking(const Expr& call, const Relation& rel) {
  const std::string& name = call.names.back();
  exec::TopNSpec spec;
  if (name == "row_number") {
    spec.function = exec::RankFunction::kRowNumber;
  } else if (name == "rank") {
    spec.function = exec::RankFunction::kRank;
  } else if (name == "dense_rank") {
    spec.function = exec::RankFunction::kDenseRank;
  } else {
    FailNotSupported(call.loc,
                     "window function {}() is not supported yet; ROW_NUMBER(), RANK() and "
                     "DENSE_RANK() are",
                     name);
  }
  if (!call.args.empty() || call.star_arg) FailUser(call.loc, "{}() takes no arguments", name);
  const auto& over = *call.over;
  if (!over.frame_text.empty()) {
    FailNotSupported(call.loc, "window frames (ROWS/RANGE BETWEEN ...) are not supported");
  }
  if (over.order_by.empty()) {
    FailUser(call.loc, "{}() OVER (...) needs ORDER BY: it ranks the rows of each partition", name);
  }
  const size_t n = rel.columns.size();
  std::vector<BoundExprPtr> pre;
  for (size_t i = 0; i < n; ++i) {
    pre.push_back(expr::MakeColumn(static_cast<int>(i), rel.columns[i].type));
  }
  std::vector<BoundExprPtr> keys;
  BoundExprPtr window_end;
  for (const auto& p : over.partition_by) {
    BoundExprPtr b = BindExpr(*p, rel.columns);
    ScopeColumn role;
    CopyTimeRole(b, rel.columns, &role);
    if (!window_end && role.role != TimeRole::kNone && role.role != TimeRole::kEventTime) {
      window_end = WindowEnd(b, role.role, role.window, p->loc);
      continue;
    }
    keys.push_back(b);
  }
  // Without a window: a top-N over the whole stream, whose ranks change as rows arrive (an
  // updating result; the compiler requires a limit from an outer filter on the rank).
  const bool unbounded = !window_end;
  if (unbounded && spec.function != exec::RankFunction::kRowNumber) {
    FailNotSupported(call.loc,
                     "{}() over a whole unbounded stream (no window in PARTITION BY) is not "
                     "supported; ROW_NUMBER() is, with an outer filter on its rank",
                     name);
  }
  if (!unbounded && rel.plan->updating()) {
    FailNotSupported(call.loc, "{}() per window over an updating input ({}) is not supported", name,
                     UpdatingCause(*rel.plan));
  }
  if (unbounded) {
    spec.window_end = -1;
  } else {
    spec.window_end = static_cast<int>(pre.size());
    spec.partition.push_back(spec.window_end);
    pre.push_back(window_end);
  }
  for (auto& k : keys) {
    spec.partition.push_back(static_cast<int>(pre.size()));
    pre.push_back(k);
  }
  for (const auto& o : over.order_by) {
    exec::SortKey key;
    key.column = static_cast<int>(pre.size());
    key.descending = o.descending;
    // PostgreSQL: NULLs sort as if larger than every value.
    key.nulls_first = o.nulls_first.value_or(o.descending);
    pre.push_back(BindExpr(*o.expr, rel.columns));
    spec.order.push_back(key);
  }
  std::vector<Field> fields;
  for (size_t i = 0; i < pre.size(); ++i) {
    fields.push_back(
        Field{i < n ? rel.columns[i].name : fmt::format("__r{}", i), pre[i]->type, true});
  }
  PlanPtr input = MakeProject(unbounded ? rel.plan : WithLateRowsDropped(rel.plan), pre,
                              std::make_shared<types::Schema>(std::move(fields)));
  PlanPtr ranked = MakeTopN(input, spec);
  std::vector<BoundExprPtr> out;
  std::vector<ScopeColumn> cols = rel.columns;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(expr::MakeColumn(static_cast<int>(i), cols[i].type));
  }
  out.push_back(expr::MakeColumn(static_cast<int>(pre.size()), types::DataType(TypeId::kInt64)));
  cols.push_back({"", "__rank", types::DataType(TypeId::kInt64)});
  return MakeProject(ranked, std::move(out), SchemaOf(cols));
}

// FROM TUMBLE(t, ts, size) / HOP(t, ts, slide, size): t's columns plus window_start and
// window_end. The time column must be t's event time, since windows follow the watermark.
Relation StatementBinder::BindWindowTableFunction(const TableRef& t) {
  std::string upper = t.name == "tumble" ? "TUMBLE" : "HOP";
  size_t want = t.name == "tumble" ? 3 : 4;
  if (t.args.size() != want) {
    FailUser(
        t.loc, "{} in FROM takes {}", upper,
        t.name == "tumble" ? "(table, time_column, size)" : "(table, time_column, slide, size)");
  }
  const Expr& table_arg = *t.args[0];
  if (table_arg.kind != ExprKind::kColumnRef || table_arg.names.size() != 1) {
    FailUser(table_arg.loc, "the first argument of {} is a table name", upper);
  }
  TableRef named;
  named.kind = TableRef::Kind::kNamed;
  named.loc = table_arg.loc;
  named.name = table_arg.names[0];
  named.alias = t.alias;
  Relation rel = BindTableRef(named);
  BoundExprPtr time = BindExpr(*t.args[1], rel.columns);
  if (time->type.id() != TypeId::kTimestamp) {
    FailUser(t.args[1]->loc, "the time column of {} must be TIMESTAMP, not {}", upper,
             time->type.ToString());
  }
  // The window operator assigns rows by event time: the column must be it.
  bool is_event_time = time->kind == BoundKind::kColumn && rel.plan->kind == PlanKind::kWatermark &&
                       rel.plan->event_time_column == time->column_index;
  if (!is_event_time && rel.plan->kind == PlanKind::kWatermark && rel.plan->processing_time) {
    FailUser(t.args[1]->loc,
             "the time column of {} must be the table's time attribute \"{}\" (its processing "
             "time)",
             upper, rel.columns[static_cast<size_t>(rel.plan->event_time_column)].name);
  }
  if (!is_event_time) {
    FailUser(t.args[1]->loc,
             "the time column of {} must be the table's event time (declare it with WATERMARK "
             "FOR {})",
             upper, t.args[1]->ToSql());
  }
  auto call = std::make_shared<Expr>();
  call->kind = ExprKind::kFunction;
  call->loc = t.loc;
  call->names = {t.name};
  call->args.assign(t.args.begin() + 2, t.args.end());
  exec::WindowSpec spec = BindWindow(*call, rel.columns);
  int64_t size = spec.kind == exec::WindowSpec::Kind::kHop ? spec.slide : spec.width;
  // window_start = date_bin(size, ts), window_end = window_start + size (for HOP these are
  // only meaningful through GROUP BY, which uses `spec`).
  types::Interval size_iv{0, 0, spec.width};
  BoundExprPtr start =
      BindCall("date_bin",
               {expr::MakeLiteral(Value::IntervalValue(types::Interval{0, 0, size})), time,
                expr::MakeLiteral(Value::Timestamp(0))},
               t.loc);
  BoundExprPtr end =
      BindCall("+", {start, expr::MakeLiteral(Value::IntervalValue(size_iv))}, t.loc);
  std::vector<BoundExprPtr> exprs;
  for (size_t i = 0; i < rel.columns.size(); ++i) {
    exprs.push_back(expr::MakeColumn(static_cast<int>(i), rel.columns[i].type));
  }
  std::string qualifier = t.alias.empty() ? table_arg.names[0] : t.alias;
  TableFunctionWindow w;
  w.spec = spec;
  w.start_column = static_cast<int>(exprs.size());
  exprs.push_back(start);
  rel.columns.push_back(
      {qualifier, "window_start", types::Timestamp(), TimeRole::kWindowStart, spec});
  w.end_column = static_cast<int>(exprs.size());
  exprs.push_back(end);
  rel.columns.push_back({qualifier, "window_end", types::Timestamp(), TimeRole::kWindowEnd, spec});
  rel.plan = MakeProject(rel.plan, std::move(exprs), SchemaOf(rel.columns));
  rel.window = w;
  return rel;
}

// ---------------------------------------------------------------- windowed aggregation

namespace {
// When the input has a column named like an aggregate call of the query (a subquery's
// unaliased `count(*)`), a note for an error that the call's reading as an aggregate caused.
std::string AggregateColumnNote(const std::string& call_sql,
                                const std::vector<ScopeColumn>& scope) {
  bool is_column = std::any_of(scope.begin(), scope.end(),
                               [&](const ScopeColumn& c) { return c.name == call_sql; });
  if (!is_column) return "";
  return fmt::format(
      "; note: {} in this SELECT aggregates the rows of its FROM clause; to read the column of "
      "that name, quote it (\"{}\") or name it with AS in the subquery",
      call_sql, call_sql);
}
}  // namespace

// GROUP BY with a window: rows are keyed by the other GROUP BY expressions, aggregated per
// window, and the select list and HAVING are evaluated over the results. The plan is
//   Project(select list) <- [Filter(HAVING)] <- WindowAggregate <- Project(keys, arguments)
Relation StatementBinder::BindAggregateSelect(const SelectCore& s, Relation rel) {
  // GROUP BY items may be expressions, select-list positions or select-list aliases.
  std::vector<const Expr*> group_exprs;
  for (const auto& g : s.group_by) {
    const Expr* e = g.get();
    if (e->kind == ExprKind::kLiteral && e->literal_kind == LiteralKind::kInteger) {
      size_t k = std::stoul(e->text);
      if (k < 1 || k > s.items.size()) {
        FailUser(e->loc, "GROUP BY position {} is not in the select list", e->text);
      }
      e = s.items[k - 1].expr.get();
    } else if (e->kind == ExprKind::kColumnRef && e->names.size() == 1) {
      bool is_input = std::any_of(rel.columns.begin(), rel.columns.end(),
                                  [&](const ScopeColumn& c) { return c.name == e->names[0]; });
      if (!is_input) {
        const std::string name = e->names[0];
        for (const auto& item : s.items) {
          if (item.alias == name) {
            e = item.expr.get();
            break;
          }
        }
      }
    }
    if (FindAggregate(*e)) FailUser(e->loc, "aggregate functions are not allowed in GROUP BY");
    group_exprs.push_back(e);
  }
  // The window: a TUMBLE/HOP/SESSION call, or a window column of the input (re-aggregation).
  std::optional<exec::WindowSpec> window;
  const Expr* window_expr = nullptr;
  BoundExprPtr window_column;
  std::vector<const Expr*> key_exprs;
  std::vector<BoundExprPtr> keys;
  // window_start / window_end of a TUMBLE or HOP in FROM.
  auto tvf_column = [&](const BoundExprPtr& b) {
    return rel.window && b->kind == BoundKind::kColumn &&
           (b->column_index == rel.window->start_column ||
            b->column_index == rel.window->end_column);
  };
  bool tvf_grouped = false;
  for (const Expr* e : group_exprs) {
    bool is_window = IsWindowCall(*e);
    BoundExprPtr bound;
    if (!is_window) {
      bound = BindExpr(*e, rel.columns);
      if (tvf_column(bound)) {
        if (window && !tvf_grouped) FailUser(e->loc, "GROUP BY can name only one window");
        window = rel.window->spec;
        tvf_grouped = true;
        continue;
      }
      is_window = bound->type == exec::WindowStructType();
    }
    if (is_window) {
      if (window) FailUser(e->loc, "GROUP BY can name only one window");
      window_expr = e;
      if (bound) {
        window_column = bound;
        exec::WindowSpec spec;
        spec.kind = exec::WindowSpec::Kind::kFromColumn;
        window = spec;
      } else {
        window = BindWindow(*e, rel.columns);
      }
      continue;
    }
    key_exprs.push_back(e);
    keys.push_back(bound);
  }
  // Without a window the aggregate is updating: its results change as rows arrive.
  const bool updating = !window.has_value();
  // Over an updating input, rows can be retracted: only aggregates that can undo a row.
  const bool retracting = rel.plan->updating();
  if (retracting && !updating) {
    FailNotSupported(s.loc,
                     "a windowed aggregate over an updating input ({}) is not supported: a "
                     "window's result is final when it closes, but a later change could still "
                     "alter it; aggregate without a window instead",
                     UpdatingCause(*rel.plan));
  }
  // Aliases by which the select list names the window (TUMBLE(...) AS window).
  std::vector<std::string> window_aliases;
  std::string window_sql = window_expr ? window_expr->ToSql() : std::string("\x01");
  for (const auto& item : s.items) {
    if (!item.alias.empty() && item.expr->ToSql() == window_sql) {
      window_aliases.push_back(item.alias);
    }
  }
  // Aggregate calls of the select list and HAVING, each bound once.
  std::vector<exec::AggregateCall> calls;
  std::vector<std::string> call_sql;
  std::vector<BoundExprPtr> pre;  // the pre-aggregation projection: keys, then arguments
  for (const auto& k : keys) pre.push_back(k);
  if (window_column) pre.push_back(window_column);
  const auto& registry = expr::AggregateRegistry::Get();
  std::function<void(const Expr&)> collect = [&](const Expr& e) {
    if (e.kind == ExprKind::kFunction && !e.names.empty() && IsAggregateName(e.names.back()) &&
        !e.over) {
      std::string sql = e.ToSql();
      if (std::find(call_sql.begin(), call_sql.end(), sql) != call_sql.end()) return;
      for (const auto& a : e.args) {
        if (FindAggregate(*a)) FailUser(a->loc, "aggregate function calls cannot be nested");
      }
      expr::AggregateBindInput in;
      in.distinct = e.distinct;
      in.star = e.star_arg;
      in.retracting = retracting;
      AggregateArguments call_args = BindAggregateArguments(e);
      std::vector<BoundExprPtr> args;
      for (const auto& a : call_args.args) {
        try {
          args.push_back(BindExpr(*a, rel.columns));
        } catch (BindError& err) {
          err.status = Status(err.status.kind(),
                              err.status.message() + AggregateColumnNote(sql, rel.columns));
          throw;
        }
        if (call_args.descending && args.size() == call_args.fraction_arg + 1) {
          args.back() = ReverseFraction(args.back());
        }
        in.types.push_back(args.back()->type);
        in.constants.push_back(args.back()->kind == BoundKind::kLiteral
                                   ? std::optional<Value>(args.back()->literal)
                                   : std::nullopt);
      }
      exec::AggregateCall call;
      if (const SqlFunction* user = FindUserAggregate(e.names.back())) {
        call.aggregate = BindUserAggregate(*user, e, args, retracting);
      } else {
        if (!registry.Contains(e.names.back())) {
          FailNotSupported(e.loc, "aggregate function {}() is not supported yet", e.names.back());
        }
        auto bound = registry.Bind(e.names.back(), in);
        if (!bound.ok()) Fail(e.loc, bound.status());
        call.aggregate = bound.MoveValue();
      }
      call.display = sql;
      for (size_t i = 0; i < args.size(); ++i) {
        call.arg_columns.push_back(static_cast<int>(pre.size()));
        pre.push_back(Cast(args[i], call.aggregate.arg_types[i], call_args.args[i]->loc, false));
      }
      if (e.filter) {
        call.filter_column = static_cast<int>(pre.size());
        pre.push_back(BindBool(*e.filter, rel.columns, "FILTER"));
      }
      calls.push_back(std::move(call));
      call_sql.push_back(sql);
      return;
    }
    if (e.over) return;
    for (const auto& a : e.args) {
      if (a) collect(*a);
    }
  };
  for (const auto& item : s.items) {
    if (item.expr->kind == ExprKind::kStar) {
      FailUser(item.expr->loc, "SELECT * cannot be used with GROUP BY; list the columns");
    }
    collect(*item.expr);
  }
  if (s.having) collect(*s.having);

  // Pre-aggregation projection and the window aggregate.
  std::vector<Field> pre_fields;
  for (size_t i = 0; i < pre.size(); ++i) {
    pre_fields.push_back(Field{fmt::format("__c{}", i), pre[i]->type, true});
  }
  PlanPtr input = MakeProject(updating ? rel.plan : WithLateRowsDropped(rel.plan), pre,
                              std::make_shared<types::Schema>(pre_fields));
  if (window && window->kind == exec::WindowSpec::Kind::kFromColumn) {
    window->column = static_cast<int>(keys.size());
  }
  std::vector<ScopeColumn> post;  // [__window,] __key0.., __agg0..
  if (window) post.push_back({"", "__window", exec::WindowStructType()});
  for (size_t k = 0; k < keys.size(); ++k) {
    post.push_back({"", fmt::format("__key{}", k), keys[k]->type});
  }
  for (size_t a = 0; a < calls.size(); ++a) {
    post.push_back({"", fmt::format("__agg{}", a), calls[a].aggregate.return_type});
  }
  PlanPtr agg;
  if (updating) {
    auto u = std::const_pointer_cast<LogicalPlan>(MakeUpdatingAggregate(
        input, static_cast<int>(keys.size()), calls, SchemaOf(post), FlushInterval()));
    u->ttl_micros = IntervalSetting("updating_ttl", kDefaultUpdatingTtl);
    agg = u;
  } else {
    agg = MakeWindowAggregate(input, *window, static_cast<int>(keys.size()), calls, SchemaOf(post));
  }

  // Rewrites an expression over the input into one over the aggregate's output.
  std::vector<std::string> key_sql;
  for (const Expr* k : key_exprs) key_sql.push_back(k->ToSql());
  std::function<ExprPtr(const ExprPtr&)> rewrite = [&](const ExprPtr& e) -> ExprPtr {
    if (!e) return e;
    std::string sql = e->ToSql();
    if (e->kind == ExprKind::kFunction && !e->over) {
      auto it = std::find(call_sql.begin(), call_sql.end(), sql);
      if (it != call_sql.end()) {
        return ColumnRefTo(fmt::format("__agg{}", it - call_sql.begin()), {}, e->loc);
      }
    }
    if (sql == window_sql) return ColumnRefTo("__window", {}, e->loc);
    for (size_t k = 0; k < key_sql.size(); ++k) {
      if (sql == key_sql[k]) return ColumnRefTo(fmt::format("__key{}", k), {}, e->loc);
    }
    if (e->kind == ExprKind::kColumnRef) {
      const auto& n = e->names;
      // window.start through an alias or the window column's name.
      for (const auto& alias : window_aliases) {
        if (n[0] == alias) return ColumnRefTo("__window", {n.begin() + 1, n.end()}, e->loc);
      }
      auto prefix_of = [&](const Expr* k) -> size_t {
        if (k->kind != ExprKind::kColumnRef) return 0;
        const auto& kn = k->names;
        if (kn.size() < n.size() && std::equal(kn.begin(), kn.end(), n.begin())) return kn.size();
        return 0;
      };
      if (tvf_grouped) {
        // window_start / window_end read the window's bounds.
        try {
          BoundExprPtr b = BindColumnRef(*e, rel.columns);
          if (b->kind == BoundKind::kColumn && b->column_index == rel.window->start_column) {
            return ColumnRefTo("__window", {"start"}, e->loc);
          }
          if (b->kind == BoundKind::kColumn && b->column_index == rel.window->end_column) {
            return ColumnRefTo("__window", {"end"}, e->loc);
          }
        } catch (const BindError&) {
        }
      }
      if (size_t p = window_expr ? prefix_of(window_expr) : 0) {
        return ColumnRefTo("__window", {n.begin() + static_cast<std::ptrdiff_t>(p), n.end()},
                           e->loc);
      }
      for (size_t k = 0; k < key_exprs.size(); ++k) {
        if (size_t p = prefix_of(key_exprs[k])) {
          return ColumnRefTo(fmt::format("__key{}", k),
                             {n.begin() + static_cast<std::ptrdiff_t>(p), n.end()}, e->loc);
        }
        // `page` for a key written `t.page`, and the reverse.
        const auto* kr = key_exprs[k];
        if (kr->kind == ExprKind::kColumnRef && n.size() == 1 && kr->names.size() == 2 &&
            kr->names[1] == n[0]) {
          return ColumnRefTo(fmt::format("__key{}", k), {}, e->loc);
        }
        if (kr->kind == ExprKind::kColumnRef && n.size() == 2 && kr->names.size() == 1 &&
            kr->names[0] == n[1]) {
          return ColumnRefTo(fmt::format("__key{}", k), {}, e->loc);
        }
      }
      if (n[0].rfind("__", 0) != 0) {
        // The old reading of `count(*)` over a subquery's unaliased `count(*)` column as that
        // column: say how to read the column now.
        std::string hint;
        for (const auto& c : call_sql) {
          hint = AggregateColumnNote(c, rel.columns);
          if (!hint.empty()) break;
        }
        FailUser(e->loc,
                 "column \"{}\" must appear in the GROUP BY clause or be used in an aggregate "
                 "function{}",
                 sql, hint);
      }
      return e;
    }
    auto copy = std::make_shared<Expr>(*e);
    for (auto& a : copy->args) a = rewrite(a);
    return copy;
  };

  PlanPtr plan = agg;
  if (s.having) {
    ExprPtr having = rewrite(s.having);
    plan = MakeFilter(plan, BindBool(*having, post, "HAVING"));
  }
  std::vector<BoundExprPtr> exprs;
  std::vector<ScopeColumn> out_cols;
  for (const auto& item : s.items) {
    BoundExprPtr bound = BindExpr(*rewrite(item.expr), post);
    exprs.push_back(bound);
    std::string name = ColumnName(item, bound);
    ScopeColumn role_of;
    if (window) {
      post[0].role = TimeRole::kWindow;
      post[0].window = *window;
      CopyTimeRole(bound, post, &role_of);
    }
    // Unaliased aggregates and windows are named by their SQL (`count(*)`,
    // `tumble(INTERVAL '1 minute')`), as in Arroyo, so a query over this one can refer to an
    // aggregate by writing the same call, and an unaliased window never takes the name of
    // another input's `window` column.
    if (item.alias.empty() && item.expr->kind == ExprKind::kFunction &&
        (IsAggregateName(item.expr->names.back()) || IsWindowCall(*item.expr))) {
      name = item.expr->ToSql();
    }
    out_cols.push_back({"", name, bound->type, role_of.role, role_of.window});
  }
  Relation out;
  out.plan = MakeProject(plan, std::move(exprs), SchemaOf(out_cols));
  out.columns = std::move(out_cols);
  return out;
}

// Reads TUMBLE(width), HOP(slide, width) or SESSION(gap); sizes are constant intervals.
exec::WindowSpec StatementBinder::BindWindow(const Expr& call,
                                             const std::vector<ScopeColumn>& scope) {
  const std::string& name = call.names.back();
  size_t want = name == "hop" ? 2 : 1;
  std::string upper = name == "tumble" ? "TUMBLE" : name == "hop" ? "HOP" : "SESSION";
  if (call.args.size() != want) {
    FailUser(call.loc, "{} takes {}", upper,
             name == "hop" ? "two intervals: HOP(slide, width)" : "one interval");
  }
  std::vector<int64_t> sizes;
  for (const auto& a : call.args) {
    BoundExprPtr b = BindExpr(*a, scope);
    if (b->kind != BoundKind::kLiteral || b->type.id() != TypeId::kInterval ||
        b->literal.is_null()) {
      FailUser(a->loc, "{} sizes must be constant intervals, like INTERVAL '1 minute'", upper);
    }
    const types::Interval& iv = b->literal.interval_value();
    if (iv.months != 0) {
      FailUser(a->loc,
               "{} cannot be sized in months or years (their length varies); use days or "
               "smaller units",
               upper);
    }
    int64_t us = iv.days * 86400000000LL + iv.micros;
    if (us <= 0) FailUser(a->loc, "{} sizes must be positive", upper);
    sizes.push_back(us);
  }
  exec::WindowSpec spec;
  if (name == "tumble") {
    spec.kind = exec::WindowSpec::Kind::kTumble;
    spec.width = sizes[0];
  } else if (name == "hop") {
    spec.kind = exec::WindowSpec::Kind::kHop;
    spec.slide = sizes[0];
    spec.width = sizes[1];
    if (spec.width % spec.slide != 0) {
      FailUser(call.loc,
               "HOP width ({}) must be a multiple of the slide ({}); the first argument is the "
               "slide, the second the width",
               types::FormatInterval({0, 0, spec.width}),
               types::FormatInterval({0, 0, spec.slide}));
    }
    if (spec.width == spec.slide) spec.kind = exec::WindowSpec::Kind::kTumble;
  } else {
    spec.kind = exec::WindowSpec::Kind::kSession;
    spec.gap = sizes[0];
  }
  return spec;
}

}  // namespace sluice::sql
