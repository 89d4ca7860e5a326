#include "formats/temporal_units.h"

#include <map>

namespace sluice::formats {

IntegerTimeUnit DefaultIntegerUnit(const types::DataType& type, const FormatOptions& options) {
  bool debezium = options.format == "debezium_json";
  switch (type.id()) {
    case types::TypeId::kTimestamp:
      switch (options.timestamp_format) {
        case TimestampFormat::kUnixSeconds:
          return IntegerTimeUnit::kSeconds;
        case TimestampFormat::kUnixMillis:
          return IntegerTimeUnit::kMillis;
        case TimestampFormat::kUnixMicros:
          return IntegerTimeUnit::kMicros;
        case TimestampFormat::kRfc3339:
          return debezium && !options.timestamp_format_set ? IntegerTimeUnit::kMicros
                                                           : IntegerTimeUnit::kNone;
      }
      return IntegerTimeUnit::kNone;
    case types::TypeId::kDate:
      return debezium ? IntegerTimeUnit::kDays : IntegerTimeUnit::kNone;
    case types::TypeId::kTime:
      return debezium ? IntegerTimeUnit::kMicros : IntegerTimeUnit::kNone;
    default:
      return IntegerTimeUnit::kNone;
  }
}

bool IntegerToMicros(int64_t n, IntegerTimeUnit unit, int64_t* micros) {
  switch (unit) {
    case IntegerTimeUnit::kDays:
      return !__builtin_mul_overflow(n, int64_t{86400000000}, micros);
    case IntegerTimeUnit::kSeconds:
      return !__builtin_mul_overflow(n, int64_t{1000000}, micros);
    case IntegerTimeUnit::kMillis:
      return !__builtin_mul_overflow(n, int64_t{1000}, micros);
    case IntegerTimeUnit::kMicros:
      *micros = n;
      return true;
    case IntegerTimeUnit::kNanos:
      *micros = n / 1000 - (n % 1000 < 0 ? 1 : 0);  // floor, like PostgreSQL's truncation
      return true;
    case IntegerTimeUnit::kNone:
      break;
  }
  return false;
}

double MicrosPerUnit(IntegerTimeUnit unit) {
  switch (unit) {
    case IntegerTimeUnit::kDays:
      return 86400e6;
    case IntegerTimeUnit::kSeconds:
      return 1e6;
    case IntegerTimeUnit::kMillis:
      return 1e3;
    case IntegerTimeUnit::kMicros:
      return 1;
    case IntegerTimeUnit::kNanos:
      return 1e-3;
    case IntegerTimeUnit::kNone:
      break;
  }
  return 0;
}

IntegerTimeUnit UnitOfSchemaName(std::string_view name) {
  static const std::map<std::string_view, IntegerTimeUnit> kUnits = {
      {"io.debezium.time.Date", IntegerTimeUnit::kDays},
      {"io.debezium.time.Time", IntegerTimeUnit::kMillis},
      {"io.debezium.time.MicroTime", IntegerTimeUnit::kMicros},
      {"io.debezium.time.NanoTime", IntegerTimeUnit::kNanos},
      {"io.debezium.time.Timestamp", IntegerTimeUnit::kMillis},
      {"io.debezium.time.MicroTimestamp", IntegerTimeUnit::kMicros},
      {"io.debezium.time.NanoTimestamp", IntegerTimeUnit::kNanos},
      {"org.apache.kafka.connect.data.Date", IntegerTimeUnit::kDays},
      {"org.apache.kafka.connect.data.Time", IntegerTimeUnit::kMillis},
      {"org.apache.kafka.connect.data.Timestamp", IntegerTimeUnit::kMillis},
  };
  auto it = kUnits.find(name);
  return it == kUnits.end() ? IntegerTimeUnit::kNone : it->second;
}

}  // namespace sluice::formats
