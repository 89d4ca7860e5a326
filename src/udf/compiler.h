#pragma once
// Compiles generated C++ into a shared library with the system compiler, once per distinct
// source: libraries are cached by a SHA-256 of the source, the UDF header, the compiler's
// version and the flags, in $SLUICE_UDF_CACHE_DIR, else $XDG_CACHE_HOME/sluice/udf, else
// ~/.cache/sluice/udf. A library is compiled to a temporary name and renamed into place, so
// concurrent Sluice processes never load a half-written one.
//
// The compiler is $SLUICE_UDF_CXX, else `c++` on the PATH. Called at planning time; blocks while
// the compiler runs (about a second for a small function, nothing when cached).

#include <string>

#include "common/status.h"

namespace sluice::udf {

struct CompileResult {
  std::string library_path;
  bool cached = false;  // found in the cache, not compiled now
  // When the compiler failed: its diagnostics (stderr), and the library path is empty.
  std::string diagnostics;
};

// `source` is a complete translation unit; `unit_name` is the file name diagnostics use.
// Io errors: no cache directory, the compiler could not be started.
Result<CompileResult> CompileSharedLibrary(const std::string& source, const std::string& unit_name);

// The UDF header (include/sluice/udf.h) as built into this binary.
const char* UdfHeaderText();

}  // namespace sluice::udf
