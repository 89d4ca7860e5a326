#pragma once
// Vectorized evaluation of bound expressions over a batch. Stateless and thread-safe.

#include <vector>

#include "batch/batch.h"
#include "expr/bound_expr.h"

namespace sluice::expr {

// Evaluates `e` over every row of `input`. Errors are user errors (division by zero, bad
// cast) naming the value. AND, OR and CASE only evaluate a branch on the rows that need it, so
// `x <> 0 AND 10 / x > 1` never divides by zero.
Result<ColumnPtr> Evaluate(const BoundExpr& e, const batch::Batch& input);

// Indexes of the rows for which `predicate` is TRUE (not FALSE, not NULL).
Result<std::vector<int32_t>> SelectRows(const BoundExpr& predicate, const batch::Batch& input);

// Evaluates a foldable expression (no column references) to one value.
Result<Value> EvaluateConstant(const BoundExpr& e);

}  // namespace sluice::expr
