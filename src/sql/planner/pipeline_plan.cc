#include "sql/planner/pipeline_plan.h"

#include <fmt/format.h>

#include "sql/binder/binder.h"
#include "sql/parser/parser.h"
#include "sql/planner/plan_reuse.h"

namespace sluice::sql {

namespace {
bool AllSourcesFinite(const LogicalPlan& p) {
  if (p.kind == PlanKind::kSource) return p.table->finite;
  for (const auto& in : p.inputs) {
    if (!AllSourcesFinite(*in)) return false;
  }
  return true;
}

// The plan tree, with a node read by several parents printed in full once, marked
// "[shared #N by K parents]", and as "Reuse shared #N" under its other parents.
class SharedPrinter {
 public:
  explicit SharedPrinter(const PipelinePlan& plan) : parents_(CountParents(plan)) {}

  void Print(const LogicalPlan& p, int indent, std::string* out) {
    std::string pad(static_cast<size_t>(indent) * 2, ' ');
    auto it = parents_.find(&p);
    const int parents = it == parents_.end() ? 0 : it->second;
    if (parents <= 1) {
      *out += pad + p.Describe() + "\n";
    } else if (auto label = labels_.find(&p); label != labels_.end()) {
      *out += fmt::format("{}Reuse shared #{}\n", pad, label->second);
      return;
    } else {
      const int n = static_cast<int>(labels_.size()) + 1;
      labels_[&p] = n;
      *out += fmt::format("{}{} [shared #{} by {} parents]\n", pad, p.Describe(), n, parents);
    }
    for (const auto& in : p.inputs) Print(*in, indent + 1, out);
  }

 private:
  std::unordered_map<const LogicalPlan*, int> parents_;
  std::unordered_map<const LogicalPlan*, int> labels_;
};
}  // namespace

const std::vector<std::string>& KnownSettings() {
  static const std::vector<std::string> kKnown = {"updating_ttl", "update_flush_interval",
                                                  "batch_size", "parallelism"};
  return kKnown;
}

bool PipelinePlan::finite() const {
  for (const auto& s : sinks) {
    if (!AllSourcesFinite(*s)) return false;
  }
  return true;
}

std::string PipelinePlan::ToString() const {
  std::string s;
  for (const auto& [k, v] : settings) s += "Set " + k + " = " + v + "\n";
  SharedPrinter printer(*this);
  for (const auto& sink : sinks) printer.Print(*sink, 0, &s);
  return s;
}

Result<PipelinePlan> PlanSql(std::string_view sql) {
  auto statements = ParseSql(sql);
  if (!statements.ok()) return statements.status();
  Binder binder(sql);
  int index = 0;
  for (const auto& stmt : *statements) {
    SLUICE_RETURN_NOT_OK(binder.BindStatement(stmt, ++index));
  }
  auto plan = binder.Finish();
  if (!plan.ok()) return plan.status();
  return Optimize(plan.MoveValue());
}

}  // namespace sluice::sql
