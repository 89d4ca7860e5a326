#include "exec/window_aggregate.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "batch/column_builder.h"
#include "batch/serialize.h"
#include "exec/aggregate_pane.h"
#include "exec/hash_partitioner.h"

namespace sluice::exec {

using batch::Batch;
using batch::BatchPtr;
using batch::Column;
using batch::ColumnPtr;

namespace {

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

class WindowAggregateOperator : public runtime::Operator {
 public:
  WindowAggregateOperator(const WindowSpec& window, const std::vector<types::DataType>& key_types,
                          const std::vector<AggregateCall>& aggregates,
                          types::SchemaPtr output_schema, int subtask, int parallelism)
      : window_(window),
        key_types_(key_types),
        aggregates_(aggregates),
        output_schema_(std::move(output_schema)),
        subtask_(subtask),
        parallelism_(parallelism) {
    invertible_ = AggregatePane(0, 0, key_types_, aggregates_).invertible();
  }

  Status ProcessBatch(int, const BatchPtr& input, runtime::Collector&) override {
    int64_t n = input->num_rows;
    const int64_t* et = input->event_time->raw<int64_t>();
    // Each row's pane [start, end).
    starts_.resize(static_cast<size_t>(n));
    ends_.resize(static_cast<size_t>(n));
    if (window_.kind == WindowSpec::Kind::kFromColumn) {
      const Column& w = *input->columns[static_cast<size_t>(window_.column)];
      const int64_t* s = w.children[0]->raw<int64_t>();
      const int64_t* e = w.children[1]->raw<int64_t>();
      for (int64_t i = 0; i < n; ++i) {
        starts_[static_cast<size_t>(i)] = s[i];
        ends_[static_cast<size_t>(i)] = e[i];
      }
    } else {
      int64_t size = window_.kind == WindowSpec::Kind::kHop ? window_.slide : window_.width;
      for (int64_t i = 0; i < n; ++i) {
        int64_t start = FloorDiv(et[i], size) * size;
        starts_[static_cast<size_t>(i)] = start;
        ends_[static_cast<size_t>(i)] = start + size;
      }
    }
    // Late rows (behind the watermark) are dropped; the rest grouped by pane.
    bool uniform = true;
    int64_t late = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (et[i] < watermark_.time.value) {
        ++late;
        uniform = false;
      } else if (starts_[static_cast<size_t>(i)] != starts_[0] ||
                 ends_[static_cast<size_t>(i)] != ends_[0]) {
        uniform = false;
      }
    }
    if (late > 0 && ctx_ && ctx_->metrics) ctx_->metrics->late_rows_dropped += late;
    if (uniform && n > 0) return Pane(starts_[0], ends_[0]).Add(*input, nullptr);
    std::map<std::pair<int64_t, int64_t>, std::vector<int32_t>> by_pane;
    for (int64_t i = 0; i < n; ++i) {
      if (et[i] < watermark_.time.value) continue;
      by_pane[{starts_[static_cast<size_t>(i)], ends_[static_cast<size_t>(i)]}].push_back(
          static_cast<int32_t>(i));
    }
    for (auto& [key, rows] : by_pane) {
      SLUICE_RETURN_NOT_OK(Pane(key.first, key.second).Add(*input, &rows));
    }
    return Status::Ok();
  }

  Status ProcessWatermark(Watermark wm, runtime::Collector& out) override {
    if (wm <= watermark_) return Status::Ok();
    watermark_ = wm;
    if (window_.kind == WindowSpec::Kind::kHop) {
      SLUICE_RETURN_NOT_OK(EmitHopWindows(out));
    } else {
      while (!panes_.empty() && panes_.begin()->first.first <= wm.time.value) {
        AggregatePane& pane = panes_.begin()->second;
        SLUICE_RETURN_NOT_OK(Emit(pane, pane.start(), pane.end(), out));
        panes_.erase(panes_.begin());
      }
    }
    return out.EmitWatermark(wm);
  }

