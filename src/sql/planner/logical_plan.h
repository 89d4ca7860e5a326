#pragma once
// The logical plan: an immutable tree of relational operators over bound expressions, produced
// by the binder, rewritten by the optimizer, and compiled into a dataflow graph.

#include <memory>
#include <string>
#include <vector>

#include <optional>

#include "connectors/connector.h"
#include "exec/join.h"
#include "exec/over_window.h"
#include "exec/window_spec.h"
#include "exec/window_top_n.h"
#include "expr/bound_expr.h"
#include "types/schema.h"
#include "udf/async_function.h"

namespace sluice::sql {

enum class PlanKind {
  kSource,             // a connector source table; `columns` = which table columns are read
  kFilter,             // rows where `predicate` is TRUE
  kProject,            // `exprs`, one per output column
  kUnion,              // UNION ALL of `inputs`
  kSink,               // writes `inputs[0]` into a connector sink table
  kWatermark,          // sets event times and generates watermarks (right after a source)
  kWindowAggregate,    // windowed GROUP BY: output window, keys, aggregates
  kUpdatingAggregate,  // GROUP BY without a window: an updating stream of keys, aggregates
  kJoin,               // inputs[0] JOIN inputs[1] on equal keys: left's columns, then right's
  kTopN,               // ranks rows per window and partition: the input's columns, then the rank
  kUnnest,             // one row per element of list column `unnest_column`, appended
  kOver,               // window functions over rows (LAG, running aggregates): the input's
                       // columns, then one per call of `over`
  kAsyncUdf,           // an async function of columns `async_args`: the input's columns, then
                       // the result (append-only)
};

enum class JoinMode {
  kWindowed,  // both inputs windowed alike: joined per window when it closes (append-only)
  kUpdating,  // rows kept for updating_ttl, joined as they arrive (updating output)
  kInterval,  // right time - left time within [lo, hi] (append-only)
  kLookup,    // the right input is a bounded table, built first; left rows probe it (append-only)
};

struct LogicalPlan;
using PlanPtr = std::shared_ptr<const LogicalPlan>;

struct LogicalPlan {
  PlanKind kind;
  types::SchemaPtr schema;  // output columns
  std::vector<PlanPtr> inputs;
  // kSource / kSink
  std::shared_ptr<const connectors::TableSpec> table;
  std::vector<int> columns;  // kSource: indexes into table->schema, in output order
  // kFilter
  expr::BoundExprPtr predicate;
  // kProject
  std::vector<expr::BoundExprPtr> exprs;
  // kWatermark: event-time column (-1: keep the source's time), watermark expression
  int event_time_column = -1;
  expr::BoundExprPtr watermark;
  std::optional<int64_t> idle_micros;
  bool drop_late = false;  // the rows feed a windowed operator
  // Processing time: the event-time column is stamped with the wall clock as rows pass, and the
  // watermark follows the wall clock (also while the source is idle); `watermark` is the column.
  bool processing_time = false;
  // kWindowAggregate: input columns are the keys [0, num_keys), then arguments and filters
  exec::WindowSpec window;
  int num_keys = 0;
  std::vector<exec::AggregateCall> aggregates;

  // kUpdatingAggregate: how often changes are emitted
  int64_t flush_interval_micros = 1000000;

  // kJoin: key columns of each input (pairwise equal), the residual condition over the
  // output columns, and what decides when rows are joined and forgotten.
  exec::JoinType join_type = exec::JoinType::kInner;
  JoinMode join_mode = JoinMode::kUpdating;
  std::vector<int> left_keys, right_keys;
  expr::BoundExprPtr residual;
  int window_key = -1;           // kWindowed: the key holding the window end
  int64_t ttl_micros = 0;        // updating joins and aggregates: SET updating_ttl
  int64_t lower = 0, upper = 0;  // kInterval

  // kUnnest
  int unnest_column = -1;
  // kTopN (top_n.output_schema is `schema`). top_n.window_end < 0: a top-N over the whole
  // stream (updating output); `rank_read` is cleared when no parent reads the rank.
  exec::TopNSpec top_n;
  bool rank_read = true;
  // kOver (over.output_schema is `schema`)
  exec::OverSpec over;
  // kAsyncUdf
  std::shared_ptr<const udf::AsyncFunction> async_fn;
  std::vector<int> async_args;

  // Whether this node's output is an updating stream (rows carry change kinds).
  bool updating() const;
  // Indented tree for EXPLAIN (a node read by several parents is printed under each; see
  // PipelinePlan::ToString for the form that shows the sharing).
  std::string ToString(int indent = 0) const;
  // This node alone, on one line.
  std::string Describe() const;
};

PlanPtr MakeSource(std::shared_ptr<const connectors::TableSpec> table, std::vector<int> columns);
PlanPtr MakeFilter(PlanPtr input, expr::BoundExprPtr predicate);
PlanPtr MakeProject(PlanPtr input, std::vector<expr::BoundExprPtr> exprs, types::SchemaPtr schema);
PlanPtr MakeUnion(std::vector<PlanPtr> inputs);
PlanPtr MakeSink(PlanPtr input, std::shared_ptr<const connectors::TableSpec> table);
PlanPtr MakeWatermark(PlanPtr input, int event_time_column, expr::BoundExprPtr watermark,
                      std::optional<int64_t> idle_micros);
PlanPtr MakeUpdatingAggregate(PlanPtr input, int num_keys,
                              std::vector<exec::AggregateCall> aggregates, types::SchemaPtr schema,
                              int64_t flush_interval_micros);
// Copy of `plan` whose watermark generators (below filters, projections and unions) drop late
// rows: used for the input of windowed operators.
PlanPtr WithLateRowsDropped(const PlanPtr& plan);
PlanPtr MakeJoin(PlanPtr left, PlanPtr right, exec::JoinType type, JoinMode mode,
                 std::vector<int> left_keys, std::vector<int> right_keys,
                 expr::BoundExprPtr residual);
PlanPtr MakeTopN(PlanPtr input, exec::TopNSpec spec);
PlanPtr MakeUnnest(PlanPtr input, int list_column);
PlanPtr MakeOver(PlanPtr input, exec::OverSpec spec);
PlanPtr MakeAsyncUdf(PlanPtr input, std::shared_ptr<const udf::AsyncFunction> fn,
                     std::vector<int> args);
PlanPtr MakeWindowAggregate(PlanPtr input, exec::WindowSpec window, int num_keys,
                            std::vector<exec::AggregateCall> aggregates, types::SchemaPtr schema);

}  // namespace sluice::sql
