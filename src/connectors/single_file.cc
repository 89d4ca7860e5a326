// single_file: one local file of newline-framed records, read as a finite source or written as
// a sink. One subtask: a file has one reader position and one writer position.

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "connectors/connector.h"
#include "connectors/source_batch.h"

namespace sluice::connectors {

namespace {

constexpr size_t kWriteBufferBytes = 1 << 20;

std::string SourceName(const TableSpec& spec) {
  return fmt::format("table '{}'", spec.table_name);
}

std::string FormatDescription(const formats::FormatOptions& format) {
  std::string s = "format=" + format.format;
  if (format.bad_data == formats::BadDataPolicy::kDrop) s += " bad_data=drop";
  if (format.timestamp_format == formats::TimestampFormat::kUnixMillis) {
    s += " json.timestamp_format=unix_millis";
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

class SingleFileSource : public runtime::SourceOperator {
 public:
  explicit SingleFileSource(const TableSpec& spec)
      : spec_(spec),
        path_(spec.options.at("path")),
        schema_(std::make_shared<const types::Schema>(spec.schema)) {}
  ~SingleFileSource() override { CloseFile(); }

  Status Open(runtime::OperatorContext& ctx) override {
    ctx_ = &ctx;
    file_ = std::fopen(path_.c_str(), "r");
    if (file_ == nullptr) {
      return Status::Io("{}: cannot open '{}': {}", SourceName(spec_), path_, std::strerror(errno));
    }
    SLUICE_ASSIGN_OR_RETURN(decoder_,
                            formats::MakeDecoder(spec_.format, spec_.schema, SourceName(spec_)));
    return Status::Ok();
  }

  Result<runtime::SourcePoll> Poll(runtime::Collector& out) override {
    if (ctx_ && ctx_->stop_requested && ctx_->stop_requested->load()) {
      return runtime::SourcePoll::Finished();
    }
    if (file_ == nullptr) return runtime::SourcePoll::Finished();
    // Bounded by lines read too, so a run of dropped rows does not hold the task.
    int64_t lines = 0;
    while (decoder_->pending_rows() < spec_.batch_rows && lines < 4 * spec_.batch_rows) {
      ssize_t n = getline(&line_, &line_capacity_, file_);
      if (n < 0) {
        if (std::ferror(file_)) {
          return Status::Io("{}: cannot read '{}': {}", SourceName(spec_), path_,
                            std::strerror(errno));
        }
        eof_ = true;
        break;
      }
      ++lines;
      ++line_number_;
      std::string_view record(line_, static_cast<size_t>(n));
      if (!record.empty() && record.back() == '\n') record.remove_suffix(1);
      if (!record.empty() && record.back() == '\r') record.remove_suffix(1);
      // Empty lines are held back until a later line shows they are not trailing ones.
      if (record.empty()) {
        ++held_empty_lines_;
        continue;
      }
      for (; held_empty_lines_ > 0; --held_empty_lines_) {
        SLUICE_RETURN_NOT_OK(AppendRecord("", line_number_ - held_empty_lines_));
      }
      SLUICE_RETURN_NOT_OK(AppendRecord(record, line_number_));
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

 private:
  Status AppendRecord(std::string_view record, int64_t line_number) {
    position_.clear();
    fmt::format_to(std::back_inserter(position_), "line {}", line_number);
    return decoder_->Append(record, position_);
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
    if (file_ != nullptr) std::fclose(file_);
    file_ = nullptr;
    std::free(line_);
    line_ = nullptr;
    line_capacity_ = 0;
  }

  TableSpec spec_;
  std::string path_;
  types::SchemaPtr schema_;
  std::unique_ptr<formats::Decoder> decoder_;
  FILE* file_ = nullptr;
  char* line_ = nullptr;  // getline's buffer, reused
  size_t line_capacity_ = 0;
  int64_t line_number_ = 0;
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
    file_ = std::fopen(path_.c_str(), "w");
    if (file_ == nullptr) {
      return Status::Io("{}: cannot open '{}' for writing: {}", SourceName(spec_), path_,
                        std::strerror(errno));
    }
    std::setvbuf(file_, nullptr, _IOFBF, kWriteBufferBytes);
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
      return WriteError();
    }
    if (ctx_ && ctx_->metrics) ctx_->metrics->rows_out += batch->num_rows;
    return Status::Ok();
  }

  Status OnEndOfInput(runtime::Collector& out) override {
    if (file_ != nullptr && std::fflush(file_) != 0) return WriteError();
    return Status::Ok();
  }

  Status Close() override {
    if (file_ == nullptr) return Status::Ok();
    int flushed = std::fflush(file_);
    int closed = std::fclose(file_);
    file_ = nullptr;
    if (flushed != 0 || closed != 0) return WriteError();
    return Status::Ok();
  }

 private:
  Status WriteError() const {
    return Status::Io("{}: cannot write '{}': {}", SourceName(spec_), path_, std::strerror(errno));
  }

  TableSpec spec_;
  std::string path_;
  std::unique_ptr<formats::Encoder> encoder_;
  FILE* file_ = nullptr;
  std::string buffer_;
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
  std::string name() const override { return "single_file"; }
  bool can_source() const override { return true; }
  bool can_sink() const override { return true; }
  std::vector<std::string> option_keys() const override { return {"path"}; }

  Status Validate(TableSpec* spec) const override {
    auto path = spec->options.find("path");
    if (path == spec->options.end() || path->second.empty()) {
      return Status::User("missing option 'path' for connector 'single_file'");
    }
    if (spec->format.format.empty()) {
      return Status::User(
          "missing option 'format'; use format = 'json', 'debezium_json' or 'raw_string'");
    }
    if (spec->type == TableType::kSource) {
      if (spec->schema.size() == 0) {
        // Formats that read a whole line into one column imply that column.
        if (spec->format.format == "raw_string") {
          spec->schema = types::Schema({{"value", types::Utf8()}});
        } else if (spec->format.unstructured) {
          spec->schema = types::Schema({{"value", types::DataType(types::TypeId::kJson)}});
        } else {
          return Status::User(
              "a single_file source with format '{}' needs a column list: CREATE TABLE {} "
              "(col TYPE, ...) WITH (...)",
              spec->format.format, spec->table_name);
        }
      }
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
