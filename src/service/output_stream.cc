#include "service/output_stream.h"

#include <fmt/format.h>
#include <boost/json.hpp>

#include "service/store.h"

namespace sluice::service {

void OutputStream::Write(const std::string& sink_name, int subtask, std::string_view lines,
                         int64_t rows) {
  const int64_t now = NowMicros();
  std::lock_guard<std::mutex> lock(mu_);
  size_t start = 0;
  while (start < lines.size()) {
    size_t end = lines.find('\n', start);
    if (end == std::string_view::npos) end = lines.size();
    if (end > start) {
      OutputEvent e;
      e.id = next_id_++;
      e.timestamp_micros = now;
      e.sink = sink_name;
      e.subtask = subtask;
      e.value.assign(lines.substr(start, end - start));
      boost::json::object o;
      o["operatorId"] = e.sink;
      o["subtask"] = e.subtask;
      o["timestamp"] = e.timestamp_micros;
      o["value"] = e.value;
      e.sse = fmt::format("id: {}\nevent: row\ndata: {}\n\n", e.id, boost::json::serialize(o));
      bytes_ += e.value.size() + e.sink.size() + e.sse.size();
      ring_.push_back(std::move(e));
    }
    start = end + 1;
  }
  while (!ring_.empty() && (ring_.size() > capacity_rows_ || bytes_ > capacity_bytes_)) {
    bytes_ -= ring_.front().value.size() + ring_.front().sink.size() + ring_.front().sse.size();
    ring_.pop_front();
    ++dropped_;
  }
}

OutputStream::ReadResult OutputStream::Read(int64_t after_id, size_t max_events) const {
  ReadResult out;
  std::lock_guard<std::mutex> lock(mu_);
  if (ring_.empty()) {
    out.closed = closed_;
    return out;
  }
  const int64_t first = ring_.front().id;
  if (after_id < 0) after_id = first - 1;
  // Nothing after the newest row (also keeps after_id + 1 from overflowing for any id a client
  // sends).
  if (after_id >= next_id_ - 1) {
    out.closed = closed_;
    return out;
  }  // a new reader: from the oldest row held
  if (after_id + 1 < first && after_id < next_id_ - 1) {
    out.lagged = true;
    out.first_id = first;
    return out;
  }
  size_t index = after_id + 1 <= first ? 0 : static_cast<size_t>(after_id + 1 - first);
  for (; index < ring_.size() && out.events.size() < max_events; ++index) {
    out.events.push_back(ring_[index]);
  }
  out.closed = closed_ && index >= ring_.size();
  return out;
}

OutputStream::ReadResult OutputStream::ReadText(int64_t after_id, size_t max_events,
                                                std::string* text, int64_t* last_id) const {
  ReadResult out;
  std::lock_guard<std::mutex> lock(mu_);
  if (ring_.empty()) {
    out.closed = closed_;
    return out;
  }
  const int64_t first = ring_.front().id;
  if (after_id < 0) after_id = first - 1;
  // Nothing after the newest row (also keeps after_id + 1 from overflowing for any id a client
  // sends).
  if (after_id >= next_id_ - 1) {
    out.closed = closed_;
    return out;
  }
  if (after_id + 1 < first && after_id < next_id_ - 1) {
    out.lagged = true;
    out.first_id = first;
    return out;
  }
  size_t index = after_id + 1 <= first ? 0 : static_cast<size_t>(after_id + 1 - first);
  for (size_t n = 0; index < ring_.size() && n < max_events; ++index, ++n) {
    text->append(ring_[index].sse);
    *last_id = ring_[index].id;
  }
  out.closed = closed_ && index >= ring_.size();
  return out;
}

int64_t OutputStream::last_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_id_ - 1;
}

void OutputStream::Close() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = true;
}

void OutputStream::Open() {
  std::lock_guard<std::mutex> lock(mu_);
  closed_ = false;
}

int64_t OutputStream::rows_dropped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return dropped_;
}

}  // namespace sluice::service
