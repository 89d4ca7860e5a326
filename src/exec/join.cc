#include "exec/join.h"

#include <algorithm>
#include <array>
#include <deque>
#include <limits>
#include <map>

#include <fmt/format.h>

#include "batch/serialize.h"
#include "exec/group_table.h"
#include "exec/hash_partitioner.h"
#include "exec/join_rows.h"

namespace sluice::exec {

using batch::Batch;
using batch::BatchPtr;
using batch::ChangeKind;
using batch::Column;
using batch::ColumnPtr;

namespace {

// Semi, anti and mark joins emit left rows alone (see JoinType).
bool LeftAlone(JoinType t) {
  return t == JoinType::kSemi || t == JoinType::kAnti || t == JoinType::kMark;
}
// Whether the rows of the left side keep their match count (LeftAlone too: it decides when a
// row crosses between matched and unmatched).
bool PreservesLeft(JoinType t) {
  return t == JoinType::kLeft || t == JoinType::kFull || LeftAlone(t);
}
bool PreservesRight(JoinType t) {
  return t == JoinType::kRight || t == JoinType::kFull;
}

std::vector<types::DataType> KeyTypes(const JoinSpec& spec) {
  std::vector<types::DataType> out;
  for (int k : spec.left_keys) out.push_back(spec.left_schema->field(static_cast<size_t>(k)).type);
  return out;
}

// Concatenates gathered parts of one side.
GatheredRows ConcatRows(std::vector<GatheredRows> parts) {
  if (parts.size() == 1) return std::move(parts[0]);
  GatheredRows out;
  for (size_t c = 0; c < parts[0].columns.size(); ++c) {
    std::vector<ColumnPtr> cols;
    for (const auto& p : parts) cols.push_back(p.columns[c]);
    out.columns.push_back(batch::Concat(cols));
  }
  std::vector<ColumnPtr> times;
  for (const auto& p : parts) {
    times.push_back(p.event_time);
    out.num_rows += p.num_rows;
  }
  out.event_time = batch::Concat(times);
  return out;
}

GatheredRows EmptyRows(const types::Schema& schema) {
  GatheredRows out = NullRows(schema, 0);
  out.event_time = Column::MakeNull(types::Timestamp(), 0);
  return out;
}

// ---------------------------------------------------------------- windowed join

class WindowJoinOperator : public runtime::Operator {
 public:
  WindowJoinOperator(const JoinSpec& spec, int window_key, int subtask, int parallelism)
      : spec_(spec),
        window_key_(window_key),
        key_types_(KeyTypes(spec)),
        subtask_(subtask),
        parallelism_(parallelism) {}

  Status ProcessBatch(int input, const BatchPtr& b, runtime::Collector&) override {
    return Buffer(input, b);
  }

  // Each side's waiting rows as one batch (the window end is a key column), and the watermark
  // passed on. On restore each subtask keeps the rows whose key hashes to it; the watermark
  // passed on is restored only at the same parallelism (it only keeps watermarks monotonic).
  Status Snapshot(int64_t, runtime::StateWriter& state) override {
    for (size_t side = 0; side < 2; ++side) {
      std::vector<BatchPtr> all;
      for (const auto& [end, w] : pending_) {
        for (const auto& b : w.sides[side]) {
          if (b->num_rows > 0) all.push_back(b);
        }
      }
      if (!all.empty()) state.PutBatch(side == 0 ? "left" : "right", *batch::ConcatBatches(all));
    }
    std::string bytes;
    batch::ByteWriter w(&bytes);
    w.Put<uint8_t>(kStateVersion);
    w.Put<int64_t>(emitted_.time.value);
    state.Put("watermark", bytes);
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    for (int side = 0; side < 2; ++side) {
      const auto& keys = side == 0 ? spec_.left_keys : spec_.right_keys;
      SLUICE_ASSIGN_OR_RETURN(std::vector<BatchPtr> batches,
                              state.GetBatches(side == 0 ? "left" : "right"));
      for (const auto& b : batches) {
        BatchPtr mine = RowsOfSubtask(b, keys, subtask_, parallelism_);
        if (mine) SLUICE_RETURN_NOT_OK(Buffer(side, mine));
      }
    }
    if (state.previous_parallelism() != parallelism_) return Status::Ok();
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, state.Get("watermark"));
    if (!bytes) return Status::Ok();
    batch::ByteReader r(*bytes, "window join state");
    uint8_t version = 0;
    SLUICE_RETURN_NOT_OK(r.Get(&version));
    if (version != kStateVersion) return r.Corrupt("unknown version");
    SLUICE_RETURN_NOT_OK(r.Get(&emitted_.time.value));
    return Status::Ok();
  }

