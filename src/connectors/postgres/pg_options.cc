// Parsing of the postgres-cdc connector's WITH options.

#include "connectors/postgres/pg_options.h"

#include <cctype>

#include <fmt/format.h>

#include "common/duration.h"
#include "common/text.h"

namespace sluice::connectors::postgres {

namespace {

const std::string* Find(const TableSpec& spec, const std::string& key) {
  auto it = spec.options.find(key);
  return it == spec.options.end() ? nullptr : &it->second;
}

// Replication slot names: lower-case letters, digits and underscores, at most 63 bytes.
std::string SlotName(const std::string& raw) {
  std::string s;
  for (char c : raw) {
    unsigned char u = static_cast<unsigned char>(c);
    s += std::isalnum(u) ? static_cast<char>(std::tolower(u)) : '_';
  }
  if (s.size() > 63) s.resize(63);
  return s;
}

bool ValidSlotName(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  for (char c : s) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

}  // namespace

const std::vector<OptionSpec>& PgOptionSpecs() {
  static const std::vector<OptionSpec> specs = {
      {"hostname", true, "PostgreSQL server host name or address", false},
      {"port", false, "server port (default 5432)", false},
      {"username", true, "user with the REPLICATION attribute (or superuser)", false},
      {"password", false, "the user's password (never shown in plans, logs or errors)", true},
      {"database.name", true, "database of the table", false},
      {"schema.name", false, "schema of the table (default 'public')", false},
      {"table.name", true, "the table whose snapshot and changes are read", false},
      {"slot.name", false,
       "logical replication slot (default sluice_<database>_<schema>_<table>); created at the "
       "first start, kept across restarts",
       false},
      {"publication.name", false, "publication of the table (default sluice_<schema>_<table>)",
       false},
      {"publication.create.enable", false,
       "create the publication when it does not exist (default 'true')", false},
      {"scan.startup.mode", false,
       "'initial' (default): a consistent snapshot, then the changes; 'latest': only the changes "
       "from the first start on",
       false},
      {"source.bounded", false,
       "'latest': end once every change committed before the first start has been read", false},
      {"connect.timeout", false, "how long connecting may take before failing (default 10s)",
       false},
      {"ssl.mode", false,
       "libpq sslmode: disable, allow, prefer (default), require, verify-ca, "
       "verify-full",
       false},
  };
  return specs;
}

std::vector<std::string> PgOptionKeys() {
  std::vector<std::string> keys;
  for (const OptionSpec& o : PgOptionSpecs()) keys.push_back(o.name);
  return keys;
}

Result<PgOptions> ParsePgOptions(const TableSpec& spec) {
  PgOptions o;
  if (spec.type != TableType::kSource) {
    return Status::User("connector 'postgres-cdc' can only be a source");
  }
  for (const OptionSpec& s : PgOptionSpecs()) {
    if (!s.required) continue;
    const std::string* v = Find(spec, s.name);
    if (v == nullptr || TrimAsciiSpace(*v).empty()) {
      return Status::User("missing option '{}' for connector 'postgres-cdc' ({})", s.name,
                          s.description);
    }
  }
  auto get = [&](const char* key) { return std::string(TrimAsciiSpace(*Find(spec, key))); };
  o.hostname = get("hostname");
  o.username = get("username");
  o.database = get("database.name");
  o.table = get("table.name");
  if (const std::string* v = Find(spec, "password")) o.password = *v;
  if (const std::string* v = Find(spec, "schema.name")) {
    o.schema = std::string(TrimAsciiSpace(*v));
  }
  if (const std::string* v = Find(spec, "port")) {
    std::string p(TrimAsciiSpace(*v));
    char* end = nullptr;
    long port = std::strtol(p.c_str(), &end, 10);
    if (p.empty() || *end != '\0' || port < 1 || port > 65535) {
      return Status::User("invalid value '{}' for option 'port': use a port number, 1 to 65535", p);
    }
    o.port = static_cast<int>(port);
  }
  if (const std::string* v = Find(spec, "slot.name")) {
    o.slot = std::string(TrimAsciiSpace(*v));
    if (!ValidSlotName(o.slot)) {
      return Status::User(
          "invalid value '{}' for option 'slot.name': a replication slot name has 1 to 63 "
          "lower-case letters, digits and underscores",
          o.slot);
    }
  } else {
    o.slot = SlotName(fmt::format("sluice_{}_{}_{}", o.database, o.schema, o.table));
  }
  if (const std::string* v = Find(spec, "publication.name")) {
    o.publication = std::string(TrimAsciiSpace(*v));
    if (o.publication.empty()) return Status::User("option 'publication.name' is empty");
  } else {
    o.publication = SlotName(fmt::format("sluice_{}_{}", o.schema, o.table));
  }
  if (const std::string* v = Find(spec, "publication.create.enable")) {
    std::string b = AsciiLower(std::string(TrimAsciiSpace(*v)));
    if (b != "true" && b != "false") {
      return Status::User(
          "invalid value '{}' for option 'publication.create.enable': use 'true' or 'false'", *v);
    }
    o.create_publication = b == "true";
  }
  if (const std::string* v = Find(spec, "scan.startup.mode")) {
    std::string m = AsciiLower(std::string(TrimAsciiSpace(*v)));
    if (m == "initial") {
      o.startup = StartupMode::kInitial;
    } else if (m == "latest" || m == "latest-offset") {
      o.startup = StartupMode::kLatest;
    } else {
      return Status::User(
          "invalid value '{}' for option 'scan.startup.mode': use 'initial' (a snapshot, then "
          "the changes) or 'latest' (only the changes)",
          *v);
    }
  }
  if (const std::string* v = Find(spec, "source.bounded")) {
    std::string m = AsciiLower(std::string(TrimAsciiSpace(*v)));
    if (m != "latest") {
      return Status::User(
          "invalid value '{}' for option 'source.bounded': use 'latest' (end once the changes "
          "committed before the first start were read), or leave it out to read for ever",
          *v);
    }
    o.bounded = true;
  }
  if (const std::string* v = Find(spec, "connect.timeout")) {
    SLUICE_ASSIGN_OR_RETURN(int64_t micros, ParseDuration(*v, "option 'connect.timeout'"));
    if (micros < 1000000) {
      return Status::User("option 'connect.timeout' must be at least 1 second, not '{}'", *v);
    }
    o.connect_timeout_seconds = static_cast<int>(micros / 1000000);
  }
  if (const std::string* v = Find(spec, "ssl.mode")) {
    std::string m = AsciiLower(std::string(TrimAsciiSpace(*v)));
    static const std::vector<std::string> modes = {"disable", "allow",     "prefer",
                                                   "require", "verify-ca", "verify-full"};
    if (std::find(modes.begin(), modes.end(), m) == modes.end()) {
      return Status::User(
          "invalid value '{}' for option 'ssl.mode': use disable, allow, prefer, require, "
          "verify-ca or verify-full",
          *v);
    }
    o.ssl_mode = m;
  }
  return o;
}

}  // namespace sluice::connectors::postgres
