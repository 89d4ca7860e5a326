#pragma once
// Durations as users write them: a number with a unit (250us, 500ms, 10s, 2m, 1h; a decimal
// number is allowed: 1.5s). Used by every option that takes a duration (--checkpoint-interval,
// an s3:// state dir's retry_timeout), so they all accept the same forms.

#include <cstdint>
#include <string_view>

#include "common/status.h"

namespace sluice {

// Microseconds, or a user error naming `what` ("--checkpoint-interval").
Result<int64_t> ParseDuration(std::string_view text, std::string_view what);

}  // namespace sluice
