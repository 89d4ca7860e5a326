// Kafka sink: one record per row (per change event for debezium_json), its value encoded with
// the table's format, its key, timestamp and headers optionally from columns.
//
// at_least_once (and any run without checkpoints): an idempotent producer writes records as
// rows arrive and waits, at each checkpoint barrier, until the brokers acknowledged every one.
//
// exactly_once (runs with checkpoints; docs/decisions/0009-kafka-exactly-once.md): the records
// of a checkpoint epoch are kept (in memory, and in the checkpoint's state) and written in one
// Kafka transaction once the checkpoint is complete (Commit). The transaction also commits, as
// the offset of partition 0 of the output topic for a consumer group of its own
// ("<transactional id>-epochs"), the epoch's number: a marker that is visible exactly when the
// epoch's records are. A restore fences the previous producers (init_transactions with their
// stable transactional ids aborts whatever they left open), reads the markers, and writes again
// in a new transaction every epoch of the checkpoint whose marker is missing: a crash between
// checkpoint completion and the commit, or during the commit, loses and duplicates nothing.

#include "connectors/kafka/kafka_sink.h"

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <unordered_map>

#include <fmt/format.h>
#include <simdjson.h>

#include "common/fault.h"
#include "connectors/kafka/kafka_client.h"
#include "formats/format.h"

namespace sluice::connectors::kafka {

namespace {

constexpr int kFlushTimeoutMs = 60000;
constexpr int kTransactionTimeoutMs = 60000;
constexpr uint32_t kNoKey = UINT32_MAX;
// Records of one epoch are addressed with 32-bit offsets.
constexpr size_t kMaxEpochBytes = size_t{2} << 30;
// The state piece of the pending epochs ("4": the version of its layout): one byte string per
// subtask, for each pending epoch [i64 epoch][u64 record count][u64 arena size][the records as
// packed Record structs][the arena], native byte order. Versions 3 (a batch of one row per
// epoch) and 2 (the same with records without headers, 24 bytes each), written by earlier
// releases, are still read.
constexpr std::string_view kPendingPiece = "pending_epochs_4";
constexpr std::string_view kPendingPieceV3 = "pending_epochs_3";
constexpr std::string_view kPendingPieceV2 = "pending_epochs_2";

// Records of one epoch, keys, values and headers back to back in one arena. A record's headers
// are entries [u32 name length][name][u32 value length, kNoKey for a header without value]
// [value], native byte order (the checkpoint is read back on the same kind of machine).
struct EpochRecords {
  int64_t epoch = 0;
  std::string bytes;
  struct Record {
    uint32_t key_begin = 0, key_len = kNoKey;
    uint32_t value_begin = 0, value_len = 0;
    uint32_t headers_begin = 0, headers_len = 0;
    int64_t timestamp_ms = -1;
  };
  static_assert(sizeof(Record) == 32, "checkpoints store Records as they are in memory");
  struct RecordV2 {
    uint32_t key_begin = 0, key_len = kNoKey;
    uint32_t value_begin = 0, value_len = 0;
    int64_t timestamp_ms = -1;
  };
  static_assert(sizeof(RecordV2) == 24, "the layout of pending_epochs_2");
  std::vector<Record> records;
};
using EpochPtr = std::shared_ptr<EpochRecords>;

// Owns an rd_kafka_headers_t until a produce call takes it.
struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* h) const { rd_kafka_headers_destroy(h); }
};
using HeadersPtr = std::unique_ptr<rd_kafka_headers_t, HeadersDeleter>;

uint32_t ReadU32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// Whether `headers` (a record's header entries) is well formed.
bool HeadersWellFormed(std::string_view headers) {
  size_t i = 0;
  while (i < headers.size()) {
    if (headers.size() - i < 4) return false;
    const uint32_t name_len = ReadU32(headers.data() + i);
    i += 4;
    if (headers.size() - i < uint64_t{name_len} + 4) return false;
    i += name_len;
    const uint32_t value_len = ReadU32(headers.data() + i);
    i += 4;
    if (value_len != kNoKey) {
      if (headers.size() - i < value_len) return false;
      i += value_len;
    }
  }
  return true;
}

