// NATS source, core or JetStream; the payload of each message is decoded with the table's
// format, on the source task's thread, a batch at a time.
//
// JetStream (option `stream`): exactly-once into Sluice's state. The source creates a pull
// consumer of its own on the stream (a durable with a name unique to the run, removed by the
// server consumer.inactive_threshold after the pipeline stops) and fetches batches of messages.
// Its position is the stream sequence of the last message emitted; a checkpoint stores it, and a
// restore creates the consumer at the next sequence, so the rows after a restore are exactly
// those after the checkpoint. Once a checkpoint completes (Commit), the last message it covers
// is acknowledged (ack policy 'all': every message before it too), so a stream with interest or
// work-queue retention keeps every message a restore may need. Messages redelivered by the
// server (consumer.ack_wait passed before the checkpoint completed) have a sequence at or below
// the position and are skipped. The event time of a row is when the stream stored its message,
// so a replay gives the same times.
//
// Core NATS (option `subject`): at-most-once. Core NATS keeps nothing: the source receives what
// is published while it is subscribed, a restore reads what arrives after it, and messages
// published while the connection is lost are not seen. The event time is the wall clock when
// the message was read.
//
// Both run as one subtask (the factory enforces it). A lost connection is re-established by the
// client library; the pipeline fails when it stays lost for reconnect.timeout.

#include <nats/nats.h>

#include <cstring>
#include <map>
#include <random>

#include <fmt/format.h>

#include "connectors/decoded_rows.h"
#include "connectors/nats/nats_client.h"
#include "formats/format.h"

namespace sluice::connectors::nats {

namespace {

using runtime::SourcePoll;

constexpr int64_t kIdlePollMicros = 2000;
constexpr int64_t kPullExpiresMs = 1000;
constexpr int64_t kUnlimitedAcks = 1'000'000'000;
constexpr int kJsStreamNotFound = 10059;

std::string ConsumerName(const std::string& table, int subtask) {
  std::string name = "sluice_";
  for (char c : table) {
    name += (std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-') ? c : '_';
  }
  std::random_device rd;
  return fmt::format("{}_{}_{:08x}", name, subtask, rd());
}

class NatsSource : public runtime::SourceOperator {
 public:
  NatsSource(const TableSpec& spec, const NatsOptions& options, int subtask)
      : spec_(spec),
        options_(options),
        subtask_(subtask),
        label_(fmt::format("table '{}'", spec.table_name)) {}

  ~NatsSource() override { Release(); }

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    schema_ = std::make_shared<const types::Schema>(spec_.schema);
    SLUICE_ASSIGN_OR_RETURN(decoder_, formats::MakeDecoder(spec_.format, spec_.schema, label_));
    SLUICE_ASSIGN_OR_RETURN(conn_, NatsConnection::Connect(options_, label_));
    if (!options_.jetstream()) {
      natsStatus s = natsConnection_SubscribeSync(&sub_, conn_->get(), options_.subject.c_str());
      if (s == NATS_OK) s = natsSubscription_SetPendingLimits(sub_, 1 << 20, 512 << 20);
      if (s != NATS_OK) {
        return Status::Io("{}: cannot subscribe to NATS subject '{}': {}", label_, options_.subject,
                          NatsError(s));
      }
      // The subscription is registered with the server before the first poll.
      natsConnection_FlushTimeout(conn_->get(), 5000);
      return Status::Ok();
    }
    SLUICE_ASSIGN_OR_RETURN(js_, conn_->JetStream());
    jsStreamInfo* si = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetStreamInfo(&si, js_, options_.stream.c_str(), nullptr, &jerr);
    if (s != NATS_OK) {
      if (jerr == kJsStreamNotFound || s == NATS_NOT_FOUND) {
        return Status::User(
            "{}: JetStream stream '{}' does not exist on the NATS server at {} "
            "(create it, e.g. `nats stream add`)",
            label_, options_.stream, options_.ServersText());
      }
      return Status::Io("{}: cannot read JetStream stream '{}' on {}: {}", label_, options_.stream,
                        options_.ServersText(), NatsError(s));
    }
    jsStreamInfo_Destroy(si);
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, state.Get("position"));
    if (!bytes || !options_.jetstream()) return Status::Ok();
    uint64_t seq = 0;
    if (bytes->size() != sizeof(seq)) {
      return Status::Io("{}: the checkpoint's NATS position is malformed", label_);
    }
    std::memcpy(&seq, bytes->data(), sizeof(seq));
    position_ = seq;
    return Status::Ok();
  }

