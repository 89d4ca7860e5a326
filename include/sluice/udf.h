/* Sluice user-defined functions: the stable C ABI between Sluice and a compiled UDF library.
 *
 * Version 2 (version 1 plus async functions; a version-1 library still loads). Later additions
 * that live only in the C++ part (sluice_udf::Text) leave the C ABI and its version unchanged.
 * Sluice compiles `CREATE FUNCTION ... LANGUAGE cpp` source against this header into a shared
 * library and loads it. Columns cross the boundary as Arrow C Data Interface arrays
 * (https://arrow.apache.org/docs/format/CDataInterface.html; the two structs are defined below
 * exactly as the specification gives them), so neither side depends on the other's C++ ABI,
 * standard library or compiler.
 *
 * What a library exports (Sluice generates these from the function's SQL signature; the C++
 * part of this header implements them over the user's function):
 *
 *   uint32_t sluice_udf_abi_version(void);   returns SLUICE_UDF_ABI_VERSION
 *   const char* sluice_udf_signature(void);  argument and result formats, e.g. "l,u->u|strict"
 *   int32_t sluice_udf_scalar(SluiceUdfHost* host, const struct ArrowArray* const* args,
 *                             int32_t num_args, int64_t length, struct ArrowArray* out,
 *                             char* error, int64_t error_capacity);
 *
 * sluice_udf_scalar computes `length` rows. `args` are borrowed for the duration of the call
 * (Sluice owns them: do not release or keep them). `out` is prepared by Sluice for the result
 * type: `length` rows, a validity bitmap with every bit set, and for fixed-width results a
 * values buffer of `length` values; variable-width buffers (string bytes, list children) are
 * grown through `host->reserve`. The function returns 0, or non-zero after writing a
 * NUL-terminated message into `error` (the pipeline then fails with the function's name and
 * that message). It may be called from several threads at once, on different arrays.
 *
 * Physical layouts are Arrow's, with Sluice's choices for three types:
 *   DECIMAL(p, s)  128-bit little-endian unscaled integer (Arrow decimal128)
 *   TIME           int64 microseconds since midnight (Arrow time64[us])
 *   TIMESTAMP      int64 microseconds since the Unix epoch (Arrow timestamp[us])
 *   INTERVAL       {int32 months; int32 days; int64 microseconds} (Arrow's month_day_nano has
 *                  nanoseconds in the last field; Sluice keeps microseconds)
 *   JSON           UTF-8 text like TEXT
 * Arrays carry no offset (offset is always 0 on both sides).
 */
#ifndef SLUICE_UDF_H
#define SLUICE_UDF_H

#include <stddef.h>
#include <stdint.h>

#define SLUICE_UDF_ABI_VERSION 2
/* The oldest version whose scalar and aggregate libraries Sluice still loads. */
#define SLUICE_UDF_ABI_MIN_VERSION 1

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ARROW_C_DATA_INTERFACE
#define ARROW_C_DATA_INTERFACE

#define ARROW_FLAG_DICTIONARY_ORDERED 1
#define ARROW_FLAG_NULLABLE 2
#define ARROW_FLAG_MAP_KEYS_SORTED 4

struct ArrowSchema {
  /* Array type description */
  const char* format;
  const char* name;
  const char* metadata;
  int64_t flags;
  int64_t n_children;
  struct ArrowSchema** children;
  struct ArrowSchema* dictionary;

  /* Release callback */
  void (*release)(struct ArrowSchema*);
  /* Opaque producer-specific data */
  void* private_data;
};

struct ArrowArray {
  /* Array data description */
  int64_t length;
  int64_t null_count;
  int64_t offset;
  int64_t n_buffers;
  int64_t n_children;
  const void** buffers;
  struct ArrowArray** children;
  struct ArrowArray* dictionary;

  /* Release callback */
  void (*release)(struct ArrowArray*);
  /* Opaque producer-specific data */
  void* private_data;
};

#endif /* ARROW_C_DATA_INTERFACE */

/* What Sluice offers a UDF during a call. */
typedef struct SluiceUdfHost {
  uint32_t abi_version;
  /* Makes buffer `index` (0 validity, 1 values or offsets, 2 string bytes) of `array`, a node
   * of the output tree, at least `bytes` long, keeping its contents and zero-filling the rest,
   * and returns it (also stored in array->buffers[index]). NULL when out of memory. For a list
   * result, set the child's `length` before returning. */
  void* (*reserve)(struct SluiceUdfHost* host, struct ArrowArray* array, int32_t index,
                   int64_t bytes);
} SluiceUdfHost;

typedef uint32_t (*SluiceUdfAbiVersionFn)(void);
typedef const char* (*SluiceUdfSignatureFn)(void);
typedef int32_t (*SluiceUdfScalarFn)(SluiceUdfHost* host, const struct ArrowArray* const* args,
                                     int32_t num_args, int64_t length, struct ArrowArray* out,
                                     char* error, int64_t error_capacity);

/* Aggregate functions (CREATE AGGREGATE FUNCTION ... LANGUAGE cpp). A library exports
 *   const SluiceUdafVTable* sluice_udaf_vtable(void);
 * (and sluice_udf_abi_version, sluice_udf_signature). A `states` object holds the states of
 * groups 0..n-1 (dense indexes Sluice assigns); every function returning int32_t returns 0, or
 * non-zero after writing a NUL-terminated message into `error`. One `states` object is used by
 * one thread at a time. */
