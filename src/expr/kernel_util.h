#pragma once
// Building blocks for vectorized kernels: loops over whole columns with the NULL bitmap
// handled once per batch.

#include <cstring>
#include <string>
#include <string_view>

#include "batch/column_builder.h"
#include "expr/function.h"

namespace sluice::expr {

using batch::Column;
using batch::ColumnBuilder;
using batch::MutableColumnPtr;

// The validity of a result that is NULL wherever any input is NULL (null buffer = no NULLs).
batch::BufferPtr CombineValidity(std::span<const ColumnPtr> args, int64_t rows);

// out[i] = op(a[i]) over a fixed-width column, NULLs propagated.
template <typename In, typename Out, typename Op>
ColumnPtr MapFixed(const ColumnPtr& a, const DataType& out_type, Op op) {
  auto out = Column::MakeFixed(out_type, a->length);
  const In* in = a->raw<In>();
  Out* o = out->mutable_raw<Out>();
  for (int64_t i = 0; i < a->length; ++i) o[i] = op(in[i]);
  out->validity = a->validity;
  return out;
}

// out[i] = op(a[i], b[i]), NULLs propagated.
template <typename A, typename B, typename Out, typename Op>
ColumnPtr MapFixed2(const ColumnPtr& a, const ColumnPtr& b, const DataType& out_type, Op op) {
  int64_t n = a->length;
  auto out = Column::MakeFixed(out_type, n);
  const A* x = a->raw<A>();
  const B* y = b->raw<B>();
  Out* o = out->mutable_raw<Out>();
  for (int64_t i = 0; i < n; ++i) o[i] = op(x[i], y[i]);
  ColumnPtr args[2] = {a, b};
  out->validity = CombineValidity(args, n);
  return out;
}

// Predicate over rows into a kBool column (bit-packed), NULLs propagated.
template <typename Op>
ColumnPtr MapToBool(std::span<const ColumnPtr> args, int64_t n, Op op) {
  auto out = Column::MakeFixed(types::Bool(), n);
  uint8_t* bits = out->values->data();
  for (int64_t i = 0; i < n; ++i) {
    if (op(i)) batch::SetBit(bits, i);
  }
  out->validity = CombineValidity(args, n);
  return out;
}

// Builds a string result row by row: op(i, &scratch) fills the text of row i; NULL rows of any
// argument are skipped. `op` returns false to make the row NULL.
template <typename Op>
ColumnPtr MapToString(std::span<const ColumnPtr> args, int64_t n, const DataType& out_type, Op op) {
  ColumnBuilder b(out_type);
  b.Reserve(n);
  std::string scratch;
  for (int64_t i = 0; i < n; ++i) {
    bool any_null = false;
    for (const auto& a : args) any_null |= a->IsNull(i);
    if (any_null) {
      b.AppendNull();
      continue;
    }
    scratch.clear();
    if (op(i, &scratch)) {
      b.AppendString(scratch);
    } else {
      b.AppendNull();
    }
  }
  return b.Finish();
}

// Bind helpers for the common shapes.
// Exactly `arity` arguments, each cast to `arg`, returning `ret`.
BindFn FixedSignature(std::vector<DataType> args, DataType ret, Kernel kernel,
                      bool null_propagating = true);
// Error for a call whose argument types no overload accepts.
Status NoMatchingSignature(const std::string& name, const BindInput& input,
                           const std::string& accepted);

// True when the argument type converts implicitly to `to` (NULL always does).
bool ConvertsTo(const DataType& from, const DataType& to);

}  // namespace sluice::expr
