#pragma once
// The Kafka source operator (one per subtask); see kafka_source.cc.

#include <memory>

#include "connectors/connector.h"
#include "connectors/kafka/kafka_options.h"
#include "runtime/operator.h"

namespace sluice::connectors::kafka {

std::unique_ptr<runtime::SourceOperator> MakeKafkaSource(const TableSpec& spec,
                                                         const KafkaOptions& options,
                                                         std::vector<MetadataColumn> metadata,
                                                         int subtask, int parallelism);

}  // namespace sluice::connectors::kafka
