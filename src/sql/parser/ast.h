#pragma once
// The syntax tree produced by the parser: what the user wrote, unresolved. Identifiers are
// folded to lower case unless they were double-quoted. Every node knows where it came from.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sluice::sql {

struct Location {
  int line = 1;    // 1-based
  int column = 1;  // 1-based, in characters of the line
  int offset = 0;  // byte offset in the statement text
};

struct TypeName {
  // Normalized base name: bool, tinyint, smallint, int, bigint, real, double, decimal, text,
  // bytea, date, time, timestamp, timestamptz, interval, json, struct. `unsigned` is a flag.
  std::string name;
  bool is_unsigned = false;
  std::vector<int> params;  // DECIMAL(p, s), VARCHAR(n)
  int array_dims = 0;       // INT[] = 1
  struct FieldDef {
    std::string name;
    std::shared_ptr<TypeName> type;
  };
  std::vector<FieldDef> struct_fields;  // STRUCT<a INT, b TEXT>
  Location loc;
};

struct Expr;
using ExprPtr = std::shared_ptr<Expr>;
struct Query;
using QueryPtr = std::shared_ptr<Query>;

// A window frame: ROWS | RANGE | GROUPS BETWEEN start AND end (or `ROWS start`, whose end is
// CURRENT ROW). `offset` holds N of `N PRECEDING` / `N FOLLOWING`.
struct WindowFrame {
  enum class Mode { kRows, kRange, kGroups };
  enum class BoundKind {
    kUnboundedPreceding,
    kPreceding,
    kCurrentRow,
    kFollowing,
    kUnboundedFollowing
  };
  struct Bound {
    BoundKind kind = BoundKind::kCurrentRow;
    ExprPtr offset;
    Location loc;
  };
  Mode mode = Mode::kRows;
  Bound start, end;
  bool exclude = false;  // an EXCLUDE clause was given
  Location loc;
};

struct WindowSpec {
  std::vector<ExprPtr> partition_by;
  struct OrderItem {
    ExprPtr expr;
    bool descending = false;
    std::optional<bool> nulls_first;
  };
  std::vector<OrderItem> order_by;
  std::string frame_text;  // the frame as written, for rendering
  std::optional<WindowFrame> frame;
  std::string ref;        // OVER w / OVER (w ...): a window of the WINDOW clause it builds on
  bool bare_ref = false;  // OVER w, without parentheses
  Location loc;
};

struct NamedWindow {
  std::string name;
  std::shared_ptr<WindowSpec> spec;
  Location loc;
};

enum class ExprKind {
  kLiteral,         // literal_kind + text
  kColumnRef,       // names: a, t.a, t.a.b (resolution happens in the binder)
  kStar,            // *, t.*  (names = qualifier)
  kUnary,           // op: "-", "+", "not"
  kBinary,          // op: + - * / % || = <> < <= > >= and or -> ->> ^ & | # << >>
  kIsNull,          // negated: IS NOT NULL
  kIsBool,          // IS [NOT] TRUE/FALSE/UNKNOWN; op = "true" | "false" | "unknown"
  kIsDistinctFrom,  // negated: IS NOT DISTINCT FROM
  kBetween,         // args: expr, low, high
  kInList,          // args: expr, items...
  kLike,            // args: expr, pattern[, escape]; case_insensitive for ILIKE
  kSimilarTo,       // args: expr, pattern
  kCast,            // args: expr; cast_type. try_cast for TRY_CAST
  kCase,            // args: [operand], when1, then1, ..., [else]; has_operand, has_else
  kFunction,        // name, args, distinct, star_arg, filter, over
  kSubscript,       // args: base, index
  kFieldAccess,     // args: base; field name  ((expr).field)
  kArray,           // ARRAY[...] / [..]; args
  kRow,             // ROW(a, b) / (a, b)
  kSubquery,        // (SELECT ...), EXISTS; parsed so the binder can reject it clearly
  kInterval,        // INTERVAL '1 minute' or INTERVAL '1' MINUTE: text, unit
};

enum class LiteralKind { kNull, kBool, kInteger, kDecimal, kString, kTyped };

struct Expr {
  ExprKind kind;
  Location loc;
  std::vector<ExprPtr> args;
  // kLiteral
  LiteralKind literal_kind = LiteralKind::kNull;
  std::string text;  // literal text (unquoted), interval text, operator, field name
  std::shared_ptr<TypeName> cast_type;  // kCast; kLiteral kTyped: TIMESTAMP '...', DATE '...'
  bool bool_value = false;
  // kColumnRef / kStar / kFunction
  std::vector<std::string> names;
  // kUnary / kBinary / kIsBool
  std::string op;
  bool negated = false;
  bool case_insensitive = false;
  bool try_cast = false;
  bool has_operand = false;
  bool has_else = false;
  // kFunction
  bool distinct = false;
  bool star_arg = false;  // count(*)
  ExprPtr filter;         // FILTER (WHERE ...)
  std::shared_ptr<WindowSpec> over;
  std::vector<WindowSpec::OrderItem> within_group;  // string_agg(x, ',' ORDER BY y)
  bool ordered_set = false;  // within_group was written WITHIN GROUP (ORDER BY ...)
  // kInterval
  std::string unit;  // optional trailing unit: INTERVAL '1' MINUTE
  // kSubquery
  QueryPtr subquery;
  bool exists = false;

