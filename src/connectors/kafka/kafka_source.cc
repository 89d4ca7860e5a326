// Kafka source: reads the partitions of one topic assigned to this subtask (partition p goes to
// subtask p mod parallelism, with assign(): no consumer-group rebalancing) and decodes each
// record's value with the table's format.
//
// Position: the next offset of every partition (last record read + 1, or the position past
// transaction markers once the partition reported its end). Snapshots store it as a batch of
// (partition, next offset, end offset) rows so that a restore at another parallelism gives each
// partition's row to the subtask that now owns it. Once a checkpoint completes, its offsets are
// committed to the consumer group, for monitoring and for `source.offset = 'group'` on a fresh
// start.
//
// Watermarks: each batch says which partition each row came from and which partitions are still
// read (batch::SourceSplits), so the watermark generator keeps one watermark per partition.
//
// Bounded reads (`source.bounded = 'latest'`): the first start records each partition's high
// watermark as its end (kept in the checkpoint); a partition is done once its position reaches
// the end, learned from the records read or from the partition-EOF events librdkafka sends
// (never from the last record's offset: a transactional topic ends with a commit marker that no
// record carries).

#include "connectors/kafka/kafka_source.h"

#include <algorithm>
#include <cstring>
#include <unordered_map>

#include <fmt/format.h>

#include "batch/column_builder.h"
#include "batch/serialize.h"
#include "common/fault.h"
#include "connectors/decoded_rows.h"
#include "connectors/kafka/kafka_client.h"
#include "formats/format.h"

namespace sluice::connectors::kafka {

namespace {

using runtime::SourcePoll;

constexpr int64_t kNoEnd = INT64_MAX;
// How long a poll that found nothing waits before the next one.
constexpr int64_t kIdlePollMicros = 5000;
// How often an unbounded read looks for partitions added to the topic, and how long it waits
// for the answer.
constexpr int64_t kDiscoveryMicros = 5'000'000;
constexpr int kDiscoveryTimeoutMs = 1000;
// Records taken from librdkafka's queue per call.
constexpr size_t kConsumeBatch = 1024;

types::Schema OffsetsSchema() {
  return types::Schema({{"partition", types::Int32(), false},
                        {"next_offset", types::Int64(), false},
                        {"end_offset", types::Int64(), false}});
}

// Appends `bytes` as a JSON string: escaped, and with every byte that is not part of valid
// UTF-8 replaced by U+FFFD (header values are bytes; most are text).
void AppendJsonString(std::string_view bytes, std::string* out) {
  out->push_back('"');
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  const size_t n = bytes.size();
  for (size_t i = 0; i < n;) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      if (c == '"' || c == '\\') {
        out->push_back('\\');
        out->push_back(static_cast<char>(c));
      } else if (c < 0x20) {
        out->append(fmt::format("\\u{:04x}", c));
      } else {
        out->push_back(static_cast<char>(c));
      }
      ++i;
      continue;
    }
    // The length of a valid UTF-8 sequence starting here, or 0.
    size_t len = 0;
    if (c >= 0xc2 && c <= 0xdf) {
      len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      len = 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      len = 4;
    }
    bool valid = len > 0 && i + len <= n;
    for (size_t k = 1; valid && k < len; ++k) valid = (p[i + k] & 0xc0) == 0x80;
    if (valid && len == 3) {
      const unsigned char d = p[i + 1];
      valid = !(c == 0xe0 && d < 0xa0) && !(c == 0xed && d >= 0xa0);  // overlong, surrogate
    } else if (valid && len == 4) {
      const unsigned char d = p[i + 1];
      valid = !(c == 0xf0 && d < 0x90) && !(c == 0xf4 && d >= 0x90);  // overlong, > U+10FFFF
    }
    if (valid) {
      out->append(reinterpret_cast<const char*>(p + i), len);
      i += len;
    } else {
      out->append("\xef\xbf\xbd");  // U+FFFD
      ++i;
    }
  }
  out->push_back('"');
}

