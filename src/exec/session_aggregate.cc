#include "exec/session_aggregate.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "batch/column_builder.h"
#include "batch/serialize.h"
#include "exec/aggregate_state_io.h"
#include "exec/group_table.h"
#include "exec/hash_partitioner.h"

namespace sluice::exec {

using batch::Batch;
using batch::BatchPtr;
using batch::Column;
using batch::ColumnPtr;

namespace {

class SessionAggregateOperator : public runtime::Operator {
 public:
  SessionAggregateOperator(const WindowSpec& window, const std::vector<types::DataType>& key_types,
                           const std::vector<AggregateCall>& aggregates,
                           types::SchemaPtr output_schema, int subtask, int parallelism)
      : subtask_(subtask),
        parallelism_(parallelism),
        gap_(window.gap),
        key_types_(key_types),
        aggregates_(aggregates),
        output_schema_(std::move(output_schema)),
        keys_(key_types) {
    for (const auto& a : aggregates_) states_.push_back(a.aggregate.function->NewState());
  }

  Status ProcessBatch(int, const BatchPtr& input, runtime::Collector&) override {
    int64_t n = input->num_rows;
    const int64_t* et = input->event_time->raw<int64_t>();
    std::vector<int32_t> rows;
    rows.reserve(static_cast<size_t>(n));
    int64_t late = 0;
    for (int64_t i = 0; i < n; ++i) {
      if (et[i] < watermark_.time.value) {
        ++late;
      } else {
        rows.push_back(static_cast<int32_t>(i));
      }
    }
    if (late > 0 && ctx_ && ctx_->metrics) ctx_->metrics->late_rows_dropped += late;
    if (rows.empty()) return Status::Ok();
    std::vector<batch::ColumnPtr> key_cols(
        input->columns.begin(),
        input->columns.begin() + static_cast<std::ptrdiff_t>(key_types_.size()));
    const std::vector<int32_t>* subset = static_cast<int64_t>(rows.size()) == n ? nullptr : &rows;
    keys_.FindOrInsert(key_cols, subset, static_cast<int64_t>(rows.size()), &key_ids_);
    if (sessions_by_key_.size() < static_cast<size_t>(keys_.size())) {
      sessions_by_key_.resize(static_cast<size_t>(keys_.size()));
    }
    // Assign every row to a session slot; sessions a row bridges are merged (union-find over
    // the slots touched in this batch, applied to the states before the update).
    slot_of_row_.resize(rows.size());
    merges_.clear();
    for (size_t r = 0; r < rows.size(); ++r) {
      int64_t t = et[rows[r]];
      auto& list = sessions_by_key_[key_ids_[r]];
      uint32_t target = UINT32_MAX;
      for (size_t s = 0; s < list.size();) {
        Session& sess = sessions_[list[s]];
        // Inclusive at both ends: sessions that touch merge, as in Flink.
        if (t >= sess.start - gap_ && t <= sess.last + gap_) {
          if (target == UINT32_MAX) {
            target = list[s];
            ++s;
          } else {
            // Bridges `target` and this session: fold this one into target.
            Session& dst = sessions_[target];
            Reindex(target, std::min(dst.start, sess.start), std::max(dst.last, sess.last));
            merges_.push_back({list[s], target});
            sess.alive = false;
            ++sess.generation;  // its by_end_ entry is now stale
            list.erase(list.begin() + static_cast<std::ptrdiff_t>(s));
          }
        } else {
          ++s;
        }
      }
      if (target == UINT32_MAX) {
        target = NewSession(key_ids_[r], t);
        list.push_back(target);
      } else {
        Session& dst = sessions_[target];
        Reindex(target, std::min(dst.start, t), std::max(dst.last, t));
      }
      slot_of_row_[r] = target;
    }
    // Apply merges in order, then map each row through the chain of merges.
    for (auto& s : states_) s->Resize(static_cast<int64_t>(sessions_.size()));
    for (const auto& [src, dst] : merges_) {
      for (auto& s : states_) {
        s->Merge(*s, src, dst);
        s->Clear(src);
      }
      forward_[src] = dst;
    }
    for (auto& slot : slot_of_row_) {
      while (forward_.count(slot)) slot = forward_[slot];
    }
    for (const auto& [src, dst] : merges_) free_.push_back(src);
    forward_.clear();
    // Update every aggregate with the rows' session slots.
    std::vector<ColumnPtr> args;
    for (size_t a = 0; a < states_.size(); ++a) {
      const AggregateCall& call = aggregates_[a];
      args.clear();
      for (int c : call.arg_columns) {
        const ColumnPtr& col = input->columns[static_cast<size_t>(c)];
        args.push_back(subset ? batch::FilterColumn(*col, rows) : col);
      }
      if (call.filter_column < 0) {
        SLUICE_RETURN_NOT_OK(states_[a]->Update(args, slot_of_row_.data(),
                                                static_cast<int64_t>(slot_of_row_.size())));
        continue;
      }
      const Column& f = *input->columns[static_cast<size_t>(call.filter_column)];
      std::vector<int32_t> keep;
      std::vector<uint32_t> slots;
      for (size_t r = 0; r < rows.size(); ++r) {
        if (f.IsValid(rows[r]) && f.GetBool(rows[r])) {
          keep.push_back(static_cast<int32_t>(r));
          slots.push_back(slot_of_row_[r]);
        }
      }
      if (keep.empty()) continue;
      for (auto& arg : args) arg = batch::FilterColumn(*arg, keep);
      SLUICE_RETURN_NOT_OK(
          states_[a]->Update(args, slots.data(), static_cast<int64_t>(slots.size())));
    }
    return Status::Ok();
  }

