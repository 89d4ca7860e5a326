#pragma once
// What the statements of one SQL file have declared so far: connector tables and views.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/connector.h"
#include "sql/parser/ast.h"

namespace sluice::sql {

// A column of a connector table as declared, including generated columns.
struct DeclaredColumn {
  std::string name;
  types::DataType type;
  ExprPtr generated;            // GENERATED ALWAYS AS (expr): computed from the physical columns
  bool type_from_expr = false;  // `name AS expr`: typed by its expression when bound
};

struct CatalogEntry {
  // kMemoryTable: CREATE TABLE t (columns) without WITH, filled by INSERT INTO t and read by
  // later queries (its `columns` are the declared ones).
  enum class Kind { kConnectorTable, kView, kMemoryTable } kind;
  std::string name;
  Location loc;
  // kConnectorTable
  std::shared_ptr<connectors::TableSpec> table;  // physical columns only
  std::vector<DeclaredColumn> columns;           // declared order, generated ones included
  bool schema_inferred = false;                  // sink declared without a column list
  std::string event_time_column;                 // WATERMARK FOR / event_time_field
  ExprPtr watermark_expr;                        // AS expr / watermark_field
  std::optional<int64_t> idle_micros;
  // A column `name AS PROCTIME()`: the table's time attribute is processing time (the rows are
  // stamped with the wall clock as they are read; the watermark follows the wall clock).
  std::string processing_time_column;
  // kView (CREATE VIEW, CREATE TABLE AS)
  QueryPtr query;
};

class Catalog {
 public:
  // Names are case-insensitive (already folded by the parser unless quoted).
  const CatalogEntry* Find(const std::string& name) const;
  CatalogEntry* FindMutable(const std::string& name);
  bool Add(CatalogEntry entry);  // false when the name exists
  std::vector<std::string> Names() const;

 private:
  std::map<std::string, CatalogEntry> entries_;
};

}  // namespace sluice::sql
