#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "udf/python_function.h"
#include "udf/python_gil.h"

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <mutex>

#include <fmt/format.h>
#include <sluice/udf.h>

#include "batch/column_builder.h"
#include "udf/cpp_glue.h"

namespace sluice::udf {

namespace {

namespace fs = std::filesystem;
using batch::Buffer;
using batch::Column;
using batch::ColumnPtr;
using types::DataType;
using types::TypeId;

// Helpers run inside the interpreter: the hints of a function, and an exception's text with
// the line of the function's body it was raised at.
constexpr const char* kHelpers = R"(
import inspect, sys, traceback, types, typing
_SQL = {int: 'BIGINT', float: 'DOUBLE', str: 'TEXT', bool: 'BOOLEAN', bytes: 'BYTEA'}
def describe(fn):
    try:
        import pyarrow
        arrow = pyarrow.Array
    except ImportError:
        arrow = None
    hints = typing.get_type_hints(fn)
    out = []
    for p in list(inspect.signature(fn).parameters) + ['return']:
        h = hints.get(p)
        if h is None:
            out.append((p, 'MISSING', False))
            continue
        optional = False
        if typing.get_origin(h) in (typing.Union, types.UnionType) and type(None) in typing.get_args(h):
            rest = [a for a in typing.get_args(h) if a is not type(None)]
            if len(rest) == 1:
                h, optional = rest[0], True
        if arrow is not None and isinstance(h, type) and issubclass(h, arrow):
            out.append((p, 'ARROW', optional))
        else:
            out.append((p, _SQL.get(h, 'UNSUPPORTED ' + getattr(h, '__name__', repr(h))), optional))
    return out
def error_text(exc, filename):
    line = getattr(exc, 'lineno', None) if isinstance(exc, SyntaxError) and exc.filename == filename else None
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return (''.join(traceback.format_exception_only(type(exc), exc)).strip(), line or 0)
)";

struct Interpreter {
  PyObject* helpers = nullptr;       // the helpers' module dict
  PyObject* import_array = nullptr;  // pyarrow.Array._import_from_c, or nullptr
  std::string venv_note;
};

// The venv with pyarrow: $SLUICE_PYTHON_VENV, else build/venv beside build/release/sluice.
std::string VenvDir() {
  if (const char* v = std::getenv("SLUICE_PYTHON_VENV"); v && *v) return v;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return "";
  for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path();
       dir = dir.parent_path()) {
    if (fs::exists(dir / "venv" / "pyvenv.cfg")) return (dir / "venv").string();
  }
  return "";
}

Interpreter* GetInterpreter() {
  static Interpreter interp;
  static std::once_flag once;
  std::call_once(once, [] {
    Py_InitializeEx(0);  // 0: Sluice keeps its own signal handlers
    std::string venv = VenvDir();
    if (!venv.empty()) {
      std::error_code ec;
      for (const auto& e : fs::directory_iterator(fs::path(venv) / "lib", ec)) {
        fs::path site = e.path() / "site-packages";
        if (!fs::exists(site)) continue;
        if (PyObject* site_module = PyImport_ImportModule("site")) {
          PyObject* r = PyObject_CallMethod(site_module, "addsitedir", "s", site.c_str());
          Py_XDECREF(r);
          Py_DECREF(site_module);
        }
        PyErr_Clear();
      }
    }
    PyObject* module = PyImport_AddModule("_sluice_udf");  // borrowed
    PyObject* dict = PyModule_GetDict(module);             // borrowed
    PyDict_SetItemString(dict, "__builtins__", PyEval_GetBuiltins());
    PyObject* r = PyRun_String(kHelpers, Py_file_input, dict, dict);
    if (r == nullptr) PyErr_Print();
    Py_XDECREF(r);
    interp.helpers = dict;
    if (PyObject* pa = PyImport_ImportModule("pyarrow")) {
      PyObject* array = PyObject_GetAttrString(pa, "Array");
      if (array) interp.import_array = PyObject_GetAttrString(array, "_import_from_c");
      Py_XDECREF(array);
      Py_DECREF(pa);
    }
    PyErr_Clear();
    PyEval_SaveThread();  // the GIL is taken per call, by whichever thread calls
  });
  return &interp;
}

