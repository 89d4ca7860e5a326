#include "dist/expr_codec.h"

#include <bit>
#include <cstring>

#include <fmt/format.h>

#include "expr/aggregate.h"
#include "expr/function.h"

namespace sluice::dist {

using types::DataType;
using types::TypeId;
using types::Value;

namespace {

constexpr const char* kTypeNames[] = {
    "null",   "bool",   "int8",      "int16",    "int32",   "int64", "uint8", "uint16",
    "uint32", "uint64", "float32",   "float64",  "decimal", "utf8",  "json",  "binary",
    "date",   "time",   "timestamp", "interval", "list",    "struct"};
constexpr size_t kTypeCount = sizeof(kTypeNames) / sizeof(kTypeNames[0]);
static_assert(kTypeCount == static_cast<size_t>(TypeId::kStruct) + 1);

constexpr const char* kExprKinds[] = {"column",  "event_time", "literal", "call",
                                      "cast",    "and",        "or",      "not",
                                      "is_null", "case",       "field",   "subscript"};
constexpr size_t kExprKindCount = sizeof(kExprKinds) / sizeof(kExprKinds[0]);
static_assert(kExprKindCount == static_cast<size_t>(expr::BoundKind::kSubscript) + 1);

template <size_t N>
size_t IndexOf(const char* const (&names)[N], const std::string& name, const char* what) {
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) return i;
  }
  throw CodecError(fmt::format("unknown {} '{}'", what, name));
}

std::string Hex(const std::string& bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(kDigits[c >> 4]);
    out.push_back(kDigits[c & 15]);
  }
  return out;
}

std::string Unhex(const std::string& hex) {
  auto digit = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    throw CodecError(fmt::format("bad hex digit '{}' in a bytes value", c));
  };
  if (hex.size() % 2 != 0) throw CodecError("a bytes value has an odd number of hex digits");
  std::string out(hex.size() / 2, '\0');
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<char>(digit(hex[2 * i]) * 16 + digit(hex[2 * i + 1]));
  }
  return out;
}

// 128-bit decimals as decimal text (JSON numbers are doubles for most readers).
std::string Int128Text(types::int128_t v) {
  if (v == 0) return "0";
  bool neg = v < 0;
  unsigned __int128 u =
      neg ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  std::string s;
  while (u > 0) {
    s.push_back(static_cast<char>('0' + static_cast<int>(u % 10)));
    u /= 10;
  }
  if (neg) s.push_back('-');
  return std::string(s.rbegin(), s.rend());
}

types::int128_t Int128FromText(const std::string& s) {
  if (s.empty()) throw CodecError("empty decimal value");
  size_t i = s[0] == '-' ? 1 : 0;
  if (i == s.size()) throw CodecError("bad decimal value '-'");
  unsigned __int128 u = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') throw CodecError(fmt::format("bad decimal value '{}'", s));
    u = u * 10 + static_cast<unsigned>(s[i] - '0');
  }
  return s[0] == '-' ? -static_cast<types::int128_t>(u) : static_cast<types::int128_t>(u);
}

json::array TypesToJson(const std::vector<DataType>& types) {
  json::array a;
  for (const auto& t : types) a.push_back(TypeToJson(t));
  return a;
}

std::vector<DataType> TypesFromJson(const json::value& v) {
  std::vector<DataType> out;
  for (const auto& t : AsArray(v, "types")) out.push_back(TypeFromJson(t));
  return out;
}

json::array ConstantsToJson(const std::vector<std::optional<Value>>& constants) {
  json::array a;
  for (const auto& c : constants) a.push_back(c ? ValueToJson(*c) : json::value(nullptr));
  return a;
}

std::vector<std::optional<Value>> ConstantsFromJson(const json::value& v) {
  std::vector<std::optional<Value>> out;
  for (const auto& c : AsArray(v, "constants")) {
    out.push_back(c.is_null() ? std::nullopt : std::optional<Value>(ValueFromJson(c)));
  }
  return out;
}

}  // namespace

const json::object& AsObject(const json::value& v, const char* what) {
  if (!v.is_object()) throw CodecError(fmt::format("{} must be a JSON object", what));
  return v.get_object();
}

const json::array& AsArray(const json::value& v, const char* what) {
  if (!v.is_array()) throw CodecError(fmt::format("{} must be a JSON array", what));
  return v.get_array();
}

const json::value& Member(const json::object& o, const char* key) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr) throw CodecError(fmt::format("missing member \"{}\"", key));
  return *v;
}

