// The filesystem source: the files under a directory, a glob or an S3 prefix, sorted by name,
// file i read by subtask i mod parallelism; JSON lines (optionally gzip- or zstd-compressed) or
// Parquet. It ends once its files are read. Its position in checkpoints is, per file, how many
// records (lines, or Parquet rows) it consumed and whether the file is done, keyed by file name,
// so a restore at another parallelism resumes every file where it stopped.

#include "connectors/filesystem/filesystem_source.h"

#include <glob.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>
#include <re2/re2.h>

#include "batch/column_builder.h"
#include "connectors/filesystem/output_store.h"
#include "formats/format.h"
#include "formats/parquet/arrow_plugin.h"
#include "formats/parquet/parquet_reader.h"
#include "formats/record_file.h"
#include "runtime/checkpoint_storage.h"

namespace sluice::connectors::filesystem {

namespace {

namespace fs = std::filesystem;
constexpr std::string_view kPositionsPiece = "file_positions_1";

bool Hidden(const std::string& name) {
  return name.empty() || name[0] == '.' || name[0] == '_';
}

// The files a path names, sorted: a directory's files (recursively, hidden ones skipped), the
// matches of a glob, or one file.
Result<std::vector<std::string>> ListLocal(const std::string& path) {
  std::vector<std::string> out;
  std::error_code ec;
  if (path.find_first_of("*?[") != std::string::npos) {
    glob_t g{};
    int rc = ::glob(path.c_str(), 0, nullptr, &g);
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        if (fs::is_regular_file(g.gl_pathv[i], ec)) out.emplace_back(g.gl_pathv[i]);
      }
    }
    ::globfree(&g);
  } else if (fs::is_directory(path, ec)) {
    for (auto it = fs::recursive_directory_iterator(path, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      const std::string name = it->path().filename().string();
      if (Hidden(name)) {
        if (it->is_directory()) it.disable_recursion_pending();
        continue;
      }
      if (it->is_regular_file()) out.push_back(it->path().string());
    }
    if (ec) return Status::Io("cannot list '{}': {}", path, ec.message());
  } else if (fs::is_regular_file(path, ec)) {
    out.push_back(path);
  } else {
    return Status::User("path '{}' does not exist", path);
  }
  std::sort(out.begin(), out.end());
  return out;
}

Result<std::string> ReadLocal(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::Io("cannot open '{}'", path);
  std::ostringstream s;
  s << in.rdbuf();
  return std::move(s).str();
}

class FilesystemSource : public runtime::SourceOperator {
 public:
  FilesystemSource(const TableSpec& spec, const FilesystemOptions& options, int subtask,
                   int parallelism)
      : spec_(spec),
        options_(options),
        subtask_(subtask),
        parallelism_(parallelism),
        label_(fmt::format("table '{}'", spec.table_name)),
        schema_(std::make_shared<const types::Schema>(spec.schema)) {}

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    std::vector<std::string> all;
    if (options_.s3) {
      auto storage = runtime::OpenCheckpointStorage(options_.path);
      if (!storage.ok()) return AsPathError(storage.status()).WithContext(label_);
      storage_ = std::move(*storage);
      SLUICE_ASSIGN_OR_RETURN(all, storage_->List(""));
      std::erase_if(all, [](const std::string& k) {
        return Hidden(fs::path(k).filename().string()) || k.find("/.") != std::string::npos;
      });
    } else {
      SLUICE_ASSIGN_OR_RETURN(all, ListLocal(options_.path));
    }
    if (!options_.regex_pattern.empty()) {
      RE2 re(options_.regex_pattern);
      if (!re.ok()) {
        return Status::User("{}: invalid source.regex_pattern '{}': {}", label_,
                            options_.regex_pattern, re.error());
      }
      std::erase_if(all, [&](const std::string& k) { return !RE2::PartialMatch(k, re); });
    }
    for (size_t i = 0; i < all.size(); ++i) {
      if (static_cast<int>(i % static_cast<size_t>(parallelism_)) == subtask_) {
        files_.push_back({all[i], 0, false});
      }
    }
    return Status::Ok();
  }

  Result<runtime::SourcePoll> Poll(runtime::Collector& out) override {
    if (ctx_ && ctx_->stop_requested && ctx_->stop_requested->load()) {
      return runtime::SourcePoll::Finished();
    }
    while (current_ < files_.size() && files_[current_].done) ++current_;
    if (current_ == files_.size()) return runtime::SourcePoll::Finished();
    File& f = files_[current_];
    if (!opened_) SLUICE_RETURN_NOT_OK(OpenCurrent(f));
    if (parquet_) {
      SLUICE_ASSIGN_OR_RETURN(batch::BatchPtr b, parquet_->Next());
      if (b == nullptr) return FinishCurrent(f);
      f.consumed += b->num_rows;
      return Emit(out, std::const_pointer_cast<batch::Batch>(b));
    }
    // Records (lines, Avro blocks, Protobuf messages) from the file's bytes.
    SLUICE_ASSIGN_OR_RETURN(int64_t consumed, records_->Read(spec_.batch_rows));
    f.consumed += consumed;
    formats::Decoder& decoder = records_->decoder();
    if (decoder.pending_rows() > 0) {
      auto b = std::make_shared<batch::Batch>();
      b->num_rows = decoder.pending_rows();
      b->columns = decoder.Flush();
      SLUICE_ASSIGN_OR_RETURN(auto poll, Emit(out, b));
      (void)poll;
    }
    if (ctx_ && ctx_->metrics) {
      ctx_->metrics->bad_rows_dropped += decoder.dropped_rows() - dropped_reported_;
    }
    dropped_reported_ = decoder.dropped_rows();
    if (records_->done()) return FinishCurrent(f);
    return runtime::SourcePoll::More();
  }

