// single_file: one local file of newline-framed records, read as a finite source or written as
// a sink. One subtask: a file has one reader position and one writer position.
//
// With checkpoints the source stores its position (byte offset and line number) and the sink
// is exactly-once through two-phase commit:
//   <path>.inprogress    rows written since the last barrier
//   <path>.pending-<n>   the rows of checkpoint n: renamed from .inprogress and fsynced at the
//                        barrier (PreCommit); appended to <path> once n is complete (Commit)
// The sink's snapshot records the committed length of <path> and the pending parts with their
// sizes, so Restore can finish a commit a crash interrupted and cut <path> back to exactly what
// the checkpoint covers; the source then replays the rows after it.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>

#include <fmt/format.h>

#include "batch/serialize.h"
#include "common/fault.h"
#include "connectors/connector.h"
#include "connectors/source_batch.h"

namespace sluice::connectors {

namespace {

constexpr size_t kWriteBufferBytes = 1 << 20;
// The source reads blocks of this size (more for a longer line) and decodes lines in place.
constexpr size_t kReadBufferBytes = 1 << 18;

std::string SourceName(const TableSpec& spec) {
  return fmt::format("table '{}'", spec.table_name);
}

std::string FormatDescription(const formats::FormatOptions& format) {
  std::string s = "format=" + format.format;
  if (format.bad_data == formats::BadDataPolicy::kDrop) s += " bad_data=drop";
  switch (format.timestamp_format) {
    case formats::TimestampFormat::kRfc3339:
      break;
    case formats::TimestampFormat::kUnixSeconds:
      s += " json.timestamp_format=unix_seconds";
      break;
    case formats::TimestampFormat::kUnixMillis:
      s += " json.timestamp_format=unix_millis";
      break;
    case formats::TimestampFormat::kUnixMicros:
      s += " json.timestamp_format=unix_micros";
      break;
  }
  if (format.unstructured) s += " json.unstructured=true";
  return s;
}

// Why `path` cannot be read, or empty.
std::string ReadProblem(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    return fmt::format("cannot open '{}': {}", path, std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode)) return fmt::format("cannot open '{}': it is a directory", path);
  FILE* f = std::fopen(path.c_str(), "r");
  if (f == nullptr) return fmt::format("cannot open '{}': {}", path, std::strerror(errno));
  std::fclose(f);
  return "";
}

// Why `path` cannot be created, or empty. Only checked, not created: planning has no side
// effects.
std::string WriteProblem(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p(path);
  if (std::filesystem::is_directory(p, ec)) {
    return fmt::format("cannot write '{}': it is a directory", path);
  }
  std::filesystem::path dir = p.parent_path();
  if (dir.empty()) dir = ".";
  if (!std::filesystem::is_directory(dir, ec)) {
    return fmt::format("cannot write '{}': directory '{}' does not exist", path, dir.string());
  }
  return "";
}

Status SyncError(const std::string& what, const std::string& path) {
  return Status::Io("cannot {} '{}': {}", what, path, std::strerror(errno));
}

// fsync of the directory holding `path`, so a rename or creation in it survives a crash.
Status SyncParentDirectory(const std::string& path) {
  std::filesystem::path dir = std::filesystem::path(path).parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return SyncError("open directory", dir.string());
  int rc = ::fsync(fd);
  ::close(fd);
  if (rc != 0) return SyncError("sync directory", dir.string());
  return Status::Ok();
}

class SingleFileSource : public runtime::SourceOperator {
 public:
  explicit SingleFileSource(const TableSpec& spec)
      : spec_(spec),
        path_(spec.options.at("path")),
        schema_(std::make_shared<const types::Schema>(spec.schema)) {}
  ~SingleFileSource() override { CloseFile(); }

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0) {
      return Status::Io("{}: cannot open '{}': {}", SourceName(spec_), path_, std::strerror(errno));
    }
    Grow(kReadBufferBytes);
    SLUICE_ASSIGN_OR_RETURN(decoder_,
                            formats::MakeDecoder(spec_.format, spec_.schema, SourceName(spec_)));
    return Status::Ok();
  }

  Result<runtime::SourcePoll> Poll(runtime::Collector& out) override {
    if (ctx_ && ctx_->stop_requested && ctx_->stop_requested->load()) {
      return runtime::SourcePoll::Finished();
    }
    if (fd_ < 0) return runtime::SourcePoll::Finished();
    // Bounded by lines read too, so a run of dropped rows does not hold the task.
    int64_t lines = 0;
    while (decoder_->pending_rows() < spec_.batch_rows && lines < 4 * spec_.batch_rows) {
      std::string_view record;
      size_t n = 0;
      SLUICE_ASSIGN_OR_RETURN(bool more, NextLine(&record, &n));
      if (!more) {
        eof_ = true;
        break;
      }
      ++lines;
      ++line_number_;
      offset_ += static_cast<int64_t>(n);
      if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
      // Empty lines are held back until a later line shows they are not trailing ones.
      if (record.empty()) {
        ++held_empty_lines_;
        continue;
      }
      for (; held_empty_lines_ > 0; --held_empty_lines_) {
        position_ = fmt::format("line {}", line_number_ - held_empty_lines_);
        SLUICE_RETURN_NOT_OK(decoder_->Append("", position_));
      }
      // The record lies in the read buffer, followed by its padding.
      SLUICE_RETURN_NOT_OK(decoder_->AppendLine(record, line_number_));
    }
    SLUICE_RETURN_NOT_OK(EmitPending(out));
    if (eof_) {
      CloseFile();
      return runtime::SourcePoll::Finished();
    }
    return runtime::SourcePoll::More();
  }

  Status Close() override {
    CloseFile();
    return Status::Ok();
  }

  // Between polls every line read has been emitted, except empty lines held back (they count
  // as read: a resumed run still emits them before the next non-empty line).
  Status Snapshot(int64_t checkpoint, runtime::StateWriter& state) override {
    std::string bytes;
    batch::ByteWriter w(&bytes);
    w.Put<uint8_t>(kStateVersion);
    w.Put<int64_t>(offset_);
    w.Put<int64_t>(line_number_);
    w.Put<int64_t>(held_empty_lines_);
    w.Put<uint8_t>(eof_ ? 1 : 0);
    state.Put("position", bytes);
    return Status::Ok();
  }

  Status Restore(runtime::StateReader& state) override {
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, state.Get("position"));
    if (!bytes) return Status::Ok();
    batch::ByteReader r(*bytes, "single_file source state");
    uint8_t version = 0, eof = 0;
    SLUICE_RETURN_NOT_OK(r.Get(&version));
    if (version != kStateVersion) return r.Corrupt("unknown version");
    SLUICE_RETURN_NOT_OK(r.Get(&offset_));
    SLUICE_RETURN_NOT_OK(r.Get(&line_number_));
    SLUICE_RETURN_NOT_OK(r.Get(&held_empty_lines_));
    SLUICE_RETURN_NOT_OK(r.Get(&eof));
    if (offset_ < 0 || line_number_ < 0 || held_empty_lines_ < 0) return r.Corrupt("negative");
    if (eof) {
      eof_ = true;
      CloseFile();
      return Status::Ok();
    }
    struct stat st;
    if (fd_ < 0 || fstat(fd_, &st) != 0) {
      return Status::Io("{}: cannot stat '{}': {}", SourceName(spec_), path_, std::strerror(errno));
    }
    if (st.st_size < offset_) {
      return Status::User(
          "{}: '{}' has {} bytes, fewer than the {} bytes read before checkpoint {}; the input "
          "changed since",
          SourceName(spec_), path_, static_cast<int64_t>(st.st_size), offset_, state.checkpoint());
    }
    if (::lseek(fd_, offset_, SEEK_SET) != offset_) {
      return Status::Io("{}: cannot seek in '{}': {}", SourceName(spec_), path_,
                        std::strerror(errno));
    }
    begin_ = end_ = 0;  // nothing read past the position
    read_eof_ = false;
    return Status::Ok();
  }

 private:
  static constexpr uint8_t kStateVersion = 1;

  // The next line of the file, without its '\n', in the read buffer with at least
  // formats::kLinePadding readable bytes after it; `*consumed` is its length in the file. False
  // at the end of the file.
  Result<bool> NextLine(std::string_view* line, size_t* consumed) {
    while (true) {
      const char* start = buffer_.get() + begin_;
      const auto* newline = static_cast<const char*>(std::memchr(start, '\n', end_ - begin_));
      if (newline != nullptr) {
        *line = std::string_view(start, static_cast<size_t>(newline - start));
        *consumed = line->size() + 1;
        begin_ += *consumed;
        return true;
      }
      if (read_eof_) {
        if (begin_ == end_) return false;
        *line = std::string_view(start, end_ - begin_);  // the last line has no '\n'
        *consumed = line->size();
        begin_ = end_;
        return true;
      }
      // Keep the unfinished line, at the front of the buffer, and read more after it.
      const size_t rest = end_ - begin_;
      if (begin_ > 0) {
        std::memmove(buffer_.get(), start, rest);
        begin_ = 0;
        end_ = rest;
      }
      if (end_ == capacity_) Grow(2 * capacity_);
      ssize_t n;
      do {
        n = ::read(fd_, buffer_.get() + end_, capacity_ - end_);
      } while (n < 0 && errno == EINTR);
      if (n < 0) {
        return Status::Io("{}: cannot read '{}': {}", SourceName(spec_), path_,
                          std::strerror(errno));
      }
      if (n == 0) read_eof_ = true;
      end_ += static_cast<size_t>(n);
    }
  }

  // A buffer of `capacity` bytes and the padding after them, keeping what it holds.
  void Grow(size_t capacity) {
    auto bigger = std::make_unique<char[]>(capacity + formats::kLinePadding);  // zeroed
    if (end_ > 0) std::memcpy(bigger.get(), buffer_.get(), end_);
    buffer_ = std::move(bigger);
    capacity_ = capacity;
  }

  Status EmitPending(runtime::Collector& out) {
    if (ctx_ && ctx_->metrics) {
      ctx_->metrics->bad_rows_dropped += decoder_->dropped_rows() - dropped_reported_;
    }
    dropped_reported_ = decoder_->dropped_rows();
    int64_t n = decoder_->pending_rows();
    if (n == 0) return Status::Ok();
    auto b = std::make_shared<batch::Batch>();
    b->schema = schema_;
    b->columns = decoder_->Flush();
    b->change_kind = decoder_->flushed_change_kinds();  // debezium_json: an updating stream
    b->num_rows = n;
    // Without a declared event time a row's event time is the time it was read.
    auto event_time = batch::Column::MakeFixed(types::Timestamp(), n);
    std::fill_n(event_time->mutable_raw<int64_t>(), n, Now().value);
    b->event_time = event_time;
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += n;
    return out.Emit(b);
  }

  void CloseFile() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    buffer_.reset();
    capacity_ = begin_ = end_ = 0;
  }

  TableSpec spec_;
  std::string path_;
  types::SchemaPtr schema_;
  std::unique_ptr<formats::Decoder> decoder_;
  int fd_ = -1;
  // Bytes [begin_, end_) of the buffer are read from the file and not yet handed out as lines;
  // capacity_ bytes are followed by formats::kLinePadding more.
  std::unique_ptr<char[]> buffer_;
  size_t capacity_ = 0, begin_ = 0, end_ = 0;
  bool read_eof_ = false;
  int64_t line_number_ = 0;
  int64_t offset_ = 0;  // bytes read
  int64_t held_empty_lines_ = 0;
  int64_t dropped_reported_ = 0;
  bool eof_ = false;
  std::string position_;
};