#define SLUICE_UDAF_RETRACTABLE 1u
typedef struct SluiceUdafVTable {
  uint32_t abi_version;
  uint32_t flags; /* SLUICE_UDAF_RETRACTABLE: `update` accepts retract = 1 */
  void* (*create)(void);
  void (*destroy)(void* states);
  /* Grows to `groups` groups; new groups are in the initial state. */
  int32_t (*resize)(void* states, int64_t groups, char* error, int64_t error_capacity);
  /* Adds (retract = 0) or removes (retract = 1) row i of `args` to/from group groups[i]. */
  int32_t (*update)(void* states, const struct ArrowArray* const* args, int32_t num_args,
                    const uint32_t* groups, int64_t length, int32_t retract, char* error,
                    int64_t error_capacity);
  /* Folds group `src` of `other` (a states object of the same library) into group `dst`. */
  int32_t (*merge)(void* states, const void* other, uint32_t src, uint32_t dst, char* error,
                   int64_t error_capacity);
  /* Resets a group to the initial state. */
  void (*clear)(void* states, uint32_t group);
  /* Writes the result of each listed group into `out` (prepared as for sluice_udf_scalar). */
  int32_t (*finish)(void* states, SluiceUdfHost* host, const uint32_t* groups, int64_t length,
                    struct ArrowArray* out, char* error, int64_t error_capacity);
  /* Writes each listed group's state as one BYTEA row of `out` (for checkpoints). */
  int32_t (*serialize)(void* states, SluiceUdfHost* host, const uint32_t* groups, int64_t length,
                       struct ArrowArray* out, char* error, int64_t error_capacity);
  /* Sets groups[i] to the state in row rows[i] (row i when rows is NULL) of the BYTEA array. */
  int32_t (*deserialize)(void* states, const struct ArrowArray* in, const int32_t* rows,
                         const uint32_t* groups, int64_t length, char* error,
                         int64_t error_capacity);
  /* Approximate bytes held. */
  int64_t (*memory)(const void* states);
} SluiceUdafVTable;
typedef const SluiceUdafVTable* (*SluiceUdafVTableFn)(void);

/* Async functions (version 2; CREATE ASYNC FUNCTION ... LANGUAGE cpp), for calls to external
 * services. A library exports
 *   const SluiceUdfAsyncVTable* sluice_udf_async_vtable(void);
 * (and sluice_udf_abi_version, sluice_udf_signature). Each parallel subtask of the operator
 * opens one instance. `start` begins the calls of rows [begin, end) of `args` (borrowed for the
 * duration of `start` only: copy what a call needs), call `first_call + (row - begin)` for each
 * row, and returns without waiting for them. Each call is completed later, exactly once, from any
 * thread (also from inside `start`), through `host->complete`. Sluice bounds the calls in flight
 * (max_concurrency), enforces the timeout, and orders the results as declared. `close` abandons
 * the calls still in flight: no `complete` may follow its return. `start` is called by one
 * thread at a time per instance; it returns 0, or non-zero after writing a NUL-terminated
 * message into `error` (the pipeline then fails). */
#define SLUICE_UDF_ASYNC_OK 0    /* data/size: the result (see complete) */
#define SLUICE_UDF_ASYNC_NULL 1  /* the result is NULL */
#define SLUICE_UDF_ASYNC_ERROR 2 /* data/size: a UTF-8 message; the pipeline fails with it */
typedef struct SluiceUdfAsyncHost {
  uint32_t abi_version;
  void* context; /* Sluice's */
  /* Completes `call`. For SLUICE_UDF_ASYNC_OK, `data` holds the result: a fixed-width value in
   * Sluice's layout (`size` = its width; BOOLEAN one byte 0 or 1), or the bytes of TEXT, JSON or
   * BYTEA. Thread-safe; copies the bytes. A second completion of a call, or one after the call
   * timed out or after `close` began, is ignored. */
  void (*complete)(struct SluiceUdfAsyncHost* host, uint64_t call, int32_t status, const void* data,
                   int64_t size);
} SluiceUdfAsyncHost;
typedef struct SluiceUdfAsyncVTable {
  uint32_t abi_version;
  void* (*open)(SluiceUdfAsyncHost* host, char* error, int64_t error_capacity);
  void (*close)(void* instance);
  int32_t (*start)(void* instance, const struct ArrowArray* const* args, int32_t num_args,
                   int64_t begin, int64_t end, uint64_t first_call, char* error,
                   int64_t error_capacity);
} SluiceUdfAsyncVTable;
typedef const SluiceUdfAsyncVTable* (*SluiceUdfAsyncVTableFn)(void);

#ifdef __cplusplus
} /* extern "C" */
#endif

#ifdef __cplusplus
/* The C++ side, compiled into the UDF library only (it never crosses the ABI): typed views of
 * the arrays and the glue that calls a user's function in one of its two forms.
 *
 * Row at a time:   int64_t f(int64_t x, std::string_view s) { ... }
 *   or into a result Sluice reuses across rows (no allocation per row for strings; return
 *   false for NULL, or void):  bool f(int64_t x, std::string_view s, std::string& out)
 *   or, for TEXT, JSON and BYTEA results, straight into the result column's bytes (no copy
 *   per row; sluice_udf::Text has std::string's assign/append/resize/data/...):
 *                              bool f(int64_t x, std::string_view s, sluice_udf::Text& out)
 * Vectorized:      void f(sluice_udf::Column<int64_t> x, sluice_udf::Column<std::string_view> s,
 *                         sluice_udf::Output<int64_t>& out) { ... }
 *
 * SQL types map to C++ types as follows (arguments / results):
 *   BOOLEAN bool; TINYINT..BIGINT int8_t..int64_t (UNSIGNED: uint8_t..uint64_t); REAL float;
 *   DOUBLE double; DECIMAL(p, s) sluice_udf::Decimal; TEXT, JSON, BYTEA std::string_view /
 *   std::string; DATE sluice_udf::Date; TIME sluice_udf::Time; TIMESTAMP[TZ]
 *   sluice_udf::Timestamp; INTERVAL sluice_udf::Interval; T[] sluice_udf::List<T> /
 *   std::vector<T>.
 * A function declared CALLED ON NULL INPUT takes std::optional<T> arguments; any row-at-a-time
 * function may return std::optional<R> to return NULL. */
#include <cstring>
#include <exception>
#include <functional>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