int64_t Int(const json::object& o, const char* key) {
  const json::value& v = Member(o, key);
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64() && v.get_uint64() <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(v.get_uint64());
  }
  throw CodecError(fmt::format("member \"{}\" must be an integer", key));
}

bool Bool(const json::object& o, const char* key) {
  const json::value& v = Member(o, key);
  if (!v.is_bool()) throw CodecError(fmt::format("member \"{}\" must be true or false", key));
  return v.get_bool();
}

std::string String(const json::object& o, const char* key) {
  const json::value& v = Member(o, key);
  if (!v.is_string()) throw CodecError(fmt::format("member \"{}\" must be a string", key));
  return std::string(v.get_string());
}

json::value TypeToJson(const DataType& type) {
  json::object o;
  o["id"] = kTypeNames[static_cast<size_t>(type.id())];
  switch (type.id()) {
    case TypeId::kDecimal:
      o["precision"] = type.precision();
      o["scale"] = type.scale();
      break;
    case TypeId::kTimestamp:
      if (type.with_time_zone()) o["tz"] = true;
      break;
    case TypeId::kList:
      o["element"] = TypeToJson(type.element());
      break;
    case TypeId::kStruct:
      o["fields"] = SchemaToJson(types::Schema(type.fields()));
      break;
    default:
      break;
  }
  return o;
}

DataType TypeFromJson(const json::value& v) {
  const auto& o = AsObject(v, "a type");
  auto id = static_cast<TypeId>(IndexOf(kTypeNames, String(o, "id"), "type"));
  switch (id) {
    case TypeId::kDecimal:
      return DataType::Decimal(static_cast<int>(Int(o, "precision")),
                               static_cast<int>(Int(o, "scale")));
    case TypeId::kTimestamp:
      return o.contains("tz") && Bool(o, "tz") ? DataType::TimestampTz() : DataType(id);
    case TypeId::kList:
      return DataType::List(TypeFromJson(Member(o, "element")));
    case TypeId::kStruct:
      return DataType::Struct(SchemaFromJson(Member(o, "fields")).fields());
    default:
      return DataType(id);
  }
}

json::value SchemaToJson(const types::Schema& schema) {
  json::array a;
  for (const auto& f : schema.fields()) {
    json::object o;
    o["name"] = f.name;
    o["type"] = TypeToJson(f.type);
    if (!f.nullable) o["nullable"] = false;
    a.push_back(std::move(o));
  }
  return a;
}

types::Schema SchemaFromJson(const json::value& v) {
  std::vector<types::Field> fields;
  for (const auto& f : AsArray(v, "a schema")) {
    const auto& o = AsObject(f, "a field");
    types::Field field{String(o, "name"), TypeFromJson(Member(o, "type")), true};
    if (o.contains("nullable")) field.nullable = Bool(o, "nullable");
    fields.push_back(std::move(field));
  }
  return types::Schema(std::move(fields));
}

// {"type": T, "v": payload}: payload null, a bool, an integer, a double as its 64 bits in hex
// (NaN and infinities included), a decimal as text, text, bytes in hex, an interval as
// [months, days, micros], or an array of child values.
json::value ValueToJson(const Value& value) {
  json::object o;
  o["type"] = TypeToJson(value.type());
  json::value payload = std::visit(
      [&](const auto& p) -> json::value {
        using P = std::decay_t<decltype(p)>;
        if constexpr (std::is_same_v<P, std::monostate>) {
          return nullptr;
        } else if constexpr (std::is_same_v<P, bool>) {
          return p;
        } else if constexpr (std::is_same_v<P, int64_t> || std::is_same_v<P, uint64_t>) {
          return p;
        } else if constexpr (std::is_same_v<P, double>) {
          return json::value(json::string(fmt::format("{:016x}", std::bit_cast<uint64_t>(p))));
        } else if constexpr (std::is_same_v<P, types::int128_t>) {
          return json::value(json::string(Int128Text(p)));
        } else if constexpr (std::is_same_v<P, std::string>) {
          return json::value(json::string(value.type().id() == TypeId::kBinary ? Hex(p) : p));
        } else if constexpr (std::is_same_v<P, types::Interval>) {
          return json::array{p.months, p.days, p.micros};
        } else {
          json::array a;
          for (const auto& c : p) a.push_back(ValueToJson(c));
          return a;
        }
      },
      value.payload());
  o["v"] = std::move(payload);
  return o;
}

