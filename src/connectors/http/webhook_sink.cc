// webhook sink: POSTs the table's rows to an HTTP endpoint, encoded with the table's format
// (json by default): one record per request, or up to batch.max_rows per request (a JSON array
// for json, records separated by '\n' otherwise). Requests run concurrently (at most
// max_inflight at once) on a libcurl multi handle driven from the sink task's thread, so the
// order in which the endpoint sees requests is not the rows' order when max_inflight > 1.
//
// Errors: a connection error, a timeout and HTTP 408, 429 and 5xx are retried with exponential
// backoff (100ms doubling up to backoff.max) up to retry.max_attempts attempts; then, or at once
// for another 4xx answer, the pipeline fails naming the endpoint and the status.
//
// Delivery: at-least-once. At each checkpoint barrier (PreCommit) and at the end of input the
// sink waits until every request made so far got a 2xx answer, so a checkpoint never covers a row
// that was not delivered; rows after it may be POSTed again after a restore.

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <deque>

#include <fmt/format.h>

#include "common/time.h"
#include "connectors/http/http_options.h"
#include "formats/format.h"

namespace sluice::connectors::http {

namespace {

struct Request {
  std::string body;
  int attempts = 0;
  int64_t not_before = 0;
  CURL* easy = nullptr;
  std::string response;  // the first bytes, for errors
  char error[CURL_ERROR_SIZE] = {0};
};

class WebhookSink : public runtime::Operator {
 public:
  WebhookSink(const TableSpec& spec, const WebhookOptions& options)
      : spec_(spec), o_(options), label_(fmt::format("table '{}'", spec.table_name)) {}

  ~WebhookSink() override { Cleanup(); }

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    formats::FormatOptions format = spec_.format;
    if (format.format.empty()) format.format = "json";
    json_ = format.format == "json";
    SLUICE_ASSIGN_OR_RETURN(encoder_, formats::MakeEncoder(format, spec_.schema));
    multi_ = curl_multi_init();
    if (multi_ == nullptr) return Status::Io("{}: cannot create an HTTP client", label_);
    bool has_type = false;
    for (const auto& [k, v] : o_.headers) {
      headers_ = curl_slist_append(headers_, fmt::format("{}: {}", k, v).c_str());
      if (AsciiEqual(k, "content-type")) has_type = true;
    }
    if (!has_type) {
      headers_ = curl_slist_append(
          headers_, json_ ? "Content-Type: application/json" : "Content-Type: text/plain");
    }
    headers_ = curl_slist_append(headers_, "Expect:");
    return Status::Ok();
  }

  Status ProcessBatch(int, const batch::BatchPtr& batch, runtime::Collector&) override {
    buffer_.clear();
    spans_.clear();
    SLUICE_RETURN_NOT_OK(encoder_->EncodeRecords(*batch, &buffer_, &spans_));
    for (size_t i = 0; i < spans_.size();) {
      const size_t end = std::min(spans_.size(), i + static_cast<size_t>(o_.max_batch_rows));
      auto r = std::make_unique<Request>();
      if (o_.max_batch_rows == 1) {
        r->body.assign(buffer_, spans_[i].first, spans_[i].second - spans_[i].first);
      } else {
        if (json_) r->body.push_back('[');
        for (size_t j = i; j < end; ++j) {
          if (j > i) r->body.push_back(json_ ? ',' : '\n');
          r->body.append(buffer_, spans_[j].first, spans_[j].second - spans_[j].first);
        }
        if (json_) r->body.push_back(']');
      }
      waiting_.push_back(std::move(r));
      i = end;
    }
    SLUICE_RETURN_NOT_OK(Pump(false));
    // Bounded memory: no more than a few rounds of requests wait.
    while (static_cast<int64_t>(waiting_.size()) > 4LL * o_.max_inflight) {
      SLUICE_RETURN_NOT_OK(Pump(true));
    }
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += batch->num_rows;
    return Status::Ok();
  }

  Status PreCommit(int64_t) override { return Drain(); }
  Status OnEndOfInput(runtime::Collector&) override { return Drain(); }

  Status Close() override {
    Cleanup();
    return Status::Ok();
  }

