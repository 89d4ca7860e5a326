#include "sql/binder/binder.h"

#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "expr/aggregate.h"
#include "expr/cast.h"
#include "expr/evaluator.h"
#include "expr/function.h"
#include "sql/binder/binder_internal.h"

namespace sluice::sql {

[[noreturn]] void Fail(const Location& loc, Status status) {
  throw BindError{loc, std::move(status)};
}

// `PROCTIME()`, the whole expression of a processing-time column.
bool IsProctimeCall(const Expr& e) {
  return e.kind == ExprKind::kFunction && e.names.size() == 1 && e.names[0] == "proctime" &&
         e.args.empty() && !e.star_arg && !e.distinct && !e.filter && !e.over;
}

std::string Hint(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best = connectors::ClosestMatch(word, candidates);
  return best.empty() ? "" : fmt::format("; did you mean \"{}\"?", best);
}

// The user-defined functions of the statement being bound on this thread (the binder is
// single-threaded; StatementBinder sets it), so that IsAggregateName sees user aggregates.
thread_local const std::map<std::string, SqlFunction>* t_user_functions = nullptr;

// Aggregate names come from the aggregate registry, the one list of what exists, and the
// aggregates the SQL file defines (CREATE AGGREGATE FUNCTION).
bool IsAggregateName(const std::string& name) {
  if (expr::AggregateRegistry::Get().Contains(name)) return true;
  return FindUserAggregate(name) != nullptr;
}

const SqlFunction* FindUserAggregate(const std::string& name) {
  if (t_user_functions == nullptr) return nullptr;
  auto it = t_user_functions->find(name);
  return it != t_user_functions->end() && it->second.aggregate ? &it->second : nullptr;
}

StatementBinder::StatementBinder(Binder* b) : b_(b), outer_functions_(t_user_functions) {
  t_user_functions = &b->functions_;
}

StatementBinder::~StatementBinder() {
  t_user_functions = outer_functions_;
}

const std::set<std::string>& WindowFunctionNames() {
  static const std::set<std::string> kNames = {"row_number", "rank",  "dense_rank",   "lag",
                                               "lead",       "ntile", "percent_rank", "cume_dist"};
  return kNames;
}

// Resolves a parsed type name.
DataType ResolveType(const TypeName& t) {
  DataType base;
  const std::string& n = t.name;
  if (n == "bool") {
    base = types::Bool();
  } else if (n == "tinyint") {
    base = DataType(t.is_unsigned ? TypeId::kUInt8 : TypeId::kInt8);
  } else if (n == "smallint") {
    base = DataType(t.is_unsigned ? TypeId::kUInt16 : TypeId::kInt16);
  } else if (n == "int") {
    base = DataType(t.is_unsigned ? TypeId::kUInt32 : TypeId::kInt32);
  } else if (n == "bigint") {
    base = DataType(t.is_unsigned ? TypeId::kUInt64 : TypeId::kInt64);
  } else if (n == "real") {
    base = DataType(TypeId::kFloat32);
  } else if (n == "double") {
    base = types::Float64();
  } else if (n == "decimal") {
    int p = t.params.empty() ? 38 : t.params[0];
    int s = t.params.size() > 1 ? t.params[1] : (t.params.empty() ? 9 : 0);
    if (p < 1 || p > 38) FailUser(t.loc, "DECIMAL precision {} must be between 1 and 38", p);
    if (s < 0 || s > p)
      FailUser(t.loc, "DECIMAL scale {} must be between 0 and the precision {}", s, p);
    base = DataType::Decimal(p, s);
  } else if (n == "text") {
    base = types::Utf8();
  } else if (n == "bytea") {
    base = DataType(TypeId::kBinary);
  } else if (n == "date") {
    base = DataType(TypeId::kDate);
  } else if (n == "time") {
    base = DataType(TypeId::kTime);
  } else if (n == "timestamp") {
    base = types::Timestamp();
  } else if (n == "timestamptz") {
    base = DataType::TimestampTz();
  } else if (n == "interval") {
    base = DataType(TypeId::kInterval);
  } else if (n == "json") {
    base = DataType(TypeId::kJson);
  } else if (n == "struct") {
    std::vector<Field> fields;
    for (const auto& f : t.struct_fields)
      fields.push_back(Field{f.name, ResolveType(*f.type), true});
    base = DataType::Struct(std::move(fields));
  } else {
    FailUser(t.loc, "unknown type '{}'", n);
  }
  for (int i = 0; i < t.array_dims; ++i) base = DataType::List(base);
  return base;
}

// The statement on one line, runs of white space squeezed, cut at `n` characters.
std::string Truncate(std::string_view s, size_t n) {
  std::string out;
  for (char c : s) {
    if (out.size() >= n) {
      out += "...";
      break;
    }
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (space && (out.empty() || out.back() == ' ')) continue;
    out += space ? ' ' : c;
  }
  return out;
}

types::SchemaPtr SchemaOf(const std::vector<ScopeColumn>& cols) {
  std::vector<Field> fields;
  for (const auto& c : cols) fields.push_back(Field{c.name, c.type, true});
  return std::make_shared<types::Schema>(std::move(fields));
}

// The value of an interval setting, written INTERVAL '2 seconds' or '2 seconds'; nothing when
// it is not a positive interval without months.
std::optional<int64_t> ParseIntervalSetting(std::string text) {
  std::string lower = text;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.rfind("interval", 0) == 0) text = text.substr(8);
  text.erase(std::remove(text.begin(), text.end(), '\''), text.end());
  auto iv = expr::ParseInterval(text);
  if (!iv.ok() || iv->months != 0) return std::nullopt;
  int64_t us = iv->days * 86400000000LL + iv->micros;
  if (us <= 0) return std::nullopt;
  return us;
}

