// DISTINCT aggregates. count(DISTINCT x) keeps a set per group and counts it; any other
// aggregate keeps the set of distinct argument tuples per group and runs the plain aggregate
// over them at Finalize. Merge is set union; neither is invertible.

#include <algorithm>
#include <numeric>
#include <unordered_set>

#include "expr/aggregates/aggregate_internal.h"
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

using KeySet = std::unordered_set<std::string>;

int64_t KeySetBytes(const KeySet& set) {
  // Nodes (key, hash, next pointer) and buckets; keys beyond the inline buffer add their bytes.
  int64_t bytes = static_cast<int64_t>(set.bucket_count() * sizeof(void*) +
                                       set.size() * (sizeof(std::string) + 2 * sizeof(void*)));
  for (const auto& k : set) bytes += k.capacity() > 15 ? static_cast<int64_t>(k.capacity()) : 0;
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// count(DISTINCT x)

// Words for types that fit 64 bits, encoded values otherwise.
template <typename Set>
class CountDistinctState final : public SlotState<Set> {
  using Base = SlotState<Set>;
  using Base::slots_;

 public:
  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return Status::Internal("count(DISTINCT): missing argument");
    const Column& a = *args[0];
    if (a.type.id() == TypeId::kNull) return Status::Ok();
    Set* sets = slots_.data();
    if constexpr (std::is_same_v<Set, WordSet>) {
      ForEachWordKey(a, n, [&](int64_t i, uint64_t key) { sets[groups[i]].Insert(key); });
    } else {
      std::string key;
      ForEachValid(a, n, [&](int64_t i) {
        key.clear();
        EncodeValue(a, i, &key);
        sets[groups[i]].insert(key);  // copies the key only when it is new
      });
    }
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const Set& from = Base::template Same<CountDistinctState>(other).slots_[src];
    Set& to = slots_[dst];
    if (&from == &to) return;
    if constexpr (std::is_same_v<Set, WordSet>) {
      from.ForEach([&](uint64_t v) { to.Insert(v); });
    } else {
      to.insert(from.begin(), from.end());
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
      if constexpr (std::is_same_v<Set, WordSet>) {
        bytes += s.MemoryBytes();
      } else {
        bytes += KeySetBytes(s);
      }
    }
    return bytes;
  }
};

// ---------------------------------------------------------------------------------------------
// Any aggregate with DISTINCT

class DistinctState final : public SlotState<KeySet> {
 public:
  DistinctState(std::shared_ptr<const AggregateFunction> inner, std::vector<DataType> arg_types)
      : inner_(std::move(inner)), arg_types_(std::move(arg_types)) {}

  // A tuple's key is its arguments' encodings one after another, NULLs included: whether a
  // NULL counts is the inner aggregate's business (array_agg(DISTINCT x) keeps one NULL, as in
  // PostgreSQL; sum skips it).
  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
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
      slots_[groups[i]].insert(key);
    }
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const KeySet& from = Same<DistinctState>(other).slots_[src];
    if (&from != &slots_[dst]) slots_[dst].insert(from.begin(), from.end());
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
      for (const std::string& key : slots_[groups[j]]) {
        std::string_view in = key;
        for (size_t a = 0; a < arity; ++a) DecodeValue(&in, builders[a].get());
      }
      group_start[j + 1] = group_start[j] + static_cast<int64_t>(slots_[groups[j]].size());
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
    for (const auto& s : slots_) bytes += KeySetBytes(s);
    return bytes;
  }

 private:
  std::shared_ptr<const AggregateFunction> inner_;
  std::vector<DataType> arg_types_;
};

}  // namespace

std::shared_ptr<const AggregateFunction> MakeCountDistinctFunction(const DataType& arg_type) {
  if (HasWordKey(arg_type.id())) {
    return MakeFunction([] { return std::make_unique<CountDistinctState<WordSet>>(); });
  }
  return MakeFunction([] { return std::make_unique<CountDistinctState<KeySet>>(); });
}

std::shared_ptr<const AggregateFunction> MakeDistinctFunction(
    std::shared_ptr<const AggregateFunction> inner, std::vector<DataType> arg_types) {
  return MakeFunction(
      [inner, arg_types] { return std::make_unique<DistinctState>(inner, arg_types); });
}

}  // namespace sluice::expr
