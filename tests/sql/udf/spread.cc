// spread(v BIGINT) RETURNS BIGINT: max - min of the non-NULL values, NULL when there are none.
// A trivially copyable state: Sluice checkpoints its bytes. No retract(): min and max cannot
// forget a value.
#include <algorithm>

struct spread {
  int64_t lo = 0;
  int64_t hi = 0;
  int64_t n = 0;
  void update(int64_t v) {
    lo = n == 0 ? v : std::min(lo, v);
    hi = n == 0 ? v : std::max(hi, v);
    ++n;
  }
  void merge(const spread& o) {
    if (o.n == 0) return;
    lo = n == 0 ? o.lo : std::min(lo, o.lo);
    hi = n == 0 ? o.hi : std::max(hi, o.hi);
    n += o.n;
  }
  std::optional<int64_t> finish() const {
    if (n == 0) return std::nullopt;
    return hi - lo;
  }
};
