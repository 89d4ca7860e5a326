#pragma once
// The dataflow graph: nodes are chains of operators run by `parallelism` subtasks each, edges
// say how rows move between them. It is plain data built by the planner; the executor turns it
// into tasks and channels.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "runtime/operator.h"

namespace sluice::runtime {

enum class EdgeKind {
  kForward,    // subtask i → subtask i (equal parallelism)
  kRebalance,  // round-robin over every downstream subtask
  kHash,       // by hash of key columns: a key always reaches the same subtask
  kBroadcast,  // every batch to every downstream subtask
};

const char* EdgeKindName(EdgeKind kind);

// Splits a batch into one part per downstream subtask (empty parts are null).
using Partitioner =
    std::function<std::vector<batch::BatchPtr>(const batch::BatchPtr& batch, int partitions)>;

struct EdgeSpec {
  int from = 0;
  int to = 0;
  int to_input = 0;  // logical input of the consumer (join sides)
  EdgeKind kind = EdgeKind::kForward;
  std::vector<std::string> key_names;  // for EXPLAIN
  Partitioner partitioner;             // kHash
};

struct NodeSpec {
  int id = 0;
  int parallelism = 1;
  // chain[0] is the head (a source for source nodes); each forwards to the next.
  std::vector<std::shared_ptr<const OperatorFactory>> chain;
  bool is_source() const { return !chain.empty() && chain[0]->is_source(); }
  std::string name() const;
};

struct DataflowGraph {
  std::vector<NodeSpec> nodes;
  std::vector<EdgeSpec> edges;
  // By source node id: the columns the source emits (names and types), set by the planner. A
  // source's description names its table, not the columns a query reads of it; the operators
  // after it refer to columns by position, so their identities include this
  // (operator_identity.h).
  std::map<int, std::string> source_columns;
  // Readable form for `sluice explain`.
  std::string ToString() const;
};

}  // namespace sluice::runtime