// The pending Python exception as text, with the body's line when it has one.
std::string TakeError(const std::string& filename, int* line) {
  PyObject* type = nullptr;
  PyObject* exc = nullptr;
  PyObject* tb = nullptr;
  PyErr_Fetch(&type, &exc, &tb);
  *line = 0;
  if (type == nullptr) return "unknown error";
  PyErr_NormalizeException(&type, &exc, &tb);
  if (tb != nullptr) PyException_SetTraceback(exc, tb);
  Py_XDECREF(type);
  Py_XDECREF(tb);
  if (exc == nullptr) return "unknown error";
  std::string text = "an exception";
  PyObject* fn = PyDict_GetItemString(GetInterpreter()->helpers, "error_text");
  PyObject* r = fn ? PyObject_CallFunction(fn, "Os", exc, filename.c_str()) : nullptr;
  if (r != nullptr && PyTuple_Check(r) && PyTuple_Size(r) == 2) {
    const char* s = PyUnicode_AsUTF8(PyTuple_GetItem(r, 0));
    if (s) text = s;
    *line = static_cast<int>(PyLong_AsLong(PyTuple_GetItem(r, 1)));
  }
  PyErr_Clear();
  Py_XDECREF(r);
  Py_DECREF(exc);
  return text;
}

struct PyFunction {
  std::string name;
  std::string filename;
  bool coroutine = false;  // an `async def`
  PyObject* fn = nullptr;  // a strong reference, never released (lives with the process)
  std::vector<DataType> arg_types;
  std::vector<bool> optional;  // per argument: sees NULL as None
  DataType return_type;
};

Status CallFailed(const PyFunction& f) {
  int line = 0;
  std::string text = TakeError(f.filename, &line);
  if (line > 0) {
    return Status::User("user-defined function {}() failed: {} (line {} of the body)", f.name, text,
                        line);
  }
  return Status::User("user-defined function {}() failed: {}", f.name, text);
}

PyObject* ToPython(const Column& c, int64_t i) {
  switch (c.type.id()) {
    case TypeId::kInt64:
      return PyLong_FromLongLong(c.raw<int64_t>()[i]);
    case TypeId::kFloat64:
      return PyFloat_FromDouble(c.raw<double>()[i]);
    case TypeId::kBool:
      return PyBool_FromLong(c.GetBool(i));
    case TypeId::kBinary: {
      auto s = c.GetString(i);
      return PyBytes_FromStringAndSize(s.data(), static_cast<Py_ssize_t>(s.size()));
    }
    default: {
      auto s = c.GetString(i);
      return PyUnicode_DecodeUTF8(s.data(), static_cast<Py_ssize_t>(s.size()), "replace");
    }
  }
}

// Appends a Python value to `out`; false (with a Python error set or not) when it is not of
// the return type.
bool AppendPython(PyObject* v, batch::ColumnBuilder* out) {
  if (v == Py_None) {
    out->AppendNull();
    return true;
  }
  switch (out->type().id()) {
    case TypeId::kInt64: {
      if (!PyLong_Check(v)) return false;
      int64_t x = PyLong_AsLongLong(v);
      if (x == -1 && PyErr_Occurred()) return false;
      out->AppendFixed<int64_t>(x);
      return true;
    }
    case TypeId::kFloat64: {
      if (!PyFloat_Check(v) && !PyLong_Check(v)) return false;
      double x = PyFloat_AsDouble(v);
      if (x == -1.0 && PyErr_Occurred()) return false;
      out->AppendFixed<double>(x);
      return true;
    }
    case TypeId::kBool:
      if (!PyBool_Check(v)) return false;
      out->AppendBool(v == Py_True);
      return true;
    case TypeId::kBinary: {
      char* data = nullptr;
      Py_ssize_t n = 0;
      if (!PyBytes_Check(v) || PyBytes_AsStringAndSize(v, &data, &n) != 0) return false;
      out->AppendString(std::string_view(data, static_cast<size_t>(n)));
      return true;
    }
    default: {
      if (!PyUnicode_Check(v)) return false;
      Py_ssize_t n = 0;
      const char* s = PyUnicode_AsUTF8AndSize(v, &n);
      if (s == nullptr) return false;
      out->AppendString(std::string_view(s, static_cast<size_t>(n)));
      return true;
    }
  }
}

Status RowKernel(const expr::BoundFunction& fn, std::span<const ColumnPtr> args, int64_t rows,
                 ColumnPtr* out) {
  const auto& f = *static_cast<const PyFunction*>(fn.state.get());
  batch::ColumnBuilder builder(f.return_type);
  builder.Reserve(rows);
  Gil gil;
  const size_t n = args.size();
  for (int64_t i = 0; i < rows; ++i) {
    bool skip = false;
    for (size_t k = 0; k < n; ++k) skip |= args[k]->IsNull(i) && !f.optional[k];
    if (skip) {
      builder.AppendNull();
      continue;
    }
    PyObject* tuple = PyTuple_New(static_cast<Py_ssize_t>(n));
    for (size_t k = 0; k < n; ++k) {
      PyObject* v = args[k]->IsNull(i) ? Py_NewRef(Py_None) : ToPython(*args[k], i);
      if (v == nullptr) {
        Py_DECREF(tuple);
        return CallFailed(f);
      }
      PyTuple_SET_ITEM(tuple, static_cast<Py_ssize_t>(k), v);
    }
    PyObject* r = PyObject_CallObject(f.fn, tuple);
    Py_DECREF(tuple);
    if (r == nullptr) return CallFailed(f);
    bool ok = AppendPython(r, &builder);
    std::string type_name = Py_TYPE(r)->tp_name;
    Py_DECREF(r);
    if (!ok) {
      PyErr_Clear();
      return Status::User(
          "user-defined function {}() returned a Python {} where its result is "
          "{}",
          f.name, type_name, f.return_type.ToString());
    }
  }
  *out = builder.Finish();
  return Status::Ok();
}

