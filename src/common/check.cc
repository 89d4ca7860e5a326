#include "common/check.h"

namespace sluice::detail {
void CheckFailed(const char* expr, const char* file, int line, const char* msg) {
  std::fprintf(stderr, "sluice: internal invariant broken at %s:%d: %s (%s)\n", file, line, msg,
               expr);
  std::abort();
}
}  // namespace sluice::detail