class SingleFileSink : public runtime::Operator {
 public:
  explicit SingleFileSink(const TableSpec& spec) : spec_(spec), path_(spec.options.at("path")) {}
  ~SingleFileSink() override {
    if (file_ != nullptr) std::fclose(file_);
  }

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    if (ctx.checkpointing) {
      two_phase_ = true;
      if (!ctx.restored_checkpoint) {
        // A fresh start: an empty output, no parts of an earlier run.
        SLUICE_RETURN_NOT_OK(RemovePendingParts());
        SLUICE_RETURN_NOT_OK(CutOutput(0, /*create=*/true));
      }
      // Rows after the last checkpoint of an earlier run are produced again: a fresh part.
      SLUICE_RETURN_NOT_OK(OpenFile(PartPath(), "w"));
    } else {
      SLUICE_RETURN_NOT_OK(OpenFile(path_, "w"));
    }
    if (spec_.schema.size() > 0) {
      SLUICE_ASSIGN_OR_RETURN(encoder_, formats::MakeEncoder(spec_.format, spec_.schema));
    }
    return Status::Ok();
  }

  Status ProcessBatch(int input, const batch::BatchPtr& batch, runtime::Collector& out) override {
    if (batch->num_rows == 0) return Status::Ok();
    if (file_ == nullptr) return Status::Internal("single_file sink used before Open");
    if (encoder_ == nullptr) {
      // No declared columns: the rows of the query inserting into the table define them.
      SLUICE_ASSIGN_OR_RETURN(encoder_, formats::MakeEncoder(spec_.format, *batch->schema));
    }
    buffer_.clear();
    SLUICE_RETURN_NOT_OK(encoder_->Encode(*batch, &buffer_));
    if (std::fwrite(buffer_.data(), 1, buffer_.size(), file_) != buffer_.size()) {
      return WriteError(file_path());
    }
    file_bytes_ += buffer_.size();
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += batch->num_rows;
    return Status::Ok();
  }

  Status OnEndOfInput(runtime::Collector& out) override {
    if (file_ != nullptr && std::fflush(file_) != 0) return WriteError(file_path());
    return Status::Ok();
  }

  Status Close() override {
    if (file_ == nullptr) return Status::Ok();
    int flushed = std::fflush(file_);
    int closed = std::fclose(file_);
    file_ = nullptr;
    if (two_phase_) {
      // Uncommitted rows: a resumed run produces them again.
      std::remove(PartPath().c_str());
      return Status::Ok();
    }
    if (flushed != 0 || closed != 0) return WriteError(path_);
    return Status::Ok();
  }

  // The rows since the previous barrier become the durable part of checkpoint n.
  Status PreCommit(int64_t checkpoint) override {
    if (!two_phase_ || file_bytes_ == 0) return Status::Ok();
    const std::string part = PartPath();
    const std::string pending = PendingPath(checkpoint);
    if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0) return WriteError(part);
    int closed = std::fclose(file_);
    file_ = nullptr;
    if (closed != 0) return WriteError(part);
    if (std::rename(part.c_str(), pending.c_str()) != 0) return SyncError("rename", part);
    SLUICE_RETURN_NOT_OK(SyncParentDirectory(pending));
    pending_.push_back({checkpoint, file_bytes_});
    file_bytes_ = 0;
    return OpenFile(part, "w");
  }

  Status Snapshot(int64_t checkpoint, runtime::StateWriter& state) override {
    if (!two_phase_) return Status::Ok();
    std::string bytes;
    batch::ByteWriter w(&bytes);
    w.Put<uint8_t>(kStateVersion);
    w.Put<int64_t>(committed_checkpoint_);
    w.Put<uint64_t>(committed_length_);
    w.Put<uint32_t>(static_cast<uint32_t>(pending_.size()));
    for (const auto& p : pending_) {
      w.Put<int64_t>(p.checkpoint);
      w.Put<uint64_t>(p.size);
    }
    state.Put("commits", bytes);
    return Status::Ok();
  }

  // Appends the parts of every checkpoint up to n to the output, in order.
  Status Commit(int64_t checkpoint) override {
    if (!two_phase_) return Status::Ok();
    bool hit = false;
    size_t done = 0;
    for (; done < pending_.size() && pending_[done].checkpoint <= checkpoint; ++done) {
      const Part& p = pending_[done];
      SLUICE_RETURN_NOT_OK(AppendPart(p, committed_length_, hit ? -1 : checkpoint));
      hit = true;
      committed_length_ += p.size;
      std::remove(PendingPath(p.checkpoint).c_str());
    }
    if (!hit) fault::Hit(fault::kSinkCommit, checkpoint);
    pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(done));
    committed_checkpoint_ = checkpoint;
    return Status::Ok();
  }

  // Brings the output to exactly what the checkpoint covers: finishes the commits it includes
  // that a crash interrupted (or never started), and cuts what later commits appended.
  Status Restore(runtime::StateReader& state) override {
    SLUICE_ASSIGN_OR_RETURN(std::optional<std::string> bytes, state.Get("commits"));
    if (!bytes) return Status::Internal("{}: no sink state in checkpoint", SourceName(spec_));
    batch::ByteReader r(*bytes, "single_file sink state");
    uint8_t version = 0;
    uint32_t count = 0;
    SLUICE_RETURN_NOT_OK(r.Get(&version));
    if (version != kStateVersion) return r.Corrupt("unknown version");
    SLUICE_RETURN_NOT_OK(r.Get(&committed_checkpoint_));
    SLUICE_RETURN_NOT_OK(r.Get(&committed_length_));
    SLUICE_RETURN_NOT_OK(r.Get(&count));
    std::vector<Part> parts;
    for (uint32_t i = 0; i < count; ++i) {
      Part p;
      SLUICE_RETURN_NOT_OK(r.Get(&p.checkpoint));
      SLUICE_RETURN_NOT_OK(r.Get(&p.size));
      parts.push_back(p);
    }
    struct stat st;
    uint64_t length = 0;
    if (stat(path_.c_str(), &st) == 0) {
      length = static_cast<uint64_t>(st.st_size);
    } else if (errno != ENOENT) {
      return SyncError("stat", path_);
    }
    if (length < committed_length_) {
      return Status::User(
          "{}: '{}' has {} bytes, fewer than the {} bytes committed before checkpoint {}; it was "
          "truncated or replaced since (remove the state dir to start over)",
          SourceName(spec_), path_, length, committed_length_, state.checkpoint());
    }
    uint64_t pos = committed_length_;
    for (const Part& p : parts) {
      if (length >= pos + p.size) {
        pos += p.size;  // committed before the crash
        continue;
      }
      SLUICE_RETURN_NOT_OK(AppendPart(p, pos, -1));
      pos += p.size;
      length = pos;
    }
    if (length != pos) SLUICE_RETURN_NOT_OK(CutOutput(pos, /*create=*/false));
    committed_length_ = pos;
    committed_checkpoint_ = state.checkpoint();
    pending_.clear();
    return RemovePendingParts();
  }

 private:
  static constexpr uint8_t kStateVersion = 1;
  static constexpr size_t kCopyChunk = 1 << 20;

  struct Part {
    int64_t checkpoint = 0;
    uint64_t size = 0;
  };

  std::string PartPath() const { return path_ + ".inprogress"; }
  std::string PendingPath(int64_t checkpoint) const {
    return fmt::format("{}.pending-{}", path_, checkpoint);
  }
  const std::string& file_path() const { return two_phase_ ? part_path_ : path_; }

  Status OpenFile(const std::string& path, const char* mode) {
    file_ = std::fopen(path.c_str(), mode);
    if (file_ == nullptr) {
      return Status::Io("{}: cannot open '{}' for writing: {}", SourceName(spec_), path,
                        std::strerror(errno));
    }
    std::setvbuf(file_, nullptr, _IOFBF, kWriteBufferBytes);
    if (two_phase_) part_path_ = path;
    file_bytes_ = 0;
    return Status::Ok();
  }

  // Truncates (or creates) the output to `length` bytes, durably.
  Status CutOutput(uint64_t length, bool create) {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CLOEXEC | (create ? O_CREAT : 0), 0644);
    if (fd < 0) return SyncError("open", path_);
    if (::ftruncate(fd, static_cast<off_t>(length)) != 0 || ::fsync(fd) != 0) {
      ::close(fd);
      return SyncError("truncate", path_);
    }
    ::close(fd);
    return create ? SyncParentDirectory(path_) : Status::Ok();
  }

  // Writes part `p` into the output at byte `at` and fsyncs it. With `fault_checkpoint` >= 0,
  // the sink_commit fault point of that checkpoint is passed halfway through.
  Status AppendPart(const Part& p, uint64_t at, int64_t fault_checkpoint) {
    const std::string part = PendingPath(p.checkpoint);
    int in = ::open(part.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) {
      return Status::Io("{}: cannot commit checkpoint {}: '{}': {}", SourceName(spec_),
                        p.checkpoint, part, std::strerror(errno));
    }
    int out = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (out < 0) {
      ::close(in);
      return SyncError("open", path_);
    }
    std::string buf;  // for the fallback when the kernel cannot copy between the files
    uint64_t copied = 0;
    Status st;
    while (st.ok() && copied < p.size) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(kCopyChunk, p.size - copied));
      if (fault_checkpoint >= 0 && copied == 0) want = std::max<size_t>(want / 2, 1);
      off_t in_off = static_cast<off_t>(copied);
      off_t out_off = static_cast<off_t>(at + copied);
      ssize_t n = buf.empty() ? ::copy_file_range(in, &in_off, out, &out_off, want, 0) : -1;
      if (n < 0 && buf.empty() &&
          (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
        buf.resize(kCopyChunk);
      }
      if (!buf.empty()) {
        n = ::pread(in, buf.data(), want, static_cast<off_t>(copied));
        if (n > 0 && ::pwrite(out, buf.data(), static_cast<size_t>(n),
                              static_cast<off_t>(at + copied)) != n) {
          st = SyncError("write", path_);
          break;
        }
      }
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        st = n == 0 ? Status::Io("{}: '{}' is shorter than recorded", SourceName(spec_), part)
                    : SyncError("copy into", path_);
        break;
      }
      copied += static_cast<uint64_t>(n);
      if (fault_checkpoint >= 0) {
        fault::Hit(fault::kSinkCommit, fault_checkpoint);  // half of the part is in
        fault_checkpoint = -1;
      }
    }
    if (st.ok() && ::fsync(out) != 0) st = SyncError("sync", path_);
    ::close(in);
    ::close(out);
    return st;
  }

  // Removes every <path>.pending-<n>.
  Status RemovePendingParts() {
    std::filesystem::path p(path_);
    std::filesystem::path dir = p.parent_path().empty() ? "." : p.parent_path();
    const std::string prefix = p.filename().string() + ".pending-";
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      if (entry.path().filename().string().rfind(prefix, 0) == 0) {
        std::filesystem::remove(entry.path(), ec);
      }
    }
    if (ec)
      return Status::Io("{}: cannot clean up '{}': {}", SourceName(spec_), dir.string(),
                        ec.message());
    return Status::Ok();
  }

  Status WriteError(const std::string& path) const {
    return Status::Io("{}: cannot write '{}': {}", SourceName(spec_), path, std::strerror(errno));
  }

  TableSpec spec_;
  std::string path_;
  std::unique_ptr<formats::Encoder> encoder_;
  FILE* file_ = nullptr;  // the output, or with two-phase commit the in-progress part
  std::string part_path_;
  uint64_t file_bytes_ = 0;  // written to file_ since it was opened
  std::string buffer_;
  // Two-phase commit (with checkpoints).
  bool two_phase_ = false;
  std::vector<Part> pending_;  // pre-committed, not yet committed, in checkpoint order
  int64_t committed_checkpoint_ = 0;
  uint64_t committed_length_ = 0;  // bytes of the output that are committed
};

