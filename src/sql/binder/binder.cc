#include "sql/binder/binder.h"

#include <algorithm>
#include <functional>
#include <set>

#include <fmt/format.h>

#include "expr/aggregate.h"
#include "expr/cast.h"
#include "expr/evaluator.h"
#include "expr/function.h"

namespace sluice::sql {

using expr::BoundExpr;
using expr::BoundExprPtr;
using expr::BoundKind;
using types::DataType;
using types::Field;
using types::TypeId;
using types::Value;

namespace {

// Ends the binding of a statement; caught at statement level and turned into a Status that
// carries the location.
struct BindError {
  Location loc;
  Status status;
};

[[noreturn]] void Fail(const Location& loc, Status status) {
  throw BindError{loc, std::move(status)};
}

// `PROCTIME()`, the whole expression of a processing-time column.
bool IsProctimeCall(const Expr& e) {
  return e.kind == ExprKind::kFunction && e.names.size() == 1 && e.names[0] == "proctime" &&
         e.args.empty() && !e.star_arg && !e.distinct && !e.filter && !e.over;
}

template <typename... Args>
[[noreturn]] void FailUser(const Location& loc, fmt::format_string<Args...> f, Args&&... args) {
  Fail(loc, Status::User(f, std::forward<Args>(args)...));
}

template <typename... Args>
[[noreturn]] void FailNotSupported(const Location& loc, fmt::format_string<Args...> f,
                                   Args&&... args) {
  Fail(loc, Status::NotSupported(f, std::forward<Args>(args)...));
}

std::string Hint(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best = connectors::ClosestMatch(word, candidates);
  return best.empty() ? "" : fmt::format("; did you mean \"{}\"?", best);
}

// Aggregate names come from the aggregate registry, the one list of what exists.
bool IsAggregateName(const std::string& name) {
  return expr::AggregateRegistry::Get().Contains(name);
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
    FailNotSupported(t.loc, "TIMESTAMPTZ is not supported yet; use TIMESTAMP (UTC)");
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
  ScopeColumn(std::string q, std::string n, DataType t, TimeRole r = TimeRole::kNone,
              exec::WindowSpec w = {})
      : qualifier(std::move(q)), name(std::move(n)), type(std::move(t)), role(r), window(w) {}

  std::string qualifier;
  std::string name;
  DataType type;
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

types::SchemaPtr SchemaOf(const std::vector<ScopeColumn>& cols) {
  std::vector<Field> fields;
  for (const auto& c : cols) fields.push_back(Field{c.name, c.type, true});
  return std::make_shared<types::Schema>(std::move(fields));
}

// SET updating_ttl's default: state untouched for a day of event time is dropped.
constexpr int64_t kDefaultUpdatingTtl = int64_t{24} * 3600 * 1000000;

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

}  // namespace

// The first aggregate call (outside OVER) in an expression, or null.
const Expr* FindAggregate(const Expr& root, const std::vector<ScopeColumn>* scope = nullptr) {
  std::vector<const Expr*> stack = {&root};
  while (!stack.empty()) {
    const Expr* e = stack.back();
    stack.pop_back();
    if (e->kind == ExprKind::kFunction && !e->names.empty() && IsAggregateName(e->names.back()) &&
        !e->over) {
      bool is_column = false;
      if (scope != nullptr) {
        std::string sql = e->ToSql();
        for (const auto& c : *scope) is_column |= c.name == sql;
      }
      if (!is_column) return e;
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

ExprPtr ColumnRefTo(const std::string& name, std::vector<std::string> rest, const Location& loc) {
  auto ref = std::make_shared<Expr>();
  ref->kind = ExprKind::kColumnRef;
  ref->loc = loc;
  ref->names.push_back(name);
  for (auto& r : rest) ref->names.push_back(std::move(r));
  return ref;
}

// Binds one statement; holds the CTE scopes of the query being bound.
class StatementBinder {
 public:
  explicit StatementBinder(Binder* b) : b_(b) {}

  void Bind(const Statement& stmt);

 private:
  // --- statements
  void BindCreateTable(const Statement& stmt);
  void BindCreateView(const Statement& stmt);
  void BindInsert(const Statement& stmt);
  void BindSelect(const Statement& stmt);
  void BindSet(const Statement& stmt);

  // --- queries
  Relation BindQuery(const Query& q);
  Relation BindSetExpr(const SetExpr& s);
  Relation BindSelectCore(const SelectCore& s);
  Relation BindTableRef(const TableRef& t);
  Relation BindJoin(const TableRef& t);
  void CheckLookupJoin(const TableRef& t, const Relation& left, const Relation& right,
                       const std::vector<ScopeColumn>& scope);
  PlanPtr BindRanking(const Expr& call, const Relation& rel);
  BoundExprPtr WindowEnd(const BoundExprPtr& e, TimeRole role, const exec::WindowSpec& window,
                         const Location& loc);
  Relation BindCatalogTable(const CatalogEntry& entry, const std::string& qualifier,
                            const Location& loc);
  Relation AddWatermark(const CatalogEntry& entry, Relation rel, const Location& loc);
  Relation BindAggregateSelect(const SelectCore& s, Relation rel);
  exec::WindowSpec BindWindow(const Expr& call, const std::vector<ScopeColumn>& scope);
  Relation BindWindowTableFunction(const TableRef& t);
  int64_t FlushInterval() const;
  int64_t IntervalSetting(const std::string& name, int64_t default_micros) const;
  PlanPtr CoerceTo(const Relation& rel, const std::vector<DataType>& types,
                   const std::vector<std::string>& names, const Location& loc,
                   const std::string& what);

  // --- expressions
  BoundExprPtr BindExpr(const Expr& e, const std::vector<ScopeColumn>& scope);
  BoundExprPtr BindColumnRef(const Expr& e, const std::vector<ScopeColumn>& scope);
  BoundExprPtr BindCall(const std::string& name, std::vector<BoundExprPtr> args,
                        const Location& loc);
  BoundExprPtr BindOperator(const std::string& fn, const Expr& left, const Expr& right,
                            const std::vector<ScopeColumn>& scope, const Location& loc);
  BoundExprPtr BindFunction(const Expr& e, const std::vector<ScopeColumn>& scope);
  BoundExprPtr BindBool(const Expr& e, const std::vector<ScopeColumn>& scope, const char* ctx);
  BoundExprPtr CastLiteralTo(const Expr& literal, const DataType& type);
  BoundExprPtr Cast(BoundExprPtr e, const DataType& to, const Location& loc, bool try_cast);
  std::string ColumnName(const SelectItem& item, const BoundExprPtr& bound);

  Binder* b_;
  std::vector<std::map<std::string, const CommonTableExpr*>> ctes_;
  int depth_ = 0;
};

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
  }
}

void StatementBinder::BindCreateTable(const Statement& stmt) {
  if (b_->catalog_.Find(stmt.name)) {
    if (stmt.if_not_exists) return;
    FailUser(stmt.name_loc, "table \"{}\" is already declared", stmt.name);
  }
  if (stmt.query) {
    if (!stmt.options.empty()) {
      FailUser(stmt.loc, "CREATE TABLE ... AS SELECT takes no WITH options");
    }
    BindCreateView(stmt);
    return;
  }
  if (stmt.options.empty()) {
    FailUser(stmt.loc,
             "CREATE TABLE \"{}\" needs WITH (connector = '...', ...) or AS SELECT; see "
             "docs/connectors.md",
             stmt.name);
  }
  if (!stmt.partitioned_by.empty()) {
    FailNotSupported(stmt.loc, "PARTITIONED BY is not supported yet");
  }
  CatalogEntry entry;
  entry.kind = CatalogEntry::Kind::kConnectorTable;
  entry.name = stmt.name;
  entry.loc = stmt.loc;
  std::vector<Field> physical;
  std::set<std::string> seen;
  for (const auto& c : stmt.columns) {
    if (!seen.insert(c.name).second) FailUser(c.loc, "column \"{}\" is declared twice", c.name);
    // `name AS expr` is typed once its expression is bound (below); TIMESTAMP until then.
    DataType t = c.type_from_expr ? types::Timestamp() : ResolveType(c.type);
    if (c.has_metadata) {
      FailNotSupported(c.loc,
                       "metadata column \"{}\" (METADATA FROM '{}'): no connector of this build "
                       "provides metadata yet",
                       c.name, c.metadata_key);
    }
    entry.columns.push_back(DeclaredColumn{c.name, t, c.generated, c.type_from_expr});
    if (!c.generated) physical.push_back(Field{c.name, t, !c.not_null && !c.primary_key});
  }
  std::map<std::string, std::string> options;
  for (const auto& o : stmt.options) {
    if (options.count(o.key)) FailUser(o.loc, "option '{}' is given twice", o.key);
    options[o.key] = o.value;
  }
  // Event time: WATERMARK FOR, or the older options event_time_field / watermark_field.
  entry.event_time_column = stmt.watermark_column;
  entry.watermark_expr = stmt.watermark_expr;
  Location event_time_loc = stmt.watermark_column.empty() ? stmt.loc : stmt.watermark_loc;
  if (auto it = options.find("event_time_field"); it != options.end()) {
    if (entry.event_time_column.empty()) entry.event_time_column = it->second;
    options.erase(it);
  }
  if (auto it = options.find("watermark_field"); it != options.end()) {
    if (!entry.watermark_expr) {
      auto ref = std::make_shared<Expr>();
      ref->kind = ExprKind::kColumnRef;
      ref->loc = stmt.loc;
      ref->names = {it->second};
      entry.watermark_expr = ref;
    }
    options.erase(it);
  }
  if (auto it = options.find("idle_micros"); it != options.end()) {
    auto v = expr::CastValue(Value::String(it->second), types::Int64(), true);
    if (!v.ok() || v->is_null() || v->int_value() <= 0) {
      FailUser(stmt.loc, "option 'idle_micros' must be a positive number of microseconds, got '{}'",
               it->second);
    }
    entry.idle_micros = v->int_value();
    options.erase(it);
  }
  auto spec =
      connectors::ResolveTable(stmt.name, types::Schema(physical), stmt.has_column_list, options);
  if (!spec.ok()) Fail(stmt.loc, spec.status());
  connectors::TableSpec table = spec.MoveValue();
  // PRIMARY KEY (a, b) or a column's PRIMARY KEY: indexes into the physical columns.
  std::vector<std::string> key_names = stmt.primary_key;
  for (const auto& c : stmt.columns) {
    if (!c.primary_key) continue;
    if (!key_names.empty()) {
      FailUser(c.loc,
               "table \"{}\" declares more than one PRIMARY KEY; for a key of several columns "
               "write PRIMARY KEY (a, b) after the columns",
               stmt.name);
    }
    key_names.push_back(c.name);
  }
  for (const auto& name : key_names) {
    std::vector<std::string> names;
    for (const auto& f : table.schema.fields()) names.push_back(f.name);
    auto it = std::find(names.begin(), names.end(), name);
    if (it == names.end()) {
      bool generated = std::any_of(stmt.columns.begin(), stmt.columns.end(),
                                   [&](const auto& c) { return c.name == name; });
      if (generated) {
        FailUser(stmt.loc,
                 "PRIMARY KEY column \"{}\" is a generated column; the key must be "
                 "read from the source",
                 name);
      }
      FailUser(stmt.loc, "PRIMARY KEY column \"{}\" does not exist{}", name, Hint(name, names));
    }
    int index = static_cast<int>(it - names.begin());
    if (std::find(table.primary_key.begin(), table.primary_key.end(), index) !=
        table.primary_key.end()) {
      FailUser(stmt.loc, "column \"{}\" appears twice in the PRIMARY KEY", name);
    }
    table.primary_key.push_back(index);
  }
  if (table.type == connectors::TableType::kSource && table.format.format == "debezium_json" &&
      table.primary_key.empty()) {
    FailUser(stmt.loc,
             "a debezium_json source needs a PRIMARY KEY: the key identifies the row each change "
             "applies to; add PRIMARY KEY (col) to CREATE TABLE {}",
             stmt.name);
  }
  entry.table = std::make_shared<connectors::TableSpec>(std::move(table));
  if (!stmt.has_column_list) {
    if (entry.table->type == connectors::TableType::kSink) {
      entry.schema_inferred = true;
    } else {
      for (const auto& f : entry.table->schema.fields()) {
        entry.columns.push_back(DeclaredColumn{f.name, f.type, nullptr});
      }
    }
  }
  if (entry.table->type == connectors::TableType::kSink &&
      (!entry.event_time_column.empty() || entry.watermark_expr || entry.idle_micros)) {
    FailUser(event_time_loc, "sink table \"{}\" cannot declare an event time or watermark",
             stmt.name);
  }
  // Generated columns read the physical columns; check them now.
  if (entry.table->type == connectors::TableType::kSource) {
    std::vector<ScopeColumn> scope;
    for (const auto& f : entry.table->schema.fields()) scope.push_back({stmt.name, f.name, f.type});
    for (auto& c : entry.columns) {
      if (!c.generated) continue;
      auto bound = BindExpr(*c.generated, scope);
      if (c.type_from_expr) c.type = bound->type;
      if (IsProctimeCall(*c.generated)) {
        if (!entry.processing_time_column.empty()) {
          FailUser(c.generated->loc,
                   "table \"{}\" declares two processing-time columns (\"{}\" and \"{}\"); "
                   "declare one",
                   stmt.name, entry.processing_time_column, c.name);
        }
        if (c.type.id() != TypeId::kTimestamp) {
          FailUser(c.generated->loc, "processing-time column \"{}\" must be TIMESTAMP, not {}",
                   c.name, c.type.ToString());
        }
        entry.processing_time_column = c.name;
      }
      if (!expr::CanCast(bound->type, c.type)) {
        FailUser(c.generated->loc, "generated column \"{}\" is {} but its expression is {}", c.name,
                 c.type.ToString(), bound->type.ToString());
      }
    }
    // A table has one time attribute: processing time, or an event time with its watermark.
    if (!entry.processing_time_column.empty()) {
      const std::string& p = entry.processing_time_column;
      if (entry.event_time_column == p) {
        FailUser(event_time_loc,
                 "column \"{}\" is processing time (PROCTIME()): its watermark follows the wall "
                 "clock; remove WATERMARK FOR {}",
                 p, p);
      }
      if (!entry.event_time_column.empty() || entry.watermark_expr) {
        FailUser(event_time_loc,
                 "table \"{}\" declares both a processing-time column \"{}\" (PROCTIME()) and "
                 "an event time (WATERMARK FOR {}); a table has one time attribute: remove one "
                 "(or declare the table twice, once with each)",
                 stmt.name, p,
                 entry.event_time_column.empty() ? std::string("...") : entry.event_time_column);
      }
      if (entry.idle_micros) {
        FailUser(stmt.loc,
                 "option 'idle_micros' does not apply to table \"{}\": its processing-time "
                 "watermark follows the wall clock and never waits for data",
                 stmt.name);
      }
    }
    // The event time must be a TIMESTAMP column; the watermark a TIMESTAMP expression.
    std::vector<ScopeColumn> declared;
    for (const auto& c : entry.columns) declared.push_back({stmt.name, c.name, c.type});
    if (!entry.event_time_column.empty()) {
      auto it = std::find_if(entry.columns.begin(), entry.columns.end(),
                             [&](const auto& c) { return c.name == entry.event_time_column; });
      if (it == entry.columns.end()) {
        std::vector<std::string> names;
        for (const auto& c : entry.columns) names.push_back(c.name);
        FailUser(event_time_loc, "event time column \"{}\" does not exist{}",
                 entry.event_time_column, Hint(entry.event_time_column, names));
      }
      if (it->type.id() != TypeId::kTimestamp) {
        FailUser(event_time_loc, "event time column \"{}\" must be TIMESTAMP, not {}", it->name,
                 it->type.ToString());
      }
    }
    if (entry.watermark_expr) {
      auto wm = BindExpr(*entry.watermark_expr, declared);
      if (wm->type.id() != TypeId::kTimestamp) {
        FailUser(entry.watermark_expr->loc, "the watermark expression must be TIMESTAMP, not {}",
                 wm->type.ToString());
      }
    }
  } else {
    for (const auto& c : entry.columns) {
      if (c.generated) {
        FailUser(c.generated->loc, "sink table \"{}\" cannot have generated columns", stmt.name);
      }
    }
  }
  b_->catalog_.Add(std::move(entry));
}

void StatementBinder::BindCreateView(const Statement& stmt) {
  if (b_->catalog_.Find(stmt.name)) {
    if (stmt.if_not_exists) return;
    FailUser(stmt.name_loc, "table \"{}\" is already declared", stmt.name);
  }
  BindQuery(*stmt.query);  // report errors where the view is declared
  CatalogEntry entry;
  entry.kind = CatalogEntry::Kind::kView;
  entry.name = stmt.name;
  entry.loc = stmt.loc;
  entry.query = stmt.query;
  b_->catalog_.Add(std::move(entry));
}

PlanPtr StatementBinder::CoerceTo(const Relation& rel, const std::vector<DataType>& types,
                                  const std::vector<std::string>& names, const Location& loc,
                                  const std::string& what) {
  if (rel.columns.size() != types.size()) {
    FailUser(loc, "{} has {} columns but the query produces {}", what, types.size(),
             rel.columns.size());
  }
  bool identity = true;
  std::vector<BoundExprPtr> exprs;
  std::vector<Field> fields;
  for (size_t i = 0; i < types.size(); ++i) {
    BoundExprPtr col = expr::MakeColumn(static_cast<int>(i), rel.columns[i].type);
    const DataType& from = rel.columns[i].type;
    const DataType& to = types[i];
    if (from != to) {
      // Assignment casts: implicit ones, numbers to numbers, anything to text.
      bool ok = expr::CanCastImplicitly(from, to) || (from.is_numeric() && to.is_numeric()) ||
                to.id() == TypeId::kUtf8;
      if (!ok) {
        FailUser(loc, "column \"{}\" of {} is {} but the query gives {}; add a CAST", names[i],
                 what, to.ToString(), from.ToString());
      }
      col = expr::MakeCast(col, to);
      identity = false;
    }
    if (names[i] != rel.columns[i].name) identity = false;
    exprs.push_back(col);
    fields.push_back(Field{names[i], to, true});
  }
  if (identity) return rel.plan;
  return MakeProject(rel.plan, std::move(exprs),
                     std::make_shared<types::Schema>(std::move(fields)));
}

void StatementBinder::BindInsert(const Statement& stmt) {
  CatalogEntry* entry = b_->catalog_.FindMutable(stmt.name);
  if (entry == nullptr) {
    FailUser(stmt.name_loc, "table \"{}\" does not exist{}", stmt.name,
             Hint(stmt.name, b_->catalog_.Names()));
  }
  if (entry->kind != CatalogEntry::Kind::kConnectorTable ||
      entry->table->type != connectors::TableType::kSink) {
    FailUser(stmt.name_loc, "cannot INSERT INTO \"{}\": it is not a sink table (type = 'sink')",
             stmt.name);
  }
  Relation rel = BindQuery(*stmt.query);
  if (entry->schema_inferred && entry->columns.empty()) {
    // The first insert defines the sink's columns.
    std::vector<Field> fields;
    std::set<std::string> names;
    for (const auto& c : rel.columns) {
      if (!names.insert(c.name).second) {
        FailUser(stmt.query->loc,
                 "the query gives two columns named \"{}\"; name them apart with AS, since "
                 "sink \"{}\" takes its columns from the query",
                 c.name, stmt.name);
      }
      entry->columns.push_back(DeclaredColumn{c.name, c.type, nullptr});
      fields.push_back(Field{c.name, c.type, true});
    }
    auto spec = std::make_shared<connectors::TableSpec>(*entry->table);
    spec->schema = types::Schema(fields);
    entry->table = spec;
  }
  std::vector<DataType> types;
  std::vector<std::string> names;
  for (const auto& f : entry->table->schema.fields()) {
    types.push_back(f.type);
    names.push_back(f.name);
  }
  PlanPtr plan =
      CoerceTo(rel, types, names, stmt.query->loc, fmt::format("sink \"{}\"", stmt.name));

  // A blackhole discards whatever it gets, changes included.
  if (plan->updating() && entry->table->format.format != "debezium_json" &&
      entry->table->connector != "blackhole") {
    FailUser(stmt.query->loc,
             "the query produces updating results ({}), which sink \"{}\" (format '{}') cannot "
             "represent; use a sink with format = 'debezium_json'",
             UpdatingCause(*plan), stmt.name, entry->table->format.format);
  }
  if (b_->inserts_.find(stmt.name) == b_->inserts_.end()) b_->sink_order_.push_back(stmt.name);
  b_->inserts_[stmt.name].push_back(plan);
}

void StatementBinder::BindSelect(const Statement& stmt) {
  Relation rel = BindQuery(*stmt.query);
  connectors::TableSpec spec;
  spec.table_name = "preview";
  spec.connector = "preview";
  spec.type = connectors::TableType::kSink;
  spec.format.format = rel.plan->updating() ? "debezium_json" : "json";
  std::vector<Field> fields;
  for (const auto& c : rel.columns) fields.push_back(Field{c.name, c.type, true});
  spec.schema = types::Schema(fields);
  b_->previews_.push_back(MakeSink(rel.plan, std::make_shared<connectors::TableSpec>(spec)));
}

void StatementBinder::BindSet(const Statement& stmt) {
  const auto& kKnown = KnownSettings();
  if (std::find(kKnown.begin(), kKnown.end(), stmt.set_name) == kKnown.end()) {
    FailUser(stmt.loc, "unknown setting '{}'{}", stmt.set_name, Hint(stmt.set_name, kKnown));
  }
  if (stmt.set_name == "update_flush_interval" || stmt.set_name == "updating_ttl") {
    if (!ParseIntervalSetting(stmt.set_value)) {
      FailUser(
          stmt.loc, "SET {} takes a positive interval of days or less, like INTERVAL '{}'; got {}",
          stmt.set_name, stmt.set_name == "updating_ttl" ? "24 hours" : "1 second", stmt.set_value);
    }
  }
  b_->settings_[stmt.set_name] = stmt.set_value;
}

// ---------------------------------------------------------------- queries

Relation StatementBinder::BindQuery(const Query& q) {
  if (++depth_ > 64) FailUser(q.loc, "queries are nested too deeply");
  if (q.recursive) FailNotSupported(q.loc, "WITH RECURSIVE is not supported in a streaming query");
  if (!q.order_by.empty()) {
    FailNotSupported(q.loc,
                     "ORDER BY is not supported in a streaming query: an unbounded stream has "
                     "no last row to sort up to");
  }
  if (q.limit || q.offset) {
    FailNotSupported(q.loc, "LIMIT/OFFSET is not supported in a streaming query");
  }
  ctes_.emplace_back();
  for (const auto& cte : q.with) {
    if (ctes_.back().count(cte.name))
      FailUser(cte.loc, "WITH query \"{}\" is given twice", cte.name);
    BindQuery(*cte.query);  // errors at the CTE itself
    ctes_.back()[cte.name] = &cte;
  }
  Relation rel = BindSetExpr(*q.body);
  ctes_.pop_back();
  --depth_;
  return rel;
}

Relation StatementBinder::BindSetExpr(const SetExpr& s) {
  switch (s.kind) {
    case SetExpr::Kind::kSelect:
      return BindSelectCore(*s.select);
    case SetExpr::Kind::kQuery:
      return BindQuery(*s.query);
    case SetExpr::Kind::kSetOp:
      break;
  }
  if (s.set_op != "union") {
    FailNotSupported(s.loc, "{} is not supported yet",
                     s.set_op == "intersect" ? "INTERSECT" : "EXCEPT");
  }
  if (!s.all) {
    FailNotSupported(s.loc,
                     "UNION without ALL removes duplicates, which needs state: not supported "
                     "yet; use UNION ALL");
  }
  // Flatten left-deep UNION ALL chains.
  std::vector<const SetExpr*> parts;
  std::vector<const SetExpr*> stack = {&s};
  while (!stack.empty()) {
    const SetExpr* cur = stack.back();
    stack.pop_back();
    if (cur->kind == SetExpr::Kind::kSetOp && cur->set_op == "union" && cur->all) {
      stack.push_back(cur->right.get());
      stack.push_back(cur->left.get());
    } else {
      parts.push_back(cur);
    }
  }
  std::vector<Relation> rels;
  for (const auto* p : parts) rels.push_back(BindSetExpr(*p));
  size_t width = rels[0].columns.size();
  std::vector<DataType> types;
  for (size_t i = 0; i < width; ++i) types.push_back(rels[0].columns[i].type);
  for (size_t r = 1; r < rels.size(); ++r) {
    if (rels[r].columns.size() != width) {
      FailUser(parts[r]->loc,
               "each UNION ALL query must have the same number of columns ({} vs {})", width,
               rels[r].columns.size());
    }
    for (size_t i = 0; i < width; ++i) {
      auto common = expr::CommonSuperType(types[i], rels[r].columns[i].type);
      if (!common.ok()) {
        FailUser(parts[r]->loc, "UNION ALL column {} (\"{}\"): types {} and {} cannot be matched",
                 i + 1, rels[0].columns[i].name, types[i].ToString(),
                 rels[r].columns[i].type.ToString());
      }
      types[i] = *common;
    }
  }
  std::vector<std::string> names;
  for (const auto& c : rels[0].columns) names.push_back(c.name);
  std::vector<PlanPtr> inputs;
  for (size_t r = 0; r < rels.size(); ++r) {
    inputs.push_back(CoerceTo(rels[r], types, names, parts[r]->loc, "UNION ALL"));
  }
  Relation out;
  out.plan = MakeUnion(std::move(inputs));
  for (size_t i = 0; i < width; ++i) out.columns.push_back({"", names[i], types[i]});
  return out;
}

Relation StatementBinder::BindCatalogTable(const CatalogEntry& entry, const std::string& qualifier,
                                           const Location& loc) {
  if (entry.kind == CatalogEntry::Kind::kView) {
    // A view is bound afresh where it is used; CTEs of the user's query do not leak in.
    auto saved = std::move(ctes_);
    ctes_.clear();
    Relation rel = BindQuery(*entry.query);
    ctes_ = std::move(saved);
    for (auto& c : rel.columns) c.qualifier = qualifier;
    return rel;
  }
  const auto& table = entry.table;
  if (table->type != connectors::TableType::kSource) {
    FailUser(loc, "table \"{}\" is a sink (type = 'sink'); it cannot be read from", entry.name);
  }
  std::vector<int> cols;
  for (size_t i = 0; i < table->schema.size(); ++i) cols.push_back(static_cast<int>(i));
  Relation rel;
  rel.plan = MakeSource(table, cols);
  bool has_generated = false;
  for (const auto& c : entry.columns) has_generated |= c.generated != nullptr;
  if (!has_generated) {
    for (const auto& f : table->schema.fields()) rel.columns.push_back({qualifier, f.name, f.type});
    return AddWatermark(entry, std::move(rel), loc);
  }
  std::vector<ScopeColumn> physical;
  for (const auto& f : table->schema.fields()) physical.push_back({qualifier, f.name, f.type});
  std::vector<BoundExprPtr> exprs;
  for (const auto& c : entry.columns) {
    if (c.generated && c.name == entry.processing_time_column) {
      // Stamped by the processing-time watermark generator just above; a constant placeholder
      // keeps this projection deterministic (so sources are still pruned and reads shared).
      exprs.push_back(expr::MakeLiteral(Value::Null(types::Timestamp())));
    } else if (c.generated) {
      exprs.push_back(Cast(BindExpr(*c.generated, physical), c.type, c.generated->loc, false));
    } else {
      int idx = static_cast<int>(*table->schema.Find(c.name));
      exprs.push_back(expr::MakeColumn(idx, c.type));
    }
    rel.columns.push_back({qualifier, c.name, c.type});
  }
  rel.plan = MakeProject(rel.plan, std::move(exprs), SchemaOf(rel.columns));
  return AddWatermark(entry, std::move(rel), loc);
}

Relation StatementBinder::AddWatermark(const CatalogEntry& entry, Relation rel,
                                       const Location& loc) {
  if (!entry.processing_time_column.empty()) {
    // Processing time: the generator stamps the column with the wall clock and its watermark
    // follows the wall clock (the watermark expression is the column itself, for EXPLAIN).
    int column = -1;
    for (size_t i = 0; i < rel.columns.size(); ++i) {
      if (rel.columns[i].name == entry.processing_time_column) column = static_cast<int>(i);
    }
    rel.columns[static_cast<size_t>(column)].role = TimeRole::kEventTime;
    auto w = std::make_shared<LogicalPlan>(*MakeWatermark(
        rel.plan, column, expr::MakeColumn(column, types::Timestamp()), std::nullopt));
    w->processing_time = true;
    rel.plan = w;
    return rel;
  }
  int event_time = -1;
  for (size_t i = 0; i < rel.columns.size(); ++i) {
    if (rel.columns[i].name == entry.event_time_column) event_time = static_cast<int>(i);
  }
  if (event_time >= 0) rel.columns[static_cast<size_t>(event_time)].role = TimeRole::kEventTime;
  BoundExprPtr watermark;
  if (entry.watermark_expr) {
    watermark = Cast(BindExpr(*entry.watermark_expr, rel.columns), types::Timestamp(),
                     entry.watermark_expr->loc, false);
  } else {
    // By default the watermark trails the largest event time by one second.
    BoundExprPtr time;
    if (event_time >= 0) {
      time = expr::MakeColumn(event_time, types::Timestamp());
    } else {
      auto t = std::make_shared<BoundExpr>();
      t->kind = BoundKind::kEventTime;
      t->type = types::Timestamp();
      time = t;
    }
    watermark = BindCall(
        "-", {time, expr::MakeLiteral(Value::IntervalValue(types::Interval{0, 0, 1000000}))}, loc);
  }
  rel.plan = MakeWatermark(rel.plan, event_time, watermark, entry.idle_micros);
  return rel;
}

Relation StatementBinder::BindTableRef(const TableRef& t) {
  switch (t.kind) {
    case TableRef::Kind::kNamed: {
      if (t.as_of) {
        FailNotSupported(t.loc,
                         "FOR SYSTEM_TIME AS OF is supported on the right side of a JOIN (a "
                         "lookup join against a bounded table)");
      }
      std::string qualifier = t.alias.empty() ? t.name : t.alias;
      for (auto it = ctes_.rbegin(); it != ctes_.rend(); ++it) {
        auto found = it->find(t.name);
        if (found == it->end()) continue;
        const CommonTableExpr* cte = found->second;
        Relation rel = BindQuery(*cte->query);
        if (!cte->column_names.empty()) {
          if (cte->column_names.size() > rel.columns.size()) {
            FailUser(cte->loc, "WITH query \"{}\" names {} columns but has {}", cte->name,
                     cte->column_names.size(), rel.columns.size());
          }
          for (size_t i = 0; i < cte->column_names.size(); ++i)
            rel.columns[i].name = cte->column_names[i];
          rel.plan = CoerceTo(
              rel,
              [&] {
                std::vector<DataType> ts;
                for (const auto& c : rel.columns) ts.push_back(c.type);
                return ts;
              }(),
              [&] {
                std::vector<std::string> ns;
                for (const auto& c : rel.columns) ns.push_back(c.name);
                return ns;
              }(),
              cte->loc, "WITH query");
        }
        for (auto& c : rel.columns) c.qualifier = qualifier;
        return rel;
      }
      const CatalogEntry* entry = b_->catalog_.Find(t.name);
      if (entry == nullptr) {
        std::vector<std::string> names = b_->catalog_.Names();
        for (const auto& scope : ctes_) {
          for (const auto& [n, c] : scope) names.push_back(n);
        }
        FailUser(t.loc, "table \"{}\" does not exist{}", t.name, Hint(t.name, names));
      }
      return BindCatalogTable(*entry, qualifier, t.loc);
    }
    case TableRef::Kind::kSubquery: {
      Relation rel = BindQuery(*t.subquery);
      for (auto& c : rel.columns) c.qualifier = t.alias;
      return rel;
    }
    case TableRef::Kind::kJoin:
      return BindJoin(t);
    case TableRef::Kind::kFunction: {
      if (t.name == "tumble" || t.name == "hop") return BindWindowTableFunction(t);
      if (t.name == "session") {
        FailNotSupported(t.loc, "SESSION in FROM is not supported; GROUP BY SESSION(gap) instead");
      }
      if (t.name == "unnest") FailNotSupported(t.loc, "UNNEST is not supported yet");
      FailUser(t.loc, "table function \"{}\" does not exist", t.name);
    }
  }
  FailUser(t.loc, "unsupported FROM item");
}

// ---------------------------------------------------------------- joins

namespace {

void SplitConjuncts(const BoundExprPtr& e, std::vector<BoundExprPtr>* out) {
  if (e->kind == BoundKind::kAnd) {
    SplitConjuncts(e->args[0], out);
    SplitConjuncts(e->args[1], out);
    return;
  }
  out->push_back(e);
}

// Which side of a join an expression over both sides' columns reads: 0 left, 1 right,
// -1 neither, 2 both.
int SideOf(const BoundExpr& e, size_t left_width) {
  std::vector<int> cols;
  e.CollectColumns(&cols);
  int side = -1;
  for (int c : cols) {
    int s = static_cast<size_t>(c) < left_width ? 0 : 1;
    if (side == -1) side = s;
    if (side != s) return 2;
  }
  return side;
}

// A time column plus a constant: `ts`, `ts + INTERVAL '1' MINUTE`, `ts - INTERVAL ...`.
struct TimeTerm {
  int column = -1;
  int64_t offset = 0;
};

std::optional<TimeTerm> AsTimeTerm(const BoundExprPtr& e, const std::vector<ScopeColumn>& scope) {
  if (e->kind == BoundKind::kColumn) {
    if (scope[static_cast<size_t>(e->column_index)].role != TimeRole::kEventTime) return {};
    return TimeTerm{e->column_index, 0};
  }
  if (e->kind == BoundKind::kCall && e->args.size() == 2 &&
      (e->function->name == "+" || e->function->name == "-")) {
    auto base = AsTimeTerm(e->args[0], scope);
    const BoundExprPtr& k = e->args[1];
    if (!base || k->kind != BoundKind::kLiteral || k->type.id() != TypeId::kInterval ||
        k->literal.is_null() || k->literal.interval_value().months != 0) {
      return {};
    }
    const auto& iv = k->literal.interval_value();
    int64_t us = iv.days * 86400000000LL + iv.micros;
    base->offset += e->function->name == "+" ? us : -us;
    return base;
  }
  return {};
}

// The window end a join key holds, for a key that reads a window column.
struct WindowKey {
  TimeRole role = TimeRole::kNone;
  exec::WindowSpec window;
};

WindowKey WindowKeyOf(const BoundExprPtr& e, const std::vector<ScopeColumn>& scope) {
  ScopeColumn c;
  CopyTimeRole(e, scope, &c);
  if (c.role == TimeRole::kEventTime) return {};
  return {c.role, c.window};
}

bool SameWindow(const exec::WindowSpec& a, const exec::WindowSpec& b) {
  if (a.kind == exec::WindowSpec::Kind::kFromColumn ||
      b.kind == exec::WindowSpec::Kind::kFromColumn)
    return true;  // re-aggregated windows keep their input's windows
  return a.kind == b.kind && a.width == b.width && a.slide == b.slide;
}

}  // namespace

// JOIN ... ON: equalities between the two sides become the join keys; the rest is a residual
// condition on each pair. The join runs
//   windowed  when both inputs are windowed alike and the keys match their windows;
//   interval  when the condition bounds the right event time to the left's from both sides;
//   updating  otherwise (rows kept for updating_ttl).
Relation StatementBinder::BindJoin(const TableRef& t) {
  if (t.join_type == JoinType::kCross) {
    FailNotSupported(t.loc,
                     "CROSS JOIN is not supported: pairing every row of an unbounded stream with "
                     "every other row needs unbounded state; join ON an equality of the two "
                     "sides (JOIN ... ON a.k = b.k)");
  }
  // JOIN t FOR SYSTEM_TIME AS OF probe.ts: a lookup join against the bounded table t.
  const bool lookup = t.right->kind == TableRef::Kind::kNamed && t.right->as_of != nullptr;
  Relation left = BindTableRef(*t.left);
  Relation right;
  if (lookup) {
    TableRef side = *t.right;
    side.as_of = nullptr;
    right = BindTableRef(side);
  } else {
    right = BindTableRef(*t.right);
  }
  for (const Relation* side : {&left, &right}) {
    if (side->window && side->window->spec.kind == exec::WindowSpec::Kind::kHop) {
      FailNotSupported((side == &left ? t.left : t.right)->loc,
                       "HOP in FROM is supported with GROUP BY window_start, window_end (a row "
                       "belongs to several windows); join the aggregated windows instead");
    }
  }
  const size_t nl = left.columns.size();
  const size_t nr = right.columns.size();
  std::vector<ScopeColumn> scope = left.columns;
  scope.insert(scope.end(), right.columns.begin(), right.columns.end());
  std::vector<BoundExprPtr> conjuncts;
  if (!t.using_columns.empty()) {
    for (const auto& name : t.using_columns) {
      auto find = [&](const std::vector<ScopeColumn>& cols, const char* side) {
        int found = -1;
        for (size_t i = 0; i < cols.size(); ++i) {
          if (cols[i].name != name) continue;
          if (found >= 0)
            FailUser(t.loc, "USING column \"{}\" is ambiguous on the {} side", name, side);
          found = static_cast<int>(i);
        }
        if (found < 0)
          FailUser(t.loc, "USING column \"{}\" is not on the {} side of the join", name, side);
        return found;
      };
      int l = find(left.columns, "left");
      int r = find(right.columns, "right") + static_cast<int>(nl);
      conjuncts.push_back(BindCall("=",
                                   {expr::MakeColumn(l, scope[static_cast<size_t>(l)].type),
                                    expr::MakeColumn(r, scope[static_cast<size_t>(r)].type)},
                                   t.loc));
    }
  } else if (t.on) {
    SplitConjuncts(BindBool(*t.on, scope, "ON"), &conjuncts);
  } else {
    FailUser(t.loc, "JOIN needs a condition: ON a.k = b.k or USING (k)");
  }
  std::vector<int> to_right(nl + nr, -1);
  for (size_t j = 0; j < nr; ++j) to_right[nl + j] = static_cast<int>(j);

  // Keys and the residual.
  std::vector<BoundExprPtr> left_keys, right_keys;
  std::vector<BoundExprPtr> residual;
  for (const auto& c : conjuncts) {
    if (c->kind == BoundKind::kCall && c->function->name == "=" && c->args.size() == 2) {
      int a = SideOf(*c->args[0], nl);
      int b = SideOf(*c->args[1], nl);
      if ((a == 0 && b == 1) || (a == 1 && b == 0)) {
        left_keys.push_back(a == 0 ? c->args[0] : c->args[1]);
        right_keys.push_back(a == 0 ? c->args[1] : c->args[0]);
        continue;
      }
    }
    residual.push_back(c);
  }
  if (left_keys.empty()) {
    FailNotSupported(t.loc,
                     "a join of two streams needs at least one equality between the two sides "
                     "(ON a.k = b.k): without one every row would have to be kept and paired "
                     "with every other");
  }
  const bool updating_inputs = left.plan->updating() || right.plan->updating();
  if (lookup) CheckLookupJoin(t, left, right, scope);

  // Windowed: a key pair that matches the two sides' windows.
  JoinMode mode = lookup ? JoinMode::kLookup : JoinMode::kUpdating;
  int window_key = -1;
  for (size_t k = 0; k < left_keys.size() && !updating_inputs && !lookup; ++k) {
    WindowKey a = WindowKeyOf(left_keys[k], scope);
    WindowKey b = WindowKeyOf(right_keys[k], scope);
    if (a.role == TimeRole::kNone || a.role != b.role) continue;
    // Sessions of one key differ in length: equal ends are not equal sessions, so session
    // windows are joined as values (an updating join).
    if (a.window.kind == exec::WindowSpec::Kind::kSession ||
        b.window.kind == exec::WindowSpec::Kind::kSession) {
      continue;
    }
    if (!SameWindow(a.window, b.window)) {
      FailUser(t.loc, "a windowed join needs the same window on both sides, not {} and {}",
               a.window.ToString(), b.window.ToString());
    }
    // The key becomes the window's end: equal ends are equal windows of one size.
    left_keys[k] = WindowEnd(left_keys[k], a.role, a.window, t.loc);
    right_keys[k] = WindowEnd(right_keys[k], b.role, b.window, t.loc);
    mode = JoinMode::kWindowed;
    window_key = static_cast<int>(k);
    break;
  }
  // Interval: lo <= right time - left time <= hi.
  std::optional<int64_t> lo, hi;
  if (mode == JoinMode::kUpdating && !updating_inputs && t.join_type == JoinType::kInner) {
    for (const auto& c : residual) {
      if (c->kind != BoundKind::kCall || c->args.size() != 2) continue;
      const std::string& op = c->function->name;
      if (op != ">=" && op != ">" && op != "<=" && op != "<") continue;
      auto x = AsTimeTerm(c->args[0], scope);
      auto y = AsTimeTerm(c->args[1], scope);
      if (!x || !y) continue;
      int sx = static_cast<size_t>(x->column) < nl ? 0 : 1;
      int sy = static_cast<size_t>(y->column) < nl ? 0 : 1;
      if (sx == sy) continue;
      // Written as R + q OP L + p.
      bool flip = sx == 0;
      const TimeTerm& r = flip ? *y : *x;
      const TimeTerm& l = flip ? *x : *y;
      std::string o = op;
      if (flip) o = op == ">=" ? "<=" : op == ">" ? "<" : op == "<=" ? ">=" : ">";
      int64_t bound = l.offset - r.offset;  // R - L OP bound
      if (o == ">=") lo = std::max(lo.value_or(bound), bound);
      if (o == ">") lo = std::max(lo.value_or(bound + 1), bound + 1);
      if (o == "<=") hi = std::min(hi.value_or(bound), bound);
      if (o == "<") hi = std::min(hi.value_or(bound - 1), bound - 1);
    }
    if (lo && hi) {
      if (*lo > *hi) FailUser(t.loc, "the join's time condition is never true");
      mode = JoinMode::kInterval;
    }
  }

  // Each input gets its key columns appended (cast to one type per key).
  std::vector<BoundExprPtr> lexprs, rexprs;
  for (size_t i = 0; i < nl; ++i)
    lexprs.push_back(expr::MakeColumn(static_cast<int>(i), scope[i].type));
  for (size_t j = 0; j < nr; ++j)
    rexprs.push_back(expr::MakeColumn(static_cast<int>(j), scope[nl + j].type));
  std::vector<int> lk, rk;
  std::vector<ScopeColumn> lcols = left.columns, rcols = right.columns;
  for (size_t k = 0; k < left_keys.size(); ++k) {
    auto common = expr::CommonSuperType(left_keys[k]->type, right_keys[k]->type);
    if (!common.ok()) {
      FailUser(t.loc, "join keys of types {} and {} cannot be compared",
               left_keys[k]->type.ToString(), right_keys[k]->type.ToString());
    }
    lk.push_back(static_cast<int>(lexprs.size()));
    lexprs.push_back(Cast(left_keys[k], *common, t.loc, false));
    lcols.push_back({"", fmt::format("__key{}", k), *common});
    rk.push_back(static_cast<int>(rexprs.size()));
    rexprs.push_back(Cast(expr::RemapColumns(right_keys[k], to_right), *common, t.loc, false));
    rcols.push_back({"", fmt::format("__key{}", k), *common});
  }
  PlanPtr lplan = left.plan;
  PlanPtr rplan = right.plan;
  if (mode != JoinMode::kUpdating && mode != JoinMode::kLookup) {
    lplan = WithLateRowsDropped(lplan);
    rplan = WithLateRowsDropped(rplan);
  }
  lplan = MakeProject(lplan, lexprs, SchemaOf(lcols));
  rplan = MakeProject(rplan, rexprs, SchemaOf(rcols));
  // The residual reads the operator's output: left columns and keys, then right's.
  const size_t lw = lexprs.size();
  std::vector<int> to_output(nl + nr);
  for (size_t i = 0; i < nl; ++i) to_output[i] = static_cast<int>(i);
  for (size_t j = 0; j < nr; ++j) to_output[nl + j] = static_cast<int>(lw + j);
  BoundExprPtr cond;
  for (const auto& c : residual) {
    BoundExprPtr m = expr::RemapColumns(c, to_output);
    cond = cond ? expr::MakeLogical(BoundKind::kAnd, {cond, m}) : m;
  }
  exec::JoinType type = t.join_type == JoinType::kLeft    ? exec::JoinType::kLeft
                        : t.join_type == JoinType::kRight ? exec::JoinType::kRight
                        : t.join_type == JoinType::kFull  ? exec::JoinType::kFull
                                                          : exec::JoinType::kInner;
  auto join =
      std::const_pointer_cast<LogicalPlan>(MakeJoin(lplan, rplan, type, mode, lk, rk, cond));
  join->window_key = window_key;
  join->ttl_micros = IntervalSetting("updating_ttl", kDefaultUpdatingTtl);
  if (mode == JoinMode::kInterval) {
    join->lower = *lo;
    join->upper = *hi;
  }
  // Drop the appended keys.
  std::vector<BoundExprPtr> out;
  for (size_t i = 0; i < nl; ++i)
    out.push_back(expr::MakeColumn(static_cast<int>(i), scope[i].type));
  for (size_t j = 0; j < nr; ++j) {
    out.push_back(expr::MakeColumn(static_cast<int>(lw + j), scope[nl + j].type));
  }
  Relation rel;
  rel.columns = scope;
  for (size_t i = 0; i < rel.columns.size(); ++i) {
    auto& c = rel.columns[i];
    // A lookup join's row keeps its probe row's event time (and windows); the side table's
    // columns have no time role.
    if (mode == JoinMode::kLookup) {
      if (i >= nl) c.role = TimeRole::kNone;
      continue;
    }
    // A joined row's event time is the later of its two rows': neither time column is it.
    if (c.role == TimeRole::kEventTime) c.role = TimeRole::kNone;
    // Rows of an updating or interval join are not grouped into their inputs' windows.
    if (mode != JoinMode::kWindowed) c.role = TimeRole::kNone;
  }
  rel.plan = MakeProject(join, std::move(out), SchemaOf(rel.columns));
  return rel;
}

namespace {
// The source tables under a plan.
void CollectSources(const LogicalPlan& plan, std::vector<const LogicalPlan*>* out) {
  if (plan.kind == PlanKind::kSource) out->push_back(&plan);
  for (const auto& in : plan.inputs) CollectSources(*in, out);
}
}  // namespace

// A lookup join: INNER or LEFT, an append-only probe side, a bounded side table read whole
// (not versioned), and AS OF over the probe side's columns.
void StatementBinder::CheckLookupJoin(const TableRef& t, const Relation& left,
                                      const Relation& right,
                                      const std::vector<ScopeColumn>& scope) {
  if (t.join_type != JoinType::kInner && t.join_type != JoinType::kLeft) {
    FailNotSupported(t.loc,
                     "a lookup join (FOR SYSTEM_TIME AS OF) is INNER or LEFT: the side table's "
                     "unmatched rows are never emitted");
  }
  std::vector<const LogicalPlan*> sources;
  CollectSources(*right.plan, &sources);
  for (const LogicalPlan* s : sources) {
    if (!s->table->finite) {
      FailNotSupported(t.right->loc,
                       "the side table of a lookup join (FOR SYSTEM_TIME AS OF) must be bounded: "
                       "table \"{}\" (connector '{}') never ends; use a single_file table, or "
                       "impulse with message_count",
                       s->table->table_name, s->table->connector);
    }
  }
  if (right.plan->updating()) {
    FailNotSupported(t.right->loc,
                     "the side table of a lookup join must be append-only, not updating");
  }
  if (left.plan->updating()) {
    FailNotSupported(t.left->loc,
                     "the probe side of a lookup join (FOR SYSTEM_TIME AS OF) must be "
                     "append-only; it is updating ({})",
                     UpdatingCause(*left.plan));
  }
  BoundExprPtr as_of = BindExpr(*t.right->as_of, scope);
  if (SideOf(*as_of, left.columns.size()) != 0) {
    FailUser(t.right->as_of->loc,
             "FOR SYSTEM_TIME AS OF must be a time of the probe (left) side's rows, such as its "
             "event-time column; it reads {}",
             SideOf(*as_of, left.columns.size()) == -1 ? "no column" : "the side table");
  }
  if (as_of->type.id() != types::TypeId::kTimestamp) {
    FailUser(t.right->as_of->loc, "FOR SYSTEM_TIME AS OF needs a TIMESTAMP, not {}",
             as_of->type.ToString());
  }
}

// The end of the window an expression with a window role reads: window.end, window_end, or
// window_start + width.
BoundExprPtr StatementBinder::WindowEnd(const BoundExprPtr& e, TimeRole role,
                                        const exec::WindowSpec& window, const Location& loc) {
  if (role == TimeRole::kWindowEnd) return e;
  if (role == TimeRole::kWindow) {
    auto fa = std::make_shared<BoundExpr>();
    fa->kind = BoundKind::kFieldAccess;
    fa->type = types::Timestamp();
    fa->field_index = 1;
    fa->args.push_back(e);
    return fa;
  }
  if (window.kind == exec::WindowSpec::Kind::kFromColumn) {
    FailNotSupported(loc, "use the window (or its end) here, not its start");
  }
  return BindCall(
      "+", {e, expr::MakeLiteral(Value::IntervalValue(types::Interval{0, 0, window.width}))}, loc);
}

// ROW_NUMBER() / RANK() / DENSE_RANK() OVER (PARTITION BY window, keys ORDER BY ...) over a
// windowed input: the plan yields the input's columns and then the rank.
PlanPtr StatementBinder::BindRanking(const Expr& call, const Relation& rel) {
  const std::string& name = call.names.back();
  exec::TopNSpec spec;
  if (name == "row_number") {
    spec.function = exec::RankFunction::kRowNumber;
  } else if (name == "rank") {
    spec.function = exec::RankFunction::kRank;
  } else if (name == "dense_rank") {
    spec.function = exec::RankFunction::kDenseRank;
  } else {
    FailNotSupported(call.loc,
                     "window function {}() is not supported yet; ROW_NUMBER(), RANK() and "
                     "DENSE_RANK() are",
                     name);
  }
  if (!call.args.empty() || call.star_arg) FailUser(call.loc, "{}() takes no arguments", name);
  const auto& over = *call.over;
  if (!over.frame_text.empty()) {
    FailNotSupported(call.loc, "window frames (ROWS/RANGE BETWEEN ...) are not supported");
  }
  if (over.order_by.empty()) {
    FailUser(call.loc, "{}() OVER (...) needs ORDER BY: it ranks the rows of each partition", name);
  }
  const size_t n = rel.columns.size();
  std::vector<BoundExprPtr> pre;
  for (size_t i = 0; i < n; ++i) {
    pre.push_back(expr::MakeColumn(static_cast<int>(i), rel.columns[i].type));
  }
  std::vector<BoundExprPtr> keys;
  BoundExprPtr window_end;
  for (const auto& p : over.partition_by) {
    BoundExprPtr b = BindExpr(*p, rel.columns);
    ScopeColumn role;
    CopyTimeRole(b, rel.columns, &role);
    if (!window_end && role.role != TimeRole::kNone && role.role != TimeRole::kEventTime) {
      window_end = WindowEnd(b, role.role, role.window, p->loc);
      continue;
    }
    keys.push_back(b);
  }
  // Without a window: a top-N over the whole stream, whose ranks change as rows arrive (an
  // updating result; the compiler requires a limit from an outer filter on the rank).
  const bool unbounded = !window_end;
  if (unbounded && spec.function != exec::RankFunction::kRowNumber) {
    FailNotSupported(call.loc,
                     "{}() over a whole unbounded stream (no window in PARTITION BY) is not "
                     "supported; ROW_NUMBER() is, with an outer filter on its rank",
                     name);
  }
  if (!unbounded && rel.plan->updating()) {
    FailNotSupported(call.loc, "{}() per window over an updating input ({}) is not supported", name,
                     UpdatingCause(*rel.plan));
  }
  if (unbounded) {
    spec.window_end = -1;
  } else {
    spec.window_end = static_cast<int>(pre.size());
    spec.partition.push_back(spec.window_end);
    pre.push_back(window_end);
  }
  for (auto& k : keys) {
    spec.partition.push_back(static_cast<int>(pre.size()));
    pre.push_back(k);
  }
  for (const auto& o : over.order_by) {
    exec::SortKey key;
    key.column = static_cast<int>(pre.size());
    key.descending = o.descending;
    // PostgreSQL: NULLs sort as if larger than every value.
    key.nulls_first = o.nulls_first.value_or(o.descending);
    pre.push_back(BindExpr(*o.expr, rel.columns));
    spec.order.push_back(key);
  }
  std::vector<Field> fields;
  for (size_t i = 0; i < pre.size(); ++i) {
    fields.push_back(
        Field{i < n ? rel.columns[i].name : fmt::format("__r{}", i), pre[i]->type, true});
  }
  PlanPtr input = MakeProject(unbounded ? rel.plan : WithLateRowsDropped(rel.plan), pre,
                              std::make_shared<types::Schema>(std::move(fields)));
  PlanPtr ranked = MakeTopN(input, spec);
  std::vector<BoundExprPtr> out;
  std::vector<ScopeColumn> cols = rel.columns;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(expr::MakeColumn(static_cast<int>(i), cols[i].type));
  }
  out.push_back(expr::MakeColumn(static_cast<int>(pre.size()), types::DataType(TypeId::kInt64)));
  cols.push_back({"", "__rank", types::DataType(TypeId::kInt64)});
  return MakeProject(ranked, std::move(out), SchemaOf(cols));
}

// FROM TUMBLE(t, ts, size) / HOP(t, ts, slide, size): t's columns plus window_start and
// window_end. The time column must be t's event time, since windows follow the watermark.
Relation StatementBinder::BindWindowTableFunction(const TableRef& t) {
  std::string upper = t.name == "tumble" ? "TUMBLE" : "HOP";
  size_t want = t.name == "tumble" ? 3 : 4;
  if (t.args.size() != want) {
    FailUser(
        t.loc, "{} in FROM takes {}", upper,
        t.name == "tumble" ? "(table, time_column, size)" : "(table, time_column, slide, size)");
  }
  const Expr& table_arg = *t.args[0];
  if (table_arg.kind != ExprKind::kColumnRef || table_arg.names.size() != 1) {
    FailUser(table_arg.loc, "the first argument of {} is a table name", upper);
  }
  TableRef named;
  named.kind = TableRef::Kind::kNamed;
  named.loc = table_arg.loc;
  named.name = table_arg.names[0];
  named.alias = t.alias;
  Relation rel = BindTableRef(named);
  BoundExprPtr time = BindExpr(*t.args[1], rel.columns);
  if (time->type.id() != TypeId::kTimestamp) {
    FailUser(t.args[1]->loc, "the time column of {} must be TIMESTAMP, not {}", upper,
             time->type.ToString());
  }
  // The window operator assigns rows by event time: the column must be it.
  bool is_event_time = time->kind == BoundKind::kColumn && rel.plan->kind == PlanKind::kWatermark &&
                       rel.plan->event_time_column == time->column_index;
  if (!is_event_time && rel.plan->kind == PlanKind::kWatermark && rel.plan->processing_time) {
    FailUser(t.args[1]->loc,
             "the time column of {} must be the table's time attribute \"{}\" (its processing "
             "time)",
             upper, rel.columns[static_cast<size_t>(rel.plan->event_time_column)].name);
  }
  if (!is_event_time) {
    FailUser(t.args[1]->loc,
             "the time column of {} must be the table's event time (declare it with WATERMARK "
             "FOR {})",
             upper, t.args[1]->ToSql());
  }
  auto call = std::make_shared<Expr>();
  call->kind = ExprKind::kFunction;
  call->loc = t.loc;
  call->names = {t.name};
  call->args.assign(t.args.begin() + 2, t.args.end());
  exec::WindowSpec spec = BindWindow(*call, rel.columns);
  int64_t size = spec.kind == exec::WindowSpec::Kind::kHop ? spec.slide : spec.width;
  // window_start = date_bin(size, ts), window_end = window_start + size (for HOP these are
  // only meaningful through GROUP BY, which uses `spec`).
  types::Interval size_iv{0, 0, spec.width};
  BoundExprPtr start =
      BindCall("date_bin",
               {expr::MakeLiteral(Value::IntervalValue(types::Interval{0, 0, size})), time,
                expr::MakeLiteral(Value::Timestamp(0))},
               t.loc);
  BoundExprPtr end =
      BindCall("+", {start, expr::MakeLiteral(Value::IntervalValue(size_iv))}, t.loc);
  std::vector<BoundExprPtr> exprs;
  for (size_t i = 0; i < rel.columns.size(); ++i) {
    exprs.push_back(expr::MakeColumn(static_cast<int>(i), rel.columns[i].type));
  }
  std::string qualifier = t.alias.empty() ? table_arg.names[0] : t.alias;
  TableFunctionWindow w;
  w.spec = spec;
  w.start_column = static_cast<int>(exprs.size());
  exprs.push_back(start);
  rel.columns.push_back(
      {qualifier, "window_start", types::Timestamp(), TimeRole::kWindowStart, spec});
  w.end_column = static_cast<int>(exprs.size());
  exprs.push_back(end);
  rel.columns.push_back({qualifier, "window_end", types::Timestamp(), TimeRole::kWindowEnd, spec});
  rel.plan = MakeProject(rel.plan, std::move(exprs), SchemaOf(rel.columns));
  rel.window = w;
  return rel;
}

// SET update_flush_interval = INTERVAL '...' (default 1 second).
int64_t StatementBinder::FlushInterval() const {
  return IntervalSetting("update_flush_interval", 1000000);
}

// An interval setting (checked when it was SET), in microseconds.
int64_t StatementBinder::IntervalSetting(const std::string& name, int64_t default_micros) const {
  auto it = b_->settings_.find(name);
  if (it == b_->settings_.end()) return default_micros;
  return ParseIntervalSetting(it->second).value_or(default_micros);
}

std::string StatementBinder::ColumnName(const SelectItem& item, const BoundExprPtr& bound) {
  if (!item.alias.empty()) return item.alias;
  const Expr* e = item.expr.get();
  while (e->kind == ExprKind::kCast) e = e->args[0].get();
  switch (e->kind) {
    case ExprKind::kColumnRef:
      return e->names.back();
    case ExprKind::kFieldAccess:
      return e->text;
    case ExprKind::kFunction:
      return e->names.back();
    case ExprKind::kCase:
      return "case";
    default:
      return "?column?";
  }
}

Relation StatementBinder::BindSelectCore(const SelectCore& s) {
  if (!s.from) {
    FailNotSupported(s.loc,
                     "a streaming query reads FROM a source table; SELECT without FROM "
                     "is not supported");
  }
  Relation rel = BindTableRef(*s.from);
  if (s.where) {
    BoundExprPtr pred = BindBool(*s.where, rel.columns, "WHERE");
    rel.plan = MakeFilter(rel.plan, pred);
  }
  if (s.distinct) FailNotSupported(s.loc, "SELECT DISTINCT is not supported yet");
  bool aggregates = !s.group_by.empty() || s.having != nullptr;
  for (const auto& item : s.items) aggregates |= FindAggregate(*item.expr, &rel.columns) != nullptr;
  if (aggregates) return BindAggregateSelect(s, std::move(rel));
  if (rel.window && rel.window->spec.kind == exec::WindowSpec::Kind::kHop) {
    FailNotSupported(s.from->loc,
                     "HOP in FROM is supported with GROUP BY window_start, window_end (a row "
                     "belongs to several windows)");
  }

  // UNNEST(array) in the select list: one row per element, read through a column.
  std::vector<SelectItem> items = s.items;
  const size_t visible = rel.columns.size();
  std::string unnest_sql;
  {
    const Expr* unnest = nullptr;
    std::function<void(const Expr&)> find = [&](const Expr& e) {
      if (e.kind == ExprKind::kFunction && !e.names.empty() && e.names.back() == "unnest") {
        if (unnest && e.ToSql() != unnest->ToSql()) {
          FailNotSupported(e.loc, "only one UNNEST per SELECT is supported");
        }
        unnest = &e;
        return;
      }
      for (const auto& a : e.args) {
        if (a) find(*a);
      }
    };
    for (const auto& item : items) find(*item.expr);
    if (unnest) {
      if (unnest->args.size() != 1) FailUser(unnest->loc, "UNNEST takes one array");
      BoundExprPtr array = BindExpr(*unnest->args[0], rel.columns);
      if (array->type.id() != TypeId::kList) {
        FailUser(unnest->loc, "UNNEST takes an array, not {}", array->type.ToString());
      }
      std::vector<BoundExprPtr> pre;
      for (size_t i = 0; i < visible; ++i) {
        pre.push_back(expr::MakeColumn(static_cast<int>(i), rel.columns[i].type));
      }
      pre.push_back(array);
      std::vector<ScopeColumn> pre_cols = rel.columns;
      pre_cols.push_back({"", "__array", array->type});
      PlanPtr unnested =
          MakeUnnest(MakeProject(rel.plan, pre, SchemaOf(pre_cols)), static_cast<int>(visible));
      std::vector<BoundExprPtr> keep;
      for (size_t i = 0; i < visible; ++i) {
        keep.push_back(expr::MakeColumn(static_cast<int>(i), rel.columns[i].type));
      }
      keep.push_back(expr::MakeColumn(static_cast<int>(visible + 1), array->type.element()));
      rel.columns.push_back({"", "__unnest", array->type.element()});
      rel.plan = MakeProject(unnested, keep, SchemaOf(rel.columns));
      unnest_sql = unnest->ToSql();
      std::function<ExprPtr(const ExprPtr&)> replace = [&](const ExprPtr& e) -> ExprPtr {
        if (!e) return e;
        if (e->kind == ExprKind::kFunction && e->ToSql() == unnest_sql) {
          return ColumnRefTo("__unnest", {}, e->loc);
        }
        auto copy = std::make_shared<Expr>(*e);
        for (auto& a : copy->args) a = replace(a);
        return copy;
      };
      for (auto& item : items) {
        bool bare = item.expr->ToSql() == unnest_sql;
        item.expr = replace(item.expr);
        if (bare && item.alias.empty()) item.alias = "unnest";
      }
    }
  }

  // A ranking window function in the select list.
  const SelectItem* ranked = nullptr;
  for (const auto& item : items) {
    if (item.expr->kind != ExprKind::kFunction || !item.expr->over) continue;
    if (ranked) {
      FailNotSupported(item.expr->loc, "only one window function per SELECT is supported");
    }
    ranked = &item;
  }
  PlanPtr input = ranked ? BindRanking(*ranked->expr, rel) : rel.plan;

  std::vector<BoundExprPtr> exprs;
  std::vector<ScopeColumn> out_cols;
  for (const auto& item : items) {
    if (&item == ranked) {
      const DataType rank_type(TypeId::kInt64);
      exprs.push_back(expr::MakeColumn(static_cast<int>(rel.columns.size()), rank_type));
      out_cols.push_back(
          {"", item.alias.empty() ? item.expr->names.back() : item.alias, rank_type});
      continue;
    }
    if (item.expr->kind == ExprKind::kStar) {
      const auto& q = item.expr->names;
      bool any = false;
      for (size_t i = 0; i < visible; ++i) {
        if (!q.empty() && rel.columns[i].qualifier != q.back()) continue;
        exprs.push_back(expr::MakeColumn(static_cast<int>(i), rel.columns[i].type));
        out_cols.push_back(rel.columns[i]);
        out_cols.back().qualifier.clear();
        any = true;
      }
      if (!any && !q.empty()) FailUser(item.expr->loc, "table \"{}\" is not in FROM", q.back());
      continue;
    }
    BoundExprPtr bound = BindExpr(*item.expr, rel.columns);
    if (bound->type.id() == TypeId::kNull) bound = expr::MakeCast(bound, types::Utf8());
    exprs.push_back(bound);
    out_cols.push_back({"", ColumnName(item, bound), bound->type});
    CopyTimeRole(bound, rel.columns, &out_cols.back());
  }
  Relation out;
  out.plan = MakeProject(input, std::move(exprs), SchemaOf(out_cols));
  out.columns = std::move(out_cols);
  return out;
}

// ---------------------------------------------------------------- windowed aggregation

// GROUP BY with a window: rows are keyed by the other GROUP BY expressions, aggregated per
// window, and the select list and HAVING are evaluated over the results. The plan is
//   Project(select list) <- [Filter(HAVING)] <- WindowAggregate <- Project(keys, arguments)
Relation StatementBinder::BindAggregateSelect(const SelectCore& s, Relation rel) {
  // GROUP BY items may be expressions, select-list positions or select-list aliases.
  std::vector<const Expr*> group_exprs;
  for (const auto& g : s.group_by) {
    const Expr* e = g.get();
    if (e->kind == ExprKind::kLiteral && e->literal_kind == LiteralKind::kInteger) {
      size_t k = std::stoul(e->text);
      if (k < 1 || k > s.items.size()) {
        FailUser(e->loc, "GROUP BY position {} is not in the select list", e->text);
      }
      e = s.items[k - 1].expr.get();
    } else if (e->kind == ExprKind::kColumnRef && e->names.size() == 1) {
      bool is_input = std::any_of(rel.columns.begin(), rel.columns.end(),
                                  [&](const ScopeColumn& c) { return c.name == e->names[0]; });
      if (!is_input) {
        const std::string name = e->names[0];
        for (const auto& item : s.items) {
          if (item.alias == name) {
            e = item.expr.get();
            break;
          }
        }
      }
    }
    if (FindAggregate(*e)) FailUser(e->loc, "aggregate functions are not allowed in GROUP BY");
    group_exprs.push_back(e);
  }
  // The window: a TUMBLE/HOP/SESSION call, or a window column of the input (re-aggregation).
  std::optional<exec::WindowSpec> window;
  const Expr* window_expr = nullptr;
  BoundExprPtr window_column;
  std::vector<const Expr*> key_exprs;
  std::vector<BoundExprPtr> keys;
  // window_start / window_end of a TUMBLE or HOP in FROM.
  auto tvf_column = [&](const BoundExprPtr& b) {
    return rel.window && b->kind == BoundKind::kColumn &&
           (b->column_index == rel.window->start_column ||
            b->column_index == rel.window->end_column);
  };
  bool tvf_grouped = false;
  for (const Expr* e : group_exprs) {
    bool is_window = IsWindowCall(*e);
    BoundExprPtr bound;
    if (!is_window) {
      bound = BindExpr(*e, rel.columns);
      if (tvf_column(bound)) {
        if (window && !tvf_grouped) FailUser(e->loc, "GROUP BY can name only one window");
        window = rel.window->spec;
        tvf_grouped = true;
        continue;
      }
      is_window = bound->type == exec::WindowStructType();
    }
    if (is_window) {
      if (window) FailUser(e->loc, "GROUP BY can name only one window");
      window_expr = e;
      if (bound) {
        window_column = bound;
        exec::WindowSpec spec;
        spec.kind = exec::WindowSpec::Kind::kFromColumn;
        window = spec;
      } else {
        window = BindWindow(*e, rel.columns);
      }
      continue;
    }
    key_exprs.push_back(e);
    keys.push_back(bound);
  }
  // Without a window the aggregate is updating: its results change as rows arrive.
  const bool updating = !window.has_value();
  // Over an updating input, rows can be retracted: only aggregates that can undo a row.
  const bool retracting = rel.plan->updating();
  if (retracting && !updating) {
    FailNotSupported(s.loc,
                     "a windowed aggregate over an updating input ({}) is not supported: a "
                     "window's result is final when it closes, but a later change could still "
                     "alter it; aggregate without a window instead",
                     UpdatingCause(*rel.plan));
  }
  // Aliases by which the select list names the window (TUMBLE(...) AS window).
  std::vector<std::string> window_aliases;
  std::string window_sql = window_expr ? window_expr->ToSql() : std::string("\x01");
  for (const auto& item : s.items) {
    if (!item.alias.empty() && item.expr->ToSql() == window_sql) {
      window_aliases.push_back(item.alias);
    }
  }
  // Aggregate calls of the select list and HAVING, each bound once.
  std::vector<exec::AggregateCall> calls;
  std::vector<std::string> call_sql;
  std::vector<BoundExprPtr> pre;  // the pre-aggregation projection: keys, then arguments
  for (const auto& k : keys) pre.push_back(k);
  if (window_column) pre.push_back(window_column);
  const auto& registry = expr::AggregateRegistry::Get();
  std::function<void(const Expr&)> collect = [&](const Expr& e) {
    if (e.kind == ExprKind::kFunction && !e.names.empty() && IsAggregateName(e.names.back()) &&
        !e.over && std::none_of(rel.columns.begin(), rel.columns.end(), [&](const ScopeColumn& c) {
          return c.name == e.ToSql();
        })) {
      std::string sql = e.ToSql();
      if (std::find(call_sql.begin(), call_sql.end(), sql) != call_sql.end()) return;
      for (const auto& a : e.args) {
        if (FindAggregate(*a)) FailUser(a->loc, "aggregate function calls cannot be nested");
      }
      expr::AggregateBindInput in;
      in.distinct = e.distinct;
      in.star = e.star_arg;
      in.retracting = retracting;
      std::vector<BoundExprPtr> args;
      for (const auto& a : e.args) {
        args.push_back(BindExpr(*a, rel.columns));
        in.types.push_back(args.back()->type);
        in.constants.push_back(args.back()->kind == BoundKind::kLiteral
                                   ? std::optional<Value>(args.back()->literal)
                                   : std::nullopt);
      }
      if (!registry.Contains(e.names.back())) {
        FailNotSupported(e.loc, "aggregate function {}() is not supported yet", e.names.back());
      }
      auto bound = registry.Bind(e.names.back(), in);
      if (!bound.ok()) Fail(e.loc, bound.status());
      exec::AggregateCall call;
      call.aggregate = bound.MoveValue();
      call.display = sql;
      for (size_t i = 0; i < args.size(); ++i) {
        call.arg_columns.push_back(static_cast<int>(pre.size()));
        pre.push_back(Cast(args[i], call.aggregate.arg_types[i], e.args[i]->loc, false));
      }
      if (e.filter) {
        call.filter_column = static_cast<int>(pre.size());
        pre.push_back(BindBool(*e.filter, rel.columns, "FILTER"));
      }
      calls.push_back(std::move(call));
      call_sql.push_back(sql);
      return;
    }
    if (e.over) return;
    for (const auto& a : e.args) {
      if (a) collect(*a);
    }
  };
  for (const auto& item : s.items) {
    if (item.expr->kind == ExprKind::kStar) {
      FailUser(item.expr->loc, "SELECT * cannot be used with GROUP BY; list the columns");
    }
    collect(*item.expr);
  }
  if (s.having) collect(*s.having);

  // Pre-aggregation projection and the window aggregate.
  std::vector<Field> pre_fields;
  for (size_t i = 0; i < pre.size(); ++i) {
    pre_fields.push_back(Field{fmt::format("__c{}", i), pre[i]->type, true});
  }
  PlanPtr input = MakeProject(updating ? rel.plan : WithLateRowsDropped(rel.plan), pre,
                              std::make_shared<types::Schema>(pre_fields));
  if (window && window->kind == exec::WindowSpec::Kind::kFromColumn) {
    window->column = static_cast<int>(keys.size());
  }
  std::vector<ScopeColumn> post;  // [__window,] __key0.., __agg0..
  if (window) post.push_back({"", "__window", exec::WindowStructType()});
  for (size_t k = 0; k < keys.size(); ++k) {
    post.push_back({"", fmt::format("__key{}", k), keys[k]->type});
  }
  for (size_t a = 0; a < calls.size(); ++a) {
    post.push_back({"", fmt::format("__agg{}", a), calls[a].aggregate.return_type});
  }
  PlanPtr agg;
  if (updating) {
    auto u = std::const_pointer_cast<LogicalPlan>(MakeUpdatingAggregate(
        input, static_cast<int>(keys.size()), calls, SchemaOf(post), FlushInterval()));
    u->ttl_micros = IntervalSetting("updating_ttl", kDefaultUpdatingTtl);
    agg = u;
  } else {
    agg = MakeWindowAggregate(input, *window, static_cast<int>(keys.size()), calls, SchemaOf(post));
  }

  // Rewrites an expression over the input into one over the aggregate's output.
  std::vector<std::string> key_sql;
  for (const Expr* k : key_exprs) key_sql.push_back(k->ToSql());
  std::function<ExprPtr(const ExprPtr&)> rewrite = [&](const ExprPtr& e) -> ExprPtr {
    if (!e) return e;
    std::string sql = e->ToSql();
    if (e->kind == ExprKind::kFunction && !e->over) {
      auto it = std::find(call_sql.begin(), call_sql.end(), sql);
      if (it != call_sql.end()) {
        return ColumnRefTo(fmt::format("__agg{}", it - call_sql.begin()), {}, e->loc);
      }
    }
    if (sql == window_sql) return ColumnRefTo("__window", {}, e->loc);
    for (size_t k = 0; k < key_sql.size(); ++k) {
      if (sql == key_sql[k]) return ColumnRefTo(fmt::format("__key{}", k), {}, e->loc);
    }
    if (e->kind == ExprKind::kColumnRef) {
      const auto& n = e->names;
      // window.start through an alias or the window column's name.
      for (const auto& alias : window_aliases) {
        if (n[0] == alias) return ColumnRefTo("__window", {n.begin() + 1, n.end()}, e->loc);
      }
      auto prefix_of = [&](const Expr* k) -> size_t {
        if (k->kind != ExprKind::kColumnRef) return 0;
        const auto& kn = k->names;
        if (kn.size() < n.size() && std::equal(kn.begin(), kn.end(), n.begin())) return kn.size();
        return 0;
      };
      if (tvf_grouped) {
        // window_start / window_end read the window's bounds.
        try {
          BoundExprPtr b = BindColumnRef(*e, rel.columns);
          if (b->kind == BoundKind::kColumn && b->column_index == rel.window->start_column) {
            return ColumnRefTo("__window", {"start"}, e->loc);
          }
          if (b->kind == BoundKind::kColumn && b->column_index == rel.window->end_column) {
            return ColumnRefTo("__window", {"end"}, e->loc);
          }
        } catch (const BindError&) {
        }
      }
      if (size_t p = window_expr ? prefix_of(window_expr) : 0) {
        return ColumnRefTo("__window", {n.begin() + static_cast<std::ptrdiff_t>(p), n.end()},
                           e->loc);
      }
      for (size_t k = 0; k < key_exprs.size(); ++k) {
        if (size_t p = prefix_of(key_exprs[k])) {
          return ColumnRefTo(fmt::format("__key{}", k),
                             {n.begin() + static_cast<std::ptrdiff_t>(p), n.end()}, e->loc);
        }
        // `page` for a key written `t.page`, and the reverse.
        const auto* kr = key_exprs[k];
        if (kr->kind == ExprKind::kColumnRef && n.size() == 1 && kr->names.size() == 2 &&
            kr->names[1] == n[0]) {
          return ColumnRefTo(fmt::format("__key{}", k), {}, e->loc);
        }
        if (kr->kind == ExprKind::kColumnRef && n.size() == 2 && kr->names.size() == 1 &&
            kr->names[0] == n[1]) {
          return ColumnRefTo(fmt::format("__key{}", k), {}, e->loc);
        }
      }
      if (n[0].rfind("__", 0) != 0) {
        FailUser(e->loc,
                 "column \"{}\" must appear in the GROUP BY clause or be used in an aggregate "
                 "function",
                 sql);
      }
      return e;
    }
    auto copy = std::make_shared<Expr>(*e);
    for (auto& a : copy->args) a = rewrite(a);
    return copy;
  };

  PlanPtr plan = agg;
  if (s.having) {
    ExprPtr having = rewrite(s.having);
    plan = MakeFilter(plan, BindBool(*having, post, "HAVING"));
  }
  std::vector<BoundExprPtr> exprs;
  std::vector<ScopeColumn> out_cols;
  for (const auto& item : s.items) {
    BoundExprPtr bound = BindExpr(*rewrite(item.expr), post);
    exprs.push_back(bound);
    std::string name = ColumnName(item, bound);
    ScopeColumn role_of;
    if (window) {
      post[0].role = TimeRole::kWindow;
      post[0].window = *window;
      CopyTimeRole(bound, post, &role_of);
    }
    if (item.alias.empty() && IsWindowCall(*item.expr)) name = "window";
    // Unaliased aggregates are named by their SQL (`count(*)`), as in Arroyo, so a query over
    // this one can refer to them by writing the same call.
    if (item.alias.empty() && item.expr->kind == ExprKind::kFunction &&
        IsAggregateName(item.expr->names.back())) {
      name = item.expr->ToSql();
    }
    out_cols.push_back({"", name, bound->type, role_of.role, role_of.window});
  }
  Relation out;
  out.plan = MakeProject(plan, std::move(exprs), SchemaOf(out_cols));
  out.columns = std::move(out_cols);
  return out;
}

// Reads TUMBLE(width), HOP(slide, width) or SESSION(gap); sizes are constant intervals.
exec::WindowSpec StatementBinder::BindWindow(const Expr& call,
                                             const std::vector<ScopeColumn>& scope) {
  const std::string& name = call.names.back();
  size_t want = name == "hop" ? 2 : 1;
  std::string upper = name == "tumble" ? "TUMBLE" : name == "hop" ? "HOP" : "SESSION";
  if (call.args.size() != want) {
    FailUser(call.loc, "{} takes {}", upper,
             name == "hop" ? "two intervals: HOP(slide, width)" : "one interval");
  }
  std::vector<int64_t> sizes;
  for (const auto& a : call.args) {
    BoundExprPtr b = BindExpr(*a, scope);
    if (b->kind != BoundKind::kLiteral || b->type.id() != TypeId::kInterval ||
        b->literal.is_null()) {
      FailUser(a->loc, "{} sizes must be constant intervals, like INTERVAL '1 minute'", upper);
    }
    const types::Interval& iv = b->literal.interval_value();
    if (iv.months != 0) {
      FailUser(a->loc,
               "{} cannot be sized in months or years (their length varies); use days or "
               "smaller units",
               upper);
    }
    int64_t us = iv.days * 86400000000LL + iv.micros;
    if (us <= 0) FailUser(a->loc, "{} sizes must be positive", upper);
    sizes.push_back(us);
  }
  exec::WindowSpec spec;
  if (name == "tumble") {
    spec.kind = exec::WindowSpec::Kind::kTumble;
    spec.width = sizes[0];
  } else if (name == "hop") {
    spec.kind = exec::WindowSpec::Kind::kHop;
    spec.slide = sizes[0];
    spec.width = sizes[1];
    if (spec.width % spec.slide != 0) {
      FailUser(call.loc,
               "HOP width ({}) must be a multiple of the slide ({}); the first argument is the "
               "slide, the second the width",
               types::FormatInterval({0, 0, spec.width}),
               types::FormatInterval({0, 0, spec.slide}));
    }
    if (spec.width == spec.slide) spec.kind = exec::WindowSpec::Kind::kTumble;
  } else {
    spec.kind = exec::WindowSpec::Kind::kSession;
    spec.gap = sizes[0];
  }
  return spec;
}

// ---------------------------------------------------------------- expressions

BoundExprPtr StatementBinder::Cast(BoundExprPtr e, const DataType& to, const Location& loc,
                                   bool try_cast) {
  if (e->type == to) return e;
  if (!expr::CanCast(e->type, to)) {
    FailUser(loc, "cannot cast type {} to {}", e->type.ToString(), to.ToString());
  }
  if (e->kind == BoundKind::kLiteral) {
    auto v = expr::CastValue(e->literal, to, try_cast);
    if (!v.ok()) Fail(loc, v.status());
    return expr::MakeLiteral(v.MoveValue());
  }
  return expr::MakeCast(std::move(e), to, try_cast);
}

BoundExprPtr StatementBinder::CastLiteralTo(const Expr& literal, const DataType& type) {
  auto v = expr::CastValue(Value::String(literal.text), type);
  if (!v.ok()) Fail(literal.loc, v.status());
  return expr::MakeLiteral(v.MoveValue());
}

BoundExprPtr StatementBinder::BindBool(const Expr& e, const std::vector<ScopeColumn>& scope,
                                       const char* ctx) {
  BoundExprPtr b = BindExpr(e, scope);
  if (b->type.id() == TypeId::kNull) return expr::MakeLiteral(Value::Null(types::Bool()));
  if (b->type.id() != TypeId::kBool) {
    FailUser(e.loc, "argument of {} must be BOOLEAN, not {}", ctx, b->type.ToString());
  }
  return b;
}

BoundExprPtr StatementBinder::BindCall(const std::string& name, std::vector<BoundExprPtr> args,
                                       const Location& loc) {
  expr::BindInput input;
  for (const auto& a : args) {
    input.types.push_back(a->type);
    input.constants.push_back(a->kind == BoundKind::kLiteral ? std::optional<Value>(a->literal)
                                                             : std::nullopt);
  }
  const auto& registry = expr::FunctionRegistry::Get();
  if (!registry.Contains(name)) {
    FailUser(loc, "function {}() does not exist{}", name, Hint(name, registry.Names()));
  }
  auto bound = registry.Bind(name, input);
  if (!bound.ok()) Fail(loc, bound.status());
  auto fn = std::make_shared<const expr::BoundFunction>(bound.MoveValue());
  for (size_t i = 0; i < args.size() && i < fn->arg_types.size(); ++i) {
    args[i] = Cast(args[i], fn->arg_types[i], loc, false);
  }
  return expr::MakeCall(std::move(fn), std::move(args));
}

BoundExprPtr StatementBinder::BindOperator(const std::string& fn, const Expr& left,
                                           const Expr& right, const std::vector<ScopeColumn>& scope,
                                           const Location& loc) {
  BoundExprPtr l = BindExpr(left, scope);
  BoundExprPtr r = BindExpr(right, scope);
  // An untyped string literal takes the type of the other side, as in PostgreSQL:
  // ts > '2023-01-01 00:00:00' compares timestamps.
  if (IsStringLiteral(right) && !l->type.is_string_like() && l->type.id() != TypeId::kNull &&
      fn != "||" && fn != "->" && fn != "->>") {
    r = CastLiteralTo(right, l->type);
  } else if (IsStringLiteral(left) && !r->type.is_string_like() && r->type.id() != TypeId::kNull &&
             fn != "||" && fn != "->" && fn != "->>") {
    l = CastLiteralTo(left, r->type);
  }
  // In a comparison, an integer literal takes the integer or decimal type of the other side
  // when it fits, so `small_col > 100` compares SMALLINTs instead of widening the column. (In
  // arithmetic it stays INT, as in PostgreSQL, so results keep PostgreSQL's types.)
  static const std::set<std::string> kComparisons = {
      "=", "<>", "<", "<=", ">", ">=", "is_distinct_from", "is_not_distinct_from"};
  auto adopt = [&](const Expr& lit_ast, BoundExprPtr& lit, const BoundExprPtr& other) {
    if (!kComparisons.count(fn)) return;
    if (lit_ast.kind != ExprKind::kLiteral || lit_ast.literal_kind != LiteralKind::kInteger) return;
    bool exact = other->type.is_integer() || other->type.id() == TypeId::kDecimal;
    if (!exact || lit->kind != BoundKind::kLiteral) return;
    auto v = expr::CastValue(lit->literal, other->type, true);
    if (v.ok() && !v->is_null()) lit = expr::MakeLiteral(v.MoveValue());
  };
  adopt(right, r, l);
  adopt(left, l, r);
  return BindCall(fn, {l, r}, loc);
}

BoundExprPtr StatementBinder::BindColumnRef(const Expr& e, const std::vector<ScopeColumn>& scope) {
  const auto& names = e.names;
  // Candidates: (qualifier.)column, then struct fields for the remaining parts.
  auto find = [&](const std::string& qualifier, const std::string& name, int* found) {
    int count = 0;
    for (size_t i = 0; i < scope.size(); ++i) {
      if (scope[i].name == name && (qualifier.empty() || scope[i].qualifier == qualifier)) {
        if (count == 0) *found = static_cast<int>(i);
        ++count;
      }
    }
    return count;
  };
  int idx = -1;
  size_t consumed = 0;
  if (names.size() >= 2 && find(names[0], names[1], &idx) == 1) {
    consumed = 2;
  } else {
    int count = find("", names[0], &idx);
    if (count > 1) FailUser(e.loc, "column reference \"{}\" is ambiguous", names[0]);
    if (count == 1) consumed = 1;
  }
  if (consumed == 0) {
    std::vector<std::string> candidates;
    for (const auto& c : scope) candidates.push_back(c.name);
    std::string full = names[0];
    if (names.size() >= 2) {
      bool qualifier_exists = false;
      for (const auto& c : scope) qualifier_exists |= c.qualifier == names[0];
      if (qualifier_exists) {
        FailUser(e.loc, "column \"{}.{}\" does not exist{}", names[0], names[1],
                 Hint(names[1], candidates));
      }
    }
    FailUser(e.loc, "column \"{}\" does not exist{}", full, Hint(full, candidates));
  }
  BoundExprPtr out = expr::MakeColumn(idx, scope[static_cast<size_t>(idx)].type);
  for (size_t i = consumed; i < names.size(); ++i) {
    if (out->type.id() != TypeId::kStruct) {
      FailUser(e.loc, "column \"{}\" is {}, not a struct: it has no field \"{}\"", names[i - 1],
               out->type.ToString(), names[i]);
    }
    int field = -1;
    const auto& fields = out->type.fields();
    for (size_t f = 0; f < fields.size(); ++f) {
      if (fields[f].name == names[i]) field = static_cast<int>(f);
    }
    if (field < 0) {
      std::vector<std::string> fnames;
      for (const auto& f : fields) fnames.push_back(f.name);
      FailUser(e.loc, "struct \"{}\" has no field \"{}\"{}", names[i - 1], names[i],
               Hint(names[i], fnames));
    }
    auto fa = std::make_shared<BoundExpr>();
    fa->kind = BoundKind::kFieldAccess;
    fa->type = fields[static_cast<size_t>(field)].type;
    fa->field_index = field;
    fa->args.push_back(out);
    out = fa;
  }
  return out;
}

BoundExprPtr StatementBinder::BindFunction(const Expr& e, const std::vector<ScopeColumn>& scope) {
  const std::string& name = e.names.back();
  // An unaliased aggregate of a subquery is named after its SQL (`count(*)`); the same call
  // written over that subquery's output reads the column, as in Arroyo.
  if (IsAggregateName(name) && !e.over) {
    std::string sql = e.ToSql();
    for (size_t i = 0; i < scope.size(); ++i) {
      if (scope[i].name == sql) return expr::MakeColumn(static_cast<int>(i), scope[i].type);
    }
  }
  if (e.over) {
    FailNotSupported(e.loc, "window function {}() OVER (...) is not supported yet", name);
  }
  if (WindowFunctionNames().count(name)) {
    FailUser(e.loc, "window function {}() requires an OVER clause", name);
  }
  if (IsAggregateName(name)) {
    FailUser(e.loc,
             "aggregate function {}() is not allowed here; aggregates belong in the select list "
             "or HAVING of a GROUP BY query",
             name);
  }
  if (name == "tumble" || name == "hop" || name == "session") {
    FailUser(e.loc, "window function {}() must appear in GROUP BY", name);
  }
  if (name == "unnest") FailNotSupported(e.loc, "UNNEST is not supported yet");
  if (e.distinct || e.filter || e.star_arg) {
    FailUser(e.loc, "DISTINCT, FILTER and * are only allowed in aggregate functions");
  }
  if (name == "row_time") {
    if (!e.args.empty()) FailUser(e.loc, "row_time() takes no arguments");
    auto t = std::make_shared<BoundExpr>();
    t->kind = BoundKind::kEventTime;
    t->type = types::Timestamp();
    return t;
  }
  std::vector<BoundExprPtr> args;
  for (const auto& a : e.args) args.push_back(BindExpr(*a, scope));
  return BindCall(name, std::move(args), e.loc);
}

BoundExprPtr StatementBinder::BindExpr(const Expr& e, const std::vector<ScopeColumn>& scope) {
  if (++depth_ > 256) FailUser(e.loc, "expression is nested too deeply");
  struct DepthGuard {
    int* d;
    ~DepthGuard() { --*d; }
  } guard{&depth_};
  switch (e.kind) {
    case ExprKind::kLiteral:
      switch (e.literal_kind) {
        case LiteralKind::kNull:
          return expr::MakeLiteral(Value());
        case LiteralKind::kBool:
          return expr::MakeLiteral(Value::Boolean(e.bool_value));
        case LiteralKind::kString:
          return expr::MakeLiteral(Value::String(e.text));
        case LiteralKind::kInteger: {
          auto v = expr::CastValue(Value::String(e.text), types::Int64(), true);
          if (v.ok() && !v->is_null()) {
            int64_t x = v->int_value();
            if (x >= INT32_MIN && x <= INT32_MAX)
              return expr::MakeLiteral(Value::Int(types::Int32(), x));
            return expr::MakeLiteral(*v);
          }
          auto d = expr::CastValue(Value::String(e.text), DataType::Decimal(38, 0), true);
          if (d.ok() && !d->is_null()) return expr::MakeLiteral(*d);
          FailUser(e.loc, "integer literal {} is too large", e.text);
        }
        case LiteralKind::kDecimal: {
          bool exponent = e.text.find_first_of("eE") != std::string::npos;
          if (!exponent) {
            size_t dot = e.text.find('.');
            int scale = dot == std::string::npos ? 0 : static_cast<int>(e.text.size() - dot - 1);
            int digits = 0;
            for (char c : e.text) digits += (c >= '0' && c <= '9');
            int precision = std::max(digits, scale);
            if (precision <= 38) {
              auto v = expr::CastValue(Value::String(e.text),
                                       DataType::Decimal(std::max(precision, 1), scale));
              if (v.ok()) return expr::MakeLiteral(v.MoveValue());
            }
          }
          auto v = expr::CastValue(Value::String(e.text), types::Float64());
          if (!v.ok()) Fail(e.loc, v.status());
          return expr::MakeLiteral(v.MoveValue());
        }
        case LiteralKind::kTyped: {
          DataType t = ResolveType(*e.cast_type);
          return CastLiteralTo(e, t);
        }
      }
      break;
    case ExprKind::kInterval: {
      std::string text = e.unit.empty() ? e.text : e.text + " " + e.unit;
      auto iv = expr::ParseInterval(text);
      if (!iv.ok()) Fail(e.loc, iv.status());
      return expr::MakeLiteral(Value::IntervalValue(*iv));
    }
    case ExprKind::kColumnRef:
      return BindColumnRef(e, scope);
    case ExprKind::kStar:
      FailUser(e.loc, "* is only allowed in the select list or count(*)");
    case ExprKind::kUnary: {
      if (e.op == "not") {
        return expr::MakeLogical(BoundKind::kNot, {BindBool(*e.args[0], scope, "NOT")});
      }
      BoundExprPtr a = BindExpr(*e.args[0], scope);
      if (e.op == "+") return a;
      if (e.op == "-") return BindCall("neg", {a}, e.loc);
      FailUser(e.loc, "operator does not exist: {} {}", e.op, a->type.ToString());
    }
    case ExprKind::kBinary: {
      if (e.op == "and" || e.op == "or") {
        const char* ctx = e.op == "and" ? "AND" : "OR";
        return expr::MakeLogical(
            e.op == "and" ? BoundKind::kAnd : BoundKind::kOr,
            {BindBool(*e.args[0], scope, ctx), BindBool(*e.args[1], scope, ctx)});
      }
      std::string op = e.op == "!=" ? "<>" : e.op;
      return BindOperator(op, *e.args[0], *e.args[1], scope, e.loc);
    }
    case ExprKind::kIsNull: {
      auto n = std::make_shared<BoundExpr>();
      n->kind = BoundKind::kIsNull;
      n->type = types::Bool();
      n->negated = e.negated;
      n->args.push_back(BindExpr(*e.args[0], scope));
      return n;
    }
    case ExprKind::kIsBool: {
      BoundExprPtr a = BindExpr(*e.args[0], scope);
      BoundExprPtr t = BindCall("is_" + e.op, {a}, e.loc);
      return e.negated ? expr::MakeLogical(BoundKind::kNot, {t}) : t;
    }
    case ExprKind::kIsDistinctFrom:
      return BindOperator(e.negated ? "is_not_distinct_from" : "is_distinct_from", *e.args[0],
                          *e.args[1], scope, e.loc);
    case ExprKind::kBetween: {
      BoundExprPtr lo = BindOperator(">=", *e.args[0], *e.args[1], scope, e.loc);
      BoundExprPtr hi = BindOperator("<=", *e.args[0], *e.args[2], scope, e.loc);
      BoundExprPtr both = expr::MakeLogical(BoundKind::kAnd, {lo, hi});
      return e.negated ? expr::MakeLogical(BoundKind::kNot, {both}) : both;
    }
    case ExprKind::kInList: {
      BoundExprPtr acc;
      for (size_t i = 1; i < e.args.size(); ++i) {
        BoundExprPtr eq = BindOperator("=", *e.args[0], *e.args[i], scope, e.loc);
        acc = acc ? expr::MakeLogical(BoundKind::kOr, {acc, eq}) : eq;
      }
      if (!acc) FailUser(e.loc, "IN needs at least one value");
      return e.negated ? expr::MakeLogical(BoundKind::kNot, {acc}) : acc;
    }
    case ExprKind::kLike: {
      std::vector<BoundExprPtr> args;
      for (const auto& a : e.args) args.push_back(BindExpr(*a, scope));
      BoundExprPtr like = BindCall(e.case_insensitive ? "ilike" : "like", std::move(args), e.loc);
      return e.negated ? expr::MakeLogical(BoundKind::kNot, {like}) : like;
    }
    case ExprKind::kSimilarTo:
      FailNotSupported(e.loc, "SIMILAR TO is not supported; use regexp_like()");
    case ExprKind::kCast: {
      DataType t = ResolveType(*e.cast_type);
      if (IsStringLiteral(*e.args[0]) && !e.try_cast) return CastLiteralTo(*e.args[0], t);
      return Cast(BindExpr(*e.args[0], scope), t, e.loc, e.try_cast);
    }
    case ExprKind::kCase: {
      size_t i = 0;
      const Expr* operand = e.has_operand ? e.args[i++].get() : nullptr;
      size_t end = e.args.size() - (e.has_else ? 1 : 0);
      std::vector<BoundExprPtr> conds, values;
      for (; i + 1 < end + 1 && i < end; i += 2) {
        if (operand) {
          conds.push_back(BindOperator("=", *operand, *e.args[i], scope, e.args[i]->loc));
        } else {
          conds.push_back(BindBool(*e.args[i], scope, "CASE WHEN"));
        }
        values.push_back(BindExpr(*e.args[i + 1], scope));
      }
      if (e.has_else) values.push_back(BindExpr(*e.args.back(), scope));
      DataType t(TypeId::kNull);
      for (const auto& v : values) {
        auto common = expr::CommonSuperType(t, v->type);
        if (!common.ok()) {
          FailUser(e.loc, "CASE types {} and {} cannot be matched", t.ToString(),
                   v->type.ToString());
        }
        t = *common;
      }
      if (t.id() == TypeId::kNull) t = types::Utf8();
      auto c = std::make_shared<BoundExpr>();
      c->kind = BoundKind::kCase;
      c->type = t;
      c->has_else = e.has_else;
      for (size_t k = 0; k < conds.size(); ++k) {
        c->args.push_back(conds[k]);
        c->args.push_back(Cast(values[k], t, e.loc, false));
      }
      if (e.has_else) c->args.push_back(Cast(values.back(), t, e.loc, false));
      return c;
    }
    case ExprKind::kFunction:
      return BindFunction(e, scope);
    case ExprKind::kSubscript: {
      BoundExprPtr base = BindExpr(*e.args[0], scope);
      if (base->type.id() == TypeId::kJson)
        return BindCall("->", {base, BindExpr(*e.args[1], scope)}, e.loc);
      if (base->type.id() != TypeId::kList) {
        FailUser(e.loc, "cannot subscript type {}: it is not an array", base->type.ToString());
      }
      BoundExprPtr index = Cast(BindExpr(*e.args[1], scope), types::Int64(), e.args[1]->loc, false);
      auto s = std::make_shared<BoundExpr>();
      s->kind = BoundKind::kSubscript;
      s->type = base->type.element();
      s->args = {base, index};
      return s;
    }
    case ExprKind::kFieldAccess: {
      BoundExprPtr base = BindExpr(*e.args[0], scope);
      if (base->type.id() != TypeId::kStruct) {
        FailUser(e.loc, "type {} is not a struct: it has no field \"{}\"", base->type.ToString(),
                 e.text);
      }
      const auto& fields = base->type.fields();
      for (size_t f = 0; f < fields.size(); ++f) {
        if (fields[f].name == e.text) {
          auto fa = std::make_shared<BoundExpr>();
          fa->kind = BoundKind::kFieldAccess;
          fa->type = fields[f].type;
          fa->field_index = static_cast<int>(f);
          fa->args.push_back(base);
          return fa;
        }
      }
      FailUser(e.loc, "struct has no field \"{}\"", e.text);
    }
    case ExprKind::kArray: {
      std::vector<BoundExprPtr> args;
      for (const auto& a : e.args) args.push_back(BindExpr(*a, scope));
      return BindCall("make_array", std::move(args), e.loc);
    }
    case ExprKind::kRow:
      FailNotSupported(e.loc, "ROW(...) constructors are not supported yet");
    case ExprKind::kSubquery:
      FailNotSupported(e.loc, "subqueries in expressions are not supported yet");
  }
  FailUser(e.loc, "unsupported expression");
}

// ---------------------------------------------------------------- Binder

Status Binder::BindStatement(const Statement& stmt, int index) {
  StatementBinder sb(this);
  try {
    sb.Bind(stmt);
  } catch (const BindError& err) {
    std::string msg =
        fmt::format("line {}, column {}: {}\n  in statement {}: {}", err.loc.line, err.loc.column,
                    err.status.message(), index, Truncate(stmt.text, 100));
    return Status(err.status.kind(), msg);
  }
  return Status::Ok();
}

Result<PipelinePlan> Binder::Finish() {
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