  Status ProcessWatermark(Watermark wm, runtime::Collector& out) override {
    if (wm <= watermark_) return Status::Ok();
    watermark_ = wm;
    std::vector<uint32_t> closing;
    while (!by_end_.empty() && by_end_.begin()->end <= wm.time.value) {
      Entry e = *by_end_.begin();
      by_end_.erase(by_end_.begin());
      Session& s = sessions_[e.slot];
      if (!s.alive || s.generation != e.generation) continue;  // merged away or reused
      if (s.last + gap_ > wm.time.value) {
        by_end_.insert({s.last + gap_, e.slot, s.generation});  // extended since: requeue
        continue;
      }
      closing.push_back(e.slot);
    }
    if (!closing.empty()) SLUICE_RETURN_NOT_OK(EmitSessions(closing, out));
    return out.EmitWatermark(wm);
  }

  // The open sessions as one batch: the keys (first), start, last event time, then each
  // aggregate's state (BYTEA); a key's sessions in their order. And the watermark. On restore
  // each subtask keeps the sessions whose key hashes to it; the watermark (which drops late
  // rows) is restored at the same parallelism.
  Status Snapshot(int64_t, runtime::StateWriter& state) override {
    std::vector<uint32_t> slots;
    for (const auto& list : sessions_by_key_) {
      for (uint32_t slot : list) {
        if (sessions_[slot].alive) slots.push_back(slot);
      }
    }
    if (!slots.empty()) {
      const auto n = static_cast<int64_t>(slots.size());
      std::vector<batch::ColumnBuilder> key_builders;
      for (const auto& t : key_types_) key_builders.emplace_back(t);
      batch::ColumnBuilder starts(types::Int64()), lasts(types::Int64()), times(types::Timestamp());
      for (uint32_t slot : slots) {
        const Session& s = sessions_[slot];
        keys_.AppendKey(s.key, &key_builders);
        starts.AppendFixed<int64_t>(s.start);
        lasts.AppendFixed<int64_t>(s.last);
        times.AppendFixed<int64_t>(s.last);
      }
      auto b = std::make_shared<Batch>();
      b->num_rows = n;
      std::vector<types::Field> fields;
      for (size_t k = 0; k < key_builders.size(); ++k) {
        fields.push_back({fmt::format("$key{}", k), key_types_[k], true});
        b->columns.push_back(key_builders[k].Finish());
      }
      fields.push_back({"$start", types::Int64(), false});
      b->columns.push_back(starts.Finish());
      fields.push_back({"$last", types::Int64(), false});
      b->columns.push_back(lasts.Finish());
      for (size_t a = 0; a < states_.size(); ++a) {
        SLUICE_ASSIGN_OR_RETURN(
            ColumnPtr c,
            SerializeAggregateStates(*states_[a], slots.data(), n, aggregates_[a].aggregate.name));
        fields.push_back(
            {fmt::format("$state{}", a), types::DataType(types::TypeId::kBinary), false});
        b->columns.push_back(std::move(c));
      }
      b->schema = std::make_shared<types::Schema>(std::move(fields));
      b->event_time = times.Finish();
      state.PutBatch("sessions", *b);
    }
    std::string bytes;
    batch::ByteWriter w(&bytes);
    w.Put<uint8_t>(kStateVersion);
    w.Put<int64_t>(watermark_.time.value);
    state.Put("watermark", bytes);
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    SLUICE_ASSIGN_OR_RETURN(std::vector<BatchPtr> batches, state.GetBatches("sessions"));
    const size_t k = key_types_.size(), na = states_.size();
    std::vector<int> key_columns;
    for (size_t i = 0; i < k; ++i) key_columns.push_back(static_cast<int>(i));
    for (const auto& all : batches) {
      if (all->columns.size() != k + 2 + na) {
        return Status::Io("session aggregate state: {} columns, expected {}", all->columns.size(),
                          k + 2 + na);
      }
      BatchPtr b = RowsOfSubtask(all, key_columns, subtask_, parallelism_);
      if (!b) continue;
      std::vector<ColumnPtr> keys(b->columns.begin(),
                                  b->columns.begin() + static_cast<std::ptrdiff_t>(k));
      keys_.FindOrInsert(keys, nullptr, b->num_rows, &key_ids_);
      if (sessions_by_key_.size() < static_cast<size_t>(keys_.size())) {
        sessions_by_key_.resize(static_cast<size_t>(keys_.size()));
      }
      const int64_t* starts = b->columns[k]->raw<int64_t>();
      const int64_t* lasts = b->columns[k + 1]->raw<int64_t>();
      std::vector<uint32_t> slots(static_cast<size_t>(b->num_rows));
      for (int64_t i = 0; i < b->num_rows; ++i) {
        const uint32_t key = key_ids_[static_cast<size_t>(i)];
        const uint32_t slot = NewSession(key, starts[i]);
        Reindex(slot, starts[i], lasts[i]);
        sessions_by_key_[key].push_back(slot);
        slots[static_cast<size_t>(i)] = slot;
      }
      for (size_t a = 0; a < na; ++a) {
        states_[a]->Resize(static_cast<int64_t>(sessions_.size()));
        SLUICE_RETURN_NOT_OK(DeserializeAggregateStates(*states_[a], *b->columns[k + 2 + a],
                                                        nullptr, slots.data(), b->num_rows));
      }
    }
    if (state.previous_parallelism() != parallelism_) return Status::Ok();
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, state.Get("watermark"));
    if (!bytes) return Status::Ok();
    batch::ByteReader r(*bytes, "session aggregate state");
    uint8_t version = 0;
    SLUICE_RETURN_NOT_OK(r.Get(&version));
    if (version != kStateVersion) return r.Corrupt("unknown version");
    SLUICE_RETURN_NOT_OK(r.Get(&watermark_.time.value));
    return Status::Ok();
  }

