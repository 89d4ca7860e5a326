#pragma once
// Python user-defined functions (CREATE FUNCTION f LANGUAGE python AS $$ def f(x: int) -> int:
// ... $$), run in an embedded CPython (Debian's libpython3).
//
// Two forms, chosen from the type hints:
// - per row: hints of Python types (int, float, str, bool, bytes, Optional[...]) give the SQL
//   signature (BIGINT, DOUBLE, TEXT, BOOLEAN, BYTEA); the function is called once per row.
//   Optional[...] parameters see NULLs as None; otherwise a row with a NULL argument is NULL.
// - vectorized: parameters hinted as pyarrow.Array (or a subclass) receive whole columns as
//   pyarrow arrays, exported through the Arrow C Data Interface without copying, and the
//   function returns a pyarrow array of the batch's length. The SQL signature is then the
//   declared one (CREATE FUNCTION f(x BIGINT) RETURNS DOUBLE ...).
//
// pyarrow is looked up in the interpreter's path and in $SLUICE_PYTHON_VENV's site-packages
// (the build's venv, build/venv, by default when it exists beside the binary).
//
// Threads: the interpreter is started once per process, at the first Python function; each
// kernel call takes the GIL for the batch (Python code runs on one thread at a time).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "expr/aggregate.h"
#include "expr/function.h"
#include "udf/native_function.h"

namespace sluice::udf {

struct LoadedPythonFunction {
  std::shared_ptr<const expr::BoundFunction> function;
  FunctionSignature signature;  // from the hints, or the declared one (vectorized)
  bool vectorized = false;
};

// `declared` holds the SQL parameter and return types when CREATE FUNCTION gave them (then they
// must agree with the hints of a per-row function); `declared_types` says whether it did.
// `for_async`: the function is loaded for CREATE ASYNC FUNCTION (python_async.cc), so it must
// be an `async def` with per-row hints; otherwise an `async def` is refused with a message.
Result<LoadedPythonFunction> LoadPythonScalar(const FunctionSignature& declared,
                                              bool declared_types, const std::string& source,
                                              bool for_async = false);

// The Python side of a per-row function LoadPythonScalar loaded, for the async form
// (python_async.cc): the function object (a PyObject*, borrowed: it lives as long as the
// process), per argument whether it sees NULL as None, the file name its code was compiled
// under (for the body's line in messages), and whether it is an `async def`.
struct PythonCallable {
  void* fn = nullptr;
  std::vector<bool> optional;
  std::string filename;
  bool coroutine = false;
};
PythonCallable PythonCallableOf(const expr::BoundFunction& fn);

// CREATE AGGREGATE FUNCTION f LANGUAGE python AS $$ class f: ... $$: a class named like the
// aggregate whose instances are the groups' states: __init__ (the initial state),
// update(self, x: int) (its hints give the SQL argument types), merge(self, other),
// finish(self) -> int, and optionally retract(self, x). States checkpoint as a pickle of each
// instance's __dict__.
struct LoadedPythonAggregate {
  std::shared_ptr<const expr::AggregateFunction> function;
  FunctionSignature signature;
  bool retractable = false;
};
Result<LoadedPythonAggregate> LoadPythonAggregate(const FunctionSignature& declared,
                                                  bool declared_types, const std::string& source);

}  // namespace sluice::udf
