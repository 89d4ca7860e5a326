#include "dist/coordinator.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <grpcpp/grpcpp.h>

#include "common/duration.h"
#include "dist/control.grpc.pb.h"
#include "dist/job_checkpoints.h"
#include "dist/placement.h"
#include "dist/plan_codec.h"

namespace sluice::dist {

namespace {

namespace v1 = ::sluice::dist::v1;
using Clock = std::chrono::steady_clock;
using Stream = grpc::ServerReaderWriter<v1::CoordinatorMessage, v1::WorkerMessage>;

std::string Micros(int64_t micros) {
  return micros % 1'000'000 == 0 ? fmt::format("{}s", micros / 1'000'000)
                                 : fmt::format("{}ms", micros / 1000);
}

// One registered worker: its stream (while its Attach call lasts) and what it reported.
struct WorkerConn {
  std::string name;
  int slots = 1;
  std::string host;
  int port = 0;
  int index = -1;  // its place in the deployment (workers ordered by name)

  // Writes go one at a time; `stream` is null once the Attach call returned.
  std::mutex write_mu;
  Stream* stream = nullptr;
  bool Send(const v1::CoordinatorMessage& m) {
    std::lock_guard lock(write_mu);
    return stream != nullptr && stream->Write(m);
  }

  // Under Job::mu_.
  Clock::time_point last_heard;
  bool deployed = false;
  bool finished = false;
  bool ok = false;
  std::string error;
  int64_t rows = 0;
  bool gone = false;      // its stream ended
  bool expelled = false;  // dropped from the job (lost): its messages are ignored
  bool replaced = false;  // a new worker registered under its name: lost
  // Checkpoints, of the current generation.
  bool sources_finished = false;
  std::map<int64_t, v1::CheckpointAck> acks;
  // From the placement: subtasks it runs, and whether any is a source's.
  int tasks = 0;
  bool has_sources = false;

  // A new generation: forget what the last one reported.
  void Reset() {
    deployed = finished = ok = sources_finished = false;
    error.clear();
    rows = 0;
    acks.clear();
    last_heard = Clock::now();
  }
};

class Job final : public v1::Coordinator::Service {
 public:
  Job(std::string job, int expected) : job_(std::move(job)), expected_(expected) {}

