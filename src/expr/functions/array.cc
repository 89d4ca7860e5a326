// Array functions. Arrays are one-dimensional lists (Arrow layout: int32 offsets into one
// element column), so Postgres' dimension arguments accept only 1. Element comparisons use the
// type-dispatched comparators of row_access.h, resolved once per batch.

#include <string>
#include <vector>

#include "expr/cast.h"
#include "expr/functions/overload.h"
#include "expr/functions/row_access.h"
#include "expr/functions/row_loops.h"
#include "expr/functions/string_util.h"
#include "expr/kernel_util.h"

namespace sluice::expr {
namespace {

const DataType kText = types::Utf8();
const DataType kInt = types::Int32();
const DataType kBigint = types::Int64();

// The list type of an array argument; an untyped NULL counts as TEXT[].
std::optional<DataType> ArrayArgumentType(const DataType& t) {
  if (t.id() == TypeId::kList) return t;
  if (t.id() == TypeId::kNull) return DataType::List(kText);
  return std::nullopt;
}

// (array, element) shapes: both unified to T[] and T.
Result<DataType> CommonElementType(const BindInput& in, size_t array_arg, size_t element_arg) {
  const DataType& a = in.types[array_arg];
  const DataType& e = in.types[element_arg];
  if (a.id() == TypeId::kNull) return e.id() == TypeId::kNull ? kText : e;
  if (a.id() != TypeId::kList) {
    return Status::User("{}(): argument {} must be an array, not {}", in.name, array_arg + 1,
                        a.ToString());
  }
  if (e.id() == TypeId::kNull) return a.element();
  auto common = CommonSuperType(a.element(), e);
  if (!common.ok()) {
    return Status::User("{}(): cannot use a value of type {} with an array of {}", in.name,
                        e.ToString(), a.element().ToString());
  }
  return *common;
}

// ---------------------------------------------------------------------------------------------
// Sizes.

Status CardinalityKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                         ColumnPtr* out) {
  const int32_t* o = args[0]->offsets();
  auto col = Column::MakeFixed(kInt, rows);
  int32_t* r = col->mutable_raw<int32_t>();
  for (int64_t i = 0; i < rows; ++i) r[i] = o[i + 1] - o[i];
  col->validity = args[0]->validity;
  *out = col;
  return Status::Ok();
}

enum class DimensionQuery { kLength, kLower, kUpper };

// array_length/array_lower/array_upper(arr, dim): NULL for an empty array or a dimension other
// than 1, as Postgres answers for dimensions an array does not have.
Kernel DimensionKernel(DimensionQuery query) {
  return [query](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                 ColumnPtr* out) -> Status {
    const int32_t* o = args[0]->offsets();
    const int64_t* dim = args[1]->raw<int64_t>();
    auto op = [&](int64_t i, int32_t* r) {
      int32_t n = o[i + 1] - o[i];
      if (dim[i] != 1 || n == 0) return false;
      *r = query == DimensionQuery::kLower ? 1 : n;
      return true;
    };
    return StoreResult(MapFixedRows<int32_t>(args, rows, kInt, op), out);
  };
}

Status NdimsKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                   ColumnPtr* out) {
  const int32_t* o = args[0]->offsets();
  auto op = [&](int64_t i, int32_t* r) {
    *r = 1;
    return o[i + 1] > o[i];
  };
  return StoreResult(MapFixedRows<int32_t>(args, rows, kInt, op), out);
}

BindFn ArrayOnly(DataType ret, Kernel kernel, std::vector<DataType> extra = {}) {
  return [ret, kernel, extra](const BindInput& in) -> Result<BoundFunction> {
    std::optional<DataType> array =
        in.types.size() == 1 + extra.size() ? ArrayArgumentType(in.types[0]) : std::nullopt;
    bool ok = array.has_value();
    for (size_t k = 0; ok && k < extra.size(); ++k) ok = ConvertsTo(in.types[k + 1], extra[k]);
    if (!ok) {
      std::string accepted = "(array";
      for (const auto& t : extra) accepted += ", " + t.ToString();
      return NoMatchingSignature(in.name, in, accepted + ")");
    }
    BoundFunction fn;
    fn.arg_types = {*array};
    fn.arg_types.insert(fn.arg_types.end(), extra.begin(), extra.end());
    fn.return_type = ret;
    fn.kernel = kernel;
    return fn;
  };
}

// ---------------------------------------------------------------------------------------------
// Searching.