// --- vectorized: columns to pyarrow and back through the Arrow C Data Interface.

// A column exported to a consumer that may keep it: the arrays own a reference to the column.
struct ExportedColumn {
  ColumnPtr column;
  const void* buffers[3] = {nullptr, nullptr, nullptr};
};
struct ExportedSchema {
  std::string format;
};

void ReleaseArray(ArrowArray* a) {
  delete static_cast<ExportedColumn*>(a->private_data);
  a->release = nullptr;
}
void ReleaseSchema(ArrowSchema* s) {
  delete static_cast<ExportedSchema*>(s->private_data);
  s->release = nullptr;
}

void Export(const ColumnPtr& column, ArrowArray* a, ArrowSchema* s) {
  auto* holder = new ExportedColumn{column};
  holder->buffers[0] = column->validity ? column->validity->data() : nullptr;
  holder->buffers[1] = column->values ? column->values->data() : nullptr;
  holder->buffers[2] = column->data ? column->data->data() : nullptr;
  *a = ArrowArray{};
  a->length = column->length;
  a->null_count = column->validity ? -1 : 0;
  a->n_buffers = column->type.is_string_like() ? 3 : 2;
  a->buffers = holder->buffers;
  a->release = ReleaseArray;
  a->private_data = holder;
  auto* schema = new ExportedSchema{ArrowFormat(column->type)};
  *s = ArrowSchema{};
  s->format = schema->format.c_str();
  s->name = "";
  s->flags = ARROW_FLAG_NULLABLE;
  s->release = ReleaseSchema;
  s->private_data = schema;
}

// Copies `length` bits starting at bit `offset` of `src` into a new bitmap.
batch::BufferPtr CopyBits(const void* src, int64_t offset, int64_t length) {
  auto out = std::make_shared<Buffer>();
  out->ResizeZeroed(static_cast<size_t>((length + 7) / 8));
  const auto* bits = static_cast<const uint8_t*>(src);
  if (offset % 8 == 0) {
    std::memcpy(out->data(), bits + offset / 8, static_cast<size_t>((length + 7) / 8));
  } else {
    for (int64_t i = 0; i < length; ++i) {
      if (batch::GetBit(bits, offset + i)) batch::SetBit(out->data(), i);
    }
  }
  return out;
}

// A pyarrow result (exported into a, s) as a Sluice column of `type`, copied.
Result<ColumnPtr> Import(const ArrowArray& a, const ArrowSchema& s, const DataType& type,
                         const std::string& name) {
  const std::string want = ArrowFormat(type);
  if (want != s.format) {
    return Status::User(
        "user-defined function {}() returned a pyarrow array of format '{}' "
        "where its result {} is '{}' (cast it, e.g. with pyarrow.compute.cast)",
        name, s.format, type.ToString(), want);
  }
  auto column = std::make_shared<Column>();
  column->type = type;
  column->length = a.length;
  if (a.null_count != 0 && a.buffers[0] != nullptr) {
    column->validity = CopyBits(a.buffers[0], a.offset, a.length);
  }
  if (type.id() == TypeId::kBool) {
    column->values = CopyBits(a.buffers[1], a.offset, a.length);
  } else if (type.is_string_like()) {
    const auto* offsets = static_cast<const int32_t*>(a.buffers[1]) + a.offset;
    auto values = std::make_shared<Buffer>();
    values->Resize(static_cast<size_t>(a.length + 1) * 4);
    int32_t base = offsets[0];
    for (int64_t i = 0; i <= a.length; ++i) values->as<int32_t>()[i] = offsets[i] - base;
    auto data = std::make_shared<Buffer>();
    data->Append(static_cast<const char*>(a.buffers[2]) + base,
                 static_cast<size_t>(offsets[a.length] - base));
    column->values = values;
    column->data = data;
  } else {
    const int width = type.byte_width();
    auto values = std::make_shared<Buffer>();
    values->Append(static_cast<const uint8_t*>(a.buffers[1]) + a.offset * width,
                   static_cast<size_t>(a.length * width));
    column->values = values;
  }
  return ColumnPtr(std::move(column));
}

