#pragma once
// Date/time arithmetic shared with the arithmetic operators (timestamp ± interval,
// timestamp - timestamp), implemented in datetime.cc with PostgreSQL's rules.

#include <cstdint>

#include "common/status.h"
#include "types/data_type.h"

namespace sluice::expr {

// ts_micros + sign * iv (sign is +1 or -1). Months are added first on the calendar, clamping
// the day to the end of the month (Jan 31 + 1 month = Feb 28, or 29 in a leap year), then days,
// then microseconds, as Postgres does. A result outside the int64 microsecond range is a user
// error "timestamp out of range".
Result<int64_t> AddInterval(int64_t ts_micros, const types::Interval& iv, int sign);

// a - b as Postgres' timestamp subtraction does it: whole days plus the remaining time, with no
// months ('1 day 02:00:00'), both parts carrying the sign of the difference.
Result<types::Interval> TimestampDifference(int64_t a_micros, int64_t b_micros);

}  // namespace sluice::expr