 private:
  static constexpr uint8_t kStateVersion = 1;

  Status Buffer(int input, const BatchPtr& b) {
    if (b->num_rows == 0) return Status::Ok();
    const auto& keys = input == 0 ? spec_.left_keys : spec_.right_keys;
    const Column& ends = *b->columns[static_cast<size_t>(keys[static_cast<size_t>(window_key_)])];
    const int64_t* v = ends.raw<int64_t>();
    const int64_t* times = b->event_time->raw<int64_t>();
    // Usually every row of a batch belongs to one window (a window aggregate emits a window
    // at a time).
    bool one = !ends.has_nulls();
    for (int64_t i = 1; one && i < b->num_rows; ++i) one = v[i] == v[0];
    if (one) {
      Window& w = pending_[v[0]];
      w.sides[static_cast<size_t>(input)].push_back(b);
      for (int64_t i = 0; i < b->num_rows; ++i) w.earliest = std::min(w.earliest, times[i]);
      return Status::Ok();
    }
    std::map<int64_t, std::vector<int32_t>> by_end;
    for (int64_t i = 0; i < b->num_rows; ++i) {
      if (ends.IsNull(i)) continue;  // no window: matches nothing
      by_end[v[i]].push_back(static_cast<int32_t>(i));
    }
    for (auto& [end, rows] : by_end) {
      Window& w = pending_[end];
      w.sides[static_cast<size_t>(input)].push_back(b->Select(rows));
      for (int32_t i : rows) w.earliest = std::min(w.earliest, times[i]);
    }
    return Status::Ok();
  }

 public:
  Status ProcessWatermark(Watermark wm, runtime::Collector& out) override {
    while (!pending_.empty() && pending_.begin()->first <= wm.time.value) {
      SLUICE_RETURN_NOT_OK(JoinWindow(pending_.begin()->second.sides, out));
      pending_.erase(pending_.begin());
    }
    // A joined row's event time is the later of its two rows', which can be behind `wm`
    // (rows of a window are joined only once the watermark passes its end). So the watermark
    // passed on is held at the earliest row still waiting: what this operator emits later is
    // never behind what it has promised (a window aggregate downstream would drop it as late).
    Watermark held = wm;
    for (const auto& [end, w] : pending_) {
      held.time.value = std::min(held.time.value, w.earliest);
    }
    if (held <= emitted_) return Status::Ok();
    emitted_ = held;
    return out.EmitWatermark(held);
  }

  Status OnEndOfInput(runtime::Collector& out) override {
    for (auto& [end, w] : pending_) SLUICE_RETURN_NOT_OK(JoinWindow(w.sides, out));
    pending_.clear();
    return Status::Ok();
  }

 private:
  Status Emit(const GatheredRows& left, const GatheredRows& right, runtime::Collector& out) {
    if (left.num_rows == 0) return Status::Ok();
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += left.num_rows;
    return out.Emit(JoinedBatch(spec_, left, right, false, ChangeKind::kInsert));
  }

