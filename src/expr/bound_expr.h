#pragma once
// Resolved, typed expressions: what the binder produces and the evaluator runs. Immutable and
// shared between plans and operators.

#include <memory>
#include <string>
#include <vector>

#include "expr/function.h"
#include "types/value.h"

namespace sluice::expr {

struct BoundExpr;
using BoundExprPtr = std::shared_ptr<const BoundExpr>;

enum class BoundKind {
  kColumn,       // input column `column_index`
  kEventTime,    // the row's event time (row_time())
  kLiteral,      // `literal`
  kCall,         // `function` over args
  kCast,         // args[0] cast to `type` (try_cast: failures become NULL)
  kAnd,          // args[0] AND args[1] (three-valued)
  kOr,           // args[0] OR args[1]
  kNot,          // NOT args[0]
  kIsNull,       // args[0] IS NULL (negated: IS NOT NULL)
  kCase,         // args: cond1, val1, cond2, val2, ..., [else]; has_else
  kFieldAccess,  // struct args[0], field `field_index`
  kSubscript,    // list args[0] [ args[1] ] (1-based; out of range is NULL)
};

struct BoundExpr {
  BoundKind kind;
  DataType type;
  std::vector<BoundExprPtr> args;
  int column_index = -1;
  Value literal;
  std::shared_ptr<const BoundFunction> function;
  bool try_cast = false;
  bool negated = false;
  bool has_else = false;
  int field_index = -1;

  // Readable form for EXPLAIN: $0, lower($1), CAST($2 AS BIGINT).
  std::string ToString() const;
  bool IsConstant() const { return kind == BoundKind::kLiteral; }
  // True when no part reads input or calls a non-deterministic function.
  bool IsFoldable() const;
  // Adds every column index read to `out`.
  void CollectColumns(std::vector<int>* out) const;
};

BoundExprPtr MakeColumn(int index, DataType type);
BoundExprPtr MakeLiteral(Value value);
BoundExprPtr MakeCast(BoundExprPtr arg, DataType type, bool try_cast = false);
BoundExprPtr MakeCall(std::shared_ptr<const BoundFunction> fn, std::vector<BoundExprPtr> args);
BoundExprPtr MakeLogical(BoundKind kind, std::vector<BoundExprPtr> args);
// Copy of `e` with column indexes remapped through `mapping` (mapping[old] = new).
BoundExprPtr RemapColumns(const BoundExprPtr& e, const std::vector<int>& mapping);
// Copy of `e` with each column reference i replaced by `replacements[i]` (inlining a
// projection into the expression that reads it).
BoundExprPtr Substitute(const BoundExprPtr& e, const std::vector<BoundExprPtr>& replacements);

}  // namespace sluice::expr
