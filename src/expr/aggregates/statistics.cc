// The variance family (var_pop, var_samp, stddev_pop, stddev_samp) and the two-variable
// statistics (covar_pop, covar_samp, corr, regr_*), with PostgreSQL's definitions.
//
// States follow PostgreSQL's float8_accum / float8_regr_accum: per group N, Sx and Sxx (the
// sum of squared deviations from the mean, updated with the Youngs-Cramer recurrence), plus
// Sy, Syy, Sxy for two variables. Unlike sums of squares, these do not lose every digit to
// cancellation when the mean is large. Merge is PostgreSQL's combine function; Subtract solves
// that combination for the unknown part, so sliding windows can remove a pane; Retract removes
// a row the same way.

#include <cmath>
#include <limits>

#include "expr/aggregates/aggregate_internal.h"

namespace sluice::expr {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------------------
// One variable

struct MomentSlot {
  double n = 0;
  double sx = 0;
  double sxx = 0;
};

// A variance group: the moments of its finite inputs, and how many inputs were infinite or
// NaN (any makes the variance NaN). Keeping those apart lets a retraction of the last Inf give
// back the variance of the rest, where accumulating it would have left NaN for good.
struct VarianceSlot {
  MomentSlot finite;
  int64_t nonfinite = 0;
};

// Adds x to (n, sx, sxx).
inline void Accumulate(double x, double* n, double* sx, double* sxx) {
  double old_n = *n;
  *n += 1;
  *sx += x;
  if (old_n > 0) {
    double tmp = x * *n - *sx;
    *sxx += tmp * tmp / (*n * old_n);
    if (!std::isfinite(*sx) || !std::isfinite(*sxx)) *sxx = kNaN;
  } else if (!std::isfinite(x)) {
    *sxx = kNaN;  // one Inf or NaN input: the variance is NaN, not 0
  }
}

// (n, sx, sxx) += (n2, sx2, sxx2): PostgreSQL's float8_combine.
inline void Combine(MomentSlot* a, const MomentSlot& b) {
  if (b.n == 0) return;
  if (a->n == 0) {
    *a = b;
    return;
  }
  double n = a->n + b.n;
  double tmp = a->sx / a->n - b.sx / b.n;
  a->sxx = a->sxx + b.sxx + a->n * b.n * tmp * tmp / n;
  a->sx += b.sx;
  a->n = n;
}

// Finds a with a + b = c, in place of c.
inline void Uncombine(MomentSlot* c, const MomentSlot& b) {
  if (b.n == 0) return;
  double n = c->n - b.n;
  if (n <= 0) {
    *c = MomentSlot{};
    return;
  }
  double sx = c->sx - b.sx;
  double tmp = sx / n - b.sx / b.n;
  double sxx = c->sxx - b.sxx - n * b.n * tmp * tmp / c->n;
  c->n = n;
  c->sx = sx;
  c->sxx = sxx < 0 ? 0 : sxx;  // rounding can leave a tiny negative residue
}

enum class VarianceFinal { kVarPop, kVarSamp, kStddevPop, kStddevSamp };

class VarianceState final : public SlotState<VarianceSlot> {
 public:
  explicit VarianceState(VarianceFinal f) : final_(f) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return Status::Internal("variance: missing argument");
    const Column& a = *args[0];
    const double* v = a.raw<double>();
    VarianceSlot* s = slots_.data();
    ForEachValid(a, n, [&](int64_t i) {
      VarianceSlot& slot = s[groups[i]];
      if (std::isfinite(v[i])) [[likely]] {
        Accumulate(v[i], &slot.finite.n, &slot.finite.sx, &slot.finite.sxx);
      } else {
        ++slot.nonfinite;
      }
    });
    return Status::Ok();
  }
  bool retractable() const override { return true; }
  // Removes one input as Subtract removes a part of one row.
  Status Retract(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.empty()) return Status::Internal("variance: missing argument");
    const Column& a = *args[0];
    const double* v = a.raw<double>();
    VarianceSlot* s = slots_.data();
    ForEachValid(a, n, [&](int64_t i) {
      VarianceSlot& slot = s[groups[i]];
      if (std::isfinite(v[i])) [[likely]] {
        Uncombine(&slot.finite, MomentSlot{1, v[i], 0});
      } else {
        --slot.nonfinite;
      }
    });
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const VarianceSlot& from = Same<VarianceState>(other).slots_[src];
    Combine(&slots_[dst].finite, from.finite);
    slots_[dst].nonfinite += from.nonfinite;
  }
  bool invertible() const override { return true; }
  void Subtract(const AggregateState& other, uint32_t src, uint32_t dst) override {
    const VarianceSlot& from = Same<VarianceState>(other).slots_[src];
    Uncombine(&slots_[dst].finite, from.finite);
    slots_[dst].nonfinite -= from.nonfinite;
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    return MakeFixedResult<double>(types::Float64(), groups, n, [&](uint32_t g, double* out) {
      const MomentSlot& s = slots_[g].finite;
      double count = s.n + static_cast<double>(slots_[g].nonfinite);
      bool samp = final_ == VarianceFinal::kVarSamp || final_ == VarianceFinal::kStddevSamp;
      if (count < (samp ? 2 : 1)) return false;
      double var = slots_[g].nonfinite > 0 ? kNaN : s.sxx / (samp ? s.n - 1 : s.n);
      *out = final_ == VarianceFinal::kStddevPop || final_ == VarianceFinal::kStddevSamp
                 ? std::sqrt(var)
                 : var;
      return true;
    });
  }

 private:
  VarianceFinal final_;
};

