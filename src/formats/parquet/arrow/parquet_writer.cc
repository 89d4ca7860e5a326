#include "formats/parquet/parquet_writer.h"

#include <algorithm>
#include <string_view>
#include <unordered_set>

#include <arrow/io/interfaces.h>
#include <parquet/arrow/writer.h>
#include <parquet/properties.h>

#include "formats/parquet/arrow/parquet_arrow_internal.h"

namespace sluice::formats {

using parquet_internal::FromArrowStatus;

namespace {

// The Arrow output stream over a ByteSink. Keeps the sink's error so the caller gets it as it
// was, not re-worded by Arrow.
class SinkStream : public arrow::io::OutputStream {
 public:
  explicit SinkStream(ByteSink* sink) : sink_(sink) {}
  arrow::Status Close() override {
    closed_ = true;
    return arrow::Status::OK();
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override { return position_; }
  arrow::Status Write(const void* data, int64_t n) override {
    Status st =
        sink_->Append(std::string_view(static_cast<const char*>(data), static_cast<size_t>(n)));
    if (!st.ok()) {
      error_ = st;
      return arrow::Status::IOError(st.message());
    }
    position_ += n;
    return arrow::Status::OK();
  }
  int64_t position() const { return position_; }
  const Status& error() const { return error_; }

 private:
  ByteSink* sink_;
  int64_t position_ = 0;
  bool closed_ = false;
  Status error_;
};

arrow::Compression::type ArrowCompression(ParquetCompression c) {
  switch (c) {
    case ParquetCompression::kZstd:
      return arrow::Compression::ZSTD;
    case ParquetCompression::kSnappy:
      return arrow::Compression::SNAPPY;
    case ParquetCompression::kGzip:
      return arrow::Compression::GZIP;
    case ParquetCompression::kLz4:
      return arrow::Compression::LZ4;
    case ParquetCompression::kNone:
      return arrow::Compression::UNCOMPRESSED;
  }
  return arrow::Compression::UNCOMPRESSED;
}

// Dictionary encoding pays off for columns with few distinct values (channels, countries,
// flags); for nearly unique ones (ids, prices, URLs, times) the library fills a dictionary page,
// gives up and writes them plain: a third of the writer's time on Nexmark bids for nothing. A
// column gets a dictionary when its first batch has at most one distinct value in 8 (scalars;
// nested columns keep the library's default).
bool WantsDictionary(const batch::Column* c) {
  if (c == nullptr || c->length == 0) return true;
  const int64_t limit = std::max<int64_t>(c->length / 8, 16);
  auto few = [&](auto&& set, auto&& value) {
    for (int64_t i = 0; i < c->length; ++i) {
      if (c->IsNull(i)) continue;
      set.insert(value(i));
      if (static_cast<int64_t>(set.size()) > limit) return false;
    }
    return true;
  };
  switch (c->type.byte_width()) {
    case 0:
      if (!c->type.is_string_like()) return true;
      return few(std::unordered_set<std::string_view>(),
                 [&](int64_t i) { return c->GetString(i); });
    case 4:
      return few(std::unordered_set<int32_t>(), [&](int64_t i) { return c->raw<int32_t>()[i]; });
    case 8:
      return few(std::unordered_set<int64_t>(), [&](int64_t i) { return c->raw<int64_t>()[i]; });
    default:
      return true;
  }
}

int64_t InMemoryBytes(const batch::Column& c) {
  int64_t n = 0;
  if (c.validity) n += static_cast<int64_t>(c.validity->size());
  if (c.values) n += static_cast<int64_t>(c.values->size());
  if (c.data) n += static_cast<int64_t>(c.data->size());
  for (const auto& child : c.children) n += InMemoryBytes(*child);
  return n;
}

class ParquetWriterImpl : public ParquetWriter {
 public:
  ParquetWriterImpl(std::shared_ptr<arrow::Schema> schema, const ParquetOptions& options,
                    std::shared_ptr<SinkStream> stream)
      : schema_(std::move(schema)),
        options_(options),
        row_group_rows_(std::max<int64_t>(options.row_group_rows, 1)),
        stream_(std::move(stream)) {}

