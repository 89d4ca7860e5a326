#include "runtime/task.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "common/check.h"
#include "common/fault.h"
#include "runtime/checkpoint_store.h"
#include "runtime/operator_identity.h"

namespace sluice::runtime {

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

}  // namespace sluice::runtime
