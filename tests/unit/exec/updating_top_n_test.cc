// UpdatingTopN: the changelog of a top-N over a whole stream, worked out by hand ("+I" insert,
// "-U"/"+U" update before/after, "-D" delete, then the row's values and its rank), and the
// table it describes checked against a brute-force top N on many rows (which also makes the
// operator compact its kept rows).

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "batch/column_builder.h"
#include "exec/updating_top_n.h"

namespace sluice::exec {
namespace {

using batch::Batch;
using batch::BatchPtr;
using batch::ChangeKind;
using batch::ColumnBuilder;

class Changes : public runtime::Collector {
 public:
  Status Emit(const BatchPtr& b) override {
    EXPECT_TRUE(b->change_kind) << "the output is an updating stream";
    EXPECT_EQ(b->columns.size(), 4u);
    for (int64_t i = 0; i < b->num_rows; ++i) {
      static const char* kNames[] = {"+I", "-D", "-U", "+U"};
      std::string row = kNames[b->change_kind->raw<int8_t>()[i] & 3];
      for (size_t c = 0; c < b->columns.size(); ++c) {
        row += (c == 0 ? " " : ",") + b->columns[c]->GetValue(i).ToString();
      }
      rows.push_back(row);
    }
    return Status::Ok();
  }
  Status EmitWatermark(Watermark) override { return Status::Ok(); }
  std::vector<std::string> Take() {
    std::vector<std::string> out;
    out.swap(rows);
    return out;
  }
  std::vector<std::string> rows;
};

// Input: k, v, id (BIGINT; the event time is the id); the output adds the rank.
types::SchemaPtr OutputSchema() {
  static auto schema =
      std::make_shared<types::Schema>(std::vector<types::Field>{{"k", types::Int64(), true},
                                                                {"v", types::Int64(), true},
                                                                {"id", types::Int64(), true},
                                                                {"rank", types::Int64(), true}});
  return schema;
}

BatchPtr Rows(const std::vector<std::array<int64_t, 3>>& rows) {
  ColumnBuilder k(types::Int64()), v(types::Int64()), id(types::Int64()), t(types::Timestamp());
  for (const auto& r : rows) {
    k.AppendFixed<int64_t>(r[0]);
    v.AppendFixed<int64_t>(r[1]);
    id.AppendFixed<int64_t>(r[2]);
    t.AppendFixed<int64_t>(r[2]);
  }
  auto b = std::make_shared<Batch>();
  auto fields = OutputSchema()->fields();
  fields.pop_back();
  b->schema = std::make_shared<types::Schema>(fields);
  b->columns = {k.Finish(), v.Finish(), id.Finish()};
  b->event_time = t.Finish();
  b->num_rows = static_cast<int64_t>(rows.size());
  return b;
}

// The same rows as changes of an updating stream.
BatchPtr ChangeRows(const std::vector<std::array<int64_t, 3>>& rows,
                    const std::vector<ChangeKind>& kinds) {
  ColumnBuilder k(types::DataType(types::TypeId::kInt8));
  for (ChangeKind c : kinds) k.AppendFixed<int8_t>(static_cast<int8_t>(c));
  auto b = std::make_shared<Batch>(*Rows(rows));
  b->change_kind = k.Finish();
  return b;
}

// Top `limit` of each k by v descending.
std::unique_ptr<runtime::Operator> Make(int64_t limit, bool emit_rank, bool retracting = false) {
  TopNSpec spec;
  spec.function = RankFunction::kRowNumber;
  spec.partition = {0};
  spec.window_end = -1;
  spec.order = {{1, true, true}};
  spec.limit = limit;
  spec.output_schema = OutputSchema();
  UpdatingTopNFactory f(spec, emit_rank, retracting);
  return f.Create(0, 1).MoveValue();
}

using Strings = std::vector<std::string>;

TEST(UpdatingTopNTest, RankChangesAreUpdatesOfTheirRank) {
  auto op = Make(2, true);
  Changes out;
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{1, 10, 1}}), out).ok());
  EXPECT_EQ(out.Take(), (Strings{"+I 1,10,1,1"}));
  // A better row pushes id 1 down to rank 2.
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{1, 30, 2}}), out).ok());
  EXPECT_EQ(out.Take(), (Strings{"-U 1,10,1,1", "+U 1,30,2,1", "+I 1,10,1,2"}));
  // A row between them pushes id 1 out; a worse one and an equal one change nothing.
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{1, 20, 3}, {1, 5, 4}, {1, 20, 5}}), out).ok());
  EXPECT_EQ(out.Take(), (Strings{"-U 1,10,1,2", "+U 1,20,3,2"}));
  // Within one batch: id 6 enters and is pushed out again by 7 and 8; only the end shows.
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{1, 25, 6}, {2, 1, 9}, {1, 40, 7}, {1, 35, 8}}), out).ok());
  EXPECT_EQ(out.Take(),
            (Strings{"-U 1,30,2,1", "+U 1,40,7,1", "-U 1,20,3,2", "+U 1,35,8,2", "+I 2,1,9,1"}));
  ASSERT_TRUE(op->OnEndOfInput(out).ok());
  EXPECT_TRUE(out.Take().empty());
}

