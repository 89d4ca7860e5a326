#pragma once
// Sluice's thin RAII layer over librdkafka's C API: owners for its handles, errors as Status.
//
// Threading: a KafkaClient is used by the one task thread that owns it (librdkafka's own
// threads stay inside the library). Calls that talk to the broker take a timeout and return an
// error naming the bootstrap servers when it passes, never block without bound.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "common/status.h"

namespace sluice::connectors::kafka {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct ErrorDeleter {
  void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
};

using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

// "<what>: <librdkafka's description of err>", as an I/O error (a user error for the errors
// that a setting or a name causes: unknown topic, authentication, authorization).
Status KafkaStatus(rd_kafka_resp_err_t err, const std::string& what);
// The same for librdkafka's rich error objects (transactions); consumes `error`.
Status KafkaStatus(ErrorPtr error, const std::string& what);

// Where a partition's records are: the first offset still held and the next offset to be
// written (the high watermark; for read_committed, librdkafka answers the same).
struct WatermarkOffsets {
  int64_t low = 0;
  int64_t high = 0;
};

enum class ClientKind { kConsumer, kProducer };

// Owns an rd_kafka_t (consumer or producer) and destroys it (a consumer is closed first).
class KafkaClient {
 public:
  // `settings` are librdkafka configuration properties; an unknown or invalid one is a user
  // error naming it. `label` names the client in errors ("table 'orders'"). `customize`, when
  // given, may set callbacks on the configuration before the client is made.
  static Result<std::unique_ptr<KafkaClient>> Make(
      ClientKind kind, const std::map<std::string, std::string>& settings, std::string label,
      const std::function<void(rd_kafka_conf_t*)>& customize = nullptr);
  ~KafkaClient();
  KafkaClient(const KafkaClient&) = delete;
  KafkaClient& operator=(const KafkaClient&) = delete;

  rd_kafka_t* get() const { return rk_; }
  const std::string& label() const { return label_; }
  const std::string& bootstrap_servers() const { return bootstrap_; }

  // The partition ids of `topic`, ascending. A user error when the topic does not exist; an
  // I/O error naming the bootstrap servers when no broker answers within `timeout_ms`.
  Result<std::vector<int32_t>> Partitions(const std::string& topic, int timeout_ms);
  Result<WatermarkOffsets> QueryWatermarks(const std::string& topic, int32_t partition,
                                           int timeout_ms);
  // The first offset of each partition whose record timestamp is >= `timestamp_ms` (the high
  // watermark when there is none), in the order of `partitions`.
  Result<std::vector<int64_t>> OffsetsForTime(const std::string& topic,
                                              const std::vector<int32_t>& partitions,
                                              int64_t timestamp_ms, int timeout_ms);
  // Consumers: the offsets committed by the consumer group (RD_KAFKA_OFFSET_INVALID where none).
  Result<std::vector<int64_t>> CommittedOffsets(const std::string& topic,
                                                const std::vector<int32_t>& partitions,
                                                int timeout_ms);

 private:
  KafkaClient(rd_kafka_t* rk, ClientKind kind, std::string label, std::string bootstrap)
      : rk_(rk), kind_(kind), label_(std::move(label)), bootstrap_(std::move(bootstrap)) {}

  rd_kafka_t* rk_;
  ClientKind kind_;
  std::string label_;
  std::string bootstrap_;
};

// Builds a topic-partition list; offsets may be RD_KAFKA_OFFSET_* logical values.
PartitionListPtr MakePartitionList(const std::string& topic,
                                   const std::vector<std::pair<int32_t, int64_t>>& offsets);

// Parses client_configs: 'key=value' pairs separated by ',' or ';' (whitespace around them
// ignored). A user error names a pair without '='.
Result<std::map<std::string, std::string>> ParseClientConfigs(const std::string& text);

}  // namespace sluice::connectors::kafka
