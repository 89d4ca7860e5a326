// connector = 'filesystem': files under a local directory or an S3 prefix, JSON lines or
// Parquet; an exactly-once sink and a finite source (README.md).

#include <random>

#include <fmt/format.h>

#include "connectors/connector.h"
#include "connectors/filesystem/filesystem_options.h"
#include "connectors/filesystem/filesystem_sink.h"
#include "connectors/filesystem/filesystem_source.h"
#include "formats/parquet/parquet_writer.h"
#include "formats/record_file.h"

namespace sluice::connectors {

namespace filesystem {
namespace {

Result<std::shared_ptr<OutputStore>> OpenStore(const FilesystemOptions& o) {
  if (o.s3) {
    SLUICE_ASSIGN_OR_RETURN(auto s, OpenS3Store(o.path, o.part_size));
    return std::shared_ptr<OutputStore>(std::move(s));
  }
  SLUICE_ASSIGN_OR_RETURN(auto s, OpenLocalStore(o.path));
  return std::shared_ptr<OutputStore>(std::move(s));
}

// Eight hex digits, different for every run of the pipeline: in each file name, so a run never
// reuses the name of a file another run staged.
std::string MakeRunToken() {
  std::random_device rd;
  return fmt::format("{:08x}", static_cast<uint32_t>(rd()));
}

class FilesystemFactory : public runtime::OperatorFactory {
 public:
  FilesystemFactory(const TableSpec& spec, FilesystemOptions options)
      : spec_(spec), options_(std::move(options)), run_(MakeRunToken()) {}
  std::string name() const override {
    return spec_.type == TableType::kSource ? "filesystem source" : "filesystem sink";
  }
  std::string Describe() const override {
    std::string s = fmt::format("{} path={} format={}", name(), options_.path, options_.format);
    if (options_.format == "parquet" && spec_.type == TableType::kSink) {
      s += fmt::format(" compression={}",
                       formats::ParquetCompressionName(spec_.format.parquet.compression));
    }
    return s;
  }
  bool is_source() const override { return spec_.type == TableType::kSource; }
  bool checkpointable() const override { return true; }
  Result<std::unique_ptr<runtime::Operator>> Create(int subtask, int parallelism) const override {
    if (spec_.type != TableType::kSink) return OperatorFactory::Create(subtask, parallelism);
    auto store = OpenStore(options_);
    if (!store.ok()) return store.status().WithContext(fmt::format("table '{}'", spec_.table_name));
    return MakeFilesystemSink(spec_, options_, std::move(*store), run_, subtask, parallelism);
  }
  Result<std::unique_ptr<runtime::SourceOperator>> CreateSource(int subtask,
                                                                int parallelism) const override {
    if (spec_.type != TableType::kSource) {
      return OperatorFactory::CreateSource(subtask, parallelism);
    }
    return MakeFilesystemSource(spec_, options_, subtask, parallelism);
  }

 private:
  TableSpec spec_;
  FilesystemOptions options_;
  std::string run_;
};

class FilesystemConnector : public Connector {
 public:
  std::string name() const override { return "filesystem"; }
  bool can_source() const override { return true; }
  bool can_sink() const override { return true; }
  std::vector<std::string> option_keys() const override { return FilesystemOptionKeys(); }

  Status Validate(TableSpec* spec) const override {
    if (spec->format.format.empty()) {
      return Status::User(
          "table '{}': missing option 'format' (use 'json', 'parquet', 'avro' or 'protobuf')",
          spec->table_name);
    }
    SLUICE_ASSIGN_OR_RETURN(FilesystemOptions o, ParseFilesystemOptions(*spec));
    if (spec->type == TableType::kSource) {
      if (spec->schema.size() == 0) {
        return Status::User("table '{}': a filesystem source needs its columns declared",
                            spec->table_name);
      }
      if (o.format == "parquet") {
        SLUICE_RETURN_NOT_OK(formats::CheckParquetSchema(spec->schema));
      } else {
        formats::FormatOptions format = spec->format;
        format.protobuf_length_delimited = false;  // files' lengths are taken off by the reader
        SLUICE_RETURN_NOT_OK(
            formats::MakeDecoder(format, spec->schema, fmt::format("table '{}'", spec->table_name))
                .status());
      }
      spec->finite = true;
      return Status::Ok();
    }
    if (spec->schema.size() > 0) {
      if (o.format == "parquet") {
        SLUICE_RETURN_NOT_OK(formats::CheckParquetSchema(spec->schema));
      } else {
        SLUICE_RETURN_NOT_OK(formats::RecordFileWriter::Make(spec->format, spec->schema).status());
      }
      for (const std::string& f : o.partition_fields) {
        if (!spec->schema.Find(f)) {
          return Status::User(
              "table '{}': partitioning.fields names column '{}', which the "
              "table does not have",
              spec->table_name, f);
        }
      }
    }
    return Status::Ok();
  }

  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSource(
      const TableSpec& spec) const override {
    if (spec.type != TableType::kSource) {
      return Status::User("table '{}' is a sink, not a source", spec.table_name);
    }
    SLUICE_ASSIGN_OR_RETURN(FilesystemOptions o, ParseFilesystemOptions(spec));
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<FilesystemFactory>(spec, std::move(o)));
  }
  Result<std::shared_ptr<const runtime::OperatorFactory>> MakeSink(
      const TableSpec& spec) const override {
    if (spec.type != TableType::kSink) {
      return Status::User("table '{}' is a source, not a sink", spec.table_name);
    }
    SLUICE_ASSIGN_OR_RETURN(FilesystemOptions o, ParseFilesystemOptions(spec));
    return std::shared_ptr<const runtime::OperatorFactory>(
        std::make_shared<FilesystemFactory>(spec, std::move(o)));
  }
};

}  // namespace
}  // namespace filesystem

std::unique_ptr<Connector> MakeFilesystemConnector() {
  return std::make_unique<filesystem::FilesystemConnector>();
}

}  // namespace sluice::connectors
