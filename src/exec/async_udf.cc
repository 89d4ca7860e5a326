#include "exec/async_udf.h"

#include <algorithm>
#include <cstring>
#include <deque>

#include <fmt/format.h>

#include "batch/column_builder.h"

namespace sluice::exec {

using batch::Batch;
using batch::BatchPtr;
using udf::AsyncCompletion;
using udf::AsyncNowMicros;

namespace {

enum RowState : uint8_t { kWaiting = 0, kInFlight = 1, kDone = 2, kEmitted = 3 };

// Input rows in arrival order (one segment per batch), or a watermark between them.
struct Segment {
  bool is_watermark = false;
  Watermark watermark;
  BatchPtr batch;
  uint64_t first_call = 0;  // row i is call first_call + i
  int64_t rows = 0;
  int64_t started = 0;         // rows [0, started) have been started
  int64_t emitted_prefix = 0;  // rows [0, emitted_prefix) are all emitted
  int64_t emitted = 0;
  std::vector<uint8_t> state;
  std::vector<uint8_t> null;  // per row: the result is NULL
  std::vector<std::string> value;
};

class AsyncUdfOperator : public runtime::Operator {
 public:
  AsyncUdfOperator(std::shared_ptr<const udf::AsyncFunction> fn, std::vector<int> args,
                   types::SchemaPtr output_schema, int subtask, int parallelism)
      : fn_(std::move(fn)),
        opts_(fn_->options()),
        args_(std::move(args)),
        output_schema_(std::move(output_schema)),
        subtask_(subtask),
        parallelism_(parallelism) {}

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    instance_ = std::make_unique<udf::AsyncInstance>(fn_, ctx.wake);
    return instance_->Open();
  }

  bool polled() const override { return true; }

  Status ProcessBatch(int, const BatchPtr& b, runtime::Collector& out) override {
    if (b->num_rows == 0) return Status::Ok();
    if (b->change_kind) {
      return Status::Internal("async function {}() over an updating stream", fn_->name());
    }
    Push(b);
    // Backpressure: the task goes on once every row of this batch has started.
    while (true) {
      SLUICE_RETURN_NOT_OK(Advance(out));
      if (waiting_ == 0) break;
      instance_->WaitUntil(NextWake(), WakeBatch(), kLingerMicros);
    }
    return Status::Ok();
  }

  Status ProcessWatermark(Watermark wm, runtime::Collector& out) override {
    if (queue_.empty()) return out.EmitWatermark(wm);
    if (queue_.back().is_watermark) {
      queue_.back().watermark = std::max(queue_.back().watermark, wm);
    } else {
      Segment s;
      s.is_watermark = true;
      s.watermark = wm;
      queue_.push_back(std::move(s));
    }
    return Advance(out);
  }

  Status Poll(runtime::Collector& out) override { return Advance(out); }

  Status OnEndOfInput(runtime::Collector& out) override {
    while (true) {
      SLUICE_RETURN_NOT_OK(Advance(out));
      if (queue_.empty()) return Status::Ok();
      instance_->WaitUntil(NextWake(), WakeBatch(), kLingerMicros);
    }
  }

  Status Close() override {
    if (instance_) instance_->Close();
    return Status::Ok();
  }

