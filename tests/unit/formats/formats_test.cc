#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "batch/column_builder.h"
#include "formats/format.h"
#include "types/value.h"

namespace sluice::formats {
namespace {

using batch::ColumnPtr;
using types::DataType;
using types::Field;
using types::Schema;
using types::TypeId;

constexpr int64_t kTs = 1696871620200000;       // 2023-10-09T17:13:40.200Z
constexpr int64_t kTsWhole = 1695045600000000;  // 2023-09-18T14:00:00Z
constexpr int64_t kDay20230918 = 19618;

FormatOptions Json(BadDataPolicy bad_data = BadDataPolicy::kFail) {
  FormatOptions o;
  o.format = "json";
  o.bad_data = bad_data;
  return o;
}

std::unique_ptr<Decoder> MustDecoder(const FormatOptions& options, const Schema& schema) {
  auto d = MakeDecoder(options, schema, "table 't'");
  EXPECT_TRUE(d.ok()) << d.status().ToString();
  return d.MoveValue();
}

// Decodes the lines (numbered from 1) and returns the flushed columns.
std::vector<ColumnPtr> DecodeAll(const FormatOptions& options, const Schema& schema,
                                 const std::vector<std::string>& lines) {
  auto d = MustDecoder(options, schema);
  for (size_t i = 0; i < lines.size(); ++i) {
    Status st = d->Append(lines[i], "line " + std::to_string(i + 1));
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  return d->Flush();
}

// The error of the first bad line.
std::string DecodeError(const FormatOptions& options, const Schema& schema,
                        const std::vector<std::string>& lines) {
  auto d = MustDecoder(options, schema);
  for (size_t i = 0; i < lines.size(); ++i) {
    Status st = d->Append(lines[i], "line " + std::to_string(i + 1));
    if (!st.ok()) {
      EXPECT_EQ(st.kind(), ErrorKind::kUser);
      return st.message();
    }
  }
  return "no error";
}

batch::Batch MakeBatch(const Schema& schema, const std::vector<std::vector<types::Value>>& rows) {
  batch::Batch b;
  b.schema = std::make_shared<const Schema>(schema);
  for (size_t c = 0; c < schema.size(); ++c) {
    batch::ColumnBuilder builder(schema.field(c).type);
    for (const auto& row : rows) builder.AppendValue(row[c]);
    b.columns.push_back(builder.Finish());
  }
  b.num_rows = static_cast<int64_t>(rows.size());
  b.event_time = batch::Column::MakeConstant(types::Value::Timestamp(0), b.num_rows);
  return b;
}

std::string EncodeAll(const FormatOptions& options, const batch::Batch& b) {
  auto e = MakeEncoder(options, *b.schema);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  std::string out;
  Status st = (*e)->Encode(b, &out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out;
}

// ---------------------------------------------------------------------------------------------
// Options

TEST(FormatOptionsTest, ParsesAndErasesKnownKeys) {
  std::map<std::string, std::string> options = {{"format", "JSON"},
                                                {"bad_data", "drop"},
                                                {"framing", "newline"},
                                                {"json.timestamp_format", "unix_millis"},
                                                {"json.unstructured", "false"},
                                                {"path", "/tmp/x"}};
  auto parsed = ParseFormatOptions(&options, true);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->format, "json");
  EXPECT_EQ(parsed->bad_data, BadDataPolicy::kDrop);
  EXPECT_EQ(parsed->timestamp_format, TimestampFormat::kUnixMillis);
  EXPECT_FALSE(parsed->unstructured);
  ASSERT_EQ(options.size(), 1u);
  EXPECT_EQ(options.begin()->first, "path");
}

TEST(FormatOptionsTest, Defaults) {
  std::map<std::string, std::string> options = {{"format", "raw_string"}};
  auto parsed = ParseFormatOptions(&options, true);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->format, "raw_string");
  EXPECT_EQ(parsed->bad_data, BadDataPolicy::kFail);
  EXPECT_EQ(parsed->timestamp_format, TimestampFormat::kRfc3339);
  EXPECT_TRUE(options.empty());

  std::map<std::string, std::string> none;
  auto optional = ParseFormatOptions(&none, false);
  ASSERT_TRUE(optional.ok());
  EXPECT_EQ(optional->format, "");
}

TEST(FormatOptionsTest, Errors) {
  auto error = [](std::map<std::string, std::string> options, bool required = true) {
    auto parsed = ParseFormatOptions(&options, required);
    EXPECT_FALSE(parsed.ok());
    return parsed.ok() ? std::string("ok") : parsed.status().message();
  };
  EXPECT_EQ(error({}),
            "missing option 'format'; use format = 'json', 'debezium_json', 'raw_string', "
            "'raw_bytes', 'avro', 'protobuf' or 'parquet'");
  EXPECT_EQ(error({{"format", "xml"}}),
            "invalid value 'xml' for option 'format'; use 'json', 'debezium_json', "
            "'raw_string', 'raw_bytes', 'avro', 'protobuf' or 'parquet'");
  EXPECT_EQ(error({{"format", "json"}, {"bad_data", "skip"}}),
            "invalid value 'skip' for option 'bad_data'; use 'fail' or 'drop'");
  EXPECT_EQ(error({{"format", "json"}, {"framing", "length"}}),
            "invalid value 'length' for option 'framing'; use 'newline'");
  EXPECT_EQ(error({{"format", "json"}, {"json.timestamp_format", "iso"}}),
            "invalid value 'iso' for option 'json.timestamp_format'; use 'rfc3339', "
            "'unix_seconds', 'unix_millis' or 'unix_micros'");
  EXPECT_EQ(error({{"format", "json"}, {"json.unstructured", "yes"}}),
            "invalid value 'yes' for option 'json.unstructured'; use 'true' or 'false'");
  EXPECT_EQ(error({{"format", "raw_string"}, {"json.unstructured", "true"}}),
            "option 'json.unstructured' applies only to format 'json', not 'raw_string'");

  EXPECT_EQ(error({{"format", "avro"}, {"avro.raw_datums", "1"}}),
            "invalid value '1' for option 'avro.raw_datums'; use 'true' or 'false'");
  EXPECT_EQ(error({{"format", "json"}, {"avro.schema", "{}"}}),
            "option 'avro.schema' applies only to format 'avro', not 'json'");
  EXPECT_EQ(error({{"format", "avro"}, {"avro.confluent_schema_registry", "true"}}),
            "avro.confluent_schema_registry = 'true' needs the registry: set "
            "schema_registry.endpoint = 'http://host:8081'");
  EXPECT_EQ(error({{"format", "avro"},
                   {"avro.confluent_schema_registry", "true"},
                   {"schema_registry.endpoint", "localhost:8081"}}),
            "invalid value 'localhost:8081' for option 'schema_registry.endpoint'; use an "
            "http:// or https:// URL");
  EXPECT_EQ(error({{"format", "avro"}, {"avro.schema_id", "-3"}}),
            "invalid value '-3' for option 'avro.schema_id'; use a schema id (a non-negative "
            "integer)");

  EXPECT_EQ(error({{"format", "protobuf"}}),
            "format 'protobuf' needs the message's definition: protobuf.schema = '<.proto "
            "text>' (and protobuf.message_name when it defines several messages)");
  EXPECT_EQ(error({{"format", "avro"}, {"protobuf.message_name", "M"}}),
            "option 'protobuf.message_name' applies only to format 'protobuf', not 'avro'");

  // Parquet is a file format: accepted as an option, refused for records and lines.
  std::map<std::string, std::string> parquet = {{"format", "parquet"}};
  auto parsed = ParseFormatOptions(&parquet, true);
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  auto decoder = MakeDecoder(*parsed, Schema({{"a", types::Int64()}}), "t");
  ASSERT_FALSE(decoder.ok());
  EXPECT_EQ(decoder.status().kind(), ErrorKind::kNotSupported);
}

TEST(FormatOptionsTest, KeysListed) {
  const auto& keys = FormatOptionKeys();
  for (const char* k :
       {"format", "bad_data", "framing", "json.timestamp_format", "json.unstructured"}) {
    EXPECT_NE(std::find(keys.begin(), keys.end(), k), keys.end()) << k;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON decoding

Schema ScalarSchema() {
  return Schema({{"b", types::Bool()},
                 {"i8", DataType(TypeId::kInt8)},
                 {"i16", DataType(TypeId::kInt16)},
                 {"i32", types::Int32()},
                 {"i64", types::Int64()},
                 {"u8", DataType(TypeId::kUInt8)},
                 {"u64", types::UInt64()},
                 {"f32", DataType(TypeId::kFloat32)},
                 {"f64", types::Float64()},
                 {"d", DataType::Decimal(10, 2)},
                 {"t", types::Utf8()},
                 {"j", DataType(TypeId::kJson)},
                 {"by", DataType(TypeId::kBinary)},
                 {"dt", DataType(TypeId::kDate)},
                 {"tm", DataType(TypeId::kTime)},
                 {"ts", types::Timestamp()},
                 {"iv", DataType(TypeId::kInterval)}});
}

TEST(JsonDecoderTest, AllScalarTypes) {
  auto cols = DecodeAll(
      Json(), ScalarSchema(),
      {R"({"b":true,"i8":-128,"i16":32767,"i32":-5,"i64":9223372036854775807,"u8":255,)"
       R"("u64":18446744073709551615,"f32":1.5,"f64":-2.25e3,"d":"12.345","t":"h\u00e9 \"x\"",)"
       R"("j":{"k":[1, 2]},"by":"raw","dt":"2023-09-18","tm":"17:13:40.5",)"
       R"("ts":"2023-10-09T17:13:40.200Z","iv":"1 day 2 hours"})",
       R"({"b":false,"d":7,"t":42,"j":"s","ts":"2023-09-18 14:00:00","f64":3})"});
  ASSERT_EQ(cols.size(), 17u);
  for (const auto& c : cols) ASSERT_EQ(c->length, 2);
  EXPECT_TRUE(cols[0]->GetBool(0));
  EXPECT_EQ(cols[1]->raw<int8_t>()[0], -128);
  EXPECT_EQ(cols[2]->raw<int16_t>()[0], 32767);
  EXPECT_EQ(cols[3]->raw<int32_t>()[0], -5);
  EXPECT_EQ(cols[4]->raw<int64_t>()[0], std::numeric_limits<int64_t>::max());
  EXPECT_EQ(cols[5]->raw<uint8_t>()[0], 255);
  EXPECT_EQ(cols[6]->raw<uint64_t>()[0], std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(cols[7]->raw<float>()[0], 1.5f);
  EXPECT_EQ(cols[8]->raw<double>()[0], -2250.0);
  EXPECT_EQ(cols[9]->raw<types::int128_t>()[0], 1235);  // 12.345 rounded half up to 12.35
  EXPECT_EQ(cols[10]->GetString(0), "h\xc3\xa9 \"x\"");
  EXPECT_EQ(cols[11]->GetString(0), R"({"k":[1, 2]})");
  EXPECT_EQ(cols[12]->GetString(0), "raw");
  EXPECT_EQ(cols[13]->raw<int32_t>()[0], kDay20230918);
  EXPECT_EQ(cols[14]->raw<int64_t>()[0], (17 * 3600 + 13 * 60 + 40) * 1000000LL + 500000);
  EXPECT_EQ(cols[15]->raw<int64_t>()[0], kTs);
  EXPECT_EQ(cols[16]->raw<types::Interval>()[0], (types::Interval{0, 1, 7200000000LL}));

  // Row 2: missing fields are NULL, conversions from other JSON types.
  EXPECT_FALSE(cols[0]->GetBool(1));
  EXPECT_TRUE(cols[0]->IsValid(1));
  for (int c : {1, 2, 3, 4, 5, 6, 7, 12, 13, 14, 16}) EXPECT_TRUE(cols[c]->IsNull(1)) << c;
  EXPECT_EQ(cols[8]->raw<double>()[1], 3.0);
  EXPECT_EQ(cols[9]->raw<types::int128_t>()[1], 700);
  EXPECT_EQ(cols[10]->GetString(1), "42");  // a non-string for TEXT: its JSON text
  EXPECT_EQ(cols[11]->GetString(1), "\"s\"");
  EXPECT_EQ(cols[15]->raw<int64_t>()[1], kTsWhole);
}

TEST(JsonDecoderTest, NullsAndUnknownFields) {
  Schema schema({{"a", types::Int64()}, {"s", types::Utf8()}, {"j", DataType(TypeId::kJson)}});
  auto cols = DecodeAll(Json(), schema,
                        {R"({"a":null,"s":null,"j":null,"other":{"deep":[1,{"x":2}]}})",
                         R"({"zzz":1})", R"({"s":"x","a":1})"});
  ASSERT_EQ(cols[0]->length, 3);
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(cols[0]->IsNull(r));
    EXPECT_TRUE(cols[1]->IsNull(r));
    EXPECT_TRUE(cols[2]->IsNull(r));
  }
  EXPECT_EQ(cols[0]->raw<int64_t>()[2], 1);
  EXPECT_EQ(cols[1]->GetString(2), "x");
  EXPECT_TRUE(cols[2]->IsNull(2));
}

TEST(JsonDecoderTest, TextAndJsonColumnsTakeAnyValue) {
  Schema schema({{"t", types::Utf8()}, {"j", DataType(TypeId::kJson)}});
  auto cols = DecodeAll(
      Json(), schema,
      {R"({"t":{"a": [1, "x"]},"j":true})", R"({"t":[1,2] ,"j":-1.5e3})", R"({"t":false,"j":[]})"});
  EXPECT_EQ(cols[0]->GetString(0), R"({"a": [1, "x"]})");
  EXPECT_EQ(cols[0]->GetString(1), "[1,2]");
  EXPECT_EQ(cols[0]->GetString(2), "false");
  EXPECT_EQ(cols[1]->GetString(0), "true");
  EXPECT_EQ(cols[1]->GetString(1), "-1.5e3");
  EXPECT_EQ(cols[1]->GetString(2), "[]");
}

TEST(JsonDecoderTest, FieldNamesMatchCaseInsensitivelyAndInAnyOrder) {
  Schema schema({{"userid", types::Int64()}, {"name", types::Utf8()}});
  auto cols = DecodeAll(Json(), schema,
                        {R"({"userId":1,"name":"a"})", R"({"name":"b","USERID":2})",
                         R"({"userid":3,"name":"c"})", R"({"na\u006de":"d","userid":4})"});
  ASSERT_EQ(cols[0]->length, 4);
  for (int r = 0; r < 4; ++r) EXPECT_EQ(cols[0]->raw<int64_t>()[r], r + 1);
  EXPECT_EQ(cols[1]->GetString(0), "a");
  EXPECT_EQ(cols[1]->GetString(1), "b");
  EXPECT_EQ(cols[1]->GetString(2), "c");
  EXPECT_EQ(cols[1]->GetString(3), "d");
}

TEST(JsonDecoderTest, RepeatedKeyFirstWins) {
  Schema schema({{"a", types::Int64()}});
  auto cols = DecodeAll(Json(), schema, {R"({"a":1,"a":2})"});
  EXPECT_EQ(cols[0]->raw<int64_t>()[0], 1);
}

TEST(JsonDecoderTest, NestedStructsAndLists) {
  DataType item = DataType::Struct({{"sku", types::Utf8()}, {"qty", types::Int32()}});
  DataType order = DataType::Struct(
      {{"id", types::Int64()}, {"items", DataType::List(item)}, {"note", types::Utf8()}});
  Schema schema({{"o", order}, {"tags", DataType::List(types::Utf8())}});
  auto cols = DecodeAll(
      Json(), schema,
      {R"({"o":{"id":7,"items":[{"sku":"a","qty":2},{"qty":3,"sku":"b","x":0}]},"tags":["x","y"]})",
       R"({"o":null,"tags":[]})", R"({"o":{"items":null},"tags":["z",null]})", R"({})"});
  ASSERT_EQ(cols[0]->length, 4);
  const auto& o = *cols[0];
  EXPECT_TRUE(o.IsValid(0));
  EXPECT_TRUE(o.IsNull(1));
  EXPECT_TRUE(o.IsValid(2));
  EXPECT_TRUE(o.IsNull(3));
  EXPECT_EQ(o.children[0]->raw<int64_t>()[0], 7);
  EXPECT_TRUE(o.children[0]->IsNull(2));
  const auto& items = *o.children[1];
  EXPECT_EQ(items.offsets()[0], 0);
  EXPECT_EQ(items.offsets()[1], 2);
  EXPECT_TRUE(items.IsNull(2));
  const auto& item_col = *items.children[0];
  EXPECT_EQ(item_col.children[0]->GetString(0), "a");
  EXPECT_EQ(item_col.children[1]->raw<int32_t>()[0], 2);
  EXPECT_EQ(item_col.children[0]->GetString(1), "b");
  EXPECT_EQ(item_col.children[1]->raw<int32_t>()[1], 3);
  EXPECT_TRUE(o.children[2]->IsNull(0));  // note: missing

  const auto& tags = *cols[1];
  EXPECT_EQ(tags.offsets()[1] - tags.offsets()[0], 2);
  EXPECT_EQ(tags.children[0]->GetString(0), "x");
  EXPECT_EQ(tags.children[0]->GetString(1), "y");
  EXPECT_TRUE(tags.IsValid(1));
  EXPECT_EQ(tags.offsets()[2] - tags.offsets()[1], 0);
  EXPECT_EQ(tags.children[0]->GetString(2), "z");
  EXPECT_TRUE(tags.children[0]->IsNull(3));
  EXPECT_TRUE(tags.IsNull(3));
}

TEST(JsonDecoderTest, BadDataFailNamesSourceLineAndField) {
  Schema schema({{"id", types::Int64()}, {"price", types::Int64()}});
  EXPECT_EQ(
      DecodeError(Json(), schema,
                  {R"({"id":1,"price":2})", R"({"id":2,"price":3})", R"({"id":3,"price":"abc"})"}),
      "table 't': bad data at line 3: field 'price': expected BIGINT, found string "
      "\"abc\"");
  EXPECT_EQ(DecodeError(Json(), schema, {R"({"id":1.5})"}),
            "table 't': bad data at line 1: field 'id': expected BIGINT, found number 1.5");
  EXPECT_EQ(DecodeError(Json(), schema, {R"({"id":[1]})"}),
            "table 't': bad data at line 1: field 'id': expected BIGINT, found an array");
  EXPECT_EQ(DecodeError(Json(), schema, {R"([1,2])"}),
            "table 't': bad data at line 1: expected a JSON object, found array");
  std::string invalid = DecodeError(Json(), schema, {R"({"id":1,)"});
  EXPECT_EQ(invalid.rfind("table 't': bad data at line 1: invalid JSON: ", 0), 0u) << invalid;
  invalid = DecodeError(Json(), schema, {R"({"id":1} {"id":2})"});
  EXPECT_EQ(invalid.rfind("table 't': bad data at line 1: invalid JSON: ", 0), 0u) << invalid;

  Schema small({{"x", DataType(TypeId::kInt8)}, {"u", DataType(TypeId::kUInt32)}});
  EXPECT_EQ(DecodeError(Json(), small, {R"({"x":300})"}),
            "table 't': bad data at line 1: field 'x': value 300 is out of range for TINYINT");
  EXPECT_EQ(DecodeError(Json(), small, {R"({"u":-1})"}),
            "table 't': bad data at line 1: field 'u': value -1 is out of range for INT "
            "UNSIGNED");

  Schema ts({{"ts", types::Timestamp()}});
  EXPECT_EQ(DecodeError(Json(), ts, {R"({"ts":"yesterday"})"}),
            "table 't': bad data at line 1: field 'ts': expected TIMESTAMP, found string "
            "\"yesterday\"");
  EXPECT_EQ(DecodeError(Json(), ts, {R"({"ts":1696871620200})"}),
            "table 't': bad data at line 1: field 'ts': expected TIMESTAMP, found number "
            "1696871620200 (epoch seconds, milliseconds or microseconds need "
            "json.timestamp_format = 'unix_seconds', 'unix_millis' or 'unix_micros')");

  Schema dec({{"d", DataType::Decimal(4, 2)}});
  EXPECT_EQ(DecodeError(Json(), dec, {R"({"d":123.4})"}),
            "table 't': bad data at line 1: field 'd': value 123.4 is out of range for "
            "DECIMAL(4, 2)");
}

TEST(JsonDecoderTest, NestedErrorPath) {
  DataType item = DataType::Struct({{"qty", types::Int32()}});
  Schema schema({{"o", DataType::Struct({{"items", DataType::List(item)}})}});
  EXPECT_EQ(DecodeError(Json(), schema, {R"({"o":{"items":[{"qty":1},{"qty":true}]}})"}),
            "table 't': bad data at line 1: field 'o.items[1].qty': expected INT, found "
            "boolean true");
  Schema matrix({{"m", DataType::List(DataType::List(types::Int32()))}});
  EXPECT_EQ(DecodeError(Json(), matrix, {R"({"m":[[1],[2,"x"]]})"}),
            "table 't': bad data at line 1: field 'm[1][1]': expected INT, found string \"x\"");
}

TEST(JsonDecoderTest, BadDataDropSkipsWholeRows) {
  DataType s = DataType::Struct({{"x", types::Int32()}, {"y", types::Int32()}});
  Schema schema({{"a", types::Int64()}, {"s", s}, {"l", DataType::List(s)}, {"t", types::Utf8()}});
  auto d = MustDecoder(Json(BadDataPolicy::kDrop), schema);
  std::vector<std::string> lines = {
      R"({"a":1,"s":{"x":1,"y":2},"l":[{"x":1}],"t":"one"})",
      R"({"a":2,"s":{"x":5,"y":"bad"},"t":"never"})",          // fails inside a struct
      R"({"t":"two","a":3,"l":[{"x":1,"y":2},{"x":"bad"}]})",  // fails inside a list
      R"({"a":4})",
      R"(not json)",
      R"({"a":"five"})",
      R"({"a":6,"s":null,"l":[{"y":9}],"t":"six"})",
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_TRUE(d->Append(lines[i], "line " + std::to_string(i + 1)).ok());
  }
  EXPECT_EQ(d->pending_rows(), 3);
  EXPECT_EQ(d->dropped_rows(), 4);
  auto cols = d->Flush();
  ASSERT_EQ(cols[0]->length, 3);
  EXPECT_EQ(cols[0]->raw<int64_t>()[0], 1);
  EXPECT_EQ(cols[0]->raw<int64_t>()[1], 4);
  EXPECT_EQ(cols[0]->raw<int64_t>()[2], 6);
  EXPECT_EQ(cols[1]->length, 3);
  EXPECT_EQ(cols[1]->children[0]->raw<int32_t>()[0], 1);
  EXPECT_EQ(cols[1]->children[1]->raw<int32_t>()[0], 2);
  EXPECT_TRUE(cols[1]->IsNull(1));
  EXPECT_TRUE(cols[1]->IsNull(2));
  EXPECT_EQ(cols[2]->offsets()[1] - cols[2]->offsets()[0], 1);
  EXPECT_TRUE(cols[2]->IsNull(1));
  EXPECT_EQ(cols[2]->offsets()[3] - cols[2]->offsets()[2], 1);
  EXPECT_EQ(cols[2]->children[0]->length, 2);
  EXPECT_EQ(cols[2]->children[0]->children[1]->raw<int32_t>()[1], 9);
  EXPECT_EQ(cols[3]->GetString(0), "one");
  EXPECT_TRUE(cols[3]->IsNull(1));
  EXPECT_EQ(cols[3]->GetString(2), "six");

  // The decoder is reset and stays usable.
  EXPECT_EQ(d->pending_rows(), 0);
  ASSERT_TRUE(d->Append(R"({"a":7})", "line 8").ok());
  auto more = d->Flush();
  ASSERT_EQ(more[0]->length, 1);
  EXPECT_EQ(more[0]->raw<int64_t>()[0], 7);
  EXPECT_EQ(d->dropped_rows(), 4);
}

TEST(JsonDecoderTest, BlankLinesCarryNoRow) {
  Schema schema({{"a", types::Int64()}});
  auto cols = DecodeAll(Json(), schema, {"", "  ", R"({"a":1})"});
  EXPECT_EQ(cols[0]->length, 1);
}

TEST(JsonDecoderTest, UnixMillis) {
  FormatOptions o = Json();
  o.timestamp_format = TimestampFormat::kUnixMillis;
  Schema schema({{"ts", types::Timestamp()}});
  auto cols = DecodeAll(o, schema,
                        {R"({"ts":1696871620200})", R"({"ts":"2023-09-18T14:00:00"})",
                         R"({"ts":-1})", R"({"ts":null})"});
  EXPECT_EQ(cols[0]->raw<int64_t>()[0], kTs);
  EXPECT_EQ(cols[0]->raw<int64_t>()[1], kTsWhole);
  EXPECT_EQ(cols[0]->raw<int64_t>()[2], -1000);
  EXPECT_TRUE(cols[0]->IsNull(3));
}

TEST(JsonDecoderTest, UnixSecondsAndMicros) {
  Schema schema({{"ts", types::Timestamp()}, {"tz", types::DataType::TimestampTz()}});
  FormatOptions o = Json();
  o.timestamp_format = TimestampFormat::kUnixSeconds;
  auto cols = DecodeAll(o, schema, {R"({"ts":1695045600,"tz":-2})"});
  EXPECT_EQ(cols[0]->raw<int64_t>()[0], kTsWhole);
  EXPECT_EQ(cols[1]->raw<int64_t>()[0], -2000000);
  EXPECT_EQ(cols[1]->type, types::DataType::TimestampTz());
  o.timestamp_format = TimestampFormat::kUnixMicros;
  cols = DecodeAll(o, schema, {R"({"ts":1696871620200000,"tz":"2023-10-09T19:13:40.2+02:00"})"});
  EXPECT_EQ(cols[0]->raw<int64_t>()[0], kTs);
  EXPECT_EQ(cols[1]->raw<int64_t>()[0], kTs);
  // Out of range for microseconds.
  o.timestamp_format = TimestampFormat::kUnixSeconds;
  EXPECT_EQ(DecodeError(o, schema, {R"({"ts":9223372036854775})"}),
            "table 't': bad data at line 1: field 'ts': value 9223372036854775 is out of range "
            "for TIMESTAMP");
}

TEST(JsonDecoderTest, Decimals) {
  Schema schema({{"d", DataType::Decimal(12, 3)}});
  auto cols = DecodeAll(Json(), schema,
                        {R"({"d":1.5})", R"({"d":"-0.0005"})", R"({"d":1e3})",
                         R"({"d":"123456789.1234"})", R"({"d":-2.5E-2})", R"({"d":"0.0004"})"});
  const auto* v = cols[0]->raw<types::int128_t>();
  EXPECT_EQ(v[0], 1500);
  EXPECT_EQ(v[1], -1);  // half away from zero
  EXPECT_EQ(v[2], 1000000);
  EXPECT_EQ(v[3], 123456789123);
  EXPECT_EQ(v[4], -25);
  EXPECT_EQ(v[5], 0);
}

TEST(JsonDecoderTest, Unstructured) {
  FormatOptions o = Json();
  o.unstructured = true;
  Schema schema({{"value", DataType(TypeId::kJson)}});
  auto cols = DecodeAll(o, schema, {R"({"a": [1, 2], "b": null})", "[1]"});
  EXPECT_EQ(cols[0]->GetString(0), R"({"a": [1, 2], "b": null})");
  EXPECT_EQ(cols[0]->GetString(1), "[1]");
  std::string err = DecodeError(o, schema, {R"({"a": tru})"});
  EXPECT_EQ(err.rfind("table 't': bad data at line 1: invalid JSON: ", 0), 0u) << err;

  auto bad = MakeDecoder(o, Schema({{"a", types::Int64()}}), "table 't'");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("single column named 'value'"), std::string::npos);
}

TEST(RawStringDecoderTest, WholeLine) {
  FormatOptions o;
  o.format = "raw_string";
  Schema schema({{"value", types::Utf8()}});
  auto cols = DecodeAll(o, schema, {R"({"not": "parsed"})", "", "  x  "});
  ASSERT_EQ(cols[0]->length, 3);
  EXPECT_EQ(cols[0]->GetString(0), R"({"not": "parsed"})");
  EXPECT_EQ(cols[0]->GetString(1), "");
  EXPECT_EQ(cols[0]->GetString(2), "  x  ");
  auto bad = MakeDecoder(o, Schema({{"v", types::Int64()}}), "table 't'");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "format 'raw_string' reads each line into a single TEXT column named 'value'; "
            "declare the table as (value TEXT), not (v BIGINT)");
}

// ---------------------------------------------------------------------------------------------
// JSON encoding

TEST(JsonEncoderTest, ScalarTypes) {
  using types::Value;
  Schema schema({{"b", types::Bool()},
                 {"i", types::Int64()},
                 {"u", types::UInt64()},
                 {"f", types::Float64()},
                 {"r", DataType(TypeId::kFloat32)},
                 {"d", DataType::Decimal(10, 2)},
                 {"s", types::Utf8()},
                 {"j", DataType(TypeId::kJson)},
                 {"dt", DataType(TypeId::kDate)},
                 {"tm", DataType(TypeId::kTime)},
                 {"ts", types::Timestamp()},
                 {"iv", DataType(TypeId::kInterval)}});
  auto b = MakeBatch(
      schema,
      {{Value::Boolean(true), Value::Int64(-42),
        Value::UInt(types::UInt64(), 18446744073709551615u), Value::Double(0.1),
        Value::Float(DataType(TypeId::kFloat32), 1.5),
        Value::Decimal(DataType::Decimal(10, 2), 1230), Value::String("hi"),
        Value::Bytes(DataType(TypeId::kJson), R"({"k":[1,2]})"), Value::Date(kDay20230918),
        Value::Time((17 * 3600 + 13 * 60 + 40) * 1000000LL), Value::Timestamp(kTsWhole),
        Value::IntervalValue({0, 1, 7200000000LL})},
       {Value::Boolean(false), Value::Int64(0), Value::UInt(types::UInt64(), 0),
        Value::Double(std::nan("")), Value::Float(DataType(TypeId::kFloat32), 0.1),
        Value::Decimal(DataType::Decimal(10, 2), -5), Value::String(""),
        Value::Bytes(DataType(TypeId::kJson), "3"), Value::Date(0), Value::Time(500000),
        Value::Timestamp(kTs), Value::IntervalValue({14, 0, -1500000})},
       {Value::Null(types::Bool()), Value::Null(types::Int64()), Value::Null(types::UInt64()),
        Value::Double(1e20), Value::Float(DataType(TypeId::kFloat32), INFINITY),
        Value::Null(DataType::Decimal(10, 2)), Value::Null(types::Utf8()),
        Value::Null(DataType(TypeId::kJson)), Value::Null(DataType(TypeId::kDate)),
        Value::Null(DataType(TypeId::kTime)), Value::Timestamp(kTsWhole + 123456),
        Value::Null(DataType(TypeId::kInterval))}});
  EXPECT_EQ(EncodeAll(Json(), b),
            R"({"b":true,"i":-42,"u":18446744073709551615,"f":0.1,"r":1.5,"d":12.30,"s":"hi",)"
            R"("j":{"k":[1,2]},"dt":"2023-09-18","tm":"17:13:40","ts":"2023-09-18T14:00:00",)"
            R"("iv":"1 day 02:00:00"})"
            "\n"
            R"({"b":false,"i":0,"u":0,"f":null,"r":0.1,"d":-0.05,"s":"","j":3,)"
            R"("dt":"1970-01-01","tm":"00:00:00.500","ts":"2023-10-09T17:13:40.200",)"
            R"("iv":"1 year 2 mons -00:00:01.500000"})"
            "\n"
            R"({"b":null,"i":null,"u":null,"f":1e+20,"r":null,"d":null,"s":null,"j":null,)"
            R"("dt":null,"tm":null,"ts":"2023-09-18T14:00:00.123456","iv":null})"
            "\n");
}

TEST(JsonEncoderTest, StringEscaping) {
  Schema schema({{"we\"ird", types::Utf8()}});
  auto b = MakeBatch(schema,
                     {{types::Value::String(std::string("a\"b\\c\n\t\r\b\f\x01\x1f/\xc3\xa9"))}});
  EXPECT_EQ(EncodeAll(Json(), b),
            "{\"we\\\"ird\":\"a\\\"b\\\\c\\n\\t\\r\\b\\f\\u0001\\u001f/\xc3\xa9\"}\n");
}

TEST(JsonEncoderTest, NestedAndUnixMillis) {
  using types::Value;
  DataType item = DataType::Struct({{"sku", types::Utf8()}, {"at", types::Timestamp()}});
  Schema schema({{"items", DataType::List(item)}, {"ts", types::Timestamp()}});
  auto b = MakeBatch(
      schema,
      {{Value::Nested(
            DataType::List(item),
            {Value::Nested(item, {Value::String("a"), Value::Timestamp(kTs)}), Value::Null(item),
             Value::Nested(item, {Value::Null(types::Utf8()), Value::Timestamp(-1000)})}),
        Value::Timestamp(kTs)},
       {Value::Nested(DataType::List(item), {}), Value::Timestamp(-1)}});
  EXPECT_EQ(EncodeAll(Json(), b),
            R"({"items":[{"sku":"a","at":"2023-10-09T17:13:40.200"},null,)"
            R"({"sku":null,"at":"1969-12-31T23:59:59.999"}],"ts":"2023-10-09T17:13:40.200"})"
            "\n"
            R"({"items":[],"ts":"1969-12-31T23:59:59.999999"})"
            "\n");
  FormatOptions millis = Json();
  millis.timestamp_format = TimestampFormat::kUnixMillis;
  EXPECT_EQ(EncodeAll(millis, b),
            R"({"items":[{"sku":"a","at":1696871620200},null,{"sku":null,"at":-1}],)"
            R"("ts":1696871620200})"
            "\n"
            R"({"items":[],"ts":-1})"
            "\n");
}

TEST(JsonEncoderTest, TimestampTextMatchesFormatTimestamp) {
  Schema schema({{"ts", types::Timestamp()}, {"d", DataType(TypeId::kDate)}});
  std::vector<int64_t> samples = {0,
                                  1,
                                  -1,
                                  999,
                                  1000,
                                  1001,
                                  kTs,
                                  kTsWhole,
                                  86399999999LL,
                                  -86400000000LL * 365 * 3 - 7,
                                  253402300799999999LL,
                                  253402300800000000LL,
                                  -62135596800000000LL,
                                  -62135596800000001LL};
  for (int64_t t : samples) {
    int64_t days = t / 86400000000LL;
    auto b = MakeBatch(schema, {{types::Value::Timestamp(t), types::Value::Date(days)}});
    EXPECT_EQ(EncodeAll(Json(), b), fmt::format("{{\"ts\":\"{}\",\"d\":\"{}\"}}\n",
                                                types::FormatTimestamp(t), types::FormatDate(days)))
        << t;
  }
}

TEST(JsonEncoderTest, RoundTripThroughDecoder) {
  Schema schema = ScalarSchema();
  auto cols = DecodeAll(
      Json(), schema,
      {R"({"b":true,"i8":-128,"i16":32767,"i32":-5,"i64":9223372036854775807,"u8":255,)"
       R"("u64":18446744073709551615,"f32":1.5,"f64":-2.25e3,"d":"12.34","t":"h\u00e9\n",)"
       R"("j":{"k":[1,2]},"by":"raw","dt":"2023-09-18","tm":"17:13:40.5",)"
       R"("ts":"2023-10-09T17:13:40.200Z","iv":"1 day 2 hours"})",
       R"({})"});
  batch::Batch b;
  b.schema = std::make_shared<const Schema>(schema);
  b.columns = cols;
  b.num_rows = 2;
  // BYTEA is written as hex text, which reads back as other bytes: left out of the comparison.
  std::string text = EncodeAll(Json(), b);
  auto again = DecodeAll(Json(), schema,
                         {text.substr(0, text.find('\n')), text.substr(text.find('\n') + 1)});
  for (size_t c = 0; c < schema.size(); ++c) {
    if (schema.field(c).name == "by") continue;
    for (int64_t r = 0; r < 2; ++r) {
      EXPECT_EQ(cols[c]->GetValue(r).ToString(), again[c]->GetValue(r).ToString())
          << schema.field(c).name << " row " << r;
    }
  }
}

TEST(RawStringEncoderTest, OneTextColumn) {
  FormatOptions o;
  o.format = "raw_string";
  Schema schema({{"line", types::Utf8()}});
  auto b = MakeBatch(schema, {{types::Value::String("a \"b\"")},
                              {types::Value::Null(types::Utf8())},
                              {types::Value::String("c")}});
  EXPECT_EQ(EncodeAll(o, b), "a \"b\"\n\nc\n");
  auto bad = MakeEncoder(o, Schema({{"a", types::Utf8()}, {"b", types::Int64()}}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "format 'raw_string' writes a single TEXT column per line, but the rows are "
            "(a TEXT, b BIGINT); select one TEXT column");
}

TEST(JsonEncoderTest, Unstructured) {
  FormatOptions o = Json();
  o.unstructured = true;
  Schema schema({{"value", DataType(TypeId::kJson)}});
  auto b = MakeBatch(schema, {{types::Value::Bytes(DataType(TypeId::kJson), "{\"a\":\n1}")},
                              {types::Value::Null(DataType(TypeId::kJson))}});
  EXPECT_EQ(EncodeAll(o, b), "{\"a\": 1}\nnull\n");
}

}  // namespace
}  // namespace sluice::formats

