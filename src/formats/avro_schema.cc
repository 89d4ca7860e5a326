// Avro schema parsing (JSON text -> Node tree), printing, derivation from columns and mapping to
// Sluice types.

#include "formats/avro_schema.h"

#include <map>
#include <set>

#include <fmt/format.h>
#include <simdjson.h>

namespace sluice::formats::avro {

namespace {

namespace dom = simdjson::dom;
using types::DataType;
using types::TypeId;

const std::map<std::string, Kind>& Primitives() {
  static const std::map<std::string, Kind> m = {
      {"null", Kind::kNull},   {"boolean", Kind::kBoolean}, {"int", Kind::kInt},
      {"long", Kind::kLong},   {"float", Kind::kFloat},     {"double", Kind::kDouble},
      {"bytes", Kind::kBytes}, {"string", Kind::kString},
  };
  return m;
}

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kNull:
      return "null";
    case Kind::kBoolean:
      return "boolean";
    case Kind::kInt:
      return "int";
    case Kind::kLong:
      return "long";
    case Kind::kFloat:
      return "float";
    case Kind::kDouble:
      return "double";
    case Kind::kBytes:
      return "bytes";
    case Kind::kString:
      return "string";
    case Kind::kRecord:
      return "record";
    case Kind::kEnum:
      return "enum";
    case Kind::kArray:
      return "array";
    case Kind::kMap:
      return "map";
    case Kind::kUnion:
      return "union";
    case Kind::kFixed:
      return "fixed";
  }
  return "?";
}

const char* LogicalName(Logical l) {
  switch (l) {
    case Logical::kNone:
      return "";
    case Logical::kDecimal:
      return "decimal";
    case Logical::kUuid:
      return "uuid";
    case Logical::kDate:
      return "date";
    case Logical::kTimeMillis:
      return "time-millis";
    case Logical::kTimeMicros:
      return "time-micros";
    case Logical::kTimestampMillis:
      return "timestamp-millis";
    case Logical::kTimestampMicros:
      return "timestamp-micros";
    case Logical::kTimestampNanos:
      return "timestamp-nanos";
    case Logical::kLocalTimestampMillis:
      return "local-timestamp-millis";
    case Logical::kLocalTimestampMicros:
      return "local-timestamp-micros";
    case Logical::kLocalTimestampNanos:
      return "local-timestamp-nanos";
    case Logical::kDuration:
      return "duration";
  }
  return "";
}

bool IsValidName(std::string_view n) {
  if (n.empty()) return false;
  for (size_t i = 0; i < n.size(); ++i) {
    char c = n[i];
    bool ok = c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

void AppendJsonString(std::string* out, std::string_view s) {
  out->push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      *out += fmt::format("\\u{:04x}", static_cast<int>(c));
    } else {
      out->push_back(c);
    }
  }
  out->push_back('"');
}

}  // namespace

class SchemaBuilder {
 public:
  explicit SchemaBuilder(Schema* schema) : schema_(schema) {}

  Result<const Node*> Build(dom::element e, const std::string& ns, const std::string& where) {
    switch (e.type()) {
      case dom::element_type::STRING: {
        std::string name(std::string_view(e.get_string().value()));
        return Named(name, ns, where);
      }
      case dom::element_type::ARRAY: {
        Node* n = New(Kind::kUnion);
        dom::array branches = e.get_array().value();
        for (dom::element b : branches) {
          SLUICE_ASSIGN_OR_RETURN(const Node* branch, Build(b, ns, where + " (union branch)"));
          if (branch->kind == Kind::kUnion) {
            return Status::User("Avro schema: {}: a union may not contain a union", where);
          }
          for (const Node* other : n->branches) {
            bool same = other->kind == branch->kind &&
                        (branch->kind != Kind::kRecord && branch->kind != Kind::kEnum &&
                                 branch->kind != Kind::kFixed
                             ? true
                             : other->name == branch->name);
            if (same) {
              return Status::User("Avro schema: {}: the union has two branches of type {}", where,
                                  Describe(*branch));
            }
          }
          n->branches.push_back(branch);
        }
        if (n->branches.empty()) {
          return Status::User("Avro schema: {}: a union needs at least one branch", where);
        }
        return n;
      }
      case dom::element_type::OBJECT:
        return Object(e.get_object().value(), ns, where);
      default:
        return Status::User("Avro schema: {}: a type is a name, an object or a union array, not {}",
                            where, simdjson::to_string(e));
    }
  }

