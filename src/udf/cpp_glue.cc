#include "udf/cpp_glue.h"

#include <dlfcn.h>

#include <algorithm>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <sluice/udf.h>

#include "udf/compiler.h"

namespace sluice::udf {

using types::DataType;
using types::TypeId;

// The Arrow C Data Interface format of a type (Sluice's choices as include/sluice/udf.h says).
std::string ArrowFormat(const DataType& t) {
  switch (t.id()) {
    case TypeId::kNull:
      return "n";
    case TypeId::kBool:
      return "b";
    case TypeId::kInt8:
      return "c";
    case TypeId::kInt16:
      return "s";
    case TypeId::kInt32:
      return "i";
    case TypeId::kInt64:
      return "l";
    case TypeId::kUInt8:
      return "C";
    case TypeId::kUInt16:
      return "S";
    case TypeId::kUInt32:
      return "I";
    case TypeId::kUInt64:
      return "L";
    case TypeId::kFloat32:
      return "f";
    case TypeId::kFloat64:
      return "g";
    case TypeId::kDecimal:
      return fmt::format("d:{},{}", t.precision(), t.scale());
    case TypeId::kUtf8:
      return "u";
    case TypeId::kJson:
      return "u";
    case TypeId::kBinary:
      return "z";
    case TypeId::kDate:
      return "tdD";
    case TypeId::kTime:
      return "ttu";
    case TypeId::kTimestamp:
      return t.with_time_zone() ? "tsu:UTC" : "tsu:";
    case TypeId::kInterval:
      return "tin";
    case TypeId::kList:
      return "+l(" + ArrowFormat(t.element()) + ")";
    case TypeId::kStruct: {
      std::string s = "+s(";
      for (size_t i = 0; i < t.fields().size(); ++i) {
        s += (i ? "," : "") + ArrowFormat(t.fields()[i].type);
      }
      return s + ")";
    }
  }
  return "?";
}

std::string LibrarySignature(const FunctionSignature& sig) {
  std::vector<std::string> args;
  for (const auto& t : sig.param_types) args.push_back(ArrowFormat(t));
  return fmt::format("{}->{}|{}{}", fmt::join(args, ","), ArrowFormat(sig.return_type),
                     sig.strict ? "strict" : "called_on_null", sig.aggregate ? "|aggregate" : "");
}

std::string SqlSignature(const FunctionSignature& sig) {
  std::vector<std::string> params;
  for (size_t i = 0; i < sig.param_types.size(); ++i) {
    std::string type = sig.param_types[i].ToString();
    params.push_back(sig.param_names[i].empty() ? type : sig.param_names[i] + " " + type);
  }
  return fmt::format("{}({}) RETURNS {}", sig.name, fmt::join(params, ", "),
                     sig.return_type.ToString());
}

static std::string ParamName(const FunctionSignature& sig, size_t i) {
  return sig.param_names[i].empty() ? fmt::format("arg{}", i + 1) : sig.param_names[i];
}

// The message when the source has no function the glue can call: the two C++ signatures that
// match the SQL one. Starts with "SLUICE: " as the glue's static assertions do.
std::string ExpectedForms(const FunctionSignature& sig) {
  std::vector<std::string> row_params;
  std::vector<std::string> column_params;
  for (size_t i = 0; i < sig.param_types.size(); ++i) {
    std::string t = CppTypeName(sig.param_types[i], false);
    row_params.push_back((sig.strict ? t : fmt::format("std::optional<{}>", t)) + " " +
                         ParamName(sig, i));
    column_params.push_back(fmt::format("sluice_udf::Column<{}> {}", t, ParamName(sig, i)));
  }
  std::string r = CppTypeName(sig.return_type, true);
  column_params.push_back(fmt::format("sluice_udf::Output<{}>& out", r));
  std::string prefix = fmt::format("{}", fmt::join(row_params, ", "));
  if (!row_params.empty()) prefix += ", ";
  std::string text_form =
      r == "std::string"
          ? fmt::format(
                ", `bool {}({}sluice_udf::Text& result)` (row at a time, straight into "
                "the result column; false for NULL)",
                sig.name, prefix)
          : "";
  return fmt::format(
      "SLUICE: no C++ function {}() matches {}{}; define `{} {}({})` (row at a time; it may "
      "return std::optional<{}> for NULL), `bool {}({}{}& result)` (row at a time into a "
      "reused result; false for NULL){} or `void {}({})` (vectorized)",
      sig.name, SqlSignature(sig),
      sig.strict ? "" : " CALLED ON NULL INPUT (std::optional arguments)", r, sig.name,
      fmt::join(row_params, ", "), r, sig.name, prefix, r, text_form, sig.name,
      fmt::join(column_params, ", "));
}

// The compiler's diagnostics, turned into one message at the body's lines: errors in the
// user's unit as "line L, column C: error: ...", a static assertion of the glue (a signature
// that does not match) as its text, anything else as the compiler wrote it.
static std::string FormatDiagnostics(const FunctionSignature& sig, const std::string& unit,
                                     const std::string& diagnostics, const std::string& fallback) {
  std::vector<std::string> errors;
  std::vector<std::string> glue;
  std::vector<std::string> other;
  const std::regex located("^(.*?):([0-9]+):([0-9]+): (fatal error|error): (.*)$");
  std::istringstream in(diagnostics);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_match(line, m, located)) continue;
    std::string file = m[1].str();
    std::string text = m[5].str();
    size_t sa = text.find("SLUICE: ");
    if (sa != std::string::npos) {
      glue.push_back(text.substr(sa + 8));
    } else if (file == "sluice_glue_" + sig.name + ".cc") {
      glue.push_back(fallback.substr(8));
    } else if (file == unit) {
      int l = std::stoi(m[2].str());
      errors.push_back(fmt::format("line {}, column {} of the body (line {} of the SQL): {}: {}", l,
                                   m[3].str(), sig.body_line + l - 1, m[4].str(), text));
    } else {
      other.push_back(fmt::format("{}: {}", file, text));
    }
  }
  std::sort(glue.begin(), glue.end());
  glue.erase(std::unique(glue.begin(), glue.end()), glue.end());
  std::vector<std::string>& shown = !errors.empty() ? errors : !glue.empty() ? glue : other;
  if (shown.empty()) shown.push_back(diagnostics);
  if (shown.size() > 5) shown.resize(5);
  return fmt::format("function {} (LANGUAGE cpp) does not compile:\n  {}", sig.name,
                     fmt::join(shown, "\n  "));
}

