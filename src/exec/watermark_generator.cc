#include "exec/watermark_generator.h"

#include <algorithm>

#include <fmt/format.h>

#include "batch/column_builder.h"
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

// Per-split watermarks (sources whose batches carry SourceSplits: Kafka partitions). Each live
// split keeps the largest watermark-expression value of its rows; the subtask's watermark is the
// minimum over the live splits that are active, never going backwards. A split is active from
// the moment it becomes live or has a row until it has had no row for idle_micros (without
// idle_micros it never goes idle: a split with no rows holds the watermark back, as in Flink).
// When no live split is active, the watermark holds.
class SplitWatermarks {
 public:
  explicit SplitWatermarks(std::optional<int64_t> idle_micros) : idle_micros_(idle_micros) {}

  // The splits of the batch at hand; cheap when the list is the one seen before.
  void SetLive(const std::shared_ptr<const std::vector<int32_t>>& live, int64_t now) {
    if (live == live_) return;
    live_ = live;
    for (int32_t id : live_ids_) At(id).live = false;
    live_ids_.clear();
    for (int32_t id : *live_) {
      Split& s = At(id);
      if (s.live) continue;  // listed twice
      s.live = true;
      live_ids_.push_back(id);
      if (!s.seen) {  // new: it holds the watermark back from now on
        s.seen = true;
        s.known = true;
        s.active = true;
        s.last_row = now;
      }
    }
    dirty_ = true;
  }

  // A row of split `id` whose watermark value is `value` (nullopt for a NULL).
  void Row(int32_t id, const int64_t* value, int64_t now) {
    Split& s = At(id);
    s.last_row = now;
    if (!s.active || !s.live || !s.seen) {
      if (!s.live) {  // a row of a split the source has not listed (yet): it is live
        s.live = true;
        live_ids_.push_back(id);
      }
      s.seen = true;
      s.known = true;
      s.active = true;
      dirty_ = true;
    }
    if (value != nullptr && *value > s.max) {
      if (s.max <= min_) dirty_ = true;  // it may have held the minimum
      s.max = *value;
    }
  }

  // Splits without rows for idle_micros stop holding the watermark back.
  void ExpireIdle(int64_t now) {
    if (!idle_micros_) return;
    for (int32_t id : live_ids_) {
      Split& s = At(id);
      if (s.active && now - s.last_row >= *idle_micros_) {
        s.active = false;
        dirty_ = true;
      }
    }
  }

  // The minimum over the active live splits, or nullopt when none is active.
  std::optional<int64_t> Minimum() {
    if (dirty_) {
      dirty_ = false;
      has_min_ = false;
      min_ = Watermark::Max().time.value;
      for (int32_t id : live_ids_) {
        const Split& s = At(id);
        if (!s.active) continue;
        has_min_ = true;
        min_ = std::min(min_, s.max);
      }
      if (!has_min_) min_ = Watermark::Min().time.value;
    }
    if (!has_min_) return std::nullopt;
    return min_;
  }
  bool dirty() const { return dirty_; }

  // Checkpoints: each known split's largest value, as (split, max) rows, and the subtask's own
  // watermark as a row of split -1. On a restore every old subtask's rows are read, so a split
  // keeps its value when it moves to another subtask (copies of a value restored by several
  // subtasks agree or are older: the largest wins). The subtask's watermark counts for the
  // smallest value: a subtask that has not had a batch yet does not know its splits, and its
  // watermark is what holds them back.
  void Snapshot(int64_t subtask_watermark, runtime::StateWriter& state) const {
    batch::ColumnBuilder ids(types::Int32()), maxes(types::Int64());
    int64_t n = 1;
    ids.AppendFixed<int32_t>(kSubtaskRow);
    maxes.AppendFixed<int64_t>(subtask_watermark);
    for (size_t id = 0; id < splits_.size(); ++id) {
      if (!splits_[id].known) continue;
      ids.AppendFixed<int32_t>(static_cast<int32_t>(id));
      maxes.AppendFixed<int64_t>(splits_[id].max);
      ++n;
    }
    batch::Batch b;
    b.schema = std::make_shared<const types::Schema>(
        types::Schema({{"split", types::Int32(), false}, {"max", types::Int64(), false}}));
    b.num_rows = n;
    b.columns = {ids.Finish(), maxes.Finish()};
    b.event_time = batch::Column::MakeFixed(types::Timestamp(), n);
    state.PutBatch("split_watermarks", b);
  }