namespace sluice_udf {

struct Date {
  int32_t days = 0;  // since 1970-01-01
};
struct Time {
  int64_t micros = 0;  // since midnight
};
struct Timestamp {
  int64_t micros = 0;  // since the Unix epoch (UTC)
};
struct Interval {
  int32_t months = 0;
  int32_t days = 0;
  int64_t micros = 0;
};
struct Decimal {
  __int128 unscaled = 0;  // value * 10^scale, the scale being the SQL type's
};

inline bool BitIsSet(const void* bits, int64_t i) {
  return (static_cast<const uint8_t*>(bits)[i >> 3] >> (i & 7)) & 1;
}

template <typename T>
class Column;

// Physical storage of each fixed-width C++ type: the type itself (all are trivially copyable
// and laid out as Sluice stores them).
template <typename T>
inline constexpr bool kFixedWidth = std::is_arithmetic_v<T> && !std::is_same_v<T, bool>;
template <>
inline constexpr bool kFixedWidth<Date> = true;
template <>
inline constexpr bool kFixedWidth<Time> = true;
template <>
inline constexpr bool kFixedWidth<Timestamp> = true;
template <>
inline constexpr bool kFixedWidth<Interval> = true;
template <>
inline constexpr bool kFixedWidth<Decimal> = true;

// A list value: a view of the rows [begin, end) of the element array.
template <typename T>
class List {
 public:
  using value_type = T;
  List(const ArrowArray* elements, int64_t begin, int64_t end)
      : elements_(elements), begin_(begin), end_(end) {}
  int64_t size() const { return end_ - begin_; }
  bool is_null(int64_t i) const;
  T operator[](int64_t i) const;

 private:
  const ArrowArray* elements_;
  int64_t begin_;
  int64_t end_;
};

// A read-only view of an argument array of C++ type T.
template <typename T>
class Column {
 public:
  explicit Column(const ArrowArray* a) : a_(a) {}
  int64_t size() const { return a_->length; }
  bool is_null(int64_t i) const {
    return a_->buffers[0] != nullptr && !BitIsSet(a_->buffers[0], i);
  }
  // The validity bitmap (bit set = not NULL), or nullptr when no row is NULL.
  const uint8_t* validity() const { return static_cast<const uint8_t*>(a_->buffers[0]); }
  // The values, for fixed-width types.
  const T* data() const {
    static_assert(kFixedWidth<T>, "data() is for fixed-width types");
    return static_cast<const T*>(a_->buffers[1]);
  }
  // Row i (whatever it holds when the row is NULL).
  T operator[](int64_t i) const {
    if constexpr (kFixedWidth<T>) {
      return static_cast<const T*>(a_->buffers[1])[i];
    } else if constexpr (std::is_same_v<T, bool>) {
      return BitIsSet(a_->buffers[1], i);
    } else if constexpr (std::is_same_v<T, std::string_view>) {
      const int32_t* o = static_cast<const int32_t*>(a_->buffers[1]);
      return {static_cast<const char*>(a_->buffers[2]) + o[i],
              static_cast<size_t>(o[i + 1] - o[i])};
    } else {
      using E = typename T::value_type;
      const int32_t* o = static_cast<const int32_t*>(a_->buffers[1]);
      return List<E>(a_->children[0], o[i], o[i + 1]);
    }
  }
  const ArrowArray& arrow() const { return *a_; }

 private:
  const ArrowArray* a_;
};

template <typename T>
bool List<T>::is_null(int64_t i) const {
  return Column<T>(elements_).is_null(begin_ + i);
}
template <typename T>
T List<T>::operator[](int64_t i) const {
  return Column<T>(elements_)[begin_ + i];
}

template <typename T>
struct IsList : std::false_type {};
template <typename T>
struct IsList<List<T>> : std::true_type {
  using value_type = T;
};

namespace detail {
// memcpy for the short strings of a row: inline, two overlapping loads and stores for up to 16
// bytes (a call into libc's memcpy costs more than the copy for a word or a name).
inline void CopyBytes(char* dst, const char* src, size_t n) {
  if (n >= 8 && n <= 16) {
    uint64_t a, b;
    std::memcpy(&a, src, 8);
    std::memcpy(&b, src + n - 8, 8);
    std::memcpy(dst, &a, 8);
    std::memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    uint32_t a, b;
    std::memcpy(&a, src, 4);
    std::memcpy(&b, src + n - 4, 4);
    std::memcpy(dst, &a, 4);
    std::memcpy(dst + n - 4, &b, 4);
  } else if (n > 0 && n < 4) {
    dst[0] = src[0];
    dst[n / 2] = src[n / 2];
    dst[n - 1] = src[n - 1];
  } else if (n > 16) {
    std::memcpy(dst, src, n);
  }
}
}  // namespace detail

// The result array of C++ type T. Rows are set in order for strings and lists (set(i, ...)
// with i = 0, 1, 2, ...); fixed-width rows in any order.
template <typename T>
class Output {
 public:
  Output(SluiceUdfHost* host, ArrowArray* a) : host_(host), a_(a) {}
  int64_t size() const { return a_->length; }
  T* data() {
    static_assert(kFixedWidth<T>, "data() is for fixed-width types");
    return static_cast<T*>(const_cast<void*>(a_->buffers[1]));
  }
  void set_null(int64_t i) {
    uint8_t* bits = static_cast<uint8_t*>(const_cast<void*>(a_->buffers[0]));
    bits[i >> 3] &= static_cast<uint8_t>(~(1u << (i & 7)));
    if constexpr (!kFixedWidth<T> && !std::is_same_v<T, bool>) EndRow(i);
  }
  template <typename V>
  void set(int64_t i, const V& v) {
    if constexpr (kFixedWidth<T>) {
      data()[i] = v;
    } else if constexpr (std::is_same_v<T, bool>) {
      uint8_t* bits = static_cast<uint8_t*>(const_cast<void*>(a_->buffers[1]));
      if (v) {
        bits[i >> 3] |= static_cast<uint8_t>(1u << (i & 7));
      } else {
        bits[i >> 3] &= static_cast<uint8_t>(~(1u << (i & 7)));
      }
    } else if constexpr (std::is_same_v<T, std::string_view> || std::is_same_v<T, std::string>) {
      std::string_view s(v);
      const int64_t need = used_ + static_cast<int64_t>(s.size());
      if (need > capacity_) {
        // Geometric growth: one host call per doubling, not per row.
        int64_t cap = capacity_ < 256 ? 256 : capacity_ * 2;
        while (cap < need) cap *= 2;
        Grow(a_, 2, cap);
        capacity_ = cap;
      }
      char* dst = static_cast<char*>(const_cast<void*>(a_->buffers[2])) + used_;
      detail::CopyBytes(dst, s.data(), s.size());
      used_ += static_cast<int64_t>(s.size());
      EndRow(i);
    } else {
      // A list: v is a std::vector<E> (or std::vector<std::optional<E>>).
      using E = typename T::value_type;
      ArrowArray* child = a_->children[0];
      Output<E> elements(host_, child);
      elements.used_ = child_strings_;
      elements.capacity_ = child_strings_capacity_;
      for (const auto& e : v) {
        int64_t k = child->length;
        child->length = k + 1;
        ReserveChild(child, k + 1);
        if constexpr (IsOptional<std::decay_t<decltype(e)>>::value) {
          if (e) {
            elements.set(k, *e);
          } else {
            elements.set_null(k);
          }
        } else {
          elements.set(k, e);
        }
      }
      child_strings_ = elements.used_;
      child_strings_capacity_ = elements.capacity_;
      used_ = child->length;
      EndRow(i);
    }
  }
  // Strings, in bulk instead of set(): the offsets (size() + 1 entries, the first 0; the
  // validity still through set_null) and `bytes` bytes of string data, to fill in one pass.
  int32_t* raw_offsets() { return static_cast<int32_t*>(const_cast<void*>(a_->buffers[1])); }
  char* raw_data(int64_t bytes) {
    if (bytes > capacity_) {
      Grow(a_, 2, bytes);
      capacity_ = bytes;
    }
    return static_cast<char*>(const_cast<void*>(a_->buffers[2]));
  }
  ArrowArray& arrow() { return *a_; }

