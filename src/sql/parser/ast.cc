#include "sql/parser/ast.h"

#include <initializer_list>
#include <string_view>

namespace sluice::sql {
namespace {

// Binding strength when rendering, matching the parser's; a child that binds more loosely than
// its position needs is parenthesized.
enum RenderPrec : int {
  kOr = 1,
  kAnd,
  kNot,
  kIs,
  kCmp,
  kLike,
  kOther,
  kAdd,
  kMul,
  kExp,
  kUnary,
  kAtom = 100,
};

int BinaryPrec(const std::string& op) {
  if (op == "or") return kOr;
  if (op == "and") return kAnd;
  if (op == "=" || op == "<>" || op == "<" || op == ">" || op == "<=" || op == ">=") return kCmp;
  if (op == "+" || op == "-") return kAdd;
  if (op == "*" || op == "/" || op == "%") return kMul;
  if (op == "^") return kExp;
  return kOther;
}

int PrecOf(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kBinary:
      return BinaryPrec(e.op);
    case ExprKind::kUnary:
      return e.op == "not" ? kNot : kUnary;
    case ExprKind::kIsNull:
    case ExprKind::kIsBool:
    case ExprKind::kIsDistinctFrom:
      return kIs;
    case ExprKind::kBetween:
    case ExprKind::kInList:
    case ExprKind::kLike:
    case ExprKind::kSimilarTo:
      return kLike;
    default:
      return kAtom;
  }
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// Names print bare when the lexer would read them back unchanged, quoted otherwise.
std::string QuoteName(const std::string& name) {
  bool plain = !name.empty() && !(name[0] >= '0' && name[0] <= '9');
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) plain = false;
  }
  if (plain) return name;
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteString(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += '.';
    out += QuoteName(names[i]);
  }
  return out;
}

// Concatenates its parts. Used instead of chains of `+`, whose `"literal" + std::string&&`
// form trips a false -Wrestrict in GCC 12 at -O2 and above (GCC bug 105329).
std::string Cat(std::initializer_list<std::string_view> parts) {
  size_t size = 0;
  for (std::string_view part : parts) size += part.size();
  std::string out;
  out.reserve(size);
  for (std::string_view part : parts) out.append(part);
  return out;
}

std::string TypeToSql(const TypeName& type) {
  std::string out = type.name;
  if (type.name == "struct") {
    out += '<';
    for (size_t i = 0; i < type.struct_fields.size(); ++i) {
      if (i > 0) out += ", ";
      const auto& field = type.struct_fields[i];
      out += QuoteName(field.name);
      out += ' ';
      out += field.type ? TypeToSql(*field.type) : "?";
    }
    out += '>';
  }
  if (!type.params.empty()) {
    out += '(';
    for (size_t i = 0; i < type.params.size(); ++i) {
      if (i > 0) out += ", ";
      out += std::to_string(type.params[i]);
    }
    out += ')';
  }
  if (type.is_unsigned) out += " unsigned";
  for (int i = 0; i < type.array_dims; ++i) out += "[]";
  return out;
}

std::string Render(const Expr* e);
std::string Render(const ExprPtr& e) {
  return Render(e.get());
}

// Renders `e`, parenthesized when it binds more loosely than `min_prec`.
std::string RenderChild(const ExprPtr& e, int min_prec) {
  if (!e) return "?";
  std::string s = Render(e);
  return PrecOf(*e) < min_prec ? Cat({"(", s, ")"}) : s;
}

std::string RenderList(const std::vector<ExprPtr>& args, size_t begin = 0) {
  std::string out;
  for (size_t i = begin; i < args.size(); ++i) {
    if (i > begin) out += ", ";
    out += Render(args[i]);
  }
  return out;
}

std::string RenderOrderBy(const std::vector<WindowSpec::OrderItem>& items) {
  std::string out = "ORDER BY ";
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    out += Render(items[i].expr);
    if (items[i].descending) out += " DESC";
    if (items[i].nulls_first) out += *items[i].nulls_first ? " NULLS FIRST" : " NULLS LAST";
  }
  return out;
}