  Status Snapshot(int64_t checkpoint, runtime::StateWriter& state) override {
    batch::ColumnBuilder names(types::Utf8()), consumed(types::Int64()), done(types::Bool());
    for (const File& f : files_) {
      names.AppendString(f.name);
      consumed.AppendFixed<int64_t>(f.consumed);
      done.AppendBool(f.done);
    }
    batch::Batch b;
    b.schema =
        std::make_shared<const types::Schema>(types::Schema({{"file", types::Utf8(), false},
                                                             {"consumed", types::Int64(), false},
                                                             {"done", types::Bool(), false}}));
    b.num_rows = static_cast<int64_t>(files_.size());
    b.columns = {names.Finish(), consumed.Finish(), done.Finish()};
    b.event_time = batch::Column::MakeFixed(types::Timestamp(), b.num_rows);
    state.PutBatch(kPositionsPiece, b);
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    SLUICE_ASSIGN_OR_RETURN(std::vector<batch::BatchPtr> batches,
                            state.GetBatches(kPositionsPiece));
    std::map<std::string, std::pair<int64_t, bool>, std::less<>> positions;
    for (const batch::BatchPtr& b : batches) {
      if (b->columns.size() != 3) {
        return Status::Io("{}: the filesystem source state of checkpoint {} is corrupt", label_,
                          state.checkpoint());
      }
      for (int64_t i = 0; i < b->num_rows; ++i) {
        positions[std::string(b->columns[0]->GetString(i))] = {b->columns[1]->raw<int64_t>()[i],
                                                               b->columns[2]->GetBool(i)};
      }
    }
    for (File& f : files_) {
      auto it = positions.find(f.name);
      if (it == positions.end()) continue;  // a file that appeared since: read it whole
      f.consumed = it->second.first;
      f.done = it->second.second;
    }
    return Status::Ok();
  }

 private:
  struct File {
    std::string name;
    int64_t consumed = 0;  // records (lines or rows) read and emitted
    bool done = false;
  };

  Status OpenCurrent(File& f) {
    std::string bytes;
    if (storage_) {
      SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> object, storage_->Get(f.name));
      if (!object) return Status::Io("{}: object '{}' disappeared", label_, f.name);
      bytes = std::move(*object);
    } else if (spec_.format.format != "parquet") {
      SLUICE_ASSIGN_OR_RETURN(bytes, ReadLocal(f.name));
    }
    if (spec_.format.format == "parquet") {
      std::shared_ptr<const std::string> held;
      if (storage_) held = std::make_shared<const std::string>(std::move(bytes));
      auto reader =
          formats::ParquetReader::Open(f.name, held, spec_.schema, spec_.batch_rows, f.consumed);
      if (!reader.ok()) return reader.status().WithContext(label_);
      parquet_ = std::move(*reader);
    } else {
      if (options_.compression != FileCompression::kNone) {
        SLUICE_ASSIGN_OR_RETURN(
            bytes,
            formats::DecompressFile(f.name, bytes, options_.compression == FileCompression::kGzip));
      }
      bytes.append(formats::kLinePadding, '\0');  // decoders may read past a record's end
      auto reader = formats::RecordFileReader::Open(spec_.format, spec_.schema, f.name,
                                                    std::move(bytes), label_);
      if (!reader.ok()) return reader.status().WithContext(label_);
      records_ = std::move(*reader);
      dropped_reported_ = 0;
      // A resumed file: skip the records consumed before the checkpoint.
      SLUICE_RETURN_NOT_OK(records_->Skip(f.consumed).WithContext(label_));
    }
    opened_ = true;
    return Status::Ok();
  }

  Result<runtime::SourcePoll> FinishCurrent(File& f) {
    f.done = true;
    opened_ = false;
    parquet_.reset();
    records_.reset();
    ++current_;
    return current_ >= files_.size() ? runtime::SourcePoll::Finished()
                                     : runtime::SourcePoll::More();
  }

  Result<runtime::SourcePoll> Emit(runtime::Collector& out, std::shared_ptr<batch::Batch> b) {
    b->schema = schema_;
    auto event_time = batch::Column::MakeFixed(types::Timestamp(), b->num_rows);
    std::fill_n(event_time->mutable_raw<int64_t>(), b->num_rows, Now().value);
    b->event_time = event_time;
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += b->num_rows;
    SLUICE_RETURN_NOT_OK(out.Emit(b));
    return runtime::SourcePoll::More();
  }

  TableSpec spec_;
  FilesystemOptions options_;
  int subtask_;
  int parallelism_;
  std::string label_;
  types::SchemaPtr schema_;
  std::shared_ptr<runtime::CheckpointStorage> storage_;  // S3
  std::vector<File> files_;
  size_t current_ = 0;
  bool opened_ = false;
  std::unique_ptr<formats::ParquetReader> parquet_;
  std::unique_ptr<formats::RecordFileReader> records_;  // the open file, but Parquet
  int64_t dropped_reported_ = 0;
};

}  // namespace

Result<std::unique_ptr<runtime::SourceOperator>> MakeFilesystemSource(
    const TableSpec& spec, const FilesystemOptions& options, int subtask, int parallelism) {
  return std::unique_ptr<runtime::SourceOperator>(
      std::make_unique<FilesystemSource>(spec, options, subtask, parallelism));
}

}  // namespace sluice::connectors::filesystem
