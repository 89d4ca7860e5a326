// A buffered TCP/TLS connection; see buffered_socket.h.

#include "connectors/net/buffered_socket.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/time.h"

namespace sluice::connectors::net {

namespace {

constexpr size_t kInitialBytes = 256 << 10;  // one read takes up to this much
constexpr size_t kMinReadBytes = 64 << 10;   // room kept free after the buffered bytes
constexpr size_t kTlsReadBytes = 64 << 10;   // ciphertext read per recv

int64_t NowMicros() {
  return Now().value;
}

// poll() on one descriptor for at most `timeout_us` (rounded up to milliseconds).
bool PollFor(int fd, short events, int64_t timeout_us) {
  pollfd p{fd, events, 0};
  const int64_t ms = timeout_us <= 0 ? 0 : std::min<int64_t>((timeout_us + 999) / 1000, 1 << 30);
  int rc;
  do {
    rc = ::poll(&p, 1, static_cast<int>(ms));
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

// The first OpenSSL error queued (and clears the queue), or `fallback`.
std::string OpenSslError(std::string_view fallback) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return std::string(fallback);
  char text[256];
  ERR_error_string_n(e, text, sizeof(text));
  // "error:0A000086:SSL routines::certificate verify failed": the reason is the last part.
  std::string_view s(text);
  if (size_t colon = s.rfind(':'); colon != std::string_view::npos && colon + 1 < s.size()) {
    s = s.substr(colon + 1);
  }
  return std::string(s);
}

bool IsIpAddress(const std::string& host) {
  unsigned char addr[sizeof(in6_addr)];
  return inet_pton(AF_INET, host.c_str(), addr) == 1 ||
         inet_pton(AF_INET6, host.c_str(), addr) == 1;
}

}  // namespace

struct BufferedSocket::Tls {
  SSL_CTX* ctx = nullptr;
  SSL* ssl = nullptr;
  BIO* in = nullptr;   // ciphertext received, for OpenSSL to read (owned by ssl)
  BIO* out = nullptr;  // ciphertext OpenSSL wrote, for us to send (owned by ssl)
  std::vector<char> raw;
  ~Tls() {
    if (ssl != nullptr) SSL_free(ssl);
    if (ctx != nullptr) SSL_CTX_free(ctx);
  }
};

Result<std::unique_ptr<BufferedSocket>> BufferedSocket::Connect(const SocketOptions& options,
                                                                int64_t deadline_us,
                                                                std::string peer) {
  std::unique_ptr<BufferedSocket> s(new BufferedSocket());
  s->peer_ = std::move(peer);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const std::string port = std::to_string(options.port);
  const int gai = getaddrinfo(options.host.c_str(), port.c_str(), &hints, &res);
  if (gai != 0) {
    return Status::Io("cannot resolve host '{}': {}", options.host, gai_strerror(gai));
  }
  std::string last = "no address";
  for (addrinfo* a = res; a != nullptr && s->fd_ < 0; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
      last = std::strerror(errno);
      continue;
    }
    int rc = ::connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno == EINPROGRESS) {
      if (PollFor(fd, POLLOUT, deadline_us - NowMicros())) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        rc = err == 0 ? 0 : -1;
        errno = err;
      } else {
        rc = -1;
        errno = ETIMEDOUT;
      }
    }
    if (rc == 0) {
      int one = 1;
      setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
      s->fd_ = fd;
      break;
    }
    last = std::strerror(errno);
    ::close(fd);
  }
  freeaddrinfo(res);
  if (s->fd_ < 0) return Status::Io("{}", last);
  if (options.tls) SLUICE_RETURN_NOT_OK(s->Handshake(options, deadline_us));
  return s;
}

BufferedSocket::~BufferedSocket() {
  tls_.reset();
  if (fd_ >= 0) ::close(fd_);
}

