// sse source: reads a Server-Sent Events stream (the text/event-stream format of the HTML
// standard) with libcurl on the reader thread. Each event's data (its data lines joined with
// '\n') is one record for the table's format; `events` keeps only events of those types.
//
// Reconnects: when the stream ends or fails, the reader reconnects after the backoff (or the
// server's `retry:` delay), sending `Last-Event-ID` with the last id the stream gave. HTTP 204
// ends the stream (the source finishes); another 4xx answer (but 408 and 429) fails the pipeline.
//
// Delivery: the id of the last event emitted is in each checkpoint; a restore reconnects with it
// as Last-Event-ID, so a server that resumes after that id gives exactly-once into Sluice's
// state (a server without ids gives at-most-once). The event time is the wall clock at reading.

#include <curl/curl.h>

#include <algorithm>

#include <fmt/format.h>

#include "common/time.h"
#include "connectors/http/message_source.h"

namespace sluice::connectors::http {

namespace {

class SseSource : public MessageSource {
 public:
  SseSource(const TableSpec& spec, const SseOptions& options)
      : MessageSource(spec, "sse event"), o_(options) {}
  ~SseSource() override { StopReader(); }

 protected:
  Status RunReader(Feed& feed, const std::optional<std::string>& position) override {
    feed_ = &feed;
    if (position) last_id_ = *position;
    Reconnects reconnects(o_);
    while (!feed.stopping()) {
      ResetParser();
      got_bytes_ = false;
      CURL* c = curl_easy_init();
      if (c == nullptr) return Status::Io("cannot create an HTTP client (curl_easy_init)");
      curl_slist* headers = nullptr;
      headers = curl_slist_append(headers, "Accept: text/event-stream");
      headers = curl_slist_append(headers, "Cache-Control: no-cache");
      for (const auto& [k, v] : o_.headers) {
        headers = curl_slist_append(headers, fmt::format("{}: {}", k, v).c_str());
      }
      if (!last_id_.empty()) {
        headers = curl_slist_append(headers, fmt::format("Last-Event-ID: {}", last_id_).c_str());
      }
      curl_ = c;
      request_start_ = Now().value;
      no_answer_ = false;
      char error[CURL_ERROR_SIZE] = {0};
      curl_easy_setopt(c, CURLOPT_URL, o_.endpoint.url.c_str());
      curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
      curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
      curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
      curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
      curl_easy_setopt(
          c, CURLOPT_CONNECTTIMEOUT_MS,
          static_cast<long>(std::clamp<int64_t>(o_.connect_timeout_us / 1000, 1, 30000)));
      curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &SseSource::OnData);
      curl_easy_setopt(c, CURLOPT_WRITEDATA, this);
      curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
      curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &SseSource::OnProgress);
      curl_easy_setopt(c, CURLOPT_XFERINFODATA, this);
      const CURLcode rc = curl_easy_perform(c);
      long status = 0;
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
      curl_easy_cleanup(c);
      curl_slist_free_all(headers);
      if (feed.stopping()) return Status::Ok();
      if (status == 204) return Status::Ok();  // the server ends the stream
      if (status >= 400 && status < 500 && status != 408 && status != 429) {
        return Status::Io("the SSE endpoint {} answered HTTP {}{}", o_.endpoint.redacted, status,
                          status == 401 || status == 403 ? " (check option 'headers')" : "");
      }
      std::string why;
      if (no_answer_) {
        why = fmt::format("no answer within connect.timeout ({} s)",
                          o_.connect_timeout_us / 1000000.0);
      } else if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR) {
        why = error[0] ? error : curl_easy_strerror(rc);
      } else if (status != 200) {
        why = fmt::format("HTTP {}", status);
      } else {
        why = "the server closed the stream";
      }
      if (status == 200 && (got_bytes_ || rc == CURLE_OK)) reconnects.Connected();
      SLUICE_RETURN_NOT_OK(reconnects.Failed(feed, "the SSE endpoint", why, retry_us_));
    }
    return Status::Ok();
  }

 private:
  static size_t OnData(char* data, size_t size, size_t n, void* self) {
    auto* s = static_cast<SseSource*>(self);
    long status = 0;
    curl_easy_getinfo(s->curl_, CURLINFO_RESPONSE_CODE, &status);
    // Only a 200 answer carries events; the body of an error answer is not parsed.
    if (status != 200) return size * n;
    return s->Parse(std::string_view(data, size * n)) ? size * n : 0;
  }

  // Stops the request when the source closes, and when the server accepted the connection but
  // sent no answer within connect.timeout (a hung server is an outage, not a quiet stream).
  static int OnProgress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    auto* s = static_cast<SseSource*>(self);
    if (s->feed_->stopping()) return 1;
    long status = 0;
    curl_easy_getinfo(s->curl_, CURLINFO_RESPONSE_CODE, &status);
    if (status == 0 && Now().value - s->request_start_ > s->o_.connect_timeout_us) {
      s->no_answer_ = true;
      return 1;
    }
    return 0;
  }

  void ResetParser() {
    line_.clear();
    data_.clear();
    event_.clear();
    skip_lf_ = false;
    bom_checked_ = false;
  }

  // Splits lines (CRLF, LF or CR) and handles each; false when the source is closing.
  bool Parse(std::string_view chunk) {
    got_bytes_ = true;
    for (size_t i = 0; i < chunk.size(); ++i) {
      char ch = chunk[i];
      if (skip_lf_) {
        skip_lf_ = false;
        if (ch == '\n') continue;
      }
      if (ch == '\r' || ch == '\n') {
        skip_lf_ = ch == '\r';
        if (!Line()) return false;
        line_.clear();
        continue;
      }
      line_.push_back(ch);
    }
    return true;
  }

  bool Line() {
    if (!bom_checked_) {
      bom_checked_ = true;
      if (line_.rfind("\xEF\xBB\xBF", 0) == 0) line_.erase(0, 3);
    }
    if (line_.empty()) return Dispatch();
    if (line_[0] == ':') return true;  // comment (keep-alive)
    size_t colon = line_.find(':');
    std::string_view field = std::string_view(line_).substr(0, colon);
    std::string_view value;
    if (colon != std::string::npos) {
      value = std::string_view(line_).substr(colon + 1);
      if (!value.empty() && value[0] == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
      data_.append(value);
      data_.push_back('\n');
    } else if (field == "event") {
      event_.assign(value);
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) pending_id_.assign(value);
      id_seen_ = true;
    } else if (field == "retry") {
      if (!value.empty() &&
          std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        retry_us_ = std::min<int64_t>(std::stoll(std::string(value.substr(0, 12))), 3600000) * 1000;
      }
    }
    return true;
  }

  bool Dispatch() {
    const bool id_changed = id_seen_ && pending_id_ != last_id_;
    if (id_seen_) last_id_ = pending_id_;
    id_seen_ = false;
    Message m;
    m.position = last_id_;
    if (data_.empty()) {
      event_.clear();
      m.has_payload = false;
      return id_changed ? feed_->Push(std::move(m)) : true;
    }
    data_.pop_back();  // the last '\n'
    const std::string type = event_.empty() ? "message" : event_;
    event_.clear();
    if (!o_.events.empty() &&
        std::find(o_.events.begin(), o_.events.end(), type) == o_.events.end()) {
      data_.clear();
      m.has_payload = false;
      return id_changed ? feed_->Push(std::move(m)) : true;
    }
    m.payload = std::move(data_);
    data_.clear();
    return feed_->Push(std::move(m));
  }

  SseOptions o_;
  Feed* feed_ = nullptr;
  CURL* curl_ = nullptr;  // the current request (reader thread)
  int64_t request_start_ = 0;
  bool no_answer_ = false;
  std::string line_, data_, event_;
  std::string last_id_;     // the stream's last event id
  std::string pending_id_;  // id: of the event being read
  bool id_seen_ = false;
  bool skip_lf_ = false;
  bool bom_checked_ = false;
  bool got_bytes_ = false;
  int64_t retry_us_ = 0;
};

}  // namespace

std::unique_ptr<runtime::SourceOperator> MakeSseSource(const TableSpec& spec,
                                                       const SseOptions& options) {
  return std::make_unique<SseSource>(spec, options);
}

}  // namespace sluice::connectors::http