  Status Restore(runtime::StateReader& state) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<batch::BatchPtr> batches,
                            state.GetBatches("split_watermarks"));
    for (const batch::BatchPtr& b : batches) {
      if (b->columns.size() != 2) {
        return Status::Io("the split watermarks of checkpoint {} are corrupt", state.checkpoint());
      }
      const int32_t* ids = b->columns[0]->raw<int32_t>();
      const int64_t* maxes = b->columns[1]->raw<int64_t>();
      for (int64_t i = 0; i < b->num_rows; ++i) {
        if (ids[i] < kSubtaskRow) {
          return Status::Io("the split watermarks of checkpoint {} are corrupt",
                            state.checkpoint());
        }
        restored_min_ = std::min(restored_min_, maxes[i]);
        if (ids[i] == kSubtaskRow) continue;
        Split& s = At(ids[i]);
        s.max = std::max(s.max, maxes[i]);
        s.known = true;
        restored_ = true;
      }
    }
    return Status::Ok();
  }
  // Whether the checkpoint held split values, and the smallest of them.
  bool restored() const { return restored_; }
  int64_t restored_minimum() const { return restored_min_; }

 private:
  static constexpr int32_t kSubtaskRow = -1;
  struct Split {
    int64_t max = Watermark::Min().time.value;
    int64_t last_row = 0;
    bool live = false;    // listed by the source (or has rows)
    bool seen = false;    // has been live at least once in this run
    bool active = false;  // holds the watermark back
    bool known = false;   // seen in this run or restored: its value goes into checkpoints
  };
  Split& At(int32_t id) {
    const size_t i = static_cast<size_t>(std::max(id, 0));
    if (i >= splits_.size()) splits_.resize(i + 1);
    return splits_[i];
  }
  const Split& At(int32_t id) const { return splits_[static_cast<size_t>(id)]; }

  std::optional<int64_t> idle_micros_;
  std::vector<Split> splits_;  // by split id (Kafka partition ids are dense from 0)
  std::vector<int32_t> live_ids_;
  std::shared_ptr<const std::vector<int32_t>> live_;
  bool dirty_ = true;
  bool restored_ = false;
  int64_t restored_min_ = Watermark::Max().time.value;
  bool has_min_ = false;
  int64_t min_ = Watermark::Min().time.value;
};

