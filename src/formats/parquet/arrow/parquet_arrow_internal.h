#pragma once
// Sluice columns ↔ Arrow arrays, for the Parquet writer and reader. Internal to the Arrow plugin
// (this folder, built into libsluice_arrow.so): the only code that includes Arrow headers.

#include <memory>
#include <string>

#include <arrow/api.h>

#include "batch/column.h"
#include "common/status.h"
#include "formats/parquet/parquet_options.h"
#include "formats/parquet/parquet_reader.h"
#include "formats/parquet/parquet_writer.h"
#include "types/data_type.h"
#include "types/schema.h"

namespace sluice::formats::parquet_internal {

// The Arrow type of a Sluice type (docs in parquet_writer.h); `column` names it in errors.
Result<std::shared_ptr<arrow::DataType>> ToArrowType(const types::DataType& type,
                                                     const std::string& column);

// The column as Arrow array data of `type` (ToArrowType of its type), sharing its buffers.
std::shared_ptr<arrow::ArrayData> ToArrowData(const batch::ColumnPtr& column,
                                              const std::shared_ptr<arrow::DataType>& type);

// A copy of `array` (of ToArrowType(type)) as a Sluice column of `type`.
batch::ColumnPtr FromArrow(const arrow::ArrayData& array, const types::DataType& type);

// A Sluice status for an Arrow one; `what` says what was being done.
Status FromArrowStatus(const arrow::Status& st, const std::string& what);

// The plugin's implementations of the entry points of parquet_writer.h and parquet_reader.h
// (parquet_writer.cc, parquet_reader.cc).
Status CheckParquetSchema(const types::Schema& schema);
Result<std::unique_ptr<ParquetWriter>> MakeParquetWriter(const types::Schema& schema,
                                                         const ParquetOptions& options,
                                                         ByteSink* sink);
Result<std::unique_ptr<ParquetReader>> OpenParquetReader(const std::string& name,
                                                         std::shared_ptr<const std::string> bytes,
                                                         const types::Schema& schema,
                                                         int64_t batch_rows, int64_t skip_rows);

}  // namespace sluice::formats::parquet_internal
