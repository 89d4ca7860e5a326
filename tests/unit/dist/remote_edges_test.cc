// Remote edges in the executor: two executors in one process, each running half of the
// subtasks of one graph, connected by the data plane over loopback TCP.

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "batch/column_builder.h"
#include "dist/remote_edges.h"
#include "runtime/executor.h"

namespace sluice::dist {
namespace {

using batch::Batch;
using batch::BatchPtr;
using batch::ColumnBuilder;
using runtime::Collector;
using runtime::DataflowGraph;
using runtime::EdgeKind;
using runtime::Operator;
using runtime::OperatorFactory;
using runtime::SourceOperator;
using runtime::SourcePoll;

types::SchemaPtr KeySchema() {
  static auto schema =
      std::make_shared<types::Schema>(std::vector<types::Field>{{"k", types::Int64(), true}});
  return schema;
}

BatchPtr MakeBatch(const std::vector<int64_t>& values) {
  ColumnBuilder kb(types::Int64()), tb(types::Timestamp());
  for (int64_t v : values) {
    kb.AppendFixed<int64_t>(v);
    tb.AppendFixed<int64_t>(v);
  }
  auto b = std::make_shared<Batch>();
  b->schema = KeySchema();
  b->columns = {kb.Finish()};
  b->event_time = tb.Finish();
  b->num_rows = static_cast<int64_t>(values.size());
  return b;
}

// Subtask s emits s, s+P, s+2P, ... below `count`, 100 rows a batch, each batch followed by a
// watermark at its last value.
class KeySource : public SourceOperator {
 public:
  KeySource(int subtask, int parallelism, int64_t count)
      : next_(subtask), step_(parallelism), count_(count) {}
  Result<SourcePoll> Poll(Collector& out) override {
    if (next_ >= count_) return SourcePoll::Finished();
    std::vector<int64_t> values;
    for (; values.size() < 100 && next_ < count_; next_ += step_) values.push_back(next_);
    SLUICE_RETURN_NOT_OK(out.Emit(MakeBatch(values)));
    SLUICE_RETURN_NOT_OK(out.EmitWatermark(Watermark{EventTime{values.back()}}));
    return SourcePoll::More();
  }

 private:
  int64_t next_, step_, count_;
};

class KeySourceFactory : public OperatorFactory {
 public:
  explicit KeySourceFactory(int64_t count) : count_(count) {}
  std::string name() const override { return "key source"; }
  std::string Describe() const override { return name(); }
  bool is_source() const override { return true; }
  Result<std::unique_ptr<SourceOperator>> CreateSource(int s, int p) const override {
    return std::unique_ptr<SourceOperator>(std::make_unique<KeySource>(s, p, count_));
  }

 private:
  int64_t count_;
};

// What every sink subtask saw: its rows (by value, counted), its watermarks in order, its ends.
struct Seen {
  std::mutex mu;
  std::map<int, std::map<int64_t, int>> rows;  // by subtask
  std::map<int, std::vector<int64_t>> watermarks;
  std::map<int, int> ends;
};

class KeySink : public Operator {
 public:
  KeySink(Seen* seen, int subtask, int sleep_us)
      : seen_(seen), subtask_(subtask), sleep_us_(sleep_us) {}
  Status ProcessBatch(int, const BatchPtr& b, Collector&) override {
    if (sleep_us_) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us_));
    std::lock_guard lock(seen_->mu);
    for (int64_t i = 0; i < b->num_rows; ++i) {
      const int64_t v = b->columns[0]->raw<int64_t>()[i];
      if (v < 0) return Status::User("sink {} got the poisoned row {}", subtask_, v);
      seen_->rows[subtask_][v]++;
    }
    return Status::Ok();
  }
  Status ProcessWatermark(Watermark wm, Collector&) override {
    std::lock_guard lock(seen_->mu);
    seen_->watermarks[subtask_].push_back(wm.time.value);
    return Status::Ok();
  }
  Status OnEndOfInput(Collector&) override {
    std::lock_guard lock(seen_->mu);
    seen_->ends[subtask_]++;
    return Status::Ok();
  }

 private:
  Seen* seen_;
  int subtask_;
  int sleep_us_;
};

class KeySinkFactory : public OperatorFactory {
 public:
  KeySinkFactory(Seen* seen, int sleep_us) : seen_(seen), sleep_us_(sleep_us) {}
  std::string name() const override { return "key sink"; }
  std::string Describe() const override { return name(); }
  Result<std::unique_ptr<Operator>> Create(int s, int) const override {
    return std::unique_ptr<Operator>(std::make_unique<KeySink>(seen_, s, sleep_us_));
  }

 private:
  Seen* seen_;
  int sleep_us_;
};

