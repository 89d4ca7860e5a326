// The SQLite metadata database (embedded; the default of `sluice serve`).

#include <sqlite3.h>

#include <mutex>

#include "service/database.h"

namespace sluice::service {

namespace {

class SqliteDatabase : public Database {
 public:
  SqliteDatabase(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
  ~SqliteDatabase() override { sqlite3_close_v2(db_); }

  std::string dialect() const override { return "sqlite"; }
  std::string description() const override { return "sqlite:" + path_; }

  Status ExecScript(std::string_view sql) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    char* err = nullptr;
    std::string text(sql);
    if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string message = err ? err : sqlite3_errmsg(db_);
      sqlite3_free(err);
      return Status::Io("metadata database {}: {}", description(), message);
    }
    return Status::Ok();
  }

  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Param>& params) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    std::vector<Row> rows;
    SLUICE_RETURN_NOT_OK(Run(sql, params, &rows));
    return rows;
  }

  Result<int64_t> Exec(std::string_view sql, const std::vector<Param>& params) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    SLUICE_RETURN_NOT_OK(Run(sql, params, nullptr));
    return static_cast<int64_t>(sqlite3_changes(db_));
  }

  Status Begin() override {
    mu_.lock();
    Status st = ExecScript("BEGIN IMMEDIATE");
    if (!st.ok()) mu_.unlock();
    return st;
  }
  Status Commit() override {
    Status st = ExecScript("COMMIT");
    if (!st.ok()) (void)ExecScript("ROLLBACK");
    mu_.unlock();
    return st;
  }
  void Rollback() override {
    (void)ExecScript("ROLLBACK");
    mu_.unlock();
  }

 private:
  Status Error(const char* what) {
    return Status::Io("metadata database {}: {}: {}", description(), what, sqlite3_errmsg(db_));
  }

  Status Run(std::string_view sql, const std::vector<Param>& params, std::vector<Row>* rows) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK) {
      return Error("prepare");
    }
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> guard(stmt, sqlite3_finalize);
    for (size_t i = 0; i < params.size(); ++i) {
      std::string name = "$" + std::to_string(i + 1);
      int index = sqlite3_bind_parameter_index(stmt, name.c_str());
      if (index == 0) continue;  // not used by this statement
      int rc = params[i] ? sqlite3_bind_text(stmt, index, params[i]->data(),
                                             static_cast<int>(params[i]->size()), SQLITE_TRANSIENT)
                         : sqlite3_bind_null(stmt, index);
      if (rc != SQLITE_OK) return Error("bind");
    }
    while (true) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) return Status::Ok();
      if (rc != SQLITE_ROW) return Error("step");
      if (rows == nullptr) continue;
      Row row;
      int n = sqlite3_column_count(stmt);
      for (int c = 0; c < n; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          row.emplace_back(std::nullopt);
        } else {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          row.emplace_back(std::string(text, static_cast<size_t>(sqlite3_column_bytes(stmt, c))));
        }
      }
      rows->push_back(std::move(row));
    }
  }

  sqlite3* db_;
  std::string path_;
  std::recursive_mutex mu_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenSqlite(const std::string& path) {
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Status::Io("cannot open the metadata database sqlite:{}: {}", path, message);
  }
  sqlite3_busy_timeout(db, 5000);
  auto out = std::make_unique<SqliteDatabase>(db, path);
  // WAL: readers do not block the writer; synchronous=FULL: a committed transition survives a
  // power loss. Foreign keys cascade the deletion of a pipeline to its jobs and their rows.
  SLUICE_RETURN_NOT_OK(
      out->ExecScript("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"));
  return std::unique_ptr<Database>(std::move(out));
}

}  // namespace sluice::service
