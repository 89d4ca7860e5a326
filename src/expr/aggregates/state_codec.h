#pragma once
// Checkpoint encoding of aggregate states whose slots are not plain bytes: DISTINCT sets,
// collections, percentiles and sketches (internal to src/expr/aggregates/).
//
// A serialized run of groups is one format version byte, then each group's slot as its codec
// writes it: counts and lengths as LEB128 varints, values as fixed-width little-endian bytes
// or as value_codec encodings. Decoding is bounds-checked: a truncated or corrupt state is an
// error, never a crash or a read past the end.
//
// A state opts in by deriving from CodedSlotState<Slot, Codec> with a codec
//   void Encode(const Slot& slot, std::string* out) const;
//   bool Decode(SlotReader* in, Slot* slot) const;  // false: truncated or corrupt
// whose calls inline into the loops over groups (no virtual call per group).

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <type_traits>

#include "batch/column_builder.h"
#include "expr/aggregates/aggregate_internal.h"

namespace sluice::expr {

// The format of CodedSlotState runs. Bump it when a codec changes, and keep reading the old one.
inline constexpr uint8_t kSlotFormatVersion = 1;

inline void PutVarint(std::string* out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out->append(buf, n);
}

// Signed values as zigzag varints: small magnitudes of either sign stay short.
inline void PutSignedVarint(std::string* out, int64_t v) {
  PutVarint(out, (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));
}

template <typename T>
inline void PutFixed(std::string* out, T v) {
  static_assert(std::is_trivially_copyable_v<T>);
  char b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // the supported targets are little-endian
  out->append(b, sizeof(T));
}

// A varint length, then the bytes.
inline void PutBytes(std::string* out, std::string_view bytes) {
  PutVarint(out, bytes.size());
  out->append(bytes);
}

// Reads what the Put functions wrote; every read checks the bounds and returns false past the
// end.
class SlotReader {
 public:
  explicit SlotReader(std::string_view in) : in_(in) {}

  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in_.empty()) return false;
      auto byte = static_cast<uint8_t>(in_.front());
      in_.remove_prefix(1);
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;  // more than 10 bytes
  }
  bool SignedVarint(int64_t* v) {
    uint64_t u = 0;
    if (!Varint(&u)) return false;
    *v = static_cast<int64_t>((u >> 1) ^ (~(u & 1) + 1));
    return true;
  }
  // A count of items that each take at least `min_bytes`: refuses counts the rest cannot hold,
  // so a corrupt count never makes the caller reserve or loop absurdly.
  bool Count(uint64_t* n, size_t min_bytes = 1) {
    return Varint(n) && *n <= in_.size() / std::max<size_t>(min_bytes, 1);
  }
  template <typename T>
  bool Fixed(T* v) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (in_.size() < sizeof(T)) return false;
    std::memcpy(static_cast<void*>(v), in_.data(), sizeof(T));
    in_.remove_prefix(sizeof(T));
    return true;
  }
  bool Bytes(std::string_view* bytes) {
    uint64_t n = 0;
    if (!Varint(&n) || n > in_.size()) return false;
    *bytes = in_.substr(0, static_cast<size_t>(n));
    in_.remove_prefix(static_cast<size_t>(n));
    return true;
  }
  // The next n bytes, unparsed.
  bool Raw(size_t n, std::string_view* bytes) {
    if (n > in_.size()) return false;
    *bytes = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool empty() const { return in_.empty(); }
  std::string_view rest() const { return in_; }

 private:
  std::string_view in_;
};

// Moves `in` past one value_codec encoding of a `type` value; false when `in` does not start
// with one. Decoders check encodings with it (DecodeValue trusts its input).
bool SkipEncodedValue(const DataType& type, SlotReader* in);

// A SlotState checkpointed through `Codec` (see the top of this file).
template <typename Slot, typename Codec>
class CodedSlotState : public SlotState<Slot> {
  using Base = SlotState<Slot>;

 public:
  explicit CodedSlotState(Codec codec, Slot empty = Slot{})
      : Base(std::move(empty)), codec_(std::move(codec)) {}

  bool serializable() const override { return true; }
  Status SerializeGroups(const uint32_t* groups, int64_t n, std::string* out) const override {
    out->push_back(static_cast<char>(kSlotFormatVersion));
    for (int64_t i = 0; i < n; ++i) codec_.Encode(this->slots_[groups[i]], out);
    return Status::Ok();
  }
  Status DeserializeGroups(std::string_view in, const uint32_t* groups, int64_t n) override {
    SlotReader r(in);
    SLUICE_RETURN_NOT_OK(ReadVersion(&r));
    for (int64_t i = 0; i < n; ++i) SLUICE_RETURN_NOT_OK(ReadSlot(&r, groups[i]));
    if (!r.empty()) return Status::Io("{} state has trailing bytes", codec_.name());
    return Status::Ok();
  }
  Status SerializeEachGroup(const uint32_t* groups, int64_t n, ColumnBuilder* out) const override {
    std::string bytes;  // reused: no allocation per group once grown
    for (int64_t i = 0; i < n; ++i) {
      bytes.assign(1, static_cast<char>(kSlotFormatVersion));
      codec_.Encode(this->slots_[groups[i]], &bytes);
      out->AppendString(bytes);
    }
    return Status::Ok();
  }
  Status DeserializeEachGroup(const Column& values, const int32_t* rows, const uint32_t* groups,
                              int64_t n) override {
    for (int64_t i = 0; i < n; ++i) {
      SlotReader r(values.GetString(rows ? rows[i] : i));
      SLUICE_RETURN_NOT_OK(ReadVersion(&r));
      SLUICE_RETURN_NOT_OK(ReadSlot(&r, groups[i]));
      if (!r.empty()) return Status::Io("{} state has trailing bytes", codec_.name());
    }
    return Status::Ok();
  }

 protected:
  Codec codec_;

 private:
  Status ReadVersion(SlotReader* r) const {
    uint8_t version = 0;
    if (!r->Fixed(&version)) return Status::Io("{} state is truncated", codec_.name());
    if (version != kSlotFormatVersion) {
      return Status::Io("{} state has format version {}; this build reads version {}",
                        codec_.name(), version, kSlotFormatVersion);
    }
    return Status::Ok();
  }
  Status ReadSlot(SlotReader* r, uint32_t g) {
    Slot slot = this->empty_;
    if (!codec_.Decode(r, &slot)) return Status::Io("{} state is corrupt", codec_.name());
    this->slots_[g] = std::move(slot);
    return Status::Ok();
  }
};

}  // namespace sluice::expr
