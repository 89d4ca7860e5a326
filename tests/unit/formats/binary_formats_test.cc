// Avro and Protobuf codecs on bytes given by their specifications (zig-zag varints, the
// Confluent header, packed repeated fields), and bad input. The cross-checks with fastavro and
// Python's protobuf are tests/formats/*_test.py.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "batch/column_builder.h"
#include "formats/format.h"
#include "formats/record_file.h"

namespace sluice::formats {
namespace {

using types::DataType;
using types::Schema;
using types::TypeId;

std::string Bytes(std::initializer_list<int> b) {
  std::string s;
  for (int x : b) s.push_back(static_cast<char>(x));
  return s;
}

FormatOptions Avro(const std::string& schema, BadDataPolicy bad = BadDataPolicy::kFail) {
  FormatOptions o;
  o.format = "avro";
  o.avro_schema = schema;
  o.avro_raw_datums = true;
  o.bad_data = bad;
  return o;
}

const char* kRecord = R"({"type":"record","name":"R","fields":[
  {"name":"n","type":"long"},{"name":"s","type":"string"},
  {"name":"o","type":["null","int"]}]})";

TEST(AvroFormatTest, DecodesTheSpecificationsEncoding) {
  Schema schema({{"n", types::Int64()}, {"s", types::Utf8()}, {"o", types::Int32()}});
  auto d = MakeDecoder(Avro(kRecord), schema, "t").MoveValue();
  // long -64 is zig-zag 127 (0x7f); "foo" is length 3 (0x06) then the bytes; the union's
  // branch 1 (0x02) then int 1 (0x02), or branch 0 (null).
  ASSERT_TRUE(d->Append(Bytes({0x7f, 0x06, 'f', 'o', 'o', 0x02, 0x02}), "r1").ok());
  ASSERT_TRUE(d->Append(Bytes({0x80, 0x01, 0x00, 0x00}), "r2").ok());  // 64, "", null
  auto cols = d->Flush();
  ASSERT_EQ(cols.size(), 3u);
  EXPECT_EQ(cols[0]->raw<int64_t>()[0], -64);
  EXPECT_EQ(cols[0]->raw<int64_t>()[1], 64);
  EXPECT_EQ(cols[1]->GetString(0), "foo");
  EXPECT_EQ(cols[1]->GetString(1), "");
  EXPECT_EQ(cols[2]->raw<int32_t>()[0], 1);
  EXPECT_TRUE(cols[2]->IsNull(1));
}

TEST(AvroFormatTest, BadDatumsFailOrDrop) {
  Schema schema({{"n", types::Int64()}, {"s", types::Utf8()}, {"o", types::Int32()}});
  auto d = MakeDecoder(Avro(kRecord), schema, "table 't'").MoveValue();
  Status st = d->Append(Bytes({0x02, 0x08, 'a'}), "offset 9");  // string of 4 bytes, 1 given
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "table 't': bad data at offset 9: truncated datum (string)");

  auto drop = MakeDecoder(Avro(kRecord, BadDataPolicy::kDrop), schema, "t").MoveValue();
  ASSERT_TRUE(drop->Append(Bytes({0x02, 0x00, 0x04}), "a").ok());        // branch 2 of 2
  ASSERT_TRUE(drop->Append(Bytes({0x02, 0x00, 0x00, 0x00}), "b").ok());  // a byte after it
  ASSERT_TRUE(drop->Append(Bytes({0x04, 0x00, 0x00}), "c").ok());        // good: 2, "", null
  EXPECT_EQ(drop->dropped_rows(), 2);
  EXPECT_EQ(drop->pending_rows(), 1);
  auto cols = drop->Flush();
  ASSERT_EQ(cols[0]->length, 1);
  EXPECT_EQ(cols[0]->raw<int64_t>()[0], 2);
}

