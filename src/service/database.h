#pragma once
// The metadata store's connection to its database: SQLite (embedded, the default) or
// PostgreSQL (libpq), behind one small interface. Statements use PostgreSQL's `$1, $2, ...`
// placeholders, which SQLite also accepts, and parameters are passed as text (NULL as nullopt),
// so one SQL text serves both databases.
//
// Threading: a Database serializes its calls (one connection, one mutex); Transaction holds
// the lock from Begin to Commit/Rollback.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::service {

using Param = std::optional<std::string>;
using Row = std::vector<std::optional<std::string>>;

class Database {
 public:
  virtual ~Database() = default;
  // "sqlite" or "postgresql".
  virtual std::string dialect() const = 0;
  // Where it is, without secrets (for logs).
  virtual std::string description() const = 0;
  // Runs one or more statements without parameters (migrations).
  virtual Status ExecScript(std::string_view sql) = 0;
  // Runs one statement; returns the rows (empty for statements that return none).
  virtual Result<std::vector<Row>> Query(std::string_view sql,
                                         const std::vector<Param>& params) = 0;
  // Runs one statement; returns the number of rows it changed.
  virtual Result<int64_t> Exec(std::string_view sql, const std::vector<Param>& params) = 0;
  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
};

// Opens `url`: `sqlite:PATH` (created when missing), `postgresql://...` or `postgres://...`
// (any libpq connection URI).
Result<std::unique_ptr<Database>> OpenDatabase(const std::string& url);

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path);
Result<std::unique_ptr<Database>> OpenPostgres(const std::string& conninfo);

}  // namespace sluice::service
