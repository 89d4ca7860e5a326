// Sketches with bounded memory per group: approx_distinct (HyperLogLog) and
// approx_percentile_cont / approx_median (t-digest).

#include <algorithm>
#include <cmath>
#include <numbers>

// Header-only xxHash: the expr module then needs no link dependency on libxxhash.
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "expr/aggregates/aggregate_internal.h"
#include "expr/aggregates/state_codec.h"
#include "expr/aggregates/value_codec.h"

namespace sluice::expr {
namespace {

// ---------------------------------------------------------------------------------------------
// approx_distinct: HyperLogLog with 2^12 one-byte registers (standard error 1.04 / 64 = 1.6%).
//
// A group starts sparse, as the sorted set of its distinct 64-bit hashes: small groups are
// counted exactly (up to hash collisions) in a few bytes instead of 4 KiB. Past kSparseLimit
// hashes it switches to registers. The estimate is Ertl's improved raw estimator ("New
// cardinality estimation algorithms for HyperLogLog sketches", 2017), which is unbiased from
// tiny to huge cardinalities without the empirical bias tables of HLL++.

constexpr int kPrecision = 12;
constexpr int kRegisters = 1 << kPrecision;
constexpr int kRankBits = 64 - kPrecision;  // "q" in Ertl's paper; ranks are 1..q+1
constexpr size_t kSparseLimit = 256;

struct Sketch {
  std::vector<uint64_t> sparse;    // sorted distinct hashes, while registers is empty
  std::vector<uint8_t> registers;  // kRegisters entries once dense
};

inline void AddToRegisters(uint8_t* registers, uint64_t hash) {
  uint32_t index = static_cast<uint32_t>(hash >> kRankBits);
  uint64_t rest = hash << kPrecision;
  uint8_t rank = rest == 0 ? kRankBits + 1 : static_cast<uint8_t>(__builtin_clzll(rest) + 1);
  registers[index] = std::max(registers[index], rank);
}

void Densify(Sketch* s) {
  s->registers.assign(kRegisters, 0);
  for (uint64_t h : s->sparse) AddToRegisters(s->registers.data(), h);
  std::vector<uint64_t>().swap(s->sparse);
}

inline void AddHash(Sketch* s, uint64_t hash) {
  if (!s->registers.empty()) {
    AddToRegisters(s->registers.data(), hash);
    return;
  }
  auto it = std::lower_bound(s->sparse.begin(), s->sparse.end(), hash);
  if (it != s->sparse.end() && *it == hash) return;
  s->sparse.insert(it, hash);
  if (s->sparse.size() > kSparseLimit) Densify(s);
}

// Ertl's sigma and tau series (Algorithm 6 of the paper).
double Sigma(double x) {
  if (x == 1) return std::numeric_limits<double>::infinity();
  double y = 1, z = x;
  for (;;) {
    x *= x;
    double before = z;
    z += x * y;
    y += y;
    if (z == before) return z;
  }
}

double Tau(double x) {
  if (x == 0 || x == 1) return 0;
  double y = 1, z = 1 - x;
  for (;;) {
    x = std::sqrt(x);
    double before = z;
    y *= 0.5;
    z -= (1 - x) * (1 - x) * y;
    if (z == before) return z / 3;
  }
}

double EstimateRegisters(const std::vector<uint8_t>& registers) {
  int histogram[kRankBits + 2] = {};
  for (uint8_t r : registers) ++histogram[r];
  const double m = kRegisters;
  double z = m * Tau(1 - histogram[kRankBits + 1] / m);
  for (int k = kRankBits; k >= 1; --k) z = 0.5 * (z + histogram[k]);
  z += m * Sigma(histogram[0] / m);
  return m * m / (2 * std::numbers::ln2) / z;
}

// Checkpoints: a mode byte; sparse, the number of hashes and their deltas (varints, ascending:
// a few bytes per hash); dense, the kRegisters register bytes.
struct SketchCodec {
  std::string_view name() const { return "approx_distinct"; }
  void Encode(const Sketch& s, std::string* out) const {
    if (!s.registers.empty()) {
      out->push_back('\1');
      out->append(reinterpret_cast<const char*>(s.registers.data()), s.registers.size());
      return;
    }
    out->push_back('\0');
    PutVarint(out, s.sparse.size());
    uint64_t previous = 0;
    for (uint64_t h : s.sparse) {
      PutVarint(out, h - previous);
      previous = h;
    }
  }
  bool Decode(SlotReader* in, Sketch* s) const {
    uint8_t mode = 0;
    if (!in->Fixed(&mode)) return false;
    if (mode == 1) {
      std::string_view bytes;
      if (!in->Raw(kRegisters, &bytes)) return false;
      s->registers.assign(bytes.begin(), bytes.end());
      return std::all_of(s->registers.begin(), s->registers.end(),
                         [](uint8_t r) { return r <= kRankBits + 1; });
    }
    uint64_t n = 0;
    if (mode != 0 || !in->Count(&n) || n > kSparseLimit) return false;
    s->sparse.resize(static_cast<size_t>(n));
    uint64_t h = 0;
    for (uint64_t k = 0; k < n; ++k) {
      uint64_t delta = 0;
      if (!in->Varint(&delta) || (k > 0 && delta == 0) || h + delta < h) return false;
      h += delta;
      s->sparse[k] = h;
    }
    return true;
  }
};

class ApproxDistinctState final : public CodedSlotState<Sketch, SketchCodec> {
 public:
  ApproxDistinctState() : CodedSlotState(SketchCodec{}) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return Status::Internal("approx_distinct: missing argument");
    const Column& a = *args[0];
    Sketch* s = slots_.data();
    TypeId id = a.type.id();
    if (id == TypeId::kNull) return Status::Ok();
    if (HasWordKey(id)) {
      ForEachWordKey(a, n, [&](int64_t i, uint64_t key) {
        AddHash(&s[groups[i]], XXH3_64bits(&key, sizeof(key)));
      });
    } else if (a.type.is_string_like()) {
      ForEachValid(a, n, [&](int64_t i) {
        std::string_view v = a.GetString(i);
        AddHash(&s[groups[i]], XXH3_64bits(v.data(), v.size()));
      });
    } else {
      std::string key;
      ForEachValid(a, n, [&](int64_t i) {
        key.clear();
        EncodeValue(a, i, &key);
        AddHash(&s[groups[i]], XXH3_64bits(key.data(), key.size()));
      });
    }
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const Sketch& from = Same<ApproxDistinctState>(other).slots_[src];
    Sketch& to = slots_[dst];
    if (&from == &to) return;  // a union with itself changes nothing
    if (from.registers.empty()) {
      for (uint64_t h : from.sparse) AddHash(&to, h);
      return;
    }
    if (to.registers.empty()) Densify(&to);
    for (int i = 0; i < kRegisters; ++i) {
      to.registers[i] = std::max(to.registers[i], from.registers[i]);
    }
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    return MakeFixedResult<int64_t>(types::Int64(), groups, n, [&](uint32_t g, int64_t* out) {
      const Sketch& s = slots_[g];
      *out = s.registers.empty() ? static_cast<int64_t>(s.sparse.size())
                                 : std::llround(EstimateRegisters(s.registers));
      return true;  // like count: 0 for no rows
    });
  }

