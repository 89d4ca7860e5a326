#include "runtime/checkpoint_store.h"

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <set>

#include <fmt/format.h>
#include <zstd.h>

#include "runtime/checksum.h"

namespace sluice::runtime {

namespace {

std::string Key(int64_t checkpoint, std::string_view file) {
  return fmt::format("{}/{}", CheckpointDirName(checkpoint), file);
}

// The storage key of a file the metadata of `checkpoint` lists: its own files by name, earlier
// ones (incremental chains) as "chk-<n>/<name>".
std::string ListedKey(int64_t checkpoint, std::string_view listed) {
  if (listed.find('/') != std::string_view::npos) return std::string(listed);
  return Key(checkpoint, listed);
}

// State files are stored as one zstd frame. Level 1: checkpoints of large state are bound by
// compression speed, and level 1 already shrinks column data (offsets, small integers, keys)
// several times.
constexpr int kZstdLevel = 1;
// Files mostly of bulk pieces (StatePiece::bulk: a sink's records kept until their commit, JSON
// text and the like, written at every checkpoint): level -3 compresses about twice as fast as
// level 1 (1.2 GB/s against 0.58 GB/s on Nexmark JSON here) for files about a third larger
// (ratio 2.4 against 3.2).
constexpr int kZstdBulkLevel = -3;
constexpr uint32_t kZstdMagic = 0xFD2FB528;

// Compresses the parts `produce` writes into one zstd frame in `*out` (replacing its contents),
// streaming: only the compressed output is held in memory.
Status CompressPartsInto(
    size_t size_hint, int level,
    const std::function<void(const std::function<Status(std::string_view)>&, Status*)>& produce,
    std::string* out_buffer) {
  std::unique_ptr<ZSTD_CCtx, size_t (*)(ZSTD_CCtx*)> cctx(ZSTD_createCCtx(), ZSTD_freeCCtx);
  if (!cctx) return Status::Internal("zstd: cannot create a compression context");
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, level);
  ZSTD_CCtx_setPledgedSrcSize(cctx.get(), size_hint);
  std::string& out = *out_buffer;
  out.clear();
  // The whole frame's bound at once: growing the string chunk by chunk copies it and touches
  // fresh pages again at every doubling (pages never written are never faulted in).
  out.reserve(ZSTD_compressBound(size_hint));
  const size_t chunk = ZSTD_CStreamOutSize();
  auto pump = [&](std::string_view part, ZSTD_EndDirective mode) -> Status {
    ZSTD_inBuffer in{part.data(), part.size(), 0};
    while (true) {
      const size_t at = out.size();
      out.resize(at + chunk);
      ZSTD_outBuffer o{out.data() + at, chunk, 0};
      size_t left = ZSTD_compressStream2(cctx.get(), &o, &in, mode);
      out.resize(at + o.pos);
      if (ZSTD_isError(left)) return Status::Internal("zstd: {}", ZSTD_getErrorName(left));
      const bool done = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
      if (done) return Status::Ok();
    }
  };
  Status st;
  produce([&](std::string_view part) { return pump(part, ZSTD_e_continue); }, &st);
  SLUICE_RETURN_NOT_OK(st);
  return pump({}, ZSTD_e_end);
}

Result<std::string> CompressParts(
    size_t size_hint, int level,
    const std::function<void(const std::function<Status(std::string_view)>&, Status*)>& produce) {
  std::string out;
  SLUICE_RETURN_NOT_OK(CompressPartsInto(size_hint, level, produce, &out));
  return out;
}

// The largest compressed state file whose buffer CheckpointStore keeps for the next file.
constexpr size_t kMaxKeptBuffer = size_t{256} << 20;

Result<std::string> Compress(std::string_view bytes) {
  return CompressParts(bytes.size(), kZstdLevel,
                       [&](const auto& write, Status* st) { *st = write(bytes); });
}

// The zstd level of a task's state file: the bulk level when bulk pieces hold most of its bytes.
int Level(const TaskState& state) {
  size_t bulk = 0, all = 0;
  for (const StatePiece& p : state.pieces) {
    const size_t size = p.size();
    all += size;
    if (p.bulk) bulk += size;
  }
  return bulk > all / 2 ? kZstdBulkLevel : kZstdLevel;
}

// Decompresses a stored state file; files written before compression pass through.
Result<std::string> Decompress(std::string bytes, std::string_view what) {
  uint32_t magic = 0;
  if (bytes.size() < sizeof(magic)) return bytes;
  std::memcpy(&magic, bytes.data(), sizeof(magic));
  if (magic != kZstdMagic) return bytes;
  unsigned long long size = ZSTD_getFrameContentSize(bytes.data(), bytes.size());
  if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > (1ull << 40)) {
    return Status::Io("{}: not a complete zstd frame", what);
  }
  std::string out(static_cast<size_t>(size), '\0');
  size_t n = ZSTD_decompress(out.data(), out.size(), bytes.data(), bytes.size());
  if (ZSTD_isError(n) || n != out.size()) {
    return Status::Io("{}: cannot decompress: {}", what,
                      ZSTD_isError(n) ? ZSTD_getErrorName(n) : "short frame");
  }
  return out;
}

}  // namespace

