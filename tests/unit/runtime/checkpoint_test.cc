// Checkpoints through the executor: aligned barriers over several senders, two-phase commit,
// recovery after a failure (exactly once), a stop with a final checkpoint, refusals.

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <sstream>
#include <thread>

#include "batch/column_builder.h"
#include "runtime/checkpoint_store.h"
#include "runtime/executor.h"

namespace sluice::runtime {
namespace {

using batch::Batch;
using batch::BatchPtr;
using batch::ColumnBuilder;

types::SchemaPtr TestSchema() {
  static auto schema =
      std::make_shared<types::Schema>(std::vector<types::Field>{{"n", types::Int64(), true}});
  return schema;
}

BatchPtr MakeBatch(const std::vector<int64_t>& values) {
  ColumnBuilder nb(types::Int64()), tb(types::Timestamp());
  for (int64_t v : values) {
    nb.AppendFixed<int64_t>(v);
    tb.AppendFixed<int64_t>(v);
  }
  auto b = std::make_shared<Batch>();
  b->schema = TestSchema();
  b->columns = {nb.Finish()};
  b->event_time = tb.Finish();
  b->num_rows = static_cast<int64_t>(values.size());
  return b;
}

// Emits s, s+P, s+2P... below `count` (forever when count < 0), 50 rows per poll, sleeping
// `sleep_us` per poll. Its position is the next value.
class CountingSource : public SourceOperator {
 public:
  CountingSource(int subtask, int parallelism, int64_t count, int sleep_us)
      : next_(subtask), step_(parallelism), count_(count), sleep_us_(sleep_us) {}
  Result<SourcePoll> Poll(Collector& out) override {
    if (ctx_->stop_requested->load() || (count_ >= 0 && next_ >= count_)) {
      return SourcePoll::Finished();
    }
    if (sleep_us_) usleep(static_cast<useconds_t>(sleep_us_));
    std::vector<int64_t> values;
    for (; values.size() < 50 && (count_ < 0 || next_ < count_); next_ += step_) {
      values.push_back(next_);
    }
    SLUICE_RETURN_NOT_OK(out.Emit(MakeBatch(values)));
    return SourcePoll::More();
  }
  Status Snapshot(int64_t, StateWriter& state) override {
    state.Put("next", std::to_string(next_));
    return Status::Ok();
  }
  Status Restore(StateReader& state) override {
    SLUICE_ASSIGN_OR_RETURN(auto next, state.Get("next"));
    if (next) next_ = std::stoll(*next);
    return Status::Ok();
  }

 private:
  int64_t next_, step_, count_;
  int sleep_us_;
};

class SourceFactory : public OperatorFactory {
 public:
  // `topic` is part of the description (an edited query may read another one).
  SourceFactory(int64_t count, int sleep_us, std::string topic = "t")
      : count_(count), sleep_us_(sleep_us), topic_(std::move(topic)) {}
  std::string name() const override { return "counting source"; }
  std::string Describe() const override { return name() + " topic=" + topic_; }
  bool is_source() const override { return true; }
  bool checkpointable() const override { return true; }
  Result<std::unique_ptr<SourceOperator>> CreateSource(int s, int p) const override {
    return std::unique_ptr<SourceOperator>(
        std::make_unique<CountingSource>(s, p, count_, sleep_us_));
  }

 private:
  int64_t count_;
  int sleep_us_;
  std::string topic_;
};

// Passes rows on; fails the pipeline when it sees `fail_at` (once: `armed` is shared).
class FailOnce : public Operator {
 public:
  FailOnce(std::atomic<bool>* armed, int64_t fail_at) : armed_(armed), fail_at_(fail_at) {}
  Status ProcessBatch(int, const BatchPtr& b, Collector& out) override {
    for (int64_t i = 0; i < b->num_rows; ++i) {
      if (b->columns[0]->raw<int64_t>()[i] == fail_at_ && armed_->exchange(false)) {
        return Status::Io("injected failure at {}", fail_at_);
      }
    }
    return out.Emit(b);
  }

 private:
  std::atomic<bool>* armed_;
  int64_t fail_at_;
};

class FailOnceFactory : public OperatorFactory {
 public:
  FailOnceFactory(std::atomic<bool>* armed, int64_t fail_at, bool checkpointable = true)
      : armed_(armed), fail_at_(fail_at), checkpointable_(checkpointable) {}
  std::string name() const override { return "fail once"; }
  std::string Describe() const override { return name(); }
  bool checkpointable() const override { return checkpointable_; }
  Result<std::unique_ptr<Operator>> Create(int, int) const override {
    return std::unique_ptr<Operator>(std::make_unique<FailOnce>(armed_, fail_at_));
  }

