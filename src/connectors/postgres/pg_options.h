#pragma once
// The WITH options of a postgres-cdc table (docs/connectors.md), parsed and checked when the
// table is declared; the source reads the parsed form.

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"
#include "connectors/connector.h"

namespace sluice::connectors::postgres {

enum class StartupMode {
  kInitial,  // a consistent snapshot of the table, then its changes
  kLatest,   // only the changes committed after the slot was created
};

struct PgOptions {
  std::string hostname;
  int port = 5432;
  std::string username;
  std::string password;  // secret: never printed
  std::string database;
  std::string schema = "public";
  std::string table;
  std::string slot;         // default: sluice_<database>_<schema>_<table>, sanitized
  std::string publication;  // default: sluice_<schema>_<table>
  bool create_publication = true;
  StartupMode startup = StartupMode::kInitial;
  // source.bounded = 'latest': end once the changes committed before the pipeline started
  // were read.
  bool bounded = false;
  int connect_timeout_seconds = 10;
  std::string ssl_mode;  // libpq's sslmode; empty: libpq's default (prefer)
};

const std::vector<OptionSpec>& PgOptionSpecs();
std::vector<std::string> PgOptionKeys();

Result<PgOptions> ParsePgOptions(const TableSpec& spec);

}  // namespace sluice::connectors::postgres
