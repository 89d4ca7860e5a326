// Unit tests for the SQL lexer and parser (src/sql/parser).

#include <stdexcept>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "sql/parser/lexer.h"
#include "sql/parser/parser.h"

using sluice::sql::ExprKind;
using sluice::sql::ExprPtr;
using sluice::sql::JoinType;
using sluice::sql::Lexer;
using sluice::sql::LiteralKind;
using sluice::sql::ParseExpression;
using sluice::sql::ParseSql;
using sluice::sql::SelectCore;
using sluice::sql::SetExpr;
using sluice::sql::Statement;
using sluice::sql::StatementKind;
using sluice::sql::TableRef;
using sluice::sql::Token;
using sluice::sql::TokenKind;

namespace {

std::vector<Statement> ParseAll(std::string_view sql) {
  auto result = ParseSql(sql);
  if (!result.ok()) {
    ADD_FAILURE() << "parse failed: " << result.status().message() << "\n  for: " << sql;
    throw std::runtime_error("parse failed");
  }
  return result.MoveValue();
}

Statement ParseOne(std::string_view sql) {
  std::vector<Statement> statements = ParseAll(sql);
  if (statements.size() != 1) {
    ADD_FAILURE() << "expected one statement, got " << statements.size();
    throw std::runtime_error("statement count");
  }
  return statements[0];
}

ExprPtr ParseExpr(std::string_view sql) {
  auto result = ParseExpression(sql);
  if (!result.ok()) {
    ADD_FAILURE() << "parse failed: " << result.status().message() << "\n  for: " << sql;
    throw std::runtime_error("parse failed");
  }
  return result.MoveValue();
}

// The ToSql rendering of an expression: a compact way to assert a tree's shape.
std::string Sql(std::string_view expr) {
  return ParseExpr(expr)->ToSql();
}

std::string ParseError(std::string_view sql) {
  auto result = ParseSql(sql);
  if (result.ok()) {
    ADD_FAILURE() << "expected a parse error for: " << sql;
    return "";
  }
  EXPECT_EQ(result.status().kind(), sluice::ErrorKind::kUser);
  return result.status().message();
}

const SelectCore& Core(const Statement& s) {
  if (!s.query || !s.query->body || s.query->body->kind != SetExpr::Kind::kSelect) {
    ADD_FAILURE() << "statement is not a plain SELECT";
    throw std::runtime_error("not a select");
  }
  return *s.query->body->select;
}

std::vector<std::string> Names(const ExprPtr& e) {
  return e->names;
}

// ---- lexer ----

TEST(Lexer, TokenKindsAndLocations) {
  std::vector<Token> tokens = Lexer("SELECT \"My Col\", x1 -- note\n  FROM t /* c */ ;").Tokenize();
  ASSERT_EQ(tokens.size(), 8u);
  EXPECT_EQ(tokens[0].kind, TokenKind::kIdent);
  EXPECT_EQ(tokens[0].text, "select");
  EXPECT_EQ(tokens[1].kind, TokenKind::kQuotedIdent);
  EXPECT_EQ(tokens[1].text, "My Col");
  EXPECT_EQ(tokens[1].loc.column, 8);
  EXPECT_EQ(tokens[2].text, ",");
  EXPECT_EQ(tokens[3].text, "x1");
  EXPECT_EQ(tokens[4].text, "from");
  EXPECT_EQ(tokens[4].loc.line, 2);
  EXPECT_EQ(tokens[4].loc.column, 3);
  EXPECT_EQ(tokens[4].loc.offset, 30);
  EXPECT_EQ(tokens[5].text, "t");
  EXPECT_EQ(tokens[6].text, ";");
  EXPECT_EQ(tokens[7].kind, TokenKind::kEnd);
}

TEST(Lexer, NumbersStringsAndOperators) {
  std::vector<Token> tokens =
      Lexer("1 1.5 .5 1e10 2E-3 'it''s' E'a\\nb' ->> -> :: != <> || << >= : [ ]").Tokenize();
  std::vector<std::pair<TokenKind, std::string>> want = {
      {TokenKind::kInteger, "1"},   {TokenKind::kNumber, "1.5"},   {TokenKind::kNumber, ".5"},
      {TokenKind::kNumber, "1e10"}, {TokenKind::kNumber, "2E-3"},  {TokenKind::kString, "it's"},
      {TokenKind::kString, "a\nb"}, {TokenKind::kOperator, "->>"}, {TokenKind::kOperator, "->"},
      {TokenKind::kOperator, "::"}, {TokenKind::kOperator, "!="},  {TokenKind::kOperator, "<>"},
      {TokenKind::kOperator, "||"}, {TokenKind::kOperator, "<<"},  {TokenKind::kOperator, ">="},
      {TokenKind::kOperator, ":"},  {TokenKind::kOperator, "["},   {TokenKind::kOperator, "]"},
      {TokenKind::kEnd, ""},
  };
  ASSERT_EQ(tokens.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(tokens[i].kind, want[i].first) << i;
    EXPECT_EQ(tokens[i].text, want[i].second) << i;
  }
}

TEST(Lexer, DoubleEqualsIsEquals) {
  // `==` is `=` (Arroyo, DataFusion); `= =` stays two tokens.
  std::vector<Token> tokens = Lexer("a==b = =").Tokenize();
  ASSERT_EQ(tokens.size(), 6u);
  EXPECT_EQ(tokens[1].kind, TokenKind::kOperator);
  EXPECT_EQ(tokens[1].text, "=");
  EXPECT_EQ(tokens[1].end - tokens[1].loc.offset, 2);
  EXPECT_EQ(tokens[2].text, "b");
  EXPECT_EQ(tokens[3].text, "=");
  EXPECT_EQ(tokens[4].text, "=");
}

TEST(Lexer, ColumnsCountCharactersNotBytes) {
  std::vector<Token> tokens = Lexer("'é' x").Tokenize();
  ASSERT_EQ(tokens.size(), 3u);
  EXPECT_EQ(tokens[1].loc.column, 5);
  EXPECT_EQ(tokens[1].loc.offset, 5);
}

TEST(Lexer, ErrorsCarryLocations) {
  EXPECT_EQ(ParseError("SELECT 1;\nSELECT 'abc"),
            "syntax error at line 2, column 8: unterminated string literal");
  EXPECT_EQ(ParseError("SELECT 1 /* open"),
            "syntax error at line 1, column 10: unterminated /* comment");
  EXPECT_EQ(ParseError("SELECT a @ b"),
            "syntax error at line 1, column 10: unexpected character '@'");
  EXPECT_EQ(ParseError("SELECT \"abc"),
            "syntax error at line 1, column 8: unterminated quoted identifier");
}

TEST(Lexer, SyntaxErrorBeforeLexicalErrorIsReportedFirst) {
  EXPECT_EQ(ParseError("SELECT FROM t; SELECT 'open"),
            "syntax error at line 1, column 8: expected expression, found 'FROM'");
}

// ---- CREATE TABLE ----

TEST(Parser, CreateTableWithWatermark) {
  Statement s = ParseOne(R"sql(
    CREATE TABLE page_views (
      ts TIMESTAMP NOT NULL,
      page TEXT,
      user_id BIGINT UNSIGNED,
      WATERMARK FOR ts AS ts - INTERVAL '5 seconds'
    ) WITH (
      connector = 'kafka',
      format = 'json',
      json.timestamp_format = 'rfc3339',
      'type' = 'source'
    );)sql");
  EXPECT_EQ(s.kind, StatementKind::kCreateTable);
  EXPECT_EQ(s.name, "page_views");
  EXPECT_EQ(s.name_loc.line, 2);
  EXPECT_EQ(s.name_loc.column, 18);
  EXPECT_TRUE(s.has_column_list);
  ASSERT_EQ(s.columns.size(), 3u);
  EXPECT_EQ(s.columns[0].name, "ts");
  EXPECT_EQ(s.columns[0].type.name, "timestamp");
  EXPECT_TRUE(s.columns[0].not_null);
  EXPECT_EQ(s.columns[1].type.name, "text");
  EXPECT_FALSE(s.columns[1].not_null);
  EXPECT_EQ(s.columns[2].type.name, "bigint");
  EXPECT_TRUE(s.columns[2].type.is_unsigned);
  EXPECT_EQ(s.columns[2].loc.line, 5);
  EXPECT_EQ(s.columns[2].loc.column, 7);
  EXPECT_EQ(s.watermark_column, "ts");
  EXPECT_EQ(s.watermark_loc.line, 6);
  EXPECT_EQ(s.watermark_loc.column, 7);
  ASSERT_TRUE(s.watermark_expr);
  EXPECT_EQ(s.watermark_expr->ToSql(), "ts - INTERVAL '5 seconds'");
  ASSERT_EQ(s.options.size(), 4u);
  EXPECT_EQ(s.options[0].key, "connector");
  EXPECT_EQ(s.options[0].value, "kafka");
  EXPECT_EQ(s.options[0].loc.line, 8);
  EXPECT_EQ(s.options[0].loc.column, 7);
  EXPECT_EQ(s.options[0].value_loc.column, 19);
  EXPECT_EQ(s.options[2].key, "json.timestamp_format");
  EXPECT_EQ(s.options[2].value, "rfc3339");
  EXPECT_EQ(s.options[3].key, "type");
  EXPECT_EQ(s.options[3].value, "source");
}

TEST(Parser, CreateTableColumnConstraintsInAnyOrder) {
  Statement s = ParseOne(
      "CREATE TABLE t (id INT PRIMARY KEY NOT NULL, "
      "total DOUBLE GENERATED ALWAYS AS (price * qty) STORED, "
      "off BIGINT METADATA FROM 'offset_id' NOT NULL, "
      "note TEXT NULL)");
  ASSERT_EQ(s.columns.size(), 4u);
  EXPECT_TRUE(s.columns[0].primary_key);
  EXPECT_TRUE(s.columns[0].not_null);
  ASSERT_TRUE(s.columns[1].generated);
  EXPECT_EQ(s.columns[1].generated->ToSql(), "price * qty");
  EXPECT_TRUE(s.columns[2].has_metadata);
  EXPECT_EQ(s.columns[2].metadata_key, "offset_id");
  EXPECT_TRUE(s.columns[2].not_null);
  EXPECT_FALSE(s.columns[3].not_null);
  EXPECT_FALSE(s.columns[3].has_metadata);
  EXPECT_TRUE(s.primary_key.empty());
}

TEST(Parser, CreateTablePrimaryKeyAndPartitionedBy) {
  Statement s = ParseOne(
      "CREATE TEMPORARY TABLE IF NOT EXISTS lookup (k TEXT, v TEXT, PRIMARY KEY (k, v)) "
      "PARTITIONED BY (k) WITH (connector = 'redis')");
  EXPECT_TRUE(s.temporary);
  EXPECT_TRUE(s.if_not_exists);
  EXPECT_EQ(s.primary_key, (std::vector<std::string>{"k", "v"}));
  EXPECT_EQ(s.partitioned_by, (std::vector<std::string>{"k"}));
  ASSERT_EQ(s.options.size(), 1u);
}

TEST(Parser, CreateSinkTableWithoutColumnList) {
  Statement s = ParseOne("CREATE TABLE out WITH (connector = 'stdout', format = 'json')");
  EXPECT_EQ(s.kind, StatementKind::kCreateTable);
  EXPECT_FALSE(s.has_column_list);
  EXPECT_TRUE(s.columns.empty());
  EXPECT_EQ(s.options.size(), 2u);
  EXPECT_FALSE(s.query);
}

TEST(Parser, OptionsWithNonStringValues) {
  Statement s = ParseOne(
      "CREATE TABLE t (x INT) WITH (event_rate = 100, ratio = -1.5, enabled = true, "
      "mode = Earliest, ttl = INTERVAL '1 second', servers = ['a:1', 'b:2'], \"Key\" = 'v', "
      "lookup.cache.max_bytes = 1000000)");
  ASSERT_EQ(s.options.size(), 8u);
  EXPECT_EQ(s.options[0].value, "100");
  EXPECT_EQ(s.options[1].value, "-1.5");
  EXPECT_EQ(s.options[2].value, "true");
  EXPECT_EQ(s.options[3].value, "Earliest");
  EXPECT_EQ(s.options[4].value, "INTERVAL '1 second'");
  EXPECT_EQ(s.options[5].value, "['a:1', 'b:2']");
  EXPECT_EQ(s.options[6].key, "key");
  EXPECT_EQ(s.options[6].value, "v");
  EXPECT_EQ(s.options[7].key, "lookup.cache.max_bytes");
  EXPECT_EQ(s.options[7].value, "1000000");
}

TEST(Parser, TypeNamesAreNormalized) {
  Statement s = ParseOne(
      "CREATE TABLE t (a BOOLEAN, b BOOL, c TINYINT, d SMALLINT, e INT2, f INTEGER, g INT4, "
      "h INT8, i REAL, j FLOAT4, k FLOAT, l DOUBLE, m DOUBLE PRECISION, n FLOAT8, "
      "o DECIMAL(10, 2), p NUMERIC, q VARCHAR(20), r STRING, s CHAR, u CHARACTER VARYING, "
      "v BYTEA, w DATE, x TIME, y TIMESTAMP WITHOUT TIME ZONE, z TIMESTAMPTZ, "
      "aa TIMESTAMP WITH TIME ZONE, ab INTERVAL, ac JSON, ad JSONB, ae TEXT)");
  std::vector<std::string> want = {"bool",        "bool",     "tinyint", "smallint",  "smallint",
                                   "int",         "int",      "bigint",  "real",      "real",
                                   "real",        "double",   "double",  "double",    "decimal",
                                   "decimal",     "text",     "text",    "text",      "text",
                                   "bytea",       "date",     "time",    "timestamp", "timestamptz",
                                   "timestamptz", "interval", "json",    "json",      "text"};
  ASSERT_EQ(s.columns.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(s.columns[i].type.name, want[i]) << s.columns[i].name;
  }
  EXPECT_EQ(s.columns[14].type.params, (std::vector<int>{10, 2}));
  EXPECT_EQ(s.columns[16].type.params, (std::vector<int>{20}));
}

TEST(Parser, UnsignedAndArrayTypes) {
  Statement s = ParseOne(
      "CREATE TABLE t (a INT UNSIGNED, b BIGINT UNSIGNED[], c TEXT[][], d SMALLINT UNSIGNED, "
      "e TINYINT)");
  ASSERT_EQ(s.columns.size(), 5u);
  EXPECT_TRUE(s.columns[0].type.is_unsigned);
  EXPECT_EQ(s.columns[0].type.array_dims, 0);
  EXPECT_EQ(s.columns[1].type.name, "bigint");
  EXPECT_TRUE(s.columns[1].type.is_unsigned);
  EXPECT_EQ(s.columns[1].type.array_dims, 1);
  EXPECT_EQ(s.columns[2].type.array_dims, 2);
  EXPECT_TRUE(s.columns[3].type.is_unsigned);
  EXPECT_FALSE(s.columns[4].type.is_unsigned);
}

TEST(Parser, StructTypes) {
  Statement s = ParseOne(
      "CREATE TABLE t (bid STRUCT<auction BIGINT, extra STRUCT<price: DOUBLE, tags TEXT[]>>, "
      "x STRUCT<a INT>[])");
  ASSERT_EQ(s.columns.size(), 2u);
  const auto& bid = s.columns[0].type;
  EXPECT_EQ(bid.name, "struct");
  ASSERT_EQ(bid.struct_fields.size(), 2u);
  EXPECT_EQ(bid.struct_fields[0].name, "auction");
  EXPECT_EQ(bid.struct_fields[0].type->name, "bigint");
  const auto& extra = *bid.struct_fields[1].type;
  EXPECT_EQ(extra.name, "struct");
  ASSERT_EQ(extra.struct_fields.size(), 2u);
  EXPECT_EQ(extra.struct_fields[0].name, "price");
  EXPECT_EQ(extra.struct_fields[0].type->name, "double");
  EXPECT_EQ(extra.struct_fields[1].type->array_dims, 1);
  EXPECT_EQ(s.columns[1].type.array_dims, 1);
}

TEST(Parser, UnknownTypeIsAnErrorAtItsLocation) {
  EXPECT_EQ(ParseError("CREATE TABLE t (\n  a INT,\n  b FOO\n)"),
            "syntax error at line 3, column 5: unknown type 'foo'");
  EXPECT_EQ(ParseError("SELECT CAST(x AS blob)"),
            "syntax error at line 1, column 18: unknown type 'blob'");
}

// ---- other statements ----

TEST(Parser, CreateTableAsAndCreateView) {
  std::vector<Statement> s = ParseAll(
      "CREATE TABLE agg AS SELECT page, count(*) FROM v GROUP BY page;\n"
      "CREATE VIEW v AS SELECT * FROM page_views WHERE page <> '/'");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].kind, StatementKind::kCreateTable);
  EXPECT_EQ(s[0].name, "agg");
  ASSERT_TRUE(s[0].query);
  EXPECT_FALSE(s[0].has_column_list);
  EXPECT_EQ(s[1].kind, StatementKind::kCreateView);
  EXPECT_EQ(s[1].name, "v");
  EXPECT_EQ(s[1].name_loc.line, 2);
  EXPECT_EQ(s[1].name_loc.column, 13);
  ASSERT_TRUE(s[1].query);
  EXPECT_EQ(Core(s[1]).where->ToSql(), "page <> '/'");
}