 private:
  template <typename U>
  friend class Output;
  template <typename U>
  struct IsOptional : std::false_type {};
  template <typename U>
  struct IsOptional<std::optional<U>> : std::true_type {};

  void* Grow(ArrowArray* a, int32_t index, int64_t bytes) {
    void* p = host_->reserve(host_, a, index, bytes);
    if (p == nullptr) throw std::bad_alloc();
    return p;
  }
  void EndRow(int64_t i) {
    static_cast<int32_t*>(const_cast<void*>(a_->buffers[1]))[i + 1] = static_cast<int32_t>(used_);
  }
  // Makes room for `rows` rows in a list's element array (doubling).
  void ReserveChild(ArrowArray* child, int64_t rows) {
    if (rows <= child_capacity_) return;
    int64_t cap = child_capacity_ < 64 ? 64 : child_capacity_ * 2;
    while (cap < rows) cap *= 2;
    Grow(child, 0, (cap + 7) / 8);
    // New validity bits are set: Sluice's reserve zero-fills, so set them here.
    uint8_t* bits = static_cast<uint8_t*>(const_cast<void*>(child->buffers[0]));
    std::memset(bits + (child_capacity_ + 7) / 8, 0xff,
                static_cast<size_t>((cap + 7) / 8 - (child_capacity_ + 7) / 8));
    if (child_capacity_ % 8 != 0)
      bits[child_capacity_ / 8] |= static_cast<uint8_t>(0xff << (child_capacity_ % 8));
    using E = typename T::value_type;
    if constexpr (kFixedWidth<E>) {
      Grow(child, 1, cap * static_cast<int64_t>(sizeof(E)));
    } else if constexpr (std::is_same_v<E, bool>) {
      Grow(child, 1, (cap + 7) / 8);
    } else {
      Grow(child, 1, (cap + 1) * 4);
    }
    child_capacity_ = cap;
  }

  SluiceUdfHost* host_;
  ArrowArray* a_;
  int64_t used_ = 0;            // string bytes, or list elements, written so far
  int64_t child_capacity_ = 0;  // list: element rows reserved
  int64_t capacity_ = 0;        // string bytes reserved
  int64_t child_strings_ = 0;   // list of strings: element bytes written
  int64_t child_strings_capacity_ = 0;
};

namespace detail {
struct TextRows;
}  // namespace detail

// The TEXT, JSON or BYTEA result of a row-at-a-time function, written straight into the result
// column's bytes: `bool f(std::string_view s, sluice_udf::Text& out)` (false for NULL, or
// `void`). Each row's `out` starts empty at the end of the previous row's bytes; what the
// function writes is the row's value, with no copy afterwards (the `std::string&` form copies
// the string into the column). A subset of std::string's interface: pointers and iterators
// into it are invalidated by whatever grows it, as std::string's are, and the bytes belong to
// the row only during the call.
class Text {
 public:
  using value_type = char;
  using size_type = size_t;
  using iterator = char*;
  using const_iterator = const char*;
  static constexpr size_t npos = std::string_view::npos;

  Text(const Text&) = delete;
  Text& operator=(const Text&) = delete;

  size_t size() const { return size_; }
  size_t length() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Bytes this row can hold before the column's buffer grows.
  size_t capacity() const { return room_; }
  char* data() { return row_; }
  const char* data() const { return row_; }
  char* begin() { return row_; }
  char* end() { return row_ + size_; }
  const char* begin() const { return row_; }
  const char* end() const { return row_ + size_; }
  char& operator[](size_t i) { return row_[i]; }
  const char& operator[](size_t i) const { return row_[i]; }
  char& front() { return row_[0]; }
  char& back() { return row_[size_ - 1]; }
  std::string_view view() const { return {row_, size_}; }
  operator std::string_view() const { return view(); }  // NOLINT: as std::string's

