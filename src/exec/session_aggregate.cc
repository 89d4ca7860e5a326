#include "exec/session_aggregate.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "batch/column_builder.h"
#include "exec/group_table.h"

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
                           types::SchemaPtr output_schema)
      : gap_(window.gap),
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

 private:
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

Result<std::unique_ptr<runtime::Operator>> SessionAggregateFactory::Create(int, int) const {
  return std::unique_ptr<runtime::Operator>(
      std::make_unique<SessionAggregateOperator>(window_, key_types_, aggregates_, output_schema_));
}

}  // namespace sluice::exec
