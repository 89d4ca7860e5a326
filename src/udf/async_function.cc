#include "udf/async_function.h"

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "udf/arrow_bridge.h"
#include "udf/cpp_glue.h"
#include "udf/crash_guard.h"

namespace sluice::udf {

namespace {

std::string Quote(const std::string& s) {
  std::string q;
  for (char c : s) {
    if (c == '"' || c == '\\') q += '\\';
    q += c;
  }
  return q;
}

}  // namespace

int64_t AsyncNowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string AsyncOptions::Describe() const {
  return fmt::format("{}, max_concurrency {}, timeout {}ms, on_timeout {}",
                     ordered ? "ordered" : "unordered", max_concurrency, timeout_micros / 1000,
                     null_on_timeout ? "null" : "error");
}

static std::string ExpectedAsyncForm(const FunctionSignature& sig) {
  std::vector<std::string> params;
  for (size_t i = 0; i < sig.param_types.size(); ++i) {
    std::string t = CppTypeName(sig.param_types[i], false);
    params.push_back(
        (sig.strict ? t : fmt::format("std::optional<{}>", t)) + " " +
        (sig.param_names[i].empty() ? fmt::format("arg{}", i + 1) : sig.param_names[i]));
  }
  params.push_back(
      fmt::format("sluice_udf::Completion<{}> done", CppTypeName(sig.return_type, true)));
  return fmt::format(
      "SLUICE: async function {} (CREATE ASYNC FUNCTION {}) must be a struct named {}, "
      "default-constructible, with `void start({})` that begins the call and completes it "
      "later with done.complete(value), done.complete_null() or done.fail(message)",
      sig.name, SqlSignature(sig), sig.name, fmt::join(params, ", "));
}

static Result<std::string> GenerateCppAsyncSource(const FunctionSignature& sig,
                                                  const std::string& source) {
  std::vector<std::string> arg_types;
  for (size_t i = 0; i < sig.param_types.size(); ++i) {
    std::string t = CppTypeName(sig.param_types[i], false);
    if (t.empty() || sig.param_types[i].id() == types::TypeId::kList) {
      return Status::NotSupported(
          "parameter {} of async function {} is {}: async functions take scalar types, not yet "
          "arrays or structs",
          i + 1, sig.name, sig.param_types[i].ToString());
    }
    arg_types.push_back(sig.strict ? t : fmt::format("std::optional<{}>", t));
  }
  std::string r = CppTypeName(sig.return_type, true);
  if (r.empty() || sig.return_type.id() == types::TypeId::kList) {
    return Status::NotSupported(
        "async function {} RETURNS {}: async functions return scalar types, not yet arrays or "
        "structs",
        sig.name, sig.return_type.ToString());
  }
  std::string params, call;
  for (size_t i = 0; i < arg_types.size(); ++i) {
    params += fmt::format("{} a{}, ", arg_types[i], i);
    call += fmt::format("a{}, ", i);
  }
  return fmt::format(
      R"(#include <sluice/udf.h>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#line 1 "{name}.cc"
{source}
#line 1 "sluice_glue_{name}.cc"
namespace sluice_glue_ {{
using State = ::{name};
template <typename S>
constexpr bool kStart = requires(S s, {params}sluice_udf::Completion<{r}> done) {{
  s.start({call}done);
}};
static_assert(std::is_default_constructible_v<State> && kStart<State>, "{expected}");
}}  // namespace sluice_glue_
extern "C" __attribute__((visibility("default"))) uint32_t sluice_udf_abi_version(void) {{
  return SLUICE_UDF_ABI_VERSION;
}}
extern "C" __attribute__((visibility("default"))) const char* sluice_udf_signature(void) {{
  return "{signature}";
}}
extern "C" __attribute__((visibility("default"))) const SluiceUdfAsyncVTable*
sluice_udf_async_vtable(void) {{
  return sluice_udf::AsyncGlue<sluice_glue_::State, {strict}, {r}{comma}{args}>::VTable();
}}
)",
      fmt::arg("name", sig.name), fmt::arg("source", source), fmt::arg("r", r),
      fmt::arg("params", params), fmt::arg("call", call),
      fmt::arg("expected", Quote(ExpectedAsyncForm(sig))),
      fmt::arg("signature", LibrarySignature(sig)),
      fmt::arg("strict", sig.strict ? "true" : "false"),
      fmt::arg("comma", arg_types.empty() ? "" : ", "),
      fmt::arg("args", fmt::format("{}", fmt::join(arg_types, ", "))));
}

