#include "sql/parser/parser.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <unordered_set>
#include <utility>

#include <fmt/format.h>

#include "sql/parser/lexer.h"

// A hand-written recursive-descent parser. Expressions use precedence climbing with
// PostgreSQL's operator precedence. Keywords are recognized by context, so words such as
// `window`, `end`, `start` and `timestamp` stay usable as names.

namespace sluice::sql {
namespace {

// Rules are kept out of line: the stack used per nesting level is the sum of the frames on the
// recursive path, and inlining (worse, under ASan) merges every special form's locals into them.
#define SLUICE_NOINLINE __attribute__((noinline))
#define SLUICE_COLD __attribute__((noinline, cold))

// Deeper nesting than this is rejected, so that hostile input cannot overflow the stack.
constexpr int kMaxDepth = 1000;

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
bool IsReserved(std::string_view word) {
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
bool IsOtherStatementWord(std::string_view word) {
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

bool IsIntervalUnit(std::string_view word) {
  // clang-format off
  static const std::unordered_set<std::string_view> kUnits = {
      "year", "years", "month", "months", "week", "weeks", "day", "days", "hour", "hours", "minute",
      "minutes", "second", "seconds", "millisecond", "milliseconds", "microsecond", "microseconds",
  };
  // clang-format on
  return kUnits.count(word) > 0;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

ExprPtr NewExpr(ExprKind kind, Location loc) {
  auto e = std::make_shared<Expr>();
  e->kind = kind;
  e->loc = loc;
  return e;
}

ExprPtr NewLiteral(LiteralKind literal_kind, std::string text, Location loc) {
  ExprPtr e = NewExpr(ExprKind::kLiteral, loc);
  e->literal_kind = literal_kind;
  e->text = std::move(text);
  return e;
}

ExprPtr NewFunction(std::string name, std::vector<ExprPtr> args, Location loc) {
  ExprPtr e = NewExpr(ExprKind::kFunction, loc);
  e->names = {std::move(name)};
  e->args = std::move(args);
  return e;
}

class Parser {
 public:
  Parser(std::string_view sql, std::vector<Token> tokens)
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

  std::vector<Statement> ParseStatements() {
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

  ExprPtr ParseStandaloneExpression() {
    source_ = sql_;
    ExprPtr e = ParseExpr();
    AcceptOp(";");
    if (Peek().kind != TokenKind::kEnd) Fail("end of input");
    return e;
  }

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

  // Locations in the AST count bytes from the start of their statement (line and column stay
  // those of the whole input, for messages). A ';' always ends a statement, so the statement's
  // tokens are known before it is parsed and can be rebased up front.
  void BeginStatement() {
    int base = Peek().loc.offset;
    source_ = sql_.substr(static_cast<size_t>(base));
    for (size_t i = pos_; i < tokens_.size(); ++i) {
      tokens_[i].loc.offset -= base;
      tokens_[i].end -= base;
      if (IsOp(tokens_[i], ";")) break;
    }
  }

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

  // A name that may be any word, reserved or not (after AS, after '.', option keys...).
  static bool IsLabel(const Token& t) {
    return t.kind == TokenKind::kIdent || t.kind == TokenKind::kQuotedIdent;
  }
  // A name that stands on its own where a keyword could also appear (table names, aliases).
  static bool IsColId(const Token& t) {
    return t.kind == TokenKind::kQuotedIdent ||
           (t.kind == TokenKind::kIdent && !IsReserved(t.text));
  }
  std::string ParseLabel(std::string_view what) {
    if (!IsLabel(Peek())) Fail(what);
    return Next().text;
  }
  // a, a.b, "A".b: for table, function and setting names.
  std::string ParseQualifiedName(std::string_view what) {
    if (!IsColId(Peek())) Fail(what);
    std::string name = Next().text;
    while (AtOp(".") && IsLabel(Peek(1))) {
      Next();
      name += "." + Next().text;
    }
    return name;
  }
  SLUICE_NOINLINE std::vector<std::string> ParseNameList(std::string_view what) {
    ExpectOp("(");
    std::vector<std::string> names;
    do {
      names.push_back(ParseLabel(what));
    } while (AcceptOp(","));
    ExpectListEnd();
    return names;
  }
  int ParseSmallInt(std::string_view what) {
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
  bool ParenIsQuery(size_t i) const {
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

  // ---- statements ----

  SLUICE_NOINLINE Statement ParseStatement() {
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

  [[noreturn]] SLUICE_COLD void FailTooDeep() const {
    FailAt(Peek().loc, fmt::format("statement nested too deeply (limit {} levels)", kMaxDepth));
  }

  [[noreturn]] SLUICE_COLD void FailUnsupported(const Token& at, std::string_view what) const {
    FailAt(at.loc, fmt::format("unsupported statement {}: Sluice runs CREATE TABLE, CREATE VIEW, "
                               "CREATE FUNCTION, INSERT INTO, SELECT and SET",
                               what));
  }

  SLUICE_NOINLINE void ParseCreate(Statement* s) {
    const Token& create = Next();
    if (AtWord("or") && AtWord("replace", 1)) {
      Next();
      Next();
      s->or_replace = true;
    }
    if (AcceptWord("temporary") || AcceptWord("temp")) s->temporary = true;
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
  SLUICE_NOINLINE void ParseCreateFunction(Statement* s) {
    s->kind = StatementKind::kCreateFunction;
    Next();  // FUNCTION
    s->name_loc = Peek().loc;
    s->name = ParseQualifiedName("function name");
    ExpectOp("(");
    if (!AcceptOp(")")) {
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
    while (true) {
      const Token& at = Peek();
      if (AtWord("strict") || (AtWord("returns") && AtWord("null", 1))) {
        FailAt(at.loc, "STRICT is not supported: write the NULL case into the body");
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
        std::string name = Peek().kind == TokenKind::kString ? Next().text : ParseLabel("language");
        if (Lower(name) != "sql") {
          FailAt(lang.loc, fmt::format("LANGUAGE {} is not supported: functions are written in "
                                       "LANGUAGE SQL",
                                       name));
        }
      } else if (AcceptWord("immutable") || AcceptWord("stable") || AcceptWord("volatile") ||
                 AcceptWord("leakproof")) {
        // Planner hints for PostgreSQL; an inlined expression needs none.
      } else if (AcceptWord("parallel")) {
        ParseLabel("SAFE, RESTRICTED or UNSAFE");
      } else if (AtWord("called") && AtWord("on", 1)) {
        Next();
        Next();
        ExpectWord("null");
        ExpectWord("input");
      } else if (!s->body && AcceptWord("as")) {
        if (Peek().kind != TokenKind::kString) Fail("the function body as a string");
        s->body_loc = Peek().loc;
        s->body = ParseFunctionBody(s->name, Next());
      } else if (!s->body && AtWord("return")) {
        Next();
        s->body_loc = Peek().loc;
        s->body = ParseExpr();
      } else {
        break;
      }
    }
    if (!has_returns) Fail("RETURNS type");
    if (!s->body) Fail("the function body: AS 'expression' or RETURN expression");
  }

  // The text of AS '...': an expression, or SELECT of one expression without FROM.
  SLUICE_NOINLINE ExprPtr ParseFunctionBody(const std::string& function, const Token& body) {
    auto fail = [&](const Status& status) {
      // "syntax error at line 1, column 4: expected ..." -> "(at line 1, column 4 of the body)"
      std::string message = status.message();
      std::string where;
      const std::string prefix = "syntax error at ";
      size_t colon = message.find(": ");
      if (message.rfind(prefix, 0) == 0 && colon != std::string::npos) {
        where = fmt::format(" (at {} of the body)",
                            message.substr(prefix.size(), colon - prefix.size()));
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
    const SetExpr* body_set =
        list.size() == 1 && list[0].query ? list[0].query->body.get() : nullptr;
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

  SLUICE_NOINLINE void ParseIfNotExists(Statement* s) {
    if (!AcceptWord("if")) return;
    ExpectWord("not");
    ExpectWord("exists");
    s->if_not_exists = true;
  }

  SLUICE_NOINLINE void ParseCreateTable(Statement* s) {
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

  SLUICE_NOINLINE void ParseTableElements(Statement* s) {
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

  SLUICE_NOINLINE ColumnDef ParseColumnDef() {
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

  SLUICE_NOINLINE void ParseOptions(Statement* s) {
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

  SLUICE_NOINLINE void ParseCreateView(Statement* s) {
    s->kind = StatementKind::kCreateView;
    Next();  // VIEW
    ParseIfNotExists(s);
    s->name_loc = Peek().loc;
    s->name = ParseQualifiedName("view name");
    ExpectWord("as");
    s->query = ParseQuery();
  }

  SLUICE_NOINLINE void ParseInsert(Statement* s) {
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

  SLUICE_NOINLINE void ParseSet(Statement* s) {
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

  // ---- types ----

  SLUICE_NOINLINE void ParseTypeParams(TypeName* type, size_t max_params) {
    if (!AcceptOp("(")) return;
    do {
      if (type->params.size() == max_params) Fail("')'");
      type->params.push_back(ParseSmallInt("integer"));
    } while (AcceptOp(","));
    ExpectListEnd();
  }

  // WITH TIME ZONE / WITHOUT TIME ZONE after TIME and TIMESTAMP; returns true for WITH.
  bool ParseTimeZoneSuffix() {
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

  [[noreturn]] SLUICE_COLD void FailUnknownType(const Token& tok) const {
    FailAt(tok.loc, fmt::format("unknown type '{}'", Lower(tok.text)));
  }

  // Consumes a '>' closing STRUCT<...>, splitting a '>>' that closes two at once.
  void ExpectCloseAngle() {
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

  SLUICE_NOINLINE TypeName ParseType() {
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

  SLUICE_NOINLINE void ParseStructFields(TypeName* type) {
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

  // ---- queries ----

  SLUICE_NOINLINE QueryPtr ParseQuery() {
    DepthGuard guard(this);
    auto query = std::make_shared<Query>();
    query->loc = Peek().loc;
    if (AcceptWord("with")) {
      query->recursive = AcceptWord("recursive");
      do {
        CommonTableExpr cte;
        cte.loc = Peek().loc;
        if (!IsColId(Peek())) Fail("common table expression name");
        cte.name = Next().text;
        if (AtOp("(")) cte.column_names = ParseNameList("column name");
        ExpectWord("as");
        ExpectOp("(");
        cte.query = ParseQuery();
        ExpectOp(")");
        query->with.push_back(std::move(cte));
      } while (AcceptOp(","));
    }
    query->body = ParseSetExpr(kPrecNone);
    if (AcceptWord("order")) {
      ExpectWord("by");
      query->order_by = ParseOrderByList();
    }
    bool seen_limit = false, seen_offset = false;
    while (true) {
      if (!seen_limit && AcceptWord("limit")) {
        seen_limit = true;
        if (!AcceptWord("all")) query->limit = ParseExpr();
      } else if (!seen_offset && AcceptWord("offset")) {
        seen_offset = true;
        query->offset = ParseExpr();
        if (!AcceptWord("rows")) AcceptWord("row");
      } else {
        break;
      }
    }
    return query;
  }

  // UNION and EXCEPT bind equally and loosest; INTERSECT binds tighter. All are left-associative.
  SLUICE_NOINLINE SetExprPtr ParseSetExpr(int min_prec) {
    DepthGuard guard(this);
    SetExprPtr left = ParseSetPrimary();
    while (true) {
      int prec = AtWord("union") || AtWord("except") ? 1 : AtWord("intersect") ? 2 : 0;
      if (prec == 0 || prec < min_prec) break;
      auto node = std::make_shared<SetExpr>();
      node->kind = SetExpr::Kind::kSetOp;
      node->loc = left->loc;
      node->set_op = Next().text;
      node->all = AcceptWord("all");
      if (!node->all) AcceptWord("distinct");
      node->left = std::move(left);
      node->right = ParseSetExpr(prec + 1);
      left = std::move(node);
    }
    return left;
  }

  SLUICE_NOINLINE SetExprPtr ParseSetPrimary() {
    auto set = std::make_shared<SetExpr>();
    set->loc = Peek().loc;
    if (AtWord("select")) {
      set->kind = SetExpr::Kind::kSelect;
      set->select = ParseSelectCore();
    } else if (AcceptOp("(")) {
      set->kind = SetExpr::Kind::kQuery;
      set->query = ParseQuery();
      ExpectOp(")");
    } else if (AtWord("values")) {
      FailAt(Peek().loc, "VALUES lists are not supported; use SELECT");
    } else {
      Fail("SELECT or '('");
    }
    return set;
  }

  SLUICE_NOINLINE std::shared_ptr<SelectCore> ParseSelectCore() {
    auto core = std::make_shared<SelectCore>();
    core->loc = Next().loc;  // SELECT
    if (AcceptWord("distinct")) {
      core->distinct = true;
      if (AtWord("on")) FailAt(Peek().loc, "DISTINCT ON is not supported");
    } else {
      AcceptWord("all");
    }
    do {
      core->items.push_back(ParseSelectItem());
    } while (AcceptOp(","));
    if (AcceptWord("from")) core->from = ParseFromList();
    if (AcceptWord("where")) core->where = ParseExpr();
    if (AcceptWord("group")) {
      ExpectWord("by");
      do {
        core->group_by.push_back(ParseExpr());
      } while (AcceptOp(","));
    }
    if (AcceptWord("having")) core->having = ParseExpr();
    if (AtWindowClause()) {
      Next();
      do {
        NamedWindow& w = core->windows.emplace_back();
        w.loc = Peek().loc;
        w.name = ParseLabel("window name");
        ExpectWord("as");
        w.spec = ParseWindowSpec();
      } while (AcceptOp(","));
    }
    return core;
  }

  SLUICE_NOINLINE SelectItem ParseSelectItem() {
    SelectItem item;
    item.loc = Peek().loc;
    if (AtOp("*")) {
      item.expr = NewExpr(ExprKind::kStar, Next().loc);
      return item;
    }
    item.expr = ParseExpr();
    item.alias = ParseOptionalAlias();
    return item;
  }

  // [AS] alias. Without AS, a reserved word is not an alias: it starts the next clause.
  std::string ParseOptionalAlias() {
    if (AcceptWord("as")) return ParseLabel("alias");
    if (IsColId(Peek()) && !AtWindowClause()) return Next().text;
    return "";
  }
  // WINDOW name AS (: the WINDOW clause (`window` alone may be a name).
  bool AtWindowClause() const {
    return AtWord("window") && IsLabel(Peek(1)) && IsWord(Peek(2), "as") && IsOp(Peek(3), "(");
  }

  SLUICE_NOINLINE std::vector<WindowSpec::OrderItem> ParseOrderByList() {
    std::vector<WindowSpec::OrderItem> items;
    do {
      WindowSpec::OrderItem& item = items.emplace_back();
      item.expr = ParseExpr();  // nothing else touches `items` meanwhile
      if (AcceptWord("desc")) {
        item.descending = true;
      } else {
        AcceptWord("asc");
      }
      if (AcceptWord("nulls")) {
        if (AcceptWord("first")) {
          item.nulls_first = true;
        } else if (AcceptWord("last")) {
          item.nulls_first = false;
        } else {
          Fail("FIRST or LAST");
        }
      }
    } while (AcceptOp(","));
    return items;
  }

  // ---- FROM ----

  SLUICE_NOINLINE TableRefPtr ParseFromList() {
    TableRefPtr left = ParseTableRef();
    while (AtOp(",")) {
      Next();
      left = NewJoin(JoinType::kCross, std::move(left), ParseTableRef());
    }
    return left;
  }

  static TableRefPtr NewJoin(JoinType type, TableRefPtr left, TableRefPtr right) {
    auto join = std::make_shared<TableRef>();
    join->kind = TableRef::Kind::kJoin;
    join->loc = left->loc;
    join->join_type = type;
    join->left = std::move(left);
    join->right = std::move(right);
    return join;
  }

  SLUICE_NOINLINE TableRefPtr ParseTableRef() {
    DepthGuard guard(this);
    TableRefPtr left = ParseTablePrimary();
    while (true) {
      JoinType type;
      if (AcceptWord("cross")) {
        ExpectWord("join");
        left = NewJoin(JoinType::kCross, std::move(left), ParseTablePrimary());
        continue;
      }
      if (AcceptWord("join")) {
        type = JoinType::kInner;
      } else if (AcceptWord("inner")) {
        ExpectWord("join");
        type = JoinType::kInner;
      } else if (AtWord("left") || AtWord("right") || AtWord("full")) {
        std::string side = Next().text;
        type = side == "left"    ? JoinType::kLeft
               : side == "right" ? JoinType::kRight
                                 : JoinType::kFull;
        AcceptWord("outer");
        ExpectWord("join");
      } else if (AtWord("natural")) {
        FailAt(Peek().loc, "NATURAL JOIN is not supported; use JOIN ... USING (...)");
      } else {
        break;
      }
      TableRefPtr join = NewJoin(type, std::move(left), ParseTablePrimary());
      if (AcceptWord("on")) {
        join->on = ParseExpr();
      } else if (AcceptWord("using")) {
        join->using_columns = ParseNameList("column name");
      } else {
        Fail("ON or USING");
      }
      left = std::move(join);
    }
    return left;
  }

  SLUICE_NOINLINE TableRefPtr ParseTablePrimary() {
    DepthGuard guard(this);
    auto ref = std::make_shared<TableRef>();
    ref->loc = Peek().loc;
    if (AtOp("(")) {
      if (ParenIsQuery(pos_)) {
        Next();
        ref->kind = TableRef::Kind::kSubquery;
        ref->subquery = ParseQuery();
        ExpectOp(")");
      } else {
        Next();
        ref = ParseTableRef();
        ExpectOp(")");
      }
    } else if (AtWord("lateral")) {
      FailAt(Peek().loc, "LATERAL is not supported");
    } else if (IsColId(Peek())) {
      ref->name = ParseQualifiedName("table name");
      if (AtOp("(")) {
        ref->kind = TableRef::Kind::kFunction;
        ref->name = Lower(ref->name);  // function names are case-insensitive, even quoted
        Next();
        if (!AtOp(")")) {
          do {
            ref->args.push_back(ParseExpr());
          } while (AcceptOp(","));
        }
        ExpectListEnd();
      } else {
        ref->kind = TableRef::Kind::kNamed;
        // FOR SYSTEM_TIME AS OF <expr>: the side table of a lookup join.
        if (AtWord("for") && AtWord("system_time", 1)) {
          Next();
          Next();
          ExpectWord("as");
          ExpectWord("of");
          ref->as_of = ParseExpr();
        }
      }
    } else {
      Fail("table name or '('");
    }
    std::string alias = ParseOptionalAlias();
    if (!alias.empty()) ref->alias = std::move(alias);
    if (!ref->alias.empty() && AtOp("(")) {
      if (ref->kind == TableRef::Kind::kJoin) {
        FailAt(Peek().loc, "column aliases on a parenthesized join are not supported");
      }
      ref->column_aliases = ParseNameList("column alias");
    }
    return ref;
  }

  // ---- expressions ----

  SLUICE_NOINLINE ExprPtr ParseExpr(int min_prec = kPrecNone) {
    DepthGuard guard(this);
    // Operator nodes start where their left operand's first token does, '(' included.
    Location start = Peek().loc;
    ExprPtr left = ParsePrefix();
    while (true) {
      int prec = InfixPrecedence();
      if (prec == kPrecNone || prec < min_prec) break;
      left = ParseInfix(std::move(left), prec, start);
    }
    return left;
  }

  int InfixPrecedence() const {
    const Token& t = Peek();
    if (t.kind == TokenKind::kOperator) {
      const std::string& op = t.text;
      if (op == "=" || op == "<>" || op == "!=" || op == "<" || op == ">" || op == "<=" ||
          op == ">=") {
        return kPrecCmp;
      }
      if (op == "+" || op == "-") return kPrecAdd;
      if (op == "*" || op == "/" || op == "%") return kPrecMul;
      if (op == "^") return kPrecExp;
      if (op == "||" || op == "->" || op == "->>" || op == "&" || op == "|" || op == "#" ||
          op == "<<" || op == ">>" || op == "~") {
        return kPrecOther;
      }
      return kPrecNone;
    }
    if (t.kind != TokenKind::kIdent) return kPrecNone;
    const std::string& w = t.text;
    if (w == "or") return kPrecOr;
    if (w == "and") return kPrecAnd;
    if (w == "is" || w == "isnull" || w == "notnull") return kPrecIs;
    if (w == "at" && IsWord(Peek(1), "time") && IsWord(Peek(2), "zone")) return kPrecOther;
    if (w == "between" || w == "in" || w == "like" || w == "ilike" || w == "similar") {
      return kPrecLike;
    }
    if (w == "not") {
      const Token& n = Peek(1);
      if (IsWord(n, "between") || IsWord(n, "in") || IsWord(n, "like") || IsWord(n, "ilike") ||
          IsWord(n, "similar")) {
        return kPrecLike;
      }
    }
    return kPrecNone;
  }

  SLUICE_NOINLINE ExprPtr ParseInfix(ExprPtr left, int prec, Location loc) {
    const Token& op = Next();
    if (op.kind == TokenKind::kOperator || IsWord(op, "and") || IsWord(op, "or")) {
      ExprPtr e = NewExpr(ExprKind::kBinary, loc);
      e->op = op.text == "!=" ? "<>" : op.text;
      e->args = {std::move(left), ParseExpr(prec + 1)};
      return e;
    }
    if (IsWord(op, "isnull") || IsWord(op, "notnull")) {
      ExprPtr e = NewExpr(ExprKind::kIsNull, loc);
      e->negated = op.text == "notnull";
      e->args = {std::move(left)};
      return e;
    }
    if (IsWord(op, "is")) return ParseIs(std::move(left), loc);
    if (IsWord(op, "at")) {  // AT TIME ZONE
      throw ParseFailure{Status::NotSupported(
          "AT TIME ZONE (line {}, column {}): the session time zone is always UTC; write the "
          "offset in the text instead, e.g. TIMESTAMPTZ '2023-10-09 19:13:40+02'",
          op.loc.line, op.loc.column)};
    }
    bool negated = IsWord(op, "not");
    std::string word = negated ? Next().text : op.text;
    if (word == "between") {
      ExprPtr e = NewExpr(ExprKind::kBetween, loc);
      e->negated = negated;
      ExprPtr low = ParseExpr(kPrecOther);
      ExpectWord("and");
      e->args = {std::move(left), std::move(low), ParseExpr(kPrecOther)};
      return e;
    }
    if (word == "in") {
      ExprPtr e = NewExpr(ExprKind::kInList, loc);
      e->negated = negated;
      e->args.push_back(std::move(left));
      if (!AtOp("(")) Fail("'('");
      if (ParenIsQuery(pos_)) {
        e->args.push_back(ParseParenSubquery());
      } else {
        Next();
        do {
          e->args.push_back(ParseExpr());
        } while (AcceptOp(","));
        ExpectListEnd();
      }
      return e;
    }
    // LIKE, ILIKE, SIMILAR TO
    bool similar = word == "similar";
    if (similar) ExpectWord("to");
    ExprPtr e = NewExpr(similar ? ExprKind::kSimilarTo : ExprKind::kLike, loc);
    e->negated = negated;
    e->case_insensitive = word == "ilike";
    e->args = {std::move(left), ParseExpr(kPrecOther)};
    if (!similar && AcceptWord("escape")) e->args.push_back(ParseExpr(kPrecOther));
    return e;
  }

  SLUICE_NOINLINE ExprPtr ParseIs(ExprPtr left, Location loc) {
    bool negated = AcceptWord("not");
    ExprPtr e;
    if (AcceptWord("null")) {
      e = NewExpr(ExprKind::kIsNull, loc);
    } else if (AtWord("true") || AtWord("false") || AtWord("unknown")) {
      e = NewExpr(ExprKind::kIsBool, loc);
      e->op = Next().text;
    } else if (AcceptWord("distinct")) {
      ExpectWord("from");
      e = NewExpr(ExprKind::kIsDistinctFrom, loc);
      e->negated = negated;
      e->args = {std::move(left), ParseExpr(kPrecIs + 1)};
      return e;
    } else {
      Fail("NULL, TRUE, FALSE, UNKNOWN or DISTINCT FROM");
    }
    e->negated = negated;
    e->args = {std::move(left)};
    return e;
  }

  SLUICE_NOINLINE ExprPtr ParsePrefix() {
    const Token& t = Peek();
    if (IsWord(t, "not")) {
      ExprPtr e = NewExpr(ExprKind::kUnary, Next().loc);
      e->op = "not";
      e->args = {ParseExpr(kPrecNot + 1)};
      return e;
    }
    if (IsOp(t, "-") || IsOp(t, "+") || IsOp(t, "~")) {
      ExprPtr e = NewExpr(ExprKind::kUnary, t.loc);
      e->op = Next().text;
      e->args = {ParseExpr(kPrecUnary)};
      return e;
    }
    return ParsePostfix(ParsePrimary(), t.loc);
  }

  // :: type, [index] and .field bind tightest of all.
  SLUICE_NOINLINE ExprPtr ParsePostfix(ExprPtr e, Location start) {
    while (true) {
      if (AtOp("::")) {
        e = ParseCastSuffix(std::move(e), start);
      } else if (AtOp("[")) {
        e = ParseSubscriptSuffix(std::move(e), start);
      } else if (AtOp(".")) {
        e = ParseFieldSuffix(std::move(e), start);
      } else {
        return e;
      }
    }
  }

  SLUICE_NOINLINE ExprPtr ParseCastSuffix(ExprPtr value, Location start) {
    ExprPtr cast = NewExpr(ExprKind::kCast, start);
    Next();  // ::
    cast->cast_type = std::make_shared<TypeName>(ParseType());
    cast->args = {std::move(value)};
    return cast;
  }

  SLUICE_NOINLINE ExprPtr ParseSubscriptSuffix(ExprPtr base, Location start) {
    ExprPtr sub = NewExpr(ExprKind::kSubscript, start);
    Next();  // [
    sub->args = {std::move(base), ParseExpr()};
    if (AtOp(":")) FailAt(Peek().loc, "array slices are not supported");
    ExpectOp("]");
    return sub;
  }

  SLUICE_NOINLINE ExprPtr ParseFieldSuffix(ExprPtr base, Location start) {
    ExprPtr field = NewExpr(ExprKind::kFieldAccess, start);
    Next();  // .
    field->text = ParseLabel("field name");
    field->args = {std::move(base)};
    return field;
  }

  SLUICE_NOINLINE ExprPtr ParsePrimary() {
    const Token& t = Peek();
    switch (t.kind) {
      case TokenKind::kInteger:
        Next();
        return NewLiteral(LiteralKind::kInteger, t.text, t.loc);
      case TokenKind::kNumber:
        Next();
        return NewLiteral(LiteralKind::kDecimal, t.text, t.loc);
      case TokenKind::kString:
        Next();
        return NewLiteral(LiteralKind::kString, t.text, t.loc);
      case TokenKind::kOperator:
        if (t.text == "(") return ParseParenthesized();
        if (t.text == "[") return ParseArrayElements(t.loc);
        break;
      case TokenKind::kIdent:
        return ParseWordPrimary();
      case TokenKind::kQuotedIdent:
        return ParseNameOrCall();
      default:
        break;
    }
    Fail("expression");
  }

  // A word in expression position: a keyword form (CASE, CAST, INTERVAL '...', ...) or a name.
  // The forms live in their own functions to keep this frame, which is on every nesting path,
  // small.
  SLUICE_NOINLINE ExprPtr ParseWordPrimary() {
    const std::string& w = Peek().text;
    bool call = AtOp("(", 1);
    bool string_follows = Peek(1).kind == TokenKind::kString;
    if (w == "null" || w == "true" || w == "false") return ParseKeywordLiteral();
    if (w == "case") return ParseCase();
    if (call && (w == "cast" || w == "try_cast")) return ParseCast();
    if (call && w == "extract") return ParseExtract();
    if (call && w == "position") return ParsePosition();
    if (call && w == "substring") return ParseSubstring();
    if (call && w == "trim") return ParseTrim();
    if (call && w == "exists") return ParseExists();
    if (w == "array" && (call || AtOp("[", 1))) return ParseArrayConstructor();
    if (call && w == "row") return ParseRowConstructor();
    if (w == "interval" && string_follows) return ParseInterval();
    if ((w == "timestamp" || w == "timestamptz" || w == "date" || w == "time") && string_follows) {
      return ParseTypedLiteral();
    }
    if (w == "current_timestamp" || w == "localtimestamp" || w == "current_date" ||
        w == "current_time") {
      return ParseCurrentTime();
    }
    // LEFT and RIGHT are join keywords but also string functions.
    bool reserved_function = call && (w == "left" || w == "right");
    if (IsReserved(w) && w != "end" && !reserved_function) Fail("expression");
    return ParseNameOrCall();
  }

  SLUICE_NOINLINE ExprPtr ParseKeywordLiteral() {
    const Token& t = Next();
    if (t.text == "null") return NewLiteral(LiteralKind::kNull, "", t.loc);
    ExprPtr e = NewLiteral(LiteralKind::kBool, t.text, t.loc);
    e->bool_value = t.text == "true";
    return e;
  }

  SLUICE_NOINLINE ExprPtr ParseExists() {
    ExprPtr e = NewExpr(ExprKind::kSubquery, Next().loc);
    e->exists = true;
    ExpectOp("(");
    e->subquery = ParseQuery();
    ExpectOp(")");
    return e;
  }

  // ARRAY[...] or ARRAY(SELECT ...).
  SLUICE_NOINLINE ExprPtr ParseArrayConstructor() {
    Location loc = Next().loc;
    if (AtOp("[")) return ParseArrayElements(loc);
    if (!ParenIsQuery(pos_)) Fail("ARRAY[...] or ARRAY(SELECT ...)");
    ExprPtr e = NewExpr(ExprKind::kArray, loc);
    e->args = {ParseParenSubquery()};
    return e;
  }

  SLUICE_NOINLINE ExprPtr ParseRowConstructor() {
    ExprPtr e = NewExpr(ExprKind::kRow, Next().loc);
    ExpectOp("(");
    if (!AtOp(")")) {
      do {
        e->args.push_back(ParseExpr());
      } while (AcceptOp(","));
    }
    ExpectListEnd();
    return e;
  }

  // TIMESTAMP '...', DATE '...', TIME '...', TIMESTAMPTZ '...'.
  SLUICE_NOINLINE ExprPtr ParseTypedLiteral() {
    const Token& type = Next();
    ExprPtr e = NewLiteral(LiteralKind::kTyped, Next().text, type.loc);
    e->cast_type = std::make_shared<TypeName>();
    e->cast_type->name = type.text;
    e->cast_type->loc = type.loc;
    return e;
  }

  SLUICE_NOINLINE ExprPtr ParseCurrentTime() {
    const Token& t = Next();
    bool now = t.text == "current_timestamp" || t.text == "localtimestamp";
    return NewFunction(now ? "now" : t.text, {}, t.loc);
  }

  // a, t.a, t.a.b, t.*, f(...), schema.f(...)
  SLUICE_NOINLINE ExprPtr ParseNameOrCall() {
    ExprPtr e = NewExpr(ExprKind::kColumnRef, Peek().loc);
    e->names.push_back(Next().text);
    while (AtOp(".")) {
      const Token& after = Peek(1);
      if (IsLabel(after)) {
        Next();
        e->names.push_back(Next().text);
      } else if (IsOp(after, "*")) {
        Next();
        Next();
        e->kind = ExprKind::kStar;
        return e;
      } else {
        break;  // ParsePostfix reports what follows the '.'
      }
    }
    if (AtOp("(")) {
      e->kind = ExprKind::kFunction;
      for (std::string& name : e->names) name = Lower(name);
      ParseCallArguments(e.get());
      ParseCallSuffixes(e.get());
    }
    return e;
  }

  // ( [DISTINCT] args [ORDER BY ...] ) or (*).
  SLUICE_NOINLINE void ParseCallArguments(Expr* f) {
    DepthGuard guard(this);  // frames here are large: count them as a level of their own
    ExpectOp("(");
    if (AtOp("*") && AtOp(")", 1)) {
      Next();
      f->star_arg = true;
    } else if (!AtOp(")")) {
      if (AcceptWord("distinct")) {
        f->distinct = true;
      } else {
        AcceptWord("all");
      }
      do {
        f->args.push_back(ParseExpr());
      } while (AcceptOp(","));
      if (AcceptWord("order")) {
        ExpectWord("by");
        f->within_group = ParseOrderByList();
      }
    }
    ExpectListEnd();
  }

  // WITHIN GROUP (ORDER BY ...), FILTER (WHERE ...), OVER (...).
  SLUICE_NOINLINE void ParseCallSuffixes(Expr* f) {
    if (AtWord("within") && AtWord("group", 1)) {
      Next();
      Next();
      ExpectOp("(");
      ExpectWord("order");
      ExpectWord("by");
      f->within_group = ParseOrderByList();
      f->ordered_set = true;
      ExpectOp(")");
    }
    if (AtWord("filter") && AtOp("(", 1)) {
      Next();
      Next();
      ExpectWord("where");
      f->filter = ParseExpr();
      ExpectOp(")");
    }
    if (AtWord("over") && AtOp("(", 1)) {
      Next();
      f->over = ParseWindowSpec();
    } else if (AtWord("over") && IsColId(Peek(1))) {
      Next();
      f->over = std::make_shared<WindowSpec>();
      f->over->loc = Peek().loc;
      f->over->ref = Next().text;
      f->over->bare_ref = true;
    }
  }

  SLUICE_NOINLINE std::shared_ptr<WindowSpec> ParseWindowSpec() {
    DepthGuard guard(this);  // frames here are large: count them as a level of their own
    auto spec = std::make_shared<WindowSpec>();
    spec->loc = Peek().loc;
    ExpectOp("(");
    if (IsColId(Peek()) && !AtWord("partition") && !AtWord("order") && !AtWord("rows") &&
        !AtWord("range") && !AtWord("groups")) {
      spec->ref = Next().text;
    }
    if (AcceptWord("partition")) {
      ExpectWord("by");
      do {
        spec->partition_by.push_back(ParseExpr());
      } while (AcceptOp(","));
    }
    if (AcceptWord("order")) {
      ExpectWord("by");
      spec->order_by = ParseOrderByList();
    }
    if (AtWord("rows") || AtWord("range") || AtWord("groups")) {
      int begin = Peek().loc.offset;
      spec->frame = ParseWindowFrame();
      spec->frame_text = std::string(source_.substr(begin, prev_end_ - begin));
    }
    ExpectOp(")");
    return spec;
  }

  // ROWS | RANGE | GROUPS { start | BETWEEN start AND end } [EXCLUDE ...]
  SLUICE_NOINLINE WindowFrame ParseWindowFrame() {
    WindowFrame frame;
    frame.loc = Peek().loc;
    if (AcceptWord("rows")) {
      frame.mode = WindowFrame::Mode::kRows;
    } else if (AcceptWord("range")) {
      frame.mode = WindowFrame::Mode::kRange;
    } else {
      ExpectWord("groups");
      frame.mode = WindowFrame::Mode::kGroups;
    }
    if (AcceptWord("between")) {
      frame.start = ParseFrameBound();
      ExpectWord("and");
      frame.end = ParseFrameBound();
    } else {
      frame.start = ParseFrameBound();
      frame.end.loc = frame.start.loc;
    }
    if (AtWord("exclude")) {
      frame.exclude = true;
      while (!AtOp(")")) {
        if (Peek().kind == TokenKind::kEnd || Peek().kind == TokenKind::kError) Fail("')'");
        Next();
      }
    }
    return frame;
  }

  SLUICE_NOINLINE WindowFrame::Bound ParseFrameBound() {
    using BoundKind = WindowFrame::BoundKind;
    WindowFrame::Bound b;
    b.loc = Peek().loc;
    if (AcceptWord("unbounded")) {
      if (AcceptWord("preceding")) {
        b.kind = BoundKind::kUnboundedPreceding;
      } else {
        ExpectWord("following");
        b.kind = BoundKind::kUnboundedFollowing;
      }
    } else if (AcceptWord("current")) {
      ExpectWord("row");
      b.kind = BoundKind::kCurrentRow;
    } else {
      b.offset = ParseExpr();
      if (AcceptWord("preceding")) {
        b.kind = BoundKind::kPreceding;
      } else {
        ExpectWord("following");
        b.kind = BoundKind::kFollowing;
      }
    }
    return b;
  }

  SLUICE_NOINLINE ExprPtr ParseParenthesized() {
    Location loc = Peek().loc;
    if (ParenIsQuery(pos_)) return ParseParenSubquery();
    Next();
    ExprPtr e = ParseExpr();
    if (AtOp(",")) {
      ExprPtr row = NewExpr(ExprKind::kRow, loc);
      row->args.push_back(std::move(e));
      while (AcceptOp(",")) row->args.push_back(ParseExpr());
      ExpectListEnd();
      return row;
    }
    ExpectOp(")");
    return e;
  }

  SLUICE_NOINLINE ExprPtr ParseParenSubquery() {
    ExprPtr e = NewExpr(ExprKind::kSubquery, Peek().loc);
    ExpectOp("(");
    e->subquery = ParseQuery();
    ExpectOp(")");
    return e;
  }

  // After the opening ARRAY (if any): [a, b, ...].
  SLUICE_NOINLINE ExprPtr ParseArrayElements(Location loc) {
    ExprPtr e = NewExpr(ExprKind::kArray, loc);
    ExpectOp("[");
    if (!AtOp("]")) {
      do {
        e->args.push_back(ParseExpr());
      } while (AcceptOp(","));
    }
    ExpectListEnd("]");
    return e;
  }

  SLUICE_NOINLINE ExprPtr ParseCase() {
    ExprPtr e = NewExpr(ExprKind::kCase, Next().loc);
    if (!AtWord("when")) {
      e->has_operand = true;
      e->args.push_back(ParseExpr());
    }
    if (!AtWord("when")) Fail("WHEN");
    while (AcceptWord("when")) {
      e->args.push_back(ParseExpr());
      ExpectWord("then");
      e->args.push_back(ParseExpr());
    }
    if (AcceptWord("else")) {
      e->has_else = true;
      e->args.push_back(ParseExpr());
    }
    ExpectWord("end");
    return e;
  }

  SLUICE_NOINLINE ExprPtr ParseCast() {
    const Token& keyword = Next();
    ExprPtr e = NewExpr(ExprKind::kCast, keyword.loc);
    e->try_cast = keyword.text == "try_cast";
    ExpectOp("(");
    ExprPtr value = ParseExpr();
    ExpectWord("as");
    e->cast_type = std::make_shared<TypeName>(ParseType());
    ExpectOp(")");
    e->args = {std::move(value)};
    return e;
  }

  // EXTRACT(field FROM x) is date_part('field', x).
  SLUICE_NOINLINE ExprPtr ParseExtract() {
    Location loc = Next().loc;
    ExpectOp("(");
    const Token& field = Peek();
    if (!IsLabel(field) && field.kind != TokenKind::kString) Fail("date/time field name");
    Next();
    ExprPtr name = NewLiteral(LiteralKind::kString, Lower(field.text), field.loc);
    ExpectWord("from");
    ExprPtr value = ParseExpr();
    ExpectOp(")");
    return NewFunction("date_part", {std::move(name), std::move(value)}, loc);
  }

  // POSITION(needle IN haystack) is strpos(haystack, needle).
  SLUICE_NOINLINE ExprPtr ParsePosition() {
    Location loc = Next().loc;
    ExpectOp("(");
    // The needle stops before IN, which would otherwise be read as an IN (...) list.
    ExprPtr needle = ParseExpr(kPrecOther);
    if (AcceptWord("in")) {
      ExprPtr haystack = ParseExpr();
      ExpectOp(")");
      return NewFunction("strpos", {std::move(haystack), std::move(needle)}, loc);
    }
    ExprPtr f = NewFunction("position", {std::move(needle)}, loc);
    while (AcceptOp(",")) f->args.push_back(ParseExpr());
    ExpectListEnd();
    return f;
  }

  // SUBSTRING(x FROM a [FOR b]) is substr(x, a[, b]); the comma form stays "substring".
  SLUICE_NOINLINE ExprPtr ParseSubstring() {
    Location loc = Next().loc;
    ExpectOp("(");
    ExprPtr value = ParseExpr();
    if (AtWord("from") || AtWord("for")) {
      ExprPtr f = NewFunction("substr", {std::move(value)}, loc);
      if (AcceptWord("from")) {
        f->args.push_back(ParseExpr());
      } else {
        f->args.push_back(NewLiteral(LiteralKind::kInteger, "1", Peek().loc));
      }
      if (AcceptWord("for")) f->args.push_back(ParseExpr());
      ExpectOp(")");
      return f;
    }
    ExprPtr f = NewFunction("substring", {std::move(value)}, loc);
    while (AcceptOp(",")) f->args.push_back(ParseExpr());
    ExpectListEnd();
    return f;
  }

  // TRIM([LEADING|TRAILING|BOTH] [chars] FROM x) is btrim/ltrim/rtrim(x[, chars]).
  SLUICE_NOINLINE ExprPtr ParseTrim() {
    Location loc = Next().loc;
    ExpectOp("(");
    std::string name = "btrim";
    if (AcceptWord("leading")) {
      name = "ltrim";
    } else if (AcceptWord("trailing")) {
      name = "rtrim";
    } else {
      AcceptWord("both");
    }
    ExprPtr f = NewFunction(name, {}, loc);
    if (AcceptWord("from")) {
      f->args.push_back(ParseExpr());
    } else {
      ExprPtr first = ParseExpr();
      if (AcceptWord("from")) {
        f->args.push_back(ParseExpr());
        f->args.push_back(std::move(first));
      } else {
        f->args.push_back(std::move(first));
        while (AcceptOp(",")) f->args.push_back(ParseExpr());
      }
    }
    ExpectListEnd();
    return f;
  }

  // INTERVAL '1 minute' or INTERVAL '1' MINUTE [TO SECOND].
  SLUICE_NOINLINE ExprPtr ParseInterval() {
    ExprPtr e = NewExpr(ExprKind::kInterval, Next().loc);
    e->text = Next().text;
    if (Peek().kind == TokenKind::kIdent && IsIntervalUnit(Peek().text)) {
      e->unit = Next().text;
      if (AtWord("to") && Peek(1).kind == TokenKind::kIdent && IsIntervalUnit(Peek(1).text)) {
        Next();
        e->unit += " to " + Next().text;
      }
    }
    return e;
  }

  std::string_view sql_;     // the whole input
  std::string_view source_;  // the current statement, from its first token on
  std::vector<Token> tokens_;
  std::vector<int> match_;  // index of the matching ')' for each '(' token, else -1
  size_t pos_ = 0;
  int prev_end_ = 0;  // end offset of the last consumed token
  int depth_ = 0;
};

}  // namespace

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
