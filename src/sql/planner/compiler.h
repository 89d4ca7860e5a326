#pragma once
// Compiles optimized logical plans into the dataflow graph the runtime executes. Adjacent
// stateless operators of equal parallelism are chained into one task; a change of parallelism
// becomes a rebalance edge.

#include "runtime/dataflow_graph.h"
#include "sql/planner/pipeline_plan.h"

namespace sluice::sql {

struct CompileOptions {
  int parallelism = 1;
  int64_t batch_rows = 4096;  // most rows per source batch
};

Result<runtime::DataflowGraph> Compile(const PipelinePlan& plan, const CompileOptions& options);

}  // namespace sluice::sql
