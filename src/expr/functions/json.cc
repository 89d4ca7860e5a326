// JSON functions over JSON (or TEXT) values, parsed with simdjson's DOM parser: Arroyo's
// json_get_* family and extract_json*, and Postgres' -> / ->> operators. Input that is not
// valid JSON yields NULL rather than an error, as in Arroyo, so one bad event does not stop a
// pipeline.

#include <simdjson.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "expr/functions/overload.h"
#include "expr/functions/row_loops.h"
#include "expr/kernel_util.h"

namespace sluice::expr {
namespace {

namespace dom = simdjson::dom;

const DataType kText = types::Utf8();
const DataType kJson = DataType(TypeId::kJson);
const DataType kBigint = types::Int64();

// Parses one value. The parser and the padded copy are per thread and reused, so parsing a
// row allocates nothing once they have grown to the largest document seen. The element stays
// valid until the next call on the same thread.
bool ParseJson(std::string_view text, dom::element* root) {
  thread_local dom::parser parser;
  thread_local std::string padded;
  if (padded.size() < text.size() + simdjson::SIMDJSON_PADDING) {
    padded.resize(text.size() + simdjson::SIMDJSON_PADDING);
  }
  if (!text.empty()) std::memcpy(padded.data(), text.data(), text.size());
  return parser.parse(padded.data(), text.size(), false).get(*root) == simdjson::SUCCESS;
}

// Serializes an element as compact JSON text. simdjson's string_builder is reused across rows
// (its public to_string() returns a fresh std::string per call).
class JsonWriter {
 public:
  std::string_view Write(dom::element e) {
    builder_.clear();
    builder_.append(e);
    return builder_.str();
  }

 private:
  simdjson::internal::string_builder<> builder_;
};

// ---------------------------------------------------------------------------------------------
// Path arguments of json_get_*, -> and ->>: text keys and integer array indexes.

// Follows one path argument; false when the key or index is absent or the value has the
// wrong shape. Negative indexes count from the end, as Postgres' -> does.
bool Step(dom::element* e, const Column& arg, int64_t row) {
  if (arg.type.is_integer()) {
    dom::array array;
    if (e->get_array().get(array) != simdjson::SUCCESS) return false;
    int64_t index = arg.raw<int64_t>()[row];
    int64_t size = static_cast<int64_t>(array.size());
    if (index < 0) index += size;
    if (index < 0 || index >= size) return false;
    return array.at(static_cast<size_t>(index)).get(*e) == simdjson::SUCCESS;
  }
  dom::object object;
  if (e->get_object().get(object) != simdjson::SUCCESS) return false;
  return object.at_key(arg.GetString(row)).get(*e) == simdjson::SUCCESS;
}

// Parses row `row` of args[0] and follows args[1..]; false for invalid JSON or a missing path.
bool Locate(std::span<const ColumnPtr> args, int64_t row, dom::element* e) {
  if (!ParseJson(args[0]->GetString(row), e)) return false;
  for (size_t k = 1; k < args.size(); ++k) {
    if (!Step(e, *args[k], row)) return false;
  }
  return true;
}

// JSON documents may arrive as JSON or TEXT; both share a layout and are read as they are.
std::optional<DataType> JsonArgumentType(const DataType& t) {
  if (t.id() == TypeId::kJson || t.id() == TypeId::kUtf8) return t;
  if (t.id() == TypeId::kNull) return kJson;
  if (ConvertsTo(t, kJson)) return kJson;
  if (ConvertsTo(t, kText)) return kText;
  return std::nullopt;
}

// (json, key_or_index...) with between min_path and max_path path arguments.
BindFn JsonPathFunction(DataType ret, Kernel kernel, size_t min_path, size_t max_path) {
  return [ret, kernel, min_path, max_path](const BindInput& in) -> Result<BoundFunction> {
    auto bad = [&] {
      return NoMatchingSignature(
          in.name, in,
          max_path == 1 ? "(JSON, TEXT) or (JSON, BIGINT)" : "(JSON, TEXT or BIGINT...)");
    };
    size_t n = in.types.size();
    if (n < 1 + min_path || n > 1 + max_path) return bad();
    auto doc = JsonArgumentType(in.types[0]);
    if (!doc) return bad();
    BoundFunction fn;
    fn.arg_types.push_back(*doc);
    for (size_t k = 1; k < n; ++k) {
      const DataType& t = in.types[k];
      if (t.is_integer() && ConvertsTo(t, kBigint)) {
        fn.arg_types.push_back(kBigint);
      } else if (ConvertsTo(t, kText)) {
        fn.arg_types.push_back(kText);
      } else {
        return bad();
      }
    }
    fn.return_type = ret;
    fn.kernel = kernel;
    return fn;
  };
}

Status GetStrKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                    ColumnPtr* out) {
  auto op = [&](int64_t i, std::string* r) {
    dom::element e;
    std::string_view s;
    if (!Locate(args, i, &e) || e.get_string().get(s) != simdjson::SUCCESS) return false;
    r->append(s);
    return true;
  };
  return StoreResult(MapStringRows(f.name, args, rows, f.return_type, op), out);
}

Status GetIntKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                    ColumnPtr* out) {
  auto op = [&](int64_t i, int64_t* r) {
    dom::element e;
    return Locate(args, i, &e) && e.is_int64() && e.get_int64().get(*r) == simdjson::SUCCESS;
  };
  return StoreResult(MapFixedRows<int64_t>(args, rows, kBigint, op), out);
}