Status VectorKernel(const expr::BoundFunction& fn, std::span<const ColumnPtr> args, int64_t rows,
                    ColumnPtr* out) {
  const auto& f = *static_cast<const PyFunction*>(fn.state.get());
  Interpreter* interp = GetInterpreter();
  Gil gil;
  const size_t n = args.size();
  PyObject* tuple = PyTuple_New(static_cast<Py_ssize_t>(n));
  for (size_t k = 0; k < n; ++k) {
    ArrowArray a;
    ArrowSchema s;
    Export(args[k], &a, &s);
    PyObject* arr =
        PyObject_CallFunction(interp->import_array, "KK",
                              static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(&a)),
                              static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(&s)));
    if (a.release) a.release(&a);  // not moved (an error): release here
    if (s.release) s.release(&s);
    if (arr == nullptr) {
      Py_DECREF(tuple);
      return CallFailed(f);
    }
    PyTuple_SET_ITEM(tuple, static_cast<Py_ssize_t>(k), arr);
  }
  PyObject* r = PyObject_CallObject(f.fn, tuple);
  Py_DECREF(tuple);
  if (r == nullptr) return CallFailed(f);
  if (PyObject_HasAttrString(r, "combine_chunks")) {  // a ChunkedArray
    PyObject* combined = PyObject_CallMethod(r, "combine_chunks", nullptr);
    Py_DECREF(r);
    if (combined == nullptr) return CallFailed(f);
    r = combined;
  }
  if (!PyObject_HasAttrString(r, "_export_to_c")) {
    std::string type_name = Py_TYPE(r)->tp_name;
    Py_DECREF(r);
    return Status::User(
        "user-defined function {}() returned a Python {} where a vectorized "
        "function returns a pyarrow array",
        f.name, type_name);
  }
  ArrowArray a{};
  ArrowSchema s{};
  PyObject* done = PyObject_CallMethod(
      r, "_export_to_c", "KK", static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(&a)),
      static_cast<unsigned long long>(reinterpret_cast<uintptr_t>(&s)));
  Py_DECREF(r);
  if (done == nullptr) return CallFailed(f);
  Py_DECREF(done);
  Result<ColumnPtr> column = Import(a, s, f.return_type, f.name);
  if (a.release) a.release(&a);
  if (s.release) s.release(&s);
  if (!column.ok()) return column.status();
  if ((*column)->length != rows) {
    return Status::User("user-defined function {}() returned {} rows for a batch of {}", f.name,
                        (*column)->length, rows);
  }
  *out = column.MoveValue();
  return Status::Ok();
}

Result<DataType> SqlType(const std::string& name) {
  if (name == "BIGINT") return types::Int64();
  if (name == "DOUBLE") return types::Float64();
  if (name == "TEXT") return types::Utf8();
  if (name == "BOOLEAN") return types::Bool();
  if (name == "BYTEA") return DataType(TypeId::kBinary);
  return Status::NotSupported("{}", name);
}

bool VectorizableType(const DataType& t) {
  return (t.is_numeric() && t.id() != TypeId::kDecimal) || t.id() == TypeId::kBool ||
         t.is_string_like();
}

// --- aggregates: one instance of the user's class per group.

struct PyAggregate {
  std::string name;
  std::string filename;
  PyObject* cls = nullptr;  // strong reference, lives with the process
  std::vector<DataType> arg_types;
  std::vector<bool> optional;
  DataType return_type;
  bool retractable = false;
};

Status AggregateFailed(const PyAggregate& a) {
  int line = 0;
  std::string text = TakeError(a.filename, &line);
  if (line > 0) {
    return Status::User("user-defined aggregate {}() failed: {} (line {} of the body)", a.name,
                        text, line);
  }
  return Status::User("user-defined aggregate {}() failed: {}", a.name, text);
}