  Status Snapshot(int64_t, runtime::StateWriter& state) override {
    // Whatever has not left is saved as input rows, to be started again on restore.
    std::optional<Watermark> pending;
    for (const Segment& s : queue_) {
      if (s.is_watermark) {
        pending = s.watermark;
        continue;
      }
      std::vector<int32_t> rows;
      for (int64_t i = s.emitted_prefix; i < s.rows; ++i) {
        if (s.state[static_cast<size_t>(i)] != kEmitted) rows.push_back(static_cast<int32_t>(i));
      }
      if (rows.empty()) continue;
      state.PutBatch("rows", *s.batch->Select(rows));
    }
    if (pending) {
      std::string bytes(sizeof(int64_t), '\0');
      std::memcpy(bytes.data(), &pending->time.value, sizeof(int64_t));
      state.Put("watermark", bytes);
    }
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    for (int o = 0; o < state.previous_parallelism(); ++o) {
      if (o % parallelism_ != subtask_) continue;
      const int last = state.chain_length(o) - 1;
      if (!state.HasPieceAt("rows", o, last)) continue;
      SLUICE_ASSIGN_OR_RETURN(auto batches, state.GetBatchesAt("rows", o, last));
      for (const auto& b : batches) {
        if (b && b->num_rows > 0) Push(b);
      }
    }
    SLUICE_ASSIGN_OR_RETURN(auto wm, state.Get("watermark"));
    if (wm && wm->size() == sizeof(int64_t)) {
      Segment s;
      s.is_watermark = true;
      std::memcpy(&s.watermark.time.value, wm->data(), sizeof(int64_t));
      queue_.push_back(std::move(s));
    }
    // The saved rows start at the task's first run (every task gets at least the end of data).
    return Status::Ok();
  }

 private:
  void Push(const BatchPtr& b) {
    Segment s;
    s.batch = b;
    s.rows = b->num_rows;
    s.first_call = next_call_;
    next_call_ += static_cast<uint64_t>(b->num_rows);
    s.state.assign(static_cast<size_t>(s.rows), kWaiting);
    s.null.assign(static_cast<size_t>(s.rows), 0);
    s.value.resize(static_cast<size_t>(s.rows));
    waiting_ += s.rows;
    queue_.push_back(std::move(s));
  }

  // The segment and row of `call`, or nullptr when it has left (or never was).
  Segment* Find(uint64_t call, int64_t* row) {
    for (Segment& s : queue_) {
      if (s.is_watermark) continue;
      if (call < s.first_call) return nullptr;
      if (call < s.first_call + static_cast<uint64_t>(s.rows)) {
        *row = static_cast<int64_t>(call - s.first_call);
        return &s;
      }
    }
    return nullptr;
  }

  // Completions in, timeouts, new calls, results out.
  Status Advance(runtime::Collector& out) {
    SLUICE_RETURN_NOT_OK(Collect());
    SLUICE_RETURN_NOT_OK(CheckTimeouts());
    SLUICE_RETURN_NOT_OK(StartMore());
    SLUICE_RETURN_NOT_OK(Collect());  // what completed inside start (NULL arguments)
    SLUICE_RETURN_NOT_OK(Emit(out));
    ScheduleTimeoutWake();
    return Status::Ok();
  }

  Status Collect() {
    completions_.clear();
    instance_->TakeCompleted(&completions_);
    for (AsyncCompletion& c : completions_) {
      int64_t row = 0;
      Segment* s = Find(c.call, &row);
      if (s == nullptr || s->state[static_cast<size_t>(row)] != kInFlight) continue;
      if (c.status == SLUICE_UDF_ASYNC_ERROR) {
        return Status::User("user-defined function {}() failed: {}", fn_->name(),
                            c.data.empty() ? "(no message)" : c.data);
      }
      SLUICE_RETURN_NOT_OK(Resolve(*s, row, c.status == SLUICE_UDF_ASYNC_NULL, &c.data));
    }
    return Status::Ok();
  }

  Status Resolve(Segment& s, int64_t row, bool null, std::string* value) {
    const auto r = static_cast<size_t>(row);
    if (!null) {
      const types::DataType& t = output_schema_->fields().back().type;
      const int width = t.id() == types::TypeId::kBool ? 1 : t.byte_width();
      if (width > 0 && static_cast<int>(value->size()) != width) {
        return Status::User(
            "user-defined function {}() completed a call with {} bytes; its result type {} "
            "takes {}",
            fn_->name(), value->size(), t.ToString(), width);
      }
      s.value[r] = std::move(*value);
    }
    s.null[r] = null ? 1 : 0;
    s.state[r] = kDone;
    --in_flight_;
    if (!opts_.ordered) ready_.push_back(s.first_call + static_cast<uint64_t>(row));
    return Status::Ok();
  }

