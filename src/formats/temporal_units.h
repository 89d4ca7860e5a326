#pragma once
// Units of JSON integers read into temporal columns. Debezium writes PostgreSQL's temporal
// types as integers whose unit only the message's schema names (io.debezium.time.MicroTimestamp
// is epoch microseconds, Date days since the epoch, MicroTime microseconds since midnight, ...);
// `json` reads them as json.timestamp_format says. Internal to the formats module.

#include <cstdint>
#include <string_view>

#include "formats/format.h"
#include "types/data_type.h"

namespace sluice::formats {

// kNone: integers are refused.
enum class IntegerTimeUnit : uint8_t { kNone, kDays, kSeconds, kMillis, kMicros, kNanos };

// What an integer in a column of `type` means when no schema says: `json` reads integers into
// TIMESTAMP only with an explicit json.timestamp_format; `debezium_json` reads them as
// Debezium encodes PostgreSQL's defaults (timestamp(6) as MicroTimestamp unless the option is
// given, date as Date, time(6) as MicroTime).
IntegerTimeUnit DefaultIntegerUnit(const types::DataType& type, const FormatOptions& options);

// `n` in `unit` as microseconds (since the epoch or since midnight); false on overflow.
// Nanoseconds round down.
bool IntegerToMicros(int64_t n, IntegerTimeUnit unit, int64_t* micros);
// The same for a JSON number with a fraction.
double MicrosPerUnit(IntegerTimeUnit unit);

// The unit of a Debezium or Kafka Connect logical type name ("io.debezium.time.Date"); kNone
// for every other name, ZonedTimestamp included (an ISO 8601 string).
IntegerTimeUnit UnitOfSchemaName(std::string_view name);

}  // namespace sluice::formats