TEST(Parser, InsertInto) {
  Statement s = ParseOne("INSERT INTO sink SELECT a, b FROM src");
  EXPECT_EQ(s.kind, StatementKind::kInsert);
  EXPECT_EQ(s.name, "sink");
  EXPECT_EQ(Core(s).items.size(), 2u);
  Statement p = ParseOne("INSERT INTO sink (SELECT a FROM src)");
  EXPECT_EQ(p.query->body->kind, SetExpr::Kind::kQuery);
  EXPECT_NE(ParseError("INSERT INTO sink (a, b) SELECT 1, 2").find("column list"),
            std::string::npos);
}

TEST(Parser, SetStatements) {
  std::vector<Statement> s = ParseAll(
      "SET updating_ttl = INTERVAL '1 hour'; SET pipeline.parallelism TO 4; "
      "SET name = 'abc'; SET mode = fast");
  ASSERT_EQ(s.size(), 4u);
  EXPECT_EQ(s[0].kind, StatementKind::kSet);
  EXPECT_EQ(s[0].set_name, "updating_ttl");
  EXPECT_EQ(s[0].set_value, "INTERVAL '1 hour'");
  ASSERT_TRUE(s[0].set_expr);
  EXPECT_EQ(s[0].set_expr->kind, ExprKind::kInterval);
  EXPECT_EQ(s[0].set_expr->text, "1 hour");
  EXPECT_EQ(s[1].set_name, "pipeline.parallelism");
  EXPECT_EQ(s[1].set_value, "4");
  EXPECT_EQ(s[1].set_expr->literal_kind, LiteralKind::kInteger);
  EXPECT_EQ(s[2].set_value, "abc");
  EXPECT_EQ(s[2].set_expr->literal_kind, LiteralKind::kString);
  EXPECT_EQ(s[3].set_value, "fast");
}

