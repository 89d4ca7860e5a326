#pragma once
// Names the user-defined function a thread is running when the process crashes in it.
//
// C++ UDFs run inside the Sluice process (docs/udf.md, decision 0015): a segmentation fault in
// one ends the process as any crash does. While a guard is alive on a thread, a SIGSEGV, SIGBUS,
// SIGFPE or SIGILL on that thread first writes "sluice: fatal: <signal> in user-defined function
// f()" to stderr; then the signal takes its default action (the process dies by that signal).
// Crashes outside a guard go to whatever handler was installed before.

namespace sluice::udf {

class CrashGuard {
 public:
  // `name` must outlive the guard (the function's name in its loaded library).
  explicit CrashGuard(const char* name);
  ~CrashGuard();
  CrashGuard(const CrashGuard&) = delete;
  CrashGuard& operator=(const CrashGuard&) = delete;

 private:
  const char* previous_;
};

// Installs the signal handlers (once per process; idempotent).
void InstallCrashHandlers();

}  // namespace sluice::udf