Status BufferedSocket::Handshake(const SocketOptions& options, int64_t deadline_us) {
  tls_ = std::make_unique<Tls>();
  Tls& t = *tls_;
  t.ctx = SSL_CTX_new(TLS_client_method());
  if (t.ctx == nullptr) return Status::Io("cannot create a TLS context: {}", OpenSslError("?"));
  SSL_CTX_set_min_proto_version(t.ctx, TLS1_2_VERSION);
  SSL_CTX_set_verify(t.ctx, SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(t.ctx, options.tls_ca.c_str(), nullptr) != 1) {
    return Status::User("cannot read the CA certificate file '{}' (tls.ca): {}", options.tls_ca,
                        OpenSslError("unreadable"));
  }
  if (!options.tls_cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(t.ctx, options.tls_cert.c_str()) != 1) {
      return Status::User("cannot read the client certificate file '{}' (tls.cert): {}",
                          options.tls_cert, OpenSslError("unreadable"));
    }
    if (SSL_CTX_use_PrivateKey_file(t.ctx, options.tls_key.c_str(), SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(t.ctx) != 1) {
      return Status::User("cannot use the client key file '{}' (tls.key): {}", options.tls_key,
                          OpenSslError("unreadable or not the certificate's key"));
    }
  }
  t.ssl = SSL_new(t.ctx);
  t.in = BIO_new(BIO_s_mem());
  t.out = BIO_new(BIO_s_mem());
  if (t.ssl == nullptr || t.in == nullptr || t.out == nullptr) {
    if (t.in != nullptr) BIO_free(t.in);
    if (t.out != nullptr) BIO_free(t.out);
    return Status::Io("cannot create a TLS session: {}", OpenSslError("out of memory"));
  }
  SSL_set_bio(t.ssl, t.in, t.out);
  // The certificate must name the host we connected to (its IP address, or its DNS name).
  if (IsIpAddress(options.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t.ssl), options.host.c_str());
  } else {
    SSL_set_tlsext_host_name(t.ssl, options.host.c_str());
    SSL_set1_host(t.ssl, options.host.c_str());
  }
  SSL_set_connect_state(t.ssl);
  t.raw.resize(kTlsReadBytes);
  for (;;) {
    ERR_clear_error();  // SSL_get_error reads this thread's queue: no stale errors in it
    const int rc = SSL_do_handshake(t.ssl);
    const int err = rc == 1 ? SSL_ERROR_NONE : SSL_get_error(t.ssl, rc);
    SLUICE_RETURN_NOT_OK(FlushTls(deadline_us));
    if (rc == 1) return Status::Ok();
    if (err != SSL_ERROR_WANT_READ) {
      const long verify = SSL_get_verify_result(t.ssl);
      if (verify != X509_V_OK) {
        ERR_clear_error();
        return Status::User("TLS: the server's certificate does not verify: {}",
                            X509_verify_cert_error_string(verify));
      }
      return Status::Io("TLS handshake failed: {}", OpenSslError("the connection broke"));
    }
    if (!PollFor(fd_, POLLIN, deadline_us - NowMicros())) {
      return Status::Io("TLS handshake: no answer in time");
    }
    auto n = RecvRaw(t.raw.data(), t.raw.size());
    if (!n.ok()) return Status::Io("TLS handshake: the server closed the connection");
    if (*n > 0) BIO_write(t.in, t.raw.data(), static_cast<int>(*n));
  }
}

Status BufferedSocket::SendRaw(const char* data, size_t size, int64_t deadline_us) {
  size_t off = 0;
  while (off < size) {
    const ssize_t n = ::send(fd_, data + off, size - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return Status::Io("writing to {}: {}", peer_, std::strerror(errno));
    }
    const int64_t wait = deadline_us - NowMicros();
    if (wait <= 0) return Status::Io("writing to {} timed out", peer_);
    PollFor(fd_, POLLOUT, wait);
  }
  return Status::Ok();
}

Result<size_t> BufferedSocket::RecvRaw(char* into, size_t room) {
  for (;;) {
    const ssize_t n = ::recv(fd_, into, room, 0);
    if (n > 0) return static_cast<size_t>(n);
    if (n == 0) return Status::Io("{} closed the connection", peer_);
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return size_t{0};
    return Status::Io("reading from {}: {}", peer_, std::strerror(errno));
  }
}