 protected:
  int64_t ExtraBytes() const override {
    int64_t bytes = 0;
    for (const auto& s : slots_) {
      bytes +=
          static_cast<int64_t>(s.sparse.capacity() * sizeof(uint64_t) + s.registers.capacity());
    }
    return bytes;
  }
};

// ---------------------------------------------------------------------------------------------
// approx_percentile_cont: a merging t-digest (Dunning & Ertl, "Computing extremely accurate
// quantiles using t-digests", 2019) with the k1 (arcsine) scale function.
//
// Values are appended unmerged; when a group holds kBufferFactor * compression items they are
// sorted and merged into about compression / 2 centroids, small at the tails and large in the
// middle (about 0.05% rank error at the default compression on 10^5 uniform values). A group
// that never reached that size holds its raw values, and the result is then exactly
// PostgreSQL's percentile_cont.

constexpr int kBufferFactor = 10;

struct Centroid {
  double mean;
  double weight;
};

bool CentroidLess(const Centroid& a, const Centroid& b) {
  return FloatLess(a.mean, b.mean);
}

// The largest quantile a centroid that starts at quantile q0 may reach: one unit of k1.
double QuantileLimit(double q0, double compression) {
  double k = compression / (2 * std::numbers::pi) * std::asin(2 * q0 - 1) + 1;
  if (k >= compression / 4) return 1;
  return (std::sin(k * 2 * std::numbers::pi / compression) + 1) / 2;
}

void Compress(std::vector<Centroid>* items, double compression) {
  if (items->size() < 2) return;
  std::sort(items->begin(), items->end(), CentroidLess);
  double total = 0;
  for (const auto& c : *items) total += c.weight;
  size_t out = 0;
  Centroid cur = (*items)[0];
  double before = 0;  // weight of the centroids already emitted
  double limit = total * QuantileLimit(0, compression);
  for (size_t i = 1; i < items->size(); ++i) {
    const Centroid& next = (*items)[i];
    if (before + cur.weight + next.weight <= limit) {
      cur.weight += next.weight;
      cur.mean += (next.mean - cur.mean) * next.weight / cur.weight;
    } else {
      before += cur.weight;
      (*items)[out++] = cur;
      limit = total * QuantileLimit(before / total, compression);
      cur = next;
    }
  }
  (*items)[out++] = cur;
  items->resize(out);
}

// Interpolates between centroid centers. A centroid of weight w covering ranks [c, c + w)
// stands at c + w / 2; the target rank of fraction f is f * (total - 1) + 1/2, which for
// single values is percentile_cont's position f * (n - 1) between ranks.
double Quantile(const std::vector<Centroid>& sorted, double fraction) {
  double total = 0;
  for (const auto& c : sorted) total += c.weight;
  double target = fraction * (total - 1) + 0.5;
  double cum = 0, prev_center = 0, prev_mean = 0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    double center = cum + sorted[i].weight / 2;
    if (target <= center) {
      if (i == 0) return sorted[0].mean;
      double t = (target - prev_center) / (center - prev_center);
      return t == 0 ? prev_mean : prev_mean + t * (sorted[i].mean - prev_mean);
    }
    prev_center = center;
    prev_mean = sorted[i].mean;
    cum += sorted[i].weight;
  }
  return sorted.back().mean;
}

