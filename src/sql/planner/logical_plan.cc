#include "sql/planner/logical_plan.h"

#include <fmt/format.h>

namespace sluice::sql {

std::string LogicalPlan::ToString(int indent) const {
  std::string pad(static_cast<size_t>(indent) * 2, ' ');
  std::string s;
  switch (kind) {
    case PlanKind::kSource: {
      std::string cols;
      for (size_t i = 0; i < columns.size(); ++i) {
        if (i) cols += ", ";
        cols += table->schema.field(static_cast<size_t>(columns[i])).name;
      }
      s = fmt::format("{}Source {} [{}] columns ({})\n", pad, table->table_name, table->connector,
                      cols);
      break;
    }
    case PlanKind::kFilter:
      s = fmt::format("{}Filter {}\n", pad, predicate->ToString());
      break;
    case PlanKind::kProject: {
      std::string items;
      for (size_t i = 0; i < exprs.size(); ++i) {
        if (i) items += ", ";
        items += exprs[i]->ToString() + " AS " + schema->field(i).name;
      }
      s = fmt::format("{}Project {}\n", pad, items);
      break;
    }
    case PlanKind::kUnion:
      s = fmt::format("{}Union All\n", pad);
      break;
    case PlanKind::kSink:
      s = fmt::format("{}Sink {} [{}] {}\n", pad, table->table_name, table->connector,
                      schema->ToString());
      break;
  }
  for (const auto& in : inputs) s += in->ToString(indent + 1);
  return s;
}

PlanPtr MakeSource(std::shared_ptr<const connectors::TableSpec> table, std::vector<int> columns) {
  auto p = std::make_shared<LogicalPlan>();
  p->kind = PlanKind::kSource;
  std::vector<types::Field> fields;
  for (int c : columns) fields.push_back(table->schema.field(static_cast<size_t>(c)));
  p->schema = std::make_shared<types::Schema>(std::move(fields));
  p->table = std::move(table);
  p->columns = std::move(columns);
  return p;
}

PlanPtr MakeFilter(PlanPtr input, expr::BoundExprPtr predicate) {
  auto p = std::make_shared<LogicalPlan>();
  p->kind = PlanKind::kFilter;
  p->schema = input->schema;
  p->inputs.push_back(std::move(input));
  p->predicate = std::move(predicate);
  return p;
}

PlanPtr MakeProject(PlanPtr input, std::vector<expr::BoundExprPtr> exprs, types::SchemaPtr schema) {
  auto p = std::make_shared<LogicalPlan>();
  p->kind = PlanKind::kProject;
  p->schema = std::move(schema);
  p->inputs.push_back(std::move(input));
  p->exprs = std::move(exprs);
  return p;
}

PlanPtr MakeUnion(std::vector<PlanPtr> inputs) {
  auto p = std::make_shared<LogicalPlan>();
  p->kind = PlanKind::kUnion;
  p->schema = inputs[0]->schema;
  p->inputs = std::move(inputs);
  return p;
}

PlanPtr MakeSink(PlanPtr input, std::shared_ptr<const connectors::TableSpec> table) {
  auto p = std::make_shared<LogicalPlan>();
  p->kind = PlanKind::kSink;
  p->schema = std::make_shared<types::Schema>(table->schema);
  p->inputs.push_back(std::move(input));
  p->table = std::move(table);
  return p;
}

}  // namespace sluice::sql
