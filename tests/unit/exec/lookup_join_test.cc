// The lookup join operator driven by hand: probe rows wait (and the watermark is held) until
// every side sender has marked the side table's end; then each probe row is joined with the
// side rows of its key exactly once, keeping its own event time. LEFT pads unmatched rows,
// NULL keys never match, and a snapshot taken before the side is complete restores into
// subtasks at another parallelism. Expected rows are worked out by hand: (k, v, k2, v2) @time.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "batch/column_builder.h"
#include "exec/lookup_join.h"

namespace sluice::exec {
namespace {

using batch::Batch;
using batch::BatchPtr;
using batch::ColumnBuilder;

using Rows = std::vector<std::string>;

class Collect : public runtime::Collector {
 public:
  Status Emit(const BatchPtr& b) override {
    EXPECT_EQ(b->change_kind, nullptr) << "append-only output";
    for (int64_t i = 0; i < b->num_rows; ++i) {
      std::string row;
      for (size_t c = 0; c < b->columns.size(); ++c) {
        row += c == 0 ? "" : ",";
        row += b->columns[c]->GetValue(i).ToString();
      }
      row += "@" + std::to_string(b->event_time->raw<int64_t>()[i]);
      rows.push_back(row);
    }
    return Status::Ok();
  }
  Status EmitWatermark(Watermark wm) override {
    watermarks.push_back(wm.time.value);
    return Status::Ok();
  }
  Rows Take() {
    Rows out;
    out.swap(rows);
    std::sort(out.begin(), out.end());
    return out;
  }
  Rows rows;
  std::vector<int64_t> watermarks;
};

types::SchemaPtr Schema() {
  return std::make_shared<types::Schema>(
      std::vector<types::Field>{{"k", types::Int64(), true}, {"v", types::Int64(), true}});
}

// Rows (k, v) at event time t; k = nullopt is NULL.
BatchPtr Rows2(const std::vector<std::pair<std::optional<int64_t>, int64_t>>& rows, int64_t t) {
  ColumnBuilder kc(types::Int64()), vc(types::Int64()), et(types::Timestamp());
  for (const auto& [k, v] : rows) {
    if (k) {
      kc.AppendFixed<int64_t>(*k);
    } else {
      kc.AppendNull();
    }
    vc.AppendFixed<int64_t>(v);
    et.AppendFixed<int64_t>(t);
  }
  auto b = std::make_shared<Batch>();
  b->schema = Schema();
  b->columns = {kc.Finish(), vc.Finish()};
  b->event_time = et.Finish();
  b->num_rows = static_cast<int64_t>(rows.size());
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

// A side sender: its rows through the end marker, and the marker at its end.
class Side : public runtime::Collector {
 public:
  std::vector<BatchPtr> Send(BatchPtr b) {
    EXPECT_TRUE(op_->ProcessBatch(0, b, *this).ok());
    return Drain();
  }
  std::vector<BatchPtr> End() {
    EXPECT_TRUE(op_->OnEndOfInput(*this).ok());
    return Drain();
  }
  Status Emit(const BatchPtr& b) override {
    batches_.push_back(b);
    return Status::Ok();
  }
  Status EmitWatermark(Watermark) override { return Status::Ok(); }

 private:
  std::vector<BatchPtr> Drain() {
    std::vector<BatchPtr> out;
    out.swap(batches_);
    return out;
  }
  LookupSideEndFactory factory_{Schema()};
  std::unique_ptr<runtime::Operator> op_ = factory_.Create(0, 1).MoveValue();
  std::vector<BatchPtr> batches_;
};

struct Driver {
  Driver(const runtime::OperatorFactory& f, int subtask = 0, int parallelism = 1)
      : op(f.Create(subtask, parallelism).MoveValue()) {
    EXPECT_TRUE(op->Open(ctx).ok());
  }
  Rows Probe(BatchPtr b) {
    EXPECT_TRUE(op->ProcessBatch(0, b, out).ok());
    return out.Take();
  }
  Rows Side(const std::vector<BatchPtr>& batches) {
    for (const auto& b : batches) EXPECT_TRUE(op->ProcessBatch(1, b, out).ok());
    return out.Take();
  }
  void Watermark(int64_t t) { EXPECT_TRUE(op->ProcessWatermark({EventTime{t}}, out).ok()); }

  runtime::OperatorContext ctx;
  std::unique_ptr<runtime::Operator> op;
  Collect out;
};

TEST(LookupJoinTest, ProbeRowsWaitForEverySideSender) {
  LookupJoinFactory f(Spec(JoinType::kInner), 2);
  Driver d(f);
  Side a, b;
  EXPECT_EQ(d.Probe(Rows2({{1, 10}, {2, 20}}, 100)), Rows{});
  d.Watermark(90);
  EXPECT_TRUE(d.out.watermarks.empty()) << "held while the side table is incomplete";
  EXPECT_EQ(d.Side(a.Send(Rows2({{1, 100}, {1, 101}}, 5))), Rows{});
  EXPECT_EQ(d.Side(a.End()), Rows{}) << "one of two senders ended";
  EXPECT_EQ(d.Side(b.Send(Rows2({{2, 200}, {3, 300}}, 7))), Rows{});
  // The second marker completes the table: the waiting rows are joined, with their own times,
  // then the held watermark goes on.
  EXPECT_EQ(d.Side(b.End()), (Rows{"1,10,1,100@100", "1,10,1,101@100", "2,20,2,200@100"}));
  EXPECT_EQ(d.out.watermarks, std::vector<int64_t>{90});
  // From now on rows are joined as they arrive; duplicate keys on both sides give every pair.
  EXPECT_EQ(d.Probe(Rows2({{1, 11}, {1, 12}, {4, 40}}, 300)),
            (Rows{"1,11,1,100@300", "1,11,1,101@300", "1,12,1,100@300", "1,12,1,101@300"}));
  d.Watermark(250);
  EXPECT_EQ(d.out.watermarks, (std::vector<int64_t>{90, 250}));
}

TEST(LookupJoinTest, LeftJoinPadsUnmatchedAndNullKeysNeverMatch) {
  LookupJoinFactory f(Spec(JoinType::kLeft), 1);
  Driver d(f);
  Side s;
  EXPECT_EQ(d.Side(s.Send(Rows2({{1, 100}, {std::nullopt, 999}}, 0))), Rows{});
  EXPECT_EQ(d.Side(s.End()), Rows{});
  EXPECT_EQ(d.Probe(Rows2({{1, 10}, {std::nullopt, 20}, {5, 30}}, 8)),
            (Rows{"1,10,1,100@8", "5,30,NULL,NULL@8", "NULL,20,NULL,NULL@8"}));
}

TEST(LookupJoinTest, EndOfInputCompletesTheTable) {
  LookupJoinFactory f(Spec(JoinType::kInner), 3);
  Driver d(f);
  Side s;
  EXPECT_EQ(d.Side(s.Send(Rows2({{1, 100}}, 0))), Rows{});
  EXPECT_EQ(d.Probe(Rows2({{1, 10}}, 8)), Rows{});
  EXPECT_TRUE(d.op->OnEndOfInput(d.out).ok());
  EXPECT_EQ(d.out.Take(), (Rows{"1,10,1,100@8"}));
}

// Snapshot before the side is complete: the partial table (subtask 0's) and each subtask's
// waiting probe rows restore into two subtasks; the side is then read on (each sender marks
// its end again) and every waiting row is joined exactly once.
TEST(LookupJoinTest, RestoresAtAnotherParallelism) {
  LookupJoinFactory f(Spec(JoinType::kInner), 1);
  Driver d(f);
  Side s;
  EXPECT_EQ(d.Side(s.Send(Rows2({{1, 100}, {2, 200}}, 0))), Rows{});
  EXPECT_EQ(d.Probe(Rows2({{1, 10}, {2, 20}, {3, 30}, {4, 40}}, 8)), Rows{});
  runtime::TaskState state;
  {
    runtime::StateWriter w(&state.pieces, 7);
    ASSERT_TRUE(d.op->Snapshot(1, w).ok());
  }
  std::vector<const runtime::TaskState*> previous{&state};
  Rows all;
  for (int sub = 0; sub < 2; ++sub) {
    Driver r(f, sub, 2);
    runtime::StateReader reader(1, 7, sub, previous);
    ASSERT_TRUE(r.op->Restore(reader).ok());
    Side again;
    EXPECT_EQ(r.Side(again.Send(Rows2({{3, 300}}, 0))), Rows{});
    for (const auto& row : r.Side(again.End())) all.push_back(row);
  }
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (Rows{"1,10,1,100@8", "2,20,2,200@8", "3,30,3,300@8"}));
}

}  // namespace
}  // namespace sluice::exec
