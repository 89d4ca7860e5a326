// Window functions over the rows of a stream: LAG, LEAD, FIRST_VALUE, LAST_VALUE and
// count/sum/avg/min/max OVER (PARTITION BY keys ORDER BY event time [ROWS|RANGE frame]).
// Each call becomes a column of one kOver plan node; the select list reads those columns.

#include <map>

#include "expr/cast.h"
#include "sql/binder/binder_internal.h"

namespace sluice::sql {

namespace {

bool IsRankingName(const std::string& name) {
  return name == "row_number" || name == "rank" || name == "dense_rank";
}

void CollectOverCalls(const ExprPtr& e, std::vector<const Expr*>* out) {
  if (!e || e->kind == ExprKind::kSubquery) return;
  if (e->kind == ExprKind::kFunction && e->over) {
    out->push_back(e.get());
    return;
  }
  for (const auto& a : e->args) CollectOverCalls(a, out);
}

const char* const kOrderReason =
    "an unbounded stream can only be ordered by a time the watermark tracks: write ORDER BY "
    "<the event-time column> (ascending)";

// A constant: the literal `e` bound to, or a message.
types::Value ConstantOf(const BoundExprPtr& e, const Location& loc, const char* what) {
  if (e->kind != BoundKind::kLiteral) FailNotSupported(loc, "{} must be a constant", what);
  return e->literal;
}

int64_t NonNegativeInteger(const BoundExprPtr& e, const Location& loc, const char* what) {
  types::Value v = ConstantOf(e, loc, what);
  auto i = expr::CastValue(v, DataType(TypeId::kInt64), true);
  if (!e->type.is_integer() || !i.ok() || i->is_null()) {
    FailUser(loc, "{} must be an integer", what);
  }
  if (i->int_value() < 0) FailUser(loc, "{} must not be negative", what);
  return i->int_value();
}

}  // namespace

bool HasRowWindowFunction(const std::vector<SelectItem>& items) {
  std::vector<const Expr*> calls;
  for (const auto& item : items) CollectOverCalls(item.expr, &calls);
  for (const Expr* c : calls) {
    if (!IsRankingName(c->names.back())) return true;
  }
  return false;
}

namespace {

// `spec` with the window it names (a window of `windows` before index `limit`) copied in.
std::shared_ptr<WindowSpec> Resolve(const std::shared_ptr<WindowSpec>& spec,
                                    const std::vector<NamedWindow>& windows, size_t limit) {
  if (spec->ref.empty()) return spec;
  size_t i = 0;
  while (i < limit && windows[i].name != spec->ref) ++i;
  if (i == limit) FailUser(spec->loc, "window \"{}\" does not exist", spec->ref);
  auto base = Resolve(windows[i].spec, windows, i);
  if (spec->bare_ref) return base;
  auto out = std::make_shared<WindowSpec>(*base);
  out->ref.clear();
  out->bare_ref = false;
  out->loc = spec->loc;
  if (!spec->partition_by.empty()) {
    FailUser(spec->loc, "cannot override PARTITION BY clause of window \"{}\"", spec->ref);
  }
  if (!spec->order_by.empty()) {
    if (!base->order_by.empty()) {
      FailUser(spec->loc, "cannot override ORDER BY clause of window \"{}\"", spec->ref);
    }
    out->order_by = spec->order_by;
  }
  if (base->frame) {
    FailUser(spec->loc, "cannot copy window \"{}\" because it has a frame clause", spec->ref);
  }
  out->frame = spec->frame;
  out->frame_text = spec->frame_text;
  return out;
}

}  // namespace

std::vector<SelectItem> WithNamedWindows(const SelectCore& s, std::vector<SelectItem> items) {
  for (size_t i = 0; i < s.windows.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (s.windows[j].name == s.windows[i].name) {
        FailUser(s.windows[i].loc, "window \"{}\" is already defined", s.windows[i].name);
      }
    }
  }
  std::function<ExprPtr(const ExprPtr&)> replace = [&](const ExprPtr& e) -> ExprPtr {
    if (!e || e->kind == ExprKind::kSubquery) return e;
    bool named = e->kind == ExprKind::kFunction && e->over && !e->over->ref.empty();
    bool nested = false;
    std::vector<ExprPtr> args;
    for (const auto& a : e->args) {
      args.push_back(replace(a));
      nested |= args.back() != a;
    }
    if (!named && !nested) return e;
    auto copy = std::make_shared<Expr>(*e);
    copy->args = std::move(args);
    if (named) copy->over = Resolve(e->over, s.windows, s.windows.size());
    return copy;
  };
  for (auto& item : items) item.expr = replace(item.expr);
  return items;
}