  Status JoinWindow(const std::array<std::vector<BatchPtr>, 2>& sides, runtime::Collector& out) {
    BatchPtr l = sides[0].empty() ? nullptr : batch::ConcatBatches(sides[0]);
    BatchPtr r = sides[1].empty() ? nullptr : batch::ConcatBatches(sides[1]);
    if (!l || !r) {
      if (l && PreservesLeft(spec_.type)) {
        return Emit(TakeRows(*l, All(l->num_rows)), NullRows(*spec_.right_schema, l->num_rows),
                    out);
      }
      if (r && PreservesRight(spec_.type)) {
        return Emit(NullRows(*spec_.left_schema, r->num_rows), TakeRows(*r, All(r->num_rows)), out);
      }
      return Status::Ok();
    }
    // Build on the right: rows grouped by key, in CSR form.
    GroupTable table(key_types_);
    table.FindOrInsert(KeyColumns(*r, spec_.right_keys), nullptr, r->num_rows, &right_groups_);
    std::vector<uint8_t> right_null = NullKeyRows(*r, spec_.right_keys);
    const auto groups = static_cast<size_t>(table.size());
    offsets_.assign(groups + 1, 0);
    for (int64_t i = 0; i < r->num_rows; ++i) {
      if (!right_null[static_cast<size_t>(i)])
        ++offsets_[right_groups_[static_cast<size_t>(i)] + 1];
    }
    for (size_t g = 0; g < groups; ++g) offsets_[g + 1] += offsets_[g];
    order_.resize(static_cast<size_t>(offsets_[groups]));
    cursor_.assign(offsets_.begin(), offsets_.end() - 1);
    for (int64_t i = 0; i < r->num_rows; ++i) {
      if (right_null[static_cast<size_t>(i)]) continue;
      order_[static_cast<size_t>(cursor_[right_groups_[static_cast<size_t>(i)]]++)] =
          static_cast<int32_t>(i);
    }
    // Probe with the left.
    table.FindOrInsert(KeyColumns(*l, spec_.left_keys), nullptr, l->num_rows, &left_groups_);
    std::vector<uint8_t> left_null = NullKeyRows(*l, spec_.left_keys);
    std::vector<int32_t> li, ri;
    for (int64_t i = 0; i < l->num_rows; ++i) {
      uint32_t g = left_groups_[static_cast<size_t>(i)];
      if (left_null[static_cast<size_t>(i)] || g >= groups) continue;
      for (int32_t k = offsets_[g]; k < offsets_[g + 1]; ++k) {
        li.push_back(static_cast<int32_t>(i));
        ri.push_back(order_[static_cast<size_t>(k)]);
      }
    }
    GatheredRows left = TakeRows(*l, li);
    GatheredRows right = TakeRows(*r, ri);
    auto selected = SelectPairs(spec_, left, right);
    if (!selected.ok()) return selected.status();
    SLUICE_RETURN_NOT_OK(Emit(SelectRows(left, *selected), SelectRows(right, *selected), out));
    if (PreservesLeft(spec_.type)) {
      std::vector<uint8_t> matched(static_cast<size_t>(l->num_rows), 0);
      for (int32_t p : *selected) matched[static_cast<size_t>(li[static_cast<size_t>(p)])] = 1;
      std::vector<int32_t> lonely = Unmatched(matched);
      SLUICE_RETURN_NOT_OK(Emit(TakeRows(*l, lonely),
                                NullRows(*spec_.right_schema, static_cast<int64_t>(lonely.size())),
                                out));
    }
    if (PreservesRight(spec_.type)) {
      std::vector<uint8_t> matched(static_cast<size_t>(r->num_rows), 0);
      for (int32_t p : *selected) matched[static_cast<size_t>(ri[static_cast<size_t>(p)])] = 1;
      std::vector<int32_t> lonely = Unmatched(matched);
      SLUICE_RETURN_NOT_OK(Emit(NullRows(*spec_.left_schema, static_cast<int64_t>(lonely.size())),
                                TakeRows(*r, lonely), out));
    }
    return Status::Ok();
  }

  static std::vector<int32_t> All(int64_t n) {
    std::vector<int32_t> out(static_cast<size_t>(n));
    for (size_t i = 0; i < out.size(); ++i) out[i] = static_cast<int32_t>(i);
    return out;
  }
  static std::vector<int32_t> Unmatched(const std::vector<uint8_t>& matched) {
    std::vector<int32_t> out;
    for (size_t i = 0; i < matched.size(); ++i) {
      if (!matched[i]) out.push_back(static_cast<int32_t>(i));
    }
    return out;
  }

  // The rows of one window, by side, and the earliest event time among them.
  struct Window {
    std::array<std::vector<BatchPtr>, 2> sides;
    int64_t earliest = std::numeric_limits<int64_t>::max();
  };

  JoinSpec spec_;
  int window_key_;
  std::vector<types::DataType> key_types_;
  int subtask_;
  int parallelism_;
  std::map<int64_t, Window> pending_;     // by window end
  Watermark emitted_ = Watermark::Min();  // the last watermark passed on
  std::vector<uint32_t> right_groups_, left_groups_;
  std::vector<int32_t> offsets_, cursor_, order_;
};

// ---------------------------------------------------------------- updating and interval joins

// The rows one side keeps: input batches ("chunks") with per-row bookkeeping, and per key the
// rows holding it. A row is named by its chunk's sequence number and its index in the chunk.
struct Chunk {
  BatchPtr rows;
  std::vector<uint32_t> group;
  std::vector<uint8_t> alive;
  std::vector<int32_t> matches;  // rows of the other side it joins with (outer joins)
  int64_t live = 0;
  int64_t max_time = std::numeric_limits<int64_t>::min();
};

struct Side {
  std::deque<Chunk> chunks;
  uint64_t first_id = 0;                        // sequence number of chunks.front()
  std::vector<std::vector<uint64_t>> by_group;  // ascending row references per key
  int64_t live_rows = 0;

