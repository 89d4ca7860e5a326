// libsluice_arrow.so's entry point (formats/parquet/arrow_plugin.h): the Parquet reader and
// writer and file decompression, all through Apache Arrow C++.

#include <algorithm>

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

class ArrowBlockCodec : public BlockCodec {
 public:
  explicit ArrowBlockCodec(std::unique_ptr<arrow::util::Codec> codec) : codec_(std::move(codec)) {}

  Status Compress(std::string_view in, std::string* out) override {
    const auto* p = reinterpret_cast<const uint8_t*>(in.data());
    const auto n = static_cast<int64_t>(in.size());
    out->resize(static_cast<size_t>(codec_->MaxCompressedLen(n, p)));
    auto size = codec_->Compress(n, p, static_cast<int64_t>(out->size()),
                                 reinterpret_cast<uint8_t*>(out->data()));
    if (!size.ok()) return Status::Internal("codec: {}", size.status().message());
    out->resize(static_cast<size_t>(*size));
    return Status::Ok();
  }

  Status Decompress(std::string_view in, size_t length, std::string* out) override {
    out->clear();
    const auto* p = reinterpret_cast<const uint8_t*>(in.data());
    if (length > 0) {
      out->resize(length);
      auto n = codec_->Decompress(static_cast<int64_t>(in.size()), p, static_cast<int64_t>(length),
                                  reinterpret_cast<uint8_t*>(out->data()));
      if (!n.ok()) return Status::User("a block does not decompress: {}", n.status().message());
      out->resize(static_cast<size_t>(*n));
      return Status::Ok();
    }
    auto d = codec_->MakeDecompressor();
    if (!d.ok()) return Status::Internal("codec: {}", d.status().message());
    int64_t left = static_cast<int64_t>(in.size());
    size_t size = 0;
    out->resize(std::max<size_t>(in.size() * 4, 1024));
    while (true) {
      auto r = (*d)->Decompress(left, p, static_cast<int64_t>(out->size() - size),
                                reinterpret_cast<uint8_t*>(out->data() + size));
      if (!r.ok()) return Status::User("a compressed block is corrupt: {}", r.status().message());
      p += r->bytes_read;
      left -= r->bytes_read;
      size += static_cast<size_t>(r->bytes_written);
      if ((*d)->IsFinished() || (left == 0 && !r->need_more_output && r->bytes_written == 0)) break;
      if (r->need_more_output || size == out->size()) out->resize(out->size() * 2);
    }
    out->resize(size);
    return Status::Ok();
  }

 private:
  std::unique_ptr<arrow::util::Codec> codec_;
};

Result<std::unique_ptr<BlockCodec>> MakeBlockCodec(BlockCodecKind kind) {
  arrow::Result<std::unique_ptr<arrow::util::Codec>> codec;
  if (kind == BlockCodecKind::kDeflate) {
    arrow::util::GZipCodecOptions o;
    o.gzip_format = arrow::util::GZipFormat::DEFLATE;  // raw RFC 1951, as Avro's deflate
    codec = arrow::util::Codec::Create(arrow::Compression::GZIP, o);
  } else if (kind == BlockCodecKind::kZstd) {
    codec = arrow::util::Codec::Create(arrow::Compression::ZSTD);
  } else {
    codec = arrow::util::Codec::Create(arrow::Compression::SNAPPY);
  }
  if (!codec.ok()) return Status::Internal("codec: {}", codec.status().message());
  return std::unique_ptr<BlockCodec>(std::make_unique<ArrowBlockCodec>(std::move(*codec)));
}

ArrowPluginApi MakeApi() {
  ArrowPluginApi api;
  api.abi = kArrowPluginAbi;
  api.check_parquet_schema = &CheckParquetSchema;
  api.make_parquet_writer = &MakeParquetWriter;
  api.open_parquet_reader = &OpenParquetReader;
  api.decompress = &Decompress;
  api.make_block_codec = &MakeBlockCodec;
  return api;
}

}  // namespace
}  // namespace sluice::formats::parquet_internal

extern "C" __attribute__((visibility("default"))) const sluice::formats::ArrowPluginApi*
sluice_arrow_plugin() {
  static const sluice::formats::ArrowPluginApi api = sluice::formats::parquet_internal::MakeApi();
  return &api;
}