Value ValueFromJson(const json::value& v) {
  const auto& o = AsObject(v, "a value");
  DataType type = TypeFromJson(Member(o, "type"));
  const json::value& p = Member(o, "v");
  if (p.is_null()) return Value::Null(type);
  switch (type.id()) {
    case TypeId::kNull:
      return Value::Null(type);
    case TypeId::kBool:
      return Value::Boolean(Bool(o, "v"));
    case TypeId::kInt8:
    case TypeId::kInt16:
    case TypeId::kInt32:
    case TypeId::kInt64:
    case TypeId::kDate:
    case TypeId::kTime:
    case TypeId::kTimestamp:
      return Value::Int(type, Int(o, "v"));
    case TypeId::kUInt8:
    case TypeId::kUInt16:
    case TypeId::kUInt32:
    case TypeId::kUInt64:
      if (p.is_uint64()) return Value::UInt(type, p.get_uint64());
      if (p.is_int64() && p.get_int64() >= 0) {
        return Value::UInt(type, static_cast<uint64_t>(p.get_int64()));
      }
      throw CodecError("an unsigned value must be a non-negative integer");
    case TypeId::kFloat32:
    case TypeId::kFloat64: {
      std::string bits = String(o, "v");
      char* end = nullptr;
      uint64_t u = std::strtoull(bits.c_str(), &end, 16);
      if (bits.size() != 16 || *end != '\0') {
        throw CodecError(fmt::format("a float value must be 16 hex digits, got '{}'", bits));
      }
      return Value::Float(type, std::bit_cast<double>(u));
    }
    case TypeId::kDecimal:
      return Value::Decimal(type, Int128FromText(String(o, "v")));
    case TypeId::kUtf8:
    case TypeId::kJson:
      return Value::Bytes(type, String(o, "v"));
    case TypeId::kBinary:
      return Value::Bytes(type, Unhex(String(o, "v")));
    case TypeId::kInterval: {
      const auto& a = AsArray(p, "an interval value");
      if (a.size() != 3 || !a[0].is_int64() || !a[1].is_int64() || !a[2].is_int64()) {
        throw CodecError("an interval value must be [months, days, micros]");
      }
      return Value::IntervalValue({static_cast<int32_t>(a[0].get_int64()),
                                   static_cast<int32_t>(a[1].get_int64()), a[2].get_int64()});
    }
    case TypeId::kList:
    case TypeId::kStruct: {
      std::vector<Value> children;
      for (const auto& c : AsArray(p, "a nested value")) children.push_back(ValueFromJson(c));
      return Value::Nested(type, std::move(children));
    }
  }
  throw CodecError("unknown value type");
}

json::value ExprToJson(const expr::BoundExprPtr& e) {
  if (e == nullptr) return nullptr;
  json::object o;
  o["k"] = kExprKinds[static_cast<size_t>(e->kind)];
  o["type"] = TypeToJson(e->type);
  if (!e->args.empty()) {
    json::array args;
    for (const auto& a : e->args) args.push_back(ExprToJson(a));
    o["args"] = std::move(args);
  }
  switch (e->kind) {
    case expr::BoundKind::kColumn:
      o["column"] = e->column_index;
      break;
    case expr::BoundKind::kLiteral:
      o["value"] = ValueToJson(e->literal);
      break;
    case expr::BoundKind::kCall: {
      const expr::BindInput& from = e->function->bound_from;
      if (from.name.empty()) {
        throw CodecError(
            fmt::format("function {}() was not bound through the function registry (a user-defined "
                        "function?); plans calling it cannot be serialized yet",
                        e->function->name));
      }
      json::object fn;
      fn["name"] = from.name;
      fn["arg_types"] = TypesToJson(from.types);
      fn["constants"] = ConstantsToJson(from.constants);
      o["function"] = std::move(fn);
      break;
    }
    case expr::BoundKind::kCast:
      if (e->try_cast) o["try"] = true;
      break;
    case expr::BoundKind::kIsNull:
      if (e->negated) o["negated"] = true;
      break;
    case expr::BoundKind::kCase:
      if (e->has_else) o["has_else"] = true;
      break;
    case expr::BoundKind::kFieldAccess:
      o["field"] = e->field_index;
      break;
    default:
      break;
  }
  return o;
}

