#pragma once
// The Kafka sink operator (one per subtask); see kafka_sink.cc.

#include <memory>

#include "common/status.h"
#include "connectors/connector.h"
#include "connectors/kafka/kafka_options.h"
#include "runtime/operator.h"

namespace sluice::connectors::kafka {

Result<std::unique_ptr<runtime::Operator>> MakeKafkaSink(const TableSpec& spec,
                                                         const KafkaOptions& options, int subtask,
                                                         int parallelism);

}  // namespace sluice::connectors::kafka
