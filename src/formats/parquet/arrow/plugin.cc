// libsluice_arrow.so's entry point (formats/parquet/arrow_plugin.h): the Parquet reader and
// writer and file decompression, all through Apache Arrow C++.

#include <arrow/buffer.h>
#include <arrow/io/compressed.h>
#include <arrow/io/memory.h>
#include <arrow/util/compression.h>

#include "formats/parquet/arrow/parquet_arrow_internal.h"
#include "formats/parquet/arrow_plugin.h"

namespace sluice::formats::parquet_internal {
namespace {

Result<std::string> Decompress(const std::string& name, const std::string& bytes, bool gzip) {
  auto codec =
      arrow::util::Codec::Create(gzip ? arrow::Compression::GZIP : arrow::Compression::ZSTD);
  if (!codec.ok()) return Status::Internal("{}", codec.status().message());
  auto raw = std::make_shared<arrow::io::BufferReader>(std::make_shared<arrow::Buffer>(
      reinterpret_cast<const uint8_t*>(bytes.data()), static_cast<int64_t>(bytes.size())));
  auto stream = arrow::io::CompressedInputStream::Make(codec->get(), raw);
  if (!stream.ok()) return Status::User("'{}': {}", name, stream.status().message());
  std::string out;
  while (true) {
    auto chunk = (*stream)->Read(1 << 20);
    if (!chunk.ok()) {
      return Status::User("'{}' is not a valid {} file: {}", name, gzip ? "gzip" : "zstd",
                          chunk.status().message());
    }
    if ((*chunk)->size() == 0) break;
    out.append(reinterpret_cast<const char*>((*chunk)->data()),
               static_cast<size_t>((*chunk)->size()));
  }
  return out;
}

ArrowPluginApi MakeApi() {
  ArrowPluginApi api;
  api.abi = kArrowPluginAbi;
  api.check_parquet_schema = &CheckParquetSchema;
  api.make_parquet_writer = &MakeParquetWriter;
  api.open_parquet_reader = &OpenParquetReader;
  api.decompress = &Decompress;
  return api;
}

}  // namespace
}  // namespace sluice::formats::parquet_internal

extern "C" __attribute__((visibility("default"))) const sluice::formats::ArrowPluginApi*
sluice_arrow_plugin() {
  static const sluice::formats::ArrowPluginApi api = sluice::formats::parquet_internal::MakeApi();
  return &api;
}
