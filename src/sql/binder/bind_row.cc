// Binding of row constructors: ROW(a, b) and (a, b) build a STRUCT (fields f1, f2, ...), and a
// comparison of two row constructors compares them field by field as PostgreSQL does.

#include <string>
#include <vector>

#include "expr/function.h"
#include "sql/binder/binder_internal.h"

namespace sluice::sql {

BoundExprPtr StatementBinder::BindRow(const Expr& e, const std::vector<ScopeColumn>& scope) {
  std::vector<BoundExprPtr> args;
  for (const auto& a : e.args) args.push_back(BindExpr(*a, scope));
  return BindCall("row", std::move(args), e.loc);
}

// (a1, a2) = (b1, b2) is a1 = b1 AND a2 = b2, and <> the OR of the <>s; (a1, a2) < (b1, b2)
// is a1 < b1 OR (a1 = b1 AND a2 < b2). With SQL's NULL logic this is PostgreSQL's result for
// row constructors: NULL when it depends on a NULL field. (Values of a STRUCT type compare as
// wholes instead, NULL fields equal and last, like PostgreSQL's composite values.)
BoundExprPtr StatementBinder::BindRowComparison(const std::string& op, const Expr& left,
                                                const Expr& right,
                                                const std::vector<ScopeColumn>& scope,
                                                const Location& loc) {
  if (left.kind != ExprKind::kRow || right.kind != ExprKind::kRow) return nullptr;
  bool ordering = op == "<" || op == "<=" || op == ">" || op == ">=";
  if (op != "=" && op != "<>" && !ordering) return nullptr;
  if (left.args.size() != right.args.size()) {
    FailUser(loc, "unequal number of entries in row expressions: {} and {}", left.args.size(),
             right.args.size());
  }
  if (left.args.empty()) FailUser(loc, "cannot compare rows of zero length");
  const size_t n = left.args.size();
  if (!ordering) {
    BoundKind join = op == "=" ? BoundKind::kAnd : BoundKind::kOr;
    BoundExprPtr result = BindOperator(op, *left.args[0], *right.args[0], scope, loc);
    for (size_t i = 1; i < n; ++i) {
      result = expr::MakeLogical(
          join, {result, BindOperator(op, *left.args[i], *right.args[i], scope, loc)});
    }
    return result;
  }
  // From the last field back: last = a_n op b_n; step i = a_i strict b_i OR (a_i = b_i AND rest).
  std::string strict = op.substr(0, 1);
  BoundExprPtr result = BindOperator(op, *left.args[n - 1], *right.args[n - 1], scope, loc);
  for (size_t i = n - 1; i-- > 0;) {
    BoundExprPtr lt = BindOperator(strict, *left.args[i], *right.args[i], scope, loc);
    BoundExprPtr eq = BindOperator("=", *left.args[i], *right.args[i], scope, loc);
    result =
        expr::MakeLogical(BoundKind::kOr, {lt, expr::MakeLogical(BoundKind::kAnd, {eq, result})});
  }
  return result;
}

}  // namespace sluice::sql
