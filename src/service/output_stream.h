#pragma once
// The live rows of a job's preview and stdout sinks, for Server-Sent Events readers: a bounded
// ring of the newest rows, each with an id (1, 2, ... for the job's life in this process).
// Writers (sink subtasks) never wait for readers: when the ring is full the oldest rows go, and
// a reader whose next id has gone is told it lagged. Memory is bounded by `capacity_rows` and
// `capacity_bytes`.
//
// Threading: Write from any sink subtask, Read and Close from any thread (one mutex).

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include "connectors/stdout_sink.h"

namespace sluice::service {

struct OutputEvent {
  int64_t id = 0;
  int64_t timestamp_micros = 0;
  std::string sink;  // the sink table's name
  int subtask = 0;
  std::string value;  // one encoded row (JSON), without the newline
  // The row as a Server-Sent Event ("id: N\nevent: row\ndata: {...}\n\n"), formatted once
  // when written, whatever the number of readers.
  std::string sse;
};

class OutputStream : public connectors::LineSink {
 public:
  explicit OutputStream(size_t capacity_rows = 16384, size_t capacity_bytes = 16 << 20)
      : capacity_rows_(capacity_rows), capacity_bytes_(capacity_bytes) {}

  void Write(const std::string& sink_name, int subtask, std::string_view lines,
             int64_t rows) override;

  struct ReadResult {
    std::vector<OutputEvent> events;
    bool lagged = false;   // rows after `after_id` were dropped before this reader got them
    int64_t first_id = 0;  // the oldest id still held (when lagged)
    bool closed = false;   // the run ended and every row was read
  };
  // Up to `max_events` rows with ids above `after_id` (-1: from the oldest row held).
  ReadResult Read(int64_t after_id, size_t max_events) const;
  // The same, appending the rows' event text to *text instead of copying the rows; *last_id is
  // the id of the last row appended (unchanged when none).
  ReadResult ReadText(int64_t after_id, size_t max_events, std::string* text,
                      int64_t* last_id) const;
  // The id of the newest row (0 before any).
  int64_t last_id() const;
  // The run ended: readers get what is left, then `closed`. Open again reopens (a restart).
  void Close();
  void Open();
  int64_t rows_dropped() const;

 private:
  const size_t capacity_rows_;
  const size_t capacity_bytes_;
  mutable std::mutex mu_;
  std::deque<OutputEvent> ring_;
  size_t bytes_ = 0;
  int64_t next_id_ = 1;
  int64_t dropped_ = 0;
  bool closed_ = false;
};

}  // namespace sluice::service
