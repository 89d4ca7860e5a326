#include "runtime/operator_identity.h"

#include <algorithm>
#include <functional>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/checksum.h"

namespace sluice::runtime {

namespace {

std::string OneLine(std::string s) {
  std::replace(s.begin(), s.end(), '\n', ' ');
  std::replace(s.begin(), s.end(), '\r', ' ');
  return s;
}

}  // namespace

std::vector<CheckpointMetadata::Identity> OperatorIdentities(const DataflowGraph& graph) {
  std::vector<const NodeSpec*> by_id;
  for (const auto& node : graph.nodes) by_id.push_back(&node);
  std::sort(by_id.begin(), by_id.end(), [](auto* a, auto* b) { return a->id < b->id; });
  std::map<int, const NodeSpec*> node_of;
  for (const NodeSpec* n : by_id) node_of[n->id] = n;
  std::map<int, bool> has_output;
  for (const auto& e : graph.edges) has_output[e.from] = true;

  // The hash of operator `index` of node `id`'s chain, memoized; inputs first.
  std::map<std::pair<int, size_t>, std::string> memo;
  std::function<std::string(int, size_t)> hash_of;
  // What a consumer of that operator's output includes: its hash, and for a source the columns
  // it emits (the consumer refers to them by position).
  auto as_input = [&](int id, size_t index) {
    const NodeSpec& node = *node_of.at(id);
    std::string h = hash_of(id, index);
    if (index == 0 && node.chain[0]->is_source()) {
      auto it = graph.source_columns.find(id);
      h += "(" + (it == graph.source_columns.end() ? std::string() : it->second) + ")";
    }
    return h;
  };
  hash_of = [&](int id, size_t index) -> std::string {
    if (auto it = memo.find({id, index}); it != memo.end()) return it->second;
    const NodeSpec& node = *node_of.at(id);
    const OperatorFactory& f = *node.chain[index];
    std::string text = fmt::format("{}\x1f{}\x1f", f.name(), OneLine(f.Describe()));
    const bool sink = !has_output[id] && index + 1 == node.chain.size() && !f.is_source();
    if (!sink && index > 0) {
      text += "0:" + as_input(id, index - 1) + ";";
    } else if (!sink && !f.is_source()) {
      std::vector<std::string> inputs;
      for (const auto& e : graph.edges) {
        if (e.to != id || node_of.count(e.from) == 0) continue;
        const NodeSpec& from = *node_of.at(e.from);
        if (from.chain.empty()) continue;
        inputs.push_back(
            fmt::format("{}:{};", e.to_input, as_input(e.from, from.chain.size() - 1)));
      }
      std::sort(inputs.begin(), inputs.end());
      for (const auto& in : inputs) text += in;
    }
    std::string h = ChecksumHex(Checksum64(text));
    memo[{id, index}] = h;
    return h;
  };

  std::vector<CheckpointMetadata::Identity> out;
  for (const NodeSpec* n : by_id) {
    for (size_t i = 0; i < n->chain.size(); ++i) {
      CheckpointMetadata::Identity ident;
      ident.hash = hash_of(n->id, i);
      ident.description = OneLine(n->chain[i]->Describe());
      out.push_back(std::move(ident));
    }
  }
  return out;
}

StateMapping MapOperatorState(const CheckpointMetadata& old,
                              const std::vector<CheckpointMetadata::Identity>& now) {
  StateMapping m;
  m.old_of_new.assign(now.size(), std::nullopt);
  // Equal identities pair up in operator order.
  std::map<std::string, std::vector<int>> old_by_hash;
  for (size_t i = 0; i < old.identities.size(); ++i) {
    old_by_hash[old.identities[i].hash].push_back(static_cast<int>(i));
  }
  std::vector<bool> old_matched(old.identities.size(), false);
  for (size_t i = 0; i < now.size(); ++i) {
    auto it = old_by_hash.find(now[i].hash);
    if (it == old_by_hash.end() || it->second.empty()) {
      m.fresh.push_back(static_cast<int>(i));
      continue;
    }
    int o = it->second.front();
    it->second.erase(it->second.begin());
    m.old_of_new[i] = o;
    old_matched[static_cast<size_t>(o)] = true;
  }
  // Reasons: an unmatched old operator against the unmatched new ones of the same kind.
  std::vector<bool> fresh_used(now.size(), false);
  for (size_t o = 0; o < old.identities.size(); ++o) {
    const auto& ident = old.identities[o];
    if (old_matched[o] || !ident.stateful) continue;
    m.dropped.push_back(static_cast<int>(o));
    const std::string& kind = o < old.operators.size() ? old.operators[o] : ident.description;
    std::optional<int> same_text, same_kind;
    for (int n : m.fresh) {
      if (fresh_used[static_cast<size_t>(n)]) continue;
      const std::string& d = now[static_cast<size_t>(n)].description;
      if (!same_text && d == ident.description) same_text = n;
      if (!same_kind && d.compare(0, kind.size(), kind) == 0) same_kind = n;
    }
    if (same_text) {
      fresh_used[static_cast<size_t>(*same_text)] = true;
      m.reasons.push_back(
          fmt::format("'{}' is unchanged but its input changed (an operator upstream of it was "
                      "edited)",
                      ident.description));
    } else if (same_kind) {
      fresh_used[static_cast<size_t>(*same_kind)] = true;
      m.reasons.push_back(fmt::format("'{}' changed: it is now '{}'", ident.description,
                                      now[static_cast<size_t>(*same_kind)].description));
    } else {
      m.reasons.push_back(fmt::format("'{}' is not in the edited query", ident.description));
    }
  }
  return m;
}

Status RefuseDroppedState(int64_t checkpoint, const StateMapping& mapping,
                          const std::string& how_to_allow) {
  return Status::User(
      "the query changed since checkpoint {} was taken, and the state of {} operator{} of it "
      "has no place in the edited query: {}. State is kept for every operator whose "
      "definition and inputs are unchanged; {}",
      checkpoint, mapping.dropped.size(), mapping.dropped.size() == 1 ? "" : "s",
      fmt::join(mapping.reasons, "; "), how_to_allow);
}

}  // namespace sluice::runtime
