// Sub-plan reuse: merging the reads of one table, then sharing equal sub-plans (see
// plan_reuse.h and docs/decisions/0008-sub-plan-reuse.md).

#include "sql/planner/plan_reuse.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <unordered_set>

#include <fmt/format.h>

namespace sluice::sql {

using expr::BoundExpr;
using expr::BoundExprPtr;
using expr::BoundKind;
using types::DataType;
using types::TypeId;

namespace {

bool SameFunction(const expr::BoundFunction& a, const expr::BoundFunction& b) {
  // Bind-time state (a compiled pattern) comes from the arguments, which are compared too.
  return &a == &b || (a.name == b.name && a.arg_types == b.arg_types &&
                      a.return_type == b.return_type && a.deterministic == b.deterministic);
}

bool SameExprs(const std::vector<BoundExprPtr>& a, const std::vector<BoundExprPtr>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!SameExpr(a[i], b[i])) return false;
  }
  return true;
}

bool Deterministic(const BoundExprPtr& e) {
  if (e == nullptr) return true;
  if (e->kind == BoundKind::kCall && !e->function->deterministic) return false;
  return std::all_of(e->args.begin(), e->args.end(), Deterministic);
}

// Whether computing the node once for several parents gives each what it would compute alone.
bool Deterministic(const LogicalPlan& p) {
  return Deterministic(p.predicate) && Deterministic(p.watermark) && Deterministic(p.residual) &&
         std::all_of(p.exprs.begin(), p.exprs.end(),
                     [](const BoundExprPtr& e) { return Deterministic(e); });
}

bool SameSchema(const types::Schema& a, const types::Schema& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!(a.field(i) == b.field(i)) || a.field(i).nullable != b.field(i).nullable) return false;
  }
  return true;
}

bool SameAggregates(const std::vector<exec::AggregateCall>& a,
                    const std::vector<exec::AggregateCall>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const auto &x = a[i], &y = b[i];
    if (x.aggregate.name != y.aggregate.name || x.aggregate.arg_types != y.aggregate.arg_types ||
        x.aggregate.return_type != y.aggregate.return_type ||
        x.aggregate.distinct != y.aggregate.distinct || x.arg_columns != y.arg_columns ||
        x.filter_column != y.filter_column || x.display != y.display) {
      return false;
    }
  }
  return true;
}

bool SameTopN(const exec::TopNSpec& a, const exec::TopNSpec& b) {
  if (a.function != b.function || a.partition != b.partition || a.window_end != b.window_end ||
      a.limit != b.limit || a.order.size() != b.order.size()) {
    return false;
  }
  for (size_t i = 0; i < a.order.size(); ++i) {
    if (a.order[i].column != b.order[i].column || a.order[i].descending != b.order[i].descending ||
        a.order[i].nulls_first != b.order[i].nulls_first) {
      return false;
    }
  }
  return true;
}

// Equality of two nodes apart from their inputs.
bool SameNode(const LogicalPlan& a, const LogicalPlan& b) {
  return a.kind == b.kind && a.inputs.size() == b.inputs.size() &&
         SameSchema(*a.schema, *b.schema) && a.table == b.table && a.columns == b.columns &&
         SameExpr(a.predicate, b.predicate) && SameExprs(a.exprs, b.exprs) &&
         a.event_time_column == b.event_time_column && SameExpr(a.watermark, b.watermark) &&
         a.idle_micros == b.idle_micros && a.drop_late == b.drop_late &&
         a.processing_time == b.processing_time && a.window.kind == b.window.kind &&
         a.window.width == b.window.width && a.window.slide == b.window.slide &&
         a.window.gap == b.window.gap && a.window.column == b.window.column &&
         a.num_keys == b.num_keys && SameAggregates(a.aggregates, b.aggregates) &&
         a.flush_interval_micros == b.flush_interval_micros && a.join_type == b.join_type &&
         a.join_mode == b.join_mode && a.left_keys == b.left_keys && a.right_keys == b.right_keys &&
         SameExpr(a.residual, b.residual) && a.window_key == b.window_key &&
         a.ttl_micros == b.ttl_micros && a.lower == b.lower && a.upper == b.upper &&
         a.unnest_column == b.unnest_column && SameTopN(a.top_n, b.top_n) &&
         a.rank_read == b.rank_read && a.over.Describe() == b.over.Describe() &&
         a.async_fn == b.async_fn && a.async_args == b.async_args;
}

// Visits every node of the pipeline once, inputs first (post-order), in a deterministic order.
template <typename F>
void VisitOnce(const PlanPtr& p, std::unordered_set<const LogicalPlan*>* seen, F& f) {
  if (!seen->insert(p.get()).second) return;
  for (const auto& in : p->inputs) VisitOnce(in, seen, f);
  f(p);
}

