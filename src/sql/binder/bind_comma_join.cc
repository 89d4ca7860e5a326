// Comma joins and CROSS JOIN with the join conditions in WHERE: FROM a, b WHERE a.id = b.aid.
// The WHERE conjuncts that relate the FROM items become the ON conditions of inner joins, which
// JoinRelations binds exactly as JOIN ... ON (the same windowed, interval or updating join);
// conjuncts that read one item filter that item below the joins.

#include <functional>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "sql/binder/binder_internal.h"

namespace sluice::sql {

namespace {

// The items of a chain of commas and CROSS JOINs, in FROM order.
void FlattenCross(const TableRefPtr& t, std::vector<TableRefPtr>* out) {
  if (t->kind == TableRef::Kind::kJoin && t->join_type == JoinType::kCross) {
    FlattenCross(t->left, out);
    FlattenCross(t->right, out);
    return;
  }
  out->push_back(t);
}

// The items a column reference can read, resolved as BindColumnRef does: `q.c` by qualifier
// and name when that matches, else by its first name.
std::set<size_t> ItemsOf(const std::vector<std::string>& names, const std::vector<Relation>& rels) {
  auto find = [&](const std::string& qualifier, const std::string& name) {
    std::set<size_t> found;
    for (size_t i = 0; i < rels.size(); ++i) {
      for (const auto& c : rels[i].columns) {
        if (c.name == name && (qualifier.empty() || c.qualifier == qualifier)) found.insert(i);
      }
    }
    return found;
  };
  if (names.size() >= 2) {
    auto q = find(names[0], names[1]);
    if (!q.empty()) return q;
  }
  return find("", names[0]);
}

// The items a conjunct reads; nothing when one of its references is not exactly one item's
// (it stays above the joins, where binding reports it) or it holds a subquery.
std::optional<std::set<size_t>> ConjunctItems(const Expr& e, const std::vector<Relation>& rels) {
  std::set<size_t> items;
  bool ok = true;
  std::function<void(const Expr&)> walk = [&](const Expr& x) {
    if (x.kind == ExprKind::kSubquery) ok = false;
    if (x.kind == ExprKind::kColumnRef) {
      auto found = ItemsOf(x.names, rels);
      if (found.size() != 1) ok = false;
      items.insert(found.begin(), found.end());
    }
    for (const auto& a : x.args) {
      if (a) walk(*a);
    }
    if (x.filter) walk(*x.filter);
  };
  walk(e);
  if (!ok) return std::nullopt;
  return items;
}

}  // namespace

Relation StatementBinder::BindCommaJoin(const TableRef& from, const Expr& where) {
  std::vector<TableRefPtr> items;
  FlattenCross(from.left, &items);
  FlattenCross(from.right, &items);
  std::vector<Relation> rels;
  for (const auto& item : items) rels.push_back(BindTableRef(*item));
  std::vector<size_t> width;
  for (const auto& r : rels) width.push_back(r.columns.size());

  std::vector<ExprPtr> conjuncts;
  SplitAnd(std::make_shared<Expr>(where), &conjuncts);
  std::vector<std::optional<std::set<size_t>>> reads;
  for (const auto& c : conjuncts) reads.push_back(ConjunctItems(*c, rels));
  std::vector<bool> used(conjuncts.size(), false);

  // Conditions on one item filter it before the join.
  for (size_t i = 0; i < rels.size(); ++i) {
    std::vector<ExprPtr> own;
    for (size_t c = 0; c < conjuncts.size(); ++c) {
      if (reads[c] && reads[c]->size() == 1 && *reads[c]->begin() == i) {
        own.push_back(conjuncts[c]);
        used[c] = true;
      }
    }
    if (!own.empty()) {
      rels[i].plan = MakeFilter(rels[i].plan, BindBool(*AndOf(own), rels[i].columns, "WHERE"));
    }
  }

  // Left-deep inner joins: next comes the first item (in FROM order) that a condition relates
  // to the items joined so far.
  std::vector<size_t> order = {0};
  std::set<size_t> joined = {0};
  Relation acc = std::move(rels[0]);
  while (order.size() < rels.size()) {
    size_t next = rels.size();
    std::vector<ExprPtr> on;
    std::vector<size_t> on_index;
    for (size_t k = 0; k < rels.size() && next == rels.size(); ++k) {
      if (joined.count(k)) continue;
      for (size_t c = 0; c < conjuncts.size(); ++c) {
        if (used[c] || !reads[c] || !reads[c]->count(k)) continue;
        bool within = true, relates = false;
        for (size_t r : *reads[c]) {
          within &= r == k || joined.count(r) > 0;
          relates |= joined.count(r) > 0;
        }
        if (within && relates) {
          on.push_back(conjuncts[c]);
          on_index.push_back(c);
        }
      }
      if (!on.empty()) next = k;
    }
    if (next == rels.size()) {
      size_t k = 0;
      while (joined.count(k)) ++k;
      FailNotSupported(items[k]->loc,
                       "CROSS JOIN is not supported: pairing every row of an unbounded stream "
                       "with every other row needs unbounded state; relate the tables with an "
                       "equality in WHERE (FROM a, b WHERE a.k = b.k) or join ON one "
                       "(JOIN ... ON a.k = b.k)");
    }
    for (size_t c : on_index) used[c] = true;
    TableRef join;
    join.kind = TableRef::Kind::kJoin;
    join.loc = items[next]->loc;
    join.join_type = JoinType::kInner;
    join.left = items[order[0]];
    join.right = items[next];
    join.on = AndOf(on);
    acc = JoinRelations(join, std::move(acc), std::move(rels[next]));
    order.push_back(next);
    joined.insert(next);
  }

  // Columns in FROM order, as SELECT * lists them.
  bool reordered = false;
  for (size_t i = 0; i < order.size(); ++i) reordered |= order[i] != i;
  if (reordered) {
    std::vector<size_t> start(items.size());
    size_t at = 0;
    for (size_t i : order) {
      start[i] = at;
      at += width[i];
    }
    std::vector<BoundExprPtr> exprs;
    std::vector<ScopeColumn> cols;
    for (size_t i = 0; i < items.size(); ++i) {
      for (size_t j = 0; j < width[i]; ++j) {
        size_t col = start[i] + j;
        exprs.push_back(expr::MakeColumn(static_cast<int>(col), acc.columns[col].type));
        cols.push_back(acc.columns[col]);
      }
    }
    acc.plan = MakeProject(acc.plan, std::move(exprs), SchemaOf(cols));
    acc.columns = std::move(cols);
  }

  std::vector<ExprPtr> rest;
  for (size_t c = 0; c < conjuncts.size(); ++c) {
    if (!used[c]) rest.push_back(conjuncts[c]);
  }
  if (!rest.empty()) acc.plan = MakeFilter(acc.plan, BindBool(*AndOf(rest), acc.columns, "WHERE"));
  return acc;
}

}  // namespace sluice::sql
