#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <thread>

#include "batch/column_builder.h"
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

// Emits the integers [0, count) split across subtasks (subtask s emits s, s+P, ...), or runs
// forever when count < 0.
class CountingSource : public SourceOperator {
 public:
  CountingSource(int subtask, int parallelism, int64_t count)
      : next_(subtask), step_(parallelism), count_(count) {}
  Result<SourcePoll> Poll(Collector& out) override {
    if (ctx_->stop_requested->load() || (count_ >= 0 && next_ >= count_)) {
      return SourcePoll::Finished();
    }
    ColumnBuilder nb(types::Int64()), tb(types::Timestamp());
    int64_t rows = 0;
    for (; rows < 100 && (count_ < 0 || next_ < count_); ++rows, next_ += step_) {
      nb.AppendFixed<int64_t>(next_);
      tb.AppendFixed<int64_t>(next_);
    }
    auto b = std::make_shared<Batch>();
    b->schema = TestSchema();
    b->columns = {nb.Finish()};
    b->event_time = tb.Finish();
    b->num_rows = rows;
    SLUICE_RETURN_NOT_OK(out.Emit(b));
    return SourcePoll::More();
  }

 private:
  int64_t next_, step_, count_;
};

struct Collected {
  std::mutex mu;
  std::multiset<int64_t> values;
  int ends = 0;
};

class CollectSink : public Operator {
 public:
  CollectSink(Collected* c, int fail_at, int sleep_us)
      : c_(c), fail_at_(fail_at), sleep_us_(sleep_us) {}
  Status ProcessBatch(int, const BatchPtr& b, Collector&) override {
    if (sleep_us_) std::this_thread::sleep_for(std::chrono::microseconds(sleep_us_));
    std::lock_guard<std::mutex> lock(c_->mu);
    for (int64_t i = 0; i < b->num_rows; ++i) {
      int64_t v = b->columns[0]->raw<int64_t>()[i];
      if (v == fail_at_) return Status::User("bad row {}", v);
      c_->values.insert(v);
    }
    return Status::Ok();
  }
  Status OnEndOfInput(Collector&) override {
    std::lock_guard<std::mutex> lock(c_->mu);
    c_->ends++;
    return Status::Ok();
  }

 private:
  Collected* c_;
  int fail_at_;
  int sleep_us_;
};

class SourceFactory : public OperatorFactory {
 public:
  explicit SourceFactory(int64_t count) : count_(count) {}
  std::string name() const override { return "counting source"; }
  std::string Describe() const override { return name(); }
  bool is_source() const override { return true; }
  Result<std::unique_ptr<SourceOperator>> CreateSource(int s, int p) const override {
    return std::unique_ptr<SourceOperator>(std::make_unique<CountingSource>(s, p, count_));
  }

 private:
  int64_t count_;
};

class SinkFactory : public OperatorFactory {
 public:
  SinkFactory(Collected* c, int fail_at = -1, int sleep_us = 0)
      : c_(c), fail_at_(fail_at), sleep_us_(sleep_us) {}
  std::string name() const override { return "collect sink"; }
  std::string Describe() const override { return name(); }
  Result<std::unique_ptr<Operator>> Create(int, int) const override {
    return std::unique_ptr<Operator>(std::make_unique<CollectSink>(c_, fail_at_, sleep_us_));
  }

 private:
  Collected* c_;
  int fail_at_;
  int sleep_us_;
};

DataflowGraph TwoNodes(int64_t count, int source_par, int sink_par,
                       std::shared_ptr<const OperatorFactory> sink, EdgeKind kind) {
  DataflowGraph g;
  NodeSpec src;
  src.id = 0;
  src.parallelism = source_par;
  src.chain.push_back(std::make_shared<SourceFactory>(count));
  NodeSpec snk;
  snk.id = 1;
  snk.parallelism = sink_par;
  snk.chain.push_back(std::move(sink));
  g.nodes = {src, snk};
  EdgeSpec e;
  e.from = 0;
  e.to = 1;
  e.kind = kind;
  g.edges = {e};
  return g;
}

TEST(Executor, EveryRowArrivesOnceAcrossARebalance) {
  Collected c;
  Executor ex(TwoNodes(10000, 3, 2, std::make_shared<SinkFactory>(&c), EdgeKind::kRebalance),
              {2, 1000});
  ASSERT_TRUE(ex.Run().ok());
  ASSERT_EQ(c.values.size(), 10000u);
  EXPECT_EQ(*c.values.begin(), 0);
  EXPECT_EQ(*c.values.rbegin(), 9999);
  EXPECT_EQ(c.ends, 2);  // each sink subtask saw the end of input once
}

