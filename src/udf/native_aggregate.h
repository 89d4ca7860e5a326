#pragma once
// C++ aggregate UDFs (CREATE AGGREGATE FUNCTION ... LANGUAGE cpp): a struct with update, merge,
// finish and optionally retract, compiled like a scalar UDF (native_function.h) and run through
// the SluiceUdafVTable of include/sluice/udf.h as an expr::AggregateState, so window, session
// and updating aggregates use it as they use the built-in ones, checkpoints included.

#include <memory>
#include <string>

#include "common/status.h"
#include "expr/aggregate.h"
#include "udf/native_function.h"

namespace sluice::udf {

struct LoadedAggregate {
  std::shared_ptr<const expr::AggregateFunction> function;
  bool retractable = false;  // the struct has retract()
};

// Compiles (or takes from the cache) and loads the aggregate; errors as LoadCppScalar's.
Result<LoadedAggregate> LoadCppAggregate(const FunctionSignature& sig, const std::string& source);

}  // namespace sluice::udf
