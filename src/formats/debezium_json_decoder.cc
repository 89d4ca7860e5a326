// Debezium JSON decoder: one change event per record, read into rows with change kinds.
//
//   {"before": {...}|null, "after": {...}|null, "op": "c"|"r"|"u"|"d", "source": ..., ...}
//
// optionally wrapped as {"schema": ..., "payload": {...}} (Debezium with schemas enabled).
// c (create) and r (snapshot read) give an insert of `after`; u an update-before of `before`
// followed by an update-after of `after`; d a delete of `before`. Other fields are skipped.
//
// `op` may come after the row images (Debezium writes it after them), so `before` and `after`
// are read into rows as they come, and the op then decides which of those rows are kept, in
// which order and with which change kind. A row read but not wanted (a `before` on a create) is
// left out at Flush like the rows of a bad record.
//
// Debezium writes temporal columns as integers whose unit only the `schema` block names
// (`"name": "io.debezium.time.MicroTimestamp"`: epoch microseconds, `...Date`: days, ...). The
// units of a schema are worked out once per distinct schema text and handed to the row reader
// before the `payload` is read (Kafka Connect writes `schema` first; a schema found after the
// rows makes the record be read again); a message without a schema reads integers in the
// default units (json.timestamp_format, else microseconds).

#include <strings.h>

#include <map>
#include <string_view>

#include "batch/batch.h"
#include "batch/column_builder.h"
#include "formats/codecs.h"
#include "formats/json_row_reader.h"

namespace sluice::formats {

namespace {

namespace od = simdjson::ondemand;
using batch::ChangeKind;

constexpr int64_t kReserveRows = 4096;

// What one record says, as it is read.
struct ChangeEvent {
  int32_t before_row = -1;  // row of the reader holding `before`; -1: absent or null
  int32_t after_row = -1;
  bool has_before = false;  // the key was seen (the first of repeated keys wins)
  bool has_after = false;
  bool has_op = false;
  bool has_schema = false;
  // The integer units the row images were read in (null: the defaults), and whether they
  // changed between the images or after them (a schema after the payload): read again then.
  const std::vector<IntegerTimeUnit>* image_units = nullptr;
  bool images_read = false;
  bool read_again = false;
  std::string op;
};

// Whether `record` (trimmed) begins with the key "schema", as Kafka Connect writes it.
bool SchemaComesFirst(std::string_view record) {
  size_t i = 1;
  while (i < record.size() &&
         (record[i] == ' ' || record[i] == '\t' || record[i] == '\n' || record[i] == '\r')) {
    ++i;
  }
  return record.substr(i, 8) == "\"schema\"";
}

class DebeziumJsonDecoder : public Decoder {
 public:
  DebeziumJsonDecoder(const FormatOptions& options, const types::Schema& schema,
                      std::string source_name)
      : source_name_(std::move(source_name)),
        drop_(options.bad_data == BadDataPolicy::kDrop),
        reader_(schema, options) {
    for (const auto& f : schema.fields()) column_names_.push_back(f.name);
    keep_.reserve(kReserveRows);
    kinds_.reserve(kReserveRows);
  }

  Status Append(std::string_view record, const std::string& position) override {
    record = TrimBlanks(record);
    if (record.empty()) return Status::Ok();  // a blank line carries no change
    // Rows read for a bad record are simply never kept.
    ChangeEvent event;
    bool read = ReadEvent(record, /*again=*/false, &event);
    if (read && event.read_again) {
      // The units in effect are now this message's: its rows read so far are never kept.
      event = ChangeEvent();
      read = ReadEvent(record, /*again=*/true, &event);
    }
    if (read && Apply(event)) return Status::Ok();
    if (drop_) {
      ++dropped_;
      return Status::Ok();
    }
    return Status::User("{}: bad data at {}: {}", source_name_, position, reader_.ProblemDetail());
  }

  int64_t pending_rows() const override { return static_cast<int64_t>(keep_.size()); }

