// Subqueries in expressions: EXISTS, IN, NOT IN and scalar subqueries in WHERE and in the
// select list. Each is planned as an updating join of the outer rows with the subquery's rows,
// correlated subqueries decorrelated on their equalities with the outer query:
//
//   WHERE [NOT] EXISTS (...)      semi (anti) join on the correlation equalities, the other
//   WHERE x IN (...)              correlated conditions as the join's residual; IN adds x = y
//   WHERE x NOT IN (...)          anti join on x = y, then a LEFT join with the subquery's row
//                                 and NULL counts (per correlation key): a row passes when the
//                                 subquery is empty, or x is not NULL and it has no NULL
//   EXISTS / IN elsewhere         mark join (every outer row once, with whether it has a
//                                 match), IN with the counts for its three-valued result
//   (SELECT agg(...) ...)         LEFT join with the subquery aggregated by its correlation
//                                 keys; an outer row without a group gets the aggregate's value
//                                 over no rows (count is 0: the COUNT bug)
//
// The subquery is bound as a SELECT of its own (its FROM and uncorrelated WHERE, its key
// expressions as columns), so it may hold anything a query may: joins, aggregates, subqueries.

#include "expr/cast.h"
#include "sql/binder/binder_internal.h"
#include "sql/parser/parser.h"

