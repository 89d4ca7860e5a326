// The base of the HTTP sources; see message_source.h.

#include "connectors/http/message_source.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include <fmt/format.h>

#include "common/time.h"
#include "connectors/decoded_rows.h"

namespace sluice::connectors::http {

namespace {

constexpr int64_t kIdlePollMicros = 2000;
constexpr const char* kPositionPiece = "position";

}  // namespace

bool Feed::Push(Message m) {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return queue_.size() < kMaxQueued || stop_.load(); });
  if (stop_.load()) return false;
  queue_.push_back(std::move(m));
  return true;
}

bool Feed::Sleep(int64_t micros) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::microseconds(micros), [&] { return stop_.load(); });
  return !stop_.load();
}

Reconnects::Reconnects(const SourceOptions& o) : o_(o), since_(Now().value) {}

void Reconnects::Connected() {
  ever_connected_ = true;
  since_ = Now().value;
  backoff_us_ = 100'000;
}

Status Reconnects::Failed(Feed& feed, const std::string& what, const std::string& why,
                          int64_t retry_us) {
  const int64_t limit = ever_connected_ ? o_.reconnect_timeout_us : o_.connect_timeout_us;
  const int64_t now = Now().value;
  if (now - since_ >= limit) {
    return Status::Io("cannot {}connect to {} at {} ({} {} s): {}", ever_connected_ ? "re" : "",
                      what, o_.endpoint.redacted,
                      ever_connected_ ? "reconnect.timeout" : "connect.timeout", limit / 1000000.0,
                      why);
  }
  int64_t wait = std::max(backoff_us_, retry_us);
  wait = std::min(wait, since_ + limit - now);
  backoff_us_ = std::min(backoff_us_ * 2, o_.backoff_max_us);
  feed.Sleep(wait);
  return Status::Ok();
}

MessageSource::MessageSource(const TableSpec& spec, std::string kind)
    : spec_(spec), kind_(std::move(kind)), label_(fmt::format("table '{}'", spec.table_name)) {}

MessageSource::~MessageSource() {
  StopReader();
}

Status MessageSource::Open(runtime::OperatorContext& ctx) {
  ctx_ = &ctx;
  schema_ = std::make_shared<const types::Schema>(spec_.schema);
  SLUICE_ASSIGN_OR_RETURN(decoder_, formats::MakeDecoder(spec_.format, spec_.schema, label_));
  return Status::Ok();
}

Status MessageSource::Restore(runtime::StateReader& state) {
  SLUICE_ASSIGN_OR_RETURN(position_, state.Get(kPositionPiece));
  return Status::Ok();
}

Status MessageSource::Snapshot(int64_t, runtime::StateWriter& state) {
  if (position_) state.Put(kPositionPiece, *position_);
  return Status::Ok();
}

Result<runtime::SourcePoll> MessageSource::Poll(runtime::Collector& out) {
  if (ctx_ && ctx_->stop_requested && ctx_->stop_requested->load()) {
    return runtime::SourcePoll::Finished();
  }
  if (!started_) {
    started_ = true;
    std::optional<std::string> start = position_;
    reader_ = std::thread([this, start] {
      Status st = RunReader(feed_, start);
      {
        std::lock_guard lock(result_mu_);
        reader_result_ = std::move(st);
      }
    });
  }
  std::deque<Message> taken;
  {
    std::lock_guard lock(feed_.mu_);
    const size_t n = std::min(feed_.queue_.size(), static_cast<size_t>(spec_.batch_rows));
    for (size_t i = 0; i < n; ++i) {
      taken.push_back(std::move(feed_.queue_.front()));
      feed_.queue_.pop_front();
    }
  }
  if (!taken.empty()) feed_.cv_.notify_all();
  const int64_t now = Now().value;
  for (Message& m : taken) {
    if (m.position) position_ = std::move(m.position);
    if (!m.has_payload) continue;
    const int64_t index = ++messages_;
    const int64_t before = decoder_->pending_rows();
    padded_.assign(m.payload);
    padded_.append(formats::kLinePadding, '\0');
    SLUICE_RETURN_NOT_OK(
        decoder_->AppendPadded(std::string_view(padded_.data(), m.payload.size()),
                               [&] { return fmt::format("{} {}", kind_, index); }));
    event_times_.insert(event_times_.end(), static_cast<size_t>(decoder_->pending_rows() - before),
                        now);
  }
  SLUICE_RETURN_NOT_OK(Emit(out));
  if (!taken.empty()) return runtime::SourcePoll::More();
  {
    std::lock_guard lock(result_mu_);
    if (reader_result_) {
      bool empty;
      {
        std::lock_guard qlock(feed_.mu_);
        empty = feed_.queue_.empty();
      }
      if (empty) {
        if (!reader_result_->ok()) {
          return Status(reader_result_->kind(),
                        fmt::format("{}: {}", label_, reader_result_->message()));
        }
        return runtime::SourcePoll::Finished();
      }
      return runtime::SourcePoll::More();
    }
  }
  return runtime::SourcePoll::WaitUntil(ProcessingTime{now + kIdlePollMicros});
}

Status MessageSource::Emit(runtime::Collector& out) {
  return EmitDecodedRows(*decoder_, schema_, &event_times_, &dropped_reported_, ctx_, out);
}

void MessageSource::StopReader() {
  {
    std::lock_guard lock(feed_.mu_);
    feed_.stop_.store(true);
  }
  feed_.cv_.notify_all();
  Interrupt();
  if (reader_.joinable()) reader_.join();
}

Status MessageSource::Close() {
  StopReader();
  return Status::Ok();
}

}  // namespace sluice::connectors::http
