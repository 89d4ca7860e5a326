#pragma once
// A task of the executor (executor.cc): one subtask's chain of operators, run by the scheduler's
// worker threads step by step — its input queue and alignment of checkpoint barriers, its
// routing to the out edges (local queues or remote channels), watermarks and idleness, and its
// part of checkpoints. Internal to the runtime.

#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "common/fault.h"
#include "runtime/checkpoint_coordinator.h"
#include "runtime/executor.h"
#include "runtime/message.h"
#include "runtime/state.h"
#include "runtime/task_scheduler.h"

namespace sluice::runtime {

struct OutEdge {
  EdgeKind kind;
  std::vector<InputQueue*> targets;    // null for a consumer on another worker
  std::vector<int> senders;            // our sender index at each target
  std::vector<RemoteOutput*> remotes;  // the channel to each consumer on another worker, or null
  Partitioner partitioner;
  size_t round_robin = 0;
  EdgeTap* tap = nullptr;  // the graph edge's live tap (owned by the executor)
  int subtask = 0;         // the producer's subtask
};

enum class StepResult { kYield, kWait, kFinished };

struct SharedState {
  Scheduler scheduler;
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> aborted{false};
  std::mutex mu;
  std::condition_variable cv;
  int live_tasks = 0;
  Status first_error;

  void Fail(const Status& st) {
    std::lock_guard<std::mutex> lock(mu);
    if (first_error.ok()) first_error = st;
    aborted = true;
    cv.notify_all();
  }
  void TaskFinished() {
    std::lock_guard<std::mutex> lock(mu);
    --live_tasks;
    cv.notify_all();
  }
};

class Task final : public Runnable {
 public:
  Task(SharedState* shared, std::string name) : shared_(shared), name_(std::move(name)) {}

  // Scheduling state machine.
  enum State : int { kIdle, kQueued, kRunning, kRunningNotified, kDone };

  void Wake() override {
    int s = state_.load();
    while (true) {
      if (s == kIdle) {
        if (state_.compare_exchange_weak(s, kQueued)) {
          shared_->scheduler.Schedule(this);
          return;
        }
      } else if (s == kRunning) {
        if (state_.compare_exchange_weak(s, kRunningNotified)) return;
      } else {
        return;  // already queued, notified or done
      }
    }
  }

  // Called by a worker thread for a task taken from the ready queue.
  void RunFromQueue() override {
    state_.store(kRunning);
    while (true) {
      StepResult r = StepResult::kFinished;
      if (shared_->aborted) {
        r = StepResult::kFinished;
      } else {
        Status st = Step(&r);
        if (!st.ok()) {
          shared_->Fail(st.WithContext(name_));
          r = StepResult::kFinished;
        }
      }
      if (r == StepResult::kFinished) {
        state_.store(kDone);
        shared_->TaskFinished();
        return;
      }
      if (r == StepResult::kYield) {
        state_.store(kQueued);
        shared_->scheduler.Schedule(this);
        return;
      }
      int expected = kRunning;
      if (state_.compare_exchange_strong(expected, kIdle)) return;
      // Woken while running: run again.
      state_.store(kRunning);
    }
  }

  const std::string& name() const { return name_; }

  // Wiring, before Run().
  std::unique_ptr<SourceOperator> source;
  std::vector<std::unique_ptr<Operator>> chain;
  std::vector<std::unique_ptr<OperatorContext>> contexts;
  std::unique_ptr<InputQueue> input;
  std::vector<OutEdge> out_edges;
  // Inputs from producers on other workers (a placement): each has its sender index at
  // `input`, whose queue it never uses.
  struct RemoteIn {
    int sender;
    std::shared_ptr<RemoteInput> channel;
  };
  std::vector<RemoteIn> remote_inputs;
  std::vector<std::shared_ptr<RemoteOutput>> remote_outputs;  // owns OutEdge::remotes
  // Stops every transport callback into this task (before it is destroyed).
  void DetachRemote() {
    for (auto& r : remote_inputs) r.channel->SetWake(nullptr);
    for (auto& r : remote_outputs) r->ClearWake();
  }
  std::optional<int64_t> idle_timeout;   // source tasks: idle_micros of the chain
  std::optional<int64_t> tick_interval;  // the chain's shortest tick interval

  // Checkpoints (null coordinator: the run takes none).
  CheckpointCoordinator* coordinator = nullptr;
  int node_id = 0;
  int subtask = 0;
  int parallelism = 1;
  std::vector<int> operator_ids;  // of the source (if any) and the chain, as `contexts`

  Status Open();
  Status CloseAll();
  // Restores every operator from `checkpoint` (after Open, before the task first runs): each
  // from the old operator `old_of_new` maps it to; one mapped to none starts empty.
  Status Restore(const LoadedCheckpoint& checkpoint,
                 const std::map<int, const CheckpointMetadata::Node*>& old_node_of_operator,
                 const std::vector<std::optional<int>>& old_of_new);

  // Source tasks, any thread: emit barrier `b` (after the rows emitted so far).
  void TriggerBarrier(Barrier b) {
    {
      std::lock_guard<std::mutex> lock(trigger_mu_);
      triggers_.push_back(b);
    }
    Wake();
  }
  // Source tasks: a barrier is waiting to be emitted.
  bool BarrierTriggered() {
    std::lock_guard<std::mutex> lock(trigger_mu_);
    return !triggers_.empty();
  }
  // Any thread: checkpoint `checkpoint` is complete; commit it in the task's thread.
  void RequestCommit(int64_t checkpoint) {
    int64_t cur = commit_request_.load();
    while (cur < checkpoint && !commit_request_.compare_exchange_weak(cur, checkpoint)) {
    }
    Wake();
  }
  // Any thread: the final checkpoint failed; finish without waiting for its commit.
  void Release() {
    released_ = true;
    Wake();
  }