exec::OverFrame StatementBinder::BindOverFrame(const Expr& call) {
  using BoundKindF = WindowFrame::BoundKind;
  exec::OverFrame out;
  const auto& w = *call.over;
  if (!w.frame) {
    // SQL's default with ORDER BY: RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW (peers
    // included).
    out.unbounded_start = true;
    return out;
  }
  const WindowFrame& f = *w.frame;
  if (f.mode == WindowFrame::Mode::kGroups) {
    FailNotSupported(f.loc, "GROUPS frames are not supported yet; ROWS and RANGE are");
  }
  if (f.exclude) FailNotSupported(f.loc, "EXCLUDE in a window frame is not supported yet");
  if (f.start.kind == BoundKindF::kUnboundedFollowing) {
    FailUser(f.start.loc, "frame start cannot be UNBOUNDED FOLLOWING");
  }
  if (f.end.kind == BoundKindF::kUnboundedPreceding) {
    FailUser(f.end.loc, "frame end cannot be UNBOUNDED PRECEDING");
  }
  if (f.start.kind == BoundKindF::kCurrentRow && f.end.kind == BoundKindF::kPreceding) {
    FailUser(f.end.loc, "frame starting from current row cannot have preceding rows");
  }
  if (f.start.kind == BoundKindF::kFollowing &&
      (f.end.kind == BoundKindF::kPreceding || f.end.kind == BoundKindF::kCurrentRow)) {
    FailUser(f.end.loc, "frame starting from following row cannot have preceding rows");
  }
  if (f.end.kind == BoundKindF::kUnboundedFollowing) {
    FailNotSupported(f.end.loc,
                     "a frame ending at UNBOUNDED FOLLOWING is not supported: over an unbounded "
                     "stream its rows would wait for the end of the input");
  }
  out.rows = f.mode == WindowFrame::Mode::kRows;
  out.unbounded_start = f.start.kind == BoundKindF::kUnboundedPreceding;
  auto offset = [&](const WindowFrame::Bound& b) -> int64_t {
    if (b.kind == BoundKindF::kCurrentRow || b.kind == BoundKindF::kUnboundedPreceding) return 0;
    BoundExprPtr e = BindExpr(*b.offset, {});
    int64_t sign = b.kind == BoundKindF::kPreceding ? -1 : 1;
    if (out.rows) return sign * NonNegativeInteger(e, b.loc, "a ROWS frame offset");
    if (e->type.id() != TypeId::kInterval) {
      FailUser(b.loc,
               "a RANGE frame offset over the event time (a TIMESTAMP) is an interval, e.g. "
               "INTERVAL '1' HOUR PRECEDING");
    }
    types::Value v = ConstantOf(e, b.loc, "a RANGE frame offset");
    if (v.is_null()) FailUser(b.loc, "a RANGE frame offset must not be NULL");
    const types::Interval& iv = v.interval_value();
    if (iv.months != 0) {
      FailNotSupported(b.loc,
                       "RANGE frame offsets in months or years are not supported (their "
                       "length varies)");
    }
    int64_t micros = int64_t{iv.days} * 86400 * 1000000 + iv.micros;
    if (micros < 0) FailUser(b.loc, "a RANGE frame offset must not be negative");
    if (sign > 0) {
      FailNotSupported(b.loc,
                       "RANGE frames with FOLLOWING rows are not supported yet; ROWS ... N "
                       "FOLLOWING is");
    }
    return -micros;
  };
  out.start = offset(f.start);
  out.end = offset(f.end);
  if (!out.rows && f.end.kind != BoundKindF::kCurrentRow) {
    FailNotSupported(f.end.loc,
                     "RANGE frames ending before the current row are not supported yet; they end "
                     "at CURRENT ROW");
  }
  return out;
}