  // Every pane's groups as one batch (keys first, then rows, aggregate states, and the pane's
  // start and end), and the watermark. On restore each subtask keeps the groups whose key
  // hashes to it; the watermark (which drops late rows) is restored at the same parallelism.
  // Sliding windows also keep the running window and the end of the next window to emit; they
  // resume at the same parallelism only.
  Status Snapshot(int64_t, runtime::StateWriter& state) override {
    std::vector<const AggregatePane*> panes;
    for (const auto& [key, pane] : panes_) panes.push_back(&pane);
    SLUICE_RETURN_NOT_OK(PutPanes(state, "panes", panes));
    if (running_) SLUICE_RETURN_NOT_OK(PutPanes(state, "running", {&*running_}));
    std::string bytes;
    batch::ByteWriter w(&bytes);
    w.Put<uint8_t>(kStateVersion);
    w.Put<int64_t>(watermark_.time.value);
    w.Put<uint8_t>(next_end_ ? 1 : 0);
    w.Put<int64_t>(next_end_.value_or(0));
    state.Put("watermark", bytes);
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    const bool hop = window_.kind == WindowSpec::Kind::kHop;
    if (hop && state.previous_parallelism() != parallelism_) {
      return Status::NotSupported(
          "resuming a sliding window aggregate at a different --parallelism is not supported yet "
          "(checkpoint {} ran it at parallelism {}, this run at {})",
          state.checkpoint(), state.previous_parallelism(), parallelism_);
    }
    SLUICE_RETURN_NOT_OK(RestorePanes(state, "panes", false));
    SLUICE_RETURN_NOT_OK(RestorePanes(state, "running", true));
    if (state.previous_parallelism() != parallelism_) return Status::Ok();
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, state.Get("watermark"));
    if (!bytes) return Status::Ok();
    batch::ByteReader r(*bytes, "window aggregate state");
    uint8_t version = 0, has_next = 0;
    int64_t next_end = 0;
    SLUICE_RETURN_NOT_OK(r.Get(&version));
    if (version != kStateVersion) return r.Corrupt("unknown version");
    SLUICE_RETURN_NOT_OK(r.Get(&watermark_.time.value));
    SLUICE_RETURN_NOT_OK(r.Get(&has_next));
    SLUICE_RETURN_NOT_OK(r.Get(&next_end));
    if (hop) {
      next_end_.reset();
      if (has_next) next_end_ = next_end;
    }
    return Status::Ok();
  }

 private:
  Status PutPanes(runtime::StateWriter& state, std::string_view name,
                  const std::vector<const AggregatePane*>& panes) {
    std::vector<BatchPtr> parts;
    for (const AggregatePane* pane : panes) {
      SLUICE_ASSIGN_OR_RETURN(BatchPtr groups, pane->SnapshotGroups());
      if (!groups) continue;
      auto part = std::make_shared<Batch>(*groups);
      auto fields = groups->schema->fields();
      fields.push_back({"$start", types::Int64(), false});
      fields.push_back({"$end", types::Int64(), false});
      part->schema = std::make_shared<types::Schema>(std::move(fields));
      part->columns.push_back(
          Column::MakeConstant(types::Value::Int(types::Int64(), pane->start()), groups->num_rows));
      part->columns.push_back(
          Column::MakeConstant(types::Value::Int(types::Int64(), pane->end()), groups->num_rows));
      parts.push_back(part);
    }
    if (!parts.empty()) state.PutBatch(name, *batch::ConcatBatches(parts));
    return Status::Ok();
  }

