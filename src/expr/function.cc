#include "expr/function.h"

#include <algorithm>

#include <fmt/format.h>

namespace sluice::expr {

void RegisterAllFunctions(FunctionRegistry* registry) {
  RegisterArithmeticFunctions(registry);
  RegisterComparisonFunctions(registry);
  RegisterMathFunctions(registry);
  RegisterStringFunctions(registry);
  RegisterRegexFunctions(registry);
  RegisterDatetimeFunctions(registry);
  RegisterJsonFunctions(registry);
  RegisterHashFunctions(registry);
  RegisterArrayFunctions(registry);
  RegisterStructFunctions(registry);
  RegisterConditionalFunctions(registry);
  std::sort(registry->functions_.begin(), registry->functions_.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
}

const FunctionRegistry& FunctionRegistry::Get() {
  static const FunctionRegistry* registry = [] {
    auto* r = new FunctionRegistry();
    RegisterAllFunctions(r);
    return r;
  }();
  return *registry;
}

void FunctionRegistry::Register(const std::string& name, BindFn bind) {
  functions_.emplace_back(name, std::move(bind));
}

void FunctionRegistry::Alias(const std::string& alias, const std::string& target) {
  for (const auto& [name, fn] : functions_) {
    if (name == target) {
      BindFn copy = fn;
      functions_.emplace_back(alias, std::move(copy));
      return;
    }
  }
}

const BindFn* FunctionRegistry::Find(const std::string& name) const {
  auto it =
      std::lower_bound(functions_.begin(), functions_.end(), name,
                       [](const auto& entry, const std::string& n) { return entry.first < n; });
  if (it != functions_.end() && it->first == name) return &it->second;
  // Before sorting (during registration) fall back to a scan.
  for (const auto& entry : functions_) {
    if (entry.first == name) return &entry.second;
  }
  return nullptr;
}

bool FunctionRegistry::Contains(const std::string& name) const {
  return Find(name) != nullptr;
}

std::vector<std::string> FunctionRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& entry : functions_) names.push_back(entry.first);
  return names;
}

Result<BoundFunction> FunctionRegistry::Bind(const std::string& name,
                                             const BindInput& input) const {
  const BindFn* fn = Find(name);
  if (fn == nullptr) return Status::User("function {}() does not exist", name);
  BindInput named = input;
  named.name = name;
  auto bound = (*fn)(named);
  if (!bound.ok()) return bound.status();
  if (bound->name.empty()) bound->name = name;
  bound->bound_from = std::move(named);
  return bound;
}

}  // namespace sluice::expr