  Status CheckTimeouts() {
    if (starts_.empty()) return Status::Ok();
    const int64_t now = AsyncNowMicros();
    while (!starts_.empty()) {
      auto [deadline, call] = starts_.front();
      int64_t row = 0;
      Segment* s = Find(call, &row);
      if (s == nullptr || s->state[static_cast<size_t>(row)] != kInFlight) {
        starts_.pop_front();
        continue;
      }
      if (deadline > now) break;
      if (!opts_.null_on_timeout) {
        return Status::User(
            "user-defined function {}() timed out: a call was still in flight after its timeout "
            "of {}ms; raise the function's timeout, or set on_timeout = 'null' to give NULL "
            "instead",
            fn_->name(), opts_.timeout_micros / 1000);
      }
      ++timeouts_;
      SLUICE_RETURN_NOT_OK(Resolve(*s, row, true, nullptr));
      starts_.pop_front();
    }
    return Status::Ok();
  }

  Status StartMore() {
    for (Segment& s : queue_) {
      if (waiting_ == 0 || in_flight_ >= opts_.max_concurrency) break;
      if (s.is_watermark || s.started == s.rows) continue;
      const int64_t k = std::min(s.rows - s.started, opts_.max_concurrency - in_flight_);
      const int64_t begin = s.started;
      const int64_t deadline = AsyncNowMicros() + opts_.timeout_micros;
      for (int64_t i = begin; i < begin + k; ++i) {
        s.state[static_cast<size_t>(i)] = kInFlight;
        starts_.emplace_back(deadline, s.first_call + static_cast<uint64_t>(i));
      }
      s.started += k;
      in_flight_ += k;
      waiting_ -= k;
      args_columns_.clear();
      for (int a : args_) args_columns_.push_back(s.batch->columns[static_cast<size_t>(a)]);
      SLUICE_RETURN_NOT_OK(instance_->Start(args_columns_, begin, begin + k,
                                            s.first_call + static_cast<uint64_t>(begin)));
    }
    return Status::Ok();
  }

  Status EmitRows(Segment& s, const std::vector<int32_t>& rows, runtime::Collector& out) {
    if (rows.empty()) return Status::Ok();
    const types::DataType& t = output_schema_->fields().back().type;
    batch::ColumnBuilder result(t);
    result.Reserve(static_cast<int64_t>(rows.size()));
    for (int32_t r : rows) {
      const auto i = static_cast<size_t>(r);
      s.state[i] = kEmitted;
      ++s.emitted;
      if (s.null[i]) {
        result.AppendNull();
        continue;
      }
      const std::string& v = s.value[i];
      switch (t.id()) {
        case types::TypeId::kBool:
          result.AppendBool(v[0] != 0);
          break;
        default:
          switch (t.byte_width()) {
            case 0:
              result.AppendString(v);
              break;
            case 1:
              result.AppendFixed(static_cast<uint8_t>(v[0]));
              break;
            case 2: {
              uint16_t x;
              std::memcpy(&x, v.data(), 2);
              result.AppendFixed(x);
              break;
            }
            case 4: {
              uint32_t x;
              std::memcpy(&x, v.data(), 4);
              result.AppendFixed(x);
              break;
            }
            case 8: {
              uint64_t x;
              std::memcpy(&x, v.data(), 8);
              result.AppendFixed(x);
              break;
            }
            default: {
              struct Wide {
                char b[16];
              } x;
              std::memcpy(x.b, v.data(), 16);
              result.AppendFixed(x);
              break;
            }
          }
      }
      std::string().swap(s.value[i]);
    }
    std::shared_ptr<Batch> b = s.batch->Select(rows);
    b->schema = output_schema_;
    b->columns.push_back(result.Finish());
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += b->num_rows;
    return out.Emit(b);
  }