TEST(AvroFormatTest, RoundTripsThroughTheEncoder) {
  Schema schema({{"n", types::Int64()},
                 {"d", DataType::Decimal(12, 3)},
                 {"xs", DataType::List(types::Utf8())}});
  batch::ColumnBuilder n(types::Int64()), dec(DataType::Decimal(12, 3)),
      xs(DataType::List(types::Utf8()));
  n.AppendFixed<int64_t>(-5);
  dec.AppendFixed<types::int128_t>(-123456);  // -123.456
  xs.element_builder()->AppendString("a");
  xs.element_builder()->AppendNull();
  xs.FinishListRow();
  n.AppendNull();
  dec.AppendFixed<types::int128_t>(1);
  xs.AppendNull();
  batch::Batch b;
  b.schema = std::make_shared<const Schema>(schema);
  b.columns = {n.Finish(), dec.Finish(), xs.Finish()};
  b.num_rows = 2;
  FormatOptions o;
  o.format = "avro";
  o.avro_raw_datums = true;
  auto e = MakeEncoder(o, schema).MoveValue();
  std::string out;
  std::vector<std::pair<size_t, size_t>> spans;
  ASSERT_TRUE(e->EncodeRecords(b, &out, &spans).ok());
  ASSERT_EQ(spans.size(), 2u);
  auto d = MakeDecoder(o, schema, "t").MoveValue();
  for (auto [begin, end] : spans) {
    ASSERT_TRUE(d->Append(out.substr(begin, end - begin), "r").ok());
  }
  auto cols = d->Flush();
  EXPECT_EQ(cols[0]->raw<int64_t>()[0], -5);
  EXPECT_TRUE(cols[0]->IsNull(1));
  EXPECT_TRUE(cols[1]->raw<types::int128_t>()[0] == -123456);
  EXPECT_TRUE(cols[1]->raw<types::int128_t>()[1] == 1);
  EXPECT_EQ(cols[2]->GetValue(0).ToString(),
            types::Value::Nested(DataType::List(types::Utf8()),
                                 {types::Value::String("a"), types::Value::Null(types::Utf8())})
                .ToString());
  EXPECT_TRUE(cols[2]->IsNull(1));
}

// A filesystem sink's Avro file reopened after a restore: a new writer given the file's state
// (its sync marker) appends blocks a reader accepts; without it the blocks carry another
// marker and the file is damaged.
TEST(AvroFormatTest, ContainerFileResumedByAnotherWriter) {
  Schema schema({{"n", types::Int64()}});
  auto batch_of = [&](int64_t first, int64_t rows) {
    batch::ColumnBuilder n(types::Int64());
    for (int64_t i = 0; i < rows; ++i) n.AppendFixed<int64_t>(first + i);
    batch::Batch b;
    b.schema = std::make_shared<const Schema>(schema);
    b.columns = {n.Finish()};
    b.num_rows = rows;
    return b;
  };
  FormatOptions o;
  o.format = "avro";
  auto read_all = [&](std::string file, std::vector<int64_t>* out) -> Status {
    file.append(kLinePadding, '\0');
    SLUICE_ASSIGN_OR_RETURN(auto reader,
                            RecordFileReader::Open(o, schema, "f.avro", std::move(file), "t"));
    while (!reader->done()) {
      SLUICE_RETURN_NOT_OK(reader->Read(1000).status());
      auto cols = reader->decoder().Flush();
      for (int64_t i = 0; i < cols[0]->length; ++i) out->push_back(cols[0]->raw<int64_t>()[i]);
    }
    return Status::Ok();
  };
  auto first = RecordFileWriter::Make(o, schema).MoveValue();
  std::string file;
  first->StartFile(&file);
  ASSERT_TRUE(first->Write(batch_of(0, 3), &file).ok());
  const std::string state = first->file_state();
  ASSERT_EQ(state.size(), 16u);  // the sync marker

  auto resumed = RecordFileWriter::Make(o, schema).MoveValue();
  ASSERT_TRUE(resumed->ResumeFile(state).ok());
  std::string good = file;
  ASSERT_TRUE(resumed->Write(batch_of(3, 2), &good).ok());
  std::vector<int64_t> rows;
  Status st = read_all(good, &rows);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(rows, (std::vector<int64_t>{0, 1, 2, 3, 4}));

  auto fresh = RecordFileWriter::Make(o, schema).MoveValue();  // its own random marker
  std::string bad = file;
  ASSERT_TRUE(fresh->Write(batch_of(3, 2), &bad).ok());
  rows.clear();
  EXPECT_FALSE(read_all(bad, &rows).ok());

  Status wrong = fresh->ResumeFile("short");
  EXPECT_FALSE(wrong.ok());
  EXPECT_NE(wrong.message().find("sync marker"), std::string::npos) << wrong.message();
}

