#pragma once
// Internals of the aggregate library (src/expr/aggregates/*.cc and expr/aggregate.cc): how each
// family registers its bind callbacks, the group-indexed state skeleton they share, and the
// typed loops over argument columns. Not for use outside expr.

#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "batch/column_builder.h"
#include "common/check.h"
#include "expr/aggregate.h"

namespace sluice::expr {

using batch::Column;
using batch::ColumnBuilder;
using types::int128_t;
using types::TypeId;

// ---------------------------------------------------------------------------------------------
// Registration

// Binds a call of the aggregate registered as `name` (the name as written, aliases included).
// DISTINCT is handled by the registry: a callback that implements it itself (count) sets
// BoundAggregate::distinct; otherwise the registry wraps the function in a DISTINCT set.
using AggregateBindFn =
    std::function<Result<BoundAggregate>(const std::string& name, const AggregateBindInput& in)>;

struct AggregateDefinition {
  std::string name;
  AggregateBindFn bind;
};
using AggregateDefinitions = std::vector<AggregateDefinition>;

// One per file of src/expr/aggregates/.
void RegisterBasicAggregates(AggregateDefinitions* defs);        // basic.cc
void RegisterMinMaxAggregates(AggregateDefinitions* defs);       // min_max.cc
void RegisterStatisticsAggregates(AggregateDefinitions* defs);   // statistics.cc
void RegisterCollectionAggregates(AggregateDefinitions* defs);   // collection.cc
void RegisterApproximateAggregates(AggregateDefinitions* defs);  // approximate.cc

// bool_and (is_and) or bool_or, which are also min and max of BOOLEAN (basic.cc).
std::shared_ptr<const AggregateFunction> MakeBoolAndOrFunction(bool is_and);

// The error of an update called with fewer argument columns than the aggregate takes.
inline Status MissingArgument(size_t got, size_t want) {
  return Status::Internal("aggregate update with {} argument columns, expected {}", got, want);
}

// count(DISTINCT x) without materializing the values for an inner aggregate (distinct.cc).
// `counted` keeps a row count per value so the state can retract.
std::shared_ptr<const AggregateFunction> MakeCountDistinctFunction(const DataType& arg_type,
                                                                   bool counted);
// Any other aggregate with DISTINCT: the distinct argument tuples of each group are kept and
// fed, sorted, to `inner` at Finalize (distinct.cc). `counted` as above; `inner` itself never
// needs to retract.
std::shared_ptr<const AggregateFunction> MakeDistinctFunction(
    std::shared_ptr<const AggregateFunction> inner, std::vector<DataType> arg_types, bool counted);

// A function whose NewState is `make`.
template <typename Make>
std::shared_ptr<const AggregateFunction> MakeFunction(Make make) {
  class Function final : public AggregateFunction {
   public:
    explicit Function(Make m) : make_(std::move(m)) {}
    std::unique_ptr<AggregateState> NewState() const override { return make_(); }

   private:
    Make make_;
  };
  return std::make_shared<const Function>(std::move(make));
}

inline BoundAggregate MakeBound(std::vector<DataType> arg_types, DataType return_type,
                                std::shared_ptr<const AggregateFunction> function) {
  BoundAggregate b;
  b.arg_types = std::move(arg_types);
  b.return_type = std::move(return_type);
  b.function = std::move(function);
  return b;
}

// "function sum(TEXT) does not exist; sum accepts numbers".
Status NoMatchingAggregate(const std::string& name, const AggregateBindInput& in,
                           const std::string& accepted);
// Errors unless the call has exactly `arity` arguments and is not `name(*)`.
Status CheckArity(const std::string& name, const AggregateBindInput& in, size_t arity,
                  const std::string& accepted);
// The constant value of argument i, if the binder saw one.
const std::optional<Value>* ConstantArg(const AggregateBindInput& in, size_t i);
// Argument i as a constant fraction in [0, 1] (percentile_cont, approx_percentile_cont).
Result<double> PercentileFractionArg(const std::string& name, const AggregateBindInput& in,
                                     size_t i);

// ---------------------------------------------------------------------------------------------
// States

// The skeleton of a state that keeps one `Slot` per group: growing, clearing and memory
// accounting. Slots are plain structs so an update touches one cache line per row.
template <typename Slot>
class SlotState : public AggregateState {
 public:
  explicit SlotState(Slot empty = Slot{}) : empty_(std::move(empty)) {}
  void Resize(int64_t groups) override { slots_.resize(static_cast<size_t>(groups), empty_); }
  int64_t num_groups() const override { return static_cast<int64_t>(slots_.size()); }
  void Clear(uint32_t g) override { slots_[g] = empty_; }
  int64_t MemoryBytes() const override {
    return static_cast<int64_t>(slots_.capacity() * sizeof(Slot)) + ExtraBytes();
  }
  // Plain slots (no pointers, no heap) are checkpointed byte for byte.
  bool serializable() const override { return std::is_trivially_copyable_v<Slot>; }
  Status SerializeGroups(const uint32_t* groups, int64_t n, std::string* out) const override {
    if constexpr (std::is_trivially_copyable_v<Slot>) {
      for (int64_t i = 0; i < n; ++i) {
        out->append(reinterpret_cast<const char*>(&slots_[groups[i]]), sizeof(Slot));
      }
      return Status::Ok();
    } else {
      return AggregateState::SerializeGroups(groups, n, out);
    }
  }
  Status DeserializeGroups(std::string_view in, const uint32_t* groups, int64_t n) override {
    if constexpr (std::is_trivially_copyable_v<Slot>) {
      if (in.size() != static_cast<size_t>(n) * sizeof(Slot)) {
        return Status::Io("aggregate state: {} bytes for {} groups of {} bytes", in.size(), n,
                          sizeof(Slot));
      }
      for (int64_t i = 0; i < n; ++i) {
        std::memcpy(static_cast<void*>(&slots_[groups[i]]), in.data() + i * sizeof(Slot),
                    sizeof(Slot));
      }
      return Status::Ok();
    } else {
      return AggregateState::DeserializeGroups(in, groups, n);
    }
  }
  Status SerializeEachGroup(const uint32_t* groups, int64_t n, ColumnBuilder* out) const override {
    if constexpr (std::is_trivially_copyable_v<Slot>) {
      for (int64_t i = 0; i < n; ++i) {
        out->AppendString(
            std::string_view(reinterpret_cast<const char*>(&slots_[groups[i]]), sizeof(Slot)));
      }
      return Status::Ok();
    } else {
      return AggregateState::SerializeEachGroup(groups, n, out);
    }
  }
  Status DeserializeEachGroup(const Column& values, const int32_t* rows, const uint32_t* groups,
                              int64_t n) override {
    if constexpr (std::is_trivially_copyable_v<Slot>) {
      for (int64_t i = 0; i < n; ++i) {
        std::string_view in = values.GetString(rows ? rows[i] : i);
        if (in.size() != sizeof(Slot)) {
          return Status::Io("aggregate state: {} bytes for a group of {} bytes", in.size(),
                            sizeof(Slot));
        }
        std::memcpy(static_cast<void*>(&slots_[groups[i]]), in.data(), sizeof(Slot));
      }
      return Status::Ok();
    } else {
      return AggregateState::DeserializeEachGroup(values, rows, groups, n);
    }
  }

