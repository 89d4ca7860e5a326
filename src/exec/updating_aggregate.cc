#include "exec/updating_aggregate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <limits>
#include <span>
#include <string>

#include "batch/column_builder.h"
#include "exec/aggregate_state_io.h"
#include "exec/group_table.h"
#include "exec/hash_partitioner.h"

namespace sluice::exec {

using batch::Batch;
using batch::BatchPtr;
using batch::ChangeKind;
using batch::Column;
using batch::ColumnPtr;
using types::Value;

namespace {

constexpr int64_t kNever = std::numeric_limits<int64_t>::min();

inline bool IsAddition(int8_t kind) {
  return kind == static_cast<int8_t>(ChangeKind::kInsert) ||
         kind == static_cast<int8_t>(ChangeKind::kUpdateAfter);
}

// The values last emitted for one aggregate, per group: fixed-width values in one array,
// others as Values.
class EmittedColumn {
 public:
  explicit EmittedColumn(types::DataType type)
      : type_(std::move(type)), width_(type_.byte_width()) {}

  void Resize(size_t groups) {
    valid_.resize(groups, 0);
    if (width_ > 0) {
      bytes_.resize(groups * static_cast<size_t>(width_));
    } else {
      values_.resize(groups);
    }
  }
  bool Equal(uint32_t g, const Column& c, int64_t i) const {
    const bool null = c.IsNull(i);
    if (!valid_[g] || null) return !valid_[g] && null;
    if (width_ > 0) {
      return std::memcmp(&bytes_[g * static_cast<size_t>(width_)], c.values->data() + i * width_,
                         static_cast<size_t>(width_)) == 0;
    }
    return values_[g] == c.GetValue(i);
  }
  void Store(uint32_t g, const Column& c, int64_t i) {
    valid_[g] = c.IsNull(i) ? 0 : 1;
    if (!valid_[g]) return;
    if (width_ > 0) {
      std::memcpy(&bytes_[g * static_cast<size_t>(width_)], c.values->data() + i * width_,
                  static_cast<size_t>(width_));
    } else {
      values_[g] = c.GetValue(i);
    }
  }
  void Clear(uint32_t g) {
    valid_[g] = 0;
    if (width_ <= 0) values_[g] = Value();
  }
  ColumnPtr Gather(const std::vector<uint32_t>& groups) const {
    const auto n = static_cast<int64_t>(groups.size());
    if (width_ > 0) {
      auto out = Column::MakeFixed(type_, n);
      uint8_t* dst = out->mutable_raw<uint8_t>();
      bool nulls = false;
      for (int64_t i = 0; i < n; ++i) {
        uint32_t g = groups[static_cast<size_t>(i)];
        std::memcpy(dst + i * width_, &bytes_[g * static_cast<size_t>(width_)],
                    static_cast<size_t>(width_));
        nulls |= !valid_[g];
      }
      if (nulls) {
        out->validity = Column::MakeAllValidBitmap(n);
        for (int64_t i = 0; i < n; ++i) {
          if (!valid_[groups[static_cast<size_t>(i)]]) batch::ClearBit(out->validity->data(), i);
        }
      }
      return out;
    }
    batch::ColumnBuilder b(type_);
    b.Reserve(n);
    for (uint32_t g : groups) {
      if (valid_[g]) {
        b.AppendValue(values_[g]);
      } else {
        b.AppendNull();
      }
    }
    return b.Finish();
  }

 private:
  types::DataType type_;
  int width_;
  std::vector<uint8_t> valid_;
  std::vector<uint8_t> bytes_;
  std::vector<Value> values_;
};

class UpdatingAggregateOperator : public runtime::Operator {
 public:
  UpdatingAggregateOperator(const std::vector<types::DataType>& key_types,
                            const std::vector<AggregateCall>& aggregates,
                            types::SchemaPtr output_schema, int64_t flush_interval,
                            int64_t ttl_micros, int subtask, int parallelism)
      : subtask_(subtask),
        parallelism_(parallelism),
        key_types_(key_types),
        aggregates_(aggregates),
        output_schema_(std::move(output_schema)),
        flush_interval_(flush_interval),
        ttl_(key_types.empty() ? 0 : ttl_micros),
        groups_(key_types) {
    for (const auto& a : aggregates_) {
      emitted_.emplace_back(a.aggregate.return_type);
      states_.push_back(a.aggregate.function->NewState());
      if (!states_.back()->retractable() && cannot_retract_.empty()) {
        cannot_retract_ = a.aggregate.name;
      }
    }
  }

