// raw_string: each line (or message) is one row of a single TEXT column, untouched.
// raw_bytes: each message is one row of a single BYTEA column, untouched (decoding only: a
// message connector such as kafka writes the column's bytes as the record itself).

#include "batch/column_builder.h"
#include "formats/codecs.h"

namespace sluice::formats {

namespace {

class RawStringDecoder : public Decoder {
 public:
  explicit RawStringDecoder(types::DataType type) : builder_(type) {}

  Status Append(std::string_view record, const std::string& position) override {
    // A default string_view has a null data pointer, which memcpy must not see even for 0 bytes.
    builder_.AppendString(record.empty() ? std::string_view("") : record);
    return Status::Ok();
  }
  Status AppendPadded(std::string_view record,
                      const std::function<std::string()>& position) override {
    builder_.AppendString(record.empty() ? std::string_view("") : record);
    return Status::Ok();
  }
  int64_t pending_rows() const override { return builder_.length(); }
  std::vector<batch::ColumnPtr> Flush() override { return {builder_.Finish()}; }
  int64_t dropped_rows() const override { return 0; }

 private:
  batch::ColumnBuilder builder_;
};

class RawStringEncoder : public Encoder {
 public:
  Status Encode(const batch::Batch& batch, std::string* out) override {
    if (batch.columns.size() != 1 || batch.columns[0]->type.id() != types::TypeId::kUtf8) {
      return Status::Internal("raw_string encoder got a batch of schema {}",
                              batch.schema ? batch.schema->ToString() : "?");
    }
    const batch::Column& c = *batch.columns[0];
    const int32_t* offsets = c.offsets();
    out->reserve(out->size() + static_cast<size_t>(offsets[batch.num_rows] - offsets[0]) +
                 static_cast<size_t>(batch.num_rows));
    // A NULL is written as an empty line: the format has no way to tell them apart.
    for (int64_t i = 0; i < batch.num_rows; ++i) {
      if (c.IsValid(i)) out->append(c.GetString(i));
      out->push_back('\n');
    }
    return Status::Ok();
  }
};

}  // namespace

Result<std::unique_ptr<Decoder>> MakeRawStringDecoder(const types::Schema& schema,
                                                      const std::string& source_name) {
  if (schema.size() != 1 || schema.field(0).name != "value" ||
      schema.field(0).type.id() != types::TypeId::kUtf8) {
    return Status::User(
        "format 'raw_string' reads each line into a single TEXT column named 'value'; declare "
        "the table as (value TEXT), not {}",
        schema.ToString());
  }
  return std::unique_ptr<Decoder>(std::make_unique<RawStringDecoder>(types::Utf8()));
}

Result<std::unique_ptr<Decoder>> MakeRawBytesDecoder(const types::Schema& schema,
                                                     const std::string& source_name) {
  if (schema.size() != 1 || schema.field(0).name != "value" ||
      schema.field(0).type.id() != types::TypeId::kBinary) {
    return Status::User(
        "format 'raw_bytes' reads each record into a single BYTEA column named 'value'; declare "
        "the table as (value BYTEA), not {}",
        schema.ToString());
  }
  return std::unique_ptr<Decoder>(
      std::make_unique<RawStringDecoder>(types::DataType(types::TypeId::kBinary)));
}

Result<std::unique_ptr<Encoder>> MakeRawStringEncoder(const types::Schema& schema) {
  if (schema.size() != 1 || schema.field(0).type.id() != types::TypeId::kUtf8) {
    return Status::User(
        "format 'raw_string' writes a single TEXT column per line, but the rows are {}; select "
        "one TEXT column",
        schema.ToString());
  }
  return std::unique_ptr<Encoder>(std::make_unique<RawStringEncoder>());
}

}  // namespace sluice::formats
