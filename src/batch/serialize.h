#pragma once
// A binary form of batches, for checkpoints (and later the network exchange).
//
// The layout mirrors the in-memory Arrow layout: a header, the schema, then every column as its
// type, its length and its buffers (validity, values, data) copied byte for byte, children
// (struct fields, list elements) recursively. Integers are little-endian. The header carries a
// format version and the oldest version able to read it, so a newer Sluice can read older
// checkpoints and an older one refuses newer files with a clear message.
//
// Reading validates everything it reads (bounds, buffer sizes against the type and length,
// offsets monotonic and inside their data): a corrupt or truncated input yields a Status, never a
// crash or an out-of-bounds read.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "batch/batch.h"
#include "common/status.h"

namespace sluice::batch {

// Little-endian encoding of integers and length-prefixed bytes, shared by the batch format and
// the checkpoint files built on it.
class ByteWriter {
 public:
  explicit ByteWriter(std::string* out) : out_(out) {}
  template <typename T>
  void Put(T v) {
    static_assert(std::is_integral_v<T> || std::is_enum_v<T>);
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));  // the supported targets are little-endian
    out_->append(b, sizeof(T));
  }
  void PutBytes(std::string_view bytes) {
    Put<uint64_t>(bytes.size());
    out_->append(bytes);
  }
  void PutRaw(const void* data, size_t n) {
    if (n > 0) out_->append(static_cast<const char*>(data), n);
  }
  size_t size() const { return out_->size(); }

 private:
  std::string* out_;
};

// Reads what ByteWriter wrote; every read is bounds-checked and fails with a Status that names
// `what` (the file or structure being read).
class ByteReader {
 public:
  ByteReader(std::string_view bytes, std::string_view what) : rest_(bytes), what_(what) {}
  template <typename T>
  Status Get(T* v) {
    if (rest_.size() < sizeof(T)) return Truncated();
    std::memcpy(v, rest_.data(), sizeof(T));
    rest_.remove_prefix(sizeof(T));
    return Status::Ok();
  }
  Status GetBytes(std::string_view* bytes) {
    uint64_t n = 0;
    SLUICE_RETURN_NOT_OK(Get(&n));
    return GetRaw(n, bytes);
  }
  Status GetRaw(uint64_t n, std::string_view* bytes) {
    if (rest_.size() < n) return Truncated();
    *bytes = rest_.substr(0, static_cast<size_t>(n));
    rest_.remove_prefix(static_cast<size_t>(n));
    return Status::Ok();
  }
  std::string_view rest() const { return rest_; }
  bool empty() const { return rest_.empty(); }
  Status Corrupt(std::string_view why) const { return Status::Io("{} is corrupt: {}", what_, why); }

 private:
  Status Truncated() const { return Corrupt("truncated"); }
  std::string_view rest_;
  std::string_view what_;
};

// The format version written, and the oldest version this build reads.
inline constexpr uint16_t kBatchFormatVersion = 1;

// Appends the binary form of `batch` to `out`.
void SerializeBatch(const Batch& batch, std::string* out);

// Reads one batch from the front of `*bytes` and advances `*bytes` past it.
Result<BatchPtr> DeserializeBatch(std::string_view* bytes);

// Reads a batch that fills `bytes` exactly.
Result<BatchPtr> DeserializeBatch(std::string_view bytes);

}  // namespace sluice::batch