namespace sluice::formats {
namespace {

TEST(DebeziumEncoderTest, PairsUpdatesAndWritesInsertsAndDeletes) {
  types::Schema schema(
      std::vector<types::Field>{{"k", types::Utf8(), true}, {"n", types::Int64(), true}});
  batch::ColumnBuilder k(types::Utf8()), n(types::Int64()),
      kinds(types::DataType(types::TypeId::kInt8));
  auto add = [&](const char* key, int64_t count, batch::ChangeKind kind) {
    k.AppendString(key);
    n.AppendFixed<int64_t>(count);
    kinds.AppendFixed<int8_t>(static_cast<int8_t>(kind));
  };
  add("a", 1, batch::ChangeKind::kInsert);
  add("a", 1, batch::ChangeKind::kUpdateBefore);
  add("a", 2, batch::ChangeKind::kUpdateAfter);
  add("b", 5, batch::ChangeKind::kDelete);
  add("c", 7, batch::ChangeKind::kUpdateBefore);  // alone: a delete
  batch::Batch b;
  b.columns = {k.Finish(), n.Finish()};
  b.change_kind = kinds.Finish();
  b.num_rows = 5;
  FormatOptions options;
  options.format = "debezium_json";
  auto encoder = MakeEncoder(options, schema);
  ASSERT_TRUE(encoder.ok()) << encoder.status().ToString();
  std::string out;
  ASSERT_TRUE((*encoder)->Encode(b, &out).ok());
  EXPECT_EQ(out,
            "{\"before\":null,\"after\":{\"k\":\"a\",\"n\":1},\"op\":\"c\"}\n"
            "{\"before\":{\"k\":\"a\",\"n\":1},\"after\":{\"k\":\"a\",\"n\":2},\"op\":\"u\"}\n"
            "{\"before\":{\"k\":\"b\",\"n\":5},\"after\":null,\"op\":\"d\"}\n"
            "{\"before\":{\"k\":\"c\",\"n\":7},\"after\":null,\"op\":\"d\"}\n");
}

}  // namespace
}  // namespace sluice::formats

