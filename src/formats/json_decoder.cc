// JSON decoder: one JSON object per record, its fields mapped to columns by name (the row
// decoding itself is JsonRowReader's).

#include "formats/codecs.h"
#include "formats/json_row_reader.h"

namespace sluice::formats {

namespace {

namespace od = simdjson::ondemand;
using types::TypeId;

static_assert(kLinePadding >= simdjson::SIMDJSON_PADDING, "lines are parsed in place");

class JsonDecoder : public Decoder {
 public:
  JsonDecoder(const FormatOptions& options, const types::Schema& schema, std::string source_name)
      : source_name_(std::move(source_name)),
        drop_(options.bad_data == BadDataPolicy::kDrop),
        unstructured_(options.unstructured),
        reader_(schema, options) {}

  Status Append(std::string_view record, const std::string& position) override {
    return AppendRecord(record, 0, [&] { return position; });
  }

  Status AppendLine(std::string_view record, int64_t line) override {
    return AppendRecord(record, kLinePadding, [line] { return fmt::format("line {}", line); });
  }

  Status AppendPadded(std::string_view record,
                      const std::function<std::string()>& position) override {
    return AppendRecord(record, kLinePadding, position);
  }

  int64_t pending_rows() const override {
    return reader_.rows() - static_cast<int64_t>(bad_rows_.size());
  }

  std::vector<batch::ColumnPtr> Flush() override {
    std::vector<batch::ColumnPtr> columns;
    if (bad_rows_.empty()) {
      columns = reader_.Finish(nullptr);
    } else {
      std::vector<int32_t> keep = RowsWithout(static_cast<int32_t>(reader_.rows()), bad_rows_);
      columns = reader_.Finish(&keep);
    }
    bad_rows_.clear();
    return columns;
  }

  int64_t dropped_rows() const override { return dropped_; }

 private:
  // `readable_after`: bytes after `record` that may be read (parsing in place); `position`
  // names the record, only called for an error.
  template <typename Position>
  Status AppendRecord(std::string_view record, size_t readable_after, Position position) {
    const char* end = record.data() + record.size();
    record = TrimBlanks(record);
    if (record.empty()) return Status::Ok();  // a blank line carries no row
    if (readable_after > 0) {
      readable_after += static_cast<size_t>(end - (record.data() + record.size()));
    }
    const int64_t row = reader_.rows();
    bool ok = unstructured_ ? AppendUnstructured(record) : AppendObject(record, readable_after);
    if (ok) return Status::Ok();
    // A row the reader began is in the builders: leave it out at Flush.
    if (reader_.rows() > row) bad_rows_.push_back(static_cast<int32_t>(row));
    if (drop_) {
      ++dropped_;
      return Status::Ok();
    }
    return Status::User("{}: bad data at {}: {}", source_name_, position(),
                        reader_.ProblemDetail());
  }

  bool AppendUnstructured(std::string_view record) {
    // The whole line is kept, but it must be JSON.
    if (auto error = reader_.Validate(record)) return reader_.SyntaxError(error);
    reader_.AppendText(record);
    return true;
  }

  bool AppendObject(std::string_view record, size_t readable_after) {
    od::document doc;
    if (auto error = reader_.Parse(record, &doc, readable_after)) {
      return reader_.SyntaxError(error);
    }
    od::object object;
    if (doc.get_object().get(object)) return reader_.NotAnObject(record, "a JSON object");
    if (!reader_.ReadObject(object)) return false;
    const char* rest;
    if (doc.current_location().get(rest) == simdjson::SUCCESS) {
      return reader_.InvalidJson("unexpected text after the JSON object");
    }
    return true;
  }

  std::string source_name_;
  bool drop_;
  bool unstructured_;
  JsonRowReader reader_;
  std::vector<int32_t> bad_rows_;  // rows of the reader to leave out, ascending
  int64_t dropped_ = 0;
};

}  // namespace

Result<std::unique_ptr<Decoder>> MakeJsonDecoder(const FormatOptions& options,
                                                 const types::Schema& schema,
                                                 const std::string& source_name) {
  if (options.unstructured) {
    if (schema.size() != 1 || schema.field(0).name != "value" ||
        (schema.field(0).type.id() != TypeId::kJson &&
         schema.field(0).type.id() != TypeId::kUtf8)) {
      return Status::User(
          "json.unstructured = 'true' reads each line into a single column named 'value' of "
          "type JSON or TEXT; declare the table as (value JSON), not {}",
          schema.ToString());
    }
  } else {
    SLUICE_RETURN_NOT_OK(CheckJsonReadable(schema));
  }
  return std::unique_ptr<Decoder>(std::make_unique<JsonDecoder>(options, schema, source_name));
}

Status CheckJsonReadable(const types::Schema& schema) {
  for (const auto& f : schema.fields()) {
    if (f.type.id() == TypeId::kNull) {
      return Status::User("column '{}' has no type the JSON format can read", f.name);
    }
  }
  return Status::Ok();
}

}  // namespace sluice::formats