// ---------------------------------------------------------------------------------------------
// Reads of one table: Watermark <- [Project(generated columns)] <- Source, as the binder
// produces them for every table reference and the optimizer narrows them to what each reader
// needs.

struct TableRead {
  PlanPtr watermark, generated, source;

  static std::optional<TableRead> At(const PlanPtr& p) {
    if (p->kind != PlanKind::kWatermark) return std::nullopt;
    TableRead r;
    r.watermark = p;
    PlanPtr below = p->inputs[0];
    if (below->kind == PlanKind::kProject) {
      r.generated = below;
      below = below->inputs[0];
    }
    if (below->kind != PlanKind::kSource) return std::nullopt;
    r.source = below;
    // Generated columns or a watermark of now() differ between reads: those stay apart.
    if (!Deterministic(*r.watermark) || (r.generated && !Deterministic(*r.generated))) {
      return std::nullopt;
    }
    return r;
  }

  bool SameAs(const TableRead& o) const {
    return SameNode(*watermark, *o.watermark) && SameNode(*source, *o.source) &&
           (generated == nullptr) == (o.generated == nullptr) &&
           (generated == nullptr || SameNode(*generated, *o.generated));
  }

  // What decides whether two reads can share one watermark generator.
  std::string GroupKey() const {
    const auto& w = *watermark;
    return fmt::format(
        "{}|{}|{}|{}|{}|{}", static_cast<const void*>(source->table.get()), generated != nullptr,
        w.drop_late, w.processing_time, w.idle_micros ? *w.idle_micros : -1,
        w.event_time_column >= 0 ? w.schema->field(static_cast<size_t>(w.event_time_column)).name
                                 : std::string());
  }
};

// Where a column of one read went in the merged read: its index and type there and, for a
// struct narrowed to other fields there, the new index of each of its fields.
struct ColumnMove {
  int to = -1;
  DataType type;
  std::vector<int> fields;  // empty: the same fields
};
using Moves = std::vector<ColumnMove>;  // by the column's index in the read

bool IsIdentity(const Moves& moves, const types::Schema& old) {
  for (size_t i = 0; i < moves.size(); ++i) {
    if (moves[i].to != static_cast<int>(i) || !moves[i].fields.empty() ||
        moves[i].type != old.field(i).type) {
      return false;
    }
  }
  return moves.size() == old.size();
}

// `e` over the merged read's columns; null when `e` reads a moved struct as a whole (its type
// changed), which the optimizer's narrowing never leaves.
BoundExprPtr MoveExpr(const BoundExprPtr& e, const Moves& moves) {
  if (e == nullptr) return nullptr;
  auto column = [&](const BoundExprPtr& c) -> const ColumnMove& {
    return moves[static_cast<size_t>(c->column_index)];
  };
  switch (e->kind) {
    case BoundKind::kColumn: {
      const ColumnMove& m = column(e);
      if (m.type != e->type) return nullptr;
      return expr::MakeColumn(m.to, m.type);
    }
    case BoundKind::kFieldAccess:
    case BoundKind::kIsNull:
      if (e->args[0]->kind == BoundKind::kColumn) {
        const ColumnMove& m = column(e->args[0]);
        auto copy = std::make_shared<BoundExpr>(*e);
        copy->args[0] = expr::MakeColumn(m.to, m.type);
        if (e->kind == BoundKind::kFieldAccess && !m.fields.empty()) {
          copy->field_index = m.fields[static_cast<size_t>(e->field_index)];
        }
        return copy;
      }
      break;
    default:
      break;
  }
  if (e->args.empty()) return e;
  auto copy = std::make_shared<BoundExpr>(*e);
  for (auto& a : copy->args) {
    a = MoveExpr(a, moves);
    if (a == nullptr) return nullptr;
  }
  return copy;
}

// The index of each field of struct `from` in struct `to` (matched by name); nullopt when one
// is missing.
std::optional<std::vector<int>> FieldPositions(const DataType& from, const DataType& to) {
  std::vector<int> out;
  for (const auto& f : from.fields()) {
    const auto& fields = to.fields();
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&](const types::Field& g) { return g.name == f.name; });
    if (it == fields.end()) return std::nullopt;
    out.push_back(static_cast<int>(it - fields.begin()));
  }
  return out;
}