// Why a plan's output is updating, for messages.
std::string UpdatingCause(const LogicalPlan& plan) {
  switch (plan.kind) {
    case PlanKind::kUpdatingAggregate:
      return "an aggregate without a window";
    case PlanKind::kJoin:
      if (plan.join_mode == JoinMode::kUpdating) {
        return "a join that is neither windowed nor bounded in time on both sides";
      }
      break;
    case PlanKind::kSource:
      return fmt::format("the change stream of table \"{}\"", plan.table->table_name);
    case PlanKind::kTopN:
      if (plan.top_n.window_end < 0) return "a ranking (top-N) over a whole unbounded stream";
      break;
    default:
      break;
  }
  for (const auto& in : plan.inputs) {
    if (in->updating()) return UpdatingCause(*in);
  }
  return "an updating input";
}

bool IsStringLiteral(const Expr& e) {
  return e.kind == ExprKind::kLiteral && e.literal_kind == LiteralKind::kString;
}

// The first aggregate call (outside OVER) in an expression, or null. An aggregate call is
// always an aggregate, whatever the columns of the input are named: a subquery's unaliased
// `count(*)` column is read as "count(*)" (quoted), never by writing the call again.
const Expr* FindAggregate(const Expr& root) {
  std::vector<const Expr*> stack = {&root};
  while (!stack.empty()) {
    const Expr* e = stack.back();
    stack.pop_back();
    if (e->kind == ExprKind::kFunction && !e->names.empty() && IsAggregateName(e->names.back()) &&
        !e->over) {
      return e;
    }
    for (const auto& a : e->args) {
      if (a) stack.push_back(a.get());
    }
  }
  return nullptr;
}

bool IsWindowCall(const Expr& e) {
  if (e.kind != ExprKind::kFunction || e.names.empty()) return false;
  const std::string& n = e.names.back();
  return n == "tumble" || n == "hop" || n == "session";
}

