#pragma once
// The RAII layer over libpq for the postgres-cdc source: connections (plain and replication),
// results, errors as Status. Errors name the server (host:port/database) and never the password.
//
// Threading: a PgClient is used by one thread at a time (the source's task).

#include <memory>
#include <string>
#include <string_view>

#include <libpq-fe.h>

#include "common/status.h"
#include "connectors/postgres/pg_options.h"

namespace sluice::connectors::postgres {

struct PgResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

class PgClient {
 public:
  // Connects within the options' connect.timeout. A replication connection speaks the
  // walsender protocol (replication=database). Both run with TimeZone UTC and ISO dates, so
  // values arrive in the text forms the source parses.
  static Result<std::unique_ptr<PgClient>> Connect(const PgOptions& options, bool replication,
                                                   const std::string& label);
  ~PgClient();
  PgClient(const PgClient&) = delete;
  PgClient& operator=(const PgClient&) = delete;

  PGconn* get() const { return conn_; }
  // Runs `sql` (blocking); fails unless the result has status `expect`.
  Result<PgResultPtr> Exec(const std::string& sql, ExecStatusType expect = PGRES_TUPLES_OK);
  // The last error of the connection as a Status naming `what` and the server.
  Status Error(const std::string& what, const PGresult* result = nullptr) const;
  // The SQLSTATE of a failed result ("42P01"), or empty.
  static std::string SqlState(const PGresult* result);

  std::string QuoteIdent(std::string_view ident) const;
  std::string QuoteLiteral(std::string_view text) const;
  const std::string& server() const { return server_; }

 private:
  PgClient(PGconn* conn, std::string server, std::string label)
      : conn_(conn), server_(std::move(server)), label_(std::move(label)) {}
  PGconn* conn_;
  std::string server_;  // "host:port/database" for messages
  std::string label_;   // "table 'x'"
};

}  // namespace sluice::connectors::postgres