std::string CppTypeName(const DataType& type, bool as_result) {
  switch (type.id()) {
    case TypeId::kBool:
      return "bool";
    case TypeId::kInt8:
      return "int8_t";
    case TypeId::kInt16:
      return "int16_t";
    case TypeId::kInt32:
      return "int32_t";
    case TypeId::kInt64:
      return "int64_t";
    case TypeId::kUInt8:
      return "uint8_t";
    case TypeId::kUInt16:
      return "uint16_t";
    case TypeId::kUInt32:
      return "uint32_t";
    case TypeId::kUInt64:
      return "uint64_t";
    case TypeId::kFloat32:
      return "float";
    case TypeId::kFloat64:
      return "double";
    case TypeId::kDecimal:
      return "sluice_udf::Decimal";
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary:
      return as_result ? "std::string" : "std::string_view";
    case TypeId::kDate:
      return "sluice_udf::Date";
    case TypeId::kTime:
      return "sluice_udf::Time";
    case TypeId::kTimestamp:
      return "sluice_udf::Timestamp";
    case TypeId::kInterval:
      return "sluice_udf::Interval";
    case TypeId::kList: {
      if (type.element().is_nested()) return "";  // lists of lists or structs: not yet
      std::string e = CppTypeName(type.element(), as_result);
      if (e.empty()) return "";
      return as_result ? fmt::format("std::vector<{}>", e) : fmt::format("sluice_udf::List<{}>", e);
    }
    case TypeId::kNull:
    case TypeId::kStruct:
      return "";
  }
  return "";
}