  std::vector<batch::ColumnPtr> Flush() override {
    // Usually every row read is kept, in order: no gather then.
    bool all_in_order = static_cast<int64_t>(keep_.size()) == reader_.rows() && in_order_;
    std::vector<batch::ColumnPtr> columns = reader_.Finish(all_in_order ? nullptr : &keep_);
    batch::ColumnBuilder kinds(types::DataType(types::TypeId::kInt8));
    kinds.Reserve(static_cast<int64_t>(kinds_.size()));
    for (ChangeKind k : kinds_) kinds.AppendFixed<int8_t>(static_cast<int8_t>(k));
    change_kinds_ = kinds.Finish();
    keep_.clear();
    kinds_.clear();
    in_order_ = true;
    return columns;
  }

  batch::ColumnPtr flushed_change_kinds() const override { return change_kinds_; }

  int64_t dropped_rows() const override { return dropped_; }

 private:
  bool ReadEvent(std::string_view record, bool again, ChangeEvent* event) {
    od::document doc;
    if (auto error = reader_.Parse(record, &doc)) return reader_.SyntaxError(error);
    od::object object;
    if (doc.get_object().get(object)) {
      return reader_.NotAnObject(
          record, "a Debezium change event (a JSON object with \"before\", \"after\" and \"op\")");
    }
    // Without a schema up front, the rows read in the default units (a schema found later
    // sets its units, and the record is read again in them).
    if (!again && units_ != nullptr && !SchemaComesFirst(record)) UseUnits(nullptr);
    if (!ReadEnvelope(object, /*nested=*/false, event)) return false;
    if (!event->has_schema && units_ != nullptr) UseUnits(nullptr);
    event->read_again = event->read_again || (event->images_read && event->image_units != units_);
    const char* rest;
    if (doc.current_location().get(rest) == simdjson::SUCCESS) {
      return reader_.InvalidJson("unexpected text after the JSON object");
    }
    return true;
  }

  // Reads the fields of an envelope; at the top level, `payload` may hold the envelope.
  bool ReadEnvelope(od::object& object, bool nested, ChangeEvent* event) {
    for (auto field_result : object) {
      od::field field;
      if (auto error = std::move(field_result).get(field)) return reader_.SyntaxError(error);
      std::string_view key;
      if (auto error = field.unescaped_key().get(key)) return reader_.SyntaxError(error);
      if (key == "before" || key == "after") {
        bool before = key == "before";
        bool& seen = before ? event->has_before : event->has_after;
        if (seen) continue;
        seen = true;
        if (!event->images_read) {
          event->images_read = true;
          event->image_units = units_;
        } else if (event->image_units != units_) {
          event->read_again = true;
        }
        if (!ReadImage(field.value(), before ? &event->before_row : &event->after_row)) {
          reader_.AddPath(before ? "before" : "after");
          return false;
        }
      } else if (key == "op") {
        if (event->has_op) continue;
        std::string_view op;
        if (field.value().get_string().get(op) != simdjson::SUCCESS) {
          std::string found = reader_.Describe(field.value());
          reader_.Fail(fmt::format("expected \"c\", \"r\", \"u\" or \"d\", found {}", found));
          reader_.AddPath("op");
          return false;
        }
        event->has_op = true;
        event->op = op;
      } else if (key == "schema" && !nested) {
        if (!ReadSchema(field.value(), &event->has_schema)) {
          reader_.AddPath("schema");
          return false;
        }
      } else if (key == "payload" && !nested) {
        od::json_type type;
        if (auto error = field.value().type().get(type)) return reader_.SyntaxError(error);
        if (type != od::json_type::object) continue;  // not an envelope: the op will be missing
        od::object payload;
        if (auto error = field.value().get_object().get(payload)) {
          return reader_.SyntaxError(error);
        }
        if (!ReadEnvelope(payload, /*nested=*/true, event)) {
          reader_.AddPath("payload");
          return false;
        }
      }
    }
    return true;
  }

