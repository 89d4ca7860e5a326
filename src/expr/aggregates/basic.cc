// count, sum, avg, min, max, bool_and / bool_or / every, bit_and / bit_or / bit_xor.
//
// Each state is a vector of small per-group slots updated by one typed loop per batch. Sums of
// integers accumulate in 128 bits, so no row can overflow them and Subtract is exact; the range
// of the result type is checked once, at Finalize.

#include <cmath>
#include <limits>

#include "expr/aggregates/aggregate_internal.h"

namespace sluice::expr {
namespace {

Status MissingArgument(size_t got, size_t want) {
  return Status::Internal("aggregate update with {} argument columns, expected {}", got, want);
}

// ---------------------------------------------------------------------------------------------
// count

class CountState final : public SlotState<int64_t> {
 public:
  explicit CountState(bool star) : star_(star) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    int64_t* counts = slots_.data();
    if (star_) {
      for (int64_t i = 0; i < n; ++i) ++counts[groups[i]];
      return Status::Ok();
    }
    if (args.empty()) return MissingArgument(args.size(), 1);
    const Column& a = *args[0];
    if (a.type.id() == TypeId::kNull) return Status::Ok();  // count(NULL) is 0
    if (!a.validity) {
      for (int64_t i = 0; i < n; ++i) ++counts[groups[i]];
    } else {
      const uint8_t* bits = a.validity->data();
      for (int64_t i = 0; i < n; ++i) counts[groups[i]] += batch::GetBit(bits, i);
    }
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    slots_[dst] += Same<CountState>(other).slots_[src];
  }
  bool invertible() const override { return true; }
  void Subtract(const AggregateState& other, uint32_t src, uint32_t dst) override {
    slots_[dst] -= Same<CountState>(other).slots_[src];
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    return MakeFixedResult<int64_t>(types::Int64(), groups, n, [&](uint32_t g, int64_t* out) {
      *out = slots_[g];
      return true;
    });
  }

 private:
  bool star_;
};

// ---------------------------------------------------------------------------------------------
// sum and avg: one state, two finals.

enum class SumFinal { kInt64, kUInt64, kDouble, kDecimal, kAvg };

template <typename Acc>
struct SumSlot {
  Acc sum{};
  int64_t count = 0;  // non-NULL inputs: NULL when 0, and what avg divides by
};

constexpr int128_t kDecimalLimit = [] {
  int128_t r = 1;
  for (int i = 0; i < 38; ++i) r *= 10;
  return r;
}();

// Wrapping add and subtract for the 128-bit decimal accumulator: Merge and Subtract cannot fail,
// and modular arithmetic gives the exact result whenever the final sum is in range.
inline int128_t WrapAdd(int128_t a, int128_t b) {
  return static_cast<int128_t>(static_cast<unsigned __int128>(a) +
                               static_cast<unsigned __int128>(b));
}
inline int128_t WrapSub(int128_t a, int128_t b) {
  return static_cast<int128_t>(static_cast<unsigned __int128>(a) -
                               static_cast<unsigned __int128>(b));
}

// `In` is the argument's C++ type, `Acc` the accumulator (int128 for integers and decimals,
// double for floats).
template <typename In, typename Acc>
class SumState final : public SlotState<SumSlot<Acc>> {
  using Base = SlotState<SumSlot<Acc>>;
  using Base::slots_;