class WatermarkGenerator : public runtime::Operator {
 public:
  WatermarkGenerator(int event_time_column, expr::BoundExprPtr watermark, bool drop_late,
                     std::optional<int64_t> idle_micros, int parallelism)
      : event_time_column_(event_time_column),
        watermark_expr_(std::move(watermark)),
        drop_late_(drop_late),
        parallelism_(parallelism),
        splits_(idle_micros) {}

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
    std::vector<int32_t> keep;
    if (rows->splits) {
      // Per split: row i is late when its event time is behind the subtask's watermark (the
      // minimum over the splits) of the rows before it.
      split_mode_ = true;
      const int64_t now = Now().value;
      splits_.SetLive(rows->splits->live, now);
      splits_.ExpireIdle(now);
      const int32_t* split = rows->splits->row_split->raw<int32_t>();
      const int64_t* et = rows->event_time->raw<int64_t>();
      if (drop_late_) keep.reserve(static_cast<size_t>(c.length));
      for (int64_t i = 0; i < c.length; ++i) {
        if (drop_late_ && et[i] >= max) keep.push_back(static_cast<int32_t>(i));
        splits_.Row(split[i], c.IsValid(i) ? &v[i] : nullptr, now);
        if (splits_.dirty()) {
          if (std::optional<int64_t> m = splits_.Minimum(); m && *m > max) max = *m;
        }
      }
      if (std::optional<int64_t> m = splits_.Minimum(); m && *m > max) max = *m;
    } else if (drop_late_) {
      // Row i is late when its event time is behind the watermark of the rows before it.
      const int64_t* et = rows->event_time->raw<int64_t>();
      keep.reserve(static_cast<size_t>(c.length));
      for (int64_t i = 0; i < c.length; ++i) {
        if (et[i] >= max) keep.push_back(static_cast<int32_t>(i));
        if (c.IsValid(i) && v[i] > max) max = v[i];
      }
    } else {
      for (int64_t i = 0; i < c.length; ++i) {
        if (c.IsValid(i) && v[i] > max) max = v[i];
      }
    }
    if (drop_late_) {
      int64_t late = c.length - static_cast<int64_t>(keep.size());
      if (late > 0) {
        if (ctx_ && ctx_->metrics) ctx_->metrics->late_rows_dropped += late;
        if (keep.empty()) {
          rows = nullptr;
        } else {
          rows = rows->Select(keep);
        }
      }
    }
    if (rows != nullptr && rows->splits) {
      // The splits stop here: what follows sees one stream.
      auto plain = std::make_shared<Batch>(*rows);
      plain->splits = nullptr;
      rows = plain;
    }
    if (rows != nullptr) {
      if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += rows->num_rows;
      SLUICE_RETURN_NOT_OK(out.Emit(rows));
    }
    return Advance(max, out);
  }

  // Per-split watermarks: idle splits drop out while the source has no rows.
  Status OnTick(ProcessingTime now, runtime::Collector& out) override {
    if (!split_mode_) return Status::Ok();
    splits_.ExpireIdle(now.value);
    std::optional<int64_t> m = splits_.Minimum();
    return m ? Advance(*m, out) : Status::Ok();
  }

  Status ProcessWatermark(Watermark wm, runtime::Collector& out) override {
    // Only the end of input (+infinity) arrives from a source.
    return Advance(wm.time.value, out);
  }

  // The current watermark, so that after a restore late-row decisions and watermarks continue
  // where they were. A subtask that did not exist in the previous run starts from -infinity.
  Status Snapshot(int64_t, runtime::StateWriter& state) override {
    PutWatermark(current_, state);
    // Always, also before this run's first batch (which is when a subtask learns that its source
    // has splits): the restored splits and this subtask's watermark must reach the checkpoint, or
    // a restore at another parallelism would start ahead of the partitions this subtask has not
    // read yet and make their rows late. One small batch per subtask and checkpoint.
    splits_.Snapshot(current_, state);
    return Status::Ok();
  }

  // With splits at another parallelism, the subtask of the same index read other partitions: its
  // watermark could be ahead of this subtask's partitions and make their rows late. The
  // smallest value of any split is a watermark no partition is behind; this subtask's own
  // minimum takes over with its first batch.
  Status Restore(runtime::StateReader& state) override {
    SLUICE_RETURN_NOT_OK(splits_.Restore(state));
    if (splits_.restored() && state.previous_parallelism() != parallelism_) {
      current_ = splits_.restored_minimum();
      return Status::Ok();
    }
    return GetWatermark(state, "watermark state", &current_);
  }

 private:
  Status Advance(int64_t t, runtime::Collector& out) {
    if (t <= current_) return Status::Ok();
    current_ = t;
    return out.EmitWatermark(Watermark{EventTime{current_}});
  }

  int event_time_column_;
  expr::BoundExprPtr watermark_expr_;
  bool drop_late_;
  int parallelism_;
  int64_t current_ = Watermark::Min().time.value;
  bool split_mode_ = false;  // the source's batches carry splits
  SplitWatermarks splits_;
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

Result<std::unique_ptr<runtime::Operator>> WatermarkGeneratorFactory::Create(
    int, int parallelism) const {
  if (processing_time_) {
    return std::unique_ptr<runtime::Operator>(
        std::make_unique<ProcessingTimeGenerator>(event_time_column_));
  }
  return std::unique_ptr<runtime::Operator>(std::make_unique<WatermarkGenerator>(
      event_time_column_, watermark_, drop_late_, idle_micros_, parallelism));
}

}  // namespace sluice::exec
