// Kafka sink (not written yet).

#include "connectors/kafka/kafka_sink.h"

namespace sluice::connectors::kafka {

Result<std::unique_ptr<runtime::Operator>> MakeKafkaSink(const TableSpec& spec,
                                                         const KafkaOptions& options, int subtask,
                                                         int parallelism) {
  return Status::NotSupported("table '{}': the kafka sink is not supported yet", spec.table_name);
}

}  // namespace sluice::connectors::kafka
