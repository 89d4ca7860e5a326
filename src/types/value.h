#pragma once
// A single typed SQL value: literals, constant folding, tests. Not for hot paths.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "types/data_type.h"

namespace sluice::types {

using int128_t = __int128;

class Value {
 public:
  // Physical payloads by type: kBool→bool; signed ints, kDate (days), kTime, kTimestamp (µs)
  // → int64_t; unsigned → uint64_t; floats → double; kDecimal → int128_t (scaled);
  // strings/json/binary → std::string; kInterval → Interval; list → vector (elements);
  // struct → vector (fields in order).
  using Payload = std::variant<std::monostate, bool, int64_t, uint64_t, double, int128_t,
                               std::string, Interval, std::vector<Value>>;

  Value() = default;  // untyped NULL
  static Value Null(DataType type) { return Value(std::move(type), std::monostate{}); }
  static Value Boolean(bool v) { return Value(DataType(TypeId::kBool), v); }
  static Value Int(DataType type, int64_t v) { return Value(std::move(type), v); }
  static Value Int64(int64_t v) { return Value(DataType(TypeId::kInt64), v); }
  static Value UInt(DataType type, uint64_t v) { return Value(std::move(type), v); }
  static Value Double(double v) { return Value(DataType(TypeId::kFloat64), v); }
  static Value Float(DataType type, double v) { return Value(std::move(type), v); }
  static Value Decimal(DataType type, int128_t v) { return Value(std::move(type), v); }
  static Value String(std::string v) { return Value(DataType(TypeId::kUtf8), std::move(v)); }
  static Value Bytes(DataType type, std::string v) { return Value(std::move(type), std::move(v)); }
  static Value Timestamp(int64_t micros) { return Value(DataType(TypeId::kTimestamp), micros); }
  static Value Date(int64_t days) { return Value(DataType(TypeId::kDate), days); }
  static Value Time(int64_t micros) { return Value(DataType(TypeId::kTime), micros); }
  static Value IntervalValue(Interval v) { return Value(DataType(TypeId::kInterval), v); }
  static Value Nested(DataType type, std::vector<Value> children) {
    return Value(std::move(type), std::move(children));
  }

  const DataType& type() const { return type_; }
  bool is_null() const { return std::holds_alternative<std::monostate>(payload_); }
  bool bool_value() const { return std::get<bool>(payload_); }
  int64_t int_value() const { return std::get<int64_t>(payload_); }
  uint64_t uint_value() const { return std::get<uint64_t>(payload_); }
  double double_value() const { return std::get<double>(payload_); }
  int128_t decimal_value() const { return std::get<int128_t>(payload_); }
  const std::string& string_value() const { return std::get<std::string>(payload_); }
  const Interval& interval_value() const { return std::get<Interval>(payload_); }
  const std::vector<Value>& children() const { return std::get<std::vector<Value>>(payload_); }
  const Payload& payload() const { return payload_; }

  // SQL-literal-like rendering for plans and messages: 42, 'abc', TIMESTAMP '...', NULL.
  std::string ToString() const;
  bool operator==(const Value& o) const { return type_ == o.type_ && payload_ == o.payload_; }

 private:
  Value(DataType type, Payload p) : type_(std::move(type)), payload_(std::move(p)) {}
  DataType type_;
  Payload payload_;
};

// Total order for values of one type: NULLs last, intervals by their length (a month is 30
// days), lists and structs element by element. Returns <0, 0 or >0.
int CompareValues(const Value& a, const Value& b);

// Formatting helpers shared by JSON output, casts to text and plan printing.
std::string FormatTimestamp(int64_t micros);    // 2023-10-09T17:13:40.200 (ISO, 'T', no zone)
std::string FormatDate(int64_t days);           // 2023-10-09
std::string FormatTime(int64_t micros);         // 17:13:40.2
std::string FormatInterval(const Interval& v);  // PostgreSQL style: 1 day 02:00:00
std::string FormatDecimal(int128_t v, int scale);
// Days since epoch <-> civil date.
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d);

}  // namespace sluice::types
