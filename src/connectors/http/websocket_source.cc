// websocket source: reads a WebSocket server's messages (text or binary; each one record for the
// table's format) with Boost.Beast on the reader thread, which runs its own Asio io_context.
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
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

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
      {
        std::lock_guard lock(mu_);
        if (feed.stopping()) break;
        ioc_.restart();
      }
      net::co_spawn(ioc_, Session(feed, &opened), [&](std::exception_ptr e) {
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
      ioc_.run();
      if (feed.stopping()) break;
      if (why.empty()) why = "the server closed the connection";
      if (opened) reconnects.Connected();
      SLUICE_RETURN_NOT_OK(reconnects.Failed(feed, "the WebSocket server", why));
    }
    return Status::Ok();
  }

  void Interrupt() override {
    std::lock_guard lock(mu_);
    ioc_.stop();
  }

 private:
  net::awaitable<void> Session(Feed& feed, bool* opened) {
    auto ex = co_await net::this_coro::executor;
    tcp::resolver resolver(ex);
    websocket::stream<beast::tcp_stream> ws(ex);
    auto& tcp_layer = beast::get_lowest_layer(ws);
    tcp_layer.expires_after(
        std::chrono::microseconds(std::min<int64_t>(o_.connect_timeout_us, 30'000'000)));
    auto endpoints =
        co_await resolver.async_resolve(o_.endpoint.host, o_.endpoint.port, net::use_awaitable);
    co_await tcp_layer.async_connect(endpoints, net::use_awaitable);
    tcp_layer.expires_never();
    websocket::stream_base::timeout timeouts =
        websocket::stream_base::timeout::suggested(beast::role_type::client);
    timeouts.handshake_timeout =
        std::chrono::microseconds(std::min<int64_t>(o_.connect_timeout_us, 30'000'000));
    ws.set_option(timeouts);
    ws.set_option(websocket::stream_base::decorator([this](websocket::request_type& req) {
      for (const auto& [k, v] : o_.headers) req.set(k, v);
    }));
    const std::string host = o_.endpoint.port == "80"
                                 ? o_.endpoint.host
                                 : fmt::format("{}:{}", o_.endpoint.host, o_.endpoint.port);
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
  std::mutex mu_;  // ioc_.restart() against stop() from Close
  net::io_context ioc_{1};
};

}  // namespace

std::unique_ptr<runtime::SourceOperator> MakeWebsocketSource(const TableSpec& spec,
                                                             const WebsocketOptions& options) {
  return std::make_unique<WebsocketSource>(spec, options);
}

}  // namespace sluice::connectors::http
