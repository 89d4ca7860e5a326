#include "runtime/checkpoint_metadata.h"

#include <charconv>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "runtime/checksum.h"

namespace sluice::runtime {

namespace {

// Format 2: state files are zstd-compressed and may extend earlier checkpoints' files (listed
// as "chk-<n>/<file>"). Format 1 (uncompressed, standalone files) is still read.
constexpr int kFormat = 2;
constexpr int kMinReadableFormat = 2;
constexpr std::string_view kHeader = "sluice checkpoint";

template <typename T>
bool ParseNumber(std::string_view text, T* out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), *out);
  return ec == std::errc() && ptr == text.data() + text.size();
}

// Splits off the first space-separated word of `*line`.
std::string_view Word(std::string_view* line) {
  size_t sp = line->find(' ');
  std::string_view w = line->substr(0, sp);
  *line = sp == std::string_view::npos ? std::string_view() : line->substr(sp + 1);
  return w;
}

}  // namespace

const char* CheckpointKindName(CheckpointKind kind) {
  switch (kind) {
    case CheckpointKind::kPeriodic:
      return "periodic";
    case CheckpointKind::kStop:
      return "stop";
    case CheckpointKind::kEnd:
      return "end";
  }
  return "?";
}

std::string CheckpointMetadata::Encode() const {
  std::string s;
  s += fmt::format("{}\nformat {}\nmin_format {}\n", kHeader, kFormat, kMinReadableFormat);
  s += fmt::format("checkpoint {}\nkind {}\ncreated {}\nfingerprint {}\n", checkpoint,
                   CheckpointKindName(kind), created_micros, fingerprint);
  for (size_t i = 0; i < operators.size(); ++i) {
    s += fmt::format("operator {} {}\n", i, operators[i]);
  }
  for (const auto& n : nodes) {
    s += fmt::format("node {} {} {}\n", n.id, n.parallelism, fmt::join(n.operator_ids, ","));
  }
  for (const auto& f : files) {
    s += fmt::format("file {} {} {}\n", f.name, f.size, ChecksumHex(f.checksum));
  }
  for (const auto& o : operator_state) {
    s += fmt::format("state {} {} {}\n", o.operator_id, o.subtask, o.bytes);
  }
  for (size_t i = 0; i < identities.size(); ++i) {
    s += fmt::format("identity {} {} {} {}\n", i, identities[i].hash,
                     identities[i].stateful ? 1 : 0, identities[i].description);
  }
  s += fmt::format("checksum {}\n", ChecksumHex(Checksum64(s)));
  return s;
}