  Chunk& chunk(uint64_t ref) { return chunks[(ref >> 32) - first_id]; }
  static uint64_t Ref(uint64_t chunk, uint32_t row) { return chunk << 32 | row; }
};

class HashJoinOperator : public runtime::Operator {
 public:
  HashJoinOperator(const JoinSpec& spec, bool interval, int64_t ttl, int64_t lo, int64_t hi,
                   int subtask, int parallelism)
      : spec_(spec),
        interval_(interval),
        ttl_(ttl),
        lo_(lo),
        hi_(hi),
        subtask_(subtask),
        parallelism_(parallelism),
        left_alone_(LeftAlone(spec.type)),
        keys_(KeyTypes(spec)) {
    preserves_[0] = PreservesLeft(spec.type);
    preserves_[1] = PreservesRight(spec.type);
    schemas_[0] = spec.left_schema;
    schemas_[1] = spec.right_schema;
    key_columns_[0] = spec.left_keys;
    key_columns_[1] = spec.right_keys;
  }

  Status ProcessBatch(int input, const BatchPtr& b, runtime::Collector& out) override {
    const int64_t n = b->num_rows;
    if (n == 0) return Status::Ok();
    const size_t s = static_cast<size_t>(input);
    keys_.FindOrInsert(KeyColumns(*b, key_columns_[s]), nullptr, n, &groups_);
    for (auto& side : sides_) side.by_group.resize(static_cast<size_t>(keys_.size()));
    null_keys_ = NullKeyRows(*b, key_columns_[s]);
    if (!b->change_kind) return Insert(s, b, 0, n, out);
    // Runs of additions and of retractions, in order.
    const int8_t* kinds = b->change_kind->raw<int8_t>();
    auto adds = [&](int64_t i) {
      auto k = static_cast<ChangeKind>(kinds[i]);
      return k == ChangeKind::kInsert || k == ChangeKind::kUpdateAfter;
    };
    for (int64_t i = 0; i < n;) {
      int64_t j = i;
      bool add = adds(i);
      while (j < n && adds(j) == add) ++j;
      SLUICE_RETURN_NOT_OK(add ? Insert(s, b, i, j, out) : Retract(s, b, i, j, out));
      i = j;
    }
    return Status::Ok();
  }

  Status ProcessWatermark(Watermark wm, runtime::Collector& out) override {
    // The end-of-input watermark frees nothing: the run is over.
    if (wm != Watermark::Max() && wm != Watermark::Min()) {
      const int64_t t = wm.time.value;
      if (interval_) {
        // A left row at time x joins right rows up to x + hi; a right row at y joins left
        // rows from y - lo. Rows the watermark has passed can no longer arrive.
        Expire(0, [&](const Chunk& c) { return c.max_time < t - hi_; });
        Expire(1, [&](const Chunk& c) { return c.max_time < t + lo_; });
      } else {
        Expire(0, [&](const Chunk& c) { return c.max_time < t - ttl_; });
        Expire(1, [&](const Chunk& c) { return c.max_time < t - ttl_; });
      }
    }
    return out.EmitWatermark(wm);
  }

  // Each side's live rows as one batch: the input's columns, then per row its chunk's ordinal,
  // the chunk's latest event time (which decides expiry) and the row's match count. On restore
  // each subtask keeps the rows whose key hashes to it and rebuilds the chunks (those of the
  // previous subtasks one after the other, each in its order).
  Status Snapshot(int64_t, runtime::StateWriter& state) override {
    for (size_t s = 0; s < 2; ++s) {
      std::vector<BatchPtr> parts;
      int64_t ordinal = 0;
      std::vector<types::Field> fields = schemas_[s]->fields();
      for (const char* name : {"$chunk", "$chunk_max_time", "$matches"}) {
        fields.push_back({name, types::Int64(), false});
      }
      auto schema = std::make_shared<types::Schema>(std::move(fields));
      for (const Chunk& c : sides_[s].chunks) {
        if (c.live == 0) continue;
        std::vector<int32_t> alive;
        for (size_t r = 0; r < c.alive.size(); ++r) {
          if (c.alive[r]) alive.push_back(static_cast<int32_t>(r));
        }
        BatchPtr rows = c.rows->Select(alive);
        const int64_t n = rows->num_rows;
        auto part = std::make_shared<Batch>();
        part->schema = schema;
        part->num_rows = n;
        part->columns = rows->columns;
        part->event_time = rows->event_time;
        auto chunk = Column::MakeFixed(types::Int64(), n);
        auto max_time = Column::MakeFixed(types::Int64(), n);
        auto matches = Column::MakeFixed(types::Int64(), n);
        for (int64_t i = 0; i < n; ++i) {
          const auto r = static_cast<size_t>(alive[static_cast<size_t>(i)]);
          chunk->mutable_raw<int64_t>()[i] = ordinal;
          max_time->mutable_raw<int64_t>()[i] = c.max_time;
          matches->mutable_raw<int64_t>()[i] = preserves_[s] ? c.matches[r] : 0;
        }
        part->columns.push_back(chunk);
        part->columns.push_back(max_time);
        part->columns.push_back(matches);
        parts.push_back(part);
        ++ordinal;
      }
      if (!parts.empty()) state.PutBatch(s == 0 ? "left" : "right", *batch::ConcatBatches(parts));
    }
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    for (size_t s = 0; s < 2; ++s) {
      SLUICE_ASSIGN_OR_RETURN(std::vector<BatchPtr> batches,
                              state.GetBatches(s == 0 ? "left" : "right"));
      const size_t width = schemas_[s]->size();
      for (const auto& b : batches) {
        if (b->columns.size() != width + 3) {
          return Status::Io("join state: {} columns, expected {}", b->columns.size(), width + 3);
        }
        BatchPtr mine = RowsOfSubtask(b, key_columns_[s], subtask_, parallelism_);
        if (!mine) continue;
        const int64_t* chunk = mine->columns[width]->raw<int64_t>();
        for (int64_t i = 0; i < mine->num_rows;) {
          int64_t j = i;
          std::vector<int32_t> rows;
          while (j < mine->num_rows && chunk[j] == chunk[i])
            rows.push_back(static_cast<int32_t>(j++));
          RestoreChunk(s, mine->Select(rows), width);
          i = j;
        }
      }
    }
    return Status::Ok();
  }