  Result<SourcePoll> Poll(runtime::Collector& out) override {
    if (ctx_ && ctx_->stop_requested && ctx_->stop_requested->load()) return SourcePoll::Finished();
    SLUICE_RETURN_NOT_OK(conn_->Health());
    int64_t taken = 0;
    if (options_.jetstream()) {
      SLUICE_ASSIGN_OR_RETURN(taken, PollJetStream());
    } else {
      SLUICE_ASSIGN_OR_RETURN(taken, PollCore());
    }
    SLUICE_RETURN_NOT_OK(Emit(out));
    if (taken == 0) return SourcePoll::WaitUntil(ProcessingTime{Now().value + kIdlePollMicros});
    return SourcePoll::More();
  }

  Status Snapshot(int64_t checkpoint, runtime::StateWriter& state) override {
    if (!options_.jetstream()) return Status::Ok();  // core NATS: no position
    uint64_t seq = position_;
    state.Put("position", std::string_view(reinterpret_cast<const char*>(&seq), sizeof(seq)));
    if (!last_reply_.empty()) {
      pending_acks_[checkpoint] = last_reply_;
      last_reply_.clear();
    }
    return Status::Ok();
  }

  // Acknowledges the last message of the newest completed checkpoint (ack policy 'all').
  Status Commit(int64_t checkpoint) override {
    auto end = pending_acks_.upper_bound(checkpoint);
    if (end == pending_acks_.begin()) return Status::Ok();
    const std::string& reply = std::prev(end)->second;
    // Advisory for the source (the checkpoint holds the position): a lost ack only keeps
    // messages on the server longer, so a failure is not the pipeline's.
    natsConnection_Publish(conn_->get(), reply.c_str(), "+ACK", 4);
    pending_acks_.erase(pending_acks_.begin(), end);
    return Status::Ok();
  }

  Status Close() override {
    Release();
    return Status::Ok();
  }

 private:
  void Release() {
    if (sub_ != nullptr) {
      natsSubscription_Destroy(sub_);
      sub_ = nullptr;
    }
    conn_.reset();
    js_ = nullptr;
  }

  Result<int64_t> PollCore() {
    int64_t taken = 0;
    while (decoder_->pending_rows() < spec_.batch_rows && taken < spec_.batch_rows) {
      natsMsg* msg = nullptr;
      natsStatus s = natsSubscription_NextMsg(&msg, sub_, 0);
      if (s == NATS_TIMEOUT) break;
      if (s == NATS_SLOW_CONSUMER) continue;  // messages dropped: at-most-once
      if (s != NATS_OK) {
        if (!conn_->connected()) break;  // reconnecting: Health() decides
        return Status::Io("{}: reading NATS subject '{}': {}", label_, options_.subject,
                          NatsError(s));
      }
      ++taken;
      Status st = Decode(msg, Now().value, 0);
      natsMsg_Destroy(msg);
      SLUICE_RETURN_NOT_OK(st);
    }
    return taken;
  }