namespace sluice::sql {

namespace {

ExprPtr Column(const std::string& name, const Location& loc) {
  return ColumnRefTo(name, {}, loc);
}

bool IsSubqueryIn(const Expr& e) {
  return e.kind == ExprKind::kInList && e.args.size() == 2 &&
         e.args[1]->kind == ExprKind::kSubquery && !e.args[1]->exists;
}

// IN's operand: one value (PostgreSQL also compares rows).
void CheckInOperand(const Expr& in) {
  if (in.args[0]->kind == ExprKind::kRow) {
    FailNotSupported(in.loc,
                     "a row (a, b) IN (SELECT ...) is not supported yet; write EXISTS (SELECT 1 "
                     "FROM ... WHERE x = a AND y = b)");
  }
}

bool IsExists(const Expr& e) {
  return e.kind == ExprKind::kSubquery && e.exists;
}

bool IsNotExists(const Expr& e) {
  return e.kind == ExprKind::kUnary && e.op == "not" && IsExists(*e.args[0]);
}

// How many names of column reference `e` name a column of `scope` (2: qualifier and column,
// 1: the column, 0: none); the column in `*index`. The binder's own lookup decides ambiguity.
size_t Resolve(const Expr& e, const std::vector<ScopeColumn>& scope, int* index) {
  const auto& names = e.names;
  auto count = [&](const std::string& qualifier, const std::string& name) {
    int n = 0;
    for (size_t i = 0; i < scope.size(); ++i) {
      if (scope[i].name == name && (qualifier.empty() || scope[i].qualifier == qualifier)) {
        if (n++ == 0) *index = static_cast<int>(i);
      }
    }
    return n;
  };
  if (names.size() >= 2 && count(names[0], names[1]) == 1) return 2;
  return count("", names[0]) > 0 ? 1 : 0;
}

// A SELECT item `e AS alias`.
SelectItem Item(ExprPtr e, std::string alias) {
  SelectItem item;
  item.loc = e->loc;
  item.expr = std::move(e);
  item.alias = std::move(alias);
  return item;
}

// `e` with every aggregate call replaced by its value over no rows: 0 for count and
// regr_count, NULL for the others (as in PostgreSQL).
ExprPtr OverNoRows(const ExprPtr& e) {
  if (!e) return e;
  if (e->kind == ExprKind::kFunction && !e->over && !e->names.empty() &&
      IsAggregateName(e->names.back())) {
    auto lit = std::make_shared<Expr>();
    lit->kind = ExprKind::kLiteral;
    lit->loc = e->loc;
    const bool zero = e->names.back() == "count" || e->names.back() == "regr_count";
    lit->literal_kind = zero ? LiteralKind::kInteger : LiteralKind::kNull;
    lit->text = "0";
    return lit;
  }
  if (e->kind == ExprKind::kSubquery) return e;
  auto copy = std::make_shared<Expr>(*e);
  for (auto& a : copy->args) a = OverNoRows(a);
  return copy;
}

// `x [NOT] IN (SELECT agg(...) ...)` over one aggregate without GROUP BY, which has exactly one
// row (over no rows too: count is 0 there), is `x = (SELECT ...)` (`<>`), planned as a scalar
// subquery; null otherwise.
ExprPtr InAsComparison(const Expr& e) {
  if (!IsSubqueryIn(e)) return nullptr;
  const Query& q = *e.args[1]->subquery;
  if (!q.with.empty() || !q.order_by.empty() || q.limit || q.offset ||
      q.body->kind != SetExpr::Kind::kSelect) {
    return nullptr;
  }
  const SelectCore& s = *q.body->select;
  if (!s.from || s.distinct || !s.group_by.empty() || s.having || s.items.size() != 1 ||
      !FindAggregate(*s.items[0].expr)) {
    return nullptr;
  }
  auto cmp = std::make_shared<Expr>();
  cmp->kind = ExprKind::kBinary;
  cmp->loc = e.loc;
  cmp->op = e.negated ? "<>" : "=";
  cmp->args = {e.args[0], e.args[1]};
  return cmp;
}

}  // namespace

// The subquery of `sub` (an EXISTS, an IN's list or a scalar subquery) as the right side of a
// join with `outer`: its rows (or their counts) with the correlation keys first.
StatementBinder::SubquerySide StatementBinder::BindSubquerySide(
    const Expr& sub, const std::vector<ScopeColumn>& outer, SubqueryShape shape) {
  const Query& q = *sub.subquery;
  SubquerySide side;
  const bool simple = q.with.empty() && q.order_by.empty() && !q.limit && !q.offset &&
                      q.body->kind == SetExpr::Kind::kSelect && q.body->select->from;
  if (!simple) {
    // A query of its own (WITH, UNION ALL, ...): uncorrelated, bound as it is.
    if (shape == SubqueryShape::kScalar) {
      FailNotSupported(sub.loc,
                       "a scalar subquery is supported as one SELECT of one aggregate without "
                       "GROUP BY (it has exactly one row); not supported yet with WITH, UNION, "
                       "ORDER BY or LIMIT");
    }
    Relation rel = BindQuery(q);
    if (shape != SubqueryShape::kExists && rel.columns.size() != 1) {
      FailUser(sub.loc, "subquery has too many columns: IN (SELECT ...) selects one column");
    }
    if (shape == SubqueryShape::kCounts) return CountsOf(q, rel.columns[0].name, sub.loc);
    std::vector<BoundExprPtr> exprs;
    std::vector<ScopeColumn> cols;
    if (shape == SubqueryShape::kRows) {
      exprs.push_back(expr::MakeColumn(0, rel.columns[0].type));
      cols.push_back({"", "__value", rel.columns[0].type});
    } else {
      exprs.push_back(expr::MakeLiteral(types::Value::Boolean(true)));
      cols.push_back({"", "__one", types::Bool()});
    }
    side.right.plan = MakeProject(rel.plan, exprs, SchemaOf(cols));
    side.right.columns = cols;
    return side;
  }
  const SelectCore& s = *q.body->select;
  if (s.distinct) FailNotSupported(s.loc, "SELECT DISTINCT is not supported yet");
  const std::vector<ScopeColumn> inner = BindTableRef(*s.from).columns;

  // Column references of the subquery: to its own FROM first (as in PostgreSQL), else to the
  // outer query's. `rewrite` renames them for the join's residual: __outer_i and __inner_j.
  std::vector<ExprPtr> inner_refs;
  std::function<ExprPtr(const ExprPtr&, bool*, bool*, bool)> walk =
      [&](const ExprPtr& e, bool* has_inner, bool* has_outer, bool rewrite) -> ExprPtr {
    if (!e) return e;
    if (e->kind == ExprKind::kSubquery) {
      if (rewrite) {
        FailNotSupported(e->loc,
                         "a subquery inside a correlated condition of a subquery is not "
                         "supported yet");
      }
      return e;
    }
    if (e->kind == ExprKind::kColumnRef) {
      int idx = -1;
      if (size_t n = Resolve(*e, inner, &idx)) {
        *has_inner = true;
        if (!rewrite) return e;
        auto head = std::make_shared<Expr>(*e);
        head->names.resize(n);
        std::string sql = head->ToSql();
        size_t j = 0;
        while (j < inner_refs.size() && inner_refs[j]->ToSql() != sql) ++j;
        if (j == inner_refs.size()) inner_refs.push_back(head);
        return ColumnRefTo(
            fmt::format("__inner_{}", j),
            std::vector<std::string>(e->names.begin() + static_cast<long>(n), e->names.end()),
            e->loc);
      }
      if (size_t n = Resolve(*e, outer, &idx)) {
        *has_outer = true;
        if (!rewrite) return e;
        return ColumnRefTo(
            fmt::format("__outer_{}", idx),
            std::vector<std::string>(e->names.begin() + static_cast<long>(n), e->names.end()),
            e->loc);
      }
      for (const auto* scope : outer_scopes_) {
        if (Resolve(*e, *scope, &idx)) {
          FailNotSupported(e->loc,
                           "column \"{}\" belongs to a query two or more levels out: a subquery "
                           "may refer to the query just around it only (not supported yet)",
                           e->ToSql());
        }
      }
      return e;  // the binder reports it
    }
    if (!rewrite) {
      for (const auto& a : e->args) walk(a, has_inner, has_outer, false);
      if (e->filter) walk(e->filter, has_inner, has_outer, false);
      return e;
    }
    auto copy = std::make_shared<Expr>(*e);
    for (auto& a : copy->args) a = walk(a, has_inner, has_outer, true);
    if (copy->filter) copy->filter = walk(copy->filter, has_inner, has_outer, true);
    return copy;
  };
  auto refers_out = [&](const ExprPtr& e) {
    bool in = false, out = false;
    walk(e, &in, &out, false);
    return out;
  };
  for (const auto& item : s.items) {
    if (item.expr->kind != ExprKind::kStar && refers_out(item.expr)) {
      FailNotSupported(item.expr->loc,
                       "a subquery may refer to the outer query only in its WHERE; not "
                       "supported yet in its select list");
    }
  }
  for (const auto& g : s.group_by) {
    if (refers_out(g))
      FailNotSupported(g->loc,
                       "an outer column in a subquery's GROUP BY is "
                       "not supported yet");
  }
  if (s.having && refers_out(s.having)) {
    FailNotSupported(s.having->loc, "an outer column in a subquery's HAVING is not supported yet");
  }

  // WHERE: uncorrelated conjuncts stay; inner = outer equalities become keys; the rest of the
  // correlated conjuncts become the join's residual.
  std::vector<ExprPtr> where, inner_keys;
  if (s.where) {
    std::vector<ExprPtr> conjuncts;
    SplitAnd(s.where, &conjuncts);
    for (const auto& c : conjuncts) {
      if (!refers_out(c)) {
        where.push_back(c);
        continue;
      }
      if (c->kind == ExprKind::kBinary && c->op == "=") {
        bool li = false, lo = false, ri = false, ro = false;
        walk(c->args[0], &li, &lo, false);
        walk(c->args[1], &ri, &ro, false);
        if ((li && !lo && ro && !ri) || (ri && !ro && lo && !li)) {
          const bool left_inner = li;
          inner_keys.push_back(c->args[left_inner ? 0 : 1]);
          side.outer_keys.push_back(c->args[left_inner ? 1 : 0]);
          continue;
        }
      }
      bool in = false, out = false;
      side.residual.push_back(walk(c, &in, &out, true));
    }
  }
  if (!side.residual.empty() &&
      (shape == SubqueryShape::kScalar || shape == SubqueryShape::kCounts)) {
    FailNotSupported(side.residual.front()->loc,
                     "{} supports correlated equalities (inner.k = outer.k) only; other "
                     "conditions on outer columns are not supported yet",
                     shape == SubqueryShape::kScalar ? "a correlated scalar subquery"
                                                     : "a correlated NOT IN or IN outside a "
                                                       "WHERE conjunct");
  }

  auto core = std::make_shared<SelectCore>();
  core->loc = s.loc;
  core->from = s.from;
  core->where = AndOf(where);
  for (size_t k = 0; k < inner_keys.size(); ++k) {
    core->items.push_back(Item(inner_keys[k], fmt::format("__key_{}", k)));
  }
  auto count_star = [&](const Location& loc) {
    auto f = std::make_shared<Expr>();
    f->kind = ExprKind::kFunction;
    f->loc = loc;
    f->names = {"count"};
    f->star_arg = true;
    return f;
  };
  if (shape != SubqueryShape::kExists && s.items.size() != 1) {
    FailUser(s.loc, "subquery has too many columns: it must select one column");
  }
  if (shape != SubqueryShape::kExists && s.items[0].expr->kind == ExprKind::kStar) {
    FailNotSupported(s.items[0].expr->loc, "select the subquery's one column by name, not *");
  }
  switch (shape) {
    case SubqueryShape::kExists:
      break;
    case SubqueryShape::kRows:
      core->items.push_back(Item(s.items[0].expr, "__value"));
      break;
    case SubqueryShape::kCounts: {
      if (!s.group_by.empty() || s.having || FindAggregate(*s.items[0].expr)) {
        if (!inner_keys.empty()) {
          FailNotSupported(s.loc,
                           "a correlated IN over a subquery with GROUP BY or HAVING is "
                           "not supported yet");
        }
        return CountsOf(q, BindQuery(q).columns[0].name, sub.loc);
      }
      core->items.push_back(Item(count_star(s.loc), "__n"));
      auto f = count_star(s.loc);
      f->star_arg = false;
      f->args = {s.items[0].expr};
      core->items.push_back(Item(f, "__nn"));
      core->group_by = inner_keys;
      break;
    }
    case SubqueryShape::kScalar: {
      const Expr& value = *s.items[0].expr;
      if (!s.group_by.empty() || s.having || !FindAggregate(value)) {
        FailNotSupported(s.loc,
                         "a scalar subquery is supported as one aggregate without GROUP BY or "
                         "HAVING (exactly one row): a streaming plan cannot check at planning "
                         "that any other query returns one row; not supported yet");
      }
      core->items.push_back(Item(s.items[0].expr, "__value"));
      core->items.push_back(Item(count_star(s.loc), "__found"));
      core->group_by = inner_keys;
      // Its value over no rows, for outer rows without a group.
      side.empty_value = OverNoRows(s.items[0].expr);
      break;
    }
  }
  if (shape != SubqueryShape::kScalar && shape != SubqueryShape::kCounts) {
    // Not an aggregate query unless the subquery is one (EXISTS (SELECT count(*) ...) has
    // one row whatever its input).
    core->group_by = s.group_by;
    core->having = s.having;
    bool aggregating = !s.group_by.empty() || s.having;
    for (const auto& item : s.items) aggregating |= FindAggregate(*item.expr) != nullptr;
    if (!aggregating && side.residual.empty()) {
      // Only whether a key (and value) occurs matters: one row per distinct one, so that the
      // join keeps one row of the subquery per key however many it has.
      for (const auto& item : core->items) core->group_by.push_back(item.expr);
      if (core->items.empty()) {
        // Uncorrelated EXISTS: the subquery's row count, while it has rows.
        core->items.push_back(Item(count_star(s.loc), "__n"));
        auto zero = std::make_shared<Expr>();
        zero->kind = ExprKind::kLiteral;
        zero->loc = s.loc;
        zero->literal_kind = LiteralKind::kInteger;
        zero->text = "0";
        auto having = std::make_shared<Expr>();
        having->kind = ExprKind::kBinary;
        having->loc = s.loc;
        having->op = ">";
        having->args = {count_star(s.loc), zero};
        core->having = having;
      }
    }
    if (aggregating) {
      if (!inner_keys.empty() || !side.residual.empty()) {
        FailNotSupported(s.loc,
                         "a correlated EXISTS or IN over a subquery with GROUP BY or HAVING "
                         "is not supported yet");
      }
      if (s.group_by.empty() && !s.having && shape == SubqueryShape::kExists) {
        FailNotSupported(s.loc,
                         "EXISTS over an aggregate without GROUP BY is always true; "
                         "write TRUE (not supported)");
      }
    }
  }
  for (size_t j = 0; j < inner_refs.size(); ++j) {
    core->items.push_back(Item(inner_refs[j], fmt::format("__inner_{}", j)));
  }
  if (core->items.empty()) {
    auto one = std::make_shared<Expr>();
    one->kind = ExprKind::kLiteral;
    one->loc = s.loc;
    one->literal_kind = LiteralKind::kBool;
    one->bool_value = true;
    core->items.push_back(Item(one, "__one"));
  }
  side.num_keys = inner_keys.size();
  outer_scopes_.push_back(&outer);
  side.right = BindSelectCore(*core);
  outer_scopes_.pop_back();
  return side;
}

// The number of rows of uncorrelated subquery `q` and of its non-NULL values (its one column
// `column`), counted over it as a derived table: one row, or none while it is empty.
StatementBinder::SubquerySide StatementBinder::CountsOf(const Query& q, const std::string& column,
                                                        const Location& loc) {
  auto from = std::make_shared<TableRef>();
  from->kind = TableRef::Kind::kSubquery;
  from->loc = loc;
  from->alias = "__sub";
  from->subquery = std::make_shared<Query>(q);
  auto count = [&](ExprPtr arg) {
    auto f = std::make_shared<Expr>();
    f->kind = ExprKind::kFunction;
    f->loc = loc;
    f->names = {"count"};
    f->star_arg = arg == nullptr;
    if (arg) f->args = {std::move(arg)};
    return f;
  };
  SelectCore core;
  core.loc = loc;
  core.from = from;
  core.items = {Item(count(nullptr), "__n"),
                Item(count(ColumnRefTo("__sub", {column}, loc)), "__nn")};
  SubquerySide side;
  side.right = BindSelectCore(core);
  return side;
}

// Joins `rel` with a subquery's side: `outer_keys` (and `x`, IN's left operand, with the
// subquery's value) are the keys, constant when there are none. The join's output is rel's
// columns, rel's keys, then the side's columns and keys; `*num_left` is where the side's start.
PlanPtr StatementBinder::JoinSubquerySide(const Relation& rel, const SubquerySide& side,
                                          const Expr* x, exec::JoinType type, const Location& loc,
                                          size_t* num_left) {
  const size_t nl = rel.columns.size();
  const size_t nr = side.right.columns.size();
  std::vector<BoundExprPtr> lkeys, rkeys;
  for (size_t k = 0; k < side.num_keys; ++k) {
    lkeys.push_back(BindExpr(*side.outer_keys[k], rel.columns));
    rkeys.push_back(expr::MakeColumn(static_cast<int>(k), side.right.columns[k].type));
  }
  if (x) {
    lkeys.push_back(BindExpr(*x, rel.columns));
    const int v = static_cast<int>(side.num_keys);
    rkeys.push_back(expr::MakeColumn(v, side.right.columns[static_cast<size_t>(v)].type));
  }
  if (lkeys.empty()) {
    // Uncorrelated: every row meets every row of the subquery (in one subtask).
    lkeys.push_back(expr::MakeLiteral(types::Value::Boolean(true)));
    rkeys.push_back(expr::MakeLiteral(types::Value::Boolean(true)));
  }
  std::vector<BoundExprPtr> lexprs, rexprs;
  std::vector<ScopeColumn> lcols, rcols;
  for (size_t i = 0; i < nl; ++i) {
    lexprs.push_back(expr::MakeColumn(static_cast<int>(i), rel.columns[i].type));
    lcols.push_back({"", fmt::format("__outer_{}", i), rel.columns[i].type});
  }
  for (size_t j = 0; j < nr; ++j) {
    rexprs.push_back(expr::MakeColumn(static_cast<int>(j), side.right.columns[j].type));
    rcols.push_back(side.right.columns[j]);
    rcols.back().role = TimeRole::kNone;
  }
  std::vector<int> lk, rk;
  for (size_t k = 0; k < lkeys.size(); ++k) {
    auto common = expr::CommonSuperType(lkeys[k]->type, rkeys[k]->type);
    if (!common.ok()) {
      FailUser(loc, "{} of types {} and {} cannot be compared",
               x && k + 1 == lkeys.size() ? "IN's operand and the subquery's column"
                                          : "the correlated columns",
               lkeys[k]->type.ToString(), rkeys[k]->type.ToString());
    }
    lk.push_back(static_cast<int>(lexprs.size()));
    lexprs.push_back(Cast(lkeys[k], *common, loc, false));
    lcols.push_back({"", fmt::format("__join_key_{}", k), *common});
    rk.push_back(static_cast<int>(rexprs.size()));
    rexprs.push_back(Cast(rkeys[k], *common, loc, false));
    rcols.push_back({"", fmt::format("__join_key_{}", k), *common});
  }
  std::vector<ScopeColumn> scope = lcols;
  scope.insert(scope.end(), rcols.begin(), rcols.end());
  BoundExprPtr cond;
  for (const auto& c : side.residual) {
    BoundExprPtr b = BindBool(*c, scope, "WHERE");
    cond = cond ? expr::MakeLogical(expr::BoundKind::kAnd, {cond, b}) : b;
  }
  PlanPtr lplan = MakeProject(rel.plan, lexprs, SchemaOf(lcols));
  PlanPtr rplan = MakeProject(side.right.plan, rexprs, SchemaOf(rcols));
  auto join = std::const_pointer_cast<LogicalPlan>(
      MakeJoin(lplan, rplan, type, JoinMode::kUpdating, lk, rk, cond));
  if (type == exec::JoinType::kSemi || type == exec::JoinType::kAnti ||
      type == exec::JoinType::kMark) {
    std::vector<types::Field> fields = lplan->schema->fields();
    if (type == exec::JoinType::kMark) fields.push_back({"__mark", types::Bool(), false});
    join->schema = std::make_shared<types::Schema>(std::move(fields));
  }
  join->ttl_micros = IntervalSetting("updating_ttl", kDefaultUpdatingTtl);
  *num_left = lcols.size();
  return join;
}

// Binds `sql` (written over the names in `names`, each a column of `plan`) as a column
// appended to `rel`'s: `rel.columns.size()` first columns of `plan` are rel's.
void StatementBinder::AppendSubqueryColumn(Relation* rel, const PlanPtr& plan,
                                           const std::map<std::string, int>& names,
                                           const std::string& sql, const std::string& name) {
  std::vector<ScopeColumn> scope;
  for (const auto& f : plan->schema->fields()) scope.push_back({"", "", f.type});
  for (const auto& [n, i] : names) scope[static_cast<size_t>(i)].name = n;
  auto parsed = ParseExpression(sql);
  if (!parsed.ok()) Fail({}, Status::Internal("subquery plan: {}", parsed.status().ToString()));
  std::vector<BoundExprPtr> exprs;
  for (size_t i = 0; i < rel->columns.size(); ++i) {
    exprs.push_back(expr::MakeColumn(static_cast<int>(i), rel->columns[i].type));
    rel->columns[i].role = TimeRole::kNone;
  }
  BoundExprPtr value = BindExpr(**parsed, scope);
  exprs.push_back(value);
  rel->columns.push_back({"", name, value->type});
  rel->plan = MakeProject(plan, std::move(exprs), SchemaOf(rel->columns));
}

// A subquery used as a value (EXISTS, IN, a scalar subquery): a column appended to `rel`.
ExprPtr StatementBinder::SubqueryValue(const Expr& e, Relation* rel) {
  const std::string name = fmt::format("__subquery_{}", rel->columns.size());
  const size_t nl = rel->columns.size();
  size_t left = 0;
  if (IsExists(e)) {
    SubquerySide side = BindSubquerySide(e, rel->columns, SubqueryShape::kExists);
    PlanPtr join = JoinSubquerySide(*rel, side, nullptr, exec::JoinType::kMark, e.loc, &left);
    AppendSubqueryColumn(rel, join, {{"m", static_cast<int>(left)}}, "m", name);
  } else if (IsSubqueryIn(e)) {
    // TRUE with a match; else FALSE when the subquery is empty; else NULL when x or one of
    // the subquery's values is NULL; else FALSE.
    CheckInOperand(e);
    const Expr& sub = *e.args[1];
    SubquerySide rows = BindSubquerySide(sub, rel->columns, SubqueryShape::kRows);
    if (!rows.residual.empty()) {
      FailNotSupported(e.loc,
                       "IN over a subquery with correlated conditions other than "
                       "equalities is supported as a WHERE conjunct only (not yet here)");
    }
    PlanPtr mark =
        JoinSubquerySide(*rel, rows, e.args[0].get(), exec::JoinType::kMark, e.loc, &left);
    // Keep rel's columns, the mark and x (the last key).
    Relation marked;
    marked.columns = rel->columns;
    std::vector<BoundExprPtr> exprs;
    for (size_t i = 0; i < nl; ++i) {
      exprs.push_back(expr::MakeColumn(static_cast<int>(i), rel->columns[i].type));
    }
    const auto& f = mark->schema->fields();
    exprs.push_back(expr::MakeColumn(static_cast<int>(left), f[left].type));
    exprs.push_back(expr::MakeColumn(static_cast<int>(left - 1), f[left - 1].type));
    marked.columns.push_back({"", "__m", f[left].type});
    marked.columns.push_back({"", "__x", f[left - 1].type});
    marked.plan = MakeProject(mark, exprs, SchemaOf(marked.columns));
    SubquerySide counts = BindSubquerySide(sub, rel->columns, SubqueryShape::kCounts);
    size_t cl = 0;
    PlanPtr joined = JoinSubquerySide(marked, counts, nullptr, exec::JoinType::kLeft, e.loc, &cl);
    const int n = static_cast<int>(cl + counts.num_keys);
    AppendSubqueryColumn(
        rel, joined,
        {{"m", static_cast<int>(nl)}, {"x", static_cast<int>(nl + 1)}, {"n", n}, {"nn", n + 1}},
        e.negated ? "NOT (CASE WHEN m THEN TRUE WHEN n IS NULL OR n = 0 THEN "
                    "FALSE WHEN x IS NULL OR nn < n THEN NULL ELSE FALSE END)"
                  : "CASE WHEN m THEN TRUE WHEN n IS NULL OR n = 0 THEN FALSE "
                    "WHEN x IS NULL OR nn < n THEN NULL ELSE FALSE END",
        name);
  } else {
    SubquerySide side = BindSubquerySide(e, rel->columns, SubqueryShape::kScalar);
    PlanPtr join = JoinSubquerySide(*rel, side, nullptr, exec::JoinType::kLeft, e.loc, &left);
    const int v = static_cast<int>(left + side.num_keys);
    const DataType type = join->schema->field(static_cast<size_t>(v)).type;
    // The value over no rows, cast to the value's type.
    BoundExprPtr empty = BindExpr(*side.empty_value, {});
    const bool null = empty->kind == expr::BoundKind::kLiteral && empty->literal.is_null();
    if (null) {
      AppendSubqueryColumn(rel, join, {{"v", v}}, "v", name);
    } else {
      std::vector<BoundExprPtr> exprs;
      std::vector<ScopeColumn> cols;
      for (const auto& f : join->schema->fields()) {
        exprs.push_back(expr::MakeColumn(static_cast<int>(exprs.size()), f.type));
        cols.push_back({"", "", f.type});
      }
      exprs.push_back(empty->type == type ? empty : Cast(empty, type, e.loc, false));
      cols.push_back({"", "", type});
      PlanPtr with_empty = MakeProject(join, exprs, SchemaOf(cols));
      AppendSubqueryColumn(
          rel, with_empty,
          {{"v", v}, {"found", v + 1}, {"empty", static_cast<int>(cols.size() - 1)}},
          "CASE WHEN found IS NULL THEN empty ELSE v END", name);
    }
  }
  return Column(name, e.loc);
}

// `e` with each subquery replaced by a column of `rel` that holds its value.
ExprPtr StatementBinder::ReplaceSubqueries(const ExprPtr& e, Relation* rel) {
  if (!e || !HasSubquery(*e)) return e;
  if (ExprPtr cmp = InAsComparison(*e)) return ReplaceSubqueries(cmp, rel);
  if (e->kind == ExprKind::kSubquery || IsSubqueryIn(*e)) return SubqueryValue(*e, rel);
  auto copy = std::make_shared<Expr>(*e);
  for (auto& a : copy->args) a = ReplaceSubqueries(a, rel);
  if (copy->filter) copy->filter = ReplaceSubqueries(copy->filter, rel);
  return copy;
}

std::optional<SelectCore> StatementBinder::PlanSubqueries(const SelectCore& s, Relation* rel) {
  bool in_items = false;
  for (const auto& item : s.items) in_items |= HasSubquery(*item.expr);
  const bool in_where = s.where && HasSubquery(*s.where);
  if (!in_items && !in_where) return std::nullopt;
  bool aggregates = !s.group_by.empty() || s.having != nullptr;
  for (const auto& item : s.items) aggregates |= FindAggregate(*item.expr) != nullptr;
  for (const auto& item : s.items) {
    if (!HasSubquery(*item.expr)) continue;
    if (aggregates) {
      FailNotSupported(item.expr->loc,
                       "a subquery in the select list of a SELECT with GROUP BY or aggregates "
                       "is not supported yet; aggregate in a subquery in FROM and compute the "
                       "subquery over its rows");
    }
  }
  if (rel->window) {
    FailNotSupported(s.loc,
                     "a subquery in a SELECT over TUMBLE, HOP or SESSION in FROM is not "
                     "supported yet");
  }
  SelectCore out = s;
  if (in_where) {
    std::vector<ExprPtr> conjuncts, kept;
    SplitAnd(s.where, &conjuncts);
    for (const auto& c : conjuncts) {
      if (ExprPtr cmp = InAsComparison(*c)) {
        kept.push_back(ReplaceSubqueries(cmp, rel));
        continue;
      }
      size_t left = 0;
      const size_t nl = rel->columns.size();
      auto keep_rel_columns = [&](const PlanPtr& join) {
        std::vector<BoundExprPtr> exprs;
        for (size_t i = 0; i < nl; ++i) {
          exprs.push_back(expr::MakeColumn(static_cast<int>(i), rel->columns[i].type));
        }
        rel->plan = MakeProject(join, std::move(exprs), SchemaOf(rel->columns));
      };
      if (IsExists(*c) || IsNotExists(*c)) {
        const Expr& sub = IsExists(*c) ? *c : *c->args[0];
        SubquerySide side = BindSubquerySide(sub, rel->columns, SubqueryShape::kExists);
        keep_rel_columns(JoinSubquerySide(
            *rel, side, nullptr, IsExists(*c) ? exec::JoinType::kSemi : exec::JoinType::kAnti,
            c->loc, &left));
      } else if (IsSubqueryIn(*c) && !c->negated) {
        CheckInOperand(*c);
        SubquerySide side = BindSubquerySide(*c->args[1], rel->columns, SubqueryShape::kRows);
        keep_rel_columns(
            JoinSubquerySide(*rel, side, c->args[0].get(), exec::JoinType::kSemi, c->loc, &left));
      } else if (IsSubqueryIn(*c)) {
        CheckInOperand(*c);
        // x NOT IN (...): no match, and the subquery is empty or (x and every value are not
        // NULL).
        SubquerySide rows = BindSubquerySide(*c->args[1], rel->columns, SubqueryShape::kRows);
        if (!rows.residual.empty()) {
          FailNotSupported(c->loc,
                           "NOT IN over a subquery with correlated conditions other "
                           "than equalities is not supported yet; use NOT EXISTS");
        }
        Relation anti;
        anti.columns = rel->columns;
        PlanPtr join =
            JoinSubquerySide(*rel, rows, c->args[0].get(), exec::JoinType::kAnti, c->loc, &left);
        // Keep x (the last key) beside rel's columns.
        std::vector<BoundExprPtr> exprs;
        for (size_t i = 0; i < nl; ++i) {
          exprs.push_back(expr::MakeColumn(static_cast<int>(i), rel->columns[i].type));
        }
        const auto& f = join->schema->fields();
        exprs.push_back(expr::MakeColumn(static_cast<int>(left - 1), f[left - 1].type));
        anti.columns.push_back({"", "__x", f[left - 1].type});
        anti.plan = MakeProject(join, exprs, SchemaOf(anti.columns));
        SubquerySide counts = BindSubquerySide(*c->args[1], rel->columns, SubqueryShape::kCounts);
        size_t cl = 0;
        PlanPtr joined =
            JoinSubquerySide(anti, counts, nullptr, exec::JoinType::kLeft, c->loc, &cl);
        Relation filtered = anti;
        const int n = static_cast<int>(cl + counts.num_keys);
        AppendSubqueryColumn(&filtered, joined,
                             {{"x", static_cast<int>(nl)}, {"n", n}, {"nn", n + 1}},
                             "n IS NULL OR n = 0 OR (nn = n AND x IS NOT NULL)", "__pass");
        PlanPtr pass = MakeFilter(
            filtered.plan,
            expr::MakeColumn(static_cast<int>(filtered.columns.size() - 1), types::Bool()));
        for (auto& col : rel->columns) col.role = TimeRole::kNone;
        keep_rel_columns(pass);
      } else {
        kept.push_back(ReplaceSubqueries(c, rel));
      }
    }
    out.where = AndOf(kept);
  }
  for (auto& item : out.items) {
    if (!HasSubquery(*item.expr)) continue;
    if (item.alias.empty()) {
      if (IsExists(*item.expr)) {
        item.alias = "exists";
      } else if (item.expr->kind == ExprKind::kSubquery) {
        const Query& q = *item.expr->subquery;
        item.alias = q.body->kind == SetExpr::Kind::kSelect && q.body->select->items.size() == 1
                         ? ColumnName(q.body->select->items[0], nullptr)
                         : "?column?";
      } else {
        item.alias = ColumnName(item, nullptr);
      }
    }
    item.expr = ReplaceSubqueries(item.expr, rel);
  }
  return out;
}

}  // namespace sluice::sql
