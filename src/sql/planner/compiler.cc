#include "sql/planner/compiler.h"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>

#include "exec/async_udf.h"
#include "exec/hash_partitioner.h"
#include "exec/join.h"
#include "exec/lookup_join.h"
#include "exec/over_window.h"
#include "exec/project_filter.h"
#include "exec/session_aggregate.h"
#include "exec/unnest.h"
#include "exec/updating_aggregate.h"
#include "exec/updating_top_n.h"
#include "exec/watermark_generator.h"
#include "exec/window_aggregate.h"
#include "exec/window_top_n.h"
#include "sql/planner/plan_reuse.h"

namespace sluice::sql {

using runtime::DataflowGraph;
using runtime::EdgeKind;
using runtime::NodeSpec;
using runtime::OperatorFactory;

namespace {

// The join operators' description of a kJoin plan node: type, both input schemas, keys,
// residual condition and output schema.
exec::JoinSpec JoinSpecOf(const LogicalPlan& plan) {
  exec::JoinSpec spec;
  spec.type = plan.join_type;
  spec.left_schema = plan.inputs[0]->schema;
  spec.right_schema = plan.inputs[1]->schema;
  spec.left_keys = plan.left_keys;
  spec.right_keys = plan.right_keys;
  spec.residual = plan.residual;
  spec.output_schema = plan.schema;
  return spec;
}

// The nodes whose output forms a stream (several after a UNION ALL). A shared stream has
// several readers: none may be chained into its node, each gets its own out edge.
struct Stream {
  std::vector<int> nodes;
  bool shared = false;
};

class GraphBuilder {
 public:
  GraphBuilder(const CompileOptions& options, const PipelinePlan& plan)
      : options_(options), parents_(CountParents(plan)) {}

  // Compiles each node of the plan's DAG once: a node read by several parents is compiled for
  // the first and its stream fanned out to the others.
  Result<Stream> Compile(const PlanPtr& plan) {
    if (auto it = compiled_.find(plan.get()); it != compiled_.end()) return it->second;
    auto s = CompileNode(plan);
    if (!s.ok()) return s.status();
    s->shared = Parents(*plan) > 1;
    compiled_[plan.get()] = *s;
    return s;
  }
  DataflowGraph Take() { return std::move(graph_); }

 private:
  Result<Stream> CompileNode(const PlanPtr& plan);
  Result<Stream> CompileLookupJoin(const PlanPtr& plan);
  int Parents(const LogicalPlan& p) const {
    auto it = parents_.find(&p);
    return it == parents_.end() ? 0 : it->second;
  }

  int AddNode(int parallelism, std::shared_ptr<const OperatorFactory> head) {
    NodeSpec n;
    n.id = static_cast<int>(graph_.nodes.size());
    n.parallelism = parallelism;
    n.chain.push_back(std::move(head));
    graph_.nodes.push_back(std::move(n));
    return graph_.nodes.back().id;
  }
  // Appends `op` to the stream: chained into its node when possible, else a new node.
  Stream Attach(const Stream& in, std::shared_ptr<const OperatorFactory> op, int parallelism) {
    if (in.nodes.size() == 1 && !in.shared) {
      NodeSpec& node = graph_.nodes[static_cast<size_t>(in.nodes[0])];
      if (node.parallelism == parallelism) {
        node.chain.push_back(std::move(op));
        return in;
      }
    }
    int id = AddNode(parallelism, std::move(op));
    for (int from : in.nodes) {
      runtime::EdgeSpec e;
      e.from = from;
      e.to = id;
      e.kind = graph_.nodes[static_cast<size_t>(from)].parallelism == parallelism
                   ? EdgeKind::kForward
                   : EdgeKind::kRebalance;
      graph_.edges.push_back(std::move(e));
    }
    return Stream{{id}};
  }

  // A keyed operator: a new node fed by hash-partitioned edges on `keys` (with one subtask
  // everywhere, chained instead).
  Stream AttachKeyed(const Stream& in, std::shared_ptr<const OperatorFactory> op, int parallelism,
                     std::vector<int> keys, std::vector<std::string> names) {
    if (parallelism == 1 && in.nodes.size() == 1 &&
        graph_.nodes[static_cast<size_t>(in.nodes[0])].parallelism == 1) {
      return Attach(in, std::move(op), 1);
    }
    int id = AddNode(parallelism, std::move(op));
    for (int from : in.nodes) {
      runtime::EdgeSpec e;
      e.from = from;
      e.to = id;
      e.kind = EdgeKind::kHash;
      e.partitioner = exec::MakeHashPartitioner(keys);
      e.key_names = names;
      graph_.edges.push_back(std::move(e));
    }
    return Stream{{id}};
  }