  Status ProcessBatch(int, const BatchPtr& input, runtime::Collector& out) override {
    int64_t n = input->num_rows;
    if (n == 0) return Status::Ok();
    std::vector<ColumnPtr> keys(
        input->columns.begin(),
        input->columns.begin() + static_cast<std::ptrdiff_t>(key_types_.size()));
    const int64_t* et = input->event_time->raw<int64_t>();
    if (!input->change_kind) {
      groups_.FindOrInsert(keys, nullptr, n, &add_ids_);
      Grow();
      for (int64_t i = 0; i < n; ++i) Touch(add_ids_[static_cast<size_t>(i)], et[i], 1);
      SLUICE_RETURN_NOT_OK(Apply(*input, nullptr, add_ids_, /*retract=*/false));
    } else {
      if (!cannot_retract_.empty()) {
        return Status::NotSupported(
            "{}() cannot be computed over an updating input (its rows can be retracted)",
            cannot_retract_);
      }
      SLUICE_RETURN_NOT_OK(ProcessChanges(*input, keys, et));
    }
    for (int64_t i = 0; i < n; ++i) max_event_time_ = std::max(max_event_time_, et[i]);
    if (Now().value - last_flush_ >= flush_interval_) return Flush(out);
    return Status::Ok();
  }

  Status ProcessWatermark(Watermark wm, runtime::Collector& out) override {
    if (wm != Watermark::Max()) latest_watermark_ = std::max(latest_watermark_, wm.time.value);
    CollectExpired(wm);
    if (!expiring_.empty() || Now().value - last_flush_ >= flush_interval_) {
      SLUICE_RETURN_NOT_OK(Flush(out));
    }
    return out.EmitWatermark(wm);
  }

  Status OnEndOfInput(runtime::Collector& out) override {
    // A global aggregate answers one row even when no row ever reached it (count(*) = 0, sum
    // NULL), as in SQL: its group is created at the end of an input that had none.
    if (key_types_.empty() && groups_.size() == 0) {
      // Its event time: the latest watermark, so that no operator below takes it as late or
      // expired (no row ever set max_event_time_).
      max_event_time_ = std::max(max_event_time_, latest_watermark_);
      groups_.FindOrInsert({}, nullptr, 1, &add_ids_);
      Grow();
      Touch(add_ids_[0], max_event_time_, 0);
    }
    return Flush(out);
  }

  Status Open(runtime::OperatorContext& ctx) override {
    track_ = ctx.checkpointing;
    return runtime::Operator::Open(ctx);
  }

