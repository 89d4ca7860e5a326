// UpdatingAggregate over updating input: additions and retractions per group, keys deleted
// when their rows are all retracted, folding per flush, and the state TTL. Each test feeds
// batches and watermarks by hand and compares the changelog with one worked out by hand:
// "+I" insert, "-U"/"+U" update before/after, "-D" delete, then the row's values.

#include <gtest/gtest.h>

#include <algorithm>

#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "batch/column_builder.h"
#include "exec/updating_aggregate.h"
#include "expr/aggregate.h"

namespace sluice::exec {
namespace {

using batch::Batch;
using batch::BatchPtr;
using batch::ChangeKind;
using batch::ColumnBuilder;
using types::DataType;
using types::Value;

constexpr int64_t kFlushEveryBatch = 0;
constexpr int64_t kFlushAtEnd = std::numeric_limits<int64_t>::max() / 2;
constexpr int64_t kNoTtl = 0;

class CollectChanges : public runtime::Collector {
 public:
  Status Emit(const BatchPtr& b) override {
    EXPECT_TRUE(b->change_kind) << "the output is an updating stream";
    for (int64_t i = 0; i < b->num_rows; ++i) {
      std::string row;
      switch (static_cast<ChangeKind>(b->change_kind->raw<int8_t>()[i])) {
        case ChangeKind::kInsert:
          row = "+I";
          break;
        case ChangeKind::kDelete:
          row = "-D";
          break;
        case ChangeKind::kUpdateBefore:
          row = "-U";
          break;
        case ChangeKind::kUpdateAfter:
          row = "+U";
          break;
      }
      for (size_t c = 0; c < b->columns.size(); ++c) {
        row += c == 0 ? " " : ",";
        Value v = b->columns[c]->GetValue(i);
        row +=
            !v.is_null() && v.type().id() == types::TypeId::kUtf8 ? v.string_value() : v.ToString();
      }
      changes.push_back(row);
    }
    return Status::Ok();
  }
  Status EmitWatermark(Watermark wm) override {
    watermarks.push_back(wm.time.value);
    return Status::Ok();
  }
  // The changes since the last call, grouped by key (the operator's order across keys is not
  // part of its contract; the order of one key's changes is).
  std::vector<std::string> Take() {
    std::vector<std::string> out;
    out.swap(changes);
    auto key = [](const std::string& row) {
      size_t start = row.find(' ') + 1;
      return row.substr(start, row.find(',', start) - start);
    };
    if (keyed) {
      std::stable_sort(out.begin(), out.end(),
                       [&](const std::string& a, const std::string& b) { return key(a) < key(b); });
    }
    return out;
  }

