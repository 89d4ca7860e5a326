#include "exec/updating_top_n.h"

#include <algorithm>
#include <cstring>
#include <span>

#include <fmt/format.h>

#include "batch/column_builder.h"
#include "exec/group_table.h"
#include "exec/hash_partitioner.h"

namespace sluice::exec {

using batch::Batch;
using batch::BatchPtr;
using batch::ChangeKind;
using batch::Column;
using batch::ColumnPtr;
using types::TypeId;

std::string UpdatingTopNFactory::Describe() const {
  return fmt::format("updating_top_n {}{}{}", spec_.Describe(),
                     emit_rank_ ? "" : " (rank not read)",
                     retracting_ ? " (retracting: keeps every row)" : "");
}

namespace {

template <typename T>
int CompareFixed(const Column& a, int64_t i, const Column& b, int64_t j) {
  T x = a.raw<T>()[i], y = b.raw<T>()[j];
  return x < y ? -1 : (y < x ? 1 : 0);
}

// Three-way comparison of row i of `a` with row j of `b` (one type, neither NULL).
int CompareAcross(const Column& a, int64_t i, const Column& b, int64_t j) {
  switch (a.type.id()) {
    case TypeId::kBool:
      return static_cast<int>(a.GetBool(i)) - static_cast<int>(b.GetBool(j));
    case TypeId::kInt8:
      return CompareFixed<int8_t>(a, i, b, j);
    case TypeId::kInt16:
      return CompareFixed<int16_t>(a, i, b, j);
    case TypeId::kInt32:
    case TypeId::kDate:
      return CompareFixed<int32_t>(a, i, b, j);
    case TypeId::kInt64:
    case TypeId::kTime:
    case TypeId::kTimestamp:
      return CompareFixed<int64_t>(a, i, b, j);
    case TypeId::kUInt8:
      return CompareFixed<uint8_t>(a, i, b, j);
    case TypeId::kUInt16:
      return CompareFixed<uint16_t>(a, i, b, j);
    case TypeId::kUInt32:
      return CompareFixed<uint32_t>(a, i, b, j);
    case TypeId::kUInt64:
      return CompareFixed<uint64_t>(a, i, b, j);
    case TypeId::kFloat32:
      return CompareFixed<float>(a, i, b, j);
    case TypeId::kFloat64:
      return CompareFixed<double>(a, i, b, j);
    case TypeId::kDecimal:
      return CompareFixed<types::int128_t>(a, i, b, j);
    case TypeId::kUtf8:
    case TypeId::kJson:
    case TypeId::kBinary: {
      int r = a.GetString(i).compare(b.GetString(j));
      return r < 0 ? -1 : (r > 0 ? 1 : 0);
    }
    default:
      return types::CompareValues(a.GetValue(i), b.GetValue(j));
  }
}

class UpdatingTopNOperator : public runtime::Operator {
 public:
  UpdatingTopNOperator(const TopNSpec& spec, bool emit_rank, bool retracting, int subtask,
                       int parallelism)
      : spec_(spec),
        emit_rank_(emit_rank),
        retracting_(retracting),
        subtask_(subtask),
        parallelism_(parallelism),
        limit_(static_cast<size_t>(spec.limit)),
        keep_(retracting ? SIZE_MAX : limit_),
        groups_(KeyTypes(spec)) {}

  Status ProcessBatch(int, const BatchPtr& b, runtime::Collector& out) override {
    if (b->change_kind && !retracting_) {
      return Status::Internal("updating_top_n: a change stream reached an append-only top-N");
    }
    if (b->num_rows == 0) return Status::Ok();
    return Add(b, &out);
  }

