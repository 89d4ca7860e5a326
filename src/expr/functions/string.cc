// Text functions with PostgreSQL semantics. Positions and lengths count characters (UTF-8 code
// points), never bytes, except octet_length. Arguments of other types are accepted when they
// convert implicitly to TEXT (concat and concat_ws take anything, as Postgres' "any" does).

#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "expr/cast.h"
#include "expr/functions/overload.h"
#include "expr/functions/row_loops.h"
#include "expr/functions/string_util.h"
#include "expr/kernel_util.h"

namespace sluice::expr {
namespace {

const DataType kText = types::Utf8();
const DataType kInt = types::Int32();
const DataType kBigint = types::Int64();
const DataType kBool = types::Bool();
const DataType kBytea = DataType(TypeId::kBinary);

// Postgres refuses to build values over 1 GB; so do we, before allocating them.
constexpr int64_t kMaxResultBytes = int64_t{1} << 30;

using KernelFn = Status (*)(const BoundFunction&, std::span<const ColumnPtr>, int64_t, ColumnPtr*);

Signature Sig(std::vector<DataType> args, DataType ret, KernelFn kernel) {
  return Signature{std::move(args), std::move(ret), kernel};
}

// The byte range of characters [first, first + count) (0-based, count may be "all").
std::string_view Utf8Slice(std::string_view s, int64_t first, int64_t count) {
  size_t b0 = Utf8Offset(s, first);
  std::string_view rest = s.substr(b0);
  return rest.substr(0, Utf8Offset(rest, count));
}

// ---------------------------------------------------------------------------------------------
// Case mapping.

// lower/upper: when the whole batch is ASCII, map the data buffer in one pass and keep the
// offsets and validity buffers as they are.
template <bool kUpper>
Status CaseKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                  ColumnPtr* out) {
  const Column& in = *args[0];
  const int32_t* o = in.offsets();
  std::string_view all(reinterpret_cast<const char*>(in.data->data()) + o[0],
                       static_cast<size_t>(o[rows] - o[0]));
  if (IsAscii(all)) {
    auto col = std::make_shared<Column>();
    col->type = kText;
    col->length = rows;
    col->validity = in.validity;
    col->values = in.values;
    col->data = std::make_shared<batch::Buffer>(in.data->size());
    const uint8_t* src = in.data->data();
    uint8_t* dst = col->data->data();
    for (size_t i = 0; i < in.data->size(); ++i) {
      uint8_t c = src[i];
      if constexpr (kUpper) {
        dst[i] = (c >= 'a' && c <= 'z') ? c - 32 : c;
      } else {
        dst[i] = (c >= 'A' && c <= 'Z') ? c + 32 : c;
      }
    }
    *out = col;
    return Status::Ok();
  }
  auto op = [&](int64_t i, std::string* r) {
    if constexpr (kUpper) {
      AppendCaseMapped(in.GetString(i), ToUpperCodePoint, r);
    } else {
      AppendCaseMapped(in.GetString(i), ToLowerCodePoint, r);
    }
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

// Letters and digits start or continue a word for initcap; any non-ASCII letter counts, minus
// the common punctuation blocks.
bool IsWordChar(uint32_t cp) {
  if (cp < 0x80) {
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  }
  if (cp < 0xC0) return cp == 0xAA || cp == 0xB5 || cp == 0xBA;
  if (cp == 0xD7 || cp == 0xF7) return false;
  if (cp >= 0x2000 && cp <= 0x206F) return false;  // general punctuation
  if (cp >= 0x3000 && cp <= 0x303F) return false;  // CJK punctuation
  return true;
}

Status InitcapKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                     ColumnPtr* out) {
  const Column& in = *args[0];
  auto op = [&](int64_t i, std::string* r) {
    std::string_view s = in.GetString(i);
    bool in_word = false;
    for (size_t pos = 0; pos < s.size();) {
      size_t end = Utf8CharEnd(s, pos);
      uint32_t cp = DecodeUtf8(s, pos, end);
      if (cp == kInvalidCodePoint) {  // malformed: copy
        r->append(s.substr(pos, end - pos));
        in_word = false;
      } else {
        AppendUtf8(in_word ? ToLowerCodePoint(cp) : ToUpperCodePoint(cp), r);
        in_word = IsWordChar(cp);
      }
      pos = end;
    }
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

// ---------------------------------------------------------------------------------------------
// Lengths and positions.

Status LengthKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                    ColumnPtr* out) {
  const Column& in = *args[0];
  bool bytes = in.type.id() == TypeId::kBinary;
  auto col = Column::MakeFixed(kInt, rows);
  int32_t* o = col->mutable_raw<int32_t>();
  for (int64_t i = 0; i < rows; ++i) {
    std::string_view s = in.GetString(i);
    o[i] = static_cast<int32_t>(bytes ? static_cast<int64_t>(s.size()) : Utf8Length(s));
  }
  col->validity = in.validity;
  *out = col;
  return Status::Ok();
}

Status OctetLengthKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                         ColumnPtr* out) {
  const int32_t* offsets = args[0]->offsets();
  auto col = Column::MakeFixed(kInt, rows);
  int32_t* o = col->mutable_raw<int32_t>();
  for (int64_t i = 0; i < rows; ++i) o[i] = offsets[i + 1] - offsets[i];
  col->validity = args[0]->validity;
  *out = col;
  return Status::Ok();
}

Status StrposKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                    ColumnPtr* out) {
  const Column& s = *args[0];
  const Column& sub = *args[1];
  auto op = [&](int64_t i, int32_t* r) {
    std::string_view hay = s.GetString(i);
    size_t at = hay.find(sub.GetString(i));
    *r = at == std::string_view::npos ? 0 : static_cast<int32_t>(Utf8Length(hay.substr(0, at)) + 1);
  };
  return StoreResult(MapFixedRows<int32_t>(args, rows, kInt, op), out);
}

Status AsciiKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                   ColumnPtr* out) {
  const Column& s = *args[0];
  auto op = [&](int64_t i, int32_t* r) {
    std::string_view v = s.GetString(i);
    if (v.empty()) {
      *r = 0;
      return;
    }
    uint32_t cp = DecodeUtf8(v, 0, Utf8CharEnd(v, 0));
    // A malformed first character reports its first byte rather than failing.
    *r = static_cast<int32_t>(cp == kInvalidCodePoint ? static_cast<unsigned char>(v[0]) : cp);
  };
  return StoreResult(MapFixedRows<int32_t>(args, rows, kInt, op), out);
}

