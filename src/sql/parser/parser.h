#pragma once
// Parses Sluice SQL (PostgreSQL syntax plus the streaming dialect) into statements.
// Errors are user errors: "syntax error at line L, column C: expected X, found Y".

#include <string_view>
#include <vector>

#include "common/status.h"
#include "sql/parser/ast.h"

namespace sluice::sql {

// Parses every ';'-separated statement of `sql`. Thread-safe; no global state.
Result<std::vector<Statement>> ParseSql(std::string_view sql);
// Parses one expression (tests, --set values).
Result<ExprPtr> ParseExpression(std::string_view sql);

}  // namespace sluice::sql
