#pragma once
// UTF-8 character handling for the text functions. Text columns should hold valid UTF-8, but a
// malformed value must never make a kernel read out of bounds, so every helper here is total:
// a character starts at byte 0, at every byte that is not a continuation byte (10xxxxxx), and at
// a continuation byte that follows an ASCII byte. Stray bytes thus form characters of their own,
// ASCII characters never absorb them, and lengths agree with how the text is walked.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include "common/text.h"

namespace sluice::expr {

inline bool IsUtf8Continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

inline bool IsAscii(std::string_view s) {
  unsigned char any = 0;
  for (char c : s) any |= static_cast<unsigned char>(c);
  return any < 0x80;
}

// End (exclusive) of the character starting at byte `pos` (< s.size()).
inline size_t Utf8CharEnd(std::string_view s, size_t pos) {
  if (static_cast<unsigned char>(s[pos]) < 0x80) return pos + 1;
  ++pos;
  while (pos < s.size() && IsUtf8Continuation(s[pos])) ++pos;
  return pos;
}

// Start of the character that ends at byte `end` (> 0).
inline size_t Utf8PrevCharStart(std::string_view s, size_t end) {
  size_t p = end - 1;
  while (p > 0 && IsUtf8Continuation(s[p]) && static_cast<unsigned char>(s[p - 1]) >= 0x80) --p;
  return p;
}

// Number of characters.
inline int64_t Utf8Length(std::string_view s) {
  int64_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    n += i == 0 || !IsUtf8Continuation(s[i]) || static_cast<unsigned char>(s[i - 1]) < 0x80;
  }
  return n;
}

// Byte offset of the character with 0-based index `n`; s.size() when there are fewer.
inline size_t Utf8Offset(std::string_view s, int64_t n) {
  size_t pos = 0;
  while (n > 0 && pos < s.size()) {
    pos = Utf8CharEnd(s, pos);
    --n;
  }
  return pos;
}

// Returned by DecodeUtf8 for a malformed sequence; larger than any code point.
constexpr uint32_t kInvalidCodePoint = 0xFFFFFFFF;

// Code point of the character in s[pos, end) (as delimited by Utf8CharEnd), or
// kInvalidCodePoint when the bytes are not a well-formed sequence of that length.
inline uint32_t DecodeUtf8(std::string_view s, size_t pos, size_t end) {
  auto b = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(pos);
  size_t len = end - pos;
  if (c < 0x80) return len == 1 ? c : kInvalidCodePoint;
  if (c >= 0xC2 && c < 0xE0 && len == 2) return ((c & 0x1Fu) << 6) | (b(pos + 1) & 0x3Fu);
  if (c >= 0xE0 && c < 0xF0 && len == 3) {
    uint32_t cp = ((c & 0x0Fu) << 12) | ((b(pos + 1) & 0x3Fu) << 6) | (b(pos + 2) & 0x3Fu);
    return (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) ? kInvalidCodePoint : cp;
  }
  if (c >= 0xF0 && c < 0xF5 && len == 4) {
    uint32_t cp = ((c & 0x07u) << 18) | ((b(pos + 1) & 0x3Fu) << 12) | ((b(pos + 2) & 0x3Fu) << 6) |
                  (b(pos + 3) & 0x3Fu);
    return (cp < 0x10000 || cp > 0x10FFFF) ? kInvalidCodePoint : cp;
  }
  return kInvalidCodePoint;
}

// Ranges where an upper-case letter at an even code point is followed by its lower case.
inline bool IsEvenOddCasePair(uint32_t c) {
  return (c >= 0x100 && c <= 0x12F) || (c >= 0x132 && c <= 0x137) || (c >= 0x14A && c <= 0x177) ||
         (c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x4FF);
}
// Ranges where the upper-case letter sits at the odd code point.
inline bool IsOddEvenCasePair(uint32_t c) {
  return (c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E) || (c >= 0x4C1 && c <= 0x4CE);
}

// Simple case mapping for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic: the scripts
// whose one-to-one mappings cover nearly all real data, without pulling in ICU.
inline uint32_t ToLowerCodePoint(uint32_t c) {
  if (c < 0x80) return (c >= 'A' && c <= 'Z') ? c + 32 : c;
  if ((c >= 0xC0 && c <= 0xDE && c != 0xD7) || (c >= 0x391 && c <= 0x3AB && c != 0x3A2) ||
      (c >= 0x410 && c <= 0x42F)) {
    return c + 32;
  }
  if (c >= 0x400 && c <= 0x40F) return c + 80;
  if (c == 0x178) return 0xFF;
  if (IsEvenOddCasePair(c)) return c | 1;
  if (IsOddEvenCasePair(c)) return (c & 1) ? c + 1 : c;
  return c;
}

inline uint32_t ToUpperCodePoint(uint32_t c) {
  if (c < 0x80) return (c >= 'a' && c <= 'z') ? c - 32 : c;
  if ((c >= 0xE0 && c <= 0xFE && c != 0xF7) || (c >= 0x3B1 && c <= 0x3CB && c != 0x3C2) ||
      (c >= 0x430 && c <= 0x44F)) {
    return c - 32;
  }
  if (c == 0x3C2) return 0x3A3;  // final sigma
  if (c >= 0x450 && c <= 0x45F) return c - 80;
  if (c == 0xFF) return 0x178;
  if (c == 0xB5) return 0x39C;  // micro sign
  if (IsEvenOddCasePair(c)) return c & ~1u;
  if (IsOddEvenCasePair(c)) return (c & 1) ? c : c - 1;
  return c;
}

// Appends `s` with every character case-mapped by `map`; malformed bytes are copied unchanged.
template <typename Map>
inline void AppendCaseMapped(std::string_view s, Map map, std::string* out) {
  out->reserve(out->size() + s.size());
  for (size_t pos = 0; pos < s.size();) {
    size_t end = Utf8CharEnd(s, pos);
    unsigned char c = static_cast<unsigned char>(s[pos]);
    if (c < 0x80 && end == pos + 1) {
      out->push_back(static_cast<char>(map(c)));
      pos = end;
      continue;
    }
    uint32_t cp = DecodeUtf8(s, pos, end);
    if (cp == kInvalidCodePoint) {  // malformed sequence: keep the bytes
      out->append(s.substr(pos, end - pos));
    } else {
      AppendUtf8(map(cp), out);
    }
    pos = end;
  }
}

}  // namespace sluice::expr