TEST(Executor, ChainedSourceAndSinkRunInOneTask) {
  Collected c;
  DataflowGraph g;
  NodeSpec n;
  n.id = 0;
  n.parallelism = 4;
  n.chain = {std::make_shared<SourceFactory>(999), std::make_shared<SinkFactory>(&c)};
  g.nodes = {n};
  Executor ex(std::move(g), {2, 1000});
  ASSERT_TRUE(ex.Run().ok());
  EXPECT_EQ(c.values.size(), 999u);
}

TEST(Executor, SlowSinkBackpressuresWithoutLosingRows) {
  Collected c;
  // A queue of 200 rows in front of a sink that sleeps per batch.
  Executor ex(
      TwoNodes(5000, 2, 1, std::make_shared<SinkFactory>(&c, -1, 200), EdgeKind::kRebalance),
      {2, 200});
  ASSERT_TRUE(ex.Run().ok());
  EXPECT_EQ(c.values.size(), 5000u);
}

TEST(Executor, AnOperatorErrorFailsThePipelineWithItsMessage) {
  Collected c;
  Executor ex(TwoNodes(-1, 2, 2, std::make_shared<SinkFactory>(&c, 777), EdgeKind::kRebalance),
              {2, 1000});
  Status st = ex.Run();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bad row 777"), std::string::npos) << st.ToString();
}

TEST(Executor, RequestStopDrainsAnUnboundedPipeline) {
  Collected c;
  Executor ex(TwoNodes(-1, 2, 2, std::make_shared<SinkFactory>(&c), EdgeKind::kRebalance),
              {2, 1000});
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ex.RequestStop();
  });
  Status st = ex.Run();
  stopper.join();
  ASSERT_TRUE(st.ok()) << st.ToString();
  EXPECT_GT(c.values.size(), 0u);
  EXPECT_EQ(c.ends, 2);
  // Every row a source emitted arrived: the values are a prefix per source subtask.
  int64_t even = 0, odd = 0;
  for (int64_t v : c.values) (v % 2 ? odd : even)++;
  EXPECT_EQ(*c.values.rbegin() / 2 + 1, (*c.values.rbegin() % 2) ? odd : even);
}

}  // namespace
}  // namespace sluice::runtime

namespace sluice::runtime {
namespace {

// Source 0 emits one watermark (at 10) then has nothing more for a long time; source 1 emits
// watermarks 100, 200, ... With an idle timeout, source 0 stops holding the watermark back.
class WatermarkSource : public SourceOperator {
 public:
  explicit WatermarkSource(int subtask) : subtask_(subtask) {}
  Result<SourcePoll> Poll(Collector& out) override {
    if (ctx_->stop_requested->load()) return SourcePoll::Finished();
    if (subtask_ == 0) {
      if (!sent_) {
        sent_ = true;
        SLUICE_RETURN_NOT_OK(out.EmitWatermark(Watermark{EventTime{10}}));
      }
      return SourcePoll::WaitUntil(ProcessingTime{Now().value + 60'000'000});
    }
    next_ += 100;
    SLUICE_RETURN_NOT_OK(out.EmitWatermark(Watermark{EventTime{next_}}));
    return SourcePoll::WaitUntil(ProcessingTime{Now().value + 1000});
  }

 private:
  int subtask_;
  bool sent_ = false;
  int64_t next_ = 0;
};

class WatermarkSourceFactory : public OperatorFactory {
 public:
  explicit WatermarkSourceFactory(std::optional<int64_t> idle) : idle_(idle) {}
  std::string name() const override { return "watermark source"; }
  std::string Describe() const override { return name(); }
  bool is_source() const override { return true; }
  std::optional<int64_t> idle_timeout_micros() const override { return idle_; }
  Result<std::unique_ptr<SourceOperator>> CreateSource(int s, int) const override {
    return std::unique_ptr<SourceOperator>(std::make_unique<WatermarkSource>(s));
  }

 private:
  std::optional<int64_t> idle_;
};

// Records the last watermark that arrived before the test began stopping the pipeline (the
// stop ends the sources, which releases their watermarks).
std::atomic<bool> g_stopping{false};

class WatermarkSink : public Operator {
 public:
  explicit WatermarkSink(std::atomic<int64_t>* seen) : seen_(seen) {}
  Status ProcessBatch(int, const BatchPtr&, Collector&) override { return Status::Ok(); }
  Status ProcessWatermark(Watermark wm, Collector&) override {
    if (!g_stopping.load()) seen_->store(wm.time.value);
    return Status::Ok();
  }

 private:
  std::atomic<int64_t>* seen_;
};

class WatermarkSinkFactory : public OperatorFactory {
 public:
  explicit WatermarkSinkFactory(std::atomic<int64_t>* seen) : seen_(seen) {}
  std::string name() const override { return "watermark sink"; }
  std::string Describe() const override { return name(); }
  Result<std::unique_ptr<Operator>> Create(int, int) const override {
    return std::unique_ptr<Operator>(std::make_unique<WatermarkSink>(seen_));
  }

