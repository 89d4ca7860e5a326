// net::BufferedSocket over a real loopback TCP connection (a listener of the test's own):
// bytes arriving in pieces, one read taking everything that has arrived, consuming, a packet
// larger than the initial buffer, the peer closing, a refused connection. TLS is tested against
// a real broker (tests/connectors/mqtt_test.py).

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "common/time.h"
#include "connectors/net/buffered_socket.h"

namespace sluice::connectors::net {
namespace {

class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() {
    if (peer_ >= 0) ::close(peer_);
    ::close(fd_);
  }
  int port() const { return port_; }
  void Accept() { peer_ = ::accept(fd_, nullptr, nullptr); }
  void Write(const std::string& s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = ::send(peer_, s.data() + off, s.size() - off, MSG_NOSIGNAL);
      ASSERT_GT(n, 0);
      off += static_cast<size_t>(n);
    }
  }
  std::string ReadExactly(size_t n) {
    std::string s(n, '\0');
    size_t off = 0;
    while (off < n) {
      ssize_t r = ::recv(peer_, s.data() + off, n - off, 0);
      if (r <= 0) break;
      off += static_cast<size_t>(r);
    }
    return s.substr(0, off);
  }
  void ClosePeer() {
    ::close(peer_);
    peer_ = -1;
  }

 private:
  int fd_ = -1;
  int peer_ = -1;
  int port_ = 0;
};

std::unique_ptr<BufferedSocket> ConnectTo(int port) {
  SocketOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  auto s = BufferedSocket::Connect(o, Now().value + 5'000'000, "the test server");
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(*s) : nullptr;
}

// Reads until `n` bytes are buffered (5 s at most).
void ReadUntil(BufferedSocket& s, size_t n, size_t want = 0) {
  const int64_t deadline = Now().value + 5'000'000;
  while (s.buffered().size() < n && Now().value < deadline) {
    s.WaitReadable(100'000);
    auto r = s.Read(want);
    ASSERT_TRUE(r.ok()) << r.status().message();
  }
}

TEST(BufferedSocketTest, PiecesAccumulateAndAreConsumed) {
  Listener l;
  auto s = ConnectTo(l.port());
  ASSERT_NE(s, nullptr);
  l.Accept();
  auto none = s->Read();
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, 0u);  // nothing arrived: no wait, no error
  l.Write("abc");
  ReadUntil(*s, 3);
  l.Write("defgh");
  ReadUntil(*s, 8);
  EXPECT_EQ(s->buffered(), "abcdefgh");
  s->Consume(5);
  EXPECT_EQ(s->buffered(), "fgh");
  l.Write("ij");
  ReadUntil(*s, 5);
  EXPECT_EQ(s->buffered(), "fghij");
  s->Consume(5);
  EXPECT_TRUE(s->buffered().empty());
}

TEST(BufferedSocketTest, GrowsForAPacketLargerThanTheBuffer) {
  Listener l;
  auto s = ConnectTo(l.port());
  ASSERT_NE(s, nullptr);
  l.Accept();
  std::string big(3 << 20, 'x');
  for (size_t i = 0; i < big.size(); i += 4096) big[i] = static_cast<char>('a' + i / 4096 % 26);
  l.Write("hdr");
  ReadUntil(*s, 3);
  s->Consume(1);  // a partial packet not at the buffer's front
  std::thread writer([&] { l.Write(big); });
  ReadUntil(*s, 2 + big.size(), 2 + big.size());
  writer.join();
  ASSERT_EQ(s->buffered().size(), 2 + big.size());
  EXPECT_EQ(s->buffered().substr(0, 2), "dr");
  EXPECT_TRUE(s->buffered().substr(2) == big);
}

TEST(BufferedSocketTest, SendReachesThePeer) {
  Listener l;
  auto s = ConnectTo(l.port());
  ASSERT_NE(s, nullptr);
  l.Accept();
  ASSERT_TRUE(s->Send("hello", Now().value + 1'000'000).ok());
  EXPECT_EQ(l.ReadExactly(5), "hello");
}

TEST(BufferedSocketTest, PeerClosingIsAnErrorNamingThePeer) {
  Listener l;
  auto s = ConnectTo(l.port());
  ASSERT_NE(s, nullptr);
  l.Accept();
  l.Write("last");
  l.ClosePeer();
  ReadUntil(*s, 4);
  EXPECT_EQ(s->buffered(), "last");  // what arrived before the close is kept
  ASSERT_TRUE(s->WaitReadable(1'000'000));
  auto r = s->Read();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("the test server closed the connection"), std::string::npos);
}

TEST(BufferedSocketTest, RefusedConnection) {
  int port;
  {
    Listener l;
    port = l.port();
  }  // closed: nothing listens there now
  SocketOptions o;
  o.host = "127.0.0.1";
  o.port = port;
  auto s = BufferedSocket::Connect(o, Now().value + 2'000'000, "x");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("refused"), std::string::npos) << s.status().message();
}

TEST(BufferedSocketTest, MissingCaFileIsAUserError) {
  Listener l;
  SocketOptions o;
  o.host = "127.0.0.1";
  o.port = l.port();
  o.tls = true;
  o.tls_ca = "/nonexistent/ca.crt";
  auto s = BufferedSocket::Connect(o, Now().value + 2'000'000, "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().kind(), ErrorKind::kUser);
  EXPECT_NE(s.status().message().find("/nonexistent/ca.crt"), std::string::npos);
}

}  // namespace
}  // namespace sluice::connectors::net