// Checkpoints: the number of items, whether any has a weight other than 1, the means and (only
// then) the weights, 8 bytes each: raw values cost 8 bytes, centroids 16.
struct CentroidsCodec {
  std::string_view name() const { return "approx_percentile_cont"; }
  void Encode(const std::vector<Centroid>& items, std::string* out) const {
    PutVarint(out, items.size());
    bool weighted =
        std::any_of(items.begin(), items.end(), [](const Centroid& c) { return c.weight != 1; });
    out->push_back(weighted ? '\1' : '\0');
    for (const Centroid& c : items) PutFixed(out, c.mean);
    if (weighted) {
      for (const Centroid& c : items) PutFixed(out, c.weight);
    }
  }
  bool Decode(SlotReader* in, std::vector<Centroid>* items) const {
    uint64_t n = 0;
    uint8_t weighted = 0;
    if (!in->Count(&n, sizeof(double)) || !in->Fixed(&weighted) || weighted > 1) return false;
    items->assign(static_cast<size_t>(n), Centroid{0, 1});
    for (Centroid& c : *items) {
      if (!in->Fixed(&c.mean)) return false;
    }
    if (weighted) {
      for (Centroid& c : *items) {
        if (!in->Fixed(&c.weight) || !(c.weight > 0)) return false;
      }
    }
    return true;
  }
};

