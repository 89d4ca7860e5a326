#pragma once
// Operator state in checkpoints. An operator's snapshot is a set of named, typed pieces: opaque
// bytes (a source position, a sink's transaction) or batches (keyed state, as columns). The
// runtime, not the operator, decides when to snapshot: at a checkpoint barrier it hands each
// operator of a task a StateWriter, gathers the pieces of the whole chain into the task's state
// file, and on recovery hands each operator a StateReader over the files of the run that wrote
// the checkpoint.
//
// Piece names are scoped by the operator's id in the dataflow (its position in the graph's
// operator order, which does not depend on the parallelism or on how operators are chained), so
// an operator finds its pieces again even when the new run chains or parallelizes differently.
//
// Threading: a StateWriter and a StateReader are used by the one thread running the operator.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "batch/batch.h"
#include "common/status.h"

namespace sluice::runtime {

// One piece of a task's snapshot.
struct StatePiece {
  enum class Kind : uint8_t { kBytes = 1, kBatch = 2 };
  std::string name;  // "<operator id>/<name>"
  Kind kind = Kind::kBytes;
  std::string payload;  // the bytes, or a batch in the format of batch/serialize.h
  // Bulk bytes written at every checkpoint and read only on restore (a sink's output not yet
  // committed): when such pieces make up most of a task's state file, the file is compressed
  // at a faster zstd level (CheckpointStore). Not stored: the file reads the same either way.
  bool bulk = false;
  // Instead of `payload` (then empty): bytes the operator keeps elsewhere, these parts back to
  // back, alive while `owner` is (StateWriter::PutParts). The file stores their concatenation,
  // as it would the same payload: a reader cannot tell the two apart.
  std::vector<std::string_view> parts = {};
  std::shared_ptr<const void> owner = nullptr;

  // The payload's size (of its parts when it has them).
  size_t size() const;
};

// What one task wrote for one checkpoint: the pieces of every operator of its chain.
struct TaskState {
  int64_t checkpoint = 0;
  int node = 0;
  int subtask = 0;
  int parallelism = 1;
  std::vector<StatePiece> pieces;
};

// The state file of a task: a versioned header, then each piece with its own checksum. Decode
// checks every checksum and bound; `what` names the file in errors.
std::string EncodeTaskState(const TaskState& state);
// How many bytes EncodeTaskState returns.
size_t EncodedTaskStateSize(const TaskState& state);
// The same bytes in consecutive parts (header and framing, then each payload as it is, without
// a copy), for writers that stream them (compression).
void EncodeTaskStateParts(const TaskState& state,
                          const std::function<Status(std::string_view)>& write, Status* status);
Result<TaskState> DecodeTaskState(std::string_view bytes, std::string_view what);

// Collects the pieces of one operator's snapshot. Names are unique per operator for Put; PutBatch
// may be called any number of times with one name (all batches are kept, in order).
//
// Incremental snapshots: an operator with large keyed state may write only what changed since
// its previous snapshot, when that snapshot belongs to a completed checkpoint
// (`last_completed()`), and call Extends(base) with the checkpoint of its last full snapshot.
// The task's file of this checkpoint then extends the task's files of checkpoints base .. now-1
// (the metadata lists them, retention keeps them), and on restore the operator reads the pieces
// of each file of the chain in order (StateReader::chain_length, GetBatchesAt).
class StateWriter {
 public:
  StateWriter(std::vector<StatePiece>* pieces, int operator_id, int64_t last_completed = 0,
              int64_t* chain_from = nullptr)
      : pieces_(pieces),
        prefix_(std::to_string(operator_id) + "/"),
        last_completed_(last_completed),
        chain_from_(chain_from) {}

  void Put(std::string_view name, std::string_view bytes);
  // Put without a copy: the piece takes `bytes` (large pieces built for the snapshot), with
  // StatePiece::bulk set as given.
  void PutOwned(std::string_view name, std::string bytes, bool bulk = false);
  // Put without any copy: the piece is `parts` back to back, bytes `owner` keeps alive and
  // unchanged until the runtime drops the piece (after the state file is written or the
  // checkpoint failed; at the latest when the checkpoint is complete).
  void PutParts(std::string_view name, std::vector<std::string_view> parts,
                std::shared_ptr<const void> owner, bool bulk = false);
  void PutBatch(std::string_view name, const batch::Batch& batch);

  // The newest completed checkpoint when this snapshot began (0: none yet in this run). A delta
  // over the operator's previous snapshot is allowed only when that snapshot is this one.
  int64_t last_completed() const { return last_completed_; }
  // True when Extends is available (the runtime keeps chains of files for this task).
  bool incremental() const { return chain_from_ != nullptr; }
  // This snapshot's pieces are changes over those written in checkpoints base .. now-1.
  void Extends(int64_t base) {
    if (chain_from_ != nullptr && (*chain_from_ == 0 || base < *chain_from_)) *chain_from_ = base;
  }

 private:
  std::vector<StatePiece>* pieces_;
  std::string prefix_;
  int64_t last_completed_;
  int64_t* chain_from_;
};

// Reads one operator's pieces from the checkpoint being restored.
class StateReader {
 public:
  // `previous` holds the state of every subtask of the node that ran the operator in the run
  // that wrote the checkpoint (index = old subtask); entries may not be null.
  // `chains`, when given, holds per previous subtask the files of its chain, oldest first, the
  // last being `previous`'s entry (incremental snapshots); without it each chain is one file.
  StateReader(int64_t checkpoint, int operator_id, int subtask,
              std::vector<const TaskState*> previous,
              std::vector<std::vector<const TaskState*>> chains = {})
      : checkpoint_(checkpoint),
        prefix_(std::to_string(operator_id) + "/"),
        subtask_(subtask),
        previous_(std::move(previous)),
        chains_(std::move(chains)) {
    if (chains_.empty()) {
      for (const TaskState* s : previous_) chains_.push_back({s});
    }
  }

  // The checkpoint being restored.
  int64_t checkpoint() const { return checkpoint_; }
  // How many subtasks ran the operator when the checkpoint was written.
  int previous_parallelism() const { return static_cast<int>(previous_.size()); }

  // The bytes this subtask stored under `name` (from the subtask with the same index in the
  // previous run), or nullopt when there are none (new subtask, or nothing stored).
  Result<std::optional<std::string>> Get(std::string_view name) const;
  // Every batch stored under `name` by every subtask of the previous run, so a keyed operator
  // can keep the rows whose key hashes to it under the new parallelism.
  Result<std::vector<batch::BatchPtr>> GetBatches(std::string_view name) const;
  // The bytes every subtask of the previous run stored under `name` (index = old subtask,
  // nullopt where it stored none), without a copy: valid while the restored checkpoint is.
  Result<std::vector<std::optional<std::string_view>>> GetAllBytes(std::string_view name) const;

  // Incremental state: how many files the chain of previous subtask `old_subtask` has (1 when
  // its last snapshot was full), and the batches stored under `name` in file `step` of it
  // (0 = oldest), with whether the piece exists there at all.
  int chain_length(int old_subtask) const {
    return static_cast<int>(chains_[static_cast<size_t>(old_subtask)].size());
  }
  bool HasPieceAt(std::string_view name, int old_subtask, int step) const;
  Result<std::vector<batch::BatchPtr>> GetBatchesAt(std::string_view name, int old_subtask,
                                                    int step) const;

 private:
  int64_t checkpoint_;
  std::string prefix_;
  int subtask_;
  std::vector<const TaskState*> previous_;
  std::vector<std::vector<const TaskState*>> chains_;
};

}  // namespace sluice::runtime
