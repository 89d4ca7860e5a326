#pragma once
// Aggregate functions: vectorized accumulators over many groups at once.
//
// A window or updating aggregate operator keeps one AggregateState per aggregate call (and per
// window pane). Groups are dense indexes the operator assigns (0, 1, 2, ...); the state stores
// its accumulators column-wise, indexed by group, so an update is one virtual call per batch and
// a tight loop over rows.
//
// On an updating input (a changelog), rows can also be retracted: Retract removes rows that
// Update added earlier. States that support it say so with retractable(); the registry binds
// such states when AggregateBindInput::retracting is set and refuses the aggregates that cannot
// forget a row (array_agg, string_agg, first_value, the approx_* sketches).

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "batch/column.h"
#include "common/status.h"
#include "types/value.h"

namespace sluice::batch {
class ColumnBuilder;
}  // namespace sluice::batch

namespace sluice::expr {

using batch::ColumnPtr;
using types::DataType;
using types::Value;

class AggregateState {
 public:
  virtual ~AggregateState() = default;
  // Grows to `groups` groups; new groups are empty (count 0, sum NULL, ...).
  virtual void Resize(int64_t groups) = 0;
  virtual int64_t num_groups() const = 0;
  // Adds row i of `args` (the argument columns, already cast to the bound argument types) to
  // group group_ids[i], for i in [0, n). Rows whose arguments are NULL are ignored as SQL says
  // (count(*) has no arguments and counts every row).
  virtual Status Update(std::span<const ColumnPtr> args, const uint32_t* group_ids, int64_t n) = 0;
  // True when Retract is supported. Bind with AggregateBindInput::retracting to get such a
  // state; min and max then keep the multiset of their values (more memory).
  virtual bool retractable() const { return false; }
  // Removes row i of `args` from group group_ids[i], for i in [0, n): the inverse of Update
  // for rows Update added before (NULL arguments are ignored the same way). Retracting a value
  // a group does not hold is not checked: counts, sums and the value multisets of min/max and
  // DISTINCT go negative and cancel a later Update of it (as in a Z-set); median and
  // percentile_cont ignore it. When a group's rows are all retracted it is exactly empty again
  // (float sums drop their rounding residue).
  virtual Status Retract(std::span<const ColumnPtr> args, const uint32_t* group_ids, int64_t n) {
    return Status::NotSupported("this aggregate cannot retract rows");
  }
  // Folds group `src` of `other` (a state of the same bound aggregate) into group `dst`.
  virtual void Merge(const AggregateState& other, uint32_t src, uint32_t dst) = 0;
  // True when Subtract is supported (count, sum, avg, variance, ...): a sliding window then
  // removes the oldest pane instead of re-merging every pane.
  virtual bool invertible() const { return false; }
  // Removes group `src` of `other` from group `dst` (only when invertible()).
  virtual void Subtract(const AggregateState& other, uint32_t src, uint32_t dst) {}
  // Resets group `g` to empty.
  virtual void Clear(uint32_t g) = 0;
  // The aggregate's value for each listed group, as a column of the bound return type.
  virtual Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const = 0;
  // Approximate bytes held (for memory accounting and benchmarks).
  virtual int64_t MemoryBytes() const = 0;

  // Checkpoints. True when SerializeGroups/DeserializeGroups are implemented: every aggregate
  // of the registry, DISTINCT ones included.
  virtual bool serializable() const { return false; }
  // Appends the state of each listed group to `out`, in order, in one call. The states that
  // keep values (DISTINCT sets, collections, percentiles, sketches) start with a format
  // version byte; fixed-width states are their slots' bytes.
  virtual Status SerializeGroups(const uint32_t* groups, int64_t n, std::string* out) const {
    return Status::NotSupported("this aggregate's state cannot be checkpointed yet");
  }
  // Sets each listed group (which exists: Resize first) to the state SerializeGroups wrote for
  // n groups into `in` (exactly). A corrupt or truncated `in` is an error, never a crash.
  virtual Status DeserializeGroups(std::string_view in, const uint32_t* groups, int64_t n) {
    return Status::NotSupported("this aggregate's state cannot be checkpointed yet");
  }
  // The same, one value per group: appends to `out` (a BINARY column builder) what
  // SerializeGroups writes for each listed group alone, so that an operator keeps one value per
  // group in one call. The default calls SerializeGroups once per group.
  virtual Status SerializeEachGroup(const uint32_t* groups, int64_t n,
                                    batch::ColumnBuilder* out) const;
  // Sets groups[i] to the state in row rows[i] of `values` (row i when `rows` is null), for i in
  // [0, n): the inverse of SerializeEachGroup.
  virtual Status DeserializeEachGroup(const batch::Column& values, const int32_t* rows,
                                      const uint32_t* groups, int64_t n);
};

// A bound aggregate call: argument and return types fixed, creates states.
class AggregateFunction {
 public:
  virtual ~AggregateFunction() = default;
  virtual std::unique_ptr<AggregateState> NewState() const = 0;
};

struct AggregateBindInput {
  std::vector<DataType> types;  // argument types as written (count(*) has none)
  // Values of constant arguments (string_agg's delimiter, approx_percentile_cont's fraction).
  std::vector<std::optional<Value>> constants;
  bool distinct = false;  // count(DISTINCT x)
  bool star = false;      // count(*)
  // The input is updating (its rows can be retracted): bind states that support Retract, or
  // fail with a user error naming the aggregate when it cannot retract.
  bool retracting = false;
};

struct BoundAggregate {
  std::string name;                 // "count", "sum", ...
  std::vector<DataType> arg_types;  // each argument is cast to these before Update
  DataType return_type;
  bool distinct = false;
  std::shared_ptr<const AggregateFunction> function;
  // What the registry bound it from: a serialized plan binds the aggregate again from it
  // (src/dist/). `registered` is false for aggregates not bound through the registry.
  AggregateBindInput bound_from;
  bool registered = false;
};

class AggregateRegistry {
 public:
  static const AggregateRegistry& Get();
  bool Contains(const std::string& name) const;
  std::vector<std::string> Names() const;
  // Errors name the aggregate, the argument types given and what it accepts.
  Result<BoundAggregate> Bind(const std::string& name, const AggregateBindInput& input) const;

 private:
  AggregateRegistry();
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace sluice::expr