TEST(UpdatingTopNTest, WithoutTheRankOnlyMembershipChanges) {
  auto op = Make(2, false);
  Changes out;
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{1, 10, 1}, {1, 30, 2}}), out).ok());
  EXPECT_EQ(out.Take(), (Strings{"+I 1,30,2,1", "+I 1,10,1,2"}));
  // id 3 moves in above id 2 (which moves to rank 2: not a change) and pushes id 1 out.
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{1, 50, 3}}), out).ok());
  EXPECT_EQ(out.Take(), (Strings{"-D 1,10,1,2", "+I 1,50,3,1"}));
  // Ties: an equal row ranks after the kept one, so it does not enter a full top 2.
  ASSERT_TRUE(op->ProcessBatch(0, Rows({{1, 30, 4}}), out).ok());
  EXPECT_TRUE(out.Take().empty());
}

TEST(UpdatingTopNTest, RetractionsRefillTheTopN) {
  auto op = Make(2, true, /*retracting=*/true);
  Changes out;
  using K = ChangeKind;
  ASSERT_TRUE(op->ProcessBatch(0,
                               ChangeRows({{1, 10, 1}, {1, 30, 2}, {1, 20, 3}, {1, 20, 4}},
                                          {K::kInsert, K::kInsert, K::kInsert, K::kInsert}),
                               out)
                  .ok());
  EXPECT_EQ(out.Take(), (Strings{"+I 1,30,2,1", "+I 1,20,3,2"}));
  // Deleting the best row moves id 3 up and brings back id 4 (kept beyond the top 2).
  ASSERT_TRUE(op->ProcessBatch(0, ChangeRows({{1, 30, 2}}, {K::kDelete}), out).ok());
  EXPECT_EQ(out.Take(), (Strings{"-U 1,30,2,1", "+U 1,20,3,1", "-U 1,20,3,2", "+U 1,20,4,2"}));
  // An update of id 3 to 5 (old row, new row); a retraction of a row never seen is dropped.
  ASSERT_TRUE(op->ProcessBatch(0,
                               ChangeRows({{1, 20, 3}, {1, 5, 3}, {1, 99, 9}},
                                          {K::kUpdateBefore, K::kUpdateAfter, K::kDelete}),
                               out)
                  .ok());
  EXPECT_EQ(out.Take(), (Strings{"-U 1,20,3,1", "+U 1,20,4,1", "-U 1,20,4,2", "+U 1,10,1,2"}));
  // Emptying the key deletes its ranks.
  ASSERT_TRUE(op->ProcessBatch(0,
                               ChangeRows({{1, 10, 1}, {1, 20, 4}, {1, 5, 3}},
                                          {K::kDelete, K::kDelete, K::kDelete}),
                               out)
                  .ok());
  EXPECT_EQ(out.Take(), (Strings{"-D 1,20,4,1", "-D 1,10,1,2"}));
}

// Feeds `batches` and checks the table the changelog describes against a brute-force top N.
void ExpectTopN(const std::vector<std::vector<std::array<int64_t, 3>>>& batches, int64_t limit) {
  for (bool emit_rank : {true, false}) {
    auto op = Make(limit, emit_rank);
    Changes out;
    std::map<int64_t, std::vector<std::pair<int64_t, int64_t>>> all;  // k -> (v, id)
    for (const auto& rows : batches) {
      for (const auto& r : rows) all[r[0]].push_back({r[1], r[2]});
      ASSERT_TRUE(op->ProcessBatch(0, Rows(rows), out).ok());
    }
    // Apply the changelog (without the rank column when it is not emitted).
    std::multiset<std::string> table;
    for (const auto& r : out.rows) {
      std::string row = r.substr(3);
      if (!emit_rank) row = row.substr(0, row.rfind(','));
      if (r[0] == '+') {
        table.insert(row);
      } else {
        auto it = table.find(row);
        ASSERT_NE(it, table.end()) << "retracting a row not in the table: " << r;
        table.erase(it);
      }
    }
    std::multiset<std::string> expected;
    for (auto& [k, rows] : all) {
      // v descending, ties in arrival (id) order.
      std::stable_sort(rows.begin(), rows.end(),
                       [](const auto& a, const auto& b) { return a.first > b.first; });
      for (size_t r = 0; r < static_cast<size_t>(limit) && r < rows.size(); ++r) {
        std::string row = std::to_string(k) + "," + std::to_string(rows[r].first) + "," +
                          std::to_string(rows[r].second);
        if (emit_rank) row += "," + std::to_string(r + 1);
        expected.insert(row);
      }
    }
    EXPECT_EQ(table, expected) << "emit_rank " << emit_rank;
  }
}

TEST(UpdatingTopNTest, KeepsTheTopNOfManyRows) {
  // 300k rows over 50 keys, many ties.
  std::mt19937_64 rng(7);
  std::vector<std::vector<std::array<int64_t, 3>>> batches(300);
  int64_t id = 0;
  for (auto& rows : batches) {
    for (int i = 0; i < 1000; ++i, ++id) {
      rows.push_back({static_cast<int64_t>(rng() % 50), static_cast<int64_t>(rng() % 1000), id});
    }
  }
  ExpectTopN(batches, 3);
}

TEST(UpdatingTopNTest, CompactsKeptRows) {
  // Every batch replaces the whole top 3 of 333 busy keys (rising values) and adds a key
  // that never changes again: the batches' kept rows mostly die but none is freed whole, so
  // the operator has to compact them (dead rows pass 2 x live + 64k after ~70 batches).
  std::vector<std::vector<std::array<int64_t, 3>>> batches(300);
  int64_t id = 0;
  for (size_t b = 0; b < batches.size(); ++b) {
    auto& rows = batches[b];
    rows.push_back({1000 + static_cast<int64_t>(b), 0, id++});
    for (int i = 0; i < 999; ++i, ++id) rows.push_back({i % 333, id, id});
  }
  ExpectTopN(batches, 3);
}

}  // namespace
}  // namespace sluice::exec