// Whether every record of `e` lies within its arena with well-formed headers.
bool RecordsWellFormed(const EpochRecords& e) {
  const size_t n = e.bytes.size();
  for (const EpochRecords::Record& r : e.records) {
    const bool key_ok = r.key_len == kNoKey || uint64_t{r.key_begin} + r.key_len <= n;
    const bool headers_ok =
        uint64_t{r.headers_begin} + r.headers_len <= n &&
        (r.headers_len == 0 ||
         HeadersWellFormed(std::string_view(e.bytes).substr(r.headers_begin, r.headers_len)));
    if (!key_ok || !headers_ok || uint64_t{r.value_begin} + r.value_len > n) return false;
  }
  return true;
}

template <typename T>
void AppendRaw(const T& v, std::string* out) {
  out->append(reinterpret_cast<const char*>(&v), sizeof v);
}

// What a snapshot of the pending epochs references: the epochs themselves (not changed while
// shared) and the headers of the piece.
struct PendingSnapshot {
  std::vector<std::shared_ptr<const EpochRecords>> epochs;
  std::string headers;
};

// The pending epochs as the parts of one byte string (layout at kPendingPiece), without a copy
// of any record: per epoch its header, then views of its record index and arena, kept alive by
// `*owner`.
std::vector<std::string_view> PendingParts(const std::vector<EpochPtr>& pending,
                                           std::shared_ptr<const void>* owner) {
  auto snap = std::make_shared<PendingSnapshot>();
  constexpr size_t kHeader = 3 * sizeof(int64_t);
  snap->headers.reserve(pending.size() * kHeader);
  for (const EpochPtr& e : pending) {
    snap->epochs.push_back(e);
    AppendRaw<int64_t>(e->epoch, &snap->headers);
    AppendRaw<uint64_t>(e->records.size(), &snap->headers);
    AppendRaw<uint64_t>(e->bytes.size(), &snap->headers);
  }
  std::vector<std::string_view> parts;
  parts.reserve(pending.size() * 3);
  for (size_t i = 0; i < pending.size(); ++i) {
    const EpochRecords& e = *pending[i];
    parts.push_back(std::string_view(snap->headers).substr(i * kHeader, kHeader));
    parts.emplace_back(reinterpret_cast<const char*>(e.records.data()),
                       e.records.size() * sizeof(EpochRecords::Record));
    parts.emplace_back(e.bytes);
  }
  *owner = std::move(snap);
  return parts;
}

// The epochs of a kPendingPiece byte string, or false when it is malformed.
bool DecodePending(std::string_view in, std::vector<EpochPtr>* out) {
  while (!in.empty()) {
    if (in.size() < 3 * sizeof(int64_t)) return false;
    auto owned = std::make_shared<EpochRecords>();
    EpochRecords& e = *owned;
    uint64_t count = 0, size = 0;
    std::memcpy(&e.epoch, in.data(), sizeof(int64_t));
    std::memcpy(&count, in.data() + 8, sizeof(uint64_t));
    std::memcpy(&size, in.data() + 16, sizeof(uint64_t));
    in.remove_prefix(3 * sizeof(int64_t));
    if (count > in.size() / sizeof(EpochRecords::Record)) return false;
    const size_t index = count * sizeof(EpochRecords::Record);
    if (in.size() - index < size) return false;
    e.records.resize(count);
    if (index > 0) std::memcpy(e.records.data(), in.data(), index);
    e.bytes.assign(in.data() + index, size);
    in.remove_prefix(index + size);
    if (!RecordsWellFormed(e)) return false;
    out->push_back(std::move(owned));
  }
  return true;
}