// ---------------------------------------------------------------------------------------------
// Two variables: f(Y, X), PostgreSQL's argument order.

struct RegrSlot {
  double n = 0;
  double sx = 0;
  double sxx = 0;
  double sy = 0;
  double syy = 0;
  double sxy = 0;
};

inline void AccumulatePair(RegrSlot* s, double y, double x) {
  double old_n = s->n;
  s->n += 1;
  s->sx += x;
  s->sy += y;
  if (old_n > 0) {
    double tmp_x = x * s->n - s->sx;
    double tmp_y = y * s->n - s->sy;
    double scale = 1.0 / (s->n * old_n);
    s->sxx += tmp_x * tmp_x * scale;
    s->syy += tmp_y * tmp_y * scale;
    s->sxy += tmp_x * tmp_y * scale;
    bool bad_x = !std::isfinite(s->sx) || !std::isfinite(s->sxx);
    bool bad_y = !std::isfinite(s->sy) || !std::isfinite(s->syy);
    if (bad_x) s->sxx = kNaN;
    if (bad_y) s->syy = kNaN;
    if (bad_x || bad_y || !std::isfinite(s->sxy)) s->sxy = kNaN;
  } else {
    if (!std::isfinite(x)) s->sxx = kNaN;
    if (!std::isfinite(y)) s->syy = kNaN;
    if (!std::isfinite(x) || !std::isfinite(y)) s->sxy = kNaN;
  }
}

// PostgreSQL's float8_regr_combine.
inline void CombinePair(RegrSlot* a, const RegrSlot& b) {
  if (b.n == 0) return;
  if (a->n == 0) {
    *a = b;
    return;
  }
  double n = a->n + b.n;
  double tmp_x = a->sx / a->n - b.sx / b.n;
  double tmp_y = a->sy / a->n - b.sy / b.n;
  double w = a->n * b.n / n;
  a->sxx += b.sxx + w * tmp_x * tmp_x;
  a->syy += b.syy + w * tmp_y * tmp_y;
  a->sxy += b.sxy + w * tmp_x * tmp_y;
  a->sx += b.sx;
  a->sy += b.sy;
  a->n = n;
}

