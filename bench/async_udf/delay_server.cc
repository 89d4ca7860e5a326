// A local HTTP/1.1 service for the async UDF benchmark: answers every GET with "ok" after a fixed
// delay (default 10 ms), on keep-alive connections, from one epoll thread. Prints its port.
// Its own cost per request is kept small, so that the benchmark measures the client: the wait
// for the next answer is exact to the microsecond (epoll_pwait2; a millisecond timeout rounded
// down would spin while an answer is less than 1 ms away), each readiness event is one read
// (level-triggered epoll reports what is left).
// Build: c++ -O2 -std=c++20 -o delay_server delay_server.cc
// Usage: delay_server [delay_ms]
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_map>

static int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int main(int argc, char** argv) {
  const int64_t delay = (argc > 1 ? std::atoll(argv[1]) : 10) * 1000;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(lfd, 4096) != 0) {
    std::perror("bind/listen");
    return 1;
  }
  socklen_t len = sizeof(addr);
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::printf("%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::unordered_map<int, std::string> input;
  std::deque<std::pair<int64_t, int>> due;  // (when, fd): one response each, in time order
  static const char kResponse[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
  epoll_event events[256];
  char buf[16384];
  while (true) {
    timespec timeout{};
    timespec* wait = nullptr;
    if (!due.empty()) {
      const int64_t us = std::max<int64_t>(0, due.front().first - NowUs());
      timeout.tv_sec = us / 1000000;
      timeout.tv_nsec = (us % 1000000) * 1000;
      wait = &timeout;
    }
    int n = epoll_pwait2(ep, events, 256, wait, nullptr);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        while (true) {
          int c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
          if (c < 0) break;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          epoll_event cev{};
          cev.events = EPOLLIN;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
        }
        continue;
      }
      ssize_t r = read(fd, buf, sizeof(buf));
      if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (r <= 0) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
        input.erase(fd);
        continue;
      }
      // Requests whole in this read (the usual case) need no copy; a partial one waits in `in`.
      std::string& in = input[fd];
      std::string_view data(buf, static_cast<size_t>(r));
      if (!in.empty()) {
        in.append(data);
        data = in;
      }
      const int64_t when = NowUs() + delay;
      size_t pos = 0, end;
      while ((end = data.find("\r\n\r\n", pos)) != std::string_view::npos) {
        pos = end + 4;
        due.emplace_back(when, fd);
      }
      in.assign(data.substr(pos));
    }
    const int64_t now = NowUs();
    while (!due.empty() && due.front().first <= now) {
      int fd = due.front().second;
      due.pop_front();
      if (input.count(fd)) (void)!write(fd, kResponse, sizeof(kResponse) - 1);
    }
  }
}