Result<std::string> GenerateCppSource(const FunctionSignature& sig, const std::string& source) {
  std::vector<std::string> arg_types;  // as declared to the glue (optional when not strict)
  for (size_t i = 0; i < sig.param_types.size(); ++i) {
    std::string t = CppTypeName(sig.param_types[i], false);
    if (t.empty()) {
      return Status::NotSupported(
          "parameter {} of function {} is {}: C++ functions take scalar types and arrays of "
          "them, not yet structs or nested arrays",
          i + 1, sig.name, sig.param_types[i].ToString());
    }
    arg_types.push_back(sig.strict ? t : fmt::format("std::optional<{}>", t));
  }
  std::string r = CppTypeName(sig.return_type, true);
  if (r.empty()) {
    return Status::NotSupported(
        "function {} RETURNS {}: C++ functions return scalar types and arrays of them, not yet "
        "structs or nested arrays",
        sig.name, sig.return_type.ToString());
  }
  std::string expected = ExpectedForms(sig);
  std::string returns =
      fmt::format("SLUICE: {} must return {} or std::optional<{}> to match RETURNS {}", sig.name, r,
                  r, sig.return_type.ToString());
  // Escape for a C string literal.
  auto quote = [](const std::string& s) {
    std::string q;
    for (char c : s) {
      if (c == '"' || c == '\\') q += '\\';
      q += c;
    }
    return q;
  };
  std::string args = fmt::format("{}", fmt::join(arg_types, ", "));
  std::string column_args;
  for (size_t i = 0; i < sig.param_types.size(); ++i) {
    column_args += fmt::format("sluice_udf::Column<{}>, ", CppTypeName(sig.param_types[i], false));
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
struct Call {{
  template <typename... A>
  auto operator()(A&&... a) const -> decltype(::{name}(std::forward<A>(a)...)) {{
    return ::{name}(std::forward<A>(a)...);
  }}
}};
constexpr bool kVectorized = std::is_invocable_v<Call&, {column_args}sluice_udf::Output<{r}>&>;
constexpr bool kRows = std::is_invocable_v<Call&, {args}>;
constexpr bool kRowsOut = std::is_invocable_v<Call&, {args}{comma}{r}&>;
constexpr bool kRowsText =
    std::is_same_v<{r}, std::string> && std::is_invocable_v<Call&, {args}{comma}sluice_udf::Text&>;
static_assert(kVectorized || kRows || kRowsOut || kRowsText, "{expected}");
template <bool kCheck>
constexpr bool ReturnsRight() {{
  if constexpr (kCheck) {{
    using Out = std::decay_t<std::invoke_result_t<std::conditional_t<kCheck, Call&, Call&>{comma}{args}>>;
    return sluice_udf::detail::Returns<Out, {r}>::value;
  }} else {{
    return true;
  }}
}}
static_assert(ReturnsRight<kRows && !kVectorized && !kRowsOut && !kRowsText>(), "{returns}");
}}  // namespace sluice_glue_
extern "C" __attribute__((visibility("default"))) uint32_t sluice_udf_abi_version(void) {{
  return SLUICE_UDF_ABI_VERSION;
}}
extern "C" __attribute__((visibility("default"))) const char* sluice_udf_signature(void) {{
  return "{signature}";
}}
extern "C" __attribute__((visibility("default"))) int32_t sluice_udf_scalar(
    SluiceUdfHost* host, const struct ArrowArray* const* args, int32_t num_args, int64_t length,
    struct ArrowArray* out, char* error, int64_t error_capacity) {{
  return sluice_udf::CallScalar<{strict}, {r}{comma}{args}>(sluice_glue_::Call{{}}, host, args,
      num_args, length, out, error, error_capacity);
}}
)",
      fmt::arg("name", sig.name), fmt::arg("source", source), fmt::arg("column_args", column_args),
      fmt::arg("r", r), fmt::arg("args", args), fmt::arg("expected", quote(expected)),
      fmt::arg("returns", quote(returns)), fmt::arg("signature", LibrarySignature(sig)),
      fmt::arg("strict", sig.strict ? "true" : "false"),
      fmt::arg("comma", arg_types.empty() ? "" : ", "));
}

std::string ExpectedAggregateForm(const FunctionSignature& sig) {
  std::vector<std::string> params;
  for (size_t i = 0; i < sig.param_types.size(); ++i) {
    std::string t = CppTypeName(sig.param_types[i], false);
    params.push_back((sig.strict ? t : fmt::format("std::optional<{}>", t)) + " " +
                     ParamName(sig, i));
  }
  std::string r = CppTypeName(sig.return_type, true);
  return fmt::format(
      "SLUICE: aggregate {} (CREATE AGGREGATE FUNCTION {}) must be a struct named {} with "
      "`void update({})`, `void merge(const {}& other)` and `{} finish() const` (or "
      "std::optional<{}>); optionally `void retract({})` for updating inputs",
      sig.name, SqlSignature(sig), sig.name, fmt::join(params, ", "), sig.name, r, r,
      fmt::join(params, ", "));
}

