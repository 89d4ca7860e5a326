#pragma once
// Overload resolution shared by the scalar function families: a function lists its signatures
// and a call binds to the one its argument types reach with the fewest implicit conversions.

#include <string>
#include <vector>

#include "expr/function.h"

namespace sluice::expr {

struct Signature {
  std::vector<DataType> args;
  DataType ret;
  Kernel kernel;
  bool null_propagating = true;
};

// -1 when `from` does not convert implicitly to `to`, 0 for the same type, 1 otherwise (NULL
// included).
int ConversionCost(const DataType& from, const DataType& to);

// "(TEXT, BIGINT) or (TEXT, BIGINT, BIGINT)", for NoMatchingSignature.
std::string DescribeSignatures(const std::vector<Signature>& signatures);

// Binds to the signature needing the fewest conversions; on a tie the first listed wins, so
// list narrow types first (INT before BIGINT before DOUBLE).
Result<BoundFunction> BindOverloads(const BindInput& input,
                                    const std::vector<Signature>& signatures);
BindFn Overloads(std::vector<Signature> signatures);

// The common super type of arguments [first, end), skipping NULL-typed ones; NULL when every
// argument is NULL. Errors name the function and the two types that do not mix.
Result<DataType> CommonArgumentType(const BindInput& input, size_t first = 0);

// The value of argument i when the binder knows it as a constant, else nullptr (a constant NULL
// is returned as a NULL value, not nullptr).
const Value* ConstantArg(const BindInput& input, size_t i);

}  // namespace sluice::expr
