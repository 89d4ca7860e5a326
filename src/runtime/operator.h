#pragma once
// The operator contract. An operator is driven by exactly one task thread at a time; it never
// blocks that thread waiting for another task.
//
// Checkpoints (when the run has a state dir): at a checkpoint barrier the task calls, for each
// operator of its chain in order, PreCommit(n) and then Snapshot(n, writer); every call sees the
// operator exactly as the rows before the barrier left it. Once checkpoint n is complete (its
// metadata written), the task calls Commit(n) — in the task's own thread, between other calls,
// also after OnEndOfInput — so these never run concurrently with ProcessBatch. When a run resumes
// from a checkpoint, Restore(reader) is called once after Open and before any other call. An
// operator whose state is not captured by Snapshot/Restore must say so through its factory's
// checkpointable(), so that a run with a state dir refuses it instead of losing state.

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "batch/batch.h"
#include "common/status.h"
#include "common/time.h"
#include "runtime/metrics.h"
#include "runtime/state.h"

namespace sluice::runtime {

// Where an operator sends its output; the next operator of the chain or the task's router.
class Collector {
 public:
  virtual ~Collector() = default;
  virtual Status Emit(const batch::BatchPtr& batch) = 0;
  virtual Status EmitWatermark(Watermark wm) = 0;
};

struct OperatorContext {
  std::string name;  // "filter_project[2]": operator name and subtask
  int subtask = 0;
  int parallelism = 1;
  OperatorMetrics* metrics = nullptr;
  const std::atomic<bool>* stop_requested = nullptr;  // set on SIGINT/SIGTERM
  // The run takes checkpoints (it has a state dir): sinks that promise exactly-once write
  // through two-phase commit.
  bool checkpointing = false;
  // The checkpoint this run resumes from: Restore follows Open. Unset on a fresh start.
  std::optional<int64_t> restored_checkpoint;
  // Any thread: has the task run soon (it calls Poll of operators that are polled()). Set by
  // the executor before Open.
  std::function<void()> wake;
  // The same after `delay_micros` of wall-clock time.
  std::function<void(int64_t delay_micros)> wake_after;
};

class Operator {
 public:
  virtual ~Operator() = default;
  virtual Status Open(OperatorContext& ctx) {
    ctx_ = &ctx;
    return Status::Ok();
  }
  // `input` is the index of the logical input (0, or 1 for the right side of a join).
  virtual Status ProcessBatch(int input, const batch::BatchPtr& batch, Collector& out) = 0;
  // Called with the task's combined watermark whenever it advances.
  virtual Status ProcessWatermark(Watermark wm, Collector& out) { return out.EmitWatermark(wm); }
  // Operators chained to a source whose factory has a tick_interval_micros(): called by the
  // source task about every interval of wall-clock time, also while the source has no data
  // (a processing-time watermark advances with the clock).
  virtual Status OnTick(ProcessingTime now, Collector& out) { return Status::Ok(); }
  // Operators whose results arrive from elsewhere (an async function's completions): polled()
  // operators get Poll each time their task runs (after ctx.wake, and between inputs), in the
  // task's thread, to emit what has arrived.
  virtual bool polled() const { return false; }
  virtual Status Poll(Collector& out) { return Status::Ok(); }
  // Every input has ended: emit whatever is buffered.
  virtual Status OnEndOfInput(Collector& out) { return Status::Ok(); }
  // Releases resources (files are closed here). Called once, also after errors.
  virtual Status Close() { return Status::Ok(); }

  // Checkpoints (see the top of this file). Stateless operators keep the defaults.
  virtual Status Snapshot(int64_t checkpoint, StateWriter& state) { return Status::Ok(); }
  virtual Status Restore(StateReader& state) { return Status::Ok(); }
  // Sinks: make what was written since the previous barrier durable but invisible (a pending
  // transaction of checkpoint n)...
  virtual Status PreCommit(int64_t checkpoint) { return Status::Ok(); }
  // ...and make every pending transaction up to n visible, once n is complete. Must be
  // idempotent across a crash: Restore of a checkpoint finishes the commits it covers.
  virtual Status Commit(int64_t checkpoint) { return Status::Ok(); }

 protected:
  OperatorContext* ctx_ = nullptr;
};

// What a source poll asks for next.
struct SourcePoll {
  enum class Kind { kMore, kWaitUntil, kFinished } kind = Kind::kMore;
  ProcessingTime wake_at;  // kWaitUntil
  static SourcePoll More() { return {}; }
  static SourcePoll Finished() { return {Kind::kFinished, {}}; }
  static SourcePoll WaitUntil(ProcessingTime t) { return {Kind::kWaitUntil, t}; }
};

class SourceOperator {
 public:
  virtual ~SourceOperator() = default;
  virtual Status Open(OperatorContext& ctx) {
    ctx_ = &ctx;
    return Status::Ok();
  }
  // Emits what is available now (at most a few batches) and says when to call again. A
  // source that sees ctx.stop_requested returns kFinished.
  virtual Result<SourcePoll> Poll(Collector& out) = 0;
  virtual Status Close() { return Status::Ok(); }

  // Checkpoints: the read position, as of the rows emitted so far (the barrier follows them).
  // Called between polls, also after the source finished.
  virtual Status Snapshot(int64_t checkpoint, StateWriter& state) { return Status::Ok(); }
  // Called once after Open, before the first poll, when the run resumes from a checkpoint.
  virtual Status Restore(StateReader& state) { return Status::Ok(); }
  // Once checkpoint n is complete (its metadata written): called in the task's thread between
  // polls, also after the source finished. For acknowledgements to the server that a restore
  // does not depend on: a Kafka source commits its offsets to the consumer group, a
  // postgres-cdc source advances its slot's confirmed LSN (the checkpoint holds the position).
  virtual Status Commit(int64_t checkpoint) { return Status::Ok(); }

 protected:
  OperatorContext* ctx_ = nullptr;
};

// A serializable description of an operator that can create one instance per subtask.
class OperatorFactory {
 public:
  virtual ~OperatorFactory() = default;
  virtual std::string name() const = 0;      // "filter", "project", "single_file sink"
  virtual std::string Describe() const = 0;  // one line for EXPLAIN
  virtual bool is_source() const { return false; }
  virtual Result<std::unique_ptr<Operator>> Create(int subtask, int parallelism) const {
    return Status::Internal("{} is not an operator", name());
  }
  virtual Result<std::unique_ptr<SourceOperator>> CreateSource(int subtask, int parallelism) const {
    return Status::Internal("{} is not a source", name());
  }
  // Upper bound of the parallelism this operator supports (a single file: 1). 0 = any.
  virtual int max_parallelism() const { return 0; }
  // For operators chained to a source: after this long without data, the source task tells
  // its consumers it is idle (idle_micros).
  virtual std::optional<int64_t> idle_timeout_micros() const { return std::nullopt; }
  // For operators chained to a source: call Operator::OnTick about this often (µs).
  virtual std::optional<int64_t> tick_interval_micros() const { return std::nullopt; }
  // False for an operator whose state Snapshot/Restore do not capture yet: a run with a state
  // dir refuses the query ("checkpointing a query with <name> is not supported yet"). Sources
  // must opt in (a source that cannot resume at its position would replay from its start);
  // other operators are stateless unless they say otherwise.
  virtual bool checkpointable() const { return !is_source(); }
};

}  // namespace sluice::runtime