  // The kept rows of every key, key after key in rank order, as one batch of input rows.
  Status Snapshot(int64_t, runtime::StateWriter& state) override {
    std::vector<Entry> all;
    for (const auto& top : tops_) all.insert(all.end(), top.begin(), top.end());
    if (!all.empty()) state.PutBatch("rows", *Gather(all));
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    SLUICE_ASSIGN_OR_RETURN(std::vector<BatchPtr> batches, state.GetBatches("rows"));
    for (const auto& b : batches) {
      BatchPtr mine = RowsOfSubtask(b, spec_.partition, subtask_, parallelism_);
      if (mine && mine->num_rows > 0) SLUICE_RETURN_NOT_OK(Add(mine, nullptr));
    }
    return Status::Ok();
  }

 private:
  // A kept row: row `row` of slots_[slot].
  struct Entry {
    uint32_t slot;
    uint32_t row;
    bool operator==(const Entry& o) const { return slot == o.slot && row == o.row; }
    uint64_t id() const { return (static_cast<uint64_t>(slot) << 32) | row; }
  };
  struct Change {
    Entry entry;
    ChangeKind kind;
    int64_t rank;
  };

  static std::vector<types::DataType> KeyTypes(const TopNSpec& spec) {
    std::vector<types::DataType> types;
    for (int p : spec.partition) {
      types.push_back(spec.output_schema->field(static_cast<size_t>(p)).type);
    }
    return types;
  }

  // <0 when row i of `a` ranks before row j of `b`.
  int Compare(const Batch& a, int64_t i, const Batch& b, int64_t j) const {
    for (const auto& k : spec_.order) {
      const Column& ca = *a.columns[static_cast<size_t>(k.column)];
      const Column& cb = *b.columns[static_cast<size_t>(k.column)];
      bool an = ca.IsNull(i), bn = cb.IsNull(j);
      if (an || bn) {
        if (an == bn) continue;
        return (an ? -1 : 1) * (k.nulls_first ? 1 : -1);
      }
      int r = CompareAcross(ca, i, cb, j);
      if (r != 0) return k.descending ? -r : r;
    }
    return 0;
  }
  int Compare(const Batch& a, int64_t i, const Entry& e) const {
    return Compare(a, i, *slots_[e.slot], e.row);
  }
  // Whether row i of `a` equals the kept row `e` in every column (NULLs equal).
  bool SameRow(const Batch& a, int64_t i, const Entry& e) const {
    const Batch& b = *slots_[e.slot];
    for (size_t c = 0; c < a.columns.size(); ++c) {
      const Column& ca = *a.columns[c];
      const Column& cb = *b.columns[c];
      bool an = ca.IsNull(i), bn = cb.IsNull(e.row);
      if (an || bn) {
        if (an != bn) return false;
        continue;
      }
      if (CompareAcross(ca, i, cb, e.row) != 0) return false;
    }
    return true;
  }
  void Touch(uint32_t g) {
    if (touched_at_[g] == epoch_) return;
    touched_at_[g] = epoch_;
    touched_.push_back(g);
    const std::vector<Entry>& top = tops_[g];
    olds_.emplace_back(top.begin(),
                       top.begin() + static_cast<std::ptrdiff_t>(std::min(limit_, top.size())));
  }
  void Forget(const Entry& gone, uint32_t cur, std::vector<uint32_t>* emptied) {
    if (gone.slot == cur) return;  // not counted yet: see KeepRowsOf
    --live_rows_;
    if (--live_[gone.slot] == 0) emptied->push_back(gone.slot);
  }

  uint32_t AllocSlot(BatchPtr b) {
    uint32_t s;
    if (!free_slots_.empty()) {
      s = free_slots_.back();
      free_slots_.pop_back();
      slots_[s] = std::move(b);
      live_[s] = 0;
    } else {
      s = static_cast<uint32_t>(slots_.size());
      slots_.push_back(std::move(b));
      live_.push_back(0);
    }
    return s;
  }
  void FreeSlot(uint32_t s) {
    pinned_rows_ -= slots_[s]->num_rows;
    slots_[s] = nullptr;
    free_slots_.push_back(s);
  }

