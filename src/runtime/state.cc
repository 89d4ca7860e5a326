#include "runtime/state.h"

#include "batch/serialize.h"
#include "runtime/checksum.h"

namespace sluice::runtime {

namespace {

constexpr char kMagic[8] = {'S', 'L', 'U', 'I', 'C', 'E', 'S', 'T'};
constexpr uint16_t kVersion = 1;
constexpr uint16_t kMinReadableVersion = 1;

// The checksum of a piece covers its name, kind and payload.
uint64_t PieceChecksum(const StatePiece& p) {
  std::string buf;
  buf.reserve(p.name.size() + 1);
  buf += p.name;
  buf += static_cast<char>(p.kind);
  return Checksum64(buf) ^ (p.parts.empty() ? Checksum64(p.payload) : Checksum64(p.parts));
}

}  // namespace

void EncodeTaskStateParts(const TaskState& state,
                          const std::function<Status(std::string_view)>& write, Status* status) {
  std::string head;
  batch::ByteWriter w(&head);
  w.PutRaw(kMagic, sizeof(kMagic));
  w.Put<uint16_t>(kVersion);
  w.Put<uint16_t>(kMinReadableVersion);
  w.Put<int64_t>(state.checkpoint);
  w.Put<int32_t>(state.node);
  w.Put<int32_t>(state.subtask);
  w.Put<int32_t>(state.parallelism);
  w.Put<uint32_t>(static_cast<uint32_t>(state.pieces.size()));
  w.Put<uint64_t>(Checksum64(head));  // of the header
  for (const auto& p : state.pieces) {
    w.PutBytes(p.name);
    w.Put<uint8_t>(static_cast<uint8_t>(p.kind));
    w.Put<uint64_t>(PieceChecksum(p));
    w.Put<uint64_t>(p.size());  // PutBytes' length, then the payload itself
    *status = write(head);
    if (!status->ok()) return;
    head.clear();
    if (p.parts.empty()) {
      *status = write(p.payload);
      if (!status->ok()) return;
    }
    for (std::string_view part : p.parts) {
      *status = write(part);
      if (!status->ok()) return;
    }
  }
  *status = head.empty() ? Status::Ok() : write(head);
}

size_t EncodedTaskStateSize(const TaskState& state) {
  // Magic, versions, checkpoint, node, subtask, parallelism, piece count, header checksum; per
  // piece its name (length + bytes), kind, checksum, payload (length + bytes).
  size_t size = sizeof(kMagic) + 2 + 2 + 8 + 4 + 4 + 4 + 4 + 8;
  for (const auto& p : state.pieces) size += 8 + p.name.size() + 1 + 8 + 8 + p.size();
  return size;
}

std::string EncodeTaskState(const TaskState& state) {
  std::string out;
  out.reserve(EncodedTaskStateSize(state));
  Status st;
  EncodeTaskStateParts(
      state,
      [&](std::string_view part) {
        out.append(part);
        return Status::Ok();
      },
      &st);
  return out;
}

Result<TaskState> DecodeTaskState(std::string_view bytes, std::string_view what) {
  batch::ByteReader r(bytes, what);
  std::string_view magic;
  SLUICE_RETURN_NOT_OK(r.GetRaw(sizeof(kMagic), &magic));
  if (magic != std::string_view(kMagic, sizeof(kMagic))) {
    return r.Corrupt("not a Sluice state file");
  }
  uint16_t version = 0, min_version = 0;
  SLUICE_RETURN_NOT_OK(r.Get(&version));
  SLUICE_RETURN_NOT_OK(r.Get(&min_version));
  if (min_version > kVersion) {
    return Status::Io("{} needs state file format {} or newer; this build reads up to {}", what,
                      min_version, kVersion);
  }
  TaskState s;
  uint32_t count = 0;
  SLUICE_RETURN_NOT_OK(r.Get(&s.checkpoint));
  SLUICE_RETURN_NOT_OK(r.Get(&s.node));
  SLUICE_RETURN_NOT_OK(r.Get(&s.subtask));
  SLUICE_RETURN_NOT_OK(r.Get(&s.parallelism));
  SLUICE_RETURN_NOT_OK(r.Get(&count));
  size_t header_size = bytes.size() - r.rest().size();
  uint64_t header_checksum = 0;
  SLUICE_RETURN_NOT_OK(r.Get(&header_checksum));
  if (header_checksum != Checksum64(bytes.substr(0, header_size))) {
    return r.Corrupt("header checksum mismatch");
  }
  for (uint32_t i = 0; i < count; ++i) {
    StatePiece p;
    std::string_view name, payload;
    uint8_t kind = 0;
    uint64_t checksum = 0;
    SLUICE_RETURN_NOT_OK(r.GetBytes(&name));
    SLUICE_RETURN_NOT_OK(r.Get(&kind));
    SLUICE_RETURN_NOT_OK(r.Get(&checksum));
    SLUICE_RETURN_NOT_OK(r.GetBytes(&payload));
    p.name = std::string(name);
    p.kind = static_cast<StatePiece::Kind>(kind);
    p.payload = std::string(payload);
    if (checksum != PieceChecksum(p)) {
      return r.Corrupt(fmt::format("checksum mismatch in piece {} ('{}')", i, p.name));
    }
    if (p.kind != StatePiece::Kind::kBytes && p.kind != StatePiece::Kind::kBatch) {
      return r.Corrupt(fmt::format("unknown kind of piece '{}'", p.name));
    }
    s.pieces.push_back(std::move(p));
  }
  if (!r.empty()) return r.Corrupt("trailing bytes");
  return s;
}

size_t StatePiece::size() const {
  if (parts.empty()) return payload.size();
  size_t n = 0;
  for (std::string_view part : parts) n += part.size();
  return n;
}

void StateWriter::Put(std::string_view name, std::string_view bytes) {
  pieces_->push_back({prefix_ + std::string(name), StatePiece::Kind::kBytes, std::string(bytes)});
}

void StateWriter::PutOwned(std::string_view name, std::string bytes, bool bulk) {
  pieces_->push_back(
      {prefix_ + std::string(name), StatePiece::Kind::kBytes, std::move(bytes), bulk});
}

void StateWriter::PutParts(std::string_view name, std::vector<std::string_view> parts,
                           std::shared_ptr<const void> owner, bool bulk) {
  StatePiece p{prefix_ + std::string(name), StatePiece::Kind::kBytes, {}, bulk};
  p.parts = std::move(parts);
  p.owner = std::move(owner);
  pieces_->push_back(std::move(p));
}

void StateWriter::PutBatch(std::string_view name, const batch::Batch& batch) {
  StatePiece p{prefix_ + std::string(name), StatePiece::Kind::kBatch, {}};
  batch::SerializeBatch(batch, &p.payload);
  pieces_->push_back(std::move(p));
}

Result<std::optional<std::string>> StateReader::Get(std::string_view name) const {
  if (subtask_ >= static_cast<int>(previous_.size())) return std::optional<std::string>();
  const std::string full = prefix_ + std::string(name);
  for (const auto& p : previous_[static_cast<size_t>(subtask_)]->pieces) {
    if (p.name != full) continue;
    if (p.kind != StatePiece::Kind::kBytes) {
      return Status::Internal("state piece '{}' holds batches, not bytes", full);
    }
    return std::optional<std::string>(p.payload);
  }
  return std::optional<std::string>();
}

namespace {

// Appends the batches of `state`'s pieces named `full` to `out`.
Status AppendBatches(const TaskState& state, const std::string& full,
                     std::vector<batch::BatchPtr>* out) {
  for (const auto& p : state.pieces) {
    if (p.name != full) continue;
    if (p.kind != StatePiece::Kind::kBatch) {
      return Status::Internal("state piece '{}' holds bytes, not batches", full);
    }
    SLUICE_ASSIGN_OR_RETURN(batch::BatchPtr b, batch::DeserializeBatch(p.payload));
    out->push_back(std::move(b));
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<batch::BatchPtr>> StateReader::GetBatches(std::string_view name) const {
  const std::string full = prefix_ + std::string(name);
  std::vector<batch::BatchPtr> out;
  for (const TaskState* s : previous_) SLUICE_RETURN_NOT_OK(AppendBatches(*s, full, &out));
  return out;
}

Result<std::vector<std::optional<std::string_view>>> StateReader::GetAllBytes(
    std::string_view name) const {
  const std::string full = prefix_ + std::string(name);
  std::vector<std::optional<std::string_view>> out(previous_.size());
  for (size_t i = 0; i < previous_.size(); ++i) {
    for (const auto& p : previous_[i]->pieces) {
      if (p.name != full) continue;
      if (p.kind != StatePiece::Kind::kBytes) {
        return Status::Internal("state piece '{}' holds batches, not bytes", full);
      }
      out[i] = std::string_view(p.payload);
      break;
    }
  }
  return out;
}

bool StateReader::HasPieceAt(std::string_view name, int old_subtask, int step) const {
  const std::string full = prefix_ + std::string(name);
  const TaskState* s = chains_[static_cast<size_t>(old_subtask)][static_cast<size_t>(step)];
  for (const auto& p : s->pieces) {
    if (p.name == full) return true;
  }
  return false;
}

Result<std::vector<batch::BatchPtr>> StateReader::GetBatchesAt(std::string_view name,
                                                               int old_subtask, int step) const {
  std::vector<batch::BatchPtr> out;
  SLUICE_RETURN_NOT_OK(
      AppendBatches(*chains_[static_cast<size_t>(old_subtask)][static_cast<size_t>(step)],
                    prefix_ + std::string(name), &out));
  return out;
}

}  // namespace sluice::runtime