std::string CheckpointStore::ListedName(int64_t checkpoint, int64_t owner, std::string_view file) {
  if (owner == checkpoint) return std::string(file);
  return Key(owner, file);
}

Result<CheckpointStore::Listing> CheckpointStore::List() {
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> keys, storage_->List("chk-"));
  std::set<int64_t> all, complete;
  for (const auto& key : keys) {
    size_t slash = key.find('/');
    if (slash == std::string::npos) continue;
    auto id = ParseCheckpointDirName(std::string_view(key).substr(0, slash));
    if (!id) continue;
    all.insert(*id);
    if (std::string_view(key).substr(slash + 1) == kMetadataFileName) complete.insert(*id);
  }
  Listing out;
  for (int64_t id : all) {
    (complete.count(id) ? out.complete : out.incomplete).push_back(id);
    out.max_id = std::max(out.max_id, id);
  }
  return out;
}

Result<CheckpointMetadata::File> CheckpointStore::WriteStateFile(int64_t checkpoint, int node,
                                                                 int subtask,
                                                                 std::string_view bytes) {
  CheckpointMetadata::File f;
  f.name = StateFileName(node, subtask);
  SLUICE_ASSIGN_OR_RETURN(std::string stored, Compress(bytes));
  f.size = stored.size();
  f.checksum = Checksum64(stored);
  SLUICE_RETURN_NOT_OK(storage_->Put(Key(checkpoint, f.name), stored));
  return f;
}

Result<CheckpointMetadata::File> CheckpointStore::WriteStateFile(const TaskState& state) {
  // The compressed file goes into the buffer of the previous one when no other thread writes a
  // file meanwhile: a task whose state is large at every checkpoint (a sink's pending records)
  // then does not fault in fresh pages for every file.
  std::unique_lock<std::mutex> lock(buffer_mu_, std::try_to_lock);
  std::string own;
  std::string& stored = lock.owns_lock() ? buffer_ : own;
  SLUICE_RETURN_NOT_OK(CompressPartsInto(
      EncodedTaskStateSize(state), Level(state),
      [&](const auto& write, Status* st) { EncodeTaskStateParts(state, write, st); }, &stored));
  CheckpointMetadata::File f;
  f.name = StateFileName(state.node, state.subtask);
  f.size = stored.size();
  f.checksum = Checksum64(stored);
  Status put = storage_->Put(Key(state.checkpoint, f.name), stored);
  if (stored.capacity() > kMaxKeptBuffer) std::string().swap(stored);
  SLUICE_RETURN_NOT_OK(put);
  return f;
}

Status CheckpointStore::WriteMetadata(const CheckpointMetadata& metadata) {
  return storage_->Put(Key(metadata.checkpoint, kMetadataFileName), metadata.Encode());
}

Result<LoadedCheckpoint> CheckpointStore::Load(int64_t checkpoint) {
  const std::string dir = CheckpointDirName(checkpoint);
  SLUICE_ASSIGN_OR_RETURN(auto text, storage_->Get(Key(checkpoint, kMetadataFileName)));
  if (!text) return Status::Io("{}/{} is missing", dir, kMetadataFileName);
  LoadedCheckpoint out;
  SLUICE_ASSIGN_OR_RETURN(out.metadata, CheckpointMetadata::Decode(
                                            *text, fmt::format("{}/{}", dir, kMetadataFileName)));
  if (out.metadata.checkpoint != checkpoint) {
    return Status::Io("{}/{} names checkpoint {}", dir, kMetadataFileName, out.metadata.checkpoint);
  }
  for (const auto& f : out.metadata.files) {
    const std::string key = ListedKey(checkpoint, f.name);
    const bool own = f.name.find('/') == std::string::npos;
    SLUICE_ASSIGN_OR_RETURN(auto bytes, storage_->Get(key));
    if (!bytes) return Status::Io("{} is missing", key);
    if (bytes->size() != f.size) {
      return Status::Io("{} has {} bytes, the metadata says {}", key, bytes->size(), f.size);
    }
    if (Checksum64(*bytes) != f.checksum) return Status::Io("{}: checksum mismatch", key);
    SLUICE_ASSIGN_OR_RETURN(std::string plain, Decompress(std::move(*bytes), key));
    SLUICE_ASSIGN_OR_RETURN(TaskState state, DecodeTaskState(plain, key));
    if (own ? (state.checkpoint != checkpoint || StateFileName(state.node, state.subtask) != f.name)
            : (state.checkpoint >= checkpoint ||
               Key(state.checkpoint, StateFileName(state.node, state.subtask)) != f.name)) {
      return Status::Io("{} belongs to another checkpoint or task", key);
    }
    auto task = std::make_pair(state.node, state.subtask);
    if (own) {
      out.states.emplace(task, std::move(state));
    } else {
      out.earlier[task].push_back(std::move(state));
    }
  }
  for (auto& [task, files] : out.earlier) {
    std::sort(files.begin(), files.end(),
              [](const TaskState& a, const TaskState& b) { return a.checkpoint < b.checkpoint; });
  }
  // Every subtask of every node has its file.
  for (const auto& n : out.metadata.nodes) {
    for (int s = 0; s < n.parallelism; ++s) {
      if (!out.states.count({n.id, s})) {
        return Status::Io("{}: the metadata lists no state file for node {} subtask {}", dir, n.id,
                          s);
      }
    }
  }
  return out;
}

