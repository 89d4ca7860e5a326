#include "exec/over_window.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <limits>
#include <numeric>
#include <unordered_map>

#include <fmt/format.h>

#include "batch/column_builder.h"
#include "exec/group_table.h"
#include "exec/hash_partitioner.h"

namespace sluice::exec {

using batch::Batch;
using batch::BatchPtr;
using batch::Column;
using batch::ColumnPtr;
using types::DataType;
using types::int128_t;
using types::TypeId;

const char* OverFunctionName(OverFunction f) {
  switch (f) {
    case OverFunction::kLag:
      return "lag";
    case OverFunction::kLead:
      return "lead";
    case OverFunction::kFirstValue:
      return "first_value";
    case OverFunction::kLastValue:
      return "last_value";
    case OverFunction::kCountStar:
    case OverFunction::kCount:
      return "count";
    case OverFunction::kSum:
      return "sum";
    case OverFunction::kAvg:
      return "avg";
    case OverFunction::kMin:
      return "min";
    case OverFunction::kMax:
      return "max";
  }
  return "?";
}

std::string OverFrame::ToString() const {
  auto bound = [&](int64_t v) {
    if (v == 0) return std::string("CURRENT ROW");
    std::string n = rows ? std::to_string(v < 0 ? -v : v) : fmt::format("{}us", v < 0 ? -v : v);
    return n + (v < 0 ? " PRECEDING" : " FOLLOWING");
  };
  return fmt::format("{} BETWEEN {} AND {}", rows ? "ROWS" : "RANGE",
                     unbounded_start ? "UNBOUNDED PRECEDING" : bound(start), bound(end));
}

std::string OverSpec::Describe() const {
  std::string part, out;
  for (int p : partition) part += fmt::format("{}${}", part.empty() ? "" : ", ", p);
  for (const auto& c : calls) {
    if (!out.empty()) out += ", ";
    if (c.function == OverFunction::kCountStar) {
      out += "count(*)";
    } else if (c.function == OverFunction::kLag || c.function == OverFunction::kLead) {
      out += fmt::format("{}(${}, {}, ${})", OverFunctionName(c.function), c.argument, c.offset,
                         c.default_value);
    } else {
      out += fmt::format("{}(${})", OverFunctionName(c.function), c.argument);
    }
    if (c.function != OverFunction::kLag && c.function != OverFunction::kLead) {
      out += " " + c.frame.ToString();
    }
    out += " " + c.type.ToString();
  }
  return fmt::format("partition [{}] order by event time [{}]", part, out);
}

Result<DataType> OverResultType(OverFunction f, const DataType& arg) {
  switch (f) {
    case OverFunction::kCountStar:
    case OverFunction::kCount:
      return DataType(TypeId::kInt64);
    case OverFunction::kSum:
      if (arg.is_signed_integer()) return DataType(TypeId::kInt64);
      if (arg.is_unsigned_integer()) return DataType(TypeId::kUInt64);
      if (arg.is_floating()) return DataType(TypeId::kFloat64);
      if (arg.id() == TypeId::kDecimal) return DataType::Decimal(38, arg.scale());
      break;
    case OverFunction::kAvg:
      if (arg.is_numeric()) return DataType(TypeId::kFloat64);
      break;
    case OverFunction::kMin:
    case OverFunction::kMax:
      if (arg.is_nested() || arg.id() == TypeId::kJson || arg.id() == TypeId::kInterval) break;
      return arg;
    default:
      return arg;
  }
  return Status::User(
      "{}() OVER (...) accepts numbers{}, not {}", OverFunctionName(f),
      f == OverFunction::kMin || f == OverFunction::kMax ? ", text, booleans and times" : "",
      arg.ToString());
}

namespace {

// Numbers of a column widened for summing: integers and decimals (scaled) as int128, floats as
// double; NULL rows hold 0.
struct Numbers {
  bool floating = false;
  std::vector<int128_t> ints;
  std::vector<double> doubles;
};

template <typename T>
void WidenInto(const Column& c, Numbers* out) {
  const T* v = c.raw<T>();
  if constexpr (std::is_floating_point_v<T>) {
    out->doubles.resize(static_cast<size_t>(c.length));
    for (int64_t i = 0; i < c.length; ++i) {
      out->doubles[static_cast<size_t>(i)] = c.IsNull(i) ? 0.0 : static_cast<double>(v[i]);
    }
  } else {
    out->ints.resize(static_cast<size_t>(c.length));
    for (int64_t i = 0; i < c.length; ++i) {
      out->ints[static_cast<size_t>(i)] = c.IsNull(i) ? 0 : static_cast<int128_t>(v[i]);
    }
  }
}

void Widen(const Column& c, Numbers* out) {
  out->floating = c.type.is_floating();
  switch (c.type.id()) {
    case TypeId::kInt8:
      return WidenInto<int8_t>(c, out);
    case TypeId::kInt16:
      return WidenInto<int16_t>(c, out);
    case TypeId::kInt32:
      return WidenInto<int32_t>(c, out);
    case TypeId::kInt64:
      return WidenInto<int64_t>(c, out);
    case TypeId::kUInt8:
      return WidenInto<uint8_t>(c, out);
    case TypeId::kUInt16:
      return WidenInto<uint16_t>(c, out);
    case TypeId::kUInt32:
      return WidenInto<uint32_t>(c, out);
    case TypeId::kUInt64:
      return WidenInto<uint64_t>(c, out);
    case TypeId::kFloat32:
      return WidenInto<float>(c, out);
    case TypeId::kFloat64:
      return WidenInto<double>(c, out);
    case TypeId::kDecimal:
      return WidenInto<int128_t>(c, out);
    default:
      return;
  }
}

double Pow10(int scale) {
  double p = 1;
  for (int i = 0; i < scale; ++i) p *= 10;
  return p;
}

BatchPtr TakeRows(const Batch& b, const std::vector<int32_t>& rows, types::SchemaPtr schema) {
  auto out = std::make_shared<Batch>();
  out->schema = schema ? std::move(schema) : b.schema;
  out->num_rows = static_cast<int64_t>(rows.size());
  for (const auto& c : b.columns)
    out->columns.push_back(batch::Take(*c, rows.data(), out->num_rows));
  out->event_time = batch::Take(*b.event_time, rows.data(), out->num_rows);
  return out;
}

std::vector<int32_t> Range(int64_t from, int64_t to) {
  std::vector<int32_t> r(static_cast<size_t>(std::max<int64_t>(to - from, 0)));
  std::iota(r.begin(), r.end(), static_cast<int32_t>(from));
  return r;
}

// What the rows dropped from a partition's history leave behind for a call whose frame starts
// at UNBOUNDED PRECEDING.
struct Accumulator {
  int64_t rows = 0;   // rows folded in
  int64_t count = 0;  // of them not NULL
  int128_t isum = 0;
  double dsum = 0;
  ColumnPtr value;  // one row: the extreme (min/max) or the first value (first_value)
};

// A partition's kept rows: rows [offset, offset + length) of `batch`, which holds the kept rows
// of every partition processed at one watermark (so that a watermark allocates per column, not
// per partition); the last `pending` of them are not emitted yet.
struct Partition {
  BatchPtr batch;
  int64_t offset = 0;
  int64_t length = 0;
  int64_t pending = 0;
  std::vector<Accumulator> base;
};

// Partitions processed together: rows [s0, s1) of the sorted batch, of which [u0, u1) are
// emitted now.
struct Segment {
  uint32_t partition = 0;
  int64_t s0 = 0, s1 = 0, u0 = 0, u1 = 0;
};

class OverWindowOperator : public runtime::Operator {
 public:
  OverWindowOperator(const OverSpec& spec, int subtask, int parallelism)
      : spec_(spec), subtask_(subtask), parallelism_(parallelism) {
    const auto& fields = spec.output_schema->fields();
    std::vector<types::Field> in(fields.begin(),
                                 fields.end() - static_cast<std::ptrdiff_t>(spec.calls.size()));
    input_schema_ = std::make_shared<types::Schema>(std::move(in));
    for (int p : spec.partition) {
      key_types_.push_back(input_schema_->field(static_cast<size_t>(p)).type);
    }
    if (!key_types_.empty()) groups_ = std::make_unique<GroupTable>(key_types_);
    for (const auto& c : spec.calls) {
      if (c.function == OverFunction::kLead) lookahead_ = std::max(lookahead_, c.offset);
      if (IsFramed(c) && c.frame.rows) lookahead_ = std::max(lookahead_, c.frame.end);
    }
  }