  // Restores the panes stored under `name` (`running`: into the running window).
  Status RestorePanes(runtime::StateReader& state, std::string_view name, bool running) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<BatchPtr> batches, state.GetBatches(name));
    std::vector<int> keys;
    for (size_t k = 0; k < key_types_.size(); ++k) keys.push_back(static_cast<int>(k));
    std::vector<int> targets;
    for (const auto& b : batches) {
      if (b->columns.size() < 2) return Status::Io("window aggregate state: too few columns");
      const size_t width = b->columns.size() - 2;
      PartitionRows(*b, keys, parallelism_, &targets);
      const Column& starts = *b->columns[width];
      const Column& ends = *b->columns[width + 1];
      std::map<std::pair<int64_t, int64_t>, std::vector<int32_t>> by_pane;
      for (int64_t i = 0; i < b->num_rows; ++i) {
        if (targets[static_cast<size_t>(i)] != subtask_) continue;
        by_pane[{starts.GetValue(i).int_value(), ends.GetValue(i).int_value()}].push_back(
            static_cast<int32_t>(i));
      }
      Batch groups(*b);
      groups.columns.resize(width);
      for (const auto& [pane, rows] : by_pane) {
        if (running) {
          if (!running_) running_.emplace(pane.first, pane.second, key_types_, aggregates_);
          SLUICE_RETURN_NOT_OK(running_->RestoreGroups(groups, rows));
        } else {
          SLUICE_RETURN_NOT_OK(Pane(pane.first, pane.second).RestoreGroups(groups, rows));
        }
      }
    }
    return Status::Ok();
  }

  static constexpr uint8_t kStateVersion = 1;

  // Panes are ordered by (end, start).
  AggregatePane& Pane(int64_t start, int64_t end) {
    auto key = std::make_pair(end, start);
    auto it = panes_.find(key);
    if (it == panes_.end()) {
      it = panes_.emplace(key, AggregatePane(start, end, key_types_, aggregates_)).first;
      if (window_.kind == WindowSpec::Kind::kHop &&
          (!next_end_ || start + window_.slide < *next_end_)) {
        next_end_ = start + window_.slide;
      }
    }
    return it->second;
  }

  // Sliding windows of invertible aggregates: a running window adds the newest pane and
  // subtracts the pane that left, so each window costs two pane merges, not width/slide.
  Status EmitHopWindowsIncremental(runtime::Collector& out) {
    while (next_end_ && *next_end_ <= watermark_.time.value &&
           (!panes_.empty() || (running_ && running_->live_rows() > 0))) {
      int64_t end = *next_end_;
      if (!running_) running_.emplace(end - window_.width, end, key_types_, aggregates_);
      if (const AggregatePane* in = FindPane(end - window_.slide)) running_->MergeFrom(*in);
      if (const AggregatePane* gone = FindPane(end - window_.width - window_.slide)) {
        running_->SubtractFrom(*gone);
      }
      SLUICE_RETURN_NOT_OK(Emit(*running_, end - window_.width, end, out));
      // A pane is kept until it has been subtracted.
      while (!panes_.empty() &&
             panes_.begin()->second.start() + window_.width + window_.slide <= end) {
        panes_.erase(panes_.begin());
      }
      *next_end_ = end + window_.slide;
      if (running_->live_rows() == 0) {
        running_.reset();  // forget keys no window holds any more
        if (panes_.empty()) {
          next_end_.reset();
        } else {
          *next_end_ = std::max(*next_end_, panes_.begin()->second.start() + window_.slide);
        }
      }
    }
    return Status::Ok();
  }

  const AggregatePane* FindPane(int64_t start) const {
    auto it = panes_.find({start + window_.slide, start});
    return it == panes_.end() ? nullptr : &it->second;
  }

  // Emits every sliding window whose end the watermark has passed. Window [e - width, e) is
  // the merge of the panes starting in that range.
  Status EmitHopWindows(runtime::Collector& out) {
    if (invertible_) return EmitHopWindowsIncremental(out);
    while (next_end_ && *next_end_ <= watermark_.time.value && !panes_.empty()) {
      int64_t end = *next_end_;
      int64_t start = end - window_.width;
      AggregatePane merged(start, end, key_types_, aggregates_);
      bool any = false;
      for (auto& [key, pane] : panes_) {
        if (pane.start() >= start && pane.start() < end) {
          merged.MergeFrom(pane);
          any = true;
        }
      }
      if (any) SLUICE_RETURN_NOT_OK(Emit(merged, start, end, out));
      // Panes no later window needs are freed.
      while (!panes_.empty() && panes_.begin()->second.start() + window_.width <= end) {
        panes_.erase(panes_.begin());
      }
      if (panes_.empty()) {
        next_end_.reset();
      } else {
        // Skip windows that no pane reaches.
        int64_t first_start = panes_.begin()->second.start();
        for (const auto& [key, pane] : panes_) first_start = std::min(first_start, pane.start());
        *next_end_ = std::max(end + window_.slide, first_start + window_.slide);
      }
    }
    return Status::Ok();
  }

  Status Emit(const AggregatePane& pane, int64_t start, int64_t end, runtime::Collector& out) {
    if (pane.groups().empty()) return Status::Ok();
    auto batch = pane.Finish(start, end, output_schema_);
    if (!batch.ok()) return batch.status();
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += (*batch)->num_rows;
    return out.Emit(*batch);
  }

  WindowSpec window_;
  std::vector<types::DataType> key_types_;
  std::vector<AggregateCall> aggregates_;
  types::SchemaPtr output_schema_;
  int subtask_;
  int parallelism_;
  std::map<std::pair<int64_t, int64_t>, AggregatePane> panes_;
  std::optional<int64_t> next_end_;       // hop: the end of the next window to emit
  bool invertible_ = false;               // hop: every aggregate supports Subtract
  std::optional<AggregatePane> running_;  // hop, invertible: the window ending at next_end_
  Watermark watermark_ = Watermark::Min();
  std::vector<int64_t> starts_, ends_;
};

}  // namespace

WindowAggregateFactory::WindowAggregateFactory(WindowSpec window,
                                               std::vector<types::DataType> key_types,
                                               std::vector<AggregateCall> aggregates,
                                               types::SchemaPtr output_schema)
    : window_(window),
      key_types_(std::move(key_types)),
      aggregates_(std::move(aggregates)),
      output_schema_(std::move(output_schema)) {}

std::string WindowAggregateFactory::name() const {
  return "window_aggregate";
}

std::string WindowAggregateFactory::Describe() const {
  return fmt::format("window_aggregate {} keys {} aggregates [{}]", window_.ToString(),
                     key_types_.size(), DescribeAggregates(aggregates_));
}

bool WindowAggregateFactory::checkpointable() const {
  return AggregatePane(0, 0, key_types_, aggregates_).serializable();
}

Result<std::unique_ptr<runtime::Operator>> WindowAggregateFactory::Create(int subtask,
                                                                          int parallelism) const {
  return std::unique_ptr<runtime::Operator>(std::make_unique<WindowAggregateOperator>(
      window_, key_types_, aggregates_, output_schema_, subtask, parallelism));
}

}  // namespace sluice::exec
