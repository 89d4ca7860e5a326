// The filesystem sink: rows into files under a directory or an S3 prefix, one open file per
// partition directory and subtask, rolled by size, age, inactivity, the watermark passing the
// file's time partition and the end of the input (Parquet files also at every checkpoint).
//
// Exactly-once (runs with checkpoints): files are staged invisibly (output_store.h). At a
// checkpoint barrier (PreCommit n) the files rolled since the previous barrier become the
// pending set of epoch n; the files still open stay open: each is made durable (local: fsync;
// S3: the parts sent and the buffered tail) and the snapshot records it — its staged name,
// valid length, S3 parts and tail, the writer's state (Avro's sync marker) — with the pending
// sets. Once checkpoint n is complete, Commit(n) makes its pending set visible. A restore
// commits the pending sets the checkpoint recorded (a commit is idempotent, so one interrupted
// by a crash is finished), reopens the open files it recorded at their valid length (bytes
// written after the checkpoint are dropped) and goes on appending to them, and removes every
// other staged file of earlier runs: the rows they held come again from the sources. Parquet
// files cannot be reopened (the footer is written at the end, from the writer's memory), so
// they are finished at every barrier (decision 0025). Without checkpoints, a file is visible
// as soon as it is rolled, and at the end of the input.

#include "connectors/filesystem/filesystem_sink.h"

#include <algorithm>
#include <set>
#include <unordered_map>

#include <fmt/format.h>

#include "batch/column_builder.h"
#include "common/fault.h"
#include "connectors/filesystem/partitioner.h"
#include "formats/format.h"
#include "formats/parquet/parquet_writer.h"
#include "formats/record_file.h"

namespace sluice::connectors::filesystem {

namespace {

constexpr std::string_view kPendingPiece = "pending_files_1";
constexpr std::string_view kOpenPiece = "open_files_1";

types::Schema PendingSchema() {
  return types::Schema({{"subtask", types::Int32(), false},
                        {"epoch", types::Int64(), false},
                        {"path", types::Utf8(), false},
                        {"staging", types::Utf8(), false},
                        {"size", types::Int64(), false},
                        {"parts", types::Utf8(), false}});
}

types::Schema OpenSchema() {
  return types::Schema({{"subtask", types::Int32(), false},
                        {"dir", types::Utf8(), false},
                        {"path", types::Utf8(), false},
                        {"staging", types::Utf8(), false},
                        {"size", types::Int64(), false},
                        {"parts", types::Utf8(), false},
                        {"tail", types::DataType(types::TypeId::kBinary), false},
                        {"writer_state", types::DataType(types::TypeId::kBinary), false},
                        {"opened", types::Int64(), false},
                        {"time_end", types::Int64(), false}});
}

class FilesystemSink : public runtime::Operator {
 public:
  FilesystemSink(const TableSpec& spec, const FilesystemOptions& options,
                 std::shared_ptr<OutputStore> store, std::string run, int subtask, int parallelism)
      : spec_(spec),
        options_(options),
        store_(std::move(store)),
        run_(std::move(run)),
        subtask_(subtask),
        parallelism_(parallelism),
        label_(fmt::format("table '{}'", spec.table_name)) {}

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    two_phase_ = ctx.checkpointing;
    if (spec_.schema.size() > 0) SLUICE_RETURN_NOT_OK(Prepare(spec_.schema));
    // A fresh start removes what earlier runs left staged; a restore does it in Restore,
    // keeping the files the checkpoint still has to commit.
    if (subtask_ == 0 && !ctx.restored_checkpoint) {
      SLUICE_RETURN_NOT_OK(Context(store_->CleanUp(run_, {})));
    }
    return Status::Ok();
  }

