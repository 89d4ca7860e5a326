// The updating and interval join operators driven by hand: state expiry by updating_ttl and
// by the interval bounds, and an outer join's NULL-padded rows retracted when a match arrives
// and restored when it leaves. Expected changelogs are worked out by hand: "+I"/"-D" and the
// row (left k, left v, right k, right v).

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "batch/column_builder.h"
#include "exec/join.h"

namespace sluice::exec {
namespace {

using batch::Batch;
using batch::BatchPtr;
using batch::ChangeKind;
using batch::ColumnBuilder;
using types::Value;

using Changes = std::vector<std::string>;

class Collect : public runtime::Collector {
 public:
  Status Emit(const BatchPtr& b) override {
    for (int64_t i = 0; i < b->num_rows; ++i) {
      std::string row = "+I";
      if (b->change_kind &&
          static_cast<ChangeKind>(b->change_kind->raw<int8_t>()[i]) == ChangeKind::kDelete) {
        row = "-D";
      }
      for (size_t c = 0; c < b->columns.size(); ++c) {
        row += c == 0 ? " " : ",";
        row += b->columns[c]->GetValue(i).ToString();
      }
      rows.push_back(row);
    }
    return Status::Ok();
  }
  Status EmitWatermark(Watermark) override { return Status::Ok(); }
  Changes Take() {
    Changes out;
    out.swap(rows);
    std::sort(out.begin(), out.end());
    return out;
  }
  Changes rows;
};

types::SchemaPtr Schema() {
  return std::make_shared<types::Schema>(
      std::vector<types::Field>{{"k", types::Int64(), true}, {"v", types::Int64(), true}});
}

// One row (k, v) at event time t, of change kind `kind` (null: append-only).
BatchPtr Row(int64_t k, int64_t v, int64_t t, std::optional<ChangeKind> kind = std::nullopt) {
  ColumnBuilder kc(types::Int64()), vc(types::Int64()), et(types::Timestamp());
  kc.AppendFixed<int64_t>(k);
  vc.AppendFixed<int64_t>(v);
  et.AppendFixed<int64_t>(t);
  auto b = std::make_shared<Batch>();
  b->schema = Schema();
  b->columns = {kc.Finish(), vc.Finish()};
  b->event_time = et.Finish();
  b->num_rows = 1;
  if (kind) {
    b->change_kind = batch::Column::MakeConstant(
        Value::Int(types::DataType(types::TypeId::kInt8), static_cast<int64_t>(*kind)), 1);
  }
  return b;
}

JoinSpec Spec(JoinType type) {
  JoinSpec spec;
  spec.type = type;
  spec.left_schema = spec.right_schema = Schema();
  spec.left_keys = spec.right_keys = {0};
  std::vector<types::Field> f = Schema()->fields();
  f.push_back({"k2", types::Int64(), true});
  f.push_back({"v2", types::Int64(), true});
  spec.output_schema = std::make_shared<types::Schema>(f);
  return spec;
}

struct Driver {
  explicit Driver(const runtime::OperatorFactory& f) : op(f.Create(0, 1).MoveValue()) {
    EXPECT_TRUE(op->Open(ctx).ok());
  }
  Changes Left(BatchPtr b) { return Feed(0, std::move(b)); }
  Changes Right(BatchPtr b) { return Feed(1, std::move(b)); }
  Changes Feed(int input, BatchPtr b) {
    EXPECT_TRUE(op->ProcessBatch(input, b, out).ok());
    return out.Take();
  }
  void Watermark(int64_t t) { EXPECT_TRUE(op->ProcessWatermark({EventTime{t}}, out).ok()); }

