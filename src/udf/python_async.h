#pragma once
// Python async functions (CREATE ASYNC FUNCTION f LANGUAGE python AS $$ async def f(url: str)
// -> str: ... $$): coroutines run on an asyncio event loop of their own, one loop thread per
// operator subtask, behind the same SluiceUdfAsyncVTable as C++ async functions, so the async
// operator (exec/async_udf.h: max_concurrency, timeout, ordered, checkpoints) is the same. Type
// hints give the SQL signature as for per-row Python functions (int, float, str, bool, bytes,
// Optional[...]).

#include <memory>

#include "common/status.h"
#include "udf/async_function.h"
#include "udf/native_function.h"

namespace sluice::udf {

struct LoadedPythonAsync {
  std::shared_ptr<const AsyncFunction> function;
  FunctionSignature signature;  // from the hints
};

Result<LoadedPythonAsync> LoadPythonAsync(const FunctionSignature& declared, bool declared_types,
                                          const AsyncOptions& options, const std::string& source);

}  // namespace sluice::udf