 private:
  std::atomic<bool>* armed_;
  int64_t fail_at_;
  bool checkpointable_;
};

// What survives a "crash": one append-only log per sink subtask, like a file each.
struct Outputs {
  std::mutex mu;
  std::vector<std::vector<int64_t>> logs{8};
};

// Exactly-once into its log by two-phase commit, the way the single_file sink does it with a
// file: rows since the last barrier are buffered, pre-committed per checkpoint, appended once
// the checkpoint completes; the snapshot holds the committed length and the pending rows.
class TwoPhaseSink : public Operator {
 public:
  explicit TwoPhaseSink(Outputs* out) : out_(out) {}
  Status Open(OperatorContext& ctx) override {
    ctx_ = &ctx;
    if (!ctx.checkpointing) return Status::Internal("expected checkpoints");
    if (!ctx.restored_checkpoint) {
      std::lock_guard<std::mutex> lock(out_->mu);
      log().clear();
    }
    return Status::Ok();
  }
  Status ProcessBatch(int, const BatchPtr& b, Collector&) override {
    for (int64_t i = 0; i < b->num_rows; ++i) buffer_.push_back(b->columns[0]->raw<int64_t>()[i]);
    return Status::Ok();
  }
  Status PreCommit(int64_t n) override {
    if (!buffer_.empty()) pending_.emplace_back(n, std::move(buffer_));
    buffer_.clear();
    return Status::Ok();
  }
  Status Snapshot(int64_t, StateWriter& state) override {
    std::ostringstream s;
    s << committed_ << ";";
    for (const auto& [id, rows] : pending_) {
      s << id << ":";
      for (int64_t v : rows) s << v << ",";
      s << ";";
    }
    state.Put("tx", s.str());
    return Status::Ok();
  }
  Status Commit(int64_t n) override {
    std::lock_guard<std::mutex> lock(out_->mu);
    while (!pending_.empty() && pending_.front().first <= n) {
      log().insert(log().end(), pending_.front().second.begin(), pending_.front().second.end());
      pending_.erase(pending_.begin());
    }
    committed_ = log().size();
    return Status::Ok();
  }
  Status Restore(StateReader& state) override {
    SLUICE_ASSIGN_OR_RETURN(auto tx, state.Get("tx"));
    if (!tx) return Status::Internal("no sink state");
    std::istringstream s(*tx);
    std::string item;
    std::getline(s, item, ';');
    size_t length = std::stoull(item);
    std::lock_guard<std::mutex> lock(out_->mu);
    if (log().size() < length) return Status::Internal("log shorter than committed");
    log().resize(length);  // what was committed after the checkpoint is produced again
    while (std::getline(s, item, ';')) {
      std::istringstream rows(item.substr(item.find(':') + 1));
      std::string v;
      while (std::getline(rows, v, ',')) log().push_back(std::stoll(v));
    }
    committed_ = log().size();
    return Status::Ok();
  }

 private:
  std::vector<int64_t>& log() { return out_->logs[static_cast<size_t>(ctx_->subtask)]; }
  Outputs* out_;
  std::vector<int64_t> buffer_;
  std::vector<std::pair<int64_t, std::vector<int64_t>>> pending_;
  size_t committed_ = 0;
};

class SinkFactory : public OperatorFactory {
 public:
  explicit SinkFactory(Outputs* out) : out_(out) {}
  std::string name() const override { return "two-phase sink"; }
  std::string Describe() const override { return name(); }
  Result<std::unique_ptr<Operator>> Create(int, int) const override {
    return std::unique_ptr<Operator>(std::make_unique<TwoPhaseSink>(out_));
  }

 private:
  Outputs* out_;
};

// source (3) -rebalance-> fail once (map_par) -rebalance-> sink (2): every sink subtask has
// several senders to align.
DataflowGraph Graph(std::shared_ptr<const OperatorFactory> source,
                    std::shared_ptr<const OperatorFactory> map, int map_par, Outputs* out) {
  DataflowGraph g;
  NodeSpec src{0, 3, {std::move(source)}};
  NodeSpec mid{1, map_par, {std::move(map)}};
  NodeSpec snk{2, 2, {std::make_shared<SinkFactory>(out)}};
  g.nodes = {src, mid, snk};
  EdgeSpec e1, e2;
  e1.from = 0;
  e1.to = 1;
  e1.kind = EdgeKind::kRebalance;
  e2.from = 1;
  e2.to = 2;
  e2.kind = EdgeKind::kRebalance;
  g.edges = {e1, e2};
  return g;
}

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/sluice-exec-ckpt-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  static ExecutorOptions Options() {
    ExecutorOptions o;
    o.threads = 3;
    o.queue_capacity_rows = 500;
    return o;
  }
  CheckpointOptions Checkpoints(const std::string& fingerprint = "q", bool ignore_state = false) {
    CheckpointOptions c;
    auto storage = OpenCheckpointStorage(dir_);
    EXPECT_TRUE(storage.ok());
    c.storage = *storage;
    c.interval_micros = 3000;
    c.keep = 2;
    c.fingerprint = fingerprint;
    c.ignore_state = ignore_state;
    c.log = [this](const std::string& m) { log_ += m + "\n"; };
    return c;
  }
  std::vector<int64_t> AllRows() {
    std::vector<int64_t> all;
    for (const auto& l : out_.logs) all.insert(all.end(), l.begin(), l.end());
    std::sort(all.begin(), all.end());
    return all;
  }
  static std::vector<int64_t> Range(int64_t n) {
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
    return v;
  }

