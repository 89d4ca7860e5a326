// coalesce, nullif, greatest, least: any type, arguments unified to their common super type.
// They decide per row which argument the result comes from (a source index), then gather once.

#include <vector>

#include "expr/functions/overload.h"
#include "expr/functions/row_access.h"
#include "expr/kernel_util.h"

namespace sluice::expr {
namespace {

// All arguments of one common type; NULL literals alone make TEXT, as in Postgres.
Result<DataType> BindVariadicCommon(const BindInput& in, size_t min_args) {
  if (in.types.size() < min_args) {
    return Status::User("{}() needs at least {} argument{}", in.name, min_args,
                        min_args == 1 ? "" : "s");
  }
  auto common = CommonArgumentType(in);
  if (!common.ok()) return common.status();
  if (common->id() == TypeId::kNull) return types::Utf8();
  return *common;
}

Result<BoundFunction> BindCoalesce(const BindInput& in) {
  auto t = BindVariadicCommon(in, 1);
  if (!t.ok()) return t.status();
  BoundFunction fn;
  fn.arg_types.assign(in.types.size(), *t);
  fn.return_type = *t;
  fn.null_propagating = false;
  fn.kernel = [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                 ColumnPtr* out) -> Status {
    std::vector<int32_t> source(static_cast<size_t>(rows), -1);
    int64_t missing = rows;
    for (size_t k = 0; k < args.size() && missing > 0; ++k) {
      const Column& c = *args[k];
      for (int64_t r = 0; r < rows; ++r) {
        if (source[r] < 0 && c.IsValid(r)) {
          source[r] = static_cast<int32_t>(k);
          --missing;
        }
      }
    }
    *out = GatherRows(f.return_type, args, source.data(), rows);
    return Status::Ok();
  };
  return fn;
}

// nullif(a, b): NULL when a = b, else a.
Result<BoundFunction> BindNullIf(const BindInput& in) {
  if (in.types.size() != 2) return NoMatchingSignature(in.name, in, "(any, any)");
  auto t = BindVariadicCommon(in, 2);
  if (!t.ok()) return t.status();
  BoundFunction fn;
  fn.arg_types = {*t, *t};
  fn.return_type = *t;
  fn.null_propagating = false;
  fn.kernel = [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                 ColumnPtr* out) -> Status {
    std::vector<int32_t> source(static_cast<size_t>(rows));
    const Column& a = *args[0];
    const Column& b = *args[1];
    VisitComparator(f.return_type, [&](auto cmp) {
      for (int64_t r = 0; r < rows; ++r) {
        bool equal = a.IsValid(r) && b.IsValid(r) && cmp.Compare(a, r, b, r) == 0;
        source[r] = (a.IsNull(r) || equal) ? -1 : 0;
      }
    });
    *out = GatherRows(f.return_type, args, source.data(), rows);
    return Status::Ok();
  };
  return fn;
}

// greatest/least: NULL arguments are ignored; NULL only when all are NULL.
Result<BoundFunction> BindExtreme(const BindInput& in, bool greatest) {
  auto t = BindVariadicCommon(in, 1);
  if (!t.ok()) return t.status();
  if (!IsOrderable(*t)) {
    return Status::User("{}(): values of type {} cannot be ordered", in.name, t->ToString());
  }
  BoundFunction fn;
  fn.arg_types.assign(in.types.size(), *t);
  fn.return_type = *t;
  fn.null_propagating = false;
  fn.kernel = [greatest](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                         ColumnPtr* out) -> Status {
    std::vector<int32_t> source(static_cast<size_t>(rows));
    VisitComparator(f.return_type, [&](auto cmp) {
      for (int64_t r = 0; r < rows; ++r) {
        int32_t best = -1;
        for (size_t k = 0; k < args.size(); ++k) {
          if (args[k]->IsNull(r)) continue;
          if (best < 0) {
            best = static_cast<int32_t>(k);
            continue;
          }
          int c = cmp.Compare(*args[k], r, *args[best], r);
          if (greatest ? c > 0 : c < 0) best = static_cast<int32_t>(k);
        }
        source[r] = best;
      }
    });
    *out = GatherRows(f.return_type, args, source.data(), rows);
    return Status::Ok();
  };
  return fn;
}

}  // namespace

void RegisterConditionalFunctions(FunctionRegistry* r) {
  r->Register("coalesce", BindCoalesce);
  r->Register("nullif", BindNullIf);
  r->Register("greatest", [](const BindInput& in) { return BindExtreme(in, true); });
  r->Register("least", [](const BindInput& in) { return BindExtreme(in, false); });
}

}  // namespace sluice::expr
