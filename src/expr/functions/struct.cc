// Struct constructors: row(a, b, ...), the binder's ROW(a, b) and (a, b). The struct column
// shares its argument columns as its fields: no copy, whatever the field types.

#include <string>
#include <vector>

#include "expr/function.h"

namespace sluice::expr {
namespace {

// Fields are named f1, f2, ... as PostgreSQL names the columns of an anonymous record
// (row_to_json(ROW(1, 'a')) is {"f1":1,"f2":"a"}); an untyped NULL field is TEXT.
Result<BoundFunction> BindRow(const BindInput& in) {
  if (in.types.empty()) {
    return Status::NotSupported("ROW() without fields is not supported; give it at least one");
  }
  std::vector<types::Field> fields;
  BoundFunction fn;
  for (size_t i = 0; i < in.types.size(); ++i) {
    DataType t = in.types[i].id() == TypeId::kNull ? types::Utf8() : in.types[i];
    fn.arg_types.push_back(t);
    fields.push_back(types::Field{"f" + std::to_string(i + 1), t, true});
  }
  fn.name = in.name;
  fn.return_type = DataType::Struct(std::move(fields));
  fn.null_propagating = false;  // ROW(NULL) is a row with a NULL field, not NULL
  fn.kernel = [](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                 ColumnPtr* out) -> Status {
    auto row = std::make_shared<batch::Column>();
    row->type = f.return_type;
    row->length = rows;
    row->children.assign(args.begin(), args.end());
    *out = row;
    return Status::Ok();
  };
  return fn;
}

}  // namespace

void RegisterStructFunctions(FunctionRegistry* r) {
  r->Register("row", BindRow);
}

}  // namespace sluice::expr
