#include "dist/worker.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <grpcpp/grpcpp.h>

#include "dist/control.grpc.pb.h"
#include "dist/coordinator.h"
#include "dist/data_plane.h"
#include "dist/plan_codec.h"
#include "dist/remote_edges.h"
#include "runtime/checkpoint_storage.h"
#include "runtime/executor.h"

namespace sluice::dist {

namespace {

namespace v1 = ::sluice::dist::v1;
using Stream = grpc::ClientReaderWriter<v1::WorkerMessage, v1::CoordinatorMessage>;

class Worker {
 public:
  explicit Worker(const WorkerOptions& options) : options_(options) {}
  ~Worker() {
    StopHeartbeats();
    if (run_thread_.joinable()) run_thread_.join();
    if (edges_) edges_->Close();
    if (receiver_) receiver_->Stop();
  }

  Status Run() {
    DataPlaneReceiver::Options dp;
    dp.worker = -1;  // accepts nobody until a deployment
    SLUICE_ASSIGN_OR_RETURN(receiver_, DataPlaneReceiver::Listen(options_.data_plane_host,
                                                                 options_.data_plane_port, dp));
    const std::string& advertised =
        options_.advertise_host.empty() ? options_.data_plane_host : options_.advertise_host;
    name_ =
        options_.name.empty() ? fmt::format("{}:{}", advertised, receiver_->port()) : options_.name;

    auto channel = grpc::CreateChannel(options_.coordinator, grpc::InsecureChannelCredentials());
    const auto deadline = std::chrono::system_clock::now() +
                          std::chrono::microseconds(options_.connect_timeout_micros);
    if (!channel->WaitForConnected(deadline)) {
      return Status::Io(
          "worker '{}': cannot reach the coordinator at '{}' within {} ms; is `sluice "
          "coordinator` running there?",
          name_, options_.coordinator, options_.connect_timeout_micros / 1000);
    }
    auto stub = v1::Coordinator::NewStub(channel);
    stream_ = stub->Attach(&context_);
    v1::WorkerMessage hello;
    v1::Register* r = hello.mutable_registration();
    r->set_protocol_version(kControlVersion);
    r->set_min_protocol_version(kControlMinVersion);
    r->set_name(name_);
    r->set_slots(options_.slots);
    r->set_data_plane_host(advertised);
    r->set_data_plane_port(receiver_->port());
    v1::CoordinatorMessage m;
    if (!Send(hello) || !stream_->Read(&m) || !m.has_registered()) {
      context_.TryCancel();
      grpc::Status st = stream_->Finish();
      return Status::Io("worker '{}': the coordinator at '{}' did not answer its registration{}",
                        name_, options_.coordinator,
                        st.ok() ? std::string() : ": " + st.error_message());
    }
    if (!m.registered().accepted()) {
      context_.TryCancel();
      (void)stream_->Finish();
      return Status::User("worker '{}': the coordinator refused it: {}", name_,
                          m.registered().reason());
    }
    Log(fmt::format("registered with the coordinator at {} for job '{}'", options_.coordinator,
                    m.registered().job()));
    heartbeats_ = std::thread([this] { Heartbeats(); });

    Status result;
    bool leave = false;
    while (!leave && stream_->Read(&m)) {
      if (m.has_deploy()) {
        Status st = Deploy(m.deploy());
        if (!st.ok()) Finished(st);
      } else if (m.has_start()) {
        if (m.start().generation() == generation_ && graph_) StartRun();
      } else if (m.has_trigger_checkpoint()) {
        const auto& t = m.trigger_checkpoint();
        std::lock_guard lock(mu_);
        if (t.generation() == generation_ && executor_) {
          executor_->TriggerCheckpoint(t.checkpoint(), KindOf(t.kind()));
        }
      } else if (m.has_commit()) {
        std::lock_guard lock(mu_);
        if (m.commit().generation() == generation_ && executor_) {
          executor_->CommitCheckpoint(m.commit().checkpoint());
        }
      } else if (m.has_cancel()) {
        if (m.cancel().generation() == generation_) Cancel(m.cancel().reason());
      } else if (m.has_stop()) {
        std::lock_guard lock(mu_);
        if (executor_ && !run_done_) {
          Log(fmt::format("stopping: {}", m.stop().reason()));
          if (m.stop().drain()) {
            executor_->RequestStop();
            continue;  // leaves once the drained run reported
          }
          executor_->Abort(m.stop().reason());
        } else if (!executor_ && run_status_.ok()) {
          // Stopped before it ran (another worker never came, or failed to deploy).
          run_status_ = Status::Cancelled(
              fmt::format("worker '{}': the coordinator stopped the job before it ran: {}", name_,
                          m.stop().reason()));
        }
        leave = true;
      }
    }
    const bool lost = !leave;
    {
      std::lock_guard lock(mu_);
      if (lost && executor_ && !run_done_) executor_->Abort("lost the coordinator");
    }
    if (run_thread_.joinable()) run_thread_.join();
    StopHeartbeats();
    {
      std::lock_guard lock(write_mu_);
      stream_->WritesDone();
    }
    if (lost) {
      grpc::Status st = stream_->Finish();
      std::lock_guard lock(mu_);
      if (!run_done_ || !run_status_.ok() || !finished_sent_) {
        return Status::Io("worker '{}': lost the coordinator at '{}'{}", name_,
                          options_.coordinator,
                          st.ok() ? std::string() : ": " + st.error_message());
      }
    } else {
      context_.TryCancel();
      (void)stream_->Finish();
    }
    std::lock_guard lock(mu_);
    return run_status_;
  }

