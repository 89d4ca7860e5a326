// The source of clamp() in cpp_scalar.test, read through CREATE FUNCTION ... AS FILE.
#include <algorithm>

int64_t clamp(int64_t x, int64_t lo, int64_t hi) {
  return std::clamp(x, lo, hi);
}
