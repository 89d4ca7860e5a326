#pragma once
// Holding CPython's GIL for a scope, from any thread (the embedded interpreter's functions in
// python_function.cc and python_async.cc). Include <Python.h> first, as every file using the
// C API must.

#include <Python.h>

namespace sluice::udf {

class Gil {
 public:
  Gil() : state_(PyGILState_Ensure()) {}
  ~Gil() { PyGILState_Release(state_); }
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;

 private:
  PyGILState_STATE state_;
};

}  // namespace sluice::udf