  std::vector<std::string> changes;
  std::vector<int64_t> watermarks;
  bool keyed = true;  // rows start with their key
};

// Input rows: key k TEXT, value v BIGINT, filter f BOOLEAN; a change kind and an event time.
struct Row {
  ChangeKind kind;
  std::string k;
  std::optional<int64_t> v;
  int64_t time = 0;
  bool f = true;
};
Row Ins(std::string k, std::optional<int64_t> v, int64_t t = 0) {
  return {ChangeKind::kInsert, std::move(k), v, t};
}
Row Del(std::string k, std::optional<int64_t> v, int64_t t = 0) {
  return {ChangeKind::kDelete, std::move(k), v, t};
}
Row Before(std::string k, std::optional<int64_t> v, int64_t t = 0) {
  return {ChangeKind::kUpdateBefore, std::move(k), v, t};
}
Row After(std::string k, std::optional<int64_t> v, int64_t t = 0) {
  return {ChangeKind::kUpdateAfter, std::move(k), v, t};
}

types::SchemaPtr InputSchema() {
  static auto schema = std::make_shared<types::Schema>(std::vector<types::Field>{
      {"k", types::Utf8(), true}, {"v", types::Int64(), true}, {"f", types::Bool(), true}});
  return schema;
}

// `updating`: with a change-kind column (else an append-only batch of inserts).
BatchPtr MakeBatch(const std::vector<Row>& rows, bool updating = true) {
  ColumnBuilder k(types::Utf8()), v(types::Int64()), f(types::Bool()), t(types::Timestamp()),
      kinds(DataType(types::TypeId::kInt8));
  for (const Row& r : rows) {
    k.AppendValue(Value::String(r.k));
    v.AppendValue(r.v ? Value::Int64(*r.v) : Value::Null(types::Int64()));
    f.AppendValue(Value::Boolean(r.f));
    t.AppendFixed<int64_t>(r.time);
    kinds.AppendFixed<int8_t>(static_cast<int8_t>(r.kind));
  }
  auto b = std::make_shared<Batch>();
  b->schema = InputSchema();
  b->columns = {k.Finish(), v.Finish(), f.Finish()};
  b->event_time = t.Finish();
  if (updating) b->change_kind = kinds.Finish();
  b->num_rows = static_cast<int64_t>(rows.size());
  return b;
}

// An aggregate over column v (1), or count(*); optionally FILTER (WHERE f).
struct Agg {
  std::string name;
  bool star = false;
  bool filtered = false;
  bool distinct = false;
};

class Harness {
 public:
  Harness(std::vector<Agg> aggs, bool keyed = true, int64_t flush = kFlushEveryBatch,
          int64_t ttl = kNoTtl, bool retracting = true) {
    std::vector<types::Field> fields;
    std::vector<DataType> key_types;
    out_.keyed = keyed;
    if (keyed) {
      key_types.push_back(types::Utf8());
      fields.push_back({"k", types::Utf8(), true});
    }
    std::vector<AggregateCall> calls;
    for (const Agg& a : aggs) {
      expr::AggregateBindInput in;
      in.star = a.star;
      in.distinct = a.distinct;
      in.retracting = retracting;
      if (!a.star) {
        in.types = {types::Int64()};
        in.constants = {std::nullopt};
      }
      auto bound = expr::AggregateRegistry::Get().Bind(a.name, in);
      EXPECT_TRUE(bound.ok()) << bound.status().ToString();
      AggregateCall call;
      call.aggregate = *bound;
      if (!a.star) call.arg_columns = {1};
      call.filter_column = a.filtered ? 2 : -1;
      call.display = a.name;
      fields.push_back({a.name, bound->return_type, true});
      calls.push_back(std::move(call));
    }
    factory_ = std::make_unique<UpdatingAggregateFactory>(
        key_types, calls, std::make_shared<types::Schema>(fields), flush, ttl);
    auto op = factory_->Create(0, 1);
    EXPECT_TRUE(op.ok());
    op_ = std::move(*op);
    EXPECT_TRUE(op_->Open(ctx_).ok());
  }
  ~Harness() { EXPECT_TRUE(op_->Close().ok()); }

  // Feeds one batch and returns the changes it emitted.
  std::vector<std::string> Feed(const std::vector<Row>& rows, bool updating = true) {
    Status st = op_->ProcessBatch(0, MakeBatch(rows, updating), out_);
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out_.Take();
  }
  Status FeedStatus(const std::vector<Row>& rows) {
    return op_->ProcessBatch(0, MakeBatch(rows), out_);
  }
  std::vector<std::string> Watermark(int64_t t) {
    Status st = op_->ProcessWatermark(sluice::Watermark{EventTime{t}}, out_);
    EXPECT_TRUE(st.ok()) << st.ToString();
    EXPECT_EQ(out_.watermarks.back(), t) << "the watermark is forwarded";
    return out_.Take();
  }
  // The end of a finite input: the final watermark, then the end-of-input flush.
  std::vector<std::string> End() {
    EXPECT_TRUE(op_->ProcessWatermark(sluice::Watermark::Max(), out_).ok());
    EXPECT_TRUE(op_->OnEndOfInput(out_).ok());
    return out_.Take();
  }