  // Every group the operator knows (holding rows, or with a row downstream, or a change not
  // flushed yet) as batches: the keys (first), rows, last change, flags, the largest event time
  // seen, the values last emitted per aggregate, then each aggregate's state (BYTEA). On
  // restore each subtask keeps the groups whose key hashes to it: unflushed changes are flushed
  // later, and what was emitted stays what a later update or delete retracts.
  //
  // Incremental: when the previous snapshot belongs to the last completed checkpoint, only the
  // groups changed since ("groups.changed", same columns) and the keys deleted since
  // ("groups.deleted", keys only) are written, over the last full snapshot ("full" marks it).
  // A full snapshot is written again when the deltas since the last full one would exceed half
  // the live groups, or after kMaxChain deltas, so a restore reads at most about 1.5 times the
  // state and a bounded number of files.
  Status Snapshot(int64_t checkpoint, runtime::StateWriter& state) override {
    const bool global = key_types_.empty();
    auto kept = [global](const GroupInfo& gi) {
      return gi.rows > 0 || gi.emitted || gi.expiring || (global && gi.dirty);
    };
    const auto live = groups_.live_count();
    const bool delta =
        track_ && state.incremental() && base_ > 0 && last_snapshot_ == state.last_completed() &&
        chain_ < kMaxChain &&
        2 * (delta_rows_ + static_cast<int64_t>(ckpt_dirty_list_.size()) + deleted_key_rows_) <=
            live;
    last_snapshot_ = checkpoint;
    std::vector<uint32_t> groups;
    if (!delta) {
      for (uint32_t g = 0; g < static_cast<uint32_t>(info_.size()); ++g) {
        GroupInfo& gi = info_[g];
        gi.ckpt_dirty = 0;
        gi.persisted = kept(gi) ? 1 : 0;
        if (gi.persisted) groups.push_back(g);
      }
      state.Put("full", "");
      SLUICE_RETURN_NOT_OK(PutGroups(state, "groups", groups));
      base_ = checkpoint;
      chain_ = 0;
      delta_rows_ = 0;
    } else {
      std::vector<uint32_t> gone;
      for (uint32_t g : ckpt_dirty_list_) {
        GroupInfo& gi = info_[g];
        if (!gi.ckpt_dirty) continue;  // listed twice, or forgotten since
        gi.ckpt_dirty = 0;
        if (kept(gi)) {
          groups.push_back(g);
          gi.persisted = 1;
        } else if (gi.persisted) {
          gone.push_back(g);
          gi.persisted = 0;
        }
      }
      SLUICE_RETURN_NOT_OK(PutGroups(state, "groups.changed", groups));
      if (!gone.empty()) {
        deleted_keys_.push_back(groups_.GatherKeys(gone.data(), static_cast<int64_t>(gone.size())));
        deleted_key_rows_ += static_cast<int64_t>(gone.size());
      }
      for (auto& keys : deleted_keys_) {
        Batch b;
        b.num_rows = keys.empty() ? 0 : keys[0]->length;
        if (keys.empty()) continue;  // a global aggregate has no key to delete
        std::vector<types::Field> fields;
        for (const auto& k : keys) {
          fields.push_back({fmt::format("$key{}", fields.size()), k->type, true});
        }
        b.schema = std::make_shared<types::Schema>(std::move(fields));
        b.columns = std::move(keys);
        b.event_time = Column::MakeConstant(Value::Timestamp(max_event_time_), b.num_rows);
        state.PutBatch("groups.deleted", b);
      }
      state.Extends(base_);
      ++chain_;
      delta_rows_ += static_cast<int64_t>(groups.size()) + deleted_key_rows_;
    }
    ckpt_dirty_list_.clear();
    deleted_keys_.clear();
    deleted_key_rows_ = 0;
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    const size_t k = key_types_.size();
    for (int s = 0; s < state.previous_parallelism(); ++s) {
      // From the last full snapshot of this subtask's chain (a checkpoint written before
      // incremental snapshots has one file and no marker), then each delta in order.
      const int len = state.chain_length(s);
      int first = 0;
      for (int step = len - 1; step >= 0; --step) {
        if (state.HasPieceAt("full", s, step)) {
          first = step;
          break;
        }
      }
      SLUICE_ASSIGN_OR_RETURN(auto full, state.GetBatchesAt("groups", s, first));
      for (const auto& b : full) SLUICE_RETURN_NOT_OK(RestoreGroups(b));
      for (int step = first + 1; step < len; ++step) {
        SLUICE_ASSIGN_OR_RETURN(auto deleted, state.GetBatchesAt("groups.deleted", s, step));
        for (const auto& all : deleted) {
          if (all->columns.size() != k) {
            return Status::Io("updating aggregate state: deleted keys have {} columns, expected {}",
                              all->columns.size(), k);
          }
          BatchPtr b = RowsOfSubtask(all, KeyColumnIndexes(), subtask_, parallelism_);
          if (!b) continue;
          std::vector<uint32_t> ids;
          groups_.Find(b->columns, nullptr, b->num_rows, &ids);
          for (uint32_t g : ids) {
            if (g != GroupTable::kNoGroup) Forget(g);
          }
        }
        SLUICE_ASSIGN_OR_RETURN(auto changed, state.GetBatchesAt("groups.changed", s, step));
        for (const auto& b : changed) SLUICE_RETURN_NOT_OK(RestoreGroups(b));
      }
    }
    // The queues follow the flags of the groups restored.
    for (uint32_t g = 0; g < static_cast<uint32_t>(info_.size()); ++g) {
      if (!groups_.live(g)) continue;
      GroupInfo& gi = info_[g];
      if (gi.dirty) dirty_list_.push_back(g);
      if (gi.expiring) expiring_.push_back(g);
      if (gi.queued) {
        if (ttl_ > 0) {
          expiry_.push_back({gi.last_change, g, gi.epoch});
        } else {
          gi.queued = 0;
        }
      }
    }
    std::make_heap(expiry_.begin(), expiry_.end(), std::greater<>());
    return Status::Ok();
  }