  Status ProcessBatch(int, const BatchPtr& b, runtime::Collector&) override {
    if (b->num_rows > 0) Buffer(b);
    return Status::Ok();
  }

  Status ProcessWatermark(Watermark wm, runtime::Collector& out) override {
    watermark_ = wm.time.value;
    // Only the buffered batches with a row the watermark passed are split; what stays keeps
    // its place, so rows with equal times stay in arrival order.
    std::vector<BatchPtr> due;
    std::vector<int32_t> ready, later;
    for (size_t i = 0; i < buffer_.size(); ++i) {
      if (buffer_min_[i] >= watermark_) continue;
      const BatchPtr b = buffer_[i];
      const int64_t* t = b->event_time->raw<int64_t>();
      ready.clear();
      later.clear();
      for (int64_t r = 0; r < b->num_rows; ++r) {
        (t[r] < watermark_ ? ready : later).push_back(static_cast<int32_t>(r));
      }
      due.push_back(later.empty() ? b : TakeRows(*b, ready, nullptr));
      buffer_[i] = later.empty() ? nullptr : TakeRows(*b, later, nullptr);
      int64_t first = std::numeric_limits<int64_t>::max();
      for (int32_t r : later) first = std::min(first, t[r]);
      buffer_min_[i] = first;
    }
    if (!due.empty()) {
      size_t kept = 0;
      for (size_t i = 0; i < buffer_.size(); ++i) {
        if (!buffer_[i]) continue;
        buffer_[kept] = buffer_[i];
        buffer_min_[kept++] = buffer_min_[i];
      }
      buffer_.resize(kept);
      buffer_min_.resize(kept);
      SLUICE_RETURN_NOT_OK(
          Process(due.size() == 1 ? due[0] : batch::ConcatBatches(due), false, out));
    }
    // Rows waiting for following rows hold the watermark back.
    // (A dense minimum, vectorized: cheaper than a heap updated for every partition processed.)
    int64_t held = watermark_;
    for (int64_t w : waiting_since_) held = std::min(held, w);
    if (held > emitted_watermark_) {
      emitted_watermark_ = held;
      Watermark w = wm;
      w.time.value = held;
      return out.EmitWatermark(w);
    }
    return Status::Ok();
  }