 private:
  static bool AsciiEqual(const std::string& a, const char* b) {
    if (a.size() != std::strlen(b)) return false;
    for (size_t i = 0; i < a.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(a[i])) != b[i]) return false;
    }
    return true;
  }

  static size_t OnData(char* data, size_t size, size_t n, void* self) {
    auto* r = static_cast<Request*>(self);
    if (r->response.size() < 300) r->response.append(data, std::min<size_t>(size * n, 300));
    return size * n;
  }

  Status Drain() {
    while (!waiting_.empty() || !active_.empty()) SLUICE_RETURN_NOT_OK(Pump(true));
    return Status::Ok();
  }

  void Start(std::unique_ptr<Request> r) {
    CURL* c = curl_easy_init();
    r->easy = c;
    r->response.clear();
    r->error[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, o_.endpoint.url.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers_);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r->body.size()));
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(o_.request_timeout_us / 1000));
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
                     static_cast<long>(std::min<int64_t>(o_.request_timeout_us / 1000, 10000)));
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->error);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, &WebhookSink::OnData);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r.get());
    curl_easy_setopt(c, CURLOPT_PRIVATE, r.get());
    curl_multi_add_handle(multi_, c);
    active_.push_back(std::move(r));
  }

  // Starts what may start, runs the transfers, handles the finished ones. `wait`: block up to
  // 50 ms for progress.
  Status Pump(bool wait) {
    const int64_t now = Now().value;
    int64_t next_due = INT64_MAX;
    for (auto it = waiting_.begin();
         it != waiting_.end() && static_cast<int>(active_.size()) < o_.max_inflight;) {
      if ((*it)->not_before <= now) {
        Start(std::move(*it));
        it = waiting_.erase(it);
      } else {
        next_due = std::min(next_due, (*it)->not_before);
        ++it;
      }
    }
    int running = 0;
    curl_multi_perform(multi_, &running);
    while (CURLMsg* msg = curl_multi_info_read(multi_, &running)) {
      if (msg->msg != CURLMSG_DONE) continue;
      Request* raw = nullptr;
      curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &raw);
      SLUICE_RETURN_NOT_OK(Finished(raw, msg->data.result));
    }
    if (wait && (!active_.empty() || !waiting_.empty())) {
      int timeout_ms = 50;
      if (active_.empty() && next_due != INT64_MAX) {
        timeout_ms = static_cast<int>(std::clamp<int64_t>((next_due - now) / 1000, 1, 50));
      }
      curl_multi_poll(multi_, nullptr, 0, timeout_ms, nullptr);
    }
    return Status::Ok();
  }

  Status Finished(Request* raw, CURLcode rc) {
    auto it = std::find_if(active_.begin(), active_.end(),
                           [&](const std::unique_ptr<Request>& r) { return r.get() == raw; });
    std::unique_ptr<Request> r = std::move(*it);
    active_.erase(it);
    long status = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_multi_remove_handle(multi_, r->easy);
    curl_easy_cleanup(r->easy);
    r->easy = nullptr;
    ++r->attempts;
    if (rc == CURLE_OK && status >= 200 && status < 300) {
      ++delivered_;
      return Status::Ok();
    }
    const bool retriable =
        rc != CURLE_OK || status == 408 || status == 429 || status >= 500 || status < 200;
    std::string why = rc != CURLE_OK
                          ? (r->error[0] ? std::string(r->error) : curl_easy_strerror(rc))
                          : fmt::format("HTTP {}", status);
    if (rc == CURLE_OK && !r->response.empty()) {
      why += fmt::format(" ({})", r->response.substr(0, 200));
    }
    if (!retriable) {
      return Status::Io("{}: the webhook endpoint {} refused a request: {}", label_,
                        o_.endpoint.redacted, why);
    }
    if (r->attempts >= o_.max_attempts) {
      return Status::Io("{}: the webhook endpoint {} failed {} attempts (retry.max_attempts): {}",
                        label_, o_.endpoint.redacted, r->attempts, why);
    }
    int64_t backoff = 100'000;
    for (int i = 1; i < r->attempts && backoff < o_.backoff_max_us; ++i) backoff *= 2;
    r->not_before = Now().value + std::min(backoff, o_.backoff_max_us);
    ++retries_;
    waiting_.push_front(std::move(r));
    return Status::Ok();
  }

  void Cleanup() {
    for (auto& r : active_) {
      if (r->easy != nullptr) {
        curl_multi_remove_handle(multi_, r->easy);
        curl_easy_cleanup(r->easy);
      }
    }
    active_.clear();
    waiting_.clear();
    if (multi_ != nullptr) curl_multi_cleanup(multi_);
    multi_ = nullptr;
    if (headers_ != nullptr) curl_slist_free_all(headers_);
    headers_ = nullptr;
  }

  TableSpec spec_;
  WebhookOptions o_;
  std::string label_;
  bool json_ = true;
  std::unique_ptr<formats::Encoder> encoder_;
  CURLM* multi_ = nullptr;
  curl_slist* headers_ = nullptr;
  std::deque<std::unique_ptr<Request>> waiting_;
  std::vector<std::unique_ptr<Request>> active_;
  std::string buffer_;
  std::vector<std::pair<size_t, size_t>> spans_;
  int64_t delivered_ = 0;
  int64_t retries_ = 0;
};

}  // namespace

std::unique_ptr<runtime::Operator> MakeWebhookSink(const TableSpec& spec,
                                                   const WebhookOptions& options) {
  return std::make_unique<WebhookSink>(spec, options);
}

}  // namespace sluice::connectors::http