TEST(Parser, UnsupportedStatementsAreNamed) {
  std::string drop = ParseError("DROP TABLE t");
  EXPECT_NE(drop.find("unsupported statement DROP"), std::string::npos) << drop;
  EXPECT_EQ(drop.rfind("syntax error at line 1, column 1: ", 0), 0u) << drop;
  EXPECT_NE(ParseError("UPDATE t SET a = 1").find("UPDATE"), std::string::npos);
  EXPECT_NE(ParseError("SELECT 1; DELETE FROM t").find("DELETE"), std::string::npos);
  EXPECT_NE(ParseError("CREATE INDEX i ON t (a)").find("CREATE INDEX"), std::string::npos);
  EXPECT_EQ(ParseError("frobnicate"),
            "syntax error at line 1, column 1: expected a statement (CREATE, INSERT, SELECT, WITH "
            "or SET), found 'frobnicate'");
}

TEST(Parser, StatementTextAndSeparators) {
  std::vector<Statement> s = ParseAll(";; SELECT 1 ;\n\n  select a -- c\n from t;;");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].text, "SELECT 1");
  EXPECT_EQ(s[0].kind, StatementKind::kSelect);
  EXPECT_EQ(s[1].text, "select a -- c\n from t");
  EXPECT_EQ(s[1].loc.line, 3);
  EXPECT_EQ(s[1].loc.column, 3);
  EXPECT_TRUE(ParseAll("").empty());
  EXPECT_TRUE(ParseAll("  ; -- nothing\n").empty());
  EXPECT_EQ(ParseAll("SELECT 1").size(), 1u);
}

// ---- expressions ----

TEST(Parser, ArithmeticPrecedence) {
  ExprPtr e = ParseExpr("1 + 2 * 3");
  ASSERT_EQ(e->kind, ExprKind::kBinary);
  EXPECT_EQ(e->op, "+");
  EXPECT_EQ(e->args[0]->text, "1");
  EXPECT_EQ(e->args[1]->op, "*");
  EXPECT_EQ(Sql("(1 + 2) * 3"), "(1 + 2) * 3");
  EXPECT_EQ(Sql("a - b - c"), "a - b - c");
  EXPECT_EQ(ParseExpr("a - b - c")->args[0]->op, "-");  // left-associative
  EXPECT_EQ(Sql("a - (b - c)"), "a - (b - c)");
  EXPECT_EQ(ParseExpr("a + b * c ^ d")->args[1]->args[1]->op, "^");
  EXPECT_EQ(ParseExpr("a || b = c")->op, "=");
  EXPECT_EQ(ParseExpr("a -> 'x' ->> 'y'")->op, "->>");
  EXPECT_EQ(ParseExpr("a % 2 = 0")->args[0]->op, "%");
  // Unary minus binds tighter than ^, as in PostgreSQL.
  ExprPtr neg = ParseExpr("-a ^ 2");
  EXPECT_EQ(neg->op, "^");
  EXPECT_EQ(neg->args[0]->kind, ExprKind::kUnary);
}

TEST(Parser, BooleanPrecedence) {
  ExprPtr e = ParseExpr("a OR b AND c");
  EXPECT_EQ(e->op, "or");
  EXPECT_EQ(e->args[1]->op, "and");
  ExprPtr n = ParseExpr("NOT a = b");
  ASSERT_EQ(n->kind, ExprKind::kUnary);
  EXPECT_EQ(n->op, "not");
  EXPECT_EQ(n->args[0]->op, "=");
  ExprPtr n2 = ParseExpr("NOT a AND b");
  EXPECT_EQ(n2->op, "and");
  EXPECT_EQ(n2->args[0]->op, "not");
  EXPECT_EQ(ParseExpr("a = b IS NULL")->kind, ExprKind::kIsNull);
  EXPECT_EQ(ParseExpr("x > 1 AND y BETWEEN 1 AND 2 OR z")->op, "or");
  EXPECT_EQ(Sql("(a OR b) AND NOT c"), "(a OR b) AND NOT c");
}

TEST(Parser, ComparisonAndPredicates) {
  EXPECT_EQ(ParseExpr("a != b")->op, "<>");
  ExprPtr between = ParseExpr("x NOT BETWEEN 1 + 1 AND 10");
  ASSERT_EQ(between->kind, ExprKind::kBetween);
  EXPECT_TRUE(between->negated);
  EXPECT_EQ(between->args.size(), 3u);
  EXPECT_EQ(between->args[1]->op, "+");
  ExprPtr in = ParseExpr("x IN (1, 2, 3)");
  ASSERT_EQ(in->kind, ExprKind::kInList);
  EXPECT_EQ(in->args.size(), 4u);
  EXPECT_TRUE(ParseExpr("x NOT IN ('a')")->negated);
  ExprPtr like = ParseExpr("name NOT ILIKE 'a%' ESCAPE '!'");
  ASSERT_EQ(like->kind, ExprKind::kLike);
  EXPECT_TRUE(like->negated);
  EXPECT_TRUE(like->case_insensitive);
  EXPECT_EQ(like->args.size(), 3u);
  EXPECT_FALSE(ParseExpr("name LIKE 'a%'")->case_insensitive);
  EXPECT_EQ(ParseExpr("s SIMILAR TO 'a|b'")->kind, ExprKind::kSimilarTo);
  EXPECT_EQ(Sql("a BETWEEN 1 AND 2 AND b"), "a BETWEEN 1 AND 2 AND b");
}

