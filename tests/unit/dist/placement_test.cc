#include <gtest/gtest.h>

#include "dist/placement.h"

namespace sluice::dist {
namespace {

class NamedFactory : public runtime::OperatorFactory {
 public:
  std::string name() const override { return "op"; }
  std::string Describe() const override { return name(); }
};

runtime::DataflowGraph Graph(const std::vector<int>& parallelism) {
  runtime::DataflowGraph g;
  for (size_t i = 0; i < parallelism.size(); ++i) {
    runtime::NodeSpec n;
    n.id = static_cast<int>(i);
    n.parallelism = parallelism[i];
    n.chain.push_back(std::make_shared<NamedFactory>());
    g.nodes.push_back(n);
  }
  return g;
}

TEST(Placement, SubtaskSOfEveryNodeTakesSlotSAndSlotsAlternateBetweenWorkers) {
  // Worker 0 has 2 slots, worker 1 has 1, worker 2 has 2: slots in order are w0, w1, w2, w0, w2.
  auto placed = PlaceSubtasks(Graph({1, 3, 5}), {2, 1, 2});
  ASSERT_TRUE(placed.ok()) << placed.status().ToString();
  EXPECT_EQ((*placed)[0], (std::vector<int>{0}));
  EXPECT_EQ((*placed)[1], (std::vector<int>{0, 1, 2}));
  EXPECT_EQ((*placed)[2], (std::vector<int>{0, 1, 2, 0, 2}));
}

TEST(Placement, TooFewSlotsIsAnErrorThatSaysHowMany) {
  auto placed = PlaceSubtasks(Graph({1, 4}), {1, 2});
  ASSERT_FALSE(placed.ok());
  EXPECT_NE(placed.status().message().find("runs 4 subtasks, but the 2 workers offer 3 slots"),
            std::string::npos)
      << placed.status().message();
}

}  // namespace
}  // namespace sluice::dist
