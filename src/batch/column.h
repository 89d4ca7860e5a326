#pragma once
// Column: one array in the Arrow memory layout, so it can be exported through the Arrow C Data
// Interface without copying.
//   validity  bitmap, bit i set = row i is not NULL; null buffer pointer = no NULLs
//   values    fixed-width values; for kBool a bitmap; for strings and lists int32 offsets
//             (length + 1 entries)
//   data      string bytes (kUtf8, kJson, kBinary)
//   children  struct fields (one per field), list element array (one)
// Columns are immutable once shared (ColumnPtr is shared_ptr<const Column>); slicing copies.

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "batch/buffer.h"
#include "types/data_type.h"
#include "types/value.h"

namespace sluice::batch {

using types::DataType;
using types::TypeId;

struct Column;
using ColumnPtr = std::shared_ptr<const Column>;
using MutableColumnPtr = std::shared_ptr<Column>;

struct Column {
  DataType type;
  int64_t length = 0;
  BufferPtr validity;
  BufferPtr values;
  BufferPtr data;
  std::vector<ColumnPtr> children;

  bool has_nulls() const { return validity != nullptr; }
  bool IsNull(int64_t i) const { return validity && !GetBit(validity->data(), i); }
  bool IsValid(int64_t i) const { return !IsNull(i); }
  int64_t CountNulls() const;

  template <typename T>
  const T* raw() const {
    return values->as<T>();
  }
  template <typename T>
  T* mutable_raw() {
    return values->as<T>();
  }
  bool GetBool(int64_t i) const { return GetBit(values->data(), i); }
  const int32_t* offsets() const { return values->as<int32_t>(); }
  std::string_view GetString(int64_t i) const {
    const int32_t* o = offsets();
    return {reinterpret_cast<const char*>(data->data()) + o[i],
            static_cast<size_t>(o[i + 1] - o[i])};
  }

  // Slow path, for tests, plan printing and casts of constants.
  types::Value GetValue(int64_t i) const;

  // Allocates a fixed-width (or bool) column of `length` rows, values uninitialized,
  // all valid.
  static MutableColumnPtr MakeFixed(const DataType& type, int64_t length);
  // A validity bitmap, all bits set, for `length` rows.
  static BufferPtr MakeAllValidBitmap(int64_t length);
  // A column of `length` NULLs of any type.
  static ColumnPtr MakeNull(const DataType& type, int64_t length);
  // A column repeating one value.
  static ColumnPtr MakeConstant(const types::Value& value, int64_t length);
};

// Gathers rows `indices[0..n)` of `column` into a new column.
ColumnPtr Take(const Column& column, const int32_t* indices, int64_t n);
// Rows whose bit in `selection` (a kBool column: true and not NULL) is set.
ColumnPtr FilterColumn(const Column& column, const std::vector<int32_t>& selected);
// Concatenates columns of one type.
ColumnPtr Concat(const std::vector<ColumnPtr>& columns);
// Three-way comparison (-1, 0, 1) of the non-NULL rows i and j of one column, in the order of
// the column's type (strings bytewise); NULLs are the caller's to place.
int CompareNonNullRows(const Column& column, int64_t i, int64_t j);

}  // namespace sluice::batch
