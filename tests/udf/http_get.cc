// An async UDF for the async tests and benchmark: http_get(url TEXT) RETURNS TEXT, an HTTP GET
// through libcurl's multi interface (which the sluice process already links) on one event-loop
// thread per instance. 2xx: the body; 404: NULL; any other status or a transport error: the
// call fails with the status and body.
#include <curl/curl.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>

struct http_get {
  struct Request {
    CURL* easy = nullptr;
    std::string url;
    std::string body;
    sluice_udf::Completion<std::string> done;
  };

  http_get() : multi_(curl_multi_init()) {
    if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
    loop_ = std::thread([this] { Run(); });
  }
  ~http_get() {
    stop_ = true;
    curl_multi_wakeup(multi_);
    loop_.join();
    for (Request* r : queued_) Release(r, false);
    for (Request* r : active_) Release(r, true);
    active_.clear();
    curl_multi_cleanup(multi_);
  }

  void start(std::string_view url, sluice_udf::Completion<std::string> done) {
    auto* r = new Request{nullptr, std::string(url), {}, done};
    {
      std::lock_guard<std::mutex> lock(mu_);
      queued_.push_back(r);
    }
    curl_multi_wakeup(multi_);
  }

 private:
  static size_t Write(char* data, size_t size, size_t n, void* user) {
    static_cast<Request*>(user)->body.append(data, size * n);
    return size * n;
  }
  void Release(Request* r, bool added) {
    if (r->easy) {
      if (added) curl_multi_remove_handle(multi_, r->easy);
      curl_easy_cleanup(r->easy);
    }
    delete r;
  }
  void Run() {
    while (!stop_) {
      std::deque<Request*> fresh;
      {
        std::lock_guard<std::mutex> lock(mu_);
        fresh.swap(queued_);
      }
      for (Request* r : fresh) {
        r->easy = curl_easy_init();
        curl_easy_setopt(r->easy, CURLOPT_URL, r->url.c_str());
        curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, &Write);
        curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
        curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
        curl_multi_add_handle(multi_, r->easy);
        active_.insert(r);
      }
      int running = 0;
      curl_multi_perform(multi_, &running);
      int left = 0;
      while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
        if (m->msg != CURLMSG_DONE) continue;
        Request* r = nullptr;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &r);
        long code = 0;
        curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
        if (m->data.result != CURLE_OK) {
          r->done.fail(std::string("GET ") + r->url + ": " + curl_easy_strerror(m->data.result));
        } else if (code == 404) {
          r->done.complete_null();
        } else if (code < 200 || code >= 300) {
          r->done.fail("HTTP " + std::to_string(code) + " from " + r->url + ": " + r->body);
        } else {
          r->done.complete(r->body);
        }
        active_.erase(r);
        Release(r, true);
      }
      curl_multi_poll(multi_, nullptr, 0, 100, nullptr);
    }
  }

  CURLM* multi_;
  std::thread loop_;
  std::mutex mu_;
  std::deque<Request*> queued_;
  std::unordered_set<Request*> active_;  // event-loop thread only
  std::atomic<bool> stop_{false};
};