 protected:
  // Heap bytes owned by the slots (strings, vectors), for MemoryBytes.
  virtual int64_t ExtraBytes() const { return 0; }
  // `other` as this state's own type: Merge and Subtract only ever see states made by the same
  // bound aggregate.
  template <typename Self>
  static const Self& Same(const AggregateState& other) {
    SLUICE_DCHECK(dynamic_cast<const Self*>(&other) != nullptr, "merging unrelated states");
    return static_cast<const Self&>(other);
  }

  std::vector<Slot> slots_;
  Slot empty_;
};

// Calls fn(i) for each row i in [0, n) whose value in `c` is not NULL.
template <typename Fn>
inline void ForEachValid(const Column& c, int64_t n, Fn&& fn) {
  if (!c.validity) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  const uint8_t* bits = c.validity->data();
  for (int64_t i = 0; i < n; ++i) {
    if (batch::GetBit(bits, i)) fn(i);
  }
}

// Calls fn(i) for each row not NULL in any of `cols`.
template <typename Fn>
inline void ForEachValidAll(std::span<const ColumnPtr> cols, int64_t n, Fn&& fn) {
  int with_nulls = 0;
  const uint8_t* bits[4] = {};
  for (const auto& c : cols) {
    if (c->validity) bits[with_nulls++] = c->validity->data();
  }
  SLUICE_CHECK(with_nulls <= 4, "too many arguments");
  if (with_nulls == 0) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    bool valid = true;
    for (int k = 0; k < with_nulls; ++k) valid &= batch::GetBit(bits[k], i);
    if (valid) fn(i);
  }
}