Status StartsWithKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                        ColumnPtr* out) {
  const Column& s = *args[0];
  const Column& p = *args[1];
  *out =
      MapToBool(args, rows, [&](int64_t i) { return s.GetString(i).starts_with(p.GetString(i)); });
  return Status::Ok();
}

Status EndsWithKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                      ColumnPtr* out) {
  const Column& s = *args[0];
  const Column& p = *args[1];
  *out = MapToBool(args, rows, [&](int64_t i) { return s.GetString(i).ends_with(p.GetString(i)); });
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Substrings.

// substr(s, from[, count]): characters from..from+count-1 (1-based); positions before 1 still
// count toward `count`, so substr('hello', 0, 3) is 'he' as in Postgres.
Status SubstrKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                    ColumnPtr* out) {
  const Column& s = *args[0];
  const int64_t* from = args[1]->raw<int64_t>();
  const int64_t* count = args.size() > 2 ? args[2]->raw<int64_t>() : nullptr;
  auto op = [&](int64_t i, std::string* r) -> Status {
    int64_t start = from[i];
    int64_t end = std::numeric_limits<int64_t>::max();  // exclusive, 1-based
    if (count != nullptr) {
      if (count[i] < 0) {
        return Status::User("{}(): negative substring length not allowed: {}", f.name, count[i]);
      }
      if (__builtin_add_overflow(start, count[i], &end)) end = std::numeric_limits<int64_t>::max();
    }
    int64_t first = std::max<int64_t>(start, 1);
    if (end <= first) return Status::Ok();
    r->append(Utf8Slice(s.GetString(i), first - 1, end - first));
    return Status::Ok();
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

// left(s, n): the first n characters, or all but the last -n.
Status LeftKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                  ColumnPtr* out) {
  const Column& s = *args[0];
  const int64_t* n = args[1]->raw<int64_t>();
  auto op = [&](int64_t i, std::string* r) {
    std::string_view v = s.GetString(i);
    int64_t keep = n[i] >= 0 ? n[i] : Utf8Length(v) + n[i];
    if (keep > 0) r->append(v.substr(0, Utf8Offset(v, keep)));
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

// right(s, n): the last n characters, or all but the first -n.
Status RightKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                   ColumnPtr* out) {
  const Column& s = *args[0];
  const int64_t* n = args[1]->raw<int64_t>();
  auto op = [&](int64_t i, std::string* r) {
    std::string_view v = s.GetString(i);
    int64_t len = Utf8Length(v);
    int64_t skip = n[i] >= 0 ? std::max<int64_t>(len - n[i], 0) : (n[i] < -len ? len : -n[i]);
    r->append(v.substr(Utf8Offset(v, skip)));
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

// split_part(s, delim, n): field n (1-based; negative counts from the end, as in PG 14+).
Status SplitPartKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                       ColumnPtr* out) {
  const Column& s = *args[0];
  const Column& d = *args[1];
  const int64_t* n = args[2]->raw<int64_t>();
  std::vector<size_t> starts;  // start byte of each field, reused across rows
  auto op = [&](int64_t i, std::string* r) -> Status {
    int64_t field = n[i];
    if (field == 0) return Status::User("split_part(): field position must not be zero");
    std::string_view v = s.GetString(i);
    std::string_view delim = d.GetString(i);
    if (v.empty()) return Status::Ok();
    if (delim.empty()) {  // the whole string is the only field
      if (field == 1 || field == -1) r->append(v);
      return Status::Ok();
    }
    starts.clear();
    starts.push_back(0);
    for (size_t at = v.find(delim); at != std::string_view::npos; at = v.find(delim, at)) {
      at += delim.size();
      starts.push_back(at);
    }
    int64_t fields = static_cast<int64_t>(starts.size());
    int64_t k = field > 0 ? field - 1 : fields + field;
    if (k < 0 || k >= fields) return Status::Ok();
    size_t b = starts[k];
    size_t e = k + 1 < fields ? starts[k + 1] - delim.size() : v.size();
    r->append(v.substr(b, e - b));
    return Status::Ok();
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

// ---------------------------------------------------------------------------------------------
// Trimming and padding.

// True when the character `ch` (whole encoded bytes) is one of the characters of `set`.
bool InCharSet(std::string_view set, std::string_view ch) {
  if (ch.size() == 1) return std::memchr(set.data(), ch[0], set.size()) != nullptr;
  return set.find(ch) != std::string_view::npos;  // UTF-8 cannot match mid-character
}

template <bool kLeft, bool kRight>
Status TrimKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                  ColumnPtr* out) {
  const Column& s = *args[0];
  const Column* chars = args.size() > 1 ? args[1].get() : nullptr;
  auto op = [&](int64_t i, std::string* r) {
    std::string_view v = s.GetString(i);
    std::string_view set = chars != nullptr ? chars->GetString(i) : std::string_view(" ");
    size_t b = 0;
    size_t e = v.size();
    if (!set.empty()) {
      if constexpr (kLeft) {
        while (b < e) {
          size_t next = Utf8CharEnd(v, b);
          if (!InCharSet(set, v.substr(b, next - b))) break;
          b = next;
        }
      }
      if constexpr (kRight) {
        while (e > b) {
          size_t prev = std::max(Utf8PrevCharStart(v, e), b);
          if (!InCharSet(set, v.substr(prev, e - prev))) break;
          e = prev;
        }
      }
    }
    r->append(v.substr(b, e - b));
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

// lpad/rpad(s, len[, fill]): pad to len characters with `fill` repeated, or truncate to len.
template <bool kLeft>
Status PadKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                 ColumnPtr* out) {
  const Column& s = *args[0];
  const int64_t* len = args[1]->raw<int64_t>();
  const Column* fill_col = args.size() > 2 ? args[2].get() : nullptr;
  auto op = [&](int64_t i, std::string* r) -> Status {
    std::string_view v = s.GetString(i);
    std::string_view fill = fill_col != nullptr ? fill_col->GetString(i) : std::string_view(" ");
    int64_t want = len[i];
    if (want <= 0) return Status::Ok();
    int64_t have = Utf8Length(v);
    if (have >= want || fill.empty()) {
      r->append(v.substr(0, Utf8Offset(v, want)));
      return Status::Ok();
    }
    int64_t pad_chars = want - have;
    int64_t fill_chars = Utf8Length(fill);
    // Upper bound of the padding's bytes, checked before anything is allocated.
    if (pad_chars / fill_chars + 1 > kMaxResultBytes / static_cast<int64_t>(fill.size())) {
      return Status::User("{}(): requested length too large: {}", f.name, want);
    }
    auto append_pad = [&] {
      for (int64_t k = 0; k < pad_chars / fill_chars; ++k) r->append(fill);
      r->append(fill.substr(0, Utf8Offset(fill, pad_chars % fill_chars)));
    };
    if constexpr (kLeft) append_pad();
    r->append(v);
    if constexpr (!kLeft) append_pad();
    return Status::Ok();
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

Status RepeatKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                    ColumnPtr* out) {
  const Column& s = *args[0];
  const int64_t* n = args[1]->raw<int64_t>();
  auto op = [&](int64_t i, std::string* r) -> Status {
    std::string_view v = s.GetString(i);
    if (n[i] <= 0 || v.empty()) return Status::Ok();
    if (n[i] > kMaxResultBytes / static_cast<int64_t>(v.size())) {
      return Status::User("repeat(): requested length too large: {} copies of {} bytes", n[i],
                          v.size());
    }
    r->reserve(v.size() * static_cast<size_t>(n[i]));
    for (int64_t k = 0; k < n[i]; ++k) r->append(v);
    return Status::Ok();
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

// ---------------------------------------------------------------------------------------------
// Rewriting.

Status ReplaceKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                     ColumnPtr* out) {
  const Column& s = *args[0];
  const Column& from = *args[1];
  const Column& to = *args[2];
  auto op = [&](int64_t i, std::string* r) {
    std::string_view v = s.GetString(i);
    std::string_view needle = from.GetString(i);
    if (needle.empty()) {
      r->append(v);
      return;
    }
    std::string_view with = to.GetString(i);
    size_t pos = 0;
    for (size_t at = v.find(needle); at != std::string_view::npos; at = v.find(needle, pos)) {
      r->append(v.substr(pos, at - pos));
      r->append(with);
      pos = at + needle.size();
    }
    r->append(v.substr(pos));
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

Status ReverseKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                     ColumnPtr* out) {
  const Column& s = *args[0];
  auto op = [&](int64_t i, std::string* r) {
    std::string_view v = s.GetString(i);
    r->reserve(v.size());
    for (size_t e = v.size(); e > 0;) {
      size_t b = Utf8PrevCharStart(v, e);
      r->append(v.substr(b, e - b));
      e = b;
    }
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

// translate(s, from, to): each character of `from` becomes the character of `to` at the same
// position, or is deleted when `to` is shorter. The mapping is rebuilt only when from/to change
// from one row to the next (they are usually constants).
Status TranslateKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                       ColumnPtr* out) {
  const Column& s = *args[0];
  const Column& from_col = *args[1];
  const Column& to_col = *args[2];
  std::string cached_from, cached_to;
  bool have_cache = false;
  std::vector<std::pair<std::string_view, std::optional<std::string_view>>> mapping;
  auto op = [&](int64_t i, std::string* r) {
    std::string_view from = from_col.GetString(i);
    std::string_view to = to_col.GetString(i);
    if (!have_cache || from != cached_from || to != cached_to) {
      cached_from.assign(from);
      cached_to.assign(to);
      have_cache = true;
      mapping.clear();
      std::string_view fv = cached_from, tv = cached_to;
      size_t tp = 0;
      for (size_t fp = 0; fp < fv.size();) {
        size_t fe = Utf8CharEnd(fv, fp);
        std::optional<std::string_view> target;
        if (tp < tv.size()) {
          size_t te = Utf8CharEnd(tv, tp);
          target = tv.substr(tp, te - tp);
          tp = te;
        }
        mapping.emplace_back(fv.substr(fp, fe - fp), target);
        fp = fe;
      }
    }
    std::string_view v = s.GetString(i);
    for (size_t pos = 0; pos < v.size();) {
      size_t end = Utf8CharEnd(v, pos);
      std::string_view ch = v.substr(pos, end - pos);
      auto it = std::find_if(mapping.begin(), mapping.end(),
                             [&](const auto& m) { return m.first == ch; });
      if (it == mapping.end()) {
        r->append(ch);
      } else if (it->second) {
        r->append(*it->second);
      }
      pos = end;
    }
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

Status ChrKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                 ColumnPtr* out) {
  const int64_t* n = args[0]->raw<int64_t>();
  auto op = [&](int64_t i, std::string* r) -> Status {
    int64_t c = n[i];
    if (c < 0) return Status::User("chr(): character number must be positive: {}", c);
    if (c == 0) return Status::User("chr(): null character not permitted");
    if (c > 0x10FFFF)
      return Status::User("chr(): requested character too large for encoding: {}", c);
    if (c >= 0xD800 && c <= 0xDFFF) {
      return Status::User("chr(): requested character not valid for encoding: {}", c);
    }
    AppendUtf8(static_cast<uint32_t>(c), r);
    return Status::Ok();
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

// to_hex of the two's complement value in the argument's own width, as Postgres prints it.
template <typename T>
Status ToHexKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                   ColumnPtr* out) {
  using U = std::make_unsigned_t<T>;
  const T* x = args[0]->raw<T>();
  auto op = [&](int64_t i, std::string* r) {
    static constexpr char kHex[] = "0123456789abcdef";
    U v = static_cast<U>(x[i]);
    char buf[2 * sizeof(U)];
    size_t p = sizeof(buf);
    do {
      buf[--p] = kHex[v & 15];
      v = static_cast<U>(v >> 4);
    } while (v != 0);
    r->append(buf + p, sizeof(buf) - p);
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

// ---------------------------------------------------------------------------------------------
// Variadic concatenation.

// Any argument type that can be cast to TEXT is accepted and cast by the binder.
Result<std::vector<DataType>> TextArguments(const BindInput& in) {
  std::vector<DataType> types;
  for (const auto& t : in.types) {
    if (t.id() == TypeId::kNull || t.is_string_like() || CanCast(t, kText)) {
      types.push_back(t.id() == TypeId::kBinary ? t : kText);
    } else {
      return Status::User("{}(): argument of type {} cannot be converted to TEXT", in.name,
                          t.ToString());
    }
  }
  return types;
}

Status ConcatKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                    ColumnPtr* out) {
  auto op = [&](int64_t i, std::string* r) {
    for (const auto& a : args) {
      if (a->IsValid(i)) r->append(a->GetString(i));
    }
  };
  return StoreResult(MapStringRows(f.name, {}, rows, kText, op), out);
}

Status ConcatWsKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                      ColumnPtr* out) {
  const Column& sep = *args[0];
  auto op = [&](int64_t i, std::string* r) {
    if (sep.IsNull(i)) return false;
    bool first = true;
    for (size_t k = 1; k < args.size(); ++k) {
      if (args[k]->IsNull(i)) continue;
      if (!first) r->append(sep.GetString(i));
      r->append(args[k]->GetString(i));
      first = false;
    }
    return true;
  };
  return StoreResult(MapStringRows(f.name, {}, rows, kText, op), out);
}

Result<BoundFunction> BindConcat(const BindInput& in, bool with_separator) {
  size_t min_args = with_separator ? 2 : 1;
  if (in.types.size() < min_args) {
    return Status::User("{}() needs at least {} argument{}", in.name, min_args,
                        min_args == 1 ? "" : "s");
  }
  auto types = TextArguments(in);
  if (!types.ok()) return types.status();
  BoundFunction fn;
  fn.arg_types = types.MoveValue();
  fn.return_type = kText;
  fn.null_propagating = false;
  fn.kernel = with_separator ? ConcatWsKernel : ConcatKernel;
  return fn;
}

}  // namespace

void RegisterStringFunctions(FunctionRegistry* r) {
  r->Register("lower", Overloads({Sig({kText}, kText, CaseKernel<false>)}));
  r->Register("upper", Overloads({Sig({kText}, kText, CaseKernel<true>)}));
  r->Register("initcap", Overloads({Sig({kText}, kText, InitcapKernel)}));
  r->Register("length",
              Overloads({Sig({kText}, kInt, LengthKernel), Sig({kBytea}, kInt, LengthKernel)}));
  r->Alias("char_length", "length");
  r->Alias("character_length", "length");
  r->Register("octet_length", Overloads({Sig({kText}, kInt, OctetLengthKernel),
                                         Sig({kBytea}, kInt, OctetLengthKernel)}));
  r->Register("substr", Overloads({Sig({kText, kBigint}, kText, SubstrKernel),
                                   Sig({kText, kBigint, kBigint}, kText, SubstrKernel)}));
  r->Alias("substring", "substr");
  r->Register("concat", [](const BindInput& in) { return BindConcat(in, false); });
  r->Register("concat_ws", [](const BindInput& in) { return BindConcat(in, true); });
  r->Register("btrim", Overloads({Sig({kText}, kText, TrimKernel<true, true>),
                                  Sig({kText, kText}, kText, TrimKernel<true, true>)}));
  r->Alias("trim", "btrim");
  r->Register("ltrim", Overloads({Sig({kText}, kText, TrimKernel<true, false>),
                                  Sig({kText, kText}, kText, TrimKernel<true, false>)}));
  r->Register("rtrim", Overloads({Sig({kText}, kText, TrimKernel<false, true>),
                                  Sig({kText, kText}, kText, TrimKernel<false, true>)}));
  r->Register("replace", Overloads({Sig({kText, kText, kText}, kText, ReplaceKernel)}));
  r->Register("split_part", Overloads({Sig({kText, kText, kBigint}, kText, SplitPartKernel)}));
  r->Register("starts_with", Overloads({Sig({kText, kText}, kBool, StartsWithKernel)}));
  r->Register("ends_with", Overloads({Sig({kText, kText}, kBool, EndsWithKernel)}));
  r->Register("strpos", Overloads({Sig({kText, kText}, kInt, StrposKernel)}));
  r->Alias("position", "strpos");
  r->Register("lpad", Overloads({Sig({kText, kBigint}, kText, PadKernel<true>),
                                 Sig({kText, kBigint, kText}, kText, PadKernel<true>)}));
  r->Register("rpad", Overloads({Sig({kText, kBigint}, kText, PadKernel<false>),
                                 Sig({kText, kBigint, kText}, kText, PadKernel<false>)}));
  r->Register("reverse", Overloads({Sig({kText}, kText, ReverseKernel)}));
  r->Register("repeat", Overloads({Sig({kText, kBigint}, kText, RepeatKernel)}));
  r->Register("left", Overloads({Sig({kText, kBigint}, kText, LeftKernel)}));
  r->Register("right", Overloads({Sig({kText, kBigint}, kText, RightKernel)}));
  r->Register("ascii", Overloads({Sig({kText}, kInt, AsciiKernel)}));
  r->Register("chr", Overloads({Sig({kBigint}, kText, ChrKernel)}));
  r->Register("translate", Overloads({Sig({kText, kText, kText}, kText, TranslateKernel)}));
  r->Register("to_hex", Overloads({Sig({kInt}, kText, ToHexKernel<int32_t>),
                                   Sig({kBigint}, kText, ToHexKernel<int64_t>)}));
}

}  // namespace sluice::expr