  // Renders the expression back as SQL, for default column names and messages.
  std::string ToSql() const;
};

struct SelectItem {
  ExprPtr expr;
  std::string alias;  // empty when none
  Location loc;
};

struct TableRef;
using TableRefPtr = std::shared_ptr<TableRef>;

enum class JoinType { kInner, kLeft, kRight, kFull, kCross };

struct TableRef {
  enum class Kind { kNamed, kSubquery, kJoin, kFunction } kind;
  Location loc;
  std::string name;   // kNamed, kFunction (function name)
  std::string alias;  // optional
  // `AS alias(c1, c2, ...)`: new names of the first columns (kNamed, kSubquery, kFunction)
  std::vector<std::string> column_aliases;
  QueryPtr subquery;  // kSubquery
  // kJoin
  JoinType join_type = JoinType::kInner;
  TableRefPtr left, right;
  ExprPtr on;
  std::vector<std::string> using_columns;
  // kNamed: FOR SYSTEM_TIME AS OF <expr> (the right side of a lookup join); null otherwise
  ExprPtr as_of;
  // kFunction: TUMBLE(t, ts, INTERVAL ...); first arg may be a table name (a kColumnRef)
  std::vector<ExprPtr> args;
};

struct SelectCore {
  Location loc;
  bool distinct = false;
  std::vector<SelectItem> items;
  TableRefPtr from;  // null for SELECT without FROM
  ExprPtr where;
  std::vector<ExprPtr> group_by;
  ExprPtr having;
  std::vector<NamedWindow> windows;  // WINDOW w AS (...), ...
};

// A set expression: a SELECT, a parenthesized query, or a UNION/INTERSECT/EXCEPT of two.
struct SetExpr;
using SetExprPtr = std::shared_ptr<SetExpr>;
struct SetExpr {
  enum class Kind { kSelect, kQuery, kSetOp } kind;
  Location loc;
  std::shared_ptr<SelectCore> select;  // kSelect
  QueryPtr query;                      // kQuery: ( query )
  std::string set_op;                  // "union" | "intersect" | "except"
  bool all = false;
  SetExprPtr left, right;
};

struct CommonTableExpr {
  std::string name;
  std::vector<std::string> column_names;
  QueryPtr query;
  Location loc;
};

struct Query {
  Location loc;
  bool recursive = false;
  std::vector<CommonTableExpr> with;
  SetExprPtr body;
  std::vector<WindowSpec::OrderItem> order_by;
  ExprPtr limit;
  ExprPtr offset;
};

struct ColumnDef {
  std::string name;
  TypeName type;
  bool not_null = false;
  bool primary_key = false;
  ExprPtr generated;            // GENERATED ALWAYS AS (expr) [STORED|VIRTUAL]
  bool type_from_expr = false;  // `name AS expr` (Flink's computed column): no declared type
  std::string metadata_key;     // METADATA FROM 'key'
  bool has_metadata = false;
  Location loc;
};

struct TableOption {
  std::string key;    // lower-cased; dots kept: json.timestamp_format
  std::string value;  // string value; non-string values keep their source text
  Location loc;
  Location value_loc;
};

enum class StatementKind { kCreateTable, kCreateView, kInsert, kSelect, kSet, kCreateFunction };

// A function's declared NULL handling: STRICT / RETURNS NULL ON NULL INPUT, CALLED ON NULL INPUT.
enum class NullInput { kDefault, kReturnsNull, kCalled };

// A parameter of CREATE FUNCTION: `name TYPE`, or only `TYPE` (then read as $1, $2, ...).
struct FunctionParam {
  std::string name;  // empty when unnamed
  TypeName type;
  Location loc;
};

struct Statement {
  StatementKind kind;
  Location loc;
  std::string text;  // the statement's source text
  // kCreateTable / kCreateView / kInsert
  std::string name;
  Location name_loc;
  bool temporary = false;
  bool if_not_exists = false;
  bool has_column_list = false;
  std::vector<ColumnDef> columns;
  std::string watermark_column;  // WATERMARK FOR col [AS expr]
  ExprPtr watermark_expr;
  Location watermark_loc;
  std::vector<std::string> primary_key;
  std::vector<TableOption> options;
  std::vector<std::string> partitioned_by;
  // CREATE TABLE ... AS / CREATE VIEW ... AS / INSERT INTO ... / SELECT
  QueryPtr query;
  // kCreateFunction: CREATE [OR REPLACE] FUNCTION name(params) RETURNS type ... AS 'expr'
  bool or_replace = false;
  std::vector<FunctionParam> params;
  TypeName return_type;
  ExprPtr body;  // the one expression of the body (LANGUAGE SQL)
  Location body_loc;
  std::string language = "sql";  // sql | cpp | python
  std::string body_text;         // the source of other languages (AS $$...$$)
  std::string body_file;         // AS FILE 'path'
  NullInput null_input = NullInput::kDefault;
  bool is_volatile = false;
  bool is_aggregate = false;  // CREATE AGGREGATE FUNCTION
  bool is_async = false;      // CREATE ASYNC FUNCTION (its WITH (...) options in `options`)
  bool has_params = true;     // false: LANGUAGE python without (params) RETURNS type
  // kSet
  std::string set_name;
  std::string set_value;  // text of the value; interval literals keep 'INTERVAL ...' form
  ExprPtr set_expr;
};

}  // namespace sluice::sql
