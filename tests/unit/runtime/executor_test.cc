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