class TDigestState final : public CodedSlotState<std::vector<Centroid>, CentroidsCodec> {
 public:
  // `weighted`: the second argument is each value's weight (approx_percentile_cont_with_weight).
  TDigestState(double fraction, double compression, bool weighted = false)
      : CodedSlotState(CentroidsCodec{}),
        fraction_(fraction),
        compression_(compression),
        limit_(static_cast<size_t>(compression * kBufferFactor)),
        weighted_(weighted) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.size() < (weighted_ ? 2u : 1u)) {
      return Status::Internal("approx_percentile_cont: missing argument");
    }
    const Column& a = *args[0];
    const double* v = a.raw<double>();
    if (weighted_) {
      // A row whose value or weight is NULL, or whose weight is not positive, adds nothing.
      const double* w = args[1]->raw<double>();
      ForEachValidAll(args.subspan(0, 2), n, [&](int64_t i) {
        if (!(w[i] > 0) || std::isinf(w[i])) return;
        std::vector<Centroid>& items = slots_[groups[i]];
        items.push_back({v[i], w[i]});
        if (items.size() >= limit_) Compress(&items, compression_);
      });
      return Status::Ok();
    }
    ForEachValid(a, n, [&](int64_t i) {
      std::vector<Centroid>& items = slots_[groups[i]];
      items.push_back({v[i], 1});
      if (items.size() >= limit_) Compress(&items, compression_);
    });
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const std::vector<Centroid>& from = Same<TDigestState>(other).slots_[src];
    std::vector<Centroid>& to = slots_[dst];
    if (&from == &to) {
      std::vector<Centroid> copy = from;
      to.insert(to.end(), copy.begin(), copy.end());
    } else {
      to.insert(to.end(), from.begin(), from.end());
    }
    if (to.size() >= limit_) Compress(&to, compression_);
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    std::vector<Centroid> sorted;
    return MakeFixedResult<double>(types::Float64(), groups, n, [&](uint32_t g, double* out) {
      if (slots_[g].empty()) return false;
      sorted = slots_[g];
      // Raw values interleaved with centroids that span them would be placed at the wrong
      // rank: a digest that was ever compressed is compressed once more before the query.
      bool raw = std::all_of(sorted.begin(), sorted.end(),
                             [](const Centroid& c) { return c.weight == 1; });
      if (raw) {
        std::sort(sorted.begin(), sorted.end(), CentroidLess);
      } else {
        Compress(&sorted, compression_);
      }
      *out = Quantile(sorted, fraction_);
      return true;
    });
  }

 protected:
  int64_t ExtraBytes() const override {
    int64_t bytes = 0;
    for (const auto& v : slots_) bytes += static_cast<int64_t>(v.capacity() * sizeof(Centroid));
    return bytes;
  }

 private:
  double fraction_;
  double compression_;
  size_t limit_;
  bool weighted_;
};

// ---------------------------------------------------------------------------------------------
// Bind callbacks

constexpr double kDefaultCompression = 100;  // DataFusion's default centroid count

// The optional constant compression of approx_percentile_cont(_with_weight), argument `index`.
Result<double> CompressionArg(const std::string& name, const AggregateBindInput& in, size_t index) {
  const std::optional<Value>* c = ConstantArg(in, index);
  int64_t v = 0;
  if (c != nullptr && !(*c)->is_null()) {
    v = (*c)->type().is_unsigned_integer() ? static_cast<int64_t>((*c)->uint_value())
                                           : (*c)->int_value();
  }
  if (v < 10 || v > 10000) {
    return Status::User("{}: the compression must be a constant between 10 and 10000", name);
  }
  return static_cast<double>(v);
}

