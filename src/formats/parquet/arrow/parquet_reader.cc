#include "formats/parquet/parquet_reader.h"

#include <algorithm>
#include <mutex>

#include <fmt/format.h>

#include <arrow/compute/cast.h>
#include <arrow/compute/initialize.h>
#include <arrow/io/file.h>
#include <arrow/io/memory.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>
#include <parquet/exception.h>

#include "common/text.h"
#include "formats/parquet/arrow/parquet_arrow_internal.h"

namespace sluice::formats {

using parquet_internal::FromArrowStatus;

namespace {

// Arrow's cast kernels are registered on first use (Arrow 21 moved them to libarrow_compute).
Status InitializeCompute() {
  static std::once_flag once;
  static arrow::Status status;
  std::call_once(once, [] { status = arrow::compute::Initialize(); });
  return FromArrowStatus(status, "cannot initialize Arrow's compute functions");
}

void CollectLeaves(const parquet::arrow::SchemaField& field, std::vector<int>* leaves) {
  if (field.children.empty()) {
    leaves->push_back(field.column_index);
    return;
  }
  for (const auto& child : field.children) CollectLeaves(child, leaves);
}

class ParquetReaderImpl : public ParquetReader {
 public:
  ParquetReaderImpl(std::string name, const types::Schema& schema)
      : name_(std::move(name)), schema_(std::make_shared<const types::Schema>(schema)) {}

  Status Open(std::shared_ptr<const std::string> bytes, int64_t batch_rows, int64_t skip_rows) {
    SLUICE_RETURN_NOT_OK(InitializeCompute());
    std::shared_ptr<arrow::io::RandomAccessFile> file;
    if (bytes) {
      bytes_ = std::move(bytes);
      file = std::make_shared<arrow::io::BufferReader>(std::make_shared<arrow::Buffer>(
          reinterpret_cast<const uint8_t*>(bytes_->data()), static_cast<int64_t>(bytes_->size())));
    } else {
      auto f = arrow::io::ReadableFile::Open(name_);
      if (!f.ok()) return FromArrowStatus(f.status(), "cannot open '" + name_ + "'");
      file = *f;
    }
    parquet::ArrowReaderProperties props;
    props.set_batch_size(batch_rows);
    parquet::arrow::FileReaderBuilder builder;
    try {
      SLUICE_RETURN_NOT_OK(Fail(builder.Open(file), "is not a Parquet file"));
    } catch (const parquet::ParquetException& e) {
      return Status::User("'{}' is not a readable Parquet file: {}", name_, e.what());
    }
    builder.properties(props);
    auto reader = builder.Build();
    if (!reader.ok()) return Fail(reader.status(), "cannot be read");
    reader_ = std::move(*reader);
    std::shared_ptr<arrow::Schema> file_schema;
    SLUICE_RETURN_NOT_OK(Fail(reader_->GetSchema(&file_schema), "has an unreadable schema"));

    // Declared columns → file fields (exact name, then case-insensitive).
    const auto& manifest = reader_->manifest();
    std::vector<int> leaves;
    for (size_t i = 0; i < schema_->size(); ++i) {
      const types::Field& want = schema_->field(i);
      int found = file_schema->GetFieldIndex(want.name);
      if (found < 0) {
        for (int j = 0; j < file_schema->num_fields(); ++j) {
          if (AsciiLower(file_schema->field(j)->name()) == AsciiLower(want.name)) found = j;
        }
      }
      SLUICE_ASSIGN_OR_RETURN(auto target, parquet_internal::ToArrowType(want.type, want.name));
      columns_.push_back({found, target, nullptr, ""});
      if (found < 0) continue;
      columns_.back().file_name = file_schema->field(found)->name();
      const auto& source = file_schema->field(found)->type();
      if (!source->Equals(*target) && !arrow::compute::CanCast(*source, *target)) {
        return Status::User("'{}': column '{}' is {} in the file, which cannot be read as {}",
                            name_, want.name, source->ToString(), want.type.ToString());
      }
      columns_.back().source_type = source;
      CollectLeaves(manifest.schema_fields[static_cast<size_t>(found)], &leaves);
    }
    std::sort(leaves.begin(), leaves.end());
    leaves.erase(std::unique(leaves.begin(), leaves.end()), leaves.end());

    // Start at the row group holding row `skip_rows`.
    auto metadata = reader_->parquet_reader()->metadata();
    total_rows_ = metadata->num_rows();
    std::vector<int> groups;
    int64_t row = 0;
    for (int g = 0; g < metadata->num_row_groups(); ++g) {
      int64_t n = metadata->RowGroup(g)->num_rows();
      if (row + n <= skip_rows) {
        row += n;
        continue;
      }
      groups.push_back(g);
    }
    to_skip_ = std::max<int64_t>(skip_rows - row, 0);
    if (groups.empty()) return Status::Ok();
    auto batches = leaves.empty() ? reader_->GetRecordBatchReader(groups)
                                  : reader_->GetRecordBatchReader(groups, leaves);
    if (!batches.ok()) return Fail(batches.status(), "cannot be read");
    batches_ = std::move(*batches);
    return Status::Ok();
  }

