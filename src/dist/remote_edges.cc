#include "dist/remote_edges.h"

#include <fmt/format.h>

namespace sluice::dist {

namespace {

ChannelId ToChannel(const runtime::RemoteChannelKey& k) {
  return ChannelId{k.from_node, k.from_subtask, k.to_node, k.to_subtask, k.to_input};
}

}  // namespace

DataPlaneEdges::DataPlaneEdges(std::shared_ptr<DataPlaneReceiver> receiver,
                               std::vector<WorkerAddress> peers, Handshake self,
                               std::chrono::milliseconds connect_timeout)
    : receiver_(std::move(receiver)),
      peers_(std::move(peers)),
      self_(std::move(self)),
      connect_timeout_(connect_timeout) {}

DataPlaneEdges::~DataPlaneEdges() {
  Close();
}

Result<std::shared_ptr<runtime::RemoteOutput>> DataPlaneEdges::Output(
    int worker, const runtime::RemoteChannelKey& key) {
  std::lock_guard lock(mu_);
  auto it = senders_.find(worker);
  if (it == senders_.end()) {
    if (worker < 0 || static_cast<size_t>(worker) >= peers_.size()) {
      return Status::Internal("data plane: no address for worker {}", worker);
    }
    if (worker == self_.from_worker) {
      return Status::Internal("data plane: a remote edge from worker {} to itself", worker);
    }
    Handshake h = self_;
    h.to_worker = worker;
    const WorkerAddress& peer = peers_[static_cast<size_t>(worker)];
    auto sender = DataPlaneSender::Connect(peer.host, peer.port, h, connect_timeout_);
    if (!sender.ok()) {
      return sender.status().WithContext(
          fmt::format("connecting to worker {} at {}:{}", worker, peer.host, peer.port));
    }
    it = senders_.emplace(worker, sender.MoveValue()).first;
  }
  return std::shared_ptr<runtime::RemoteOutput>(it->second->Channel(ToChannel(key)));
}

Result<std::shared_ptr<runtime::RemoteInput>> DataPlaneEdges::Input(
    const runtime::RemoteChannelKey& key) {
  return std::shared_ptr<runtime::RemoteInput>(receiver_->Channel(ToChannel(key)));
}

void DataPlaneEdges::Close() {
  std::lock_guard lock(mu_);
  for (auto& [w, s] : senders_) s->Close();
}

void DataPlaneEdges::Abort() {
  std::lock_guard lock(mu_);
  for (auto& [w, s] : senders_) s->Abort();
}

}  // namespace sluice::dist