  // The integer units the `schema` block gives the columns; the same text as the last
  // message's costs a comparison, a schema seen before a map look-up.
  bool ReadSchema(od::value& value, bool* has_schema) {
    std::string_view raw;
    od::json_type type;
    if (auto error = value.type().get(type)) return reader_.SyntaxError(error);
    if (type != od::json_type::object) {
      if (type == od::json_type::null) {  // like no schema: the default units
        UseUnits(nullptr);
        return true;
      }
      return reader_.Fail(fmt::format("expected the Debezium schema (an object), found {}",
                                      reader_.Describe(value)));
    }
    od::object object;
    if (auto error = value.get_object().get(object)) return reader_.SyntaxError(error);
    if (auto error = object.raw_json().get(raw)) return reader_.SyntaxError(error);
    *has_schema = true;
    if (units_ != nullptr && raw == last_schema_) return true;
    auto it = schema_units_.find(raw);
    if (it == schema_units_.end()) {
      if (schema_units_.size() >= kMaxSchemas) {
        UseUnits(nullptr);  // units_ pointed into the map
        schema_units_.clear();
      }
      auto units = UnitsOfSchema(raw);
      if (!units.ok()) return reader_.Fail(units.status().message());
      it = schema_units_.emplace(std::string(raw), std::move(*units)).first;
    }
    last_schema_.assign(raw);
    UseUnits(&it->second);
    return true;
  }

  void UseUnits(const std::vector<IntegerTimeUnit>* units) {
    units_ = units;
    reader_.SetIntegerUnits(units);
  }

  // Per column: the unit the schema names for the field of that name in `after` (or
  // `before`), the default where it names none.
  Result<std::vector<IntegerTimeUnit>> UnitsOfSchema(std::string_view raw) {
    std::vector<IntegerTimeUnit> units = reader_.default_integer_units();
    simdjson::dom::element root;
    if (auto error = schema_parser_.parse(raw.data(), raw.size()).get(root)) {
      return Status::User("invalid JSON in schema: {}", simdjson::error_message(error));
    }
    simdjson::dom::array envelope_fields;
    if (root["fields"].get(envelope_fields) != simdjson::SUCCESS) return units;
    for (simdjson::dom::element envelope_field : envelope_fields) {
      std::string_view name;
      if (envelope_field["field"].get(name) != simdjson::SUCCESS ||
          (name != "after" && name != "before")) {
        continue;
      }
      simdjson::dom::array row_fields;
      if (envelope_field["fields"].get(row_fields) != simdjson::SUCCESS) continue;
      for (simdjson::dom::element f : row_fields) {
        std::string_view field_name, type_name;
        if (f["field"].get(field_name) != simdjson::SUCCESS ||
            f["name"].get(type_name) != simdjson::SUCCESS) {
          continue;
        }
        IntegerTimeUnit unit = UnitOfSchemaName(type_name);
        if (unit == IntegerTimeUnit::kNone) continue;
        int column = ColumnOf(field_name);
        if (column >= 0) units[static_cast<size_t>(column)] = unit;
      }
      break;  // `before` and `after` have the same fields
    }
    return units;
  }

  // Column matching as for row keys: exact name first, then case-insensitive.
  int ColumnOf(std::string_view name) const {
    for (size_t i = 0; i < column_names_.size(); ++i) {
      if (column_names_[i] == name) return static_cast<int>(i);
    }
    for (size_t i = 0; i < column_names_.size(); ++i) {
      if (column_names_[i].size() == name.size() &&
          strncasecmp(column_names_[i].data(), name.data(), name.size()) == 0) {
        return static_cast<int>(i);
      }
    }
    return -1;
  }

