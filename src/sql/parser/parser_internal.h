#pragma once
// Internals of the SQL parser: the Parser class and the helpers its parts share.

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_set>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "common/status.h"
#include "sql/parser/ast.h"
#include "sql/parser/lexer.h"

namespace sluice::sql::parser_internal {

// Rules are kept out of line: the stack used per nesting level is the sum of the frames on the
// recursive path, and inlining (worse, under ASan) merges every special form's locals into them.
#define SLUICE_NOINLINE __attribute__((noinline))
#define SLUICE_COLD __attribute__((noinline, cold))

// Deeper nesting than this is rejected, so that hostile input cannot overflow the stack.
inline constexpr int kMaxDepth = 1000;

// Thrown at the first syntax error and caught at the API boundary. An exception keeps the grammar
// code free of error plumbing; it never escapes ParseSql/ParseExpression.
struct ParseFailure {
  Status status;
};

// Binding strength of operators, PostgreSQL's order, loosest first.
enum Prec : int {
  kPrecNone = 0,
  kPrecOr,
  kPrecAnd,
  kPrecNot,
  kPrecIs,     // IS [NOT] ..., ISNULL, NOTNULL
  kPrecCmp,    // = <> < > <= >=
  kPrecLike,   // [NOT] BETWEEN, IN, LIKE, ILIKE, SIMILAR TO
  kPrecOther,  // || -> ->> & | # << >> ~
  kPrecAdd,    // + -
  kPrecMul,    // * / %
  kPrecExp,    // ^
  kPrecUnary,  // prefix - + ~
};

// Words that cannot be a bare column name, table name or alias without AS (PostgreSQL's
// reserved keywords, minus `window`, which the streaming dialect uses as a name). `end` is
// reserved for aliases but still accepted as a column name, for `window.end`-style columns.
inline bool IsReserved(std::string_view word) {
  // clang-format off
  static const std::unordered_set<std::string_view> kReserved = {
      "all", "analyse", "analyze", "and", "any", "array", "as", "asc", "asymmetric", "both", "case",
      "cast", "check", "collate", "column", "constraint", "create", "cross", "current_date",
      "current_time", "current_timestamp", "default", "desc", "distinct", "do", "else", "end",
      "except", "false", "fetch", "for", "foreign", "from", "full", "grant", "group", "having",
      "ilike", "in", "inner", "intersect", "into", "is", "isnull", "join", "lateral", "leading",
      "left", "like", "limit", "localtime", "localtimestamp", "natural", "not", "notnull", "null",
      "offset", "on", "only", "or", "order", "outer", "placing", "primary", "references",
      "returning", "right", "select", "similar", "some", "symmetric", "table", "then", "to",
      "trailing", "true", "union", "unique", "using", "variadic", "when", "where", "with",
  };
  // clang-format on
  return kReserved.count(word) > 0;
}

// Statement words we recognize only to say that they are not supported.
inline bool IsOtherStatementWord(std::string_view word) {
  // clang-format off
  static const std::unordered_set<std::string_view> kWords = {
      "alter", "analyze", "begin", "call", "commit", "copy", "deallocate", "declare", "delete",
      "describe", "drop", "execute", "explain", "grant", "listen", "lock", "merge", "prepare",
      "refresh", "reset", "revoke", "rollback", "show", "start", "truncate", "update", "upsert",
      "use", "vacuum", "values", "abort", "checkpoint", "comment", "notify", "reindex",
  };
  // clang-format on
  return kWords.count(word) > 0;
}

inline bool IsIntervalUnit(std::string_view word) {
  // clang-format off
  static const std::unordered_set<std::string_view> kUnits = {
      "year", "years", "month", "months", "week", "weeks", "day", "days", "hour", "hours", "minute",
      "minutes", "second", "seconds", "millisecond", "milliseconds", "microsecond", "microseconds",
  };
  // clang-format on
  return kUnits.count(word) > 0;
}

inline std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

inline std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

inline ExprPtr NewExpr(ExprKind kind, Location loc) {
  auto e = std::make_shared<Expr>();
  e->kind = kind;
  e->loc = loc;
  return e;
}

inline ExprPtr NewLiteral(LiteralKind literal_kind, std::string text, Location loc) {
  ExprPtr e = NewExpr(ExprKind::kLiteral, loc);
  e->literal_kind = literal_kind;
  e->text = std::move(text);
  return e;
}

inline ExprPtr NewFunction(std::string name, std::vector<ExprPtr> args, Location loc) {
  ExprPtr e = NewExpr(ExprKind::kFunction, loc);
  e->names = {std::move(name)};
  e->args = std::move(args);
  return e;
}

class Parser {
 public:
  Parser(std::string_view sql, std::vector<Token> tokens);
  std::vector<Statement> ParseStatements();
  ExprPtr ParseStandaloneExpression();