// A projected column keeps the time role of the column it reads (a window's start or end
// through a field access).
void CopyTimeRole(const BoundExprPtr& e, const std::vector<ScopeColumn>& scope, ScopeColumn* out) {
  if (e->kind == BoundKind::kColumn) {
    out->role = scope[static_cast<size_t>(e->column_index)].role;
    out->window = scope[static_cast<size_t>(e->column_index)].window;
    return;
  }
  if (e->kind == BoundKind::kFieldAccess && e->args[0]->kind == BoundKind::kColumn) {
    const ScopeColumn& c = scope[static_cast<size_t>(e->args[0]->column_index)];
    if (c.role != TimeRole::kWindow) return;
    out->role = e->field_index == 0 ? TimeRole::kWindowStart : TimeRole::kWindowEnd;
    out->window = c.window;
  }
}

void SplitAnd(const ExprPtr& e, std::vector<ExprPtr>* out) {
  if (e->kind == ExprKind::kBinary && e->op == "and") {
    SplitAnd(e->args[0], out);
    SplitAnd(e->args[1], out);
    return;
  }
  out->push_back(e);
}

ExprPtr AndOf(const std::vector<ExprPtr>& parts) {
  ExprPtr out;
  for (const auto& p : parts) {
    if (!out) {
      out = p;
      continue;
    }
    auto e = std::make_shared<Expr>();
    e->kind = ExprKind::kBinary;
    e->op = "and";
    e->loc = p->loc;
    e->args = {out, p};
    out = e;
  }
  return out;
}

bool HasSubquery(const Expr& e) {
  if (e.kind == ExprKind::kSubquery) return true;
  if (e.kind == ExprKind::kArray && e.args.size() == 1 && e.args[0]->kind == ExprKind::kSubquery)
    return false;
  for (const auto& a : e.args) {
    if (a && HasSubquery(*a)) return true;
  }
  return e.filter && HasSubquery(*e.filter);
}

ExprPtr ColumnRefTo(const std::string& name, std::vector<std::string> rest, const Location& loc) {
  auto ref = std::make_shared<Expr>();
  ref->kind = ExprKind::kColumnRef;
  ref->loc = loc;
  ref->names.push_back(name);
  for (auto& r : rest) ref->names.push_back(std::move(r));
  return ref;
}

void StatementBinder::Bind(const Statement& stmt) {
  switch (stmt.kind) {
    case StatementKind::kCreateTable:
      BindCreateTable(stmt);
      break;
    case StatementKind::kCreateView:
      BindCreateView(stmt);
      break;
    case StatementKind::kInsert:
      BindInsert(stmt);
      break;
    case StatementKind::kSelect:
      BindSelect(stmt);
      break;
    case StatementKind::kSet:
      BindSet(stmt);
      break;
    case StatementKind::kCreateFunction:
      BindCreateFunction(stmt);
      break;
  }
}

// ---------------------------------------------------------------- Binder

Status Binder::BindStatement(const Statement& stmt, int index) {
  StatementBinder sb(this);
  try {
    sb.Bind(stmt);
  } catch (const DeferBinding& d) {
    deferred_.push_back(Deferred{stmt, index, d.name, settings_, functions_});
  } catch (const BindError& err) {
    std::string msg =
        fmt::format("line {}, column {}: {}\n  in statement {}: {}", err.loc.line, err.loc.column,
                    err.status.message(), index, Truncate(stmt.text, 100));
    return Status(err.status.kind(), msg);
  }
  return Status::Ok();
}

Result<PipelinePlan> Binder::Finish() {
  SLUICE_RETURN_NOT_OK(BindDeferred());
  PipelinePlan plan;
  for (const auto& name : sink_order_) {
    const CatalogEntry* entry = catalog_.Find(name);
    const auto& plans = inserts_[name];
    PlanPtr input = plans.size() == 1 ? plans[0] : MakeUnion(plans);
    plan.sinks.push_back(MakeSink(input, entry->table));
  }
  for (const auto& p : previews_) plan.sinks.push_back(p);
  plan.settings = settings_;
  if (plan.sinks.empty()) {
    return Status::User(
        "the SQL declares no pipeline: add an INSERT INTO <sink> SELECT ... or a SELECT");
  }
  return plan;
}

}  // namespace sluice::sql