 private:
  // What the operator keeps per group besides the aggregate states.
  struct GroupInfo {
    int64_t rows = 0;              // added minus retracted
    int64_t last_change = kNever;  // largest event time of a row that changed the group
    uint32_t epoch = 0;            // bumped when the group is forgotten: stale heap entries
    uint8_t dirty : 1 = 0;         // changed since the last flush (in dirty_list_)
    uint8_t emitted : 1 = 0;       // emitted_[g] holds the row downstream has
    uint8_t queued : 1 = 0;        // has an entry in the expiry heap
    uint8_t expiring : 1 = 0;      // in expiring_
    uint8_t ckpt_dirty : 1 = 0;    // changed since the last snapshot (in ckpt_dirty_list_)
    uint8_t persisted : 1 = 0;     // in the snapshots since the last full one
  };
  // An expiry heap entry: group `group` of epoch `epoch` changed last at `time` (or later).
  struct Expiry {
    int64_t time;
    uint32_t group;
    uint32_t epoch;
    bool operator>(const Expiry& o) const { return time > o.time; }
  };

  // Batches of at most kSnapshotChunk groups: bounded memory, and offsets that fit 32 bits.
  static constexpr int64_t kSnapshotChunk = 1 << 20;
  static constexpr int kMaxChain = 16;

  std::vector<int> KeyColumnIndexes() const {
    std::vector<int> out;
    for (size_t i = 0; i < key_types_.size(); ++i) out.push_back(static_cast<int>(i));
    return out;
  }

  // Writes `groups` under `name` in the layout Snapshot describes.
  Status PutGroups(runtime::StateWriter& state, std::string_view name,
                   const std::vector<uint32_t>& all) {
    for (size_t from = 0; from < all.size(); from += kSnapshotChunk) {
      const auto n = static_cast<int64_t>(
          std::min<size_t>(all.size() - from, static_cast<size_t>(kSnapshotChunk)));
      const uint32_t* groups = all.data() + from;
      auto b = std::make_shared<Batch>();
      b->num_rows = n;
      std::vector<types::Field> fields;
      for (const auto& key : groups_.GatherKeys(groups, n)) {
        fields.push_back({fmt::format("$key{}", b->columns.size()), key->type, true});
        b->columns.push_back(key);
      }
      auto rows = Column::MakeFixed(types::Int64(), n);
      auto last = Column::MakeFixed(types::Int64(), n);
      auto flags = Column::MakeFixed(types::Int64(), n);
      auto max_time = Column::MakeFixed(types::Int64(), n);
      auto* r = rows->mutable_raw<int64_t>();
      auto* l = last->mutable_raw<int64_t>();
      auto* f = flags->mutable_raw<int64_t>();
      auto* m = max_time->mutable_raw<int64_t>();
      for (int64_t i = 0; i < n; ++i) {
        const GroupInfo& gi = info_[groups[i]];
        r[i] = gi.rows;
        l[i] = gi.last_change;
        f[i] = gi.dirty | gi.emitted << 1 | gi.queued << 2 | gi.expiring << 3;
        m[i] = max_event_time_;
      }
      for (ColumnPtr c :
           {ColumnPtr(rows), ColumnPtr(last), ColumnPtr(flags), ColumnPtr(max_time)}) {
        fields.push_back({fmt::format("$info{}", b->columns.size()), types::Int64(), false});
        b->columns.push_back(std::move(c));
      }
      std::vector<uint32_t> list(groups, groups + n);
      for (size_t a = 0; a < emitted_.size(); ++a) {
        fields.push_back(
            {fmt::format("$emitted{}", a), aggregates_[a].aggregate.return_type, true});
        b->columns.push_back(emitted_[a].Gather(list));
      }
      for (size_t a = 0; a < states_.size(); ++a) {
        SLUICE_ASSIGN_OR_RETURN(
            ColumnPtr c,
            SerializeAggregateStates(*states_[a], groups, n, aggregates_[a].aggregate.name));
        fields.push_back(
            {fmt::format("$state{}", a), types::DataType(types::TypeId::kBinary), false});
        b->columns.push_back(std::move(c));
      }
      b->schema = std::make_shared<types::Schema>(std::move(fields));
      b->event_time = Column::MakeConstant(Value::Timestamp(max_event_time_), n);
      state.PutBatch(name, *b);
    }
    return Status::Ok();
  }

