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
#include "runtime/task.h"
#include "runtime/task_scheduler.h"

namespace sluice::runtime {

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
