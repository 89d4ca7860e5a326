// Operator identities (runtime/operator_identity.h): independent of parallelism and chaining,
// changed by an edit of the operator or of anything upstream (except for sources and sinks),
// and the mapping of a checkpoint's state onto an edited graph with its refusals.

#include <gtest/gtest.h>

#include <set>

#include "runtime/checkpoint_metadata.h"
#include "runtime/operator_identity.h"

namespace sluice::runtime {
namespace {

class FakeFactory : public OperatorFactory {
 public:
  FakeFactory(std::string name, std::string args, bool source = false)
      : name_(std::move(name)), args_(std::move(args)), source_(source) {}
  std::string name() const override { return name_; }
  std::string Describe() const override { return name_ + " " + args_; }
  bool is_source() const override { return source_; }

 private:
  std::string name_, args_;
  bool source_;
};

std::shared_ptr<const OperatorFactory> Op(std::string name, std::string args, bool source = false) {
  return std::make_shared<FakeFactory>(std::move(name), std::move(args), source);
}

// source -> filter | window_aggregate -> project | sink; `chained` puts the filter in the
// source's node, else in a node of its own.
DataflowGraph Pipeline(const std::string& filter, const std::string& window,
                       const std::string& project, int parallelism, bool chained) {
  DataflowGraph g;
  int id = 0;
  NodeSpec src{id++, 1, {Op("kafka source", "topic=t", true)}};
  if (chained) src.chain.push_back(Op("filter", filter));
  g.nodes.push_back(src);
  if (!chained) {
    g.nodes.push_back(NodeSpec{id++, parallelism, {Op("filter", filter)}});
    g.edges.push_back(EdgeSpec{0, 1, 0, EdgeKind::kRebalance, {}, nullptr});
  }
  int agg = id++;
  g.nodes.push_back(
      NodeSpec{agg, parallelism, {Op("window_aggregate", window), Op("project", project)}});
  g.edges.push_back(EdgeSpec{agg - 1, agg, 0, EdgeKind::kHash, {"k"}, nullptr});
  int sink = id++;
  g.nodes.push_back(NodeSpec{sink, 1, {Op("single_file sink", "path=/o")}});
  g.edges.push_back(EdgeSpec{agg, sink, 0, EdgeKind::kRebalance, {}, nullptr});
  return g;
}

std::vector<std::string> Hashes(const DataflowGraph& g) {
  std::vector<std::string> out;
  for (const auto& i : OperatorIdentities(g)) out.push_back(i.hash);
  return out;
}

// A checkpoint written by graph `g`, with state in the operators `stateful`.
CheckpointMetadata CheckpointOf(const DataflowGraph& g, std::vector<int> stateful) {
  CheckpointMetadata m;
  m.checkpoint = 4;
  m.identities = OperatorIdentities(g);
  for (const auto& n : g.nodes) {
    for (const auto& f : n.chain) m.operators.push_back(f->name());
  }
  for (int op : stateful) m.identities[static_cast<size_t>(op)].stateful = true;
  return m;
}

TEST(OperatorIdentity, IndependentOfParallelismAndChaining) {
  auto a = Hashes(Pipeline("v > 1", "tumble(1m) count", "$0, $1", 1, true));
  auto b = Hashes(Pipeline("v > 1", "tumble(1m) count", "$0, $1", 4, true));
  auto c = Hashes(Pipeline("v > 1", "tumble(1m) count", "$0, $1", 2, false));
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  EXPECT_EQ(a.size(), 5u);
  // All different from each other.
  EXPECT_EQ(std::set<std::string>(a.begin(), a.end()).size(), a.size());
}

TEST(OperatorIdentity, AnEditChangesTheOperatorAndWhatFollowsItButNotTheSink) {
  auto a = Hashes(Pipeline("v > 1", "tumble(1m) count", "$0, $1", 1, true));
  auto projected = Hashes(Pipeline("v > 1", "tumble(1m) count", "$0, $1, $1 * 2", 1, true));
  EXPECT_EQ(projected[0], a[0]);  // source
  EXPECT_EQ(projected[1], a[1]);  // filter
  EXPECT_EQ(projected[2], a[2]);  // window_aggregate
  EXPECT_NE(projected[3], a[3]);  // the edited project
  EXPECT_EQ(projected[4], a[4]);  // the sink: its own description only
  auto filtered = Hashes(Pipeline("v > 2", "tumble(1m) count", "$0, $1", 1, true));
  EXPECT_EQ(filtered[0], a[0]);
  EXPECT_NE(filtered[1], a[1]);
  EXPECT_NE(filtered[2], a[2]);  // unchanged itself, but its input changed
  EXPECT_NE(filtered[3], a[3]);
  EXPECT_EQ(filtered[4], a[4]);
}

TEST(OperatorIdentity, ASourceReadingOtherColumnsChangesWhatFollowsIt) {
  DataflowGraph a = Pipeline("$1 > 1", "tumble(1m) count", "$0, $1", 1, false);
  DataflowGraph b = a;
  a.source_columns[0] = "ts TIMESTAMP, k TEXT";
  b.source_columns[0] = "ts TIMESTAMP, v INT";
  auto ha = Hashes(a), hb = Hashes(b);
  EXPECT_EQ(ha[0], hb[0]);  // the source keeps its position
  EXPECT_NE(ha[1], hb[1]);  // "$1" is another column now
  EXPECT_NE(ha[2], hb[2]);
  EXPECT_EQ(ha[4], hb[4]);  // the sink
}

TEST(OperatorIdentity, MapsStateOfUnchangedOperatorsAndNamesTheRest) {
  DataflowGraph before = Pipeline("v > 1", "tumble(1m) count", "$0, $1", 2, true);
  CheckpointMetadata m = CheckpointOf(before, {0, 2, 4});  // source, aggregate, sink

  // A new column after the aggregate: everything with state has its match.
  auto projected = MapOperatorState(
      m, OperatorIdentities(Pipeline("v > 1", "tumble(1m) count", "$0, $1, $1 * 2", 3, false)));
  EXPECT_TRUE(projected.dropped.empty());
  ASSERT_EQ(projected.old_of_new.size(), 5u);
  EXPECT_EQ(projected.old_of_new[0], 0);
  EXPECT_EQ(projected.old_of_new[2], 2);
  EXPECT_EQ(projected.old_of_new[3], std::nullopt);
  EXPECT_EQ(projected.old_of_new[4], 4);
  EXPECT_EQ(projected.fresh, std::vector<int>{3});

  // Another window size: the aggregate's state has no place, and the reason says what changed.
  auto resized = MapOperatorState(
      m, OperatorIdentities(Pipeline("v > 1", "tumble(2m) count", "$0, $1", 2, true)));
  EXPECT_EQ(resized.dropped, std::vector<int>{2});
  ASSERT_EQ(resized.reasons.size(), 1u);
  EXPECT_EQ(resized.reasons[0],
            "'window_aggregate tumble(1m) count' changed: it is now 'window_aggregate "
            "tumble(2m) count'");
  EXPECT_EQ(resized.old_of_new[0], 0);  // the source keeps its position
  EXPECT_EQ(resized.old_of_new[2], std::nullopt);

  // A changed filter upstream: the aggregate is the same text but its input is not.
  auto filtered = MapOperatorState(
      m, OperatorIdentities(Pipeline("v > 2", "tumble(1m) count", "$0, $1", 2, true)));
  EXPECT_EQ(filtered.dropped, std::vector<int>{2});  // the filter had no state: not listed
  EXPECT_NE(filtered.reasons[0].find("is unchanged but its input changed"), std::string::npos);
  Status refused = RefuseDroppedState(4, filtered, "use the flag");
  EXPECT_FALSE(refused.ok());
  EXPECT_NE(refused.message().find("checkpoint 4"), std::string::npos);
  EXPECT_NE(refused.message().find("1 operator of it"), std::string::npos);
  EXPECT_NE(refused.message().find("use the flag"), std::string::npos);
}

TEST(OperatorIdentity, RemovedOperatorAndEqualIdentitiesInOrder) {
  DataflowGraph g;
  g.nodes.push_back(NodeSpec{0, 1, {Op("kafka source", "topic=t", true)}});
  g.nodes.push_back(NodeSpec{1, 1, {Op("kafka source", "topic=t", true)}});
  g.nodes.push_back(NodeSpec{2, 1, {Op("updating_aggregate", "count")}});
  g.nodes.push_back(NodeSpec{3, 1, {Op("stdout sink", "format=json")}});
  g.edges = {{0, 2, 0, EdgeKind::kHash, {}, nullptr},
             {1, 2, 0, EdgeKind::kHash, {}, nullptr},
             {2, 3, 0, EdgeKind::kForward, {}, nullptr}};
  CheckpointMetadata m = CheckpointOf(g, {0, 1, 2});
  auto same = MapOperatorState(m, OperatorIdentities(g));
  EXPECT_EQ(same.old_of_new, (std::vector<std::optional<int>>{0, 1, 2, 3}));
  // Without the aggregate: its state is named as removed.
  DataflowGraph without = g;
  without.nodes.erase(without.nodes.begin() + 2);
  without.nodes[2].id = 2;
  without.edges = {{0, 2, 0, EdgeKind::kRebalance, {}, nullptr},
                   {1, 2, 0, EdgeKind::kRebalance, {}, nullptr}};
  auto removed = MapOperatorState(m, OperatorIdentities(without));
  EXPECT_EQ(removed.dropped, std::vector<int>{2});
  EXPECT_EQ(removed.reasons[0], "'updating_aggregate count' is not in the edited query");
}

TEST(OperatorIdentity, MetadataRoundTripsIdentities) {
  CheckpointMetadata m = CheckpointOf(Pipeline("v > 1", "tumble(1m) count", "$0", 1, true), {2});
  m.fingerprint = QueryFingerprint("plan");
  auto back = CheckpointMetadata::Decode(m.Encode(), "test");
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  ASSERT_EQ(back->identities.size(), 5u);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(back->identities[i].hash, m.identities[i].hash);
    EXPECT_EQ(back->identities[i].stateful, i == 2);
    EXPECT_EQ(back->identities[i].description, m.identities[i].description);
  }
  // Identities that do not cover the operators are corrupt.
  m.identities.pop_back();
  auto short_list = CheckpointMetadata::Decode(m.Encode(), "test");
  ASSERT_FALSE(short_list.ok());
  EXPECT_NE(short_list.status().message().find("identities"), std::string::npos);
}

}  // namespace
}  // namespace sluice::runtime