  int ParallelismOf(const Stream& s) const {
    return graph_.nodes[static_cast<size_t>(s.nodes[0])].parallelism;
  }

  // The key columns of an aggregate's input: its first `num_keys` columns.
  struct Keys {
    std::vector<int> columns;
    std::vector<types::DataType> types;
    std::vector<std::string> names;
  };
  static Keys KeysOf(const LogicalPlan& aggregate) {
    Keys k;
    const auto& schema = *aggregate.inputs[0]->schema;
    for (int i = 0; i < aggregate.num_keys; ++i) {
      k.columns.push_back(i);
      k.types.push_back(schema.field(static_cast<size_t>(i)).type);
      k.names.push_back(schema.field(static_cast<size_t>(i)).name);
    }
    return k;
  }
  // An aggregate without keys runs as one subtask that sees every row.
  int KeyedParallelism(const Keys& k) const { return k.columns.empty() ? 1 : options_.parallelism; }

  static int Limit(int parallelism, const OperatorFactory& f) {
    return f.max_parallelism() > 0 ? std::min(parallelism, f.max_parallelism()) : parallelism;
  }

  const CompileOptions& options_;
  std::unordered_map<const LogicalPlan*, int> parents_;
  std::unordered_map<const LogicalPlan*, Stream> compiled_;
  // Filters and projections compiled at their input's parallelism.
  std::unordered_set<const LogicalPlan*> keep_parallelism_;
  DataflowGraph graph_;
};

// A lookup join: the side table (input 1) is read in the subtasks of its source (so that its
// end is marked where it ends, not only when the whole pipeline does), marked at its end and
// broadcast to every subtask; the probe rows (input 0) go to any subtask.
Result<Stream> GraphBuilder::CompileLookupJoin(const PlanPtr& plan) {
  // A lookup-only side table (redis): no side stream; the connector's operator looks each
  // probe row's key up itself, chained after the probe side.
  {
    const LogicalPlan* side = plan->inputs[1].get();
    const LogicalPlan* project = nullptr;
    if (side->kind == PlanKind::kProject) {
      project = side;
      side = side->inputs[0].get();
    }
    // The side's watermark plays no part: its rows are looked up, not streamed.
    while (side->kind == PlanKind::kWatermark) side = side->inputs[0].get();
    if (side->kind == PlanKind::kSource && side->table && side->table->lookup_only) {
      const connectors::Connector* connector =
          connectors::ConnectorRegistry::Get().Find(side->table->connector);
      std::vector<int> side_columns;
      if (project == nullptr) {
        for (size_t i = 0; i < side->schema->size(); ++i) {
          side_columns.push_back(static_cast<int>(i));
        }
      } else {
        for (const auto& e : project->exprs) {
          if (e->kind != expr::BoundKind::kColumn) {
            return Status::NotSupported(
                "a lookup join with {} table '{}' reads its columns as they are; compute "
                "expressions of them after the join",
                side->table->connector, side->table->table_name);
          }
          side_columns.push_back(e->column_index);
        }
      }
      auto left = Compile(plan->inputs[0]);
      if (!left.ok()) return left.status();
      auto op = connector->MakeLookupJoin(*side->table, JoinSpecOf(*plan), side_columns);
      if (!op.ok()) return op.status();
      return Attach(*left, *op, options_.parallelism);
    }
  }
  for (const LogicalPlan* p = plan->inputs[1].get();
       (p->kind == PlanKind::kProject || p->kind == PlanKind::kFilter ||
        p->kind == PlanKind::kWatermark) &&
       Parents(*p) <= 1;
       p = p->inputs[0].get()) {
    keep_parallelism_.insert(p);
  }
  auto left = Compile(plan->inputs[0]);
  if (!left.ok()) return left.status();
  auto right = Compile(plan->inputs[1]);
  if (!right.ok()) return right.status();
  auto marker = std::make_shared<exec::LookupSideEndFactory>(plan->inputs[1]->schema);
  Stream side = Attach(*right, marker, ParallelismOf(*right));
  exec::JoinSpec spec = JoinSpecOf(*plan);
  const int p = options_.parallelism;
  auto op = std::make_shared<exec::LookupJoinFactory>(spec, ParallelismOf(side));
  int id = AddNode(p, std::move(op));
  for (int side_index = 0; side_index < 2; ++side_index) {
    const Stream& in = side_index == 0 ? *left : side;
    for (int from : in.nodes) {
      runtime::EdgeSpec e;
      e.from = from;
      e.to = id;
      e.to_input = side_index;
      const int from_p = graph_.nodes[static_cast<size_t>(from)].parallelism;
      if (side_index == 1) {
        e.kind = p == 1 && from_p == 1 ? EdgeKind::kForward : EdgeKind::kBroadcast;
      } else {
        e.kind = from_p == p ? EdgeKind::kForward : EdgeKind::kRebalance;
      }
      graph_.edges.push_back(std::move(e));
    }
  }
  return Stream{{id}};
}

Result<Stream> GraphBuilder::CompileNode(const PlanPtr& plan) {
  const auto& registry = connectors::ConnectorRegistry::Get();
  switch (plan->kind) {
    case PlanKind::kSource: {
      const auto* connector = registry.Find(plan->table->connector);
      if (connector == nullptr) return Status::Internal("connector vanished");
      auto spec = std::make_shared<connectors::TableSpec>(*plan->table);
      // The plan's columns: the ones read, struct columns narrowed to the fields read.
      spec->schema = *plan->schema;
      spec->batch_rows = options_.batch_rows;
      auto factory = connector->MakeSource(*spec);
      if (!factory.ok()) return factory.status();
      int p = Limit(options_.parallelism, **factory);
      int id = AddNode(p, factory.MoveValue());
      graph_.source_columns[id] = spec->schema.ToString();
      return Stream{{id}};
    }
    case PlanKind::kFilter:
    case PlanKind::kProject: {
      // Project(Filter(x)) becomes one operator, unless the filter is shared.
      expr::BoundExprPtr predicate;
      std::vector<expr::BoundExprPtr> exprs;
      PlanPtr input = plan->inputs[0];
      types::SchemaPtr schema = plan->schema;
      if (plan->kind == PlanKind::kFilter) {
        predicate = plan->predicate;
      } else {
        exprs = plan->exprs;
        if (input->kind == PlanKind::kFilter && Parents(*input) == 1) {
          predicate = input->predicate;
          input = input->inputs[0];
        }
      }
      auto in = Compile(input);
      if (!in.ok()) return in.status();
      auto op = std::make_shared<exec::ProjectFilterFactory>(predicate, exprs, schema);
      // Changes of an updating stream must stay in order per key: no rebalancing.
      // (The side of a lookup join stays at its source's parallelism: see kJoin.)
      const bool keep = plan->updating() || keep_parallelism_.count(plan.get()) > 0;
      return Attach(*in, op, keep ? ParallelismOf(*in) : options_.parallelism);
    }
    case PlanKind::kUnion: {
      Stream out;
      for (const auto& in : plan->inputs) {
        auto s = Compile(in);
        if (!s.ok()) return s.status();
        out.nodes.insert(out.nodes.end(), s->nodes.begin(), s->nodes.end());
      }
      return out;
    }
    case PlanKind::kWatermark: {
      auto in = Compile(plan->inputs[0]);
      if (!in.ok()) return in.status();
      auto op = std::make_shared<exec::WatermarkGeneratorFactory>(
          plan->event_time_column, plan->watermark, plan->idle_micros, plan->drop_late,
          plan->processing_time);
      return Attach(*in, op, ParallelismOf(*in));
    }
    case PlanKind::kUpdatingAggregate: {
      auto in = Compile(plan->inputs[0]);
      if (!in.ok()) return in.status();
      Keys k = KeysOf(*plan);
      auto op = std::make_shared<exec::UpdatingAggregateFactory>(
          k.types, plan->aggregates, plan->schema, plan->flush_interval_micros, plan->ttl_micros);
      return AttachKeyed(*in, op, KeyedParallelism(k), k.columns, k.names);
    }
    case PlanKind::kWindowAggregate: {
      auto in = Compile(plan->inputs[0]);
      if (!in.ok()) return in.status();
      Keys k = KeysOf(*plan);
      std::shared_ptr<const OperatorFactory> op;
      if (plan->window.kind == exec::WindowSpec::Kind::kSession) {
        op = std::make_shared<exec::SessionAggregateFactory>(plan->window, k.types,
                                                             plan->aggregates, plan->schema);
      } else {
        op = std::make_shared<exec::WindowAggregateFactory>(plan->window, k.types, plan->aggregates,
                                                            plan->schema);
      }
      return AttachKeyed(*in, op, KeyedParallelism(k), k.columns, k.names);
    }
    case PlanKind::kUnnest: {
      auto in = Compile(plan->inputs[0]);
      if (!in.ok()) return in.status();
      auto op = std::make_shared<exec::UnnestFactory>(plan->unnest_column, plan->schema);
      return Attach(*in, op, ParallelismOf(*in));
    }
    case PlanKind::kAsyncUdf: {
      auto in = Compile(plan->inputs[0]);
      if (!in.ok()) return in.status();
      auto op =
          std::make_shared<exec::AsyncUdfFactory>(plan->async_fn, plan->async_args, plan->schema);
      return Attach(*in, op, ParallelismOf(*in));
    }
    case PlanKind::kOver: {
      auto in = Compile(plan->inputs[0]);
      if (!in.ok()) return in.status();
      std::vector<std::string> names;
      for (int k : plan->over.partition) {
        names.push_back(plan->inputs[0]->schema->field(static_cast<size_t>(k)).name);
      }
      auto op = std::make_shared<exec::OverWindowFactory>(plan->over);
      int p = plan->over.partition.empty() ? 1 : options_.parallelism;
      return AttachKeyed(*in, op, p, plan->over.partition, names);
    }
    case PlanKind::kTopN: {
      auto in = Compile(plan->inputs[0]);
      if (!in.ok()) return in.status();
      std::vector<std::string> names;
      for (int k : plan->top_n.partition) {
        names.push_back(plan->inputs[0]->schema->field(static_cast<size_t>(k)).name);
      }
      if (plan->top_n.window_end < 0) {
        // Over the whole stream: only a limit bounds the state.
        if (plan->top_n.limit <= 0) {
          return Status::NotSupported(
              "ROW_NUMBER() over a whole unbounded stream needs a filter on its rank above it "
              "(WHERE rank <= N, rank < N or rank = 1): without a limit every row would be kept "
              "(unbounded state)");
        }
        auto op = std::make_shared<exec::UpdatingTopNFactory>(plan->top_n, plan->rank_read,
                                                              plan->inputs[0]->updating());
        int p = plan->top_n.partition.empty() ? 1 : options_.parallelism;
        return AttachKeyed(*in, op, p, plan->top_n.partition, names);
      }
      auto op = std::make_shared<exec::WindowTopNFactory>(plan->top_n);
      return AttachKeyed(*in, op, options_.parallelism, plan->top_n.partition, names);
    }
    case PlanKind::kJoin: {
      if (plan->join_mode == JoinMode::kLookup) return CompileLookupJoin(plan);
      auto left = Compile(plan->inputs[0]);
      if (!left.ok()) return left.status();
      auto right = Compile(plan->inputs[1]);
      if (!right.ok()) return right.status();
      exec::JoinSpec spec = JoinSpecOf(*plan);
      std::shared_ptr<const OperatorFactory> op;
      switch (plan->join_mode) {
        case JoinMode::kWindowed:
          op = std::make_shared<exec::WindowJoinFactory>(spec, plan->window_key);
          break;
        case JoinMode::kUpdating:
          op = exec::HashJoinFactory::Updating(spec, plan->ttl_micros);
          break;
        case JoinMode::kInterval:
          op = exec::HashJoinFactory::Interval(spec, plan->lower, plan->upper);
          break;
        case JoinMode::kLookup:
          return Status::Internal("lookup join compiled as a join of two streams");
      }
      const int p = options_.parallelism;
      int id = AddNode(p, std::move(op));
      for (int side = 0; side < 2; ++side) {
        const Stream& in = side == 0 ? *left : *right;
        const auto& keys = side == 0 ? plan->left_keys : plan->right_keys;
        const auto& schema = *plan->inputs[static_cast<size_t>(side)]->schema;
        std::vector<std::string> names;
        for (int k : keys) names.push_back(schema.field(static_cast<size_t>(k)).name);
        for (int from : in.nodes) {
          runtime::EdgeSpec e;
          e.from = from;
          e.to = id;
          e.to_input = side;
          if (p == 1 && graph_.nodes[static_cast<size_t>(from)].parallelism == 1) {
            e.kind = EdgeKind::kForward;
          } else {
            e.kind = EdgeKind::kHash;
            e.partitioner = exec::MakeHashPartitioner(keys);
            e.key_names = names;
          }
          graph_.edges.push_back(std::move(e));
        }
      }
      return Stream{{id}};
    }
    case PlanKind::kSink: {
      auto in = Compile(plan->inputs[0]);
      if (!in.ok()) return in.status();
      const auto* connector = registry.Find(plan->table->connector);
      if (connector == nullptr) return Status::Internal("connector vanished");
      auto factory = connector->MakeSink(*plan->table);
      if (!factory.ok()) return factory.status();
      int p = Limit(options_.parallelism, **factory);
      return Attach(*in, factory.MoveValue(), p);
    }
  }
  return Status::Internal("unknown plan node");
}

}  // namespace

Result<DataflowGraph> Compile(const PipelinePlan& plan, const CompileOptions& options) {
  GraphBuilder builder(options, plan);
  for (const auto& sink : plan.sinks) {
    auto s = builder.Compile(sink);
    if (!s.ok()) return s.status();
  }
  return builder.Take();
}

}  // namespace sluice::sql