  std::string dir_;
  std::string log_;
  Outputs out_;
};

TEST_F(CheckpointTest, FailureAndRestoreGiveEveryRowExactlyOnce) {
  const int64_t count = 30000;
  std::atomic<bool> armed{true};
  {
    // About 200ms before the failure; a checkpoint takes a few fsyncs.
    Executor ex(Graph(std::make_shared<SourceFactory>(count, 1000),
                      std::make_shared<FailOnceFactory>(&armed, 24000), 2, &out_),
                Options(), Checkpoints());
    Status st = ex.Run();
    ASSERT_FALSE(st.ok());
    EXPECT_NE(st.message().find("injected failure"), std::string::npos) << st.ToString();
    EXPECT_GE(ex.Checkpoints().completed, 1);
    EXPECT_FALSE(ex.Checkpoints().restored_from.has_value());
  }
  EXPECT_LT(AllRows().size(), static_cast<size_t>(count));
  // The restart runs the middle operator at another parallelism: it holds no state.
  Executor ex(Graph(std::make_shared<SourceFactory>(count, 0),
                    std::make_shared<FailOnceFactory>(&armed, 24000), 3, &out_),
              Options(), Checkpoints());
  Status st = ex.Run();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_TRUE(ex.Checkpoints().restored_from.has_value());
  EXPECT_NE(log_.find("resuming from checkpoint"), std::string::npos) << log_;
  EXPECT_EQ(AllRows(), Range(count));
  // Only the newest checkpoints are kept.
  auto storage = OpenCheckpointStorage(dir_);
  ASSERT_TRUE(storage.ok());
  CheckpointStore store(*storage);
  auto listing = store.List();
  ASSERT_TRUE(listing.ok());
  EXPECT_EQ(listing->complete.size(), 2u);
  // The last one is the end of the input: running again changes nothing.
  Executor again(Graph(std::make_shared<SourceFactory>(count, 0),
                       std::make_shared<FailOnceFactory>(&armed, 24000), 1, &out_),
                 Options(), Checkpoints());
  ASSERT_TRUE(again.Run().ok());
  EXPECT_EQ(AllRows(), Range(count));
}

TEST_F(CheckpointTest, StopTakesAFinalCheckpointAndTheNextRunResumesThere) {
  std::atomic<bool> armed{false};
  {
    Executor ex(Graph(std::make_shared<SourceFactory>(-1, 300),
                      std::make_shared<FailOnceFactory>(&armed, -1), 2, &out_),
                Options(), Checkpoints());
    std::thread stopper([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(60));
      ex.RequestStop();
    });
    Status st = ex.Run();
    stopper.join();
    ASSERT_TRUE(st.ok()) << st.ToString();
    EXPECT_GE(ex.Checkpoints().completed, 1);
  }
  // Everything emitted before the final barrier is committed: per source subtask, a prefix of
  // its values, without duplicates.
  std::vector<int64_t> rows = AllRows();
  ASSERT_FALSE(rows.empty());
  EXPECT_TRUE(std::adjacent_find(rows.begin(), rows.end()) == rows.end());
  auto storage = OpenCheckpointStorage(dir_);
  CheckpointStore store(*storage);
  std::vector<std::string> warnings;
  auto latest = store.LoadLatest(&warnings);
  ASSERT_TRUE(latest.ok() && latest->has_value());
  EXPECT_EQ((*latest)->metadata.kind, CheckpointKind::kStop);
  int64_t count = rows.back() + 1000;
  Executor ex(Graph(std::make_shared<SourceFactory>(count, 0),
                    std::make_shared<FailOnceFactory>(&armed, -1), 2, &out_),
              Options(), Checkpoints());
  ASSERT_TRUE(ex.Run().ok());
  EXPECT_EQ(AllRows(), Range(count));
}

