#include "exec/lookup_join.h"

#include <optional>
#include <vector>

#include <fmt/format.h>

#include "exec/group_table.h"
#include "exec/hash_partitioner.h"
#include "exec/join_rows.h"

namespace sluice::exec {

using batch::Batch;
using batch::BatchPtr;
using batch::Column;
using batch::ColumnPtr;

namespace {

// ---------------------------------------------------------------- side end marker

class LookupSideEnd : public runtime::Operator {
 public:
  LookupSideEnd(types::SchemaPtr in, types::SchemaPtr out)
      : in_(std::move(in)), out_(std::move(out)) {}

  Status ProcessBatch(int, const BatchPtr& b, runtime::Collector& out) override {
    auto copy = std::make_shared<Batch>(*b);
    copy->schema = out_;
    copy->columns.push_back(Column::MakeNull(types::Bool(), b->num_rows));
    return out.Emit(copy);
  }

  Status OnEndOfInput(runtime::Collector& out) override {
    if (ended_) return Status::Ok();
    ended_ = true;
    auto marker = std::make_shared<Batch>();
    marker->schema = out_;
    marker->num_rows = 1;
    for (const auto& f : in_->fields()) marker->columns.push_back(Column::MakeNull(f.type, 1));
    marker->columns.push_back(Column::MakeConstant(types::Value::Boolean(true), 1));
    marker->event_time = Column::MakeConstant(types::Value::Timestamp(0), 1);
    return out.Emit(marker);
  }

 private:
  types::SchemaPtr in_, out_;
  bool ended_ = false;
};

// ---------------------------------------------------------------- lookup join

class LookupJoinOperator : public runtime::Operator {
 public:
  LookupJoinOperator(const JoinSpec& spec, int side_senders, int subtask, int parallelism)
      : spec_(spec), side_senders_(side_senders), subtask_(subtask), parallelism_(parallelism) {
    std::vector<types::DataType> key_types;
    for (int k : spec.right_keys) {
      key_types.push_back(spec.right_schema->field(static_cast<size_t>(k)).type);
    }
    table_ = std::make_unique<GroupTable>(key_types);
  }

  Status ProcessBatch(int input, const BatchPtr& b, runtime::Collector& out) override {
    if (b->num_rows == 0) return Status::Ok();
    if (input == 1) return AddSide(b, out);
    if (!complete_) {
      pending_.push_back(b);
      return Status::Ok();
    }
    return Probe(*b, out);
  }

  Status ProcessWatermark(Watermark wm, runtime::Collector& out) override {
    // Rows waiting for the side table would be behind a watermark passed on now.
    held_ = wm;
    if (!complete_ || (emitted_ && wm <= *emitted_)) return Status::Ok();
    emitted_ = wm;
    return out.EmitWatermark(wm);
  }

  Status OnEndOfInput(runtime::Collector& out) override {
    // Every input ended: the side table is whole even if a marker was not seen.
    return Complete(out);
  }

  Status Snapshot(int64_t, runtime::StateWriter& state) override {
    if (subtask_ == 0) {
      if (!side_.empty()) state.PutBatch("table", *batch::ConcatBatches(side_));
      if (complete_) state.PutBatch("complete", *Flag());
    }
    std::vector<BatchPtr> waiting;
    for (const auto& b : pending_) waiting.push_back(b);
    if (!waiting.empty()) state.PutBatch("probe", *batch::ConcatBatches(waiting));
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    SLUICE_ASSIGN_OR_RETURN(std::vector<BatchPtr> table, state.GetBatches("table"));
    for (const auto& b : table) Insert(b);
    SLUICE_ASSIGN_OR_RETURN(std::vector<BatchPtr> flag, state.GetBatches("complete"));
    restored_complete_ = !flag.empty();
    complete_ = restored_complete_;
    SLUICE_ASSIGN_OR_RETURN(std::vector<BatchPtr> probe, state.GetBatches("probe"));
    for (const auto& b : probe) {
      BatchPtr mine = RowsOfSubtask(b, spec_.left_keys, subtask_, parallelism_);
      if (mine) pending_.push_back(mine);
    }
    return Status::Ok();
  }

