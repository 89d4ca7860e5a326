#pragma once
// What the binder's files share: how a bind error ends a statement, the scope a query's
// expressions are bound in (columns and their time roles), and the StatementBinder that binds
// one statement. Only the binder's own files include this header.

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "exec/window_spec.h"
#include "expr/bound_expr.h"
#include "sql/binder/binder.h"

namespace sluice::sql {

// The names every binder file uses (the header is the binder's own).
using expr::BoundExpr;
using expr::BoundExprPtr;
using expr::BoundKind;
using types::DataType;
using types::Field;
using types::TypeId;
using types::Value;

// Puts a statement off until Finish: it reads memory table (or deferred view) `name`, whose
// writers may come later in the file. Caught by Binder::BindStatement.
struct DeferBinding {
  std::string name;
};

// Ends the binding of a statement; caught at statement level and turned into a Status that
// carries the location.
struct BindError {
  Location loc;
  Status status;
};

[[noreturn]] void Fail(const Location& loc, Status status);

template <typename... Args>
[[noreturn]] void FailUser(const Location& loc, fmt::format_string<Args...> f, Args&&... args) {
  Fail(loc, Status::User(f, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void FailNotSupported(const Location& loc, fmt::format_string<Args...> f,
                                   Args&&... args) {
  Fail(loc, Status::NotSupported(f, std::forward<Args>(args)...));
}

// `; did you mean "x"?` for the closest candidate, or nothing.
std::string Hint(const std::string& word, const std::vector<std::string>& candidates);
// `PROCTIME()`, the whole expression of a processing-time column.
bool IsProctimeCall(const Expr& e);
// Aggregate names come from the aggregate registry, the one list of what exists.
bool IsAggregateName(const std::string& name);
// The aggregate the SQL file defines under `name` (CREATE AGGREGATE FUNCTION), or nullptr.
const SqlFunction* FindUserAggregate(const std::string& name);
const std::set<std::string>& WindowFunctionNames();
// Resolves a parsed type name.
types::DataType ResolveType(const TypeName& t);
// The statement on one line, runs of white space squeezed, cut at `n` characters.
std::string Truncate(std::string_view s, size_t n);

// What a column says about time, so joins can tell windowed and time-bounded inputs.
enum class TimeRole {
  kNone,
  kEventTime,    // the table's event-time column
  kWindow,       // a window struct (the value of TUMBLE(...) in a windowed GROUP BY)
  kWindowStart,  // window_start / window.start
  kWindowEnd,    // window_end / window.end
};

struct ScopeColumn {
  ScopeColumn() = default;
  ScopeColumn(std::string q, std::string n, types::DataType t, TimeRole r = TimeRole::kNone,
              exec::WindowSpec w = {})
      : qualifier(std::move(q)), name(std::move(n)), type(std::move(t)), role(r), window(w) {}

  std::string qualifier;
  std::string name;
  types::DataType type;
  TimeRole role = TimeRole::kNone;
  exec::WindowSpec window;  // the window of kWindow* columns
};

// The window_start / window_end columns a TUMBLE(t, ts, size) or HOP(t, ts, slide, size) in
// FROM adds: grouping by them is a windowed aggregate over `spec`.
struct TableFunctionWindow {
  exec::WindowSpec spec;
  int start_column = -1;
  int end_column = -1;
};

struct Relation {
  PlanPtr plan;
  std::vector<ScopeColumn> columns;
  std::optional<TableFunctionWindow> window;
};

types::SchemaPtr SchemaOf(const std::vector<ScopeColumn>& cols);

// SET updating_ttl's default: state untouched for a day of event time is dropped.
constexpr int64_t kDefaultUpdatingTtl = int64_t{24} * 3600 * 1000000;

// The value of an interval setting, written INTERVAL '2 seconds' or '2 seconds'; nothing when
// it is not a positive interval without months.
std::optional<int64_t> ParseIntervalSetting(std::string text);
// Why a plan's output is updating, for messages.
std::string UpdatingCause(const LogicalPlan& plan);
bool IsStringLiteral(const Expr& e);
// The first aggregate call (outside OVER) in an expression, or null. An aggregate call is
// always an aggregate, whatever the columns of the input are named.
const Expr* FindAggregate(const Expr& root);
// TUMBLE(...), HOP(...) or SESSION(...).
bool IsWindowCall(const Expr& e);
// A projected column keeps the time role of the column it reads (a window's start or end
// through a field access).
void CopyTimeRole(const expr::BoundExprPtr& e, const std::vector<ScopeColumn>& scope,
                  ScopeColumn* out);
// Whether the select list calls a window function over rows (LAG, sum(x) OVER, ...; not only
// ROW_NUMBER/RANK/DENSE_RANK): bind_over.cc.
bool HasRowWindowFunction(const std::vector<SelectItem>& items);
// The select list with `OVER w` / `OVER (w ...)` replaced by the windows of `s`'s WINDOW
// clause they name (PostgreSQL's rules for copying a window): bind_over.cc.
std::vector<SelectItem> WithNamedWindows(const SelectCore& s, std::vector<SelectItem> items);
// The conjuncts of an AND tree (`e` itself when it is not an AND), and the reverse (null for
// none).
void SplitAnd(const ExprPtr& e, std::vector<ExprPtr>* out);
ExprPtr AndOf(const std::vector<ExprPtr>& parts);
// Whether `e` holds a subquery (not counting ARRAY(SELECT ...), which binds as it always did).
bool HasSubquery(const Expr& e);
// A column reference `name.rest...` at `loc`.
ExprPtr ColumnRefTo(const std::string& name, std::vector<std::string> rest, const Location& loc);

// The arguments of an aggregate call in the order the aggregate registry takes them. An
// ordered-set call `percentile_cont(f) WITHIN GROUP (ORDER BY x)` reads as
// `percentile_cont(x, f)`; with `ORDER BY x DESC` its fraction (argument `fraction_arg`) is
// reversed to 1 - f. Other calls keep their arguments. (bind_ordered_set.cc)
struct AggregateArguments {
  std::vector<ExprPtr> args;
  size_t fraction_arg = 0;
  bool descending = false;
};
AggregateArguments BindAggregateArguments(const Expr& call);
// The ordered-set aggregates, for messages: "approx_percentile_cont, ..., percentile_cont".
std::string OrderedSetNames();
// 1 - f for a constant fraction f in [0, 1]; anything else unchanged (the aggregate reports it).
expr::BoundExprPtr ReverseFraction(const expr::BoundExprPtr& fraction);

// Binds one statement; holds the CTE scopes of the query being bound.
class StatementBinder {
 public:
  explicit StatementBinder(Binder* b);
  ~StatementBinder();
  StatementBinder(const StatementBinder&) = delete;
  StatementBinder& operator=(const StatementBinder&) = delete;

  void Bind(const Statement& stmt);

 private:
  // --- statements
  void BindCreateTable(const Statement& stmt);
  void BindCreateView(const Statement& stmt);
  void BindInsert(const Statement& stmt);
  void BindSelect(const Statement& stmt);
  void BindSet(const Statement& stmt);
  void BindCreateFunction(const Statement& stmt);  // bind_function.cc
  // Memory tables (bind_memory_table.cc).
  void BindCreateMemoryTable(const Statement& stmt);
  void BindInsertMemoryTable(const Statement& stmt, const CatalogEntry& entry);
  Relation ReadMemoryTable(const CatalogEntry& entry, const std::string& qualifier,
                           const Location& loc);

  // --- queries
  Relation BindQuery(const Query& q);
  Relation BindSetExpr(const SetExpr& s);
  Relation BindSelectCore(const SelectCore& s);
  // --- subqueries in expressions (bind_subquery.cc)
  // Plans the subqueries of `s`'s WHERE and select list as joins onto `rel` (its FROM) and
  // returns `s` reading their results as columns; nothing when `s` has none.
  std::optional<SelectCore> PlanSubqueries(const SelectCore& s, Relation* rel);
  enum class SubqueryShape { kExists, kRows, kCounts, kScalar };
  struct SubquerySide {
    Relation right;  // correlation keys first, then what `shape` asks for
    size_t num_keys = 0;
    std::vector<ExprPtr> outer_keys;  // over the outer scope, equal to the keys
    std::vector<ExprPtr> residual;    // correlated conditions over __outer_i and __inner_j
    ExprPtr empty_value;              // kScalar: the value over no rows
  };
  SubquerySide BindSubquerySide(const Expr& sub, const std::vector<ScopeColumn>& outer,
                                SubqueryShape shape);
  SubquerySide CountsOf(const Query& q, const std::string& column, const Location& loc);
  PlanPtr JoinSubquerySide(const Relation& rel, const SubquerySide& side, const Expr* x,
                           exec::JoinType type, const Location& loc, size_t* num_left);
  void AppendSubqueryColumn(Relation* rel, const PlanPtr& plan,
                            const std::map<std::string, int>& names, const std::string& sql,
                            const std::string& name);
  ExprPtr SubqueryValue(const Expr& e, Relation* rel);
  ExprPtr ReplaceSubqueries(const ExprPtr& e, Relation* rel);
  Relation BindTableRef(const TableRef& t);
  Relation BindFromItem(const TableRef& t);
  Relation RenameColumns(Relation rel, const std::vector<std::string>& names, const Location& loc,
                         const std::string& what);
  Relation BindJoin(const TableRef& t);
  Relation JoinRelations(const TableRef& t, Relation left, Relation right);
  // FROM a, b [CROSS JOIN c] WHERE ...: the conjuncts of WHERE that relate the items become
  // their joins' conditions, those of one item filter it (bind_comma_join.cc).
  Relation BindCommaJoin(const TableRef& from, const Expr& where);
  // SELECT DISTINCT over a bound select list, and UNION / INTERSECT / EXCEPT
  // (bind_set_operation.cc).
  Relation BindDistinct(Relation rel, const Location& loc);
  Relation BindSetOperation(const SetExpr& s);
  // Binds the operands of a set operation and casts them to common column types.
  Relation BindUnion(const SetExpr& s, bool all_only);
  std::vector<Relation> BindSetOperands(const std::vector<const SetExpr*>& parts,
                                        const std::string& what);
  // ORDER BY ... LIMIT n [OFFSET m] of a query: an updating top-N (bind_order_limit.cc).
  Relation BindOrderLimit(const Query& q);
  Relation LimitRanks(const PlanPtr& ranked, const std::vector<ScopeColumn>& columns, int64_t limit,
                      int64_t offset, const Query& q);
  void CheckLookupJoin(const TableRef& t, const Relation& left, const Relation& right,
                       const std::vector<ScopeColumn>& scope);
  PlanPtr BindRanking(const Expr& call, const Relation& rel);
  // bind_over.cc: the window functions over rows of the select list, computed by one kOver
  // node appended to `rel`; the calls in `items` are replaced by its columns.
  void BindOverFunctions(std::vector<SelectItem>* items, Relation* rel);
  exec::OverFrame BindOverFrame(const Expr& call);
  expr::BoundExprPtr WindowEnd(const expr::BoundExprPtr& e, TimeRole role,
                               const exec::WindowSpec& window, const Location& loc);
  Relation BindCatalogTable(const CatalogEntry& entry, const std::string& qualifier,
                            const Location& loc);
  Relation AddWatermark(const CatalogEntry& entry, Relation rel, const Location& loc);
  Relation BindAggregateSelect(const SelectCore& s, Relation rel);
  exec::WindowSpec BindWindow(const Expr& call, const std::vector<ScopeColumn>& scope);
  Relation BindWindowTableFunction(const TableRef& t);
  int64_t FlushInterval() const;
  int64_t IntervalSetting(const std::string& name, int64_t default_micros) const;
  PlanPtr CoerceTo(const Relation& rel, const std::vector<types::DataType>& types,
                   const std::vector<std::string>& names, const Location& loc,
                   const std::string& what);

  // --- expressions
  expr::BoundExprPtr BindExpr(const Expr& e, const std::vector<ScopeColumn>& scope);
  expr::BoundExprPtr BindColumnRef(const Expr& e, const std::vector<ScopeColumn>& scope);
  expr::BoundExprPtr BindCall(const std::string& name, std::vector<expr::BoundExprPtr> args,
                              const Location& loc);
  expr::BoundExprPtr BindOperator(const std::string& fn, const Expr& left, const Expr& right,
                                  const std::vector<ScopeColumn>& scope, const Location& loc);
  expr::BoundExprPtr BindFunction(const Expr& e, const std::vector<ScopeColumn>& scope);
  // bind_row.cc: ROW(...) constructors, and comparisons of two of them (null when the
  // operands are not both row constructors).
  expr::BoundExprPtr BindRow(const Expr& e, const std::vector<ScopeColumn>& scope);
  expr::BoundExprPtr BindRowComparison(const std::string& op, const Expr& left, const Expr& right,
                                       const std::vector<ScopeColumn>& scope, const Location& loc);
  expr::BoundExprPtr BindBool(const Expr& e, const std::vector<ScopeColumn>& scope,
                              const char* ctx);
  expr::BoundExprPtr CastLiteralTo(const Expr& literal, const types::DataType& type);
  expr::BoundExprPtr Cast(expr::BoundExprPtr e, const types::DataType& to, const Location& loc,
                          bool try_cast);
  std::string ColumnName(const SelectItem& item, const expr::BoundExprPtr& bound);
  // A call of a SQL function, inlined: its body over the call's arguments (cast to the
  // parameters' types), cast to the return type. Null when `call` names no SQL function.
  // (bind_function.cc)
  expr::BoundExprPtr BindSqlFunctionCall(const Expr& call, const std::vector<ScopeColumn>& scope);
  // The body of `fn` bound over its parameters (the named ones, then $1..$n).
  expr::BoundExprPtr BindFunctionBody(const SqlFunction& fn, const Location& loc);
  // LANGUAGE cpp: compiles and loads the function (udf/native_function.h).
  void LoadNativeFunction(const Statement& stmt, SqlFunction* fn);
  udf::AsyncOptions AsyncOptionsOf(const Statement& stmt);
  // The arguments of a call of a user function, cast to its parameters' types.
  std::vector<expr::BoundExprPtr> BindUserCallArgs(const SqlFunction& fn, const Expr& call,
                                                   const std::vector<ScopeColumn>& scope);
  // Async function calls in a select list: each distinct call becomes an async operator over
  // `rel`, and the call in `items` a reference to its result column.
  void BindAsyncCalls(std::vector<SelectItem>* items, Relation* rel);
  // A call of a CREATE AGGREGATE FUNCTION aggregate over bound arguments.
  expr::BoundAggregate BindUserAggregate(const SqlFunction& fn, const Expr& call,
                                         const std::vector<expr::BoundExprPtr>& args,
                                         bool retracting);

  Binder* b_;
  const std::map<std::string, SqlFunction>* outer_functions_;  // restored by the destructor
  std::vector<std::map<std::string, const CommonTableExpr*>> ctes_;
  int depth_ = 0;
  std::vector<std::string> inlining_;  // SQL functions being inlined, outermost first
  // The scopes of the queries around the subquery being bound, innermost last.
  std::vector<const std::vector<ScopeColumn>*> outer_scopes_;
};

}  // namespace sluice::sql
