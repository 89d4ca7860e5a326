#include "expr/kernel_util.h"

#include "expr/cast.h"

namespace sluice::expr {

batch::BufferPtr CombineValidity(std::span<const ColumnPtr> args, int64_t rows) {
  batch::BufferPtr result;
  for (const auto& a : args) {
    if (!a->validity) continue;
    if (!result) {
      result = std::make_shared<batch::Buffer>(batch::BitmapBytes(rows));
      if (result->size() > 0) std::memcpy(result->data(), a->validity->data(), result->size());
    } else {
      uint8_t* r = result->data();
      const uint8_t* v = a->validity->data();
      for (size_t i = 0; i < result->size(); ++i) r[i] &= v[i];
    }
  }
  return result;
}

bool ConvertsTo(const DataType& from, const DataType& to) {
  return from.id() == TypeId::kNull || from == to || CanCastImplicitly(from, to);
}

static std::string TypeList(const BindInput& input) {
  std::string s;
  for (size_t i = 0; i < input.types.size(); ++i) {
    if (i) s += ", ";
    s += input.types[i].ToString();
  }
  return s;
}

Status NoMatchingSignature(const std::string& name, const BindInput& input,
                           const std::string& accepted) {
  return Status::User("function {}({}) does not exist; {} accepts {}", name, TypeList(input), name,
                      accepted);
}

BindFn FixedSignature(std::vector<DataType> args, DataType ret, Kernel kernel,
                      bool null_propagating) {
  return [args, ret, kernel, null_propagating](const BindInput& input) -> Result<BoundFunction> {
    bool ok = input.types.size() == args.size();
    for (size_t i = 0; ok && i < args.size(); ++i) ok = ConvertsTo(input.types[i], args[i]);
    if (!ok) {
      std::string accepted = "(";
      for (size_t i = 0; i < args.size(); ++i) {
        if (i) accepted += ", ";
        accepted += args[i].ToString();
      }
      accepted += ")";
      return NoMatchingSignature(input.name, input, accepted);
    }
    BoundFunction fn;
    fn.arg_types = args;
    fn.return_type = ret;
    fn.kernel = kernel;
    fn.null_propagating = null_propagating;
    return fn;
  };
}

}  // namespace sluice::expr
