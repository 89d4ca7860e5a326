// Joins: the condition split into keys and a residual, and the choice of a windowed, interval,
// updating or lookup join.

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

// ---------------------------------------------------------------- joins

namespace {

void SplitConjuncts(const BoundExprPtr& e, std::vector<BoundExprPtr>* out) {
  if (e->kind == BoundKind::kAnd) {
    SplitConjuncts(e->args[0], out);
    SplitConjuncts(e->args[1], out);
    return;
  }
  out->push_back(e);
}

// Which side of a join an expression over both sides' columns reads: 0 left, 1 right,
// -1 neither, 2 both.
int SideOf(const BoundExpr& e, size_t left_width) {
  std::vector<int> cols;
  e.CollectColumns(&cols);
  int side = -1;
  for (int c : cols) {
    int s = static_cast<size_t>(c) < left_width ? 0 : 1;
    if (side == -1) side = s;
    if (side != s) return 2;
  }
  return side;
}

// A time column plus a constant: `ts`, `ts + INTERVAL '1' MINUTE`, `ts - INTERVAL ...`.
struct TimeTerm {
  int column = -1;
  int64_t offset = 0;
};

std::optional<TimeTerm> AsTimeTerm(const BoundExprPtr& e, const std::vector<ScopeColumn>& scope) {
  if (e->kind == BoundKind::kColumn) {
    if (scope[static_cast<size_t>(e->column_index)].role != TimeRole::kEventTime) return {};
    return TimeTerm{e->column_index, 0};
  }
  if (e->kind == BoundKind::kCall && e->args.size() == 2 &&
      (e->function->name == "+" || e->function->name == "-")) {
    auto base = AsTimeTerm(e->args[0], scope);
    const BoundExprPtr& k = e->args[1];
    if (!base || k->kind != BoundKind::kLiteral || k->type.id() != TypeId::kInterval ||
        k->literal.is_null() || k->literal.interval_value().months != 0) {
      return {};
    }
    const auto& iv = k->literal.interval_value();
    int64_t us = iv.days * 86400000000LL + iv.micros;
    base->offset += e->function->name == "+" ? us : -us;
    return base;
  }
  return {};
}

// The window end a join key holds, for a key that reads a window column.
struct WindowKey {
  TimeRole role = TimeRole::kNone;
  exec::WindowSpec window;
};

WindowKey WindowKeyOf(const BoundExprPtr& e, const std::vector<ScopeColumn>& scope) {
  ScopeColumn c;
  CopyTimeRole(e, scope, &c);
  if (c.role == TimeRole::kEventTime) return {};
  return {c.role, c.window};
}

bool SameWindow(const exec::WindowSpec& a, const exec::WindowSpec& b) {
  if (a.kind == exec::WindowSpec::Kind::kFromColumn ||
      b.kind == exec::WindowSpec::Kind::kFromColumn)
    return true;  // re-aggregated windows keep their input's windows
  return a.kind == b.kind && a.width == b.width && a.slide == b.slide;
}

}  // namespace

// JOIN ... ON: equalities between the two sides become the join keys; the rest is a residual
// condition on each pair. The join runs
//   windowed  when both inputs are windowed alike and the keys match their windows;
//   interval  when the condition bounds the right event time to the left's from both sides;
//   updating  otherwise (rows kept for updating_ttl).
Relation StatementBinder::BindJoin(const TableRef& t) {
  if (t.join_type == JoinType::kCross) {
    FailNotSupported(t.loc,
                     "CROSS JOIN is not supported: pairing every row of an unbounded stream with "
                     "every other row needs unbounded state; join ON an equality of the two "
                     "sides (JOIN ... ON a.k = b.k)");
  }
  // JOIN t FOR SYSTEM_TIME AS OF probe.ts: a lookup join against the bounded table t.
  const bool lookup = t.right->kind == TableRef::Kind::kNamed && t.right->as_of != nullptr;
  Relation left = BindTableRef(*t.left);
  Relation right;
  if (lookup) {
    TableRef side = *t.right;
    side.as_of = nullptr;
    right = BindTableRef(side);
  } else {
    right = BindTableRef(*t.right);
  }
  return JoinRelations(t, std::move(left), std::move(right));
}

