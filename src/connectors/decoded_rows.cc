#include "connectors/decoded_rows.h"

#include <cstring>
#include <memory>

#include "batch/batch.h"

namespace sluice::connectors {

Status EmitDecodedRows(formats::Decoder& decoder, const types::SchemaPtr& schema,
                       std::vector<int64_t>* event_times, int64_t* dropped_reported,
                       runtime::OperatorContext* ctx, runtime::Collector& out) {
  if (ctx && ctx->metrics)
    ctx->metrics->bad_rows_dropped += decoder.dropped_rows() - *dropped_reported;
  *dropped_reported = decoder.dropped_rows();
  const int64_t n = decoder.pending_rows();
  if (n == 0) return Status::Ok();
  auto b = std::make_shared<batch::Batch>();
  b->schema = schema;
  b->columns = decoder.Flush();
  b->change_kind = decoder.flushed_change_kinds();
  b->num_rows = n;
  auto times = batch::Column::MakeFixed(types::Timestamp(), n);
  std::memcpy(times->mutable_raw<int64_t>(), event_times->data(),
              static_cast<size_t>(n) * sizeof(int64_t));
  event_times->clear();
  b->event_time = times;
  if (ctx && ctx->metrics) ctx->metrics->rows_out += n;
  return out.Emit(b);
}

}  // namespace sluice::connectors
