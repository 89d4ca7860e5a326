#include "runtime/checkpoint_coordinator.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <tuple>

#include <fmt/format.h>

#include "common/fault.h"

namespace sluice::runtime {

CheckpointCoordinator::CheckpointCoordinator(CheckpointStore* store, Options options, Hooks hooks)
    : store_(store),
      options_(std::move(options)),
      hooks_(std::move(hooks)),
      next_id_(options_.first_id) {
  for (const auto& n : options_.nodes) total_tasks_ += static_cast<size_t>(n.parallelism);
  if (options_.external) total_tasks_ = options_.tasks;
}

CheckpointCoordinator::~CheckpointCoordinator() {
  Stop();
}

void CheckpointCoordinator::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void CheckpointCoordinator::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CheckpointCoordinator::Acknowledge(int64_t checkpoint, TaskState state, int64_t chain_from) {
  state.checkpoint = checkpoint;
  {
    std::lock_guard<std::mutex> lock(mu_);
    acks_.push_back({std::move(state), chain_from});
  }
  cv_.notify_all();
}

void CheckpointCoordinator::SourceFinished() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++finished_sources_;
  }
  cv_.notify_all();
}

void CheckpointCoordinator::Trigger(Barrier barrier) {
  hooks_.trigger(barrier);
}

void CheckpointCoordinator::Committed(int64_t checkpoint) {
  if (checkpoint <= last_completed_.load()) return;
  ++completed_count_;
  last_completed_ = checkpoint;
  hooks_.complete(checkpoint);
}

void CheckpointCoordinator::LoopExternal() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [&] {
      return stop_ || !acks_.empty() ||
             (!final_triggered_ && finished_sources_ >= options_.source_tasks);
    });
    if (stop_) return;
    if (!final_triggered_ && finished_sources_ >= options_.source_tasks) {
      final_triggered_ = true;  // here: reported
      lock.unlock();
      hooks_.sources_finished();
      lock.lock();
      continue;
    }
    Ack ack = std::move(acks_.front());
    acks_.pop_front();
    lock.unlock();
    HandleAck(std::move(ack));
    lock.lock();
  }
}

void CheckpointCoordinator::Loop() {
  if (options_.external) {
    LoopExternal();
    return;
  }
  using Clock = std::chrono::steady_clock;
  const auto interval = std::chrono::microseconds(std::max<int64_t>(options_.interval_micros, 1));
  auto next_trigger = Clock::now() + interval;
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    auto wake = [&] {
      return stop_ || !acks_.empty() ||
             (!final_triggered_ && finished_sources_ >= options_.source_tasks);
    };
    if (final_triggered_ || in_flight_periodic_ != 0) {
      cv_.wait(lock, wake);  // nothing to trigger until an acknowledgement arrives
    } else {
      cv_.wait_until(lock, next_trigger, wake);
    }
    if (stop_) return;
    if (!final_triggered_ && finished_sources_ >= options_.source_tasks) {
      // Every source has finished: the final checkpoint. Its kind tells the tasks whether to
      // flush what they hold (end of input) or keep it in the checkpoint (stop).
      final_triggered_ = true;
      bool stopped = options_.stop_requested != nullptr && options_.stop_requested->load();
      TriggerLocked(stopped ? CheckpointKind::kStop : CheckpointKind::kEnd);
      continue;
    }
    if (!acks_.empty()) {
      Ack ack = std::move(acks_.front());
      acks_.pop_front();
      lock.unlock();
      HandleAck(std::move(ack));
      lock.lock();
      continue;
    }
    if (!final_triggered_ && in_flight_periodic_ == 0 && Clock::now() >= next_trigger) {
      next_trigger = Clock::now() + interval;
      TriggerLocked(CheckpointKind::kPeriodic);
    }
  }
}

void CheckpointCoordinator::TriggerLocked(CheckpointKind kind) {
  int64_t id = next_id_++;
  pending_[id].kind = kind;
  if (kind == CheckpointKind::kPeriodic) in_flight_periodic_ = id;
  // The hook wakes tasks: never under our lock.
  mu_.unlock();
  hooks_.trigger(Barrier{id, kind});
  mu_.lock();
}

