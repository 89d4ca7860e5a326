// Logical rewrites, applied bottom-up until nothing changes:
//   constant folding; AND/OR with constant sides; dropping always-true filters;
//   merging adjacent filters and adjacent projections; pushing filters below projections and
//   into each side of a UNION ALL; reading only the columns a query needs from sources whose
//   format can skip fields. Then, over the whole pipeline, reads of one table are merged and
//   equal sub-plans shared (plan_reuse.h).

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "expr/cast.h"
#include "expr/evaluator.h"
#include "sql/planner/pipeline_plan.h"
#include "sql/planner/plan_reuse.h"

namespace sluice::sql {

using expr::BoundExpr;
using expr::BoundExprPtr;
using expr::BoundKind;

namespace {

bool IsBoolLiteral(const BoundExprPtr& e, bool value) {
  return e->kind == BoundKind::kLiteral && !e->literal.is_null() &&
         e->literal.type().id() == types::TypeId::kBool && e->literal.bool_value() == value;
}

BoundExprPtr Fold(const BoundExprPtr& e) {
  if (e->kind == BoundKind::kLiteral) return e;
  if (e->IsFoldable()) {
    auto v = expr::EvaluateConstant(*e);
    // A constant that fails (1 / 0) is left alone: it fails at run time if a row reaches it.
    if (v.ok()) {
      types::Value value = v.MoveValue();
      if (value.is_null()) value = types::Value::Null(e->type);
      return expr::MakeLiteral(std::move(value));
    }
    return e;
  }
  if (e->args.empty()) return e;
  auto copy = std::make_shared<BoundExpr>(*e);
  for (auto& a : copy->args) a = Fold(a);
  if (copy->kind == BoundKind::kAnd) {
    if (IsBoolLiteral(copy->args[0], true)) return copy->args[1];
    if (IsBoolLiteral(copy->args[1], true)) return copy->args[0];
    if (IsBoolLiteral(copy->args[0], false) || IsBoolLiteral(copy->args[1], false)) {
      return expr::MakeLiteral(types::Value::Boolean(false));
    }
  } else if (copy->kind == BoundKind::kOr) {
    if (IsBoolLiteral(copy->args[0], false)) return copy->args[1];
    if (IsBoolLiteral(copy->args[1], false)) return copy->args[0];
    if (IsBoolLiteral(copy->args[0], true) || IsBoolLiteral(copy->args[1], true)) {
      return expr::MakeLiteral(types::Value::Boolean(true));
    }
  }
  return copy;
}

bool Deterministic(const BoundExprPtr& e) {
  if (e->kind == BoundKind::kCall && !e->function->deterministic) return false;
  return std::all_of(e->args.begin(), e->args.end(), Deterministic);
}

bool AllDeterministic(const std::vector<BoundExprPtr>& exprs) {
  return std::all_of(exprs.begin(), exprs.end(), Deterministic);
}

bool IsIdentity(const LogicalPlan& project) {
  const auto& in = project.inputs[0]->schema;
  if (project.exprs.size() != in->size()) return false;
  for (size_t i = 0; i < project.exprs.size(); ++i) {
    const auto& e = project.exprs[i];
    if (e->kind != BoundKind::kColumn || e->column_index != static_cast<int>(i) ||
        e->type != in->field(i).type) {
      return false;
    }
  }
  return true;
}

PlanPtr Rewrite(const PlanPtr& plan);

bool ReadsColumn(const BoundExprPtr& e, int column) {
  if (e->kind == BoundKind::kColumn) return e->column_index == column;
  for (const auto& a : e->args) {
    if (ReadsColumn(a, column)) return true;
  }
  return false;
}

// The largest rank a predicate lets through when one of its conjuncts bounds column
// `rank_column` by a constant: rank <= N, rank < N, rank = N, N >= rank.
// `implied` (when given) is set when the predicate is that one comparison and passes every rank
// up to the limit (so a top-N that emits only those ranks makes it redundant).
std::optional<int64_t> RankLimit(const BoundExprPtr& pred, int rank_column,
                                 bool* implied = nullptr) {
  if (implied != nullptr) *implied = false;
  if (pred->kind == BoundKind::kAnd) {
    auto a = RankLimit(pred->args[0], rank_column);
    auto b = RankLimit(pred->args[1], rank_column);
    if (a && b) return std::min(*a, *b);
    return a ? a : b;
  }
  if (pred->kind != BoundKind::kCall || pred->args.size() != 2) return std::nullopt;
  std::string op = pred->function->name;
  BoundExprPtr col = pred->args[0], lit = pred->args[1];
  if (col->kind == BoundKind::kCast) col = col->args[0];
  if (lit->kind == BoundKind::kCast) lit = lit->args[0];
  if (col->kind != BoundKind::kColumn) {
    std::swap(col, lit);
    if (col->kind == BoundKind::kCast) col = col->args[0];
    op = op == "<=" ? ">=" : op == "<" ? ">" : op == ">=" ? "<=" : op == ">" ? "<" : op;
  }
  if (col->kind != BoundKind::kColumn || col->column_index != rank_column ||
      lit->kind != BoundKind::kLiteral || lit->literal.is_null()) {
    return std::nullopt;
  }
  auto v = expr::CastValue(lit->literal, types::DataType(types::TypeId::kInt64), true);
  if (!v.ok() || v->is_null()) return std::nullopt;
  int64_t n = v->int_value();
  if (implied != nullptr) *implied = op == "<=" || op == "<" || (op == "=" && n == 1);
  if (op == "<=" || op == "=") return std::max<int64_t>(n, 0);
  if (op == "<") return std::max<int64_t>(n - 1, 0);
  return std::nullopt;
}

PlanPtr RewriteFilter(PlanPtr input, BoundExprPtr pred) {
  pred = Fold(pred);
  if (IsBoolLiteral(pred, true)) return input;
  switch (input->kind) {
    case PlanKind::kFilter:
      return RewriteFilter(input->inputs[0],
                           expr::MakeLogical(BoundKind::kAnd, {input->predicate, pred}));
    case PlanKind::kProject:
      if (AllDeterministic(input->exprs) && Deterministic(pred)) {
        PlanPtr below = RewriteFilter(input->inputs[0], expr::Substitute(pred, input->exprs));
        return MakeProject(below, input->exprs, input->schema);
      }
      break;
    case PlanKind::kUnion: {
      std::vector<PlanPtr> parts;
      for (const auto& in : input->inputs) parts.push_back(RewriteFilter(in, pred));
      return MakeUnion(std::move(parts));
    }
    case PlanKind::kTopN: {
      // `rank <= N` (or < N, = 1) above a ranking keeps only the ranks it can pass.
      bool implied = false;
      if (auto limit = RankLimit(pred, static_cast<int>(input->schema->size()) - 1, &implied)) {
        auto copy = std::make_shared<LogicalPlan>(*input);
        if (copy->top_n.limit == 0 || *limit < copy->top_n.limit) copy->top_n.limit = *limit;
        // An updating top-N emits only ranks within its limit: the filter has nothing to do,
        // and without it the rank may not be read at all (see RewriteProject).
        if (implied && copy->top_n.window_end < 0 && copy->top_n.limit > 0) return copy;
        return MakeFilter(copy, pred);
      }
      break;
    }
    default:
      break;
  }
  return MakeFilter(input, pred);
}

PlanPtr RewriteProject(PlanPtr input, std::vector<BoundExprPtr> exprs, types::SchemaPtr schema) {
  for (auto& e : exprs) e = Fold(e);
  if (input->kind == PlanKind::kProject && AllDeterministic(input->exprs)) {
    std::vector<BoundExprPtr> merged;
    for (const auto& e : exprs) merged.push_back(Fold(expr::Substitute(e, input->exprs)));
    return RewriteProject(input->inputs[0], std::move(merged), std::move(schema));
  }
  if (input->kind == PlanKind::kTopN && input->top_n.window_end < 0 && input->rank_read) {
    // An updating top-N whose rank nobody reads emits only rows entering and leaving it.
    const int rank = static_cast<int>(input->schema->size()) - 1;
    bool read = false;
    for (const auto& e : exprs) read = read || ReadsColumn(e, rank);
    if (!read) {
      auto copy = std::make_shared<LogicalPlan>(*input);
      copy->rank_read = false;
      input = copy;
    }
  }
  auto p = MakeProject(input, std::move(exprs), std::move(schema));
  if (IsIdentity(*p)) return input;
  return p;
}

// Whether a source can be narrowed to what a query reads (a JSON file, the Nexmark generator).
bool CanPrune(const LogicalPlan& source) {
  const auto* connector = connectors::ConnectorRegistry::Get().Find(source.table->connector);
  return connector != nullptr && connector->reads_narrowed_schema(*source.table);
}

// The struct fields read of each column: fields[c] lists the fields read through `c.field`;
// whole[c] is set when the column is read as a whole.
void CollectFieldUses(const BoundExprPtr& e, std::map<int, std::set<int>>* fields,
                      std::set<int>* whole) {
  if (e->kind == BoundKind::kFieldAccess && e->args[0]->kind == BoundKind::kColumn) {
    (*fields)[e->args[0]->column_index].insert(e->field_index);
    return;
  }
  if (e->kind == BoundKind::kIsNull && e->args[0]->kind == BoundKind::kColumn &&
      e->args[0]->type.id() == types::TypeId::kStruct) {
    // Whether a struct is NULL does not depend on which of its fields are decoded.
    (*fields)[e->args[0]->column_index];
    return;
  }
  if (e->kind == BoundKind::kColumn) {
    whole->insert(e->column_index);
    return;
  }
  for (const auto& a : e->args) CollectFieldUses(a, fields, whole);
}

// Narrows each struct column of `source_fields` that is read only through some of its fields
// (`fields`: column -> fields read; columns in `whole` are read whole) to those fields, in
// order. `remap` gets, per narrowed column, old field -> new field (-1: dropped); `narrowed` its
// new type. A struct only tested for NULL keeps one field, so it still has a shape.
void NarrowStructs(const std::map<int, std::set<int>>& fields, const std::set<int>& whole,
                   std::vector<types::Field>* source_fields, std::map<int, std::vector<int>>* remap,
                   std::map<int, types::DataType>* narrowed) {
  for (const auto& [c, used] : fields) {
    const types::DataType& t = (*source_fields)[static_cast<size_t>(c)].type;
    if (whole.count(c) || t.id() != types::TypeId::kStruct || used.size() == t.fields().size()) {
      continue;
    }
    std::vector<int> mapping(t.fields().size(), -1);
    std::vector<types::Field> kept;
    const std::set<int> read = used.empty() ? std::set<int>{0} : used;
    for (int f : read) {
      mapping[static_cast<size_t>(f)] = static_cast<int>(kept.size());
      kept.push_back(t.fields()[static_cast<size_t>(f)]);
    }
    (*remap)[c] = std::move(mapping);
    (*narrowed)[c] = types::DataType::Struct(std::move(kept));
    (*source_fields)[static_cast<size_t>(c)].type = (*narrowed)[c];
  }
}

// `e` with field accesses of struct columns renumbered: remap[c][old field] = new field, and
// the columns retyped to `types[c]`.
BoundExprPtr RemapFields(const BoundExprPtr& e, const std::map<int, std::vector<int>>& remap,
                         const std::map<int, types::DataType>& types) {
  if (e->kind == BoundKind::kIsNull && e->args[0]->kind == BoundKind::kColumn) {
    auto it = types.find(e->args[0]->column_index);
    if (it == types.end()) return e;
    auto copy = std::make_shared<BoundExpr>(*e);
    copy->args[0] = expr::MakeColumn(e->args[0]->column_index, it->second);
    return copy;
  }
  if (e->kind == BoundKind::kFieldAccess && e->args[0]->kind == BoundKind::kColumn) {
    auto it = remap.find(e->args[0]->column_index);
    if (it == remap.end()) return e;
    auto copy = std::make_shared<BoundExpr>(*e);
    copy->field_index = it->second[static_cast<size_t>(e->field_index)];
    copy->args[0] = expr::MakeColumn(e->args[0]->column_index, types.at(it->first));
    return copy;
  }
  if (e->args.empty()) return e;
  auto copy = std::make_shared<BoundExpr>(*e);
  for (auto& a : copy->args) a = RemapFields(a, remap, types);
  return copy;
}

// A source read under a projection: Project([Filter]([Watermark](Source))).
struct SourceChain {
  PlanPtr project, filter, watermark, source;
  static std::optional<SourceChain> Of(const PlanPtr& project) {
    SourceChain c;
    c.project = project;
    PlanPtr p = project->inputs[0];
    if (p->kind == PlanKind::kFilter) {
      c.filter = p;
      p = p->inputs[0];
    }
    if (p->kind == PlanKind::kWatermark) {
      c.watermark = p;
      p = p->inputs[0];
    }
    if (p->kind != PlanKind::kSource || !CanPrune(*p)) return std::nullopt;
    c.source = p;
    return c;
  }
  // Every expression over the source's columns.
  template <typename F>
  void ForEachExpr(F f) const {
    for (const auto& e : project->exprs) f(e);
    if (filter) f(filter->predicate);
    if (watermark) f(watermark->watermark);
  }
  // The chain over a new source, each expression rewritten by `remap`; the watermark's event
  // time column through `column`.
  template <typename F, typename G>
  PlanPtr Rebuild(PlanPtr new_source, F remap, G column) const {
    PlanPtr below = std::move(new_source);
    if (watermark) {
      auto w = std::make_shared<LogicalPlan>(*watermark);
      w->inputs = {below};
      w->schema = below->schema;
      w->watermark = remap(watermark->watermark);
      if (w->event_time_column >= 0) w->event_time_column = column(w->event_time_column);
      below = w;
    }
    if (filter) below = MakeFilter(below, remap(filter->predicate));
    std::vector<BoundExprPtr> exprs;
    for (const auto& e : project->exprs) exprs.push_back(remap(e));
    return MakeProject(below, std::move(exprs), project->schema);
  }
};

// Narrows the struct columns of a source read only through some of their fields (a Nexmark
// `bid` of which q2 reads two fields): the decoder skips the others, the generator does not
// produce them.
PlanPtr PruneStructFields(const PlanPtr& project) {
  auto chain = SourceChain::Of(project);
  if (!chain) return project;
  std::map<int, std::set<int>> fields;
  std::set<int> whole;
  chain->ForEachExpr([&](const BoundExprPtr& e) { CollectFieldUses(e, &fields, &whole); });
  if (chain->watermark && chain->watermark->event_time_column >= 0) {
    whole.insert(chain->watermark->event_time_column);
  }
  std::map<int, std::vector<int>> remap;
  std::map<int, types::DataType> narrowed_types;
  std::vector<types::Field> source_fields = chain->source->schema->fields();
  NarrowStructs(fields, whole, &source_fields, &remap, &narrowed_types);
  if (remap.empty()) return project;
  auto narrowed = std::make_shared<LogicalPlan>(*chain->source);
  narrowed->schema = std::make_shared<types::Schema>(std::move(source_fields));
  return chain->Rebuild(
      narrowed, [&](const BoundExprPtr& e) { return RemapFields(e, remap, narrowed_types); },
      [](int c) { return c; });
}

// Narrows a source to the columns read above it (by the projection, a filter, and
// the watermark), then its struct columns to the fields read.
PlanPtr PruneSourceUnder(const PlanPtr& project) {
  auto chain = SourceChain::Of(project);
  if (!chain) return project;
  const PlanPtr& source = chain->source;
  std::vector<int> used;
  chain->ForEachExpr([&](const BoundExprPtr& e) { e->CollectColumns(&used); });
  if (chain->watermark && chain->watermark->event_time_column >= 0) {
    used.push_back(chain->watermark->event_time_column);
  }
  std::sort(used.begin(), used.end());
  used.erase(std::unique(used.begin(), used.end()), used.end());
  if (used.size() == source->columns.size()) return PruneStructFields(project);
  if (used.empty()) used.push_back(0);  // keep one column so rows are still counted
  std::vector<int> mapping(source->columns.size(), -1);
  std::vector<int> cols;
  for (size_t i = 0; i < used.size(); ++i) {
    mapping[static_cast<size_t>(used[i])] = static_cast<int>(i);
    cols.push_back(source->columns[static_cast<size_t>(used[i])]);
  }
  // The narrowed source keeps the column types it had (struct columns may be narrowed already).
  auto narrowed = std::const_pointer_cast<LogicalPlan>(MakeSource(source->table, cols));
  std::vector<types::Field> kept;
  for (int u : used) kept.push_back(source->schema->field(static_cast<size_t>(u)));
  narrowed->schema = std::make_shared<types::Schema>(std::move(kept));
  PlanPtr rebuilt = chain->Rebuild(
      narrowed, [&](const BoundExprPtr& e) { return expr::RemapColumns(e, mapping); },
      [&](int c) { return mapping[static_cast<size_t>(c)]; });
  return PruneStructFields(rebuilt);
}

// A source with generated columns (a Nexmark event time `ts AS coalesce(person.datetime, ...)`)
// is read as Project([Filter](Watermark(Project(generated columns) <- Source))). The inner
// projection is narrowed to the outputs read above it, struct columns it passes through are
// narrowed to the fields read above, and then the source under it is pruned as usual.
PlanPtr PruneThroughGenerated(const PlanPtr& project) {
  PlanPtr filter = project->inputs[0]->kind == PlanKind::kFilter ? project->inputs[0] : nullptr;
  PlanPtr watermark = filter ? filter->inputs[0] : project->inputs[0];
  if (watermark->kind != PlanKind::kWatermark) return project;
  PlanPtr inner = watermark->inputs[0];
  if (inner->kind != PlanKind::kProject || !AllDeterministic(inner->exprs)) return project;
  PlanPtr source = inner->inputs[0];
  if (source->kind != PlanKind::kSource || !CanPrune(*source)) return project;

  // What the nodes above read of the inner projection's outputs.
  std::map<int, std::set<int>> up_fields;
  std::set<int> up_whole;
  for (const auto& e : project->exprs) CollectFieldUses(e, &up_fields, &up_whole);
  if (filter) CollectFieldUses(filter->predicate, &up_fields, &up_whole);
  CollectFieldUses(watermark->watermark, &up_fields, &up_whole);
  if (watermark->event_time_column >= 0) up_whole.insert(watermark->event_time_column);
  std::set<int> used_outputs = up_whole;
  for (const auto& [o, f] : up_fields) used_outputs.insert(o);
  if (used_outputs.empty()) used_outputs.insert(0);

  // What of the source's struct columns that reads, through identity outputs or expressions.
  std::map<int, std::set<int>> src_fields;
  std::set<int> src_whole;
  for (int o : used_outputs) {
    const BoundExprPtr& e = inner->exprs[static_cast<size_t>(o)];
    if (e->kind == BoundKind::kColumn && !up_whole.count(o)) {
      auto& f = src_fields[e->column_index];
      f.insert(up_fields[o].begin(), up_fields[o].end());
    } else {
      CollectFieldUses(e, &src_fields, &src_whole);
    }
  }
  std::map<int, std::vector<int>> remap;  // source column -> old field -> new field
  std::map<int, types::DataType> narrowed;
  std::vector<types::Field> source_fields = source->schema->fields();
  NarrowStructs(src_fields, src_whole, &source_fields, &remap, &narrowed);
  if (used_outputs.size() == inner->exprs.size() && remap.empty()) return project;

  auto new_source = std::make_shared<LogicalPlan>(*source);
  new_source->schema = std::make_shared<types::Schema>(std::move(source_fields));
  // The inner projection: the outputs read, retyped where a struct was narrowed.
  std::vector<int> out_map(inner->exprs.size(), -1);
  std::vector<BoundExprPtr> inner_exprs;
  std::vector<types::Field> inner_fields;
  std::map<int, std::vector<int>> up_remap;  // new inner output -> old field -> new field
  std::map<int, types::DataType> up_types;
  for (int o : used_outputs) {
    const BoundExprPtr& e = inner->exprs[static_cast<size_t>(o)];
    const int n = static_cast<int>(inner_exprs.size());
    out_map[static_cast<size_t>(o)] = n;
    types::Field field = inner->schema->field(static_cast<size_t>(o));
    if (e->kind == BoundKind::kColumn && narrowed.count(e->column_index)) {
      inner_exprs.push_back(expr::MakeColumn(e->column_index, narrowed[e->column_index]));
      field.type = narrowed[e->column_index];
      up_remap[n] = remap[e->column_index];
      up_types[n] = field.type;
    } else {
      inner_exprs.push_back(RemapFields(e, remap, narrowed));
    }
    inner_fields.push_back(field);
  }
  auto inner_schema = std::make_shared<types::Schema>(std::move(inner_fields));
  PlanPtr below = PruneSourceUnder(MakeProject(new_source, inner_exprs, inner_schema));
  auto upper = [&](const BoundExprPtr& e) {
    return RemapFields(expr::RemapColumns(e, out_map), up_remap, up_types);
  };
  auto w = std::make_shared<LogicalPlan>(*watermark);
  w->inputs = {below};
  w->schema = inner_schema;
  w->watermark = upper(watermark->watermark);
  if (w->event_time_column >= 0) {
    w->event_time_column = out_map[static_cast<size_t>(w->event_time_column)];
  }
  below = w;
  if (filter) below = MakeFilter(below, upper(filter->predicate));
  std::vector<BoundExprPtr> exprs;
  for (const auto& e : project->exprs) exprs.push_back(upper(e));
  return MakeProject(below, std::move(exprs), project->schema);
}

// The columns an expression reads as a whole, and the struct columns it reads only through
// fields (fields[c]); `IS NULL` of a struct reads it whole here (its fields cannot tell).
void CollectSplitUses(const BoundExprPtr& e, std::map<int, std::set<int>>* fields,
                      std::set<int>* whole) {
  if (e->kind == BoundKind::kFieldAccess && e->args[0]->kind == BoundKind::kColumn) {
    (*fields)[e->args[0]->column_index].insert(e->field_index);
    return;
  }
  if (e->kind == BoundKind::kColumn) {
    whole->insert(e->column_index);
    return;
  }
  for (const auto& a : e->args) CollectSplitUses(a, fields, whole);
}

// Where each column of a join's output went: a new index, or (a struct split into the fields
// read) the new index of each field read.
struct JoinColumnMap {
  std::vector<int> to;                      // -1: dropped or split
  std::map<int, std::map<int, int>> split;  // column -> field -> new column
};

BoundExprPtr MapJoinColumns(const BoundExprPtr& e, const JoinColumnMap& m) {
  if (e->kind == BoundKind::kFieldAccess && e->args[0]->kind == BoundKind::kColumn) {
    auto it = m.split.find(e->args[0]->column_index);
    if (it != m.split.end()) {
      return expr::MakeColumn(it->second.at(e->field_index), e->type);
    }
  }
  if (e->kind == BoundKind::kColumn) {
    return expr::MakeColumn(m.to[static_cast<size_t>(e->column_index)], e->type);
  }
  if (e->args.empty()) return e;
  auto copy = std::make_shared<BoundExpr>(*e);
  for (auto& a : copy->args) a = MapJoinColumns(a, m);
  return copy;
}

// A projection over a windowed or interval join (through a filter) reads some of the join's
// columns, and of struct columns often a few fields: Nexmark q7 reads five fields of `bid`
// from a side that passes whole events. Each input then keeps only its keys and the columns
// read above, a struct read only through some fields becoming those fields, and the reads
// under the inputs are narrowed again to what is left. Updating joins are left alone (their
// inputs' rows are matched when retracted).
PlanPtr PruneJoinInputs(const PlanPtr& project) {
  PlanPtr filter = project->inputs[0]->kind == PlanKind::kFilter ? project->inputs[0] : nullptr;
  const PlanPtr& join = filter ? filter->inputs[0] : project->inputs[0];
  if (join->kind != PlanKind::kJoin || join->join_mode == JoinMode::kUpdating || join->updating() ||
      join->inputs[0]->updating() || join->inputs[1]->updating()) {
    return project;
  }
  std::map<int, std::set<int>> fields;
  std::set<int> whole;
  for (const auto& e : project->exprs) CollectSplitUses(e, &fields, &whole);
  if (filter) CollectSplitUses(filter->predicate, &fields, &whole);
  if (join->residual) CollectSplitUses(join->residual, &fields, &whole);

  const auto& out_schema = *join->schema;
  JoinColumnMap map;
  map.to.assign(out_schema.size(), -1);
  std::vector<PlanPtr> inputs;
  std::vector<std::vector<int>> keys = {join->left_keys, join->right_keys};
  std::vector<types::Field> joined;
  bool changed = false;
  size_t offset = 0;
  for (size_t side = 0; side < 2; ++side) {
    const PlanPtr& in = join->inputs[side];
    const size_t n = in->schema->size();
    std::vector<BoundExprPtr> exprs;
    std::vector<types::Field> kept;
    std::vector<int> input_map(n, -1);
    bool side_changed = false;
    for (size_t c = 0; c < n; ++c) {
      const int out = static_cast<int>(offset + c);
      const types::Field& f = in->schema->field(c);
      const bool key = std::count(keys[side].begin(), keys[side].end(), static_cast<int>(c)) > 0;
      auto used = fields.find(out);
      const bool whole_use = key || whole.count(out) > 0;
      const bool split = in->kind == PlanKind::kProject && !whole_use && used != fields.end() &&
                         f.type.id() == types::TypeId::kStruct &&
                         used->second.size() < f.type.fields().size();
      if (split) {
        for (int field : used->second) {
          const types::Field& sub = f.type.fields()[static_cast<size_t>(field)];
          auto access = std::make_shared<BoundExpr>();
          access->kind = BoundKind::kFieldAccess;
          access->type = sub.type;
          access->field_index = field;
          access->args.push_back(in->exprs[c]);
          map.split[out][field] = static_cast<int>(joined.size());
          joined.push_back(types::Field{f.name + "." + sub.name, sub.type, true});
          kept.push_back(joined.back());
          exprs.push_back(access);
        }
        side_changed = true;
        continue;
      }
      if (in->kind == PlanKind::kProject && !whole_use && used == fields.end()) {
        side_changed = true;  // read by nobody
        continue;
      }
      input_map[c] = static_cast<int>(kept.size());
      map.to[static_cast<size_t>(out)] = static_cast<int>(joined.size());
      joined.push_back(f);
      kept.push_back(f);
      if (in->kind == PlanKind::kProject) exprs.push_back(in->exprs[c]);
    }
    PlanPtr narrowed = in;
    if (side_changed) {
      narrowed = PruneSourceUnder(PruneThroughGenerated(MakeProject(
          in->inputs[0], std::move(exprs), std::make_shared<types::Schema>(std::move(kept)))));
      changed = true;
    }
    for (auto& k : keys[side]) k = input_map[static_cast<size_t>(k)];
    inputs.push_back(narrowed);
    offset += n;
  }
  if (!changed) return project;
  auto new_join = std::make_shared<LogicalPlan>(*join);
  new_join->inputs = inputs;
  new_join->schema = std::make_shared<types::Schema>(std::move(joined));
  new_join->left_keys = keys[0];
  new_join->right_keys = keys[1];
  if (join->residual) new_join->residual = MapJoinColumns(join->residual, map);
  PlanPtr below = new_join;
  if (filter) below = MakeFilter(below, MapJoinColumns(filter->predicate, map));
  std::vector<BoundExprPtr> exprs;
  for (const auto& e : project->exprs) exprs.push_back(MapJoinColumns(e, map));
  return MakeProject(below, std::move(exprs), project->schema);
}

PlanPtr Rewrite(const PlanPtr& plan) {
  std::vector<PlanPtr> inputs;
  for (const auto& in : plan->inputs) inputs.push_back(Rewrite(in));
  switch (plan->kind) {
    case PlanKind::kSource:
      return plan;
    case PlanKind::kFilter:
      return RewriteFilter(inputs[0], plan->predicate);
    case PlanKind::kProject: {
      PlanPtr p = RewriteProject(inputs[0], plan->exprs, plan->schema);
      return p->kind == PlanKind::kProject
                 ? PruneJoinInputs(PruneSourceUnder(PruneThroughGenerated(p)))
                 : p;
    }
    case PlanKind::kUnion: {
      // Flatten nested unions.
      std::vector<PlanPtr> flat;
      for (const auto& in : inputs) {
        if (in->kind == PlanKind::kUnion) {
          flat.insert(flat.end(), in->inputs.begin(), in->inputs.end());
        } else {
          flat.push_back(in);
        }
      }
      return MakeUnion(std::move(flat));
    }
    case PlanKind::kSink:
      return MakeSink(inputs[0], plan->table);
    case PlanKind::kWatermark: {
      auto p = std::make_shared<LogicalPlan>(*plan);
      p->inputs = {inputs[0]};
      p->watermark = Fold(plan->watermark);
      return p;
    }
    case PlanKind::kUpdatingAggregate:
    case PlanKind::kTopN:
    case PlanKind::kUnnest:
    case PlanKind::kAsyncUdf:
    case PlanKind::kOver:
    case PlanKind::kJoin: {
      auto p = std::make_shared<LogicalPlan>(*plan);
      p->inputs = inputs;
      if (p->residual) p->residual = Fold(p->residual);
      return p;
    }
    case PlanKind::kWindowAggregate:
      return MakeWindowAggregate(inputs[0], plan->window, plan->num_keys, plan->aggregates,
                                 plan->schema);
  }
  return plan;
}

}  // namespace

PipelinePlan Optimize(PipelinePlan plan) {
  for (auto& sink : plan.sinks) sink = Rewrite(sink);
  return ShareSubPlans(std::move(plan));
}

}  // namespace sluice::sql
