// C++ UDFs against the same function built in: one call of the function's kernel over a batch
// of 4096 rows, as the evaluator makes it. The UDFs are compiled (or taken from the UDF cache)
// when the benchmark starts, with the flags Sluice uses at planning time. Reported as rows per
// second of one thread. Variants: no NULLs, and 10 % NULLs (STRICT functions skip those rows).

#include <benchmark/benchmark.h>

#include <cstdlib>
#include <random>

#include "batch/column_builder.h"
#include "expr/function.h"
#include "udf/native_function.h"
#include "udf/python_function.h"

namespace sluice {
namespace {

using batch::ColumnBuilder;
using batch::ColumnPtr;
using types::DataType;
using types::TypeId;

constexpr int64_t kRows = 4096;

ColumnPtr MakeColumn(TypeId type, bool nulls) {
  std::mt19937_64 rng(42);
  ColumnBuilder b{DataType(type)};
  for (int64_t i = 0; i < kRows; ++i) {
    if (nulls && rng() % 10 == 0) {
      b.AppendNull();
    } else if (type == TypeId::kInt64) {
      b.AppendFixed<int64_t>(static_cast<int64_t>(rng() % 2000001) - 1000000);
    } else if (type == TypeId::kFloat64) {
      b.AppendFixed<double>(static_cast<double>(rng() % 1000000) / 7.0);
    } else {
      const char* words[] = {"Apple", "google", "FaceBook", "baidu and more text here"};
      b.AppendString(words[rng() % 4]);
    }
  }
  return b.Finish();
}

std::shared_ptr<const expr::BoundFunction> BuiltIn(const std::string& name, TypeId type) {
  expr::BindInput in;
  in.types = {DataType(type)};
  in.constants = {std::nullopt};
  auto bound = expr::FunctionRegistry::Get().Bind(name, in);
  if (!bound.ok()) std::abort();
  return std::make_shared<const expr::BoundFunction>(bound.MoveValue());
}

std::shared_ptr<const expr::BoundFunction> Udf(const std::string& name, TypeId type,
                                               const std::string& source) {
  udf::FunctionSignature sig;
  sig.name = name;
  sig.param_names = {"x"};
  sig.param_types = {DataType(type)};
  sig.return_type = DataType(type);
  auto loaded = udf::LoadCppScalar(sig, source);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
    std::abort();
  }
  return loaded.MoveValue();
}

void Run(benchmark::State& state, const expr::BoundFunction& fn, TypeId type) {
  ColumnPtr input = MakeColumn(type, state.range(0) != 0);
  std::vector<ColumnPtr> args = {input};
  for (auto _ : state) {
    ColumnPtr out;
    if (!fn.kernel(fn, args, kRows, &out).ok()) std::abort();
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations() * kRows);
}

const char* kAbsVectorized = R"(
void abs_vec(sluice_udf::Column<int64_t> x, sluice_udf::Output<int64_t>& out) {
  const int64_t* in = x.data();
  int64_t* o = out.data();
  for (int64_t i = 0; i < x.size(); ++i) o[i] = in[i] < 0 ? -in[i] : in[i];
}
)";
const char* kAbsRow = "int64_t abs_row(int64_t x) { return x < 0 ? -x : x; }";
const char* kSqrtVectorized = R"(
#include <cmath>
void sqrt_vec(sluice_udf::Column<double> x, sluice_udf::Output<double>& out) {
  const double* in = x.data();
  double* o = out.data();
  for (int64_t i = 0; i < x.size(); ++i) o[i] = std::sqrt(in[i]);
}
)";
const char* kSqrtRow = "#include <cmath>\ndouble sqrt_row(double x) { return std::sqrt(x); }";
// Like the built-in: offsets copied, the bytes converted in one pass.
const char* kUpperVectorized = R"(
#include <cstring>
void upper_vec(sluice_udf::Column<std::string_view> x, sluice_udf::Output<std::string>& out) {
  const int32_t* offsets = static_cast<const int32_t*>(x.arrow().buffers[1]);
  const char* in = static_cast<const char*>(x.arrow().buffers[2]);
  const int64_t n = x.size();
  const int64_t bytes = offsets[n];
  std::memcpy(out.raw_offsets(), offsets, static_cast<size_t>(n + 1) * sizeof(int32_t));
  char* o = out.raw_data(bytes);
  for (int64_t i = 0; i < bytes; ++i) {
    char c = in[i];
    o[i] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  }
}
)";
const char* kUpperRow = R"(
std::string upper_row(std::string_view s) {
  std::string r(s);
  for (char& c : r) if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return r;
}
)";