inline void UncombinePair(RegrSlot* c, const RegrSlot& b) {
  if (b.n == 0) return;
  double n = c->n - b.n;
  if (n <= 0) {
    *c = RegrSlot{};
    return;
  }
  double sx = c->sx - b.sx;
  double sy = c->sy - b.sy;
  double tmp_x = sx / n - b.sx / b.n;
  double tmp_y = sy / n - b.sy / b.n;
  double w = n * b.n / c->n;
  double sxx = c->sxx - b.sxx - w * tmp_x * tmp_x;
  double syy = c->syy - b.syy - w * tmp_y * tmp_y;
  c->sxy = c->sxy - b.sxy - w * tmp_x * tmp_y;
  c->sxx = sxx < 0 ? 0 : sxx;
  c->syy = syy < 0 ? 0 : syy;
  c->sx = sx;
  c->sy = sy;
  c->n = n;
}

enum class RegrFinal {
  kCovarPop,
  kCovarSamp,
  kCorr,
  kSlope,
  kIntercept,
  kCount,
  kR2,
  kAvgX,
  kAvgY,
  kSxx,
  kSyy,
  kSxy,
};

// The value of one final for a slot; false for NULL. Transcribes PostgreSQL's float8_covar_*,
// float8_corr and float8_regr_* final functions, including their NULL cases.
bool RegrValue(RegrFinal f, const RegrSlot& s, double* out) {
  if (s.n < 1) return false;
  switch (f) {
    case RegrFinal::kCovarPop:
      *out = s.sxy / s.n;
      return true;
    case RegrFinal::kCovarSamp:
      if (s.n < 2) return false;
      *out = s.sxy / (s.n - 1);
      return true;
    case RegrFinal::kCorr:
      if (s.sxx == 0 || s.syy == 0) return false;
      *out = s.sxy / std::sqrt(s.sxx * s.syy);
      return true;
    case RegrFinal::kSlope:
      if (s.sxx == 0) return false;
      *out = s.sxy / s.sxx;
      return true;
    case RegrFinal::kIntercept:
      if (s.sxx == 0) return false;
      *out = (s.sy - s.sx * s.sxy / s.sxx) / s.n;
      return true;
    case RegrFinal::kR2:
      if (s.sxx == 0) return false;
      *out = s.syy == 0 ? 1.0 : s.sxy * s.sxy / (s.sxx * s.syy);
      return true;
    case RegrFinal::kAvgX:
      *out = s.sx / s.n;
      return true;
    case RegrFinal::kAvgY:
      *out = s.sy / s.n;
      return true;
    case RegrFinal::kSxx:
      *out = s.sxx;
      return true;
    case RegrFinal::kSyy:
      *out = s.syy;
      return true;
    case RegrFinal::kSxy:
      *out = s.sxy;
      return true;
    case RegrFinal::kCount:
      *out = s.n;
      return true;
  }
  return false;
}

class RegrState final : public SlotState<RegrSlot> {
 public:
  explicit RegrState(RegrFinal f) : final_(f) {}

  Status Update(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.size() < 2) return Status::Internal("regression aggregate: missing arguments");
    const double* y = args[0]->raw<double>();
    const double* x = args[1]->raw<double>();
    RegrSlot* s = slots_.data();
    ForEachValidAll(args.subspan(0, 2), n,
                    [&](int64_t i) { AccumulatePair(&s[groups[i]], y[i], x[i]); });
    return Status::Ok();
  }
  // A non-finite input (Inf, NaN) makes the sums it entered NaN until every row of the group
  // is retracted (PostgreSQL has no inverse for these aggregates at all).
  bool retractable() const override { return true; }
  Status Retract(std::span<const ColumnPtr> args, const uint32_t* groups, int64_t n) override {
    if (args.size() < 2) return Status::Internal("regression aggregate: missing arguments");
    const double* y = args[0]->raw<double>();
    const double* x = args[1]->raw<double>();
    RegrSlot* s = slots_.data();
    ForEachValidAll(args.subspan(0, 2), n, [&](int64_t i) {
      UncombinePair(&s[groups[i]], RegrSlot{1, x[i], 0, y[i], 0, 0});
    });
    return Status::Ok();
  }
  void Merge(const AggregateState& other, uint32_t src, uint32_t dst) override {
    CombinePair(&slots_[dst], Same<RegrState>(other).slots_[src]);
  }
  bool invertible() const override { return true; }
  void Subtract(const AggregateState& other, uint32_t src, uint32_t dst) override {
    UncombinePair(&slots_[dst], Same<RegrState>(other).slots_[src]);
  }
  Result<ColumnPtr> Finalize(const uint32_t* groups, int64_t n) const override {
    if (final_ == RegrFinal::kCount) {
      return MakeFixedResult<int64_t>(types::Int64(), groups, n, [&](uint32_t g, int64_t* out) {
        *out = static_cast<int64_t>(slots_[g].n);
        return true;  // regr_count of nothing is 0, like count
      });
    }
    return MakeFixedResult<double>(types::Float64(), groups, n, [&](uint32_t g, double* out) {
      return RegrValue(final_, slots_[g], out);
    });
  }

 private:
  RegrFinal final_;
};

