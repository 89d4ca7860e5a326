// Parses statements: CREATE TABLE/VIEW/FUNCTION, INSERT, SET, columns, options and types.

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "sql/parser/parser.h"
#include "sql/parser/parser_internal.h"

namespace sluice::sql::parser_internal {

SLUICE_NOINLINE Statement Parser::ParseStatement() {
  Statement s;
  s.kind = StatementKind::kSelect;
  const Token& first = Peek();
  if (AtWord("create")) {
    ParseCreate(&s);
  } else if (AtWord("insert")) {
    ParseInsert(&s);
  } else if (AtWord("set")) {
    ParseSet(&s);
  } else if (AtWord("select") || AtWord("with") || AtOp("(")) {
    s.query = ParseQuery();
  } else if (first.kind == TokenKind::kIdent && IsOtherStatementWord(first.text)) {
    FailUnsupported(first, Upper(first.text));
  } else {
    Fail("a statement (CREATE, INSERT, SELECT, WITH or SET)");
  }
  return s;
}

[[noreturn]] SLUICE_COLD void Parser::FailUnsupported(const Token& at,
                                                      std::string_view what) const {
  FailAt(at.loc, fmt::format("unsupported statement {}: Sluice runs CREATE TABLE, CREATE VIEW, "
                             "CREATE FUNCTION, INSERT INTO, SELECT and SET",
                             what));
}

SLUICE_NOINLINE void Parser::ParseCreate(Statement* s) {
  const Token& create = Next();
  if (AtWord("or") && AtWord("replace", 1)) {
    Next();
    Next();
    s->or_replace = true;
  }
  if (AcceptWord("temporary") || AcceptWord("temp")) s->temporary = true;
  if (AtWord("aggregate") && AtWord("function", 1)) {
    // CREATE AGGREGATE FUNCTION (as in BigQuery): an aggregate written in another language.
    Next();
    s->is_aggregate = true;
  } else if (AtWord("async") && AtWord("function", 1)) {
    // CREATE ASYNC FUNCTION: calls to an external service, started and completed later.
    Next();
    s->is_async = true;
  }
  if (AtWord("function")) {
    ParseCreateFunction(s);
    return;
  }
  if (s->or_replace) FailUnsupported(create, "CREATE OR REPLACE (other than FUNCTION)");
  if (AtWord("table")) {
    ParseCreateTable(s);
  } else if (AtWord("view")) {
    ParseCreateView(s);
  } else if (Peek().kind == TokenKind::kIdent) {
    FailUnsupported(create, fmt::format("CREATE {}", Upper(Peek().text)));
  } else {
    Fail("TABLE or VIEW");
  }
}

// CREATE [OR REPLACE] [TEMPORARY] FUNCTION name([name] type, ...) RETURNS type
//   [LANGUAGE SQL] [IMMUTABLE | STABLE | VOLATILE] (AS 'body' | AS $$body$$ | RETURN expr)
// The body is one expression, or a SELECT of one expression without FROM.
SLUICE_NOINLINE void Parser::ParseCreateFunction(Statement* s) {
  s->kind = StatementKind::kCreateFunction;
  Next();  // FUNCTION
  s->name_loc = Peek().loc;
  s->name = ParseQualifiedName("function name");
  // LANGUAGE python may leave out the parameters and RETURNS: its type hints give them.
  s->has_params = AtOp("(");
  if (s->has_params) ExpectOp("(");
  if (s->has_params && !AcceptOp(")")) {
    do {
      FunctionParam p;
      p.loc = Peek().loc;
      AcceptWord("in");
      // `name type`, or a lone type: the word is a name when a type follows it.
      bool named = IsLabel(Peek()) && !AtOp(",", 1) && !AtOp(")", 1) && !AtOp("(", 1) &&
                   !AtOp("[", 1) && !(AtWord("double") && AtWord("precision", 1)) &&
                   !(AtWord("character") && AtWord("varying", 1));
      if (named) p.name = ParseLabel("parameter name");
      p.type = ParseType();
      s->params.push_back(std::move(p));
    } while (AcceptOp(","));
    ExpectListEnd();
  }
  bool has_returns = false;
  std::optional<Token> body_token;
  Location language_loc;
  Location strict_loc;
  while (true) {
    const Token& at = Peek();
    if (AcceptWord("strict")) {
      s->null_input = NullInput::kReturnsNull;
      strict_loc = at.loc;
    } else if (AtWord("returns") && AtWord("null", 1)) {
      strict_loc = at.loc;
      Next();
      Next();
      ExpectWord("on");
      ExpectWord("null");
      ExpectWord("input");
      s->null_input = NullInput::kReturnsNull;
    } else if (AcceptWord("returns")) {
      if (AtWord("table") || AtWord("setof")) {
        FailAt(Peek().loc,
               "a SQL function returns one value: RETURNS TABLE and SETOF are not "
               "supported");
      }
      s->return_type = ParseType();
      has_returns = true;
    } else if (AcceptWord("language")) {
      const Token& lang = Peek();
      language_loc = lang.loc;
      std::string name = Peek().kind == TokenKind::kString ? Next().text : ParseLabel("language");
      name = Lower(name);
      if (name == "c++") name = "cpp";  // LANGUAGE 'c++'
      if (name != "sql" && name != "cpp" && name != "python") {
        FailAt(lang.loc, fmt::format("LANGUAGE {} is not supported: functions are written in "
                                     "LANGUAGE SQL, cpp or python",
                                     name));
      }
      s->language = name;
    } else if (s->is_async && s->options.empty() && AtWord("with") && AtOp("(", 1)) {
      Next();
      ParseOptions(s);  // max_concurrency, timeout, ordered, on_timeout
    } else if (AcceptWord("volatile")) {
      s->is_volatile = true;
    } else if (AcceptWord("immutable") || AcceptWord("stable") || AcceptWord("leakproof")) {
      // Planner hints for PostgreSQL; an inlined expression needs none.
    } else if (AcceptWord("parallel")) {
      ParseLabel("SAFE, RESTRICTED or UNSAFE");
    } else if (AtWord("called") && AtWord("on", 1)) {
      Next();
      Next();
      ExpectWord("null");
      ExpectWord("input");
      s->null_input = NullInput::kCalled;
    } else if (!body_token && s->body_file.empty() && AcceptWord("as")) {
      if (AtWord("file") && Peek(1).kind == TokenKind::kString) {
        // AS FILE 'path': the source in a file (relative paths from the working directory).
        Next();
        s->body_loc = Peek().loc;
        s->body_file = Next().text;
        continue;
      }
      if (Peek().kind != TokenKind::kString) Fail("the function body as a string");
      s->body_loc = Peek().loc;
      body_token = Next();
    } else if (!body_token && !s->body && AtWord("return")) {
      Next();
      s->body_loc = Peek().loc;
      s->body = ParseExpr();
    } else {
      break;
    }
  }
  if (s->language == "python" && !s->has_params) {
    if (has_returns)
      FailAt(s->name_loc,
             "RETURNS without a parameter list: declare both, or "
             "neither and let the type hints give them");
  } else if (!s->has_params) {
    Fail("( after the function name");
  } else if (!has_returns) {
    Fail("RETURNS type");
  }
  if (s->is_async && s->language != "cpp" && s->language != "python") {
    FailAt(s->name_loc, "CREATE ASYNC FUNCTION takes LANGUAGE cpp or python");
  }
  if (s->language == "sql") {
    if (s->is_aggregate) {
      FailAt(s->name_loc,
             "CREATE AGGREGATE FUNCTION takes LANGUAGE cpp or python: an aggregate's "
             "state and steps are written in C++ or Python");
    }
    if (s->null_input == NullInput::kReturnsNull) {
      FailAt(strict_loc,
             "STRICT is not supported for LANGUAGE SQL functions: write the NULL case "
             "into the body");
    }
    if (!s->body_file.empty()) {
      FailAt(s->body_loc,
             "AS FILE is for LANGUAGE cpp functions; give a SQL function's body "
             "as a string");
    }
    if (body_token) s->body = ParseFunctionBody(s->name, *body_token);
    if (!s->body) Fail("the function body: AS 'expression' or RETURN expression");
    return;
  }
  if (s->body) {
    FailAt(s->body_loc, fmt::format("RETURN expr is for LANGUAGE SQL functions; give the {} "
                                    "source as AS $$...$$ or AS FILE 'path'",
                                    s->language));
  }
  if (body_token) {
    s->body_text = body_token->text;
  } else if (s->body_file.empty()) {
    Fail(fmt::format("the function's {} source: AS $$...$$ or AS FILE 'path'", s->language));
  }
}

// The text of AS '...': an expression, or SELECT of one expression without FROM.
SLUICE_NOINLINE ExprPtr Parser::ParseFunctionBody(const std::string& function, const Token& body) {
  auto fail = [&](const Status& status) {
    // "syntax error at line 1, column 4: expected ..." -> "(at line 1, column 4 of the body)"
    std::string message = status.message();
    std::string where;
    const std::string prefix = "syntax error at ";
    size_t colon = message.find(": ");
    if (message.rfind(prefix, 0) == 0 && colon != std::string::npos) {
      where =
          fmt::format(" (at {} of the body)", message.substr(prefix.size(), colon - prefix.size()));
      message = message.substr(colon + 2);
    }
    FailAt(body.loc, fmt::format("in the body of function {}{}: {}", function, where, message));
  };
  std::string_view text = body.text;
  size_t first = text.find_first_not_of(" \t\r\n(");
  bool select = first != std::string_view::npos && text.size() >= first + 6 &&
                Lower(std::string(text.substr(first, 6))) == "select";
  if (!select) {
    auto e = ParseExpression(text);
    if (!e.ok()) fail(e.status());
    return e.MoveValue();
  }
  auto statements = ParseSql(text);
  if (!statements.ok()) fail(statements.status());
  const auto& list = *statements;
  const SetExpr* body_set = list.size() == 1 && list[0].query ? list[0].query->body.get() : nullptr;
  const Query* q = body_set ? list[0].query.get() : nullptr;
  const SelectCore* core =
      body_set && body_set->kind == SetExpr::Kind::kSelect ? body_set->select.get() : nullptr;
  if (core == nullptr || !q->with.empty() || !q->order_by.empty() || q->limit || q->offset ||
      core->items.size() != 1 || core->from || core->where || !core->group_by.empty() ||
      core->having || core->distinct || core->items[0].expr->kind == ExprKind::kStar) {
    FailAt(body.loc, fmt::format("the body of function {} must be one expression or a SELECT of "
                                 "one expression without FROM; SQL functions are inlined "
                                 "into the query that calls them",
                                 function));
  }
  return core->items[0].expr;
}

SLUICE_NOINLINE void Parser::ParseIfNotExists(Statement* s) {
  if (!AcceptWord("if")) return;
  ExpectWord("not");
  ExpectWord("exists");
  s->if_not_exists = true;
}

SLUICE_NOINLINE void Parser::ParseCreateTable(Statement* s) {
  s->kind = StatementKind::kCreateTable;
  Next();  // TABLE
  ParseIfNotExists(s);
  s->name_loc = Peek().loc;
  s->name = ParseQualifiedName("table name");
  if (AtOp("(")) {
    s->has_column_list = true;
    ParseTableElements(s);
  }
  bool seen_with = false, seen_partitioned = false;
  while (true) {
    if (!seen_partitioned && AtWord("partitioned")) {
      Next();
      ExpectWord("by");
      s->partitioned_by = ParseNameList("column name");
      seen_partitioned = true;
    } else if (!seen_with && AtWord("with") && AtOp("(", 1)) {
      Next();
      ParseOptions(s);
      seen_with = true;
    } else {
      break;
    }
  }
  if (AcceptWord("as")) s->query = ParseQuery();
}

SLUICE_NOINLINE void Parser::ParseTableElements(Statement* s) {
  ExpectOp("(");
  do {
    if (AtWord("watermark") && AtWord("for", 1)) {
      const Token& watermark = Next();
      Next();  // FOR
      if (!s->watermark_column.empty()) FailAt(watermark.loc, "duplicate WATERMARK");
      s->watermark_loc = watermark.loc;
      s->watermark_column = ParseLabel("column name");
      if (AcceptWord("as")) s->watermark_expr = ParseExpr();
    } else if (AtWord("constraint") || (AtWord("primary") && AtWord("key", 1))) {
      const Token& start = Peek();
      if (AcceptWord("constraint")) ParseLabel("constraint name");
      ExpectWord("primary");
      ExpectWord("key");
      if (!s->primary_key.empty()) FailAt(start.loc, "duplicate PRIMARY KEY");
      s->primary_key = ParseNameList("column name");
    } else {
      s->columns.push_back(ParseColumnDef());
    }
  } while (AcceptOp(","));
  ExpectListEnd();
}

SLUICE_NOINLINE ColumnDef Parser::ParseColumnDef() {
  ColumnDef c;
  c.loc = Peek().loc;
  c.name = ParseLabel("column definition");
  if (AcceptWord("as")) {
    // Flink's computed column `name AS expr` (`p_time AS PROCTIME()`): typed by its expression.
    c.type_from_expr = true;
    c.generated = ParseExpr();
    return c;
  }
  c.type = ParseType();
  while (true) {
    if (AtWord("not") && AtWord("null", 1)) {
      Next();
      Next();
      c.not_null = true;
    } else if (AcceptWord("null")) {
      c.not_null = false;
    } else if (AtWord("primary") && AtWord("key", 1)) {
      Next();
      Next();
      c.primary_key = true;
    } else if (AcceptWord("generated")) {
      ExpectWord("always");
      ExpectWord("as");
      ExpectOp("(");
      c.generated = ParseExpr();
      ExpectOp(")");
      if (!AcceptWord("stored")) AcceptWord("virtual");
    } else if (AcceptWord("metadata")) {
      c.has_metadata = true;
      if (AcceptWord("from")) {
        if (Peek().kind != TokenKind::kString) Fail("metadata key string");
        c.metadata_key = Next().text;
      } else {
        c.metadata_key = c.name;  // Flink: METADATA alone reads the key named like the column
      }
      AcceptWord("virtual");
    } else {
      break;
    }
  }
  return c;
}

SLUICE_NOINLINE void Parser::ParseOptions(Statement* s) {
  ExpectOp("(");
  if (AcceptOp(")")) return;
  do {
    TableOption option;
    option.loc = Peek().loc;
    if (Peek().kind == TokenKind::kString) {
      option.key = Lower(Next().text);
    } else if (IsLabel(Peek())) {
      option.key = Lower(Next().text);
      while (AtOp(".") && IsLabel(Peek(1))) {
        Next();
        option.key += '.';
        option.key += Lower(Next().text);
      }
    } else {
      Fail("option name");
    }
    ExpectOp("=");
    option.value_loc = Peek().loc;
    if (Peek().kind == TokenKind::kString && (AtOp(",", 1) || AtOp(")", 1))) {
      option.value = Next().text;
    } else {
      // Numbers, words, INTERVAL '...' and [lists] keep their source text; the connector that
      // owns the option interprets it.
      int begin = Peek().loc.offset;
      ParseExpr();
      option.value = std::string(source_.substr(begin, prev_end_ - begin));
    }
    s->options.push_back(std::move(option));
  } while (AcceptOp(","));
  ExpectListEnd();
}

SLUICE_NOINLINE void Parser::ParseCreateView(Statement* s) {
  s->kind = StatementKind::kCreateView;
  Next();  // VIEW
  ParseIfNotExists(s);
  s->name_loc = Peek().loc;
  s->name = ParseQualifiedName("view name");
  ExpectWord("as");
  s->query = ParseQuery();
}

SLUICE_NOINLINE void Parser::ParseInsert(Statement* s) {
  s->kind = StatementKind::kInsert;
  Next();  // INSERT
  ExpectWord("into");
  s->name_loc = Peek().loc;
  s->name = ParseQualifiedName("table name");
  if (AtOp("(") && !ParenIsQuery(pos_)) {
    FailAt(Peek().loc, "a column list after INSERT INTO is not supported");
  }
  s->query = ParseQuery();
}

SLUICE_NOINLINE void Parser::ParseSet(Statement* s) {
  s->kind = StatementKind::kSet;
  Next();  // SET
  if (!IsLabel(Peek())) Fail("setting name");
  s->set_name = Lower(Next().text);
  while (AtOp(".") && IsLabel(Peek(1))) {
    Next();
    s->set_name += '.';
    s->set_name += Lower(Next().text);
  }
  if (!AcceptOp("=") && !AcceptWord("to")) Fail("'=' or TO");
  const Token& value = Peek();
  if (value.kind == TokenKind::kString && AtStatementEnd(1)) {
    s->set_value = value.text;
    s->set_expr = NewLiteral(LiteralKind::kString, value.text, value.loc);
    Next();
  } else if (value.kind == TokenKind::kIdent && IsReserved(value.text) && AtStatementEnd(1) &&
             value.text != "true" && value.text != "false" && value.text != "null") {
    // SET x = ON / DEFAULT: a word, not an expression.
    s->set_value = value.text;
    Next();
  } else {
    int begin = value.loc.offset;
    s->set_expr = ParseExpr();
    s->set_value = std::string(source_.substr(begin, prev_end_ - begin));
  }
}

SLUICE_NOINLINE void Parser::ParseTypeParams(TypeName* type, size_t max_params) {
  if (!AcceptOp("(")) return;
  do {
    if (type->params.size() == max_params) Fail("')'");
    type->params.push_back(ParseSmallInt("integer"));
  } while (AcceptOp(","));
  ExpectListEnd();
}

// WITH TIME ZONE / WITHOUT TIME ZONE after TIME and TIMESTAMP; returns true for WITH.
bool Parser::ParseTimeZoneSuffix() {
  if (AtWord("without") && AtWord("time", 1)) {
    Next();
    Next();
    ExpectWord("zone");
    return false;
  }
  if (AtWord("with") && AtWord("time", 1)) {
    Next();
    Next();
    ExpectWord("zone");
    return true;
  }
  return false;
}

[[noreturn]] SLUICE_COLD void Parser::FailUnknownType(const Token& tok) const {
  FailAt(tok.loc, fmt::format("unknown type '{}'", Lower(tok.text)));
}

// Consumes a '>' closing STRUCT<...>, splitting a '>>' that closes two at once.
void Parser::ExpectCloseAngle() {
  if (AcceptOp(">")) return;
  if (AtOp(">>")) {
    Token& t = tokens_[pos_];
    t.text = ">";
    t.loc.column += 1;
    t.loc.offset += 1;
    return;
  }
  Fail("',' or '>'");
}

SLUICE_NOINLINE TypeName Parser::ParseType() {
  DepthGuard guard(this);
  TypeName type;
  type.loc = Peek().loc;
  const Token& tok = Peek();
  if (!IsLabel(tok)) Fail("type name");
  std::string word = Lower(tok.text);
  Next();
  bool integer = false;
  if (word == "bool" || word == "boolean") {
    type.name = "bool";
  } else if (word == "tinyint" || word == "int1") {
    type.name = "tinyint";
    integer = true;
  } else if (word == "smallint" || word == "int2") {
    type.name = "smallint";
    integer = true;
  } else if (word == "int" || word == "integer" || word == "int4") {
    type.name = "int";
    integer = true;
  } else if (word == "bigint" || word == "int8") {
    type.name = "bigint";
    integer = true;
  } else if (word == "real" || word == "float4" || word == "float") {
    type.name = "real";
  } else if (word == "double") {
    AcceptWord("precision");
    type.name = "double";
  } else if (word == "float8") {
    type.name = "double";
  } else if (word == "decimal" || word == "numeric") {
    type.name = "decimal";
    ParseTypeParams(&type, 2);
  } else if (word == "text" || word == "string") {
    type.name = "text";
  } else if (word == "varchar" || word == "char" || word == "character") {
    if (word == "character") AcceptWord("varying");
    type.name = "text";
    ParseTypeParams(&type, 1);
  } else if (word == "bytea") {
    type.name = "bytea";
  } else if (word == "date") {
    type.name = "date";
  } else if (word == "time") {
    type.name = "time";
    ParseTypeParams(&type, 1);
    if (ParseTimeZoneSuffix()) FailAt(type.loc, "TIME WITH TIME ZONE is not supported");
  } else if (word == "timestamp") {
    ParseTypeParams(&type, 1);
    type.name = ParseTimeZoneSuffix() ? "timestamptz" : "timestamp";
  } else if (word == "timestamptz") {
    type.name = "timestamptz";
    ParseTypeParams(&type, 1);
  } else if (word == "interval") {
    type.name = "interval";
  } else if (word == "json" || word == "jsonb") {
    type.name = "json";
  } else if (word == "struct") {
    type.name = "struct";
    ParseStructFields(&type);
  } else {
    FailUnknownType(tok);
  }
  if (integer && AcceptWord("unsigned")) type.is_unsigned = true;
  while (AcceptOp("[")) {
    if (Peek().kind == TokenKind::kInteger) Next();  // INT[3]: the size is not enforced
    ExpectOp("]");
    ++type.array_dims;
  }
  return type;
}

SLUICE_NOINLINE void Parser::ParseStructFields(TypeName* type) {
  if (AcceptOp("<>")) return;  // STRUCT<>
  ExpectOp("<");
  do {
    TypeName::FieldDef field;
    field.name = ParseLabel("field name");
    AcceptOp(":");
    field.type = std::make_shared<TypeName>(ParseType());
    type->struct_fields.push_back(std::move(field));
  } while (AcceptOp(","));
  ExpectCloseAngle();
}

}  // namespace sluice::sql::parser_internal
