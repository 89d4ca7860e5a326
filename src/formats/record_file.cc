#include "formats/record_file.h"

#include <cstring>
#include <random>

#include <fmt/format.h>
#include <snappy-c.h>
#include <zlib.h>
#include <zstd.h>

#include "formats/avro_schema.h"
#include "formats/codecs.h"

namespace sluice::formats {

namespace {

constexpr char kOcfMagic[4] = {'O', 'b', 'j', 1};
constexpr size_t kSyncBytes = 16;

void PutLong(std::string* out, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out->push_back(static_cast<char>((z & 0x7f) | 0x80));
    z >>= 7;
  }
  out->push_back(static_cast<char>(z));
}

void PutBytes(std::string* out, std::string_view s) {
  PutLong(out, static_cast<int64_t>(s.size()));
  out->append(s);
}

// An unsigned varint at `*pos` of [data, data + size); false when truncated or too long.
bool ReadVarint(const char* data, size_t size, size_t* pos, uint64_t* out) {
  uint64_t v = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    if (*pos >= size) return false;
    const auto b = static_cast<uint8_t>(data[(*pos)++]);
    v |= static_cast<uint64_t>(b & 0x7f) << shift;
    if (!(b & 0x80)) {
      *out = v;
      return true;
    }
  }
  return false;
}

bool ReadLong(const char* data, size_t size, size_t* pos, int64_t* out) {
  uint64_t z;
  if (!ReadVarint(data, size, pos, &z)) return false;
  *out = static_cast<int64_t>(z >> 1) ^ -static_cast<int64_t>(z & 1);
  return true;
}

// --- Avro block codecs (the specification's names) -------------------------------------------

enum class AvroCodec { kNull, kDeflate, kZstandard, kSnappy };

Result<AvroCodec> AvroCodecOf(std::string_view name, bool writing) {
  if (name == "null" || name.empty()) return AvroCodec::kNull;
  if (name == "deflate") return AvroCodec::kDeflate;
  if (name == "zstandard") return AvroCodec::kZstandard;
  if (name == "snappy" && !writing) return AvroCodec::kSnappy;
  return Status::NotSupported(
      "Avro codec '{}' is not supported; Sluice {} 'null', 'deflate', 'zstandard'{}", name,
      writing ? "writes" : "reads", writing ? "" : " and 'snappy'");
}

// Avro's block codecs, through Debian's zlib, libzstd and libsnappy (Arrow is a plugin loaded
// for Parquet only: decision 0023).

// Compresses one block's data: deflate is raw RFC 1951 (no zlib header), as Avro's spec says.
Status CompressBlock(AvroCodec c, std::string_view in, std::string* out) {
  if (c == AvroCodec::kZstandard) {
    out->resize(ZSTD_compressBound(in.size()));
    size_t n = ZSTD_compress(out->data(), out->size(), in.data(), in.size(), ZSTD_CLEVEL_DEFAULT);
    if (ZSTD_isError(n)) return Status::Internal("Avro zstandard: {}", ZSTD_getErrorName(n));
    out->resize(n);
    return Status::Ok();
  }
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return Status::Internal("Avro deflate: cannot start a stream");
  }
  out->resize(deflateBound(&z, static_cast<uLong>(in.size())));
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out->data());
  z.avail_out = static_cast<uInt>(out->size());
  int rc = deflate(&z, Z_FINISH);
  out->resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) return Status::Internal("Avro deflate: error {}", rc);
  return Status::Ok();
}