 public:
  SumState(SumFinal final_kind, DataType return_type, int scale)
      : final_(final_kind), return_type_(std::move(return_type)), scale_(scale) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return MissingArgument(args.size(), 1);
    const Column& a = *args[0];
    const In* v = a.raw<In>();
    SumSlot<Acc>* s = slots_.data();
    constexpr bool kChecked = std::is_same_v<In, int128_t>;  // decimals can overflow 128 bits
    bool overflow = false;
    if (!a.validity) {
      for (int64_t i = 0; i < n; ++i) {
        SumSlot<Acc>& slot = s[groups[i]];
        if constexpr (kChecked) {
          overflow |= __builtin_add_overflow(slot.sum, v[i], &slot.sum);
        } else {
          slot.sum += static_cast<Acc>(v[i]);
        }
        ++slot.count;
      }
    } else {
      // Branch-free: a NULL row adds 0 (its value bytes are unspecified, never read into sums).
      const uint8_t* bits = a.validity->data();
      for (int64_t i = 0; i < n; ++i) {
        bool valid = batch::GetBit(bits, i);
        SumSlot<Acc>& slot = s[groups[i]];
        Acc x = valid ? static_cast<Acc>(v[i]) : Acc{};
        if constexpr (kChecked) {
          overflow |= __builtin_add_overflow(slot.sum, x, &slot.sum);
        } else {
          slot.sum += x;
        }
        slot.count += valid;
      }
    }
    if (overflow) return OutOfRange();
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const SumSlot<Acc>& from = Base::template Same<SumState>(other).slots_[src];
    SumSlot<Acc>& to = slots_[dst];
    if constexpr (std::is_same_v<Acc, int128_t>) {
      to.sum = WrapAdd(to.sum, from.sum);
    } else {
      to.sum += from.sum;
    }
    to.count += from.count;
  }
  bool invertible() const override { return true; }
  void Subtract(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const SumSlot<Acc>& from = Base::template Same<SumState>(other).slots_[src];
    SumSlot<Acc>& to = slots_[dst];
    if constexpr (std::is_same_v<Acc, int128_t>) {
      to.sum = WrapSub(to.sum, from.sum);
    } else {
      to.sum -= from.sum;
    }
    to.count -= from.count;
    if (to.count == 0) to.sum = Acc{};  // drop float residue so an emptied group restarts clean
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    bool out_of_range = false;
    ColumnPtr out;
    switch (final_) {
      case SumFinal::kInt64:
        out = MakeFixedResult<int64_t>(return_type_, groups, n, [&](uint32_t g, int64_t* o) {
          const auto& s = slots_[g];
          if constexpr (std::is_same_v<Acc, int128_t>) {
            out_of_range |= s.sum < std::numeric_limits<int64_t>::min() ||
                            s.sum > std::numeric_limits<int64_t>::max();
          }
          *o = static_cast<int64_t>(s.sum);
          return s.count > 0;
        });
        break;
      case SumFinal::kUInt64:
        out = MakeFixedResult<uint64_t>(return_type_, groups, n, [&](uint32_t g, uint64_t* o) {
          const auto& s = slots_[g];
          if constexpr (std::is_same_v<Acc, int128_t>) {
            out_of_range |= s.sum < 0 || s.sum > std::numeric_limits<uint64_t>::max();
          }
          *o = static_cast<uint64_t>(s.sum);
          return s.count > 0;
        });
        break;
      case SumFinal::kDouble:
        out = MakeFixedResult<double>(return_type_, groups, n, [&](uint32_t g, double* o) {
          *o = static_cast<double>(slots_[g].sum);
          return slots_[g].count > 0;
        });
        break;
      case SumFinal::kDecimal:
        out = MakeFixedResult<int128_t>(return_type_, groups, n, [&](uint32_t g, int128_t* o) {
          const auto& s = slots_[g];
          if constexpr (std::is_same_v<Acc, int128_t>) {
            out_of_range |= s.count > 0 && (s.sum >= kDecimalLimit || s.sum <= -kDecimalLimit);
            *o = s.sum;
          } else {
            *o = 0;  // never bound: DECIMAL sums accumulate in 128 bits
          }
          return s.count > 0;
        });
        break;
      case SumFinal::kAvg:
        out = MakeFixedResult<double>(return_type_, groups, n, [&](uint32_t g, double* o) {
          const auto& s = slots_[g];
          if (s.count == 0) return false;
          if constexpr (std::is_same_v<Acc, int128_t>) {
            // Integer quotient and remainder apart: exact up to the final rounding, where
            // converting the 128-bit sum first would round away its low digits.
            int128_t q = s.sum / s.count, r = s.sum % s.count;
            double avg = static_cast<double>(q) + static_cast<double>(r) / s.count;
            *o = scale_ == 0 ? avg : avg / std::pow(10.0, scale_);
          } else {
            *o = s.sum / static_cast<double>(s.count);
          }
          return true;
        });
        break;
    }
    if (out_of_range) return OutOfRange();
    return out;
  }

 private:
  Status OutOfRange() const {
    switch (final_) {
      case SumFinal::kInt64:
        return Status::User("bigint out of range in sum()");
      case SumFinal::kUInt64:
        return Status::User("bigint unsigned out of range in sum()");
      default:
        return Status::User("numeric out of range in {}() (more than 38 digits)",
                            final_ == SumFinal::kAvg ? "avg" : "sum");
    }
  }

