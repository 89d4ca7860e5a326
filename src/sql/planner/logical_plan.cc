#include "sql/planner/logical_plan.h"

#include <fmt/format.h>

namespace sluice::sql {

bool LogicalPlan::updating() const {
  switch (kind) {
    case PlanKind::kUpdatingAggregate:
      return true;
    case PlanKind::kJoin:
      return join_mode == JoinMode::kUpdating;
    case PlanKind::kTopN:
      // Without an order (LIMIT without ORDER BY) every row ties and the earlier arrival stays:
      // over an append-only input, rows only enter.
      return top_n.window_end < 0 && (!top_n.order.empty() || inputs[0]->updating());
    case PlanKind::kSource:
      // A change stream: each row inserts, deletes or updates a row of the table it describes.
      return table != nullptr && table->type == connectors::TableType::kSource &&
             (table->format.format == "debezium_json" || table->changelog);
    case PlanKind::kFilter:
    case PlanKind::kProject:
    case PlanKind::kUnion:
    case PlanKind::kSink:
    case PlanKind::kWatermark:  // passes rows through with their change kinds
    case PlanKind::kUnnest:     // each element's row keeps its input row's change kind
      for (const auto& in : inputs) {
        if (in->updating()) return true;
      }
      return false;
    default:
      return false;
  }
}

std::string LogicalPlan::ToString(int indent) const {
  std::string s = std::string(static_cast<size_t>(indent) * 2, ' ') + Describe() + "\n";
  for (const auto& in : inputs) s += in->ToString(indent + 1);
  return s;
}

std::string LogicalPlan::Describe() const {
  std::string s;
  switch (kind) {
    case PlanKind::kSource: {
      std::string cols;
      for (size_t i = 0; i < columns.size(); ++i) {
        if (i) cols += ", ";
        cols += table->schema.field(static_cast<size_t>(columns[i])).name;
        // A struct narrowed to the fields read shows them.
        const auto& t = schema->field(i).type;
        if (t.id() == types::TypeId::kStruct &&
            t != table->schema.field(static_cast<size_t>(columns[i])).type) {
          cols += " " + t.ToString();
        }
      }
      s = fmt::format("Source {} [{}] columns ({})", table->table_name, table->connector, cols);
      break;
    }
    case PlanKind::kFilter:
      s = fmt::format("Filter {}", predicate->ToString());
      break;
    case PlanKind::kProject: {
      std::string items;
      for (size_t i = 0; i < exprs.size(); ++i) {
        if (i) items += ", ";
        items += exprs[i]->ToString() + " AS " + schema->field(i).name;
      }
      s = fmt::format("Project {}", items);
      break;
    }
    case PlanKind::kUnion:
      s = "Union All";
      break;
    case PlanKind::kSink:
      s = fmt::format("Sink {} [{}] {}", table->table_name, table->connector, schema->ToString());
      break;
    case PlanKind::kWatermark:
      if (processing_time) {
        s = fmt::format("Watermark processing_time ${} (wall clock)", event_time_column);
        break;
      }
      s = fmt::format("Watermark event_time {} watermark {}{}{}",
                      event_time_column >= 0 ? fmt::format("${}", event_time_column)
                                             : std::string("(source time)"),
                      watermark->ToString(),
                      idle_micros ? fmt::format(" idle {}us", *idle_micros) : "",
                      drop_late ? " (drops late rows)" : "");
      break;
    case PlanKind::kUpdatingAggregate:
      s = fmt::format(
          "UpdatingAggregate keys {} [{}] {} (updating, flush every {}us, keys kept {}us)",
          num_keys, exec::DescribeAggregates(aggregates), schema->ToString(), flush_interval_micros,
          ttl_micros);
      break;
    case PlanKind::kJoin: {
      const char* mode = join_mode == JoinMode::kWindowed   ? "windowed"
                         : join_mode == JoinMode::kInterval ? "interval"
                         : join_mode == JoinMode::kLookup   ? "lookup"
                                                            : "updating";
      std::string keys;
      for (size_t k = 0; k < left_keys.size(); ++k) {
        if (k) keys += ", ";
        keys += fmt::format("${} = ${}", left_keys[k], right_keys[k]);
      }
      std::string extra;
      if (join_mode == JoinMode::kInterval) {
        extra = fmt::format(", right time - left time in [{}us, {}us]", lower, upper);
      } else if (join_mode == JoinMode::kUpdating) {
        extra = fmt::format(", rows kept {}us", ttl_micros);
      }
      s = fmt::format("Join {} {} on [{}]{}{} {}", mode, exec::JoinTypeName(join_type), keys,
                      residual ? " and " + residual->ToString() : "", extra, schema->ToString());
      break;
    }
    case PlanKind::kUnnest:
      s = fmt::format("Unnest ${} {}", unnest_column, schema->ToString());
      break;
    case PlanKind::kAsyncUdf: {
      std::vector<std::string> args;
      for (int a : async_args) args.push_back(fmt::format("${}", a));
      s = fmt::format("AsyncUdf {}({}) {} {}", async_fn->name(), fmt::join(args, ", "),
                      async_fn->options().Describe(), schema->ToString());
      break;
    }
    case PlanKind::kOver:
      s = fmt::format("Over {} {}", over.Describe(), schema->ToString());
      break;
    case PlanKind::kTopN:
      s = fmt::format("TopN {}{} {}", top_n.Describe(),
                      top_n.window_end >= 0 ? ""
                      : rank_read           ? " (updating)"
                                            : " (updating, rank not read)",
                      schema->ToString());
      break;
    case PlanKind::kWindowAggregate: {
      std::string aggs;
      for (size_t i = 0; i < aggregates.size(); ++i) {
        if (i) aggs += ", ";
        aggs += aggregates[i].display;
      }
      s = fmt::format("WindowAggregate {} keys {} [{}] {}", window.ToString(), num_keys, aggs,
                      schema->ToString());
      break;
    }
  }
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

PlanPtr MakeWatermark(PlanPtr input, int event_time_column, expr::BoundExprPtr watermark,
                      std::optional<int64_t> idle_micros) {
  auto p = std::make_shared<LogicalPlan>();
  p->kind = PlanKind::kWatermark;
  p->schema = input->schema;
  p->inputs.push_back(std::move(input));
  p->event_time_column = event_time_column;
  p->watermark = std::move(watermark);
  p->idle_micros = idle_micros;
  return p;
}

PlanPtr MakeUpdatingAggregate(PlanPtr input, int num_keys,
                              std::vector<exec::AggregateCall> aggregates, types::SchemaPtr schema,
                              int64_t flush_interval_micros) {
  auto p = std::make_shared<LogicalPlan>();
  p->kind = PlanKind::kUpdatingAggregate;
  p->schema = std::move(schema);
  p->inputs.push_back(std::move(input));
  p->num_keys = num_keys;
  p->aggregates = std::move(aggregates);
  p->flush_interval_micros = flush_interval_micros;
  return p;
}

PlanPtr WithLateRowsDropped(const PlanPtr& plan) {
  switch (plan->kind) {
    case PlanKind::kWatermark: {
      // In processing time no row is late: left as is, so other reads can share it.
      if (plan->processing_time) return plan;
      auto copy = std::make_shared<LogicalPlan>(*plan);
      copy->drop_late = true;
      return copy;
    }
    case PlanKind::kFilter:
    case PlanKind::kProject:
    case PlanKind::kUnion:
    case PlanKind::kUnnest:
    case PlanKind::kAsyncUdf: {
      auto copy = std::make_shared<LogicalPlan>(*plan);
      for (auto& in : copy->inputs) in = WithLateRowsDropped(in);
      return copy;
    }
    default:
      return plan;
  }
}

PlanPtr MakeJoin(PlanPtr left, PlanPtr right, exec::JoinType type, JoinMode mode,
                 std::vector<int> left_keys, std::vector<int> right_keys,
                 expr::BoundExprPtr residual) {
  auto p = std::make_shared<LogicalPlan>();
  p->kind = PlanKind::kJoin;
  std::vector<types::Field> fields = left->schema->fields();
  for (const auto& f : right->schema->fields()) fields.push_back(f);
  p->schema = std::make_shared<types::Schema>(std::move(fields));
  p->inputs = {std::move(left), std::move(right)};
  p->join_type = type;
  p->join_mode = mode;
  p->left_keys = std::move(left_keys);
  p->right_keys = std::move(right_keys);
  p->residual = std::move(residual);
  return p;
}

PlanPtr MakeUnnest(PlanPtr input, int list_column) {
  auto p = std::make_shared<LogicalPlan>();
  p->kind = PlanKind::kUnnest;
  std::vector<types::Field> fields = input->schema->fields();
  fields.push_back(types::Field{
      "__element", input->schema->field(static_cast<size_t>(list_column)).type.element(), true});
  p->schema = std::make_shared<types::Schema>(std::move(fields));
  p->unnest_column = list_column;
  p->inputs.push_back(std::move(input));
  return p;
}

PlanPtr MakeAsyncUdf(PlanPtr input, std::shared_ptr<const udf::AsyncFunction> fn,
                     std::vector<int> args) {
  auto p = std::make_shared<LogicalPlan>();
  p->kind = PlanKind::kAsyncUdf;
  std::vector<types::Field> fields = input->schema->fields();
  fields.push_back(types::Field{"__async", fn->signature().return_type, true});
  p->schema = std::make_shared<types::Schema>(std::move(fields));
  p->async_fn = std::move(fn);
  p->async_args = std::move(args);
  p->inputs.push_back(std::move(input));
  return p;
}

PlanPtr MakeOver(PlanPtr input, exec::OverSpec spec) {
  auto p = std::make_shared<LogicalPlan>();
  p->kind = PlanKind::kOver;
  std::vector<types::Field> fields = input->schema->fields();
  for (size_t i = 0; i < spec.calls.size(); ++i) {
    fields.push_back(types::Field{fmt::format("__over{}", i), spec.calls[i].type, true});
  }
  p->schema = std::make_shared<types::Schema>(std::move(fields));
  spec.output_schema = p->schema;
  p->over = std::move(spec);
  p->inputs.push_back(std::move(input));
  return p;
}

PlanPtr MakeTopN(PlanPtr input, exec::TopNSpec spec) {
  auto p = std::make_shared<LogicalPlan>();
  p->kind = PlanKind::kTopN;
  std::vector<types::Field> fields = input->schema->fields();
  fields.push_back(types::Field{"__rank", types::DataType(types::TypeId::kInt64), false});
  p->schema = std::make_shared<types::Schema>(std::move(fields));
  spec.output_schema = p->schema;
  p->top_n = std::move(spec);
  p->inputs.push_back(std::move(input));
  return p;
}

PlanPtr MakeWindowAggregate(PlanPtr input, exec::WindowSpec window, int num_keys,
                            std::vector<exec::AggregateCall> aggregates, types::SchemaPtr schema) {
  auto p = std::make_shared<LogicalPlan>();
  p->kind = PlanKind::kWindowAggregate;
  p->schema = std::move(schema);
  p->inputs.push_back(std::move(input));
  p->window = window;
  p->num_keys = num_keys;
  p->aggregates = std::move(aggregates);
  return p;
}

}  // namespace sluice::sql
