// DISTINCT aggregates. count(DISTINCT x) keeps a set per group and counts it; any other
// aggregate keeps the set of distinct argument tuples per group and runs the plain aggregate
// over them at Finalize. Merge is set union; neither is invertible. Over an updating input
// (`counted`), the sets become multisets (value → number of rows) so rows can be retracted,
// and both are invertible.

#include <algorithm>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include "expr/aggregates/aggregate_internal.h"
#include "expr/aggregates/state_codec.h"
#include "expr/aggregates/value_codec.h"

namespace sluice::expr {
namespace {

// An open-addressing set of 64-bit words (linear probing, at most half full). Slot value 0
// means empty, so the word 0 is tracked by a flag.
class WordSet {
 public:
  bool Insert(uint64_t v) {
    if (v == 0) {
      bool added = !has_zero_;
      has_zero_ = true;
      return added;
    }
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    size_t mask = slots_.size() - 1;
    for (size_t i = Mix(v) & mask;; i = (i + 1) & mask) {
      if (slots_[i] == v) return false;
      if (slots_[i] == 0) {
        slots_[i] = v;
        ++size_;
        return true;
      }
    }
  }
  int64_t size() const { return static_cast<int64_t>(size_) + (has_zero_ ? 1 : 0); }
  int64_t MemoryBytes() const { return static_cast<int64_t>(slots_.capacity() * 8); }
  // Checkpoints: the number of words, then each word (8 bytes).
  void Encode(std::string* out) const {
    PutVarint(out, static_cast<uint64_t>(size()));
    ForEach([&](uint64_t v) { PutFixed(out, v); });
  }
  bool Decode(SlotReader* in) {
    uint64_t n = 0;
    if (!in->Count(&n, sizeof(uint64_t))) return false;
    for (uint64_t k = 0; k < n; ++k) {
      uint64_t v = 0;
      if (!in->Fixed(&v) || !Insert(v)) return false;  // a word twice: corrupt
    }
    return true;
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    if (has_zero_) fn(uint64_t{0});
    for (uint64_t v : slots_) {
      if (v != 0) fn(v);
    }
  }

 private:
  // The 64-bit finalizer of MurmurHash3: spreads keys like 1, 2, 3 over the table.
  static uint64_t Mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
  }
  void Grow() {
    std::vector<uint64_t> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 8 : old.size() * 2, 0);
    size_ = 0;
    for (uint64_t v : old) {
      if (v != 0) Insert(v);
    }
  }

  std::vector<uint64_t> slots_;
  size_t size_ = 0;  // words other than 0
  bool has_zero_ = false;
};

// The same table with a count per word, for states that retract: a word's entry goes when its
// count returns to 0 (backward-shift deletion keeps the probe sequences intact). Counts may go
// negative when a retraction comes first; only words with a positive count are in the set.
class WordCounter {
 public:
  void Add(uint64_t v, int64_t delta) {
    if (v == 0) {
      positive_ += (zero_count_ + delta > 0) - (zero_count_ > 0);
      zero_count_ += delta;
      return;
    }
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    size_t mask = slots_.size() - 1;
    size_t i = Mix(v) & mask;
    while (slots_[i].key != 0 && slots_[i].key != v) i = (i + 1) & mask;
    Entry& e = slots_[i];
    if (e.key == 0) {
      if (delta == 0) return;
      e = {v, delta};
      ++size_;
      positive_ += delta > 0;
      return;
    }
    positive_ += (e.count + delta > 0) - (e.count > 0);
    e.count += delta;
    if (e.count == 0) Erase(i);
  }
  // Words with a positive count.
  int64_t size() const { return positive_; }
  int64_t MemoryBytes() const { return static_cast<int64_t>(slots_.capacity() * sizeof(Entry)); }
  // Checkpoints: the number of words with a non-zero count, then each word (8 bytes) and its
  // count (zigzag varint: counts may be negative).
  void Encode(std::string* out) const {
    uint64_t n = 0;
    ForEach([&](uint64_t, int64_t) { ++n; });
    PutVarint(out, n);
    ForEach([&](uint64_t v, int64_t count) {
      PutFixed(out, v);
      PutSignedVarint(out, count);
    });
  }
  bool Decode(SlotReader* in) {
    uint64_t n = 0;
    if (!in->Count(&n, sizeof(uint64_t) + 1)) return false;
    for (uint64_t k = 0; k < n; ++k) {
      uint64_t v = 0;
      int64_t count = 0;
      if (!in->Fixed(&v) || !in->SignedVarint(&count) || count == 0) return false;
      Add(v, count);
    }
    return true;
  }
  template <typename Fn>
  void ForEach(Fn&& fn) const {  // fn(word, count), every word with a non-zero count
    if (zero_count_ != 0) fn(uint64_t{0}, zero_count_);
    for (const Entry& e : slots_) {
      if (e.key != 0) fn(e.key, e.count);
    }
  }