  void clear() { size_ = 0; }
  void reserve(size_t n) {
    if (n > room_) Grow(n);
  }
  // Like std::string::resize: new bytes are `c`.
  void resize(size_t n, char c = '\0') {
    reserve(n);
    if (n > size_) std::memset(row_ + size_, c, n - size_);
    size_ = n;
  }
  // Sets the size to n without writing the new bytes (their value is unspecified): for a body
  // that then writes every byte through data(), one pass instead of two.
  void resize_for_overwrite(size_t n) {
    reserve(n);
    size_ = n;
  }
  Text& assign(std::string_view s) {
    size_ = 0;
    return append(s);
  }
  Text& append(std::string_view s) {
    const size_t n = s.size();
    if (n > room_ - size_) return AppendGrowing(s);
    detail_move(row_ + size_, s.data(), n);
    size_ += n;
    return *this;
  }
  Text& append(size_t count, char c) {
    reserve(size_ + count);
    std::memset(row_ + size_, c, count);
    size_ += count;
    return *this;
  }
  void push_back(char c) {
    if (size_ == room_) Grow(size_ + 1);
    row_[size_++] = c;
  }
  void pop_back() { --size_; }
  Text& operator=(std::string_view s) { return assign(s); }
  Text& operator+=(std::string_view s) { return append(s); }
  Text& operator+=(char c) {
    push_back(c);
    return *this;
  }
  friend bool operator==(const Text& a, std::string_view b) { return a.view() == b; }

 private:
  friend struct detail::TextRows;
  Text(SluiceUdfHost* host, ArrowArray* a) : host_(host), a_(a) {}

  // Moves n bytes that may overlap (a body may append a part of its own value): up to 16 bytes
  // with loads before stores, inline; longer through memmove.
  static void detail_move(char* dst, const char* src, size_t n) {
    if (n <= 16) {
      if (n >= 8) {
        uint64_t x, y;
        std::memcpy(&x, src, 8);
        std::memcpy(&y, src + n - 8, 8);
        std::memcpy(dst, &x, 8);
        std::memcpy(dst + n - 8, &y, 8);
      } else if (n >= 4) {
        uint32_t x, y;
        std::memcpy(&x, src, 4);
        std::memcpy(&y, src + n - 4, 4);
        std::memcpy(dst, &x, 4);
        std::memcpy(dst + n - 4, &y, 4);
      } else if (n > 0) {
        const char x = src[0], y = src[n / 2], z = src[n - 1];
        dst[0] = x;
        dst[n / 2] = y;
        dst[n - 1] = z;
      }
    } else {
      std::memmove(dst, src, n);
    }
  }
  // append() when the buffer must grow first; `s` may view this row's own bytes.
  __attribute__((noinline)) Text& AppendGrowing(std::string_view s) {
    const bool own = s.data() >= row_ && s.data() < row_ + size_;
    const size_t at = own ? static_cast<size_t>(s.data() - row_) : 0;
    Grow(size_ + s.size());
    if (own) s = std::string_view(row_ + at, s.size());
    detail_move(row_ + size_, s.data(), s.size());
    size_ += s.size();
    return *this;
  }
  // Makes room for `need` bytes in this row (the column's bytes at least double).
  __attribute__((noinline)) void Grow(size_t need) {
    const int64_t want = used_ + static_cast<int64_t>(need);
    if (need > static_cast<size_t>(INT32_MAX) || want > INT32_MAX) {
      throw std::length_error("a batch's string result is longer than 2 GiB");
    }
    int64_t cap = static_cast<int64_t>(used_ + room_) * 2;
    if (cap < 256) cap = 256;
    while (cap < want) cap *= 2;
    if (cap > INT32_MAX) cap = INT32_MAX;
    void* p = host_->reserve(host_, a_, 2, cap);
    if (p == nullptr) throw std::bad_alloc();
    row_ = static_cast<char*>(p) + used_;
    room_ = static_cast<size_t>(cap - used_);
  }
  // Ends the row: its bytes stay in the column.
  void NextRow() {
    used_ += static_cast<int64_t>(size_);
    row_ += size_;
    room_ -= size_;
    size_ = 0;
  }