  // Sets the groups of batch `all` (PutGroups' layout) that hash to this subtask, replacing
  // what an earlier file of the chain restored for them.
  Status RestoreGroups(const BatchPtr& all) {
    const size_t k = key_types_.size(), na = states_.size();
    if (all->columns.size() != k + 4 + 2 * na) {
      return Status::Io("updating aggregate state: {} columns, expected {}", all->columns.size(),
                        k + 4 + 2 * na);
    }
    if (all->num_rows > 0) {
      max_event_time_ = std::max(max_event_time_, all->columns[k + 3]->raw<int64_t>()[0]);
    }
    BatchPtr b = RowsOfSubtask(all, KeyColumnIndexes(), subtask_, parallelism_);
    if (!b) return Status::Ok();
    const int64_t n = b->num_rows;
    std::vector<ColumnPtr> keys(b->columns.begin(),
                                b->columns.begin() + static_cast<std::ptrdiff_t>(k));
    std::vector<uint32_t> ids;
    groups_.FindOrInsert(keys, nullptr, n, &ids);
    Grow();
    const int64_t* rows = b->columns[k]->raw<int64_t>();
    const int64_t* last = b->columns[k + 1]->raw<int64_t>();
    const int64_t* flags = b->columns[k + 2]->raw<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      const uint32_t g = ids[static_cast<size_t>(i)];
      GroupInfo& gi = info_[g];
      gi.rows = rows[i];
      gi.last_change = last[i];
      gi.dirty = flags[i] & 1;
      gi.emitted = (flags[i] >> 1) & 1;
      gi.queued = (flags[i] >> 2) & 1;
      gi.expiring = (flags[i] >> 3) & 1;
      for (size_t a = 0; a < na; ++a) {
        if (gi.emitted) {
          emitted_[a].Store(g, *b->columns[k + 4 + a], i);
        } else {
          emitted_[a].Clear(g);
        }
      }
    }
    for (size_t a = 0; a < na; ++a) {
      SLUICE_RETURN_NOT_OK(DeserializeAggregateStates(*states_[a], *b->columns[k + 4 + na + a],
                                                      nullptr, ids.data(), n));
    }
    return Status::Ok();
  }

  // Group g changed since the last snapshot.
  void MarkChanged(GroupInfo& gi, uint32_t g) {
    if (track_ && !gi.ckpt_dirty) {
      gi.ckpt_dirty = 1;
      ckpt_dirty_list_.push_back(g);
    }
  }

  // Rows of an updating batch: additions and retractions, each applied as one selection. Group
  // counts are updated in row order, so a retraction is dropped exactly when it reaches a
  // group that holds no rows at that point of the changelog.
  Status ProcessChanges(const Batch& input, const std::vector<ColumnPtr>& keys, const int64_t* et) {
    int64_t n = input.num_rows;
    const int8_t* kinds = input.change_kind->raw<int8_t>();
    add_rows_.clear();
    retract_rows_.clear();
    for (int64_t i = 0; i < n; ++i) {
      (IsAddition(kinds[i]) ? add_rows_ : retract_rows_).push_back(static_cast<int32_t>(i));
    }
    bool all_added = static_cast<int64_t>(add_rows_.size()) == n;
    groups_.FindOrInsert(keys, all_added ? nullptr : &add_rows_,
                         static_cast<int64_t>(add_rows_.size()), &add_ids_);
    Grow();
    groups_.Find(keys, &retract_rows_, static_cast<int64_t>(retract_rows_.size()), &retract_ids_);
    size_t a = 0, r = 0, kept = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (IsAddition(kinds[i])) {
        Touch(add_ids_[a++], et[i], 1);
        continue;
      }
      uint32_t g = retract_ids_[r];
      int32_t row = retract_rows_[r];
      ++r;
      if (g == GroupTable::kNoGroup || info_[g].rows <= 0) continue;  // nothing to retract
      Touch(g, et[i], -1);
      retract_rows_[kept] = row;
      retract_ids_[kept] = g;
      ++kept;
    }
    retract_rows_.resize(kept);
    retract_ids_.resize(kept);
    if (!add_ids_.empty()) {
      SLUICE_RETURN_NOT_OK(Apply(input, all_added ? nullptr : &add_rows_, add_ids_, false));
    }
    if (!retract_ids_.empty()) {
      SLUICE_RETURN_NOT_OK(Apply(input, &retract_rows_, retract_ids_, true));
    }
    return Status::Ok();
  }

  // Sizes the per-group arrays to the group table.
  void Grow() {
    size_t groups = static_cast<size_t>(groups_.size());
    if (info_.size() >= groups) return;
    info_.resize(groups);
    for (auto& e : emitted_) e.Resize(groups);
    for (auto& s : states_) s->Resize(groups_.size());
  }