  // Adds the rows of `b`; emits the changes into `out` (none when null: restoring).
  Status Add(const BatchPtr& b, runtime::Collector* out) {
    const uint32_t cur = AllocSlot(b);
    std::vector<ColumnPtr> keys;
    for (int p : spec_.partition) keys.push_back(b->columns[static_cast<size_t>(p)]);
    groups_.FindOrInsert(keys, nullptr, b->num_rows, &group_ids_);
    if (tops_.size() < static_cast<size_t>(groups_.size())) {
      tops_.resize(static_cast<size_t>(groups_.size()));
      touched_at_.resize(static_cast<size_t>(groups_.size()), 0);
    }
    ++epoch_;
    touched_.clear();
    olds_.clear();
    std::vector<uint32_t> evicted_slots;
    const int8_t* kinds = b->change_kind ? b->change_kind->raw<int8_t>() : nullptr;
    for (int64_t i = 0; i < b->num_rows; ++i) {
      const uint32_t g = group_ids_[static_cast<size_t>(i)];
      std::vector<Entry>& top = tops_[g];
      const bool retract =
          kinds != nullptr && (kinds[i] == static_cast<int8_t>(ChangeKind::kDelete) ||
                               kinds[i] == static_cast<int8_t>(ChangeKind::kUpdateBefore));
      if (retract) {
        // Remove one kept row equal to it; a retraction of a row not kept is dropped.
        auto lo = std::lower_bound(top.begin(), top.end(), i, [&](const Entry& e, int64_t row) {
          return Compare(*slots_[e.slot], e.row, *b, row) < 0;
        });
        while (lo != top.end() && Compare(*b, i, *lo) == 0 && !SameRow(*b, i, *lo)) ++lo;
        if (lo == top.end() || Compare(*b, i, *lo) != 0) continue;
        Touch(g);
        const Entry gone = *lo;
        top.erase(lo);
        Forget(gone, cur, &evicted_slots);
        continue;
      }
      // Ties rank after the kept rows: a full top N keeps its last row against an equal one.
      if (top.size() >= keep_ && Compare(*b, i, top.back()) >= 0) continue;
      Touch(g);
      auto pos = std::upper_bound(top.begin(), top.end(), i, [&](int64_t row, const Entry& e) {
        return Compare(*b, row, e) < 0;
      });
      top.insert(pos, Entry{cur, static_cast<uint32_t>(i)});
      if (top.size() > keep_) {
        const Entry gone = top.back();
        top.pop_back();
        Forget(gone, cur, &evicted_slots);
      }
    }
    if (out != nullptr) SLUICE_RETURN_NOT_OK(EmitChanges(*out));
    for (uint32_t s : evicted_slots) FreeSlot(s);
    KeepRowsOf(cur);
    if (pinned_rows_ > 2 * live_rows_ + 65536) Compact();
    return Status::Ok();
  }

  // Replaces slot `cur` (the batch just added) by a copy of the rows kept from it.
  void KeepRowsOf(uint32_t cur) {
    std::vector<int32_t> rows;
    for (uint32_t g : touched_) {
      for (const Entry& e : tops_[g]) {
        if (e.slot == cur) rows.push_back(static_cast<int32_t>(e.row));
      }
    }
    if (rows.empty()) {
      slots_[cur] = nullptr;
      free_slots_.push_back(cur);
      return;
    }
    std::sort(rows.begin(), rows.end());
    row_map_.assign(static_cast<size_t>(slots_[cur]->num_rows), -1);
    for (size_t k = 0; k < rows.size(); ++k)
      row_map_[static_cast<size_t>(rows[k])] = static_cast<int32_t>(k);
    if (rows.size() < static_cast<size_t>(slots_[cur]->num_rows)) {
      slots_[cur] = slots_[cur]->Select(rows);
    }
    for (uint32_t g : touched_) {
      for (Entry& e : tops_[g]) {
        if (e.slot == cur) e.row = static_cast<uint32_t>(row_map_[e.row]);
      }
    }
    live_[cur] = static_cast<int64_t>(rows.size());
    live_rows_ += static_cast<int64_t>(rows.size());
    pinned_rows_ += static_cast<int64_t>(rows.size());
  }

