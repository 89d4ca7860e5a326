// Statements: CREATE TABLE (connector tables, their columns, event time and watermark), CREATE
// VIEW, INSERT INTO, a bare SELECT and SET.

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
    BindCreateMemoryTable(stmt);
    return;
  }
  if (!stmt.partitioned_by.empty()) {
    FailNotSupported(stmt.loc, "PARTITIONED BY is not supported yet");
  }
  CatalogEntry entry;
  entry.kind = CatalogEntry::Kind::kConnectorTable;
  entry.name = stmt.name;
  entry.loc = stmt.loc;
  std::vector<Field> physical;
  std::map<std::string, std::string> metadata;  // metadata column -> key
  std::set<std::string> seen;
  for (const auto& c : stmt.columns) {
    if (!seen.insert(c.name).second) FailUser(c.loc, "column \"{}\" is declared twice", c.name);
    // `name AS expr` is typed once its expression is bound (below); TIMESTAMP until then.
    DataType t = c.type_from_expr ? types::Timestamp() : ResolveType(c.type);
    if (c.has_metadata) metadata[c.name] = c.metadata_key;  // the connector checks it
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
  auto spec = connectors::ResolveTable(stmt.name, types::Schema(physical), stmt.has_column_list,
                                       options, metadata);
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
  if (table.type == connectors::TableType::kSource && table.changelog &&
      table.primary_key.empty()) {
    FailUser(stmt.loc,
             "a {} source needs the PRIMARY KEY of the table whose changes it reads: the key "
             "identifies the row each change applies to; add PRIMARY KEY (col) to CREATE TABLE {}",
             table.connector, stmt.name);
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
  if (entry->kind == CatalogEntry::Kind::kMemoryTable) {
    BindInsertMemoryTable(stmt, *entry);
    return;
  }
  if (entry->kind != CatalogEntry::Kind::kConnectorTable ||
      entry->table->type != connectors::TableType::kSink) {
    FailUser(stmt.name_loc,
             "cannot INSERT INTO \"{}\": it is not a sink table (type = 'sink') or a "
             "memory table",
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

  // A blackhole discards whatever it gets, changes included; a sink that applies changes by key
  // (changelog: redis strings and hashes) takes them whatever its format.
  if (plan->updating() && entry->table->format.format != "debezium_json" &&
      entry->table->connector != "blackhole" && !entry->table->changelog) {
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

}  // namespace sluice::sql