TEST_F(CheckpointTest, OperatorsWithoutCheckpointSupportAreRefused) {
  std::atomic<bool> armed{false};
  Executor ex(
      Graph(std::make_shared<SourceFactory>(10, 0),
            std::make_shared<FailOnceFactory>(&armed, -1, /*checkpointable=*/false), 2, &out_),
      Options(), Checkpoints());
  Status st = ex.Run();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(),
            "checkpointing a query with fail once is not supported yet; run it without a state "
            "dir");
}

TEST_F(CheckpointTest, AnotherQuerysStateIsRefusedUnlessIgnored) {
  std::atomic<bool> armed{false};
  auto graph = [&](const std::string& topic) {
    return Graph(std::make_shared<SourceFactory>(300, 0, topic),
                 std::make_shared<FailOnceFactory>(&armed, -1), 2, &out_);
  };
  ASSERT_TRUE(Executor(graph("a"), Options(), Checkpoints("query a")).Run().ok());
  // Query b reads another topic: the source's position of query a has no place in it.
  Status refused = Executor(graph("b"), Options(), Checkpoints("query b")).Run();
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("query changed since checkpoint"), std::string::npos)
      << refused.ToString();
  EXPECT_NE(refused.message().find("'counting source topic=a' changed: it is now 'counting "
                                   "source topic=b'"),
            std::string::npos)
      << refused.ToString();
  EXPECT_NE(refused.message().find("--ignore-state"), std::string::npos);
  EXPECT_NE(refused.message().find("--allow-non-restored-state"), std::string::npos);
  Executor ignored(graph("b"), Options(), Checkpoints("query b", /*ignore_state=*/true));
  ASSERT_TRUE(ignored.Run().ok());
  EXPECT_FALSE(ignored.Checkpoints().restored_from.has_value());
  EXPECT_EQ(AllRows(), Range(300));
  // Its checkpoints are now the latest: the next run of query b resumes from them.
  Executor resumed(graph("b"), Options(), Checkpoints("query b"));
  ASSERT_TRUE(resumed.Run().ok());
  EXPECT_TRUE(resumed.Checkpoints().restored_from.has_value());
}

TEST_F(CheckpointTest, AnEditedQueryKeepsTheStateOfUnchangedOperators) {
  std::atomic<bool> armed{false};
  auto graph = [&](const std::string& topic) {
    return Graph(std::make_shared<SourceFactory>(300, 0, topic),
                 std::make_shared<FailOnceFactory>(&armed, -1), 2, &out_);
  };
  ASSERT_TRUE(Executor(graph("a"), Options(), Checkpoints("query a")).Run().ok());
  EXPECT_EQ(AllRows(), Range(300));
  // Another query text with the same operators: every operator keeps its state, so the
  // sources resume at the end of their input and nothing is read again.
  Executor same_operators(graph("a"), Options(), Checkpoints("query a, edited"));
  ASSERT_TRUE(same_operators.Run().ok());
  EXPECT_TRUE(same_operators.Checkpoints().restored_from.has_value());
  EXPECT_EQ(AllRows(), Range(300));
  EXPECT_NE(log_.find("3 of 3 operators keep their state"), std::string::npos) << log_;
  {
    // Its checkpoints carry on which operators hold state: the source, not the map.
    CheckpointStore store(*OpenCheckpointStorage(dir_));
    auto latest = store.LoadLatest(nullptr);
    ASSERT_TRUE(latest.ok() && latest->has_value());
    const auto& ids = (*latest)->metadata.identities;
    ASSERT_EQ(ids.size(), 3u);
    EXPECT_TRUE(ids[0].stateful);
    EXPECT_FALSE(ids[1].stateful);
  }
  // Dropping the source's state when allowed: the new source starts empty and reads its input
  // from the beginning; the run still resumes from the checkpoint.
  CheckpointOptions allow = Checkpoints("query b");
  allow.allow_non_restored_state = true;
  Executor dropped(graph("b"), Options(), std::move(allow));
  ASSERT_TRUE(dropped.Run().ok()) << log_;
  EXPECT_TRUE(dropped.Checkpoints().restored_from.has_value());
  EXPECT_NE(log_.find("state dropped (allowNonRestoredState): 'counting source topic=a' "
                      "changed"),
            std::string::npos)
      << log_;
  std::vector<int64_t> twice = Range(300);
  std::vector<int64_t> again = Range(300);
  twice.insert(twice.end(), again.begin(), again.end());
  std::sort(twice.begin(), twice.end());
  EXPECT_EQ(AllRows(), twice);
}

}  // namespace
}  // namespace sluice::runtime