  Status ProcessBatch(int input, const batch::BatchPtr& b, runtime::Collector& out) override {
    if (b->num_rows == 0) return Status::Ok();
    if (!schema_) SLUICE_RETURN_NOT_OK(Prepare(*b->schema));
    if (b->change_kind) {
      return Status::User(
          "{}: the filesystem sink writes append-only rows; the query's results "
          "are updating (write them to a debezium_json sink such as kafka)",
          label_);
    }
    const ProcessingTime now = Now();
    if (!partitioner_.enabled()) {
      SLUICE_RETURN_NOT_OK(WriteTo("", INT64_MAX, *b, now));
    } else {
      partitioner_.Group(*b, &groups_);
      for (const PartitionGroup& g : groups_) {
        if (static_cast<int64_t>(g.rows.size()) == b->num_rows) {
          SLUICE_RETURN_NOT_OK(WriteTo(g.dir, g.time_end, *b, now));
        } else {
          auto part = b->Select(g.rows);
          SLUICE_RETURN_NOT_OK(WriteTo(g.dir, g.time_end, *part, now));
        }
      }
    }
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += b->num_rows;
    return RollByTime(now, std::nullopt);
  }

  // A timer (the factory's tick interval): files past their age or inactivity limit roll also
  // while no rows arrive.
  Status OnTick(ProcessingTime now, runtime::Collector& out) override {
    return RollByTime(now, std::nullopt);
  }

  Status ProcessWatermark(Watermark wm, runtime::Collector& out) override {
    SLUICE_RETURN_NOT_OK(RollByTime(Now(), wm.time.value));
    return out.EmitWatermark(wm);
  }

  // Every file ends; with checkpoints the final one commits them.
  Status OnEndOfInput(runtime::Collector& out) override { return RollAll(); }

  Status Close() override {
    if (!two_phase_) {
      Status st = RollAll();
      files_.clear();
      return st;
    }
    files_.clear();  // staged and uncommitted: a restore removes them
    return Status::Ok();
  }

  Status PreCommit(int64_t checkpoint) override {
    if (!two_phase_) return Status::Ok();
    // Parquet files end at every barrier (decision 0025); files of the row formats stay open,
    // durable up to here and recorded by the snapshot.
    if (options_.format == "parquet") SLUICE_RETURN_NOT_OK(RollAll());
    open_states_.clear();
    for (auto& [dir, f] : files_) {
      SLUICE_ASSIGN_OR_RETURN(OpenFileState st, Context(f.staged->Checkpoint()));
      open_states_.push_back({dir, std::move(st), f.writer_state, f.opened, f.time_end});
    }
    if (!finished_.empty()) {
      pending_.push_back({checkpoint, std::move(finished_)});
      finished_.clear();
    }
    return Status::Ok();
  }

  Status Snapshot(int64_t checkpoint, runtime::StateWriter& state) override {
    if (!two_phase_) return Status::Ok();
    batch::ColumnBuilder subtasks(types::Int32()), epochs(types::Int64()), paths(types::Utf8()),
        staging(types::Utf8()), sizes(types::Int64()), parts(types::Utf8());
    int64_t n = 0;
    for (const Epoch& e : pending_) {
      for (const PendingFile& f : e.files) {
        subtasks.AppendFixed<int32_t>(subtask_);
        epochs.AppendFixed<int64_t>(e.epoch);
        paths.AppendString(f.path);
        staging.AppendString(f.staging);
        sizes.AppendFixed<int64_t>(f.size);
        parts.AppendString(f.parts);
        ++n;
      }
    }
    batch::Batch b;
    b.schema = std::make_shared<const types::Schema>(PendingSchema());
    b.num_rows = n;
    b.columns = {subtasks.Finish(), epochs.Finish(), paths.Finish(),
                 staging.Finish(),  sizes.Finish(),  parts.Finish()};
    b.event_time = batch::Column::MakeFixed(types::Timestamp(), n);
    state.PutBatch(kPendingPiece, b);
    return SnapshotOpenFiles(state);
  }

