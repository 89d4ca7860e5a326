// An async UDF for the async benchmark: fast_get(url TEXT) RETURNS TEXT, an HTTP/1.1 GET over
// keep-alive connections with a minimal client of its own (no libcurl), to measure what the
// async operator sustains when the client costs little: tests/udf/http_get.cc (libcurl) spends
// most of the CPU of a call inside libcurl. One epoll event-loop thread per instance; by default
// one request in flight per connection, a connection opened when a call finds none idle. With
// FAST_GET_DEPTH=D in the environment (D > 1), up to D requests are pipelined on a connection
// (HTTP/1.1 pipelining: answers come back in order), and the requests a burst of calls puts on
// one connection leave in one write: fewer connections and syscalls per call, as HTTP/2's
// multiplexing would give.
// Only what the benchmark needs: `http://IPv4:port/path` URLs and responses with a
// Content-Length (anything else fails the call with a message saying so). 2xx: the body;
// 404: NULL; any other status: the call fails with the status.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

struct fast_get {
  struct Call {
    std::string url;
    sluice_udf::Completion<std::string> done;
  };
  struct Conn {
    int fd = -1;
    uint64_t endpoint = 0;  // IPv4 address << 16 | port
    bool connected = false;
    bool reused = false;     // answered a call before (the server may have closed it since)
    bool dirty = false;      // in dirty_: requests appended since the last flush
    std::deque<Call> calls;  // sent or to send, answered in this order
    std::string out;         // request bytes not yet written
    std::string in;          // response bytes read so far
  };