  SluiceUdfHost* host_;
  ArrowArray* a_;
  char* row_ = nullptr;  // this row's first byte in the column's string bytes
  size_t size_ = 0;      // this row's bytes so far
  size_t room_ = 0;      // bytes from row_ to the end of the buffer reserved
  int64_t used_ = 0;     // bytes of the rows before this one
};

namespace detail {

template <typename T>
struct Unopt {
  using type = T;
  static constexpr bool optional = false;
};
template <typename T>
struct Unopt<std::optional<T>> {
  using type = T;
  static constexpr bool optional = true;
};

// Whether a row-at-a-time function may return Out for the declared result R: R itself (or what
// converts to it), std::optional of it (NULL), and for arrays elements that are std::optional.
template <typename Out, typename R>
struct Returns : std::bool_constant<std::is_convertible_v<Out, R>> {};
template <typename Out, typename R>
struct Returns<std::optional<Out>, R> : Returns<Out, R> {};
template <typename E>
struct Returns<std::vector<std::optional<E>>, std::vector<E>> : std::true_type {};

template <typename T>
inline std::optional<typename Unopt<T>::type> Read(const ArrowArray* a, int64_t i) {
  using V = typename Unopt<T>::type;
  Column<V> c(a);
  if (c.is_null(i)) return std::nullopt;
  return c[i];
}

template <typename T>
inline const T& Unwrap(const T& v) {
  return v;
}
template <typename T>
inline const T& Unwrap(const std::reference_wrapper<T>& v) {
  return v.get();
}

inline void CopyError(const char* what, char* error, int64_t capacity) {
  if (capacity <= 0) return;
  size_t n = std::strlen(what);
  if (static_cast<int64_t>(n) >= capacity) n = static_cast<size_t>(capacity - 1);
  std::memcpy(error, what, n);
  error[n] = '\0';
}

// The row loop both row-at-a-time forms share: calls row(i, args...) for each row with its
// arguments as the declared types Args; in a strict function a row with a NULL argument calls
// null_row(i) instead. A batch without NULLs reads its arguments through typed column views in
// a loop the compiler can inline the function into and vectorize.
template <bool kStrict, typename... Args, typename Row, typename NullRow, size_t... I>
inline void ForEachRow(const ArrowArray* const* args, int64_t n, Row&& row, NullRow&& null_row,
                       std::index_sequence<I...>) {
  const void* validity[sizeof...(Args) + 1] = {args[I]->buffers[0]..., nullptr};
  bool any_nulls = false;
  for (size_t k = 0; k < sizeof...(Args); ++k) any_nulls |= validity[k] != nullptr;
  std::tuple<Column<typename Unopt<Args>::type>...> cols{
      Column<typename Unopt<Args>::type>(args[I])...};
  if (!any_nulls) {
    for (int64_t i = 0; i < n; ++i) row(i, Args(std::get<I>(cols)[i])...);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (kStrict) {
      bool null = false;
      for (size_t k = 0; k < sizeof...(Args); ++k) {
        null |= validity[k] != nullptr && !BitIsSet(validity[k], i);
      }
      if (null) {
        null_row(i);
        continue;
      }
      row(i, Args(std::get<I>(cols)[i])...);
    } else {
      row(i, Args(Read<Args>(args[I], i))...);
    }
  }
}

// Calls `fn` in its row-at-a-time form. Strict: rows with a NULL argument are NULL without a
// call. Args are the declared C++ types (std::optional<T> when called on NULL input).
template <bool kStrict, typename R, typename... Args, typename F, size_t... I>
inline void RunRows(F&& fn, SluiceUdfHost* host, const ArrowArray* const* args, int64_t n,
                    ArrowArray* out, std::index_sequence<I...>) {
  using RV = typename Unopt<R>::type;
  Output<RV> result(host, out);
  auto emit = [&](int64_t i, auto&& value) {
    using V = std::decay_t<decltype(value)>;
    if constexpr (Unopt<V>::optional) {
      if (value) {
        result.set(i, Unwrap(*value));
      } else {
        result.set_null(i);
      }
    } else {
      result.set(i, value);
    }
  };
  ForEachRow<kStrict, Args...>(
      args, n, [&](int64_t i, auto&&... a) { emit(i, fn(std::forward<decltype(a)>(a)...)); },
      [&](int64_t i) { result.set_null(i); }, std::index_sequence<I...>{});
}

// The row loop of `bool f(A..., Text& out)`: each row's result is written in place, so a row
// costs the call and one offset store; the column's bytes are reserved once per batch for as
// many bytes as the string arguments hold (a result is often no longer than its input), and
// grow geometrically past that.
struct TextRows {
  template <typename T>
  static int64_t StringBytes(const ArrowArray* a, int64_t n) {
    if constexpr (std::is_same_v<T, std::string_view>) {
      return n > 0 ? static_cast<const int32_t*>(a->buffers[1])[n] : 0;
    } else {
      return 0;
    }
  }
  template <bool kStrict, typename... Args, typename F, size_t... I>
  static void Run(F& fn, SluiceUdfHost* host, const ArrowArray* const* args, int64_t n,
                  ArrowArray* out, std::index_sequence<I...>) {
    Text text(host, out);
    int32_t* offsets = static_cast<int32_t*>(const_cast<void*>(out->buffers[1]));
    uint8_t* bits = static_cast<uint8_t*>(const_cast<void*>(out->buffers[0]));
    int64_t hint = 256;
    ((hint += StringBytes<typename Unopt<Args>::type>(args[I], n)), ...);
    text.reserve(static_cast<size_t>(hint < INT32_MAX ? hint : INT32_MAX));
    auto call = [&fn, &text](auto&&... a) -> bool {
      using Ret = decltype(fn(std::forward<decltype(a)>(a)..., text));
      if constexpr (std::is_same_v<Ret, void>) {
        fn(std::forward<decltype(a)>(a)..., text);
        return true;
      } else {
        return static_cast<bool>(fn(std::forward<decltype(a)>(a)..., text));
      }
    };
    auto end_row = [&text, offsets, bits](int64_t i, bool valid) {
      if (!valid) {
        text.size_ = 0;
        bits[i >> 3] &= static_cast<uint8_t>(~(1u << (i & 7)));
      }
      text.NextRow();
      offsets[i + 1] = static_cast<int32_t>(text.used_);
    };
    ForEachRow<kStrict, Args...>(
        args, n, [&](int64_t i, auto&&... a) { end_row(i, call(std::forward<decltype(a)>(a)...)); },
        [&](int64_t i) { end_row(i, false); }, std::index_sequence<I...>{});
  }
};
}  // namespace detail

// The glue Sluice generates calls this with the function's declared C++ types. `fn` is a
// generic lambda forwarding to the user's function (so overloads resolve as usual).
template <bool kStrict, typename R, typename... Args, typename F>
inline int32_t CallScalar(F&& fn, SluiceUdfHost* host, const ArrowArray* const* args,
                          int32_t num_args, int64_t n, ArrowArray* out, char* error,
                          int64_t error_capacity) {
  if (num_args != static_cast<int32_t>(sizeof...(Args))) {
    detail::CopyError("wrong number of arguments", error, error_capacity);
    return 1;
  }
  try {
    using RV = typename detail::Unopt<R>::type;
    if constexpr (std::is_invocable_v<F&, Column<typename detail::Unopt<Args>::type>...,
                                      Output<RV>&>) {
      Output<RV> result(host, out);
      [&]<size_t... I>(std::index_sequence<I...>) {
        fn(Column<typename detail::Unopt<Args>::type>(args[I])..., result);
      }
      (std::index_sequence_for<Args...>{});
    } else if constexpr (std::is_same_v<RV, std::string> &&
                         std::is_invocable_v<F&, Args..., Text&>) {
      // Row at a time, writing straight into the result column (no copy per row).
      detail::TextRows::Run<kStrict, Args...>(fn, host, args, n, out,
                                              std::index_sequence_for<Args...>{});
    } else if constexpr (std::is_invocable_v<F&, Args..., RV&>) {
      // Row at a time into a result the loop reuses: no allocation per row for strings. A
      // local of the call, not a thread_local: in a dlopen'ed library every thread_local access
      // is a __tls_get_addr call, which cost ~10 % of a short-string row.
      RV value{};
      detail::RunRows<kStrict, R, Args...>(
          [&fn, &value](auto&&... a) {
            if constexpr (std::is_same_v<RV, std::string>) {
              value.clear();
            } else {
              value = RV{};
            }
            using Ret = decltype(fn(std::forward<decltype(a)>(a)..., value));
            if constexpr (std::is_same_v<Ret, void>) {
              fn(std::forward<decltype(a)>(a)..., value);
              return std::optional<std::reference_wrapper<const RV>>(std::cref(value));
            } else {
              bool valid = fn(std::forward<decltype(a)>(a)..., value);
              return valid ? std::optional<std::reference_wrapper<const RV>>(std::cref(value))
                           : std::nullopt;
            }
          },
          host, args, n, out, std::index_sequence_for<Args...>{});
    } else {
      detail::RunRows<kStrict, R, Args...>(fn, host, args, n, out,
                                           std::index_sequence_for<Args...>{});
    }
  } catch (const std::exception& e) {
    detail::CopyError(e.what(), error, error_capacity);
    return 1;
  } catch (...) {
    detail::CopyError("threw a C++ exception that is not a std::exception", error, error_capacity);
    return 1;
  }
  return 0;
}

// Aggregates: a struct named like the SQL aggregate, default-constructible (the initial state),
// with
//   void update(A... args);          each input row (STRICT: rows with a NULL argument skipped)
//   void retract(A... args);         optional: removes a row update added (updating inputs)
//   void merge(const S& other);      folds another partial state in
//   R finish() const;                the result (std::optional<R> to return NULL)
// and, unless it is trivially copyable (then its bytes are checkpointed as they are),
//   void serialize(std::string& out) const;  void deserialize(std::string_view in);
template <typename S, bool kStrict, typename R, typename... Args>
struct AggregateGlue {
  using RV = typename detail::Unopt<R>::type;
  struct States {
    std::vector<S> v;
  };
  static constexpr bool kRetract = requires(S s, Args... a) { s.retract(a...); };
  static constexpr bool kTrivial = std::is_trivially_copyable_v<S>;

