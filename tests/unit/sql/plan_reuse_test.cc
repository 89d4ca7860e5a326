// Sub-plan reuse: reads of one table become one source, equal sub-plans one node, and a
// query that reads its tables once is left as it was.

#include "sql/planner/plan_reuse.h"

#include <gtest/gtest.h>

#include <string>

#include "sql/planner/compiler.h"

namespace sluice::sql {
namespace {

// The nexmark generator's table with a generated event time, as bench/nexmark/queries has it.
constexpr const char* kNexmark = R"(
CREATE TABLE nexmark (
  person STRUCT<id BIGINT, name TEXT, email_address TEXT, credit_card TEXT, city TEXT,
                state TEXT, datetime TIMESTAMP, extra TEXT>,
  auction STRUCT<id BIGINT, item_name TEXT, description TEXT, initial_bid BIGINT,
                 reserve BIGINT, datetime TIMESTAMP, expires TIMESTAMP, seller BIGINT,
                 category BIGINT, extra TEXT>,
  bid STRUCT<auction BIGINT, bidder BIGINT, price BIGINT, channel TEXT, url TEXT,
             datetime TIMESTAMP, extra TEXT>,
  ts TIMESTAMP GENERATED ALWAYS AS (coalesce(person.datetime, auction.datetime, bid.datetime)),
  WATERMARK FOR ts AS ts - INTERVAL '4 seconds'
) WITH (connector = 'nexmark', events = '1000');
)";

// Nexmark q8: a windowed join of person and auction aggregates of the same table.
constexpr const char* kQ8 = R"(
SELECT P.id, P.name, P.starttime
FROM (SELECT person.id AS id, person.name AS name, window_start AS starttime,
             window_end AS endtime
      FROM TUMBLE(nexmark, ts, INTERVAL '10' SECOND) WHERE person IS NOT NULL
      GROUP BY person.id, person.name, window_start, window_end) P
JOIN (SELECT auction.seller AS seller, window_start AS starttime, window_end AS endtime
      FROM TUMBLE(nexmark, ts, INTERVAL '10' SECOND) WHERE auction IS NOT NULL
      GROUP BY auction.seller, window_start, window_end) A
ON P.id = A.seller AND P.starttime = A.starttime AND P.endtime = A.endtime;
)";

PipelinePlan Plan(const std::string& sql) {
  auto plan = PlanSql(sql);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  return plan.ok() ? plan.MoveValue() : PipelinePlan{};
}

runtime::DataflowGraph Graph(const PipelinePlan& plan, int parallelism) {
  CompileOptions options;
  options.parallelism = parallelism;
  auto graph = Compile(plan, options);
  EXPECT_TRUE(graph.ok()) << graph.status().ToString();
  return graph.ok() ? graph.MoveValue() : runtime::DataflowGraph{};
}

int SourceNodes(const runtime::DataflowGraph& graph) {
  int n = 0;
  for (const auto& node : graph.nodes) n += node.is_source() ? 1 : 0;
  return n;
}

int MostParents(const PipelinePlan& plan) {
  int most = 0;
  for (const auto& [node, parents] : CountParents(plan)) most = std::max(most, parents);
  return most;
}

TEST(PlanReuse, ReadsOfOneTableBecomeOneSourceWithTheUnionOfTheirFields) {
  PipelinePlan plan = Plan(std::string(kNexmark) + kQ8);
  EXPECT_EQ(MostParents(plan), 2);
  // Person as P reads it, auction as A reads it, bid's datetime for the event time.
  EXPECT_NE(plan.ToString().find("Source nexmark [nexmark] columns (person STRUCT<id BIGINT, "
                                 "name TEXT, datetime TIMESTAMP>, auction STRUCT<datetime "
                                 "TIMESTAMP, seller BIGINT>, bid STRUCT<datetime TIMESTAMP>)"),
            std::string::npos)
      << plan.ToString();
  for (int parallelism : {1, 2, 4}) {
    runtime::DataflowGraph graph = Graph(plan, parallelism);
    EXPECT_EQ(SourceNodes(graph), 1) << graph.ToString();
  }
}

