#pragma once
// A 64-byte aligned, growable byte buffer: the unit of memory behind every column.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace sluice::batch {

class Buffer {
 public:
  Buffer() = default;
  explicit Buffer(size_t size) { Resize(size); }
  ~Buffer() { std::free(data_); }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  uint8_t* data() { return data_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  template <typename T>
  T* as() {
    return reinterpret_cast<T*>(data_);
  }
  template <typename T>
  const T* as() const {
    return reinterpret_cast<const T*>(data_);
  }

  void Reserve(size_t capacity) {
    if (capacity <= capacity_) return;
    size_t cap = capacity_ == 0 ? 64 : capacity_;
    while (cap < capacity) cap *= 2;
    cap = (cap + 63) & ~size_t{63};
    auto* p = static_cast<uint8_t*>(std::aligned_alloc(64, cap));
    if (p == nullptr) throw std::bad_alloc();
    if (size_ > 0) std::memcpy(p, data_, size_);
    std::free(data_);
    data_ = p;
    capacity_ = cap;
  }
  void Resize(size_t size) {
    Reserve(size);
    size_ = size;
  }
  // Resize, zero-filling the new bytes.
  void ResizeZeroed(size_t size) {
    size_t old = size_;
    Resize(size);
    if (size > old) std::memset(data_ + old, 0, size - old);
  }
  void Append(const void* src, size_t n) {
    if (n == 0) return;  // memcpy from a null pointer is undefined even for zero bytes
    Reserve(size_ + n);
    std::memcpy(data_ + size_, src, n);
    size_ += n;
  }

 private:
  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

using BufferPtr = std::shared_ptr<Buffer>;

inline bool GetBit(const uint8_t* bits, int64_t i) {
  return (bits[i >> 3] >> (i & 7)) & 1;
}
inline void SetBit(uint8_t* bits, int64_t i) {
  bits[i >> 3] |= static_cast<uint8_t>(1u << (i & 7));
}
inline void ClearBit(uint8_t* bits, int64_t i) {
  bits[i >> 3] &= static_cast<uint8_t>(~(1u << (i & 7)));
}
inline void SetBitTo(uint8_t* bits, int64_t i, bool v) {
  bits[i >> 3] = static_cast<uint8_t>((bits[i >> 3] & ~(1u << (i & 7))) | (unsigned{v} << (i & 7)));
}
inline size_t BitmapBytes(int64_t n) {
  return static_cast<size_t>((n + 7) / 8);
}

}  // namespace sluice::batch