// ---------------------------------------------------------------------------------------------
// Bind callbacks

bool IsNumberOrNull(const DataType& t) {
  return t.is_numeric() || t.id() == TypeId::kNull;
}

AggregateBindFn VarianceBinder(VarianceFinal f) {
  return [f](const std::string& name, const AggregateBindInput& in) -> Result<BoundAggregate> {
    SLUICE_RETURN_NOT_OK(CheckArity(name, in, 1, "numbers"));
    if (!IsNumberOrNull(in.types[0])) return NoMatchingAggregate(name, in, "numbers");
    return MakeBound({types::Float64()}, types::Float64(),
                     MakeFunction([f] { return std::make_unique<VarianceState>(f); }));
  };
}

AggregateBindFn RegrBinder(RegrFinal f) {
  return [f](const std::string& name, const AggregateBindInput& in) -> Result<BoundAggregate> {
    const char* accepted = "two numbers (Y, X)";
    SLUICE_RETURN_NOT_OK(CheckArity(name, in, 2, accepted));
    if (!IsNumberOrNull(in.types[0]) || !IsNumberOrNull(in.types[1])) {
      return NoMatchingAggregate(name, in, accepted);
    }
    DataType ret = f == RegrFinal::kCount ? types::Int64() : types::Float64();
    return MakeBound({types::Float64(), types::Float64()}, ret,
                     MakeFunction([f] { return std::make_unique<RegrState>(f); }));
  };
}

}  // namespace

void RegisterStatisticsAggregates(AggregateDefinitions* defs) {
  defs->push_back({"var_pop", VarianceBinder(VarianceFinal::kVarPop)});
  defs->push_back({"var_samp", VarianceBinder(VarianceFinal::kVarSamp)});
  defs->push_back({"variance", VarianceBinder(VarianceFinal::kVarSamp)});
  defs->push_back({"stddev_pop", VarianceBinder(VarianceFinal::kStddevPop)});
  defs->push_back({"stddev_samp", VarianceBinder(VarianceFinal::kStddevSamp)});
  defs->push_back({"stddev", VarianceBinder(VarianceFinal::kStddevSamp)});
  defs->push_back({"covar_pop", RegrBinder(RegrFinal::kCovarPop)});
  defs->push_back({"covar_samp", RegrBinder(RegrFinal::kCovarSamp)});
  defs->push_back({"corr", RegrBinder(RegrFinal::kCorr)});
  defs->push_back({"regr_slope", RegrBinder(RegrFinal::kSlope)});
  defs->push_back({"regr_intercept", RegrBinder(RegrFinal::kIntercept)});
  defs->push_back({"regr_count", RegrBinder(RegrFinal::kCount)});
  defs->push_back({"regr_r2", RegrBinder(RegrFinal::kR2)});
  defs->push_back({"regr_avgx", RegrBinder(RegrFinal::kAvgX)});
  defs->push_back({"regr_avgy", RegrBinder(RegrFinal::kAvgY)});
  defs->push_back({"regr_sxx", RegrBinder(RegrFinal::kSxx)});
  defs->push_back({"regr_syy", RegrBinder(RegrFinal::kSyy)});
  defs->push_back({"regr_sxy", RegrBinder(RegrFinal::kSxy)});
}

}  // namespace sluice::expr