 private:
  struct Entry {
    uint64_t key = 0;
    int64_t count = 0;
  };
  static uint64_t Mix(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
  }
  void Grow() {
    std::vector<Entry> old;
    old.swap(slots_);
    slots_.assign(old.empty() ? 8 : old.size() * 2, Entry{});
    size_ = 0;
    size_t mask = slots_.size() - 1;
    for (const Entry& e : old) {
      if (e.key == 0) continue;
      size_t i = Mix(e.key) & mask;
      while (slots_[i].key != 0) i = (i + 1) & mask;
      slots_[i] = e;
      ++size_;
    }
  }
  // Empties slot i and moves back the entries after it that probed past it.
  void Erase(size_t i) {
    size_t mask = slots_.size() - 1;
    for (size_t j = (i + 1) & mask; slots_[j].key != 0; j = (j + 1) & mask) {
      size_t home = Mix(slots_[j].key) & mask;
      // Entry j may fill the hole at i unless its home lies cyclically in (i, j].
      bool home_after_hole = i <= j ? (home > i && home <= j) : (home > i || home <= j);
      if (!home_after_hole) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i] = Entry{};
    --size_;
  }

  std::vector<Entry> slots_;
  size_t size_ = 0;  // entries other than the word 0
  int64_t zero_count_ = 0;
  int64_t positive_ = 0;
};

using KeySet = std::unordered_set<std::string>;

// Encoded values with a count each (for states that retract), and how many counts are
// positive.
struct KeyCounter {
  std::unordered_map<std::string, int64_t> counts;
  int64_t positive = 0;

  void Add(const std::string& key, int64_t delta) {
    auto it = counts.find(key);
    if (it == counts.end()) {
      if (delta == 0) return;
      counts.emplace(key, delta);
      positive += delta > 0;
      return;
    }
    positive += (it->second + delta > 0) - (it->second > 0);
    it->second += delta;
    if (it->second == 0) counts.erase(it);
  }
  int64_t size() const { return positive; }
};

// Checkpoints of the sets and counters of encoded values (and the WordSet / WordCounter, which
// encode themselves). `key_types`, when given, is what each key must hold: one encoded value of
// each type (the argument tuples of DISTINCT aggregates, decoded again at Finalize).
template <typename Set>
struct SetCodec {
  std::vector<DataType> key_types;
  std::string_view name() const { return "DISTINCT aggregate"; }
  void Encode(const Set& set, std::string* out) const {
    if constexpr (std::is_same_v<Set, WordSet> || std::is_same_v<Set, WordCounter>) {
      set.Encode(out);
    } else if constexpr (std::is_same_v<Set, KeySet>) {
      PutVarint(out, set.size());
      for (const std::string& key : set) PutBytes(out, key);
    } else {
      PutVarint(out, set.counts.size());
      for (const auto& [key, count] : set.counts) {
        PutBytes(out, key);
        PutSignedVarint(out, count);
      }
    }
  }
  bool Decode(SlotReader* in, Set* set) const {
    if constexpr (std::is_same_v<Set, WordSet> || std::is_same_v<Set, WordCounter>) {
      return set->Decode(in);
    } else {
      uint64_t n = 0;
      if (!in->Count(&n)) return false;
      for (uint64_t k = 0; k < n; ++k) {
        std::string_view key;
        if (!in->Bytes(&key) || !ValidKey(key)) return false;
        if constexpr (std::is_same_v<Set, KeySet>) {
          if (!set->emplace(key).second) return false;
        } else {
          int64_t count = 0;
          if (!in->SignedVarint(&count) || count == 0 || set->counts.count(std::string(key))) {
            return false;
          }
          set->Add(std::string(key), count);
        }
      }
      return true;
    }
  }
  bool ValidKey(std::string_view key) const {
    if (key_types.empty()) return true;
    SlotReader r(key);
    for (const auto& t : key_types) {
      if (!SkipEncodedValue(t, &r)) return false;
    }
    return r.empty();
  }
};

