#pragma once
// The logical plan: an immutable tree of relational operators over bound expressions, produced
// by the binder, rewritten by the optimizer, and compiled into a dataflow graph.

#include <memory>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "expr/bound_expr.h"
#include "types/schema.h"

namespace sluice::sql {

enum class PlanKind {
  kSource,   // a connector source table; `columns` = which table columns are read
  kFilter,   // rows where `predicate` is TRUE
  kProject,  // `exprs`, one per output column
  kUnion,    // UNION ALL of `inputs`
  kSink,     // writes `inputs[0]` into a connector sink table
};

struct LogicalPlan;
using PlanPtr = std::shared_ptr<const LogicalPlan>;

struct LogicalPlan {
  PlanKind kind;
  types::SchemaPtr schema;  // output columns
  std::vector<PlanPtr> inputs;
  // kSource / kSink
  std::shared_ptr<const connectors::TableSpec> table;
  std::vector<int> columns;  // kSource: indexes into table->schema, in output order
  // kFilter
  expr::BoundExprPtr predicate;
  // kProject
  std::vector<expr::BoundExprPtr> exprs;

  // Indented tree for EXPLAIN.
  std::string ToString(int indent = 0) const;
};

PlanPtr MakeSource(std::shared_ptr<const connectors::TableSpec> table, std::vector<int> columns);
PlanPtr MakeFilter(PlanPtr input, expr::BoundExprPtr predicate);
PlanPtr MakeProject(PlanPtr input, std::vector<expr::BoundExprPtr> exprs, types::SchemaPtr schema);
PlanPtr MakeUnion(std::vector<PlanPtr> inputs);
PlanPtr MakeSink(PlanPtr input, std::shared_ptr<const connectors::TableSpec> table);

}  // namespace sluice::sql