// array_contains/array_has(arr, x): true when some element equals x (false, not NULL, when
// none does, even if the array holds NULLs).
Status ContainsKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                      ColumnPtr* out) {
  const Column& arr = *args[0];
  const Column& items = *arr.children[0];
  const Column& x = *args[1];
  const int32_t* o = arr.offsets();
  return VisitComparator(x.type, [&](auto cmp) {
    auto op = [&](int64_t i, bool* r) {
      *r = false;
      for (int32_t j = o[i]; j < o[i + 1] && !*r; ++j) {
        *r = items.IsValid(j) && cmp.Compare(items, j, x, i) == 0;
      }
    };
    return StoreResult(MapBoolRows(args, rows, op), out);
  });
}

// array_position(arr, x[, start]): 1-based position of the first element IS NOT DISTINCT FROM x
// at or after `start`, NULL when there is none.
Status PositionKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                      ColumnPtr* out) {
  const Column& arr = *args[0];
  const Column& items = *arr.children[0];
  const Column& x = *args[1];
  const int64_t* start = args.size() > 2 ? args[2]->raw<int64_t>() : nullptr;
  const int32_t* o = arr.offsets();
  // Only the array and start decide NULL-ness up front; a NULL x looks for a NULL element.
  std::vector<ColumnPtr> gate = {args[0]};
  if (args.size() > 2) gate.push_back(args[2]);
  return VisitComparator(x.type, [&](auto cmp) {
    auto op = [&](int64_t i, int32_t* r) {
      int64_t first = start != nullptr ? std::max<int64_t>(start[i], 1) : 1;
      for (int64_t k = first - 1; k < o[i + 1] - o[i]; ++k) {
        int64_t j = o[i] + k;
        bool equal =
            x.IsNull(i) ? items.IsNull(j) : items.IsValid(j) && cmp.Compare(items, j, x, i) == 0;
        if (equal) {
          *r = static_cast<int32_t>(k + 1);
          return true;
        }
      }
      return false;
    };
    return StoreResult(MapFixedRows<int32_t>(gate, rows, kInt, op), out);
  });
}

Result<BoundFunction> BindArrayElement(const BindInput& in, DataType ret, Kernel kernel,
                                       bool null_propagating, bool with_start) {
  size_t n = in.types.size();
  bool arity_ok = n == 2 || (with_start && n == 3);
  if (!arity_ok || !ArrayArgumentType(in.types[0]) ||
      (n == 3 && !ConvertsTo(in.types[2], kBigint))) {
    return NoMatchingSignature(in.name, in,
                               with_start ? "(T[], T) or (T[], T, BIGINT)" : "(T[], T)");
  }
  auto t = CommonElementType(in, 0, 1);
  if (!t.ok()) return t.status();
  BoundFunction fn;
  fn.arg_types = {DataType::List(*t), *t};
  if (n == 3) fn.arg_types.push_back(kBigint);
  fn.return_type = ret.id() == TypeId::kNull ? DataType::List(*t) : ret;
  fn.kernel = kernel;
  fn.null_propagating = null_propagating;
  return fn;
}

// ---------------------------------------------------------------------------------------------
// Building arrays.

// make_array(a, b, ...): the binder's ARRAY[...]; NULL arguments become NULL elements.
Result<BoundFunction> BindMakeArray(const BindInput& in) {
  if (in.types.empty()) {
    return Status::User(
        "cannot determine the type of an empty array; cast it, e.g. "
        "ARRAY[]::INT[]");
  }
  auto common = CommonArgumentType(in);
  if (!common.ok()) return common.status();
  DataType t = common->id() == TypeId::kNull ? kText : *common;
  BoundFunction fn;
  fn.arg_types.assign(in.types.size(), t);
  fn.return_type = DataType::List(t);
  fn.null_propagating = false;
  fn.kernel = [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                 ColumnPtr* out) -> Status {
    ColumnBuilder b(f.return_type);
    b.Reserve(rows);
    for (int64_t i = 0; i < rows; ++i) {
      for (const auto& a : args) AppendFrom(b.element_builder(), *a, i);
      b.FinishListRow();
    }
    *out = b.Finish();
    return Status::Ok();
  };
  return fn;
}