// ---------------------------------------------------------------------------------------------
// Debezium JSON decoding

namespace sluice::formats {
namespace {

using batch::ChangeKind;

FormatOptions Debezium(BadDataPolicy bad_data = BadDataPolicy::kFail) {
  FormatOptions o;
  o.format = "debezium_json";
  o.bad_data = bad_data;
  return o;
}

const Schema& ProductSchema() {
  static const Schema schema(
      {{"id", types::Int64()}, {"name", types::Utf8()}, {"qty", types::Int32()}});
  return schema;
}

// Debezium's temporal integers: the unit comes from the schema block of each message (one
// that alternates between two schemas included), else epoch microseconds for TIMESTAMP, days
// for DATE and microseconds for TIME.
TEST(DebeziumDecoderTest, TemporalUnitsFromTheSchema) {
  Schema schema({{"id", types::Int32()},
                 {"at", types::Timestamp()},
                 {"d", types::DataType(TypeId::kDate)},
                 {"t", types::DataType(TypeId::kTime)}});
  auto schema_of = [](const char* at_name, const char* t_name) {
    std::string row = std::string(R"({"type":"struct","fields":[{"type":"int32","field":"id"},)") +
                      R"({"type":"int64","name":")" + at_name + R"(","field":"at"},)" +
                      R"({"type":"int32","name":"io.debezium.time.Date","field":"d"},)" +
                      R"({"type":"int64","name":")" + t_name + R"(","field":"t"}],)";
    return R"({"type":"struct","fields":[)" + row + R"("field":"before"},)" + row +
           R"("field":"after"},{"type":"string","field":"op"}]})";
  };
  const std::string micros =
      schema_of("io.debezium.time.MicroTimestamp", "io.debezium.time.MicroTime");
  const std::string millis = schema_of("io.debezium.time.Timestamp", "io.debezium.time.Time");
  const std::string nanos =
      schema_of("io.debezium.time.NanoTimestamp", "io.debezium.time.NanoTime");
  auto envelope = [](const std::string& schema, const std::string& payload) {
    return R"({"schema":)" + schema + R"(,"payload":)" + payload + "}";
  };
  std::vector<std::string> lines = {
      envelope(
          micros,
          R"({"before":null,"after":{"id":1,"at":1696871620200000,"d":19618,"t":1500000},"op":"c"})"),
      envelope(millis,
               R"({"before":null,"after":{"id":2,"at":1696871620200,"d":-1,"t":1500},"op":"r"})"),
      // No schema after a schema of milliseconds: the defaults, microseconds.
      R"({"before":null,"after":{"id":3,"at":1696871620200000,"d":19618,"t":1500000},"op":"c"})",
      envelope(
          nanos,
          R"({"before":null,"after":{"id":4,"at":1696871620200000999,"d":0,"t":1500000000},"op":"c"})"),
      envelope(
          micros,
          R"({"before":null,"after":{"id":5,"at":1696871620200000,"d":19618,"t":1500000},"op":"c"})"),
      envelope(millis, R"({"before":null,"after":{"id":6,"at":-1,"d":1,"t":0},"op":"c"})"),
      // The schema after the payload (read again in its units), then a null schema.
      R"({"payload":{"before":{"id":7,"at":1696871620200,"d":1,"t":1500},"after":{"id":7,"at":-1,"d":1,"t":1500},"op":"u"},"schema":)" +
          millis + "}",
      R"({"schema":null,"payload":{"before":null,"after":{"id":8,"at":1696871620200000,"d":19618,"t":1500000},"op":"c"}})",
  };
  auto d = MustDecoder(Debezium(), schema);
  for (size_t i = 0; i < lines.size(); ++i) {
    Status st = d->Append(lines[i], "line " + std::to_string(i + 1));
    ASSERT_TRUE(st.ok()) << st.ToString();
  }
  auto cols = d->Flush();
  ASSERT_EQ(cols[0]->length, 9);
  const int32_t want_id[] = {1, 2, 3, 4, 5, 6, 7, 7, 8};
  const int64_t want_at[] = {kTs, kTs, kTs, kTs, kTs, -1000, kTs, -1000, kTs};
  const int32_t want_d[] = {kDay20230918, -1, kDay20230918, 0, kDay20230918, 1, 1, 1, kDay20230918};
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(cols[0]->raw<int32_t>()[i], want_id[i]) << "row " << i;
    EXPECT_EQ(cols[1]->raw<int64_t>()[i], want_at[i]) << "row " << i;
    EXPECT_EQ(cols[2]->raw<int32_t>()[i], want_d[i]) << "row " << i;
    EXPECT_EQ(cols[3]->raw<int64_t>()[i], i == 5 ? 0 : 1500000) << "row " << i;
  }
  const auto& kinds = d->flushed_change_kinds();
  EXPECT_EQ(kinds->raw<int8_t>()[6], static_cast<int8_t>(ChangeKind::kUpdateBefore));
  EXPECT_EQ(kinds->raw<int8_t>()[7], static_cast<int8_t>(ChangeKind::kUpdateAfter));
  // A time of day out of range names the column's type.
  EXPECT_EQ(DecodeError(Debezium(), schema,
                        {R"({"after":{"id":1,"t":86400000001},"before":null,"op":"c"})"}),
            "table 't': bad data at line 1: field 'after.t': value 86400000001 is out of range "
            "for TIME");
}

// A decoded row as "kind id name qty", for compact comparisons.
std::vector<std::string> Rows(const std::vector<ColumnPtr>& cols, const ColumnPtr& kinds) {
  std::vector<std::string> out;
  EXPECT_NE(kinds, nullptr);
  if (kinds == nullptr) return out;
  EXPECT_EQ(kinds->length, cols[0]->length);
  static const char* kNames[] = {"+I", "-D", "-U", "+U"};
  for (int64_t i = 0; i < kinds->length; ++i) {
    std::string row = kNames[kinds->raw<int8_t>()[i]];
    for (const auto& c : cols) {
      bool text = c->type.id() == TypeId::kUtf8 && c->IsValid(i);
      row += " " + (text ? std::string(c->GetString(i)) : c->GetValue(i).ToString());
    }
    out.push_back(row);
  }
  return out;
}

// Appends the lines (numbered from 1), expecting no error, and returns the flushed rows.
std::vector<std::string> DecodeChanges(Decoder* d, const std::vector<std::string>& lines) {
  for (size_t i = 0; i < lines.size(); ++i) {
    Status st = d->Append(lines[i], "line " + std::to_string(i + 1));
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
  auto cols = d->Flush();
  return Rows(cols, d->flushed_change_kinds());
}

TEST(DebeziumJsonDecoderTest, EachOpGivesItsRowsAndChangeKinds) {
  auto d = MustDecoder(Debezium(), ProductSchema());
  auto rows = DecodeChanges(
      d.get(),
      {R"({"before":null,"after":{"id":1,"name":"ann","qty":5},"op":"c","ts_ms":1700000000000})",
       R"({"before":null,"after":{"id":2,"name":"bob","qty":3},"op":"r",)"
       R"("source":{"version":"2.4","db":"shop","snapshot":"true"}})",
       R"({"before":{"id":1,"name":"ann","qty":5},"after":{"id":1,"name":"ann","qty":7},)"
       R"("source":{"db":"shop"},"op":"u","ts_ms":1700000000001,"transaction":null})",
       R"({"before":{"id":2,"name":"bob","qty":3},"after":null,"op":"d"})"});
  EXPECT_EQ(rows, (std::vector<std::string>{"+I 1 ann 5", "+I 2 bob 3", "-U 1 ann 5", "+U 1 ann 7",
                                            "-D 2 bob 3"}));
  EXPECT_EQ(d->dropped_rows(), 0);
}

TEST(DebeziumJsonDecoderTest, PayloadWrapperFromSchemasEnabled) {
  auto d = MustDecoder(Debezium(), ProductSchema());
  auto rows = DecodeChanges(
      d.get(),
      {R"({"schema":{"type":"struct","fields":[{"field":"before"}]},)"
       R"("payload":{"before":{"id":1,"name":"ann","qty":5},"after":{"id":1,"name":"ann","qty":6},"op":"u"}})",
       R"({"payload":{"op":"c","after":{"id":3,"name":"cy","qty":1}},"schema":null})"});
  EXPECT_EQ(rows, (std::vector<std::string>{"-U 1 ann 5", "+U 1 ann 6", "+I 3 cy 1"}));
}

TEST(DebeziumJsonDecoderTest, FieldOrderDoesNotMatter) {
  // `op` first, `after` before `before`: the update-before row still comes first.
  auto d = MustDecoder(Debezium(), ProductSchema());
  auto rows = DecodeChanges(
      d.get(), {R"({"op":"u","after":{"qty":2,"id":1},"before":{"id":1,"qty":1}})",
                R"({"after":{"id":2},"op":"c"})",
                // Row images match columns as `json` does: case-insensitively, extras ignored.
                R"({"op":"d","before":{"ID":2,"Name":"x","extra":[1,2]}})"});
  EXPECT_EQ(rows, (std::vector<std::string>{"-U 1 NULL 1", "+U 1 NULL 2", "+I 2 NULL NULL",
                                            "-D 2 x NULL"}));
}

TEST(DebeziumJsonDecoderTest, BadLinesFailWithLineAndProblem) {
  const Schema& schema = ProductSchema();
  auto error = [&](const std::string& line) { return DecodeError(Debezium(), schema, {line}); };
  std::string invalid = error(R"({"before":null,"after":{"id":1},"op":"c")");
  EXPECT_EQ(invalid.rfind("table 't': bad data at line 1: invalid JSON: ", 0), 0u) << invalid;
  invalid = error("not json");
  EXPECT_EQ(invalid.rfind("table 't': bad data at line 1: invalid JSON: ", 0), 0u) << invalid;
  EXPECT_EQ(error(R"({"before":null,"after":{"id":1}})"),
            "table 't': bad data at line 1: missing \"op\": a Debezium change event needs "
            "\"op\": \"c\" (create), \"r\" (read), \"u\" (update) or \"d\" (delete), with the "
            "row in \"before\" and/or \"after\"");
  EXPECT_EQ(error(R"({"before":null,"after":{"id":1},"op":"x"})"),
            "table 't': bad data at line 1: unknown op \"x\"; expected \"c\" (create), \"r\" "
            "(read), \"u\" (update) or \"d\" (delete)");
  EXPECT_EQ(error(R"({"before":null,"after":null,"op":"t"})"),
            "table 't': bad data at line 1: unknown op \"t\"; expected \"c\" (create), \"r\" "
            "(read), \"u\" (update) or \"d\" (delete) (truncate events cannot be read: they name "
            "no rows)");
  EXPECT_EQ(error(R"({"before":null,"after":{"id":1},"op":"u"})"),
            "table 't': bad data at line 1: op \"u\" (update) needs the old row in \"before\", "
            "found none; Debezium writes it when the source table logs full rows (PostgreSQL: "
            "ALTER TABLE ... REPLICA IDENTITY FULL)");
  EXPECT_EQ(error(R"({"before":{"id":1},"op":"u"})"),
            "table 't': bad data at line 1: op \"u\" (update) needs the new row in \"after\", "
            "found none");
  EXPECT_EQ(error(R"({"before":null,"after":{"id":1},"op":"d"})"),
            "table 't': bad data at line 1: op \"d\" (delete) needs the old row in \"before\", "
            "found none");
  EXPECT_EQ(error(R"({"before":{"id":1},"after":null,"op":"c"})"),
            "table 't': bad data at line 1: op \"c\" (create) needs the new row in \"after\", "
            "found none");
  EXPECT_EQ(error(R"({"after":{"id":1},"op":1})"),
            "table 't': bad data at line 1: field 'op': expected \"c\", \"r\", \"u\" or \"d\", "
            "found number 1");
  EXPECT_EQ(error(R"({"after":[1],"op":"c"})"),
            "table 't': bad data at line 1: field 'after': expected an object (the row) or "
            "null, found an array");
  EXPECT_EQ(error(R"({"after":{"id":1,"qty":"many"},"op":"c"})"),
            "table 't': bad data at line 1: field 'after.qty': expected INT, found string "
            "\"many\"");
  EXPECT_EQ(error(R"({"payload":{"op":"d","before":{"id":"one"}}})"),
            "table 't': bad data at line 1: field 'payload.before.id': expected BIGINT, found "
            "string \"one\"");
  EXPECT_EQ(error(R"([{"op":"c"}])"),
            "table 't': bad data at line 1: expected a Debezium change event (a JSON object "
            "with \"before\", \"after\" and \"op\"), found array");
  EXPECT_EQ(error(R"({"payload":null})"),
            error(R"({"before":null,"after":{"id":1}})"));  // a tombstone has no op
  // The line number is the failing line's.
  EXPECT_EQ(DecodeError(Debezium(), schema,
                        {R"({"after":{"id":1},"op":"c"})", "", R"({"after":{"id":2}})"}),
            DecodeError(Debezium(), schema, {R"({"after":{"id":2}})"})
                .replace(std::string("table 't': bad data at line ").size(), 1, "3"));
}

TEST(DebeziumJsonDecoderTest, BadDataDropSkipsWholeChanges) {
  auto d = MustDecoder(Debezium(BadDataPolicy::kDrop), ProductSchema());
  std::vector<std::string> lines = {
      R"({"after":{"id":1,"name":"a","qty":1},"op":"c"})",
      // The old row decodes, the new one does not: neither is kept.
      R"({"before":{"id":1,"name":"a","qty":1},"after":{"id":1,"qty":"x"},"op":"u"})",
      R"(not json)",
      R"({"before":{"id":1,"name":"a","qty":1},"after":{"id":1,"name":"a","qty":2}})",
      R"({"before":{"id":1,"name":"a","qty":1},"after":{"id":1,"name":"a","qty":3},"op":"u"})",
      // A create's `before` is read but not kept.
      R"({"before":{"id":9,"name":"z","qty":9},"after":{"id":2,"name":"b","qty":4},"op":"c"})",
      R"({"before":null,"after":null,"op":"d"})",
      R"({"op":"d","before":{"id":2,"name":"b","qty":4}})",
  };
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_TRUE(d->Append(lines[i], "line " + std::to_string(i + 1)).ok());
  }
  EXPECT_EQ(d->pending_rows(), 5);
  EXPECT_EQ(d->dropped_rows(), 4);
  auto cols = d->Flush();
  EXPECT_EQ(Rows(cols, d->flushed_change_kinds()),
            (std::vector<std::string>{"+I 1 a 1", "-U 1 a 1", "+U 1 a 3", "+I 2 b 4", "-D 2 b 4"}));

  // The decoder is reset and stays usable.
  EXPECT_EQ(d->pending_rows(), 0);
  EXPECT_EQ(DecodeChanges(d.get(), {R"({"after":{"id":5},"op":"r"})"}),
            (std::vector<std::string>{"+I 5 NULL NULL"}));
  EXPECT_EQ(d->dropped_rows(), 4);
}

TEST(DebeziumJsonDecoderTest, OptionsAndSchema) {
  FormatOptions o = Debezium();
  o.timestamp_format = TimestampFormat::kUnixMillis;
  Schema ts({{"id", types::Int64()}, {"at", types::Timestamp()}});
  auto d = MustDecoder(o, ts);
  ASSERT_TRUE(d->Append(R"({"after":{"id":1,"at":1696871620200},"op":"c"})", "line 1").ok());
  auto cols = d->Flush();
  EXPECT_EQ(cols[1]->raw<int64_t>()[0], kTs);

  std::map<std::string, std::string> unstructured = {{"format", "debezium_json"},
                                                     {"json.unstructured", "true"}};
  auto parsed = ParseFormatOptions(&unstructured, true);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message(),
            "option 'json.unstructured' applies only to format 'json', not 'debezium_json'");

