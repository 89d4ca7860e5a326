// count, sum, avg, bool_and / bool_or / every, bit_and / bit_or / bit_xor (min and max:
// min_max.cc).
//
// Each state is a vector of small per-group slots updated by one typed loop per batch. Sums of
// integers accumulate in 128 bits, so no row can overflow them and Subtract is exact; the range
// of the result type is checked once, at Finalize.

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <string>

#include "expr/aggregates/aggregate_internal.h"
#include "expr/aggregates/state_codec.h"
#include "expr/aggregates/value_codec.h"

namespace sluice::expr {
namespace {

// ---------------------------------------------------------------------------------------------
// count

class CountState final : public SlotState<int64_t> {
 public:
  explicit CountState(bool star) : star_(star) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    return Count<1>(args, groups, n);
  }
  bool retractable() const override { return true; }
  Status Retract(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    return Count<-1>(args, groups, n);
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
  // Adds kSign (+1 for Update, -1 for Retract) per counted row.
  template <int kSign>
  Status Count(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) {
    int64_t* counts = slots_.data();
    if (star_) {
      for (int64_t i = 0; i < n; ++i) counts[groups[i]] += kSign;
      return Status::Ok();
    }
    if (args.empty()) return MissingArgument(args.size(), 1);
    const Column& a = *args[0];
    if (a.type.id() == TypeId::kNull) return Status::Ok();  // count(NULL) is 0
    if (!a.validity) {
      for (int64_t i = 0; i < n; ++i) counts[groups[i]] += kSign;
    } else {
      const uint8_t* bits = a.validity->data();
      for (int64_t i = 0; i < n; ++i) counts[groups[i]] += kSign * batch::GetBit(bits, i);
    }
    return Status::Ok();
  }

  bool star_;
};

// ---------------------------------------------------------------------------------------------
// sum and avg: one state, two finals.

enum class SumFinal { kInt64, kUInt64, kDouble, kDecimal, kAvg };

template <typename Acc, bool kSpecials>
struct SumSlot {
  Acc sum{};
  int64_t count = 0;  // non-NULL inputs: NULL when 0, and what avg divides by
};

// A float sum that can retract: infinities and NaNs are counted apart from the sum of the
// finite values, so retracting an infinity gives back the finite sum (Inf - Inf would be NaN).
template <>
struct SumSlot<double, true> {
  double sum = 0;
  int64_t count = 0;
  int64_t pos_inf = 0;
  int64_t neg_inf = 0;
  int64_t nan = 0;
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
// double for floats). kSpecials (floats bound for an updating input) keeps infinities and NaNs
// apart so they can be retracted.
template <typename In, typename Acc, bool kSpecials = false>
class SumState final : public SlotState<SumSlot<Acc, kSpecials>> {
  using Slot = SumSlot<Acc, kSpecials>;
  using Base = SlotState<Slot>;
  using Base::slots_;
  static_assert(!kSpecials || std::is_same_v<Acc, double>);

