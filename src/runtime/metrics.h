#pragma once
// Counters an operator keeps; read by the runtime for logs and the end-of-run report.

#include <atomic>
#include <cstdint>
#include <string>

namespace sluice::runtime {

struct OperatorMetrics {
  std::string name;
  std::atomic<int64_t> rows_in{0};
  std::atomic<int64_t> rows_out{0};
  std::atomic<int64_t> bad_rows_dropped{0};  // bad_data = 'drop'
  std::atomic<int64_t> late_rows_dropped{0};
};

}  // namespace sluice::runtime