  Status OnEndOfInput(runtime::Collector& out) override {
    BatchPtr all;
    if (!buffer_.empty()) all = batch::ConcatBatches(buffer_);
    buffer_.clear();
    buffer_min_.clear();
    watermark_ = std::numeric_limits<int64_t>::max();
    SLUICE_RETURN_NOT_OK(Process(all, true, out));
    // The rows that waited for their following rows are out: release the final watermark
    // held back for them, before the next operator's own flush.
    if (emitted_watermark_ < Watermark::Max().time.value) {
      emitted_watermark_ = Watermark::Max().time.value;
      return out.EmitWatermark(Watermark::Max());
    }
    return Status::Ok();
  }

  // Buffered rows ("buffer"), the kept rows of every partition with a last column telling
  // whether each was emitted ("history"), and the accumulators, keyed ("base").
  Status Snapshot(int64_t, runtime::StateWriter& state) override {
    if (!buffer_.empty()) state.PutBatch("buffer", *batch::ConcatBatches(buffer_));
    std::vector<uint32_t> kept, based;
    for (size_t g = 0; g < partitions_.size(); ++g) {
      const Partition& p = partitions_[g];
      if (p.length > 0) kept.push_back(static_cast<uint32_t>(g));
      bool any = false;
      for (const auto& a : p.base) any |= a.rows > 0;
      if (any) based.push_back(static_cast<uint32_t>(g));
    }
    if (!kept.empty()) {
      std::vector<int64_t> starts;
      auto b = std::make_shared<Batch>(*Gather(kept, &starts));
      b->schema = HistorySchema();
      auto flag = Column::MakeFixed(DataType(TypeId::kBool), b->num_rows);
      std::memset(flag->values->data(), 0, batch::BitmapBytes(b->num_rows));
      for (size_t j = 0; j < kept.size(); ++j) {
        const Partition& p = partitions_[kept[j]];
        for (int64_t i = starts[j] + p.length - p.pending; i < starts[j] + p.length; ++i) {
          batch::SetBit(flag->values->data(), i);
        }
      }
      b->columns.push_back(flag);
      state.PutBatch("history", *b);
    }
    if (!based.empty()) state.PutBatch("base", *BaseBatch(based));
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    SLUICE_ASSIGN_OR_RETURN(std::vector<BatchPtr> buffered, state.GetBatches("buffer"));
    for (const auto& b : buffered) {
      BatchPtr mine = Mine(b, spec_.partition);
      if (mine) Buffer(mine);
    }
    SLUICE_ASSIGN_OR_RETURN(std::vector<BatchPtr> kept, state.GetBatches("history"));
    for (const auto& b : kept) {
      BatchPtr mine = Mine(b, spec_.partition);
      if (mine) RestoreHistory(*mine);
    }
    SLUICE_ASSIGN_OR_RETURN(std::vector<BatchPtr> bases, state.GetBatches("base"));
    std::vector<int> keys(spec_.partition.size());
    std::iota(keys.begin(), keys.end(), 0);
    for (const auto& b : bases) {
      BatchPtr mine = Mine(b, keys);
      if (mine) RestoreBase(*mine);
    }
    return Status::Ok();
  }

 private:
  void Buffer(const BatchPtr& b) {
    const int64_t* t = b->event_time->raw<int64_t>();
    buffer_.push_back(b);
    buffer_min_.push_back(*std::min_element(t, t + b->num_rows));
  }
  static constexpr int64_t kNotWaiting = std::numeric_limits<int64_t>::max();
  void SetWaiting(uint32_t g, int64_t time) {
    if (time == kNotWaiting && g >= waiting_since_.size()) return;
    if (g >= waiting_since_.size()) waiting_since_.resize(partitions_.size(), kNotWaiting);
    waiting_since_[g] = time;
  }
  static int64_t FirstPendingTime(const Partition& p) {
    return p.batch->event_time->raw<int64_t>()[p.offset + p.length - p.pending];
  }
  static bool IsFramed(const OverCall& c) {
    return c.function != OverFunction::kLag && c.function != OverFunction::kLead;
  }
  static bool Folds(const OverCall& c) { return IsFramed(c) && c.frame.unbounded_start; }

  BatchPtr Mine(const BatchPtr& b, const std::vector<int>& keys) const {
    if (keys.empty()) return subtask_ == 0 ? b : nullptr;
    return RowsOfSubtask(b, keys, subtask_, parallelism_);
  }

  // The partition of each row of `b` (keys at `key_columns`).
  void PartitionsOf(const Batch& b, const std::vector<int>& key_columns,
                    std::vector<uint32_t>* ids) {
    if (!groups_) {
      ids->assign(static_cast<size_t>(b.num_rows), 0);
    } else {
      std::vector<ColumnPtr> keys;
      for (int k : key_columns) keys.push_back(b.columns[static_cast<size_t>(k)]);
      groups_->FindOrInsert(keys, nullptr, b.num_rows, ids);
    }
    uint32_t max_id = 0;
    for (uint32_t g : *ids) max_id = std::max(max_id, g);
    if (b.num_rows > 0 && partitions_.size() <= max_id) {
      const size_t old = partitions_.size();
      partitions_.resize(max_id + 1);
      for (size_t g = old; g < partitions_.size(); ++g) {
        partitions_[g].base.resize(spec_.calls.size());
      }
    }
  }