 private:
  static runtime::CheckpointKind KindOf(int kind) {
    return kind == 1   ? runtime::CheckpointKind::kStop
           : kind == 2 ? runtime::CheckpointKind::kEnd
                       : runtime::CheckpointKind::kPeriodic;
  }

  // The coordinator restarts the job without this generation: cancel its run and wait, still
  // registered, for the next deployment.
  void Cancel(const std::string& reason) {
    {
      std::lock_guard lock(mu_);
      Log(fmt::format("cancelling generation {}: {}", generation_.load(), reason));
      if (executor_ && !run_done_) executor_->Abort(reason);
    }
    if (run_thread_.joinable()) run_thread_.join();
    if (edges_) edges_->Close();
    std::lock_guard lock(mu_);
    executor_.reset();
    edges_.reset();
    graph_.reset();
    checkpoints_.reset();
    run_done_ = false;
    finished_sent_ = false;
    run_status_ = Status::Ok();
  }

  // The executor's checkpoint options of a deployment: the job's coordinator drives them.
  Result<runtime::CheckpointOptions> CheckpointsOf(const v1::Checkpoints& c, int64_t generation) {
    runtime::CheckpointOptions out;
    SLUICE_ASSIGN_OR_RETURN(out.storage, runtime::OpenCheckpointStorage(c.state_dir()));
    out.fingerprint = c.fingerprint();
    if (c.restore_checkpoint() > 0) out.restore_checkpoint = c.restore_checkpoint();
    out.log = [this](const std::string& m) { Log(m); };
    runtime::CheckpointOptions::Distributed d;
    d.acknowledged = [this, generation](
                         int64_t n, std::vector<runtime::CheckpointMetadata::File> files,
                         std::vector<runtime::CheckpointMetadata::OperatorState> ops) {
      v1::WorkerMessage m;
      v1::CheckpointAck* a = m.mutable_checkpoint_ack();
      a->set_generation(generation);
      a->set_checkpoint(n);
      a->set_ok(true);
      for (const auto& f : files) {
        v1::StateFile* sf = a->add_files();
        sf->set_name(f.name);
        sf->set_size(f.size);
        sf->set_checksum(f.checksum);
      }
      for (const auto& o : ops) {
        v1::OperatorStateBytes* b = a->add_operator_state();
        b->set_operator_id(o.operator_id);
        b->set_subtask(o.subtask);
        b->set_bytes(o.bytes);
      }
      Send(m);
    };
    d.failed = [this, generation](int64_t n, const Status& st) {
      v1::WorkerMessage m;
      v1::CheckpointAck* a = m.mutable_checkpoint_ack();
      a->set_generation(generation);
      a->set_checkpoint(n);
      a->set_ok(false);
      a->set_error(st.ToString());
      Send(m);
    };
    d.sources_finished = [this, generation] {
      v1::WorkerMessage m;
      m.mutable_sources_finished()->set_generation(generation);
      Send(m);
    };
    out.distributed = std::move(d);
    return out;
  }