 private:
  std::atomic<int64_t>* seen_;
};

int64_t RunWatermarks(std::optional<int64_t> idle) {
  std::atomic<int64_t> seen{-1};
  g_stopping = false;
  DataflowGraph g =
      TwoNodes(0, 2, 1, std::make_shared<WatermarkSinkFactory>(&seen), EdgeKind::kRebalance);
  g.nodes[0].chain[0] = std::make_shared<WatermarkSourceFactory>(idle);
  Executor ex(std::move(g), {2, 1000});
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    g_stopping = true;
    ex.RequestStop();
  });
  Status st = ex.Run();
  stopper.join();
  EXPECT_TRUE(st.ok()) << st.ToString();
  return seen.load();
}

TEST(Executor, WatermarkIsTheMinimumOverInputs) {
  // Without an idle timeout the silent source holds the watermark at 10.
  EXPECT_EQ(RunWatermarks(std::nullopt), 10);
}

TEST(Executor, IdleInputStopsHoldingTheWatermarkBack) {
  // With a 50 ms idle timeout the other source's watermarks (100, 200, ...) get through.
  EXPECT_GT(RunWatermarks(50'000), 1000);
}

}  // namespace
}  // namespace sluice::runtime

namespace sluice::runtime {
namespace {

// A source that emits its counter as the watermark after each batch (so the watermark keeps
// rising) and runs until stopped.
class WatermarkingSource : public SourceOperator {
 public:
  Result<SourcePoll> Poll(Collector& out) override {
    if (ctx_->stop_requested->load()) return SourcePoll::Finished();
    ColumnBuilder nb(types::Int64()), tb(types::Timestamp());
    for (int i = 0; i < 100; ++i, ++next_) {
      nb.AppendFixed<int64_t>(next_);
      tb.AppendFixed<int64_t>(next_);
    }
    auto b = std::make_shared<Batch>();
    b->schema = TestSchema();
    b->columns = {nb.Finish()};
    b->event_time = tb.Finish();
    b->num_rows = 100;
    SLUICE_RETURN_NOT_OK(out.Emit(b));
    SLUICE_RETURN_NOT_OK(out.EmitWatermark(Watermark{EventTime{next_ - 1}}));
    return SourcePoll::More();
  }

 private:
  int64_t next_ = 0;
};

class WatermarkingSourceFactory : public OperatorFactory {
 public:
  std::string name() const override { return "watermarking source"; }
  std::string Describe() const override { return name(); }
  bool is_source() const override { return true; }
  Result<std::unique_ptr<SourceOperator>> CreateSource(int, int) const override {
    return std::unique_ptr<SourceOperator>(std::make_unique<WatermarkingSource>());
  }
};

const OperatorMetrics* MetricsNamed(const Executor& ex, const std::string& prefix) {
  for (const auto* m : ex.Metrics()) {
    if (m->name.starts_with(prefix)) return m;
  }
  return nullptr;
}

// The metrics the console shows: a source in front of a slow sink with a small queue is
// backpressured most of the time and the sink is not; each subtask reports the watermark it
// received (+infinity once its input ended).
TEST(Executor, ReportsBackpressureAndWatermarks) {
  Collected c;
  DataflowGraph g =
      TwoNodes(0, 1, 1, std::make_shared<SinkFactory>(&c, -1, 2000), EdgeKind::kForward);
  g.nodes[0].chain = {std::make_shared<WatermarkingSourceFactory>()};
  Executor ex(g, {2, 200});
  const int64_t start = Now().value;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    ex.RequestStop();
  });
  Status result = ex.Run();
  stopper.join();
  const int64_t elapsed = Now().value - start;
  ASSERT_TRUE(result.ok()) << result.message();
  const OperatorMetrics* source = MetricsNamed(ex, "watermarking source");
  const OperatorMetrics* sink = MetricsNamed(ex, "collect sink");
  ASSERT_NE(source, nullptr);
  ASSERT_NE(sink, nullptr);
  // The sink takes 2 ms a batch of 100 rows and its queue holds 2 batches: the source waits.
  EXPECT_GT(BackpressureMicros(*source, Now().value), elapsed / 2) << "of " << elapsed << " us";
  EXPECT_EQ(source->blocked_since.load(), 0);
  EXPECT_EQ(BackpressureMicros(*sink, Now().value), 0);
  EXPECT_GT(c.values.size(), 1000u);
  EXPECT_EQ(sink->watermark.load(), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(source->watermark.load(), std::numeric_limits<int64_t>::max());
}

}  // namespace
}  // namespace sluice::runtime
