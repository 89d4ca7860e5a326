#include "exec/window_top_n.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>

#include <fmt/format.h>

#include "exec/group_table.h"
#include "exec/hash_partitioner.h"

namespace sluice::exec {

using batch::Batch;
using batch::BatchPtr;
using batch::Column;
using batch::ColumnPtr;
using types::TypeId;

const char* RankFunctionName(RankFunction f) {
  switch (f) {
    case RankFunction::kRowNumber:
      return "row_number";
    case RankFunction::kRank:
      return "rank";
    case RankFunction::kDenseRank:
      return "dense_rank";
  }
  return "?";
}

std::string TopNSpec::Describe() const {
  std::string part, ord;
  for (int p : partition) part += fmt::format("{}${}", part.empty() ? "" : ", ", p);
  for (const auto& k : order) {
    ord += fmt::format("{}${}{}{}", ord.empty() ? "" : ", ", k.column, k.descending ? " DESC" : "",
                       k.nulls_first ? " NULLS FIRST" : " NULLS LAST");
  }
  return fmt::format("{}() partition [{}] order [{}]{}", RankFunctionName(function), part, ord,
                     limit > 0 ? fmt::format(" keep ranks <= {}", limit) : "");
}

namespace {

class WindowTopNOperator : public runtime::Operator {
 public:
  WindowTopNOperator(const TopNSpec& spec, int subtask, int parallelism)
      : spec_(spec), subtask_(subtask), parallelism_(parallelism) {
    const auto& fields = spec.output_schema->fields();
    std::vector<types::Field> in(fields.begin(), fields.end() - 1);
    input_schema_ = std::make_shared<types::Schema>(std::move(in));
    for (int p : spec.partition) {
      key_types_.push_back(input_schema_->field(static_cast<size_t>(p)).type);
    }
  }

  Status ProcessBatch(int, const BatchPtr& b, runtime::Collector& out) override {
    if (b->num_rows == 0) return Status::Ok();
    const Column& ends = *b->columns[static_cast<size_t>(spec_.window_end)];
    const int64_t* v = ends.raw<int64_t>();
    bool one = !ends.has_nulls();
    for (int64_t i = 1; one && i < b->num_rows; ++i) one = v[i] == v[0];
    if (one) return Add(v[0], b);
    return AddByEnd(b);
  }

  // Every open window's buffered rows, in arrival order, as one batch (the window end is one
  // of its columns). On restore each subtask keeps the rows whose partition key hashes to it.
  Status Snapshot(int64_t, runtime::StateWriter& state) override {
    std::vector<BatchPtr> all;
    for (const auto& [end, w] : windows_) {
      for (const auto& b : w.batches) {
        if (b->num_rows > 0) all.push_back(b);
      }
    }
    if (!all.empty()) state.PutBatch("rows", *batch::ConcatBatches(all));
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    SLUICE_ASSIGN_OR_RETURN(std::vector<BatchPtr> batches, state.GetBatches("rows"));
    for (const auto& b : batches) {
      BatchPtr mine = RowsOfSubtask(b, spec_.partition, subtask_, parallelism_);
      if (mine) SLUICE_RETURN_NOT_OK(AddByEnd(mine));
    }
    return Status::Ok();
  }

 private:
  Status AddByEnd(const BatchPtr& b) {
    const Column& ends = *b->columns[static_cast<size_t>(spec_.window_end)];
    const int64_t* v = ends.raw<int64_t>();
    std::map<int64_t, std::vector<int32_t>> by_end;
    for (int64_t i = 0; i < b->num_rows; ++i) {
      if (!ends.IsNull(i)) by_end[v[i]].push_back(static_cast<int32_t>(i));
    }
    for (auto& [end, rows] : by_end) SLUICE_RETURN_NOT_OK(Add(end, b->Select(rows)));
    return Status::Ok();
  }

 public:
  Status ProcessWatermark(Watermark wm, runtime::Collector& out) override {
    while (!windows_.empty() && windows_.begin()->first <= wm.time.value) {
      SLUICE_RETURN_NOT_OK(Emit(windows_.begin()->second, out));
      windows_.erase(windows_.begin());
    }
    return out.EmitWatermark(wm);
  }

  Status OnEndOfInput(runtime::Collector& out) override {
    for (auto& [end, w] : windows_) SLUICE_RETURN_NOT_OK(Emit(w, out));
    windows_.clear();
    return Status::Ok();
  }

 private:
  struct Window {
    std::vector<BatchPtr> batches;
    int64_t rows = 0;
    int64_t pruned_rows = 0;  // rows kept by the last pruning
  };

