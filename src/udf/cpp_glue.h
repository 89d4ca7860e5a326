#pragma once
// The generated half of a C++ UDF: the glue source around the user's code that implements the C
// ABI of include/sluice/udf.h for the function's SQL signature, the compile-and-load step, and
// compiler diagnostics turned into messages at the body's own lines. Internal to src/udf.

#include <string>

#include "common/status.h"
#include "udf/native_function.h"

namespace sluice::udf {

// The Arrow C Data Interface format of a type, with Sluice's layout choices ("l", "u",
// "tsu:", "+l(l)").
std::string ArrowFormat(const types::DataType& type);
// What sluice_udf_signature() returns for `sig` (Arrow formats): "l,u->g|strict".
std::string LibrarySignature(const FunctionSignature& sig);
// f(a BIGINT, b TEXT) RETURNS DOUBLE, for messages.
std::string SqlSignature(const FunctionSignature& sig);
// The message when the source has no function the scalar glue can call (starts "SLUICE: ").
std::string ExpectedForms(const FunctionSignature& sig);
// The same for an aggregate: the members its struct needs.
std::string ExpectedAggregateForm(const FunctionSignature& sig);

// The translation unit of a scalar function / an aggregate (a struct named like it).
Result<std::string> GenerateCppSource(const FunctionSignature& sig, const std::string& source);
Result<std::string> GenerateCppAggregateSource(const FunctionSignature& sig,
                                               const std::string& source);

// Compiles `unit` (or finds it cached), loads it and checks its ABI version and signature. A
// compile error is a user error at the body's lines; `fallback` is the message for errors in
// the glue that are not its own static assertions (no such function or struct).
Result<void*> CompileAndOpen(const FunctionSignature& sig, const std::string& unit,
                             const std::string& fallback);

}  // namespace sluice::udf
