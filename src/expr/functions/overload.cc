#include "expr/functions/overload.h"

#include "expr/cast.h"
#include "expr/kernel_util.h"

namespace sluice::expr {

int ConversionCost(const DataType& from, const DataType& to) {
  if (from == to) return 0;
  // A TIMESTAMPTZ argument binds to a TIMESTAMP parameter as it is (see BindOverloads).
  if (from.id() == TypeId::kTimestamp && to == types::Timestamp()) return 0;
  return ConvertsTo(from, to) ? 1 : -1;
}

std::string DescribeSignatures(const std::vector<Signature>& signatures) {
  std::string s;
  for (size_t i = 0; i < signatures.size(); ++i) {
    if (i) s += " or ";
    s += "(";
    for (size_t j = 0; j < signatures[i].args.size(); ++j) {
      if (j) s += ", ";
      s += signatures[i].args[j].ToString();
    }
    s += ")";
  }
  return s;
}

Result<BoundFunction> BindOverloads(const BindInput& input,
                                    const std::vector<Signature>& signatures) {
  const Signature* best = nullptr;
  int best_cost = 0;
  for (const auto& sig : signatures) {
    if (sig.args.size() != input.types.size()) continue;
    int cost = 0;
    for (size_t i = 0; i < sig.args.size() && cost >= 0; ++i) {
      int c = ConversionCost(input.types[i], sig.args[i]);
      cost = c < 0 ? -1 : cost + c;
    }
    if (cost < 0) continue;
    if (best == nullptr || cost < best_cost) {
      best = &sig;
      best_cost = cost;
    }
  }
  if (best == nullptr) {
    return NoMatchingSignature(input.name, input, DescribeSignatures(signatures));
  }
  BoundFunction fn;
  fn.name = input.name;
  fn.arg_types = best->args;
  fn.return_type = best->ret;
  // The timestamp kernels serve TIMESTAMPTZ too (the same UTC microseconds): a TIMESTAMPTZ
  // argument keeps its type, and so does a TIMESTAMP result (date_trunc, date_bin).
  bool zoned = false;
  for (size_t i = 0; i < fn.arg_types.size(); ++i) {
    if (fn.arg_types[i].id() == TypeId::kTimestamp && input.types[i].with_time_zone()) {
      fn.arg_types[i] = input.types[i];
      zoned = true;
    }
  }
  if (zoned && fn.return_type == types::Timestamp()) fn.return_type = DataType::TimestampTz();
  fn.kernel = best->kernel;
  fn.null_propagating = best->null_propagating;
  return fn;
}

BindFn Overloads(std::vector<Signature> signatures) {
  return [signatures = std::move(signatures)](const BindInput& input) {
    return BindOverloads(input, signatures);
  };
}

Result<DataType> CommonArgumentType(const BindInput& input, size_t first) {
  DataType common;  // kNull
  for (size_t i = first; i < input.types.size(); ++i) {
    const DataType& t = input.types[i];
    if (t.id() == TypeId::kNull) continue;
    if (common.id() == TypeId::kNull) {
      common = t;
      continue;
    }
    if (common == t) continue;
    auto merged = CommonSuperType(common, t);
    if (!merged.ok()) {
      return Status::User("{}(): arguments of types {} and {} cannot be matched", input.name,
                          common.ToString(), t.ToString());
    }
    common = *merged;
  }
  return common;
}

const Value* ConstantArg(const BindInput& input, size_t i) {
  if (i >= input.constants.size() || !input.constants[i].has_value()) return nullptr;
  return &*input.constants[i];
}

}  // namespace sluice::expr
