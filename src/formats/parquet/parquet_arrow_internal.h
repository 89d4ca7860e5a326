#pragma once
// Sluice columns ↔ Arrow arrays, for the Parquet writer and reader. Internal to this folder: the
// only place (with its .cc users) that includes Arrow headers.

#include <memory>
#include <string>

#include <arrow/api.h>

#include "batch/column.h"
#include "common/status.h"
#include "types/data_type.h"

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

}  // namespace sluice::formats::parquet_internal
