#pragma once
// The postgres-cdc source operator (pg_cdc_source.cc explains the protocol and the positions).

#include <memory>

#include "connectors/connector.h"
#include "connectors/postgres/pg_options.h"
#include "runtime/operator.h"

namespace sluice::connectors::postgres {

std::unique_ptr<runtime::SourceOperator> MakePgCdcSource(const TableSpec& spec,
                                                         const PgOptions& options);

// True when the source reads SQL type `type` from PostgreSQL's text form.
bool PgCdcSupportsType(const types::DataType& type);

}  // namespace sluice::connectors::postgres