// array_fill(x, ARRAY[n]): n copies of x (one dimension, as every array here). A NULL
// dimension array gives NULL.
Result<BoundFunction> BindArrayFill(const BindInput& in) {
  if (in.types.size() != 2 || !ArrayArgumentType(in.types[1]) ||
      (in.types[1].id() == TypeId::kList && !ConvertsTo(in.types[1].element(), kBigint))) {
    return NoMatchingSignature(in.name, in, "(T, INT[])");
  }
  DataType t = in.types[0].id() == TypeId::kNull ? kText : in.types[0];
  BoundFunction fn;
  fn.arg_types = {t, DataType::List(kBigint)};
  fn.return_type = DataType::List(t);
  fn.null_propagating = false;
  fn.kernel = [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                 ColumnPtr* out) -> Status {
    const Column& dims = *args[1];
    const int32_t* o = dims.offsets();
    const Column& sizes = *dims.children[0];
    ColumnBuilder b(f.return_type);
    b.Reserve(rows);
    for (int64_t i = 0; i < rows; ++i) {
      if (dims.IsNull(i)) {
        b.AppendNull();
        continue;
      }
      if (o[i + 1] - o[i] != 1 || sizes.IsNull(o[i])) {
        return Status::User(
            "array_fill(): the dimension array must hold one length (arrays have one "
            "dimension)");
      }
      const int64_t n = sizes.raw<int64_t>()[o[i]];
      if (n < 0) return Status::User("array_fill(): the length {} is negative", n);
      for (int64_t k = 0; k < n; ++k) AppendFrom(b.element_builder(), *args[0], i);
      b.FinishListRow();
    }
    *out = b.Finish();
    return Status::Ok();
  };
  return fn;
}

void AppendElements(ColumnBuilder* elements, const Column& arr, int64_t i) {
  if (arr.IsNull(i)) return;
  const int32_t* o = arr.offsets();
  for (int32_t j = o[i]; j < o[i + 1]; ++j) AppendFrom(elements, *arr.children[0], j);
}

// array_append(arr, x), array_prepend(x, arr), array_cat(a, b): a NULL array counts as empty.
Kernel ConcatArraysKernel(int array_args_mask) {
  return [array_args_mask](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                           ColumnPtr* out) -> Status {
    ColumnBuilder b(f.return_type);
    b.Reserve(rows);
    for (int64_t i = 0; i < rows; ++i) {
      bool all_null_arrays = array_args_mask == 3 && args[0]->IsNull(i) && args[1]->IsNull(i);
      if (all_null_arrays) {
        b.AppendNull();
        continue;
      }
      for (size_t k = 0; k < 2; ++k) {
        if (array_args_mask & (1 << k)) {
          AppendElements(b.element_builder(), *args[k], i);
        } else {
          AppendFrom(b.element_builder(), *args[k], i);
        }
      }
      b.FinishListRow();
    }
    *out = b.Finish();
    return Status::Ok();
  };
}

Result<BoundFunction> BindArrayCat(const BindInput& in) {
  if (in.types.size() != 2 || !ArrayArgumentType(in.types[0]) || !ArrayArgumentType(in.types[1])) {
    return NoMatchingSignature(in.name, in, "(T[], T[])");
  }
  auto common = CommonArgumentType(in);
  if (!common.ok()) return common.status();
  DataType t = common->id() == TypeId::kNull ? DataType::List(kText) : *common;
  BoundFunction fn;
  fn.arg_types = {t, t};
  fn.return_type = t;
  fn.null_propagating = false;
  fn.kernel = ConcatArraysKernel(3);
  return fn;
}

Result<BoundFunction> BindPrepend(const BindInput& in) {
  if (in.types.size() != 2 || !ArrayArgumentType(in.types[1])) {
    return NoMatchingSignature(in.name, in, "(T, T[])");
  }
  auto t = CommonElementType(in, 1, 0);
  if (!t.ok()) return t.status();
  BoundFunction fn;
  fn.arg_types = {*t, DataType::List(*t)};
  fn.return_type = DataType::List(*t);
  fn.null_propagating = false;
  fn.kernel = ConcatArraysKernel(2);
  return fn;
}

