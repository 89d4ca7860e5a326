#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "udf/python_async.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <vector>

#include <fmt/format.h>
#include <sluice/udf.h>

#include "udf/python_function.h"
#include "udf/python_gil.h"

namespace sluice::udf {

namespace {

using types::DataType;
using types::TypeId;

// The event loop of one instance: a thread running an asyncio loop. Sluice's `start` copies the
// rows' arguments into a queue and writes a byte to a pipe, without the GIL (a task thread
// waiting for the GIL while the loop thread runs Python waits the interpreter's switch
// interval, 5 ms, per batch of calls); the loop reads the pipe, takes the queue as a list of
// (call, args) through `take` and starts a coroutine per call; each coroutine's end completes
// its call through `complete` (C functions, below). `close` cancels what is running and joins
// the thread.
constexpr const char* kRunner = R"(
import asyncio, os, struct, threading

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
    def __init__(self, fn, kind, complete, take, wake_fd, filename, error_text):
        self.fn, self.kind, self.complete, self.take = fn, kind, complete, take
        self.wake_fd = wake_fd
        self.filename, self.error_text = filename, error_text
        self.loop = asyncio.new_event_loop()
        self.tasks = set()
        self.thread = threading.Thread(target=self._run, name='sluice-py-async', daemon=True)
        self.thread.start()

    def _run(self):
        asyncio.set_event_loop(self.loop)
        self.loop.add_reader(self.wake_fd, self._wake)
        self.loop.run_forever()

