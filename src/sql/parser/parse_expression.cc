// Parses expressions: operators, literals, names, function calls, OVER and frames, CASE, CAST, ...

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "sql/parser/parser_internal.h"

namespace sluice::sql::parser_internal {

SLUICE_NOINLINE ExprPtr Parser::ParseExpr(int min_prec) {
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

int Parser::InfixPrecedence() const {
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

SLUICE_NOINLINE ExprPtr Parser::ParseInfix(ExprPtr left, int prec, Location loc) {
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

SLUICE_NOINLINE ExprPtr Parser::ParseIs(ExprPtr left, Location loc) {
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

SLUICE_NOINLINE ExprPtr Parser::ParsePrefix() {
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
SLUICE_NOINLINE ExprPtr Parser::ParsePostfix(ExprPtr e, Location start) {
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

SLUICE_NOINLINE ExprPtr Parser::ParseCastSuffix(ExprPtr value, Location start) {
  ExprPtr cast = NewExpr(ExprKind::kCast, start);
  Next();  // ::
  cast->cast_type = std::make_shared<TypeName>(ParseType());
  cast->args = {std::move(value)};
  return cast;
}

SLUICE_NOINLINE ExprPtr Parser::ParseSubscriptSuffix(ExprPtr base, Location start) {
  ExprPtr sub = NewExpr(ExprKind::kSubscript, start);
  Next();  // [
  sub->args = {std::move(base), ParseExpr()};
  if (AtOp(":")) FailAt(Peek().loc, "array slices are not supported");
  ExpectOp("]");
  return sub;
}

SLUICE_NOINLINE ExprPtr Parser::ParseFieldSuffix(ExprPtr base, Location start) {
  ExprPtr field = NewExpr(ExprKind::kFieldAccess, start);
  Next();  // .
  field->text = ParseLabel("field name");
  field->args = {std::move(base)};
  return field;
}

SLUICE_NOINLINE ExprPtr Parser::ParsePrimary() {
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
SLUICE_NOINLINE ExprPtr Parser::ParseWordPrimary() {
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

SLUICE_NOINLINE ExprPtr Parser::ParseKeywordLiteral() {
  const Token& t = Next();
  if (t.text == "null") return NewLiteral(LiteralKind::kNull, "", t.loc);
  ExprPtr e = NewLiteral(LiteralKind::kBool, t.text, t.loc);
  e->bool_value = t.text == "true";
  return e;
}

SLUICE_NOINLINE ExprPtr Parser::ParseExists() {
  ExprPtr e = NewExpr(ExprKind::kSubquery, Next().loc);
  e->exists = true;
  ExpectOp("(");
  e->subquery = ParseQuery();
  ExpectOp(")");
  return e;
}

// ARRAY[...] or ARRAY(SELECT ...).
SLUICE_NOINLINE ExprPtr Parser::ParseArrayConstructor() {
  Location loc = Next().loc;
  if (AtOp("[")) return ParseArrayElements(loc);
  if (!ParenIsQuery(pos_)) Fail("ARRAY[...] or ARRAY(SELECT ...)");
  ExprPtr e = NewExpr(ExprKind::kArray, loc);
  e->args = {ParseParenSubquery()};
  return e;
}

SLUICE_NOINLINE ExprPtr Parser::ParseRowConstructor() {
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
SLUICE_NOINLINE ExprPtr Parser::ParseTypedLiteral() {
  const Token& type = Next();
  ExprPtr e = NewLiteral(LiteralKind::kTyped, Next().text, type.loc);
  e->cast_type = std::make_shared<TypeName>();
  e->cast_type->name = type.text;
  e->cast_type->loc = type.loc;
  return e;
}

SLUICE_NOINLINE ExprPtr Parser::ParseCurrentTime() {
  const Token& t = Next();
  bool now = t.text == "current_timestamp" || t.text == "localtimestamp";
  return NewFunction(now ? "now" : t.text, {}, t.loc);
}

// a, t.a, t.a.b, t.*, f(...), schema.f(...)
SLUICE_NOINLINE ExprPtr Parser::ParseNameOrCall() {
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
SLUICE_NOINLINE void Parser::ParseCallArguments(Expr* f) {
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
SLUICE_NOINLINE void Parser::ParseCallSuffixes(Expr* f) {
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

SLUICE_NOINLINE std::shared_ptr<WindowSpec> Parser::ParseWindowSpec() {
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
SLUICE_NOINLINE WindowFrame Parser::ParseWindowFrame() {
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

SLUICE_NOINLINE WindowFrame::Bound Parser::ParseFrameBound() {
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

SLUICE_NOINLINE ExprPtr Parser::ParseParenthesized() {
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

SLUICE_NOINLINE ExprPtr Parser::ParseParenSubquery() {
  ExprPtr e = NewExpr(ExprKind::kSubquery, Peek().loc);
  ExpectOp("(");
  e->subquery = ParseQuery();
  ExpectOp(")");
  return e;
}

// After the opening ARRAY (if any): [a, b, ...].
SLUICE_NOINLINE ExprPtr Parser::ParseArrayElements(Location loc) {
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

SLUICE_NOINLINE ExprPtr Parser::ParseCase() {
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

SLUICE_NOINLINE ExprPtr Parser::ParseCast() {
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
SLUICE_NOINLINE ExprPtr Parser::ParseExtract() {
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
SLUICE_NOINLINE ExprPtr Parser::ParsePosition() {
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
SLUICE_NOINLINE ExprPtr Parser::ParseSubstring() {
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
SLUICE_NOINLINE ExprPtr Parser::ParseTrim() {
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
SLUICE_NOINLINE ExprPtr Parser::ParseInterval() {
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

}  // namespace sluice::sql::parser_internal
