#pragma once
// The layout of a state dir and the metadata file that makes a checkpoint complete.
//
//   <state dir>/chk-<n>/<node>-<subtask>.state   one per task: its operators' pieces (zstd)
//   <state dir>/chk-<n>/_metadata                written last, atomically
//
// With incremental snapshots a task's file holds only what changed since an earlier checkpoint,
// and the metadata also lists the earlier files it extends, as "chk-<m>/<node>-<subtask>.state";
// those stay on storage while any kept checkpoint lists them.
//
// A checkpoint exists only once its _metadata does. The metadata is a small text file (readable
// with `cat`) listing the query fingerprint, the operators and nodes of the dataflow that wrote
// it, and every state file with its size and checksum; its last line is a checksum of the lines
// before it.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace sluice::runtime {

// How a checkpoint was taken.
enum class CheckpointKind {
  kPeriodic,  // on the interval, while the pipeline runs
  kStop,      // the final checkpoint of a stop (SIGINT/SIGTERM): a later run resumes there
  kEnd,       // the final checkpoint after every source ended: nothing is left to do
};
const char* CheckpointKindName(CheckpointKind kind);

struct CheckpointMetadata {
  struct Node {
    int id = 0;
    int parallelism = 1;
    std::vector<int> operator_ids;  // the operators of the node's chain, in order
  };
  struct File {
    std::string name;  // "0-1.state", or "chk-5/0-1.state" for an earlier checkpoint's file
    uint64_t size = 0;
    uint64_t checksum = 0;
  };

  int64_t checkpoint = 0;
  CheckpointKind kind = CheckpointKind::kPeriodic;
  int64_t created_micros = 0;          // wall clock
  std::string fingerprint;             // of the query (its optimized logical plan)
  std::vector<std::string> operators;  // name of each operator, by operator id
  std::vector<Node> nodes;
  std::vector<File> files;
  // The bytes each operator subtask wrote into this checkpoint (its pieces, before compression;
  // an incremental snapshot's increment). Lines "state <operator id> <subtask> <bytes>"; absent
  // from checkpoints of builds before them (readers skip unknown lines).
  struct OperatorState {
    int operator_id = 0;
    int subtask = 0;
    uint64_t bytes = 0;
  };
  std::vector<OperatorState> operator_state;
  // The stable identity of each operator, by operator id (runtime/operator_identity.h), and
  // whether its state was ever non-empty in the run(s) that led to this checkpoint: a restore
  // into an edited query maps state by these. Lines "identity <operator id> <hash> <0|1>
  // <description>"; absent from checkpoints of builds before them (those restore only into
  // the same query).
  struct Identity {
    std::string hash;
    bool stateful = false;
    std::string description;  // "<name>: <Describe()>", one line
  };
  std::vector<Identity> identities;

  std::string Encode() const;
  static Result<CheckpointMetadata> Decode(std::string_view text, std::string_view what);
};

// The fingerprint of a query: a checksum of its plan text, in hexadecimal.
std::string QueryFingerprint(std::string_view plan_text);

// Names inside the state dir.
std::string CheckpointDirName(int64_t checkpoint);  // "chk-7"
std::optional<int64_t> ParseCheckpointDirName(std::string_view name);
std::string StateFileName(int node, int subtask);  // "0-1.state"
inline constexpr std::string_view kMetadataFileName = "_metadata";

}  // namespace sluice::runtime