const ExprPtr& Arg(const Expr& e, size_t i) {
  static const ExprPtr kNull;
  return i < e.args.size() ? e.args[i] : kNull;
}

std::string RenderFunction(const Expr& e) {
  std::string out = JoinNames(e.names);
  out += '(';
  if (e.star_arg) {
    out += '*';
  } else {
    if (e.distinct) out += "DISTINCT ";
    out += RenderList(e.args);
  }
  if (!e.within_group.empty() && !e.ordered_set) {
    out += ' ';
    out += RenderOrderBy(e.within_group);
  }
  out += ')';
  if (e.ordered_set) out += Cat({" WITHIN GROUP (", RenderOrderBy(e.within_group), ")"});
  if (e.filter) out += Cat({" FILTER (WHERE ", Render(e.filter), ")"});
  if (e.over) {
    std::string spec = e.over->ref;
    if (!e.over->partition_by.empty()) {
      if (!spec.empty()) spec += ' ';
      spec += Cat({"PARTITION BY ", RenderList(e.over->partition_by)});
    }
    if (!e.over->order_by.empty()) {
      if (!spec.empty()) spec += ' ';
      spec += RenderOrderBy(e.over->order_by);
    }
    if (!e.over->frame_text.empty()) {
      if (!spec.empty()) spec += ' ';
      spec += e.over->frame_text;
    }
    out += e.over->bare_ref ? Cat({" OVER ", spec}) : Cat({" OVER (", spec, ")"});
  }
  return out;
}

std::string RenderLiteral(const Expr& e) {
  switch (e.literal_kind) {
    case LiteralKind::kNull:
      return "NULL";
    case LiteralKind::kBool:
      return e.bool_value ? "TRUE" : "FALSE";
    case LiteralKind::kInteger:
    case LiteralKind::kDecimal:
      return e.text;
    case LiteralKind::kString:
      return QuoteString(e.text);
    case LiteralKind::kTyped:
      return Cat({Upper(e.cast_type ? e.cast_type->name : ""), " ", QuoteString(e.text)});
  }
  return e.text;
}

std::string RenderCase(const Expr& e) {
  std::string out = "CASE";
  size_t i = 0;
  if (e.has_operand) out += Cat({" ", Render(Arg(e, i++))});
  size_t end = e.args.size();
  if (e.has_else && end > i) --end;  // args[end] is the ELSE value
  for (; i + 1 < end; i += 2) {
    out += Cat({" WHEN ", Render(Arg(e, i)), " THEN ", Render(Arg(e, i + 1))});
  }
  if (e.has_else && end < e.args.size()) out += Cat({" ELSE ", Render(Arg(e, end))});
  out += " END";
  return out;
}

