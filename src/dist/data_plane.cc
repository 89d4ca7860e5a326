#include "dist/data_plane.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

#include "batch/serialize.h"

namespace sluice::dist {

namespace {

constexpr uint32_t kHandshakeMagic = 0x50444c53;  // "SLDP"
constexpr uint32_t kMaxHandshakeBytes = 64 << 10;

std::string Errno() {
  return std::strerror(errno);
}

// Writes all of `data`; false when the peer is gone.
bool WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads exactly n bytes; false on end of stream or error.
bool ReadExact(int fd, char* out, size_t n) {
  while (n > 0) {
    ssize_t r = ::recv(fd, out, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    out += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

// One length-prefixed frame; an error names `peer`. nullopt on a clean end of stream before a
// frame starts.
Result<std::optional<Frame>> ReadFrame(int fd, const std::string& peer, std::string* buffer) {
  uint32_t length = 0;
  ssize_t first = 0;
  while ((first = ::recv(fd, &length, 4, MSG_WAITALL)) < 0 && errno == EINTR) {
  }
  if (first == 0) return std::optional<Frame>();
  if (first != 4) return Status::Io("data plane: connection {} broke: {}", peer, Errno());
  if (length < kFrameHeaderBytes - 4 || length > kMaxFrameBytes) {
    return Status::Io("data plane: connection {} sent a corrupt frame (length {})", peer, length);
  }
  buffer->resize(4 + length);
  std::memcpy(buffer->data(), &length, 4);
  if (!ReadExact(fd, buffer->data() + 4, length)) {
    return Status::Io("data plane: connection {} broke in the middle of a frame", peer);
  }
  auto f = DecodeFrame(*buffer);
  if (!f.ok()) return f.status().WithContext(fmt::format("data plane: connection {}", peer));
  return std::optional<Frame>(f.MoveValue());
}

std::string EncodeHandshake(const Handshake& h) {
  std::string body;
  batch::ByteWriter w(&body);
  w.Put<uint32_t>(kHandshakeMagic);
  w.Put<uint16_t>(kDataPlaneVersion);
  w.Put<uint16_t>(kDataPlaneVersion);  // the oldest version that can read it
  w.Put<int64_t>(h.generation);
  w.Put<int32_t>(h.from_worker);
  w.Put<int32_t>(h.to_worker);
  w.PutBytes(h.job);
  std::string out;
  batch::ByteWriter(&out).Put<uint32_t>(static_cast<uint32_t>(body.size()));
  return out + body;
}

Result<std::string> ReadPrefixed(int fd, const char* what) {
  uint32_t n = 0;
  if (!ReadExact(fd, reinterpret_cast<char*>(&n), 4)) {
    return Status::Io("data plane: the connection closed during the {}", what);
  }
  if (n > kMaxHandshakeBytes)
    return Status::Io("data plane: the {} is corrupt ({} bytes)", what, n);
  std::string body(n, '\0');
  if (!ReadExact(fd, body.data(), n)) {
    return Status::Io("data plane: the connection closed during the {}", what);
  }
  return body;
}

struct ReplyOf {
  bool ok = false;
  int64_t credit = 0;
  std::string message;
};

std::string EncodeReply(const ReplyOf& r) {
  std::string body;
  batch::ByteWriter w(&body);
  w.Put<uint8_t>(r.ok ? 0 : 1);
  w.Put<int64_t>(r.credit);
  w.PutBytes(r.message);
  std::string out;
  batch::ByteWriter(&out).Put<uint32_t>(static_cast<uint32_t>(body.size()));
  return out + body;
}

void SetNoDelay(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

Result<sockaddr_in> Resolve(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(host.c_str(), nullptr, &hints, &res);
  if (rc != 0 || res == nullptr) {
    return Status::User("data plane: cannot resolve host '{}': {}", host, gai_strerror(rc));
  }
  sockaddr_in addr = *reinterpret_cast<sockaddr_in*>(res->ai_addr);
  ::freeaddrinfo(res);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  return addr;
}

// ---------------------------------------------------------------------------------------------
// Receiving side

class Connection;

class InboundChannelImpl : public InboundChannel {
 public:
  explicit InboundChannelImpl(ChannelId id) : id_(id) {}

  Result<std::optional<runtime::Message>> Pop(std::chrono::milliseconds timeout) override {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return !queue_.empty() || !failure_.ok(); });
    if (queue_.empty()) {
      if (!failure_.ok()) return failure_;
      return std::optional<runtime::Message>();
    }
    Item item = std::move(queue_.front());
    queue_.pop_front();
    queued_bytes_ -= item.bytes;
    auto credit = credit_;
    lock.unlock();
    if (item.bytes > 0 && credit) credit(item.bytes);
    return std::optional<runtime::Message>(std::move(item.message));
  }
  Result<std::optional<runtime::Message>> TryPop() override {
    return Pop(std::chrono::milliseconds(0));
  }
  void SetWake(std::function<void()> wake) override {
    std::lock_guard lock(mu_);
    wake_ = std::move(wake);
  }
  size_t queued() const override {
    std::lock_guard lock(mu_);
    return queue_.size();
  }
  int64_t queued_bytes() const override {
    std::lock_guard lock(mu_);
    return queued_bytes_;
  }

  // From the connection's reader: never blocks (the sender's credit bounds the queue).
  Status Push(Frame frame, int64_t limit, const std::function<void(int64_t)>& credit) {
    std::lock_guard lock(mu_);
    if (!credit_) credit_ = credit;
    bool is_batch = frame.kind == FrameKind::kBatch;
    if (is_batch && queued_bytes_ > limit) {
      return Status::Io("data plane: channel {} got a batch beyond its credit ({} bytes queued)",
                        id_.ToString(), queued_bytes_);
    }
    if (std::holds_alternative<runtime::EndOfData>(frame.message)) ended_ = true;
    int64_t bytes = is_batch ? static_cast<int64_t>(frame.payload_bytes) : 0;
    queued_bytes_ += bytes;
    queue_.push_back({std::move(frame.message), bytes});
    cv_.notify_all();
    if (wake_) wake_();  // under mu_, so that SetWake(nullptr) waits for it
    return Status::Ok();
  }
  void Fail(const Status& st) {
    std::lock_guard lock(mu_);
    if (ended_ || !failure_.ok()) return;
    failure_ = st;
    cv_.notify_all();
    if (wake_) wake_();
  }

 private:
  struct Item {
    runtime::Message message;
    int64_t bytes = 0;
  };
  ChannelId id_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  int64_t queued_bytes_ = 0;
  bool ended_ = false;
  Status failure_;
  std::function<void(int64_t)> credit_;
  std::function<void()> wake_;  // the executor's task, when it reads this channel
};

class ReceiverImpl : public DataPlaneReceiver {
 public:
  ReceiverImpl(int fd, int port, Options options)
      : listen_fd_(fd), port_(port), options_(std::move(options)) {
    generation_ = options_.generation;
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~ReceiverImpl() override { Stop(); }

  int port() const override { return port_; }

  std::shared_ptr<InboundChannel> Channel(const ChannelId& id) override { return Get(id); }

  void Assign(const std::string& job, int32_t worker, int64_t generation) override {
    std::lock_guard lock(mu_);
    options_.job = job;
    options_.worker = worker;
    generation_ = generation;
    ++deployment_;
    channels_.clear();  // a new deployment starts with empty channels
    for (auto& c : connections_) ::shutdown(c->fd, SHUT_RDWR);
  }

  void SetGeneration(int64_t generation) override {
    std::lock_guard lock(mu_);
    generation_ = generation;
    for (auto& c : connections_) {
      if (c->generation != generation) ::shutdown(c->fd, SHUT_RDWR);
    }
  }

  void Stop() override {
    {
      std::lock_guard lock(mu_);
      if (stopped_) return;
      stopped_ = true;
      ::shutdown(listen_fd_, SHUT_RDWR);
      for (auto& c : connections_) ::shutdown(c->fd, SHUT_RDWR);
    }
    if (acceptor_.joinable()) acceptor_.join();
    std::vector<std::shared_ptr<Conn>> conns;
    {
      std::lock_guard lock(mu_);
      conns = connections_;
    }
    for (auto& c : conns) {
      if (c->reader.joinable()) c->reader.join();
      std::lock_guard lock(c->write_mu);  // a consumer returning credit writes under it
      ::close(c->fd);
      c->fd = -1;
    }
    ::close(listen_fd_);
  }

 private:
  struct Conn {
    int fd = -1;
    int64_t generation = 0;
    int64_t deployment = 0;  // Assign calls before its handshake
    std::string peer;
    std::mutex write_mu;
    std::thread reader;
  };

  std::shared_ptr<InboundChannelImpl> GetFor(const Conn& conn, const ChannelId& id) {
    std::lock_guard lock(mu_);
    if (conn.deployment != deployment_) return nullptr;
    auto& c = channels_[id];
    if (!c) c = std::make_shared<InboundChannelImpl>(id);
    return c;
  }

  std::shared_ptr<InboundChannelImpl> Get(const ChannelId& id) {
    std::lock_guard lock(mu_);
    auto& c = channels_[id];
    if (!c) c = std::make_shared<InboundChannelImpl>(id);
    return c;
  }

  void AcceptLoop() {
    for (;;) {
      int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) {
        if (errno == EINTR || errno == ECONNABORTED) continue;
        return;  // shut down
      }
      SetNoDelay(fd);
      auto conn = std::make_shared<Conn>();
      conn->fd = fd;
      std::lock_guard lock(mu_);
      if (stopped_) {
        ::close(fd);
        return;
      }
      connections_.push_back(conn);
      conn->reader = std::thread([this, conn] { Serve(conn); });
    }
  }

  // Refuses or accepts the handshake, then reads frames until the connection ends.
  void Serve(const std::shared_ptr<Conn>& conn) {
    auto hello = ReadPrefixed(conn->fd, "handshake");
    if (!hello.ok()) return;
    batch::ByteReader r(*hello, "data plane handshake");
    uint32_t magic = 0;
    uint16_t version = 0, min_version = 0;
    Handshake h;
    std::string_view job;
    Status st = r.Get(&magic);
    if (st.ok()) st = r.Get(&version);
    if (st.ok()) st = r.Get(&min_version);
    if (st.ok()) st = r.Get(&h.generation);
    if (st.ok()) st = r.Get(&h.from_worker);
    if (st.ok()) st = r.Get(&h.to_worker);
    if (st.ok()) st = r.GetBytes(&job);
    h.job = std::string(job);
    ReplyOf reply;
    int64_t generation;
    std::string expected_job;
    int32_t worker;
    {
      std::lock_guard lock(mu_);
      generation = generation_;
      expected_job = options_.job;
      worker = options_.worker;
      conn->deployment = deployment_;
    }
    if (!st.ok() || magic != kHandshakeMagic) {
      reply.message = "not a Sluice data plane handshake";
    } else if (min_version > kDataPlaneVersion) {
      reply.message = fmt::format(
          "the sender speaks data plane version {} (needs a reader of version {}); this worker "
          "reads up to version {}",
          version, min_version, kDataPlaneVersion);
    } else if (h.job != expected_job) {
      reply.message = fmt::format("worker {} runs job '{}', not '{}'", worker, expected_job, h.job);
    } else if (h.generation != generation) {
      reply.message = fmt::format(
          "stale generation: the connection is of generation {}, worker {} runs generation {} "
          "of job '{}'",
          h.generation, worker, generation, expected_job);
    } else if (h.to_worker != worker) {
      reply.message = fmt::format("this is worker {}, not worker {}", worker, h.to_worker);
    } else {
      reply.ok = true;
      reply.credit = options_.channel_credit_bytes;
    }
    conn->generation = h.generation;
    conn->peer = fmt::format("from worker {}", h.from_worker);
    if (!WriteAll(conn->fd, EncodeReply(reply)) || !reply.ok) return;

    std::weak_ptr<Conn> weak = conn;
    auto credit = [weak](const ChannelId& id, int64_t bytes) {
      auto c = weak.lock();
      if (!c) return;
      std::string frame;
      EncodeCredit(id, bytes, &frame);
      std::lock_guard lock(c->write_mu);
      if (c->fd >= 0) WriteAll(c->fd, frame);  // a broken connection is noticed by its reader
    };
    std::vector<std::shared_ptr<InboundChannelImpl>> seen;
    std::string buffer;
    Status failure;
    for (;;) {
      auto f = ReadFrame(conn->fd, conn->peer, &buffer);
      if (!f.ok()) {
        failure = f.status();
        break;
      }
      if (!f->has_value()) {
        failure = Status::Io("data plane: connection {} closed", conn->peer);
        break;
      }
      Frame& frame = **f;
      if (frame.kind == FrameKind::kCredit) {
        failure = Status::Io("data plane: connection {} sent a credit frame", conn->peer);
        break;
      }
      // A connection of an earlier deployment may still hold frames after Assign cut it: they
      // must not reach the new deployment's channels.
      auto channel = GetFor(*conn, frame.channel);
      if (channel == nullptr) {
        failure =
            Status::Io("data plane: connection {} belongs to an earlier deployment", conn->peer);
        break;
      }
      if (std::find(seen.begin(), seen.end(), channel) == seen.end()) seen.push_back(channel);
      ChannelId id = frame.channel;
      Status pushed = channel->Push(std::move(frame), options_.channel_credit_bytes,
                                    [credit, id](int64_t bytes) { credit(id, bytes); });
      if (!pushed.ok()) {
        failure = pushed;
        break;
      }
    }
    // Channels that had not ended see the failure after what arrived before it.
    for (auto& c : seen) c->Fail(failure);
    ::shutdown(conn->fd, SHUT_RDWR);
  }

  int listen_fd_;
  int port_;
  Options options_;
  std::thread acceptor_;
  std::mutex mu_;
  int64_t generation_ = 0;  // under mu_
  int64_t deployment_ = 0;  // Assign calls so far, under mu_
  bool stopped_ = false;    // under mu_
  std::vector<std::shared_ptr<Conn>> connections_;
  std::unordered_map<ChannelId, std::shared_ptr<InboundChannelImpl>, ChannelIdHash> channels_;
};

// ---------------------------------------------------------------------------------------------
// Sending side

class SenderImpl;

class OutboundChannelImpl : public OutboundChannel {
 public:
  OutboundChannelImpl(ChannelId id, SenderImpl* sender, int64_t credit)
      : id_(id), sender_(sender), credit_(credit) {}
  Status Send(const runtime::Message& message) override;
  Result<bool> TrySend(const runtime::Message& message,
                       const std::function<void()>& wake) override {
    {
      std::lock_guard lock(mu_);
      if (!failure_.ok()) return failure_;
      if (std::holds_alternative<batch::BatchPtr>(message) && credit_ <= 0) {
        wake_ = wake;
        return false;
      }
    }
    // One caller per channel: the credit seen is still there, so Send does not wait.
    SLUICE_RETURN_NOT_OK(Send(message));
    return true;
  }
  void ClearWake() override {
    std::lock_guard lock(mu_);
    wake_ = nullptr;
  }
  int64_t credit() const override {
    std::lock_guard lock(mu_);
    return credit_;
  }
  void Grant(int64_t bytes) {
    std::lock_guard lock(mu_);
    credit_ += bytes;
    cv_.notify_all();
    if (credit_ > 0 && wake_) {
      wake_();  // under mu_, so that ClearWake waits for it
      wake_ = nullptr;
    }
  }
  void Fail(const Status& st) {
    std::lock_guard lock(mu_);
    if (failure_.ok()) failure_ = st;
    cv_.notify_all();
    if (wake_) {
      wake_();
      wake_ = nullptr;
    }
  }

 private:
  ChannelId id_;
  SenderImpl* sender_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  int64_t credit_;
  Status failure_;
  std::function<void()> wake_;  // a TrySend that found no credit
  std::string frame_;           // reused encoding buffer (one caller at a time)
};

class SenderImpl : public DataPlaneSender {
 public:
  SenderImpl(int fd, int64_t credit, std::string peer)
      : fd_(fd), initial_credit_(credit), peer_(std::move(peer)) {
    reader_ = std::thread([this] { ReadCredits(); });
  }
  ~SenderImpl() override { Close(); }

  std::shared_ptr<OutboundChannel> Channel(const ChannelId& id) override {
    std::lock_guard lock(mu_);
    auto& c = channels_[id];
    if (!c) {
      c = std::make_shared<OutboundChannelImpl>(id, this, initial_credit_);
      if (!failure_.ok()) c->Fail(failure_);
    }
    return c;
  }
  int64_t bytes_sent() const override { return bytes_sent_.load(); }

  void Close() override {
    {
      std::lock_guard lock(mu_);
      if (closed_) return;
      closed_ = true;
    }
    // Half-close first: the frames already written still go out, then the end of stream. A
    // close() with unread credit frames in the socket would send a reset instead, which drops
    // our unsent frames (the last batches and end-of-data) and can make the receiver lose what
    // it had not read yet. The receiver closes its side once it has read everything; credits
    // are read until then, for a bounded time.
    ::shutdown(fd_, SHUT_WR);
    {
      std::unique_lock lock(mu_);
      reader_done_cv_.wait_for(lock, kCloseTimeout, [&] { return reader_done_; });
    }
    ::shutdown(fd_, SHUT_RDWR);
    if (reader_.joinable()) reader_.join();
    {
      std::lock_guard lock(mu_);
      fd_closed_ = true;
    }
    ::close(fd_);
  }

  void Abort() override {
    std::lock_guard lock(mu_);
    if (!fd_closed_) ::shutdown(fd_, SHUT_RDWR);  // wakes a blocked write and the credit reader
  }

  Status Write(std::string_view frame, size_t payload) {
    std::lock_guard lock(write_mu_);
    if (!WriteAll(fd_, frame)) {
      return Status::Io("data plane: connection {} broke while sending", peer_);
    }
    bytes_sent_ += static_cast<int64_t>(payload);
    return Status::Ok();
  }

 private:
  void ReadCredits() {
    std::string buffer;
    Status failure;
    for (;;) {
      auto f = ReadFrame(fd_, peer_, &buffer);
      if (!f.ok()) {
        failure = f.status();
        break;
      }
      if (!f->has_value()) {
        failure = Status::Io("data plane: connection {} closed by the receiver", peer_);
        break;
      }
      if ((*f)->kind != FrameKind::kCredit) {
        failure = Status::Io("data plane: connection {} sent data back", peer_);
        break;
      }
      std::shared_ptr<OutboundChannelImpl> c;
      {
        std::lock_guard lock(mu_);
        auto it = channels_.find((*f)->channel);
        if (it != channels_.end()) c = it->second;
      }
      if (c) c->Grant((*f)->credit);
    }
    std::lock_guard lock(mu_);
    failure_ = failure;
    for (auto& [id, c] : channels_) c->Fail(failure);
    reader_done_ = true;
    reader_done_cv_.notify_all();
  }

  static constexpr std::chrono::seconds kCloseTimeout{10};

  int fd_;
  int64_t initial_credit_;
  std::string peer_;
  std::thread reader_;
  std::mutex write_mu_;
  std::atomic<int64_t> bytes_sent_{0};
  std::mutex mu_;
  bool closed_ = false;
  bool fd_closed_ = false;    // under mu_: fd_ no longer ours (Abort must not touch it)
  bool reader_done_ = false;  // under mu_: the credit reader saw the end of the connection
  std::condition_variable reader_done_cv_;
  Status failure_;  // under mu_
  std::unordered_map<ChannelId, std::shared_ptr<OutboundChannelImpl>, ChannelIdHash> channels_;
};

Status OutboundChannelImpl::Send(const runtime::Message& message) {
  bool is_batch = std::holds_alternative<batch::BatchPtr>(message);
  frame_.clear();
  size_t payload = EncodeMessage(id_, message, &frame_);
  {
    std::unique_lock lock(mu_);
    if (is_batch) cv_.wait(lock, [&] { return credit_ > 0 || !failure_.ok(); });
    if (!failure_.ok()) return failure_;
    if (is_batch) credit_ -= static_cast<int64_t>(payload);
  }
  return sender_->Write(frame_, is_batch ? payload : 0);
}

}  // namespace

Result<std::unique_ptr<DataPlaneReceiver>> DataPlaneReceiver::Listen(const std::string& host,
                                                                     int port, Options options) {
  SLUICE_ASSIGN_OR_RETURN(sockaddr_in addr, Resolve(host, port));
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::Io("data plane: socket: {}", Errno());
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || ::listen(fd, 64) != 0) {
    std::string err = Errno();
    ::close(fd);
    return Status::Io("data plane: cannot listen on {}:{}: {}", host, port, err);
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return std::unique_ptr<DataPlaneReceiver>(
      new ReceiverImpl(fd, ntohs(addr.sin_port), std::move(options)));
}

Result<std::unique_ptr<DataPlaneSender>> DataPlaneSender::Connect(
    const std::string& host, int port, const Handshake& handshake,
    std::chrono::milliseconds timeout) {
  SLUICE_ASSIGN_OR_RETURN(sockaddr_in addr, Resolve(host, port));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string peer = fmt::format("to worker {} at {}:{}", handshake.to_worker, host, port);
  for (;;) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return Status::Io("data plane: socket: {}", Errno());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      std::string err = Errno();
      ::close(fd);
      if (std::chrono::steady_clock::now() >= deadline) {
        return Status::Io("data plane: cannot connect {} within {} ms: {}", peer, timeout.count(),
                          err);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      continue;
    }
    SetNoDelay(fd);
    if (!WriteAll(fd, EncodeHandshake(handshake))) {
      ::close(fd);
      return Status::Io("data plane: connection {} closed during the handshake", peer);
    }
    auto reply = ReadPrefixed(fd, "handshake reply");
    if (!reply.ok()) {
      ::close(fd);
      return reply.status().WithContext(peer);
    }
    batch::ByteReader r(*reply, "data plane handshake reply");
    uint8_t refused = 1;
    int64_t credit = 0;
    std::string_view message;
    Status st = r.Get(&refused);
    if (st.ok()) st = r.Get(&credit);
    if (st.ok()) st = r.GetBytes(&message);
    if (!st.ok()) {
      ::close(fd);
      return st;
    }
    if (refused != 0 || credit <= 0) {
      ::close(fd);
      return Status::User("data plane: worker {} refused the connection: {}", handshake.to_worker,
                          message);
    }
    return std::unique_ptr<DataPlaneSender>(new SenderImpl(fd, credit, peer));
  }
}

}  // namespace sluice::dist
