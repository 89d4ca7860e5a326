#pragma once
// Scalar functions: how the binder resolves a call and how the evaluator runs it.
//
// A function is registered by name with a bind callback. Given the argument types (and the
// values of constant arguments, so a regex or a date unit can be prepared once), the callback
// picks the types the arguments must be cast to, the result type, and the kernel. Kernels are
// vectorized: one call per batch, never per row.

#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "batch/column.h"
#include "common/status.h"
#include "types/value.h"

namespace sluice::expr {

using batch::ColumnPtr;
using types::DataType;
using types::TypeId;
using types::Value;

struct BoundFunction;

// Runs the function over `rows` rows. Arguments already have the bound types. On bad data
// (division by zero, invalid input) returns a user error naming the function and the value.
using Kernel = std::function<Status(const BoundFunction& fn, std::span<const ColumnPtr> args,
                                    int64_t rows, ColumnPtr* out)>;

struct BindInput {
  std::string name;  // the function's name as called (set by the registry)
  std::vector<DataType> types;
  // Constant value of argument i when it is a literal (after folding), else nullopt.
  std::vector<std::optional<Value>> constants;
};

struct BoundFunction {
  std::string name;
  std::vector<DataType> arg_types;  // what each argument is cast to before the call
  DataType return_type;
  Kernel kernel;
  // Prepared per-call state (compiled regex, parsed JSON path, ...), built at bind time.
  std::shared_ptr<const void> state;
  bool deterministic = true;  // false for now(): never constant-folded
  // True when the kernel wants NULL inputs handled for it: the result is NULL wherever any
  // argument is NULL (the kernel may write anything in those rows).
  bool null_propagating = true;
  // What the registry bound it from (name and argument types before the casts the binder adds,
  // constant arguments): a serialized plan binds the call again from it (src/dist/). Empty for
  // functions not bound through the registry (user-defined functions).
  BindInput bound_from;
};

using BindFn = std::function<Result<BoundFunction>(const BindInput& input)>;

class FunctionRegistry {
 public:
  // The registry with every built-in function. Built once, read-only afterwards.
  static const FunctionRegistry& Get();

  void Register(const std::string& name, BindFn bind);
  void Alias(const std::string& alias, const std::string& target);
  // Binds a call; errors say which argument types were given and what is accepted.
  Result<BoundFunction> Bind(const std::string& name, const BindInput& input) const;
  bool Contains(const std::string& name) const;
  std::vector<std::string> Names() const;

 private:
  std::vector<std::pair<std::string, BindFn>> functions_;  // sorted after Get() builds it
  const BindFn* Find(const std::string& name) const;
  friend void RegisterAllFunctions(FunctionRegistry* registry);
};

// Each file under expr/functions/ registers its family through one of these.
void RegisterArithmeticFunctions(FunctionRegistry* r);
void RegisterComparisonFunctions(FunctionRegistry* r);
void RegisterMathFunctions(FunctionRegistry* r);
void RegisterStringFunctions(FunctionRegistry* r);
void RegisterRegexFunctions(FunctionRegistry* r);
void RegisterDatetimeFunctions(FunctionRegistry* r);
void RegisterJsonFunctions(FunctionRegistry* r);
void RegisterHashFunctions(FunctionRegistry* r);
void RegisterArrayFunctions(FunctionRegistry* r);
void RegisterStructFunctions(FunctionRegistry* r);
void RegisterConditionalFunctions(FunctionRegistry* r);

}  // namespace sluice::expr
