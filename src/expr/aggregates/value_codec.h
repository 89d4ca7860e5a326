#pragma once
// A compact binary form of single column values, for aggregates that keep values of any type
// (DISTINCT sets, array_agg, first_value, approx_distinct of nested types).
//
// Equal SQL values encode to equal bytes within one type (floats: -0 and 0 are one value, all
// NaNs are one value), so an encoding serves as a hash-set key. Intervals are kept as written:
// '1 month' and '30 days' stay two distinct values although they compare equal.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <type_traits>

#include "batch/column_builder.h"

namespace sluice::expr {

// Appends row `row` of `column`, NULL included, to `out`.
void EncodeValue(const batch::Column& column, int64_t row, std::string* out);
// Reads one value written by EncodeValue for the builder's type from the front of `in`,
// appends it to `builder` and advances `in`.
void DecodeValue(std::string_view* in, batch::ColumnBuilder* builder);

// True for the types whose values fit a 64-bit word (integers, floats, DATE, TIME, TIMESTAMP,
// BOOLEAN): their sets and hashes work on WordKey instead of encoded bytes.
bool HasWordKey(types::TypeId id);

template <typename T>
inline uint64_t WordKey(T v) {
  if constexpr (std::is_floating_point_v<T>) {
    double d = v;       // float widens exactly
    if (d == 0) d = 0;  // -0 == 0
    if (d != d) d = std::numeric_limits<double>::quiet_NaN();
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof(bits));
    return bits;
  } else if constexpr (std::is_signed_v<T>) {
    return static_cast<uint64_t>(static_cast<int64_t>(v));
  } else {
    return static_cast<uint64_t>(v);
  }
}

// Calls fn(i, key) for each non-NULL row i in [0, n) of a column whose type HasWordKey.
template <typename Fn>
void ForEachWordKey(const batch::Column& c, int64_t n, Fn&& fn) {
  const uint8_t* valid = c.validity ? c.validity->data() : nullptr;
  auto loop = [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* v = c.raw<T>();
    if (valid == nullptr) {
      for (int64_t i = 0; i < n; ++i) fn(i, WordKey(v[i]));
    } else {
      for (int64_t i = 0; i < n; ++i) {
        if (batch::GetBit(valid, i)) fn(i, WordKey(v[i]));
      }
    }
  };
  switch (c.type.id()) {
    case types::TypeId::kBool: {
      const uint8_t* bits = c.values->data();
      for (int64_t i = 0; i < n; ++i) {
        if (valid == nullptr || batch::GetBit(valid, i)) fn(i, uint64_t{batch::GetBit(bits, i)});
      }
      return;
    }
    case types::TypeId::kInt8:
      return loop(std::type_identity<int8_t>{});
    case types::TypeId::kInt16:
      return loop(std::type_identity<int16_t>{});
    case types::TypeId::kInt32:
    case types::TypeId::kDate:
      return loop(std::type_identity<int32_t>{});
    case types::TypeId::kInt64:
    case types::TypeId::kTime:
    case types::TypeId::kTimestamp:
      return loop(std::type_identity<int64_t>{});
    case types::TypeId::kUInt8:
      return loop(std::type_identity<uint8_t>{});
    case types::TypeId::kUInt16:
      return loop(std::type_identity<uint16_t>{});
    case types::TypeId::kUInt32:
      return loop(std::type_identity<uint32_t>{});
    case types::TypeId::kUInt64:
      return loop(std::type_identity<uint64_t>{});
    case types::TypeId::kFloat32:
      return loop(std::type_identity<float>{});
    case types::TypeId::kFloat64:
      return loop(std::type_identity<double>{});
    default:
      return;
  }
}

}  // namespace sluice::expr
