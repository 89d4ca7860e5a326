// min and max of every comparable type: one slot per group while the input only grows, a heap
// of the values per group (so a retraction can remove one) under updating input.

#include <algorithm>
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
      fn = MakeBoolAndOrFunction(!kMax);  // min = bool_and, max = bool_or
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

}  // namespace

void RegisterMinMaxAggregates(AggregateDefinitions* defs) {
  defs->push_back({"min", BindMinMax<false>});
  defs->push_back({"max", BindMinMax<true>});
}

}  // namespace sluice::expr