 private:
  static BatchPtr Flag() {
    auto b = std::make_shared<Batch>();
    b->schema = std::make_shared<types::Schema>(
        std::vector<types::Field>{types::Field{"complete", types::Bool(), true}});
    b->num_rows = 1;
    b->columns.push_back(Column::MakeConstant(types::Value::Boolean(true), 1));
    b->event_time = Column::MakeConstant(types::Value::Timestamp(0), 1);
    return b;
  }

  Status AddSide(const BatchPtr& b, runtime::Collector& out) {
    const Column& end = *b->columns.back();
    std::vector<int32_t> rows;
    int markers = 0;
    for (int64_t i = 0; i < b->num_rows; ++i) {
      if (end.IsNull(i)) {
        rows.push_back(static_cast<int32_t>(i));
      } else {
        ++markers;
      }
    }
    // A side restored complete is not read again; its markers (a resumed source that had
    // finished marks its end once more) change nothing.
    if (!rows.empty() && !restored_complete_) {
      BatchPtr data = markers == 0 ? b : b->Select(rows);
      auto stripped = std::make_shared<Batch>(*data);
      stripped->schema = spec_.right_schema;
      stripped->columns.pop_back();
      if (complete_) return Status::Internal("lookup join: side table rows after its end");
      Insert(stripped);
    }
    markers_ += markers;
    if (markers_ >= side_senders_) return Complete(out);
    return Status::Ok();
  }

  void Insert(const BatchPtr& b) {
    side_.push_back(b);
    built_ = nullptr;
  }

  // The side table as one batch grouped by key (CSR), built on first use after a change.
  void Build() {
    if (built_) return;
    built_ = side_.empty() ? std::make_shared<Batch>(*EmptySide()) : batch::ConcatBatches(side_);
    side_ = {built_};
    std::vector<types::DataType> key_types;
    for (int k : spec_.right_keys) {
      key_types.push_back(spec_.right_schema->field(static_cast<size_t>(k)).type);
    }
    table_ = std::make_unique<GroupTable>(key_types);
    std::vector<uint32_t> groups;
    const int64_t n = built_->num_rows;
    if (n > 0) table_->FindOrInsert(KeyColumns(*built_, spec_.right_keys), nullptr, n, &groups);
    std::vector<uint8_t> null_key = NullKeyRows(*built_, spec_.right_keys);
    const auto num_groups = static_cast<size_t>(table_->size());
    offsets_.assign(num_groups + 1, 0);
    for (int64_t i = 0; i < n; ++i) {
      if (!null_key[static_cast<size_t>(i)]) ++offsets_[groups[static_cast<size_t>(i)] + 1];
    }
    for (size_t g = 0; g < num_groups; ++g) offsets_[g + 1] += offsets_[g];
    order_.assign(static_cast<size_t>(offsets_[num_groups]), 0);
    std::vector<int32_t> cursor(offsets_.begin(), offsets_.end() - 1);
    for (int64_t i = 0; i < n; ++i) {
      if (null_key[static_cast<size_t>(i)]) continue;
      order_[static_cast<size_t>(cursor[groups[static_cast<size_t>(i)]]++)] =
          static_cast<int32_t>(i);
    }
  }

  BatchPtr EmptySide() const {
    auto b = std::make_shared<Batch>();
    b->schema = spec_.right_schema;
    for (const auto& f : spec_.right_schema->fields()) {
      b->columns.push_back(Column::MakeNull(f.type, 0));
    }
    b->event_time = Column::MakeNull(types::Timestamp(), 0);
    return b;
  }

  Status Complete(runtime::Collector& out) {
    complete_ = true;
    SLUICE_RETURN_NOT_OK(Flush(out));
    if (held_ && (!emitted_ || *held_ > *emitted_)) {
      emitted_ = held_;
      return out.EmitWatermark(*held_);
    }
    return Status::Ok();
  }

  Status Flush(runtime::Collector& out) {
    std::vector<BatchPtr> waiting = std::move(pending_);
    pending_.clear();
    for (const auto& b : waiting) SLUICE_RETURN_NOT_OK(Probe(*b, out));
    return Status::Ok();
  }