 private:
  bool updating() const { return !interval_; }

  // Appends a chunk of restored rows (with the three bookkeeping columns at `width`).
  void RestoreChunk(size_t s, const BatchPtr& b, size_t width) {
    const int64_t n = b->num_rows;
    auto rows = std::make_shared<Batch>();
    rows->schema = schemas_[s];
    rows->num_rows = n;
    rows->columns.assign(b->columns.begin(),
                         b->columns.begin() + static_cast<std::ptrdiff_t>(width));
    rows->event_time = b->event_time;
    keys_.FindOrInsert(KeyColumns(*rows, key_columns_[s]), nullptr, n, &groups_);
    for (auto& side : sides_) side.by_group.resize(static_cast<size_t>(keys_.size()));
    Side& side = sides_[s];
    Chunk c;
    c.rows = rows;
    c.max_time = b->columns[width + 1]->raw<int64_t>()[0];
    const int64_t* matches = b->columns[width + 2]->raw<int64_t>();
    const uint64_t id = side.first_id + side.chunks.size();
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t g = groups_[static_cast<size_t>(i)];
      c.group.push_back(g);
      if (preserves_[s]) c.matches.push_back(static_cast<int32_t>(matches[i]));
      side.by_group[g].push_back(Side::Ref(id, static_cast<uint32_t>(i)));
    }
    c.alive.assign(static_cast<size_t>(n), 1);
    c.live = n;
    side.live_rows += n;
    side.chunks.push_back(std::move(c));
  }

  // Rows `rows` (references) of side `s`, column by column.
  GatheredRows Gather(size_t s, const std::vector<uint64_t>& refs) {
    if (refs.empty()) return EmptyRows(*schemas_[s]);
    std::vector<GatheredRows> parts;
    std::vector<int32_t> idx;
    uint64_t current = refs[0] >> 32;
    for (uint64_t ref : refs) {
      if ((ref >> 32) != current) {
        parts.push_back(TakeRows(*sides_[s].chunks[current - sides_[s].first_id].rows, idx));
        idx.clear();
        current = ref >> 32;
      }
      idx.push_back(static_cast<int32_t>(ref & 0xffffffffu));
    }
    parts.push_back(TakeRows(*sides_[s].chunks[current - sides_[s].first_id].rows, idx));
    return ConcatRows(std::move(parts));
  }

  Status EmitRows(size_t s, const GatheredRows& mine, const GatheredRows& theirs, ChangeKind kind,
                  runtime::Collector& out) {
    if (mine.num_rows == 0) return Status::Ok();
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += mine.num_rows;
    const GatheredRows& left = s == 0 ? mine : theirs;
    const GatheredRows& right = s == 0 ? theirs : mine;
    return out.Emit(JoinedBatch(spec_, left, right, updating(), kind));
  }

  // Left rows alone (semi, anti and mark joins) on the `matched` side of the boundary; a semi
  // join emits only matched rows, an anti join only unmatched ones. Their event times stay.
  Status EmitLeft(const GatheredRows& rows, bool matched, ChangeKind kind,
                  runtime::Collector& out) {
    if (rows.num_rows == 0) return Status::Ok();
    if ((spec_.type == JoinType::kSemi && !matched) || (spec_.type == JoinType::kAnti && matched))
      return Status::Ok();
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += rows.num_rows;
    auto b = std::make_shared<Batch>();
    b->schema = spec_.output_schema;
    b->num_rows = rows.num_rows;
    b->columns = rows.columns;
    if (spec_.type == JoinType::kMark) {
      b->columns.push_back(Column::MakeConstant(types::Value::Boolean(matched), rows.num_rows));
    }
    b->event_time = rows.event_time;
    b->change_kind = Column::MakeConstant(
        types::Value::Int(types::DataType(types::TypeId::kInt8), static_cast<int64_t>(kind)),
        rows.num_rows);
    return out.Emit(b);
  }