  // Starts the file with the first batch in hand: it decides which columns get dictionary
  // encoding (DictionaryColumns).
  Status Open(const batch::Batch& first) {
    parquet::WriterProperties::Builder props;
    for (size_t i = 0; i < first.columns.size(); ++i) {
      if (!WantsDictionary(first.columns[i].get())) {
        props.disable_dictionary(schema_->field(static_cast<int>(i))->name());
      }
    }
    props.compression(ArrowCompression(options_.compression));
    props.max_row_group_length(options_.row_group_rows);
    props.created_by("Sluice");
    parquet::ArrowWriterProperties::Builder arrow_props;
    arrow_props.store_schema();
    auto writer = parquet::arrow::FileWriter::Open(*schema_, arrow::default_memory_pool(), stream_,
                                                   props.build(), arrow_props.build());
    if (!writer.ok()) return Error(writer.status(), "cannot start a Parquet file");
    writer_ = std::move(*writer);
    return Status::Ok();
  }

  Status Write(const batch::Batch& b) override {
    if (b.num_rows == 0) return Status::Ok();
    if (closed_) return Status::Internal("Parquet writer used after Close");
    if (writer_ == nullptr) SLUICE_RETURN_NOT_OK(Open(b));
    if (b.columns.size() != static_cast<size_t>(schema_->num_fields())) {
      return Status::Internal("Parquet writer: a batch of {} columns for a schema of {}",
                              b.columns.size(), schema_->num_fields());
    }
    std::vector<std::shared_ptr<arrow::ArrayData>> arrays;
    arrays.reserve(b.columns.size());
    for (size_t i = 0; i < b.columns.size(); ++i) {
      arrays.push_back(
          parquet_internal::ToArrowData(b.columns[i], schema_->field(static_cast<int>(i))->type()));
      group_bytes_ += InMemoryBytes(*b.columns[i]);
    }
    auto rb = arrow::RecordBatch::Make(schema_, b.num_rows, std::move(arrays));
    // The library starts a new row group whenever the open one reaches max_row_group_length.
    SLUICE_RETURN_NOT_OK(Error(writer_->WriteRecordBatch(*rb), "cannot write Parquet rows"));
    rows_ += b.num_rows;
    group_rows_ += b.num_rows;
    if (group_rows_ >= row_group_rows_) {
      group_rows_ %= row_group_rows_;
      group_bytes_ = 0;
    }
    return Status::Ok();
  }

  Status Close() override {
    if (closed_) return Status::Ok();
    closed_ = true;
    if (writer_ == nullptr) {  // no rows: a file with the schema and no row group
      batch::Batch empty;
      for (const auto& f : schema_->fields()) {
        (void)f;
        empty.columns.push_back(nullptr);
      }
      SLUICE_RETURN_NOT_OK(Open(empty));
    }
    Status st = Error(writer_->Close(), "cannot finish a Parquet file");
    writer_.reset();
    group_bytes_ = 0;
    return st;
  }

  int64_t estimated_size() const override { return stream_->position() + group_bytes_; }
  int64_t rows() const override { return rows_; }

 private:
  Status Error(const arrow::Status& st, const char* what) const {
    if (st.ok()) return Status::Ok();
    if (!stream_->error().ok()) return stream_->error();
    return FromArrowStatus(st, what);
  }

  std::shared_ptr<arrow::Schema> schema_;
  ParquetOptions options_;
  int64_t row_group_rows_;
  bool closed_ = false;
  std::shared_ptr<SinkStream> stream_;
  std::unique_ptr<parquet::arrow::FileWriter> writer_;
  int64_t rows_ = 0;
  int64_t group_rows_ = 0;
  int64_t group_bytes_ = 0;
};

Result<std::shared_ptr<arrow::Schema>> ToArrowSchema(const types::Schema& schema) {
  arrow::FieldVector fields;
  for (const types::Field& f : schema.fields()) {
    SLUICE_ASSIGN_OR_RETURN(auto t, parquet_internal::ToArrowType(f.type, f.name));
    fields.push_back(arrow::field(f.name, t));  // nullable: NULLs can appear anywhere
  }
  return arrow::schema(fields);
}

}  // namespace

namespace parquet_internal {

Status CheckParquetSchema(const types::Schema& schema) {
  return ToArrowSchema(schema).status();
}

Result<std::unique_ptr<ParquetWriter>> MakeParquetWriter(const types::Schema& schema,
                                                         const ParquetOptions& options,
                                                         ByteSink* sink) {
  SLUICE_ASSIGN_OR_RETURN(auto arrow_schema, ToArrowSchema(schema));
  return std::unique_ptr<ParquetWriter>(std::make_unique<ParquetWriterImpl>(
      std::move(arrow_schema), options, std::make_shared<SinkStream>(sink)));
}

}  // namespace parquet_internal
}  // namespace sluice::formats
