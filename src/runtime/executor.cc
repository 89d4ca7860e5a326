#include "runtime/executor.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <queue>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/check.h"
#include "common/fault.h"
#include "runtime/checkpoint_coordinator.h"
#include "runtime/checkpoint_store.h"
#include "runtime/message.h"
#include "runtime/operator_identity.h"
#include "runtime/state.h"
#include "runtime/task_scheduler.h"

namespace sluice::runtime {

namespace {

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

Status Task::Open() {
  size_t first_op = source ? 1 : 0;
  if (source) SLUICE_RETURN_NOT_OK(source->Open(*contexts[0]));
  for (size_t i = 0; i < chain.size(); ++i) {
    SLUICE_RETURN_NOT_OK(chain[i]->Open(*contexts[i + first_op]));
  }
  // collectors_[i] delivers into chain[i]; the source's output goes to collectors_[0].
  for (size_t i = 0; i <= chain.size(); ++i) {
    collectors_.push_back(std::make_unique<ChainCollector>(this, i));
    if (i < chain.size() && chain[i]->polled()) polled_.push_back(i);
  }
  if (input) {
    sender_watermarks_.assign(static_cast<size_t>(input->num_senders()), Watermark::Min());
    sender_ended_.assign(static_cast<size_t>(input->num_senders()), false);
    sender_idle_.assign(static_cast<size_t>(input->num_senders()), false);
    barrier_seen_.assign(static_cast<size_t>(input->num_senders()), false);
    held_rows_.assign(static_cast<size_t>(input->num_senders()), 0);
  }
  for (auto& r : remote_inputs) r.channel->SetWake([this] { Wake(); });
  return Status::Ok();
}

Status Task::Restore(const LoadedCheckpoint& checkpoint,
                     const std::map<int, const CheckpointMetadata::Node*>& old_node_of_operator,
                     const std::vector<std::optional<int>>& old_of_new) {
  const int64_t n = checkpoint.metadata.checkpoint;
  for (size_t i = 0; i < operator_ids.size(); ++i) {
    const size_t now = static_cast<size_t>(operator_ids[i]);
    if (now >= old_of_new.size() || !old_of_new[now]) continue;  // a new operator: empty
    int op = *old_of_new[now];
    auto it = old_node_of_operator.find(op);
    if (it == old_node_of_operator.end()) {
      return Status::Internal("operator {} is in no node of checkpoint {}", op, n);
    }
    std::vector<const TaskState*> previous;
    std::vector<std::vector<const TaskState*>> chains;
    for (int s = 0; s < it->second->parallelism; ++s) {
      const std::pair<int, int> task{it->second->id, s};
      previous.push_back(&checkpoint.states.at(task));
      chains.emplace_back();
      if (auto e = checkpoint.earlier.find(task); e != checkpoint.earlier.end()) {
        for (const TaskState& older : e->second) chains.back().push_back(&older);
      }
      chains.back().push_back(previous.back());
    }
    StateReader reader(n, op, subtask, std::move(previous), std::move(chains));
    Status st =
        (i == 0 && source) ? source->Restore(reader) : chain[i - (source ? 1 : 0)]->Restore(reader);
    if (!st.ok()) {
      return st.WithContext(fmt::format("restoring checkpoint {}: {}", n, contexts[i]->name));
    }
  }
  return Status::Ok();
}

Status Task::CloseAll() {
  Status first;
  if (source) {
    Status st = source->Close();
    if (first.ok() && !st.ok()) first = st;
  }
  for (auto& op : chain) {
    Status st = op->Close();
    if (first.ok() && !st.ok()) first = st;
  }
  return first;
}

void Task::Route(const batch::BatchPtr& b) {
  for (auto& e : out_edges) {
    if (e.tap->active()) e.tap->Offer(b, e.subtask);
    switch (e.kind) {
      case EdgeKind::kForward:
        pending_.push_back({e.targets[0], e.senders[0], b, e.remotes[0]});
        break;
      case EdgeKind::kRebalance: {
        size_t i = e.round_robin++ % e.targets.size();
        pending_.push_back({e.targets[i], e.senders[i], b, e.remotes[i]});
        break;
      }
      case EdgeKind::kBroadcast:
        for (size_t i = 0; i < e.targets.size(); ++i) {
          pending_.push_back({e.targets[i], e.senders[i], b, e.remotes[i]});
        }
        break;
      case EdgeKind::kHash: {
        auto parts = e.partitioner(b, static_cast<int>(e.targets.size()));
        for (size_t i = 0; i < parts.size(); ++i) {
          if (parts[i] && parts[i]->num_rows > 0) {
            pending_.push_back({e.targets[i], e.senders[i], parts[i], e.remotes[i]});
          }
        }
        break;
      }
    }
  }
}

void Task::RouteControl(const Message& m) {
  for (auto& e : out_edges) {
    for (size_t i = 0; i < e.targets.size(); ++i) {
      pending_.push_back({e.targets[i], e.senders[i], m, e.remotes[i]});
    }
  }
}

bool Task::FlushPending() {
  while (!pending_.empty()) {
    Pending& p = pending_.front();
    if (p.remote != nullptr) {
      auto sent = p.remote->TrySend(p.message, [this] { Wake(); });
      if (!sent.ok()) {
        shared_->Fail(sent.status().WithContext(name_));
        return false;
      }
      if (!*sent) {
        RecordBlocked(true);
        return false;
      }
    } else if (!p.queue->TryPush(p.sender, std::move(p.message), this)) {
      RecordBlocked(true);
      return false;
    }
    pending_.pop_front();
  }
  RecordBlocked(false);
  return true;
}

void Task::RecordWatermark(size_t context, Watermark wm) {
  if (context < contexts.size() && contexts[context]->metrics) {
    contexts[context]->metrics->watermark.store(wm.time.value, std::memory_order_relaxed);
  }
}

// Called on every flush, but does work only when the state changes (a queue filled up or
// drained): two clock reads per period of backpressure.
void Task::RecordBlocked(bool blocked) {
  if (blocked == blocked_) return;
  blocked_ = blocked;
  const int64_t now = Now().value;
  for (auto& ctx : contexts) {
    OperatorMetrics* m = ctx->metrics;
    if (m == nullptr) continue;
    if (blocked) {
      m->blocked_since.store(now, std::memory_order_relaxed);
    } else {
      const int64_t since = m->blocked_since.exchange(0, std::memory_order_relaxed);
      if (since > 0 && now > since) {
        m->backpressure_micros.fetch_add(now - since, std::memory_order_relaxed);
      }
    }
  }
}

Status Task::DrainChain() {
  // The end of input is a final watermark (+infinity) followed by a flush of every operator
  // in chain order, so what one operator flushes is seen by the next before its own flush.
  if (source) {
    SLUICE_RETURN_NOT_OK(collectors_[0]->EmitWatermark(Watermark::Max()));
  } else if (current_watermark_ < Watermark::Max()) {
    current_watermark_ = Watermark::Max();
    RecordWatermark(0, Watermark::Max());
    if (!chain.empty()) {
      SLUICE_RETURN_NOT_OK(chain[0]->ProcessWatermark(Watermark::Max(), *collectors_[1]));
    } else {
      RouteControl(Watermark::Max());
    }
  }
  for (size_t i = 0; i < chain.size(); ++i) {
    SLUICE_RETURN_NOT_OK(chain[i]->OnEndOfInput(*collectors_[i + 1]));
  }
  return Status::Ok();
}

Status Task::FinishChain() {
  SLUICE_RETURN_NOT_OK(DrainChain());
  RouteControl(EndOfData{});
  finishing_ = true;
  return Status::Ok();
}

Status Task::Step(StepResult* result) {
  if (coordinator != nullptr) {
    SLUICE_RETURN_NOT_OK(CommitRequested());
    // Before flushing: a barrier queues behind the rows already emitted, even under
    // backpressure.
    if (source) SLUICE_RETURN_NOT_OK(HandleTriggers());
  }
  if (!FlushPending()) {
    *result = StepResult::kWait;
    return Status::Ok();
  }
  if (finishing_) {
    *result = StepResult::kFinished;
    return Status::Ok();
  }
  if (final_barrier_) {
    // Wait for the commit of the final checkpoint (RequestCommit or Release wakes the task).
    bool done = committed_ >= *final_barrier_ || released_;
    *result = done ? StepResult::kFinished : StepResult::kWait;
    return Status::Ok();
  }
  // Operators whose results arrive from elsewhere (async functions) emit what has arrived.
  for (size_t i : polled_) SLUICE_RETURN_NOT_OK(chain[i]->Poll(*collectors_[i + 1]));
  return source ? StepSource(result) : StepOperator(result);
}

Status Task::CommitRequested() {
  int64_t n = commit_request_.load();
  if (n <= committed_) return Status::Ok();
  for (auto& op : chain) SLUICE_RETURN_NOT_OK(op->Commit(n));
  if (source) SLUICE_RETURN_NOT_OK(source->Commit(n));
  committed_ = n;
  return Status::Ok();
}

Status Task::HandleTriggers() {
  while (!final_barrier_) {
    Barrier b;
    {
      std::lock_guard<std::mutex> lock(trigger_mu_);
      if (triggers_.empty()) break;
      b = triggers_.front();
      triggers_.pop_front();
    }
    SLUICE_RETURN_NOT_OK(CheckpointChain(b));
    if (b.final()) {
      // A source that finished by itself already drained its chain; a stopped one keeps what
      // its chain holds in the checkpoint.
      RouteControl(EndOfData{});
      final_barrier_ = b.epoch;
    }
  }
  return Status::Ok();
}

Status Task::CheckpointChain(const Barrier& b) {
  TaskState state;
  state.checkpoint = b.epoch;
  state.node = node_id;
  state.subtask = subtask;
  state.parallelism = parallelism;
  size_t first_op = source ? 1 : 0;
  // Incremental snapshots extend only a completed checkpoint. The coordinator triggers a
  // checkpoint after the previous one completed or failed, so this is final for it.
  const int64_t last_completed = coordinator->last_completed();
  int64_t chain_from = 0;
  // The bytes of the pieces an operator added, as its state size.
  auto record_state = [&](size_t context, size_t pieces_before) {
    int64_t bytes = 0;
    for (size_t p = pieces_before; p < state.pieces.size(); ++p) {
      bytes += static_cast<int64_t>(state.pieces[p].size());
    }
    if (auto* m = contexts[context]->metrics) {
      m->state_bytes.store(bytes, std::memory_order_relaxed);
    }
  };
  if (source) {
    const size_t before = state.pieces.size();
    StateWriter writer(&state.pieces, operator_ids[0], last_completed, &chain_from);
    Status st = source->Snapshot(b.epoch, writer);
    if (!st.ok()) return st.WithContext(contexts[0]->name);
    record_state(0, before);
  }
  for (size_t i = 0; i < chain.size(); ++i) {
    const size_t before = state.pieces.size();
    StateWriter writer(&state.pieces, operator_ids[i + first_op], last_completed, &chain_from);
    Status st = chain[i]->PreCommit(b.epoch);
    if (st.ok()) st = chain[i]->Snapshot(b.epoch, writer);
    if (!st.ok()) return st.WithContext(contexts[i + first_op]->name);
    record_state(i + first_op, before);
  }
  RouteControl(b);
  coordinator->Acknowledge(b.epoch, std::move(state), chain_from);
  return Status::Ok();
}

Status Task::StepSource(StepResult* result) {
  if (source_finished_) {
    // Checkpoints: the task stays until the final barrier, to take part in every checkpoint.
    *result = StepResult::kWait;
    return Status::Ok();
  }
  if (last_data_ == 0) last_data_ = Now().value;
  if (paced_until_ > Now().value) {  // woken early (a barrier): the pace still holds
    shared_->scheduler.ScheduleAt(this, ProcessingTime{paced_until_});
    *result = StepResult::kWait;
    return Status::Ok();
  }
  SLUICE_RETURN_NOT_OK(MaybeTick());
  for (int i = 0; i < 16; ++i) {
    size_t pending_before = pending_.size();
    auto poll = source->Poll(*collectors_[0]);
    if (!poll.ok()) return poll.status();
    if (pending_.size() != pending_before) {
      last_data_ = Now().value;
      idle_sent_ = false;
    } else if (idle_timeout && !idle_sent_ && Now().value - last_data_ >= *idle_timeout) {
      RouteControl(Idle{});
      idle_sent_ = true;
    }
    if (poll->kind == SourcePoll::Kind::kFinished) {
      if (coordinator == nullptr) {
        SLUICE_RETURN_NOT_OK(FinishChain());
        *result = FlushPending() ? StepResult::kFinished : StepResult::kWait;
        return Status::Ok();
      }
      // With checkpoints the end of data waits for the final barrier. An input that ended by
      // itself drains the chain now; a stopped one does not (the next run resumes it).
      if (!shared_->stop_requested) SLUICE_RETURN_NOT_OK(DrainChain());
      source_finished_ = true;
      coordinator->SourceFinished();
      FlushPending();
      *result = StepResult::kWait;
      return Status::Ok();
    }
    if (!FlushPending()) {
      *result = StepResult::kWait;
      return Status::Ok();
    }
    if (poll->kind == SourcePoll::Kind::kWaitUntil) {
      ProcessingTime wake = poll->wake_at;
      if (idle_timeout && !idle_sent_) {
        wake.value = std::min(wake.value, last_data_ + *idle_timeout);
      }
      if (tick_interval) wake.value = std::min(wake.value, next_tick_);
      shared_->scheduler.ScheduleAt(this, wake);
      *result = StepResult::kWait;
      return Status::Ok();
    }
    // A checkpoint was triggered: emit its barrier (next step) before polling on, so that a
    // barrier follows the rows already emitted instead of up to 15 more polls.
    if (coordinator != nullptr && BarrierTriggered()) break;
    // Fault injection (tests): pace the source without holding a worker thread.
    if (const int64_t pace = fault::SourcePaceMicros(); pace > 0) {
      paced_until_ = Now().value + pace;
      shared_->scheduler.ScheduleAt(this, ProcessingTime{paced_until_});
      *result = StepResult::kWait;
      return Status::Ok();
    }
  }
  *result = StepResult::kYield;
  return Status::Ok();
}

Status Task::MaybeTick() {
  if (!tick_interval) return Status::Ok();
  const ProcessingTime now = Now();
  if (now.value < next_tick_) return Status::Ok();
  next_tick_ = now.value + *tick_interval;
  for (size_t i = 0; i < chain.size(); ++i) {
    SLUICE_RETURN_NOT_OK(chain[i]->OnTick(now, *collectors_[i + 1]));
  }
  return Status::Ok();
}

Status Task::Handle(InputQueue::Envelope& env) {
  size_t s = static_cast<size_t>(env.sender);
  if (aligning_ != 0 && barrier_seen_[s]) {
    // This sender is past the barrier being aligned: hold its messages back until every other
    // live sender delivered the barrier too.
    if (auto* b = std::get_if<batch::BatchPtr>(&env.message)) {
      input->Hold(env.sender, (*b)->num_rows);
      held_rows_[s] += (*b)->num_rows;
    }
    held_.push_back(std::move(env));
    return Status::Ok();
  }
  if (auto* b = std::get_if<batch::BatchPtr>(&env.message)) {
    sender_idle_[s] = false;
    forwarded_idle_ = false;
    if (chain.empty()) {
      Route(*b);
      return Status::Ok();
    }
    auto* m = contexts[0]->metrics;
    if (m) {
      m->rows_in += (*b)->num_rows;
      m->bytes_in.fetch_add(BatchBytes(**b), std::memory_order_relaxed);
      fault::Rows(m->name, (*b)->num_rows);
    }
    return chain[0]->ProcessBatch(input->logical_input(env.sender), *b, *collectors_[1]);
  }
  if (auto* wm = std::get_if<Watermark>(&env.message)) {
    sender_idle_[s] = false;
    if (*wm > sender_watermarks_[s]) sender_watermarks_[s] = *wm;
  } else if (std::holds_alternative<Idle>(env.message)) {
    sender_idle_[s] = true;
  } else if (std::holds_alternative<EndOfData>(env.message)) {
    if (!sender_ended_[s]) {
      sender_ended_[s] = true;
      ++ended_;
    }
    // An ended sender no longer holds a barrier back.
    if (aligning_ != 0) SLUICE_RETURN_NOT_OK(MaybeAligned());
    if (final_barrier_) return Status::Ok();
    if (ended_ == input->num_senders()) return FinishChain();
  } else if (auto* barrier = std::get_if<Barrier>(&env.message)) {
    return HandleBarrier(env.sender, *barrier);
  }
  // The combined watermark is the minimum over inputs that have neither ended nor gone idle;
  // when every live input is idle, the watermark holds.
  Watermark combined = Watermark::Max();
  bool any_active = false;
  for (size_t i = 0; i < sender_watermarks_.size(); ++i) {
    if (!sender_ended_[i] && !sender_idle_[i]) {
      combined = std::min(combined, sender_watermarks_[i]);
      any_active = true;
    }
  }
  if (!any_active) {
    // Every live input is idle: so is this task, for its consumers.
    if (!forwarded_idle_) {
      RouteControl(Idle{});
      forwarded_idle_ = true;
    }
    return Status::Ok();
  }
  forwarded_idle_ = false;
  if (combined > current_watermark_) {
    current_watermark_ = combined;
    RecordWatermark(0, combined);
    if (chain.empty()) {
      RouteControl(combined);
    } else {
      return chain[0]->ProcessWatermark(combined, *collectors_[1]);
    }
  }
  return Status::Ok();
}

Status Task::HandleBarrier(int sender, const Barrier& b) {
  if (coordinator == nullptr) return Status::Internal("checkpoint barrier without checkpoints");
  if (aligning_ == 0) {
    aligning_ = b.epoch;
    aligning_kind_ = b.kind;
    std::fill(barrier_seen_.begin(), barrier_seen_.end(), false);
  } else if (b.epoch != aligning_) {
    return Status::Internal("barrier {} arrived while aligning barrier {}", b.epoch, aligning_);
  }
  barrier_seen_[static_cast<size_t>(sender)] = true;
  return MaybeAligned();
}

Status Task::MaybeAligned() {
  for (size_t i = 0; i < barrier_seen_.size(); ++i) {
    if (!barrier_seen_[i] && !sender_ended_[i]) return Status::Ok();
  }
  Barrier b{aligning_, aligning_kind_};
  aligning_ = 0;
  // At the end of input, what the chain holds is flushed before the final snapshot, so the
  // final checkpoint covers it.
  if (b.kind == CheckpointKind::kEnd) SLUICE_RETURN_NOT_OK(DrainChain());
  SLUICE_RETURN_NOT_OK(CheckpointChain(b));
  input->Release(held_rows_);
  std::fill(held_rows_.begin(), held_rows_.end(), 0);
  if (b.final()) {
    // Nothing follows a final barrier but the end of data.
    RouteControl(EndOfData{});
    final_barrier_ = b.epoch;
    held_.clear();
    replay_.clear();
    return Status::Ok();
  }
  // The held messages go first, in their order: per sender, order is kept.
  replay_.insert(replay_.begin(), std::make_move_iterator(held_.begin()),
                 std::make_move_iterator(held_.end()));
  held_.clear();
  return Status::Ok();
}

Result<bool> Task::PopInput(InputQueue::Envelope* env) {
  if (remote_inputs.empty()) return input->Pop(env);
  const size_t n = remote_inputs.size() + 1;
  for (size_t k = 0; k < n; ++k) {
    const size_t i = (pop_cursor_ + k) % n;
    if (i == 0) {
      if (input->Pop(env)) {
        pop_cursor_ = 1;
        return true;
      }
      continue;
    }
    RemoteIn& r = remote_inputs[i - 1];
    const auto s = static_cast<size_t>(r.sender);
    if (sender_ended_[s] || (aligning_ != 0 && barrier_seen_[s])) continue;
    SLUICE_ASSIGN_OR_RETURN(std::optional<Message> m, r.channel->TryPop());
    if (m) {
      env->sender = r.sender;
      env->message = std::move(*m);
      pop_cursor_ = (i + 1) % n;
      return true;
    }
  }
  return false;
}

Status Task::StepOperator(StepResult* result) {
  SLUICE_RETURN_NOT_OK(MaybeTick());
  for (int i = 0; i < 32; ++i) {
    InputQueue::Envelope env;
    bool popped = false;
    if (!replay_.empty()) {
      env = std::move(replay_.front());
      replay_.pop_front();
      popped = true;
    } else {
      SLUICE_ASSIGN_OR_RETURN(popped, PopInput(&env));
    }
    if (!popped) {
      // Ticks go on while no input arrives: one timer for the next one.
      if (tick_interval && tick_scheduled_ != next_tick_) {
        tick_scheduled_ = next_tick_;
        shared_->scheduler.ScheduleAt(this, ProcessingTime{next_tick_});
      }
      *result = StepResult::kWait;
      return Status::Ok();
    }
    SLUICE_RETURN_NOT_OK(Handle(env));
    if (!FlushPending()) {
      *result = StepResult::kWait;
      return Status::Ok();
    }
    if (finishing_ || final_barrier_) {
      *result = StepResult::kYield;  // Step decides: finished, or waiting for the commit
      return Status::Ok();
    }
  }
  *result = StepResult::kYield;
  return Status::Ok();
}

}  // namespace

CheckpointLayout CheckpointLayoutOf(const DataflowGraph& graph) {
  CheckpointLayout out;
  std::vector<const NodeSpec*> by_id;
  for (const auto& node : graph.nodes) by_id.push_back(&node);
  std::sort(by_id.begin(), by_id.end(), [](auto* a, auto* b) { return a->id < b->id; });
  for (const NodeSpec* node : by_id) {
    CheckpointMetadata::Node layout{node->id, node->parallelism, {}};
    for (const auto& f : node->chain) {
      layout.operator_ids.push_back(static_cast<int>(out.operators.size()));
      out.operators.push_back(f->name());
    }
    out.nodes.push_back(std::move(layout));
  }
  out.identities = OperatorIdentities(graph);
  return out;
}

class Executor::Impl {
 public:
  Impl(DataflowGraph graph, ExecutorOptions options, std::optional<CheckpointOptions> checkpoints)
      : graph_(std::move(graph)), options_(options), checkpoints_(std::move(checkpoints)) {}