Status GetFloatKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                      ColumnPtr* out) {
  auto op = [&](int64_t i, double* r) {
    dom::element e;
    // get_double() converts integers too: any JSON number is accepted.
    return Locate(args, i, &e) && e.is_number() && e.get_double().get(*r) == simdjson::SUCCESS;
  };
  return StoreResult(MapFixedRows<double>(args, rows, types::Float64(), op), out);
}

Status GetBoolKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                     ColumnPtr* out) {
  auto op = [&](int64_t i, bool* r) {
    dom::element e;
    return Locate(args, i, &e) && e.get_bool().get(*r) == simdjson::SUCCESS;
  };
  return StoreResult(MapBoolRows(args, rows, op), out);
}

// The value at the path as JSON text (json_get_json, ->).
Status GetJsonKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                     ColumnPtr* out) {
  JsonWriter writer;
  auto op = [&](int64_t i, std::string* r) {
    dom::element e;
    if (!Locate(args, i, &e)) return false;
    r->append(writer.Write(e));
    return true;
  };
  return StoreResult(MapStringRows(f.name, args, rows, f.return_type, op), out);
}

// The value at the path as text (->>, json_as_text): strings unquoted, JSON null as NULL,
// everything else as JSON text.
Status AsTextKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                    ColumnPtr* out) {
  JsonWriter writer;
  auto op = [&](int64_t i, std::string* r) {
    dom::element e;
    if (!Locate(args, i, &e) || e.is_null()) return false;
    std::string_view s;
    if (e.get_string().get(s) == simdjson::SUCCESS) {
      r->append(s);
    } else {
      r->append(writer.Write(e));
    }
    return true;
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

Status ContainsKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                      ColumnPtr* out) {
  auto op = [&](int64_t i, bool* r) {
    dom::element e;
    if (!ParseJson(args[0]->GetString(i), &e)) return false;
    *r = true;
    for (size_t k = 1; k < args.size() && *r; ++k) *r = Step(&e, *args[k], i);
    return true;
  };
  return StoreResult(MapBoolRows(args, rows, op), out);
}

Status LengthKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                    ColumnPtr* out) {
  auto op = [&](int64_t i, int64_t* r) {
    dom::element e;
    if (!Locate(args, i, &e)) return false;
    dom::array array;
    dom::object object;
    if (e.get_array().get(array) == simdjson::SUCCESS) {
      *r = static_cast<int64_t>(array.size());
    } else if (e.get_object().get(object) == simdjson::SUCCESS) {
      *r = static_cast<int64_t>(object.size());
    } else {
      return false;
    }
    return true;
  };
  return StoreResult(MapFixedRows<int64_t>(args, rows, kBigint, op), out);
}

// ---------------------------------------------------------------------------------------------
// JSONPath for extract_json / extract_json_string: $, .key, ['key'], [n], [*], .*, ..key.

struct PathStep {
  enum class Kind { kKey, kIndex, kWildcard } kind = Kind::kKey;
  bool descendants = false;  // ..: apply to the node and everything below it
  std::string key;
  int64_t index = 0;
};

using JsonPath = std::vector<PathStep>;