// clang-format off
std::string Render(const Expr* ptr) {
  if (!ptr) return "?";
  const Expr& e = *ptr;
  std::string_view not_kw = e.negated ? "NOT " : "";
  switch (e.kind) {
    case ExprKind::kLiteral: return RenderLiteral(e);
    case ExprKind::kColumnRef: return JoinNames(e.names);
    case ExprKind::kStar: return e.names.empty() ? "*" : Cat({JoinNames(e.names), ".*"});
    case ExprKind::kUnary: {
      if (e.op == "not") return Cat({"NOT ", RenderChild(Arg(e, 0), kNot)});
      const ExprPtr& operand = Arg(e, 0);
      // "- -x" must not become the comment "--x".
      bool wrap = operand && (operand->kind == ExprKind::kUnary || PrecOf(*operand) < kUnary);
      std::string inner = Render(operand);
      return wrap ? Cat({e.op, "(", inner, ")"}) : Cat({e.op, inner});
    }
    case ExprKind::kBinary: {
      int prec = BinaryPrec(e.op);
      std::string op = e.op == "and" || e.op == "or" ? Upper(e.op) : e.op;
      return Cat({RenderChild(Arg(e, 0), prec), " ", op, " ", RenderChild(Arg(e, 1), prec + 1)});
    }
    case ExprKind::kIsNull:
      return Cat({RenderChild(Arg(e, 0), kIs + 1), e.negated ? " IS NOT NULL" : " IS NULL"});
    case ExprKind::kIsBool:
      return Cat({RenderChild(Arg(e, 0), kIs + 1), " IS ", not_kw, Upper(e.op)});
    case ExprKind::kIsDistinctFrom:
      return Cat({RenderChild(Arg(e, 0), kIs + 1), " IS ", not_kw, "DISTINCT FROM ",
                  RenderChild(Arg(e, 1), kIs + 1)});
    case ExprKind::kBetween:
      return Cat({RenderChild(Arg(e, 0), kOther), " ", not_kw, "BETWEEN ",
                  RenderChild(Arg(e, 1), kOther), " AND ", RenderChild(Arg(e, 2), kOther)});
    case ExprKind::kInList: {
      const ExprPtr& first = Arg(e, 1);
      bool subquery = e.args.size() == 2 && first && first->kind == ExprKind::kSubquery;
      std::string items = subquery ? Render(first) : Cat({"(", RenderList(e.args, 1), ")"});
      return Cat({RenderChild(Arg(e, 0), kOther), " ", not_kw, "IN ", items});
    }
    case ExprKind::kLike: {
      std::string out = Cat({RenderChild(Arg(e, 0), kOther), " ", not_kw,
                             e.case_insensitive ? "ILIKE " : "LIKE ",
                             RenderChild(Arg(e, 1), kOther)});
      if (e.args.size() > 2) out += Cat({" ESCAPE ", RenderChild(Arg(e, 2), kOther)});
      return out;
    }
    case ExprKind::kSimilarTo:
      return Cat({RenderChild(Arg(e, 0), kOther), " ", not_kw, "SIMILAR TO ",
                  RenderChild(Arg(e, 1), kOther)});
    case ExprKind::kCast:
      return Cat({e.try_cast ? "TRY_CAST(" : "CAST(", Render(Arg(e, 0)), " AS ",
                  e.cast_type ? TypeToSql(*e.cast_type) : "?", ")"});
    case ExprKind::kCase: return RenderCase(e);
    case ExprKind::kFunction: return RenderFunction(e);
    case ExprKind::kSubscript:
      return Cat({RenderChild(Arg(e, 0), kAtom), "[", Render(Arg(e, 1)), "]"});
    case ExprKind::kFieldAccess: {
      const ExprPtr& base = Arg(e, 0);
      bool bare = base && (base->kind == ExprKind::kFunction ||
                           base->kind == ExprKind::kSubscript ||
                           base->kind == ExprKind::kFieldAccess);
      std::string inner = Render(base);
      return bare ? Cat({inner, ".", QuoteName(e.text)})
                  : Cat({"(", inner, ").", QuoteName(e.text)});
    }
    case ExprKind::kArray: {
      const ExprPtr& first = Arg(e, 0);
      if (e.args.size() == 1 && first && first->kind == ExprKind::kSubquery) {
        return Cat({"ARRAY", Render(first)});
      }
      return Cat({"ARRAY[", RenderList(e.args), "]"});
    }
    case ExprKind::kRow: return Cat({"ROW(", RenderList(e.args), ")"});
    case ExprKind::kSubquery: return e.exists ? "EXISTS (SELECT ...)" : "(SELECT ...)";
    case ExprKind::kInterval:
      return e.unit.empty() ? Cat({"INTERVAL ", QuoteString(e.text)})
                            : Cat({"INTERVAL ", QuoteString(e.text), " ", Upper(e.unit)});
  }
  return "?";
}
// clang-format on

}  // namespace

std::string Expr::ToSql() const {
  return Render(this);
}

}  // namespace sluice::sql