TEST(PlanReuse, ACteUsedTwiceIsComputedOnce) {
  PipelinePlan plan = Plan(std::string(kNexmark) + R"(
WITH AuctionBids AS (
  SELECT HOP(INTERVAL '2' SECOND, INTERVAL '10' SECOND) AS window, bid.auction AS auction,
         count(*) AS num
  FROM nexmark WHERE bid IS NOT NULL
  GROUP BY 1, 2)
SELECT A.auction, A.num
FROM AuctionBids A
JOIN (SELECT window, max(num) AS maxn FROM AuctionBids GROUP BY window) M
ON A.window = M.window AND A.num >= M.maxn;
)");
  runtime::DataflowGraph graph = Graph(plan, 2);
  EXPECT_EQ(SourceNodes(graph), 1);
  int hops = 0;
  for (const auto& node : graph.nodes) {
    for (const auto& op : node.chain) hops += op->Describe().find("hop(") != std::string::npos;
  }
  EXPECT_EQ(hops, 1) << graph.ToString();
}

TEST(PlanReuse, SelfJoinReadsBothSidesFromOneNode) {
  PipelinePlan plan = Plan(std::string(kNexmark) + R"(
SELECT a.bid.price, b.bid.bidder FROM nexmark a JOIN nexmark b ON a.bid.auction = b.bid.auction;
)");
  const LogicalPlan* join = plan.sinks[0].get();
  while (join->kind != PlanKind::kJoin) join = join->inputs[0].get();
  EXPECT_EQ(join->inputs[0], join->inputs[1]) << plan.ToString();
  for (int parallelism : {1, 3}) {
    runtime::DataflowGraph graph = Graph(plan, parallelism);
    EXPECT_EQ(SourceNodes(graph), 1);
    int into_join = 0;
    for (const auto& e : graph.edges) into_join += e.to == graph.nodes.back().id ? 1 : 0;
    EXPECT_EQ(into_join, 2) << graph.ToString();
  }
}

TEST(PlanReuse, NonDeterministicSubPlansAreNotShared) {
  PipelinePlan plan = Plan(std::string(kNexmark) + R"(
WITH r AS (SELECT bid.auction AS auction, random() AS x FROM nexmark WHERE bid IS NOT NULL)
SELECT a.auction, a.x, b.x FROM r a JOIN r b ON a.auction = b.auction;
)");
  // One read of the table, but each side draws its own random numbers.
  std::string text = plan.ToString();
  size_t first = text.find("random()");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(text.find("random()", first + 1), std::string::npos) << text;
  EXPECT_EQ(SourceNodes(Graph(plan, 2)), 1);
}

TEST(PlanReuse, PlansAndGraphsAreDeterministic) {
  const std::string sql = std::string(kNexmark) + kQ8;
  PipelinePlan a = Plan(sql), b = Plan(sql);
  EXPECT_EQ(a.ToString(), b.ToString());
  EXPECT_EQ(Graph(a, 2).ToString(), Graph(b, 2).ToString());
}

TEST(PlanReuse, SharingAgainChangesNothing) {
  PipelinePlan plan = Plan(std::string(kNexmark) + kQ8);
  PipelinePlan again = ShareSubPlans(plan);
  ASSERT_EQ(again.sinks.size(), plan.sinks.size());
  EXPECT_EQ(again.sinks[0], plan.sinks[0]);
}

TEST(PlanReuse, AQueryThatReadsOnceIsUnchanged) {
  PipelinePlan plan = Plan(std::string(kNexmark) + R"(
SELECT bid.auction, bid.price FROM nexmark WHERE bid IS NOT NULL AND MOD(bid.auction, 123) = 0;
)");
  EXPECT_LE(MostParents(plan), 1);
  EXPECT_EQ(plan.ToString(), plan.sinks[0]->ToString());
  EXPECT_EQ(plan.ToString().find("shared"), std::string::npos);
  // Source, watermark generator, filter and projection, sink: one chain at parallelism 1.
  runtime::DataflowGraph graph = Graph(plan, 1);
  EXPECT_EQ(graph.nodes.size(), 1u) << graph.ToString();
  EXPECT_TRUE(graph.edges.empty());
}

TEST(PlanReuse, ReadsWithDifferentWatermarkHandlingStayApart) {
  // The window's input drops late rows, the plain branch keeps them: two generators, and so
  // two reads.
  PipelinePlan plan = Plan(std::string(kNexmark) + R"(
SELECT bid.auction AS a FROM nexmark WHERE bid IS NOT NULL
UNION ALL
SELECT count(*) AS a FROM nexmark GROUP BY TUMBLE(INTERVAL '10' SECOND);
)");
  EXPECT_EQ(SourceNodes(Graph(plan, 2)), 2);
}

}  // namespace
}  // namespace sluice::sql
