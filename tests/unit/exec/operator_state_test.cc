// Snapshot and restore of stateful operators: a run is interrupted (every subtask snapshots),
// the state is restored into fresh operators, at the same or another parallelism (each restored
// subtask keeps the keys that hash to it and is fed only its share of the rows that follow), and
// the output must equal an uninterrupted run's.

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "batch/column_builder.h"
#include "exec/hash_partitioner.h"
#include "exec/join.h"
#include "exec/over_window.h"
#include "exec/session_aggregate.h"
#include "exec/updating_aggregate.h"
#include "exec/updating_top_n.h"
#include "exec/watermark_generator.h"
#include "exec/window_aggregate.h"
#include "exec/window_top_n.h"
#include "expr/aggregate.h"
#include "expr/bound_expr.h"

namespace sluice::exec {
namespace {

using batch::Batch;
using batch::BatchPtr;
using batch::ColumnBuilder;

class Collect : public runtime::Collector {
 public:
  Status Emit(const BatchPtr& b) override {
    for (int64_t i = 0; i < b->num_rows; ++i) {
      std::string row = "+I ";
      if (b->change_kind) {
        static const char* kNames[] = {"+I ", "-U ", "+U ", "-D "};
        row = kNames[b->change_kind->raw<int8_t>()[i] & 3];
      }
      for (size_t c = 0; c < b->columns.size(); ++c) {
        row += c == 0 ? "" : ",";
        row += b->columns[c]->GetValue(i).ToString();
      }
      rows.push_back(row);
    }
    return Status::Ok();
  }
  Status EmitWatermark(Watermark wm) override {
    watermarks.push_back(wm.time.value);
    return Status::Ok();
  }
  std::vector<std::string> rows;
  std::vector<int64_t> watermarks;
};

// A row batch of three BIGINT/TIMESTAMP columns (k, end, v) at event times `t`.
types::SchemaPtr Schema3(const char* v) {
  return std::make_shared<types::Schema>(std::vector<types::Field>{
      {"k", types::Int64(), true}, {"end", types::Timestamp(), true}, {v, types::Int64(), true}});
}

BatchPtr Rows(const types::SchemaPtr& schema, const std::vector<std::array<int64_t, 3>>& rows,
              std::optional<batch::ChangeKind> kind = std::nullopt) {
  ColumnBuilder kc(types::Int64()), ec(types::Timestamp()), vc(types::Int64()),
      et(types::Timestamp());
  for (const auto& r : rows) {
    kc.AppendFixed<int64_t>(r[0]);
    ec.AppendFixed<int64_t>(r[1]);
    vc.AppendFixed<int64_t>(r[2]);
    et.AppendFixed<int64_t>(r[1] - 1);
  }
  auto b = std::make_shared<Batch>();
  b->schema = schema;
  b->columns = {kc.Finish(), ec.Finish(), vc.Finish()};
  b->event_time = et.Finish();
  b->num_rows = static_cast<int64_t>(rows.size());
  if (kind) {
    b->change_kind = batch::Column::MakeConstant(
        types::Value::Int(types::DataType(types::TypeId::kInt8), static_cast<int64_t>(*kind)),
        b->num_rows);
  }
  return b;
}

// A batch for input `input`, or a watermark for every input.
struct Event {
  int input = 0;
  BatchPtr batch;
  std::optional<int64_t> watermark;
};

struct Subtasks {
  Subtasks(const runtime::OperatorFactory& f, int parallelism, bool checkpointing = false) {
    for (int s = 0; s < parallelism; ++s) {
      ops.push_back(f.Create(s, parallelism).MoveValue());
      ctxs.push_back(std::make_unique<runtime::OperatorContext>());
      ctxs.back()->subtask = s;
      ctxs.back()->parallelism = parallelism;
      ctxs.back()->checkpointing = checkpointing;
      EXPECT_TRUE(ops.back()->Open(*ctxs.back()).ok());
    }
  }
  // Feeds each subtask its share of the batch (by key hash), every subtask the watermark.
  void Feed(const Event& e, const std::vector<std::vector<int>>& keys, Collect& out) {
    const int p = static_cast<int>(ops.size());
    for (int s = 0; s < p; ++s) {
      if (e.watermark) {
        ASSERT_TRUE(
            ops[static_cast<size_t>(s)]->ProcessWatermark({EventTime{*e.watermark}}, out).ok());
        continue;
      }
      BatchPtr mine = RowsOfSubtask(e.batch, keys[static_cast<size_t>(e.input)], s, p);
      if (mine) {
        ASSERT_TRUE(ops[static_cast<size_t>(s)]->ProcessBatch(e.input, mine, out).ok());
      }
    }
  }
  void End(Collect& out) {
    for (auto& op : ops) ASSERT_TRUE(op->OnEndOfInput(out).ok());
  }
  std::vector<runtime::TaskState> Snapshot() {
    std::vector<runtime::TaskState> states(ops.size());
    for (size_t s = 0; s < ops.size(); ++s) {
      states[s].checkpoint = 1;
      states[s].subtask = static_cast<int>(s);
      states[s].parallelism = static_cast<int>(ops.size());
      runtime::StateWriter w(&states[s].pieces, 7);
      EXPECT_TRUE(ops[s]->Snapshot(1, w).ok());
    }
    return states;
  }
  void Restore(const std::vector<runtime::TaskState>& states) {
    std::vector<const runtime::TaskState*> previous;
    for (const auto& st : states) previous.push_back(&st);
    for (size_t s = 0; s < ops.size(); ++s) {
      runtime::StateReader r(1, 7, static_cast<int>(s), previous);
      auto st = ops[s]->Restore(r);
      EXPECT_TRUE(st.ok()) << st.ToString();
    }
  }
  std::vector<std::unique_ptr<runtime::OperatorContext>> ctxs;
  std::vector<std::unique_ptr<runtime::Operator>> ops;
};

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// Runs `events` uninterrupted at parallelism 1, and interrupted after `cut` events at
// parallelism `before`, restored at `after`; expects the same rows.
void ExpectSameOutput(const runtime::OperatorFactory& f, const std::vector<Event>& events,
                      const std::vector<std::vector<int>>& keys, size_t cut, int before,
                      int after) {
  Collect expected;
  {
    Subtasks run(f, 1);
    for (const auto& e : events) run.Feed(e, keys, expected);
    run.End(expected);
  }
  Collect got;
  std::vector<runtime::TaskState> states;
  {
    Subtasks run(f, before);
    for (size_t i = 0; i < cut; ++i) run.Feed(events[i], keys, got);
    states = run.Snapshot();
  }
  Subtasks run(f, after);
  run.Restore(states);
  for (size_t i = cut; i < events.size(); ++i) run.Feed(events[i], keys, got);
  run.End(got);
  EXPECT_FALSE(expected.rows.empty());
  EXPECT_EQ(Sorted(got.rows), Sorted(expected.rows))
      << "cut " << cut << ", " << before << " -> " << after << " subtasks";
}

// Windows ending at 10, 20, 30; keys 0..19; watermarks close windows as the events go on.
std::vector<Event> WindowedEvents(const types::SchemaPtr& left, const types::SchemaPtr& right) {
  std::mt19937 rng(42);
  std::vector<Event> events;
  for (int64_t end = 10; end <= 30; end += 10) {
    for (int round = 0; round < 4; ++round) {
      for (int input = 0; input < (right ? 2 : 1); ++input) {
        std::vector<std::array<int64_t, 3>> rows;
        for (int i = 0; i < 25; ++i) {
          rows.push_back({static_cast<int64_t>(rng() % 20), end, static_cast<int64_t>(rng() % 7)});
        }
        // A few rows of the next window arrive early.
        rows.push_back({static_cast<int64_t>(rng() % 20), end + 10, 3});
        events.push_back({input, Rows(input == 0 ? left : right, rows), std::nullopt});
      }
    }
    events.push_back({0, nullptr, end - 1});
  }
  return events;
}

TEST(OperatorStateTest, WindowTopNRestoresAtAnyParallelism) {
  TopNSpec spec;
  spec.function = RankFunction::kRank;
  spec.partition = {1, 0};
  spec.window_end = 1;
  spec.order = {{2, true, false}};
  spec.limit = 3;
  auto fields = Schema3("v")->fields();
  fields.push_back({"rank", types::Int64(), false});
  spec.output_schema = std::make_shared<types::Schema>(fields);
  WindowTopNFactory f(spec);
  EXPECT_TRUE(f.checkpointable());
  auto events = WindowedEvents(Schema3("v"), nullptr);
  for (size_t cut : {size_t{0}, size_t{3}, size_t{5}, events.size() - 1, events.size()}) {
    for (auto [before, after] : {std::pair{1, 1}, {2, 1}, {1, 3}, {3, 2}}) {
      ExpectSameOutput(f, events, {{1, 0}}, cut, before, after);
    }
  }
}

// Window functions over rows: rows buffered before the watermark, rows kept for the frames,
// rows waiting for LEAD and the accumulators of UNBOUNDED PRECEDING frames all restore, also at
// another parallelism.
TEST(OperatorStateTest, OverWindowRestoresAtAnyParallelism) {
  auto call = [](OverFunction f, int64_t start, bool rows, bool unbounded) {
    OverCall c;
    c.function = f;
    c.argument = 2;
    c.type = types::Int64();
    c.frame.rows = rows;
    c.frame.start = start;
    c.frame.unbounded_start = unbounded;
    return c;
  };
  OverSpec spec;
  spec.partition = {0};
  spec.calls = {call(OverFunction::kLag, 0, false, false),
                call(OverFunction::kLead, 0, false, false),
                call(OverFunction::kSum, -3, true, false),
                call(OverFunction::kMax, 0, false, true),
                call(OverFunction::kCountStar, -5, false, false),
                call(OverFunction::kFirstValue, 0, true, true)};
  spec.calls[0].offset = 2;
  spec.calls[0].default_value = 0;
  spec.calls[1].default_value = 2;
  spec.calls[4].argument = -1;
  auto fields = Schema3("v")->fields();
  for (size_t i = 0; i < spec.calls.size(); ++i) {
    fields.push_back({"r" + std::to_string(i), types::Int64(), true});
  }
  spec.output_schema = std::make_shared<types::Schema>(fields);
  OverWindowFactory f(spec);
  EXPECT_TRUE(f.checkpointable());
  // Keys 0..7, every row at its own time (ties would make ROWS frames order-dependent), a few
  // rows out of order within the watermark, watermarks every other batch.
  std::mt19937 rng(7);
  std::vector<Event> events;
  int64_t t = 10;
  for (int b = 0; b < 12; ++b) {
    std::vector<std::array<int64_t, 3>> rows;
    for (int i = 0; i < 15; ++i) {
      t += 2;
      int64_t at = rng() % 5 == 0 ? t - 1 : t;  // out of order by one, never a time used twice
      rows.push_back({static_cast<int64_t>(rng() % 8), at + 1, static_cast<int64_t>(rng() % 50)});
    }
    events.push_back({0, Rows(Schema3("v"), rows), std::nullopt});
    if (b % 2 == 1) events.push_back({0, nullptr, t - 6});
  }
  for (size_t cut : {size_t{0}, size_t{1}, size_t{4}, size_t{9}, events.size() - 1}) {
    for (auto [before, after] : {std::pair{1, 1}, {2, 1}, {1, 3}, {3, 2}}) {
      ExpectSameOutput(f, events, {{0}}, cut, before, after);
    }
  }
}

TEST(OperatorStateTest, UpdatingTopNRestoresAtAnyParallelism) {
  TopNSpec spec;
  spec.function = RankFunction::kRowNumber;
  spec.partition = {0};
  spec.window_end = -1;
  spec.order = {{2, true, false}};
  spec.limit = 3;
  auto fields = Schema3("v")->fields();
  fields.push_back({"rank", types::Int64(), false});
  spec.output_schema = std::make_shared<types::Schema>(fields);
  for (bool emit_rank : {true, false}) {
    UpdatingTopNFactory f(spec, emit_rank);
    EXPECT_TRUE(f.checkpointable());
    auto events = WindowedEvents(Schema3("v"), nullptr);
    for (size_t cut : {size_t{0}, size_t{3}, size_t{5}, events.size() - 1, events.size()}) {
      for (auto [before, after] : {std::pair{1, 1}, {2, 1}, {1, 3}, {3, 2}}) {
        ExpectSameOutput(f, events, {{0}}, cut, before, after);
      }
    }
  }
}

TEST(OperatorStateTest, WindowJoinRestoresAtAnyParallelism) {
  for (JoinType type : {JoinType::kInner, JoinType::kFull}) {
    JoinSpec spec;
    spec.type = type;
    spec.left_schema = Schema3("v");
    spec.right_schema = Schema3("w");
    spec.left_keys = spec.right_keys = {0, 1};
    auto fields = spec.left_schema->fields();
    for (const auto& fl : spec.right_schema->fields()) fields.push_back(fl);
    spec.output_schema = std::make_shared<types::Schema>(fields);
    WindowJoinFactory f(spec, 1);
    EXPECT_TRUE(f.checkpointable());
    auto events = WindowedEvents(spec.left_schema, spec.right_schema);
    for (size_t cut : {size_t{0}, size_t{4}, size_t{9}, events.size() - 1}) {
      for (auto [before, after] : {std::pair{1, 1}, {2, 1}, {1, 3}, {4, 2}}) {
        ExpectSameOutput(f, events, {{0, 1}, {0, 1}}, cut, before, after);
      }
    }
  }
}

// Inserts on both sides and retractions of earlier rows, keys 0..9.
std::vector<Event> UpdatingEvents(const types::SchemaPtr& left, const types::SchemaPtr& right) {
  std::mt19937 rng(7);
  std::vector<Event> events;
  std::vector<std::vector<std::array<int64_t, 3>>> inserted(2);
  for (int round = 0; round < 12; ++round) {
    for (int input = 0; input < 2; ++input) {
      std::vector<std::array<int64_t, 3>> rows;
      for (int i = 0; i < 6; ++i) {
        rows.push_back({static_cast<int64_t>(rng() % 10), 100 * round + i + 1,
                        static_cast<int64_t>(rng() % 1000)});
      }
      auto& mine = inserted[static_cast<size_t>(input)];
      mine.insert(mine.end(), rows.begin(), rows.end());
      const auto& schema = input == 0 ? left : right;
      events.push_back({input, Rows(schema, rows, batch::ChangeKind::kInsert), std::nullopt});
      if (round % 3 == 2) {
        std::vector<std::array<int64_t, 3>> gone;
        for (int i = 0; i < 4 && !mine.empty(); ++i) {
          size_t k = rng() % mine.size();
          gone.push_back(mine[k]);
          mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(k));
        }
        events.push_back({input, Rows(schema, gone, batch::ChangeKind::kDelete), std::nullopt});
      }
    }
    events.push_back({0, nullptr, 100 * round});
  }
  return events;
}

TEST(OperatorStateTest, UpdatingJoinRestoresAtAnyParallelism) {
  for (JoinType type : {JoinType::kInner, JoinType::kLeft, JoinType::kFull, JoinType::kSemi,
                        JoinType::kAnti, JoinType::kMark}) {
    JoinSpec spec;
    spec.type = type;
    spec.left_schema = Schema3("v");
    spec.right_schema = Schema3("w");
    spec.left_keys = spec.right_keys = {0};
    auto fields = spec.left_schema->fields();
    if (type == JoinType::kMark) fields.push_back({"mark", types::Bool(), false});
    if (type != JoinType::kSemi && type != JoinType::kAnti && type != JoinType::kMark) {
      for (const auto& fl : spec.right_schema->fields()) fields.push_back(fl);
    }
    spec.output_schema = std::make_shared<types::Schema>(fields);
    auto f = HashJoinFactory::Updating(spec, 1'000'000);
    EXPECT_TRUE(f->checkpointable());
    auto events = UpdatingEvents(spec.left_schema, spec.right_schema);
    for (size_t cut : {size_t{0}, size_t{5}, size_t{17}, events.size() - 1}) {
      for (auto [before, after] : {std::pair{1, 1}, {2, 1}, {1, 3}, {4, 2}}) {
        ExpectSameOutput(*f, events, {{0}, {0}}, cut, before, after);
      }
    }
  }
}

std::vector<AggregateCall> Calls(const std::vector<std::string>& names, bool retracting = false) {
  std::vector<AggregateCall> calls;
  for (const auto& name : names) {
    expr::AggregateBindInput in;
    in.retracting = retracting;
    in.star = name == "count";
    if (!in.star) {
      in.types = {types::Int64()};
      in.constants = {std::nullopt};
    }
    auto bound = expr::AggregateRegistry::Get().Bind(name, in);
    EXPECT_TRUE(bound.ok()) << name << ": " << bound.status().ToString();
    AggregateCall call;
    call.aggregate = *bound;
    if (!in.star) call.arg_columns = {2};
    call.display = name;
    calls.push_back(std::move(call));
  }
  return calls;
}

TEST(OperatorStateTest, WindowAggregateRestoresAtAnyParallelism) {
  WindowSpec window;
  window.kind = WindowSpec::Kind::kTumble;
  window.width = 10;
  auto calls = Calls({"count", "sum", "avg", "min", "max", "var_samp", "bit_or"});
  std::vector<types::Field> fields{{"window", WindowStructType(), false},
                                   {"k", types::Int64(), true}};
  for (const auto& c : calls) fields.push_back({c.display, c.aggregate.return_type, true});
  WindowAggregateFactory f(window, {types::Int64()}, calls,
                           std::make_shared<types::Schema>(fields));
  EXPECT_TRUE(f.checkpointable());
  auto events = WindowedEvents(Schema3("v"), nullptr);
  for (size_t cut : {size_t{0}, size_t{3}, size_t{5}, events.size() - 1, events.size()}) {
    for (auto [before, after] : {std::pair{1, 1}, {2, 1}, {1, 3}, {3, 2}}) {
      ExpectSameOutput(f, events, {{0}}, cut, before, after);
    }
  }
  // Every aggregate's state is serialized (array_agg's too): nothing is refused.
  auto arrays = Calls({"array_agg"});
  EXPECT_TRUE(WindowAggregateFactory(window, {types::Int64()}, arrays, nullptr).checkpointable());
}

TEST(OperatorStateTest, SlidingWindowAggregateRestoresAtTheSameParallelism) {
  for (bool invertible : {true, false}) {
    WindowSpec hop;
    hop.kind = WindowSpec::Kind::kHop;
    hop.width = 20;
    hop.slide = 5;
    // min and max (append-only) cannot subtract a pane: windows are re-merged.
    auto calls = invertible ? Calls({"count", "sum", "avg"}) : Calls({"count", "min", "max"});
    std::vector<types::Field> fields{{"window", WindowStructType(), false},
                                     {"k", types::Int64(), true}};
    for (const auto& c : calls) fields.push_back({c.display, c.aggregate.return_type, true});
    WindowAggregateFactory f(hop, {types::Int64()}, calls, std::make_shared<types::Schema>(fields));
    EXPECT_TRUE(f.checkpointable());
    auto events = WindowedEvents(Schema3("v"), nullptr);
    for (size_t cut : {size_t{0}, size_t{3}, size_t{5}, size_t{10}, events.size() - 1}) {
      for (int p : {1, 2, 3}) ExpectSameOutput(f, events, {{0}}, cut, p, p);
    }
    // At another parallelism the restore is refused.
    Subtasks two(f, 2);
    Collect out;
    for (size_t i = 0; i < 5; ++i) two.Feed(events[i], {{0}}, out);
    auto states = two.Snapshot();
    std::vector<const runtime::TaskState*> previous{&states[0], &states[1]};
    auto one = f.Create(0, 1).MoveValue();
    runtime::StateReader r(1, 7, 0, previous);
    Status st = one->Restore(r);
    EXPECT_FALSE(st.ok());
    EXPECT_NE(st.ToString().find("not supported yet"), std::string::npos) << st.ToString();
  }
}

TEST(OperatorStateTest, SessionAggregateRestoresAtAnyParallelism) {
  WindowSpec window;
  window.kind = WindowSpec::Kind::kSession;
  window.gap = 4;
  auto calls = Calls({"count", "sum", "min", "max", "stddev_samp"});
  std::vector<types::Field> fields{{"window", WindowStructType(), false},
                                   {"k", types::Int64(), true}};
  for (const auto& c : calls) fields.push_back({c.display, c.aggregate.return_type, true});
  SessionAggregateFactory f(window, {types::Int64()}, calls,
                            std::make_shared<types::Schema>(fields));
  EXPECT_TRUE(f.checkpointable());
  auto events = WindowedEvents(Schema3("v"), nullptr);
  for (size_t cut : {size_t{0}, size_t{3}, size_t{5}, events.size() - 1, events.size()}) {
    for (auto [before, after] : {std::pair{1, 1}, {2, 1}, {1, 3}, {3, 2}}) {
      ExpectSameOutput(f, events, {{0}}, cut, before, after);
    }
  }
  EXPECT_TRUE(SessionAggregateFactory(window, {types::Int64()}, Calls({"array_agg"}), nullptr)
                  .checkpointable());
}

TEST(OperatorStateTest, UpdatingAggregateRestoresAtAnyParallelism) {
  for (bool retracting : {false, true}) {
    auto calls = retracting ? Calls({"count", "sum", "avg", "var_pop", "min", "max"}, true)
                            : Calls({"count", "sum", "avg", "min", "max", "bit_and"});
    std::vector<types::Field> fields{{"k", types::Int64(), true}};
    for (const auto& c : calls) fields.push_back({c.display, c.aggregate.return_type, true});
    auto events = retracting ? UpdatingEvents(Schema3("v"), Schema3("v"))
                             : WindowedEvents(Schema3("v"), nullptr);
    // Only the left input's rows (an aggregate has one input).
    std::erase_if(events, [](const Event& e) { return e.input != 0; });
    for (int64_t flush : {int64_t{0}, std::numeric_limits<int64_t>::max() / 2}) {
      UpdatingAggregateFactory f({types::Int64()}, calls, std::make_shared<types::Schema>(fields),
                                 flush, 0);
      EXPECT_TRUE(f.checkpointable());
      for (size_t cut : {size_t{0}, size_t{3}, size_t{7}, events.size() - 1}) {
        for (auto [before, after] : {std::pair{1, 1}, {2, 1}, {1, 3}, {3, 2}}) {
          ExpectSameOutput(f, events, {{0}}, cut, before, after);
        }
      }
    }
  }
  // Every aggregate's state is serialized (array_agg's too): nothing is refused.
  auto arrays = Calls({"array_agg"});
  EXPECT_TRUE(UpdatingAggregateFactory({types::Int64()}, arrays, nullptr, 0, 0).checkpointable());
}

// Incremental snapshots: a run snapshots after every few events, each snapshot a delta over the
// previous (completed) one when the operator chooses so. Restoring any checkpoint from its chain
// of files, at another parallelism, continues exactly as the uninterrupted run. The events keep
// a large key set and change a few keys at a time, deleting some (all rows retracted, or the
// TTL expiring them), so deltas are chosen and carry deletions.
TEST(OperatorStateTest, UpdatingAggregateRestoresFromIncrementalChains) {
  auto calls = Calls({"count", "sum", "min", "max"}, true);
  std::vector<types::Field> fields{{"k", types::Int64(), true}};
  for (const auto& c : calls) fields.push_back({c.display, c.aggregate.return_type, true});
  auto schema = Schema3("v");
  std::mt19937 rng(11);
  std::vector<Event> events;
  std::vector<std::array<int64_t, 3>> live;
  {
    std::vector<std::array<int64_t, 3>> rows;
    for (int64_t k = 0; k < 2000; ++k) rows.push_back({k, 1, k % 13});
    live = rows;
    events.push_back({0, Rows(schema, rows, batch::ChangeKind::kInsert), std::nullopt});
  }
  for (int64_t round = 1; round <= 40; ++round) {
    std::vector<std::array<int64_t, 3>> added, gone;
    for (int i = 0; i < 12; ++i) {
      added.push_back(
          {static_cast<int64_t>(rng() % 2600), 10 * round + 1, static_cast<int64_t>(rng() % 100)});
    }
    for (int i = 0; i < 10; ++i) {
      size_t at = rng() % live.size();
      gone.push_back(live[at]);
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(at));
    }
    live.insert(live.end(), added.begin(), added.end());
    events.push_back({0, Rows(schema, added, batch::ChangeKind::kInsert), std::nullopt});
    events.push_back({0, Rows(schema, gone, batch::ChangeKind::kDelete), std::nullopt});
    events.push_back({0, nullptr, 10 * round});
  }
  for (int64_t ttl : {int64_t{0}, int64_t{150}}) {
    UpdatingAggregateFactory f({types::Int64()}, calls, std::make_shared<types::Schema>(fields), 0,
                               ttl);
    Collect expected;
    {
      Subtasks run(f, 1);
      for (const auto& e : events) run.Feed(e, {{0}}, expected);
      run.End(expected);
    }
    for (int before : {1, 3}) {
      // states[c][s]: checkpoint c's file of subtask s; from[c][s]: the checkpoint its chain
      // starts at (0: it stands alone).
      std::vector<std::vector<runtime::TaskState>> states(1);
      std::vector<std::vector<int64_t>> from(1);
      std::vector<size_t> cuts(1), emitted(1);
      Collect got;
      int deltas = 0;
      size_t full_bytes = 0, delta_bytes = 0;
      {
        Subtasks run(f, before, /*checkpointing=*/true);
        for (size_t i = 0; i < events.size(); ++i) {
          run.Feed(events[i], {{0}}, got);
          if (i % 4 != 0) continue;
          const auto c = static_cast<int64_t>(states.size());
          states.emplace_back(static_cast<size_t>(before));
          from.emplace_back(static_cast<size_t>(before), 0);
          for (int s = 0; s < before; ++s) {
            runtime::TaskState& st = states.back()[static_cast<size_t>(s)];
            st.checkpoint = c;
            st.subtask = s;
            st.parallelism = before;
            runtime::StateWriter w(&st.pieces, 7, c - 1, &from.back()[static_cast<size_t>(s)]);
            ASSERT_TRUE(run.ops[static_cast<size_t>(s)]->Snapshot(c, w).ok());
            size_t bytes = 0;
            for (const auto& p : st.pieces) bytes += p.payload.size();
            if (from.back()[static_cast<size_t>(s)] > 0) {
              ++deltas;
              delta_bytes = std::max(delta_bytes, bytes);
            } else {
              full_bytes = std::max(full_bytes, bytes);
            }
          }
          cuts.push_back(i + 1);
          emitted.push_back(got.rows.size());
        }
      }
      EXPECT_GT(deltas, 10) << "ttl " << ttl << ", " << before << " subtasks";
      EXPECT_LT(delta_bytes * 4, full_bytes) << "a delta should be much smaller than the state";
      for (size_t c = 1; c < states.size(); c += 3) {
        for (int after : {1, 2, 4}) {
          std::vector<const runtime::TaskState*> previous;
          std::vector<std::vector<const runtime::TaskState*>> chains;
          for (int s = 0; s < before; ++s) {
            previous.push_back(&states[c][static_cast<size_t>(s)]);
            chains.emplace_back();
            const int64_t start = from[c][static_cast<size_t>(s)];
            for (auto k = static_cast<size_t>(start > 0 ? start : static_cast<int64_t>(c)); k <= c;
                 ++k) {
              chains.back().push_back(&states[k][static_cast<size_t>(s)]);
            }
          }
          Collect rest;
          rest.rows.assign(got.rows.begin(),
                           got.rows.begin() + static_cast<std::ptrdiff_t>(emitted[c]));
          Subtasks run(f, after);
          for (int s = 0; s < after; ++s) {
            runtime::StateReader r(static_cast<int64_t>(c), 7, s, previous, chains);
            auto st = run.ops[static_cast<size_t>(s)]->Restore(r);
            ASSERT_TRUE(st.ok()) << st.ToString();
          }
          for (size_t i = cuts[c]; i < events.size(); ++i) run.Feed(events[i], {{0}}, rest);
          run.End(rest);
          EXPECT_EQ(Sorted(rest.rows), Sorted(expected.rows))
              << "ttl " << ttl << ", checkpoint " << c << ", " << before << " -> " << after
              << " subtasks";
        }
      }
    }
  }
}

