#pragma once
// Reads JSON objects into rows of columns: the per-row decoding shared by the `json` decoder
// (one object per line) and the `debezium_json` decoder (the `before`/`after` objects of a
// change event). Internal to the formats module.
//
// Values go straight into the column builders, with no per-row staging, because staging would
// cost a copy of every value. A row found bad halfway is instead padded to full length with
// NULLs, so builders never need to be rolled back; the decoder remembers which rows to keep
// and passes them to Finish.
//
// Not thread-safe: each decoder owns one.

#include <simdjson.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "batch/column.h"
#include "common/status.h"
#include "formats/format.h"
#include "formats/temporal_units.h"
#include "types/schema.h"

namespace sluice::formats {

// `s` without leading and trailing blanks (spaces, tabs, CR, LF).
std::string_view TrimBlanks(std::string_view s);

class JsonRowReader {
 public:
  // One column per field of `schema`; `options` gives the timestamp format.
  JsonRowReader(const types::Schema& schema, const FormatOptions& options);
  ~JsonRowReader();
  JsonRowReader(const JsonRowReader&) = delete;
  JsonRowReader& operator=(const JsonRowReader&) = delete;

  // Starts parsing `record` on demand: in place when `readable_after` (the bytes after it that
  // may be read) covers simdjson's padding, else from a copy in a padded buffer. The document
  // and every value read from it stay valid until the next Parse or Validate, and as long as
  // `record` when parsed in place.
  simdjson::error_code Parse(std::string_view record, simdjson::ondemand::document* doc,
                             size_t readable_after = 0);
  // Parses the whole of `record`, for callers that keep its text (the on-demand parser is lazy
  // by design and would not look at what is not read).
  simdjson::error_code Validate(std::string_view record);

  // Appends row number rows() from `object`: keys matched to columns by name (exact, then
  // case-insensitive), absent keys and nulls NULL, unknown keys skipped, the first of repeated
  // keys wins. On a bad value returns false with the problem set; the row is then still
  // appended (padded with NULLs) and the caller must leave it out at Finish.
  bool ReadObject(simdjson::ondemand::object& object);
  // The unit of integers read into each column by default (from the format options), and
  // per-column units that replace them until the next call (null: back to the defaults). For
  // Debezium's `schema` block; cheap to call again with the same vector.
  const std::vector<IntegerTimeUnit>& default_integer_units() const;
  void SetIntegerUnits(const std::vector<IntegerTimeUnit>* units);
  // Appends `text` as a row of the only column (json.unstructured).
  void AppendText(std::string_view text);
  // Rows appended since the last Finish, bad ones included.
  int64_t rows() const;
  // The rows appended since the last Finish, as columns, and resets. `keep` (row numbers in
  // output order; may reorder) selects the rows; null keeps all of them in order.
  std::vector<batch::ColumnPtr> Finish(const std::vector<int32_t>* keep);

  // The problem of the last bad row, for the error message. Callers that read the structure
  // around the rows report their own problems through these too. Fail and SyntaxError always
  // return false.
  bool Fail(std::string message);
  bool SyntaxError(simdjson::error_code error);
  bool InvalidJson(std::string message);  // a syntax problem simdjson did not name
  // Prefixes the problem's path with a field name or an "[index]" (paths are built while
  // unwinding, outermost part last).
  void AddPath(std::string_view part);
  // "field 'o.items[1].qty': expected INT, found boolean true", "invalid JSON: ...", or the
  // message alone when it concerns no field.
  std::string ProblemDetail() const;
  // The problem of a record that is not a JSON object: invalid JSON, or "expected `expected`,
  // found array". Parses the record again (in full): for the rare bad record only.
  bool NotAnObject(std::string_view record, std::string_view expected);
  // A JSON value for messages: "an object", "an array", "null", "number 1.5", ...
  std::string Describe(simdjson::ondemand::value& v);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

// Whether every column of `schema` has a type JSON values can be read into.
Status CheckJsonReadable(const types::Schema& schema);

}  // namespace sluice::formats