  // Moves every kept row into one batch, freeing the rows that left every top N.
  void Compact() {
    std::vector<Entry*> refs;
    for (auto& top : tops_) {
      for (Entry& e : top) refs.push_back(&e);
    }
    std::vector<Entry> entries;
    entries.reserve(refs.size());
    for (const Entry* e : refs) entries.push_back(*e);
    BatchPtr all = Gather(entries);
    for (uint32_t s = 0; s < slots_.size(); ++s) {
      if (slots_[s]) FreeSlot(s);
    }
    slots_.clear();
    live_.clear();
    free_slots_.clear();
    pinned_rows_ = 0;
    if (refs.empty()) return;
    const uint32_t s = AllocSlot(all);
    for (size_t k = 0; k < refs.size(); ++k) *refs[k] = Entry{s, static_cast<uint32_t>(k)};
    live_[s] = static_cast<int64_t>(refs.size());
    pinned_rows_ = all->num_rows;
  }

  // The rows `entries` (input columns, event times), in that order.
  BatchPtr Gather(const std::vector<Entry>& entries) {
    std::vector<uint32_t> order(entries.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = static_cast<uint32_t>(k);
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t c) { return entries[a].slot < entries[c].slot; });
    // One piece per slot, then a permutation back into `entries`' order.
    std::vector<BatchPtr> pieces;
    std::vector<int32_t> position(entries.size());
    std::vector<int32_t> rows;
    int32_t next = 0;
    for (size_t k = 0; k < order.size();) {
      const uint32_t s = entries[order[k]].slot;
      rows.clear();
      for (; k < order.size() && entries[order[k]].slot == s; ++k) {
        rows.push_back(static_cast<int32_t>(entries[order[k]].row));
        position[order[k]] = next++;
      }
      const Batch& src = *slots_[s];
      auto piece = std::make_shared<Batch>();
      piece->schema = src.schema;
      piece->num_rows = static_cast<int64_t>(rows.size());
      for (const auto& c : src.columns) {
        piece->columns.push_back(batch::Take(*c, rows.data(), piece->num_rows));
      }
      piece->event_time = batch::Take(*src.event_time, rows.data(), piece->num_rows);
      pieces.push_back(std::move(piece));
    }
    BatchPtr all = pieces.size() == 1 ? pieces[0] : batch::ConcatBatches(pieces);
    bool identity = true;
    for (size_t k = 0; identity && k < position.size(); ++k) {
      identity = position[k] == static_cast<int32_t>(k);
    }
    if (identity) return all;
    auto result = std::make_shared<Batch>();
    result->schema = all->schema;
    result->num_rows = all->num_rows;
    for (const auto& c : all->columns) {
      result->columns.push_back(batch::Take(*c, position.data(), result->num_rows));
    }
    result->event_time = batch::Take(*all->event_time, position.data(), result->num_rows);
    return result;
  }