TEST(OperatorStateTest, WatermarkGeneratorContinuesItsWatermark) {
  // The watermark is the event time (column 1, minus nothing); late rows are dropped.
  WatermarkGeneratorFactory f(1, expr::MakeColumn(1, types::Timestamp()), std::nullopt, true);
  auto schema = Schema3("v");
  Subtasks first(f, 1);
  Collect out;
  first.Feed({0, Rows(schema, {{1, 100, 0}, {2, 50, 0}}), std::nullopt}, {{0}}, out);
  EXPECT_EQ(out.rows.size(), 1u) << "50 is behind 100, the watermark of the row before it";
  EXPECT_EQ(out.watermarks, std::vector<int64_t>{100});
  auto states = first.Snapshot();

  Subtasks restored(f, 1);
  restored.Restore(states);
  Collect after;
  // 90 is behind the restored watermark (100): late and dropped; 120 advances it.
  restored.Feed({0, Rows(schema, {{3, 90, 0}, {4, 120, 0}}), std::nullopt}, {{0}}, after);
  EXPECT_EQ(after.rows, std::vector<std::string>{"+I 4,TIMESTAMP '1970-01-01T00:00:00.000120',0"});
  EXPECT_EQ(after.watermarks, std::vector<int64_t>{120});
}

}  // namespace
}  // namespace sluice::exec