// The join `t` of two bound inputs (its own, or the items of a comma join with the WHERE
// conjuncts that relate them as `t.on`).
Relation StatementBinder::JoinRelations(const TableRef& t, Relation left, Relation right) {
  const bool lookup = t.right->kind == TableRef::Kind::kNamed && t.right->as_of != nullptr;
  for (const Relation* side : {&left, &right}) {
    if (side->window && side->window->spec.kind == exec::WindowSpec::Kind::kHop) {
      FailNotSupported((side == &left ? t.left : t.right)->loc,
                       "HOP in FROM is supported with GROUP BY window_start, window_end (a row "
                       "belongs to several windows); join the aggregated windows instead");
    }
  }
  const size_t nl = left.columns.size();
  const size_t nr = right.columns.size();
  std::vector<ScopeColumn> scope = left.columns;
  scope.insert(scope.end(), right.columns.begin(), right.columns.end());
  std::vector<BoundExprPtr> conjuncts;
  if (!t.using_columns.empty()) {
    for (const auto& name : t.using_columns) {
      auto find = [&](const std::vector<ScopeColumn>& cols, const char* side) {
        int found = -1;
        for (size_t i = 0; i < cols.size(); ++i) {
          if (cols[i].name != name) continue;
          if (found >= 0)
            FailUser(t.loc, "USING column \"{}\" is ambiguous on the {} side", name, side);
          found = static_cast<int>(i);
        }
        if (found < 0)
          FailUser(t.loc, "USING column \"{}\" is not on the {} side of the join", name, side);
        return found;
      };
      int l = find(left.columns, "left");
      int r = find(right.columns, "right") + static_cast<int>(nl);
      conjuncts.push_back(BindCall("=",
                                   {expr::MakeColumn(l, scope[static_cast<size_t>(l)].type),
                                    expr::MakeColumn(r, scope[static_cast<size_t>(r)].type)},
                                   t.loc));
    }
  } else if (t.on) {
    SplitConjuncts(BindBool(*t.on, scope, "ON"), &conjuncts);
  } else {
    FailUser(t.loc, "JOIN needs a condition: ON a.k = b.k or USING (k)");
  }
  std::vector<int> to_right(nl + nr, -1);
  for (size_t j = 0; j < nr; ++j) to_right[nl + j] = static_cast<int>(j);

  // Keys and the residual.
  std::vector<BoundExprPtr> left_keys, right_keys;
  std::vector<BoundExprPtr> residual;
  for (const auto& c : conjuncts) {
    if (c->kind == BoundKind::kCall && c->function->name == "=" && c->args.size() == 2) {
      int a = SideOf(*c->args[0], nl);
      int b = SideOf(*c->args[1], nl);
      if ((a == 0 && b == 1) || (a == 1 && b == 0)) {
        left_keys.push_back(a == 0 ? c->args[0] : c->args[1]);
        right_keys.push_back(a == 0 ? c->args[1] : c->args[0]);
        continue;
      }
    }
    residual.push_back(c);
  }
  if (left_keys.empty()) {
    FailNotSupported(t.loc,
                     "a join of two streams needs at least one equality between the two sides "
                     "(ON a.k = b.k): without one every row would have to be kept and paired "
                     "with every other");
  }
  const bool updating_inputs = left.plan->updating() || right.plan->updating();
  if (lookup) CheckLookupJoin(t, left, right, scope);

  // Windowed: a key pair that matches the two sides' windows.
  JoinMode mode = lookup ? JoinMode::kLookup : JoinMode::kUpdating;
  int window_key = -1;
  for (size_t k = 0; k < left_keys.size() && !updating_inputs && !lookup; ++k) {
    WindowKey a = WindowKeyOf(left_keys[k], scope);
    WindowKey b = WindowKeyOf(right_keys[k], scope);
    if (a.role == TimeRole::kNone || a.role != b.role) continue;
    // Sessions of one key differ in length: equal ends are not equal sessions, so session
    // windows are joined as values (an updating join).
    if (a.window.kind == exec::WindowSpec::Kind::kSession ||
        b.window.kind == exec::WindowSpec::Kind::kSession) {
      continue;
    }
    if (!SameWindow(a.window, b.window)) {
      FailUser(t.loc, "a windowed join needs the same window on both sides, not {} and {}",
               a.window.ToString(), b.window.ToString());
    }
    // The key becomes the window's end: equal ends are equal windows of one size.
    left_keys[k] = WindowEnd(left_keys[k], a.role, a.window, t.loc);
    right_keys[k] = WindowEnd(right_keys[k], b.role, b.window, t.loc);
    mode = JoinMode::kWindowed;
    window_key = static_cast<int>(k);
    break;
  }
  // Interval: lo <= right time - left time <= hi.
  std::optional<int64_t> lo, hi;
  if (mode == JoinMode::kUpdating && !updating_inputs && t.join_type == JoinType::kInner) {
    for (const auto& c : residual) {
      if (c->kind != BoundKind::kCall || c->args.size() != 2) continue;
      const std::string& op = c->function->name;
      if (op != ">=" && op != ">" && op != "<=" && op != "<") continue;
      auto x = AsTimeTerm(c->args[0], scope);
      auto y = AsTimeTerm(c->args[1], scope);
      if (!x || !y) continue;
      int sx = static_cast<size_t>(x->column) < nl ? 0 : 1;
      int sy = static_cast<size_t>(y->column) < nl ? 0 : 1;
      if (sx == sy) continue;
      // Written as R + q OP L + p.
      bool flip = sx == 0;
      const TimeTerm& r = flip ? *y : *x;
      const TimeTerm& l = flip ? *x : *y;
      std::string o = op;
      if (flip) o = op == ">=" ? "<=" : op == ">" ? "<" : op == "<=" ? ">=" : ">";
      int64_t bound = l.offset - r.offset;  // R - L OP bound
      if (o == ">=") lo = std::max(lo.value_or(bound), bound);
      if (o == ">") lo = std::max(lo.value_or(bound + 1), bound + 1);
      if (o == "<=") hi = std::min(hi.value_or(bound), bound);
      if (o == "<") hi = std::min(hi.value_or(bound - 1), bound - 1);
    }
    if (lo && hi) {
      if (*lo > *hi) FailUser(t.loc, "the join's time condition is never true");
      mode = JoinMode::kInterval;
    }
  }

  // Each input gets its key columns appended (cast to one type per key).
  std::vector<BoundExprPtr> lexprs, rexprs;
  for (size_t i = 0; i < nl; ++i)
    lexprs.push_back(expr::MakeColumn(static_cast<int>(i), scope[i].type));
  for (size_t j = 0; j < nr; ++j)
    rexprs.push_back(expr::MakeColumn(static_cast<int>(j), scope[nl + j].type));
  std::vector<int> lk, rk;
  std::vector<ScopeColumn> lcols = left.columns, rcols = right.columns;
  for (size_t k = 0; k < left_keys.size(); ++k) {
    auto common = expr::CommonSuperType(left_keys[k]->type, right_keys[k]->type);
    if (!common.ok()) {
      FailUser(t.loc, "join keys of types {} and {} cannot be compared",
               left_keys[k]->type.ToString(), right_keys[k]->type.ToString());
    }
    lk.push_back(static_cast<int>(lexprs.size()));
    lexprs.push_back(Cast(left_keys[k], *common, t.loc, false));
    lcols.push_back({"", fmt::format("__key{}", k), *common});
    rk.push_back(static_cast<int>(rexprs.size()));
    rexprs.push_back(Cast(expr::RemapColumns(right_keys[k], to_right), *common, t.loc, false));
    rcols.push_back({"", fmt::format("__key{}", k), *common});
  }
  PlanPtr lplan = left.plan;
  PlanPtr rplan = right.plan;
  if (mode != JoinMode::kUpdating && mode != JoinMode::kLookup) {
    lplan = WithLateRowsDropped(lplan);
    rplan = WithLateRowsDropped(rplan);
  }
  lplan = MakeProject(lplan, lexprs, SchemaOf(lcols));
  rplan = MakeProject(rplan, rexprs, SchemaOf(rcols));
  // The residual reads the operator's output: left columns and keys, then right's.
  const size_t lw = lexprs.size();
  std::vector<int> to_output(nl + nr);
  for (size_t i = 0; i < nl; ++i) to_output[i] = static_cast<int>(i);
  for (size_t j = 0; j < nr; ++j) to_output[nl + j] = static_cast<int>(lw + j);
  BoundExprPtr cond;
  for (const auto& c : residual) {
    BoundExprPtr m = expr::RemapColumns(c, to_output);
    cond = cond ? expr::MakeLogical(BoundKind::kAnd, {cond, m}) : m;
  }
  exec::JoinType type = t.join_type == JoinType::kLeft    ? exec::JoinType::kLeft
                        : t.join_type == JoinType::kRight ? exec::JoinType::kRight
                        : t.join_type == JoinType::kFull  ? exec::JoinType::kFull
                                                          : exec::JoinType::kInner;
  auto join =
      std::const_pointer_cast<LogicalPlan>(MakeJoin(lplan, rplan, type, mode, lk, rk, cond));
  join->window_key = window_key;
  join->ttl_micros = IntervalSetting("updating_ttl", kDefaultUpdatingTtl);
  if (mode == JoinMode::kInterval) {
    join->lower = *lo;
    join->upper = *hi;
  }
  // Drop the appended keys.
  std::vector<BoundExprPtr> out;
  for (size_t i = 0; i < nl; ++i)
    out.push_back(expr::MakeColumn(static_cast<int>(i), scope[i].type));
  for (size_t j = 0; j < nr; ++j) {
    out.push_back(expr::MakeColumn(static_cast<int>(lw + j), scope[nl + j].type));
  }
  Relation rel;
  rel.columns = scope;
  for (size_t i = 0; i < rel.columns.size(); ++i) {
    auto& c = rel.columns[i];
    // A lookup join's row keeps its probe row's event time (and windows); the side table's
    // columns have no time role.
    if (mode == JoinMode::kLookup) {
      if (i >= nl) c.role = TimeRole::kNone;
      continue;
    }
    // A joined row's event time is the later of its two rows': neither time column is it.
    if (c.role == TimeRole::kEventTime) c.role = TimeRole::kNone;
    // Rows of an updating or interval join are not grouped into their inputs' windows.
    if (mode != JoinMode::kWindowed) c.role = TimeRole::kNone;
  }
  rel.plan = MakeProject(join, std::move(out), SchemaOf(rel.columns));
  return rel;
}

