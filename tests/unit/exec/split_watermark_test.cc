// Per-split watermarks at the watermark generator (batches carrying batch::SourceSplits, as the
// Kafka source emits them): the watermark is the minimum over the live splits, late rows are
// decided against it row by row, an idle split stops holding it back, a split that ends drops
// out, and each split's value survives a restore.

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include "batch/column_builder.h"
#include "exec/watermark_generator.h"
#include "expr/bound_expr.h"
#include "runtime/state.h"

namespace sluice::exec {
namespace {

using batch::Batch;
using batch::BatchPtr;

class Collect : public runtime::Collector {
 public:
  Status Emit(const BatchPtr& b) override {
    batches.push_back(b);
    return Status::Ok();
  }
  Status EmitWatermark(Watermark wm) override {
    watermarks.push_back(wm.time.value);
    return Status::Ok();
  }
  // The event times of every row emitted, in order.
  std::vector<int64_t> Times() const {
    std::vector<int64_t> t;
    for (const auto& b : batches) {
      EXPECT_EQ(b->splits, nullptr);  // the splits stop at the generator
      for (int64_t i = 0; i < b->num_rows; ++i) t.push_back(b->event_time->raw<int64_t>()[i]);
    }
    return t;
  }
  std::vector<BatchPtr> batches;
  std::vector<int64_t> watermarks;
};

using Live = std::shared_ptr<const std::vector<int32_t>>;

Live MakeLive(std::vector<int32_t> splits) {
  return std::make_shared<const std::vector<int32_t>>(std::move(splits));
}

// Rows (ts TIMESTAMP) with their splits: {split, ts} pairs.
BatchPtr Rows(const std::vector<std::pair<int32_t, int64_t>>& rows, const Live& live) {
  batch::ColumnBuilder ts(types::Timestamp()), split(types::Int32());
  for (const auto& [s, t] : rows) {
    ts.AppendFixed<int64_t>(t);
    split.AppendFixed<int32_t>(s);
  }
  auto b = std::make_shared<Batch>();
  b->schema =
      std::make_shared<types::Schema>(std::vector<types::Field>{{"ts", types::Timestamp(), false}});
  b->columns = {ts.Finish()};
  b->num_rows = static_cast<int64_t>(rows.size());
  b->splits =
      std::make_shared<const batch::SourceSplits>(batch::SourceSplits{split.Finish(), live});
  return b;
}

// The watermark is the event time itself (no delay), late rows dropped.
std::unique_ptr<runtime::Operator> Generator(std::optional<int64_t> idle_micros,
                                             int parallelism = 1) {
  WatermarkGeneratorFactory f(0, expr::MakeColumn(0, types::Timestamp()), idle_micros,
                              /*drop_late=*/true);
  return f.Create(0, parallelism).MoveValue();
}

TEST(SplitWatermarkTest, TheMinimumOverTheLiveSplitsDecidesLateness) {
  auto op = Generator(std::nullopt);
  Collect out;
  Live both = MakeLive({0, 1});
  // Split 1 has no row yet: it holds the watermark back, nothing of split 0 is late.
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{0, 10}, {0, 30}, {0, 20}}, both), out).ok());
  EXPECT_TRUE(out.watermarks.empty());
  // Split 1 at 15: the watermark is min(30, 15) = 15 from its row on. Then split 0's 12 is late
  // (behind 15), split 1's 16 is not (ahead of the watermark although behind split 0's 30).
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{1, 15}, {0, 12}, {1, 16}, {1, 40}}, both), out).ok());
  EXPECT_EQ(out.Times(), (std::vector<int64_t>{10, 30, 20, 15, 16, 40}));
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{30}));  // after the batch: min(30, 40)
  // Split 0 ends: only split 1 counts.
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{1, 50}}, MakeLive({1})), out).ok());
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{30, 50}));
}

TEST(SplitWatermarkTest, AnIdleSplitStopsHoldingTheWatermarkBack) {
  constexpr int64_t kIdle = 200000;
  auto op = Generator(kIdle);
  Collect out;
  Live both = MakeLive({0, 1});
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{0, 100}}, both), out).ok());
  EXPECT_TRUE(out.watermarks.empty());  // split 1 holds it
  std::this_thread::sleep_for(std::chrono::microseconds(kIdle + 20000));
  // Split 1 has had no row for longer than idle_micros: split 0 alone decides.
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{0, 200}}, both), out).ok());
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{200}));
  // Split 1 comes back behind the watermark: its row is late, the watermark does not go back
  // (and split 1, active again, holds it at 200 until split 0 passes it).
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{1, 150}, {1, 250}}, both), out).ok());
  EXPECT_EQ(out.Times(), (std::vector<int64_t>{100, 200, 250}));
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{200}));
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{0, 260}, {1, 300}}, both), out).ok());
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{200, 260}));
  const int64_t after_split0 = Now().value;
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const int64_t before_split1 = Now().value;
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{1, 400}}, both), out).ok());
  EXPECT_EQ(out.watermarks.back(), 260);  // split 0 (at 260) holds it
  // A tick when split 0 has been idle for idle_micros but split 1 has not: split 1 decides.
  ASSERT_TRUE(op->OnTick(ProcessingTime{before_split1 + kIdle - 1}, out).ok());
  ASSERT_GE(before_split1 - after_split0, 1);
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{200, 260, 400}));
  // Every split idle: the watermark holds.
  ASSERT_TRUE(op->OnTick(ProcessingTime{Now().value + 10 * kIdle}, out).ok());
  EXPECT_EQ(out.watermarks.back(), 400);
}

