// CheckpointCoordinator in external mode: one worker's part of a distributed job's checkpoints
// (docs/distributed.md, "Checkpoints and recovery").
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include "runtime/checkpoint_coordinator.h"
#include "runtime/checkpoint_storage.h"

namespace sluice::runtime {
namespace {

class ExternalCheckpoints : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-ext-ckpt-XXXXXX";
    dir_ = mkdtemp(tmpl);
    store_ = std::make_unique<CheckpointStore>(*OpenCheckpointStorage(dir_));
  }
  void TearDown() override {
    coordinator_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // Two tasks of node 0 on this worker, one of them a source.
  void Start(int source_tasks = 1) {
    CheckpointCoordinator::Options o;
    o.external = true;
    o.tasks = 2;
    o.source_tasks = source_tasks;
    o.nodes = {{0, 2, {0}}};
    o.operators = {"op"};
    CheckpointCoordinator::Hooks h;
    h.trigger = [this](Barrier b) { Record([&] { triggered_.push_back(b.epoch); }); };
    h.complete = [this](int64_t n) { Record([&] { committed_.push_back(n); }); };
    h.final_failed = [](const Status&) { ADD_FAILURE() << "final_failed in external mode"; };
    h.log = [](const std::string&) {};
    h.acknowledged = [this](int64_t n, std::vector<CheckpointMetadata::File> files,
                            std::vector<CheckpointMetadata::OperatorState> ops) {
      Record([&] {
        acked_.push_back(n);
        files_ = std::move(files);
        ops_ = std::move(ops);
      });
    };
    h.failed = [this](int64_t n, const Status&) { Record([&] { failed_.push_back(n); }); };
    h.sources_finished = [this] { Record([&] { ++sources_finished_; }); };
    coordinator_ = std::make_unique<CheckpointCoordinator>(store_.get(), o, h);
    coordinator_->Start();
  }
  void Record(const std::function<void()>& f) {
    std::lock_guard lock(mu_);
    f();
    cv_.notify_all();
  }
  bool WaitFor(const std::function<bool()>& done) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(30), done);
  }
  static TaskState State(int subtask, const std::string& payload) {
    TaskState s;
    s.node = 0;
    s.subtask = subtask;
    s.parallelism = 2;
    s.pieces.push_back({"0/data", StatePiece::Kind::kBytes, payload});
    return s;
  }

  std::string dir_;
  std::unique_ptr<CheckpointStore> store_;
  std::unique_ptr<CheckpointCoordinator> coordinator_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<int64_t> triggered_, committed_, acked_, failed_;
  std::vector<CheckpointMetadata::File> files_;
  std::vector<CheckpointMetadata::OperatorState> ops_;
  int sources_finished_ = 0;
};

TEST_F(ExternalCheckpoints, ReportsFilesInsteadOfWritingMetadataAndCommitsWhenTold) {
  Start();
  coordinator_->Trigger(Barrier{7, CheckpointKind::kPeriodic});
  ASSERT_TRUE(WaitFor([&] { return triggered_ == std::vector<int64_t>{7}; }));
  coordinator_->Acknowledge(7, State(0, "abc"));
  coordinator_->Acknowledge(7, State(1, "defgh"));
  ASSERT_TRUE(WaitFor([&] { return !acked_.empty(); }));
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(acked_, std::vector<int64_t>{7});
    ASSERT_EQ(files_.size(), 2u);
    EXPECT_EQ(files_[0].name, "0-0.state");
    EXPECT_EQ(files_[1].name, "0-1.state");
    ASSERT_EQ(ops_.size(), 2u);
    EXPECT_EQ(ops_[0].bytes + ops_[1].bytes, 8u);
  }
  // The state files are written; the metadata is the job coordinator's to write.
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/chk-7/0-0.state"));
  EXPECT_TRUE(std::filesystem::exists(dir_ + "/chk-7/0-1.state"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/chk-7/_metadata"));
  EXPECT_EQ(coordinator_->last_completed(), 0);
  coordinator_->Committed(7);
  EXPECT_EQ(coordinator_->last_completed(), 7);
  EXPECT_EQ(coordinator_->completed(), 1);
  ASSERT_TRUE(WaitFor([&] { return committed_ == std::vector<int64_t>{7}; }));
  coordinator_->Committed(7);  // a repeated commit is ignored
  EXPECT_EQ(coordinator_->completed(), 1);
}

TEST_F(ExternalCheckpoints, AnAcknowledgementBeforeTheTriggerOpensTheCheckpoint) {
  Start(0);  // no sources here: the barriers come over the data plane
  ASSERT_TRUE(WaitFor([&] { return sources_finished_ == 1; }));  // nothing to wait for
  coordinator_->Acknowledge(3, State(1, "x"));
  coordinator_->Acknowledge(3, State(0, "y"));
  ASSERT_TRUE(WaitFor([&] { return acked_ == std::vector<int64_t>{3}; }));
  std::lock_guard lock(mu_);
  EXPECT_TRUE(triggered_.empty());
  EXPECT_EQ(files_.size(), 2u);
}

TEST_F(ExternalCheckpoints, SourcesFinishedIsReportedOnceEverySourceFinished) {
  Start(1);
  coordinator_->Trigger(Barrier{1, CheckpointKind::kPeriodic});
  ASSERT_TRUE(WaitFor([&] { return triggered_.size() == 1; }));
  {
    std::lock_guard lock(mu_);
    EXPECT_EQ(sources_finished_, 0);
  }
  coordinator_->SourceFinished();
  ASSERT_TRUE(WaitFor([&] { return sources_finished_ == 1; }));
  // The final checkpoint is the job coordinator's to trigger: nothing is triggered here.
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::lock_guard lock(mu_);
  EXPECT_EQ(triggered_.size(), 1u);
  EXPECT_EQ(sources_finished_, 1);
}

}  // namespace
}  // namespace sluice::runtime