namespace {
// The source tables under a plan.
void CollectSources(const LogicalPlan& plan, std::vector<const LogicalPlan*>* out) {
  if (plan.kind == PlanKind::kSource) out->push_back(&plan);
  for (const auto& in : plan.inputs) CollectSources(*in, out);
}
}  // namespace

// A lookup join: INNER or LEFT, an append-only probe side, a bounded side table read whole
// (not versioned), and AS OF over the probe side's columns.
void StatementBinder::CheckLookupJoin(const TableRef& t, const Relation& left,
                                      const Relation& right,
                                      const std::vector<ScopeColumn>& scope) {
  if (t.join_type != JoinType::kInner && t.join_type != JoinType::kLeft) {
    FailNotSupported(t.loc,
                     "a lookup join (FOR SYSTEM_TIME AS OF) is INNER or LEFT: the side table's "
                     "unmatched rows are never emitted");
  }
  std::vector<const LogicalPlan*> sources;
  CollectSources(*right.plan, &sources);
  for (const LogicalPlan* s : sources) {
    if (!s->table->finite && !s->table->lookup_only) {
      FailNotSupported(t.right->loc,
                       "the side table of a lookup join (FOR SYSTEM_TIME AS OF) must be bounded: "
                       "table \"{}\" (connector '{}') never ends; use a single_file table, or "
                       "impulse with message_count",
                       s->table->table_name, s->table->connector);
    }
  }
  if (right.plan->updating()) {
    FailNotSupported(t.right->loc,
                     "the side table of a lookup join must be append-only, not updating");
  }
  if (left.plan->updating()) {
    FailNotSupported(t.left->loc,
                     "the probe side of a lookup join (FOR SYSTEM_TIME AS OF) must be "
                     "append-only; it is updating ({})",
                     UpdatingCause(*left.plan));
  }
  BoundExprPtr as_of = BindExpr(*t.right->as_of, scope);
  if (SideOf(*as_of, left.columns.size()) != 0) {
    FailUser(t.right->as_of->loc,
             "FOR SYSTEM_TIME AS OF must be a time of the probe (left) side's rows, such as its "
             "event-time column; it reads {}",
             SideOf(*as_of, left.columns.size()) == -1 ? "no column" : "the side table");
  }
  if (as_of->type.id() != types::TypeId::kTimestamp) {
    FailUser(t.right->as_of->loc, "FOR SYSTEM_TIME AS OF needs a TIMESTAMP, not {}",
             as_of->type.ToString());
  }
}

// The end of the window an expression with a window role reads: window.end, window_end, or
// window_start + width.
BoundExprPtr StatementBinder::WindowEnd(const BoundExprPtr& e, TimeRole role,
                                        const exec::WindowSpec& window, const Location& loc) {
  if (role == TimeRole::kWindowEnd) return e;
  if (role == TimeRole::kWindow) {
    auto fa = std::make_shared<BoundExpr>();
    fa->kind = BoundKind::kFieldAccess;
    fa->type = types::Timestamp();
    fa->field_index = 1;
    fa->args.push_back(e);
    return fa;
  }
  if (window.kind == exec::WindowSpec::Kind::kFromColumn) {
    FailNotSupported(loc, "use the window (or its end) here, not its start");
  }
  return BindCall(
      "+", {e, expr::MakeLiteral(Value::IntervalValue(types::Interval{0, 0, window.width}))}, loc);
}

// ROW_NUMBER() / RANK() / DENSE_RANK() OVER (PARTITION BY window, keys ORDER BY ...) over a
// windowed input: the plan yields the input's columns and then the rank.

}  // namespace sluice::sql