  // A row image: an object read into a row (its number in `*row`), or null (no row).
  bool ReadImage(od::value& value, int32_t* row) {
    od::json_type type;
    if (auto error = value.type().get(type)) return reader_.SyntaxError(error);
    if (type == od::json_type::null) {
      bool is_null = false;
      if (auto error = value.is_null().get(is_null)) return reader_.SyntaxError(error);
      if (!is_null) return reader_.SyntaxError(simdjson::N_ATOM_ERROR);
      return true;
    }
    if (type != od::json_type::object) {
      return reader_.Fail(
          fmt::format("expected an object (the row) or null, found {}", reader_.Describe(value)));
    }
    od::object object;
    if (auto error = value.get_object().get(object)) return reader_.SyntaxError(error);
    *row = static_cast<int32_t>(reader_.rows());
    return reader_.ReadObject(object);
  }

  // Keeps the rows the op describes, with their change kinds.
  bool Apply(const ChangeEvent& event) {
    if (!event.has_op) {
      return reader_.Fail(
          "missing \"op\": a Debezium change event needs \"op\": \"c\" (create), \"r\" (read), "
          "\"u\" (update) or \"d\" (delete), with the row in \"before\" and/or \"after\"");
    }
    const std::string& op = event.op;
    if (op == "c" || op == "r") {
      if (event.after_row < 0) return MissingImage(op, "new row", "after");
      Keep(event.after_row, ChangeKind::kInsert);
    } else if (op == "u") {
      if (event.before_row < 0) {
        return reader_.Fail(
            "op \"u\" (update) needs the old row in \"before\", found none; Debezium writes it "
            "when the source table logs full rows (PostgreSQL: ALTER TABLE ... REPLICA "
            "IDENTITY FULL)");
      }
      if (event.after_row < 0) return MissingImage(op, "new row", "after");
      Keep(event.before_row, ChangeKind::kUpdateBefore);
      Keep(event.after_row, ChangeKind::kUpdateAfter);
    } else if (op == "d") {
      if (event.before_row < 0) return MissingImage(op, "old row", "before");
      Keep(event.before_row, ChangeKind::kDelete);
    } else {
      return reader_.Fail(fmt::format(
          "unknown op \"{}\"; expected \"c\" (create), \"r\" (read), \"u\" (update) or \"d\" "
          "(delete){}",
          op.size() > 20 ? op.substr(0, 20) + "..." : op,
          op == "t" ? " (truncate events cannot be read: they name no rows)" : ""));
    }
    return true;
  }

  bool MissingImage(const std::string& op, const char* what, const char* key) {
    const char* name = op == "c" ? "create" : op == "r" ? "read" : op == "u" ? "update" : "delete";
    return reader_.Fail(
        fmt::format("op \"{}\" ({}) needs the {} in \"{}\", found none", op, name, what, key));
  }

  void Keep(int32_t row, ChangeKind kind) {
    if (!keep_.empty() && row <= keep_.back()) in_order_ = false;
    keep_.push_back(row);
    kinds_.push_back(kind);
  }

  static constexpr size_t kMaxSchemas = 64;  // distinct schema texts remembered

  std::string source_name_;
  bool drop_;
  JsonRowReader reader_;
  std::vector<std::string> column_names_;
  simdjson::dom::parser schema_parser_;  // a schema seen for the first time only
  std::map<std::string, std::vector<IntegerTimeUnit>, std::less<>> schema_units_;
  std::string last_schema_;
  // The units set in the reader; null: its defaults.
  const std::vector<IntegerTimeUnit>* units_ = nullptr;
  std::vector<int32_t> keep_;      // rows of the reader to emit, in order
  std::vector<ChangeKind> kinds_;  // one per kept row
  bool in_order_ = true;           // keep_ ascending
  batch::ColumnPtr change_kinds_;
  int64_t dropped_ = 0;
};

}  // namespace

Result<std::unique_ptr<Decoder>> MakeDebeziumJsonDecoder(const FormatOptions& options,
                                                         const types::Schema& schema,
                                                         const std::string& source_name) {
  if (options.unstructured) {
    return Status::User("option 'json.unstructured' applies only to format 'json'");
  }
  SLUICE_RETURN_NOT_OK(CheckJsonReadable(schema));
  return std::unique_ptr<Decoder>(
      std::make_unique<DebeziumJsonDecoder>(options, schema, source_name));
}

}  // namespace sluice::formats