void BM_Udf_Abs_BuiltIn(benchmark::State& s) {
  static auto fn = BuiltIn("abs", TypeId::kInt64);
  Run(s, *fn, TypeId::kInt64);
}
void BM_Udf_Abs_CppVectorized(benchmark::State& s) {
  static auto fn = Udf("abs_vec", TypeId::kInt64, kAbsVectorized);
  Run(s, *fn, TypeId::kInt64);
}
void BM_Udf_Abs_CppRow(benchmark::State& s) {
  static auto fn = Udf("abs_row", TypeId::kInt64, kAbsRow);
  Run(s, *fn, TypeId::kInt64);
}
void BM_Udf_Sqrt_BuiltIn(benchmark::State& s) {
  static auto fn = BuiltIn("sqrt", TypeId::kFloat64);
  Run(s, *fn, TypeId::kFloat64);
}
void BM_Udf_Sqrt_CppVectorized(benchmark::State& s) {
  static auto fn = Udf("sqrt_vec", TypeId::kFloat64, kSqrtVectorized);
  Run(s, *fn, TypeId::kFloat64);
}
void BM_Udf_Sqrt_CppRow(benchmark::State& s) {
  static auto fn = Udf("sqrt_row", TypeId::kFloat64, kSqrtRow);
  Run(s, *fn, TypeId::kFloat64);
}
const char* kUpperRowOut = R"(
bool upper_out(std::string_view s, std::string& out) {
  out.assign(s);
  for (char& c : out) if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return true;
}
)";
// The same two row functions with the body of the vectorized UDF and the built-in (a select,
// not a branch, per byte): the row bodies above branch on each byte, and with mixed-case words
// the branch mispredicts, which costs more than the call path being measured.
const char* kUpperRowSelect = R"(
std::string upper_row_sel(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  return r;
}
)";
const char* kUpperRowOutSelect = R"(
bool upper_out_sel(std::string_view s, std::string& out) {
  out.assign(s);
  for (char& c : out) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  return true;
}
)";
// Straight into the result column (sluice_udf::Text&): the original body, the select body, and
// the select body writing each byte once (resize_for_overwrite, then data()).
const char* kUpperRowText = R"(
bool upper_text(std::string_view s, sluice_udf::Text& out) {
  out.assign(s);
  for (char& c : out) if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
  return true;
}
)";
const char* kUpperRowTextSelect = R"(
bool upper_text_sel(std::string_view s, sluice_udf::Text& out) {
  out.assign(s);
  for (char& c : out) c = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  return true;
}
)";
const char* kUpperRowTextOnePass = R"(
bool upper_text_1p(std::string_view s, sluice_udf::Text& out) {
  out.resize_for_overwrite(s.size());
  char* o = out.data();
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    o[i] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
  }
  return true;
}
)";
void BM_Udf_Upper_CppRowText(benchmark::State& s) {
  static auto fn = Udf("upper_text", TypeId::kUtf8, kUpperRowText);
  Run(s, *fn, TypeId::kUtf8);
}
void BM_Udf_Upper_CppRowTextSelect(benchmark::State& s) {
  static auto fn = Udf("upper_text_sel", TypeId::kUtf8, kUpperRowTextSelect);
  Run(s, *fn, TypeId::kUtf8);
}
void BM_Udf_Upper_CppRowTextOnePass(benchmark::State& s) {
  static auto fn = Udf("upper_text_1p", TypeId::kUtf8, kUpperRowTextOnePass);
  Run(s, *fn, TypeId::kUtf8);
}
void BM_Udf_Upper_CppRowSelect(benchmark::State& s) {
  static auto fn = Udf("upper_row_sel", TypeId::kUtf8, kUpperRowSelect);
  Run(s, *fn, TypeId::kUtf8);
}
void BM_Udf_Upper_CppRowOutSelect(benchmark::State& s) {
  static auto fn = Udf("upper_out_sel", TypeId::kUtf8, kUpperRowOutSelect);
  Run(s, *fn, TypeId::kUtf8);
}
void BM_Udf_Upper_CppRowOut(benchmark::State& s) {
  static auto fn = Udf("upper_out", TypeId::kUtf8, kUpperRowOut);
  Run(s, *fn, TypeId::kUtf8);
}
void BM_Udf_Upper_BuiltIn(benchmark::State& s) {
  static auto fn = BuiltIn("upper", TypeId::kUtf8);
  Run(s, *fn, TypeId::kUtf8);
}
void BM_Udf_Upper_CppVectorized(benchmark::State& s) {
  static auto fn = Udf("upper_vec", TypeId::kUtf8, kUpperVectorized);
  Run(s, *fn, TypeId::kUtf8);
}
void BM_Udf_Upper_CppRow(benchmark::State& s) {
  static auto fn = Udf("upper_row", TypeId::kUtf8, kUpperRow);
  Run(s, *fn, TypeId::kUtf8);
}

// Python: x * 2 + 1 over DOUBLE, vectorized (pyarrow.compute on the batch's array, crossing
// the Arrow C Data Interface both ways) and per row, against the built-in expression's two
// kernels being out of reach here; the target is rows per second per core.
std::shared_ptr<const expr::BoundFunction> Python(const std::string& name,
                                                  const std::string& source, bool declared) {
  udf::FunctionSignature sig;
  sig.name = name;
  sig.param_names = {"x"};
  sig.param_types = {types::Float64()};
  sig.return_type = types::Float64();
  auto loaded = udf::LoadPythonScalar(sig, declared, source);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
    std::abort();
  }
  return loaded->function;
}

void BM_Udf_Python_Vectorized(benchmark::State& s) {
  static auto fn = Python("py_vec", R"(
import pyarrow as pa
import pyarrow.compute as pc
def py_vec(x: pa.Array) -> pa.Array:
    return pc.add(pc.multiply(x, 2.0), 1.0)
)",
                          true);
  Run(s, *fn, TypeId::kFloat64);
}
void BM_Udf_Python_Row(benchmark::State& s) {
  static auto fn = Python("py_row", R"(
def py_row(x: float) -> float:
    return x * 2.0 + 1.0
)",
                          false);
  Run(s, *fn, TypeId::kFloat64);
}

// Argument: 0 = no NULLs, 1 = 10 % NULLs.
BENCHMARK(BM_Udf_Python_Vectorized)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Python_Row)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Abs_BuiltIn)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Abs_CppVectorized)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Abs_CppRow)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Sqrt_BuiltIn)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Sqrt_CppVectorized)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Sqrt_CppRow)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Upper_BuiltIn)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Upper_CppVectorized)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Upper_CppRow)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Upper_CppRowOut)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Upper_CppRowSelect)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Upper_CppRowOutSelect)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Upper_CppRowText)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Upper_CppRowTextSelect)->Arg(0)->Arg(1);
BENCHMARK(BM_Udf_Upper_CppRowTextOnePass)->Arg(0)->Arg(1);

}  // namespace
}  // namespace sluice
