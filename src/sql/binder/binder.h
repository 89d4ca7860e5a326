#pragma once
// The binder: resolves names against the catalog, checks and infers types, and turns each
// statement into logical plans. Not thread-safe; one binder per SQL file.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "expr/aggregate.h"
#include "expr/function.h"
#include "sql/binder/catalog.h"
#include "sql/parser/ast.h"
#include "sql/planner/pipeline_plan.h"

namespace sluice::sql {

// A SQL function (CREATE FUNCTION ... LANGUAGE SQL): inlined where it is called.
struct SqlFunction {
  std::string name;
  std::vector<std::string> param_names;  // empty for an unnamed parameter ($1 only)
  std::vector<types::DataType> param_types;
  types::DataType return_type;
  ExprPtr body;
  std::string signature;  // f(a BIGINT, b TEXT), for messages
  // LANGUAGE cpp: the compiled function a call runs (instead of inlining a body).
  std::shared_ptr<const expr::BoundFunction> native;
  // CREATE AGGREGATE FUNCTION ... LANGUAGE cpp: the aggregate its calls bind to.
  std::shared_ptr<const expr::AggregateFunction> aggregate;
  bool retractable = false;
  // CREATE ASYNC FUNCTION: its calls become async operators (exec/async_udf.h).
  std::shared_ptr<const udf::AsyncFunction> async;
};

class Binder {
 public:
  explicit Binder(std::string_view source_text) : source_text_(source_text) {}
  // Binds one statement (in file order). `index` is its 1-based number, for messages.
  Status BindStatement(const Statement& stmt, int index);
  // The sinks and settings of every statement bound so far.
  Result<PipelinePlan> Finish();
  // What the statements bound so far declared (declared_tables.h lists it for the console).
  const Catalog& catalog() const { return catalog_; }

 private:
  std::string_view source_text_;
  Catalog catalog_;
  // Per sink table, the plans of the inserts into it (in order).
  std::map<std::string, std::vector<PlanPtr>> inserts_;
  std::vector<std::string> sink_order_;
  std::vector<PlanPtr> previews_;
  std::map<std::string, std::string> settings_;
  std::map<std::string, SqlFunction> functions_;
  // Memory tables: the plans inserted into each, in order (bind_memory_table.cc).
  std::map<std::string, std::vector<PlanPtr>> memory_writes_;
  // Statements that read a memory table, or a name such a statement declares: bound by
  // Finish once every statement writing what they read is bound, so a query may come before
  // the INSERTs that fill the table it reads.
  struct Deferred {
    Statement stmt;
    int index = 0;
    std::string waits_for;  // the memory table or view it reads
    // The settings and SQL functions at its place in the file, which it is bound with.
    std::map<std::string, std::string> settings;
    std::map<std::string, SqlFunction> functions;
  };
  std::vector<Deferred> deferred_;
  bool finishing_ = false;
  std::string writing_;  // the memory table the INSERT being bound writes
  // True when a deferred statement writes `name` (INSERT INTO) or declares it (a view).
  bool IsPending(const std::string& name) const;
  Status BindDeferred();
  friend class StatementBinder;
};

}  // namespace sluice::sql
