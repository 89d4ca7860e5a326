#pragma once
// A TCP connection (optionally TLS) with a receive buffer, for Sluice's own protocol clients
// (MQTT, RabbitMQ Streams): one large read fills the buffer with as many packets as have
// arrived, the client decodes every whole packet in place and consumes them, so a stream of
// small messages costs one system call per buffer, not several per message.
//
// One BufferedSocket is used by one thread. Nothing blocks longer than the deadline or timeout
// given. TLS runs OpenSSL over memory BIOs: the socket I/O stays ours (send with MSG_NOSIGNAL,
// so a peer that closed never raises SIGPIPE), and SSL_read decrypts into the same buffer.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::connectors::net {

struct SocketOptions {
  std::string host;
  int port = 0;
  bool tls = false;
  std::string tls_ca;    // CA certificate file that signs the server's certificate (TLS)
  std::string tls_cert;  // client certificate file (optional)
  std::string tls_key;   // its key file
};

class BufferedSocket {
 public:
  // Bytes kept readable (never written by reads) after the buffered data, so a decoder that
  // reads ahead (simdjson) may parse a record in place (formats::kLinePadding).
  static constexpr size_t kPadding = 64;

  // Connects to host:port (each address getaddrinfo gives, in turn) and completes the TLS
  // handshake (the server's certificate verified against tls_ca and its name or IP address)
  // before `deadline_us` (Now() microseconds). Errors carry the reason only ("Connection
  // refused", "certificate verify failed: ...") for the caller to place; `peer` names the other
  // end in later errors ("the MQTT broker at host:1883").
  static Result<std::unique_ptr<BufferedSocket>> Connect(const SocketOptions& options,
                                                         int64_t deadline_us, std::string peer);
  ~BufferedSocket();
  BufferedSocket(const BufferedSocket&) = delete;
  BufferedSocket& operator=(const BufferedSocket&) = delete;

  // The bytes received and not consumed yet; kPadding readable bytes follow them. Valid until
  // the next Read.
  std::string_view buffered() const { return std::string_view(buf_.data() + head_, tail_ - head_); }
  void Consume(size_t n) {
    head_ += n;
    if (head_ == tail_) head_ = tail_ = 0;
  }
  // One read of what the connection holds now (never waits), appended to the buffered bytes;
  // the buffer grows so that at least `want` bytes fit in all (a packet known to be that long).
  // Returns the number of bytes read: 0 when nothing has arrived. The peer closing the
  // connection or a socket/TLS failure is an error naming the peer.
  Result<size_t> Read(size_t want = 0);
  // Waits up to `timeout_us` for bytes to read; true when there are some (or the connection
  // ended: the next Read says how).
  bool WaitReadable(int64_t timeout_us);
  // Sends all of `bytes` (encrypted with TLS), waiting for room in the socket until
  // `deadline_us`.
  Status Send(std::string_view bytes, int64_t deadline_us);

  const std::string& peer() const { return peer_; }
  bool tls() const { return tls_ != nullptr; }

 private:
  struct Tls;
  BufferedSocket() = default;
  Status Handshake(const SocketOptions& options, int64_t deadline_us);
  // Raw socket I/O (the ciphertext with TLS).
  Status SendRaw(const char* data, size_t size, int64_t deadline_us);
  Result<size_t> RecvRaw(char* into, size_t room);
  // Makes room for `want` bytes in all and at least a read's worth after tail_.
  void Reserve(size_t want);
  // Sends the ciphertext OpenSSL has produced.
  Status FlushTls(int64_t deadline_us);

  int fd_ = -1;
  std::string peer_;
  std::vector<char> buf_;  // [head_, tail_) received; kPadding bytes after the capacity
  size_t head_ = 0;
  size_t tail_ = 0;
  std::unique_ptr<Tls> tls_;  // null without TLS
};

}  // namespace sluice::connectors::net
