#include "exec/watermark_generator.h"

#include <algorithm>

#include <fmt/format.h>

#include "batch/serialize.h"
#include "expr/evaluator.h"

namespace sluice::exec {

using batch::Batch;
using batch::BatchPtr;

namespace {

// Both generators checkpoint their current watermark ("watermark": a version byte, then the
// watermark), so that after a restore late-row decisions, watermarks and processing-time stamps
// continue where they were.
constexpr uint8_t kWatermarkStateVersion = 1;

void PutWatermark(int64_t watermark, runtime::StateWriter& state) {
  std::string bytes;
  batch::ByteWriter w(&bytes);
  w.Put<uint8_t>(kWatermarkStateVersion);
  w.Put<int64_t>(watermark);
  state.Put("watermark", bytes);
}

// Leaves *watermark as it is when the checkpoint holds none (a new subtask).
Status GetWatermark(runtime::StateReader& state, std::string_view what, int64_t* watermark) {
  SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, state.Get("watermark"));
  if (!bytes) return Status::Ok();
  batch::ByteReader r(*bytes, what);
  uint8_t version = 0;
  SLUICE_RETURN_NOT_OK(r.Get(&version));
  if (version != kWatermarkStateVersion) return r.Corrupt("unknown version");
  return r.Get(watermark);
}

class WatermarkGenerator : public runtime::Operator {
 public:
  WatermarkGenerator(int event_time_column, expr::BoundExprPtr watermark, bool drop_late)
      : event_time_column_(event_time_column),
        watermark_expr_(std::move(watermark)),
        drop_late_(drop_late) {}

  Status ProcessBatch(int, const BatchPtr& input, runtime::Collector& out) override {
    BatchPtr rows = input;
    if (event_time_column_ >= 0) {
      const auto& ts = input->columns[static_cast<size_t>(event_time_column_)];
      if (ts->has_nulls()) {
        std::vector<int32_t> keep;
        for (int64_t i = 0; i < input->num_rows; ++i) {
          if (ts->IsValid(i)) keep.push_back(static_cast<int32_t>(i));
        }
        if (ctx_ && ctx_->metrics) {
          ctx_->metrics->bad_rows_dropped += input->num_rows - static_cast<int64_t>(keep.size());
        }
        if (keep.empty()) return Status::Ok();
        rows = input->Select(keep);
      }
      auto with_time = std::make_shared<Batch>(*rows);
      with_time->event_time = with_time->columns[static_cast<size_t>(event_time_column_)];
      rows = with_time;
    }
    auto wm = expr::Evaluate(*watermark_expr_, *rows);
    if (!wm.ok()) return wm.status();
    const auto& c = **wm;
    const int64_t* v = c.raw<int64_t>();
    int64_t max = current_;
    if (drop_late_) {
      // Row i is late when its event time is behind the watermark of the rows before it.
      const int64_t* et = rows->event_time->raw<int64_t>();
      std::vector<int32_t> keep;
      keep.reserve(static_cast<size_t>(c.length));
      for (int64_t i = 0; i < c.length; ++i) {
        if (et[i] >= max) keep.push_back(static_cast<int32_t>(i));
        if (c.IsValid(i) && v[i] > max) max = v[i];
      }
      int64_t late = c.length - static_cast<int64_t>(keep.size());
      if (late > 0) {
        if (ctx_ && ctx_->metrics) ctx_->metrics->late_rows_dropped += late;
        if (keep.empty()) {
          rows = nullptr;
        } else {
          rows = rows->Select(keep);
        }
      }
    } else {
      for (int64_t i = 0; i < c.length; ++i) {
        if (c.IsValid(i) && v[i] > max) max = v[i];
      }
    }
    if (rows == nullptr) {
      if (max > current_) {
        current_ = max;
        return out.EmitWatermark(Watermark{EventTime{current_}});
      }
      return Status::Ok();
    }
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += rows->num_rows;
    SLUICE_RETURN_NOT_OK(out.Emit(rows));
    if (max > current_) {
      current_ = max;
      return out.EmitWatermark(Watermark{EventTime{current_}});
    }
    return Status::Ok();
  }

