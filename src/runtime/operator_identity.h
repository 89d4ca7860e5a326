#pragma once
// The stable identity of each operator of a dataflow graph, and the mapping of a checkpoint's
// operator state onto an edited query by those identities (docs/decisions/0026).
//
// An operator's identity is a hash of its kind, its description (bound expressions, window,
// keys, aggregates, connector options: what EXPLAIN prints) and the identities of its inputs
// with their input index. It does not depend on the parallelism, the chaining or the operator's
// position in the graph, so an edit that leaves an operator and everything upstream of it alone
// leaves its identity alone. Sources and sinks are identified by their own description only:
// their state (read positions, pending transactions of the destination) belongs to the
// connector table, not to the rows that flow through them. The operators after a source include
// the columns it emits (DataflowGraph::source_columns): reading other columns of the same table
// changes what their column positions mean.
//
// Threading: pure functions; callable from any thread.

#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/checkpoint_metadata.h"
#include "runtime/dataflow_graph.h"

namespace sluice::runtime {

// By operator id (nodes in id order, then chain order: the executor's numbering). `stateful`
// is false here; the checkpoint coordinator sets it for operators that write state.
std::vector<CheckpointMetadata::Identity> OperatorIdentities(const DataflowGraph& graph);

// Where each operator of the new graph gets its state from.
struct StateMapping {
  std::vector<std::optional<int>> old_of_new;  // by new operator id: the old operator id
  std::vector<int> fresh;                      // new operators without a match: start empty
  std::vector<int> dropped;                    // old operators with state and no match
  // One line per dropped operator: what it was and why it has no match.
  std::vector<std::string> reasons;
};

// Maps the operators of checkpoint `old` (which must list identities) onto `now` by identity;
// equal identities pair up in operator order. An old operator without a match whose state was
// never written (stateless, or empty) is ignored; one with state is listed in `dropped` with a
// reason naming it and what changed.
StateMapping MapOperatorState(const CheckpointMetadata& old,
                              const std::vector<CheckpointMetadata::Identity>& now);

// The refusal when `mapping` drops state and dropping was not allowed: names the operators and
// the reasons, then `how_to_allow` (the flag of the caller: API field or CLI option).
Status RefuseDroppedState(int64_t checkpoint, const StateMapping& mapping,
                          const std::string& how_to_allow);

}  // namespace sluice::runtime