class PyAggregateState final : public expr::AggregateState {
 public:
  explicit PyAggregateState(std::shared_ptr<const PyAggregate> agg) : agg_(std::move(agg)) {}
  ~PyAggregateState() override {
    Gil gil;
    for (PyObject* o : states_) Py_XDECREF(o);
  }
  void Resize(int64_t groups) override {
    if (groups <= num_groups()) return;
    Gil gil;
    while (num_groups() < groups) states_.push_back(NewInstance());
  }
  int64_t num_groups() const override { return static_cast<int64_t>(states_.size()); }
  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    return Apply(args, groups, n, "update");
  }
  bool retractable() const override { return agg_->retractable; }
  Status Retract(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (!agg_->retractable) {
      return Status::NotSupported("aggregate {}() has no retract()", agg_->name);
    }
    return Apply(args, groups, n, "retract");
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const auto& o = static_cast<const PyAggregateState&>(other);
    Gil gil;
    PyObject* r = PyObject_CallMethod(states_[dst], "merge", "O", o.states_[src]);
    if (r == nullptr && deferred_.ok()) deferred_ = AggregateFailed(*agg_);
    Py_XDECREF(r);
  }
  void Clear(uint32_t g) override {
    Gil gil;
    Py_XDECREF(states_[g]);
    states_[g] = NewInstance();
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    if (!deferred_.ok()) return deferred_;
    Gil gil;
    batch::ColumnBuilder builder(agg_->return_type);
    for (int64_t i = 0; i < n; ++i) {
      PyObject* r = PyObject_CallMethod(states_[groups[i]], "finish", nullptr);
      if (r == nullptr) return AggregateFailed(*agg_);
      bool ok = AppendPython(r, &builder);
      std::string type_name = Py_TYPE(r)->tp_name;
      Py_DECREF(r);
      if (!ok) {
        PyErr_Clear();
        return Status::User(
            "user-defined aggregate {}() returned a Python {} where its result "
            "is {}",
            agg_->name, type_name, agg_->return_type.ToString());
      }
    }
    return builder.Finish();
  }
  int64_t MemoryBytes() const override { return num_groups() * 64; }

  // Checkpoints: pickle of each instance's __dict__ (the class itself lives in the SQL).
  bool serializable() const override { return true; }
  Status SerializeEachGroup(const uint32_t* groups, int64_t n,
                            batch::ColumnBuilder* out) const override {
    Gil gil;
    PyObject* pickle = PyImport_ImportModule("pickle");
    if (pickle == nullptr) return AggregateFailed(*agg_);
    Status st;
    for (int64_t i = 0; i < n && st.ok(); ++i) {
      PyObject* dict = PyObject_GetAttrString(states_[groups[i]], "__dict__");
      PyObject* bytes = dict ? PyObject_CallMethod(pickle, "dumps", "O", dict) : nullptr;
      Py_XDECREF(dict);
      char* data = nullptr;
      Py_ssize_t len = 0;
      if (bytes == nullptr || PyBytes_AsStringAndSize(bytes, &data, &len) != 0) {
        st = AggregateFailed(*agg_);
      } else {
        out->AppendString(std::string_view(data, static_cast<size_t>(len)));
      }
      Py_XDECREF(bytes);
    }
    Py_DECREF(pickle);
    return st;
  }
  Status DeserializeEachGroup(const batch::Column& values, const int32_t* rows,
                              const uint32_t* groups, int64_t n) override {
    Gil gil;
    PyObject* pickle = PyImport_ImportModule("pickle");
    if (pickle == nullptr) return AggregateFailed(*agg_);
    Status st;
    for (int64_t i = 0; i < n && st.ok(); ++i) {
      std::string_view b = values.GetString(rows ? rows[i] : i);
      PyObject* dict =
          PyObject_CallMethod(pickle, "loads", "y#", b.data(), static_cast<Py_ssize_t>(b.size()));
      PyObject* target = dict ? PyObject_GetAttrString(states_[groups[i]], "__dict__") : nullptr;
      if (target == nullptr || PyDict_Update(target, dict) != 0) st = AggregateFailed(*agg_);
      Py_XDECREF(target);
      Py_XDECREF(dict);
    }
    Py_DECREF(pickle);
    return st;
  }

 private:
  PyObject* NewInstance() {
    PyObject* o = PyObject_CallNoArgs(agg_->cls);
    if (o == nullptr) {
      if (deferred_.ok()) deferred_ = AggregateFailed(*agg_);
      o = Py_NewRef(Py_None);
    }
    return o;
  }
  Status Apply(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n,
               const char* method) {
    if (!deferred_.ok()) return deferred_;
    Gil gil;
    const size_t k = args.size();
    for (int64_t i = 0; i < n; ++i) {
      bool skip = false;
      for (size_t a = 0; a < k; ++a) skip |= args[a]->IsNull(i) && !agg_->optional[a];
      if (skip) continue;
      PyObject* tuple = PyTuple_New(static_cast<Py_ssize_t>(k));
      for (size_t a = 0; a < k; ++a) {
        PyObject* v = args[a]->IsNull(i) ? Py_NewRef(Py_None) : ToPython(*args[a], i);
        if (v == nullptr) {
          Py_DECREF(tuple);
          return AggregateFailed(*agg_);
        }
        PyTuple_SET_ITEM(tuple, static_cast<Py_ssize_t>(a), v);
      }
      PyObject* bound = PyObject_GetAttrString(states_[groups[i]], method);
      PyObject* r = bound ? PyObject_CallObject(bound, tuple) : nullptr;
      Py_XDECREF(bound);
      Py_DECREF(tuple);
      if (r == nullptr) return AggregateFailed(*agg_);
      Py_DECREF(r);
    }
    return Status::Ok();
  }

  std::shared_ptr<const PyAggregate> agg_;
  std::vector<PyObject*> states_;
  Status deferred_;
};