 private:
  class ChainCollector : public Collector {
   public:
    ChainCollector(Task* task, size_t next) : task_(task), next_(next) {}
    Status Emit(const batch::BatchPtr& b) override {
      if (b == nullptr || b->num_rows == 0) return Status::Ok();
      const int64_t bytes = BatchBytes(*b);
      // The emitting operator: the source (collector 0 of a source task) or chain[next_ - 1].
      const size_t from = task_->source ? next_ : next_ - 1;
      if (from < task_->contexts.size() && task_->contexts[from]->metrics) {
        task_->contexts[from]->metrics->bytes_out.fetch_add(bytes, std::memory_order_relaxed);
      }
      if (next_ < task_->chain.size()) {
        auto* m = task_->contexts[next_ + (task_->source ? 1 : 0)]->metrics;
        if (m) {
          m->rows_in += b->num_rows;
          m->bytes_in.fetch_add(bytes, std::memory_order_relaxed);
          fault::Rows(m->name, b->num_rows);
        }
        return task_->chain[next_]->ProcessBatch(0, b, *task_->collectors_[next_ + 1]);
      }
      task_->Route(b);
      return Status::Ok();
    }
    Status EmitWatermark(Watermark wm) override {
      // A source's own watermark is the one it emits.
      if (next_ == 0 && task_->source) task_->RecordWatermark(0, wm);
      if (next_ < task_->chain.size()) {
        task_->RecordWatermark(next_ + (task_->source ? 1 : 0), wm);
        return task_->chain[next_]->ProcessWatermark(wm, *task_->collectors_[next_ + 1]);
      }
      task_->RouteControl(wm);
      return Status::Ok();
    }

   private:
    Task* task_;
    size_t next_;
  };

  Status Step(StepResult* result);
  Status StepSource(StepResult* result);
  // Tasks with a tick_interval: OnTick through the chain when it is due.
  Status MaybeTick();
  Status StepOperator(StepResult* result);
  // The next input message: from the local queue or a remote input, in turn. While a barrier
  // is aligned, a remote input that delivered it is not read: its credit stops the producer.
  Result<bool> PopInput(InputQueue::Envelope* env);
  size_t pop_cursor_ = 0;
  Status Handle(InputQueue::Envelope& env);
  // Final watermark and OnEndOfInput through the chain.
  Status DrainChain();
  // DrainChain, then the end of data downstream.
  Status FinishChain();
  // Checkpoints.
  Status HandleTriggers();
  Status CommitRequested();
  Status HandleBarrier(int sender, const Barrier& b);
  Status MaybeAligned();
  // Pre-commits and snapshots every operator, forwards the barrier and acknowledges it.
  Status CheckpointChain(const Barrier& b);
  void Route(const batch::BatchPtr& b);
  void RouteControl(const Message& m);
  bool FlushPending();
  // Metrics: the watermark operator `context` received; the task blocked or going again.
  void RecordWatermark(size_t context, Watermark wm);
  void RecordBlocked(bool blocked);
  bool blocked_ = false;

  SharedState* shared_;
  std::string name_;
  std::atomic<int> state_{kIdle};
  // collectors_[i] feeds chain[i] (collectors_[0] is the source's output; for operator tasks
  // collectors_[0] is unused) and collectors_[chain.size()] routes to the out edges.
  std::vector<std::unique_ptr<ChainCollector>> collectors_;
  std::vector<size_t> polled_;  // chain operators that are polled()

  struct Pending {
    InputQueue* queue;  // null: `remote`
    int sender;
    Message message;
    RemoteOutput* remote = nullptr;
  };
  std::deque<Pending> pending_;

  // Watermarks per sender; the combined watermark never goes backwards.
  std::vector<Watermark> sender_watermarks_;
  std::vector<bool> sender_ended_;
  std::vector<bool> sender_idle_;
  // Source tasks: when data was last emitted, and whether consumers were told it is idle.
  int64_t last_data_ = 0;
  int64_t paced_until_ = 0;  // fault injection (pace_sources): no poll before this time
  bool idle_sent_ = false;
  bool forwarded_idle_ = false;
  int64_t next_tick_ = 0;       // tasks with a tick_interval: when OnTick is due
  int64_t tick_scheduled_ = 0;  // operator tasks: the tick a timer is set for
  int ended_ = 0;
  Watermark current_watermark_ = Watermark::Min();
  bool finishing_ = false;

  // Checkpoints.
  std::mutex trigger_mu_;
  std::deque<Barrier> triggers_;  // source tasks: barriers to emit, in order
  std::atomic<int64_t> commit_request_{0};
  int64_t committed_ = 0;
  std::atomic<bool> released_{false};
  bool source_finished_ = false;
  // Set once the final barrier and the end of data went downstream: the task finishes when the
  // final checkpoint is committed (or failed).
  std::optional<int64_t> final_barrier_;
  // Barrier alignment: the checkpoint being aligned (0: none), which senders delivered its
  // barrier, and the messages of those senders held back meanwhile (in arrival order).
  int64_t aligning_ = 0;
  CheckpointKind aligning_kind_ = CheckpointKind::kPeriodic;
  std::vector<bool> barrier_seen_;
  std::deque<InputQueue::Envelope> held_;
  std::vector<int64_t> held_rows_;
  // Held messages to process before the queue once a checkpoint is aligned.
  std::deque<InputQueue::Envelope> replay_;
};

}  // namespace sluice::runtime