  Status Deploy(const v1::Deploy& d) {
    {
      std::lock_guard lock(mu_);
      if (executor_) return Status::Internal("a second deployment while the first runs");
    }
    generation_ = d.generation();
    SLUICE_ASSIGN_OR_RETURN(DecodedPlan plan, DecodePlan(d.plan()));
    runtime::Placement placement;
    placement.worker = d.worker();
    for (const auto& node : d.placement()) {
      placement.workers.emplace_back(node.worker_of_subtask().begin(),
                                     node.worker_of_subtask().end());
    }
    std::vector<WorkerAddress> peers;
    for (const auto& p : d.peers()) peers.push_back({p.host(), p.port()});
    receiver_->Assign(d.job(), d.worker(), d.generation());
    edges_ = std::make_shared<DataPlaneEdges>(
        receiver_, std::move(peers), Handshake{d.job(), d.generation(), d.worker(), 0},
        std::chrono::milliseconds(options_.connect_timeout_micros / 1000));
    placement.remote = edges_;
    placement_ = std::move(placement);
    options_exec_.threads =
        d.threads() > 0 ? d.threads()
                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    graph_ = std::make_unique<runtime::DataflowGraph>(std::move(plan.graph));
    checkpoints_.reset();
    if (d.has_checkpoints()) {
      SLUICE_ASSIGN_OR_RETURN(checkpoints_, CheckpointsOf(d.checkpoints(), d.generation()));
    }
    Log(fmt::format("deployed as worker {} of job '{}', generation {}", d.worker(), d.job(),
                    d.generation()));
    v1::WorkerMessage m;
    m.mutable_deployed()->set_generation(generation_);
    Send(m);
    return Status::Ok();
  }

  void StartRun() {
    std::lock_guard lock(mu_);
    if (executor_) return;
    executor_ = std::make_unique<runtime::Executor>(std::move(*graph_), options_exec_,
                                                    std::move(checkpoints_));
    executor_->Place(std::move(placement_));
    run_thread_ = std::thread([this] {
      Status st = executor_->Run();
      edges_->Close();  // the end of data went out on every channel (or the run failed)
      Finished(st);
    });
  }

  void Finished(const Status& st) {
    int64_t rows = 0;
    {
      std::lock_guard lock(mu_);
      if (executor_) {
        for (const auto* m : executor_->Metrics()) {
          if (m->name.find("sink") != std::string::npos) rows += m->rows_out;
        }
      }
      run_done_ = true;
      run_status_ = st;
    }
    if (st.ok()) {
      Log(fmt::format("finished: {} rows written", rows));
    } else {
      Log(fmt::format("failed: {}", st.ToString()));
    }
    v1::WorkerMessage m;
    v1::Finished* f = m.mutable_finished();
    f->set_generation(generation_);
    f->set_ok(st.ok());
    f->set_error(st.ok() ? std::string() : st.ToString());
    f->set_rows_written(rows);
    const bool sent = Send(m);
    std::lock_guard lock(mu_);
    finished_sent_ = sent;
  }

  bool Send(const v1::WorkerMessage& m) {
    std::lock_guard lock(write_mu_);
    return stream_->Write(m);
  }

  void Heartbeats() {
    std::unique_lock lock(hb_mu_);
    while (!hb_stop_) {
      hb_cv_.wait_for(lock, std::chrono::microseconds(options_.heartbeat_interval_micros));
      if (hb_stop_) break;
      if (options_.stop != nullptr && options_.stop->load()) {
        std::lock_guard l2(mu_);
        if (executor_ && !run_done_) executor_->Abort("the worker was stopped by a signal");
      }
      v1::WorkerMessage m;
      m.mutable_heartbeat()->set_generation(generation_);
      lock.unlock();
      Send(m);
      lock.lock();
    }
  }

  void StopHeartbeats() {
    {
      std::lock_guard lock(hb_mu_);
      hb_stop_ = true;
    }
    hb_cv_.notify_all();
    if (heartbeats_.joinable()) heartbeats_.join();
  }

  void Log(const std::string& m) const {
    if (options_.log) {
      options_.log(m);
    } else {
      std::fprintf(stderr, "sluice worker %s: %s\n", name_.c_str(), m.c_str());
    }
  }

  const WorkerOptions& options_;
  std::string name_;
  std::shared_ptr<DataPlaneReceiver> receiver_;
  grpc::ClientContext context_;
  std::unique_ptr<Stream> stream_;
  std::mutex write_mu_;  // one write at a time on the stream

  std::atomic<int64_t> generation_{0};
  std::shared_ptr<DataPlaneEdges> edges_;
  runtime::ExecutorOptions options_exec_;
  runtime::Placement placement_;
  std::unique_ptr<runtime::DataflowGraph> graph_;
  std::optional<runtime::CheckpointOptions> checkpoints_;

  std::mutex mu_;
  std::unique_ptr<runtime::Executor> executor_;  // under mu_
  bool run_done_ = false;                        // under mu_
  bool finished_sent_ = false;                   // under mu_
  Status run_status_;                            // under mu_
  std::thread run_thread_;

  std::thread heartbeats_;
  std::mutex hb_mu_;
  std::condition_variable hb_cv_;
  bool hb_stop_ = false;
};

}  // namespace

Status RunWorker(const WorkerOptions& options) {
  if (options.slots < 1) return Status::User("--slots must be at least 1, got {}", options.slots);
  Worker worker(options);
  return worker.Run();
}

}  // namespace sluice::dist
