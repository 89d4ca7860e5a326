#pragma once
// Ranking within windows: ROW_NUMBER(), RANK() and DENSE_RANK() OVER (PARTITION BY window,
// keys ORDER BY ...), usually with an outer `WHERE rank <= N` (top-N per window).
//
// Rows are buffered per window until the watermark passes its end, then ranked per partition
// and emitted with their rank in a new last column. With a limit N, a window's buffer is
// pruned to the N best rows of each partition whenever it grows, so memory follows N times
// the number of partitions, not the window's size. Input and output are append-only; the
// input is hash-partitioned by the partition keys.

#include <memory>
#include <string>
#include <vector>

#include "runtime/operator.h"
#include "types/schema.h"

namespace sluice::exec {

enum class RankFunction { kRowNumber, kRank, kDenseRank };
const char* RankFunctionName(RankFunction f);

struct SortKey {
  int column = 0;
  bool descending = false;
  bool nulls_first = false;
};

struct TopNSpec {
  RankFunction function = RankFunction::kRowNumber;
  std::vector<int> partition;  // partition key columns of the input
  int window_end = 0;          // the partition key column holding each row's window end
  std::vector<SortKey> order;
  int64_t limit = 0;               // keep ranks <= limit; 0 = every row
  types::SchemaPtr output_schema;  // the input's columns, then the rank (BIGINT)
  std::string Describe() const;
};

class WindowTopNFactory : public runtime::OperatorFactory {
 public:
  explicit WindowTopNFactory(TopNSpec spec) : spec_(std::move(spec)) {}
  std::string name() const override { return "window_top_n"; }
  std::string Describe() const override { return "window_top_n " + spec_.Describe(); }
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;

 private:
  TopNSpec spec_;
};

}  // namespace sluice::exec
