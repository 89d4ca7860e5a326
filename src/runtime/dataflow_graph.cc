#include "runtime/dataflow_graph.h"

#include <fmt/format.h>

namespace sluice::runtime {

const char* EdgeKindName(EdgeKind kind) {
  switch (kind) {
    case EdgeKind::kForward:
      return "forward";
    case EdgeKind::kRebalance:
      return "rebalance";
    case EdgeKind::kHash:
      return "hash";
    case EdgeKind::kBroadcast:
      return "broadcast";
  }
  return "?";
}

std::string NodeSpec::name() const {
  std::string s;
  for (size_t i = 0; i < chain.size(); ++i) {
    if (i) s += " -> ";
    s += chain[i]->name();
  }
  return s;
}

std::string DataflowGraph::ToString() const {
  std::string s;
  for (const auto& n : nodes) {
    s += fmt::format("node {} [parallelism {}]{}\n", n.id, n.parallelism,
                     n.chain.size() > 1 ? " chained:" : "");
    for (const auto& op : n.chain) s += fmt::format("    {}\n", op->Describe());
  }
  for (const auto& e : edges) {
    std::string keys;
    if (!e.key_names.empty()) {
      keys = " by (";
      for (size_t i = 0; i < e.key_names.size(); ++i) {
        if (i) keys += ", ";
        keys += e.key_names[i];
      }
      keys += ")";
    }
    s += fmt::format("edge {} -> {} [{}{}]{}\n", e.from, e.to, EdgeKindName(e.kind), keys,
                     e.to_input ? fmt::format(" input {}", e.to_input) : "");
  }
  return s;
}

}  // namespace sluice::runtime