TEST(AvroFormatTest, SchemaErrors) {
  Schema schema({{"n", types::Int64()}});
  auto bad =
      MakeDecoder(Avro(R"({"type":"record","name":"R","fields":[{"name":"n"}]})"), schema, "t");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "option 'avro.schema': Avro schema: the schema: field 'n' of record 'R' needs a "
            "\"type\"");
  auto mismatch = MakeDecoder(Avro(R"({"type":"record","name":"R","fields":[
      {"name":"n","type":"boolean"}]})"),
                              schema, "t");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.status().message().find(
                "field 'n': Avro boolean cannot be read into a BIGINT column"),
            std::string::npos)
      << mismatch.status().message();
}

const char* kProto = R"(syntax = "proto3";
message M { int64 id = 1; repeated sint32 xs = 2; string s = 3; optional int32 o = 4; })";

FormatOptions Proto(BadDataPolicy bad = BadDataPolicy::kFail) {
  FormatOptions o;
  o.format = "protobuf";
  o.protobuf_schema = kProto;
  o.bad_data = bad;
  return o;
}

TEST(ProtobufFormatTest, DecodesTheWireFormat) {
  Schema schema({{"id", types::Int64()},
                 {"xs", DataType::List(types::Int32())},
                 {"s", types::Utf8()},
                 {"o", types::Int32()}});
  auto d = MakeDecoder(Proto(), schema, "t").MoveValue();
  // id = 150 (tag 0x08, varint 0x96 0x01); xs packed (tag 0x12, 3 bytes): sint32 -1, 1, -2
  // (zig-zag 1, 2, 3); s = "hi" (tag 0x1a); o absent.
  ASSERT_TRUE(
      d->Append(Bytes({0x08, 0x96, 0x01, 0x12, 0x03, 0x01, 0x02, 0x03, 0x1a, 0x02, 'h', 'i'}), "r1")
          .ok());
  // Empty message: defaults (0, [], ""), and NULL for the optional field.
  ASSERT_TRUE(d->Append("", "r2").ok());
  auto cols = d->Flush();
  EXPECT_EQ(cols[0]->raw<int64_t>()[0], 150);
  EXPECT_EQ(cols[1]->GetValue(0).ToString(), "[-1, 1, -2]");
  EXPECT_EQ(cols[2]->GetString(0), "hi");
  EXPECT_TRUE(cols[3]->IsNull(0));
  EXPECT_EQ(cols[0]->raw<int64_t>()[1], 0);
  EXPECT_EQ(cols[1]->GetValue(1).ToString(), "[]");
  EXPECT_EQ(cols[2]->GetString(1), "");
  EXPECT_TRUE(cols[3]->IsNull(1));
}

TEST(ProtobufFormatTest, BadMessagesAndSchemas) {
  Schema schema({{"id", types::Int64()}, {"s", types::Utf8()}});
  auto d = MakeDecoder(Proto(), schema, "table 't'").MoveValue();
  Status st = d->Append(Bytes({0x08}), "offset 3");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "table 't': bad data at offset 3: field 1: truncated");
  auto drop = MakeDecoder(Proto(BadDataPolicy::kDrop), schema, "t").MoveValue();
  ASSERT_TRUE(drop->Append(Bytes({0x1a, 0x01, 0xff}), "a").ok());  // s is not UTF-8
  ASSERT_TRUE(drop->Append(Bytes({0x08, 0x07}), "b").ok());
  EXPECT_EQ(drop->dropped_rows(), 1);
  auto cols = drop->Flush();
  ASSERT_EQ(cols[0]->length, 1);
  EXPECT_EQ(cols[0]->raw<int64_t>()[0], 7);

  FormatOptions bad = Proto();
  bad.protobuf_schema = "message M { int64 id = 1 }";
  auto parsed = MakeDecoder(bad, schema, "t");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.status().message().rfind("option 'protobuf.schema': the .proto text does not "
                                            "parse: line 1",
                                            0),
            0u)
      << parsed.status().message();
}

}  // namespace
}  // namespace sluice::formats
