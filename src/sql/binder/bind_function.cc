// SQL functions: CREATE FUNCTION name(a BIGINT, ...) RETURNS type LANGUAGE SQL AS 'expr'. A call
// is inlined where it is written: the body is bound over the parameters and its parameter
// references are replaced by the call's arguments, so a function costs nothing at run time.

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>

#include "common/duration.h"
#include "expr/aggregate.h"
#include "expr/cast.h"
#include "expr/function.h"
#include "sql/binder/binder_internal.h"
#include "udf/async_function.h"
#include "udf/cpp_glue.h"
#include "udf/native_aggregate.h"
#include "udf/native_function.h"
#include "udf/python_async.h"
#include "udf/python_function.h"

namespace sluice::sql {

namespace {

// Names the binder or the registries give a meaning: a SQL function may not take them.
bool IsBuiltInName(const std::string& name) {
  static const std::set<std::string> kSpecial = {"tumble",   "hop",    "session",
                                                 "row_time", "unnest", "proctime"};
  return kSpecial.count(name) || expr::AggregateRegistry::Get().Contains(name) ||
         WindowFunctionNames().count(name) || expr::FunctionRegistry::Get().Contains(name);
}

// The assignment casts of INSERT: implicit ones, numbers to numbers, anything to text.
bool CanAssign(const DataType& from, const DataType& to) {
  return from == to || from.id() == TypeId::kNull || expr::CanCastImplicitly(from, to) ||
         (from.is_numeric() && to.is_numeric()) || to.id() == TypeId::kUtf8;
}

// The body's errors carry locations inside the body; say where the function is.
[[noreturn]] void FailInFunction(const Location& loc, const std::string& what,
                                 const BindError& err) {
  Fail(loc, Status(err.status.kind(), fmt::format("{}: {}", what, err.status.message())));
}

}  // namespace

void StatementBinder::BindCreateFunction(const Statement& stmt) {
  const std::string& name = stmt.name;
  if (IsBuiltInName(name)) {
    FailUser(stmt.name_loc, "{}() is a built-in function; give the SQL function another name",
             name);
  }
  if (b_->functions_.count(name) && !stmt.or_replace) {
    FailUser(stmt.name_loc,
             "function {}() already exists ({}); use CREATE OR REPLACE FUNCTION to replace it "
             "(functions are not overloaded by argument types)",
             name, b_->functions_.at(name).signature);
  }
  SqlFunction fn;
  fn.name = name;
  std::set<std::string> seen;
  std::vector<std::string> shown;
  for (size_t i = 0; i < stmt.params.size(); ++i) {
    const FunctionParam& p = stmt.params[i];
    if (!p.name.empty() && !seen.insert(p.name).second) {
      FailUser(p.loc, "parameter \"{}\" of function {}() is declared twice", p.name, name);
    }
    fn.param_names.push_back(p.name);
    fn.param_types.push_back(ResolveType(p.type));
    std::string type = fn.param_types.back().ToString();
    shown.push_back(p.name.empty() ? type : fmt::format("{} {}", p.name, type));
  }
  if (stmt.has_params) fn.return_type = ResolveType(stmt.return_type);
  fn.body = stmt.body;
  fn.signature =
      fmt::format("{}({}) RETURNS {}", name, fmt::join(shown, ", "), fn.return_type.ToString());
  if (stmt.language != "sql") {
    LoadNativeFunction(stmt, &fn);
    b_->functions_[name] = std::move(fn);
    return;
  }
  // Bind the body now, so its errors are reported here; a call to itself is recursion.
  BoundExprPtr body = BindFunctionBody(fn, stmt.body_loc);
  if (!CanAssign(body->type, fn.return_type)) {
    FailUser(stmt.body_loc,
             "the body of function {}() is {} but the function RETURNS {}; add a CAST in the body",
             name, body->type.ToString(), fn.return_type.ToString());
  }
  b_->functions_[name] = std::move(fn);
}

// WITH (...) of CREATE ASYNC FUNCTION.
udf::AsyncOptions StatementBinder::AsyncOptionsOf(const Statement& stmt) {
  udf::AsyncOptions o;
  for (const TableOption& opt : stmt.options) {
    std::string v = opt.value;
    for (char& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (opt.key == "max_concurrency" || opt.key == "allowed_in_flight") {
      char* end = nullptr;
      long long n = std::strtoll(opt.value.c_str(), &end, 10);
      if (opt.value.empty() || *end != '\0' || n < 1 || n > 1000000) {
        FailUser(opt.value_loc,
                 "{} of async function {}() must be a whole number from 1 to "
                 "1000000, not '{}'",
                 opt.key, stmt.name, opt.value);
      }
      o.max_concurrency = n;
    } else if (opt.key == "timeout") {
      auto t = ParseDuration(opt.value, "timeout");
      if (!t.ok() || *t <= 0) {
        FailUser(opt.value_loc,
                 "timeout of async function {}() must be a positive duration such as '500ms' "
                 "or '5s', not '{}'",
                 stmt.name, opt.value);
      }
      o.timeout_micros = *t;
    } else if (opt.key == "ordered") {
      if (v != "true" && v != "false") {
        FailUser(opt.value_loc, "ordered of async function {}() is true or false, not '{}'",
                 stmt.name, opt.value);
      }
      o.ordered = v == "true";
    } else if (opt.key == "on_timeout") {
      if (v != "error" && v != "null") {
        FailUser(opt.value_loc,
                 "on_timeout of async function {}() is 'error' (fail the pipeline) or 'null', "
                 "not '{}'",
                 stmt.name, opt.value);
      }
      o.null_on_timeout = v == "null";
    } else {
      FailUser(opt.loc,
               "unknown option '{}' of async function {}(): the options are max_concurrency "
               "(or allowed_in_flight), timeout, ordered and on_timeout",
               opt.key, stmt.name);
    }
  }
  return o;
}

void StatementBinder::LoadNativeFunction(const Statement& stmt, SqlFunction* out) {
  const SqlFunction& fn = *out;
  udf::FunctionSignature sig;
  sig.name = fn.name;
  sig.param_names = fn.param_names;
  sig.param_types = fn.param_types;
  sig.return_type = fn.return_type;
  sig.strict = stmt.null_input != NullInput::kCalled;
  sig.deterministic = !stmt.is_volatile;
  sig.body_line = stmt.body_loc.line;
  std::string source = stmt.body_text;
  if (!stmt.body_file.empty()) {
    std::ifstream in(stmt.body_file, std::ios::binary);
    if (!in) {
      FailUser(stmt.body_loc, "cannot read the source of function {}() from '{}': {}", fn.name,
               stmt.body_file, std::strerror(errno));
    }
    std::stringstream ss;
    ss << in.rdbuf();
    source = ss.str();
    sig.body_line = 1;  // the file's own lines
  }
  sig.aggregate = stmt.is_aggregate;
  if (stmt.is_async && stmt.language == "python") {
    auto loaded = udf::LoadPythonAsync(sig, stmt.has_params, AsyncOptionsOf(stmt), source);
    if (!loaded.ok()) Fail(stmt.body_loc, loaded.status());
    out->param_names = loaded->signature.param_names;
    out->param_types = loaded->signature.param_types;
    out->return_type = loaded->signature.return_type;
    out->signature = udf::SqlSignature(loaded->signature);
    out->async = loaded->function;
    return;
  }
  if (stmt.is_async) {
    udf::AsyncOptions opts = AsyncOptionsOf(stmt);
    auto loaded = udf::LoadCppAsync(sig, opts, source);
    if (!loaded.ok()) Fail(stmt.body_loc, loaded.status());
    out->async = loaded.MoveValue();
    return;
  }
  if (stmt.language == "python") {
    if (stmt.is_aggregate) {
      auto loaded = udf::LoadPythonAggregate(sig, stmt.has_params, source);
      if (!loaded.ok()) Fail(stmt.body_loc, loaded.status());
      out->param_names = loaded->signature.param_names;
      out->param_types = loaded->signature.param_types;
      out->return_type = loaded->signature.return_type;
      out->signature = udf::SqlSignature(loaded->signature);
      out->aggregate = loaded->function;
      out->retractable = loaded->retractable;
      return;
    }
    auto loaded = udf::LoadPythonScalar(sig, stmt.has_params, source);
    if (!loaded.ok()) Fail(stmt.body_loc, loaded.status());
    out->param_names = loaded->signature.param_names;
    out->param_types = loaded->signature.param_types;
    out->return_type = loaded->signature.return_type;
    std::vector<std::string> shown;
    for (size_t i = 0; i < out->param_types.size(); ++i) {
      shown.push_back(fmt::format("{} {}", out->param_names[i], out->param_types[i].ToString()));
    }
    out->signature = fmt::format("{}({}) RETURNS {}", out->name, fmt::join(shown, ", "),
                                 out->return_type.ToString());
    out->native = loaded->function;
    return;
  }
  if (stmt.is_aggregate) {
    auto loaded = udf::LoadCppAggregate(sig, source);
    if (!loaded.ok()) Fail(stmt.body_loc, loaded.status());
    out->aggregate = loaded->function;
    out->retractable = loaded->retractable;
    return;
  }
  auto loaded = udf::LoadCppScalar(sig, source);
  if (!loaded.ok()) Fail(stmt.body_loc, loaded.status());
  out->native = loaded.MoveValue();
}

BoundExprPtr StatementBinder::BindFunctionBody(const SqlFunction& fn, const Location& loc) {
  // The body's scope: the named parameters, then $1..$n (the replacements of a call follow
  // the same order).
  std::vector<ScopeColumn> scope;
  const size_t n = fn.param_types.size();
  for (size_t i = 0; i < n; ++i) {
    if (!fn.param_names[i].empty()) scope.push_back({"", fn.param_names[i], fn.param_types[i]});
  }
  for (size_t i = 0; i < n; ++i) {
    scope.push_back({"", fmt::format("${}", i + 1), fn.param_types[i]});
  }
  inlining_.push_back(fn.name);
  struct Pop {
    std::vector<std::string>* v;
    ~Pop() { v->pop_back(); }
  } pop{&inlining_};
  try {
    return BindExpr(*fn.body, scope);
  } catch (const BindError& err) {
    FailInFunction(loc, fmt::format("in the body of function {}()", fn.name), err);
  }
}

BoundExprPtr StatementBinder::BindSqlFunctionCall(const Expr& call,
                                                  const std::vector<ScopeColumn>& scope) {
  const std::string& name = call.names.back();
  auto it = b_->functions_.find(name);
  bool defining = std::find(inlining_.begin(), inlining_.end(), name) != inlining_.end();
  if (call.names.size() != 1 || (it == b_->functions_.end() && !defining)) return nullptr;
  if (defining) {
    std::string chain;
    for (const auto& f : inlining_) chain += f + "() -> ";
    FailUser(call.loc, "function {}() calls itself ({}{}()); SQL functions cannot be recursive",
             name, chain, name);
  }
  const SqlFunction& fn = it->second;
  if (fn.async) {
    // Calls in a SELECT list were made columns of an async operator before binding.
    FailNotSupported(call.loc,
                     "async function {}() can be called only in the select list of a SELECT "
                     "without GROUP BY (each call becomes its own operator); to filter or "
                     "aggregate its results, call it in a subquery or view",
                     name);
  }
  std::vector<BoundExprPtr> args = BindUserCallArgs(fn, call, scope);
  if (fn.native) return expr::MakeCall(fn.native, std::move(args));
  const size_t n = fn.param_types.size();
  BoundExprPtr body = BindFunctionBody(fn, call.loc);
  std::vector<BoundExprPtr> replacements;  // per column of the body's scope, its argument
  for (size_t i = 0; i < n; ++i) {
    if (!fn.param_names[i].empty()) replacements.push_back(args[i]);
  }
  replacements.insert(replacements.end(), args.begin(), args.end());
  BoundExprPtr inlined = expr::Substitute(body, replacements);
  return Cast(inlined, fn.return_type, call.loc, false);
}

std::vector<BoundExprPtr> StatementBinder::BindUserCallArgs(const SqlFunction& fn, const Expr& call,
                                                            const std::vector<ScopeColumn>& scope) {
  const std::string& name = fn.name;
  if (call.distinct || call.filter || !call.within_group.empty()) {
    FailUser(call.loc,
             "{}() is a SQL function, not an aggregate: DISTINCT, ORDER BY and FILTER "
             "do not apply",
             name);
  }
  const size_t n = fn.param_types.size();
  if (call.star_arg || call.args.size() != n) {
    FailUser(call.loc, "function {} takes {} argument{}, but the call gives {}", fn.signature, n,
             n == 1 ? "" : "s",
             call.star_arg ? std::string("*") : std::to_string(call.args.size()));
  }
  std::vector<BoundExprPtr> args;
  for (size_t i = 0; i < n; ++i) {
    const Expr& a = *call.args[i];
    const DataType& to = fn.param_types[i];
    if (IsStringLiteral(a)) {
      // An untyped literal takes the parameter's type, as in PostgreSQL.
      args.push_back(CastLiteralTo(a, to));
      continue;
    }
    BoundExprPtr bound = BindExpr(a, scope);
    bool literal_number =
        bound->kind == BoundKind::kLiteral && bound->type.is_numeric() && to.is_numeric();
    if (bound->type != to && bound->type.id() != TypeId::kNull && !literal_number &&
        !expr::CanCastImplicitly(bound->type, to)) {
      std::string param =
          fn.param_names[i].empty() ? fmt::format("${}", i + 1) : "\"" + fn.param_names[i] + "\"";
      FailUser(a.loc, "argument {} of {}() is {}, but parameter {} is {}; add a CAST (function {})",
               i + 1, name, bound->type.ToString(), param, to.ToString(), fn.signature);
    }
    args.push_back(Cast(bound, to, a.loc, false));
  }
  return args;
}

}  // namespace sluice::sql

namespace sluice::sql {

expr::BoundAggregate StatementBinder::BindUserAggregate(const SqlFunction& fn, const Expr& call,
                                                        const std::vector<BoundExprPtr>& args,
                                                        bool retracting) {
  const std::string& name = fn.name;
  if (call.distinct) {
    FailNotSupported(call.loc,
                     "DISTINCT in a call of the user-defined aggregate {}() is not "
                     "supported yet",
                     name);
  }
  const size_t n = fn.param_types.size();
  if (call.star_arg || args.size() != n) {
    FailUser(call.loc, "aggregate {} takes {} argument{}, but the call gives {}", fn.signature, n,
             n == 1 ? "" : "s", call.star_arg ? std::string("*") : std::to_string(args.size()));
  }
  for (size_t i = 0; i < n; ++i) {
    const DataType& to = fn.param_types[i];
    const DataType& from = args[i]->type;
    bool literal_number =
        args[i]->kind == BoundKind::kLiteral && from.is_numeric() && to.is_numeric();
    if (from != to && from.id() != TypeId::kNull && !literal_number &&
        !expr::CanCastImplicitly(from, to)) {
      FailUser(call.args[i]->loc,
               "argument {} of {}() is {}, but the aggregate takes {}; add a "
               "CAST (aggregate {})",
               i + 1, name, from.ToString(), to.ToString(), fn.signature);
    }
  }
  if (retracting && !fn.retractable) {
    FailUser(call.loc,
             "aggregate {}() cannot retract rows, which its updating input needs: give struct "
             "{} a `void retract(...)` that undoes update()",
             name, name);
  }
  expr::BoundAggregate bound;
  bound.name = name;
  bound.arg_types = fn.param_types;
  bound.return_type = fn.return_type;
  bound.function = fn.aggregate;
  return bound;
}

}  // namespace sluice::sql