  Status Commit(int64_t checkpoint) override {
    while (!pending_.empty() && pending_.front().epoch <= checkpoint) {
      const Epoch& e = pending_.front();
      for (size_t i = 0; i < e.files.size(); ++i) {
        SLUICE_RETURN_NOT_OK(Context(store_->Commit(e.files[i])));
        if (i == 0) fault::Hit(fault::kSinkCommit, e.epoch);  // some files of the epoch visible
      }
      pending_.erase(pending_.begin());
    }
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    if (!two_phase_) return Status::Ok();
    SLUICE_ASSIGN_OR_RETURN(std::vector<batch::BatchPtr> batches, state.GetBatches(kPendingPiece));
    std::set<std::string> keep;
    std::vector<PendingFile> mine;
    for (const batch::BatchPtr& b : batches) {
      if (b->columns.size() != 6) {
        return Status::Io("{}: the filesystem sink state of checkpoint {} is corrupt", label_,
                          state.checkpoint());
      }
      const auto* subtasks = b->columns[0]->raw<int32_t>();
      const auto* sizes = b->columns[4]->raw<int64_t>();
      for (int64_t i = 0; i < b->num_rows; ++i) {
        PendingFile f{std::string(b->columns[2]->GetString(i)),
                      std::string(b->columns[3]->GetString(i)), sizes[i],
                      std::string(b->columns[5]->GetString(i))};
        keep.insert(f.staging);
        // Old subtask k's files are committed by new subtask k mod parallelism.
        if (subtasks[i] % parallelism_ == subtask_) mine.push_back(std::move(f));
      }
    }
    for (const PendingFile& f : mine) SLUICE_RETURN_NOT_OK(Context(store_->Commit(f)));
    SLUICE_RETURN_NOT_OK(RestoreOpenFiles(state, &keep));
    if (subtask_ == 0) SLUICE_RETURN_NOT_OK(Context(store_->CleanUp(run_, keep)));
    return Status::Ok();
  }

 private:
  struct OpenFile {
    std::unique_ptr<StagedFile> staged;
    std::unique_ptr<formats::ParquetWriter> parquet;
    // Row formats: the file's writer (made at the first write to a file reopened by a restore)
    // and what resuming it takes (RecordFileWriter::file_state).
    std::unique_ptr<formats::RecordFileWriter> writer;
    std::string writer_state;
    ProcessingTime opened, last_write;
    int64_t time_end = INT64_MAX;
  };
  // An open file as PreCommit left it, for the snapshot.
  struct OpenRecord {
    std::string dir;
    OpenFileState file;
    std::string writer_state;
    ProcessingTime opened;
    int64_t time_end;
  };
  struct Epoch {
    int64_t epoch;
    std::vector<PendingFile> files;
  };

  Status Prepare(const types::Schema& schema) {
    schema_ = std::make_shared<const types::Schema>(schema);
    if (options_.format == "parquet") {
      SLUICE_RETURN_NOT_OK(formats::CheckParquetSchema(schema).WithContext(label_));
    } else {
      // The format's errors (an Avro schema that does not fit) at the start, not at a file.
      SLUICE_RETURN_NOT_OK(formats::RecordFileWriter::Make(spec_.format, schema).status());
    }
    SLUICE_ASSIGN_OR_RETURN(partitioner_, Partitioner::Make(options_.partition_fields,
                                                            options_.time_pattern, schema, label_));
    return Status::Ok();
  }

  Status Context(Status st) const { return st.ok() ? st : st.WithContext(label_); }
  template <typename T>
  Result<T> Context(Result<T> r) const {
    if (r.ok()) return r;
    return r.status().WithContext(label_);
  }

