/* Sluice user-defined functions: the stable C ABI between Sluice and a compiled UDF library.
 *
 * Version 1. Sluice compiles `CREATE FUNCTION ... LANGUAGE cpp` source against this header into
 * a shared library and loads it. Columns cross the boundary as Arrow C Data Interface arrays
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

#define SLUICE_UDF_ABI_VERSION 1

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

#ifdef __cplusplus
} /* extern "C" */
#endif

#ifdef __cplusplus
/* The C++ side, compiled into the UDF library only (it never crosses the ABI): typed views of
 * the arrays and the glue that calls a user's function in one of its two forms.
 *
 * Row at a time:   int64_t f(int64_t x, std::string_view s) { ... }
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
#include <optional>
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
      char* dst = static_cast<char*>(Grow(a_, 2, used_ + static_cast<int64_t>(s.size())));
      if (!s.empty()) std::memcpy(dst + used_, s.data(), s.size());
      used_ += static_cast<int64_t>(s.size());
      EndRow(i);
    } else {
      // A list: v is a std::vector<E> (or std::vector<std::optional<E>>).
      using E = typename T::value_type;
      ArrowArray* child = a_->children[0];
      Output<E> elements(host_, child);
      elements.used_ = child_strings_;
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
      used_ = child->length;
      EndRow(i);
    }
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
  int64_t child_strings_ = 0;   // list of strings: element bytes written
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

inline void CopyError(const char* what, char* error, int64_t capacity) {
  if (capacity <= 0) return;
  size_t n = std::strlen(what);
  if (static_cast<int64_t>(n) >= capacity) n = static_cast<size_t>(capacity - 1);
  std::memcpy(error, what, n);
  error[n] = '\0';
}

// Calls `fn` in its row-at-a-time form. Strict: rows with a NULL argument are NULL without a
// call. Args are the declared C++ types (std::optional<T> when called on NULL input).
template <bool kStrict, typename R, typename... Args, typename F, size_t... I>
inline void RunRows(F&& fn, SluiceUdfHost* host, const ArrowArray* const* args, int64_t n,
                    ArrowArray* out, std::index_sequence<I...>) {
  using RV = typename Unopt<R>::type;
  Output<RV> result(host, out);
  // Validity of every argument, or nullptr.
  const void* validity[sizeof...(Args) + 1] = {args[I]->buffers[0]..., nullptr};
  bool any_nulls = false;
  for (size_t k = 0; k < sizeof...(Args); ++k) any_nulls |= validity[k] != nullptr;
  auto emit = [&](int64_t i, auto&& value) {
    using V = std::decay_t<decltype(value)>;
    if constexpr (Unopt<V>::optional) {
      if (value) {
        result.set(i, *value);
      } else {
        result.set_null(i);
      }
    } else {
      result.set(i, value);
    }
  };
  if (!any_nulls) {
    std::tuple<Column<typename Unopt<Args>::type>...> cols{
        Column<typename Unopt<Args>::type>(args[I])...};
    for (int64_t i = 0; i < n; ++i) emit(i, fn(Args(std::get<I>(cols)[i])...));
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    if constexpr (kStrict) {
      bool null = false;
      for (size_t k = 0; k < sizeof...(Args); ++k) {
        null |= validity[k] != nullptr && !BitIsSet(validity[k], i);
      }
      if (null) {
        result.set_null(i);
        continue;
      }
      emit(i, fn(Args(*Read<Args>(args[I], i))...));
    } else {
      emit(i, fn(Args(Read<Args>(args[I], i))...));
    }
  }
}

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

}  // namespace sluice_udf
#endif /* __cplusplus */

#endif /* SLUICE_UDF_H */
