#pragma once
// Assertions. SLUICE_DCHECK is debug-only for cheap invariants; SLUICE_CHECK is always on, for
// places where continuing would corrupt output or state.

#include <cstdio>
#include <cstdlib>

namespace sluice::detail {
[[noreturn]] void CheckFailed(const char* expr, const char* file, int line, const char* msg);
}

#define SLUICE_CHECK(cond, msg)                                      \
  do {                                                               \
    if (__builtin_expect(!(cond), 0))                                \
      ::sluice::detail::CheckFailed(#cond, __FILE__, __LINE__, msg); \
  } while (0)

#ifdef NDEBUG
#define SLUICE_DCHECK(cond, msg) \
  do {                           \
  } while (0)
#else
#define SLUICE_DCHECK(cond, msg) SLUICE_CHECK(cond, msg)
#endif
