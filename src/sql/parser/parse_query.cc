// Parses queries: WITH, SELECT cores, FROM/joins, set operations, ORDER BY/LIMIT, WINDOW.

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "sql/parser/parser_internal.h"

namespace sluice::sql::parser_internal {

SLUICE_NOINLINE QueryPtr Parser::ParseQuery() {
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
SLUICE_NOINLINE SetExprPtr Parser::ParseSetExpr(int min_prec) {
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

SLUICE_NOINLINE SetExprPtr Parser::ParseSetPrimary() {
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

SLUICE_NOINLINE std::shared_ptr<SelectCore> Parser::ParseSelectCore() {
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

SLUICE_NOINLINE SelectItem Parser::ParseSelectItem() {
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
std::string Parser::ParseOptionalAlias() {
  if (AcceptWord("as")) return ParseLabel("alias");
  if (IsColId(Peek()) && !AtWindowClause()) return Next().text;
  return "";
}

// WINDOW name AS (: the WINDOW clause (`window` alone may be a name).
bool Parser::AtWindowClause() const {
  return AtWord("window") && IsLabel(Peek(1)) && IsWord(Peek(2), "as") && IsOp(Peek(3), "(");
}

SLUICE_NOINLINE std::vector<WindowSpec::OrderItem> Parser::ParseOrderByList() {
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

SLUICE_NOINLINE TableRefPtr Parser::ParseFromList() {
  TableRefPtr left = ParseTableRef();
  while (AtOp(",")) {
    Next();
    left = NewJoin(JoinType::kCross, std::move(left), ParseTableRef());
  }
  return left;
}

TableRefPtr Parser::NewJoin(JoinType type, TableRefPtr left, TableRefPtr right) {
  auto join = std::make_shared<TableRef>();
  join->kind = TableRef::Kind::kJoin;
  join->loc = left->loc;
  join->join_type = type;
  join->left = std::move(left);
  join->right = std::move(right);
  return join;
}

SLUICE_NOINLINE TableRefPtr Parser::ParseTableRef() {
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

SLUICE_NOINLINE TableRefPtr Parser::ParseTablePrimary() {
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

}  // namespace sluice::sql::parser_internal