int64_t KeyCounterBytes(const KeyCounter& c) {
  int64_t bytes =
      static_cast<int64_t>(c.counts.bucket_count() * sizeof(void*) +
                           c.counts.size() * (sizeof(std::string) + 8 + 2 * sizeof(void*)));
  for (const auto& [k, count] : c.counts) {
    bytes += k.capacity() > 15 ? static_cast<int64_t>(k.capacity()) : 0;
  }
  return bytes;
}

int64_t KeySetBytes(const KeySet& set) {
  // Nodes (key, hash, next pointer) and buckets; keys beyond the inline buffer add their bytes.
  int64_t bytes = static_cast<int64_t>(set.bucket_count() * sizeof(void*) +
                                       set.size() * (sizeof(std::string) + 2 * sizeof(void*)));
  for (const auto& k : set) bytes += k.capacity() > 15 ? static_cast<int64_t>(k.capacity()) : 0;
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// count(DISTINCT x)

// Words for types that fit 64 bits, encoded values otherwise; sets, or counters for a state
// that retracts.
template <typename Set>
class CountDistinctState final : public CodedSlotState<Set, SetCodec<Set>> {
  using Base = CodedSlotState<Set, SetCodec<Set>>;
  using Base::slots_;
  static constexpr bool kWords = std::is_same_v<Set, WordSet> || std::is_same_v<Set, WordCounter>;
  static constexpr bool kCounted =
      std::is_same_v<Set, WordCounter> || std::is_same_v<Set, KeyCounter>;

 public:
  CountDistinctState() : Base(SetCodec<Set>{}) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    return Apply(args, groups, n, 1);
  }
  bool retractable() const override { return kCounted; }
  Status Retract(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if constexpr (!kCounted) {
      return AggregateState::Retract(args, groups, n);
    } else {
      return Apply(args, groups, n, -1);
    }
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const Set& from = Base::template Same<CountDistinctState>(other).slots_[src];
    Set& to = slots_[dst];
    if constexpr (kCounted) {
      Combine(from, &to, 1);
    } else {
      if (&from == &to) return;
      if constexpr (kWords) {
        from.ForEach([&](uint64_t v) { to.Insert(v); });
      } else {
        to.insert(from.begin(), from.end());
      }
    }
  }
  bool invertible() const override { return kCounted; }
  void Subtract(const AggregateState& other, uint32_t src, uint32_t dst) override {
    if constexpr (kCounted) {
      Combine(Base::template Same<CountDistinctState>(other).slots_[src], &slots_[dst], -1);
    }
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    return MakeFixedResult<int64_t>(types::Int64(), groups, n, [&](uint32_t g, int64_t* out) {
      *out = static_cast<int64_t>(slots_[g].size());
      return true;
    });
  }

 protected:
  int64_t ExtraBytes() const override {
    int64_t bytes = 0;
    for (const auto& s : slots_) {
      if constexpr (kWords) {
        bytes += s.MemoryBytes();
      } else if constexpr (kCounted) {
        bytes += KeyCounterBytes(s);
      } else {
        bytes += KeySetBytes(s);
      }
    }
    return bytes;
  }

 private:
  // Adds (delta 1) or retracts (delta -1) each non-NULL row's value.
  Status Apply(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n, int64_t delta) {
    if (args.empty()) return Status::Internal("count(DISTINCT): missing argument");
    const Column& a = *args[0];
    if (a.type.id() == TypeId::kNull) return Status::Ok();
    Set* sets = slots_.data();
    if constexpr (std::is_same_v<Set, WordSet>) {
      ForEachWordKey(a, n, [&](int64_t i, uint64_t key) { sets[groups[i]].Insert(key); });
    } else if constexpr (std::is_same_v<Set, WordCounter>) {
      ForEachWordKey(a, n, [&](int64_t i, uint64_t key) { sets[groups[i]].Add(key, delta); });
    } else {
      std::string key;
      ForEachValid(a, n, [&](int64_t i) {
        key.clear();
        EncodeValue(a, i, &key);
        if constexpr (kCounted) {
          sets[groups[i]].Add(key, delta);
        } else {
          sets[groups[i]].insert(key);  // copies the key only when it is new
        }
      });
    }
    return Status::Ok();
  }
  static void Combine(const Set& from, Set* to, int64_t sign) {
    if (&from == to) {
      Set copy = from;
      Combine(copy, to, sign);
      return;
    }
    if constexpr (std::is_same_v<Set, WordCounter>) {
      from.ForEach([&](uint64_t v, int64_t count) { to->Add(v, sign * count); });
    } else if constexpr (std::is_same_v<Set, KeyCounter>) {
      for (const auto& [key, count] : from.counts) to->Add(key, sign * count);
    }
  }
};