Result<BoundAggregate> BindApproxDistinct(const std::string& name, const AggregateBindInput& in) {
  SLUICE_RETURN_NOT_OK(CheckArity(name, in, 1, "one value of any type"));
  BoundAggregate b =
      MakeBound({in.types[0]}, types::Int64(),
                MakeFunction([] { return std::make_unique<ApproxDistinctState>(); }));
  b.distinct = in.distinct;  // already counts distinct values
  return b;
}

Result<BoundAggregate> BindApproxPercentile(const std::string& name, const AggregateBindInput& in) {
  const char* accepted =
      "(number, constant fraction between 0 and 1[, constant compression between 10 and 10000])";
  if (in.star || in.types.size() < 2 || in.types.size() > 3) {
    return NoMatchingAggregate(name, in, accepted);
  }
  if ((!in.types[0].is_numeric() && in.types[0].id() != TypeId::kNull) ||
      !in.types[1].is_numeric() || (in.types.size() == 3 && !in.types[2].is_integer())) {
    return NoMatchingAggregate(name, in, accepted);
  }
  SLUICE_ASSIGN_OR_RETURN(double fraction, PercentileFractionArg(name, in, 1));
  double compression = kDefaultCompression;
  std::vector<DataType> arg_types = {types::Float64(), types::Float64()};
  if (in.types.size() == 3) {
    SLUICE_ASSIGN_OR_RETURN(compression, CompressionArg(name, in, 2));
    arg_types.push_back(types::Int64());
  }
  return MakeBound(arg_types, types::Float64(), MakeFunction([fraction, compression] {
                     return std::make_unique<TDigestState>(fraction, compression);
                   }));
}

// approx_percentile_cont_with_weight(value, weight, fraction[, compression]), as in DataFusion:
// a value of weight w counts as w values in the digest.
Result<BoundAggregate> BindApproxPercentileWithWeight(const std::string& name,
                                                      const AggregateBindInput& in) {
  const char* accepted =
      "(number, weight, constant fraction between 0 and 1[, constant compression between 10 "
      "and 10000])";
  if (in.star || in.types.size() < 3 || in.types.size() > 4) {
    return NoMatchingAggregate(name, in, accepted);
  }
  auto numeric = [](const DataType& t) { return t.is_numeric() || t.id() == TypeId::kNull; };
  if (!numeric(in.types[0]) || !numeric(in.types[1]) || !in.types[2].is_numeric() ||
      (in.types.size() == 4 && !in.types[3].is_integer())) {
    return NoMatchingAggregate(name, in, accepted);
  }
  SLUICE_ASSIGN_OR_RETURN(double fraction, PercentileFractionArg(name, in, 2));
  double compression = kDefaultCompression;
  std::vector<DataType> arg_types = {types::Float64(), types::Float64(), types::Float64()};
  if (in.types.size() == 4) {
    SLUICE_ASSIGN_OR_RETURN(compression, CompressionArg(name, in, 3));
    arg_types.push_back(types::Int64());
  }
  return MakeBound(arg_types, types::Float64(), MakeFunction([fraction, compression] {
                     return std::make_unique<TDigestState>(fraction, compression, true);
                   }));
}

Result<BoundAggregate> BindApproxMedian(const std::string& name, const AggregateBindInput& in) {
  SLUICE_RETURN_NOT_OK(CheckArity(name, in, 1, "numbers"));
  if (!in.types[0].is_numeric() && in.types[0].id() != TypeId::kNull) {
    return NoMatchingAggregate(name, in, "numbers");
  }
  return MakeBound({types::Float64()}, types::Float64(), MakeFunction([] {
                     return std::make_unique<TDigestState>(0.5, kDefaultCompression);
                   }));
}

}  // namespace

void RegisterApproximateAggregates(AggregateDefinitions* defs) {
  defs->push_back({"approx_distinct", BindApproxDistinct});
  defs->push_back({"approx_percentile_cont", BindApproxPercentile});
  defs->push_back({"approx_percentile_cont_with_weight", BindApproxPercentileWithWeight});
  defs->push_back({"approx_median", BindApproxMedian});
}

}  // namespace sluice::expr