  Status WriteTo(const std::string& dir, int64_t time_end, const batch::Batch& b,
                 ProcessingTime now) {
    auto it = files_.find(dir);
    if (it == files_.end()) {
      OpenFile f;
      std::string name = fmt::format("{}part-{:03}-{}-{:05}{}", options_.file_prefix, subtask_,
                                     run_, next_file_++, options_.file_suffix);
      SLUICE_ASSIGN_OR_RETURN(f.staged,
                              Context(store_->Create(dir.empty() ? name : dir + "/" + name)));
      if (options_.format == "parquet") {
        SLUICE_ASSIGN_OR_RETURN(f.parquet, formats::ParquetWriter::Make(
                                               *schema_, spec_.format.parquet, f.staged.get()));
      } else {
        SLUICE_ASSIGN_OR_RETURN(f.writer, formats::RecordFileWriter::Make(spec_.format, *schema_));
        buffer_.clear();
        f.writer->StartFile(&buffer_);
        f.writer_state = f.writer->file_state();
        if (!buffer_.empty()) SLUICE_RETURN_NOT_OK(Context(f.staged->Append(buffer_)));
      }
      f.opened = now;
      f.time_end = time_end;
      it = files_.emplace(dir, std::move(f)).first;
    }
    OpenFile& f = it->second;
    f.last_write = now;
    if (f.parquet) {
      SLUICE_RETURN_NOT_OK(Context(f.parquet->Write(b)));
    } else {
      if (!f.writer) {  // reopened by a restore
        SLUICE_ASSIGN_OR_RETURN(f.writer, formats::RecordFileWriter::Make(spec_.format, *schema_));
        SLUICE_RETURN_NOT_OK(Context(f.writer->ResumeFile(f.writer_state)));
      }
      buffer_.clear();
      SLUICE_RETURN_NOT_OK(f.writer->Write(b, &buffer_));
      SLUICE_RETURN_NOT_OK(Context(f.staged->Append(buffer_)));
    }
    if (options_.roll_bytes && Size(f) >= *options_.roll_bytes) return Roll(it);
    return Status::Ok();
  }

  static int64_t Size(const OpenFile& f) {
    return f.parquet ? f.parquet->estimated_size() : f.staged->size();
  }

  Status Roll(std::unordered_map<std::string, OpenFile>::iterator it) {
    OpenFile f = std::move(it->second);
    files_.erase(it);
    if (f.parquet) SLUICE_RETURN_NOT_OK(Context(f.parquet->Close()));
    SLUICE_ASSIGN_OR_RETURN(PendingFile done, Context(f.staged->Finish()));
    if (two_phase_) {
      finished_.push_back(std::move(done));
      return Status::Ok();
    }
    return Context(store_->Commit(done));
  }

  Status SnapshotOpenFiles(runtime::StateWriter& state) {
    const types::DataType binary(types::TypeId::kBinary);
    batch::ColumnBuilder subtasks(types::Int32()), dirs(types::Utf8()), paths(types::Utf8()),
        staging(types::Utf8()), sizes(types::Int64()), parts(types::Utf8()), tails(binary),
        writer_states(binary), opened(types::Int64()), time_ends(types::Int64());
    for (const OpenRecord& r : open_states_) {
      subtasks.AppendFixed<int32_t>(subtask_);
      dirs.AppendString(r.dir);
      paths.AppendString(r.file.path);
      staging.AppendString(r.file.staging);
      sizes.AppendFixed<int64_t>(r.file.size);
      parts.AppendString(r.file.parts);
      tails.AppendString(r.file.tail);
      writer_states.AppendString(r.writer_state);
      opened.AppendFixed<int64_t>(r.opened.value);
      time_ends.AppendFixed<int64_t>(r.time_end);
    }
    const auto n = static_cast<int64_t>(open_states_.size());
    batch::Batch b;
    b.schema = std::make_shared<const types::Schema>(OpenSchema());
    b.num_rows = n;
    b.columns = {subtasks.Finish(), dirs.Finish(),     paths.Finish(), staging.Finish(),
                 sizes.Finish(),    parts.Finish(),    tails.Finish(), writer_states.Finish(),
                 opened.Finish(),   time_ends.Finish()};
    b.event_time = batch::Column::MakeFixed(types::Timestamp(), n);
    state.PutBatch(kOpenPiece, b);
    return Status::Ok();
  }