Result<std::optional<LoadedCheckpoint>> CheckpointStore::LoadLatest(
    std::vector<std::string>* warnings) {
  SLUICE_ASSIGN_OR_RETURN(Listing listing, List());
  std::vector<std::string> problems;  // of the newer checkpoints skipped so far
  for (auto it = listing.complete.rbegin(); it != listing.complete.rend(); ++it) {
    auto loaded = Load(*it);
    if (loaded.ok()) {
      for (const auto& p : problems) {
        warnings->push_back(fmt::format("{}; restoring checkpoint {} instead", p, *it));
      }
      return std::optional<LoadedCheckpoint>(loaded.MoveValue());
    }
    problems.push_back(fmt::format("checkpoint {} in '{}' is unusable: {}", *it,
                                   storage_->location(), loaded.status().message()));
  }
  if (problems.empty()) return std::optional<LoadedCheckpoint>();
  std::string all;
  for (const auto& p : problems) all += "\n  " + p;
  return Status::User(
      "no usable checkpoint in '{}':{}\n(--ignore-state starts the query from the beginning)",
      storage_->location(), all);
}

Status CheckpointStore::Delete(int64_t checkpoint) {
  const std::string dir = CheckpointDirName(checkpoint) + "/";
  SLUICE_RETURN_NOT_OK(storage_->Delete(Key(checkpoint, kMetadataFileName)));
  SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> keys, storage_->List(dir));
  for (const auto& key : keys) SLUICE_RETURN_NOT_OK(storage_->Delete(key));
  return Status::Ok();
}

Status CheckpointStore::Retain(int keep, int64_t newest) {
  SLUICE_ASSIGN_OR_RETURN(Listing listing, List());
  std::vector<int64_t> complete;
  for (int64_t id : listing.complete) {
    if (id <= newest) complete.push_back(id);
  }
  size_t drop = complete.size() > static_cast<size_t>(std::max(keep, 1))
                    ? complete.size() - static_cast<size_t>(std::max(keep, 1))
                    : 0;
  std::vector<int64_t> doomed(complete.begin(), complete.begin() + static_cast<ptrdiff_t>(drop));
  for (int64_t id : listing.incomplete) {
    if (id < newest) doomed.push_back(id);
  }
  if (doomed.empty()) return Status::Ok();
  // The files the remaining complete checkpoints list, their own and earlier ones: an earlier
  // checkpoint's file stays while a kept checkpoint's chain reaches it.
  std::set<std::string> referenced;
  for (int64_t id : listing.complete) {
    if (std::find(doomed.begin(), doomed.end(), id) != doomed.end()) continue;
    SLUICE_ASSIGN_OR_RETURN(auto text, storage_->Get(Key(id, kMetadataFileName)));
    if (!text) continue;
    auto m = CheckpointMetadata::Decode(*text, Key(id, kMetadataFileName));
    if (!m.ok()) continue;  // unusable: it references nothing worth keeping
    for (const auto& f : m->files) referenced.insert(ListedKey(id, f.name));
  }
  for (int64_t id : doomed) {
    // The metadata first, so a partly deleted checkpoint is not complete.
    SLUICE_RETURN_NOT_OK(storage_->Delete(Key(id, kMetadataFileName)));
    SLUICE_ASSIGN_OR_RETURN(std::vector<std::string> keys,
                            storage_->List(CheckpointDirName(id) + "/"));
    for (const auto& key : keys) {
      if (!referenced.count(key)) SLUICE_RETURN_NOT_OK(storage_->Delete(key));
    }
  }
  return Status::Ok();
}

}  // namespace sluice::runtime