void CheckpointCoordinator::HandleAck(Ack ack) {
  const int64_t checkpoint = ack.state.checkpoint;
  const int node = ack.state.node, subtask = ack.state.subtask;
  auto it = pending_.find(checkpoint);
  if (it == pending_.end()) {
    // External mode: the first acknowledgement of a checkpoint opens it (a task may
    // acknowledge a barrier that came over the data plane before this worker heard of it).
    if (!options_.external || failed_.count(checkpoint) > 0) return;  // failed earlier
    it = pending_.emplace(checkpoint, Pending{}).first;
  }
  Pending& p = it->second;
  // Bytes per operator: pieces are named "<operator id>/<name>", an operator's back to back.
  for (const StatePiece& piece : ack.state.pieces) {
    int op = 0;
    auto [end, ec] = std::from_chars(piece.name.data(), piece.name.data() + piece.name.size(), op);
    if (ec != std::errc() || end == piece.name.data() + piece.name.size() || *end != '/') continue;
    if (p.operator_state.empty() || p.operator_state.back().operator_id != op ||
        p.operator_state.back().subtask != subtask) {
      p.operator_state.push_back({op, subtask, 0});
    }
    p.operator_state.back().bytes += piece.size();
  }
  auto file = store_->WriteStateFile(ack.state);
  ack.state.pieces = {};  // release the memory now
  if (!file.ok()) {
    Fail(checkpoint, p, file.status());
    return;
  }
  auto& mine = written_[{node, subtask}];
  mine[checkpoint] = *file;
  p.files.push_back(file.MoveValue());
  if (ack.chain_from > 0) {
    // Every checkpoint of the chain completed (an operator extends only a completed snapshot,
    // and a failure makes its next snapshot full), so the task wrote each of these files.
    for (int64_t c = ack.chain_from; c < checkpoint; ++c) {
      auto it2 = mine.find(c);
      if (it2 == mine.end()) {
        Fail(checkpoint, p,
             Status::Internal("task {}-{}: checkpoint {} extends checkpoint {}, whose file is "
                              "not known",
                              node, subtask, checkpoint, c));
        return;
      }
      CheckpointMetadata::File f = it2->second;
      f.name = CheckpointStore::ListedName(checkpoint, c, f.name);
      p.files.push_back(std::move(f));
    }
  }
  // Files older than this chain are never extended again: later chains start here or later.
  mine.erase(mine.begin(), mine.lower_bound(ack.chain_from > 0 ? ack.chain_from : checkpoint));
  if (++p.acks == total_tasks_) Complete(checkpoint, p);
}

void CheckpointCoordinator::Complete(int64_t id, Pending& p) {
  if (options_.external) {
    // The job's coordinator writes the metadata once every worker acknowledged.
    auto files = std::move(p.files);
    auto operator_state = std::move(p.operator_state);
    pending_.erase(id);
    hooks_.acknowledged(id, std::move(files), std::move(operator_state));
    return;
  }
  CheckpointMetadata m;
  m.checkpoint = id;
  m.kind = p.kind;
  m.created_micros = Now().value;
  m.fingerprint = options_.fingerprint;
  m.operators = options_.operators;
  m.nodes = options_.nodes;
  m.files = std::move(p.files);
  m.operator_state = std::move(p.operator_state);
  std::sort(m.operator_state.begin(), m.operator_state.end(), [](const auto& a, const auto& b) {
    return std::tie(a.operator_id, a.subtask) < std::tie(b.operator_id, b.subtask);
  });
  // An operator that ever wrote a piece has state: incremental snapshots may write nothing for
  // it later while earlier files of its chain still hold it.
  for (const auto& o : m.operator_state) {
    if (static_cast<size_t>(o.operator_id) < options_.identities.size()) {
      options_.identities[static_cast<size_t>(o.operator_id)].stateful = true;
    }
  }
  m.identities = options_.identities;
  std::sort(m.files.begin(), m.files.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  fault::Hit(fault::kBeforeMetadata, id);
  if (Status st = store_->WriteMetadata(m); !st.ok()) {
    Fail(id, p, st);
    return;
  }
  fault::Hit(fault::kAfterCheckpoint, id);
  ++completed_count_;
  last_completed_ = id;
  if (Status st = store_->Retain(options_.keep, id); !st.ok()) {
    hooks_.log(fmt::format("warning: cannot remove old checkpoints: {}", st.message()));
  }
  if (in_flight_periodic_ == id) in_flight_periodic_ = 0;
  pending_.erase(id);
  hooks_.complete(id);
}

void CheckpointCoordinator::Fail(int64_t id, Pending& p, const Status& st) {
  if (options_.external) {
    failed_.insert(id);
    pending_.erase(id);
    hooks_.failed(id, st);
    return;
  }
  CheckpointKind kind = p.kind;
  if (in_flight_periodic_ == id) in_flight_periodic_ = 0;
  pending_.erase(id);
  if (kind == CheckpointKind::kPeriodic) {
    hooks_.log(fmt::format("warning: checkpoint {} failed: {}; the next checkpoint covers its data",
                           id, st.message()));
    return;
  }
  hooks_.final_failed(st);
}

}  // namespace sluice::runtime
