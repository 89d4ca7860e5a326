// The RAII layer over librdkafka (see kafka_client.h).

#include "connectors/kafka/kafka_client.h"

#include <algorithm>

#include <fmt/format.h>

#include "common/text.h"

namespace sluice::connectors::kafka {

namespace {

bool IsUserError(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
      return true;
    default:
      return false;
  }
}

}  // namespace

Status KafkaStatus(rd_kafka_resp_err_t err, const std::string& what) {
  if (IsUserError(err)) return Status::User("{}: {}", what, rd_kafka_err2str(err));
  return Status::Io("{}: {}", what, rd_kafka_err2str(err));
}

Status KafkaStatus(ErrorPtr error, const std::string& what) {
  if (!error) return Status::Ok();
  rd_kafka_resp_err_t code = rd_kafka_error_code(error.get());
  std::string text = rd_kafka_error_string(error.get());
  if (IsUserError(code)) return Status::User("{}: {}", what, text);
  return Status::Io("{}: {}", what, text);
}

Result<std::unique_ptr<KafkaClient>> KafkaClient::Make(
    ClientKind kind, const std::map<std::string, std::string>& settings, std::string label,
    const std::function<void(rd_kafka_conf_t*)>& customize) {
  ConfPtr conf(rd_kafka_conf_new());
  char errstr[512];
  std::string bootstrap;
  for (const auto& [key, value] : settings) {
    if (key == "bootstrap.servers") bootstrap = value;
    if (rd_kafka_conf_set(conf.get(), key.c_str(), value.c_str(), errstr, sizeof(errstr)) !=
        RD_KAFKA_CONF_OK) {
      return Status::User("{}: Kafka client setting '{}' = '{}': {}", label, key, value, errstr);
    }
  }
  if (customize) customize(conf.get());
  rd_kafka_t* rk =
      rd_kafka_new(kind == ClientKind::kConsumer ? RD_KAFKA_CONSUMER : RD_KAFKA_PRODUCER,
                   conf.get(), errstr, sizeof(errstr));
  if (rk == nullptr) {
    return Status::User("{}: cannot create a Kafka {}: {}", label,
                        kind == ClientKind::kConsumer ? "consumer" : "producer", errstr);
  }
  conf.release();  // rd_kafka_new took it
  return std::unique_ptr<KafkaClient>(
      new KafkaClient(rk, kind, std::move(label), std::move(bootstrap)));
}

KafkaClient::~KafkaClient() {
  if (rk_ == nullptr) return;
  if (kind_ == ClientKind::kConsumer) rd_kafka_consumer_close(rk_);
  // A producer's unsent records are dropped (a sink flushes what it promised before closing),
  // so that destroying it after an error does not wait for unreachable brokers.
  if (kind_ == ClientKind::kProducer) {
    rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  }
  rd_kafka_destroy(rk_);
}

Result<std::vector<int32_t>> KafkaClient::Partitions(const std::string& topic, int timeout_ms) {
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
  if (rkt == nullptr) {
    return KafkaStatus(rd_kafka_last_error(), fmt::format("{}: topic '{}'", label_, topic));
  }
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_resp_err_t err = rd_kafka_metadata(rk_, 0, rkt, &md, timeout_ms);
  rd_kafka_topic_destroy(rkt);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return Status::Io(
        "{}: no answer from the Kafka brokers '{}' within {} ms ({}); check bootstrap_servers "
        "and that the brokers run",
        label_, bootstrap_, timeout_ms, rd_kafka_err2str(err));
  }
  std::vector<int32_t> partitions;
  Status st;
  for (int i = 0; i < md->topic_cnt; ++i) {
    const rd_kafka_metadata_topic_t& t = md->topics[i];
    if (topic != t.topic) continue;
    if (t.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
        t.err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC) {
      st = Status::User("{}: topic '{}' does not exist on the Kafka brokers '{}'; create it first",
                        label_, topic, bootstrap_);
    } else if (t.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      st = KafkaStatus(t.err, fmt::format("{}: metadata of topic '{}'", label_, topic));
    }
    for (int p = 0; p < t.partition_cnt; ++p) partitions.push_back(t.partitions[p].id);
  }
  rd_kafka_metadata_destroy(md);
  SLUICE_RETURN_NOT_OK(st);
  if (partitions.empty()) {
    return Status::User("{}: topic '{}' does not exist on the Kafka brokers '{}'; create it first",
                        label_, topic, bootstrap_);
  }
  std::sort(partitions.begin(), partitions.end());
  return partitions;
}

Result<WatermarkOffsets> KafkaClient::QueryWatermarks(const std::string& topic, int32_t partition,
                                                      int timeout_ms) {
  WatermarkOffsets w;
  rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(rk_, topic.c_str(), partition, &w.low, &w.high, timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaStatus(err, fmt::format("{}: offsets of topic '{}' partition {} from '{}'", label_,
                                        topic, partition, bootstrap_));
  }
  return w;
}

Result<std::vector<int64_t>> KafkaClient::OffsetsForTime(const std::string& topic,
                                                         const std::vector<int32_t>& partitions,
                                                         int64_t timestamp_ms, int timeout_ms) {
  std::vector<std::pair<int32_t, int64_t>> query;
  for (int32_t p : partitions) query.emplace_back(p, timestamp_ms);
  PartitionListPtr list = MakePartitionList(topic, query);
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(rk_, list.get(), timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaStatus(err, fmt::format("{}: offsets for a time in topic '{}'", label_, topic));
  }
  std::vector<int64_t> offsets;
  for (int i = 0; i < list->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = list->elems[i];
    if (tp.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaStatus(tp.err, fmt::format("{}: offset for a time in topic '{}' partition {}",
                                             label_, topic, tp.partition));
    }
    offsets.push_back(tp.offset);
  }
  return offsets;
}

Result<std::vector<int64_t>> KafkaClient::CommittedOffsets(const std::string& topic,
                                                           const std::vector<int32_t>& partitions,
                                                           int timeout_ms) {
  std::vector<std::pair<int32_t, int64_t>> query;
  for (int32_t p : partitions) query.emplace_back(p, RD_KAFKA_OFFSET_INVALID);
  PartitionListPtr list = MakePartitionList(topic, query);
  rd_kafka_resp_err_t err = rd_kafka_committed(rk_, list.get(), timeout_ms);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaStatus(err, fmt::format("{}: committed offsets of the consumer group", label_));
  }
  std::vector<int64_t> offsets;
  for (int i = 0; i < list->cnt; ++i) offsets.push_back(list->elems[i].offset);
  return offsets;
}

PartitionListPtr MakePartitionList(const std::string& topic,
                                   const std::vector<std::pair<int32_t, int64_t>>& offsets) {
  PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& [partition, offset] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset = offset;
  }
  return list;
}

Result<std::map<std::string, std::string>> ParseClientConfigs(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = text.find_first_of(",;", begin);
    if (end == std::string::npos) end = text.size();
    std::string_view pair = TrimAsciiSpace(std::string_view(text).substr(begin, end - begin));
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      if (eq == std::string_view::npos || eq == 0) {
        return Status::User(
            "option 'client_configs': '{}' is not key=value (pairs are separated by ',' or ';')",
            pair);
      }
      out[std::string(TrimAsciiSpace(pair.substr(0, eq)))] =
          std::string(TrimAsciiSpace(pair.substr(eq + 1)));
    }
    begin = end + 1;
  }
  return out;
}

}  // namespace sluice::connectors::kafka
