// Avro schema resolution (writer -> reader -> Sluice column) compiled into a Plan.

#include "formats/avro_plan.h"

#include <simdjson.h>

#include <fmt/format.h>

namespace sluice::formats::avro {

namespace {

using types::DataType;
using types::TypeId;

bool IsIntegerTarget(TypeId t) {
  switch (t) {
    case TypeId::kInt8:
    case TypeId::kInt16:
    case TypeId::kInt32:
    case TypeId::kInt64:
    case TypeId::kUInt8:
    case TypeId::kUInt16:
    case TypeId::kUInt32:
    case TypeId::kUInt64:
      return true;
    default:
      return false;
  }
}

int64_t Pow10(int n) {
  int64_t v = 1;
  for (int i = 0; i < n; ++i) v *= 10;
  return v;
}

bool SameName(const Node& w, const Node& r) {
  if (w.name == r.name) return true;
  auto unqualified = [](const std::string& s) {
    size_t dot = s.rfind('.');
    return dot == std::string::npos ? s : s.substr(dot + 1);
  };
  if (unqualified(w.name) == unqualified(r.name)) return true;
  for (const auto& a : r.aliases) {
    if (a == w.name || unqualified(a) == unqualified(w.name)) return true;
  }
  return false;
}

// Whether a writer value of `w` can be read as reader type `r` (spec: "Schema Resolution").
bool Matches(const Node& w, const Node& r) {
  if (w.kind == r.kind) {
    if (w.kind == Kind::kEnum || w.kind == Kind::kFixed) return SameName(w, r);
    return true;
  }
  switch (w.kind) {
    case Kind::kInt:
      return r.kind == Kind::kLong || r.kind == Kind::kFloat || r.kind == Kind::kDouble;
    case Kind::kLong:
      return r.kind == Kind::kFloat || r.kind == Kind::kDouble;
    case Kind::kFloat:
      return r.kind == Kind::kDouble;
    case Kind::kString:
      return r.kind == Kind::kBytes;
    case Kind::kBytes:
      return r.kind == Kind::kString;
    default:
      return false;
  }
}

class Compiler {
 public:
  Result<Plan> Value(const Node& w, const Node& r, const DataType& target, const std::string& at) {
    Plan p;
    p.writer = &w;
    p.target = target.id();
    if (w.kind == Kind::kUnion) {
      p.op = Op::kUnion;
      for (const Node* branch : w.branches) {
        auto child = Value(*branch, r, target, at);
        if (child.ok()) {
          p.nested_target = p.nested_target || child->nested_target;
          p.children.push_back(std::move(*child));
        } else {
          Plan e;
          e.op = Op::kError;
          e.writer = branch;
          e.error = child.status().message();
          p.children.push_back(std::move(e));
        }
      }
      return p;
    }
    if (r.kind == Kind::kUnion) {
      for (const Node* branch : r.branches) {
        if (Matches(w, *branch)) return Value(w, *branch, target, at);
      }
      return Status::User("{}: the writer's {} is none of the reader's union branches", at,
                          Describe(w));
    }
    if (w.kind == Kind::kNull) {
      if (r.kind != Kind::kNull) {
        return Status::User("{}: the writer's null cannot be read as {}", at, Describe(r));
      }
      p.op = Op::kNull;
      return p;
    }
    if (!Matches(w, r)) {
      return Status::User("{}: the writer's {} cannot be read as the reader's {}", at, Describe(w),
                          Describe(r));
    }
    if (target.id() == TypeId::kJson) {
      p.op = Op::kJson;
      return p;
    }
    auto mismatch = [&]() {
      return Status::User("{}: Avro {} cannot be read into a {} column", at, Describe(r),
                          target.ToString());
    };
    switch (w.kind) {
      case Kind::kBoolean:
        if (target.id() != TypeId::kBool) return mismatch();
        p.op = Op::kBool;
        return p;
      case Kind::kInt:
      case Kind::kLong: {
        if (r.kind == Kind::kFloat || r.kind == Kind::kDouble) {
          if (!target.is_floating()) return mismatch();
          p.op = Op::kInteger;
          return p;
        }
        p.op = Op::kInteger;
        Logical l = w.logical;
        switch (target.id()) {
          case TypeId::kDate:
            if (l != Logical::kDate) return mismatch();
            return p;
          case TypeId::kTime:
            if (l == Logical::kTimeMillis) {
              p.mul = 1000;
            } else if (l != Logical::kTimeMicros) {
              return mismatch();
            }
            return p;
          case TypeId::kTimestamp:
            if (l == Logical::kTimestampMillis || l == Logical::kLocalTimestampMillis) {
              p.mul = 1000;
            } else if (l == Logical::kTimestampNanos || l == Logical::kLocalTimestampNanos) {
              p.div = 1000;
            } else if (l != Logical::kTimestampMicros && l != Logical::kLocalTimestampMicros) {
              return mismatch();
            }
            return p;
          case TypeId::kDecimal:
            if (l != Logical::kNone) return mismatch();
            if (target.scale() > 18) return mismatch();
            p.mul = Pow10(target.scale());
            return p;
          default:
            if (IsIntegerTarget(target.id()) || target.is_floating()) {
              // An int read into INT, a long into BIGINT (or wider): narrower targets would
              // wrap, so they are refused.
              if (target.byte_width() < (r.kind == Kind::kInt ? 4 : 8) && !target.is_floating()) {
                return mismatch();
              }
              return p;
            }
            return mismatch();
        }
      }
      case Kind::kFloat:
      case Kind::kDouble:
        if (!target.is_floating()) return mismatch();
        p.op = Op::kReal;
        return p;
      case Kind::kString:
      case Kind::kBytes:
      case Kind::kFixed:
        if (w.logical == Logical::kDecimal) {
          if (target.id() != TypeId::kDecimal || target.scale() < w.scale ||
              target.scale() - w.scale > 18) {
            return mismatch();
          }
          p.op = Op::kDecimal;
          p.mul = Pow10(target.scale() - w.scale);
          return p;
        }
        if (w.logical == Logical::kDuration) {
          if (target.id() != TypeId::kInterval) return mismatch();
          p.op = Op::kDuration;
          return p;
        }
        if (target.id() != TypeId::kUtf8 && target.id() != TypeId::kBinary) return mismatch();
        p.op = Op::kText;
        return p;
      case Kind::kEnum: {
        if (target.id() != TypeId::kUtf8) return mismatch();
        p.op = Op::kEnum;
        for (const auto& s : w.symbols) {
          int found = -1;
          for (size_t i = 0; i < r.symbols.size(); ++i) {
            if (r.symbols[i] == s) found = static_cast<int>(i);
          }
          if (found < 0) found = r.enum_default;
          p.symbol_known.push_back(found >= 0);
          p.symbols.push_back(found >= 0 ? r.symbols[static_cast<size_t>(found)] : s);
        }
        return p;
      }
      case Kind::kArray: {
        if (target.id() != TypeId::kList) return mismatch();
        p.op = Op::kArray;
        p.nested_target = true;
        SLUICE_ASSIGN_OR_RETURN(Plan items,
                                Value(*w.items, *r.items, target.element(), at + " (array item)"));
        p.children.push_back(std::move(items));
        return p;
      }
      case Kind::kMap:
        return mismatch();  // maps are read into JSON columns only
      case Kind::kRecord: {
        if (target.id() != TypeId::kStruct) return mismatch();
        SLUICE_ASSIGN_OR_RETURN(p, Record(w, r, types::Schema(target.fields()), at));
        p.nested_target = true;
        return p;
      }
      default:
        return mismatch();
    }
  }

