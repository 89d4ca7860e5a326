#pragma once
// Async C++ functions (CREATE ASYNC FUNCTION ... LANGUAGE cpp): the compiled library
// (AsyncFunction, loaded at planning time like a scalar function) and one open instance of it
// per operator subtask (AsyncInstance), which starts calls and collects their completions.
// The operator that drives them (bounded concurrency, timeouts, ordering, checkpoints) is
// exec/async_udf.h.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include <sluice/udf.h>

#include "batch/column.h"
#include "common/status.h"
#include "udf/native_function.h"

namespace sluice::udf {

// The options of an async function (WITH (...) of CREATE ASYNC FUNCTION; defaults as Arroyo's).
struct AsyncOptions {
  bool ordered = true;             // results in input order (else as they complete)
  int64_t max_concurrency = 1000;  // calls in flight per subtask (Arroyo's allowed_in_flight)
  int64_t timeout_micros = 5'000'000;
  bool null_on_timeout = false;  // on_timeout = 'null' (else 'error': the pipeline fails)
  std::string Describe() const;
};

class AsyncFunction {
 public:
  // `state`: what an in-process vtable (Python's, python_async.h) needs beside the host; its
  // `open` finds it through the host's AsyncInstance (AsyncInstance::function()).
  AsyncFunction(FunctionSignature sig, AsyncOptions options, const SluiceUdfAsyncVTable* vtable,
                std::shared_ptr<const void> state = nullptr)
      : sig_(std::move(sig)), options_(options), vtable_(vtable), state_(std::move(state)) {}
  const FunctionSignature& signature() const { return sig_; }
  const AsyncOptions& options() const { return options_; }
  const std::string& name() const { return sig_.name; }
  const SluiceUdfAsyncVTable* vtable() const { return vtable_; }
  const void* state() const { return state_.get(); }

 private:
  FunctionSignature sig_;
  AsyncOptions options_;
  const SluiceUdfAsyncVTable* vtable_;
  std::shared_ptr<const void> state_;
};

// Compiles (or finds cached) and loads an async function. User errors as for LoadCppScalar, and
// a source without the struct the glue expects (the message shows it).
Result<std::shared_ptr<const AsyncFunction>> LoadCppAsync(const FunctionSignature& sig,
                                                          const AsyncOptions& options,
                                                          const std::string& source);

// The steady clock of timeouts (µs).
int64_t AsyncNowMicros();

// One completed call, as the library reported it.
struct AsyncCompletion {
  uint64_t call = 0;
  int32_t status = SLUICE_UDF_ASYNC_OK;
  std::string data;  // the result's bytes, or the error message
};

// An open instance of an async function. Start() and Close() on one thread; completions arrive
// on any thread and are collected under a lock; `on_complete` (the task's wake-up) is called,
// outside the lock, for a completion that finds none waiting to be taken (later ones are taken
// with it, so a burst of completions costs one wake-up).
class AsyncInstance {
 public:
  AsyncInstance(std::shared_ptr<const AsyncFunction> fn, std::function<void()> on_complete);
  ~AsyncInstance();
  AsyncInstance(const AsyncInstance&) = delete;
  AsyncInstance& operator=(const AsyncInstance&) = delete;

  Status Open();
  const AsyncFunction& function() const { return *fn_; }
  // Starts calls first_call.. for rows [begin, end) of the argument columns.
  Status Start(std::span<const batch::ColumnPtr> args, int64_t begin, int64_t end,
               uint64_t first_call);
  // Moves the completions collected so far into `out` (appended).
  void TakeCompleted(std::vector<AsyncCompletion>* out);
  // Blocks until a completion is waiting or `deadline_micros` (steady clock, Now()) passes;
  // then, while fewer than `batch` are waiting, up to `linger_micros` more (never past the
  // deadline) for the rest of the batch, so a waiter under backpressure wakes once per batch of
  // completions rather than once per completion.
  void WaitUntil(int64_t deadline_micros, size_t batch = 1, int64_t linger_micros = 0);
  // Abandons the calls in flight (the library's close); idempotent.
  void Close();

 private:
  static void Complete(SluiceUdfAsyncHost* host, uint64_t call, int32_t status, const void* data,
                       int64_t size);
  std::shared_ptr<const AsyncFunction> fn_;
  std::function<void()> on_complete_;
  SluiceUdfAsyncHost host_{};
  void* instance_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<AsyncCompletion> completed_;
  bool closing_ = false;
  bool waiting_ = false;  // WaitUntil is blocked until completed_ holds notify_at_
  size_t notify_at_ = 1;
};

}  // namespace sluice::udf