  // The kept rows of `parts`, one after another, with where each partition's rows start.
  BatchPtr Gather(const std::vector<uint32_t>& parts, std::vector<int64_t>* starts) {
    std::vector<BatchPtr> sources;
    std::vector<std::vector<int32_t>> rows;
    std::unordered_map<const Batch*, size_t> source_of;
    std::vector<std::pair<size_t, int64_t>> at;  // per partition: source, position in its rows
    for (uint32_t g : parts) {
      const Partition& p = partitions_[g];
      auto [it, fresh] = source_of.try_emplace(p.batch.get(), sources.size());
      if (fresh) {
        sources.push_back(p.batch);
        rows.emplace_back();
      }
      auto& r = rows[it->second];
      at.emplace_back(it->second, static_cast<int64_t>(r.size()));
      for (int64_t i = p.offset; i < p.offset + p.length; ++i) r.push_back(static_cast<int32_t>(i));
    }
    std::vector<BatchPtr> pieces;
    std::vector<int64_t> piece_start;
    int64_t total = 0;
    for (size_t s = 0; s < sources.size(); ++s) {
      piece_start.push_back(total);
      total += static_cast<int64_t>(rows[s].size());
      bool whole = rows[s].size() == static_cast<size_t>(sources[s]->num_rows);
      for (size_t i = 0; whole && i < rows[s].size(); ++i)
        whole = rows[s][i] == static_cast<int32_t>(i);
      pieces.push_back(whole ? sources[s] : TakeRows(*sources[s], rows[s], input_schema_));
    }
    starts->clear();
    for (const auto& [s, pos] : at) starts->push_back(piece_start[s] + pos);
    if (pieces.empty()) return nullptr;
    return pieces.size() == 1 ? pieces[0] : batch::ConcatBatches(pieces);
  }

  // Processes `ready` (rows the watermark passed, or every row at the end of input): per
  // partition in event-time order, ties in arrival order, every partition of the batch in one
  // pass over the rows sorted by partition and time.
  Status Process(const BatchPtr& ready, bool final, runtime::Collector& out) {
    std::vector<uint32_t> ids;
    std::vector<int32_t> order;
    if (ready) {
      PartitionsOf(*ready, spec_.partition, &ids);
      order.resize(static_cast<size_t>(ready->num_rows));
      std::iota(order.begin(), order.end(), 0);
      const int64_t* t = ready->event_time->raw<int64_t>();
      std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
        uint32_t ga = ids[static_cast<size_t>(a)], gb = ids[static_cast<size_t>(b)];
        return ga != gb ? ga < gb : t[a] < t[b];
      });
    }
    // The partitions to process and the ranges of their new rows in `order`.
    std::vector<uint32_t> parts;
    std::vector<std::pair<size_t, size_t>> fresh;
    for (size_t k = 0; k < order.size();) {
      uint32_t g = ids[static_cast<size_t>(order[k])];
      size_t e = k;
      while (e < order.size() && ids[static_cast<size_t>(order[e])] == g) ++e;
      parts.push_back(g);
      fresh.emplace_back(k, e);
      k = e;
    }
    if (final) {
      std::vector<char> touched(partitions_.size(), 0);
      for (uint32_t g : parts) touched[g] = 1;
      for (size_t g = 0; g < partitions_.size(); ++g) {
        if (!touched[g] && partitions_[g].pending > 0) {
          parts.push_back(static_cast<uint32_t>(g));
          fresh.emplace_back(0, 0);
        }
      }
    }
    if (parts.empty()) return Status::Ok();
    // The kept rows of these partitions, then the new rows: one batch sorted by partition and
    // time (kept rows are older than new ones).
    std::vector<uint32_t> with_history;
    for (uint32_t g : parts) {
      if (partitions_[g].length > 0) with_history.push_back(g);
    }
    std::vector<int64_t> starts;
    BatchPtr kept = Gather(with_history, &starts);
    const int64_t kept_rows = kept ? kept->num_rows : 0;
    std::vector<int32_t> seq;
    std::vector<Segment> segments;
    size_t h = 0;
    for (size_t j = 0; j < parts.size(); ++j) {
      const Partition& p = partitions_[parts[j]];
      Segment s;
      s.partition = parts[j];
      s.s0 = static_cast<int64_t>(seq.size());
      if (p.length > 0) {
        for (int64_t i = 0; i < p.length; ++i) seq.push_back(static_cast<int32_t>(starts[h] + i));
        ++h;
      }
      for (size_t k = fresh[j].first; k < fresh[j].second; ++k) {
        seq.push_back(static_cast<int32_t>(kept_rows + order[k]));
      }
      s.s1 = static_cast<int64_t>(seq.size());
      s.u0 = s.s0 + p.length - p.pending;
      s.u1 = final ? s.s1 : std::max(s.u0, s.s1 - lookahead_);
      segments.push_back(s);
    }
    BatchPtr both;
    if (kept && ready) {
      both = batch::ConcatBatches({kept, ready});
    } else {
      both = kept ? kept : ready;
    }
    BatchPtr sorted = TakeRows(*both, seq, input_schema_);
    // The rows emitted now, with one column per call.
    std::vector<int32_t> emit;
    for (const auto& s : segments) {
      for (int64_t i = s.u0; i < s.u1; ++i) emit.push_back(static_cast<int32_t>(i));
    }
    if (!emit.empty()) {
      auto b = std::make_shared<Batch>(*TakeRows(*sorted, emit, spec_.output_schema));
      for (size_t c = 0; c < spec_.calls.size(); ++c) {
        SLUICE_ASSIGN_OR_RETURN(ColumnPtr col, Compute(c, *sorted, segments, emit));
        b->columns.push_back(std::move(col));
      }
      if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += b->num_rows;
      SLUICE_RETURN_NOT_OK(out.Emit(b));
    }
    // Keep what later rows need; fold the rest into the accumulators.
    const int64_t* t = sorted->event_time->raw<int64_t>();
    std::vector<Numbers> widened(spec_.calls.size());
    for (size_t c = 0; c < spec_.calls.size(); ++c) {
      const OverCall& call = spec_.calls[c];
      if (Folds(call) &&
          (call.function == OverFunction::kSum || call.function == OverFunction::kAvg)) {
        Widen(*sorted->columns[static_cast<size_t>(call.argument)], &widened[c]);
      }
    }
    std::vector<int32_t> keep_rows;
    std::vector<std::pair<int64_t, int64_t>> kept_range(segments.size());
    for (size_t j = 0; j < segments.size(); ++j) {
      const Segment& s = segments[j];
      Partition& p = partitions_[s.partition];
      const int64_t keep = KeepFrom(s, t);
      for (size_t c = 0; c < spec_.calls.size(); ++c) {
        if (keep > s.s0 && Folds(spec_.calls[c])) {
          Fold(spec_.calls[c], &p.base[c], *sorted, s.s0, keep, widened[c]);
        }
      }
      kept_range[j] = {static_cast<int64_t>(keep_rows.size()), s.s1 - keep};
      for (int64_t i = keep; i < s.s1; ++i) keep_rows.push_back(static_cast<int32_t>(i));
      p.pending = s.s1 - s.u1;
      SetWaiting(s.partition, p.pending > 0 ? t[s.u1] : kNotWaiting);
    }
    BatchPtr next = keep_rows.empty() ? nullptr : TakeRows(*sorted, keep_rows, input_schema_);
    for (size_t j = 0; j < segments.size(); ++j) {
      Partition& p = partitions_[segments[j].partition];
      live_rows_ += kept_range[j].second - p.length;
      p.batch = kept_range[j].second > 0 ? next : nullptr;
      p.offset = kept_range[j].first;
      p.length = kept_range[j].second;
    }
    stored_rows_ += static_cast<int64_t>(keep_rows.size());
    if (stored_rows_ > 2 * live_rows_ + 65536) Compact();
    return Status::Ok();
  }

