#pragma once
// The serialized dataflow graph: what a coordinator ships to its workers so each builds the
// subtasks it is given (docs/distributed.md, "The plan format").
//
// It holds the optimized logical plan of the pipeline (operator kinds with their bound
// expressions, aggregates, windows, joins and connector tables), the compile options
// (parallelism, batch size) and the dataflow graph those compile to (nodes with their operator
// chains and parallelism, edges with their kind and keys). A reader compiles the plan with its
// own compiler and checks the result against the recorded graph, node by node and edge by edge,
// so a worker whose build would plan differently refuses the job with the first difference
// instead of running another graph. The envelope carries a format version and the oldest
// reader version that can read it (STYLE.md: wire formats are versioned).
//
// Threading: pure functions; callable from any thread.

#include <string>
#include <string_view>

#include "common/status.h"
#include "runtime/dataflow_graph.h"
#include "sql/planner/compiler.h"
#include "sql/planner/pipeline_plan.h"

namespace sluice::dist {

inline constexpr int kPlanFormatVersion = 1;
// The oldest reader that can read what this writer writes.
inline constexpr int kPlanMinReaderVersion = 1;

struct DecodedPlan {
  sql::PipelinePlan plan;
  sql::CompileOptions options;
  runtime::DataflowGraph graph;  // compiled here, checked against the recorded graph
};

// Serializes a planned pipeline and the graph it compiles to with `options`. NotSupported for
// plans that cannot travel yet (user-defined functions, which live in the planning process).
Result<std::string> EncodePlan(const sql::PipelinePlan& plan, const sql::CompileOptions& options);

// Reads what EncodePlan wrote, binds every function and aggregate again and compiles the graph.
// A user error naming the member (as a path: "plan.nodes[3].exprs[1]: ...") when the text is
// malformed, of a newer incompatible version, or compiles to another graph here.
Result<DecodedPlan> DecodePlan(std::string_view text);

// EncodePlan then DecodePlan: the plan as a worker rebuilds it (the round-trip tests run it in
// place of the original).
Result<sql::PipelinePlan> RoundTripPlan(const sql::PipelinePlan& plan,
                                        const sql::CompileOptions& options);

// One line per node and edge: the part of a graph both sides must agree on (EXPLAIN's form:
// operator names and descriptions, parallelism, edge kinds and keys).
std::string GraphSignature(const runtime::DataflowGraph& graph);

}  // namespace sluice::dist
