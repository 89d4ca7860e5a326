// Memory tables, as in Arroyo: CREATE TABLE t (columns) without WITH is a named table inside
// the pipeline. INSERT INTO t SELECT ... fills it (several INSERTs: their rows unioned) and
// queries read it, before or after those INSERTs in the file: a statement that reads a memory
// table is bound at the end, once every statement writing it is bound. Reading t is the union
// of the plans written into it, cast to its declared columns; no operator of its own.

#include <set>

#include <fmt/format.h>

#include "sql/binder/binder_internal.h"

namespace sluice::sql {

void StatementBinder::BindCreateMemoryTable(const Statement& stmt) {
  const char* connector_hint =
      "; declare a connector table with WITH (connector = '...', ...) for that (see "
      "docs/connectors.md)";
  if (!stmt.has_column_list || stmt.columns.empty()) {
    FailUser(stmt.loc,
             "CREATE TABLE \"{}\" needs columns (a memory table), WITH (connector = '...', ...) "
             "(a connector table, see docs/connectors.md) or AS SELECT",
             stmt.name);
  }
  if (!stmt.watermark_column.empty()) {
    FailUser(stmt.watermark_loc,
             "memory table \"{}\" cannot declare a WATERMARK: its rows keep the event times "
             "and watermarks of the queries that write it{}",
             stmt.name, connector_hint);
  }
  if (!stmt.partitioned_by.empty()) {
    FailUser(stmt.loc, "memory table \"{}\" cannot be PARTITIONED BY{}", stmt.name, connector_hint);
  }
  if (!stmt.primary_key.empty()) {
    FailUser(stmt.loc, "memory table \"{}\" cannot declare a PRIMARY KEY{}", stmt.name,
             connector_hint);
  }
  CatalogEntry entry;
  entry.kind = CatalogEntry::Kind::kMemoryTable;
  entry.name = stmt.name;
  entry.loc = stmt.loc;
  std::set<std::string> seen;
  for (const auto& c : stmt.columns) {
    if (!seen.insert(c.name).second) FailUser(c.loc, "column \"{}\" is declared twice", c.name);
    if (c.generated || c.has_metadata || c.primary_key) {
      FailUser(c.loc,
               "column \"{}\" of memory table \"{}\" is {}: a memory table holds the rows "
               "inserted into it{}",
               c.name, stmt.name,
               c.generated      ? "generated"
               : c.has_metadata ? "a METADATA column"
                                : "a PRIMARY KEY",
               connector_hint);
    }
    entry.columns.push_back(DeclaredColumn{c.name, ResolveType(c.type), nullptr});
  }
  b_->catalog_.Add(std::move(entry));
}

void StatementBinder::BindInsertMemoryTable(const Statement& stmt, const CatalogEntry& entry) {
  b_->writing_ = stmt.name;
  struct Reset {
    std::string* s;
    ~Reset() { s->clear(); }
  } reset{&b_->writing_};
  Relation rel = BindQuery(*stmt.query);
  std::vector<DataType> types;
  std::vector<std::string> names;
  for (const auto& c : entry.columns) {
    types.push_back(c.type);
    names.push_back(c.name);
  }
  PlanPtr plan =
      CoerceTo(rel, types, names, stmt.query->loc, fmt::format("memory table \"{}\"", stmt.name));
  b_->memory_writes_[stmt.name].push_back(plan);
}

Relation StatementBinder::ReadMemoryTable(const CatalogEntry& entry, const std::string& qualifier,
                                          const Location& loc) {
  if (entry.name == b_->writing_) {
    FailUser(loc,
             "INSERT INTO {} reads memory table \"{}\" (directly or through a view): a memory "
             "table cannot feed itself",
             entry.name, entry.name);
  }
  // Every writer must be bound first; until Finish, later statements may still write it.
  if (!b_->finishing_ || b_->IsPending(entry.name)) throw DeferBinding{entry.name};
  auto it = b_->memory_writes_.find(entry.name);
  if (it == b_->memory_writes_.end() || it->second.empty()) {
    FailUser(loc,
             "memory table \"{}\" is read, but nothing writes it: add INSERT INTO {} SELECT ... "
             "(a table with a connector needs WITH (connector = '...', ...))",
             entry.name, entry.name);
  }
  const std::vector<PlanPtr>& writes = it->second;
  Relation rel;
  rel.plan = writes.size() == 1 ? writes[0] : MakeUnion(writes);
  for (const auto& c : entry.columns) rel.columns.push_back({qualifier, c.name, c.type});
  return rel;
}

bool Binder::IsPending(const std::string& name) const {
  for (const auto& d : deferred_) {
    bool declares = d.stmt.kind == StatementKind::kInsert ||
                    d.stmt.kind == StatementKind::kCreateView ||
                    d.stmt.kind == StatementKind::kCreateTable;
    if (declares && d.stmt.name == name) return true;
  }
  return false;
}

// Binds the deferred statements in passes, in file order, until none is left. A pass that
// binds none means the statements left wait for each other: memory tables in a cycle.
Status Binder::BindDeferred() {
  finishing_ = true;
  bool progress = true;
  while (!deferred_.empty() && progress) {
    progress = false;
    for (size_t i = 0; i < deferred_.size();) {
      Deferred d = deferred_[i];
      deferred_.erase(deferred_.begin() + static_cast<std::ptrdiff_t>(i));
      size_t before = deferred_.size();
      std::swap(settings_, d.settings);
      std::swap(functions_, d.functions);
      Status status = BindStatement(d.stmt, d.index);
      std::swap(settings_, d.settings);
      std::swap(functions_, d.functions);
      SLUICE_RETURN_NOT_OK(status);
      if (deferred_.size() > before) {
        // Still waiting: back to its place.
        Deferred again = std::move(deferred_.back());
        deferred_.pop_back();
        deferred_.insert(deferred_.begin() + static_cast<std::ptrdiff_t>(i), std::move(again));
        ++i;
      } else {
        progress = true;
      }
    }
  }
  if (deferred_.empty()) return Status::Ok();
  // Follow what each statement waits for until a name repeats: that is the cycle.
  std::vector<std::string> chain;
  std::vector<const Deferred*> statements;
  std::string name = deferred_[0].waits_for;
  while (std::find(chain.begin(), chain.end(), name) == chain.end()) {
    chain.push_back(name);
    auto writer = std::find_if(deferred_.begin(), deferred_.end(), [&](const Deferred& d) {
      return d.stmt.name == name && d.stmt.kind != StatementKind::kSelect;
    });
    if (writer == deferred_.end()) break;
    statements.push_back(&*writer);
    name = writer->waits_for;
  }
  auto start = std::find(chain.begin(), chain.end(), name);
  std::vector<std::string> steps;
  for (auto it = start; it != chain.end(); ++it) {
    size_t k = static_cast<size_t>(it - chain.begin());
    if (k >= statements.size()) break;
    std::string next = k + 1 < chain.size() ? chain[k + 1] : name;
    bool insert = statements[k]->stmt.kind == StatementKind::kInsert;
    steps.push_back(fmt::format("statement {} ({} \"{}\") reads \"{}\"", statements[k]->index,
                                insert ? "writing" : "declaring", *it, next));
  }
  return Status::User(
      "memory tables and views read each other in a cycle: {}; a memory table cannot feed "
      "itself",
      fmt::format("{}", fmt::join(steps, ", ")));
}

}  // namespace sluice::sql