// A fixed-width result column for `n` groups: fill(g, &value) stores group g's value and
// returns false when the result is NULL.
template <typename T, typename Fill>
ColumnPtr MakeFixedResult(const DataType& type, const uint32_t* groups, int64_t n, Fill&& fill) {
  auto out = Column::MakeFixed(type, n);
  T* values = out->template mutable_raw<T>();
  for (int64_t j = 0; j < n; ++j) {
    if (!fill(groups[j], &values[j])) {
      values[j] = T{};
      if (!out->validity) out->validity = Column::MakeAllValidBitmap(n);
      batch::ClearBit(out->validity->data(), j);
    }
  }
  return out;
}

// A BOOLEAN result column, same contract as MakeFixedResult.
template <typename Fill>
ColumnPtr MakeBoolResult(const uint32_t* groups, int64_t n, Fill&& fill) {
  auto out = Column::MakeFixed(types::Bool(), n);
  uint8_t* bits = out->values->data();
  for (int64_t j = 0; j < n; ++j) {
    bool v = false;
    if (fill(groups[j], &v)) {
      if (v) batch::SetBit(bits, j);
    } else {
      if (!out->validity) out->validity = Column::MakeAllValidBitmap(n);
      batch::ClearBit(out->validity->data(), j);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Typed dispatch

template <typename T>
struct TypeTag {
  using type = T;
};

// Calls fn(TypeTag<T>{}) with T the C++ type of the values of a fixed-width type (integers,
// floats, DECIMAL as int128, DATE as int32, TIME and TIMESTAMP as int64, INTERVAL) and returns
// its result; other types call fallback().
template <typename Fn, typename Fallback>
decltype(auto) VisitFixedType(TypeId id, Fn&& fn, Fallback&& fallback) {
  switch (id) {
    case TypeId::kInt8:
      return fn(TypeTag<int8_t>{});
    case TypeId::kInt16:
      return fn(TypeTag<int16_t>{});
    case TypeId::kInt32:
    case TypeId::kDate:
      return fn(TypeTag<int32_t>{});
    case TypeId::kInt64:
    case TypeId::kTime:
    case TypeId::kTimestamp:
      return fn(TypeTag<int64_t>{});
    case TypeId::kUInt8:
      return fn(TypeTag<uint8_t>{});
    case TypeId::kUInt16:
      return fn(TypeTag<uint16_t>{});
    case TypeId::kUInt32:
      return fn(TypeTag<uint32_t>{});
    case TypeId::kUInt64:
      return fn(TypeTag<uint64_t>{});
    case TypeId::kFloat32:
      return fn(TypeTag<float>{});
    case TypeId::kFloat64:
      return fn(TypeTag<double>{});
    case TypeId::kDecimal:
      return fn(TypeTag<int128_t>{});
    case TypeId::kInterval:
      return fn(TypeTag<types::Interval>{});
    default:
      return fallback();
  }
}

// Integers only (signed and unsigned), the shape of sum, avg and the bit aggregates.
template <typename Fn, typename Fallback>
decltype(auto) VisitIntegerType(TypeId id, Fn&& fn, Fallback&& fallback) {
  switch (id) {
    case TypeId::kInt8:
      return fn(TypeTag<int8_t>{});
    case TypeId::kInt16:
      return fn(TypeTag<int16_t>{});
    case TypeId::kInt32:
      return fn(TypeTag<int32_t>{});
    case TypeId::kInt64:
      return fn(TypeTag<int64_t>{});
    case TypeId::kUInt8:
      return fn(TypeTag<uint8_t>{});
    case TypeId::kUInt16:
      return fn(TypeTag<uint16_t>{});
    case TypeId::kUInt32:
      return fn(TypeTag<uint32_t>{});
    case TypeId::kUInt64:
      return fn(TypeTag<uint64_t>{});
    default:
      return fallback();
  }
}

// Exact SQL ordering of floats: NaN sorts above every other value, as in PostgreSQL.
template <typename T>
inline bool FloatLess(T a, T b) {
  return a < b || (b != b && a == a);
}

}  // namespace sluice::expr