Result<JsonPath> ParseJsonPath(std::string_view path, std::string_view fn_name) {
  auto fail = [&](size_t pos, std::string_view what) {
    return Status::User("{}(): invalid JSON path '{}': {} at position {}", fn_name, path, what,
                        pos + 1);
  };
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  size_t pos = 0;
  while (pos < path.size() && is_space(path[pos])) ++pos;
  if (pos >= path.size() || path[pos] != '$') return fail(pos, "expected '$'");
  ++pos;
  JsonPath steps;
  while (pos < path.size()) {
    if (is_space(path[pos])) {
      ++pos;
      continue;
    }
    PathStep step;
    if (path[pos] == '.') {
      ++pos;
      if (pos < path.size() && path[pos] == '.') {
        step.descendants = true;
        ++pos;
      }
      if (pos < path.size() && path[pos] == '*') {
        step.kind = PathStep::Kind::kWildcard;
        ++pos;
        steps.push_back(std::move(step));
        continue;
      }
      if (pos < path.size() && path[pos] == '[' && step.descendants) {
        // "..[...]" : the bracket below carries the selector.
      } else {
        size_t start = pos;
        while (pos < path.size() && path[pos] != '.' && path[pos] != '[' && !is_space(path[pos])) {
          ++pos;
        }
        if (pos == start) return fail(pos, "expected a member name");
        step.key = std::string(path.substr(start, pos - start));
        steps.push_back(std::move(step));
        continue;
      }
    }
    if (path[pos] != '[') return fail(pos, fmt::format("unexpected '{}'", path[pos]));
    ++pos;
    while (pos < path.size() && is_space(path[pos])) ++pos;
    if (pos >= path.size()) return fail(pos, "expected ']'");
    char c = path[pos];
    if (c == '*') {
      step.kind = PathStep::Kind::kWildcard;
      ++pos;
    } else if (c == '\'' || c == '"') {
      ++pos;
      while (pos < path.size() && path[pos] != c) {
        if (path[pos] == '\\' && pos + 1 < path.size()) ++pos;
        step.key.push_back(path[pos++]);
      }
      if (pos >= path.size()) return fail(pos, "unterminated string");
      ++pos;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      step.kind = PathStep::Kind::kIndex;
      bool negative = c == '-';
      if (negative) ++pos;
      size_t start = pos;
      while (pos < path.size() && path[pos] >= '0' && path[pos] <= '9' && pos - start < 18) {
        step.index = step.index * 10 + (path[pos] - '0');
        ++pos;
      }
      if (pos == start) return fail(pos, "expected an index");
      if (negative) step.index = -step.index;
    } else {
      return fail(pos, fmt::format("unexpected '{}'", c));
    }
    while (pos < path.size() && is_space(path[pos])) ++pos;
    if (pos >= path.size() || path[pos] != ']') return fail(pos, "expected ']'");
    ++pos;
    steps.push_back(std::move(step));
  }
  return steps;
}

void CollectDescendants(dom::element e, std::vector<dom::element>* out) {
  out->push_back(e);
  dom::array array;
  dom::object object;
  if (e.get_array().get(array) == simdjson::SUCCESS) {
    for (dom::element child : array) CollectDescendants(child, out);
  } else if (e.get_object().get(object) == simdjson::SUCCESS) {
    for (dom::key_value_pair kv : object) CollectDescendants(kv.value, out);
  }
}

void Select(const PathStep& step, dom::element e, std::vector<dom::element>* out) {
  dom::array array;
  dom::object object;
  switch (step.kind) {
    case PathStep::Kind::kKey: {
      dom::element child;
      if (e.get_object().get(object) == simdjson::SUCCESS &&
          object.at_key(step.key).get(child) == simdjson::SUCCESS) {
        out->push_back(child);
      }
      return;
    }
    case PathStep::Kind::kIndex: {
      if (e.get_array().get(array) != simdjson::SUCCESS) return;
      int64_t size = static_cast<int64_t>(array.size());
      int64_t index = step.index < 0 ? step.index + size : step.index;
      dom::element child;
      if (index >= 0 && index < size &&
          array.at(static_cast<size_t>(index)).get(child) == simdjson::SUCCESS) {
        out->push_back(child);
      }
      return;
    }
    case PathStep::Kind::kWildcard:
      if (e.get_array().get(array) == simdjson::SUCCESS) {
        for (dom::element child : array) out->push_back(child);
      } else if (e.get_object().get(object) == simdjson::SUCCESS) {
        for (dom::key_value_pair kv : object) out->push_back(kv.value);
      }
      return;
  }
}

// Evaluates `path` from `root` into `*matches`, in document order. `scratch` is reused.
void EvaluatePath(const JsonPath& path, dom::element root, std::vector<dom::element>* matches,
                  std::vector<dom::element>* scratch) {
  matches->clear();
  matches->push_back(root);
  for (const auto& step : path) {
    scratch->clear();
    if (step.descendants) {
      std::vector<dom::element> all;
      for (dom::element e : *matches) CollectDescendants(e, &all);
      for (dom::element e : all) Select(step, e, scratch);
    } else {
      for (dom::element e : *matches) Select(step, e, scratch);
    }
    std::swap(*matches, *scratch);
    if (matches->empty()) return;
  }
}

struct PathState {
  JsonPath path;
};

class PathCursor {
 public:
  PathCursor(const BoundFunction& f, const Column& paths)
      : fn_(f), constant_(static_cast<const PathState*>(f.state.get())), paths_(paths) {}
  Result<const JsonPath*> At(int64_t i) {
    if (constant_ != nullptr) return &constant_->path;
    std::string_view text = paths_.GetString(i);
    if (!last_ || text != last_text_) {
      auto parsed = ParseJsonPath(text, fn_.name);
      if (!parsed.ok()) return parsed.status();
      last_ = parsed.MoveValue();
      last_text_.assign(text);
    }
    return &*last_;
  }

