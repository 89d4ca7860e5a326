#include "common/time.h"

#include <chrono>

namespace sluice {
ProcessingTime Now() {
  auto d = std::chrono::system_clock::now().time_since_epoch();
  return {std::chrono::duration_cast<std::chrono::microseconds>(d).count()};
}
}  // namespace sluice
