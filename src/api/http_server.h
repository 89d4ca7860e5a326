#pragma once
// A small HTTP/1.1 server over Boost.Beast: keep-alive connections, a body limit, one handler
// for every request, and Server-Sent Events streams. The handler runs on one of the server's
// threads and must not block for long.
//
// Threading: Start() runs the io_context on `threads` threads; Stop() from any thread closes
// the listener and every connection and joins them.

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace sluice::api {

struct HttpRequest {
  std::string method;  // GET, POST, ...
  std::string target;  // path and query, as sent
  std::string body;
  std::map<std::string, std::string> headers;  // names lower case
};

// A live stream of Server-Sent Events. The server calls Poll on the connection's strand as soon
// as the previous text was written to the socket, or `poll_ms` milliseconds after a poll that
// found nothing, so a slow client holds at most one poll's text; it writes a heartbeat comment
// when a stream has been quiet for `heartbeat_ms`.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Text of whole events ("id: 1\ndata: ...\n\n"), possibly empty; `*done` ends the stream
  // after the text is written.
  virtual std::string Poll(bool* done) = 0;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::map<std::string, std::string> headers;
  std::shared_ptr<EventStream> stream;  // set: the response is an event stream
  int heartbeat_ms = 15000;
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 5115;  // 0: any free port
  int threads = 2;
  size_t body_limit = 1 << 20;
  int poll_ms = 50;  // event streams
};

class HttpServer {
 public:
  HttpServer(HttpServerOptions options, HttpHandler handler);
  ~HttpServer();
  // Binds and listens; the port is known after it.
  Status Listen();
  int port() const { return port_; }
  void Start();
  void Stop();
  // Open event streams.
  int64_t open_streams() const;

  struct Impl;  // the io_context, acceptor and connections (http_server.cc)

 private:
  std::unique_ptr<Impl> impl_;
  int port_ = 0;
};

}  // namespace sluice::api