// The move of a column of type `old_type` to index `to` of type `new_type`.
std::optional<ColumnMove> MoveOf(int to, const DataType& old_type, const DataType& new_type) {
  ColumnMove m{to, new_type, {}};
  if (old_type == new_type) return m;
  if (old_type.id() != TypeId::kStruct || new_type.id() != TypeId::kStruct) return std::nullopt;
  auto positions = FieldPositions(old_type, new_type);
  if (!positions) return std::nullopt;
  m.fields = std::move(*positions);
  return m;
}

struct MergedRead {
  PlanPtr watermark;
  std::vector<Moves> moves;  // per read: how its output columns moved
};

// One read of the union of what `reads` (of one table, with equal watermark settings) need.
std::optional<MergedRead> MergeReads(const std::vector<TableRead>& reads) {
  const auto& table = *reads[0].source->table;
  // The table columns read: as a whole (nullopt), or some fields of a struct.
  std::map<int, std::optional<std::set<int>>> need;
  for (const auto& r : reads) {
    for (size_t i = 0; i < r.source->columns.size(); ++i) {
      const int c = r.source->columns[i];
      const DataType& t = r.source->schema->field(i).type;
      const DataType& full = table.schema.field(static_cast<size_t>(c)).type;
      auto it = need.try_emplace(c, std::set<int>()).first;
      if (t == full) {
        it->second.reset();
        continue;
      }
      auto positions = t.id() == TypeId::kStruct && full.id() == TypeId::kStruct
                           ? FieldPositions(t, full)
                           : std::nullopt;
      if (!positions) return std::nullopt;
      if (it->second) it->second->insert(positions->begin(), positions->end());
    }
  }
  // The merged source.
  std::vector<int> columns;
  std::vector<types::Field> source_fields;
  std::map<int, int> position;  // table column -> merged source column
  for (const auto& [c, fields] : need) {
    types::Field f = table.schema.field(static_cast<size_t>(c));
    if (fields && fields->size() < f.type.fields().size()) {
      std::vector<types::Field> kept;
      for (int k : *fields) kept.push_back(f.type.fields()[static_cast<size_t>(k)]);
      f.type = DataType::Struct(std::move(kept));
    }
    position[c] = static_cast<int>(columns.size());
    columns.push_back(c);
    source_fields.push_back(std::move(f));
  }
  auto source = std::make_shared<LogicalPlan>(*reads[0].source);
  source->columns = columns;
  source->schema = std::make_shared<types::Schema>(source_fields);

  std::vector<Moves> source_moves;
  for (const auto& r : reads) {
    Moves m;
    for (size_t i = 0; i < r.source->columns.size(); ++i) {
      int to = position.at(r.source->columns[i]);
      auto move =
          MoveOf(to, r.source->schema->field(i).type, source_fields[static_cast<size_t>(to)].type);
      if (!move) return std::nullopt;
      m.push_back(std::move(*move));
    }
    source_moves.push_back(std::move(m));
  }

  MergedRead out;
  PlanPtr below = source;
  if (reads[0].generated == nullptr) {
    out.moves = source_moves;
  } else {
    // The merged projection of generated columns: every output some read has, matched by
    // name; the columns it passes through first (in table order), then the computed ones.
    struct Output {
      types::Field field;
      BoundExprPtr expr;
      int table_column = -1;  // passed through
    };
    std::vector<Output> outputs;
    for (size_t k = 0; k < reads.size(); ++k) {
      const LogicalPlan& g = *reads[k].generated;
      for (size_t o = 0; o < g.exprs.size(); ++o) {
        const BoundExprPtr& e = g.exprs[o];
        Output next{g.schema->field(o), nullptr, -1};
        if (e->kind == BoundKind::kColumn) {
          const ColumnMove& m = source_moves[k][static_cast<size_t>(e->column_index)];
          next.table_column = reads[k].source->columns[static_cast<size_t>(e->column_index)];
          next.field.type = m.type;
          next.expr = expr::MakeColumn(m.to, m.type);
        } else {
          next.expr = MoveExpr(e, source_moves[k]);
          if (next.expr == nullptr) return std::nullopt;
        }
        auto it = std::find_if(outputs.begin(), outputs.end(),
                               [&](const Output& x) { return x.field.name == next.field.name; });
        if (it == outputs.end()) {
          outputs.push_back(std::move(next));
        } else if (!SameExpr(it->expr, next.expr) || it->field.type != next.field.type) {
          return std::nullopt;
        }
      }
    }
    std::stable_sort(outputs.begin(), outputs.end(), [](const Output& a, const Output& b) {
      auto rank = [](const Output& x) { return x.table_column >= 0 ? x.table_column : 1 << 30; };
      return rank(a) < rank(b);
    });
    std::vector<BoundExprPtr> exprs;
    std::vector<types::Field> fields;
    for (const auto& o : outputs) {
      exprs.push_back(o.expr);
      fields.push_back(o.field);
    }
    below = MakeProject(below, std::move(exprs), std::make_shared<types::Schema>(fields));
    for (const auto& r : reads) {
      Moves m;
      for (const auto& f : r.generated->schema->fields()) {
        auto it = std::find_if(outputs.begin(), outputs.end(),
                               [&](const Output& x) { return x.field.name == f.name; });
        auto move = MoveOf(static_cast<int>(it - outputs.begin()), f.type, it->field.type);
        if (!move) return std::nullopt;
        m.push_back(std::move(*move));
      }
      out.moves.push_back(std::move(m));
    }
  }

  // One watermark generator: the reads' event time and watermark must agree once moved.
  auto watermark = std::make_shared<LogicalPlan>(*reads[0].watermark);
  watermark->inputs = {below};
  watermark->schema = below->schema;
  auto event_time = [&](size_t k) {
    int et = reads[k].watermark->event_time_column;
    return et < 0 ? -1 : out.moves[k][static_cast<size_t>(et)].to;
  };
  watermark->event_time_column = event_time(0);
  watermark->watermark = MoveExpr(reads[0].watermark->watermark, out.moves[0]);
  if (watermark->watermark == nullptr) return std::nullopt;
  for (size_t k = 1; k < reads.size(); ++k) {
    if (event_time(k) != watermark->event_time_column ||
        !SameExpr(MoveExpr(reads[k].watermark->watermark, out.moves[k]), watermark->watermark)) {
      return std::nullopt;
    }
  }
  out.watermark = watermark;
  return out;
}