  // Left rows `refs` cross the boundary: retracted on one side, emitted on the other.
  Status EmitCrossing(const std::vector<uint64_t>& refs, bool now_matched,
                      runtime::Collector& out) {
    if (refs.empty()) return Status::Ok();
    GatheredRows rows = Gather(0, refs);
    SLUICE_RETURN_NOT_OK(EmitLeft(rows, !now_matched, ChangeKind::kDelete, out));
    return EmitLeft(rows, now_matched, ChangeKind::kInsert, out);
  }

  // Side `s` rows padded with NULLs for the other side.
  Status EmitPadded(size_t s, const GatheredRows& mine, ChangeKind kind, runtime::Collector& out) {
    return EmitRows(s, mine, NullRows(*schemas_[1 - s], mine.num_rows), kind, out);
  }

  // The pairs that rows `probe` of `b` (side s) form with the other side's kept rows.
  struct Pairs {
    std::vector<int32_t> rows;   // index into b
    std::vector<uint64_t> refs;  // the other side's row
    GatheredRows mine, theirs;
  };
  Result<Pairs> Probe(size_t s, const Batch& b, const std::vector<int32_t>& probe) {
    Pairs p;
    Side& other = sides_[1 - s];
    for (int32_t i : probe) {
      for (uint64_t ref : other.by_group[groups_[static_cast<size_t>(i)]]) {
        p.rows.push_back(i);
        p.refs.push_back(ref);
      }
    }
    // Pairs in the order of the kept rows, so they are gathered a chunk at a time (the order
    // of the rows of one emission carries no meaning).
    bool sorted = std::is_sorted(p.refs.begin(), p.refs.end());
    if (!sorted) {
      order_.resize(p.refs.size());
      for (size_t k = 0; k < order_.size(); ++k) order_[k] = static_cast<uint32_t>(k);
      std::sort(order_.begin(), order_.end(),
                [&](uint32_t a, uint32_t c) { return p.refs[a] < p.refs[c]; });
      std::vector<int32_t> rows(p.rows.size());
      std::vector<uint64_t> refs(p.refs.size());
      for (size_t k = 0; k < order_.size(); ++k) {
        rows[k] = p.rows[order_[k]];
        refs[k] = p.refs[order_[k]];
      }
      p.rows = std::move(rows);
      p.refs = std::move(refs);
    }
    GatheredRows mine = TakeRows(b, p.rows);
    GatheredRows theirs = Gather(1 - s, p.refs);
    auto selected = s == 0 ? SelectPairs(spec_, mine, theirs) : SelectPairs(spec_, theirs, mine);
    if (!selected.ok()) return selected.status();
    if (selected->size() != p.rows.size()) {
      std::vector<int32_t> rows;
      std::vector<uint64_t> refs;
      for (int32_t k : *selected) {
        rows.push_back(p.rows[static_cast<size_t>(k)]);
        refs.push_back(p.refs[static_cast<size_t>(k)]);
      }
      p.rows = std::move(rows);
      p.refs = std::move(refs);
      mine = SelectRows(mine, *selected);
      theirs = SelectRows(theirs, *selected);
    }
    p.mine = std::move(mine);
    p.theirs = std::move(theirs);
    return p;
  }