  // Records a row added (delta 1) or retracted (-1) at event time t in group g.
  void Touch(uint32_t g, int64_t t, int64_t delta) {
    GroupInfo& gi = info_[g];
    gi.rows += delta;
    gi.last_change = std::max(gi.last_change, t);
    MarkChanged(gi, g);
    if (!gi.dirty) {
      gi.dirty = 1;
      dirty_list_.push_back(g);
    }
    if (ttl_ > 0 && !gi.queued) {
      gi.queued = 1;
      expiry_.push_back({gi.last_change, g, gi.epoch});
      std::push_heap(expiry_.begin(), expiry_.end(), std::greater<>());
    }
  }

  // Adds (or retracts) the rows `rows` of `input` (all rows when null) to groups `ids`, for
  // every aggregate. FILTER clauses select among them.
  Status Apply(const Batch& input, const std::vector<int32_t>* rows,
               const std::vector<uint32_t>& ids, bool retract) {
    int64_t n = static_cast<int64_t>(ids.size());
    selected_.assign(input.columns.size(), nullptr);
    auto column = [&](int c) -> const ColumnPtr& {
      ColumnPtr& s = selected_[static_cast<size_t>(c)];
      if (!s)
        s = rows ? batch::FilterColumn(*input.columns[static_cast<size_t>(c)], *rows)
                 : input.columns[static_cast<size_t>(c)];
      return s;
    };
    std::vector<ColumnPtr> args;
    for (size_t a = 0; a < states_.size(); ++a) {
      const AggregateCall& call = aggregates_[a];
      args.clear();
      for (int c : call.arg_columns) args.push_back(column(c));
      const uint32_t* group_ids = ids.data();
      int64_t count = n;
      if (call.filter_column >= 0) {
        const Column& f = *column(call.filter_column);
        keep_.clear();
        filtered_ids_.clear();
        for (int64_t i = 0; i < n; ++i) {
          if (f.IsValid(i) && f.GetBool(i)) {
            keep_.push_back(static_cast<int32_t>(i));
            filtered_ids_.push_back(ids[static_cast<size_t>(i)]);
          }
        }
        if (keep_.empty()) continue;
        if (static_cast<int64_t>(keep_.size()) < n) {
          for (auto& arg : args) arg = batch::FilterColumn(*arg, keep_);
          group_ids = filtered_ids_.data();
          count = static_cast<int64_t>(filtered_ids_.size());
        }
      }
      expr::AggregateState& state = *states_[a];
      SLUICE_RETURN_NOT_OK(retract ? state.Retract(args, group_ids, count)
                                   : state.Update(args, group_ids, count));
    }
    return Status::Ok();
  }

  // Queues for deletion the groups whose last change is before wm - ttl.
  void CollectExpired(Watermark wm) {
    if (ttl_ <= 0 || wm == Watermark::Max()) return;  // the end of input expires nothing
    if (wm.time.value < kNever + ttl_) return;
    int64_t cutoff = wm.time.value - ttl_;
    while (!expiry_.empty() && expiry_.front().time < cutoff) {
      std::pop_heap(expiry_.begin(), expiry_.end(), std::greater<>());
      Expiry e = expiry_.back();
      expiry_.pop_back();
      GroupInfo& gi = info_[e.group];
      if (e.epoch != gi.epoch || !gi.queued) continue;  // forgotten since
      if (gi.last_change >= cutoff) {                   // changed since: wait again
        expiry_.push_back({gi.last_change, e.group, e.epoch});
        std::push_heap(expiry_.begin(), expiry_.end(), std::greater<>());
        continue;
      }
      gi.queued = 0;
      gi.expiring = 1;
      MarkChanged(gi, e.group);
      expiring_.push_back(e.group);
    }
  }