class SingleFileFactory : public runtime::OperatorFactory {
 public:
  explicit SingleFileFactory(const TableSpec& spec) : spec_(spec) {}
  std::string name() const override {
    return spec_.type == TableType::kSource ? "single_file source" : "single_file sink";
  }
  std::string Describe() const override {
    return fmt::format("{} path={} {}", name(), spec_.options.at("path"),
                       FormatDescription(spec_.format));
  }
  bool is_source() const override { return spec_.type == TableType::kSource; }
  bool checkpointable() const override { return true; }  // line offset; two-phase commit
  int max_parallelism() const override { return 1; }
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override {
    if (spec_.type != TableType::kSink) return OperatorFactory::Create(subtask, parallelism);
    return std::unique_ptr<runtime::Operator>(std::make_unique<SingleFileSink>(spec_));
  }
  Result<std::unique_ptr<runtime::SourceOperator>> CreateSource(int subtask,
                                                                int parallelism) const override {
    if (spec_.type != TableType::kSource) {
      return OperatorFactory::CreateSource(subtask, parallelism);
    }
    return std::unique_ptr<runtime::SourceOperator>(std::make_unique<SingleFileSource>(spec_));
  }

 private:
  TableSpec spec_;
};

class SingleFileConnector : public Connector {
 public:
  // The JSON decoder reads any subset of the columns and skips the fields it is not asked for.
  bool reads_narrowed_schema(const TableSpec& spec) const override {
    return spec.format.format == "json" && !spec.format.unstructured;
  }
  std::string name() const override { return "single_file"; }
  bool can_source() const override { return true; }
  bool can_sink() const override { return true; }
  std::vector<std::string> option_keys() const override { return {"path"}; }

