#include "expr/bound_expr.h"

#include <fmt/format.h>

namespace sluice::expr {

std::string BoundExpr::ToString() const {
  auto join_args = [&](const char* sep) {
    std::string s;
    for (size_t i = 0; i < args.size(); ++i) {
      if (i) s += sep;
      s += args[i]->ToString();
    }
    return s;
  };
  switch (kind) {
    case BoundKind::kColumn:
      return fmt::format("${}", column_index);
    case BoundKind::kEventTime:
      return "row_time()";
    case BoundKind::kLiteral:
      return literal.ToString();
    case BoundKind::kCall: {
      const std::string& n = function->name;
      bool op = !n.empty() && !std::isalpha(static_cast<unsigned char>(n[0]));
      if (op && args.size() == 2) {
        return fmt::format("({} {} {})", args[0]->ToString(), n, args[1]->ToString());
      }
      return fmt::format("{}({})", n, join_args(", "));
    }
    case BoundKind::kCast:
      return fmt::format("{}({} AS {})", try_cast ? "TRY_CAST" : "CAST", args[0]->ToString(),
                         type.ToString());
    case BoundKind::kAnd:
      return "(" + join_args(" AND ") + ")";
    case BoundKind::kOr:
      return "(" + join_args(" OR ") + ")";
    case BoundKind::kNot:
      return "NOT " + args[0]->ToString();
    case BoundKind::kIsNull:
      return fmt::format("{} IS {}NULL", args[0]->ToString(), negated ? "NOT " : "");
    case BoundKind::kCase: {
      std::string s = "CASE";
      size_t pairs = (args.size() - (has_else ? 1 : 0)) / 2;
      for (size_t i = 0; i < pairs; ++i) {
        s += fmt::format(" WHEN {} THEN {}", args[2 * i]->ToString(), args[2 * i + 1]->ToString());
      }
      if (has_else) s += " ELSE " + args.back()->ToString();
      return s + " END";
    }
    case BoundKind::kFieldAccess:
      return fmt::format("{}.{}", args[0]->ToString(),
                         args[0]->type.fields()[static_cast<size_t>(field_index)].name);
    case BoundKind::kSubscript:
      return fmt::format("{}[{}]", args[0]->ToString(), args[1]->ToString());
  }
  return "?";
}

bool BoundExpr::IsFoldable() const {
  if (kind == BoundKind::kColumn || kind == BoundKind::kEventTime) return false;
  if (kind == BoundKind::kCall && !function->deterministic) return false;
  for (const auto& a : args) {
    if (!a->IsFoldable()) return false;
  }
  return true;
}

void BoundExpr::CollectColumns(std::vector<int>* out) const {
  if (kind == BoundKind::kColumn) out->push_back(column_index);
  for (const auto& a : args) a->CollectColumns(out);
}

BoundExprPtr MakeColumn(int index, DataType type) {
  auto e = std::make_shared<BoundExpr>();
  e->kind = BoundKind::kColumn;
  e->column_index = index;
  e->type = std::move(type);
  return e;
}

BoundExprPtr MakeLiteral(Value value) {
  auto e = std::make_shared<BoundExpr>();
  e->kind = BoundKind::kLiteral;
  e->type = value.type();
  e->literal = std::move(value);
  return e;
}

BoundExprPtr MakeCast(BoundExprPtr arg, DataType type, bool try_cast) {
  if (arg->type == type) return arg;
  auto e = std::make_shared<BoundExpr>();
  e->kind = BoundKind::kCast;
  e->type = std::move(type);
  e->try_cast = try_cast;
  e->args.push_back(std::move(arg));
  return e;
}

BoundExprPtr MakeCall(std::shared_ptr<const BoundFunction> fn, std::vector<BoundExprPtr> args) {
  auto e = std::make_shared<BoundExpr>();
  e->kind = BoundKind::kCall;
  e->type = fn->return_type;
  e->function = std::move(fn);
  e->args = std::move(args);
  return e;
}

BoundExprPtr MakeLogical(BoundKind kind, std::vector<BoundExprPtr> args) {
  auto e = std::make_shared<BoundExpr>();
  e->kind = kind;
  e->type = types::Bool();
  e->args = std::move(args);
  return e;
}

BoundExprPtr RemapColumns(const BoundExprPtr& e, const std::vector<int>& mapping) {
  if (e->kind == BoundKind::kColumn) {
    return MakeColumn(mapping[static_cast<size_t>(e->column_index)], e->type);
  }
  if (e->args.empty()) return e;
  auto copy = std::make_shared<BoundExpr>(*e);
  for (auto& a : copy->args) a = RemapColumns(a, mapping);
  return copy;
}

BoundExprPtr Substitute(const BoundExprPtr& e, const std::vector<BoundExprPtr>& replacements) {
  if (e->kind == BoundKind::kColumn) return replacements[static_cast<size_t>(e->column_index)];
  if (e->args.empty()) return e;
  auto copy = std::make_shared<BoundExpr>(*e);
  for (auto& a : copy->args) a = Substitute(a, replacements);
  return copy;
}

}  // namespace sluice::expr
