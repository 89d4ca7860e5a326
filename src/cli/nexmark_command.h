#pragma once
// `sluice nexmark generate`: the nexmark source's events as JSON lines, so that other engines
// can read exactly the input Sluice generates.

#include <cstdint>
#include <cstdio>

#include "common/status.h"

namespace sluice::cli {

struct NexmarkGenerateOptions {
  uint64_t events = 0;
  double rate = 0;  // nominal events/s for timestamps; 0: the generator's default (10000)
  uint64_t seed = 0;
};

// Writes events 0..events-1, one JSON object per line:
// {"person":{...}|null,"auction":{...}|null,"bid":{...}|null}.
Status NexmarkGenerate(const NexmarkGenerateOptions& options, std::FILE* out);

}  // namespace sluice::cli
