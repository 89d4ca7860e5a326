#pragma once
// The base of the HTTP sources: a reader thread does the blocking network I/O (connecting,
// reconnecting with backoff, reading) and hands whole messages to the source task through a
// bounded queue; the task decodes them with the table's format a batch at a time and emits.
//
// Positions: each message carries the reader's position after it (an SSE event id, the last
// polled body); the position of the last message the task emitted is what a checkpoint stores,
// so a restore resumes after exactly the rows that were emitted before the barrier.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/status.h"
#include "connectors/connector.h"
#include "connectors/http/http_options.h"
#include "formats/format.h"
#include "runtime/operator.h"

namespace sluice::connectors::http {

struct Message {
  std::string payload;
  bool has_payload = true;  // false: only the position moved (an SSE event of another type)
  std::optional<std::string> position;  // the reader's position after this message, if it has one
};

// What the reader thread sees of its source.
class Feed {
 public:
  // Queues a message, waiting while the queue is full. False when the source is closing.
  bool Push(Message m);
  bool stopping() const { return stop_.load(); }
  // Sleeps up to `micros`, less when the source closes. False when it is closing.
  bool Sleep(int64_t micros);

 private:
  friend class MessageSource;
  static constexpr size_t kMaxQueued = 8192;
  std::mutex mu_;
  std::condition_variable cv_;  // queue not full, or stop
  std::deque<Message> queue_;
  std::atomic<bool> stop_{false};
};

// Tracks connection attempts: the deadline for the first connection and for each reconnect, and
// the doubling backoff between attempts.
class Reconnects {
 public:
  explicit Reconnects(const SourceOptions& o);
  // A connection was made (and worked): reset the backoff, switch to reconnect.timeout.
  void Connected();
  // An attempt failed with `why`: an error once the deadline passed, else sleeps the backoff
  // (at least `retry_us` when the server asked for it). `what`: "the SSE endpoint".
  Status Failed(Feed& feed, const std::string& what, const std::string& why, int64_t retry_us = 0);

 private:
  const SourceOptions& o_;
  bool ever_connected_ = false;
  int64_t since_ = 0;  // start of the current outage
  int64_t backoff_us_ = 100'000;
};

class MessageSource : public runtime::SourceOperator {
 public:
  MessageSource(const TableSpec& spec, std::string kind);
  ~MessageSource() override;

  Status Open(runtime::OperatorContext& ctx) override;
  Result<runtime::SourcePoll> Poll(runtime::Collector& out) override;
  Status Close() override;
  Status Snapshot(int64_t checkpoint, runtime::StateWriter& state) override;
  Status Restore(runtime::StateReader& state) override;

 protected:
  // Runs on the reader thread until the feed stops (return Ok) or the source must fail.
  // `position`: the restored position, if any.
  virtual Status RunReader(Feed& feed, const std::optional<std::string>& position) = 0;
  // Called from Close after the feed is stopped, to wake a reader blocked in I/O.
  virtual void Interrupt() {}
  // Stops and joins the reader thread. Every subclass's destructor calls it first (the reader
  // runs the subclass's RunReader).
  void StopReader();

  const TableSpec spec_;
  const std::string kind_;   // "sse", for messages
  const std::string label_;  // "table 'x'"

 private:
  Status Emit(runtime::Collector& out);

  types::SchemaPtr schema_;
  std::unique_ptr<formats::Decoder> decoder_;
  Feed feed_;
  std::thread reader_;
  bool started_ = false;
  std::mutex result_mu_;
  std::optional<Status> reader_result_;  // set when the reader thread ended
  std::optional<std::string> position_;  // of the last message taken from the queue
  int64_t messages_ = 0;
  std::string padded_;
  std::vector<int64_t> event_times_;
  int64_t dropped_reported_ = 0;
};

}  // namespace sluice::connectors::http