TEST(Parser, IsPredicates) {
  EXPECT_EQ(ParseExpr("a IS NULL")->kind, ExprKind::kIsNull);
  EXPECT_TRUE(ParseExpr("a IS NOT NULL")->negated);
  EXPECT_FALSE(ParseExpr("a ISNULL")->negated);
  EXPECT_TRUE(ParseExpr("a NOTNULL")->negated);
  ExprPtr b = ParseExpr("a IS NOT TRUE");
  EXPECT_EQ(b->kind, ExprKind::kIsBool);
  EXPECT_EQ(b->op, "true");
  EXPECT_TRUE(b->negated);
  EXPECT_EQ(ParseExpr("a IS UNKNOWN")->op, "unknown");
  ExprPtr d = ParseExpr("a IS NOT DISTINCT FROM b + 1");
  EXPECT_EQ(d->kind, ExprKind::kIsDistinctFrom);
  EXPECT_TRUE(d->negated);
  EXPECT_EQ(d->args[1]->op, "+");
}

TEST(Parser, Literals) {
  ExprPtr n = ParseExpr("NULL");
  EXPECT_EQ(n->kind, ExprKind::kLiteral);
  EXPECT_EQ(n->literal_kind, LiteralKind::kNull);
  EXPECT_TRUE(ParseExpr("TRUE")->bool_value);
  EXPECT_EQ(ParseExpr("false")->literal_kind, LiteralKind::kBool);
  EXPECT_EQ(ParseExpr("42")->literal_kind, LiteralKind::kInteger);
  ExprPtr d = ParseExpr("1.50");
  EXPECT_EQ(d->literal_kind, LiteralKind::kDecimal);
  EXPECT_EQ(d->text, "1.50");
  EXPECT_EQ(ParseExpr("1e3")->literal_kind, LiteralKind::kDecimal);
  ExprPtr s = ParseExpr("'it''s'");
  EXPECT_EQ(s->literal_kind, LiteralKind::kString);
  EXPECT_EQ(s->text, "it's");
  ExprPtr ts = ParseExpr("TIMESTAMP '2023-01-01 00:00:00'");
  EXPECT_EQ(ts->literal_kind, LiteralKind::kTyped);
  EXPECT_EQ(ts->cast_type->name, "timestamp");
  EXPECT_EQ(ts->text, "2023-01-01 00:00:00");
  EXPECT_EQ(ParseExpr("DATE '2023-01-01'")->cast_type->name, "date");
  EXPECT_EQ(ParseExpr("TIME '10:00'")->cast_type->name, "time");
  // Without a string after it, `timestamp` is a column.
  EXPECT_EQ(ParseExpr("timestamp")->kind, ExprKind::kColumnRef);
}

TEST(Parser, Intervals) {
  ExprPtr a = ParseExpr("INTERVAL '1 minute'");
  EXPECT_EQ(a->kind, ExprKind::kInterval);
  EXPECT_EQ(a->text, "1 minute");
  EXPECT_EQ(a->unit, "");
  ExprPtr b = ParseExpr("INTERVAL '1' MINUTE");
  EXPECT_EQ(b->text, "1");
  EXPECT_EQ(b->unit, "minute");
  EXPECT_EQ(b->ToSql(), "INTERVAL '1' MINUTE");
  EXPECT_EQ(ParseExpr("INTERVAL '1 2:00' DAY TO SECOND")->unit, "day to second");
  EXPECT_EQ(ParseExpr("ts - INTERVAL '5' SECOND")->op, "-");
}

TEST(Parser, Casts) {
  ExprPtr c = ParseExpr("CAST(x AS BIGINT)");
  ASSERT_EQ(c->kind, ExprKind::kCast);
  EXPECT_EQ(c->cast_type->name, "bigint");
  EXPECT_FALSE(c->try_cast);
  EXPECT_TRUE(ParseExpr("TRY_CAST(x AS INT)")->try_cast);
  ExprPtr p = ParseExpr("x::int[]");
  EXPECT_EQ(p->kind, ExprKind::kCast);
  EXPECT_EQ(p->cast_type->array_dims, 1);
  ExprPtr d = ParseExpr("x::double precision");
  EXPECT_EQ(d->cast_type->name, "double");
  // :: binds tighter than unary minus and binary operators.
  ExprPtr neg = ParseExpr("-1::text");
  EXPECT_EQ(neg->kind, ExprKind::kUnary);
  EXPECT_EQ(neg->args[0]->kind, ExprKind::kCast);
  EXPECT_EQ(ParseExpr("a + b::int")->args[1]->kind, ExprKind::kCast);
  EXPECT_EQ(ParseExpr("'1'::int::text")->args[0]->kind, ExprKind::kCast);
}

TEST(Parser, CaseExpressions) {
  ExprPtr searched = ParseExpr("CASE WHEN a > 1 THEN 'x' WHEN a > 0 THEN 'y' ELSE 'z' END");
  ASSERT_EQ(searched->kind, ExprKind::kCase);
  EXPECT_FALSE(searched->has_operand);
  EXPECT_TRUE(searched->has_else);
  EXPECT_EQ(searched->args.size(), 5u);
  ExprPtr simple = ParseExpr("CASE a WHEN 1 THEN 'one' END");
  EXPECT_TRUE(simple->has_operand);
  EXPECT_FALSE(simple->has_else);
  EXPECT_EQ(simple->args.size(), 3u);
  EXPECT_EQ(simple->ToSql(), "CASE a WHEN 1 THEN 'one' END");
  EXPECT_EQ(searched->ToSql(), "CASE WHEN a > 1 THEN 'x' WHEN a > 0 THEN 'y' ELSE 'z' END");
}

TEST(Parser, SpecialSyntaxFunctions) {
  ExprPtr ex = ParseExpr("EXTRACT(YEAR FROM ts)");
  ASSERT_EQ(ex->kind, ExprKind::kFunction);
  EXPECT_EQ(Names(ex), (std::vector<std::string>{"date_part"}));
  EXPECT_EQ(ex->args[0]->literal_kind, LiteralKind::kString);
  EXPECT_EQ(ex->args[0]->text, "year");
  EXPECT_EQ(ex->ToSql(), "date_part('year', ts)");
  EXPECT_EQ(Sql("POSITION('b' IN s)"), "strpos(s, 'b')");
  EXPECT_EQ(Sql("SUBSTRING(s FROM 2 FOR 3)"), "substr(s, 2, 3)");
  EXPECT_EQ(Sql("SUBSTRING(s FROM 2)"), "substr(s, 2)");
  EXPECT_EQ(Sql("substring(s, 2, 3)"), "substring(s, 2, 3)");
  EXPECT_EQ(Sql("TRIM(s)"), "btrim(s)");
  EXPECT_EQ(Sql("TRIM(BOTH 'x' FROM s)"), "btrim(s, 'x')");
  EXPECT_EQ(Sql("TRIM(LEADING FROM s)"), "ltrim(s)");
  EXPECT_EQ(Sql("TRIM(TRAILING 'x' FROM s)"), "rtrim(s, 'x')");
  ExprPtr now = ParseExpr("CURRENT_TIMESTAMP");
  EXPECT_EQ(Names(now), (std::vector<std::string>{"now"}));
  EXPECT_TRUE(now->args.empty());
  EXPECT_EQ(Names(ParseExpr("current_date")), (std::vector<std::string>{"current_date"}));
  EXPECT_EQ(Sql("left(s, 2)"), "left(s, 2)");
}

TEST(Parser, FunctionCalls) {
  ExprPtr c = ParseExpr("COUNT(*)");
  EXPECT_EQ(Names(c), (std::vector<std::string>{"count"}));
  EXPECT_TRUE(c->star_arg);
  EXPECT_EQ(c->ToSql(), "count(*)");
  EXPECT_TRUE(ParseExpr("count(DISTINCT user_id)")->distinct);
  ExprPtr agg = ParseExpr("string_agg(name, ',' ORDER BY ts DESC NULLS LAST)");
  EXPECT_EQ(agg->args.size(), 2u);
  ASSERT_EQ(agg->within_group.size(), 1u);
  EXPECT_TRUE(agg->within_group[0].descending);
  EXPECT_EQ(agg->within_group[0].nulls_first, false);
  ExprPtr f = ParseExpr("sum(x) FILTER (WHERE x > 0)");
  ASSERT_TRUE(f->filter);
  EXPECT_EQ(f->filter->op, ">");
  ExprPtr w = ParseExpr(
      "row_number() OVER (PARTITION BY window, key ORDER BY x DESC ROWS BETWEEN 1 PRECEDING "
      "AND CURRENT ROW)");
  ASSERT_TRUE(w->over);
  EXPECT_EQ(w->over->partition_by.size(), 2u);
  EXPECT_EQ(w->over->partition_by[0]->names, (std::vector<std::string>{"window"}));
  ASSERT_EQ(w->over->order_by.size(), 1u);
  EXPECT_EQ(w->over->frame_text, "ROWS BETWEEN 1 PRECEDING AND CURRENT ROW");
  EXPECT_EQ(Names(ParseExpr("Pg_Catalog.LOWER(x)")),
            (std::vector<std::string>{"pg_catalog", "lower"}));
  EXPECT_EQ(Sql("lower(name)"), "lower(name)");
  EXPECT_EQ(ParseExpr("percentile_cont(0.5) WITHIN GROUP (ORDER BY x)")->within_group.size(), 1u);
  EXPECT_TRUE(ParseExpr("percentile_cont(0.5) WITHIN GROUP (ORDER BY x)")->ordered_set);
  EXPECT_FALSE(agg->ordered_set);
  EXPECT_EQ(Sql("percentile_cont(0.5) within group (order by x desc)"),
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY x DESC)");
}