  // Creates the consumer at the position and subscribes to the inbox its messages come to.
  Status CreateConsumer() {
    if (sub_ != nullptr) {
      natsSubscription_Destroy(sub_);
      sub_ = nullptr;
    }
    request_open_ = false;
    consumer_ = ConsumerName(spec_.table_name, subtask_);
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Durable = consumer_.c_str();
    cc.Name = consumer_.c_str();
    if (!options_.description.empty()) cc.Description = options_.description.c_str();
    if (position_ > 0) {
      cc.DeliverPolicy = js_DeliverByStartSequence;
      cc.OptStartSeq = position_ + 1;
    } else {
      cc.DeliverPolicy = js_DeliverAll;
    }
    cc.AckPolicy = js_AckAll;
    cc.AckWait = options_.ack_wait_s * 1'000'000'000;
    cc.MaxDeliver = options_.max_deliver;
    // The library leaves -1 out of the request and the server would take its default (1000):
    // the source acknowledges only at checkpoints, so "unlimited" is asked for as a number.
    cc.MaxAckPending = options_.max_ack_pending > 0 ? options_.max_ack_pending : kUnlimitedAcks;
    cc.ReplayPolicy = options_.replay_original ? js_ReplayOriginal : js_ReplayInstant;
    cc.InactiveThreshold = options_.inactive_threshold_s * 1'000'000'000;
    if (!options_.filter_subject.empty()) cc.FilterSubject = options_.filter_subject.c_str();
    jsConsumerInfo* ci = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_AddConsumer(&ci, js_, options_.stream.c_str(), &cc, nullptr, &jerr);
    if (s != NATS_OK) {
      return Status::Io("{}: cannot create a consumer on JetStream stream '{}' at {}: {}", label_,
                        options_.stream, options_.ServersText(), NatsError(s));
    }
    jsConsumerInfo_Destroy(ci);
    inbox_ = fmt::format("_INBOX.sluice.{}", consumer_);
    next_subject_ = fmt::format("$JS.API.CONSUMER.MSG.NEXT.{}.{}", options_.stream, consumer_);
    s = natsConnection_SubscribeSync(&sub_, conn_->get(), inbox_.c_str());
    if (s == NATS_OK) s = natsSubscription_SetPendingLimits(sub_, -1, -1);
    if (s != NATS_OK) {
      return Status::Io("{}: cannot subscribe to the consumer of JetStream stream '{}': {}", label_,
                        options_.stream, NatsError(s));
    }
    return Status::Ok();
  }

  // Pulls without blocking: one pull request (max_batch messages, expiring after
  // kPullExpiresMs) is open at a time; its messages arrive in the inbox and are taken here, and
  // a status message (no messages, request expired) or the last message ends it. The
  // library's own fetch is not used: cnats 3.4's natsSubscription_Fetch writes past its array
  // when a previous request's messages arrive late.
  Result<int64_t> PollJetStream() {
    if (sub_ == nullptr) SLUICE_RETURN_NOT_OK(CreateConsumer());
    const int64_t now = Now().value;
    if (request_open_ && now - request_at_us_ > (kPullExpiresMs + 5000) * 1000) {
      request_open_ = false;  // lost (the connection dropped): ask again
    }
    if (!request_open_ && conn_->connected()) {
      const std::string body = fmt::format(R"({{"batch":{},"expires":{}}})", options_.max_batch,
                                           kPullExpiresMs * 1'000'000);
      natsStatus s =
          natsConnection_PublishRequest(conn_->get(), next_subject_.c_str(), inbox_.c_str(),
                                        body.data(), static_cast<int>(body.size()));
      if (s == NATS_OK) {
        request_open_ = true;
        request_at_us_ = now;
        request_left_ = options_.max_batch;
      }
    }
    int64_t taken = 0;
    const int64_t room = spec_.batch_rows;
    natsMsg* last = nullptr;
    Status st;
    while (st.ok() && taken < room) {
      natsMsg* msg = nullptr;
      natsStatus s = natsSubscription_NextMsg(&msg, sub_, 0);
      if (s != NATS_OK) break;
      const char* reply = natsMsg_GetReply(msg);
      std::optional<JsAckInfo> info = reply == nullptr ? std::nullopt : ParseJsAckSubject(reply);
      if (!info) {
        SLUICE_RETURN_NOT_OK(OnStatus(msg));
        natsMsg_Destroy(msg);
        continue;
      }
      ++taken;
      if (--request_left_ <= 0) request_open_ = false;
      if (info->stream_seq > position_) {  // else redelivered: emitted before
        st = Decode(msg, info->timestamp_ns / 1000, info->stream_seq);
        position_ = info->stream_seq;
        if (last != nullptr) natsMsg_Destroy(last);
        last = msg;
        continue;
      }
      natsMsg_Destroy(msg);
    }
    if (last != nullptr) {
      last_reply_ = natsMsg_GetReply(last);
      natsMsg_Destroy(last);
      // Without checkpoints nothing waits for a checkpoint: acknowledge as read.
      if (ctx_ == nullptr || !ctx_->checkpointing) {
        natsConnection_Publish(conn_->get(), last_reply_.c_str(), "+ACK", 4);
        last_reply_.clear();
      }
    }
    SLUICE_RETURN_NOT_OK(st);
    return taken;
  }