  auto bad = MakeDecoder(Debezium(), Schema({{"n", DataType(TypeId::kNull)}}), "table 't'");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "column 'n' has no type the JSON format can read");

  // Append-only formats give no change kinds.
  auto json = MustDecoder(Json(), ProductSchema());
  ASSERT_TRUE(json->Append(R"({"id":1})", "line 1").ok());
  json->Flush();
  EXPECT_EQ(json->flushed_change_kinds(), nullptr);
}

TEST(DebeziumJsonDecoderTest, ReadsWhatTheEncoderWrites) {
  const Schema& schema = ProductSchema();
  batch::Batch b = MakeBatch(
      schema,
      {{types::Value::Int64(1), types::Value::String("a"), types::Value::Int(types::Int32(), 1)},
       {types::Value::Int64(1), types::Value::String("a"), types::Value::Int(types::Int32(), 1)},
       {types::Value::Int64(1), types::Value::String("a\"b"), types::Value::Int(types::Int32(), 2)},
       {types::Value::Int64(1), types::Value::String("a\"b"),
        types::Value::Int(types::Int32(), 2)}});
  batch::ColumnBuilder kinds(DataType(TypeId::kInt8));
  for (ChangeKind k : {ChangeKind::kInsert, ChangeKind::kUpdateBefore, ChangeKind::kUpdateAfter,
                       ChangeKind::kDelete}) {
    kinds.AppendFixed<int8_t>(static_cast<int8_t>(k));
  }
  b.change_kind = kinds.Finish();
  std::string text = EncodeAll(Debezium(), b);
  std::vector<std::string> lines;
  for (size_t start = 0, end; (end = text.find('\n', start)) != std::string::npos;
       start = end + 1) {
    lines.push_back(text.substr(start, end - start));
  }
  auto d = MustDecoder(Debezium(), schema);
  EXPECT_EQ(DecodeChanges(d.get(), lines),
            (std::vector<std::string>{"+I 1 a 1", "-U 1 a 1", "+U 1 a\"b 2", "-D 1 a\"b 2"}));
}

}  // namespace
}  // namespace sluice::formats