class PyAggregateFunction final : public expr::AggregateFunction {
 public:
  explicit PyAggregateFunction(std::shared_ptr<const PyAggregate> agg) : agg_(std::move(agg)) {}
  std::unique_ptr<expr::AggregateState> NewState() const override {
    return std::make_unique<PyAggregateState>(agg_);
  }

 private:
  std::shared_ptr<const PyAggregate> agg_;
};

}  // namespace

PythonCallable PythonCallableOf(const expr::BoundFunction& fn) {
  const auto* f = static_cast<const PyFunction*>(fn.state.get());
  PythonCallable c;
  c.fn = f->fn;
  c.optional = f->optional;
  c.filename = f->filename;
  c.coroutine = f->coroutine;
  return c;
}

Result<LoadedPythonFunction> LoadPythonScalar(const FunctionSignature& declared,
                                              bool declared_types, const std::string& source,
                                              bool for_async) {
  Interpreter* interp = GetInterpreter();
  Gil gil;
  auto f = std::make_shared<PyFunction>();
  f->name = declared.name;
  f->filename = declared.name + ".py";
  auto compile_error = [&](const std::string& what) {
    int line = 0;
    std::string text = TakeError(f->filename, &line);
    if (line > 0) {
      return Status::User(
          "function {} (LANGUAGE python) {}: line {} of the body (line {} of the "
          "SQL): {}",
          declared.name, what, line, declared.body_line + line - 1, text);
    }
    return Status::User("function {} (LANGUAGE python) {}: {}", declared.name, what, text);
  };
  PyObject* code = Py_CompileString(source.c_str(), f->filename.c_str(), Py_file_input);
  if (code == nullptr) return compile_error("does not compile");
  PyObject* globals = PyDict_New();
  PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
  if (PyObject* module_name = PyUnicode_FromString(f->name.c_str())) {
    PyDict_SetItemString(globals, "__name__", module_name);
    Py_DECREF(module_name);
  }
  PyObject* ran = PyEval_EvalCode(code, globals, globals);
  Py_DECREF(code);
  if (ran == nullptr) return compile_error("failed while its source ran");
  Py_DECREF(ran);
  PyObject* fn = PyDict_GetItemString(globals, f->name.c_str());  // borrowed
  if (fn == nullptr || !PyCallable_Check(fn)) {
    return Status::User(
        "the source of function {} (LANGUAGE python) defines no function named "
        "{}; write `def {}(x: int) -> int: ...` (type hints give the SQL "
        "signature)",
        f->name, f->name, f->name);
  }
  f->fn = Py_NewRef(fn);
  {
    PyObject* inspect = PyImport_ImportModule("inspect");
    PyObject* r = inspect ? PyObject_CallMethod(inspect, "iscoroutinefunction", "O", fn) : nullptr;
    f->coroutine = r != nullptr && PyObject_IsTrue(r) == 1;
    Py_XDECREF(r);
    Py_XDECREF(inspect);
    PyErr_Clear();
  }
  if (f->coroutine && !for_async) {
    return Status::User(
        "function {} (LANGUAGE python) is an `async def`: declare it CREATE ASYNC FUNCTION {} "
        "... LANGUAGE python, or make it a plain `def`",
        f->name, f->name);
  }
  if (for_async && !f->coroutine) {
    return Status::User(
        "async function {} (LANGUAGE python) must be an `async def {}(...)` coroutine function "
        "(a plain `def` is CREATE FUNCTION)",
        f->name, f->name);
  }
  PyObject* describe = PyDict_GetItemString(interp->helpers, "describe");
  PyObject* hints = PyObject_CallFunctionObjArgs(describe, fn, nullptr);
  if (hints == nullptr) return compile_error("has type hints Sluice cannot read");
  std::vector<std::tuple<std::string, std::string, bool>> described;
  for (Py_ssize_t i = 0; i < PyList_Size(hints); ++i) {
    PyObject* t = PyList_GetItem(hints, i);
    described.emplace_back(PyUnicode_AsUTF8(PyTuple_GetItem(t, 0)),
                           PyUnicode_AsUTF8(PyTuple_GetItem(t, 1)),
                           PyObject_IsTrue(PyTuple_GetItem(t, 2)) == 1);
  }
  Py_DECREF(hints);
  LoadedPythonFunction loaded;
  loaded.signature = declared;
  bool arrow = false;
  for (const auto& [p, t, opt] : described) arrow |= t == "ARROW";
  const size_t nparams = described.size() - 1;
  if (arrow && for_async) {
    return Status::NotSupported(
        "async function {} (LANGUAGE python) takes pyarrow arrays: async Python functions are "
        "called per row, with int, float, str, bool, bytes or Optional[...] hints",
        f->name);
  }
  if (arrow) {
    // Vectorized: the SQL signature is the declared one.
    if (!declared_types) {
      return Status::User(
          "function {} takes pyarrow arrays, so its SQL types must be declared: "
          "CREATE FUNCTION {}(x BIGINT, ...) RETURNS DOUBLE LANGUAGE python ...",
          f->name, f->name);
    }
    if (declared.param_types.size() != nparams) {
      return Status::User(
          "function {} is declared with {} parameters but its Python function "
          "takes {}",
          f->name, declared.param_types.size(), nparams);
    }
    if (interp->import_array == nullptr) {
      return Status::User(
          "function {} takes pyarrow arrays but pyarrow cannot be imported "
          "(install it into the venv in $SLUICE_PYTHON_VENV, e.g. build/venv)",
          f->name);
    }
    for (const auto& t : declared.param_types) {
      if (!VectorizableType(t)) {
        return Status::NotSupported(
            "vectorized Python function {} takes {}: columns of numbers, "
            "booleans and text cross to pyarrow so far",
            f->name, t.ToString());
      }
    }
    if (!VectorizableType(declared.return_type)) {
      return Status::NotSupported(
          "vectorized Python function {} returns {}: numbers, booleans "
          "and text so far",
          f->name, declared.return_type.ToString());
    }
    f->arg_types = declared.param_types;
    f->optional.assign(nparams, true);
    f->return_type = declared.return_type;
    loaded.vectorized = true;
  } else {
    for (size_t i = 0; i <= nparams; ++i) {
      const auto& [p, t, opt] = described[i];
      std::string what = i == nparams ? "the return value" : "parameter " + p;
      if (t == "MISSING") {
        return Status::User(
            "function {} (LANGUAGE python): {} has no type hint; type hints "
            "give the SQL signature (int, float, str, bool, bytes, Optional[...], "
            "or pyarrow.Array for a vectorized function)",
            f->name, what);
      }
      auto type = SqlType(t);
      if (!type.ok()) {
        return Status::NotSupported(
            "function {} (LANGUAGE python): {} is hinted {}; Python "
            "functions take int, float, str, bool, bytes and "
            "Optional[...] of them so far",
            f->name, what, t.substr(t.find(' ') + 1));
      }
      if (i == nparams) {
        f->return_type = *type;
      } else {
        f->arg_types.push_back(*type);
        f->optional.push_back(opt);
      }
    }
    if (declared_types &&
        (declared.param_types != f->arg_types || declared.return_type != f->return_type)) {
      loaded.signature.param_types = f->arg_types;
      loaded.signature.return_type = f->return_type;
      return Status::User(
          "function {} is declared {} but its type hints say {}; drop the SQL "
          "types or make them agree",
          f->name, SqlSignature(declared), SqlSignature(loaded.signature));
    }
    loaded.signature.param_names.clear();
    for (size_t i = 0; i < nparams; ++i)
      loaded.signature.param_names.push_back(std::get<0>(described[i]));
    loaded.signature.param_types = f->arg_types;
    loaded.signature.return_type = f->return_type;
  }
  bool any_optional = false;
  for (bool o : f->optional) any_optional |= o;
  expr::BoundFunction bound;
  bound.name = f->name;
  bound.arg_types = f->arg_types;
  bound.return_type = f->return_type;
  bound.kernel = loaded.vectorized ? VectorKernel : RowKernel;
  bound.deterministic = declared.deterministic;
  // Per row: NULLs are handled per argument by the kernel. Vectorized: the function sees them.
  bound.null_propagating = false;
  (void)any_optional;
  bound.state = std::move(f);
  loaded.function = std::make_shared<const expr::BoundFunction>(std::move(bound));
  return loaded;
}