expr::BoundExprPtr ExprFromJson(const json::value& v) {
  if (v.is_null()) return nullptr;
  const auto& o = AsObject(v, "an expression");
  auto e = std::make_shared<expr::BoundExpr>();
  e->kind = static_cast<expr::BoundKind>(IndexOf(kExprKinds, String(o, "k"), "expression kind"));
  e->type = TypeFromJson(Member(o, "type"));
  if (const json::value* args = o.if_contains("args")) {
    for (const auto& a : AsArray(*args, "args")) {
      auto arg = ExprFromJson(a);
      if (arg == nullptr) throw CodecError("an expression argument is null");
      e->args.push_back(std::move(arg));
    }
  }
  switch (e->kind) {
    case expr::BoundKind::kColumn:
      e->column_index = static_cast<int>(Int(o, "column"));
      break;
    case expr::BoundKind::kLiteral:
      e->literal = ValueFromJson(Member(o, "value"));
      break;
    case expr::BoundKind::kCall: {
      const auto& fn = AsObject(Member(o, "function"), "function");
      expr::BindInput in;
      std::string name = String(fn, "name");
      in.types = TypesFromJson(Member(fn, "arg_types"));
      in.constants = ConstantsFromJson(Member(fn, "constants"));
      auto bound = expr::FunctionRegistry::Get().Bind(name, in);
      if (!bound.ok()) {
        throw CodecError(
            fmt::format("function {}() does not bind here: {}", name, bound.status().message()));
      }
      if (bound->return_type != e->type) {
        throw CodecError(fmt::format("function {}() binds to {} here, but the plan says {}", name,
                                     bound->return_type.ToString(), e->type.ToString()));
      }
      e->function = std::make_shared<const expr::BoundFunction>(bound.MoveValue());
      break;
    }
    case expr::BoundKind::kCast:
      e->try_cast = o.contains("try") && Bool(o, "try");
      break;
    case expr::BoundKind::kIsNull:
      e->negated = o.contains("negated") && Bool(o, "negated");
      break;
    case expr::BoundKind::kCase:
      e->has_else = o.contains("has_else") && Bool(o, "has_else");
      break;
    case expr::BoundKind::kFieldAccess:
      e->field_index = static_cast<int>(Int(o, "field"));
      break;
    default:
      break;
  }
  return e;
}

json::value AggregateCallToJson(const exec::AggregateCall& call) {
  const expr::BoundAggregate& a = call.aggregate;
  if (!a.registered) {
    throw CodecError(
        fmt::format("aggregate {}() was not bound through the aggregate registry (a user-defined "
                    "aggregate?); plans calling it cannot be serialized yet",
                    a.name));
  }
  json::object o;
  o["name"] = a.name;
  o["arg_types"] = TypesToJson(a.bound_from.types);
  o["constants"] = ConstantsToJson(a.bound_from.constants);
  o["distinct"] = a.bound_from.distinct;
  o["star"] = a.bound_from.star;
  o["retracting"] = a.bound_from.retracting;
  o["return_type"] = TypeToJson(a.return_type);
  json::array args;
  for (int c : call.arg_columns) args.push_back(c);
  o["arg_columns"] = std::move(args);
  o["filter_column"] = call.filter_column;
  o["display"] = call.display;
  return o;
}

exec::AggregateCall AggregateCallFromJson(const json::value& v) {
  const auto& o = AsObject(v, "an aggregate call");
  exec::AggregateCall call;
  std::string name = String(o, "name");
  expr::AggregateBindInput in;
  in.types = TypesFromJson(Member(o, "arg_types"));
  in.constants = ConstantsFromJson(Member(o, "constants"));
  in.distinct = Bool(o, "distinct");
  in.star = Bool(o, "star");
  in.retracting = Bool(o, "retracting");
  auto bound = expr::AggregateRegistry::Get().Bind(name, in);
  if (!bound.ok()) {
    throw CodecError(
        fmt::format("aggregate {}() does not bind here: {}", name, bound.status().message()));
  }
  DataType expected = TypeFromJson(Member(o, "return_type"));
  if (bound->return_type != expected) {
    throw CodecError(fmt::format("aggregate {}() binds to {} here, but the plan says {}", name,
                                 bound->return_type.ToString(), expected.ToString()));
  }
  call.aggregate = bound.MoveValue();
  for (const auto& c : AsArray(Member(o, "arg_columns"), "arg_columns")) {
    if (!c.is_int64()) throw CodecError("arg_columns must hold integers");
    call.arg_columns.push_back(static_cast<int>(c.get_int64()));
  }
  call.filter_column = static_cast<int>(Int(o, "filter_column"));
  call.display = String(o, "display");
  return call;
}

}  // namespace sluice::dist