  // Kept-row batches are shared by the partitions of one watermark: a partition that is not
  // processed again pins its batch. Once they hold twice the rows still needed, the kept rows
  // move into one batch.
  void Compact() {
    std::vector<uint32_t> parts;
    for (size_t g = 0; g < partitions_.size(); ++g) {
      if (partitions_[g].length > 0) parts.push_back(static_cast<uint32_t>(g));
    }
    std::vector<int64_t> starts;
    BatchPtr all = Gather(parts, &starts);
    if (all && all->num_rows > 0) {
      // Own copies, so that the old batches are freed.
      std::vector<int32_t> rows = Range(0, all->num_rows);
      all = TakeRows(*all, rows, input_schema_);
    }
    for (size_t j = 0; j < parts.size(); ++j) {
      partitions_[parts[j]].batch = all;
      partitions_[parts[j]].offset = starts[j];
    }
    stored_rows_ = live_rows_;
  }

  // The first row of segment `s` that a later row (or a row not emitted yet) may still need.
  int64_t KeepFrom(const Segment& s, const int64_t* t) const {
    const int64_t u1 = s.u1;
    int64_t keep = u1;
    for (const auto& c : spec_.calls) {
      if (c.function == OverFunction::kLag) {
        keep = std::min(keep, u1 - c.offset);
      } else if (c.function == OverFunction::kLead) {
        continue;
      } else if (c.frame.rows) {
        keep = std::min(keep, u1 + std::min<int64_t>(c.frame.end, 0));
        if (!c.frame.unbounded_start) {
          keep = std::min(keep, u1 + std::min<int64_t>(c.frame.start, 0));
        }
      } else if (!c.frame.unbounded_start) {
        // Rows after this batch are at or after the watermark.
        int64_t ref = u1 < s.s1 ? t[u1] : watermark_;
        int64_t from = ref == std::numeric_limits<int64_t>::max() ? ref : ref + c.frame.start;
        keep = std::min(keep, static_cast<int64_t>(std::lower_bound(t + s.s0, t + s.s1, from) - t));
      }
    }
    return std::max(keep, s.s0);
  }

  // Frame bounds [lo, hi] (inclusive; empty when lo > hi) of row i of segment s.
  static void Bounds(const OverFrame& f, const int64_t* t, const Segment& s, int64_t i, int64_t* lo,
                     int64_t* hi) {
    if (f.rows) {
      *lo = f.unbounded_start ? s.s0 : std::max<int64_t>(s.s0, i + f.start);
      *hi = std::min(s.s1 - 1, i + f.end);
    } else {
      *lo = f.unbounded_start ? s.s0 : std::lower_bound(t + s.s0, t + s.s1, t[i] + f.start) - t;
      *hi = (std::upper_bound(t + i, t + s.s1, t[i]) - t) - 1;
    }
  }

  // Index of the better (min or max) of rows a and b of `c` (-1: none).
  static int64_t Better(const Column& c, bool max, int64_t a, int64_t b) {
    if (a < 0) return b;
    if (b < 0) return a;
    int r = CompareNonNullRows(c, a, b);
    return (max ? r < 0 : r > 0) ? b : a;
  }