class KafkaSink : public runtime::Operator {
 public:
  KafkaSink(const TableSpec& spec, const KafkaOptions& options, int subtask, int parallelism)
      : spec_(spec),
        options_(options),
        subtask_(subtask),
        parallelism_(parallelism),
        label_(fmt::format("table '{}'", spec.table_name)) {}

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    transactional_ = ctx.checkpointing && options_.commit_mode == CommitMode::kExactlyOnce;
    if (spec_.schema.size() > 0) SLUICE_RETURN_NOT_OK(MakeEncoder(spec_.schema));
    SLUICE_ASSIGN_OR_RETURN(
        producer_, MakeProducer(transactional_ ? TransactionalId(subtask_) : std::string()));
    // The topic must exist (the broker may create topics on a first write; Sluice does not
    // rely on it).
    SLUICE_RETURN_NOT_OK(producer_->Partitions(options_.topic, kRequestTimeoutMs).status());
    if (transactional_) {
      // Fences an earlier run's producer with this id and aborts its open transaction.
      SLUICE_RETURN_NOT_OK(KafkaStatus(
          ErrorPtr(rd_kafka_init_transactions(producer_->get(), kTransactionTimeoutMs)),
          fmt::format("{}: initializing transactions of '{}'", label_, TransactionalId(subtask_))));
    }
    return Status::Ok();
  }

  Status ProcessBatch(int input, const batch::BatchPtr& batch, runtime::Collector& out) override {
    if (batch->num_rows == 0) return Status::Ok();
    if (!encoder_) SLUICE_RETURN_NOT_OK(MakeEncoder(*batch->schema));
    SLUICE_RETURN_NOT_OK(Append(*batch));
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += batch->num_rows;
    if (!transactional_) {
      SLUICE_RETURN_NOT_OK(ProduceAll(current_));
      current_.bytes.clear();
      current_.records.clear();
      rd_kafka_poll(producer_->get(), 0);  // delivery reports
      return DeliveryStatus();
    }
    return Status::Ok();
  }

  Status OnEndOfInput(runtime::Collector& out) override {
    if (transactional_) return Status::Ok();  // the final checkpoint commits the rest
    return Flush();
  }

  // at_least_once: every record before the barrier is acknowledged. exactly_once: the epoch's
  // records become pending, written when the checkpoint is complete.
  Status PreCommit(int64_t checkpoint) override {
    if (!transactional_) return Flush();
    if (!current_.records.empty()) {
      current_.epoch = checkpoint;
      pending_.push_back(std::make_shared<EpochRecords>(std::move(current_)));
      // The next epoch fills the buffers of the last committed one (no page faults of fresh
      // memory for every epoch), or new ones.
      current_ = std::move(spare_);
      spare_ = EpochRecords();
      current_.bytes.clear();
      current_.records.clear();
    }
    return Status::Ok();
  }

  Status Snapshot(int64_t checkpoint, runtime::StateWriter& state) override {
    if (!transactional_) return Status::Ok();
    // The checkpoint reads the pending epochs where they are (they do not change until their
    // commit, after the checkpoint is complete).
    std::shared_ptr<const void> owner;
    std::vector<std::string_view> parts = PendingParts(pending_, &owner);
    state.PutParts(kPendingPiece, std::move(parts), std::move(owner), /*bulk=*/true);
    return Status::Ok();
  }

  Status Commit(int64_t checkpoint) override {
    if (!transactional_) return Status::Ok();
    size_t done = 0;
    while (done < pending_.size() && pending_[done]->epoch <= checkpoint) ++done;
    if (done == 0) return Status::Ok();
    std::vector<EpochPtr> epochs(std::make_move_iterator(pending_.begin()),
                                 std::make_move_iterator(pending_.begin() + done));
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done));
    Status st = CommitEpochs(*producer_, TransactionalId(subtask_), epochs, checkpoint);
    // Committed or aborted: librdkafka holds no reference to the records any more. The buffers
    // are reused only when no checkpoint still reads them (the runtime drops a checkpoint's
    // pieces before it completes; the fence pairs with the owner's release of its reference).
    EpochRecords& last = *epochs.back();
    if (st.ok() && epochs.back().use_count() == 1 &&
        last.bytes.capacity() > spare_.bytes.capacity()) {
      std::atomic_thread_fence(std::memory_order_acquire);
      spare_ = std::move(last);
    }
    return st;
  }

  // Finishes what the checkpoint's epochs left: for every previous subtask that this one takes
  // over (old index mod parallelism == this index), fences its producer and writes again the
  // epochs whose transaction did not commit.
  Status Restore(runtime::StateReader& state) override {
    if (!transactional_) return Status::Ok();
    std::unordered_map<int32_t, std::vector<EpochPtr>> by_subtask;
    auto corrupt = [&] {
      return Status::Io("{}: the Kafka sink state of checkpoint {} is corrupt", label_,
                        state.checkpoint());
    };
    SLUICE_ASSIGN_OR_RETURN(std::vector<std::optional<std::string_view>> pieces,
                            state.GetAllBytes(kPendingPiece));
    for (size_t old = 0; old < pieces.size(); ++old) {
      if (pieces[old] && !DecodePending(*pieces[old], &by_subtask[static_cast<int32_t>(old)])) {
        return corrupt();
      }
    }
    // Checkpoints of earlier releases: a batch of one row per epoch.
    for (const bool v2 : {false, true}) {
      SLUICE_ASSIGN_OR_RETURN(std::vector<batch::BatchPtr> batches,
                              state.GetBatches(v2 ? kPendingPieceV2 : kPendingPieceV3));
      const size_t record_size = v2 ? sizeof(EpochRecords::RecordV2) : sizeof(EpochRecords::Record);
      for (const batch::BatchPtr& b : batches) {
        if (b->columns.size() != 4) return corrupt();
        const auto* subtasks = b->columns[0]->raw<int32_t>();
        const auto* epochs = b->columns[1]->raw<int64_t>();
        for (int64_t i = 0; i < b->num_rows; ++i) {
          auto owned = std::make_shared<EpochRecords>();
          EpochRecords& e = *owned;
          e.epoch = epochs[i];
          e.bytes = std::string(b->columns[2]->GetString(i));
          std::string_view index = b->columns[3]->GetString(i);
          if (index.size() % record_size != 0) return corrupt();
          e.records.resize(index.size() / record_size);
          if (v2) {
            for (size_t k = 0; k < e.records.size(); ++k) {
              EpochRecords::RecordV2 old;
              std::memcpy(&old, index.data() + k * record_size, record_size);
              e.records[k] = {old.key_begin,   old.key_len, old.value_begin, old.value_len, 0, 0,
                              old.timestamp_ms};
            }
          } else {
            std::memcpy(e.records.data(), index.data(), index.size());
          }
          if (!RecordsWellFormed(e)) return corrupt();
          by_subtask[subtasks[i]].push_back(std::move(owned));
        }
      }
    }
    int previous = state.previous_parallelism();
    for (int old = subtask_; old < previous; old += parallelism_) {
      std::vector<EpochPtr>& epochs = by_subtask[old];
      if (old == subtask_) {
        SLUICE_RETURN_NOT_OK(Recommit(*producer_, TransactionalId(old), epochs));
        continue;
      }
      // Another subtask's id: its own producer fences it and writes what it left.
      SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<KafkaClient> p, MakeProducer(TransactionalId(old)));
      SLUICE_RETURN_NOT_OK(KafkaStatus(
          ErrorPtr(rd_kafka_init_transactions(p->get(), kTransactionTimeoutMs)),
          fmt::format("{}: fencing the transactions of '{}'", label_, TransactionalId(old))));
      SLUICE_RETURN_NOT_OK(Recommit(*p, TransactionalId(old), epochs));
    }
    return Status::Ok();
  }

  Status Close() override {
    producer_.reset();
    return Status::Ok();
  }

 private:
  std::string TransactionalId(int subtask) const {
    return fmt::format("{}-{}", options_.transactional_id_prefix, subtask);
  }

  Result<std::unique_ptr<KafkaClient>> MakeProducer(const std::string& transactional_id) {
    std::map<std::string, std::string> settings = options_.client_configs;
    settings["bootstrap.servers"] = options_.bootstrap_servers;
    settings["enable.idempotence"] = "true";
    settings["client.id"] = fmt::format("sluice-{}-{}", spec_.table_name, subtask_);
    if (!settings.count("linger.ms")) settings["linger.ms"] = "5";
    if (!transactional_id.empty()) {
      settings["transactional.id"] = transactional_id;
      if (!settings.count("transaction.timeout.ms")) settings["transaction.timeout.ms"] = "60000";
    }
    return KafkaClient::Make(ClientKind::kProducer, settings, label_, [this](rd_kafka_conf_t* c) {
      rd_kafka_conf_set_opaque(c, this);
      rd_kafka_conf_set_dr_msg_cb(c, &KafkaSink::OnDelivery);
    });
  }

  // librdkafka calls this from rd_kafka_poll/flush, on the task's thread.
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    auto* self = static_cast<KafkaSink*>(opaque);
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && self->delivery_error_.ok()) {
      self->delivery_error_ =
          KafkaStatus(m->err, fmt::format("{}: writing a record of {} bytes to topic '{}'",
                                          self->label_, m->len, self->options_.topic));
    }
  }

  Status DeliveryStatus() {
    Status st = delivery_error_;
    delivery_error_ = Status::Ok();
    return st;
  }

  Status Flush() {
    rd_kafka_resp_err_t err = rd_kafka_flush(producer_->get(), kFlushTimeoutMs);
    if (err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
      return Status::Io("{}: the Kafka brokers '{}' did not acknowledge the records within {} s",
                        label_, options_.bootstrap_servers, kFlushTimeoutMs / 1000);
    }
    return DeliveryStatus();
  }

  Status MakeEncoder(const types::Schema& schema) {
    // raw_string and raw_bytes: the column's bytes are the record's value.
    const bool bytes = spec_.format.format == "raw_bytes";
    raw_ = bytes || spec_.format.format == "raw_string";
    if (!raw_) {
      SLUICE_ASSIGN_OR_RETURN(encoder_, formats::MakeEncoder(spec_.format, schema));
    }
    const types::TypeId raw_type = bytes ? types::TypeId::kBinary : types::TypeId::kUtf8;
    if (raw_ && (schema.size() != 1 || schema.field(0).type.id() != raw_type)) {
      return Status::User("{}: format '{}' writes exactly one {} column, not {}", label_,
                          spec_.format.format, bytes ? "BYTEA" : "TEXT", schema.ToString());
    }
    auto find = [&](const std::string& option, const std::string& name) -> Result<int> {
      if (name.empty()) return -1;
      auto i = schema.Find(name);
      if (!i) {
        return Status::User("{}: option '{}' names column '{}', which the rows ({}) do not have",
                            label_, option, name, schema.ToString());
      }
      return static_cast<int>(*i);
    };
    SLUICE_ASSIGN_OR_RETURN(key_column_, find("sink.key_field", options_.key_field));
    SLUICE_ASSIGN_OR_RETURN(time_column_, find("sink.timestamp_field", options_.timestamp_field));
    if (key_column_ >= 0) {
      types::TypeId t = schema.field(static_cast<size_t>(key_column_)).type.id();
      if (t != types::TypeId::kUtf8 && t != types::TypeId::kInt32 && t != types::TypeId::kInt64) {
        return Status::NotSupported(
            "{}: sink.key_field column '{}' is {}; keys from TEXT, INT and BIGINT columns are "
            "supported (cast it to TEXT)",
            label_, options_.key_field,
            schema.field(static_cast<size_t>(key_column_)).type.ToString());
      }
    }
    if (time_column_ >= 0 &&
        schema.field(static_cast<size_t>(time_column_)).type.id() != types::TypeId::kTimestamp) {
      return Status::User("{}: sink.timestamp_field column '{}' must be a TIMESTAMP", label_,
                          options_.timestamp_field);
    }
    SLUICE_ASSIGN_OR_RETURN(headers_column_, find("sink.headers_field", options_.headers_field));
    if (headers_column_ >= 0) SLUICE_RETURN_NOT_OK(CheckHeadersType(schema));
    return Status::Ok();
  }

  // The headers column is JSON (objects) or a struct of TEXT, JSON and BYTEA fields.
  Status CheckHeadersType(const types::Schema& schema) {
    const types::DataType& t = schema.field(static_cast<size_t>(headers_column_)).type;
    if (t.id() == types::TypeId::kJson) return Status::Ok();
    if (t.id() == types::TypeId::kStruct) {
      for (const types::Field& f : t.fields()) {
        const types::TypeId id = f.type.id();
        if (id != types::TypeId::kUtf8 && id != types::TypeId::kJson &&
            id != types::TypeId::kBinary) {
          return Status::User(
              "{}: sink.headers_field column '{}' has field '{}' of type {}; header values are "
              "TEXT, JSON or BYTEA (cast the field to TEXT)",
              label_, options_.headers_field, f.name, f.type.ToString());
        }
      }
      return Status::Ok();
    }
    return Status::User(
        "{}: sink.headers_field column '{}' is {}; it must be JSON (an object of header names and "
        "values, e.g. the headers metadata column of a Kafka source or CAST(x AS JSON)) or a "
        "STRUCT of TEXT, JSON or BYTEA fields (e.g. CAST(ROW(a, b) AS STRUCT<trace TEXT, origin "
        "TEXT>))",
        label_, options_.headers_field, t.ToString());
    return Status::Ok();
  }

  static void AddRecord(EpochRecords& e, std::optional<std::string_view> key,
                        std::string_view value, std::string_view headers, int64_t timestamp_ms) {
    EpochRecords::Record r;
    if (key) {
      r.key_begin = static_cast<uint32_t>(e.bytes.size());
      r.key_len = static_cast<uint32_t>(key->size());
      e.bytes.append(*key);
    }
    r.value_begin = static_cast<uint32_t>(e.bytes.size());
    r.value_len = static_cast<uint32_t>(value.size());
    e.bytes.append(value);
    r.headers_begin = static_cast<uint32_t>(e.bytes.size());
    r.headers_len = static_cast<uint32_t>(headers.size());
    e.bytes.append(headers);
    r.timestamp_ms = timestamp_ms;
    e.records.push_back(r);
  }

  static void AppendU32(uint32_t v, std::string* out) {
    out->append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  static void AppendHeader(std::string_view name, std::optional<std::string_view> value,
                           std::string* out) {
    AppendU32(static_cast<uint32_t>(name.size()), out);
    out->append(name);
    AppendU32(value ? static_cast<uint32_t>(value->size()) : kNoKey, out);
    if (value) out->append(*value);
  }

  // The header entries of row `row` into headers_: a JSON object's members in order (a string's
  // text, null: a header without value, other values as JSON text), or a struct's fields (NULL:
  // a header without value). A NULL column: no headers.
  Status RowHeaders(const batch::Column& c, int64_t row) {
    headers_.clear();
    if (!c.IsValid(row)) return Status::Ok();
    if (c.type.id() == types::TypeId::kStruct) {
      const auto& fields = c.type.fields();
      for (size_t f = 0; f < fields.size(); ++f) {
        const batch::Column& child = *c.children[f];
        if (child.IsValid(row)) {
          AppendHeader(fields[f].name, child.GetString(row), &headers_);
        } else {
          AppendHeader(fields[f].name, std::nullopt, &headers_);
        }
      }
      return Status::Ok();
    }
    const std::string_view text = c.GetString(row);
    simdjson::dom::element doc;
    simdjson::dom::object object;
    if (json_parser_.parse(text.data(), text.size()).get(doc) != simdjson::SUCCESS ||
        doc.get_object().get(object) != simdjson::SUCCESS) {
      return Status::User(
          "{}: sink.headers_field column '{}' holds {}, not a JSON object of header names and "
          "values (e.g. {{\"trace\": \"abc\"}})",
          label_, options_.headers_field,
          text.size() > 80 ? std::string(text.substr(0, 80)) + "..." : std::string(text));
    }
    for (auto [name, value] : object) {
      switch (value.type()) {
        case simdjson::dom::element_type::STRING:
          AppendHeader(name, std::string_view(value.get_string().value_unsafe()), &headers_);
          break;
        case simdjson::dom::element_type::NULL_VALUE:
          AppendHeader(name, std::nullopt, &headers_);
          break;
        default:
          header_text_ = simdjson::minify(value);
          AppendHeader(name, header_text_, &headers_);
      }
    }
    return Status::Ok();
  }

  // Encodes the batch's records into current_. A debezium_json update (an update-before row
  // followed by its update-after row) is one record, keyed and timed by its new row.
  Status Append(const batch::Batch& b) {
    lines_.clear();
    spans_.clear();
    if (!raw_) SLUICE_RETURN_NOT_OK(encoder_->EncodeRecords(b, &lines_, &spans_));
    const int8_t* kinds = b.change_kind ? b.change_kind->raw<int8_t>() : nullptr;
    const bool debezium = spec_.format.format == "debezium_json";
    size_t next_span = 0;
    std::string key_text;
    for (int64_t i = 0; i < b.num_rows; ++i) {
      int64_t row = i;  // the row that keys and times the record
      if (debezium && kinds && kinds[i] == static_cast<int8_t>(batch::ChangeKind::kUpdateBefore) &&
          i + 1 < b.num_rows &&
          kinds[i + 1] == static_cast<int8_t>(batch::ChangeKind::kUpdateAfter)) {
        row = ++i;
      }
      std::string_view value;
      if (raw_) {
        value = b.columns[0]->IsValid(row) ? b.columns[0]->GetString(row) : std::string_view();
      } else {
        if (next_span >= spans_.size()) {
          return Status::Internal("{}: the encoder wrote fewer records than rows", label_);
        }
        const auto [begin, end] = spans_[next_span++];
        value = std::string_view(lines_).substr(begin, end - begin);
      }
      std::optional<std::string_view> key;
      if (key_column_ >= 0 && b.columns[static_cast<size_t>(key_column_)]->IsValid(row)) {
        const batch::Column& c = *b.columns[static_cast<size_t>(key_column_)];
        switch (c.type.id()) {
          case types::TypeId::kInt32:
            key_text = std::to_string(c.raw<int32_t>()[row]);
            key = key_text;
            break;
          case types::TypeId::kInt64:
            key_text = std::to_string(c.raw<int64_t>()[row]);
            key = key_text;
            break;
          default:
            key = c.GetString(row);
        }
      }
      int64_t ts = -1;
      if (time_column_ >= 0 && b.columns[static_cast<size_t>(time_column_)]->IsValid(row)) {
        int64_t micros = b.columns[static_cast<size_t>(time_column_)]->raw<int64_t>()[row];
        ts = micros >= 0 ? micros / 1000 : -1;
      }
      if (headers_column_ >= 0) {
        SLUICE_RETURN_NOT_OK(RowHeaders(*b.columns[static_cast<size_t>(headers_column_)], row));
      }
      AddRecord(current_, key, value, headers_, ts);
    }
    if (current_.bytes.size() > kMaxEpochBytes) {
      return Status::User(
          "{}: more than {} GB of records in one checkpoint interval; exactly_once keeps an "
          "interval's records until its checkpoint completes: shorten --checkpoint-interval",
          label_, kMaxEpochBytes >> 30);
    }
    return Status::Ok();
  }

  // Hands every record to the producer (waiting while its queue is full); it copies them.
  Status ProduceAll(const EpochRecords& e) {
    return ProduceWith(producer_->get(), e, RD_KAFKA_MSG_F_COPY);
  }

  // `flags` 0: librdkafka references the records' bytes until they are delivered, which the
  // caller guarantees by keeping `e` until the transaction is committed or aborted (both wait
  // for, or purge, every record in flight).
  Status ProduceWith(rd_kafka_t* rk, const EpochRecords& e, int flags) {
    for (const EpochRecords::Record& r : e.records) {
      while (true) {
        char* base = const_cast<char*>(e.bytes.data());  // never changed by librdkafka
        char* value = base + r.value_begin;
        const void* key = r.key_len == kNoKey ? nullptr : base + r.key_begin;
        size_t key_len = r.key_len == kNoKey ? 0 : r.key_len;
        int64_t timestamp = r.timestamp_ms >= 0 ? r.timestamp_ms : 0;  // 0: the time of writing
        // On success the record owns the headers; otherwise they are still ours.
        HeadersPtr headers = MakeHeaders(std::string_view(base + r.headers_begin, r.headers_len));
        rd_kafka_resp_err_t err = rd_kafka_producev(
            rk, RD_KAFKA_V_TOPIC(options_.topic.c_str()), RD_KAFKA_V_VALUE(value, r.value_len),
            RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_TIMESTAMP(timestamp),
            RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_MSGFLAGS(flags), RD_KAFKA_V_END);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          static_cast<void>(headers.release());
          break;
        }
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
          rd_kafka_poll(rk, 10);
          continue;
        }
        if (err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
          return Status::User(
              "{}: a record of {} bytes is larger than the producer's limit (message.max.bytes; "
              "raise it in client_configs and the topic's max.message.bytes)",
              label_, r.value_len + (r.key_len == kNoKey ? 0 : r.key_len));
        }
        return KafkaStatus(err, fmt::format("{}: writing to topic '{}'", label_, options_.topic));
      }
    }
    return Status::Ok();
  }

  // The headers of a record from its entries; null when it has none (producev then sends none).
  static HeadersPtr MakeHeaders(std::string_view entries) {
    if (entries.empty()) return nullptr;
    HeadersPtr h(rd_kafka_headers_new(8));
    size_t i = 0;
    while (i < entries.size()) {
      const uint32_t name_len = ReadU32(entries.data() + i);
      const char* name = entries.data() + i + 4;
      i += 4 + name_len;
      const uint32_t value_len = ReadU32(entries.data() + i);
      i += 4;
      const char* value = value_len == kNoKey ? nullptr : entries.data() + i;
      if (value) i += value_len;
      rd_kafka_header_add(h.get(), name, static_cast<ssize_t>(name_len), value,
                          value ? static_cast<ssize_t>(value_len) : 0);
    }
    return h;
  }

  // One transaction with the records of `epochs` and the marker `marker_epoch` of
  // `transactional_id` (the producer's id).
  Status CommitEpochs(KafkaClient& producer, const std::string& transactional_id,
                      const std::vector<EpochPtr>& epochs, int64_t marker_epoch) {
    rd_kafka_t* rk = producer.get();
    const std::string what = fmt::format("{}: transaction of checkpoint {} ('{}')", label_,
                                         marker_epoch, transactional_id);
    SLUICE_RETURN_NOT_OK(KafkaStatus(ErrorPtr(rd_kafka_begin_transaction(rk)), what));
    Status st;
    for (const EpochPtr& e : epochs) {
      st = ProduceWith(rk, *e, 0);
      if (!st.ok()) break;
    }
    if (st.ok()) {
      PartitionListPtr marker = MakePartitionList(options_.topic, {{0, marker_epoch}});
      rd_kafka_consumer_group_metadata_t* group =
          rd_kafka_consumer_group_metadata_new(MarkerGroup(transactional_id).c_str());
      st = KafkaStatus(ErrorPtr(rd_kafka_send_offsets_to_transaction(rk, marker.get(), group,
                                                                     kTransactionTimeoutMs)),
                       what);
      rd_kafka_consumer_group_metadata_destroy(group);
    }
    if (st.ok()) {
      // Records sent, not yet committed: the sink_commit fault point of each epoch written.
      for (const EpochPtr& e : epochs) fault::Hit(fault::kSinkCommit, e->epoch);
      fault::Hit(fault::kSinkCommit, marker_epoch);
      st = KafkaStatus(ErrorPtr(rd_kafka_commit_transaction(rk, kTransactionTimeoutMs)), what);
      // Committed in Kafka, not yet known to the pipeline: a restore must not write it again.
      if (st.ok()) fault::Hit(fault::kSinkCommitted, marker_epoch);
    }
    if (!st.ok()) {
      // The pipeline fails; a restart resumes from the checkpoint and writes the epoch again.
      rd_kafka_error_destroy(rd_kafka_abort_transaction(rk, kTransactionTimeoutMs));
      return st;
    }
    return DeliveryStatus();
  }

  // Writes again the epochs whose marker is missing (their transaction did not commit).
  Status Recommit(KafkaClient& producer, const std::string& transactional_id,
                  std::vector<EpochPtr>& epochs) {
    if (epochs.empty()) return Status::Ok();
    std::map<std::string, std::string> settings = options_.client_configs;
    settings["bootstrap.servers"] = options_.bootstrap_servers;
    settings["group.id"] = MarkerGroup(transactional_id);
    settings["isolation.level"] = "read_committed";
    SLUICE_ASSIGN_OR_RETURN(std::unique_ptr<KafkaClient> reader,
                            KafkaClient::Make(ClientKind::kConsumer, settings, label_));
    SLUICE_ASSIGN_OR_RETURN(std::vector<int64_t> committed,
                            reader->CommittedOffsets(options_.topic, {0}, kRequestTimeoutMs));
    const int64_t marker = committed.empty() ? -1 : committed[0];
    std::vector<EpochPtr> redo;
    for (EpochPtr& e : epochs) {
      if (e->epoch > marker) redo.push_back(std::move(e));
    }
    if (redo.empty()) return Status::Ok();
    return CommitEpochs(producer, transactional_id, redo, redo.back()->epoch);
  }

  static std::string MarkerGroup(const std::string& transactional_id) {
    return transactional_id + "-epochs";
  }

  TableSpec spec_;
  KafkaOptions options_;
  int subtask_;
  int parallelism_;
  std::string label_;
  bool transactional_ = false;
  bool raw_ = false;
  std::unique_ptr<formats::Encoder> encoder_;
  std::vector<std::pair<size_t, size_t>> spans_;  // each record's bytes in lines_
  int key_column_ = -1;
  int time_column_ = -1;
  int headers_column_ = -1;
  std::string headers_;      // the current row's header entries
  std::string header_text_;  // a non-string JSON header value as text
  simdjson::dom::parser json_parser_;
  std::unique_ptr<KafkaClient> producer_;
  Status delivery_error_;
  std::string lines_;
  EpochRecords current_;  // since the last barrier
  EpochRecords spare_;    // the buffers of a committed epoch, for the next one
  // exactly_once: pre-committed, in epoch order; shared with the checkpoints being written.
  std::vector<EpochPtr> pending_;
};

}  // namespace

Result<std::unique_ptr<runtime::Operator>> MakeKafkaSink(const TableSpec& spec,
                                                         const KafkaOptions& options, int subtask,
                                                         int parallelism) {
  return std::unique_ptr<runtime::Operator>(
      std::make_unique<KafkaSink>(spec, options, subtask, parallelism));
}

}  // namespace sluice::connectors::kafka