// Decompresses one block's data (a raw deflate or zstandard stream, or snappy followed by the
// big-endian CRC-32 of the uncompressed bytes).
Status Decompress(AvroCodec c, std::string_view in, std::string* out) {
  out->clear();
  if (c == AvroCodec::kSnappy) {
    if (in.size() < 4) return Status::User("a snappy block is shorter than its checksum");
    size_t length = 0;
    if (snappy_uncompressed_length(in.data(), in.size() - 4, &length) != SNAPPY_OK ||
        length > (size_t{1} << 31)) {
      return Status::User("a snappy block has no valid length");
    }
    out->resize(length);
    if (snappy_uncompress(in.data(), in.size() - 4, out->data(), &length) != SNAPPY_OK) {
      return Status::User("a snappy block does not decompress");
    }
    out->resize(length);
    const auto* crc = reinterpret_cast<const uint8_t*>(in.data() + in.size() - 4);
    const uint32_t want = (uint32_t{crc[0]} << 24) | (uint32_t{crc[1]} << 16) |
                          (uint32_t{crc[2]} << 8) | uint32_t{crc[3]};
    const auto got = static_cast<uint32_t>(
        crc32(0, reinterpret_cast<const Bytef*>(out->data()), static_cast<uInt>(out->size())));
    if (got != want) return Status::User("a snappy block fails its CRC-32 check");
    return Status::Ok();
  }
  size_t size = 0;
  out->resize(std::max<size_t>(in.size() * 4, 1024));
  if (c == AvroCodec::kZstandard) {
    std::unique_ptr<ZSTD_DCtx, decltype(&ZSTD_freeDCtx)> d(ZSTD_createDCtx(), ZSTD_freeDCtx);
    ZSTD_inBuffer src{in.data(), in.size(), 0};
    while (true) {
      ZSTD_outBuffer dst{out->data() + size, out->size() - size, 0};
      size_t rc = ZSTD_decompressStream(d.get(), &dst, &src);
      if (ZSTD_isError(rc)) {
        return Status::User("a compressed block is corrupt: {}", ZSTD_getErrorName(rc));
      }
      size += dst.pos;
      if (rc == 0) break;  // a frame ends
      if (src.pos == src.size && dst.pos < dst.size) {
        return Status::User("a compressed block is corrupt: truncated zstandard frame");
      }
      if (size == out->size()) out->resize(out->size() * 2);
    }
    out->resize(size);
    return Status::Ok();
  }
  z_stream z{};
  if (inflateInit2(&z, -15) != Z_OK) return Status::Internal("Avro deflate: cannot start");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(out->data() + size);
    z.avail_out = static_cast<uInt>(out->size() - size);
    rc = inflate(&z, Z_NO_FLUSH);
    size = z.total_out;
    if (rc == Z_STREAM_END) break;
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      inflateEnd(&z);
      return Status::User("a compressed block is corrupt: {}", z.msg ? z.msg : "inflate error");
    }
    if (z.avail_in == 0 && z.avail_out > 0) {
      inflateEnd(&z);
      return Status::User("a compressed block is corrupt: truncated deflate stream");
    }
    if (size == out->size()) out->resize(out->size() * 2);
  }
  inflateEnd(&z);
  out->resize(size);
  return Status::Ok();
}

// --- writers ----------------------------------------------------------------------------------

class EncoderWriter : public RecordFileWriter {
 public:
  explicit EncoderWriter(std::unique_ptr<Encoder> encoder) : encoder_(std::move(encoder)) {}
  void StartFile(std::string*) override {}
  Status Write(const batch::Batch& batch, std::string* out) override {
    return encoder_->Encode(batch, out);
  }

 private:
  std::unique_ptr<Encoder> encoder_;
};

class AvroFileWriter : public RecordFileWriter {
 public:
  AvroFileWriter(std::unique_ptr<Encoder> datums, const std::string& schema_json, AvroCodec codec,
                 std::string codec_name)
      : datums_(std::move(datums)), codec_(codec) {
    std::mt19937_64 rng(std::random_device{}());
    for (int i = 0; i < 2; ++i) {
      uint64_t r = rng();
      sync_.append(reinterpret_cast<const char*>(&r), 8);
    }
    header_.append(kOcfMagic, 4);
    PutLong(&header_, 2);
    PutBytes(&header_, "avro.schema");
    PutBytes(&header_, schema_json);
    PutBytes(&header_, "avro.codec");
    PutBytes(&header_, codec_name);
    PutLong(&header_, 0);
    header_ += sync_;
  }

  void StartFile(std::string* out) override { out->append(header_); }
  std::string file_state() const override { return sync_; }
  Status ResumeFile(std::string_view state) override {
    if (state.size() != kSyncBytes) {
      return Status::Io("an Avro file's sync marker in the checkpoint has {} bytes, not {}",
                        state.size(), kSyncBytes);
    }
    sync_.assign(state);
    header_.replace(header_.size() - kSyncBytes, kSyncBytes, sync_);  // files it starts later
    return Status::Ok();
  }

