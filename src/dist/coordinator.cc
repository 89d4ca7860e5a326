#include "dist/coordinator.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <grpcpp/grpcpp.h>

#include "common/duration.h"
#include "dist/control.grpc.pb.h"
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
  bool gone = false;  // its stream ended
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
      } else if (closed_) {
        refusal = fmt::format("job '{}' already has its {} workers", job_, expected_);
      } else if (std::any_of(workers_.begin(), workers_.end(),
                             [&](const auto& w) { return w->name == r.name(); })) {
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
        if (m.has_deployed() && m.deployed().generation() == generation_) {
          conn->deployed = true;
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
  // Plan, and keep the serialized form of the plan that is compiled.
  std::string plan_text;
  pipeline::RunOptions run = options.run;
  if (!run.state_dir.empty()) {
    return Status::NotSupported(
        "checkpoints of a distributed job are not supported yet (docs/distributed.md)");
  }
  run.replan = [&](const sql::PipelinePlan& plan,
                   const sql::CompileOptions& compile) -> Result<sql::PipelinePlan> {
    SLUICE_ASSIGN_OR_RETURN(plan_text, EncodePlan(plan, compile));
    return plan;
  };
  SLUICE_ASSIGN_OR_RETURN(pipeline::Compiled compiled, pipeline::PlanAndCompile(options.sql, run));

  Job job(options.job, options.workers);
  job.log = options.log;
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

  // Registration.
  std::vector<std::shared_ptr<WorkerConn>> workers;
  {
    std::unique_lock lock(job.mu_);
    const auto deadline = Clock::now() + std::chrono::microseconds(options.worker_timeout_micros);
    while (static_cast<int>(job.workers_.size()) < options.workers && !stopped() &&
           Clock::now() < deadline) {
      job.cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
    if (static_cast<int>(job.workers_.size()) < options.workers) {
      std::vector<std::string> names;
      for (const auto& w : job.workers_) names.push_back(fmt::format("'{}'", w->name));
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
    workers = job.workers_;
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

  // Deploy at a new generation, then start once every worker is deployed.
  int64_t generation = 0;
  {
    std::lock_guard lock(job.mu_);
    generation = ++job.generation_;
  }
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
    w->Send(m);
  }
  std::string lines;
  for (const auto& node : compiled.graph.nodes) {
    lines += fmt::format("\n  node {} ({}): workers {}", node.id, node.name(),
                         fmt::join((*placed)[static_cast<size_t>(node.id)], " "));
  }
  job.Log(fmt::format("generation {}: deploying to {} workers ({}){}", generation, workers.size(),
                      fmt::join(
                          [&] {
                            std::vector<std::string> n;
                            for (const auto& w : workers) n.push_back(w->name);
                            return n;
                          }(),
                          ", "),
                      lines));

  // A lost worker, if any (its stream ended, or it went silent), else a failed one. Under job.mu_.
  auto lost_worker = [&]() -> Status {
    for (const auto& w : workers) {
      if (w->gone && !w->finished) {
        return Status::Io("lost worker '{}' (its control stream ended before it finished)",
                          w->name);
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
  bool stop_sent = false;  // a requested stop was passed on: wait for the drained end
  // Watches the workers until `done` holds; the first problem as an error. A lost worker is the
  // cause when there is one: its peers fail too, from their data plane, maybe a moment sooner,
  // so after a failure the loss of a worker is waited for up to a second.
  auto watch = [&](const std::function<bool()>& done, int64_t timeout_micros,
                   const std::string& waiting_for) -> Status {
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
      if (timeout_micros > 0 && Clock::now() > deadline) {
        return Status::User("{} took longer than {}", waiting_for, Micros(timeout_micros));
      }
      job.cv_.wait_for(lock, std::chrono::milliseconds(100));
      if (stopped() && !stop_sent) return Status::Cancelled("stopped");
    }
    // Every worker may have finished in one wake-up, some of them failed: that is no success.
    return failed_worker();
  };
  // `finish` cancels the other workers and gives them a moment to leave.
  auto fail = [&](const Status& st) { return finish(st); };

  Status st = watch(
      [&] {
        return std::all_of(workers.begin(), workers.end(), [](auto& w) { return w->deployed; });
      },
      options.worker_timeout_micros, "deploying the job");
  if (!st.ok()) return fail(st);
  {
    v1::CoordinatorMessage m;
    m.mutable_start()->set_generation(generation);
    for (const auto& w : workers) w->Send(m);
  }
  job.Log(fmt::format("generation {}: running", generation));
  auto all_finished = [&] {
    return std::all_of(workers.begin(), workers.end(), [](auto& w) { return w->finished; });
  };
  st = watch(all_finished, 0, "");
  if (st.kind() == ErrorKind::kCancelled && stopped()) {
    job.Log("stopping: draining in-flight rows");
    stop_sent = true;
    SendStop(workers, "stop requested", true);
    st = watch(all_finished, 0, "");
  }
  if (!st.ok()) return fail(st);
  report->workers = static_cast<int>(workers.size());
  {
    std::lock_guard lock(job.mu_);
    for (const auto& w : workers) report->rows_written += w->rows;
  }
  return finish(Status::Ok());
}

}  // namespace sluice::dist