 private:
  static constexpr uint8_t kStateVersion = 1;

  struct Session {
    uint32_t key = 0;
    int64_t start = 0;
    int64_t last = 0;
    bool alive = false;
    uint32_t generation = 0;  // bumped when the slot is merged away or reused
  };
  struct Entry {
    int64_t end;
    uint32_t slot;
    uint32_t generation;
    bool operator<(const Entry& o) const {
      return end != o.end ? end < o.end
                          : (slot != o.slot ? slot < o.slot : generation < o.generation);
    }
  };

  uint32_t NewSession(uint32_t key, int64_t t) {
    uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<uint32_t>(sessions_.size());
      sessions_.emplace_back();
    }
    uint32_t generation = sessions_[slot].generation + 1;
    sessions_[slot] = Session{key, t, t, true, generation};
    by_end_.insert({t + gap_, slot, generation});
    return slot;
  }

  // Extending a session leaves its entry in by_end_ as it is (a lower bound of its end); the
  // entry is corrected when the watermark reaches it. This keeps the ordered set out of the
  // per-row path.
  void Reindex(uint32_t slot, int64_t start, int64_t last) {
    Session& s = sessions_[slot];
    s.start = start;
    s.last = last;
  }

  Status EmitSessions(const std::vector<uint32_t>& slots, runtime::Collector& out) {
    int64_t n = static_cast<int64_t>(slots.size());
    batch::ColumnBuilder starts(types::Timestamp()), ends(types::Timestamp()),
        times(types::Timestamp());
    std::vector<batch::ColumnBuilder> key_builders;
    for (const auto& t : key_types_) key_builders.emplace_back(t);
    for (uint32_t slot : slots) {
      const Session& s = sessions_[slot];
      starts.AppendFixed<int64_t>(s.start);
      ends.AppendFixed<int64_t>(s.last + gap_);
      times.AppendFixed<int64_t>(s.last + gap_ - 1);
      keys_.AppendKey(s.key, &key_builders);
    }
    auto batch = std::make_shared<Batch>();
    batch->schema = output_schema_;
    batch->num_rows = n;
    auto window = std::make_shared<Column>();
    window->type = WindowStructType();
    window->length = n;
    window->children = {starts.Finish(), ends.Finish()};
    batch->columns.push_back(window);
    for (auto& b : key_builders) batch->columns.push_back(b.Finish());
    for (auto& s : states_) {
      auto c = s->Finalize(slots.data(), n);
      if (!c.ok()) return c.status();
      batch->columns.push_back(c.MoveValue());
    }
    batch->event_time = times.Finish();
    // Free the slots and their state.
    for (uint32_t slot : slots) {
      Session& s = sessions_[slot];
      auto& list = sessions_by_key_[s.key];
      list.erase(std::remove(list.begin(), list.end(), slot), list.end());
      s.alive = false;
      ++s.generation;
      for (auto& st : states_) st->Clear(slot);
      free_.push_back(slot);
    }
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += n;
    return out.Emit(batch);
  }