  // The values of call `ci` for the rows `emit` of `b` (sorted by partition and time).
  Result<ColumnPtr> Compute(size_t ci, const Batch& b, const std::vector<Segment>& segments,
                            const std::vector<int32_t>& emit) {
    const OverCall& call = spec_.calls[ci];
    const int64_t n = b.num_rows;
    const int64_t m = static_cast<int64_t>(emit.size());
    const int64_t* t = b.event_time->raw<int64_t>();
    std::vector<int32_t> idx(static_cast<size_t>(m));
    size_t k = 0;  // position in `emit`
    if (call.function == OverFunction::kLag || call.function == OverFunction::kLead) {
      // Rows of the argument, then the defaults of the emitted rows.
      const Column& arg = *b.columns[static_cast<size_t>(call.argument)];
      const Column& def = *b.columns[static_cast<size_t>(call.default_value)];
      ColumnPtr src =
          batch::Concat({std::make_shared<Column>(arg), batch::Take(def, emit.data(), m)});
      for (const auto& s : segments) {
        for (int64_t i = s.u0; i < s.u1; ++i, ++k) {
          int64_t j = call.function == OverFunction::kLag ? i - call.offset : i + call.offset;
          idx[k] = static_cast<int32_t>(j >= s.s0 && j < s.s1 ? j : n + static_cast<int64_t>(k));
        }
      }
      return batch::Take(*src, idx.data(), m);
    }
    const bool unbounded = call.frame.unbounded_start;
    if (call.function == OverFunction::kFirstValue || call.function == OverFunction::kLastValue ||
        call.function == OverFunction::kMin || call.function == OverFunction::kMax) {
      // Rows of the argument, then each segment's accumulated value, then NULL.
      const Column& arg = *b.columns[static_cast<size_t>(call.argument)];
      std::vector<ColumnPtr> parts = {std::make_shared<Column>(arg)};
      ColumnPtr null_row = Column::MakeNull(arg.type, 1);
      for (const auto& s : segments) {
        const Accumulator& a = partitions_[s.partition].base[ci];
        parts.push_back(unbounded && a.rows > 0 && a.value ? a.value : null_row);
      }
      parts.push_back(null_row);
      ColumnPtr src = batch::Concat(parts);
      const int64_t kNull = n + static_cast<int64_t>(segments.size());
      const bool max = call.function == OverFunction::kMax;
      std::deque<int64_t> q;
      for (size_t j = 0; j < segments.size(); ++j) {
        const Segment& s = segments[j];
        const bool with_base = unbounded && partitions_[s.partition].base[ci].rows > 0;
        const int64_t base_at = n + static_cast<int64_t>(j);
        q.clear();
        int64_t next = s.s0;
        for (int64_t i = s.u0; i < s.u1; ++i, ++k) {
          int64_t lo, hi;
          Bounds(call.frame, t, s, i, &lo, &hi);
          int64_t at;
          if (call.function == OverFunction::kFirstValue) {
            at = with_base ? base_at : (lo <= hi ? lo : kNull);
          } else if (call.function == OverFunction::kLastValue) {
            at = lo <= hi ? hi : (with_base ? base_at : kNull);
          } else {
            // A monotone deque of candidates: both frame bounds only move forward.
            for (next = std::max(next, lo); next <= hi; ++next) {
              if (arg.IsNull(next)) continue;
              while (!q.empty() && Better(arg, max, q.back(), next) == next) q.pop_back();
              q.push_back(next);
            }
            while (!q.empty() && q.front() < lo) q.pop_front();
            int64_t best = q.empty() || lo > hi ? -1 : q.front();
            if (with_base && !src->IsNull(base_at)) best = Better(*src, max, best, base_at);
            at = best < 0 ? kNull : best;
          }
          idx[k] = static_cast<int32_t>(at);
        }
      }
      return batch::Take(*src, idx.data(), m);
    }
    // count, sum, avg: prefix sums over the rows, plus the accumulator.
    std::vector<int64_t> counts;
    Numbers nums;
    const Column* arg =
        call.argument >= 0 ? b.columns[static_cast<size_t>(call.argument)].get() : nullptr;
    if (call.function != OverFunction::kCountStar) {
      counts.assign(static_cast<size_t>(n + 1), 0);
      for (int64_t i = 0; i < n; ++i) {
        counts[static_cast<size_t>(i + 1)] =
            counts[static_cast<size_t>(i)] + (arg->IsNull(i) ? 0 : 1);
      }
      if (call.function != OverFunction::kCount) Widen(*arg, &nums);
    }
    std::vector<int128_t> isums;
    std::vector<double> dsums;
    if (call.function == OverFunction::kSum || call.function == OverFunction::kAvg) {
      if (nums.floating) {
        dsums.assign(static_cast<size_t>(n + 1), 0.0);
        for (int64_t i = 0; i < n; ++i) {
          dsums[static_cast<size_t>(i + 1)] =
              dsums[static_cast<size_t>(i)] + nums.doubles[static_cast<size_t>(i)];
        }
      } else {
        isums.assign(static_cast<size_t>(n + 1), 0);
        for (int64_t i = 0; i < n; ++i) {
          isums[static_cast<size_t>(i + 1)] =
              isums[static_cast<size_t>(i)] + nums.ints[static_cast<size_t>(i)];
        }
      }
    }
    auto out = Column::MakeFixed(call.type, m);
    std::vector<int64_t> nulls;
    const double scale = arg && arg->type.id() == TypeId::kDecimal ? Pow10(arg->type.scale()) : 1.0;
    for (const auto& s : segments) {
      const Accumulator& base = partitions_[s.partition].base[ci];
      for (int64_t i = s.u0; i < s.u1; ++i, ++k) {
        int64_t l, h;
        Bounds(call.frame, t, s, i, &l, &h);
        const bool some = l <= h;
        const size_t lz = static_cast<size_t>(l), hz = static_cast<size_t>(h + 1);
        const int64_t rows = (some ? h - l + 1 : 0) + (unbounded ? base.rows : 0);
        if (call.function == OverFunction::kCountStar) {
          out->mutable_raw<int64_t>()[k] = rows;
          continue;
        }
        const int64_t count = (some ? counts[hz] - counts[lz] : 0) + (unbounded ? base.count : 0);
        if (call.function == OverFunction::kCount) {
          out->mutable_raw<int64_t>()[k] = count;
          continue;
        }
        if (count == 0) {
          nulls.push_back(static_cast<int64_t>(k));
          std::memset(out->values->data() + k * static_cast<size_t>(call.type.byte_width()), 0,
                      static_cast<size_t>(call.type.byte_width()));
          continue;
        }
        if (nums.floating) {
          double sum = (some ? dsums[hz] - dsums[lz] : 0.0) + (unbounded ? base.dsum : 0.0);
          out->mutable_raw<double>()[k] =
              call.function == OverFunction::kAvg ? sum / static_cast<double>(count) : sum;
          continue;
        }
        int128_t sum = (some ? isums[hz] - isums[lz] : 0) + (unbounded ? base.isum : 0);
        if (call.function == OverFunction::kAvg) {
          out->mutable_raw<double>()[k] =
              static_cast<double>(sum) / scale / static_cast<double>(count);
        } else if (call.type.id() == TypeId::kInt64) {
          if (sum > std::numeric_limits<int64_t>::max() ||
              sum < std::numeric_limits<int64_t>::min()) {
            return Status::User("bigint out of range in sum() OVER (...)");
          }
          out->mutable_raw<int64_t>()[k] = static_cast<int64_t>(sum);
        } else if (call.type.id() == TypeId::kUInt64) {
          if (sum > static_cast<int128_t>(std::numeric_limits<uint64_t>::max())) {
            return Status::User("bigint unsigned out of range in sum() OVER (...)");
          }
          out->mutable_raw<uint64_t>()[k] = static_cast<uint64_t>(sum);
        } else {
          static const int128_t kMax = [] {
            int128_t m = 1;
            for (int i = 0; i < 38; ++i) m *= 10;
            return m - 1;
          }();
          if (sum > kMax || sum < -kMax) {
            return Status::User("numeric out of range in sum() OVER (...) (more than 38 digits)");
          }
          out->mutable_raw<int128_t>()[k] = sum;
        }
      }
    }
    if (!nulls.empty()) {
      out->validity = Column::MakeAllValidBitmap(m);
      for (int64_t r : nulls) batch::ClearBit(out->validity->data(), r);
    }
    return ColumnPtr(out);
  }

