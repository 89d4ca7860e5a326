#pragma once
// C++ user-defined functions (CREATE FUNCTION ... LANGUAGE cpp): Sluice generates the C ABI glue
// of include/sluice/udf.h around the user's source, compiles it with the system compiler into a
// shared library (cached by content hash, see compiler.h), loads it, and binds a scalar function
// whose kernel calls it once per batch.
//
// Called by the binder at planning time, from one thread. The kernels it returns are called by
// any number of task threads at once; the UDF's code must be thread-safe (pure functions are).

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "expr/function.h"
#include "types/data_type.h"

namespace sluice::udf {

struct FunctionSignature {
  std::string name;  // the SQL name; the C++ function has the same name
  std::vector<std::string> param_names;
  std::vector<types::DataType> param_types;
  types::DataType return_type;
  // RETURNS NULL ON NULL INPUT (the default): a row with a NULL argument is NULL without a call.
  // CALLED ON NULL INPUT: the function takes std::optional arguments and sees NULLs.
  bool strict = true;
  bool deterministic = true;  // false when declared VOLATILE
  bool aggregate = false;     // CREATE AGGREGATE FUNCTION
  // Where the body's first line is in the SQL file (1-based), to point compile errors there.
  int body_line = 1;
};

// Compiles (or takes from the cache) and loads the function. User errors: the source does not
// compile (the compiler's errors at the body's own line numbers), the C++ function's signature
// does not match the SQL one (the expected C++ signatures), a type C++ UDFs do not take.
Result<std::shared_ptr<const expr::BoundFunction>> LoadCppScalar(const FunctionSignature& sig,
                                                                 const std::string& source);

// The C++ type a row-at-a-time function takes for `type` (as_result: the type it returns), or
// an empty string when C++ UDFs do not take the type.
std::string CppTypeName(const types::DataType& type, bool as_result);

}  // namespace sluice::udf
