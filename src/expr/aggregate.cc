#include "expr/aggregate.h"

#include <algorithm>

#include "expr/aggregates/aggregate_internal.h"

namespace sluice::expr {

namespace {

std::string ArgumentList(const AggregateBindInput& in) {
  if (in.star) return "*";
  std::string s = in.distinct ? "DISTINCT " : "";
  for (size_t i = 0; i < in.types.size(); ++i) {
    if (i) s += ", ";
    s += in.types[i].ToString();
  }
  return s;
}

// Why an aggregate cannot retract, and what to use instead.
std::string CannotRetractHint(const std::string& name) {
  if (name == "approx_distinct") {
    return "its sketch cannot remove a value; count(DISTINCT ...) can";
  }
  if (name == "approx_percentile_cont" || name == "approx_median") {
    return "its sketch cannot remove a value; percentile_cont and median can";
  }
  if (name == "array_agg" || name == "string_agg") {
    return "its result depends on the order rows arrived in; the DISTINCT form, ordered by "
           "value, can";
  }
  if (name == "first_value" || name == "last_value") {
    return "which row is first or last depends on the order rows arrived in";
  }
  return "it cannot remove a row it has aggregated";
}

}  // namespace

Status NoMatchingAggregate(const std::string& name, const AggregateBindInput& in,
                           const std::string& accepted) {
  return Status::User("function {}({}) does not exist; {} accepts {}", name, ArgumentList(in), name,
                      accepted);
}

Status CheckArity(const std::string& name, const AggregateBindInput& in, size_t arity,
                  const std::string& accepted) {
  if (in.star || in.types.size() != arity) return NoMatchingAggregate(name, in, accepted);
  return Status::Ok();
}

const std::optional<Value>* ConstantArg(const AggregateBindInput& in, size_t i) {
  if (i >= in.constants.size() || !in.constants[i].has_value()) return nullptr;
  return &in.constants[i];
}

struct AggregateRegistry::Impl {
  AggregateDefinitions definitions;  // sorted by name

  const AggregateBindFn* Find(const std::string& name) const {
    auto it = std::lower_bound(
        definitions.begin(), definitions.end(), name,
        [](const AggregateDefinition& d, const std::string& n) { return d.name < n; });
    return it != definitions.end() && it->name == name ? &it->bind : nullptr;
  }
};

AggregateRegistry::AggregateRegistry() : impl_(std::make_shared<Impl>()) {
  RegisterBasicAggregates(&impl_->definitions);
  RegisterMinMaxAggregates(&impl_->definitions);
  RegisterStatisticsAggregates(&impl_->definitions);
  RegisterCollectionAggregates(&impl_->definitions);
  RegisterApproximateAggregates(&impl_->definitions);
  std::sort(impl_->definitions.begin(), impl_->definitions.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
}

const AggregateRegistry& AggregateRegistry::Get() {
  static const AggregateRegistry registry;
  return registry;
}

bool AggregateRegistry::Contains(const std::string& name) const {
  return impl_->Find(name) != nullptr;
}

std::vector<std::string> AggregateRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& d : impl_->definitions) names.push_back(d.name);
  return names;
}

Result<BoundAggregate> AggregateRegistry::Bind(const std::string& name,
                                               const AggregateBindInput& input) const {
  const AggregateBindFn* bind = impl_->Find(name);
  if (bind == nullptr) return Status::User("aggregate function {}() does not exist", name);
  if (input.star && name != "count") {
    return Status::User("{}(*) is not allowed; only count(*) counts rows", name);
  }
  if (input.star && input.distinct) return Status::User("count(DISTINCT *) is not allowed");
  auto bound = (*bind)(name, input);
  if (!bound.ok()) return bound.status();
  bound->name = name;
  if (input.distinct && !bound->distinct) {
    bound->function = MakeDistinctFunction(bound->function, bound->arg_types, input.retracting);
    bound->distinct = true;
  }
  if (input.retracting && !bound->function->NewState()->retractable()) {
    return Status::User(
        "{}() cannot be computed over an updating input (its rows can be retracted); {}", name,
        CannotRetractHint(name));
  }
  bound->bound_from = input;
  bound->registered = true;
  return bound;
}

}  // namespace sluice::expr