  // Folds rows [from, to) of `b` into the accumulator of a call whose frame starts unbounded;
  // `nums` is the argument widened (sum and avg).
  static void Fold(const OverCall& call, Accumulator* a, const Batch& b, int64_t from, int64_t to,
                   const Numbers& nums) {
    const bool first = a->rows == 0;
    a->rows += to - from;
    if (call.function == OverFunction::kCountStar || call.function == OverFunction::kLastValue) {
      return;
    }
    const Column& arg = *b.columns[static_cast<size_t>(call.argument)];
    if (call.function == OverFunction::kFirstValue) {
      if (first) {
        int32_t row = static_cast<int32_t>(from);
        a->value = batch::Take(arg, &row, 1);
      }
      return;
    }
    if (call.function == OverFunction::kMin || call.function == OverFunction::kMax) {
      const bool max = call.function == OverFunction::kMax;
      int64_t best = -1;
      for (int64_t i = from; i < to; ++i) {
        if (!arg.IsNull(i)) best = Better(arg, max, best, i);
      }
      if (best < 0) return;
      int32_t at = static_cast<int32_t>(best);
      ColumnPtr candidate = batch::Take(arg, &at, 1);
      if (a->value && !a->value->IsNull(0)) {
        ColumnPtr two = batch::Concat({candidate, a->value});
        int32_t pick = static_cast<int32_t>(Better(*two, max, 0, 1));
        candidate = batch::Take(*two, &pick, 1);
      }
      a->value = candidate;
      return;
    }
    for (int64_t i = from; i < to; ++i) a->count += arg.IsNull(i) ? 0 : 1;
    if (call.function == OverFunction::kCount) return;
    for (int64_t i = from; i < to; ++i) {
      if (nums.floating) {
        a->dsum += nums.doubles[static_cast<size_t>(i)];
      } else {
        a->isum += nums.ints[static_cast<size_t>(i)];
      }
    }
  }

  types::SchemaPtr HistorySchema() {
    if (!history_schema_) {
      auto fields = input_schema_->fields();
      fields.push_back(types::Field{"__pending", DataType(TypeId::kBool), false});
      history_schema_ = std::make_shared<types::Schema>(std::move(fields));
    }
    return history_schema_;
  }