  template <typename Body>
  static int32_t Guard(Body&& body, char* error, int64_t capacity) {
    try {
      body();
    } catch (const std::exception& e) {
      detail::CopyError(e.what(), error, capacity);
      return 1;
    } catch (...) {
      detail::CopyError("threw a C++ exception that is not a std::exception", error, capacity);
      return 1;
    }
    return 0;
  }
  static void* Create() { return new (std::nothrow) States(); }
  static void Destroy(void* p) { delete static_cast<States*>(p); }
  static int32_t Resize(void* p, int64_t groups, char* error, int64_t capacity) {
    return Guard([&] { static_cast<States*>(p)->v.resize(static_cast<size_t>(groups)); }, error,
                 capacity);
  }
  template <size_t... I>
  static void UpdateRows(States& st, const ArrowArray* const* args, const uint32_t* groups,
                         int64_t n, bool retract, std::index_sequence<I...>) {
    const void* validity[sizeof...(Args) + 1] = {args[I]->buffers[0]..., nullptr};
    for (int64_t i = 0; i < n; ++i) {
      S& s = st.v[groups[i]];
      if constexpr (kStrict) {
        bool null = false;
        for (size_t k = 0; k < sizeof...(Args); ++k) {
          null |= validity[k] != nullptr && !BitIsSet(validity[k], i);
        }
        if (null) continue;
        if (retract) {
          if constexpr (kRetract) s.retract(Args(Column<Args>(args[I])[i])...);
        } else {
          s.update(Args(Column<Args>(args[I])[i])...);
        }
      } else {
        if (retract) {
          if constexpr (kRetract) s.retract(Args(detail::Read<Args>(args[I], i))...);
        } else {
          s.update(Args(detail::Read<Args>(args[I], i))...);
        }
      }
    }
  }
  static int32_t Update(void* p, const ArrowArray* const* args, int32_t num_args,
                        const uint32_t* groups, int64_t n, int32_t retract, char* error,
                        int64_t capacity) {
    if (num_args != static_cast<int32_t>(sizeof...(Args))) {
      detail::CopyError("wrong number of arguments", error, capacity);
      return 1;
    }
    if (retract && !kRetract) {
      detail::CopyError("the aggregate has no retract()", error, capacity);
      return 1;
    }
    return Guard(
        [&] {
          UpdateRows(*static_cast<States*>(p), args, groups, n, retract != 0,
                     std::index_sequence_for<Args...>{});
        },
        error, capacity);
  }
  static int32_t Merge(void* p, const void* other, uint32_t src, uint32_t dst, char* error,
                       int64_t capacity) {
    return Guard(
        [&] { static_cast<States*>(p)->v[dst].merge(static_cast<const States*>(other)->v[src]); },
        error, capacity);
  }
  static void Clear(void* p, uint32_t g) { static_cast<States*>(p)->v[g] = S{}; }
  static int32_t Finish(void* p, SluiceUdfHost* host, const uint32_t* groups, int64_t n,
                        ArrowArray* out, char* error, int64_t capacity) {
    return Guard(
        [&] {
          const States& st = *static_cast<const States*>(p);
          Output<RV> result(host, out);
          for (int64_t i = 0; i < n; ++i) {
            auto value = st.v[groups[i]].finish();
            if constexpr (detail::Unopt<std::decay_t<decltype(value)>>::optional) {
              if (value) {
                result.set(i, *value);
              } else {
                result.set_null(i);
              }
            } else {
              result.set(i, value);
            }
          }
        },
        error, capacity);
  }
  static int32_t Serialize(void* p, SluiceUdfHost* host, const uint32_t* groups, int64_t n,
                           ArrowArray* out, char* error, int64_t capacity) {
    return Guard(
        [&] {
          const States& st = *static_cast<const States*>(p);
          Output<std::string> result(host, out);
          std::string buffer;
          for (int64_t i = 0; i < n; ++i) {
            const S& s = st.v[groups[i]];
            if constexpr (kTrivial) {
              result.set(i, std::string_view(reinterpret_cast<const char*>(&s), sizeof(S)));
            } else {
              buffer.clear();
              s.serialize(buffer);
              result.set(i, buffer);
            }
          }
        },
        error, capacity);
  }
  static int32_t Deserialize(void* p, const ArrowArray* in, const int32_t* rows,
                             const uint32_t* groups, int64_t n, char* error, int64_t capacity) {
    return Guard(
        [&] {
          States& st = *static_cast<States*>(p);
          Column<std::string_view> bytes(in);
          for (int64_t i = 0; i < n; ++i) {
            std::string_view b = bytes[rows ? rows[i] : i];
            S& s = st.v[groups[i]];
            if constexpr (kTrivial) {
              if (b.size() != sizeof(S)) {
                throw std::runtime_error(
                    "a checkpointed state has " + std::to_string(b.size()) +
                    " bytes, the state struct " + std::to_string(sizeof(S)) +
                    " (was the aggregate's state changed since the checkpoint?)");
              }
              std::memcpy(static_cast<void*>(&s), b.data(), sizeof(S));
            } else {
              s = S{};
              s.deserialize(b);
            }
          }
        },
        error, capacity);
  }
  static int64_t Memory(const void* p) {
    return static_cast<int64_t>(static_cast<const States*>(p)->v.capacity() * sizeof(S));
  }
  static const SluiceUdafVTable* VTable() {
    static const SluiceUdafVTable table = {SLUICE_UDF_ABI_VERSION,
                                           kRetract ? SLUICE_UDAF_RETRACTABLE : 0u,
                                           &Create,
                                           &Destroy,
                                           &Resize,
                                           &Update,
                                           &Merge,
                                           &Clear,
                                           &Finish,
                                           &Serialize,
                                           &Deserialize,
                                           &Memory};
    return &table;
  }
};

// Async functions: a struct named like the SQL function,
//   struct lookup {
//     lookup();   // once per parallel instance: clients, connections, an event-loop thread
//     ~lookup();  // stops: completes or abandons what is in flight, joins its threads
//     void start(int64_t id, sluice_udf::Completion<std::string> done);  // one call
//   };
// start() begins a call and returns at once; the call ends, later and from any thread, with
// done.complete(value), done.complete_null() or done.fail("message"). Arguments are as for
// scalar functions (std::optional<T> when CALLED ON NULL INPUT; a STRICT function is not called
// for a row with a NULL argument, whose result is NULL); string views are valid only during
// start(). One instance's start() is called by one thread at a time.
template <typename R>
class Completion {
 public:
  Completion(SluiceUdfAsyncHost* host, uint64_t call) : host_(host), call_(call) {}
  uint64_t id() const { return call_; }
  void complete(const R& value) const {
    if constexpr (std::is_same_v<R, bool>) {
      const uint8_t b = value ? 1 : 0;
      host_->complete(host_, call_, SLUICE_UDF_ASYNC_OK, &b, 1);
    } else if constexpr (kFixedWidth<R>) {
      host_->complete(host_, call_, SLUICE_UDF_ASYNC_OK, &value, sizeof(R));
    } else {
      std::string_view s(value);
      host_->complete(host_, call_, SLUICE_UDF_ASYNC_OK, s.data(), static_cast<int64_t>(s.size()));
    }
  }
  void complete(const std::optional<R>& value) const {
    if (value) {
      complete(*value);
    } else {
      complete_null();
    }
  }
  void complete_null() const { host_->complete(host_, call_, SLUICE_UDF_ASYNC_NULL, nullptr, 0); }
  void fail(std::string_view message) const {
    host_->complete(host_, call_, SLUICE_UDF_ASYNC_ERROR, message.data(),
                    static_cast<int64_t>(message.size()));
  }

