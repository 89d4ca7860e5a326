#pragma once
// Casts between SQL types, with PostgreSQL's rules for what is implicit.

#include "batch/column.h"
#include "common/status.h"
#include "types/value.h"

namespace sluice::expr {

using batch::ColumnPtr;
using types::DataType;
using types::Value;

// True when `from` converts to `to` without an explicit CAST (int → bigint, int → double,
// text → timestamp for literals is *not* implicit; NULL → anything is).
bool CanCastImplicitly(const DataType& from, const DataType& to);
// True when CAST(from AS to) is allowed at all.
bool CanCast(const DataType& from, const DataType& to);
// The smallest type both convert to implicitly (numeric promotion, NULL), or an error.
Result<DataType> CommonSuperType(const DataType& a, const DataType& b);

// Casts a column. A value that does not convert (CAST('abc' AS INT), overflow) is a user error
// naming the value, unless `try_cast`, in which case it becomes NULL.
Result<ColumnPtr> CastColumn(const ColumnPtr& input, const DataType& to, bool try_cast = false);
Result<Value> CastValue(const Value& input, const DataType& to, bool try_cast = false);

// Text forms shared with the JSON formats.
Result<int64_t> ParseTimestamp(std::string_view text);         // ISO 8601 / RFC 3339, to µs UTC
Result<int64_t> ParseDate(std::string_view text);              // YYYY-MM-DD, to days
Result<int64_t> ParseTime(std::string_view text);              // HH:MM:SS[.ffffff], to µs
Result<types::Interval> ParseInterval(std::string_view text);  // '1 minute', '2 days 3 hours'

}  // namespace sluice::expr
