// count, sum, avg, min, max, bool_and / bool_or / every, bit_and / bit_or / bit_xor.
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

Status MissingArgument(size_t got, size_t want) {
  return Status::Internal("aggregate update with {} argument columns, expected {}", got, want);
}

// A Value (arrays, structs: the slow path) in value_codec form, for checkpoints.
void PutValueOf(const DataType& type, const Value& v, std::string* out) {
  ColumnBuilder b(type);
  b.AppendValue(v);
  ColumnPtr c = b.Finish();
  EncodeValue(*c, 0, out);
}

// Reads what PutValueOf wrote (checked); a NULL reads as the default Value.
bool GetValueOf(const DataType& type, SlotReader* in, Value* v) {
  std::string_view before = in->rest();
  if (!SkipEncodedValue(type, in)) return false;
  std::string_view encoded = before.substr(0, before.size() - in->rest().size());
  ColumnBuilder b(type);
  DecodeValue(&encoded, &b);
  ColumnPtr c = b.Finish();
  *v = c->IsNull(0) ? Value() : c->GetValue(0);
  return true;
}

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
  // Per group: a has-value byte, then the value's bytes.
  bool serializable() const override { return true; }
  Status SerializeGroups(const uint32_t* groups, int64_t n, std::string* out) const override {
    for (int64_t i = 0; i < n; ++i) {
      out->push_back(static_cast<char>(has_[groups[i]]));
      out->append(reinterpret_cast<const char*>(&values_[groups[i]]), sizeof(T));
    }
    return Status::Ok();
  }
  Status DeserializeGroups(std::string_view in, const uint32_t* groups, int64_t n) override {
    if (in.size() != static_cast<size_t>(n) * (1 + sizeof(T))) {
      return Status::Io("min/max state: {} bytes for {} groups", in.size(), n);
    }
    for (int64_t i = 0; i < n; ++i) {
      const char* p = in.data() + i * static_cast<int64_t>(1 + sizeof(T));
      has_[groups[i]] = static_cast<uint8_t>(p[0]);
      std::memcpy(static_cast<void*>(&values_[groups[i]]), p + 1, sizeof(T));
    }
    return Status::Ok();
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
  // Per group: a has-value byte, the length (8 bytes), the bytes.
  bool serializable() const override { return true; }
  Status SerializeGroups(const uint32_t* groups, int64_t n, std::string* out) const override {
    for (int64_t i = 0; i < n; ++i) {
      const std::string& v = values_[groups[i]];
      uint64_t size = v.size();
      out->push_back(static_cast<char>(has_[groups[i]]));
      out->append(reinterpret_cast<const char*>(&size), sizeof(size));
      out->append(v);
    }
    return Status::Ok();
  }
  Status DeserializeGroups(std::string_view in, const uint32_t* groups, int64_t n) override {
    for (int64_t i = 0; i < n; ++i) {
      uint64_t size = 0;
      if (in.size() < 1 + sizeof(size)) return Status::Io("min/max state is truncated");
      has_[groups[i]] = static_cast<uint8_t>(in[0]);
      std::memcpy(&size, in.data() + 1, sizeof(size));
      in.remove_prefix(1 + sizeof(size));
      if (in.size() < size) return Status::Io("min/max state is truncated");
      values_[groups[i]].assign(in.substr(0, static_cast<size_t>(size)));
      in.remove_prefix(static_cast<size_t>(size));
    }
    if (!in.empty()) return Status::Io("min/max state has trailing bytes");
    return Status::Ok();
  }

 private:
  DataType type_;
  std::vector<std::string> values_;
  std::vector<uint8_t> has_;
};

// Checkpoints of a Value slot: its value_codec encoding (NULL for no value).
struct ValueCodec {
  DataType type;
  std::string_view name() const { return "min/max"; }
  void Encode(const Value& v, std::string* out) const { PutValueOf(type, v, out); }
  bool Decode(SlotReader* in, Value* v) const { return GetValueOf(type, in, v); }
};