 public:
  SumState(SumFinal final_kind, DataType return_type, int scale)
      : final_(final_kind), return_type_(std::move(return_type)), scale_(scale) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    return Accumulate<false>(args, groups, n);
  }
  bool retractable() const override { return true; }
  Status Retract(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    return Accumulate<true>(args, groups, n);
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const Slot& from = Base::template Same<SumState>(other).slots_[src];
    Slot& to = slots_[dst];
    if constexpr (std::is_same_v<Acc, int128_t>) {
      to.sum = WrapAdd(to.sum, from.sum);
    } else {
      to.sum += from.sum;
    }
    to.count += from.count;
    if constexpr (kSpecials) {
      to.pos_inf += from.pos_inf;
      to.neg_inf += from.neg_inf;
      to.nan += from.nan;
    }
  }
  bool invertible() const override { return true; }
  void Subtract(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const Slot& from = Base::template Same<SumState>(other).slots_[src];
    Slot& to = slots_[dst];
    if constexpr (std::is_same_v<Acc, int128_t>) {
      to.sum = WrapSub(to.sum, from.sum);
    } else {
      to.sum -= from.sum;
    }
    to.count -= from.count;
    if constexpr (kSpecials) {
      to.pos_inf -= from.pos_inf;
      to.neg_inf -= from.neg_inf;
      to.nan -= from.nan;
    }
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
          *o = FloatSum(slots_[g]);
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
            *o = FloatSum(s) / static_cast<double>(s.count);
          }
          return true;
        });
        break;
    }
    if (out_of_range) return OutOfRange();
    return out;
  }

 private:
  // Adds (kRetract: removes) the non-NULL rows of args[0] to their groups.
  template <bool kRetract>
  Status Accumulate(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) {
    if (args.empty()) return MissingArgument(args.size(), 1);
    const Column& a = *args[0];
    const In* v = a.raw<In>();
    Slot* s = slots_.data();
    constexpr bool kChecked = std::is_same_v<In, int128_t>;  // decimals can overflow 128 bits
    constexpr int64_t kStep = kRetract ? -1 : 1;
    bool overflow = false;
    auto add = [&](Slot& slot, Acc x) {
      if constexpr (kChecked) {
        overflow |= kRetract ? __builtin_sub_overflow(slot.sum, x, &slot.sum)
                             : __builtin_add_overflow(slot.sum, x, &slot.sum);
      } else if constexpr (kSpecials) {
        if (std::isfinite(x)) [[likely]] {
          slot.sum += kRetract ? -x : x;
        } else if (x != x) {
          slot.nan += kStep;
        } else if (x > 0) {
          slot.pos_inf += kStep;
        } else {
          slot.neg_inf += kStep;
        }
      } else {
        slot.sum += kRetract ? -x : x;
      }
    };
    // A float sum whose rows were all retracted restarts from an exact 0, not the rounding
    // residue of adding and removing them.
    auto settle = [](Slot& slot) {
      if constexpr (kRetract && std::is_floating_point_v<Acc>) {
        slot.sum = slot.count == 0 ? Acc{} : slot.sum;
      }
    };
    if (!a.validity) {
      for (int64_t i = 0; i < n; ++i) {
        Slot& slot = s[groups[i]];
        add(slot, static_cast<Acc>(v[i]));
        slot.count += kStep;
        settle(slot);
      }
    } else {
      // Branch-free: a NULL row adds 0 (its value bytes are unspecified, never read into sums).
      const uint8_t* bits = a.validity->data();
      for (int64_t i = 0; i < n; ++i) {
        bool valid = batch::GetBit(bits, i);
        Slot& slot = s[groups[i]];
        add(slot, valid ? static_cast<Acc>(v[i]) : Acc{});
        slot.count += kStep * valid;
        settle(slot);
      }
    }
    if (overflow) return OutOfRange();
    return Status::Ok();
  }

  // The sum of a float slot, infinities and NaNs included.
  static double FloatSum(const Slot& s) {
    if constexpr (kSpecials) {
      if (s.nan > 0 || (s.pos_inf > 0 && s.neg_inf > 0)) {
        return std::numeric_limits<double>::quiet_NaN();
      }
      if (s.pos_inf > 0) return std::numeric_limits<double>::infinity();
      if (s.neg_inf > 0) return -std::numeric_limits<double>::infinity();
    }
    return static_cast<double>(s.sum);
  }

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
  if (t.id() == TypeId::kFloat32 || t.id() == TypeId::kFloat64) {
    SumFinal kind = avg ? SumFinal::kAvg : SumFinal::kDouble;
    auto make = [&](auto in_tag, auto specials) {
      using In = typename decltype(in_tag)::type;
      return bound(types::Float64(), [kind] {
        return std::make_unique<SumState<In, double, decltype(specials)::value>>(
            kind, types::Float64(), 0);
      });
    };
    if (t.id() == TypeId::kFloat32) {
      return in.retracting ? make(TypeTag<float>{}, std::true_type{})
                           : make(TypeTag<float>{}, std::false_type{});
    }
    return in.retracting ? make(TypeTag<double>{}, std::true_type{})
                         : make(TypeTag<double>{}, std::false_type{});
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
    return Count<1>(args, groups, n);
  }
  bool retractable() const override { return true; }
  Status Retract(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    return Count<-1>(args, groups, n);
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
  template <int kSign>
  Status Count(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) {
    if (args.empty()) return MissingArgument(args.size(), 1);
    const Column& a = *args[0];
    if (a.type.id() == TypeId::kNull) return Status::Ok();
    const uint8_t* bits = a.values->data();
    BoolSlot* s = slots_.data();
    ForEachValid(a, n, [&](int64_t i) {
      BoolSlot& slot = s[groups[i]];
      slot.count += kSign;
      slot.trues += kSign * batch::GetBit(bits, i);
    });
    return Status::Ok();
  }

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
  // XOR is its own inverse; AND and OR forget what they absorbed (BitCountState retracts them).
  bool invertible() const override { return kOp == BitOp::kXor; }
  bool retractable() const override { return kOp == BitOp::kXor; }
  Status Retract(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if constexpr (kOp != BitOp::kXor) {
      return AggregateState::Retract(args, groups, n);
    } else {
      if (args.empty()) return MissingArgument(args.size(), 1);
      const Column& a = *args[0];
      const T* v = a.raw<T>();
      BitSlot<T>* s = slots_.data();
      ForEachValid(a, n, [&](int64_t i) {
        BitSlot<T>& slot = s[groups[i]];
        slot.value ^= v[i];
        --slot.count;
      });
      return Status::Ok();
    }
  }
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
// bit_and and bit_or over an updating input: per group the number of inputs and, for each bit,
// the number of inputs with that bit set. A bit of bit_and is set when every input has it, of
// bit_or when one has; both survive retraction.

template <typename T>
struct BitCountSlot {
  int64_t count = 0;
  std::array<int64_t, sizeof(T) * 8> ones{};
};

template <typename T, BitOp kOp>
class BitCountState final : public SlotState<BitCountSlot<T>> {
  using Base = SlotState<BitCountSlot<T>>;
  using Base::slots_;
  using U = std::make_unsigned_t<T>;
  static constexpr int kBits = sizeof(T) * 8;
  static_assert(kOp != BitOp::kXor, "bit_xor retracts with BitState");

 public:
  explicit BitCountState(DataType type) : type_(std::move(type)) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    return Count<1>(args, groups, n);
  }
  bool retractable() const override { return true; }
  Status Retract(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    return Count<-1>(args, groups, n);
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    Combine(other, src, dst, 1);
  }
  bool invertible() const override { return true; }
  void Subtract(const AggregateState& other, uint32_t src, uint32_t dst) override {
    Combine(other, src, dst, -1);
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    return MakeFixedResult<T>(type_, groups, n, [&](uint32_t g, T* out) {
      const BitCountSlot<T>& s = slots_[g];
      U v = 0;
      for (int b = 0; b < kBits; ++b) {
        bool set = kOp == BitOp::kAnd ? s.ones[b] == s.count : s.ones[b] > 0;
        v |= static_cast<U>(static_cast<U>(set) << b);
      }
      *out = static_cast<T>(v);
      return s.count > 0;
    });
  }

 private:
  template <int kSign>
  Status Count(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) {
    if (args.empty()) return MissingArgument(args.size(), 1);
    const Column& a = *args[0];
    const T* v = a.raw<T>();
    BitCountSlot<T>* s = slots_.data();
    ForEachValid(a, n, [&](int64_t i) {
      BitCountSlot<T>& slot = s[groups[i]];
      U x = static_cast<U>(v[i]);
      slot.count += kSign;
      for (int b = 0; b < kBits; ++b) slot.ones[b] += kSign * static_cast<int64_t>((x >> b) & 1);
    });
    return Status::Ok();
  }
  void Combine(const AggregateState& other, uint32_t src, uint32_t dst, int64_t sign) {
    const BitCountSlot<T> from = Base::template Same<BitCountState>(other).slots_[src];
    BitCountSlot<T>& to = slots_[dst];
    to.count += sign * from.count;
    for (int b = 0; b < kBits; ++b) to.ones[b] += sign * from.ones[b];
  }

  DataType type_;
};

// ---------------------------------------------------------------------------------------------
// Bind callbacks

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
        std::shared_ptr<const AggregateFunction> fn;
        if constexpr (kOp != BitOp::kXor) {
          if (in.retracting) {
            fn = MakeFunction([t] { return std::make_unique<BitCountState<T, kOp>>(t); });
          }
        }
        if (!fn) fn = MakeFunction([t] { return std::make_unique<BitState<T, kOp>>(t); });
        BoundAggregate b = MakeBound({t}, t, std::move(fn));
        b.distinct = in.distinct && kOp != BitOp::kXor;  // x & x = x | x = x; not so for xor
        return b;
      },
      [&]() -> Result<BoundAggregate> { return NoMatchingAggregate(name, in, "integers"); });
}

}  // namespace

std::shared_ptr<const AggregateFunction> MakeBoolAndOrFunction(bool is_and) {
  return MakeFunction([is_and] { return std::make_unique<BoolState>(is_and); });
}

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
           BoundAggregate b =
               MakeBound({t}, types::Int64(), MakeCountDistinctFunction(t, in.retracting));
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
