// polling_http source: requests the endpoint every poll_interval_ms (method, headers, body) with
// libcurl on the reader thread; each successful (2xx) response body is one record for the
// table's format. With emit_behavior = 'changed' a body equal to the previous one is skipped.
//
// Errors: a failed request (connection error, timeout, HTTP 408, 429 or 5xx) is retried with
// backoff; no success within connect.timeout at start or reconnect.timeout later fails the
// pipeline, as does any other 4xx answer at once.
//
// Delivery: each poll reads the endpoint's state now, so there is nothing to replay; a restore
// polls again (at-most-once of the responses between the checkpoint and the failure). With
// 'changed', the last body emitted is in the checkpoint, so a restored source does not emit it
// again when it has not changed. The event time is the wall clock when the response arrived.

#include <curl/curl.h>

#include <algorithm>

#include <fmt/format.h>

#include "common/time.h"
#include "connectors/http/message_source.h"

namespace sluice::connectors::http {

namespace {

constexpr size_t kMaxBody = 64 << 20;

class PollingSource : public MessageSource {
 public:
  PollingSource(const TableSpec& spec, const PollingOptions& options)
      : MessageSource(spec, "polling_http response"), o_(options) {}
  ~PollingSource() override { StopReader(); }

 protected:
  Status RunReader(Feed& feed, const std::optional<std::string>& position) override {
    feed_ = &feed;
    std::optional<std::string> last = o_.emit_changed_only ? position : std::nullopt;
    Reconnects reconnects(o_);
    CURL* c = curl_easy_init();
    if (c == nullptr) return Status::Io("cannot create an HTTP client (curl_easy_init)");
    curl_slist* headers = nullptr;
    for (const auto& [k, v] : o_.headers) {
      headers = curl_slist_append(headers, fmt::format("{}: {}", k, v).c_str());
    }
    char error[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(c, CURLOPT_URL, o_.endpoint.url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, o_.method.c_str());
    if (!o_.body.empty() || o_.method != "GET") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, o_.body.c_str());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(o_.body.size()));
    }
    curl_easy_setopt(
        c, CURLOPT_CONNECTTIMEOUT_MS,
        static_cast<long>(std::clamp<int64_t>(o_.connect_timeout_us / 1000, 1, 30000)));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(o_.request_timeout_us / 1000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &PollingSource::OnData);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, this);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, &PollingSource::OnProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, this);
    Status result;
    while (!feed.stopping()) {
      body_.clear();
      error[0] = '\0';
      const CURLcode rc = curl_easy_perform(c);
      long status = 0;
      curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
      if (feed.stopping()) break;
      if (rc == CURLE_OK && status >= 200 && status < 300) {
        reconnects.Connected();
        if (!(o_.emit_changed_only && last && *last == body_)) {
          Message m;
          m.payload = body_;
          if (o_.emit_changed_only) m.position = body_;
          last = std::move(body_);
          if (!feed.Push(std::move(m))) break;
        }
        if (!feed.Sleep(o_.poll_interval_us)) break;
        continue;
      }
      if (rc == CURLE_OK && status >= 400 && status < 500 && status != 408 && status != 429) {
        result = Status::Io("the endpoint {} answered HTTP {}{}", o_.endpoint.redacted, status,
                            status == 401 || status == 403 ? " (check option 'headers')" : "");
        break;
      }
      std::string why = rc != CURLE_OK ? (error[0] ? std::string(error) : curl_easy_strerror(rc))
                                       : fmt::format("HTTP {}", status);
      result = reconnects.Failed(feed, "the polled endpoint", why);
      if (!result.ok()) break;
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(headers);
    return result;
  }

 private:
  static size_t OnData(char* data, size_t size, size_t n, void* self) {
    auto* s = static_cast<PollingSource*>(self);
    if (s->body_.size() + size * n > kMaxBody) return 0;
    s->body_.append(data, size * n);
    return size * n;
  }

  static int OnProgress(void* self, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<PollingSource*>(self)->feed_->stopping() ? 1 : 0;
  }

  PollingOptions o_;
  Feed* feed_ = nullptr;
  std::string body_;
};

}  // namespace

std::unique_ptr<runtime::SourceOperator> MakePollingSource(const TableSpec& spec,
                                                           const PollingOptions& options) {
  return std::make_unique<PollingSource>(spec, options);
}

}  // namespace sluice::connectors::http