// Arrays and structs: compared as values, element by element (slow path; rare in practice).
template <bool kMax>
class ValueMinMaxState final : public CodedSlotState<Value, ValueCodec> {
 public:
  explicit ValueMinMaxState(DataType type) : CodedSlotState({type}), type_(std::move(type)) {}

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
// min and max over an updating input: each group keeps the multiset of its values, so
// retracting the current extreme makes the next one current without rescanning anything.
//
// The multiset is two binary heaps in contiguous memory, best value on top: the values added,
// and the values retracted. A retracted value is cancelled against its equal when it reaches
// the top of the retracted heap and that equal is on top of the values, so after every change
// the top of the values is a value the group holds (O(log k) per row, one or two cache lines
// per row, where a tree of nodes costs a miss per level). When retracted values pile up below
// the top, both heaps are compacted (sorted and cancelled), which bounds memory to a small
// multiple of the values held at O(log k) amortized. A retraction of a value the group does
// not hold (it came before its row) is kept as a negative count that cancels its next
// addition (Z-set semantics); that is rare and kept in a side map.

template <typename T, typename Less, bool kMax>
class HeapMinMaxBase : public AggregateState {
 public:
  void Resize(int64_t groups) override { slots_.resize(static_cast<size_t>(groups)); }
  int64_t num_groups() const override { return static_cast<int64_t>(slots_.size()); }
  void Clear(uint32_t g) override { slots_[g] = Slot{}; }
  bool retractable() const override { return true; }
  bool invertible() const override { return true; }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    Combine(other, src, dst, false);
  }
  void Subtract(const AggregateState& other, uint32_t src, uint32_t dst) override {
    Combine(other, src, dst, true);
  }
  int64_t MemoryBytes() const override {
    int64_t bytes = static_cast<int64_t>(slots_.capacity() * sizeof(Slot));
    for (const Slot& s : slots_) {
      bytes += static_cast<int64_t>((s.values.capacity() + s.retracted.capacity()) * sizeof(T));
      if (s.negative) bytes += static_cast<int64_t>(s.negative->size() * (sizeof(T) + 48));
      if constexpr (std::is_same_v<T, std::string>) {
        for (const auto* heap : {&s.values, &s.retracted}) {
          for (const std::string& v : *heap) {
            bytes += v.capacity() > 15 ? static_cast<int64_t>(v.capacity()) : 0;
          }
        }
      }
    }
    return bytes;
  }

 protected:
  // Adds one row of value v to group g.
  void Add(uint32_t g, T v) {
    Slot& s = slots_[g];
    if (s.negative && CancelNegative(&s, v)) return;
    // A new top is strictly above the retracted top, which was below the old top: still
    // settled.
    s.values.push_back(std::move(v));
    std::push_heap(s.values.begin(), s.values.end(), Below);
  }
  // Retracts one row of value v from group g.
  void Remove(uint32_t g, T v) {
    Slot& s = slots_[g];
    s.retracted.push_back(std::move(v));
    std::push_heap(s.retracted.begin(), s.retracted.end(), Below);
    Settle(&s);
    if (s.retracted.size() > 16 && s.retracted.size() * 2 > s.values.size()) Compact(&s);
  }
  // The group's minimum (maximum), or null when it holds no value.
  const T* Extreme(uint32_t g) const {
    const Slot& s = slots_[g];
    return s.values.empty() ? nullptr : &s.values.front();
  }

 private:
  struct Slot {
    std::vector<T> values;     // heap by Below: the values added, some maybe retracted since
    std::vector<T> retracted;  // heap by Below: retractions not yet cancelled, all below the top
    std::unique_ptr<std::map<T, int64_t, Less>> negative;  // retracted before added (rare)
  };

 protected:
  // The values' type, for values checkpointed in value_codec form (arrays, structs).
  DataType value_type_;

 private:
  // The heaps' order: a ranks below b (the top is the largest for max, the smallest for min).
  static bool Below(const T& a, const T& b) { return kMax ? Less()(a, b) : Less()(b, a); }
  static bool Equivalent(const T& a, const T& b) { return !Less()(a, b) && !Less()(b, a); }