  // The difference between each touched key's top N before this batch (olds_) and now.
  Status EmitChanges(runtime::Collector& out) {
    changes_.clear();
    for (size_t t = 0; t < touched_.size(); ++t) {
      const std::vector<Entry>& before = olds_[t];
      const std::vector<Entry>& all = tops_[touched_[t]];
      const std::span<const Entry> now(all.data(), std::min(limit_, all.size()));
      if (emit_rank_) {
        const size_t n = std::max(before.size(), now.size());
        for (size_t r = 0; r < n; ++r) {
          const auto rank = static_cast<int64_t>(r + 1);
          if (r < before.size() && r < now.size()) {
            if (before[r] == now[r]) continue;
            changes_.push_back({before[r], ChangeKind::kUpdateBefore, rank});
            changes_.push_back({now[r], ChangeKind::kUpdateAfter, rank});
          } else if (r < before.size()) {
            changes_.push_back({before[r], ChangeKind::kDelete, rank});
          } else {
            changes_.push_back({now[r], ChangeKind::kInsert, rank});
          }
        }
      } else {
        auto has = [](std::span<const Entry> v, const Entry& e) {
          return std::find(v.begin(), v.end(), e) != v.end();
        };
        for (size_t r = 0; r < before.size(); ++r) {
          if (!has(now, before[r])) {
            changes_.push_back({before[r], ChangeKind::kDelete, static_cast<int64_t>(r + 1)});
          }
        }
        for (size_t r = 0; r < now.size(); ++r) {
          if (!has(before, now[r])) {
            changes_.push_back({now[r], ChangeKind::kInsert, static_cast<int64_t>(r + 1)});
          }
        }
      }
    }
    if (changes_.empty()) return Status::Ok();
    std::vector<Entry> entries;
    entries.reserve(changes_.size());
    for (const Change& c : changes_) entries.push_back(c.entry);
    BatchPtr rows = Gather(entries);
    auto result = std::make_shared<Batch>(*rows);
    result->schema = spec_.output_schema;
    const auto n = static_cast<int64_t>(changes_.size());
    auto rank = Column::MakeFixed(types::DataType(TypeId::kInt64), n);
    auto kinds = Column::MakeFixed(types::DataType(TypeId::kInt8), n);
    for (int64_t k = 0; k < n; ++k) {
      rank->mutable_raw<int64_t>()[k] = changes_[static_cast<size_t>(k)].rank;
      kinds->mutable_raw<int8_t>()[k] = static_cast<int8_t>(changes_[static_cast<size_t>(k)].kind);
    }
    result->columns.push_back(rank);
    if (spec_.order.empty() && !retracting_) {
      // No order over an append-only input (LIMIT without ORDER BY): rows tie, the earlier
      // stays, so rows only enter and the output is append-only.
      for (const Change& c : changes_) {
        if (c.kind != ChangeKind::kInsert) {
          return Status::Internal("updating_top_n: a row left an unordered top-N");
        }
      }
    } else {
      result->change_kind = kinds;
    }
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += n;
    return out.Emit(result);
  }

  TopNSpec spec_;
  bool emit_rank_;
  bool retracting_;  // the input is updating: every row is kept, to refill a top N
  int subtask_;
  int parallelism_;
  size_t limit_;  // ranks emitted
  size_t keep_;   // rows kept per key
  GroupTable groups_;
  std::vector<std::vector<Entry>> tops_;  // per group: its kept rows in rank order
  std::vector<BatchPtr> slots_;           // batches holding kept rows
  std::vector<int64_t> live_;             // per slot: its rows still kept
  std::vector<uint32_t> free_slots_;
  int64_t live_rows_ = 0;    // rows kept in some top N
  int64_t pinned_rows_ = 0;  // rows of the batches in slots_
  // Per batch: the groups it touched (in order) and their top N before it.
  uint64_t epoch_ = 0;
  std::vector<uint64_t> touched_at_;
  std::vector<uint32_t> touched_;
  std::vector<std::vector<Entry>> olds_;
  std::vector<uint32_t> group_ids_;
  std::vector<int32_t> row_map_;
  std::vector<Change> changes_;
};

}  // namespace

Result<std::unique_ptr<runtime::Operator>> UpdatingTopNFactory::Create(int subtask,
                                                                       int parallelism) const {
  if (spec_.function != RankFunction::kRowNumber || spec_.limit <= 0) {
    return Status::Internal("updating_top_n needs ROW_NUMBER() and a limit");
  }
  return std::unique_ptr<runtime::Operator>(
      std::make_unique<UpdatingTopNOperator>(spec_, emit_rank_, retracting_, subtask, parallelism));
}

}  // namespace sluice::exec