  Status Insert(size_t s, const BatchPtr& b, int64_t begin, int64_t end, runtime::Collector& out) {
    const size_t o = 1 - s;
    std::vector<int32_t> probe;
    for (int64_t i = begin; i < end; ++i) {
      if (!null_keys_[static_cast<size_t>(i)]) probe.push_back(static_cast<int32_t>(i));
    }
    auto pairs = Probe(s, *b, probe);
    if (!pairs.ok()) return pairs.status();
    // The other side's rows that were alone until now lose their NULL-padded row.
    if (preserves_[o]) {
      std::vector<uint64_t> first;
      for (uint64_t ref : pairs->refs) {
        Chunk& c = sides_[o].chunk(ref);
        if (c.matches[ref & 0xffffffffu]++ == 0) first.push_back(ref);
      }
      SLUICE_RETURN_NOT_OK(left_alone_ ? EmitCrossing(first, true, out)
                                       : EmitPadded(o, Gather(o, first), ChangeKind::kDelete, out));
    }
    if (!left_alone_) {
      SLUICE_RETURN_NOT_OK(EmitRows(s, pairs->mine, pairs->theirs, ChangeKind::kInsert, out));
    }
    std::vector<int32_t> matches(static_cast<size_t>(end - begin), 0);
    for (int32_t i : pairs->rows) ++matches[static_cast<size_t>(i - begin)];
    if (left_alone_ && s == 0) {
      std::vector<int32_t> matched, lonely;
      for (int64_t i = begin; i < end; ++i) {
        (matches[static_cast<size_t>(i - begin)] > 0 ? matched : lonely)
            .push_back(static_cast<int32_t>(i));
      }
      SLUICE_RETURN_NOT_OK(EmitLeft(TakeRows(*b, matched), true, ChangeKind::kInsert, out));
      SLUICE_RETURN_NOT_OK(EmitLeft(TakeRows(*b, lonely), false, ChangeKind::kInsert, out));
    } else if (preserves_[s]) {
      std::vector<int32_t> lonely;
      for (int64_t i = begin; i < end; ++i) {
        if (matches[static_cast<size_t>(i - begin)] == 0) lonely.push_back(static_cast<int32_t>(i));
      }
      SLUICE_RETURN_NOT_OK(EmitPadded(s, TakeRows(*b, lonely), ChangeKind::kInsert, out));
    }
    // Keep the rows (those with a NULL key match nothing, ever).
    Side& side = sides_[s];
    Chunk c;
    c.rows = probe.size() == static_cast<size_t>(b->num_rows) ? b : b->Select(probe);
    const uint64_t id = side.first_id + side.chunks.size();
    const int64_t* times = b->event_time->raw<int64_t>();
    for (size_t k = 0; k < probe.size(); ++k) {
      const auto i = static_cast<size_t>(probe[k]);
      c.group.push_back(groups_[i]);
      if (preserves_[s]) c.matches.push_back(matches[i - static_cast<size_t>(begin)]);
      c.max_time = std::max(c.max_time, times[i]);
      side.by_group[groups_[i]].push_back(Side::Ref(id, static_cast<uint32_t>(k)));
    }
    c.alive.assign(probe.size(), 1);
    c.live = static_cast<int64_t>(probe.size());
    side.live_rows += c.live;
    side.chunks.push_back(std::move(c));
    FreeFront(s);
    return Status::Ok();
  }

  Status Retract(size_t s, const BatchPtr& b, int64_t begin, int64_t end, runtime::Collector& out) {
    const size_t o = 1 - s;
    Side& side = sides_[s];
    std::vector<int32_t> found;
    std::vector<int32_t> lonely;   // rows whose NULL-padded row is retracted
    std::vector<int32_t> matched;  // left rows alone with a match (semi, anti, mark joins)
    for (int64_t i = begin; i < end; ++i) {
      if (null_keys_[static_cast<size_t>(i)]) {
        if (preserves_[s]) lonely.push_back(static_cast<int32_t>(i));
        continue;
      }
      auto& refs = side.by_group[groups_[static_cast<size_t>(i)]];
      for (size_t k = 0; k < refs.size(); ++k) {
        Chunk& c = side.chunk(refs[k]);
        uint32_t row = refs[k] & 0xffffffffu;
        if (!RowsEqual(*c.rows, row, *b, i)) continue;
        c.alive[row] = 0;
        --c.live;
        --side.live_rows;
        if (preserves_[s] && c.matches[row] == 0) lonely.push_back(static_cast<int32_t>(i));
        if (left_alone_ && s == 0 && c.matches[row] > 0) matched.push_back(static_cast<int32_t>(i));
        refs.erase(refs.begin() + static_cast<std::ptrdiff_t>(k));
        found.push_back(static_cast<int32_t>(i));
        if (c.live == 0) {
          c.rows.reset();  // its memory goes now, its slot when it reaches the front
          c.group.clear();
          c.alive.clear();
          c.matches.clear();
        }
        break;
      }
      // A row that was never kept (or was forgotten after updating_ttl) retracts nothing.
    }
    FreeFront(s);
    if (left_alone_ && s == 0) {
      // The row's match count says what it emitted; its pairs emitted nothing.
      std::sort(matched.begin(), matched.end());
      std::sort(lonely.begin(), lonely.end());
      SLUICE_RETURN_NOT_OK(EmitLeft(TakeRows(*b, matched), true, ChangeKind::kDelete, out));
      return EmitLeft(TakeRows(*b, lonely), false, ChangeKind::kDelete, out);
    }
    auto pairs = Probe(s, *b, found);
    if (!pairs.ok()) return pairs.status();
    if (!left_alone_) {
      SLUICE_RETURN_NOT_OK(EmitRows(s, pairs->mine, pairs->theirs, ChangeKind::kDelete, out));
    }
    std::sort(lonely.begin(), lonely.end());
    SLUICE_RETURN_NOT_OK(EmitPadded(s, TakeRows(*b, lonely), ChangeKind::kDelete, out));
    if (preserves_[o]) {
      std::vector<uint64_t> alone;
      for (uint64_t ref : pairs->refs) {
        Chunk& c = sides_[o].chunk(ref);
        if (--c.matches[ref & 0xffffffffu] == 0) alone.push_back(ref);
      }
      std::sort(alone.begin(), alone.end());
      SLUICE_RETURN_NOT_OK(left_alone_ ? EmitCrossing(alone, false, out)
                                       : EmitPadded(o, Gather(o, alone), ChangeKind::kInsert, out));
    }
    return Status::Ok();
  }

