#include "sql/planner/pipeline_plan.h"

#include "sql/binder/binder.h"
#include "sql/parser/parser.h"

namespace sluice::sql {

namespace {
bool AllSourcesFinite(const LogicalPlan& p) {
  if (p.kind == PlanKind::kSource) return p.table->finite;
  for (const auto& in : p.inputs) {
    if (!AllSourcesFinite(*in)) return false;
  }
  return true;
}
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
  for (const auto& sink : sinks) s += sink->ToString();
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
