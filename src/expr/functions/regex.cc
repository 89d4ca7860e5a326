// Regular expression functions with PostgreSQL's names and semantics, on RE2 (linear time, so
// a hostile pattern cannot stall a pipeline). RE2 has no backreferences or lookaround; patterns
// using them are rejected at bind time with RE2's message.
//
// A constant pattern (and flags) is compiled once at bind time into BoundFunction::state; a
// pattern that varies per row is compiled when it differs from the previous row's.

#include <re2/re2.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "expr/functions/overload.h"
#include "expr/functions/row_loops.h"
#include "expr/functions/string_util.h"
#include "expr/kernel_util.h"

namespace sluice::expr {
namespace {

const DataType kText = types::Utf8();
const DataType kBigint = types::Int64();
const DataType kTextArray = DataType::List(types::Utf8());

struct RegexProgram {
  std::unique_ptr<RE2> re;
  bool global = false;  // 'g': every match, not the first
};

// Parses Postgres' regex flags and compiles. Newline-sensitive modes map to RE2's dot_nl and
// (?m); Postgres' default is that '.' matches a newline and ^/$ anchor the whole string.
Result<std::unique_ptr<RegexProgram>> Compile(const std::string& fn_name, std::string_view pattern,
                                              std::string_view flags, bool allow_global) {
  auto program = std::make_unique<RegexProgram>();
  bool case_sensitive = true;
  bool dot_nl = true;
  bool multiline = false;
  bool literal = false;
  for (char c : flags) {
    switch (c) {
      case 'g':
        if (!allow_global) {
          return Status::User("{}() does not support the \"global\" option", fn_name);
        }
        program->global = true;
        break;
      case 'i':
        case_sensitive = false;
        break;
      case 'c':
        case_sensitive = true;
        break;
      case 'n':
      case 'm':
        dot_nl = false;
        multiline = true;
        break;
      case 's':
        dot_nl = true;
        multiline = false;
        break;
      case 'p':
        dot_nl = false;
        multiline = false;
        break;
      case 'w':
        dot_nl = true;
        multiline = true;
        break;
      case 'q':
        literal = true;
        break;
      case 't':
        break;  // tight syntax is the default
      default:
        return Status::User("{}(): invalid regular expression option: \"{}\"", fn_name,
                            std::string(1, c));
    }
  }
  RE2::Options options;
  options.set_log_errors(false);
  options.set_case_sensitive(case_sensitive);
  options.set_dot_nl(dot_nl);
  options.set_literal(literal);
  std::string text = (multiline && !literal) ? "(?m)" + std::string(pattern) : std::string(pattern);
  program->re = std::make_unique<RE2>(text, options);
  if (!program->re->ok()) {
    return Status::User("invalid regular expression '{}': {}", pattern, program->re->error());
  }
  return program;
}

// Where a function finds its pattern and flags among its arguments.
struct RegexArgs {
  size_t pattern = 1;
  std::optional<size_t> flags;
  bool allow_global = false;
};

// The compiled program for each row: the bind-time one, or the cached last one.
class RegexCursor {
 public:
  RegexCursor(const BoundFunction& fn, std::span<const ColumnPtr> args, RegexArgs layout)
      : fn_(fn),
        constant_(static_cast<const RegexProgram*>(fn.state.get())),
        pattern_(*args[layout.pattern]),
        flags_(layout.flags && *layout.flags < args.size() ? args[*layout.flags].get() : nullptr),
        allow_global_(layout.allow_global) {}

  Result<const RegexProgram*> At(int64_t i) {
    if (constant_ != nullptr) return constant_;
    std::string_view pattern = pattern_.GetString(i);
    std::string_view flags = flags_ != nullptr ? flags_->GetString(i) : std::string_view();
    if (!last_ || pattern != last_pattern_ || flags != last_flags_) {
      auto compiled = Compile(fn_.name, pattern, flags, allow_global_);
      if (!compiled.ok()) return compiled.status();
      last_ = compiled.MoveValue();
      last_pattern_.assign(pattern);
      last_flags_.assign(flags);
    }
    return last_.get();
  }