  Status Probe(const Batch& l, runtime::Collector& out) {
    Build();
    const auto num_groups = static_cast<uint32_t>(table_->size());
    std::vector<uint32_t> groups;
    table_->Find(KeyColumns(l, spec_.left_keys), nullptr, l.num_rows, &groups);
    std::vector<uint8_t> null_key = NullKeyRows(l, spec_.left_keys);
    std::vector<int32_t> li, ri;
    for (int64_t i = 0; i < l.num_rows; ++i) {
      const uint32_t g = groups[static_cast<size_t>(i)];
      if (null_key[static_cast<size_t>(i)] || g >= num_groups) continue;
      for (int32_t k = offsets_[g]; k < offsets_[g + 1]; ++k) {
        li.push_back(static_cast<int32_t>(i));
        ri.push_back(order_[static_cast<size_t>(k)]);
      }
    }
    GatheredRows left = TakeRows(l, li);
    GatheredRows right = TakeRows(*built_, ri);
    SLUICE_ASSIGN_OR_RETURN(std::vector<int32_t> selected, SelectPairs(spec_, left, right));
    std::vector<int32_t> lonely;
    if (spec_.type == JoinType::kLeft) {
      std::vector<uint8_t> matched(static_cast<size_t>(l.num_rows), 0);
      for (int32_t p : selected) matched[static_cast<size_t>(li[static_cast<size_t>(p)])] = 1;
      for (size_t i = 0; i < matched.size(); ++i) {
        if (!matched[i]) lonely.push_back(static_cast<int32_t>(i));
      }
    }
    SLUICE_RETURN_NOT_OK(Emit(SelectRows(left, selected), SelectRows(right, selected), out));
    if (!lonely.empty()) {
      SLUICE_RETURN_NOT_OK(Emit(TakeRows(l, lonely),
                                NullRows(*spec_.right_schema, static_cast<int64_t>(lonely.size())),
                                out));
    }
    return Status::Ok();
  }

  // The probe row's event time is the joined row's.
  Status Emit(const GatheredRows& left, const GatheredRows& right, runtime::Collector& out) {
    if (left.num_rows == 0) return Status::Ok();
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += left.num_rows;
    auto joined = std::make_shared<Batch>(
        *JoinedBatch(spec_, left, right, false, batch::ChangeKind::kInsert));
    joined->event_time = left.event_time;
    return out.Emit(joined);
  }

  JoinSpec spec_;
  int side_senders_;
  int subtask_, parallelism_;
  std::vector<BatchPtr> side_;  // the side table's rows so far
  BatchPtr built_;              // side_ as one batch, indexed by table_/offsets_/order_
  std::unique_ptr<GroupTable> table_;
  std::vector<int32_t> offsets_, order_;
  int markers_ = 0;
  bool complete_ = false;
  bool restored_complete_ = false;
  std::vector<BatchPtr> pending_;  // probe rows waiting for the side table
  std::optional<Watermark> held_, emitted_;
};

}  // namespace

std::string LookupJoinFactory::Describe() const {
  return fmt::format("lookup_join {} (side table broadcast from {} subtasks)", spec_.Describe(),
                     side_senders_);
}

Result<std::unique_ptr<runtime::Operator>> LookupJoinFactory::Create(int subtask,
                                                                     int parallelism) const {
  if (spec_.type != JoinType::kInner && spec_.type != JoinType::kLeft) {
    return Status::Internal("lookup join: only INNER and LEFT");
  }
  return std::unique_ptr<runtime::Operator>(
      new LookupJoinOperator(spec_, side_senders_, subtask, parallelism));
}

LookupSideEndFactory::LookupSideEndFactory(types::SchemaPtr input_schema)
    : input_schema_(std::move(input_schema)) {
  std::vector<types::Field> fields = input_schema_->fields();
  fields.push_back(types::Field{"__side_end", types::Bool(), true});
  output_schema_ = std::make_shared<types::Schema>(std::move(fields));
}

Result<std::unique_ptr<runtime::Operator>> LookupSideEndFactory::Create(int, int) const {
  return std::unique_ptr<runtime::Operator>(new LookupSideEnd(input_schema_, output_schema_));
}

}  // namespace sluice::exec