  Status Emit(runtime::Collector& out) {
    if (!opts_.ordered && !ready_.empty()) {
      // Rows before the first watermark in the queue may leave in any order.
      std::sort(ready_.begin(), ready_.end());
      std::vector<uint64_t> later;
      size_t k = 0;
      for (Segment& s : queue_) {
        if (k == ready_.size()) break;
        if (s.is_watermark) break;
        rows_.clear();
        const uint64_t end = s.first_call + static_cast<uint64_t>(s.rows);
        while (k < ready_.size() && ready_[k] < end) {
          if (ready_[k] >= s.first_call)
            rows_.push_back(static_cast<int32_t>(ready_[k] - s.first_call));
          ++k;
        }
        SLUICE_RETURN_NOT_OK(EmitRows(s, rows_, out));
      }
      later.assign(ready_.begin() + static_cast<std::ptrdiff_t>(k), ready_.end());
      ready_.swap(later);
    }
    while (!queue_.empty()) {
      Segment& s = queue_.front();
      if (s.is_watermark) {
        Watermark wm = s.watermark;
        queue_.pop_front();
        SLUICE_RETURN_NOT_OK(out.EmitWatermark(wm));
        if (!opts_.ordered && !ready_.empty()) return Emit(out);  // rows behind it may go now
        continue;
      }
      if (opts_.ordered) {
        int64_t p = s.emitted_prefix;
        rows_.clear();
        while (p < s.rows && s.state[static_cast<size_t>(p)] == kDone) {
          rows_.push_back(static_cast<int32_t>(p));
          ++p;
        }
        SLUICE_RETURN_NOT_OK(EmitRows(s, rows_, out));
        s.emitted_prefix = p;
      }
      if (s.emitted < s.rows) break;
      queue_.pop_front();
    }
    return Status::Ok();
  }

  // While blocked on calls in flight, the task wakes for a batch of completions (an eighth of
  // those in flight, at most 128) or kLingerMicros after the first, whichever comes first: each
  // wake-up then starts a batch of calls in one ABI call instead of one call per wake-up, for
  // at most this much latency added to a call.
  static constexpr int64_t kLingerMicros = 1000;
  size_t WakeBatch() const {
    return static_cast<size_t>(std::clamp<int64_t>(in_flight_ / 8, 1, 128));
  }

  // When to look again while blocked: the oldest call's deadline, or soon.
  int64_t NextWake() const {
    const int64_t soon = AsyncNowMicros() + 100'000;
    return starts_.empty() ? soon : std::min(soon, starts_.front().first + 1);
  }

  // While calls are in flight, the task must run when the oldest one's timeout passes.
  void ScheduleTimeoutWake() {
    if (starts_.empty() || !ctx_ || !ctx_->wake_after) return;
    const int64_t deadline = starts_.front().first;
    if (deadline == scheduled_deadline_) return;
    scheduled_deadline_ = deadline;
    ctx_->wake_after(std::max<int64_t>(0, deadline - AsyncNowMicros()) + 1000);
  }

  std::shared_ptr<const udf::AsyncFunction> fn_;
  udf::AsyncOptions opts_;
  std::vector<int> args_;
  types::SchemaPtr output_schema_;
  int subtask_;
  int parallelism_;
  std::unique_ptr<udf::AsyncInstance> instance_;
  std::deque<Segment> queue_;
  std::deque<std::pair<int64_t, uint64_t>> starts_;  // (deadline, call) in start order
  std::vector<uint64_t> ready_;                      // unordered: completed, not emitted
  std::vector<AsyncCompletion> completions_;
  std::vector<batch::ColumnPtr> args_columns_;
  std::vector<int32_t> rows_;
  uint64_t next_call_ = 0;
  int64_t in_flight_ = 0;
  int64_t waiting_ = 0;
  int64_t timeouts_ = 0;
  int64_t scheduled_deadline_ = 0;
};

}  // namespace

std::string AsyncUdfFactory::Describe() const {
  return fmt::format("async_udf {}({}) {} {}", fn_->name(), fmt::join(args_, ", "),
                     fn_->options().Describe(), output_schema_->ToString());
}

Result<std::unique_ptr<runtime::Operator>> AsyncUdfFactory::Create(int subtask,
                                                                   int parallelism) const {
  return std::unique_ptr<runtime::Operator>(
      std::make_unique<AsyncUdfOperator>(fn_, args_, output_schema_, subtask, parallelism));
}

}  // namespace sluice::exec
