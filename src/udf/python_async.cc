#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "udf/python_async.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <sluice/udf.h>

#include "udf/python_function.h"

namespace sluice::udf {

namespace {

using types::DataType;
using types::TypeId;

// The event loop of one instance: a thread running an asyncio loop; `start` hands it a list of
// (call, args) and returns; each coroutine's end completes its call through `complete` (a C
// function, below). `close` cancels what is running and joins the thread.
constexpr const char* kRunner = R"(
import asyncio, struct, threading

def _pack(kind, r):
    if kind == 'BIGINT':
        if isinstance(r, bool) or not isinstance(r, int):
            raise TypeError()
        return struct.pack('<q', r)
    if kind == 'DOUBLE':
        if isinstance(r, bool) or not isinstance(r, (int, float)):
            raise TypeError()
        return struct.pack('<d', float(r))
    if kind == 'BOOLEAN':
        if not isinstance(r, bool):
            raise TypeError()
        return b'\x01' if r else b'\x00'
    if kind == 'TEXT':
        if not isinstance(r, str):
            raise TypeError()
        return r.encode('utf-8')
    if not isinstance(r, (bytes, bytearray, memoryview)):
        raise TypeError()
    return bytes(r)

_PYTHON = {'BIGINT': 'int', 'DOUBLE': 'float', 'BOOLEAN': 'bool', 'TEXT': 'str', 'BYTEA': 'bytes'}

class Runner:
    def __init__(self, fn, kind, complete, filename, error_text):
        self.fn, self.kind, self.complete = fn, kind, complete
        self.filename, self.error_text = filename, error_text
        self.loop = asyncio.new_event_loop()
        self.tasks = set()
        self.thread = threading.Thread(target=self._run, name='sluice-py-async', daemon=True)
        self.thread.start()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.run_forever()

    def start(self, calls):
        self.loop.call_soon_threadsafe(self._begin, calls)

    def _begin(self, calls):
        for call, args in calls:
            t = self.loop.create_task(self._one(call, args))
            self.tasks.add(t)
            t.add_done_callback(self.tasks.discard)

    async def _one(self, call, args):
        try:
            r = await self.fn(*args)
        except asyncio.CancelledError:
            raise
        except Exception as e:
            text, line = self.error_text(e, self.filename)
            if line:
                text += ' (line %d of the body)' % line
            self.complete(call, 2, text.encode('utf-8', 'replace'))
            return
        if r is None:
            self.complete(call, 1, b'')
            return
        try:
            data = _pack(self.kind, r)
        except (TypeError, ValueError, OverflowError, struct.error):
            self.complete(call, 2, ('returned %s, not %s (RETURNS %s)' % (
                type(r).__name__, _PYTHON[self.kind], self.kind)).encode())
            return
        self.complete(call, 0, data)

    def close(self):
        def stop():
            for t in self.tasks:
                t.cancel()
            self.loop.stop()
        self.loop.call_soon_threadsafe(stop)
        self.thread.join()
        pending = [t for t in self.tasks if not t.done()]
        if pending:
            self.loop.run_until_complete(asyncio.wait(pending, timeout=1.0))
        self.loop.close()
)";

class Gil {
 public:
  Gil() : state_(PyGILState_Ensure()) {}
  ~Gil() { PyGILState_Release(state_); }
  Gil(const Gil&) = delete;
  Gil& operator=(const Gil&) = delete;

