#pragma once
// The decoding plan of an Avro writer schema read into Sluice columns: writer -> reader schema
// resolution (Avro specification, "Schema Resolution") compiled once per writer schema, then
// run per datum with no allocation (avro_decoder.cc).

#include <memory>
#include <string>
#include <vector>

#include "common/status.h"
#include "formats/avro_schema.h"
#include "types/schema.h"
#include "types/value.h"

namespace sluice::formats::avro {

enum class Op : uint8_t {
  kSkip,   // the reader does not read this value
  kError,  // a union branch the reader cannot read: an error when a datum takes it
  kNull,   // null into a nullable column
  kBool,
  kInteger,   // int/long (scaled by mul/div) into an integer, float, decimal or time column
  kReal,      // float/double into a float column
  kText,      // string/bytes/fixed (UTF-8 checked for TEXT) into TEXT or BYTEA
  kDecimal,   // bytes/fixed decimal into DECIMAL (rescaled by mul)
  kDuration,  // fixed(12) duration into INTERVAL
  kEnum,      // enum index -> reader symbol as TEXT
  kRecord,
  kArray,
  kUnion,
  kJson,  // the writer's value rendered as JSON text into a JSON column
};

struct Plan {
  Op op = Op::kSkip;
  const Node* writer = nullptr;
  types::TypeId target = types::TypeId::kNull;
  int64_t mul = 1;  // kInteger: value * mul, or floor(value / div); kDecimal: rescale factor
  int64_t div = 1;
  std::string error;           // kError
  std::vector<Plan> children;  // record: per writer field; array: items; union: branches
  std::vector<int> builders;   // record: builder of each writer field (-1: skip)
  // record: reader fields the writer lacks, filled with their default in each row.
  std::vector<std::pair<int, types::Value>> defaults;
  std::vector<std::string> symbols;  // enum: the text of each writer symbol index
  std::vector<bool> symbol_known;    // enum: whether the reader has (or defaults) it
  bool nested_target = false;        // writes into a STRUCT or LIST builder
};

// Compiles the plan of a datum of `writer` read as `reader` into `columns` (the reader
// record's fields that the table declares, by name). Errors say which field and why.
Result<Plan> CompileRecordPlan(const Node& writer, const Node& reader,
                               const types::Schema& columns);

// Checks that `columns` are readable from `reader` (each a field of it, of a compatible
// type): the table's declaration checked against avro.schema.
Status CheckColumns(const Node& reader, const types::Schema& columns);

}  // namespace sluice::formats::avro
