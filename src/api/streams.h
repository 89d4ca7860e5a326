#pragma once
// What the API reads of running and past jobs besides the metadata store: the checkpoints in a
// job's state dir, and the Server-Sent Events stream of a job's live rows.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "api/http_server.h"
#include "common/status.h"
#include "service/output_stream.h"

namespace sluice::api {

struct CheckpointInfo {
  int64_t epoch = 0;
  std::string kind;  // periodic, stop, end
  int64_t finish_time = 0;
  int64_t bytes = 0;
  std::string fingerprint;  // of the query that wrote it
  struct Part {
    int node = 0;
    int subtask = 0;
    int64_t bytes = 0;
    std::string operators;  // the node's chain
  };
  std::vector<Part> parts;
  // Per operator subtask: the bytes of state it wrote (before compression); only operators
  // with state, and only in checkpoints of builds that record it.
  struct OperatorState {
    int operator_id = 0;
    std::string name;
    int node = 0;
    int subtask = 0;
    int64_t bytes = 0;
  };
  std::vector<OperatorState> operator_state;
};

// The complete checkpoints of a state dir, oldest first (their metadata only; not verified).
Result<std::vector<CheckpointInfo>> ListCheckpoints(const std::string& state_dir);

// Whether a run of `query` can restore checkpoint `epoch` (or the latest, when nullopt) of
// `state_dir`: OK when the dir has none, the checkpoint was written by the same query (the
// same optimized plan; the parallelism may differ), or every operator with state in it has a
// match by identity in the edited query (runtime/operator_identity.h; with
// `allow_non_restored_state` the others' state is dropped); otherwise a user error naming the
// operators whose state has no place, why, and what to do.
Status CheckStateFits(const std::string& query, bool preview, const std::string& state_dir,
                      std::optional<int64_t> epoch, bool allow_non_restored_state = false);

// An event stream of `output` from the row after `after_id`: `event: row` per row with its id,
// then `event: lagged` (and the end) when the reader fell behind the ring, `event: end` when the
// run ended.
// `hold` is kept as long as the stream (a tap's session, so the tap stays attached).
std::shared_ptr<EventStream> MakeOutputEventStream(std::shared_ptr<service::OutputStream> output,
                                                   int64_t after_id, size_t batch_events,
                                                   std::shared_ptr<void> hold = nullptr);

}  // namespace sluice::api