  SumFinal final_;
  DataType return_type_;
  int scale_;
};

// Binds sum (avg = false) or avg over any numeric type.
Result<BoundAggregate> BindSumAvg(const std::string& name, const AggregateBindInput& in, bool avg) {
  SLUICE_RETURN_NOT_OK(CheckArity(name, in, 1, "numbers"));
  DataType t = in.types[0].id() == TypeId::kNull ? types::Int64() : in.types[0];
  auto bound = [&](DataType ret, auto make) { return MakeBound({t}, ret, MakeFunction(make)); };
  if (t.is_integer()) {
    return VisitIntegerType(
        t.id(),
        [&](auto tag) -> Result<BoundAggregate> {
          using T = typename decltype(tag)::type;
          SumFinal kind = avg                     ? SumFinal::kAvg
                          : t.is_signed_integer() ? SumFinal::kInt64
                                                  : SumFinal::kUInt64;
          DataType ret =
              avg ? types::Float64() : (t.is_signed_integer() ? types::Int64() : types::UInt64());
          return bound(
              ret, [kind, ret] { return std::make_unique<SumState<T, int128_t>>(kind, ret, 0); });
        },
        []() -> Result<BoundAggregate> { return Status::Internal("not an integer"); });
  }
  if (t.id() == TypeId::kFloat32) {
    return bound(types::Float64(), [avg] {
      return std::make_unique<SumState<float, double>>(avg ? SumFinal::kAvg : SumFinal::kDouble,
                                                       types::Float64(), 0);
    });
  }
  if (t.id() == TypeId::kFloat64) {
    return bound(types::Float64(), [avg] {
      return std::make_unique<SumState<double, double>>(avg ? SumFinal::kAvg : SumFinal::kDouble,
                                                        types::Float64(), 0);
    });
  }
  if (t.id() == TypeId::kDecimal) {
    DataType ret = avg ? types::Float64() : DataType::Decimal(38, t.scale());
    int scale = t.scale();
    return bound(ret, [avg, ret, scale] {
      return std::make_unique<SumState<int128_t, int128_t>>(
          avg ? SumFinal::kAvg : SumFinal::kDecimal, ret, scale);
    });
  }
  return NoMatchingAggregate(name, in, "numbers");
}

// ---------------------------------------------------------------------------------------------
// min and max

template <typename T>
inline bool OrderLess(const T& a, const T& b) {
  if constexpr (std::is_floating_point_v<T>) {
    return FloatLess(a, b);
  } else if constexpr (std::is_same_v<T, types::Interval>) {
    // PostgreSQL orders intervals by their length with a month as 30 days.
    auto key = [](const types::Interval& v) {
      return (static_cast<int128_t>(v.months) * 30 + v.days) * 86400000000LL + v.micros;
    };
    return key(a) < key(b);
  } else {
    return a < b;
  }
}

// The value every input beats (lowest for max, highest for min), so the update needs no
// "is this the first value" test; none for intervals, which fall back to that test.
template <typename T, bool kMax>
constexpr bool kHasSentinel = !std::is_same_v<T, types::Interval>;