TEST(Lexer, DollarQuotedStringsAndParameters) {
  auto tokens = Lexer("$$it's $1$$ $tag$a $$ b$tag$ $2").Tokenize();
  ASSERT_EQ(tokens.size(), 4u);
  EXPECT_EQ(tokens[0].kind, TokenKind::kString);
  EXPECT_EQ(tokens[0].text, "it's $1");
  EXPECT_EQ(tokens[1].kind, TokenKind::kString);
  EXPECT_EQ(tokens[1].text, "a $$ b");
  EXPECT_EQ(tokens[2].kind, TokenKind::kQuotedIdent);
  EXPECT_EQ(tokens[2].text, "$2");
  EXPECT_EQ(tokens[3].kind, TokenKind::kEnd);
  auto bad = Lexer("SELECT $x$ never closed").Tokenize();
  EXPECT_EQ(bad.back().kind, TokenKind::kError);
  EXPECT_EQ(bad.back().text, "unterminated dollar-quoted string");
  EXPECT_EQ(Lexer("a$b").Tokenize()[0].text, "a$b");  // $ inside a word stays in it
}

TEST(Parser, CreateFunction) {
  Statement f = ParseOne(
      "CREATE OR REPLACE TEMP FUNCTION add(a BIGINT, TEXT, b double precision) RETURNS BIGINT "
      "LANGUAGE SQL IMMUTABLE PARALLEL SAFE AS 'a + $3'");
  EXPECT_EQ(f.kind, StatementKind::kCreateFunction);
  EXPECT_TRUE(f.or_replace);
  EXPECT_TRUE(f.temporary);
  EXPECT_EQ(f.name, "add");
  ASSERT_EQ(f.params.size(), 3u);
  EXPECT_EQ(f.params[0].name, "a");
  EXPECT_EQ(f.params[0].type.name, "bigint");
  EXPECT_EQ(f.params[1].name, "");
  EXPECT_EQ(f.params[1].type.name, "text");
  EXPECT_EQ(f.params[2].type.name, "double");
  EXPECT_EQ(f.return_type.name, "bigint");
  ASSERT_TRUE(f.body);
  EXPECT_EQ(f.body->ToSql(), "a + \"$3\"");
  EXPECT_EQ(ParseOne("CREATE FUNCTION f() RETURNS INT RETURN 1 + 2").body->ToSql(), "1 + 2");
  EXPECT_EQ(ParseOne("CREATE FUNCTION f(x INT) RETURNS INT AS $$ SELECT x * 2 $$").body->ToSql(),
            "x * 2");
  EXPECT_NE(ParseError("CREATE FUNCTION f(x INT) RETURNS INT AS 'SELECT x FROM t'")
                .find("one expression or a SELECT of one expression without FROM"),
            std::string::npos);
  EXPECT_NE(ParseError("CREATE FUNCTION f(x INT) AS 'x'").find("expected RETURNS type"),
            std::string::npos);
  EXPECT_NE(ParseError("CREATE FUNCTION f(x INT) RETURNS INT LANGUAGE plpgsql AS 'x'")
                .find("LANGUAGE plpgsql is not supported"),
            std::string::npos);
  // LANGUAGE cpp and python keep their source as text; python may leave out the signature.
  EXPECT_EQ(
      ParseOne("CREATE FUNCTION f(x INT) RETURNS INT LANGUAGE cpp AS $$int f(int);$$").body_text,
      "int f(int);");
  EXPECT_FALSE(
      ParseOne("CREATE FUNCTION f LANGUAGE python AS $$def f(x: int) -> int: ...$$").has_params);
  EXPECT_NE(ParseError("CREATE FUNCTION f LANGUAGE cpp AS $$int f(int);$$")
                .find("expected ( after the function name"),
            std::string::npos);
  EXPECT_TRUE(ParseOne("CREATE AGGREGATE FUNCTION g(x INT) RETURNS INT LANGUAGE cpp AS $$ $$")
                  .is_aggregate);
  EXPECT_EQ(ParseError("CREATE FUNCTION f(x INT) RETURNS INT AS\n  'x +'"),
            "syntax error at line 2, column 3: in the body of function f (at line 1, column 4 of "
            "the body): expected expression, found end of input");
  EXPECT_NE(ParseError("CREATE OR REPLACE VIEW v AS SELECT 1").find("CREATE OR REPLACE"),
            std::string::npos);
}

TEST(Parser, WindowFramesAndNamedWindows) {
  using sluice::sql::WindowFrame;
  ExprPtr w = ParseExpr(
      "avg(x) OVER (PARTITION BY k ORDER BY ts RANGE BETWEEN INTERVAL '1' HOUR PRECEDING AND "
      "CURRENT ROW)");
  ASSERT_TRUE(w->over && w->over->frame);
  const WindowFrame& f = *w->over->frame;
  EXPECT_EQ(f.mode, WindowFrame::Mode::kRange);
  EXPECT_EQ(f.start.kind, WindowFrame::BoundKind::kPreceding);
  ASSERT_TRUE(f.start.offset);
  EXPECT_EQ(f.start.offset->kind, ExprKind::kInterval);
  EXPECT_EQ(f.end.kind, WindowFrame::BoundKind::kCurrentRow);
  // `ROWS n PRECEDING` alone ends at the current row.
  ExprPtr r = ParseExpr("sum(x) OVER (ORDER BY ts ROWS 3 PRECEDING)");
  EXPECT_EQ(r->over->frame->mode, WindowFrame::Mode::kRows);
  EXPECT_EQ(r->over->frame->start.kind, WindowFrame::BoundKind::kPreceding);
  EXPECT_EQ(r->over->frame->end.kind, WindowFrame::BoundKind::kCurrentRow);
  ExprPtr u = ParseExpr(
      "count(*) OVER (ORDER BY ts ROWS BETWEEN UNBOUNDED PRECEDING AND 2 FOLLOWING EXCLUDE TIES)");
  EXPECT_EQ(u->over->frame->start.kind, WindowFrame::BoundKind::kUnboundedPreceding);
  EXPECT_EQ(u->over->frame->end.kind, WindowFrame::BoundKind::kFollowing);
  EXPECT_TRUE(u->over->frame->exclude);
  EXPECT_EQ(u->over->frame_text, "ROWS BETWEEN UNBOUNDED PRECEDING AND 2 FOLLOWING EXCLUDE TIES");
  EXPECT_NE(ParseError("SELECT sum(x) OVER (ORDER BY ts ROWS BETWEEN 1 AND 2) FROM t"), "");
  // Named windows: OVER w, OVER (w ...) and the WINDOW clause (`window` stays a name elsewhere).
  EXPECT_EQ(Sql("lag(x) OVER w"), "lag(x) OVER w");
  EXPECT_EQ(Sql("sum(x) OVER (w ROWS 2 PRECEDING)"), "sum(x) OVER (w ROWS 2 PRECEDING)");
  Statement s =
      ParseOne("SELECT lag(x) OVER w FROM t WINDOW w AS (PARTITION BY k ORDER BY ts), w2 AS (w)");
  ASSERT_EQ(Core(s).windows.size(), 2u);
  EXPECT_EQ(Core(s).windows[0].name, "w");
  EXPECT_EQ(Core(s).windows[0].spec->partition_by.size(), 1u);
  EXPECT_EQ(Core(s).windows[1].spec->ref, "w");
  EXPECT_EQ(Core(s).from->alias, "");
  Statement a = ParseOne("SELECT window.start FROM t window");
  EXPECT_EQ(Core(a).from->alias, "window");
}

