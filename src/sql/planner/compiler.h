#pragma once
// Compiles optimized logical plans into the dataflow graph the runtime executes. Adjacent
// stateless operators of equal parallelism are chained into one task; a change of parallelism
// becomes a rebalance edge. A plan node read by several parents (plan_reuse.h) is compiled once
// and its output fanned out: each parent starts a node of its own, fed by a forward edge (or a
// rebalance or hash edge where the parallelism or the keys call for one).

#include "runtime/dataflow_graph.h"
#include "sql/planner/pipeline_plan.h"

namespace sluice::sql {

struct CompileOptions {
  int parallelism = 1;
  int64_t batch_rows = 4096;  // most rows per source batch
};

Result<runtime::DataflowGraph> Compile(const PipelinePlan& plan, const CompileOptions& options);

}  // namespace sluice::sql