 private:
  SluiceUdfAsyncHost* host_;
  uint64_t call_;
};

template <typename S, bool kStrict, typename R, typename... Args>
struct AsyncGlue {
  using RV = typename detail::Unopt<R>::type;
  struct Instance {
    SluiceUdfAsyncHost* host;
    S* s;
  };
  static void* Open(SluiceUdfAsyncHost* host, char* error, int64_t capacity) {
    try {
      return new Instance{host, new S()};
    } catch (const std::exception& e) {
      detail::CopyError(e.what(), error, capacity);
    } catch (...) {
      detail::CopyError("threw a C++ exception that is not a std::exception", error, capacity);
    }
    return nullptr;
  }
  static void Close(void* p) {
    Instance* in = static_cast<Instance*>(p);
    delete in->s;
    delete in;
  }
  template <size_t... I>
  static void StartRows(Instance& in, const ArrowArray* const* args, int64_t begin, int64_t end,
                        uint64_t first, std::index_sequence<I...>) {
    const void* validity[sizeof...(Args) + 1] = {args[I]->buffers[0]..., nullptr};
    for (int64_t i = begin; i < end; ++i) {
      Completion<RV> done(in.host, first + static_cast<uint64_t>(i - begin));
      if constexpr (kStrict) {
        bool null = false;
        for (size_t k = 0; k < sizeof...(Args); ++k) {
          null |= validity[k] != nullptr && !BitIsSet(validity[k], i);
        }
        if (null) {
          done.complete_null();
          continue;
        }
        in.s->start(Args(Column<Args>(args[I])[i])..., done);
      } else {
        in.s->start(Args(detail::Read<Args>(args[I], i))..., done);
      }
    }
  }
  static int32_t Start(void* p, const ArrowArray* const* args, int32_t num_args, int64_t begin,
                       int64_t end, uint64_t first, char* error, int64_t capacity) {
    if (num_args != static_cast<int32_t>(sizeof...(Args))) {
      detail::CopyError("wrong number of arguments", error, capacity);
      return 1;
    }
    try {
      StartRows(*static_cast<Instance*>(p), args, begin, end, first,
                std::index_sequence_for<Args...>{});
    } catch (const std::exception& e) {
      detail::CopyError(e.what(), error, capacity);
      return 1;
    } catch (...) {
      detail::CopyError("threw a C++ exception that is not a std::exception", error, capacity);
      return 1;
    }
    return 0;
  }
  static const SluiceUdfAsyncVTable* VTable() {
    static const SluiceUdfAsyncVTable table = {SLUICE_UDF_ABI_VERSION, &Open, &Close, &Start};
    return &table;
  }
};

}  // namespace sluice_udf
#endif /* __cplusplus */

#endif /* SLUICE_UDF_H */