TEST(Parser, ColumnRefsAndStars) {
  EXPECT_EQ(Names(ParseExpr("a")), (std::vector<std::string>{"a"}));
  EXPECT_EQ(Names(ParseExpr("T.A")), (std::vector<std::string>{"t", "a"}));
  EXPECT_EQ(Names(ParseExpr("t.a.b")), (std::vector<std::string>{"t", "a", "b"}));
  EXPECT_EQ(Names(ParseExpr("\"Mixed Case\".x")), (std::vector<std::string>{"Mixed Case", "x"}));
  ExprPtr star = ParseExpr("t.*");
  EXPECT_EQ(star->kind, ExprKind::kStar);
  EXPECT_EQ(Names(star), (std::vector<std::string>{"t"}));
  Statement s = ParseOne("SELECT *, t.* FROM t");
  ASSERT_EQ(Core(s).items.size(), 2u);
  EXPECT_EQ(Core(s).items[0].expr->kind, ExprKind::kStar);
  EXPECT_TRUE(Core(s).items[0].expr->names.empty());
  EXPECT_EQ(Core(s).items[1].expr->kind, ExprKind::kStar);
}

TEST(Parser, ArraysRowsSubscriptsAndFields) {
  ExprPtr a = ParseExpr("ARRAY[1, 2]");
  EXPECT_EQ(a->kind, ExprKind::kArray);
  EXPECT_EQ(a->args.size(), 2u);
  EXPECT_EQ(ParseExpr("[1, 2, 3]")->args.size(), 3u);
  EXPECT_EQ(ParseExpr("[]")->args.size(), 0u);
  EXPECT_EQ(ParseExpr("ROW(a, b)")->kind, ExprKind::kRow);
  ExprPtr tuple = ParseExpr("(a, b)");
  EXPECT_EQ(tuple->kind, ExprKind::kRow);
  EXPECT_EQ(tuple->args.size(), 2u);
  ExprPtr sub = ParseExpr("arr[1]");
  EXPECT_EQ(sub->kind, ExprKind::kSubscript);
  EXPECT_EQ(sub->args[1]->text, "1");
  ExprPtr field = ParseExpr("(bid).price");
  EXPECT_EQ(field->kind, ExprKind::kFieldAccess);
  EXPECT_EQ(field->text, "price");
  ExprPtr call_field = ParseExpr("tumble(INTERVAL '1 minute').start");
  EXPECT_EQ(call_field->kind, ExprKind::kFieldAccess);
  EXPECT_EQ(call_field->args[0]->kind, ExprKind::kFunction);
  EXPECT_EQ(ParseExpr("a[1].b")->args[0]->kind, ExprKind::kSubscript);
  EXPECT_EQ(Sql("a[1][2]"), "a[1][2]");
}

TEST(Parser, SubqueryExpressions) {
  ExprPtr s = ParseExpr("(SELECT max(x) FROM t)");
  EXPECT_EQ(s->kind, ExprKind::kSubquery);
  ASSERT_TRUE(s->subquery);
  ExprPtr e = ParseExpr("NOT EXISTS (SELECT 1 FROM t)");
  EXPECT_EQ(e->op, "not");
  EXPECT_TRUE(e->args[0]->exists);
  ExprPtr in = ParseExpr("x IN (SELECT y FROM t)");
  ASSERT_EQ(in->args.size(), 2u);
  EXPECT_EQ(in->args[1]->kind, ExprKind::kSubquery);
  EXPECT_EQ(ParseExpr("((SELECT 1)) + 1")->op, "+");
  EXPECT_EQ(ParseExpr("((SELECT 1) UNION (SELECT 2))")->kind, ExprKind::kSubquery);
}

TEST(Parser, ExpressionLocations) {
  ExprPtr e = ParseExpr("a +\n  f(b)");
  EXPECT_EQ(e->loc.line, 1);
  EXPECT_EQ(e->loc.column, 1);
  EXPECT_EQ(e->args[1]->loc.line, 2);
  EXPECT_EQ(e->args[1]->loc.column, 3);
  EXPECT_EQ(e->args[1]->args[0]->loc.column, 5);
  Statement s = ParseOne("SELECT x,\n    y AS z FROM t");
  EXPECT_EQ(Core(s).items[1].loc.line, 2);
  EXPECT_EQ(Core(s).items[1].loc.column, 5);
  EXPECT_EQ(Core(s).from->loc.column, 17);
}

TEST(Parser, OperatorNodesStartAtTheirFirstToken) {
  ExprPtr e = ParseExpr("x = (a + b) * c");
  ExprPtr mul = e->args[1];
  EXPECT_EQ(mul->op, "*");
  EXPECT_EQ(mul->loc.column, 5);           // the '('
  EXPECT_EQ(mul->args[0]->loc.column, 6);  // a + b starts at a
  EXPECT_EQ(ParseExpr("(a).b")->loc.column, 1);
  EXPECT_EQ(ParseExpr("  -x::int")->loc.column, 3);
  EXPECT_EQ(ParseExpr("  -x::int")->args[0]->loc.column, 4);
}

TEST(Parser, OffsetsCountFromTheStatementStart) {
  std::vector<Statement> s = ParseAll("SELECT 1;\n  SELECT abc + 1 FROM t");
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[1].loc.offset, 0);
  EXPECT_EQ(s[1].loc.line, 2);
  EXPECT_EQ(s[1].loc.column, 3);
  const ExprPtr& item = Core(s[1]).items[0].expr;
  EXPECT_EQ(item->loc.offset, 7);
  EXPECT_EQ(item->loc.line, 2);
  EXPECT_EQ(item->loc.column, 10);
  EXPECT_EQ(s[1].text.substr(static_cast<size_t>(item->loc.offset), 3), "abc");
  Statement c = ParseOne("  CREATE TABLE t (x INT) WITH (a = 'b')");
  EXPECT_EQ(c.text.substr(static_cast<size_t>(c.name_loc.offset), 1), "t");
  EXPECT_EQ(c.text.substr(static_cast<size_t>(c.options[0].value_loc.offset), 3), "'b'");
}

// ---- queries ----

TEST(Parser, WindowStartAndEndAreIdentifiers) {
  Statement s = ParseOne(R"sql(
      SELECT window.start AS minute, window.end, page, count(*) AS views
      FROM (
        SELECT TUMBLE(INTERVAL '1 minute') AS window, page, count(*)
        FROM page_views GROUP BY window, page))sql");
  const SelectCore& outer = Core(s);
  ASSERT_EQ(outer.items.size(), 4u);
  EXPECT_EQ(Names(outer.items[0].expr), (std::vector<std::string>{"window", "start"}));
  EXPECT_EQ(outer.items[0].alias, "minute");
  EXPECT_EQ(Names(outer.items[1].expr), (std::vector<std::string>{"window", "end"}));
  EXPECT_EQ(outer.items[3].alias, "views");
  ASSERT_EQ(outer.from->kind, TableRef::Kind::kSubquery);
  EXPECT_TRUE(outer.from->alias.empty());
  const SelectCore& inner = *outer.from->subquery->body->select;
  EXPECT_EQ(inner.items[0].alias, "window");
  EXPECT_EQ(Names(inner.items[0].expr), (std::vector<std::string>{"tumble"}));
  ASSERT_EQ(inner.group_by.size(), 2u);
  EXPECT_EQ(Names(inner.group_by[0]), (std::vector<std::string>{"window"}));

  Statement e = ParseOne("CREATE TABLE t (start TIMESTAMP, end TIMESTAMP, timestamp TIMESTAMP)");
  EXPECT_EQ(e.columns[1].name, "end");
  EXPECT_EQ(e.columns[2].name, "timestamp");
  Statement q = ParseOne("SELECT end, start FROM t WHERE end > start");
  EXPECT_EQ(Names(Core(q).items[0].expr), (std::vector<std::string>{"end"}));
  EXPECT_EQ(Core(q).where->op, ">");
}

