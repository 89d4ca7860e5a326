#pragma once
// Batch sizing shared by the connectors' sources.

#include <cstdint>

namespace sluice::connectors {

// Rows per batch a source emits at most: large enough to amortize per-batch work downstream,
// small enough to keep latency and memory per batch low.
constexpr int64_t kDefaultBatchRows = 4096;

}  // namespace sluice::connectors