Result<CheckpointMetadata> CheckpointMetadata::Decode(std::string_view text,
                                                      std::string_view what) {
  auto corrupt = [&](std::string_view why) { return Status::Io("{} is corrupt: {}", what, why); };
  // The checksum line covers everything before it.
  if (text.empty() || text.back() != '\n') return corrupt("truncated");
  size_t last = text.rfind('\n', text.size() - 2);
  if (last == std::string_view::npos) return corrupt("truncated");
  std::string_view body = text.substr(0, last + 1);
  std::string_view tail = text.substr(last + 1, text.size() - last - 2);
  if (Word(&tail) != "checksum") return corrupt("no checksum line");
  auto checksum = ParseChecksumHex(tail);
  if (!checksum || *checksum != Checksum64(body)) return corrupt("checksum mismatch");

  CheckpointMetadata m;
  bool have_checkpoint = false, have_kind = false, have_fingerprint = false;
  size_t pos = 0;
  int line_no = 0;
  while (pos < body.size()) {
    size_t nl = body.find('\n', pos);
    std::string_view line = body.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    if (line_no == 1) {
      if (line != kHeader) return corrupt("not a Sluice checkpoint metadata file");
      continue;
    }
    std::string_view key = Word(&line);
    if (key == "format") {
      int v = 0;
      if (!ParseNumber(line, &v)) return corrupt("bad format line");
    } else if (key == "min_format") {
      int v = 0;
      if (!ParseNumber(line, &v)) return corrupt("bad min_format line");
      if (v > kFormat) {
        return Status::Io("{} needs checkpoint format {} or newer; this build reads up to {}", what,
                          v, kFormat);
      }
    } else if (key == "checkpoint") {
      if (!ParseNumber(line, &m.checkpoint)) return corrupt("bad checkpoint line");
      have_checkpoint = true;
    } else if (key == "kind") {
      if (line == "periodic") {
        m.kind = CheckpointKind::kPeriodic;
      } else if (line == "stop") {
        m.kind = CheckpointKind::kStop;
      } else if (line == "end") {
        m.kind = CheckpointKind::kEnd;
      } else {
        return corrupt("bad kind line");
      }
      have_kind = true;
    } else if (key == "created") {
      if (!ParseNumber(line, &m.created_micros)) return corrupt("bad created line");
    } else if (key == "fingerprint") {
      m.fingerprint = std::string(line);
      have_fingerprint = true;
    } else if (key == "operator") {
      size_t id = 0;
      if (!ParseNumber(Word(&line), &id) || id != m.operators.size()) {
        return corrupt("operators out of order");
      }
      m.operators.emplace_back(line);
    } else if (key == "node") {
      Node n;
      if (!ParseNumber(Word(&line), &n.id) || !ParseNumber(Word(&line), &n.parallelism) ||
          n.parallelism < 1) {
        return corrupt("bad node line");
      }
      while (!line.empty()) {
        size_t comma = line.find(',');
        int op = 0;
        if (!ParseNumber(line.substr(0, comma), &op) || op < 0) return corrupt("bad node line");
        n.operator_ids.push_back(op);
        line = comma == std::string_view::npos ? std::string_view() : line.substr(comma + 1);
      }
      m.nodes.push_back(std::move(n));
    } else if (key == "file") {
      File f;
      f.name = std::string(Word(&line));
      std::string_view size = Word(&line);
      auto sum = ParseChecksumHex(line);
      if (f.name.empty() || !ParseNumber(size, &f.size) || !sum) return corrupt("bad file line");
      f.checksum = *sum;
      m.files.push_back(std::move(f));
    } else if (key == "state") {
      OperatorState o;
      if (!ParseNumber(Word(&line), &o.operator_id) || !ParseNumber(Word(&line), &o.subtask) ||
          !ParseNumber(line, &o.bytes) || o.operator_id < 0) {
        return corrupt("bad state line");
      }
      m.operator_state.push_back(o);
    } else if (key == "identity") {
      size_t id = 0;
      if (!ParseNumber(Word(&line), &id) || id != m.identities.size()) {
        return corrupt("identities out of order");
      }
      Identity ident;
      ident.hash = std::string(Word(&line));
      std::string_view stateful = Word(&line);
      if (ident.hash.empty() || (stateful != "0" && stateful != "1")) {
        return corrupt("bad identity line");
      }
      ident.stateful = stateful == "1";
      ident.description = std::string(line);
      m.identities.push_back(std::move(ident));
    }
    // Unknown keys are skipped: a newer minor format may add lines.
  }
  if (!have_checkpoint || !have_kind || !have_fingerprint) return corrupt("missing lines");
  for (const auto& n : m.nodes) {
    for (int op : n.operator_ids) {
      if (static_cast<size_t>(op) >= m.operators.size()) return corrupt("unknown operator id");
    }
  }
  if (!m.identities.empty() && m.identities.size() != m.operators.size()) {
    return corrupt("identities do not match the operators");
  }
  return m;
}

std::string QueryFingerprint(std::string_view plan_text) {
  return ChecksumHex(Checksum64(plan_text));
}

std::string CheckpointDirName(int64_t checkpoint) {
  return fmt::format("chk-{}", checkpoint);
}

std::optional<int64_t> ParseCheckpointDirName(std::string_view name) {
  if (name.rfind("chk-", 0) != 0) return std::nullopt;
  int64_t n = 0;
  if (!ParseNumber(name.substr(4), &n) || n < 1) return std::nullopt;
  return n;
}

std::string StateFileName(int node, int subtask) {
  return fmt::format("{}-{}.state", node, subtask);
}

}  // namespace sluice::runtime