// ---------------------------------------------------------------------------------------------
// Any aggregate with DISTINCT

// kCounted (for an updating input) keeps a count per tuple, so a retraction removes a tuple when
// its last row goes; the inner aggregate runs over the tuples at Finalize and never retracts.
template <bool kCounted>
class DistinctState final
    : public CodedSlotState<std::conditional_t<kCounted, KeyCounter, KeySet>,
                            SetCodec<std::conditional_t<kCounted, KeyCounter, KeySet>>> {
  using Set = std::conditional_t<kCounted, KeyCounter, KeySet>;
  using Base = CodedSlotState<Set, SetCodec<Set>>;
  using Base::slots_;

 public:
  // The inner aggregate runs over the tuples at Finalize only: the tuples are the whole state.
  DistinctState(std::shared_ptr<const AggregateFunction> inner, std::vector<DataType> arg_types)
      : Base(SetCodec<Set>{arg_types}),
        inner_(std::move(inner)),
        arg_types_(std::move(arg_types)) {}

  // A tuple's key is its arguments' encodings one after another, NULLs included: whether a
  // NULL counts is the inner aggregate's business (array_agg(DISTINCT x) keeps one NULL, as in
  // PostgreSQL; sum skips it).
  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    return Apply(args, groups, n, 1);
  }
  bool retractable() const override { return kCounted; }
  Status Retract(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if constexpr (!kCounted) {
      return AggregateState::Retract(args, groups, n);
    } else {
      return Apply(args, groups, n, -1);
    }
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const Set& from = Base::template Same<DistinctState>(other).slots_[src];
    if constexpr (kCounted) {
      Combine(from, &slots_[dst], 1);
    } else {
      if (&from != &slots_[dst]) slots_[dst].insert(from.begin(), from.end());
    }
  }
  bool invertible() const override { return kCounted; }
  void Subtract(const AggregateState& other, uint32_t src, uint32_t dst) override {
    if constexpr (kCounted) {
      Combine(Base::template Same<DistinctState>(other).slots_[src], &slots_[dst], -1);
    }
  }
  // The distinct tuples of each group, sorted as PostgreSQL's DISTINCT sorts them (NULLs last),
  // so order-sensitive aggregates (array_agg, string_agg, sums of floats) give one answer
  // whatever order the rows and merges came in.
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    size_t arity = arg_types_.size();
    std::vector<std::unique_ptr<ColumnBuilder>> builders;
    for (const auto& t : arg_types_) builders.push_back(std::make_unique<ColumnBuilder>(t));
    std::vector<int64_t> group_start(static_cast<size_t>(n) + 1, 0);
    for (int64_t j = 0; j < n; ++j) {
      int64_t tuples = 0;
      ForEachTuple(slots_[groups[j]], [&](const std::string& key) {
        std::string_view in = key;
        for (size_t a = 0; a < arity; ++a) DecodeValue(&in, builders[a].get());
        ++tuples;
      });
      group_start[j + 1] = group_start[j] + tuples;
    }
    int64_t rows = group_start[n];
    std::vector<ColumnPtr> columns;
    std::vector<std::vector<Value>> values(arity);
    for (size_t a = 0; a < arity; ++a) {
      columns.push_back(builders[a]->Finish());
      values[a].reserve(static_cast<size_t>(rows));
      for (int64_t r = 0; r < rows; ++r) values[a].push_back(columns[a]->GetValue(r));
    }
    std::vector<int32_t> order(static_cast<size_t>(rows));
    std::iota(order.begin(), order.end(), 0);
    auto tuple_less = [&](int32_t x, int32_t y) {
      for (size_t a = 0; a < arity; ++a) {
        int c = types::CompareValues(values[a][x], values[a][y]);
        if (c != 0) return c < 0;
      }
      return false;
    };
    std::vector<uint32_t> inner_groups(static_cast<size_t>(rows));
    for (int64_t j = 0; j < n; ++j) {
      std::sort(order.begin() + group_start[j], order.begin() + group_start[j + 1], tuple_less);
      std::fill(inner_groups.begin() + group_start[j], inner_groups.begin() + group_start[j + 1],
                static_cast<uint32_t>(j));
    }
    for (auto& c : columns) c = batch::Take(*c, order.data(), rows);
    std::unique_ptr<AggregateState> inner = inner_->NewState();
    inner->Resize(n);
    SLUICE_RETURN_NOT_OK(inner->Update(columns, inner_groups.data(), rows));
    std::vector<uint32_t> all(static_cast<size_t>(n));
    std::iota(all.begin(), all.end(), 0u);
    return inner->Finalize(all.data(), n);
  }

 protected:
  int64_t ExtraBytes() const override {
    int64_t bytes = 0;
    for (const auto& s : slots_) {
      if constexpr (kCounted) {
        bytes += KeyCounterBytes(s);
      } else {
        bytes += KeySetBytes(s);
      }
    }
    return bytes;
  }

 private:
  Status Apply(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n, int64_t delta) {
    if (args.empty() && !arg_types_.empty()) {
      return Status::Internal("DISTINCT aggregate: no argument columns");
    }
    // Constant arguments the caller did not pass as columns (string_agg's delimiter) are read
    // from the bound function, never from the column: they are keyed as NULL.
    size_t passed = std::min(args.size(), arg_types_.size());
    std::string key;
    for (int64_t i = 0; i < n; ++i) {
      key.clear();
      for (size_t a = 0; a < passed; ++a) EncodeValue(*args[a], i, &key);
      key.append(arg_types_.size() - passed, '\0');
      if constexpr (kCounted) {
        slots_[groups[i]].Add(key, delta);
      } else {
        slots_[groups[i]].insert(key);
      }
    }
    return Status::Ok();
  }
  // fn(key) for each tuple the group holds.
  template <typename Fn>
  static void ForEachTuple(const Set& set, Fn&& fn) {
    if constexpr (kCounted) {
      for (const auto& [key, count] : set.counts) {
        if (count > 0) fn(key);
      }
    } else {
      for (const std::string& key : set) fn(key);
    }
  }
  static void Combine(const KeyCounter& from, KeyCounter* to, int64_t sign) {
    if (&from == to) {
      KeyCounter copy = from;
      Combine(copy, to, sign);
      return;
    }
    for (const auto& [key, count] : from.counts) to->Add(key, sign * count);
  }

  std::shared_ptr<const AggregateFunction> inner_;
  std::vector<DataType> arg_types_;
};

}  // namespace

std::shared_ptr<const AggregateFunction> MakeCountDistinctFunction(const DataType& arg_type,
                                                                   bool counted) {
  bool words = HasWordKey(arg_type.id());
  if (counted) {
    if (words)
      return MakeFunction([] { return std::make_unique<CountDistinctState<WordCounter>>(); });
    return MakeFunction([] { return std::make_unique<CountDistinctState<KeyCounter>>(); });
  }
  if (words) return MakeFunction([] { return std::make_unique<CountDistinctState<WordSet>>(); });
  return MakeFunction([] { return std::make_unique<CountDistinctState<KeySet>>(); });
}

std::shared_ptr<const AggregateFunction> MakeDistinctFunction(
    std::shared_ptr<const AggregateFunction> inner, std::vector<DataType> arg_types, bool counted) {
  if (counted) {
    return MakeFunction(
        [inner, arg_types] { return std::make_unique<DistinctState<true>>(inner, arg_types); });
  }
  return MakeFunction(
      [inner, arg_types] { return std::make_unique<DistinctState<false>>(inner, arg_types); });
}

}  // namespace sluice::expr