  runtime::OperatorContext ctx;
  std::unique_ptr<runtime::Operator> op;
  Collect out;
};

constexpr int64_t kMinute = 60'000'000;

TEST(JoinTest, UpdatingJoinForgetsRowsAfterTheTtl) {
  auto f = HashJoinFactory::Updating(Spec(JoinType::kInner), kMinute);
  Driver d(*f);
  EXPECT_EQ(d.Left(Row(1, 10, 0)), Changes{});
  EXPECT_EQ(d.Right(Row(1, 20, 30'000'000)), (Changes{"+I 1,10,1,20"}));
  d.Watermark(kMinute + 1);  // the left row (time 0) is now older than the TTL
  EXPECT_EQ(d.Right(Row(1, 21, kMinute + 2)), Changes{}) << "the left row was forgotten";
  // The right rows are still kept: a new left row joins both.
  EXPECT_EQ(d.Left(Row(1, 11, kMinute + 3)), (Changes{"+I 1,11,1,20", "+I 1,11,1,21"}));
  // The end-of-input watermark forgets nothing.
  d.Watermark(std::numeric_limits<int64_t>::max());
  EXPECT_EQ(d.Right(Row(1, 22, kMinute + 4)), (Changes{"+I 1,11,1,22"}));
}

TEST(JoinTest, LeftJoinPadsRetractsAndRestores) {
  auto f = HashJoinFactory::Updating(Spec(JoinType::kLeft), kMinute);
  Driver d(*f);
  EXPECT_EQ(d.Left(Row(1, 10, 0, ChangeKind::kInsert)), (Changes{"+I 1,10,NULL,NULL"}));
  // The first match retracts the padded row.
  EXPECT_EQ(d.Right(Row(1, 20, 1, ChangeKind::kInsert)),
            (Changes{"+I 1,10,1,20", "-D 1,10,NULL,NULL"}));
  EXPECT_EQ(d.Right(Row(1, 21, 2, ChangeKind::kInsert)), (Changes{"+I 1,10,1,21"}));
  // Retracting one match keeps the row matched; retracting the last restores the padding.
  EXPECT_EQ(d.Right(Row(1, 20, 3, ChangeKind::kDelete)), (Changes{"-D 1,10,1,20"}));
  EXPECT_EQ(d.Right(Row(1, 21, 4, ChangeKind::kUpdateBefore)),
            (Changes{"+I 1,10,NULL,NULL", "-D 1,10,1,21"}));
  // Retracting the left row retracts its padded row; a retraction of an unknown row is a no-op.
  EXPECT_EQ(d.Left(Row(1, 10, 5, ChangeKind::kDelete)), (Changes{"-D 1,10,NULL,NULL"}));
  EXPECT_EQ(d.Left(Row(1, 99, 6, ChangeKind::kDelete)), Changes{});
}

// A semi, anti or mark join: the left row alone, its output schema left's (and the mark).
JoinSpec LeftAloneSpec(JoinType type) {
  JoinSpec spec = Spec(type);
  std::vector<types::Field> f = Schema()->fields();
  if (type == JoinType::kMark) f.push_back({"mark", types::Bool(), false});
  spec.output_schema = std::make_shared<types::Schema>(f);
  return spec;
}

TEST(JoinTest, SemiJoinEmitsEachMatchedLeftRowOnce) {
  auto f = HashJoinFactory::Updating(LeftAloneSpec(JoinType::kSemi), kMinute);
  Driver d(*f);
  EXPECT_EQ(d.Left(Row(1, 10, 0, ChangeKind::kInsert)), Changes{});
  EXPECT_EQ(d.Right(Row(1, 20, 1, ChangeKind::kInsert)), (Changes{"+I 1,10"}));
  // A second match changes nothing: the row is not multiplied.
  EXPECT_EQ(d.Right(Row(1, 21, 2, ChangeKind::kInsert)), Changes{});
  EXPECT_EQ(d.Left(Row(1, 11, 3, ChangeKind::kInsert)), (Changes{"+I 1,11"}));
  EXPECT_EQ(d.Right(Row(1, 20, 4, ChangeKind::kDelete)), Changes{});
  // The last match leaves: both left rows are retracted.
  EXPECT_EQ(d.Right(Row(1, 21, 5, ChangeKind::kDelete)), (Changes{"-D 1,10", "-D 1,11"}));
  EXPECT_EQ(d.Right(Row(1, 22, 6, ChangeKind::kInsert)), (Changes{"+I 1,10", "+I 1,11"}));
  EXPECT_EQ(d.Left(Row(1, 10, 7, ChangeKind::kDelete)), (Changes{"-D 1,10"}));
  EXPECT_EQ(d.Left(Row(2, 10, 8, ChangeKind::kInsert)), Changes{});
  EXPECT_EQ(d.Left(Row(2, 10, 9, ChangeKind::kDelete)), Changes{});
}

TEST(JoinTest, AntiJoinEmitsLeftRowsWithoutAMatch) {
  auto f = HashJoinFactory::Updating(LeftAloneSpec(JoinType::kAnti), kMinute);
  Driver d(*f);
  EXPECT_EQ(d.Left(Row(1, 10, 0, ChangeKind::kInsert)), (Changes{"+I 1,10"}));
  EXPECT_EQ(d.Right(Row(1, 20, 1, ChangeKind::kInsert)), (Changes{"-D 1,10"}));
  EXPECT_EQ(d.Right(Row(1, 21, 2, ChangeKind::kInsert)), Changes{});
  EXPECT_EQ(d.Left(Row(1, 11, 3, ChangeKind::kInsert)), Changes{});
  EXPECT_EQ(d.Right(Row(1, 20, 4, ChangeKind::kDelete)), Changes{});
  EXPECT_EQ(d.Right(Row(1, 21, 5, ChangeKind::kDelete)), (Changes{"+I 1,10", "+I 1,11"}));
  EXPECT_EQ(d.Left(Row(1, 11, 6, ChangeKind::kDelete)), (Changes{"-D 1,11"}));
  EXPECT_EQ(d.Right(Row(1, 22, 7, ChangeKind::kInsert)), (Changes{"-D 1,10"}));
  EXPECT_EQ(d.Left(Row(1, 10, 8, ChangeKind::kDelete)), Changes{});
}

TEST(JoinTest, MarkJoinEmitsEveryLeftRowWithItsMark) {
  auto f = HashJoinFactory::Updating(LeftAloneSpec(JoinType::kMark), kMinute);
  Driver d(*f);
  EXPECT_EQ(d.Left(Row(1, 10, 0, ChangeKind::kInsert)), (Changes{"+I 1,10,false"}));
  EXPECT_EQ(d.Right(Row(1, 20, 1, ChangeKind::kInsert)),
            (Changes{"+I 1,10,true", "-D 1,10,false"}));
  EXPECT_EQ(d.Right(Row(1, 21, 2, ChangeKind::kInsert)), Changes{});
  EXPECT_EQ(d.Left(Row(1, 11, 3, ChangeKind::kInsert)), (Changes{"+I 1,11,true"}));
  EXPECT_EQ(d.Left(Row(2, 12, 4, ChangeKind::kInsert)), (Changes{"+I 2,12,false"}));
  EXPECT_EQ(d.Right(Row(1, 20, 5, ChangeKind::kDelete)), Changes{});
  EXPECT_EQ(d.Right(Row(1, 21, 6, ChangeKind::kDelete)),
            (Changes{"+I 1,10,false", "+I 1,11,false", "-D 1,10,true", "-D 1,11,true"}));
  EXPECT_EQ(d.Left(Row(1, 10, 7, ChangeKind::kDelete)), (Changes{"-D 1,10,false"}));
  EXPECT_EQ(d.Left(Row(2, 12, 8, ChangeKind::kDelete)), (Changes{"-D 2,12,false"}));
}

TEST(JoinTest, IntervalJoinFreesRowsTheWatermarkHasPassed) {
  // right time - left time in [0, 10 s]
  auto f = HashJoinFactory::Interval(Spec(JoinType::kInner), 0, 10'000'000);
  Driver d(*f);
  EXPECT_EQ(d.Left(Row(1, 10, 0)), Changes{});
  // The interval itself is the residual's business; state is what the bounds free: once the
  // watermark passes 0 + 10 s, no right row can still match the left row.
  d.Watermark(10'000'001);
  EXPECT_EQ(d.Right(Row(1, 20, 10'000'002)), Changes{}) << "the left row was freed";
  EXPECT_EQ(d.Left(Row(1, 11, 10'000'002)), (Changes{"+I 1,11,1,20"}));
}

}  // namespace
}  // namespace sluice::exec