TEST(SplitWatermarkTest, EachSplitsValueSurvivesARestore) {
  auto op = Generator(std::nullopt);
  Collect out;
  Live both = MakeLive({0, 1});
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{0, 100}, {1, 40}}, both), out).ok());
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{40}));
  runtime::TaskState state;
  runtime::StateWriter w(&state.pieces, 3);
  ASSERT_TRUE(op->Snapshot(1, w).ok());

  auto restored = Generator(std::nullopt);
  runtime::StateReader r(1, 3, 0, {&state});
  ASSERT_TRUE(restored->Restore(r).ok());
  Collect out2;
  // Split 1 moves ahead; split 0 has no new row but its 100 was restored: the watermark is 100,
  // and a row of split 0 at 90 is late.
  ASSERT_TRUE(restored->ProcessBatch(0, Rows({{1, 500}, {0, 90}}, both), out2).ok());
  EXPECT_EQ(out2.Times(), (std::vector<int64_t>{500}));
  EXPECT_EQ(out2.watermarks, (std::vector<int64_t>{100}));
}

TEST(SplitWatermarkTest, ARestoreAtAnotherParallelismStartsFromTheSmallestSplit) {
  // Two subtasks: split 0 at 100 in one, split 1 at 40 in the other.
  runtime::TaskState states[2];
  for (int i = 0; i < 2; ++i) {
    auto op = Generator(std::nullopt, 2);
    Collect out;
    ASSERT_TRUE(op->ProcessBatch(0, Rows({{i, i == 0 ? 100 : 40}}, MakeLive({i})), out).ok());
    runtime::StateWriter w(&states[i].pieces, 3);
    ASSERT_TRUE(op->Snapshot(1, w).ok());
  }
  // One subtask reads both now: subtask 0's watermark (100) would make split 1's 50 late.
  auto op = Generator(std::nullopt, 1);
  runtime::StateReader r(1, 3, 0, {&states[0], &states[1]});
  ASSERT_TRUE(op->Restore(r).ok());
  Collect out;
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{1, 50}, {0, 45}}, MakeLive({0, 1})), out).ok());
  EXPECT_EQ(out.Times(), (std::vector<int64_t>{50}));  // 45 is behind the watermark, 50
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{50}));
}

TEST(SplitWatermarkTest, ASubtaskWithoutABatchYetHoldsARestoreAtAnotherParallelismBack) {
  // Two subtasks: split 0 at 100 in one; the other has had no batch when the checkpoint is
  // taken, so it does not know its split 1 yet and nothing of split 1 has been read.
  runtime::TaskState states[2];
  {
    auto op = Generator(std::nullopt, 2);
    Collect out;
    ASSERT_TRUE(op->ProcessBatch(0, Rows({{0, 100}}, MakeLive({0})), out).ok());
    runtime::StateWriter w(&states[0].pieces, 3);
    ASSERT_TRUE(op->Snapshot(1, w).ok());
    auto idle = Generator(std::nullopt, 2);
    runtime::StateWriter w1(&states[1].pieces, 3);
    ASSERT_TRUE(idle->Snapshot(1, w1).ok());
  }
  // One subtask reads both now: split 1's rows from its start (10) are not late.
  auto op = Generator(std::nullopt, 1);
  runtime::StateReader r(1, 3, 0, {&states[0], &states[1]});
  ASSERT_TRUE(op->Restore(r).ok());
  Collect out;
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{1, 10}, {0, 120}}, MakeLive({0, 1})), out).ok());
  EXPECT_EQ(out.Times(), (std::vector<int64_t>{10, 120}));
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{10}));
}

TEST(SplitWatermarkTest, RestoredSplitsReachTheNextCheckpointBeforeTheFirstBatch) {
  // Split 0 at 100 and split 1 at 40, in two subtasks.
  runtime::TaskState states[2];
  for (int i = 0; i < 2; ++i) {
    auto op = Generator(std::nullopt, 2);
    Collect out;
    ASSERT_TRUE(op->ProcessBatch(0, Rows({{i, i == 0 ? 100 : 40}}, MakeLive({i})), out).ok());
    runtime::StateWriter w(&states[i].pieces, 3);
    ASSERT_TRUE(op->Snapshot(1, w).ok());
  }
  // Restored at parallelism 4; every subtask checkpoints before its first batch.
  runtime::TaskState next[4];
  std::vector<const runtime::TaskState*> next_ptrs;
  for (int i = 0; i < 4; ++i) {
    auto op = Generator(std::nullopt, 4);
    runtime::StateReader r(1, 3, i, {&states[0], &states[1]});
    ASSERT_TRUE(op->Restore(r).ok());
    runtime::StateWriter w(&next[i].pieces, 3);
    ASSERT_TRUE(op->Snapshot(2, w).ok());
    next_ptrs.push_back(&next[i]);
  }
  // Back at parallelism 2 from that checkpoint: split 0 still holds 100, so once split 1 moves
  // past it the watermark is 100 and split 0's row at 90 is late.
  auto op = Generator(std::nullopt, 2);
  runtime::StateReader r(2, 3, 0, next_ptrs);
  ASSERT_TRUE(op->Restore(r).ok());
  Collect out;
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{1, 500}, {0, 90}}, MakeLive({0, 1})), out).ok());
  EXPECT_EQ(out.Times(), (std::vector<int64_t>{500}));
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{100}));
}

}  // namespace
}  // namespace sluice::exec
