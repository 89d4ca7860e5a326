#pragma once
// Per-batch loops for kernels that can fail or produce NULL from non-NULL input, the cases
// MapFixed/MapToString in kernel_util.h do not cover. NULL rows of the arguments are skipped
// (never handed to `op`), so garbage values behind NULLs can never raise errors.
//
// `op` is called as op(row, out) and may return:
//   void          the row's value was written
//   bool          false makes the row NULL
//   Status        a user error stops the batch
//   Result<bool>  both of the above

#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <utility>

#include "expr/kernel_util.h"

namespace sluice::expr {

namespace row_loops_internal {

template <typename Op, typename... A>
inline Status RunRow(Op& op, bool* is_null, A&&... a) {
  using R = decltype(op(std::forward<A>(a)...));
  if constexpr (std::is_void_v<R>) {
    op(std::forward<A>(a)...);
    *is_null = false;
    return Status::Ok();
  } else if constexpr (std::is_same_v<R, bool>) {
    *is_null = !op(std::forward<A>(a)...);
    return Status::Ok();
  } else if constexpr (std::is_same_v<R, Status>) {
    *is_null = false;
    return op(std::forward<A>(a)...);
  } else {
    static_assert(std::is_same_v<R, Result<bool>>,
                  "op must return void, bool, Status or "
                  "Result<bool>");
    Result<bool> r = op(std::forward<A>(a)...);
    if (!r.ok()) return r.status();
    *is_null = !*r;
    return Status::Ok();
  }
}

// Marks row i NULL in `validity`, allocating an all-valid bitmap first if there is none.
inline void MarkNull(batch::BufferPtr* validity, int64_t n, int64_t i) {
  if (!*validity) *validity = Column::MakeAllValidBitmap(n);
  batch::ClearBit((*validity)->data(), i);
}

}  // namespace row_loops_internal

// Moves a kernel's column result into `*out`: `return StoreResult(MapFixedRows(...), out);`.
inline Status StoreResult(Result<ColumnPtr> result, ColumnPtr* out) {
  if (!result.ok()) return result.status();
  *out = result.MoveValue();
  return Status::Ok();
}

// Fixed-width result of C++ type Out: op(i, Out* value).
template <typename Out, typename Op>
Result<ColumnPtr> MapFixedRows(std::span<const ColumnPtr> args, int64_t n, const DataType& type,
                               Op op) {
  auto out = Column::MakeFixed(type, n);
  batch::BufferPtr validity = CombineValidity(args, n);
  Out* o = out->template mutable_raw<Out>();
  for (int64_t i = 0; i < n; ++i) {
    o[i] = Out{};
    if (validity && !batch::GetBit(validity->data(), i)) continue;
    bool is_null = false;
    Status st = row_loops_internal::RunRow(op, &is_null, i, &o[i]);
    if (!st.ok()) return st;
    if (is_null) row_loops_internal::MarkNull(&validity, n, i);
  }
  out->validity = std::move(validity);
  return ColumnPtr(std::move(out));
}

// BOOLEAN result: op(i, bool* value).
template <typename Op>
Result<ColumnPtr> MapBoolRows(std::span<const ColumnPtr> args, int64_t n, Op op) {
  auto out = Column::MakeFixed(types::Bool(), n);
  batch::BufferPtr validity = CombineValidity(args, n);
  uint8_t* bits = out->values->data();
  for (int64_t i = 0; i < n; ++i) {
    if (validity && !batch::GetBit(validity->data(), i)) continue;
    bool value = false;
    bool is_null = false;
    Status st = row_loops_internal::RunRow(op, &is_null, i, &value);
    if (!st.ok()) return st;
    if (is_null) {
      row_loops_internal::MarkNull(&validity, n, i);
    } else if (value) {
      batch::SetBit(bits, i);
    }
  }
  out->validity = std::move(validity);
  return ColumnPtr(std::move(out));
}

// String-layout result (TEXT, JSON, BYTEA): op(i, std::string* value), `value` arrives empty.
// Fails instead of overflowing the int32 offsets when a batch's text passes 2 GiB.
template <typename Op>
Result<ColumnPtr> MapStringRows(std::string_view fn_name, std::span<const ColumnPtr> args,
                                int64_t n, const DataType& type, Op op) {
  ColumnBuilder b(type);
  b.Reserve(n);
  std::string scratch;
  batch::BufferPtr validity = CombineValidity(args, n);
  const uint8_t* v = validity ? validity->data() : nullptr;
  int64_t total = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (v && !batch::GetBit(v, i)) {
      b.AppendNull();
      continue;
    }
    scratch.clear();
    bool is_null = false;
    Status st = row_loops_internal::RunRow(op, &is_null, i, &scratch);
    if (!st.ok()) return st;
    if (is_null) {
      b.AppendNull();
      continue;
    }
    total += static_cast<int64_t>(scratch.size());
    if (total > std::numeric_limits<int32_t>::max()) {
      return Status::User("{}(): result too large ({} bytes of text in one batch)", fn_name, total);
    }
    b.AppendString(scratch);
  }
  return b.Finish();
}

}  // namespace sluice::expr