Status BufferedSocket::FlushTls(int64_t deadline_us) {
  char chunk[16 << 10];
  for (;;) {
    const int n = BIO_read(tls_->out, chunk, sizeof(chunk));
    if (n <= 0) return Status::Ok();
    SLUICE_RETURN_NOT_OK(SendRaw(chunk, static_cast<size_t>(n), deadline_us));
  }
}

void BufferedSocket::Reserve(size_t want) {
  const size_t capacity = buf_.empty() ? 0 : buf_.size() - kPadding;
  const size_t held = tail_ - head_;
  const size_t need = std::max(want, held + kMinReadBytes);
  if (capacity - tail_ >= kMinReadBytes && capacity - head_ >= want) return;
  if (head_ > 0) {  // move the partial packet to the front
    std::memmove(buf_.data(), buf_.data() + head_, held);
    head_ = 0;
    tail_ = held;
  }
  if (capacity < need) {
    buf_.resize(std::max({capacity * 2, need, kInitialBytes}) + kPadding);
  }
}

Result<size_t> BufferedSocket::Read(size_t want) {
  Reserve(want);
  const size_t capacity = buf_.size() - kPadding;
  if (!tls_) {
    SLUICE_ASSIGN_OR_RETURN(size_t n, RecvRaw(buf_.data() + tail_, capacity - tail_));
    tail_ += n;
    return n;
  }
  // TLS: what OpenSSL holds already, then one read of ciphertext, decrypted into the buffer.
  size_t total = 0;
  bool closed = false;
  Status failure;
  ERR_clear_error();  // SSL_get_error reads this thread's queue: no stale errors in it
  for (int round = 0; round < 2; ++round) {
    while (tail_ < capacity) {
      const int n = SSL_read(tls_->ssl, buf_.data() + tail_, static_cast<int>(capacity - tail_));
      if (n > 0) {
        tail_ += static_cast<size_t>(n);
        total += static_cast<size_t>(n);
        continue;
      }
      const int err = SSL_get_error(tls_->ssl, n);
      if (err == SSL_ERROR_WANT_READ) break;
      if (err == SSL_ERROR_ZERO_RETURN) {
        closed = true;
        break;
      }
      return Status::Io("reading from {} (TLS): {}", peer_, OpenSslError("the connection broke"));
    }
    if (round == 1 || closed || tail_ >= capacity) break;
    auto raw = RecvRaw(tls_->raw.data(), tls_->raw.size());
    if (!raw.ok()) {
      failure = raw.status();
      break;
    }
    if (*raw == 0) break;
    BIO_write(tls_->in, tls_->raw.data(), static_cast<int>(*raw));
  }
  // OpenSSL may have answered something (a TLS 1.3 key update): send it.
  SLUICE_RETURN_NOT_OK(FlushTls(NowMicros() + 5'000'000));
  if (total > 0) return total;
  if (closed) return Status::Io("{} closed the connection", peer_);
  if (!failure.ok()) return failure;
  return size_t{0};
}

bool BufferedSocket::WaitReadable(int64_t timeout_us) {
  if (tls_ && (SSL_pending(tls_->ssl) > 0 || BIO_ctrl_pending(tls_->in) > 0)) return true;
  return PollFor(fd_, POLLIN, timeout_us);
}

Status BufferedSocket::Send(std::string_view bytes, int64_t deadline_us) {
  if (!tls_) return SendRaw(bytes.data(), bytes.size(), deadline_us);
  if (bytes.empty()) return Status::Ok();
  // Into the memory BIO, which always takes all of it; then out to the socket.
  ERR_clear_error();
  if (SSL_write(tls_->ssl, bytes.data(), static_cast<int>(bytes.size())) <= 0) {
    return Status::Io("writing to {} (TLS): {}", peer_, OpenSslError("the session failed"));
  }
  return FlushTls(deadline_us);
}

}  // namespace sluice::connectors::net
