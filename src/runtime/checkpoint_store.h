#pragma once
// The checkpoints of one state dir: writing a checkpoint's files and its metadata, finding and
// verifying the latest usable checkpoint, and removing old ones. Layout and metadata format are
// in checkpoint_metadata.h; the bytes go through a CheckpointStorage.
//
// Threading: one thread at a time (the checkpoint coordinator's, or the executor's before it
// starts).

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/checkpoint_metadata.h"
#include "runtime/checkpoint_storage.h"
#include "runtime/state.h"

namespace sluice::runtime {

// A checkpoint read back and verified.
struct LoadedCheckpoint {
  CheckpointMetadata metadata;
  std::map<std::pair<int, int>, TaskState> states;  // by (node, subtask): the checkpoint's own
  // Incremental snapshots: the earlier files a task's file extends, oldest first, by (node,
  // subtask); absent when the file stands alone.
  std::map<std::pair<int, int>, std::vector<TaskState>> earlier;
};

class CheckpointStore {
 public:
  explicit CheckpointStore(std::shared_ptr<CheckpointStorage> storage)
      : storage_(std::move(storage)) {}

  CheckpointStorage& storage() { return *storage_; }

  struct Listing {
    std::vector<int64_t> complete;    // with _metadata, ascending
    std::vector<int64_t> incomplete;  // without, ascending
    int64_t max_id = 0;               // highest id of any checkpoint directory
  };
  Result<Listing> List();

  // Writes one task's state file of checkpoint `checkpoint`, compressed (zstd); returns what the
  // metadata lists.
  Result<CheckpointMetadata::File> WriteStateFile(int64_t checkpoint, int node, int subtask,
                                                  std::string_view bytes);
  // The same for a task's state, encoded and compressed in one pass (no uncompressed copy).
  Result<CheckpointMetadata::File> WriteStateFile(const TaskState& state);
  // The name under which the metadata of checkpoint `checkpoint` lists a file that checkpoint
  // `owner` wrote ("0-1.state" for its own, "chk-5/0-1.state" for an earlier one).
  static std::string ListedName(int64_t checkpoint, int64_t owner, std::string_view file);
  // Writes the metadata, which completes the checkpoint.
  Status WriteMetadata(const CheckpointMetadata& metadata);

  // Reads checkpoint `checkpoint` and verifies it: the metadata's checksum, and the presence,
  // size, checksum and content of every state file it lists.
  Result<LoadedCheckpoint> Load(int64_t checkpoint);

  // The newest checkpoint that loads and verifies. A newer complete checkpoint that does not is
  // skipped, with a warning naming it, why, and the one used instead. Nullopt when the dir holds
  // no complete checkpoint; an error when it holds some but none is usable.
  Result<std::optional<LoadedCheckpoint>> LoadLatest(std::vector<std::string>* warnings);

  // Deletes a checkpoint: its metadata first, so a partly deleted checkpoint is not complete.
  Status Delete(int64_t checkpoint);
  // Keeps the newest `keep` complete checkpoints up to `newest` and deletes the complete ones
  // before them and any incomplete one older than `newest` (abandoned or failed), except the
  // files a kept checkpoint still lists (incremental chains).
  Status Retain(int keep, int64_t newest);

 private:
  std::shared_ptr<CheckpointStorage> storage_;
  // The last compressed state file's buffer, reused by the next (WriteStateFile).
  std::mutex buffer_mu_;
  std::string buffer_;
};

}  // namespace sluice::runtime
