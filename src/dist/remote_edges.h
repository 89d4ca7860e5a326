#pragma once
// The executor's remote edges over the data plane (runtime/remote_edges.h): one worker's
// receiver for the channels into it, and one sender per peer worker, connected on first use.
//
// Threading: Output and Input are called while the executor builds (one thread); Close from
// any thread, after the executor's Run returned.

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dist/data_plane.h"
#include "runtime/remote_edges.h"

namespace sluice::dist {

struct WorkerAddress {
  std::string host;
  int port = 0;
};

class DataPlaneEdges : public runtime::RemoteEdges {
 public:
  // `receiver` listens for this worker (`self.from_worker`); `peers[w]` is worker w's data-plane
  // address. `self` carries the job and generation of every connection this worker opens.
  DataPlaneEdges(std::shared_ptr<DataPlaneReceiver> receiver, std::vector<WorkerAddress> peers,
                 Handshake self, std::chrono::milliseconds connect_timeout);
  ~DataPlaneEdges() override;

  Result<std::shared_ptr<runtime::RemoteOutput>> Output(
      int worker, const runtime::RemoteChannelKey& key) override;
  Result<std::shared_ptr<runtime::RemoteInput>> Input(
      const runtime::RemoteChannelKey& key) override;
  // Closes the connections to the peers (the receiver is the owner's).
  void Close();
  // Breaks the connections to the peers at once (a cancelled run; DataPlaneSender::Abort).
  void Abort();

 private:
  std::shared_ptr<DataPlaneReceiver> receiver_;
  std::vector<WorkerAddress> peers_;
  Handshake self_;
  std::chrono::milliseconds connect_timeout_;
  std::mutex mu_;
  std::map<int, std::unique_ptr<DataPlaneSender>> senders_;  // by peer worker
};

}  // namespace sluice::dist
