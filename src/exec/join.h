#pragma once
// Joins of two streams on equal keys. Each input carries its own columns with the join keys
// among them (the planner appends them); the output is the left input's columns followed by
// the right input's, and the event time of a joined row is the larger of its two rows'.
//
//   WindowJoin   both inputs are windowed (window aggregates or TUMBLE in FROM); the rows of
//                one window are buffered until the watermark passes the window's end, then
//                joined at once. INNER, LEFT, RIGHT and FULL; append-only output. The
//                watermark passed on is held at the earliest buffered row, so joined rows
//                (whose times are their rows', behind the window's end) are never late.
//   HashJoin     updating mode: every row is kept (until updating_ttl of event time has
//                passed) and joined with the other side's rows as it arrives. Inputs may be
//                updating; a retracted row retracts what it produced; outer joins emit a row
//                padded with NULLs while it has no match and retract it when one arrives.
//                Output is an updating stream.
//                interval mode: the residual bounds right.time - left.time to [lo, hi]; rows
//                are freed once the watermark says no row of the other side can still match.
//                INNER only; append-only output.
// Both inputs are hash-partitioned by their keys, so a key's rows meet in one subtask.

#include <memory>
#include <string>
#include <vector>

#include "expr/bound_expr.h"
#include "runtime/operator.h"
#include "types/schema.h"

namespace sluice::exec {

// kSemi, kAnti and kMark (updating mode only) emit left rows alone, each once however many rows
// it matches: kSemi the rows with a match, kAnti those without, kMark every row with a BOOLEAN
// column appended that says whether it has one. A row crossing between no match and a match
// is retracted and emitted again (kMark: with the other mark). They plan subqueries: EXISTS,
// NOT EXISTS and IN as semi-, anti- and mark joins.
enum class JoinType { kInner, kLeft, kRight, kFull, kSemi, kAnti, kMark };
const char* JoinTypeName(JoinType type);

struct JoinSpec {
  JoinType type = JoinType::kInner;
  types::SchemaPtr left_schema;   // the left input's columns
  types::SchemaPtr right_schema;  // the right input's columns
  std::vector<int> left_keys;     // key columns of each input, pairwise equal, same types
  std::vector<int> right_keys;
  // Evaluated over the output columns (left's then right's) of a pair of rows with equal
  // keys; the pair joins when it is TRUE. Null: every pair with equal keys joins.
  expr::BoundExprPtr residual;
  // left_schema's fields, then right_schema's (kSemi, kAnti: left's only; kMark: left's and
  // the BOOLEAN mark)
  types::SchemaPtr output_schema;
  std::string Describe() const;
};

class WindowJoinFactory : public runtime::OperatorFactory {
 public:
  // `window_key` indexes left_keys/right_keys: the key holding each row's window end.
  WindowJoinFactory(JoinSpec spec, int window_key);
  std::string name() const override { return "window_join"; }
  std::string Describe() const override;
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;

 private:
  JoinSpec spec_;
  int window_key_;
};

class HashJoinFactory : public runtime::OperatorFactory {
 public:
  // Updating mode: rows are forgotten once the watermark is `ttl_micros` past them.
  static std::shared_ptr<HashJoinFactory> Updating(JoinSpec spec, int64_t ttl_micros);
  // Interval mode: right.time - left.time is within [lo, hi] for every joined pair.
  static std::shared_ptr<HashJoinFactory> Interval(JoinSpec spec, int64_t lo, int64_t hi);

  std::string name() const override { return interval_ ? "interval_join" : "updating_join"; }
  std::string Describe() const override;
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override;

  HashJoinFactory(JoinSpec spec, bool interval, int64_t ttl, int64_t lo, int64_t hi)
      : spec_(std::move(spec)), interval_(interval), ttl_(ttl), lo_(lo), hi_(hi) {}

 private:
  JoinSpec spec_;
  bool interval_;
  int64_t ttl_;
  int64_t lo_, hi_;
};

}  // namespace sluice::exec
