#include "sql/parser/parser.h"

#include <charconv>
#include <string>
#include <utility>
#include <vector>

#include "sql/parser/lexer.h"
#include "sql/parser/parser_internal.h"

// A hand-written recursive-descent parser. Expressions use precedence climbing with
// PostgreSQL's operator precedence. Keywords are recognized by context, so words such as
// `window`, `end`, `start` and `timestamp` stay usable as names.

namespace sluice::sql::parser_internal {

Parser::Parser(std::string_view sql, std::vector<Token> tokens)
    : sql_(sql), tokens_(std::move(tokens)), match_(tokens_.size(), -1) {
  // Matching parentheses, for the few places where "( ... )" could open a query or something
  // else and one token of lookahead cannot tell.
  std::vector<size_t> open;
  for (size_t i = 0; i < tokens_.size(); ++i) {
    if (tokens_[i].kind != TokenKind::kOperator) continue;
    if (tokens_[i].text == "(") {
      open.push_back(i);
    } else if (tokens_[i].text == ")" && !open.empty()) {
      match_[open.back()] = static_cast<int>(i);
      open.pop_back();
    }
  }
}

std::vector<Statement> Parser::ParseStatements() {
  std::vector<Statement> statements;
  while (true) {
    while (AcceptOp(";")) {
    }
    if (Peek().kind == TokenKind::kEnd) break;
    BeginStatement();
    Location start = Peek().loc;
    Statement statement = ParseStatement();
    statement.loc = start;
    statement.text = std::string(source_.substr(0, prev_end_));
    statements.push_back(std::move(statement));
    if (Peek().kind == TokenKind::kEnd) break;
    if (!AtOp(";")) Fail("';' or end of input");
  }
  return statements;
}

ExprPtr Parser::ParseStandaloneExpression() {
  source_ = sql_;
  ExprPtr e = ParseExpr();
  AcceptOp(";");
  if (Peek().kind != TokenKind::kEnd) Fail("end of input");
  return e;
}

// Locations in the AST count bytes from the start of their statement (line and column stay
// those of the whole input, for messages). A ';' always ends a statement, so the statement's
// tokens are known before it is parsed and can be rebased up front.
void Parser::BeginStatement() {
  int base = Peek().loc.offset;
  source_ = sql_.substr(static_cast<size_t>(base));
  for (size_t i = pos_; i < tokens_.size(); ++i) {
    tokens_[i].loc.offset -= base;
    tokens_[i].end -= base;
    if (IsOp(tokens_[i], ";")) break;
  }
}

std::string Parser::ParseLabel(std::string_view what) {
  if (!IsLabel(Peek())) Fail(what);
  return Next().text;
}

// a, a.b, "A".b: for table, function and setting names.
std::string Parser::ParseQualifiedName(std::string_view what) {
  if (!IsColId(Peek())) Fail(what);
  std::string name = Next().text;
  while (AtOp(".") && IsLabel(Peek(1))) {
    Next();
    name += "." + Next().text;
  }
  return name;
}

SLUICE_NOINLINE std::vector<std::string> Parser::ParseNameList(std::string_view what) {
  ExpectOp("(");
  std::vector<std::string> names;
  do {
    names.push_back(ParseLabel(what));
  } while (AcceptOp(","));
  ExpectListEnd();
  return names;
}

int Parser::ParseSmallInt(std::string_view what) {
  const Token& t = Peek();
  if (t.kind != TokenKind::kInteger) Fail(what);
  int value = 0;
  auto [ptr, ec] = std::from_chars(t.text.data(), t.text.data() + t.text.size(), value);
  if (ec != std::errc() || ptr != t.text.data() + t.text.size()) {
    FailAt(t.loc, fmt::format("number {} is out of range", t.text));
  }
  Next();
  return value;
}

// Does the '(' at token `i` open a query (rather than an expression or a join)? Looks through
// nested parentheses: "((SELECT 1) UNION (SELECT 2))" is a query, "((SELECT 1) + 1)" is not.
bool Parser::ParenIsQuery(size_t i) const {
  for (int guard = 0; guard <= kMaxDepth; ++guard) {
    if (!IsOp(TokenAt(i), "(")) return false;
    size_t inner = i + 1;
    const Token& first = TokenAt(inner);
    if (IsWord(first, "select") || IsWord(first, "with") || IsWord(first, "values")) return true;
    if (!IsOp(first, "(") || inner >= tokens_.size() || match_[inner] < 0) return false;
    const Token& after = TokenAt(static_cast<size_t>(match_[inner]) + 1);
    for (std::string_view w : {"union", "intersect", "except", "order", "limit", "offset"}) {
      if (IsWord(after, w)) return true;
    }
    if (!IsOp(after, ")")) return false;
    i = inner;
  }
  return false;
}

[[noreturn]] SLUICE_COLD void Parser::FailTooDeep() const {
  FailAt(Peek().loc, fmt::format("statement nested too deeply (limit {} levels)", kMaxDepth));
}

}  // namespace sluice::sql::parser_internal

namespace sluice::sql {

using parser_internal::ParseFailure;
using parser_internal::Parser;

Result<std::vector<Statement>> ParseSql(std::string_view sql) {
  try {
    Parser parser(sql, Lexer(sql).Tokenize());
    return parser.ParseStatements();
  } catch (const ParseFailure& failure) {
    return failure.status;
  }
}

Result<ExprPtr> ParseExpression(std::string_view sql) {
  try {
    Parser parser(sql, Lexer(sql).Tokenize());
    return parser.ParseStandaloneExpression();
  } catch (const ParseFailure& failure) {
    return failure.status;
  }
}

}  // namespace sluice::sql
