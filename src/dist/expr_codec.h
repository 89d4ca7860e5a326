#pragma once
// JSON forms of the pieces a serialized plan is made of: data types, schemas, values, bound
// expressions and aggregate calls (docs/distributed.md, "The plan format"). Functions and
// aggregates travel as what the registry bound them from (name, argument types, constant
// arguments) and are bound again when read, so the kernels a worker runs are its own.
//
// Readers throw CodecError on malformed or unresolvable input; plan_codec.cc turns it into a
// Status at its boundary, so no exception leaves src/dist.

#include <stdexcept>
#include <string>

#include <boost/json.hpp>

#include "exec/window_spec.h"
#include "expr/bound_expr.h"
#include "types/schema.h"

namespace sluice::dist {

namespace json = boost::json;

// What is wrong with a serialized plan, and where (a path like "nodes[3].exprs[1]").
struct CodecError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

json::value TypeToJson(const types::DataType& type);
types::DataType TypeFromJson(const json::value& v);

json::value SchemaToJson(const types::Schema& schema);
types::Schema SchemaFromJson(const json::value& v);

json::value ValueToJson(const types::Value& value);
types::Value ValueFromJson(const json::value& v);

// Throws CodecError for a call the registry did not bind (a user-defined function).
json::value ExprToJson(const expr::BoundExprPtr& e);
expr::BoundExprPtr ExprFromJson(const json::value& v);  // null → nullptr

json::value AggregateCallToJson(const exec::AggregateCall& call);
exec::AggregateCall AggregateCallFromJson(const json::value& v);

// Accessors that throw CodecError naming the missing or mistyped member.
const json::object& AsObject(const json::value& v, const char* what);
const json::array& AsArray(const json::value& v, const char* what);
const json::value& Member(const json::object& o, const char* key);
int64_t Int(const json::object& o, const char* key);
bool Bool(const json::object& o, const char* key);
std::string String(const json::object& o, const char* key);

}  // namespace sluice::dist
