// The postgres-cdc connector: table validation and the source's operator factory
// (docs/connectors.md lists the options; pg_cdc_source.cc explains the protocol).

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "connectors/connector.h"
#include "connectors/postgres/pg_cdc_source.h"
#include "connectors/postgres/pg_options.h"

namespace sluice::connectors {

namespace {

using postgres::PgOptions;

class PgCdcFactory : public runtime::OperatorFactory {
 public:
  PgCdcFactory(const TableSpec& spec, PgOptions options)
      : spec_(spec), options_(std::move(options)) {}

  std::string name() const override { return "postgres-cdc source"; }
  // No password: plans are shown to users and written to logs.
  std::string Describe() const override {
    std::string s = fmt::format("postgres-cdc source {}:{}/{} table={}.{} slot={}",
                                options_.hostname, options_.port, options_.database,
                                options_.schema, options_.table, options_.slot);
    if (options_.startup == postgres::StartupMode::kLatest) s += " startup=latest";
    if (options_.bounded) s += " bounded=latest";
    return s;
  }
  bool is_source() const override { return true; }
  bool checkpointable() const override { return true; }
  // One replication slot: one reader.
  int max_parallelism() const override { return 1; }
  Result<std::unique_ptr<runtime::SourceOperator>> CreateSource(int subtask,
                                                                int parallelism) const override {
    return postgres::MakePgCdcSource(spec_, options_);
  }

 private:
  TableSpec spec_;
  PgOptions options_;
};

class PgCdcConnector : public Connector {
 public:
  std::string name() const override { return "postgres-cdc"; }
  bool can_source() const override { return true; }
  bool can_sink() const override { return false; }
  std::vector<std::string> option_keys() const override { return postgres::PgOptionKeys(); }
  std::string description() const override {
    return "A PostgreSQL table's snapshot and changes through logical replication (pgoutput), "
           "as an updating table keyed by its primary key; exactly-once with checkpoints";
  }
  std::vector<OptionSpec> option_specs() const override { return postgres::PgOptionSpecs(); }

  Status Validate(TableSpec* spec) const override {
    SLUICE_ASSIGN_OR_RETURN(PgOptions options, postgres::ParsePgOptions(*spec));
    if (!spec->format.format.empty()) {
      return Status::User(
          "connector 'postgres-cdc' reads rows, not bytes, and takes no 'format' (its output "
          "is an updating table)");
    }
    if (spec->schema.size() == 0) {
      return Status::User(
          "a postgres-cdc source needs a column list: CREATE TABLE {} (col TYPE, ..., PRIMARY "
          "KEY (...)) WITH (...), naming columns of the PostgreSQL table",
          spec->table_name);
    }
    for (const types::Field& f : spec->schema.fields()) {
      if (!postgres::PgCdcSupportsType(f.type)) {
        return Status::NotSupported(
            "column '{}' of type {}: the postgres-cdc source reads BOOLEAN, SMALLINT, INT, "
            "BIGINT, REAL, DOUBLE, DECIMAL, TEXT, JSON, DATE, TIME, TIMESTAMP and TIMESTAMPTZ "
            "columns",
            f.name, f.type.ToString());
      }
    }
    spec->finite = options.bounded;
    spec->changelog = true;  // the binder requires the PRIMARY KEY
    return Status::Ok();
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSource(
      const TableSpec& spec) const override {
    SLUICE_ASSIGN_OR_RETURN(PgOptions options, postgres::ParsePgOptions(spec));
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<PgCdcFactory>(spec, std::move(options)));
  }
};

}  // namespace

std::unique_ptr<Connector> MakePostgresCdcConnector() {
  return std::make_unique<PgCdcConnector>();
}

}  // namespace sluice::connectors