  Result<Plan> Record(const Node& w, const Node& r, const types::Schema& columns,
                      const std::string& at) {
    Plan p;
    p.op = Op::kRecord;
    p.writer = &w;
    p.target = TypeId::kStruct;
    std::vector<bool> filled(columns.size(), false);
    for (const auto& wf : w.fields) {
      const FieldDef* rf = ReaderField(r, wf.name);
      std::optional<size_t> col = rf ? columns.Find(rf->name) : std::nullopt;
      if (!col) {
        Plan skip;
        skip.op = Op::kSkip;
        skip.writer = wf.type;
        p.children.push_back(std::move(skip));
        p.builders.push_back(-1);
        continue;
      }
      std::string where =
          at.empty() ? fmt::format("field '{}'", rf->name) : fmt::format("{}.{}", at, rf->name);
      SLUICE_ASSIGN_OR_RETURN(Plan child,
                              Value(*wf.type, *rf->type, columns.field(*col).type, where));
      p.nested_target = p.nested_target || child.nested_target;
      p.children.push_back(std::move(child));
      p.builders.push_back(static_cast<int>(*col));
      filled[*col] = true;
    }
    for (size_t c = 0; c < columns.size(); ++c) {
      if (filled[c]) continue;
      const auto& column = columns.field(c);
      const FieldDef* rf = nullptr;
      for (const auto& f : r.fields) {
        if (types::Schema({{f.name, DataType()}}).Find(column.name)) rf = &f;
      }
      std::string where = at.empty() ? fmt::format("field '{}'", column.name)
                                     : fmt::format("{}.{}", at, column.name);
      if (rf == nullptr) {
        return Status::User("{}: the Avro schema has no such field", where);
      }
      if (!rf->default_json) {
        return Status::User(
            "{}: the writer's schema lacks this field, and the reader's schema gives it no "
            "default",
            where);
      }
      SLUICE_ASSIGN_OR_RETURN(types::Value v, DefaultValue(*rf, column.type, where));
      p.defaults.emplace_back(static_cast<int>(c), std::move(v));
    }
    return p;
  }