  Status Validate(TableSpec* spec) const override {
    auto path = spec->options.find("path");
    if (path == spec->options.end() || path->second.empty()) {
      return Status::User("missing option 'path' for connector 'single_file'");
    }
    SLUICE_RETURN_NOT_OK(ValidateByteSourceFormat(spec));
    if (spec->format.format == "avro" || spec->format.format == "protobuf") {
      return Status::NotSupported(
          "connector 'single_file' reads and writes lines of text; format '{}' is binary and "
          "is read and written by the kafka connector (binary files are not supported by "
          "single_file yet)",
          spec->format.format);
    }
    if (spec->type == TableType::kSource) {
      SLUICE_RETURN_NOT_OK(
          formats::MakeDecoder(spec->format, spec->schema, SourceName(*spec)).status());
      if (std::string problem = ReadProblem(path->second); !problem.empty()) {
        return Status::User("{}", problem);
      }
      spec->finite = true;
    } else {
      if (spec->schema.size() > 0) {
        SLUICE_RETURN_NOT_OK(formats::MakeEncoder(spec->format, spec->schema).status());
      }
      if (std::string problem = WriteProblem(path->second); !problem.empty()) {
        return Status::User("{}", problem);
      }
    }
    return Status::Ok();
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSource(
      const TableSpec& spec) const override {
    if (spec.type != TableType::kSource) {
      return Status::User("table '{}' is a sink, not a source", spec.table_name);
    }
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<SingleFileFactory>(spec));
  }
  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSink(
      const TableSpec& spec) const override {
    if (spec.type != TableType::kSink) {
      return Status::User("table '{}' is a source, not a sink", spec.table_name);
    }
    if (spec.schema.size() > 0) {
      SLUICE_RETURN_NOT_OK(formats::MakeEncoder(spec.format, spec.schema).status());
    }
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<SingleFileFactory>(spec));
  }
};

}  // namespace

std::unique_ptr<Connector> MakeSingleFileConnector() {
  return std::make_unique<SingleFileConnector>();
}

}  // namespace sluice::connectors