  static bool CancelNegative(Slot* s, const T& v) {
    auto it = s->negative->find(v);
    if (it == s->negative->end()) return false;
    if (--it->second == 0) s->negative->erase(it);
    if (s->negative->empty()) s->negative.reset();
    return true;
  }
  static void AddNegative(Slot* s, T v, int64_t count) {
    if (!s->negative) s->negative = std::make_unique<std::map<T, int64_t, Less>>();
    (*s->negative)[std::move(v)] += count;
  }

  // Cancels retractions against the top of the values until the top is a value held.
  static void Settle(Slot* s) {
    while (!s->retracted.empty()) {
      const T& r = s->retracted.front();
      if (!s->values.empty() && Equivalent(r, s->values.front())) {
        std::pop_heap(s->values.begin(), s->values.end(), Below);
        s->values.pop_back();
      } else if (s->values.empty() || Below(s->values.front(), r)) {
        // Above every value held: this retraction came before its row.
        std::pop_heap(s->retracted.begin(), s->retracted.end(), Below);
        T v = std::move(s->retracted.back());
        s->retracted.pop_back();
        AddNegative(s, std::move(v), 1);
        continue;
      } else {
        return;  // below the top: cancelled when it surfaces
      }
      std::pop_heap(s->retracted.begin(), s->retracted.end(), Below);
      s->retracted.pop_back();
    }
  }
  // Cancels every retraction against its equal value: sorts both, walks them together.
  static void Compact(Slot* s) {
    if (s->negative) {  // pending negatives join the retractions
      for (auto& [v, count] : *s->negative) {
        for (int64_t i = 0; i < count; ++i) s->retracted.push_back(v);
        for (int64_t i = 0; i > count; --i) s->values.push_back(v);
      }
      s->negative.reset();
    }
    std::sort(s->values.begin(), s->values.end(), Below);
    std::sort(s->retracted.begin(), s->retracted.end(), Below);
    size_t kept = 0, i = 0, j = 0;
    while (i < s->values.size()) {
      if (j == s->retracted.size() || Below(s->values[i], s->retracted[j])) {
        if (kept != i) s->values[kept] = std::move(s->values[i]);
        ++kept;
        ++i;
      } else if (Below(s->retracted[j], s->values[i])) {
        AddNegative(s, std::move(s->retracted[j++]), 1);
      } else {
        ++i;
        ++j;
      }
    }
    for (; j < s->retracted.size(); ++j) AddNegative(s, std::move(s->retracted[j]), 1);
    s->values.resize(kept);
    s->retracted.clear();
    if (s->values.capacity() > 2 * s->values.size() + 16) s->values.shrink_to_fit();
    if (s->retracted.capacity() > 64) s->retracted.shrink_to_fit();
    std::make_heap(s->values.begin(), s->values.end(), Below);
  }