// Puts merged reads in place of the reads they replace, and rewrites the filters and
// projections above them to the merged columns.
class ReadReplacer {
 public:
  struct Replacement {
    PlanPtr plan;
    const Moves* moves = nullptr;  // how the replaced read's columns moved; null: they did not
  };

  explicit ReadReplacer(std::unordered_map<const LogicalPlan*, Replacement> replace)
      : replace_(std::move(replace)) {}

  Replacement Rewrite(const PlanPtr& p) {
    if (auto it = done_.find(p.get()); it != done_.end()) return it->second;
    Replacement r = RewriteNode(p);
    done_[p.get()] = r;
    return r;
  }
  bool failed() const { return failed_; }

 private:
  Replacement RewriteNode(const PlanPtr& p) {
    if (auto it = replace_.find(p.get()); it != replace_.end()) return it->second;
    std::vector<PlanPtr> inputs;
    const Moves* moves = nullptr;
    bool changed = false;
    for (const auto& in : p->inputs) {
      Replacement r = Rewrite(in);
      changed |= r.plan != in;
      if (r.moves != nullptr) moves = r.moves;
      inputs.push_back(r.plan);
    }
    if (moves == nullptr) {
      if (!changed) return {p, nullptr};
      auto copy = std::make_shared<LogicalPlan>(*p);
      copy->inputs = std::move(inputs);
      return {copy, nullptr};
    }
    // Only a filter or a projection reads a narrowed read (the optimizer narrows a read only
    // under them); they take their input's columns where they moved.
    if (p->kind == PlanKind::kFilter) {
      BoundExprPtr predicate = MoveExpr(p->predicate, *moves);
      if (predicate != nullptr) return {MakeFilter(inputs[0], predicate), moves};
    } else if (p->kind == PlanKind::kProject) {
      std::vector<BoundExprPtr> exprs;
      for (const auto& e : p->exprs) exprs.push_back(MoveExpr(e, *moves));
      if (std::none_of(exprs.begin(), exprs.end(), [](const auto& e) { return e == nullptr; })) {
        return {MakeProject(inputs[0], std::move(exprs), p->schema), nullptr};
      }
    }
    failed_ = true;
    return {p, nullptr};
  }

  std::unordered_map<const LogicalPlan*, Replacement> replace_;
  std::unordered_map<const LogicalPlan*, Replacement> done_;
  bool failed_ = false;
};

