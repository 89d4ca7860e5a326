#include "dist/placement.h"

#include <algorithm>

namespace sluice::dist {

Result<std::vector<std::vector<int>>> PlaceSubtasks(const runtime::DataflowGraph& graph,
                                                    const std::vector<int>& slots) {
  // The owner of each slot, slots taken worker by worker in turn.
  std::vector<int> slot_owner;
  const int most = slots.empty() ? 0 : *std::max_element(slots.begin(), slots.end());
  for (int round = 0; round < most; ++round) {
    for (size_t w = 0; w < slots.size(); ++w) {
      if (slots[w] > round) slot_owner.push_back(static_cast<int>(w));
    }
  }
  std::vector<std::vector<int>> out(graph.nodes.size());
  for (const auto& node : graph.nodes) {
    if (node.id < 0 || static_cast<size_t>(node.id) >= graph.nodes.size()) {
      return Status::Internal("node id {} out of range", node.id);
    }
    if (static_cast<size_t>(node.parallelism) > slot_owner.size()) {
      return Status::User(
          "node {} ({}) runs {} subtasks, but the {} workers offer {} slots in all; start more "
          "workers or give them more --slots, or lower the parallelism",
          node.id, node.name(), node.parallelism, slots.size(), slot_owner.size());
    }
    auto& placed = out[static_cast<size_t>(node.id)];
    for (int s = 0; s < node.parallelism; ++s) placed.push_back(slot_owner[static_cast<size_t>(s)]);
  }
  return out;
}

}  // namespace sluice::dist