  // Emits the changed keys: an insert for a key seen for the first time, an update (old row,
  // new row) for one whose result changed, nothing for one whose result is unchanged, and a
  // delete for one whose rows were all retracted or whose state expired. Column-wise: the
  // changed groups' keys are decoded at once, their old values gathered from `emitted_`.
  Status Flush(runtime::Collector& out) {
    last_flush_ = Now().value;
    if (dirty_list_.empty() && expiring_.empty()) return Status::Ok();
    const bool global = key_types_.empty();
    finalize_.clear();
    for (uint32_t g : dirty_list_) {
      const GroupInfo& gi = info_[g];
      if (!gi.expiring && (gi.rows > 0 || global)) finalize_.push_back(g);
    }
    std::vector<ColumnPtr> finals;
    for (const auto& s : states_) {
      auto c = s->Finalize(finalize_.data(), static_cast<int64_t>(finalize_.size()));
      if (!c.ok()) return c.status();
      finals.push_back(c.MoveValue());
    }
    changed_.clear();
    positions_.clear();
    previous_.clear();
    deleted_.clear();
    forget_.clear();
    int32_t next = 0;  // index into finalize_ and finals
    for (uint32_t g : dirty_list_) {
      GroupInfo& gi = info_[g];
      gi.dirty = 0;
      MarkChanged(gi, g);
      if (gi.expiring) continue;
      if (gi.rows <= 0 && !global) {
        if (gi.emitted) deleted_.push_back(g);
        forget_.push_back(g);
        continue;
      }
      int32_t pos = next++;
      if (gi.emitted) {
        bool same = true;
        for (size_t a = 0; a < states_.size() && same; ++a) {
          same = emitted_[a].Equal(g, *finals[a], pos);
        }
        if (same) continue;  // changed and changed back
        previous_.push_back(g);
      }
      changed_.push_back(g);
      positions_.push_back(pos);
    }
    dirty_list_.clear();
    for (uint32_t g : expiring_) {
      if (info_[g].emitted) deleted_.push_back(g);
      forget_.push_back(g);
    }
    expiring_.clear();

    // Deletes first: a row moving between keys leaves its old key before it joins the new.
    if (!deleted_.empty()) {
      const auto rows = static_cast<int64_t>(deleted_.size());
      auto batch = std::make_shared<Batch>();
      batch->schema = output_schema_;
      batch->num_rows = rows;
      batch->columns = groups_.GatherKeys(deleted_.data(), rows);
      for (auto& e : emitted_) batch->columns.push_back(e.Gather(deleted_));
      batch->change_kind =
          Column::MakeConstant(Value::Int(types::DataType(types::TypeId::kInt8),
                                          static_cast<int64_t>(ChangeKind::kDelete)),
                               rows);
      batch->event_time = Column::MakeConstant(Value::Timestamp(max_event_time_), rows);
      if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += rows;
      SLUICE_RETURN_NOT_OK(out.Emit(batch));
    }
    if (!changed_.empty()) {
      // Rows: per changed group its old row (when it had one), then its new row.
      const auto n_old = static_cast<int32_t>(previous_.size());
      std::vector<int32_t> key_rows, value_rows;
      batch::ColumnBuilder kinds(types::DataType(types::TypeId::kInt8));
      int32_t old_index = 0;
      for (size_t j = 0; j < changed_.size(); ++j) {
        if (info_[changed_[j]].emitted) {
          key_rows.push_back(static_cast<int32_t>(j));
          value_rows.push_back(old_index++);
          kinds.AppendFixed<int8_t>(static_cast<int8_t>(ChangeKind::kUpdateBefore));
        }
        key_rows.push_back(static_cast<int32_t>(j));
        value_rows.push_back(n_old + static_cast<int32_t>(j));
        kinds.AppendFixed<int8_t>(static_cast<int8_t>(
            info_[changed_[j]].emitted ? ChangeKind::kUpdateAfter : ChangeKind::kInsert));
      }
      const auto rows = static_cast<int64_t>(key_rows.size());
      auto batch = std::make_shared<Batch>();
      batch->schema = output_schema_;
      batch->num_rows = rows;
      for (const auto& k :
           groups_.GatherKeys(changed_.data(), static_cast<int64_t>(changed_.size()))) {
        batch->columns.push_back(batch::Take(*k, key_rows.data(), rows));
      }
      for (size_t a = 0; a < states_.size(); ++a) {
        ColumnPtr fresh =
            batch::Take(*finals[a], positions_.data(), static_cast<int64_t>(positions_.size()));
        ColumnPtr both = n_old == 0 ? fresh : batch::Concat({emitted_[a].Gather(previous_), fresh});
        batch->columns.push_back(batch::Take(*both, value_rows.data(), rows));
        for (size_t j = 0; j < changed_.size(); ++j) {
          emitted_[a].Store(changed_[j], *finals[a], positions_[j]);
        }
      }
      for (uint32_t g : changed_) info_[g].emitted = 1;
      batch->change_kind = kinds.Finish();
      batch->event_time = Column::MakeConstant(Value::Timestamp(max_event_time_), rows);
      if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += rows;
      SLUICE_RETURN_NOT_OK(out.Emit(batch));
    }
    if (track_) {
      // Keys in a snapshot since the last full one are deleted by the next delta.
      persisted_.clear();
      for (uint32_t g : forget_) {
        if (info_[g].persisted) persisted_.push_back(g);
      }
      if (!persisted_.empty() && !key_types_.empty()) {
        const auto n = static_cast<int64_t>(persisted_.size());
        deleted_keys_.push_back(groups_.GatherKeys(persisted_.data(), n));
        deleted_key_rows_ += n;
      }
    }
    for (uint32_t g : forget_) Forget(g);
    return Status::Ok();
  }

