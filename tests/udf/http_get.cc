// An async UDF for the async tests and benchmark: http_get(url TEXT) RETURNS TEXT, an HTTP GET
// through libcurl's multi socket interface (the sluice process already links libcurl) on one
// epoll event-loop thread per instance: work per ready socket, not per transfer. 2xx: the body;
// 404: NULL; any other status or a transport error: the call fails with the status and body.
// Per call it costs one libcurl transfer and nothing else it can avoid: easy handles are pooled
// and reused (curl_easy_init/cleanup allocate and free ~100 KB of buffers each), the event loop
// is woken once per burst of starts (not per call), and a socket is added to epoll once and
// modified only when curl's interest in it changes.
#include <curl/curl.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

struct http_get {
  struct Request {
    CURL* easy = nullptr;
    std::string url;
    std::string body;
    sluice_udf::Completion<std::string> done;
  };

  http_get()
      : multi_(curl_multi_init()), epoll_(epoll_create1(0)), wake_(eventfd(0, EFD_NONBLOCK)) {
    if (multi_ == nullptr || epoll_ < 0 || wake_ < 0) throw std::runtime_error("cannot set up");
    curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &OnSocket);
    curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &OnTimer);
    curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
    // Keep the connections of every call in flight open for the next calls (the default cache
    // follows the number of transfers, which drops between batches).
    curl_multi_setopt(multi_, CURLMOPT_MAXCONNECTS, 4096L);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = wake_;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    loop_ = std::thread([this] { Run(); });
  }
  ~http_get() {
    stop_ = true;
    Wake();
    loop_.join();
    for (Request* r : queued_) Release(r, false);
    for (Request* r : free_) Release(r, false);
    for (Request* r : active_) Release(r, true);
    active_.clear();
    curl_multi_cleanup(multi_);
    close(epoll_);
    close(wake_);
  }

  void start(std::string_view url, sluice_udf::Completion<std::string> done) {
    Request* r;
    bool was_empty;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (free_.empty()) {
        r = new Request{nullptr, std::string(url), {}, done};
      } else {
        r = free_.back();
        free_.pop_back();
        r->url.assign(url);
        r->done = done;
      }
      was_empty = queued_.empty();
      queued_.push_back(r);
    }
    // The loop takes the whole queue at once: a wake-up only when it may be asleep on it.
    if (was_empty) Wake();
  }

 private:
  static int64_t NowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  void Wake() {
    uint64_t one = 1;
    (void)!write(wake_, &one, sizeof(one));
  }
  // curl's per-socket pointer (curl_multi_assign) remembers what epoll watches for the socket,
  // so each change is one epoll_ctl and an unchanged interest none.
  static int OnSocket(CURL*, curl_socket_t fd, int what, void* user, void* socketp) {
    auto* self = static_cast<http_get*>(user);
    const auto watched = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(socketp));
    if (what == CURL_POLL_REMOVE) {
      if (watched != 0) epoll_ctl(self->epoll_, EPOLL_CTL_DEL, fd, nullptr);
      return 0;  // curl forgets the socket's pointer with the socket
    }
    epoll_event ev{};
    ev.data.fd = fd;
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0u) | (what & CURL_POLL_OUT ? EPOLLOUT : 0u);
    const uint32_t want = ev.events | kWatched;
    if (want == watched) return 0;
    if (epoll_ctl(self->epoll_, watched != 0 ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) != 0 &&
        epoll_ctl(self->epoll_, watched != 0 ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &ev) != 0) {
      return -1;
    }
    curl_multi_assign(self->multi_, fd, reinterpret_cast<void*>(static_cast<uintptr_t>(want)));
    return 0;
  }
  static constexpr uint32_t kWatched = 1u << 30;  // not an epoll event bit we ask for
  static int OnTimer(CURLM*, long timeout_ms, void* user) {
    // An absolute deadline: with a thousand busy sockets epoll_wait rarely times out, and a
    // timer waiting for a quiet moment delays the transfers curl scheduled on it.
    static_cast<http_get*>(user)->deadline_ms_ = timeout_ms < 0 ? -1 : NowMs() + timeout_ms;
    return 0;
  }
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
        if (r->easy == nullptr) {  // a new request; a pooled one keeps its handle and options
          r->easy = curl_easy_init();
          curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, &Write);
          curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
          curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
          curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
        }
        curl_easy_setopt(r->easy, CURLOPT_URL, r->url.c_str());
        curl_multi_add_handle(multi_, r->easy);
        active_.insert(r);
      }
      int running = 0;
      epoll_event events[256];
      const int64_t wait = deadline_ms_ < 0 ? 100 : std::max<int64_t>(0, deadline_ms_ - NowMs());
      int n = epoll_wait(epoll_, events, 256, static_cast<int>(wait));
      for (int i = 0; i < n; ++i) {
        int fd = events[i].data.fd;
        if (fd == wake_) {
          uint64_t count;
          (void)!read(wake_, &count, sizeof(count));
          continue;
        }
        int flags = (events[i].events & EPOLLIN ? CURL_CSELECT_IN : 0) |
                    (events[i].events & EPOLLOUT ? CURL_CSELECT_OUT : 0) |
                    (events[i].events & (EPOLLERR | EPOLLHUP) ? CURL_CSELECT_ERR : 0);
        curl_multi_socket_action(multi_, fd, flags, &running);
      }
      if (deadline_ms_ >= 0 && NowMs() >= deadline_ms_) {
        deadline_ms_ = -1;  // curl sets the next one from inside the call
        curl_multi_socket_action(multi_, CURL_SOCKET_TIMEOUT, 0, &running);
      }
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
        curl_multi_remove_handle(multi_, r->easy);
        r->body.clear();
        done_.push_back(r);
      }
      if (!done_.empty()) {
        std::lock_guard<std::mutex> lock(mu_);
        free_.insert(free_.end(), done_.begin(), done_.end());
        done_.clear();
      }
    }
  }

  CURLM* multi_;
  std::thread loop_;
  std::mutex mu_;
  std::deque<Request*> queued_;
  std::vector<Request*> free_;           // finished requests, their easy handles kept
  std::vector<Request*> done_;           // event-loop thread only: finished this round
  std::unordered_set<Request*> active_;  // event-loop thread only
  std::atomic<bool> stop_{false};
  int epoll_;
  int wake_;
  int64_t deadline_ms_ = -1;  // curl's timer (steady clock, ms), -1 when none
};
