#include "sql/parser/lexer.h"

#include "common/text.h"

#include <fmt/format.h>

namespace sluice::sql {
namespace {

bool IsDigit(unsigned char c) {
  return c >= '0' && c <= '9';
}
bool IsHexDigit(unsigned char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
// Bytes >= 0x80 belong to UTF-8 sequences; PostgreSQL accepts them in identifiers too.
bool IsWordStart(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}
bool IsWordChar(unsigned char c) {
  return IsWordStart(c) || IsDigit(c) || c == '$';
}

char ToLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

int HexValue(unsigned char c) {
  if (IsDigit(c)) return c - '0';
  return ToLower(static_cast<char>(c)) - 'a' + 10;
}

}  // namespace

void Lexer::Advance(size_t n) {
  for (size_t i = 0; i < n && pos_ < sql_.size(); ++i) {
    unsigned char c = Byte();
    ++pos_;
    if (c == '\n') {
      ++line_;
      column_ = 1;
    } else if ((Byte() & 0xC0) != 0x80) {
      // Columns count characters: the bytes of one UTF-8 sequence share a column.
      ++column_;
    }
  }
}

Token Lexer::MakeError(Location loc, std::string message) const {
  Token t;
  t.kind = TokenKind::kError;
  t.text = std::move(message);
  t.loc = loc;
  t.end = static_cast<int>(pos_);
  return t;
}

bool Lexer::SkipBlanks(Token* error) {
  while (!AtEnd()) {
    unsigned char c = Byte();
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      Advance();
    } else if (c == '-' && Byte(1) == '-') {
      while (!AtEnd() && Byte() != '\n') Advance();
    } else if (c == '/' && Byte(1) == '*') {
      // Block comments nest, as in PostgreSQL.
      Location start = Here();
      Advance(2);
      int depth = 1;
      while (depth > 0) {
        if (AtEnd()) {
          *error = MakeError(start, "unterminated /* comment");
          return false;
        }
        if (Byte() == '/' && Byte(1) == '*') {
          ++depth;
          Advance(2);
        } else if (Byte() == '*' && Byte(1) == '/') {
          --depth;
          Advance(2);
        } else {
          Advance();
        }
      }
    } else {
      break;
    }
  }
  return true;
}

std::vector<Token> Lexer::Tokenize() {
  std::vector<Token> tokens;
  while (true) {
    Token error;
    if (!SkipBlanks(&error)) {
      tokens.push_back(std::move(error));
      return tokens;
    }
    if (AtEnd()) {
      Token end;
      end.kind = TokenKind::kEnd;
      end.loc = Here();
      end.end = static_cast<int>(pos_);
      tokens.push_back(std::move(end));
      return tokens;
    }
    unsigned char c = Byte();
    Token t;
    if ((c == 'e' || c == 'E') && Byte(1) == '\'') {
      t = LexString(/*escapes=*/true);
    } else if (IsWordStart(c)) {
      t = LexWord();
    } else if (c == '"') {
      t = LexQuotedIdent();
    } else if (IsDigit(c) || (c == '.' && IsDigit(Byte(1)))) {
      t = LexNumber();
    } else if (c == '\'') {
      t = LexString(/*escapes=*/false);
    } else if (c == '$' && IsDigit(Byte(1))) {
      t = LexParameter();
    } else if (c == '$' && (Byte(1) == '$' || IsWordStart(Byte(1)))) {
      t = LexDollarString();
    } else {
      t = LexOperator();
    }
    bool stop = t.kind == TokenKind::kError;
    tokens.push_back(std::move(t));
    if (stop) return tokens;
  }
}

Token Lexer::LexWord() {
  Token t;
  t.kind = TokenKind::kIdent;
  t.loc = Here();
  while (!AtEnd() && IsWordChar(Byte())) {
    t.text.push_back(ToLower(static_cast<char>(Byte())));
    Advance();
  }
  t.end = static_cast<int>(pos_);
  return t;
}

Token Lexer::LexQuotedIdent() {
  Token t;
  t.kind = TokenKind::kQuotedIdent;
  t.loc = Here();
  Advance();  // opening "
  while (true) {
    if (AtEnd()) return MakeError(t.loc, "unterminated quoted identifier");
    if (Byte() == '"') {
      if (Byte(1) == '"') {
        t.text.push_back('"');
        Advance(2);
        continue;
      }
      Advance();
      break;
    }
    t.text.push_back(static_cast<char>(Byte()));
    Advance();
  }
  if (t.text.empty()) return MakeError(t.loc, "zero-length quoted identifier");
  t.end = static_cast<int>(pos_);
  return t;
}

Token Lexer::LexNumber() {
  Token t;
  t.kind = TokenKind::kInteger;
  t.loc = Here();
  size_t start = pos_;
  while (IsDigit(Byte())) Advance();
  // "1..5" is not a number followed by ".5"; PostgreSQL stops the number before "..".
  if (Byte() == '.' && Byte(1) != '.') {
    t.kind = TokenKind::kNumber;
    Advance();
    while (IsDigit(Byte())) Advance();
  }
  if ((Byte() == 'e' || Byte() == 'E') &&
      (IsDigit(Byte(1)) || ((Byte(1) == '+' || Byte(1) == '-') && IsDigit(Byte(2))))) {
    t.kind = TokenKind::kNumber;
    Advance(2);
    while (IsDigit(Byte())) Advance();
  }
  t.text = std::string(sql_.substr(start, pos_ - start));
  t.end = static_cast<int>(pos_);
  return t;
}

Token Lexer::LexString(bool escapes) {
  Token t;
  t.kind = TokenKind::kString;
  t.loc = Here();
  Advance(escapes ? 2 : 1);  // [E]'
  while (true) {
    if (AtEnd()) return MakeError(t.loc, "unterminated string literal");
    unsigned char c = Byte();
    if (c == '\'') {
      if (Byte(1) == '\'') {
        t.text.push_back('\'');
        Advance(2);
        continue;
      }
      Advance();
      break;
    }
    if (escapes && c == '\\' && pos_ + 1 < sql_.size()) {
      unsigned char e = Byte(1);
      Advance(2);
      switch (e) {
        case 'n':
          t.text.push_back('\n');
          break;
        case 't':
          t.text.push_back('\t');
          break;
        case 'r':
          t.text.push_back('\r');
          break;
        case 'b':
          t.text.push_back('\b');
          break;
        case 'f':
          t.text.push_back('\f');
          break;
        case 'x': {
          int value = 0, digits = 0;
          while (digits < 2 && IsHexDigit(Byte())) {
            value = value * 16 + HexValue(Byte());
            ++digits;
            Advance();
          }
          if (digits == 0) {
            t.text.push_back('x');
          } else {
            t.text.push_back(static_cast<char>(value));
          }
          break;
        }
        case 'u':
        case 'U': {
          size_t want = e == 'u' ? 4 : 8;
          uint32_t cp = 0;
          for (size_t i = 0; i < want; ++i) {
            if (!IsHexDigit(Byte(i))) {
              return MakeError(t.loc,
                               fmt::format("invalid Unicode escape \\{}", static_cast<char>(e)));
            }
            cp = cp * 16 + static_cast<uint32_t>(HexValue(Byte(i)));
          }
          if (cp > 0x10FFFF) return MakeError(t.loc, "invalid Unicode code point in escape");
          Advance(want);
          AppendUtf8(cp, &t.text);
          break;
        }
        default:
          // \\, \' and any other escaped character stand for themselves.
          t.text.push_back(static_cast<char>(e));
          break;
      }
      continue;
    }
    t.text.push_back(static_cast<char>(c));
    Advance();
  }
  t.end = static_cast<int>(pos_);
  return t;
}

// $1, $2: a function's parameters by position, read as the (quoted) name "$1".
Token Lexer::LexParameter() {
  Token t;
  t.kind = TokenKind::kQuotedIdent;
  t.loc = Here();
  t.text.push_back('$');
  Advance();
  while (IsDigit(Byte())) {
    t.text.push_back(static_cast<char>(Byte()));
    Advance();
  }
  t.end = static_cast<int>(pos_);
  return t;
}

// $$text$$ or $tag$text$tag$ (PostgreSQL's dollar quoting): the text as written, no escapes.
Token Lexer::LexDollarString() {
  Token t;
  t.kind = TokenKind::kString;
  t.loc = Here();
  size_t tag_end = pos_ + 1;
  while (tag_end < sql_.size() && sql_[tag_end] != '$') {
    unsigned char c = static_cast<unsigned char>(sql_[tag_end]);
    if (!IsWordStart(c) && !IsDigit(c)) {
      return MakeError(t.loc,
                       "unexpected character '$' (a dollar-quoted string starts with "
                       "$$ or $tag$)");
    }
    ++tag_end;
  }
  if (tag_end >= sql_.size()) return MakeError(t.loc, "unterminated dollar-quoted string");
  std::string_view tag = sql_.substr(pos_, tag_end - pos_ + 1);
  size_t close = sql_.find(tag, tag_end + 1);
  if (close == std::string_view::npos) {
    return MakeError(t.loc, "unterminated dollar-quoted string");
  }
  t.text = std::string(sql_.substr(tag_end + 1, close - tag_end - 1));
  Advance(close + tag.size() - pos_);
  t.end = static_cast<int>(pos_);
  return t;
}

Token Lexer::LexOperator() {
  static constexpr std::string_view kThree[] = {"->>"};
  static constexpr std::string_view kTwo[] = {
      "||", "<>", "!=", "<=", ">=", "::", "->", "<<", ">>", "=="};
  static constexpr std::string_view kOne = "+-*/%=<>()[],;.^&|#~!:";
  Token t;
  t.kind = TokenKind::kOperator;
  t.loc = Here();
  std::string_view rest = sql_.substr(pos_);
  size_t len = 0;
  for (std::string_view op : kThree) {
    if (rest.starts_with(op)) len = op.size();
  }
  if (len == 0) {
    for (std::string_view op : kTwo) {
      if (rest.starts_with(op)) len = op.size();
    }
  }
  if (len == 0 && kOne.find(rest[0]) != std::string_view::npos) len = 1;
  if (len == 0) {
    unsigned char c = Byte();
    std::string shown = c >= 0x20 && c < 0x7F ? fmt::format("'{}'", static_cast<char>(c))
                                              : fmt::format("byte 0x{:02x}", c);
    return MakeError(t.loc, fmt::format("unexpected character {}", shown));
  }
  t.text = std::string(rest.substr(0, len));
  // `==` is a synonym of `=` (Arroyo and DataFusion accept it).
  if (t.text == "==") t.text = "=";
  Advance(len);
  t.end = static_cast<int>(pos_);
  return t;
}

std::string DescribeToken(std::string_view sql, const Token& token) {
  switch (token.kind) {
    case TokenKind::kEnd:
      return "end of input";
    case TokenKind::kError:
      return token.text;
    default:
      break;
  }
  size_t begin = static_cast<size_t>(token.loc.offset);
  size_t end = static_cast<size_t>(token.end);
  std::string_view raw = begin <= end && end <= sql.size() ? sql.substr(begin, end - begin)
                                                           : std::string_view(token.text);
  size_t cut = raw.size() > 40 ? 40 : raw.size();
  // Do not cut a UTF-8 sequence in half.
  while (cut < raw.size() && (static_cast<unsigned char>(raw[cut]) & 0xC0) == 0x80) --cut;
  std::string shown(raw.substr(0, cut));
  if (cut < raw.size()) shown += "...";
  if (token.kind == TokenKind::kString) return fmt::format("string {}", shown);
  return fmt::format("'{}'", shown);
}

}  // namespace sluice::sql
