// Expressions: literals, column references, operators, function calls and casts, bound against
// a scope of columns.

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

// ---------------------------------------------------------------- expressions

BoundExprPtr StatementBinder::Cast(BoundExprPtr e, const DataType& to, const Location& loc,
                                   bool try_cast) {
  if (e->type == to) return e;
  if (!expr::CanCast(e->type, to)) {
    FailUser(loc, "cannot cast type {} to {}", e->type.ToString(), to.ToString());
  }
  if (e->kind == BoundKind::kLiteral) {
    auto v = expr::CastValue(e->literal, to, try_cast);
    if (!v.ok()) Fail(loc, v.status());
    return expr::MakeLiteral(v.MoveValue());
  }
  return expr::MakeCast(std::move(e), to, try_cast);
}

BoundExprPtr StatementBinder::CastLiteralTo(const Expr& literal, const DataType& type) {
  auto v = expr::CastValue(Value::String(literal.text), type);
  if (!v.ok()) Fail(literal.loc, v.status());
  return expr::MakeLiteral(v.MoveValue());
}

BoundExprPtr StatementBinder::BindBool(const Expr& e, const std::vector<ScopeColumn>& scope,
                                       const char* ctx) {
  BoundExprPtr b = BindExpr(e, scope);
  if (b->type.id() == TypeId::kNull) return expr::MakeLiteral(Value::Null(types::Bool()));
  if (b->type.id() != TypeId::kBool) {
    FailUser(e.loc, "argument of {} must be BOOLEAN, not {}", ctx, b->type.ToString());
  }
  return b;
}

BoundExprPtr StatementBinder::BindCall(const std::string& name, std::vector<BoundExprPtr> args,
                                       const Location& loc) {
  expr::BindInput input;
  for (const auto& a : args) {
    input.types.push_back(a->type);
    input.constants.push_back(a->kind == BoundKind::kLiteral ? std::optional<Value>(a->literal)
                                                             : std::nullopt);
  }
  const auto& registry = expr::FunctionRegistry::Get();
  if (!registry.Contains(name)) {
    FailUser(loc, "function {}() does not exist{}", name, Hint(name, registry.Names()));
  }
  auto bound = registry.Bind(name, input);
  if (!bound.ok()) Fail(loc, bound.status());
  auto fn = std::make_shared<const expr::BoundFunction>(bound.MoveValue());
  for (size_t i = 0; i < args.size() && i < fn->arg_types.size(); ++i) {
    args[i] = Cast(args[i], fn->arg_types[i], loc, false);
  }
  return expr::MakeCall(std::move(fn), std::move(args));
}

BoundExprPtr StatementBinder::BindOperator(const std::string& fn, const Expr& left,
                                           const Expr& right, const std::vector<ScopeColumn>& scope,
                                           const Location& loc) {
  if (BoundExprPtr row = BindRowComparison(fn, left, right, scope, loc)) return row;
  BoundExprPtr l = BindExpr(left, scope);
  BoundExprPtr r = BindExpr(right, scope);
  // An untyped string literal takes the type of the other side, as in PostgreSQL:
  // ts > '2023-01-01 00:00:00' compares timestamps.
  if (IsStringLiteral(right) && !l->type.is_string_like() && l->type.id() != TypeId::kNull &&
      fn != "||" && fn != "->" && fn != "->>") {
    r = CastLiteralTo(right, l->type);
  } else if (IsStringLiteral(left) && !r->type.is_string_like() && r->type.id() != TypeId::kNull &&
             fn != "||" && fn != "->" && fn != "->>") {
    l = CastLiteralTo(left, r->type);
  }
  // In a comparison, an integer literal takes the integer or decimal type of the other side
  // when it fits, so `small_col > 100` compares SMALLINTs instead of widening the column. (In
  // arithmetic it stays INT, as in PostgreSQL, so results keep PostgreSQL's types.)
  static const std::set<std::string> kComparisons = {
      "=", "<>", "<", "<=", ">", ">=", "is_distinct_from", "is_not_distinct_from"};
  auto adopt = [&](const Expr& lit_ast, BoundExprPtr& lit, const BoundExprPtr& other) {
    if (!kComparisons.count(fn)) return;
    if (lit_ast.kind != ExprKind::kLiteral || lit_ast.literal_kind != LiteralKind::kInteger) return;
    bool exact = other->type.is_integer() || other->type.id() == TypeId::kDecimal;
    if (!exact || lit->kind != BoundKind::kLiteral) return;
    auto v = expr::CastValue(lit->literal, other->type, true);
    if (v.ok() && !v->is_null()) lit = expr::MakeLiteral(v.MoveValue());
  };
  adopt(right, r, l);
  adopt(left, l, r);
  return BindCall(fn, {l, r}, loc);
}