Result<std::shared_ptr<const AsyncFunction>> LoadCppAsync(const FunctionSignature& sig,
                                                          const AsyncOptions& options,
                                                          const std::string& source) {
  SLUICE_ASSIGN_OR_RETURN(std::string unit, GenerateCppAsyncSource(sig, source));
  SLUICE_ASSIGN_OR_RETURN(void* handle, CompileAndOpen(sig, unit, ExpectedAsyncForm(sig)));
  auto vtable_fn =
      reinterpret_cast<SluiceUdfAsyncVTableFn>(dlsym(handle, "sluice_udf_async_vtable"));
  const SluiceUdfAsyncVTable* vtable = vtable_fn ? vtable_fn() : nullptr;
  if (vtable == nullptr || vtable->abi_version < 2) {
    return Status::Io(
        "the compiled library of async function {} has no sluice_udf_async_vtable of ABI "
        "version 2 or later; remove it from the UDF cache to recompile",
        sig.name);
  }
  InstallCrashHandlers();
  return std::make_shared<const AsyncFunction>(sig, options, vtable);
}

AsyncInstance::AsyncInstance(std::shared_ptr<const AsyncFunction> fn,
                             std::function<void()> on_complete)
    : fn_(std::move(fn)), on_complete_(std::move(on_complete)) {
  host_.abi_version = SLUICE_UDF_ABI_VERSION;
  host_.context = this;
  host_.complete = &AsyncInstance::Complete;
}

AsyncInstance::~AsyncInstance() {
  Close();
}

Status AsyncInstance::Open() {
  char error[1024];
  error[0] = '\0';
  {
    CrashGuard guard(fn_->name().c_str());
    instance_ = fn_->vtable()->open(&host_, error, static_cast<int64_t>(sizeof(error)));
  }
  if (instance_ == nullptr) {
    error[sizeof(error) - 1] = '\0';
    return Status::User("user-defined function {}() failed to start: {}", fn_->name(),
                        error[0] ? error : "(no message)");
  }
  return Status::Ok();
}

Status AsyncInstance::Start(std::span<const batch::ColumnPtr> args, int64_t begin, int64_t end,
                            uint64_t first_call) {
  ArgumentArrays arrays(args);
  char error[1024];
  error[0] = '\0';
  int32_t rc;
  {
    CrashGuard guard(fn_->name().c_str());
    rc = fn_->vtable()->start(instance_, arrays.data(), arrays.size(), begin, end, first_call,
                              error, static_cast<int64_t>(sizeof(error)));
  }
  if (rc == 0) return Status::Ok();
  error[sizeof(error) - 1] = '\0';
  return Status::User("user-defined function {}() failed: {}", fn_->name(),
                      error[0] ? error : "(no message)");
}

void AsyncInstance::Complete(SluiceUdfAsyncHost* host, uint64_t call, int32_t status,
                             const void* data, int64_t size) {
  auto* self = static_cast<AsyncInstance*>(host->context);
  bool first = false;
  bool notify = false;
  {
    std::lock_guard<std::mutex> lock(self->mu_);
    if (self->closing_) return;
    AsyncCompletion& c = self->completed_.emplace_back();
    c.call = call;
    c.status = status;
    if (data != nullptr && size > 0) c.data.assign(static_cast<const char*>(data), size);
    first = self->completed_.size() == 1;
    if (self->waiting_ && self->completed_.size() >= self->notify_at_) {
      self->waiting_ = false;
      notify = true;
    }
  }
  if (notify) self->cv_.notify_one();
  if (first && self->on_complete_) self->on_complete_();
}

void AsyncInstance::TakeCompleted(std::vector<AsyncCompletion>* out) {
  std::lock_guard<std::mutex> lock(mu_);
  if (out->empty()) {
    out->swap(completed_);
  } else {
    for (auto& c : completed_) out->push_back(std::move(c));
    completed_.clear();
  }
}

void AsyncInstance::WaitUntil(int64_t deadline_micros, size_t batch, int64_t linger_micros) {
  std::unique_lock<std::mutex> lock(mu_);
  // Waits (re-arming after a spurious wake-up) until `target` completions are waiting or `until`.
  auto wait = [&](size_t target, int64_t until) {
    while (completed_.size() < target) {
      const int64_t now = AsyncNowMicros();
      if (now >= until) break;
      waiting_ = true;
      notify_at_ = target;
      cv_.wait_for(lock, std::chrono::microseconds(until - now));
      waiting_ = false;
    }
  };
  wait(1, deadline_micros);
  if (!completed_.empty() && completed_.size() < batch && linger_micros > 0) {
    wait(batch, std::min(deadline_micros, AsyncNowMicros() + linger_micros));
  }
  notify_at_ = 1;
}

void AsyncInstance::Close() {
  if (instance_ == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing_ = true;
  }
  {
    CrashGuard guard(fn_->name().c_str());
    fn_->vtable()->close(instance_);
  }
  instance_ = nullptr;
}

}  // namespace sluice::udf
