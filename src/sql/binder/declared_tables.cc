#include "sql/binder/declared_tables.h"

#include <algorithm>

#include "sql/binder/binder.h"
#include "sql/parser/parser.h"

namespace sluice::sql {

std::vector<DeclaredTable> DeclaredTables(std::string_view sql) {
  auto statements = ParseSql(sql);
  if (!statements.ok()) return {};
  Binder binder(sql);
  int index = 0;
  bool all_bound = true;
  for (const auto& stmt : *statements) {
    if (!binder.BindStatement(stmt, ++index).ok()) {
      all_bound = false;
      break;
    }
  }
  // Statements that read a memory table are bound last, by Finish; its errors are the
  // validation's to report, not the catalog's.
  if (all_bound) (void)binder.Finish();
  const Catalog& catalog = binder.catalog();
  std::vector<const CatalogEntry*> entries;
  for (const auto& name : catalog.Names()) entries.push_back(catalog.Find(name));
  // Declaration order: by the position of the statement that declared each.
  std::stable_sort(entries.begin(), entries.end(), [](const auto* a, const auto* b) {
    return std::pair(a->loc.line, a->loc.column) < std::pair(b->loc.line, b->loc.column);
  });
  std::vector<DeclaredTable> out;
  for (const CatalogEntry* e : entries) {
    DeclaredTable t;
    t.name = e->name;
    switch (e->kind) {
      case CatalogEntry::Kind::kConnectorTable:
        t.kind = e->table->type == connectors::TableType::kSink ? "sink" : "source";
        t.connector = e->table->connector;
        break;
      case CatalogEntry::Kind::kView:
        t.kind = "view";
        break;
      case CatalogEntry::Kind::kMemoryTable:
        t.kind = "memory";
        break;
    }
    if (!e->columns.empty()) {
      for (const auto& c : e->columns) {
        t.columns.push_back({c.name, c.type_from_expr ? std::string() : c.type.ToString()});
      }
    } else if (e->table) {
      // Connectors with fixed columns (impulse, nexmark) fill the schema themselves.
      for (const auto& f : e->table->schema.fields()) {
        t.columns.push_back({f.name, f.type.ToString()});
      }
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace sluice::sql