 private:
  PyGILState_STATE state_;
};

struct PyAsyncState {
  std::string name;
  PythonCallable callable;
  std::vector<DataType> arg_types;
  std::string kind;  // the result's SQL type: BIGINT, DOUBLE, BOOLEAN, TEXT or BYTEA
};

struct Instance {
  SluiceUdfAsyncHost* host = nullptr;
  const PyAsyncState* state = nullptr;
  PyObject* runner = nullptr;
};

// The Runner class and the interpreter's error_text helper, once (GIL held).
struct Helpers {
  PyObject* runner_class = nullptr;
  PyObject* error_text = nullptr;
  std::string error;
};
Helpers* GetHelpers() {
  static Helpers h;
  static bool done = false;
  if (done) return &h;
  done = true;
  PyObject* dict = PyDict_New();
  PyDict_SetItemString(dict, "__builtins__", PyEval_GetBuiltins());
  PyObject* r = PyRun_String(kRunner, Py_file_input, dict, dict);
  if (r == nullptr) {
    PyErr_Clear();
    h.error = "the asyncio runner does not start in this Python";
    return &h;
  }
  Py_DECREF(r);
  h.runner_class = Py_NewRef(PyDict_GetItemString(dict, "Runner"));
  PyObject* module = PyImport_AddModule("_sluice_udf");  // borrowed; LoadPythonScalar made it
  if (module != nullptr) {
    h.error_text = Py_XNewRef(PyDict_GetItemString(PyModule_GetDict(module), "error_text"));
  }
  PyErr_Clear();
  if (h.error_text == nullptr) h.error = "the interpreter's helpers are missing";
  return &h;
}

// The pending exception's text (GIL held).
std::string PendingError() {
  PyObject* type = nullptr;
  PyObject* exc = nullptr;
  PyObject* tb = nullptr;
  PyErr_Fetch(&type, &exc, &tb);
  std::string text = "unknown error";
  if (exc != nullptr) {
    if (PyObject* s = PyObject_Str(exc)) {
      if (const char* c = PyUnicode_AsUTF8(s)) text = c;
      Py_DECREF(s);
    }
  }
  Py_XDECREF(type);
  Py_XDECREF(exc);
  Py_XDECREF(tb);
  PyErr_Clear();
  return text;
}

void CopyError(const std::string& what, char* error, int64_t capacity) {
  if (capacity <= 0) return;
  size_t n = std::min(what.size(), static_cast<size_t>(capacity - 1));
  std::memcpy(error, what.data(), n);
  error[n] = '\0';
}

// complete(call, status, data): a coroutine's end, from the loop thread.
PyObject* Complete(PyObject* self, PyObject* args) {
  auto* host = static_cast<SluiceUdfAsyncHost*>(PyCapsule_GetPointer(self, "sluice_async_host"));
  unsigned long long call = 0;
  int status = 0;
  Py_buffer data;
  if (host == nullptr || !PyArg_ParseTuple(args, "Kiy*", &call, &status, &data)) return nullptr;
  // Outside the GIL: the host takes its own lock and wakes the task.
  Py_BEGIN_ALLOW_THREADS;
  host->complete(host, call, status, data.buf, static_cast<int64_t>(data.len));
  Py_END_ALLOW_THREADS;
  PyBuffer_Release(&data);
  Py_RETURN_NONE;
}
PyMethodDef kCompleteDef = {"complete", Complete, METH_VARARGS, nullptr};

void* Open(SluiceUdfAsyncHost* host, char* error, int64_t capacity) {
  const auto* st = static_cast<const PyAsyncState*>(
      static_cast<AsyncInstance*>(host->context)->function().state());
  Gil gil;
  Helpers* h = GetHelpers();
  if (!h->error.empty()) {
    CopyError(h->error, error, capacity);
    return nullptr;
  }
  PyObject* capsule = PyCapsule_New(host, "sluice_async_host", nullptr);
  PyObject* complete = capsule ? PyCFunction_New(&kCompleteDef, capsule) : nullptr;
  Py_XDECREF(capsule);
  PyObject* runner =
      complete ? PyObject_CallFunction(h->runner_class, "OsOsO",
                                       static_cast<PyObject*>(st->callable.fn), st->kind.c_str(),
                                       complete, st->callable.filename.c_str(), h->error_text)
               : nullptr;
  Py_XDECREF(complete);
  if (runner == nullptr) {
    CopyError(PendingError(), error, capacity);
    return nullptr;
  }
  return new Instance{host, st, runner};
}

void Close(void* p) {
  auto* in = static_cast<Instance*>(p);
  {
    Gil gil;
    PyObject* r = PyObject_CallMethod(in->runner, "close", nullptr);
    Py_XDECREF(r);
    PyErr_Clear();
    Py_DECREF(in->runner);
  }
  delete in;
}

// Row i of an argument array as a Python object (new reference).
PyObject* ToPython(const ArrowArray* a, const DataType& type, int64_t i) {
  switch (type.id()) {
    case TypeId::kInt64:
      return PyLong_FromLongLong(static_cast<const int64_t*>(a->buffers[1])[i]);
    case TypeId::kFloat64:
      return PyFloat_FromDouble(static_cast<const double*>(a->buffers[1])[i]);
    case TypeId::kBool:
      return PyBool_FromLong(sluice_udf::BitIsSet(a->buffers[1], i) ? 1 : 0);
    default: {
      const int32_t* o = static_cast<const int32_t*>(a->buffers[1]);
      const char* d = static_cast<const char*>(a->buffers[2]);
      if (type.id() == TypeId::kBinary) return PyBytes_FromStringAndSize(d + o[i], o[i + 1] - o[i]);
      return PyUnicode_DecodeUTF8(d + o[i], o[i + 1] - o[i], "replace");
    }
  }
}

int32_t Start(void* p, const ArrowArray* const* args, int32_t num_args, int64_t begin, int64_t end,
              uint64_t first, char* error, int64_t capacity) {
  auto* in = static_cast<Instance*>(p);
  const PyAsyncState& st = *in->state;
  if (num_args != static_cast<int32_t>(st.arg_types.size())) {
    CopyError("wrong number of arguments", error, capacity);
    return 1;
  }
  std::vector<uint64_t> nulls;  // calls whose row has a NULL the function does not take
  {
    Gil gil;
    PyObject* calls = PyList_New(0);
    for (int64_t i = begin; i < end && calls != nullptr; ++i) {
      const uint64_t call = first + static_cast<uint64_t>(i - begin);
      PyObject* tuple = PyTuple_New(num_args);
      bool null = false;
      for (int32_t k = 0; k < num_args && tuple != nullptr; ++k) {
        const ArrowArray* a = args[k];
        if (a->buffers[0] != nullptr && !sluice_udf::BitIsSet(a->buffers[0], i)) {
          if (!st.callable.optional[static_cast<size_t>(k)]) {
            null = true;
            break;
          }
          PyTuple_SET_ITEM(tuple, k, Py_NewRef(Py_None));
        } else {
          PyTuple_SET_ITEM(tuple, k, ToPython(a, st.arg_types[static_cast<size_t>(k)], i));
        }
      }
      if (null || tuple == nullptr) {
        Py_XDECREF(tuple);
        if (null) nulls.push_back(call);
        continue;
      }
      PyObject* item = Py_BuildValue("(KN)", static_cast<unsigned long long>(call), tuple);
      if (item == nullptr || PyList_Append(calls, item) != 0) {
        Py_XDECREF(item);
        Py_CLEAR(calls);
        break;
      }
      Py_DECREF(item);
    }
    PyObject* r = calls ? PyObject_CallMethod(in->runner, "start", "O", calls) : nullptr;
    Py_XDECREF(calls);
    if (r == nullptr) {
      CopyError(PendingError(), error, capacity);
      return 1;
    }
    Py_DECREF(r);
  }
  for (uint64_t call : nulls) in->host->complete(in->host, call, SLUICE_UDF_ASYNC_NULL, nullptr, 0);
  return 0;
}

const SluiceUdfAsyncVTable kVTable = {SLUICE_UDF_ABI_VERSION, &Open, &Close, &Start};

std::string KindOf(const DataType& t) {
  switch (t.id()) {
    case TypeId::kInt64:
      return "BIGINT";
    case TypeId::kFloat64:
      return "DOUBLE";
    case TypeId::kBool:
      return "BOOLEAN";
    case TypeId::kBinary:
      return "BYTEA";
    default:
      return "TEXT";
  }
}

}  // namespace

Result<LoadedPythonAsync> LoadPythonAsync(const FunctionSignature& declared, bool declared_types,
                                          const AsyncOptions& options, const std::string& source) {
  SLUICE_ASSIGN_OR_RETURN(LoadedPythonFunction loaded,
                          LoadPythonScalar(declared, declared_types, source, /*for_async=*/true));
  auto st = std::make_shared<PyAsyncState>();
  st->name = declared.name;
  st->callable = PythonCallableOf(*loaded.function);
  st->arg_types = loaded.signature.param_types;
  st->kind = KindOf(loaded.signature.return_type);
  LoadedPythonAsync out;
  out.signature = loaded.signature;
  out.function = std::make_shared<const AsyncFunction>(loaded.signature, options, &kVTable,
                                                       std::shared_ptr<const void>(st));
  return out;
}

}  // namespace sluice::udf