template <typename T, bool kMax>
T Sentinel() {
  if constexpr (std::is_floating_point_v<T>) {
    return kMax ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::quiet_NaN();
  } else if constexpr (std::is_same_v<T, int128_t>) {
    int128_t max = static_cast<int128_t>((static_cast<unsigned __int128>(1) << 127) - 1);
    return kMax ? -max - 1 : max;
  } else if constexpr (std::is_same_v<T, types::Interval>) {
    return T{};
  } else {
    return kMax ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
}

template <typename T, bool kMax>
class MinMaxState final : public AggregateState {
 public:
  explicit MinMaxState(DataType type) : type_(std::move(type)) {}

  static bool Better(const T& a, const T& b) { return kMax ? OrderLess(b, a) : OrderLess(a, b); }

  void Resize(int64_t groups) override {
    values_.resize(static_cast<size_t>(groups), Sentinel<T, kMax>());
    has_.resize(static_cast<size_t>(groups), 0);
  }
  int64_t num_groups() const override { return static_cast<int64_t>(has_.size()); }
  void Clear(uint32_t g) override {
    values_[g] = Sentinel<T, kMax>();
    has_[g] = 0;
  }
  int64_t MemoryBytes() const override {
    return static_cast<int64_t>(values_.capacity() * sizeof(T) + has_.capacity());
  }

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return MissingArgument(args.size(), 1);
    const Column& a = *args[0];
    const T* v = a.raw<T>();
    T* values = values_.data();
    uint8_t* has = has_.data();
    auto step = [&](int64_t i) {
      uint32_t g = groups[i];
      if constexpr (kHasSentinel<T, kMax>) {
        values[g] = Better(v[i], values[g]) ? v[i] : values[g];
      } else {
        if (!has[g] || Better(v[i], values[g])) values[g] = v[i];
      }
      has[g] = 1;
    };
    ForEachValid(a, n, step);
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const auto& o = static_cast<const MinMaxState&>(other);
    if (!o.has_[src]) return;
    if (!has_[dst] || Better(o.values_[src], values_[dst])) values_[dst] = o.values_[src];
    has_[dst] = 1;
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    return MakeFixedResult<T>(type_, groups, n, [&](uint32_t g, T* out) {
      *out = values_[g];
      return has_[g] != 0;
    });
  }

 private:
  DataType type_;
  std::vector<T> values_;
  std::vector<uint8_t> has_;
};

// Text and BYTEA: byte order, as PostgreSQL's "C" collation. The kept string is assigned only
// when a row beats it, reusing its capacity.
template <bool kMax>
class StringMinMaxState final : public AggregateState {
 public:
  explicit StringMinMaxState(DataType type) : type_(std::move(type)) {}

  void Resize(int64_t groups) override {
    values_.resize(static_cast<size_t>(groups));
    has_.resize(static_cast<size_t>(groups), 0);
  }
  int64_t num_groups() const override { return static_cast<int64_t>(has_.size()); }
  void Clear(uint32_t g) override {
    values_[g].clear();
    has_[g] = 0;
  }
  int64_t MemoryBytes() const override {
    int64_t bytes = static_cast<int64_t>(values_.capacity() * sizeof(std::string) + has_.size());
    for (const auto& s : values_) bytes += s.capacity() > 15 ? s.capacity() : 0;
    return bytes;
  }

  void Offer(uint32_t g, std::string_view s) {
    if (!has_[g] || (kMax ? s > values_[g] : s < values_[g])) values_[g].assign(s);
    has_[g] = 1;
  }
  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return MissingArgument(args.size(), 1);
    const Column& a = *args[0];
    ForEachValid(a, n, [&](int64_t i) { Offer(groups[i], a.GetString(i)); });
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const auto& o = static_cast<const StringMinMaxState&>(other);
    if (!o.has_[src]) return;
    if (&o == this && src == dst) return;
    Offer(dst, o.values_[src]);
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    ColumnBuilder b(type_);
    b.Reserve(n);
    for (int64_t j = 0; j < n; ++j) {
      if (has_[groups[j]]) {
        b.AppendString(values_[groups[j]]);
      } else {
        b.AppendNull();
      }
    }
    return b.Finish();
  }

 private:
  DataType type_;
  std::vector<std::string> values_;
  std::vector<uint8_t> has_;
};

// Arrays and structs: compared as values, element by element (slow path; rare in practice).
template <bool kMax>
class ValueMinMaxState final : public SlotState<Value> {
 public:
  explicit ValueMinMaxState(DataType type) : type_(std::move(type)) {}

  void Offer(uint32_t g, Value v) {
    Value& cur = slots_[g];
    int c = cur.is_null() ? 0 : types::CompareValues(v, cur);
    if (cur.is_null() || (kMax ? c > 0 : c < 0)) cur = std::move(v);
  }
  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return MissingArgument(args.size(), 1);
    const Column& a = *args[0];
    if (a.type.id() == TypeId::kNull) return Status::Ok();
    ForEachValid(a, n, [&](int64_t i) { Offer(groups[i], a.GetValue(i)); });
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const Value& v = Same<ValueMinMaxState>(other).slots_[src];
    if (!v.is_null()) Offer(dst, Value(v));
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    ColumnBuilder b(type_);
    for (int64_t j = 0; j < n; ++j) b.AppendValue(slots_[groups[j]]);
    return b.Finish();
  }

 private:
  DataType type_;
};

// ---------------------------------------------------------------------------------------------
// bool_and, bool_or (and min/max of BOOLEAN): counts of inputs and of TRUE inputs, which makes
// them invertible.

