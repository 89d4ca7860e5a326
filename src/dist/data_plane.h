#pragma once
// The worker-to-worker data plane (docs/distributed.md, "The data plane"): one TCP connection per
// ordered worker pair, carrying many logical channels with per-channel credit-based flow control.
//
// A receiving worker listens (DataPlaneReceiver); a sending worker connects once per peer
// (DataPlaneSender) and opens an OutboundChannel per logical channel on that connection. The
// receiver grants each channel `channel_credit_bytes` of batch payload up front and returns
// credit as the consumer pops batches, so a channel never holds more than its credit plus one
// batch at the receiver, and the connection's reader never blocks on a full channel: a slow
// consumer stops its own channel's sender only, and every other channel's batches, watermarks and
// barriers keep flowing (Arroyo relies on TCP alone, where one slow channel stalls the
// connection). Watermarks, barriers, idleness and end-of-data take no credit, as control messages
// always pass the executor's bounded queues, but never overtake the batches before them.
//
// Handshake: the sender states the job, its generation and both workers; the receiver refuses a
// job or generation other than its own with a message the sender returns as its error, so a
// stale worker of an earlier generation is never connected to the restarted job.
//
// Threading: Send, Pop and TryPop may be called from any thread, one caller per channel at a
// time. Each receiver runs an accept thread and a reader per connection; each sender runs a
// credit reader. Stop/Close are idempotent and join them.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "common/status.h"
#include "dist/frame.h"
#include "runtime/message.h"
#include "runtime/remote_edges.h"

namespace sluice::dist {

inline constexpr uint16_t kDataPlaneVersion = 1;

struct Handshake {
  std::string job;
  int64_t generation = 0;
  int32_t from_worker = 0;
  int32_t to_worker = 0;
};

// Also the executor's remote input (TryPop, SetWake; runtime/remote_edges.h).
class InboundChannel : public runtime::RemoteInput {
 public:
  virtual ~InboundChannel() = default;
  // Waits up to `timeout` for the next message. nullopt on timeout; an error once the
  // connection carrying the channel failed before its end of data (after what arrived before).
  virtual Result<std::optional<runtime::Message>> Pop(std::chrono::milliseconds timeout) = 0;
  // Messages received and not yet popped, and the batch payload bytes among them.
  virtual size_t queued() const = 0;
  virtual int64_t queued_bytes() const = 0;
};

// Also the executor's remote output (TrySend, ClearWake; runtime/remote_edges.h): TrySend
// never waits for credit.
class OutboundChannel : public runtime::RemoteOutput {
 public:
  virtual ~OutboundChannel() = default;
  // Sends one message in order. A batch waits while the channel has no credit left; control
  // messages never wait for credit. An error once the connection failed or was closed.
  virtual Status Send(const runtime::Message& message) = 0;
  // Credit left in bytes (may be negative after a batch larger than what was left).
  virtual int64_t credit() const = 0;
};

class DataPlaneReceiver {
 public:
  struct Options {
    std::string job;
    int64_t generation = 0;
    int32_t worker = 0;
    int64_t channel_credit_bytes = 4 << 20;
  };
  // Listens on host:port (port 0: any free port; see port()).
  static Result<std::unique_ptr<DataPlaneReceiver>> Listen(const std::string& host, int port,
                                                           Options options);
  virtual ~DataPlaneReceiver() = default;
  virtual int port() const = 0;
  // The inbound end of a channel, whether or not its sender connected yet.
  virtual std::shared_ptr<InboundChannel> Channel(const ChannelId& id) = 0;
  // A new deployment: from now on only handshakes of `job`, to `worker`, at `generation` are
  // accepted; every connection so far is closed and the channels start empty.
  virtual void Assign(const std::string& job, int32_t worker, int64_t generation) = 0;
  // Handshakes of any other generation are refused from now on; connections of earlier
  // generations are closed.
  virtual void SetGeneration(int64_t generation) = 0;
  virtual void Stop() = 0;
};

class DataPlaneSender {
 public:
  // Connects and handshakes, retrying a refused connection until `timeout` (the peer may be
  // starting). A refused handshake fails at once with the receiver's reason.
  static Result<std::unique_ptr<DataPlaneSender>> Connect(const std::string& host, int port,
                                                          const Handshake& handshake,
                                                          std::chrono::milliseconds timeout);
  virtual ~DataPlaneSender() = default;
  virtual std::shared_ptr<OutboundChannel> Channel(const ChannelId& id) = 0;
  // Payload bytes and frames written so far.
  virtual int64_t bytes_sent() const = 0;
  virtual void Close() = 0;
  // Breaks the connection at once, for a run being cancelled: a send blocked on a peer that no
  // longer answers (a partition: nothing is acknowledged, nothing reset) and every wait for its
  // credit fail instead of hanging until TCP gives up. Close still releases the connection.
  virtual void Abort() = 0;
};

}  // namespace sluice::dist