  // Frees group g: its states, its emitted row, its key; the group index is reused.
  void Forget(uint32_t g) {
    for (auto& s : states_) s->Clear(g);
    for (auto& e : emitted_) e.Clear(g);
    GroupInfo& gi = info_[g];
    uint32_t epoch = gi.epoch + 1;
    gi = GroupInfo{};
    gi.epoch = epoch;
    groups_.Erase(g);
  }

  int subtask_;
  int parallelism_;
  std::vector<types::DataType> key_types_;
  std::vector<AggregateCall> aggregates_;
  types::SchemaPtr output_schema_;
  int64_t flush_interval_;
  int64_t ttl_;  // 0: keys never expire
  GroupTable groups_;
  std::vector<std::unique_ptr<expr::AggregateState>> states_;
  std::string cannot_retract_;  // the first aggregate that cannot retract, if any

  std::vector<GroupInfo> info_;         // per group
  std::vector<EmittedColumn> emitted_;  // per aggregate: the values last emitted per group
  std::vector<uint32_t> dirty_list_;    // groups changed since the last flush
  std::vector<uint32_t> expiring_;      // groups the TTL expired, deleted at the next flush
  std::vector<Expiry> expiry_;          // min-heap on time, at most one live entry a group
  int64_t last_flush_ = Now().value;
  int64_t max_event_time_ = 0;
  int64_t latest_watermark_ = 0;  // the largest watermark before the final one (not saved)

  // Incremental snapshots (only when the run takes checkpoints).
  bool track_ = false;
  std::vector<uint32_t> ckpt_dirty_list_;             // groups changed since the last snapshot
  std::vector<std::vector<ColumnPtr>> deleted_keys_;  // keys forgotten since, that were persisted
  int64_t deleted_key_rows_ = 0;
  int64_t base_ = 0;           // checkpoint of the last full snapshot (0: none in this run)
  int64_t last_snapshot_ = 0;  // checkpoint of the last snapshot
  int chain_ = 0;              // deltas written since the last full snapshot
  int64_t delta_rows_ = 0;     // groups and deleted keys written in those deltas

  // Scratch, kept to reuse their memory.
  std::vector<int32_t> add_rows_, retract_rows_, keep_;
  std::vector<uint32_t> add_ids_, retract_ids_, filtered_ids_, finalize_;
  std::vector<uint32_t> changed_, previous_, deleted_, forget_, persisted_;
  std::vector<int32_t> positions_;
  std::vector<ColumnPtr> selected_;
};

}  // namespace

UpdatingAggregateFactory::UpdatingAggregateFactory(std::vector<types::DataType> key_types,
                                                   std::vector<AggregateCall> aggregates,
                                                   types::SchemaPtr output_schema,
                                                   int64_t flush_interval_micros,
                                                   int64_t ttl_micros)
    : key_types_(std::move(key_types)),
      aggregates_(std::move(aggregates)),
      output_schema_(std::move(output_schema)),
      flush_interval_micros_(flush_interval_micros),
      ttl_micros_(ttl_micros) {}

std::string UpdatingAggregateFactory::Describe() const {
  return fmt::format("updating_aggregate keys {} aggregates [{}] flush every {}us{}",
                     key_types_.size(), DescribeAggregates(aggregates_), flush_interval_micros_,
                     ttl_micros_ > 0 && !key_types_.empty() ? fmt::format(" ttl {}us", ttl_micros_)
                                                            : std::string());
}

bool UpdatingAggregateFactory::checkpointable() const {
  for (const auto& a : aggregates_) {
    if (!a.aggregate.function->NewState()->serializable()) return false;
  }
  return true;
}

Result<std::unique_ptr<runtime::Operator>> UpdatingAggregateFactory::Create(int subtask,
                                                                            int parallelism) const {
  return std::unique_ptr<runtime::Operator>(std::make_unique<UpdatingAggregateOperator>(
      key_types_, aggregates_, output_schema_, flush_interval_micros_, ttl_micros_, subtask,
      parallelism));
}

}  // namespace sluice::exec
