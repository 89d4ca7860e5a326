#pragma once
// Sub-plan reuse (docs/decisions/0008-sub-plan-reuse.md). The optimizer's last step turns the
// pipeline's plan trees into a DAG:
//   - reads of one table (a CTE used twice, a self-join, the two sides of Nexmark q5, q7, q8)
//     become one read of the union of the columns and struct fields they need, each reader
//     keeping its own filter and projection above it, with one watermark generator;
//   - equal sub-plans become one node, whose output the compiler fans out to every parent.
// A pipeline that reads nothing twice comes back unchanged: the very same nodes.

#include <unordered_map>

#include "sql/planner/pipeline_plan.h"

namespace sluice::sql {

PipelinePlan ShareSubPlans(PipelinePlan plan);

// The number of parents of each node of the pipeline's DAG; a parent that reads a node twice
// (a self-join of one shared read) counts twice. Sinks have none.
std::unordered_map<const LogicalPlan*, int> CountParents(const PipelinePlan& plan);

// Structural equality of bound expressions (functions compared by name and signature).
bool SameExpr(const expr::BoundExprPtr& a, const expr::BoundExprPtr& b);

}  // namespace sluice::sql