// array_remove(arr, x): every element IS NOT DISTINCT FROM x removed.
Status RemoveKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                    ColumnPtr* out) {
  const Column& arr = *args[0];
  const Column& items = *arr.children[0];
  const Column& x = *args[1];
  const int32_t* o = arr.offsets();
  ColumnBuilder b(f.return_type);
  b.Reserve(rows);
  VisitComparator(x.type, [&](auto cmp) {
    for (int64_t i = 0; i < rows; ++i) {
      if (arr.IsNull(i)) {
        b.AppendNull();
        continue;
      }
      for (int32_t j = o[i]; j < o[i + 1]; ++j) {
        bool equal =
            x.IsNull(i) ? items.IsNull(j) : items.IsValid(j) && cmp.Compare(items, j, x, i) == 0;
        if (!equal) AppendFrom(b.element_builder(), items, j);
      }
      b.FinishListRow();
    }
  });
  *out = b.Finish();
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Text conversion.

// The elements as text: string elements as they are, others cast to TEXT once per batch.
Result<ColumnPtr> ElementsAsText(const Column& arr) {
  const ColumnPtr& items = arr.children[0];
  if (items->type.is_string_like()) return items;
  return CastColumn(items, kText);
}

// array_to_string(arr, delim[, null_text]): NULL elements are skipped unless null_text is
// given.
Status ArrayToStringKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                           ColumnPtr* out) {
  const Column& arr = *args[0];
  auto text = ElementsAsText(arr);
  if (!text.ok()) return text.status();
  const Column& items = **text;
  const Column& delim = *args[1];
  const Column* null_text = args.size() > 2 ? args[2].get() : nullptr;
  const int32_t* o = arr.offsets();
  auto op = [&](int64_t i, std::string* r) {
    bool first = true;
    for (int32_t j = o[i]; j < o[i + 1]; ++j) {
      std::string_view piece;
      if (items.IsNull(j)) {
        if (null_text == nullptr) continue;
        piece = null_text->GetString(i);
      } else {
        piece = items.GetString(j);
      }
      if (!first) r->append(delim.GetString(i));
      r->append(piece);
      first = false;
    }
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

// string_to_array(s, delim[, null_text]): a NULL delimiter splits into characters, an empty one
// yields the whole string; pieces equal to null_text become NULL; '' gives an empty array.
Status StringToArrayKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                           ColumnPtr* out) {
  const Column& s = *args[0];
  const Column& delim = *args[1];
  const Column* null_text = args.size() > 2 ? args[2].get() : nullptr;
  ColumnBuilder b(f.return_type);
  b.Reserve(rows);
  for (int64_t i = 0; i < rows; ++i) {
    if (s.IsNull(i)) {
      b.AppendNull();
      continue;
    }
    std::string_view v = s.GetString(i);
    bool has_null_text = null_text != nullptr && null_text->IsValid(i);
    std::string_view nt = has_null_text ? null_text->GetString(i) : std::string_view();
    ColumnBuilder* e = b.element_builder();
    auto emit = [&](std::string_view piece) {
      if (has_null_text && piece == nt) {
        e->AppendNull();
      } else {
        e->AppendString(piece);
      }
    };
    if (!v.empty()) {
      if (delim.IsNull(i)) {
        for (size_t pos = 0; pos < v.size();) {
          size_t end = Utf8CharEnd(v, pos);
          emit(v.substr(pos, end - pos));
          pos = end;
        }
      } else if (std::string_view d = delim.GetString(i); d.empty()) {
        emit(v);
      } else {
        size_t pos = 0;
        for (size_t at = v.find(d); at != std::string_view::npos; at = v.find(d, pos)) {
          emit(v.substr(pos, at - pos));
          pos = at + d.size();
        }
        emit(v.substr(pos));
      }
    }
    b.FinishListRow();
  }
  *out = b.Finish();
  return Status::Ok();
}

}  // namespace

void RegisterArrayFunctions(FunctionRegistry* r) {
  r->Register("make_array", BindMakeArray);
  r->Register("cardinality", ArrayOnly(kInt, CardinalityKernel));
  r->Register("array_length", ArrayOnly(kInt, DimensionKernel(DimensionQuery::kLength), {kBigint}));
  r->Register("array_lower", ArrayOnly(kInt, DimensionKernel(DimensionQuery::kLower), {kBigint}));
  r->Register("array_upper", ArrayOnly(kInt, DimensionKernel(DimensionQuery::kUpper), {kBigint}));
  r->Register("array_ndims", ArrayOnly(kInt, NdimsKernel));
  r->Register("array_to_string", [](const BindInput& in) -> Result<BoundFunction> {
    if (in.types.size() == 3) return ArrayOnly(kText, ArrayToStringKernel, {kText, kText})(in);
    return ArrayOnly(kText, ArrayToStringKernel, {kText})(in);
  });
  r->Register("string_to_array", [](const BindInput& in) -> Result<BoundFunction> {
    auto fn = BindOverloads(
        in, {Signature{{kText, kText}, DataType::List(kText), StringToArrayKernel, false},
             Signature{{kText, kText, kText}, DataType::List(kText), StringToArrayKernel, false}});
    return fn;
  });
  r->Register("array_contains", [](const BindInput& in) {
    return BindArrayElement(in, types::Bool(), ContainsKernel, true, false);
  });
  r->Alias("array_has", "array_contains");
  r->Register("array_position", [](const BindInput& in) {
    return BindArrayElement(in, kInt, PositionKernel, false, true);
  });
  r->Register("array_append", [](const BindInput& in) {
    return BindArrayElement(in, DataType(), ConcatArraysKernel(1), false, false);
  });
  r->Register("array_prepend", BindPrepend);
  r->Register("array_cat", BindArrayCat);
  r->Register("array_fill", BindArrayFill);
  r->Register("array_remove", [](const BindInput& in) {
    return BindArrayElement(in, DataType(), RemoveKernel, false, false);
  });
}

}  // namespace sluice::expr