 private:
  // Counts nesting on entry to every recursive rule.
  class DepthGuard {
   public:
    explicit DepthGuard(Parser* parser) : parser_(parser) {
      if (++parser_->depth_ > kMaxDepth) {
        --parser_->depth_;
        parser_->FailTooDeep();
      }
    }
    ~DepthGuard() { --parser_->depth_; }
    DepthGuard(const DepthGuard&) = delete;
    DepthGuard& operator=(const DepthGuard&) = delete;

   private:
    Parser* parser_;
  };

  // ---- tokens ----

  void BeginStatement();

  const Token& TokenAt(size_t i) const { return tokens_[std::min(i, tokens_.size() - 1)]; }
  const Token& Peek(size_t ahead = 0) const { return TokenAt(pos_ + ahead); }
  // Consumes the current token. The last token (end of input or a lexical error) is never
  // passed, so lookahead past it keeps seeing it.
  const Token& Next() {
    const Token& t = tokens_[pos_];
    prev_end_ = t.end;
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }

  static bool IsWord(const Token& t, std::string_view word) {
    return t.kind == TokenKind::kIdent && t.text == word;
  }
  static bool IsOp(const Token& t, std::string_view op) {
    return t.kind == TokenKind::kOperator && t.text == op;
  }
  bool AtWord(std::string_view word, size_t ahead = 0) const { return IsWord(Peek(ahead), word); }
  bool AtOp(std::string_view op, size_t ahead = 0) const { return IsOp(Peek(ahead), op); }
  bool AtStatementEnd(size_t ahead = 0) const {
    return AtOp(";", ahead) || Peek(ahead).kind == TokenKind::kEnd;
  }
  bool AcceptWord(std::string_view word) {
    if (!AtWord(word)) return false;
    Next();
    return true;
  }
  bool AcceptOp(std::string_view op) {
    if (!AtOp(op)) return false;
    Next();
    return true;
  }
  void ExpectWord(std::string_view word) {
    if (!AcceptWord(word)) FailExpectedWord(word);
  }
  void ExpectOp(std::string_view op) {
    if (!AcceptOp(op)) FailExpected("'", op, "'");
  }
  // Ends a parenthesized, comma-separated list.
  void ExpectListEnd(std::string_view close = ")") {
    if (!AcceptOp(close)) FailExpected("',' or '", close, "'");
  }

  [[noreturn]] SLUICE_COLD void FailExpected(std::string_view a, std::string_view b = "",
                                             std::string_view c = "") const {
    Fail(fmt::format("{}{}{}", a, b, c));
  }
  [[noreturn]] SLUICE_COLD void FailExpectedWord(std::string_view word) const { Fail(Upper(word)); }
  [[noreturn]] SLUICE_COLD void FailAt(Location loc, std::string_view message) const {
    throw ParseFailure{
        Status::User("syntax error at line {}, column {}: {}", loc.line, loc.column, message)};
  }
  [[noreturn]] SLUICE_COLD void Fail(std::string_view expected) const {
    const Token& t = Peek();
    if (t.kind == TokenKind::kError) FailAt(t.loc, t.text);
    FailAt(t.loc, fmt::format("expected {}, found {}", expected, DescribeToken(source_, t)));
  }
  [[noreturn]] SLUICE_COLD void FailTooDeep() const;

  // A name that may be any word, reserved or not (after AS, after '.', option keys...).
  static bool IsLabel(const Token& t) {
    return t.kind == TokenKind::kIdent || t.kind == TokenKind::kQuotedIdent;
  }
  // A name that stands on its own where a keyword could also appear (table names, aliases).
  static bool IsColId(const Token& t) {
    return t.kind == TokenKind::kQuotedIdent ||
           (t.kind == TokenKind::kIdent && !IsReserved(t.text));
  }
  std::string ParseLabel(std::string_view what);
  std::string ParseQualifiedName(std::string_view what);
  SLUICE_NOINLINE std::vector<std::string> ParseNameList(std::string_view what);
  int ParseSmallInt(std::string_view what);
  bool ParenIsQuery(size_t i) const;

  // ---- statements ----

  SLUICE_NOINLINE Statement ParseStatement();
  [[noreturn]] SLUICE_COLD void FailUnsupported(const Token& at, std::string_view what) const;
  SLUICE_NOINLINE void ParseCreate(Statement* s);
  SLUICE_NOINLINE void ParseCreateFunction(Statement* s);
  SLUICE_NOINLINE ExprPtr ParseFunctionBody(const std::string& function, const Token& body);
  SLUICE_NOINLINE void ParseIfNotExists(Statement* s);
  SLUICE_NOINLINE void ParseCreateTable(Statement* s);
  SLUICE_NOINLINE void ParseTableElements(Statement* s);
  SLUICE_NOINLINE ColumnDef ParseColumnDef();
  SLUICE_NOINLINE void ParseOptions(Statement* s);
  SLUICE_NOINLINE void ParseCreateView(Statement* s);
  SLUICE_NOINLINE void ParseInsert(Statement* s);
  SLUICE_NOINLINE void ParseSet(Statement* s);

