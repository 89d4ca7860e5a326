#pragma once
// Which worker runs each subtask of a distributed job (docs/distributed.md, "Placement").
//
// Slots are shared, as in Flink: a slot runs one subtask of every node, so a job needs as many
// slots as its largest parallelism, and the subtasks with the same index (a forward edge's two
// ends) share a worker. Slots are taken worker by worker in turn (worker 0's first slot, worker
// 1's first slot, ..., then every worker's second slot), so a job smaller than the cluster still
// spreads over every worker. The result depends only on the graph and the slots of each worker in
// their order, so every coordinator computes the same placement.
//
// Threading: pure functions.

#include <vector>

#include "common/status.h"
#include "runtime/dataflow_graph.h"

namespace sluice::dist {

// workers[n][s]: the worker (an index into `slots`) of subtask s of the node with id n. A user
// error when a node has more subtasks than the workers have slots in all.
Result<std::vector<std::vector<int>>> PlaceSubtasks(const runtime::DataflowGraph& graph,
                                                    const std::vector<int>& slots);

}  // namespace sluice::dist