PipelinePlan MergeTableReads(PipelinePlan plan) {
  // The reads, grouped by table and watermark settings, in the order they are first met.
  std::vector<std::string> keys;
  std::map<std::string, std::vector<TableRead>> groups;
  std::unordered_set<const LogicalPlan*> seen;
  auto collect = [&](const PlanPtr& p) {
    if (auto read = TableRead::At(p)) {
      std::string key = read->GroupKey();
      if (!groups.count(key)) keys.push_back(key);
      groups[key].push_back(*read);
    }
  };
  for (const auto& sink : plan.sinks) VisitOnce(sink, &seen, collect);

  std::vector<std::unique_ptr<Moves>> moves;  // owned here, pointed to by the replacements
  std::unordered_map<const LogicalPlan*, ReadReplacer::Replacement> replace;
  for (const auto& key : keys) {
    const auto& reads = groups[key];
    if (reads.size() < 2) continue;
    // Equal reads need no merging: they are shared as equal sub-plans.
    if (std::all_of(reads.begin() + 1, reads.end(),
                    [&](const TableRead& r) { return r.SameAs(reads[0]); })) {
      continue;
    }
    auto merged = MergeReads(reads);
    if (!merged) continue;
    for (size_t k = 0; k < reads.size(); ++k) {
      const Moves* m = nullptr;
      if (!IsIdentity(merged->moves[k], *reads[k].watermark->schema)) {
        moves.push_back(std::make_unique<Moves>(std::move(merged->moves[k])));
        m = moves.back().get();
      }
      replace[reads[k].watermark.get()] = {merged->watermark, m};
    }
  }
  if (replace.empty()) return plan;
  ReadReplacer replacer(std::move(replace));
  PipelinePlan out = plan;
  for (auto& sink : out.sinks) sink = replacer.Rewrite(sink).plan;
  // A read under something other than a filter or projection: keep the plan as it was.
  return replacer.failed() ? plan : out;
}

// ---------------------------------------------------------------------------------------------
// Equal sub-plans: bottom-up, a node equal to one met before (same parameters, same inputs
// after sharing) is replaced by it. Sources and projections of generated columns are shared
// only with the watermark above them, so a shared source always keeps its one watermark
// generator chained to it.

class SubPlanSharer {
 public:
  PlanPtr Share(const PlanPtr& p) {
    if (auto it = done_.find(p.get()); it != done_.end()) return it->second;
    PlanPtr out = ShareNode(p);
    done_[p.get()] = out;
    return out;
  }

 private:
  PlanPtr ShareNode(const PlanPtr& p) {
    if (auto read = TableRead::At(p)) {
      for (const auto& r : reads_) {
        if (r.watermark == p || r.SameAs(*read)) return r.watermark;
      }
      reads_.push_back(*read);
      return p;
    }
    std::vector<PlanPtr> inputs;
    bool changed = false;
    for (const auto& in : p->inputs) {
      inputs.push_back(Share(in));
      changed |= inputs.back() != in;
    }
    PlanPtr node = p;
    if (changed) {
      auto copy = std::make_shared<LogicalPlan>(*p);
      copy->inputs = std::move(inputs);
      node = copy;
    }
    if (node->kind == PlanKind::kSink || node->kind == PlanKind::kSource || !Deterministic(*node)) {
      return node;
    }
    auto& bucket = seen_[node->Describe()];
    for (const auto& c : bucket) {
      if (c->inputs == node->inputs && SameNode(*c, *node)) return c;
    }
    bucket.push_back(node);
    return node;
  }

  std::unordered_map<const LogicalPlan*, PlanPtr> done_;
  std::unordered_map<std::string, std::vector<PlanPtr>> seen_;  // by Describe()
  std::vector<TableRead> reads_;
};

}  // namespace

bool SameExpr(const BoundExprPtr& a, const BoundExprPtr& b) {
  if (a == b) return true;
  if (a == nullptr || b == nullptr) return false;
  if (a->kind != b->kind || a->type != b->type || a->column_index != b->column_index ||
      a->try_cast != b->try_cast || a->negated != b->negated || a->has_else != b->has_else ||
      a->field_index != b->field_index || !SameExprs(a->args, b->args)) {
    return false;
  }
  if (a->kind == BoundKind::kLiteral && !(a->literal == b->literal)) return false;
  if (a->kind == BoundKind::kCall && !SameFunction(*a->function, *b->function)) return false;
  return true;
}

std::unordered_map<const LogicalPlan*, int> CountParents(const PipelinePlan& plan) {
  std::unordered_map<const LogicalPlan*, int> parents;
  std::unordered_set<const LogicalPlan*> seen;
  auto count = [&](const PlanPtr& p) {
    for (const auto& in : p->inputs) ++parents[in.get()];
  };
  for (const auto& sink : plan.sinks) VisitOnce(sink, &seen, count);
  return parents;
}

PipelinePlan ShareSubPlans(PipelinePlan plan) {
  plan = MergeTableReads(std::move(plan));
  SubPlanSharer sharer;
  for (auto& sink : plan.sinks) sink = sharer.Share(sink);
  return plan;
}

}  // namespace sluice::sql
