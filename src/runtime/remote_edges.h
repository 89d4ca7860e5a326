#pragma once
// Remote edges: how an executor that runs only some subtasks of a graph (one worker of a
// distributed job, docs/distributed.md) reaches the subtasks placed on other workers. A remote
// edge has the in-memory queue's semantics: per channel, batches, watermarks, barriers, idleness
// and the end of data arrive in order; a consumer that does not read stops its producer (the
// transport's credit), and a producer never blocks a worker thread while waiting for it.
//
// The runtime only sees these interfaces; src/dist implements them over the data plane.
//
// Threading: a channel is used by one task at a time; `wake` callbacks may be called from any
// thread (the transport's), must be quick and must not block.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "runtime/message.h"

namespace sluice::runtime {

// One logical channel of an edge: producer subtask → consumer subtask and input.
struct RemoteChannelKey {
  int from_node = 0;
  int from_subtask = 0;
  int to_node = 0;
  int to_subtask = 0;
  int to_input = 0;
};

class RemoteOutput {
 public:
  virtual ~RemoteOutput() = default;
  // Sends `message`, or returns false when it is a batch and the channel has no credit left:
  // then `wake` is called once credit came back (the caller tries again). Control messages
  // always go. An error once the connection failed.
  virtual Result<bool> TrySend(const Message& message, const std::function<void()>& wake) = 0;
  // Forgets a pending `wake`; once it returns, no wake of this channel runs or will run.
  virtual void ClearWake() = 0;
};

class RemoteInput {
 public:
  virtual ~RemoteInput() = default;
  // The next message, if one arrived; an error once the connection failed before the end of
  // data.
  virtual Result<std::optional<Message>> TryPop() = 0;
  // Called (from the transport's thread) whenever a message arrives or the channel fails. Null
  // removes it: once SetWake returns, the previous callback is not running and will not run.
  virtual void SetWake(std::function<void()> wake) = 0;
};

class RemoteEdges {
 public:
  virtual ~RemoteEdges() = default;
  // The sending end of a channel to a consumer placed on worker `worker`.
  virtual Result<std::shared_ptr<RemoteOutput>> Output(int worker, const RemoteChannelKey& key) = 0;
  // The receiving end of a channel whose producer runs on another worker.
  virtual Result<std::shared_ptr<RemoteInput>> Input(const RemoteChannelKey& key) = 0;
};

// Where the subtasks of a graph run. An executor given a placement runs only the subtasks
// placed on `worker`.
struct Placement {
  int worker = 0;
  // workers[n][s]: the worker running subtask s of the graph node with id n.
  std::vector<std::vector<int>> workers;
  std::shared_ptr<RemoteEdges> remote;
};

}  // namespace sluice::runtime