 private:
  const BoundFunction& fn_;
  const PathState* constant_;
  const Column& paths_;
  std::optional<JsonPath> last_;
  std::string last_text_;
};

// extract_json(json, path) → JSON[]: every match as JSON text; NULL for invalid JSON.
Status ExtractJsonKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                         ColumnPtr* out) {
  PathCursor paths(f, *args[1]);
  JsonWriter writer;
  std::vector<dom::element> matches, scratch;
  batch::BufferPtr validity = CombineValidity(args, rows);
  ColumnBuilder b(f.return_type);
  b.Reserve(rows);
  for (int64_t i = 0; i < rows; ++i) {
    dom::element root;
    if ((validity && !batch::GetBit(validity->data(), i))) {
      b.AppendNull();
      continue;
    }
    auto path = paths.At(i);
    if (!path.ok()) return path.status();
    if (!ParseJson(args[0]->GetString(i), &root)) {
      b.AppendNull();
      continue;
    }
    EvaluatePath(**path, root, &matches, &scratch);
    for (dom::element m : matches) b.element_builder()->AppendString(writer.Write(m));
    b.FinishListRow();
  }
  *out = b.Finish();
  return Status::Ok();
}

// extract_json_string(json, path) → TEXT: the first match, strings unquoted, other values as
// JSON text; NULL when nothing matches, the match is JSON null, or the input is not JSON.
Status ExtractJsonStringKernel(const BoundFunction& f, std::span<const ColumnPtr> args,
                               int64_t rows, ColumnPtr* out) {
  PathCursor paths(f, *args[1]);
  JsonWriter writer;
  std::vector<dom::element> matches, scratch;
  auto op = [&](int64_t i, std::string* r) -> Result<bool> {
    auto path = paths.At(i);
    if (!path.ok()) return path.status();
    dom::element root;
    if (!ParseJson(args[0]->GetString(i), &root)) return false;
    EvaluatePath(**path, root, &matches, &scratch);
    if (matches.empty() || matches[0].is_null()) return false;
    std::string_view s;
    if (matches[0].get_string().get(s) == simdjson::SUCCESS) {
      r->append(s);
    } else {
      r->append(writer.Write(matches[0]));
    }
    return true;
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

BindFn ExtractFunction(DataType ret, Kernel kernel) {
  return [ret, kernel](const BindInput& in) -> Result<BoundFunction> {
    auto doc = in.types.size() == 2 ? JsonArgumentType(in.types[0]) : std::nullopt;
    if (!doc || !ConvertsTo(in.types[1], kText)) {
      return NoMatchingSignature(in.name, in, "(JSON, TEXT)");
    }
    BoundFunction fn;
    fn.arg_types = {*doc, kText};
    fn.return_type = ret;
    fn.kernel = kernel;
    const Value* path = ConstantArg(in, 1);
    if (path != nullptr && !path->is_null()) {
      auto parsed = ParseJsonPath(path->string_value(), in.name);
      if (!parsed.ok()) return parsed.status();
      fn.state = std::make_shared<const PathState>(PathState{parsed.MoveValue()});
    }
    return fn;
  };
}

}  // namespace

void RegisterJsonFunctions(FunctionRegistry* r) {
  constexpr size_t kAnyDepth = 64;
  r->Register("json_get_str", JsonPathFunction(kText, GetStrKernel, 0, kAnyDepth));
  r->Register("json_get_int", JsonPathFunction(kBigint, GetIntKernel, 0, kAnyDepth));
  r->Register("json_get_float", JsonPathFunction(types::Float64(), GetFloatKernel, 0, kAnyDepth));
  r->Register("json_get_bool", JsonPathFunction(types::Bool(), GetBoolKernel, 0, kAnyDepth));
  r->Register("json_get_json", JsonPathFunction(kJson, GetJsonKernel, 0, kAnyDepth));
  r->Register("json_as_text", JsonPathFunction(kText, AsTextKernel, 0, kAnyDepth));
  r->Register("json_contains", JsonPathFunction(types::Bool(), ContainsKernel, 1, kAnyDepth));
  r->Register("json_length", JsonPathFunction(kBigint, LengthKernel, 0, kAnyDepth));
  r->Register("->", JsonPathFunction(kJson, GetJsonKernel, 1, 1));
  r->Register("->>", JsonPathFunction(kText, AsTextKernel, 1, 1));
  r->Register("extract_json", ExtractFunction(DataType::List(kJson), ExtractJsonKernel));
  r->Register("extract_json_string", ExtractFunction(kText, ExtractJsonStringKernel));
}

}  // namespace sluice::expr