  fast_get() : epoll_(epoll_create1(0)), wake_(eventfd(0, EFD_NONBLOCK)) {
    if (const char* d = std::getenv("FAST_GET_DEPTH"); d && std::atoi(d) > 1) {
      depth_ = static_cast<size_t>(std::atoi(d));
    }
    if (epoll_ < 0 || wake_ < 0) throw std::runtime_error("cannot set up epoll");
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the wake-up eventfd
    epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev);
    loop_ = std::thread([this] { Run(); });
  }
  ~fast_get() {
    stop_ = true;
    Wake();
    loop_.join();
    for (auto& [fd, c] : conns_) {
      close(fd);
      delete c;
    }
    for (Conn* c : dead_) delete c;
    close(epoll_);
    close(wake_);
  }

  void start(std::string_view url, sluice_udf::Completion<std::string> done) {
    bool was_empty;
    {
      std::lock_guard<std::mutex> lock(mu_);
      was_empty = queued_.empty();
      queued_.push_back(Call{std::string(url), done});
    }
    if (was_empty) Wake();
  }

 private:
  void Wake() {
    uint64_t one = 1;
    (void)!write(wake_, &one, sizeof(one));
  }

  // Parses http://a.b.c.d:port/path into the endpoint and the request's bytes.
  static bool Parse(const std::string& url, uint64_t* endpoint, std::string* request) {
    constexpr std::string_view kScheme = "http://";
    if (url.compare(0, kScheme.size(), kScheme) != 0) return false;
    const size_t host_end = url.find_first_of(":/", kScheme.size());
    const std::string host = url.substr(kScheme.size(), host_end - kScheme.size());
    in_addr addr{};
    if (inet_pton(AF_INET, host.c_str(), &addr) != 1) return false;
    uint32_t port = 80;
    size_t path = url.find('/', kScheme.size());
    if (host_end != std::string::npos && url[host_end] == ':') {
      port = static_cast<uint32_t>(std::strtoul(url.c_str() + host_end + 1, nullptr, 10));
      if (port == 0 || port > 65535) return false;
    }
    *endpoint = (static_cast<uint64_t>(ntohl(addr.s_addr)) << 16) | port;
    request->assign("GET ");
    request->append(path == std::string::npos ? std::string_view("/")
                                              : std::string_view(url).substr(path));
    request->append(" HTTP/1.1\r\nHost: ");
    request->append(url, kScheme.size(),
                    (path == std::string::npos ? url.size() : path) - kScheme.size());
    request->append("\r\n\r\n");
    return true;
  }

  Conn* Open(uint64_t endpoint) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) return nullptr;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(static_cast<uint32_t>(endpoint >> 16));
    addr.sin_port = htons(static_cast<uint16_t>(endpoint & 0xffff));
    if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 &&
        errno != EINPROGRESS) {
      close(fd);
      return nullptr;
    }
    auto* c = new Conn;
    c->fd = fd;
    c->endpoint = endpoint;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = c;
    epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev);
    conns_[fd] = c;
    return c;
  }

  void Watch(Conn* c, uint32_t events) {
    epoll_event ev{};
    ev.events = events;
    ev.data.ptr = c;
    epoll_ctl(epoll_, EPOLL_CTL_MOD, c->fd, &ev);
  }

  void Send(Conn* c) {
    while (!c->out.empty()) {
      ssize_t n = write(c->fd, c->out.data(), c->out.size());
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          if (c->connected) Watch(c, EPOLLIN | EPOLLOUT);  // EPOLLOUT continues it
          return;
        }
        Drop(c, std::string("cannot send: ") + std::strerror(errno));
        return;
      }
      c->out.erase(0, static_cast<size_t>(n));
    }
  }

  void Begin(Call&& call) {
    uint64_t endpoint = 0;
    std::string request;
    if (!Parse(call.url, &endpoint, &request)) {
      call.done.fail("fast_get: not an http://IPv4:port/path URL: " + call.url);
      return;
    }
    Conn* c = nullptr;
    auto& idle = idle_[endpoint];  // connections with room for another request
    if (!idle.empty()) {
      c = idle.back();
    } else {
      c = Open(endpoint);
      if (c == nullptr) {
        call.done.fail("fast_get: cannot connect for " + call.url + ": " + std::strerror(errno));
        return;
      }
      idle.push_back(c);
    }
    c->calls.push_back(std::move(call));
    if (c->calls.size() >= depth_) idle.pop_back();
    c->out.append(request);
    if (!c->dirty) {
      c->dirty = true;
      dirty_.push_back(c);
    }
  }

  // Writes what the calls begun since the last flush put on each connection: one write per
  // connection per burst.
  void Flush() {
    for (size_t i = 0; i < dirty_.size(); ++i) {
      Conn* c = dirty_[i];
      c->dirty = false;
      if (c->fd >= 0 && c->connected) Send(c);
    }
    dirty_.clear();
    for (Conn* c : dead_) delete c;
    dead_.clear();
  }

  // The connection is gone: its calls fail, or start again on a new connection when a reused
  // one was closed by the server with none of their answer read (keep-alive's race). Freed at
  // the next flush (a pointer to it may still be in dirty_).
  void Drop(Conn* c, const std::string& why) {
    if (c->fd < 0) return;
    epoll_ctl(epoll_, EPOLL_CTL_DEL, c->fd, nullptr);
    close(c->fd);
    conns_.erase(c->fd);
    c->fd = -1;
    auto& idle = idle_[c->endpoint];
    for (size_t i = 0; i < idle.size(); ++i) {
      if (idle[i] == c) {
        idle[i] = idle.back();
        idle.pop_back();
        break;
      }
    }
    std::deque<Call> calls;
    calls.swap(c->calls);
    const bool retry = c->reused && c->in.empty();
    for (Call& call : calls) {
      if (retry) {
        Begin(std::move(call));
      } else {
        call.done.fail("GET " + call.url + ": " + why);
      }
    }
    dead_.push_back(c);
  }

  // Completes the calls whose whole responses are in c->in.
  void FinishAll(Conn* c) {
    while (c->fd >= 0 && !c->calls.empty() && Finish(c)) {
    }
  }

  // A whole response in c->in completes the first call; false when more bytes are needed.
  bool Finish(Conn* c) {
    const size_t head_end = c->in.find("\r\n\r\n");
    if (head_end == std::string::npos) return false;
    std::string_view head(c->in.data(), head_end);
    if (head.size() < 12 || head.compare(0, 5, "HTTP/") != 0) {
      Drop(c, "not an HTTP response");
      return true;
    }
    const int status = std::atoi(c->in.c_str() + head.find(' ') + 1);
    int64_t length = -1;
    bool close_after = false;
    size_t line = head.find("\r\n");
    while (line != std::string_view::npos && line < head.size()) {
      const size_t next = head.find("\r\n", line + 2);
      std::string_view h =
          head.substr(line + 2, (next == std::string_view::npos ? head.size() : next) - line - 2);
      if (h.size() > 15 && strncasecmp(h.data(), "content-length:", 15) == 0) {
        length = std::atoll(std::string(h.substr(15)).c_str());
      } else if (h.size() > 11 && strncasecmp(h.data(), "connection:", 11) == 0 &&
                 h.find("close") != std::string_view::npos) {
        close_after = true;
      }
      line = next;
    }
    if (length < 0) {
      Drop(c, "the response has no Content-Length (fast_get reads no other framing)");
      return true;
    }
    const size_t total = head_end + 4 + static_cast<size_t>(length);
    if (c->in.size() < total) return false;
    Call call = std::move(c->calls.front());
    c->calls.pop_front();
    c->reused = true;
    if (c->calls.size() + 1 == depth_) idle_[c->endpoint].push_back(c);  // room again
    if (status == 404) {
      call.done.complete_null();
    } else if (status < 200 || status >= 300) {
      call.done.fail("HTTP " + std::to_string(status) + " from " + call.url);
    } else {
      call.done.complete(c->in.substr(head_end + 4, static_cast<size_t>(length)));
    }
    c->in.erase(0, total);
    if (close_after) Drop(c, "closed");
    return true;
  }

  void Run() {
    std::vector<Call> fresh;
    epoll_event events[512];
    char buf[65536];
    while (!stop_) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        fresh.swap(queued_);
      }
      for (Call& call : fresh) Begin(std::move(call));
      fresh.clear();
      Flush();
      const int n = epoll_wait(epoll_, events, 512, 100);
      for (int i = 0; i < n; ++i) {
        auto* c = static_cast<Conn*>(events[i].data.ptr);
        if (c == nullptr) {
          uint64_t count;
          (void)!read(wake_, &count, sizeof(count));
          continue;
        }
        if (!c->connected && (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
          int err = 0;
          socklen_t len = sizeof(err);
          getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
          if (err != 0) {
            Drop(c, std::string("cannot connect: ") + std::strerror(err));
            continue;
          }
          c->connected = true;
          Watch(c, EPOLLIN);
          Send(c);
          continue;
        }
        if ((events[i].events & EPOLLOUT) && c->connected) {
          Send(c);  // the rest of a request the socket had no room for
          if (conns_.count(c->fd) && c->out.empty()) Watch(c, EPOLLIN);
          continue;
        }
        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
          ssize_t r = read(c->fd, buf, sizeof(buf));
          if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
          if (r <= 0) {
            Drop(c, r == 0 ? "the server closed the connection" : std::strerror(errno));
            continue;
          }
          if (c->calls.empty()) {
            Drop(c, "unexpected bytes on an idle connection");
            continue;
          }
          c->in.append(buf, static_cast<size_t>(r));
          FinishAll(c);
        }
      }
    }
  }

  int epoll_;
  int wake_;
  std::thread loop_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<Call> queued_;
  std::unordered_map<int, Conn*> conns_;                   // event-loop thread only
  std::unordered_map<uint64_t, std::vector<Conn*>> idle_;  // by endpoint
  std::vector<Conn*> dirty_;                               // requests to write
  std::vector<Conn*> dead_;                                // dropped, freed at the next flush
  size_t depth_ = 1;                                       // requests in flight per connection
};