  // Pops chunks at the front whose rows are all gone.
  void FreeFront(size_t s) {
    Side& side = sides_[s];
    while (!side.chunks.empty() && side.chunks.front().live == 0) {
      side.chunks.pop_front();
      ++side.first_id;
    }
  }

  // Forgets the chunks at the front of side `s` for which `expired` holds. Their rows are the
  // oldest references of their keys, so each key loses a prefix of its list.
  template <typename Pred>
  void Expire(size_t s, Pred expired) {
    Side& side = sides_[s];
    while (!side.chunks.empty() &&
           (side.chunks.front().live == 0 || expired(side.chunks.front()))) {
      Chunk& c = side.chunks.front();
      if (c.live > 0) {
        if (prefix_.size() < side.by_group.size()) prefix_.resize(side.by_group.size(), 0);
        touched_.clear();
        for (size_t r = 0; r < c.alive.size(); ++r) {
          if (!c.alive[r]) continue;
          if (prefix_[c.group[r]]++ == 0) touched_.push_back(c.group[r]);
        }
        for (uint32_t g : touched_) {
          auto& refs = side.by_group[g];
          refs.erase(refs.begin(), refs.begin() + prefix_[g]);
          if (refs.empty()) std::vector<uint64_t>().swap(refs);
          prefix_[g] = 0;
        }
        side.live_rows -= c.live;
      }
      side.chunks.pop_front();
      ++side.first_id;
    }
  }

  JoinSpec spec_;
  bool interval_;
  int64_t ttl_, lo_, hi_;
  int subtask_;
  int parallelism_;
  bool left_alone_;  // a semi, anti or mark join
  GroupTable keys_;  // one key space for both sides: group g is the same key on each
  std::array<Side, 2> sides_;
  std::array<bool, 2> preserves_{};
  std::array<types::SchemaPtr, 2> schemas_;
  std::array<std::vector<int>, 2> key_columns_;
  std::vector<uint32_t> groups_;    // per row of the batch being processed
  std::vector<uint8_t> null_keys_;  // per row of the batch being processed
  std::vector<uint32_t> prefix_, touched_, order_;
};

}  // namespace

WindowJoinFactory::WindowJoinFactory(JoinSpec spec, int window_key)
    : spec_(std::move(spec)), window_key_(window_key) {}

std::string WindowJoinFactory::Describe() const {
  return fmt::format("window_join {} (window end: key {})", spec_.Describe(), window_key_);
}

Result<std::unique_ptr<runtime::Operator>> WindowJoinFactory::Create(int subtask,
                                                                     int parallelism) const {
  return std::unique_ptr<runtime::Operator>(
      std::make_unique<WindowJoinOperator>(spec_, window_key_, subtask, parallelism));
}

std::shared_ptr<HashJoinFactory> HashJoinFactory::Updating(JoinSpec spec, int64_t ttl_micros) {
  return std::make_shared<HashJoinFactory>(std::move(spec), false, ttl_micros, 0, 0);
}

std::shared_ptr<HashJoinFactory> HashJoinFactory::Interval(JoinSpec spec, int64_t lo, int64_t hi) {
  return std::make_shared<HashJoinFactory>(std::move(spec), true, 0, lo, hi);
}

std::string HashJoinFactory::Describe() const {
  if (interval_) {
    return fmt::format("interval_join {} (right time - left time in [{}us, {}us])",
                       spec_.Describe(), lo_, hi_);
  }
  return fmt::format("updating_join {} (rows kept {}us)", spec_.Describe(), ttl_);
}

Result<std::unique_ptr<runtime::Operator>> HashJoinFactory::Create(int subtask,
                                                                   int parallelism) const {
  return std::unique_ptr<runtime::Operator>(
      std::make_unique<HashJoinOperator>(spec_, interval_, ttl_, lo_, hi_, subtask, parallelism));
}

}  // namespace sluice::exec