BoundExprPtr StatementBinder::BindColumnRef(const Expr& e, const std::vector<ScopeColumn>& scope) {
  const auto& names = e.names;
  // Candidates: (qualifier.)column, then struct fields for the remaining parts.
  auto find = [&](const std::string& qualifier, const std::string& name, int* found) {
    int count = 0;
    for (size_t i = 0; i < scope.size(); ++i) {
      if (scope[i].name == name && (qualifier.empty() || scope[i].qualifier == qualifier)) {
        if (count == 0) *found = static_cast<int>(i);
        ++count;
      }
    }
    return count;
  };
  int idx = -1;
  size_t consumed = 0;
  if (names.size() >= 2 && find(names[0], names[1], &idx) == 1) {
    consumed = 2;
  } else {
    int count = find("", names[0], &idx);
    if (count > 1) FailUser(e.loc, "column reference \"{}\" is ambiguous", names[0]);
    if (count == 1) consumed = 1;
  }
  if (consumed == 0) {
    std::vector<std::string> candidates;
    for (const auto& c : scope) candidates.push_back(c.name);
    std::string full = names[0];
    if (names.size() >= 2) {
      bool qualifier_exists = false;
      for (const auto& c : scope) qualifier_exists |= c.qualifier == names[0];
      if (qualifier_exists) {
        FailUser(e.loc, "column \"{}.{}\" does not exist{}", names[0], names[1],
                 Hint(names[1], candidates));
      }
    }
    FailUser(e.loc, "column \"{}\" does not exist{}", full, Hint(full, candidates));
  }
  BoundExprPtr out = expr::MakeColumn(idx, scope[static_cast<size_t>(idx)].type);
  for (size_t i = consumed; i < names.size(); ++i) {
    if (out->type.id() != TypeId::kStruct) {
      FailUser(e.loc, "column \"{}\" is {}, not a struct: it has no field \"{}\"", names[i - 1],
               out->type.ToString(), names[i]);
    }
    int field = -1;
    const auto& fields = out->type.fields();
    for (size_t f = 0; f < fields.size(); ++f) {
      if (fields[f].name == names[i]) field = static_cast<int>(f);
    }
    if (field < 0) {
      std::vector<std::string> fnames;
      for (const auto& f : fields) fnames.push_back(f.name);
      FailUser(e.loc, "struct \"{}\" has no field \"{}\"{}", names[i - 1], names[i],
               Hint(names[i], fnames));
    }
    auto fa = std::make_shared<BoundExpr>();
    fa->kind = BoundKind::kFieldAccess;
    fa->type = fields[static_cast<size_t>(field)].type;
    fa->field_index = field;
    fa->args.push_back(out);
    out = fa;
  }
  return out;
}

