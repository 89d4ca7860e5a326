#pragma once
// The tables a SQL text declares, with their columns: the catalog the web console shows beside
// its editor and completes from (docs/console.md). Statements are bound in order up to the
// first error, so a query still being typed lists the tables declared above the mistake.
//
// Threading: a pure function of its input; any thread.

#include <string>
#include <string_view>
#include <vector>

namespace sluice::sql {

struct DeclaredTableColumn {
  std::string name;
  std::string type;  // as SQL spells it: BIGINT, TIMESTAMP, DECIMAL(10, 2), ...
};

struct DeclaredTable {
  std::string name;
  std::string kind;                          // source, sink, view, memory
  std::string connector;                     // empty for views and memory tables
  std::vector<DeclaredTableColumn> columns;  // empty when only the query fixes them
};

// In the order the text declares them.
std::vector<DeclaredTable> DeclaredTables(std::string_view sql);

}  // namespace sluice::sql
