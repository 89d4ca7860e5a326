// The PostgreSQL metadata database (libpq): the production store of `sluice serve`.

#include <libpq-fe.h>

#include <mutex>

#include "service/database.h"

namespace sluice::service {

namespace {

// The connection URI without its password, for messages.
std::string Redact(const std::string& url) {
  auto scheme = url.find("://");
  auto at = url.find('@');
  if (scheme == std::string::npos || at == std::string::npos) return url;
  auto colon = url.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return url;
  return url.substr(0, colon) + ":***" + url.substr(at);
}

class PostgresDatabase : public Database {
 public:
  PostgresDatabase(PGconn* conn, std::string url) : conn_(conn), url_(std::move(url)) {}
  ~PostgresDatabase() override { PQfinish(conn_); }

  std::string dialect() const override { return "postgresql"; }
  std::string description() const override { return Redact(url_); }

  Status ExecScript(std::string_view sql) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    std::string text(sql);
    return Check(PQexec(conn_, text.c_str()), nullptr, nullptr);
  }

  Result<std::vector<Row>> Query(std::string_view sql, const std::vector<Param>& params) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    std::vector<Row> rows;
    SLUICE_RETURN_NOT_OK(Check(Run(sql, params), &rows, nullptr));
    return rows;
  }

  Result<int64_t> Exec(std::string_view sql, const std::vector<Param>& params) override {
    std::lock_guard<std::recursive_mutex> lock(mu_);
    int64_t changed = 0;
    SLUICE_RETURN_NOT_OK(Check(Run(sql, params), nullptr, &changed));
    return changed;
  }

  Status Begin() override {
    mu_.lock();
    Status st = ExecScript("BEGIN");
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
  PGresult* Run(std::string_view sql, const std::vector<Param>& params) {
    // A broken connection (the server restarted) is reset once before the statement.
    if (PQstatus(conn_) != CONNECTION_OK) PQreset(conn_);
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    std::string text(sql);
    return PQexecParams(conn_, text.c_str(), static_cast<int>(values.size()), nullptr,
                        values.data(), nullptr, nullptr, 0);
  }

  Status Check(PGresult* res, std::vector<Row>* rows, int64_t* changed) {
    std::unique_ptr<PGresult, void (*)(PGresult*)> guard(res, PQclear);
    if (res == nullptr) {
      return Status::Io("metadata database {}: {}", description(), PQerrorMessage(conn_));
    }
    ExecStatusType st = PQresultStatus(res);
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      std::string message = PQresultErrorMessage(res);
      while (!message.empty() && message.back() == '\n') message.pop_back();
      return Status::Io("metadata database {}: {}", description(), message);
    }
    if (rows != nullptr && st == PGRES_TUPLES_OK) {
      int n = PQntuples(res);
      int cols = PQnfields(res);
      for (int r = 0; r < n; ++r) {
        Row row;
        for (int c = 0; c < cols; ++c) {
          if (PQgetisnull(res, r, c)) {
            row.emplace_back(std::nullopt);
          } else {
            row.emplace_back(
                std::string(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c))));
          }
        }
        rows->push_back(std::move(row));
      }
    }
    if (changed != nullptr) {
      const char* tuples = PQcmdTuples(res);
      *changed = (tuples && *tuples) ? std::stoll(tuples) : 0;
    }
    return Status::Ok();
  }

  PGconn* conn_;
  std::string url_;
  std::recursive_mutex mu_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenPostgres(const std::string& url) {
  PGconn* conn = PQconnectdb(url.c_str());
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
    std::string message = conn ? PQerrorMessage(conn) : "out of memory";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    PQfinish(conn);
    return Status::Io("cannot connect to the metadata database {}: {}", Redact(url), message);
  }
  auto out = std::make_unique<PostgresDatabase>(conn, url);
  SLUICE_RETURN_NOT_OK(out->ExecScript("SET client_min_messages = warning"));
  return std::unique_ptr<Database>(std::move(out));
}

}  // namespace sluice::service