void StatementBinder::BindOverFunctions(std::vector<SelectItem>* items, Relation* rel) {
  std::vector<const Expr*> calls;
  for (const auto& item : *items) CollectOverCalls(item.expr, &calls);
  if (rel->plan->updating()) {
    FailNotSupported(calls[0]->loc,
                     "window function {}() OVER (...) over an updating input ({}) is not "
                     "supported: its rows are processed once, in event-time order",
                     calls[0]->names.back(), UpdatingCause(*rel->plan));
  }
  const size_t n = rel->columns.size();
  std::vector<BoundExprPtr> pre;
  std::vector<types::Field> fields;
  for (size_t i = 0; i < n; ++i) {
    pre.push_back(expr::MakeColumn(static_cast<int>(i), rel->columns[i].type));
    fields.push_back(types::Field{rel->columns[i].name, rel->columns[i].type, true});
  }
  auto add = [&](BoundExprPtr e) {
    if (e->kind == BoundKind::kColumn) return e->column_index;  // an input column as it is
    fields.push_back(types::Field{fmt::format("__o{}", pre.size()), e->type, true});
    pre.push_back(std::move(e));
    return static_cast<int>(pre.size()) - 1;
  };
  exec::OverSpec spec;
  std::map<std::string, int> column_of;  // a call's SQL -> its result's index among the calls
  std::string partition_sql;
  for (const Expr* call : calls) {
    const std::string sql = call->ToSql();
    if (column_of.count(sql)) continue;
    const std::string& name = call->names.back();
    if (IsRankingName(name)) {
      FailNotSupported(call->loc,
                       "{}() together with other window functions in one SELECT is not "
                       "supported yet; compute it in a subquery",
                       name);
    }
    const WindowSpec& w = *call->over;
    if (w.order_by.size() != 1) {
      FailNotSupported(call->loc, "{}() OVER (...) needs one ORDER BY item: {}", name,
                       kOrderReason);
    }
    const auto& o = w.order_by[0];
    BoundExprPtr order = BindExpr(*o.expr, rel->columns);
    ScopeColumn role;
    CopyTimeRole(order, rel->columns, &role);
    if (order->kind != BoundKind::kEventTime && role.role != TimeRole::kEventTime) {
      FailNotSupported(o.expr->loc, "{}() OVER (ORDER BY {}) is not supported: {}", name,
                       o.expr->ToSql(), kOrderReason);
    }
    if (o.descending) {
      FailNotSupported(o.expr->loc, "{}() OVER (ORDER BY {} DESC) is not supported: {}", name,
                       o.expr->ToSql(), kOrderReason);
    }
    std::string psql;
    for (const auto& p : w.partition_by) psql += p->ToSql() + ", ";
    if (column_of.empty()) {
      partition_sql = psql;
      for (const auto& p : w.partition_by) {
        BoundExprPtr k = BindExpr(*p, rel->columns);
        if (k->type.is_nested()) {
          FailNotSupported(p->loc,
                           "PARTITION BY a {} is not supported yet; partition by its fields",
                           k->type.ToString());
        }
        spec.partition.push_back(add(k));
      }
    } else if (psql != partition_sql) {
      FailNotSupported(call->loc,
                       "window functions with different PARTITION BY in one SELECT are not "
                       "supported yet; use one PARTITION BY, or a subquery for each");
    }
    if (call->distinct || call->filter || !call->within_group.empty()) {
      FailNotSupported(call->loc,
                       "DISTINCT, FILTER and WITHIN GROUP in window function {}() are not "
                       "supported yet",
                       name);
    }
    exec::OverCall c;
    static const std::map<std::string, exec::OverFunction> kFunctions = {
        {"lag", exec::OverFunction::kLag},
        {"lead", exec::OverFunction::kLead},
        {"first_value", exec::OverFunction::kFirstValue},
        {"last_value", exec::OverFunction::kLastValue},
        {"count", exec::OverFunction::kCount},
        {"sum", exec::OverFunction::kSum},
        {"avg", exec::OverFunction::kAvg},
        {"mean", exec::OverFunction::kAvg},
        {"min", exec::OverFunction::kMin},
        {"max", exec::OverFunction::kMax},
    };
    auto f = kFunctions.find(name);
    if (f == kFunctions.end()) {
      if (IsAggregateName(name) || WindowFunctionNames().count(name)) {
        FailNotSupported(call->loc,
                         "{}() OVER (...) is not supported yet; over rows: lag, lead, "
                         "first_value, last_value, count, sum, avg, min and max",
                         name);
      }
      FailUser(call->loc, "{}() is not a window function or an aggregate", name);
    }
    c.function = f->second;
    DataType arg_type;
    if (c.function == exec::OverFunction::kCount && call->star_arg) {
      c.function = exec::OverFunction::kCountStar;
      if (!call->args.empty()) FailUser(call->loc, "count(*) takes no arguments");
    } else if (c.function == exec::OverFunction::kLag || c.function == exec::OverFunction::kLead) {
      if (call->args.empty() || call->args.size() > 3) {
        FailUser(call->loc, "{}() takes (value [, offset [, default]])", name);
      }
      BoundExprPtr value = BindExpr(*call->args[0], rel->columns);
      if (value->type.id() == TypeId::kNull) value = expr::MakeCast(value, types::Utf8());
      arg_type = value->type;
      c.argument = add(value);
      if (call->args.size() >= 2) {
        c.offset = NonNegativeInteger(BindExpr(*call->args[1], rel->columns), call->args[1]->loc,
                                      "the offset of LAG/LEAD");
      }
      BoundExprPtr def = call->args.size() == 3 ? BindExpr(*call->args[2], rel->columns)
                                                : expr::MakeLiteral(types::Value::Null(arg_type));
      if (def->type != arg_type) def = Cast(def, arg_type, call->args[2]->loc, false);
      c.default_value = add(def);
    } else {
      if (call->args.size() != 1 || call->star_arg)
        FailUser(call->loc, "{}() takes one argument", name);
      BoundExprPtr value = BindExpr(*call->args[0], rel->columns);
      if (value->type.id() == TypeId::kNull) value = expr::MakeCast(value, types::Utf8());
      arg_type = value->type;
      c.argument = add(value);
    }
    auto type = exec::OverResultType(c.function, arg_type);
    if (!type.ok()) Fail(call->loc, type.status());
    c.type = *type;
    if (c.function != exec::OverFunction::kLag && c.function != exec::OverFunction::kLead) {
      c.frame = BindOverFrame(*call);
    }
    column_of[sql] = static_cast<int>(spec.calls.size());
    spec.calls.push_back(std::move(c));
  }
  PlanPtr input = MakeProject(WithLateRowsDropped(rel->plan), pre,
                              std::make_shared<types::Schema>(std::move(fields)));
  const size_t width = pre.size();
  std::vector<DataType> types;
  for (const auto& c : spec.calls) types.push_back(c.type);
  PlanPtr over = MakeOver(input, std::move(spec));
  std::vector<BoundExprPtr> out;
  for (size_t i = 0; i < n; ++i)
    out.push_back(expr::MakeColumn(static_cast<int>(i), rel->columns[i].type));
  for (size_t k = 0; k < types.size(); ++k) {
    out.push_back(expr::MakeColumn(static_cast<int>(width + k), types[k]));
    rel->columns.push_back({"", fmt::format("__over{}", k), types[k]});
  }
  rel->plan = MakeProject(over, std::move(out), SchemaOf(rel->columns));
  // The select list reads the results' columns.
  std::function<ExprPtr(const ExprPtr&)> replace = [&](const ExprPtr& e) -> ExprPtr {
    if (!e || e->kind == ExprKind::kSubquery) return e;
    if (e->kind == ExprKind::kFunction && e->over) {
      return ColumnRefTo(fmt::format("__over{}", column_of.at(e->ToSql())), {}, e->loc);
    }
    auto copy = std::make_shared<Expr>(*e);
    for (auto& a : copy->args) a = replace(a);
    return copy;
  };
  for (auto& item : *items) {
    bool bare = item.expr->kind == ExprKind::kFunction && item.expr->over;
    if (bare && item.alias.empty()) item.alias = item.expr->names.back();
    item.expr = replace(item.expr);
  }
}

}  // namespace sluice::sql