  void RestoreHistory(const Batch& b) {
    std::vector<uint32_t> ids;
    PartitionsOf(b, spec_.partition, &ids);
    const Column& flag = *b.columns.back();
    std::vector<std::vector<int32_t>> rows(partitions_.size());
    for (int64_t i = 0; i < b.num_rows; ++i) {
      rows[ids[static_cast<size_t>(i)]].push_back(static_cast<int32_t>(i));
    }
    auto view = std::make_shared<Batch>(b);
    view->columns.pop_back();
    view->schema = input_schema_;
    for (size_t g = 0; g < rows.size(); ++g) {
      if (rows[g].empty()) continue;
      Partition& p = partitions_[g];
      p.batch = TakeRows(*view, rows[g], input_schema_);
      p.offset = 0;
      p.length = static_cast<int64_t>(rows[g].size());
      p.pending = 0;
      for (int32_t r : rows[g]) p.pending += flag.GetBool(r) ? 1 : 0;
      if (p.pending > 0) SetWaiting(static_cast<uint32_t>(g), FirstPendingTime(p));
      live_rows_ += p.length;
      stored_rows_ += p.length;
    }
  }

  // Columns: the keys, then per call rows, count, sum (high and low 64 bits), float sum, value.
  BatchPtr BaseBatch(const std::vector<uint32_t>& groups) {
    const int64_t n = static_cast<int64_t>(groups.size());
    auto b = std::make_shared<Batch>();
    std::vector<types::Field> fields;
    if (groups_) {
      b->columns = groups_->GatherKeys(groups.data(), n);
      for (size_t k = 0; k < key_types_.size(); ++k)
        fields.push_back({fmt::format("k{}", k), key_types_[k], true});
    }
    for (size_t c = 0; c < spec_.calls.size(); ++c) {
      const OverCall& call = spec_.calls[c];
      DataType value_type = call.argument >= 0
                                ? input_schema_->field(static_cast<size_t>(call.argument)).type
                                : DataType(TypeId::kInt64);
      batch::ColumnBuilder rows(DataType(TypeId::kInt64)), count(DataType(TypeId::kInt64)),
          hi(DataType(TypeId::kInt64)), lo(DataType(TypeId::kUInt64)),
          dsum(DataType(TypeId::kFloat64)), value(value_type);
      for (uint32_t g : groups) {
        const Accumulator& a = partitions_[g].base[c];
        rows.AppendFixed<int64_t>(a.rows);
        count.AppendFixed<int64_t>(a.count);
        hi.AppendFixed<int64_t>(static_cast<int64_t>(a.isum >> 64));
        lo.AppendFixed<uint64_t>(static_cast<uint64_t>(a.isum));
        dsum.AppendFixed<double>(a.dsum);
        if (a.value) {
          value.AppendValue(a.value->GetValue(0));
        } else {
          value.AppendNull();
        }
      }
      for (auto* builder : {&rows, &count, &hi, &lo, &dsum, &value}) {
        fields.push_back({fmt::format("c{}_{}", c, fields.size()), builder->type(), true});
        b->columns.push_back(builder->Finish());
      }
    }
    b->schema = std::make_shared<types::Schema>(std::move(fields));
    b->num_rows = n;
    b->event_time = Column::MakeConstant(types::Value::Timestamp(0), n);
    return b;
  }

  void RestoreBase(const Batch& b) {
    std::vector<int> keys(spec_.partition.size());
    std::iota(keys.begin(), keys.end(), 0);
    std::vector<uint32_t> ids;
    PartitionsOf(b, keys, &ids);
    const size_t k0 = keys.size();
    for (int64_t i = 0; i < b.num_rows; ++i) {
      Partition& p = partitions_[ids[static_cast<size_t>(i)]];
      for (size_t c = 0; c < spec_.calls.size(); ++c) {
        const auto& cols = b.columns;
        size_t at = k0 + c * 6;
        Accumulator& a = p.base[c];
        a.rows = cols[at]->raw<int64_t>()[i];
        a.count = cols[at + 1]->raw<int64_t>()[i];
        a.isum = (static_cast<int128_t>(cols[at + 2]->raw<int64_t>()[i]) << 64) |
                 static_cast<int128_t>(cols[at + 3]->raw<uint64_t>()[i]);
        a.dsum = cols[at + 4]->raw<double>()[i];
        int32_t row = static_cast<int32_t>(i);
        a.value = a.rows > 0 && (spec_.calls[c].function == OverFunction::kFirstValue ||
                                 !cols[at + 5]->IsNull(i))
                      ? batch::Take(*cols[at + 5], &row, 1)
                      : nullptr;
      }
    }
  }

  OverSpec spec_;
  int subtask_;
  int parallelism_;
  types::SchemaPtr input_schema_;
  types::SchemaPtr history_schema_;
  std::vector<DataType> key_types_;
  std::unique_ptr<GroupTable> groups_;  // null without partition keys: one partition
  std::vector<Partition> partitions_;
  std::vector<BatchPtr> buffer_;     // rows the watermark has not passed yet
  std::vector<int64_t> buffer_min_;  // the earliest event time of each buffered batch
  int64_t lookahead_ = 0;            // rows after a row that its values need
  int64_t watermark_ = std::numeric_limits<int64_t>::min();
  int64_t emitted_watermark_ = std::numeric_limits<int64_t>::min();
  // Per partition, the time of its first row not emitted yet (kNotWaiting when none).
  std::vector<int64_t> waiting_since_;
  int64_t live_rows_ = 0;    // kept rows of all partitions
  int64_t stored_rows_ = 0;  // rows of the kept-row batches made since the last compaction
};

}  // namespace

Result<std::unique_ptr<runtime::Operator>> OverWindowFactory::Create(int subtask,
                                                                     int parallelism) const {
  return std::unique_ptr<runtime::Operator>(
      std::make_unique<OverWindowOperator>(spec_, subtask, parallelism));
}

}  // namespace sluice::exec