  Status Write(const batch::Batch& batch, std::string* out) override {
    if (batch.num_rows == 0) return Status::Ok();
    block_.clear();
    SLUICE_RETURN_NOT_OK(datums_->Encode(batch, &block_));
    std::string_view data = block_;
    if (codec_ != AvroCodec::kNull) {
      SLUICE_RETURN_NOT_OK(CompressBlock(codec_, block_, &compressed_));
      data = compressed_;
    }
    PutLong(out, batch.num_rows);
    PutLong(out, static_cast<int64_t>(data.size()));
    out->append(data);
    out->append(sync_);
    return Status::Ok();
  }

 private:
  std::unique_ptr<Encoder> datums_;  // bare datums
  AvroCodec codec_;
  std::string header_, sync_, block_, compressed_;
};

// --- readers ----------------------------------------------------------------------------------

class ReaderBase : public RecordFileReader {
 public:
  ReaderBase(std::string name, std::string bytes)
      : name_(std::move(name)), bytes_(std::move(bytes)), size_(bytes_.size() - kLinePadding) {}
  bool done() const override { return pos_ >= size_; }

 protected:
  Status Damaged(std::string_view what) const {
    return Status::User("'{}' is damaged at byte {}: {}", name_, pos_, what);
  }

  std::string name_;
  std::string bytes_;  // the file, then kLinePadding bytes
  size_t size_;
  size_t pos_ = 0;
  int64_t record_ = 0;  // records consumed
};

class LineReader : public ReaderBase {
 public:
  using ReaderBase::ReaderBase;
  Status Init(std::unique_ptr<Decoder> decoder) {
    decoder_ = std::move(decoder);
    return Status::Ok();
  }
  Status Skip(int64_t records) override {
    for (int64_t i = 0; i < records && pos_ < size_; ++i) NextLine();
    record_ = records;
    return Status::Ok();
  }
  Result<int64_t> Read(int64_t rows) override {
    int64_t lines = 0;
    while (decoder_->pending_rows() < rows && lines < 4 * rows && pos_ < size_) {
      std::string_view line = NextLine();
      ++record_;
      ++lines;
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      const int64_t number = record_;
      SLUICE_RETURN_NOT_OK(
          decoder_->AppendPadded(line, [&] { return fmt::format("'{}' line {}", name_, number); }));
    }
    return lines;
  }

 private:
  std::string_view NextLine() {
    size_t end = bytes_.find('\n', pos_);
    if (end == std::string::npos || end > size_) end = size_;
    std::string_view line(bytes_.data() + pos_, end - pos_);
    pos_ = end + 1;
    return line;
  }
};

class ProtobufReader : public ReaderBase {
 public:
  using ReaderBase::ReaderBase;
  Status Init(std::unique_ptr<Decoder> decoder) {
    decoder_ = std::move(decoder);
    return Status::Ok();
  }
  Status Skip(int64_t records) override {
    std::string_view m;
    for (int64_t i = 0; i < records && pos_ < size_; ++i) SLUICE_RETURN_NOT_OK(Next(&m));
    record_ = records;
    return Status::Ok();
  }
  Result<int64_t> Read(int64_t rows) override {
    int64_t n = 0;
    std::string_view m;
    while (decoder_->pending_rows() < rows && n < 4 * rows && pos_ < size_) {
      SLUICE_RETURN_NOT_OK(Next(&m));
      ++record_;
      ++n;
      const int64_t number = record_;
      SLUICE_RETURN_NOT_OK(
          decoder_->AppendPadded(m, [&] { return fmt::format("'{}' message {}", name_, number); }));
    }
    return n;
  }

 private:
  Status Next(std::string_view* m) {
    uint64_t len;
    const size_t start = pos_;
    if (!ReadVarint(bytes_.data(), size_, &pos_, &len) || len > size_ - pos_) {
      pos_ = start;
      return Damaged(fmt::format(
          "message {} has no valid length prefix (the file holds protobuf messages each "
          "preceded by its length as a varint)",
          record_ + 1));
    }
    *m = std::string_view(bytes_.data() + pos_, len);
    pos_ += len;
    return Status::Ok();
  }
};

class AvroReader : public ReaderBase {
 public:
  using ReaderBase::ReaderBase;