Result<LoadedPythonAggregate> LoadPythonAggregate(const FunctionSignature& declared,
                                                  bool declared_types, const std::string& source) {
  Interpreter* interp = GetInterpreter();
  Gil gil;
  auto agg = std::make_shared<PyAggregate>();
  agg->name = declared.name;
  agg->filename = declared.name + ".py";
  auto compile_error = [&](const std::string& what) {
    int line = 0;
    std::string text = TakeError(agg->filename, &line);
    if (line > 0) {
      return Status::User(
          "aggregate {} (LANGUAGE python) {}: line {} of the body (line {} of "
          "the SQL): {}",
          declared.name, what, line, declared.body_line + line - 1, text);
    }
    return Status::User("aggregate {} (LANGUAGE python) {}: {}", declared.name, what, text);
  };
  PyObject* code = Py_CompileString(source.c_str(), agg->filename.c_str(), Py_file_input);
  if (code == nullptr) return compile_error("does not compile");
  PyObject* globals = PyDict_New();
  PyDict_SetItemString(globals, "__builtins__", PyEval_GetBuiltins());
  if (PyObject* module_name = PyUnicode_FromString(agg->name.c_str())) {
    PyDict_SetItemString(globals, "__name__", module_name);
    Py_DECREF(module_name);
  }
  PyObject* ran = PyEval_EvalCode(code, globals, globals);
  Py_DECREF(code);
  if (ran == nullptr) return compile_error("failed while its source ran");
  Py_DECREF(ran);
  PyObject* cls = PyDict_GetItemString(globals, agg->name.c_str());  // borrowed
  auto has = [&](const char* m) { return cls && PyObject_HasAttrString(cls, m); };
  if (cls == nullptr || !PyType_Check(cls) || !has("update") || !has("merge") || !has("finish")) {
    return Status::User(
        "the source of aggregate {} (LANGUAGE python) must define a class {} "
        "with update(self, x: int) (type hints give the SQL argument types), "
        "merge(self, other) and finish(self) -> int; retract(self, x) is "
        "optional (updating inputs need it)",
        agg->name, agg->name);
  }
  agg->cls = Py_NewRef(cls);
  agg->retractable = has("retract");
  PyObject* describe = PyDict_GetItemString(interp->helpers, "describe");
  auto hints_of = [&](const char* method,
                      std::vector<std::tuple<std::string, std::string, bool>>* out) -> bool {
    PyObject* m = PyObject_GetAttrString(cls, method);
    PyObject* hints = m ? PyObject_CallFunctionObjArgs(describe, m, nullptr) : nullptr;
    Py_XDECREF(m);
    if (hints == nullptr) return false;
    for (Py_ssize_t i = 0; i < PyList_Size(hints); ++i) {
      PyObject* t = PyList_GetItem(hints, i);
      out->emplace_back(PyUnicode_AsUTF8(PyTuple_GetItem(t, 0)),
                        PyUnicode_AsUTF8(PyTuple_GetItem(t, 1)),
                        PyObject_IsTrue(PyTuple_GetItem(t, 2)) == 1);
    }
    Py_DECREF(hints);
    return true;
  };
  std::vector<std::tuple<std::string, std::string, bool>> update, finish;
  if (!hints_of("update", &update) || !hints_of("finish", &finish)) {
    return compile_error("has type hints Sluice cannot read");
  }
  LoadedPythonAggregate loaded;
  loaded.signature = declared;
  loaded.signature.param_names.clear();
  loaded.signature.param_types.clear();
  // update's parameters after self, then finish's return value.
  for (size_t i = 1; i + 1 < update.size(); ++i) {
    const auto& [p, t, opt] = update[i];
    auto type = SqlType(t);
    if (!type.ok()) {
      return Status::User(
          "aggregate {} (LANGUAGE python): parameter {} of update() is {}; "
          "hint it int, float, str, bool, bytes or Optional[...] of them",
          agg->name, p, t == "MISSING" ? "not hinted" : "hinted " + t);
    }
    agg->arg_types.push_back(*type);
    agg->optional.push_back(opt);
    loaded.signature.param_names.push_back(p);
    loaded.signature.param_types.push_back(*type);
  }
  auto ret = SqlType(std::get<1>(finish.back()));
  if (!ret.ok()) {
    return Status::User(
        "aggregate {} (LANGUAGE python): finish() must be hinted -> int, float, "
        "str, bool, bytes or Optional[...] of them",
        agg->name);
  }
  agg->return_type = *ret;
  loaded.signature.return_type = *ret;
  if (declared_types && (declared.param_types != loaded.signature.param_types ||
                         declared.return_type != loaded.signature.return_type)) {
    return Status::User(
        "aggregate {} is declared {} but its type hints say {}; drop the SQL "
        "types or make them agree",
        agg->name, SqlSignature(declared), SqlSignature(loaded.signature));
  }
  loaded.retractable = agg->retractable;
  loaded.function = std::make_shared<PyAggregateFunction>(std::move(agg));
  return loaded;
}

}  // namespace sluice::udf