struct BoolSlot {
  int64_t count = 0;
  int64_t trues = 0;
};

class BoolState final : public SlotState<BoolSlot> {
 public:
  explicit BoolState(bool is_and) : and_(is_and) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return MissingArgument(args.size(), 1);
    const Column& a = *args[0];
    if (a.type.id() == TypeId::kNull) return Status::Ok();
    const uint8_t* bits = a.values->data();
    BoolSlot* s = slots_.data();
    ForEachValid(a, n, [&](int64_t i) {
      BoolSlot& slot = s[groups[i]];
      ++slot.count;
      slot.trues += batch::GetBit(bits, i);
    });
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const BoolSlot& from = Same<BoolState>(other).slots_[src];
    slots_[dst].count += from.count;
    slots_[dst].trues += from.trues;
  }
  bool invertible() const override { return true; }
  void Subtract(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const BoolSlot& from = Same<BoolState>(other).slots_[src];
    slots_[dst].count -= from.count;
    slots_[dst].trues -= from.trues;
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    return MakeBoolResult(groups, n, [&](uint32_t g, bool* out) {
      const BoolSlot& s = slots_[g];
      *out = and_ ? s.trues == s.count : s.trues > 0;
      return s.count > 0;
    });
  }

 private:
  bool and_;
};

// ---------------------------------------------------------------------------------------------
// bit_and, bit_or, bit_xor

enum class BitOp { kAnd, kOr, kXor };

template <typename T>
struct BitSlot {
  T value;
  int64_t count;
};

template <typename T, BitOp kOp>
class BitState final : public SlotState<BitSlot<T>> {
  using Base = SlotState<BitSlot<T>>;
  using Base::slots_;

 public:
  explicit BitState(DataType type)
      : Base(BitSlot<T>{kOp == BitOp::kAnd ? static_cast<T>(~T{0}) : T{0}, 0}),
        type_(std::move(type)) {}

  static void Apply(T* acc, T v) {
    if constexpr (kOp == BitOp::kAnd) {
      *acc &= v;
    } else if constexpr (kOp == BitOp::kOr) {
      *acc |= v;
    } else {
      *acc ^= v;
    }
  }
  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return MissingArgument(args.size(), 1);
    const Column& a = *args[0];
    const T* v = a.raw<T>();
    BitSlot<T>* s = slots_.data();
    ForEachValid(a, n, [&](int64_t i) {
      BitSlot<T>& slot = s[groups[i]];
      Apply(&slot.value, v[i]);
      ++slot.count;
    });
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const BitSlot<T>& from = Base::template Same<BitState>(other).slots_[src];
    if (from.count == 0) return;
    Apply(&slots_[dst].value, from.value);
    slots_[dst].count += from.count;
  }
  // XOR is its own inverse; AND and OR forget what they absorbed.
  bool invertible() const override { return kOp == BitOp::kXor; }
  void Subtract(const AggregateState& other, uint32_t src, uint32_t dst) override {
    if constexpr (kOp == BitOp::kXor) {
      const BitSlot<T>& from = Base::template Same<BitState>(other).slots_[src];
      slots_[dst].value ^= from.value;
      slots_[dst].count -= from.count;
    }
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    return MakeFixedResult<T>(type_, groups, n, [&](uint32_t g, T* out) {
      *out = slots_[g].value;
      return slots_[g].count > 0;
    });
  }

 private:
  DataType type_;
};

// ---------------------------------------------------------------------------------------------
// Bind callbacks

constexpr const char* kComparable =
    "numbers, text, bytea, booleans, dates, times, timestamps, intervals, arrays and structs";