    def _wake(self):
        try:
            os.read(self.wake_fd, 4096)
        except BlockingIOError:
            pass
        for call, args in self.take():
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
        self.loop.remove_reader(self.wake_fd)
        pending = [t for t in self.tasks if not t.done()]
        if pending:
            self.loop.run_until_complete(asyncio.wait(pending, timeout=1.0))
        self.loop.close()
)";

struct PyAsyncState {
  std::string name;
  PythonCallable callable;
  std::vector<DataType> arg_types;
  std::string kind;  // the result's SQL type: BIGINT, DOUBLE, BOOLEAN, TEXT or BYTEA
};

// One argument value of a queued call (the row's bytes copied: the arrays are borrowed only
// during `start`).
struct Value {
  bool none = false;
  int64_t i = 0;
  double d = 0;
  std::string s;
};
struct Queued {
  uint64_t call = 0;
  std::vector<Value> args;
};

struct Instance {
  SluiceUdfAsyncHost* host = nullptr;
  const PyAsyncState* state = nullptr;
  PyObject* runner = nullptr;
  int wake[2] = {-1, -1};  // pipe: start writes, the loop reads
  std::mutex mu;
  std::vector<Queued> queue;  // started, not yet taken by the loop
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

PyObject* ValueToPython(const Value& v, const DataType& type) {
  if (v.none) return Py_NewRef(Py_None);
  switch (type.id()) {
    case TypeId::kInt64:
      return PyLong_FromLongLong(v.i);
    case TypeId::kFloat64:
      return PyFloat_FromDouble(v.d);
    case TypeId::kBool:
      return PyBool_FromLong(v.i != 0 ? 1 : 0);
    case TypeId::kBinary:
      return PyBytes_FromStringAndSize(v.s.data(), static_cast<Py_ssize_t>(v.s.size()));
    default:
      return PyUnicode_DecodeUTF8(v.s.data(), static_cast<Py_ssize_t>(v.s.size()), "replace");
  }
}

// take(): the queued calls as a list of (call, args), on the loop thread (GIL held).
PyObject* Take(PyObject* self, PyObject*) {
  auto* in = static_cast<Instance*>(PyCapsule_GetPointer(self, "sluice_async_instance"));
  if (in == nullptr) return nullptr;
  std::vector<Queued> taken;
  {
    std::lock_guard<std::mutex> lock(in->mu);
    taken.swap(in->queue);
  }
  const auto& types = in->state->arg_types;
  PyObject* list = PyList_New(static_cast<Py_ssize_t>(taken.size()));
  if (list == nullptr) return nullptr;
  for (size_t r = 0; r < taken.size(); ++r) {
    PyObject* tuple = PyTuple_New(static_cast<Py_ssize_t>(types.size()));
    if (tuple == nullptr) {
      Py_DECREF(list);
      return nullptr;
    }
    for (size_t k = 0; k < types.size(); ++k) {
      PyTuple_SET_ITEM(tuple, static_cast<Py_ssize_t>(k),
                       ValueToPython(taken[r].args[k], types[k]));
    }
    PyList_SET_ITEM(list, static_cast<Py_ssize_t>(r),
                    Py_BuildValue("(KN)", static_cast<unsigned long long>(taken[r].call), tuple));
  }
  return list;
}
PyMethodDef kTakeDef = {"take", Take, METH_NOARGS, nullptr};

void* Open(SluiceUdfAsyncHost* host, char* error, int64_t capacity) {
  const auto* st = static_cast<const PyAsyncState*>(
      static_cast<AsyncInstance*>(host->context)->function().state());
  auto in = std::make_unique<Instance>();
  in->host = host;
  in->state = st;
  if (pipe2(in->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
    CopyError(std::string("cannot create a pipe: ") + std::strerror(errno), error, capacity);
    return nullptr;
  }
  auto fail = [&](const std::string& what) -> void* {
    CopyError(what, error, capacity);
    close(in->wake[0]);
    close(in->wake[1]);
    return nullptr;
  };
  Gil gil;
  Helpers* h = GetHelpers();
  if (!h->error.empty()) return fail(h->error);
  PyObject* capsule = PyCapsule_New(host, "sluice_async_host", nullptr);
  PyObject* complete = capsule ? PyCFunction_New(&kCompleteDef, capsule) : nullptr;
  Py_XDECREF(capsule);
  PyObject* self = PyCapsule_New(in.get(), "sluice_async_instance", nullptr);
  PyObject* take = self ? PyCFunction_New(&kTakeDef, self) : nullptr;
  Py_XDECREF(self);
  PyObject* runner = nullptr;
  if (complete != nullptr && take != nullptr) {
    runner = PyObject_CallFunction(
        h->runner_class, "OsOOisO", static_cast<PyObject*>(st->callable.fn), st->kind.c_str(),
        complete, take, in->wake[0], st->callable.filename.c_str(), h->error_text);
  }
  Py_XDECREF(complete);
  Py_XDECREF(take);
  if (runner == nullptr) return fail(PendingError());
  in->runner = runner;
  return in.release();
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
  close(in->wake[0]);
  close(in->wake[1]);
  delete in;
}

// Copies row i of each argument into `args`; false when an argument is NULL and its parameter
// does not take None (the row is then NULL without a call).
bool CopyRow(const PyAsyncState& st, const ArrowArray* const* arrays, int64_t i,
             std::vector<Value>* args) {
  for (size_t k = 0; k < st.arg_types.size(); ++k) {
    const ArrowArray* a = arrays[k];
    Value& v = (*args)[k];
    v.none = a->buffers[0] != nullptr && !sluice_udf::BitIsSet(a->buffers[0], i);
    if (v.none) {
      if (!st.callable.optional[k]) return false;
      continue;
    }
    switch (st.arg_types[k].id()) {
      case TypeId::kInt64:
        v.i = static_cast<const int64_t*>(a->buffers[1])[i];
        break;
      case TypeId::kFloat64:
        v.d = static_cast<const double*>(a->buffers[1])[i];
        break;
      case TypeId::kBool:
        v.i = sluice_udf::BitIsSet(a->buffers[1], i) ? 1 : 0;
        break;
      default: {
        const int32_t* o = static_cast<const int32_t*>(a->buffers[1]);
        v.s.assign(static_cast<const char*>(a->buffers[2]) + o[i],
                   static_cast<size_t>(o[i + 1] - o[i]));
      }
    }
  }
  return true;
}

// Queues the rows' calls for the loop thread and wakes it: no GIL on the task's thread.
int32_t Start(void* p, const ArrowArray* const* args, int32_t num_args, int64_t begin, int64_t end,
              uint64_t first, char* error, int64_t capacity) {
  auto* in = static_cast<Instance*>(p);
  const PyAsyncState& st = *in->state;
  if (num_args != static_cast<int32_t>(st.arg_types.size())) {
    CopyError("wrong number of arguments", error, capacity);
    return 1;
  }
  std::vector<Queued> rows;
  std::vector<uint64_t> nulls;  // calls whose row has a NULL the function does not take
  rows.reserve(static_cast<size_t>(end - begin));
  for (int64_t i = begin; i < end; ++i) {
    Queued q;
    q.call = first + static_cast<uint64_t>(i - begin);
    q.args.resize(st.arg_types.size());
    if (CopyRow(st, args, i, &q.args)) {
      rows.push_back(std::move(q));
    } else {
      nulls.push_back(q.call);
    }
  }
  if (!rows.empty()) {
    bool was_empty;
    {
      std::lock_guard<std::mutex> lock(in->mu);
      was_empty = in->queue.empty();
      if (was_empty) {
        in->queue.swap(rows);
      } else {
        for (Queued& q : rows) in->queue.push_back(std::move(q));
      }
    }
    if (was_empty) {
      const char byte = 1;
      if (write(in->wake[1], &byte, 1) < 0 && errno != EAGAIN) {
        CopyError(std::string("cannot wake the event loop: ") + std::strerror(errno), error,
                  capacity);
        return 1;
      }
    }
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