  Status Build();
  Status Run();
  void RequestStop() {
    shared_.stop_requested = true;
    for (auto& t : tasks_) {
      if (t->source) t->Wake();
    }
  }

  void Abort(const std::string& reason) {
    // Run() wakes on the failure, stops the workers and closes every operator.
    shared_.Fail(Status::Cancelled(reason));
  }

  // Checkpoints: refuses what cannot be checkpointed, loads the checkpoint to resume from.
  Status PrepareCheckpoints();
  void Log(const std::string& message) const {
    const auto& log = checkpoints_->log;
    if (log) {
      log(message);
    } else {
      std::fprintf(stderr, "sluice: %s\n", message.c_str());
    }
  }

  DataflowGraph graph_;
  ExecutorOptions options_;
  std::optional<Placement> placement_;
  std::optional<CheckpointOptions> checkpoints_;
  SharedState shared_;
  std::vector<std::unique_ptr<Task>> tasks_;
  std::vector<std::unique_ptr<OperatorMetrics>> metrics_;
  std::vector<std::shared_ptr<EdgeTap>> taps_;  // one per graph edge, set by Build
  bool built_ = false;

  // Checkpoints. Operators are numbered in node order, then chain order: the order in which
  // the planner creates them, which does not depend on the parallelism or the chaining.
  std::vector<std::string> operator_names_;
  std::vector<CheckpointMetadata::Node> layout_;
  std::unique_ptr<CheckpointStore> store_;
  std::unique_ptr<CheckpointCoordinator> coordinator_;
  std::optional<LoadedCheckpoint> restored_;
  std::optional<int64_t> restored_from_;
  // By operator id: the stable identities (operator_identity.h), and the old operator whose
  // state each restores (none: it starts empty).
  std::vector<CheckpointMetadata::Identity> identities_;
  std::vector<std::optional<int>> old_of_new_;
  int64_t first_checkpoint_id_ = 1;
  std::mutex final_mu_;
  Status final_error_;
  // A distributed job's checkpoint calls (TriggerCheckpoint, CommitCheckpoint): kept until the
  // checkpoint coordinator runs, dropped once it stopped.
  std::mutex dist_mu_;
  bool dist_running_ = false;
  bool dist_over_ = false;
  std::vector<Barrier> dist_early_triggers_;
  int64_t dist_early_commit_ = 0;
};

Status Executor::Impl::PrepareCheckpoints() {
  const CheckpointOptions& opts = *checkpoints_;
  if (!opts.storage) return Status::Internal("checkpoints without storage");
  std::vector<std::string> refused;
  for (const auto& node : graph_.nodes) {
    for (const auto& f : node.chain) {
      if (!f->checkpointable() &&
          std::find(refused.begin(), refused.end(), f->name()) == refused.end()) {
        refused.push_back(f->name());
      }
    }
  }
  if (!refused.empty()) {
    return Status::NotSupported(
        "checkpointing a query with {} is not supported yet; run it without a state dir",
        fmt::join(refused, ", "));
  }
  store_ = std::make_unique<CheckpointStore>(opts.storage);
  std::vector<std::string> warnings;
  Result<std::optional<LoadedCheckpoint>> latest = std::optional<LoadedCheckpoint>();
  int64_t max_deleted_id = 0;
  if (opts.distributed) {
    // The job's coordinator chose the checkpoint (and deleted those after it).
    if (opts.restore_checkpoint) {
      auto chosen = store_->Load(*opts.restore_checkpoint);
      if (!chosen.ok()) {
        return Status::User("cannot restore checkpoint {} of '{}': {}", *opts.restore_checkpoint,
                            opts.storage->location(), chosen.status().message());
      }
      latest = std::optional<LoadedCheckpoint>(chosen.MoveValue());
    }
  } else if (opts.restore_checkpoint) {
    auto chosen = store_->Load(*opts.restore_checkpoint);
    if (!chosen.ok()) {
      return Status::User("cannot restore checkpoint {} of '{}': {}", *opts.restore_checkpoint,
                          opts.storage->location(), chosen.status().message());
    }
    SLUICE_ASSIGN_OR_RETURN(CheckpointStore::Listing before, store_->List());
    max_deleted_id = before.max_id;  // new ids continue after the abandoned ones
    for (int64_t id : before.complete) {
      if (id > *opts.restore_checkpoint) SLUICE_RETURN_NOT_OK(store_->Delete(id));
    }
    latest = std::optional<LoadedCheckpoint>(chosen.MoveValue());
  } else {
    latest = store_->LoadLatest(&warnings);
  }
  for (const auto& w : warnings) Log("warning: " + w);
  if (!latest.ok()) {
    if (!opts.ignore_state) return latest.status();
    Log(fmt::format("warning: {}; starting from the beginning (--ignore-state)",
                    latest.status().message()));
  } else if (latest->has_value()) {
    const CheckpointMetadata& m = (*latest)->metadata;
    std::string mismatch;
    std::optional<StateMapping> mapping;
    const bool same_query = m.fingerprint == opts.fingerprint && m.operators == operator_names_;
    if (same_query) {
      old_of_new_.clear();
      for (size_t i = 0; i < operator_names_.size(); ++i)
        old_of_new_.push_back(static_cast<int>(i));
    } else if (!m.identities.empty()) {
      // An edited query: state follows the operators' identities (decision 0026).
      mapping = MapOperatorState(m, identities_);
      if (!mapping->dropped.empty() && !opts.allow_non_restored_state) {
        if (!opts.ignore_state) {
          return RefuseDroppedState(
              m.checkpoint, *mapping,
              "run with --allow-non-restored-state (the API's allowNonRestoredState) to drop "
              "that state and start those operators empty, or with --ignore-state to start the "
              "query from the beginning");
        }
        mismatch = "has operator state the edited query cannot take";
      } else {
        old_of_new_ = mapping->old_of_new;
      }
    } else if (m.fingerprint != opts.fingerprint) {
      mismatch = fmt::format("was written by a different query (fingerprint {}, this query {})",
                             m.fingerprint, opts.fingerprint);
    } else {
      mismatch = fmt::format("was written by a dataflow with other operators ({}; now {})",
                             fmt::join(m.operators, ", "), fmt::join(operator_names_, ", "));
    }
    if (mismatch.empty()) {
      if (mapping) {
        std::vector<std::string> fresh, dropped;
        for (int op : mapping->fresh) {
          fresh.push_back(identities_[static_cast<size_t>(op)].description);
        }
        Log(fmt::format(
            "checkpoint {} was written by an earlier version of the query: {} of {} operators "
            "keep their state{}{}",
            m.checkpoint, operator_names_.size() - mapping->fresh.size(), operator_names_.size(),
            fresh.empty() ? std::string()
                          : fmt::format("; new, starting empty: {}", fmt::join(fresh, "; ")),
            mapping->reasons.empty() ? std::string()
                                     : fmt::format("; state dropped (allowNonRestoredState): {}",
                                                   fmt::join(mapping->reasons, "; "))));
      }
      // Operators restored from a stateful one stay stateful in this run's checkpoints (before
      // `m` is moved from).
      for (size_t i = 0; i < old_of_new_.size() && i < identities_.size(); ++i) {
        auto o = old_of_new_[i];
        if (o && static_cast<size_t>(*o) < m.identities.size()) {
          identities_[i].stateful = m.identities[static_cast<size_t>(*o)].stateful;
        } else if (o && m.identities.empty()) {
          identities_[i].stateful = true;  // an older checkpoint: assume so
        }
      }
      restored_from_ = m.checkpoint;
      restored_ = std::move(**latest);
    } else if (opts.ignore_state) {
      Log(fmt::format("checkpoint {} in '{}' {}: starting from the beginning (--ignore-state)",
                      m.checkpoint, opts.storage->location(), mismatch));
    } else {
      return Status::User(
          "checkpoint {} in state dir '{}' {}; use another state dir, or --ignore-state to start "
          "this query from the beginning",
          m.checkpoint, opts.storage->location(), mismatch);
    }
  }
  SLUICE_ASSIGN_OR_RETURN(CheckpointStore::Listing listing, store_->List());
  first_checkpoint_id_ = std::max(listing.max_id, max_deleted_id) + 1;
  if (restored_) {
    const char* when = "";
    switch (restored_->metadata.kind) {
      case CheckpointKind::kPeriodic:
        break;
      case CheckpointKind::kStop:
        when = " (taken when the previous run was stopped)";
        break;
      case CheckpointKind::kEnd:
        when = " (taken at the end of the input: nothing is left to read)";
        break;
    }
    Log(fmt::format("resuming from checkpoint {} in '{}'{}", *restored_from_,
                    opts.storage->location(), when));
  }
  return Status::Ok();
}

Status Executor::Impl::Build() {
  // Operator ids, in node order then chain order.
  CheckpointLayout layout = CheckpointLayoutOf(graph_);
  operator_names_ = std::move(layout.operators);
  layout_ = std::move(layout.nodes);
  identities_ = std::move(layout.identities);
  std::map<int, int> first_operator;  // by node id
  for (const auto& n : layout_) {
    first_operator[n.id] = n.operator_ids.empty() ? 0 : n.operator_ids.front();
  }
  // The worker of each subtask (a placement), checked against the graph.
  const Placement* placement = placement_ ? &*placement_ : nullptr;
  auto worker_of = [&](int node, int s) {
    return placement ? placement->workers[static_cast<size_t>(node)][static_cast<size_t>(s)] : 0;
  };
  const int my_worker = placement ? placement->worker : 0;
  if (placement) {
    if (!placement->remote) return Status::Internal("a placement without remote edges");
    for (const auto& node : graph_.nodes) {
      if (node.id < 0 || static_cast<size_t>(node.id) >= placement->workers.size() ||
          placement->workers[static_cast<size_t>(node.id)].size() !=
              static_cast<size_t>(node.parallelism)) {
        return Status::Internal("the placement does not cover node {} ({} subtasks)", node.id,
                                node.parallelism);
      }
    }
  }
  // Tasks: one per node subtask (placed on this worker; null for the others).
  std::vector<std::vector<Task*>> node_tasks(graph_.nodes.size());
  for (const auto& node : graph_.nodes) {
    for (int s = 0; s < node.parallelism; ++s) {
      if (worker_of(node.id, s) != my_worker) {
        node_tasks[static_cast<size_t>(node.id)].push_back(nullptr);
        continue;
      }
      auto task = std::make_unique<Task>(
          &shared_, fmt::format("{}[{}/{}]", node.name(), s + 1, node.parallelism));
      task->node_id = node.id;
      task->subtask = s;
      task->parallelism = node.parallelism;
      for (size_t i = 0; i < node.chain.size(); ++i) {
        task->operator_ids.push_back(first_operator[node.id] + static_cast<int>(i));
      }
      for (size_t i = 0; i < node.chain.size(); ++i) {
        const auto& f = node.chain[i];
        auto ctx = std::make_unique<OperatorContext>();
        auto metrics = std::make_unique<OperatorMetrics>();
        metrics->name = fmt::format("{}[{}]", f->name(), s);
        metrics->node = node.id;
        metrics->chain_index = static_cast<int>(i);
        ctx->name = metrics->name;
        ctx->subtask = s;
        ctx->parallelism = node.parallelism;
        ctx->metrics = metrics.get();
        ctx->stop_requested = &shared_.stop_requested;
        {
          Task* t = task.get();
          Scheduler* sched = &shared_.scheduler;
          ctx->wake = [t] { t->Wake(); };
          ctx->wake_after = [t, sched](int64_t delay) {
            sched->ScheduleAt(t, ProcessingTime{Now().value + delay});
          };
        }
        if (i == 0 && f->is_source()) {
          auto src = f->CreateSource(s, node.parallelism);
          if (!src.ok()) return src.status();
          task->source = src.MoveValue();
        } else {
          auto op = f->Create(s, node.parallelism);
          if (!op.ok()) return op.status();
          task->chain.push_back(op.MoveValue());
        }
        if (auto idle = f->idle_timeout_micros()) task->idle_timeout = idle;
        if (auto tick = f->tick_interval_micros()) {
          task->tick_interval = std::min(task->tick_interval.value_or(*tick), *tick);
        }
        task->contexts.push_back(std::move(ctx));
        metrics_.push_back(std::move(metrics));
      }
      if (!node.is_source()) {
        task->input = std::make_unique<InputQueue>(task.get(), options_.queue_capacity_rows);
      }
      node_tasks[static_cast<size_t>(node.id)].push_back(task.get());
      tasks_.push_back(std::move(task));
    }
  }
  // Edges: every producer subtask gets a sender slot at each consumer queue it can reach.
  for (size_t i = 0; i < graph_.edges.size(); ++i) taps_.push_back(std::make_shared<EdgeTap>());
  for (size_t edge_index = 0; edge_index < graph_.edges.size(); ++edge_index) {
    const EdgeSpec& edge = graph_.edges[edge_index];
    auto& producers = node_tasks[static_cast<size_t>(edge.from)];
    auto& consumers = node_tasks[static_cast<size_t>(edge.to)];
    if (edge.kind == EdgeKind::kForward && producers.size() != consumers.size()) {
      return Status::Internal("forward edge between different parallelisms");
    }
    for (size_t p = 0; p < producers.size(); ++p) {
      const bool forward = edge.kind == EdgeKind::kForward;
      const size_t first = forward ? p : 0;
      const size_t last = forward ? p + 1 : consumers.size();
      if (producers[p] == nullptr) {
        // A producer on another worker: a remote input at each consumer placed here.
        for (size_t c = first; c < last; ++c) {
          if (consumers[c] == nullptr) continue;
          RemoteChannelKey key{edge.from, static_cast<int>(p), edge.to, static_cast<int>(c),
                               edge.to_input};
          SLUICE_ASSIGN_OR_RETURN(std::shared_ptr<RemoteInput> in, placement->remote->Input(key));
          consumers[c]->remote_inputs.push_back(
              {consumers[c]->input->AddSender(edge.to_input), std::move(in)});
        }
        continue;
      }
      OutEdge out;
      out.kind = edge.kind;
      out.partitioner = edge.partitioner;
      out.round_robin = p;  // spread the first batches of each producer
      out.tap = taps_[edge_index].get();
      out.subtask = static_cast<int>(p);
      for (size_t c = first; c < last; ++c) {
        if (consumers[c] != nullptr) {
          out.targets.push_back(consumers[c]->input.get());
          out.senders.push_back(consumers[c]->input->AddSender(edge.to_input));
          out.remotes.push_back(nullptr);
          continue;
        }
        RemoteChannelKey key{edge.from, static_cast<int>(p), edge.to, static_cast<int>(c),
                             edge.to_input};
        SLUICE_ASSIGN_OR_RETURN(
            std::shared_ptr<RemoteOutput> channel,
            placement->remote->Output(worker_of(edge.to, static_cast<int>(c)), key));
        out.targets.push_back(nullptr);
        out.senders.push_back(-1);
        out.remotes.push_back(channel.get());
        producers[p]->remote_outputs.push_back(std::move(channel));
      }
      producers[p]->out_edges.push_back(std::move(out));
    }
  }
  for (auto& t : tasks_) {
    if (t->input && t->input->num_senders() == 0) {
      return Status::Internal("task {} has no input", t->name());
    }
  }
  built_ = true;
  return Status::Ok();
}

Status Executor::Impl::Run() {
  if (!built_) SLUICE_RETURN_NOT_OK(Build());
  const bool checkpointing = checkpoints_.has_value();
  if (checkpointing && placement_ && !checkpoints_->distributed) {
    return Status::Internal("a placed executor's checkpoints must be the distributed job's");
  }
  if (checkpointing) {
    SLUICE_RETURN_NOT_OK(PrepareCheckpoints());
    for (auto& t : tasks_) {
      for (size_t i = 0; i < t->contexts.size(); ++i) {
        auto& ctx = t->contexts[i];
        ctx->checkpointing = true;
        // An operator new in an edited query starts as in a fresh run.
        const auto op = static_cast<size_t>(t->operator_ids[i]);
        if (op < old_of_new_.size() && old_of_new_[op]) {
          ctx->restored_checkpoint = restored_from_;
        }
      }
    }
  }
  Status open_status;
  for (auto& t : tasks_) {
    open_status = t->Open();
    if (!open_status.ok()) break;
  }
  if (open_status.ok() && restored_) {
    // Every operator restores before any source polls.
    std::map<int, const CheckpointMetadata::Node*> old_node_of_operator;
    for (const auto& n : restored_->metadata.nodes) {
      for (int op : n.operator_ids) old_node_of_operator[op] = &n;
    }
    for (auto& t : tasks_) {
      open_status = t->Restore(*restored_, old_node_of_operator, old_of_new_);
      if (!open_status.ok()) break;
    }
    restored_.reset();  // the operators hold what they need
  }
  if (open_status.ok()) {
    if (checkpointing) {
      const CheckpointOptions& opts = *checkpoints_;
      CheckpointCoordinator::Options co;
      co.interval_micros = opts.interval_micros;
      co.keep = opts.keep;
      co.first_id = first_checkpoint_id_;
      co.fingerprint = opts.fingerprint;
      co.operators = operator_names_;
      co.nodes = layout_;
      co.identities = identities_;
      co.stop_requested = &shared_.stop_requested;
      for (auto& t : tasks_) co.source_tasks += t->source ? 1 : 0;
      co.external = opts.distributed.has_value();
      co.tasks = tasks_.size();
      CheckpointCoordinator::Hooks hooks;
      if (opts.distributed) {
        hooks.acknowledged = opts.distributed->acknowledged;
        hooks.failed = opts.distributed->failed;
        hooks.sources_finished = opts.distributed->sources_finished;
      }
      hooks.trigger = [this](Barrier b) {
        for (auto& t : tasks_) {
          if (t->source) t->TriggerBarrier(b);
        }
      };
      hooks.complete = [this](int64_t n) {
        for (auto& t : tasks_) t->RequestCommit(n);
      };
      hooks.final_failed = [this](const Status& st) {
        {
          std::lock_guard<std::mutex> lock(final_mu_);
          final_error_ = st;
        }
        for (auto& t : tasks_) t->Release();
      };
      hooks.log = [this](const std::string& m) { Log(m); };
      coordinator_ =
          std::make_unique<CheckpointCoordinator>(store_.get(), std::move(co), std::move(hooks));
      for (auto& t : tasks_) t->coordinator = coordinator_.get();
      coordinator_->Start();
    }
    shared_.live_tasks = static_cast<int>(tasks_.size());
    shared_.scheduler.Start(std::max(1, options_.threads));
    for (auto& t : tasks_) t->Wake();
    if (coordinator_ && checkpoints_->distributed) {
      // What the job's coordinator sent before the run started.
      std::lock_guard<std::mutex> lock(dist_mu_);
      dist_running_ = true;
      for (const Barrier& b : dist_early_triggers_) coordinator_->Trigger(b);
      dist_early_triggers_.clear();
      if (dist_early_commit_ > 0) coordinator_->Committed(dist_early_commit_);
    }
    std::unique_lock<std::mutex> lock(shared_.mu);
    shared_.cv.wait(lock, [&] { return shared_.live_tasks == 0 || shared_.aborted; });
    lock.unlock();
    shared_.scheduler.Shutdown();
    {
      std::lock_guard<std::mutex> dist_lock(dist_mu_);
      dist_running_ = false;
      dist_over_ = true;
    }
    if (coordinator_) coordinator_->Stop();
  }
  for (auto& t : tasks_) t->DetachRemote();
  Status close_status;
  for (auto& t : tasks_) {
    Status st = t->CloseAll();
    if (close_status.ok() && !st.ok()) close_status = st;
  }
  if (!open_status.ok()) return open_status;
  {
    std::lock_guard<std::mutex> lock(shared_.mu);
    if (!shared_.first_error.ok()) return shared_.first_error;
  }
  {
    std::lock_guard<std::mutex> lock(final_mu_);
    if (!final_error_.ok()) {
      int64_t last = coordinator_ ? coordinator_->last_completed() : 0;
      return Status::Io("the final checkpoint failed: {}; {}", final_error_.message(),
                        last > 0 ? fmt::format("a new run resumes from checkpoint {}", last)
                                 : std::string("a new run starts from the beginning"));
    }
  }
  return close_status;
}

Executor::Executor(DataflowGraph graph, ExecutorOptions options,
                   std::optional<CheckpointOptions> checkpoints)
    : impl_(std::make_unique<Impl>(std::move(graph), options, std::move(checkpoints))) {}
Executor::~Executor() = default;
void Executor::Place(Placement placement) {
  impl_->placement_ = std::move(placement);
}
Status Executor::Build() {
  return impl_->built_ ? Status::Ok() : impl_->Build();
}
Status Executor::Run() {
  return impl_->Run();
}
void Executor::Abort(const std::string& reason) {
  impl_->Abort(reason);
}
void Executor::TriggerCheckpoint(int64_t id, CheckpointKind kind) {
  std::lock_guard<std::mutex> lock(impl_->dist_mu_);
  if (impl_->dist_running_) {
    impl_->coordinator_->Trigger(Barrier{id, kind});
  } else if (!impl_->dist_over_) {
    impl_->dist_early_triggers_.push_back(Barrier{id, kind});
  }
}
void Executor::CommitCheckpoint(int64_t id) {
  std::lock_guard<std::mutex> lock(impl_->dist_mu_);
  if (impl_->dist_running_) {
    impl_->coordinator_->Committed(id);
  } else if (!impl_->dist_over_) {
    impl_->dist_early_commit_ = std::max(impl_->dist_early_commit_, id);
  }
}
void Executor::RequestStop() {
  impl_->RequestStop();
}
CheckpointSummary Executor::Checkpoints() const {
  CheckpointSummary out;
  out.restored_from = impl_->restored_from_;
  if (impl_->coordinator_) {
    out.completed = impl_->coordinator_->completed();
    out.last_completed = impl_->coordinator_->last_completed();
  }
  return out;
}
std::shared_ptr<EdgeTap> Executor::Tap(size_t edge) const {
  return edge < impl_->taps_.size() ? impl_->taps_[edge] : nullptr;
}

std::vector<const OperatorMetrics*> Executor::Metrics() const {
  std::vector<const OperatorMetrics*> out;
  for (const auto& m : impl_->metrics_) out.push_back(m.get());
  return out;
}

}  // namespace sluice::runtime
