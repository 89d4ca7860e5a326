// libpq connections and results for the postgres-cdc source; see pg_client.h.

#include "connectors/postgres/pg_client.h"

#include <vector>

#include <fmt/format.h>

#include "common/text.h"

namespace sluice::connectors::postgres {

namespace {

// libpq's messages end with a newline and may span lines; one line reads better in ours.
std::string OneLine(const char* message) {
  std::string s = message ? message : "";
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  for (char& c : s) {
    if (c == '\n') c = ' ';
  }
  return s;
}

}  // namespace

Result<std::unique_ptr<PgClient>> PgClient::Connect(const PgOptions& o, bool replication,
                                                    const std::string& label) {
  const std::string port = std::to_string(o.port);
  const std::string timeout = std::to_string(o.connect_timeout_seconds);
  std::vector<const char*> keys = {"host", "port", "user", "dbname", "connect_timeout",
                                   "application_name", "options",
                                   // Dead peers are noticed: TCP keepalives and a bound on
                                   // unacknowledged sends.
                                   "keepalives", "keepalives_idle", "tcp_user_timeout"};
  std::vector<const char*> values = {o.hostname.c_str(),
                                     port.c_str(),
                                     o.username.c_str(),
                                     o.database.c_str(),
                                     timeout.c_str(),
                                     "sluice",
                                     "-c TimeZone=UTC -c DateStyle=ISO -c extra_float_digits=3 "
                                     "-c IntervalStyle=iso_8601",
                                     "1",
                                     "10",
                                     "30000"};
  if (!o.password.empty()) {
    keys.push_back("password");
    values.push_back(o.password.c_str());
  }
  if (!o.ssl_mode.empty()) {
    keys.push_back("sslmode");
    values.push_back(o.ssl_mode.c_str());
  }
  if (replication) {
    keys.push_back("replication");
    values.push_back("database");
  }
  keys.push_back(nullptr);
  values.push_back(nullptr);
  std::string server = fmt::format("{}:{}/{}", o.hostname, o.port, o.database);
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 0);
  if (conn == nullptr) return Status::Io("{}: out of memory connecting to PostgreSQL", label);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = OneLine(PQerrorMessage(conn));
    PQfinish(conn);
    return Status::Io(
        "{}: cannot connect to PostgreSQL at {} as user '{}' (connect.timeout {} s): {}", label,
        server, o.username, o.connect_timeout_seconds, message);
  }
  return std::unique_ptr<PgClient>(new PgClient(conn, std::move(server), label));
}

PgClient::~PgClient() {
  if (conn_ != nullptr) PQfinish(conn_);
}

Result<PgResultPtr> PgClient::Exec(const std::string& sql, ExecStatusType expect) {
  PgResultPtr r(PQexec(conn_, sql.c_str()));
  if (r == nullptr || PQresultStatus(r.get()) != expect) {
    return Error(fmt::format("running \"{}\"", sql), r.get());
  }
  return r;
}

Status PgClient::Error(const std::string& what, const PGresult* result) const {
  std::string message = OneLine(result != nullptr ? PQresultErrorMessage(result) : "");
  if (message.empty()) message = OneLine(PQerrorMessage(conn_));
  if (PQstatus(conn_) == CONNECTION_BAD) {
    return Status::Io("{}: lost the connection to PostgreSQL at {} while {}: {}", label_, server_,
                      what, message);
  }
  return Status::Io("{}: PostgreSQL at {} failed {}: {}", label_, server_, what, message);
}

std::string PgClient::SqlState(const PGresult* result) {
  if (result == nullptr) return "";
  const char* s = PQresultErrorField(result, PG_DIAG_SQLSTATE);
  return s ? s : "";
}

std::string PgClient::QuoteIdent(std::string_view ident) const {
  char* q = PQescapeIdentifier(conn_, ident.data(), ident.size());
  std::string s = q ? q : "\"\"";
  PQfreemem(q);
  return s;
}

std::string PgClient::QuoteLiteral(std::string_view text) const {
  char* q = PQescapeLiteral(conn_, text.data(), text.size());
  std::string s = q ? q : "''";
  PQfreemem(q);
  return s;
}

}  // namespace sluice::connectors::postgres