  grpc::Status Attach(grpc::ServerContext* context, Stream* stream) override {
    v1::WorkerMessage first;
    if (!stream->Read(&first) || !first.has_registration()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          "a worker's first message on Attach must be its registration");
    }
    const v1::Register& r = first.registration();
    auto conn = std::make_shared<WorkerConn>();
    conn->name = r.name();
    conn->slots = r.slots();
    conn->host = r.data_plane_host();
    conn->port = r.data_plane_port();
    conn->stream = stream;
    std::string refusal;
    // The reply goes out before anything else the coordinator sends this worker: the write lock
    // is held from the moment the worker is listed until the reply is written.
    std::unique_lock write_lock(conn->write_mu);
    {
      std::lock_guard lock(mu_);
      if (r.min_protocol_version() > kControlVersion) {
        refusal = fmt::format(
            "the worker needs control protocol version {} or newer; this coordinator speaks "
            "version {}",
            r.min_protocol_version(), kControlVersion);
      } else if (r.protocol_version() < kControlMinVersion) {
        refusal = fmt::format(
            "the worker speaks control protocol version {}; this coordinator "
            "needs version {} or newer",
            r.protocol_version(), kControlMinVersion);
      } else if (r.slots() < 1) {
        refusal = fmt::format("the worker offers {} slots; it needs at least 1", r.slots());
      } else if (closed_ && replaceable_) {
        // A worker registering under the name of one of the job's while it runs is its
        // replacement (a restarted pod keeps its name): the old one counts as lost, and the
        // job restarts with the new one.
        auto old = std::find_if(workers_.begin(), workers_.end(),
                                [&](const auto& w) { return w->name == r.name() && !w->expelled; });
        if (old == workers_.end()) {
          refusal = fmt::format("job '{}' already has its {} workers", job_, expected_);
        } else {
          (*old)->replaced = true;
        }
      } else if (closed_) {
        refusal = fmt::format("job '{}' already has its {} workers", job_, expected_);
      } else if (std::any_of(workers_.begin(), workers_.end(), [&](const auto& w) {
                   return w->name == r.name() && !w->gone && !w->expelled;
                 })) {
        refusal = fmt::format(
            "a worker named '{}' is already registered; give each worker its "
            "own --name",
            r.name());
      }
      if (refusal.empty()) {
        conn->last_heard = Clock::now();
        workers_.push_back(conn);
        cv_.notify_all();
      }
    }
    v1::CoordinatorMessage reply;
    reply.mutable_registered()->set_accepted(refusal.empty());
    reply.mutable_registered()->set_reason(refusal);
    reply.mutable_registered()->set_job(job_);
    stream->Write(reply);
    write_lock.unlock();
    if (refusal.empty()) {
      Log(fmt::format("worker '{}' registered ({} slot{}, data plane {}:{})", conn->name,
                      conn->slots, conn->slots == 1 ? "" : "s", conn->host, conn->port));
      v1::WorkerMessage m;
      while (stream->Read(&m)) {
        std::lock_guard lock(mu_);
        conn->last_heard = Clock::now();
        if (conn->expelled) continue;
        if (m.has_deployed() && m.deployed().generation() == generation_) {
          conn->deployed = true;
        } else if (m.has_checkpoint_ack() && m.checkpoint_ack().generation() == generation_) {
          conn->acks[m.checkpoint_ack().checkpoint()] = m.checkpoint_ack();
        } else if (m.has_sources_finished() && m.sources_finished().generation() == generation_) {
          conn->sources_finished = true;
        } else if (m.has_finished() && m.finished().generation() == generation_) {
          conn->finished = true;
          conn->ok = m.finished().ok();
          conn->error = m.finished().error();
          conn->rows = m.finished().rows_written();
        }
        cv_.notify_all();
      }
      std::lock_guard lock(mu_);
      conn->gone = true;
      cv_.notify_all();
    }
    std::lock_guard lock(conn->write_mu);
    conn->stream = nullptr;
    return grpc::Status::OK;
  }

  void Log(const std::string& m) {
    if (log) {
      log(m);
    } else {
      std::fprintf(stderr, "sluice coordinator: %s\n", m.c_str());
    }
  }

  std::function<void(const std::string&)> log;
  const std::string job_;
  const int expected_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<WorkerConn>> workers_;  // under mu_, in registration order
  bool closed_ = false;                               // no more registrations
  bool replaceable_ = false;  // a registration may replace a worker of the same name (restarts)
  int64_t generation_ = 0;
};

void SendStop(const std::vector<std::shared_ptr<WorkerConn>>& workers, const std::string& reason,
              bool drain) {
  v1::CoordinatorMessage m;
  m.mutable_stop()->set_reason(reason);
  m.mutable_stop()->set_drain(drain);
  for (const auto& w : workers) w->Send(m);
}

}  // namespace