 private:
  static const FieldDef* ReaderField(const Node& r, const std::string& writer_name) {
    for (const auto& f : r.fields) {
      if (f.name == writer_name) return &f;
    }
    for (const auto& f : r.fields) {
      for (const auto& a : f.aliases) {
        if (a == writer_name) return &f;
      }
    }
    return nullptr;
  }

  // A field default (JSON) as a value of the column's type; the default of a union is of its
  // first branch.
  static Result<types::Value> DefaultValue(const FieldDef& f, const DataType& type,
                                           const std::string& at) {
    simdjson::dom::parser parser;
    simdjson::dom::element e;
    if (parser.parse(*f.default_json).get(e)) {
      return Status::User("{}: the default is not valid JSON", at);
    }
    if (e.is_null()) return types::Value::Null(type);
    const Node* t = f.type;
    if (t->kind == Kind::kUnion) t = t->branches[0];
    auto unsupported = [&]() {
      return Status::NotSupported("{}: Sluice cannot use the default {} for a {} column", at,
                                  *f.default_json, type.ToString());
    };
    switch (type.id()) {
      case TypeId::kBool:
        if (!e.is_bool()) return unsupported();
        return types::Value::Boolean(e.get_bool().value());
      case TypeId::kInt8:
      case TypeId::kInt16:
      case TypeId::kInt32:
      case TypeId::kInt64:
      case TypeId::kDate:
        if (!e.is_int64()) return unsupported();
        return types::Value::Int(type, e.get_int64().value());
      case TypeId::kTimestamp:
      case TypeId::kTime: {
        if (!e.is_int64()) return unsupported();
        int64_t v = e.get_int64().value();
        if (t->logical == Logical::kTimestampMillis || t->logical == Logical::kTimeMillis ||
            t->logical == Logical::kLocalTimestampMillis) {
          v *= 1000;
        } else if (t->logical == Logical::kTimestampNanos ||
                   t->logical == Logical::kLocalTimestampNanos) {
          v /= 1000;
        }
        return types::Value::Int(type, v);
      }
      case TypeId::kFloat32:
      case TypeId::kFloat64:
        if (!e.is_number()) return unsupported();
        return types::Value::Float(type, e.get_double().value());
      case TypeId::kUtf8:
        if (!e.is_string()) return unsupported();
        return types::Value::String(std::string(std::string_view(e.get_string().value())));
      case TypeId::kBinary: {
        if (!e.is_string()) return unsupported();
        // Avro's JSON encoding of bytes: one code point 0-255 per byte.
        std::string_view s = e.get_string().value();
        std::string bytes;
        for (size_t i = 0; i < s.size(); ++i) {
          unsigned char c = static_cast<unsigned char>(s[i]);
          if (c < 0x80) {
            bytes.push_back(static_cast<char>(c));
          } else if ((c & 0xe0) == 0xc0 && i + 1 < s.size()) {
            bytes.push_back(static_cast<char>(((c & 0x1f) << 6) | (s[i + 1] & 0x3f)));
            ++i;
          } else {
            return unsupported();
          }
        }
        return types::Value::Bytes(type, bytes);
      }
      case TypeId::kJson:
        return types::Value::Bytes(type, *f.default_json);
      default:
        return unsupported();
    }
  }
};

}  // namespace

Result<Plan> CompileRecordPlan(const Node& writer, const Node& reader,
                               const types::Schema& columns) {
  if (writer.kind != Kind::kRecord) {
    return Status::User("the writer's Avro schema is {}, not a record", Describe(writer));
  }
  if (reader.kind != Kind::kRecord) {
    return Status::User("the reader's Avro schema is {}, not a record", Describe(reader));
  }
  Compiler c;
  return c.Record(writer, reader, columns, "");
}

Status CheckColumns(const Node& reader, const types::Schema& columns) {
  // Reading a datum written with the reader's own schema checks every declared column.
  return CompileRecordPlan(reader, reader, columns).status();
}

}  // namespace sluice::formats::avro