Result<std::string> GenerateCppAggregateSource(const FunctionSignature& sig,
                                               const std::string& source) {
  std::vector<std::string> arg_types;
  for (size_t i = 0; i < sig.param_types.size(); ++i) {
    std::string t = CppTypeName(sig.param_types[i], false);
    if (t.empty()) {
      return Status::NotSupported(
          "parameter {} of aggregate {} is {}: C++ aggregates take scalar types and arrays of "
          "them, not yet structs or nested arrays",
          i + 1, sig.name, sig.param_types[i].ToString());
    }
    arg_types.push_back(sig.strict ? t : fmt::format("std::optional<{}>", t));
  }
  std::string r = CppTypeName(sig.return_type, true);
  if (r.empty()) {
    return Status::NotSupported(
        "aggregate {} RETURNS {}: C++ aggregates return scalar types "
        "and arrays of them, not yet structs or nested arrays",
        sig.name, sig.return_type.ToString());
  }
  auto quote = [](const std::string& s) {
    std::string q;
    for (char c : s) {
      if (c == '"' || c == '\\') q += '\\';
      q += c;
    }
    return q;
  };
  std::string args = fmt::format("{}", fmt::join(arg_types, ", "));
  std::string expected = quote(ExpectedAggregateForm(sig));
  std::string serialize = quote(fmt::format(
      "SLUICE: the state of aggregate {} is not trivially copyable, so Sluice cannot checkpoint "
      "its bytes: define `void serialize(std::string& out) const` and `void "
      "deserialize(std::string_view in)` in struct {}",
      sig.name, sig.name));
  std::string returns = quote(
      fmt::format("SLUICE: {}::finish() must return {} or std::optional<{}> to match RETURNS {}",
                  sig.name, r, r, sig.return_type.ToString()));
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
constexpr bool kUpdate = requires(S s{comma}{params}) {{ s.update({call}); }};
template <typename S>
constexpr bool kMerge = requires(S s, const S& o) {{ s.merge(o); }};
template <typename S>
constexpr bool kFinish = requires(const S& s) {{ s.finish(); }};
template <typename S>
constexpr bool kSerialize = std::is_trivially_copyable_v<S> ||
    requires(const S& s, S& t, std::string& out, std::string_view in) {{
      s.serialize(out);
      t.deserialize(in);
    }};
static_assert(std::is_default_constructible_v<State> && kUpdate<State> && kMerge<State> &&
              kFinish<State>, "{expected}");
template <typename S>
constexpr bool ReturnsRight() {{
  if constexpr (kFinish<S>) {{
    using Out = std::decay_t<decltype(std::declval<const S&>().finish())>;
    return sluice_udf::detail::Returns<Out, {r}>::value;
  }} else {{
    return true;
  }}
}}
static_assert(ReturnsRight<State>(), "{returns}");
static_assert(kSerialize<State>, "{serialize}");
}}  // namespace sluice_glue_
extern "C" __attribute__((visibility("default"))) uint32_t sluice_udf_abi_version(void) {{
  return SLUICE_UDF_ABI_VERSION;
}}
extern "C" __attribute__((visibility("default"))) const char* sluice_udf_signature(void) {{
  return "{signature}";
}}
extern "C" __attribute__((visibility("default"))) const SluiceUdafVTable* sluice_udaf_vtable(void) {{
  return sluice_udf::AggregateGlue<sluice_glue_::State, {strict}, {r}{comma}{args}>::VTable();
}}
)",
      fmt::arg("name", sig.name), fmt::arg("source", source), fmt::arg("r", r),
      fmt::arg("args", args), fmt::arg("expected", expected), fmt::arg("returns", returns),
      fmt::arg("serialize", serialize), fmt::arg("signature", LibrarySignature(sig)),
      fmt::arg("strict", sig.strict ? "true" : "false"),
      fmt::arg("comma", arg_types.empty() ? "" : ", "),
      fmt::arg("params",
               [&] {
                 std::string p;
                 for (size_t i = 0; i < arg_types.size(); ++i) {
                   p += fmt::format("{}{} a{}", i ? ", " : "", arg_types[i], i);
                 }
                 return p;
               }()),
      fmt::arg("call", [&] {
        std::string c;
        for (size_t i = 0; i < arg_types.size(); ++i) c += fmt::format("{}a{}", i ? ", " : "", i);
        return c;
      }()));
}

#define SLUICE_UDF_ABI_STR_(x) #x
#define SLUICE_UDF_ABI_STR SLUICE_UDF_ABI_STR_(SLUICE_UDF_ABI_VERSION)

Result<void*> CompileAndOpen(const FunctionSignature& sig, const std::string& unit,
                             const std::string& fallback) {
  const std::string unit_name = sig.name + ".cc";
  SLUICE_ASSIGN_OR_RETURN(CompileResult compiled, CompileSharedLibrary(unit, unit_name));
  if (compiled.library_path.empty()) {
    return Status::User("{}", FormatDiagnostics(sig, unit_name, compiled.diagnostics, fallback));
  }
  // Loaded for the life of the process: plans and running tasks hold the function pointers.
  void* handle = dlopen(compiled.library_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    return Status::Io("cannot load the compiled function {} ({}): {}", sig.name,
                      compiled.library_path, dlerror());
  }
  auto version = reinterpret_cast<SluiceUdfAbiVersionFn>(dlsym(handle, "sluice_udf_abi_version"));
  auto signature = reinterpret_cast<SluiceUdfSignatureFn>(dlsym(handle, "sluice_udf_signature"));
  if (version == nullptr || signature == nullptr || version() < SLUICE_UDF_ABI_MIN_VERSION ||
      version() > SLUICE_UDF_ABI_VERSION || LibrarySignature(sig) != signature()) {
    return Status::Io(
        "the library {} does not hold function {} as declared (ABI version " SLUICE_UDF_ABI_STR
        ", "
        "signature {}); remove it from the UDF cache to recompile",
        compiled.library_path, sig.name, LibrarySignature(sig));
  }
  return handle;
}

}  // namespace sluice::udf