  // Merge (or Subtract) group src of `other` into group dst: its values become additions (or
  // retractions) and its retractions the opposite; then one compaction settles everything.
  void Combine(const AggregateState& other, uint32_t src, uint32_t dst, bool subtract) {
    SLUICE_DCHECK(dynamic_cast<const HeapMinMaxBase*>(&other) != nullptr,
                  "merging unrelated states");
    Slot from = CopyOf(static_cast<const HeapMinMaxBase&>(other).slots_[src]);
    Slot& to = slots_[dst];
    std::vector<T>& plus = subtract ? to.retracted : to.values;
    std::vector<T>& minus = subtract ? to.values : to.retracted;
    for (T& v : from.values) plus.push_back(std::move(v));
    for (T& v : from.retracted) minus.push_back(std::move(v));
    if (from.negative) {
      for (auto& [v, count] : *from.negative) {
        for (int64_t i = 0; i < count; ++i) minus.push_back(v);
        for (int64_t i = 0; i > count; --i) plus.push_back(v);
      }
    }
    Compact(&to);
  }
  // Checkpoints: per group the two heaps as they are (their order is a valid heap) and the
  // negative counts. Fixed-width values byte for byte, strings length-prefixed; other values
  // (arrays, structs) in value_codec form, after a format version byte (kSlotFormatVersion).
  static constexpr bool kEncodedValues =
      !std::is_trivially_copyable_v<T> && !std::is_same_v<T, std::string>;
  bool serializable() const override { return true; }
  Status SerializeGroups(const uint32_t* groups, int64_t n, std::string* out) const override {
    if constexpr (kEncodedValues) out->push_back(static_cast<char>(kSlotFormatVersion));
    for (int64_t i = 0; i < n; ++i) {
      const Slot& s = slots_[groups[i]];
      PutCount(out, s.values.size());
      for (const T& v : s.values) PutValue(out, v);
      PutCount(out, s.retracted.size());
      for (const T& v : s.retracted) PutValue(out, v);
      PutCount(out, s.negative ? s.negative->size() : 0);
      if (s.negative) {
        for (const auto& [v, count] : *s.negative) {
          PutValue(out, v);
          PutCount(out, static_cast<uint64_t>(count));
        }
      }
    }
    return Status::Ok();
  }
  Status DeserializeGroups(std::string_view in, const uint32_t* groups, int64_t n) override {
    if constexpr (kEncodedValues) {
      if (in.empty()) return Truncated();
      if (static_cast<uint8_t>(in[0]) != kSlotFormatVersion) {
        return Status::Io("min/max state has format version {}; this build reads version {}",
                          static_cast<uint8_t>(in[0]), kSlotFormatVersion);
      }
      in.remove_prefix(1);
    }
    for (int64_t i = 0; i < n; ++i) {
      Slot s;
      uint64_t count = 0;
      for (auto* heap : {&s.values, &s.retracted}) {
        if (!GetCount(&in, &count)) return Truncated();
        for (uint64_t k = 0; k < count; ++k) {
          T v{};
          if (!GetValue(&in, &v)) return Truncated();
          heap->push_back(std::move(v));
        }
      }
      if (!GetCount(&in, &count)) return Truncated();
      for (uint64_t k = 0; k < count; ++k) {
        T v{};
        uint64_t c = 0;
        if (!GetValue(&in, &v) || !GetCount(&in, &c)) return Truncated();
        if (!s.negative) s.negative = std::make_unique<std::map<T, int64_t, Less>>();
        (*s.negative)[std::move(v)] = static_cast<int64_t>(c);
      }
      slots_[groups[i]] = std::move(s);
    }
    if (!in.empty()) return Status::Io("min/max state has trailing bytes");
    return Status::Ok();
  }
  static Status Truncated() { return Status::Io("min/max state is truncated"); }
  static void PutCount(std::string* out, uint64_t v) {
    out->append(reinterpret_cast<const char*>(&v), sizeof(v));
  }
  static bool GetCount(std::string_view* in, uint64_t* v) {
    if (in->size() < sizeof(*v)) return false;
    std::memcpy(v, in->data(), sizeof(*v));
    in->remove_prefix(sizeof(*v));
    return true;
  }
  void PutValue(std::string* out, const T& v) const {
    if constexpr (std::is_same_v<T, std::string>) {
      PutCount(out, v.size());
      out->append(v);
    } else if constexpr (std::is_trivially_copyable_v<T>) {
      out->append(reinterpret_cast<const char*>(&v), sizeof(T));
    } else {
      PutValueOf(value_type_, v, out);
    }
  }
  bool GetValue(std::string_view* in, T* v) const {
    if constexpr (std::is_same_v<T, std::string>) {
      uint64_t size = 0;
      if (!GetCount(in, &size) || in->size() < size) return false;
      v->assign(in->substr(0, static_cast<size_t>(size)));
      in->remove_prefix(static_cast<size_t>(size));
      return true;
    } else if constexpr (std::is_trivially_copyable_v<T>) {
      if (in->size() < sizeof(T)) return false;
      std::memcpy(static_cast<void*>(v), in->data(), sizeof(T));
      in->remove_prefix(sizeof(T));
      return true;
    } else {
      SlotReader r(*in);
      if (!GetValueOf(value_type_, &r, v) || v->is_null()) return false;
      *in = r.rest();
      return true;
    }
  }

  static Slot CopyOf(const Slot& s) {
    Slot copy;
    copy.values = s.values;
    copy.retracted = s.retracted;
    if (s.negative) copy.negative = std::make_unique<std::map<T, int64_t, Less>>(*s.negative);
    return copy;
  }