// Rows go to subtask (key mod partitions); a negative key (poison) goes to the last one.
std::vector<BatchPtr> ByKey(const BatchPtr& b, int partitions) {
  std::vector<std::vector<int64_t>> parts(static_cast<size_t>(partitions));
  for (int64_t i = 0; i < b->num_rows; ++i) {
    const int64_t v = b->columns[0]->raw<int64_t>()[i];
    parts[static_cast<size_t>(v < 0 ? partitions - 1 : v % partitions)].push_back(v);
  }
  std::vector<BatchPtr> out(static_cast<size_t>(partitions));
  for (size_t p = 0; p < parts.size(); ++p) {
    if (!parts[p].empty()) out[p] = MakeBatch(parts[p]);
  }
  return out;
}

DataflowGraph Shuffle(int64_t count, int parallelism, Seen* seen, int sleep_us) {
  DataflowGraph g;
  runtime::NodeSpec src;
  src.id = 0;
  src.parallelism = parallelism;
  src.chain.push_back(std::make_shared<KeySourceFactory>(count));
  runtime::NodeSpec snk;
  snk.id = 1;
  snk.parallelism = parallelism;
  snk.chain.push_back(std::make_shared<KeySinkFactory>(seen, sleep_us));
  g.nodes = {src, snk};
  runtime::EdgeSpec e;
  e.from = 0;
  e.to = 1;
  e.kind = EdgeKind::kHash;
  e.key_names = {"k"};
  e.partitioner = ByKey;
  g.edges = {e};
  return g;
}

// Two workers of one job on loopback: worker w runs the subtasks s with s % 2 == w (or, with
// `by_node`, every subtask of node w: every edge is remote).
struct TwoWorkers {
  std::shared_ptr<DataPlaneReceiver> receivers[2];
  std::shared_ptr<DataPlaneEdges> edges[2];
  int64_t source_blocked_micros = 0;
  bool by_node = false;  // the sources' time waiting for room (credit), summed

  explicit TwoWorkers(int64_t credit_bytes) {
    for (int w = 0; w < 2; ++w) {
      DataPlaneReceiver::Options o;
      o.job = "shuffle";
      o.generation = 1;
      o.worker = w;
      o.channel_credit_bytes = credit_bytes;
      auto r = DataPlaneReceiver::Listen("127.0.0.1", 0, o);
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      receivers[w] = r.MoveValue();
    }
    std::vector<WorkerAddress> peers = {{"127.0.0.1", receivers[0]->port()},
                                        {"127.0.0.1", receivers[1]->port()}};
    for (int w = 0; w < 2; ++w) {
      edges[w] = std::make_shared<DataPlaneEdges>(
          receivers[w], peers, Handshake{"shuffle", 1, w, 0}, std::chrono::seconds(10));
    }
  }

  runtime::Placement PlacementOf(int worker, int parallelism) const {
    runtime::Placement p;
    p.worker = worker;
    for (int n = 0; n < 2; ++n) {
      p.workers.emplace_back();
      for (int s = 0; s < parallelism; ++s) p.workers.back().push_back(by_node ? n : s % 2);
    }
    p.remote = edges[worker];
    return p;
  }

  // Runs `graph_of(w)` on both workers at once; the statuses of both runs.
  template <typename F>
  std::pair<Status, Status> Run(int parallelism, F graph_of, bool stop_on_failure = false) {
    runtime::ExecutorOptions o;
    o.threads = 2;
    o.queue_capacity_rows = 1000;
    runtime::Executor ex0(graph_of(0), o);
    runtime::Executor ex1(graph_of(1), o);
    ex0.Place(PlacementOf(0, parallelism));
    ex1.Place(PlacementOf(1, parallelism));
    Status st0, st1;
    // A failed worker's process ends: its connections close (its peers see the loss).
    auto run = [&](runtime::Executor& ex, int w, Status* st) {
      *st = ex.Run();
      if (stop_on_failure && !st->ok()) {
        edges[w]->Close();
        receivers[w]->Stop();
      }
    };
    std::thread t0([&] { run(ex0, 0, &st0); });
    std::thread t1([&] { run(ex1, 1, &st1); });
    t0.join();
    t1.join();
    for (auto* ex : {&ex0, &ex1}) {
      for (const auto* m : ex->Metrics()) {
        if (m->name.starts_with("key source")) source_blocked_micros += m->backpressure_micros;
      }
    }
    for (int w = 0; w < 2; ++w) {
      edges[w]->Close();
      receivers[w]->Stop();
    }
    return {st0, st1};
  }
};

