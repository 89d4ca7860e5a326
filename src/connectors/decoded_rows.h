// Message-at-a-time sources (mqtt, nats, the HTTP sources) decode each message into a decoder
// and record an event time per decoded row; this emits what has gathered as one batch.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "formats/format.h"
#include "runtime/operator.h"
#include "types/schema.h"

namespace sluice::connectors {

// Emits the rows `decoder` holds (nothing when it holds none) with `event_times` (one per row,
// cleared), and counts the rows out and the rows the decoder dropped since `*dropped_reported`.
Status EmitDecodedRows(formats::Decoder& decoder, const types::SchemaPtr& schema,
                       std::vector<int64_t>* event_times, int64_t* dropped_reported,
                       runtime::OperatorContext* ctx, runtime::Collector& out);

}  // namespace sluice::connectors
