#include "udf/crash_guard.h"

#include <signal.h>
#include <unistd.h>

#include <cstring>
#include <mutex>

namespace sluice::udf {

namespace {

thread_local const char* t_running = nullptr;

constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
struct sigaction g_previous[4];

int IndexOf(int sig) {
  for (int i = 0; i < 4; ++i) {
    if (kSignals[i] == sig) return i;
  }
  return -1;
}

void WriteAll(const char* s) {
  size_t n = std::strlen(s);
  while (n > 0) {
    ssize_t w = write(2, s, n);
    if (w <= 0) return;
    s += w;
    n -= static_cast<size_t>(w);
  }
}

// Async-signal-safe: write(2) and sigaction only. Returning re-runs the faulting instruction,
// which then meets the restored action.
void OnCrash(int sig) {
  int i = IndexOf(sig);
  if (const char* name = t_running) {
    WriteAll("sluice: fatal: ");
    WriteAll(sig == SIGSEGV  ? "segmentation fault (SIGSEGV)"
             : sig == SIGBUS ? "bus error (SIGBUS)"
             : sig == SIGFPE ? "arithmetic exception (SIGFPE)"
                             : "illegal instruction (SIGILL)");
    WriteAll(" in user-defined function ");
    WriteAll(name);
    WriteAll(
        "(); C++ functions run inside the Sluice process, so the pipeline ends here "
        "(docs/udf.md)\n");
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, nullptr);
    return;
  }
  if (i >= 0) sigaction(sig, &g_previous[i], nullptr);
}

}  // namespace

void InstallCrashHandlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    for (int i = 0; i < 4; ++i) {
      struct sigaction sa {};
      sa.sa_handler = OnCrash;
      sigemptyset(&sa.sa_mask);
      sa.sa_flags = SA_NODEFER;
      sigaction(kSignals[i], &sa, &g_previous[i]);
    }
  });
}

CrashGuard::CrashGuard(const char* name) : previous_(t_running) {
  t_running = name;
}

CrashGuard::~CrashGuard() {
  t_running = previous_;
}

}  // namespace sluice::udf
