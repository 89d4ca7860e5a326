#include "api/http_server.h"

#include <chrono>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace sluice::api {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::string ErrorJson(const std::string& message) {
  boost::json::object o;
  o["error"] = message;
  return boost::json::serialize(o);
}

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler handler;
  std::atomic<int64_t> streams{0};
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::vector<std::thread> threads;

  Impl(HttpServerOptions o, HttpHandler h)
      : options(std::move(o)), handler(std::move(h)), ioc(std::max(1, options.threads)) {}
  void Accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server), timer_(stream_.get_executor()) {}
  ~Session() {
    if (streaming_) --server_->streams;
  }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->Read(); });
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->body_limit(server_->options.body_limit);
    stream_.expires_after(std::chrono::seconds(120));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == net::error::eof) return Close();
    if (ec == http::error::body_limit) {
      return WriteError(413, "the request body is larger than " +
                                 std::to_string(server_->options.body_limit) + " bytes");
    }
    if (ec == beast::error::timeout || ec == net::error::operation_aborted ||
        ec == net::error::connection_reset) {
      return;
    }
    if (ec) return WriteError(400, "malformed HTTP request: " + ec.message());
    http::request<http::string_body> req = parser_->release();
    HttpRequest r;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    r.body = std::move(req.body());
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      r.headers[name] = std::string(field.value());
    }
    HttpResponse resp;
    try {
      resp = server_->handler(r);
    } catch (const std::exception& e) {
      resp.status = 500;
      resp.body = ErrorJson(std::string("internal error: ") + e.what());
    }
    if (resp.stream) return StartStream(std::move(resp));
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(resp.status), req.version());
    res->set(http::field::server, "sluice");
    res->set(http::field::content_type, resp.content_type);
    for (const auto& [k, v] : resp.headers) res->set(k, v);
    res->keep_alive(req.keep_alive());
    res->body() = std::move(resp.body);
    res->prepare_payload();
    Write(std::move(res));
  }

  void WriteError(int status, const std::string& message) {
    auto res =
        std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
    res->set(http::field::server, "sluice");
    res->set(http::field::content_type, "application/json");
    res->keep_alive(false);
    res->body() = ErrorJson(message);
    res->prepare_payload();
    Write(std::move(res));
  }

  void Write(std::shared_ptr<http::response<http::string_body>> res) {
    bool close = res->need_eof();
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res, close](beast::error_code ec, size_t) {
                        if (ec) return;
                        if (close) return self->Close();
                        self->Read();
                      });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  // Server-Sent Events: the header, then whatever the stream yields, until it is done or the
  // client goes away. Connection: close ends the body.
  void StartStream(HttpResponse resp) {
    streaming_ = true;
    ++server_->streams;
    events_ = std::move(resp.stream);
    heartbeat_ms_ = resp.heartbeat_ms;
    stream_.expires_never();
    out_ =
        "HTTP/1.1 200 OK\r\nServer: sluice\r\nContent-Type: text/event-stream\r\n"
        "Cache-Control: no-cache\r\nX-Accel-Buffering: no\r\nConnection: close\r\n";
    for (const auto& [k, v] : resp.headers) out_ += k + ": " + v + "\r\n";
    out_ += "\r\n";
    // A first comment so clients see the stream open at once.
    out_ += ": stream open\n\n";
    WriteStream(false);
  }

  // After a write completes the stream is polled again at once (rows may be waiting: a busy
  // stream is limited by the socket, not by the poll interval); a poll that finds nothing
  // waits for the timer.
  void WriteStream(bool done) {
    last_write_ = std::chrono::steady_clock::now();
    net::async_write(stream_, net::buffer(out_),
                     [self = shared_from_this(), done](beast::error_code ec, size_t) {
                       if (ec) return;
                       if (done) return self->Close();
                       self->PollStream();
                     });
  }

  void WaitStream() {
    timer_.expires_after(std::chrono::milliseconds(server_->options.poll_ms));
    timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;
      self->PollStream();
    });
  }

  void PollStream() {
    bool done = false;
    out_ = events_->Poll(&done);
    if (out_.empty() && std::chrono::steady_clock::now() - last_write_ >=
                            std::chrono::milliseconds(heartbeat_ms_)) {
      out_ = ": heartbeat\n\n";
    }
    if (out_.empty() && !done) return WaitStream();
    WriteStream(done);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  // Event streams.
  bool streaming_ = false;
  std::shared_ptr<EventStream> events_;
  net::steady_timer timer_;
  std::string out_;
  int heartbeat_ms_ = 15000;
  std::chrono::steady_clock::time_point last_write_;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) std::make_shared<Session>(std::move(socket), this)->Run();
    Accept();
  });
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler))) {}

HttpServer::~HttpServer() {
  Stop();
}

Status HttpServer::Listen() {
  beast::error_code ec;
  auto address = net::ip::make_address(impl_->options.host, ec);
  if (ec) {
    return Status::User("--listen: '{}' is not an IP address: {}", impl_->options.host,
                        ec.message());
  }
  tcp::endpoint endpoint(address, static_cast<unsigned short>(impl_->options.port));
  auto& a = impl_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Io("cannot listen on {}:{}: {}", impl_->options.host, impl_->options.port,
                      ec.message());
  }
  port_ = a.local_endpoint().port();
  return Status::Ok();
}

void HttpServer::Start() {
  impl_->Accept();
  for (int i = 0; i < std::max(1, impl_->options.threads); ++i) {
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
  }
}

void HttpServer::Stop() {
  if (impl_->threads.empty()) return;
  net::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  impl_->ioc.stop();
  for (auto& t : impl_->threads) t.join();
  impl_->threads.clear();
}

int64_t HttpServer::open_streams() const {
  return impl_->streams.load();
}

}  // namespace sluice::api