  // ---- types ----

  SLUICE_NOINLINE void ParseTypeParams(TypeName* type, size_t max_params);
  bool ParseTimeZoneSuffix();
  [[noreturn]] SLUICE_COLD void FailUnknownType(const Token& tok) const;
  void ExpectCloseAngle();
  SLUICE_NOINLINE TypeName ParseType();
  SLUICE_NOINLINE void ParseStructFields(TypeName* type);

  // ---- queries ----

  SLUICE_NOINLINE QueryPtr ParseQuery();
  SLUICE_NOINLINE SetExprPtr ParseSetExpr(int min_prec);
  SLUICE_NOINLINE SetExprPtr ParseSetPrimary();
  SLUICE_NOINLINE std::shared_ptr<SelectCore> ParseSelectCore();
  SLUICE_NOINLINE SelectItem ParseSelectItem();
  std::string ParseOptionalAlias();
  bool AtWindowClause() const;
  SLUICE_NOINLINE std::vector<WindowSpec::OrderItem> ParseOrderByList();

  // ---- FROM ----

  SLUICE_NOINLINE TableRefPtr ParseFromList();
  static TableRefPtr NewJoin(JoinType type, TableRefPtr left, TableRefPtr right);
  SLUICE_NOINLINE TableRefPtr ParseTableRef();
  SLUICE_NOINLINE TableRefPtr ParseTablePrimary();

  // ---- expressions ----

  SLUICE_NOINLINE ExprPtr ParseExpr(int min_prec = kPrecNone);
  int InfixPrecedence() const;
  SLUICE_NOINLINE ExprPtr ParseInfix(ExprPtr left, int prec, Location loc);
  SLUICE_NOINLINE ExprPtr ParseIs(ExprPtr left, Location loc);
  SLUICE_NOINLINE ExprPtr ParsePrefix();
  SLUICE_NOINLINE ExprPtr ParsePostfix(ExprPtr e, Location start);
  SLUICE_NOINLINE ExprPtr ParseCastSuffix(ExprPtr value, Location start);
  SLUICE_NOINLINE ExprPtr ParseSubscriptSuffix(ExprPtr base, Location start);
  SLUICE_NOINLINE ExprPtr ParseFieldSuffix(ExprPtr base, Location start);
  SLUICE_NOINLINE ExprPtr ParsePrimary();
  SLUICE_NOINLINE ExprPtr ParseWordPrimary();
  SLUICE_NOINLINE ExprPtr ParseKeywordLiteral();
  SLUICE_NOINLINE ExprPtr ParseExists();
  SLUICE_NOINLINE ExprPtr ParseArrayConstructor();
  SLUICE_NOINLINE ExprPtr ParseRowConstructor();
  SLUICE_NOINLINE ExprPtr ParseTypedLiteral();
  SLUICE_NOINLINE ExprPtr ParseCurrentTime();
  SLUICE_NOINLINE ExprPtr ParseNameOrCall();
  SLUICE_NOINLINE void ParseCallArguments(Expr* f);
  SLUICE_NOINLINE void ParseCallSuffixes(Expr* f);
  SLUICE_NOINLINE std::shared_ptr<WindowSpec> ParseWindowSpec();
  SLUICE_NOINLINE WindowFrame ParseWindowFrame();
  SLUICE_NOINLINE WindowFrame::Bound ParseFrameBound();
  SLUICE_NOINLINE ExprPtr ParseParenthesized();
  SLUICE_NOINLINE ExprPtr ParseParenSubquery();
  SLUICE_NOINLINE ExprPtr ParseArrayElements(Location loc);
  SLUICE_NOINLINE ExprPtr ParseCase();
  SLUICE_NOINLINE ExprPtr ParseCast();
  SLUICE_NOINLINE ExprPtr ParseExtract();
  SLUICE_NOINLINE ExprPtr ParsePosition();
  SLUICE_NOINLINE ExprPtr ParseSubstring();
  SLUICE_NOINLINE ExprPtr ParseTrim();
  SLUICE_NOINLINE ExprPtr ParseInterval();

  std::string_view sql_;     // the whole input
  std::string_view source_;  // the current statement, from its first token on
  std::vector<Token> tokens_;
  std::vector<int> match_;  // index of the matching ')' for each '(' token, else -1
  size_t pos_ = 0;
  int prev_end_ = 0;  // end offset of the last consumed token
  int depth_ = 0;
};

}  // namespace sluice::sql::parser_internal