  // Parses the header and makes the decoder of the file's schema.
  Status Init(FormatOptions options, const types::Schema& schema, const std::string& label) {
    const char* d = bytes_.data();
    if (size_ < 4 || std::memcmp(d, kOcfMagic, 4) != 0) {
      return Status::User("'{}' is not an Avro object container file (no 'Obj\\x01' magic)", name_);
    }
    pos_ = 4;
    std::string schema_text, codec = "null";
    while (true) {
      int64_t count;
      if (!ReadLong(d, size_, &pos_, &count)) return Damaged("truncated header");
      if (count == 0) break;
      if (count < 0) {
        int64_t bytes;
        if (!ReadLong(d, size_, &pos_, &bytes)) return Damaged("truncated header");
        count = -count;
      }
      for (int64_t i = 0; i < count; ++i) {
        std::string_view key, value;
        if (!ReadString(&key) || !ReadString(&value)) return Damaged("truncated header");
        if (key == "avro.schema") schema_text = value;
        if (key == "avro.codec") codec = value;
      }
    }
    if (schema_text.empty()) return Damaged("the header has no avro.schema");
    if (size_ - pos_ < kSyncBytes) return Damaged("truncated header");
    sync_.assign(d + pos_, kSyncBytes);
    pos_ += kSyncBytes;
    auto c = AvroCodecOf(codec, false);
    if (!c.ok()) return c.status().WithContext(fmt::format("'{}'", name_));
    codec_ = *c;
    options.avro_file_blocks = true;
    options.avro_writer_schema = schema_text;
    auto decoder = MakeDecoder(options, schema, label);
    if (!decoder.ok()) return decoder.status().WithContext(fmt::format("'{}'", name_));
    decoder_ = std::move(*decoder);
    return Status::Ok();
  }

  Status Skip(int64_t records) override {
    int64_t skipped = 0;
    Block b;
    while (skipped < records && pos_ < size_) {
      SLUICE_RETURN_NOT_OK(NextBlock(&b));
      skipped += b.count;
    }
    if (skipped != records) {
      return Status::User(
          "'{}' changed since the checkpoint: its position {} is not at the end of a block", name_,
          records);
    }
    record_ = records;
    return Status::Ok();
  }

  Result<int64_t> Read(int64_t rows) override {
    int64_t n = 0;
    Block b;
    while (decoder_->pending_rows() < rows && pos_ < size_) {
      SLUICE_RETURN_NOT_OK(NextBlock(&b));
      std::string_view record(bytes_.data() + b.begin, b.end - b.begin);
      if (codec_ != AvroCodec::kNull) {
        SLUICE_RETURN_NOT_OK(Decompress(codec_, b.data, &plain_)
                                 .WithContext(fmt::format("'{}' at byte {}", name_, b.begin)));
        framed_.clear();
        PutLong(&framed_, b.count);
        PutLong(&framed_, static_cast<int64_t>(plain_.size()));
        framed_ += plain_;
        record = framed_;
      }
      const int64_t first = record_ + 1, last = record_ + b.count;
      SLUICE_RETURN_NOT_OK(decoder_->AppendPadded(record, [&] {
        return fmt::format("'{}' block at byte {} (datums {}-{})", name_, b.begin, first, last);
      }));
      record_ += b.count;
      n += b.count;
    }
    return n;
  }

 private:
  struct Block {
    size_t begin = 0, end = 0;  // count, size and data (the record the decoder takes)
    std::string_view data;
    int64_t count = 0;
  };

  bool ReadString(std::string_view* s) {
    int64_t n;
    if (!ReadLong(bytes_.data(), size_, &pos_, &n) || n < 0 ||
        static_cast<uint64_t>(n) > size_ - pos_) {
      return false;
    }
    *s = std::string_view(bytes_.data() + pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return true;
  }

  Status NextBlock(Block* b) {
    b->begin = pos_;
    int64_t bytes;
    if (!ReadLong(bytes_.data(), size_, &pos_, &b->count) ||
        !ReadLong(bytes_.data(), size_, &pos_, &bytes) || b->count < 0 || bytes < 0 ||
        static_cast<uint64_t>(bytes) > size_ - pos_) {
      pos_ = b->begin;
      return Damaged("truncated block (a writer that did not finish the file?)");
    }
    b->data = std::string_view(bytes_.data() + pos_, static_cast<size_t>(bytes));
    pos_ += static_cast<size_t>(bytes);
    b->end = pos_;
    if (size_ - pos_ < kSyncBytes || std::memcmp(bytes_.data() + pos_, sync_.data(), kSyncBytes)) {
      pos_ = b->begin;
      return Damaged("a block does not end with the file's sync marker");
    }
    pos_ += kSyncBytes;
    return Status::Ok();
  }

  std::string sync_;
  AvroCodec codec_ = AvroCodec::kNull;
  std::string plain_, framed_;
};

}  // namespace