BoundExprPtr StatementBinder::BindFunction(const Expr& e, const std::vector<ScopeColumn>& scope) {
  const std::string& name = e.names.back();
  if (e.over) {
    FailNotSupported(e.loc,
                     "window function {}() OVER (...) is supported only in the select list of a "
                     "query without GROUP BY or aggregates; compute it in a subquery and filter "
                     "or aggregate its result outside",
                     name);
  }
  if (WindowFunctionNames().count(name)) {
    FailUser(e.loc, "window function {}() requires an OVER clause", name);
  }
  if (IsAggregateName(name)) {
    FailUser(e.loc,
             "aggregate function {}() is not allowed here; aggregates belong in the select list "
             "or HAVING of a GROUP BY query",
             name);
  }
  if (name == "tumble" || name == "hop" || name == "session") {
    FailUser(e.loc, "window function {}() must appear in GROUP BY", name);
  }
  if (name == "unnest") FailNotSupported(e.loc, "UNNEST is not supported yet");
  if (e.distinct || e.filter || e.star_arg) {
    FailUser(e.loc, "DISTINCT, FILTER and * are only allowed in aggregate functions");
  }
  if (e.ordered_set && (name == "percentile_disc" || name == "mode")) {
    FailNotSupported(e.loc, "{}() is not supported yet; the ordered-set aggregates are {}", name,
                     OrderedSetNames());
  }
  if (e.ordered_set) {
    FailUser(e.loc,
             "{}() is not an ordered-set aggregate: WITHIN GROUP (ORDER BY ...) applies to {}",
             name, OrderedSetNames());
  }
  if (BoundExprPtr inlined = BindSqlFunctionCall(e, scope)) return inlined;
  if (name == "row_time") {
    if (!e.args.empty()) FailUser(e.loc, "row_time() takes no arguments");
    auto t = std::make_shared<BoundExpr>();
    t->kind = BoundKind::kEventTime;
    t->type = types::Timestamp();
    return t;
  }
  std::vector<BoundExprPtr> args;
  for (const auto& a : e.args) args.push_back(BindExpr(*a, scope));
  return BindCall(name, std::move(args), e.loc);
}