 private:
  const BoundFunction& fn_;
  const RegexProgram* constant_;
  const Column& pattern_;
  const Column* flags_;
  bool allow_global_;
  std::unique_ptr<RegexProgram> last_;
  std::string last_pattern_;
  std::string last_flags_;
};

// Text of a row as RE2 input; empty text gets a real pointer so that an empty match of a group
// (data() != nullptr) stays distinguishable from a group that did not take part (nullptr).
re2::StringPiece Text(const Column& c, int64_t i) {
  std::string_view s = c.GetString(i);
  if (s.data() == nullptr) return re2::StringPiece("", 0);
  return re2::StringPiece(s.data(), s.size());
}

// Walks the matches of `re` in `s` the way Postgres does: after an empty match the search
// resumes one character further. on_match(sub) gets the submatches (sub[0] = whole match) and
// returns false to stop.
template <typename F>
void ForEachMatch(const RE2& re, re2::StringPiece s, size_t start, bool global,
                  std::vector<re2::StringPiece>* sub, F on_match) {
  int groups = re.NumberOfCapturingGroups();
  sub->assign(static_cast<size_t>(groups) + 1, re2::StringPiece());
  std::string_view view(s.data(), s.size());
  size_t search = start;
  while (search <= s.size()) {
    if (!re.Match(s, search, s.size(), RE2::UNANCHORED, sub->data(), groups + 1)) return;
    size_t begin = static_cast<size_t>((*sub)[0].data() - s.data());
    size_t end = begin + (*sub)[0].size();
    if (!on_match(*sub, begin, end) || !global) return;
    search = end;
    if (begin == end) {
      if (end >= s.size()) return;
      search = Utf8CharEnd(view, end);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Kernels.

Status LikeKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                  ColumnPtr* out, bool negate) {
  RegexCursor cursor(f, args, RegexArgs{1, 2, false});
  const Column& s = *args[0];
  auto op = [&](int64_t i, bool* r) -> Status {
    auto program = cursor.At(i);
    if (!program.ok()) return program.status();
    *r = (*program)->re->Match(Text(s, i), 0, s.GetString(i).size(), RE2::UNANCHORED, nullptr, 0) !=
         negate;
    return Status::Ok();
  };
  return StoreResult(MapBoolRows(args, rows, op), out);
}

// regexp_match: the captured groups of the first match (a group that did not participate is a
// NULL element), or the whole match when the pattern has no groups; NULL when nothing matches.
Status MatchKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                   ColumnPtr* out) {
  RegexCursor cursor(f, args, RegexArgs{1, 2, false});
  const Column& s = *args[0];
  batch::BufferPtr validity = CombineValidity(args, rows);
  ColumnBuilder b(kTextArray);
  b.Reserve(rows);
  std::vector<re2::StringPiece> sub;
  for (int64_t i = 0; i < rows; ++i) {
    if (validity && !batch::GetBit(validity->data(), i)) {
      b.AppendNull();
      continue;
    }
    auto program = cursor.At(i);
    if (!program.ok()) return program.status();
    bool matched = false;
    ForEachMatch(*(*program)->re, Text(s, i), 0, false, &sub,
                 [&](const std::vector<re2::StringPiece>& m, size_t, size_t) {
                   matched = true;
                   ColumnBuilder* e = b.element_builder();
                   if (m.size() == 1) {
                     e->AppendString(std::string_view(m[0].data(), m[0].size()));
                   }
                   for (size_t g = 1; g < m.size(); ++g) {
                     if (m[g].data() == nullptr) {
                       e->AppendNull();
                     } else {
                       e->AppendString(std::string_view(m[g].data(), m[g].size()));
                     }
                   }
                   return false;
                 });
    if (matched) {
      b.FinishListRow();
    } else {
      b.AppendNull();
    }
  }
  *out = b.Finish();
  return Status::Ok();
}

// Appends Postgres' replacement text: \1..\9 insert a group, \& the whole match, \\ a
// backslash; any other backslash is kept literally.
void AppendReplacement(std::string_view replacement, const std::vector<re2::StringPiece>& sub,
                       std::string* out) {
  for (size_t k = 0; k < replacement.size(); ++k) {
    char c = replacement[k];
    if (c != '\\' || k + 1 == replacement.size()) {
      out->push_back(c);
      continue;
    }
    char n = replacement[k + 1];
    if (n >= '0' && n <= '9') {
      size_t g = static_cast<size_t>(n - '0');
      if (g < sub.size() && sub[g].data() != nullptr) out->append(sub[g].data(), sub[g].size());
      ++k;
    } else if (n == '&') {
      out->append(sub[0].data(), sub[0].size());
      ++k;
    } else if (n == '\\') {
      out->push_back('\\');
      ++k;
    } else {
      out->push_back('\\');
    }
  }
}

Status ReplaceKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                     ColumnPtr* out) {
  RegexCursor cursor(f, args, RegexArgs{1, 3, true});
  const Column& s = *args[0];
  const Column& replacement = *args[2];
  std::vector<re2::StringPiece> sub;
  auto op = [&](int64_t i, std::string* r) -> Status {
    auto program = cursor.At(i);
    if (!program.ok()) return program.status();
    re2::StringPiece text = Text(s, i);
    std::string_view with = replacement.GetString(i);
    size_t copied = 0;
    ForEachMatch(*(*program)->re, text, 0, (*program)->global, &sub,
                 [&](const std::vector<re2::StringPiece>& m, size_t begin, size_t end) {
                   r->append(text.data() + copied, begin - copied);
                   AppendReplacement(with, m, r);
                   copied = end;
                   return true;
                 });
    r->append(text.data() + copied, text.size() - copied);
    return Status::Ok();
  };
  return StoreResult(MapStringRows(f.name, args, rows, kText, op), out);
}

// regexp_count(s, p[, start[, flags]]): non-overlapping matches from character `start`.
Status CountKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                   ColumnPtr* out) {
  RegexCursor cursor(f, args, RegexArgs{1, 3, false});
  const Column& s = *args[0];
  const int64_t* start = args.size() > 2 ? args[2]->raw<int64_t>() : nullptr;
  std::vector<re2::StringPiece> sub;
  auto op = [&](int64_t i, int32_t* r) -> Status {
    auto program = cursor.At(i);
    if (!program.ok()) return program.status();
    re2::StringPiece text = Text(s, i);
    size_t from = 0;
    if (start != nullptr) {
      if (start[i] <= 0) {
        return Status::User("regexp_count(): invalid value for parameter \"start\": {}", start[i]);
      }
      from = Utf8Offset(std::string_view(text.data(), text.size()), start[i] - 1);
    }
    int32_t count = 0;
    ForEachMatch(*(*program)->re, text, from, true, &sub,
                 [&](const std::vector<re2::StringPiece>&, size_t, size_t) {
                   ++count;
                   return true;
                 });
    *r = count;
    return Status::Ok();
  };
  return StoreResult(MapFixedRows<int32_t>(args, rows, types::Int32(), op), out);
}

// regexp_split_to_array: the pieces between matches; like Postgres, empty matches at the start,
// at the end, or right after a previous match do not split.
Status SplitKernel(const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                   ColumnPtr* out) {
  RegexCursor cursor(f, args, RegexArgs{1, 2, false});
  const Column& s = *args[0];
  batch::BufferPtr validity = CombineValidity(args, rows);
  ColumnBuilder b(kTextArray);
  b.Reserve(rows);
  std::vector<re2::StringPiece> sub;
  for (int64_t i = 0; i < rows; ++i) {
    if (validity && !batch::GetBit(validity->data(), i)) {
      b.AppendNull();
      continue;
    }
    auto program = cursor.At(i);
    if (!program.ok()) return program.status();
    re2::StringPiece text = Text(s, i);
    ColumnBuilder* e = b.element_builder();
    size_t piece = 0;
    size_t prev_end = 0;
    ForEachMatch(*(*program)->re, text, 0, true, &sub,
                 [&](const std::vector<re2::StringPiece>&, size_t begin, size_t end) {
                   if (begin < text.size() && end > prev_end) {
                     e->AppendString(std::string_view(text.data() + piece, begin - piece));
                     piece = end;
                     prev_end = end;
                   }
                   return true;
                 });
    e->AppendString(std::string_view(text.data() + piece, text.size() - piece));
    b.FinishListRow();
  }
  *out = b.Finish();
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------------
// Binding.

BindFn RegexFunction(std::vector<Signature> signatures, RegexArgs layout) {
  return
      [signatures = std::move(signatures), layout](const BindInput& in) -> Result<BoundFunction> {
        auto fn = BindOverloads(in, signatures);
        if (!fn.ok()) return fn.status();
        const Value* pattern = ConstantArg(in, layout.pattern);
        const Value* flags = nullptr;
        bool has_flags = layout.flags && *layout.flags < in.types.size();
        if (has_flags) flags = ConstantArg(in, *layout.flags);
        bool constant = pattern != nullptr && !pattern->is_null() &&
                        (!has_flags || (flags != nullptr && !flags->is_null()));
        if (constant) {
          auto program =
              Compile(in.name, pattern->string_value(),
                      has_flags ? flags->string_value() : std::string(), layout.allow_global);
          if (!program.ok()) return program.status();
          fn->state = std::shared_ptr<const RegexProgram>(program.MoveValue());
        }
        return fn;
      };
}

Kernel LikeKernelFn(bool negate) {
  return [negate](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                  ColumnPtr* out) { return LikeKernel(f, args, rows, out, negate); };
}

// `s ~* p`: case-insensitive match operators, compiled with the 'i' flag.
BindFn RegexOperator(bool negate, bool case_insensitive) {
  return [negate, case_insensitive](const BindInput& in) -> Result<BoundFunction> {
    auto fn = BindOverloads(in, {Signature{{kText, kText}, types::Bool(), LikeKernelFn(negate)}});
    if (!fn.ok()) return fn.status();
    const Value* pattern = ConstantArg(in, 1);
    std::string flags = case_insensitive ? "i" : "";
    if (pattern != nullptr && !pattern->is_null()) {
      auto program = Compile(in.name, pattern->string_value(), flags, false);
      if (!program.ok()) return program.status();
      fn->state = std::shared_ptr<const RegexProgram>(program.MoveValue());
    } else if (case_insensitive) {
      // Per-row patterns: prefix the inline flag so the cursor compiles them insensitive.
      fn->kernel = [negate](const BoundFunction& f, std::span<const ColumnPtr> args, int64_t rows,
                            ColumnPtr* out) -> Status {
        ColumnBuilder b(kText);
        b.Reserve(rows);
        for (int64_t i = 0; i < rows; ++i) {
          if (args[1]->IsNull(i)) {
            b.AppendNull();
          } else {
            b.AppendString("(?i)" + std::string(args[1]->GetString(i)));
          }
        }
        ColumnPtr patterns = b.Finish();
        std::vector<ColumnPtr> with_flags = {args[0], patterns};
        return LikeKernel(f, with_flags, rows, out, negate);
      };
    }
    return fn;
  };
}

}  // namespace

void RegisterRegexFunctions(FunctionRegistry* r) {
  const DataType kBool = types::Bool();
  r->Register("regexp_like",
              RegexFunction({Signature{{kText, kText}, kBool, LikeKernelFn(false)},
                             Signature{{kText, kText, kText}, kBool, LikeKernelFn(false)}},
                            RegexArgs{1, 2, false}));
  r->Register("regexp_match",
              RegexFunction({Signature{{kText, kText}, kTextArray, MatchKernel},
                             Signature{{kText, kText, kText}, kTextArray, MatchKernel}},
                            RegexArgs{1, 2, false}));
  r->Register("regexp_replace",
              RegexFunction({Signature{{kText, kText, kText}, kText, ReplaceKernel},
                             Signature{{kText, kText, kText, kText}, kText, ReplaceKernel}},
                            RegexArgs{1, 3, true}));
  r->Register(
      "regexp_count",
      RegexFunction({Signature{{kText, kText}, types::Int32(), CountKernel},
                     Signature{{kText, kText, kBigint}, types::Int32(), CountKernel},
                     Signature{{kText, kText, kBigint, kText}, types::Int32(), CountKernel}},
                    RegexArgs{1, 3, false}));
  r->Register("regexp_split_to_array",
              RegexFunction({Signature{{kText, kText}, kTextArray, SplitKernel},
                             Signature{{kText, kText, kText}, kTextArray, SplitKernel}},
                            RegexArgs{1, 2, false}));
  // Postgres' match operators.
  r->Register("~", RegexOperator(false, false));
  r->Register("!~", RegexOperator(true, false));
  r->Register("~*", RegexOperator(false, true));
  r->Register("!~*", RegexOperator(true, true));
}

}  // namespace sluice::expr
