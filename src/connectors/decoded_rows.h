// Sources decode records into a decoder and record an event time per decoded row; these turn
// what has gathered into one batch (mqtt, nats and the HTTP sources emit it as it is; kafka and
// rabbitmq add their metadata columns, and kafka its partitions).
#pragma once

#include <cstdint>
#include <vector>

#include "batch/batch.h"
#include "batch/column_builder.h"
#include "common/status.h"
#include "formats/format.h"
#include "runtime/operator.h"
#include "types/schema.h"

namespace sluice::connectors {

// Emits the rows `decoder` holds (nothing when it holds none) with `event_times` (one per row,
// cleared), and counts the rows out and the rows the decoder dropped since `*dropped_reported`.
// The rows `decoder` holds as one batch (null when it holds none), with `event_times` (one per
// row; cleared) and the decoder's change kinds. Without `column_source` the columns are the
// decoder's; with it, each column of the table in order: `column_source[i]` >= 0 is that
// decoder column, < 0 is metadata column `-1 - column_source[i]`, finished from `metadata`.
// Counts the rows the decoder dropped since `*dropped_reported` (not the rows out).
std::shared_ptr<batch::Batch> TakeDecodedRows(
    formats::Decoder& decoder, const types::SchemaPtr& schema,
    const std::vector<int>* column_source, std::vector<batch::ColumnBuilder>* metadata,
    std::vector<int64_t>* event_times, int64_t* dropped_reported, runtime::OperatorContext* ctx);

Status EmitDecodedRows(formats::Decoder& decoder, const types::SchemaPtr& schema,
                       std::vector<int64_t>* event_times, int64_t* dropped_reported,
                       runtime::OperatorContext* ctx, runtime::Collector& out);

}  // namespace sluice::connectors