 private:
  std::unique_ptr<UpdatingAggregateFactory> factory_;
  runtime::OperatorContext ctx_;
  std::unique_ptr<runtime::Operator> op_;
  CollectChanges out_;
};

using Changes = std::vector<std::string>;

const std::vector<Agg> kCountSum = {{"count", true}, {"sum"}};

TEST(UpdatingAggregateTest, AppendOnlyInputStillWorks) {
  Harness h(kCountSum);
  EXPECT_EQ(h.Feed({Ins("a", 1), Ins("b", 5), Ins("a", 2)}, false),
            (Changes{"+I a,2,3", "+I b,1,5"}));
  EXPECT_EQ(h.Feed({Ins("a", 4)}, false), (Changes{"-U a,2,3", "+U a,3,7"}));
  EXPECT_EQ(h.End(), Changes{});
}

TEST(UpdatingAggregateTest, CountBackToZeroDeletesTheKey) {
  Harness h(kCountSum);
  EXPECT_EQ(h.Feed({Ins("a", 1), Ins("a", 2), Ins("b", 5)}), (Changes{"+I a,2,3", "+I b,1,5"}));
  EXPECT_EQ(h.Feed({Del("a", 1)}), (Changes{"-U a,2,3", "+U a,1,2"}));
  EXPECT_EQ(h.Feed({Del("a", 2)}), (Changes{"-D a,1,2"}));
  // The key comes back: an insert, computed from its new rows only.
  EXPECT_EQ(h.Feed({Ins("a", 7)}), (Changes{"+I a,1,7"}));
  // Its rows' values do not matter for the count: retracting a NULL row.
  EXPECT_EQ(h.Feed({Ins("c", std::nullopt)}), (Changes{"+I c,1,NULL"}));
  EXPECT_EQ(h.Feed({Del("c", std::nullopt)}), (Changes{"-D c,1,NULL"}));
  EXPECT_EQ(h.End(), Changes{});
}

TEST(UpdatingAggregateTest, SumAndAvgRetractNulls) {
  Harness h({{"sum"}, {"avg"}, {"count"}});
  EXPECT_EQ(h.Feed({Ins("a", 4), Ins("a", std::nullopt), Ins("a", 8)}), (Changes{"+I a,12,6,2"}));
  EXPECT_EQ(h.Feed({Del("a", std::nullopt)}), Changes{}) << "same result: nothing to emit";
  EXPECT_EQ(h.Feed({Del("a", 8), Ins("a", std::nullopt)}), (Changes{"-U a,12,6,2", "+U a,4,4,1"}));
  EXPECT_EQ(h.Feed({Del("a", 4)}), (Changes{"-U a,4,4,1", "+U a,NULL,NULL,0"}))
      << "one NULL row left: the key stays";
  EXPECT_EQ(h.Feed({Del("a", std::nullopt)}), (Changes{"-D a,NULL,NULL,0"}));
}

TEST(UpdatingAggregateTest, MinMaxAfterRetractingTheExtreme) {
  Harness h({{"min"}, {"max"}});
  EXPECT_EQ(h.Feed({Ins("a", 5), Ins("a", 9), Ins("a", 9), Ins("a", 1)}), (Changes{"+I a,1,9"}));
  EXPECT_EQ(h.Feed({Before("a", 9), After("a", 6)}), Changes{}) << "another 9 is left";
  EXPECT_EQ(h.Feed({Del("a", 9)}), (Changes{"-U a,1,9", "+U a,1,6"}));
  EXPECT_EQ(h.Feed({Before("a", 1), After("a", 2)}), (Changes{"-U a,1,6", "+U a,2,6"}));
  EXPECT_EQ(h.Feed({Del("a", 2), Del("a", 6)}), (Changes{"-U a,2,6", "+U a,5,5"}));
}

TEST(UpdatingAggregateTest, CountDistinctWithDuplicates) {
  Harness h({{"count", false, false, true}});
  EXPECT_EQ(h.Feed({Ins("a", 1), Ins("a", 1), Ins("a", 2)}), (Changes{"+I a,2"}));
  EXPECT_EQ(h.Feed({Del("a", 1)}), Changes{});
  EXPECT_EQ(h.Feed({Del("a", 1)}), (Changes{"-U a,2", "+U a,1"}));
  EXPECT_EQ(h.Feed({Del("a", 2)}), (Changes{"-D a,1"}));
}

TEST(UpdatingAggregateTest, RowMovesBetweenKeys) {
  Harness h(kCountSum);
  EXPECT_EQ(h.Feed({Ins("a", 5), Ins("a", 1)}), (Changes{"+I a,2,6"}));
  // The row (a, 5) becomes (b, 5): retracted from a, added to b.
  EXPECT_EQ(h.Feed({Before("a", 5), After("b", 5)}), (Changes{"-U a,2,6", "+U a,1,1", "+I b,1,5"}));
  // And (a, 1) becomes (b, 1): a disappears.
  EXPECT_EQ(h.Feed({Before("a", 1), After("b", 1)}), (Changes{"-D a,1,1", "-U b,1,5", "+U b,2,6"}));
}

TEST(UpdatingAggregateTest, RetractionsOfUnknownRowsAreDropped) {
  Harness h(kCountSum);
  // A key never seen: nothing happens, and no group is left behind.
  EXPECT_EQ(h.Feed({Del("z", 1)}), Changes{});
  // In row order: the retraction comes before the insert of its key, so it is dropped.
  EXPECT_EQ(h.Feed({Del("y", 1), Ins("y", 1)}), (Changes{"+I y,1,1"}));
  // The count cannot go below 0: the second retraction of one row is dropped.
  EXPECT_EQ(h.Feed({Del("y", 1), Del("y", 1), Ins("y", 3)}), (Changes{"-U y,1,1", "+U y,1,3"}));
  EXPECT_EQ(h.End(), Changes{});
}

TEST(UpdatingAggregateTest, FilterDoesNotDecideWhetherTheKeyExists) {
  // count(*) FILTER (WHERE f): rows with f = false still make the key exist.
  Harness h({{"count", true, true}, {"sum", false, true}});
  Row hidden = Ins("a", 3);
  hidden.f = false;
  EXPECT_EQ(h.Feed({hidden}), (Changes{"+I a,0,NULL"}));
  EXPECT_EQ(h.Feed({Ins("a", 4)}), (Changes{"-U a,0,NULL", "+U a,1,4"}));
  EXPECT_EQ(h.Feed({Del("a", 4)}), (Changes{"-U a,1,4", "+U a,0,NULL"}));
  Row gone = Del("a", 3);
  gone.f = false;
  EXPECT_EQ(h.Feed({gone}), (Changes{"-D a,0,NULL"}));
}

TEST(UpdatingAggregateTest, GlobalAggregateKeepsItsRow) {
  Harness h(kCountSum, /*keyed=*/false);
  EXPECT_EQ(h.Watermark(10), Changes{}) << "nothing before the first row";
  EXPECT_EQ(h.Feed({Del("a", 1)}), Changes{}) << "nothing to retract yet";
  EXPECT_EQ(h.Feed({Ins("a", 1), Ins("b", 4)}), (Changes{"+I 2,5"}));
  EXPECT_EQ(h.Feed({Del("a", 1), Del("b", 4)}), (Changes{"-U 2,5", "+U 0,NULL"}));
  EXPECT_EQ(h.Feed({Ins("c", 2)}), (Changes{"-U 0,NULL", "+U 1,2"}));
  EXPECT_EQ(h.End(), Changes{});
}

TEST(UpdatingAggregateTest, FoldsChangesPerFlush) {
  Harness h(kCountSum, true, kFlushAtEnd);
  // Inserted, deleted and inserted again before a flush: one insert.
  EXPECT_EQ(h.Feed({Ins("a", 1)}), Changes{});
  EXPECT_EQ(h.Feed({Del("a", 1)}), Changes{});
  EXPECT_EQ(h.Feed({Ins("a", 2), Ins("b", 1), Del("b", 1)}), Changes{});
  EXPECT_EQ(h.End(), (Changes{"+I a,1,2"})) << "b came and went between flushes";
}

TEST(UpdatingAggregateTest, DeletedAndReAddedWithinAFlushIsAnUpdate) {
  Harness h({{"count", true}, {"max"}});
  EXPECT_EQ(h.Feed({Ins("a", 1)}), (Changes{"+I a,1,1"}));
  // Count 1 → 0 → 1 within one batch; the state is what the new row makes it.
  EXPECT_EQ(h.Feed({Del("a", 1), Ins("a", 8)}), (Changes{"-U a,1,1", "+U a,1,8"}));
  // Changed and changed back: nothing.
  EXPECT_EQ(h.Feed({Del("a", 8), Ins("a", 8)}), Changes{});
}

TEST(UpdatingAggregateTest, ForgottenGroupsAreReusedClean) {
  Harness h({{"max"}, {"count", false, false, true}});
  EXPECT_EQ(h.Feed({Ins("a", 100), Ins("a", 50)}), (Changes{"+I a,100,2"}));
  EXPECT_EQ(h.Feed({Del("a", 100), Del("a", 50)}), (Changes{"-D a,100,2"}));
  // b takes a's freed group index: it must not see a's values.
  EXPECT_EQ(h.Feed({Ins("b", 3)}), (Changes{"+I b,3,1"}));
  EXPECT_EQ(h.Feed({Ins("a", 1)}), (Changes{"+I a,1,1"}));
}

TEST(UpdatingAggregateTest, RefusesAggregatesThatCannotRetract) {
  // Bound without `retracting`, max keeps a single value per group.
  Harness h({{"max"}}, true, kFlushEveryBatch, kNoTtl, /*retracting=*/false);
  EXPECT_EQ(h.Feed({Ins("a", 1)}, false), (Changes{"+I a,1"}));
  Status st = h.FeedStatus({Del("a", 1)});
  EXPECT_EQ(st.kind(), ErrorKind::kNotSupported);
  EXPECT_NE(st.message().find("max() cannot be computed over an updating input"), std::string::npos)
      << st.message();
}

TEST(UpdatingAggregateTest, TtlExpiresIdleKeys) {
  Harness h(kCountSum, true, kFlushEveryBatch, /*ttl=*/10);
  EXPECT_EQ(h.Feed({Ins("a", 1, 100), Ins("b", 2, 105)}), (Changes{"+I a,1,1", "+I b,1,2"}));
  EXPECT_EQ(h.Watermark(110), Changes{}) << "a changed at 100, not before 110 - 10";
  EXPECT_EQ(h.Watermark(111), (Changes{"-D a,1,1"}));
  // A retraction for the expired key finds nothing; the key's next row is an insert.
  EXPECT_EQ(h.Feed({Del("a", 1, 111)}), Changes{});
  EXPECT_EQ(h.Feed({Ins("a", 7, 112)}), (Changes{"+I a,1,7"}));
  // b changes at 115 (a retraction counts as a change): its expiry moves to 125.
  EXPECT_EQ(h.Feed({Ins("b", 3, 113), Del("b", 3, 115)}), Changes{});
  EXPECT_EQ(h.Watermark(120), Changes{});
  EXPECT_EQ(h.Watermark(123), (Changes{"-D a,1,7"}));
  EXPECT_EQ(h.Watermark(126), (Changes{"-D b,1,2"}));
  EXPECT_EQ(h.End(), Changes{});
}

TEST(UpdatingAggregateTest, TtlUsesTheLatestEventTimeNotTheLastRow) {
  Harness h(kCountSum, true, kFlushEveryBatch, /*ttl=*/10);
  // A late row (time 50) after one at 100 does not move the key's expiry back.
  EXPECT_EQ(h.Feed({Ins("a", 1, 100), Ins("a", 1, 50)}), (Changes{"+I a,2,2"}));
  EXPECT_EQ(h.Watermark(105), Changes{});
  EXPECT_EQ(h.Watermark(110), Changes{});
  EXPECT_EQ(h.Watermark(111), (Changes{"-D a,2,2"}));
}

TEST(UpdatingAggregateTest, TtlFlushesPendingChangesFirst) {
  Harness h(kCountSum, true, kFlushAtEnd, /*ttl=*/10);
  EXPECT_EQ(h.Feed({Ins("a", 1, 100), Ins("b", 1, 100), Ins("c", 1, 200)}), Changes{});
  // a and b expire before they were ever emitted: nothing to delete; an expiry flushes the
  // pending changes, so c's insert goes out.
  EXPECT_EQ(h.Watermark(150), (Changes{"+I c,1,1"}));
  EXPECT_EQ(h.Feed({Ins("a", 2, 205)}), Changes{});
  // c expires; a (a new key again) is flushed before c's delete.
  EXPECT_EQ(h.Watermark(212), (Changes{"+I a,1,2", "-D c,1,1"}));
  // A pending change of a key that expires folds into its delete.
  EXPECT_EQ(h.Feed({Ins("a", 5, 206)}), Changes{});
  EXPECT_EQ(h.Watermark(220), (Changes{"-D a,1,2"}));
  EXPECT_EQ(h.End(), Changes{});
}

TEST(UpdatingAggregateTest, FinalWatermarkDoesNotExpire) {
  Harness h(kCountSum, true, kFlushEveryBatch, /*ttl=*/10);
  EXPECT_EQ(h.Feed({Ins("a", 1, 100)}), (Changes{"+I a,1,1"}));
  EXPECT_EQ(h.End(), Changes{}) << "the end of input keeps every key";
}

TEST(UpdatingAggregateTest, GlobalAggregateNeverExpires) {
  Harness h(kCountSum, false, kFlushEveryBatch, /*ttl=*/10);
  EXPECT_EQ(h.Feed({Ins("a", 1, 100)}), (Changes{"+I 1,1"}));
  EXPECT_EQ(h.Watermark(1000), Changes{});
  EXPECT_EQ(h.End(), Changes{});
}

TEST(UpdatingAggregateTest, ManyKeysExpireAndReturn) {
  Harness h({{"count", true}}, true, kFlushAtEnd, /*ttl=*/100);
  std::vector<Row> rows;
  for (int i = 0; i < 5000; ++i) rows.push_back(Ins("k" + std::to_string(i), i, i));
  h.Feed(rows);
  // Keys k0..k4899 changed before 5000 - 100 = 4900; k4900..k4999 stay.
  Changes changes = h.Watermark(5000);
  EXPECT_EQ(changes.size(), 100u) << "the expired keys were never emitted; the rest insert";
  EXPECT_EQ(changes.front(), "+I k4900,1");
  // They come back as new keys, reusing the freed groups.
  rows.clear();
  for (int i = 0; i < 5000; ++i) rows.push_back(Ins("k" + std::to_string(i), i, 6000));
  h.Feed(rows);
  changes = h.End();
  EXPECT_EQ(changes.size(), 4900u + 2 * 100u);
}

}  // namespace
}  // namespace sluice::exec