BoundExprPtr StatementBinder::BindExpr(const Expr& e, const std::vector<ScopeColumn>& scope) {
  if (++depth_ > 256) FailUser(e.loc, "expression is nested too deeply");
  struct DepthGuard {
    int* d;
    ~DepthGuard() { --*d; }
  } guard{&depth_};
  switch (e.kind) {
    case ExprKind::kLiteral:
      switch (e.literal_kind) {
        case LiteralKind::kNull:
          return expr::MakeLiteral(Value());
        case LiteralKind::kBool:
          return expr::MakeLiteral(Value::Boolean(e.bool_value));
        case LiteralKind::kString:
          return expr::MakeLiteral(Value::String(e.text));
        case LiteralKind::kInteger: {
          auto v = expr::CastValue(Value::String(e.text), types::Int64(), true);
          if (v.ok() && !v->is_null()) {
            int64_t x = v->int_value();
            if (x >= INT32_MIN && x <= INT32_MAX)
              return expr::MakeLiteral(Value::Int(types::Int32(), x));
            return expr::MakeLiteral(*v);
          }
          auto d = expr::CastValue(Value::String(e.text), DataType::Decimal(38, 0), true);
          if (d.ok() && !d->is_null()) return expr::MakeLiteral(*d);
          FailUser(e.loc, "integer literal {} is too large", e.text);
        }
        case LiteralKind::kDecimal: {
          bool exponent = e.text.find_first_of("eE") != std::string::npos;
          if (!exponent) {
            size_t dot = e.text.find('.');
            int scale = dot == std::string::npos ? 0 : static_cast<int>(e.text.size() - dot - 1);
            int digits = 0;
            for (char c : e.text) digits += (c >= '0' && c <= '9');
            int precision = std::max(digits, scale);
            if (precision <= 38) {
              auto v = expr::CastValue(Value::String(e.text),
                                       DataType::Decimal(std::max(precision, 1), scale));
              if (v.ok()) return expr::MakeLiteral(v.MoveValue());
            }
          }
          auto v = expr::CastValue(Value::String(e.text), types::Float64());
          if (!v.ok()) Fail(e.loc, v.status());
          return expr::MakeLiteral(v.MoveValue());
        }
        case LiteralKind::kTyped: {
          DataType t = ResolveType(*e.cast_type);
          return CastLiteralTo(e, t);
        }
      }
      break;
    case ExprKind::kInterval: {
      std::string text = e.unit.empty() ? e.text : e.text + " " + e.unit;
      auto iv = expr::ParseInterval(text);
      if (!iv.ok()) Fail(e.loc, iv.status());
      return expr::MakeLiteral(Value::IntervalValue(*iv));
    }
    case ExprKind::kColumnRef:
      return BindColumnRef(e, scope);
    case ExprKind::kStar:
      FailUser(e.loc, "* is only allowed in the select list or count(*)");
    case ExprKind::kUnary: {
      if (e.op == "not") {
        return expr::MakeLogical(BoundKind::kNot, {BindBool(*e.args[0], scope, "NOT")});
      }
      BoundExprPtr a = BindExpr(*e.args[0], scope);
      if (e.op == "+") return a;
      if (e.op == "-") return BindCall("neg", {a}, e.loc);
      FailUser(e.loc, "operator does not exist: {} {}", e.op, a->type.ToString());
    }
    case ExprKind::kBinary: {
      if (e.op == "and" || e.op == "or") {
        const char* ctx = e.op == "and" ? "AND" : "OR";
        return expr::MakeLogical(
            e.op == "and" ? BoundKind::kAnd : BoundKind::kOr,
            {BindBool(*e.args[0], scope, ctx), BindBool(*e.args[1], scope, ctx)});
      }
      std::string op = e.op == "!=" ? "<>" : e.op;
      return BindOperator(op, *e.args[0], *e.args[1], scope, e.loc);
    }
    case ExprKind::kIsNull: {
      auto n = std::make_shared<BoundExpr>();
      n->kind = BoundKind::kIsNull;
      n->type = types::Bool();
      n->negated = e.negated;
      n->args.push_back(BindExpr(*e.args[0], scope));
      return n;
    }
    case ExprKind::kIsBool: {
      BoundExprPtr a = BindExpr(*e.args[0], scope);
      BoundExprPtr t = BindCall("is_" + e.op, {a}, e.loc);
      return e.negated ? expr::MakeLogical(BoundKind::kNot, {t}) : t;
    }
    case ExprKind::kIsDistinctFrom:
      return BindOperator(e.negated ? "is_not_distinct_from" : "is_distinct_from", *e.args[0],
                          *e.args[1], scope, e.loc);
    case ExprKind::kBetween: {
      BoundExprPtr lo = BindOperator(">=", *e.args[0], *e.args[1], scope, e.loc);
      BoundExprPtr hi = BindOperator("<=", *e.args[0], *e.args[2], scope, e.loc);
      BoundExprPtr both = expr::MakeLogical(BoundKind::kAnd, {lo, hi});
      return e.negated ? expr::MakeLogical(BoundKind::kNot, {both}) : both;
    }
    case ExprKind::kInList: {
      BoundExprPtr acc;
      for (size_t i = 1; i < e.args.size(); ++i) {
        BoundExprPtr eq = BindOperator("=", *e.args[0], *e.args[i], scope, e.loc);
        acc = acc ? expr::MakeLogical(BoundKind::kOr, {acc, eq}) : eq;
      }
      if (!acc) FailUser(e.loc, "IN needs at least one value");
      return e.negated ? expr::MakeLogical(BoundKind::kNot, {acc}) : acc;
    }
    case ExprKind::kLike: {
      std::vector<BoundExprPtr> args;
      for (const auto& a : e.args) args.push_back(BindExpr(*a, scope));
      BoundExprPtr like = BindCall(e.case_insensitive ? "ilike" : "like", std::move(args), e.loc);
      return e.negated ? expr::MakeLogical(BoundKind::kNot, {like}) : like;
    }
    case ExprKind::kSimilarTo:
      FailNotSupported(e.loc, "SIMILAR TO is not supported; use regexp_like()");
    case ExprKind::kCast: {
      DataType t = ResolveType(*e.cast_type);
      if (IsStringLiteral(*e.args[0]) && !e.try_cast) return CastLiteralTo(*e.args[0], t);
      return Cast(BindExpr(*e.args[0], scope), t, e.loc, e.try_cast);
    }
    case ExprKind::kCase: {
      size_t i = 0;
      const Expr* operand = e.has_operand ? e.args[i++].get() : nullptr;
      size_t end = e.args.size() - (e.has_else ? 1 : 0);
      std::vector<BoundExprPtr> conds, values;
      for (; i + 1 < end + 1 && i < end; i += 2) {
        if (operand) {
          conds.push_back(BindOperator("=", *operand, *e.args[i], scope, e.args[i]->loc));
        } else {
          conds.push_back(BindBool(*e.args[i], scope, "CASE WHEN"));
        }
        values.push_back(BindExpr(*e.args[i + 1], scope));
      }
      if (e.has_else) values.push_back(BindExpr(*e.args.back(), scope));
      DataType t(TypeId::kNull);
      for (const auto& v : values) {
        auto common = expr::CommonSuperType(t, v->type);
        if (!common.ok()) {
          FailUser(e.loc, "CASE types {} and {} cannot be matched", t.ToString(),
                   v->type.ToString());
        }
        t = *common;
      }
      if (t.id() == TypeId::kNull) t = types::Utf8();
      auto c = std::make_shared<BoundExpr>();
      c->kind = BoundKind::kCase;
      c->type = t;
      c->has_else = e.has_else;
      for (size_t k = 0; k < conds.size(); ++k) {
        c->args.push_back(conds[k]);
        c->args.push_back(Cast(values[k], t, e.loc, false));
      }
      if (e.has_else) c->args.push_back(Cast(values.back(), t, e.loc, false));
      return c;
    }
    case ExprKind::kFunction:
      return BindFunction(e, scope);
    case ExprKind::kSubscript: {
      BoundExprPtr base = BindExpr(*e.args[0], scope);
      if (base->type.id() == TypeId::kJson)
        return BindCall("->", {base, BindExpr(*e.args[1], scope)}, e.loc);
      if (base->type.id() != TypeId::kList) {
        FailUser(e.loc, "cannot subscript type {}: it is not an array", base->type.ToString());
      }
      BoundExprPtr index = Cast(BindExpr(*e.args[1], scope), types::Int64(), e.args[1]->loc, false);
      auto s = std::make_shared<BoundExpr>();
      s->kind = BoundKind::kSubscript;
      s->type = base->type.element();
      s->args = {base, index};
      return s;
    }
    case ExprKind::kFieldAccess: {
      BoundExprPtr base = BindExpr(*e.args[0], scope);
      if (base->type.id() != TypeId::kStruct) {
        FailUser(e.loc, "type {} is not a struct: it has no field \"{}\"", base->type.ToString(),
                 e.text);
      }
      const auto& fields = base->type.fields();
      for (size_t f = 0; f < fields.size(); ++f) {
        if (fields[f].name == e.text) {
          auto fa = std::make_shared<BoundExpr>();
          fa->kind = BoundKind::kFieldAccess;
          fa->type = fields[f].type;
          fa->field_index = static_cast<int>(f);
          fa->args.push_back(base);
          return fa;
        }
      }
      FailUser(e.loc, "struct has no field \"{}\"", e.text);
    }
    case ExprKind::kArray: {
      std::vector<BoundExprPtr> args;
      for (const auto& a : e.args) args.push_back(BindExpr(*a, scope));
      return BindCall("make_array", std::move(args), e.loc);
    }
    case ExprKind::kRow:
      return BindRow(e, scope);
    case ExprKind::kSubquery:
      FailNotSupported(e.loc,
                       "a subquery is supported in WHERE and in the select list of a SELECT "
                       "without GROUP BY; not supported yet here");
  }
  FailUser(e.loc, "unsupported expression");
}

}  // namespace sluice::sql