  // A status message on the inbox: the end of the open pull request (404 no messages, 408
  // request expired, 409 limits), or no consumer to answer (503): create it again.
  Status OnStatus(natsMsg* msg) {
    const char* code = nullptr;
    natsMsgHeader_Get(msg, "Status", &code);
    request_open_ = false;
    if (code != nullptr && std::string_view(code) == "503") {
      const int64_t now = Now().value;
      if (now - last_recreate_us_ < 1'000'000) return Status::Ok();
      last_recreate_us_ = now;
      return CreateConsumer();
    }
    return Status::Ok();
  }

  // `seq`: the JetStream stream sequence, 0 for core NATS.
  Status Decode(natsMsg* msg, int64_t event_time, uint64_t seq) {
    const int len = natsMsg_GetDataLength(msg);
    const char* data = natsMsg_GetData(msg);
    padded_.assign(data == nullptr ? "" : data, static_cast<size_t>(len));
    padded_.append(formats::kLinePadding, '\0');
    const int64_t before = decoder_->pending_rows();
    SLUICE_RETURN_NOT_OK(
        decoder_->AppendPadded(std::string_view(padded_.data(), static_cast<size_t>(len)), [&] {
          if (seq == 0) return fmt::format("NATS subject '{}'", natsMsg_GetSubject(msg));
          return fmt::format("JetStream stream '{}' sequence {} (subject '{}')", options_.stream,
                             seq, natsMsg_GetSubject(msg));
        }));
    event_times_.insert(event_times_.end(), static_cast<size_t>(decoder_->pending_rows() - before),
                        event_time);
    return Status::Ok();
  }

  Status Emit(runtime::Collector& out) {
    return EmitDecodedRows(*decoder_, schema_, &event_times_, &dropped_reported_, ctx_, out);
  }

  TableSpec spec_;
  NatsOptions options_;
  int subtask_;
  std::string label_;
  types::SchemaPtr schema_;
  std::unique_ptr<formats::Decoder> decoder_;
  std::unique_ptr<NatsConnection> conn_;
  jsCtx* js_ = nullptr;  // owned by conn_
  natsSubscription* sub_ = nullptr;
  std::string consumer_;
  uint64_t position_ = 0;   // JetStream: stream sequence of the last message emitted
  std::string last_reply_;  // its ack subject, when not yet covered by a snapshot
  std::map<int64_t, std::string> pending_acks_;  // checkpoint -> ack subject of its last message
  int64_t last_recreate_us_ = 0;
  std::string inbox_;         // where the consumer's messages come
  std::string next_subject_;  // where pull requests go
  bool request_open_ = false;
  int64_t request_at_us_ = 0;
  int64_t request_left_ = 0;
  std::string padded_;
  std::vector<int64_t> event_times_;
  int64_t dropped_reported_ = 0;
};

}  // namespace

std::unique_ptr<runtime::SourceOperator> MakeNatsSource(const TableSpec& spec,
                                                        const NatsOptions& options, int subtask) {
  return std::make_unique<NatsSource>(spec, options, subtask);
}

}  // namespace sluice::connectors::nats