  // Reopens the files the checkpoint recorded as open (old subtask k's by new subtask k mod
  // parallelism) at their valid length; adds every one's staged name to `keep`. With a smaller
  // parallelism two of them may be for one directory: the second is finished, to be committed
  // with the next checkpoint.
  Status RestoreOpenFiles(runtime::StateReader& state, std::set<std::string>* keep) {
    SLUICE_ASSIGN_OR_RETURN(std::vector<batch::BatchPtr> batches, state.GetBatches(kOpenPiece));
    const ProcessingTime now = Now();
    for (const batch::BatchPtr& b : batches) {
      if (b->columns.size() != 10) {
        return Status::Io("{}: the filesystem sink state of checkpoint {} is corrupt", label_,
                          state.checkpoint());
      }
      const auto* subtasks = b->columns[0]->raw<int32_t>();
      const auto* sizes = b->columns[4]->raw<int64_t>();
      const auto* opened = b->columns[8]->raw<int64_t>();
      const auto* time_ends = b->columns[9]->raw<int64_t>();
      for (int64_t i = 0; i < b->num_rows; ++i) {
        OpenFileState st{std::string(b->columns[2]->GetString(i)),
                         std::string(b->columns[3]->GetString(i)), sizes[i],
                         std::string(b->columns[5]->GetString(i)),
                         std::string(b->columns[6]->GetString(i))};
        keep->insert(st.staging);
        keep->insert(st.path);  // S3: an upload Resume restarts gets a new id
        if (subtasks[i] % parallelism_ != subtask_) continue;
        OpenFile f;
        SLUICE_ASSIGN_OR_RETURN(f.staged, Context(store_->Resume(st)));
        std::string dir(b->columns[1]->GetString(i));
        if (files_.count(dir)) {
          SLUICE_ASSIGN_OR_RETURN(PendingFile done, Context(f.staged->Finish()));
          finished_.push_back(std::move(done));
          continue;
        }
        f.writer_state = std::string(b->columns[7]->GetString(i));
        f.opened = ProcessingTime{opened[i]};
        f.last_write = now;
        f.time_end = time_ends[i];
        files_.emplace(std::move(dir), std::move(f));
      }
    }
    return Status::Ok();
  }

  Status RollAll() {
    while (!files_.empty()) SLUICE_RETURN_NOT_OK(Roll(files_.begin()));
    return Status::Ok();
  }

  // Rolls the files past their age or inactivity limit, and, with a watermark, those whose
  // time partition it passed.
  Status RollByTime(ProcessingTime now, std::optional<int64_t> watermark) {
    if (!options_.roll_interval_micros && !options_.roll_inactivity_micros && !watermark) {
      return Status::Ok();
    }
    for (auto it = files_.begin(); it != files_.end();) {
      const OpenFile& f = it->second;
      bool roll = (options_.roll_interval_micros &&
                   now.value - f.opened.value >= *options_.roll_interval_micros) ||
                  (options_.roll_inactivity_micros &&
                   now.value - f.last_write.value >= *options_.roll_inactivity_micros) ||
                  (watermark && f.time_end != INT64_MAX && *watermark >= f.time_end);
      auto next = std::next(it);
      if (roll) SLUICE_RETURN_NOT_OK(Roll(it));
      it = next;
    }
    return Status::Ok();
  }

  TableSpec spec_;
  FilesystemOptions options_;
  std::shared_ptr<OutputStore> store_;
  std::string run_;
  int subtask_;
  int parallelism_;
  std::string label_;
  bool two_phase_ = false;
  types::SchemaPtr schema_;
  Partitioner partitioner_;
  std::vector<PartitionGroup> groups_;
  std::unordered_map<std::string, OpenFile> files_;  // by partition directory
  int64_t next_file_ = 0;
  std::string buffer_;
  std::vector<OpenRecord> open_states_;  // the open files at the last barrier
  std::vector<PendingFile> finished_;    // rolled since the last barrier
  std::vector<Epoch> pending_;           // pre-committed, in epoch order
};

}  // namespace

Result<std::unique_ptr<runtime::Operator>> MakeFilesystemSink(const TableSpec& spec,
                                                              const FilesystemOptions& options,
                                                              std::shared_ptr<OutputStore> store,
                                                              const std::string& run, int subtask,
                                                              int parallelism) {
  return std::unique_ptr<runtime::Operator>(
      std::make_unique<FilesystemSink>(spec, options, std::move(store), run, subtask, parallelism));
}

}  // namespace sluice::connectors::filesystem