  Result<batch::BatchPtr> Next() override {
    while (batches_ != nullptr) {
      std::shared_ptr<arrow::RecordBatch> rb;
      SLUICE_RETURN_NOT_OK(Fail(batches_->ReadNext(&rb), "cannot be read"));
      if (rb == nullptr) {
        batches_.reset();
        break;
      }
      if (to_skip_ >= rb->num_rows()) {
        to_skip_ -= rb->num_rows();
        continue;
      }
      if (to_skip_ > 0) {
        rb = rb->Slice(to_skip_);
        to_skip_ = 0;
      }
      return Convert(*rb);
    }
    return batch::BatchPtr();
  }

  int64_t total_rows() const override { return total_rows_; }

 private:
  struct Column {
    int file_index;  // in the file's schema; -1: absent (NULL)
    std::shared_ptr<arrow::DataType> target;
    std::shared_ptr<arrow::DataType> source_type;
    std::string file_name;
  };

  Result<batch::BatchPtr> Convert(const arrow::RecordBatch& rb) {
    auto b = std::make_shared<batch::Batch>();
    b->schema = schema_;
    b->num_rows = rb.num_rows();
    for (size_t i = 0; i < columns_.size(); ++i) {
      const Column& c = columns_[i];
      const types::DataType& type = schema_->field(i).type;
      if (c.file_index < 0) {
        b->columns.push_back(batch::Column::MakeNull(type, rb.num_rows()));
        continue;
      }
      // The record batch holds the selected fields in file order; ours by its name.
      std::shared_ptr<arrow::Array> array = rb.GetColumnByName(c.file_name);
      if (array == nullptr) {
        return Status::Internal("'{}': column '{}' missing from a read batch", name_,
                                schema_->field(i).name);
      }
      if (!array->type()->Equals(*c.target)) {
        arrow::compute::CastOptions options = arrow::compute::CastOptions::Safe(c.target);
        auto cast = arrow::compute::Cast(*array, c.target, options);
        if (!cast.ok()) {
          return Status::User("'{}': column '{}': {}", name_, schema_->field(i).name,
                              cast.status().message());
        }
        array = *cast;
      }
      b->columns.push_back(parquet_internal::FromArrow(*array->data(), type));
    }
    return batch::BatchPtr(std::move(b));
  }

  Status Fail(const arrow::Status& st, const char* what) const {
    if (st.ok()) return Status::Ok();
    return FromArrowStatus(st, fmt::format("Parquet file '{}' {}", name_, what));
  }

  std::string name_;
  types::SchemaPtr schema_;
  std::shared_ptr<const std::string> bytes_;
  std::unique_ptr<parquet::arrow::FileReader> reader_;
  std::shared_ptr<arrow::RecordBatchReader> batches_;
  std::vector<Column> columns_;
  int64_t total_rows_ = 0;
  int64_t to_skip_ = 0;
};

}  // namespace

namespace parquet_internal {

Result<std::unique_ptr<ParquetReader>> OpenParquetReader(const std::string& name,
                                                         std::shared_ptr<const std::string> bytes,
                                                         const types::Schema& schema,
                                                         int64_t batch_rows, int64_t skip_rows) {
  auto reader = std::make_unique<ParquetReaderImpl>(name, schema);
  SLUICE_RETURN_NOT_OK(reader->Open(std::move(bytes), batch_rows, skip_rows));
  return std::unique_ptr<ParquetReader>(std::move(reader));
}

}  // namespace parquet_internal
}  // namespace sluice::formats