TEST(RemoteEdges, KeyedShuffleAcrossTwoExecutorsDeliversEveryRowToItsKeysSubtask) {
  constexpr int64_t kRows = 200'000;
  constexpr int kParallelism = 4;  // subtasks 0 and 2 on worker 0, 1 and 3 on worker 1
  Seen seen;
  TwoWorkers workers(4 << 20);
  auto [st0, st1] =
      workers.Run(kParallelism, [&](int) { return Shuffle(kRows, kParallelism, &seen, 0); });
  ASSERT_TRUE(st0.ok()) << st0.ToString();
  ASSERT_TRUE(st1.ok()) << st1.ToString();
  int64_t total = 0;
  for (int s = 0; s < kParallelism; ++s) {
    for (const auto& [v, n] : seen.rows[s]) {
      EXPECT_EQ(v % kParallelism, s) << "row " << v << " reached subtask " << s;
      EXPECT_EQ(n, 1) << "row " << v << " arrived " << n << " times";
      total += n;
    }
    // Each sink saw the end of input once, after watermarks that never went backwards and
    // ended at +infinity (every sender's end of data).
    EXPECT_EQ(seen.ends[s], 1);
    const auto& wms = seen.watermarks[s];
    ASSERT_FALSE(wms.empty());
    EXPECT_TRUE(std::is_sorted(wms.begin(), wms.end()));
    EXPECT_EQ(wms.back(), Watermark::Max().time.value);
    // The combined watermark is the minimum over the four senders: before the end, it stays
    // below the last row (kRows - 1) and reaches past the first quarter of the input.
    ASSERT_GE(wms.size(), 2u);
    EXPECT_LT(wms[wms.size() - 2], kRows);
    EXPECT_GT(wms[wms.size() - 2], kRows / 4);
  }
  EXPECT_EQ(total, kRows);
}

TEST(RemoteEdges, ASlowRemoteConsumerBackpressuresItsProducersThroughCredit) {
  // 4 KiB of credit per channel (a few batches) and a sink that sleeps per batch: producers
  // must wait for credit (without holding a worker thread: each worker has 2 threads for 2
  // tasks that both wait), and still every row arrives once.
  constexpr int64_t kRows = 20'000;
  Seen seen;
  TwoWorkers workers(4 << 10);
  workers.by_node = true;  // sources on worker 0, sinks on worker 1: only credit can block
  auto [st0, st1] = workers.Run(2, [&](int) { return Shuffle(kRows, 2, &seen, 200); });
  ASSERT_TRUE(st0.ok()) << st0.ToString();
  ASSERT_TRUE(st1.ok()) << st1.ToString();
  int64_t total = 0;
  for (int s = 0; s < 2; ++s) {
    for (const auto& [v, n] : seen.rows[s]) {
      EXPECT_EQ(v % 2, s);
      EXPECT_EQ(n, 1);
      total += n;
    }
  }
  EXPECT_EQ(total, kRows);
  EXPECT_GT(workers.source_blocked_micros, 0) << "the producers never waited for credit";
}

// A source whose subtask 0 emits one poisoned row (key -1), which the hash sends to the last
// sink subtask, on the other worker, where the sink fails.
class PoisonSourceFactory : public KeySourceFactory {
 public:
  PoisonSourceFactory() : KeySourceFactory(1'000'000'000) {}
  Result<std::unique_ptr<SourceOperator>> CreateSource(int s, int p) const override {
    class Poison : public SourceOperator {
     public:
      explicit Poison(int s) : s_(s) {}
      Result<SourcePoll> Poll(Collector& out) override {
        if (ctx_->stop_requested->load()) return SourcePoll::Finished();
        SLUICE_RETURN_NOT_OK(out.Emit(MakeBatch({s_ == 0 && ++n_ == 50 ? -1 : 2 * n_})));
        return SourcePoll::WaitUntil(ProcessingTime{Now().value + 1000});
      }

     private:
      int s_;
      int64_t n_ = 0;
    };
    return std::unique_ptr<SourceOperator>(std::make_unique<Poison>(s));
  }
};

TEST(RemoteEdges, AFailureOnOneWorkerFailsTheOtherInsteadOfHanging) {
  Seen seen;
  TwoWorkers workers(4 << 20);
  auto [st0, st1] = workers.Run(
      2,
      [&](int) {
        DataflowGraph g = Shuffle(0, 2, &seen, 0);
        g.nodes[0].chain[0] = std::make_shared<PoisonSourceFactory>();
        return g;
      },
      /*stop_on_failure=*/true);
  // Worker 1 runs sink subtask 1, which fails on the poisoned row; worker 0 (an unbounded
  // source) loses its connection to worker 1 and fails too.
  ASSERT_FALSE(st1.ok());
  EXPECT_NE(st1.message().find("poisoned row -1"), std::string::npos) << st1.ToString();
  ASSERT_FALSE(st0.ok());
  EXPECT_NE(st0.message().find("data plane"), std::string::npos) << st0.ToString();
}

}  // namespace
}  // namespace sluice::dist