Status RunCoordinator(const CoordinatorOptions& options, CoordinatorReport* report) {
  if (options.workers < 1) {
    return Status::User("--workers must be at least 1, got {}", options.workers);
  }
  if (options.max_restarts < 0) {
    return Status::User("--max-restarts must be 0 or more, got {}", options.max_restarts);
  }
  // Plan, and keep the serialized form of the plan that is compiled.
  std::string plan_text;
  pipeline::RunOptions run = options.run;
  run.replan = [&](const sql::PipelinePlan& plan,
                   const sql::CompileOptions& compile) -> Result<sql::PipelinePlan> {
    SLUICE_ASSIGN_OR_RETURN(plan_text, EncodePlan(plan, compile));
    return plan;
  };
  SLUICE_ASSIGN_OR_RETURN(pipeline::Compiled compiled, pipeline::PlanAndCompile(options.sql, run));
  SLUICE_ASSIGN_OR_RETURN(std::optional<runtime::CheckpointOptions> checkpoint_options,
                          pipeline::CheckpointOptionsOf(run, compiled));

  Job job(options.job, options.workers);
  job.log = options.log;
  job.replaceable_ = checkpoint_options.has_value() && options.max_restarts > 0;
  std::unique_ptr<JobCheckpoints> checkpoints;
  if (checkpoint_options) {
    checkpoints = std::make_unique<JobCheckpoints>(std::move(*checkpoint_options), compiled.graph,
                                                   [&job](const std::string& m) { job.Log(m); });
    checkpoints->SetFence(options.commit_checkpoint);
    SLUICE_RETURN_NOT_OK(checkpoints->Prepare());
  }
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&job);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    return Status::User("the coordinator cannot listen on '{}' (host:port; is the port in use?)",
                        options.listen);
  }
  const std::string host = options.listen.substr(0, options.listen.rfind(':'));
  if (!options.port_file.empty()) {
    std::ofstream out(options.port_file + ".tmp");
    out << port << "\n";
    out.close();
    std::rename((options.port_file + ".tmp").c_str(), options.port_file.c_str());
  }
  job.Log(fmt::format("job '{}': listening on {}:{}, waiting for {} worker{}", options.job, host,
                      port, options.workers, options.workers == 1 ? "" : "s"));

  // Ends the job: tells every worker to leave and shuts the server down.
  auto finish = [&](Status st) {
    std::vector<std::shared_ptr<WorkerConn>> workers;
    {
      std::lock_guard lock(job.mu_);
      job.closed_ = true;
      workers = job.workers_;
    }
    SendStop(workers, st.ok() ? "the job finished" : st.message(), false);
    server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(5));
    server->Wait();
    return st;
  };
  auto stopped = [&] { return options.stop != nullptr && options.stop->load(); };
  auto live = [](const std::shared_ptr<WorkerConn>& w) {
    return !w->gone && !w->expelled && !w->replaced;
  };

  std::vector<std::shared_ptr<WorkerConn>> workers;  // of the current generation
  bool stop_sent = false;  // a requested stop was passed on: wait for the drained end
  int restarts = 0;
  // A lost worker, if any (its stream ended, or it went silent), else a failed one. Under job.mu_.
  auto lost_worker = [&]() -> Status {
    for (const auto& w : workers) {
      if (w->gone && !w->finished) {
        return Status::Io("lost worker '{}' (its control stream ended before it finished)",
                          w->name);
      }
      if (w->replaced && !w->finished) {
        return Status::Io("lost worker '{}' (a new worker registered under its name)", w->name);
      }
      if (!w->finished && Clock::now() - w->last_heard >
                              std::chrono::microseconds(options.heartbeat_timeout_micros)) {
        return Status::Io("lost worker '{}': no heartbeat for {}", w->name,
                          Micros(options.heartbeat_timeout_micros));
      }
    }
    return Status::Ok();
  };
  auto failed_worker = [&]() -> Status {
    for (const auto& w : workers) {
      if (w->finished && !w->ok) return Status::User("worker '{}' failed: {}", w->name, w->error);
    }
    return Status::Ok();
  };
  // Sends outside job.mu_ (a worker's write lock is taken before job.mu_ on registration).
  auto send_unlocked = [](std::unique_lock<std::mutex>& lock,
                          const std::vector<std::shared_ptr<WorkerConn>>& to,
                          const v1::CoordinatorMessage& m) {
    lock.unlock();
    for (const auto& w : to) w->Send(m);
    lock.lock();
  };

  // The checkpoints of the running generation (main thread; acknowledgements under job.mu_).
  int64_t generation = 0;
  int64_t in_flight = 0;  // the checkpoint in flight, or 0
  runtime::CheckpointKind in_flight_kind = runtime::CheckpointKind::kPeriodic;
  bool final_triggered = false;
  Clock::time_point next_trigger;
  auto trigger = [&](std::unique_lock<std::mutex>& lock, runtime::CheckpointKind kind) {
    in_flight = checkpoints->NextId();
    in_flight_kind = kind;
    v1::CoordinatorMessage m;
    m.mutable_trigger_checkpoint()->set_generation(generation);
    m.mutable_trigger_checkpoint()->set_checkpoint(in_flight);
    m.mutable_trigger_checkpoint()->set_kind(kind == runtime::CheckpointKind::kStop  ? 1
                                             : kind == runtime::CheckpointKind::kEnd ? 2
                                                                                     : 0);
    std::vector<std::shared_ptr<WorkerConn>> to;
    for (const auto& w : workers) {
      if (w->has_sources) to.push_back(w);
    }
    send_unlocked(lock, to, m);
  };
  // Drives the checkpoints: completes the one in flight once every worker acknowledged it,
  // triggers the next on the interval, and the final one once every source finished. Under
  // job.mu_; an error fails the generation.
  auto checkpoint_step = [&](std::unique_lock<std::mutex>& lock) -> Status {
    if (!checkpoints) return Status::Ok();
    const auto interval = std::chrono::microseconds(checkpoints->interval_micros());
    if (in_flight != 0) {
      const int64_t id = in_flight;
      const bool periodic = in_flight_kind == runtime::CheckpointKind::kPeriodic;
      bool all = true;
      std::string failure;
      for (const auto& w : workers) {
        if (w->tasks == 0) continue;
        auto it = w->acks.find(id);
        if (it == w->acks.end()) {
          all = false;
        } else if (!it->second.ok() && failure.empty()) {
          failure = fmt::format("worker '{}': {}", w->name, it->second.error());
        }
      }
      if (failure.empty() && !all) return Status::Ok();
      std::vector<runtime::CheckpointMetadata::File> files;
      std::vector<runtime::CheckpointMetadata::OperatorState> operator_state;
      for (const auto& w : workers) {
        auto it = w->acks.find(id);
        if (it != w->acks.end()) {
          for (const auto& f : it->second.files())
            files.push_back({f.name(), f.size(), f.checksum()});
          for (const auto& o : it->second.operator_state()) {
            operator_state.push_back({o.operator_id(), o.subtask(), o.bytes()});
          }
        }
        w->acks.erase(w->acks.begin(), w->acks.upper_bound(id));
      }
      in_flight = 0;
      next_trigger = Clock::now() + interval;
      Status st;
      if (failure.empty()) {
        lock.unlock();
        st = checkpoints->Complete(id, in_flight_kind, std::move(files), std::move(operator_state));
        lock.lock();
      } else {
        st = Status::Io("{}", failure);
      }
      if (!st.ok()) {
        if (!periodic) return Status::Io("the final checkpoint {} failed: {}", id, st.message());
        job.Log(
            fmt::format("warning: checkpoint {} failed: {}; the next checkpoint covers its data",
                        id, st.message()));
        return Status::Ok();
      }
      job.Log(fmt::format("checkpoint {} complete", id));
      v1::CoordinatorMessage m;
      m.mutable_commit()->set_generation(generation);
      m.mutable_commit()->set_checkpoint(id);
      send_unlocked(lock, workers, m);
    }
    if (in_flight == 0 && !final_triggered) {
      const bool sources_done = std::all_of(workers.begin(), workers.end(), [](auto& w) {
        return !w->has_sources || w->sources_finished;
      });
      if (sources_done) {
        final_triggered = true;
        trigger(lock, stop_sent ? runtime::CheckpointKind::kStop : runtime::CheckpointKind::kEnd);
      } else if (Clock::now() >= next_trigger) {
        trigger(lock, runtime::CheckpointKind::kPeriodic);
      }
    }
    return Status::Ok();
  };
  // Watches the workers until `done` holds; the first problem as an error. A lost worker is the
  // cause when there is one: its peers fail too, from their data plane, maybe a moment sooner,
  // so after a failure the loss of a worker is waited for up to a second.
  auto watch = [&](const std::function<bool()>& done, int64_t timeout_micros,
                   const std::string& waiting_for, bool running) -> Status {
    std::unique_lock lock(job.mu_);
    const auto deadline = Clock::now() + std::chrono::microseconds(timeout_micros);
    while (!done()) {
      if (Status lost = lost_worker(); !lost.ok()) return lost;
      if (Status failed = failed_worker(); !failed.ok()) {
        job.cv_.wait_for(lock, std::chrono::seconds(1), [&] {
          return std::any_of(workers.begin(), workers.end(),
                             [](auto& w) { return w->gone && !w->finished; });
        });
        Status lost = lost_worker();
        return lost.ok() ? failed : lost;
      }
      if (running) SLUICE_RETURN_NOT_OK(checkpoint_step(lock));
      if (timeout_micros > 0 && Clock::now() > deadline) {
        return Status::User("{} took longer than {}", waiting_for, Micros(timeout_micros));
      }
      job.cv_.wait_for(lock, std::chrono::milliseconds(100));
      if (stopped() && !stop_sent) return Status::Cancelled("stopped");
    }
    // Every worker may have finished in one wake-up, some of them failed: that is no success.
    return failed_worker();
  };
  // A failed generation with checkpoints: drop the lost workers, cancel the others (they stay
  // registered) and reopen registration; the job then deploys again from the latest checkpoint.
  auto restart = [&](const Status& cause) {
    std::vector<std::shared_ptr<WorkerConn>> survivors, expelled;
    int64_t old = 0;
    {
      std::lock_guard lock(job.mu_);
      old = job.generation_++;  // messages of the failed generation are ignored from now on
      for (const auto& w : workers) {
        const bool silent =
            !w->finished && Clock::now() - w->last_heard >
                                std::chrono::microseconds(options.heartbeat_timeout_micros);
        if (w->gone || silent || w->replaced) {
          w->expelled = true;
          expelled.push_back(w);
        } else {
          w->Reset();
          survivors.push_back(w);
        }
      }
      std::erase_if(job.workers_,
                    [](const auto& w) { return w->gone || w->expelled || w->replaced; });
      job.closed_ = false;
    }
    job.Log(fmt::format(
        "generation {} failed: {}; restarting ({} of at most {}) from {}; waiting for {} "
        "worker{} ({} still registered)",
        old, cause.message(), restarts, options.max_restarts,
        checkpoints->restore() > 0 ? fmt::format("checkpoint {}", checkpoints->restore())
                                   : std::string("the beginning"),
        options.workers, options.workers == 1 ? "" : "s", survivors.size()));
    v1::CoordinatorMessage cancel;
    cancel.mutable_cancel()->set_generation(old);
    cancel.mutable_cancel()->set_reason(fmt::format("the job restarts: {}", cause.message()));
    for (const auto& w : survivors) w->Send(cancel);
    SendStop(expelled,
             fmt::format("this worker was dropped from job '{}': {}", options.job, cause.message()),
             false);
  };

  {
    std::lock_guard lock(job.mu_);
    job.generation_ = 1;
  }
  while (true) {
    // Registration: every worker at first; after a restart the survivors stay and replacements
    // register.
    {
      std::unique_lock lock(job.mu_);
      auto count = [&] { return std::count_if(job.workers_.begin(), job.workers_.end(), live); };
      const auto deadline = Clock::now() + std::chrono::microseconds(options.worker_timeout_micros);
      while (count() < options.workers && !stopped() && Clock::now() < deadline) {
        job.cv_.wait_for(lock, std::chrono::milliseconds(100));
      }
      if (count() < options.workers) {
        std::vector<std::string> names;
        for (const auto& w : job.workers_) {
          if (live(w)) names.push_back(fmt::format("'{}'", w->name));
        }
        lock.unlock();
        if (stopped()) return finish(Status::Cancelled("stopped while waiting for workers"));
        return finish(Status::User(
            "job '{}': {} of {} workers registered within {}{}; start the others with `sluice "
            "worker --coordinator {}:{}`, or raise --worker-timeout",
            options.job, names.size(), options.workers, Micros(options.worker_timeout_micros),
            names.empty() ? std::string() : fmt::format(" ({})", fmt::join(names, ", ")), host,
            port));
      }
      job.closed_ = true;
      workers.clear();
      for (const auto& w : job.workers_) {
        if (live(w) && static_cast<int>(workers.size()) < options.workers) workers.push_back(w);
      }
      generation = job.generation_;
    }
    // Deterministic order: by name.
    std::sort(workers.begin(), workers.end(),
              [](const auto& a, const auto& b) { return a->name < b->name; });
    std::vector<int> slots;
    for (size_t i = 0; i < workers.size(); ++i) {
      workers[i]->index = static_cast<int>(i);
      slots.push_back(workers[i]->slots);
    }
    auto placed = PlaceSubtasks(compiled.graph, slots);
    if (!placed.ok()) return finish(placed.status());
    {
      std::lock_guard lock(job.mu_);
      for (const auto& w : workers) {
        w->tasks = 0;
        w->has_sources = false;
      }
      for (const auto& node : compiled.graph.nodes) {
        for (int worker : (*placed)[static_cast<size_t>(node.id)]) {
          ++workers[static_cast<size_t>(worker)]->tasks;
          if (node.is_source()) workers[static_cast<size_t>(worker)]->has_sources = true;
        }
      }
    }

    // Deploy at the generation, then start once every worker is deployed.
    const int64_t restore = checkpoints ? checkpoints->restore() : 0;
    for (const auto& w : workers) {
      v1::CoordinatorMessage m;
      v1::Deploy* d = m.mutable_deploy();
      d->set_job(options.job);
      d->set_generation(generation);
      d->set_worker(w->index);
      for (const auto& peer : workers) {
        v1::Peer* p = d->add_peers();
        p->set_host(peer->host);
        p->set_port(peer->port);
      }
      d->set_plan(plan_text);
      for (const auto& node : *placed) {
        v1::NodePlacement* np = d->add_placement();
        for (int worker : node) np->add_worker_of_subtask(worker);
      }
      d->set_threads(options.threads);
      if (checkpoints) {
        v1::Checkpoints* c = d->mutable_checkpoints();
        c->set_state_dir(options.run.state_dir);
        c->set_fingerprint(checkpoints->fingerprint());
        c->set_restore_checkpoint(restore);
      }
      w->Send(m);
    }
    std::string lines;
    for (const auto& node : compiled.graph.nodes) {
      lines += fmt::format("\n  node {} ({}): workers {}", node.id, node.name(),
                           fmt::join((*placed)[static_cast<size_t>(node.id)], " "));
    }
    std::vector<std::string> names;
    for (const auto& w : workers) names.push_back(w->name);
    job.Log(fmt::format("generation {}: deploying to {} workers ({}){}", generation, workers.size(),
                        fmt::join(names, ", "), lines));

    Status st = watch(
        [&] {
          return std::all_of(workers.begin(), workers.end(), [](auto& w) { return w->deployed; });
        },
        options.worker_timeout_micros, "deploying the job", false);
    if (!st.ok()) return finish(st);
    {
      v1::CoordinatorMessage m;
      m.mutable_start()->set_generation(generation);
      for (const auto& w : workers) w->Send(m);
    }
    in_flight = 0;
    final_triggered = false;
    if (checkpoints) {
      next_trigger = Clock::now() + std::chrono::microseconds(checkpoints->interval_micros());
    }
    job.Log(fmt::format("generation {}: running{}", generation,
                        restore > 0 ? fmt::format(" from checkpoint {}", restore) : std::string()));
    auto all_finished = [&] {
      return std::all_of(workers.begin(), workers.end(), [](auto& w) { return w->finished; });
    };
    st = watch(all_finished, 0, "", true);
    if (st.kind() == ErrorKind::kCancelled && stopped()) {
      job.Log("stopping: draining in-flight rows");
      stop_sent = true;
      SendStop(workers, "stop requested", true);
      st = watch(all_finished, 0, "", true);
    }
    if (st.ok()) break;
    // Worker loss or failure: with checkpoints, the job restarts from the latest one.
    if (checkpoints == nullptr || stop_sent || stopped() || restarts >= options.max_restarts) {
      if (checkpoints != nullptr && restarts > 0) {
        return finish(
            st.WithContext(fmt::format("after {} restart{}", restarts, restarts == 1 ? "" : "s")));
      }
      return finish(st);
    }
    ++restarts;
    restart(st);
  }
  report->workers = static_cast<int>(workers.size());
  report->restarts = restarts;
  {
    std::lock_guard lock(job.mu_);
    for (const auto& w : workers) report->rows_written += w->rows;
  }
  return finish(Status::Ok());
}

}  // namespace sluice::dist
