#include "runtime/checkpoint_store.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "runtime/checksum.h"

namespace sluice::runtime {

namespace {

std::string Key(int64_t checkpoint, std::string_view file) {
  return fmt::format("{}/{}", CheckpointDirName(checkpoint), file);
}

}  // namespace

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
  f.size = bytes.size();
  f.checksum = Checksum64(bytes);
  SLUICE_RETURN_NOT_OK(storage_->Put(Key(checkpoint, f.name), bytes));
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
    const std::string what = fmt::format("{}/{}", dir, f.name);
    SLUICE_ASSIGN_OR_RETURN(auto bytes, storage_->Get(Key(checkpoint, f.name)));
    if (!bytes) return Status::Io("{} is missing", what);
    if (bytes->size() != f.size) {
      return Status::Io("{} has {} bytes, the metadata says {}", what, bytes->size(), f.size);
    }
    if (Checksum64(*bytes) != f.checksum) return Status::Io("{}: checksum mismatch", what);
    SLUICE_ASSIGN_OR_RETURN(TaskState state, DecodeTaskState(*bytes, what));
    if (state.checkpoint != checkpoint || StateFileName(state.node, state.subtask) != f.name) {
      return Status::Io("{} belongs to another checkpoint or task", what);
    }
    out.states.emplace(std::make_pair(state.node, state.subtask), std::move(state));
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
  for (size_t i = 0; i < drop; ++i) SLUICE_RETURN_NOT_OK(Delete(complete[i]));
  for (int64_t id : listing.incomplete) {
    if (id < newest) SLUICE_RETURN_NOT_OK(Delete(id));
  }
  return Status::Ok();
}

}  // namespace sluice::runtime