  Status Add(int64_t end, const BatchPtr& b) {
    Window& w = windows_[end];
    w.batches.push_back(b);
    w.rows += b->num_rows;
    // Prune to the best `limit` per partition once the buffer has doubled since last time.
    if (spec_.limit > 0 && w.rows >= 2 * w.pruned_rows + 8192) {
      BatchPtr all = batch::ConcatBatches(w.batches);
      std::vector<int32_t> keep;
      std::vector<int64_t> ranks;
      Rank(*all, &keep, &ranks);
      std::sort(keep.begin(), keep.end());  // keep arrival order among the survivors
      w.batches = {all->Select(keep)};
      w.rows = w.pruned_rows = static_cast<int64_t>(keep.size());
    }
    return Status::Ok();
  }

  // The rows of `b` to emit (in rank order per partition) and their ranks.
  void Rank(const Batch& b, std::vector<int32_t>* keep, std::vector<int64_t>* ranks) {
    const int64_t n = b.num_rows;
    GroupTable groups(key_types_);
    std::vector<ColumnPtr> keys;
    for (int p : spec_.partition) keys.push_back(b.columns[static_cast<size_t>(p)]);
    groups.FindOrInsert(keys, nullptr, n, &group_ids_);
    order_.resize(static_cast<size_t>(n));
    std::iota(order_.begin(), order_.end(), 0);
    // Order within a partition; ties keep arrival order.
    auto cmp_order = [&](int32_t a, int32_t c) {
      for (const auto& k : spec_.order) {
        const Column& col = *b.columns[static_cast<size_t>(k.column)];
        bool an = col.IsNull(a), cn = col.IsNull(c);
        if (an || cn) {
          if (an == cn) continue;
          return (an ? -1 : 1) * (k.nulls_first ? 1 : -1);
        }
        int r = CompareNonNullRows(col, a, c);
        if (r != 0) return k.descending ? -r : r;
      }
      return 0;
    };
    std::stable_sort(order_.begin(), order_.end(), [&](int32_t a, int32_t c) {
      uint32_t ga = group_ids_[static_cast<size_t>(a)], gc = group_ids_[static_cast<size_t>(c)];
      if (ga != gc) return ga < gc;
      return cmp_order(a, c) < 0;
    });
    keep->clear();
    ranks->clear();
    int64_t position = 0, rank = 0, dense = 0;
    for (size_t k = 0; k < order_.size(); ++k) {
      int32_t row = order_[k];
      bool new_group = k == 0 || group_ids_[static_cast<size_t>(row)] !=
                                     group_ids_[static_cast<size_t>(order_[k - 1])];
      if (new_group) {
        position = rank = dense = 0;
      }
      ++position;
      bool peer = !new_group && cmp_order(order_[k - 1], row) == 0;
      if (!peer) {
        rank = position;
        ++dense;
      }
      int64_t r = spec_.function == RankFunction::kRowNumber ? position
                  : spec_.function == RankFunction::kRank    ? rank
                                                             : dense;
      if (spec_.limit > 0 && r > spec_.limit) continue;
      keep->push_back(row);
      ranks->push_back(r);
    }
  }

  Status Emit(const Window& w, runtime::Collector& out) {
    if (w.batches.empty()) return Status::Ok();
    BatchPtr all = batch::ConcatBatches(w.batches);
    std::vector<int32_t> keep;
    std::vector<int64_t> ranks;
    Rank(*all, &keep, &ranks);
    if (keep.empty()) return Status::Ok();
    auto result = std::make_shared<Batch>();
    result->schema = spec_.output_schema;
    result->num_rows = static_cast<int64_t>(keep.size());
    for (const auto& c : all->columns) {
      result->columns.push_back(batch::Take(*c, keep.data(), result->num_rows));
    }
    auto rank_col = Column::MakeFixed(types::DataType(TypeId::kInt64), result->num_rows);
    std::memcpy(rank_col->mutable_raw<int64_t>(), ranks.data(), ranks.size() * sizeof(int64_t));
    result->columns.push_back(rank_col);
    result->event_time = batch::Take(*all->event_time, keep.data(), result->num_rows);
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += result->num_rows;
    return out.Emit(result);
  }

  TopNSpec spec_;
  int subtask_;
  int parallelism_;
  types::SchemaPtr input_schema_;
  std::vector<types::DataType> key_types_;
  std::map<int64_t, Window> windows_;
  std::vector<uint32_t> group_ids_;
  std::vector<int32_t> order_;
};

}  // namespace

Result<std::unique_ptr<runtime::Operator>> WindowTopNFactory::Create(int subtask,
                                                                     int parallelism) const {
  return std::unique_ptr<runtime::Operator>(
      std::make_unique<WindowTopNOperator>(spec_, subtask, parallelism));
}

}  // namespace sluice::exec