TEST(Parser, SelectClauses) {
  Statement s = ParseOne(
      "SELECT DISTINCT a, sum(b) total FROM t WHERE a > 0 GROUP BY a HAVING sum(b) > 10 "
      "ORDER BY total DESC, a LIMIT 10 OFFSET 5");
  const SelectCore& core = Core(s);
  EXPECT_TRUE(core.distinct);
  EXPECT_EQ(core.items[1].alias, "total");
  ASSERT_TRUE(core.where);
  EXPECT_EQ(core.group_by.size(), 1u);
  ASSERT_TRUE(core.having);
  ASSERT_EQ(s.query->order_by.size(), 2u);
  EXPECT_TRUE(s.query->order_by[0].descending);
  EXPECT_FALSE(s.query->order_by[1].descending);
  EXPECT_EQ(s.query->limit->text, "10");
  EXPECT_EQ(s.query->offset->text, "5");
  Statement n = ParseOne("SELECT 1 + 1");
  EXPECT_FALSE(Core(n).from);
}

TEST(Parser, AliasRules) {
  Statement s = ParseOne("SELECT a b, c AS \"C\", d AS from, e FROM t x WHERE true");
  const SelectCore& core = Core(s);
  ASSERT_EQ(core.items.size(), 4u);
  EXPECT_EQ(core.items[0].alias, "b");
  EXPECT_EQ(core.items[1].alias, "C");
  EXPECT_EQ(core.items[2].alias, "from");
  EXPECT_EQ(core.items[3].alias, "");
  EXPECT_EQ(core.from->alias, "x");
  // A reserved word after an expression starts the next clause; it is never an alias.
  Statement u = ParseOne("SELECT a FROM t UNION SELECT b FROM u ORDER BY 1");
  EXPECT_EQ(u.query->body->kind, SetExpr::Kind::kSetOp);
  EXPECT_TRUE(u.query->body->left->select->from->alias.empty());
  Statement j = ParseOne("SELECT a FROM t JOIN u ON t.id = u.id");
  EXPECT_TRUE(j.query->body->select->from->left->alias.empty());
  EXPECT_NE(ParseError("SELECT a end FROM t").find("found 'end'"), std::string::npos);
}

TEST(Parser, Joins) {
  Statement s = ParseOne(
      "SELECT * FROM a, b INNER JOIN c ON b.id = c.id LEFT OUTER JOIN d USING (id, k) "
      "RIGHT JOIN e ON true FULL OUTER JOIN f ON true CROSS JOIN g");
  // The comma binds loosest: a, (b JOIN c ... CROSS JOIN g).
  const TableRef* top = Core(s).from.get();
  ASSERT_EQ(top->kind, TableRef::Kind::kJoin);
  EXPECT_EQ(top->join_type, JoinType::kCross);
  EXPECT_EQ(top->left->name, "a");
  const TableRef* ref = top->right.get();
  std::vector<JoinType> want = {JoinType::kCross, JoinType::kFull, JoinType::kRight,
                                JoinType::kLeft, JoinType::kInner};
  for (JoinType type : want) {
    ASSERT_EQ(ref->kind, TableRef::Kind::kJoin);
    EXPECT_EQ(ref->join_type, type);
    if (type == JoinType::kLeft) {
      EXPECT_EQ(ref->using_columns, (std::vector<std::string>{"id", "k"}));
    }
    if (type == JoinType::kInner) {
      EXPECT_EQ(ref->on->op, "=");
    }
    ref = ref->left.get();
  }
  ASSERT_EQ(ref->kind, TableRef::Kind::kNamed);
  EXPECT_EQ(ref->name, "b");
  Statement comma = ParseOne("SELECT * FROM a, b JOIN c ON true");
  EXPECT_EQ(Core(comma).from->join_type, JoinType::kCross);
  EXPECT_EQ(Core(comma).from->right->join_type, JoinType::kInner);
  Statement paren = ParseOne("SELECT * FROM a JOIN (b JOIN c ON true) ON true");
  EXPECT_EQ(Core(paren).from->right->kind, TableRef::Kind::kJoin);
  Statement sub = ParseOne("SELECT * FROM ((SELECT 1) x JOIN y ON true)");
  EXPECT_EQ(Core(sub).from->kind, TableRef::Kind::kJoin);
  EXPECT_EQ(Core(sub).from->left->kind, TableRef::Kind::kSubquery);
  EXPECT_EQ(Core(sub).from->left->alias, "x");
  EXPECT_NE(ParseError("SELECT * FROM a JOIN b").find("expected ON or USING"), std::string::npos);
}

TEST(Parser, TableFunctions) {
  Statement s = ParseOne(
      "SELECT window_start, count(*) FROM TUMBLE(page_views, ts, INTERVAL '1 minute') AS w "
      "GROUP BY window_start");
  const TableRef& f = *Core(s).from;
  ASSERT_EQ(f.kind, TableRef::Kind::kFunction);
  EXPECT_EQ(f.name, "tumble");
  EXPECT_EQ(f.alias, "w");
  ASSERT_EQ(f.args.size(), 3u);
  EXPECT_EQ(f.args[0]->kind, ExprKind::kColumnRef);
  EXPECT_EQ(f.args[0]->names, (std::vector<std::string>{"page_views"}));
  EXPECT_EQ(f.args[2]->kind, ExprKind::kInterval);
  Statement hop = ParseOne("SELECT * FROM hop(t, ts, INTERVAL '10' SECOND, INTERVAL '1' MINUTE)");
  EXPECT_EQ(Core(hop).from->args.size(), 4u);
  EXPECT_TRUE(Core(hop).from->alias.empty());
}

TEST(Parser, SubqueryInFromWithAndWithoutAlias) {
  Statement s = ParseOne("SELECT x FROM (SELECT 1 AS x)");
  EXPECT_EQ(Core(s).from->kind, TableRef::Kind::kSubquery);
  EXPECT_TRUE(Core(s).from->alias.empty());
  Statement a = ParseOne("SELECT q.x FROM (SELECT 1 AS x) q");
  EXPECT_EQ(Core(a).from->alias, "q");
  Statement b = ParseOne("SELECT q.x FROM ((SELECT 1 AS x) UNION ALL (SELECT 2)) AS q");
  EXPECT_EQ(Core(b).from->kind, TableRef::Kind::kSubquery);
  EXPECT_EQ(Core(b).from->subquery->body->kind, SetExpr::Kind::kSetOp);
}

TEST(Parser, SetOperations) {
  Statement s = ParseOne("SELECT 1 UNION ALL SELECT 2 EXCEPT SELECT 3");
  const SetExpr& top = *s.query->body;
  ASSERT_EQ(top.kind, SetExpr::Kind::kSetOp);
  EXPECT_EQ(top.set_op, "except");
  EXPECT_EQ(top.left->set_op, "union");
  EXPECT_TRUE(top.left->all);
  // INTERSECT binds tighter than UNION.
  Statement i = ParseOne("SELECT 1 UNION SELECT 2 INTERSECT SELECT 3");
  EXPECT_EQ(i.query->body->set_op, "union");
  EXPECT_FALSE(i.query->body->all);
  EXPECT_EQ(i.query->body->right->set_op, "intersect");
  Statement p = ParseOne("(SELECT 1) UNION (SELECT 2) ORDER BY 1 LIMIT 1");
  EXPECT_EQ(p.kind, StatementKind::kSelect);
  EXPECT_EQ(p.query->body->left->kind, SetExpr::Kind::kQuery);
  EXPECT_EQ(p.query->order_by.size(), 1u);
}