  int subtask_;
  int parallelism_;
  int64_t gap_;
  std::vector<types::DataType> key_types_;
  std::vector<AggregateCall> aggregates_;
  types::SchemaPtr output_schema_;
  GroupTable keys_;
  std::vector<std::vector<uint32_t>> sessions_by_key_;  // open session slots per key
  std::vector<Session> sessions_;                       // by slot
  std::vector<uint32_t> free_;
  std::set<Entry> by_end_;  // open sessions by (a lower bound of) their end
  std::vector<std::unique_ptr<expr::AggregateState>> states_;
  Watermark watermark_ = Watermark::Min();
  std::vector<uint32_t> key_ids_, slot_of_row_;
  std::vector<std::pair<uint32_t, uint32_t>> merges_;
  std::unordered_map<uint32_t, uint32_t> forward_;
};

}  // namespace

SessionAggregateFactory::SessionAggregateFactory(WindowSpec window,
                                                 std::vector<types::DataType> key_types,
                                                 std::vector<AggregateCall> aggregates,
                                                 types::SchemaPtr output_schema)
    : window_(window),
      key_types_(std::move(key_types)),
      aggregates_(std::move(aggregates)),
      output_schema_(std::move(output_schema)) {}

std::string SessionAggregateFactory::Describe() const {
  return fmt::format("session_aggregate {} keys {} aggregates [{}]", window_.ToString(),
                     key_types_.size(), DescribeAggregates(aggregates_));
}

bool SessionAggregateFactory::checkpointable() const {
  for (const auto& a : aggregates_) {
    if (!a.aggregate.function->NewState()->serializable()) return false;
  }
  return true;
}

Result<std::unique_ptr<runtime::Operator>> SessionAggregateFactory::Create(int subtask,
                                                                           int parallelism) const {
  return std::unique_ptr<runtime::Operator>(std::make_unique<SessionAggregateOperator>(
      window_, key_types_, aggregates_, output_schema_, subtask, parallelism));
}

}  // namespace sluice::exec