  Status ProcessWatermark(Watermark wm, runtime::Collector& out) override {
    // Only the end of input (+infinity) arrives from a source.
    if (wm.time.value > current_) {
      current_ = wm.time.value;
      return out.EmitWatermark(wm);
    }
    return Status::Ok();
  }

  // The current watermark, so that after a restore late-row decisions and watermarks continue
  // where they were. A subtask that did not exist in the previous run starts from -infinity.
  Status Snapshot(int64_t, runtime::StateWriter& state) override {
    PutWatermark(current_, state);
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    return GetWatermark(state, "watermark state", &current_);
  }

 private:
  int event_time_column_;
  expr::BoundExprPtr watermark_expr_;
  bool drop_late_;
  int64_t current_ = Watermark::Min().time.value;
};

// Processing time: rows are stamped with the wall clock (clamped to never go below the
// watermark, so no row is late even if the clock steps back), and the watermark is the latest
// stamp or tick.
class ProcessingTimeGenerator : public runtime::Operator {
 public:
  explicit ProcessingTimeGenerator(int column) : column_(column) {}

  Status ProcessBatch(int, const BatchPtr& input, runtime::Collector& out) override {
    const int64_t now = std::max(Now().value, current_);
    auto stamp = batch::Column::MakeFixed(types::Timestamp(), input->num_rows);
    int64_t* v = stamp->mutable_raw<int64_t>();
    std::fill(v, v + input->num_rows, now);
    auto rows = std::make_shared<Batch>(*input);
    rows->columns[static_cast<size_t>(column_)] = stamp;
    rows->event_time = stamp;
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += rows->num_rows;
    SLUICE_RETURN_NOT_OK(out.Emit(rows));
    return Advance(now, out);
  }

  Status OnTick(ProcessingTime now, runtime::Collector& out) override {
    return Advance(now.value, out);
  }

  Status ProcessWatermark(Watermark wm, runtime::Collector& out) override {
    // Only the end of input (+infinity) arrives from a source.
    return Advance(wm.time.value, out);
  }

  // The watermark, so that after a restore the stamps never go below what the restored
  // operators downstream have seen (should the wall clock be behind it).
  Status Snapshot(int64_t, runtime::StateWriter& state) override {
    PutWatermark(current_, state);
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    return GetWatermark(state, "processing-time watermark state", &current_);
  }

 private:
  Status Advance(int64_t t, runtime::Collector& out) {
    if (t <= current_) return Status::Ok();
    current_ = t;
    return out.EmitWatermark(Watermark{EventTime{current_}});
  }

  int column_;
  int64_t current_ = Watermark::Min().time.value;
};

}  // namespace

WatermarkGeneratorFactory::WatermarkGeneratorFactory(int event_time_column,
                                                     expr::BoundExprPtr watermark,
                                                     std::optional<int64_t> idle_micros,
                                                     bool drop_late, bool processing_time)
    : event_time_column_(event_time_column),
      watermark_(std::move(watermark)),
      idle_micros_(idle_micros),
      drop_late_(drop_late),
      processing_time_(processing_time) {}

std::string WatermarkGeneratorFactory::Describe() const {
  if (processing_time_) {
    return fmt::format("watermark processing_time=${} (wall clock, every {}ms when idle)",
                       event_time_column_, kTickMicros / 1000);
  }
  return fmt::format(
      "watermark event_time={} watermark={}{}{}",
      event_time_column_ >= 0 ? fmt::format("${}", event_time_column_) : std::string("source time"),
      watermark_->ToString(), idle_micros_ ? fmt::format(" idle_micros={}", *idle_micros_) : "",
      drop_late_ ? " drop_late" : "");
}

Result<std::unique_ptr<runtime::Operator>> WatermarkGeneratorFactory::Create(int, int) const {
  if (processing_time_) {
    return std::unique_ptr<runtime::Operator>(
        std::make_unique<ProcessingTimeGenerator>(event_time_column_));
  }
  return std::unique_ptr<runtime::Operator>(
      std::make_unique<WatermarkGenerator>(event_time_column_, watermark_, drop_late_));
}

}  // namespace sluice::exec