TEST(Parser, WithClause) {
  Statement s = ParseOne("WITH a (x, y) AS (SELECT 1, 2), b AS (SELECT x FROM a) SELECT * FROM b");
  ASSERT_EQ(s.query->with.size(), 2u);
  EXPECT_FALSE(s.query->recursive);
  EXPECT_EQ(s.query->with[0].name, "a");
  EXPECT_EQ(s.query->with[0].column_names, (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(s.query->with[1].loc.column, 33);
  Statement r = ParseOne("WITH RECURSIVE r AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT 1");
  EXPECT_TRUE(r.query->recursive);
  Statement ins = ParseOne("INSERT INTO sink WITH a AS (SELECT 1) SELECT * FROM a");
  EXPECT_EQ(ins.query->with.size(), 1u);
}

// ---- errors ----

TEST(Parser, SyntaxErrorMessagesHaveLocations) {
  EXPECT_EQ(ParseError("SELECT a FROM"),
            "syntax error at line 1, column 14: expected table name or '(', found end of input");
  EXPECT_EQ(ParseError("SELECT a,\n  b FROM t WHERE\n  GROUP BY a"),
            "syntax error at line 3, column 3: expected expression, found 'GROUP'");
  EXPECT_EQ(ParseError("SELECT (a + b FROM t"),
            "syntax error at line 1, column 15: expected ')', found 'FROM'");
  EXPECT_EQ(ParseError("SELECT a FROM t t2 t3"),
            "syntax error at line 1, column 20: expected ';' or end of input, found 't3'");
  EXPECT_EQ(ParseError("SELECT f(a b) FROM t"),
            "syntax error at line 1, column 12: expected ',' or ')', found 'b'");
  EXPECT_EQ(ParseError("CREATE TABLE t (a INT) WITH (connector 'x')"),
            "syntax error at line 1, column 40: expected '=', found string 'x'");
  EXPECT_EQ(ParseError("SELECT a IS 5"),
            "syntax error at line 1, column 13: expected NULL, TRUE, FALSE, UNKNOWN or DISTINCT "
            "FROM, found '5'");
  // Only the first error is reported.
  EXPECT_EQ(ParseError("SELECT FROM; SELECT ,"),
            "syntax error at line 1, column 8: expected expression, found 'FROM'");
}

TEST(Parser, ParseExpressionRejectsTrailingInput) {
  auto r = ParseExpression("a + b c");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "syntax error at line 1, column 7: expected end of input, found 'c'");
  EXPECT_TRUE(ParseExpression("a + b;").ok());
}

TEST(Parser, ToSqlRendersReadableSql) {
  EXPECT_EQ(Sql("count(*)"), "count(*)");
  EXPECT_EQ(Sql("LOWER(Name)"), "lower(name)");
  EXPECT_EQ(Sql("a+b*c"), "a + b * c");
  EXPECT_EQ(Sql("(a+b)*c"), "(a + b) * c");
  EXPECT_EQ(Sql("- (a + b)"), "-(a + b)");
  EXPECT_EQ(Sql("- - a"), "-(-a)");
  EXPECT_EQ(Sql("a and (b or c)"), "a AND (b OR c)");
  EXPECT_EQ(Sql("x is not null"), "x IS NOT NULL");
  EXPECT_EQ(Sql("x not in (1, 2)"), "x NOT IN (1, 2)");
  EXPECT_EQ(Sql("cast(x as decimal(10,2))"), "CAST(x AS decimal(10, 2))");
  EXPECT_EQ(Sql("x::bigint unsigned"), "CAST(x AS bigint unsigned)");
  EXPECT_EQ(Sql("'a''b' || \"Col\""), "'a''b' || \"Col\"");
  EXPECT_EQ(Sql("count(distinct x) filter (where x > 1)"),
            "count(DISTINCT x) FILTER (WHERE x > 1)");
  EXPECT_EQ(Sql("rank() over (partition by a order by b desc)"),
            "rank() OVER (PARTITION BY a ORDER BY b DESC)");
  EXPECT_EQ(Sql("timestamp '2020-01-01'"), "TIMESTAMP '2020-01-01'");
  EXPECT_EQ(Sql("(a).b"), "(a).b");
  EXPECT_EQ(Sql("ARRAY[1, 2]"), "ARRAY[1, 2]");
  EXPECT_EQ(Sql("x in (select 1)"), "x IN (SELECT ...)");
}

// ---- robustness ----

TEST(Parser, DeepNestingIsRejectedNotCrashed) {
  std::string deep(100000, '(');
  std::string message = ParseError("SELECT " + deep + "1");
  EXPECT_NE(message.find("nested too deeply"), std::string::npos) << message;
  std::string nots;
  for (int i = 0; i < 5000; ++i) nots += "NOT ";
  EXPECT_NE(ParseError("SELECT " + nots + "a").find("nested too deeply"), std::string::npos);
  // "--" would start a comment, so alternate with spaces.
  std::string negs;
  for (int i = 0; i < 5000; ++i) negs += "- ";
  EXPECT_NE(ParseError("SELECT " + negs + "1").find("nested too deeply"), std::string::npos);
  std::string subqueries;
  for (int i = 0; i < 3000; ++i) subqueries += "SELECT * FROM (";
  EXPECT_NE(ParseError(subqueries).find("nested too deeply"), std::string::npos);
  // Moderate nesting is fine.
  std::string ok = "SELECT " + std::string(200, '(') + "1" + std::string(200, ')');
  EXPECT_TRUE(ParseSql(ok).ok());
  // Long flat chains do not nest.
  std::string chain = "SELECT 1";
  for (int i = 0; i < 20000; ++i) chain += " + 1";
  EXPECT_TRUE(ParseSql(chain).ok());
}

TEST(Parser, EveryPrefixParsesOrFailsCleanly) {
  std::vector<std::string> statements = {
      "CREATE TEMPORARY TABLE IF NOT EXISTS t (a INT UNSIGNED[] NOT NULL PRIMARY KEY, "
      "b STRUCT<x INT, y STRUCT<z TEXT>>, c DOUBLE GENERATED ALWAYS AS (a * 2) STORED, "
      "d TEXT METADATA FROM 'key', ts TIMESTAMP, WATERMARK FOR ts AS ts - INTERVAL '1' SECOND, "
      "PRIMARY KEY (a)) PARTITIONED BY (a) WITH (connector = 'kafka', json.x = [1, 2], "
      "'k' = INTERVAL '1 s');",
      "WITH w AS (SELECT TUMBLE(INTERVAL '1 minute') AS window, page, count(*) AS c FROM v "
      "GROUP BY window, page) SELECT window.start, window.end, CASE WHEN c > 1 THEN 'a' ELSE "
      "'b' END, CAST(c AS BIGINT), c::text, x[1], (x).y, EXTRACT(year FROM ts), "
      "TRIM(BOTH 'x' FROM s), POSITION('a' IN s), SUBSTRING(s FROM 1 FOR 2), "
      "count(DISTINCT a) FILTER (WHERE a > 0), row_number() OVER (PARTITION BY a ORDER BY b "
      "ROWS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM w LEFT JOIN (SELECT * FROM u) USING (page) "
      "WHERE a NOT BETWEEN 1 AND 2 AND b NOT IN (1, 2) AND c NOT ILIKE 'x' AND d IS NOT "
      "DISTINCT FROM e OR NOT EXISTS (SELECT 1) UNION ALL SELECT * FROM t ORDER BY 1 LIMIT 5;",
      "INSERT INTO s SELECT * FROM hop(t, ts, INTERVAL '1 s', INTERVAL '1 m') h, "
      "(a JOIN b ON a.x = b.x) CROSS JOIN c; SET x = 'y'; SET y TO INTERVAL '1 hour';",
      "SELECT E'\\x41\\u00e9', \"q\"\"x\", 1.5e3, .5, ARRAY[[1], [2]], ROW(1, 'a'), (1, 2), "
      "a -> 'b' ->> 'c', a || b, a << 1 /* comment */ -- line\n FROM t;",
  };
  int failures = 0;
  for (const std::string& full : statements) {
    ASSERT_TRUE(ParseSql(full).ok()) << ParseSql(full).status().message();
    for (size_t n = 0; n < full.size(); ++n) {
      auto result = ParseSql(std::string_view(full).substr(0, n));
      if (!result.ok()) {
        ++failures;
        EXPECT_EQ(result.status().message().rfind("syntax error at line ", 0), 0u)
            << result.status().message();
      }
    }
  }
  EXPECT_GT(failures, 0);
}

TEST(Parser, GarbageInputNeverCrashes) {
  // Every byte value, and random-looking token soups.
  for (int c = 0; c < 256; ++c) {
    std::string sql = "SELECT a" + std::string(1, static_cast<char>(c)) + "b FROM t";
    (void)ParseSql(sql);
  }
  const char* soups[] = {
      ")))((( ,,, ;;;",
      "SELECT ((((((",
      "SELECT [[[[",
      "CREATE TABLE t (a STRUCT<<<>>>)",
      "SELECT a..b",
      "SELECT .",
      "SELECT 1e",
      "SELECT 'a' 'b'",
      "SELECT * FROM (((a)))",
      "SELECT CASE END",
      "SELECT count(*",
      "SELECT a::",
      "SELECT x[1:2]",
      "WITH",
      "SET",
      "SELECT f(a ORDER BY)",
      "SELECT a FROM t JOIN",
      "SELECT ~~~~a",
      "SELECT !a",
  };
  for (const char* sql : soups) (void)ParseSql(sql);
}

}  // namespace