  std::vector<Slot> slots_;
};

template <typename T>
struct OrderLessFn {
  bool operator()(const T& a, const T& b) const { return OrderLess(a, b); }
};

// Fixed-width values (numbers, dates, times, intervals).
template <typename T, bool kMax>
class HeapMinMaxState final : public HeapMinMaxBase<T, OrderLessFn<T>, kMax> {
 public:
  explicit HeapMinMaxState(DataType type) : type_(std::move(type)) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return MissingArgument(args.size(), 1);
    const T* v = args[0]->raw<T>();
    ForEachValid(*args[0], n, [&](int64_t i) { this->Add(groups[i], v[i]); });
    return Status::Ok();
  }
  Status Retract(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return MissingArgument(args.size(), 1);
    const T* v = args[0]->raw<T>();
    ForEachValid(*args[0], n, [&](int64_t i) { this->Remove(groups[i], v[i]); });
    return Status::Ok();
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    return MakeFixedResult<T>(type_, groups, n, [&](uint32_t g, T* out) {
      const T* v = this->Extreme(g);
      if (v) *out = *v;
      return v != nullptr;
    });
  }

 private:
  DataType type_;
};

// Text and BYTEA (in byte order), arrays and structs (compared as values, slow path).
template <typename T, typename Less, bool kMax>
class ObjectHeapMinMaxState final : public HeapMinMaxBase<T, Less, kMax> {
 public:
  explicit ObjectHeapMinMaxState(DataType type) : type_(std::move(type)) {
    this->value_type_ = type_;
  }

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    return Apply(args, groups, n, false);
  }
  Status Retract(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    return Apply(args, groups, n, true);
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    ColumnBuilder b(type_);
    b.Reserve(n);
    for (int64_t j = 0; j < n; ++j) {
      const T* v = this->Extreme(groups[j]);
      if (!v) {
        b.AppendNull();
      } else if constexpr (std::is_same_v<T, std::string>) {
        b.AppendString(*v);
      } else {
        b.AppendValue(*v);
      }
    }
    return b.Finish();
  }

 private:
  Status Apply(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n, bool retract) {
    if (args.empty()) return MissingArgument(args.size(), 1);
    const Column& a = *args[0];
    if (a.type.id() == TypeId::kNull) return Status::Ok();
    ForEachValid(a, n, [&](int64_t i) {
      T v;
      if constexpr (std::is_same_v<T, std::string>) {
        v.assign(a.GetString(i));
      } else {
        v = a.GetValue(i);
      }
      if (retract) {
        this->Remove(groups[i], std::move(v));
      } else {
        this->Add(groups[i], std::move(v));
      }
    });
    return Status::Ok();
  }

  DataType type_;
};

struct ValueLess {
  bool operator()(const Value& a, const Value& b) const { return types::CompareValues(a, b) < 0; }
};

template <bool kMax>
using StringHeapMinMaxState = ObjectHeapMinMaxState<std::string, std::less<>, kMax>;
template <bool kMax>
using ValueHeapMinMaxState = ObjectHeapMinMaxState<Value, ValueLess, kMax>;

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
      if (in.retracting) {
        fn = MakeFunction([t] { return std::make_unique<StringHeapMinMaxState<kMax>>(t); });
      } else {
        fn = MakeFunction([t] { return std::make_unique<StringMinMaxState<kMax>>(t); });
      }
      break;
    case TypeId::kNull:
    case TypeId::kList:
    case TypeId::kStruct:
      if (in.retracting) {
        fn = MakeFunction([t] { return std::make_unique<ValueHeapMinMaxState<kMax>>(t); });
      } else {
        fn = MakeFunction([t] { return std::make_unique<ValueMinMaxState<kMax>>(t); });
      }
      break;
    default:
      fn = VisitFixedType(
          t.id(),
          [&](auto tag) -> std::shared_ptr<const AggregateFunction> {
            using T = typename decltype(tag)::type;
            if (in.retracting) {
              return MakeFunction([t] { return std::make_unique<HeapMinMaxState<T, kMax>>(t); });
            }
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