  Status Finish() { return Status::Ok(); }

 private:
  Node* New(Kind kind) {
    Node& n = schema_->nodes_.emplace_back();
    n.kind = kind;
    return &n;
  }

  static std::string FullName(const std::string& name, const std::string& ns) {
    if (name.find('.') != std::string::npos || ns.empty()) return name;
    return ns + "." + name;
  }

  static std::string NamespaceOf(const std::string& full) {
    size_t dot = full.rfind('.');
    return dot == std::string::npos ? std::string() : full.substr(0, dot);
  }

  Result<const Node*> Named(const std::string& name, const std::string& ns,
                            const std::string& where) {
    auto p = Primitives().find(name);
    if (p != Primitives().end()) return New(p->second);
    auto it = named_.find(FullName(name, ns));
    if (it == named_.end()) it = named_.find(name);
    if (it == named_.end()) {
      return Status::User(
          "Avro schema: {}: unknown type '{}' (a primitive type, or a record, enum or fixed "
          "defined before its use)",
          where, name);
    }
    return it->second;
  }

  Status Define(Node* n, dom::object o, const std::string& ns, const std::string& where) {
    std::string_view name;
    if (o["name"].get_string().get(name) != simdjson::SUCCESS) {
      return Status::User("Avro schema: {}: a {} needs a \"name\"", where, KindName(n->kind));
    }
    std::string own_ns = ns;
    std::string_view ns_attr;
    if (o["namespace"].get_string().get(ns_attr) == simdjson::SUCCESS) own_ns = ns_attr;
    n->name = FullName(std::string(name), own_ns);
    size_t start = 0;
    std::string full = n->name;
    while (start <= full.size()) {
      size_t dot = full.find('.', start);
      std::string_view part = std::string_view(full).substr(
          start, dot == std::string::npos ? std::string::npos : dot - start);
      if (!IsValidName(part)) {
        return Status::User("Avro schema: {}: '{}' is not a valid Avro name", where, full);
      }
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    dom::array aliases;
    if (o["aliases"].get_array().get(aliases) == simdjson::SUCCESS) {
      for (dom::element a : aliases) {
        std::string_view s;
        if (a.get_string().get(s) == simdjson::SUCCESS) {
          n->aliases.push_back(FullName(std::string(s), NamespaceOf(n->name)));
        }
      }
    }
    if (!named_.emplace(n->name, n).second) {
      return Status::User("Avro schema: {}: the type '{}' is defined twice", where, n->name);
    }
    return Status::Ok();
  }

  Result<const Node*> Object(dom::object o, const std::string& ns, const std::string& where) {
    std::string_view type;
    if (o["type"].get_string().get(type) != simdjson::SUCCESS) {
      dom::element inner;
      if (o["type"].get(inner) == simdjson::SUCCESS) {
        // {"type": {...}} or {"type": [...]}: the inner type (logical types apply only to
        // named and primitive types).
        return Build(inner, ns, where);
      }
      return Status::User("Avro schema: {}: an object type needs a \"type\"", where);
    }
    std::string t(type);
    Node* n = nullptr;
    if (t == "record" || t == "error") {
      n = New(Kind::kRecord);
      SLUICE_RETURN_NOT_OK(Define(n, o, ns, where));
      dom::array fields;
      if (o["fields"].get_array().get(fields) != simdjson::SUCCESS) {
        return Status::User("Avro schema: {}: record '{}' needs a \"fields\" array", where,
                            n->name);
      }
      std::set<std::string> seen;
      const std::string inner_ns = NamespaceOf(n->name);
      for (dom::element fe : fields) {
        dom::object fo;
        std::string_view fname;
        if (fe.get_object().get(fo) != simdjson::SUCCESS ||
            fo["name"].get_string().get(fname) != simdjson::SUCCESS) {
          return Status::User("Avro schema: {}: every field of record '{}' needs a \"name\"", where,
                              n->name);
        }
        FieldDef f;
        f.name = fname;
        if (!IsValidName(f.name)) {
          return Status::User("Avro schema: {}: '{}' is not a valid Avro field name", where,
                              f.name);
        }
        if (!seen.insert(f.name).second) {
          return Status::User("Avro schema: {}: record '{}' has two fields named '{}'", where,
                              n->name, f.name);
        }
        dom::element ft;
        if (fo["type"].get(ft) != simdjson::SUCCESS) {
          return Status::User("Avro schema: {}: field '{}' of record '{}' needs a \"type\"", where,
                              f.name, n->name);
        }
        SLUICE_ASSIGN_OR_RETURN(f.type, Build(ft, inner_ns, fmt::format("field '{}'", f.name)));
        dom::element def;
        if (fo["default"].get(def) == simdjson::SUCCESS) f.default_json = simdjson::to_string(def);
        dom::array faliases;
        if (fo["aliases"].get_array().get(faliases) == simdjson::SUCCESS) {
          for (dom::element a : faliases) {
            std::string_view s;
            if (a.get_string().get(s) == simdjson::SUCCESS) f.aliases.emplace_back(s);
          }
        }
        n->fields.push_back(std::move(f));
      }
    } else if (t == "enum") {
      n = New(Kind::kEnum);
      SLUICE_RETURN_NOT_OK(Define(n, o, ns, where));
      dom::array symbols;
      if (o["symbols"].get_array().get(symbols) != simdjson::SUCCESS) {
        return Status::User("Avro schema: {}: enum '{}' needs a \"symbols\" array", where, n->name);
      }
      for (dom::element s : symbols) {
        std::string_view sym;
        if (s.get_string().get(sym) != simdjson::SUCCESS || !IsValidName(sym)) {
          return Status::User("Avro schema: {}: enum '{}' has a symbol that is not a name: {}",
                              where, n->name, simdjson::to_string(s));
        }
        n->symbols.emplace_back(sym);
      }
      std::string_view def;
      if (o["default"].get_string().get(def) == simdjson::SUCCESS) {
        for (size_t i = 0; i < n->symbols.size(); ++i) {
          if (n->symbols[i] == def) n->enum_default = static_cast<int>(i);
        }
        if (n->enum_default < 0) {
          return Status::User("Avro schema: {}: enum '{}' has a default '{}' among no symbols",
                              where, n->name, def);
        }
      }
    } else if (t == "fixed") {
      n = New(Kind::kFixed);
      SLUICE_RETURN_NOT_OK(Define(n, o, ns, where));
      int64_t size;
      if (o["size"].get_int64().get(size) != simdjson::SUCCESS || size < 0 || size > (1 << 30)) {
        return Status::User("Avro schema: {}: fixed '{}' needs a \"size\" >= 0", where, n->name);
      }
      n->size = static_cast<int>(size);
    } else if (t == "array" || t == "map") {
      n = New(t == "array" ? Kind::kArray : Kind::kMap);
      dom::element items;
      const char* key = t == "array" ? "items" : "values";
      if (o[key].get(items) != simdjson::SUCCESS) {
        return Status::User("Avro schema: {}: an {} needs \"{}\"", where, t, key);
      }
      SLUICE_ASSIGN_OR_RETURN(n->items, Build(items, ns, where));
    } else {
      auto p = Primitives().find(t);
      if (p == Primitives().end()) {
        SLUICE_ASSIGN_OR_RETURN(const Node* named, Named(t, ns, where));
        return named;
      }
      n = New(p->second);
    }
    std::string_view logical;
    if (o["logicalType"].get_string().get(logical) == simdjson::SUCCESS)
      ApplyLogical(n, o, logical);
    return n;
  }

  // Logical types the specification says to ignore when they do not fit (the value is then
  // read as its underlying type).
  static void ApplyLogical(Node* n, dom::object o, std::string_view logical) {
    auto on = [&](Kind k, Logical l) {
      if (n->kind == k) n->logical = l;
    };
    if (logical == "decimal") {
      int64_t precision = 0, scale = 0;
      if (o["precision"].get_int64().get(precision) != simdjson::SUCCESS) return;
      if (o["scale"].get_int64().get(scale) != simdjson::SUCCESS) scale = 0;
      if (precision <= 0 || scale < 0 || scale > precision) return;
      if (n->kind != Kind::kBytes && n->kind != Kind::kFixed) return;
      n->logical = Logical::kDecimal;
      n->precision = static_cast<int>(precision);
      n->scale = static_cast<int>(scale);
    } else if (logical == "uuid") {
      on(Kind::kString, Logical::kUuid);
    } else if (logical == "date") {
      on(Kind::kInt, Logical::kDate);
    } else if (logical == "time-millis") {
      on(Kind::kInt, Logical::kTimeMillis);
    } else if (logical == "time-micros") {
      on(Kind::kLong, Logical::kTimeMicros);
    } else if (logical == "timestamp-millis") {
      on(Kind::kLong, Logical::kTimestampMillis);
    } else if (logical == "timestamp-micros") {
      on(Kind::kLong, Logical::kTimestampMicros);
    } else if (logical == "timestamp-nanos") {
      on(Kind::kLong, Logical::kTimestampNanos);
    } else if (logical == "local-timestamp-millis") {
      on(Kind::kLong, Logical::kLocalTimestampMillis);
    } else if (logical == "local-timestamp-micros") {
      on(Kind::kLong, Logical::kLocalTimestampMicros);
    } else if (logical == "local-timestamp-nanos") {
      on(Kind::kLong, Logical::kLocalTimestampNanos);
    } else if (logical == "duration") {
      if (n->kind == Kind::kFixed && n->size == 12) n->logical = Logical::kDuration;
    }
  }

  Schema* schema_;
  std::map<std::string, const Node*> named_;
};

Result<std::shared_ptr<const Schema>> Schema::Parse(std::string_view json) {
  auto schema = std::make_shared<Schema>();
  dom::parser parser;
  dom::element root;
  simdjson::padded_string padded(json);
  if (auto error = parser.parse(padded).get(root)) {
    return Status::User("Avro schema: not valid JSON ({})", simdjson::error_message(error));
  }
  SchemaBuilder builder(schema.get());
  SLUICE_ASSIGN_OR_RETURN(schema->root_, builder.Build(root, "", "the schema"));
  return std::shared_ptr<const Schema>(std::move(schema));
}

namespace {

// The Avro type Sluice writes a column of `type` as (without the null union).
Result<std::string> AvroTypeOf(const DataType& type, const std::string& name, int* record_count) {
  switch (type.id()) {
    case TypeId::kBool:
      return std::string("\"boolean\"");
    case TypeId::kInt8:
    case TypeId::kInt16:
    case TypeId::kInt32:
    case TypeId::kUInt8:
    case TypeId::kUInt16:
      return std::string("\"int\"");
    case TypeId::kInt64:
    case TypeId::kUInt32:
      return std::string("\"long\"");
    case TypeId::kFloat32:
      return std::string("\"float\"");
    case TypeId::kFloat64:
      return std::string("\"double\"");
    case TypeId::kDecimal:
      return fmt::format(R"({{"type":"bytes","logicalType":"decimal","precision":{},"scale":{}}})",
                         type.precision(), type.scale());
    case TypeId::kUtf8:
    case TypeId::kJson:
      return std::string("\"string\"");
    case TypeId::kBinary:
      return std::string("\"bytes\"");
    case TypeId::kDate:
      return std::string(R"({"type":"int","logicalType":"date"})");
    case TypeId::kTime:
      return std::string(R"({"type":"long","logicalType":"time-micros"})");
    case TypeId::kTimestamp:
      // timestamp-micros for TIMESTAMP too: the type every Avro reader knows (Arroyo and Flink
      // write it for their timestamps as well).
      return std::string(R"({"type":"long","logicalType":"timestamp-micros"})");
    case TypeId::kInterval:
      return fmt::format(R"({{"type":"fixed","name":"sluice_interval_{}","size":12,)"
                         R"("logicalType":"duration"}})",
                         (*record_count)++);
    case TypeId::kList: {
      SLUICE_ASSIGN_OR_RETURN(std::string items,
                              AvroTypeOf(type.element(), name + "_item", record_count));
      return fmt::format(R"({{"type":"array","items":["null",{}]}})", items);
    }
    case TypeId::kStruct: {
      std::string out = fmt::format(R"({{"type":"record","name":"{}_{}","fields":[)",
                                    name.empty() ? "r" : name, (*record_count)++);
      bool first = true;
      for (const auto& f : type.fields()) {
        if (!IsValidName(f.name)) {
          return Status::User(
              "format 'avro': struct field '{}' is not a valid Avro name (letters, digits, _)",
              f.name);
        }
        SLUICE_ASSIGN_OR_RETURN(std::string ft, AvroTypeOf(f.type, f.name, record_count));
        if (!first) out += ',';
        first = false;
        out += fmt::format(R"({{"name":"{}","type":["null",{}],"default":null}})", f.name, ft);
      }
      out += "]}";
      return out;
    }
    default:
      return Status::NotSupported("format 'avro' cannot write a {} column ('{}')", type.ToString(),
                                  name);
  }
}

}  // namespace

Result<std::shared_ptr<const Schema>> Schema::FromColumns(const types::Schema& columns) {
  std::string json = R"({"type":"record","name":"SluiceRow","fields":[)";
  int records = 0;
  for (size_t i = 0; i < columns.size(); ++i) {
    const auto& f = columns.field(i);
    if (!IsValidName(f.name)) {
      return Status::User(
          "format 'avro': column '{}' is not a valid Avro field name (letters, digits and _, not "
          "starting with a digit); rename it with AS",
          f.name);
    }
    SLUICE_ASSIGN_OR_RETURN(std::string t, AvroTypeOf(f.type, f.name, &records));
    if (i > 0) json += ',';
    json += fmt::format(R"({{"name":"{}","type":["null",{}],"default":null}})", f.name, t);
  }
  json += "]}";
  return Parse(json);
}

namespace {

void WriteJson(const Node& n, std::string* out, std::set<std::string>* defined) {
  auto with_logical = [&](const char* base) {
    if (n.logical == Logical::kNone) {
      AppendJsonString(out, base);
      return;
    }
    *out += fmt::format(R"({{"type":"{}","logicalType":"{}")", base, LogicalName(n.logical));
    if (n.logical == Logical::kDecimal) {
      *out += fmt::format(R"(,"precision":{},"scale":{})", n.precision, n.scale);
    }
    out->push_back('}');
  };
  switch (n.kind) {
    case Kind::kNull:
    case Kind::kBoolean:
    case Kind::kInt:
    case Kind::kLong:
    case Kind::kFloat:
    case Kind::kDouble:
    case Kind::kBytes:
    case Kind::kString:
      with_logical(KindName(n.kind));
      return;
    case Kind::kRecord:
    case Kind::kEnum:
    case Kind::kFixed:
      if (!defined->insert(n.name).second) {
        AppendJsonString(out, n.name);
        return;
      }
      *out += fmt::format(R"({{"type":"{}","name":)", KindName(n.kind));
      AppendJsonString(out, n.name);
      if (n.kind == Kind::kRecord) {
        *out += R"(,"fields":[)";
        for (size_t i = 0; i < n.fields.size(); ++i) {
          if (i > 0) out->push_back(',');
          *out += R"({"name":)";
          AppendJsonString(out, n.fields[i].name);
          *out += R"(,"type":)";
          WriteJson(*n.fields[i].type, out, defined);
          if (n.fields[i].default_json) *out += ",\"default\":" + *n.fields[i].default_json;
          out->push_back('}');
        }
        out->push_back(']');
      } else if (n.kind == Kind::kEnum) {
        *out += R"(,"symbols":[)";
        for (size_t i = 0; i < n.symbols.size(); ++i) {
          if (i > 0) out->push_back(',');
          AppendJsonString(out, n.symbols[i]);
        }
        out->push_back(']');
      } else {
        *out += fmt::format(R"(,"size":{})", n.size);
        if (n.logical != Logical::kNone) {
          *out += fmt::format(R"(,"logicalType":"{}")", LogicalName(n.logical));
          if (n.logical == Logical::kDecimal) {
            *out += fmt::format(R"(,"precision":{},"scale":{})", n.precision, n.scale);
          }
        }
      }
      out->push_back('}');
      return;
    case Kind::kArray:
    case Kind::kMap:
      *out += fmt::format(R"({{"type":"{}","{}":)", KindName(n.kind),
                          n.kind == Kind::kArray ? "items" : "values");
      WriteJson(*n.items, out, defined);
      out->push_back('}');
      return;
    case Kind::kUnion:
      out->push_back('[');
      for (size_t i = 0; i < n.branches.size(); ++i) {
        if (i > 0) out->push_back(',');
        WriteJson(*n.branches[i], out, defined);
      }
      out->push_back(']');
      return;
  }
}

Result<DataType> ToSluice(const Node& n, std::set<const Node*>* open) {
  switch (n.kind) {
    case Kind::kNull:
      return Status::NotSupported("Avro type null is only readable inside a union");
    case Kind::kBoolean:
      return DataType(TypeId::kBool);
    case Kind::kInt:
      if (n.logical == Logical::kDate) return DataType(TypeId::kDate);
      if (n.logical == Logical::kTimeMillis) return DataType(TypeId::kTime);
      return DataType(TypeId::kInt32);
    case Kind::kLong:
      switch (n.logical) {
        case Logical::kTimeMicros:
          return DataType(TypeId::kTime);
        case Logical::kTimestampMillis:
        case Logical::kTimestampMicros:
        case Logical::kTimestampNanos:
          return DataType::TimestampTz();
        case Logical::kLocalTimestampMillis:
        case Logical::kLocalTimestampMicros:
        case Logical::kLocalTimestampNanos:
          return DataType(TypeId::kTimestamp);
        default:
          return DataType(TypeId::kInt64);
      }
    case Kind::kFloat:
      return DataType(TypeId::kFloat32);
    case Kind::kDouble:
      return DataType(TypeId::kFloat64);
    case Kind::kBytes:
    case Kind::kFixed:
      if (n.logical == Logical::kDecimal) {
        if (n.precision > 38) {
          return Status::NotSupported(
              "Avro decimal({}, {}) has more digits than Sluice's DECIMAL (38)", n.precision,
              n.scale);
        }
        return DataType::Decimal(n.precision, n.scale);
      }
      if (n.logical == Logical::kDuration) return DataType(TypeId::kInterval);
      return DataType(TypeId::kBinary);
    case Kind::kString:
    case Kind::kEnum:
      return DataType(TypeId::kUtf8);
    case Kind::kMap:
      return DataType(TypeId::kJson);
    case Kind::kArray: {
      SLUICE_ASSIGN_OR_RETURN(DataType items, ToSluice(*n.items, open));
      return DataType::List(items);
    }
    case Kind::kUnion: {
      const Node* only = nullptr;
      int non_null = 0;
      for (const Node* b : n.branches) {
        if (b->kind != Kind::kNull) {
          only = b;
          ++non_null;
        }
      }
      if (non_null == 1) return ToSluice(*only, open);
      return DataType(TypeId::kJson);  // ["int","string"]: the value as JSON
    }
    case Kind::kRecord: {
      if (!open->insert(&n).second) {
        return Status::NotSupported(
            "Avro record '{}' contains itself; Sluice's STRUCT types are not recursive (declare "
            "the column as JSON)",
            n.name);
      }
      std::vector<types::Field> fields;
      for (const auto& f : n.fields) {
        SLUICE_ASSIGN_OR_RETURN(DataType t, ToSluice(*f.type, open));
        fields.push_back({f.name, t});
      }
      open->erase(&n);
      return DataType::Struct(std::move(fields));
    }
  }
  return Status::Internal("unknown Avro kind");
}

}  // namespace

std::string Schema::ToJson() const {
  std::string out;
  std::set<std::string> defined;
  WriteJson(*root_, &out, &defined);
  return out;
}

Result<DataType> ToSluiceType(const Node& node) {
  std::set<const Node*> open;
  return ToSluice(node, &open);
}

Result<types::Schema> ToSluiceColumns(const Schema& schema) {
  const Node& root = *schema.root();
  if (root.kind != Kind::kRecord) {
    return Status::User("the Avro schema of a table must be a record, not {}", Describe(root));
  }
  std::vector<types::Field> fields;
  for (const auto& f : root.fields) {
    auto t = ToSluiceType(*f.type);
    if (!t.ok()) return t.status().WithContext(fmt::format("Avro field '{}'", f.name));
    fields.push_back({f.name, *t});
  }
  return types::Schema(std::move(fields));
}

std::string Describe(const Node& node) {
  switch (node.kind) {
    case Kind::kRecord:
    case Kind::kEnum:
    case Kind::kFixed:
      return fmt::format("{} '{}'", KindName(node.kind), node.name);
    default:
      if (node.logical != Logical::kNone) {
        return fmt::format("{} ({})", KindName(node.kind), LogicalName(node.logical));
      }
      return KindName(node.kind);
  }
}

}  // namespace sluice::formats::avro
