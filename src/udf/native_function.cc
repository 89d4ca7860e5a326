#include "udf/native_function.h"

#include <dlfcn.h>

#include <fmt/format.h>

#include "udf/arrow_bridge.h"
#include "udf/cpp_glue.h"
#include "udf/crash_guard.h"

namespace sluice::udf {

namespace {

// A loaded function: what the kernel calls.
struct NativeScalar {
  std::string name;
  SluiceUdfScalarFn call = nullptr;
};

Status NativeKernel(const expr::BoundFunction& fn, std::span<const batch::ColumnPtr> args,
                    int64_t rows, batch::ColumnPtr* out) {
  const auto* lib = static_cast<const NativeScalar*>(fn.state.get());
  ArgumentArrays in(args);
  ResultArray result(fn.return_type, rows);
  char error[1024];
  error[0] = '\0';
  int32_t rc = 0;
  {
    CrashGuard guard(lib->name.c_str());
    rc = lib->call(result.host(), in.data(), in.size(), rows, result.array(), error,
                   static_cast<int64_t>(sizeof(error)));
  }
  if (rc != 0) {
    error[sizeof(error) - 1] = '\0';
    return Status::User("user-defined function {}() failed: {}", lib->name,
                        error[0] ? error : "(no message)");
  }
  SLUICE_ASSIGN_OR_RETURN(*out, result.Finish(lib->name));
  if ((*out)->length != rows) {
    return Status::User("user-defined function {}() returned {} rows for {}", lib->name,
                        (*out)->length, rows);
  }
  return Status::Ok();
}

}  // namespace

Result<std::shared_ptr<const expr::BoundFunction>> LoadCppScalar(const FunctionSignature& sig,
                                                                 const std::string& source) {
  SLUICE_ASSIGN_OR_RETURN(std::string unit, GenerateCppSource(sig, source));
  SLUICE_ASSIGN_OR_RETURN(void* handle, CompileAndOpen(sig, unit, ExpectedForms(sig)));
  auto call = reinterpret_cast<SluiceUdfScalarFn>(dlsym(handle, "sluice_udf_scalar"));
  if (call == nullptr) {
    return Status::Io("the compiled library of function {} has no sluice_udf_scalar", sig.name);
  }
  InstallCrashHandlers();
  auto state = std::make_shared<NativeScalar>();
  state->name = sig.name;
  state->call = call;
  expr::BoundFunction fn;
  fn.name = sig.name;
  fn.arg_types = sig.param_types;
  fn.return_type = sig.return_type;
  fn.kernel = NativeKernel;
  fn.state = std::move(state);
  fn.deterministic = sig.deterministic;
  fn.null_propagating = sig.strict;
  return std::make_shared<const expr::BoundFunction>(std::move(fn));
}

}  // namespace sluice::udf
