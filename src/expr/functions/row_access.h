#pragma once
// Type-generic row access for the functions that work on any type (coalesce, greatest,
// make_array, array_position, ...): copying rows between columns of one type and comparing
// them. Comparison dispatches on the type once per batch (VisitComparator), so the row loops
// are instantiated per physical type and stay free of switches.

#include <cmath>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

#include "batch/column_builder.h"
#include "expr/function.h"

namespace sluice::expr {

// Appends row i of `c` (NULL or not) to `b`, which must have the same type.
void AppendFrom(batch::ColumnBuilder* b, const batch::Column& c, int64_t i);

// A column of `type` whose row r is row r of sources[source[r]], or NULL where source[r] < 0.
// Every source has type `type` and at least n rows.
ColumnPtr GatherRows(const DataType& type, std::span<const ColumnPtr> sources,
                     const int32_t* source, int64_t n);

// Comparators: Compare(a, i, b, j) < 0, 0, > 0 for rows known not to be NULL, both columns of
// one type. Orders follow PostgreSQL: NaN equals NaN and sorts above every other number,
// -0 equals 0, text compares bytewise (the C collation), intervals by their total span with a
// month taken as 30 days.
template <typename T>
struct FixedComparator {
  static int Compare(const batch::Column& a, int64_t i, const batch::Column& b, int64_t j) {
    T x = a.raw<T>()[i];
    T y = b.raw<T>()[j];
    return x < y ? -1 : (y < x ? 1 : 0);
  }
};

template <typename T>
struct FloatComparator {
  static int Compare(const batch::Column& a, int64_t i, const batch::Column& b, int64_t j) {
    T x = a.raw<T>()[i];
    T y = b.raw<T>()[j];
    bool xn = std::isnan(x);
    bool yn = std::isnan(y);
    if (xn || yn) return xn == yn ? 0 : (xn ? 1 : -1);
    return x < y ? -1 : (y < x ? 1 : 0);
  }
};

struct BoolComparator {
  static int Compare(const batch::Column& a, int64_t i, const batch::Column& b, int64_t j) {
    return static_cast<int>(a.GetBool(i)) - static_cast<int>(b.GetBool(j));
  }
};

struct StringComparator {
  static int Compare(const batch::Column& a, int64_t i, const batch::Column& b, int64_t j) {
    int c = a.GetString(i).compare(b.GetString(j));
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
};

struct IntervalComparator {
  static __int128 Span(const types::Interval& v) {
    return (static_cast<__int128>(v.months) * 30 + v.days) * 86400000000LL + v.micros;
  }
  static int Compare(const batch::Column& a, int64_t i, const batch::Column& b, int64_t j) {
    __int128 x = Span(a.raw<types::Interval>()[i]);
    __int128 y = Span(b.raw<types::Interval>()[j]);
    return x < y ? -1 : (y < x ? 1 : 0);
  }
};

// Lists and structs: equality only (0 = equal, 1 = different), through the slow Value path.
struct NestedEqualityComparator {
  static int Compare(const batch::Column& a, int64_t i, const batch::Column& b, int64_t j) {
    return a.GetValue(i) == b.GetValue(j) ? 0 : 1;
  }
};

// True when values of `t` have an order (greatest, least): every scalar type.
inline bool IsOrderable(const DataType& t) {
  return !t.is_nested() && t.id() != TypeId::kNull;
}

// Calls fn(Comparator{}) with the comparator for `t`.
template <typename Fn>
decltype(auto) VisitComparator(const DataType& t, Fn&& fn) {
  switch (t.id()) {
    case TypeId::kBool:
      return fn(BoolComparator{});
    case TypeId::kInt8:
      return fn(FixedComparator<int8_t>{});
    case TypeId::kInt16:
      return fn(FixedComparator<int16_t>{});
    case TypeId::kInt32:
    case TypeId::kDate:
      return fn(FixedComparator<int32_t>{});
    case TypeId::kInt64:
    case TypeId::kTime:
    case TypeId::kTimestamp:
      return fn(FixedComparator<int64_t>{});
    case TypeId::kUInt8:
      return fn(FixedComparator<uint8_t>{});
    case TypeId::kUInt16:
      return fn(FixedComparator<uint16_t>{});
    case TypeId::kUInt32:
      return fn(FixedComparator<uint32_t>{});
    case TypeId::kUInt64:
      return fn(FixedComparator<uint64_t>{});
    case TypeId::kFloat32:
      return fn(FloatComparator<float>{});
    case TypeId::kFloat64:
      return fn(FloatComparator<double>{});
    case TypeId::kDecimal:
      return fn(FixedComparator<__int128>{});
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary:
      return fn(StringComparator{});
    case TypeId::kInterval:
      return fn(IntervalComparator{});
    case TypeId::kNull:
    case TypeId::kList:
    case TypeId::kStruct:
      break;
  }
  return fn(NestedEqualityComparator{});
}

}  // namespace sluice::expr
