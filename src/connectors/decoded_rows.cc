#include "connectors/decoded_rows.h"

#include <cstring>
#include <memory>

#include "batch/batch.h"

namespace sluice::connectors {

std::shared_ptr<batch::Batch> TakeDecodedRows(
    formats::Decoder& decoder, const types::SchemaPtr& schema,
    const std::vector<int>* column_source, std::vector<batch::ColumnBuilder>* metadata,
    std::vector<int64_t>* event_times, int64_t* dropped_reported, runtime::OperatorContext* ctx) {
  if (ctx && ctx->metrics)
    ctx->metrics->bad_rows_dropped += decoder.dropped_rows() - *dropped_reported;
  *dropped_reported = decoder.dropped_rows();
  const int64_t n = decoder.pending_rows();
  if (n == 0) return nullptr;
  auto b = std::make_shared<batch::Batch>();
  b->schema = schema;
  std::vector<batch::ColumnPtr> values = decoder.Flush();
  if (column_source == nullptr) {
    b->columns = std::move(values);
  } else {
    b->columns.reserve(column_source->size());
    for (int source : *column_source) {
      b->columns.push_back(source >= 0 ? std::move(values[static_cast<size_t>(source)])
                                       : (*metadata)[static_cast<size_t>(-1 - source)].Finish());
    }
  }
  b->change_kind = decoder.flushed_change_kinds();
  b->num_rows = n;
  auto times = batch::Column::MakeFixed(types::Timestamp(), n);
  std::memcpy(times->mutable_raw<int64_t>(), event_times->data(),
              static_cast<size_t>(n) * sizeof(int64_t));
  event_times->clear();
  b->event_time = times;
  return b;
}

Status EmitDecodedRows(formats::Decoder& decoder, const types::SchemaPtr& schema,
                       std::vector<int64_t>* event_times, int64_t* dropped_reported,
                       runtime::OperatorContext* ctx, runtime::Collector& out) {
  auto b = TakeDecodedRows(decoder, schema, nullptr, nullptr, event_times, dropped_reported, ctx);
  if (b == nullptr) return Status::Ok();
  if (ctx && ctx->metrics) ctx->metrics->rows_out += b->num_rows;
  return out.Emit(b);
}

}  // namespace sluice::connectors
