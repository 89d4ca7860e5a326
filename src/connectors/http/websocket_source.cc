// websocket source: reads a WebSocket server's messages (text or binary; each one record for the
// table's format) with Boost.Beast on the reader thread, which runs its own Asio io_context;
// wss:// over TLS (OpenSSL through Asio), the certificate and host name verified.
// After each connection opens it sends subscription_message and subscription_messages in order.
//
// Reconnects: a closed or failed connection is reopened after the backoff (100ms doubling up to
// backoff.max) and the subscription messages are sent again; no connection within
// connect.timeout at start, or reconnect.timeout after a drop, fails the pipeline.
//
// Delivery: at-most-once. WebSocket has no position: a restore reads what the server sends after
// the new connection opens. The event time is the wall clock when the message was read.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <fmt/format.h>

#include "connectors/http/message_source.h"

namespace sluice::connectors::http {

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;

class WebsocketSource : public MessageSource {
 public:
  WebsocketSource(const TableSpec& spec, const WebsocketOptions& options)
      : MessageSource(spec, "websocket message"), o_(options) {}
  ~WebsocketSource() override { StopReader(); }

 protected:
  Status RunReader(Feed& feed, const std::optional<std::string>&) override {
    Reconnects reconnects(o_);
    while (!feed.stopping()) {
      std::string why;
      bool opened = false;
      // One io_context per connection: destroyed (with the session's coroutine frame) before
      // `why` and `opened`, which the session and its completion handler refer to.
      net::io_context ioc(1);
      {
        std::lock_guard lock(mu_);
        if (feed.stopping()) break;
        current_ = &ioc;
      }
      net::co_spawn(ioc, Session(feed, &opened), [&](std::exception_ptr e) {
        if (!e) return;
        try {
          std::rethrow_exception(e);
        } catch (const boost::system::system_error& err) {
          why = err.code() == websocket::error::closed ? "the server closed the connection"
                                                       : err.code().message();
        } catch (const std::exception& err) {
          why = err.what();
        }
      });
      ioc.run();
      {
        std::lock_guard lock(mu_);
        current_ = nullptr;
      }
      if (feed.stopping()) break;
      if (why.empty()) why = "the server closed the connection";
      if (opened) reconnects.Connected();
      SLUICE_RETURN_NOT_OK(reconnects.Failed(feed, "the WebSocket server", why));
    }
    return Status::Ok();
  }

  void Interrupt() override {
    std::lock_guard lock(mu_);
    if (current_ != nullptr) current_->stop();
  }

 private:
  net::awaitable<void> Session(Feed& feed, bool* opened) {
    auto ex = co_await net::this_coro::executor;
    tcp::resolver resolver(ex);
    const auto timeout =
        std::chrono::microseconds(std::min<int64_t>(o_.connect_timeout_us, 30'000'000));
    if (o_.endpoint.scheme == "ws") {
      websocket::stream<beast::tcp_stream> ws(ex);
      beast::get_lowest_layer(ws).expires_after(timeout);
      auto endpoints =
          co_await resolver.async_resolve(o_.endpoint.host, o_.endpoint.port, net::use_awaitable);
      co_await beast::get_lowest_layer(ws).async_connect(endpoints, net::use_awaitable);
      co_await Run(ws, feed, opened);
      co_return;
    }
    // wss: TLS, the server's certificate verified against the system's CAs or tls.ca, and its
    // name against the endpoint's host.
    net::ssl::context tls(net::ssl::context::tls_client);
    if (o_.tls_ca.empty()) {
      tls.set_default_verify_paths();
    } else {
      tls.load_verify_file(o_.tls_ca);
    }
    tls.set_verify_mode(net::ssl::verify_peer);
    websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws(ex, tls);
    if (!SSL_set_tlsext_host_name(ws.next_layer().native_handle(), o_.endpoint.host.c_str())) {
      throw std::runtime_error("cannot set the TLS server name");
    }
    ws.next_layer().set_verify_callback(net::ssl::host_name_verification(o_.endpoint.host));
    beast::get_lowest_layer(ws).expires_after(timeout);
    auto endpoints =
        co_await resolver.async_resolve(o_.endpoint.host, o_.endpoint.port, net::use_awaitable);
    co_await beast::get_lowest_layer(ws).async_connect(endpoints, net::use_awaitable);
    co_await ws.next_layer().async_handshake(net::ssl::stream_base::client, net::use_awaitable);
    co_await Run(ws, feed, opened);
  }

  // After the transport is up: the WebSocket handshake, the subscription messages, the reads.
  template <typename Stream>
  net::awaitable<void> Run(Stream& ws, Feed& feed, bool* opened) {
    beast::get_lowest_layer(ws).expires_never();
    websocket::stream_base::timeout timeouts =
        websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.handshake_timeout =
        std::chrono::microseconds(std::min<int64_t>(o_.connect_timeout_us, 30'000'000));
    ws.set_option(timeouts);
    ws.set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
      for (const auto& [k, v] : o_.headers) req.set(k, v);
    }));
    const bool default_port = (o_.endpoint.scheme == "ws" && o_.endpoint.port == "80") ||
                              (o_.endpoint.scheme == "wss" && o_.endpoint.port == "443");
    const std::string host =
        default_port ? o_.endpoint.host : fmt::format("{}:{}", o_.endpoint.host, o_.endpoint.port);
    co_await ws.async_handshake(host, o_.endpoint.target, net::use_awaitable);
    *opened = true;
    for (const std::string& m : o_.subscription_messages) {
      ws.text(true);
      co_await ws.async_write(net::buffer(m), net::use_awaitable);
    }
    beast::flat_buffer buffer;
    for (;;) {
      co_await ws.async_read(buffer, net::use_awaitable);
      Message m;
      m.payload = beast::buffers_to_string(buffer.data());
      buffer.consume(buffer.size());
      if (!feed.Push(std::move(m))) co_return;
    }
  }

  WebsocketOptions o_;
  std::mutex mu_;                       // current_, against Interrupt from Close
  net::io_context* current_ = nullptr;  // the running connection's
};

}  // namespace

std::unique_ptr<runtime::SourceOperator> MakeWebsocketSource(const TableSpec& spec,
                                                             const WebsocketOptions& options) {
  return std::make_unique<WebsocketSource>(spec, options);
}

}  // namespace sluice::connectors::http
