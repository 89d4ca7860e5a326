// mode_of(v BIGINT) RETURNS BIGINT: the most frequent non-NULL value (the smallest of those
// tied), NULL when there is none. Retractable; its state (a std::map) checkpoints through
// serialize() and deserialize().
#include <cstring>
#include <map>
#include <stdexcept>

struct mode_of {
  std::map<int64_t, int64_t> counts;
  void update(int64_t v) { ++counts[v]; }
  void retract(int64_t v) {
    if (--counts[v] == 0) counts.erase(v);
  }
  void merge(const mode_of& o) {
    for (const auto& [v, c] : o.counts) {
      if ((counts[v] += c) == 0) counts.erase(v);
    }
  }
  std::optional<int64_t> finish() const {
    std::optional<int64_t> best;
    int64_t best_count = 0;
    for (const auto& [v, c] : counts) {
      if (c > best_count) {
        best = v;
        best_count = c;
      }
    }
    return best;
  }
  void serialize(std::string& out) const {
    for (const auto& [v, c] : counts) {
      out.append(reinterpret_cast<const char*>(&v), sizeof(v));
      out.append(reinterpret_cast<const char*>(&c), sizeof(c));
    }
  }
  void deserialize(std::string_view in) {
    if (in.size() % 16 != 0) throw std::runtime_error("corrupt mode_of state");
    for (size_t i = 0; i < in.size(); i += 16) {
      int64_t v = 0;
      int64_t c = 0;
      std::memcpy(&v, in.data() + i, 8);
      std::memcpy(&c, in.data() + i + 8, 8);
      counts[v] = c;
    }
  }
};
