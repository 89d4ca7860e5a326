#pragma once
// Logical types of Sluice SQL and their physical (Arrow) layout.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace sluice::types {

enum class TypeId : uint8_t {
  kNull,
  kBool,
  kInt8,
  kInt16,
  kInt32,
  kInt64,
  kUInt8,
  kUInt16,
  kUInt32,
  kUInt64,
  kFloat32,
  kFloat64,
  kDecimal,    // 128-bit scaled integer, precision <= 38
  kUtf8,       // TEXT / VARCHAR
  kJson,       // JSON text, stored like kUtf8
  kBinary,     // BYTEA
  kDate,       // int32 days since epoch
  kTime,       // int64 microseconds since midnight
  kTimestamp,  // int64 microseconds since epoch; TIMESTAMP, or TIMESTAMPTZ with_time_zone()
  kInterval,   // {int32 months, int32 days, int64 micros}
  kList,
  kStruct,
};

struct Field;

// A value type (cheap to copy for scalars; nested types hold their children).
class DataType {
 public:
  DataType() = default;
  explicit DataType(TypeId id) : id_(id) {}

  static DataType Decimal(int precision, int scale);
  static DataType List(DataType element);
  static DataType Struct(std::vector<Field> fields);
  // TIMESTAMPTZ: a kTimestamp (the same UTC microseconds) that prints with an offset. A flag
  // rather than a TypeId so every timestamp kernel serves both (docs/decisions/).
  static DataType TimestampTz();

  TypeId id() const { return id_; }
  int precision() const { return precision_; }
  int scale() const { return scale_; }
  const std::vector<Field>& fields() const;  // struct fields
  const DataType& element() const;           // list element
  // TIMESTAMPTZ rather than TIMESTAMP (a kTimestamp either way).
  bool with_time_zone() const { return with_time_zone_; }

  bool is_integer() const;
  bool is_signed_integer() const;
  bool is_unsigned_integer() const;
  bool is_floating() const { return id_ == TypeId::kFloat32 || id_ == TypeId::kFloat64; }
  bool is_numeric() const { return is_integer() || is_floating() || id_ == TypeId::kDecimal; }
  bool is_string_like() const {
    return id_ == TypeId::kUtf8 || id_ == TypeId::kJson || id_ == TypeId::kBinary;
  }
  bool is_nested() const { return id_ == TypeId::kList || id_ == TypeId::kStruct; }
  // Byte width of a fixed-width value, 0 for variable-width or nested types, and for kBool
  // (a bitmap).
  int byte_width() const;

  // SQL spelling: BIGINT, TEXT, TIMESTAMP, DECIMAL(10, 2), INT[], STRUCT<a INT, b TEXT>.
  std::string ToString() const;
  bool operator==(const DataType& other) const;
  bool operator!=(const DataType& other) const { return !(*this == other); }

 private:
  TypeId id_ = TypeId::kNull;
  int precision_ = 0;
  int scale_ = 0;
  bool with_time_zone_ = false;
  std::shared_ptr<const std::vector<Field>> children_;
};

struct Field {
  std::string name;
  DataType type;
  bool nullable = true;
  bool operator==(const Field& o) const { return name == o.name && type == o.type; }
};

// Interval value: months, days and microseconds kept apart, as in PostgreSQL.
struct Interval {
  int32_t months = 0;
  int32_t days = 0;
  int64_t micros = 0;
  bool operator==(const Interval&) const = default;
};

inline DataType Bool() {
  return DataType(TypeId::kBool);
}
inline DataType Int32() {
  return DataType(TypeId::kInt32);
}
inline DataType Int64() {
  return DataType(TypeId::kInt64);
}
inline DataType UInt64() {
  return DataType(TypeId::kUInt64);
}
inline DataType Float64() {
  return DataType(TypeId::kFloat64);
}
inline DataType Utf8() {
  return DataType(TypeId::kUtf8);
}
inline DataType Timestamp() {
  return DataType(TypeId::kTimestamp);
}

}  // namespace sluice::types