// The record's headers as a JSON object, in the record's order (a repeated name appears as
// often as the record has it); a header without a value is null.
void HeadersJson(const rd_kafka_message_t& m, std::string* out) {
  out->assign("{");
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* name;
    const void* value;
    size_t size;
    for (size_t i = 0;
         rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
         ++i) {
      if (i > 0) out->push_back(',');
      AppendJsonString(name, out);
      out->push_back(':');
      if (value == nullptr) {
        out->append("null");
      } else {
        AppendJsonString(std::string_view(static_cast<const char*>(value), size), out);
      }
    }
  }
  out->push_back('}');
}

struct PartitionState {
  int32_t partition = 0;
  int64_t next = RD_KAFKA_OFFSET_INVALID;  // next offset to read; INVALID before the first
  int64_t end = kNoEnd;                    // bounded reads: where the partition is done
  bool done = false;
};

class KafkaSource : public runtime::SourceOperator {
 public:
  KafkaSource(const TableSpec& spec, const KafkaOptions& options,
              std::vector<MetadataColumn> metadata, int subtask, int parallelism)
      : spec_(spec),
        options_(options),
        metadata_(std::move(metadata)),
        subtask_(subtask),
        parallelism_(std::max(parallelism, 1)),
        label_(fmt::format("table '{}'", spec.table_name)) {}

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    // The decoder reads the value's columns; metadata columns are filled here.
    std::vector<types::Field> value_fields;
    for (size_t i = 0; i < spec_.schema.size(); ++i) {
      const types::Field& f = spec_.schema.field(i);
      auto m = std::find_if(metadata_.begin(), metadata_.end(),
                            [&](const MetadataColumn& c) { return c.column == f.name; });
      if (m == metadata_.end()) {
        column_source_.push_back(static_cast<int>(value_fields.size()));
        value_fields.push_back(f);
      } else {
        column_source_.push_back(-1 - static_cast<int>(m - metadata_.begin()));
      }
    }
    for (const MetadataColumn& m : metadata_) {
      builders_.emplace_back(spec_.schema.field(*spec_.schema.Find(m.column)).type);
    }
    SLUICE_ASSIGN_OR_RETURN(
        decoder_, formats::MakeDecoder(spec_.format, types::Schema(value_fields), label_));
    schema_ = std::make_shared<const types::Schema>(spec_.schema);
    std::map<std::string, std::string> settings = options_.client_configs;
    settings["bootstrap.servers"] = options_.bootstrap_servers;
    settings["group.id"] = options_.group_id;
    settings["enable.auto.commit"] = "false";
    settings["enable.auto.offset.store"] = "false";
    settings["enable.partition.eof"] = "true";
    settings["isolation.level"] = options_.read_committed ? "read_committed" : "read_uncommitted";
    settings["client.id"] = fmt::format("sluice-{}-{}", spec_.table_name, subtask_);
    if (!settings.count("auto.offset.reset")) settings["auto.offset.reset"] = "earliest";
    // Larger fetches than librdkafka's 1 MB per partition: fewer round trips for a reader that
    // catches up (bench/kafka/run: 2 MB cost no more CPU than 1 MB; 8 MB did, in page faults).
    if (!settings.count("max.partition.fetch.bytes")) {
      settings["max.partition.fetch.bytes"] = "2097152";
    }
    SLUICE_ASSIGN_OR_RETURN(client_, KafkaClient::Make(ClientKind::kConsumer, settings, label_));
    SLUICE_ASSIGN_OR_RETURN(std::vector<int32_t> all,
                            client_->Partitions(options_.topic, kRequestTimeoutMs));
    for (int32_t p : all) {
      if (p % parallelism_ == subtask_) partitions_.push_back(PartitionState{p});
    }
    return Status::Ok();
  }

  Result<SourcePoll> Poll(runtime::Collector& out) override {
    if (ctx_ && ctx_->stop_requested && ctx_->stop_requested->load()) return SourcePoll::Finished();
    if (!assigned_) SLUICE_RETURN_NOT_OK(Assign());
    if (AllDone()) return SourcePoll::Finished();
    SLUICE_RETURN_NOT_OK(DiscoverPartitions());
    if (!queue_) return SourcePoll::WaitUntil(ProcessingTime{Now().value + 100000});
    int64_t taken = 0;
    while (decoder_->pending_rows() < spec_.batch_rows && taken < 4 * spec_.batch_rows) {
      size_t want = static_cast<size_t>(
          std::min<int64_t>(kConsumeBatch, spec_.batch_rows - decoder_->pending_rows()));
      ssize_t n = rd_kafka_consume_batch_queue(queue_.get(), 0, messages_, want);
      if (n < 0) {
        return KafkaStatus(rd_kafka_last_error(),
                           fmt::format("{}: reading topic '{}'", label_, options_.topic));
      }
      if (n == 0) break;
      taken += n;
      Status st;
      for (ssize_t i = 0; i < n; ++i) {
        MessagePtr m(messages_[i]);
        if (st.ok()) st = Take(*m);
      }
      SLUICE_RETURN_NOT_OK(st);
    }
    SLUICE_RETURN_NOT_OK(EmitPending(out));
    if (AllDone()) return SourcePoll::Finished();
    if (taken == 0) return SourcePoll::WaitUntil(ProcessingTime{Now().value + kIdlePollMicros});
    return SourcePoll::More();
  }

  Status Close() override {
    queue_.reset();
    client_.reset();
    return Status::Ok();
  }

  // Between polls every record taken has been emitted, so the positions are exact.
  Status Snapshot(int64_t checkpoint, runtime::StateWriter& state) override {
    batch::ColumnBuilder partitions(types::Int32()), nexts(types::Int64()), ends(types::Int64());
    std::vector<std::pair<int32_t, int64_t>> commits;
    for (const PartitionState& p : partitions_) {
      partitions.AppendFixed<int32_t>(p.partition);
      nexts.AppendFixed<int64_t>(p.next);
      ends.AppendFixed<int64_t>(p.end);
      if (p.next >= 0) commits.emplace_back(p.partition, p.next);
    }
    batch::Batch b;
    b.schema = std::make_shared<const types::Schema>(OffsetsSchema());
    b.num_rows = static_cast<int64_t>(partitions_.size());
    b.columns = {partitions.Finish(), nexts.Finish(), ends.Finish()};
    b.event_time = batch::Column::MakeFixed(types::Timestamp(), b.num_rows);
    state.PutBatch("offsets", b);
    uncommitted_.emplace_back(checkpoint, std::move(commits));
    return Status::Ok();
  }

  // Checkpoint n is complete: its offsets go to the consumer group, for monitoring (consumer
  // lag) and for fresh starts with source.offset = 'group'; the checkpoint, not the group, is
  // where a restore resumes. Asynchronous: a failed commit is only a late lag figure.
  Status Commit(int64_t checkpoint) override {
    const std::vector<std::pair<int32_t, int64_t>>* newest = nullptr;
    size_t covered = 0;
    for (const auto& [n, offsets] : uncommitted_) {
      if (n > checkpoint) break;
      newest = &offsets;
      ++covered;
    }
    if (newest != nullptr && !newest->empty() && client_) {
      PartitionListPtr list = MakePartitionList(options_.topic, *newest);
      rd_kafka_commit(client_->get(), list.get(), /*async=*/1);
    }
    uncommitted_.erase(uncommitted_.begin(),
                       uncommitted_.begin() + static_cast<std::ptrdiff_t>(covered));
    return Status::Ok();
  }

  // Takes the positions of the partitions this subtask owns now, from whichever subtask stored
  // them; partitions without a stored position (new ones) start from the earliest offset.
  Status Restore(runtime::StateReader& state) override {
    SLUICE_ASSIGN_OR_RETURN(std::vector<batch::BatchPtr> batches, state.GetBatches("offsets"));
    std::unordered_map<int32_t, std::pair<int64_t, int64_t>> stored;
    for (const batch::BatchPtr& b : batches) {
      if (b->columns.size() != 3) {
        return Status::Io("{}: the Kafka source state of checkpoint {} is corrupt", label_,
                          state.checkpoint());
      }
      const auto* ps = b->columns[0]->raw<int32_t>();
      const auto* ns = b->columns[1]->raw<int64_t>();
      const auto* es = b->columns[2]->raw<int64_t>();
      for (int64_t i = 0; i < b->num_rows; ++i) stored[ps[i]] = {ns[i], es[i]};
    }
    for (PartitionState& p : partitions_) {
      auto it = stored.find(p.partition);
      if (it == stored.end()) {
        // It did not exist at the first start: a bounded read leaves it out, an unbounded one
        // reads it from its beginning.
        p.next = options_.bounded ? 0 : RD_KAFKA_OFFSET_BEGINNING;
        p.end = options_.bounded ? 0 : kNoEnd;
        continue;
      }
      p.next = it->second.first;
      p.end = it->second.second;
    }
    return Status::Ok();
  }

 private:
  bool AllDone() const {
    if (!options_.bounded) return false;
    return std::all_of(partitions_.begin(), partitions_.end(),
                       [](const PartitionState& p) { return p.done; });
  }

  // Decides every partition's start offset (and, for a bounded read, its end) and assigns them.
  Status Assign() {
    assigned_ = true;
    next_discovery_ = ProcessingTime{Now().value + kDiscoveryMicros};
    if (partitions_.empty()) return Status::Ok();
    // The partitions without a position: all of them on a fresh start, and after a restore
    // those the checkpoint stored before this source had assigned them (a checkpoint taken
    // before the first poll). They start as a fresh start would: never from the consumer
    // group's offsets by accident (the group may hold another run's offsets).
    std::vector<size_t> unresolved;
    for (size_t i = 0; i < partitions_.size(); ++i) {
      if (partitions_[i].next == RD_KAFKA_OFFSET_INVALID) unresolved.push_back(i);
    }
    if (!unresolved.empty()) {
      std::vector<int32_t> unresolved_ids;
      for (size_t i : unresolved) unresolved_ids.push_back(partitions_[i].partition);
      std::vector<int64_t> starts(unresolved.size(), RD_KAFKA_OFFSET_BEGINNING);
      switch (options_.start) {
        case StartOffset::kEarliest:
          break;
        case StartOffset::kLatest:
          std::fill(starts.begin(), starts.end(), RD_KAFKA_OFFSET_END);
          break;
        case StartOffset::kGroup: {
          SLUICE_ASSIGN_OR_RETURN(
              starts, client_->CommittedOffsets(options_.topic, unresolved_ids, kRequestTimeoutMs));
          for (int64_t& s : starts) {
            if (s < 0) s = RD_KAFKA_OFFSET_BEGINNING;  // nothing committed: from the start
          }
          break;
        }
        case StartOffset::kTimestamp:
          SLUICE_ASSIGN_OR_RETURN(
              starts, client_->OffsetsForTime(options_.topic, unresolved_ids,
                                              options_.start_timestamp_ms, kRequestTimeoutMs));
          break;
      }
      // Concrete offsets, so that a checkpoint taken before the first record still resumes
      // where this start began.
      for (size_t k = 0; k < unresolved.size(); ++k) {
        SLUICE_ASSIGN_OR_RETURN(
            WatermarkOffsets w,
            client_->QueryWatermarks(options_.topic, unresolved_ids[k], kRequestTimeoutMs));
        int64_t start = starts[k];
        if (start == RD_KAFKA_OFFSET_END || start > w.high) {
          start = w.high;  // latest; or no record at or after the start timestamp
        } else if (start < w.low) {
          start = w.low;  // earliest (BEGINNING is negative); or deleted by retention
        }
        PartitionState& p = partitions_[unresolved[k]];
        p.next = start;
        if (options_.bounded) p.end = w.high;
      }
    }
    std::vector<std::pair<int32_t, int64_t>> offsets;
    for (size_t i = 0; i < partitions_.size(); ++i) {
      PartitionState& p = partitions_[i];
      index_[p.partition] = i;
      // Empty from the start, or read to its end before the checkpoint.
      if (options_.bounded && p.next >= 0 && p.next >= p.end) {
        p.done = true;
        live_changed_ = true;
        continue;
      }
      offsets.emplace_back(p.partition, p.next);
    }
    if (offsets.empty()) return Status::Ok();
    PartitionListPtr list = MakePartitionList(options_.topic, offsets);
    rd_kafka_resp_err_t err = rd_kafka_assign(client_->get(), list.get());
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaStatus(err,
                         fmt::format("{}: assigning partitions of '{}'", label_, options_.topic));
    }
    queue_.reset(rd_kafka_queue_get_consumer(client_->get()));
    return Status::Ok();
  }

  // Unbounded reads: partitions added to the topic while the pipeline runs join this subtask's
  // assignment (read from their earliest offset), checked every kDiscoveryMicros. A failed
  // metadata request is retried at the next check (the brokers may be restarting).
  Status DiscoverPartitions() {
    const ProcessingTime now = Now();
    if (options_.bounded || now.value < next_discovery_.value) return Status::Ok();
    next_discovery_ = ProcessingTime{now.value + kDiscoveryMicros};
    Result<std::vector<int32_t>> all = client_->Partitions(options_.topic, kDiscoveryTimeoutMs);
    if (!all.ok()) return Status::Ok();
    std::vector<std::pair<int32_t, int64_t>> added;
    for (int32_t p : *all) {
      if (p % parallelism_ != subtask_ || index_.count(p)) continue;
      partitions_.push_back(PartitionState{p, RD_KAFKA_OFFSET_BEGINNING});
      index_[p] = partitions_.size() - 1;
      added.emplace_back(p, RD_KAFKA_OFFSET_BEGINNING);
      live_changed_ = true;
    }
    if (added.empty()) return Status::Ok();
    PartitionListPtr list = MakePartitionList(options_.topic, added);
    SLUICE_RETURN_NOT_OK(
        KafkaStatus(ErrorPtr(rd_kafka_incremental_assign(client_->get(), list.get())),
                    fmt::format("{}: assigning new partitions of '{}'", label_, options_.topic)));
    if (!queue_) queue_.reset(rd_kafka_queue_get_consumer(client_->get()));
    return Status::Ok();
  }

  // One message from the consumer queue: a record, a partition's end, or an error.
  Status Take(const rd_kafka_message_t& m) {
    auto it = index_.find(m.partition);
    PartitionState* p = it == index_.end() ? nullptr : &partitions_[it->second];
    if (m.err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      // m.offset is the position: past every record and transaction marker read.
      if (p != nullptr) {
        if (m.offset > p->next) p->next = m.offset;
        if (p->next >= p->end) Finish(*p);
      }
      return Status::Ok();
    }
    if (m.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::string what =
          fmt::format("{}: reading topic '{}' partition {}", label_, options_.topic, m.partition);
      if (m.payload != nullptr && m.len > 0) {
        what += fmt::format(" ({})", std::string_view(static_cast<const char*>(m.payload), m.len));
      }
      if (m.err == RD_KAFKA_RESP_ERR__TRANSPORT || m.err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
        return Status::Ok();  // librdkafka reconnects by itself; the read resumes
      }
      return KafkaStatus(m.err, what);
    }
    if (p == nullptr || p->done) return Status::Ok();
    if (m.offset >= p->end) {
      Finish(*p);  // past the bound of a bounded read
      return Status::Ok();
    }
    const int64_t before = decoder_->pending_rows();
    std::string_view value;
    if (m.payload != nullptr) value = std::string_view(static_cast<const char*>(m.payload), m.len);
    // The decoder may parse in place; librdkafka's payload has no readable padding after it.
    padded_.assign(value.data(), value.size());
    padded_.append(formats::kLinePadding, '\0');
    Status st = decoder_->AppendPadded(std::string_view(padded_.data(), value.size()), [&] {
      return fmt::format("partition {} offset {}", m.partition, m.offset);
    });
    SLUICE_RETURN_NOT_OK(st);
    p->next = m.offset + 1;
    // One row per record, none for a dropped one, two for a debezium_json update (the old and
    // the new row): each gets the record's event time and metadata.
    for (int64_t r = before; r < decoder_->pending_rows(); ++r) AppendRecordFields(m);
    if (p->next >= p->end) Finish(*p);
    return Status::Ok();
  }

  void Finish(PartitionState& p) {
    if (p.done) return;
    p.done = true;
    live_changed_ = true;
    PartitionListPtr list = MakePartitionList(options_.topic, {{p.partition, 0}});
    rd_kafka_pause_partitions(client_->get(), list.get());
  }

  // Event time and metadata columns of the row just decoded.
  void AppendRecordFields(const rd_kafka_message_t& m) {
    rd_kafka_timestamp_type_t type;
    int64_t ms = rd_kafka_message_timestamp(&m, &type);
    int64_t micros = ms >= 0 ? ms * 1000 : Now().value;
    if (row_partitions_.empty() && live_changed_) {
      // The first row of a batch: the partitions read while it is taken (one that ends in the
      // middle of the batch still counts for the rows of the others after it).
      auto live = std::make_shared<std::vector<int32_t>>();
      for (const PartitionState& p : partitions_) {
        if (!p.done) live->push_back(p.partition);
      }
      live_ = std::move(live);
      live_changed_ = false;
    }
    event_times_.push_back(micros);
    row_partitions_.push_back(m.partition);
    for (size_t i = 0; i < metadata_.size(); ++i) {
      batch::ColumnBuilder& b = builders_[i];
      switch (metadata_[i].kind) {
        case MetadataKind::kPartition:
          b.AppendFixed<int32_t>(m.partition);
          break;
        case MetadataKind::kOffset:
          b.AppendFixed<int64_t>(m.offset);
          break;
        case MetadataKind::kTopic:
          b.AppendString(options_.topic);
          break;
        case MetadataKind::kTimestamp:
          if (ms >= 0) {
            b.AppendFixed<int64_t>(micros);
          } else {
            b.AppendNull();
          }
          break;
        case MetadataKind::kKey:
          if (m.key != nullptr) {
            b.AppendString(std::string_view(static_cast<const char*>(m.key), m.key_len));
          } else {
            b.AppendNull();
          }
          break;
        case MetadataKind::kHeaders:
          HeadersJson(m, &headers_json_);
          b.AppendString(headers_json_);
          break;
      }
    }
  }

  Status EmitPending(runtime::Collector& out) {
    auto b = TakeDecodedRows(*decoder_, schema_, &column_source_, &builders_, &event_times_,
                             &dropped_reported_, ctx_);
    if (b == nullptr) return Status::Ok();
    const int64_t n = b->num_rows;
    // Each row's partition and the partitions still read: the watermark generator keeps a
    // watermark per partition.
    auto row_partitions = batch::Column::MakeFixed(types::Int32(), n);
    std::memcpy(row_partitions->mutable_raw<int32_t>(), row_partitions_.data(),
                static_cast<size_t>(n) * sizeof(int32_t));
    row_partitions_.clear();
    b->splits = std::make_shared<const batch::SourceSplits>(
        batch::SourceSplits{std::move(row_partitions), live_});
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += n;
    return out.Emit(b);
  }

  TableSpec spec_;
  KafkaOptions options_;
  std::vector<MetadataColumn> metadata_;
  int subtask_;
  int parallelism_;
  std::string label_;
  types::SchemaPtr schema_;
  std::unique_ptr<formats::Decoder> decoder_;
  // Per output column: >= 0 the decoder's column, < 0 metadata column -1 - value.
  std::vector<int> column_source_;
  std::vector<batch::ColumnBuilder> builders_;  // one per metadata_ entry
  std::vector<int64_t> event_times_;            // of the pending rows
  std::vector<int32_t> row_partitions_;         // of the pending rows
  // The partitions not done when the pending batch began, for the watermark generator; taken
  // afresh at the next batch once the set changed.
  std::shared_ptr<const std::vector<int32_t>> live_;
  bool live_changed_ = true;
  std::unique_ptr<KafkaClient> client_;
  QueuePtr queue_;
  std::vector<PartitionState> partitions_;
  std::unordered_map<int32_t, size_t> index_;  // partition id -> partitions_ index
  bool assigned_ = false;
  ProcessingTime next_discovery_{0};
  // Offsets of the snapshots whose checkpoints have not completed yet, oldest first.
  std::vector<std::pair<int64_t, std::vector<std::pair<int32_t, int64_t>>>> uncommitted_;
  std::string padded_;
  std::string headers_json_;
  rd_kafka_message_t* messages_[kConsumeBatch];
  int64_t dropped_reported_ = 0;
};

}  // namespace

std::unique_ptr<runtime::SourceOperator> MakeKafkaSource(const TableSpec& spec,
                                                         const KafkaOptions& options,
                                                         std::vector<MetadataColumn> metadata,
                                                         int subtask, int parallelism) {
  return std::make_unique<KafkaSource>(spec, options, std::move(metadata), subtask, parallelism);
}

}  // namespace sluice::connectors::kafka
