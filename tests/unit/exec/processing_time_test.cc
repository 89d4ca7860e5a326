// The processing-time watermark generator: rows are stamped with the wall clock, the watermark
// follows it (after batches and on ticks), never goes backwards, and survives a restore.

#include <gtest/gtest.h>

#include <memory>
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
  std::vector<BatchPtr> batches;
  std::vector<int64_t> watermarks;
};

// Two rows: (k BIGINT, p TIMESTAMP NULL), as the placeholder projection produces them.
BatchPtr TwoRows() {
  batch::ColumnBuilder k(types::Int64()), p(types::Timestamp());
  k.AppendFixed<int64_t>(1);
  k.AppendFixed<int64_t>(2);
  p.AppendNull();
  p.AppendNull();
  auto b = std::make_shared<Batch>();
  b->schema = std::make_shared<types::Schema>(
      std::vector<types::Field>{{"k", types::Int64(), true}, {"p", types::Timestamp(), true}});
  b->columns = {k.Finish(), p.Finish()};
  b->num_rows = 2;
  return b;
}

WatermarkGeneratorFactory Factory() {
  return WatermarkGeneratorFactory(1, expr::MakeColumn(1, types::Timestamp()), std::nullopt, false,
                                   /*processing_time=*/true);
}

TEST(ProcessingTimeTest, StampsRowsWithTheWallClockAndFollowsIt) {
  auto f = Factory();
  EXPECT_EQ(f.tick_interval_micros(), WatermarkGeneratorFactory::kTickMicros);
  EXPECT_FALSE(
      WatermarkGeneratorFactory(1, expr::MakeColumn(1, types::Timestamp()), std::nullopt, false)
          .tick_interval_micros());
  auto op = f.Create(0, 1).MoveValue();
  Collect out;
  const int64_t before = Now().value;
  ASSERT_TRUE(op->ProcessBatch(0, TwoRows(), out).ok());
  const int64_t after = Now().value;
  ASSERT_EQ(out.batches.size(), 1u);
  const auto& b = *out.batches[0];
  ASSERT_EQ(b.num_rows, 2);
  const int64_t stamp = b.columns[1]->raw<int64_t>()[0];
  EXPECT_GE(stamp, before);
  EXPECT_LE(stamp, after);
  EXPECT_EQ(b.columns[1]->raw<int64_t>()[1], stamp);
  EXPECT_FALSE(b.columns[1]->has_nulls());
  EXPECT_EQ(b.event_time->raw<int64_t>()[0], stamp);
  EXPECT_EQ(out.watermarks, std::vector<int64_t>{stamp});

  // Ticks advance the watermark with the clock, never backwards.
  ASSERT_TRUE(op->OnTick(ProcessingTime{stamp - 10}, out).ok());
  ASSERT_TRUE(op->OnTick(ProcessingTime{stamp + 500}, out).ok());
  EXPECT_EQ(out.watermarks, (std::vector<int64_t>{stamp, stamp + 500}));
  // The end of input.
  ASSERT_TRUE(op->ProcessWatermark(Watermark::Max(), out).ok());
  EXPECT_EQ(out.watermarks.back(), Watermark::Max().time.value);
}

TEST(ProcessingTimeTest, StampsNeverGoBelowTheRestoredWatermark) {
  auto f = Factory();
  auto first = f.Create(0, 1).MoveValue();
  Collect out;
  const int64_t future = Now().value + 3600LL * 1000000;  // the clock stepped back an hour
  ASSERT_TRUE(first->OnTick(ProcessingTime{future}, out).ok());
  runtime::TaskState state;
  state.checkpoint = 1;
  runtime::StateWriter w(&state.pieces, 7);
  ASSERT_TRUE(first->Snapshot(1, w).ok());

  auto restored = f.Create(0, 1).MoveValue();
  runtime::StateReader r(1, 7, 0, {&state});
  ASSERT_TRUE(restored->Restore(r).ok());
  Collect after;
  ASSERT_TRUE(restored->ProcessBatch(0, TwoRows(), after).ok());
  ASSERT_EQ(after.batches.size(), 1u);
  EXPECT_EQ(after.batches[0]->columns[1]->raw<int64_t>()[0], future) << "no row is late";
  EXPECT_TRUE(after.watermarks.empty()) << "the watermark did not advance";
}

}  // namespace
}  // namespace sluice::exec