template <bool kMax>
Result<BoundAggregate> BindMinMax(const std::string& name, const AggregateBindInput& in) {
  SLUICE_RETURN_NOT_OK(CheckArity(name, in, 1, kComparable));
  const DataType& t = in.types[0];
  std::shared_ptr<const AggregateFunction> fn;
  switch (t.id()) {
    case TypeId::kJson:
      return NoMatchingAggregate(name, in, kComparable);
    case TypeId::kBool:
      fn = MakeFunction([] { return std::make_unique<BoolState>(!kMax); });
      break;
    case TypeId::kUtf8:
    case TypeId::kBinary:
      fn = MakeFunction([t] { return std::make_unique<StringMinMaxState<kMax>>(t); });
      break;
    case TypeId::kNull:
    case TypeId::kList:
    case TypeId::kStruct:
      fn = MakeFunction([t] { return std::make_unique<ValueMinMaxState<kMax>>(t); });
      break;
    default:
      fn = VisitFixedType(
          t.id(),
          [&](auto tag) -> std::shared_ptr<const AggregateFunction> {
            using T = typename decltype(tag)::type;
            return MakeFunction([t] { return std::make_unique<MinMaxState<T, kMax>>(t); });
          },
          []() -> std::shared_ptr<const AggregateFunction> { return nullptr; });
      if (!fn) return NoMatchingAggregate(name, in, kComparable);
  }
  BoundAggregate b = MakeBound({t}, t, std::move(fn));
  b.distinct = in.distinct;  // DISTINCT does not change a minimum or maximum
  return b;
}

Result<BoundAggregate> BindBool(const std::string& name, const AggregateBindInput& in,
                                bool is_and) {
  SLUICE_RETURN_NOT_OK(CheckArity(name, in, 1, "booleans"));
  if (in.types[0].id() != TypeId::kBool && in.types[0].id() != TypeId::kNull) {
    return NoMatchingAggregate(name, in, "booleans");
  }
  BoundAggregate b =
      MakeBound({types::Bool()}, types::Bool(),
                MakeFunction([is_and] { return std::make_unique<BoolState>(is_and); }));
  b.distinct = in.distinct;
  return b;
}

template <BitOp kOp>
Result<BoundAggregate> BindBit(const std::string& name, const AggregateBindInput& in) {
  SLUICE_RETURN_NOT_OK(CheckArity(name, in, 1, "integers"));
  DataType t = in.types[0].id() == TypeId::kNull ? types::Int64() : in.types[0];
  return VisitIntegerType(
      t.id(),
      [&](auto tag) -> Result<BoundAggregate> {
        using T = typename decltype(tag)::type;
        BoundAggregate b =
            MakeBound({t}, t, MakeFunction([t] { return std::make_unique<BitState<T, kOp>>(t); }));
        b.distinct = in.distinct && kOp != BitOp::kXor;  // x & x = x | x = x; not so for xor
        return b;
      },
      [&]() -> Result<BoundAggregate> { return NoMatchingAggregate(name, in, "integers"); });
}

}  // namespace

void RegisterBasicAggregates(AggregateDefinitions* defs) {
  defs->push_back(
      {"count",
       [](const std::string& name, const AggregateBindInput& in) -> Result<BoundAggregate> {
         if (in.star) {
           if (!in.types.empty()) return NoMatchingAggregate(name, in, "* or a value");
           return MakeBound({}, types::Int64(),
                            MakeFunction([] { return std::make_unique<CountState>(true); }));
         }
         SLUICE_RETURN_NOT_OK(CheckArity(name, in, 1, "* or one value of any type"));
         const DataType& t = in.types[0];
         if (in.distinct) {
           BoundAggregate b = MakeBound({t}, types::Int64(), MakeCountDistinctFunction(t));
           b.distinct = true;
           return b;
         }
         return MakeBound({t}, types::Int64(),
                          MakeFunction([] { return std::make_unique<CountState>(false); }));
       }});
  defs->push_back({"sum", [](const std::string& name, const AggregateBindInput& in) {
                     return BindSumAvg(name, in, false);
                   }});
  for (const char* avg : {"avg", "mean"}) {
    defs->push_back({avg, [](const std::string& name, const AggregateBindInput& in) {
                       return BindSumAvg(name, in, true);
                     }});
  }
  defs->push_back({"min", BindMinMax<false>});
  defs->push_back({"max", BindMinMax<true>});
  for (const char* and_name : {"bool_and", "every"}) {
    defs->push_back({and_name, [](const std::string& name, const AggregateBindInput& in) {
                       return BindBool(name, in, true);
                     }});
  }
  defs->push_back({"bool_or", [](const std::string& name, const AggregateBindInput& in) {
                     return BindBool(name, in, false);
                   }});
  defs->push_back({"bit_and", BindBit<BitOp::kAnd>});
  defs->push_back({"bit_or", BindBit<BitOp::kOr>});
  defs->push_back({"bit_xor", BindBit<BitOp::kXor>});
}

}  // namespace sluice::expr
