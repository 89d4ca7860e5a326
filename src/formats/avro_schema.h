#pragma once
// Avro schemas (https://avro.apache.org/docs/1.11.1/specification/): parsed from their JSON
// text, written back as JSON, derived from Sluice's columns, and mapped to Sluice's types.
//
// Sluice's codec is written against the specification (docs/decisions/0016): the schema is
// parsed once into a tree of AvroNodes, which the decoder compiles into a plan per writer
// schema.

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "types/data_type.h"
#include "types/schema.h"
#include "types/value.h"

namespace sluice::formats::avro {

enum class Kind : uint8_t {
  kNull,
  kBoolean,
  kInt,
  kLong,
  kFloat,
  kDouble,
  kBytes,
  kString,
  kRecord,
  kEnum,
  kArray,
  kMap,
  kUnion,
  kFixed,
};

enum class Logical : uint8_t {
  kNone,
  kDecimal,
  kUuid,
  kDate,
  kTimeMillis,
  kTimeMicros,
  kTimestampMillis,
  kTimestampMicros,
  kTimestampNanos,
  kLocalTimestampMillis,
  kLocalTimestampMicros,
  kLocalTimestampNanos,
  kDuration,
};

struct Node;

struct FieldDef {
  std::string name;
  std::vector<std::string> aliases;
  const Node* type = nullptr;
  // The field's default as JSON text (for a reader field the writer lacks); none when the
  // schema gives none.
  std::optional<std::string> default_json;
};

struct Node {
  Kind kind = Kind::kNull;
  Logical logical = Logical::kNone;
  int precision = 0;                  // decimal
  int scale = 0;                      // decimal
  std::string name;                   // full name of a record, enum or fixed
  std::vector<std::string> aliases;   // full names
  std::vector<FieldDef> fields;       // record
  std::vector<std::string> symbols;   // enum
  int enum_default = -1;              // enum: index of the reader's default symbol
  const Node* items = nullptr;        // array items, map values
  std::vector<const Node*> branches;  // union
  int size = 0;                       // fixed
};

// A parsed schema; nodes live as long as the Schema.
class Schema {
 public:
  static Result<std::shared_ptr<const Schema>> Parse(std::string_view json);
  // The schema Sluice writes rows of `columns` with: a record "SluiceRow" whose fields are the
  // columns, each a union with null (columns are nullable).
  static Result<std::shared_ptr<const Schema>> FromColumns(const types::Schema& columns);

  const Node* root() const { return root_; }
  // The schema as JSON text (its Parsing Canonical Form plus logical types and defaults).
  std::string ToJson() const;

 private:
  friend class SchemaBuilder;
  std::deque<Node> nodes_;
  const Node* root_ = nullptr;
};

// The Sluice type an Avro type is read into: records become STRUCTs, unions with null
// nullable values, enums TEXT, maps and other unions JSON, logical types their SQL type.
// Error for a type Sluice cannot hold (a recursive record).
Result<types::DataType> ToSluiceType(const Node& node);
// The columns of a record schema's fields (for a table declared without columns).
Result<types::Schema> ToSluiceColumns(const Schema& schema);

// "a long", "a record 'x.Y'": the type as named in error messages.
std::string Describe(const Node& node);

}  // namespace sluice::formats::avro
