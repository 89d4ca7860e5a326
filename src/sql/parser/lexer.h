#pragma once
// Splits SQL text into tokens for the parser. The lexer knows no keywords: every word is an
// identifier, and the parser decides from context whether `end`, `window` or `timestamp` is a
// keyword or a name. Lexical errors do not throw: they end the token list with a kError token, so
// that a syntax error earlier in the text is still reported first.

#include <string>
#include <string_view>
#include <vector>

#include "sql/parser/ast.h"

namespace sluice::sql {

enum class TokenKind {
  kIdent,        // unquoted word, folded to lower case
  kQuotedIdent,  // "Word", kept as written ("" stands for one "); also $1 (text "$1")
  kInteger,      // 42
  kNumber,       // 1.5, .5, 1e10: anything numeric that is not a plain integer
  kString,       // 'text', E'text', $$text$$; text holds the value without quotes or escapes
  kOperator,     // punctuation and operators: ( ) , ; . :: -> ->> <= ...
  kEnd,          // end of input
  kError,        // a lexical error; text holds the message, loc where it starts
};

struct Token {
  TokenKind kind = TokenKind::kEnd;
  std::string text;
  Location loc;  // offset is a byte offset into the whole input given to the lexer
  int end = 0;   // byte offset just past the token's source text
};

class Lexer {
 public:
  explicit Lexer(std::string_view sql) : sql_(sql) {}

  // Tokens of the whole input. The last token is always kEnd or, at the first lexical error,
  // kError; nothing follows it.
  std::vector<Token> Tokenize();

 private:
  bool AtEnd() const { return pos_ >= sql_.size(); }
  unsigned char Byte(size_t ahead = 0) const {
    return pos_ + ahead < sql_.size() ? static_cast<unsigned char>(sql_[pos_ + ahead]) : 0;
  }
  Location Here() const { return Location{line_, column_, static_cast<int>(pos_)}; }
  // Moves past `n` bytes, keeping line and column (in characters) up to date.
  void Advance(size_t n = 1);
  // Skips blanks and comments; returns false (and sets *error) on an unterminated comment.
  bool SkipBlanks(Token* error);
  Token LexWord();
  Token LexQuotedIdent();
  Token LexNumber();
  Token LexString(bool escapes);
  Token LexParameter();
  Token LexDollarString();
  Token LexOperator();
  Token MakeError(Location loc, std::string message) const;

  std::string_view sql_;
  size_t pos_ = 0;
  int line_ = 1;
  int column_ = 1;
};

// How a token is named in error messages: 'FROM', '(', string 'abc', end of input.
std::string DescribeToken(std::string_view sql, const Token& token);

}  // namespace sluice::sql
