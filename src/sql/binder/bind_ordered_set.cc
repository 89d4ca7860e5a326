// Ordered-set aggregates: percentile_cont(f) WITHIN GROUP (ORDER BY x) and the approximate
// percentiles, read as the plain calls the aggregate registry knows.

#include <map>

#include "expr/cast.h"
#include "sql/binder/binder_internal.h"

namespace sluice::sql {

namespace {

// Per ordered-set aggregate: how many direct arguments (in the parentheses) it takes, and
// where the ordered value goes among the registry's arguments (after the weight of
// approx_percentile_cont_with_weight, which DataFusion writes first).
struct OrderedSet {
  size_t min_direct;
  size_t max_direct;
  const char* form;
};

const std::map<std::string, OrderedSet>& OrderedSets() {
  static const std::map<std::string, OrderedSet> kSets = {
      {"percentile_cont", {1, 1, "percentile_cont(fraction) WITHIN GROUP (ORDER BY x)"}},
      {"approx_percentile_cont",
       {1, 2, "approx_percentile_cont(fraction[, compression]) WITHIN GROUP (ORDER BY x)"}},
      {"approx_percentile_cont_with_weight",
       {2, 3,
        "approx_percentile_cont_with_weight(weight, fraction[, compression]) WITHIN GROUP "
        "(ORDER BY x)"}},
  };
  return kSets;
}

}  // namespace

std::string OrderedSetNames() {
  std::string out;
  for (const auto& [name, set] : OrderedSets()) {
    if (!out.empty()) out += ", ";
    out += name;
  }
  return out;
}

AggregateArguments BindAggregateArguments(const Expr& call) {
  const std::string& name = call.names.back();
  auto it = OrderedSets().find(name);
  AggregateArguments out;
  if (!call.ordered_set) {
    if (it != OrderedSets().end() && !call.within_group.empty()) {
      FailUser(call.loc, "{}() takes its ORDER BY in WITHIN GROUP: {}", name, it->second.form);
    }
    // The parser accepts array_agg(v ORDER BY w); ignoring the ORDER BY would silently give
    // another order than the one asked for.
    if (!call.within_group.empty()) {
      FailNotSupported(call.loc,
                       "ORDER BY inside {}() is not supported yet: its values are combined in "
                       "the order rows arrive, which the ORDER BY would not change; remove it",
                       name);
    }
    out.args = call.args;
    return out;
  }
  if (it == OrderedSets().end()) {
    FailUser(call.loc,
             "{}() is not an ordered-set aggregate: WITHIN GROUP (ORDER BY ...) applies to {}",
             name, OrderedSetNames());
  }
  const OrderedSet& set = it->second;
  if (call.within_group.size() != 1) {
    FailUser(call.loc, "{}() orders by one expression: {}", name, set.form);
  }
  if (call.distinct) FailUser(call.loc, "DISTINCT cannot be used with WITHIN GROUP");
  if (call.star_arg || call.args.size() < set.min_direct || call.args.size() > set.max_direct) {
    FailUser(call.loc, "{}() takes {} argument{} before WITHIN GROUP, not {}: {}", name,
             set.min_direct == set.max_direct
                 ? std::to_string(set.min_direct)
                 : fmt::format("{} or {}", set.min_direct, set.max_direct),
             set.max_direct == 1 ? "" : "s",
             call.star_arg ? std::string("*") : std::to_string(call.args.size()), set.form);
  }
  // The registry's order: the value, [the weight,] the fraction[, the compression].
  out.args.push_back(call.within_group[0].expr);
  out.args.insert(out.args.end(), call.args.begin(), call.args.end());
  out.fraction_arg = set.min_direct;
  out.descending = call.within_group[0].descending;
  return out;
}

BoundExprPtr ReverseFraction(const BoundExprPtr& fraction) {
  if (fraction->kind != BoundKind::kLiteral || fraction->literal.is_null() ||
      !fraction->type.is_numeric()) {
    return fraction;
  }
  auto f = expr::CastValue(fraction->literal, types::Float64());
  if (!f.ok() || !(f->double_value() >= 0 && f->double_value() <= 1)) return fraction;
  return expr::MakeLiteral(types::Value::Double(1 - f->double_value()));
}

}  // namespace sluice::sql