Status CheckRecordFileFormat(const FormatOptions& options) {
  if (options.avro_confluent || options.protobuf_confluent) {
    return Status::User(
        "the Confluent schema-registry framing is for messages (kafka); files of format '{}' "
        "carry their own framing: remove {}.confluent_schema_registry",
        options.format, options.format);
  }
  if (options.avro_raw_datums) {
    return Status::User(
        "avro.raw_datums is for messages (kafka); files of format 'avro' are object container "
        "files with the schema in their header: remove avro.raw_datums");
  }
  if (options.format == "raw_bytes") {
    return Status::NotSupported(
        "format 'raw_bytes' has no framing in a file; use 'raw_string', 'json', 'avro' or "
        "'protobuf'");
  }
  return Status::Ok();
}

Result<std::unique_ptr<RecordFileWriter>> RecordFileWriter::Make(const FormatOptions& options,
                                                                 const types::Schema& schema) {
  SLUICE_RETURN_NOT_OK(CheckRecordFileFormat(options));
  if (options.format == "avro") {
    FormatOptions datums = options;
    datums.avro_raw_datums = true;
    datums.avro_codec.clear();
    SLUICE_ASSIGN_OR_RETURN(auto encoder, MakeAvroEncoder(datums, schema));
    SLUICE_ASSIGN_OR_RETURN(auto writer_schema, AvroReaderSchema(options, schema));
    SLUICE_ASSIGN_OR_RETURN(AvroCodec codec, AvroCodecOf(options.avro_codec, true));
    return std::unique_ptr<RecordFileWriter>(
        std::make_unique<AvroFileWriter>(std::move(encoder), writer_schema->ToJson(), codec,
                                         options.avro_codec.empty() ? "null" : options.avro_codec));
  }
  FormatOptions o = options;
  if (o.format == "protobuf") o.protobuf_length_delimited = true;
  SLUICE_ASSIGN_OR_RETURN(auto encoder, MakeEncoder(o, schema));
  return std::unique_ptr<RecordFileWriter>(std::make_unique<EncoderWriter>(std::move(encoder)));
}

Result<std::unique_ptr<RecordFileReader>> RecordFileReader::Open(const FormatOptions& options,
                                                                 const types::Schema& schema,
                                                                 const std::string& name,
                                                                 std::string bytes,
                                                                 const std::string& label) {
  SLUICE_RETURN_NOT_OK(CheckRecordFileFormat(options));
  if (bytes.size() < kLinePadding) {
    return Status::Internal("RecordFileReader::Open needs the file followed by padding");
  }
  if (options.format == "avro") {
    auto r = std::make_unique<AvroReader>(name, std::move(bytes));
    SLUICE_RETURN_NOT_OK(r->Init(options, schema, label));
    return std::unique_ptr<RecordFileReader>(std::move(r));
  }
  if (options.format == "protobuf") {
    FormatOptions o = options;
    o.protobuf_length_delimited = false;  // the reader takes the lengths off
    SLUICE_ASSIGN_OR_RETURN(auto decoder, MakeDecoder(o, schema, label));
    auto r = std::make_unique<ProtobufReader>(name, std::move(bytes));
    SLUICE_RETURN_NOT_OK(r->Init(std::move(decoder)));
    return std::unique_ptr<RecordFileReader>(std::move(r));
  }
  SLUICE_ASSIGN_OR_RETURN(auto decoder, MakeDecoder(options, schema, label));
  auto r = std::make_unique<LineReader>(name, std::move(bytes));
  SLUICE_RETURN_NOT_OK(r->Init(std::move(decoder)));
  return std::unique_ptr<RecordFileReader>(std::move(r));
}

}  // namespace sluice::formats
